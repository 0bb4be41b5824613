"""Switches in batches (core/observe.py): traces, recordings and replays while the C core switches threads.

The same run is made twice: once as `run --trace --record` makes it (the core switches threads and logs what the
observers hear, wr_sched.h), once with an observer that must see every switch and takes no batches, which keeps
every decision in Python. Both must write the same trace and the same recording, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wasmroutines.core._ffi import lib
from wasmroutines.core.observe import NullObserver, SwitchBatch
from wasmroutines.core.record import Divergence, Recording
from wasmroutines.explore import Program, Schedule, run_program
from wasmroutines.explore.runner import RunHooks

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
MANIFEST = json.loads((PROGRAMS / "manifest.json").read_text())


class BatchSpy(NullObserver):
    """Takes batches (so the core keeps switching) and counts what it hears."""

    switch_batches = True

    def __init__(self) -> None:
        self.batches = 0
        self.events = 0
        self.largest = 0
        self.one_by_one = 0

    def switched(self, batch: SwitchBatch) -> None:
        self.batches += 1
        self.events += len(batch.events)
        self.largest = max(self.largest, len(batch.events))

    def started(self, thread: Any, budget: int) -> None:
        self.one_by_one += 1


def _program(name: str) -> Program:
    return Program.load(str(PROGRAMS / "wasm" / f"{name}.wasm"), args=MANIFEST["programs"][name]["args"])


def _run(program: Program, schedule: Schedule, observer: Any, **kw: Any) -> Any:
    return run_program(program, schedule, hooks=RunHooks(observers=[observer]), **kw)


CASES = [
    ("zig_condition", Schedule(1)),
    ("zig_mutex", Schedule(7)),
    ("c_pingpong", Schedule(3)),
    ("c_prime_pool", Schedule(5, min_slice=1, max_slice=2000)),
    ("zig_rwlock", Schedule(11, strategy="pct")),
    ("c_futex_mutex", Schedule(2, preempt_shared=True, min_slice=1, max_slice=10_000)),
]


@pytest.mark.parametrize(("name", "schedule"), CASES, ids=[c[0] for c in CASES])
def test_trace_and_recording_are_the_same_whichever_side_switches(name: str, schedule: Schedule) -> None:
    program = _program(name)
    spy = BatchSpy()
    in_c = _run(program, schedule, spy, record=True, trace=True)
    in_python = _run(program, schedule, NullObserver(), record=True, trace=True)
    assert in_c.failure is None and in_python.failure is None
    assert in_c.stdout == in_python.stdout == MANIFEST["programs"][name]["stdout"].encode()
    # The core did switch, and the batches carried those switches (the rest, after host calls, came one by one).
    assert spy.batches > 0 and spy.events > 0
    assert in_c.recording.dumps() == in_python.recording.dumps()
    assert in_c.trace.to_json() == in_python.trace.to_json()


def test_a_replay_while_the_core_switches_stops_at_an_injected_divergence() -> None:
    program = _program("zig_condition")
    schedule = Schedule(1)
    recording = run_program(program, schedule, record=True).recording
    assert recording is not None
    # Change how a thread stopped in the middle of the run: the units it ran.
    stops = [i for i, item in enumerate(recording.schedule) if isinstance(item, list) and len(item) >= 4]
    at = stops[len(stops) // 2]
    doc = Recording.loads(recording.dumps())
    doc.schedule[at][1] += 1
    messages = []
    for observer in (BatchSpy(), NullObserver()):
        with pytest.raises(Divergence) as info:
            run_program(program, None, replay=Recording.loads(doc.dumps()), hooks=RunHooks(observers=[observer]))
        messages.append((str(info.value), info.value.thread, info.value.where))
        if isinstance(observer, BatchSpy):
            assert observer.events > 0  # checked from batches
    # The same report either way: the decision, the thread, the function and the offset.
    assert messages[0] == messages[1]
    text, thread, where = messages[0]
    assert f"scheduling decision {at + 1}:" in text
    assert thread is not None and f"thread {thread}" in text
    assert where is not None and " at offset 0x" in where and where in text


def test_a_replay_while_the_core_switches_names_a_wrong_pick() -> None:
    program = _program("zig_condition")
    recording = run_program(program, Schedule(1), record=True).recording
    assert recording is not None
    doc = Recording.loads(recording.dumps())
    starts = [i for i, item in enumerate(doc.schedule) if isinstance(item, int)]
    at = starts[len(starts) // 2]
    doc.schedule[at] = 999
    expected = rf"decision {at + 1}: the recording runs thread 999, the replay picked thread"
    with pytest.raises(Divergence, match=expected):
        run_program(program, None, replay=doc, hooks=RunHooks(observers=[BatchSpy()]))


def test_a_long_observed_run_holds_no_event_per_decision() -> None:
    """The core hands its event log over once it holds a batch: however long the run, Python receives batches of
    bounded size, and nothing in the scheduler keeps them."""
    program = Program.load(str(PROGRAMS / "wasm" / "c_spin.wasm"), args=["2", "400000"])
    spy = BatchSpy()
    outcome = _run(program, Schedule(4, min_slice=1, max_slice=20), spy)
    assert outcome.failure is None
    assert spy.events > 10 * lib.WR_EVENTS_BATCH  # a long run ...
    assert spy.largest <= lib.WR_EVENTS_BATCH + 16  # ... heard in batches that do not grow with it
    assert spy.batches >= spy.events // (lib.WR_EVENTS_BATCH + 16)


def test_a_user_observer_without_batches_keeps_switching_in_python() -> None:
    program = _program("zig_condition")
    plain = NullObserver()
    seen = []
    plain.started = lambda thread, budget: seen.append(thread.id)  # type: ignore[method-assign]
    outcome = _run(program, Schedule(1), plain, log_decisions=True)
    assert outcome.failure is None
    assert len(seen) == len(outcome.decisions) + 1 > 100  # told of every pick (and main's first slice) one by one
    spy = BatchSpy()
    assert _run(program, Schedule(1), spy, log_decisions=True).decisions == outcome.decisions
    assert spy.one_by_one < len(outcome.decisions) / 10 and spy.events > len(outcome.decisions)
