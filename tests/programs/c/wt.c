/* wt.c: the freestanding runtime of the C test programs (see wt.h). */
#include "wt.h"

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

/* Called by thread_start.s on the new thread's own stack. */
void wt_thread_main(int32_t tid, wt_thread *t);
void wt_thread_main(int32_t tid, wt_thread *t)
{
    t->self_tid = tid;
    t->fn(t);
    wt_store(&t->done, 1);
    wt_wake(&t->done, 1);
}

int32_t wt_spawn(wt_thread *t, void *stack_base, uint32_t stack)
{
    t->stack_top = (uint32_t)(uintptr_t)stack_base + stack;
    t->done = 0;
    t->tid = wt_thread_spawn(t);
    return t->tid;
}

void wt_join(wt_thread *t) { wt_wait_for(&t->done, 1); }

void wt_start_all(wt_thread *threads, uint32_t n, void (*fn)(wt_thread *), uint32_t stack)
{
    char *stacks = wt_pages((n * stack + 65535) / 65536);
    if (!stacks)
        wt_proc_exit(3);
    for (uint32_t i = 0; i < n; i++) {
        threads[i].fn = fn;
        threads[i].arg = (void *)(uintptr_t)i;
        if (wt_spawn(&threads[i], stacks + i * stack, stack) <= 0)
            wt_proc_exit(4);
    }
}

static wt_mutex out_lock;

void wt_write(const char *s, size_t n)
{
    struct {
        const char *buf;
        size_t len;
    } iov = {s, n};
    int32_t written;
    wt_lock(&out_lock);
    while (iov.len && wt_fd_write(1, &iov, 1, &written) == 0) {
        iov.buf += written;
        iov.len -= (size_t)written;
    }
    wt_unlock(&out_lock);
}

void wt_puts(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    wt_write(s, n);
}

void wt_putu(uint64_t v)
{
    char buf[24];
    int i = (int)sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    wt_write(buf + i, sizeof buf - (size_t)i);
}

uint32_t wt_arg(int i, uint32_t dflt)
{
    int32_t argc, size;
    if (wt_args_sizes_get(&argc, &size) != 0 || i >= argc || size > 4096 || argc > 64)
        return dflt;
    char *argv[64];
    char buf[4096];
    if (wt_args_get(argv, buf) != 0)
        return dflt;
    const char *s = argv[i];
    if (!*s)
        return dflt;
    uint32_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return dflt;
        v = v * 10 + (uint32_t)(*s - '0');
    }
    return v;
}
