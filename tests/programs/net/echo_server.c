/* echo_server.c: a thread-per-connection TCP echo server, written as an ordinary threaded program.
 *
 * The main thread loops on a blocking sock_accept on the preopened listening socket (`wasmroutines run --tcplisten
 * HOST:PORT echo_server.wasm`; net.h says how it is found) and spawns one thread per connection, on a stack of
 * NET_STACK (16 KiB) bytes. That thread loops: a blocking sock_recv of up to NET_BUFFER (4 KiB) bytes, then
 * sock_send of all of them (as many calls as partial sends take), until the peer's end of stream or an error; then
 * it closes the fd and ends. The server never exits; its one line on stdout says it is ready.
 * Usage: echo_server [LISTEN_FD]. */
#include "net.h"

static void echo(net_conn *c)
{
    char buf[NET_BUFFER];
    for (;;) {
        int32_t n = net_recv(c->fd, buf, sizeof buf);
        if (n <= 0 || !net_send_all(c->fd, buf, (uint32_t)n))
            break;
    }
    net_fd_close(c->fd);
}

WT_EXPORT("_start") void _start(void)
{
    net_serve_forever(net_listener(), echo,
                      "echo_server: ready, one thread per connection, " NET_STACK_TEXT "-byte stacks\n");
}
