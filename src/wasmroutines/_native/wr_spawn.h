/* wr_spawn.h: green threads the core makes, runs and recycles itself.
 *
 * The store's pool. Every green thread's wr_thread comes from it and goes
 * back to it at the thread's end: a few idle ones are kept for the next
 * spawn (with their inline stacks only: a chunk goes back to wr_stackpool.c,
 * which keeps its pages within its bound), the rest freed, and whatever is
 * left goes with the store.
 *
 * Threads the core owns. wasi-threads' thread-spawn (wr_spawn, or the native
 * wr_spawn_native) can make a
 * thread and queue its task on the store's policy with no host object for
 * it at all (`own`): the core runs it when the policy picks it (it is
 * resumable from the start, wr_exec.h), and when it returns while running in
 * C, the core ends it as the host would (the policy hears it stopped for
 * good, the next task is picked) and recycles it. The host takes such a
 * thread over (wr_spawn_disown) as soon as it must see it: the core hands it
 * over (a host call, a trap, a timed wait: WR_SWITCH names it), the host's
 * policy calls pick it, or the host lists the threads (reports, ending the
 * run). A host that must see every thread (observers, its own exit hooks, a
 * policy of its own) does not ask for owned threads.
 *
 * The spawner. A wasi-threads thread runs `wasi_thread_start(tid, arg)` on a
 * new instance made from the program's first one (wr_instance_new_like),
 * whose start function runs first, on the spawning thread, as instantiation
 * runs it. The thread ids count from 1 and stop below 2**29. */
#ifndef WR_SPAWN_H
#define WR_SPAWN_H

#include "wr_exec.h"

/* ---- the pool ---- */

/* A thread for the host (no task, no call, host id unset), or NULL when out of memory. */
wr_thread *wr_pool_take(wr_store *s);
/* The thread's call has returned or been unwound: recycled, or freed when
 * it still has frames (or the pool has enough). Its task is untied. */
void wr_pool_give(wr_thread *t);
/* Free every thread of the pool, in use or not (the store's end). */
void wr_pool_free_all(wr_store *s);

/* ---- threads the core owns ---- */

/* A thread the core owns returned (its run in C ended with WR_DONE): it is
 * no longer alive, and goes back to the pool. The caller told the policy. */
void wr_spawn_exit(wr_thread *t);
/* The host takes the thread over: from now on it is the host's, as one it spawned itself. */
void wr_spawn_disown(wr_thread *t);
/* The next thread the core owns after `t` (NULL: the first), or NULL. */
wr_thread *wr_spawn_next_owned(wr_store *s, wr_thread *t);

/* ---- wasi-threads ---- */

#define WR_MAX_TID 0x1FFFFFFFu
/* wr_spawn's results besides a thread id: */
#define WR_SPAWN_FAILED  (-6) /* -EAGAIN, for the guest: no id left, no memory, the instance failed */
#define WR_SPAWN_REFUSED (-1001) /* max_threads spawned threads alive: the host reports it, then -EAGAIN */
#define WR_SPAWN_PENDING (-1002) /* the start function stopped for the host: wr_spawn_finish */

typedef struct wr_spawner {
    struct wr_spawner *next; /* the store's list */
    const wr_instance *like;
    uint32_t entry; /* wasi_thread_start: its export index */
    uint64_t module_size; /* checked against the store's max_module_size */
    bool host_start; /* the start function is a host function: the host calls it */
    uint32_t next_tid;
    uint64_t spawned;
} wr_spawner;

/* A spawner for the threads of `like`'s program (its export `entry` is wasi_thread_start(i32, i32); its
 * module `module_size` bytes), freed with the store; NULL when out of memory. */
wr_spawner *wr_spawner_new(const wr_instance *like, uint32_t entry, uint64_t module_size);

/* thread-spawn(arg), called from a host call of thread `caller`: the new thread's id (> 0) with the
 * thread in *out, set up to call wasi_thread_start(tid, arg) and counted alive; or WR_SPAWN_FAILED,
 * WR_SPAWN_REFUSED or WR_SPAWN_PENDING. With `own` the core owns it and has queued its task on the
 * store's policy (switching in C must be on); without, the host makes it its own thread and queues it.
 * PENDING: the new instance's start function, run on `caller`, stopped for the host (a host call, a
 * slice end, a wait, a switch: the status in caller->spawn_pending_status; -1 for a host start function,
 * which the host calls); the host serves it to its end, then calls wr_spawn_finish (or, when it failed,
 * wr_spawn_abandon). */
int32_t wr_spawn(wr_spawner *sp, wr_thread *caller, uint32_t arg, bool own, wr_thread **out);
int32_t wr_spawn_finish(wr_spawner *sp, wr_thread *caller, bool own, wr_thread **out);
void wr_spawn_abandon(wr_thread *caller);

/* thread-spawn as a native host function (wr_runtime.h; ctx: the spawner), while the store allows it
 * (native_spawns: the scheduler would spawn in the core and hears nothing after host calls): the same
 * spawn with no host at all, the thread the core's. Its start function runs first on the calling
 * thread (WR_NATIVE_CALL), then the call again finishes the spawn. What the host must see (a refusal, a
 * host start function) goes to the host function. */
int wr_spawn_native(wr_thread *t, void *ctx, uint64_t *args);

/* Free the store's spawners (the store's end). */
void wr_spawner_free_all(wr_store *s);

#endif /* WR_SPAWN_H */
