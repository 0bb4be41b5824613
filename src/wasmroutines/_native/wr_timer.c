/* wr_timer.c: the store's clock and wait timeouts (wr_timer.h): a binary
 * min-heap of waiting threads by (deadline, arrival); each thread knows its
 * place in it, so a wait that ends otherwise leaves in O(log n). */
#include <stdlib.h>
#include <time.h>

#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_io.h"
#include "wr_timer.h"

int64_t wr_clock_now(const wr_store *s)
{
    if (s->clock_kind == WR_CLOCK_VIRTUAL)
        return s->virtual_now;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool before(const wr_thread *a, const wr_thread *b)
{
    return a->timer_deadline < b->timer_deadline ||
           (a->timer_deadline == b->timer_deadline && a->timer_seq < b->timer_seq);
}

static void place(wr_store *s, uint32_t i, wr_thread *t)
{
    s->timers[i] = t;
    t->timer_pos = i + 1;
}

static void sift_up(wr_store *s, uint32_t i)
{
    wr_thread *t = s->timers[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(t, s->timers[parent]))
            break;
        place(s, i, s->timers[parent]);
        i = parent;
    }
    place(s, i, t);
}

static void sift_down(wr_store *s, uint32_t i)
{
    wr_thread *t = s->timers[i];
    uint32_t n = s->ntimers;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(s->timers[c + 1], s->timers[c]))
            c++;
        if (!before(s->timers[c], t))
            break;
        place(s, i, s->timers[c]);
        i = c;
    }
    place(s, i, t);
}

int wr_timer_add(wr_thread *t, int64_t deadline)
{
    wr_store *s = t->store;
    if (s->ntimers == s->timers_cap) {
        uint32_t cap = s->timers_cap ? s->timers_cap * 2 : 16;
        wr_thread **h = realloc(s->timers, cap * sizeof *h);
        if (!h)
            return -1;
        s->timers = h;
        s->timers_cap = cap;
    }
    t->timer_deadline = deadline;
    t->timer_seq = s->timer_seq++;
    s->timers[s->ntimers] = t;
    sift_up(s, s->ntimers++);
    return 0;
}

void wr_timer_remove(wr_thread *t)
{
    if (t->timer_pos == 0)
        return;
    wr_store *s = t->store;
    uint32_t i = t->timer_pos - 1;
    t->timer_pos = 0;
    wr_thread *last = s->timers[--s->ntimers];
    if (last == t)
        return;
    s->timers[i] = last;
    if (i > 0 && before(last, s->timers[(i - 1) / 2]))
        sift_up(s, i);
    else
        sift_down(s, i);
}

int64_t wr_timer_next(const wr_store *s) { return s->ntimers ? s->timers[0]->timer_deadline : INT64_MAX; }

uint32_t wr_timer_fire(wr_store *s)
{
    if (s->ntimers == 0)
        return 0;
    int64_t now = wr_clock_now(s);
    uint32_t n = 0;
    while (s->ntimers && s->timers[0]->timer_deadline <= now) {
        wr_thread *t = s->timers[0];
        if (t->wait_mem)
            wr_futex_time_out(t); /* takes it off the heap too */
        else
            wr_io_wake(t); /* a descriptor wait or a sleep: its call runs again and sees the time */
        n++;
    }
    return n;
}

void wr_timer_free(wr_store *s)
{
    free(s->timers);
    s->timers = NULL;
    s->ntimers = s->timers_cap = 0;
}
