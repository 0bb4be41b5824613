/* wr_numeric.h: numeric semantics of wasm in one place: small inline functions
 * used by the instruction bodies (insns/numeric_*.def, conversion.def,
 * memory.def) and by the C unit tests (tests/c/test_numeric.c).
 *
 * Rules kept here so the bodies need not think about them:
 *   - no C undefined behaviour: integer arithmetic is done on unsigned types,
 *     shift counts are masked, float -> int casts happen only after an exact
 *     range check;
 *   - abs/neg/copysign are bit operations (NaN payloads untouched);
 *   - other float operations rely on IEEE 754 binary32/binary64 arithmetic
 *     with FLT_EVAL_METHOD == 0 and the default rounding mode (SSE2 on
 *     x86-64, AArch64);
 *   - every operation whose NaN result the spec leaves open (arithmetic,
 *     sqrt, min/max, rounding, demote/promote) returns the canonical NaN
 *     (positive, quiet bit only: wr_f32_canon/wr_f64_canon). The hardware's
 *     NaNs differ between hosts (x86's default NaN is negative, ARM's
 *     positive; payload propagation differs too), so without this a program
 *     printing the bits of 0.0/0.0 would print different things on different
 *     machines. The canonical NaN is in both of the spec's result sets
 *     (nan:canonical and nan:arithmetic), so this is always allowed; wasmtime's
 *     NaN canonicalization does the same.
 *
 * Functions that may trap return a wr_trap code (0: no trap) and write the
 * result through an out-parameter.
 *
 * The threads proposal's atomic accesses (insns/atomic.def) are at the end:
 * wr_atomic_mem() checks an access, wr_atomic_* perform it.
 */
#ifndef WR_NUMERIC_H
#define WR_NUMERIC_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wr_trap.h"

#if FLT_EVAL_METHOD != 0
/* x87 excess precision would double-round every float operation. */
#error "wasm float semantics need FLT_EVAL_METHOD == 0 (use SSE2 on x86)"
#endif

/* ---- bits <-> floats ---------------------------------------------------- */

static inline uint32_t wr_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float wr_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint64_t wr_f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double wr_f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ---- little-endian memory access ---------------------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WR_LE16(x) __builtin_bswap16(x)
#define WR_LE32(x) __builtin_bswap32(x)
#define WR_LE64(x) __builtin_bswap64(x)
#else
#define WR_LE16(x) (x)
#define WR_LE32(x) (x)
#define WR_LE64(x) (x)
#endif

static inline uint8_t wr_load_u8(const uint8_t *p)
{
    return *p;
}

static inline uint16_t wr_load_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return WR_LE16(v);
}

static inline uint32_t wr_load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return WR_LE32(v);
}

static inline uint64_t wr_load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return WR_LE64(v);
}

static inline float wr_load_f32(const uint8_t *p)
{
    return wr_f32_from_bits(wr_load_u32(p));
}

static inline double wr_load_f64(const uint8_t *p)
{
    return wr_f64_from_bits(wr_load_u64(p));
}

static inline void wr_store_u8(uint8_t *p, uint8_t v)
{
    *p = v;
}

static inline void wr_store_u16(uint8_t *p, uint16_t v)
{
    v = WR_LE16(v);
    memcpy(p, &v, sizeof v);
}

static inline void wr_store_u32(uint8_t *p, uint32_t v)
{
    v = WR_LE32(v);
    memcpy(p, &v, sizeof v);
}

static inline void wr_store_u64(uint8_t *p, uint64_t v)
{
    v = WR_LE64(v);
    memcpy(p, &v, sizeof v);
}

static inline void wr_store_f32(uint8_t *p, float v)
{
    wr_store_u32(p, wr_f32_bits(v));
}

static inline void wr_store_f64(uint8_t *p, double v)
{
    wr_store_u64(p, wr_f64_bits(v));
}

/* Sign extension from the low `bits` bits, without implementation-defined
 * narrowing casts: (x ^ m) - m with m the sign bit, in unsigned arithmetic. */
static inline uint32_t wr_sext32(uint32_t x, unsigned bits)
{
    uint32_t m = (uint32_t)1 << (bits - 1);
    uint32_t v = bits < 32 ? x & (((uint32_t)1 << bits) - 1) : x;
    return (v ^ m) - m;
}

static inline uint64_t wr_sext64(uint64_t x, unsigned bits)
{
    uint64_t m = (uint64_t)1 << (bits - 1);
    uint64_t v = bits < 64 ? x & (((uint64_t)1 << bits) - 1) : x;
    return (v ^ m) - m;
}

/* ---- integers ----------------------------------------------------------- */

static inline uint32_t wr_i32_clz(uint32_t a)
{
    return a ? (uint32_t)__builtin_clz(a) : 32;
}

static inline uint32_t wr_i32_ctz(uint32_t a)
{
    return a ? (uint32_t)__builtin_ctz(a) : 32;
}

static inline uint32_t wr_i32_popcnt(uint32_t a)
{
    return (uint32_t)__builtin_popcount(a);
}

static inline uint64_t wr_i64_clz(uint64_t a)
{
    return a ? (uint64_t)__builtin_clzll(a) : 64;
}

static inline uint64_t wr_i64_ctz(uint64_t a)
{
    return a ? (uint64_t)__builtin_ctzll(a) : 64;
}

static inline uint64_t wr_i64_popcnt(uint64_t a)
{
    return (uint64_t)__builtin_popcountll(a);
}

static inline int wr_i32_lt_s(uint32_t a, uint32_t b)
{
    return (int32_t)a < (int32_t)b;
}

static inline int wr_i64_lt_s(uint64_t a, uint64_t b)
{
    return (int64_t)a < (int64_t)b;
}

static inline uint32_t wr_i32_shl(uint32_t a, uint32_t b)
{
    return a << (b & 31);
}

static inline uint32_t wr_i32_shr_u(uint32_t a, uint32_t b)
{
    return a >> (b & 31);
}

/* Arithmetic shift without relying on signed >>: fill with ones when the
 * sign bit is set. */
static inline uint32_t wr_i32_shr_s(uint32_t a, uint32_t b)
{
    unsigned k = b & 31;
    uint32_t fill = (a >> 31) ? ~(uint32_t)0 : 0;
    return k ? (a >> k) | (fill << (32 - k)) : a;
}

static inline uint32_t wr_i32_rotl(uint32_t a, uint32_t b)
{
    unsigned k = b & 31;
    return (a << k) | (a >> ((32 - k) & 31));
}

static inline uint32_t wr_i32_rotr(uint32_t a, uint32_t b)
{
    unsigned k = b & 31;
    return (a >> k) | (a << ((32 - k) & 31));
}

static inline uint64_t wr_i64_shl(uint64_t a, uint64_t b)
{
    return a << (b & 63);
}

static inline uint64_t wr_i64_shr_u(uint64_t a, uint64_t b)
{
    return a >> (b & 63);
}

static inline uint64_t wr_i64_shr_s(uint64_t a, uint64_t b)
{
    unsigned k = (unsigned)(b & 63);
    uint64_t fill = (a >> 63) ? ~(uint64_t)0 : 0;
    return k ? (a >> k) | (fill << (64 - k)) : a;
}

static inline uint64_t wr_i64_rotl(uint64_t a, uint64_t b)
{
    unsigned k = (unsigned)(b & 63);
    return (a << k) | (a >> ((64 - k) & 63));
}

static inline uint64_t wr_i64_rotr(uint64_t a, uint64_t b)
{
    unsigned k = (unsigned)(b & 63);
    return (a >> k) | (a << ((64 - k) & 63));
}

/* Signed division on magnitudes, so no signed overflow is possible. */
static inline int wr_i32_div_s(uint32_t a, uint32_t b, uint32_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    if (a == 0x80000000u && b == 0xFFFFFFFFu)
        return WR_TRAP_INT_OVERFLOW;
    uint32_t ma = (a >> 31) ? 0u - a : a, mb = (b >> 31) ? 0u - b : b;
    uint32_t q = ma / mb;
    *r = ((a ^ b) >> 31) ? 0u - q : q;
    return 0;
}

static inline int wr_i32_div_u(uint32_t a, uint32_t b, uint32_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    *r = a / b;
    return 0;
}

/* The remainder takes the dividend's sign; INT_MIN rem -1 is 0. */
static inline int wr_i32_rem_s(uint32_t a, uint32_t b, uint32_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    uint32_t ma = (a >> 31) ? 0u - a : a, mb = (b >> 31) ? 0u - b : b;
    uint32_t m = ma % mb;
    *r = (a >> 31) ? 0u - m : m;
    return 0;
}

static inline int wr_i32_rem_u(uint32_t a, uint32_t b, uint32_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    *r = a % b;
    return 0;
}

static inline int wr_i64_div_s(uint64_t a, uint64_t b, uint64_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    if (a == 0x8000000000000000u && b == 0xFFFFFFFFFFFFFFFFu)
        return WR_TRAP_INT_OVERFLOW;
    uint64_t ma = (a >> 63) ? 0u - a : a, mb = (b >> 63) ? 0u - b : b;
    uint64_t q = ma / mb;
    *r = ((a ^ b) >> 63) ? 0u - q : q;
    return 0;
}

static inline int wr_i64_div_u(uint64_t a, uint64_t b, uint64_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    *r = a / b;
    return 0;
}

static inline int wr_i64_rem_s(uint64_t a, uint64_t b, uint64_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    uint64_t ma = (a >> 63) ? 0u - a : a, mb = (b >> 63) ? 0u - b : b;
    uint64_t m = ma % mb;
    *r = (a >> 63) ? 0u - m : m;
    return 0;
}

static inline int wr_i64_rem_u(uint64_t a, uint64_t b, uint64_t *r)
{
    if (b == 0)
        return WR_TRAP_DIV_ZERO;
    *r = a % b;
    return 0;
}

/* ---- floats: NaN canonicalization --------------------------------------- */

#define WR_F32_CANONICAL_NAN 0x7FC00000u
#define WR_F64_CANONICAL_NAN 0x7FF8000000000000u

/* The canonical NaNs, out of line and cold: a call on the NaN path keeps
 * GCC from if-converting `r != r ? canonical : r` into a cmov through an
 * integer register (four instructions and a round trip between register
 * files on every float operation); with the call the common path is one
 * compare and one branch predicted not taken. */
static __attribute__((noinline, cold, unused)) float wr_f32_nan(void)
{
    return wr_f32_from_bits(WR_F32_CANONICAL_NAN);
}

static __attribute__((noinline, cold, unused)) double wr_f64_nan(void)
{
    return wr_f64_from_bits(WR_F64_CANONICAL_NAN);
}

/* r, or the canonical NaN if r is a NaN. */
static inline float wr_f32_canon(float r)
{
    if (__builtin_expect(r != r, 0))
        return wr_f32_nan();
    return r;
}

static inline double wr_f64_canon(double r)
{
    if (__builtin_expect(r != r, 0))
        return wr_f64_nan();
    return r;
}

/* ---- floats: arithmetic ------------------------------------------------- */

static inline float wr_f32_add(float a, float b)
{
    return wr_f32_canon(a + b);
}

static inline float wr_f32_sub(float a, float b)
{
    return wr_f32_canon(a - b);
}

static inline float wr_f32_mul(float a, float b)
{
    return wr_f32_canon(a * b);
}

static inline float wr_f32_div(float a, float b)
{
    return wr_f32_canon(a / b);
}

static inline double wr_f64_add(double a, double b)
{
    return wr_f64_canon(a + b);
}

static inline double wr_f64_sub(double a, double b)
{
    return wr_f64_canon(a - b);
}

static inline double wr_f64_mul(double a, double b)
{
    return wr_f64_canon(a * b);
}

static inline double wr_f64_div(double a, double b)
{
    return wr_f64_canon(a / b);
}

/* Correctly rounded (demote) or exact (promote); a NaN becomes the
 * canonical NaN (the hardware would keep the payload's top bits). */
static inline float wr_f32_demote_f64(double a)
{
    return wr_f32_canon((float)a);
}

static inline double wr_f64_promote_f32(float a)
{
    return wr_f64_canon((double)a);
}

/* ---- floats: bit operations --------------------------------------------- */

static inline float wr_f32_abs(float a)
{
    return wr_f32_from_bits(wr_f32_bits(a) & 0x7FFFFFFFu);
}

static inline float wr_f32_neg(float a)
{
    return wr_f32_from_bits(wr_f32_bits(a) ^ 0x80000000u);
}

static inline float wr_f32_copysign(float a, float b)
{
    return wr_f32_from_bits((wr_f32_bits(a) & 0x7FFFFFFFu) | (wr_f32_bits(b) & 0x80000000u));
}

static inline double wr_f64_abs(double a)
{
    return wr_f64_from_bits(wr_f64_bits(a) & 0x7FFFFFFFFFFFFFFFu);
}

static inline double wr_f64_neg(double a)
{
    return wr_f64_from_bits(wr_f64_bits(a) ^ 0x8000000000000000u);
}

static inline double wr_f64_copysign(double a, double b)
{
    return wr_f64_from_bits((wr_f64_bits(a) & 0x7FFFFFFFFFFFFFFFu) | (wr_f64_bits(b) & 0x8000000000000000u));
}

/* ---- floats: min/max ---------------------------------------------------- */

/* A NaN operand gives the canonical NaN; -0 < +0. C's fmin would return the
 * other operand instead. */
static inline float wr_f32_min(float a, float b)
{
    if (a != a || b != b)
        return wr_f32_nan();
    if (a == b) /* equal, or +-0: the one with the sign bit set */
        return (wr_f32_bits(a) >> 31) ? a : b;
    return a < b ? a : b;
}

static inline float wr_f32_max(float a, float b)
{
    if (a != a || b != b)
        return wr_f32_nan();
    if (a == b)
        return (wr_f32_bits(a) >> 31) ? b : a;
    return a > b ? a : b;
}

static inline double wr_f64_min(double a, double b)
{
    if (a != a || b != b)
        return wr_f64_nan();
    if (a == b)
        return (wr_f64_bits(a) >> 63) ? a : b;
    return a < b ? a : b;
}

static inline double wr_f64_max(double a, double b)
{
    if (a != a || b != b)
        return wr_f64_nan();
    if (a == b)
        return (wr_f64_bits(a) >> 63) ? b : a;
    return a > b ? a : b;
}

/* ---- floats: rounding --------------------------------------------------- */

/* ceil/floor/trunc/sqrt come from libm (exact); a NaN operand gives the
 * canonical NaN without calling them (GCC inlines ceil/floor/trunc as an
 * SSE2 sequence that would return a signalling NaN unquieted).
 * nearest is round-half-to-even, done here without depending on the
 * rounding mode: values of magnitude >= 2^23 (2^52) are already integers. */
static inline float wr_f32_nearest(float a)
{
    uint32_t u = wr_f32_bits(a);
    uint32_t e = (u >> 23) & 0xFF;
    if (e == 0xFF) /* NaN: canonical; infinity: itself */
        return (u & 0x7FFFFFu) ? wr_f32_nan() : a;
    if (e >= 127 + 23)
        return a;
    if (e < 126) /* |a| < 0.5 */
        return wr_f32_from_bits(u & 0x80000000u);
    /* 0.5 <= |a| < 2^23: fixed point with `frac` fraction bits. */
    unsigned frac = 150 - e; /* 127 + 23 - e, in 1 .. 24 */
    uint32_t m = (u & 0x7FFFFFu) | 0x800000u;
    uint32_t ip = m >> frac;
    uint32_t rem = m & (((uint32_t)1 << frac) - 1);
    uint32_t half = (uint32_t)1 << (frac - 1);
    if (rem > half || (rem == half && (ip & 1)))
        ip++;
    float r = (float)ip; /* ip < 2^24: exact */
    return (u >> 31) ? wr_f32_neg(r) : r;
}

static inline double wr_f64_nearest(double a)
{
    uint64_t u = wr_f64_bits(a);
    uint32_t e = (uint32_t)(u >> 52) & 0x7FF;
    if (e == 0x7FF)
        return (u & 0xFFFFFFFFFFFFFu) ? wr_f64_nan() : a;
    if (e >= 1023 + 52)
        return a;
    if (e < 1022)
        return wr_f64_from_bits(u & 0x8000000000000000u);
    unsigned frac = 1075 - e; /* 1 .. 53 */
    uint64_t m = (u & 0xFFFFFFFFFFFFFu) | 0x10000000000000u;
    uint64_t ip = m >> frac;
    uint64_t rem = m & (((uint64_t)1 << frac) - 1);
    uint64_t half = (uint64_t)1 << (frac - 1);
    if (rem > half || (rem == half && (ip & 1)))
        ip++;
    double r = (double)ip; /* ip < 2^53: exact */
    return (u >> 63) ? wr_f64_neg(r) : r;
}

static inline float wr_f32_ceil(float a)
{
    return a != a ? wr_f32_nan() : ceilf(a);
}

static inline float wr_f32_floor(float a)
{
    return a != a ? wr_f32_nan() : floorf(a);
}

static inline float wr_f32_trunc(float a)
{
    return a != a ? wr_f32_nan() : truncf(a);
}

static inline float wr_f32_sqrt(float a)
{
    return wr_f32_canon(sqrtf(a));
}

static inline double wr_f64_ceil(double a)
{
    return a != a ? wr_f64_nan() : ceil(a);
}

static inline double wr_f64_floor(double a)
{
    return a != a ? wr_f64_nan() : floor(a);
}

static inline double wr_f64_trunc(double a)
{
    return a != a ? wr_f64_nan() : trunc(a);
}

static inline double wr_f64_sqrt(double a)
{
    return wr_f64_canon(sqrt(a));
}

/* ---- float -> int truncation -------------------------------------------- */

/* Every f32 is exactly a double, so f32 sources are widened and checked
 * against the same bounds. The bounds are the exclusive limits beyond which
 * truncation leaves the target range; all are exact doubles. The casts run
 * only inside the range, so they are defined. */

static inline int wr_trunc_f64_to_i32_s(double a, uint32_t *r)
{
    if (a != a)
        return WR_TRAP_INVALID_CONVERSION;
    if (!(a > -2147483649.0 && a < 2147483648.0))
        return WR_TRAP_INT_OVERFLOW;
    *r = (uint32_t)(int32_t)a;
    return 0;
}

static inline int wr_trunc_f64_to_i32_u(double a, uint32_t *r)
{
    if (a != a)
        return WR_TRAP_INVALID_CONVERSION;
    if (!(a > -1.0 && a < 4294967296.0))
        return WR_TRAP_INT_OVERFLOW;
    *r = (uint32_t)a;
    return 0;
}

static inline int wr_trunc_f64_to_i64_s(double a, uint64_t *r)
{
    if (a != a)
        return WR_TRAP_INVALID_CONVERSION;
    /* -2^63 - 1 is not a double: the lower limit is inclusive -2^63. */
    if (!(a >= -9223372036854775808.0 && a < 9223372036854775808.0))
        return WR_TRAP_INT_OVERFLOW;
    *r = (uint64_t)(int64_t)a;
    return 0;
}

static inline int wr_trunc_f64_to_i64_u(double a, uint64_t *r)
{
    if (a != a)
        return WR_TRAP_INVALID_CONVERSION;
    if (!(a > -1.0 && a < 18446744073709551616.0))
        return WR_TRAP_INT_OVERFLOW;
    *r = (uint64_t)a;
    return 0;
}

static inline int wr_trunc_f32_to_i32_s(float a, uint32_t *r)
{
    return wr_trunc_f64_to_i32_s((double)a, r);
}

static inline int wr_trunc_f32_to_i32_u(float a, uint32_t *r)
{
    return wr_trunc_f64_to_i32_u((double)a, r);
}

static inline int wr_trunc_f32_to_i64_s(float a, uint64_t *r)
{
    return wr_trunc_f64_to_i64_s((double)a, r);
}

static inline int wr_trunc_f32_to_i64_u(float a, uint64_t *r)
{
    return wr_trunc_f64_to_i64_u((double)a, r);
}

/* Saturating: NaN -> 0, out of range -> the nearest bound. */
static inline uint32_t wr_trunc_sat_f64_to_i32_s(double a)
{
    if (a != a)
        return 0;
    if (!(a > -2147483649.0))
        return 0x80000000u;
    if (!(a < 2147483648.0))
        return 0x7FFFFFFFu;
    return (uint32_t)(int32_t)a;
}

static inline uint32_t wr_trunc_sat_f64_to_i32_u(double a)
{
    if (a != a || !(a > -1.0))
        return 0;
    if (!(a < 4294967296.0))
        return 0xFFFFFFFFu;
    return (uint32_t)a;
}

static inline uint64_t wr_trunc_sat_f64_to_i64_s(double a)
{
    if (a != a)
        return 0;
    if (!(a >= -9223372036854775808.0))
        return 0x8000000000000000u;
    if (!(a < 9223372036854775808.0))
        return 0x7FFFFFFFFFFFFFFFu;
    return (uint64_t)(int64_t)a;
}

static inline uint64_t wr_trunc_sat_f64_to_i64_u(double a)
{
    if (a != a || !(a > -1.0))
        return 0;
    if (!(a < 18446744073709551616.0))
        return 0xFFFFFFFFFFFFFFFFu;
    return (uint64_t)a;
}

static inline uint32_t wr_trunc_sat_f32_to_i32_s(float a)
{
    return wr_trunc_sat_f64_to_i32_s((double)a);
}

static inline uint32_t wr_trunc_sat_f32_to_i32_u(float a)
{
    return wr_trunc_sat_f64_to_i32_u((double)a);
}

static inline uint64_t wr_trunc_sat_f32_to_i64_s(float a)
{
    return wr_trunc_sat_f64_to_i64_s((double)a);
}

static inline uint64_t wr_trunc_sat_f32_to_i64_u(float a)
{
    return wr_trunc_sat_f64_to_i64_u((double)a);
}

/* ---- int -> float conversion -------------------------------------------- */

/* C converts an integer to a float with one correct rounding (IEEE, Annex
 * F), which is what wasm wants. Going through double first would round
 * twice, so 64-bit -> f32 converts directly. Signed values are converted
 * from their two's complement reading (the cast is implementation-defined
 * in C, two's complement in every compiler we support). */

static inline float wr_f32_convert_i32_s(uint32_t a)
{
    return (float)(int32_t)a;
}

static inline float wr_f32_convert_i32_u(uint32_t a)
{
    return (float)a;
}

static inline float wr_f32_convert_i64_s(uint64_t a)
{
    return (float)(int64_t)a;
}

static inline float wr_f32_convert_i64_u(uint64_t a)
{
    return (float)a;
}

static inline double wr_f64_convert_i32_s(uint32_t a)
{
    return (double)(int32_t)a;
}

static inline double wr_f64_convert_i32_u(uint32_t a)
{
    return (double)a;
}

static inline double wr_f64_convert_i64_s(uint64_t a)
{
    return (double)(int64_t)a;
}

static inline double wr_f64_convert_i64_u(uint64_t a)
{
    return (double)a;
}

/* ---- atomic memory access (threads proposal) ---------------------------- */

/* The effective address of an atomic access of n bytes (n a power of two):
 * alignment first, then bounds, as the threads proposal's reference
 * interpreter and wasmtime check them (the two traps differ only in the
 * message). ea is 64-bit, so
 * addr + offset + n cannot overflow. On success *p points at the access.
 * Memory bases are page aligned (mmap), so an aligned ea is an aligned host
 * address, as the __atomic builtins need. */
static inline int wr_atomic_mem(uint8_t *membase, uint64_t memsize, uint32_t addr, uint32_t offset, uint32_t n,
                                uint8_t **p)
{
    uint64_t ea = (uint64_t)addr + offset;
    if (ea & (n - 1))
        return WR_TRAP_UNALIGNED_ATOMIC;
    if (ea + n > memsize)
        return WR_TRAP_MEMORY_OOB;
    *p = membase + ea;
    return 0;
}

/* Every access is sequentially consistent (__ATOMIC_SEQ_CST). All wasm
 * threads of a store run on one OS thread, so plain accesses would do; the
 * builtins cost little and stay right if the host touches a shared memory
 * from another OS thread. Values are little-endian in memory like every
 * wasm access: on a big-endian host operands and results are byte-swapped,
 * which commutes with and/or/xor/xchg/cmpxchg but not with add/sub, so
 * those take a compare-exchange loop there (WR_ATOMIC_CAS_ARITH forces the
 * loop on any host, for testing).
 *
 * For each N in 8, 16, 32, 64 (uintN_t values, zero-extended by callers):
 *   wr_atomic_load_uN(p)                        the value at p
 *   wr_atomic_store_uN(p, v)
 *   wr_atomic_rmw_{add,sub,and,or,xor,xchg}_uN(p, v)
 *                                               the old value; p = old op v
 *   wr_atomic_rmw_cmpxchg_uN(p, expected, replacement)
 *                                               the old value; stores
 *                                               replacement iff old == expected
 * cmpxchg takes `expected` as a u64 and wraps it to N bits before comparing,
 * as the threads proposal's Overview specifies and its litmus suite checks
 * (atomic.wast: rmw8.cmpxchg_u with expected 0x11111111 matches a 0x11). */

#define WR_LE8(x) (x)

/* may_alias: memory is bytes, also accessed through memcpy. */
typedef uint16_t wr_atomic_u16_t __attribute__((may_alias));
typedef uint32_t wr_atomic_u32_t __attribute__((may_alias));
typedef uint64_t wr_atomic_u64_t __attribute__((may_alias));
typedef uint8_t wr_atomic_u8_t;

#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) || defined(WR_ATOMIC_CAS_ARITH)
#define WR_ATOMIC_ARITH(N, name, op)                                                                            \
    static inline uint##N##_t wr_atomic_rmw_##name##_u##N(uint8_t *p, uint##N##_t v)                             \
    {                                                                                                            \
        wr_atomic_u##N##_t *q = (wr_atomic_u##N##_t *)p;                                                         \
        uint##N##_t old = __atomic_load_n(q, __ATOMIC_RELAXED);                                                  \
        while (!__atomic_compare_exchange_n(q, &old, WR_LE##N((uint##N##_t)(WR_LE##N(old) op v)), 0,             \
                                            __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {                               \
        }                                                                                                        \
        return WR_LE##N(old);                                                                                    \
    }
#else
#define WR_ATOMIC_ARITH(N, name, op)                                                                            \
    static inline uint##N##_t wr_atomic_rmw_##name##_u##N(uint8_t *p, uint##N##_t v)                             \
    {                                                                                                            \
        return __atomic_fetch_##name((wr_atomic_u##N##_t *)p, v, __ATOMIC_SEQ_CST);                              \
    }
#endif

#define WR_ATOMIC_BITS(N, name)                                                                                 \
    static inline uint##N##_t wr_atomic_rmw_##name##_u##N(uint8_t *p, uint##N##_t v)                             \
    {                                                                                                            \
        return WR_LE##N(__atomic_fetch_##name((wr_atomic_u##N##_t *)p, WR_LE##N(v), __ATOMIC_SEQ_CST));          \
    }

#define WR_ATOMIC_WIDTH(N)                                                                                      \
    static inline uint##N##_t wr_atomic_load_u##N(const uint8_t *p)                                             \
    {                                                                                                            \
        return WR_LE##N(__atomic_load_n((const wr_atomic_u##N##_t *)p, __ATOMIC_SEQ_CST));                       \
    }                                                                                                            \
    static inline void wr_atomic_store_u##N(uint8_t *p, uint##N##_t v)                                          \
    {                                                                                                            \
        __atomic_store_n((wr_atomic_u##N##_t *)p, WR_LE##N(v), __ATOMIC_SEQ_CST);                                \
    }                                                                                                            \
    WR_ATOMIC_ARITH(N, add, +)                                                                                   \
    WR_ATOMIC_ARITH(N, sub, -)                                                                                   \
    WR_ATOMIC_BITS(N, and)                                                                                       \
    WR_ATOMIC_BITS(N, or)                                                                                        \
    WR_ATOMIC_BITS(N, xor)                                                                                       \
    static inline uint##N##_t wr_atomic_rmw_xchg_u##N(uint8_t *p, uint##N##_t v)                                \
    {                                                                                                            \
        return WR_LE##N(__atomic_exchange_n((wr_atomic_u##N##_t *)p, WR_LE##N(v), __ATOMIC_SEQ_CST));            \
    }                                                                                                            \
    static inline uint##N##_t wr_atomic_rmw_cmpxchg_u##N(uint8_t *p, uint64_t expected, uint##N##_t replacement) \
    {                                                                                                            \
        uint##N##_t old = WR_LE##N((uint##N##_t)expected);                                                       \
        /* On failure old receives the current value; on success it already is. */                              \
        __atomic_compare_exchange_n((wr_atomic_u##N##_t *)p, &old, WR_LE##N(replacement), 0, __ATOMIC_SEQ_CST,   \
                                    __ATOMIC_SEQ_CST);                                                           \
        return WR_LE##N(old);                                                                                    \
    }

WR_ATOMIC_WIDTH(8)
WR_ATOMIC_WIDTH(16)
WR_ATOMIC_WIDTH(32)
WR_ATOMIC_WIDTH(64)

#undef WR_ATOMIC_WIDTH
#undef WR_ATOMIC_BITS
#undef WR_ATOMIC_ARITH

/* The SIMD lane semantics build on the helpers above; including them here
 * gives every instruction body (wr_interp.c includes this header) both. */
#include "wr_simd.h"

#endif /* WR_NUMERIC_H */
