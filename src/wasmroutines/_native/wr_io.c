/* wr_io.c: the store's IO reactor (wr_io.h): epoll, each descriptor
 * registered once, edge-triggered; per descriptor one parked reader and one
 * parked writer; a thread may hold several such places, and a timeout. */
#include <stdlib.h>

#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_io.h"
#include "wr_timer.h"

#ifdef __linux__
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct wr_io_slot {
    struct wr_thread *waiter[2]; /* [0] reader, [1] writer */
    bool registered;
} wr_io_slot;

typedef struct wr_io {
    int epfd;
    wr_io_slot *slots; /* by host descriptor */
    uint32_t nslots;
    uint32_t waiters;
} wr_io;

static wr_io *io_of(wr_store *s)
{
    if (s->io)
        return s->io;
    wr_io *io = calloc(1, sizeof *io);
    if (!io)
        return NULL;
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (io->epfd < 0) {
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
            s[i] = (wr_io_slot){{NULL, NULL}, false};
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
        io->slots[r >> 1].waiter[r & 1] = NULL;
    }
}

/* Watch `fd` (once: edge-triggered, both directions) and hold its slot for direction d for t: 1 held now, 0
 * t held it already (a repeat), -1 not possible. */
static int hold(wr_io *io, struct wr_thread *t, int fd, int d)
{
    wr_io_slot *slot = fd >= 0 && fd < (1 << 24) ? slot_of(io, fd) : NULL;
    if (!slot || (slot->waiter[d] && slot->waiter[d] != t))
        return -1;
    if (slot->waiter[d] == t)
        return 0;
    if (!slot->registered) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
        /* EEXIST: registered before under another guest descriptor of the same host one. */
        if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST)
            return -1; /* a regular file (EPERM), or not open: the host's path reports it */
        slot->registered = true;
    }
    slot->waiter[d] = t;
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
    struct epoll_event evs[256];
    int n = epoll_wait(io->epfd, evs, 256, timeout_ms);
    if (n < 0)
        return errno == EINTR ? -1 : 0;
    int woken = 0;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if ((uint32_t)fd >= io->nslots)
            continue;
        wr_io_slot *slot = &io->slots[fd];
        uint32_t e = evs[i].events;
        /* An error or hang-up ends both waits: the retried call reports it. */
        if (slot->waiter[0] && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
            wr_io_wake(slot->waiter[0]);
            woken++;
        }
        if (slot->waiter[1] && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
            wr_io_wake(slot->waiter[1]);
            woken++;
        }
    }
    return woken;
}

uint32_t wr_io_waiters(const wr_store *s) { return s->io ? s->io->waiters : 0; }

int wr_io_fd(const wr_store *s) { return s->io ? s->io->epfd : -1; }

void wr_io_forget_fd(wr_store *s, int fd)
{
    wr_io *io = s->io;
    if (!io || fd < 0 || (uint32_t)fd >= io->nslots)
        return;
    wr_io_slot *slot = &io->slots[fd];
    for (int d = 0; d < 2; d++)
        if (slot->waiter[d])
            wr_io_wake(slot->waiter[d]);
    if (slot->registered)
        epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly once closed */
    slot->registered = false;
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
    close(io->epfd);
    free(io->slots);
    free(io);
    s->io = NULL;
}

#else /* no reactor: every call takes the host's path */

int wr_io_park(struct wr_thread *t, int fd, int direction)
{
    (void)t, (void)fd, (void)direction;
    return -1;
}
int wr_io_park_any(struct wr_thread *t, const uint32_t *regs, uint32_t n, int64_t deadline)
{
    (void)regs;
    /* A sleep needs no reactor. */
    if (n || deadline == INT64_MAX || t->store->clock_kind == WR_CLOCK_HOST || wr_timer_add(t, deadline) != 0)
        return -1;
    t->io_parked = true;
    return 0;
}
void wr_io_wake(struct wr_thread *t)
{
    t->io_parked = false;
    wr_timer_remove(t);
    wr_futex_list_woken(t);
}
int wr_io_poll(wr_store *s, int timeout_ms)
{
    (void)s, (void)timeout_ms;
    return 0;
}
uint32_t wr_io_waiters(const wr_store *s)
{
    (void)s;
    return 0;
}
int wr_io_fd(const wr_store *s)
{
    (void)s;
    return -1;
}
void wr_io_forget_fd(wr_store *s, int fd) { (void)s, (void)fd; }
bool wr_io_cancel(struct wr_thread *t)
{
    if (!t->io_parked)
        return false;
    t->io_parked = false;
    wr_timer_remove(t);
    return true;
}
void wr_io_set_may_block(wr_store *s, bool may_block) { s->io_may_block = may_block; }
void wr_io_free(wr_store *s) { (void)s; }

#endif
