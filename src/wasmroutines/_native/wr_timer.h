/* wr_timer.h: the store's clock and the timeouts of its threads' waits.
 *
 * A store's clock is the host's (WR_CLOCK_HOST: the host keeps every
 * timeout, as a timer of its own), the monotonic clock (WR_CLOCK_MONOTONIC:
 * CLOCK_MONOTONIC, as Python's time.monotonic_ns) or virtual time
 * (WR_CLOCK_VIRTUAL: a number here that moves only when nothing can run,
 * jumping to the next deadline). With either of the last two, a wait with a
 * timeout (memory.atomic.wait, and a native call's wait in the reactor,
 * wr_io.h: poll_oneoff's clocks) is timed here: the thread waits in C like any
 * other waiter, the run loop (wr_exec.c) fires due timeouts at its decisions
 * and, when nothing can run, idles until the next one (virtual time jumps to
 * it), so timed waits switch in C too.
 *
 * Timeouts live in a binary heap ordered by (deadline, arrival), so equal
 * deadlines fire in the order they were set: a deterministic order.
 */
#ifndef WR_TIMER_H
#define WR_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "wr_runtime.h"

struct wr_thread;

enum { WR_CLOCK_HOST = 0, WR_CLOCK_MONOTONIC = 1, WR_CLOCK_VIRTUAL = 2 };

/* The store's time now, in ns (meaningless for WR_CLOCK_HOST). */
int64_t wr_clock_now(const wr_store *s);

/* Time out t's wait at `deadline` (the store's clock, ns). 0, or -1 when out of memory. */
int wr_timer_add(struct wr_thread *t, int64_t deadline);
/* t's wait ended otherwise: drop its timeout, if it has one. */
void wr_timer_remove(struct wr_thread *t);
/* The earliest deadline, or INT64_MAX when there is none. */
int64_t wr_timer_next(const wr_store *s);
/* End every wait whose deadline is at or before the store's time now (a
 * futex wait as timed out: result 2; a wait in the reactor as over: its
 * call runs again), onto the woken list, earliest first; how many. */
uint32_t wr_timer_fire(wr_store *s);

void wr_timer_free(wr_store *s);

#endif /* WR_TIMER_H */
