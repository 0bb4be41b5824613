"""poll_oneoff and pipes on the C fast path (_native/wr_wasi_fast.c, bindings/wasi/fast.py, _native/wr_io.c).

poll_oneoff on sockets, pipes and clocks runs in C once Python has seen its
descriptors: it reports what is ready in the order of the subscriptions, as
the Python call does, or parks the thread in the core's reactor on all of
its descriptors at once with the earliest clock as the timeout (a sleep is a
clock alone, on the core's timer heap). These tests check that it does (a
thread parked in C is WAITING, with what only the core reports as its
`blocked_on`), that C and Python answer alike (events, nbytes, order), that
the timeout counts from the call (it must fire though the call runs again
each time the thread wakes), that virtual time jumps to it, and that pipes
(stdio's blocking host descriptors) are read and written in C, big writes
still whole.
"""

from __future__ import annotations

import os
import select
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from wasi_guest import WAT_ACCEPT, WasiGuest, wat_read_write

from wasmroutines import Module, SeededPolicy, ThreadState, VirtualClock, join, spawn, wat2wasm
from wasmroutines.bindings.wasi import OsWaiter, WasiConfig
from wasmroutines.core.determinism import DeterministicClock

MS = 1_000_000
CLOCK, FD_READ, FD_WRITE = 0, 1, 2
MONOTONIC, ABSTIME = 1, 1
SUB = 48
EVENT = struct.Struct("<QHB5xQH6x")

GUEST = (
    """
(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)

"""
    + WAT_ACCEPT
    + """
  ;; poll_oneoff of $n subscriptions at $in, events to $out: how many events, or -errno.
  (func $poll_at (param $in i32) (param $out i32) (param $n i32) (result i32)
    (local $err i32)
    (local.set $err (call $poll (local.get $in) (local.get $out) (local.get $n) (i32.const 60)))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.load (i32.const 60)))))
  (func (export "poll") (param $in i32) (param $out i32) (param $n i32) (result i32)
    (call $poll_at (local.get $in) (local.get $out) (local.get $n)))

  ;; Sleep $ns on the monotonic clock (as wasi-libc's nanosleep does), its subscription at $base: events or -errno.
  (func (export "sleep") (param $ns i64) (param $base i32) (result i32)
    (memory.fill (local.get $base) (i32.const 0) (i32.const 48))
    (i32.store offset=16 (local.get $base) (i32.const 1))
    (i64.store offset=24 (local.get $base) (local.get $ns))
    (call $poll_at (local.get $base) (i32.add (local.get $base) (i32.const 48)) (i32.const 1)))

"""
    + wat_read_write(32)
    + """
)
"""
)


@pytest.fixture(scope="module")
def module() -> Module:
    return Module(wat2wasm(GUEST))


def clock_sub(userdata: int, ns: int, *, flags: int = 0) -> bytes:
    return struct.pack("<QB7xIIQQH6x", userdata, CLOCK, MONOTONIC, 0, ns, 0, flags)


def fd_sub(userdata: int, tag: int, fd: int) -> bytes:
    return struct.pack("<QB7xI28x", userdata, tag, fd)


class Guest(WasiGuest):
    """GUEST with a listening socket at fd 3 and the given stdio; thread i's scratch area is `base(i)` (2 KiB:
    subscriptions, events, buffers)."""

    def __init__(self, module: Module, config: WasiConfig | None = None, **store_kwargs: Any) -> None:
        super().__init__(module, config, listen=True, area=2048, **store_kwargs)

    def poll(self, i: int, subs: list[bytes]) -> list[tuple[int, int, int, int]]:
        """poll_oneoff on thread i's area: the events as (userdata, error, type, nbytes)."""
        base = self.base(i)
        self.x.memory.write(base, b"".join(subs))
        out = base + SUB * len(subs)
        n = self.x.poll(base, out, len(subs))
        assert n >= 0, f"errno {-n}"
        raw = self.bytes(out, EVENT.size * n)
        return [EVENT.unpack_from(raw, k * EVENT.size)[:4] for k in range(n)]


@pytest.fixture
def guest(module: Module) -> Iterator[Guest]:
    g = Guest(module)
    yield g
    g.close()


def _later(seconds: float, fn: Any) -> threading.Timer:
    t = threading.Timer(seconds, fn)
    t.start()
    return t


def test_a_sleep_waits_in_c_and_sleepers_wake_in_deadline_order(guest: Guest) -> None:
    order: list[int] = []

    def sleeper(i: int, ms: int) -> int:
        n = guest.x.sleep(ms * MS, guest.base(i))
        order.append(i)
        return int(n)

    start = time.monotonic_ns()
    threads = [spawn(sleeper, i, ms, store=guest.store) for i, ms in ((1, 30), (2, 10), (3, 20))]
    guest.store.scheduler.yield_now()
    assert [t.state for t in threads] == [ThreadState.WAITING] * 3  # parked in C (Python's sleep blocks)
    assert [t.blocked_on for t in threads] == ["sleep"] * 3
    assert [join(t) for t in threads] == [1, 1, 1]
    assert time.monotonic_ns() - start >= 30 * MS
    assert order == [2, 3, 1]


def test_a_sleep_on_virtual_time_jumps_to_its_deadline(module: Module) -> None:
    clock = VirtualClock()
    g = Guest(module, clock=clock)
    try:
        start = time.monotonic()
        threads = [spawn(g.x.sleep, s * 1000 * MS, g.base(s)) for s in (3, 1, 2)]  # seconds, virtual
        assert [join(t) for t in threads] == [1, 1, 1]
        assert clock.now_ns() == 3000 * MS
        assert time.monotonic() - start < 2.5  # it did not sleep three seconds
    finally:
        g.close()


def test_a_waiter_of_the_environments_own_times_its_sleeps(module: Module) -> None:
    """A Waiter that is not the scheduler's keeps every sleep: the call stays Python's."""
    slept: list[int] = []

    class Sleeper(OsWaiter):
        def sleep_until(self, deadline: int) -> None:
            slept.append(deadline)
            super().sleep_until(deadline)

    g = Guest(module, WasiConfig(waiter=Sleeper()))
    try:
        assert g.x.sleep(5 * MS, g.base(1)) == 1
        assert g.x.sleep(5 * MS, g.base(1)) == 1
        assert len(slept) == 2
    finally:
        g.close()


def test_a_deterministic_runs_sleep_waits_in_c_on_its_virtual_time(module: Module) -> None:
    """A seeded run (virtual host view): no descriptor is fast, but a sleep is the core's, on virtual time."""
    clock = DeterministicClock()
    g = Guest(module, WasiConfig(deterministic=True), policy=SeededPolicy(1))
    g.store.scheduler.clock = clock
    try:
        threads = [spawn(g.x.sleep, s * 1000 * MS, g.base(s)) for s in (3, 1, 2)]
        g.store.scheduler.yield_now()
        assert [t.state for t in threads] == [ThreadState.WAITING] * 3
        assert [t.blocked_on for t in threads] == ["sleep"] * 3
        assert [join(t) for t in threads] == [1, 1, 1]
        assert clock.now_ns() == 3000 * MS
    finally:
        g.close()


def test_poll_times_out_on_its_clock_though_the_call_runs_again_when_woken(guest: Guest) -> None:
    client, fd = guest.connect()
    subs = [fd_sub(7, FD_READ, fd), clock_sub(9, 40 * MS)]
    assert guest.poll(1, subs) == [(9, 0, CLOCK, 0)]  # Python's call (it mirrors the socket)
    # In C: the thread parks on the socket with a 40 ms timeout; a byte the guest never reads wakes it, and
    # its call, run again, reports the byte; the next poll parks, and its clock alone ends it.
    poller = spawn(guest.poll, 1, subs, store=guest.store)
    guest.store.scheduler.yield_now()
    assert poller.state is ThreadState.WAITING
    assert poller.blocked_on is not None and poller.blocked_on.startswith("host fd ")
    client.sendall(b"xyz")
    assert join(poller) == [(7, 0, FD_READ, 3)]
    assert guest.x.read(fd, guest.base(2), 64) == 3
    start = time.monotonic_ns()
    assert guest.poll(1, subs) == [(9, 0, CLOCK, 0)]
    assert time.monotonic_ns() - start >= 40 * MS
    client.close()


def test_one_poll_waits_on_many_sockets_and_reports_the_ready_one(guest: Guest) -> None:
    conns = [guest.connect() for _ in range(3)]
    subs = [fd_sub(100 + i, FD_READ, fd) for i, (_, fd) in enumerate(conns)]
    conns[0][0].sendall(b"a")
    assert guest.poll(1, subs) == [(100, 0, FD_READ, 1)]  # Python's call mirrors all three
    assert guest.x.read(conns[0][1], guest.base(2), 64) == 1
    poller = spawn(guest.poll, 1, subs, store=guest.store)
    guest.store.scheduler.yield_now()
    assert poller.state is ThreadState.WAITING
    assert poller.blocked_on == "poll of 3 host fds"
    timer = _later(0.02, lambda: conns[1][0].sendall(b"hello"))
    assert join(poller) == [(101, 0, FD_READ, 5)]
    timer.join()
    for c, _ in conns:
        c.close()


def test_events_come_in_subscription_order_in_c_and_python_alike(guest: Guest) -> None:
    client, fd = guest.connect()
    client.sendall(b"ready")
    subs = [clock_sub(1, 0), fd_sub(2, FD_WRITE, fd), clock_sub(3, 10_000 * MS), fd_sub(4, FD_READ, fd)]
    want = [(1, 0, CLOCK, 0), (2, 0, FD_WRITE, 0), (4, 0, FD_READ, 5)]
    assert guest.poll(1, subs) == want  # Python's call
    assert guest.poll(1, subs) == want  # C's
    client.close()


def test_an_absolute_monotonic_clock_is_kept_by_the_core(guest: Guest) -> None:
    client, fd = guest.connect()
    subs = [fd_sub(1, FD_READ, fd)]
    assert guest.poll(1, [*subs, clock_sub(2, 0)]) == [(2, 0, CLOCK, 0)]  # Python's call mirrors the socket
    deadline = time.monotonic_ns() + 30 * MS
    poller = spawn(guest.poll, 1, [*subs, clock_sub(2, deadline, flags=ABSTIME)], store=guest.store)
    guest.store.scheduler.yield_now()
    assert poller.state is ThreadState.WAITING
    assert join(poller) == [(2, 0, CLOCK, 0)]
    assert time.monotonic_ns() >= deadline
    client.close()


def test_a_store_with_threads_sleeping_in_c_closes(module: Module) -> None:
    g = Guest(module)
    sleepers = [spawn(g.x.sleep, 10_000 * MS, g.base(i)) for i in range(3)]
    g.store.scheduler.yield_now()
    assert all(t.state is ThreadState.WAITING for t in sleepers)
    g.close()
    assert all(t.state is ThreadState.DONE for t in sleepers)


@pytest.fixture
def pipes(module: Module) -> Iterator[tuple[Guest, int, int]]:
    """A guest whose stdin reads the pipe written through the second fd, whose stdout writes the pipe read
    through the third."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    g = Guest(module, WasiConfig(stdin=in_r, stdout=out_w))
    yield g, in_w, out_r
    g.close()
    for fd in (in_r, in_w, out_r, out_w):
        os.close(fd)


def test_a_read_of_a_pipe_waits_in_c(pipes: tuple[Guest, int, int]) -> None:
    g, in_w, _ = pipes
    os.write(in_w, b"first")
    assert g.x.read(0, g.base(1), 64) == 5  # Python's call mirrors stdin
    reader = spawn(g.x.read, 0, g.base(1), 64)
    g.store.scheduler.yield_now()
    assert reader.state is ThreadState.WAITING
    assert reader.blocked_on is not None and reader.blocked_on.endswith(" readable")
    timer = _later(0.02, lambda: os.write(in_w, b"second"))
    assert join(reader) == 6
    timer.join()
    assert bytes(g.x.memory.read(g.base(1) + 32, 6)) == b"second"
    subs = [fd_sub(5, FD_READ, 0), clock_sub(6, 10_000 * MS)]
    os.write(in_w, b"!")
    assert g.poll(2, subs) == [(5, 0, FD_READ, 1)]


def test_writes_to_a_pipe_small_in_c_big_ones_whole(pipes: tuple[Guest, int, int]) -> None:
    g, _, out_r = pipes
    base = g.base(1)
    g.x.memory.write(base + 32, b"hi")
    assert g.x.write(1, base, 2) == 2  # Python's call mirrors stdout
    assert os.read(out_r, 64) == b"hi"
    os.set_blocking(out_w := g.wasi.state.fds.get(1).host_fd, False)
    filled = 0
    try:
        while True:
            filled += os.write(out_w, b"." * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(out_w, True)
    writer = spawn(g.x.write, 1, base, 2)
    g.store.scheduler.yield_now()
    assert writer.state is ThreadState.WAITING  # the pipe is full: parked in C until it may write
    assert writer.blocked_on == f"host fd {out_w} writable"
    drained = 0
    while drained < filled:
        drained += len(os.read(out_r, 65536))
    assert join(writer) == 2
    assert os.read(out_r, 64) == b"hi"
    big = bytes(range(256)) * 256  # 64 KiB: more than the pipe holds, so the writer must wait for the reader
    g.x.memory.write(base + 32, big)
    got = bytearray()

    def drain() -> None:
        while len(got) < len(big):
            select.select([out_r], [], [], 5)
            got.extend(os.read(out_r, 65536))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    assert g.x.write(1, base, len(big)) == len(big)
    reader.join(10)
    assert bytes(got) == big
