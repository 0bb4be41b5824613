/* wr_stackpool.h: memory for wasm threads' stacks, handed out by the store in
 * fixed-size chunks (see wr_stackpool.c). */
#ifndef WR_STACKPOOL_H
#define WR_STACKPOOL_H

#include <stddef.h>

typedef struct wr_stackpool wr_stackpool;

/* A chunk of `bytes` (page-rounded by the caller), zero-filled, from the pool
 * *pool (created on first use; every chunk of one pool has one size). NULL
 * when out of address space or when `bytes` differs from the pool's size. */
void *wr_stackpool_take(wr_stackpool **pool, size_t bytes);

/* Give a chunk back: its pages are released now and it is reused first. */
void wr_stackpool_give(wr_stackpool *pool, void *chunk);

/* Unmap everything (the store's end; no chunk may be in use). */
void wr_stackpool_free(wr_stackpool *pool);

#endif /* WR_STACKPOOL_H */
