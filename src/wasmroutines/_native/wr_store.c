/* wr_store.c: the store: object list, limits, function-type interning, host functions, globals. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wr_futex.h"
#include "wr_io.h"
#include "wr_timer.h"
#include "wr_wasi_fast.h"
#include "wr_runtime.h"
#include "wr_spawn.h"
#include "wr_stackpool.h"

wr_store *wr_store_new(void)
{
    wr_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->config.max_memory_pages = WR_MAX_PAGES;
    s->config.max_table_elems = 10000000u;
    s->config.max_call_depth = 20000u;
    s->config.stack_slots = 1u << 20;
    s->check_every = s->check_left = 1;
    s->check_units = 1;
    s->next_host_id = 1;
    s->max_threads = UINT64_MAX;
    return s;
}

/* Objects are freed by kind. Instances are a single allocation (their
 * arrays, defined functions and globals live in it: see wr_instance.c), so
 * freeing one never needs its module, which may already be gone. */
static void obj_free(wr_obj *o)
{
    switch (o->kind) {
    case WR_EXTERN_MEMORY: {
        wr_memory *m = (wr_memory *)o;
        if (m->base)
            munmap(m->base, m->reserved);
        wr_futex_table_free(m->futex);
        break;
    }
    case WR_EXTERN_TABLE:
        free(((wr_table *)o)->elems);
        break;
    default:
        break;
    }
    free(o);
}

void wr_store_free(wr_store *s)
{
    if (!s)
        return;
    /* Threads first: freeing one takes it out of the futex queues of the store's memories. */
    wr_pool_free_all(s);
    wr_spawner_free_all(s);
    wr_obj *o = s->objects;
    while (o) {
        wr_obj *next = o->next;
        obj_free(o);
        o = next;
    }
    for (uint32_t i = 0; i < s->ntypes; i++)
        free(s->types[i]);
    free(s->types);
    free(s->type_hash);
    wr_stackpool_free(s->stackpool);
    wr_io_free(s);
    wr_timer_free(s);
    wr_wasi_fast_free_all(s);
    free(s);
}

/* ---- function-type interning ---- */

static uint32_t functype_hash(const wr_functype *ft)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    h = (h ^ ft->nparams) * 16777619u;
    h = (h ^ ft->nresults) * 16777619u;
    uint64_t n = (uint64_t)ft->nparams + ft->nresults;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ ft->types[i]) * 16777619u;
    return h;
}

/* Rebuild the hash with `cap` slots (a power of two > ntypes). */
static bool type_hash_rebuild(wr_store *s, uint32_t cap)
{
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (uint32_t id = 0; id < s->ntypes; id++) {
        uint32_t i = functype_hash(s->types[id]) & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = id + 1;
    }
    free(s->type_hash);
    s->type_hash = slots;
    s->type_hash_cap = cap;
    return true;
}

/* A private copy of `ft`: one allocation holding the struct and its bytes,
 * so the pointer stays valid however the type table grows. */
static wr_functype *functype_copy(const wr_functype *ft)
{
    size_t n = (size_t)ft->nparams + ft->nresults;
    wr_functype *c = malloc(sizeof *c + n);
    if (!c)
        return NULL;
    c->nparams = ft->nparams;
    c->nresults = ft->nresults;
    c->types = (uint8_t *)(c + 1);
    if (n)
        memcpy(c->types, ft->types, n);
    /* Recompute rather than trust the caller's slot counts. */
    c->param_slots = 0;
    c->result_slots = 0;
    for (uint32_t i = 0; i < c->nparams; i++)
        c->param_slots += wr_valtype_slots(c->types[i]);
    for (uint32_t i = 0; i < c->nresults; i++)
        c->result_slots += wr_valtype_slots(c->types[c->nparams + i]);
    return c;
}

uint32_t wr_store_intern_type(wr_store *s, const wr_functype *ft)
{
    uint32_t h = functype_hash(ft);
    if (s->type_hash_cap) {
        uint32_t i = h & (s->type_hash_cap - 1);
        while (s->type_hash[i]) {
            uint32_t id = s->type_hash[i] - 1;
            if (wr_functype_equal(s->types[id], ft))
                return id;
            i = (i + 1) & (s->type_hash_cap - 1);
        }
    }
    if (s->ntypes >= UINT32_MAX / 4)
        return UINT32_MAX;
    /* Keep the load factor at most 1/2. */
    if ((uint64_t)(s->ntypes + 1) * 2 > s->type_hash_cap) {
        uint32_t cap = s->type_hash_cap ? s->type_hash_cap * 2 : 64;
        if (!type_hash_rebuild(s, cap))
            return UINT32_MAX;
    }
    if (s->ntypes == s->types_cap) {
        uint32_t cap = s->types_cap ? s->types_cap * 2 : 32;
        wr_functype **types = realloc(s->types, (size_t)cap * sizeof *types);
        if (!types)
            return UINT32_MAX;
        s->types = types;
        s->types_cap = cap;
    }
    wr_functype *c = functype_copy(ft);
    if (!c)
        return UINT32_MAX;
    uint32_t id = s->ntypes++;
    s->types[id] = c;
    uint32_t i = h & (s->type_hash_cap - 1);
    while (s->type_hash[i])
        i = (i + 1) & (s->type_hash_cap - 1);
    s->type_hash[i] = id + 1;
    return id;
}

/* ---- simple objects ---- */

wr_func *wr_func_new_host(wr_store *s, const wr_functype *ft, uint64_t host_id)
{
    uint32_t id = wr_store_intern_type(s, ft);
    if (id == UINT32_MAX)
        return NULL;
    wr_func *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->type = s->types[id];
    f->type_id = id;
    f->host_id = host_id;
    f->hdr.kind = WR_EXTERN_FUNC;
    f->hdr.next = s->objects;
    s->objects = &f->hdr;
    return f;
}

wr_global *wr_global_new(wr_store *s, wr_globaltype type, uint64_t lo, uint64_t hi)
{
    wr_global *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->type = type;
    g->val[0] = lo;
    g->val[1] = hi;
    g->hdr.kind = WR_EXTERN_GLOBAL;
    g->hdr.next = s->objects;
    s->objects = &g->hdr;
    return g;
}

wr_tag *wr_tag_new(wr_store *s, const wr_functype *ft)
{
    uint32_t id = wr_store_intern_type(s, ft);
    if (id == UINT32_MAX)
        return NULL;
    wr_tag *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->type = s->types[id];
    t->type_id = id;
    t->hdr.kind = WR_EXTERN_TAG;
    t->hdr.next = s->objects;
    s->objects = &t->hdr;
    return t;
}

wr_exn *wr_exn_new(wr_store *s, wr_tag *tag, const uint64_t *payload)
{
    uint32_t n = tag->type->param_slots;
    wr_exn *e = malloc(sizeof *e + (size_t)n * sizeof(uint64_t));
    if (!e)
        return NULL;
    e->tag = tag;
    e->nslots = n;
    for (uint32_t i = 0; i < n; i++)
        e->payload[i] = payload[i];
    e->hdr.kind = WR_OBJ_EXN;
    e->hdr.next = s->objects;
    s->objects = &e->hdr;
    return e;
}
