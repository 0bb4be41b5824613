/* wr_api.h: the narrow C API that Python sees through cffi (wr_api.cdef
 * mirrors it). Opaque handles, integer status returns, no macros.
 *
 * Every handle belongs to a store (wr_store_new) and dies with it
 * (wr_store_free), except modules, which are store-independent and freed by
 * wr_module_free, and threads (wr_thread_free). Python keeps the store alive
 * while it holds any handle of it.
 *
 * Values cross as 64-bit slots (uint64_t arrays): i32/f32 in the low 32
 * bits, i64/f64 whole, v128 as two slots (low half first), a funcref as the
 * wr_func pointer (0 = null), an externref as the host's nonzero handle
 * (0 = null), an exnref as the wr_exn pointer tagged 0b100 (0 = null: wr_api_exn_ref).
 */
#ifndef WR_API_H
#define WR_API_H

#include <stddef.h>
#include <stdint.h>

#include "wr_exec.h"
#include "wr_gc.h"
#include "wr_io.h"
#include "wr_module.h"
#include "wr_runtime.h"
#include "wr_sched.h"
#include "wr_spawn.h"
#include "wr_timer.h"
#include "wr_trap.h"
#include "wr_types.h"
#include "wr_wasi_fast.h"

/* The type of an import, an export or an extern object. For a function,
 * `params`/`results` point into storage owned by the module or store. Value
 * types are wr_types.h's 32-bit ones: a concrete heap type's index is a type
 * index of the module for a module's import and export types, a type id of
 * the store for an object's type (wr_api_func_type, _table_type, _global_type). */
typedef struct wr_api_externtype {
    uint8_t kind; /* wr_externkind */
    const uint32_t *params; /* value types (wr_types.h): a function's; a tag's (its payload: a tag has no results) */
    uint32_t nparams;
    const uint32_t *results;
    uint32_t nresults;
    uint32_t valtype; /* global: value type; table: element type (wr_types.h) */
    uint8_t mutable_; /* global */
    uint64_t min, max; /* table (elements) / memory (pages) */
    uint8_t has_max, shared;
    uint8_t is64; /* table / memory: i64 addresses (memory64, table64) */
    /* A module's function or tag import or export: the module's index of its type (with which
     * wr_api_store_module_type finds it in a store); WR_API_NO_TYPE otherwise. */
    uint32_t type_index;
} wr_api_externtype;

#define WR_API_NO_TYPE UINT32_MAX

/* ---- store ---- */
/* wr_store_new() and wr_store_free() are in wr_runtime.h. */
/* Set limits for objects created after the call; 0 keeps a limit as is. */
void wr_api_store_set_limits(wr_store *s, uint64_t max_memory_pages, uint32_t max_table_elems,
                             uint32_t max_call_depth, uint32_t stack_slots);

/* ---- modules ---- */
/* Decode, validate and translate. NULL on failure with `err` filled
 * (err->kind WR_ERR_MALFORMED or WR_ERR_INVALID, offset and message). */
wr_module *wr_api_module_load(const uint8_t *bytes, size_t size, wr_error *err);
/* The same with only the proposals in `features` (WR_FEATURE_* bits). */
wr_module *wr_api_module_load_features(const uint8_t *bytes, size_t size, uint32_t features, wr_error *err);
/* wr_module_free() is in wr_module.h. */
uint32_t wr_api_module_nimports(const wr_module *m);
uint32_t wr_api_module_nexports(const wr_module *m);
uint32_t wr_api_module_ncustoms(const wr_module *m);
/* Each returns 0, or -1 when the index is out of range. Strings are not
 * NUL-terminated for Python's sake: use the lengths. */
int wr_api_module_import(const wr_module *m, uint32_t i, const char **module, uint32_t *module_len,
                         const char **name, uint32_t *name_len, wr_api_externtype *type);
int wr_api_module_export(const wr_module *m, uint32_t i, const char **name, uint32_t *name_len,
                         wr_api_externtype *type);
int wr_api_module_custom(const wr_module *m, uint32_t i, const char **name, uint32_t *name_len,
                         const uint8_t **data, uint32_t *size);
/* From the name section; NULL when absent. */
const char *wr_api_module_name(const wr_module *m);
const char *wr_api_module_func_name(const wr_module *m, uint32_t funcidx);
/* The composite kind of the module's type `index` (WR_COMP_*: 0 function, 1 struct, 2 array). */
int wr_api_module_type_kind(const wr_module *m, uint32_t index);
/* The store's id of module `m`'s type `index`, the module's types interned into the store first, as an
 * instance of `m` has them (its recursion groups, declared supertypes and finality kept): what a host
 * function or tag made with that id matches, as `m`'s import of that type requires. WR_API_NO_TYPE when
 * `index` is none of its types, or out of memory. */
uint32_t wr_api_store_module_type(wr_store *s, const wr_module *m, uint32_t index);

/* ---- functions ---- */
/* A host function of the store's function type `id` (wr_api_store_module_type); NULL when it is none. */
wr_func *wr_api_func_new_host_id(wr_store *s, uint32_t id, uint64_t host_id);
/* A host function; when wasm calls it, wr_exec returns WR_HOSTCALL. */
wr_func *wr_api_func_new_host(wr_store *s, const uint32_t *params, uint32_t nparams,
                              const uint32_t *results, uint32_t nresults, uint64_t host_id);
void wr_api_func_type(const wr_func *f, wr_api_externtype *out);
/* The function's type id in its store (the index of a concrete heap type in an object's type). */
uint32_t wr_api_func_type_id(const wr_func *f);
/* GC's structs and arrays (wr_gcobj.h): the store's cap on its GC heap in bytes (0 keeps the current one), the
 * bytes its objects and exceptions take now (until a collection frees them: wr_gc.h); a struct's or an
 * array's reference (a slot of the any hierarchy, neither null nor an i31 nor a host's): its kind (1 struct,
 * 2 array) and its store type id. */
void wr_api_store_set_gc_limit(wr_store *s, uint64_t max_bytes);
uint64_t wr_api_store_gc_bytes(const wr_store *s);
int wr_api_gc_kind(uint64_t ref);
uint32_t wr_api_gc_type_id(uint64_t ref);
/* A store type id's composite kind: 0 a function type, 1 a struct, 2 an array. */
int wr_api_type_kind(const wr_store *s, uint32_t id);
/* 1 when the host may give value type t for an object of the store (a function's, a global's, a table's, a
 * tag's type): a number type, or a reference to an abstract heap type or to one of the store's types; else 0. */
int wr_api_valtype_ok(const wr_store *s, uint32_t t);
/* 1 when type id a is b or a declared subtype of it (a function of type a is a (ref b)), else 0. */
int wr_api_type_sub(const wr_store *s, uint32_t a, uint32_t b);
/* 1 for a host function (then *host_id is set), 0 for a wasm function. */
int wr_api_func_host_id(const wr_func *f, uint64_t *host_id);
/* For backtraces: the function's index in its module, and names (NULL when
 * unknown or for host functions). */
uint32_t wr_api_func_index(const wr_func *f);
const char *wr_api_func_name(const wr_func *f);
const char *wr_api_func_module_name(const wr_func *f);
/* The first name the function is exported under, or NULL (backtraces without a name section). */
const char *wr_api_func_export_name(const wr_func *f);

/* ---- memories ---- */
/* NULL when the limits are invalid or over the store's limit, or out of
 * memory. */
wr_memory *wr_api_memory_new(wr_store *s, uint64_t min, uint64_t max, int has_max, int shared, int is64);
uint8_t *wr_api_memory_data(const wr_memory *m); /* fixed for the memory's life */
uint64_t wr_api_memory_size(const wr_memory *m); /* bytes */
int64_t wr_api_memory_grow(wr_memory *m, uint64_t delta_pages); /* old pages or -1 */
void wr_api_memory_type(const wr_memory *m, wr_api_externtype *out);

/* ---- tables ---- */
wr_table *wr_api_table_new(wr_store *s, uint32_t elemtype, uint64_t min, uint64_t max, int has_max,
                           uint64_t init, int is64);
uint32_t wr_api_table_size(const wr_table *t);
int wr_api_table_get(const wr_table *t, uint64_t i, uint64_t *out); /* 0, or -1 out of bounds */
int wr_api_table_set(wr_table *t, uint64_t i, uint64_t ref);         /* 0, or -1 out of bounds */
int64_t wr_api_table_grow(wr_table *t, uint64_t delta, uint64_t init); /* old size or -1 */
void wr_api_table_type(const wr_table *t, wr_api_externtype *out);

/* ---- globals ---- */
wr_global *wr_api_global_new(wr_store *s, uint32_t valtype, int mutable_, uint64_t lo, uint64_t hi);
void wr_api_global_get(const wr_global *g, uint64_t out[2]);
void wr_api_global_set(wr_global *g, uint64_t lo, uint64_t hi);
void wr_api_global_type(const wr_global *g, wr_api_externtype *out);

/* ---- instances ---- */
/* See wr_instance_new in wr_runtime.h for the return values. `imports`
 * is in the module's import order. */
int wr_api_instance_new(wr_store *s, const wr_module *m, const wr_extern *imports, uint32_t nimports,
                        wr_instance **out, wr_error *err);
wr_func *wr_api_instance_start(const wr_instance *inst); /* NULL if none */
int wr_api_instance_export(const wr_instance *inst, uint32_t i, wr_extern *out); /* 0 or -1 */

/* ---- threads and calls ---- */
/* wr_thread_new, wr_thread_free, wr_thread_call, wr_exec,
 * wr_thread_results and wr_thread_unwind are in wr_exec.h. */
wr_func *wr_api_thread_host_func(const wr_thread *t);
uint64_t *wr_api_thread_host_args(const wr_thread *t);
/* After WR_HOSTCALL, in one call (the host's side of every host call: execution.host_call): the call's
 * argument slots (wr_api_thread_host_args), and the host id of the host function called in *host_id; NULL
 * when the function is not a host function. */
uint64_t *wr_api_thread_host_call(const wr_thread *t, uint64_t *host_id);
/* wr_exec, with WR_API_NEWS added to its status when the host's drain has something to do after it
 * (wr_api_store_has_news): one call where the host would make two after every run. */
#define WR_API_NEWS 0x100
int wr_api_exec(wr_thread *t);
/* wr_api_exec with a fresh slice of `budget` units first (wr_api_thread_set_budget). */
int wr_api_exec_slice(wr_thread *t, int64_t budget);
/* After WR_HOSTCALL, for the host's round trips through async host functions (core/aio.py): the host id of the
 * function called in out[0] (-1 when it is not a host function) and its first argument in out[1] when that is an
 * i32, as a signed value (0 otherwise). */
void wr_api_thread_host_peek(const wr_thread *t, int64_t out[2]);
/* wr_api_exec_host's `result` when there is none to write. */
#define WR_API_NO_RESULT INT64_MIN
/* An async host call's round trip in one call where the host would make three: `result` (the one i32 result, signed
 * or not: its low 32 bits; WR_API_NO_RESULT: nothing to write, a function with no results or its results written
 * already) into the slot of the host call `t` stopped at, then wr_api_exec with a fresh slice of `budget` units (-1:
 * the slice goes on), and after a WR_HOSTCALL what wr_api_thread_host_peek gives, in out[]. */
int wr_api_exec_host(wr_thread *t, int64_t budget, int64_t result, int64_t out[2]);
int wr_api_thread_trap(const wr_thread *t);
/* Number of backtrace entries (innermost first); entry i through the
 * out-parameters. */
uint32_t wr_api_thread_backtrace_len(const wr_thread *t);
void wr_api_thread_backtrace(const wr_thread *t, uint32_t i, const wr_func **func, uint32_t *offset);
void wr_api_thread_set_budget(wr_thread *t, int64_t budget);
uint32_t wr_api_thread_depth(const wr_thread *t); /* frames in use */
/* After "call stack exhausted": which limit, WR_EXHAUSTED_FRAMES, _SLOTS or _NESTING (wr_exec.h). */
int wr_api_thread_exhausted(const wr_thread *t);

/* ---- exception handling ---- */
/* A tag with payload types `params` (NULL when out of memory). */
wr_tag *wr_api_tag_new(wr_store *s, const uint32_t *params, uint32_t nparams);
/* A tag of the store's function type `id` (wr_api_store_module_type); NULL when it is none with no results. */
wr_tag *wr_api_tag_new_id(wr_store *s, uint32_t id);
void wr_api_tag_type(const wr_tag *t, wr_api_externtype *out);
/* An exception of `tag` (payload: tag's param slots), a GC object of the store's (NULL past its GC heap limit
 * or out of memory): collected once no root, object or pin names it, so the host pins it at once and while
 * it holds it; its tag and payload. */
wr_exn *wr_api_exn_new(wr_store *s, wr_tag *tag, const uint64_t *payload);
void wr_api_exn_pin(wr_exn *e);
void wr_api_exn_unpin(wr_store *s, wr_exn *e);
wr_tag *wr_api_exn_tag(const wr_exn *e);
const uint64_t *wr_api_exn_payload(const wr_exn *e);
/* An exception's exnref slot, and the exception of a non-null one. */
uint64_t wr_api_exn_ref(const wr_exn *e);
wr_exn *wr_api_ref_exn(uint64_t ref);
/* After WR_TRAP with WR_TRAP_UNCAUGHT_EXCEPTION: the exception (a root until the thread's next call: the host
 * pins it to keep it longer). */
wr_exn *wr_api_thread_exn(const wr_thread *t);
/* The host throws `e` where the thread stopped for a host call (after WR_HOSTCALL): instead of taking
 * results, the call throws it when wr_exec runs the thread again. */
void wr_api_thread_throw(wr_thread *t, wr_exn *e);

/* ---- futex waits (memory.atomic.wait / notify), for the scheduler ---- */
uint64_t wr_api_thread_host_id(const wr_thread *t);
/* While a thread waits (after WR_WAIT): 1 and the address and timeout
 * (nanoseconds, negative: forever) through the out-parameters for a futex;
 * 2 (readable) or 3 (writable) and the host descriptor, timeout -1, for a
 * descriptor (wr_io.h); 4 for a sleep in the reactor, 5 and how many
 * descriptors for a wait on several (either with a timeout the store's
 * clock keeps: timeout -1); 0 if not waiting. */
int wr_api_thread_wait_info(const wr_thread *t, uint64_t *addr, int64_t *timeout_ns);
/* End a wait as the host's timeout: a futex wait as timed out (result 2), a
 * descriptor wait to retry its call. Returns 1 if the thread was waiting. */
int wr_api_thread_cancel_wait(wr_thread *t);
/* Exploration mode for thread t: every access to a shared memory becomes a
 * preemption point (charges the slice budget one unit and may yield), so a
 * schedule explorer can interleave threads between a load and a store. */
void wr_api_thread_set_explore(wr_thread *t, int on);
/* Record the current wasm stack of a suspended thread (after WR_WAIT,
 * WR_YIELD or WR_HOSTCALL) into its backtrace, for deadlock reports and
 * debuggers; read it with wr_api_thread_backtrace_len/_backtrace. */
void wr_api_thread_capture_backtrace(wr_thread *t);
/* Next thread woken by a notify (oldest first), or NULL. */
wr_thread *wr_api_store_take_woken(wr_store *s);
/* Fuel: one total of budget units (about one per instruction) shared by
 * every thread of the store; a thread's run ends with WR_OUT_OF_FUEL once it
 * is spent. wr_api_store_fuel is what is left (negative once overdrawn). */
void wr_api_store_set_fuel(wr_store *s, int enabled, int64_t fuel);
int64_t wr_api_store_fuel(const wr_store *s);
/* Budget units run by all the store's threads so far (counted with or
 * without fuel): instruction counts for deterministic tools. */
uint64_t wr_api_store_ran(const wr_store *s);
/* Switching in C (wr_exec.h, Switching): wr_exec switches threads with built-in policy `p` (NULL: never;
 * the host decides at every stop), giving the host control back every `check_every` decisions or
 * `check_units` units run in C. */
void wr_api_store_set_sched(wr_store *s, wr_policy *p, uint32_t check_every, uint64_t check_units);
/* ... and once the CLOCK_MONOTONIC time `deadline_ns` passes (0: no deadline). */
void wr_api_store_set_wall_deadline(wr_store *s, int64_t deadline_ns);
/* Once the store's units run pass `units` (0: never), every stop of a thread goes to the host undecided, as
 * if the core did not switch: observers that see only the host's switches see those (a hang budget). */
void wr_api_store_set_host_stops_after(wr_store *s, uint64_t units);
/* After WR_SWITCH: the host id of the task to run next, or -1 when none is runnable. */
int64_t wr_api_store_handover(const wr_store *s);
/* A thread switched in C since the host last looked (once each), or NULL. */
wr_thread *wr_api_store_take_changed(wr_store *s);
/* Whether a thread is on the woken or the changed list, or the core's policy logged events (wr_sched.h): the
 * host's drain has something to do. */
int wr_api_store_has_news(const wr_store *s);
/* A scheduler's thread: its host id, tied to its policy task, exploration mode (wr_api_thread_set_explore). */
void wr_api_thread_adopt(wr_thread *t, uint64_t host_id, wr_task *task, int explore);
/* wr_thread_call, and the thread is resumable (wr_exec.h, Switching): its host side's first act will be
 * wr_exec, so the core may start it itself (a spawned thread). */
int wr_api_thread_begin(wr_thread *t, wr_func *f, const uint64_t *args);
/* Where a thread is as the store's policy sees it: 0 queued, 1 waiting (futex or descriptor), 2 neither (or parked:
 * chosen to run next, whatever it stopped with). */
int wr_api_thread_sched_state(const wr_thread *t);

/* ---- scheduling policies ----
 * wr_task_*, wr_policy_* are in wr_sched.h: the built-in policies' run
 * queues and decisions; the host drives them (push, pop, slice, events). */
uint64_t wr_api_task_host_id(const wr_task *t);

/* ---- green threads the core makes (wr_spawn.h) ---- */
/* A green thread's wr_thread from the store's pool (NULL: out of memory), and back at its end (its call
 * returned or unwound; it is out of every queue and list, untied from its task, and recycled or freed). */
wr_thread *wr_api_pool_take(wr_store *s);
void wr_api_pool_give(wr_thread *t);
/* Free every green thread's wr_thread now (the store is closing; the host holds none from now on). */
void wr_api_store_free_threads(wr_store *s);
/* The next green thread's host id (1, 2, ...: the core's own spawns take them from the same count). */
uint64_t wr_api_store_new_host_id(wr_store *s);
/* Spawned green threads alive, the host's (it counts them: +1 at a spawn, -1 at an end) and the core's
 * own; the limit the core's spawns keep to (UINT64_MAX: none); exploration mode (wr_api_thread_set_explore) of every
 * green thread, and of those made from now on. */
void wr_api_store_count_threads(wr_store *s, int delta);
/* The host's counts until now (the host keeps them itself until the core spawns): the next host id, and its
 * spawned threads alive. */
void wr_api_store_set_counts(wr_store *s, uint64_t next_host_id, uint64_t threads_alive);
uint64_t wr_api_store_threads_alive(const wr_store *s);
void wr_api_store_set_max_threads(wr_store *s, uint64_t max_threads);
void wr_api_store_set_explore(wr_store *s, int on);
/* What the host needs to take over a thread the core spawned (wr_spawn.h): its spawner, its entry point,
 * its wasi-threads id and argument, its host id and its task (its own: valid while the thread lives). */
typedef struct wr_api_spawn_info {
    wr_spawner *spawner;
    wr_func *entry;
    uint32_t tid, arg;
    uint64_t host_id;
    wr_task *task;
    int owned; /* the core owns it */
} wr_api_spawn_info;
void wr_api_thread_spawn_info(wr_thread *t, wr_api_spawn_info *out);
/* The host takes over a thread the core owns (it runs and ends through the host from now on). */
void wr_api_thread_disown(wr_thread *t);
/* The threads the core owns, one after another: the first (t NULL), then the one after t; NULL at the end. */
wr_thread *wr_api_store_next_owned(wr_store *s, wr_thread *t);
/* After WR_SWITCH: the thread to run next (NULL: none, or a task with no thread). */
wr_thread *wr_api_store_handover_thread(const wr_store *s);
/* Switching in C: the next task for the host (NULL: none) and whether the core started its slice (*started);
 * threads the core owns run in C meanwhile (wr_exec_pop, wr_exec.h). */
wr_task *wr_api_store_pop(wr_store *s, int *started);
/* The wasm thread a task runs, or NULL. */
wr_thread *wr_api_task_thread(const wr_task *t);
/* The wr_threads the store's pool holds (in use, and idle for reuse). */
uint64_t wr_api_store_pool_threads(const wr_store *s);
/* wasi-threads: see wr_spawn.h; the id the spawner gives next, and setting it. */
wr_spawner *wr_api_spawner_new(const wr_instance *like, uint32_t entry, uint64_t module_size);
int32_t wr_api_spawn(wr_spawner *sp, wr_thread *caller, uint32_t arg, int own, wr_thread **out);
int32_t wr_api_spawn_finish(wr_spawner *sp, wr_thread *caller, int own, wr_thread **out);
void wr_api_spawn_abandon(wr_thread *caller);
int wr_api_spawn_pending_status(const wr_thread *caller);
/* Make host function `f` (thread-spawn) the spawner's native one (wr_spawn_native; sp NULL: no native one any
 * more); the threads a spawner spawned. */
void wr_api_spawner_attach(wr_spawner *sp, wr_func *f);
uint64_t wr_api_spawner_spawned(const wr_spawner *sp);
/* Whether the native thread-spawn may spawn with no host (the scheduler spawns in the core and hears nothing
 * after host calls); the store's max_module_size (0: none), which spawns keep to. */
void wr_api_store_set_native_spawns(wr_store *s, int on);
void wr_api_store_set_max_module_size(wr_store *s, uint64_t bytes);
uint32_t wr_api_spawner_next_tid(const wr_spawner *sp);
void wr_api_spawner_set_next_tid(wr_spawner *sp, uint32_t tid);

/* ---- thread templates ---- */
/* A new instance made as wr_api_instance_new would make it from the imports `like` was made with
 * (checked then): the thread instances of a wasi-threads program, whose imports are all the same.
 * Same return values; never WR_ERR_LINK. */
int wr_api_instance_new_like(const wr_instance *like, wr_instance **out, wr_error *err);
/* The function export `i` names, or NULL when `i` is out of range or not a function. */
wr_func *wr_api_instance_export_func(const wr_instance *inst, uint32_t i);

/* ---- the IO reactor (wr_io.h) and native WASI calls (wr_wasi_fast.h) ---- */
/* Wake the threads whose descriptors are ready, waiting up to timeout_ms (-1: until one); how many, or -1
 * on a signal. */
int wr_api_io_poll(wr_store *s, int timeout_ms);
uint32_t wr_api_io_waiters(const wr_store *s);
/* The descriptor the host's idle loop watches while threads are parked in the reactor, or -1. */
int wr_api_io_fd(const wr_store *s);
/* The reactor's backend: "epoll" or "poll" (wr_io.h). */
const char *wr_api_io_backend(void);
/* WASI sched_yield as a native (wr_wasi_fast.h). */
void wr_api_wasi_native_sched_yield(wr_func *f);
/* Host descriptor `fd` is closed, or handed out anew: forget it, waking its waiters. */
void wr_api_io_forget_fd(wr_store *s, int fd);
/* Whether the C run loop may block in the reactor when nothing runs (the host has no wake-ups of its own). */
void wr_api_io_set_may_block(wr_store *s, int may_block);
wr_wasi_fast *wr_api_wasi_fast_new(wr_store *s, const uint8_t *errno_map, uint32_t n);
void wr_api_wasi_fast_set_memory(wr_wasi_fast *w, wr_memory *m);
int wr_api_wasi_fast_set_fd(wr_wasi_fast *w, uint32_t fd, int host_fd, uint32_t flags);
void wr_api_wasi_fast_clear_fd(wr_wasi_fast *w, uint32_t fd);
/* Make host function `f` WASI call `name`'s native fast path; 0, or -1 when it has none. */
int wr_api_wasi_fast_attach(wr_wasi_fast *w, wr_func *f, const char *name);

/* ---- the store's clock and the wait timeouts it keeps (wr_timer.h) ---- */
/* Time out waits on `kind`'s clock (WR_CLOCK_*: the host's own timers, CLOCK_MONOTONIC, or virtual time,
 * starting at virtual_now). Set before any wait. */
void wr_api_store_set_clock(wr_store *s, int kind, int64_t virtual_now);
int64_t wr_api_store_virtual_now(const wr_store *s);
void wr_api_store_set_virtual_now(wr_store *s, int64_t now);
/* The earliest timeout kept, or INT64_MAX. */
int64_t wr_api_store_next_timeout(const wr_store *s);
/* What an event loop watches for the core while no thread runs (core/aio.py), in one call: the earliest
 * timeout kept (as wr_api_store_next_timeout), and in *io_fd the reactor's descriptor when threads wait in
 * it (wr_api_io_fd: -1 when it has none, a poll(2) reactor), or -2 when none waits (wr_api_io_waiters). */
int64_t wr_api_store_watch(const wr_store *s, int *io_fd);
/* Time out the waits due now (onto the woken list); how many. */
uint32_t wr_api_store_fire_timeouts(wr_store *s);
/* Nothing can run: idle in the core as its run loop does (wr_exec_idle in wr_exec.h): 1 woke (drain the
 * woken list), 0 nothing to do here, -1 a signal. */
int wr_api_store_idle(wr_store *s);
/* Threads waiting on what only the core can end: descriptors of its reactor, timeouts it keeps. */
uint32_t wr_api_store_core_wakeups(const wr_store *s);

/* ---- GC roots and collection (wr_gc.h, wr_stackmap.h) ---- */
/* Collect the store's struct and array objects wasm and the host can no longer reach, and mark the host's
 * externref handles wasm can still reach: bit n of `bits` (nbits bits, little-endian bytes; NULL: none) is
 * set for each handle n found in a root of the store (its threads, the host's own thread, its objects) or in
 * an object reachable from one. Bits already set stay set. Returns how many objects were freed. Call it with
 * every thread of the store stopped (never inside wr_exec). */
size_t wr_api_gc_collect(wr_store *s, uint8_t *bits, size_t nbits);
/* How many collection cycles the store completed (Store.gc() and those wasm's allocations started), how many
 * steps wasm's allocations ran, and the longest time one allocation in wasm spent in the collector (ns, since
 * the store began or wr_api_gc_reset_max_pause). */
uint64_t wr_api_gc_collections(const wr_store *s);
uint64_t wr_api_gc_steps(const wr_store *s);
uint64_t wr_api_gc_max_pause_ns(const wr_store *s);
void wr_api_gc_reset_max_pause(wr_store *s);
/* Tests: every allocation in wasm runs a step of the collector with a budget of an object or two (mode 1: a
 * barrier or a root missed shows within a few allocations), or a whole collection (mode 2), or neither (0). */
void wr_api_gc_stress(wr_store *s, int mode);
/* The host holds a struct or an array (a GcRef alive): a pinned object is a root until unpinned as often. */
void wr_api_gc_pin(wr_store *s, uint64_t ref);
void wr_api_gc_unpin(wr_store *s, uint64_t ref);
/* The host's own thread (calls from the host run on it): the store knows it as a root (wr_thread_free
 * forgets it). */
wr_thread *wr_api_host_thread_new(wr_store *s);
/* The host has written the results of the host call `t` stopped at (its slots are the results' now, for
 * the roots: wr_exec.h, host_pending). */
void wr_api_thread_host_returned(wr_thread *t);
/* Debugging and tests. The values of the root slots in `t`'s frames (and unread results), innermost frame
 * first: how many there are (up to `cap` written to out). */
size_t wr_api_thread_roots(const wr_thread *t, uint64_t *out, size_t cap);
/* Wasm function `f`'s stack map: the frame slots holding roots when stopped at code word `word` as `kind`
 * says (0: at the instruction there, 1: in a call returning there), up to `cap` to out; how many, or -1 when
 * `f` has no map (no slot of a collected kind, ever). */
int64_t wr_api_func_stackmap(const wr_func *f, uint32_t word, int kind, uint32_t *out, uint32_t cap);
/* The stack maps of a module's functions: how many functions have one, their bytes, and the points and
 * call sites they record (through the out-parameters). */
uint32_t wr_api_module_stackmaps(const wr_module *m, uint64_t *bytes, uint64_t *points, uint64_t *calls);

#endif /* WR_API_H */
