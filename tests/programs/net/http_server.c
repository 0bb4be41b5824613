/* http_server.c: a thread-per-connection HTTP/1.1 keep-alive server, written as an ordinary threaded program.
 *
 * Same shape as echo_server.c (net.h: a blocking accept loop, one thread per connection on a NET_STACK (16 KiB)
 * stack). Each connection's thread reads a request's head into a NET_BUFFER (4 KiB) buffer until CRLFCRLF, parses
 * the request line and the headers it needs (Content-Length, Connection, Transfer-Encoding), reads and drops the
 * body, and answers every request with the same small body (HELLO) and its Content-Length. HTTP/1.1 keeps the
 * connection open unless the request says `Connection: close`; HTTP/1.0 closes it unless it says `keep-alive`.
 * Pipelined requests are answered in order. A head larger than the buffer gets 431, a malformed one 400, a chunked
 * body 501; each of those closes the connection. The server never exits; its one line on stdout says it is ready.
 * Usage: http_server [LISTEN_FD]. */
#include "net.h"

#define HELLO   "hello, world\n"
#define HEAD_OK "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
_Static_assert(sizeof HELLO - 1 == 13, "Content-Length is HELLO's length");

static uint32_t length(const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    return n;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Whether s[0..n) equals the lower-case `word`, ignoring case. */
static int same(const char *s, uint32_t n, const char *word)
{
    uint32_t i = 0;
    for (; i < n && word[i]; i++)
        if (lower(s[i]) != word[i])
            return 0;
    return i == n && !word[i];
}

/* Whether the comma-separated list s[0..n) has `token` (lower-case), ignoring case and spaces. */
static int has_token(const char *s, uint32_t n, const char *token)
{
    uint32_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
            i++;
        uint32_t start = i;
        while (i < n && s[i] != ',')
            i++;
        uint32_t end = i;
        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        if (end > start && same(s + start, end - start, token))
            return 1;
    }
    return 0;
}

/* The offset just past the first CRLFCRLF in buf[0..n), or 0. */
static uint32_t head_end(const char *buf, uint32_t n)
{
    for (uint32_t i = 3; i < n; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

typedef struct {
    int ok; /* 0: malformed */
    int head; /* a HEAD request: no body in the answer */
    int keep_alive; /* keep the connection open after the answer */
    int old; /* HTTP/1.0: keep-alive must be said in the answer */
    int chunked; /* Transfer-Encoding other than identity: not supported */
    uint64_t body; /* Content-Length */
} request;

/* Parse the head buf[0..n) (n just past its CRLFCRLF). */
static request parse(const char *buf, uint32_t n)
{
    request r = {0, 0, 0, 0, 0, 0};
    uint32_t i = 0, sp1 = 0, sp2 = 0;
    while (i < n && buf[i] != '\r') {
        if (buf[i] == ' ') {
            if (!sp1)
                sp1 = i;
            else if (!sp2)
                sp2 = i;
            else
                return r;
        }
        i++;
    }
    if (!sp1 || !sp2 || sp2 == sp1 + 1 || i + 1 >= n || buf[i + 1] != '\n')
        return r;
    const char *version = buf + sp2 + 1;
    uint32_t vlen = i - sp2 - 1;
    int minor;
    if (same(version, vlen, "http/1.1"))
        minor = 1;
    else if (same(version, vlen, "http/1.0"))
        minor = 0;
    else
        return r;
    r.head = same(buf, sp1, "head");
    int close = 0, keep = 0;
    i += 2;
    while (i + 2 <= n && !(buf[i] == '\r' && buf[i + 1] == '\n')) { /* one header line */
        uint32_t start = i, colon = 0;
        while (i < n && buf[i] != '\r') {
            if (buf[i] == ':' && !colon)
                colon = i;
            i++;
        }
        if (!colon || i + 1 >= n || buf[i + 1] != '\n')
            return r;
        const char *value = buf + colon + 1;
        uint32_t vn = i - colon - 1;
        while (vn && (*value == ' ' || *value == '\t'))
            value++, vn--;
        while (vn && (value[vn - 1] == ' ' || value[vn - 1] == '\t'))
            vn--;
        if (same(buf + start, colon - start, "content-length")) {
            if (!vn)
                return r;
            uint64_t v = 0;
            for (uint32_t k = 0; k < vn; k++) {
                if (value[k] < '0' || value[k] > '9' || v > 1000000000000ull)
                    return r;
                v = v * 10 + (uint64_t)(value[k] - '0');
            }
            r.body = v;
        } else if (same(buf + start, colon - start, "connection")) {
            close |= has_token(value, vn, "close");
            keep |= has_token(value, vn, "keep-alive");
        } else if (same(buf + start, colon - start, "transfer-encoding")) {
            r.chunked |= !same(value, vn, "identity");
        }
        i += 2;
    }
    r.keep_alive = minor == 1 ? !close : keep && !close;
    r.old = minor == 0;
    r.ok = 1;
    return r;
}

static void answer_error(int32_t fd, const char *status)
{
    static const char rest[] = "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    net_send_all(fd, status, length(status));
    net_send_all(fd, rest, sizeof rest - 1);
}

static void serve(net_conn *c)
{
    static const char keep[] = HEAD_OK "\r\n" HELLO;
    static const char last[] = HEAD_OK "Connection: close\r\n\r\n" HELLO;
    static const char old_keep[] = HEAD_OK "Connection: keep-alive\r\n\r\n" HELLO;
    char buf[NET_BUFFER];
    uint32_t have = 0;
    for (;;) {
        uint32_t end;
        while (!(end = head_end(buf, have))) {
            if (have == sizeof buf) {
                answer_error(c->fd, "HTTP/1.1 431 Request Header Fields Too Large");
                goto done;
            }
            int32_t n = net_recv(c->fd, buf + have, sizeof buf - have);
            if (n <= 0)
                goto done; /* the peer's end (between requests, or in the middle of one), or an error */
            have += (uint32_t)n;
        }
        request r = parse(buf, end);
        if (!r.ok) {
            answer_error(c->fd, "HTTP/1.1 400 Bad Request");
            goto done;
        }
        if (r.chunked) {
            answer_error(c->fd, "HTTP/1.1 501 Not Implemented");
            goto done;
        }
        /* drop the body: what is in the buffer after the head, then whatever more it takes */
        uint64_t body = r.body;
        uint32_t in_buf = have - end < body ? have - end : (uint32_t)body;
        body -= in_buf;
        end += in_buf;
        while (body) {
            int32_t n = net_recv(c->fd, buf, body < sizeof buf ? (uint32_t)body : sizeof buf);
            if (n <= 0)
                goto done;
            body -= (uint32_t)n;
            end = have = 0;
        }
        const char *answer = !r.keep_alive ? last : r.old ? old_keep : keep;
        uint32_t size = !r.keep_alive ? sizeof last - 1 : r.old ? sizeof old_keep - 1 : sizeof keep - 1;
        if (!net_send_all(c->fd, answer, r.head ? size - (sizeof HELLO - 1) : size) || !r.keep_alive)
            goto done;
        /* a pipelined request may follow in the buffer */
        for (uint32_t k = end; k < have; k++)
            buf[k - end] = buf[k];
        have -= end;
    }
done:
    net_fd_close(c->fd);
}

WT_EXPORT("_start") void _start(void)
{
    net_serve_forever(net_listener(), serve,
                      "http_server: ready, one thread per connection, " NET_STACK_TEXT "-byte stacks\n");
}
