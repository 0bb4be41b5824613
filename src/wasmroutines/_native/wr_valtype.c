/* wr_valtype.c: value types beyond their encoding (wr_types.h): subtyping, mapping a module's type indices
 * to a store's, names for messages. */
#include <stdio.h>

#include "wr_reader.h"
#include "wr_types.h"

static uint32_t canonical(uint32_t index, const wr_typectx *cx)
{
    return cx && cx->canon && index < cx->ntypes ? cx->canon[index] : index;
}

/* Where an abstract heap type sits among the any hierarchy's: eq above i31, struct and array, struct above
 * every struct type, array above every array type, none below them all. */
bool wr_heaptype_sub(wr_valtype a, wr_valtype b, const wr_typectx *cx)
{
    a = wr_valtype_heap(a);
    b = wr_valtype_heap(b);
    if (a == b)
        return true;
    uint32_t ca = wr_valtype_code(a), cb = wr_valtype_code(b);
    if (ca == WR_HT_BOT)
        return true;
    if (cb == WR_HT_BOT || wr_heaptype_top_cx(a, cx) != wr_heaptype_top_cx(b, cx))
        return false;
    if (cb == WR_HT_FUNC || cb == WR_HT_EXTERN || cb == WR_HT_EXN || cb == WR_HT_ANY) /* the top of a's hierarchy */
        return true;
    if (ca == WR_HT_NOFUNC || ca == WR_HT_NOEXTERN || ca == WR_HT_NOEXN || ca == WR_HT_NONE) /* the bottom of b's */
        return true;
    uint8_t ka = ca == WR_HT_CONCRETE ? wr_typectx_kind(cx, wr_valtype_index(a)) : WR_COMP_FUNC;
    if (cb == WR_HT_EQ)
        return ca == WR_HT_I31 || ca == WR_HT_STRUCT || ca == WR_HT_ARRAY || ca == WR_HT_CONCRETE;
    if (cb == WR_HT_STRUCT)
        return ca == WR_HT_CONCRETE && ka == WR_COMP_STRUCT;
    if (cb == WR_HT_ARRAY)
        return ca == WR_HT_CONCRETE && ka == WR_COMP_ARRAY;
    if (ca == WR_HT_CONCRETE && cb == WR_HT_CONCRETE)
        return wr_deftype_sub(wr_valtype_index(a), wr_valtype_index(b), cx);
    return false;
}

void wr_struct_layout(const wr_valtype *fields, uint32_t nfields, uint32_t *offsets)
{
    uint32_t at = 0; /* a struct has at most WR_MAX_FIELDS fields of at most 16 bytes: no overflow */
    for (uint32_t k = 0; k < nfields; k++) {
        uint32_t size = wr_storage_size(fields[k]);
        at = (at + size - 1) & ~(size - 1);
        offsets[k] = at;
        at += size;
    }
    offsets[nfields] = (at + 7) & ~7u;
}

/* Declared supertype chains are at most as long as the types before (a
 * supertype precedes its subtype), so the walk ends. */
bool wr_deftype_sub(uint32_t a, uint32_t b, const wr_typectx *cx)
{
    uint32_t cb = canonical(b, cx);
    for (uint32_t steps = 0; a != WR_NO_SUPER; steps++) {
        if (canonical(a, cx) == cb)
            return true;
        if (!cx || !cx->super || a >= cx->ntypes || steps > cx->ntypes)
            return false;
        a = cx->super[a];
    }
    return false;
}

/* ---- recursion group keys ---- */

#define KEY_IN_GROUP 0x80000000u /* a supertype word naming a type of the group itself */

uint32_t wr_group_key_words(const wr_functype *types, uint32_t size)
{
    uint32_t n = 1;
    for (uint32_t k = 0; k < size; k++)
        n += 4 + types[k].nparams + types[k].nresults + (types[k].mut ? types[k].nparams : 0);
    return n;
}

static wr_valtype key_valtype(wr_valtype t, uint32_t start, uint32_t size, const uint32_t *outside)
{
    if (!wr_valtype_is_concrete(t))
        return t;
    uint32_t i = wr_valtype_index(t);
    if (i >= start && i - start < size)
        return WR_HT_REC | ((i - start) << WR_HT_INDEX_SHIFT) | (t & WR_REF_NONNULL);
    /* A type after the group is invalid (and reported so): never read `outside` past the group. */
    return outside && i < start ? wr_ref_concrete(outside[i], wr_valtype_nullable(t)) : t;
}

void wr_group_key(const wr_functype *types, const uint32_t *super, const bool *final, uint32_t start,
                  uint32_t size, const uint32_t *outside, uint32_t *out)
{
    *out++ = size;
    for (uint32_t k = 0; k < size; k++) {
        const wr_functype *ft = &types[k];
        uint32_t sup = super ? super[k] : WR_NO_SUPER;
        *out++ = (final ? final[k] : 1u) | (uint32_t)ft->kind << 8;
        if (sup == WR_NO_SUPER)
            *out++ = WR_NO_SUPER;
        else if (sup >= start && sup - start < size)
            *out++ = KEY_IN_GROUP | (sup - start);
        else
            *out++ = outside && sup < start ? outside[sup] : sup;
        *out++ = ft->nparams;
        *out++ = ft->nresults;
        for (uint32_t j = 0; j < ft->nparams + ft->nresults; j++)
            *out++ = key_valtype(ft->types[j], start, size, outside);
        for (uint32_t j = 0; ft->mut && j < ft->nparams; j++) /* a struct's or an array's mutability */
            *out++ = ft->mut[j];
    }
}

uint32_t wr_key_hash(const uint32_t *key, uint32_t nwords)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (uint32_t i = 0; i < nwords; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

bool wr_valtype_sub(wr_valtype a, wr_valtype b, const wr_typectx *cx)
{
    if (a == b)
        return true;
    if (!wr_valtype_is_ref(a) || !wr_valtype_is_ref(b))
        return false;
    if (wr_valtype_nullable(a) && !wr_valtype_nullable(b))
        return false;
    return wr_heaptype_sub(a, b, cx);
}

wr_valtype wr_valtype_map(wr_valtype t, const uint32_t *ids)
{
    if (!wr_valtype_is_concrete(t) || !ids)
        return t;
    return wr_ref_concrete(ids[wr_valtype_index(t)], wr_valtype_nullable(t));
}

static const char *abstract_name(uint32_t code)
{
    switch (code) {
    case WR_HT_FUNC:
        return "func";
    case WR_HT_EXTERN:
        return "extern";
    case WR_HT_NOFUNC:
        return "nofunc";
    case WR_HT_NOEXTERN:
        return "noextern";
    case WR_HT_EXN:
        return "exn";
    case WR_HT_NOEXN:
        return "noexn";
    case WR_HT_ANY:
        return "any";
    case WR_HT_EQ:
        return "eq";
    case WR_HT_I31:
        return "i31";
    case WR_HT_STRUCT:
        return "struct";
    case WR_HT_ARRAY:
        return "array";
    case WR_HT_NONE:
        return "none";
    case WR_HT_BOT:
        return "bot";
    default:
        return NULL;
    }
}

const char *wr_valtype_name(wr_valtype t, char *buf, size_t cap)
{
    const char *name = NULL;
    switch (t) {
    case WR_I32:
        name = "i32";
        break;
    case WR_I64:
        name = "i64";
        break;
    case WR_F32:
        name = "f32";
        break;
    case WR_F64:
        name = "f64";
        break;
    case WR_V128:
        name = "v128";
        break;
    case WR_I8:
        name = "i8";
        break;
    case WR_I16:
        name = "i16";
        break;
    case WR_FUNCREF:
        name = "funcref";
        break;
    case WR_EXTERNREF:
        name = "externref";
        break;
    case WR_HT_NOFUNC:
        name = "nullfuncref";
        break;
    case WR_HT_NOEXTERN:
        name = "nullexternref";
        break;
    case WR_EXNREF:
        name = "exnref";
        break;
    case WR_NULLEXNREF:
        name = "nullexnref";
        break;
    case WR_HT_ANY:
        name = "anyref";
        break;
    case WR_HT_EQ:
        name = "eqref";
        break;
    case WR_HT_I31:
        name = "i31ref";
        break;
    case WR_HT_STRUCT:
        name = "structref";
        break;
    case WR_HT_ARRAY:
        name = "arrayref";
        break;
    case WR_HT_NONE:
        name = "nullref";
        break;
    default:
        break;
    }
    if (name) {
        snprintf(buf, cap, "%s", name);
        return buf;
    }
    if (!wr_valtype_is_ref(t)) {
        snprintf(buf, cap, "?");
        return buf;
    }
    const char *null = wr_valtype_nullable(t) ? "null " : "";
    const char *heap = abstract_name(wr_valtype_code(t));
    if (heap)
        snprintf(buf, cap, "(ref %s%s)", null, heap);
    else
        snprintf(buf, cap, "(ref %s%u)", null, wr_valtype_index(t));
    return buf;
}

/* ---- reading ---- */

int wr_read_heaptype(wr_reader *r, wr_valtype *out, uint8_t *bad)
{
    int64_t v;
    int rc = wr_read_sleb(r, 33, &v);
    if (rc)
        return rc;
    if (v >= 0) {
        /* An index past the encoding's range is past any module's types too: "unknown type". */
        *out = wr_ref_concrete(v > WR_HT_MAX_INDEX ? WR_HT_MAX_INDEX : (uint32_t)v, true);
        return WR_READ_OK;
    }
    *bad = (uint8_t)(v & 0x7F);
    if (v < -64) /* no abstract heap type takes more than one byte */
        return WR_VT_MALFORMED;
    if (wr_heaptype_is_abstract(*bad)) {
        *out = *bad;
        return WR_READ_OK;
    }
    return WR_VT_MALFORMED;
}

int wr_read_valtype_from(wr_reader *r, uint8_t b, wr_valtype *out, uint8_t *bad)
{
    *bad = b;
    if (wr_valtype_is_num(b) || wr_heaptype_is_abstract(b)) {
        *out = b; /* a number type, or the short form of (ref null ht) */
        return WR_READ_OK;
    }
    if (b == WR_BYTE_REF_NULL || b == WR_BYTE_REF) {
        int rc = wr_read_heaptype(r, out, bad);
        if (rc == WR_READ_OK && b == WR_BYTE_REF)
            *out |= WR_REF_NONNULL;
        return rc;
    }
    return WR_VT_MALFORMED;
}

int wr_read_valtype(wr_reader *r, wr_valtype *out, uint8_t *bad)
{
    uint8_t b;
    int rc = wr_read_u8(r, &b);
    return rc ? rc : wr_read_valtype_from(r, b, out, bad);
}
