"""Deterministic runs and the schedule explorer: find the interleavings that break a multithreaded wasm program.

    from wasmroutines.explore import Program, explore_program
    result = explore_program(Program.load("prog.wasm"), runs=1000, strategy="pct")
    print(result.report())          # each distinct failure once, with a replay command

    def body(store):                # a concurrency test of wasm called from Python
        inst = Instance(store, module)
        workers = [spawn(inst.exports.work, i) for i in range(4)]
        for w in workers:
            join(w)
        return inst.exports.total()
    assert explore_function(body, runs=500, expect=400).ok

    with dask_executor("local:2") as executor:   # or Client(...).get_executor(): any Executor
        result = explore_program(Program.load("prog.wasm"), runs=100_000, executor=executor)

Modules: runner.py (one run and how it ended), explorer.py (many runs,
deduplicated failures, progress), distribute.py (runs in batches on an
Executor or the explorer's own process pool; processes that die),
cluster.py (Dask, the optional extra `cluster`), and the scheduling
strategies in core/determinism.py. The pytest plugin (wasmroutines/pytest_plugin.py)
wraps explore_function as a fixture.
"""

from __future__ import annotations

from ..core.determinism import Schedule
from .cluster import ClusterUnavailable, dask_executor
from .explorer import (
    CannotRun,
    Exploration,
    FoundFailure,
    explore_function,
    explore_program,
    replay_function,
    schedule_from_text,
    schedule_to_text,
)
from .runner import DEFAULT_FUEL, Failure, Hang, Outcome, Program, run_function, run_program, run_program_async

__all__ = [
    "DEFAULT_FUEL",
    "CannotRun",
    "ClusterUnavailable",
    "Exploration",
    "Failure",
    "FoundFailure",
    "Hang",
    "Outcome",
    "Program",
    "Schedule",
    "dask_executor",
    "explore_function",
    "explore_program",
    "replay_function",
    "run_function",
    "run_program",
    "run_program_async",
    "schedule_from_text",
    "schedule_to_text",
]
