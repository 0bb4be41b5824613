/* test_stackpool.c: the stack pool (reuse, kept pages and their bound) and a thread's stacks (inline first, then
 * a chunk, with soft limits). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

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

static void test_thread_stacks(void)
{
    wr_store *s = wr_store_new();
    wr_thread *t = wr_thread_new(s);
    CHECK(t != NULL);
    if (!t) {
        wr_store_free(s);
        return;
    }
    /* A new thread's stacks are inside it. */
    CHECK(t->stack_map == NULL && t->stack == t->inline_slots &&
          t->frames == t->inline_frames + WR_INLINE_FRAMES);
    CHECK(t->max_frames == WR_INLINE_FRAMES && t->stack_end - t->stack == WR_INLINE_SLOTS);
    CHECK(t->hard_frames == 20000 && t->hard_slots == 1u << 20);
    /* Past them, frames, slots and the pointers into the slots move to a chunk, whose first page takes both. */
    WR_FRAME(t->frames, 0) = (wr_frame){NULL, NULL, NULL}; /* a host entry */
    WR_FRAME(t->frames, 1).ret_fp = t->stack + 10;
    WR_FRAME(t->frames, 2).ret_fp = t->stack + 20;
    for (uint64_t i = 0; i < WR_INLINE_SLOTS; i++)
        t->stack[i] = i;
    t->sp = t->stack + 30;
    CHECK(wr_thread_grow(t, 4, 300, 3) == 0);
    CHECK(t->stack_map != NULL && t->sp == t->stack + 30 && t->stack[40] == 40);
    CHECK(WR_FRAME(t->frames, 0).ret_fp == NULL && WR_FRAME(t->frames, 1).ret_fp == t->stack + 10);
    CHECK(WR_FRAME(t->frames, 2).ret_fp == t->stack + 20 &&
          t->stack[WR_INLINE_SLOTS - 1] == WR_INLINE_SLOTS - 1);
    uintptr_t low = (uintptr_t)(t->frames - t->max_frames), high = (uintptr_t)t->stack_end;
    CHECK(t->max_frames >= 4 && t->stack_end - t->stack >= 300);
    CHECK(low / PAGE == (uintptr_t)t->frames / PAGE && (high - 1) / PAGE == (uintptr_t)t->stack / PAGE);
    /* Growing: whole pages, within the hard limits; past them the right limit is exhausted. */
    CHECK(wr_thread_grow(t, 1000, 5000, 3) == 0);
    CHECK(t->max_frames >= 1000 && t->stack_end - t->stack >= 5000);
    CHECK((uintptr_t)(t->frames - t->max_frames) % PAGE == 0 && (uintptr_t)t->stack_end % PAGE == 0);
    CHECK(wr_thread_grow(t, 20001, 0, 3) == WR_TRAP_STACK_EXHAUSTED && t->exhausted == WR_EXHAUSTED_FRAMES);
    CHECK(wr_thread_grow(t, 0, (1u << 20) + 1, 3) == WR_TRAP_STACK_EXHAUSTED &&
          t->exhausted == WR_EXHAUSTED_SLOTS);
    WR_FRAME(t->frames, 999).ret_pc = NULL; /* all of it is usable */
    t->stack[4999] = 1;
    wr_thread_reset_stacks(t);
    CHECK(t->stack_map == NULL && t->stack == t->inline_slots);
    /* The next thread to move gets the chunk back with what the last one touched, and its limits cover it. */
    CHECK(wr_thread_grow(t, 1, WR_INLINE_SLOTS + 1, 0) == 0);
    CHECK(t->dirty_hi > t->dirty_lo && t->max_frames >= 1000 && t->stack_end - t->stack >= 5000);
    CHECK(t->stack[4999] == 1);
    /* One that went as deep as the store allows gives its pages back to the kernel: over the pool's bound. */
    CHECK(wr_thread_grow(t, 20000, 1u << 20, 0) == 0);
    CHECK(t->max_frames == 20000 && t->stack_end - t->stack == (ptrdiff_t)(1u << 20));
    t->stack_end[-1] = 1;
    wr_thread_reset_stacks(t);
    CHECK(wr_stackpool_hot_bytes(s->stackpool) <= WR_STACKPOOL_HOT_BYTES);
    CHECK(wr_thread_grow(t, 1, WR_INLINE_SLOTS + 1, 0) == 0);
    CHECK(t->dirty_hi == t->dirty_lo && t->stack[(1u << 20) - 1] == 0);
    wr_thread_free(t);
    wr_store_free(s);
}

static void test_no_room_for_a_chunk(void)
{
#ifndef WR_TEST_ASAN /* ASan's shadow memory needs the address space this takes away */
    /* A new thread needs no mapping (its stacks are inline); one that outgrows them with no address space left
     * for a chunk gets a trap, out of memory, and its stacks as they were; later it moves. */
    wr_store *s = wr_store_new();
    wr_thread *t = wr_thread_new(s);
    struct rlimit old, low;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    if (t && pages && getrlimit(RLIMIT_AS, &old) == 0) {
        low = old;
        low.rlim_cur = pages * 4096ul + (2ul << 20); /* room for malloc, not for a chunk */
        CHECK(setrlimit(RLIMIT_AS, &low) == 0);
        wr_thread *other = wr_thread_new(s);
        CHECK(other != NULL && wr_thread_grow(t, 1, WR_INLINE_SLOTS + 1, 0) == WR_TRAP_OUT_OF_MEMORY);
        CHECK(t->stack == t->inline_slots);
        CHECK(setrlimit(RLIMIT_AS, &old) == 0);
        CHECK(wr_thread_grow(t, 1, WR_INLINE_SLOTS + 1, 0) == 0 && t->stack_map != NULL);
        wr_thread_free(other);
    }
    wr_thread_free(t);
    wr_store_free(s);
#endif
}

int main(void)
{
    test_reuse_keeps_touched_pages();
    test_kept_pages_are_bounded();
    test_thread_stacks();
    test_no_room_for_a_chunk();
    return check_result("test_stackpool");
}
