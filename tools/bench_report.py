#!/usr/bin/env python3
"""Run the benchmarks against the peers, print a Markdown report, and check every goal it states.

    python tools/bench_report.py            # full suite (10-15 minutes, about 8 more for test_seeded.py and 9 more
                                            # for test_net.py today)
    python tools/bench_report.py --quick    # about 3 minutes, about 3 more for test_seeded.py and 1 for test_net.py
    python tools/bench_report.py --quick -k test_net   # only issue 16's network servers (test_net.py)
    python tools/bench_report.py --json results.json   # report a saved pytest-benchmark JSON, run nothing

The report goes to stdout, pytest's own output to stderr. First the peers table: each row a workload, each cell the
median time of its timed rounds (CoreMark rows: the score, higher is better); the ratio columns are Wasmroutines'
time over wasm3's and over wasmtime's (below 1: Wasmroutines is faster). Then the threading table (green threads
against wasmtime on OS threads, benchmarks/test_threads.py), the SIMD kernels, deterministic mode and the explorer,
deterministic runs against fair runs through the command line (issue 15, benchmarks/test_seeded.py), the explorer
on 1 and 2 Dask workers and its own pool (issue 20, benchmarks/test_cluster.py), thread-per-connection wasm servers
against asyncio, uvloop and Python threads (issue 16, benchmarks/test_net.py), then the goals, each computed from
the figures: met, missed, or not measured (and why), the machine, and why any cell is missing. benchmarks/README.md
says what each figure includes.

Exit status: 0 when every goal measured is met; 1 when a goal is missed, when nothing was measured, or when a test
of our own failed (a test of Wasmroutines, or one without a peer); pytest's status when it could not run
(interrupted, internal or usage error). A peer that failed or is not installed only leaves its cells empty (the
report says why), and a goal that needs it reads "not measured".
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import net  # noqa: E402
from benchmarks.peers import PEER_NAMES, SUBJECT  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    ASYNC_GAP_MAX_MS,
    ASYNC_ROUND_TRIP_MAX_US,
    ASYNC_SERVER_P99_MAX,
    ASYNC_WALL_MAX_S,
    ASYNC_WASM_SHARE_MIN,
    BAR,
    CALLS,
    CLUSTER_SPEEDUP_MIN,
    COMMANDS,
    COREMARK_ID,
    DECISION_MAX_US,
    EXPLORE_MAX,
    EXPLORE_SHARED_MAX,
    FIT_BAR,
    IDLE_FIT,
    IDLE_MEMORY,
    OBSERVED_MAX,
    PINGPONG,
    PINGPONG_SEEDED_MAX,
    RSS_GROWTH_MAX,
    SEEDED_MAX,
    SEEDED_PROGRAMS,
    SPAWN_JOIN,
    THREAD_PEERS,
    THREADS,
    WASI_SPAWN,
    WASI_SPAWN_LARGE,
    WASI_SPAWN_MAX_US,
    ThreadWorkload,
)

THREAD_IDS = {w.id for w in THREADS}
REFERENCE = "wasm3"
CEILING = "wasmtime"

# The goals: the issues' bars, each checked below from the figures.
GEOMEAN_MAX = 1.00  # Wasmroutines/wasm3, geometric mean over BAR
PREEMPTION_MAX = 0.05  # the preemption checks' cost on CoreMark: under 5%
DETERMINISM_MAX = 0.10  # deterministic mode's extra time on mandelbrot: at most 10%
EXPLORER_MIN = 200.0  # schedules per second, each strategy
PINGPONG_MIN_SPEEDUP = 5.0  # green ping-pong at least 5x faster than OS threads
SPAWN_MAX_US = 10.0  # spawn+join of a function on one instance: under 10 µs
IDLE_MAX_KIB = 16.0  # memory per idle thread of a function on one instance: under 16 KiB

#: pytest's exit statuses: some tests failed, no tests collected
PYTEST_FAILED, PYTEST_NO_TESTS = 1, 5


# ---- outcomes: every test's, recorded by benchmarks/conftest.py ----


def outcomes(data: dict[str, Any]) -> list[dict[str, str]]:
    """Every test's outcome; JSON saved before the "table" field existed gets it from the workload."""
    found = []
    for outcome in data.get("wasmroutines_outcomes", []):
        table = outcome.get("table") or ("threads" if outcome.get("workload") in THREAD_IDS else "peers")
        found.append({**outcome, "table": table})
    return found


def our_failures(data: dict[str, Any]) -> list[str]:
    """Tests of our own that failed: Wasmroutines' cells and the tests without a peer."""
    return [
        f"{o['workload']} ({o['peer']}): {o['reason']}"
        for o in outcomes(data)
        if o["outcome"] == "failed" and o["peer"] == SUBJECT
    ]


# ---- the peers table ----


@dataclass
class Cell:
    median: float | None = None  # seconds
    score: float | None = None  # CoreMark iterations/s
    prepare: float | None = None  # command programs: the compile + instantiate share of the median, seconds
    rounds: int = 0
    outcome: str = "passed"
    reason: str = ""


@dataclass
class Row:
    workload: str
    bar: str | None = None
    reduced: bool = False
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return any(c.score is not None for c in self.cells.values())

    def value(self, peer: str) -> float | None:
        """Lower is better: the median time, or 1/score for CoreMark."""
        cell = self.cells.get(peer)
        if cell is None or cell.outcome != "passed":
            return None
        if self.scored:
            return 1.0 / cell.score if cell.score else None
        return cell.median

    def ratio(self, peer: str, other: str) -> float | None:
        a, b = self.value(peer), self.value(other)
        return a / b if a is not None and b else None


def _layout() -> list[Row]:
    """Rows in the suite's order: the full sizes, then the reduced sizes."""
    rows = [Row(w.id, w.bar, w.reduced) for w in CALLS if not w.reduced]
    rows.append(Row(COREMARK_ID, "coremark"))
    rows += [Row(w.id, w.bar, w.reduced) for w in COMMANDS if not w.reduced]
    rows += [Row(w.id, w.bar, w.reduced) for w in CALLS if w.reduced]
    rows += [Row(w.id, w.bar, w.reduced) for w in COMMANDS if w.reduced]
    return rows


def collect(data: dict[str, Any]) -> list[Row]:
    rows = _layout()
    by_id = {r.workload: r for r in rows}

    def row(workload: str) -> Row:
        if workload not in by_id:  # a workload this checkout no longer has: keep it, at the end
            by_id[workload] = Row(workload)
            rows.append(by_id[workload])
        return by_id[workload]

    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "workload" not in info or "peer" not in info or "kind" in info:
            continue
        stats = bench["stats"]
        score = info.get("score")
        row(info["workload"]).cells[info["peer"]] = Cell(
            median=stats["median"],
            score=float(score) if score is not None else None,
            prepare=info.get("prepare_s"),
            rounds=stats["rounds"],
        )
    for outcome in outcomes(data):
        if outcome["table"] != "peers":
            continue
        cell = row(outcome["workload"]).cells.setdefault(outcome["peer"], Cell())
        if outcome["outcome"] != "passed":
            cell.outcome, cell.reason = outcome["outcome"], outcome["reason"]
    return [r for r in rows if r.cells]


def _time(seconds: float) -> str:
    if seconds < 0:  # a difference of two CPU times can fall below zero when the work is under the noise
        return "−" + _time(-seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _cell_text(row: Row, peer: str) -> str:
    cell = row.cells.get(peer)
    if cell is None:
        return "–"
    if cell.outcome == "failed":
        return "FAIL"
    if cell.outcome == "skipped":
        return "skip"
    if row.scored:
        return f"{cell.score:,.0f}" if cell.score is not None else "?"
    return _time(cell.median) if cell.median is not None else "?"


def _ratio_text(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value >= 0.01 else f"{value:.3f}"


def geomean_of_bar(rows: list[Row]) -> tuple[float | None, list[str], list[str]]:
    """The geometric mean of Wasmroutines/wasm3 over the bar's workloads, and which ran and which did not."""
    ratios: dict[str, float] = {}
    for row in rows:
        if row.bar in BAR and not row.reduced:
            r = row.ratio(SUBJECT, REFERENCE)
            if r is not None:
                ratios[row.bar] = r
    ran = [b for b in BAR if b in ratios]
    missing = [b for b in BAR if b not in ratios]
    if not ran:
        return None, ran, missing
    return math.exp(sum(math.log(ratios[b]) for b in ran) / len(ran)), ran, missing


def render_peers(rows: list[Row]) -> str:
    peers = [p for p in PEER_NAMES if any(p in r.cells for r in rows)]
    head = ["workload", *peers, f"{SUBJECT}/{REFERENCE}", f"{SUBJECT}/{CEILING}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for row in rows:
        name = row.workload + (" (score)" if row.scored else "") + (" †" if row.bar else "")
        cells = [_cell_text(row, p) for p in peers]
        ratios = [_ratio_text(row.ratio(SUBJECT, REFERENCE)), _ratio_text(row.ratio(SUBJECT, CEILING))]
        lines.append("| " + " | ".join([name, *cells, *ratios]) + " |")
    lines += [
        "",
        "Cells: median of the timed rounds by the run's timer. Calls: one call of an export on a warm instance "
        "(compiled, one untimed call first). Command programs: compile + instantiate + `_start` (wasm3 compiles "
        "lazily inside `_start`, so only this span is the same on every peer). Score rows: CoreMark's iterations/s "
        "by its own clock (higher is better; ratios use 1/score). Ratios: Wasmroutines' figure over the peer's "
        "(below 1.00: faster). † marks the issue's bar workloads.",
    ]
    shares = []
    for peer in (SUBJECT, CEILING):  # eager compilers; wasm3 compiles inside `_start`, its share cannot be told
        parts = [
            f"{row.workload} {_time(cell.prepare)}"
            for row in rows
            if (cell := row.cells.get(peer)) is not None and cell.outcome == "passed" and cell.prepare is not None
        ]
        if parts:
            shares.append(f"{peer}: {', '.join(parts)}")
    if shares:
        lines += ["", "Of the command cells, compile + instantiate (median): " + "; ".join(shares) + "."]
    return "\n".join(lines)


def _missing_notes(rows: list[Row]) -> list[str]:
    """One line per (outcome, reason): the cells it explains."""
    grouped: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for peer, cell in row.cells.items():
            if cell.outcome != "passed":
                grouped[(cell.outcome, cell.reason)][row.workload].append(peer)
    notes = []
    for (outcome, reason), cells in grouped.items():
        where = "; ".join(f"{workload} ({', '.join(peers)})" for workload, peers in cells.items())
        notes.append(f"- {'FAIL' if outcome == 'failed' else 'skip'}: {reason} — {where}")
    return notes


# ---- the threading table ----


@dataclass
class ThreadCell:
    value: float | None = None  # in the row's unit
    extra: dict[str, Any] = field(default_factory=dict)
    outcome: str = "passed"
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "passed" and self.value is not None

    @property
    def size(self) -> tuple[int, ...]:
        """What the peer ran: round trips or threads (and iterations each)."""
        n = self.extra.get("round_trips") or self.extra.get("threads")
        k = self.extra.get("iterations_each")
        return tuple(int(x) for x in (n, k) if x)


def collect_threads(data: dict[str, Any]) -> dict[str, dict[str, ThreadCell]]:
    """The threading rows (test_threads.py): workload id -> peer -> cell, in THREADS order. A derived row (peak
    memory of the wasi-threads runs) takes its figure from its source row's entries and outcomes."""
    rows: dict[str, dict[str, ThreadCell]] = {w.id: {} for w in THREADS}
    derived = {w.derived_from[0]: w for w in THREADS if w.derived_from}
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if info.get("kind") != "threads" or info.get("workload") not in rows:
            continue
        rows[info["workload"]][info["peer"]] = ThreadCell(value=info.get("value"), extra=info)
        if info["workload"] in derived:
            target = derived[info["workload"]]
            assert target.derived_from is not None
            value = info.get(target.derived_from[1])
            rows[target.id][info["peer"]] = ThreadCell(value=value, extra=info)
    for outcome in outcomes(data):
        if outcome["table"] != "threads" or outcome["outcome"] == "passed" or outcome["workload"] not in rows:
            continue
        targets = [outcome["workload"]] + ([derived[outcome["workload"]].id] if outcome["workload"] in derived else [])
        for workload in targets:
            cell = rows[workload].setdefault(outcome["peer"], ThreadCell())
            cell.outcome, cell.reason = outcome["outcome"], outcome["reason"]
    return {w: cells for w, cells in rows.items() if cells}


def _thread_value(cell: ThreadCell | None) -> float | None:
    return cell.value if cell is not None and cell.ok else None


def _thread_ratio(cells: dict[str, ThreadCell]) -> float | None:
    """Wasmroutines' figure over wasmtime's, only when both ran the same size (like for like)."""
    a, b = cells.get(THREAD_PEERS[0]), cells.get(THREAD_PEERS[1])
    if a is None or b is None or not a.ok or not b.ok or not b.value or a.size != b.size:
        return None
    return a.value / b.value  # type: ignore[operator]


def _thread_cell_text(workload: ThreadWorkload, cell: ThreadCell | None) -> str:
    if cell is None:
        return "–"
    if cell.outcome != "passed":
        return "FAIL" if cell.outcome == "failed" else "skip"
    if cell.value is None:
        return "?"
    if workload.id == IDLE_FIT.id:
        mib = cell.extra.get("rss_mib")
        rss = f", {mib:,.0f} MiB RSS" if isinstance(mib, int | float) else ""
        return f"{cell.extra.get('threads', 0):,} threads in {cell.value:.2f} s{rss}"
    if workload.unit == "s":
        return _time(cell.value)
    return f"{cell.value:.3g} {workload.unit}"


def _size_text(size: tuple[int, ...]) -> str:
    return f"{size[0]:,}" if len(size) == 1 else f"{size[1]:,} each on {size[0]:,} threads"


def render_threads(rows: dict[str, dict[str, ThreadCell]]) -> str:
    """The threading table: Wasmroutines' green threads against wasmtime on OS threads, with the ratio."""
    subject, os_peer = THREAD_PEERS
    by_id = {w.id: w for w in THREADS}
    lines = [
        f"| threading workload | size | measured by | {subject} (green threads) | {os_peer} (OS threads) "
        f"| {subject}/{os_peer} | bar |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    notes = []
    for workload_id, cells in rows.items():
        workload = by_id[workload_id]
        sizes = {p: c.size for p, c in cells.items() if c.ok and c.size}
        distinct = set(sizes.values())
        if len(distinct) == 1:
            size = _size_text(distinct.pop())
        elif distinct:  # a JSON from before the sizes were equal: no ratio
            size = "; ".join(f"{p}: {_size_text(s)}" for p, s in sizes.items())
            notes.append(f"- {workload_id}: the peers ran different sizes, so no ratio.")
        else:
            size = "–"
        texts = [_thread_cell_text(workload, cells.get(p)) for p in (subject, os_peer)]
        ratio = _ratio_text(_thread_ratio(cells))
        lines.append(
            f"| {workload_id} | {size} | {workload.clock} | {texts[0]} | {texts[1]} | {ratio} | {workload.bar} |"
        )
    out = ["\n".join(lines), ""]
    out.append(
        "Threading cells: medians over the rounds; every peer of a row runs the same size. `wall`: perf_counter "
        "over the span inside the process (µs per round trip, per spawn+join, or seconds per run); `process CPU`: "
        "user + system time of a fresh process running `tests/programs/wasm/c_spawn_many.wasm` with N threads "
        "less one with none, over N; `RSS`: resident memory growth per thread (idle: in a fresh process with all "
        f"parked; wasi-threads: peak RSS with N threads less with none). The ratio is Wasmroutines' over {os_peer}'s "
        f"(below 1.00: faster or smaller). {os_peer} runs each wasm thread on its own `threading.Thread`; in the "
        "spawn+join row that thread calls the one instance's export, elsewhere it has its own Store and instance, "
        "made before the timed span (ping-pong, 64 threads) or inside it (wasi-threads, as `thread-spawn` does)."
    )
    problems = [
        f"- {'FAIL' if c.outcome == 'failed' else 'skip'}: {w} ({p}): {c.reason}"
        for w, cells in rows.items()
        for p, c in cells.items()
        if c.outcome != "passed"
    ]
    if notes or problems:
        out += ["", *notes, *problems]
    return "\n".join(out)


# ---- SIMD kernels, deterministic mode, explorer, preemption ----


def _entries(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in data.get("benchmarks", []) if b.get("extra_info", {}).get("kind") == kind]


def render_simd(data: dict[str, Any]) -> str:
    """benchmarks/test_simd_kernel.py: time per pass of each kernel and build, and the SIMD build's speedup."""
    per_pass: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    passes: dict[str, set[int]] = defaultdict(set)
    for bench in _entries(data, "simd"):
        info = bench["extra_info"]
        per_pass[(info["kernel"], info["build"])][info["peer"]] = bench["stats"]["median"] / info["passes"]
        passes[info["peer"]].add(int(info["passes"]))
    same_size = len(set().union(*passes.values())) == 1  # else (a JSON from before) no ratio
    if not per_pass:
        return ""
    subject, other = THREAD_PEERS
    lines = [f"| SIMD kernel, per pass | {subject} | {other} | {subject}/{other} |", "|---|---:|---:|---:|"]
    kernels = list(dict.fromkeys(k for k, _ in per_pass))
    for kernel in kernels:
        for build in ("scalar", "simd"):
            cells = per_pass.get((kernel, build), {})
            a, b = cells.get(subject), cells.get(other)
            texts = [_time(v) if v is not None else "–" for v in (a, b)]
            ratio = _ratio_text(a / b if a is not None and b and same_size else None)
            lines.append(f"| {kernel}, {build} build | {texts[0]} | {texts[1]} | {ratio} |")
        speedups = []
        for peer in (subject, other):
            scalar, simd = per_pass.get((kernel, "scalar"), {}).get(peer), per_pass.get((kernel, "simd"), {}).get(peer)
            speedups.append(f"{scalar / simd:.2f}x" if scalar and simd else "–")
        lines.append(f"| {kernel}: SIMD build's speedup | {speedups[0]} | {speedups[1]} | |")
    size = "; ".join(f"{peer} {', '.join(f'{n:,}' for n in sorted(ns))}" for peer, ns in passes.items())
    lines += [
        "",
        f"SIMD cells: median time of a call over 16,384 lanes, per pass (passes per call: {size}), by the run's "
        "timer; every result checked against the kernel computed in Python.",
    ]
    return "\n".join(lines)


def determinism_cost(data: dict[str, Any]) -> tuple[dict[str, float], str] | None:
    """Deterministic mode's medians per mode on mandelbrot (test_determinism.py), and the workload."""
    for bench in _entries(data, "determinism"):
        info = bench["extra_info"]
        return {mode: float(v) for mode, v in info["medians"].items()}, str(info["workload"])
    return None


def explorer_rates(data: dict[str, Any]) -> dict[str, float]:
    return {
        b["extra_info"]["strategy"]: float(b["extra_info"]["schedules_per_second"]) for b in _entries(data, "explorer")
    }


def render_determinism(data: dict[str, Any]) -> str:
    lines = []
    found = determinism_cost(data)
    if found:
        medians, workload = found
        base = medians.get("default")
        parts = []
        for mode, value in medians.items():
            extra = f" ({100 * (value / base - 1):+.1f}%)" if base and mode != "default" else ""
            parts.append(f"{mode} {_time(value)}{extra}")
        lines.append(
            f"**Deterministic mode** on {workload} (each round runs every mode, in turns; medians by the run's "
            f"timer): {', '.join(parts)}."
        )
    rates = explorer_rates(data)
    if rates:
        text = ", ".join(f"{strategy} {rate:,.0f}" for strategy, rate in rates.items())
        lines.append(
            f"**Explorer** on producer_consumer.wasm (200 schedules a round; median of its own rate, wall clock): "
            f"{text} schedules/s."
        )
    return "\n\n".join(lines)


def preemption(data: dict[str, Any]) -> dict[str, Any] | None:
    entries = _entries(data, "preemption")
    return entries[0]["extra_info"] if entries else None


def render_preemption(data: dict[str, Any]) -> str:
    """The preemption checks' cost on CoreMark (benchmarks/test_preemption.py)."""
    info = preemption(data)
    if info is None:
        return ""
    return (
        f"**Preemption checks**: CoreMark {info['score_checks']:,.0f} iterations/s with them, "
        f"{info['score_no_checks']:,.0f} in a build without them (`-DWR_NO_PREEMPTION`; medians, fresh "
        f"processes, in turns): they cost {100 * float(info['cost']):.1f}%."
    )


# ---- the explorer on Dask (issue 20, test_cluster.py) ----

#: test_cluster.py's modes: (key, column title)
CLUSTER_MODES = (
    ("here", "`--jobs 1`"),
    ("jobs-2", "`--jobs 2`"),
    ("dask-1", "Dask, 1 worker"),
    ("dask-2", "Dask, 2 workers"),
)


def cluster_speedup(data: dict[str, Any], workload: str) -> float | None:
    """The explorer's rate on 2 Dask workers over 1 (medians), on one of test_cluster.py's programs."""
    for info in _infos(data, "cluster"):
        if info.get("workload") == workload:
            rates = info["schedules_per_second"]
            if rates.get("dask-1") and rates.get("dask-2"):
                return float(rates["dask-2"]) / float(rates["dask-1"])
    return None


def render_cluster(data: dict[str, Any]) -> str:
    rows = _infos(data, "cluster")
    if not rows:
        return ""
    head = " | ".join(title for _, title in CLUSTER_MODES)
    lines = [
        f"| explorer (schedules/s, median of {len(next(iter(rows[0]['rates'].values())))}) | runs | {head} "
        "| 2 workers / 1 |",
        "|---|---:|" + "---:|" * (len(CLUSTER_MODES) + 1),
    ]
    for info in rows:
        rates = info["schedules_per_second"]
        cells = " | ".join(f"{rates[key]:,.1f}" if key in rates else "" for key, _ in CLUSTER_MODES)
        speedup = cluster_speedup(data, info["workload"])
        lines.append(
            f"| {info['workload']}: {info['program']} | {info['runs']:,} | {cells} | "
            f"{f'{speedup:.2f}x' if speedup else ''} |"
        )
    cpus = data.get("machine_info", {}).get("wasmroutines_bench", {}).get("logical_cpus") or "?"
    others = [x for info in rows for values in info.get("others", {}).values() for x in values]
    again = sum(len(info.get("disturbed", [])) for info in rows)
    lines += [
        "",
        f"Wall clock, the explorer's own rate (its calibration run and the batches' travel included). On this "
        f"machine's {cpus} logical CPUs, the client and the Dask scheduler (one process) share the cores with the "
        "workers"
        + (
            f"; other processes took {100 * statistics.median(others):.0f}% of the machine's CPU time during the "
            f"explorations kept (median; at most {100 * max(others):.0f}%)"
            if others
            else ""
        )
        + (f"; {again} rounds were run again, other processes having taken over 15% of it." if again else "."),
    ]
    return "\n".join(lines)


# ---- thread-per-connection servers against asyncio (issue 16, test_net.py) ----


def _net_row(data: dict[str, Any], protocol: str, connections: int) -> dict[str, Any] | None:
    for info in _infos(data, "net"):
        if info.get("protocol") == protocol and int(info.get("connections", 0)) == connections:
            return info
    return None


def _net_figure(info: dict[str, Any] | None, peer: str, name: str) -> float | None:
    value = ((info or {}).get("figures", {}).get(peer) or {}).get(name)
    return float(value) if value is not None else None


def _failures_text(figures: dict[str, Any]) -> str:
    failures = int(figures.get("failures", 0))
    status = figures.get("status", "?")
    if status == "ok":
        return "0"
    return f"{failures:,} ({status})" if failures else str(status)


def render_net(data: dict[str, Any]) -> str:
    """test_net.py: each configuration's peers side by side, then the idle memory, then what was skipped."""
    rows = sorted(_infos(data, "net"), key=lambda i: (i["protocol"] != "echo", int(i["connections"])))
    idle = _one(data, "net_idle")
    if not rows and not idle:
        return ""
    lines = []
    if rows:
        lines += [
            "| net workload | server | round trips/s | /asyncio | p50 | p99 | server CPU per round trip | failures "
            "| peak RSS | client CPU | others' load |",
            "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for info in rows:
            base = _net_figure(info, "asyncio", "round_trips_per_s")
            name = f"{info['protocol']}, {int(info['connections']):,} conns x {int(info['round_trips_each']):,}"
            for peer, figures in info.get("figures", {}).items():
                rate = figures.get("round_trips_per_s")
                p50, p99 = figures.get("p50_s"), figures.get("p99_s")
                cpu = figures.get("cpu_us_per_round_trip")
                rss = figures.get("peak_rss_kib")
                busy, others = figures.get("client_busy"), figures.get("others_share")
                cells = [
                    f"{rate:,.0f}" if rate is not None else "–",
                    _ratio_text(rate / base) if rate is not None and base else "–",
                    _time(p50) if p50 is not None else "–",
                    _time(p99) if p99 is not None else "–",
                    f"{cpu:,.1f} µs" if cpu is not None else "–",
                    _failures_text(figures),
                    f"{rss / 1024:,.0f} MiB" if rss is not None else "–",
                    f"{100 * busy:.0f}%" if busy is not None else "–",
                    f"{100 * others:.0f}%" if others is not None else "–",
                ]
                lines.append(f"| {name} | {peer} | {' | '.join(cells)} |")
        first = rows[0]
        client = first.get("client", {})
        nofile = first.get("nofile") or ["?", "?"]
        lines += [
            "",
            f"Net cells: medians over {first['figures'][next(iter(first['figures']))].get('runs', '?')} run(s), each "
            "on a fresh server process on 127.0.0.1. Every connection is opened and answered once before the timed "
            "span, which runs from one instant at which all of them start their round trips (one at a time each) to "
            "the last one's end: round trips/s = round trips completed / span; p50, p99: send to the whole answer; "
            "server CPU: user + system of the server process over the span (/proc) per round trip; failures: "
            "connect errors + connection errors + connections still going at the cap "
            f"({net.TIME_CAP:.0f} s per span, {net.CONNECT_CAP:.0f} s to connect); peak RSS: the server's VmHWM; "
            f"client CPU: the client's CPU over the span (100%: its {client.get('procs', '?')} process(es) saturated); "
            "others' load: the share of the machine's CPU time (all CPUs) other processes took during the span. "
            f"Client: {client.get('loop', '?')} event loop. RLIMIT_NOFILE raised to {nofile[0]} (hard {nofile[1]}) "
            "for the harness, the servers and the client.",
        ]
    if idle:
        per = []
        for peer, figures in idle.get("figures", {}).items():
            growth = figures.get("rss_kib_per_connection")
            if growth is None:
                per.append(f"{peer} {figures.get('status', '?')}")
                continue
            text = f"{peer} {growth:.1f} KiB"
            runtime = figures.get("runtime_kib_per_connection")
            if runtime is not None:
                stack = int(idle.get("guest_stack_bytes", net.GUEST_STACK)) // 1024
                text += f" (runtime memory, less its guest's {stack} KiB stack: {runtime:.1f} KiB)"
            if figures.get("status") != "ok":
                text += f" [{_failures_text(figures)}]"
            per.append(text)
        lines += [
            "",
            f"**Memory per idle connection** ({int(idle['connections']):,} echo connections each answered once, then "
            "idle; the server's RSS growth over its RSS before any, per connection): " + "; ".join(per) + ".",
        ]
    skipped = {
        f"{peer}: {why}"
        for info in [*rows, *([idle] if idle else [])]
        for peer, why in info.get("skipped_peers", {}).items()
    }
    if skipped:
        lines += ["", "Net peers skipped: " + "; ".join(sorted(skipped)) + "."]
    return "\n".join(lines).strip()


def _net_skip_reason(data: dict[str, Any], test: str) -> str | None:
    for o in outcomes(data):
        if o.get("workload") == test and o["outcome"] != "passed":
            return f"{'failed' if o['outcome'] == 'failed' else 'skipped'}: {o['reason']}"
    return None


def _net_goals(data: dict[str, Any]) -> list[Goal]:
    """Issue 16's bar on the wasm echo server (test_net.py)."""
    subject = net.SUBJECT
    out: list[Goal] = []

    def absent(connections: int) -> str:
        test = f"test_net_round_trips[echo-{connections}conns]"
        return _net_skip_reason(data, test) or f"benchmarks/test_net.py did not run echo at {connections:,} connections"

    def ratio_goal(connections: int, figure: str, name: str, target: str, ok: Any, show: Any) -> Goal:
        info = _net_row(data, "echo", connections)
        if info is None:
            return Goal(name, target, "not measured", note=absent(connections))
        ours, theirs = _net_figure(info, subject, figure), _net_figure(info, "asyncio", figure)
        if ours is None or not theirs:
            side = subject if ours is None else "asyncio"
            status = ((info.get("figures", {}).get(side)) or {}).get("status", "not run")
            return Goal(name, target, "not measured", note=f"no figure for {side} ({status})")
        return Goal(name, target, _check(ok(ours / theirs)), show(ours, theirs))

    def failures_goal(connections: int) -> Goal:
        name, target = f"wasm echo server, {connections:,} connections: failures", "0"
        info = _net_row(data, "echo", connections)
        figures = (info or {}).get("figures", {}).get(subject)
        if not figures:
            return Goal(name, target, "not measured", note=absent(connections) if info is None else "it did not run")
        if figures.get("status") in ("server did not start", "client failed"):
            return Goal(name, target, "not measured", note=f"{figures['status']}: {figures.get('why', '')}")
        failures = int(figures.get("failures", 0))
        ok = failures == 0 and figures.get("status") == "ok"
        return Goal(name, target, _check(ok), _failures_text(figures))

    rate = "round trips/s against asyncio's"
    for connections in (1_000, 10_000):
        out.append(
            ratio_goal(
                connections,
                "round_trips_per_s",
                f"wasm echo server, {connections:,} connections: {rate}",
                f"at least {net.NET_THROUGHPUT_MIN:g}x",
                lambda r: r >= net.NET_THROUGHPUT_MIN,
                lambda a, b: f"{a / b:.2f}x ({a:,.0f} against {b:,.0f})",
            )
        )
        if connections == 1_000:
            out.append(
                ratio_goal(
                    connections,
                    "p99_s",
                    "wasm echo server, 1,000 connections: p99 latency against asyncio's",
                    f"at most {net.NET_P99_MAX:g}x",
                    lambda r: r <= net.NET_P99_MAX,
                    lambda a, b: f"{a / b:.2f}x ({_time(a)} against {_time(b)})",
                )
            )
        out.append(failures_goal(connections))

    name, target = "wasm echo server, 10 connections: server CPU per round trip", f"at most {net.NET_CPU_MAX_US:g} µs"
    info = _net_row(data, "echo", 10)
    cpu = _net_figure(info, subject, "cpu_us_per_round_trip")
    if cpu is not None:
        out.append(Goal(name, target, _check(cpu <= net.NET_CPU_MAX_US), f"{cpu:.1f} µs"))
    else:
        out.append(Goal(name, target, "not measured", note=absent(10) if info is None else "no figure for it"))

    name, target = "wasm server: runtime memory per idle connection", f"at most {net.NET_IDLE_MAX_KIB:g} KiB"
    idle = _one(data, "net_idle")
    value = _net_figure(idle, subject, "runtime_kib_per_connection")
    if value is not None:
        out.append(Goal(name, target, _check(value <= net.NET_IDLE_MAX_KIB), f"{value:.1f} KiB"))
    else:
        why = _net_skip_reason(data, "test_net_idle_memory") or "benchmarks/test_net.py's idle test did not run"
        out.append(Goal(name, target, "not measured", note=why if idle is None else "no figure for it"))
    return out


# ---- deterministic runs against fair runs (issue 15, test_seeded.py) ----


def _infos(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b["extra_info"] for b in _entries(data, kind)]


def _one(data: dict[str, Any], kind: str) -> dict[str, Any] | None:
    found = _infos(data, kind)
    return found[0] if found else None


#: the modes of a program row: (extra_info key, column title, the bar on its ratio to the fair run)
SEEDED_MODES = (
    ("seeded", "`run --seed 1`", SEEDED_MAX),
    ("seeded_trace", "`run --seed 1 --trace`", OBSERVED_MAX),
    ("seeded_record", "`run --seed 1 --record`", OBSERVED_MAX),
    ("explore", "explore, per schedule", EXPLORE_MAX),
    ("explore_shared", "explore + shared-access preemption, per schedule", EXPLORE_SHARED_MAX),
)


def render_seeded(data: dict[str, Any]) -> str:
    """Issue 15's rows: each CPU-bound program fair, seeded and explored; one decision; ping-pong; RSS."""
    lines: list[str] = []
    programs = _infos(data, "seeded_program")
    if programs:
        head = " | ".join(f"{title} | /fair (bar {limit:g}x)" for _, title, limit in SEEDED_MODES)
        lines += [
            f"| CPU-bound program | arguments | fair `run` | {head} |",
            "|---|---|---:|" + "---:|" * (2 * len(SEEDED_MODES)),
        ]
        for info in programs:
            medians, ratios = info["medians_s"], info["ratios"]
            cells = [_time(medians["fair"])]
            for mode, _, _ in SEEDED_MODES:
                cells += [_time(medians[mode]) if mode in medians else "", _ratio_text(ratios.get(mode))]
            args = " ".join(info["args"])
            lines.append(f"| {info['workload']} | `{args}` | {' | '.join(cells)} |")
        runs = ", ".join(f"{info['workload']} {info['explore_runs']}" for info in programs)
        lines += [
            "",
            "Program cells: CPU time (user + system) of `wasmroutines run` in a fresh process less that of the same "
            "command on an empty module; the explorer's: (CPU of `explore --runs N` less CPU of `explore --runs 1`) "
            f"/ (N - 1), N: {runs}; medians over the rounds. Ratios: the median over the rounds of each round's "
            "figure over the same round's fair figure.",
        ]
    decision = _one(data, "seeded_decision")
    if decision:
        net = decision["net_s"]
        lines += [
            "",
            f"**A deterministic scheduling decision** (two threads spinning, `--seed 1 --slices 1:1`, "
            f"{decision['steps']:,} steps: {decision['decisions']:,} decisions, {decision['switches']:,} of them "
            f"switches, counted from `--trace` timelines): {decision['us_per_decision']:.3g} µs of CPU per decision "
            f"({decision['us_per_switch']:.3g} µs per switch) over the fair run (seeded {_time(net['seeded'])}, "
            f"fair {_time(net['fair'])}, each less its run of 0 steps: the fair one is within a few ms of noise; bar: "
            f"{DECISION_MAX_US:g} µs per decision).",
        ]
    pingpong = _one(data, "seeded_pingpong")
    if pingpong:
        per = pingpong["us_per_round_trip"]
        lines += [
            "",
            f"**Futex ping-pong, seeded against fair** (tests/programs/c/pingpong.c through `wasmroutines run`, "
            f"{pingpong['round_trips']:,} round trips, CPU less a run of 0): seeded {per['seeded']:.3g} µs, fair "
            f"{per['fair']:.3g} µs per round trip: {pingpong['ratio']:,.1f}x (bar: {PINGPONG_SEEDED_MAX:g}x).",
        ]
    rss = _one(data, "seeded_rss")
    if rss:
        steps, peak, cpu = rss["steps"], rss["peak_mib"], rss["cpu_s"]
        lines += [
            "",
            f"**Memory of a longer deterministic run** (four threads spinning, `--seed 1`, no `--record`): peak RSS "
            f"{peak['short']:,.1f} MiB for {steps['short']:,} steps ({_time(cpu['short'])} CPU), "
            f"{peak['long']:,.1f} MiB for {steps['long']:,} ({_time(cpu['long'])}): {100 * rss['growth']:+.1f}% "
            f"(bar: at most {100 * RSS_GROWTH_MAX:.0f}%).",
        ]
    return "\n".join(lines).strip()


def _seeded_goals(data: dict[str, Any], threads: dict[str, dict[str, ThreadCell]]) -> list[Goal]:
    out: list[Goal] = []
    programs = {info["workload"]: info for info in _infos(data, "seeded_program")}
    expected = [p.id for p in SEEDED_PROGRAMS]
    names = {
        "seeded": "`run --seed 1` against fair `run`, CPU-bound programs",
        "seeded_trace": "`run --seed 1 --trace` against fair `run`, CPU-bound programs",
        "seeded_record": "`run --seed 1 --record` against fair `run`, CPU-bound programs",
        "explore": "explorer's CPU per schedule against a fair run, without shared-access preemption",
        "explore_shared": "explorer's CPU per schedule against a fair run, with shared-access preemption",
    }
    for mode, _, limit in SEEDED_MODES:
        name, target = names[mode], f"at most {limit:g}x each"
        figures = {w: float(info["ratios"][mode]) for w, info in programs.items() if mode in info.get("ratios", {})}
        missing = [w for w in expected if w not in figures]
        text = ", ".join(f"{w} {v:,.2f}x" for w, v in figures.items())
        if any(v > limit for v in figures.values()):
            out.append(Goal(name, target, "missed", text))
        elif figures and not missing:
            out.append(Goal(name, target, "met", text))
        else:
            note = f"no figure for {', '.join(missing)}" + ("" if figures else " (benchmarks/test_seeded.py)")
            out.append(Goal(name, target, "not measured", text, note))

    # One figure each, at most its bar: (row kind, its field, the bar, goal, target, how the figure reads).
    singles = (
        (
            "seeded_decision",
            "us_per_decision",
            DECISION_MAX_US,
            "a deterministic scheduling decision between two runnable wasm threads",
            f"at most {DECISION_MAX_US:g} µs",
            lambda v: f"{v:.3g} µs",
        ),
        (
            "seeded_pingpong",
            "ratio",
            PINGPONG_SEEDED_MAX,
            "futex ping-pong round trip, seeded against fair",
            f"at most {PINGPONG_SEEDED_MAX:g}x",
            lambda v: f"{v:,.1f}x",
        ),
        (
            "seeded_rss",
            "growth",
            RSS_GROWTH_MAX,
            "peak RSS of a 10x longer deterministic run",
            f"at most {100 * RSS_GROWTH_MAX:.0f}% more",
            lambda v: f"{100 * v:+.1f}%",
        ),
    )
    for kind, field_name, limit, name, target, show in singles:
        row = _one(data, kind)
        if row:
            value = float(row[field_name])
            out.append(Goal(name, target, _check(value <= limit), show(value)))
        else:
            out.append(Goal(name, target, "not measured", note="benchmarks/test_seeded.py did not run"))

    subject = THREAD_PEERS[0]
    name, target = "wasi-threads spawn+exit, CPU per thread", f"at most {WASI_SPAWN_MAX_US:g} µs"
    large = threads.get(WASI_SPAWN_LARGE.id, {}).get(subject)
    small = threads.get(WASI_SPAWN.id, {}).get(subject)
    for cell, size, note in (
        (large, "10,000 threads", ""),
        (small, "1,000 threads", "the bar's 10,000 threads run in the full mode only"),
    ):
        value = _thread_value(cell)
        if value is not None:
            out.append(Goal(name, target, _check(value <= WASI_SPAWN_MAX_US), f"{value:.3g} µs ({size})", note))
            break
    else:
        out.append(Goal(name, target, "not measured", note=_not_measured(large or small, "it")))
    return out


# ---- the goals ----


def _asyncio_goals(data: dict[str, Any]) -> list[Goal]:
    """Issue 18's bars, per loop (benchmarks/test_asyncio.py)."""
    infos = _infos(data, "asyncio")
    by_case: dict[tuple[str, str], dict[str, Any]] = {}
    for info in infos:
        case = str(info.get("case", ""))
        if case == "server_beside_wasm" and info.get("slice_units") is not None:
            case = "server_beside_wasm_short_slice"
        by_case[(case, str(info.get("loop", "")))] = info
    loops = sorted({loop for _, loop in by_case}) or ["asyncio"]
    out: list[Goal] = []

    def goal(case: str, name: str, target: str, figure: Any) -> None:
        for loop in loops:
            info = by_case.get((case, loop))
            label = f"{name}, on {loop}"
            if info is None:
                out.append(Goal(label, target, "not measured", note="benchmarks/test_asyncio.py did not run it"))
            else:
                ok, text = figure(info)
                out.append(Goal(label, target, _check(ok), text))

    for case, what in (
        ("concurrent_calls", "10,000 concurrent call_async (issued 1,000 a loop iteration)"),
        ("wasi_threads_calls", "1,000 wasi-threads"),
    ):
        goal(
            case,
            f"{what} each awaiting asyncio.sleep(0.1): wall time",
            f"under {ASYNC_WALL_MAX_S:g} s",
            lambda i: (float(i["value"]) < ASYNC_WALL_MAX_S, f"{float(i['value']):.2f} s"),
        )
        goal(
            case,
            f"{what}: an unrelated 10 ms ticker's p99 gap",
            f"under {ASYNC_GAP_MAX_MS:g} ms",
            lambda i: (
                float(i["p99_gap_median_ms"]) < ASYNC_GAP_MAX_MS,
                f"{float(i['p99_gap_median_ms']):.0f} ms"
                + (
                    f" (the same awaits from plain coroutines: {float(i['pure_p99_gap_median_ms']):.0f} ms)"
                    if i.get("pure_p99_gap_median_ms") is not None
                    else ""
                )
                + (
                    f"; all issued in one gather: {float(i['burst_p99_gap_median_ms']):.0f} ms (plain coroutines:"
                    f" {float(i['pure_burst_p99_gap_median_ms']):.0f} ms)"
                    if i.get("burst_p99_gap_median_ms") is not None
                    else ""
                )
                + (
                    f"; objects the collector walks per call: {float(i['objects_per_call']):.0f}, plain"
                    f" coroutines {float(i['pure_objects_per_call']):.0f}"
                    if i.get("objects_per_call") is not None
                    else ""
                ),
            ),
        )

    def round_trip(info: dict[str, Any]) -> tuple[bool, str]:
        value = float(info["value"])
        text = f"{value:.1f} µs"
        pure = by_case.get(("pure_task_round_trip", str(info.get("loop", ""))))
        if pure is not None:
            text += f" (a Task of the same coroutine, no wasm: {float(pure['value']):.1f} µs)"
        return value <= ASYNC_ROUND_TRIP_MAX_US, text

    goal(
        "async_round_trip",
        "an async host call round trip (await asyncio.sleep(0)), CPU",
        f"at most {ASYNC_ROUND_TRIP_MAX_US:g} µs",
        round_trip,
    )
    for case, slice_text in (
        ("server_beside_wasm", "default slice"),
        ("server_beside_wasm_short_slice", "short slice"),
    ):
        goal(
            case,
            f"an asyncio server's p99 beside CPU-bound wasm over alone ({slice_text})",
            f"at most {ASYNC_SERVER_P99_MAX:g}x",
            lambda i: (float(i["value"]) <= ASYNC_SERVER_P99_MAX, f"{float(i['value']):.2f}x"),
        )
        goal(
            case,
            f"the CPU-bound wasm's throughput beside the server ({slice_text})",
            f"at least {ASYNC_WASM_SHARE_MIN:.0%}",
            lambda i: (
                float(i["throughput_share_median"]) >= ASYNC_WASM_SHARE_MIN,
                f"{float(i['throughput_share_median']):.0%}",
            ),
        )
    return out


@dataclass
class Goal:
    name: str
    target: str
    #: "met", "missed" or "not measured"
    status: str
    figure: str = ""
    note: str = ""

    def text(self) -> str:
        mark = {"met": "met", "missed": "**MISSED**", "not measured": "not measured"}[self.status]
        figure = f"{self.figure} " if self.figure else ""
        note = f" ({self.note})" if self.note else ""
        return f"- {self.name}: {figure}(goal: {self.target}): {mark}{note}"


def _check(ok: bool) -> str:
    return "met" if ok else "missed"


def _not_measured(cell: ThreadCell | None, what: str) -> str:
    if cell is not None and cell.outcome != "passed":
        return f"{'failed' if cell.outcome == 'failed' else 'skipped'}: {cell.reason}"
    return f"{what} did not run"


def goals(data: dict[str, Any], rows: list[Row], threads: dict[str, dict[str, ThreadCell]]) -> list[Goal]:
    """Every goal the report states, computed from the figures."""
    out: list[Goal] = []

    mean, ran, missing = geomean_of_bar(rows)
    name, target = f"geometric mean of {SUBJECT}/{REFERENCE} over {', '.join(BAR)}", f"at most {GEOMEAN_MAX:.2f}"
    if mean is not None and not missing:
        out.append(Goal(name, target, _check(mean <= GEOMEAN_MAX), f"{mean:.2f}"))
    else:
        partial = f"{mean:.2f} over {', '.join(ran)} only; " if mean is not None else ""
        out.append(Goal(name, target, "not measured", note=f"{partial}no ratio for {', '.join(missing)}"))

    name, target = "preemption checks' cost on CoreMark", f"under {100 * PREEMPTION_MAX:.0f}%"
    info = preemption(data)
    if info is not None:
        cost = float(info["cost"])
        out.append(Goal(name, target, _check(cost < PREEMPTION_MAX), f"{100 * cost:.1f}%"))
    else:
        out.append(Goal(name, target, "not measured", note="benchmarks/test_preemption.py did not run"))

    name, target = "deterministic mode's extra time on mandelbrot", f"at most {100 * DETERMINISM_MAX:.0f}%"
    found = determinism_cost(data)
    if found and found[0].get("default") and "deterministic" in found[0]:
        cost = found[0]["deterministic"] / found[0]["default"] - 1
        out.append(Goal(name, target, _check(cost <= DETERMINISM_MAX), f"{100 * cost:+.1f}%"))
    else:
        out.append(Goal(name, target, "not measured", note="benchmarks/test_determinism.py did not run"))

    rates = explorer_rates(data)
    for strategy in ("random", "pct"):
        name, target = f"explorer, {strategy} strategy", f"at least {EXPLORER_MIN:.0f} schedules/s"
        if strategy in rates:
            rate = rates[strategy]
            out.append(Goal(name, target, _check(rate >= EXPLORER_MIN), f"{rate:,.0f}/s"))
        else:
            out.append(Goal(name, target, "not measured", note="benchmarks/test_determinism.py did not run"))

    subject, os_peer = THREAD_PEERS
    cells = threads.get(PINGPONG.id, {})
    name, target = f"futex ping-pong against {os_peer} on OS threads", f"at least {PINGPONG_MIN_SPEEDUP:.0f}x faster"
    ratio = _thread_ratio(cells)
    if ratio:
        speedup = 1 / ratio
        out.append(Goal(name, target, _check(speedup >= PINGPONG_MIN_SPEEDUP), f"{speedup:,.1f}x"))
    else:
        missing_cell = next((c for c in cells.values() if not c.ok), None)
        out.append(Goal(name, target, "not measured", note=_not_measured(missing_cell, "a side")))

    for workload, limit, unit in ((SPAWN_JOIN, SPAWN_MAX_US, "µs"), (IDLE_MEMORY, IDLE_MAX_KIB, "KiB")):
        cell = threads.get(workload.id, {}).get(subject)
        value = _thread_value(cell)
        if value is not None:
            out.append(Goal(workload.id, f"under {limit:.0f} {unit}", _check(value < limit), f"{value:.3g} {unit}"))
        else:
            out.append(Goal(workload.id, f"under {limit:.0f} {unit}", "not measured", note=_not_measured(cell, "it")))

    cell = threads.get(IDLE_FIT.id, {}).get(subject)
    name, target = "idle green threads parked at once, woken and joined", f"{FIT_BAR:,} fit"
    if cell is not None and cell.ok:
        n = int(cell.extra.get("threads", 0))
        if n >= FIT_BAR:
            out.append(Goal(name, target, "met", f"{n:,} in {cell.value:.1f} s"))
        else:
            out.append(Goal(name, target, "not measured", f"{n:,}", f"this mode runs {n:,}; the full mode {FIT_BAR:,}"))
    elif cell is not None and cell.outcome == "failed":
        out.append(Goal(name, target, "missed", note=f"the run failed: {cell.reason}"))
    else:
        out.append(Goal(name, target, "not measured", note=_not_measured(cell, "it")))
    name, target = (
        "explorer on 2 Dask workers against 1, the larger program (issue 20)",
        (f"at least {CLUSTER_SPEEDUP_MIN:g}x"),
    )
    speedup = cluster_speedup(data, "large")
    if speedup is not None:
        out.append(Goal(name, target, _check(speedup >= CLUSTER_SPEEDUP_MIN), f"{speedup:.2f}x"))
    else:
        out.append(Goal(name, target, "not measured", note="benchmarks/test_cluster.py did not run"))
    return out + _seeded_goals(data, threads) + _net_goals(data) + _asyncio_goals(data)


# ---- the whole report ----


def _machine_text(data: dict[str, Any]) -> str:
    info = data.get("machine_info", {}).get("wasmroutines_bench")
    if not info:
        from benchmarks.machine import machine_info

        info = machine_info()
    cores = f"{info.get('physical_cores') or '?'} cores, {info.get('logical_cpus') or '?'} logical CPUs"
    peers = ", ".join(v for v in info.get("peers", {}).values() if v)
    return f"{info.get('cpu_model')} ({cores}), {info.get('system')}, {info.get('python')}; {peers}"


def _other_problems(data: dict[str, Any]) -> list[str]:
    """Failures and skips of the tests outside both tables (determinism, preemption, SIMD, ...)."""
    return [
        f"- {'FAIL' if o['outcome'] == 'failed' else 'skip'}: {o['workload']} ({o['peer']}): {o['reason']}"
        for o in outcomes(data)
        if o["table"] == "other" and o["outcome"] != "passed"
    ]


def evaluate(data: dict[str, Any]) -> tuple[str, int]:
    """The report's text and its exit status (0 or 1; see the module's docstring)."""
    rows = collect(data)
    threads = collect_threads(data)
    info = data.get("machine_info", {}).get("wasmroutines_bench", {})
    out: list[str] = []
    if rows:
        out += [render_peers(rows), ""]
    if threads:
        out += [render_threads(threads), ""]
    sections = (render_simd(data), render_determinism(data), render_preemption(data), render_seeded(data))
    for section in (*sections, render_cluster(data), render_net(data)):
        if section:
            out += [section, ""]

    checked = goals(data, rows, threads)
    out += ["**Goals**:", *(g.text() for g in checked), ""]

    when = data.get("datetime", "")
    try:
        when = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        pass
    timer = str(info.get("timer", ""))
    clock = "process CPU time" if "process_time" in timer else f"wall time ({timer or '?'})"
    out.append(f"Machine: {_machine_text(data)}. Mode: {info.get('mode', '?')}; timer: {clock}; run {when}.")
    notes = _missing_notes(rows) + _other_problems(data)
    if notes:
        out += ["", "Missing cells and other problems:", *notes]

    reasons = []
    if not data.get("benchmarks"):
        reasons.append("nothing was measured")
    missed = [g.name for g in checked if g.status == "missed"]
    if missed:
        reasons.append(f"{len(missed)} goal{'s' if len(missed) > 1 else ''} missed: {'; '.join(missed)}")
    failed = our_failures(data)
    if failed:
        reasons.append(f"{len(failed)} test{'s' if len(failed) > 1 else ''} of our own failed: {'; '.join(failed)}")
    met = sum(g.status == "met" for g in checked)
    unmeasured = sum(g.status == "not measured" for g in checked)
    summary = f"{met} of {len(checked)} goals met, {len(missed)} missed, {unmeasured} not measured"
    out += ["", f"**Verdict**: {'FAIL: ' + '; '.join(reasons) if reasons else 'pass'} ({summary})."]
    return "\n".join(out), 1 if reasons else 0


def run_suite(json_path: Path, quick: bool, peers: str, keyword: str) -> int:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "benchmarks",
        "-q",
        "-rfs",
        "-p",
        "no:cacheprovider",
        f"--bench-mode={'quick' if quick else 'full'}",
        f"--benchmark-json={json_path}",
        "--benchmark-columns=median,min,max,rounds",
        "--benchmark-sort=name",
    ]
    if peers:
        command.append(f"--bench-peers={peers}")
    if keyword:
        command += ["-k", keyword]
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, cwd=ROOT, stdout=sys.stderr, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no long programs (about 6 minutes)")
    parser.add_argument("--json", type=Path, help="report this pytest-benchmark JSON instead of running")
    parser.add_argument("--save", type=Path, help="keep the run's pytest-benchmark JSON here")
    parser.add_argument("--peers", default="", help="comma-separated subset of: " + ",".join(PEER_NAMES))
    parser.add_argument("-k", dest="keyword", default="", help="pytest -k expression to select workloads")
    args = parser.parse_args(argv)

    status = 0
    if args.json is not None:
        data = json.loads(args.json.read_text())
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = args.save or Path(folder) / "bench.json"
            status = run_suite(path, args.quick, args.peers, args.keyword)
            if status == PYTEST_NO_TESTS or not path.exists():
                print(f"nothing ran: pytest collected no test or wrote no JSON (status {status})", file=sys.stderr)
                return status or 1
            data = json.loads(path.read_text())
    text, verdict = evaluate(data)
    print(text)
    if status not in (0, PYTEST_FAILED):  # pytest could not run the suite (interrupted, internal or usage error)
        return status
    return verdict


if __name__ == "__main__":
    sys.exit(main())
