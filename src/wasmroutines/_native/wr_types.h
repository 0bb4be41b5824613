/* wr_types.h: WebAssembly types shared by the decoder, validator, translator
 * and runtime: value types, function types, limits, and the error record.
 *
 * Naming: every C identifier of the core starts with `wr_` / `WR_`.
 */
#ifndef WR_TYPES_H
#define WR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value types: 32 bits, so that reference types can carry their heap type.
 *
 *   bits 0..7   a code: a number type's binary byte (0x7F i32 .. 0x7B v128),
 *               or, for a reference, its heap type: an abstract heap type's
 *               binary byte (WR_HT_*: 0x70 func, 0x6F extern, ...) or
 *               WR_HT_CONCRETE, a defined type whose index is in bits 9..31
 *   bit 8       WR_REF_NONNULL: a non-nullable reference (ref ht)
 *   bits 9..31  WR_HT_CONCRETE: the type index
 *
 * So (ref null func) is 0x70 and (ref null extern) 0x6F, the 2.0 bytes of
 * funcref and externref, and a heap type is the nullable reference type
 * that has it (the value with bit 8 clear). Which index space a concrete
 * index counts in depends on where the type sits: a module's types (its
 * type section's indices) or a store's (wr_store_intern_type's ids, equal
 * for equivalent types across modules); wr_valtype_map turns the one into
 * the other. Adding an abstract heap type is one line in
 * wr_heaptype_is_abstract (and its top in wr_heaptype_top). */
typedef uint32_t wr_valtype;
enum {
    WR_I32 = 0x7F,
    WR_I64 = 0x7E,
    WR_F32 = 0x7D,
    WR_F64 = 0x7C,
    WR_V128 = 0x7B,
    /* GC's packed storage types (a struct field's or an array element's only; read as an i32). */
    WR_I8 = 0x78,
    WR_I16 = 0x77,
    /* Abstract heap types, numbered as their binary byte. */
    WR_HT_FUNC = 0x70,
    WR_HT_EXTERN = 0x6F,
    WR_HT_NOFUNC = 0x73,   /* the bottom of func: only null */
    WR_HT_NOEXTERN = 0x72, /* the bottom of extern */
    WR_HT_EXN = 0x69,      /* exception handling: a caught exception (wr_runtime.h, wr_exn) */
    WR_HT_NOEXN = 0x74,    /* the bottom of exn: only null */
    /* GC's any hierarchy: none <: i31, struct, array <: eq <: any (docs/interpreter.md: a reference's slot). */
    WR_HT_ANY = 0x6E,
    WR_HT_EQ = 0x6D,
    WR_HT_I31 = 0x6C,
    WR_HT_STRUCT = 0x6B,
    WR_HT_ARRAY = 0x6A,
    WR_HT_NONE = 0x71, /* the bottom of any: only null */
    /* Internal codes (no binary byte): a defined type; the bottom heap type
     * of unreachable code (a subtype of every heap type, wr_translate.c). */
    WR_HT_CONCRETE = 0x01,
    WR_HT_BOT = 0x02,
    /* A type index relative to its own recursion group (a function type
     * that names itself), only inside a store's interned types. */
    WR_HT_REC = 0x03,
    WR_REF_NONNULL = 0x100,
    WR_FUNCREF = WR_HT_FUNC,     /* (ref null func) */
    WR_EXTERNREF = WR_HT_EXTERN, /* (ref null extern) */
    WR_EXNREF = WR_HT_EXN,       /* (ref null exn) */
    WR_NULLEXNREF = WR_HT_NOEXN, /* (ref null noexn), the type of `ref.null noexn` */
    WR_ANYREF = WR_HT_ANY,       /* (ref null any) */
    WR_I31REF = WR_HT_I31,       /* (ref null i31) */
};
#define WR_HT_INDEX_SHIFT 9
#define WR_HT_MAX_INDEX ((1u << (32 - WR_HT_INDEX_SHIFT)) - 1u)

/* The abstract heap types the core knows (their binary bytes). */
static inline bool wr_heaptype_is_abstract(uint32_t code)
{
    switch (code) {
    case WR_HT_FUNC:
    case WR_HT_EXTERN:
    case WR_HT_NOFUNC:
    case WR_HT_NOEXTERN:
    case WR_HT_EXN:
    case WR_HT_NOEXN:
    case WR_HT_ANY:
    case WR_HT_EQ:
    case WR_HT_I31:
    case WR_HT_STRUCT:
    case WR_HT_ARRAY:
    case WR_HT_NONE:
        return true;
    default:
        return false;
    }
}

static inline uint32_t wr_valtype_code(wr_valtype t) { return t & 0xFFu; }
static inline bool wr_valtype_is_num(wr_valtype t)
{
    return t == WR_I32 || t == WR_I64 || t == WR_F32 || t == WR_F64 || t == WR_V128;
}
static inline bool wr_valtype_is_ref(wr_valtype t)
{
    uint32_t c = wr_valtype_code(t);
    return c == WR_HT_CONCRETE || c == WR_HT_BOT || c == WR_HT_REC || wr_heaptype_is_abstract(c);
}
static inline bool wr_valtype_nullable(wr_valtype t) { return !(t & WR_REF_NONNULL); }
/* A reference type's heap type (as the nullable reference type). */
static inline wr_valtype wr_valtype_heap(wr_valtype t) { return t & ~(wr_valtype)WR_REF_NONNULL; }
static inline bool wr_valtype_is_concrete(wr_valtype t) { return wr_valtype_code(t) == WR_HT_CONCRETE; }
static inline uint32_t wr_valtype_index(wr_valtype t) { return t >> WR_HT_INDEX_SHIFT; }
static inline wr_valtype wr_ref_concrete(uint32_t index, bool nullable)
{
    return WR_HT_CONCRETE | (index << WR_HT_INDEX_SHIFT) | (nullable ? 0u : WR_REF_NONNULL);
}
/* A local of this type starts with a default value (0 or null); others must be set before they are read. */
static inline bool wr_valtype_defaultable(wr_valtype t) { return wr_valtype_is_num(t) || wr_valtype_nullable(t); }

/* The top of an abstract heap type's hierarchy: WR_HT_FUNC, WR_HT_EXTERN,
 * WR_HT_EXN or WR_HT_ANY (a concrete one's depends on its defined type:
 * wr_heaptype_top_cx). */
static inline uint32_t wr_heaptype_top(wr_valtype heap)
{
    uint32_t c = wr_valtype_code(heap);
    if (c == WR_HT_EXTERN || c == WR_HT_NOEXTERN)
        return WR_HT_EXTERN;
    if (c == WR_HT_EXN || c == WR_HT_NOEXN)
        return WR_HT_EXN;
    if (c == WR_HT_ANY || c == WR_HT_EQ || c == WR_HT_I31 || c == WR_HT_STRUCT || c == WR_HT_ARRAY || c == WR_HT_NONE)
        return WR_HT_ANY;
    return WR_HT_FUNC;
}

/* A defined type without a declared supertype (WebAssembly 3.0 `sub`). */
#define WR_NO_SUPER UINT32_MAX

/* A defined type's composite type: a function, a struct or an array (GC). */
enum { WR_COMP_FUNC = 0, WR_COMP_STRUCT = 1, WR_COMP_ARRAY = 2 };

/* How defined types compare: `canon` maps a concrete index to one
 * representative of its equivalence class (a module's types: computed when
 * decoding, wr_module.h), or is NULL when indices are canonical already (a
 * store's type ids); `super` gives each index's declared supertype (an
 * index of the same space, or WR_NO_SUPER), or is NULL when none has one;
 * `kind` each index's composite type (WR_COMP_*), or is NULL when all are
 * function types. */
typedef struct wr_typectx {
    const uint32_t *canon;
    const uint32_t *super;
    uint32_t ntypes; /* entries in canon, super and kind */
    const uint8_t *kind;
} wr_typectx;

/* A concrete heap type's composite kind (WR_COMP_*) in `cx`. */
static inline uint8_t wr_typectx_kind(const wr_typectx *cx, uint32_t index)
{
    return cx && cx->kind && index < cx->ntypes ? cx->kind[index] : WR_COMP_FUNC;
}

/* The top of any heap type's hierarchy: a concrete one's is func for a function type, any for a struct or
 * an array. */
static inline uint32_t wr_heaptype_top_cx(wr_valtype heap, const wr_typectx *cx)
{
    if (wr_valtype_code(heap) == WR_HT_CONCRETE)
        return wr_typectx_kind(cx, wr_valtype_index(heap)) == WR_COMP_FUNC ? WR_HT_FUNC : WR_HT_ANY;
    return wr_heaptype_top(heap);
}

/* Subtyping (WebAssembly 3.0 "matching"): a <: b. */
bool wr_heaptype_sub(wr_valtype a, wr_valtype b, const wr_typectx *cx);
bool wr_valtype_sub(wr_valtype a, wr_valtype b, const wr_typectx *cx);
/* Defined type a is b or declares it as a (transitive) supertype. */
bool wr_deftype_sub(uint32_t a, uint32_t b, const wr_typectx *cx);
/* A recursion group's key: equal keys, equivalent groups. `types`, `super`
 * and `final` are the group's `size` entries (super and final may be NULL:
 * no supertypes, all final); `start` is its first type's index: types of the
 * group are named relative to it (WR_HT_REC), types before it through
 * `outside` (their representatives or store ids; NULL: as they are).
 * wr_group_key_words is the key's length. */
struct wr_functype;
uint32_t wr_group_key_words(const struct wr_functype *types, uint32_t size);
void wr_group_key(const struct wr_functype *types, const uint32_t *super, const bool *final, uint32_t start,
                  uint32_t size, const uint32_t *outside, uint32_t *out);
uint32_t wr_key_hash(const uint32_t *key, uint32_t nwords);
/* A module's type with concrete indices mapped through `ids` (to a store's ids). */
wr_valtype wr_valtype_map(wr_valtype t, const uint32_t *ids);
/* "i32", "funcref", "(ref null 3)", ...: into buf, which it returns. */
const char *wr_valtype_name(wr_valtype t, char *buf, size_t cap);

/* Extern kinds, numbered as import/export descriptors are. */
typedef enum wr_externkind {
    WR_EXTERN_FUNC = 0,
    WR_EXTERN_TABLE = 1,
    WR_EXTERN_MEMORY = 2,
    WR_EXTERN_GLOBAL = 3,
    WR_EXTERN_TAG = 4, /* exception handling */
} wr_externkind;

/* Operand slots are 64 bits; a v128 takes two consecutive slots.
 * Every other value (i32, i64, f32, f64, references) takes one.
 * i32 and f32 live in the low 32 bits of their slot. */
static inline uint32_t wr_valtype_slots(wr_valtype t) { return t == WR_V128 ? 2u : 1u; }

/* A v128 value: two 64-bit halves, low half first (little endian lanes). */
typedef struct wr_v128 {
    uint64_t lo, hi;
} wr_v128;

/* A defined type's composite type (the name is the 2.0 one, when every
 * defined type was a function type): `kind` says which (WR_COMP_*).
 *   function  `types` holds the params followed by the results
 *   struct    nparams fields: `types` their storage types (a value type,
 *             WR_I8 or WR_I16), `mut` whether each is mutable, `offsets` each
 *             one's byte offset in an object's fields and then their size
 *             (nparams + 1 entries: wr_struct_layout); nresults is 0
 *   array     one field, the element: nparams is 1, `mut` says if mutable
 * A function type has no `mut` and no `offsets` (NULL). */
typedef struct wr_functype {
    uint32_t nparams;
    uint32_t nresults;
    wr_valtype *types;     /* nparams + nresults value types */
    uint32_t param_slots;  /* sum of wr_valtype_slots over params */
    uint32_t result_slots; /* same over results */
    uint8_t kind;          /* WR_COMP_* */
    uint8_t *mut;          /* struct, array: nparams flags */
    uint32_t *offsets;     /* struct: nparams + 1 */
} wr_functype;

/* A struct's fields at most (wasmtime's limit too): an object's layout fits 32 bits with room to spare. */
#define WR_MAX_FIELDS 10000u

/* A storage type's size in an object: 1, 2, 4, 8 (i64, f64, references) or 16; its value type on the operand
 * stack (a packed type's is i32). */
static inline uint32_t wr_storage_size(wr_valtype st)
{
    switch (st) {
    case WR_I8:
        return 1;
    case WR_I16:
        return 2;
    case WR_I32:
    case WR_F32:
        return 4;
    case WR_V128:
        return 16;
    default:
        return 8;
    }
}
static inline wr_valtype wr_storage_unpacked(wr_valtype st) { return st == WR_I8 || st == WR_I16 ? WR_I32 : st; }
static inline bool wr_storage_packed(wr_valtype st) { return st == WR_I8 || st == WR_I16; }
/* A struct's field offsets: each field at a multiple of its size, in order, the size last (rounded up to 8);
 * `offsets` has nfields + 1 entries. */
void wr_struct_layout(const wr_valtype *fields, uint32_t nfields, uint32_t *offsets);

static inline const wr_valtype *wr_functype_params(const wr_functype *ft) { return ft->types; }
static inline const wr_valtype *wr_functype_results(const wr_functype *ft) { return ft->types + ft->nparams; }
bool wr_functype_equal(const wr_functype *a, const wr_functype *b);

/* Limits of a memory (in 64 KiB pages) or a table (in elements). */
typedef struct wr_limits {
    uint64_t min;
    uint64_t max; /* meaningful only when has_max */
    bool has_max;
    bool shared; /* memories only: the threads proposal's shared flag */
    bool is64;   /* memory64 / table64: i64 addresses (limits in u64) */
} wr_limits;

typedef struct wr_tabletype {
    wr_valtype elemtype; /* a reference type */
    wr_limits limits;
} wr_tabletype;

typedef struct wr_globaltype {
    wr_valtype type;
    bool mutable_;
} wr_globaltype;

#define WR_PAGE_SIZE 65536u
#define WR_MAX_PAGES 65536u /* 4 GiB: the 32-bit address space */
/* What memory64 allows a 64-bit memory to declare: 2^48 pages, the 64-bit address space. The host gives at
 * most WR_MAX_PAGES64 (what one reservation of address space can take; wr_memory.c). */
#define WR_MAX_PAGES_DECL64 ((uint64_t)1 << 48)
#define WR_MAX_PAGES64 ((uint64_t)1 << 30) /* 64 TiB */

/* Load errors: the first error wins; `offset` is the byte offset in the
 * module binary where it was found, `message` is worded like the spec
 * test suite's expected messages ("unexpected end", "type mismatch"). */
typedef enum wr_errkind {
    WR_ERR_NONE = 0,
    WR_ERR_MALFORMED = 1, /* the bytes are not a well-formed binary module */
    WR_ERR_INVALID = 2,   /* well-formed but fails validation */
    WR_ERR_LINK = 3,      /* imports do not match */
    WR_ERR_RESOURCE = 4,  /* out of memory or over a configured limit */
    WR_ERR_UNSUPPORTED = 5, /* uses something the core does not implement; the message names it */
} wr_errkind;

typedef struct wr_error {
    int kind;      /* wr_errkind */
    uint32_t offset;
    char message[256];
} wr_error;

/* Record an error unless one is already recorded (first error wins).
 * Returns kind, so callers can `return wr_error_set(...)`. */
int wr_error_set(wr_error *err, int kind, uint32_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif /* WR_TYPES_H */
