"""Exploring on Dask (issue 20): schedules per second on 1 and 2 Dask workers and with `--jobs 2`.

Two programs: producer_consumer.wasm (4 threads of a few thousand instructions each, about 36,000 in all: a run
takes milliseconds, so per-task overhead shows) and c_spin.wasm with 4 threads and 10^6 steps (about 3.5 million
instructions per thread, 14 million in all: a run takes tens of milliseconds, so the work dominates). Each round
explores each program once per mode, in turns (which mode goes first rotates): `here` (`--jobs 1`, in-process),
`jobs-2` (the explorer's own pool of 2 forked processes), `dask-1` and `dask-2` (a LocalCluster of 1 or 2 worker
processes of one thread; the clusters start before the rounds, outside the figures). The figure is the explorer's
own rate: schedules over its wall-clock time, its calibration run (in the client's process) and the batches' travel
included; the figure of a mode is the median over the rounds (3). Every exploration must find no failure against
the program's exact output and run all its schedules. Kept beside each figure: the share of the machine's CPU time
(all CPUs) that other processes took during that exploration, since on a shared machine other work takes the cores
the workers would use; a round in which it was over 15% in one mode is run again (DISTURBED, ATTEMPTS).

The 2-worker figure is bounded by the machine: on a 2-core machine, the client, the Dask scheduler (both in this
process) and the two workers share the 2 cores. tools/bench_report.py prints the machine beside it.

Run: pytest benchmarks/test_cluster.py (needs the `cluster` extra, which `.[bench]` includes).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import psutil  # a dependency of distributed
import pytest

from wasmroutines.explore import Program, explore_program

from .paths import ROOT
from .settings import Settings

TESTS = ROOT / "tests" / "programs"


@dataclass(frozen=True)
class ClusterWorkload:
    id: str
    program: str
    args: tuple[str, ...]
    stdout: bytes
    runs: int  # schedules per exploration, quick mode
    runs_full: int


SMALL = ClusterWorkload(
    "small", "explore/producer_consumer.wasm", (), b"consumed 40 items, sum 60380\n", runs=1500, runs_full=3000
)
LARGE = ClusterWorkload(
    "large",
    "wasm/c_spin.wasm",
    ("4", "1000000"),
    b"spin: 4 threads x 250000 steps, counters sum 1000000\n",
    runs=120,
    runs_full=240,
)
MODES = ("here", "jobs-2", "dask-1", "dask-2")
#: A round in which other processes took more than this share of the machine's CPU time during one of its
#: explorations is run again, up to ATTEMPTS times in all (the last is kept, whatever it measured): on a shared
#: machine another session's test suite can take a core from the workers for minutes. The report says how many.
DISTURBED = 0.15
ATTEMPTS = 4


@pytest.fixture(scope="module")
def clusters() -> Iterator[dict[str, Executor]]:
    try:
        import distributed  # noqa: F401
    except ImportError:  # ours to measure: a failure, not a skip
        pytest.fail("Dask's distributed is not installed: pip install -e '.[bench]' (or '.[cluster]')")
    from wasmroutines.explore.cluster import dask_executor

    with dask_executor("local:1") as one, dask_executor("local:2") as two:
        yield {"dask-1": one, "dask-2": two}


@pytest.mark.parametrize("workload", [SMALL, LARGE], ids=lambda w: w.id)
def test_cluster_rate(
    benchmark: Any, settings: Settings, clusters: dict[str, Executor], workload: ClusterWorkload
) -> None:
    program = Program.load(str(TESTS / workload.program), list(workload.args))
    runs = workload.runs_full if settings.full_only else workload.runs
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    others: dict[str, list[float]] = {mode: [] for mode in MODES}
    disturbed: list[dict[str, float]] = []  # rounds run again: what other processes took in each mode
    order = list(MODES)

    def explore(mode: str) -> tuple[float, float]:
        """The explorer's rate, and the share of the machine other processes took meanwhile."""
        where: dict[str, Any] = {"jobs": 2} if mode == "jobs-2" else {"executor": clusters.get(mode)}
        busy, ours, t0 = _machine_busy(), _our_cpu(), time.perf_counter()
        result = explore_program(program, runs=runs, expect_stdout=workload.stdout, **where)
        wall = time.perf_counter() - t0
        other = (_machine_busy() - busy) - (_our_cpu() - ours)  # all CPUs' busy time less this process tree's
        assert result.ok and result.runs == runs, result.report()
        return result.rate, max(0.0, other) / (wall * (os.cpu_count() or 1))

    def one_round() -> None:
        for attempt in range(ATTEMPTS):
            measured = {mode: explore(mode) for mode in order}
            shares = {mode: share for mode, (_, share) in measured.items()}
            if max(shares.values()) <= DISTURBED or attempt == ATTEMPTS - 1:
                break
            disturbed.append(shares)
        for mode, (rate, share) in measured.items():
            rates[mode].append(rate)
            others[mode].append(share)
        order.append(order.pop(0))

    benchmark.group = f"cluster: explorer on {workload.program}"
    benchmark.pedantic(one_round, rounds=settings.long_rounds, iterations=1)
    medians = {mode: statistics.median(values) for mode, values in rates.items()}
    benchmark.extra_info.update(
        kind="cluster",
        workload=workload.id,
        program=f"{workload.program} {' '.join(workload.args)}".strip(),
        runs=runs,
        schedules_per_second=medians,
        rates=rates,
        others=others,
        disturbed=disturbed,
    )


def _machine_busy() -> float:
    """CPU seconds all CPUs of the machine spent not idle, since boot."""
    times = psutil.cpu_times()
    return float(sum(times)) - times.idle - getattr(times, "iowait", 0.0)


def _our_cpu() -> float:
    """CPU seconds of this process and its children: the workers alive, and those reaped (a pool shut down)."""
    me = psutil.Process()
    mine = me.cpu_times()
    total = mine.user + mine.system + mine.children_user + mine.children_system
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:  # reaped since: counted in children_* next time
            continue
        total += times.user + times.system
    return float(total)
