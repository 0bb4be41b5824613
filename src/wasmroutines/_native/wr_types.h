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

/* Value types, numbered as their binary encoding. */
typedef enum wr_valtype {
    WR_I32 = 0x7F,
    WR_I64 = 0x7E,
    WR_F32 = 0x7D,
    WR_F64 = 0x7C,
    WR_V128 = 0x7B,
    WR_FUNCREF = 0x70,
    WR_EXTERNREF = 0x6F,
} wr_valtype;

/* Extern kinds, numbered as import/export descriptors are. */
typedef enum wr_externkind {
    WR_EXTERN_FUNC = 0,
    WR_EXTERN_TABLE = 1,
    WR_EXTERN_MEMORY = 2,
    WR_EXTERN_GLOBAL = 3,
} wr_externkind;

/* Operand slots are 64 bits; a v128 takes two consecutive slots.
 * Every other value (i32, i64, f32, f64, references) takes one.
 * i32 and f32 live in the low 32 bits of their slot. */
static inline uint32_t wr_valtype_slots(uint8_t t) { return t == WR_V128 ? 2u : 1u; }
static inline bool wr_valtype_is_ref(uint8_t t) { return t == WR_FUNCREF || t == WR_EXTERNREF; }
static inline bool wr_valtype_is_num(uint8_t t)
{
    return t == WR_I32 || t == WR_I64 || t == WR_F32 || t == WR_F64 || t == WR_V128;
}

/* A v128 value: two 64-bit halves, low half first (little endian lanes). */
typedef struct wr_v128 {
    uint64_t lo, hi;
} wr_v128;

/* A function type. `types` holds the params followed by the results. */
typedef struct wr_functype {
    uint32_t nparams;
    uint32_t nresults;
    uint8_t *types;        /* nparams + nresults wr_valtype bytes */
    uint32_t param_slots;  /* sum of wr_valtype_slots over params */
    uint32_t result_slots; /* same over results */
} wr_functype;

static inline const uint8_t *wr_functype_params(const wr_functype *ft) { return ft->types; }
static inline const uint8_t *wr_functype_results(const wr_functype *ft) { return ft->types + ft->nparams; }
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
    uint8_t elemtype; /* WR_FUNCREF or WR_EXTERNREF */
    wr_limits limits;
} wr_tabletype;

typedef struct wr_globaltype {
    uint8_t type; /* wr_valtype */
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
    WR_ERR_UNSUPPORTED = 5, /* uses a 3.0 feature not implemented yet; the message names it (wr_unsupported.h) */
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
