"""pytest plugin: the `wasm_explore` fixture, concurrency tests of wasm code under many schedules.

    from wasmroutines import Instance, Module, join, spawn

    def test_counter(wasm_explore):
        module = Module(WASM)
        def body(store):                    # one run, on a fresh Store
            inst = Instance(store, module)
            workers = [spawn(inst.exports.work, i) for i in range(4)]
            for w in workers:
                join(w)
            return inst.exports.total()     # compared across runs (and with `expect`)
        wasm_explore(body, runs=500, expect=400)

A failing exploration fails the test with the explorer's report: each
distinct failure once (deadlock, trap, hang, exception, wrong or differing
result) with every thread's stack and the line that replays it:

    WASMROUTINES_SCHEDULE='seed=...,strategy=...' pytest 'tests/test_x.py::test_counter'

With that variable set, `wasm_explore` runs just that schedule and lets its
failure raise where it happens (for a debugger). Options: --explore-runs
(every call's run count), --explore-seed, --explore-strategy, --explore-jobs.

Registered through the `pytest11` entry point of the wasmroutines package;
without the package installed, load it with `-p wasmroutines.pytest_plugin`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from typing import Any

import pytest

from .core.determinism import STRATEGIES
from .core.store import Store
from .explore.explorer import Exploration, explore_function, replay_function, schedule_from_text, schedule_to_text
from .explore.runner import DEFAULT_FUEL

__all__ = ["ENV_SCHEDULE", "WasmExplore"]

#: The environment variable that makes `wasm_explore` replay one schedule.
ENV_SCHEDULE = "WASMROUTINES_SCHEDULE"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wasmroutines", "schedule exploration (wasm_explore fixture)")
    group.addoption("--explore-runs", type=int, default=None, help="schedules per wasm_explore call (overrides)")
    group.addoption("--explore-seed", type=int, default=None, help="the explorations' seed (default: each call's)")
    group.addoption("--explore-strategy", choices=STRATEGIES, default=None, help="random or pct (overrides)")
    group.addoption("--explore-jobs", type=int, default=None, help="worker processes per exploration")


class WasmExplore:
    """The `wasm_explore` fixture's value: call it with a test body; see the module docstring."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self.last: Exploration | None = None

    def __call__(
        self,
        body: Callable[[Store], Any],
        *,
        runs: int = 200,
        strategy: str = "random",
        seed: int = 0,
        depth: int = 3,
        steps: int | None = None,
        preempt_shared: bool = True,
        jobs: int = 1,
        fuel: int | None = None,
        expect: Any = None,
    ) -> Exploration | None:
        opt = self._request.config.getoption
        replay = os.environ.get(ENV_SCHEDULE)
        if replay:
            # A replayed hang must end too: the explorer's default budget unless one was given.
            value = replay_function(body, schedule_from_text(replay), fuel=DEFAULT_FUEL if fuel is None else fuel)
            if expect is not None:
                assert value == expect, f"{value!r} != expected {expect!r}"
            return None
        result = explore_function(
            body,
            runs=opt("--explore-runs") or runs,
            strategy=opt("--explore-strategy") or strategy,
            seed=seed if opt("--explore-seed") is None else opt("--explore-seed"),
            depth=depth,
            steps=steps,
            preempt_shared=preempt_shared,
            jobs=opt("--explore-jobs") or jobs,
            fuel=fuel,
            expect=expect,
        )
        self.last = result
        if not result.ok:
            pytest.fail(self._report(result), pytrace=False)
        return result

    def _report(self, result: Exploration) -> str:
        node = self._request.node.nodeid
        lines = [result.report(), "", "replay a failure alone (its failure then raises where it happens):"]
        for i, f in enumerate(result.failures, 1):
            env = f"{ENV_SCHEDULE}={shlex.quote(schedule_to_text(f.schedule))}"
            lines.append(f"  failure {i}: {env} pytest {shlex.quote(node)}")
        return "\n".join(lines)


@pytest.fixture
def wasm_explore(request: pytest.FixtureRequest) -> WasmExplore:
    """Explore a concurrency test body under many schedules; fail the test with the report and replay lines."""
    return WasmExplore(request)
