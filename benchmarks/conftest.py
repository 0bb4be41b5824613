"""pytest options and fixtures of the benchmarks (`pytest benchmarks`; a bare `pytest` collects tests/ and the
report's own tests, benchmarks/test_report.py, only)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from .machine import machine_info
from .paths import BENCH, MICRO_WAT, WASM3_PROGRAMS
from .peers import PEERS, SUBJECT
from .settings import MODES, Settings
from .workloads import COREMARK_ID, CallWorkload, CommandWorkload

#: per test: table, workload, peer, outcome ("passed", "failed", "skipped") and why; saved into the JSON for the report
OUTCOMES = pytest.StashKey[dict[str, dict[str, str]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wasmroutines benchmarks")
    group.addoption(
        "--bench-mode",
        choices=sorted(MODES),
        default="full",
        help="quick: fewer rounds, CoreMark on a 20x clock, no long programs; full: everything (default)",
    )
    group.addoption(
        "--bench-clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: time rounds by the process's CPU time (default; steady on a shared machine); wall: perf_counter",
    )
    group.addoption(
        "--bench-peers",
        default="",
        help="comma-separated peers to measure (default: all): wasmroutines,wasm3,wasmtime,pywasm",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {p for p in str(config.getoption("--bench-peers")).split(",") if p}
    if not wanted:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        peer = callspec.params.get("peer_name") if callspec else None
        (keep if peer is None or peer in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", autouse=True)
def _close_peers() -> Generator[None, None, None]:
    yield
    for peer in PEERS:
        peer.close()
    gc.collect()


@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest) -> Settings:
    return MODES[str(request.config.getoption("--bench-mode"))]


@pytest.fixture(scope="session")
def clock(request: pytest.FixtureRequest) -> Callable[[], float]:
    """The run's clock, for the figures a test times itself (--bench-clock: process CPU time or perf_counter)."""
    return time.process_time if request.config.getoption("--bench-clock") == "cpu" else time.perf_counter


@pytest.fixture(scope="session")
def programs() -> Path:
    if not BENCH.is_dir():  # without them the suite measures nothing the bar needs: a failure, not a skip
        pytest.fail(f"the benchmark programs are not there: {BENCH} (set WASMROUTINES_SHARED)")
    return WASM3_PROGRAMS


@pytest.fixture(scope="session")
def micro_wasm() -> bytes:
    """micro.wat compiled by the project's own wat2wasm (wasm-tools)."""
    if not MICRO_WAT.is_file():
        pytest.fail(f"micro.wat is not there: {MICRO_WAT} (set WASMROUTINES_SHARED)")
    from wasmroutines import wat2wasm

    return wat2wasm(MICRO_WAT.read_text())


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES] = {}
    # before pytest-benchmark reads its timer; an explicit --benchmark-timer other than its default still wins
    if config.getoption("--bench-clock") == "cpu" and config.option.benchmark_timer == "time.perf_counter":
        config.option.benchmark_timer = "time.process_time"


def _subject(item: pytest.Item) -> dict[str, str]:
    """What a test measures, for the report: its table ("peers", "threads" or "other"), workload and peer. A test
    without a peer parameter measures Wasmroutines alone (determinism, preemption checks)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    peer = str(params.get("peer_name", SUBJECT))
    workload = params.get("workload")
    if isinstance(workload, CallWorkload | CommandWorkload):
        return {"table": "peers", "workload": workload.id, "peer": peer}
    if getattr(item, "originalname", None) == "test_coremark_minimal":
        return {"table": "peers", "workload": COREMARK_ID, "peer": peer}
    if isinstance(workload, str):  # test_threads.py: the threading table's rows
        return {"table": "threads", "workload": workload, "peer": peer}
    return {"table": "other", "workload": item.name, "peer": peer}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Every test's outcome goes into the JSON: the report fails when a test of our own failed, and says why a cell
    is missing."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "call" and report.passed:
        return
    reason = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.failed:
        text = report.longreprtext.strip()
        reason = (f"{report.when}: " if report.when != "call" else "") + (text.splitlines()[-1] if text else "failed")
    outcomes = item.config.stash[OUTCOMES]
    if outcomes.get(item.nodeid, {}).get("outcome") in ("failed", "skipped"):
        return  # keep the first problem (a teardown error must not hide a failed call)
    outcomes[item.nodeid] = {**_subject(item), "outcome": report.outcome, "reason": reason, "nodeid": item.nodeid}


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["wasmroutines_bench"] = _machine_info_with_mode(config)


def _machine_info_with_mode(config: pytest.Config) -> dict[str, object]:
    info = machine_info()
    info["mode"] = str(config.getoption("--bench-mode"))
    info["timer"] = str(config.option.benchmark_timer)
    return info


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    output_json["wasmroutines_outcomes"] = list(config.stash[OUTCOMES].values())
