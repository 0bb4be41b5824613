/* spawn_many.c: N threads alive at once. Each announces itself, waits on a shared futex until the
 * main thread has seen all N, then finishes; the last one wakes the main thread.
 * Usage: spawn_many [THREADS]. Each thread has a 1 KiB stack and a 32-byte record. */
#include "wt.h"

#define STACK 1024

static uint32_t started, finished, go, spawn_failures;

static void worker(wt_thread *t)
{
    (void)t;
    if (wt_add(&started, 1) + 1 == wt_load((uint32_t *)&t->arg))
        wt_wake(&started, 1);
    wt_wait_for(&go, 1);
    if (wt_add(&finished, 1) + 1 == wt_load((uint32_t *)&t->arg))
        wt_wake(&finished, 1);
}

WT_EXPORT("_start") void _start(void)
{
    uint32_t n = wt_arg(1, 1000);
    wt_thread *threads = wt_pages((n * (uint32_t)sizeof(wt_thread) + 65535) / 65536);
    char *stacks = wt_pages((n * STACK + 65535) / 65536);
    if (!threads || !stacks)
        wt_proc_exit(3);
    for (uint32_t i = 0; i < n; i++) {
        threads[i].fn = worker;
        threads[i].arg = (void *)(uintptr_t)n;
        if (wt_spawn(&threads[i], stacks + i * STACK, STACK) <= 0)
            wt_add(&spawn_failures, 1);
    }
    wt_wait_for(&started, n);
    uint32_t live = wt_load(&started) - wt_load(&finished);
    wt_store(&go, 1);
    wt_wake(&go, (uint32_t)-1);
    wt_wait_for(&finished, n);
    uint32_t tids_ok = 1;
    for (uint32_t i = 0; i < n; i++) {
        wt_join(&threads[i]);
        tids_ok &= threads[i].self_tid == threads[i].tid && threads[i].tid > 0;
    }
    wt_puts("spawn_many: ");
    wt_putu(n);
    wt_puts(" threads, ");
    wt_putu(live);
    wt_puts(" alive at once, ");
    wt_putu(wt_load(&finished));
    wt_puts(" finished, ");
    wt_putu(spawn_failures);
    wt_puts(tids_ok ? " spawn failures, tids ok\n" : " spawn failures, TIDS WRONG\n");
}
