/* sleepers.c: THREADS threads each sleep SLEEPS times for 1 us, as nanosleep does in wasi-libc (poll_oneoff on
 * one relative monotonic clock), checking every answer: one event, its userdata, type clock, no error.
 * Usage: sleepers [THREADS] [SLEEPS]. */
#include "wt.h"

#define STACK 4096

/* poll_oneoff's layouts (WASI preview1): a subscription is 48 bytes, an event 32. */
typedef struct {
    uint64_t userdata;
    uint8_t tag;
    uint8_t pad[7];
    uint32_t clock_id;
    uint32_t pad2;
    uint64_t timeout, precision;
    uint16_t flags;
    uint8_t pad3[6];
} subscription;

typedef struct {
    uint64_t userdata;
    uint16_t error;
    uint8_t type;
    uint8_t pad[5];
    uint64_t nbytes;
    uint16_t flags;
    uint8_t pad2[6];
} event;

_Static_assert(sizeof(subscription) == 48 && sizeof(event) == 32, "WASI preview1 layouts");

static uint32_t sleeps, slept, wrong;

/* Sleep `ns` on the monotonic clock; 1 when poll_oneoff answered as it must. */
static int sleep_ns(uint64_t ns, uint64_t userdata)
{
    subscription sub = {.userdata = userdata, .tag = 0, .clock_id = 1, .timeout = ns};
    event ev;
    int32_t n = 0;
    int32_t err = wt_poll_oneoff(&sub, &ev, 1, &n);
    return err == 0 && n == 1 && ev.userdata == userdata && ev.type == 0 && ev.error == 0;
}

static void worker(wt_thread *t)
{
    uint32_t id = (uint32_t)(uintptr_t)t->arg, ok = 0;
    for (uint32_t i = 0; i < sleeps; i++)
        ok += (uint32_t)sleep_ns(1000, (uint64_t)id << 32 | i);
    wt_add(&slept, ok);
    wt_add(&wrong, sleeps - ok);
}

WT_EXPORT("_start") void _start(void)
{
    uint32_t n = wt_arg(1, 8);
    sleeps = wt_arg(2, 100);
    wt_thread *threads = wt_pages((n * (uint32_t)sizeof(wt_thread) + 65535) / 65536);
    if (!threads)
        wt_proc_exit(3);
    wt_start_all(threads, n, worker, STACK);
    for (uint32_t i = 0; i < n; i++)
        wt_join(&threads[i]);
    wt_puts("sleepers: ");
    wt_putu(n);
    wt_puts(" threads x ");
    wt_putu(sleeps);
    wt_puts(" sleeps of 1 us: ");
    wt_putu(wt_load(&slept));
    wt_puts(" answered right, ");
    wt_putu(wt_load(&wrong));
    wt_puts(" wrong\n");
}
