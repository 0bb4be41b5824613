/* spin.c: THREADS threads each spin a counter of its own (a plain, non-atomic increment in shared memory) for
 * STEPS / THREADS steps; the main thread joins them and prints the sum. Nothing but the loop back-edge and one
 * load and one store of shared memory per step: every scheduling point in the loop is a slice end.
 * Usage: spin [THREADS [STEPS]] (defaults 4 20000000). */
#include "wt.h"

#define MAX_THREADS 64
#define STACK 4096

static uint32_t steps_each;
static volatile uint32_t counters[MAX_THREADS * 16]; /* one 64-byte line each */
static wt_thread threads[MAX_THREADS];

static void worker(wt_thread *t)
{
    volatile uint32_t *counter = &counters[(uint32_t)(uintptr_t)t->arg * 16];
#pragma clang loop unroll(disable) /* one back-edge per step */
    for (uint32_t i = 0; i < steps_each; i++)
        *counter += 1;
}

WT_EXPORT("_start") void _start(void)
{
    uint32_t n = wt_arg(1, 4);
    uint32_t steps = wt_arg(2, 20000000);
    if (n == 0 || n > MAX_THREADS)
        n = MAX_THREADS;
    steps_each = steps / n;
    wt_start_all(threads, n, worker, STACK);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        wt_join(&threads[i]);
        sum += counters[i * 16];
    }
    wt_puts("spin: ");
    wt_putu(n);
    wt_puts(" threads x ");
    wt_putu(steps_each);
    wt_puts(" steps, counters sum ");
    wt_putu(sum);
    wt_puts("\n");
}
