"""The C core switching threads under an observer that takes its switches in batches (core/observe.py): the
scheduler's side, through the Store API. A trace made while the core switches must be the one Python switching
makes (Scheduler.core_switching = False), also with Python threads, host calls and a contention in the mix."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pingpong import PINGPONG

from wasmroutines import Function, FuncType, Instance, Module, SeededPolicy, Store, ValType, join, spawn, wat2wasm
from wasmroutines.core.observe import InstructionCounter, NullObserver, Observers, SwitchBatch
from wasmroutines.core.policy import PCTPolicy
from wasmroutines.core.trace import ChromeTrace

I32 = ValType.I32


class Batches(NullObserver):
    """Counts the events the core handed over in batches."""

    switch_batches = True

    def __init__(self) -> None:
        self.events = 0

    def switched(self, batch: SwitchBatch) -> None:
        self.events += len(batch.events)


def _traced_run(make: Callable[[], SeededPolicy], in_core: bool) -> tuple[str, list[int], int]:
    store = Store(policy=make())
    sched = store.scheduler
    sched.core_switching = in_core

    def report(me: int) -> int:
        return 100 + me

    host = Function(store, report, FuncType([I32], [I32]))
    inst = Instance(store, Module(wat2wasm(PINGPONG)), {"host": {"report": host}})
    trace = ChromeTrace(sched, InstructionCounter(store), logical=True, name="pingpong")
    batches = Batches()
    sched.observer = Observers([trace, batches])

    def python_side() -> tuple[object, ...]:
        # A Python thread in the run queue too: the core picks it like any task (no wasm slice: budget 0).
        a = spawn(inst.exports.pingpong, 0, 150, 1)  # ends with a host call
        b = spawn(inst.exports.pingpong, 1, 150, 0)
        return join(a), join(b), inst.exports.add(2, 3)

    c = sched.spawn(python_side, name="python side")
    d = spawn(inst.exports.pingpong, 0, 0, 0)  # contends at once, returns
    assert join(c) == (100, 150, 5) and join(d) == 0
    sched.observer = None
    decisions = sched.policy.decisions  # type: ignore[attr-defined]
    store.close()
    return trace.to_json(), decisions, batches.events


@pytest.mark.parametrize(
    "make", [lambda: SeededPolicy(5, log=True), lambda: PCTPolicy(5, log=True)], ids=["random", "pct"]
)
def test_a_trace_is_the_same_whether_the_core_or_python_switches(make: Callable[[], SeededPolicy]) -> None:
    in_core, core_decisions, heard = _traced_run(make, True)
    in_python, python_decisions, none = _traced_run(make, False)
    assert core_decisions == python_decisions and len(core_decisions) >= 300
    assert heard >= len(core_decisions) and none == 0  # the core switched (and logged); Python did not
    assert in_core == in_python
    assert '"name":"python side (#' in in_core and '"name":"report"' in in_core  # a Python thread, a host call
