/* wr_unsupported.h: the WebAssembly 3.0 features the core does not implement
 * yet, recognized by the bytes that introduce them, so that a module using
 * one is rejected with an error naming the feature (WR_ERR_UNSUPPORTED:
 * "exception handling is not supported") rather than one that calls a
 * well-formed 3.0 module malformed ("malformed value type").
 *
 * Each function returns the message, or NULL when the byte means nothing in
 * 3.0 either (then the caller's malformed error stands). Remove an entry when
 * its feature lands (issue 19).
 */
#ifndef WR_UNSUPPORTED_H
#define WR_UNSUPPORTED_H

#include <stddef.h>
#include <stdint.h>

#define WR_NO_EXCEPTIONS   "exception handling is not supported"
#define WR_NO_TYPED_REFS   "typed function references are not supported"
#define WR_NO_GC           "GC is not supported"

/* A value type or reference type byte (and a block type's first byte). */
static inline const char *wr_unsupported_valtype(uint8_t b)
{
    switch (b) {
    case 0x63: /* ref null ht */
    case 0x64: /* ref ht */
        return WR_NO_TYPED_REFS;
    case 0x69: /* exnref */
    case 0x74: /* nullexnref */
        return WR_NO_EXCEPTIONS;
    case 0x6A: /* arrayref */
    case 0x6B: /* structref */
    case 0x6C: /* i31ref */
    case 0x6D: /* eqref */
    case 0x6E: /* anyref */
    case 0x71: /* nullref */
    case 0x72: /* nullexternref */
    case 0x73: /* nullfuncref */
        return WR_NO_GC;
    default:
        return NULL;
    }
}

/* The first byte of a heap type (ref.null's immediate) that is no
 * abstract heap type: a type index (a non-negative s33) names a concrete
 * type, as typed function references do. */
static inline const char *wr_unsupported_heaptype(uint8_t b)
{
    if (b < 0x40 || b >= 0x80)
        return WR_NO_TYPED_REFS;
    return wr_unsupported_valtype(b);
}

/* A one-byte opcode in a function body (0xFB is GC's prefix). */
static inline const char *wr_unsupported_opcode(uint8_t op)
{
    switch (op) {
    case 0x08: /* throw */
    case 0x0A: /* throw_ref */
    case 0x1F: /* try_table */
        return WR_NO_EXCEPTIONS;
    case 0x14: /* call_ref */
    case 0x15: /* return_call_ref */
    case 0xD4: /* ref.as_non_null */
    case 0xD5: /* br_on_null */
    case 0xD6: /* br_on_non_null */
        return WR_NO_TYPED_REFS;
    case 0xD3: /* ref.eq */
    case 0xFB: /* struct, array, i31, casts, extern conversions */
        return WR_NO_GC;
    default:
        return NULL;
    }
}

/* A type section entry's form byte (0x60 is a function type). */
static inline const char *wr_unsupported_typeform(uint8_t form)
{
    switch (form) {
    case 0x4E: /* rec */
    case 0x4F: /* sub final */
    case 0x50: /* sub */
    case 0x5E: /* array */
    case 0x5F: /* struct */
        return WR_NO_GC;
    default:
        return NULL;
    }
}

#define WR_SECTION_TAG     13 /* exception handling's tag section */
#define WR_EXTERN_TAG      4 /* an imported or exported tag */
#define WR_TABLE_WITH_INIT 0x40 /* a table section entry with an initializer (typed function references) */

#endif /* WR_UNSUPPORTED_H */
