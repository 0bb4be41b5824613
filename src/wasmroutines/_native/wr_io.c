/* wr_io.c: the store's IO reactor (wr_io.h): epoll, each descriptor
 * registered once, edge-triggered; per descriptor one parked reader and one
 * parked writer. */
#include <stdlib.h>

#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_io.h"

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

int wr_io_park(struct wr_thread *t, int fd, int direction)
{
    wr_io *io = fd >= 0 && fd < (1 << 24) ? io_of(t->store) : NULL;
    wr_io_slot *slot = io ? slot_of(io, fd) : NULL;
    int d = direction == WR_IO_WRITE;
    if (!slot || slot->waiter[d])
        return -1;
    if (!slot->registered) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
        /* EEXIST: registered before under another guest descriptor of the same host one. */
        if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST)
            return -1; /* a regular file (EPERM), or not open: the host's path reports it */
        slot->registered = true;
    }
    slot->waiter[d] = t;
    t->io_fd = fd;
    t->io_dir = (uint8_t)direction;
    io->waiters++;
    return 0;
}

static void unpark(wr_io *io, struct wr_thread *t)
{
    io->slots[t->io_fd].waiter[t->io_dir == WR_IO_WRITE] = NULL;
    t->io_fd = -1;
    io->waiters--;
}

static void wake(wr_io *io, struct wr_thread *t)
{
    unpark(io, t);
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
            wake(io, slot->waiter[0]);
            woken++;
        }
        if (slot->waiter[1] && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
            wake(io, slot->waiter[1]);
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
            wake(io, slot->waiter[d]);
    if (slot->registered)
        epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly once closed */
    slot->registered = false;
}

bool wr_io_cancel(struct wr_thread *t)
{
    if (t->io_fd < 0)
        return false;
    unpark(t->store->io, t);
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
bool wr_io_cancel(struct wr_thread *t) { return (void)t, false; }
void wr_io_set_may_block(wr_store *s, bool may_block) { s->io_may_block = may_block; }
void wr_io_free(wr_store *s) { (void)s; }

#endif
