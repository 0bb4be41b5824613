/* pingpong.c: two threads hand a turn back and forth ROUNDS times through wait32/notify on one word (each waits
 * until the turn is its own, passes it on and wakes the other); the main thread joins them.
 * Usage: pingpong [ROUNDS] (default 100000). */
#include "wt.h"

#define STACK 4096

static uint32_t turn, rounds, passes;
static wt_thread threads[2];

static void player(wt_thread *t)
{
    uint32_t me = (uint32_t)(uintptr_t)t->arg;
    for (uint32_t i = 0; i < rounds; i++) {
        wt_wait_for(&turn, me);
        wt_add(&passes, 1);
        wt_store(&turn, 1 - me);
        wt_wake(&turn, 1);
    }
}

WT_EXPORT("_start") void _start(void)
{
    rounds = wt_arg(1, 100000);
    char *stacks = wt_pages(1);
    if (!stacks)
        wt_proc_exit(3);
    for (uint32_t i = 0; i < 2; i++) {
        threads[i].fn = player;
        threads[i].arg = (void *)(uintptr_t)i;
        if (wt_spawn(&threads[i], stacks + i * STACK, STACK) <= 0)
            wt_proc_exit(4);
    }
    for (uint32_t i = 0; i < 2; i++)
        wt_join(&threads[i]);
    wt_puts("pingpong: ");
    wt_putu(rounds);
    wt_puts(" round trips, ");
    wt_putu(wt_load(&passes));
    wt_puts(" turns taken\n");
}
