/* wr_gc.h: what a collector sees of a store: its roots, enumerated exactly,
 * and marking the host's externref handles from them.
 *
 * Roots (wr_gc_roots.c): every thread's frames, through the stack maps
 * (wr_stackmap.h): the top frame where it stopped, each caller at its call,
 * the frames a host entry interrupted at their host or native call; a
 * finished call's results the host has not read yet; globals and tables of a
 * collected kind; passive element segments of one; and every exception
 * object's payload (exceptions live as long as the store: the host may hold
 * any of them and throw it again). The host's own references are the host's
 * to add: a value it holds that came from wasm is a host object already, not
 * a slot, and wasm only sees the slots above.
 *
 * A collection runs with every thread of the store stopped outside wr_exec
 * (a host call, a slice end, a wait, idle), so each thread's registers are
 * in its wr_thread; the host calls it at such a point, never while it is
 * converting values into slots it has not written yet (core/store.py). */
#ifndef WR_GC_H
#define WR_GC_H

#include <stddef.h>
#include <stdint.h>

#include "wr_exec.h"

/* Called once per root slot (a slot may be visited twice: marking is idempotent). */
typedef void (*wr_gc_visit_fn)(void *ctx, const uint64_t *slot);

/* The roots in thread `t`'s frames (and its unread results); returns how many slots. */
size_t wr_gc_thread_roots(const wr_thread *t, wr_gc_visit_fn visit, void *ctx);

/* Every root of store `s`: its pooled threads', `extra` threads' (the host's own, which the pool does not
 * list; NULLs are skipped), its objects'. Returns how many slots. */
size_t wr_gc_roots(wr_store *s, wr_thread *const *extra, size_t nextra, wr_gc_visit_fn visit, void *ctx);

/* Mark the host's externref handles reachable from the roots: bit n of `bits` (n < nbits, little-endian
 * bytes) for handle n, the slot (n << 2) | 2 (wr_runtime.h). Returns how many root slots were scanned. While
 * the store has struct or array objects (wr_gcobj.h), which may hold handles and are not traced yet, it marks
 * every handle. */
size_t wr_gc_mark_host(wr_store *s, wr_thread *const *extra, size_t nextra, uint8_t *bits, size_t nbits);

#endif /* WR_GC_H */
