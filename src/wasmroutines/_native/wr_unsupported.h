/* wr_unsupported.h: the WebAssembly 3.0 features the core does not implement
 * yet, recognized by the bytes that introduce them, so that a module using
 * one is rejected with an error naming the feature (WR_ERR_UNSUPPORTED:
 * "GC is not supported") rather than one that calls a
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

#define WR_NO_GC           "GC is not supported"

/* A value type or reference type byte (and a block type's first byte), or
 * an abstract heap type's (which is the same byte). */
static inline const char *wr_unsupported_valtype(uint8_t b)
{
    switch (b) {
    case 0x6A: /* arrayref */
    case 0x6B: /* structref */
    case 0x6C: /* i31ref */
    case 0x6D: /* eqref */
    case 0x6E: /* anyref */
    case 0x71: /* nullref */
        return WR_NO_GC;
    default:
        return NULL;
    }
}

/* A one-byte opcode in a function body (0xFB is GC's prefix). */
static inline const char *wr_unsupported_opcode(uint8_t op)
{
    switch (op) {
    case 0xD3: /* ref.eq */
    case 0xFB: /* struct, array, i31, casts, extern conversions */
        return WR_NO_GC;
    default:
        return NULL;
    }
}

/* A composite type's form byte (0x60 is a function type). */
static inline const char *wr_unsupported_typeform(uint8_t form)
{
    switch (form) {
    case 0x5E: /* array */
    case 0x5F: /* struct */
        return WR_NO_GC;
    default:
        return NULL;
    }
}


#endif /* WR_UNSUPPORTED_H */
