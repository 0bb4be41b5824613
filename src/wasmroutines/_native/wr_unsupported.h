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

/* A one-byte opcode in a function body (0xFB is GC's prefix). */
static inline const char *wr_unsupported_opcode(uint8_t op)
{
    switch (op) {
    case 0xFB: /* struct and array (wr_unsupported_gc_op: which of GC's instructions are) */
        return WR_NO_GC;
    default:
        return NULL;
    }
}

/* An instruction of GC's 0xFB prefix: struct.* and array.* (0x00 .. 0x13); the casts, extern conversions and
 * i31 (0x14 .. 0x1E) are in. */
static inline const char *wr_unsupported_gc_op(uint32_t sub)
{
    return sub <= 0x13 ? WR_NO_GC : NULL;
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
