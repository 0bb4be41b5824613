/* wr_runtime.h: the runtime objects of a store: functions, memories, tables,
 * globals and instances, as the spec's store defines them.
 *
 * Ownership: every object belongs to exactly one store and lives until the
 * store is freed (objects are chained on the store's list). Python holds the
 * store alive while it holds any object of it.
 *
 * References in slots and tables: a funcref is the wr_func* itself (NULL is
 * ref.null); an externref is a nonzero 64-bit handle the host chose (0 is
 * ref.null); an exnref is the wr_exn's address tagged 0b100 (wr_exn_ref; 0
 * is ref.null).
 *
 * Exceptions (wr_exn) are collected as GC's structs and arrays are
 * (wr_gcobj.h, wr_gc.h): made when a thrown exception needs an identity
 * (caught by catch_ref / catch_all_ref, or leaving wasm for the host), on the
 * store's list of exceptions, freed by a collection that finds no root, no
 * object and no host pin naming them. A throw caught by `catch` /
 * `catch_all` makes none: its payload goes straight from the thrower's slots
 * to the handler's.
 */
#ifndef WR_RUNTIME_H
#define WR_RUNTIME_H

#include "wr_code.h"
#include "wr_module.h"
#include "wr_types.h"

typedef struct wr_store wr_store;
typedef struct wr_instance wr_instance;

/* Header of every store-owned object. */
typedef struct wr_obj {
    struct wr_obj *next;
    uint8_t kind; /* wr_externkind, or WR_OBJ_INSTANCE */
} wr_obj;
#define WR_OBJ_INSTANCE 5

/* A native host function: a host function the host also implemented in C,
 * called by the dispatch loop at the call itself with the arguments in place
 * (args[0 ..]). It returns WR_NATIVE_DONE with the results written over the
 * arguments; WR_NATIVE_PARKED when it parked the thread (wr_io.h): the
 * thread waits, and the call runs again when it resumes, so it must have
 * changed nothing the retry would see; WR_NATIVE_CALL when wasm must run
 * first: t->native_call (no params, no results) runs on the thread as a call
 * of its own (a trap ends only it: t->native_call_trapped), then the call
 * runs again (the native keeps what it did meanwhile: wr_spawn.c);
 * WR_NATIVE_YIELD when done as DONE is and the thread's slice ends right
 * after the call (WR_YIELD: sched_yield, decided as any slice end); or
 * WR_NATIVE_HOST to leave the call to the host function proper (anything
 * rare or unusual). The host's function stays the definition; the native is
 * its fast path. */
struct wr_thread;
typedef int (*wr_native_fn)(struct wr_thread *t, void *ctx, uint64_t *args);
enum { WR_NATIVE_DONE = 0, WR_NATIVE_HOST = 1, WR_NATIVE_PARKED = 2, WR_NATIVE_CALL = 3, WR_NATIVE_YIELD = 4 };

typedef struct wr_func {
    wr_obj hdr;
    const wr_functype *type; /* interned: stable for the store's life */
    uint32_t type_id;        /* equal ids <=> equal types, within a store */
    wr_instance *inst;       /* NULL for a host function */
    const wr_code *code;     /* NULL for a host function */
    uint32_t index;          /* function index in inst's module */
    uint64_t host_id;        /* host functions: the host's handle */
    wr_native_fn native;     /* host functions: the fast path in C, or NULL */
    void *native_ctx;
} wr_func;

typedef struct wr_memory {
    wr_obj hdr;
    uint8_t *base;     /* fixed for the memory's life: never moves on grow */
    uint64_t size;     /* current size in bytes (pages * 64 KiB) */
    uint64_t pages;
    uint64_t max_pages; /* effective maximum (declared max or the store limit) */
    uint64_t reserved;  /* bytes of address space reserved at base */
    wr_limits limits;   /* as declared/created (min updated on grow for typing) */
    bool shared;
    struct wr_futex_table *futex; /* wait queues (wr_futex.c), made on first wait */
} wr_memory;

typedef struct wr_table {
    wr_obj hdr;
    wr_valtype elemtype; /* in the store's form (concrete types are store ids) */
    uint64_t *elems; /* may move on grow: always reach it through the table */
    uint32_t size;
    uint32_t max; /* effective maximum */
    wr_limits limits;
} wr_table;

typedef struct wr_global {
    wr_obj hdr;
    wr_globaltype type; /* in the store's form */
    uint64_t val[2]; /* v128 uses both words, everything else val[0] */
} wr_global;

/* An exception tag: its identity is the object (a module's own tags are new
 * at each instantiation); its type's params are the payload. */
typedef struct wr_tag {
    wr_obj hdr;
    const wr_functype *type; /* interned: stable for the store's life */
    uint32_t type_id;
    uint64_t host_id; /* the host's handle for its wrapper, or 0 */
} wr_tag;

/* An exception: its tag and payload (tag->type->param_slots slots), a GC object of the store's (wr_gc.h):
 * on its list of exceptions, marked by a collection that reaches it (its payload traced by the tag's types),
 * pinned while the host holds it. */
typedef struct wr_exn {
    struct wr_exn *next; /* the store's exceptions, newest first: what a sweep walks */
    struct wr_exn *gray; /* a collection's exceptions marked, not scanned yet (wr_gc.c) */
    wr_tag *tag;
    uint32_t nslots;
    uint32_t mark; /* 1 while a collection found it reachable; 0 between collections */
    uint32_t pins; /* the host's holds (a WasmException alive in Python): a pinned exception is a root */
    uint64_t payload[];
} wr_exn;

struct wr_instance {
    wr_obj hdr;
    wr_store *store;
    const wr_module *module;
    uint32_t *type_ids;  /* module type index -> store type id (call_indirect) */
    wr_func **funcs;     /* module->nfuncs */
    wr_table **tables;   /* module->ntables */
    wr_memory **mems;    /* module->nmems */
    wr_global **globals; /* module->nglobals */
    wr_tag **tags;       /* module->ntags */
    /* Passive element segments, evaluated at instantiation; size 0 once
     * dropped (elem.drop, or after active/declarative initialization). */
    uint64_t **elem_refs;
    uint32_t *elem_sizes;
    /* Data segment sizes; 0 once dropped. Bytes stay in the module. */
    uint32_t *data_sizes;
};

/* Store-wide limits and registries. */
typedef struct wr_store_config {
    uint64_t max_memory_pages; /* cap on any memory's size; default 65536 */
    uint32_t max_table_elems;  /* cap on any table's size; default 10,000,000 */
    uint32_t max_call_depth;   /* frames per thread; default 20,000 */
    uint32_t stack_slots;      /* value-stack slots per thread; default 1 Mi */
    uint64_t max_gc_bytes;     /* cap on the GC heap: its structs' and arrays' bytes; default 1 GiB (wr_gcobj.h) */
} wr_store_config;

struct wr_store {
    wr_obj *objects; /* every object, newest first */
    wr_store_config config;
    uint32_t ntypes, types_cap;
    wr_functype **types; /* interned function types; index = type id (wr_store.c, "type interning") */
    uint32_t *type_super; /* each id's declared supertype's id, or WR_NO_SUPER */
    uint8_t *type_kind;   /* each id's composite kind (WR_COMP_*), for wr_typectx */
    uint32_t **type_keys; /* at a group's first id its key (length first), else NULL */
    /* Open-addressing hash over the groups so interning is O(1), private to
     * wr_store.c: an entry is a group's first id + 1, 0 marks an empty slot. */
    uint32_t *type_hash;
    uint32_t type_hash_cap; /* a power of two, or 0 */
    /* GC's structs and arrays (wr_gcobj.h): every one (but those a sweep has not reached yet), in allocation
     * order up to the last sweep; their bytes and number; the bytes past which the next allocation in wasm
     * runs a step of the collector (wr_gc.h), and the bytes after the last step; the collector's gray stack,
     * kept between collections. */
    struct wr_gcobj *gc_objects;
    uint64_t gc_bytes, gc_count, gc_pinned; /* gc_pinned: how many objects the host pins */
    uint64_t gc_threshold, gc_step_bytes;
    struct wr_gcobj **gc_gray;
    size_t gc_gray_cap, gc_ngray;
    /* The cycle in progress (wr_gc.c): its phase (WR_GC_IDLE, _MARK, _SWEEP); `gc_marking` (the phase is
     * MARK: the write barrier's one flag); the gray stack could not grow (so nothing is freed); the next object
     * whose pins the mark checks; an array scanned in part and its next element; the objects the sweep has
     * yet to reach, and those it kept (a list ending at *gc_kept_tail) and their bytes; the host handles
     * reached, or NULL. */
    uint8_t gc_phase;
    bool gc_marking, gc_overflow;
    struct wr_gcobj *gc_pins_at, *gc_scan;
    uint32_t gc_scan_at;
    struct wr_gcobj *gc_sweep_at, *gc_kept, **gc_kept_tail;
    uint64_t gc_kept_bytes;
    uint8_t *gc_bits;
    size_t gc_nbits;
    /* Exception objects (wr_exn): every one, newest first; their bytes count in gc_bytes. The cycle's state
     * for them, as for objects: those marked and not scanned yet (linked through wr_exn.gray), the next one
     * whose pins the mark checks, those the sweep has yet to reach and those it kept. */
    struct wr_exn *exns;
    struct wr_exn *gc_gray_exns, *gc_exn_pins_at, *gc_exn_sweep_at, *gc_exns_kept, **gc_exns_kept_tail;
    /* Counts: cycles completed, steps run; the longest pause of an allocation in wasm that ran the collector
     * (ns of the thread's CPU time, CLOCK_THREAD_CPUTIME_ID, so a busy machine does not add its own pauses:
     * read, never used for a decision). */
    uint64_t gc_collections, gc_steps, gc_max_pause_ns;
    int gc_stress; /* tests (wr_api_gc_stress): every allocation in wasm steps (1) or collects (2) first */
    /* The host's own thread (calls from the host run on it; not in the pool): a root like the pool's threads
     * (wr_gc.h). NULL until the host makes it; wr_thread_free clears it. */
    struct wr_thread *host_thread;
    /* Threads whose wait ended (a notify, or the host's timeout), oldest
     * first: runnable once someone pushes them into the run queue (wr_futex.c). */
    struct wr_thread *woken_head, *woken_tail;
    /* Switching in C (wr_exec.h, "Switching"): the built-in policy wr_exec
     * switches threads with, when the host lets it; NULL: every stop goes
     * back to the host, which decides. */
    struct wr_policy *sched;
    struct wr_task *handover;         /* after WR_SWITCH: the task to run next, or NULL */
    struct wr_thread *changed_head;   /* threads switched in C since the host last looked */
    uint32_t check_every, check_left; /* decisions in C between returns to the host */
    uint64_t check_units, check_at;   /* units run in C between returns to the host */
    int64_t wall_deadline_ns;         /* CLOCK_MONOTONIC; 0: none */
    uint64_t host_stops_after;        /* once `ran` passes it, every stop goes to the host; 0: never */
    /* Fuel: one total of budget units for all the store's threads, when
     * enabled (wr_interp.c charges what each run used when it ends, so it may
     * go below zero; a run starts with min(slice, fuel left)). `ran` counts
     * the units all threads have run, whether fuel is on or not: the host's
     * instruction counts. */
    bool fuel_enabled;
    int64_t fuel;
    uint64_t ran;
    /* Memory for threads' stacks (wr_stackpool.c); threads die before the store. */
    struct wr_stackpool *stackpool;
    /* Green threads' wr_threads (wr_spawn.c): those in use and the idle ones
     * kept for reuse; the host ids they get (0 is the host's own thread); the
     * spawned threads alive, the host's and the core's own, and the store's
     * limit on them (UINT64_MAX: none); whether new ones explore shared accesses; the
     * wasi-threads spawners. */
    struct wr_thread *threads_used, *threads_idle;
    uint32_t nthreads_idle;
    uint64_t next_host_id;
    uint64_t threads_alive, max_threads;
    bool explore_shared;
    struct wr_spawner *spawners;
    /* wasi-threads spawns: the store's max_module_size (0: none), and whether the native thread-spawn may
     * spawn with no host at all (wr_spawn_native). */
    uint64_t max_module_size;
    bool native_spawns;
    /* The IO reactor (wr_io.c), made on the first park; whether the run loop may block in it when nothing
     * runs (the host has no wake-ups of its own); decisions since it last polled. */
    struct wr_io *io;
    bool io_may_block;
    uint32_t io_since_poll;
    /* The clock that times out waits (wr_timer.h: WR_CLOCK_*), virtual time, and the timeouts it keeps: a
     * heap of waiting threads by (deadline, arrival). */
    uint8_t clock_kind;
    int64_t virtual_now;
    struct wr_thread **timers;
    uint32_t ntimers, timers_cap;
    uint64_t timer_seq;
    /* The contexts of native WASI calls (wr_wasi_fast.c), freed with the store. */
    struct wr_wasi_fast *wasi_fast;
};

wr_store *wr_store_new(void);
void wr_store_free(wr_store *s);
/* Intern a function type whose concrete types are the store's ids already
 * (a final type of its own group); returns its id, or UINT32_MAX when out of
 * memory. Equal ids, equivalent types. */
uint32_t wr_store_intern_type(wr_store *s, const wr_functype *ft);
/* Intern a module's types, a recursion group at a time: ids[i] gets type i's
 * id. 0, or -1 when out of memory. */
int wr_store_intern_module_types(wr_store *s, const wr_module *m, uint32_t *ids);
/* Type id a is b or a declared subtype of it. */
bool wr_store_type_sub(const wr_store *s, uint32_t a, uint32_t b);
/* How the store's types compare (types named by store ids: its interned types, globals, tables, tags). */
static inline wr_typectx wr_store_typectx(const wr_store *s)
{
    return (wr_typectx){NULL, s->type_super, s->ntypes, s->type_kind};
}

/* A reference's slot (docs/interpreter.md, "References in the any hierarchy"): 0 is null; a funcref is its
 * wr_func, an exnref its wr_exn tagged 0b100 (so that a collector tells it from a struct or an array by its
 * bits alone: wr_exn_ref); in the any and extern hierarchies (which convert into each other without
 * changing a bit) the low bits tell an i31 (bit 0: (value << 1) | 1), a host's externref (0b10: its handle
 * << 2 | 2) and, once GC allocates, a store-owned struct or array (0b00: its aligned address). */
#define WR_REF_I31_TAG 1u
#define WR_REF_HOST_TAG 2u
static inline bool wr_ref_is_i31(uint64_t v) { return (v & 1u) != 0; }
static inline bool wr_ref_is_host(uint64_t v) { return (v & 3u) == WR_REF_HOST_TAG; }
/* An exnref: the exception's address (16-aligned: malloc's) | 0b100, never an i31 (bit 0), a host's handle
 * (0b10) or an object (0b000). */
#define WR_REF_EXN_TAG 4u
static inline uint64_t wr_exn_ref(const struct wr_exn *e) { return e ? (uint64_t)(uintptr_t)e | WR_REF_EXN_TAG : 0; }
static inline struct wr_exn *wr_ref_exn(uint64_t v) { return (struct wr_exn *)(uintptr_t)(v & ~(uint64_t)7); }
static inline bool wr_ref_is_exn(uint64_t v) { return (v & 7u) == WR_REF_EXN_TAG; }

/* Object constructors; NULL when out of memory or over a limit. */
wr_func *wr_func_new_host(wr_store *s, const wr_functype *ft, uint64_t host_id);
wr_memory *wr_memory_new(wr_store *s, const wr_limits *limits);
wr_table *wr_table_new(wr_store *s, wr_valtype elemtype, const wr_limits *limits, uint64_t init);
wr_global *wr_global_new(wr_store *s, wr_globaltype type, uint64_t lo, uint64_t hi);
wr_tag *wr_tag_new(wr_store *s, const wr_functype *ft);
/* A host function and a tag of the store's type `id` as it is: a module's declared subtype or a type of
 * its recursion group (the ids wr_store_intern_module_types gives), which an import of that type
 * matches, where wr_func_new_host and wr_tag_new intern a final type of their own. NULL also when `id`
 * is none of the store's function types (for a tag: one with no results). */
wr_func *wr_func_new_host_id(wr_store *s, uint32_t id, uint64_t host_id);
wr_tag *wr_tag_new_id(wr_store *s, uint32_t id);

/* memory.grow: returns the old size in pages, or -1 when it cannot grow. */
int64_t wr_memory_grow(wr_memory *m, uint64_t delta_pages);
/* table.grow: returns the old size, or -1. New elements are `init`. */
int64_t wr_table_grow(wr_table *t, uint32_t delta, uint64_t init);

/* Import binding, as the host passes it to instantiation. */
typedef struct wr_extern {
    uint8_t kind; /* wr_externkind */
    void *ptr;    /* wr_func* / wr_table* / wr_memory* / wr_global* / wr_tag* */
} wr_extern;

/* Instantiate: check imports (link errors), allocate, initialize globals,
 * tables and memories from segments. Returns:
 *   0            ok, *out set; the caller then runs the start function
 *                (wr_instance_start) as an ordinary call;
 *   WR_ERR_LINK  imports do not match (err filled, nothing created);
 *   WR_ERR_RESOURCE  out of memory or over a limit;
 *   -trap        a segment was out of bounds: initialization trapped
 *                (wr_trap code, negated); *out is set, and effects on
 *                imported tables and memories persist, as the spec says. */
int wr_instance_new(wr_store *s, const wr_module *m, const wr_extern *imports, uint32_t nimports,
                    wr_instance **out, wr_error *err);

/* A new instance of `like`'s module, in its store, with the imports `like` was made with: what
 * wr_instance_new would make of them, without checking them or interning the module's types again
 * (a program's thread instances under wasi-threads). Same return values but WR_ERR_LINK. */
int wr_instance_new_like(const wr_instance *like, wr_instance **out, wr_error *err);

/* The start function, or NULL. */
wr_func *wr_instance_start(const wr_instance *inst);

/* The extern an export names. */
wr_extern wr_instance_export(const wr_instance *inst, uint32_t export_index);

/* Evaluate a constant expression in an instance (globals initialized so far).
 * Writes two words (v128 uses both). 0, or the trap of an allocation over the
 * store's GC heap limit (WR_TRAP_GC_HEAP). */
int wr_constexpr_eval(const wr_instance *inst, const wr_constexpr *ce, uint64_t out[2]);

#endif /* WR_RUNTIME_H */
