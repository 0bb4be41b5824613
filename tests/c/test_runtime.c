/* test_runtime.c: unit tests of the runtime objects: memories, tables, type interning, globals, instances. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "wr_api.h"

static wr_limits lim(uint64_t min, bool has_max, uint64_t max)
{
    wr_limits l = {min, max, has_max, false, false};
    return l;
}

static void test_store_defaults(void)
{
    wr_store *s = wr_store_new();
    CHECK(s != NULL);
    CHECK(s->config.max_memory_pages == 65536);
    CHECK(s->config.max_table_elems == 10000000);
    CHECK(s->config.max_call_depth == 20000);
    CHECK(s->config.stack_slots == (1u << 20));
    wr_api_store_set_limits(s, 10, 0, 5, 0);
    CHECK(s->config.max_memory_pages == 10);
    CHECK(s->config.max_table_elems == 10000000);
    CHECK(s->config.max_call_depth == 5);
    wr_store_free(s);
}

static void test_memory(void)
{
    wr_store *s = wr_store_new();

    /* A 0-page memory still has a valid base. */
    wr_limits l = lim(0, false, 0);
    wr_memory *m = wr_memory_new(s, &l);
    CHECK(m != NULL && m->base != NULL && m->size == 0 && m->pages == 0);
    CHECK(m->max_pages == WR_MAX_PAGES);
    uint8_t *base = m->base;
    CHECK(wr_memory_grow(m, 0) == 0);
    CHECK(wr_memory_grow(m, 1) == 0);
    CHECK(m->base == base && m->size == WR_PAGE_SIZE && m->limits.min == 1);
    for (uint32_t i = 0; i < WR_PAGE_SIZE; i++)
        CHECK(m->base[i] == 0 || (printf("nonzero at %u\n", i), 0));
    memset(m->base, 0xAB, WR_PAGE_SIZE);
    CHECK(wr_memory_grow(m, 2) == 1);
    CHECK(m->base == base && m->pages == 3 && m->size == 3u * WR_PAGE_SIZE);
    CHECK(m->base[WR_PAGE_SIZE - 1] == 0xAB);
    CHECK(m->base[WR_PAGE_SIZE] == 0 && m->base[3u * WR_PAGE_SIZE - 1] == 0);
    /* Up to the full 4 GiB without touching it, then no further. */
    CHECK(wr_memory_grow(m, WR_MAX_PAGES - 3) == 3);
    CHECK(m->base == base && m->pages == WR_MAX_PAGES);
    m->base[m->size - 1] = 7;
    CHECK(m->base[m->size - 1] == 7);
    CHECK(wr_memory_grow(m, 1) == -1);
    CHECK(wr_memory_grow(m, UINT64_MAX) == -1);
    CHECK(wr_memory_grow(m, 0) == (int64_t)WR_MAX_PAGES);

    /* Declared maximum. */
    l = lim(1, true, 2);
    m = wr_memory_new(s, &l);
    CHECK(m != NULL && m->pages == 1 && m->max_pages == 2);
    CHECK(wr_memory_grow(m, 2) == -1);
    CHECK(m->pages == 1);
    CHECK(wr_memory_grow(m, 1) == 1);
    CHECK(wr_memory_grow(m, 1) == -1);

    /* max 0: never grows, base still valid. */
    l = lim(0, true, 0);
    m = wr_memory_new(s, &l);
    CHECK(m != NULL && m->base != NULL);
    CHECK(wr_memory_grow(m, 1) == -1);
    CHECK(wr_memory_grow(m, 0) == 0);

    /* Invalid limits. */
    l = lim(3, true, 2);
    CHECK(wr_memory_new(s, &l) == NULL);
    l = lim(WR_MAX_PAGES + 1, false, 0);
    CHECK(wr_memory_new(s, &l) == NULL);

    /* Store limit. */
    s->config.max_memory_pages = 4;
    l = lim(5, false, 0);
    CHECK(wr_memory_new(s, &l) == NULL);
    l = lim(2, true, 100);
    m = wr_memory_new(s, &l);
    CHECK(m != NULL && m->max_pages == 4);
    CHECK(wr_memory_grow(m, 3) == -1);
    CHECK(wr_memory_grow(m, 2) == 2);
    CHECK(m->limits.max == 100 && m->limits.has_max);

    /* Shared flag kept. */
    s->config.max_memory_pages = WR_MAX_PAGES;
    l = lim(1, true, 4);
    l.shared = true;
    m = wr_memory_new(s, &l);
    CHECK(m != NULL && m->shared);
    CHECK(wr_api_memory_new(s, 1, 0, 0, 1, 0) == NULL); /* shared needs a max */

    /* Many 4 GiB reservations at once. */
    for (int i = 0; i < 200; i++) {
        l = lim(1, false, 0);
        m = wr_memory_new(s, &l);
        CHECK(m != NULL);
        if (m)
            m->base[0] = 1;
    }
    wr_store_free(s);
}

static void test_table(void)
{
    wr_store *s = wr_store_new();
    wr_limits l = lim(0, false, 0);
    wr_table *t = wr_table_new(s, WR_FUNCREF, &l, 0);
    CHECK(t != NULL && t->size == 0 && t->elems != NULL && t->max == s->config.max_table_elems);
    CHECK(wr_table_grow(t, 0, 0) == 0);
    CHECK(wr_table_grow(t, 3, 9) == 0);
    CHECK(t->size == 3 && t->elems[0] == 9 && t->elems[2] == 9);
    CHECK(wr_table_grow(t, UINT32_MAX, 0) == -1);
    CHECK(t->size == 3);

    l = lim(2, true, 4);
    t = wr_table_new(s, WR_EXTERNREF, &l, 5);
    CHECK(t != NULL && t->size == 2 && t->max == 4 && t->elems[1] == 5);
    CHECK(wr_table_grow(t, 3, 0) == -1);
    CHECK(wr_table_grow(t, 2, 6) == 2);
    CHECK(t->size == 4 && t->elems[3] == 6 && t->elems[0] == 5);
    CHECK(wr_table_grow(t, 1, 0) == -1);

    l = lim(3, true, 2);
    CHECK(wr_table_new(s, WR_FUNCREF, &l, 0) == NULL);
    CHECK(wr_table_new(s, WR_I32, &l, 0) == NULL);

    s->config.max_table_elems = 10;
    l = lim(11, false, 0);
    CHECK(wr_table_new(s, WR_FUNCREF, &l, 0) == NULL);
    l = lim(8, true, 0xFFFFFFFFu);
    t = wr_table_new(s, WR_FUNCREF, &l, 0);
    CHECK(t != NULL && t->max == 10);
    CHECK(wr_table_grow(t, 3, 0) == -1);
    CHECK(wr_table_grow(t, 2, 0) == 8);

    /* API bounds. */
    uint64_t v = 1;
    CHECK(wr_api_table_get(t, 10, &v) == -1 && v == 1);
    CHECK(wr_api_table_set(t, 9, 77) == 0 && wr_api_table_get(t, 9, &v) == 0 && v == 77);
    CHECK(wr_api_table_new(s, WR_FUNCREF, (uint64_t)UINT32_MAX + 1, 0, 0, 0, 0) == NULL);
    wr_store_free(s);
}

static void test_interning(void)
{
    wr_store *s = wr_store_new();
    wr_valtype a[] = {WR_I32, WR_I64, WR_F64};
    wr_valtype b[] = {WR_I32, WR_I64, WR_F64};
    wr_functype fa = {.nparams = 2, .nresults = 1, .types = a, .param_slots = 0, .result_slots = 0};
    wr_functype fb = {.nparams = 2, .nresults = 1, .types = b, .param_slots = 0, .result_slots = 0};
    wr_functype fc = {.nparams = 1, .nresults = 2, .types = a, .param_slots = 0, .result_slots = 0};
    wr_functype empty = {.nparams = 0, .nresults = 0, .types = NULL, .param_slots = 0, .result_slots = 0};
    wr_valtype v[] = {WR_V128, WR_I32, WR_V128};
    wr_functype fv = {.nparams = 2, .nresults = 1, .types = v, .param_slots = 0, .result_slots = 0};

    uint32_t ia = wr_store_intern_type(s, &fa);
    CHECK(ia == 0);
    CHECK(wr_store_intern_type(s, &fb) == ia);
    uint32_t ic = wr_store_intern_type(s, &fc);
    CHECK(ic != ia);
    uint32_t ie = wr_store_intern_type(s, &empty);
    CHECK(ie != ia && ie != ic && wr_store_intern_type(s, &empty) == ie);
    uint32_t iv = wr_store_intern_type(s, &fv);
    CHECK(s->types[iv]->param_slots == 3 && s->types[iv]->result_slots == 2);
    CHECK(s->types[ia]->param_slots == 2 && s->types[ia]->result_slots == 1);

    /* The interned type is a copy: the caller's bytes may change. */
    const wr_functype *pa = s->types[ia];
    b[0] = WR_F32;
    CHECK(pa->types[0] == WR_I32);
    CHECK(wr_store_intern_type(s, &fb) != ia);

    /* Many distinct types: ids stay stable, pointers stay valid. */
    wr_valtype many[4];
    uint32_t ids[3000];
    for (uint32_t i = 0; i < 3000; i++) {
        many[0] = (wr_valtype)(0x7C + i % 4);
        many[1] = (wr_valtype)(0x7C + (i / 4) % 4);
        many[2] = (wr_valtype)(0x7C + (i / 16) % 4);
        many[3] = (wr_valtype)(0x7C + (i / 64) % 4);
        wr_functype ft = {.nparams = i % 5, .nresults = i / 5 % 3, .types = many, .param_slots = 0, .result_slots = 0};
        if (ft.nparams + ft.nresults > 4)
            ft.nresults = 4 - ft.nparams;
        ids[i] = wr_store_intern_type(s, &ft);
        CHECK(ids[i] != UINT32_MAX);
    }
    for (uint32_t i = 0; i < 3000; i++) {
        many[0] = (wr_valtype)(0x7C + i % 4);
        many[1] = (wr_valtype)(0x7C + (i / 4) % 4);
        many[2] = (wr_valtype)(0x7C + (i / 16) % 4);
        many[3] = (wr_valtype)(0x7C + (i / 64) % 4);
        wr_functype ft = {.nparams = i % 5, .nresults = i / 5 % 3, .types = many, .param_slots = 0, .result_slots = 0};
        if (ft.nparams + ft.nresults > 4)
            ft.nresults = 4 - ft.nparams;
        CHECK(wr_store_intern_type(s, &ft) == ids[i]);
        const wr_functype *got = s->types[ids[i]];
        CHECK(got->nparams == ft.nparams && got->nresults == ft.nresults);
        CHECK(memcmp(got->types, many, ft.nparams + ft.nresults) == 0);
    }
    CHECK(s->types[ia] == pa && pa->nparams == 2 && pa->types[1] == WR_I64);

    /* Host functions share interned types. */
    wr_func *f = wr_func_new_host(s, &fa, 42);
    CHECK(f && f->type == pa && f->type_id == ia && f->inst == NULL && f->code == NULL && f->host_id == 42);
    uint32_t params[] = {WR_I32, WR_I64}, results[] = {WR_F64};
    wr_func *g = wr_api_func_new_host(s, params, 2, results, 1, 43);
    CHECK(g && g->type_id == ia);
    uint64_t hid = 0;
    CHECK(wr_api_func_host_id(g, &hid) == 1 && hid == 43);
    wr_api_externtype et;
    wr_api_func_type(g, &et);
    CHECK(et.kind == WR_EXTERN_FUNC && et.nparams == 2 && et.nresults == 1 && et.results[0] == WR_F64);
    CHECK(wr_api_func_name(g) == NULL);

    /* Of a given type id (an import's declared type as it is): a function type; a tag's without results. */
    wr_func *h = wr_func_new_host_id(s, ia, 44);
    CHECK(h && h->type == pa && h->type_id == ia && h->host_id == 44);
    CHECK(wr_func_new_host_id(s, s->ntypes, 45) == NULL);
    wr_tag *tag = wr_tag_new_id(s, ie);
    CHECK(tag && tag->type_id == ie);
    CHECK(wr_tag_new_id(s, ia) == NULL && wr_tag_new_id(s, s->ntypes) == NULL);
    wr_store_free(s);
}

static void test_global(void)
{
    wr_store *s = wr_store_new();
    wr_globaltype gt = {WR_I64, true};
    wr_global *g = wr_global_new(s, gt, 0x1122334455667788ull, 0);
    CHECK(g && g->type.type == WR_I64 && g->type.mutable_ && g->val[0] == 0x1122334455667788ull);
    wr_api_global_set(g, 5, 6);
    uint64_t out[2];
    wr_api_global_get(g, out);
    CHECK(out[0] == 5 && out[1] == 6);
    wr_global *h = wr_api_global_new(s, WR_V128, 0, 1, 2);
    wr_api_externtype et;
    wr_api_global_type(h, &et);
    CHECK(et.kind == WR_EXTERN_GLOBAL && et.valtype == WR_V128 && !et.mutable_);
    CHECK(h->val[0] == 1 && h->val[1] == 2);
    wr_store_free(s);
}

/* ---- instances, on a module built by hand ---- */

static wr_valtype type_bytes[] = {WR_I32, WR_I32, /* 0: [i32] -> [i32] */ WR_I64 /* 1: [] -> [i64] */};
static wr_functype mod_types[] = {
    {.nparams = 1, .nresults = 1, .types = type_bytes, .param_slots = 1, .result_slots = 1},
    {.nparams = 0, .nresults = 1, .types = type_bytes + 2, .param_slots = 0, .result_slots = 1}};
static const uint8_t data_bytes[] = {1, 2, 3, 4, 5};

static wr_constexpr ci32(uint32_t v)
{
    wr_constexpr c = {.op = WR_CONST_I32, .type = WR_I32, .bits = {v, 0}};
    return c;
}
static wr_constexpr cref(uint32_t f)
{
    wr_constexpr c = {.op = WR_CONST_REF_FUNC, .type = WR_FUNCREF, .index = f};
    return c;
}
static wr_constexpr cnull(void)
{
    wr_constexpr c = {.op = WR_CONST_REF_NULL, .type = WR_FUNCREF};
    return c;
}
static wr_constexpr cglobal(uint32_t g, wr_valtype type)
{
    wr_constexpr c = {.op = WR_CONST_GLOBAL_GET, .type = type, .index = g};
    return c;
}

/* Imports: f (func 0), t (table funcref 2..10), m (memory 1..), g (global i32).
 * Defines: funcs 1 and 2, table 1 (funcref 4), globals 1 = 7, 2 = global.get 0,
 * 3 = ref.func 2; elem segments: active table 1 at 1 [f1, f2], passive
 * [f2, null, f0], declarative [f1], active table 0 at `elem_off` [f1];
 * data: active at `data_off` [1..5], passive [1, 2]. */
typedef struct test_module {
    wr_module m;
    wr_import imports[4];
    wr_func_def funcs[3];
    wr_tabletype tables[2];
    wr_limits mems[1];
    wr_global_def globals[4];
    wr_export exports[3];
    wr_elem_segment elems[4];
    wr_constexpr items0[2], items1[3], items2[1], items3[1];
    wr_data_segment datas[2];
} test_module;

static void build_module(test_module *tm, uint32_t elem_off, uint32_t data_off)
{
    memset(tm, 0, sizeof *tm);
    wr_module *m = &tm->m;
    m->ntypes = 2;
    m->types = mod_types;

    static char env[] = "env", nf[] = "f", nt[] = "t", nm[] = "m", ng[] = "g";
    tm->imports[0] = (wr_import){.module = env,
                                 .name = nf,
                                 .module_len = 3,
                                 .name_len = 1,
                                 .kind = WR_EXTERN_FUNC,
                                 .desc = {.func_type = 0}};
    tm->imports[1] = (wr_import){.module = env,
                                 .name = nt,
                                 .module_len = 3,
                                 .name_len = 1,
                                 .kind = WR_EXTERN_TABLE,
                                 .desc = {.table = {WR_FUNCREF, {2, 10, true, false, false}}}};
    tm->imports[2] = (wr_import){.module = env,
                                 .name = nm,
                                 .module_len = 3,
                                 .name_len = 1,
                                 .kind = WR_EXTERN_MEMORY,
                                 .desc = {.memory = {1, 0, false, false, false}}};
    tm->imports[3] = (wr_import){.module = env,
                                 .name = ng,
                                 .module_len = 3,
                                 .name_len = 1,
                                 .kind = WR_EXTERN_GLOBAL,
                                 .desc = {.global = {WR_I32, false}}};
    m->nimports = 4;
    m->imports = tm->imports;

    m->nfuncs = 3;
    m->nfunc_imports = 1;
    tm->funcs[0].type = 0;
    tm->funcs[1].type = 0;
    tm->funcs[2].type = 1;
    m->funcs = tm->funcs;

    m->ntables = 2;
    m->ntable_imports = 1;
    tm->tables[0] = tm->imports[1].desc.table;
    tm->tables[1] = (wr_tabletype){WR_FUNCREF, {4, 0, false, false, false}};
    m->tables = tm->tables;

    m->nmems = 1;
    m->nmem_imports = 1;
    tm->mems[0] = tm->imports[2].desc.memory;
    m->mems = tm->mems;

    m->nglobals = 4;
    m->nglobal_imports = 1;
    tm->globals[0].type = tm->imports[3].desc.global;
    tm->globals[1] = (wr_global_def){{WR_I32, true}, ci32(7)};
    tm->globals[2] = (wr_global_def){{WR_I32, false}, cglobal(0, WR_I32)};
    tm->globals[3] = (wr_global_def){{WR_FUNCREF, false}, cref(2)};
    m->globals = tm->globals;

    static char e0[] = "f2", e1[] = "tab", e2[] = "g1";
    tm->exports[0] = (wr_export){.name = e0, .name_len = 2, .kind = WR_EXTERN_FUNC, .index = 2};
    tm->exports[1] = (wr_export){.name = e1, .name_len = 3, .kind = WR_EXTERN_TABLE, .index = 1};
    tm->exports[2] = (wr_export){.name = e2, .name_len = 2, .kind = WR_EXTERN_GLOBAL, .index = 1};
    m->nexports = 3;
    m->exports = tm->exports;

    tm->items0[0] = cref(1);
    tm->items0[1] = cref(2);
    tm->items1[0] = cref(2);
    tm->items1[1] = cnull();
    tm->items1[2] = cref(0);
    tm->items2[0] = cref(1);
    tm->items3[0] = cref(1);
    tm->elems[0] = (wr_elem_segment){.mode = WR_SEG_ACTIVE,
                                     .elemtype = WR_FUNCREF,
                                     .table = 1,
                                     .offset = ci32(1),
                                     .count = 2,
                                     .items = tm->items0};
    tm->elems[1] = (wr_elem_segment){.mode = WR_SEG_PASSIVE,
                                     .elemtype = WR_FUNCREF,
                                     .table = 0,
                                     .offset = ci32(0),
                                     .count = 3,
                                     .items = tm->items1};
    tm->elems[2] = (wr_elem_segment){.mode = WR_SEG_DECLARATIVE,
                                     .elemtype = WR_FUNCREF,
                                     .table = 0,
                                     .offset = ci32(0),
                                     .count = 1,
                                     .items = tm->items2};
    tm->elems[3] = (wr_elem_segment){.mode = WR_SEG_ACTIVE,
                                     .elemtype = WR_FUNCREF,
                                     .table = 0,
                                     .offset = ci32(elem_off),
                                     .count = 1,
                                     .items = tm->items3};
    m->nelems = 4;
    m->elems = tm->elems;

    tm->datas[0] =
        (wr_data_segment){.mode = WR_SEG_ACTIVE, .offset = ci32(data_off), .size = 5, .bytes = data_bytes};
    tm->datas[1] =
        (wr_data_segment){.mode = WR_SEG_PASSIVE, .offset = ci32(0), .size = 2, .bytes = data_bytes};
    m->ndatas = 2;
    m->datas = tm->datas;

    m->has_start = true;
    m->start = 1;
}

typedef struct test_imports {
    wr_func *f;
    wr_table *t;
    wr_memory *m;
    wr_global *g;
    wr_extern ext[4];
} test_imports;

static void make_imports(wr_store *s, test_imports *ti)
{
    ti->f = wr_func_new_host(s, &mod_types[0], 1);
    wr_limits tl = {3, 5, true, false, false};
    ti->t = wr_table_new(s, WR_FUNCREF, &tl, 0);
    wr_limits ml = {1, 0, false, false, false};
    ti->m = wr_memory_new(s, &ml);
    ti->g = wr_global_new(s, (wr_globaltype){WR_I32, false}, 99, 0);
    ti->ext[0] = (wr_extern){WR_EXTERN_FUNC, ti->f};
    ti->ext[1] = (wr_extern){WR_EXTERN_TABLE, ti->t};
    ti->ext[2] = (wr_extern){WR_EXTERN_MEMORY, ti->m};
    ti->ext[3] = (wr_extern){WR_EXTERN_GLOBAL, ti->g};
}

static bool link_fails(wr_store *s, const wr_module *m, const wr_extern *ext)
{
    wr_error err = {0};
    wr_instance *inst = (wr_instance *)1;
    int rc = wr_instance_new(s, m, ext, 4, &inst, &err);
    bool ok = rc == WR_ERR_LINK && err.kind == WR_ERR_LINK && inst == NULL &&
              strncmp(err.message, "incompatible import type", 24) == 0;
    if (!ok)
        fprintf(stderr, "link_fails: rc=%d kind=%d message=%s\n", rc, err.kind, err.message);
    return ok;
}

static void test_instance_link(void)
{
    wr_store *s = wr_store_new();
    test_module tm;
    build_module(&tm, 0, 0);
    test_imports ti;
    make_imports(s, &ti);
    wr_extern ext[4];

    /* Wrong kind. */
    memcpy(ext, ti.ext, sizeof ext);
    ext[0] = ti.ext[3];
    CHECK(link_fails(s, &tm.m, ext));
    /* Wrong function type. */
    memcpy(ext, ti.ext, sizeof ext);
    ext[0].ptr = wr_func_new_host(s, &mod_types[1], 2);
    CHECK(link_fails(s, &tm.m, ext));
    /* Table: too small, no max, max too large, wrong elemtype. */
    wr_limits l = {1, 5, true, false, false};
    memcpy(ext, ti.ext, sizeof ext);
    ext[1].ptr = wr_table_new(s, WR_FUNCREF, &l, 0);
    CHECK(link_fails(s, &tm.m, ext));
    l = (wr_limits){3, 0, false, false, false};
    ext[1].ptr = wr_table_new(s, WR_FUNCREF, &l, 0);
    CHECK(link_fails(s, &tm.m, ext));
    l = (wr_limits){3, 11, true, false, false};
    ext[1].ptr = wr_table_new(s, WR_FUNCREF, &l, 0);
    CHECK(link_fails(s, &tm.m, ext));
    l = (wr_limits){3, 5, true, false, false};
    ext[1].ptr = wr_table_new(s, WR_EXTERNREF, &l, 0);
    CHECK(link_fails(s, &tm.m, ext));
    /* A table grown past the declared min matches. */
    l = (wr_limits){1, 10, true, false, false};
    wr_table *grown = wr_table_new(s, WR_FUNCREF, &l, 0);
    CHECK(wr_table_grow(grown, 1, 0) == 1);
    /* Memory: too small, shared mismatch. */
    tm.imports[2].desc.memory = (wr_limits){2, 0, false, false, false};
    memcpy(ext, ti.ext, sizeof ext);
    CHECK(link_fails(s, &tm.m, ext));
    tm.imports[2].desc.memory = (wr_limits){1, 4, true, true, false};
    l = (wr_limits){1, 4, true, false, false};
    ext[2].ptr = wr_memory_new(s, &l);
    CHECK(link_fails(s, &tm.m, ext));
    tm.imports[2].desc.memory = (wr_limits){1, 0, false, false, false};
    /* Global: mutability, type. */
    memcpy(ext, ti.ext, sizeof ext);
    ext[3].ptr = wr_global_new(s, (wr_globaltype){WR_I32, true}, 0, 0);
    CHECK(link_fails(s, &tm.m, ext));
    ext[3].ptr = wr_global_new(s, (wr_globaltype){WR_I64, false}, 0, 0);
    CHECK(link_fails(s, &tm.m, ext));
    /* Missing. */
    memcpy(ext, ti.ext, sizeof ext);
    ext[2].ptr = NULL;
    CHECK(link_fails(s, &tm.m, ext));
    /* Count. */
    wr_error err = {0};
    wr_instance *inst;
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 3, &inst, &err) == WR_ERR_LINK);

    /* The grown table passes. */
    memcpy(ext, ti.ext, sizeof ext);
    ext[1].ptr = grown;
    memset(&err, 0, sizeof err);
    CHECK(wr_instance_new(s, &tm.m, ext, 4, &inst, &err) == 0);
    wr_store_free(s);
}

static void test_instance_init(void)
{
    wr_store *s = wr_store_new();
    test_module tm;
    build_module(&tm, 2, 10);
    test_imports ti;
    make_imports(s, &ti);
    wr_error err = {0};
    wr_instance *inst = NULL;
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &inst, &err) == 0);
    CHECK(err.kind == 0);
    if (!inst) {
        wr_store_free(s);
        return;
    }
    CHECK(inst->funcs[0] == ti.f);
    wr_func *f1 = inst->funcs[1], *f2 = inst->funcs[2];
    CHECK(f1->inst == inst && f1->index == 1 && f1->type == ti.f->type && f1->type_id == ti.f->type_id);
    CHECK(f2->index == 2 && f2->type_id == inst->type_ids[1] && f2->type->nresults == 1);
    CHECK(inst->tables[0] == ti.t && inst->mems[0] == ti.m && inst->globals[0] == ti.g);
    CHECK(inst->globals[1]->val[0] == 7 && inst->globals[1]->type.mutable_);
    CHECK(inst->globals[2]->val[0] == 99);
    CHECK(inst->globals[3]->val[0] == (uint64_t)(uintptr_t)f2);

    wr_table *t1 = inst->tables[1];
    CHECK(t1->size == 4 && t1->elems[0] == 0 && t1->elems[1] == (uint64_t)(uintptr_t)f1 &&
          t1->elems[2] == (uint64_t)(uintptr_t)f2 && t1->elems[3] == 0);
    CHECK(ti.t->elems[2] == (uint64_t)(uintptr_t)f1 && ti.t->elems[0] == 0);
    CHECK(inst->elem_sizes[0] == 0 && inst->elem_sizes[2] == 0 && inst->elem_sizes[3] == 0);
    CHECK(inst->elem_sizes[1] == 3);
    CHECK(inst->elem_refs[1][0] == (uint64_t)(uintptr_t)f2 && inst->elem_refs[1][1] == 0 &&
          inst->elem_refs[1][2] == (uint64_t)(uintptr_t)ti.f);
    CHECK(inst->data_sizes[0] == 0 && inst->data_sizes[1] == 2);
    CHECK(memcmp(ti.m->base + 10, data_bytes, 5) == 0 && ti.m->base[9] == 0 && ti.m->base[15] == 0);

    CHECK(wr_instance_start(inst) == f1);
    wr_extern x = wr_instance_export(inst, 0);
    CHECK(x.kind == WR_EXTERN_FUNC && x.ptr == f2);
    CHECK(wr_api_instance_export(inst, 1, &x) == 0 && x.kind == WR_EXTERN_TABLE && x.ptr == t1);
    CHECK(wr_api_instance_export(inst, 2, &x) == 0 && x.kind == WR_EXTERN_GLOBAL &&
          x.ptr == inst->globals[1]);
    CHECK(wr_api_instance_export(inst, 3, &x) == -1);

    /* A second instance of the same module shares the imports and the type ids. */
    wr_instance *inst2 = NULL;
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &inst2, &err) == 0);
    CHECK(inst2 && inst2 != inst && inst2->type_ids[0] == inst->type_ids[0] && inst2->funcs[1] != f1);
    CHECK(inst2 && ti.t->elems[2] == (uint64_t)(uintptr_t)inst2->funcs[1]);
    wr_store_free(s);
}

static void test_instance_traps(void)
{
    wr_store *s = wr_store_new();
    test_imports ti;
    make_imports(s, &ti);
    wr_error err = {0};
    wr_instance *inst = NULL;

    /* Element segment 3 out of bounds (table 0 has 3 elements): segment 0
     * was written, data segments never ran. */
    test_module tm;
    build_module(&tm, 3, 0);
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &inst, &err) == -WR_TRAP_TABLE_OOB);
    CHECK(inst != NULL && err.kind == 0);
    CHECK(inst && inst->tables[1]->elems[1] == (uint64_t)(uintptr_t)inst->funcs[1]);
    CHECK(ti.m->base[0] == 0);
    /* Offset 2 with one item is exactly in bounds. */
    build_module(&tm, 2, 0);
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &inst, &err) == 0);
    CHECK(ti.m->base[0] == 1);

    /* Data out of bounds: the elements were written. */
    ti.t->elems[2] = 0;
    build_module(&tm, 2, WR_PAGE_SIZE - 4);
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &inst, &err) == -WR_TRAP_MEMORY_OOB);
    CHECK(ti.t->elems[2] != 0);
    build_module(&tm, 2, WR_PAGE_SIZE - 5);
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &inst, &err) == 0);
    CHECK(ti.m->base[WR_PAGE_SIZE - 1] == 5);
    /* Offset as unsigned: 0xFFFFFFFF + 1 must not wrap. */
    build_module(&tm, 0xFFFFFFFFu, 0);
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &inst, &err) == -WR_TRAP_TABLE_OOB);

    /* A defined memory over the store limit. */
    build_module(&tm, 2, 0);
    tm.m.nmem_imports = 0;
    tm.mems[0] = (wr_limits){5, 0, false, false, false};
    tm.imports[2].kind = WR_EXTERN_GLOBAL;
    tm.imports[2].desc.global = (wr_globaltype){WR_I32, false};
    tm.m.nglobal_imports = 2;
    tm.globals[1].type = tm.imports[2].desc.global;
    wr_extern ext[4];
    memcpy(ext, ti.ext, sizeof ext);
    ext[2] = ti.ext[3];
    s->config.max_memory_pages = 4;
    memset(&err, 0, sizeof err);
    inst = (wr_instance *)1;
    CHECK(wr_instance_new(s, &tm.m, ext, 4, &inst, &err) == WR_ERR_RESOURCE);
    CHECK(err.kind == WR_ERR_RESOURCE && inst == NULL);
    s->config.max_memory_pages = 5;
    memset(&err, 0, sizeof err);
    CHECK(wr_instance_new(s, &tm.m, ext, 4, &inst, &err) == 0);
    CHECK(inst && inst->mems[0]->pages == 5 && inst->mems[0]->base[0] == 1);
    CHECK(inst && inst->globals[1] == ti.g && inst->globals[2]->val[0] == 99);
    wr_store_free(s);
}

/* wr_instance_new_like: what wr_instance_new makes of the same imports, whatever `like` has done since. */
static void test_instance_new_like(void)
{
    wr_store *s = wr_store_new();
    test_module tm;
    build_module(&tm, 2, 10);
    test_imports ti;
    make_imports(s, &ti);
    wr_error err = {0};
    wr_instance *like = NULL, *inst = NULL;
    CHECK(wr_instance_new(s, &tm.m, ti.ext, 4, &like, &err) == 0);
    if (!like) {
        wr_store_free(s);
        return;
    }
    /* Spoil like's own state and the shared memory. */
    like->globals[1]->val[0] = 1234;
    like->tables[1]->elems[1] = 0;
    like->elem_sizes[1] = 0;
    like->data_sizes[1] = 0;
    memset(ti.m->base + 10, 0, 5);
    ti.t->elems[2] = 0;

    CHECK(wr_instance_new_like(like, &inst, &err) == 0 && err.kind == 0);
    if (!inst) {
        wr_store_free(s);
        return;
    }
    CHECK(inst != like && inst->store == s && inst->module == &tm.m);
    CHECK(inst->type_ids[0] == like->type_ids[0] && inst->type_ids[1] == like->type_ids[1]);
    CHECK(inst->funcs[0] == ti.f && inst->tables[0] == ti.t && inst->mems[0] == ti.m &&
          inst->globals[0] == ti.g);
    wr_func *f1 = inst->funcs[1], *f2 = inst->funcs[2];
    CHECK(f1 != like->funcs[1] && f1->inst == inst && f1->index == 1 && f1->code == like->funcs[1]->code);
    CHECK(f1->type_id == like->funcs[1]->type_id && f2->inst == inst && f2->type_id == inst->type_ids[1]);
    CHECK(inst->globals[1] != like->globals[1] && inst->globals[1]->val[0] == 7);
    CHECK(inst->globals[2]->val[0] == 99 && inst->globals[3]->val[0] == (uint64_t)(uintptr_t)f2);
    wr_table *t1 = inst->tables[1];
    CHECK(t1 != like->tables[1] && t1->size == 4 && t1->elems[1] == (uint64_t)(uintptr_t)f1 &&
          t1->elems[2] == (uint64_t)(uintptr_t)f2);
    CHECK(inst->elem_sizes[1] == 3 && inst->elem_refs[1][0] == (uint64_t)(uintptr_t)f2 &&
          inst->elem_refs[1][2] == (uint64_t)(uintptr_t)ti.f);
    CHECK(inst->elem_sizes[0] == 0 && inst->data_sizes[0] == 0 && inst->data_sizes[1] == 2);
    /* Active segments apply again to the imported table and memory, as instantiation does. */
    CHECK(ti.t->elems[2] == (uint64_t)(uintptr_t)f1);
    CHECK(memcmp(ti.m->base + 10, data_bytes, 5) == 0);
    CHECK(wr_instance_start(inst) == f1);
    CHECK(wr_api_instance_export_func(inst, 0) == f2);
    CHECK(wr_api_instance_export_func(inst, 1) == NULL && wr_api_instance_export_func(inst, 3) == NULL);

    /* A segment out of bounds traps as in wr_instance_new; the store's limits apply. */
    ti.m->base[WR_PAGE_SIZE - 1] = 0;
    build_module(&tm, 2, WR_PAGE_SIZE - 4);
    CHECK(wr_instance_new_like(like, &inst, &err) == -WR_TRAP_MEMORY_OOB && inst != NULL);
    CHECK(ti.m->base[WR_PAGE_SIZE - 1] == 0);
    build_module(&tm, 2, 10);
    tm.tables[1].limits.min = 11;
    s->config.max_table_elems = 10;
    memset(&err, 0, sizeof err);
    CHECK(wr_instance_new_like(like, &inst, &err) == WR_ERR_RESOURCE && inst == NULL);
    CHECK(err.kind == WR_ERR_RESOURCE);
    wr_store_free(s);
}

int main(void)
{
    test_store_defaults();
    test_memory();
    test_table();
    test_interning();
    test_global();
    test_instance_link();
    test_instance_init();
    test_instance_traps();
    test_instance_new_like();
    return check_result("test_runtime");
}
