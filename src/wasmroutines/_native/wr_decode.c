/* wr_decode.c: the binary decoder: module bytes -> wr_module, one function per section.
 *
 * Errors are worded as the spec test suite words them; the suite matches
 * message prefixes, so "unexpected end of section or function" also answers
 * an expected "unexpected end".
 *
 * The reader spans the whole module, not just the current section, as the
 * reference decoder's does: a section whose contents run past its declared
 * size reads on into the next section's bytes and fails there ("section size
 * mismatch" or whatever those bytes make of it), so the error is the one the
 * suite expects. Nothing is ever read past the end of the module.
 *
 * Function bodies are not decoded here (wr_translate.c validates and
 * translates them); only their local declarations are.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_code.h"
#include "wr_module.h"
#include "wr_reader.h"

/* Limit on declared locals per function (wasm-tools and browsers use the
 * same number); more is malformed "too many locals". */
#define WR_MAX_LOCALS 50000u

/* Section ids. */
enum {
    SEC_CUSTOM = 0,
    SEC_TYPE = 1,
    SEC_IMPORT = 2,
    SEC_FUNCTION = 3,
    SEC_TABLE = 4,
    SEC_MEMORY = 5,
    SEC_GLOBAL = 6,
    SEC_EXPORT = 7,
    SEC_START = 8,
    SEC_ELEMENT = 9,
    SEC_CODE = 10,
    SEC_DATA = 11,
    SEC_DATACOUNT = 12,
    SEC_TAG = 13, /* exception handling */
};

/* Position of each non-custom section in the required order (datacount sits
 * between element and code, tag between memory and global). */
static const uint8_t section_rank[14] = {
    [SEC_TYPE] = 1,      [SEC_IMPORT] = 2,     [SEC_FUNCTION] = 3, [SEC_TABLE] = 4,  [SEC_MEMORY] = 5,
    [SEC_TAG] = 6,       [SEC_GLOBAL] = 7,     [SEC_EXPORT] = 8,   [SEC_START] = 9,  [SEC_ELEMENT] = 10,
    [SEC_DATACOUNT] = 11, [SEC_CODE] = 12,     [SEC_DATA] = 13,
};

static const char EOF_TOP[] = "unexpected end";
static const char EOF_SECTION[] = "unexpected end of section or function";

typedef struct wr_decoder {
    wr_module *m;
    wr_reader r;         /* over the whole module */
    wr_error *err;
    wr_error pending;    /* first "invalid" error found while decoding: reported
                          * only if the module turns out well formed, because
                          * a malformed module must fail as malformed */
    const char *eof_msg; /* EOF_TOP or EOF_SECTION */
    uint32_t ndeclared;  /* entries in the function section */
    uint32_t nbodies;    /* entries in the code section */
    const uint8_t *names; /* payload of the "name" custom section, or NULL */
    uint32_t names_size;
    uint32_t ntypes_visible; /* the types a value type may name: in the type section, those up to the one being read */
} wr_decoder;

/* ---- errors ---- */

static int fail_kind(wr_decoder *d, int kind, uint32_t offset, const char *fmt, va_list ap)
{
    char msg[sizeof d->err->message];
    vsnprintf(msg, sizeof msg, fmt, ap);
    wr_error_set(d->err, kind, offset, "%s", msg);
    return -1;
}

/* Record a malformed-module error; returns -1 for `return fail(...)`. */
__attribute__((format(printf, 3, 4))) static int fail(wr_decoder *d, uint32_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_kind(d, WR_ERR_MALFORMED, offset, fmt, ap);
    va_end(ap);
    return -1;
}

/* Record an invalid-module error that decoding cannot continue past. */
__attribute__((format(printf, 3, 4))) static int fail_invalid(wr_decoder *d, uint32_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_kind(d, WR_ERR_INVALID, offset, fmt, ap);
    va_end(ap);
    return -1;
}

/* Remember an invalid-module error and go on decoding. */
static void defer_invalid(wr_decoder *d, uint32_t offset, const char *msg)
{
    wr_error_set(&d->pending, WR_ERR_INVALID, offset, "%s", msg);
}

static int fail_oom(wr_decoder *d)
{
    wr_error_set(d->err, WR_ERR_RESOURCE, wr_reader_offset(&d->r), "out of memory");
    return -1;
}

static uint32_t pos(const wr_decoder *d) { return wr_reader_offset(&d->r); }

/* Turn a WR_READ_* code into an error at the offending byte. */
static int fail_read(wr_decoder *d, int rc)
{
    if (rc == WR_READ_EOF)
        return fail(d, (uint32_t)(d->r.end - d->r.base), "%s", d->eof_msg);
    return fail(d, pos(d) - 1, "%s", rc == WR_READ_TOO_LONG ? "integer representation too long" : "integer too large");
}

/* ---- primitive readers: 0 on success, -1 with the error recorded ----
 * They zero `*out` on failure too, which keeps gcc's uninitialized-use
 * analysis quiet at every call site. */

static int read_u8(wr_decoder *d, uint8_t *out)
{
    *out = 0;
    int rc = wr_read_u8(&d->r, out);
    return rc ? fail_read(d, rc) : 0;
}

static int read_u32(wr_decoder *d, uint32_t *out)
{
    *out = 0;
    int rc = wr_read_u32(&d->r, out);
    return rc ? fail_read(d, rc) : 0;
}

/* A vector or byte-string length. Each element takes at least a byte, so a
 * length beyond the bytes left in the module is malformed at once; this also
 * bounds every allocation by the module's size. */
static int read_len(wr_decoder *d, uint32_t *out)
{
    uint32_t at = pos(d);
    if (read_u32(d, out))
        return -1;
    if (*out > (uint64_t)(d->r.end - d->r.base) - at)
        return fail(d, at, "length out of bounds");
    return 0;
}

static int read_bytes(wr_decoder *d, uint32_t n, const uint8_t **out)
{
    int rc = wr_read_bytes(&d->r, n, out);
    return rc ? fail_read(d, rc) : 0;
}

static bool utf8_valid(const uint8_t *s, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t len, cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1Fu, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0Fu, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (uint32_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static char *copy_string(const uint8_t *s, uint32_t n)
{
    char *out = malloc((size_t)n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

/* A name: length, UTF-8 bytes. `*out` gets a NUL-terminated copy. */
static int read_name(wr_decoder *d, char **out, uint32_t *len)
{
    uint32_t at = pos(d);
    const uint8_t *s = NULL;
    if (read_len(d, len) || read_bytes(d, *len, &s))
        return -1;
    if (!utf8_valid(s, *len))
        return fail(d, at, "malformed UTF-8 encoding");
    if (!(*out = copy_string(s, *len)))
        return fail_oom(d);
    return 0;
}

/* The result of wr_read_valtype / wr_read_heaptype: a malformed byte, or
 * a type index past the types visible here (invalid:
 * "unknown type", reported if the module turns out well formed). */
static int valtype_result(wr_decoder *d, int rc, wr_valtype t, uint32_t at, const char *malformed)
{
    if (rc == WR_VT_MALFORMED)
        return fail(d, pos(d) - 1, "%s", malformed);
    if (rc)
        return fail_read(d, rc);
    wr_module_note_valtype(d->m, t, at, malformed);
    if (wr_valtype_is_concrete(t) && wr_valtype_index(t) >= d->ntypes_visible)
        defer_invalid(d, at, "unknown type");
    return 0;
}

static int read_valtype(wr_decoder *d, wr_valtype *out)
{
    uint32_t at = pos(d);
    uint8_t bad = 0;
    *out = 0;
    int rc = wr_read_valtype(&d->r, out, &bad);
    return valtype_result(d, rc, *out, at, "malformed value type");
}

static int read_reftype(wr_decoder *d, wr_valtype *out)
{
    if (read_valtype(d, out))
        return -1;
    if (!wr_valtype_is_ref(*out))
        return fail(d, pos(d) - 1, "malformed reference type");
    return 0;
}

static int read_heaptype(wr_decoder *d, wr_valtype *out)
{
    uint32_t at = pos(d);
    uint8_t bad = 0;
    *out = 0;
    int rc = wr_read_heaptype(&d->r, out, &bad);
    return valtype_result(d, rc, *out, at, "malformed reference type");
}

/* A tag type: an attribute byte (0: an exception) and a function type index. */
static int read_tagtype(wr_decoder *d, uint32_t *type)
{
    uint8_t attr;
    wr_module_note_exn(d->m, pos(d) - 1, "malformed import kind");
    if (read_u8(d, &attr))
        return -1;
    if (attr != 0)
        return fail(d, pos(d) - 1, "malformed tag attribute");
    return read_u32(d, type);
}

/* Limits: a flags byte (bit 0: has max; bit 1, memories only: shared, from
 * the threads proposal; bit 2: 64-bit addresses, memory64 and table64), then
 * min and max. With memory64 (3.0) the flags are a byte and min and max are
 * u64 whatever the address type ("malformed limits flags" for bad flags);
 * without it (2.0) the flags are a LEB128 of up to 2 bits, which gives the
 * suite's "integer too large" / "integer representation too long" for bad
 * ones, and min and max are u32. Rules about the values (min <= max, the
 * address type's range, shared needs max) are validation's. */
static int read_limits(wr_decoder *d, wr_limits *lim, bool memory)
{
    uint64_t flags;
    int rc;
    bool mem64 = (d->m->features & WR_FEATURE_MEMORY64) != 0;
    if (mem64) {
        uint8_t b;
        if (read_u8(d, &b))
            return -1;
        flags = b;
        if ((flags & ~(uint64_t)WR_LIMITS_64) >= (memory ? 4u : 2u) || flags > 7)
            return fail(d, pos(d) - 1, "malformed limits flags");
    } else {
        rc = wr_read_uleb(&d->r, 3, &flags);
        if (rc)
            return fail_read(d, rc);
        if (flags >= (memory ? 4u : 2u))
            return fail(d, pos(d) - 1, "integer too large");
    }
    lim->has_max = flags & 1;
    lim->shared = (flags & 2) != 0;
    lim->is64 = (flags & WR_LIMITS_64) != 0;
    if (mem64) {
        uint64_t min, max = 0;
        rc = wr_read_uleb(&d->r, 64, &min);
        if (rc == WR_READ_OK && lim->has_max)
            rc = wr_read_uleb(&d->r, 64, &max);
        if (rc)
            return fail_read(d, rc);
        lim->min = min;
        lim->max = max;
        return 0;
    }
    uint32_t min, max = 0;
    if (read_u32(d, &min) || (lim->has_max && read_u32(d, &max)))
        return -1;
    lim->min = min;
    lim->max = max;
    return 0;
}

static int read_tabletype(wr_decoder *d, wr_tabletype *t)
{
    return read_reftype(d, &t->elemtype) || read_limits(d, &t->limits, false) ? -1 : 0;
}

static int read_globaltype(wr_decoder *d, wr_globaltype *g)
{
    uint8_t mut;
    if (read_valtype(d, &g->type) || read_u8(d, &mut))
        return -1;
    if (mut > 1)
        return fail(d, pos(d) - 1, "malformed mutability");
    g->mutable_ = mut;
    return 0;
}

/* ---- constant expressions ---- */

/* Whether `op` (a one-byte opcode) is a known instruction: a known but
 * non-constant instruction in a constant expression is invalid ("constant
 * expression required"), an unknown one malformed ("illegal opcode"). */
static bool is_known_opcode(uint8_t op)
{
    return op <= 0x04 || (op >= 0x0C && op <= 0x15) || (op >= 0x1A && op <= 0x1C) || (op >= 0x20 && op <= 0x26) ||
           (op >= 0x28 && op <= 0xC4) || (op >= 0xD0 && op <= 0xD6);
}

static int read_nonconst(wr_decoder *d, uint8_t op, uint32_t at)
{
    if (op == 0x05)
        return fail(d, at, "END opcode expected");
    if (op == 0xFC) {
        uint32_t sub;
        if (read_u32(d, &sub))
            return -1;
        if (sub > 17)
            return fail(d, at, "illegal opcode fc %02x", sub);
    } else if (op != 0xFD && !is_known_opcode(op)) {
        return fail(d, at, "illegal opcode %02x", op);
    }
    /* REVISIT: the rest of the expression is not decoded, so a malformation
     * after this point is reported as this invalid error instead. */
    return fail_invalid(d, at, "constant expression required");
}

/* One constant instruction: its opcode already read into c->op. */
static int read_constinsn(wr_decoder *d, wr_constexpr *c, uint32_t at)
{
    int rc = WR_READ_OK;
    int64_t s = 0;
    uint32_t u32 = 0;
    switch (c->op) {
    case WR_CONST_I32:
        rc = wr_read_sleb(&d->r, 32, &s);
        c->type = WR_I32;
        c->bits[0] = (uint32_t)s;
        break;
    case WR_CONST_I64:
        rc = wr_read_sleb(&d->r, 64, &s);
        c->type = WR_I64;
        c->bits[0] = (uint64_t)s;
        break;
    case WR_CONST_F32:
        rc = wr_read_fixed32(&d->r, &u32);
        c->type = WR_F32;
        c->bits[0] = u32;
        break;
    case WR_CONST_F64:
        rc = wr_read_fixed64(&d->r, &c->bits[0]);
        c->type = WR_F64;
        break;
    case WR_CONST_GLOBAL_GET:
        rc = wr_read_u32(&d->r, &c->index);
        break;
    case WR_CONST_REF_NULL: /* its heap type: the value is (ref null ht) */
        if (read_heaptype(d, &c->type))
            return -1;
        break;
    case WR_CONST_REF_FUNC: /* (ref $t) of the function's type $t: filled by validation */
        rc = wr_read_u32(&d->r, &c->index);
        c->type = WR_FUNCREF | WR_REF_NONNULL;
        break;
    case WR_CONST_I32_ADD:
    case WR_CONST_I32_SUB:
    case WR_CONST_I32_MUL:
        c->type = WR_I32;
        break;
    case WR_CONST_I64_ADD:
    case WR_CONST_I64_SUB:
    case WR_CONST_I64_MUL:
        c->type = WR_I64;
        break;
    case 0xFB: /* GC's prefix: ref.i31, the extern conversions and the allocations are constant */
        if (read_u32(d, &u32))
            return -1;
        wr_module_note_gc(d->m, at);
        if (u32 == 0x00 || u32 == 0x01 || u32 == 0x06 || u32 == 0x07 || u32 == 0x08) {
            c->op = (uint8_t)(0x80 + u32);
            rc = wr_read_u32(&d->r, &c->index);
            if (rc == WR_READ_OK && u32 == 0x08) {
                rc = wr_read_u32(&d->r, &u32);
                c->bits[0] = u32;
            }
            c->type = wr_ref_concrete(c->index > WR_HT_MAX_INDEX ? WR_HT_MAX_INDEX : c->index, false);
            break;
        }
        if (u32 != WR_CONST_ANY_CONVERT_EXTERN && u32 != WR_CONST_EXTERN_CONVERT_ANY && u32 != WR_CONST_REF_I31) {
            if (u32 > 0x1E)
                return fail(d, at, "illegal opcode fb %02x", u32);
            return fail_invalid(d, at, "constant expression required");
        }
        c->op = (uint8_t)u32;
        c->type = u32 == WR_CONST_REF_I31 ? WR_I31REF | WR_REF_NONNULL : 0; /* the conversions: by validation */
        break;
    case WR_CONST_V128: /* the 0xFD prefix: only v128.const is constant */
        if (read_u32(d, &u32))
            return -1;
        if (u32 != 0x0C)
            return read_nonconst(d, c->op, at);
        rc = wr_read_fixed64(&d->r, &c->bits[0]);
        if (rc == WR_READ_OK)
            rc = wr_read_fixed64(&d->r, &c->bits[1]);
        c->type = WR_V128;
        break;
    default:
        return read_nonconst(d, c->op, at);
    }
    return rc ? fail_read(d, rc) : 0;
}

/* Constant instructions up to `end`: the first kept in `ce` itself, any
 * further ones (extended constant expressions) in ce->more. Typing is
 * validation's (wr_validate_module.c), which knows the globals; an empty
 * expression is invalid ("type mismatch"). */
static int read_constexpr(wr_decoder *d, wr_constexpr *ce)
{
    uint32_t start = pos(d);
    uint32_t ninsns = 0, cap = 0;
    wr_constinsn *more = NULL;
    memset(ce, 0, sizeof *ce);
    ce->offset = start;
    for (;;) {
        uint32_t at = pos(d);
        wr_constexpr c = {.offset = start};
        if (read_u8(d, &c.op))
            goto fail;
        if (c.op == 0x0B)
            break;
        if (read_constinsn(d, &c, at))
            goto fail;
        if (ninsns++ == 0) {
            *ce = c;
            continue;
        }
        if (ninsns - 1 > cap) {
            uint32_t ncap = cap ? cap * 2 : 4;
            wr_constinsn *p = realloc(more, (size_t)ncap * sizeof *more);
            if (!p) {
                fail_oom(d);
                goto fail;
            }
            more = p;
            cap = ncap;
        }
        more[ninsns - 2] =
            (wr_constinsn){.op = c.op, .type = c.type, .index = c.index, .bits = c.bits[0], .hi = c.bits[1]};
    }
    if (ninsns == 0)
        defer_invalid(d, start, "type mismatch");
    ce->nmore = ninsns > 1 ? ninsns - 1 : 0;
    ce->more = more;
    return 0;
fail:
    free(more);
    return -1;
}

/* ---- growing the index spaces ---- */

/* Append `add` zeroed elements to an array of `have` elements. */
static int grow(wr_decoder *d, void **arr, uint32_t have, uint32_t add, size_t size)
{
    if (add == 0)
        return 0;
    size_t n = (size_t)have + add;
    void *p = realloc(*arr, n * size);
    if (!p)
        return fail_oom(d);
    memset((char *)p + (size_t)have * size, 0, (size_t)add * size);
    *arr = p;
    return 0;
}

/* ---- sections ---- */

/* A field of a struct or an array: its storage type (a value type, i8 0x78 or i16 0x77) and mutability. */
static int read_fieldtype(wr_decoder *d, wr_valtype *st, uint8_t *mut)
{
    if (d->r.p < d->r.end && (*d->r.p == WR_I8 || *d->r.p == WR_I16)) {
        *st = *d->r.p++;
    } else if (read_valtype(d, st)) {
        return -1;
    }
    if (read_u8(d, mut))
        return -1;
    if (*mut > 1)
        return fail(d, pos(d) - 1, "malformed mutability");
    return 0;
}

/* A struct (0x5F: its fields) or an array (0x5E: its element) type. */
static int read_aggregate(wr_decoder *d, wr_functype *ft, bool array)
{
    uint32_t n = 1;
    wr_module_note_gc(d->m, pos(d) - 1);
    if (!array && read_len(d, &n))
        return -1;
    if (n > WR_MAX_FIELDS)
        return fail(d, pos(d), "too many struct fields (at most %u)", WR_MAX_FIELDS);
    ft->kind = array ? WR_COMP_ARRAY : WR_COMP_STRUCT;
    ft->types = malloc(((size_t)n + 1) * sizeof *ft->types);
    ft->mut = malloc((size_t)n + 1);
    ft->offsets = array ? NULL : malloc(((size_t)n + 1) * sizeof *ft->offsets);
    if (!ft->types || !ft->mut || (!array && !ft->offsets))
        return fail_oom(d);
    for (uint32_t k = 0; k < n; k++) {
        if (read_fieldtype(d, &ft->types[k], &ft->mut[k]))
            return -1;
        ft->nparams = k + 1;
    }
    if (!array)
        wr_struct_layout(ft->types, n, ft->offsets);
    return 0;
}

/* A composite type: a function type (0x60, the params, the results; `types` holds both), a struct or an
 * array type. */
static int read_functype(wr_decoder *d, wr_functype *ft)
{
    uint8_t form;
    uint32_t np, nr;
    if (read_u8(d, &form))
        return -1;
    if (form == 0x5F || form == 0x5E)
        return read_aggregate(d, ft, form == 0x5E);
    if (form != 0x60) {
        /* The form is an s7 LEB128: a continuation bit makes it overlong. */
        if (form & 0x80)
            return fail(d, pos(d), "integer representation too long");
        return fail(d, pos(d) - 1, "malformed function type");
    }
    if (read_len(d, &np))
        return -1;
    if (!(ft->types = malloc(((size_t)np + 1) * sizeof *ft->types)))
        return fail_oom(d);
    for (uint32_t k = 0; k < np; k++)
        if (read_valtype(d, &ft->types[k]))
            return -1;
    if (read_len(d, &nr))
        return -1;
    wr_valtype *types = realloc(ft->types, ((size_t)np + nr + 1) * sizeof *types);
    if (!types)
        return fail_oom(d);
    ft->types = types;
    for (uint32_t k = 0; k < nr; k++)
        if (read_valtype(d, &ft->types[np + k]))
            return -1;
    ft->nparams = np;
    ft->nresults = nr;
    for (uint32_t k = 0; k < np; k++)
        ft->param_slots += wr_valtype_slots(ft->types[k]);
    for (uint32_t k = 0; k < nr; k++)
        ft->result_slots += wr_valtype_slots(ft->types[np + k]);
    return 0;
}

/* m->type_canon: each type's representative, a group at a time (a group
 * names only itself and the groups before it, whose representatives are
 * known): the first group with the same key. */
static int canonicalize_types(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t cap = 16;
    while (cap < 2 * (uint64_t)m->ntypes)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof *slots); /* a representative group's start + 1; 0: empty */
    uint32_t maxwords = 1;
    for (uint32_t i = 0; i < m->ntypes; i += m->type_group_size[i]) {
        uint32_t w = wr_group_key_words(m->types + i, m->type_group_size[i]);
        maxwords = w > maxwords ? w : maxwords;
    }
    uint32_t *key = malloc((size_t)maxwords * sizeof *key), *other = malloc((size_t)maxwords * sizeof *other);
    if (!slots || !key || !other) {
        free(slots);
        free(key);
        free(other);
        return fail_oom(d);
    }
    for (uint32_t i = 0; i < m->ntypes;) {
        uint32_t size = m->type_group_size[i];
        uint32_t nw = wr_group_key_words(m->types + i, size);
        wr_group_key(m->types + i, m->type_super + i, m->type_final + i, i, size, m->type_canon, key);
        uint32_t k = wr_key_hash(key, nw) & (cap - 1), rep = i;
        for (; slots[k]; k = (k + 1) & (cap - 1)) {
            uint32_t j = slots[k] - 1;
            if (m->type_group_size[j] != size || wr_group_key_words(m->types + j, size) != nw)
                continue;
            wr_group_key(m->types + j, m->type_super + j, m->type_final + j, j, size, m->type_canon, other);
            if (memcmp(key, other, (size_t)nw * sizeof *key) == 0) {
                rep = j;
                break;
            }
        }
        if (rep == i)
            slots[k] = i + 1;
        for (uint32_t t = 0; t < size; t++)
            m->type_canon[i + t] = rep + t;
        i += size;
    }
    free(slots);
    free(key);
    free(other);
    return 0;
}

/* Room for `add` more types (capacity doubles: a section of many groups stays linear). */
static int reserve_types(wr_decoder *d, uint32_t *cap, uint32_t add)
{
    wr_module *m = d->m;
    uint64_t need = (uint64_t)m->ntypes + add;
    if (need > WR_HT_MAX_INDEX)
        return fail(d, pos(d), "too many types");
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *p[6] = {realloc(m->types, (size_t)ncap * sizeof *m->types), NULL, NULL, NULL, NULL, NULL};
    if (p[0])
        m->types = p[0];
    p[1] = realloc(m->type_super, (size_t)ncap * sizeof *m->type_super);
    if (p[1])
        m->type_super = p[1];
    p[2] = realloc(m->type_final, (size_t)ncap * sizeof *m->type_final);
    if (p[2])
        m->type_final = p[2];
    p[3] = realloc(m->type_group, (size_t)ncap * sizeof *m->type_group);
    if (p[3])
        m->type_group = p[3];
    p[4] = realloc(m->type_group_size, (size_t)ncap * sizeof *m->type_group_size);
    if (p[4])
        m->type_group_size = p[4];
    p[5] = realloc(m->type_canon, (size_t)ncap * sizeof *m->type_canon);
    if (p[5])
        m->type_canon = p[5];
    for (int i = 0; i < 6; i++)
        if (!p[i])
            return fail_oom(d);
    *cap = ncap;
    return 0;
}

/* One subtype: `sub` (0x50) or `sub final` (0x4F) with its supertypes, then
 * the composite type; or the composite type alone (final, no supertype). */
static int read_subtype(wr_decoder *d, uint32_t index)
{
    wr_module *m = d->m;
    m->type_super[index] = WR_NO_SUPER;
    m->type_final[index] = true;
    if (d->r.p < d->r.end && (*d->r.p == 0x50 || *d->r.p == 0x4F)) {
        uint8_t form;
        uint32_t n, at = pos(d);
        if (!m->gc_types_offset)
            m->gc_types_offset = at;
        if (read_u8(d, &form) || read_len(d, &n))
            return -1;
        m->type_final[index] = form == 0x4F;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t x;
            if (read_u32(d, &x))
                return -1;
            if (k == 0)
                m->type_super[index] = x;
        }
        if (n > 1)
            defer_invalid(d, at, "sub type");
        else if (n == 1 && m->type_super[index] >= index) /* a supertype comes first */
            defer_invalid(d, at, "unknown type");
    }
    return read_functype(d, &m->types[index]);
}

/* The type section: recursion groups (0x4E and its types) or single types. */
static int decode_type_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n, cap = 0;
    if (read_len(d, &n) || reserve_types(d, &cap, 1))
        return -1;
    for (uint32_t g = 0; g < n; g++) {
        uint32_t size = 1;
        if (d->r.p < d->r.end && *d->r.p == 0x4E) {
            uint8_t rec;
            if (!m->gc_types_offset)
                m->gc_types_offset = pos(d);
            if (read_u8(d, &rec) || read_len(d, &size))
                return -1;
        }
        if (reserve_types(d, &cap, size))
            return -1;
        uint32_t start = m->ntypes;
        d->ntypes_visible = start + size; /* a group's types may name each other */
        for (uint32_t k = 0; k < size; k++) {
            uint32_t i = m->ntypes++;
            memset(&m->types[i], 0, sizeof m->types[i]);
            m->type_group[i] = start;
            m->type_group_size[i] = size;
            if (read_subtype(d, i))
                return -1;
        }
    }
    d->ntypes_visible = m->ntypes;
    if (!(m->type_kind = malloc(m->ntypes + 1u)))
        return fail_oom(d);
    for (uint32_t i = 0; i < m->ntypes; i++)
        m->type_kind[i] = m->types[i].kind;
    return canonicalize_types(d);
}

static int read_import_desc(wr_decoder *d, wr_import *im)
{
    if (read_u8(d, &im->kind))
        return -1;
    switch (im->kind) {
    case WR_EXTERN_FUNC:
        return read_u32(d, &im->desc.func_type);
    case WR_EXTERN_TABLE:
        return read_tabletype(d, &im->desc.table);
    case WR_EXTERN_MEMORY:
        return read_limits(d, &im->desc.memory, true);
    case WR_EXTERN_GLOBAL:
        return read_globaltype(d, &im->desc.global);
    case WR_EXTERN_TAG:
        return read_tagtype(d, &im->desc.tag_type);
    default:
        return fail(d, pos(d) - 1, "malformed import kind");
    }
}

/* Imports open each index space: funcs, tables, mems and globals start with
 * the imported entries. */
static int add_imports_to_index_spaces(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t nf = 0, nt = 0, nm = 0, ng = 0, ntag = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const wr_import *im = &m->imports[i];
        nf += im->kind == WR_EXTERN_FUNC;
        nt += im->kind == WR_EXTERN_TABLE;
        nm += im->kind == WR_EXTERN_MEMORY;
        ng += im->kind == WR_EXTERN_GLOBAL;
        ntag += im->kind == WR_EXTERN_TAG;
    }
    if (grow(d, (void **)&m->funcs, 0, nf, sizeof *m->funcs) ||
        grow(d, (void **)&m->tables, 0, nt, sizeof *m->tables) ||
        grow(d, (void **)&m->table_offsets, 0, nt, sizeof *m->table_offsets) ||
        grow(d, (void **)&m->table_inits, 0, nt, sizeof *m->table_inits) ||
        grow(d, (void **)&m->table_has_init, 0, nt, sizeof *m->table_has_init) ||
        grow(d, (void **)&m->mems, 0, nm, sizeof *m->mems) ||
        grow(d, (void **)&m->mem_offsets, 0, nm, sizeof *m->mem_offsets) ||
        grow(d, (void **)&m->globals, 0, ng, sizeof *m->globals) ||
        grow(d, (void **)&m->tags, 0, ntag, sizeof *m->tags) ||
        grow(d, (void **)&m->tag_offsets, 0, ntag, sizeof *m->tag_offsets))
        return -1;
    m->nfuncs = m->nfunc_imports = nf;
    m->ntables = m->ntable_imports = nt;
    m->nmems = m->nmem_imports = nm;
    m->nglobals = m->nglobal_imports = ng;
    m->ntags = m->ntag_imports = ntag;
    nf = nt = nm = ng = ntag = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const wr_import *im = &m->imports[i];
        switch (im->kind) {
        case WR_EXTERN_FUNC:
            m->funcs[nf].type = im->desc.func_type;
            m->funcs[nf++].type_offset = im->offset;
            break;
        case WR_EXTERN_TABLE:
            m->table_offsets[nt] = im->offset;
            m->tables[nt++] = im->desc.table;
            break;
        case WR_EXTERN_MEMORY:
            m->mem_offsets[nm] = im->offset;
            m->mems[nm++] = im->desc.memory;
            break;
        case WR_EXTERN_TAG:
            m->tag_offsets[ntag] = im->offset;
            m->tags[ntag++] = im->desc.tag_type;
            break;
        default:
            m->globals[ng++].type = im->desc.global;
            break;
        }
    }
    return 0;
}

static int decode_import_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n))
        return -1;
    if (!(m->imports = calloc(n ? n : 1, sizeof *m->imports)))
        return fail_oom(d);
    m->nimports = n;
    for (uint32_t i = 0; i < n; i++) {
        wr_import *im = &m->imports[i];
        im->offset = pos(d);
        if (read_name(d, &im->module, &im->module_len) || read_name(d, &im->name, &im->name_len) ||
            read_import_desc(d, im))
            return -1;
    }
    return add_imports_to_index_spaces(d);
}

static int decode_function_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n) || grow(d, (void **)&m->funcs, m->nfuncs, n, sizeof *m->funcs))
        return -1;
    d->ndeclared = n;
    for (uint32_t i = 0; i < n; i++) {
        wr_func_def *f = &m->funcs[m->nfuncs];
        f->type_offset = pos(d);
        if (read_u32(d, &f->type))
            return -1;
        m->nfuncs++;
    }
    return 0;
}

static int decode_table_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n) || grow(d, (void **)&m->tables, m->ntables, n, sizeof *m->tables) ||
        grow(d, (void **)&m->table_offsets, m->ntables, n, sizeof *m->table_offsets) ||
        grow(d, (void **)&m->table_inits, m->ntables, n, sizeof *m->table_inits) ||
        grow(d, (void **)&m->table_has_init, m->ntables, n, sizeof *m->table_has_init))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t at = pos(d);
        m->table_offsets[m->ntables] = at;
        /* 0x40 0x00: a table type with an initializer expression. */
        bool init = d->r.p < d->r.end && *d->r.p == 0x40;
        if (init) {
            uint8_t b;
            wr_module_note_typed_refs(m, at);
            if (read_u8(d, &b) || read_u8(d, &b))
                return -1;
            if (b != 0x00)
                return fail(d, pos(d) - 1, "malformed table");
        }
        if (read_tabletype(d, &m->tables[m->ntables]))
            return -1;
        m->table_has_init[m->ntables] = init;
        if (init && read_constexpr(d, &m->table_inits[m->ntables]))
            return -1;
        m->ntables++;
    }
    return 0;
}

static int decode_memory_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n) || grow(d, (void **)&m->mems, m->nmems, n, sizeof *m->mems) ||
        grow(d, (void **)&m->mem_offsets, m->nmems, n, sizeof *m->mem_offsets))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        m->mem_offsets[m->nmems] = pos(d);
        if (read_limits(d, &m->mems[m->nmems], true))
            return -1;
        m->nmems++;
    }
    return 0;
}

static int decode_tag_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n) || grow(d, (void **)&m->tags, m->ntags, n, sizeof *m->tags) ||
        grow(d, (void **)&m->tag_offsets, m->ntags, n, sizeof *m->tag_offsets))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        m->tag_offsets[m->ntags] = pos(d);
        if (read_tagtype(d, &m->tags[m->ntags]))
            return -1;
        m->ntags++;
    }
    return 0;
}

static int decode_global_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n) || grow(d, (void **)&m->globals, m->nglobals, n, sizeof *m->globals))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        wr_global_def *g = &m->globals[m->nglobals];
        if (read_globaltype(d, &g->type) || read_constexpr(d, &g->init))
            return -1;
        m->nglobals++;
    }
    return 0;
}

static int decode_export_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n))
        return -1;
    if (!(m->exports = calloc(n ? n : 1, sizeof *m->exports)))
        return fail_oom(d);
    m->nexports = n;
    for (uint32_t i = 0; i < n; i++) {
        wr_export *e = &m->exports[i];
        e->offset = pos(d);
        if (read_name(d, &e->name, &e->name_len) || read_u8(d, &e->kind))
            return -1;
        if (e->kind == WR_EXTERN_TAG)
            wr_module_note_exn(m, pos(d) - 1, "malformed export kind");
        if (e->kind > WR_EXTERN_TAG)
            return fail(d, pos(d) - 1, "malformed export kind");
        if (read_u32(d, &e->index))
            return -1;
    }
    return 0;
}

static int decode_start_section(wr_decoder *d)
{
    d->m->has_start = true;
    d->m->start_offset = pos(d);
    return read_u32(d, &d->m->start);
}

/* Element segment flags: bit 0 set = passive or (with bit 1) declarative;
 * bit 1 on an active segment = explicit table index; bit 2 = items are
 * constant expressions rather than function indices. Forms with bit 0 or
 * bit 1 also carry the element type (a reftype for expressions, an elemkind
 * byte 0x00 for function indices). */
static int decode_elem_segment(wr_decoder *d, wr_elem_segment *seg)
{
    uint32_t flags;
    seg->offset_in_module = pos(d);
    if (read_u32(d, &flags))
        return -1;
    if (flags > 7)
        return fail(d, seg->offset_in_module, "malformed elements segment kind");
    bool exprs = flags & 4;
    seg->mode = !(flags & 1) ? WR_SEG_ACTIVE : (flags & 2) ? WR_SEG_DECLARATIVE : WR_SEG_PASSIVE;
    /* Function indices: (ref func); expressions: funcref unless the type is given. */
    seg->elemtype = exprs ? WR_FUNCREF : WR_FUNCREF | WR_REF_NONNULL;
    if (seg->mode == WR_SEG_ACTIVE) {
        if ((flags & 2) && read_u32(d, &seg->table))
            return -1;
        if (read_constexpr(d, &seg->offset))
            return -1;
    }
    if (flags & 3) {
        if (exprs) {
            if (read_reftype(d, &seg->elemtype))
                return -1;
        } else {
            uint8_t kind;
            if (read_u8(d, &kind))
                return -1;
            if (kind != 0x00)
                return fail(d, pos(d) - 1, "malformed element kind");
        }
    }
    uint32_t n;
    if (read_len(d, &n))
        return -1;
    if (!(seg->items = calloc(n ? n : 1, sizeof *seg->items)))
        return fail_oom(d);
    seg->count = n;
    for (uint32_t i = 0; i < n; i++) {
        wr_constexpr *item = &seg->items[i];
        if (exprs) {
            if (read_constexpr(d, item))
                return -1;
            continue;
        }
        item->op = WR_CONST_REF_FUNC;
        item->type = WR_FUNCREF | WR_REF_NONNULL;
        item->offset = pos(d);
        if (read_u32(d, &item->index))
            return -1;
    }
    return 0;
}

static int decode_element_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n))
        return -1;
    if (!(m->elems = calloc(n ? n : 1, sizeof *m->elems)))
        return fail_oom(d);
    m->nelems = n;
    for (uint32_t i = 0; i < n; i++)
        if (decode_elem_segment(d, &m->elems[i]))
            return -1;
    return 0;
}

static int decode_datacount_section(wr_decoder *d)
{
    d->m->has_datacount = true;
    return read_u32(d, &d->m->datacount);
}

/* One code entry: size, local declarations, body. Bodies past the function
 * section's count are decoded (so their malformations are found) and
 * dropped; the count mismatch is reported after the last section, as the
 * reference decoder does. */
static int decode_code_entry(wr_decoder *d, uint32_t i)
{
    wr_module *m = d->m;
    wr_func_def scratch = {0};
    wr_func_def *f = i < d->ndeclared ? &m->funcs[m->nfunc_imports + i] : &scratch;
    uint32_t size, nruns;
    f->code_offset = pos(d);
    if (read_len(d, &size))
        return -1;
    /* read_len allows a length to reach as far as its own first byte did. */
    if (size > (size_t)(d->r.end - d->r.p))
        return fail(d, (uint32_t)(d->r.end - d->r.base), "%s", EOF_SECTION);
    const uint8_t *end = d->r.p + size;
    uint32_t runs_at = pos(d);
    if (read_len(d, &nruns))
        return -1;
    if (!(f->local_runs = calloc(nruns ? nruns : 1, sizeof *f->local_runs))) {
        return fail_oom(d);
    }
    f->nlocal_runs = nruns;
    uint64_t total = 0;
    int rc = 0;
    for (uint32_t k = 0; k < nruns && rc == 0; k++) {
        wr_local_run *run = &f->local_runs[k];
        rc = read_u32(d, &run->count) || read_valtype(d, &run->type) ? -1 : 0;
        total += run->count;
    }
    if (rc == 0 && total > WR_MAX_LOCALS)
        rc = fail(d, runs_at, "too many locals: %llu declared, at most %u", (unsigned long long)total,
                  WR_MAX_LOCALS);
    if (rc == 0 && d->r.p > end)
        rc = fail(d, (uint32_t)(end - d->r.base), "%s", EOF_SECTION);
    if (rc == 0) {
        f->nlocals = (uint32_t)total;
        f->body = d->r.p;
        f->body_end = end;
        f->body_offset = pos(d);
        d->r.p = end;
    }
    if (f == &scratch)
        free(scratch.local_runs);
    return rc;
}

static int decode_code_section(wr_decoder *d)
{
    uint32_t n;
    if (read_len(d, &n))
        return -1;
    d->nbodies = n;
    for (uint32_t i = 0; i < n; i++)
        if (decode_code_entry(d, i))
            return -1;
    return 0;
}

static int decode_data_segment(wr_decoder *d, wr_data_segment *seg)
{
    uint32_t flags;
    seg->offset_in_module = pos(d);
    if (read_u32(d, &flags))
        return -1;
    if (flags > 2)
        return fail(d, seg->offset_in_module, "malformed data segment kind");
    seg->mode = flags == 1 ? WR_SEG_PASSIVE : WR_SEG_ACTIVE;
    if (flags == 2 && read_u32(d, &seg->memory))
        return -1;
    if (seg->mode == WR_SEG_ACTIVE && read_constexpr(d, &seg->offset))
        return -1;
    return read_len(d, &seg->size) || read_bytes(d, seg->size, &seg->bytes) ? -1 : 0;
}

static int decode_data_section(wr_decoder *d)
{
    wr_module *m = d->m;
    uint32_t n;
    if (read_len(d, &n))
        return -1;
    if (!(m->datas = calloc(n ? n : 1, sizeof *m->datas)))
        return fail_oom(d);
    m->ndatas = n;
    for (uint32_t i = 0; i < n; i++)
        if (decode_data_segment(d, &m->datas[i]))
            return -1;
    return 0;
}

/* A custom section: a name, then bytes we keep but do not interpret (except
 * "name", parsed after the last section). */
static int decode_custom_section(wr_decoder *d, size_t end_off)
{
    wr_module *m = d->m;
    if (grow(d, (void **)&m->customs, m->ncustoms, 1, sizeof *m->customs))
        return -1;
    wr_custom_section *c = &m->customs[m->ncustoms++];
    /* A name running past the section is "unexpected end" for the suite. */
    d->eof_msg = EOF_TOP;
    if (read_name(d, &c->name, &c->name_len))
        return -1;
    if (pos(d) > end_off)
        return fail(d, (uint32_t)end_off, "%s", EOF_TOP);
    if (end_off > (size_t)(d->r.end - d->r.base))
        return fail(d, (uint32_t)(d->r.end - d->r.base), "%s", EOF_SECTION);
    const uint8_t *end = d->r.base + end_off;
    c->data = d->r.p;
    c->size = (uint32_t)(end - d->r.p);
    d->r.p = end;
    if (c->name_len == 4 && memcmp(c->name, "name", 4) == 0) {
        d->names = c->data;
        d->names_size = c->size;
    }
    return 0;
}

static int decode_section(wr_decoder *d, uint8_t id, size_t end_off)
{
    switch (id) {
    case SEC_CUSTOM:
        return decode_custom_section(d, end_off);
    case SEC_TYPE:
        return decode_type_section(d);
    case SEC_IMPORT:
        return decode_import_section(d);
    case SEC_FUNCTION:
        return decode_function_section(d);
    case SEC_TABLE:
        return decode_table_section(d);
    case SEC_MEMORY:
        return decode_memory_section(d);
    case SEC_GLOBAL:
        return decode_global_section(d);
    case SEC_EXPORT:
        return decode_export_section(d);
    case SEC_START:
        return decode_start_section(d);
    case SEC_ELEMENT:
        return decode_element_section(d);
    case SEC_CODE:
        return decode_code_section(d);
    case SEC_DATA:
        return decode_data_section(d);
    case SEC_TAG:
        return decode_tag_section(d);
    default:
        return decode_datacount_section(d);
    }
}

/* ---- the "name" custom section (best effort: never fails the module) ---- */

static bool name_read(wr_reader *r, const uint8_t **s, uint32_t *n)
{
    return wr_read_u32(r, n) == WR_READ_OK && wr_read_bytes(r, *n, s) == WR_READ_OK && utf8_valid(*s, *n);
}

static void decode_function_names(wr_module *m, wr_reader *r)
{
    uint32_t count;
    if (wr_read_u32(r, &count) != WR_READ_OK)
        return;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t idx, n;
        const uint8_t *s;
        if (wr_read_u32(r, &idx) != WR_READ_OK || !name_read(r, &s, &n))
            return;
        if (idx >= m->nfuncs)
            continue;
        if (!m->func_names && !(m->func_names = calloc(m->nfuncs, sizeof *m->func_names)))
            return;
        char *copy = copy_string(s, n);
        if (copy) {
            free(m->func_names[idx]);
            m->func_names[idx] = copy;
        }
    }
}

static void decode_names(wr_decoder *d)
{
    wr_module *m = d->m;
    wr_reader r = {d->r.base, d->names, d->names + d->names_size};
    while (!wr_reader_done(&r)) {
        uint8_t id;
        uint32_t size;
        if (wr_read_u8(&r, &id) != WR_READ_OK || wr_read_u32(&r, &size) != WR_READ_OK ||
            size > (size_t)(r.end - r.p))
            return;
        wr_reader sub = {r.base, r.p, r.p + size};
        r.p += size;
        const uint8_t *s;
        uint32_t n;
        if (id == 0 && !m->name && name_read(&sub, &s, &n))
            m->name = copy_string(s, n);
        else if (id == 1 && !m->func_names)
            decode_function_names(m, &sub);
    }
}

/* ---- the module ---- */

static int decode_header(wr_decoder *d)
{
    static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6D};
    static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
    size_t size = (size_t)(d->r.end - d->r.base);
    if (size < 4)
        return fail(d, (uint32_t)size, "%s", EOF_TOP);
    if (memcmp(d->r.base, magic, 4) != 0)
        return fail(d, 0, "magic header not detected");
    if (size < 8)
        return fail(d, (uint32_t)size, "%s", EOF_TOP);
    if (memcmp(d->r.base + 4, version, 4) != 0)
        return fail(d, 4, "unknown binary version");
    d->r.p += 8;
    return 0;
}

static int decode_sections(wr_decoder *d)
{
    uint8_t last_rank = 0;
    while (!wr_reader_done(&d->r)) {
        uint32_t at = pos(d);
        uint8_t id;
        uint32_t size;
        d->eof_msg = EOF_TOP;
        if (read_u8(d, &id))
            return -1;
        if (id > SEC_TAG)
            return fail(d, at, "malformed section id");
        if (id == SEC_TAG)
            wr_module_note_exn(d->m, at, "malformed section id");
        if (id != SEC_CUSTOM) {
            /* Out of order or repeated: the reference decoder stops at such
             * a section and finds content left over. */
            if (section_rank[id] <= last_rank)
                return fail(d, at, "unexpected content after last section");
            last_rank = section_rank[id];
        }
        if (read_len(d, &size))
            return -1;
        /* The end may lie a few bytes past the module (see read_len): then
         * the contents run out first, or the size mismatches. */
        uint32_t start = pos(d);
        size_t end_off = (size_t)start + size;
        d->eof_msg = EOF_SECTION;
        if (decode_section(d, id, end_off))
            return -1;
        if (pos(d) != end_off)
            return fail(d, start, "section size mismatch");
    }
    uint32_t at_end = pos(d);
    if (d->ndeclared != d->nbodies)
        return fail(d, at_end, "function and code section have inconsistent lengths");
    if (d->m->has_datacount && d->m->datacount != d->m->ndatas)
        return fail(d, at_end, "data count and data section have inconsistent lengths");
    return 0;
}

static wr_module *decode(const uint8_t *bytes, size_t size, uint32_t features, wr_error *err);

wr_module *wr_module_decode(const uint8_t *bytes, size_t size, wr_error *err)
{
    return decode(bytes, size, WR_FEATURE_ALL, err);
}

/* The decoder reads limits as the features say (read_limits); the translator memargs and memory indices. */
static wr_module *decode(const uint8_t *bytes, size_t size, uint32_t features, wr_error *err)
{
    wr_error scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    if (size > UINT32_MAX) {
        wr_error_set(err, WR_ERR_RESOURCE, 0, "module too large");
        return NULL;
    }
    wr_module *m = calloc(1, sizeof *m);
    if (!m || !(m->bytes = malloc(size ? size : 1))) {
        free(m);
        wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory");
        return NULL;
    }
    if (size)
        memcpy(m->bytes, bytes, size);
    m->size = size;
    m->features = features;

    wr_decoder d = {.m = m, .err = err, .eof_msg = EOF_TOP};
    d.r.base = d.r.p = m->bytes;
    d.r.end = m->bytes + size;
    if (decode_header(&d) || decode_sections(&d))
        goto fail;
    if (d.pending.kind != WR_ERR_NONE) {
        *err = d.pending;
        goto fail;
    }
    if (d.names)
        decode_names(&d);
    if (wr_module_validate(m, err) != 0)
        goto fail;
    return m;
fail:
    wr_module_free(m);
    return NULL;
}

wr_module *wr_module_load(const uint8_t *bytes, size_t size, wr_error *err)
{
    return wr_module_load_features(bytes, size, WR_FEATURE_ALL, err);
}

wr_module *wr_module_load_features(const uint8_t *bytes, size_t size, uint32_t features, wr_error *err)
{
    wr_module *m = decode(bytes, size, features, err);
    if (m) {
        if (wr_module_translate(m, err) != 0 || wr_module_check_features(m, features, err) != 0) {
            wr_module_free(m);
            return NULL;
        }
    }
    return m;
}

void wr_module_free(wr_module *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->ntypes; i++) {
        free(m->types[i].types);
        free(m->types[i].mut);
        free(m->types[i].offsets);
    }
    free(m->types);
    free(m->type_canon);
    free(m->type_super);
    free(m->type_final);
    free(m->type_kind);
    free(m->type_group);
    free(m->type_group_size);
    for (uint32_t i = 0; m->table_inits && i < m->ntables; i++)
        free(m->table_inits[i].more);
    free(m->table_inits);
    free(m->table_has_init);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free(m->imports[i].module);
        free(m->imports[i].name);
    }
    free(m->imports);
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        free(m->funcs[i].local_runs);
        if (m->funcs[i].code)
            wr_code_free(m->funcs[i].code);
    }
    free(m->funcs);
    free(m->tables);
    free(m->table_offsets);
    free(m->mems);
    free(m->mem_offsets);
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
        free(m->globals[i].init.more);
    free(m->globals);
    free(m->tags);
    free(m->tag_offsets);
    for (uint32_t i = 0; i < m->nexports; i++)
        free(m->exports[i].name);
    free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++) {
        free(m->elems[i].offset.more);
        for (uint32_t k = 0; m->elems[i].items && k < m->elems[i].count; k++)
            free(m->elems[i].items[k].more);
        free(m->elems[i].items);
    }
    free(m->elems);
    for (uint32_t i = 0; i < m->ndatas; i++)
        free(m->datas[i].offset.more);
    free(m->datas);
    free(m->func_declared);
    for (uint32_t i = 0; i < m->ncustoms; i++)
        free(m->customs[i].name);
    free(m->customs);
    free(m->name);
    if (m->func_names)
        for (uint32_t i = 0; i < m->nfuncs; i++)
            free(m->func_names[i]);
    free(m->func_names);
    free(m->bytes);
    free(m);
}
