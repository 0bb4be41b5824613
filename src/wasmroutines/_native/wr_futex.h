/* wr_futex.h: the wait queues of memory.atomic.wait and notify.
 *
 * Queues are keyed by (memory, address): each shared memory owns a table of
 * buckets, each bucket a list of waiting threads in arrival order, so a
 * notify wakes the waiters of one address oldest first (FIFO).
 *
 * A wait that blocks completes as an instruction (pc moves past it) and
 * leaves the thread queued with a pointer to its result slot; whoever ends
 * the wait writes the result there: notify writes 0 ("ok"), the host's
 * timeout writes 2 ("timed-out"). Woken threads are appended to their
 * store's woken list, which the host's scheduler drains.
 */
#ifndef WR_FUTEX_H
#define WR_FUTEX_H

#include <stdint.h>

#include "wr_exec.h"
#include "wr_runtime.h"

typedef struct wr_futex_table wr_futex_table;

/* Queue `t` on (m, addr); its result will be written to *result. Returns 0,
 * or -1 when out of memory. */
int wr_futex_wait(wr_memory *m, uint64_t addr, wr_thread *t, uint64_t *result, int64_t timeout_ns);

/* Wake up to `count` waiters of (m, addr), oldest first; returns how many. */
uint32_t wr_futex_notify(wr_memory *m, uint64_t addr, uint32_t count);

/* Its timeout (wr_timer.h) ends t's wait with result 2: it stays resumable. */
void wr_futex_time_out(wr_thread *t);

/* The host ends t's wait with result 2 (timed out, or given up on): it runs
 * the thread itself. Returns 1 if it was waiting. */
int wr_futex_cancel(wr_thread *t);

/* Append `t`, whose wait (of any kind) just ended, to its store's woken list. */
void wr_futex_list_woken(wr_thread *t);

/* The oldest woken thread of the store, removed from the list, or NULL. */
wr_thread *wr_futex_take_woken(wr_store *s);

/* Take `t` out of every queue and list without waking it (thread free). */
void wr_futex_forget(wr_thread *t);

void wr_futex_table_free(wr_futex_table *f);

#endif /* WR_FUTEX_H */
