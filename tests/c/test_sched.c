/* test_sched.c: unit tests for the built-in scheduling policies and their PRNG (wr_sched.h). */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "wr_runtime.h"
#include "wr_sched.h"

static void test_prng(void)
{
    /* splitmix64 from 0: the first outputs of Vigna's reference splitmix64.c. */
    uint64_t sm = 0;
    CHECK(wr_splitmix64(&sm) == 0xE220A8397B1DCDAFull);
    CHECK(wr_splitmix64(&sm) == 0x6E789E6AA1B965F4ull);
    CHECK(wr_splitmix64(&sm) == 0x06C45D188009454Full);

    /* Same seed, same stream; another seed, another. */
    wr_rng a, b, c;
    wr_rng_seed(&a, 42);
    wr_rng_seed(&b, 42);
    wr_rng_seed(&c, 43);
    int same = 0, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = wr_rng_next(&a), y = wr_rng_next(&b), z = wr_rng_next(&c);
        same += x == y;
        differ += x != z;
    }
    CHECK(same == 100);
    CHECK(differ == 100);

    /* below(n): in range, every value reached, 0 for n <= 1. */
    int seen[7] = {0};
    for (int i = 0; i < 1000; i++) {
        uint64_t v = wr_rng_below(&a, 7);
        CHECK(v < 7);
        if (v < 7)
            seen[v]++;
    }
    for (int i = 0; i < 7; i++)
        CHECK(seen[i] > 0);
    CHECK(wr_rng_below(&a, 1) == 0 && wr_rng_below(&a, 0) == 0);

    /* log_uniform(lo, hi): in range, and each power-of-two scale drawn. */
    unsigned scales = 0;
    for (int i = 0; i < 5000; i++) {
        int64_t s = wr_rng_log_uniform(&a, 1, 10000);
        CHECK(s >= 1 && s <= 10000);
        scales |= 1u << (63 - __builtin_clzll((uint64_t)s));
    }
    CHECK(scales == 0x3FFFu); /* 2^0 .. 2^13 */
    CHECK(wr_rng_log_uniform(&a, 5, 5) == 5);
}

static wr_task *tasks[64];

static void make_tasks(void)
{
    for (uint64_t i = 0; i < 64; i++)
        tasks[i] = wr_task_new(i + 1);
}

static void free_tasks(void)
{
    for (int i = 0; i < 64; i++)
        wr_task_free(tasks[i]);
}

static void test_fair(void)
{
    CHECK(wr_policy_new_fair(0) == NULL);
    wr_policy *p = wr_policy_new_fair(100);
    CHECK(wr_policy_pop(p) == NULL);
    /* FIFO through several growths of the ring, with the head moving around it. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 40; i++)
            CHECK(wr_policy_push(p, tasks[i], WR_PUSH_NEW) == WR_NO_CUT);
        for (int i = 0; i < 40; i++)
            CHECK(wr_policy_pop(p) == tasks[i]);
    }
    CHECK(wr_policy_len(p) == 0 && *wr_policy_queued(p) == 0);
    /* A queued task is queued once; remove keeps the others' order. */
    wr_policy_push(p, tasks[0], WR_PUSH_NEW);
    wr_policy_push(p, tasks[1], WR_PUSH_NEW);
    wr_policy_push(p, tasks[2], WR_PUSH_NEW);
    wr_policy_push(p, tasks[1], WR_PUSH_WOKEN);
    CHECK(wr_policy_len(p) == 3);
    CHECK(*wr_policy_queued(p) == 3); /* what the host reads with no call (core/policy.py) */
    CHECK(wr_policy_remove(p, tasks[1]) == 1);
    CHECK(*wr_policy_queued(p) == 2);
    CHECK(wr_policy_remove(p, tasks[1]) == 0);
    CHECK(wr_policy_pop(p) == tasks[0] && wr_policy_pop(p) == tasks[2] && wr_policy_pop(p) == NULL);
    wr_policy_free(p);

    /* Remove after the ring grew with its head moved: the positions it keeps must still be right. */
    p = wr_policy_new_fair(100);
    for (int i = 0; i < 10; i++)
        wr_policy_push(p, tasks[i], WR_PUSH_NEW);
    for (int i = 0; i < 7; i++)
        CHECK(wr_policy_pop(p) == tasks[i]);
    for (int i = 10; i < 30; i++) /* grows from 16 to 32 slots, head at 7 */
        wr_policy_push(p, tasks[i], WR_PUSH_NEW);
    CHECK(wr_policy_remove(p, tasks[20]) == 1);
    for (int i = 7; i < 30; i++)
        if (i != 20)
            CHECK(wr_policy_pop(p) == tasks[i]);
    CHECK(wr_policy_pop(p) == NULL);
    CHECK(wr_policy_slice(p) == 100);
    CHECK(wr_policy_hostcall_done(p, tasks[0]) == 0);
    /* No log unless asked. */
    CHECK(wr_policy_log_len(p) == 0);
    wr_policy_free(p);
}

/* The host ids a random walk picks from `n` tasks pushed at once, all popped. */
static void random_order(uint64_t seed, int n, uint64_t *out)
{
    wr_policy *p = wr_policy_new_random(seed, 1, 10000, 1000000);
    wr_policy_set_logging(p, true);
    for (int i = 0; i < n; i++)
        wr_policy_push(p, tasks[i], WR_PUSH_NEW);
    for (int i = 0; i < n; i++) {
        wr_task *t = wr_policy_pop(p);
        out[i] = t ? t->host_id : 0;
    }
    CHECK(wr_policy_pop(p) == NULL);
    CHECK(wr_policy_log_len(p) == (size_t)n);
    for (int i = 0; i < n; i++)
        CHECK(wr_policy_log(p)[i] == out[i]);
    wr_policy_free(p);
}

static void test_random(void)
{
    CHECK(wr_policy_new_random(1, 0, 10, 10) == NULL);
    CHECK(wr_policy_new_random(1, 11, 10, 10) == NULL);
    uint64_t a[20], b[20], c[20];
    random_order(7, 20, a);
    random_order(7, 20, b);
    random_order(8, 20, c);
    int same = 0, differ = 0;
    for (int i = 0; i < 20; i++) {
        same += a[i] == b[i];
        differ += a[i] != c[i];
        for (int j = i + 1; j < 20; j++)
            CHECK(a[i] != a[j]); /* every task comes out exactly once */
    }
    CHECK(same == 20);
    CHECK(differ > 0);

    /* Alone, a task runs the solo slice; a new contender cuts it to a random one. */
    wr_policy *p = wr_policy_new_random(3, 1, 10000, 1000000);
    wr_policy_push(p, tasks[0], WR_PUSH_NEW);
    wr_task *t = wr_policy_pop(p);
    CHECK(wr_policy_slice(p) == 1000000);
    wr_policy_started(p, t);
    int64_t cut = wr_policy_push(p, tasks[1], WR_PUSH_NEW);
    CHECK(cut >= 1 && cut <= 10000);
    /* Only once: the running slice is random now. A preempted push never cuts. */
    CHECK(wr_policy_push(p, tasks[2], WR_PUSH_WOKEN) == WR_NO_CUT);
    CHECK(wr_policy_push(p, tasks[3], WR_PUSH_PREEMPTED) == WR_NO_CUT);
    int64_t s = wr_policy_slice(p);
    CHECK(s >= 1 && s <= 10000);
    /* After a host call it gives way about half the time. */
    int gave = 0;
    for (int i = 0; i < 200; i++)
        gave += wr_policy_hostcall_done(p, t);
    CHECK(gave > 50 && gave < 150);
    wr_policy_free(p);
}

static void test_pct(void)
{
    CHECK(wr_policy_new_pct(1, 0, 10, 10) == NULL);
    CHECK(wr_policy_new_pct(1, 3, 0, 10) == NULL);
    /* A store whose units run the test moves by hand. */
    wr_store *s = calloc(1, sizeof *s);
    wr_policy *p = wr_policy_new_pct(5, 3, 1000, 1000000);
    wr_policy_attach(p, s);
    CHECK(wr_policy_nchange(p) == 2);
    uint64_t c0 = wr_policy_change_point(p, 0), c1 = wr_policy_change_point(p, 1);
    CHECK(c0 >= 1 && c0 <= c1 && c1 <= 1000);

    /* The highest priority runs first; priorities stay with their tasks. */
    for (int i = 0; i < 5; i++)
        wr_policy_push(p, tasks[i], WR_PUSH_NEW);
    wr_task *first = wr_policy_pop(p);
    for (int i = 0; i < 5; i++)
        if (tasks[i]->qpos != WR_TASK_IDLE)
            CHECK(tasks[i]->prio < first->prio);
    /* Slices run to the next change point. */
    CHECK(wr_policy_slice(p) == (int64_t)c0);
    wr_policy_started(p, first);
    s->ran = c0; /* it reached the first change point: its priority drops to 1, below every other */
    wr_policy_stopped(p, first, false);
    CHECK(first->prio == p->next_change && p->next_change >= 1); /* 1, or 2 if both points coincide */
    int64_t want = p->next_change == 2 ? 1000000 : (c1 > c0 + 1 ? (int64_t)(c1 - c0) : 1);
    CHECK(wr_policy_slice(p) == want);
    wr_policy_push(p, first, WR_PUSH_PREEMPTED);
    CHECK(wr_policy_pop(p) != first);
    /* A woken task that outranks the running one cuts its slice to nothing. */
    wr_policy *q = wr_policy_new_pct(9, 2, 1000, 1000000);
    wr_policy_attach(q, s);
    wr_policy_push(q, tasks[10], WR_PUSH_NEW);
    wr_policy_push(q, tasks[11], WR_PUSH_NEW);
    wr_task *run = wr_policy_pop(q), *other = wr_policy_pop(q);
    wr_policy_started(q, other); /* the lower one runs (as after a change point) */
    CHECK(wr_policy_push(q, run, WR_PUSH_WOKEN) == 0);
    CHECK(wr_policy_hostcall_done(q, other) == 1);
    wr_policy_free(q);
    wr_policy_free(p);
    free(s);
}

/* The event log: off until asked, events kept in order past its first capacity, emptied by the host. */
static void test_events(void)
{
    wr_policy *p = wr_policy_new_fair(100);
    CHECK(wr_policy_events(p) == NULL && wr_policy_events_len(p) == 0);
    CHECK(wr_policy_set_events(p, true) == 1);
    CHECK(wr_policy_set_events(p, true) == 1); /* on already: kept */
    uint32_t n = 3 * WR_EVENTS_BATCH;
    for (uint32_t i = 0; i < n; i++) {
        wr_event *e = wr_policy_add_event(p);
        CHECK(e != NULL && e->kind == 0 && e->func == 0); /* zeroed */
        e->kind = WR_EVENT_STARTED;
        e->host_id = i;
    }
    CHECK(wr_policy_events_len(p) == n);
    int in_order = 1;
    for (uint32_t i = 0; i < n; i++)
        in_order &= wr_policy_events(p)[i].host_id == i;
    CHECK(in_order);
    CHECK(wr_policy_events_clear(p) == 0); /* nothing lost */
    CHECK(wr_policy_events_len(p) == 0);
    CHECK(wr_policy_add_event(p) != NULL && wr_policy_events_len(p) == 1);
    CHECK(wr_policy_set_events(p, false) == 1);
    CHECK(wr_policy_events(p) == NULL && wr_policy_events_len(p) == 0);
    wr_policy_free(p);
}

int main(void)
{
    make_tasks();
    test_prng();
    test_fair();
    test_random();
    test_pct();
    test_events();
    free_tasks();
    return check_result("test_sched");
}
