/* wr_instance.c: instantiation: import checks, allocation, globals, element and data segments. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_gcobj.h"
#include "wr_runtime.h"
#include "wr_trap.h"

/* ---- constant expressions ---- */

/* A value on a constant expression's stack: two words (a v128 uses both, anything else the first). */
typedef uint64_t constval[2];

/* The value of a constant instruction that takes no operand: a constant, global.get, ref.func, ref.null. */
static void eval_operand(const wr_instance *inst, const wr_constinsn *c, constval out)
{
    const wr_module *m = inst->module;
    out[0] = out[1] = 0;
    switch (c->op) {
    case WR_CONST_I32:
    case WR_CONST_F32:
        out[0] = c->bits & 0xFFFFFFFFu;
        break;
    case WR_CONST_I64:
    case WR_CONST_F64:
        out[0] = c->bits;
        break;
    case WR_CONST_V128:
        out[0] = c->bits;
        out[1] = c->hi;
        break;
    case WR_CONST_GLOBAL_GET:
        if (c->index < m->nglobals && inst->globals[c->index]) {
            out[0] = inst->globals[c->index]->val[0];
            out[1] = inst->globals[c->index]->val[1];
        }
        break;
    case WR_CONST_REF_FUNC:
        if (c->index < m->nfuncs)
            out[0] = (uint64_t)(uintptr_t)inst->funcs[c->index];
        break;
    default: /* ref.null */
        break;
    }
}

/* GC's allocations (wr_gcobj.h): the operands are the last values on `stk` (n of them before); the object
 * replaces them. 0, or WR_TRAP_GC_HEAP. */
static int eval_alloc(const wr_instance *inst, const wr_constinsn *c, constval *stk, uint32_t *n)
{
    uint32_t id = inst->type_ids[c->index];
    const wr_functype *ft = inst->store->types[id];
    uint32_t nvals = c->op == WR_CONST_STRUCT_NEW ? ft->nparams
                     : c->op == WR_CONST_ARRAY_NEW_FIXED ? (uint32_t)c->bits
                     : c->op == WR_CONST_ARRAY_NEW ? 1 : 0;
    uint32_t length = c->op == WR_CONST_ARRAY_NEW_FIXED ? (uint32_t)c->bits : 0;
    if (c->op == WR_CONST_ARRAY_NEW || c->op == WR_CONST_ARRAY_NEW_DEFAULT) {
        if (*n < 1)
            return 0;
        length = (uint32_t)stk[--*n][0];
    }
    if (*n < nvals)
        return 0;
    *n -= nvals;
    wr_gcobj *o = wr_gc_alloc(inst->store, id, length);
    if (!o)
        return WR_TRAP_GC_HEAP;
    bool values = c->op == WR_CONST_ARRAY_NEW || c->op == WR_CONST_ARRAY_NEW_FIXED;
    for (uint32_t k = 0; values && k < length; k++)
        wr_gc_put(wr_gc_data(o) + (size_t)k * wr_storage_size(ft->types[0]), ft->types[0],
                  stk[*n + (c->op == WR_CONST_ARRAY_NEW ? 0 : k)]);
    for (uint32_t k = 0; c->op == WR_CONST_STRUCT_NEW && k < ft->nparams; k++)
        wr_gc_put(wr_gc_data(o) + ft->offsets[k], ft->types[k], stk[*n + k]);
    stk[*n][0] = (uint64_t)(uintptr_t)o;
    stk[(*n)++][1] = 0;
    return 0;
}

static bool is_alloc(uint8_t op) { return op >= WR_CONST_STRUCT_NEW && op <= WR_CONST_ARRAY_NEW_FIXED; }

/* Validation has typed the expression (wr_validate_module.c): its operations always find their operands,
 * and it never holds more values than it has instructions (the stack's size here). The bounds checks below
 * keep a validator slip from becoming a crash. */
int wr_constexpr_eval(const wr_instance *inst, const wr_constexpr *ce, uint64_t out[2])
{
    const wr_constinsn first = {
        .op = ce->op, .type = ce->type, .index = ce->index, .bits = ce->bits[0], .hi = ce->bits[1]};
    eval_operand(inst, &first, out); /* the whole of a 2.0 expression */
    if (ce->nmore == 0 && !is_alloc(ce->op))
        return 0;
    uint32_t cap = ce->nmore + 1;
    constval *stk = malloc((size_t)cap * sizeof *stk);
    if (!stk)
        return WR_TRAP_OUT_OF_MEMORY;
    uint32_t n = 0;
    int trap = 0;
    for (uint32_t i = 0; i <= ce->nmore && !trap; i++) {
        const wr_constinsn *c = i == 0 ? &first : &ce->more[i - 1];
        constval r = {0, 0};
        switch (c->op) {
        case WR_CONST_I32_ADD:
        case WR_CONST_I32_SUB:
        case WR_CONST_I32_MUL:
        case WR_CONST_I64_ADD:
        case WR_CONST_I64_SUB:
        case WR_CONST_I64_MUL: {
            if (n < 2)
                goto done;
            uint64_t b = stk[--n][0], a = stk[--n][0];
            switch (c->op) {
            case WR_CONST_I32_ADD:
            case WR_CONST_I64_ADD:
                r[0] = a + b;
                break;
            case WR_CONST_I32_SUB:
            case WR_CONST_I64_SUB:
                r[0] = a - b;
                break;
            default:
                r[0] = a * b;
                break;
            }
            if (c->op == WR_CONST_I32_ADD || c->op == WR_CONST_I32_SUB || c->op == WR_CONST_I32_MUL)
                r[0] &= 0xFFFFFFFFu; /* i32: low 32 bits, upper zero */
            break;
        }
        case WR_CONST_REF_I31: /* as the instruction (insns/reference.def) */
            if (n < 1)
                goto done;
            r[0] = ((stk[--n][0] & 0x7FFFFFFFu) << 1) | WR_REF_I31_TAG;
            break;
        case WR_CONST_ANY_CONVERT_EXTERN: /* the same bits (wr_runtime.h) */
        case WR_CONST_EXTERN_CONVERT_ANY:
            if (n < 1)
                goto done;
            r[0] = stk[--n][0];
            break;
        case WR_CONST_STRUCT_NEW:
        case WR_CONST_STRUCT_NEW_DEFAULT:
        case WR_CONST_ARRAY_NEW:
        case WR_CONST_ARRAY_NEW_DEFAULT:
        case WR_CONST_ARRAY_NEW_FIXED:
            trap = eval_alloc(inst, c, stk, &n);
            continue;
        default:
            eval_operand(inst, c, r);
            break;
        }
        if (n >= cap)
            goto done;
        stk[n][0] = r[0];
        stk[n++][1] = r[1];
    }
done:
    out[0] = n ? stk[n - 1][0] : 0;
    out[1] = n ? stk[n - 1][1] : 0;
    free(stk);
    return trap;
}

/* ---- import checks ---- */

/* Append printf output to buf[*len..cap), truncating quietly. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap;
}

static void describe_functype(char *buf, size_t cap, const wr_functype *ft)
{
    size_t len = 0;
    buf[0] = 0;
    char name[32];
    put(buf, cap, &len, "func [");
    for (uint32_t i = 0; i < ft->nparams; i++)
        put(buf, cap, &len, "%s%s", i ? " " : "", wr_valtype_name(ft->types[i], name, sizeof name));
    put(buf, cap, &len, "] -> [");
    for (uint32_t i = 0; i < ft->nresults; i++)
        put(buf, cap, &len, "%s%s", i ? " " : "", wr_valtype_name(ft->types[ft->nparams + i], name, sizeof name));
    put(buf, cap, &len, "]");
}

static void describe_limits(char *buf, size_t cap, const char *what, uint64_t min, const wr_limits *l)
{
    size_t len = 0;
    buf[0] = 0;
    put(buf, cap, &len, "%s %llu", what, (unsigned long long)min);
    if (l->has_max)
        put(buf, cap, &len, "..%llu", (unsigned long long)l->max);
    if (l->shared)
        put(buf, cap, &len, " shared");
}

static const char *kind_name(uint8_t k)
{
    static const char *const names[] = {"func", "table", "memory", "global", "tag"};
    return k < 5 ? names[k] : "?";
}

/* Limits subtyping (spec "match_limits"): the actual current size covers the
 * declared minimum, and a declared maximum bounds the actual one. */
static bool limits_match(uint64_t cur, const wr_limits *actual, const wr_limits *declared)
{
    if (cur < declared->min)
        return false;
    if (declared->has_max && (!actual->has_max || actual->max > declared->max))
        return false;
    return true;
}

static int link_error(wr_error *err, const wr_import *imp, const char *expected, const char *got)
{
    return wr_error_set(err, WR_ERR_LINK, 0,
                        "incompatible import type: \"%.*s\" \"%.*s\": expected %s, got %s",
                        (int)imp->module_len, imp->module, (int)imp->name_len, imp->name, expected, got);
}

/* Import matching (the spec's "match_externtype"): a function's type must be
 * the declared one (equal store ids: equivalent types; a subtype once GC
 * declares supertypes), a table's element type the declared one, an immutable
 * global's type a subtype of the declared one, a mutable global's the same.
 * `ids`: the module's types' store ids. */
static int check_import(const wr_store *s, const wr_module *m, const uint32_t *ids, const wr_import *imp,
                        const wr_extern *ext, wr_error *err)
{
    char want[96], got[96], n1[32], n2[32];
    if (!ext->ptr)
        return link_error(err, imp, kind_name(imp->kind), "nothing");
    if (ext->kind != imp->kind)
        return link_error(err, imp, kind_name(imp->kind), kind_name(ext->kind));
    switch (imp->kind) {
    case WR_EXTERN_FUNC: {
        const wr_functype *decl = &m->types[imp->desc.func_type];
        const wr_func *f = ext->ptr;
        if (wr_store_type_sub(s, f->type_id, ids[imp->desc.func_type]))
            return 0;
        describe_functype(want, sizeof want, decl);
        describe_functype(got, sizeof got, f->type);
        return link_error(err, imp, want, got);
    }
    case WR_EXTERN_TABLE: {
        const wr_tabletype *decl = &imp->desc.table;
        const wr_table *t = ext->ptr;
        if (t->elemtype == wr_valtype_map(decl->elemtype, ids) && t->limits.is64 == decl->limits.is64 &&
            limits_match(t->size, &t->limits, &decl->limits))
            return 0;
        char a[64], b[64];
        snprintf(a, sizeof a, "table%s %s", decl->limits.is64 ? " i64" : "", wr_valtype_name(decl->elemtype, n1, sizeof n1));
        snprintf(b, sizeof b, "table%s %s", t->limits.is64 ? " i64" : "", wr_valtype_name(t->elemtype, n2, sizeof n2));
        describe_limits(want, sizeof want, a, decl->limits.min, &decl->limits);
        describe_limits(got, sizeof got, b, t->size, &t->limits);
        return link_error(err, imp, want, got);
    }
    case WR_EXTERN_MEMORY: {
        const wr_limits *decl = &imp->desc.memory;
        const wr_memory *mem = ext->ptr;
        if (mem->shared == decl->shared && mem->limits.is64 == decl->is64 && limits_match(mem->pages, &mem->limits, decl))
            return 0;
        wr_limits actual = mem->limits;
        actual.shared = mem->shared;
        describe_limits(want, sizeof want, decl->is64 ? "memory i64" : "memory", decl->min, decl);
        describe_limits(got, sizeof got, actual.is64 ? "memory i64" : "memory", mem->pages, &actual);
        return link_error(err, imp, want, got);
    }
    case WR_EXTERN_GLOBAL: {
        const wr_globaltype *decl = &imp->desc.global;
        const wr_global *g = ext->ptr;
        wr_valtype dt = wr_valtype_map(decl->type, ids);
        wr_typectx scx = wr_store_typectx(s);
        if (g->type.mutable_ == decl->mutable_ &&
            (decl->mutable_ ? g->type.type == dt : wr_valtype_sub(g->type.type, dt, &scx)))
            return 0;
        snprintf(want, sizeof want, "global %s%s", decl->mutable_ ? "mut " : "", wr_valtype_name(decl->type, n1, sizeof n1));
        snprintf(got, sizeof got, "global %s%s", g->type.mutable_ ? "mut " : "", wr_valtype_name(g->type.type, n2, sizeof n2));
        return link_error(err, imp, want, got);
    }
    case WR_EXTERN_TAG: {
        /* Tag types match exactly: the same store type id (equivalent types, rec groups and all). */
        const wr_functype *decl = &m->types[imp->desc.tag_type];
        const wr_tag *tag = ext->ptr;
        if (ids[imp->desc.tag_type] == tag->type_id)
            return 0;
        char a[96], b[96];
        describe_functype(a, sizeof a, decl);
        describe_functype(b, sizeof b, tag->type);
        snprintf(want, sizeof want, "tag %s", a + 5);
        snprintf(got, sizeof got, "tag %s", b + 5);
        return link_error(err, imp, want, got);
    }
    default:
        return link_error(err, imp, "?", kind_name(ext->kind));
    }
}

/* ---- allocation ----
 *
 * An instance is one allocation: the struct, its index-space arrays, its
 * defined functions and globals (store objects that are not on the store's
 * list: they die with the instance, which dies with the store), and the
 * storage of its passive element segments. Freeing it is free(inst), with
 * no need for the module, which may be freed before the store. */

typedef struct layout {
    size_t size;
} layout;

static size_t take(layout *l, uint64_t count, size_t elem, size_t align, bool *overflow)
{
    size_t at = (l->size + align - 1) & ~(align - 1);
    if (at > SIZE_MAX / 2 || count > (SIZE_MAX / 2 - at) / elem) {
        *overflow = true;
        return 0;
    }
    l->size = at + (size_t)count * elem;
    return at;
}

/* A global's or a table's initializer could not allocate (wr_constexpr_eval's trap): past the store's GC
 * heap limit, or out of memory. */
static int constexpr_error(const wr_store *s, int trap, wr_error *err)
{
    if (trap != WR_TRAP_GC_HEAP)
        return wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory");
    return wr_error_set(err, WR_ERR_RESOURCE, 0, "GC heap limit (%llu bytes) exceeded by a constant expression",
                        (unsigned long long)s->config.max_gc_bytes);
}

/* Build an instance whose imports are either `imports` (checked by the caller) or, when `like` is not NULL,
 * the ones `like` was made with (checked then; an extern's type never changes and a memory or table only
 * grows, so they still match): wr_instance_new and wr_instance_new_like. */

static int build(wr_store *s, const wr_module *m, const wr_extern *imports, const uint32_t *ids,
                 const wr_instance *like, wr_instance **out, wr_error *err)
{
    *out = NULL;
    /* Store limits, checked before anything is created. */
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
        if (m->tables[i].limits.min > s->config.max_table_elems)
            return wr_error_set(err, WR_ERR_RESOURCE, 0, "table size %llu over the store's limit of %u",
                                (unsigned long long)m->tables[i].limits.min, s->config.max_table_elems);
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
        if (m->mems[i].min > s->config.max_memory_pages)
            return wr_error_set(
                err, WR_ERR_RESOURCE, 0, "memory size %llu pages over the store's limit of %llu",
                (unsigned long long)m->mems[i].min, (unsigned long long)s->config.max_memory_pages);

    uint64_t npassive = 0;
    for (uint32_t i = 0; i < m->nelems; i++)
        if (m->elems[i].mode == WR_SEG_PASSIVE)
            npassive += m->elems[i].count;

    layout l = {sizeof(wr_instance)};
    bool overflow = false;
    uint32_t ndef_funcs = m->nfuncs - m->nfunc_imports;
    uint32_t ndef_globals = m->nglobals - m->nglobal_imports;
    size_t o_funcdefs = take(&l, ndef_funcs, sizeof(wr_func), _Alignof(wr_func), &overflow);
    size_t o_globaldefs = take(&l, ndef_globals, sizeof(wr_global), _Alignof(wr_global), &overflow);
    size_t o_funcs = take(&l, m->nfuncs, sizeof(wr_func *), _Alignof(wr_func *), &overflow);
    size_t o_tables = take(&l, m->ntables, sizeof(wr_table *), _Alignof(wr_table *), &overflow);
    size_t o_mems = take(&l, m->nmems, sizeof(wr_memory *), _Alignof(wr_memory *), &overflow);
    size_t o_globals = take(&l, m->nglobals, sizeof(wr_global *), _Alignof(wr_global *), &overflow);
    size_t o_tagdefs = take(&l, m->ntags - m->ntag_imports, sizeof(wr_tag), _Alignof(wr_tag), &overflow);
    size_t o_tags = take(&l, m->ntags, sizeof(wr_tag *), _Alignof(wr_tag *), &overflow);
    size_t o_elem_refs = take(&l, m->nelems, sizeof(uint64_t *), _Alignof(uint64_t *), &overflow);
    size_t o_passive = take(&l, npassive, sizeof(uint64_t), _Alignof(uint64_t), &overflow);
    size_t o_type_ids = take(&l, m->ntypes, sizeof(uint32_t), _Alignof(uint32_t), &overflow);
    size_t o_elem_sizes = take(&l, m->nelems, sizeof(uint32_t), _Alignof(uint32_t), &overflow);
    size_t o_data_sizes = take(&l, m->ndatas, sizeof(uint32_t), _Alignof(uint32_t), &overflow);
    char *block = overflow ? NULL : calloc(1, l.size);
    if (!block)
        return wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory");

    wr_instance *inst = (wr_instance *)block;
    inst->hdr.kind = WR_OBJ_INSTANCE;
    inst->store = s;
    inst->module = m;
    inst->type_ids = (uint32_t *)(block + o_type_ids);
    inst->funcs = (wr_func **)(block + o_funcs);
    inst->tables = (wr_table **)(block + o_tables);
    inst->mems = (wr_memory **)(block + o_mems);
    inst->globals = (wr_global **)(block + o_globals);
    inst->tags = (wr_tag **)(block + o_tags);
    inst->elem_refs = (uint64_t **)(block + o_elem_refs);
    inst->elem_sizes = (uint32_t *)(block + o_elem_sizes);
    inst->data_sizes = (uint32_t *)(block + o_data_sizes);
    wr_func *funcdefs = (wr_func *)(block + o_funcdefs);
    wr_global *globaldefs = (wr_global *)(block + o_globaldefs);
    uint64_t *passive = (uint64_t *)(block + o_passive);

    if (like) {
        /* The same store, so the same type ids; imports are the first entries of each index space. */
        memcpy(inst->type_ids, like->type_ids, (size_t)m->ntypes * sizeof *inst->type_ids);
        memcpy(inst->funcs, like->funcs, (size_t)m->nfunc_imports * sizeof *inst->funcs);
        memcpy(inst->tables, like->tables, (size_t)m->ntable_imports * sizeof *inst->tables);
        memcpy(inst->mems, like->mems, (size_t)m->nmem_imports * sizeof *inst->mems);
        memcpy(inst->globals, like->globals, (size_t)m->nglobal_imports * sizeof *inst->globals);
        memcpy(inst->tags, like->tags, (size_t)m->ntag_imports * sizeof *inst->tags);
    } else {
        if (m->ntypes)
            memcpy(inst->type_ids, ids, (size_t)m->ntypes * sizeof *inst->type_ids);
        /* Imports fill the first entries of each index space, in import order. */
        uint32_t nf = 0, nt = 0, nm = 0, ng = 0, ntag = 0;
        for (uint32_t i = 0; i < m->nimports; i++) {
            switch (imports[i].kind) {
            case WR_EXTERN_FUNC:
                inst->funcs[nf++] = imports[i].ptr;
                break;
            case WR_EXTERN_TABLE:
                inst->tables[nt++] = imports[i].ptr;
                break;
            case WR_EXTERN_MEMORY:
                inst->mems[nm++] = imports[i].ptr;
                break;
            case WR_EXTERN_GLOBAL:
                inst->globals[ng++] = imports[i].ptr;
                break;
            case WR_EXTERN_TAG:
                inst->tags[ntag++] = imports[i].ptr;
                break;
            default:
                break;
            }
        }
    }

    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        wr_func *f = &funcdefs[i - m->nfunc_imports];
        uint32_t id = inst->type_ids[m->funcs[i].type];
        f->hdr.kind = WR_EXTERN_FUNC;
        f->type = s->types[id];
        f->type_id = id;
        f->inst = inst;
        f->code = m->funcs[i].code;
        f->index = i;
        inst->funcs[i] = f;
    }

    /* The module's own tags: new ones at each instantiation (a thread's instance under wasi-threads too, as
     * the spec's instantiation makes them). */
    wr_tag *tagdefs = (wr_tag *)(block + o_tagdefs);
    for (uint32_t i = m->ntag_imports; i < m->ntags; i++) {
        wr_tag *tag = &tagdefs[i - m->ntag_imports];
        uint32_t id = inst->type_ids[m->tags[i]];
        tag->hdr.kind = WR_EXTERN_TAG;
        tag->type = s->types[id];
        tag->type_id = id;
        inst->tags[i] = tag;
    }

    /* Tables and memories are store objects of their own: on failure here
     * the ones already made stay on the store's list until it is freed. */
    /* A table's initializer reads imported globals only (validation), set by now. */
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        uint64_t init[2] = {0, 0};
        int trap = wr_module_table_has_init(m, i) ? wr_constexpr_eval(inst, &m->table_inits[i], init) : 0;
        if (trap) {
            free(block);
            return constexpr_error(s, trap, err);
        }
        inst->tables[i] = wr_table_new(s, wr_valtype_map(m->tables[i].elemtype, inst->type_ids),
                                       &m->tables[i].limits, init[0]);
        if (!inst->tables[i]) {
            free(block);
            return wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory: table of %llu elements",
                                (unsigned long long)m->tables[i].limits.min);
        }
    }
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
        inst->mems[i] = wr_memory_new(s, &m->mems[i]);
        if (!inst->mems[i]) {
            free(block);
            return wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory: memory of %llu pages",
                                (unsigned long long)m->mems[i].min);
        }
    }

    /* Globals in order: an initializer sees the globals before it. */
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        wr_global *g = &globaldefs[i - m->nglobal_imports];
        g->hdr.kind = WR_EXTERN_GLOBAL;
        g->type = m->globals[i].type;
        g->type.type = wr_valtype_map(g->type.type, inst->type_ids);
        int trap = wr_constexpr_eval(inst, &m->globals[i].init, g->val);
        if (trap) {
            free(block);
            return constexpr_error(s, trap, err);
        }
        inst->globals[i] = g;
    }

    inst->hdr.next = s->objects;
    s->objects = &inst->hdr;
    *out = inst;

    /* Passive segments keep their evaluated references; active and
     * declarative ones are dropped (size 0) once initialization is done.
     * Evaluating an active segment's items straight into the table is the
     * same as evaluating them first: constant expressions have no effects. */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const wr_elem_segment *seg = &m->elems[i];
        if (seg->mode != WR_SEG_PASSIVE)
            continue;
        inst->elem_refs[i] = passive;
        inst->elem_sizes[i] = seg->count;
        for (uint32_t j = 0; j < seg->count; j++) {
            uint64_t v[2];
            int trap = wr_constexpr_eval(inst, &seg->items[j], v);
            if (trap)
                return -trap;
            passive[j] = v[0];
        }
        passive += seg->count;
    }
    for (uint32_t i = 0; i < m->ndatas; i++)
        inst->data_sizes[i] = m->datas[i].size;

    /* Wasm 2.0: segments apply in order, each bounds-checked as a whole
     * (table.init / memory.init); the first out-of-bounds one traps and the
     * writes before it persist. */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const wr_elem_segment *seg = &m->elems[i];
        if (seg->mode != WR_SEG_ACTIVE)
            continue;
        uint64_t v[2];
        wr_constexpr_eval(inst, &seg->offset, v);
        wr_table *t = seg->table < m->ntables ? inst->tables[seg->table] : NULL;
        uint64_t off = t && t->limits.is64 ? v[0] : (uint32_t)v[0]; /* a table64's offset is an i64 */
        if (!t || off > t->size || seg->count > t->size - off)
            return -WR_TRAP_TABLE_OOB;
        for (uint32_t j = 0; j < seg->count; j++) {
            int trap = wr_constexpr_eval(inst, &seg->items[j], v);
            if (trap)
                return -trap;
            t->elems[off + j] = v[0];
        }
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const wr_data_segment *seg = &m->datas[i];
        if (seg->mode != WR_SEG_ACTIVE)
            continue;
        uint64_t v[2];
        wr_constexpr_eval(inst, &seg->offset, v);
        wr_memory *mem = seg->memory < m->nmems ? inst->mems[seg->memory] : NULL;
        uint64_t off = mem && mem->limits.is64 ? v[0] : (uint32_t)v[0]; /* a 64-bit memory's offset is an i64 */
        if (!mem || off > mem->size || seg->size > mem->size - off)
            return -WR_TRAP_MEMORY_OOB;
        if (seg->size)
            memcpy(mem->base + off, seg->bytes, seg->size);
        inst->data_sizes[i] = 0;
    }
    return 0;
}

int wr_instance_new(wr_store *s, const wr_module *m, const wr_extern *imports, uint32_t nimports,
                    wr_instance **out, wr_error *err)
{
    *out = NULL;
    if (nimports != m->nimports)
        return wr_error_set(err, WR_ERR_LINK, 0, "incompatible import type: expected %u imports, got %u",
                            m->nimports, nimports);
    /* The module's types in the store, first: imports are checked against them. */
    uint32_t small[32];
    uint32_t *ids = m->ntypes <= 32 ? small : malloc((size_t)m->ntypes * sizeof *ids);
    if (!ids)
        return wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory");
    int rc = 0;
    if (wr_store_intern_module_types(s, m, ids))
        rc = wr_error_set(err, WR_ERR_RESOURCE, 0, "out of memory");
    for (uint32_t i = 0; i < nimports && rc == 0; i++)
        if (check_import(s, m, ids, &m->imports[i], &imports[i], err))
            rc = WR_ERR_LINK;
    if (rc == 0)
        rc = build(s, m, imports, ids, NULL, out, err);
    if (ids != small)
        free(ids);
    return rc;
}

int wr_instance_new_like(const wr_instance *like, wr_instance **out, wr_error *err)
{
    return build(like->store, like->module, NULL, NULL, like, out, err);
}

wr_func *wr_instance_start(const wr_instance *inst)
{
    const wr_module *m = inst->module;
    return m->has_start && m->start < m->nfuncs ? inst->funcs[m->start] : NULL;
}

wr_extern wr_instance_export(const wr_instance *inst, uint32_t export_index)
{
    const wr_export *e = &inst->module->exports[export_index];
    wr_extern x = {e->kind, NULL};
    switch (e->kind) {
    case WR_EXTERN_FUNC:
        x.ptr = inst->funcs[e->index];
        break;
    case WR_EXTERN_TABLE:
        x.ptr = inst->tables[e->index];
        break;
    case WR_EXTERN_MEMORY:
        x.ptr = inst->mems[e->index];
        break;
    case WR_EXTERN_GLOBAL:
        x.ptr = inst->globals[e->index];
        break;
    case WR_EXTERN_TAG:
        x.ptr = inst->tags[e->index];
        break;
    default:
        break;
    }
    return x;
}
