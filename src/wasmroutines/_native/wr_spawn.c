/* wr_spawn.c: green threads the core makes, runs and recycles itself (wr_spawn.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "wr_futex.h"
#include "wr_spawn.h"

/* Idle threads kept for reuse: enough for a spawn-and-exit loop; they keep only their inline stacks (a chunk
 * goes back to the stack pool, whose bound covers it). */
#define POOL_IDLE_MAX 64

/* ---- the pool ---- */

static void link_used(wr_store *s, wr_thread *t)
{
    t->pool_prev = NULL;
    t->pool_next = s->threads_used;
    if (s->threads_used)
        s->threads_used->pool_prev = t;
    s->threads_used = t;
}

static void unlink_used(wr_store *s, wr_thread *t)
{
    if (t->pool_prev)
        t->pool_prev->pool_next = t->pool_next;
    else
        s->threads_used = t->pool_next;
    if (t->pool_next)
        t->pool_next->pool_prev = t->pool_prev;
    t->pool_prev = t->pool_next = NULL;
}

wr_thread *wr_pool_take(wr_store *s)
{
    wr_thread *t = s->threads_idle;
    if (t) {
        s->threads_idle = t->pool_next;
        s->nthreads_idle--;
        t->idle = false;
        t->budget = INT64_MAX / 4;
    } else {
        t = wr_thread_new(s);
        if (!t)
            return NULL;
        t->pooled = true;
    }
    t->host_id = UINT64_MAX;
    link_used(s, t);
    return t;
}

/* Untie t from its task: a host's task stays the host's; its own is reset with it. */
static void untie(wr_thread *t)
{
    if (t->task && t->task != &t->own_task)
        t->task->thread = NULL;
    t->task = NULL;
}

void wr_pool_give(wr_thread *t)
{
    wr_store *s = t->store;
    unlink_used(s, t);
    if (t->nframes || t->nentries || s->nthreads_idle >= POOL_IDLE_MAX) {
        untie(t);
        wr_thread_free(t);
        return;
    }
    wr_thread_forget_waits(t);
    wr_exec_unlist_changed(t);
    untie(t);
    wr_thread_reset_stacks(t); /* a chunk goes back to the stack pool, within its bound */
    /* As new, but for the buffers it grew (host entries, a backtrace, reactor registrations), and its inline
     * stacks, not cleared. */
    wr_entry *entries = t->entries;
    uint32_t entries_cap = t->entries_cap;
    wr_backtrace_entry *backtrace = t->backtrace;
    uint32_t *io_more = t->io_more;
    uint32_t io_more_cap = t->io_more_cap;
    memset(t, 0, offsetof(wr_thread, inline_frames));
    t->store = s;
    t->entries = entries;
    t->entries_cap = entries_cap;
    t->backtrace = backtrace;
    t->io_more = io_more;
    t->io_more_cap = io_more_cap;
    wr_thread_reset_stacks(t);
    t->pooled = t->idle = true;
    t->pool_next = s->threads_idle;
    s->threads_idle = t;
    s->nthreads_idle++;
}

void wr_pool_free_all(wr_store *s)
{
    for (wr_thread *t = s->threads_used, *next; t; t = next) {
        next = t->pool_next;
        untie(t);
        wr_thread_free(t);
    }
    for (wr_thread *t = s->threads_idle, *next; t; t = next) {
        next = t->pool_next;
        wr_thread_free(t);
    }
    s->threads_used = s->threads_idle = NULL;
    s->nthreads_idle = 0;
}

/* ---- threads the core owns ---- */

void wr_spawn_exit(wr_thread *t)
{
    t->core_owned = false;
    t->store->threads_alive--;
    wr_pool_give(t);
}

void wr_spawn_disown(wr_thread *t)
{
    t->core_owned = false;
}

wr_thread *wr_spawn_next_owned(wr_store *s, wr_thread *t)
{
    for (t = t ? t->pool_next : s->threads_used; t; t = t->pool_next)
        if (t->core_owned)
            return t;
    return NULL;
}

/* ---- wasi-threads ---- */

wr_spawner *wr_spawner_new(const wr_instance *like, uint32_t entry, uint64_t module_size)
{
    wr_spawner *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    wr_store *s = like->store;
    sp->like = like;
    sp->entry = entry;
    sp->module_size = module_size;
    /* An imported start function is the same in every instance: a host one is the host's to call. */
    const wr_func *start = wr_instance_start(like);
    sp->host_start = start != NULL && start->code == NULL;
    sp->next_tid = 1;
    sp->next = s->spawners;
    s->spawners = sp;
    return sp;
}

void wr_spawner_free_all(wr_store *s)
{
    for (wr_spawner *sp = s->spawners, *next; sp; sp = next) {
        next = sp->next;
        free(sp);
    }
    s->spawners = NULL;
}

/* The checks of a spawn, then its instance: 0, WR_SPAWN_FAILED or WR_SPAWN_REFUSED. */
static int32_t begin(wr_spawner *sp, wr_instance **inst)
{
    wr_store *s = sp->like->store;
    if (sp->next_tid > WR_MAX_TID)
        return WR_SPAWN_FAILED;
    if (s->threads_alive >= s->max_threads)
        return WR_SPAWN_REFUSED;
    if (s->max_module_size && sp->module_size > s->max_module_size)
        return WR_SPAWN_FAILED; /* what instantiation would refuse */
    wr_error err;
    err.kind = 0;
    return wr_instance_new_like(sp->like, inst, &err) == 0 ? 0 : WR_SPAWN_FAILED;
}

/* The thread of a spawn whose instance `inst` is made and started (wr_spawn.h, wr_spawn_finish). */
static int32_t finish(wr_spawner *sp, wr_instance *inst, uint32_t arg, bool own, wr_thread **out)
{
    wr_store *s = inst->store;
    const wr_module *m = inst->module;
    if (sp->entry >= m->nexports || m->exports[sp->entry].kind != WR_EXTERN_FUNC)
        return WR_SPAWN_FAILED;
    wr_func *entry = wr_instance_export(inst, sp->entry).ptr;
    wr_thread *t = wr_pool_take(s);
    if (!t)
        return WR_SPAWN_FAILED;
    uint32_t tid = sp->next_tid;
    uint64_t args[2] = {tid, arg};
    if (wr_thread_call(t, entry, args) != 0) {
        wr_pool_give(t);
        return WR_SPAWN_FAILED;
    }
    t->resumable = true; /* its host side's first act is wr_exec (wr_api_thread_begin) */
    t->host_id = s->next_host_id;
    t->own_task = (wr_task){t->host_id, 0, WR_TASK_IDLE, NULL};
    wr_task_bind(&t->own_task, t);
    t->explore_shared = s->explore_shared;
    t->spawner = sp;
    t->entry = entry;
    t->spawn_tid = tid;
    t->spawn_arg = arg;
    if (own) {
        /* As the host queues a new thread (its task may cut the running slice short), after the threads the
         * start function woke, as the host's drain would queue them first. */
        if (s->sched && s->woken_head)
            wr_exec_push_woken(s, s->sched);
        if (!s->sched || wr_policy_push(s->sched, &t->own_task, WR_PUSH_NEW) < WR_NO_CUT) {
            wr_thread_unwind(t);
            wr_pool_give(t);
            return WR_SPAWN_FAILED;
        }
        t->core_owned = true;
    }
    s->next_host_id++;
    s->threads_alive++;
    sp->next_tid++;
    sp->spawned++;
    *out = t;
    return (int32_t)tid;
}

int32_t wr_spawn_finish(wr_spawner *sp, wr_thread *caller, bool own, wr_thread **out)
{
    wr_instance *inst = caller->spawn_pending;
    caller->spawn_pending = NULL;
    *out = NULL;
    return inst ? finish(sp, inst, caller->spawn_pending_arg, own, out) : WR_SPAWN_FAILED;
}

void wr_spawn_abandon(wr_thread *caller)
{
    caller->spawn_pending = NULL;
}

int32_t wr_spawn(wr_spawner *sp, wr_thread *caller, uint32_t arg, bool own, wr_thread **out)
{
    *out = NULL;
    if (caller->spawn_pending && caller->spawn_pending_entries == caller->nentries) {
        /* A native spawn whose start function ran, left to the host (wr_spawn_native): finish it. */
        wr_instance *inst = caller->spawn_pending;
        caller->spawn_pending = NULL;
        return finish(sp, inst, arg, own, out);
    }
    if (caller->spawn_pending)
        return WR_SPAWN_FAILED; /* a start function spawning while its own spawn waits for it */
    wr_instance *inst;
    int32_t r = begin(sp, &inst);
    if (r)
        return r;
    wr_func *start = wr_instance_start(inst);
    if (start) {
        caller->spawn_pending = inst;
        caller->spawn_pending_arg = arg;
        caller->spawn_pending_entries =
            UINT32_MAX; /* the host's: no native call of this thread finishes it */
        if (!start->code) {
            caller->spawn_pending_status = -1; /* a host function: the host calls it */
            return WR_SPAWN_PENDING;
        }
        /* As instantiation runs it: on the spawning thread, as a call of its own (wr_exec.h). */
        if (wr_thread_call(caller, start, NULL) != 0) {
            caller->spawn_pending = NULL;
            return WR_SPAWN_FAILED;
        }
        int status = wr_exec(caller);
        if (status == WR_TRAP) {
            caller->spawn_pending = NULL;
            return WR_SPAWN_FAILED;
        }
        if (status != WR_DONE) {
            caller->spawn_pending_status = status;
            return WR_SPAWN_PENDING;
        }
        caller->spawn_pending = NULL;
    }
    return finish(sp, inst, arg, own, out);
}

int wr_spawn_native(wr_thread *t, void *ctx, uint64_t *args)
{
    wr_spawner *sp = ctx;
    wr_store *s = t->store;
    uint32_t arg = (uint32_t)args[0];
    wr_thread *out;
    if (t->spawn_pending && t->spawn_pending_entries == t->nentries) {
        /* The call again, its instance's start function run (WR_NATIVE_CALL). */
        if (t->native_call_trapped) {
            t->native_call_trapped = false;
            t->spawn_pending = NULL;
            args[0] = (uint32_t)WR_SPAWN_FAILED;
            return WR_NATIVE_DONE;
        }
        if (!s->native_spawns || !s->sched)
            return WR_NATIVE_HOST; /* the host must see the thread now (it finishes the spawn: wr_spawn) */
        wr_instance *inst = t->spawn_pending;
        t->spawn_pending = NULL;
        args[0] = (uint32_t)finish(sp, inst, arg, true, &out);
        return WR_NATIVE_DONE;
    }
    /* The host's own path for what it must see or do: a policy it must hear after host calls, a spawn it
     * reports (a refusal), a start function it calls; and for a spawn of a thread whose own waits. */
    if (!s->native_spawns || !s->sched || !t->task || t->spawn_pending || sp->host_start ||
        (sp->next_tid <= WR_MAX_TID && s->threads_alive >= s->max_threads))
        return WR_NATIVE_HOST;
    wr_instance *inst;
    int32_t r = begin(sp, &inst);
    if (r) {
        args[0] = (uint32_t)r; /* WR_SPAWN_FAILED, as the host would answer */
        return WR_NATIVE_DONE;
    }
    wr_func *start = wr_instance_start(inst);
    if (start) {
        /* Its start function first, on this thread, as a call of its own; then this call again, to finish. */
        t->spawn_pending = inst;
        t->spawn_pending_entries = t->nentries;
        t->native_call = start;
        t->native_call_trapped = false;
        return WR_NATIVE_CALL;
    }
    args[0] = (uint32_t)finish(sp, inst, arg, true, &out);
    return WR_NATIVE_DONE;
}
