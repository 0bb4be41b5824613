/* wr_io.h: the store's IO reactor: green threads parked on host descriptors.
 *
 * A native host function (wr_native.h) that finds a descriptor not ready
 * (EAGAIN) parks its thread here: the thread waits as a futex waiter does
 * (wr_exec returns WR_WAIT, the host sees it waiting, and it becomes
 * runnable through the store's woken list), and when it runs again it
 * repeats the call, which tries the operation again (Go's netpoller).
 *
 * Linux: one epoll set per store; each descriptor is registered once,
 * edge-triggered for reading and writing, the first time a thread parks on
 * it, and stays until the host says it is closed (wr_io_forget_fd). Edge
 * triggering is safe because a thread parks only after the operation itself
 * said EAGAIN: any readiness after that is a new edge. Elsewhere (and with
 * WR_IO_POLL) poll(2) watches the descriptors that have a waiter. At most one
 * reader and one writer per descriptor park here; another gets "busy" and
 * its call goes to the host's slower path. A thread may wait on several
 * descriptors at once and with a timeout on the store's clock (poll_oneoff);
 * the first to come wakes it and ends the rest; a sleep is a timeout alone.
 *
 * The run loop (wr_exec.c) polls without blocking at least once per pass
 * over the run queue, and blocks in the poll only when nothing can run and
 * the host allows it (wr_io_set_may_block); the host's own idle loop watches
 * the epoll descriptor (wr_io_fd) otherwise, or polls the core (poll(2)).
 */
#ifndef WR_IO_H
#define WR_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "wr_runtime.h"

struct wr_thread;

enum { WR_IO_READ = 1, WR_IO_WRITE = 2 };

/* Park `t` until descriptor `fd` may be read (WR_IO_READ) or written
 * (WR_IO_WRITE). 0: parked; -1: not here (no reactor on this host, out of
 * memory, the descriptor cannot be watched, or another thread waits on it
 * for the same direction): the caller takes the host's path. */
int wr_io_park(struct wr_thread *t, int fd, int direction);

/* Park `t` until any of the `n` descriptors is ready for its direction
 * (regs[i] = fd << 1 | 1 for writing, 0 for reading; repeats allowed) or
 * until `deadline` on the store's clock (wr_timer.h; INT64_MAX: none, and
 * a store whose clock is the host's takes none), whichever comes first. n
 * may be 0 (a sleep, which needs no reactor). 0 or -1 as wr_io_park; on -1
 * nothing is parked. */
int wr_io_park_any(struct wr_thread *t, const uint32_t *regs, uint32_t n, int64_t deadline);

/* End t's wait in the reactor as ready (its timeout too): it goes on the
 * woken list and its call runs again. wr_timer.c's timeouts come here. */
void wr_io_wake(struct wr_thread *t);

/* Move the threads whose descriptors are ready to the woken list; wait up to
 * timeout_ms for one (-1: until one; 0: not at all). Returns how many were
 * woken, or -1 when the wait was interrupted (a signal: the host must look). */
int wr_io_poll(wr_store *s, int timeout_ms);

/* Threads parked in the store's reactor on descriptors (a sleep is not counted: the timer heap has it). */
uint32_t wr_io_waiters(const wr_store *s);

/* The descriptor the host watches while idle (epoll's), or -1: none yet, or
 * none at all (poll(2): the host's idle loop polls the core, wr_io_poll). */
int wr_io_fd(const wr_store *s);

/* The host closes (or hands out anew) descriptor `fd`: its registration is
 * dropped and its waiters woken (their calls retry, and find out). */
void wr_io_forget_fd(wr_store *s, int fd);

/* End t's wait without waking it (thread freed or reused); true if it waited. */
bool wr_io_cancel(struct wr_thread *t);

/* May the run loop block in the poll when nothing can run? Only when the host
 * has no wake-ups of its own (the store's wall-time deadline bounds it). */
void wr_io_set_may_block(wr_store *s, bool may_block);

/* Which backend watches the descriptors: "epoll" or "poll". */
const char *wr_io_backend(void);

void wr_io_free(wr_store *s);

#endif /* WR_IO_H */
