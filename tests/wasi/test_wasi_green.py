"""WASI's blocking calls park only the calling green thread (bindings/wasi/green.py, SchedulerWaiter).

The guest is a small WAT module whose exports call WASI: `sleep` (a
poll_oneoff clock subscription), `read`/`write` (fd_read/fd_write of one
iovec), `poll_read` (an fd subscription with a timeout), `serve` (sock_accept
then sock_recv), `now` (clock_time_get), `tick_until` (sched_yield in a loop).
Each green thread passes its own scratch area (`base`), since threads of one
instance share its memory.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from idle_clock import RecordingVirtualClock
from wasi_guest import WasiGuest as Guest
from wasi_guest import wat_read_write

from wasmroutines import (
    Module,
    MonotonicClock,
    Store,
    ThreadState,
    VirtualClock,
    current_scheduler,
    join,
    spawn,
    wat2wasm,
)
from wasmroutines.bindings.wasi import OsWaiter, SchedulerWaiter, WasiConfig
from wasmroutines.bindings.wasi.green import POLL_INTERVAL_NS, running_scheduler
from wasmroutines.core.clock import Poll

MS = 1_000_000
REALTIME, MONOTONIC = 0, 1
FD_READ = 1

GUEST = (
    """
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 8)

  ;; A relative monotonic clock subscription at base (48 bytes), its event at base+48, nevents at base+80.
  (func $clock_sub (param $base i32) (param $ns i64)
    (i64.store (local.get $base) (i64.const 7))
    (i32.store8 offset=8 (local.get $base) (i32.const 0))
    (i32.store offset=16 (local.get $base) (i32.const 1))
    (i64.store offset=24 (local.get $base) (local.get $ns))
    (i64.store offset=32 (local.get $base) (i64.const 0))
    (i32.store16 offset=40 (local.get $base) (i32.const 0)))

  ;; poll_oneoff on one clock: 0 or an errno.
  (func (export "sleep") (param $base i32) (param $ns i64) (result i32)
    (call $clock_sub (local.get $base) (local.get $ns))
    (call $poll (local.get $base) (i32.add (local.get $base) (i32.const 48)) (i32.const 1)
                (i32.add (local.get $base) (i32.const 80))))

  ;; poll_oneoff on fd_read of $fd (userdata 1) and a clock of $ns (userdata 7): the first event's
  ;; userdata, or -errno. The fd subscription is at base+96, the events at base+192.
  (func (export "poll_read") (param $base i32) (param $fd i32) (param $ns i64) (result i32)
    (local $err i32)
    (call $clock_sub (i32.add (local.get $base) (i32.const 144)) (local.get $ns))
    (i64.store offset=96 (local.get $base) (i64.const 1))
    (i32.store8 offset=104 (local.get $base) (i32.const 1))
    (i32.store offset=112 (local.get $base) (local.get $fd))
    (local.set $err (call $poll (i32.add (local.get $base) (i32.const 96)) (i32.add (local.get $base) (i32.const 192))
                                (i32.const 2) (i32.add (local.get $base) (i32.const 80))))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.wrap_i64 (i64.load offset=192 (local.get $base))))))

"""
    + wat_read_write(16)
    + """
  ;; sock_accept on $fd, then sock_recv of up to 64 bytes into base+32: the count, or -errno.
  (func (export "serve") (param $fd i32) (param $base i32) (result i32)
    (local $err i32) (local $conn i32)
    (local.set $err (call $accept (local.get $fd) (i32.const 0) (local.get $base)))
    (if (local.get $err) (then (return (i32.sub (i32.const 0) (local.get $err)))))
    (local.set $conn (i32.load (local.get $base)))
    (i32.store offset=8 (local.get $base) (i32.add (local.get $base) (i32.const 32)))
    (i32.store offset=12 (local.get $base) (i32.const 64))
    (local.set $err (call $recv (local.get $conn) (i32.add (local.get $base) (i32.const 8)) (i32.const 1)
                                (i32.const 0) (i32.add (local.get $base) (i32.const 16))
                                (i32.add (local.get $base) (i32.const 20))))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.load offset=16 (local.get $base)))))

  ;; clock_time_get of $id (the time, or -errno).
  (func (export "now") (param $id i32) (param $base i32) (result i64)
    (local $err i32)
    (local.set $err (call $clock (local.get $id) (i64.const 1) (local.get $base)))
    (if (result i64) (local.get $err)
      (then (i64.sub (i64.const 0) (i64.extend_i32_u (local.get $err))))
      (else (i64.load (local.get $base)))))

  ;; Count at $counter and sched_yield until the i32 at $flag is set: the count.
  (func (export "tick_until") (param $flag i32) (param $counter i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.load (local.get $flag)))
        (i32.store (local.get $counter) (i32.add (i32.load (local.get $counter)) (i32.const 1)))
        (drop (call $yield))
        (br $again)))
    (i32.load (local.get $counter)))

  ;; $n rounds of: log[i32 at $idx] = $id, idx += 1, sched_yield.
  (func (export "take_turns") (param $id i32) (param $n i32) (param $idx i32) (param $log i32)
    (local $i i32) (local $k i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $k (i32.load (local.get $idx)))
        (i32.store8 (i32.add (local.get $log) (local.get $k)) (local.get $id))
        (i32.store (local.get $idx) (i32.add (local.get $k) (i32.const 1)))
        (drop (call $yield))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again))))
)
"""
)

FLAG, COUNTER = 1024, 1028
IDX, LOG = 1032, 1100


@pytest.fixture(scope="module")
def guest_module() -> Module:
    return Module(wat2wasm(GUEST))


@pytest.fixture
def make(guest_module: Module) -> Iterator[Callable[..., Guest]]:
    made: list[Guest] = []

    def make(config: WasiConfig | None = None, **store_kwargs: Any) -> Guest:
        g = Guest(guest_module, config, **store_kwargs)
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


class RecordingClock(MonotonicClock):
    """Real time that records, each time the scheduler waits in the OS, the state of every thread."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.idles: list[tuple[int | None, list[ThreadState], int]] = []

    def idle(self, deadline_ns: int | None, poll: Poll) -> None:
        assert self.store is not None
        sched = self.store.scheduler
        self.idles.append((deadline_ns, [t.state for t in sched.threads], len(sched.policy)))
        super().idle(deadline_ns, poll)


# ---- the default waiter ----


def test_the_default_waiter_is_the_scheduler_one(make: Callable[..., Guest]) -> None:
    g = make()
    assert isinstance(g.wasi.state.waiter, SchedulerWaiter)
    assert isinstance(g.wasi.state.waiter.fallback, OsWaiter)
    assert running_scheduler() is None  # plain Python: no scheduler runs us


def test_without_a_scheduler_the_os_waits(make: Callable[..., Guest]) -> None:
    """WASI called straight from Python (no wasm, no green thread) blocks the OS thread, as before."""
    g = make()
    poll_oneoff = g.wasi.function(g.store, "wasi_snapshot_preview1", "poll_oneoff")
    mem = g.x.memory
    base = g.base(0)
    mem.write(base, struct.pack("<QB7xI4xQQH6x", 7, 0, MONOTONIC, 20 * MS, 0, 0))
    start = time.monotonic()
    assert poll_oneoff(base, base + 48, 1, base + 80) == 0
    assert time.monotonic() - start >= 0.019
    assert g.store.scheduler.threads == [g.store.scheduler.main]


# ---- sleeping in poll_oneoff ----


def test_a_thread_sleeping_in_poll_oneoff_lets_another_run(make: Callable[..., Guest]) -> None:
    clock = RecordingClock()
    g = make(clock=clock)
    clock.store = g.store
    ticker = spawn(g.x.tick_until, FLAG, COUNTER)
    start = time.monotonic()
    assert g.x.sleep(g.base(0), 50 * MS) == 0  # the main thread sleeps; the ticker runs meanwhile
    slept = time.monotonic() - start
    ticks = g.u32(COUNTER)
    assert slept >= 0.049
    assert ticks > 0
    # It kept running (and yielding) all the while: the OS thread never had to wait for the deadline.
    assert clock.idles == []
    assert ticker.state is ThreadState.RUNNABLE
    g.x.memory.write(FLAG, b"\1")
    assert join(ticker) >= ticks


def test_sleepers_overlap_instead_of_adding_up(make: Callable[..., Guest]) -> None:
    """Ten 100 ms sleeps at once, not one after another: every sleeper starts before any wakes."""
    g = make()
    events: list[tuple[str, int]] = []

    def sleeper(i: int) -> None:
        events.append(("start", i))
        start = time.monotonic()
        assert g.x.sleep(g.base(i), 100 * MS) == 0
        assert time.monotonic() - start >= 0.099  # a sleep never ends early
        events.append(("end", i))

    threads = [spawn(sleeper, i, store=g.store) for i in range(10)]
    for t in threads:
        join(t)
    assert events[:10] == [("start", i) for i in range(10)]
    assert sorted(events[10:]) == [("end", i) for i in range(10)]


def test_the_os_is_waited_on_only_when_no_thread_can_run(make: Callable[..., Guest]) -> None:
    clock = RecordingClock()
    g = make(clock=clock)
    clock.store = g.store
    sleeper = spawn(g.x.sleep, g.base(1), 40 * MS)
    ticker = spawn(g.x.tick_until, FLAG, COUNTER)

    def stop_ticker_later() -> None:
        current_scheduler().sleep(0.01)
        g.x.memory.write(FLAG, b"\1")

    stopper = spawn(stop_ticker_later, store=g.store)
    assert join(ticker) > 0
    join(stopper)
    assert clock.idles == []  # the ticker was runnable the whole time: never a wait in the OS
    assert join(sleeper) == 0  # now nothing can run until the sleeper's deadline
    assert clock.idles
    for deadline, states, runnable in clock.idles:
        assert deadline is not None
        assert runnable == 0
        assert all(s in (ThreadState.BLOCKED, ThreadState.WAITING) for s in states), states


def test_clock_time_get_reads_the_scheduler_clock(make: Callable[..., Guest]) -> None:
    clock = VirtualClock(start_ns=1_700_000_000 * 10**9)
    g = make(clock=clock)
    base = g.base(0)
    assert g.x.now(MONOTONIC, base) == clock.now_ns()
    assert g.x.now(REALTIME, base) == clock.now_ns()
    assert g.x.sleep(base, 5 * 10**9) == 0  # five virtual seconds, at once
    assert g.x.now(MONOTONIC, base) == 1_700_000_005 * 10**9
    assert g.x.now(REALTIME, base) == 1_700_000_005 * 10**9
    clock.advance(MS)
    assert g.x.now(MONOTONIC, base) == 1_700_000_005 * 10**9 + MS


def test_clock_time_get_with_the_real_clock(make: Callable[..., Guest]) -> None:
    g = make()
    base = g.base(0)
    before = time.time_ns()
    realtime = g.x.now(REALTIME, base)
    assert before <= realtime <= time.time_ns()
    before = time.monotonic_ns()
    assert before <= g.x.now(MONOTONIC, base) <= time.monotonic_ns()


def test_a_clock_may_say_what_its_wall_time_is(make: Callable[..., Guest]) -> None:
    class EpochClock(VirtualClock):
        def realtime_ns(self) -> int:
            return 10**18 + self.now_ns()

    g = make(clock=EpochClock(start_ns=5))
    assert g.x.now(REALTIME, g.base(0)) == 10**18 + 5
    assert g.x.now(MONOTONIC, g.base(0)) == 5


def test_a_config_clock_hook_still_wins_for_realtime(make: Callable[..., Guest]) -> None:
    g = make(WasiConfig(clock=lambda clock_id: 42), clock=VirtualClock(start_ns=7))
    assert g.x.now(REALTIME, g.base(0)) == 42
    assert g.x.now(MONOTONIC, g.base(0)) == 7


def test_virtual_time_wakes_200_sleepers_in_deadline_order(make: Callable[..., Guest]) -> None:
    clock = RecordingVirtualClock()
    g = make(clock=clock)
    delays = [(i + 1) * 10**9 for i in range(200)]  # 1 s .. 200 s of virtual time
    random.Random(7).shuffle(delays)
    woke: list[tuple[int, int]] = []

    def sleeper(i: int, delay: int) -> None:
        base = g.base(i)
        assert g.x.sleep(base, delay) == 0
        woke.append((delay, g.x.now(MONOTONIC, base)))

    threads = [spawn(sleeper, i, d, store=g.store) for i, d in enumerate(delays)]
    for t in threads:
        join(t)
    assert clock.waits == []  # 200 virtual seconds, no real waiting: the OS was only ever polled with timeout 0
    assert clock.idles == sorted(delays)  # time jumped from one deadline straight to the next
    assert [d for d, _ in woke] == sorted(delays)
    assert all(now == d for d, now in woke)  # each woke exactly at its deadline
    assert clock.now_ns() == 200 * 10**9


def test_virtual_time_wasm_threads_wake_in_deadline_order(make: Callable[..., Guest]) -> None:
    """Wasm threads only (no Python in between): the order shows in which threads are still alive."""
    g = make(clock=VirtualClock())
    delays = [3, 1, 4, 5, 9, 2, 6, 8, 7]
    threads = {d: spawn(g.x.sleep, g.base(i), d * 10**9) for i, d in enumerate(delays)}
    for d in sorted(delays):
        assert g.x.sleep(g.base(20), d * 10**9 - g.x.now(MONOTONIC, g.base(21)) + 1) == 0
        assert [x for x, t in sorted(threads.items()) if t.alive] == [x for x in sorted(delays) if x > d]
    assert all(join(t) == 0 for t in threads.values())


# ---- sched_yield ----


def test_sched_yield_switches_threads(make: Callable[..., Guest]) -> None:
    g = make()
    a = spawn(g.x.take_turns, ord("a"), 5, IDX, LOG)
    b = spawn(g.x.take_turns, ord("b"), 5, IDX, LOG)
    join(a)
    join(b)
    assert g.bytes(LOG, 10) == b"ababababab"


# ---- waiting on file descriptors ----


def test_a_thread_blocked_in_fd_read_on_a_pipe_lets_others_run(
    make: Callable[..., Guest], pipe: tuple[int, int]
) -> None:
    r, w = pipe
    g = make(WasiConfig(stdin=r))
    reader = spawn(g.x.read, 0, g.base(1), 64)
    ticker = spawn(g.x.tick_until, FLAG, COUNTER)
    assert g.x.sleep(g.base(0), 20 * MS) == 0  # the reader blocks; the ticker and the main thread run
    assert reader.state is ThreadState.BLOCKED
    assert reader.blocked_on == f"fd {r} readable"
    ticks = g.u32(COUNTER)
    assert ticks > 10
    os.write(w, b"hello")
    assert join(reader) == 5
    assert g.bytes(g.base(1) + 16, 5) == b"hello"
    g.x.memory.write(FLAG, b"\1")
    assert join(ticker) >= ticks


def test_fd_read_wakes_for_a_write_from_another_green_thread(make: Callable[..., Guest], pipe: tuple[int, int]) -> None:
    r, w = pipe
    g = make(WasiConfig(stdin=r))

    def writer() -> None:
        for chunk in (b"one ", b"two"):
            current_scheduler().sleep(0.005)
            os.write(w, chunk)

    wt = spawn(writer, store=g.store)
    assert g.x.read(0, g.base(0), 64) == 4  # the main thread blocks; the writer runs
    assert g.x.read(0, g.base(0), 64) == 3
    join(wt)


def test_the_main_thread_blocked_on_a_pipe_waits_in_the_os(make: Callable[..., Guest], pipe: tuple[int, int]) -> None:
    """With nothing else to run, a read waits in the OS (the selector) for the data, however it comes."""
    r, w = pipe
    clock = RecordingClock()
    g = make(WasiConfig(stdin=r), clock=clock)
    clock.store = g.store
    timer = threading.Timer(0.03, os.write, (w, b"late"))
    timer.start()
    try:
        assert g.x.read(0, g.base(0), 64) == 4
    finally:
        timer.join()
    assert clock.idles and all(deadline is None for deadline, _, _ in clock.idles)


def test_poll_oneoff_fd_subscription_parks_only_its_thread(make: Callable[..., Guest], pipe: tuple[int, int]) -> None:
    r, w = pipe
    g = make(WasiConfig(stdin=r))
    poller = spawn(g.x.poll_read, g.base(1), 0, 10**9 * 10)
    assert g.x.sleep(g.base(0), 10 * MS) == 0
    assert poller.state is ThreadState.BLOCKED
    assert poller.blocked_on == f"fd {r} readable"
    os.write(w, b"x")
    assert join(poller) == 1  # the fd subscription's userdata
    timed = spawn(g.x.poll_read, g.base(1), 0, 10 * MS)
    assert g.x.read(0, g.base(2), 1) == 1  # drain: nothing left to read
    assert join(timed) == 7  # the clock's userdata: the deadline came first


def test_fd_write_to_a_full_pipe_parks_only_the_writer(make: Callable[..., Guest], pipe: tuple[int, int]) -> None:
    """A write bigger than the pipe holds is written in full, waiting (green) while a green reader drains it."""
    r, w = pipe
    os.set_blocking(r, False)
    g = make(WasiConfig(stdout=w))
    size = 4 * 65536  # more than a pipe holds (64 KiB on Linux)
    data = random.Random(1).randbytes(size)
    g.x.memory.write(65536 + 16, data)
    got = bytearray()

    def drain() -> None:
        sched = current_scheduler()
        while len(got) < size:
            sched.wait_readable(r)
            try:
                got.extend(os.read(r, 65536))
            except BlockingIOError:
                pass

    writer = spawn(g.x.write, 1, 65536, size)
    reader = spawn(drain, store=g.store)
    assert join(writer) == size
    join(reader)
    assert got == data


def test_sock_accept_and_sock_recv_park_only_their_thread(make: Callable[..., Guest]) -> None:
    config = WasiConfig().listen_tcp("127.0.0.1", 0)
    port = config.listeners[0].getsockname()[1]
    g = make(config)
    server = spawn(g.x.serve, 3, g.base(1))
    assert g.x.sleep(g.base(0), 10 * MS) == 0
    assert server.state is ThreadState.BLOCKED  # in sock_accept
    with socket.create_connection(("127.0.0.1", port)) as client:
        assert g.x.sleep(g.base(0), 10 * MS) == 0
        # Accepted; now in sock_recv, parked in the C core's reactor (the accepted socket's calls run in C).
        assert server.state is ThreadState.WAITING
        assert server.blocked_on is not None and server.blocked_on.endswith("readable")
        client.sendall(b"ping")
        assert join(server) == 4
    assert g.bytes(g.base(1) + 32, 4) == b"ping"


# ---- the adapter itself ----


class RecordingWaiter:
    """A fallback Waiter that records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def now(self) -> int:
        return 123

    def yield_(self) -> None:
        self.calls.append("yield")

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        self.calls.append(("wait", readable, writable, deadline))

    def sleep_until(self, deadline: int) -> None:
        self.calls.append(("sleep", deadline))


def test_outside_any_scheduler_the_fallback_answers() -> None:
    fallback = RecordingWaiter()
    w = SchedulerWaiter(fallback)
    assert w.now() == 123
    w.yield_()
    w.wait([5], [], 9)
    w.sleep_until(10)
    assert fallback.calls == ["yield", ("wait", [5], [], 9), ("sleep", 10)]
    before = time.time_ns()
    assert before <= w.realtime() <= time.time_ns()  # the fallback has no realtime(): the host's


def test_an_fd_the_selector_refuses_is_polled(tmp_path: Any) -> None:
    """epoll takes no regular file: the wait becomes a short sleep on the scheduler's clock, then a recheck."""
    clock = VirtualClock()
    store = Store(clock=clock)
    path = tmp_path / "f"
    path.write_bytes(b"data")
    fd = os.open(path, os.O_RDONLY)
    w = SchedulerWaiter(RecordingWaiter())

    def waits() -> list[int]:
        times = []
        w.wait([fd], [], None)
        times.append(clock.now_ns())
        w.wait([fd], [], clock.now_ns() + 10)
        times.append(clock.now_ns())
        return times

    try:
        t = spawn(waits, store=store)
        assert join(t) == [POLL_INTERVAL_NS, POLL_INTERVAL_NS + 10]
        assert w.fallback.calls == []  # type: ignore[attr-defined]
    finally:
        os.close(fd)
        store.scheduler.close()
