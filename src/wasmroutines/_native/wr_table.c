/* wr_table.c: tables of references (funcref: wr_func*, externref: host handle; 0 is null). */
#include <stdlib.h>

#include "wr_runtime.h"

wr_table *wr_table_new(wr_store *s, wr_valtype elemtype, const wr_limits *limits, uint64_t init)
{
    if (!wr_valtype_is_ref(elemtype))
        return NULL;
    if (limits->has_max && limits->max < limits->min)
        return NULL;
    /* At most 2^32 - 2 elements: then a table64 index or size clamped to 2^32 - 1 (table_index64) is out of
     * bounds, as the one it stands for is. */
    uint64_t cap = UINT32_MAX - 1;
    if (limits->has_max && limits->max < cap)
        cap = limits->max;
    if (s->config.max_table_elems < cap)
        cap = s->config.max_table_elems;
    if (limits->min > cap)
        return NULL;

    wr_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    /* Never a NULL elems, even for an empty table, so readers need no case. */
    size_t n = limits->min ? (size_t)limits->min : 1;
    t->elems = malloc(n * sizeof *t->elems);
    if (!t->elems) {
        free(t);
        return NULL;
    }
    for (uint64_t i = 0; i < limits->min; i++)
        t->elems[i] = init;
    t->elemtype = elemtype;
    t->size = (uint32_t)limits->min;
    t->max = (uint32_t)cap;
    t->limits = *limits;
    t->hdr.kind = WR_EXTERN_TABLE;
    t->hdr.next = s->objects;
    s->objects = &t->hdr;
    return t;
}

int64_t wr_table_grow(wr_table *t, uint32_t delta, uint64_t init)
{
    uint32_t old = t->size;
    if (delta > t->max - old)
        return -1;
    if (delta == 0)
        return old;
    /* REVISIT: exact-size realloc; a capacity field would make repeated
     * table.grow 1 amortized O(1) (glibc's realloc mostly hides it). */
    uint64_t n = (uint64_t)old + delta;
    if (n > SIZE_MAX / sizeof *t->elems)
        return -1;
    uint64_t *elems = realloc(t->elems, (size_t)n * sizeof *elems);
    if (!elems)
        return -1;
    for (uint64_t i = old; i < n; i++)
        elems[i] = init;
    t->elems = elems;
    t->size = (uint32_t)n;
    t->limits.min = n;
    return old;
}
