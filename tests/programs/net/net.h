/* net.h: what the thread-per-connection servers share, on top of tests/programs/c/wt.h: the WASI socket calls, the
 * listening socket a runtime preopens (`wasmroutines run --tcplisten HOST:PORT`, wasmtime's --tcplisten), and the
 * main thread's accept loop, which spawns one wasi-threads thread per connection on a stack of NET_STACK bytes.
 *
 * A server is an ordinary threaded program: every call blocks (the fds are not NONBLOCK), one thread per
 * connection, nothing asynchronous in the guest. Whatever makes it cheap or not is the runtime's. */
#ifndef NET_H
#define NET_H

#include "wt.h"

/* Each connection's thread gets a stack of this many bytes in linear memory (it holds the thread's buffer of
 * NET_BUFFER bytes and a few small frames), and a record of sizeof(net_conn) bytes beside it. */
#define NET_STACK      16384
#define NET_BUFFER     4096
#define NET_TEXT_(x)   #x
#define NET_TEXT(x)    NET_TEXT_(x)
#define NET_STACK_TEXT NET_TEXT(NET_STACK)

/* wasi_snapshot_preview1 errno values the servers look at */
#define NET_EAGAIN                 6
#define NET_EINTR                  27
#define NET_EMFILE                 33
#define NET_ENFILE                 41
#define NET_ENOBUFS                42
#define NET_ENOMEM                 48
#define NET_FILETYPE_SOCKET_STREAM 6

typedef struct {
    void *buf;
    uint32_t len;
} net_iovec;

WT_IMPORT("wasi_snapshot_preview1", "sock_accept")
int32_t net_sock_accept(int32_t fd, int32_t flags, int32_t *conn);
WT_IMPORT("wasi_snapshot_preview1", "sock_recv")
int32_t net_sock_recv(int32_t fd, const net_iovec *iovs, int32_t n, int32_t flags, uint32_t *got,
                      uint16_t *oflags);
WT_IMPORT("wasi_snapshot_preview1", "sock_send")
int32_t net_sock_send(int32_t fd, const net_iovec *iovs, int32_t n, int32_t flags, uint32_t *sent);
WT_IMPORT("wasi_snapshot_preview1", "fd_close") int32_t net_fd_close(int32_t fd);
WT_IMPORT("wasi_snapshot_preview1", "fd_fdstat_get") int32_t net_fd_fdstat_get(int32_t fd, void *stat);
WT_IMPORT("wasi_snapshot_preview1", "poll_oneoff")
int32_t net_poll_oneoff(const void *subscriptions, void *events, int32_t n, uint32_t *count);

/* One connection: its thread (first, so the thread's record is the connection's), its fd, and the free list link. */
typedef struct net_conn {
    wt_thread thread;
    int32_t fd;
    struct net_conn *next;
    char *stack;
} net_conn;

/* recv up to `len` bytes (retrying EINTR): the count, 0 at end of stream, -1 on an error. */
int32_t net_recv(int32_t fd, void *buf, uint32_t len);
/* send all `len` bytes, however many calls it takes (partial sends, EINTR, EAGAIN): 1, or 0 on an error. */
int net_send_all(int32_t fd, const void *buf, uint32_t len);
/* Sleep `ms` milliseconds (poll_oneoff on the monotonic clock). */
void net_sleep_ms(uint32_t ms);

/* The listening socket: argument 1 when given (a number), else the first fd from 3 up that fdstat calls a stream
 * socket (the preopened --tcplisten one: nothing else is open when _start begins). Exits with status 2 if none. */
int32_t net_listener(void);

/* Accept connections forever on `listener` (blocking sock_accept), each served by `serve(conn)` on a thread of its
 * own with a NET_STACK-byte stack. `serve` must close conn->fd; when it returns, the thread ends and its stack and
 * record are reused for a later connection. Errors that are the host's state (EMFILE, ENFILE, ENOBUFS, ENOMEM from
 * accept; a failed thread-spawn, which closes the connection) are counted, reported once on stderr, and waited out
 * (10 ms); any other accept error ends the program with status 1. Prints `banner` (its ready line) first. */
_Noreturn void net_serve_forever(int32_t listener, void (*serve)(net_conn *), const char *banner);

#endif
