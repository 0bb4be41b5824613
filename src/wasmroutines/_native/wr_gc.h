/* wr_gc.h: GC's collector: a store's roots, enumerated exactly, and a stop-the-world mark and sweep of its
 * struct and array objects (wr_gcobj.h) that marks the host's externref handles on the way.
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
 * Marking (wr_gc.c) grays the objects the roots name and scans the gray ones from an explicit stack (kept in
 * the store between collections: no recursion, so a list of a million structs is no deeper for the C stack
 * than one), each struct field or array element of a collected kind; exceptions go on a list of their own
 * (linked through them: wr_exn.gray), each payload value of a collected kind (by the tag's types) scanned the
 * same way; host handles met anywhere set their bit. Sweeping frees the unmarked objects and exceptions and
 * sets the next threshold: twice the live bytes, at least WR_GC_MIN_THRESHOLD. All of it counts bytes and follows lists in allocation order: no decision depends on
 * an address or the time.
 *
 * A collection runs with every thread of the store stopped where its registers are in its wr_thread: outside
 * wr_exec (a host call, a slice end, a wait, idle: Store.gc()), or in the run loop at an allocation, which
 * saves the running thread's registers first (wr_interp.c GC_ALLOC: its frame's set is the points set at the
 * allocating instruction, whose inputs are still in their slots), or where a throw makes an exception object
 * (wr_interp.c new_exn: the thread's registers are still the thrower's, at the throw). Never while the host converts values into
 * slots it has not written yet (core/store.py). */
#ifndef WR_GC_H
#define WR_GC_H

#include <stddef.h>
#include <stdint.h>

#include "wr_exec.h"

/* Called once per root slot (a slot may be visited twice: marking is idempotent). */
typedef void (*wr_gc_visit_fn)(void *ctx, const uint64_t *slot);

/* The roots in thread `t`'s frames (and its unread results); returns how many slots. */
size_t wr_gc_thread_roots(const wr_thread *t, wr_gc_visit_fn visit, void *ctx);

/* Every slot root of store `s`: its pooled threads', its host thread's, its objects'. Returns how many. */
size_t wr_gc_roots(wr_store *s, wr_gc_visit_fn visit, void *ctx);

/* The payload slots of exception `e` of a collected kind (the tag's types: store ids, `cx`). */
size_t wr_gc_exn_slots(const wr_exn *e, const wr_typectx *cx, wr_gc_visit_fn visit, void *ctx);

/* Collect: mark from the roots and the pinned objects and exceptions, free the struct and array objects and
 * the exceptions found unreachable.
 * When `bits` is not NULL, bit n (n < nbits, little-endian bytes) is set for each host externref handle n
 * (the slot (n << 2) | 2, wr_runtime.h) reachable, through objects too: the host frees the others. If the
 * collector runs out of memory for its gray stack it frees nothing and marks every handle. Returns how many
 * objects and exceptions it freed. */
size_t wr_gc_collect(wr_store *s, uint8_t *bits, size_t nbits);

#endif /* WR_GC_H */
