/* wr_gcobj.c: GC's struct and array objects (wr_gcobj.h): allocation, field access by storage type, freeing;
 * exception objects' allocation. */
#include <stdlib.h>
#include <string.h>

#include "wr_gc.h"
#include "wr_gcobj.h"

_Static_assert(sizeof(wr_gcobj) % 16 == 0, "fields start 16-byte aligned");

wr_gcobj *wr_gc_alloc(wr_store *s, uint32_t type_id, uint32_t length)
{
    const wr_functype *ft = s->types[type_id];
    uint64_t size = wr_gc_size(ft, length);
    if (size > s->config.max_gc_bytes - s->gc_bytes || s->gc_bytes > s->config.max_gc_bytes || size > SIZE_MAX)
        return NULL;
    wr_gcobj *o = calloc(1, (size_t)size);
    if (!o)
        return NULL;
    o->type = ft;
    o->type_id = type_id;
    o->length = ft->kind == WR_COMP_ARRAY ? length : 0;
    o->mark = s->gc_marking; /* born black while a cycle marks (wr_gc.h) */
    o->next = s->gc_objects;
    s->gc_objects = o;
    s->gc_bytes += size;
    s->gc_count++;
    return o;
}

wr_exn *wr_exn_new(wr_store *s, wr_tag *tag, const uint64_t *payload)
{
    uint32_t n = tag->type->param_slots;
    uint64_t size = wr_exn_size(n);
    if (size > s->config.max_gc_bytes - s->gc_bytes || s->gc_bytes > s->config.max_gc_bytes)
        return NULL;
    wr_exn *e = malloc((size_t)size);
    if (!e)
        return NULL;
    e->tag = tag;
    e->nslots = n;
    e->mark = s->gc_marking; /* born black while a cycle marks (wr_gc.h) */
    e->pins = 0;
    e->gray = NULL;
    for (uint32_t i = 0; i < n; i++)
        e->payload[i] = payload[i];
    e->next = s->exns;
    s->exns = e;
    s->gc_bytes += size;
    return e;
}

void wr_gc_put(uint8_t *p, wr_valtype st, const uint64_t *slot)
{
    switch (wr_storage_size(st)) {
    case 1:
        *p = (uint8_t)slot[0];
        break;
    case 2: {
        uint16_t v = (uint16_t)slot[0];
        memcpy(p, &v, 2);
        break;
    }
    case 4: {
        uint32_t v = (uint32_t)slot[0];
        memcpy(p, &v, 4);
        break;
    }
    case 8:
        memcpy(p, slot, 8);
        break;
    default:
        memcpy(p, slot, 16);
        break;
    }
}

void wr_gc_get(const uint8_t *p, wr_valtype st, uint64_t *slot)
{
    switch (wr_storage_size(st)) {
    case 1:
        slot[0] = *p; /* packed values are read by struct.get_s/u and array.get_s/u, which extend them */
        break;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        slot[0] = v;
        break;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        slot[0] = v;
        break;
    }
    case 8:
        memcpy(slot, p, 8);
        break;
    default:
        memcpy(slot, p, 16);
        break;
    }
}

bool wr_gc_is(const wr_store *s, const wr_gcobj *o, uint32_t id)
{
    return o->type_id == id || wr_store_type_sub(s, o->type_id, id);
}

static void free_list(wr_gcobj *o)
{
    while (o) {
        wr_gcobj *next = o->next;
        free(o);
        o = next;
    }
}

static void free_exns(wr_exn *e)
{
    while (e) {
        wr_exn *next = e->next;
        free(e);
        e = next;
    }
}

void wr_gc_free_all(wr_store *s)
{
    free_list(s->gc_objects);
    if (s->gc_phase == WR_GC_SWEEP) { /* the kept objects end where the sweep's cursor is */
        *s->gc_kept_tail = NULL;
        free_list(s->gc_kept);
        free_list(s->gc_sweep_at);
    }
    free_exns(s->exns);
    if (s->gc_phase == WR_GC_SWEEP) {
        *s->gc_exns_kept_tail = NULL;
        free_exns(s->gc_exns_kept);
        free_exns(s->gc_exn_sweep_at);
    }
    s->gc_objects = s->gc_kept = s->gc_sweep_at = s->gc_pins_at = s->gc_scan = NULL;
    s->exns = s->gc_exns_kept = s->gc_exn_sweep_at = s->gc_exn_pins_at = s->gc_gray_exns = NULL;
    s->gc_phase = WR_GC_IDLE;
    s->gc_marking = false;
    s->gc_bytes = 0;
    s->gc_count = 0;
    s->gc_pinned = 0;
    free(s->gc_gray);
    s->gc_gray = NULL;
    s->gc_gray_cap = s->gc_ngray = 0;
}
