/* wr_gc.h: GC's collector: a store's roots, enumerated exactly, and an incremental mark and sweep of its
 * struct and array objects (wr_gcobj.h) and its exceptions that marks the host's externref handles on the way.
 *
 * Roots (wr_gc_roots.c): every thread's frames (the pool's and the host's own, s->host_thread), through the
 * stack maps (wr_stackmap.h): the top frame where it stopped, each caller at its call, the frames a host
 * entry interrupted at their host or native call; a finished call's results the host has not read yet;
 * a thread's exceptions in flight (the one a throw unwinds, one the host threw at a host call, one that left
 * uncaught for the host to read); globals and tables of a collected kind; passive element segments of one;
 * and every object and exception the host pins (a GcRef or a WasmException alive in Python: wr_gcobj.pins,
 * wr_exn.pins). Each root slot holds a value of the any, the extern or the exn hierarchy
 * (wr_stackmap_collected): null, an i31, a host's handle, an object or an exception, told apart by its bits.
 *
 * A cycle (wr_gc.c) marks what was reachable when it began (a snapshot at the beginning):
 *  - it starts at an allocation in wasm that finds the heap over its threshold, and grays what the roots
 *    name, all of them at once (the stacks, the exceptions in flight, the store's globals, tables and
 *    segments: a pause bounded by the roots' size, not the heap's);
 *  - each later allocation, once WR_GC_STEP bytes more were allocated, runs a step: it scans gray objects
 *    (each struct field or array element of a collected kind, and exceptions, linked through
 *    wr_exn.gray, each payload value of one by its tag's types; host handles met set their bit) and checks
 *    the objects and exceptions made before the cycle for pins, WR_GC_STEPMUL times the bytes allocated
 *    since the last step in all (an object's bytes, an array's a part at a time), so the mark ends before
 *    the heap grew by a fraction of itself. Objects and exceptions made while marking are born marked (black);
 *  - meanwhile wasm mutates the heap: the write barrier (wr_gc_barrier, below) grays a reference a field
 *    loses, so nothing reachable at the start is lost; stacks, globals and tables need none (scanned at the
 *    start, and every reference stored in one later was reachable at the start or is new), nor do objects'
 *    first values; a pin dropped while marking grays its object (wr_gc_unpin, wr_gc_exn_unpin);
 *  - once nothing is gray, the sweep walks the objects, then the exceptions, of the cycle's start from a
 *    cursor, a budget per step too, freeing the unmarked ones and unmarking the others; those made during
 *    the sweep are on lists of their own, which it does not walk. The next threshold: twice the bytes left, at least
 *    WR_GC_MIN_THRESHOLD.
 * No step has more to do than its budget and one struct; the start has the roots. Store.gc() and an
 * allocation past the heap's limit finish the cycle in progress, then run a whole one (wr_gc_collect).
 *
 * All of it counts bytes and follows lists in allocation order: no decision depends on an address or the
 * time (only gc_max_pause_ns reads the clock, to report it).
 *
 * A step or a collection runs with every thread of the store stopped where its registers are in its
 * wr_thread: outside wr_exec (a host call, a slice end, a wait, idle: Store.gc()), or in the run loop at an
 * allocation, which saves the running thread's registers first (wr_interp.c GC_ALLOC: its frame's set is the
 * points set at the allocating instruction, whose inputs are still in their slots), or where a throw makes
 * an exception object (wr_interp.c new_exn: the thread's registers are still the thrower's, at the throw).
 * Never while the host converts values into slots it has not written yet (core/store.py). */
#ifndef WR_GC_H
#define WR_GC_H

#include <stddef.h>
#include <stdint.h>

#include "wr_exec.h"
#include "wr_stackmap.h"

/* Called once per root slot (a slot may be visited twice: marking is idempotent). */
typedef void (*wr_gc_visit_fn)(void *ctx, const uint64_t *slot);

/* The roots in thread `t`'s frames (and its unread results); returns how many slots. */
size_t wr_gc_thread_roots(const wr_thread *t, wr_gc_visit_fn visit, void *ctx);

/* Every slot root of store `s`: its pooled threads', its host thread's, its objects'. Returns how many. */
size_t wr_gc_roots(wr_store *s, wr_gc_visit_fn visit, void *ctx);

enum { WR_GC_IDLE, WR_GC_MARK, WR_GC_SWEEP };
/* Bytes allocated between steps, and the work a step does per byte allocated (its budget, in bytes of objects
 * scanned or swept). */
#define WR_GC_STEP ((uint64_t)8 << 10)
#define WR_GC_STEPMUL 8

/* The payload slots of exception `e` of a collected kind (the tag's types: store ids, `cx`). */
size_t wr_gc_exn_slots(const wr_exn *e, const wr_typectx *cx, wr_gc_visit_fn visit, void *ctx);

/* Collect: finish the cycle in progress, then run a whole one: mark from the roots and the pinned objects and
 * exceptions, free the struct and array objects and the exceptions found unreachable. When `bits` is not
 * NULL, bit n (n < nbits, little-endian bytes) is set for each host externref handle n (the slot
 * (n << 2) | 2, wr_runtime.h) reachable, through objects too: the host frees the others. If the collector
 * runs out of memory for its gray stack it frees nothing and marks every handle. Returns how many structs and
 * arrays it freed. */
size_t wr_gc_collect(wr_store *s, uint8_t *bits, size_t nbits);

/* The collector's part of an allocation in wasm: a step (or the start of a cycle) when the heap is over its
 * threshold; a whole collection when the allocation `failed` (past the store's limit, or out of host memory).
 * Its time counts in gc_max_pause_ns. */
void wr_gc_make_room(wr_store *s, bool failed);

/* The run loop's allocation once the heap is over its threshold, or when wr_gc_alloc failed: room made
 * (wr_gc_make_room), the allocation, and if that fails a whole collection and the allocation again. NULL if
 * it still fails (WR_TRAP_GC_HEAP). new_exn (wr_interp.c) makes an exception object the same way. */
struct wr_gcobj *wr_gc_alloc_slow(wr_store *s, uint32_t type_id, uint32_t length);

/* Gray the objects among the `n` references at `refs` (8 bytes each, any alignment). */
void wr_gc_shade(wr_store *s, const uint8_t *refs, size_t n);

/* The write barrier: call it before `n` references (8 bytes each) at `field` in an object are overwritten, of
 * storage type `st` (store ids; anything not of a collected kind is left alone). One predictable branch
 * unless a cycle is marking: struct.set and array.set of a reference field (struct_set_ref, array_set_ref),
 * array.fill, array.copy and array.init_elem (insns/gc.def). */
static inline void wr_gc_barrier(wr_store *s, const uint8_t *field, size_t n, wr_valtype st)
{
    if (__builtin_expect(s->gc_marking, 0) && n && wr_valtype_is_ref(st)) {
        wr_typectx cx = wr_store_typectx(s);
        if (wr_stackmap_collected(st, &cx))
            wr_gc_shade(s, field, n);
    }
}

/* The host pins an object (a GcRef made) and drops a pin (a GcRef finalized): while marking, an object
 * unpinned is grayed, as a field losing it would be. */
void wr_gc_pin(wr_store *s, uint64_t ref);
void wr_gc_unpin(wr_store *s, uint64_t ref);
/* The host drops a pin of an exception (a WasmException finalized), grayed as wr_gc_unpin's objects are. */
void wr_gc_exn_unpin(wr_store *s, wr_exn *e);

#endif /* WR_GC_H */
