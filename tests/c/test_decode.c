/* test_decode.c: unit tests for the binary decoder and module-level validator on small hand-made modules. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "wr_module.h"

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* ---- building modules ---- */

typedef struct wbuf {
    uint8_t b[8192];
    size_t n;
} wbuf;

static void put(wbuf *w, const uint8_t *p, size_t n)
{
    if (w->n + n > sizeof w->b) {
        fprintf(stderr, "test module too big\n");
        failures++;
        return;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put_uleb(wbuf *w, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7F;
        v >>= 7;
        if (v)
            byte |= 0x80;
        put(w, &byte, 1);
    } while (v);
}

/* A module header; `raw` bytes (may be empty) follow it. */
static void start(wbuf *w) { w->n = 0, put(w, BYTES(0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00)); }

/* A section with its size computed. */
static void section(wbuf *w, uint8_t id, const uint8_t *content, size_t n)
{
    put(w, &id, 1);
    put_uleb(w, n);
    put(w, content, n);
}

#define SEC(w, id, ...) section(w, id, BYTES(__VA_ARGS__))
#define RAW(w, ...) put(w, BYTES(__VA_ARGS__))

/* ---- decoding ---- */

static wr_module *decode_ok(const wbuf *w, int line)
{
    wr_error err;
    wr_module *m = wr_module_decode(w->b, w->n, &err);
    if (!m) {
        fprintf(stderr, "line %d: decode failed: kind %d \"%s\" at %u\n", line, err.kind, err.message, err.offset);
        failures++;
    }
    return m;
}

#define ANY_OFFSET UINT32_MAX

static void decode_err(const wbuf *w, int kind, const char *msg, uint32_t offset, int line)
{
    wr_error err;
    wr_module *m = wr_module_decode(w->b, w->n, &err);
    if (m) {
        fprintf(stderr, "line %d: decode succeeded, expected \"%s\"\n", line, msg);
        failures++;
        wr_module_free(m);
        return;
    }
    if (err.kind != kind || strcmp(err.message, msg) != 0 || (offset != ANY_OFFSET && err.offset != offset)) {
        fprintf(stderr, "line %d: got kind %d \"%s\" at %u, expected kind %d \"%s\" at %u\n", line, err.kind,
                err.message, err.offset, kind, msg, offset);
        failures++;
    }
}

/* Decodes (3.0's rules), but the feature set `features` rejects it (an error of `kind`). */
static void feature_err(const wbuf *w, uint32_t features, int kind, const char *msg, uint32_t offset, int line)
{
    wr_error err = {0}; /* the first error set wins: start clean */
    wr_module *m = decode_ok(w, line);
    if (!m)
        return;
    int rc = wr_module_check_features(m, features, &err);
    if (rc != kind || strcmp(err.message, msg) != 0 || err.offset != offset) {
        fprintf(stderr, "line %d: features %#x: got %d \"%s\" at %u, expected \"%s\" at %u\n", line, features, rc,
                rc ? err.message : "", rc ? err.offset : 0, msg, offset);
        failures++;
    }
    err = (wr_error){0};
    if (wr_module_check_features(m, WR_FEATURE_ALL, &err) != 0) {
        fprintf(stderr, "line %d: rejected with every feature on: \"%s\"\n", line, err.message);
        failures++;
    }
    wr_module_free(m);
}

/* WebAssembly 2.0: 3.0's extended constant expressions, GC, multiple memories and memory64 off. */
#define WASM2_FEATURES                                                                                           \
    (WR_FEATURE_ALL & ~(uint32_t)(WR_FEATURE_EXTENDED_CONST | WR_FEATURE_GC | WR_FEATURE_MULTI_MEMORY |         \
                                  WR_FEATURE_MEMORY64))

/* Loading with 2.0's features fails as malformed (the decoder reads limits by the features). */
static void wasm2_malformed(const wbuf *w, const char *msg, uint32_t offset, int line)
{
    wr_error err;
    wr_module *m = wr_module_load_features(w->b, w->n, WASM2_FEATURES, &err);
    if (m) {
        fprintf(stderr, "line %d: 2.0 load succeeded, expected \"%s\"\n", line, msg);
        failures++;
        wr_module_free(m);
        return;
    }
    if (err.kind != WR_ERR_MALFORMED || strcmp(err.message, msg) != 0 || err.offset != offset) {
        fprintf(stderr, "line %d: 2.0: got kind %d \"%s\" at %u, expected \"%s\" at %u\n", line, err.kind,
                err.message, err.offset, msg, offset);
        failures++;
    }
}

#define OK(w) decode_ok(w, __LINE__)
#define WASM2_INVALID(w, msg, off) feature_err(w, WASM2_FEATURES, WR_ERR_INVALID, msg, off, __LINE__)
/* Exception handling's encodings mean nothing without it (2.0): malformed, as a 2.0 decoder says. */
#define NO_EXCEPTIONS(w, msg, off)                                                                           \
    feature_err(w, WR_FEATURE_ALL & ~(uint32_t)WR_FEATURE_EXCEPTIONS, WR_ERR_MALFORMED, msg, off, __LINE__)
#define WASM2_MALFORMED(w, msg, off) wasm2_malformed(w, msg, off, __LINE__)
#define MALFORMED(w, msg, off) decode_err(w, WR_ERR_MALFORMED, msg, off, __LINE__)
#define INVALID(w, msg, off) decode_err(w, WR_ERR_INVALID, msg, off, __LINE__)
#define UNSUPPORTED(w, msg, off) decode_err(w, WR_ERR_UNSUPPORTED, msg, off, __LINE__)

/* ---- well-formed modules ---- */

static void test_empty_module(void)
{
    wbuf w;
    start(&w);
    wr_module *m = OK(&w);
    if (!m)
        return;
    CHECK(m->size == 8 && m->ntypes == 0 && m->nfuncs == 0 && m->nimports == 0 && m->nexports == 0);
    CHECK(m->ncustoms == 0 && m->name == NULL && m->func_names == NULL && !m->has_start && !m->has_datacount);
    wr_module_free(m);
    wr_module_free(NULL);
}

static void test_function_with_locals(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x02, 0x7F, 0x7F, 0x01, 0x7F);  /* @8: (i32 i32) -> i32 */
    SEC(&w, 3, 0x01, 0x00);                                /* @17 */
    SEC(&w, 7, 0x01, 0x03, 'a', 'd', 'd', 0x00, 0x00);     /* @21: export "add" */
    SEC(&w, 10, 0x01, 0x0B,                                /* @30: size @33 */
        0x02, 0x01, 0x7F, 0x02, 0x7E,                      /* @34: locals i32, i64 i64 */
        0x20, 0x00, 0x20, 0x01, 0x6A, 0x0B);               /* @39: body */
    CHECK(w.n == 45);
    wr_module *m = OK(&w);
    if (!m)
        return;
    CHECK(m->ntypes == 1);
    CHECK(m->types[0].nparams == 2 && m->types[0].nresults == 1);
    CHECK(m->types[0].param_slots == 2 && m->types[0].result_slots == 1);
    CHECK(wr_functype_results(&m->types[0])[0] == WR_I32);
    CHECK(m->nfuncs == 1 && m->nfunc_imports == 0);
    const wr_func_def *f = &m->funcs[0];
    CHECK(f->type == 0 && f->type_offset == 20);
    CHECK(f->nlocal_runs == 2 && f->nlocals == 3);
    CHECK(f->local_runs[0].count == 1 && f->local_runs[0].type == WR_I32);
    CHECK(f->local_runs[1].count == 2 && f->local_runs[1].type == WR_I64);
    CHECK(f->code_offset == 33 && f->body_offset == 39);
    CHECK(f->body == m->bytes + 39 && f->body_end == m->bytes + 45);
    CHECK(f->code == NULL);
    CHECK(m->nexports == 1 && m->exports[0].name_len == 3 && strcmp(m->exports[0].name, "add") == 0);
    CHECK(m->exports[0].kind == WR_EXTERN_FUNC && m->exports[0].index == 0 && m->exports[0].offset == 24);
    CHECK(m->func_declared && m->func_declared[0]); /* exported */
    CHECK(m->bytes != NULL && m->size == 45);
    wr_module_free(m);
}

static void test_imports(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 2, 0x04,                                 /* */
        0x01, 'm', 0x01, 'f', 0x00, 0x00,            /* func type 0 */
        0x01, 'm', 0x01, 't', 0x01, 0x70, 0x00, 0x01, /* table funcref 1 */
        0x01, 'm', 0x03, 'm', 'e', 'm', 0x02, 0x03, 0x01, 0x02, /* shared memory 1..2 */
        0x01, 'm', 0x01, 'g', 0x03, 0x7F, 0x00);     /* global i32 */
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 4, 0x01, 0x6F, 0x01, 0x00, 0x05);                      /* table externref 0..5 */
    SEC(&w, 6, 0x02, 0x7E, 0x01, 0x42, 0x2A, 0x0B,                 /* mut i64 = 42 */
        0x7F, 0x00, 0x23, 0x00, 0x0B);                             /* i32 = global.get 0 */
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    wr_module *m = OK(&w);
    if (!m)
        return;
    CHECK(m->nimports == 4);
    CHECK(m->imports[0].kind == WR_EXTERN_FUNC && strcmp(m->imports[0].module, "m") == 0);
    CHECK(strcmp(m->imports[2].name, "mem") == 0 && m->imports[2].name_len == 3);
    CHECK(m->imports[0].offset == 17);
    CHECK(m->nfuncs == 2 && m->nfunc_imports == 1 && m->funcs[0].type == 0 && m->funcs[0].body == NULL);
    CHECK(m->ntables == 2 && m->ntable_imports == 1);
    CHECK(m->tables[0].elemtype == WR_FUNCREF && m->tables[0].limits.min == 1 && !m->tables[0].limits.has_max);
    CHECK(m->tables[1].elemtype == WR_EXTERNREF && m->tables[1].limits.has_max && m->tables[1].limits.max == 5);
    CHECK(m->nmems == 1 && m->nmem_imports == 1);
    CHECK(m->mems[0].shared && m->mems[0].has_max && m->mems[0].min == 1 && m->mems[0].max == 2);
    CHECK(m->nglobals == 3 && m->nglobal_imports == 1);
    CHECK(m->globals[0].type.type == WR_I32 && !m->globals[0].type.mutable_);
    CHECK(m->globals[1].type.type == WR_I64 && m->globals[1].type.mutable_);
    CHECK(m->globals[1].init.op == WR_CONST_I64 && m->globals[1].init.bits[0] == 42);
    CHECK(m->globals[2].init.op == WR_CONST_GLOBAL_GET && m->globals[2].init.index == 0);
    CHECK(m->globals[2].init.type == WR_I32); /* filled in by validation */
    CHECK(!m->func_declared[0] && !m->func_declared[1]);
    wr_module_free(m);
}

static void test_constant_expressions(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 6, 0x07,                                                      /* */
        0x7F, 0x00, 0x41, 0x7F, 0x0B,                                     /* i32 -1 */
        0x7E, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F, 0x0B, /* i64 min */
        0x7D, 0x00, 0x43, 0x00, 0x00, 0xC0, 0x3F, 0x0B,                   /* f32 1.5 */
        0x7C, 0x00, 0x44, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x0B,             /* f64 1.0 */
        0x7B, 0x00, 0xFD, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x0B, /* v128 */
        0x6F, 0x00, 0xD0, 0x6F, 0x0B,                                     /* ref.null extern */
        0x70, 0x00, 0xD2, 0x00, 0x0B);                                    /* ref.func 0 */
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    wr_module *m = OK(&w);
    if (!m)
        return;
    CHECK(m->nglobals == 7);
    CHECK(m->globals[0].init.type == WR_I32 && m->globals[0].init.bits[0] == 0xFFFFFFFFu);
    CHECK(m->globals[1].init.type == WR_I64 && m->globals[1].init.bits[0] == 0x8000000000000000ull);
    CHECK(m->globals[2].init.op == WR_CONST_F32 && m->globals[2].init.bits[0] == 0x3FC00000u);
    CHECK(m->globals[3].init.op == WR_CONST_F64 && m->globals[3].init.bits[0] == 0x3FF0000000000000ull);
    CHECK(m->globals[4].init.op == WR_CONST_V128 && m->globals[4].init.type == WR_V128);
    CHECK(m->globals[4].init.bits[0] == 0x0807060504030201ull && m->globals[4].init.bits[1] == 0x100F0E0D0C0B0A09ull);
    CHECK(m->globals[5].init.op == WR_CONST_REF_NULL && m->globals[5].init.type == WR_EXTERNREF);
    CHECK(m->globals[6].init.op == WR_CONST_REF_FUNC && m->globals[6].init.index == 0);
    CHECK(m->globals[0].init.offset == 23);
    CHECK(m->func_declared[0]); /* referenced by a global initializer */
    wr_module_free(m);
}

static void test_segments(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x03, 0x00, 0x00, 0x00);
    SEC(&w, 4, 0x01, 0x70, 0x00, 0x0A);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 9, 0x08,                                             /* */
        0x00, 0x41, 0x00, 0x0B, 0x02, 0x00, 0x01,                /* 0: active, funcs 0 1 */
        0x01, 0x00, 0x01, 0x00,                                  /* 1: passive, func 0 */
        0x02, 0x00, 0x41, 0x01, 0x0B, 0x00, 0x01, 0x01,          /* 2: active table 0, func 1 */
        0x03, 0x00, 0x01, 0x01,                                  /* 3: declarative, func 1 */
        0x04, 0x41, 0x02, 0x0B, 0x01, 0xD2, 0x00, 0x0B,          /* 4: active, exprs */
        0x05, 0x70, 0x02, 0xD2, 0x01, 0x0B, 0xD0, 0x70, 0x0B,    /* 5: passive, exprs */
        0x06, 0x00, 0x41, 0x03, 0x0B, 0x70, 0x01, 0xD0, 0x70, 0x0B, /* 6: active table 0, exprs */
        0x07, 0x70, 0x01, 0xD2, 0x00, 0x0B);                     /* 7: declarative, exprs */
    SEC(&w, 12, 0x03);
    SEC(&w, 10, 0x03, 0x02, 0x00, 0x0B, 0x02, 0x00, 0x0B, 0x02, 0x00, 0x0B);
    SEC(&w, 11, 0x03,                                    /* */
        0x00, 0x41, 0x00, 0x0B, 0x02, 'a', 'b',          /* active */
        0x01, 0x03, 'c', 'd', 'e',                       /* passive */
        0x02, 0x00, 0x41, 0x10, 0x0B, 0x00);             /* active memory 0, empty */
    wr_module *m = OK(&w);
    if (!m)
        return;
    CHECK(m->nelems == 8);
    static const uint8_t modes[8] = {WR_SEG_ACTIVE,  WR_SEG_PASSIVE, WR_SEG_ACTIVE,  WR_SEG_DECLARATIVE,
                                     WR_SEG_ACTIVE,  WR_SEG_PASSIVE, WR_SEG_ACTIVE,  WR_SEG_DECLARATIVE};
    static const uint32_t counts[8] = {2, 1, 1, 1, 1, 2, 1, 1};
    for (int i = 0; i < 8 && m->nelems == 8; i++) {
        CHECK(m->elems[i].mode == modes[i]);
        CHECK(m->elems[i].count == counts[i]);
        /* Function indices (forms 0-3) are (ref func), expressions funcref (3.0). */
        CHECK(m->elems[i].elemtype == (i < 4 ? (WR_FUNCREF | WR_REF_NONNULL) : WR_FUNCREF));
        CHECK(m->elems[i].table == 0);
    }
    if (m->nelems == 8) {
        CHECK(m->elems[0].items[1].op == WR_CONST_REF_FUNC && m->elems[0].items[1].index == 1);
        CHECK(m->elems[2].offset.op == WR_CONST_I32 && m->elems[2].offset.bits[0] == 1);
        CHECK(m->elems[5].items[1].op == WR_CONST_REF_NULL && m->elems[5].items[1].type == WR_FUNCREF);
        CHECK(m->elems[6].offset.bits[0] == 3);
    }
    CHECK(m->has_datacount && m->datacount == 3);
    CHECK(m->ndatas == 3);
    if (m->ndatas == 3) {
        CHECK(m->datas[0].mode == WR_SEG_ACTIVE && m->datas[0].size == 2 && memcmp(m->datas[0].bytes, "ab", 2) == 0);
        CHECK(m->datas[1].mode == WR_SEG_PASSIVE && m->datas[1].size == 3 && memcmp(m->datas[1].bytes, "cde", 3) == 0);
        CHECK(m->datas[2].mode == WR_SEG_ACTIVE && m->datas[2].memory == 0 && m->datas[2].size == 0);
        CHECK(m->datas[2].offset.bits[0] == 16);
    }
    CHECK(m->func_declared[0] && m->func_declared[1] && !m->func_declared[2]);
    wr_module_free(m);
}

static void test_custom_and_name_sections(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 0, 0x01, 'a', 0xAA, 0xBB); /* @8 before everything */
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 0, 0x01, 'b');             /* empty payload, between sections */
    SEC(&w, 3, 0x02, 0x00, 0x00);
    SEC(&w, 10, 0x02, 0x02, 0x00, 0x0B, 0x02, 0x00, 0x0B);
    SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e',                       /* */
        0x00, 0x04, 0x03, 'm', 'o', 'd',                       /* module name */
        0x01, 0x0E, 0x03, 0x00, 0x04, 'm', 'a', 'i', 'n',      /* function names */
        0x05, 0x01, 'x', 0x01, 0x02, 0xFF, 0xFF,               /* out of range, bad UTF-8: skipped */
        0x02, 0x01, 0x00);                                     /* local names: ignored */
    wr_module *m = OK(&w);
    if (!m)
        return;
    CHECK(m->ncustoms == 3);
    if (m->ncustoms == 3) {
        CHECK(strcmp(m->customs[0].name, "a") == 0 && m->customs[0].size == 2 && m->customs[0].data == m->bytes + 12);
        CHECK(m->customs[0].data[0] == 0xAA);
        CHECK(strcmp(m->customs[1].name, "b") == 0 && m->customs[1].size == 0);
        CHECK(strcmp(m->customs[2].name, "name") == 0);
    }
    CHECK(m->name && strcmp(m->name, "mod") == 0);
    CHECK(m->func_names && m->func_names[0] && strcmp(m->func_names[0], "main") == 0);
    CHECK(m->func_names && m->func_names[1] == NULL);
    wr_module_free(m);

    /* A broken name section never fails the module. */
    start(&w);
    SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e', 0x00, 0xFF, 0x01);
    m = OK(&w);
    if (m) {
        CHECK(m->name == NULL && m->func_names == NULL && m->ncustoms == 1);
        wr_module_free(m);
    }
    /* ... and is read even when it comes before the function section. */
    start(&w);
    SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x04, 0x01, 0x00, 0x01, 'f');
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    m = OK(&w);
    if (m) {
        CHECK(m->func_names && m->func_names[0] && strcmp(m->func_names[0], "f") == 0);
        wr_module_free(m);
    }
}

static void test_value_types(void)
{
    wbuf w;
    start(&w);
    /* (v128 i32 externref) -> (v128 funcref), and the empty type. */
    SEC(&w, 1, 0x02, 0x60, 0x03, 0x7B, 0x7F, 0x6F, 0x02, 0x7B, 0x70, 0x60, 0x00, 0x00);
    wr_module *m = OK(&w);
    if (!m)
        return;
    CHECK(m->ntypes == 2);
    CHECK(m->types[0].param_slots == 4 && m->types[0].result_slots == 3);
    CHECK(wr_functype_params(&m->types[0])[2] == WR_EXTERNREF);
    CHECK(wr_functype_results(&m->types[0])[1] == WR_FUNCREF);
    CHECK(!wr_functype_equal(&m->types[0], &m->types[1]));
    CHECK(wr_functype_equal(&m->types[1], &m->types[1]));
    wr_module_free(m);
}

static void test_locals_limit(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x06, 0x01, 0xD0, 0x86, 0x03, 0x7F, 0x0B); /* 50000 locals */
    wr_module *m = OK(&w);
    if (m) {
        CHECK(m->funcs[0].nlocals == 50000);
        wr_module_free(m);
    }
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x0A, 0x02, 0xA8, 0xC3, 0x01, 0x7F, 0xA9, 0xC3, 0x01, 0x7E, 0x0B); /* 25000 + 25001 */
    MALFORMED(&w, "too many locals: 50001 declared, at most 50000", 22);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x08, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x0B); /* 2^32-1 */
    MALFORMED(&w, "too many locals: 4294967295 declared, at most 50000", 22);
}

/* ---- malformed modules ---- */

static void test_header(void)
{
    wbuf w = {.n = 0};
    MALFORMED(&w, "unexpected end", 0);
    RAW(&w, 0x00, 0x61, 0x73);
    MALFORMED(&w, "unexpected end", 3);
    w.n = 0;
    RAW(&w, 0x00, 0x61, 0x73, 0x6E, 0x01, 0x00, 0x00, 0x00);
    MALFORMED(&w, "magic header not detected", 0);
    w.n = 0;
    RAW(&w, 'a', 's', 'm', 0x00);
    MALFORMED(&w, "magic header not detected", 0);
    w.n = 0;
    RAW(&w, 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00);
    MALFORMED(&w, "unexpected end", 7);
    w.n = 0;
    RAW(&w, 0x00, 0x61, 0x73, 0x6D, 0x02, 0x00, 0x00, 0x00);
    MALFORMED(&w, "unknown binary version", 4);
    w.n = 0;
    RAW(&w, 0x00, 0x61, 0x73, 0x6D, 0x00, 0x00, 0x00, 0x01);
    MALFORMED(&w, "unknown binary version", 4);
}

static void test_sections(void)
{
    wbuf w;
    start(&w);
    RAW(&w, 0x0E, 0x00);
    MALFORMED(&w, "malformed section id", 8);
    start(&w);
    RAW(&w, 0x0D, 0x01, 0x00); /* an empty tag section (3.0) */
    NO_EXCEPTIONS(&w, "malformed section id", 8);
    start(&w);
    RAW(&w, 0x0D, 0x01, 0x00, 0x05, 0x01, 0x00); /* tag after memory */
    MALFORMED(&w, "unexpected content after last section", 11);
    start(&w);
    RAW(&w, 0x01);
    MALFORMED(&w, "unexpected end", 9);
    start(&w);
    RAW(&w, 0x01, 0x06, 0x01, 0x60, 0x00, 0x00); /* size 6, 5 bytes left counting the size */
    MALFORMED(&w, "length out of bounds", 9);
    start(&w);
    RAW(&w, 0x01, 0x05, 0x01, 0x60, 0x00, 0x00, 0x00); /* one byte of the section unused */
    MALFORMED(&w, "section size mismatch", 10);
    start(&w);
    RAW(&w, 0x01, 0x03, 0x01, 0x60, 0x00, 0x00); /* contents run past the section */
    MALFORMED(&w, "section size mismatch", 10);
    start(&w);
    RAW(&w, 0x01, 0x04, 0x02, 0x60, 0x00, 0x00); /* second type runs past the module */
    MALFORMED(&w, "unexpected end of section or function", 14);
    start(&w);
    RAW(&w, 0x03, 0x01, 0x00, 0x01, 0x01, 0x00); /* function before type */
    MALFORMED(&w, "unexpected content after last section", 11);
    start(&w);
    RAW(&w, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00); /* type twice */
    MALFORMED(&w, "unexpected content after last section", 11);
    start(&w);
    RAW(&w, 0x0A, 0x01, 0x00, 0x0C, 0x01, 0x00); /* datacount after code */
    MALFORMED(&w, "unexpected content after last section", 11);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    MALFORMED(&w, "function and code section have inconsistent lengths", 18);
    start(&w);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    MALFORMED(&w, "function and code section have inconsistent lengths", 14);
    start(&w);
    SEC(&w, 12, 0x01);
    MALFORMED(&w, "data count and data section have inconsistent lengths", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 12, 0x02);
    SEC(&w, 11, 0x01, 0x01, 0x00);
    MALFORMED(&w, "data count and data section have inconsistent lengths", 21);
    /* Custom sections: the name must fit. */
    start(&w);
    RAW(&w, 0x00, 0x00);
    MALFORMED(&w, "unexpected end", 10);
    start(&w);
    RAW(&w, 0x00, 0x01, 0x03, 'a', 'b', 'c');
    MALFORMED(&w, "unexpected end", 11);
    start(&w);
    RAW(&w, 0x00, 0x09, 0x03, 'a', 'b', 'c');
    MALFORMED(&w, "length out of bounds", 9);
    start(&w);
    SEC(&w, 0, 0x02, 0xC0, 0x80);
    MALFORMED(&w, "malformed UTF-8 encoding", 10);
}

static void test_integers(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    MALFORMED(&w, "integer representation too long", 14);
    start(&w);
    SEC(&w, 1, 0x80, 0x80, 0x80, 0x80, 0x10);
    MALFORMED(&w, "integer too large", 14);
    start(&w);
    SEC(&w, 1, 0x81, 0x80, 0x80, 0x80); /* count runs off the section and the module */
    MALFORMED(&w, "unexpected end of section or function", 14);
    start(&w);
    SEC(&w, 1, 0x02, 0x60, 0x00, 0x00); /* count 2, one type */
    MALFORMED(&w, "unexpected end of section or function", 14);
    start(&w);
    SEC(&w, 1, 0x05, 0x60); /* count beyond the module */
    MALFORMED(&w, "length out of bounds", 10);
}

static void test_types_and_imports(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x01, 0x61, 0x00, 0x00);
    MALFORMED(&w, "malformed function type", 11);
    start(&w);
    SEC(&w, 1, 0x01, 0xE0, 0x7F, 0x00, 0x00);
    MALFORMED(&w, "integer representation too long", 12);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x01, 0x7A, 0x00);
    MALFORMED(&w, "malformed value type", 13);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x01, 0x40);
    MALFORMED(&w, "malformed value type", 14);
    start(&w);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x05, 0x00);
    MALFORMED(&w, "malformed import kind", 13);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x04, 0x00, 0x00); /* a tag (3.0) */
    NO_EXCEPTIONS(&w, "malformed import kind", 19);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x04, 0x01, 0x00); /* a tag attribute other than 0 (an exception) */
    MALFORMED(&w, "malformed tag attribute", 20);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x01, 0x7F);
    SEC(&w, 13, 0x01, 0x00, 0x00); /* a tag whose type has results */
    INVALID(&w, "non-empty tag result type", ANY_OFFSET);
    start(&w);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x80, 0x00);
    MALFORMED(&w, "malformed import kind", 13);
    start(&w);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x03, 0x7F, 0x02);
    MALFORMED(&w, "malformed mutability", 15);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0xFF, 0x41, 0x00, 0x0B);
    MALFORMED(&w, "malformed mutability", 12);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x02, 0x00);
    MALFORMED(&w, "malformed limits flags", 12);
    WASM2_MALFORMED(&w, "integer too large", 12);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x81, 0x00, 0x00, 0x00);
    MALFORMED(&w, "malformed limits flags", 12);
    WASM2_MALFORMED(&w, "integer representation too long", 12);
    start(&w);
    SEC(&w, 4, 0x01, 0x7F, 0x00, 0x00);
    MALFORMED(&w, "malformed reference type", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x08, 0x00);
    MALFORMED(&w, "malformed limits flags", 11);
    WASM2_MALFORMED(&w, "integer too large", 11);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x02, 0x00); /* a table cannot be shared */
    MALFORMED(&w, "malformed limits flags", 12);
    WASM2_MALFORMED(&w, "integer too large", 12);
    start(&w);
    SEC(&w, 5, 0x01, 0x04, 0x00); /* memory64: 2.0 has no such flag */
    WASM2_MALFORMED(&w, "integer too large", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x05, 0x00, 0x80); /* memory64 with a maximum cut short */
    MALFORMED(&w, "unexpected end of section or function", 14);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x06, 0x00); /* no shared table64 either */
    MALFORMED(&w, "malformed limits flags", 12);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x04, 0x00); /* table64 */
    WASM2_MALFORMED(&w, "integer too large", 12);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x01, 0x69, 0x00); /* exnref */
    NO_EXCEPTIONS(&w, "malformed value type", 13);
    start(&w);
    SEC(&w, 1, 0x01, 0x5F, 0x01, 0x7F, 0x02); /* a struct type's field: mutability is 0 or 1 */
    MALFORMED(&w, "malformed mutability", 14);
    start(&w);
    SEC(&w, 5, 0x01, 0x81, 0x00, 0x00);
    MALFORMED(&w, "malformed limits flags", 11); /* 3.0: the flags are a byte */
    WASM2_MALFORMED(&w, "integer representation too long", 11);
    start(&w);
    SEC(&w, 7, 0x01, 0x01, 'a', 0x05, 0x00);
    MALFORMED(&w, "malformed export kind", 13);
    start(&w);
    SEC(&w, 7, 0x01, 0x01, 'a', 0x04, 0x00); /* a tag the module does not have */
    INVALID(&w, "unknown tag 0", ANY_OFFSET);
    start(&w);
    SEC(&w, 3, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    MALFORMED(&w, "integer representation too long", 15);
}

static void test_utf8(void)
{
    static const struct {
        uint8_t bytes[4];
        uint8_t n;
        bool ok;
    } cases[] = {
        {{'a'}, 1, true},
        {{0xC2, 0xA9}, 2, true},             /* U+00A9 */
        {{0xE2, 0x82, 0xAC}, 3, true},       /* U+20AC */
        {{0xF0, 0x9F, 0x98, 0x80}, 4, true}, /* U+1F600 */
        {{0xF4, 0x8F, 0xBF, 0xBF}, 4, true}, /* U+10FFFF */
        {{0xC0, 0x80}, 2, false},            /* overlong NUL */
        {{0xE0, 0x80, 0xAF}, 3, false},      /* overlong */
        {{0xED, 0xA0, 0x80}, 3, false},      /* surrogate */
        {{0xF4, 0x90, 0x80, 0x80}, 4, false}, /* past U+10FFFF */
        {{0xE2, 0x82}, 2, false},            /* truncated */
        {{0x80}, 1, false},                  /* stray continuation */
        {{0xF8, 0x88, 0x80, 0x80}, 4, false}, /* 5-byte lead */
        {{0xC2, 0x41}, 2, false},            /* bad continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wbuf w;
        start(&w);
        uint8_t content[16] = {0x01, cases[i].n};
        memcpy(content + 2, cases[i].bytes, cases[i].n);
        memcpy(content + 2 + cases[i].n, (const uint8_t[]){0x00, 0x02, 0x00, 0x00}, 4);
        section(&w, 2, content, 6u + cases[i].n); /* import memory "<name>" "" */
        if (cases[i].ok) {
            wr_module *m = OK(&w);
            if (m) {
                CHECK(m->imports[0].module_len == cases[i].n);
                CHECK(memcmp(m->imports[0].module, cases[i].bytes, cases[i].n) == 0);
                wr_module_free(m);
            }
        } else {
            MALFORMED(&w, "malformed UTF-8 encoding", 11);
        }
    }
}

static void test_segment_encoding(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 9, 0x01, 0x08);
    MALFORMED(&w, "malformed elements segment kind", 11);
    start(&w);
    SEC(&w, 9, 0x01, 0x01, 0x01, 0x00);
    MALFORMED(&w, "malformed element kind", 12);
    start(&w);
    SEC(&w, 9, 0x01, 0x05, 0x7F, 0x00);
    MALFORMED(&w, "malformed reference type", 12);
    start(&w);
    SEC(&w, 11, 0x01, 0x03);
    MALFORMED(&w, "malformed data segment kind", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 11, 0x01, 0x01, 0x05, 'a', 'b'); /* length past the module */
    MALFORMED(&w, "length out of bounds", 17);
    start(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 11, 0x01, 0x01, 0x03, 'a', 'b'); /* the length byte itself counts as room */
    MALFORMED(&w, "unexpected end of section or function", 20);
    /* Code entries. */
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x03, 0x01, 0x80, 0x80); /* local count runs past the body */
    MALFORMED(&w, "unexpected end of section or function", 25);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x05, 0x01, 0x01, 0x7F, 0x0B); /* body size past the module */
    MALFORMED(&w, "unexpected end of section or function", 26);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x04, 0x01, 0x01, 0x40, 0x0B);
    MALFORMED(&w, "malformed value type", 24);
}

static void test_constexpr_errors(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x06, 0x0B);
    MALFORMED(&w, "illegal opcode 06", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0xFC, 0x20, 0x0B);
    MALFORMED(&w, "illegal opcode fc 20", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x00); /* no end */
    MALFORMED(&w, "unexpected end of section or function", 15);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x0B);
    MALFORMED(&w, "integer too large", 18);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x01, 0x0B);
    INVALID(&w, "constant expression required", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x41, 0x00, 0x6A, 0x0B); /* i32.add: 3.0's extended constants */
    WASM2_INVALID(&w, "constant expression required", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7D, 0x00, 0x43, 0, 0, 0, 0, 0x43, 0, 0, 0, 0, 0x92, 0x0B); /* f32.add is not constant */
    INVALID(&w, "constant expression required", 23);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x42, 0x00, 0x6A, 0x0B); /* i32.add of an i64 */
    INVALID(&w, "type mismatch", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x01, 0x0B);
    INVALID(&w, "constant expression required", 15);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0xFC, 0x00, 0x0B);
    INVALID(&w, "constant expression required", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7B, 0x00, 0xFD, 0x0D, 0x0B);
    INVALID(&w, "constant expression required", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x0B);
    INVALID(&w, "type mismatch", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0B);
    INVALID(&w, "type mismatch", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x42, 0x00, 0x0B);
    INVALID(&w, "type mismatch", 13);
    start(&w);
    SEC(&w, 6, 0x01, 0x70, 0x00, 0xD0, 0x6F, 0x0B);
    INVALID(&w, "type mismatch", 13);
    /* A malformation later in the module wins over an earlier invalid global. */
    start(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x0B);
    RAW(&w, 0x0E, 0x00);
    MALFORMED(&w, "malformed section id", 14);
    /* global.get: immutable globals before this one (3.0); imported ones only in 2.0. */
    start(&w);
    SEC(&w, 6, 0x02, 0x7F, 0x00, 0x41, 0x00, 0x0B, 0x7F, 0x00, 0x23, 0x00, 0x0B);
    WASM2_INVALID(&w, "unknown global 0", 18);
    start(&w);
    SEC(&w, 6, 0x02, 0x7F, 0x00, 0x23, 0x01, 0x0B, 0x7F, 0x00, 0x41, 0x00, 0x0B);
    INVALID(&w, "unknown global 1", 13);
    start(&w);
    SEC(&w, 2, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7F, 0x01);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x23, 0x00, 0x0B);
    INVALID(&w, "constant expression required", 23);
    start(&w);
    SEC(&w, 2, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7E, 0x00);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x23, 0x00, 0x0B);
    INVALID(&w, "type mismatch", 23);
    start(&w);
    SEC(&w, 6, 0x01, 0x70, 0x00, 0xD2, 0x07, 0x0B);
    INVALID(&w, "unknown function 7", 13);
}

/* Memory access flags, checked when the body is translated. 2.0: an alignment exponent over 31 does not
 * decode (malformed, as the spec's align.wast expects); 31 decodes but is over any access (invalid). 3.0
 * (multiple memories): flags below 0x80 decode, bit 6 announcing a memory index, the rest the exponent. */
static void test_memop_flags(void)
{
    static const struct {
        uint8_t flags;
        int kind2;
        const char *msg2;
        int kind3;
        const char *msg3;
    } cases[] = {
        {0x1F, WR_ERR_INVALID, "alignment must not be larger than natural", WR_ERR_INVALID,
         "alignment must not be larger than natural"},
        {0x20, WR_ERR_MALFORMED, "malformed memop flags", WR_ERR_INVALID, "alignment must not be larger than natural"},
        /* 3.0: memory 0, then the offset is the `drop` byte and the body ends with a value left over */
        {0x41, WR_ERR_MALFORMED, "malformed memop flags", WR_ERR_INVALID, "type mismatch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int v3 = 0; v3 < 2; v3++) {
            wbuf w;
            start(&w);
            SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
            SEC(&w, 3, 0x01, 0x00);
            SEC(&w, 5, 0x01, 0x00, 0x01);
            /* i32.const 0, i32.load flags offset=0, drop, end */
            section(&w, 10, (const uint8_t[]){0x01, 0x08, 0x00, 0x41, 0x00, 0x28, cases[i].flags, 0x00, 0x1A, 0x0B},
                    10);
            wr_error err;
            wr_module *m = wr_module_load_features(w.b, w.n, v3 ? WR_FEATURE_ALL : WASM2_FEATURES, &err);
            CHECK(m == NULL);
            if (m) {
                wr_module_free(m);
                continue;
            }
            int kind = v3 ? cases[i].kind3 : cases[i].kind2;
            const char *msg = v3 ? cases[i].msg3 : cases[i].msg2;
            if (err.kind != kind || strcmp(err.message, msg) != 0) {
                fprintf(stderr, "flags %#x (%s): got kind %d \"%s\", expected kind %d \"%s\"\n", cases[i].flags,
                        v3 ? "3.0" : "2.0", err.kind, err.message, kind, msg);
                failures++;
            }
        }
    }
}

/* ---- invalid modules ---- */

static void test_module_rules(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 3, 0x01, 0x05);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    INVALID(&w, "unknown type 5", 11);
    start(&w);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x00, 0x00);
    INVALID(&w, "unknown type 0", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x00, 0x81, 0x80, 0x04);
    INVALID(&w, "memory size must be at most 65536 pages (4GiB)", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x01, 0x00, 0x81, 0x80, 0x04);
    INVALID(&w, "memory size must be at most 65536 pages (4GiB)", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x01, 0x00, 0x80, 0x80, 0x04); /* exactly 65536 pages */
    wr_module *m = OK(&w);
    if (m) {
        CHECK(m->mems[0].max == 65536);
        wr_module_free(m);
    }
    start(&w);
    SEC(&w, 5, 0x01, 0x01, 0x02, 0x01);
    INVALID(&w, "size minimum must not be greater than maximum", 11);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x01, 0x02, 0x01);
    INVALID(&w, "size minimum must not be greater than maximum", 11);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
    m = OK(&w);
    if (m) {
        CHECK(m->tables[0].limits.max == 0xFFFFFFFFu);
        wr_module_free(m);
    }
    start(&w);
    SEC(&w, 5, 0x01, 0x02, 0x01);
    INVALID(&w, "shared memory must have maximum", 11);
    start(&w);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x02, 0x02, 0x01);
    INVALID(&w, "shared memory must have maximum", 11);
    start(&w);
    SEC(&w, 5, 0x02, 0x00, 0x00, 0x00, 0x00);
    WASM2_INVALID(&w, "multiple memories", 13);
    start(&w);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00);
    SEC(&w, 5, 0x01, 0x00, 0x00);
    WASM2_INVALID(&w, "multiple memories", 19);
    /* Two tables are fine in Wasm 2.0. */
    start(&w);
    SEC(&w, 4, 0x02, 0x70, 0x00, 0x00, 0x6F, 0x00, 0x00);
    m = OK(&w);
    if (m) {
        CHECK(m->ntables == 2);
        wr_module_free(m);
    }
}

static void test_exports_and_start(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 7, 0x03, 0x01, 'a', 0x00, 0x00, 0x01, 'b', 0x00, 0x00, 0x01, 'a', 0x00, 0x00);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    INVALID(&w, "duplicate export name", 29);
    start(&w);
    SEC(&w, 7, 0x01, 0x01, 'a', 0x00, 0x00);
    INVALID(&w, "unknown function 0", 11);
    start(&w);
    SEC(&w, 7, 0x01, 0x01, 'a', 0x01, 0x00);
    INVALID(&w, "unknown table 0", 11);
    start(&w);
    SEC(&w, 7, 0x01, 0x01, 'a', 0x02, 0x00);
    INVALID(&w, "unknown memory 0", 11);
    start(&w);
    SEC(&w, 7, 0x01, 0x01, 'a', 0x03, 0x00);
    INVALID(&w, "unknown global 0", 11);
    /* Same name bytes, different lengths, are different names. */
    start(&w);
    SEC(&w, 5, 0x01, 0x00, 0x00);
    SEC(&w, 7, 0x02, 0x01, 'a', 0x02, 0x00, 0x02, 'a', 0x00, 0x02, 0x00);
    wr_module *m = OK(&w);
    if (m) {
        CHECK(m->nexports == 2 && m->exports[1].name_len == 2);
        wr_module_free(m);
    }

    start(&w);
    SEC(&w, 8, 0x00);
    INVALID(&w, "unknown function 0", 10);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x01, 0x7F, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 8, 0x00);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    INVALID(&w, "start function", 21);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 8, 0x00);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    m = OK(&w);
    if (m) {
        CHECK(m->has_start && m->start == 0 && !m->func_declared[0]);
        wr_module_free(m);
    }
}

static void test_segment_rules(void)
{
    wbuf w;
    start(&w);
    SEC(&w, 11, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x01, 'a');
    INVALID(&w, "unknown memory 0", 11);
    start(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 11, 0x01, 0x02, 0x01, 0x41, 0x00, 0x0B, 0x00);
    INVALID(&w, "unknown memory 1", 16);
    start(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 11, 0x01, 0x00, 0x42, 0x00, 0x0B, 0x00);
    INVALID(&w, "type mismatch", 17);
    start(&w);
    SEC(&w, 11, 0x01, 0x01, 0x00); /* passive data needs no memory */
    wr_module *m = OK(&w);
    if (m) {
        CHECK(m->ndatas == 1 && m->datas[0].mode == WR_SEG_PASSIVE);
        wr_module_free(m);
    }
    start(&w);
    SEC(&w, 9, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x00);
    INVALID(&w, "unknown table 0", 11);
    start(&w);
    SEC(&w, 4, 0x01, 0x6F, 0x00, 0x00);
    SEC(&w, 9, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x00); /* funcref segment, externref table */
    INVALID(&w, "type mismatch", 17);
    start(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 9, 0x01, 0x05, 0x6F, 0x01, 0xD2, 0x00, 0x0B); /* ref.func in an externref segment */
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    INVALID(&w, "type mismatch", 24);
    start(&w);
    SEC(&w, 9, 0x01, 0x01, 0x00, 0x01, 0x03);
    INVALID(&w, "unknown function 3", 14);
    start(&w);
    SEC(&w, 4, 0x01, 0x70, 0x00, 0x00);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x0B);
    SEC(&w, 9, 0x01, 0x00, 0x23, 0x00, 0x0B, 0x00); /* offset from a defined global: 3.0 */
    WASM2_INVALID(&w, "unknown global 0", 26);
}

/* Validating a module again gives the same verdict: an extended constant expression whose first instruction's
 * type is not the result's (`i32.const 5; ref.i31` for an anyref global) once failed the second time (found by
 * fuzz_decode on gc/i31's module). */
static void test_validating_twice(void)
{
    static const uint8_t mod[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x06, 0x08,
                                  0x01, 0x6e, 0x00, 0x41, 0x05, 0xfb, 0x1c, 0x0b};
    wr_error err = {0};
    wr_module *m = wr_module_decode(mod, sizeof mod, &err);
    if (!m) {
        fprintf(stderr, "line %d: decode failed: \"%s\" at %u\n", __LINE__, err.message, err.offset);
        failures++;
        return;
    }
    wr_error again = {0};
    if (wr_module_validate(m, &again) != 0) {
        fprintf(stderr, "line %d: validating again: \"%s\" at %u\n", __LINE__, again.message, again.offset);
        failures++;
    }
    wr_module_free(m);
}

int main(void)
{
    test_empty_module();
    test_function_with_locals();
    test_imports();
    test_constant_expressions();
    test_segments();
    test_custom_and_name_sections();
    test_value_types();
    test_locals_limit();
    test_header();
    test_sections();
    test_integers();
    test_types_and_imports();
    test_utf8();
    test_segment_encoding();
    test_constexpr_errors();
    test_memop_flags();
    test_module_rules();
    test_exports_and_start();
    test_segment_rules();
    test_validating_twice();
    return check_result("test_decode");
}
