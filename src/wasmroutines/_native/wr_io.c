/* wr_io.c: the store's IO reactor (wr_io.h). Per descriptor one parked
 * reader and one parked writer; a thread may hold several such places, and
 * a timeout. Two backends watch the descriptors: epoll on Linux (each
 * descriptor registered once, edge-triggered), poll(2) elsewhere (or with
 * WR_IO_POLL: the descriptors with a waiter, level-triggered, in an array
 * the reactor keeps). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_io.h"
#include "wr_timer.h"

#if defined(__linux__) && !defined(WR_IO_POLL)
#define WR_IO_EPOLL 1
#include <sys/epoll.h>
#endif

typedef struct wr_io_slot {
    struct wr_thread *waiter[2]; /* [0] reader, [1] writer */
    bool registered;             /* epoll: in the set; poll: at watched[index] */
    uint32_t index;
} wr_io_slot;

typedef struct wr_io {
    wr_io_slot *slots; /* by host descriptor */
    uint32_t nslots;
    uint32_t waiters;
#ifdef WR_IO_EPOLL
    int epfd;
#else
    struct pollfd *watched; /* the descriptors with a waiter */
    uint32_t nwatched, watched_cap;
#endif
} wr_io;

/* ---- the backends: watch a descriptor, follow its waiters, forget it, wait ---- */

/* One readiness report: wake the waiters it concerns. An error or hang-up ends both waits: the retried call
 * reports it. */
static int report(wr_io *io, int fd, bool readable, bool writable)
{
    if ((uint32_t)fd >= io->nslots)
        return 0;
    wr_io_slot *slot = &io->slots[fd];
    int woken = 0;
    if (slot->waiter[0] && readable) {
        wr_io_wake(slot->waiter[0]);
        woken++;
    }
    if (slot->waiter[1] && writable) {
        wr_io_wake(slot->waiter[1]);
        woken++;
    }
    return woken;
}

#ifdef WR_IO_EPOLL

static bool backend_open(wr_io *io)
{
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    return io->epfd >= 0;
}

/* A waiter came: register the descriptor once, for both directions (edge-triggered is safe: a thread parks
 * only after its operation said it would block, so any readiness after that is a new edge). */
static bool backend_watch(wr_io *io, int fd, wr_io_slot *slot)
{
    if (slot->registered)
        return true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
    /* EEXIST: registered before under another guest descriptor of the same host one. */
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST)
        return false; /* a regular file (EPERM), or not open: the host's path reports it */
    slot->registered = true;
    return true;
}

/* Its waiters changed: the registration stays. */
static void backend_follow(wr_io *io, int fd, wr_io_slot *slot) { (void)io, (void)fd, (void)slot; }

static void backend_forget(wr_io *io, int fd, wr_io_slot *slot)
{
    if (slot->registered)
        epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly once closed */
    slot->registered = false;
}

static int backend_wait(wr_io *io, int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(io->epfd, evs, 256, timeout_ms);
    if (n < 0)
        return errno == EINTR ? -1 : 0;
    int woken = 0;
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        woken += report(io, evs[i].data.fd, e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR),
                        e & (EPOLLOUT | EPOLLHUP | EPOLLERR));
    }
    return woken;
}

static void backend_close(wr_io *io) { close(io->epfd); }

int wr_io_fd(const wr_store *s) { return s->io ? s->io->epfd : -1; }

const char *wr_io_backend(void) { return "epoll"; }

#else /* poll(2): the descriptors with a waiter, each with the directions waited for */

static bool backend_open(wr_io *io)
{
    (void)io;
    return true;
}

static short events_of(const wr_io_slot *slot)
{
    return (short)((slot->waiter[0] ? POLLIN | POLLPRI : 0) | (slot->waiter[1] ? POLLOUT : 0));
}

static bool backend_watch(wr_io *io, int fd, wr_io_slot *slot)
{
    if (!slot->registered) {
        if (io->nwatched == io->watched_cap) {
            uint32_t cap = io->watched_cap ? io->watched_cap * 2 : 64;
            struct pollfd *w = realloc(io->watched, cap * sizeof *w);
            if (!w)
                return false;
            io->watched = w;
            io->watched_cap = cap;
        }
        slot->index = io->nwatched++;
        slot->registered = true;
        io->watched[slot->index] = (struct pollfd){.fd = fd};
    }
    io->watched[slot->index].events = events_of(slot);
    return true;
}

static void backend_forget(wr_io *io, int fd, wr_io_slot *slot)
{
    (void)fd;
    if (!slot->registered)
        return;
    uint32_t last = --io->nwatched;
    if (slot->index != last) {
        io->watched[slot->index] = io->watched[last];
        io->slots[io->watched[last].fd].index = slot->index;
    }
    slot->registered = false;
}

/* Its waiters changed: the directions polled follow; with none left it is not polled. */
static void backend_follow(wr_io *io, int fd, wr_io_slot *slot)
{
    if (!slot->registered)
        return;
    if (slot->waiter[0] || slot->waiter[1])
        io->watched[slot->index].events = events_of(slot);
    else
        backend_forget(io, fd, slot);
}

static int backend_wait(wr_io *io, int timeout_ms)
{
    int n = poll(io->watched, io->nwatched, timeout_ms);
    if (n < 0)
        return errno == EINTR ? -1 : 0;
    /* A wake changes the array (a thread's other descriptors leave it): take the reports first. */
    struct pollfd ready[256];
    uint32_t nready = 0;
    for (uint32_t i = 0; i < io->nwatched && nready < 256; i++)
        if (io->watched[i].revents)
            ready[nready++] = io->watched[i];
    int woken = 0;
    for (uint32_t i = 0; i < nready; i++) {
        short e = ready[i].revents;
        woken += report(io, ready[i].fd, e & (POLLIN | POLLPRI | POLLHUP | POLLERR | POLLNVAL),
                        e & (POLLOUT | POLLHUP | POLLERR | POLLNVAL));
    }
    return woken;
}

static void backend_close(wr_io *io) { free(io->watched); }

const char *wr_io_backend(void) { return "poll"; }

/* No one descriptor says when any is ready: the host's idle loop must poll the core (wr_io_poll). */
int wr_io_fd(const wr_store *s)
{
    (void)s;
    return -1;
}

#endif

/* ---- the reactor ---- */

static wr_io *io_of(wr_store *s)
{
    if (s->io)
        return s->io;
    wr_io *io = calloc(1, sizeof *io);
    if (!io)
        return NULL;
    if (!backend_open(io)) {
        free(io);
        return NULL;
    }
    s->io = io;
    return io;
}

static wr_io_slot *slot_of(wr_io *io, int fd)
{
    if ((uint32_t)fd >= io->nslots) {
        uint32_t n = io->nslots ? io->nslots : 64;
        while (n <= (uint32_t)fd)
            n *= 2;
        wr_io_slot *s = realloc(io->slots, n * sizeof *s);
        if (!s)
            return NULL;
        for (uint32_t i = io->nslots; i < n; i++)
            s[i] = (wr_io_slot){{NULL, NULL}, false, 0};
        io->slots = s;
        io->nslots = n;
    }
    return &io->slots[fd];
}

static uint32_t reg_at(const struct wr_thread *t, uint32_t i) { return i == 0 ? t->io_one : t->io_more[i - 1]; }

/* Room for n registrations on t (the first is inline). */
static bool reserve(struct wr_thread *t, uint32_t n)
{
    if (n <= 1 + t->io_more_cap)
        return true;
    uint32_t *more = realloc(t->io_more, (n - 1) * sizeof *more);
    if (!more)
        return false;
    t->io_more = more;
    t->io_more_cap = n - 1;
    return true;
}

/* Take t off the slots it holds (the first `n` of its registrations). */
static void release(wr_io *io, struct wr_thread *t, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = reg_at(t, i);
        wr_io_slot *slot = &io->slots[r >> 1];
        slot->waiter[r & 1] = NULL;
        backend_follow(io, (int)(r >> 1), slot);
    }
}

/* Hold descriptor fd's slot for direction d for t, watching the descriptor: 1 held now, 0 t held it already
 * (a repeat), -1 not possible. */
static int hold(wr_io *io, struct wr_thread *t, int fd, int d)
{
    wr_io_slot *slot = fd >= 0 && fd < (1 << 24) ? slot_of(io, fd) : NULL;
    if (!slot || (slot->waiter[d] && slot->waiter[d] != t))
        return -1;
    if (slot->waiter[d] == t)
        return 0;
    slot->waiter[d] = t;
    if (!backend_watch(io, fd, slot)) {
        slot->waiter[d] = NULL;
        backend_follow(io, fd, slot);
        return -1;
    }
    return 1;
}

int wr_io_park_any(struct wr_thread *t, const uint32_t *regs, uint32_t n, int64_t deadline)
{
    wr_store *s = t->store;
    if (deadline != INT64_MAX ? s->clock_kind == WR_CLOCK_HOST : n == 0)
        return -1; /* a timeout the core cannot keep, or a wait for nothing */
    wr_io *io = n ? io_of(s) : NULL;
    if ((n && !io) || !reserve(t, n))
        return -1;
    uint32_t held = 0;
    for (uint32_t i = 0; i < n; i++) {
        int r = hold(io, t, (int)(regs[i] >> 1), (int)(regs[i] & 1));
        if (r < 0) {
            release(io, t, held);
            return -1;
        }
        if (r == 0)
            continue;
        if (held == 0)
            t->io_one = regs[i];
        else
            t->io_more[held - 1] = regs[i];
        held++;
    }
    if (deadline != INT64_MAX && wr_timer_add(t, deadline) != 0) {
        release(io, t, held);
        return -1;
    }
    if (held)
        io->waiters++;
    t->io_n = held;
    t->io_parked = true;
    return 0;
}

int wr_io_park(struct wr_thread *t, int fd, int direction)
{
    if (fd < 0)
        return -1;
    uint32_t reg = (uint32_t)fd << 1 | (direction == WR_IO_WRITE);
    return wr_io_park_any(t, &reg, 1, INT64_MAX);
}

/* End t's wait in the reactor, not waking it. */
static void unpark(struct wr_thread *t)
{
    if (t->io_n) {
        release(t->store->io, t, t->io_n);
        t->store->io->waiters--;
    }
    t->io_n = 0;
    t->io_parked = false;
    wr_timer_remove(t);
}

void wr_io_wake(struct wr_thread *t)
{
    unpark(t);
    wr_futex_list_woken(t);
}

int wr_io_poll(wr_store *s, int timeout_ms)
{
    wr_io *io = s->io;
    if (!io || !io->waiters)
        return 0;
    return backend_wait(io, timeout_ms);
}

uint32_t wr_io_waiters(const wr_store *s) { return s->io ? s->io->waiters : 0; }

void wr_io_forget_fd(wr_store *s, int fd)
{
    wr_io *io = s->io;
    if (!io || fd < 0 || (uint32_t)fd >= io->nslots)
        return;
    wr_io_slot *slot = &io->slots[fd];
    for (int d = 0; d < 2; d++)
        if (slot->waiter[d])
            wr_io_wake(slot->waiter[d]);
    backend_forget(io, fd, slot);
}

bool wr_io_cancel(struct wr_thread *t)
{
    if (!t->io_parked)
        return false;
    unpark(t);
    return true;
}

void wr_io_set_may_block(wr_store *s, bool may_block) { s->io_may_block = may_block; }

void wr_io_free(wr_store *s)
{
    wr_io *io = s->io;
    if (!io)
        return;
    backend_close(io);
    free(io->slots);
    free(io);
    s->io = NULL;
}
