/* wr_exec.c: wasm threads: their stacks, host entries (a call from the host,
 * possibly nested inside a host function called from wasm), unwinding and
 * trap backtraces. The dispatch loop itself is wr_interp.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "wr_api.h"
#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_io.h"
#include "wr_sched.h"
#include "wr_spawn.h"
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

#define PAGE ((size_t)4096)

static size_t page_down(size_t n) { return n / PAGE * PAGE; }
static size_t page_up(size_t n) { return (n + PAGE - 1) / PAGE * PAGE; }

/* A thread's stack chunk: room for the frame stack and the value stack, each
 * sized for the store's limits and rounded to pages (Python sizes both with
 * the same arithmetic for the byte limit: core/store.py, max_stack_bytes).
 * The two grow away from a boundary at *boundary bytes into the chunk, put
 * inside a page where the rounding leaves room (512 bytes into one if it
 * can), so that a shallow thread's first frames and first slots share it. */
static size_t chunk_bytes(const wr_store *s, size_t *boundary)
{
    _Static_assert(sizeof(wr_frame) == 3 * sizeof(void *), "core/store.py: FRAME_BYTES");
    size_t frames = (size_t)s->config.max_call_depth * sizeof(wr_frame);
    size_t slots = (size_t)s->config.stack_slots * sizeof(uint64_t);
    size_t bytes = page_up(frames) + page_up(slots);
    size_t lo = frames, hi = bytes - slots; /* where the boundary may be */
    size_t b = lo + (512 + PAGE - lo % PAGE) % PAGE;
    *boundary = b <= hi ? b : lo % PAGE ? lo : hi;
    return bytes;
}

/* The bytes of t's chunk its stacks (and the chunk's earlier users) may have touched: [*lo, *hi), in pages. */
static void touched(const wr_thread *t, size_t *lo, size_t *hi)
{
    const uint8_t *chunk = t->stack_map;
    size_t l = page_down((size_t)((const uint8_t *)(t->frames - t->max_frames) - chunk));
    size_t h = page_up((size_t)((const uint8_t *)t->stack_end - chunk));
    if (t->dirty_hi > t->dirty_lo) {
        l = t->dirty_lo < l ? t->dirty_lo : l;
        h = t->dirty_hi > h ? t->dirty_hi : h;
    }
    *lo = l;
    *hi = h;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Soft limits that cover at least `nframes` frames and `nslots` slots of the chunk, in whole pages, within the
 * hard ones. */
static void set_limits(wr_thread *t, size_t nframes, size_t nslots)
{
    uintptr_t chunk = (uintptr_t)t->stack_map, boundary = (uintptr_t)t->frames;
    size_t hard = t->hard_frames;
    nframes = min_size(nframes, hard);
    size_t low = page_down(boundary - nframes * sizeof(wr_frame) - chunk); /* >= 0: all frames fit */
    t->max_frames = (uint32_t)min_size((boundary - chunk - low) / sizeof(wr_frame), hard);
    size_t limit = t->hard_slots;
    nslots = min_size(nslots, limit);
    size_t high = page_up(boundary - chunk + nslots * sizeof(uint64_t));
    t->stack_end = t->stack + min_size((high - (boundary - chunk)) / sizeof(uint64_t), limit);
}

/* The inline stacks, sized for the store's limits now (with no frames in use). */
static void use_inline(wr_thread *t)
{
    const wr_store *s = t->store;
    t->stack_map = NULL;
    t->stack_own_map = false;
    t->dirty_lo = t->dirty_hi = 0;
    t->hard_frames = s->config.max_call_depth;
    t->hard_slots = s->config.stack_slots;
    t->frames = t->inline_frames + WR_INLINE_FRAMES;
    t->max_frames = (uint32_t)min_size(WR_INLINE_FRAMES, t->hard_frames);
    t->stack = t->inline_slots;
    t->stack_end = t->stack + min_size(WR_INLINE_SLOTS, t->hard_slots);
    t->sp = t->stack;
}

/* Move the stacks to a chunk: frames and slots copied, and every pointer into the old slots the thread holds
 * (the frames' return fps, the registers, the entries) moved as far. -1 when no chunk can be had (nothing
 * moved). */
static int move_to_chunk(wr_thread *t, uint32_t used_frames)
{
    wr_store *s = t->store;
    size_t boundary, bytes = chunk_bytes(s, &boundary), dirty_lo, dirty_hi;
    bool own = false;
    uint8_t *chunk = wr_stackpool_take(&s->stackpool, bytes, &dirty_lo, &dirty_hi);
    if (!chunk) {
        /* The store's limits changed since the pool was made, or no room for a new block: a mapping of its own. */
        void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED)
            return -1;
        chunk = mem;
        own = true;
        dirty_lo = dirty_hi = 0;
    }
    const wr_frame *old_frames = t->frames;
    uint64_t *old = t->stack;
    size_t nslots = (size_t)(t->stack_end - old);
    t->stack_map = chunk;
    t->stack_map_bytes = bytes;
    t->stack_own_map = own;
    t->dirty_lo = dirty_lo;
    t->dirty_hi = dirty_hi;
    t->frames = (wr_frame *)(chunk + boundary);
    t->stack = (uint64_t *)(chunk + boundary);
    /* The boundary's page, what the chunk's last user touched, and room for what moves. */
    size_t lo = page_down(boundary), hi = lo + PAGE;
    if (dirty_hi > dirty_lo) {
        lo = min_size(dirty_lo, lo);
        hi = dirty_hi > hi ? dirty_hi : hi;
    }
    size_t f = (boundary - lo) / sizeof(wr_frame), n = (hi - boundary) / sizeof(uint64_t);
    set_limits(t, f > used_frames ? f : used_frames, n > nslots ? n : nslots);
    memcpy(t->frames - used_frames, old_frames - used_frames, used_frames * sizeof(wr_frame));
    memcpy(t->stack, old, nslots * sizeof(uint64_t));
    /* Pointers into [old, old + nslots], the end included (sp may sit there). */
    uintptr_t from = (uintptr_t)old, to = (uintptr_t)(old + nslots);
    ptrdiff_t by = t->stack - old;
#define MOVED(p) ((p) != NULL && (uintptr_t)(p) >= from && (uintptr_t)(p) <= to ? (p) + by : (p))
    for (uint32_t i = 0; i < used_frames; i++)
        WR_FRAME(t->frames, i).ret_fp = MOVED(WR_FRAME(t->frames, i).ret_fp);
    for (uint32_t i = 0; i < t->nentries; i++) {
        wr_entry *e = &t->entries[i];
        e->fp = MOVED(e->fp);
        e->sp = MOVED(e->sp);
        e->host_args = MOVED(e->host_args);
    }
    t->fp = MOVED(t->fp);
    t->sp = MOVED(t->sp);
    t->host_args = MOVED(t->host_args);
    t->results = MOVED(t->results);
    t->wait_result = MOVED(t->wait_result);
#undef MOVED
    return 0;
}

int wr_thread_grow(wr_thread *t, uint32_t nframes, size_t nslots, uint32_t used_frames)
{
    if (nframes > t->hard_frames) {
        t->exhausted = WR_EXHAUSTED_FRAMES;
        return WR_TRAP_STACK_EXHAUSTED;
    }
    if (nslots > t->hard_slots) {
        t->exhausted = WR_EXHAUSTED_SLOTS;
        return WR_TRAP_STACK_EXHAUSTED;
    }
    if (!t->stack_map && move_to_chunk(t, used_frames) != 0)
        return WR_TRAP_OUT_OF_MEMORY;
    /* At least twice as far as before: a deep recursion comes here a few times, not once a page. */
    size_t f = t->max_frames, n = (size_t)(t->stack_end - t->stack);
    if (nframes > f)
        f = nframes > 2 * f ? nframes : 2 * f;
    if (nslots > n)
        n = nslots > 2 * n ? nslots : 2 * n;
    set_limits(t, f, n);
    return 0;
}

void wr_thread_reset_stacks(wr_thread *t)
{
    if (t->stack_own_map) {
        munmap(t->stack_map, t->stack_map_bytes);
    } else if (t->stack_map) {
        size_t lo, hi;
        touched(t, &lo, &hi);
        wr_stackpool_give(t->store->stackpool, t->stack_map, lo, hi);
    }
    use_inline(t);
}

wr_thread *wr_thread_new(wr_store *s)
{
    wr_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->store = s;
    use_inline(t);
    t->budget = INT64_MAX / 4;
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
    if (t->store->host_thread == t)
        t->store->host_thread = NULL;
    wr_thread_forget_waits(t);
    wr_exec_unlist_changed(t);
    if (t->task)
        t->task->thread = NULL;
    wr_thread_reset_stacks(t);
    free(t->io_more);
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
    if (t->nentries >= WR_MAX_NESTING && t->nframes < t->hard_frames) {
        t->exhausted = WR_EXHAUSTED_NESTING;
        return WR_TRAP_STACK_EXHAUSTED;
    }
    if (t->nframes >= t->max_frames || code->frame_slots > (size_t)(t->stack_end - base)) {
        int trap = wr_thread_grow(t, t->nframes + 1, (size_t)(base - t->stack) + code->frame_slots, t->nframes);
        if (trap)
            return trap;
        base = t->sp; /* moved with the stacks */
    }
    if (t->nentries == t->entries_cap) {
        uint32_t cap = t->entries_cap ? t->entries_cap * 2 : 4;
        wr_entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return WR_TRAP_OUT_OF_MEMORY;
        t->entries = e;
        t->entries_cap = cap;
    }
    t->exn = NULL; /* the last call's uncaught exception: the host has read it (a root until now: wr_gc.h) */
    t->entries[t->nentries++] = (wr_entry){t->pc, t->fp, t->func, t->sp, t->host_args, t->nframes, false};
    WR_FRAME(t->frames, t->nframes) = (wr_frame){NULL, NULL, NULL};
    t->nframes++;
    if (code->param_slots)
        memcpy(base, args, (size_t)code->param_slots * sizeof(uint64_t));
    if (code->init_slots)
        memcpy(base + code->param_slots, code->init, (size_t)code->init_slots * sizeof(uint64_t));
    t->pc = code->words;
    t->fp = base;
    t->func = f;
    t->trap = WR_TRAP_NONE;
    t->host_pending = false;
    t->results_func = NULL;
    return 0;
}

/* ---- switching in C (wr_exec.h, Switching) ---- */

/* The host's list of threads it must look at again. A thread the core owns is not on it: the host reads
 * such a thread's state when it takes it over (wr_spawn.h). */
static void list_changed(wr_store *s, wr_thread *t)
{
    if (t->changed || t->core_owned)
        return;
    t->changed = true;
    t->changed_prev = NULL;
    t->changed_next = s->changed_head;
    if (s->changed_head)
        s->changed_head->changed_prev = t;
    s->changed_head = t;
}

wr_thread *wr_exec_take_changed(wr_store *s)
{
    wr_thread *t = s->changed_head;
    if (t)
        wr_exec_unlist_changed(t);
    return t;
}

/* Doubly linked: a thread freed or reused leaves the list at once, however long the host left it. */
void wr_exec_unlist_changed(wr_thread *t)
{
    if (!t->changed)
        return;
    if (t->changed_prev)
        t->changed_prev->changed_next = t->changed_next;
    else
        t->store->changed_head = t->changed_next;
    if (t->changed_next)
        t->changed_next->changed_prev = t->changed_prev;
    t->changed_prev = t->changed_next = NULL;
    t->changed = false;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the event log (wr_sched.h): what the host's observers would hear of the switches made here, at the
 * moment the host would tell them, so that a trace or a recording is the same whichever side switched ---- */

static wr_event *log_event(wr_store *s, wr_policy *p, int kind, const wr_task *task)
{
    wr_event *e = wr_policy_add_event(p);
    if (e) {
        e->kind = (uint8_t)kind;
        e->host_id = task->host_id;
        e->ran = s->ran;
        if (s->clock_kind != WR_CLOCK_VIRTUAL)
            e->mono_ns = now_ns(); /* a real-time trace's stamp (virtual time stands still while threads run) */
    }
    return e;
}

/* Where t is, as the host reads a suspended thread's innermost frame (wr_api_thread_capture_backtrace). */
static void log_where(wr_event *e, const wr_thread *t)
{
    if (t == NULL || t->nframes == 0 || t->func == NULL || t->func->code == NULL)
        return;
    const wr_code *c = t->func->code;
    const wr_word *pc = t->pc > c->words ? t->pc - 1 : t->pc;
    e->func = (uint64_t)(uintptr_t)t->func;
    e->func_index = t->func->index;
    e->offset = wr_code_offset_at(c, (uint32_t)(pc - c->words));
}

static void log_stopped(wr_store *s, wr_policy *p, wr_thread *t, int status)
{
    wr_event *e = log_event(s, p, WR_EVENT_STOPPED, t->task);
    if (e == NULL)
        return;
    log_where(e, t);
    if (status == WR_WAIT) {
        uint64_t addr = 0;
        int64_t timeout;
        e->why = WR_EVENT_BLOCKED;
        e->wait = (uint8_t)wr_api_thread_wait_info(t, &addr, &timeout);
        e->value = (int64_t)addr;
    }
}

static void log_started(wr_store *s, wr_policy *p, wr_task *task)
{
    wr_event *e = log_event(s, p, WR_EVENT_STARTED, task);
    if (e) {
        e->value = task->thread ? task->thread->budget : 0; /* a Python thread has no wasm slice */
        log_where(e, task->thread);
    }
}

/* Threads whose wait ended become runnable, oldest first, as the host would
 * push them after the run that woke them (a contention cut shortens the
 * running task's slice: wr_policy_push). */
void wr_exec_push_woken(wr_store *s, wr_policy *p)
{
    wr_thread *w;
    while ((w = wr_futex_take_woken(s)) != NULL) {
        /* A thread with no task, or no room in the queue, is left to the host, which pushes what is not queued. */
        if (w->task) {
            wr_policy_push(p, w->task, WR_PUSH_WOKEN);
            if (p->events)
                log_event(s, p, WR_EVENT_WOKEN, w->task);
        }
        list_changed(s, w);
    }
}

/* Whether the host gets control back at this decision. */
static bool host_due(wr_store *s)
{
    const wr_policy *p = s->sched;
    if (--s->check_left == 0 || s->ran >= s->check_at || (p->events && p->nevents >= WR_EVENTS_BATCH)) {
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
    if (home) {
        bool queued = home->task->qpos != WR_TASK_IDLE;
        home->resumable = next != home->task && (queued || wr_thread_waits_forever(home));
    }
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
        wr_exec_push_woken(s, p);
    if (s->io == NULL || ++s->io_since_poll <= wr_policy_len(p) || wr_io_waiters(s) == 0)
        return;
    s->io_since_poll = 0;
    if (wr_io_poll(s, 0) > 0)
        wr_exec_push_woken(s, p);
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
    /* Observed, the host idles: what it may wake meanwhile, and the time that passes, are its observers' to see. */
    if (p->events || wr_exec_idle(s) <= 0)
        return false;
    if (s->woken_head)
        wr_exec_push_woken(s, p);
    return true;
}

/* Run `cur` and the threads the policy picks after it. `home` is the thread whose host called (NULL: the host
 * runs no thread here, wr_exec_pop), the only one whose stops return to the host as they are. */
static int run_switching(wr_store *s, wr_policy *p, wr_thread *home, wr_thread *cur)
{
    for (;;) {
        int status = wr_interp_run(cur);
        if (s->woken_head)
            wr_exec_push_woken(s, p);
        poll_wakeups(s, p);
        /* A wait with a timeout needs the host's timer: only home's host (our caller) may see it later. Past
         * host_stops_after the host sees every stop (a hang budget it checks there). */
        bool decide = status == WR_YIELD || (status == WR_WAIT && (cur == home || wr_thread_waits_forever(cur)));
        if (s->host_stops_after && s->ran > s->host_stops_after)
            decide = false;
        else if (status == WR_DONE && cur->core_owned && cur != home)
            decide = true; /* a thread only the core knows ended: the core ends it (wr_spawn.c) */
        if (!decide || cur->task == NULL) {
            if (cur == home)
                return status;
            return park(s, home, cur, status);
        }
        /* The host's decision at a slice end or a wait (scheduler.py: _yield, _block, _switch_out, _enter). */
        wr_task *me = cur->task, *next;
        if (status == WR_DONE) {
            /* As the host ends a thread (scheduler.py, _finish): it stopped for good; then a fresh pick. */
            wr_policy_stopped(p, me, true);
            wr_spawn_exit(cur);
            cur = home;
            me = NULL;
            next = wr_policy_pop(p);
            while (next == NULL && idle(s, p))
                next = wr_policy_pop(p);
        } else {
            if (p->events)
                log_stopped(s, p, cur, status);
            wr_policy_stopped(p, me, false);
            if (status == WR_YIELD && wr_policy_len(p) == 0) {
                next = me; /* nobody else is runnable: a fresh slice */
            } else {
                /* Out of memory: the host reports it. */
                if (status == WR_YIELD && wr_policy_push(p, me, WR_PUSH_PREEMPTED) < WR_NO_CUT)
                    return cur == home ? status : park(s, home, cur, status);
                next = wr_policy_pop(p);
                while (next == NULL && idle(s, p))
                    next = wr_policy_pop(p);
            }
        }
        if (next != NULL) {
            if (next->thread)
                next->thread->budget = wr_policy_slice(p);
            wr_policy_started(p, next);
            if (p->events)
                log_started(s, p, next);
        }
        if (!host_due(s) && next != NULL) {
            wr_thread *n = next->thread;
            if (n != NULL && n == cur)
                continue;
            if (n != NULL && (n == home || n->resumable)) {
                if (cur != NULL && cur != home)
                    set_aside(s, cur);
                if (n != home) {
                    n->resumable = false;
                    list_changed(s, n);
                }
                cur = n;
                continue;
            }
        }
        if (cur != NULL && cur != home && next != me)
            set_aside(s, cur);
        return hand_over(s, home, next);
    }
}

wr_task *wr_exec_pop(wr_store *s, bool *started)
{
    wr_policy *p = s->sched;
    *started = false;
    wr_task *task = wr_policy_pop(p);
    wr_thread *t = task ? task->thread : NULL;
    if (t == NULL || !t->core_owned || !t->resumable)
        return task;
    /* As the host would start it (scheduler.py: _start_inline), then on in C. */
    t->budget = wr_policy_slice(p);
    wr_policy_started(p, task);
    if (p->events)
        log_started(s, p, task);
    t->resumable = false;
    run_switching(s, p, NULL, t);
    *started = true;
    return s->handover;
}

int wr_exec(wr_thread *home)
{
    int status;
    home->resumable = false;
    if (home->parked) {
        /* It ran in another thread's call: report where it stopped. */
        home->parked = false;
        status = home->parked_status;
    } else if (home->store->sched == NULL || home->task == NULL) {
        status = wr_interp_run(home);
    } else {
        status = run_switching(home->store, home->store->sched, home, home);
    }
    /* A finished call's results are its host's to read now, before anything could collect: no roots of the
     * thread any more (a thread that finished in another's call keeps them until this: wr_gc.h). */
    home->results_func = NULL;
    return status;
}

const uint64_t *wr_thread_results(const wr_thread *t) { return t->results; }

void wr_thread_leave_entry(wr_thread *t)
{
    wr_entry *e = &t->entries[--t->nentries];
    t->pc = e->pc;
    t->fp = e->fp;
    t->func = e->func;
    t->sp = e->sp;
    t->host_args = e->host_args;
    t->nframes = e->nframes;
    t->left_trampoline = e->trampoline;
    /* The frame the entry interrupted is in a host call again (a native's call runs again instead). */
    t->host_pending = !e->trampoline && e->nframes > 0;
}

void wr_thread_unwind(wr_thread *t)
{
    /* A parked WR_DONE or WR_TRAP has left its entry already. */
    bool left = t->parked && (t->parked_status == WR_DONE || t->parked_status == WR_TRAP);
    t->parked = false;
    t->native_retry = false; /* a parked native call left for good */
    t->pending_exn = NULL;   /* and an exception the host threw there */
    if (left)
        return;
    /* The host's entry, and a native host function's calls above it: nobody else goes on after those. */
    while (t->nentries && t->entries[t->nentries - 1].trampoline)
        wr_thread_leave_entry(t);
    if (t->nentries)
        wr_thread_leave_entry(t);
    t->left_trampoline = false;
    t->spawn_pending = NULL;
    t->results_func = NULL;
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
    while (i > 0 && WR_FRAME(t->frames, i - 1).ret_func != NULL) {
        const wr_frame *f = &WR_FRAME(t->frames, --i);
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
