"""Deadlock detection: every thread blocked, nothing to wake them -> Deadlock with a report, never a hang."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import (
    Deadlock,
    Event,
    Function,
    FuncType,
    Instance,
    Module,
    Store,
    ThreadReport,
    ThreadState,
    WasmroutinesError,
    current_scheduler,
    join,
    spawn,
)

# Named functions (the name section gives backtraces their names): `lock_a` waits forever on
# the word at 16, `lock_b` on 32, through a helper so the backtrace has two frames.
LOCKS = """
(module $locks
  (import "host" "park" (func $park))
  (memory (export "mem") 1 1 shared)
  (func $wait_on (param $addr i32) (result i32)
    (memory.atomic.wait32 (local.get $addr) (i32.const 0) (i64.const -1)))
  (func $lock_a (export "lock_a") (result i32) (call $wait_on (i32.const 16)))
  (func $lock_b (export "lock_b") (result i32) (call $wait_on (i32.const 32)))
  (func (export "timed") (param $ns i64) (result i32)
    (memory.atomic.wait32 (i32.const 48) (i32.const 0) (local.get $ns)))
  (func (export "wake_a") (result i32) (memory.atomic.notify (i32.const 16) (i32.const 1)))
  (func $in_host (export "in_host") (call $park)))
"""


@pytest.fixture
def locks(store: Store, wat: Callable[[str], bytes]) -> Callable[..., Instance]:
    """locks(park=callable) -> an instance of LOCKS whose `park` import calls `park`."""

    def make(park: Callable[[], None] = lambda: None) -> Instance:
        host = Function(store, park, FuncType([], []))
        return Instance(store, Module(wat(LOCKS)), {"host": {"park": host}})

    return make


def test_main_waiting_alone_is_a_deadlock(store: Store, locks: Callable[..., Instance]) -> None:
    inst = locks()
    with pytest.raises(Deadlock) as info:
        inst.exports.lock_a()
    dl = info.value
    assert isinstance(dl, WasmroutinesError)
    [report] = dl.threads
    assert isinstance(report, ThreadReport)
    assert (report.id, report.name, report.state, report.wait_address) == (0, "main", "waiting", 16)
    assert report.blocked_on == "futex 0x10"
    assert [f.func_name for f in report.frames] == ["wait_on", "lock_a"]
    assert "thread 0 (main): waiting on futex 0x10" in str(dl)
    assert "at wait_on" in str(dl)


def test_report_lists_every_thread_with_its_address_and_backtrace(store: Store, locks: Callable[..., Instance]) -> None:
    inst = locks()
    a = spawn(inst.exports.lock_a, name="a")
    b = spawn(inst.exports.lock_b, name="b")
    with pytest.raises(Deadlock) as info:
        join(a)
    reports = {r.id: r for r in info.value.threads}
    assert set(reports) == {0, a.id, b.id}
    assert reports[0].state == "blocked" and reports[0].blocked_on == f"join thread {a.id}"
    assert reports[0].frames == []  # the root is not inside wasm
    assert (reports[a.id].name, reports[a.id].wait_address) == ("a", 16)
    assert (reports[b.id].name, reports[b.id].wait_address) == ("b", 32)
    assert [f.func_name for f in reports[b.id].frames] == ["wait_on", "lock_b"]
    assert all(f.module_name == "locks" for f in reports[b.id].frames)
    assert str(info.value).startswith("deadlock: all 3 threads are blocked")


def test_threads_survive_a_deadlock_and_can_be_woken_later(store: Store, locks: Callable[..., Instance]) -> None:
    inst = locks()
    a = spawn(inst.exports.lock_a)
    with pytest.raises(Deadlock):
        join(a)
    assert a.state is ThreadState.WAITING
    assert store.scheduler.main.state is ThreadState.RUNNING
    assert inst.exports.wake_a() == 1
    assert join(a) == 0


def test_aborted_main_wait_leaves_no_waiter_behind(store: Store, locks: Callable[..., Instance]) -> None:
    inst = locks()
    with pytest.raises(Deadlock):
        inst.exports.lock_a()
    assert inst.exports.wake_a() == 0  # the main thread's wait was cancelled, not left in the queue
    with pytest.raises(Deadlock):
        inst.exports.lock_a()  # and it can wait (and deadlock) again


def test_a_timer_is_not_a_deadlock(store: Store, locks: Callable[..., Instance]) -> None:
    inst = locks()
    a = spawn(inst.exports.lock_a)
    assert inst.exports.timed(2_000_000) == 2  # everything blocked, but the timeout will fire
    assert a.state is ThreadState.WAITING
    assert inst.exports.wake_a() == 1
    join(a)


def test_join_cycle_between_python_threads(store: Store) -> None:
    sched = store.scheduler
    box: dict[str, object] = {}

    def first() -> None:
        sched.yield_now()
        join(box["second"])  # type: ignore[arg-type]

    def second() -> None:
        join(box["first"])  # type: ignore[arg-type]

    box["first"] = sched.spawn(first, name="first")
    box["second"] = sched.spawn(second, name="second")
    with pytest.raises(Deadlock) as info:
        sched.run()
    states = {r.name: r.blocked_on for r in info.value.threads}
    assert states["first"] == "join thread 2" and states["second"] == "join thread 1"


def test_host_blocked_on_an_event_nobody_sets(store: Store, locks: Callable[..., Instance]) -> None:
    event = Event()
    inst = locks(lambda: current_scheduler().block_until(event) and None)
    t = spawn(inst.exports.in_host)
    with pytest.raises(Deadlock) as info:
        join(t)
    report = next(r for r in info.value.threads if r.id == t.id)
    assert (report.state, report.blocked_on) == ("blocked", "event")
    assert [f.func_name for f in report.frames] == ["in_host"]  # parked inside a host call from wasm
    event.set()  # setting it later wakes the thread as usual
    join(t)


def test_predicate_that_nothing_can_make_true(store: Store) -> None:
    sched = store.scheduler
    with pytest.raises(Deadlock) as info:
        sched.block_until(lambda: False)
    assert info.value.threads[0].blocked_on.startswith("condition")  # type: ignore[union-attr]


def test_pending_external_wake_up_is_not_a_deadlock(store: Store) -> None:
    import threading

    sched = store.scheduler
    event = Event()
    timer = threading.Timer(0.01, lambda: sched.call_soon_threadsafe(event.set))
    timer.start()
    try:
        assert sched.block_until(event, external=True)
    finally:
        timer.join()
