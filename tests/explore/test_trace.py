"""The schedule trace: valid Chrome Trace Event JSON, one lane per thread, one consistent timeline, the same
bytes for the same seed."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from wasmroutines.explore import Outcome, Program, Schedule, run_program
from wasmroutines.explore.cli import EXIT_ERROR

PROGRAMS = Path(__file__).resolve().parent.parent / "programs" / "explore"

_PHASES = {"X", "i", "M", "s", "f"}
MS = 1_000_000  # ns


def _trace(name: str, schedule: Schedule | None) -> tuple[str, Outcome]:
    outcome = run_program(Program.load(str(PROGRAMS / name)), schedule, trace=True)
    assert outcome.trace is not None
    return outcome.trace.to_json(), outcome


def check_chrome_trace(doc: dict[str, Any]) -> dict[int, str]:
    """Assert `doc` is Chrome Trace Event JSON as Perfetto reads it; return the lanes (tid -> name)."""
    assert isinstance(doc["traceEvents"], list)
    lanes: dict[int, str] = {}
    for ev in doc["traceEvents"]:
        assert ev["ph"] in _PHASES, ev
        assert isinstance(ev["pid"], int) and isinstance(ev["tid"], int), ev
        assert isinstance(ev["name"], str), ev
        if ev["ph"] == "M":
            if ev["name"] == "thread_name":
                assert ev["tid"] not in lanes, ev  # each lane named once
                lanes[ev["tid"]] = ev["args"]["name"]
            continue
        assert isinstance(ev["ts"], (int, float)) and ev["ts"] >= 0, ev
        if ev["ph"] == "X":
            assert isinstance(ev["dur"], (int, float)) and ev["dur"] >= 0, ev
        if ev["ph"] == "i":
            assert ev["s"] in ("t", "p", "g"), ev
        if ev["ph"] in ("s", "f"):
            assert isinstance(ev["id"], int), ev
    return lanes


def _ns(us: float) -> int:
    return round(us * 1000)  # the trace writes ns as us with three exact decimals


def _end(ev: dict[str, Any]) -> int:
    return _ns(ev["ts"]) + (_ns(ev["dur"]) if ev["ph"] == "X" else 0)


def _disjoint(spans: list[tuple[int, int]]) -> bool:
    spans = sorted(spans)
    return all(a[1] <= b[0] for a, b in pairwise(spans))


def check_timeline(doc: dict[str, Any], *, logical: bool) -> dict[int, list[dict[str, Any]]]:
    """Assert the trace tells one consistent story; return each lane's events (tid -> events, in order)."""
    lanes = check_chrome_trace(doc)
    events = [ev for ev in doc["traceEvents"] if ev["ph"] != "M"]
    # Lane tid is thread tid - 1: main, then the wasi threads by id; only global marks are on no lane.
    assert lanes[1] == "main"
    assert all(name == f"wasi thread {tid - 1} (#{tid - 1})" for tid, name in lanes.items() if tid != 1), lanes
    assert {ev["tid"] for ev in events if ev["ph"] != "i" or ev["s"] != "g"} == set(lanes)
    # One clock: an event is written when it happens, a span when it ends.
    ends = [_end(ev) for ev in events]
    assert ends == sorted(ends)
    trace_end = ends[-1]
    runs = [ev for ev in events if ev["ph"] == "X" and ev["cat"] == "run"]
    # One OS thread: whatever their lanes, no two run slices overlap.
    assert _disjoint([(_ns(ev["ts"]), _end(ev)) for ev in runs])
    if logical:  # 1 budget unit = 1 ns, and virtual time passes only while every thread sleeps
        assert all(ev["args"]["units"] == _ns(ev["dur"]) for ev in runs)
    by_lane = {tid: [ev for ev in events if ev["tid"] == tid] for tid in lanes}
    for tid, mine in by_lane.items():
        slices = [ev for ev in mine if ev.get("cat") == "run"]
        waits = [ev for ev in mine if ev.get("cat") == "blocked"]
        # A thread runs or waits, never both.
        assert _disjoint([(_ns(ev["ts"]), _end(ev)) for ev in slices + waits]), tid
        # A wait begins where a slice stopped "blocked", named after what the slice stopped on.
        assert [(_end(ev), ev["args"].get("on", "blocked")) for ev in slices if ev["args"]["stop"] == "blocked"] == [
            (_ns(ev["ts"]), ev["name"]) for ev in sorted(waits, key=lambda ev: ev["ts"])
        ], tid
        # A wake ends a wait; a wait ends with a wake, the thread's next slice (a timeout) or the run's end.
        wakes = [_ns(ev["ts"]) for ev in mine if ev["ph"] == "i" and ev["name"] == "wake"]
        wait_ends = [_end(ev) for ev in waits]
        assert all(t in wait_ends for t in wakes), tid
        starts = {_ns(ev["ts"]) for ev in slices}
        assert all(t in wakes or t in starts or t == trace_end for t in wait_ends), tid
        # A thread's exit is its lane's last event, at the end of a slice that stopped "exit".
        exits = [ev for ev in mine if ev["ph"] == "i" and ev["name"] == "exit"]
        if exits:
            assert exits == [mine[-1]], tid
            assert slices[-1]["args"]["stop"] == "exit" and _end(slices[-1]) == _ns(exits[0]["ts"]), tid
    # Every thread but main is spawned once, on its parent's lane, before anything happens on its own.
    spawns = [ev for ev in events if ev["ph"] == "i" and ev["name"] == "spawn"]
    assert sorted(ev["args"]["thread"] + 1 for ev in spawns) == sorted(set(lanes) - {1})
    for ev in spawns:
        child = by_lane[ev["args"]["thread"] + 1]
        assert ev["tid"] != ev["args"]["thread"] + 1
        assert min(_ns(e["ts"]) for e in child) >= _ns(ev["ts"]), ev
    # Flow arrows: each starts once, and ends (if it does) later, at the start of a slice of its lane.
    starts_of: dict[int, dict[str, Any]] = {}
    for ev in events:
        if ev["ph"] == "s":
            assert ev["id"] not in starts_of
            starts_of[ev["id"]] = ev
        elif ev["ph"] == "f":
            s = starts_of.pop(ev["id"])
            assert _ns(s["ts"]) <= _ns(ev["ts"]) and s["tid"] != ev["tid"], (s, ev)
            assert _ns(ev["ts"]) in {_ns(r["ts"]) for r in by_lane[ev["tid"]] if r.get("cat") == "run"}, ev
    return by_lane


def _kinds(events: list[dict[str, Any]], cat: str) -> list[str]:
    return [ev["name"] for ev in events if ev.get("cat") == cat]


def _interleaving(doc: dict[str, Any]) -> list[tuple[int, int, str]]:
    """Who ran, for how many units, and why they stopped, in order."""
    runs = [ev for ev in doc["traceEvents"] if ev["ph"] == "X" and ev["cat"] == "run"]
    return [(ev["tid"], ev["args"]["units"], ev["args"]["stop"]) for ev in sorted(runs, key=lambda ev: ev["ts"])]


def test_trace_of_a_correct_program() -> None:
    text, outcome = _trace("producer_consumer.wasm", Schedule(5, preempt_shared=True))
    assert (outcome.exit_code, outcome.failure, outcome.stdout) == (0, None, b"consumed 40 items, sum 60380\n")
    doc = json.loads(text)
    by_lane = check_timeline(doc, logical=True)
    # main and the four wasi threads it spawns, in order
    assert list(by_lane) == [1, 2, 3, 4, 5]
    main = by_lane[1]
    assert [ev["args"]["thread"] for ev in main if ev["name"] == "spawn" and ev["ph"] == "i"] == [1, 2, 3, 4]
    host = _kinds(main, "host")
    assert host[:4] == ["thread_spawn"] * 4 and "thread_spawn" not in host[4:]
    assert host[-2:] == ["fd_write", "proc_exit"]  # the line printed, then the exit
    # main ends with the run; every wasi thread exits, having made no host call (the ring is shared memory)
    assert not [ev for ev in main if ev["name"] == "exit"]
    for tid in (2, 3, 4, 5):
        assert _kinds(by_lane[tid], "thread").count("exit") == 1 and not _kinds(by_lane[tid], "host")
    # The threads share one mutex and wait on futexes (the joins too); this schedule makes them wait, so the
    # checks of waits and wakes above were not vacuous.
    waits = [ev for lane in by_lane.values() for ev in lane if ev.get("cat") == "blocked"]
    assert waits and all(ev["name"].startswith("futex 0x") for ev in waits)
    assert any(ev["name"] == "wake" for lane in by_lane.values() for ev in lane)


def test_waits_end_in_deadline_order() -> None:
    # sleepers.wat: main waits 1 ms on a futex nobody notifies, then thread i (id i + 1) sleeps 200 - i ms.
    text, outcome = _trace("sleepers.wat", Schedule(2))
    assert (outcome.exit_code, outcome.failure) == (0, None)
    by_lane = check_timeline(json.loads(text), logical=True)
    assert list(by_lane) == list(range(1, 202))
    first_wait = next(ev for ev in by_lane[1] if ev.get("cat") == "blocked")
    assert (first_wait["name"], _ns(first_wait["dur"])) == ("futex 0x18", MS)  # the timeout, in virtual time
    sleeps: dict[int, dict[str, Any]] = {}
    for tid in range(2, 202):
        (sleep,) = [ev for ev in by_lane[tid] if ev.get("cat") == "blocked"]
        assert sleep["name"] == "sleep" and _ns(sleep["dur"]) >= (200 - (tid - 2)) * MS, sleep
        sleeps[tid] = sleep
    # The shortest sleep ends first: the last thread spawned wakes first.
    assert sorted(sleeps, key=lambda tid: _end(sleeps[tid])) == list(range(201, 1, -1))


@pytest.mark.parametrize(
    ("name", "schedule"),
    [
        ("lock_order.wasm", Schedule(3, preempt_shared=True)),
        ("producer_consumer.wasm", Schedule(5, preempt_shared=True)),
        ("spawn_join.wasm", Schedule(0)),
    ],
)
def test_same_seed_same_trace(name: str, schedule: Schedule) -> None:
    a, _ = _trace(name, schedule)
    b, _ = _trace(name, schedule)
    assert a == b
    assert len(_interleaving(json.loads(a))) > 3  # threads took turns: the bytes compared hold a schedule


def _spawn_join_seeds() -> tuple[int, int]:
    """A seed under which spawn_join deadlocks and one under which it finishes (the program's comment)."""
    program = Program.load(str(PROGRAMS / "spawn_join.wasm"))
    kinds = {seed: run_program(program, Schedule(seed)).failure for seed in range(16)}
    deadlocks = [seed for seed, f in kinds.items() if f is not None and f.kind == "deadlock"]
    finishes = [seed for seed, f in kinds.items() if f is None]
    assert deadlocks and finishes and len(deadlocks) + len(finishes) == len(kinds), kinds
    return deadlocks[0], finishes[0]


def test_the_seed_decides_the_interleaving() -> None:
    # spawn_join deadlocks or not depending only on the schedule: the seeds of the two outcomes must give
    # different interleavings, and each trace must show its outcome.
    stuck, done = _spawn_join_seeds()
    stuck_text, stuck_outcome = _trace("spawn_join.wasm", Schedule(stuck))
    done_text, done_outcome = _trace("spawn_join.wasm", Schedule(done))
    assert done_outcome.stdout == b"joined, sum 6\n" and stuck_outcome.stdout == b""
    stuck_doc, done_doc = json.loads(stuck_text), json.loads(done_text)
    assert _interleaving(stuck_doc) != _interleaving(done_doc)
    for doc in (stuck_doc, done_doc):
        by_lane = check_timeline(doc, logical=True)
        assert list(by_lane) == [1, 2, 3, 4] and all(_kinds(by_lane[t], "thread") == ["exit"] for t in (2, 3, 4))
    # Deadlocked: the run ends marked, main still waiting on its join's futex until the end.
    last = stuck_doc["traceEvents"][-2:]
    assert (last[0]["ph"], last[0]["s"], last[0]["name"]) == ("i", "g", "deadlock")
    assert last[0]["args"] == {"message": "the only thread is blocked"}
    assert (last[1]["tid"], last[1]["cat"], _end(last[1])) == (1, "blocked", _ns(last[0]["ts"]))
    assert last[1]["name"].startswith("futex 0x")
    assert not [ev for ev in done_doc["traceEvents"] if ev.get("cat") == "run" and ev["ph"] == "i"]


def test_trace_in_real_time_mode() -> None:
    text, outcome = _trace("lost_update.wasm", None)
    doc = json.loads(text)
    assert "real time" in doc["otherData"]["time"]
    by_lane = check_timeline(doc, logical=False)
    assert list(by_lane) == [1, 2, 3, 4, 5]
    assert all(_kinds(by_lane[t], "thread") == ["exit"] for t in (2, 3, 4, 5))
    assert outcome.failure is None and outcome.exit_code == 0


def test_cli_trace_file(tmp_path: Path) -> None:
    # The CLI's --seed N runs Schedule(N): its trace file is the in-process trace, and its status the outcome's.
    stuck, done = _spawn_join_seeds()
    for seed, status, stdout in ((stuck, EXIT_ERROR, b""), (done, 0, b"joined, sum 6\n")):
        path = tmp_path / f"run{seed}.json"
        cmd = [sys.executable, "-m", "wasmroutines", "run", "--seed", str(seed), "--trace", str(path)]
        result = subprocess.run([*cmd, str(PROGRAMS / "spawn_join.wasm")], capture_output=True, timeout=120)
        assert (result.returncode, result.stdout) == (status, stdout), result.stderr.decode(errors="replace")
        assert (b"deadlock: the only thread is blocked" in result.stderr) == (seed == stuck)
        text, _ = _trace("spawn_join.wasm", Schedule(seed))
        assert path.read_text() == text + "\n"
