"""Record and replay: a recording reproduces its run exactly, answers WASI from the file, finds divergences."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from wasmroutines.core.record import RECORD_VERSION, Divergence, Recording
from wasmroutines.core.wat import wat2wasm
from wasmroutines.explore import Program, Schedule, run_program

HERE = Path(__file__).resolve().parent.parent
PROGRAMS = HERE / "programs" / "explore"
WASI_PROGRAMS = HERE / "wasi_programs"

# Reads a clock (or, in the changed version, random bytes), then prints "tick".
READER = """
(module
  (import "wasi_snapshot_preview1" "{call}" (func $get (param {params}) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "tick\\n")
  (func $main (export "_start")
    (drop (call $get {args}))
    (i32.store (i32.const 32) (i32.const 64))
    (i32.store (i32.const 36) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40)))))
"""


def _reader(call: str) -> Program:
    if call == "clock_time_get":
        text = READER.format(call=call, params="i32 i64 i32", args="(i32.const 0) (i64.const 1) (i32.const 0)")
    else:
        text = READER.format(call=call, params="i32 i32", args="(i32.const 0) (i32.const 8)")
    data = wat2wasm(text)
    from wasmroutines import Module

    return Program(Module(data), f"{call}.wasm", digest=call)


def test_record_then_replay_reproduces_a_threaded_run() -> None:
    program = Program.load(str(PROGRAMS / "lost_update.wasm"))
    schedule = Schedule(153247941181418, preempt_shared=True)
    recorded = run_program(program, schedule, record=True)
    assert recorded.recording is not None
    data = recorded.recording.dumps()
    assert data.startswith(f"WRREC {RECORD_VERSION}\n".encode())
    replayed = run_program(program, None, replay=Recording.loads(data))
    assert replayed.stdout == recorded.stdout
    assert replayed.decisions == recorded.decisions
    assert replayed.instructions == recorded.instructions


def test_replay_answers_from_the_recording_not_the_host() -> None:
    cat = Program.load(str(WASI_PROGRAMS / "cat.wat"), stdin=b"recorded input\n")
    recorded = run_program(cat, Schedule(1), record=True)
    assert recorded.stdout == b"recorded input\n"
    assert recorded.recording is not None
    other_stdin = Program.load(str(WASI_PROGRAMS / "cat.wat"), stdin=b"something else\n")
    replayed = run_program(other_stdin, None, replay=recorded.recording)
    assert replayed.stdout == b"recorded input\n"


def test_replay_of_a_deadlock_deadlocks_the_same_way() -> None:
    program = Program.load(str(PROGRAMS / "spawn_join.wasm"))
    for seed in range(40):
        recorded = run_program(program, Schedule(seed, preempt_shared=True), record=True)
        if recorded.failure is not None and recorded.failure.kind == "deadlock":
            break
    else:
        pytest.fail("no deadlock in 40 seeds")
    assert recorded.recording is not None
    replayed = run_program(program, None, replay=recorded.recording)
    assert replayed.failure is not None and replayed.failure.kind == "deadlock"
    assert replayed.failure.key == recorded.failure.key


def test_replay_of_a_changed_program_says_where_it_diverged() -> None:
    recorded = run_program(_reader("clock_time_get"), Schedule(1), record=True)
    assert recorded.recording is not None and recorded.stdout == b"tick\n"
    with pytest.raises(Divergence) as info:
        run_program(_reader("random_get"), None, replay=recorded.recording)
    message = str(info.value)
    assert "thread 0 (main) called random_get in main at offset" in message
    assert "the recording has clock_time_get" in message
    assert info.value.thread == 0


def test_replay_of_another_threaded_program_diverges_at_a_slice() -> None:
    recorded = run_program(
        Program.load(str(PROGRAMS / "lost_update.wasm")), Schedule(7, preempt_shared=True), record=True
    )
    assert recorded.recording is not None
    with pytest.raises(
        Divergence, match=r"scheduling decision \d+: thread 0 \(main\) stopped .* units in .* at offset 0x"
    ):
        run_program(Program.load(str(PROGRAMS / "lock_order.wasm")), None, replay=recorded.recording)


def test_recording_refuses_other_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a wasmroutines recording"):
        Recording.loads(b"hello\n")
    with pytest.raises(ValueError, match="version 99"):
        Recording.loads(b"WRREC 99\n")
    with pytest.raises(ValueError, match="version 1: .* reads version 4 only .*record the run again"):
        Recording.loads(b"WRREC 1\n" + zlib.compress(b"{}"))
    # Version 4 changed what a run of sched_yield does: earlier files are refused rather than replayed wrong.
    body = b'{"header":{},"schedule":[0],"calls":[],"end":{}}'
    with pytest.raises(ValueError, match="version 3: .* reads version 4 only"):
        Recording.loads(b"WRREC 3\n" + zlib.compress(body))
    assert Recording.loads(b"WRREC 4\n" + zlib.compress(body)).schedule == [0]
    with pytest.raises(ValueError, match="need a deterministic schedule"):
        run_program(_reader("clock_time_get"), None, record=True)


def test_cli_record_and_replay(tmp_path: Path) -> None:
    rec = tmp_path / "run.wrr"
    prog = str(PROGRAMS / "lost_update.wasm")

    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "wasmroutines", "run", *args], capture_output=True, timeout=120)

    first = cli("--seed", "99", "--preempt-shared", "--record", str(rec), prog)
    assert first.returncode == 0 and first.stdout.startswith(b"counter ")
    again = cli("--replay", str(rec), prog)
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, b"")
    other = cli("--replay", str(rec), str(PROGRAMS / "lock_order.wasm"))
    assert other.returncode == 1
    assert b"is not the recorded program" in other.stderr
    assert b"Error: replay diverged" in other.stderr


def test_replay_with_many_threads_blocked_in_wasi_calls() -> None:
    # 200 threads sleep in poll_oneoff at once. Their sleeps are the core's (virtual timers: bindings/wasi/fast.py),
    # decided by the schedule alone, so the recording keeps only the calls with inputs (the clock read, the output);
    # the replay sleeps the same way and comes out the same.
    program = Program.load(str(PROGRAMS / "sleepers.wat"))
    recorded = run_program(program, Schedule(3), record=True)
    assert recorded.recording is not None
    assert [c["n"] for c in recorded.recording.calls] == ["clock_time_get", "fd_write"]
    replayed = run_program(program, None, replay=recorded.recording)
    assert replayed.stdout == recorded.stdout and replayed.failure is None


def test_a_recording_costs_a_few_bytes_a_decision() -> None:
    """What a longer run adds to its recording, over the decisions it adds: at most 4 bytes each (issue 15)."""
    sizes = []
    for steps in ("2000000", "8000000"):
        program = Program.load(str(HERE / "programs" / "wasm" / "c_spin.wasm"), ["4", steps])
        outcome = run_program(program, Schedule(1), record=True, fuel=None)
        assert outcome.recording is not None and outcome.failure is None
        sizes.append((len(outcome.recording.dumps()), len(outcome.decisions)))
    (short, few), (long, many) = sizes
    assert many > few + 200
    assert (long - short) / (many - few) <= 4
