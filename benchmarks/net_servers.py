"""The Python servers the wasm servers of tests/programs/net/ are measured against (issue 16), doing the same work:

    python -m benchmarks.net_servers {asyncio,uvloop,threads} {echo,http} [--host HOST] [--port PORT]

listens on HOST:PORT (port 0: a free one; the harness reads the port from /proc), prints one line on stdout once
it accepts, and serves until it is killed.

- asyncio: `asyncio.start_server`, a coroutine per connection on streams (`reader.read`, `writer.write`,
  `await writer.drain()`), the default event loop.
- uvloop: the same code on uvloop's event loop.
- threads: `socketserver.ThreadingTCPServer`, an OS thread per connection (daemon threads, the default stack size).

Each listens with the backlog `wasmroutines run --tcplisten` uses (128), reads at most 4 KiB at a time (the wasm
servers' buffer), and answers HTTP with the same bytes as tests/programs/net/http_server.c: one fixed small body
with its Content-Length, keep-alive for HTTP/1.1 unless the request says `Connection: close`.
"""

from __future__ import annotations

import argparse
import asyncio
import socketserver
import sys
from dataclasses import dataclass

#: what `wasmroutines run --tcplisten` listens with (bindings/wasi/environment.py)
BACKLOG = 128
#: the wasm servers' read buffer (tests/programs/net/net.h, NET_BUFFER)
READ_SIZE = 4096
#: the largest request head accepted (the wasm server's buffer: a larger one is refused)
HEAD_MAX = 4096

HELLO = b"hello, world\n"
_HEAD_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
#: the answer to a keep-alive HTTP/1.1 request, byte for byte what http_server.c sends
RESPONSE = _HEAD_OK + b"\r\n" + HELLO
_RESPONSE_CLOSE = _HEAD_OK + b"Connection: close\r\n\r\n" + HELLO
_RESPONSE_OLD_KEEP = _HEAD_OK + b"Connection: keep-alive\r\n\r\n" + HELLO
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_NOT_IMPLEMENTED = b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class Request:
    """What the server needs of a request's head."""

    body: int  # Content-Length
    keep_alive: bool
    answer: bytes  # the response to send (the body dropped for HEAD)


def parse(head: bytes) -> Request | bytes:
    """A request head (through its CRLFCRLF): the Request, or the error answer that closes the connection."""
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return _BAD
    version = parts[2].lower()
    if version not in (b"http/1.1", b"http/1.0"):
        return _BAD
    body, close, keep, chunked = 0, False, False, False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return _BAD
        name, value = name.lower(), value.strip(b" \t")
        if name == b"content-length":
            if not value.isdigit():
                return _BAD
            body = int(value)
        elif name == b"connection":
            tokens = {t.strip(b" \t").lower() for t in value.split(b",")}
            close |= b"close" in tokens
            keep |= b"keep-alive" in tokens
        elif name == b"transfer-encoding":
            chunked |= value.lower() != b"identity"
    if chunked:
        return _NOT_IMPLEMENTED
    old = version == b"http/1.0"
    keep_alive = (keep and not close) if old else not close
    answer = RESPONSE if keep_alive and not old else _RESPONSE_OLD_KEEP if keep_alive else _RESPONSE_CLOSE
    if parts[0].lower() == b"head":
        answer = answer[: -len(HELLO)]
    return Request(body, keep_alive, answer)


# ---- asyncio and uvloop: a coroutine per connection ----


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                writer.write(_TOO_LARGE)
                break
            request = parse(head)
            if isinstance(request, bytes):
                writer.write(request)
                break
            if request.body:
                await reader.readexactly(request.body)
            writer.write(request.answer)
            await writer.drain()
            if not request.keep_alive:
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve_asyncio(protocol: str, host: str, port: int) -> None:
    handler = _echo if protocol == "echo" else _http
    server = await asyncio.start_server(handler, host, port, backlog=BACKLOG, limit=HEAD_MAX)
    print(f"{protocol} server (asyncio streams, {type(asyncio.get_running_loop()).__module__}): ready", flush=True)
    async with server:
        await server.serve_forever()


# ---- threads: socketserver.ThreadingTCPServer ----


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        try:
            while data := sock.recv(READ_SIZE):
                sock.sendall(data)
        except ConnectionError:
            pass


class _Http(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock, buf = self.request, b""
        try:
            while True:
                end = buf.find(b"\r\n\r\n")
                while end < 0:
                    if len(buf) >= HEAD_MAX:
                        sock.sendall(_TOO_LARGE)
                        return
                    data = sock.recv(READ_SIZE)
                    if not data:
                        return
                    buf += data
                    end = buf.find(b"\r\n\r\n")
                request = parse(buf[: end + 4])
                if isinstance(request, bytes):
                    sock.sendall(request)
                    return
                buf = buf[end + 4 :]
                while len(buf) < request.body:
                    data = sock.recv(READ_SIZE)
                    if not data:
                        return
                    buf += data
                buf = buf[request.body :]
                sock.sendall(request.answer)
                if not request.keep_alive:
                    return
        except ConnectionError:
            pass


class _ThreadingServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = BACKLOG


def _serve_threads(protocol: str, host: str, port: int) -> None:
    with _ThreadingServer((host, port), _Echo if protocol == "echo" else _Http) as server:
        print(f"{protocol} server (socketserver.ThreadingTCPServer): ready", flush=True)
        server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("asyncio", "uvloop", "threads"))
    parser.add_argument("protocol", choices=("echo", "http"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.kind == "threads":
        _serve_threads(args.protocol, args.host, args.port)
    elif args.kind == "uvloop":
        import uvloop

        uvloop.run(_serve_asyncio(args.protocol, args.host, args.port))
    else:
        asyncio.run(_serve_asyncio(args.protocol, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
