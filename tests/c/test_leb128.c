/* test_leb128.c: unit tests for the bounds-checked reader and LEB128 decoding of wr_reader.h. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "wr_reader.h"

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static wr_reader reader(const uint8_t *b, size_t n)
{
    wr_reader r = {b, b, b + n};
    return r;
}

/* Decode an unsigned LEB of `bits` bits; expect rc, value and bytes consumed. */
static void uleb(unsigned bits, const uint8_t *b, size_t n, int want_rc, uint64_t want, size_t want_len, int line)
{
    wr_reader r = reader(b, n);
    uint64_t v = 0xDEADBEEF;
    int rc = wr_read_uleb(&r, bits, &v);
    if (rc != want_rc || (rc == WR_READ_OK && (v != want || (size_t)(r.p - b) != want_len))) {
        fprintf(stderr, "line %d: uleb%u rc %d (want %d) value %llu (want %llu) len %zu (want %zu)\n", line, bits, rc,
                want_rc, (unsigned long long)v, (unsigned long long)want, (size_t)(r.p - b), want_len);
        failures++;
    }
    CHECK(r.p <= r.end);
}

static void sleb(unsigned bits, const uint8_t *b, size_t n, int want_rc, int64_t want, size_t want_len, int line)
{
    wr_reader r = reader(b, n);
    int64_t v = 0x5EADBEEF;
    int rc = wr_read_sleb(&r, bits, &v);
    if (rc != want_rc || (rc == WR_READ_OK && (v != want || (size_t)(r.p - b) != want_len))) {
        fprintf(stderr, "line %d: sleb%u rc %d (want %d) value %lld (want %lld) len %zu (want %zu)\n", line, bits, rc,
                want_rc, (long long)v, (long long)want, (size_t)(r.p - b), want_len);
        failures++;
    }
    CHECK(r.p <= r.end);
}

#define ULEB(bits, rc, want, len, ...) uleb(bits, BYTES(__VA_ARGS__), rc, want, len, __LINE__)
#define SLEB(bits, rc, want, len, ...) sleb(bits, BYTES(__VA_ARGS__), rc, want, len, __LINE__)

static void test_uleb32(void)
{
    ULEB(32, WR_READ_OK, 0, 1, 0x00);
    ULEB(32, WR_READ_OK, 127, 1, 0x7F);
    ULEB(32, WR_READ_OK, 128, 2, 0x80, 0x01);
    ULEB(32, WR_READ_OK, 624485, 3, 0xE5, 0x8E, 0x26);
    ULEB(32, WR_READ_OK, 1, 1, 0x01, 0xFF); /* stops at the first byte without continuation */
    ULEB(32, WR_READ_OK, 0xFFFFFFFFu, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
    /* Padding with zero groups is allowed up to the maximum length. */
    ULEB(32, WR_READ_OK, 0, 5, 0x80, 0x80, 0x80, 0x80, 0x00);
    ULEB(32, WR_READ_OK, 3, 5, 0x83, 0x80, 0x80, 0x80, 0x00);
    /* A sixth byte is too long, whatever it holds. */
    ULEB(32, WR_READ_TOO_LONG, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    ULEB(32, WR_READ_TOO_LONG, 0, 0, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00);
    /* Unused bits of the fifth byte must be zero. */
    ULEB(32, WR_READ_TOO_LARGE, 0, 0, 0x82, 0x80, 0x80, 0x80, 0x10);
    ULEB(32, WR_READ_TOO_LARGE, 0, 0, 0x82, 0x80, 0x80, 0x80, 0x70);
    ULEB(32, WR_READ_TOO_LARGE, 0, 0, 0x82, 0x80, 0x80, 0x80, 0x40);
    ULEB(32, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F);
    /* Running out of bytes. */
    ULEB(32, WR_READ_EOF, 0, 0, 0x80);
    ULEB(32, WR_READ_EOF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF);
    {
        wr_reader r = reader(NULL, 0);
        uint64_t v;
        CHECK(wr_read_uleb(&r, 32, &v) == WR_READ_EOF);
    }
}

static void test_uleb_small_and_64(void)
{
    /* 1- and 2-bit LEBs: the limits flags. */
    ULEB(1, WR_READ_OK, 0, 1, 0x00);
    ULEB(1, WR_READ_OK, 1, 1, 0x01);
    ULEB(1, WR_READ_TOO_LARGE, 0, 0, 0x02);
    ULEB(1, WR_READ_TOO_LARGE, 0, 0, 0x08);
    ULEB(1, WR_READ_TOO_LONG, 0, 0, 0x81, 0x00);
    ULEB(2, WR_READ_OK, 3, 1, 0x03);
    ULEB(2, WR_READ_TOO_LARGE, 0, 0, 0x04);
    ULEB(2, WR_READ_TOO_LONG, 0, 0, 0x80, 0x00);

    ULEB(64, WR_READ_OK, 0, 1, 0x00);
    ULEB(64, WR_READ_OK, UINT64_MAX, 10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
    ULEB(64, WR_READ_OK, 1ull << 63, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
    ULEB(64, WR_READ_OK, 0, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    ULEB(64, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02);
    ULEB(64, WR_READ_TOO_LONG, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    ULEB(64, WR_READ_EOF, 0, 0, 0x80, 0x80, 0x80);
}

static void test_sleb32(void)
{
    SLEB(32, WR_READ_OK, 0, 1, 0x00);
    SLEB(32, WR_READ_OK, -1, 1, 0x7F);
    SLEB(32, WR_READ_OK, 63, 1, 0x3F);
    SLEB(32, WR_READ_OK, -64, 1, 0x40);
    SLEB(32, WR_READ_OK, 64, 2, 0xC0, 0x00);
    SLEB(32, WR_READ_OK, -65, 2, 0xBF, 0x7F);
    SLEB(32, WR_READ_OK, -123456, 3, 0xC0, 0xBB, 0x78);
    SLEB(32, WR_READ_OK, INT32_MAX, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x07);
    SLEB(32, WR_READ_OK, INT32_MIN, 5, 0x80, 0x80, 0x80, 0x80, 0x78);
    /* Padded forms: zero groups for positives, 0x7F groups for negatives. */
    SLEB(32, WR_READ_OK, 0, 5, 0x80, 0x80, 0x80, 0x80, 0x00);
    SLEB(32, WR_READ_OK, -1, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
    /* The fifth byte's bits above the sign bit must copy it. */
    SLEB(32, WR_READ_TOO_LARGE, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x70);
    SLEB(32, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
    SLEB(32, WR_READ_TOO_LARGE, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x1F);
    SLEB(32, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x4F);
    SLEB(32, WR_READ_TOO_LARGE, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x08);
    SLEB(32, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x77);
    SLEB(32, WR_READ_TOO_LONG, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    SLEB(32, WR_READ_TOO_LONG, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
    SLEB(32, WR_READ_EOF, 0, 0, 0xFF);
}

static void test_sleb33_64(void)
{
    /* s33 block types: -64 is the empty type 0x40, type indices up to 2^32-1. */
    SLEB(33, WR_READ_OK, -64, 1, 0x40);
    SLEB(33, WR_READ_OK, 0xFFFFFFFFll, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
    SLEB(33, WR_READ_OK, -(1ll << 32), 5, 0x80, 0x80, 0x80, 0x80, 0x70);
    SLEB(33, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F);
    SLEB(33, WR_READ_TOO_LARGE, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x60);

    SLEB(64, WR_READ_OK, -1, 1, 0x7F);
    SLEB(64, WR_READ_OK, INT64_MAX, 10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00);
    SLEB(64, WR_READ_OK, INT64_MIN, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F);
    SLEB(64, WR_READ_OK, -1, 10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
    SLEB(64, WR_READ_OK, 1ll << 62, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0xC0, 0x00);
    SLEB(64, WR_READ_TOO_LARGE, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7E);
    SLEB(64, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
    SLEB(64, WR_READ_TOO_LARGE, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02);
    SLEB(64, WR_READ_TOO_LARGE, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x41);
    SLEB(64, WR_READ_TOO_LONG, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    SLEB(64, WR_READ_TOO_LONG, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
}

static void test_reader(void)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0xE5, 0x8E, 0x26};
    wr_reader r = reader(b, sizeof b);
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;
    const uint8_t *p;
    CHECK(wr_read_u8(&r, &u8) == WR_READ_OK && u8 == 0x01);
    CHECK(wr_reader_offset(&r) == 1);
    CHECK(wr_read_fixed32(&r, &u32) == WR_READ_OK && u32 == 0x05040302u);
    CHECK(wr_read_bytes(&r, 4, &p) == WR_READ_OK && p == b + 5);
    CHECK(wr_read_fixed64(&r, &u64) == WR_READ_EOF); /* 3 bytes left: nothing consumed */
    CHECK(wr_reader_offset(&r) == 9);
    CHECK(wr_read_bytes(&r, 4, &p) == WR_READ_EOF);
    CHECK(wr_read_bytes(&r, UINT32_MAX, &p) == WR_READ_EOF);
    CHECK(wr_read_u32(&r, &u32) == WR_READ_OK && u32 == 624485);
    CHECK(wr_reader_done(&r));
    CHECK(wr_read_u8(&r, &u8) == WR_READ_EOF);
    CHECK(wr_read_fixed32(&r, &u32) == WR_READ_EOF);
    CHECK(wr_read_bytes(&r, 0, &p) == WR_READ_OK);

    static const uint8_t f64[] = {0, 0, 0, 0, 0, 0, 0xF0, 0x3F};
    r = reader(f64, sizeof f64);
    CHECK(wr_read_fixed64(&r, &u64) == WR_READ_OK && u64 == 0x3FF0000000000000ull);

    /* u32 through the 32-bit wrapper keeps the value unchanged. */
    static const uint8_t max[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F};
    r = reader(max, sizeof max);
    CHECK(wr_read_u32(&r, &u32) == WR_READ_OK && u32 == UINT32_MAX);
}

static void test_reader_fail(void)
{
    static const uint8_t b[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    wr_reader r = reader(b, sizeof b);
    uint32_t v;
    wr_error err = {0};
    int rc = wr_read_u32(&r, &v);
    CHECK(rc == WR_READ_TOO_LONG);
    CHECK(wr_reader_fail(&r, rc, &err) == WR_ERR_MALFORMED);
    CHECK(err.kind == WR_ERR_MALFORMED && strcmp(err.message, "integer representation too long") == 0);
    CHECK(err.offset == 5);
    /* First error wins. */
    wr_reader_fail(&r, WR_READ_EOF, &err);
    CHECK(strcmp(err.message, "integer representation too long") == 0);

    wr_error e2 = {0};
    wr_reader_fail(&r, WR_READ_EOF, &e2);
    CHECK(strcmp(e2.message, "unexpected end") == 0);
    wr_error e3 = {0};
    wr_reader_fail(&r, WR_READ_TOO_LARGE, &e3);
    CHECK(strcmp(e3.message, "integer too large") == 0);
}

int main(void)
{
    test_uleb32();
    test_uleb_small_and_64();
    test_sleb32();
    test_sleb33_64();
    test_reader();
    test_reader_fail();
    return check_result("test_leb128");
}
