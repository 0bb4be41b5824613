"""tools/bench_report.py's verdict: it exits 1 when a goal is missed, when nothing was measured, or when a test of
our own failed, and 0 otherwise. Fed made-up saved JSON (its `--json` option), so no benchmark runs here."""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .paths import ROOT
from .workloads import (
    BAR,
    CALLS,
    COMMANDS,
    COREMARK_ID,
    IDLE_FIT,
    IDLE_MEMORY,
    PINGPONG,
    SEEDED_PROGRAMS,
    SPAWN_JOIN,
    WASI_SPAWN,
    WASI_SPAWN_LARGE,
)

REPORT = ROOT / "tools" / "bench_report.py"


@functools.cache
def _report() -> Any:
    """tools/bench_report.py as a module (tools/ is no package); dataclasses need it in sys.modules."""
    spec = importlib.util.spec_from_file_location("bench_report", REPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _bench(median: float, **info: Any) -> dict[str, Any]:
    return {"stats": {"median": median, "rounds": 3}, "extra_info": info}


def _threads(workload: str, peer: str, value: float, **extra: Any) -> dict[str, Any]:
    return _bench(1.0, kind="threads", workload=workload, peer=peer, value=value, **extra)


def _outcome(workload: str, peer: str, outcome: str = "passed", reason: str = "", table: str = "peers") -> dict:
    return {"table": table, "workload": workload, "peer": peer, "outcome": outcome, "reason": reason}


def _net_figures(**ours: Any) -> dict[str, Any]:
    """A test_net.py row's figures with every goal met (the wasm echo server ahead of asyncio, 20 µs per round
    trip), the wasm server's changed by `ours`."""
    base = {"failures": 0, "status": "ok", "why": "", "runs": 3}
    mine = {**base, "round_trips_per_s": 40_000.0, "p99_s": 0.01, "cpu_us_per_round_trip": 20.0}
    theirs = {**base, "round_trips_per_s": 30_000.0, "p99_s": 0.01, "cpu_us_per_round_trip": 30.0}
    return {"wasmroutines": {**mine, **ours}, "asyncio": theirs}


def _net(protocol: str, connections: int) -> dict[str, Any]:
    return _bench(
        1.0,
        kind="net",
        workload=f"{protocol}, {connections:,} connections",
        protocol=protocol,
        connections=connections,
        round_trips_each=20,
        figures=_net_figures(),
        skipped_peers={},
    )


def _asyncio_rows() -> list[dict[str, Any]]:
    """Issue 18's rows, on both loops, with every goal met (the round trip first: the one _with changes)."""
    rows = []
    for loop in ("asyncio", "uvloop"):
        rows += [
            _bench(1.0, kind="asyncio", case="async_round_trip", loop=loop, value=4.0),
            _bench(1.0, kind="asyncio", case="sync_round_trip", loop=loop, value=1.5),
            *(
                _bench(1.0, kind="asyncio", case=case, loop=loop, value=0.8, p99_gap_median_ms=20.0)
                for case in ("concurrent_calls", "wasi_threads_calls")
            ),
            *(
                _bench(
                    1.0,
                    kind="asyncio",
                    case="server_beside_wasm",
                    loop=loop,
                    slice_units=units,
                    value=1.5,
                    throughput_share_median=0.9,
                )
                for units in (None, 100_000)
            ),
        ]
    return rows


def _net_rows() -> list[dict[str, Any]]:
    """Issue 16's rows with every goal met; the runtime's memory per idle connection 6 KiB."""
    idle = {"rss_kib_per_connection": 22.0, "runtime_kib_per_connection": 6.0, "failures": 0, "status": "ok"}
    return [
        *(_net("echo", n) for n in (10, 1_000, 10_000)),
        _net("http", 1_000),
        _bench(
            1.0,
            kind="net_idle",
            workload="10,000 idle connections",
            connections=10_000,
            guest_stack_bytes=16384,
            figures={"wasmroutines": idle, "asyncio": {**idle, "runtime_kib_per_connection": None}},
        ),
    ]


def _all_met() -> dict[str, Any]:
    """A saved run in which every goal is measured and met: Wasmroutines at 0.8 of wasm3 on every bar workload."""
    benches: list[dict[str, Any]] = []
    bar_ids = {w.bar: w.id for w in (*CALLS, *COMMANDS) if w.bar and not w.reduced}
    bar_ids["coremark"] = COREMARK_ID
    for bar in BAR:
        for peer, seconds in (("wasmroutines", 0.8), ("wasm3", 1.0)):
            if bar == "coremark":
                benches.append(_bench(10.0, workload=COREMARK_ID, peer=peer, score=1000 / seconds))
            else:
                benches.append(_bench(seconds, workload=bar_ids[bar], peer=peer))
    benches += [
        _bench(1.0, kind="preemption", score_checks=980.0, score_no_checks=1000.0, cost=1000 / 980 - 1),
        _bench(1.0, kind="determinism", workload="mandelbrot", medians={"default": 1.0, "deterministic": 1.04}),
        _bench(1.0, kind="explorer", strategy="random", schedules_per_second=400.0),
        _bench(1.0, kind="explorer", strategy="pct", schedules_per_second=500.0),
        _cluster("small", {"here": 500.0, "jobs-2": 800.0, "dask-1": 450.0, "dask-2": 700.0}),
        _cluster("large", {"here": 17.0, "jobs-2": 30.0, "dask-1": 16.0, "dask-2": 28.0}),
        _threads(PINGPONG.id, "wasmroutines", 0.1, round_trips=1000),
        _threads(PINGPONG.id, "wasmtime", 10.0, round_trips=1000),
        _threads(SPAWN_JOIN.id, "wasmroutines", 7.0, threads=1000),
        _threads(IDLE_MEMORY.id, "wasmroutines", 15.0, threads=10_000),
        _threads(IDLE_FIT.id, "wasmroutines", 9.0, threads=100_000, rss_mib=1500),
        _threads(WASI_SPAWN.id, "wasmroutines", 9.0, threads=1000),
        *(_seeded_program(p.id) for p in SEEDED_PROGRAMS),
        _bench(
            1.0,
            kind="seeded_decision",
            steps=1000,
            decisions=1000,
            switches=500,
            us_per_decision=0.2,
            us_per_switch=0.4,
            net_s={"seeded": 0.2, "fair": 0.01},
        ),
        _bench(
            1.0,
            kind="seeded_pingpong",
            round_trips=1000,
            us_per_round_trip={"seeded": 0.2, "fair": 0.1},
            ratio=2.0,
        ),
        _bench(
            1.0,
            kind="seeded_rss",
            steps={"short": 10, "long": 100},
            peak_mib={"short": 50.0, "long": 52.0},
            cpu_s={"short": 0.1, "long": 1.0},
            growth=0.04,
        ),
        *_net_rows(),
        *_asyncio_rows(),
    ]
    peers = [_outcome(b["extra_info"]["workload"], b["extra_info"]["peer"]) for b in benches[: 2 * len(BAR)]]
    return {"benchmarks": benches, "wasmroutines_outcomes": peers, "machine_info": {}, "datetime": ""}


def _seeded_program(workload: str) -> dict[str, Any]:
    """A program row of test_seeded.py with every ratio under its bar."""
    return _bench(
        1.0,
        kind="seeded_program",
        workload=workload,
        args=["1"],
        explore_runs=3,
        medians_s={
            "fair": 1.0,
            "seeded": 1.2,
            "seeded_trace": 1.4,
            "seeded_record": 1.4,
            "explore": 1.4,
            "explore_shared": 1.9,
        },
        ratios={"seeded": 1.2, "seeded_trace": 1.4, "seeded_record": 1.4, "explore": 1.4, "explore_shared": 1.9},
    )


def _cluster(workload: str, rates: dict[str, float]) -> dict[str, Any]:
    """A program row of test_cluster.py: the medians, and three rounds at them."""
    info = {"program": f"{workload}.wasm", "runs": 100, "rates": {k: [v] * 3 for k, v in rates.items()}}
    info["others"] = {k: [0.05] * 3 for k in rates}
    return _bench(1.0, kind="cluster", workload=workload, schedules_per_second=rates, **info)


def _with(data: dict[str, Any], kind: str, **info: Any) -> dict[str, Any]:
    """`data` with the extra_info of its first entry of `kind` (and of `info`'s workload or strategy) updated."""
    data = copy.deepcopy(data)
    for bench in data["benchmarks"]:
        extra = bench["extra_info"]
        keys = [k for k in ("workload", "strategy") if k in info]
        if extra.get("kind") == kind and all(extra.get(k) == info[k] for k in keys):
            extra.update(info)
            return data
    raise AssertionError(f"no {kind} entry")


def _goal_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("**Goals**:") + 1
    return lines[start : lines.index("", start)]


def test_every_goal_met_passes() -> None:
    text, status = _report().evaluate(_all_met())
    assert status == 0, text
    goals = _goal_lines(text)
    assert len(goals) == 44 and all(": met" in line for line in goals), goals


@pytest.mark.parametrize(
    ("kind", "change", "goal"),
    [
        ("preemption", {"cost": 0.06}, "preemption checks"),
        ("determinism", {"medians": {"default": 1.0, "deterministic": 1.11}}, "deterministic mode"),
        ("explorer", {"strategy": "random", "schedules_per_second": 150.0}, "explorer, random"),
        ("threads", {"workload": PINGPONG.id, "peer": "wasmroutines", "value": 3.0}, "ping-pong against"),
        ("threads", {"workload": SPAWN_JOIN.id, "value": 12.0}, SPAWN_JOIN.id),
        ("threads", {"workload": IDLE_MEMORY.id, "value": 17.0}, IDLE_MEMORY.id),
        ("threads", {"workload": WASI_SPAWN.id, "value": 65.0}, "wasi-threads spawn+exit"),
        ("asyncio", {"value": 23.0}, "async host call round trip (await asyncio.sleep(0)), CPU, on asyncio"),
        (
            "seeded_program",
            {"workload": SEEDED_PROGRAMS[0].id, "ratios": {"seeded": 11.0, "explore": 1.4, "explore_shared": 1.9}},
            "`run --seed 1`",
        ),
        (
            "seeded_program",
            {"workload": SEEDED_PROGRAMS[-1].id, "ratios": {"seeded": 1.2, "explore": 1.6, "explore_shared": 1.9}},
            "without shared-access",
        ),
        (
            "seeded_program",
            {"workload": SEEDED_PROGRAMS[1].id, "ratios": {"seeded": 1.2, "explore": 1.4, "explore_shared": 2.1}},
            "with shared-access",
        ),
        ("seeded_decision", {"us_per_decision": 6.4}, "scheduling decision"),
        ("seeded_pingpong", {"ratio": 250.0}, "ping-pong round trip, seeded"),
        ("seeded_rss", {"growth": 0.5}, "peak RSS"),
        (
            "cluster",
            {"workload": "large", "schedules_per_second": {"dask-1": 16.0, "dask-2": 23.0}},
            "2 Dask workers against 1",
        ),
        *(
            ("net", {"workload": f"echo, {n:,} connections", "figures": _net_figures(**change)}, goal)
            for n, change, goal in (
                (1_000, {"round_trips_per_s": 20_000.0}, "1,000 connections: round trips/s"),
                (1_000, {"p99_s": 0.02}, "1,000 connections: p99"),
                (1_000, {"failures": 3, "status": "errors"}, "1,000 connections: failures"),
                (10_000, {"round_trips_per_s": 20_000.0}, "10,000 connections: round trips/s"),
                (10_000, {"failures": 9_999, "status": "timed out"}, "10,000 connections: failures"),
                (10, {"cpu_us_per_round_trip": 64.0}, "server CPU per round trip"),
            )
        ),
        (
            "net_idle",
            {"figures": {"wasmroutines": {"runtime_kib_per_connection": 14.0, "status": "ok"}}},
            "memory per idle connection",
        ),
    ],
)
def test_a_missed_goal_fails(kind: str, change: dict[str, Any], goal: str) -> None:
    text, status = _report().evaluate(_with(_all_met(), kind, **change))
    assert status == 1
    assert [line for line in _goal_lines(text) if "MISSED" in line] == [
        line for line in _goal_lines(text) if goal in line
    ], text


def test_the_compute_bar_missed_fails() -> None:
    data = copy.deepcopy(_all_met())
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if info.get("peer") == "wasmroutines" and "kind" not in info:
            if "score" in info:
                info["score"] /= 2
            else:
                bench["stats"]["median"] *= 2  # 1.6 against wasm3
    text, status = _report().evaluate(data)
    assert status == 1 and "geometric mean" in text and "MISSED" in text, text


def test_our_failure_fails_and_a_peers_does_not() -> None:
    report = _report()
    data = _all_met()
    data["wasmroutines_outcomes"].append(_outcome("micro loop(30M)", "wasmtime", "failed", "wrong result"))
    text, status = report.evaluate(data)
    assert status == 0 and "FAIL" in text, text
    data["wasmroutines_outcomes"].append(_outcome("test_simd_kernel", "wasmroutines", "failed", "boom", "other"))
    text, status = report.evaluate(data)
    assert status == 1 and "test_simd_kernel (wasmroutines): boom" in text, text


def test_a_goal_not_measured_is_said_and_does_not_fail() -> None:
    data = copy.deepcopy(_all_met())
    data["benchmarks"] = [b for b in data["benchmarks"] if b["extra_info"].get("kind") != "preemption"]
    text, status = _report().evaluate(data)
    assert status == 0
    assert [line for line in _goal_lines(text) if ": met" not in line] == [
        line for line in _goal_lines(text) if "preemption checks" in line and "not measured" in line
    ], text


def test_a_program_missing_leaves_its_bars_not_measured_unless_one_is_missed() -> None:
    data = copy.deepcopy(_all_met())
    dropped = SEEDED_PROGRAMS[0].id
    data["benchmarks"] = [b for b in data["benchmarks"] if b["extra_info"].get("workload") != dropped]
    text, status = _report().evaluate(data)
    unmeasured = [line for line in _goal_lines(text) if "not measured" in line]
    assert status == 0 and len(unmeasured) == 5 and all(dropped in line for line in unmeasured), text
    change = {"seeded": 2.0, "explore": 1.4, "explore_shared": 1.9}
    text, status = _report().evaluate(_with(data, "seeded_program", workload=SEEDED_PROGRAMS[1].id, ratios=change))
    assert status == 1 and sum("MISSED" in line for line in _goal_lines(text)) == 1, text


def test_the_spawn_goal_takes_the_bars_size_when_it_ran() -> None:
    data = copy.deepcopy(_all_met())  # 1,000 threads at 9 µs: met, with a note
    data["benchmarks"].append(_threads(WASI_SPAWN_LARGE.id, "wasmroutines", 70.0, threads=10_000))
    text, status = _report().evaluate(data)
    [line] = [line for line in _goal_lines(text) if "wasi-threads spawn+exit" in line]
    assert status == 1 and "70 µs (10,000 threads)" in line and "MISSED" in line, line


def test_the_net_goals_without_the_full_modes_row_are_not_measured() -> None:
    """The quick mode runs no 10,000 connections: its two goals say why, and the verdict does not fail for it."""
    data = copy.deepcopy(_all_met())
    data["benchmarks"] = [
        b
        for b in data["benchmarks"]
        if (b["extra_info"].get("kind"), b["extra_info"].get("connections")) != ("net", 10_000)
    ]
    reason = "10,000 connections run in the full mode only"
    data["wasmroutines_outcomes"].append(
        _outcome("test_net_round_trips[echo-10000conns]", "wasmroutines", "skipped", reason, "other")
    )
    text, status = _report().evaluate(data)
    unmeasured = [line for line in _goal_lines(text) if "not measured" in line]
    assert status == 0 and len(unmeasured) == 2 and all(reason in line for line in unmeasured), text
    assert "| echo, 1,000 conns x 20 | wasmroutines | 40,000 | 1.33 |" in text, text


def _cli(*args: str, json_data: dict[str, Any] | None = None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(REPORT), *args]
    if json_data is not None:
        path = tmp_path / "saved.json"
        path.write_text(json.dumps(json_data))
        command += ["--json", str(path)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_cli_exit_status_from_saved_json(tmp_path: Path) -> None:
    assert _cli(json_data=_all_met(), tmp_path=tmp_path).returncode == 0
    missed = _cli(json_data=_with(_all_met(), "preemption", cost=0.2), tmp_path=tmp_path)
    assert missed.returncode == 1 and "**Verdict**: FAIL" in missed.stdout, missed.stdout[-2000:]
    empty = _cli(json_data={"benchmarks": [], "machine_info": {}, "datetime": ""}, tmp_path=tmp_path)
    assert empty.returncode == 1 and "nothing was measured" in empty.stdout, empty.stdout[-2000:]


def test_cli_fails_when_no_test_runs(tmp_path: Path) -> None:
    done = _cli("--quick", "-k", "no_such_workload_at_all", tmp_path=tmp_path)
    assert done.returncode != 0 and "nothing ran" in done.stderr, done.stderr[-2000:]
