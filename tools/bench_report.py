#!/usr/bin/env python3
"""Run the benchmarks against the peers and print a Markdown table of medians and ratios.

    python tools/bench_report.py            # full suite (about 10 minutes)
    python tools/bench_report.py --quick    # under 3 minutes
    python tools/bench_report.py --json results.json   # report a saved pytest-benchmark JSON, run nothing

The table goes to stdout, pytest's own output to stderr. Each row is a workload, each cell the median time of
its timed rounds (CoreMark rows: the score, higher is better); the ratio columns are Wasmroutines' time over
wasm3's and over wasmtime's (below 1: Wasmroutines is faster). Under the table: the geometric mean of
Wasmroutines/wasm3 over the issue's bar workloads that ran, what the preemption checks cost on CoreMark (a copy of
the C core built without them, benchmarks/test_preemption.py), then the threading table (benchmarks/test_threads.py:
green threads against wasmtime on OS threads, wall-clock or RSS figures, the ratio to OS threads and the issue's
threading bar), the machine, and why any cell is missing.
"""

from __future__ import annotations

import argparse
import json
import math
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

from benchmarks.peers import PEER_NAMES  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    BAR,
    CALLS,
    COMMANDS,
    COREMARK_ID,
    IDLE_FIT,
    IDLE_MEMORY,
    PINGPONG,
    SPAWN_JOIN,
    THREAD_PEERS,
    THREADS,
)

THREAD_IDS = {w.id for w in THREADS}
REFERENCE = "wasm3"
CEILING = "wasmtime"
SUBJECT = "wasmroutines"


@dataclass
class Cell:
    median: float | None = None  # seconds
    score: float | None = None  # CoreMark iterations/s
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
        if "workload" not in info or "peer" not in info or info.get("kind") == "threads":
            continue
        stats = bench["stats"]
        score = info.get("score")
        row(info["workload"]).cells[info["peer"]] = Cell(
            median=stats["median"], score=float(score) if score is not None else None, rounds=stats["rounds"]
        )
    for outcome in data.get("wasmroutines_outcomes", []):
        if outcome["workload"] in THREAD_IDS:
            continue
        cell = row(outcome["workload"]).cells.setdefault(outcome["peer"], Cell())
        if outcome["outcome"] != "passed":
            cell.outcome, cell.reason = outcome["outcome"], outcome["reason"]
    return [r for r in rows if r.cells]


def _time(seconds: float) -> str:
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
    return f"{value:.2f}" if value is not None else "–"


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


def _machine_text(data: dict[str, Any]) -> str:
    info = data.get("machine_info", {}).get("wasmroutines_bench")
    if not info:
        from benchmarks.machine import machine_info

        info = machine_info()
    cores = f"{info.get('physical_cores') or '?'} cores, {info.get('logical_cpus') or '?'} logical CPUs"
    peers = ", ".join(v for v in info.get("peers", {}).values() if v)
    return f"{info.get('cpu_model')} ({cores}), {info.get('system')}, {info.get('python')}; {peers}"


def render(data: dict[str, Any]) -> str:
    rows = collect(data)
    peers = [p for p in PEER_NAMES if any(p in r.cells for r in rows)]
    head = ["workload", *peers, f"{SUBJECT}/{REFERENCE}", f"{SUBJECT}/{CEILING}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for row in rows:
        name = row.workload + (" (score)" if row.scored else "") + (" †" if row.bar else "")
        cells = [_cell_text(row, p) for p in peers]
        ratios = [_ratio_text(row.ratio(SUBJECT, REFERENCE)), _ratio_text(row.ratio(SUBJECT, CEILING))]
        lines.append("| " + " | ".join([name, *cells, *ratios]) + " |")

    mean, ran, missing = geomean_of_bar(rows)
    info = data.get("machine_info", {}).get("wasmroutines_bench", {})
    when = data.get("datetime", "")
    try:
        when = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        pass
    out: list[str] = []
    if rows:
        out += ["\n".join(lines), ""]
        out.append(
            "Cells: median time of the timed rounds (score rows: CoreMark iterations/s, higher is better); "
            "ratios: Wasmroutines' time over the peer's (below 1.00 is faster; score rows use 1/score). "
            "† marks the issue's bar workloads."
        )
        out.append("")
        if mean is None:
            out.append(f"**Bar**: no bar workload ran on both {SUBJECT} and {REFERENCE}.")
        else:
            out.append(
                f"**Bar**: geometric mean of {SUBJECT}/{REFERENCE} over {', '.join(ran)} ({len(ran)} of {len(BAR)}"
                + (f"; not measured: {', '.join(missing)}" if missing else "")
                + f") = **{mean:.2f}** (the bar: at most 1.00 over all {len(BAR)})."
            )
        out.append("")
    preemption = render_preemption(data)
    if preemption:
        out += [preemption, ""]
    threads = render_threads(data)
    if threads:
        out += [threads, ""]
    timer = str(info.get("timer", ""))
    clock = "process CPU time" if "process_time" in timer else f"wall time ({timer or '?'})"
    if threads:
        clock += " (threading rows: wall time)"
    out.append(f"Machine: {_machine_text(data)}. Mode: {info.get('mode', '?')}; timer: {clock}; run {when}.")
    notes = _notes(rows)
    if notes:
        out += ["", "Missing cells:", *notes]
    return "\n".join(out)


def render_preemption(data: dict[str, Any]) -> str:
    """The preemption checks' cost on CoreMark (benchmarks/test_preemption.py), against the issue's 5%."""
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if info.get("kind") == "preemption":
            cost = float(info["cost"])
            verdict = "met" if cost < 0.05 else "**not met**"
            return (
                f"**Preemption checks**: CoreMark {info['score_checks']:,.0f} iterations/s with them, "
                f"{info['score_no_checks']:,.0f} in a build without them (`-DWR_NO_PREEMPTION`; medians, fresh "
                f"processes): they cost {100 * cost:.1f}% (the bar: under 5%: {verdict})."
            )
    return ""


def _notes(rows: list[Row]) -> list[str]:
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


@dataclass
class ThreadCell:
    value: float | None = None  # in the row's unit
    extra: dict[str, Any] = field(default_factory=dict)
    outcome: str = "passed"
    reason: str = ""


def collect_threads(data: dict[str, Any]) -> dict[str, dict[str, ThreadCell]]:
    """The threading rows (test_threads.py): workload id -> peer -> cell, in THREADS order."""
    rows: dict[str, dict[str, ThreadCell]] = {w.id: {} for w in THREADS}
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if info.get("kind") == "threads" and info.get("workload") in rows:
            rows[info["workload"]][info["peer"]] = ThreadCell(value=info.get("value"), extra=info)
    for outcome in data.get("wasmroutines_outcomes", []):
        if outcome["workload"] in rows and outcome["outcome"] != "passed":
            cell = rows[outcome["workload"]].setdefault(outcome["peer"], ThreadCell())
            cell.outcome, cell.reason = outcome["outcome"], outcome["reason"]
    return {w: cells for w, cells in rows.items() if cells}


def _thread_value(cell: ThreadCell | None) -> float | None:
    return cell.value if cell is not None and cell.outcome == "passed" else None


def _thread_cell_text(workload: str, cell: ThreadCell | None) -> str:
    if cell is None:
        return "–"
    if cell.outcome != "passed":
        return "FAIL" if cell.outcome == "failed" else "skip"
    if cell.value is None:
        return "?"
    unit = cell.extra.get("unit", "")
    if workload == IDLE_FIT.id:
        mib = cell.extra.get("rss_mib")
        rss = f", {mib:,.0f} MiB RSS" if isinstance(mib, int | float) else ""
        return f"{cell.extra.get('threads', 0):,} threads in {cell.value:.2f} s{rss}"
    if unit == "s":
        return _time(cell.value)
    return f"{cell.value:.3g} {unit}"


def _thread_bar(rows: dict[str, dict[str, ThreadCell]]) -> list[str]:
    """The issue's threading bar, item by item, for the rows that ran."""
    subject, os_peer = THREAD_PEERS

    def value(workload: str, peer: str) -> float | None:
        return _thread_value(rows.get(workload, {}).get(peer))

    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    verdicts = []
    green, os_value = value(PINGPONG.id, subject), value(PINGPONG.id, os_peer)
    if green and os_value:
        speedup = os_value / green
        verdicts.append(f"ping-pong {speedup:.1f}x faster than OS threads (at least 5x: {met(speedup >= 5)})")
    spawn = value(SPAWN_JOIN.id, subject)
    if spawn is not None:
        verdicts.append(f"spawn+join {spawn:.3g} µs (under 10 µs: {met(spawn < 10)})")
    idle = value(IDLE_MEMORY.id, subject)
    if idle is not None:
        verdicts.append(f"{idle:.3g} KiB per idle thread (under 16 KiB: {met(idle < 16)})")
    fit = rows.get(IDLE_FIT.id, {}).get(subject)
    if fit is not None and fit.outcome == "passed":
        n = int(fit.extra.get("threads", 0))
        verdicts.append(f"{n:,} idle threads fit" + ("" if n >= 100_000 else " (the full mode runs 100,000)"))
    return verdicts


def render_threads(data: dict[str, Any]) -> str:
    """The threading table: Wasmroutines' green threads against wasmtime on OS threads, with the ratio."""
    rows = collect_threads(data)
    if not rows:
        return ""
    subject, os_peer = THREAD_PEERS
    bars = {w.id: w.bar for w in THREADS}
    lines = [
        f"| threading workload | {subject} (green threads) | {os_peer} (OS threads) | {subject}/{os_peer} | bar |",
        "|---|---:|---:|---:|---|",
    ]
    for workload, cells in rows.items():
        a, b = _thread_value(cells.get(subject)), _thread_value(cells.get(os_peer))
        ratio = _ratio_text(a / b if a is not None and b else None)
        texts = [_thread_cell_text(workload, cells.get(p)) for p in (subject, os_peer)]
        lines.append(f"| {workload} | {texts[0]} | {texts[1]} | {ratio} | {bars[workload]} |")
    out = ["\n".join(lines), ""]
    out.append(
        "Threading cells: medians of wall-clock rounds (µs per round trip or per spawn+join, seconds per run), "
        "or RSS growth per thread with all of them parked in `memory.atomic.wait32` (each measured in a fresh "
        f"process); the ratio is Wasmroutines' figure over {os_peer}'s (below 1.00: faster or smaller). "
        f"{os_peer} runs each wasm thread on its own `threading.Thread` with its own Store and instance, all "
        "importing one SharedMemory; its thread creation includes that Store and instance."
    )
    verdicts = _thread_bar(rows)
    if verdicts:
        out += ["", "**Threading bar**: " + "; ".join(verdicts) + "."]
    sizes = []
    for workload, cells in rows.items():
        for peer, cell in cells.items():
            n = cell.extra.get("round_trips") or cell.extra.get("threads")
            if n and workload != IDLE_FIT.id:
                k = cell.extra.get("iterations_each")
                sizes.append(f"{workload} ({peer}): {n:,}" + (f" × {k:,}" if k else ""))
    if sizes:
        out += ["", "Sizes: " + "; ".join(sizes) + "."]
    problems = [
        f"- {'FAIL' if c.outcome == 'failed' else 'skip'}: {w} ({p}): {c.reason}"
        for w, cells in rows.items()
        for p, c in cells.items()
        if c.outcome != "passed"
    ]
    if problems:
        out += ["", *problems]
    return "\n".join(out)


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
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no long programs (under 3 minutes)")
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
            if not path.exists():
                print(f"pytest wrote no benchmark JSON (exit status {status})", file=sys.stderr)
                return status or 1
            data = json.loads(path.read_text())
    print(render(data))
    return 0 if status in (0, 5) else status


if __name__ == "__main__":
    sys.exit(main())
