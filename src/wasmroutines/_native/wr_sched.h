/* wr_sched.h: the built-in scheduling policies, in C: which runnable green
 * thread runs next, and for how long.
 *
 * A policy owns a run queue of tasks. A task is one green thread as the
 * scheduler sees it (its host id; a wasm thread's wr_thread too, or none for
 * a thread that is Python code). The host pushes every task that becomes
 * runnable, pops the next one to run and asks for its slice: the budget
 * after which the C core preempts it (WR_YIELD at a loop back-edge or call).
 *
 *   fair    FIFO, one fixed slice (round robin);
 *   random  a uniformly random runnable task for a log-uniformly random
 *           slice in [min, max], so very short slices (which expose races)
 *           come as often as long ones; a task with nobody else runnable
 *           runs a long "solo" slice, cut back to a random one when another
 *           task becomes runnable; after a host call it gives way with
 *           probability 1/2;
 *   pct     probabilistic concurrency testing (Burckhardt, Kothari,
 *           Musuvathi, Nagarakatte, ASPLOS 2010): tasks get random distinct
 *           priorities above depth-1 change points drawn in [1, steps] units;
 *           the highest-priority runnable task runs, and the task running
 *           when change point i passes drops to priority i.
 *
 * Every draw comes from the policy's own xoshiro256** (seeded through
 * splitmix64): the same seed gives the same decisions on every machine and
 * Python release. The decision log (the host id picked at each pop, 4 bytes
 * a decision) is kept only when the host turns it on: a run that neither
 * records nor explores keeps no per-decision state.
 *
 * The event log, when the host turns it on, holds what an observer of the
 * scheduler (traces, recordings, replays) would have heard of the switches
 * the C core made itself (wr_exec.c, run_switching): a slice started, a
 * thread stopped (preempted or blocked, and where), a waiting thread woken,
 * in order, with the store's units run at each. The host drains it in
 * batches whenever the core returns to it; the core returns once it holds
 * WR_EVENTS_BATCH events, so it stays small however long the run.
 */
#ifndef WR_SCHED_H
#define WR_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr_runtime.h"

#define WR_TASK_IDLE UINT32_MAX /* wr_task.qpos of a task not in a queue */

typedef struct wr_task {
    uint64_t host_id;
    uint64_t prio;             /* pct: 0 until first pushed */
    uint32_t qpos;             /* index in its policy's queue, or WR_TASK_IDLE */
    struct wr_thread *thread;  /* the wasm thread it runs (its slice), or NULL: Python code */
} wr_task;

/* xoshiro256** 1.0 (Blackman, Vigna 2018), state from splitmix64. */
typedef struct wr_rng {
    uint64_t s[4];
} wr_rng;

uint64_t wr_splitmix64(uint64_t *state);
void wr_rng_seed(wr_rng *r, uint64_t seed);
uint64_t wr_rng_next(wr_rng *r);
/* Uniform in [0, n), n >= 1, by rejection (no modulo bias); 0 when n <= 1. */
uint64_t wr_rng_below(wr_rng *r, uint64_t n);
/* A slice in [lo, hi], log-uniform: a power-of-two scale, then uniform in it. */
int64_t wr_rng_log_uniform(wr_rng *r, int64_t lo, int64_t hi);

enum wr_policy_kind { WR_POLICY_FAIR = 0, WR_POLICY_RANDOM = 1, WR_POLICY_PCT = 2 };

/* Why a task became runnable: a new or woken task contends with the running one. */
enum wr_push_reason { WR_PUSH_NEW = 0, WR_PUSH_WOKEN = 1, WR_PUSH_PREEMPTED = 2 };

#define WR_NO_CUT (-1) /* wr_policy_push: leave the running task's slice alone */

enum wr_event_kind { WR_EVENT_STARTED = 1, WR_EVENT_STOPPED = 2, WR_EVENT_WOKEN = 3 };
/* Why a thread stopped (wr_event.why): numbered as a recording numbers them (core/record.py, _WHY). */
enum wr_event_why { WR_EVENT_PREEMPTED = 0, WR_EVENT_BLOCKED = 2 };

#define WR_EVENTS_BATCH 4096 /* the core gives the host control back once its event log holds this many */

/* One event of the log. `where` is the thread's innermost wasm frame as a backtrace names it (func NULL:
 * outside wasm): the stopping thread's at a stop, the chosen thread's at a start. */
typedef struct wr_event {
    uint64_t ran;     /* the store's units run (wr_store.ran) */
    int64_t value;    /* started: the slice's budget; stopped blocked: what wr_api_thread_wait_info says (addr) */
    int64_t mono_ns;  /* CLOCK_MONOTONIC, when the store's clock is not virtual; else 0 */
    uint64_t func;    /* (uintptr_t) the wr_func of `where`, 0: outside wasm */
    uint64_t host_id; /* the thread */
    uint32_t func_index, offset;
    uint8_t kind;     /* wr_event_kind */
    uint8_t why;      /* stopped: wr_event_why */
    uint8_t wait;     /* stopped blocked: wr_api_thread_wait_info's kind (1 futex, 2/3 fd readable/writable) */
    uint8_t pad[5];
} wr_event;

typedef struct wr_policy {
    int kind;
    /* The run queue: fair keeps FIFO order in a ring (q[(head + i) % cap]);
     * random and pct an array whose order is a function of the seed alone. */
    wr_task **q;
    uint32_t n, cap, head;
    wr_rng rng;
    int64_t slice;                /* fair */
    int64_t min_slice, max_slice; /* random */
    int64_t solo_slice;           /* random, pct: a task with nobody to switch to */
    bool solo_running;
    wr_task *running; /* the task whose slice is running (wr_policy_started) */
    /* pct */
    uint32_t depth, nchange, next_change;
    uint64_t steps;
    uint64_t *change_points; /* sorted, nchange = depth - 1 */
    /* Units run by all tasks so far, as the store counts them (wr_store.ran
     * from when the policy was attached): pct's notion of progress. */
    const wr_store *store;
    uint64_t ran0;
    /* The decision log, when on. */
    bool logging;
    uint32_t *log;
    size_t nlog, log_cap;
    /* The event log, when on (events != NULL); `lost` when an event found no memory. */
    wr_event *events;
    uint32_t nevents, events_cap;
    bool events_lost;
} wr_policy;

wr_task *wr_task_new(uint64_t host_id);
void wr_task_free(wr_task *t);
/* Tie task and wasm thread to each other (thread NULL: untie the task's). */
void wr_task_bind(wr_task *task, struct wr_thread *thread);

/* NULL when out of memory or the arguments are out of range (slices >= 1,
 * min <= max; pct: depth >= 1, steps >= 1). */
wr_policy *wr_policy_new_fair(int64_t slice);
/* A fair policy's slice from its next slice on (another kind, or a slice below 1: unchanged). */
void wr_policy_set_fair_slice(wr_policy *p, int64_t slice);
wr_policy *wr_policy_new_random(uint64_t seed, int64_t min_slice, int64_t max_slice, int64_t solo_slice);
wr_policy *wr_policy_new_pct(uint64_t seed, uint32_t depth, uint64_t steps, int64_t solo_slice);
void wr_policy_free(wr_policy *p);

/* Serve store `s` from now on, its queue empty, counting progress from the
 * store's units run now (pct); NULL detaches it (the store is being freed). */
void wr_policy_attach(wr_policy *p, const wr_store *s);

/* `t` became runnable. Returns the budget the running task now has (its
 * slice cut short because `t` contends with it: set on its thread here), or
 * WR_NO_CUT; -2 when out of memory (nothing queued). A task already queued
 * stays as it is. */
int64_t wr_policy_push(wr_policy *p, wr_task *t, int reason);
/* The task to run next, removed from the queue (logged when logging), or NULL. */
wr_task *wr_policy_pop(wr_policy *p);
/* Forget `t` if queued (it is being aborted). Returns 1 if it was. */
int wr_policy_remove(wr_policy *p, wr_task *t);
/* The slice of the task pop just chose (or of the running one, going on). */
int64_t wr_policy_slice(wr_policy *p);
uint32_t wr_policy_len(const wr_policy *p);
/* Where the count wr_policy_len returns lives (inside p: valid while p is), for the host to read it with no call
 * (core/policy.py: a call from Python costs a round trip through an async host function 6%). */
const uint32_t *wr_policy_queued(const wr_policy *p);
/* pct: the change points (units run), ascending. */
uint32_t wr_policy_nchange(const wr_policy *p);
uint64_t wr_policy_change_point(const wr_policy *p, uint32_t i);

/* Events: `t` starts a slice; `t` stops (exited: it finished); a host call
 * of `t` returned: 1 when the policy wants `t` to give way now. */
void wr_policy_started(wr_policy *p, wr_task *t);
void wr_policy_stopped(wr_policy *p, wr_task *t, bool exited);
int wr_policy_hostcall_done(wr_policy *p, wr_task *t);

/* The decision log: turned on or off (off frees it), and read. */
void wr_policy_set_logging(wr_policy *p, bool on);
size_t wr_policy_log_len(const wr_policy *p);
const uint32_t *wr_policy_log(const wr_policy *p);

/* The event log: turned on (0 when out of memory) or off (off frees it); a new event to fill (NULL when out of
 * memory: events_lost is set); read and emptied by the host; 1 when an event was lost since it was last emptied. */
int wr_policy_set_events(wr_policy *p, bool on);
wr_event *wr_policy_add_event(wr_policy *p);
uint32_t wr_policy_events_len(const wr_policy *p);
const wr_event *wr_policy_events(const wr_policy *p);
int wr_policy_events_clear(wr_policy *p);

#endif /* WR_SCHED_H */
