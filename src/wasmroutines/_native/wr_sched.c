/* wr_sched.c: the built-in scheduling policies (fair, random walk, PCT) and
 * their PRNG. See wr_sched.h for what each decides. */
#include <stdlib.h>
#include <string.h>

#include "wr_sched.h"
#include "wr_exec.h"

/* ---- PRNG ---- */

uint64_t wr_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void wr_rng_seed(wr_rng *r, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = wr_splitmix64(&sm);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t wr_rng_next(wr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static unsigned bit_length(uint64_t x) { return x ? 64u - (unsigned)__builtin_clzll(x) : 0u; }

uint64_t wr_rng_below(wr_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    unsigned bits = bit_length(n - 1);
    for (;;) {
        uint64_t v = wr_rng_next(r) >> (64 - bits);
        if (v < n)
            return v;
    }
}

int64_t wr_rng_log_uniform(wr_rng *r, int64_t lo, int64_t hi)
{
    if (lo == hi)
        return lo;
    unsigned lb = bit_length((uint64_t)lo), hb = bit_length((uint64_t)hi);
    unsigned top = hb > lb ? hb - lb : 0;
    int64_t scale = lo << wr_rng_below(r, top + 1);
    int64_t v = scale + (int64_t)wr_rng_below(r, (uint64_t)scale);
    return v < hi ? v : hi;
}

/* ---- tasks and policies ---- */

wr_task *wr_task_new(uint64_t host_id)
{
    wr_task *t = calloc(1, sizeof *t);
    if (t) {
        t->host_id = host_id;
        t->qpos = WR_TASK_IDLE;
    }
    return t;
}

void wr_task_free(wr_task *t)
{
    if (t && t->thread)
        t->thread->task = NULL;
    free(t);
}

void wr_task_bind(wr_task *task, wr_thread *thread)
{
    if (task->thread)
        task->thread->task = NULL;
    task->thread = thread;
    if (thread) {
        if (thread->task)
            thread->task->thread = NULL;
        thread->task = task;
    }
}

static wr_policy *policy_new(int kind)
{
    wr_policy *p = calloc(1, sizeof *p);
    if (p)
        p->kind = kind;
    return p;
}

wr_policy *wr_policy_new_fair(int64_t slice)
{
    if (slice < 1)
        return NULL;
    wr_policy *p = policy_new(WR_POLICY_FAIR);
    if (p)
        p->slice = slice;
    return p;
}

void wr_policy_set_fair_slice(wr_policy *p, int64_t slice)
{
    if (p->kind == WR_POLICY_FAIR && slice >= 1)
        p->slice = slice;
}

wr_policy *wr_policy_new_random(uint64_t seed, int64_t min_slice, int64_t max_slice, int64_t solo_slice)
{
    if (min_slice < 1 || min_slice > max_slice || (max_slice >> 62) != 0)
        return NULL;
    wr_policy *p = policy_new(WR_POLICY_RANDOM);
    if (!p)
        return NULL;
    wr_rng_seed(&p->rng, seed);
    p->min_slice = min_slice;
    p->max_slice = max_slice;
    p->solo_slice = solo_slice > max_slice ? solo_slice : max_slice;
    return p;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

wr_policy *wr_policy_new_pct(uint64_t seed, uint32_t depth, uint64_t steps, int64_t solo_slice)
{
    if (depth < 1 || steps < 1 || solo_slice < 1)
        return NULL;
    wr_policy *p = policy_new(WR_POLICY_PCT);
    if (!p)
        return NULL;
    wr_rng_seed(&p->rng, seed);
    p->depth = depth;
    p->steps = steps;
    p->solo_slice = solo_slice;
    p->nchange = depth - 1;
    if (p->nchange) {
        p->change_points = malloc(p->nchange * sizeof *p->change_points);
        if (!p->change_points) {
            free(p);
            return NULL;
        }
        for (uint32_t i = 0; i < p->nchange; i++)
            p->change_points[i] = 1 + wr_rng_below(&p->rng, steps);
        qsort(p->change_points, p->nchange, sizeof *p->change_points, cmp_u64);
    }
    return p;
}

void wr_policy_free(wr_policy *p)
{
    /* Tasks are the host's: they may be freed already, so none is touched here. */
    if (!p)
        return;
    free(p->q);
    free(p->change_points);
    free(p->log);
    free(p->events);
    free(p);
}

void wr_policy_attach(wr_policy *p, const wr_store *s)
{
    /* A policy serves one store at a time: what another store left queued is not this one's (and its
     * tasks may be gone), and NULL detaches it from a store being freed. */
    p->n = p->head = 0;
    p->running = NULL;
    p->store = s;
    p->ran0 = s ? s->ran : 0;
}

static uint64_t units_run(const wr_policy *p) { return p->store ? p->store->ran - p->ran0 : 0; }

static bool grow_queue(wr_policy *p)
{
    uint32_t cap = p->cap ? p->cap * 2 : 16;
    wr_task **q = malloc(cap * sizeof *q);
    if (!q)
        return false;
    /* Unroll the ring (fair) so that it starts at 0 again: positions move, so do the tasks' qpos. */
    for (uint32_t i = 0; i < p->n; i++) {
        q[i] = p->q[p->kind == WR_POLICY_FAIR ? (p->head + i) % p->cap : i];
        q[i]->qpos = i;
    }
    free(p->q);
    p->q = q;
    p->cap = cap;
    p->head = 0;
    return true;
}

/* pct: a task's priority, drawn when first needed: above every change point's
 * (depth - 1 at most), distinct with near certainty (ties go to the older). */
static uint64_t priority_of(wr_policy *p, wr_task *t)
{
    if (t->prio == 0)
        t->prio = p->depth + (wr_rng_next(&p->rng) >> 12);
    return t->prio;
}

int64_t wr_policy_push(wr_policy *p, wr_task *t, int reason)
{
    if (t->qpos != WR_TASK_IDLE)
        return WR_NO_CUT; /* queued already: once is enough, and no second contention draw */
    int64_t cut = WR_NO_CUT;
    bool contends = reason != WR_PUSH_PREEMPTED;
    if (p->kind == WR_POLICY_RANDOM && contends && p->solo_running && p->running) {
        /* Someone to switch to now: the solo slice ends after a random one. */
        p->solo_running = false;
        cut = wr_rng_log_uniform(&p->rng, p->min_slice, p->max_slice);
    } else if (p->kind == WR_POLICY_PCT) {
        uint64_t mine = priority_of(p, t);
        if (contends && p->running && p->running != t && mine > priority_of(p, p->running))
            cut = 0; /* outranked: the running task gives way at once */
    }
    if (p->n == p->cap && !grow_queue(p))
        return -2;
    uint32_t at = p->kind == WR_POLICY_FAIR ? (p->head + p->n) % p->cap : p->n;
    p->q[at] = t;
    t->qpos = at;
    p->n++;
    if (cut != WR_NO_CUT && p->running && p->running->thread)
        p->running->thread->budget = cut;
    return cut;
}

static void log_decision(wr_policy *p, const wr_task *t)
{
    if (p->nlog == p->log_cap) {
        size_t cap = p->log_cap ? p->log_cap * 2 : 1024;
        uint32_t *log = realloc(p->log, cap * sizeof *log);
        if (!log) {
            p->logging = false; /* the host sees a short log; it checks the length */
            return;
        }
        p->log = log;
        p->log_cap = cap;
    }
    p->log[p->nlog++] = (uint32_t)t->host_id;
}

/* Take q[i] out of an array queue, keeping the others' order (pct). */
static void take_ordered(wr_policy *p, uint32_t i)
{
    memmove(&p->q[i], &p->q[i + 1], (p->n - i - 1) * sizeof *p->q);
    p->n--;
    for (uint32_t j = i; j < p->n; j++)
        p->q[j]->qpos = j;
}

wr_task *wr_policy_pop(wr_policy *p)
{
    if (p->n == 0)
        return NULL;
    wr_task *t;
    switch (p->kind) {
    case WR_POLICY_FAIR:
        t = p->q[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        break;
    case WR_POLICY_RANDOM: {
        /* Swap-remove: O(1), and the order left behind is still a function of the seed alone. */
        uint32_t i = (uint32_t)wr_rng_below(&p->rng, p->n);
        t = p->q[i];
        p->q[i] = p->q[p->n - 1];
        p->q[i]->qpos = i;
        p->n--;
        break;
    }
    default: {
        uint32_t best = 0;
        for (uint32_t i = 1; i < p->n; i++) {
            const wr_task *a = p->q[i], *b = p->q[best];
            if (a->prio > b->prio || (a->prio == b->prio && a->host_id < b->host_id))
                best = i;
        }
        t = p->q[best];
        take_ordered(p, best);
        break;
    }
    }
    t->qpos = WR_TASK_IDLE;
    if (p->logging)
        log_decision(p, t);
    return t;
}

int wr_policy_remove(wr_policy *p, wr_task *t)
{
    if (t->qpos == WR_TASK_IDLE)
        return 0;
    if (p->kind == WR_POLICY_FAIR) {
        /* Rare (an abort): close the ring's gap by shifting what follows. */
        uint32_t i = (t->qpos + p->cap - p->head) % p->cap;
        for (; i + 1 < p->n; i++) {
            wr_task *next = p->q[(p->head + i + 1) % p->cap];
            p->q[(p->head + i) % p->cap] = next;
            next->qpos = (p->head + i) % p->cap;
        }
        p->n--;
    } else {
        take_ordered(p, t->qpos);
    }
    t->qpos = WR_TASK_IDLE;
    return 1;
}

int64_t wr_policy_slice(wr_policy *p)
{
    switch (p->kind) {
    case WR_POLICY_FAIR:
        return p->slice;
    case WR_POLICY_RANDOM:
        if (p->n == 0) {
            p->solo_running = true;
            return p->solo_slice;
        }
        p->solo_running = false;
        return wr_rng_log_uniform(&p->rng, p->min_slice, p->max_slice);
    default: {
        if (p->next_change < p->nchange) {
            uint64_t cp = p->change_points[p->next_change], now = units_run(p);
            return cp > now + 1 ? (int64_t)(cp - now) : 1;
        }
        return p->solo_slice;
    }
    }
}

uint32_t wr_policy_len(const wr_policy *p) { return p->n; }

const uint32_t *wr_policy_queued(const wr_policy *p) { return &p->n; }

uint32_t wr_policy_nchange(const wr_policy *p) { return p->nchange; }

uint64_t wr_policy_change_point(const wr_policy *p, uint32_t i) { return i < p->nchange ? p->change_points[i] : 0; }

void wr_policy_started(wr_policy *p, wr_task *t) { p->running = t; }

void wr_policy_stopped(wr_policy *p, wr_task *t, bool exited)
{
    if (p->kind == WR_POLICY_PCT && !exited) {
        /* The task reached change point k_i (maybe several): its priority drops to i. */
        uint64_t now = units_run(p);
        while (p->next_change < p->nchange && now >= p->change_points[p->next_change]) {
            p->next_change++;
            t->prio = p->next_change; /* 1-based: below every initial priority */
        }
    }
    if (p->running == t)
        p->running = NULL;
}

int wr_policy_hostcall_done(wr_policy *p, wr_task *t)
{
    if (p->n == 0)
        return 0;
    if (p->kind == WR_POLICY_RANDOM)
        return wr_rng_below(&p->rng, 2) == 0;
    if (p->kind == WR_POLICY_PCT) {
        uint64_t mine = priority_of(p, t);
        for (uint32_t i = 0; i < p->n; i++)
            if (p->q[i]->prio > mine)
                return 1;
    }
    return 0;
}

void wr_policy_set_logging(wr_policy *p, bool on)
{
    p->logging = on;
    if (!on) {
        free(p->log);
        p->log = NULL;
        p->nlog = p->log_cap = 0;
    }
}

size_t wr_policy_log_len(const wr_policy *p) { return p->nlog; }

const uint32_t *wr_policy_log(const wr_policy *p) { return p->log; }

int wr_policy_set_events(wr_policy *p, bool on)
{
    if (!on) {
        free(p->events);
        p->events = NULL;
        p->nevents = p->events_cap = 0;
        p->events_lost = false;
        return 1;
    }
    if (p->events)
        return 1;
    /* Room for a batch and the few events of the decision that fills it (the wakes one run made may add more). */
    uint32_t cap = WR_EVENTS_BATCH + 64;
    p->events = malloc(cap * sizeof *p->events);
    if (!p->events)
        return 0;
    p->events_cap = cap;
    return 1;
}

wr_event *wr_policy_add_event(wr_policy *p)
{
    if (p->nevents == p->events_cap) {
        uint32_t cap = p->events_cap * 2;
        wr_event *e = realloc(p->events, cap * sizeof *e);
        if (!e) {
            p->events_lost = true; /* the host sees it when it drains, and fails the run */
            return NULL;
        }
        p->events = e;
        p->events_cap = cap;
    }
    wr_event *e = &p->events[p->nevents++];
    memset(e, 0, sizeof *e);
    return e;
}

uint32_t wr_policy_events_len(const wr_policy *p) { return p->nevents; }

const wr_event *wr_policy_events(const wr_policy *p) { return p->events; }

int wr_policy_events_clear(wr_policy *p)
{
    int lost = p->events_lost;
    p->nevents = 0;
    p->events_lost = false;
    return lost;
}
