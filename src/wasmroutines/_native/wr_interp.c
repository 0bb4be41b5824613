/* wr_interp.c: the dispatch loop. It only executes: decoding, validation and
 * translation happened before (wr_translate.c), so every operand is a slot
 * index into the current frame and every branch a precomputed offset.
 *
 * The instruction bodies live in insns/NAME.def; tools/gen_insns.py turns them
 * into wr_interp_gen.inc, included below. This file supplies the registers
 * and the macros those bodies use:
 *
 *   SLOT_<T>(i) / SET_<T>(i, v)   read / write slot i of the frame
 *   TRAP(name) / TRAP_CODE(code)  trap at the current instruction
 *   MEM(addr, offset, n)          bounds-checked pointer into memory 0 (32-bit)
 *   MEMX(addr, offset, n)         the same into any memory (`memx`: index, 64-bit)
 *   SUSPEND(status)               leave wr_exec restartably
 *   NEXT()                        dispatch the instruction at pc
 *
 * Exceptions (insns/exception.def) unwind the explicit frame stack, never
 * the C stack: a throw leaves the loop (THROW), and throw_from looks up the
 * handler tables of the current function and then of each caller, at the
 * call, down to the host entry of the current call, and lands in the first
 * clause that takes it; the loop runs on from there.
 *
 * Architecture invariant: a wasm call pushes a wr_frame and stays in this
 * loop; the C stack does not grow with wasm call depth.
 */
#include <string.h>

#include "wr_exec.h"
#include "wr_futex.h"
#include "wr_gc.h"
#include "wr_gcobj.h"
#include "wr_insn_gen.h"
#include "wr_numeric.h"

#if defined(__GNUC__) && !defined(WR_NO_COMPUTED_GOTO) && !defined(WR_COUNT_OPS)
#define WR_COMPUTED_GOTO 1
#endif

#ifdef WR_COUNT_OPS
/* A profiling build (never shipped): counts every executed op and every
 * pair of consecutive ops, to choose superinstructions from measurements
 * rather than guesses. The counts go to the file named by $WR_COUNT_OPS_FILE
 * at exit: "op N" and "pair A B N" lines. It dispatches by switch, where the
 * op word is the op number. */
#include <stdio.h>
#include <stdlib.h>

static uint64_t op_counts[WR_OP_COUNT];
static uint64_t *pair_counts; /* [prev * WR_OP_COUNT + op] */
static unsigned prev_op;
#define OP_NAME(name) #name,
static const char *const op_c_names[WR_OP_COUNT] = {WR_OP_LIST(OP_NAME)};
#undef OP_NAME

static void dump_op_counts(void)
{
    const char *path = getenv("WR_COUNT_OPS_FILE");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    for (unsigned i = 0; i < WR_OP_COUNT; i++)
        if (op_counts[i])
            fprintf(f, "op %s %llu\n", op_c_names[i], (unsigned long long)op_counts[i]);
    for (size_t i = 0; pair_counts && i < (size_t)WR_OP_COUNT * WR_OP_COUNT; i++)
        if (pair_counts[i])
            fprintf(f, "pair %s %s %llu\n", op_c_names[i / WR_OP_COUNT], op_c_names[i % WR_OP_COUNT],
                    (unsigned long long)pair_counts[i]);
    fclose(f);
}

static void count_op(unsigned op)
{
    if (!pair_counts) {
        pair_counts = calloc((size_t)WR_OP_COUNT * WR_OP_COUNT, sizeof *pair_counts);
        atexit(dump_op_counts);
    }
    if (op < WR_OP_COUNT) {
        op_counts[op]++;
        if (pair_counts)
            pair_counts[(size_t)prev_op * WR_OP_COUNT + op]++;
        prev_op = op;
    }
}
#endif

/* Op words: label offsets from op_invalid (computed goto) or op numbers. */
static wr_word op_words[WR_OP_COUNT];
static int op_words_ready;

static inline float slot_f32(uint64_t s)
{
    uint32_t u = (uint32_t)s;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint64_t f32_slot(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline double slot_f64(uint64_t s)
{
    double d;
    memcpy(&d, &s, sizeof d);
    return d;
}

static inline uint64_t f64_slot(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline wr_v128 slot_v128(const uint64_t *p)
{
    wr_v128 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define SLOT_I32(i) ((uint32_t)fp[(i)])
#define SET_I32(i, v) (fp[(i)] = (uint64_t)(uint32_t)(v))
#define SLOT_I64(i) (fp[(i)])
#define SET_I64(i, v) (fp[(i)] = (uint64_t)(v))
#define SLOT_F32(i) slot_f32(fp[(i)])
#define SET_F32(i, v) (fp[(i)] = f32_slot(v))
#define SLOT_F64(i) slot_f64(fp[(i)])
#define SET_F64(i, v) (fp[(i)] = f64_slot(v))
#define SLOT_V128(i) slot_v128(&fp[(i)])
#define SET_V128(i, v)                                                                                           \
    do {                                                                                                         \
        wr_v128 v128_tmp_ = (v);                                                                                 \
        memcpy(&fp[(i)], &v128_tmp_, sizeof v128_tmp_);                                                          \
    } while (0)

/* The accumulators: every instruction also leaves its numeric result here,
 * and an instruction's accumulator variant (tools/gen_insns.py) reads its
 * first input from here when the translator knows the value was computed by
 * the instruction just before it, sparing a store-to-load round trip
 * through the frame. Saved in the thread across suspensions. */
#define ACC_I32 ((uint32_t)iacc)
#define ACC_I64 (iacc)
#define ACC_F32 (facc)
#define ACC_F64 (dacc)
#define SET_ACC_I32(v) (iacc = (uint64_t)(uint32_t)(v))
#define SET_ACC_I64(v) (iacc = (uint64_t)(v))
#define SET_ACC_F32(v) (facc = (v))
#define SET_ACC_F64(v) (dacc = (v))

/* Traps and yields leave through exits shared by every handler (trap_<NAME>, yield, mem_fault, at the end of
 * run): a handler's check is then one conditional jump, where an exit of its own would add a block to the
 * loop for each of the ~800 checks, and the loop's size decides how well GCC allocates its registers
 * (docs/interpreter.md, "The run loop's size"). TRAP takes a trap's name (WR_TRAP_LIST); TRAP_CODE a code
 * computed at run time. */
#define TRAP(name) goto trap_##name
#define TRAP_CODE(code)                                                                                          \
    do {                                                                                                         \
        trap = (code);                                                                                           \
        goto trap_exit;                                                                                          \
    } while (0)

/* Memory access checks. The fast path is one compare against `memsize`.
 *
 * Exploration mode (thread->explore_shared, for the schedule explorer) makes
 * every access to a shared memory a preemption point, so interleavings such
 * as a lost update between a load and a store can show. It costs nothing
 * otherwise: for such a thread `memsize` is 0, every access takes the slow
 * path, which checks the real size, charges the slice and may suspend
 * before the instruction has any effect (pc still at it: restartable);
 * `access_granted` lets the resumed instruction through.
 *
 * The slow path is out of line (mem_slow, explore_charge): a call and a branch in each of the ~350 handlers
 * that check an address, where inline it was a dozen blocks each. The run loop's size decides how GCC
 * allocates its registers (docs/interpreter.md, "The run loop's size"). */
#define MEM_SLOW(end)                                                                                            \
    do {                                                                                                         \
        fault = mem_slow(thread, (end), budget);                                                                 \
        if (fault < 0)                                                                                           \
            goto mem_fault;                                                                                      \
        budget -= fault;                                                                                         \
    } while (0)

/* Exploration mode's charge for an access to shared memory: a unit, and at the budget's end a preemption
 * point before the access (restartable: `access_granted` lets it through when the thread resumes). */
#define EXPLORE_CHARGE()                                                                                         \
    do {                                                                                                         \
        fault = explore_charge(thread, budget);                                                                  \
        if (fault < 0)                                                                                           \
            goto mem_fault;                                                                                      \
        budget -= fault;                                                                                         \
    } while (0)

/* What the slow path returns when the access may not go ahead: the loop leaves through mem_fault. */
enum { MEM_OOB = -1, MEM_YIELD = -2 };

/* The units of slice an explored access costs (0 when it was granted at the preemption point it resumes from,
 * else 1), or MEM_YIELD when that unit ends the slice: the thread suspends before the access, granted it. */
static __attribute__((noinline, cold)) int explore_charge(wr_thread *t, int64_t budget)
{
    if (t->access_granted) {
        t->access_granted = false;
        return 0;
    }
    if (budget < 1) {
        t->access_granted = true;
        return MEM_YIELD;
    }
    return 1;
}

/* An access to memory 0 ending at `end` that failed the fast check: out of bounds (MEM_OOB), or an explored
 * access (t->explore_mem: memsize is 0 for the thread) inside memory, charged as explore_charge says. */
static __attribute__((noinline, cold)) int mem_slow(wr_thread *t, uint64_t end, int64_t budget)
{
    if (t->explore_mem == NULL || end > t->explore_mem->size)
        return MEM_OOB;
    return explore_charge(t, budget);
}

/* The range [addr, addr + n) must lie inside memory 0 (64-bit arithmetic
 * cannot overflow here). */
#define MEM_RANGE(addr, n)                                                                                       \
    do {                                                                                                         \
        uint64_t end_ = (uint64_t)(addr) + (uint64_t)(n);                                                        \
        if (end_ > memsize)                                                                                      \
            MEM_SLOW(end_);                                                                                      \
    } while (0)

/* A checked pointer to the access [addr + offset, +n). */
#define MEM(addr, offset, n)                                                                                     \
    ({                                                                                                           \
        uint64_t ea_ = (uint64_t)(addr) + (uint64_t)(offset);                                                    \
        if (ea_ + (n) > memsize)                                                                                 \
            MEM_SLOW(ea_ + (n));                                                                                 \
        membase + ea_;                                                                                           \
    })

/* Atomic accesses: alignment to the access size first, then bounds
 * (wr_atomic_mem in wr_numeric.h states the same rule for tests). */
#define ATOMIC_MEM(p, addr, offset, n)                                                                           \
    do {                                                                                                         \
        uint64_t ea_ = (uint64_t)(addr) + (uint64_t)(offset);                                                    \
        if (ea_ & ((n)-1))                                                                                       \
            TRAP(WR_TRAP_UNALIGNED_ATOMIC);                                                                      \
        if (ea_ + (n) > memsize)                                                                                 \
            MEM_SLOW(ea_ + (n));                                                                                 \
        (p) = membase + ea_;                                                                                     \
    } while (0)

/* The memory object of a memarg instruction's plain form. */
#define MEM_OBJ (inst->mems[0])

/* Any memory: the *__mx variants (tools/gen_insns.py, mx_variant) of memarg instructions, for a memory index
 * other than 0 or a 64-bit memory, and the memory instructions' *_x forms. The memory comes from the
 * instance's array, its size from the object (so a grow by anyone is seen at once), and the bounds check is
 * overflow-safe for any 64-bit address and offset: [ea, ea + n) must lie inside the memory. The same
 * exploration-mode charge as MEM_SLOW for a shared memory. `memx` is the instruction's memory immediate. */
#define MEM_OBJX (inst->mems[memx & WR_MEMX_INDEX])

#define MEMX_EXPLORE(m)                                                                                          \
    do {                                                                                                         \
        if (thread->explore_shared && (m)->shared)                                                               \
            EXPLORE_CHARGE();                                                                                    \
    } while (0)

/* True when [a, a + n) is not inside memory m (64-bit a and n, no overflow). */
#define MEMX_OUT(m, a, n) ((uint64_t)(n) > (m)->size || (uint64_t)(a) > (m)->size - (uint64_t)(n))

#define MEMX(addr, offset, n)                                                                                    \
    ({                                                                                                           \
        wr_memory *mx_ = MEM_OBJX;                                                                               \
        uint64_t ea_;                                                                                            \
        if (__builtin_add_overflow((uint64_t)(addr), (uint64_t)(offset), &ea_) || MEMX_OUT(mx_, ea_, n))         \
            TRAP(WR_TRAP_MEMORY_OOB);                                                                            \
        MEMX_EXPLORE(mx_);                                                                                       \
        mx_->base + ea_;                                                                                         \
    })

/* Alignment first (of the low 64 bits: n divides 2^64, so a wrapped sum has the same), then bounds. */
#define ATOMIC_MEMX(p, addr, offset, n)                                                                          \
    do {                                                                                                         \
        wr_memory *mx_ = MEM_OBJX;                                                                               \
        uint64_t ea_;                                                                                            \
        bool over_ = __builtin_add_overflow((uint64_t)(addr), (uint64_t)(offset), &ea_);                         \
        if (ea_ & ((n)-1))                                                                                       \
            TRAP(WR_TRAP_UNALIGNED_ATOMIC);                                                                      \
        if (over_ || MEMX_OUT(mx_, ea_, n))                                                                      \
            TRAP(WR_TRAP_MEMORY_OOB);                                                                            \
        MEMX_EXPLORE(mx_);                                                                                       \
        (p) = mx_->base + ea_;                                                                                   \
    } while (0)

/* A range of a bulk instruction's memory m: trap unless [a, a + n) lies inside it. */
#define MEMX_RANGE(m, a, n)                                                                                      \
    do {                                                                                                         \
        if (MEMX_OUT(m, a, n))                                                                                   \
            TRAP(WR_TRAP_MEMORY_OOB);                                                                            \
        MEMX_EXPLORE(m);                                                                                         \
    } while (0)

/* An address or size operand of an *_x instruction: the whole slot for a 64-bit memory, else its low half. */
#define MEMX_ARG(v, is64) ((is64) ? (uint64_t)(v) : (uint64_t)(uint32_t)(v))

/* Memory 0 of the current instance, reloaded after anything that may
 * change it (a call into another instance, memory.grow, re-entry). */
#define LOAD_MEM()                                                                                               \
    do {                                                                                                         \
        if (inst->module->nmems) {                                                                               \
            membase = inst->mems[0]->base;                                                                       \
            memsize = inst->mems[0]->size;                                                                       \
            thread->explore_mem = thread->explore_shared && inst->mems[0]->shared ? inst->mems[0] : NULL;        \
            if (thread->explore_mem)                                                                             \
                memsize = 0;                                                                                     \
        } else {                                                                                                 \
            membase = NULL;                                                                                      \
            memsize = 0;                                                                                         \
            thread->explore_mem = NULL;                                                                          \
        }                                                                                                        \
    } while (0)

#define SUSPEND(st)                                                                                              \
    do {                                                                                                         \
        status = (st);                                                                                           \
        goto suspend;                                                                                            \
    } while (0)

/* Preemption: charge `cost` against the slice and yield when it is spent.
 * WR_NO_PREEMPTION compiles the checks out, only to measure what they cost
 * (benchmarks); such a build cannot preempt spinning threads or stop on fuel. */
#ifdef WR_NO_PREEMPTION
#define CHARGE(cost) ((void)(cost))
#else
#define CHARGE(cost)                                                                                             \
    do {                                                                                                         \
        budget -= (cost);                                                                                        \
        if (budget < 0)                                                                                          \
            goto yield;                                                                                          \
    } while (0)
#endif

/* A bulk operation's charge of `units` (insns/table.def, insns/gc.def): on fuel it yields before any effect. */
#ifdef WR_NO_PREEMPTION
#define BULK_CHARGE(units) ((void)(units))
#else
#define BULK_CHARGE(units)                                                                                       \
    do {                                                                                                         \
        budget -= (int64_t)(units);                                                                              \
        if (budget < 0 && thread->store->fuel_enabled && limit - budget > thread->store->fuel)                   \
            goto yield;                                                                                          \
    } while (0)
#endif

/* A new GC object of store type `id` (an array's of `n` elements): wr_gc_alloc, after a step of the collector
 * (wr_gc.h) once the heap passed its threshold, or a whole collection when the allocation failed (past the
 * store's limit, or out of host memory); a trap if it fails after one (wr_gc_alloc_slow). The thread's
 * registers are saved for the roots: its top frame is at the allocating instruction's op word (the points set
 * there: the operands before it takes its inputs, which it reads from their slots, never the accumulator,
 * which holds no reference anyway). */
#define GC_ALLOC(id, n)                                                                                          \
    ({                                                                                                           \
        wr_gcobj *o_ = store->gc_bytes < store->gc_threshold ? wr_gc_alloc(store, (id), (n)) : NULL;            \
        if (!o_) {                                                                                               \
            thread->pc = pc;                                                                                     \
            thread->fp = fp;                                                                                     \
            thread->func = func;                                                                                 \
            thread->nframes = nframes;                                                                           \
            o_ = wr_gc_alloc_slow(store, (id), (n));                                                             \
            if (!o_)                                                                                             \
                TRAP(WR_TRAP_GC_HEAP);                                                                           \
        }                                                                                                        \
        o_;                                                                                                      \
    })

/* GC objects (insns/gc.def): a struct's field at byte `offset`, an array's element `i` of `size` bytes, an
 * array's elements [i, i + n), each trapping on null and out of bounds as the spec does. */
#define STRUCT_FIELD(a, offset)                                                                                  \
    ({                                                                                                           \
        if ((a) == 0)                                                                                            \
            TRAP(WR_TRAP_NULL_STRUCT);                                                                           \
        wr_gc_data(wr_gc_obj(a)) + (offset);                                                                     \
    })
#define ARRAY_ELEM(a, i, size)                                                                                   \
    ({                                                                                                           \
        if ((a) == 0)                                                                                            \
            TRAP(WR_TRAP_NULL_ARRAY);                                                                            \
        wr_gcobj *o_ = wr_gc_obj(a);                                                                             \
        if ((i) >= o_->length)                                                                                   \
            TRAP(WR_TRAP_ARRAY_OOB);                                                                             \
        wr_gc_data(o_) + (size_t)(i) * (size);                                                                   \
    })
#define ARRAY_RANGE(a, i, n)                                                                                     \
    ({                                                                                                           \
        if ((a) == 0)                                                                                            \
            TRAP(WR_TRAP_NULL_ARRAY);                                                                            \
        wr_gcobj *o_ = wr_gc_obj(a);                                                                             \
        if ((uint64_t)(i) + (n) > o_->length)                                                                    \
            TRAP(WR_TRAP_ARRAY_OOB);                                                                             \
        o_;                                                                                                      \
    })

#ifdef WR_COMPUTED_GOTO
#define TARGET(name) op_##name:
#define NEXT() goto *(const void *)((const char *)&&op_invalid + (int32_t)*pc)
#else
#define TARGET(name) case WR_OP_##name:
#define NEXT() goto dispatch
#endif

/* What the loop leaves on when a call needs more stack than its limits allow (grow_for_call): wr_interp_run
 * grows the stacks, which may move them, and runs on from the call, which finds room then. The loop itself
 * calls nothing for it, so no register its calls need is given up to the slow path. */
#define GROW (-1)
/* ... and when a native host function needs wasm run first (WR_NATIVE_CALL): wr_interp_run sets the call up
 * as a call of its own, the loop runs it, and when it has returned (or trapped) the native's call runs again. */
#define NATIVE_CALL (-2)
/* ... and when wasm throws (insns/exception.def): wr_interp_run finds the handler and lands there (throw_from),
 * then runs the loop again from the handler: the loop itself holds no unwinding code, so its registers and
 * code stay as they were without exception handling. */
#define THROW (-3)
#define RUN (-4) /* wr_interp_run: run the loop (again) */

static int run(wr_thread *thread);

static const wr_catch *find_catch(const wr_func *f, uint32_t off, const wr_tag *tag);

/* An exception object for the throw `t` unwinds (its payload in the thrower's frame): a GC allocation, so it
 * steps the collector first once the heap passed its threshold, and collects whole if the allocation fails,
 * as GC_ALLOC does (wr_gc_alloc_slow). The thread's registers are still the thrower's, at the throw, whose
 * points set holds the payload's references (or the locals they were read from); NULL when it fails after a
 * collection. */
static wr_exn *new_exn(wr_thread *t, wr_tag *tag, const uint64_t *payload)
{
    wr_store *s = t->store;
    wr_exn *e = s->gc_bytes < s->gc_threshold ? wr_exn_new(s, tag, payload) : NULL;
    if (e == NULL) {
        wr_gc_make_room(s, false);
        e = wr_exn_new(s, tag, payload);
        if (e == NULL) {
            wr_gc_make_room(s, true);
            e = wr_exn_new(s, tag, payload);
        }
    }
    return e;
}

/* Throw what the thread throws (t->throw_tag with the payload at t->throw_payload; t->throw_exn: the exception,
 * when it has one yet) from where it stopped (t->pc in t->func): find the innermost handler that takes it, in
 * t->func at pc (unless t->throw_skip), then in each caller at its call, down to the host entry of the current
 * call; write the label's values to the handler frame's slots (the payload lies above them, in the thrower's
 * frame or the exception: memmove copies it down) and make that frame the thread's, at the label, or return
 * from it when the label is the function's. An exception object is made only when something keeps it: a _ref
 * clause, or the host when nothing catches it. Returns RUN when landed (run on), WR_DONE when landing
 * returned from the call's first function, or WR_TRAP (WR_TRAP_UNCAUGHT_EXCEPTION with the exception in t->exn,
 * or out of memory), from the throw, as the loop's trap_exit does. */
static int unwind(wr_thread *t);

static int throw_from(wr_thread *t)
{
    int status = unwind(t);
    t->throw_exn = NULL; /* no longer in flight: a root only while unwinding (wr_gc_roots.c) */
    return status;
}

static int unwind(wr_thread *t)
{
    wr_tag *tag = t->throw_tag;
    uint64_t *payload = t->throw_payload;
    wr_exn *exn = t->throw_exn;
    bool skip = t->throw_skip;
    const wr_word *at = t->pc;
    wr_func *func = t->func;
    uint64_t *fp = t->fp;
    uint32_t nframes = t->nframes;
    int trap = WR_TRAP_UNCAUGHT_EXCEPTION;
    t->throw_skip = false;
    for (;;) {
        const wr_catch *c = skip ? NULL : find_catch(func, (uint32_t)(at - func->code->words), tag);
        skip = false;
        if (c != NULL) {
            uint32_t n = tag->type->param_slots;
            bool ref = c->kind == WR_CATCH_REF || c->kind == WR_CATCH_ALL_REF;
            bool values = c->kind == WR_CATCH || c->kind == WR_CATCH_REF;
            if (ref && exn == NULL && (exn = new_exn(t, tag, payload)) == NULL) {
                trap = WR_TRAP_GC_HEAP;
                break;
            }
            if (ref)
                payload = exn->payload;
            uint64_t *dst = fp + c->dst;
            if (values && n)
                memmove(dst, payload, (size_t)n * sizeof *dst);
            if (ref)
                dst[values ? n : 0] = wr_exn_ref(exn);
            if (!c->ret) {
                t->pc = func->code->words + c->target;
                t->fp = fp;
                t->func = func;
                t->nframes = nframes;
                return RUN;
            }
            /* The function's label: its results are in place, it returns (the loop's do_return). */
            const wr_frame *f = &WR_FRAME(t->frames, --nframes);
            t->nframes = nframes;
            if (f->ret_func == NULL) {
                t->results = fp;
                wr_thread_leave_entry(t);
                return WR_DONE;
            }
            t->pc = f->ret_pc;
            t->fp = f->ret_fp;
            t->func = f->ret_func;
            return RUN;
        }
        if (nframes == 0 || WR_FRAME(t->frames, nframes - 1).ret_func == NULL)
            break;
        const wr_frame *fr = &WR_FRAME(t->frames, --nframes);
        at = fr->ret_pc - 1; /* inside the call */
        fp = fr->ret_fp;
        func = fr->ret_func;
    }
    if (trap == WR_TRAP_UNCAUGHT_EXCEPTION) {
        if (exn == NULL && (exn = new_exn(t, tag, payload)) == NULL)
            trap = WR_TRAP_GC_HEAP;
        t->exn = exn;
    }
    t->trap = trap;
    wr_thread_record_backtrace(t, t->func, t->pc);
    wr_thread_leave_entry(t);
    return WR_TRAP;
}

/* The clause of `f`'s innermost handler at code word `off` that takes an exception of `tag`, or NULL. */
static const wr_catch *find_catch(const wr_func *f, uint32_t off, const wr_tag *tag)
{
    const wr_code *code = f->code;
    for (uint32_t i = 0; i < code->nhandlers; i++) {
        const wr_handler *h = &code->handlers[i];
        if (off < h->start || off >= h->end)
            continue;
        for (uint32_t k = 0; k < h->count; k++) {
            const wr_catch *c = &code->catches[h->first + k];
            if (c->kind == WR_CATCH_ALL || c->kind == WR_CATCH_ALL_REF || f->inst->tags[c->tag] == tag)
                return c;
        }
    }
    return NULL;
}

wr_word wr_interp_op_word(unsigned op)
{
    if (!op_words_ready)
        run(NULL);
    return op < WR_OP_COUNT ? op_words[op] : op_words[0];
}

int wr_interp_run(wr_thread *thread)
{
    int status = RUN;
    /* Running again: the host has written a host call's results, and read a finished call's. */
    thread->host_pending = false;
    thread->results_func = NULL;
    if (thread->pending_exn != NULL) {
        /* The host threw at the host call the thread stopped at: throw it from the call instruction. A tail
         * call's caller is gone, for its handlers too: as if the host function had replaced it (the op word of
         * a return_call is its own: no sequence starts with an instruction that does not fall through). */
        wr_exn *e = thread->pending_exn;
        const wr_word *pc = thread->host_pc;
        thread->pending_exn = NULL;
        thread->throw_tag = e->tag;
        thread->throw_payload = e->payload;
        thread->throw_exn = e;
        thread->throw_skip = *pc == op_words[WR_OP_return_call] || *pc == op_words[WR_OP_return_call_indirect];
        thread->pc = pc;
        status = throw_from(thread);
    }
    for (;;) {
        if (status == RUN)
            status = run(thread);
        if (status == THROW)
            status = throw_from(thread); /* RUN when it landed: on from the handler */
        if (status == RUN) {
            continue;
        } else if (status == GROW) {
            /* Suspended at the call: grow, then run it again (a trap, from the call when it runs again). */
            thread->grow_trap = wr_thread_grow(thread, thread->grow_frames, thread->grow_slots, thread->nframes);
        } else if (status == NATIVE_CALL) {
            /* Suspended at the native's call: its function first, a call of its own, then that call again. */
            if (wr_thread_call(thread, thread->native_call, NULL) == 0)
                thread->entries[thread->nentries - 1].trampoline = true;
            else
                thread->native_call_trapped = true;
        } else if ((status == WR_DONE || status == WR_TRAP) && thread->left_trampoline) {
            /* (An exception the native's function did not catch ends it as a trap does.) */
            /* The native's function returned or trapped (its entry left: the native's call is next). */
            thread->left_trampoline = false;
            thread->results_func = NULL;
            thread->native_call_trapped = status == WR_TRAP;
            thread->trap = WR_TRAP_NONE;
        } else {
            return status;
        }
        status = RUN;
    }
}

static int run(wr_thread *thread)
{
#ifdef WR_COMPUTED_GOTO
#define LABEL_OFFSET(name) &&op_##name - &&op_invalid,
    static const int32_t label_offsets[WR_OP_COUNT] = {WR_OP_LIST(LABEL_OFFSET)};
#undef LABEL_OFFSET
#endif
    if (thread == NULL) {
        for (unsigned i = 0; i < WR_OP_COUNT; i++) {
#ifdef WR_COMPUTED_GOTO
            op_words[i] = (wr_word)label_offsets[i];
#else
            op_words[i] = i;
#endif
        }
        op_words_ready = 1;
        return WR_DONE;
    }

    const wr_word *pc = thread->pc;
    uint64_t *fp = thread->fp;
    wr_func *func = thread->func;
    wr_instance *inst = func->inst;
    wr_frame *const frames = thread->frames;
    uint32_t nframes = thread->nframes;
    uint8_t *membase;
    uint64_t memsize;
    wr_func *callee = NULL;
    uint32_t call_base = 0, call_size = 0;
    int trap = WR_TRAP_NONE;
    int fault = 0; /* a memory slow path's answer: the units to charge, or (< 0) mem_fault's cause */
    int status = WR_DONE;
    uint64_t iacc = thread->acc_i;
    float facc = thread->acc_f;
    double dacc = thread->acc_d;

    /* The loop runs on one budget: the slice, cut short by the store's fuel left. */
    wr_store *const store = thread->store;
    const int64_t slice = thread->budget;
    const int64_t limit = store->fuel_enabled && store->fuel < slice ? store->fuel : slice;
    int64_t budget = limit;

    LOAD_MEM();
    (void)membase;
    (void)memsize;


#ifdef WR_COMPUTED_GOTO
    NEXT();
#else
dispatch:
#ifdef WR_COUNT_OPS
    count_op(*pc);
#endif
    switch ((enum wr_op)*pc) {
#endif

    TARGET(invalid)
    {
        /* Never emitted: reaching it means the translator broke an invariant. */
        TRAP(WR_TRAP_UNREACHABLE);
    }

#include "wr_interp_gen.inc"

#ifndef WR_COMPUTED_GOTO
    default:
        TRAP(WR_TRAP_UNREACHABLE);
    }
#endif

do_call : {
    if (callee->code == NULL) {
        if (callee->native != NULL) {
            /* A native host function (wr_runtime.h): done here, or parked with pc left at the call, which
             * runs again when the thread resumes; else the host's own path below. */
            int r = callee->native(thread, callee->native_ctx, fp + call_base);
            if (r == WR_NATIVE_DONE) {
                pc += call_size;
                CHARGE(1);
                NEXT();
            }
            if (r == WR_NATIVE_PARKED)
                SUSPEND(WR_WAIT);
            if (r == WR_NATIVE_YIELD) {
                pc += call_size; /* as a host call: nothing charged, and the slice ends after it */
                SUSPEND(WR_YIELD);
            }
            if (r == WR_NATIVE_CALL) {
                const wr_functype *nt = callee->type;
                thread->sp = fp + call_base + (nt->param_slots > nt->result_slots ? nt->param_slots : nt->result_slots);
                SUSPEND(NATIVE_CALL); /* pc is still at the call: it runs again */
            }
        }
        /* A host function: hand the call to the host, args in place. */
        const wr_functype *ft = callee->type;
        uint32_t n = ft->param_slots > ft->result_slots ? ft->param_slots : ft->result_slots;
        thread->host_func = callee;
        thread->host_args = fp + call_base;
        thread->sp = fp + call_base + n;
        thread->host_pc = pc;
        thread->host_pending = true;
        pc += call_size;
        SUSPEND(WR_HOSTCALL);
    }
    const wr_code *code = callee->code;
    uint64_t *nfp = fp + call_base;
    if (nframes >= thread->max_frames || code->frame_slots > (size_t)(thread->stack_end - nfp))
        goto grow_for_call;
    {
        wr_frame *nf = &WR_FRAME(frames, nframes);
        nf->ret_pc = pc + call_size;
        nf->ret_fp = fp;
        nf->ret_func = func;
    }
    nframes++;
    /* Zero the declared locals and copy the constants in: usually a few
     * slots, so a plain loop (a call to memset/memcpy would also spill the
     * loop's registers around it). */
    {
        uint64_t *dst = nfp + code->param_slots;
        const uint64_t *src = code->init;
        for (uint32_t i = 0, n = code->init_slots; i < n; i++)
            dst[i] = src[i];
    }
    fp = nfp;
    func = callee;
    pc = code->words;
    if (callee->inst != inst) {
        inst = callee->inst;
        LOAD_MEM();
    }
    /* Calls are preemption points too (recursion without loops); setting up
     * the frame costs a unit per 8 slots, like bulk memory work, so a callee
     * with 50,000 locals is not nearly free. */
    CHARGE(1 + (code->init_slots >> 3));
    NEXT();
}

/* A tail call (return_call, return_call_indirect): the callee takes over the
 * current frame. Its frame starts at fp, as the caller's did, and returns
 * where the caller would have: the frame stack does not grow. A host callee
 * is called as `call` calls it; the code after the instruction copies its
 * results to fp[0 ..] and returns (wr_translate.c, op_return_call). */
do_tail_call : {
    if (callee->code == NULL)
        goto do_call;
    const wr_code *code = callee->code;
    if (code->frame_slots > (size_t)(thread->stack_end - fp))
        goto grow_for_tail_call;
    /* The arguments move down from fp[call_base ..] to fp[0 ..]: a forward
     * copy, since the destination starts at or below the source. */
    {
        const uint64_t *args = fp + call_base;
        for (uint32_t i = 0, n = code->param_slots; i < n; i++)
            fp[i] = args[i];
        uint64_t *dst = fp + code->param_slots;
        const uint64_t *src = code->init;
        for (uint32_t i = 0, n = code->init_slots; i < n; i++)
            dst[i] = src[i];
    }
    func = callee;
    pc = code->words;
    if (callee->inst != inst) {
        inst = callee->inst;
        LOAD_MEM();
    }
    CHARGE(1 + (code->init_slots >> 3));
    NEXT();
}

do_return : {
    wr_frame *f = &WR_FRAME(frames, --nframes);
    if (f->ret_func == NULL) {
        /* Returned through a host entry: the call is complete. */
        thread->results = fp;
        thread->results_func = func;
        thread->nframes = nframes;
        wr_thread_leave_entry(thread);
        status = WR_DONE;
        goto out;
    }
    pc = f->ret_pc;
    fp = f->ret_fp;
    func = f->ret_func;
    if (func->inst != inst) {
        inst = func->inst;
        LOAD_MEM();
    }
    NEXT();
}

/* Throw exn_tag with the payload at exn_payload (exn_obj: the exception, when it has one yet). The innermost
 * handler that takes it, in the current function at pc, then in each caller at its call, down to the host entry
 * of the current call: its frame becomes the current one (the frames above it are dropped), the label's values
 * go to its slots and it goes on at the label. An exception object is made only when something keeps it: a
 * _ref clause, or the host when nothing catches it (then it leaves as WR_TRAP_UNCAUGHT_EXCEPTION). */
/* A throw (the thrown exception in thread->throw_*): a preemption point, as a call is, before anything happened
 * (pc still at the throw, which runs again on resuming), so a loop of throws is preempted too; then
 * wr_interp_run unwinds (throw_from). */
do_throw:
    CHARGE(1);
    SUSPEND(THROW);

/* The shared exits (TRAP, CHARGE): the slice is spent, or a trap of each name. */
yield: __attribute__((unused)); /* unused when WR_NO_PREEMPTION compiles the charges out */
    SUSPEND(WR_YIELD);

#define TRAP_EXIT(name, msg)                                                                                     \
    trap_##name : __attribute__((unused));                                                                       \
    trap = name;                                                                                                 \
    goto trap_exit;
    WR_TRAP_LIST(TRAP_EXIT)
#undef TRAP_EXIT

/* A memory access's slow path refused it (MEM_SLOW, EXPLORE_CHARGE): out of bounds, or an explored access
 * whose unit ended the slice, where the thread suspends before the access (pc still at it). */
mem_fault:
    if (fault == MEM_OOB)
        TRAP(WR_TRAP_MEMORY_OOB);
    budget -= 1;
    SUSPEND(WR_YIELD);

/* A call past the stacks' limits (the pages touched so far, or the inline stacks: wr_exec.h): leave the loop
 * for wr_interp_run to grow them (GROW), or trap with what growing found. */
grow_for_call:
    if (thread->grow_trap) {
        trap = thread->grow_trap;
        thread->grow_trap = 0;
        goto trap_exit;
    }
    thread->grow_frames = nframes + 1;
    thread->grow_slots = (size_t)(fp - thread->stack) + call_base + callee->code->frame_slots;
    SUSPEND(GROW); /* pc is still at the call's own op word: it runs again */

grow_for_tail_call:
    if (thread->grow_trap) {
        trap = thread->grow_trap;
        thread->grow_trap = 0;
        goto trap_exit;
    }
    thread->grow_frames = nframes;
    thread->grow_slots = (size_t)(fp - thread->stack) + callee->code->frame_slots;
    SUSPEND(GROW);

trap_exit:
    thread->trap = trap;
    thread->nframes = nframes;
    wr_thread_record_backtrace(thread, func, pc);
    wr_thread_leave_entry(thread);
    status = WR_TRAP;
    goto out;

suspend:
    thread->acc_i = iacc;
    thread->acc_f = facc;
    thread->acc_d = dacc;
    thread->pc = pc;
    thread->fp = fp;
    thread->func = func;
    thread->nframes = nframes;

out : {
    int64_t used = limit - budget;
    thread->budget = slice - used;
    store->ran += (uint64_t)used;
    if (store->fuel_enabled) {
        store->fuel -= used;
        if (status == WR_YIELD && store->fuel < 0)
            status = WR_OUT_OF_FUEL;
    }
    return status;
}
}
