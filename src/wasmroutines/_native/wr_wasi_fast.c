/* wr_wasi_fast.c: WASI socket and pipe calls in C (wr_wasi_fast.h). Every argument
 * is checked as the Python layer checks it (bindings/wasi/guest.py), in the
 * same order, with the same errno; what this file does not handle goes to
 * the Python call untouched. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "wr_exec.h"
#include "wr_io.h"
#include "wr_timer.h"
#include "wr_wasi_fast.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* Python ignores SIGPIPE anyway */
#endif

/* Preview1 errno values (bindings/wasi/errno.py). */
enum { WASI_AGAIN = 6, WASI_FAULT = 21, WASI_IO = 29 };

/* Iovecs a fast call takes (more go to Python). */
#define FAST_IOVS 64

typedef struct fast_fd {
    int host_fd; /* -1: not mirrored */
    uint32_t flags;
} fast_fd;

struct wr_wasi_fast {
    struct wr_wasi_fast *next; /* the store's list */
    wr_store *store;
    wr_memory *mem;
    fast_fd *fds; /* by guest descriptor */
    uint32_t nfds;
    uint8_t errno_map[256];
};

wr_wasi_fast *wr_wasi_fast_new(wr_store *s, const uint8_t *errno_map, uint32_t n)
{
    wr_wasi_fast *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    for (uint32_t i = 0; i < 256; i++)
        w->errno_map[i] = i < n ? errno_map[i] : WASI_IO;
    w->store = s;
    w->next = s->wasi_fast;
    s->wasi_fast = w;
    return w;
}

void wr_wasi_fast_set_memory(wr_wasi_fast *w, wr_memory *m) { w->mem = m; }

int wr_wasi_fast_set_fd(wr_wasi_fast *w, uint32_t fd, int host_fd, uint32_t flags)
{
    if (fd >= (1u << 20))
        return -1;
    if (fd >= w->nfds) {
        uint32_t n = w->nfds ? w->nfds : 64;
        while (n <= fd)
            n *= 2;
        fast_fd *f = realloc(w->fds, n * sizeof *f);
        if (!f)
            return -1;
        for (uint32_t i = w->nfds; i < n; i++)
            f[i] = (fast_fd){-1, 0};
        w->fds = f;
        w->nfds = n;
    }
    w->fds[fd] = (fast_fd){host_fd, flags};
    return 0;
}

void wr_wasi_fast_clear_fd(wr_wasi_fast *w, uint32_t fd)
{
    if (fd >= w->nfds || w->fds[fd].host_fd < 0)
        return;
    /* The host descriptor may close next: the reactor must not keep it (its number comes back). */
    wr_io_forget_fd(w->store, w->fds[fd].host_fd);
    w->fds[fd].host_fd = -1;
}

void wr_wasi_fast_free_all(wr_store *s)
{
    wr_wasi_fast *w = s->wasi_fast;
    while (w) {
        wr_wasi_fast *next = w->next;
        free(w->fds);
        free(w);
        w = next;
    }
    s->wasi_fast = NULL;
}

/* The mirrored descriptor with all of `need`, or NULL (the Python call decides). */
static const fast_fd *fd_of(const wr_wasi_fast *w, uint64_t slot, uint32_t need)
{
    uint32_t fd = (uint32_t)slot;
    if (w->mem == NULL || fd >= w->nfds || w->fds[fd].host_fd < 0 || (w->fds[fd].flags & need) != need)
        return NULL;
    return &w->fds[fd];
}

/* The guest's iovec array at `ptr` as host iovecs into linear memory; how many (<= FAST_IOVS), -1 when one
 * is out of bounds (EFAULT), -2 when there are too many for here. Total bytes in *total. */
static int gather(const wr_memory *m, uint32_t ptr, uint32_t count, struct iovec *out, uint64_t *total)
{
    if ((uint64_t)ptr + (uint64_t)count * 8 > m->size)
        return -1;
    if (count > FAST_IOVS)
        return -2;
    *total = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t buf, len;
        memcpy(&buf, m->base + ptr + 8 * (uint64_t)i, 4);
        memcpy(&len, m->base + ptr + 8 * (uint64_t)i + 4, 4);
        if ((uint64_t)buf + len > m->size)
            return -1;
        out[i].iov_base = m->base + buf;
        out[i].iov_len = len;
        *total += len;
    }
    return (int)count;
}

static bool put_u32(const wr_memory *m, uint32_t ptr, uint32_t v)
{
    if ((uint64_t)ptr + 4 > m->size)
        return false;
    memcpy(m->base + ptr, &v, 4);
    return true;
}

static bool put_u16(const wr_memory *m, uint32_t ptr, uint16_t v)
{
    if ((uint64_t)ptr + 2 > m->size)
        return false;
    memcpy(m->base + ptr, &v, 2);
    return true;
}

static int done(uint64_t *args, uint32_t wasi_errno)
{
    args[0] = wasi_errno;
    return WR_NATIVE_DONE;
}

/* The operation would block: EAGAIN for a NONBLOCK descriptor, else the thread parks until it may not (or the
 * Python call waits, when it cannot park here). */
static int would_block(wr_thread *t, const fast_fd *f, bool write, uint64_t *args)
{
    if (f->flags & WR_FAST_NONBLOCK)
        return done(args, WASI_AGAIN);
    return wr_io_park(t, f->host_fd, write ? WR_IO_WRITE : WR_IO_READ) == 0 ? WR_NATIVE_PARKED : WR_NATIVE_HOST;
}

/* One read or write of the mirrored descriptor into or from `iov`: bytes moved (>= 0), or a result for the
 * native to return (parked, the Python path, or done with an errno in args[0]). A socket is ours and
 * non-blocking: try, and wait on EAGAIN. A pipe or terminal blocks: poll first, as streams.py does. */
enum { MOVED_NOT = -1 };
static int64_t move(wr_thread *t, const wr_wasi_fast *w, const fast_fd *f, bool write, struct iovec *iov, int n,
                    uint64_t *args, int *result)
{
    bool sock = f->flags & WR_FAST_SOCKET;
    if (!sock) {
        struct pollfd p = {.fd = f->host_fd, .events = write ? POLLOUT : POLLIN | POLLPRI};
        int ready = poll(&p, 1, 0);
        if (ready <= 0) {
            /* An error or hang-up counts as ready (poll sets those): the operation reports it. */
            *result = ready == 0 ? would_block(t, f, write, args) : WR_NATIVE_HOST;
            return MOVED_NOT;
        }
    }
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    for (;;) {
        ssize_t r = sock ? (write ? sendmsg(f->host_fd, &msg, MSG_NOSIGNAL) : recvmsg(f->host_fd, &msg, 0))
                         : (write ? writev(f->host_fd, iov, n) : readv(f->host_fd, iov, n));
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            *result = would_block(t, f, write, args);
        else
            *result = done(args, errno >= 0 && errno < 256 ? w->errno_map[errno] : WASI_IO);
        return MOVED_NOT;
    }
}

/* The guest's iovecs at (ptr, count) gathered and their bytes moved: the bytes moved (>= 0), or MOVED_NOT with
 * the native's result in *result (the Python path, parked, or done with an errno). `empty_is_done`: no bytes
 * asked means 0 with no call (fd_read, fd_write: streams.py's read_into / write_from). */
static int64_t transfer(wr_thread *t, const wr_wasi_fast *w, const fast_fd *f, bool write, uint64_t ptr,
                        uint64_t count, bool empty_is_done, uint64_t *args, int *result)
{
    struct iovec iov[FAST_IOVS];
    uint64_t total;
    int n = gather(w->mem, (uint32_t)ptr, (uint32_t)count, iov, &total);
    if (n < 0) {
        *result = n == -2 ? WR_NATIVE_HOST : done(args, WASI_FAULT);
        return MOVED_NOT;
    }
    if (empty_is_done && total == 0)
        return 0;
    if (write && total > PIPE_BUF && !(f->flags & WR_FAST_SOCKET)) {
        *result = WR_NATIVE_HOST; /* streams.py writes it to the blocking descriptor in chunks */
        return MOVED_NOT;
    }
    return move(t, w, f, write, iov, n, args, result);
}

/* fd_read(fd, iovs, iovs_len, nread) and fd_write(fd, iovs, iovs_len, nwritten) on a socket or pipe: fd.py's. */
static int fd_rw(wr_thread *t, wr_wasi_fast *w, uint64_t *args, bool write)
{
    const fast_fd *f = fd_of(w, args[0], write ? WR_FAST_WRITE : WR_FAST_READ);
    if (f == NULL)
        return WR_NATIVE_HOST;
    int result;
    int64_t moved = transfer(t, w, f, write, args[1], args[2], true, args, &result);
    if (moved == MOVED_NOT)
        return result;
    return done(args, put_u32(w->mem, (uint32_t)args[3], (uint32_t)moved) ? 0 : WASI_FAULT);
}

static int native_fd_read(wr_thread *t, void *ctx, uint64_t *args) { return fd_rw(t, ctx, args, false); }

static int native_fd_write(wr_thread *t, void *ctx, uint64_t *args) { return fd_rw(t, ctx, args, true); }

/* sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen, ro_flags): sock.py's, without PEEK or WAITALL. */
static int native_sock_recv(wr_thread *t, void *ctx, uint64_t *args)
{
    wr_wasi_fast *w = ctx;
    const fast_fd *f = fd_of(w, args[0], WR_FAST_READ | WR_FAST_SOCKET);
    if (f == NULL || (uint32_t)args[3] != 0)
        return WR_NATIVE_HOST;
    int result;
    int64_t moved = transfer(t, w, f, false, args[1], args[2], false, args, &result);
    if (moved == MOVED_NOT)
        return result;
    /* A stream socket never truncates (MSG_TRUNC): ro_flags 0. */
    bool ok = put_u32(w->mem, (uint32_t)args[4], (uint32_t)moved) && put_u16(w->mem, (uint32_t)args[5], 0);
    return done(args, ok ? 0 : WASI_FAULT);
}

/* sock_send(fd, si_data, si_data_len, si_flags, so_datalen): sock.py's (si_flags is ignored there too). */
static int native_sock_send(wr_thread *t, void *ctx, uint64_t *args)
{
    wr_wasi_fast *w = ctx;
    const fast_fd *f = fd_of(w, args[0], WR_FAST_WRITE | WR_FAST_SOCKET);
    if (f == NULL)
        return WR_NATIVE_HOST;
    int result;
    int64_t moved = transfer(t, w, f, true, args[1], args[2], false, args, &result);
    if (moved == MOVED_NOT)
        return result;
    return done(args, put_u32(w->mem, (uint32_t)args[4], (uint32_t)moved) ? 0 : WASI_FAULT);
}

/* sock_accept(fd, flags, fd_ptr): while no connection is waiting, the thread waits here; once one is (or the
 * listener has an error), sock.py's call accepts it and makes its entry. A NONBLOCK listener, or flags the
 * call refuses, go to Python at once. */
static int native_sock_accept(wr_thread *t, void *ctx, uint64_t *args)
{
    wr_wasi_fast *w = ctx;
    const fast_fd *f = fd_of(w, args[0], WR_FAST_ACCEPT);
    if (f == NULL || (uint32_t)args[1] != 0 || (f->flags & WR_FAST_NONBLOCK))
        return WR_NATIVE_HOST;
    struct pollfd p = {.fd = f->host_fd, .events = POLLIN};
    if (poll(&p, 1, 0) != 0)
        return WR_NATIVE_HOST; /* ready, an error, or a signal */
    return wr_io_park(t, f->host_fd, WR_IO_READ) == 0 ? WR_NATIVE_PARKED : WR_NATIVE_HOST;
}

/* poll_oneoff's layouts (abi.py): a subscription is 48 bytes (userdata u64, tag u8; at 16 a clock's id u32,
 * timeout u64 at 24, flags u16 at 40, or a descriptor u32), an event 32 (userdata u64, error u16 at 8, type u8 at
 * 10, nbytes u64 at 16, flags u16 at 24). */
enum { SUB_SIZE = 48, EVENT_SIZE = 32, POLL_SUBS = 64 };
enum { EV_CLOCK = 0, EV_FD_READ = 1, EV_FD_WRITE = 2, CLOCK_MONOTONIC_ID = 1, CLOCK_IDS = 4, ABSTIME = 1 };

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Bytes a read would get now (poll.py's FIONREAD; 0 when the descriptor cannot say). */
static uint64_t ready_bytes(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

static int poll_host(wr_thread *t)
{
    t->native_retry = false;
    return WR_NATIVE_HOST;
}

/* poll_oneoff(in, out, nsubs, nevents): poll.py's, for clocks the store keeps (wr_timer.h) and mirrored
 * descriptors with the poll right. Events come in the order of their subscriptions. When none is ready the
 * thread parks on every descriptor, until the earliest clock; woken, the call runs again, its clocks counted
 * from when it first ran (t->native_since). Anything else (an unknown clock or tag, an absolute realtime
 * clock, a bad pointer, a descriptor not here) is the Python call's. */
static int native_poll_oneoff(wr_thread *t, void *ctx, uint64_t *args)
{
    wr_wasi_fast *w = ctx;
    const wr_memory *m = w->mem;
    wr_store *s = t->store;
    uint64_t in = (uint32_t)args[0], out = (uint32_t)args[1], nsubs = (uint32_t)args[2];
    uint64_t nevents = (uint32_t)args[3];
    if (m == NULL || nsubs == 0 || nsubs > POLL_SUBS || in + nsubs * SUB_SIZE > m->size ||
        out + nsubs * EVENT_SIZE > m->size || nevents + 4 > m->size)
        return poll_host(t);
    int64_t now = s->clock_kind == WR_CLOCK_HOST ? 0 : wr_clock_now(s);
    int64_t since = t->native_retry ? t->native_since : now;
    int64_t deadline[POLL_SUBS], earliest = INT64_MAX;
    struct pollfd pfd[POLL_SUBS];
    int8_t fd_of_sub[POLL_SUBS]; /* its entry in pfd, or -1 for a clock */
    nfds_t npfd = 0;
    for (uint32_t i = 0; i < nsubs; i++) {
        const uint8_t *sub = m->base + in + (uint64_t)i * SUB_SIZE;
        uint8_t tag = sub[8];
        fd_of_sub[i] = -1;
        if (tag == EV_CLOCK) {
            uint32_t id = get_u32(sub + 16);
            uint64_t timeout = get_u64(sub + 24);
            uint16_t flags;
            memcpy(&flags, sub + 40, 2);
            if (s->clock_kind == WR_CLOCK_HOST || id >= CLOCK_IDS || ((flags & ABSTIME) && id != CLOCK_MONOTONIC_ID))
                return poll_host(t);
            uint64_t base = flags & ABSTIME ? 0 : (uint64_t)since;
            deadline[i] = timeout > (uint64_t)INT64_MAX - base ? INT64_MAX - 1 : (int64_t)(base + timeout);
            if (deadline[i] < earliest)
                earliest = deadline[i];
        } else if (tag == EV_FD_READ || tag == EV_FD_WRITE) {
            const fast_fd *f = fd_of(w, get_u32(sub + 16), WR_FAST_POLL);
            if (f == NULL)
                return poll_host(t);
            fd_of_sub[i] = (int8_t)npfd;
            pfd[npfd++] = (struct pollfd){.fd = f->host_fd, .events = tag == EV_FD_READ ? POLLIN | POLLPRI : POLLOUT};
        } else {
            return poll_host(t);
        }
    }
    if (npfd && poll(pfd, npfd, 0) < 0)
        return poll_host(t);
    uint32_t n = 0;
    for (uint32_t i = 0; i < nsubs; i++) {
        const uint8_t *sub = m->base + in + (uint64_t)i * SUB_SIZE;
        int k = fd_of_sub[i];
        /* A descriptor with an error or hang-up is ready too (poll sets those): the next call reports it. */
        if (k >= 0 ? pfd[k].revents == 0 : deadline[i] > now)
            continue;
        uint8_t *ev = m->base + out + (uint64_t)n++ * EVENT_SIZE;
        memset(ev, 0, EVENT_SIZE);
        memcpy(ev, sub, 8);
        ev[10] = sub[8];
        if (sub[8] == EV_FD_READ) {
            uint64_t nbytes = ready_bytes(pfd[k].fd);
            memcpy(ev + 16, &nbytes, 8);
        }
    }
    if (n) {
        t->native_retry = false;
        put_u32(m, (uint32_t)nevents, n);
        return done(args, 0);
    }
    uint32_t regs[POLL_SUBS];
    for (nfds_t k = 0; k < npfd; k++)
        regs[k] = (uint32_t)pfd[k].fd << 1 | (pfd[k].events == POLLOUT);
    if (wr_io_park_any(t, regs, (uint32_t)npfd, earliest) != 0)
        return poll_host(t);
    t->native_retry = true;
    t->native_since = since;
    return WR_NATIVE_PARKED;
}

/* sched_yield(): the thread's slice ends after the call, and the store's policy decides there as at any slice
 * end (in C while the core switches threads), instead of a host call into Python and the scheduler's yield. */
static int native_sched_yield(wr_thread *t, void *ctx, uint64_t *args)
{
    (void)t, (void)ctx;
    args[0] = 0;
    return WR_NATIVE_YIELD;
}

void wr_wasi_native_sched_yield(wr_func *f)
{
    f->native = native_sched_yield;
    f->native_ctx = NULL;
}

int wr_wasi_fast_attach(wr_wasi_fast *w, wr_func *f, const char *name)
{
    static const struct {
        const char *name;
        wr_native_fn fn;
    } calls[] = {
        {"fd_read", native_fd_read},
        {"fd_write", native_fd_write},
        {"poll_oneoff", native_poll_oneoff},
        {"sock_accept", native_sock_accept},
        {"sock_recv", native_sock_recv},
        {"sock_send", native_sock_send},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        if (strcmp(calls[i].name, name) == 0) {
            f->native = calls[i].fn;
            f->native_ctx = w;
            return 0;
        }
    }
    return -1;
}
