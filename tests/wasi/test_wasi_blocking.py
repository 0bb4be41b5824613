"""Blocking WASI calls go through the environment's Waiter, the hook a green-thread scheduler replaces.

A fake Waiter with a virtual clock shows every wait: poll_oneoff sleeps,
fd_read on a pipe, sock_accept; it also "runs another thread" by writing to
the pipe when asked to wait. The real OsWaiter is exercised on a short sleep
and on a loopback TCP socket preopened like --tcplisten.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from wasi_programs.guest import Guest

from wasmroutines.bindings.wasi import SNAPSHOT0_MODULE, Errno, WasiConfig

CLOCK, FD_READ, FD_WRITE = 0, 1, 2
MONOTONIC = 1
ABSTIME = 1


class FakeWaiter:
    """A Waiter on a virtual clock; `on_wait` stands for another thread running during the wait."""

    def __init__(self, on_wait: Callable[[list[int], list[int]], object] | None = None) -> None:
        self.t = 10_000_000_000
        self.calls: list[object] = []
        self.on_wait = on_wait

    def now(self) -> int:
        return self.t

    def yield_(self) -> None:
        self.calls.append("yield")

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        self.calls.append((readable, writable, deadline))
        if self.on_wait is not None:
            self.on_wait(readable, writable)
        elif deadline is not None:
            self.t = max(self.t, deadline)

    def sleep_until(self, deadline: int) -> None:
        self.t = max(self.t, deadline)


def clock_sub(userdata: int, timeout: int, flags: int = 0, clock: int = MONOTONIC) -> bytes:
    return struct.pack("<QB7xI4xQQH6x", userdata, CLOCK, clock, timeout, 0, flags)


def fd_sub(userdata: int, tag: int, fd: int) -> bytes:
    return struct.pack("<QB7xI28x", userdata, tag, fd)


def poll(g: Guest, subs: list[bytes], module: str | None = None) -> tuple[int, list[tuple[int, int, int, int]]]:
    """poll_oneoff; (errno, [(userdata, error, type, nbytes)])."""
    data = b"".join(subs)
    size = len(subs[0]) if subs else 48
    in_ptr = g.alloc(max(1, len(data)))
    g.memory.write(in_ptr, data)
    out = g.alloc(32 * max(1, len(subs)))
    n = g.alloc(4)
    kwargs = {"module": module} if module else {}
    err = g.call("poll_oneoff", in_ptr, out, len(data) // size if subs else 0, n, **kwargs)
    events = [struct.unpack_from("<QHB5xQ", g.read(out + 32 * i, 32)) for i in range(g.u32(n))] if err == 0 else []
    return err, [(u, e, t, nb) for u, e, t, nb in events]


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_poll_clock_sleeps_through_the_waiter() -> None:
    waiter = FakeWaiter()
    g = Guest(WasiConfig(waiter=waiter))
    start = waiter.t
    assert poll(g, [clock_sub(42, 50_000_000)]) == (0, [(42, 0, CLOCK, 0)])
    assert waiter.calls == [([], [], start + 50_000_000)]
    assert waiter.t == start + 50_000_000
    # An absolute deadline on the monotonic clock, already past: no wait at all.
    waiter.calls.clear()
    assert poll(g, [clock_sub(7, start, ABSTIME)]) == (0, [(7, 0, CLOCK, 0)])
    assert waiter.calls == []


def test_poll_snapshot0_subscription_layout() -> None:
    waiter = FakeWaiter()
    g = Guest(WasiConfig(waiter=waiter))
    start = waiter.t
    # snapshot 0: an 8-byte identifier first, so the clock id sits at 24 and a subscription is 56 bytes.
    sub = struct.pack("<QB7xQI4xQQH6x", 9, CLOCK, 0xABC, MONOTONIC, 1_000, 0, 0)
    assert len(sub) == 56
    assert poll(g, [sub], module=SNAPSHOT0_MODULE) == (0, [(9, 0, CLOCK, 0)])
    assert waiter.calls == [([], [], start + 1_000)]


def test_poll_fd_read_waits_then_reports_readiness(pipe: tuple[int, int]) -> None:
    r, w = pipe
    waiter = FakeWaiter(on_wait=lambda rd, wr: os.write(w, b"xyz"))
    g = Guest(WasiConfig(stdin=r, waiter=waiter))
    start = waiter.t
    err, events = poll(g, [fd_sub(1, FD_READ, 0), clock_sub(2, 10**9)])
    assert err == 0 and events == [(1, 0, FD_READ, 3)]
    assert waiter.calls == [([r], [], start + 10**9)]


def test_poll_ready_at_once_and_errors() -> None:
    waiter = FakeWaiter()
    g = Guest(WasiConfig(stdin=b"hello", stdout=bytearray(), waiter=waiter))
    err, events = poll(g, [fd_sub(1, FD_READ, 0), fd_sub(2, FD_WRITE, 1), fd_sub(3, FD_READ, 99), clock_sub(4, 10**9)])
    assert err == 0
    assert sorted(events) == [(1, 0, FD_READ, 5), (2, 0, FD_WRITE, 0), (3, Errno.BADF, FD_READ, 0)]
    assert waiter.calls == []
    assert poll(g, [])[0] == Errno.INVAL


def test_fd_read_on_a_pipe_waits_through_the_waiter(pipe: tuple[int, int]) -> None:
    r, w = pipe
    waiter = FakeWaiter(on_wait=lambda rd, wr: os.write(w, b"data"))
    g = Guest(WasiConfig(stdin=r, waiter=waiter))
    assert g.read_fd(0, 10) == (0, b"data")
    assert waiter.calls == [([r], [], None)]
    # Data already there: no wait.
    os.write(w, b"more")
    waiter.calls.clear()
    assert g.read_fd(0, 10) == (0, b"more")
    assert waiter.calls == []


def test_nonblocking_read_is_eagain_without_waiting(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    waiter = FakeWaiter()
    g = Guest(WasiConfig(stdin=r, waiter=waiter))
    assert g.call("fd_fdstat_set_flags", 0, 4) == 0  # NONBLOCK
    assert g.read_fd(0, 10)[0] == Errno.AGAIN
    assert waiter.calls == []
    assert os.get_blocking(r)  # the host fd, shared with whoever gave it, is left as it was


def test_sched_yield_goes_to_the_waiter() -> None:
    waiter = FakeWaiter()
    g = Guest(WasiConfig(waiter=waiter))
    assert g.call("sched_yield") == 0
    assert waiter.calls == ["yield"]


def test_real_sleep() -> None:
    g = Guest()
    t0 = time.monotonic()
    assert poll(g, [clock_sub(1, 30_000_000)]) == (0, [(1, 0, CLOCK, 0)])
    assert time.monotonic() - t0 >= 0.029


def test_preopened_listening_socket() -> None:
    config = WasiConfig().listen_tcp("127.0.0.1", 0)
    port = config.listeners[0].getsockname()[1]
    g = Guest(config)
    replies: list[bytes] = []

    def client() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"ping")
            replies.append(c.recv(10))

    t = threading.Thread(target=client)
    t.start()
    try:
        stat = g.alloc(24)
        assert g.call("fd_fdstat_get", 3, stat) == 0 and g.read(stat, 1)[0] == 6  # SOCKET_STREAM
        conn_ptr = g.alloc(4)
        assert g.call("sock_accept", 3, 0, conn_ptr) == 0  # blocks (OsWaiter) until the client connects
        conn = g.u32(conn_ptr)
        iov, n, (buf,) = g.iovecs(16)
        nread, flags = g.alloc(4), g.alloc(4)
        assert g.call("sock_recv", conn, iov, n, 0, nread, flags) == 0
        assert g.read(buf, g.u32(nread)) == b"ping"
        iov, n, _ = g.iovecs(b"pong")
        assert g.call("sock_send", conn, iov, n, 0, nread) == 0 and g.u32(nread) == 4
        assert g.call("sock_shutdown", conn, 3) == 0
        assert g.call("sock_shutdown", conn, 4) == Errno.INVAL
        assert g.call("fd_close", conn) == 0
        assert g.call("sock_accept", 0, 0, conn_ptr) == Errno.NOTSOCK
    finally:
        t.join(10)
        g.close()
    assert replies == [b"pong"]
