/* barrier.c: a futex barrier (generation counter) keeping threads in lockstep through many phases.
 * Usage: barrier [THREADS [PHASES]]. In each phase every thread writes its slot, all meet at the
 * barrier, then each checks every slot holds this phase's value and meets the others again. */
#include "wt.h"

#define MAX_THREADS 32
#define STACK 4096

typedef struct {
    uint32_t arrived, generation, parties;
} barrier_t;

static barrier_t barrier;
static uint32_t slots[MAX_THREADS];
static uint32_t nthreads, phases;
static uint32_t mismatches; /* atomic */
static uint32_t checks;     /* atomic */
static wt_thread threads[MAX_THREADS];

static void barrier_wait(barrier_t *b)
{
    uint32_t gen = wt_load(&b->generation);
    if (wt_add(&b->arrived, 1) + 1 == b->parties) {
        wt_store(&b->arrived, 0);
        wt_add(&b->generation, 1);
        wt_wake(&b->generation, (uint32_t)-1);
        return;
    }
    while (wt_load(&b->generation) == gen)
        wt_wait(&b->generation, gen, -1);
}

static uint32_t value(uint32_t phase, uint32_t slot) { return phase * 1000 + slot; }

static void worker(wt_thread *t)
{
    uint32_t me = (uint32_t)(t - threads);
    for (uint32_t p = 0; p < phases; p++) {
        slots[me] = value(p, me);
        barrier_wait(&barrier);
        for (uint32_t i = 0; i < nthreads; i++)
            if (slots[i] != value(p, i))
                wt_add(&mismatches, 1);
        wt_add(&checks, 1);
        barrier_wait(&barrier);
    }
}

WT_EXPORT("_start") void _start(void)
{
    nthreads = wt_arg(1, 6);
    phases = wt_arg(2, 50);
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    barrier.parties = nthreads;
    char *stacks = wt_pages((nthreads * STACK + 65535) / 65536);
    if (!stacks)
        wt_proc_exit(3);
    for (uint32_t i = 0; i < nthreads; i++) {
        threads[i].fn = worker;
        if (wt_spawn(&threads[i], stacks + i * STACK, STACK) <= 0)
            wt_proc_exit(4);
    }
    for (uint32_t i = 0; i < nthreads; i++)
        wt_join(&threads[i]);
    wt_puts("barrier: ");
    wt_putu(nthreads);
    wt_puts(" threads, ");
    wt_putu(phases);
    wt_puts(" phases, ");
    wt_putu(wt_load(&checks));
    wt_puts(" checks, ");
    wt_putu(wt_load(&mismatches));
    wt_puts(" mismatches\n");
}
