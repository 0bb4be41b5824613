/* wr_stackpool.c: wasm thread stacks carved from large reservations.
 *
 * A thread needs a value stack and a frame stack big enough for the deepest
 * call the store allows, but an idle thread should cost only the pages it
 * touched. Mapping each stack separately would cost two kernel mappings per
 * thread, and Linux allows about 65,000 per process: a hundred thousand
 * threads would not fit. So chunks come from blocks of many chunks, each one
 * mapping reserved without commitment (MAP_NORESERVE).
 *
 * A chunk given back is reused first (last in, first out), with the pages its
 * thread touched (the thread knows which: wr_exec.c) left as they are, so the
 * next thread starts without a page fault. Those pages are bounded: once the
 * idle chunks hold more than WR_STACKPOOL_HOT_BYTES of them, the oldest give
 * theirs back to the kernel (MADV_DONTNEED, which also zero-fills them), down
 * to half of it, in batches: one process_madvise call for up to TRIM_BATCH
 * chunks costs about what one madvise does (a page fault and a madvise are a
 * microsecond or two each; most threads touch one page). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall() */
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "wr_stackpool.h"

#define CHUNKS_PER_BLOCK 64
#define TRIM_BATCH       64

typedef struct block {
    void *base;
    size_t bytes;
    struct block *next;
} block;

typedef struct idle {
    uint8_t *chunk;
    size_t lo, hi; /* touched bytes kept: [lo, hi), lo == hi when clean */
} idle;

struct wr_stackpool {
    size_t chunk; /* bytes per chunk */
    block *blocks;
    uint8_t *next, *end; /* carving cursor in the newest block */
    idle *free; /* chunks given back; the newest last, reused first */
    size_t nfree, cap_free;
    size_t clean_below; /* free[0 .. clean_below) hold no kept pages */
    size_t hot; /* kept bytes in all of free[] */
    bool batch_fails; /* the kernel refused a batch: madvise one by one */
};

void *wr_stackpool_take(wr_stackpool **poolp, size_t bytes, size_t *dirty_lo, size_t *dirty_hi)
{
    *dirty_lo = *dirty_hi = 0;
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
    if (p->nfree) {
        idle *c = &p->free[--p->nfree];
        if (p->clean_below > p->nfree)
            p->clean_below = p->nfree;
        p->hot -= c->hi - c->lo;
        *dirty_lo = c->lo;
        *dirty_hi = c->hi;
        return c->chunk;
    }
    if (p->next == p->end) {
        block *b = malloc(sizeof *b);
        if (!b)
            return NULL;
        b->bytes = p->chunk * CHUNKS_PER_BLOCK;
        b->base =
            mmap(NULL, b->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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

/* Give the pages of `n` ranges back to the kernel: in one call where the
 * kernel takes MADV_DONTNEED for the calling process through process_madvise
 * (Linux 6.13; the pidfd sentinel for "this process" 6.15), else one madvise
 * each. */
static void release(wr_stackpool *p, struct iovec *iov, size_t n)
{
#if defined(__linux__) && defined(SYS_process_madvise)
    if (!p->batch_fails) {
        size_t want = 0;
        for (size_t i = 0; i < n; i++)
            want += iov[i].iov_len;
        long done =
            syscall(SYS_process_madvise, -10001 /* PIDFD_SELF_THREAD_GROUP */, iov, n, MADV_DONTNEED, 0);
        if (done >= 0 && (size_t)done == want)
            return;
        if (done < 0)
            p->batch_fails = true; /* an older kernel: no batches from now on */
        /* A partial batch (or none): madvise all of it again, which is harmless. */
    }
#else
    (void)p;
#endif
    for (size_t i = 0; i < n; i++)
        madvise(iov[i].iov_base, iov[i].iov_len, MADV_DONTNEED);
}

/* Release the kept pages of the oldest idle chunks until the pool keeps at most half its hot bytes. */
static void trim(wr_stackpool *p)
{
    struct iovec iov[TRIM_BATCH];
    size_t n = 0;
    for (size_t i = p->clean_below; i < p->nfree && p->hot > WR_STACKPOOL_HOT_BYTES / 2; i++) {
        idle *c = &p->free[i];
        if (c->hi == c->lo)
            continue;
        iov[n].iov_base = c->chunk + c->lo;
        iov[n].iov_len = c->hi - c->lo;
        p->hot -= c->hi - c->lo;
        c->lo = c->hi = 0;
        if (++n == TRIM_BATCH) {
            release(p, iov, n);
            n = 0;
        }
    }
    if (n)
        release(p, iov, n);
    while (p->clean_below < p->nfree && p->free[p->clean_below].hi == p->free[p->clean_below].lo)
        p->clean_below++;
}

void wr_stackpool_give(wr_stackpool *p, void *chunk, size_t lo, size_t hi)
{
    if (lo > hi || hi > p->chunk)
        lo = 0, hi = p->chunk; /* cannot happen: then assume all of it was touched */
    if (p->nfree == p->cap_free) {
        size_t cap = p->cap_free ? p->cap_free * 2 : 64;
        idle *f = realloc(p->free, cap * sizeof *f);
        if (!f) {
            /* Cannot remember it: the chunk stays reserved until the store ends. */
            if (hi > lo)
                madvise((uint8_t *)chunk + lo, hi - lo, MADV_DONTNEED);
            return;
        }
        p->free = f;
        p->cap_free = cap;
    }
    p->free[p->nfree++] = (idle){chunk, lo, hi};
    p->hot += hi - lo;
    if (p->hot > WR_STACKPOOL_HOT_BYTES)
        trim(p);
}

size_t wr_stackpool_hot_bytes(const wr_stackpool *p)
{
    return p ? p->hot : 0;
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
