"""Async host functions in recorded runs (issue 18): their results are inputs, recorded and replayed, and when the
awaits finish does not change a seeded run."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from wasmroutines import Module
from wasmroutines.core.errors import WasmroutinesError
from wasmroutines.core.record import Divergence, Recording
from wasmroutines.core.wat import wat2wasm
from wasmroutines.explore import Program, Schedule, run_program, run_program_async

# Four threads each ask env.look (an async host function) for a letter and print it, twice, and do some work
# between; _start waits for all. The output's order is the schedule's, its letters the host's.
LOOKERS = """
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "look" (func $look (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $say (param $i i32) (param $c i32)
    (local $at i32)
    (local.set $at (i32.add (i32.const 256) (i32.mul (local.get $i) (i32.const 16))))
    (i32.store8 offset=8 (local.get $at) (local.get $c))
    (i32.store (local.get $at) (i32.add (local.get $at) (i32.const 8)))
    (i32.store offset=4 (local.get $at) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (local.get $at) (i32.const 1) (i32.add (local.get $at) (i32.const 12)))))
  (func $spin (param $n i32)
    (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "wasi_thread_start") (param $tid i32) (param $i i32)
    (call $say (local.get $i) (call $look (local.get $i)))
    (call $spin (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.const 3000)))
    (call $say (local.get $i) (call $look (i32.add (local.get $i) (i32.const 10))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (local $v i32)
    (drop (call $spawn (i32.const 0)))
    (drop (call $spawn (i32.const 1)))
    (drop (call $spawn (i32.const 2)))
    (drop (call $spawn (i32.const 3)))
    (block $done
      (loop $wait
        (local.set $v (i32.atomic.load (i32.const 0)))
        (br_if $done (i32.eq (local.get $v) (i32.const 4)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $v) (i64.const -1)))
        (br $wait)))))
"""


def _program() -> Program:
    # A preopened folder too: the program's host imports and its folders are given side by side.
    here = str(Path(__file__).resolve().parent)
    return Program(Module(wat2wasm(LOOKERS)), "lookers.wasm", digest="lookers", dirs=[(here, "/")])


def _host(letters: dict[int, int], delays: random.Random | None = None) -> dict[str, dict[str, object]]:
    async def look(i: int) -> int:
        await asyncio.sleep(delays.random() * 0.005 if delays is not None else 0)
        return letters[i]

    return {"env": {"look": look}}


LETTERS = {i: ord("a") + i for i in range(20)}


def test_a_seeded_run_does_not_depend_on_when_awaits_finish() -> None:
    program = _program()
    outputs = {
        asyncio.run(run_program_async(program, Schedule(3), host=_host(LETTERS, random.Random(k)))).stdout
        for k in range(4)
    }
    assert len(outputs) == 1
    (out,) = outputs
    assert sorted(out) == sorted(b"abcdklmn")


def test_async_results_are_recorded_and_replayed_not_asked_again() -> None:
    program = _program()
    recorded = asyncio.run(run_program_async(program, Schedule(5), record=True, host=_host(LETTERS, random.Random(1))))
    assert recorded.failure is None, recorded.failure
    assert recorded.recording is not None
    looks = [c for c in recorded.recording.calls if c["n"] == "env.look"]
    assert sorted(c["r"] for c in looks) == sorted(b"abcdklmn")

    async def never(i: int) -> int:
        raise AssertionError("a replay answers from the recording")

    data = recorded.recording.dumps()
    replay = Recording.loads(data)
    replayed = asyncio.run(run_program_async(program, None, replay=replay, host={"env": {"look": never}}))
    assert replayed.stdout == recorded.stdout
    assert replayed.decisions == recorded.decisions

    # Other letters in the recording: the replay prints those (so it does use them), and its output then differs
    # from the recorded run's, which the replay reports.
    changed = Recording.loads(data)
    for c in changed.calls:
        if c["n"] == "env.look":
            c["r"] = ord("z")
    with pytest.raises(Divergence):
        asyncio.run(run_program_async(program, None, replay=changed, host={"env": {"look": never}}))


def test_a_replay_checks_that_the_program_calls_the_recorded_host_function() -> None:
    program = _program()
    recorded = asyncio.run(run_program_async(program, Schedule(2), record=True, host=_host(LETTERS)))
    assert recorded.recording is not None
    for c in recorded.recording.calls:
        if c["n"] == "env.look":
            c["n"] = "env.other"
            break
    with pytest.raises(Divergence, match="called env.look"):
        asyncio.run(run_program_async(program, None, replay=recorded.recording, host=_host(LETTERS)))


def test_sync_host_functions_are_recorded_too_and_results_must_be_numbers() -> None:
    program = _program()
    recorded = run_program(program, Schedule(4), record=True, host={"env": {"look": lambda i: LETTERS[i]}})
    assert recorded.failure is None and recorded.recording is not None
    replayed = run_program(program, None, replay=recorded.recording, host={"env": {"look": lambda i: 0}})
    assert replayed.stdout == recorded.stdout

    class Handle:
        pass

    with pytest.raises(WasmroutinesError, match="cannot record the result of host function env.look"):
        outcome = run_program(program, Schedule(4), record=True, host={"env": {"look": lambda i: Handle()}})
        if outcome.failure is not None:
            raise WasmroutinesError(outcome.failure.message)


def test_an_async_host_function_needs_the_loop() -> None:
    outcome = run_program(_program(), Schedule(1), host=_host(LETTERS))
    assert outcome.failure is not None
    assert "call_async" in outcome.failure.message


TRAPS = """
(module
  (import "env" "look" (func $look (param i32) (result i32)))
  (memory 1)
  (func $bad (drop (i32.load (i32.add (call $look (i32.const 0)) (i32.const 0x7fffffff)))))
  (func (export "_start") (call $bad)))
"""


def test_an_async_run_reports_its_failures_as_a_plain_run_does() -> None:
    program = Program(Module(wat2wasm(TRAPS)), "traps.wasm", digest="traps")
    outcome = asyncio.run(run_program_async(program, Schedule(1), host=_host(LETTERS)))
    assert outcome.failure is not None and outcome.failure.kind == "trap"
    assert "bad" in outcome.failure.describe()
