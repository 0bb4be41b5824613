"""The preemption checks' cost on CoreMark (the issue's bar: under 5%): this checkout's C core built with and
without them (preemption.py), each CoreMark run in a fresh process, the two alternating round by round so that a
busy machine slows both alike. The figures go into `extra_info` (kind "preemption"); tools/bench_report.py prints
them under the table."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from .preemption import VARIANTS, BuildFailed, build_variants, probe
from .settings import Settings


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    try:
        return build_variants(tmp_path_factory.mktemp("preemption"))
    except BuildFailed as exc:
        pytest.skip(str(exc))


def test_preemption_cost(benchmark: Any, settings: Settings, programs: Path, variants: dict[str, Path]) -> None:
    scores: dict[str, list[float]] = {name: [] for name in VARIANTS}

    def run() -> None:
        for name, root in variants.items():
            scores[name].append(probe(root, settings.coremark_clock_scale))

    benchmark.group = "preemption checks"
    benchmark.pedantic(run, rounds=settings.long_rounds, iterations=1)
    with_checks, without = statistics.median(scores["checks"]), statistics.median(scores["no checks"])
    # The cost in time: CoreMark's time per iteration with the checks over the time without, less one.
    cost = without / with_checks - 1
    benchmark.extra_info.update(
        kind="preemption", score_checks=with_checks, score_no_checks=without, cost=cost, scores=scores
    )
    assert with_checks > 0 and without > 0
