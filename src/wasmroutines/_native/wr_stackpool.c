/* wr_stackpool.c: wasm thread stacks carved from large reservations.
 *
 * A thread needs a value stack and a frame stack big enough for the deepest
 * call the store allows, but an idle thread should cost only the pages it
 * touched. Mapping each stack separately would cost two kernel mappings per
 * thread, and Linux allows about 65,000 per process: a hundred thousand
 * threads would not fit. So chunks come from blocks of many chunks, each one
 * mapping reserved without commitment (MAP_NORESERVE); a freed chunk returns
 * its pages to the kernel (MADV_DONTNEED, which also zero-fills them) and is
 * reused before the pool carves a new one. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "wr_stackpool.h"

#define CHUNKS_PER_BLOCK 64

typedef struct block {
    void *base;
    size_t bytes;
    struct block *next;
} block;

struct wr_stackpool {
    size_t chunk; /* bytes per chunk */
    block *blocks;
    uint8_t *next, *end; /* carving cursor in the newest block */
    void **free;         /* chunks given back, reused last-in first-out */
    size_t nfree, cap_free;
};

void *wr_stackpool_take(wr_stackpool **poolp, size_t bytes)
{
    wr_stackpool *p = *poolp;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return NULL;
        p->chunk = bytes;
        *poolp = p;
    }
    if (bytes != p->chunk)
        return NULL;
    if (p->nfree)
        return p->free[--p->nfree];
    if (p->next == p->end) {
        block *b = malloc(sizeof *b);
        if (!b)
            return NULL;
        b->bytes = p->chunk * CHUNKS_PER_BLOCK;
        b->base = mmap(NULL, b->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (b->base == MAP_FAILED) {
            free(b);
            return NULL;
        }
        b->next = p->blocks;
        p->blocks = b;
        p->next = b->base;
        p->end = p->next + b->bytes;
    }
    void *c = p->next;
    p->next += p->chunk;
    return c;
}

void wr_stackpool_give(wr_stackpool *p, void *chunk)
{
    if (p->nfree == p->cap_free) {
        size_t cap = p->cap_free ? p->cap_free * 2 : 64;
        void **f = realloc(p->free, cap * sizeof *f);
        if (!f) {
            /* Cannot remember it: the chunk stays reserved until the store ends. */
            madvise(chunk, p->chunk, MADV_DONTNEED);
            return;
        }
        p->free = f;
        p->cap_free = cap;
    }
    madvise(chunk, p->chunk, MADV_DONTNEED);
    p->free[p->nfree++] = chunk;
}

void wr_stackpool_free(wr_stackpool *p)
{
    if (!p)
        return;
    for (block *b = p->blocks, *next; b; b = next) {
        next = b->next;
        munmap(b->base, b->bytes);
        free(b);
    }
    free(p->free);
    free(p);
}
