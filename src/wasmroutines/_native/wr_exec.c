/* wr_exec.c: wasm threads: their stacks, host entries (a call from the host,
 * possibly nested inside a host function called from wasm), unwinding and
 * trap backtraces. The dispatch loop itself is wr_interp.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_io.h"
#include "wr_sched.h"
#include "wr_stackpool.h"
#include "wr_timer.h"

const char *wr_trap_message(int trap)
{
    static const char *const msgs[] = {
#define WR_TRAP_MSG(name, msg) msg,
        WR_TRAP_LIST(WR_TRAP_MSG)
#undef WR_TRAP_MSG
    };
    if (trap < 0 || trap >= WR_TRAP_COUNT)
        return "unknown trap";
    return msgs[trap];
}

/* A thread's stack chunk: the frame stack, then the value stack, each
 * sized for the store's limits and rounded to pages. Python sizes both with
 * the same arithmetic for the byte limit (core/store.py, max_stack_bytes). */
static size_t chunk_bytes(const wr_store *s, size_t *frames_bytes)
{
    _Static_assert(sizeof(wr_frame) == 3 * sizeof(void *), "core/store.py: FRAME_BYTES");
    const size_t page = 4096;
    size_t fb = ((size_t)s->config.max_call_depth * sizeof(wr_frame) + page - 1) / page * page;
    size_t sb = ((size_t)s->config.stack_slots * sizeof(uint64_t) + page - 1) / page * page;
    *frames_bytes = fb;
    return fb + sb;
}

wr_thread *wr_thread_new(wr_store *s)
{
    wr_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->store = s;
    size_t fb, bytes = chunk_bytes(s, &fb);
    uint8_t *chunk = wr_stackpool_take(&s->stackpool, bytes);
    if (!chunk) {
        /* The store's limits changed since the pool was made: a mapping of its own. */
        void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) {
            free(t);
            return NULL;
        }
        chunk = mem;
        t->stack_own_map = true;
    }
    t->stack_map = chunk;
    t->stack_map_bytes = bytes;
    t->frames = (wr_frame *)chunk;
    t->max_frames = s->config.max_call_depth;
    t->stack = (uint64_t *)(chunk + fb);
    t->stack_end = t->stack + s->config.stack_slots;
    t->sp = t->stack;
    t->budget = INT64_MAX / 4;
    t->io_fd = -1;
    return t;
}

int wr_thread_cancel_wait(wr_thread *t)
{
    if (wr_io_cancel(t)) {
        t->resumable = false; /* the host ends this wait: it runs the thread itself */
        wr_futex_list_woken(t);
        return 1;
    }
    return wr_futex_cancel(t);
}

void wr_thread_forget_waits(wr_thread *t)
{
    wr_io_cancel(t);
    wr_futex_forget(t);
}

void wr_thread_free(wr_thread *t)
{
    if (!t)
        return;
    wr_thread_forget_waits(t);
    wr_exec_unlist_changed(t);
    if (t->task)
        t->task->thread = NULL;
    if (t->stack_own_map)
        munmap(t->stack_map, t->stack_map_bytes);
    else
        wr_stackpool_give(t->store->stackpool, t->stack_map);
    free(t->entries);
    free(t->backtrace);
    free(t);
}

int wr_thread_call(wr_thread *t, wr_func *f, const uint64_t *args)
{
    const wr_code *code = f->code;
    if (code == NULL)
        return WR_TRAP_UNREACHABLE; /* host functions are called by the host */
    uint64_t *base = t->sp;
    if (t->nframes >= t->max_frames || t->nentries >= WR_MAX_NESTING ||
        code->frame_slots > (size_t)(t->stack_end - base)) {
        t->exhausted = t->nframes >= t->max_frames ? WR_EXHAUSTED_FRAMES
                       : t->nentries >= WR_MAX_NESTING ? WR_EXHAUSTED_NESTING
                                                       : WR_EXHAUSTED_SLOTS;
        return WR_TRAP_STACK_EXHAUSTED;
    }
    if (t->nentries == t->entries_cap) {
        uint32_t cap = t->entries_cap ? t->entries_cap * 2 : 4;
        wr_entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return WR_TRAP_OUT_OF_MEMORY;
        t->entries = e;
        t->entries_cap = cap;
    }
    t->entries[t->nentries++] = (wr_entry){t->pc, t->fp, t->func, t->sp, t->nframes};
    t->frames[t->nframes++] = (wr_frame){NULL, NULL, NULL};
    if (code->param_slots)
        memcpy(base, args, (size_t)code->param_slots * sizeof(uint64_t));
    if (code->init_slots)
        memcpy(base + code->param_slots, code->init, (size_t)code->init_slots * sizeof(uint64_t));
    t->pc = code->words;
    t->fp = base;
    t->func = f;
    t->trap = WR_TRAP_NONE;
    return 0;
}

/* ---- switching in C (wr_exec.h, Switching) ---- */

static void list_changed(wr_store *s, wr_thread *t)
{
    if (t->changed)
        return;
    t->changed = true;
    t->changed_next = s->changed_head;
    s->changed_head = t;
}

wr_thread *wr_exec_take_changed(wr_store *s)
{
    wr_thread *t = s->changed_head;
    if (t) {
        s->changed_head = t->changed_next;
        t->changed_next = NULL;
        t->changed = false;
    }
    return t;
}

void wr_exec_unlist_changed(wr_thread *t)
{
    if (!t->changed)
        return;
    wr_thread **at = &t->store->changed_head;
    while (*at != t)
        at = &(*at)->changed_next;
    *at = t->changed_next;
    t->changed_next = NULL;
    t->changed = false;
}

/* Threads whose wait ended become runnable, oldest first, as the host would
 * push them after the run that woke them (a contention cut shortens the
 * running task's slice: wr_policy_push). */
static void push_woken(wr_store *s, wr_policy *p)
{
    wr_thread *w;
    while ((w = wr_futex_take_woken(s)) != NULL) {
        /* A thread with no task, or no room in the queue, is left to the host, which pushes what is not queued. */
        if (w->task)
            wr_policy_push(p, w->task, WR_PUSH_WOKEN);
        list_changed(s, w);
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether the host gets control back at this decision. */
static bool host_due(wr_store *s)
{
    if (--s->check_left == 0 || s->ran >= s->check_at) {
        s->check_left = s->check_every;
        s->check_at = s->ran + s->check_units;
        return true;
    }
    return s->wall_deadline_ns != 0 && now_ns() >= s->wall_deadline_ns;
}

/* Return WR_SWITCH to home's host: `next` runs next (NULL: nobody can). home
 * stopped (unless it is `next`, going on), queued or waiting; once its host
 * has switched away it only waits to call wr_exec again, unless a timeout
 * of its wait needs the host's timer. */
static int hand_over(wr_store *s, wr_thread *home, wr_task *next)
{
    s->handover = next;
    bool queued = home->task->qpos != WR_TASK_IDLE;
    home->resumable = next != home->task && (queued || wr_thread_waits_forever(home));
    return WR_SWITCH;
}

/* cur, run in home's call, stops at a decision and stays in C: queued or waiting, its host side still waits to
 * call wr_exec, so it may run in C again; the host hears of it (the changed list). */
static void set_aside(wr_store *s, wr_thread *cur)
{
    cur->resumable = true;
    list_changed(s, cur);
}

/* cur ran in another thread's call and needs its host now: its own next wr_exec call returns `status`, and
 * home's host runs it next, with no decision made (as if cur's own call had returned it). */
static int park(wr_store *s, wr_thread *home, wr_thread *cur, int status)
{
    cur->parked = true;
    cur->parked_status = status;
    list_changed(s, cur);
    return hand_over(s, home, cur->task);
}

/* Threads whose wait ended outside wasm join the run queue: descriptors ready (wr_io.h), polled without
 * blocking once per pass over the queue so that spinning threads cannot starve IO; timeouts due on the
 * monotonic clock (wr_timer.h; virtual time does not move while threads run). */
static void poll_wakeups(wr_store *s, wr_policy *p)
{
    if (s->ntimers && s->clock_kind == WR_CLOCK_MONOTONIC && wr_timer_fire(s))
        push_woken(s, p);
    if (s->io == NULL || ++s->io_since_poll <= wr_policy_len(p) || wr_io_waiters(s) == 0)
        return;
    s->io_since_poll = 0;
    if (wr_io_poll(s, 0) > 0)
        push_woken(s, p);
}

/* Sleep until `until` (CLOCK_MONOTONIC ns); false when a signal came first. */
static bool sleep_until(int64_t until)
{
    struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
    return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0;
}

int wr_exec_idle(wr_store *s)
{
    bool io = wr_io_waiters(s) > 0;
    if (!io && s->ntimers == 0)
        return 0;
    s->io_since_poll = 0;
    bool woke = io && wr_io_poll(s, 0) > 0;
    if (wr_timer_fire(s) > 0)
        woke = true;
    if (woke)
        return 1;
    if (!s->io_may_block)
        return 0;
    int64_t next = wr_timer_next(s);
    if (s->clock_kind == WR_CLOCK_VIRTUAL && next != INT64_MAX) {
        if (next > s->virtual_now)
            s->virtual_now = next;
        wr_timer_fire(s);
        return 1;
    }
    int64_t until = s->clock_kind == WR_CLOCK_MONOTONIC ? next : INT64_MAX;
    if (s->wall_deadline_ns != 0 && s->wall_deadline_ns < until)
        until = s->wall_deadline_ns;
    if (until == INT64_MAX && !io)
        return 0;
    int64_t now = now_ns();
    if (until <= now)
        return until == next ? (wr_timer_fire(s), 1) : 0; /* a timeout: fire it; the wall deadline: the host's */
    if (io) {
        int64_t ms = until == INT64_MAX ? -1 : (until - now + 999999) / 1000000;
        if (wr_io_poll(s, ms > 1000000 ? 1000000 : (int)ms) < 0)
            return -1;
    } else if (!sleep_until(until)) {
        return -1;
    }
    wr_timer_fire(s);
    return 1;
}

/* Nobody can run: idle in the core (wr_exec_idle); true to look at the run queue again. */
static bool idle(wr_store *s, wr_policy *p)
{
    if (wr_exec_idle(s) <= 0)
        return false;
    if (s->woken_head)
        push_woken(s, p);
    return true;
}

static int run_switching(wr_store *s, wr_policy *p, wr_thread *home)
{
    wr_thread *cur = home;
    for (;;) {
        int status = wr_interp_run(cur);
        if (s->woken_head)
            push_woken(s, p);
        poll_wakeups(s, p);
        /* A wait with a timeout needs the host's timer: only home's host (our caller) may see it later. Past
         * host_stops_after the host sees every stop (a hang budget it checks there). */
        bool decide = status == WR_YIELD || (status == WR_WAIT && (cur == home || wr_thread_waits_forever(cur)));
        if (s->host_stops_after && s->ran > s->host_stops_after)
            decide = false;
        if (!decide || cur->task == NULL) {
            if (cur == home)
                return status;
            return park(s, home, cur, status);
        }
        /* The host's decision at a slice end or a wait (scheduler.py: _yield, _block, _switch_out, _enter). */
        wr_task *me = cur->task, *next;
        wr_policy_stopped(p, me, false);
        if (status == WR_YIELD && wr_policy_len(p) == 0) {
            next = me; /* nobody else is runnable: a fresh slice */
        } else {
            if (status == WR_YIELD && wr_policy_push(p, me, WR_PUSH_PREEMPTED) < WR_NO_CUT)
                return cur == home ? status : park(s, home, cur, status); /* out of memory: the host reports it */
            next = wr_policy_pop(p);
            while (next == NULL && idle(s, p))
                next = wr_policy_pop(p);
        }
        if (next != NULL) {
            if (next->thread)
                next->thread->budget = wr_policy_slice(p);
            wr_policy_started(p, next);
        }
        if (!host_due(s) && next != NULL) {
            wr_thread *n = next->thread;
            if (n == cur)
                continue;
            if (n != NULL && (n == home || n->resumable)) {
                if (cur != home)
                    set_aside(s, cur);
                if (n != home) {
                    n->resumable = false;
                    list_changed(s, n);
                }
                cur = n;
                continue;
            }
        }
        if (cur != home && next != me)
            set_aside(s, cur);
        return hand_over(s, home, next);
    }
}

int wr_exec(wr_thread *home)
{
    home->resumable = false;
    if (home->parked) {
        /* It ran in another thread's call: report where it stopped. */
        home->parked = false;
        return home->parked_status;
    }
    wr_store *s = home->store;
    if (s->sched == NULL || home->task == NULL)
        return wr_interp_run(home);
    return run_switching(s, s->sched, home);
}

const uint64_t *wr_thread_results(const wr_thread *t) { return t->results; }

void wr_thread_leave_entry(wr_thread *t)
{
    wr_entry *e = &t->entries[--t->nentries];
    t->pc = e->pc;
    t->fp = e->fp;
    t->func = e->func;
    t->sp = e->sp;
    t->nframes = e->nframes;
}

void wr_thread_unwind(wr_thread *t)
{
    /* A parked WR_DONE or WR_TRAP has left its entry already. */
    bool left = t->parked && (t->parked_status == WR_DONE || t->parked_status == WR_TRAP);
    t->parked = false;
    if (!left && t->nentries)
        wr_thread_leave_entry(t);
}

void wr_thread_record_backtrace(wr_thread *t, const wr_func *func, const wr_word *pc)
{
    uint32_t n = 0;
    t->nbacktrace = 0;
    if (!t->backtrace) {
        /* Allocated on first use: most threads never trap. */
        t->backtrace = malloc(WR_BACKTRACE_MAX * sizeof *t->backtrace);
        if (!t->backtrace)
            return;
    }
    /* The trapping function at pc, then each caller at its call site (the
     * word before its return pc lies inside the call instruction). */
    t->backtrace[n].func = func;
    t->backtrace[n].offset = wr_code_offset_at(func->code, (uint32_t)(pc - func->code->words));
    n++;
    uint32_t i = t->nframes;
    t->backtrace_truncated = false;
    while (i > 0 && t->frames[i - 1].ret_func != NULL) {
        const wr_frame *f = &t->frames[--i];
        if (n == WR_BACKTRACE_MAX) {
            t->backtrace_truncated = true;
            break;
        }
        const wr_code *c = f->ret_func->code;
        t->backtrace[n].func = f->ret_func;
        t->backtrace[n].offset = wr_code_offset_at(c, (uint32_t)(f->ret_pc - 1 - c->words));
        n++;
    }
    t->nbacktrace = n;
}
