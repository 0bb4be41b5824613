"""Exploring on Dask (src/wasmroutines/explore/cluster.py): a LocalCluster of 2 worker processes gives the report of
`--jobs 1`; workers that die have their runs redone, and a run that kills its process is a crash of its schedule.

Needs the optional extra `cluster` (Dask's distributed): skipped locally without it, failing in CI, which
installs it (tests/conftest.py, needs_extra)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

import pytest
from conftest import needs_extra
from explore_elsewhere import (
    EXPECT,
    LOST_UPDATE,
    PROGRAMS,
    RIGHT,
    RUNS,
    SEED,
    counting_body,
    crashes_as_expected,
    reference,
    same_exploration,
)

from wasmroutines.explore import Program, explore_function, explore_program
from wasmroutines.explore.cluster import dask_executor, parse_address

pytestmark = needs_extra("distributed", "cluster")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Executor]:
    """One LocalCluster for the module: 2 worker processes of one thread (starting one takes seconds)."""
    with dask_executor("local:2") as executor:
        yield executor


def _explore_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wasmroutines", "explore", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _untimed(report: str) -> str:
    return re.sub(r" in \d+\.\d s \([\d.e+]+/s\)", "", report, count=1)


@pytest.mark.parametrize("program", ["lock_order.wasm", "spawn_join.wasm"])
def test_a_2_worker_cluster_gives_the_report_of_jobs_1(program: str) -> None:
    path = str(PROGRAMS / program)
    here = _explore_cli("--runs", "400", "--jobs", "1", path)
    assert here.returncode == 1 and "deadlock, in " in here.stdout, here.stdout + here.stderr  # a bug to report
    there = _explore_cli("--runs", "400", "--dask", "local:2", path)
    assert there.returncode == 1, there.stderr
    assert _untimed(there.stdout) == _untimed(here.stdout)
    assert _untimed(_explore_cli("--runs", "400", "--jobs", "2", path).stdout) == _untimed(here.stdout)


def test_the_python_api_takes_the_cluster_executor(cluster: Executor) -> None:
    program = Program.load(LOST_UPDATE)
    here = explore_program(program, runs=300, expect_stdout=EXPECT)
    assert here.failures and here.failures[0].count < 300
    there = explore_program(program, runs=300, expect_stdout=EXPECT, executor=cluster, batch=8)
    assert same_exploration(there) == same_exploration(here)
    pct = explore_program(program, runs=100, strategy="pct", expect_stdout=EXPECT, executor=cluster)
    assert same_exploration(pct) == same_exploration(
        explore_program(program, runs=100, strategy="pct", expect_stdout=EXPECT)
    )


def test_max_failures_cancels_the_rest(cluster: Executor) -> None:
    program = Program.load(LOST_UPDATE)
    # 300 tasks, at most 256 in flight (distribute.WINDOW): the stop comes before the last 44 are even sent.
    result = explore_program(program, runs=6000, expect_stdout=EXPECT, executor=cluster, batch=20, max_failures=2)
    assert result.stopped and result.failures[0].count >= 2 and result.runs < 6000


def test_a_worker_that_dies_mid_batch_has_its_runs_redone(cluster: Executor, tmp_path: Path) -> None:
    ref, _ = reference()
    marker = tmp_path / "died"
    body = counting_body(low="raise", marker=str(marker))
    result = explore_function(body, runs=RUNS, seed=SEED, expect=RIGHT, executor=cluster, batch=8)
    assert marker.exists()  # a worker did die
    assert [(f.failure.key, f.runs) for f in result.failures] == [(f.failure.key, f.runs) for f in ref.failures]


def test_a_run_that_kills_its_worker_is_a_crash_not_a_lost_batch(cluster: Executor) -> None:
    ref, crashing = reference()
    result = explore_function(counting_body(low="exit"), runs=RUNS, seed=SEED, expect=RIGHT, executor=cluster, batch=8)
    crashes_as_expected(result, ref, crashing)


def test_dask_addresses() -> None:
    assert parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.1:8786") == ("tcp://10.0.0.1:8786", None)
    for bad in ("local:0", "local:", "local:x"):
        with pytest.raises(ValueError, match="local:N"):
            parse_address(bad)
    result = _explore_cli("--dask", "local:0", str(PROGRAMS / "lock_order.wasm"))
    assert result.returncode == 2 and "local:N" in result.stderr
    both = _explore_cli("--dask", "local:1", "--jobs", "2", str(PROGRAMS / "lock_order.wasm"))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
