"""Timeouts of memory.atomic.wait kept by the C core (_native/wr_timer.c) on the store's own clock.

With a MonotonicClock or a VirtualClock (exactly those: a subclass that
changes `idle` keeps every timeout in Python), a timed wait waits in C like
any other, the core's run loop fires it and, when nothing can run, idles until
the next one itself (virtual time jumps to it). These tests check the results
and the times, that the core idled without Python (the scheduler's own idle
is never asked to idle), that Python decides identically when it switches
(core_switching off), and that a notify, a kill or the wall-time
limit end such waits as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from wasmroutines import Instance, Module, MonotonicClock, Store, VirtualClock, WallTimeExceeded, join, spawn, wat2wasm

MS = 1_000_000

WAT = """
(module
  (memory (export "memory") 1 1 shared)
  ;; Wait at address 0 (which holds 0) for $ns, then append $id to the log at 64 (its length at 60): the result.
  (func (export "wait_for") (param $id i32) (param $ns i64) (result i32)
    (local $r i32) (local $k i32)
    (local.set $r (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get $ns)))
    (local.set $k (i32.atomic.rmw.add (i32.const 60) (i32.const 1)))
    (i32.store8 offset=64 (local.get $k) (local.get $id))
    (local.get $r))
  (func (export "notify_all") (result i32) (memory.atomic.notify (i32.const 0) (i32.const 100)))
  (func (export "log") (param $i i32) (result i32) (i32.load8_u offset=64 (local.get $i)))
)
"""


@pytest.fixture(scope="module")
def module() -> Module:
    return Module(wat2wasm(WAT))


def _setup(module: Module, clock: Any, *, core: bool = True) -> tuple[Store, Any, list[int]]:
    """A store on `clock` whose clock counts its Python idles (an instance attribute: the class stays the one the
    core keeps time for)."""
    store = Store(clock=clock)
    store.scheduler.core_switching = core
    idles: list[int] = []
    original = clock.idle

    def counting_idle(deadline_ns: int | None, poll: Callable[[float | None], int]) -> None:
        idles.append(1)
        original(deadline_ns, poll)

    clock.idle = counting_idle
    return store, Instance(store, module).exports, idles


@pytest.mark.parametrize("core", [True, False], ids=["switched in C", "switched in Python"])
def test_timed_waits_end_in_deadline_order_on_virtual_time(module: Module, core: bool) -> None:
    clock = VirtualClock()
    store, x, idles = _setup(module, clock, core=core)
    threads = [spawn(x.wait_for, i, ms * MS) for i, ms in ((1, 30), (2, 10), (3, 20), (4, 10))]
    assert [join(t) for t in threads] == [2, 2, 2, 2]
    assert [x.log(i) for i in range(4)] == [2, 4, 3, 1]  # by deadline, then by arrival
    assert clock.now_ns() == 30 * MS
    assert idles == []  # the core jumped from timeout to timeout, whoever decided the switches
    store.scheduler.close()


def test_timed_waits_end_on_the_monotonic_clock_without_python(module: Module) -> None:
    store, x, idles = _setup(module, MonotonicClock())
    start = time.monotonic_ns()
    threads = [spawn(x.wait_for, i, ms * MS) for i, ms in ((1, 6), (2, 2), (3, 4))]
    assert [join(t) for t in threads] == [2, 2, 2]
    assert time.monotonic_ns() - start >= 6 * MS
    assert [x.log(i) for i in range(3)] == [2, 3, 1]
    assert idles == []  # the core slept until each timeout
    store.scheduler.close()


def test_a_notify_before_the_timeout_ends_the_wait_and_drops_its_timeout(module: Module) -> None:
    clock = VirtualClock()
    store, x, _ = _setup(module, clock)
    waiter = spawn(x.wait_for, 1, 1000 * MS)
    notifier = spawn(lambda: (store.scheduler.yield_now(), x.notify_all())[1], store=store)
    assert join(notifier) == 1
    assert join(waiter) == 0
    assert clock.now_ns() == 0  # the timeout went with the wait: time never had to move
    store.scheduler.close()


def test_closing_the_store_ends_threads_waiting_with_a_timeout(module: Module) -> None:
    store, x, _ = _setup(module, VirtualClock())
    waiters = [spawn(x.wait_for, i, 1000 * MS) for i in range(3)]
    store.scheduler.yield_now()
    store.scheduler.close()
    assert all(not w.alive for w in waiters)


def test_the_wall_time_limit_stops_a_core_sleeping_on_a_timeout(module: Module) -> None:
    store, x, _ = _setup(module, MonotonicClock())
    store.scheduler.set_wall_time(0.05)
    waiter = spawn(x.wait_for, 1, 60_000 * MS)
    with pytest.raises(WallTimeExceeded):
        join(waiter)
    store.scheduler.close()


def test_a_clock_that_idles_its_own_way_keeps_the_timeouts_in_python(module: Module) -> None:
    class Quiet(VirtualClock):
        idles = 0

        def idle(self, deadline_ns: int | None, poll: Callable[[float | None], int]) -> None:
            Quiet.idles += 1
            super().idle(deadline_ns, poll)

    clock = Quiet()
    store, x, _ = _setup(module, clock)
    assert join(spawn(x.wait_for, 1, 5 * MS)) == 2
    assert clock.now_ns() == 5 * MS and Quiet.idles >= 1
    store.scheduler.close()
