"""pytest options and fixtures of the benchmarks (`pytest benchmarks`; a bare `pytest` collects tests/ only)."""

from __future__ import annotations

import gc
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .machine import machine_info
from .paths import BENCH, MICRO_WAT, WASM3_PROGRAMS
from .peers import PEERS
from .settings import MODES, Settings
from .workloads import COREMARK_ID, CallWorkload, CommandWorkload

#: per test: workload, peer, outcome ("passed", "failed", "skipped") and why; saved into the JSON for the report
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
def programs() -> Path:
    if not BENCH.is_dir():
        pytest.skip(f"the benchmark programs are not there: {BENCH}")
    return WASM3_PROGRAMS


@pytest.fixture(scope="session")
def micro_wasm() -> bytes:
    """micro.wat compiled by the project's own wat2wasm (wasm-tools)."""
    if not MICRO_WAT.is_file():
        pytest.skip(f"micro.wat is not there: {MICRO_WAT}")
    from wasmroutines import wat2wasm

    return wat2wasm(MICRO_WAT.read_text())


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES] = {}
    # before pytest-benchmark reads its timer; an explicit --benchmark-timer other than its default still wins
    if config.getoption("--bench-clock") == "cpu" and config.option.benchmark_timer == "time.perf_counter":
        config.option.benchmark_timer = "time.process_time"


def _cell(item: pytest.Item) -> tuple[str, str] | None:
    """The (workload, peer) cell of the peers table a test fills, None for tests outside that table."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "peer_name" not in callspec.params:
        return None
    peer = str(callspec.params["peer_name"])
    workload = callspec.params.get("workload")
    if isinstance(workload, CallWorkload | CommandWorkload):
        return workload.id, peer
    if isinstance(workload, str):  # test_threads.py: the threading table's rows
        return workload, peer
    if getattr(item, "originalname", None) == "test_coremark_minimal":
        return COREMARK_ID, peer
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    cell = _cell(item)
    if cell is None or (report.when != "call" and report.passed):
        return
    reason = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.failed:
        reason = report.longreprtext.strip().splitlines()[-1] if report.longreprtext.strip() else "failed"
    outcomes = item.config.stash[OUTCOMES]
    if outcomes.get(item.nodeid, {}).get("outcome") in ("failed", "skipped"):
        return  # keep the first problem (a teardown error must not hide a failed call)
    outcomes[item.nodeid] = {"workload": cell[0], "peer": cell[1], "outcome": report.outcome, "reason": reason}


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["wasmroutines_bench"] = _machine_info_with_mode(config)


def _machine_info_with_mode(config: pytest.Config) -> dict[str, object]:
    info = machine_info()
    info["mode"] = str(config.getoption("--bench-mode"))
    info["timer"] = str(config.option.benchmark_timer)
    return info


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    output_json["wasmroutines_outcomes"] = list(config.stash[OUTCOMES].values())
