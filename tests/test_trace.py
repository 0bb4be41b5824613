"""The schedule trace: valid Chrome Trace Event JSON, one lane per thread, the same bytes for the same seed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from wasmroutines.explore import Program, Schedule, run_program

PROGRAMS = Path(__file__).resolve().parent / "programs" / "explore"

#: sha256 of lock_order.wasm's trace under Schedule(3, preempt_shared=True). It pins the whole
#: deterministic pipeline (policy draws, instruction counts, event order). A change of how the
#: C core charges budget units legitimately changes it: then check that two runs still agree
#: (test_same_seed_same_trace) and update the hash.
LOCK_ORDER_TRACE_SHA256 = "040bd2df2e20109c1e5178d5e30a65ea730157f9a1ac229033616aa1c7a0df39"

_PHASES = {"X", "i", "M", "s", "f"}


def _trace(name: str, schedule: Schedule | None) -> tuple[str, Any]:
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


def test_trace_is_chrome_trace_json_with_one_lane_per_thread() -> None:
    text, outcome = _trace("producer_consumer.wasm", Schedule(5, preempt_shared=True))
    doc = json.loads(text)
    lanes = check_chrome_trace(doc)
    runs = [ev for ev in doc["traceEvents"] if ev["ph"] == "X" and ev["name"] == "run"]
    # main and the four wasi threads: five lanes, each with its run slices, each lane named once
    assert set(lanes) == {ev["tid"] for ev in runs}
    assert len(lanes) == 5
    assert lanes[1] == "main"
    spawns = [ev for ev in doc["traceEvents"] if ev["name"] == "spawn" and ev["ph"] == "i"]
    assert len(spawns) == 4 and all(ev["tid"] == 1 for ev in spawns)
    host = {ev["name"] for ev in doc["traceEvents"] if ev.get("cat") == "host"}
    assert {"thread_spawn", "fd_write"} <= host
    blocked = [ev for ev in doc["traceEvents"] if ev.get("cat") == "blocked"]
    assert blocked and all(ev["name"].startswith(("futex", "join", "sleep")) for ev in blocked)
    # slices on one lane never overlap
    for tid in lanes:
        spans = sorted((ev["ts"], ev["ts"] + ev["dur"]) for ev in runs if ev["tid"] == tid)
        assert all(a[1] <= b[0] + 1e-9 for a, b in zip(spans, spans[1:], strict=False))
    assert outcome.stdout == b"consumed 40 items, sum 60380\n"


def test_same_seed_same_trace() -> None:
    a, _ = _trace("lock_order.wasm", Schedule(3, preempt_shared=True))
    b, _ = _trace("lock_order.wasm", Schedule(3, preempt_shared=True))
    c, _ = _trace("lock_order.wasm", Schedule(4, preempt_shared=True))
    assert a == b
    assert a != c


def test_committed_trace_hash() -> None:
    text, _ = _trace("lock_order.wasm", Schedule(3, preempt_shared=True))
    assert hashlib.sha256(text.encode()).hexdigest() == LOCK_ORDER_TRACE_SHA256, (
        "the deterministic trace changed: see LOCK_ORDER_TRACE_SHA256's comment"
    )


def test_trace_in_real_time_mode() -> None:
    text, outcome = _trace("lost_update.wasm", None)
    doc = json.loads(text)
    assert "real time" in doc["otherData"]["time"]
    assert len(check_chrome_trace(doc)) == 5
    assert outcome.failure is None


def test_cli_trace_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasmroutines",
            "run",
            "--seed",
            "1",
            "--trace",
            str(path),
            str(PROGRAMS / "spawn_join.wasm"),
        ],
        capture_output=True,
        timeout=120,
    )
    doc = json.loads(path.read_text())
    lanes = check_chrome_trace(doc)
    assert lanes[1] == "main" and len(lanes) >= 2
    assert result.returncode in (0, 1)  # spawn_join may deadlock under a schedule; the trace is written either way
