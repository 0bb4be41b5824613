/* wr_exec.c: wasm threads: their stacks, host entries (a call from the host,
 * possibly nested inside a host function called from wasm), unwinding and
 * trap backtraces. The dispatch loop itself is wr_interp.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_stackpool.h"

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
 * sized for the store's limits and rounded to pages. */
static size_t chunk_bytes(const wr_store *s, size_t *frames_bytes)
{
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
    return t;
}

void wr_thread_free(wr_thread *t)
{
    if (!t)
        return;
    wr_futex_forget(t);
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

/* The next thread to run in C after the running one waits: the oldest
 * woken thread, if it is `home` (whose host side is the caller) or may run
 * ahead of its host. Taking only the oldest keeps wake-ups in FIFO order. */
static wr_thread *handoff_next(wr_store *s, wr_thread *home)
{
    wr_thread *n = s->woken_head;
    if (n == NULL || (n != home && !n->resumable))
        return NULL;
    wr_futex_take_woken(s);
    n->resumable = false;
    return n;
}

/* cur ran ahead of its host and needs it now: keep the status for its own
 * wr_exec call and make it runnable on the host's side. */
static void park(wr_thread *cur, int status)
{
    cur->parked = true;
    cur->parked_status = status;
    cur->resumable = false;
    wr_futex_push_woken(cur);
}

int wr_exec(wr_thread *home)
{
    if (home->parked) {
        /* It ran ahead while its host side waited: report where it stopped. A
         * wait that has ended meanwhile (it was notified again) just goes on. */
        home->parked = false;
        if (home->parked_status != WR_WAIT || home->wait_mem != NULL) {
            if (home->parked_status == WR_WAIT)
                home->resumable = home->wait_timeout < 0;
            return home->parked_status;
        }
        wr_futex_unlist_woken(home);
    }
    wr_thread *cur = home;
    for (;;) {
        int status = wr_interp_run(cur);
        if (status == WR_WAIT) {
            /* May cur wait without telling its host? home's host is our caller;
             * another's host still sits in the wait it made before cur ran
             * ahead, which is enough only for a wait with no timeout. */
            bool quiet = cur == home || cur->wait_timeout < 0;
            if (cur != home)
                cur->resumable = quiet;
            wr_thread *next = quiet && cur->store->handoff ? handoff_next(cur->store, home) : NULL;
            if (next != NULL) {
                next->budget = cur->budget; /* the threads share one slice */
                cur = next;
                continue;
            }
            if (cur == home) {
                home->resumable = home->wait_timeout < 0;
                return WR_WAIT;
            }
            if (!quiet)
                park(cur, status);
        } else if (cur == home) {
            return status;
        } else {
            park(cur, status);
        }
        /* home waits still, or was notified meanwhile: then it may go on,
         * once its host has had a chance to run the parked thread. */
        if (home->woken) {
            wr_futex_unlist_woken(home);
            return WR_YIELD;
        }
        return WR_WAIT;
    }
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
