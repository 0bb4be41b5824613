/* test_nan.c: unit tests for NaN canonicalization (wr_numeric.h, wr_simd.h):
 * every float operation whose NaN result the spec leaves open returns
 * exactly the canonical NaN (f32 0x7FC00000, f64 0x7FF8000000000000) for
 * every NaN it produces, whatever the operands' signs and payloads, in
 * scalar and SIMD form; bit operations (neg, abs, copysign, reinterpret,
 * loads and stores, pmin/pmax, lane moves) keep NaN bits exactly; non-NaN
 * results are the plain IEEE results.
 * Build: gcc -std=gnu11 -Wall -Wextra -Werror -I src/wasmroutines/_native
 *        tests/c/test_nan.c -lm   (also with -fsanitize=undefined). */
#include <stdio.h>

#include "check.h"
#include "wr_simd.h"

/* CHECK with the operands printed, for the table-driven loops. */
#define CHECK_BITS32(got, want, what, x, y)                                                                  \
    do {                                                                                                     \
        uint32_t g_ = (got), w_ = (want);                                                                    \
        if (g_ != w_) {                                                                                      \
            fprintf(stderr, "%s:%d: %s(0x%08x, 0x%08x) = 0x%08x, want 0x%08x\n", __FILE__, __LINE__, what,   \
                    (unsigned)(x), (unsigned)(y), (unsigned)g_, (unsigned)w_);                               \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

#define CHECK_BITS64(got, want, what, x, y)                                                                  \
    do {                                                                                                     \
        uint64_t g_ = (got), w_ = (want);                                                                    \
        if (g_ != w_) {                                                                                      \
            fprintf(stderr, "%s:%d: %s(0x%016llx, 0x%016llx) = 0x%016llx, want 0x%016llx\n", __FILE__,       \
                    __LINE__, what, (unsigned long long)(x), (unsigned long long)(y),                        \
                    (unsigned long long)g_, (unsigned long long)w_);                                         \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

#define CANON32 0x7FC00000u
#define CANON64 0x7FF8000000000000u

/* Through volatile, so the compiler cannot constant-fold: GCC folds
 * operations on NaNs at compile time with its own propagation rules, and the
 * point here is what the generated code does at run time. */
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

static wr_v128 V(uint64_t lo, uint64_t hi)
{
    volatile uint64_t l = lo, h = hi;
    return wr_v128_make(l, h);
}

static wr_v128 I32(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    return V(a | (uint64_t)b << 32, c | (uint64_t)d << 32);
}

static uint32_t lane32(wr_v128 v, int i)
{
    return (uint32_t)((i < 2 ? v.lo : v.hi) >> (32 * (i & 1)));
}

static int is_nan32(uint32_t b)
{
    return (b & 0x7F800000u) == 0x7F800000u && (b & 0x7FFFFFu);
}

static int is_nan64(uint64_t b)
{
    return (b & 0x7FF0000000000000u) == 0x7FF0000000000000u && (b & 0xFFFFFFFFFFFFFu);
}

/* NaNs of every kind: quiet and signalling, both signs, with and without a
 * payload (x86 keeps an operand's payload and sign, ARM with default-NaN
 * mode off does too, each with its own choice between two NaN operands),
 * and ordinary values, infinities and zeros that make NaNs together. */
static const uint32_t vals32[] = {
    0x7FC00000u, 0xFFC00000u, 0x7FA00001u, 0xFFA00001u, 0x7FC12345u, 0xFFFFFFFFu,
    0x7F800001u, 0x7F800000u, 0xFF800000u, 0x00000000u, 0x80000000u, 0x3F800000u,
    0xBF800000u, 0x40490FDBu, 0x00000001u, 0x7F7FFFFFu, 0xC0000000u, 0x3FC00000u,
};

static const uint64_t vals64[] = {
    0x7FF8000000000000u, 0xFFF8000000000000u, 0x7FF4000000000001u, 0xFFF4000000000001u, 0x7FF80000DEADBEEFu,
    0xFFFFFFFFFFFFFFFFu, 0x7FF0000000000001u, 0x7FF0000000000000u, 0xFFF0000000000000u, 0x0000000000000000u,
    0x8000000000000000u, 0x3FF0000000000000u, 0xBFF0000000000000u, 0x400921FB54442D18u, 0x0000000000000001u,
    0x7FEFFFFFFFFFFFFFu, 0xC000000000000000u, 0x3FF8000000000000u,
};

#define N32 (sizeof vals32 / sizeof vals32[0])
#define N64 (sizeof vals64 / sizeof vals64[0])

/* What the operation must return: the canonical NaN where IEEE gives a NaN
 * (any NaN), else IEEE's result bit for bit. `ieee` is computed by plain C
 * on the same operands, so only the NaN case is rewritten. */
static uint32_t want32(float ieee)
{
    uint32_t b = wr_f32_bits(ieee);
    return is_nan32(b) ? CANON32 : b;
}

static uint64_t want64(double ieee)
{
    uint64_t b = wr_f64_bits(ieee);
    return is_nan64(b) ? CANON64 : b;
}

static void test_scalar_arith(void)
{
    for (size_t i = 0; i < N32; i++) {
        for (size_t j = 0; j < N32; j++) {
            uint32_t x = vals32[i], y = vals32[j];
            float a = F32(x), b = F32(y);
            CHECK_BITS32(wr_f32_bits(wr_f32_add(a, b)), want32(a + b), "f32.add", x, y);
            CHECK_BITS32(wr_f32_bits(wr_f32_sub(a, b)), want32(a - b), "f32.sub", x, y);
            CHECK_BITS32(wr_f32_bits(wr_f32_mul(a, b)), want32(a * b), "f32.mul", x, y);
            CHECK_BITS32(wr_f32_bits(wr_f32_div(a, b)), want32(a / b), "f32.div", x, y);
            if (is_nan32(x) || is_nan32(y)) {
                CHECK_BITS32(wr_f32_bits(wr_f32_min(a, b)), CANON32, "f32.min", x, y);
                CHECK_BITS32(wr_f32_bits(wr_f32_max(a, b)), CANON32, "f32.max", x, y);
            } else {
                CHECK(!is_nan32(wr_f32_bits(wr_f32_min(a, b))) && !is_nan32(wr_f32_bits(wr_f32_max(a, b))));
            }
        }
    }
    for (size_t i = 0; i < N64; i++) {
        for (size_t j = 0; j < N64; j++) {
            uint64_t x = vals64[i], y = vals64[j];
            double a = F64(x), b = F64(y);
            CHECK_BITS64(wr_f64_bits(wr_f64_add(a, b)), want64(a + b), "f64.add", x, y);
            CHECK_BITS64(wr_f64_bits(wr_f64_sub(a, b)), want64(a - b), "f64.sub", x, y);
            CHECK_BITS64(wr_f64_bits(wr_f64_mul(a, b)), want64(a * b), "f64.mul", x, y);
            CHECK_BITS64(wr_f64_bits(wr_f64_div(a, b)), want64(a / b), "f64.div", x, y);
            if (is_nan64(x) || is_nan64(y)) {
                CHECK_BITS64(wr_f64_bits(wr_f64_min(a, b)), CANON64, "f64.min", x, y);
                CHECK_BITS64(wr_f64_bits(wr_f64_max(a, b)), CANON64, "f64.max", x, y);
            }
        }
    }
    /* The classic cases by name. */
    CHECK(wr_f32_bits(wr_f32_div(F32(0), F32(0))) == CANON32);
    CHECK(wr_f64_bits(wr_f64_div(F64(0), F64(0))) == CANON64);
    CHECK(wr_f32_bits(wr_f32_sub(F32(0x7F800000u), F32(0x7F800000u))) == CANON32);
    CHECK(wr_f64_bits(wr_f64_mul(F64(0x7FF0000000000000u), F64(0))) == CANON64);
    CHECK(wr_f32_bits(wr_f32_add(F32(0xFFC12345u), F32(0x3F800000u))) == CANON32);
    CHECK(wr_f64_bits(wr_f64_add(F64(0x3FF0000000000000u), F64(0xFFF80000DEADBEEFu))) == CANON64);
}

static void test_scalar_unary(void)
{
    for (size_t i = 0; i < N32; i++) {
        uint32_t x = vals32[i];
        float a = F32(x);
        int nan = is_nan32(x);
        CHECK_BITS32(wr_f32_bits(wr_f32_sqrt(a)), want32(sqrtf(a)), "f32.sqrt", x, 0);
        CHECK_BITS32(wr_f32_bits(wr_f32_ceil(a)), nan ? CANON32 : wr_f32_bits(ceilf(a)), "f32.ceil", x, 0);
        CHECK_BITS32(wr_f32_bits(wr_f32_floor(a)), nan ? CANON32 : wr_f32_bits(floorf(a)), "f32.floor", x, 0);
        CHECK_BITS32(wr_f32_bits(wr_f32_trunc(a)), nan ? CANON32 : wr_f32_bits(truncf(a)), "f32.trunc", x, 0);
        if (nan)
            CHECK_BITS32(wr_f32_bits(wr_f32_nearest(a)), CANON32, "f32.nearest", x, 0);
        CHECK_BITS64(wr_f64_bits(wr_f64_promote_f32(a)), nan ? CANON64 : wr_f64_bits((double)a),
                     "f64.promote_f32", x, 0);
        /* Bit operations keep every bit, NaN or not. */
        CHECK_BITS32(wr_f32_bits(wr_f32_neg(a)), x ^ 0x80000000u, "f32.neg", x, 0);
        CHECK_BITS32(wr_f32_bits(wr_f32_abs(a)), x & 0x7FFFFFFFu, "f32.abs", x, 0);
        CHECK_BITS32(wr_f32_bits(wr_f32_copysign(a, F32(0x80000000u))), x | 0x80000000u, "f32.copysign", x,
                     0);
        CHECK_BITS32(wr_f32_bits(wr_f32_copysign(a, F32(0x7FC00000u))), x & 0x7FFFFFFFu, "f32.copysign", x,
                     0);
        CHECK_BITS32(wr_f32_bits(wr_f32_from_bits(x)), x, "f32.reinterpret_i32", x, 0);
    }
    for (size_t i = 0; i < N64; i++) {
        uint64_t x = vals64[i];
        double a = F64(x);
        int nan = is_nan64(x);
        CHECK_BITS64(wr_f64_bits(wr_f64_sqrt(a)), want64(sqrt(a)), "f64.sqrt", x, 0);
        CHECK_BITS64(wr_f64_bits(wr_f64_ceil(a)), nan ? CANON64 : wr_f64_bits(ceil(a)), "f64.ceil", x, 0);
        CHECK_BITS64(wr_f64_bits(wr_f64_floor(a)), nan ? CANON64 : wr_f64_bits(floor(a)), "f64.floor", x, 0);
        CHECK_BITS64(wr_f64_bits(wr_f64_trunc(a)), nan ? CANON64 : wr_f64_bits(trunc(a)), "f64.trunc", x, 0);
        if (nan)
            CHECK_BITS64(wr_f64_bits(wr_f64_nearest(a)), CANON64, "f64.nearest", x, 0);
        CHECK_BITS32(wr_f32_bits(wr_f32_demote_f64(a)), nan ? CANON32 : wr_f32_bits((float)a),
                     "f32.demote_f64", (uint32_t)(x >> 32), (uint32_t)x);
        CHECK_BITS64(wr_f64_bits(wr_f64_neg(a)), x ^ 0x8000000000000000u, "f64.neg", x, 0);
        CHECK_BITS64(wr_f64_bits(wr_f64_abs(a)), x & 0x7FFFFFFFFFFFFFFFu, "f64.abs", x, 0);
        CHECK_BITS64(wr_f64_bits(wr_f64_copysign(a, F64(0x8000000000000000u))), x | 0x8000000000000000u,
                     "f64.copysign", x, 0);
        CHECK_BITS64(wr_f64_bits(wr_f64_from_bits(x)), x, "f64.reinterpret_i64", x, 0);
    }
    CHECK(wr_f32_bits(wr_f32_sqrt(F32(0xBF800000u))) == CANON32); /* sqrt(-1) */
    CHECK(wr_f64_bits(wr_f64_sqrt(F64(0xBFF0000000000000u))) == CANON64);
    CHECK(wr_f64_bits(wr_f64_sqrt(F64(0xFFF0000000000000u))) == CANON64); /* sqrt(-inf) */
    /* Infinities round to themselves, not to a NaN. */
    CHECK(wr_f32_bits(wr_f32_nearest(F32(0xFF800000u))) == 0xFF800000u);
    CHECK(wr_f64_bits(wr_f64_nearest(F64(0x7FF0000000000000u))) == 0x7FF0000000000000u);
}

/* Loads and stores move bits: a signalling NaN with a payload survives. */
static void test_memory_keeps_bits(void)
{
    uint8_t buf[8];
    wr_store_f32(buf, F32(0xFFA00001u));
    CHECK(wr_load_u32(buf) == 0xFFA00001u && wr_f32_bits(wr_load_f32(buf)) == 0xFFA00001u);
    wr_store_f64(buf, F64(0x7FF4000000000001u));
    CHECK(wr_load_u64(buf) == 0x7FF4000000000001u && wr_f64_bits(wr_load_f64(buf)) == 0x7FF4000000000001u);
}

static void test_simd(void)
{
    /* Every pair of table values, four lanes at a time, compared lane by lane
     * with the scalar operation (whose rule test_scalar_* checked). */
    for (size_t i = 0; i < N32; i++) {
        for (size_t j = 0; j + 3 < N32; j += 2) {
            uint32_t x = vals32[i];
            wr_v128 a = I32(x, vals32[(i + 1) % N32], x, vals32[(i + 5) % N32]);
            wr_v128 b = I32(vals32[j], vals32[j + 1], vals32[j + 2], vals32[j + 3]);
            wr_v128 add = wr_f32x4_add(a, b), sub = wr_f32x4_sub(a, b), mul = wr_f32x4_mul(a, b);
            wr_v128 dv = wr_f32x4_div(a, b), mn = wr_f32x4_min(a, b), mx = wr_f32x4_max(a, b);
            wr_v128 sq = wr_f32x4_sqrt(a), ce = wr_f32x4_ceil(a), fl = wr_f32x4_floor(a);
            wr_v128 tr = wr_f32x4_trunc(a), ne = wr_f32x4_nearest(a);
            wr_v128 pmin = wr_f32x4_pmin(a, b), pmax = wr_f32x4_pmax(a, b);
            for (int k = 0; k < 4; k++) {
                uint32_t p = lane32(a, k), q = lane32(b, k);
                float fp = F32(p), fq = F32(q);
                CHECK_BITS32(lane32(add, k), wr_f32_bits(wr_f32_add(fp, fq)), "f32x4.add", p, q);
                CHECK_BITS32(lane32(sub, k), wr_f32_bits(wr_f32_sub(fp, fq)), "f32x4.sub", p, q);
                CHECK_BITS32(lane32(mul, k), wr_f32_bits(wr_f32_mul(fp, fq)), "f32x4.mul", p, q);
                CHECK_BITS32(lane32(dv, k), wr_f32_bits(wr_f32_div(fp, fq)), "f32x4.div", p, q);
                CHECK_BITS32(lane32(mn, k), wr_f32_bits(wr_f32_min(fp, fq)), "f32x4.min", p, q);
                CHECK_BITS32(lane32(mx, k), wr_f32_bits(wr_f32_max(fp, fq)), "f32x4.max", p, q);
                CHECK_BITS32(lane32(sq, k), wr_f32_bits(wr_f32_sqrt(fp)), "f32x4.sqrt", p, 0);
                CHECK_BITS32(lane32(ce, k), wr_f32_bits(wr_f32_ceil(fp)), "f32x4.ceil", p, 0);
                CHECK_BITS32(lane32(fl, k), wr_f32_bits(wr_f32_floor(fp)), "f32x4.floor", p, 0);
                CHECK_BITS32(lane32(tr, k), wr_f32_bits(wr_f32_trunc(fp)), "f32x4.trunc", p, 0);
                CHECK_BITS32(lane32(ne, k), wr_f32_bits(wr_f32_nearest(fp)), "f32x4.nearest", p, 0);
                /* pmin/pmax are selects: one operand's bits, NaN or not. */
                CHECK_BITS32(lane32(pmin, k), fq < fp ? q : p, "f32x4.pmin", p, q);
                CHECK_BITS32(lane32(pmax, k), fp < fq ? q : p, "f32x4.pmax", p, q);
            }
        }
    }
    for (size_t i = 0; i < N64; i++) {
        for (size_t j = 0; j < N64; j++) {
            uint64_t x = vals64[i], y = vals64[j], x2 = vals64[(i + 3) % N64], y2 = vals64[(j + 7) % N64];
            wr_v128 a = V(x, x2), b = V(y, y2);
            wr_v128 r[] = {wr_f64x2_add(a, b), wr_f64x2_sub(a, b), wr_f64x2_mul(a, b), wr_f64x2_div(a, b),
                           wr_f64x2_min(a, b), wr_f64x2_max(a, b), wr_f64x2_sqrt(a),   wr_f64x2_ceil(a),
                           wr_f64x2_floor(a),  wr_f64x2_trunc(a),  wr_f64x2_nearest(a)};
            for (int k = 0; k < 2; k++) {
                uint64_t p = k ? x2 : x, q = k ? y2 : y;
                double fp = F64(p), fq = F64(q);
                uint64_t want[] = {
                    wr_f64_bits(wr_f64_add(fp, fq)), wr_f64_bits(wr_f64_sub(fp, fq)),
                    wr_f64_bits(wr_f64_mul(fp, fq)), wr_f64_bits(wr_f64_div(fp, fq)),
                    wr_f64_bits(wr_f64_min(fp, fq)), wr_f64_bits(wr_f64_max(fp, fq)),
                    wr_f64_bits(wr_f64_sqrt(fp)),    wr_f64_bits(wr_f64_ceil(fp)),
                    wr_f64_bits(wr_f64_floor(fp)),   wr_f64_bits(wr_f64_trunc(fp)),
                    wr_f64_bits(wr_f64_nearest(fp)),
                };
                for (size_t n = 0; n < sizeof want / sizeof want[0]; n++)
                    CHECK_BITS64(k ? r[n].hi : r[n].lo, want[n], "f64x2 op", p, q);
            }
            /* pmin/pmax keep bits. */
            wr_v128 pmin = wr_f64x2_pmin(a, b);
            CHECK_BITS64(pmin.lo, F64(y) < F64(x) ? y : x, "f64x2.pmin", x, y);
        }
    }
    /* f32x4.div with NaNs in every lane form, and its lanes exactly. */
    wr_v128 d =
        wr_f32x4_div(I32(0, 0x7F800000u, 0xFFC00000u, 0x3F800000u), I32(0, 0xFF800000u, 0x3F800000u, 0));
    CHECK(lane32(d, 0) == CANON32 && lane32(d, 1) == CANON32 && lane32(d, 2) == CANON32 &&
          lane32(d, 3) == 0x7F800000u);
    /* demote/promote: NaN lanes canonical, others converted, upper lanes 0. */
    wr_v128 dm = wr_f32x4_demote_f64x2_zero(V(0xFFF4000000000001u, 0x3FF8000000000000u));
    CHECK(dm.lo == ((uint64_t)0x3FC00000u << 32 | CANON32) && dm.hi == 0);
    dm = wr_f32x4_demote_f64x2_zero(V(0x3FF0000000000000u, 0x7FF80000DEADBEEFu));
    CHECK(dm.lo == ((uint64_t)CANON32 << 32 | 0x3F800000u) && dm.hi == 0);
    wr_v128 pr = wr_f64x2_promote_low_f32x4(I32(0xFFA00001u, 0x3F800000u, 0x7FC00000u, 0x7FC00000u));
    CHECK(pr.lo == CANON64 && pr.hi == 0x3FF0000000000000u);
    pr = wr_f64x2_promote_low_f32x4(I32(0xC0000000u, 0x7FC12345u, 0, 0));
    CHECK(pr.lo == 0xC000000000000000u && pr.hi == CANON64);
    /* Bit operations on lanes keep NaN bits. */
    wr_v128 nb = I32(0x7FA00001u, 0xFFC12345u, 0x7F800001u, 0xFFFFFFFFu);
    wr_v128 ng = wr_f32x4_neg(nb), ab = wr_f32x4_abs(nb);
    for (int k = 0; k < 4; k++) {
        CHECK(lane32(ng, k) == (lane32(nb, k) ^ 0x80000000u));
        CHECK(lane32(ab, k) == (lane32(nb, k) & 0x7FFFFFFFu));
        CHECK(wr_f32_bits(wr_f32x4_extract_lane(nb, (uint32_t)k)) == lane32(nb, k));
    }
    CHECK(lane32(wr_f32x4_splat(F32(0xFFA00001u)), 3) == 0xFFA00001u);
    wr_v128 rl = wr_f64x2_replace_lane(V(0, 0), 0, F64(0xFFF4000000000001u));
    CHECK(rl.lo == 0xFFF4000000000001u);
}

int main(void)
{
    test_scalar_arith();
    test_scalar_unary();
    test_memory_keeps_bits();
    test_simd();
    return check_result("test_nan");
}
