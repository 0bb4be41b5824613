/* wr_futex.c: wait queues for memory.atomic.wait/notify, keyed by (memory,
 * address), FIFO per address. See wr_futex.h for the protocol. */
#include <stdlib.h>

#include "wr_futex.h"
#include "wr_timer.h"

#define WR_FUTEX_BUCKETS 256u

struct wr_futex_table {
    wr_thread *head[WR_FUTEX_BUCKETS], *tail[WR_FUTEX_BUCKETS];
};

static uint32_t bucket_of(uint64_t addr)
{
    /* Addresses of waits are 4- or 8-aligned: mix the higher bits in. */
    uint64_t h = (addr >> 2) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 56) & (WR_FUTEX_BUCKETS - 1);
}

static void unlink_waiter(wr_thread *t)
{
    wr_futex_table *f = t->wait_mem->futex;
    uint32_t b = bucket_of(t->wait_addr);
    if (t->wait_prev)
        t->wait_prev->wait_next = t->wait_next;
    else
        f->head[b] = t->wait_next;
    if (t->wait_next)
        t->wait_next->wait_prev = t->wait_prev;
    else
        f->tail[b] = t->wait_prev;
    t->wait_prev = t->wait_next = NULL;
    t->wait_mem = NULL;
    wr_timer_remove(t);
}

/* Append `t`, whose wait just ended, to its store's woken list (once: it cannot wait, so be woken,
 * again before someone takes it off). */
void wr_futex_list_woken(wr_thread *t)
{
    wr_store *s = t->store;
    if (t->woken)
        return;
    t->woken = true;
    t->woken_next = NULL;
    if (s->woken_tail)
        s->woken_tail->woken_next = t;
    else
        s->woken_head = t;
    s->woken_tail = t;
}

static void mark_woken(wr_thread *t, uint64_t result)
{
    *t->wait_result = result;
    t->wait_result = NULL;
    wr_futex_list_woken(t);
}

int wr_futex_wait(wr_memory *m, uint64_t addr, wr_thread *t, uint64_t *result, int64_t timeout_ns)
{
    if (!m->futex) {
        m->futex = calloc(1, sizeof *m->futex);
        if (!m->futex)
            return -1;
    }
    wr_futex_table *f = m->futex;
    uint32_t b = bucket_of(addr);
    t->wait_mem = m;
    t->wait_addr = addr;
    t->wait_result = result;
    t->wait_timeout = timeout_ns;
    /* With a clock of the store's own, the timeout is kept here (wr_timer.h), not by the host. */
    wr_store *s = t->store;
    if (timeout_ns >= 0 && s->clock_kind != WR_CLOCK_HOST) {
        int64_t now = wr_clock_now(s);
        int64_t deadline = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
        if (wr_timer_add(t, deadline)) {
            t->wait_mem = NULL; /* not queued: the thread does not wait */
            return -1;
        }
    }
    t->wait_next = NULL;
    t->wait_prev = f->tail[b];
    if (f->tail[b])
        f->tail[b]->wait_next = t;
    else
        f->head[b] = t;
    f->tail[b] = t;
    return 0;
}

uint32_t wr_futex_notify(wr_memory *m, uint64_t addr, uint32_t count)
{
    if (!m->futex)
        return 0;
    uint32_t n = 0;
    wr_thread *t = m->futex->head[bucket_of(addr)];
    while (t && n < count) {
        wr_thread *next = t->wait_next;
        if (t->wait_addr == addr) {
            unlink_waiter(t);
            mark_woken(t, 0);
            n++;
        }
        t = next;
    }
    return n;
}

void wr_futex_time_out(wr_thread *t)
{
    unlink_waiter(t);
    mark_woken(t, 2);
}

int wr_futex_cancel(wr_thread *t)
{
    if (!t->wait_mem)
        return 0;
    t->resumable = false; /* the host ends this wait: it runs the thread itself */
    wr_futex_time_out(t);
    return 1;
}

wr_thread *wr_futex_take_woken(wr_store *s)
{
    wr_thread *t = s->woken_head;
    if (!t)
        return NULL;
    s->woken_head = t->woken_next;
    if (!s->woken_head)
        s->woken_tail = NULL;
    t->woken_next = NULL;
    t->woken = false;
    return t;
}

void wr_futex_table_free(wr_futex_table *f) { free(f); }

/* Take `t` off its store's woken list if it is on it. */
static void unlist_woken(wr_thread *t)
{
    if (!t->woken)
        return;
    wr_store *s = t->store;
    wr_thread *prev = NULL;
    for (wr_thread *c = s->woken_head; c; prev = c, c = c->woken_next) {
        if (c != t)
            continue;
        if (prev)
            prev->woken_next = c->woken_next;
        else
            s->woken_head = c->woken_next;
        if (s->woken_tail == c)
            s->woken_tail = prev;
        break;
    }
    t->woken = false;
    t->woken_next = NULL;
}

void wr_futex_forget(wr_thread *t)
{
    if (t->wait_mem)
        unlink_waiter(t);
    unlist_woken(t);
    t->resumable = t->parked = false;
}
