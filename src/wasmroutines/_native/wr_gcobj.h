/* wr_gcobj.h: GC's struct and array objects: their header, layout and the one allocation function; and the
 * allocation of exception objects (wr_exn, wr_runtime.h), which the collector owns too.
 *
 * An object is one allocation: a header (wr_gcobj) then its fields, each stored by its storage type (i8 and
 * i16 packed, i32/f32 in 4 bytes, i64/f64/references in 8, v128 in 16; a struct's at wr_struct_layout's
 * offsets, an array's elements one after another). A reference to it is its address (8-aligned, so its
 * low bits are 0b00: docs/interpreter.md, "References in the any hierarchy").
 *
 * Lifetime: every object is on its store's list (`next`) until a collection finds it unreachable (wr_gc.h:
 * incremental mark and sweep; `mark` for marking, the list to sweep, the type to find the fields to trace) or
 * the store is freed. wr_gc_alloc is the one place objects are made; it never collects itself (its caller
 * decides: the run loop runs a step of the collector before an allocation once the heap passed its threshold,
 * wr_interp.c GC_ALLOC).
 *
 * Determinism: nothing hashes, orders or compares objects by address but ref.eq's identity.
 */
#ifndef WR_GCOBJ_H
#define WR_GCOBJ_H

#include "wr_runtime.h"

typedef struct wr_gcobj {
    struct wr_gcobj *next;    /* the store's objects, in allocation order up to the last sweep: what a sweep walks */
    const wr_functype *type;  /* interned (WR_COMP_STRUCT or WR_COMP_ARRAY): stable for the store's life */
    uint32_t type_id;         /* its store type id: casts compare it */
    uint32_t mark;            /* 1 once a cycle's mark reached it or it was born in one (wr_gc.c); 0 after a sweep */
    uint32_t length;          /* an array's element count (a struct's: 0) */
    uint32_t pins;            /* the host's holds (a GcRef alive in Python): a pinned object is a root */
} wr_gcobj;

/* The default cap on a store's GC heap (the sum of its objects' sizes, headers included): 1 GiB. */
#define WR_GC_DEFAULT_MAX_BYTES ((uint64_t)1 << 30)
/* The least heap size at which an allocation in wasm starts a collection cycle (wr_gc.h): 1 MiB. */
#define WR_GC_MIN_THRESHOLD ((uint64_t)1 << 20)

static inline uint8_t *wr_gc_data(wr_gcobj *o) { return (uint8_t *)(o + 1); }
static inline wr_gcobj *wr_gc_obj(uint64_t ref) { return (wr_gcobj *)(uintptr_t)ref; }
/* Whether a non-null reference is a struct or an array (not an i31, a host's or an exnref: wr_runtime.h). */
static inline bool wr_ref_is_gcobj(uint64_t v) { return v != 0 && (v & 7u) == 0; }

/* A new object of store type `type_id` (a struct type, or an array type with `length` elements), its fields
 * zero (every storage type's default: 0, +0.0, null). NULL when the store's GC heap limit
 * (config.max_gc_bytes) would be exceeded or the host is out of memory: the caller traps
 * (WR_TRAP_GC_HEAP). */
wr_gcobj *wr_gc_alloc(wr_store *s, uint32_t type_id, uint32_t length);

/* Write the value in `slot` (two slots for a v128) to a field of storage type `st` at `p`, and read one. */
void wr_gc_put(uint8_t *p, wr_valtype st, const uint64_t *slot);
void wr_gc_get(const uint8_t *p, wr_valtype st, uint64_t *slot);

/* Whether the object is of store type `id` or a subtype of it. */
bool wr_gc_is(const wr_store *s, const wr_gcobj *o, uint32_t id);

/* Whether the reference `v` matches the reference type `rt` (a module's type: concrete indices are the
 * instance's), v being of a type in rt's hierarchy (validation sees to that): ref.test, ref.cast and
 * br_on_cast. */
static inline bool wr_ref_test(const wr_instance *inst, uint64_t v, wr_valtype rt)
{
    if (v == 0)
        return wr_valtype_nullable(rt);
    switch (wr_valtype_code(rt)) {
    case WR_HT_ANY:
    case WR_HT_FUNC:
    case WR_HT_EXTERN:
    case WR_HT_EXN:
        return true;
    case WR_HT_EQ: /* an i31, or a struct or an array */
        return !wr_ref_is_host(v);
    case WR_HT_I31:
        return wr_ref_is_i31(v);
    case WR_HT_STRUCT:
    case WR_HT_ARRAY:
        return wr_ref_is_gcobj(v) &&
               wr_gc_obj(v)->type->kind == (wr_valtype_code(rt) == WR_HT_STRUCT ? WR_COMP_STRUCT : WR_COMP_ARRAY);
    case WR_HT_CONCRETE: {
        const wr_store *s = inst->store;
        uint32_t id = inst->type_ids[wr_valtype_index(rt)];
        if (s->type_kind[id] != WR_COMP_FUNC)
            return wr_ref_is_gcobj(v) && wr_gc_is(s, wr_gc_obj(v), id);
        const wr_func *f = (const wr_func *)(uintptr_t)v;
        return f->type_id == id || wr_store_type_sub(s, f->type_id, id);
    }
    default: /* the bottom types: no non-null value */
        return false;
    }
}

/* An object's bytes (header included), as gc_bytes counts them. */
static inline uint64_t wr_gc_size(const wr_functype *ft, uint32_t length)
{
    /* At most 2^32 - 1 elements of 16 bytes: 64-bit arithmetic cannot overflow. */
    uint64_t data = ft->kind == WR_COMP_ARRAY ? (uint64_t)length * wr_storage_size(ft->types[0])
                                              : ft->offsets[ft->nparams];
    return sizeof(wr_gcobj) + ((data + 7) & ~(uint64_t)7);
}

/* An exception object's bytes, as gc_bytes counts them. */
static inline uint64_t wr_exn_size(uint32_t nslots) { return sizeof(wr_exn) + (uint64_t)nslots * sizeof(uint64_t); }

/* A new exception of `tag` with the payload at `payload` (tag->type->param_slots slots), on the store's list,
 * its bytes counted in gc_bytes; NULL past config.max_gc_bytes or out of host memory. Never collects (the
 * unwinder collects first when the heap passed its threshold: wr_interp.c, new_exn). */
wr_exn *wr_exn_new(wr_store *s, wr_tag *tag, const uint64_t *payload);

/* Free every GC object and exception of the store (wr_store_free). */
void wr_gc_free_all(wr_store *s);

#endif /* WR_GCOBJ_H */
