"""Green threads through the public API: spawn, join, states, blocking host functions, scale."""

from __future__ import annotations

import gc
import os
import threading
import time
import tracemalloc
import weakref
from collections.abc import Callable

import pytest
from greenlet import GreenletExit

from wasmroutines import (
    Deadlock,
    Event,
    ForeignThreadError,
    Function,
    FuncType,
    GreenThread,
    Instance,
    Module,
    Store,
    ThreadState,
    Trap,
    ValType,
    VirtualClock,
    current_scheduler,
    current_thread,
    join,
    spawn,
)

I32 = ValType.I32

# A counter at 0 (plain load/store: only switch points can interleave), a barrier word at 4,
# a host import `block` (what it does is up to each test) and `work` that calls it.
BASIC = """
(module
  (import "host" "block" (func $block (param i32) (result i32)))
  (memory (export "mem") 1 1 shared)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (param i32) (result i32 i32) (local.get 0) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "boom") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "work") (param $x i32) (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $block (local.get $x)))
  (func (export "wait") (result i32)
    (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
  (func (export "notify") (result i32)
    (memory.atomic.notify (i32.const 4) (i32.const -1)))
  (func (export "spin") (param $n i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))
"""

# Every thread bumps the counter at 0 then waits until the last one arrives and wakes all:
# all of them are alive at once.
BARRIER = """
(module
  (memory (export "mem") 1 1 shared)
  (func (export "arrive") (param $n i32) (result i32)
    (if (i32.eq (i32.atomic.rmw.add (i32.const 0) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1)))
      (then
        (i32.atomic.store (i32.const 4) (i32.const 1))
        (drop (memory.atomic.notify (i32.const 4) (i32.const -1))))
      (else
        (block $done (loop $w
          (br_if $done (i32.atomic.load (i32.const 4)))
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $w)))))
    (i32.atomic.load (i32.const 0))))
"""


def _instance(store: Store, wat: Callable[[str], bytes], block: Callable[[int], int] | None = None) -> Instance:
    host = Function(store, block or (lambda x: x), FuncType([I32], [I32]))
    return Instance(store, Module(wat(BASIC)), {"host": {"block": host}})


@pytest.fixture
def basic(store: Store, wat: Callable[[str], bytes]) -> Callable[..., Instance]:
    return lambda block=None: _instance(store, wat, block)


# ---- spawn, join, states ----


def test_spawn_and_join_return_results(store: Store, basic: Callable[..., Instance]) -> None:
    inst = basic()
    a = spawn(inst.exports.add, 2, 3)
    b = store.scheduler.spawn(inst.exports.pair, 21, name="pair")
    assert isinstance(a, GreenThread)
    assert a.state is ThreadState.RUNNABLE and b.name == "pair"
    assert store.threads == [store.scheduler.main, a, b]
    assert join(a) == 5
    assert b.join() == (21, 42)
    assert a.state is ThreadState.DONE and not a.alive
    assert join(a) == 5  # joining again returns the same
    assert store.threads == [store.scheduler.main]


def test_join_reraises_the_threads_trap(basic: Callable[..., Instance]) -> None:
    inst = basic()
    t = spawn(inst.exports.boom, 0)
    with pytest.raises(Trap) as info:
        join(t)
    assert info.value.kind == "integer divide by zero"
    assert info.value.frames
    assert t.exception is info.value


def test_threads_left_alive_by_the_main_call_are_reported(store: Store, basic: Callable[..., Instance]) -> None:
    inst = basic()
    waiters = [spawn(inst.exports.wait) for _ in range(3)]
    assert inst.exports.spin(1000) == 1000  # the main call returns; the waiters never ran
    assert store.scheduler.alive == waiters
    store.scheduler.yield_now()  # now they run to their wait
    assert [t.state for t in waiters] == [ThreadState.WAITING] * 3
    assert store.scheduler.alive == waiters  # nothing killed them
    assert inst.exports.notify() == 3
    assert [join(t) for t in waiters] == [0, 0, 0]
    assert store.scheduler.alive == []


def test_threads_interleave_with_the_main_call(store: Store, basic: Callable[..., Instance]) -> None:
    from wasmroutines import FairPolicy

    store.set_policy(FairPolicy(slice=1000))
    inst = basic()
    order: list[str] = []
    inst_spin = inst.exports.spin

    def worker(name: str) -> None:
        for _ in range(3):
            inst_spin(5000)  # several slices: preempted in between
            order.append(name)

    spawn(worker, "a", store=store)
    spawn(worker, "b", store=store)
    inst_spin(50_000)  # the main call is preempted too: a and b run meanwhile
    assert sorted(order) == ["a"] * 3 + ["b"] * 3
    assert order[:2] == ["a", "b"]


def test_python_threads_can_call_wasm_and_block(store: Store, basic: Callable[..., Instance]) -> None:
    inst = basic()

    def py(x: int) -> int:
        current_scheduler().sleep(0.001)
        return int(inst.exports.add(x, 1))

    t = spawn(py, 41, store=store)
    assert join(t) == 42


def test_host_exception_in_a_thread_is_kept_for_join(basic: Callable[..., Instance]) -> None:
    class Oops(Exception):
        pass

    def block(x: int) -> int:
        raise Oops(x)

    inst = basic(block)
    t = spawn(inst.exports.work, 7)
    with pytest.raises(Oops):
        join(t)
    assert t.state is ThreadState.DONE


def test_current_thread_inside_host_functions(store: Store, basic: Callable[..., Instance]) -> None:
    seen: list[GreenThread] = []

    def block(x: int) -> int:
        seen.append(current_thread())
        return x

    inst = basic(block)
    t = spawn(inst.exports.work, 1)
    inst.exports.work(2)
    join(t)
    assert seen == [store.scheduler.main, t]


def test_yield_now_lets_others_run(store: Store, basic: Callable[..., Instance]) -> None:
    inst = basic()
    t = spawn(inst.exports.add, 1, 1)
    store.scheduler.yield_now()
    assert t.state is ThreadState.DONE


# ---- blocking host functions park only their own thread ----


def test_sleeping_host_function_parks_only_its_thread(wat: Callable[[str], bytes]) -> None:
    # On a virtual clock the deadlines are exact, however slowly a busy machine runs the threads.
    store = Store(clock=VirtualClock())
    log: list[tuple[int, int]] = []

    def block(ms: int) -> int:
        current_scheduler().sleep(ms / 1000)
        log.append((ms, current_thread().id))
        return ms

    inst = _instance(store, wat, block)
    slow = spawn(inst.exports.work, 30)
    fast = spawn(inst.exports.work, 10)
    assert inst.exports.work(20) == 20  # the main call sleeps too; the others run meanwhile
    assert log == [(10, fast.id), (20, store.scheduler.main.id)]
    assert (join(slow), join(fast)) == (30, 10)
    assert log[2:] == [(30, slow.id)]
    assert store.scheduler.now_ns() == 30_000_000  # concurrently: 30 ms in all, not 60 ms in sequence
    assert inst.exports.mem.read(0, 1) == b"\x03"


def test_block_until_event(store: Store, basic: Callable[..., Instance]) -> None:
    event = Event()

    def block(x: int) -> int:
        if x == 0:
            return int(current_scheduler().block_until(event))
        event.set()
        return 2

    inst = basic(block)
    waiter = spawn(inst.exports.work, 0)
    store.scheduler.yield_now()
    assert waiter.state is ThreadState.BLOCKED and waiter.blocked_on == "event"
    assert inst.exports.work(1) == 2
    assert join(waiter) == 1
    assert event.is_set()
    event.clear()
    assert not event.is_set()


def test_event_wait_times_out(store: Store, basic: Callable[..., Instance]) -> None:
    event = Event()
    inst = basic(lambda x: int(event.wait(timeout=x / 1000)))
    assert inst.exports.work(5) == 0
    assert event._waiters == []  # the timed-out waiter did not stay behind


def test_block_until_predicate(store: Store, basic: Callable[..., Instance]) -> None:
    box: list[int] = []

    def block(x: int) -> int:
        if x == 0:
            current_scheduler().block_until(lambda: bool(box))
            return box[0]
        box.append(x)
        return 0

    inst = basic(block)
    waiter = spawn(inst.exports.work, 0)
    store.scheduler.yield_now()
    assert waiter.state is ThreadState.BLOCKED
    spawn(inst.exports.work, 99)
    assert join(waiter) == 99


def test_wait_readable_parks_only_the_reader(store: Store, basic: Callable[..., Instance]) -> None:
    r, w = os.pipe()
    try:
        sched = store.scheduler

        def block(x: int) -> int:
            if x == 0:
                assert sched.wait_readable(r)
                return os.read(r, 1)[0]
            sched.sleep(0.005)
            assert sched.wait_writable(w)
            os.write(w, bytes([x]))
            return 0

        inst = basic(block)
        reader = spawn(inst.exports.work, 0)
        writer = spawn(inst.exports.work, 77)
        assert join(reader) == 77
        join(writer)
        # With a deadline and nothing to read: False, and the fd is no longer watched.
        t = spawn(lambda: sched.wait_readable(r, sched.now_ns() + 5_000_000), store=store)
        assert join(t) is False
        assert sched._io == {}
    finally:
        os.close(r)
        os.close(w)


def test_wake_up_from_another_os_thread(store: Store, basic: Callable[..., Instance]) -> None:
    event = Event()
    sched = store.scheduler
    inst = basic(lambda x: int(sched.block_until(event, external=True)))
    timer = threading.Timer(0.01, lambda: sched.call_soon_threadsafe(event.set))
    timer.start()
    try:
        assert inst.exports.work(0) == 1
    finally:
        timer.join()


def test_nested_call_from_a_green_thread_waits_on_its_own_thread(store: Store, basic: Callable[..., Instance]) -> None:
    inner: list[int] = []

    def block(x: int) -> int:
        if x == 0:
            inner.append(int(inst.exports.wait()))  # wasm -> host -> wasm, then a futex wait
            return 5
        return int(inst.exports.notify())

    inst = basic(block)
    t = spawn(inst.exports.work, 0)
    store.scheduler.yield_now()
    assert t.state is ThreadState.WAITING
    assert inst.exports.work(1) == 1
    assert join(t) == 5 and inner == [0]


def test_interrupt_from_a_thread_ends_the_main_call(store: Store, basic: Callable[..., Instance]) -> None:
    class Exit(Exception):
        pass

    def on_exit(thread: GreenThread) -> None:
        if thread.exception is not None:
            store.scheduler.interrupt(thread.exception)

    store.scheduler.on_thread_exit = on_exit
    inst = basic()
    spawn(inst.exports.boom, 0)
    with pytest.raises(Trap, match="divide by zero"):
        inst.exports.wait()  # would wait forever: the thread's trap ends it instead
    with pytest.raises(Exit):
        store.scheduler.interrupt(Exit())  # from the root itself: raised at once


def test_keyboard_interrupt_in_a_thread_reaches_the_root(store: Store, basic: Callable[..., Instance]) -> None:
    def block(x: int) -> int:
        raise KeyboardInterrupt

    inst = basic(block)
    spawn(inst.exports.work, 0)
    with pytest.raises(KeyboardInterrupt):
        inst.exports.wait()
    # The root's wait was cancelled, not left queued: a later notify finds nobody.
    assert inst.exports.notify() == 0


def test_touching_a_running_store_from_another_os_thread(store: Store, basic: Callable[..., Instance]) -> None:
    inst = basic()
    t = spawn(inst.exports.wait)
    store.scheduler.yield_now()
    errors: list[BaseException] = []

    def other() -> None:
        for action in (lambda: inst.exports.add(1, 2), lambda: spawn(inst.exports.add, 1, 2)):
            try:
                action()
            except ForeignThreadError as exc:
                errors.append(exc)

    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert len(errors) == 2 and "another OS thread" in str(errors[0])
    inst.exports.notify()
    join(t)

    # Idle again: another OS thread may now use the store.
    results: list[int] = []
    th = threading.Thread(target=lambda: results.append(inst.exports.add(1, 2)))
    th.start()
    th.join()
    assert results == [3]


# ---- lifetime ----


def test_a_store_whose_threads_are_done_is_freed(wat: Callable[[str], bytes]) -> None:
    store = Store()
    inst = _instance(store, wat, lambda x: current_scheduler().sleep(0.001) or x)
    threads = [spawn(inst.exports.work, i) for i in range(3)]
    assert [join(t) for t in threads] == [0, 1, 2]
    with pytest.raises(Deadlock):
        inst.exports.wait()
    ref, native = weakref.ref(store), store._native
    del store, inst, threads
    gc.collect()
    assert ref() is None and native.ptr is None  # no greenlet (not even the hub) kept it
    # The OS thread's last scheduler belonged to that store: a callable spawned without a store is refused, not
    # run on threads whose C state is gone.
    with pytest.raises(RuntimeError, match="use store.scheduler"):
        spawn(lambda: None)


def test_close_kills_the_threads_left_alive(wat: Callable[[str], bytes]) -> None:
    store = Store()
    inst = _instance(store, wat, lambda x: current_scheduler().sleep(100) or x)
    waiting = spawn(inst.exports.wait)
    sleeping = spawn(inst.exports.work, 1)
    store.scheduler.yield_now()
    never_started = spawn(inst.exports.add, 1, 2)
    assert [t.state for t in store.scheduler.alive] == [ThreadState.WAITING, ThreadState.BLOCKED, ThreadState.RUNNABLE]
    store.scheduler.close()
    assert store.scheduler.alive == []
    for t in (waiting, sleeping, never_started):
        assert t.state is ThreadState.DONE and isinstance(t.exception, GreenletExit)
    assert inst.exports.notify() == 0  # the killed waiter left the futex queue
    ref, native = weakref.ref(store), store._native
    del store, inst, waiting, sleeping, never_started, t
    gc.collect()
    assert ref() is None and native.ptr is None  # and with it every wr_thread of its pool (wr_spawn.h)


# ---- scale ----


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def test_ten_thousand_live_threads(wat: Callable[[str], bytes]) -> None:
    """10,000 wasm threads alive at once (all waiting on one barrier), then all run to completion."""
    n = 10_000
    store = Store()
    inst = Instance(store, Module(wat(BARRIER)))
    arrive = inst.exports.arrive
    probe: list[tuple[int, int, int]] = []

    def measure_then_arrive() -> int:
        # Spawned last, so it runs once every wasm thread waits at the barrier (FIFO); it arrives last.
        gc.collect()
        probe.append((_rss_kib(), *tracemalloc.get_traced_memory()))
        return int(arrive(n + 1))

    t0 = time.perf_counter()
    gc.collect()
    rss0 = _rss_kib()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        threads = [spawn(arrive, n + 1) for _ in range(n)]
        last = spawn(measure_then_arrive, store=store)
        store.scheduler.run()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    assert join(last) == n + 1
    assert all(join(t) == n + 1 for t in threads)
    assert store.threads == [store.scheduler.main]
    rss, traced, _ = probe[0]
    print(
        f"\n{n} waiting threads: {(rss - rss0) / n:.1f} KiB RSS each, "
        f"{(traced - base) / n / 1024:.1f} KiB traced by tracemalloc each; {elapsed:.2f} s in all"
    )  # figures for the reader only: benchmarks/test_threads.py (test_many_threads) holds the speed bar


def test_the_result_of_a_blocking_wait_feeds_the_next_instruction(wat: Callable[[str], bytes]) -> None:
    """A wait that blocked gets its result written when it ends (timeout: 2); the next op must read that.

    Regression: with the translator's accumulator variants the instruction after a blocking wait read a
    stale accumulator (i32.ne gave 1, i32.add gave 1) while a plain return of the result was right.
    """
    store = Store()
    inst = Instance(
        store,
        Module(
            wat(
                """(module (memory 1 1 shared)
      (func (export "plain") (param i64) (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get 0)))
      (func (export "ne2") (param i64) (result i32)
        (i32.ne (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get 0)) (i32.const 2)))
      (func (export "add1") (param i64) (result i32)
        (i32.add (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get 0)) (i32.const 1))))"""
            )
        ),
        {},
    )
    for timeout in (0, 1_000_000):  # 0 does not block; 1 ms blocks, then times out
        assert [inst.exports.plain(timeout), inst.exports.ne2(timeout), inst.exports.add1(timeout)] == [2, 0, 3]
