/* wr_validate_module.c: module-level validation rules (indices, limits, constant expressions, exports, start).
 *
 * Runs on a well-formed decoded module, before function bodies are
 * validated (wr_translate.c). Every error is WR_ERR_INVALID, worded as the
 * spec test suite words it, with the index appended where the reference
 * interpreter appends one ("unknown global 1"; the suite matches prefixes).
 *
 * Constant expressions (global initializers, segment offsets and items) read
 * only immutable globals: in a global's initializer those before it, in a
 * segment any (WebAssembly 3.0). Wasm 2.0 allowed only imported ones and no
 * arithmetic: wr_module_check_features holds a module to that when the
 * features WR_FEATURE_GC and WR_FEATURE_EXTENDED_CONST are off.
 */
#include <stdlib.h>
#include <string.h>

#include "wr_module.h"

static int invalid_kind(wr_error *err, uint32_t offset, const char *what, uint32_t index)
{
    return wr_error_set(err, WR_ERR_INVALID, offset, "unknown %s %u", what, index);
}

static int invalid(wr_error *err, uint32_t offset, const char *msg)
{
    return wr_error_set(err, WR_ERR_INVALID, offset, "%s", msg);
}

/* ---- types and limits ---- */

/* A field of a subtype matches its supertype's: the same mutability; an immutable one's storage type a
 * subtype, a mutable one's the same (each a subtype of the other). */
static bool field_sub(wr_valtype a, bool amut, wr_valtype b, bool bmut, const wr_typectx *cx)
{
    if (amut != bmut)
        return false;
    if (wr_storage_packed(a) || wr_storage_packed(b))
        return a == b;
    return wr_valtype_sub(a, b, cx) && (!amut || wr_valtype_sub(b, a, cx));
}

/* Type a matches type b as a declared subtype: the same kind; a function's params contravariant and
 * results covariant; a struct's fields a prefix of its own (width) and each field matching (depth); an
 * array's element matching. */
static bool comptype_sub(const wr_functype *a, const wr_functype *b, const wr_typectx *cx)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == WR_COMP_FUNC) {
        bool ok = a->nparams == b->nparams && a->nresults == b->nresults;
        for (uint32_t k = 0; ok && k < a->nparams; k++)
            ok = wr_valtype_sub(b->types[k], a->types[k], cx);
        for (uint32_t k = 0; ok && k < a->nresults; k++)
            ok = wr_valtype_sub(a->types[a->nparams + k], b->types[b->nparams + k], cx);
        return ok;
    }
    if (a->nparams < b->nparams)
        return false;
    for (uint32_t k = 0; k < b->nparams; k++)
        if (!field_sub(a->types[k], a->mut[k], b->types[k], b->mut[k], cx))
            return false;
    return true;
}

/* A declared supertype (`sub`): not final, and the type matches it. */
static int check_types(const wr_module *m, wr_error *err)
{
    wr_typectx cx = wr_module_typectx(m);
    for (uint32_t i = 0; m->type_super && i < m->ntypes; i++) {
        uint32_t sup = m->type_super[i];
        if (sup == WR_NO_SUPER)
            continue;
        if (sup >= m->ntypes)
            return invalid_kind(err, 0, "type", sup);
        if (m->type_final[sup] || !comptype_sub(&m->types[i], &m->types[sup], &cx))
            return wr_error_set(err, WR_ERR_INVALID, 0, "sub type %u does not match super type %u", i, sup);
    }
    return 0;
}

static int check_type_index(const wr_module *m, uint32_t type, uint32_t offset, wr_error *err)
{
    return type < m->ntypes ? 0 : invalid_kind(err, offset, "type", type);
}

/* A function's or a tag's type index: a function type. */
static int check_func_type_index(const wr_module *m, uint32_t type, uint32_t offset, wr_error *err)
{
    if (check_type_index(m, type, offset, err))
        return err->kind;
    return wr_module_functype(m, type) ? 0 : invalid(err, offset, "type mismatch: not a function type");
}

static int check_table_limits(const wr_limits *lim, uint32_t offset, wr_error *err)
{
    /* A table64 may declare any u64 limits; a 32-bit table's are u32 (by decoding in 2.0). */
    if (!lim->is64 && (lim->min > UINT32_MAX || (lim->has_max && lim->max > UINT32_MAX)))
        return invalid(err, offset, "table size must be at most 2^32-1");
    if (lim->has_max && lim->min > lim->max)
        return invalid(err, offset, "size minimum must not be greater than maximum");
    return 0;
}

static int check_memory_limits(const wr_limits *lim, uint32_t offset, wr_error *err)
{
    if (lim->is64) {
        if (lim->min > WR_MAX_PAGES_DECL64 || (lim->has_max && lim->max > WR_MAX_PAGES_DECL64))
            return invalid(err, offset, "memory size must be at most 2^48 pages (2^64 bytes)");
    } else if (lim->min > WR_MAX_PAGES || (lim->has_max && lim->max > WR_MAX_PAGES)) {
        return invalid(err, offset, "memory size must be at most 65536 pages (4GiB)");
    }
    if (lim->has_max && lim->min > lim->max)
        return invalid(err, offset, "size minimum must not be greater than maximum");
    if (lim->shared && !lim->has_max)
        return invalid(err, offset, "shared memory must have maximum");
    return 0;
}

/* A tag's type: a function type with no results (its params are the payload). */
static int check_tag_type(const wr_module *m, uint32_t type, uint32_t offset, wr_error *err)
{
    if (check_func_type_index(m, type, offset, err))
        return err->kind;
    if (m->types[type].nresults != 0)
        return invalid(err, offset, "non-empty tag result type");
    return 0;
}

static int check_imports(const wr_module *m, wr_error *err)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const wr_import *im = &m->imports[i];
        int rc = 0;
        switch (im->kind) {
        case WR_EXTERN_FUNC:
            rc = check_func_type_index(m, im->desc.func_type, im->offset, err);
            break;
        case WR_EXTERN_TABLE:
            rc = check_table_limits(&im->desc.table.limits, im->offset, err);
            break;
        case WR_EXTERN_MEMORY:
            rc = check_memory_limits(&im->desc.memory, im->offset, err);
            break;
        case WR_EXTERN_TAG:
            rc = check_tag_type(m, im->desc.tag_type, im->offset, err);
            break;
        default:
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int check_funcs(const wr_module *m, wr_error *err)
{
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++)
        if (check_func_type_index(m, m->funcs[i].type, m->funcs[i].type_offset, err))
            return err->kind;
    for (uint32_t i = m->ntag_imports; i < m->ntags; i++)
        if (check_tag_type(m, m->tags[i], m->tag_offsets[i], err))
            return err->kind;
    return 0;
}

static int check_constexpr(const wr_module *m, wr_constexpr *ce, wr_valtype want, uint32_t nglobals, wr_error *err);

/* A table's elements start as its initializer's value, or null: a table of
 * non-nullable references needs an initializer. It reads imported globals only. */
static int check_tables_mems(const wr_module *m, wr_error *err)
{
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        if (check_table_limits(&m->tables[i].limits, m->table_offsets[i], err))
            return err->kind;
        wr_valtype et = m->tables[i].elemtype;
        if (wr_module_table_has_init(m, i)) {
            if (check_constexpr(m, &m->table_inits[i], et, m->nglobal_imports, err))
                return err->kind;
        } else if (!wr_valtype_nullable(et)) {
            return invalid(err, m->table_offsets[i], "type mismatch");
        }
    }
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
        if (check_memory_limits(&m->mems[i], m->mem_offsets[i], err))
            return err->kind;
    return 0;
}

/* ---- constant expressions ---- */

/* One instruction of a constant expression on the typing stack. */
/* Pop `count` operands of types `types` (`repeat`: all of types[0]; storage types as their value types). */
static int pop_constargs(const wr_module *m, const wr_valtype *types, uint32_t count, bool repeat, wr_valtype *stk,
                         uint32_t *n, uint32_t offset, wr_error *err)
{
    wr_typectx cx = wr_module_typectx(m);
    if (*n < count)
        return invalid(err, offset, "type mismatch");
    for (uint32_t k = count; k-- > 0;)
        if (!wr_valtype_sub(stk[--*n], wr_storage_unpacked(types[repeat ? 0 : k]), &cx))
            return invalid(err, offset, "type mismatch");
    return 0;
}

/* GC's allocations in a constant expression: struct.new x, struct.new_default x, array.new x,
 * array.new_default x, array.new_fixed x n, typed as the instructions are (wr_translate.c). */
static int check_constalloc(const wr_module *m, uint8_t op, uint32_t index, uint64_t count, wr_valtype *stk,
                            uint32_t *n, uint32_t offset, wr_error *err)
{
    bool array = op >= WR_CONST_ARRAY_NEW;
    if (index >= m->ntypes)
        return invalid_kind(err, offset, "type", index);
    const wr_functype *ft = &m->types[index];
    if (ft->kind != (array ? WR_COMP_ARRAY : WR_COMP_STRUCT))
        return invalid(err, offset, "type mismatch");
    wr_valtype i32 = WR_I32;
    switch (op) {
    case WR_CONST_STRUCT_NEW:
        return pop_constargs(m, ft->types, ft->nparams, false, stk, n, offset, err);
    case WR_CONST_ARRAY_NEW:
        if (pop_constargs(m, &i32, 1, false, stk, n, offset, err))
            return err->kind;
        return pop_constargs(m, ft->types, 1, false, stk, n, offset, err);
    case WR_CONST_ARRAY_NEW_FIXED:
        if (count > WR_CONSTEXPR_MAX_DEPTH)
            return invalid(err, offset, "constant expression too deep");
        return pop_constargs(m, ft->types, (uint32_t)count, true, stk, n, offset, err);
    default: /* the defaults: every field defaultable */
        for (uint32_t k = 0; k < ft->nparams; k++)
            if (!wr_storage_packed(ft->types[k]) && !wr_valtype_defaultable(ft->types[k]))
                return invalid(err, offset, "type mismatch");
        return op == WR_CONST_ARRAY_NEW_DEFAULT ? pop_constargs(m, &i32, 1, false, stk, n, offset, err) : 0;
    }
}

static int check_constinsn(const wr_module *m, uint8_t op, uint32_t index, uint64_t bits, wr_valtype *type,
                           uint32_t nglobals, wr_valtype *stk, uint32_t *n, uint32_t offset, wr_error *err)
{
    switch (op) {
    case WR_CONST_STRUCT_NEW:
    case WR_CONST_STRUCT_NEW_DEFAULT:
    case WR_CONST_ARRAY_NEW:
    case WR_CONST_ARRAY_NEW_DEFAULT:
    case WR_CONST_ARRAY_NEW_FIXED:
        if (check_constalloc(m, op, index, bits, stk, n, offset, err))
            return err->kind;
        break;
    case WR_CONST_GLOBAL_GET:
        if (index >= nglobals)
            return invalid_kind(err, offset, "global", index);
        if (m->globals[index].type.mutable_)
            return invalid(err, offset, "constant expression required");
        *type = m->globals[index].type.type;
        break;
    case WR_CONST_REF_FUNC:
        if (index >= m->nfuncs)
            return invalid_kind(err, offset, "function", index);
        *type = wr_ref_concrete(m->funcs[index].type, false);
        break;
    case WR_CONST_I32_ADD:
    case WR_CONST_I32_SUB:
    case WR_CONST_I32_MUL:
    case WR_CONST_I64_ADD:
    case WR_CONST_I64_SUB:
    case WR_CONST_I64_MUL:
        if (*n < 2 || stk[*n - 1] != *type || stk[*n - 2] != *type)
            return invalid(err, offset, "type mismatch");
        *n -= 2;
        break;
    case WR_CONST_REF_I31: /* [i32] -> [(ref i31)] */
        if (*n < 1 || stk[*n - 1] != WR_I32)
            return invalid(err, offset, "type mismatch");
        *n -= 1;
        break;
    case WR_CONST_ANY_CONVERT_EXTERN: /* [(ref null? extern)] -> [(ref null? any)] */
    case WR_CONST_EXTERN_CONVERT_ANY: {
        wr_valtype from = op == WR_CONST_ANY_CONVERT_EXTERN ? WR_EXTERNREF : WR_ANYREF;
        wr_valtype to = op == WR_CONST_ANY_CONVERT_EXTERN ? WR_ANYREF : WR_EXTERNREF;
        wr_typectx cx = wr_module_typectx(m); /* a struct or an array type is an anyref */
        if (*n < 1 || !wr_valtype_sub(stk[*n - 1], from, &cx))
            return invalid(err, offset, "type mismatch");
        *type = to | (stk[*n - 1] & WR_REF_NONNULL);
        *n -= 1;
        break;
    }
    default:
        break;
    }
    if (*n >= WR_CONSTEXPR_MAX_DEPTH)
        return invalid(err, offset, "constant expression too deep");
    stk[(*n)++] = *type;
    return 0;
}

/* Type a constant expression (it must leave exactly one value, of the type
 * its context needs) and fill in its type. `nglobals`: the globals it may
 * read (a global's initializer: those before it). */
static int check_constexpr(const wr_module *m, wr_constexpr *ce, wr_valtype want, uint32_t nglobals, wr_error *err)
{
    wr_valtype stk[WR_CONSTEXPR_MAX_DEPTH];
    wr_typectx cx = wr_module_typectx(m);
    uint32_t n = 0;
    if (ce->op == 0) /* empty: the decoder reported it already */
        return invalid(err, ce->offset, "type mismatch");
    if (check_constinsn(m, ce->op, ce->index, ce->bits[0], &ce->type, nglobals, stk, &n, ce->offset, err))
        return err->kind;
    for (uint32_t i = 0; i < ce->nmore; i++) {
        wr_constinsn *c = &ce->more[i];
        if (check_constinsn(m, c->op, c->index, c->bits, &c->type, nglobals, stk, &n, ce->offset, err))
            return err->kind;
    }
    if (n != 1 || !wr_valtype_sub(stk[0], want, &cx))
        return invalid(err, ce->offset, "type mismatch");
    return 0;
}

static int check_globals(const wr_module *m, wr_error *err)
{
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        wr_global_def *g = &m->globals[i];
        if (check_constexpr(m, &g->init, g->type.type, i, err))
            return err->kind;
    }
    return 0;
}

static int check_elems(const wr_module *m, wr_error *err)
{
    for (uint32_t i = 0; i < m->nelems; i++) {
        wr_elem_segment *seg = &m->elems[i];
        for (uint32_t k = 0; k < seg->count; k++)
            if (check_constexpr(m, &seg->items[k], seg->elemtype, m->nglobals, err))
                return err->kind;
        if (seg->mode != WR_SEG_ACTIVE)
            continue;
        if (seg->table >= m->ntables)
            return invalid_kind(err, seg->offset_in_module, "table", seg->table);
        /* The offset is of the table's address type. */
        if (check_constexpr(m, &seg->offset, m->tables[seg->table].limits.is64 ? WR_I64 : WR_I32, m->nglobals, err))
            return err->kind;
        wr_typectx cx = wr_module_typectx(m);
        if (!wr_valtype_sub(seg->elemtype, m->tables[seg->table].elemtype, &cx))
            return invalid(err, seg->offset_in_module, "type mismatch");
    }
    return 0;
}

static int check_datas(const wr_module *m, wr_error *err)
{
    for (uint32_t i = 0; i < m->ndatas; i++) {
        wr_data_segment *seg = &m->datas[i];
        if (seg->mode != WR_SEG_ACTIVE)
            continue;
        if (seg->memory >= m->nmems)
            return invalid_kind(err, seg->offset_in_module, "memory", seg->memory);
        if (check_constexpr(m, &seg->offset, m->mems[seg->memory].is64 ? WR_I64 : WR_I32, m->nglobals, err))
            return err->kind;
    }
    return 0;
}

/* ---- start and exports ---- */

static int check_start(const wr_module *m, wr_error *err)
{
    if (!m->has_start)
        return 0;
    if (m->start >= m->nfuncs)
        return invalid_kind(err, m->start_offset, "function", m->start);
    const wr_functype *ft = wr_module_func_type(m, m->start);
    if (ft->nparams != 0 || ft->nresults != 0)
        return invalid(err, m->start_offset, "start function");
    return 0;
}

static int compare_export_names(const void *a, const void *b)
{
    const wr_export *x = *(const wr_export *const *)a, *y = *(const wr_export *const *)b;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    int c = memcmp(x->name, y->name, x->name_len);
    if (c != 0)
        return c;
    /* Equal names: keep module order so the later one is reported. */
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_export_names(const wr_module *m, wr_error *err)
{
    if (m->nexports < 2)
        return 0;
    const wr_export **sorted = malloc(m->nexports * sizeof *sorted);
    if (!sorted)
        return wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory");
    for (uint32_t i = 0; i < m->nexports; i++)
        sorted[i] = &m->exports[i];
    qsort(sorted, m->nexports, sizeof *sorted, compare_export_names);
    int rc = 0;
    for (uint32_t i = 1; i < m->nexports && rc == 0; i++) {
        const wr_export *a = sorted[i - 1], *b = sorted[i];
        if (a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0)
            rc = invalid(err, b->offset, "duplicate export name");
    }
    free(sorted);
    return rc;
}

static int check_exports(const wr_module *m, wr_error *err)
{
    static const char *const kinds[] = {"function", "table", "memory", "global", "tag"};
    for (uint32_t i = 0; i < m->nexports; i++) {
        const wr_export *e = &m->exports[i];
        uint32_t n = e->kind == WR_EXTERN_FUNC    ? m->nfuncs
                     : e->kind == WR_EXTERN_TABLE  ? m->ntables
                     : e->kind == WR_EXTERN_MEMORY ? m->nmems
                     : e->kind == WR_EXTERN_TAG    ? m->ntags
                                                   : m->nglobals;
        if (e->index >= n)
            return invalid_kind(err, e->offset, kinds[e->kind <= WR_EXTERN_TAG ? e->kind : 0], e->index);
    }
    return check_export_names(m, err);
}

/* ---- declared function references ---- */

static void declare(wr_module *m, const wr_constexpr *ce)
{
    if (ce->op == WR_CONST_REF_FUNC && ce->index < m->nfuncs)
        m->func_declared[ce->index] = true;
    for (uint32_t i = 0; i < ce->nmore; i++)
        if (ce->more[i].op == WR_CONST_REF_FUNC && ce->more[i].index < m->nfuncs)
            m->func_declared[ce->more[i].index] = true;
}

/* The spec's C.refs: functions referenced outside function bodies (element
 * segments, exports, global initializers), the only ones ref.func may name
 * inside a body. */
static int compute_func_declared(wr_module *m, wr_error *err)
{
    free(m->func_declared); /* validating twice must not leak the first result */
    if (!(m->func_declared = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *m->func_declared)))
        return wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory");
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
        declare(m, &m->globals[i].init);
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
        if (wr_module_table_has_init(m, i))
            declare(m, &m->table_inits[i]);
    for (uint32_t i = 0; i < m->nelems; i++) {
        declare(m, &m->elems[i].offset);
        for (uint32_t k = 0; k < m->elems[i].count; k++)
            declare(m, &m->elems[i].items[k]);
    }
    for (uint32_t i = 0; i < m->ndatas; i++)
        declare(m, &m->datas[i].offset);
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WR_EXTERN_FUNC)
            m->func_declared[m->exports[i].index] = true;
    return 0;
}

/* The order follows the reference interpreter's, so a module with several
 * faults reports the same first one. */
int wr_module_validate(wr_module *m, wr_error *err)
{
    wr_error scratch = {0};
    if (!err)
        err = &scratch;
    if (check_types(m, err) || check_imports(m, err) || check_funcs(m, err) || check_globals(m, err) ||
        check_tables_mems(m, err) || check_elems(m, err) || check_datas(m, err) || check_start(m, err) ||
        check_exports(m, err))
        return err->kind ? err->kind : WR_ERR_INVALID;
    return compute_func_declared(m, err);
}

static bool is_const_arith(uint8_t op)
{
    return (op >= WR_CONST_I32_ADD && op <= WR_CONST_I32_MUL) || (op >= WR_CONST_I64_ADD && op <= WR_CONST_I64_MUL);
}

/* A constant expression under the features: 2.0's rules without extended
 * constant expressions (no i32/i64 add, sub, mul) and without GC (global.get
 * of imported globals only). Without both, one instruction: GC's allocations
 * and conversions take operands (`i32.const 3 array.new_default $a`). */
static int check_constexpr_features(const wr_module *m, const wr_constexpr *ce, uint32_t features, wr_error *err)
{
    if (!(features & WR_FEATURE_EXTENDED_CONST) && ce->nmore) {
        if (!(features & WR_FEATURE_GC))
            return invalid(err, ce->offset, "constant expression required");
        for (uint32_t i = 0; i < ce->nmore; i++)
            if (is_const_arith(ce->more[i].op))
                return invalid(err, ce->offset, "constant expression required");
    }
    if (!(features & WR_FEATURE_GC) && ce->op == WR_CONST_GLOBAL_GET && ce->index >= m->nglobal_imports)
        return invalid_kind(err, ce->offset, "global", ce->index);
    for (uint32_t i = 0; i < ce->nmore; i++)
        if (!(features & WR_FEATURE_GC) && ce->more[i].op == WR_CONST_GLOBAL_GET &&
            ce->more[i].index >= m->nglobal_imports)
            return invalid_kind(err, ce->offset, "global", ce->more[i].index);
    return 0;
}

int wr_module_check_features(const wr_module *m, uint32_t features, wr_error *err)
{
    if (!(features & WR_FEATURE_REFERENCE_TYPES) && m->ntables > 1)
        return invalid(err, 0, "multiple tables");
    /* Without multiple memories a module has one memory, imported or not (2.0 and the threads proposal). */
    if (!(features & WR_FEATURE_MULTI_MEMORY) && m->nmems > 1)
        return invalid(err, m->mem_offsets[1], "multiple memories");
    if (!(features & WR_FEATURE_TAIL_CALL) && m->tail_call_offset)
        return wr_error_set(err, WR_ERR_MALFORMED, m->tail_call_offset, "illegal opcode %02x", m->tail_call_op);
    if (!(features & WR_FEATURE_GC) && m->gc_types_offset)
        return wr_error_set(err, WR_ERR_UNSUPPORTED, m->gc_types_offset,
                            "recursive types are not in the module's feature set");
    if (!(features & WR_FEATURE_GC) && m->gc_offset)
        return wr_error_set(err, WR_ERR_UNSUPPORTED, m->gc_offset, "GC is not in the module's feature set");
    if (!(features & WR_FEATURE_FUNCTION_REFERENCES) && m->typed_refs_offset)
        return wr_error_set(err, WR_ERR_UNSUPPORTED, m->typed_refs_offset,
                            "typed function references are not in the module's feature set");
    if (!(features & WR_FEATURE_RELAXED_SIMD) && m->relaxed_simd_offset)
        return wr_error_set(err, WR_ERR_MALFORMED, m->relaxed_simd_offset, "illegal opcode");
    if (!(features & WR_FEATURE_EXCEPTIONS) && m->exn_offset)
        return wr_error_set(err, WR_ERR_MALFORMED, m->exn_offset, "%s", m->exn_malformed);
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
        if (check_constexpr_features(m, &m->globals[i].init, features, err))
            return err->kind;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const wr_elem_segment *seg = &m->elems[i];
        if (seg->mode == WR_SEG_ACTIVE && check_constexpr_features(m, &seg->offset, features, err))
            return err->kind;
        for (uint32_t k = 0; k < seg->count; k++)
            if (check_constexpr_features(m, &seg->items[k], features, err))
                return err->kind;
    }
    for (uint32_t i = 0; i < m->ndatas; i++)
        if (m->datas[i].mode == WR_SEG_ACTIVE && check_constexpr_features(m, &m->datas[i].offset, features, err))
            return err->kind;
    return 0;
}
