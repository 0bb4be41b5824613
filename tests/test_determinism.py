"""Deterministic mode: same program, input and seed give the same bytes, schedule and trace; virtual time.

Programs: tests/programs/explore/ (sleepers.wat: 200 wasi-threads sleeping; entropy.wat: random bytes,
clocks and a directory listing; the Zig programs built by tools/build_explore_programs.sh).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from wasmroutines.core.determinism import (
    EPOCH_NS,
    DeterministicClock,
    PCTPolicy,
    RandomWalkPolicy,
    Schedule,
    SeededBytes,
    derive_seed,
)
from wasmroutines.core.observe import InstructionCounter
from wasmroutines.core.store import Store
from wasmroutines.core.wat import find_wasm_tools
from wasmroutines.explore import Program, run_program

PROGRAMS = Path(__file__).resolve().parent / "programs" / "explore"

needs_wasm_tools = pytest.mark.skipif(find_wasm_tools() is None, reason="wasm-tools is not installed")


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "wasmroutines", *args], capture_output=True, timeout=120)


# ---- the pieces ----


def test_seeded_bytes_are_a_function_of_the_seed() -> None:
    a, b = SeededBytes(7), SeededBytes(7)
    assert a(5) + a(11) == b(16)  # however the guest splits its reads
    assert SeededBytes(7)(16) != SeededBytes(8)(16)
    assert derive_seed(1, 2, 3) == derive_seed(1, 2, 3) != derive_seed(1, 2, 4)


def test_seeded_bytes_stream_is_pinned() -> None:
    # The stream is part of the format of deterministic runs: it must not change between releases.
    assert SeededBytes(42)(16).hex() == "a081eaf0cff9ec59f98553533a3bccc2"


def test_deterministic_clock_reads_the_epoch_plus_virtual_time() -> None:
    clock = DeterministicClock()
    assert clock.realtime_ns() == EPOCH_NS
    clock.advance(5)
    assert (clock.now_ns(), clock.realtime_ns()) == (5, EPOCH_NS + 5)


def test_schedule_cli_args_round_trip() -> None:
    s = Schedule(12, strategy="pct", depth=2, steps=4000, preempt_shared=True)
    assert s.cli_args() == ["--seed", "12", "--strategy", "pct", "--depth", "2", "--steps", "4000", "--preempt-shared"]
    assert Schedule(3).cli_args() == ["--seed", "3"]
    assert Schedule(3, min_slice=5, max_slice=50).cli_args() == ["--seed", "3", "--slices", "5:50"]
    with pytest.raises(ValueError):
        Schedule(1, strategy="dfs")
    assert Schedule(1).run_seed(0) != Schedule(1).run_seed(1)
    assert Schedule(1).run_seed(5) == Schedule(1).run_seed(5)


def test_policies_validate() -> None:
    counter = InstructionCounter(Store())
    with pytest.raises(ValueError):
        RandomWalkPolicy(1, min_slice=0)
    with pytest.raises(ValueError):
        PCTPolicy(1, depth=0, counter=counter)
    pct = PCTPolicy(5, depth=4, steps=1000, counter=counter)
    assert len(pct.change_points) == 3 and all(1 <= c <= 1000 for c in pct.change_points)
    assert pct.change_points == PCTPolicy(5, depth=4, steps=1000, counter=counter).change_points


# ---- virtual time ----


@needs_wasm_tools
def test_200_sleeping_threads_finish_at_once_in_deadline_order() -> None:
    program = Program.load(str(PROGRAMS / "sleepers.wat"))
    started = time.perf_counter()
    outcome = run_program(program, Schedule(1))
    elapsed = time.perf_counter() - started
    assert outcome.failure is None, outcome.failure and outcome.failure.describe()
    out = outcome.stdout
    assert out[:200] == bytes(range(199, -1, -1))  # thread i slept 200 - i ms: deadline order
    assert int.from_bytes(out[200:204], "little") == 2  # the 1 ms futex wait timed out
    assert int.from_bytes(out[204:212], "little") == 201_000_000  # virtual: 1 ms + 200 ms exactly
    assert elapsed < 1.0, f"200 sleepers took {elapsed:.2f} s of real time"


@needs_wasm_tools
def test_deadlock_detection_stays_exact_under_virtual_time() -> None:
    # A timed wait is not a deadlock (time jumps to its deadline); an untimed one with nobody left is.
    program = Program.load(str(PROGRAMS / "sleepers.wat"))
    assert run_program(program, Schedule(2)).failure is None


# ---- same seed, same bytes ----


@needs_wasm_tools
def test_entropy_follows_the_seed_only() -> None:
    def run(seed: int) -> bytes:
        p = Program.load(str(PROGRAMS / "entropy.wat"), dirs=[(str(PROGRAMS), "/")])
        outcome = run_program(p, Schedule(seed))
        assert outcome.failure is None
        return outcome.stdout

    a, b, c = run(1), run(1), run(2)
    assert a == b
    assert a[:16] != c[:16]  # random_get
    assert a[16:] == c[16:]  # the rest does not depend on the seed
    assert int.from_bytes(a[16:24], "little") == EPOCH_NS  # realtime: the fixed epoch
    assert int.from_bytes(a[24:32], "little") == 0  # monotonic: nothing slept yet
    names = [n for n in _dirent_names(a[32:]) if n not in (b".", b"..")]
    assert names == sorted(names) and b"entropy.wat" in names


def _dirent_names(stream: bytes) -> list[bytes]:
    names = []
    pos = 0
    while pos + 24 <= len(stream):
        namlen = int.from_bytes(stream[pos + 16 : pos + 20], "little")
        names.append(stream[pos + 24 : pos + 24 + namlen])
        pos += 24 + namlen
    return names


def test_same_seed_same_run_different_seeds_different_interleavings() -> None:
    program = Program.load(str(PROGRAMS / "lost_update.wasm"))
    runs = [run_program(program, Schedule(seed, preempt_shared=True)) for seed in (3, 3, 4, 5, 6)]
    first = runs[0]
    assert (first.stdout, first.decisions, first.instructions) == (
        runs[1].stdout,
        runs[1].decisions,
        runs[1].instructions,
    )
    assert len({tuple(r.decisions) for r in runs[1:]}) > 1


def test_run_seed_is_byte_identical_across_processes(tmp_path: Path) -> None:
    prog = str(PROGRAMS / "producer_consumer.wasm")
    runs = [
        _cli("run", "--seed", "11", "--preempt-shared", "--trace", str(tmp_path / f"t{i}.json"), prog) for i in (1, 2)
    ]
    assert runs[0].returncode == runs[1].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout == b"consumed 40 items, sum 60380\n"
    assert runs[0].stderr == runs[1].stderr
    assert (tmp_path / "t1.json").read_bytes() == (tmp_path / "t2.json").read_bytes()


def test_run_seed_reports_a_deadlock_with_every_stack() -> None:
    # Seed chosen by exploring spawn_join (tests/test_explore_programs.py finds such seeds).
    program = Program.load(str(PROGRAMS / "spawn_join.wasm"))
    for seed in range(40):
        outcome = run_program(program, Schedule(seed, preempt_shared=True))
        if outcome.failure is not None and outcome.failure.kind == "deadlock":
            break
    else:
        pytest.fail("no deadlock in 40 seeds")
    result = _cli("run", *Schedule(seed, preempt_shared=True).cli_args(), str(PROGRAMS / "spawn_join.wasm"))
    assert result.returncode == 1
    assert b"deadlock: all 1 threads are blocked" in result.stderr
    assert b"Thread.WasiThreadImpl.join" in result.stderr
