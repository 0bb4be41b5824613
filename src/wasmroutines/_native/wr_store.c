/* wr_store.c: the store: object list, limits, function-type interning, host functions, globals. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wr_futex.h"
#include "wr_gcobj.h"
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
    s->config.max_gc_bytes = WR_GC_DEFAULT_MAX_BYTES;
    s->gc_threshold = WR_GC_MIN_THRESHOLD;
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
    wr_gc_free_all(s);
    for (uint32_t i = 0; i < s->ntypes; i++) {
        free(s->types[i]);
        free(s->type_keys[i]);
    }
    free(s->types);
    free(s->type_super);
    free(s->type_kind);
    free(s->type_keys);
    free(s->type_hash);
    wr_stackpool_free(s->stackpool);
    wr_io_free(s);
    wr_timer_free(s);
    wr_wasi_fast_free_all(s);
    free(s);
}

/* ---- type interning ----
 *
 * Types are interned a recursion group at a time (a type outside `rec` is a
 * group of its own): a group's key (wr_group_key, with the types before it
 * named by their store ids) finds an equal group already interned, whose ids
 * it takes, or the group gets the next ids, consecutive. So equal ids mean
 * equivalent types, across modules. Per id: its type with the types it names
 * as store ids, its declared supertype, and at a group's first id the key. */

/* Rebuild the hash with `cap` slots (a power of two > groups). */
static bool type_hash_rebuild(wr_store *s, uint32_t cap)
{
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (uint32_t id = 0; id < s->ntypes; id++) {
        const uint32_t *key = s->type_keys[id];
        if (!key)
            continue;
        uint32_t i = wr_key_hash(key + 1, key[0]) & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = id + 1;
    }
    free(s->type_hash);
    s->type_hash = slots;
    s->type_hash_cap = cap;
    return true;
}

static bool reserve_ids(wr_store *s, uint32_t add)
{
    uint64_t need = (uint64_t)s->ntypes + add;
    if (need > WR_HT_MAX_INDEX)
        return false;
    if (need <= s->types_cap)
        return true;
    uint32_t cap = s->types_cap ? s->types_cap : 32;
    while (cap < need)
        cap *= 2;
    wr_functype **types = realloc(s->types, (size_t)cap * sizeof *types);
    if (types)
        s->types = types;
    uint32_t *super = realloc(s->type_super, (size_t)cap * sizeof *super);
    if (super)
        s->type_super = super;
    uint32_t **keys = realloc(s->type_keys, (size_t)cap * sizeof *keys);
    if (keys)
        s->type_keys = keys;
    uint8_t *kind = realloc(s->type_kind, cap);
    if (kind)
        s->type_kind = kind;
    if (!types || !super || !keys || !kind)
        return false;
    s->types_cap = cap;
    return true;
}

/* A copy of `ft` (one allocation: the pointer stays valid however the table
 * grows) with the types it names mapped: types of its group (start, size) to
 * `base` + their place, others through `outside` (NULL: as they are). */
static wr_functype *functype_copy(const wr_functype *ft, uint32_t start, uint32_t size, uint32_t base,
                                  const uint32_t *outside)
{
    size_t n = (size_t)ft->nparams + ft->nresults;
    size_t noff = ft->offsets ? (size_t)ft->nparams + 1 : 0, nmut = ft->mut ? ft->nparams : 0;
    wr_functype *c = malloc(sizeof *c + n * sizeof(wr_valtype) + noff * sizeof(uint32_t) + nmut);
    if (!c)
        return NULL;
    c->nparams = ft->nparams;
    c->nresults = ft->nresults;
    c->types = (wr_valtype *)(c + 1);
    c->param_slots = 0;
    c->result_slots = 0;
    c->kind = ft->kind;
    c->offsets = ft->offsets ? (uint32_t *)(c->types + n) : NULL;
    c->mut = ft->mut ? (uint8_t *)(c->types + n) + noff * sizeof(uint32_t) : NULL;
    if (noff)
        memcpy(c->offsets, ft->offsets, noff * sizeof(uint32_t));
    if (nmut)
        memcpy(c->mut, ft->mut, nmut);
    for (size_t k = 0; k < n; k++) {
        wr_valtype t = ft->types[k];
        if (wr_valtype_is_concrete(t)) {
            uint32_t i = wr_valtype_index(t);
            uint32_t id = i >= start && i - start < size ? base + (i - start) : outside ? outside[i] : i;
            t = wr_ref_concrete(id, wr_valtype_nullable(t));
        }
        c->types[k] = t;
        if (k < ft->nparams)
            c->param_slots += wr_valtype_slots(t);
        else
            c->result_slots += wr_valtype_slots(t);
    }
    return c;
}

/* Intern a recursion group: its `size` types, supertypes and finality (see
 * wr_group_key), first of them at index `start`; writes the ids to ids_out.
 * false when out of memory or ids. */
static bool intern_group(wr_store *s, const wr_functype *types, const uint32_t *super, const bool *final,
                         uint32_t start, uint32_t size, const uint32_t *outside, uint32_t *ids_out)
{
    uint32_t nw = wr_group_key_words(types, size);
    uint32_t *key = malloc(((size_t)nw + 1) * sizeof *key);
    if (!key)
        return false;
    key[0] = nw;
    wr_group_key(types, super, final, start, size, outside, key + 1);
    uint32_t h = wr_key_hash(key + 1, nw);
    if (s->type_hash_cap) {
        for (uint32_t i = h & (s->type_hash_cap - 1); s->type_hash[i]; i = (i + 1) & (s->type_hash_cap - 1)) {
            uint32_t id = s->type_hash[i] - 1;
            const uint32_t *other = s->type_keys[id];
            if (other[0] == nw && memcmp(other + 1, key + 1, (size_t)nw * sizeof *key) == 0) {
                for (uint32_t k = 0; k < size; k++)
                    ids_out[k] = id + k;
                free(key);
                return true;
            }
        }
    }
    /* Keep the load factor at most 1/2 (at most one entry per id). */
    if (!reserve_ids(s, size > 0 ? size : 1) ||
        ((uint64_t)(s->ntypes + 1) * 2 > s->type_hash_cap &&
         !type_hash_rebuild(s, s->type_hash_cap ? s->type_hash_cap * 2 : 64))) {
        free(key);
        return false;
    }
    uint32_t base = s->ntypes;
    for (uint32_t k = 0; k < size; k++) {
        wr_functype *c = functype_copy(&types[k], start, size, base, outside);
        if (!c) {
            while (k-- > 0)
                free(s->types[base + k]);
            free(key);
            return false;
        }
        uint32_t sup = super ? super[k] : WR_NO_SUPER;
        if (sup != WR_NO_SUPER)
            sup = sup >= start && sup - start < size ? base + (sup - start) : outside ? outside[sup] : sup;
        s->types[base + k] = c;
        s->type_super[base + k] = sup;
        s->type_kind[base + k] = c->kind;
        s->type_keys[base + k] = k == 0 ? key : NULL;
        ids_out[k] = base + k;
    }
    s->ntypes += size;
    if (size == 0) {
        free(key);
        return true;
    }
    uint32_t i = h & (s->type_hash_cap - 1);
    while (s->type_hash[i])
        i = (i + 1) & (s->type_hash_cap - 1);
    s->type_hash[i] = base + 1;
    return true;
}

uint32_t wr_store_intern_type(wr_store *s, const wr_functype *ft)
{
    uint32_t id;
    return intern_group(s, ft, NULL, NULL, UINT32_MAX, 1, NULL, &id) ? id : UINT32_MAX;
}

int wr_store_intern_module_types(wr_store *s, const wr_module *m, uint32_t *ids)
{
    for (uint32_t i = 0; i < m->ntypes;) {
        uint32_t size = m->type_group_size ? m->type_group_size[i] : 1;
        if (!intern_group(s, m->types + i, m->type_super ? m->type_super + i : NULL,
                          m->type_final ? m->type_final + i : NULL, i, size, ids, ids + i))
            return -1;
        i += size;
    }
    return 0;
}

bool wr_store_type_sub(const wr_store *s, uint32_t a, uint32_t b)
{
    wr_typectx cx = wr_store_typectx(s);
    return wr_deftype_sub(a, b, &cx);
}

/* ---- simple objects ---- */

static bool is_functype_id(const wr_store *s, uint32_t id)
{
    return id < s->ntypes && s->types[id]->kind == WR_COMP_FUNC;
}

wr_func *wr_func_new_host(wr_store *s, const wr_functype *ft, uint64_t host_id)
{
    uint32_t id = wr_store_intern_type(s, ft);
    return id == UINT32_MAX ? NULL : wr_func_new_host_id(s, id, host_id);
}

wr_func *wr_func_new_host_id(wr_store *s, uint32_t id, uint64_t host_id)
{
    if (!is_functype_id(s, id))
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
    return id == UINT32_MAX ? NULL : wr_tag_new_id(s, id);
}

wr_tag *wr_tag_new_id(wr_store *s, uint32_t id)
{
    if (!is_functype_id(s, id) || s->types[id]->nresults != 0)
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
