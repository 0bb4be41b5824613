"""The explorer finds real bugs in real programs: Zig 0.13 wasi-threads programs (tests/programs/explore,
built by tools/build_explore_programs.sh), through `wasmroutines explore` and through the Python API.

  spawn_join.wasm         std.Thread spawn/join: Zig 0.13's race (the child's id is stored after
                          thread-spawn returns) deadlocks join under some schedules
  lock_order.wasm         two mutexes taken in opposite orders: deadlock
  lost_update.wasm        a non-atomic counter: lost updates (prints less than 200)
  producer_consumer.wasm  correct: no failure in 1000 schedules of either strategy

Each bug must show within 1000 schedules, and the replay command printed for it must reproduce it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wasmroutines import Module
from wasmroutines.explore import Program, explore_program

PROGRAMS = Path(__file__).resolve().parent.parent / "programs" / "explore"


def _explore_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wasmroutines", "explore", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _replay_commands(report: str) -> list[list[str]]:
    out = []
    for line in report.splitlines():
        m = re.match(r"\s*replay: (wasmroutines run .*)$", line)
        if m:
            argv = shlex.split(m.group(1))
            out.append([sys.executable, "-m", "wasmroutines", *argv[1:]])
    return out


@pytest.mark.parametrize(
    ("program", "kind", "extra"),
    [
        ("spawn_join.wasm", "deadlock", []),
        ("lock_order.wasm", "deadlock", ["--jobs", "2"]),
        ("lost_update.wasm", "output", ["--expect-stdout", "counter 200\\n"]),
    ],
)
def test_explore_cli_finds_the_bug_and_its_replay_reproduces_it(program: str, kind: str, extra: list[str]) -> None:
    path = str(PROGRAMS / program)
    result = _explore_cli("--runs", "1000", *extra, path)
    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stdout
    assert re.search(rf"^failure 1 of \d+: {kind}, in \d+ of 1000 runs", report, re.M), report
    first = _replay_commands(report)[0]
    replay = subprocess.run(first, capture_output=True, text=True, timeout=120)
    if kind == "deadlock":
        assert replay.returncode == 1
        assert re.search(r"deadlock: (all \d+ threads are|the only thread is) blocked", replay.stderr)
        assert "waiting on futex" in replay.stderr
    else:
        assert replay.returncode == 0
        assert replay.stdout.startswith("counter ") and replay.stdout != "counter 200\n"
        got = re.search(r"got:\s+'(counter \d+)\\n' \(this run\)", report)
        assert got is not None and replay.stdout == got.group(1) + "\n"


def test_explore_cli_passes_the_correct_program() -> None:
    result = _explore_cli("--runs", "1000", "--jobs", "2", str(PROGRAMS / "producer_consumer.wasm"))
    assert result.returncode == 0, result.stdout
    assert "no failure found" in result.stdout


@pytest.mark.parametrize(
    ("program", "kind", "expect"),
    [
        ("spawn_join.wasm", "deadlock", None),
        ("lock_order.wasm", "deadlock", None),
        ("lost_update.wasm", "output", b"counter 200\n"),
    ],
)
def test_pct_finds_the_bug(program: str, kind: str, expect: bytes | None) -> None:
    result = explore_program(Program.load(str(PROGRAMS / program)), runs=1000, strategy="pct", expect_stdout=expect)
    kinds = [f.failure.kind for f in result.failures]
    assert kind in kinds, result.report()
    found = result.failures[kinds.index(kind)]
    assert found.run < 1000
    assert "--strategy pct" in found.replay and f"--steps {result.base.steps}" in found.replay


def test_pct_passes_the_correct_program() -> None:
    result = explore_program(Program.load(str(PROGRAMS / "producer_consumer.wasm")), runs=1000, strategy="pct")
    assert result.ok, result.report()
    assert result.outputs == {b"consumed 40 items, sum 60380\n": 1000}


def test_explorer_runs_reuse_the_compiled_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """What keeps a schedule cheap: every run instantiates the module compiled once at load, in this process.

    The rate itself (the issue's bar: 200 schedules/s) is measured by benchmarks/test_determinism.py.
    """
    program = Program.load(str(PROGRAMS / "producer_consumer.wasm"))
    compiled = [0]
    init = Module.__init__

    def counting_init(self: Module, *args: Any, **kwargs: Any) -> None:
        compiled[0] += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(Module, "__init__", counting_init)
    result = explore_program(program, runs=200, strategy="pct")
    assert result.ok and result.runs == 200, result.report()
    assert sum(result.outputs.values()) == 200  # each run ran the program to its end
    assert compiled[0] == 0


def test_explore_save_writes_a_recording_and_a_trace_per_failure(tmp_path: Path) -> None:
    result = _explore_cli("--runs", "100", "--save", str(tmp_path), str(PROGRAMS / "lock_order.wasm"))
    assert result.returncode == 1, result.stdout
    assert (tmp_path / "failure-1.trace.json").is_file()
    assert f"wasmroutines run --replay {tmp_path / 'failure-1.wrr'}" in result.stdout
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasmroutines",
            "run",
            "--replay",
            str(tmp_path / "failure-1.wrr"),
            str(PROGRAMS / "lock_order.wasm"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 1 and "deadlock: all 3 threads are blocked" in replay.stderr
