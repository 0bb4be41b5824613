"""The explorer's Python API and pytest plugin, on wasm functions spawned from Python (no WASI needed).

The Zig programs of the issue (through `wasmroutines explore` and explore_program) are in
test_explore_programs.py.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmroutines import Instance, Module, Store, join, spawn
from wasmroutines.core.wat import wat2wasm
from wasmroutines.explore import (
    Program,
    Schedule,
    explore_function,
    explore_program,
    replay_function,
    run_function,
    schedule_from_text,
    schedule_to_text,
)

pytest_plugins = ["pytester"]

PROGRAMS = Path(__file__).resolve().parent.parent / "programs" / "explore"

# `racy_inc` loads the counter, calls $work (a call: a preemption point even without preemption at
# shared accesses), stores it plus one: a switch in between loses an update. `atomic_inc` cannot.
# `ab`/`ba` take two futex locks in opposite orders; `spin` never ends; `boom` traps.
COUNTERS = """
(module
  (memory (export "mem") 1 1 shared)
  (func $work)
  (func $lock (param $a i32)
    (loop $retry
      (if (i32.atomic.rmw.cmpxchg (local.get $a) (i32.const 0) (i32.const 1))
        (then
          (drop (memory.atomic.wait32 (local.get $a) (i32.const 1) (i64.const -1)))
          (br $retry)))))
  (func $unlock (param $a i32)
    (i32.atomic.store (local.get $a) (i32.const 0))
    (drop (memory.atomic.notify (local.get $a) (i32.const 1))))
  (func (export "racy_inc") (param $n i32)
    (local $v i32)
    (loop $l
      (local.set $v (i32.load (i32.const 16)))
      (call $work)
      (i32.store (i32.const 16) (i32.add (local.get $v) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "atomic_inc") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 16) (i32.const 1)))
      (call $work)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "ab")
    (call $lock (i32.const 0)) (call $lock (i32.const 4)) (call $unlock (i32.const 4)) (call $unlock (i32.const 0)))
  (func (export "ba")
    (call $lock (i32.const 4)) (call $lock (i32.const 0)) (call $unlock (i32.const 0)) (call $unlock (i32.const 4)))
  (func $spin (export "spin") (loop $forever (br $forever)))
  (func (export "boom") (unreachable))
  (func (export "count") (result i32) (i32.atomic.load (i32.const 16))))
"""


@pytest.fixture(scope="module")
def counters() -> Module:
    return Module(wat2wasm(COUNTERS))


def _incrementers(module: Module, export: str, threads: int = 3, n: int = 10) -> Callable[[Store], Any]:
    def body(store: Store) -> int:
        inst = Instance(store, module)
        workers = [spawn(inst.exports[export], n) for _ in range(threads)]
        for w in workers:
            join(w)
        return int(inst.exports.count())

    return body


def test_explore_function_finds_a_lost_update(counters: Module) -> None:
    result = explore_function(_incrementers(counters, "racy_inc"), runs=300, expect=30)
    assert not result.ok
    (found,) = result.failures
    assert found.failure.kind == "output"
    assert found.stdout != b"30"
    # The schedule alone reproduces it.
    assert run_function(_incrementers(counters, "racy_inc"), found.schedule).stdout == found.stdout
    assert "replay_function" in found.replay and "WASMROUTINES_SCHEDULE=" in found.replay


def test_explore_function_passes_a_correct_program(counters: Module) -> None:
    for strategy in ("random", "pct"):
        result = explore_function(_incrementers(counters, "atomic_inc"), runs=200, strategy=strategy, expect=30)
        assert result.ok, result.report()
        assert result.outputs == {b"30": 200}


def test_lock_order_deadlock_with_every_stack(counters: Module) -> None:
    def body(store: Store) -> None:
        inst = Instance(store, counters)
        a, b = spawn(inst.exports.ab), spawn(inst.exports.ba)
        join(a)
        join(b)

    result = explore_function(body, runs=500, strategy="pct")
    assert [f.failure.kind for f in result.failures] == ["deadlock"], result.report()
    failure = result.failures[0].failure
    waiting = [t for t in failure.threads if t.state == "waiting"]
    assert len(waiting) == 2
    assert all(t.frames and t.frames[0].func_index == 1 for t in waiting)  # both in $lock
    with pytest.raises(AssertionError, match="deadlock"):
        replay_function(body, result.failures[0].schedule)


def test_hang_and_trap_are_failures_with_stacks(counters: Module) -> None:
    def spinning(store: Store) -> None:
        inst = Instance(store, counters)
        join(spawn(inst.exports.spin))

    result = explore_function(spinning, runs=3, fuel=200_000)
    (found,) = result.failures
    assert found.failure.kind == "hang" and found.count == 3
    spinner = [t for t in found.failure.threads if t.id == 1]
    assert spinner and spinner[0].frames[0].func_name == "spin"

    def trapping(store: Store) -> None:
        inst = Instance(store, counters)
        join(spawn(inst.exports.boom))

    (found,) = explore_function(trapping, runs=3).failures
    assert found.failure.kind == "trap" and found.failure.message == "unreachable"


def _lost_updates(outputs: dict[bytes, int], runs: int, right: int) -> int:
    """Assert every run printed a count (its last word) of at most `right`: updates are lost, never made up.
    Return how many runs printed less."""
    counts = {int(out.split()[-1]): n for out, n in outputs.items()}
    assert sum(counts.values()) == runs and all(0 < c <= right for c in counts), outputs
    return runs - counts.get(right, 0)


def test_an_exploration_is_reproducible(counters: Module) -> None:
    body = _incrementers(counters, "racy_inc")
    a = explore_function(body, runs=60, seed=5, expect=30)
    b = explore_function(body, runs=60, seed=5, expect=30)
    # Something to reproduce: the lost update, grouped as one failure that counts every run short of 30.
    (found,) = a.failures
    assert found.failure.kind == "output" and int(found.stdout) < 30
    assert found.count == _lost_updates(a.outputs, 60, 30) > 0
    key = [(f.run, f.count, f.schedule, f.stdout, f.failure) for f in a.failures]
    assert key == [(f.run, f.count, f.schedule, f.stdout, f.failure) for f in b.failures]
    assert a.outputs == b.outputs


def test_jobs_give_the_same_exploration() -> None:
    program = Program.load(str(PROGRAMS / "lost_update.wasm"))
    one = explore_program(program, runs=64, jobs=1, expect_stdout=b"counter 200\n")
    two = explore_program(program, runs=64, jobs=2, expect_stdout=b"counter 200\n")
    # Something to compare: lost updates (4 threads x 50 increments print less than 200), one failure.
    (found,) = one.failures
    assert found.failure.key == "output: output differs from the expected" and found.exit_code == 0
    assert found.stdout.startswith(b"counter ") and int(found.stdout.split()[1]) < 200
    assert found.count == _lost_updates(one.outputs, 64, 200) > 0
    assert all(out.startswith(b"counter ") and out.endswith(b"\n") for out in one.outputs)
    key = [(f.run, f.count, f.failure.key, f.stdout, f.schedule) for f in one.failures]
    assert key == [(f.run, f.count, f.failure.key, f.stdout, f.schedule) for f in two.failures]
    assert one.outputs == two.outputs


def test_schedule_text_round_trip() -> None:
    s = Schedule(77, strategy="pct", depth=2, steps=900, preempt_shared=True)
    assert schedule_from_text(schedule_to_text(s)) == s
    with pytest.raises(ValueError):
        schedule_from_text("strategy=pct")


# ---- the pytest plugin ----


def _plugin_args() -> list[str]:
    return ["-p", "wasmroutines.pytest_plugin"]  # opt-in: no pytest11 entry point


def test_the_plugin_is_opt_in() -> None:
    # Not loaded into every pytest session of the environment (it would import the runtime there).
    names = [ep.value for ep in importlib.metadata.entry_points(group="pytest11")]
    assert "wasmroutines.pytest_plugin" not in names


PLUGIN_TEST = f"""
from wasmroutines import Instance, Module, join, spawn
from wasmroutines.core.wat import wat2wasm

MODULE = Module(wat2wasm({COUNTERS!r}))


def body_of(export):
    def body(store):
        inst = Instance(store, MODULE)
        workers = [spawn(inst.exports[export], 10) for _ in range(3)]
        for w in workers:
            join(w)
        return inst.exports.count()
    return body


def test_racy(wasm_explore):
    wasm_explore(body_of("racy_inc"), runs=200, expect=30)


def test_atomic(wasm_explore):
    wasm_explore(body_of("atomic_inc"), runs=50, expect=30)
"""


def test_plugin_fails_a_racy_test_with_a_replay_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_counter=PLUGIN_TEST)
    result = pytester.runpytest(*_plugin_args())
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*failure 1 of 1: output*", "*WASMROUTINES_SCHEDULE=*test_counter.py::test_racy*"])
    line = next(x for x in result.stdout.lines if x.strip().startswith("failure 1: WASMROUTINES_SCHEDULE="))
    schedule = line.split("WASMROUTINES_SCHEDULE=", 1)[1].split(" pytest", 1)[0].strip("'")
    # The printed schedule, alone, fails the same way.
    monkeypatch.setenv("WASMROUTINES_SCHEDULE", schedule)
    again = pytester.runpytest(*_plugin_args(), "test_counter.py::test_racy")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*AssertionError*!= expected 30*"])


HANG_TEST = """
from wasmroutines import Instance, Module, join, spawn
from wasmroutines.core.wat import wat2wasm

MODULE = Module(wat2wasm('(module (func (export "spin") (loop $l (br $l))))'))


def test_spins(wasm_explore):
    def body(store):
        join(spawn(Instance(store, MODULE).exports.spin))

    wasm_explore(body, runs=1)
"""


def test_plugin_replay_of_a_hang_ends(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # A replayed schedule carries no budget: the replay still stops at the explorer's default one.
    pytester.makepyfile(test_hang=HANG_TEST)
    monkeypatch.setenv("WASMROUTINES_SCHEDULE", "seed=1")
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*hang*budget*"])
