"""The wasi-threads test programs (tests/programs): Zig std.Thread and freestanding C, each with its exact output.

Built by tools/build_test_programs.py (the .wasm files are committed, so no
toolchain is needed here). Each runs through the CLI (`wasmroutines run
prog.wasm args`) under the default schedule and with `--seed`, and in-process
under several SeededPolicy seeds (each a different interleaving): every one must
print exactly the same. The scale test keeps 10,000 wasm threads alive at once.
"""

from __future__ import annotations

import subprocess

import pytest
from programs.runner import PROGRAMS, WASM, cli, run_program

from wasmroutines import GreenThread, SeededPolicy, Store
from wasmroutines.core._ffi import lib
from wasmroutines.core.determinism import Schedule
from wasmroutines.core.observe import NullObserver
from wasmroutines.core.policy import EXPLORE_SLICES

SEEDS = (1, 2, 3)
SCALE = 10_000
SCALE_OUTPUT = f"spawn_many: {SCALE} threads, {SCALE} alive at once, {SCALE} finished, 0 spawn failures, tids ok\n"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_through_the_cli(name: str) -> None:
    spec = PROGRAMS[name]
    proc = cli(WASM / f"{name}.wasm", *spec["args"], stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stdout.decode()) == (0, spec["stdout"]), proc.stderr.decode(errors="replace")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_through_the_cli_with_a_seed(name: str) -> None:
    """`wasmroutines run --seed N`: a deterministic schedule (the explorer's runner, on WasiThreads)."""
    spec = PROGRAMS[name]
    proc = cli(WASM / f"{name}.wasm", *spec["args"], options=("--seed", "7"), stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stdout.decode()) == (0, spec["stdout"]), proc.stderr.decode(errors="replace")


class RecordingPolicy(SeededPolicy):
    """A SeededPolicy that writes down the schedule it gives: (thread id, slice) at each turn."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.turns: list[tuple[int, int]] = []

    def slice(self, thread: GreenThread) -> int:
        units = super().slice(thread)
        self.turns.append((thread.id, units))
        return units


SCHEDULES = {
    "run": lambda seed: Schedule(seed),
    "explore": lambda seed: Schedule(seed, min_slice=EXPLORE_SLICES[0], max_slice=EXPLORE_SLICES[1]),
    "pct": lambda seed: Schedule(seed, strategy="pct", steps=200_000),
}


@pytest.mark.parametrize("kind", sorted(SCHEDULES))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_schedule_is_the_same_switched_in_the_core_or_in_python(name: str, kind: str) -> None:
    """The C core switches threads itself in a seeded run (wr_exec.h, Switching), Python when the run is
    observed (--trace, --record, the explorer) or told to: the same decisions and instruction counts every
    way, so a replay command reproduces what the explorer saw."""
    spec = PROGRAMS[name]
    runs = []
    for how in ("core", "python", "observed"):
        store = Store(policy=SCHEDULES[kind](5).policy(log=True))
        store.scheduler.core_switching = how == "core"
        if how == "observed":
            store.scheduler.observer = NullObserver()
        code, out, _ = run_program(WASM / f"{name}.wasm", args=[name, *spec["args"]], store=store)
        assert (code, out.decode()) == (0, spec["stdout"])
        runs.append((store.scheduler.policy.decisions, lib.wr_api_store_ran(store._native.ptr)))  # type: ignore[attr-defined]
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0][0]) > 2  # a schedule with decisions to compare


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_under_seeded_schedules(name: str) -> None:
    spec = PROGRAMS[name]
    schedules = set()
    for seed in SEEDS:
        policy = RecordingPolicy(seed)
        code, out, threads = run_program(WASM / f"{name}.wasm", args=[name, *spec["args"]], store=Store(policy=policy))
        assert (code, out.decode()) == (0, spec["stdout"]), seed
        assert threads.scheduler.alive == []
        assert len({tid for tid, _ in policy.turns}) == threads.spawned + 1, seed  # every thread had turns
        schedules.add(tuple(policy.turns))
    # The same output from as many interleavings as seeds, not one interleaving run again.
    assert len(schedules) == len(SEEDS)


def test_10000_live_threads() -> None:
    """10,000 wasm threads alive at once (each waits until main has seen them all), all run to completion."""
    code, out, threads = run_program(WASM / "c_spawn_many.wasm", args=["spawn_many", str(SCALE)])
    assert (code, out.decode()) == (0, SCALE_OUTPUT)
    assert threads.spawned == SCALE and threads.scheduler.alive == []


@pytest.mark.parametrize("options", [(), ("--seed", "1")], ids=["default", "seeded"])
def test_10000_live_threads_through_the_cli(options: tuple[str, ...]) -> None:
    proc = cli(WASM / "c_spawn_many.wasm", str(SCALE), options=options, stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stdout.decode()) == (0, SCALE_OUTPUT), proc.stderr.decode(errors="replace")
