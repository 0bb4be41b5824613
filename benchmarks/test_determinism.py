"""What deterministic mode and the explorer cost (the determinism issue's bars; tools/bench_report.py checks them).

- mandelbrot (a compute-bound WASI command) in the default mode and in deterministic mode (a seed:
  the random-walk policy, virtual clocks, seeded random_get, the instruction counter): the bar is
  at most 10% more time (median against median, by the run's clock, --bench-clock); `deterministic+shared`
  also preempts at shared-memory accesses (the explorer's mode; mandelbrot's memory is not shared, so
  only the bookkeeping shows; no bar). Each round runs every mode once, in turns going first; each run
  is one `run_program` (instantiation and `_start`; the module is loaded once, outside the timing).
- the explorer on producer_consumer.wasm (four threads, a few thousand instructions each): the bar
  is 200 schedules/s for each strategy; the figure is the median over the rounds of the explorer's
  own rate (runs over its wall-clock time, its calibration run included).

Run: pytest benchmarks/test_determinism.py (the group names say which row is which).
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmroutines.explore import Program, Schedule, explore_program, run_program

from .paths import ROOT
from .settings import Settings
from .workloads import COMMANDS

EXPLORE_PROGRAMS = ROOT / "tests" / "programs" / "explore"

MODES = {
    "default": None,
    "deterministic": Schedule(1),
    "deterministic+shared": Schedule(1, preempt_shared=True),
}
MANDELBROT = next(w for w in COMMANDS if w.bar == "mandelbrot")


def test_deterministic_mode_cost(
    benchmark: Any, settings: Settings, clock: Callable[[], float], programs: Path
) -> None:
    """Each round runs mandelbrot once in every mode, in turns going first, so that a busy machine slows all alike;
    each mode's figure is the median of its own runs, by the run's clock."""
    program = Program.load(str(programs / MANDELBROT.program), list(MANDELBROT.args))
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    order = list(MODES)

    def run() -> None:
        for mode in order:
            t0 = clock()
            outcome = run_program(program, MODES[mode], fuel=None)
            times[mode].append(clock() - t0)
            assert outcome.failure is None and outcome.exit_code == 0, outcome.failure
            assert hashlib.sha1(outcome.stdout).hexdigest() == MANDELBROT.stdout_sha1
        order.append(order.pop(0))

    benchmark.group = f"determinism: {MANDELBROT.id}"
    benchmark.pedantic(run, rounds=settings.rounds, iterations=1)
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    benchmark.extra_info.update(kind="determinism", workload=MANDELBROT.id, medians=medians, times=times)


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_explorer_rate(benchmark: Any, settings: Settings, strategy: str) -> None:
    program = Program.load(str(EXPLORE_PROGRAMS / "producer_consumer.wasm"))
    runs = 200
    results = []

    def explore() -> None:
        results.append(explore_program(program, runs=runs, strategy=strategy))

    benchmark.group = "determinism: explorer, producer_consumer (4 threads)"
    benchmark.pedantic(explore, rounds=settings.long_rounds, iterations=1)
    assert all(r.ok for r in results), [r.report() for r in results if not r.ok]
    assert all(r.runs == runs for r in results)
    rates = [r.rate for r in results]
    benchmark.extra_info.update(
        kind="explorer",
        workload="explorer: producer_consumer",
        strategy=strategy,
        runs=runs,
        schedules_per_second=statistics.median(rates),
        rates=rates,
    )
