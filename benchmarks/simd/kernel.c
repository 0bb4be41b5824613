/* kernel.c: the SIMD benchmark's kernels, built twice by build.sh (scalar and
 * -msimd128; the compiler's auto-vectorizer writes the SIMD, the source is
 * the same). Freestanding: no libc, the buffers are static. */
#include <stdint.h>

#define N 16384 /* lanes per buffer: 32 KiB of i16, 16 KiB of u8 */

static int16_t xs[N], ys[N];
static uint8_t bytes[N];

#define EXPORT(name) __attribute__((export_name(name)))

/* Deterministic contents from a seed (an LCG), so every peer and build sees
 * the same data. */
EXPORT("fill") void fill(uint32_t seed)
{
    uint32_t s = seed;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        xs[i] = (int16_t)(s >> 16);
        s = s * 1664525u + 1013904223u;
        ys[i] = (int16_t)(s >> 16);
        bytes[i] = (uint8_t)(s >> 24);
    }
}

/* Dot product of the i16 buffers, `rounds` times (the sum wraps mod 2^32). */
EXPORT("dot") uint32_t dot(uint32_t rounds)
{
    uint32_t total = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        int32_t acc = 0;
        for (int i = 0; i < N; i++)
            acc += (int32_t)xs[i] * ys[i];
        total += (uint32_t)acc + r;
    }
    return total;
}

/* Byte checksum: the sum of the bytes and the sum of the bytes squared,
 * `rounds` times. */
EXPORT("checksum") uint32_t checksum(uint32_t rounds)
{
    uint32_t total = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t a = 0, b = 0;
        for (int i = 0; i < N; i++) {
            a += bytes[i];
            b += (uint32_t)bytes[i] * bytes[i];
        }
        total = total * 31u + (a ^ b) + r;
    }
    return total;
}
