"""The C fast path of WASI's socket calls (bindings/wasi/fast.py, _native/wr_wasi_fast.c, _native/wr_io.c).

A socket's second recv or send runs in C and parks its thread in the core's
reactor on EAGAIN: these tests check that it does (the thread waits on a
"host fd", which only the C reactor reports), and that it answers exactly as
the Python calls do: bytes, errno values (EFAULT, EAGAIN under NONBLOCK,
EBADF once closed, a peer's reset), waking when the descriptor is closed by
another thread, no false deadlock while threads wait in C, and that a store
with threads parked there can be closed.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from wasi_guest import WAT_ACCEPT, WasiGuest

from wasmroutines import Module, ThreadState, join, spawn, wat2wasm

EAGAIN, EBADF, ECONNRESET, EFAULT = 6, 8, 15, 21
NONBLOCK = 4

GUEST = (
    """
(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $set_flags (param i32 i32) (result i32)))
  (memory (export "memory") 4)

"""
    + WAT_ACCEPT
    + """
  ;; One recv (sock_recv, or fd_read when $plain) of up to 64 bytes into base+32, its iovec at $iov:
  ;; the count, or -errno.
  (func $recv1 (param $fd i32) (param $base i32) (param $iov i32) (param $plain i32) (result i32)
    (local $err i32)
    (i32.store (local.get $base) (i32.add (local.get $base) (i32.const 32)))
    (i32.store offset=4 (local.get $base) (i32.const 64))
    (local.set $err
      (if (result i32) (local.get $plain)
        (then (call $fd_read (local.get $fd) (local.get $iov) (i32.const 1)
                             (i32.add (local.get $base) (i32.const 8))))
        (else (call $recv (local.get $fd) (local.get $iov) (i32.const 1) (i32.const 0)
                          (i32.add (local.get $base) (i32.const 8)) (i32.add (local.get $base) (i32.const 12))))))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.load offset=8 (local.get $base)))))
  (func (export "recv") (param $fd i32) (param $base i32) (result i32)
    (call $recv1 (local.get $fd) (local.get $base) (local.get $base) (i32.const 0)))
  (func (export "recv_iov_at") (param $fd i32) (param $base i32) (param $iov i32) (result i32)
    (call $recv1 (local.get $fd) (local.get $base) (local.get $iov) (i32.const 0)))

  ;; Send $n bytes from base+32 (sock_send, or fd_write when $plain): the count, or -errno.
  (func $send1 (param $fd i32) (param $base i32) (param $n i32) (param $plain i32) (result i32)
    (local $err i32)
    (i32.store offset=16 (local.get $base) (i32.add (local.get $base) (i32.const 32)))
    (i32.store offset=20 (local.get $base) (local.get $n))
    (local.set $err
      (if (result i32) (local.get $plain)
        (then (call $fd_write (local.get $fd) (i32.add (local.get $base) (i32.const 16)) (i32.const 1)
                              (i32.add (local.get $base) (i32.const 24))))
        (else (call $send (local.get $fd) (i32.add (local.get $base) (i32.const 16)) (i32.const 1) (i32.const 0)
                          (i32.add (local.get $base) (i32.const 24))))))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.load offset=24 (local.get $base)))))

  ;; Echo until end of file or an error: the bytes echoed, or -errno. $plain: fd_read/fd_write.
  (func (export "echo") (param $fd i32) (param $base i32) (param $plain i32) (result i32)
    (local $n i32) (local $total i32)
    (block $done
      (loop $again
        (local.set $n (call $recv1 (local.get $fd) (local.get $base) (local.get $base) (local.get $plain)))
        (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (local.get $n))))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (call $send1 (local.get $fd) (local.get $base) (local.get $n) (local.get $plain)))
        (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (local.get $n))))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br $again)))
    (drop (call $fd_close (local.get $fd)))
    (local.get $total))

  (func (export "close") (param $fd i32) (result i32) (call $fd_close (local.get $fd)))
  (func (export "set_flags") (param $fd i32) (param $flags i32) (result i32)
    (call $set_flags (local.get $fd) (local.get $flags)))
)
"""
)


@pytest.fixture(scope="module")
def module() -> Module:
    return Module(wat2wasm(GUEST))


def Server(module: Module, **store_kwargs: Any) -> WasiGuest:
    """GUEST with a listening socket at fd 3; `base(i)` is thread i's scratch area."""
    return WasiGuest(module, listen=True, area=128, **store_kwargs)


@pytest.fixture
def server(module: Module) -> Iterator[WasiGuest]:
    s = Server(module)
    yield s
    s.close()


def _in_background(fn: Callable[[], None]) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("plain", [False, True], ids=["sock_recv/send", "fd_read/write"])
def test_many_connections_echo_through_the_c_reactor(server: WasiGuest, plain: bool) -> None:
    n, rounds = 20, 30
    conns = [server.connect() for _ in range(n)]
    threads = [spawn(server.x.echo, fd, server.base(1 + i), int(plain)) for i, (_, fd) in enumerate(conns)]
    failures: list[BaseException] = []

    def clients() -> None:
        try:
            for r in range(rounds):
                for i, (c, _) in enumerate(conns):
                    c.sendall(b"%d:%d;" % (i, r))
                for i, (c, _) in enumerate(conns):
                    want = b"%d:%d;" % (i, r)
                    got = b""
                    while len(got) < len(want):
                        got += c.recv(64)
                    assert got == want
            for c, _ in conns:
                c.close()
        except BaseException as e:
            failures.append(e)

    feeder = _in_background(clients)
    totals = [join(t) for t in threads]
    feeder.join(10)
    assert not failures
    assert totals == [sum(len(b"%d:%d;" % (i, r)) for r in range(rounds)) for i in range(n)]


def test_a_thread_waits_in_the_c_reactor_after_its_first_call(server: WasiGuest) -> None:
    client, fd = server.connect()
    client.sendall(b"a")
    assert server.x.recv(fd, server.base(1)) == 1  # the Python call: the socket is now mirrored in C
    reader = spawn(server.x.recv, fd, server.base(1))
    sleeper = spawn(lambda: server.store.scheduler.sleep(0.02))
    join(sleeper)
    assert reader.state is ThreadState.WAITING
    assert reader.blocked_on is not None and reader.blocked_on.startswith("host fd ")
    assert reader.blocked_on.endswith(" readable")
    client.sendall(b"hello")
    assert join(reader) == 5
    assert server.bytes(server.base(1) + 32, 5) == b"hello"
    client.close()


def test_closing_the_descriptor_wakes_its_waiter_with_ebadf(server: WasiGuest) -> None:
    client, fd = server.connect()
    client.sendall(b"a")
    assert server.x.recv(fd, server.base(1)) == 1
    reader = spawn(server.x.recv, fd, server.base(1))
    closer = spawn(lambda: (server.store.scheduler.sleep(0.01), server.x.close(fd))[1])
    assert join(closer) == 0
    assert join(reader) == -EBADF
    client.close()


def test_nonblock_gets_eagain_from_c_and_python_alike(server: WasiGuest) -> None:
    client, fd = server.connect()
    assert server.x.set_flags(fd, NONBLOCK) == 0
    assert server.x.recv(fd, server.base(1)) == -EAGAIN  # Python (mirrors it)
    assert server.x.recv(fd, server.base(1)) == -EAGAIN  # C
    client.sendall(b"xy")
    for _ in range(1000):
        n = server.x.recv(fd, server.base(1))
        if n != -EAGAIN:
            break
    assert n == 2
    client.close()


def test_an_iovec_out_of_bounds_is_efault_in_c_and_python_alike(server: WasiGuest) -> None:
    client, fd = server.connect()
    client.sendall(b"abcd")
    end = 4 * 65536
    assert server.x.recv_iov_at(fd, server.base(1), end - 4) == -EFAULT  # Python: the iovec array is cut off
    assert server.x.recv_iov_at(fd, server.base(1), end - 4) == -EFAULT  # C
    assert server.x.recv(fd, server.base(1)) == 4  # nothing was consumed
    client.close()


def test_a_reset_by_the_peer_is_econnreset(server: WasiGuest) -> None:
    client, fd = server.connect()
    client.sendall(b"a")
    assert server.x.recv(fd, server.base(1)) == 1
    reader = spawn(server.x.recv, fd, server.base(1))
    sleeper = spawn(lambda: server.store.scheduler.sleep(0.01))
    join(sleeper)
    assert reader.state is ThreadState.WAITING
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # an RST
    assert join(reader) == -ECONNRESET


def test_the_root_itself_waits_in_the_c_reactor(server: WasiGuest) -> None:
    client, fd = server.connect()
    client.sendall(b"a")
    assert server.x.recv(fd, server.base(1)) == 1
    timer = threading.Timer(0.05, lambda: client.sendall(b"later"))
    timer.start()
    assert server.x.recv(fd, server.base(1)) == 5  # nothing else runs: the OS thread waits in epoll
    timer.join()
    client.close()


def test_a_store_with_threads_parked_in_c_closes(module: Module) -> None:
    s = Server(module)
    client, fd = s.connect()
    client.sendall(b"a")
    assert s.x.recv(fd, s.base(1)) == 1
    readers = [spawn(s.x.recv, fd, s.base(1))]
    sleeper = spawn(lambda: s.store.scheduler.sleep(0.01))
    join(sleeper)
    assert readers[0].state is ThreadState.WAITING
    s.close()
    assert readers[0].state is ThreadState.DONE
    client.close()


def test_sock_accept_waits_in_c_and_python_accepts(server: WasiGuest) -> None:
    first, _ = server.connect()  # the listener's first call: Python, which mirrors it
    acceptor = spawn(server.x.accept, 3, server.base(2))
    sleeper = spawn(lambda: server.store.scheduler.sleep(0.02))
    join(sleeper)
    assert acceptor.state is ThreadState.WAITING
    assert acceptor.blocked_on is not None and acceptor.blocked_on.startswith("host fd ")
    second = socket.create_connection(("127.0.0.1", server.port))
    fd = join(acceptor)
    assert fd > 3
    second.sendall(b"hi")
    assert server.x.recv(fd, server.base(1)) == 2
    first.close()
    second.close()
