/* futex_mutex.c: a futex mutex (wait32/notify) guarding a plain counter, beside an atomic counter.
 * Usage: futex_mutex [THREADS [ITERATIONS]]. */
#include "wt.h"

#define MAX_THREADS 64
#define STACK 4096

static wt_mutex lock;
static uint32_t plain;   /* only touched under `lock` */
static uint32_t inside;  /* threads inside the lock right now: must never exceed 1 */
static uint32_t crowded; /* times someone found company inside */
static uint32_t counter; /* atomic */
static uint32_t iterations;
static wt_thread threads[MAX_THREADS];

static void worker(wt_thread *t)
{
    (void)t;
    for (uint32_t i = 0; i < iterations; i++) {
        wt_lock(&lock);
        if (wt_add(&inside, 1) != 0)
            crowded++;
        uint32_t seen = plain;
        if (i % 8 == 0)
            wt_sched_yield(); /* invite the others in: the lock must keep them out */
        plain = seen + 1;
        wt_add(&inside, (uint32_t)-1);
        wt_unlock(&lock);
        wt_add(&counter, 1);
    }
}

WT_EXPORT("_start") void _start(void)
{
    uint32_t n = wt_arg(1, 8);
    iterations = wt_arg(2, 500);
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    char *stacks = wt_pages((n * STACK + 65535) / 65536);
    if (!stacks)
        wt_proc_exit(3);
    for (uint32_t i = 0; i < n; i++) {
        threads[i].fn = worker;
        if (wt_spawn(&threads[i], stacks + i * STACK, STACK) <= 0)
            wt_proc_exit(4);
    }
    uint32_t tids_ok = 1;
    for (uint32_t i = 0; i < n; i++) {
        wt_join(&threads[i]);
        tids_ok &= threads[i].self_tid == threads[i].tid;
    }
    wt_puts("futex_mutex: ");
    wt_putu(n);
    wt_puts(" threads x ");
    wt_putu(iterations);
    wt_puts(": locked ");
    wt_putu(plain);
    wt_puts(", atomic ");
    wt_putu(wt_load(&counter));
    wt_puts(", crowded ");
    wt_putu(crowded);
    wt_puts(tids_ok ? ", tids ok\n" : ", TIDS WRONG\n");
}
