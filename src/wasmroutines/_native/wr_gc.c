/* wr_gc.c: the collector of GC's struct and array objects and of exception objects: stop-the-world mark and
 * sweep (wr_gc.h). */
#include <stdlib.h>
#include <string.h>

#include "wr_gc.h"
#include "wr_gcobj.h"
#include "wr_stackmap.h"

typedef struct marker {
    wr_store *s;
    wr_typectx cx;   /* the store's types: fields name store ids */
    size_t ngray;    /* objects marked, not scanned yet: s->gc_gray[0 .. ngray) */
    bool overflow;   /* the gray stack could not grow: an object marked was not scanned, so nothing is freed */
    uint8_t *bits;   /* the host handles reached, or NULL */
    size_t nbits;
    wr_exn *exns;    /* exceptions marked, not scanned yet (linked through wr_exn.gray) */
} marker;

static void gray(marker *m, wr_gcobj *o)
{
    if (o->mark)
        return;
    o->mark = 1;
    wr_store *s = m->s;
    if (m->ngray == s->gc_gray_cap) {
        size_t cap = s->gc_gray_cap ? s->gc_gray_cap * 2 : 256;
        wr_gcobj **g = realloc(s->gc_gray, cap * sizeof *g);
        if (!g) {
            m->overflow = true;
            return;
        }
        s->gc_gray = g;
        s->gc_gray_cap = cap;
    }
    s->gc_gray[m->ngray++] = o;
}

/* An exception: onto the list to scan (linked through it: nothing to allocate, nothing to overflow). */
static void gray_exn(marker *m, wr_exn *e)
{
    if (e->mark)
        return;
    e->mark = 1;
    e->gray = m->exns;
    m->exns = e;
}

/* A value of the any, the extern or the exn hierarchy: null, an i31, a host's handle, an object or an
 * exception, told apart by its low bits (wr_runtime.h). */
static void mark_value(marker *m, uint64_t v)
{
    if (wr_ref_is_host(v)) {
        uint64_t h = v >> 2;
        if (m->bits && h < m->nbits)
            m->bits[h >> 3] |= (uint8_t)(1u << (h & 7));
    } else if (wr_ref_is_gcobj(v)) {
        gray(m, wr_gc_obj(v));
    } else if (wr_ref_is_exn(v)) {
        gray_exn(m, wr_ref_exn(v));
    }
}

static void mark_slot(void *ctx, const uint64_t *slot) { mark_value(ctx, *slot); }

static uint64_t load_ref(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* An object's fields of a collected kind (references are stored in 8 bytes: wr_gc_put). */
static void scan(marker *m, wr_gcobj *o)
{
    const wr_functype *ft = o->type;
    const uint8_t *data = wr_gc_data(o);
    if (ft->kind == WR_COMP_ARRAY) {
        if (!wr_stackmap_collected(ft->types[0], &m->cx))
            return;
        for (uint32_t i = 0; i < o->length; i++)
            mark_value(m, load_ref(data + (size_t)i * 8));
        return;
    }
    for (uint32_t k = 0; k < ft->nparams; k++)
        if (wr_stackmap_collected(ft->types[k], &m->cx))
            mark_value(m, load_ref(data + ft->offsets[k]));
}

size_t wr_gc_collect(wr_store *s, uint8_t *bits, size_t nbits)
{
    marker m = {s, wr_store_typectx(s), 0, false, bits, nbits, NULL};
    wr_gc_roots(s, mark_slot, &m);
    for (wr_gcobj *o = s->gc_objects; o; o = o->next)
        if (o->pins)
            gray(&m, o);
    for (wr_exn *e = s->exns; e; e = e->next)
        if (e->pins)
            gray_exn(&m, e);
    for (;;) {
        if (m.ngray) {
            scan(&m, s->gc_gray[--m.ngray]);
        } else if (m.exns) {
            wr_exn *e = m.exns; /* its payload, by its tag's types */
            m.exns = e->gray;
            wr_gc_exn_slots(e, &m.cx, mark_slot, &m);
        } else {
            break;
        }
    }
    size_t freed = 0;
    uint64_t live = 0;
    for (wr_exn **p = &s->exns; *p;) {
        wr_exn *e = *p;
        if (e->mark || m.overflow) {
            e->mark = 0;
            live += wr_exn_size(e->nslots);
            p = &e->next;
            continue;
        }
        *p = e->next;
        free(e);
        freed++;
    }
    size_t freed_exns = freed;
    for (wr_gcobj **p = &s->gc_objects; *p;) {
        wr_gcobj *o = *p;
        if (o->mark || m.overflow) {
            o->mark = 0;
            live += wr_gc_size(o->type, o->length);
            p = &o->next;
            continue;
        }
        *p = o->next;
        free(o);
        freed++;
    }
    if (m.overflow && bits)
        memset(bits, 0xff, (nbits + 7) >> 3);
    s->gc_bytes = live;
    s->gc_count -= freed - freed_exns; /* structs and arrays */
    s->gc_threshold = s->gc_stress ? 0 : live > WR_GC_MIN_THRESHOLD / 2 ? 2 * live : WR_GC_MIN_THRESHOLD;
    s->gc_collections++;
    return freed;
}
