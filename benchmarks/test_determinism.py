"""What deterministic mode and the explorer cost (the determinism issue's bars).

- mandelbrot (a compute-bound WASI command) in the default mode and in deterministic mode (a seed:
  the random-walk policy, virtual clocks, seeded random_get, the instruction counter): the bar is
  at most 10% more time; `deterministic+shared` also preempts at shared-memory accesses (the
  explorer's mode; mandelbrot's memory is not shared, so only the bookkeeping shows).
- the explorer on producer_consumer.wasm (four threads, a few thousand instructions each): the bar
  is 200 schedules/s; `extra_info` records the rate of each strategy.

Run: pytest benchmarks/test_determinism.py (the group names say which row is which).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wasmroutines.explore import Program, Schedule, explore_program, run_program

from .settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXPLORE_PROGRAMS = ROOT / "tests" / "programs" / "explore"
MANDEL_SHA1 = "37091e7ce96adeea88f079ad95d239a651308a56"

MODES = {
    "default": None,
    "deterministic": Schedule(1),
    "deterministic+shared": Schedule(1, preempt_shared=True),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_deterministic_mode_cost(benchmark: Any, settings: Settings, programs: Path, mode: str) -> None:
    import hashlib

    program = Program.load(str(programs / "mandelbrot" / "mandel.wasm"), ["128", "4e5"])
    schedule = MODES[mode]
    outcomes = []

    def run() -> None:
        outcomes.append(run_program(program, schedule, fuel=None))

    benchmark.group = "determinism: mandelbrot 128 4e5"
    benchmark.extra_info.update(mode=mode)
    benchmark.pedantic(run, rounds=settings.rounds, iterations=1)
    for o in outcomes:
        assert o.failure is None and o.exit_code == 0
        assert hashlib.sha1(o.stdout).hexdigest() == MANDEL_SHA1


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_explorer_rate(benchmark: Any, strategy: str) -> None:
    program = Program.load(str(EXPLORE_PROGRAMS / "producer_consumer.wasm"))
    runs = 200
    results = []

    def explore() -> None:
        results.append(explore_program(program, runs=runs, strategy=strategy))

    benchmark.group = "determinism: explorer, producer_consumer (4 threads)"
    benchmark.pedantic(explore, rounds=3, iterations=1)
    assert all(r.ok for r in results)
    rate = max(r.rate for r in results)
    benchmark.extra_info.update(strategy=strategy, runs=runs, schedules_per_second=round(rate))
