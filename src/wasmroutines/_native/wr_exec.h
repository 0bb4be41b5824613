/* wr_exec.h: wasm threads of execution and the entry to the dispatch loop.
 *
 * A wr_thread is one wasm thread: a value stack of 64-bit slots and an
 * explicit frame stack. Wasm-to-wasm calls push a wr_frame and stay in the
 * dispatch loop: the C stack does not grow with wasm call depth
 * (architecture invariant).
 *
 * wr_exec() runs a thread until something needs the host. Every way out is
 * restartable: the thread's registers (pc, fp, func) are saved in the thread,
 * and calling wr_exec() again resumes exactly where it stopped:
 *
 *   WR_DONE      the outermost call of this wr_thread_call finished; results
 *                are at wr_thread_results().
 *   WR_HOSTCALL  wasm called a host function: t->host_func, its arguments in
 *                t->host_args[]. The host writes the results to the same
 *                slots and calls wr_exec() again. (A call into wasm on the
 *                thread meanwhile may move its stacks: read t->host_args
 *                again after one.)
 *   WR_YIELD     the time slice ran out (t->budget <= 0) at a loop back-edge
 *                or call; pc is left at the check. Refill and resume.
 *   WR_OUT_OF_FUEL  the store's fuel ran out (every thread of the store draws
 *                on it); add fuel to resume, or unwind.
 *   WR_TRAP      a trap: t->trap says which, t->backtrace the frames.
 *                The frames of the current call are already unwound.
 *                An exception no handler caught comes out the same way
 *                (WR_TRAP_UNCAUGHT_EXCEPTION), the exception in t->exn:
 *                everything that ends a call on a trap ends it on that too.
 *   WR_WAIT      memory.atomic.wait blocked: the thread is queued
 *                (t->wait_mem, t->wait_addr, t->wait_timeout) and resumes
 *                after the wait once notified or timed out (wr_futex.h);
 *                or a native host function parked it in the store's
 *                reactor (t->io_parked, wr_io.h: descriptors, a timeout):
 *                it repeats the call once woken.
 *                Either way it is on the store's woken list when it ends.
 *
 *   WR_SWITCH    (switching in C only) the thread stopped and the policy
 *                chose another to run: the host runs the task the store's
 *                `handover` names (NULL: none is runnable) and calls
 *                wr_exec() on this thread again once it is chosen.
 *
 * Switching (wr_exec.c; on while the store's `sched` names a built-in policy,
 * wr_sched.h): a thread's wasm state is all in its wr_thread, and the host
 * side of a thread stopped at a slice end or a wait only waits to call
 * wr_exec() again (it is *resumable*). So at a slice end or a wait wr_exec
 * asks the policy itself (stopped, push, pop, slice, started: the calls the
 * host would make, in the same order) and, when the chosen thread is
 * resumable, runs it in the same call: threads switch with no host round
 * trip. A thread run this way that needs its host (a host call, a trap, its
 * end, a wait with a timeout) is *parked*: its status is kept for its own
 * next wr_exec call, and the host is asked to run it next (WR_SWITCH). The
 * host also gets control back every `check_every` decisions or
 * `check_units` units run, and once the wall-clock deadline passes (Ctrl-C,
 * wall time, its own timers and descriptors): counted in decisions and units,
 * and after the decision is made, so it changes nothing of the schedule.
 * Threads whose state changed meanwhile are listed for the host
 * (wr_exec_take_changed).
 */
#ifndef WR_EXEC_H
#define WR_EXEC_H

#include <stddef.h>

#include "wr_code.h"
#include "wr_runtime.h"
#include "wr_sched.h"
#include "wr_trap.h"

enum wr_status {
    WR_DONE = 0,
    WR_HOSTCALL = 1,
    WR_YIELD = 2,
    WR_OUT_OF_FUEL = 3,
    WR_TRAP = 4,
    WR_WAIT = 5,
    WR_SWITCH = 6,
};

/* One active wasm call. A frame whose ret_func is NULL is a host entry: the
 * bottom frame of a wr_thread_call; returning through it ends the call. */
typedef struct wr_frame {
    const wr_word *ret_pc; /* where the caller resumes */
    uint64_t *ret_fp;
    wr_func *ret_func; /* the caller; NULL at a host entry */
} wr_frame;

/* What a host entry saves of the thread it interrupts: a host function
 * may call back into wasm while an outer call waits for its results. */
typedef struct wr_entry {
    const wr_word *pc;
    uint64_t *fp;
    wr_func *func;
    uint64_t *sp;
    uint64_t *host_args; /* the host call the entry interrupts: its slots again once the entry is left */
    uint32_t nframes;    /* frames below the entry frame */
    bool trampoline;     /* a native host function's call (WR_NATIVE_CALL): wr_interp_run goes on after it */
} wr_entry;

#define WR_MAX_NESTING 256 /* host -> wasm re-entries per thread */

/* Which limit a WR_TRAP_STACK_EXHAUSTED hit: the frame stack (the store's
 * max_call_depth), the value stack (stack_slots), or host re-entries. */
enum { WR_EXHAUSTED_FRAMES = 0, WR_EXHAUSTED_SLOTS = 1, WR_EXHAUSTED_NESTING = 2 };

typedef struct wr_backtrace_entry {
    const wr_func *func;
    uint32_t offset; /* wasm byte offset in the module of the instruction */
} wr_backtrace_entry;

#define WR_BACKTRACE_MAX 64

/* Frame i (0: the bottom) of a frame stack: frames grow down (see wr_thread). */
#define WR_FRAME(frames, i) ((frames)[-1 - (ptrdiff_t)(i)])

/* The stacks a thread starts with, inside its wr_thread: enough for a shallow thread (most wasi-threads
 * threads), which then touches no page of its own. */
#define WR_INLINE_FRAMES 16
#define WR_INLINE_SLOTS 208

typedef struct wr_thread {
    wr_store *store;
    /* Both stacks start inside the thread (inline_frames, inline_slots). A
     * call that needs more moves them (wr_thread_grow) to one chunk from
     * the store's pool (wr_stackpool.c), or a mapping of its own (stack_map
     * then), where they grow away from one boundary: the value stack up from
     * `stack`, the frame stack down from `frames` (both the boundary), so a
     * thread that needs little more touches one page of it. A thread's
     * stacks may move, so nothing keeps a pointer into them across a call
     * into wasm but through the thread (its frames, registers and entries,
     * host_args, results, wait_result: the move updates those). */
    void *stack_map;
    size_t stack_map_bytes;
    bool stack_own_map;
    size_t dirty_lo, dirty_hi; /* bytes of the chunk touched before this thread had it */
    /* Value stack: stack[0 ..) up to stack_end. */
    uint64_t *stack, *stack_end;
    /* Frame stack: WR_FRAME(frames, i) for i < nframes, up to max_frames. */
    wr_frame *frames;
    uint32_t nframes, max_frames;
    /* max_frames and stack_end, the limits a call checks, cover only the
     * inline stacks or the pages of the chunk touched so far; a call past them
     * goes through wr_thread_grow, which moves the stacks to a chunk or the
     * limits toward the store's (hard_frames, hard_slots), or reports the
     * stack exhausted. So what a thread touched is known when its chunk goes
     * back to the pool, at no cost to a call. */
    uint32_t hard_frames, hard_slots;
    /* wr_interp.c: the frames and slots a call waits for, or the trap growing to them gave. */
    uint32_t grow_frames;
    size_t grow_slots;
    int grow_trap;
    /* Host entries: entries[0 .. nentries), grown on demand up to
     * WR_MAX_NESTING (an idle thread should cost little memory). */
    wr_entry *entries;
    uint32_t nentries, entries_cap;
    /* Registers while not inside wr_exec. */
    const wr_word *pc;
    uint64_t *fp;
    wr_func *func;
    uint64_t *sp; /* first slot a new host entry may use */
    /* The accumulators (wr_interp.c) while suspended. */
    uint64_t acc_i;
    float acc_f;
    double acc_d;
    uint64_t *results; /* WR_DONE: where the results are */
    /* GC roots (wr_gc.h) the frames do not show: the function whose results wait at `results` for the host
     * to read them (until the thread runs or calls again), and whether the current frame is in a host call
     * whose results are not written yet (its pc is the call's return position: wr_stackmap.h's
     * WR_SM_CALL; the host says when it has written them, wr_api_thread_host_returned). */
    const wr_func *results_func;
    bool host_pending;
    /* WR_HOSTCALL */
    wr_func *host_func;
    uint64_t *host_args;
    /* Preemption: the slice budget (fuel is the store's: wr_runtime.h). */
    int64_t budget;
    /* Exploration mode: every access to a shared memory charges the budget
     * and may yield (wr_interp.c, MEM_SLOW); access_granted is internal. */
    bool explore_shared;
    bool access_granted;
    /* Memory 0 of the running instance while the loop explores it (shared, explore_shared), else NULL: set with
     * the loop's memory registers (wr_interp.c, LOAD_MEM), read by the slow path of its accesses. */
    const wr_memory *explore_mem;
    /* WR_WAIT: the futex queue this thread waits in (wr_futex.c). */
    wr_memory *wait_mem; /* NULL when not waiting */
    uint64_t wait_addr;
    uint64_t *wait_result;
    int64_t wait_timeout; /* nanoseconds; negative waits forever */
    struct wr_thread *wait_prev, *wait_next;
    /* Its timeout, when the store's clock keeps it (wr_timer.h): place in the
     * store's heap + 1 (0: none), deadline, arrival. */
    uint32_t timer_pos;
    int64_t timer_deadline;
    uint64_t timer_seq;
    /* Or WR_WAIT in the store's IO reactor (wr_io.h): until one of its io_n
     * descriptors is ready (each fd << 1 | 1 when for writing: the first in
     * io_one, the others in io_more, kept for reuse) or its timeout passes
     * (timer_pos), whichever comes first. */
    bool io_parked;
    uint32_t io_n, io_more_cap;
    uint32_t io_one;
    uint32_t *io_more;
    /* A native host function's call that parked runs again when woken
     * (wr_runtime.h): when it first ran, on the store's clock, so that a
     * timeout counts from then (poll_oneoff). */
    bool native_retry;
    int64_t native_since;
    bool woken; /* on the store's woken list */
    struct wr_thread *woken_next;
    /* Switching in C: its entry in the store's policy (bound by the host;
     * NULL for a thread no scheduler runs); on the store's changed list; its
     * host side only waits to call wr_exec again, so it may run in another
     * thread's call; or it ran there and stopped with `parked_status` for its
     * own next wr_exec call. */
    struct wr_task *task;
    bool changed;
    struct wr_thread *changed_prev, *changed_next;
    bool resumable;
    bool parked;
    int parked_status;
    uint64_t host_id; /* the host's handle for this thread */
    /* Made by the store's pool (wr_spawn.c): on its list of threads in use
     * (or idle, kept for reuse), freed with the store. */
    bool pooled, idle;
    struct wr_thread *pool_prev, *pool_next;
    /* Spawned by the core (wr_spawn.c): its task is its own, and the spawn's
     * facts are kept for the host. While `core_owned`, the host has no handle
     * for it: the core runs it and recycles it at its end; the host takes it
     * over (wr_spawn_disown) when it must see it. */
    bool core_owned;
    wr_task own_task;
    struct wr_spawner *spawner;
    wr_func *entry;
    uint32_t spawn_tid, spawn_arg;
    /* A native host function's call (WR_NATIVE_CALL, wr_runtime.h): the function, whether that call trapped,
     * and whether the entry last left was one. A spawn of this thread waiting for its start function
     * (wr_spawn.c): the instance, the entries this thread had when it began (UINT32_MAX: the host's spawn),
     * the argument, the host's status. */
    wr_func *native_call;
    bool native_call_trapped, left_trampoline;
    wr_instance *spawn_pending;
    uint32_t spawn_pending_entries, spawn_pending_arg;
    int spawn_pending_status;
    /* Exception handling: the exception a WR_TRAP_UNCAUGHT_EXCEPTION carries out; and one the host threw
     * where the thread stopped for it (a host call), which the thread throws there when it runs again
     * (wr_interp.c, do_throw), as if the call had thrown it. */
    struct wr_exn *exn;
    struct wr_exn *pending_exn;
    const wr_word *host_pc; /* WR_HOSTCALL: the call instruction (a return_call's too) */
    /* What a throw throws, for the unwinder (wr_interp.c, do_throw): the tag, the payload's slots, the
     * exception when it has one yet, whether the current frame's handlers do not apply. */
    struct wr_tag *throw_tag;
    uint64_t *throw_payload;
    struct wr_exn *throw_exn;
    bool throw_skip;
    /* WR_TRAP */
    int trap;
    uint8_t exhausted; /* WR_TRAP_STACK_EXHAUSTED: which limit (wr_api_thread_exhausted) */
    uint32_t nbacktrace;
    bool backtrace_truncated;
    wr_backtrace_entry *backtrace; /* WR_BACKTRACE_MAX entries, made on first use */
    /* The first stacks (frames grow down from the end of inline_frames); last (wr_spawn.c resets the rest). */
    wr_frame inline_frames[WR_INLINE_FRAMES];
    uint64_t inline_slots[WR_INLINE_SLOTS];
} wr_thread;

wr_thread *wr_thread_new(wr_store *s);
void wr_thread_free(wr_thread *t);

/* A thread with no frames in use gives its chunk back to the store's pool
 * (with the pages it touched) and has its inline stacks again, sized for the
 * store's limits now: wr_thread_free, and a thread kept for reuse
 * (wr_spawn.c), which so holds no chunk meanwhile. */
void wr_thread_reset_stacks(wr_thread *t);

/* A call needs `nframes` frames and value slots [0, nslots), with
 * `used_frames` frames in use: move the thread's soft limits over them, its
 * stacks first to a chunk when they are the inline ones (the pointers the
 * thread holds follow; the caller rebases its own), and return 0; or set
 * t->exhausted and return WR_TRAP_STACK_EXHAUSTED when the store's limits
 * do not allow it (WR_TRAP_OUT_OF_MEMORY when no chunk can be had). */
int wr_thread_grow(wr_thread *t, uint32_t nframes, size_t nslots, uint32_t used_frames);

/* Whether `t` waits (WR_WAIT: a futex or a descriptor), and with nothing
 * for the host to keep (no timeout, or one the store's clock keeps). */
static inline bool wr_thread_waits(const wr_thread *t) { return t->wait_mem != NULL || t->io_parked; }
static inline bool wr_thread_waits_forever(const wr_thread *t)
{
    return t->io_parked || (t->wait_mem != NULL && (t->wait_timeout < 0 || t->timer_pos != 0));
}

/* End t's wait as the host's timeout does (a futex wait gets "timed out", a
 * descriptor wait retries its call); 1 if it waited. And take it out of
 * every queue without waking it (thread freed or reused). */
int wr_thread_cancel_wait(wr_thread *t);
void wr_thread_forget_waits(wr_thread *t);

/* Begin a call of `f` on thread `t` with `args` (f->type->param_slots slots).
 * For a wasm function the call is set up and wr_exec() runs it. A host
 * function cannot be entered this way (the host calls it directly).
 * Returns 0, or a trap code (stack exhausted) with nothing set up. */
int wr_thread_call(wr_thread *t, wr_func *f, const uint64_t *args);

/* Run until one of the wr_status outcomes (for `t`; other threads may have
 * run meanwhile: see Switching above). */
int wr_exec(wr_thread *t);

/* Switching in C: the next thread switched in C since the host last looked
 * (it is queued, waiting, or the handover now), or NULL; and what the host
 * forgets: a thread freed or reused. */
wr_thread *wr_exec_take_changed(wr_store *s);
void wr_exec_unlist_changed(wr_thread *t);
/* Switching in C: the policy's next task for the host, as wr_policy_pop gives it; but a thread the core owns
 * (wr_spawn.h) is not the host's to run: the core starts its slice and runs it, and the threads the policy
 * picks after it, as wr_exec does, until a pick needs the host: that task is returned with *started set (its
 * slice started, as after WR_SWITCH), or NULL when none is runnable. */
wr_task *wr_exec_pop(wr_store *s, bool *started);
/* Switching in C: queue the store's woken threads on policy `p`, oldest first, as the host would (and list
 * them changed for it). */
void wr_exec_push_woken(wr_store *s, struct wr_policy *p);

/* Nobody can run: end the waits only the core can end (wr_io.h, wr_timer.h).
 * Descriptors already ready and timeouts already due first, with no time
 * passing; then, only when the host has no wake-ups of its own
 * (store->io_may_block), wait: virtual time jumps to the next timeout, real
 * time waits for it or for a descriptor, up to the wall-time deadline.
 * 1: threads may be on the woken list now (look again); 0: nothing here to
 * wait for or not allowed (the host's to decide: maybe a deadlock, the wall
 * deadline); -1: a signal came. The run loop calls it, and so does the
 * host's own idle loop. */
int wr_exec_idle(wr_store *s);

/* The dispatch loop (wr_interp.c): run `t` alone until a wr_status. */
int wr_interp_run(wr_thread *t);

/* After WR_DONE: the results (f->type->result_slots slots), valid until the
 * next call on the thread. */
const uint64_t *wr_thread_results(const wr_thread *t);

/* Abandon the current call (after a host error, or to give up on a yielded
 * or fuel-starved call): unwind to the host entry it started from. */
void wr_thread_unwind(wr_thread *t);

/* Internal to the core (wr_interp.c uses them): leave the innermost host
 * entry, restoring the registers it saved; record the trap backtrace from
 * the current function and pc through the frames of the current entry. */
void wr_thread_leave_entry(wr_thread *t);
void wr_thread_record_backtrace(wr_thread *t, const wr_func *func, const wr_word *pc);

/* The op word the translator emits for internal op `op` (wr_insn_gen.h). */
wr_word wr_interp_op_word(unsigned op);

#endif /* WR_EXEC_H */
