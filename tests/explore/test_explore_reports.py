"""The explorer's reports: a failure is grouped by what failed, not by where the other threads happened to be;
"(trapped here)" marks the frame that trapped; a hang is one failure under one budget, and says which.

Each program makes the thing that must not matter vary from run to run (bystanders' positions, how many
threads joined a deadlock, where a spin is cut off), and each test first checks that it did vary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmroutines import Module
from wasmroutines.core.policy import EXPLORE_SLICES
from wasmroutines.core.wat import wat2wasm
from wasmroutines.explore import DEFAULT_FUEL, Outcome, Program, Schedule, explore_program, run_program
from wasmroutines.explore import explorer as explorer_module

# Thread 1 (spawned with 0) traps in $bad after a little work; threads 2 and 3 alternate between $f and $g,
# so where they are when the trap ends the run differs from schedule to schedule. Main waits for all three.
OOB = """
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func $f (param $n i32) (result i32)
    (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))) (i32.const 1))
  (func $g (param $n i32) (result i32)
    (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))) (i32.const 2))
  (func $work
    (local $k i32)
    (loop $l
      (drop (call $f (i32.const 50)))
      (drop (call $g (i32.const 30)))
      (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 2000)))))
  (func $bad
    (drop (call $f (i32.const 500)))
    (drop (i32.load (i32.const 0x7fffffff))))
  (func $thread_main (param $i i32)
    (if (i32.eqz (local.get $i)) (then (call $bad)) (else (call $work)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "wasi_thread_start") (param $tid i32) (param $i i32) (call $thread_main (local.get $i)))
  (func $wait_for (param $n i32)
    (local $v i32)
    (block $done
      (loop $wait
        (local.set $v (i32.atomic.load (i32.const 0)))
        (br_if $done (i32.eq (local.get $v) (local.get $n)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $v) (i64.const -1)))
        (br $wait))))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (call $spawn (i32.const 1)))
    (drop (call $spawn (i32.const 2)))
    (call $wait_for (i32.const 3))))
"""

# Threads 1, 3 and 4 take lock A then B ($ab), thread 2 takes B then A ($ba): when 2 deadlocks with one of
# the others, the rest have finished or wait on A too, so 3 to 5 threads are blocked, at the same wait sites.
DEADLOCK = """
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func $lock (param $a i32)
    (loop $retry
      (if (i32.atomic.rmw.cmpxchg (local.get $a) (i32.const 0) (i32.const 1))
        (then
          (drop (memory.atomic.wait32 (local.get $a) (i32.const 1) (i64.const -1)))
          (br $retry)))))
  (func $unlock (param $a i32)
    (i32.atomic.store (local.get $a) (i32.const 0))
    (drop (memory.atomic.notify (local.get $a) (i32.const 1))))
  (func $ab
    (call $lock (i32.const 4)) (call $lock (i32.const 8)) (call $unlock (i32.const 8)) (call $unlock (i32.const 4)))
  (func $ba
    (call $lock (i32.const 8)) (call $lock (i32.const 4)) (call $unlock (i32.const 4)) (call $unlock (i32.const 8)))
  (func (export "wasi_thread_start") (param $tid i32) (param $i i32)
    (if (i32.eq (local.get $i) (i32.const 2)) (then (call $ba)) (else (call $ab)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (local $v i32)
    (drop (call $spawn (i32.const 1)))
    (drop (call $spawn (i32.const 2)))
    (drop (call $spawn (i32.const 3)))
    (drop (call $spawn (i32.const 4)))
    (block $done
      (loop $wait
        (local.set $v (i32.atomic.load (i32.const 0)))
        (br_if $done (i32.eq (local.get $v) (i32.const 4)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $v) (i64.const -1)))
        (br $wait)))))
"""

# A thread that never ends, alternating between $f and $g (so a budget cuts it off in either), while main
# waits for it.
SPIN = """
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func $f (param $n i32)
    (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func $g (param $n i32)
    (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "wasi_thread_start") (param $tid i32) (param $i i32)
    (loop $forever
      (call $f (i32.const 37))
      (call $g (i32.const 23))
      (br $forever)))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))
"""


def _program(name: str, text: str) -> Program:
    return Program(Module(wat2wasm(text)), name)


def _runs(program: Program, n: int, fuel: int | None = DEFAULT_FUEL) -> list[Outcome]:
    """The runs 0..n-1 of an exploration with seed 0 (random walk, shared-access preemption), one by one."""
    lo, hi = EXPLORE_SLICES
    base = Schedule(0, min_slice=lo, max_slice=hi, preempt_shared=True)
    return [run_program(program, base.run_seed(i), fuel=fuel) for i in range(n)]


def _where(outcome: Outcome, thread: int) -> tuple[str | None, ...] | None:
    """The functions `thread` was in when the run failed (None: it had not started or had ended)."""
    assert outcome.failure is not None
    reports = [t for t in outcome.failure.threads if t.id == thread]
    return tuple(f.func_name for f in reports[0].frames) if reports else None


def test_a_trap_is_one_failure_wherever_the_other_threads_are() -> None:
    program = _program("oob.wat", OOB)
    outcomes = _runs(program, 30)
    assert all(o.failure is not None and o.failure.kind == "trap" and o.failure.thread == 1 for o in outcomes)
    # What must not matter did vary: the workers were stopped in different functions.
    assert len({(_where(o, 2), _where(o, 3)) for o in outcomes}) > 1
    assert len({o.failure.key for o in outcomes if o.failure is not None}) == 1

    result = explore_program(program, runs=30)
    (found,) = result.failures
    assert found.failure.kind == "trap" and found.count == 30
    assert found.failure.message == "out of bounds memory access"


def test_trapped_here_marks_the_frame_that_trapped() -> None:
    (outcome,) = _runs(_program("oob.wat", OOB), 1)
    assert outcome.failure is not None and outcome.failure.kind == "trap"
    lines = outcome.failure.describe().splitlines()
    marked = [line for line in lines if "(trapped here)" in line]
    assert len(marked) == 1
    # The innermost frame: $bad's load, not the thread's entry point.
    assert marked[0].strip().startswith("at bad (")
    trapped = next(t for t in outcome.failure.threads if t.id == outcome.failure.thread)
    assert [f.func_name for f in trapped.frames][:2] == ["bad", "thread_main"]


def test_a_deadlock_is_grouped_by_its_wait_sites_not_by_how_many_threads_joined_it() -> None:
    program = _program("deadlock.wat", DEADLOCK)
    outcomes = _runs(program, 400)
    deadlocks = [o.failure for o in outcomes if o.failure is not None]
    assert deadlocks and all(f.kind == "deadlock" for f in deadlocks)
    assert len({len(f.threads) for f in deadlocks}) > 1  # 3, 4 or 5 threads blocked: it varied
    assert len({f.key for f in deadlocks}) == 1

    result = explore_program(program, runs=400)
    (found,) = result.failures
    assert found.failure.kind == "deadlock" and found.count == len(deadlocks)


def test_a_hang_is_one_failure_wherever_the_budget_cuts_it_off() -> None:
    program = _program("spin.wat", SPIN)
    outcomes = _runs(program, 12, fuel=30_000)
    assert all(o.failure is not None and o.failure.kind == "hang" for o in outcomes)
    assert len({_where(o, 1) for o in outcomes}) > 1  # cut off in $f, in $g, in the loop between
    assert len({o.failure.key for o in outcomes if o.failure is not None}) == 1

    (found,) = explore_program(program, runs=12, fuel=30_000).failures
    assert found.failure.kind == "hang" and found.count == 12
    assert "--hang-fuel 30000" in found.replay


def test_a_first_run_that_hangs_does_not_raise_the_hang_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # The default budget made small, so that the hang is cheap to reach (the rule is what is tested).
    monkeypatch.setattr(explorer_module, "DEFAULT_FUEL", 40_000)
    result = explore_program(_program("spin.wat", SPIN), runs=4)
    assert result.fuel == 40_000
    (found,) = result.failures
    assert found.failure.kind == "hang" and found.count == 4
    assert "--hang-fuel 40000" in found.replay


def test_a_first_run_that_ends_sets_the_hang_budget_from_its_length(monkeypatch: pytest.MonkeyPatch) -> None:
    program = _program("oob.wat", OOB)
    (first,) = _runs(program, 1, fuel=None)
    assert first.failure is not None and first.failure.kind == "trap"  # it ended by itself
    monkeypatch.setattr(explorer_module, "DEFAULT_FUEL", 2 * first.instructions)
    assert explore_program(program, runs=2).fuel == 50 * first.instructions


def test_a_hang_says_which_budget_it_ran_out_of_and_how_to_raise_it() -> None:
    (outcome,) = _runs(_program("spin.wat", SPIN), 1, fuel=30_000)
    assert outcome.failure is not None and outcome.failure.kind == "hang"
    message = outcome.failure.message
    assert "30,000 instructions" in message and "hang budget" in message
    assert "--hang-fuel" in message and "fuel=" in message


def test_without_an_expectation_every_output_is_shown_with_its_count() -> None:
    # lost_update's right output is "counter 200"; run 0 may print a wrong one: no output is taken as right.
    program = Program.load(str(Path(__file__).parent.parent / "programs" / "explore" / "lost_update.wasm"))
    result = explore_program(program, runs=50)
    (found,) = result.failures
    assert found.failure.kind == "output" and found.failure.message == "runs printed different outputs"
    report = result.report()
    assert f"the runs that ended normally printed {len(result.outputs)} different outputs:" in report
    assert len(result.outputs) > 1 and sum(result.outputs.values()) == 50
    top, count = next(iter(result.outputs.items()))
    assert f"{count:>6} runs: {top.decode()!r}" in report
    assert "expected:" not in report
    expected = explore_program(program, runs=50, expect_stdout=b"counter 200\n").report()
    assert "expected: 'counter 200\\n'" in expected
