/* prime_pool.c: a worker pool over an atomic cursor. WORKERS threads take chunks of [0, CHUNKS * SIZE) one at a
 * time (fetch-and-add on a shared cursor) and count the primes in each by trial division; the main thread joins
 * them. CPU-bound: the only shared accesses are the cursor and the totals, once per chunk.
 * Usage: prime_pool [WORKERS [CHUNKS [SIZE]]] (defaults 6 64 4000). */
#include "wt.h"

#define MAX_WORKERS 64
#define STACK 4096

static uint32_t cursor, chunks, size, primes, chunks_done;
static uint32_t taken[MAX_WORKERS];
static wt_thread threads[MAX_WORKERS];

static int is_prime(uint32_t n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (uint32_t d = 3; d <= n / d; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

static void worker(wt_thread *t)
{
    uint32_t me = (uint32_t)(uintptr_t)t->arg;
    for (uint32_t chunk; (chunk = wt_add(&cursor, 1)) < chunks;) {
        uint32_t count = 0;
        for (uint32_t n = chunk * size; n < (chunk + 1) * size; n++)
            count += (uint32_t)is_prime(n);
        wt_add(&primes, count);
        wt_add(&chunks_done, 1);
        taken[me]++;
    }
}

WT_EXPORT("_start") void _start(void)
{
    uint32_t n = wt_arg(1, 6);
    chunks = wt_arg(2, 64);
    size = wt_arg(3, 4000);
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    wt_start_all(threads, n, worker, STACK);
    uint32_t by_workers = 0;
    for (uint32_t i = 0; i < n; i++) {
        wt_join(&threads[i]);
        by_workers += taken[i];
    }
    wt_puts("prime_pool: ");
    wt_putu(n);
    wt_puts(" workers, ");
    wt_putu(by_workers);
    wt_puts(" of ");
    wt_putu(chunks);
    wt_puts(" chunks of ");
    wt_putu(size);
    wt_puts(", ");
    wt_putu(wt_load(&primes));
    wt_puts(" primes below ");
    wt_putu((uint64_t)chunks * size);
    wt_puts("\n");
}
