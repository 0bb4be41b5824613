/* test_numeric.c: unit tests for wr_numeric.h, the wasm numeric semantics
 * (edge cases: traps, NaN payloads, signed zeros, rounding, range limits).
 * Build: gcc -std=gnu11 -Wall -Wextra -Werror -I src/wasmroutines/_native
 *        tests/c/test_numeric.c -lm   (also with -fsanitize=undefined). */
#include <stdio.h>

#include "check.h"
#include "wr_numeric.h"

/* Through volatile, so the compiler cannot constant-fold an operation on a
 * signalling NaN (GCC folds without quieting it; the hardware quiets). */
static float F32(uint32_t bits)
{
    volatile uint32_t v = bits;
    return wr_f32_from_bits(v);
}

static double F64(uint64_t bits)
{
    volatile uint64_t v = bits;
    return wr_f64_from_bits(v);
}

#define B32(f) wr_f32_bits(f)
#define B64(d) wr_f64_bits(d)

static void test_int_bits(void)
{
    CHECK(wr_i32_clz(0) == 32 && wr_i32_clz(1) == 31 && wr_i32_clz(0x80000000u) == 0);
    CHECK(wr_i32_ctz(0) == 32 && wr_i32_ctz(0x80000000u) == 31 && wr_i32_ctz(1) == 0);
    CHECK(wr_i32_popcnt(0xFFFFFFFFu) == 32 && wr_i32_popcnt(0) == 0);
    CHECK(wr_i64_clz(0) == 64 && wr_i64_clz(1) == 63);
    CHECK(wr_i64_ctz(0) == 64 && wr_i64_ctz(0x8000000000000000u) == 63);
    CHECK(wr_i64_popcnt(0xFFFFFFFFFFFFFFFFu) == 64);

    CHECK(wr_i32_shl(1, 32) == 1 && wr_i32_shl(1, 33) == 2 && wr_i32_shl(1, 31) == 0x80000000u);
    CHECK(wr_i32_shr_u(0x80000000u, 31) == 1 && wr_i32_shr_u(0x80000000u, 32) == 0x80000000u);
    CHECK(wr_i32_shr_s(0x80000000u, 31) == 0xFFFFFFFFu);
    CHECK(wr_i32_shr_s(0x80000000u, 32) == 0x80000000u);
    CHECK(wr_i32_shr_s(0x80000000u, 1) == 0xC0000000u);
    CHECK(wr_i32_shr_s(0x40000000u, 1) == 0x20000000u);
    CHECK(wr_i32_shr_s(0xFFFFFFFFu, 0xFFFFFFFFu) == 0xFFFFFFFFu);
    CHECK(wr_i32_rotl(0x80000001u, 1) == 3 && wr_i32_rotl(0xABCD1234u, 0) == 0xABCD1234u);
    CHECK(wr_i32_rotl(0xABCD1234u, 32) == 0xABCD1234u && wr_i32_rotl(0xABCD1234u, 36) == 0xBCD1234Au);
    CHECK(wr_i32_rotr(3, 1) == 0x80000001u && wr_i32_rotr(0xABCD1234u, 36) == 0x4ABCD123u);

    CHECK(wr_i64_shl(1, 64) == 1 && wr_i64_shl(1, 63) == 0x8000000000000000u);
    CHECK(wr_i64_shr_s(0x8000000000000000u, 63) == 0xFFFFFFFFFFFFFFFFu);
    CHECK(wr_i64_shr_s(0x8000000000000000u, 64) == 0x8000000000000000u);
    CHECK(wr_i64_shr_s(0x7FFFFFFFFFFFFFFFu, 62) == 1);
    CHECK(wr_i64_shr_u(0x8000000000000000u, 63) == 1);
    CHECK(wr_i64_rotl(0x8000000000000001u, 1) == 3 && wr_i64_rotl(5, 64) == 5);
    CHECK(wr_i64_rotr(3, 1) == 0x8000000000000001u && wr_i64_rotr(5, 0) == 5);
    CHECK(wr_i64_rotl(0xABCD7294EF567809u, 0xFFFFFFFFFFFFFFEDu) == 0xCF013579AE529DEAu);

    CHECK(wr_sext32(0x80, 8) == 0xFFFFFF80u && wr_sext32(0x7F, 8) == 0x7F);
    CHECK(wr_sext32(0x12345680u, 8) == 0xFFFFFF80u);
    CHECK(wr_sext32(0x8000, 16) == 0xFFFF8000u && wr_sext32(0xFFFF7FFFu, 16) == 0x7FFF);
    CHECK(wr_sext64(0x80, 8) == 0xFFFFFFFFFFFFFF80u);
    CHECK(wr_sext64(0x80000000u, 32) == 0xFFFFFFFF80000000u);
    CHECK(wr_sext64(0x123456787FFFFFFFu, 32) == 0x7FFFFFFF);
    CHECK(wr_sext64(0xFFFF, 16) == 0xFFFFFFFFFFFFFFFFu);

    CHECK(wr_i32_lt_s(0x80000000u, 0) && !wr_i32_lt_s(0, 0x80000000u));
    CHECK(wr_i64_lt_s(0xFFFFFFFFFFFFFFFFu, 0));
}

static void test_int_div(void)
{
    uint32_t r = 7;
    CHECK(wr_i32_div_s(1, 0, &r) == WR_TRAP_DIV_ZERO && r == 7);
    CHECK(wr_i32_div_s(0x80000000u, 0xFFFFFFFFu, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_i32_div_s(0x80000000u, 2, &r) == 0 && r == 0xC0000000u);
    CHECK(wr_i32_div_s((uint32_t)-7, 2, &r) == 0 && r == (uint32_t)-3);
    CHECK(wr_i32_div_s(7, (uint32_t)-2, &r) == 0 && r == (uint32_t)-3);
    CHECK(wr_i32_div_s((uint32_t)-7, (uint32_t)-2, &r) == 0 && r == 3);
    CHECK(wr_i32_div_s(0x80000000u, 0x80000000u, &r) == 0 && r == 1);
    CHECK(wr_i32_div_u(0x80000000u, 0xFFFFFFFFu, &r) == 0 && r == 0);
    CHECK(wr_i32_div_u(1, 0, &r) == WR_TRAP_DIV_ZERO);
    CHECK(wr_i32_rem_s(0x80000000u, 0xFFFFFFFFu, &r) == 0 && r == 0);
    CHECK(wr_i32_rem_s((uint32_t)-7, 2, &r) == 0 && r == (uint32_t)-1);
    CHECK(wr_i32_rem_s(7, (uint32_t)-2, &r) == 0 && r == 1);
    CHECK(wr_i32_rem_s(0x80000000u, 2, &r) == 0 && r == 0);
    CHECK(wr_i32_rem_s(0x80000001u, 3, &r) == 0 && r == (uint32_t)-1);
    CHECK(wr_i32_rem_s(1, 0, &r) == WR_TRAP_DIV_ZERO);
    CHECK(wr_i32_rem_u(0x80000000u, 0xFFFFFFFFu, &r) == 0 && r == 0x80000000u);
    CHECK(wr_i32_rem_u(1, 0, &r) == WR_TRAP_DIV_ZERO);

    uint64_t q = 7;
    const uint64_t min64 = 0x8000000000000000u;
    CHECK(wr_i64_div_s(1, 0, &q) == WR_TRAP_DIV_ZERO && q == 7);
    CHECK(wr_i64_div_s(min64, (uint64_t)-1, &q) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_i64_div_s(min64, 2, &q) == 0 && q == 0xC000000000000000u);
    CHECK(wr_i64_div_s((uint64_t)-7, 2, &q) == 0 && q == (uint64_t)-3);
    CHECK(wr_i64_div_s(min64, min64, &q) == 0 && q == 1);
    CHECK(wr_i64_div_u(min64, (uint64_t)-1, &q) == 0 && q == 0);
    CHECK(wr_i64_rem_s(min64, (uint64_t)-1, &q) == 0 && q == 0);
    CHECK(wr_i64_rem_s((uint64_t)-7, 2, &q) == 0 && q == (uint64_t)-1);
    CHECK(wr_i64_rem_s(1, 0, &q) == WR_TRAP_DIV_ZERO);
    CHECK(wr_i64_rem_u(min64, (uint64_t)-1, &q) == 0 && q == min64);
    CHECK(wr_i64_div_u(1, 0, &q) == WR_TRAP_DIV_ZERO && wr_i64_rem_u(1, 0, &q) == WR_TRAP_DIV_ZERO);
}

static void test_float_bits(void)
{
    /* Signalling NaN with payload: bit operations must keep it as is. */
    float snan = F32(0x7FA00001u);
    CHECK(B32(wr_f32_abs(F32(0xFFA00001u))) == 0x7FA00001u);
    CHECK(B32(wr_f32_neg(snan)) == 0xFFA00001u);
    CHECK(B32(wr_f32_neg(0.0f)) == 0x80000000u);
    CHECK(B32(wr_f32_copysign(snan, -1.0f)) == 0xFFA00001u);
    CHECK(B32(wr_f32_copysign(-2.0f, F32(0x7FC00000u))) == B32(2.0f));
    double dsnan = F64(0x7FF4000000000001u);
    CHECK(B64(wr_f64_abs(F64(0xFFF4000000000001u))) == 0x7FF4000000000001u);
    CHECK(B64(wr_f64_neg(dsnan)) == 0xFFF4000000000001u);
    CHECK(B64(wr_f64_copysign(dsnan, -0.0)) == 0xFFF4000000000001u);
    CHECK(B64(wr_f64_copysign(1.0, -0.0)) == B64(-1.0));
}

static void test_minmax(void)
{
    float nan = F32(0x7FC00000u), snan = F32(0x7FA00000u);
    CHECK(B32(wr_f32_min(0.0f, -0.0f)) == 0x80000000u);
    CHECK(B32(wr_f32_min(-0.0f, 0.0f)) == 0x80000000u);
    CHECK(B32(wr_f32_max(0.0f, -0.0f)) == 0);
    CHECK(B32(wr_f32_max(-0.0f, 0.0f)) == 0);
    CHECK(B32(wr_f32_min(nan, 1.0f)) == 0x7FC00000u && B32(wr_f32_min(1.0f, nan)) == 0x7FC00000u);
    CHECK(B32(wr_f32_max(snan, 1.0f)) == 0x7FC00000u && B32(wr_f32_max(1.0f, snan)) == 0x7FC00000u);
    CHECK(B32(wr_f32_min(snan, -INFINITY)) == 0x7FC00000u);
    CHECK(wr_f32_min(1.0f, 2.0f) == 1.0f && wr_f32_max(1.0f, 2.0f) == 2.0f);
    CHECK(wr_f32_min(-INFINITY, 2.0f) == -INFINITY && wr_f32_max(INFINITY, -2.0f) == INFINITY);

    double dn = F64(0x7FF8000000000000u), ds = F64(0x7FF4000000000000u);
    CHECK(B64(wr_f64_min(0.0, -0.0)) == 0x8000000000000000u);
    CHECK(B64(wr_f64_max(-0.0, 0.0)) == 0);
    CHECK(B64(wr_f64_min(dn, 1.0)) == 0x7FF8000000000000u && B64(wr_f64_max(1.0, ds)) == 0x7FF8000000000000u);
    CHECK(wr_f64_min(-1.0, 2.0) == -1.0 && wr_f64_max(-1.0, 2.0) == 2.0);
}

static void test_rounding(void)
{
    CHECK(wr_f32_nearest(0.5f) == 0.0f && B32(wr_f32_nearest(-0.5f)) == 0x80000000u);
    CHECK(wr_f32_nearest(1.5f) == 2.0f && wr_f32_nearest(2.5f) == 2.0f && wr_f32_nearest(-3.5f) == -4.0f);
    CHECK(wr_f32_nearest(0.49999997f) == 0.0f && wr_f32_nearest(0.50000006f) == 1.0f);
    CHECK(wr_f32_nearest(4194303.5f) == 4194304.0f && wr_f32_nearest(4194302.5f) == 4194302.0f);
    CHECK(wr_f32_nearest(8388607.5f) == 8388608.0f);
    CHECK(wr_f32_nearest(8388609.0f) == 8388609.0f && wr_f32_nearest(-INFINITY) == -INFINITY);
    CHECK(B32(wr_f32_nearest(-0.0f)) == 0x80000000u && B32(wr_f32_nearest(F32(1))) == 0);
    CHECK(B32(wr_f32_nearest(F32(0x80000001u))) == 0x80000000u);
    CHECK(B32(wr_f32_nearest(F32(0x7FA00000u))) == 0x7FC00000u);
    CHECK(wr_f64_nearest(0.5) == 0.0 && B64(wr_f64_nearest(-0.5)) == 0x8000000000000000u);
    CHECK(wr_f64_nearest(2.5) == 2.0 && wr_f64_nearest(-1.5) == -2.0 && wr_f64_nearest(3.4) == 3.0);
    CHECK(wr_f64_nearest(0.49999999999999994) == 0.0);
    CHECK(wr_f64_nearest(4503599627370495.5) == 4503599627370496.0);
    CHECK(wr_f64_nearest(4503599627370494.5) == 4503599627370494.0);
    CHECK(wr_f64_nearest(9007199254740993.0) == 9007199254740993.0);
    CHECK(B64(wr_f64_nearest(F64(0xFFF4000000000000u))) == 0x7FF8000000000000u);
    CHECK(wr_f64_nearest(INFINITY) == INFINITY);

    CHECK(B32(wr_f32_ceil(-0.5f)) == 0x80000000u && wr_f32_ceil(0.5f) == 1.0f);
    CHECK(B32(wr_f32_floor(-0.0f)) == 0x80000000u && wr_f32_floor(-0.5f) == -1.0f);
    CHECK(B32(wr_f32_trunc(-0.9f)) == 0x80000000u && wr_f32_trunc(1.9f) == 1.0f);
    CHECK(B32(wr_f32_ceil(F32(0x7FA00000u))) == 0x7FC00000u);
    CHECK(B32(wr_f32_trunc(F32(0xFFA00000u))) == 0x7FC00000u);
    CHECK(B64(wr_f64_ceil(-0.5)) == 0x8000000000000000u && wr_f64_floor(-0.5) == -1.0);
    CHECK(wr_f64_trunc(-1.9) == -1.0 && B64(wr_f64_floor(F64(0x7FF4000000000000u))) == 0x7FF8000000000000u);
    CHECK(B32(wr_f32_sqrt(-1.0f)) == 0x7FC00000u && B32(wr_f32_sqrt(-0.0f)) == 0x80000000u);
    CHECK(wr_f64_sqrt(4.0) == 2.0 && B64(wr_f64_sqrt(F64(0x7FF4000000000000u))) == 0x7FF8000000000000u);
}

static void test_trunc(void)
{
    uint32_t r = 0;
    uint64_t q = 0;
    float fnan = F32(0x7FC00000u);
    /* i32 signed */
    CHECK(wr_trunc_f32_to_i32_s(fnan, &r) == WR_TRAP_INVALID_CONVERSION);
    CHECK(wr_trunc_f32_to_i32_s(-2147483648.0f, &r) == 0 && r == 0x80000000u);
    CHECK(wr_trunc_f32_to_i32_s(-2147483904.0f, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f32_to_i32_s(2147483520.0f, &r) == 0 && r == 2147483520u);
    CHECK(wr_trunc_f32_to_i32_s(2147483648.0f, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f32_to_i32_s(INFINITY, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f32_to_i32_s(-1.9f, &r) == 0 && r == (uint32_t)-1);
    CHECK(wr_trunc_f64_to_i32_s(-2147483648.9, &r) == 0 && r == 0x80000000u);
    CHECK(wr_trunc_f64_to_i32_s(-2147483649.0, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i32_s(2147483647.9, &r) == 0 && r == 0x7FFFFFFFu);
    CHECK(wr_trunc_f64_to_i32_s(2147483648.0, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i32_s(F64(0xFFF8000000000001u), &r) == WR_TRAP_INVALID_CONVERSION);
    /* i32 unsigned */
    CHECK(wr_trunc_f32_to_i32_u(-0.99999994f, &r) == 0 && r == 0);
    CHECK(wr_trunc_f32_to_i32_u(-1.0f, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f32_to_i32_u(4294967040.0f, &r) == 0 && r == 4294967040u);
    CHECK(wr_trunc_f32_to_i32_u(4294967296.0f, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i32_u(4294967295.9, &r) == 0 && r == 0xFFFFFFFFu);
    CHECK(wr_trunc_f64_to_i32_u(4294967296.0, &r) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i32_u(-0.9999999999999999, &r) == 0 && r == 0);
    CHECK(wr_trunc_f64_to_i32_u(-INFINITY, &r) == WR_TRAP_INT_OVERFLOW);
    /* i64 signed */
    CHECK(wr_trunc_f32_to_i64_s(-9223372036854775808.0f, &q) == 0 && q == 0x8000000000000000u);
    CHECK(wr_trunc_f32_to_i64_s(9223372036854775808.0f, &q) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f32_to_i64_s(9223371487098961920.0f, &q) == 0 && q == 9223371487098961920u);
    CHECK(wr_trunc_f64_to_i64_s(-9223372036854775808.0, &q) == 0 && q == 0x8000000000000000u);
    CHECK(wr_trunc_f64_to_i64_s(-9223372036854777856.0, &q) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i64_s(9223372036854774784.0, &q) == 0 && q == 9223372036854774784u);
    CHECK(wr_trunc_f64_to_i64_s(9223372036854775808.0, &q) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i64_s(F64(0x7FF0000000000001u), &q) == WR_TRAP_INVALID_CONVERSION);
    /* i64 unsigned */
    CHECK(wr_trunc_f32_to_i64_u(18446742974197923840.0f, &q) == 0 && q == 18446742974197923840u);
    CHECK(wr_trunc_f32_to_i64_u(18446744073709551616.0f, &q) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i64_u(18446744073709549568.0, &q) == 0 && q == 18446744073709549568u);
    CHECK(wr_trunc_f64_to_i64_u(18446744073709551616.0, &q) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f64_to_i64_u(-0.9, &q) == 0 && q == 0);
    CHECK(wr_trunc_f64_to_i64_u(-1.0, &q) == WR_TRAP_INT_OVERFLOW);
    CHECK(wr_trunc_f32_to_i64_u(fnan, &q) == WR_TRAP_INVALID_CONVERSION);

    /* saturating */
    CHECK(wr_trunc_sat_f32_to_i32_s(fnan) == 0 && wr_trunc_sat_f32_to_i32_s(INFINITY) == 0x7FFFFFFFu);
    CHECK(wr_trunc_sat_f32_to_i32_s(-INFINITY) == 0x80000000u);
    CHECK(wr_trunc_sat_f32_to_i32_s(2147483648.0f) == 0x7FFFFFFFu);
    CHECK(wr_trunc_sat_f32_to_i32_s(-2147483904.0f) == 0x80000000u);
    CHECK(wr_trunc_sat_f32_to_i32_s(-1.5f) == (uint32_t)-1);
    CHECK(wr_trunc_sat_f32_to_i32_u(-1.5f) == 0 && wr_trunc_sat_f32_to_i32_u(4294967296.0f) == 0xFFFFFFFFu);
    CHECK(wr_trunc_sat_f32_to_i32_u(F32(0xFFC00000u)) == 0);
    CHECK(wr_trunc_sat_f64_to_i32_s(2147483647.9) == 0x7FFFFFFFu);
    CHECK(wr_trunc_sat_f64_to_i32_s(-2147483649.0) == 0x80000000u);
    CHECK(wr_trunc_sat_f64_to_i32_u(4294967295.9) == 0xFFFFFFFFu);
    CHECK(wr_trunc_sat_f64_to_i32_u(1e300) == 0xFFFFFFFFu && wr_trunc_sat_f64_to_i32_u(-1e300) == 0);
    CHECK(wr_trunc_sat_f32_to_i64_s(9223372036854775808.0f) == 0x7FFFFFFFFFFFFFFFu);
    CHECK(wr_trunc_sat_f32_to_i64_s(-INFINITY) == 0x8000000000000000u);
    CHECK(wr_trunc_sat_f32_to_i64_u(18446744073709551616.0f) == 0xFFFFFFFFFFFFFFFFu);
    CHECK(wr_trunc_sat_f64_to_i64_s(-9223372036854775808.0) == 0x8000000000000000u);
    CHECK(wr_trunc_sat_f64_to_i64_s(9223372036854775808.0) == 0x7FFFFFFFFFFFFFFFu);
    CHECK(wr_trunc_sat_f64_to_i64_s(F64(0x7FF8000000000000u)) == 0);
    CHECK(wr_trunc_sat_f64_to_i64_u(18446744073709549568.0) == 18446744073709549568u);
    CHECK(wr_trunc_sat_f64_to_i64_u(-0.5) == 0 && wr_trunc_sat_f64_to_i64_u(INFINITY) == 0xFFFFFFFFFFFFFFFFu);
}

static void test_convert(void)
{
    /* Cases from the spec's conversions.wast: single correct rounding. */
    CHECK(wr_f32_convert_i32_s(0x80000000u) == -2147483648.0f);
    CHECK(wr_f32_convert_i32_s(16777217) == 16777216.0f);
    CHECK(wr_f32_convert_i32_s((uint32_t)-16777219) == -16777220.0f);
    CHECK(wr_f32_convert_i32_u(0xFFFFFFFFu) == 4294967296.0f);
    CHECK(wr_f32_convert_i32_u(0x80000080u) == 2147483648.0f);
    CHECK(wr_f32_convert_i32_u(0x80000081u) == 2147483904.0f);
    CHECK(wr_f32_convert_i32_u(0x80000180u) == 2147484160.0f);
    CHECK(wr_f32_convert_i64_s(9007199791611905u) == 9007200328482816.0f);
    CHECK(wr_f32_convert_i64_s((uint64_t)-9007199791611905) == -9007200328482816.0f);
    CHECK(wr_f32_convert_i64_s(0x8000000000000000u) == -9223372036854775808.0f);
    CHECK(wr_f32_convert_i64_u(0xFFFFFFFFFFFFFFFFu) == 18446744073709551616.0f);
    CHECK(wr_f32_convert_i64_u(0x8000008000000001u) == 9223373136366403584.0f);
    CHECK(wr_f32_convert_i64_u(0xFFFFFE8000000001u) == 18446742974197923840.0f);
    CHECK(wr_f32_convert_i64_u(0x20000020000001u) == 9007200328482816.0f);
    CHECK(wr_f64_convert_i32_u(0xFFFFFFFFu) == 4294967295.0);
    CHECK(wr_f64_convert_i32_s(0x80000000u) == -2147483648.0);
    CHECK(wr_f64_convert_i64_s(9007199254740993u) == 9007199254740992.0);
    CHECK(wr_f64_convert_i64_s((uint64_t)-9007199254740995) == -9007199254740996.0);
    CHECK(wr_f64_convert_i64_u(0xFFFFFFFFFFFFFFFFu) == 18446744073709551616.0);
    CHECK(wr_f64_convert_i64_u(0x8000000000000401u) == 9223372036854777856.0);
    CHECK(wr_f64_convert_i64_u(0xFFFFFFFFFFFFF400u) == 18446744073709547520.0);
    CHECK(wr_f64_convert_i64_u(9007199254740993u) == 9007199254740992.0);
    CHECK(wr_f64_convert_i64_u(9007199254740995u) == 9007199254740996.0);
}

static void test_memory(void)
{
    uint8_t m[16] = {0};
    wr_store_u32(m + 1, 0x04030201u);
    CHECK(m[1] == 1 && m[2] == 2 && m[3] == 3 && m[4] == 4);
    CHECK(wr_load_u32(m + 1) == 0x04030201u && wr_load_u16(m + 2) == 0x0302);
    wr_store_u64(m + 3, 0x0807060504030201u);
    CHECK(m[3] == 1 && m[10] == 8 && wr_load_u64(m + 3) == 0x0807060504030201u);
    wr_store_u16(m + 7, 0xBEEF);
    CHECK(m[7] == 0xEF && m[8] == 0xBE);
    wr_store_u8(m, 0xAB);
    CHECK(wr_load_u8(m) == 0xAB);
    wr_store_f32(m + 5, F32(0x7FA00001u));
    CHECK(wr_load_u32(m + 5) == 0x7FA00001u && B32(wr_load_f32(m + 5)) == 0x7FA00001u);
    wr_store_f64(m + 1, F64(0x7FF4000000000001u));
    CHECK(wr_load_u64(m + 1) == 0x7FF4000000000001u && B64(wr_load_f64(m + 1)) == 0x7FF4000000000001u);
    CHECK(wr_sext32(wr_load_u8(m), 8) == 0xFFFFFFABu);
}

/* wr_atomic_mem: alignment before bounds, 64-bit effective address. */
static void test_atomic_mem(void)
{
    _Alignas(8) uint8_t m[64];
    uint8_t *p = NULL;
    CHECK(wr_atomic_mem(m, 64, 8, 0, 8, &p) == 0 && p == m + 8);
    CHECK(wr_atomic_mem(m, 64, 4, 12, 4, &p) == 0 && p == m + 16);
    CHECK(wr_atomic_mem(m, 64, 56, 0, 8, &p) == 0 && p == m + 56); /* ends exactly at the end */
    CHECK(wr_atomic_mem(m, 64, 63, 0, 1, &p) == 0 && p == m + 63);
    CHECK(wr_atomic_mem(m, 64, 62, 0, 2, &p) == 0 && p == m + 62);
    p = NULL;
    CHECK(wr_atomic_mem(m, 64, 64, 0, 1, &p) == WR_TRAP_MEMORY_OOB && p == NULL);
    CHECK(wr_atomic_mem(m, 60, 56, 0, 8, &p) == WR_TRAP_MEMORY_OOB); /* aligned, crosses the end */
    CHECK(wr_atomic_mem(m, 64, 0, 64, 4, &p) == WR_TRAP_MEMORY_OOB);
    /* Unaligned and out of bounds: alignment wins (reference interpreter, wasmtime). */
    CHECK(wr_atomic_mem(m, 64, 63, 0, 2, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 61, 0, 4, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 60, 0, 8, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 1, 0xFFFFFFFFu, 8, &p) == WR_TRAP_MEMORY_OOB);
    /* addr + offset does not wrap at 2^32. */
    CHECK(wr_atomic_mem(m, 64, 0xFFFFFFFFu, 1, 1, &p) == WR_TRAP_MEMORY_OOB);
    CHECK(wr_atomic_mem(m, 64, 0xFFFFFFF0u, 0x10, 4, &p) == WR_TRAP_MEMORY_OOB);
    CHECK(wr_atomic_mem(m, 64, 0xFFFFFFFFu, 0xFFFFFFFFu, 8, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 0xFFFFFFFFu, 0xFFFFFFF9u, 8, &p) == WR_TRAP_MEMORY_OOB);
    CHECK(wr_atomic_mem(NULL, 0, 0, 0, 1, &p) == WR_TRAP_MEMORY_OOB); /* no memory / size 0 */
    /* In bounds but unaligned: the effective address counts, offset included. */
    CHECK(wr_atomic_mem(m, 64, 1, 0, 2, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 2, 0, 4, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 4, 0, 8, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 0, 4, 8, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, 64, 3, 1, 4, &p) == 0 && p == m + 4);
    CHECK(wr_atomic_mem(m, 64, 7, 0, 1, &p) == 0 && p == m + 7); /* bytes are always aligned */
    /* A size past 4 GiB (64-bit compare): in bounds, so alignment decides.
     * (Only trapping cases: m is not that large.) */
    CHECK(wr_atomic_mem(m, (uint64_t)1 << 33, 0xFFFFFFFFu, 0, 8, &p) == WR_TRAP_UNALIGNED_ATOMIC);
    CHECK(wr_atomic_mem(m, (uint64_t)1 << 33, 0xFFFFFFFFu, 0xFFFFFFFEu, 2, &p) == WR_TRAP_UNALIGNED_ATOMIC);
}

static void test_atomic_access(void)
{
    _Alignas(8) uint8_t m[16];
    memset(m, 0xEE, sizeof m);

    /* Loads and stores are little-endian and touch only their bytes. */
    wr_atomic_store_u32(m + 4, 0x04030201u);
    CHECK(m[3] == 0xEE && m[4] == 1 && m[7] == 4 && m[8] == 0xEE);
    CHECK(wr_atomic_load_u32(m + 4) == 0x04030201u && wr_load_u32(m + 4) == 0x04030201u);
    wr_atomic_store_u64(m + 8, 0x0807060504030201u);
    CHECK(m[8] == 1 && m[15] == 8 && wr_atomic_load_u64(m + 8) == 0x0807060504030201u);
    wr_atomic_store_u16(m + 2, 0xBEEF);
    CHECK(m[1] == 0xEE && m[2] == 0xEF && m[3] == 0xBE && m[4] == 1);
    CHECK(wr_atomic_load_u16(m + 2) == 0xBEEF);
    wr_atomic_store_u8(m + 1, 0x7F);
    CHECK(m[0] == 0xEE && m[1] == 0x7F && m[2] == 0xEF && wr_atomic_load_u8(m + 1) == 0x7F);

    /* rmw: the old value back, the new one in memory, wrapped to N bits. */
    wr_store_u64(m, 0x11111111FFFFFFFFu);
    CHECK(wr_atomic_rmw_add_u32(m, 1) == 0xFFFFFFFFu && wr_load_u64(m) == 0x1111111100000000u);
    CHECK(wr_atomic_rmw_sub_u32(m, 1) == 0 && wr_load_u64(m) == 0x11111111FFFFFFFFu);
    wr_store_u64(m, 0x11111111111111FFu);
    CHECK(wr_atomic_rmw_add_u8(m, 2) == 0xFF && wr_load_u64(m) == 0x1111111111111101u);
    CHECK(wr_atomic_rmw_sub_u8(m, 3) == 0x01 && wr_load_u64(m) == 0x11111111111111FEu);
    wr_store_u64(m, 0x111111111111FFFFu);
    CHECK(wr_atomic_rmw_add_u16(m, 1) == 0xFFFF && wr_load_u64(m) == 0x1111111111110000u);
    CHECK(wr_atomic_rmw_sub_u16(m + 2, 0x1112) == 0x1111 && wr_load_u64(m) == 0x11111111FFFF0000u);
    wr_store_u64(m, 0xFFFFFFFFFFFFFFFFu);
    CHECK(wr_atomic_rmw_add_u64(m, 2) == 0xFFFFFFFFFFFFFFFFu && wr_load_u64(m) == 1);
    CHECK(wr_atomic_rmw_sub_u64(m, 2) == 1 && wr_load_u64(m) == 0xFFFFFFFFFFFFFFFFu);

    wr_store_u64(m, 0x0123456789ABCDEFu);
    CHECK(wr_atomic_rmw_and_u64(m, 0xFF00FF00FF00FF00u) == 0x0123456789ABCDEFu);
    CHECK(wr_load_u64(m) == 0x010045008900CD00u);
    CHECK(wr_atomic_rmw_or_u32(m, 0x000F000Fu) == 0x8900CD00u && wr_load_u64(m) == 0x01004500890FCD0Fu);
    CHECK(wr_atomic_rmw_xor_u16(m + 6, 0xFFFF) == 0x0100 && wr_load_u64(m) == 0xFEFF4500890FCD0Fu);
    CHECK(wr_atomic_rmw_and_u8(m, 0xF0) == 0x0F && wr_load_u64(m) == 0xFEFF4500890FCD00u);
    CHECK(wr_atomic_rmw_or_u16(m, 0x00AA) == 0xCD00 && wr_load_u64(m) == 0xFEFF4500890FCDAAu);
    CHECK(wr_atomic_rmw_xor_u32(m + 4, 0xFFFFFFFFu) == 0xFEFF4500u && wr_load_u64(m) == 0x0100BAFF890FCDAAu);
    CHECK(wr_atomic_rmw_and_u32(m, 0) == 0x890FCDAAu && wr_load_u64(m) == 0x0100BAFF00000000u);
    CHECK(wr_atomic_rmw_or_u8(m + 7, 0x80) == 0x01 && wr_load_u64(m) == 0x8100BAFF00000000u);
    CHECK(wr_atomic_rmw_xor_u64(m, 0x8100BAFF00000001u) == 0x8100BAFF00000000u && wr_load_u64(m) == 1);
    CHECK(wr_atomic_rmw_and_u16(m, 0xFFFE) == 1 && wr_load_u64(m) == 0);
    CHECK(wr_atomic_rmw_xor_u8(m + 3, 0x5A) == 0 && wr_load_u64(m) == 0x5A000000u);

    CHECK(wr_atomic_rmw_xchg_u8(m, 0xAB) == 0 && wr_load_u64(m) == 0x5A0000ABu);
    CHECK(wr_atomic_rmw_xchg_u16(m + 2, 0x1234) == 0x5A00 && wr_load_u64(m) == 0x123400ABu);
    CHECK(wr_atomic_rmw_xchg_u32(m + 4, 0xCAFEBABEu) == 0 && wr_load_u64(m) == 0xCAFEBABE123400ABu);
    CHECK(wr_atomic_rmw_xchg_u64(m, 7) == 0xCAFEBABE123400ABu && wr_load_u64(m) == 7);
}

static void test_atomic_cmpxchg(void)
{
    _Alignas(8) uint8_t m[16];
    wr_store_u64(m, 0x1111111111111111u);
    wr_store_u64(m + 8, 0x2222222222222222u);

    /* Mismatch: the old value back, nothing stored. */
    CHECK(wr_atomic_rmw_cmpxchg_u32(m, 0, 0x12345678u) == 0x11111111u && wr_load_u64(m) == 0x1111111111111111u);
    CHECK(wr_atomic_rmw_cmpxchg_u64(m, 0, 1) == 0x1111111111111111u && wr_load_u64(m) == 0x1111111111111111u);
    CHECK(wr_atomic_rmw_cmpxchg_u8(m, 0x12, 0) == 0x11 && wr_load_u64(m) == 0x1111111111111111u);
    /* Match: stored, the old value back. */
    CHECK(wr_atomic_rmw_cmpxchg_u32(m, 0x11111111u, 0x12345678u) == 0x11111111u);
    CHECK(wr_load_u64(m) == 0x1111111112345678u);
    CHECK(wr_atomic_rmw_cmpxchg_u64(m, 0x1111111112345678u, 0x0101010101010101u) == 0x1111111112345678u);
    CHECK(wr_load_u64(m) == 0x0101010101010101u);
    CHECK(wr_atomic_rmw_cmpxchg_u8(m + 1, 0x01, 0xCD) == 0x01 && wr_load_u64(m) == 0x010101010101CD01u);
    CHECK(wr_atomic_rmw_cmpxchg_u16(m + 6, 0x0101, 0xBEEF) == 0x0101 && wr_load_u64(m) == 0xBEEF01010101CD01u);
    CHECK(wr_atomic_rmw_cmpxchg_u32(m + 4, 0xBEEF0101u, 0) == 0xBEEF0101u && wr_load_u64(m) == 0x0101CD01u);
    CHECK(wr_load_u64(m + 8) == 0x2222222222222222u); /* neighbours untouched */

    /* Narrow: expected is wrapped to N bits before comparing, so bits above
     * N are ignored. */
    wr_store_u64(m, 0x11111111FFFF1111u);
    CHECK(wr_atomic_rmw_cmpxchg_u8(m, 0x111, 0x22) == 0x11 && wr_load_u64(m) == 0x11111111FFFF1122u);
    CHECK(wr_atomic_rmw_cmpxchg_u8(m, 0xFFFFFFFFFFFFFF22u, 0x11) == 0x22 && wr_load_u64(m) == 0x11111111FFFF1111u);
    CHECK(wr_atomic_rmw_cmpxchg_u16(m + 2, 0x1FFFEu, 0) == 0xFFFF && wr_load_u64(m) == 0x11111111FFFF1111u);
    CHECK(wr_atomic_rmw_cmpxchg_u32(m + 4, 0x211111111u, 0x11111111u) == 0x11111111u &&
          wr_load_u64(m) == 0x11111111FFFF1111u);
    /* Exact matches. */
    CHECK(wr_atomic_rmw_cmpxchg_u16(m + 2, 0xFFFF, 0x0F0F) == 0xFFFF && wr_load_u64(m) == 0x111111110F0F1111u);
    CHECK(wr_atomic_rmw_cmpxchg_u32(m + 4, 0x11111111u, 0xEEEEEEEEu) == 0x11111111u);
    CHECK(wr_load_u64(m) == 0xEEEEEEEE0F0F1111u);
    CHECK(wr_atomic_rmw_cmpxchg_u64(m, 0xEEEEEEEE0F0F1111u, 0) == 0xEEEEEEEE0F0F1111u && wr_load_u64(m) == 0);
}

int main(void)
{
    test_int_bits();
    test_int_div();
    test_float_bits();
    test_minmax();
    test_rounding();
    test_trunc();
    test_convert();
    test_memory();
    test_atomic_mem();
    test_atomic_access();
    test_atomic_cmpxchg();
    return check_result("test_numeric");
}
