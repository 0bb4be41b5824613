/* wr_wasi_fast.h: the fast path of WASI's socket and pipe calls, in C.
 *
 * sock_recv, sock_send, fd_read and fd_write on a socket or a pipe are
 * native host functions (wr_runtime.h): they try the operation straight
 * into linear memory and park the thread in the store's reactor (wr_io.h)
 * when it would block, so a thread-per-connection server's round trip never
 * enters Python. poll_oneoff on those descriptors and on clocks reports what
 * is ready or parks the thread on all of them at once, with its earliest
 * clock as the timeout (a sleep is a poll_oneoff on a clock alone).
 * sock_accept waits in C until a connection is there, then leaves the
 * accept itself to Python, which makes the new descriptor's entry. The
 * Python WASI layer (bindings/wasi) stays the definition: it decides which
 * guest descriptors are fast (a socket or a pipe, in an environment whose
 * waits go to the scheduler and whose host view is the real one) and
 * mirrors them here when its own call first sees them, and it drops the
 * mirror on anything that changes a descriptor (close, renumber, flags,
 * rights). A descriptor not mirrored, an unusual argument (recv flags, many
 * iovecs, an absolute realtime clock) or a wait that cannot park here goes
 * to the Python call, which does what it always did. Error numbers come
 * from the Python layer's own table (errno.py).
 */
#ifndef WR_WASI_FAST_H
#define WR_WASI_FAST_H

#include <stdint.h>

#include "wr_runtime.h"

typedef struct wr_wasi_fast wr_wasi_fast;

/* What a mirrored guest descriptor is and allows: its rights (read, write, accept, poll), its fdflags'
 * NONBLOCK, and whether it is one of our non-blocking sockets (else a blocking pipe or terminal shared with
 * the host: polled before each read or write, and a write of more than PIPE_BUF bytes, which could block the
 * process, goes to the Python call, which writes it in chunks). */
enum {
    WR_FAST_READ = 1,
    WR_FAST_WRITE = 2,
    WR_FAST_NONBLOCK = 4,
    WR_FAST_ACCEPT = 8,
    WR_FAST_SOCKET = 16,
    WR_FAST_POLL = 32,
};

/* One WASI environment's fast path in store `s` (freed with it). `errno_map`:
 * the WASI errno of each host errno below `n` (anything else: EIO). NULL when
 * out of memory. */
wr_wasi_fast *wr_wasi_fast_new(wr_store *s, const uint8_t *errno_map, uint32_t n);
void wr_wasi_fast_set_memory(wr_wasi_fast *w, wr_memory *m);
/* Mirror guest descriptor `fd` (host descriptor `host_fd`, WR_FAST_* flags);
 * 0, or -1 when out of memory (it then stays on the Python path). */
int wr_wasi_fast_set_fd(wr_wasi_fast *w, uint32_t fd, int host_fd, uint32_t flags);
/* Drop guest descriptor `fd` (changed or closing), and its host descriptor from the reactor (wr_io_forget_fd). */
void wr_wasi_fast_clear_fd(wr_wasi_fast *w, uint32_t fd);
/* Make `f` (the host function of WASI call `name`) native; 0, or -1 when
 * the call has no fast path. */
int wr_wasi_fast_attach(wr_wasi_fast *w, wr_func *f, const char *name);

/* Make `f` (WASI's sched_yield, in an environment whose yields go to the store's scheduler) native: the
 * calling thread's slice ends after the call, with no host call (wr_runtime.h, WR_NATIVE_YIELD). */
void wr_wasi_native_sched_yield(wr_func *f);

void wr_wasi_fast_free_all(wr_store *s);

#endif /* WR_WASI_FAST_H */
