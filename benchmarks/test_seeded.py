"""Issue 15's rows: deterministic runs and the explorer against fair runs of the same programs, through the command
line only (`python -m wasmroutines run|explore` in a fresh process), so the figures hold across rewrites of the
internals. Every figure is the CPU time (user + system) of child processes (`children.py`), taken as a difference
of two runs so that process start, imports and the rest of the fixed cost cancel out; the modes of a row run in
turns in every round (which goes first rotates), and every run's stdout and exit status are checked. The goals are
the report's (tools/bench_report.py); benchmarks/README.md says what each figure includes.

- test_program_modes: each CPU-bound program fair, `--seed 1` (plain, with `--trace`, with `--record`), and
  explored (`explore --no-preempt-shared` and the explorer's default, preemption at every shared access).
- test_decision_cost: two threads spinning under `--seed 1 --slices 1:1` (a slice end at every loop back-edge)
  against the same run fair; the decisions are counted from `--trace` timelines of small runs.
- test_pingpong_seeded: a futex ping-pong (wasi-threads) seeded against fair.
- test_rss_longer_run: peak RSS of a deterministic run against one 10 times longer.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .children import Child, run_child, wasmroutines
from .paths import ROOT
from .settings import Settings
from .workloads import (
    DECISION,
    DECISION_TRACE_STEPS,
    PINGPONG_PROGRAM,
    PINGPONG_SEEDED,
    PINGPONG_STDOUT,
    RSS_RUN,
    SEEDED_PROGRAM_ROUNDS,
    SEEDED_PROGRAMS,
    SPIN_PROGRAM,
    SPIN_STDOUT,
    SeededProgram,
)

FAIR: tuple[str, ...] = ()
SEEDED = ("--seed", "1")
#: every slice ends at the first preemption point: a decision at every loop back-edge of a spinning thread
SLICE_ONE = ("--slices", "1:1")
#: the explorer: one worker process (its CPU is the child's own), no progress bar, the exploration's seed fixed
EXPLORE = ("--jobs", "1", "--no-progress", "--seed", "0")
#: the explorer's hang budget, given: by default its first run is a hang past 5x10^7 instructions, which the spinning
#: program's 2x10^8 are (a hang fails the test); 10^11 instructions take minutes, and children.TIMEOUT bounds them
HANG_FUEL = ("--hang-fuel", str(10**11))
NO_SHARED = ("--no-preempt-shared",)
#: the program rows' `run` modes, by name: their options (given a folder for the files they write)
RUN_MODES = {
    "fair": lambda folder: FAIR,
    "seeded": lambda folder: SEEDED,
    "seeded_trace": lambda folder: (*SEEDED, "--trace", str(folder / "trace.json")),
    "seeded_record": lambda folder: (*SEEDED, "--record", str(folder / "run.wrrec")),
}

#: a module whose `_start` returns at once: what a `run` costs besides the program (start, imports, WASI setup)
EMPTY_MODULE = bytes.fromhex(
    "0061736d01000000"  # magic, version
    "010401600000"  # type section: () -> ()
    "03020100"  # function section: one function of type 0
    "070a01065f73746172740000"  # export section: "_start", function 0
    "0a040102000b"  # code section: an empty body
)


def _path(program: str) -> str:
    return str(ROOT / program)


def _checked(child: Child, expected: str, what: str) -> Child:
    assert child.returncode == 0 and child.stdout.decode(errors="replace") == expected, f"{what}: {child.describe()}"
    return child


def _run(options: tuple[str, ...], program: str, args: tuple[str, ...], expected: str) -> Child:
    return _checked(run_child(wasmroutines("run", *options, program, *args)), expected, f"run {' '.join(options)}")


def _rotate(order: list[str]) -> None:
    order.append(order.pop(0))


def _median(values: list[float]) -> float:
    return statistics.median(values)


# ---- CPU-bound programs: fair, seeded, explored ----


def _explore(options: tuple[str, ...], runs: int, program: str, args: tuple[str, ...], expect_file: Path) -> Child:
    """`explore --runs RUNS` with every run's stdout checked against the expected one: it must find nothing."""
    command = wasmroutines(
        "explore",
        "--runs",
        str(runs),
        *EXPLORE,
        *HANG_FUEL,
        *options,
        "--expect-stdout-file",
        str(expect_file),
        program,
        *args,
    )
    child = run_child(command)
    said = (child.stdout + child.stderr).decode(errors="replace")
    assert child.returncode == 0, f"explore {' '.join(options)} --runs {runs} found a failure: {child.describe()}"
    assert re.search(rf"\b{runs} schedules?\b", said), f"explore --runs {runs} did not say it ran {runs}: {said[-500:]}"
    return child


@pytest.mark.parametrize("case", [pytest.param(p, id=p.key) for p in SEEDED_PROGRAMS])
def test_program_modes(benchmark: Any, settings: Settings, case: SeededProgram) -> None:
    """A fair run's CPU against `run --seed 1` (plain, traced, recorded) and against the explorer's CPU per schedule.
    Fair and seeded: CPU of `run [--seed 1 [--trace F | --record F]] PROGRAM ARGS` less CPU of the same command on
    an empty module. Explorer: (CPU of `explore --runs
    N` less CPU of `explore --runs 1`) / (N - 1), so its start and first run (which sets the hang budget) cancel
    out; once with `--no-preempt-shared`, once with the default (preempting at every shared access)."""
    args, runs = case.args(settings.name), case.explore_runs(settings.name)
    assert runs >= 2
    program, expected = _path(case.program), case.stdout(args)
    modes = ["fair", "seeded", "seeded_trace", "seeded_record", "explore", "explore_shared"]
    values: dict[str, list[float]] = {mode: [] for mode in modes}
    ratios: dict[str, list[float]] = {mode: [] for mode in modes[1:]}
    order = list(modes)

    with tempfile.TemporaryDirectory() as folder:
        empty, expect_file = Path(folder) / "empty.wasm", Path(folder) / "expected.txt"
        empty.write_bytes(EMPTY_MODULE)
        expect_file.write_text(expected)

        def measure(mode: str) -> float:
            if mode in RUN_MODES:
                options = RUN_MODES[mode](Path(folder))
                whole = _run(options, program, args, expected).cpu_s
                return whole - _run(options, str(empty), (), "").cpu_s
            options = NO_SHARED if mode == "explore" else ()
            many = _explore(options, runs, program, args, expect_file).cpu_s
            one = _explore(options, 1, program, args, expect_file).cpu_s
            return (many - one) / (runs - 1)

        def one_round() -> None:
            figures = {mode: measure(mode) for mode in order}
            _rotate(order)
            assert figures["fair"] > 0, f"the fair run cost no more than an empty module's: {figures}"
            for mode in modes:
                values[mode].append(figures[mode])
            for mode in ratios:
                ratios[mode].append(figures[mode] / figures["fair"])

        benchmark.group = f"seeded: {case.id}"
        benchmark.pedantic(one_round, rounds=SEEDED_PROGRAM_ROUNDS[settings.name], iterations=1)

    benchmark.extra_info.update(
        kind="seeded_program",
        workload=case.id,
        program=case.program,
        args=list(args),
        explore_runs=runs,
        medians_s={mode: _median(v) for mode, v in values.items()},
        ratios={mode: _median(v) for mode, v in ratios.items()},
        values_s=values,
        ratio_values=ratios,
    )


# ---- one scheduling decision between two spinning threads ----


def _trace_counts(steps: int, folder: Path) -> tuple[int, int]:
    """(decisions, switches) of `run --seed 1 --slices 1:1` on two spinning threads, from its `--trace` timeline:
    each `run` slice is one turn the scheduler gave; a switch is a turn on another thread than the turn before."""
    trace = folder / f"trace-{steps}.json"
    args = ("2", str(steps))
    command = wasmroutines("run", *SEEDED, *SLICE_ONE, "--trace", str(trace), _path(SPIN_PROGRAM), *args)
    _checked(run_child(command), SPIN_STDOUT(args), "run --trace")
    events = json.loads(trace.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    turns = sorted((e for e in events if e.get("ph") == "X" and e.get("name") == "run"), key=lambda e: e["ts"])
    switches = sum(1 for a, b in zip(turns, turns[1:], strict=False) if a["tid"] != b["tid"])
    return len(turns), switches


def test_decision_cost(benchmark: Any, settings: Settings) -> None:
    """Two threads spin a counter each (tests/programs/c/spin.c, no host call in the loop); under `--slices 1:1`
    every loop back-edge ends a slice, and the seeded policy picks one of the two runnable threads. Figure: (CPU of
    the seeded run of K steps - CPU of the seeded run of 0 steps) - (the same two fair), over the decisions the K
    steps add: the extra CPU of seeded mode per decision. The decisions are counted from `--trace` timelines of
    runs of 0, k, 2k and 3k steps (k small; the schedule is the same with or without a trace): the first k give
    D(k) - D(0), every k after adds about the same number (checked), so D(K) - D(0) = D(k) - D(0) + (K - k) / k *
    (D(2k) - D(k)); the same for switches."""
    steps = DECISION.size(settings.name)
    k = DECISION_TRACE_STEPS
    with tempfile.TemporaryDirectory() as folder:
        counts = [_trace_counts(n, Path(folder)) for n in (0, k, 2 * k, 3 * k)]
    (d0, s0), (d1, s1), (d2, s2), (d3, s3) = counts
    slope_d, slope_s = d2 - d1, s2 - s1
    assert slope_d > 0 and slope_s > 0, f"no decisions counted: {counts}"
    # not exactly linear: once one thread has finished, the other runs alone without decisions, for a random
    # number of steps (about the square root of the steps: well under 1% of the count at the timed size)
    assert abs((d3 - d2) - slope_d) <= 0.05 * slope_d, f"decisions not linear in the steps: {counts}"
    assert abs((s3 - s2) - slope_s) <= 0.10 * slope_s, f"switches not linear in the steps: {counts}"
    decisions = (d1 - d0) + (steps - k) / k * slope_d
    switches = (s1 - s0) + (steps - k) / k * slope_s

    program, modes = _path(SPIN_PROGRAM), ["seeded", "fair"]
    big, zero = ("2", str(steps)), ("2", "0")
    net: dict[str, list[float]] = {mode: [] for mode in modes}
    per_decision: list[float] = []
    order = list(modes)

    def one_round() -> None:
        figures = {}
        for mode in order:
            options = (*SEEDED, *SLICE_ONE) if mode == "seeded" else FAIR
            figures[mode] = (
                _run(options, program, big, SPIN_STDOUT(big)).cpu_s
                - _run(options, program, zero, SPIN_STDOUT(zero)).cpu_s
            )
        _rotate(order)
        for mode in modes:
            net[mode].append(figures[mode])
        per_decision.append((figures["seeded"] - figures["fair"]) / decisions * 1e6)

    benchmark.group = "seeded: scheduling decision"
    benchmark.pedantic(one_round, rounds=DECISION.rounds(settings.name), iterations=1)
    us = _median(per_decision)
    benchmark.extra_info.update(
        kind="seeded_decision",
        workload="scheduling decision: 2 spinning threads, --slices 1:1",
        steps=steps,
        decisions=round(decisions),
        switches=round(switches),
        trace_counts=counts,
        us_per_decision=us,
        us_per_switch=us * decisions / switches,
        net_s={mode: _median(v) for mode, v in net.items()},
        values_us=per_decision,
    )


# ---- futex ping-pong, seeded against fair ----


def test_pingpong_seeded(benchmark: Any, settings: Settings) -> None:
    """tests/programs/c/pingpong.c: two wasi-threads threads hand a turn back and forth N times through
    wait32/notify. Per mode: (CPU of the run with N round trips - CPU with 0) / N; ratio seeded over fair, per
    round (median)."""
    n = PINGPONG_SEEDED.size(settings.name)
    program, modes = _path(PINGPONG_PROGRAM), ["seeded", "fair"]
    big, zero = (str(n),), ("0",)
    per_trip: dict[str, list[float]] = {mode: [] for mode in modes}
    ratios: list[float] = []
    order = list(modes)

    def one_round() -> None:
        figures = {}
        for mode in order:
            options = SEEDED if mode == "seeded" else FAIR
            whole = _run(options, program, big, PINGPONG_STDOUT(big)).cpu_s
            figures[mode] = (whole - _run(options, program, zero, PINGPONG_STDOUT(zero)).cpu_s) / n * 1e6
        _rotate(order)
        assert figures["fair"] > 0, f"the fair round trips cost nothing measurable: {figures}"
        for mode in modes:
            per_trip[mode].append(figures[mode])
        ratios.append(figures["seeded"] / figures["fair"])

    benchmark.group = "seeded: futex ping-pong"
    benchmark.pedantic(one_round, rounds=PINGPONG_SEEDED.rounds(settings.name), iterations=1)
    benchmark.extra_info.update(
        kind="seeded_pingpong",
        workload="futex ping-pong round trip, seeded against fair",
        round_trips=n,
        us_per_round_trip={mode: _median(v) for mode, v in per_trip.items()},
        ratio=_median(ratios),
        values_us=per_trip,
        ratio_values=ratios,
    )


# ---- memory of a longer deterministic run ----


def test_rss_longer_run(benchmark: Any, settings: Settings) -> None:
    """Four threads spinning under `--seed 1` (no --record, no --trace) for S steps and for 10 S: the peak RSS of
    each process (whole, interpreter included); figure: peak(10 S) / peak(S) - 1, median over the rounds."""
    steps = RSS_RUN.size(settings.name)
    program = _path(SPIN_PROGRAM)
    peaks: dict[str, list[int]] = {"short": [], "long": []}
    cpu: dict[str, list[float]] = {"short": [], "long": []}
    growth: list[float] = []
    order = ["short", "long"]

    def one_round() -> None:
        for which in order:
            args = ("4", str(steps if which == "short" else 10 * steps))
            child = _run(SEEDED, program, args, SPIN_STDOUT(args))
            peaks[which].append(child.maxrss_kib)
            cpu[which].append(child.cpu_s)
        _rotate(order)
        growth.append(peaks["long"][-1] / peaks["short"][-1] - 1)

    benchmark.group = "seeded: memory of a 10x longer run"
    benchmark.pedantic(one_round, rounds=RSS_RUN.rounds(settings.name), iterations=1)
    benchmark.extra_info.update(
        kind="seeded_rss",
        workload="peak RSS of a 10x longer deterministic run",
        steps={"short": steps, "long": 10 * steps},
        peak_mib={which: _median([v / 1024 for v in values]) for which, values in peaks.items()},
        cpu_s={which: _median(values) for which, values in cpu.items()},
        growth=_median(growth),
        growth_values=growth,
    )
