/* wr_gc.c: the collector of GC's struct and array objects and of exception objects: an incremental mark (a
 * snapshot at the beginning, kept by a deletion barrier) and an incremental sweep (wr_gc.h). Work is counted
 * in bytes: an object or an exception scanned costs its size (an array's part scanned, 8 bytes an element), a
 * pin checked or an object swept a header. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wr_gc.h"
#include "wr_gcobj.h"
#include "wr_stackmap.h"

/* The work a stress step does (wr_api_gc_stress 1): an object or two, so every allocation steps and cycles
 * end often. */
#define STRESS_BUDGET 64
#define HEADER ((int64_t)sizeof(wr_gcobj))

static void gray(wr_store *s, wr_gcobj *o)
{
    if (o->mark)
        return;
    o->mark = 1;
    if (s->gc_ngray == s->gc_gray_cap) {
        size_t cap = s->gc_gray_cap ? s->gc_gray_cap * 2 : 256;
        wr_gcobj **g = realloc(s->gc_gray, cap * sizeof *g);
        if (!g) {
            s->gc_overflow = true; /* marked, never scanned: this cycle frees nothing */
            return;
        }
        s->gc_gray = g;
        s->gc_gray_cap = cap;
    }
    s->gc_gray[s->gc_ngray++] = o;
}

/* An exception: onto the list to scan (linked through it: nothing to allocate, nothing to overflow). */
static void gray_exn(wr_store *s, wr_exn *e)
{
    if (e->mark)
        return;
    e->mark = 1;
    e->gray = s->gc_gray_exns;
    s->gc_gray_exns = e;
}

static uint64_t load_ref(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A value of the any, the extern or the exn hierarchy: null, an i31, a host's handle, an object or an
 * exception, told apart by its low bits (wr_runtime.h). */
static void mark_value(wr_store *s, uint64_t v)
{
    if (wr_ref_is_host(v)) {
        uint64_t h = v >> 2;
        if (s->gc_bits && h < s->gc_nbits)
            s->gc_bits[h >> 3] |= (uint8_t)(1u << (h & 7));
    } else if (wr_ref_is_gcobj(v)) {
        gray(s, wr_gc_obj(v));
    } else if (wr_ref_is_exn(v)) {
        gray_exn(s, wr_ref_exn(v));
    }
}

static void mark_slot(void *ctx, const uint64_t *slot) { mark_value(ctx, *slot); }

void wr_gc_shade(wr_store *s, const uint8_t *refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mark_value(s, load_ref(refs + i * 8));
}

void wr_gc_exn_unpin(wr_store *s, wr_exn *e)
{
    e->pins--;
    if (s->gc_marking)
        gray_exn(s, e);
}

void wr_gc_pin(wr_store *s, uint64_t ref)
{
    if (wr_gc_obj(ref)->pins++ == 0)
        s->gc_pinned++;
}

void wr_gc_unpin(wr_store *s, uint64_t ref)
{
    wr_gcobj *o = wr_gc_obj(ref);
    if (--o->pins == 0)
        s->gc_pinned--;
    if (s->gc_marking)
        gray(s, o);
}

/* Scan an array's elements from `at`, at most about `*budget` bytes of them; the array is left in s->gc_scan
 * when some remain. */
static void scan_array(wr_store *s, wr_gcobj *o, uint32_t at, int64_t *budget, const wr_typectx *cx)
{
    s->gc_scan = NULL;
    if (!wr_stackmap_collected(o->type->types[0], cx)) {
        *budget -= HEADER;
        return;
    }
    uint64_t n = o->length - at, most = (uint64_t)(*budget / 8) + 1;
    if (n > most) {
        n = most;
        s->gc_scan = o;
        s->gc_scan_at = at + (uint32_t)n;
    }
    const uint8_t *data = wr_gc_data(o) + (size_t)at * 8;
    for (uint64_t i = 0; i < n; i++)
        mark_value(s, load_ref(data + i * 8));
    *budget -= (int64_t)(n * 8) + HEADER;
}

/* An object's fields of a collected kind (references are stored in 8 bytes: wr_gc_put). */
static void scan(wr_store *s, wr_gcobj *o, int64_t *budget, const wr_typectx *cx)
{
    const wr_functype *ft = o->type;
    if (ft->kind == WR_COMP_ARRAY) {
        scan_array(s, o, 0, budget, cx);
        return;
    }
    const uint8_t *data = wr_gc_data(o);
    for (uint32_t k = 0; k < ft->nparams; k++)
        if (wr_stackmap_collected(ft->types[k], cx))
            mark_value(s, load_ref(data + ft->offsets[k]));
    *budget -= (int64_t)wr_gc_size(ft, 0);
}

/* Mark until the budget is spent; true once nothing is left to mark. */
static bool mark(wr_store *s, int64_t *budget)
{
    wr_typectx cx = wr_store_typectx(s);
    while (*budget > 0) {
        if (s->gc_scan) {
            scan_array(s, s->gc_scan, s->gc_scan_at, budget, &cx);
        } else if (s->gc_ngray) {
            scan(s, s->gc_gray[--s->gc_ngray], budget, &cx);
        } else if (s->gc_gray_exns) {
            wr_exn *e = s->gc_gray_exns; /* its payload, by its tag's types */
            s->gc_gray_exns = e->gray;
            wr_gc_exn_slots(e, &cx, mark_slot, s);
            *budget -= (int64_t)wr_exn_size(e->nslots);
        } else if (s->gc_exn_pins_at) {
            wr_exn *e = s->gc_exn_pins_at;
            s->gc_exn_pins_at = e->next;
            if (e->pins)
                gray_exn(s, e);
            *budget -= HEADER;
        } else if (s->gc_pins_at) {
            wr_gcobj *o = s->gc_pins_at;
            s->gc_pins_at = o->next;
            if (o->pins)
                gray(s, o);
            *budget -= HEADER;
        } else {
            return true;
        }
    }
    return false;
}

/* Sweep until the budget is spent; true once every object of the cycle's start was swept. */
static bool sweep(wr_store *s, int64_t *budget)
{
    while (s->gc_sweep_at) {
        if (*budget <= 0)
            return false;
        wr_gcobj *o = s->gc_sweep_at;
        s->gc_sweep_at = o->next;
        *budget -= HEADER;
        if (o->mark || s->gc_overflow) {
            o->mark = 0;
            s->gc_kept_bytes += wr_gc_size(o->type, o->length);
            *s->gc_kept_tail = o;
            s->gc_kept_tail = &o->next;
            continue;
        }
        s->gc_bytes -= wr_gc_size(o->type, o->length);
        s->gc_count--;
        free(o);
    }
    while (s->gc_exn_sweep_at) {
        if (*budget <= 0)
            return false;
        wr_exn *e = s->gc_exn_sweep_at;
        s->gc_exn_sweep_at = e->next;
        *budget -= HEADER;
        uint64_t size = wr_exn_size(e->nslots);
        if (e->mark || s->gc_overflow) {
            e->mark = 0;
            s->gc_kept_bytes += size;
            *s->gc_exns_kept_tail = e;
            s->gc_exns_kept_tail = &e->next;
            continue;
        }
        s->gc_bytes -= size;
        free(e);
    }
    return true;
}

/* Begin a cycle: gray what every root names (the snapshot). Objects are born marked from here on. */
static void start(wr_store *s)
{
    s->gc_phase = WR_GC_MARK;
    s->gc_marking = true;
    s->gc_overflow = false;
    s->gc_pins_at = s->gc_pinned ? s->gc_objects : NULL; /* pins made from here on name reachable objects */
    s->gc_exn_pins_at = s->exns;
    s->gc_gray_exns = NULL;
    s->gc_scan = NULL;
    wr_gc_roots(s, mark_slot, s);
}

/* The mark is done: sweep the objects of the cycle's start, off the list new ones go on. */
static void begin_sweep(wr_store *s)
{
    s->gc_phase = WR_GC_SWEEP;
    s->gc_marking = false;
    s->gc_sweep_at = s->gc_objects;
    s->gc_objects = NULL;
    s->gc_kept = NULL;
    s->gc_kept_tail = &s->gc_kept;
    s->gc_exn_sweep_at = s->exns;
    s->exns = NULL;
    s->gc_exns_kept = NULL;
    s->gc_exns_kept_tail = &s->gc_exns_kept;
    s->gc_kept_bytes = 0;
}

/* The sweep is done: the objects kept, then those allocated since it began. */
static void end_cycle(wr_store *s)
{
    *s->gc_kept_tail = s->gc_objects;
    s->gc_objects = s->gc_kept;
    s->gc_kept = NULL;
    s->gc_kept_tail = NULL;
    *s->gc_exns_kept_tail = s->exns;
    s->exns = s->gc_exns_kept;
    s->gc_exns_kept = NULL;
    s->gc_exns_kept_tail = NULL;
    s->gc_phase = WR_GC_IDLE;
    uint64_t live = s->gc_kept_bytes;
    s->gc_threshold = s->gc_stress ? 0 : live > WR_GC_MIN_THRESHOLD / 2 ? 2 * live : WR_GC_MIN_THRESHOLD;
    s->gc_collections++;
}

/* Run the cycle in progress on for `budget` bytes of work (INT64_MAX: to its end). */
static void advance(wr_store *s, int64_t budget)
{
    if (s->gc_phase == WR_GC_MARK && mark(s, &budget))
        begin_sweep(s);
    if (s->gc_phase == WR_GC_SWEEP && sweep(s, &budget))
        end_cycle(s);
}

size_t wr_gc_collect(wr_store *s, uint8_t *bits, size_t nbits)
{
    uint64_t before = s->gc_count;
    advance(s, INT64_MAX);
    s->gc_bits = bits;
    s->gc_nbits = nbits;
    start(s);
    advance(s, INT64_MAX);
    s->gc_bits = NULL;
    if (s->gc_overflow && bits)
        memset(bits, 0xff, (nbits + 7) >> 3);
    return (size_t)(before - s->gc_count);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A step: the start of a cycle, or its work for the bytes allocated since the last step. */
static void step(wr_store *s)
{
    if (s->gc_stress == 2) {
        wr_gc_collect(s, NULL, 0);
        return;
    }
    s->gc_steps++;
    if (s->gc_phase == WR_GC_IDLE)
        start(s);
    else
        advance(s, s->gc_stress ? STRESS_BUDGET : (int64_t)(s->gc_bytes - s->gc_step_bytes) * WR_GC_STEPMUL);
    if (s->gc_phase != WR_GC_IDLE)
        s->gc_threshold = s->gc_stress ? 0 : s->gc_bytes + WR_GC_STEP;
    s->gc_step_bytes = s->gc_bytes;
}

void wr_gc_make_room(wr_store *s, bool failed)
{
    uint64_t t0 = now_ns();
    if (failed)
        wr_gc_collect(s, NULL, 0);
    else if (s->gc_bytes >= s->gc_threshold)
        step(s);
    uint64_t pause = now_ns() - t0;
    if (pause > s->gc_max_pause_ns)
        s->gc_max_pause_ns = pause;
}

wr_gcobj *wr_gc_alloc_slow(wr_store *s, uint32_t type_id, uint32_t length)
{
    wr_gc_make_room(s, false);
    wr_gcobj *o = wr_gc_alloc(s, type_id, length);
    if (!o) {
        wr_gc_make_room(s, true);
        o = wr_gc_alloc(s, type_id, length);
    }
    return o;
}
