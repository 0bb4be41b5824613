"""Switching without Python: the core switching between wasm threads itself (wr_exec.h, Switching) and wasm
threads started inline on the greenlet that picks them (Scheduler._start_inline). Both are mechanisms only: every
test checks the program's results, and the greenlet switches counted through greenlet.settrace show whether the
mechanism engaged (or, under an observer, that it did not); a seeded schedule is the same either way."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from pingpong import PINGPONG, pingpong_instance
from switch_count import counting_switches

from wasmroutines import (
    Deadlock,
    FairPolicy,
    Function,
    FuncType,
    Instance,
    Module,
    SeededPolicy,
    Store,
    ThreadState,
    Trap,
    ValType,
    current_thread,
    join,
    spawn,
    wat2wasm,
)
from wasmroutines.core._ffi import lib
from wasmroutines.core.observe import SchedulerObserver
from wasmroutines.core.policy import PCTPolicy

I32 = ValType.I32


@pytest.fixture
def pingpong(store: Store, wat: Callable[[str], bytes]) -> Callable[..., Instance]:
    return lambda report=None: pingpong_instance(store, report)


def _play(inst: Instance, rounds: int, how: tuple[int, int] = (0, 0)) -> tuple[object, object]:
    a = spawn(inst.exports.pingpong, 0, rounds, how[0])
    b = spawn(inst.exports.pingpong, 1, rounds, how[1])
    return join(a), join(b)


# ---- the handoff ----


def test_a_futex_pingpong_runs_in_the_core(pingpong: Callable[..., Instance]) -> None:
    inst = pingpong()
    with counting_switches() as switches:
        assert _play(inst, 2000) == (2000, 2000)
    assert inst.exports.count() == 4000
    # 4,000 hand-overs; without the handoff each is a greenlet switch or two.
    assert switches[0] < 20, switches[0]


@pytest.mark.parametrize(
    "make", [lambda: SeededPolicy(3, log=True), lambda: PCTPolicy(3, log=True)], ids=["random", "pct"]
)
def test_a_seeded_policy_switches_in_the_core_as_python_would(
    store: Store, pingpong: Callable[..., Instance], make: Callable[[], SeededPolicy]
) -> None:
    """The core asks the same C policy the same questions in the same order as the Python scheduler: the same
    decisions, slices and units run, with nearly no greenlet switch."""
    runs = []
    for in_core in (True, False):
        s = Store(policy=make())
        s.scheduler.core_switching = in_core
        host = Function(s, lambda me: 100 + me, FuncType([I32], [I32]))
        inst = Instance(s, Module(wat2wasm(PINGPONG)), {"host": {"report": host}})
        with counting_switches() as switches:
            assert _play(inst, 200, (1, 0)) == (100, 200)
        runs.append((s.scheduler.policy.decisions, lib.wr_api_store_ran(s._native.ptr), switches[0]))  # type: ignore[attr-defined]
    (core, core_units, few), (python, python_units, many) = runs
    assert core == python and core_units == python_units
    assert len(core) >= 400 and few < 40 < 400 <= many


def test_no_handoff_while_observed(store: Store, pingpong: Callable[..., Instance]) -> None:
    woken: list[int] = []

    class Wakes(SchedulerObserver):
        def woken(self, thread: object) -> None:
            woken.append(1)

    store.scheduler.observer = Wakes()
    inst = pingpong()
    assert _play(inst, 100) == (100, 100)
    store.scheduler.observer = None
    assert len(woken) >= 190  # the observer saw (nearly) every wake-up: none happened unseen in C


def test_a_thread_run_ahead_calls_the_host_as_itself(pingpong: Callable[..., Instance]) -> None:
    seen: list[tuple[int, object]] = []

    def report(me: int) -> int:
        seen.append((me, current_thread()))
        return 100 + me

    inst = pingpong(report)
    a = spawn(inst.exports.pingpong, 0, 500, 1)
    b = spawn(inst.exports.pingpong, 1, 500, 1)
    assert (join(a), join(b)) == (100, 101)
    assert sorted(seen, key=lambda x: x[0]) == [(0, a), (1, b)]


def test_a_thread_run_ahead_still_times_out(store: Store, pingpong: Callable[..., Instance]) -> None:
    inst = pingpong()
    # Both end in a 1 ms wait that nobody notifies: 2 ("timed-out"), whichever ran ahead.
    assert _play(inst, 300, (2, 2)) == (2, 2)
    # A thread handed back to Python with a timed wait (its timer is Python's) is counted waiting once.
    assert store.scheduler._nwaiting == 0


def test_a_thread_run_ahead_traps_for_its_joiner(pingpong: Callable[..., Instance]) -> None:
    inst = pingpong()
    a = spawn(inst.exports.pingpong, 0, 300, 0)
    b = spawn(inst.exports.pingpong, 1, 300, 3)
    assert join(a) == 300
    with pytest.raises(Trap) as info:
        join(b)
    assert info.value.kind == "unreachable"
    assert info.value.frames[0].func_index == 1  # pingpong (after the import)


def test_deadlock_reports_where_threads_wait_now(store: Store, pingpong: Callable[..., Instance]) -> None:
    inst = pingpong()
    # a waits at 0 (its turn word); b hands it the turn and sticks at 12; a, run ahead in C, then
    # sticks at 0 again... everyone ends waiting: the report must show the addresses as they are at the end.
    a = spawn(inst.exports.pingpong, 1, 2, 0)
    b = spawn(inst.exports.hand_over_and_stick)
    with pytest.raises(Deadlock) as info:
        join(a)
    by_id = {r.id: r for r in info.value.threads}
    assert by_id[b.id].blocked_on == "futex 0xc"
    assert by_id[a.id].blocked_on == "futex 0x0"
    assert a.state is ThreadState.WAITING and b.state is ThreadState.WAITING
    store.scheduler.close()


MUTEX = """
(module
  (memory (export "mem") 1 1 shared)
  ;; $n times: take the futex mutex at word 0, bump the plain counter at 4, release it.
  (func (export "work") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $round
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (block $locked (loop $try
          (br_if $locked (i32.eqz (i32.atomic.rmw.cmpxchg (i32.const 0) (i32.const 0) (i32.const 1))))
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const -1)))
          (br $try)))
        (i32.store (i32.const 4) (i32.add (i32.load (i32.const 4)) (i32.const 1)))
        (i32.atomic.store (i32.const 0) (i32.const 0))
        (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $round)))
    (local.get $i))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0))))
"""


def test_mutex_counter_stays_exact(store: Store, wat: Callable[[str], bytes]) -> None:
    # A futex mutex around a plain counter, tiny slices so threads are preempted inside the lock: lost
    # updates or a lost wake-up (a hang: Deadlock) would show a broken handoff.
    store.set_policy(FairPolicy(slice=7))
    inst = Instance(store, Module(wat(MUTEX)), {})
    threads = [spawn(inst.exports.work, 2000) for _ in range(8)]
    assert [join(t) for t in threads] == [2000] * 8
    assert inst.exports.load(4) == 16000
    assert inst.exports.load(0) == 0


# ---- inline start ----


def test_a_short_thread_runs_without_a_switch(store: Store, pingpong: Callable[..., Instance]) -> None:
    inst = pingpong()
    add = inst.exports.add
    join(spawn(add, 0, 0))  # the hub exists from here on
    with counting_switches() as switches:
        assert [join(spawn(add, i, 1)) for i in range(50)] == list(range(1, 51))
    assert switches[0] == 0
    assert store.scheduler.alive == []


def test_an_inline_thread_that_blocks_gets_its_own_greenlet(store: Store, pingpong: Callable[..., Instance]) -> None:
    inst = pingpong()
    t = spawn(inst.exports.stuck, 16)
    store.scheduler.yield_now()  # t starts inline, waits: now a greenlet parked in its wait
    assert t.state is ThreadState.WAITING and t.blocked_on == "futex 0x10"
    assert inst.exports.add(1, 2) == 3  # the main thread goes on
    store.scheduler.close()
    assert t.state is ThreadState.DONE
    # No call is left counted: the store may move to another OS thread now.
    out: list[int] = []
    worker = threading.Thread(target=lambda: out.append(inst.exports.add(2, 2)))
    worker.start()
    worker.join()
    assert out == [4]


def test_an_inline_thread_that_calls_the_host(store: Store, pingpong: Callable[..., Instance]) -> None:
    seen: list[object] = []

    def report(me: int) -> int:
        seen.append(current_thread())
        store.scheduler.yield_now()  # a host function that switches: needs the thread's own greenlet
        return me * 2

    inst = pingpong(report)
    t = spawn(inst.exports.pingpong, 0, 0, 1)  # no rounds: straight to the host call
    assert join(t) == 0
    assert seen == [t]


def test_threads_switching_in_the_core_share_one_slice(store: Store, pingpong: Callable[..., Instance]) -> None:
    # Two threads handing over forever in C must not starve a third runnable thread: they run on one slice,
    # whose end returns to the scheduler's round robin.
    store.set_policy(FairPolicy(slice=10_000))
    inst = pingpong()
    rounds = 200_000
    a = spawn(inst.exports.pingpong, 0, rounds, 0)
    b = spawn(inst.exports.pingpong, 1, rounds, 0)
    seen: list[int] = []
    c = spawn(lambda: seen.append(inst.exports.count()), store=store)
    join(c)
    assert seen and seen[0] < 2 * rounds // 10  # c ran within a few slices, long before the pair ended
    assert (join(a), join(b)) == (rounds, rounds)
