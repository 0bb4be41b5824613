/* wr_simd.h: the lane semantics of wasm's 128-bit SIMD instructions, one
 * static inline function per instruction (wr_<wasm name>), used by the
 * bodies in insns/simd_*.def and by tests/c/test_simd.c.
 *
 * Rules kept here so the bodies need not think about them:
 *   - portable C: GCC/Clang vector extensions (one SSE2/NEON instruction per
 *     operation where the hardware has one), __builtin_convertvector for
 *     widening, scalar helpers per lane where no vector form is exact; no
 *     intrinsics, no assembly. Results are never assembled by storing lanes
 *     one by one into a vector in memory (reading it back whole stalls store
 *     forwarding, 10-20 ns an instruction): lanes are built as vector
 *     literals, or moved with shifts on the 64-bit halves;
 *   - no C undefined behaviour: lane arithmetic is done on unsigned lanes,
 *     signed lanes are only compared and shifted right (arithmetic in GCC and
 *     Clang), shift counts are masked to the lane width, lane indices to the
 *     lane count (the translator validated them already);
 *   - float lanes reuse wr_numeric.h's scalar helpers (min/max, rounding,
 *     truncation, conversion), so scalar and vector semantics live in one
 *     place; add/sub/mul/div and demote/promote are vector operations with
 *     the same IEEE behaviour as the scalar ones, NaN lanes canonicalized as
 *     wr_numeric.h canonicalizes scalar NaNs (wr_simd_canon_f32/_f64);
 *   - operations that return a lane unchanged (pmin/pmax, abs/neg, lane
 *     moves) work on bits, so NaN payloads pass through exactly.
 *
 * wr_v128 holds the bytes in wasm's order (lane 0 lowest) on a little-endian
 * host; vectors are loaded from and stored to it with memcpy.
 */
#ifndef WR_SIMD_H
#define WR_SIMD_H

#include <stdint.h>
#include <string.h>

#include "wr_numeric.h"
#include "wr_types.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
/* REVISIT: a big-endian host would need lane-order swaps in wr_v_* below. */
#error "wr_simd.h assumes a little-endian host"
#endif

typedef uint8_t wr_u8x16 __attribute__((vector_size(16)));
typedef int8_t wr_s8x16 __attribute__((vector_size(16)));
typedef uint16_t wr_u16x8 __attribute__((vector_size(16)));
typedef int16_t wr_s16x8 __attribute__((vector_size(16)));
typedef uint32_t wr_u32x4 __attribute__((vector_size(16)));
typedef int32_t wr_s32x4 __attribute__((vector_size(16)));
typedef uint64_t wr_u64x2 __attribute__((vector_size(16)));
typedef int64_t wr_s64x2 __attribute__((vector_size(16)));
typedef float wr_f32x4 __attribute__((vector_size(16)));
typedef double wr_f64x2 __attribute__((vector_size(16)));
/* Half vectors (8 bytes): the sources of widening and the results of
 * narrowing, converted with __builtin_convertvector (GCC >= 9, Clang), which
 * compiles to unpack/pack instructions instead of lane-by-lane moves. */
typedef uint8_t wr_u8x8 __attribute__((vector_size(8)));
typedef int8_t wr_s8x8 __attribute__((vector_size(8)));
typedef uint16_t wr_u16x4 __attribute__((vector_size(8)));
typedef int16_t wr_s16x4 __attribute__((vector_size(8)));
typedef uint32_t wr_u32x2 __attribute__((vector_size(8)));
typedef int32_t wr_s32x2 __attribute__((vector_size(8)));
typedef float wr_f32x2 __attribute__((vector_size(8)));

/* ---- wr_v128 <-> vectors ------------------------------------------------ */

#define WR_V_AS(T, name)                                                                                     \
    static inline T wr_v_##name(wr_v128 v)                                                                   \
    {                                                                                                        \
        T t;                                                                                                 \
        memcpy(&t, &v, sizeof t);                                                                            \
        return t;                                                                                            \
    }
WR_V_AS(wr_u8x16, u8)
WR_V_AS(wr_s8x16, s8)
WR_V_AS(wr_u16x8, u16)
WR_V_AS(wr_s16x8, s16)
WR_V_AS(wr_u32x4, u32)
WR_V_AS(wr_s32x4, s32)
WR_V_AS(wr_u64x2, u64)
WR_V_AS(wr_s64x2, s64)
WR_V_AS(wr_f32x4, f32)
WR_V_AS(wr_f64x2, f64)
#undef WR_V_AS

/* Half h (0: lanes of bytes 0..7, 1: bytes 8..15) of v, or 8 bytes at p. */
#define WR_H_AS(T, name)                                                                                     \
    static inline T wr_h_##name(wr_v128 v, int h)                                                            \
    {                                                                                                        \
        T t;                                                                                                 \
        memcpy(&t, h ? &v.hi : &v.lo, sizeof t);                                                             \
        return t;                                                                                            \
    }                                                                                                        \
    static inline T wr_m_##name(const uint8_t *p)                                                            \
    {                                                                                                        \
        T t;                                                                                                 \
        memcpy(&t, p, sizeof t);                                                                             \
        return t;                                                                                            \
    }
WR_H_AS(wr_u8x8, u8)
WR_H_AS(wr_s8x8, s8)
WR_H_AS(wr_u16x4, u16)
WR_H_AS(wr_s16x4, s16)
WR_H_AS(wr_u32x2, u32)
WR_H_AS(wr_s32x2, s32)
WR_H_AS(wr_f32x2, f32)
#undef WR_H_AS

/* Any 16-byte vector (comparison results included) as a wr_v128. */
#define WR_V_FROM(x)                                                                                         \
    ({                                                                                                       \
        __typeof__(x) wr_from_t_ = (x);                                                                      \
        _Static_assert(sizeof wr_from_t_ == 16, "not a 128-bit vector");                                     \
        wr_v128 wr_from_r_;                                                                                  \
        memcpy(&wr_from_r_, &wr_from_t_, sizeof wr_from_r_);                                                 \
        wr_from_r_;                                                                                          \
    })

static inline wr_v128 wr_v128_make(uint64_t lo, uint64_t hi)
{
    wr_v128 r = {lo, hi};
    return r;
}

/* Two half vectors (any 8-byte types) as the low and high halves. */
#define WR_V_HALVES(lo_, hi_)                                                                                \
    ({                                                                                                       \
        __typeof__(lo_) wr_halves_l_ = (lo_);                                                                \
        __typeof__(hi_) wr_halves_h_ = (hi_);                                                                \
        _Static_assert(sizeof wr_halves_l_ == 8 && sizeof wr_halves_h_ == 8, "not 64-bit halves");           \
        wr_v128 wr_halves_r_;                                                                                \
        memcpy(&wr_halves_r_.lo, &wr_halves_l_, 8);                                                          \
        memcpy(&wr_halves_r_.hi, &wr_halves_h_, 8);                                                          \
        wr_halves_r_;                                                                                        \
    })

/* (m & a) | (~m & b) on bits: lane-wise select by an all-ones/all-zeros mask. */
static inline wr_v128 wr_v128_select(wr_v128 m, wr_v128 a, wr_v128 b)
{
    return wr_v128_make((m.lo & a.lo) | (~m.lo & b.lo), (m.hi & a.hi) | (~m.hi & b.hi));
}

/* ---- memory ------------------------------------------------------------- */

static inline wr_v128 wr_v128_load(const uint8_t *p)
{
    return wr_v128_make(wr_load_u64(p), wr_load_u64(p + 8));
}

static inline void wr_v128_store(uint8_t *p, wr_v128 v)
{
    wr_store_u64(p, v.lo);
    wr_store_u64(p + 8, v.hi);
}

/* v128.loadMxN_s/u: N lanes of M bits from 8 bytes, each extended to 2M bits. */
static inline wr_v128 wr_v128_load8x8_s(const uint8_t *p)
{
    return WR_V_FROM(__builtin_convertvector(wr_m_s8(p), wr_s16x8));
}

static inline wr_v128 wr_v128_load8x8_u(const uint8_t *p)
{
    return WR_V_FROM(__builtin_convertvector(wr_m_u8(p), wr_u16x8));
}

static inline wr_v128 wr_v128_load16x4_s(const uint8_t *p)
{
    return WR_V_FROM(__builtin_convertvector(wr_m_s16(p), wr_s32x4));
}

static inline wr_v128 wr_v128_load16x4_u(const uint8_t *p)
{
    return WR_V_FROM(__builtin_convertvector(wr_m_u16(p), wr_u32x4));
}

static inline wr_v128 wr_v128_load32x2_s(const uint8_t *p)
{
    return wr_v128_make(wr_sext64(wr_load_u32(p), 32), wr_sext64(wr_load_u32(p + 4), 32));
}

static inline wr_v128 wr_v128_load32x2_u(const uint8_t *p)
{
    return wr_v128_make(wr_load_u32(p), wr_load_u32(p + 4));
}

/* ---- splat, extract_lane, replace_lane ---------------------------------- */

static inline wr_v128 wr_i8x16_splat(uint32_t x)
{
    uint64_t h = (uint64_t)(uint8_t)x * 0x0101010101010101u;
    return wr_v128_make(h, h);
}

static inline wr_v128 wr_i16x8_splat(uint32_t x)
{
    uint64_t h = (uint64_t)(uint16_t)x * 0x0001000100010001u;
    return wr_v128_make(h, h);
}

static inline wr_v128 wr_i32x4_splat(uint32_t x)
{
    uint64_t h = (uint64_t)x * 0x0000000100000001u;
    return wr_v128_make(h, h);
}

static inline wr_v128 wr_i64x2_splat(uint64_t x)
{
    return wr_v128_make(x, x);
}

static inline wr_v128 wr_f32x4_splat(float x)
{
    return wr_i32x4_splat(wr_f32_bits(x));
}

static inline wr_v128 wr_f64x2_splat(double x)
{
    return wr_i64x2_splat(wr_f64_bits(x));
}

/* Lane moves work on the 64-bit halves with shifts, in registers: element
 * access through a vector in memory would stall store forwarding. */
static inline uint64_t wr_simd_half(wr_v128 v, uint32_t lane, uint32_t per_half)
{
    return (lane & per_half) ? v.hi : v.lo;
}

static inline uint32_t wr_i8x16_extract_lane_u(wr_v128 v, uint32_t lane)
{
    return (uint8_t)(wr_simd_half(v, lane, 8) >> (8 * (lane & 7)));
}

static inline uint32_t wr_i8x16_extract_lane_s(wr_v128 v, uint32_t lane)
{
    return wr_sext32(wr_i8x16_extract_lane_u(v, lane), 8);
}

static inline uint32_t wr_i16x8_extract_lane_u(wr_v128 v, uint32_t lane)
{
    return (uint16_t)(wr_simd_half(v, lane, 4) >> (16 * (lane & 3)));
}

static inline uint32_t wr_i16x8_extract_lane_s(wr_v128 v, uint32_t lane)
{
    return wr_sext32(wr_i16x8_extract_lane_u(v, lane), 16);
}

static inline uint32_t wr_i32x4_extract_lane(wr_v128 v, uint32_t lane)
{
    return (uint32_t)(wr_simd_half(v, lane, 2) >> (32 * (lane & 1)));
}

static inline uint64_t wr_i64x2_extract_lane(wr_v128 v, uint32_t lane)
{
    return wr_simd_half(v, lane, 1);
}

static inline float wr_f32x4_extract_lane(wr_v128 v, uint32_t lane)
{
    return wr_f32_from_bits(wr_i32x4_extract_lane(v, lane));
}

static inline double wr_f64x2_extract_lane(wr_v128 v, uint32_t lane)
{
    return wr_f64_from_bits(wr_i64x2_extract_lane(v, lane));
}

/* Replace the `bits`-wide lane (per_half lanes in a half) with x. */
static inline wr_v128 wr_simd_replace(wr_v128 v, uint32_t lane, uint32_t per_half, unsigned bits, uint64_t x)
{
    unsigned shift = bits * (lane & (per_half - 1));
    uint64_t mask = (bits == 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1) << shift;
    if (lane & per_half)
        v.hi = (v.hi & ~mask) | ((x << shift) & mask);
    else
        v.lo = (v.lo & ~mask) | ((x << shift) & mask);
    return v;
}

static inline wr_v128 wr_i8x16_replace_lane(wr_v128 v, uint32_t lane, uint32_t x)
{
    return wr_simd_replace(v, lane, 8, 8, x);
}

static inline wr_v128 wr_i16x8_replace_lane(wr_v128 v, uint32_t lane, uint32_t x)
{
    return wr_simd_replace(v, lane, 4, 16, x);
}

static inline wr_v128 wr_i32x4_replace_lane(wr_v128 v, uint32_t lane, uint32_t x)
{
    return wr_simd_replace(v, lane, 2, 32, x);
}

static inline wr_v128 wr_i64x2_replace_lane(wr_v128 v, uint32_t lane, uint64_t x)
{
    return wr_simd_replace(v, lane, 1, 64, x);
}

static inline wr_v128 wr_f32x4_replace_lane(wr_v128 v, uint32_t lane, float x)
{
    return wr_i32x4_replace_lane(v, lane, wr_f32_bits(x));
}

static inline wr_v128 wr_f64x2_replace_lane(wr_v128 v, uint32_t lane, double x)
{
    return wr_i64x2_replace_lane(v, lane, wr_f64_bits(x));
}

/* ---- shuffle, swizzle --------------------------------------------------- */

/* Lane i of the result is byte s[i] of a:b (32 bytes); indices >= 32 are
 * rejected by validation, masked here all the same. The result bytes are
 * gathered into the halves with shifts. */
static inline wr_v128 wr_i8x16_shuffle(wr_v128 a, wr_v128 b, uint64_t s_lo, uint64_t s_hi)
{
    uint8_t ab[32];
    memcpy(ab, &a, 16);
    memcpy(ab + 16, &b, 16);
    uint64_t lo = 0, hi = 0;
    for (unsigned i = 0; i < 8; i++) {
        lo |= (uint64_t)ab[(s_lo >> (8 * i)) & 31] << (8 * i);
        hi |= (uint64_t)ab[(s_hi >> (8 * i)) & 31] << (8 * i);
    }
    return wr_v128_make(lo, hi);
}

/* Lane i is a[s[i]], or 0 when s[i] >= 16. */
static inline wr_v128 wr_i8x16_swizzle(wr_v128 a, wr_v128 s)
{
    uint8_t t[16];
    memcpy(t, &a, 16);
    uint64_t lo = 0, hi = 0;
    for (unsigned i = 0; i < 8; i++) {
        uint8_t il = (uint8_t)(s.lo >> (8 * i)), ih = (uint8_t)(s.hi >> (8 * i));
        lo |= (uint64_t)(il < 16 ? t[il & 15] : 0) << (8 * i);
        hi |= (uint64_t)(ih < 16 ? t[ih & 15] : 0) << (8 * i);
    }
    return wr_v128_make(lo, hi);
}

/* ---- bitwise ------------------------------------------------------------ */

static inline wr_v128 wr_v128_not(wr_v128 a)
{
    return wr_v128_make(~a.lo, ~a.hi);
}

static inline wr_v128 wr_v128_and(wr_v128 a, wr_v128 b)
{
    return wr_v128_make(a.lo & b.lo, a.hi & b.hi);
}

static inline wr_v128 wr_v128_andnot(wr_v128 a, wr_v128 b)
{
    return wr_v128_make(a.lo & ~b.lo, a.hi & ~b.hi);
}

static inline wr_v128 wr_v128_or(wr_v128 a, wr_v128 b)
{
    return wr_v128_make(a.lo | b.lo, a.hi | b.hi);
}

static inline wr_v128 wr_v128_xor(wr_v128 a, wr_v128 b)
{
    return wr_v128_make(a.lo ^ b.lo, a.hi ^ b.hi);
}

/* Bits of a where c is 1, of b where c is 0. */
static inline wr_v128 wr_v128_bitselect(wr_v128 a, wr_v128 b, wr_v128 c)
{
    return wr_v128_select(c, a, b);
}

static inline uint32_t wr_v128_any_true(wr_v128 a)
{
    return (a.lo | a.hi) != 0;
}

/* ---- lane-wise integer operations, one macro per family -------------------
 * U/S: the unsigned/signed vector types of the shape, W: lane bits. */

#define WR_SIMD_INT_SHAPE(shape, U, S, W, u, s)                                                              \
    static inline wr_v128 wr_##shape##_add(wr_v128 a, wr_v128 b)                                             \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) + wr_v_##u(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_sub(wr_v128 a, wr_v128 b)                                             \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) - wr_v_##u(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_neg(wr_v128 a)                                                        \
    {                                                                                                        \
        return WR_V_FROM(-wr_v_##u(a));                                                                      \
    }                                                                                                        \
    /* |INT_MIN| wraps to INT_MIN: (a ^ m) - m with m the sign spread. */                                    \
    static inline wr_v128 wr_##shape##_abs(wr_v128 a)                                                        \
    {                                                                                                        \
        U m = (U)(wr_v_##s(a) >> (W - 1));                                                                   \
        return WR_V_FROM((wr_v_##u(a) ^ m) - m);                                                             \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_shl(wr_v128 a, uint32_t n)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) << (n & (W - 1)));                                                      \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_shr_s(wr_v128 a, uint32_t n)                                          \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##s(a) >> (n & (W - 1)));                                                      \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_shr_u(wr_v128 a, uint32_t n)                                          \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) >> (n & (W - 1)));                                                      \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_eq(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) == wr_v_##u(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_ne(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) != wr_v_##u(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_lt_s(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##s(a) < wr_v_##s(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_gt_s(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##s(a) > wr_v_##s(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_le_s(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##s(a) <= wr_v_##s(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_ge_s(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##s(a) >= wr_v_##s(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_lt_u(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) < wr_v_##u(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_gt_u(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) > wr_v_##u(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_le_u(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) <= wr_v_##u(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_ge_u(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##u(a) >= wr_v_##u(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_min_s(wr_v128 a, wr_v128 b)                                           \
    {                                                                                                        \
        return wr_v128_select(wr_##shape##_lt_s(a, b), a, b);                                                \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_max_s(wr_v128 a, wr_v128 b)                                           \
    {                                                                                                        \
        return wr_v128_select(wr_##shape##_gt_s(a, b), a, b);                                                \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_min_u(wr_v128 a, wr_v128 b)                                           \
    {                                                                                                        \
        return wr_v128_select(wr_##shape##_lt_u(a, b), a, b);                                                \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_max_u(wr_v128 a, wr_v128 b)                                           \
    {                                                                                                        \
        return wr_v128_select(wr_##shape##_gt_u(a, b), a, b);                                                \
    }                                                                                                        \
    /* Every lane non-zero. */                                                                               \
    static inline uint32_t wr_##shape##_all_true(wr_v128 a)                                                  \
    {                                                                                                        \
        U z = (U)(wr_v_##u(a) == 0);                                                                         \
        wr_v128 zv = WR_V_FROM(z);                                                                           \
        return (zv.lo | zv.hi) == 0;                                                                         \
    }                                                                                                        \
    /* Bit i of the result is the sign bit of lane i, gathered from the halves */                            \
    /* with shifts (i8x16 has a faster version below). */                                                    \
    static inline uint32_t wr_simd_bitmask_##shape(wr_v128 a)                                                \
    {                                                                                                        \
        uint32_t r = 0;                                                                                      \
        for (unsigned i = 0; i < 64 / W; i++) {                                                              \
            r |= (uint32_t)((a.lo >> (W * i + W - 1)) & 1) << i;                                             \
            r |= (uint32_t)((a.hi >> (W * i + W - 1)) & 1) << (i + 64 / W);                                  \
        }                                                                                                    \
        return r;                                                                                            \
    }

WR_SIMD_INT_SHAPE(i8x16, wr_u8x16, wr_s8x16, 8, u8, s8)
WR_SIMD_INT_SHAPE(i16x8, wr_u16x8, wr_s16x8, 16, u16, s16)
WR_SIMD_INT_SHAPE(i32x4, wr_u32x4, wr_s32x4, 32, u32, s32)
WR_SIMD_INT_SHAPE(i64x2, wr_u64x2, wr_s64x2, 64, u64, s64)
#undef WR_SIMD_INT_SHAPE

/* i8x16: the eight sign bits of a half, moved to bit 0 of their bytes, are
 * gathered into the top byte by one multiplication: byte i times 2^(7j+7)
 * lands on bit 56 + i exactly when i + j = 7, and no two products overlap,
 * so nothing carries. */
static inline uint32_t wr_i8x16_bitmask(wr_v128 a)
{
    const uint64_t ones = 0x0101010101010101u, gather = 0x0102040810204080u;
    uint64_t lo = ((a.lo >> 7) & ones) * gather >> 56, hi = ((a.hi >> 7) & ones) * gather >> 56;
    return (uint32_t)(lo | hi << 8);
}

static inline uint32_t wr_i16x8_bitmask(wr_v128 a)
{
    return wr_simd_bitmask_i16x8(a);
}

static inline uint32_t wr_i32x4_bitmask(wr_v128 a)
{
    return wr_simd_bitmask_i32x4(a);
}

static inline uint32_t wr_i64x2_bitmask(wr_v128 a)
{
    return wr_simd_bitmask_i64x2(a);
}

static inline wr_v128 wr_i16x8_mul(wr_v128 a, wr_v128 b)
{
    return WR_V_FROM(wr_v_u16(a) * wr_v_u16(b));
}

static inline wr_v128 wr_i32x4_mul(wr_v128 a, wr_v128 b)
{
    return WR_V_FROM(wr_v_u32(a) * wr_v_u32(b));
}

static inline wr_v128 wr_i64x2_mul(wr_v128 a, wr_v128 b)
{
    return WR_V_FROM(wr_v_u64(a) * wr_v_u64(b));
}

/* i8x16 lanes counted with the usual bit tricks (vectorizes; no 8-bit
 * popcount builtin needed). */
static inline wr_v128 wr_i8x16_popcnt(wr_v128 a)
{
    wr_u8x16 x = wr_v_u8(a);
    x = x - ((x >> 1) & 0x55);
    x = (x & 0x33) + ((x >> 2) & 0x33);
    x = (x + (x >> 4)) & 0x0F;
    return WR_V_FROM(x);
}

/* ---- saturating arithmetic and rounding average (8 and 16 bits) ---------- */

#define WR_SIMD_SAT_SHAPE(shape, U, S, W, u, s)                                                              \
    /* Unsigned: a carry (r < a) saturates to all ones. */                                                   \
    static inline wr_v128 wr_##shape##_add_sat_u(wr_v128 a, wr_v128 b)                                       \
    {                                                                                                        \
        U x = wr_v_##u(a), r = x + wr_v_##u(b);                                                              \
        return WR_V_FROM(r | (U)(r < x));                                                                    \
    }                                                                                                        \
    /* Unsigned: a borrow (b > a) saturates to 0. */                                                         \
    static inline wr_v128 wr_##shape##_sub_sat_u(wr_v128 a, wr_v128 b)                                       \
    {                                                                                                        \
        U x = wr_v_##u(a), y = wr_v_##u(b);                                                                  \
        return WR_V_FROM((x - y) & (U)(x >= y));                                                             \
    }                                                                                                        \
    /* Signed: overflow iff both operands' signs differ from the result's; */                                \
    /* then the result is MAX for a >= 0, MIN for a < 0: (a >> W-1) ^ MAX. */                                \
    static inline wr_v128 wr_##shape##_add_sat_s(wr_v128 a, wr_v128 b)                                       \
    {                                                                                                        \
        U x = wr_v_##u(a), y = wr_v_##u(b), r = x + y;                                                       \
        U ovf = (U)((S)((x ^ r) & (y ^ r)) >> (W - 1));                                                      \
        U sat = (U)(wr_v_##s(a) >> (W - 1)) ^ ((1u << (W - 1)) - 1);                                         \
        return WR_V_FROM((sat & ovf) | (r & ~ovf));                                                          \
    }                                                                                                        \
    /* Signed: overflow iff the operands' signs differ and the result's */                                   \
    /* sign differs from a's. */                                                                             \
    static inline wr_v128 wr_##shape##_sub_sat_s(wr_v128 a, wr_v128 b)                                       \
    {                                                                                                        \
        U x = wr_v_##u(a), y = wr_v_##u(b), r = x - y;                                                       \
        U ovf = (U)((S)((x ^ y) & (x ^ r)) >> (W - 1));                                                      \
        U sat = (U)(wr_v_##s(a) >> (W - 1)) ^ ((1u << (W - 1)) - 1);                                         \
        return WR_V_FROM((sat & ovf) | (r & ~ovf));                                                          \
    }                                                                                                        \
    /* (a + b + 1) >> 1 without the wider type: (a | b) - ((a ^ b) >> 1). */                                 \
    static inline wr_v128 wr_##shape##_avgr_u(wr_v128 a, wr_v128 b)                                          \
    {                                                                                                        \
        U x = wr_v_##u(a), y = wr_v_##u(b);                                                                  \
        return WR_V_FROM((x | y) - ((x ^ y) >> 1));                                                          \
    }

WR_SIMD_SAT_SHAPE(i8x16, wr_u8x16, wr_s8x16, 8, u8, s8)
WR_SIMD_SAT_SHAPE(i16x8, wr_u16x8, wr_s16x8, 16, u16, s16)
#undef WR_SIMD_SAT_SHAPE

/* ---- narrowing, widening, pairwise and extended arithmetic --------------- */

/* Lane-wise clamp of a signed vector x to [lo, hi] (constants). */
#define WR_SIMD_CLAMP(x, lo, hi)                                                                             \
    ({                                                                                                       \
        __typeof__(x) wr_clamp_x_ = (x);                                                                     \
        __typeof__(x) wr_clamp_m_ = wr_clamp_x_ < (lo);                                                      \
        wr_clamp_x_ = (wr_clamp_x_ & ~wr_clamp_m_) | ((lo)&wr_clamp_m_);                                     \
        wr_clamp_m_ = wr_clamp_x_ > (hi);                                                                    \
        (wr_clamp_x_ & ~wr_clamp_m_) | ((hi)&wr_clamp_m_);                                                   \
    })

/* Narrowing: clamp each wide lane (signed, for _s and _u alike: the spec's
 * narrow_u reads its inputs signed), then keep the low half of every lane:
 * lanes 0..N/2-1 from a, the rest from b. __builtin_shufflevector (Clang,
 * GCC >= 12) picks the even narrow lanes in one pack-like shuffle;
 * __builtin_convertvector on each half does the same, more slowly. */
#if defined(__has_builtin) && !defined(WR_SIMD_NO_SHUFFLEVECTOR) /* the latter: to test the fallback */
#if __has_builtin(__builtin_shufflevector)
#define WR_SIMD_HAVE_SHUFFLEVECTOR 1
#endif
#endif

#ifdef WR_SIMD_HAVE_SHUFFLEVECTOR
#define WR_SIMD_NARROW16(x, y)                                                                               \
    WR_V_FROM(__builtin_shufflevector((wr_u8x16)(x), (wr_u8x16)(y), 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,   \
                                      22, 24, 26, 28, 30))
#define WR_SIMD_NARROW32(x, y)                                                                               \
    WR_V_FROM(__builtin_shufflevector((wr_u16x8)(x), (wr_u16x8)(y), 0, 2, 4, 6, 8, 10, 12, 14))
#else
#define WR_SIMD_NARROW16(x, y)                                                                               \
    WR_V_HALVES(__builtin_convertvector((x), wr_s8x8), __builtin_convertvector((y), wr_s8x8))
#define WR_SIMD_NARROW32(x, y)                                                                               \
    WR_V_HALVES(__builtin_convertvector((x), wr_s16x4), __builtin_convertvector((y), wr_s16x4))
#endif

static inline wr_v128 wr_i8x16_narrow_i16x8_s(wr_v128 a, wr_v128 b)
{
    return WR_SIMD_NARROW16(WR_SIMD_CLAMP(wr_v_s16(a), -128, 127), WR_SIMD_CLAMP(wr_v_s16(b), -128, 127));
}

static inline wr_v128 wr_i8x16_narrow_i16x8_u(wr_v128 a, wr_v128 b)
{
    return WR_SIMD_NARROW16(WR_SIMD_CLAMP(wr_v_s16(a), 0, 255), WR_SIMD_CLAMP(wr_v_s16(b), 0, 255));
}

static inline wr_v128 wr_i16x8_narrow_i32x4_s(wr_v128 a, wr_v128 b)
{
    return WR_SIMD_NARROW32(WR_SIMD_CLAMP(wr_v_s32(a), -32768, 32767),
                            WR_SIMD_CLAMP(wr_v_s32(b), -32768, 32767));
}

static inline wr_v128 wr_i16x8_narrow_i32x4_u(wr_v128 a, wr_v128 b)
{
    return WR_SIMD_NARROW32(WR_SIMD_CLAMP(wr_v_s32(a), 0, 65535), WR_SIMD_CLAMP(wr_v_s32(b), 0, 65535));
}

/* extend_{low,high}: half `h` (0 low, 1 high) of the narrow lanes, widened. */
static inline wr_v128 wr_i16x8_extend_i8x16_s(wr_v128 a, int h)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_s8(a, h), wr_s16x8));
}

static inline wr_v128 wr_i16x8_extend_i8x16_u(wr_v128 a, int h)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_u8(a, h), wr_u16x8));
}

static inline wr_v128 wr_i32x4_extend_i16x8_s(wr_v128 a, int h)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_s16(a, h), wr_s32x4));
}

static inline wr_v128 wr_i32x4_extend_i16x8_u(wr_v128 a, int h)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_u16(a, h), wr_u32x4));
}

static inline wr_v128 wr_i64x2_extend_i32x4_s(wr_v128 a, int h)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_s32(a, h), wr_s64x2));
}

static inline wr_v128 wr_i64x2_extend_i32x4_u(wr_v128 a, int h)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_u32(a, h), wr_u64x2));
}

/* extmul: the products of the extended halves. The wide products never
 * overflow the wide signed lane ((-2^(W-1))^2 = 2^(2W-2)), but they are
 * formed on unsigned lanes anyway (two's complement, same bits). */
static inline wr_v128 wr_i16x8_extmul_i8x16_s(wr_v128 a, wr_v128 b, int h)
{
    return WR_V_FROM(wr_v_u16(wr_i16x8_extend_i8x16_s(a, h)) * wr_v_u16(wr_i16x8_extend_i8x16_s(b, h)));
}

static inline wr_v128 wr_i16x8_extmul_i8x16_u(wr_v128 a, wr_v128 b, int h)
{
    return WR_V_FROM(wr_v_u16(wr_i16x8_extend_i8x16_u(a, h)) * wr_v_u16(wr_i16x8_extend_i8x16_u(b, h)));
}

static inline wr_v128 wr_i32x4_extmul_i16x8_s(wr_v128 a, wr_v128 b, int h)
{
    return WR_V_FROM(wr_v_u32(wr_i32x4_extend_i16x8_s(a, h)) * wr_v_u32(wr_i32x4_extend_i16x8_s(b, h)));
}

static inline wr_v128 wr_i32x4_extmul_i16x8_u(wr_v128 a, wr_v128 b, int h)
{
    return WR_V_FROM(wr_v_u32(wr_i32x4_extend_i16x8_u(a, h)) * wr_v_u32(wr_i32x4_extend_i16x8_u(b, h)));
}

static inline wr_v128 wr_i64x2_extmul_i32x4_s(wr_v128 a, wr_v128 b, int h)
{
    return WR_V_FROM(wr_v_u64(wr_i64x2_extend_i32x4_s(a, h)) * wr_v_u64(wr_i64x2_extend_i32x4_s(b, h)));
}

static inline wr_v128 wr_i64x2_extmul_i32x4_u(wr_v128 a, wr_v128 b, int h)
{
    return WR_V_FROM(wr_v_u64(wr_i64x2_extend_i32x4_u(a, h)) * wr_v_u64(wr_i64x2_extend_i32x4_u(b, h)));
}

/* Pairs of narrow lanes seen as one wide lane: the even (low) narrow lane is
 * the wide lane shifted up then back down (arithmetically for _s), the odd
 * one the wide lane shifted down. Shifting up is done unsigned. */
static inline wr_s16x8 wr_simd_even_s8(wr_v128 a)
{
    return (wr_s16x8)(wr_v_u16(a) << 8) >> 8;
}

static inline wr_s32x4 wr_simd_even_s16(wr_v128 a)
{
    return (wr_s32x4)(wr_v_u32(a) << 16) >> 16;
}

/* extadd_pairwise: lane i = ext(a[2i]) + ext(a[2i+1]); cannot overflow. */
static inline wr_v128 wr_i16x8_extadd_pairwise_i8x16_s(wr_v128 a)
{
    return WR_V_FROM((wr_u16x8)wr_simd_even_s8(a) + (wr_u16x8)(wr_v_s16(a) >> 8));
}

static inline wr_v128 wr_i16x8_extadd_pairwise_i8x16_u(wr_v128 a)
{
    wr_u16x8 x = wr_v_u16(a);
    return WR_V_FROM((x & 0xFF) + (x >> 8));
}

static inline wr_v128 wr_i32x4_extadd_pairwise_i16x8_s(wr_v128 a)
{
    return WR_V_FROM((wr_u32x4)wr_simd_even_s16(a) + (wr_u32x4)(wr_v_s32(a) >> 16));
}

static inline wr_v128 wr_i32x4_extadd_pairwise_i16x8_u(wr_v128 a)
{
    wr_u32x4 x = wr_v_u32(a);
    return WR_V_FROM((x & 0xFFFF) + (x >> 16));
}

/* Lane i = a[2i]*b[2i] + a[2i+1]*b[2i+1], wrapping: the one overflowing case
 * (all four -32768) gives 2^31, which wraps to INT32_MIN. The products and
 * the sum are formed on unsigned lanes (the low 32 bits are the same). */
static inline wr_v128 wr_i32x4_dot_i16x8_s(wr_v128 a, wr_v128 b)
{
    wr_u32x4 even = (wr_u32x4)wr_simd_even_s16(a) * (wr_u32x4)wr_simd_even_s16(b);
    wr_u32x4 odd = (wr_u32x4)(wr_v_s32(a) >> 16) * (wr_u32x4)(wr_v_s32(b) >> 16);
    return WR_V_FROM(even + odd);
}

/* Relaxed dot product (WebAssembly 3.0), as the deterministic profile has it: both operands' bytes signed,
 * adjacent products summed into a 16-bit lane, wrapping (-128 * -128 twice is 32768: -32768). */
static inline wr_v128 wr_i16x8_relaxed_dot_i8x16_i7x16_s(wr_v128 a, wr_v128 b)
{
    wr_u16x8 even = (wr_u16x8)wr_simd_even_s8(a) * (wr_u16x8)wr_simd_even_s8(b);
    wr_u16x8 odd = (wr_u16x8)(wr_v_s16(a) >> 8) * (wr_u16x8)(wr_v_s16(b) >> 8);
    return WR_V_FROM(even + odd);
}

/* (a * b + 2^14) >> 15 (an arithmetic shift: floor), saturated: only
 * -32768 * -32768 overflows, to 32768; nothing goes below -32767. Even and
 * odd lanes are worked on separately, widened in place to 32 bits (as in
 * dot); the products are formed unsigned (they fit an int32 anyway). */
static inline wr_u32x4 wr_simd_q15mulr_wide(wr_s32x4 x, wr_s32x4 y)
{
    wr_s32x4 q = (wr_s32x4)((wr_u32x4)x * (wr_u32x4)y + 0x4000) >> 15;
    return (wr_u32x4)WR_SIMD_CLAMP(q, -32768, 32767);
}

static inline wr_v128 wr_i16x8_q15mulr_sat_s(wr_v128 a, wr_v128 b)
{
    wr_u32x4 even = wr_simd_q15mulr_wide(wr_simd_even_s16(a), wr_simd_even_s16(b));
    wr_u32x4 odd = wr_simd_q15mulr_wide(wr_v_s32(a) >> 16, wr_v_s32(b) >> 16);
    return WR_V_FROM((even & 0xFFFF) | (odd << 16));
}

/* ---- floats ------------------------------------------------------------- */

static inline wr_v128 wr_f32x4_abs(wr_v128 a)
{
    return WR_V_FROM(wr_v_u32(a) & 0x7FFFFFFFu);
}

static inline wr_v128 wr_f32x4_neg(wr_v128 a)
{
    return WR_V_FROM(wr_v_u32(a) ^ 0x80000000u);
}

static inline wr_v128 wr_f64x2_abs(wr_v128 a)
{
    return WR_V_FROM(wr_v_u64(a) & 0x7FFFFFFFFFFFFFFFu);
}

static inline wr_v128 wr_f64x2_neg(wr_v128 a)
{
    return WR_V_FROM(wr_v_u64(a) ^ 0x8000000000000000u);
}

/* NaN lanes become the canonical NaN, other lanes stay. The select (a
 * lane-wise compare, then bits) is out of line and cold: the common path
 * only tests whether any lane is a NaN and branches, predicted not taken, so
 * the result goes on without waiting for a select (done inline, the select
 * put three more dependent instructions on every float operation's
 * critical path: a loop of f32x4 mul/add/div ran 58% slower). */
static __attribute__((noinline, cold, unused)) wr_f32x4 wr_simd_canon_f32_lanes(wr_f32x4 r)
{
    wr_u32x4 nan = (wr_u32x4)(r != r);
    return (wr_f32x4)(((wr_u32x4)r & ~nan) | (nan & WR_F32_CANONICAL_NAN));
}

static __attribute__((noinline, cold, unused)) wr_f64x2 wr_simd_canon_f64_lanes(wr_f64x2 r)
{
    wr_u64x2 nan = (wr_u64x2)(r != r);
    return (wr_f64x2)(((wr_u64x2)r & ~nan) | (nan & WR_F64_CANONICAL_NAN));
}

/* Both paths meet as a vector (in a vector register): meeting as a wr_v128
 * made GCC move every result through two integer registers. */
static inline wr_v128 wr_simd_canon_f32(wr_f32x4 r)
{
    wr_v128 nan = WR_V_FROM(r != r);
    if (__builtin_expect((nan.lo | nan.hi) != 0, 0))
        r = wr_simd_canon_f32_lanes(r);
    return WR_V_FROM(r);
}

static inline wr_v128 wr_simd_canon_f64(wr_f64x2 r)
{
    wr_v128 nan = WR_V_FROM(r != r);
    if (__builtin_expect((nan.lo | nan.hi) != 0, 0))
        r = wr_simd_canon_f64_lanes(r);
    return WR_V_FROM(r);
}

/* add/sub/mul/div: one IEEE operation per lane, like the scalar ones, NaN
 * lanes canonicalized. */
#define WR_SIMD_FLOAT_ARITH(shape, f)                                                                        \
    static inline wr_v128 wr_##shape##_add(wr_v128 a, wr_v128 b)                                             \
    {                                                                                                        \
        return wr_simd_canon_##f(wr_v_##f(a) + wr_v_##f(b));                                                 \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_sub(wr_v128 a, wr_v128 b)                                             \
    {                                                                                                        \
        return wr_simd_canon_##f(wr_v_##f(a) - wr_v_##f(b));                                                 \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_mul(wr_v128 a, wr_v128 b)                                             \
    {                                                                                                        \
        return wr_simd_canon_##f(wr_v_##f(a) * wr_v_##f(b));                                                 \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_div(wr_v128 a, wr_v128 b)                                             \
    {                                                                                                        \
        return wr_simd_canon_##f(wr_v_##f(a) / wr_v_##f(b));                                                 \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_eq(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##f(a) == wr_v_##f(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_ne(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##f(a) != wr_v_##f(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_lt(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##f(a) < wr_v_##f(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_gt(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##f(a) > wr_v_##f(b));                                                         \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_le(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##f(a) <= wr_v_##f(b));                                                        \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_ge(wr_v128 a, wr_v128 b)                                              \
    {                                                                                                        \
        return WR_V_FROM(wr_v_##f(a) >= wr_v_##f(b));                                                        \
    }                                                                                                        \
    /* pmin = b < a ? b : a, pmax = a < b ? b : a: the chosen lane's bits, */                                \
    /* NaNs included (a NaN compares false, so a is kept). */                                                \
    static inline wr_v128 wr_##shape##_pmin(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return wr_v128_select(wr_##shape##_lt(b, a), b, a);                                                  \
    }                                                                                                        \
    static inline wr_v128 wr_##shape##_pmax(wr_v128 a, wr_v128 b)                                            \
    {                                                                                                        \
        return wr_v128_select(wr_##shape##_lt(a, b), b, a);                                                  \
    }

WR_SIMD_FLOAT_ARITH(f32x4, f32)
WR_SIMD_FLOAT_ARITH(f64x2, f64)
#undef WR_SIMD_FLOAT_ARITH

/* The helpers that work lane by lane through a scalar helper (these, and the saturating truncations below) are
 * out of line: a call costs little beside four scalar operations with their NaN and range branches, and inline
 * in each of their ~30 handlers they would grow the run loop past the size where GCC allocates its registers
 * well (docs/interpreter.md, "The run loop's size"). */
#define WR_SIMD_LANEWISE __attribute__((noinline, unused))

/* Lane-wise scalar helpers from wr_numeric.h (min/max NaN and -0 rules,
 * rounding, sqrt; each returns the canonical NaN for a NaN). */
/* The results are built as vector literals, so the compiler assembles the
 * lanes in registers (lane-by-lane stores to memory read back as a whole
 * would stall store forwarding). */
#define WR_SIMD_F32_UNARY(op)                                                                                \
    static WR_SIMD_LANEWISE wr_v128 wr_f32x4_##op(wr_v128 a)                                                           \
    {                                                                                                        \
        wr_f32x4 x = wr_v_f32(a);                                                                            \
        wr_f32x4 r = {wr_f32_##op(x[0]), wr_f32_##op(x[1]), wr_f32_##op(x[2]), wr_f32_##op(x[3])};           \
        return WR_V_FROM(r);                                                                                 \
    }
#define WR_SIMD_F64_UNARY(op)                                                                                \
    static WR_SIMD_LANEWISE wr_v128 wr_f64x2_##op(wr_v128 a)                                                           \
    {                                                                                                        \
        wr_f64x2 x = wr_v_f64(a);                                                                            \
        wr_f64x2 r = {wr_f64_##op(x[0]), wr_f64_##op(x[1])};                                                 \
        return WR_V_FROM(r);                                                                                 \
    }
#define WR_SIMD_F32_BINARY(op)                                                                               \
    static WR_SIMD_LANEWISE wr_v128 wr_f32x4_##op(wr_v128 a, wr_v128 b)                                                \
    {                                                                                                        \
        wr_f32x4 x = wr_v_f32(a), y = wr_v_f32(b);                                                           \
        wr_f32x4 r = {wr_f32_##op(x[0], y[0]), wr_f32_##op(x[1], y[1]), wr_f32_##op(x[2], y[2]),             \
                      wr_f32_##op(x[3], y[3])};                                                              \
        return WR_V_FROM(r);                                                                                 \
    }
#define WR_SIMD_F64_BINARY(op)                                                                               \
    static WR_SIMD_LANEWISE wr_v128 wr_f64x2_##op(wr_v128 a, wr_v128 b)                                                \
    {                                                                                                        \
        wr_f64x2 x = wr_v_f64(a), y = wr_v_f64(b);                                                           \
        wr_f64x2 r = {wr_f64_##op(x[0], y[0]), wr_f64_##op(x[1], y[1])};                                     \
        return WR_V_FROM(r);                                                                                 \
    }

WR_SIMD_F32_UNARY(sqrt)
WR_SIMD_F32_UNARY(ceil)
WR_SIMD_F32_UNARY(floor)
WR_SIMD_F32_UNARY(trunc)
WR_SIMD_F32_UNARY(nearest)
WR_SIMD_F64_UNARY(sqrt)
WR_SIMD_F64_UNARY(ceil)
WR_SIMD_F64_UNARY(floor)
WR_SIMD_F64_UNARY(trunc)
WR_SIMD_F64_UNARY(nearest)
WR_SIMD_F32_BINARY(min)
WR_SIMD_F32_BINARY(max)
WR_SIMD_F64_BINARY(min)
WR_SIMD_F64_BINARY(max)
#undef WR_SIMD_F32_UNARY
#undef WR_SIMD_F64_UNARY
#undef WR_SIMD_F32_BINARY
#undef WR_SIMD_F64_BINARY

/* ---- conversions -------------------------------------------------------- */

/* Saturating truncation per lane by wr_numeric.h's helpers (the range
 * checks come before any cast), built as vector literals. */
static WR_SIMD_LANEWISE wr_v128 wr_i32x4_trunc_sat_f32x4_s(wr_v128 a)
{
    wr_f32x4 x = wr_v_f32(a);
    wr_u32x4 r = {wr_trunc_sat_f32_to_i32_s(x[0]), wr_trunc_sat_f32_to_i32_s(x[1]),
                  wr_trunc_sat_f32_to_i32_s(x[2]), wr_trunc_sat_f32_to_i32_s(x[3])};
    return WR_V_FROM(r);
}

static WR_SIMD_LANEWISE wr_v128 wr_i32x4_trunc_sat_f32x4_u(wr_v128 a)
{
    wr_f32x4 x = wr_v_f32(a);
    wr_u32x4 r = {wr_trunc_sat_f32_to_i32_u(x[0]), wr_trunc_sat_f32_to_i32_u(x[1]),
                  wr_trunc_sat_f32_to_i32_u(x[2]), wr_trunc_sat_f32_to_i32_u(x[3])};
    return WR_V_FROM(r);
}

/* _zero: two lanes from the f64 lanes, the upper two zero. */
static WR_SIMD_LANEWISE wr_v128 wr_i32x4_trunc_sat_f64x2_s_zero(wr_v128 a)
{
    wr_f64x2 x = wr_v_f64(a);
    wr_u32x4 r = {wr_trunc_sat_f64_to_i32_s(x[0]), wr_trunc_sat_f64_to_i32_s(x[1]), 0, 0};
    return WR_V_FROM(r);
}

static WR_SIMD_LANEWISE wr_v128 wr_i32x4_trunc_sat_f64x2_u_zero(wr_v128 a)
{
    wr_f64x2 x = wr_v_f64(a);
    wr_u32x4 r = {wr_trunc_sat_f64_to_i32_u(x[0]), wr_trunc_sat_f64_to_i32_u(x[1]), 0, 0};
    return WR_V_FROM(r);
}

/* int -> float: __builtin_convertvector converts each lane as a C cast does
 * (one correct rounding, like wr_f32_convert_i32_s/u and friends). */
static inline wr_v128 wr_f32x4_convert_i32x4_s(wr_v128 a)
{
    return WR_V_FROM(__builtin_convertvector(wr_v_s32(a), wr_f32x4));
}

static inline wr_v128 wr_f32x4_convert_i32x4_u(wr_v128 a)
{
    return WR_V_FROM(__builtin_convertvector(wr_v_u32(a), wr_f32x4));
}

static inline wr_v128 wr_f64x2_convert_low_i32x4_s(wr_v128 a)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_s32(a, 0), wr_f64x2));
}

static inline wr_v128 wr_f64x2_convert_low_i32x4_u(wr_v128 a)
{
    return WR_V_FROM(__builtin_convertvector(wr_h_u32(a, 0), wr_f64x2));
}

/* Correctly rounded; a NaN lane becomes the canonical NaN, like
 * f32.demote_f64. Upper lanes zero (no NaN there to canonicalize). */
static inline wr_v128 wr_f32x4_demote_f64x2_zero(wr_v128 a)
{
    wr_f32x2 r = __builtin_convertvector(wr_v_f64(a), wr_f32x2);
    wr_u32x2 nan = (wr_u32x2)(r != r);
    return WR_V_HALVES(((wr_u32x2)r & ~nan) | (nan & WR_F32_CANONICAL_NAN), (uint64_t)0);
}

/* Exact; a NaN lane becomes the canonical NaN, like f64.promote_f32. */
static inline wr_v128 wr_f64x2_promote_low_f32x4(wr_v128 a)
{
    return wr_simd_canon_f64(__builtin_convertvector(wr_h_f32(a, 0), wr_f64x2));
}

#endif /* WR_SIMD_H */
