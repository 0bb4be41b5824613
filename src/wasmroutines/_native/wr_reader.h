/* wr_reader.h: a bounds-checked cursor over module bytes, with the LEB128
 * readers of the binary format. Used by the decoder and the translator.
 *
 * Every reader returns 0 on success or a WR_READ_* code and never reads past
 * `end`. wr_reader_fail() turns a code into the spec suite's wording. */
#ifndef WR_READER_H
#define WR_READER_H

#include <stdint.h>
#include <string.h>

#include "wr_types.h"

typedef struct wr_reader {
    const uint8_t *base; /* start of the module: offsets are relative to it */
    const uint8_t *p;
    const uint8_t *end;
} wr_reader;

enum {
    WR_READ_OK = 0,
    WR_READ_EOF = 1,      /* "unexpected end" */
    WR_READ_TOO_LONG = 2, /* "integer representation too long" */
    WR_READ_TOO_LARGE = 3 /* "integer too large" */
};

/* Value and heap types (wr_valtype.c): 0, a WR_READ_* code, or WR_VT_MALFORMED (no type in 3.0: every
 * value and heap type byte of 3.0 is the core's), with *bad the byte and the reader just past it.
 * wr_read_valtype_from takes the first byte already read. A type index is not checked here. */
enum { WR_VT_MALFORMED = 16 };
enum { WR_BYTE_REF_NULL = 0x63, WR_BYTE_REF = 0x64 };
int wr_read_heaptype(wr_reader *r, wr_valtype *out, uint8_t *bad);
int wr_read_valtype(wr_reader *r, wr_valtype *out, uint8_t *bad);
int wr_read_valtype_from(wr_reader *r, uint8_t b, wr_valtype *out, uint8_t *bad);

static inline uint32_t wr_reader_offset(const wr_reader *r) { return (uint32_t)(r->p - r->base); }
static inline int wr_reader_done(const wr_reader *r) { return r->p >= r->end; }

static inline int wr_read_u8(wr_reader *r, uint8_t *out)
{
    if (r->p >= r->end)
        return WR_READ_EOF;
    *out = *r->p++;
    return WR_READ_OK;
}

static inline int wr_read_bytes(wr_reader *r, uint32_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n)
        return WR_READ_EOF;
    *out = r->p;
    r->p += n;
    return WR_READ_OK;
}

/* Unsigned LEB128 of at most `bits` bits (32 or 64). */
static inline int wr_read_uleb(wr_reader *r, unsigned bits, uint64_t *out)
{
    uint64_t result = 0;
    unsigned shift = 0;
    unsigned maxbytes = (bits + 6) / 7;
    for (unsigned i = 0;; i++) {
        if (r->p >= r->end)
            return WR_READ_EOF;
        uint8_t b = *r->p++;
        if (i == maxbytes - 1) {
            if (b & 0x80)
                return WR_READ_TOO_LONG;
            /* Unused high bits of the last byte must be zero. */
            unsigned used = bits - shift;
            if (used < 7 && (b >> used) != 0)
                return WR_READ_TOO_LARGE;
        }
        result |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    *out = result;
    return WR_READ_OK;
}

/* Signed LEB128 of at most `bits` bits (32, 33 or 64). */
static inline int wr_read_sleb(wr_reader *r, unsigned bits, int64_t *out)
{
    uint64_t result = 0;
    unsigned shift = 0;
    unsigned maxbytes = (bits + 6) / 7;
    uint8_t b;
    for (unsigned i = 0;; i++) {
        if (r->p >= r->end)
            return WR_READ_EOF;
        b = *r->p++;
        if (i == maxbytes - 1) {
            if (b & 0x80)
                return WR_READ_TOO_LONG;
            /* The sign bit and the unused bits above it must all be equal. */
            unsigned used = bits - shift; /* value bits in this byte, 1..7 */
            uint8_t hi = (uint8_t)((b & 0x7F) >> (used - 1));
            if (hi != 0 && hi != (uint8_t)(0x7F >> (used - 1)))
                return WR_READ_TOO_LARGE;
        }
        result |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (shift < 64 && (b & 0x40))
        result |= ~(uint64_t)0 << shift;
    *out = (int64_t)result;
    return WR_READ_OK;
}

static inline int wr_read_u32(wr_reader *r, uint32_t *out)
{
    uint64_t v;
    int rc = wr_read_uleb(r, 32, &v);
    if (rc == WR_READ_OK)
        *out = (uint32_t)v;
    return rc;
}

static inline int wr_read_fixed32(wr_reader *r, uint32_t *out)
{
    if (r->end - r->p < 4)
        return WR_READ_EOF;
    memcpy(out, r->p, 4); /* little endian host (x86-64, ARM64) */
    r->p += 4;
    return WR_READ_OK;
}

static inline int wr_read_fixed64(wr_reader *r, uint64_t *out)
{
    if (r->end - r->p < 8)
        return WR_READ_EOF;
    memcpy(out, r->p, 8);
    r->p += 8;
    return WR_READ_OK;
}

/* Report a failed read as a malformed-module error at the reader's offset. */
static inline int wr_reader_fail(const wr_reader *r, int rc, wr_error *err)
{
    static const char *const msgs[] = {"ok", "unexpected end", "integer representation too long",
                                       "integer too large"};
    return wr_error_set(err, WR_ERR_MALFORMED, wr_reader_offset(r), "%s", msgs[rc & 3]);
}

#endif /* WR_READER_H */
