/* test_simd.c: unit tests for wr_simd.h, the lane semantics of the SIMD
 * instructions (edge cases: shift counts mod lane width, saturation bounds,
 * INT_MIN lanes, rounding of q15mulr/avgr, NaN bits through pmin/pmax and
 * min/max, trunc_sat limits, _zero/_low lanes, lane order in memory).
 * Build: gcc -std=gnu11 -Wall -Wextra -Werror -I src/wasmroutines/_native
 *        tests/c/test_simd.c -lm   (also with -fsanitize=address,undefined). */
#include <stdio.h>

#include "check.h"
#include "wr_simd.h"

/* Through volatile, so the compiler cannot constant-fold (GCC folds
 * operations on signalling NaNs without quieting them; hardware quiets). */
static wr_v128 V(uint64_t lo, uint64_t hi)
{
    volatile uint64_t l = lo, h = hi;
    return wr_v128_make(l, h);
}

static int EQ(wr_v128 v, uint64_t lo, uint64_t hi)
{
    return v.lo == lo && v.hi == hi;
}

/* Lane constructors, lane 0 first. */
static wr_v128 I8(const int8_t l[16])
{
    wr_v128 v;
    memcpy(&v, l, 16);
    return V(v.lo, v.hi);
}

static wr_v128 I16(int16_t a, int16_t b, int16_t c, int16_t d, int16_t e, int16_t f, int16_t g, int16_t h)
{
    int16_t l[8] = {a, b, c, d, e, f, g, h};
    wr_v128 v;
    memcpy(&v, l, 16);
    return V(v.lo, v.hi);
}

static wr_v128 I32(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    return V(a | (uint64_t)b << 32, c | (uint64_t)d << 32);
}

static wr_v128 F32(float a, float b, float c, float d)
{
    return I32(wr_f32_bits(a), wr_f32_bits(b), wr_f32_bits(c), wr_f32_bits(d));
}

static wr_v128 F64(double a, double b)
{
    return V(wr_f64_bits(a), wr_f64_bits(b));
}

static uint8_t lane8(wr_v128 v, int i)
{
    return (uint8_t)wr_i8x16_extract_lane_u(v, (uint32_t)i);
}

static uint16_t lane16(wr_v128 v, int i)
{
    return (uint16_t)wr_i16x8_extract_lane_u(v, (uint32_t)i);
}

static uint32_t lane32(wr_v128 v, int i)
{
    return wr_i32x4_extract_lane(v, (uint32_t)i);
}

static void test_lanes(void)
{
    wr_v128 v = I32(0x03020100, 0x07060504, 0x0B0A0908, 0x0F0E0D0C);
    CHECK(lane8(v, 0) == 0 && lane8(v, 15) == 15 && lane16(v, 7) == 0x0F0E);
    CHECK(wr_i8x16_extract_lane_s(wr_i8x16_splat(0x180), 3) == 0xFFFFFF80u);
    CHECK(wr_i16x8_extract_lane_s(wr_i16x8_splat(0x18000), 7) == 0xFFFF8000u);
    CHECK(EQ(wr_i32x4_splat(0xDEADBEEF), 0xDEADBEEFDEADBEEFu, 0xDEADBEEFDEADBEEFu));
    CHECK(EQ(wr_f32x4_splat(wr_f32_from_bits(0x7FA00001)), 0x7FA000017FA00001u, 0x7FA000017FA00001u));
    CHECK(EQ(wr_i8x16_replace_lane(V(0, 0), 15, 0x1AB), 0, 0xAB00000000000000u));
    CHECK(EQ(wr_i16x8_replace_lane(V(0, 0), 1, 0xFFFF1234u), 0x12340000u, 0));
    CHECK(EQ(wr_i64x2_replace_lane(V(1, 2), 1, 7), 1, 7));
    /* f32 lanes move as bits: a signalling NaN stays signalling. */
    CHECK(wr_f32_bits(wr_f32x4_extract_lane(I32(0, 0, 0x7F800001, 0), 2)) == 0x7F800001u);
    CHECK(wr_f64_bits(wr_f64x2_extract_lane(
              wr_f64x2_replace_lane(V(0, 0), 1, wr_f64_from_bits(0xFFF0000000000001u)), 1)) ==
          0xFFF0000000000001u);

    /* shuffle: indices 16..31 pick from b; swizzle: out of range gives 0. */
    wr_v128 b = V(0x1716151413121110u, 0x1F1E1D1C1B1A1918u);
    wr_v128 s = wr_i8x16_shuffle(v, b, 0x000102030405061Fu, 0x1011121314151600u);
    CHECK(lane8(s, 0) == 0x1F && lane8(s, 1) == 6 && lane8(s, 7) == 0 && lane8(s, 8) == 0);
    CHECK(lane8(s, 9) == 0x16 && lane8(s, 15) == 0x10);
    wr_v128 w = wr_i8x16_swizzle(v, V(0x8010FF0F00010203u, 0x0504030201001110u));
    CHECK(lane8(w, 0) == 3 && lane8(w, 3) == 0 && lane8(w, 4) == 15);
    CHECK(lane8(w, 5) == 0 && lane8(w, 6) == 0 && lane8(w, 7) == 0 && lane8(w, 8) == 0 && lane8(w, 10) == 0);
    CHECK(lane8(w, 15) == 5);
}

static void test_memory(void)
{
    uint8_t m[16] = {0x80, 0x7F, 0xFF, 0x01, 0x00, 0x80, 0xFF, 0xFF, 9, 10, 11, 12, 13, 14, 15, 16};
    CHECK(EQ(wr_v128_load(m), 0xFFFF800001FF7F80u, 0x100F0E0D0C0B0A09u));
    wr_v128 s = wr_v128_load8x8_s(m);
    CHECK(lane16(s, 0) == 0xFF80 && lane16(s, 1) == 0x007F && lane16(s, 2) == 0xFFFF &&
          lane16(s, 7) == 0xFFFF);
    wr_v128 u = wr_v128_load8x8_u(m);
    CHECK(lane16(u, 0) == 0x0080 && lane16(u, 2) == 0x00FF);
    CHECK(lane32(wr_v128_load16x4_s(m), 0) == 0x00007F80u && lane32(wr_v128_load16x4_s(m), 1) == 0x000001FFu);
    CHECK(lane32(wr_v128_load16x4_s(m), 3) == 0xFFFFFFFFu && lane32(wr_v128_load16x4_u(m), 3) == 0xFFFFu);
    CHECK(EQ(wr_v128_load32x2_s(m), 0x01FF7F80u, 0xFFFFFFFFFFFF8000u));
    CHECK(EQ(wr_v128_load32x2_u(m), 0x01FF7F80u, 0xFFFF8000u));
    uint8_t out[16] = {0};
    wr_v128_store(out, V(0x0706050403020100u, 0x0F0E0D0C0B0A0908u));
    for (int i = 0; i < 16; i++)
        CHECK(out[i] == i);
}

static void test_int_arith(void)
{
    const int8_t a8[16] = {-128, 127, -1, 0, 100, -100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const int8_t b8[16] = {-1, 1, -128, 0, 100, -100, 127, -2, 3, 4, 5, 6, 7, 8, 9, 10};
    wr_v128 a = I8(a8), b = I8(b8);

    wr_v128 r = wr_i8x16_add_sat_s(a, b);
    CHECK(lane8(r, 0) == 0x80 && lane8(r, 1) == 0x7F && lane8(r, 2) == 0x80 && lane8(r, 4) == 0x7F);
    CHECK(lane8(r, 5) == 0x80 && lane8(r, 6) == 0x7F && lane8(r, 7) == 0);
    r = wr_i8x16_sub_sat_s(a, b);
    CHECK(lane8(r, 0) == 0x81 && lane8(r, 1) == 126 && lane8(r, 2) == 127 && lane8(r, 6) == 0x82);
    CHECK(lane8(r, 7) == 4);
    r = wr_i8x16_add_sat_u(a, b); /* 0x80 + 0xFF, 0x7F + 1, 0xFF + 0x80 */
    CHECK(lane8(r, 0) == 0xFF && lane8(r, 1) == 0x80 && lane8(r, 2) == 0xFF && lane8(r, 4) == 200);
    r = wr_i8x16_sub_sat_u(a, b);
    CHECK(lane8(r, 0) == 0 && lane8(r, 1) == 126 && lane8(r, 2) == 0x7F && lane8(r, 7) == 0);
    r = wr_i16x8_add_sat_s(I16(32767, -32768, -32768, 1, 0, 0, 0, 0), I16(1, -1, 32767, -1, 0, 0, 0, 0));
    CHECK(lane16(r, 0) == 0x7FFF && lane16(r, 1) == 0x8000 && lane16(r, 2) == 0xFFFF && lane16(r, 3) == 0);
    r = wr_i16x8_sub_sat_s(I16(-32768, 32767, 0, 0, 0, 0, 0, 0), I16(1, -1, -32768, 0, 0, 0, 0, 0));
    CHECK(lane16(r, 0) == 0x8000 && lane16(r, 1) == 0x7FFF && lane16(r, 2) == 0x7FFF);
    r = wr_i16x8_sub_sat_u(I16(1, -1, 0, 0, 0, 0, 0, 0), I16(2, 1, 0, 0, 0, 0, 0, 0));
    CHECK(lane16(r, 0) == 0 && lane16(r, 1) == 0xFFFE);

    r = wr_i8x16_avgr_u(a, b); /* (0x80 + 0xFF + 1) / 2, (0xFF + 0x80 + 1) / 2, (0 + 0 + 1) / 2 */
    CHECK(lane8(r, 0) == 0xC0 && lane8(r, 2) == 0xC0 && lane8(r, 3) == 0 && lane8(r, 7) == 0x80);
    r = wr_i16x8_avgr_u(I16(-1, 0, 1, 0, 0, 0, 0, 0), I16(-1, 1, 2, 0, 0, 0, 0, 0));
    CHECK(lane16(r, 0) == 0xFFFF && lane16(r, 1) == 1 && lane16(r, 2) == 2);

    /* abs(INT_MIN) wraps; neg(INT_MIN) too. */
    CHECK(lane8(wr_i8x16_abs(a), 0) == 0x80 && lane8(wr_i8x16_abs(a), 2) == 1);
    CHECK(lane32(wr_i32x4_abs(I32(0x80000000u, 0xFFFFFFFFu, 5, 0)), 0) == 0x80000000u);
    CHECK(EQ(wr_i64x2_abs(V(0x8000000000000000u, (uint64_t)-3)), 0x8000000000000000u, 3));
    CHECK(EQ(wr_i64x2_neg(V(0x8000000000000000u, 1)), 0x8000000000000000u, (uint64_t)-1));

    CHECK(lane8(wr_i8x16_min_s(a, b), 0) == 0x80 && lane8(wr_i8x16_min_u(a, b), 0) == 0x80);
    CHECK(lane8(wr_i8x16_max_s(a, b), 2) == 0xFF && lane8(wr_i8x16_max_u(a, b), 0) == 0xFF);
    CHECK(lane32(wr_i32x4_min_s(I32(0x80000000u, 0, 0, 0), I32(0x7FFFFFFF, 0, 0, 0)), 0) == 0x80000000u);
    CHECK(lane32(wr_i32x4_min_u(I32(0x80000000u, 0, 0, 0), I32(0x7FFFFFFF, 0, 0, 0)), 0) == 0x7FFFFFFFu);

    CHECK(EQ(wr_i64x2_mul(V(0x8000000000000001u, 3), V(3, 0xFFFFFFFFFFFFFFFFu)), 0x8000000000000003u,
             0xFFFFFFFFFFFFFFFDu));
    CHECK(lane16(wr_i16x8_mul(I16(-32768, 300, 0, 0, 0, 0, 0, 0), I16(-1, 300, 0, 0, 0, 0, 0, 0)), 0) ==
          0x8000);
    CHECK(lane16(wr_i16x8_mul(I16(-32768, 300, 0, 0, 0, 0, 0, 0), I16(-1, 300, 0, 0, 0, 0, 0, 0)), 1) ==
          (uint16_t)90000);

    CHECK(EQ(wr_i8x16_popcnt(V(0xFF55AA0F01800000u, 0x0102040810204080u)), 0x0804040401010000u,
             0x0101010101010101u));
}

static void test_shifts(void)
{
    wr_v128 v = wr_i8x16_splat(0x81);
    CHECK(EQ(wr_i8x16_shl(v, 9), 0x0202020202020202u, 0x0202020202020202u)); /* 9 mod 8 = 1 */
    CHECK(EQ(wr_i8x16_shr_s(v, 1), 0xC0C0C0C0C0C0C0C0u, 0xC0C0C0C0C0C0C0C0u));
    CHECK(EQ(wr_i8x16_shr_u(v, 0xFFFFFFFFu), 0x0101010101010101u, 0x0101010101010101u)); /* 7 */
    CHECK(EQ(wr_i8x16_shr_s(v, 8), v.lo, v.hi));
    CHECK(lane16(wr_i16x8_shr_s(wr_i16x8_splat(0x8000), 31), 5) == 0xFFFF);
    CHECK(lane16(wr_i16x8_shl(wr_i16x8_splat(3), 16), 0) == 3);
    CHECK(lane32(wr_i32x4_shr_s(wr_i32x4_splat(0x80000000u), 33), 1) == 0xC0000000u);
    CHECK(lane32(wr_i32x4_shr_u(wr_i32x4_splat(0x80000000u), 63), 3) == 1);
    CHECK(EQ(wr_i64x2_shr_s(V(0x8000000000000000u, 0x4000000000000000u), 62), (uint64_t)-2, 1));
    CHECK(EQ(wr_i64x2_shl(V(1, 1), 64 + 63), 0x8000000000000000u, 0x8000000000000000u));
}

static void test_compare_and_masks(void)
{
    wr_v128 a = I32(0x80000000u, 1, 0xFFFFFFFFu, 7), b = I32(0x7FFFFFFFu, 1, 0, 8);
    CHECK(EQ(wr_i32x4_lt_s(a, b), 0xFFFFFFFFu, 0xFFFFFFFFFFFFFFFFu));
    CHECK(EQ(wr_i32x4_lt_u(a, b), 0, 0xFFFFFFFF00000000u));
    CHECK(EQ(wr_i32x4_ge_u(a, b), 0xFFFFFFFFFFFFFFFFu, 0xFFFFFFFFu));
    CHECK(EQ(wr_i32x4_eq(a, b), 0xFFFFFFFF00000000u, 0));
    CHECK(EQ(wr_i64x2_gt_s(V(0, 0x8000000000000000u), V(0x8000000000000000u, 0)), (uint64_t)-1, 0));
    CHECK(EQ(wr_i64x2_le_s(V(5, 5), V(5, 4)), (uint64_t)-1, 0));

    CHECK(wr_i8x16_bitmask(V(0x8000000000000080u, 0xFF00000000000001u)) == 0x8081u);
    CHECK(wr_i16x8_bitmask(I16(-1, 0, 0, 0, 0, 0, 0, -32768)) == 0x81u);
    CHECK(wr_i32x4_bitmask(a) == 0x5u && wr_i64x2_bitmask(V((uint64_t)-1, 1)) == 1u);
    CHECK(wr_i8x16_all_true(wr_i8x16_splat(1)) &&
          !wr_i8x16_all_true(V(0xFFFFFFFFFFFFFFFFu, 0xFF00FFFFFFFFFFFFu)));
    CHECK(wr_i16x8_all_true(wr_i16x8_splat(0x100)) && !wr_i32x4_all_true(I32(1, 1, 0, 1)));
    CHECK(wr_i64x2_all_true(V(1, 0x8000000000000000u)) && !wr_i64x2_all_true(V(0, 1)));
    CHECK(wr_v128_any_true(V(0, 0x8000000000000000u)) && !wr_v128_any_true(V(0, 0)));

    CHECK(EQ(wr_v128_bitselect(V(0xFFFF, 0xAAAA), V(0xFF00, 0x5555), V(0x0F0F, 0xFF00)), 0xFF0F, 0xAA55));
    CHECK(EQ(wr_v128_andnot(V(0xFF, 0xF0), V(0x0F, 0xFF)), 0xF0, 0));
}

static void test_narrow_widen(void)
{
    wr_v128 a = I16(-32768, 32767, -129, -128, 127, 128, 255, 256);
    wr_v128 b = I16(-1, 0, 1, 300, -300, 0, 0, 0);
    wr_v128 r = wr_i8x16_narrow_i16x8_s(a, b);
    CHECK(lane8(r, 0) == 0x80 && lane8(r, 1) == 0x7F && lane8(r, 2) == 0x80 && lane8(r, 3) == 0x80);
    CHECK(lane8(r, 4) == 0x7F && lane8(r, 5) == 0x7F && lane8(r, 8) == 0xFF && lane8(r, 11) == 0x7F);
    CHECK(lane8(r, 12) == 0x80);
    r = wr_i8x16_narrow_i16x8_u(a, b); /* the inputs read signed */
    CHECK(lane8(r, 0) == 0 && lane8(r, 1) == 0xFF && lane8(r, 3) == 0 && lane8(r, 5) == 128);
    CHECK(lane8(r, 6) == 255 && lane8(r, 7) == 255 && lane8(r, 8) == 0 && lane8(r, 11) == 255);
    r = wr_i16x8_narrow_i32x4_u(I32(0x80000000u, 65536, 65535, 0xFFFFFFFFu), I32(1, 2, 3, 0x7FFFFFFF));
    CHECK(lane16(r, 0) == 0 && lane16(r, 1) == 0xFFFF && lane16(r, 2) == 0xFFFF && lane16(r, 3) == 0);
    CHECK(lane16(r, 4) == 1 && lane16(r, 7) == 0xFFFF);
    r = wr_i16x8_narrow_i32x4_s(I32(0x80000000u, 32768, 0xFFFF8000u, 0xFFFFFFFFu), I32(0, 0, 0, 0x7FFFFFFF));
    CHECK(lane16(r, 0) == 0x8000 && lane16(r, 1) == 0x7FFF && lane16(r, 2) == 0x8000 &&
          lane16(r, 3) == 0xFFFF);
    CHECK(lane16(r, 7) == 0x7FFF);

    wr_v128 v = V(0x0706050403020180u, 0xFFFEFDFCFBFAF9F8u);
    CHECK(lane16(wr_i16x8_extend_i8x16_s(v, 0), 0) == 0xFF80 &&
          lane16(wr_i16x8_extend_i8x16_u(v, 0), 0) == 0x80);
    CHECK(lane16(wr_i16x8_extend_i8x16_s(v, 1), 7) == 0xFFFF &&
          lane16(wr_i16x8_extend_i8x16_u(v, 1), 7) == 0xFF);
    CHECK(lane32(wr_i32x4_extend_i16x8_s(v, 1), 3) == 0xFFFFFFFEu);
    CHECK(lane32(wr_i32x4_extend_i16x8_u(v, 1), 3) == 0xFFFEu);
    CHECK(EQ(wr_i64x2_extend_i32x4_s(v, 1), 0xFFFFFFFFFBFAF9F8u, 0xFFFFFFFFFFFEFDFCu));
    CHECK(EQ(wr_i64x2_extend_i32x4_u(v, 0), 0x03020180u, 0x07060504u));

    /* extmul extremes: (-2^(W-1))^2 fits the wide lane. */
    wr_v128 m8 = wr_i8x16_splat(0x80);
    CHECK(lane16(wr_i16x8_extmul_i8x16_s(m8, m8, 1), 3) == 0x4000);
    CHECK(lane16(wr_i16x8_extmul_i8x16_u(m8, wr_i8x16_splat(0xFF), 0), 0) == 0x7F80);
    wr_v128 m16 = wr_i16x8_splat(0x8000);
    CHECK(lane32(wr_i32x4_extmul_i16x8_s(m16, m16, 0), 0) == 0x40000000u);
    CHECK(lane32(wr_i32x4_extmul_i16x8_s(m16, wr_i16x8_splat(0x7FFF), 0), 0) == 0xC0008000u);
    CHECK(lane32(wr_i32x4_extmul_i16x8_u(wr_i16x8_splat(0xFFFF), wr_i16x8_splat(0xFFFF), 1), 2) ==
          0xFFFE0001u);
    wr_v128 m32 = wr_i32x4_splat(0x80000000u);
    CHECK(EQ(wr_i64x2_extmul_i32x4_s(m32, m32, 1), 0x4000000000000000u, 0x4000000000000000u));
    CHECK(EQ(wr_i64x2_extmul_i32x4_u(wr_i32x4_splat(0xFFFFFFFFu), wr_i32x4_splat(0xFFFFFFFFu), 0),
             0xFFFFFFFE00000001u, 0xFFFFFFFE00000001u));

    CHECK(lane16(wr_i16x8_extadd_pairwise_i8x16_s(m8), 0) == 0xFF00);
    CHECK(lane16(wr_i16x8_extadd_pairwise_i8x16_u(wr_i8x16_splat(0xFF)), 7) == 0x1FE);
    CHECK(lane32(wr_i32x4_extadd_pairwise_i16x8_s(m16), 0) == 0xFFFF0000u);
    CHECK(lane32(wr_i32x4_extadd_pairwise_i16x8_u(wr_i16x8_splat(0xFFFF)), 3) == 0x1FFFEu);

    /* dot: four INT16_MIN products sum to 2^31, which wraps. */
    CHECK(EQ(wr_i32x4_dot_i16x8_s(m16, m16), 0x8000000080000000u, 0x8000000080000000u));
    r = wr_i32x4_dot_i16x8_s(I16(1, 2, -3, 4, 32767, 32767, 0, 0), I16(5, 6, 7, -8, -32768, -32768, 0, 0));
    CHECK(lane32(r, 0) == 17 && lane32(r, 1) == (uint32_t)-53 && lane32(r, 2) == 0x80010000u &&
          lane32(r, 3) == 0);

    /* q15mulr_sat_s: round half up (toward +inf), saturate INT16_MIN^2;
     * (-16385 + 2^14) >> 15 floors to -1. */
    r = wr_i16x8_q15mulr_sat_s(I16(-32768, 16384, -16384, -16385, 32767, 1, -1, 0),
                               I16(-32768, 1, 1, 1, 32767, 16384, 16384, 0));
    CHECK(lane16(r, 0) == 0x7FFF && lane16(r, 1) == 1 && lane16(r, 2) == 0 && lane16(r, 3) == 0xFFFF);
    CHECK(lane16(r, 4) == 32766 && lane16(r, 5) == 1 && lane16(r, 6) == 0);
    r = wr_i16x8_q15mulr_sat_s(I16(-32768, -32767, 0, 0, 0, 0, 0, 0), I16(32767, 1, 0, 0, 0, 0, 0, 0));
    CHECK(lane16(r, 0) == (uint16_t)-32767 && lane16(r, 1) == (uint16_t)-1);
}

static void test_float(void)
{
    const uint32_t snan = 0x7FA00000u, qnan = 0x7FC00000u;
    wr_v128 a = I32(snan, wr_f32_bits(-0.0f), wr_f32_bits(1.0f), qnan);
    wr_v128 b = I32(wr_f32_bits(1.0f), wr_f32_bits(0.0f), qnan, wr_f32_bits(2.0f));
    /* pmin/pmax keep a's bits when a comparison involves a NaN; pmin(-0, +0) = -0 (a). */
    CHECK(EQ(wr_f32x4_pmin(a, b), a.lo, a.hi));
    CHECK(EQ(wr_f32x4_pmax(a, b), a.lo, a.hi));
    CHECK(EQ(wr_f32x4_pmin(b, a), b.lo, b.hi));
    wr_v128 pm = wr_f32x4_pmax(F32(1.0f, 3.0f, 0, 0), F32(2.0f, -1.0f, 0, 0));
    CHECK(EQ(pm, (uint64_t)wr_f32_bits(3.0f) << 32 | wr_f32_bits(2.0f), 0));
    /* min/max: NaN wins (the canonical NaN), -0 < +0 whichever side. */
    wr_v128 mn = wr_f32x4_min(a, b), mx = wr_f32x4_max(b, a);
    CHECK(lane32(mn, 0) == qnan && lane32(mn, 1) == 0x80000000u);
    CHECK(lane32(mn, 2) == qnan && lane32(mn, 3) == qnan);
    CHECK(lane32(mx, 0) == qnan && lane32(mx, 1) == 0 && lane32(mx, 3) == qnan);
    wr_v128 md = wr_f64x2_min(F64(0.0, -0.0), F64(-0.0, 0.0));
    CHECK(EQ(md, 0x8000000000000000u, 0x8000000000000000u));
    CHECK(EQ(wr_f64x2_max(F64(0.0, -0.0), F64(-0.0, 0.0)), 0, 0));

    /* Arithmetic: NaN results are the canonical NaN; inf - inf is a NaN. */
    wr_v128 s = wr_f32x4_add(a, b);
    CHECK(lane32(s, 0) == qnan && lane32(s, 2) == qnan);
    CHECK(lane32(s, 1) == 0);
    wr_v128 inf = wr_f32x4_splat(wr_f32_from_bits(0x7F800000u));
    CHECK(lane32(wr_f32x4_sub(inf, inf), 1) == qnan && lane32(wr_f32x4_mul(inf, F32(0, 0, 0, 0)), 2) == qnan);
    CHECK(lane32(wr_f32x4_sqrt(F32(-1.0f, 4.0f, 0, 0)), 0) == qnan &&
          lane32(wr_f32x4_sqrt(F32(-1.0f, 4.0f, 0, 0)), 1) == wr_f32_bits(2.0f));
    CHECK(EQ(wr_f64x2_div(F64(1.0, -1.0), F64(0.0, 0.0)), 0x7FF0000000000000u, 0xFFF0000000000000u));
    CHECK(EQ(wr_f64x2_div(F64(1.0, 6.0), F64(3.0, 4.0)), wr_f64_bits(1.0 / 3.0), wr_f64_bits(1.5)));

    /* abs/neg are bit operations: NaN payloads kept, signalling or not. */
    CHECK(lane32(wr_f32x4_neg(a), 0) == (snan | 0x80000000u) &&
          lane32(wr_f32x4_abs(wr_f32x4_neg(a)), 0) == snan);
    CHECK(EQ(wr_f64x2_neg(V(0x7FF0000000000001u, 0)), 0xFFF0000000000001u, 0x8000000000000000u));
    CHECK(EQ(wr_f64x2_abs(V(0xFFF0000000000001u, 0x8000000000000000u)), 0x7FF0000000000001u, 0));

    /* Comparisons: NaN is unordered (ne true, the others false). */
    CHECK(EQ(wr_f32x4_eq(a, a), 0xFFFFFFFF00000000u, 0xFFFFFFFFu));
    CHECK(EQ(wr_f32x4_ne(a, a), 0xFFFFFFFFu, 0xFFFFFFFF00000000u));
    CHECK(EQ(wr_f32x4_le(a, b), 0xFFFFFFFF00000000u, 0));
    CHECK(EQ(wr_f64x2_lt(F64(-0.0, 1.0), F64(0.0, 2.0)), 0, (uint64_t)-1));
    CHECK(EQ(wr_f64x2_ge(F64(-0.0, 1.0), F64(0.0, 2.0)), (uint64_t)-1, 0));

    /* Rounding: nearest is half to even, signs of zero kept. */
    wr_v128 n = wr_f32x4_nearest(F32(2.5f, -0.5f, 3.5f, -2.5f));
    CHECK(EQ(n, (uint64_t)0x80000000u << 32 | wr_f32_bits(2.0f),
             (uint64_t)wr_f32_bits(-2.0f) << 32 | wr_f32_bits(4.0f)));
    CHECK(EQ(wr_f64x2_nearest(F64(0.49999999999999994, -1.5)), 0, wr_f64_bits(-2.0)));
    CHECK(EQ(wr_f32x4_ceil(F32(-0.5f, 1.1f, 0, 0)), (uint64_t)wr_f32_bits(2.0f) << 32 | 0x80000000u, 0));
    CHECK(EQ(wr_f64x2_floor(F64(-0.5, 1.9)), wr_f64_bits(-1.0), wr_f64_bits(1.0)));
    CHECK(EQ(wr_f64x2_trunc(F64(-0.5, 1.9)), 0x8000000000000000u, wr_f64_bits(1.0)));
    wr_v128 qn = wr_f32x4_trunc(I32(snan, 0, 0, 0));
    CHECK(lane32(qn, 0) == qnan);
}

static void test_conversions(void)
{
    wr_v128 t = wr_i32x4_trunc_sat_f32x4_s(F32(wr_f32_from_bits(0x7FC00000u), 3e9f, -3e9f, -1.9f));
    CHECK(EQ(t, 0x7FFFFFFF00000000u, 0xFFFFFFFF80000000u));
    t = wr_i32x4_trunc_sat_f32x4_u(F32(-1.9f, 4294967296.0f, 4294967040.0f, -0.0f));
    CHECK(EQ(t, 0xFFFFFFFF00000000u, 0xFFFFFF00u));
    t = wr_i32x4_trunc_sat_f64x2_s_zero(F64(-2147483648.9, 2147483647.9));
    CHECK(EQ(t, 0x7FFFFFFF80000000u, 0));
    t = wr_i32x4_trunc_sat_f64x2_u_zero(F64(4294967295.9, wr_f64_from_bits(0xFFF8000000000000u)));
    CHECK(EQ(t, 0xFFFFFFFFu, 0));

    wr_v128 c = wr_f32x4_convert_i32x4_u(I32(0xFFFFFFFFu, 0x80000001u, 16777217, 0));
    CHECK(lane32(c, 0) == wr_f32_bits(4294967296.0f) && lane32(c, 1) == wr_f32_bits(2147483648.0f));
    CHECK(lane32(c, 2) == wr_f32_bits(16777216.0f) && lane32(c, 3) == 0);
    /* Ties to even at the top of the range: no double rounding. */
    c = wr_f32x4_convert_i32x4_u(I32(0xFFFFFF80u, 0xFFFFFF7Fu, 0xFFFFFE80u, 0x7FFFFFC0u));
    CHECK(lane32(c, 0) == wr_f32_bits(4294967296.0f) && lane32(c, 1) == wr_f32_bits(4294967040.0f));
    CHECK(lane32(c, 2) == wr_f32_bits(4294966784.0f) && lane32(c, 3) == wr_f32_bits(2147483648.0f));
    c = wr_f32x4_convert_i32x4_s(I32(0xFFFFFFFFu, 0x80000000u, 16777219, 0x7FFFFFFF));
    CHECK(lane32(c, 0) == wr_f32_bits(-1.0f) && lane32(c, 1) == wr_f32_bits(-2147483648.0f));
    CHECK(lane32(c, 2) == wr_f32_bits(16777220.0f) && lane32(c, 3) == wr_f32_bits(2147483648.0f));
    CHECK(EQ(wr_f64x2_convert_low_i32x4_s(I32(0x80000000u, 0xFFFFFFFFu, 9, 9)), wr_f64_bits(-2147483648.0),
             wr_f64_bits(-1.0)));
    CHECK(EQ(wr_f64x2_convert_low_i32x4_u(I32(0x80000000u, 0xFFFFFFFFu, 9, 9)), wr_f64_bits(2147483648.0),
             wr_f64_bits(4294967295.0)));

    /* demote: the canonical NaN stays canonical; overflow rounds to inf;
     * the upper lanes are zero. promote: exact, low lanes only. */
    wr_v128 d = wr_f32x4_demote_f64x2_zero(V(0x7FF8000000000000u, wr_f64_bits(1e300)));
    CHECK(EQ(d, 0x7F8000007FC00000u, 0));
    d = wr_f32x4_demote_f64x2_zero(F64(0x1.000001p0, -0x1.0000018p0)); /* tie to even, above tie */
    CHECK(EQ(d, (uint64_t)wr_f32_bits(-0x1.000002p0f) << 32 | wr_f32_bits(1.0f), 0));
    wr_v128 p = wr_f64x2_promote_low_f32x4(I32(wr_f32_bits(0.1f), 0x7FC00000u, 1, 2));
    CHECK(p.lo == wr_f64_bits((double)0.1f) && p.hi == 0x7FF8000000000000u);
}

/* ---- randomized: the vector formulations against lane-by-lane models ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    /* xorshift64*; biased toward lane extremes every few draws. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545F4914F6CDD1Du;
    switch (r & 7) {
    case 0:
        return r | 0x8080808080808080u;
    case 1:
        return r & 0x7F7F7F7F7F7F7F7Fu;
    case 2:
        return (r & 0x00FF00FF00FF00FFu) | 0x8000800080008000u;
    default:
        return r;
    }
}

static int16_t s16(wr_v128 v, int i)
{
    return (int16_t)lane16(v, i);
}

static int8_t s8(wr_v128 v, int i)
{
    return (int8_t)lane8(v, i);
}

static int32_t sat(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static void test_random_models(void)
{
    for (int iter = 0; iter < 20000; iter++) {
        wr_v128 a = V(rnd(), rnd()), b = V(rnd(), rnd());
        uint32_t m8 = 0, m16 = 0, m32 = 0, m64 = 0;
        for (int i = 0; i < 16; i++)
            m8 |= (uint32_t)(lane8(a, i) >> 7) << i;
        for (int i = 0; i < 8; i++)
            m16 |= (uint32_t)(lane16(a, i) >> 15) << i;
        for (int i = 0; i < 4; i++)
            m32 |= (lane32(a, i) >> 31) << i;
        m64 = (uint32_t)(a.lo >> 63) | (uint32_t)(a.hi >> 63) << 1;
        CHECK(wr_i8x16_bitmask(a) == m8 && wr_i16x8_bitmask(a) == m16);
        CHECK(wr_i32x4_bitmask(a) == m32 && wr_i64x2_bitmask(a) == m64);

        uint32_t lane = (uint32_t)rnd(), x = (uint32_t)rnd();
        wr_v128 r8 = wr_i8x16_replace_lane(a, lane & 15, x), r16 = wr_i16x8_replace_lane(a, lane & 7, x);
        wr_v128 r32 = wr_i32x4_replace_lane(a, lane & 3, x);
        for (uint32_t i = 0; i < 16; i++)
            CHECK(lane8(r8, (int)i) == (i == (lane & 15) ? (uint8_t)x : lane8(a, (int)i)));
        for (uint32_t i = 0; i < 8; i++)
            CHECK(lane16(r16, (int)i) == (i == (lane & 7) ? (uint16_t)x : lane16(a, (int)i)));
        for (uint32_t i = 0; i < 4; i++)
            CHECK(lane32(r32, (int)i) == (i == (lane & 3) ? x : lane32(a, (int)i)));

        wr_v128 sw = wr_i8x16_swizzle(a, b),
                sh = wr_i8x16_shuffle(a, b, b.lo & 0x1F1F1F1F1F1F1F1Fu, b.hi & 0x1F1F1F1F1F1F1F1Fu);
        for (int i = 0; i < 16; i++) {
            uint8_t k = lane8(b, i);
            CHECK(lane8(sw, i) == (k < 16 ? lane8(a, k) : 0));
            CHECK(lane8(sh, i) == ((k & 31) < 16 ? lane8(a, k & 15) : lane8(b, k & 15)));
        }

        wr_v128 as8 = wr_i8x16_add_sat_s(a, b), ss8 = wr_i8x16_sub_sat_s(a, b);
        wr_v128 n8s = wr_i8x16_narrow_i16x8_s(a, b), n8u = wr_i8x16_narrow_i16x8_u(a, b);
        for (int i = 0; i < 16; i++) {
            CHECK(s8(as8, i) == sat(s8(a, i) + s8(b, i), -128, 127));
            CHECK(s8(ss8, i) == sat(s8(a, i) - s8(b, i), -128, 127));
            int16_t src = i < 8 ? s16(a, i) : s16(b, i - 8);
            CHECK(s8(n8s, i) == sat(src, -128, 127) && lane8(n8u, i) == sat(src, 0, 255));
        }
        wr_v128 as16 = wr_i16x8_add_sat_s(a, b), ss16 = wr_i16x8_sub_sat_s(a, b);
        wr_v128 q15 = wr_i16x8_q15mulr_sat_s(a, b), ep8s = wr_i16x8_extadd_pairwise_i8x16_s(a);
        wr_v128 ep8u = wr_i16x8_extadd_pairwise_i8x16_u(a);
        wr_v128 n16s = wr_i16x8_narrow_i32x4_s(a, b), n16u = wr_i16x8_narrow_i32x4_u(a, b);
        for (int i = 0; i < 8; i++) {
            CHECK(s16(as16, i) == sat(s16(a, i) + s16(b, i), -32768, 32767));
            CHECK(s16(ss16, i) == sat(s16(a, i) - s16(b, i), -32768, 32767));
            int32_t p = (int32_t)s16(a, i) * s16(b, i);
            CHECK(s16(q15, i) ==
                  sat((int32_t)((p + 0x4000) / 32768 - ((p + 0x4000) % 32768 < 0)), -32768, 32767));
            CHECK(s16(ep8s, i) == s8(a, 2 * i) + s8(a, 2 * i + 1));
            CHECK(lane16(ep8u, i) == lane8(a, 2 * i) + lane8(a, 2 * i + 1));
            int32_t src = (int32_t)(i < 4 ? lane32(a, i) : lane32(b, i - 4));
            CHECK(s16(n16s, i) == sat(src, -32768, 32767) && lane16(n16u, i) == sat(src, 0, 65535));
        }
        wr_v128 dot = wr_i32x4_dot_i16x8_s(a, b), ep16s = wr_i32x4_extadd_pairwise_i16x8_s(a);
        wr_v128 ep16u = wr_i32x4_extadd_pairwise_i16x8_u(a);
        for (int i = 0; i < 4; i++) {
            int64_t d =
                (int64_t)s16(a, 2 * i) * s16(b, 2 * i) + (int64_t)s16(a, 2 * i + 1) * s16(b, 2 * i + 1);
            CHECK(lane32(dot, i) == (uint32_t)(uint64_t)d);
            CHECK((int32_t)lane32(ep16s, i) == s16(a, 2 * i) + s16(a, 2 * i + 1));
            CHECK(lane32(ep16u, i) == (uint32_t)lane16(a, 2 * i) + lane16(a, 2 * i + 1));
        }
    }
}

int main(void)
{
    test_lanes();
    test_memory();
    test_int_arith();
    test_shifts();
    test_compare_and_masks();
    test_narrow_widen();
    test_float();
    test_conversions();
    test_random_models();
    return check_result("test_simd");
}
