/* wr_module.h: a decoded, validated and translated module.
 *
 * A module is immutable once loaded and may be instantiated any number of
 * times (wasi-threads gives every thread its own instance of one module), so
 * it owns everything instances share: types, translated code, segments.
 *
 * Loading is three stages, each its own file:
 *   wr_decode.c           bytes -> wr_module (sections, module-level checks)
 *   wr_validate_module.c  module-level validation rules (indices, limits, ...)
 *   wr_translate.c        per function: validate the body and translate it to
 *                         internal code (wr_code.h)
 * wr_module_load() runs all three.
 */
#ifndef WR_MODULE_H
#define WR_MODULE_H

#include "wr_types.h"

/* A constant expression: Wasm 2.0 allows one instruction then `end`; 3.0's
 * extended constant expressions add i32/i64 add, sub and mul, and GC adds
 * ref.i31, any.convert_extern, extern.convert_any, struct.new(_default) and
 * array.new(_default, _fixed) (a stack machine over two-word values, so a
 * v128.const may give a struct's field or an array's elements). */
typedef enum wr_constop {
    WR_CONST_I32 = 0x41,
    WR_CONST_I64 = 0x42,
    WR_CONST_F32 = 0x43,
    WR_CONST_F64 = 0x44,
    WR_CONST_V128 = 0xFD, /* v128.const (SIMD issue) */
    WR_CONST_GLOBAL_GET = 0x23,
    WR_CONST_REF_NULL = 0xD0,
    WR_CONST_REF_FUNC = 0xD2,
    WR_CONST_I32_ADD = 0x6A,
    WR_CONST_I32_SUB = 0x6B,
    WR_CONST_I32_MUL = 0x6C,
    WR_CONST_I64_ADD = 0x7C,
    WR_CONST_I64_SUB = 0x7D,
    WR_CONST_I64_MUL = 0x7E,
    /* GC's constant instructions of the 0xFB prefix, numbered as their sub-opcode (only after a first one:
     * each takes an operand). */
    WR_CONST_ANY_CONVERT_EXTERN = 0x1A,
    WR_CONST_EXTERN_CONVERT_ANY = 0x1B,
    WR_CONST_REF_I31 = 0x1C,
    /* GC's allocations, 0x80 + their sub-opcode (0 marks an empty expression): `index` is the type; for
     * array.new_fixed `bits` its count. struct.new_default and array.new_fixed (and struct.new of no
     * field) may come first, taking no operand. */
    WR_CONST_STRUCT_NEW = 0x80,
    WR_CONST_STRUCT_NEW_DEFAULT = 0x81,
    WR_CONST_ARRAY_NEW = 0x86,
    WR_CONST_ARRAY_NEW_DEFAULT = 0x87,
    WR_CONST_ARRAY_NEW_FIXED = 0x88,
} wr_constop;

/* An instruction of an extended constant expression after its first. */
typedef struct wr_constinsn {
    uint8_t op;     /* wr_constop */
    wr_valtype type; /* its result (0 for global.get until validated) */
    uint32_t index; /* global.get: the global; ref.func: the function */
    uint64_t bits;  /* a constant's bits (f32/f64 raw; v128's low half); array.new_fixed: its count */
    uint64_t hi;    /* v128.const: the high half */
} wr_constinsn;

/* The deepest operand stack an extended constant expression may need:
 * validation types it on a fixed array and rejects a deeper one ("constant
 * expression too deep"), an implementation limit no toolchain comes near. */
#define WR_CONSTEXPR_MAX_DEPTH 1024

typedef struct wr_constexpr {
    uint8_t op;       /* wr_constop of the first (usually only) instruction */
    wr_valtype type;  /* the first instruction's result (filled by validation for global.get and ref.func); an
                       * extended expression's is not kept, so validating twice gives the same verdict */
    uint32_t index;   /* global index (global.get) or function index (ref.func) */
    uint64_t bits[2]; /* the constant's bits (f32/f64 as raw bits; v128 uses both) */
    uint32_t offset;  /* byte offset of the expression in the module, for errors */
    /* Extended constant expressions: the instructions after the first
     * (nmore == 0 for a 2.0 one). */
    uint32_t nmore;
    wr_constinsn *more;
} wr_constexpr;

#define WR_LIMITS_64 4        /* limits flag: a 64-bit memory or table (memory64, table64) */
#define WR_MEMARG_MEMIDX 0x40 /* memarg flag: a memory index follows (multiple memories) */

typedef struct wr_import {
    char *module; /* NUL-terminated copies; names may contain NUL only if */
    char *name;   /* module_len/name_len say so (UTF-8 is validated) */
    uint32_t module_len, name_len;
    uint8_t kind; /* wr_externkind */
    union {
        uint32_t func_type; /* type index */
        wr_tabletype table;
        wr_limits memory;
        wr_globaltype global;
        uint32_t tag_type; /* a tag: its type index (a function type with no results) */
    } desc;
    uint32_t offset; /* byte offset of the import entry, for errors */
} wr_import;

typedef struct wr_export {
    char *name;
    uint32_t name_len;
    uint8_t kind; /* wr_externkind */
    uint32_t index;
    uint32_t offset; /* byte offset of the export entry, for errors */
} wr_export;

typedef struct wr_global_def {
    wr_globaltype type;
    wr_constexpr init;
} wr_global_def;

typedef enum wr_segmode { WR_SEG_ACTIVE = 0, WR_SEG_PASSIVE = 1, WR_SEG_DECLARATIVE = 2 } wr_segmode;

typedef struct wr_elem_segment {
    uint8_t mode;     /* wr_segmode */
    wr_valtype elemtype; /* a reference type */
    uint32_t table;   /* active only */
    wr_constexpr offset; /* active only */
    uint32_t count;
    wr_constexpr *items; /* count items: ref.func, ref.null or global.get */
    uint32_t offset_in_module; /* byte offset of the segment, for errors */
} wr_elem_segment;

typedef struct wr_data_segment {
    uint8_t mode;   /* WR_SEG_ACTIVE or WR_SEG_PASSIVE */
    uint32_t memory;
    wr_constexpr offset; /* active only */
    uint32_t size;
    const uint8_t *bytes; /* points into wr_module.bytes */
    uint32_t offset_in_module; /* byte offset of the segment, for errors */
} wr_data_segment;

/* A run of locals of one type, as the code section declares them. */
typedef struct wr_local_run {
    uint32_t count;
    wr_valtype type;
} wr_local_run;

struct wr_code; /* wr_code.h */

typedef struct wr_func_def {
    uint32_t type; /* type index */
    uint32_t type_offset; /* byte offset of the type index, for errors */
    /* Filled by the decoder for defined (non-imported) functions: */
    uint32_t nlocal_runs;
    wr_local_run *local_runs; /* locals beyond the params */
    uint32_t nlocals;         /* total locals beyond the params */
    const uint8_t *body;      /* first instruction byte (after the locals) */
    const uint8_t *body_end;  /* one past the final `end` */
    uint32_t body_offset;     /* offset of `body` in the module bytes */
    uint32_t code_offset;     /* offset of the function's code entry (its size field) */
    /* Filled by the translator: */
    struct wr_code *code;
} wr_func_def;

typedef struct wr_custom_section {
    char *name;
    uint32_t name_len;
    const uint8_t *data; /* points into wr_module.bytes */
    uint32_t size;
} wr_custom_section;

typedef struct wr_module {
    uint8_t *bytes; /* owned copy of the binary; other pointers point in here */
    size_t size;

    uint32_t ntypes;
    wr_functype *types;
    /* Recursion groups and subtyping (WebAssembly 3.0 `rec`, `sub`): each
     * type's declared supertype (WR_NO_SUPER: none), whether it is final,
     * and its group (first index, size; a type outside `rec` is a group of
     * its own). */
    uint32_t *type_super;
    bool *type_final;
    uint8_t *type_kind; /* each type's composite kind (WR_COMP_*: types[i].kind), for wr_typectx */
    uint32_t *type_group, *type_group_size;
    /* Each type's representative: the type at the same place in the first
     * recursion group equivalent to its own (the same structure, types
     * before the group named by their representatives, types of the group by
     * their place in it; wr_decode.c). Equivalent types are one type for
     * validation (wr_module_typectx). */
    uint32_t *type_canon;

    uint32_t nimports;
    wr_import *imports;

    /* Index spaces: imports come first in each. */
    uint32_t nfuncs, nfunc_imports;
    wr_func_def *funcs; /* nfuncs entries; imported ones only have `type` */
    uint32_t ntables, ntable_imports;
    wr_tabletype *tables;
    /* Defined tables' initializers (a table type prefixed 0x40 0x00, typed
     * function references): has_init false means null. Imports' entries unused. */
    wr_constexpr *table_inits;
    bool *table_has_init;
    uint32_t nmems, nmem_imports;
    wr_limits *mems;
    /* Byte offsets of each table's / memory's type (imports included), for
     * validation errors. */
    uint32_t *table_offsets, *mem_offsets;
    uint32_t nglobals, nglobal_imports;
    wr_global_def *globals; /* imported ones only have `type` */
    /* Exception handling's tags: each one's type index (its params are the
     * payload, it has no results) and byte offset, imports first. */
    uint32_t ntags, ntag_imports;
    uint32_t *tags, *tag_offsets;

    uint32_t nexports;
    wr_export *exports;

    bool has_start;
    uint32_t start;
    uint32_t start_offset; /* byte offset of the start function index */

    uint32_t nelems;
    wr_elem_segment *elems;

    bool has_datacount;
    uint32_t datacount;
    uint32_t ndatas;
    wr_data_segment *datas;

    /* Functions that may be referenced by ref.func in code: those in elem
     * segments, exports and global initializers (the spec's C.refs). */
    bool *func_declared; /* nfuncs flags */

    uint32_t ncustoms;
    wr_custom_section *customs;

    /* The first tail call in a function body (wr_translate.c), for
     * wr_module_check_features: its opcode and byte offset (0: none). */
    uint8_t tail_call_op;
    uint32_t tail_call_offset;
    /* Its first use of typed function references (a reference type beyond
     * funcref and externref, a table initializer, call_ref, ...; wr_decode.c
     * and wr_translate.c), for the feature check: a byte offset (0: none). */
    uint32_t typed_refs_offset;
    /* Its first recursion group or declared subtype (`rec`, `sub`: GC's type
     * system, wr_decode.c), for the feature check (WR_FEATURE_GC): 0 none. */
    uint32_t gc_types_offset;
    /* Its first use of GC's abstract heap types or instructions (anyref .. nullref, ref.eq, the 0xFB prefix),
     * for the same check: 0 none. */
    uint32_t gc_offset;
    /* Its first relaxed SIMD instruction (0xFD prefix byte; 0: none), for the feature check. */
    uint32_t relaxed_simd_offset;
    /* Its first use of exception handling (a tag, exnref, throw, throw_ref, try_table; 0: none), for the
     * feature check: the byte's offset and what the 2.0 decoder says of it. */
    uint32_t exn_offset;
    const char *exn_malformed;
    /* The proposals it is loaded with (WR_FEATURE_*): the decoder reads limits, the translator memargs and
     * memory indices as 2.0 does without memory64 and multiple memories. */
    uint32_t features;

    /* From the "name" custom section, when present and well formed. */
    char *name;       /* module name or NULL */
    char **func_names; /* nfuncs entries, NULL where unnamed; NULL if no names */
} wr_module;

/* Decode `size` bytes into a new module (copies the bytes). Checks everything
 * the binary format requires (malformed) and the module-level validation
 * rules (invalid), but not function bodies. Returns NULL and fills `err` on
 * failure. Resets `*err` first. */
wr_module *wr_module_decode(const uint8_t *bytes, size_t size, wr_error *err);

/* Module-level validation (wr_validate_module.c); called by wr_module_decode. */
int wr_module_validate(wr_module *m, wr_error *err);

/* Validate and translate every function body (wr_translate.c). */
int wr_module_translate(wr_module *m, wr_error *err);

/* Decode + validate + translate. */
wr_module *wr_module_load(const uint8_t *bytes, size_t size, wr_error *err);

/* The same with only the proposals in `features` (WR_FEATURE_*), then wr_module_check_features. */
wr_module *wr_module_load_features(const uint8_t *bytes, size_t size, uint32_t features, wr_error *err);

/* Proposals a module may use. Everything is on by default; turning one off
 * validates as a runtime without it would (wasmtime's --wasm flags), e.g.
 * the threads proposal's own test suite predates reference types. */
enum {
    WR_FEATURE_REFERENCE_TYPES = 1, /* today: more than one table */
    /* WebAssembly 3.0's extended constant expressions: i32/i64 add, sub and
     * mul in a constant expression. */
    WR_FEATURE_EXTENDED_CONST = 2,
    /* What 3.0 took from the GC proposal; today this: a constant expression
     * may read (global.get) an immutable global the module itself defines,
     * not only an imported one (one defined before it, in a global's
     * initializer); recursion groups and declared subtypes (`rec`, `sub`). */
    WR_FEATURE_GC = 4,
    /* WebAssembly 3.0's tail calls: return_call, return_call_indirect
     * (without it their opcodes are illegal, as in 2.0). */
    WR_FEATURE_TAIL_CALL = 8,
    /* WebAssembly 3.0's relaxed SIMD (0xFD 0x100 .. 0x113; without it those
     * opcodes are illegal, as in 2.0). 16 is the host's own (core/types.py). */
    WR_FEATURE_RELAXED_SIMD = 32,
    /* WebAssembly 3.0's typed function references: (ref null? ht) value
     * types, call_ref, return_call_ref, ref.as_non_null, br_on_null,
     * br_on_non_null, tables with an initializer. */
    WR_FEATURE_FUNCTION_REFERENCES = 64,
    /* WebAssembly 3.0's exception handling: tags, exnref, throw, throw_ref, try_table (without it their
     * encodings are malformed, as in 2.0). */
    WR_FEATURE_EXCEPTIONS = 128,
    /* WebAssembly 3.0's multiple memories (memory indices in memargs and memory instructions; without it
     * one memory, memory indices are zero bytes and memarg flags of 32 or more are malformed, as in 2.0). */
    WR_FEATURE_MULTI_MEMORY = 0x100,
    /* WebAssembly 3.0's memory64 and table64 (limits flag 4: i64 addresses; without it that flag is
     * malformed, "integer too large", as in 2.0). */
    WR_FEATURE_MEMORY64 = 0x200,
    WR_FEATURE_ALL = 0xFFFFFFFFu,
};

/* Check a decoded module against a feature set (wr_validate_module.c). */
int wr_module_check_features(const wr_module *m, uint32_t features, wr_error *err);

void wr_module_free(wr_module *m);

/* Type of a global / table / memory / function by index (imports included). */
/* Whether a value type is one of 2.0 (numbers, funcref, externref); others need typed function references. */
static inline bool wr_valtype_is_2_0(wr_valtype t)
{
    return wr_valtype_is_num(t) || t == WR_FUNCREF || t == WR_EXTERNREF;
}

/* Note what a value type read at `offset` needs beyond 2.0: exception handling (exnref, nullexnref: a 2.0
 * decoder says `malformed` there) and typed function references (any other reference type but funcref and
 * externref, and exnref's long forms). */
static inline void wr_module_note_exn(wr_module *m, uint32_t offset, const char *malformed);
static inline void wr_module_note_typed_refs(wr_module *m, uint32_t offset);
static inline void wr_module_note_gc(wr_module *m, uint32_t offset);
static inline void wr_module_note_valtype(wr_module *m, wr_valtype t, uint32_t offset, const char *malformed)
{
    uint32_t code = wr_valtype_code(t);
    bool exn = wr_valtype_is_ref(t) && (code == WR_HT_EXN || code == WR_HT_NOEXN);
    if (exn)
        wr_module_note_exn(m, offset, malformed);
    if (!wr_valtype_is_2_0(t) && !(exn && wr_valtype_nullable(t)))
        wr_module_note_typed_refs(m, offset);
    if (wr_valtype_is_ref(t) && wr_heaptype_top(t) == WR_HT_ANY && !wr_valtype_is_concrete(t))
        wr_module_note_gc(m, offset);
}

/* Note the module's first use of GC (its abstract heap types or instructions), at `offset`. */
static inline void wr_module_note_gc(wr_module *m, uint32_t offset)
{
    if (m->gc_offset == 0)
        m->gc_offset = offset ? offset : 1;
}

/* Note the module's first use of typed function references, at `offset`. */
static inline void wr_module_note_typed_refs(wr_module *m, uint32_t offset)
{
    if (m->typed_refs_offset == 0)
        m->typed_refs_offset = offset ? offset : 1;
}

/* Whether table `i` has an initializer (a module built by hand may have no array). */
static inline bool wr_module_table_has_init(const wr_module *m, uint32_t i)
{
    return m->table_has_init && m->table_has_init[i];
}

/* How the module's defined types compare (wr_types.h). */
static inline wr_typectx wr_module_typectx(const wr_module *m)
{
    wr_typectx cx = {m->type_canon, m->type_super, m->ntypes, m->type_kind};
    return cx;
}

/* Type `i` when it is a function type (a type index that must name one: a function's, a block's, a call's, a
 * tag's), else NULL. */
static inline const wr_functype *wr_module_functype(const wr_module *m, uint32_t i)
{
    return i < m->ntypes && m->types[i].kind == WR_COMP_FUNC ? &m->types[i] : NULL;
}

static inline const wr_functype *wr_module_func_type(const wr_module *m, uint32_t funcidx)
{
    return &m->types[m->funcs[funcidx].type];
}

/* Note the module's first use of exception handling at `offset` (for wr_module_check_features), with the
 * malformed error a 2.0 decoder gives there. */
static inline void wr_module_note_exn(wr_module *m, uint32_t offset, const char *malformed)
{
    if (m->exn_offset == 0) {
        m->exn_offset = offset;
        m->exn_malformed = malformed;
    }
}

#endif /* WR_MODULE_H */
