/* net.c: the accept loop, the connection records and stacks, and the blocking socket helpers (see net.h). */
#include "net.h"

/* A line on stderr: `what`, then `code` in decimal unless it is negative. */
static void say(const char *what, int32_t code)
{
    char line[160];
    uint32_t n = 0;
    while (*what && n < 120)
        line[n++] = *what++;
    if (code >= 0) {
        char digits[12];
        int i = 0;
        uint32_t v = (uint32_t)code;
        do
            digits[i++] = (char)('0' + v % 10);
        while ((v /= 10) && i < 12);
        while (i)
            line[n++] = digits[--i];
    }
    line[n++] = '\n';
    struct {
        const char *buf;
        size_t len;
    } iov = {line, n};
    int32_t written;
    wt_fd_write(2, &iov, 1, &written);
}

int32_t net_recv(int32_t fd, void *buf, uint32_t len)
{
    net_iovec iov = {buf, len};
    for (;;) {
        uint32_t got = 0;
        uint16_t oflags = 0;
        int32_t e = net_sock_recv(fd, &iov, 1, 0, &got, &oflags);
        if (e == 0)
            return (int32_t)got;
        if (e != NET_EINTR)
            return -1;
    }
}

int net_send_all(int32_t fd, const void *buf, uint32_t len)
{
    const char *p = buf;
    while (len) {
        net_iovec iov = {(void *)p, len};
        uint32_t sent = 0;
        int32_t e = net_sock_send(fd, &iov, 1, 0, &sent);
        if (e == NET_EINTR || e == NET_EAGAIN)
            continue; /* the fd blocks, so EAGAIN should not come; if it does, try again */
        if (e != 0 || sent > len)
            return 0;
        p += sent;
        len -= sent;
    }
    return 1;
}

void net_sleep_ms(uint32_t ms)
{
    struct {
        uint64_t userdata;
        uint8_t tag; /* 0: clock */
        uint32_t clock_id __attribute__((aligned(8)));
        uint64_t timeout;
        uint64_t precision;
        uint16_t flags; /* 0: relative */
    } sub;
    _Static_assert(sizeof sub == 48, "WASI's subscription is 48 bytes");
    uint64_t event[4];
    uint32_t count;
    memset(&sub, 0, sizeof sub);
    sub.clock_id = 1; /* monotonic */
    sub.timeout = (uint64_t)ms * 1000000u;
    net_poll_oneoff(&sub, event, 1, &count);
}

int32_t net_listener(void)
{
    uint32_t given = wt_arg(1, 0);
    if (given)
        return (int32_t)given;
    for (int32_t fd = 3; fd < 1024; fd++) {
        uint64_t stat[3]; /* filetype (u8), flags (u16), rights base, rights inheriting */
        int32_t e = net_fd_fdstat_get(fd, stat);
        if (e == 8) /* EBADF: past the preopened fds */
            break;
        if (e == 0 && (uint8_t)stat[0] == NET_FILETYPE_SOCKET_STREAM)
            return fd;
    }
    say("no listening socket: run with --tcplisten HOST:PORT, or give its fd as the first argument", -1);
    wt_proc_exit(2);
}

/* ---- connection records and stacks ----
 * Only the main thread takes them (the accept loop), so the bump allocators need no lock; a finished connection's
 * thread hands its record back on `freed` (many pushers, one taker: a CAS push, the taker swaps the whole list out,
 * which is free of ABA). The record is reused once its thread has set `done` (wt.c, after `serve` returned): from
 * then on the thread touches neither its record nor its stack. */

#define RECORDS_PER_GROW (65536 / sizeof(net_conn))
#define STACKS_PER_GROW  16

static net_conn *freed; /* pushed by finishing threads */
static net_conn *spare; /* the taker's own list */
static net_conn *records, *records_end;
static char *stacks, *stacks_end;

static net_conn *take(void)
{
    if (!spare)
        spare = __atomic_exchange_n(&freed, NULL, __ATOMIC_SEQ_CST);
    if (spare) {
        net_conn *c = spare;
        spare = c->next;
        wt_wait_for(&c->thread.done, 1);
        return c;
    }
    if (records == records_end) {
        records = wt_pages(1);
        if (!records)
            return NULL;
        records_end = records + RECORDS_PER_GROW;
    }
    if (stacks == stacks_end) {
        stacks = wt_pages(STACKS_PER_GROW * NET_STACK / 65536);
        if (!stacks)
            return NULL;
        stacks_end = stacks + STACKS_PER_GROW * NET_STACK;
    }
    net_conn *c = records++;
    c->stack = stacks;
    stacks += NET_STACK;
    return c;
}

static void give_back(net_conn *c)
{
    net_conn *head = __atomic_load_n(&freed, __ATOMIC_SEQ_CST);
    do
        c->next = head;
    while (!__atomic_compare_exchange_n(&freed, &head, c, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
}

static void (*serve_fn)(net_conn *);

static void connection_main(wt_thread *t)
{
    net_conn *c = (net_conn *)t;
    serve_fn(c);
    give_back(c);
}

/* ---- the accept loop ---- */

static void report_once(uint32_t *reported, const char *what, int32_t code)
{
    if (!*reported) {
        *reported = 1;
        say(what, code);
    }
}

_Noreturn void net_serve_forever(int32_t listener, void (*serve)(net_conn *), const char *banner)
{
    static uint32_t accept_said, spawn_said, memory_said;
    serve_fn = serve;
    wt_puts(banner);
    for (;;) {
        int32_t fd = -1;
        int32_t e = net_sock_accept(listener, 0, &fd);
        if (e == NET_EINTR || e == NET_EAGAIN)
            continue;
        if (e == NET_EMFILE || e == NET_ENFILE || e == NET_ENOBUFS || e == NET_ENOMEM) {
            report_once(&accept_said, "sock_accept failed (reported once; 10 ms pause after each), errno ",
                        e);
            net_sleep_ms(10);
            continue;
        }
        if (e != 0) {
            say("sock_accept failed, errno ", e);
            wt_proc_exit(1);
        }
        net_conn *c = take();
        if (!c) {
            report_once(&memory_said,
                        "no linear memory left for a connection's stack: closed it (reported once)", -1);
            net_fd_close(fd);
            net_sleep_ms(10);
            continue;
        }
        c->fd = fd;
        c->thread.fn = connection_main;
        c->thread.arg = c;
        int32_t tid = wt_spawn(&c->thread, c->stack, NET_STACK);
        if (tid <= 0) {
            report_once(&spawn_said,
                        "thread-spawn failed: closed the connection (reported once); its result -", -tid);
            net_fd_close(fd);
            wt_store(&c->thread.done, 1);
            c->next = spare;
            spare = c;
            net_sleep_ms(10);
        }
    }
}
