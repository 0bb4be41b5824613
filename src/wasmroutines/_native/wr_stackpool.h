/* wr_stackpool.h: memory for wasm threads' stacks, handed out by the store in
 * fixed-size chunks (see wr_stackpool.c). */
#ifndef WR_STACKPOOL_H
#define WR_STACKPOOL_H

#include <stddef.h>

typedef struct wr_stackpool wr_stackpool;

/* Bytes of touched pages the pool keeps in idle chunks for reuse without a
 * page fault (wr_stackpool.c); past it, the oldest idle chunks give their
 * pages back to the kernel. */
#define WR_STACKPOOL_HOT_BYTES ((size_t)1 << 20)

/* A chunk of `bytes` (page-rounded by the caller) from the pool *pool
 * (created on first use; every chunk of one pool has one size). Its bytes
 * [*dirty_lo, *dirty_hi) (page-aligned offsets; equal when none) are what its
 * last user touched, kept as they were: the rest is zero-filled. NULL when
 * out of address space or when `bytes` differs from the pool's size. */
void *wr_stackpool_take(wr_stackpool **pool, size_t bytes, size_t *dirty_lo, size_t *dirty_hi);

/* Give a chunk back, its user having touched at most its bytes [lo, hi)
 * (page-aligned offsets): reused first, its pages kept while the pool's hot
 * bytes allow. */
void wr_stackpool_give(wr_stackpool *pool, void *chunk, size_t lo, size_t hi);

/* Touched bytes kept in idle chunks now (at most WR_STACKPOOL_HOT_BYTES). */
size_t wr_stackpool_hot_bytes(const wr_stackpool *pool);

/* Unmap everything (the store's end; no chunk may be in use). */
void wr_stackpool_free(wr_stackpool *pool);

#endif /* WR_STACKPOOL_H */
