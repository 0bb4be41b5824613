/* test_stackpool.c: the stack pool (reuse, kept pages and their bound) and a thread's soft stack limits. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "wr_exec.h"
#include "wr_stackpool.h"

#define PAGE  4096u
#define CHUNK (16u * PAGE)

static void test_reuse_keeps_touched_pages(void)
{
    wr_stackpool *p = NULL;
    size_t lo, hi;
    uint8_t *a = wr_stackpool_take(&p, CHUNK, &lo, &hi);
    CHECK(a != NULL && lo == 0 && hi == 0);
    CHECK(wr_stackpool_take(&p, CHUNK + PAGE, &lo, &hi) == NULL); /* one size per pool */
    a[0] = 1;
    a[PAGE] = 2;
    wr_stackpool_give(p, a, 0, 2 * PAGE);
    CHECK(wr_stackpool_hot_bytes(p) == 2 * PAGE);
    uint8_t *b = wr_stackpool_take(&p, CHUNK, &lo, &hi);
    CHECK(b == a && lo == 0 && hi == 2 * PAGE); /* the last given, its pages as they were */
    CHECK(b[0] == 1 && b[PAGE] == 2);
    CHECK(wr_stackpool_hot_bytes(p) == 0);
    wr_stackpool_give(p, b, 0, 2 * PAGE);
    wr_stackpool_free(p);
}

static void test_kept_pages_are_bounded(void)
{
    enum { N = 2 * WR_STACKPOOL_HOT_BYTES / PAGE + 10 };
    static uint8_t *chunks[N];
    wr_stackpool *p = NULL;
    size_t lo, hi;
    for (int i = 0; i < N; i++) {
        chunks[i] = wr_stackpool_take(&p, CHUNK, &lo, &hi);
        CHECK(chunks[i] != NULL);
        chunks[i][PAGE] = 7;
    }
    for (int i = 0; i < N; i++) {
        wr_stackpool_give(p, chunks[i], PAGE, 2 * PAGE);
        CHECK(wr_stackpool_hot_bytes(p) <= WR_STACKPOOL_HOT_BYTES);
    }
    /* Newest first: kept pages as they were; the oldest were given back to the kernel (zero, nothing kept). */
    int kept = 0, clean = 0;
    for (int i = N - 1; i >= 0; i--) {
        uint8_t *c = wr_stackpool_take(&p, CHUNK, &lo, &hi);
        CHECK(c == chunks[i]);
        if (hi > lo) {
            CHECK(lo == PAGE && hi == 2 * PAGE && c[PAGE] == 7);
            CHECK(clean == 0); /* the kept ones are the newest */
            kept++;
        } else {
            CHECK(c[PAGE] == 0);
            clean++;
        }
    }
    CHECK(kept > 0 && kept * PAGE <= WR_STACKPOOL_HOT_BYTES && clean > 0);
    for (int i = 0; i < N; i++)
        wr_stackpool_give(p, chunks[i], 0, 0);
    wr_stackpool_free(p);
}

static void test_thread_limits(void)
{
    wr_store *s = wr_store_new();
    wr_thread *t = wr_thread_new(s);
    CHECK(t != NULL);
    if (!t) {
        wr_store_free(s);
        return;
    }
    /* A new thread's limits cover the one page the boundary is in, frames below it and slots above. */
    uintptr_t low = (uintptr_t)(t->frames - t->max_frames), high = (uintptr_t)t->stack_end;
    CHECK(t->max_frames > 0 && t->stack_end > t->stack);
    CHECK(low / PAGE == (uintptr_t)t->frames / PAGE && (high - 1) / PAGE == (uintptr_t)t->stack / PAGE);
    CHECK(t->hard_frames == 20000 && t->stack_limit - t->stack == (ptrdiff_t)(1u << 20));
    /* Growing: whole pages, within the hard limits; past them the right limit is exhausted. */
    CHECK(wr_thread_grow(t, 1000, 5000) == 0);
    CHECK(t->max_frames >= 1000 && t->stack_end - t->stack >= 5000);
    CHECK((uintptr_t)(t->frames - t->max_frames) % PAGE == 0 && (uintptr_t)t->stack_end % PAGE == 0);
    CHECK(wr_thread_grow(t, 20001, 0) == WR_TRAP_STACK_EXHAUSTED && t->exhausted == WR_EXHAUSTED_FRAMES);
    CHECK(wr_thread_grow(t, 0, (1u << 20) + 1) == WR_TRAP_STACK_EXHAUSTED &&
          t->exhausted == WR_EXHAUSTED_SLOTS);
    WR_FRAME(t->frames, 999).ret_pc = NULL; /* all of it is usable */
    t->stack[4999] = 1;
    wr_thread_free(t);
    /* The next thread gets the chunk back with what the last one touched, and its limits cover it. */
    t = wr_thread_new(s);
    CHECK(t != NULL);
    if (!t) {
        wr_store_free(s);
        return;
    }
    CHECK(t->dirty_hi > t->dirty_lo && t->max_frames >= 1000 && t->stack_end - t->stack >= 5000);
    CHECK(t->stack[4999] == 1);
    /* One that went as deep as the store allows gives its pages back to the kernel: over the pool's bound. */
    CHECK(wr_thread_grow(t, 20000, 1u << 20) == 0);
    CHECK(t->max_frames == 20000 && t->stack_end == t->stack_limit);
    t->stack_end[-1] = 1;
    wr_thread_free(t);
    CHECK(wr_stackpool_hot_bytes(s->stackpool) <= WR_STACKPOOL_HOT_BYTES);
    t = wr_thread_new(s);
    CHECK(t != NULL && t->dirty_hi == t->dirty_lo && t->stack_limit[-1] == 0);
    wr_thread_free(t);
    wr_store_free(s);
}

int main(void)
{
    test_reuse_keeps_touched_pages();
    test_kept_pages_are_bounded();
    test_thread_limits();
    return check_result("test_stackpool");
}
