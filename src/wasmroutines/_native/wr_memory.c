/* wr_memory.c: linear memories: an address range reserved once, made accessible on grow. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wr_runtime.h"

/* Why reserve: the base never moves, so zero-copy buffers the host holds stay
 * valid across memory.grow, and a shared memory's growth is seen by every
 * thread through the same base. Pages beyond the current size stay
 * PROT_NONE, but nothing relies on that: every access is bounds-checked
 * explicitly against `size` (no signal handlers, no longjmp). */

/* Bytes to reserve for `cap` pages. A memory that can never hold a page
 * still gets a valid, distinct base: one OS page, never accessible. */
static uint64_t reserve_bytes(uint64_t cap)
{
    if (cap)
        return cap * WR_PAGE_SIZE;
    long pg = sysconf(_SC_PAGESIZE);
    return pg > 0 ? (uint64_t)pg : 4096u;
}

static uint8_t *reserve(uint64_t bytes)
{
    if (bytes > SIZE_MAX)
        return NULL;
    void *p = mmap(NULL, (size_t)bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

wr_memory *wr_memory_new(wr_store *s, const wr_limits *limits)
{
    if (limits->has_max && limits->max < limits->min)
        return NULL;
    /* A 64-bit memory may declare up to 2^48 pages; it gets what the host can reserve, at most
     * WR_MAX_PAGES64 and the store's limit: a minimum beyond that fails here (a resource error), a maximum
     * beyond it makes memory.grow return -1 there, as the spec allows. */
    uint64_t cap = limits->is64 ? WR_MAX_PAGES64 : WR_MAX_PAGES;
    if (limits->has_max && limits->max < cap)
        cap = limits->max;
    if (s->config.max_memory_pages < cap)
        cap = s->config.max_memory_pages;
    if (limits->min > cap)
        return NULL;

    wr_memory *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    uint64_t bytes = reserve_bytes(cap);
    uint8_t *base = reserve(bytes);
    /* Out of address space (many live memories): reserve less, down to the
     * minimum. The memory then cannot grow as far, which memory.grow may
     * report (-1) at any time. REVISIT: a shared memory would rather fail. */
    while (!base && cap > limits->min) {
        cap = cap / 2 > limits->min ? cap / 2 : limits->min;
        bytes = reserve_bytes(cap);
        base = reserve(bytes);
    }
    if (!base) {
        free(m);
        return NULL;
    }
    if (limits->min && mprotect(base, (size_t)(limits->min * WR_PAGE_SIZE), PROT_READ | PROT_WRITE) != 0) {
        munmap(base, (size_t)bytes);
        free(m);
        return NULL;
    }
    m->base = base;
    m->reserved = bytes;
    m->pages = limits->min;
    m->size = limits->min * WR_PAGE_SIZE;
    m->max_pages = cap;
    m->limits = *limits;
    m->shared = limits->shared;
    m->hdr.kind = WR_EXTERN_MEMORY;
    m->hdr.next = s->objects;
    s->objects = &m->hdr;
    return m;
}

int64_t wr_memory_grow(wr_memory *m, uint64_t delta_pages)
{
    uint64_t old = m->pages;
    if (delta_pages > m->max_pages - old)
        return -1;
    if (delta_pages == 0)
        return (int64_t)old;
    /* Pages never made accessible before are untouched anonymous memory, so
     * they read as zero. */
    if (mprotect(m->base + m->size, (size_t)(delta_pages * WR_PAGE_SIZE), PROT_READ | PROT_WRITE) != 0)
        return -1;
    m->pages = old + delta_pages;
    m->size = m->pages * WR_PAGE_SIZE;
    m->limits.min = m->pages;
    return (int64_t)old;
}
