/* wt.h: the little runtime of the freestanding C test programs: WASI output and argv, futexes, threads.
 *
 * No libc: the imports are declared here (wasi_snapshot_preview1 for I/O, wasi's thread-spawn),
 * thread stacks come from memory.grow, and thread_start.s sets a new thread's __stack_pointer
 * before any C runs (a new instance starts with the main thread's stack pointer). */
#ifndef WT_H
#define WT_H

#include <stddef.h>
#include <stdint.h>

#define WT_IMPORT(mod, name) __attribute__((import_module(mod), import_name(name)))
#define WT_EXPORT(name) __attribute__((export_name(name)))

WT_IMPORT("wasi_snapshot_preview1", "fd_write") int32_t wt_fd_write(int32_t fd, const void *iovs, int32_t n, int32_t *written);
WT_IMPORT("wasi_snapshot_preview1", "args_sizes_get") int32_t wt_args_sizes_get(int32_t *argc, int32_t *size);
WT_IMPORT("wasi_snapshot_preview1", "args_get") int32_t wt_args_get(char **argv, char *buf);
WT_IMPORT("wasi_snapshot_preview1", "proc_exit") _Noreturn void wt_proc_exit(int32_t code);
WT_IMPORT("wasi_snapshot_preview1", "sched_yield") int32_t wt_sched_yield(void);
WT_IMPORT("wasi_snapshot_preview1", "poll_oneoff") int32_t wt_poll_oneoff(const void *in, void *out, int32_t n, int32_t *nevents);
WT_IMPORT("wasi", "thread-spawn") int32_t wt_thread_spawn(void *start);

/* ---- memory ---- */

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

/* Pages straight from memory.grow (never freed): thread stacks and tables. NULL when memory is full. */
static inline void *wt_pages(uint32_t pages)
{
    size_t old = __builtin_wasm_memory_grow(0, pages);
    return old == (size_t)-1 ? NULL : (void *)(old * 65536);
}

/* ---- atomics and futexes ---- */

static inline uint32_t wt_load(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void wt_store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t wt_add(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }

static inline uint32_t wt_cmpxchg(uint32_t *p, uint32_t expected, uint32_t desired)
{
    __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected; /* the value found */
}

/* memory.atomic.wait32 until woken (or *p != expected); 0 ok, 1 not-equal, 2 timed out. */
static inline int wt_wait(uint32_t *p, uint32_t expected, int64_t timeout_ns)
{
    return __builtin_wasm_memory_atomic_wait32((int *)p, (int)expected, timeout_ns);
}

static inline uint32_t wt_wake(uint32_t *p, uint32_t count) { return __builtin_wasm_memory_atomic_notify((int *)p, count); }

/* Wait until *p == want. */
static inline void wt_wait_for(uint32_t *p, uint32_t want)
{
    for (uint32_t v; (v = wt_load(p)) != want;)
        wt_wait(p, v, -1);
}

/* A futex mutex (Drepper's "Futexes are tricky", take 3): 0 free, 1 locked, 2 locked with waiters. */
typedef struct {
    uint32_t state;
} wt_mutex;

static inline void wt_lock(wt_mutex *m)
{
    uint32_t c = wt_cmpxchg(&m->state, 0, 1);
    if (c == 0)
        return;
    if (c != 2)
        c = __atomic_exchange_n(&m->state, 2, __ATOMIC_SEQ_CST);
    while (c != 0) {
        wt_wait(&m->state, 2, -1);
        c = __atomic_exchange_n(&m->state, 2, __ATOMIC_SEQ_CST);
    }
}

static inline void wt_unlock(wt_mutex *m)
{
    if (__atomic_exchange_n(&m->state, 0, __ATOMIC_SEQ_CST) == 2)
        wt_wake(&m->state, 1);
}

/* ---- threads ---- */

/* What thread_start.s reads: the new stack's top first. */
typedef struct wt_thread {
    uint32_t stack_top;
    void (*fn)(struct wt_thread *);
    void *arg;
    int32_t tid;      /* thread-spawn's result, as the spawner saw it */
    int32_t self_tid; /* wasi_thread_start's tid, as the thread saw it */
    uint32_t done;    /* 1 once fn returned (futex) */
} wt_thread;

/* Start t->fn(t) on a new thread with a stack of `stack` bytes at `stack_base`; the tid or a negative value. */
int32_t wt_spawn(wt_thread *t, void *stack_base, uint32_t stack);
void wt_join(wt_thread *t);
/* Start fn on n threads (threads[i].arg = i), each on a stack of `stack` bytes from fresh pages; the program exits
 * with status 3 when memory is full, 4 when a spawn fails. */
void wt_start_all(wt_thread *threads, uint32_t n, void (*fn)(wt_thread *), uint32_t stack);

/* ---- output and arguments ---- */

void wt_write(const char *s, size_t n);
void wt_puts(const char *s); /* no newline added */
void wt_putu(uint64_t v);
/* Argument `i` (0 is the program name) as an unsigned number, or `dflt` when absent or not a number. */
uint32_t wt_arg(int i, uint32_t dflt);

#endif
