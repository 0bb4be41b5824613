"""The spec test runner itself (wasmroutines.spectest) on small scripts written here."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmroutines.spectest.cli import main
from wasmroutines.spectest.isolate import run_isolated
from wasmroutines.spectest.outcome import FAILED, PASSED, SKIPPED
from wasmroutines.spectest.script import run_script
from wasmroutines.spectest.values import Refs, matches

MODULE = """(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
  (func (export "nan") (result f32) f32.const nan:0x600000)
  (func (export "ext") (param externref) (result externref) local.get 0)
  (global (export "g") i64 (i64.const -1)))"""


def i32(v: int) -> dict[str, str]:
    return {"type": "i32", "value": str(v)}


def invoke(field: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "invoke", "field": field, "args": list(args)}


def flatten_all(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Commands in script order, those nested in `thread` commands too (each gets a line)."""
    return [c for cmd in commands for c in [cmd, *flatten_all(cmd.get("commands", []))]]


def write_script(tmp_path: Path, wat: Callable[[str], bytes], commands: list[dict[str, Any]]) -> Path:
    (tmp_path / "t.0.wasm").write_bytes(wat(MODULE))
    (tmp_path / "bad.wasm").write_bytes(b"\x00asm\x01\x00\x00\x00\x01")
    for i, c in enumerate(flatten_all(commands)):
        c.setdefault("line", i + 1)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"source_filename": "group/t.wast", "commands": commands}))
    return path


def test_statuses_and_counting(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    path = write_script(
        tmp_path,
        wat,
        [
            {"type": "module", "filename": "t.0.wasm", "module_type": "binary"},
            {"type": "assert_return", "action": invoke("add", i32(1), i32(-1)), "expected": [i32(0)]},
            {"type": "assert_return", "action": invoke("add", i32(1), i32(1)), "expected": [i32(3)]},
            {"type": "assert_trap", "action": invoke("div", i32(1), i32(0)), "text": "integer divide by zero"},
            {"type": "assert_trap", "action": invoke("div", i32(1), i32(1)), "text": "integer divide by zero"},
            {
                "type": "assert_return",
                "action": invoke("nan"),
                "expected": [{"type": "f32", "value": "nan:arithmetic"}],
            },
            {"type": "assert_return", "action": invoke("nan"), "expected": [{"type": "f32", "value": "nan:canonical"}]},
            {"type": "assert_return", "action": {"type": "get", "field": "g"}, "expected": [i32(-1) | {"type": "i64"}]},
            {
                "type": "assert_return",
                "action": invoke("ext", {"type": "externref", "value": "7"}),
                "expected": [{"type": "externref", "value": "7"}],
            },
            {"type": "assert_malformed", "filename": "bad.wasm", "module_type": "binary", "text": "unexpected end"},
            {"type": "assert_invalid", "filename": "t.0.wasm", "module_type": "binary", "text": "type mismatch"},
            {"type": "thread", "name": "T", "commands": [{"type": "action", "line": 99, "action": invoke("add")}]},
            {"type": "wait", "thread": "T"},
        ],
    )
    result = run_script(path)
    assert result.name == "group/t"
    statuses = [o.status for o in result.outcomes]
    assert statuses == [PASSED, PASSED, FAILED, PASSED, FAILED, PASSED, FAILED, PASSED, PASSED, PASSED, FAILED] + [
        PASSED,
        FAILED,
        PASSED,
    ]
    assert len(result.outcomes) == 14  # the thread's nested command counts once too
    assert result.outcomes[-2].line == 99 and result.outcomes[-2].reason == "no module defined"  # a thread's own scope
    assert result.summary() == "group/t: 9 passed, 5 failed, 0 skipped"


def test_failed_module_fails_later_commands(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    path = write_script(
        tmp_path,
        wat,
        [
            {"type": "module", "filename": "bad.wasm", "module_type": "binary"},
            {"type": "assert_return", "action": invoke("add", i32(1), i32(1)), "expected": [i32(2)]},
        ],
    )
    result = run_script(path)
    assert [o.status for o in result.outcomes] == [FAILED, FAILED]
    assert "failed" in result.outcomes[1].reason


def test_text_module_without_binary_is_compiled_or_skipped(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    (tmp_path / "m.wat").write_text('(module (func (export "one") (result i32) i32.const 1))')
    (tmp_path / "bad.wat").write_text("(module (func i32.const))")
    (tmp_path / "junk.wat").write_text("(modul")
    path = write_script(
        tmp_path,
        wat,
        [
            {"type": "module", "filename": "m.wat", "module_type": "text"},
            {"type": "assert_return", "action": invoke("one"), "expected": [i32(1)]},
            {"type": "assert_malformed", "filename": "junk.wat", "module_type": "text", "text": "unexpected token"},
            {"type": "assert_malformed", "filename": "bad.wat", "module_type": "text", "text": "type mismatch"},
            {"type": "assert_malformed", "filename": "m.wat", "module_type": "text", "text": "oops"},
        ],
    )
    assert [o.status for o in run_script(path).outcomes] == [PASSED, PASSED, PASSED, PASSED, FAILED]


def test_skipped_when_no_text_parser(
    tmp_path: Path, wat: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.wat").write_text("(module)")
    path = write_script(tmp_path, wat, [{"type": "module", "filename": "m.wat", "module_type": "text"}])
    monkeypatch.setattr("wasmroutines.spectest.script.find_wasm_tools", lambda: None)
    assert [o.status for o in run_script(path).outcomes] == [SKIPPED]


def test_cli_totals_only_and_exit_code(
    tmp_path: Path, wat: Callable[[str], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_script(
        tmp_path,
        wat,
        [
            {"type": "module", "filename": "t.0.wasm", "module_type": "binary"},
            {"type": "assert_return", "action": invoke("add", i32(2), i32(2)), "expected": [i32(4)]},
            {"type": "assert_return", "action": invoke("add", i32(2), i32(2)), "expected": [i32(5)]},
        ],
    )
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["group/t: 2 passed, 1 failed, 0 skipped", "2 passed, 1 failed, 0 skipped"]
    assert main(["--only", "2", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "group/t: 1 passed, 0 failed, 0 skipped" and out[-1] == "1 passed, 0 failed, 0 skipped"
    assert main(["--verbose", "--only", "3", str(path)]) == 1
    assert "line 3 assert_return: failed: result 0: expected i32:0x5, got i32:0x00000004" in capsys.readouterr().out


def test_isolated_run_matches_in_process(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    path = write_script(
        tmp_path,
        wat,
        [
            {"type": "module", "filename": "t.0.wasm", "module_type": "binary"},
            {"type": "assert_return", "action": invoke("add", i32(2), i32(2)), "expected": [i32(5)]},
        ],
    )
    isolated = run_isolated(path)
    assert isolated.outcomes == run_script(path).outcomes


def test_nan_patterns() -> None:
    refs = Refs.__new__(Refs)
    canonical = {"type": "f32", "value": "nan:canonical"}
    arithmetic = {"type": "f64", "value": "nan:arithmetic"}
    assert matches(canonical, [0x7FC0_0000], refs) and matches(canonical, [0xFFC0_0000], refs)
    assert not matches(canonical, [0x7FC0_0001], refs) and not matches(canonical, [0x7F80_0000], refs)
    assert matches(arithmetic, [0x7FF8_0000_0000_0001], refs)
    assert not matches(arithmetic, [0x7FF4_0000_0000_0000], refs)
    lanes = {"type": "v128", "lane_type": "f32", "value": ["nan:canonical", "0", "1065353216", "0"]}
    assert matches(lanes, [0x7FC0_0000, 0x3F80_0000], refs)
    assert matches(
        {"type": "either", "values": [{"type": "i32", "value": "1"}, {"type": "i32", "value": "2"}]}, [2], refs
    )


MEM = '(module (memory (export "shared") 1 1 shared))'
WRITER = """(module (import "mem" "shared" (memory 1 1 shared))
  (func (export "run") (local i32)
    (loop (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if 0 (i32.lt_u (local.get 0) (i32.const 300))))
    (i32.atomic.store (i32.const 0) (i32.const 42))))"""
READER = """(module (import "mem" "shared" (memory 1 1 shared))
  (func (export "run") (result i32) (local i32)
    (loop (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if 0 (i32.lt_u (local.get 0) (i32.const 300))))
    (i32.atomic.load (i32.const 0))))"""
WAITER = """(module (import "mem" "shared" (memory 1 1 shared))
  (func (export "run") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))"""


def thread_script(tmp_path: Path, wat: Callable[[str], bytes], commands: list[dict[str, Any]]) -> Path:
    for name, text in (("mem", MEM), ("writer", WRITER), ("reader", READER), ("waiter", WAITER)):
        (tmp_path / f"{name}.wasm").write_bytes(wat(text))
    return write_script(tmp_path, wat, commands)


def thread(name: str, module: str, command: dict[str, Any]) -> dict[str, Any]:
    """(thread $name (shared (module $Mem)) (register "mem" $Mem) (module ...) command)."""
    return {
        "type": "thread",
        "name": name,
        "shared_module": "Mem",
        "commands": [
            {"type": "register", "name": "Mem", "as": "mem"},
            {"type": "module", "filename": f"{module}.wasm", "module_type": "binary"},
            command,
        ],
    }


def race(expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "module", "name": "Mem", "filename": "mem.wasm", "module_type": "binary"},
        thread("W", "writer", {"type": "action", "action": invoke("run")}),
        thread("R", "reader", {"type": "assert_return", "action": invoke("run"), "expected": expected}),
        {"type": "wait", "thread": "W"},
        {"type": "wait", "thread": "R"},
    ]


def test_threads_interleave_by_seed(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    """Seeds give different interleavings (the reader sees 0 or 42), each reproducible; `either` allows both."""
    path = thread_script(tmp_path, wat, race([i32(42)]))
    seen = {seed: [o.status for o in run_script(path, seed=seed).outcomes] for seed in range(24)}
    reads = {statuses[8] for statuses in seen.values()}  # the reader's assert_return
    assert reads == {PASSED, FAILED}
    assert all(run_script(path, seed=seed).outcomes == run_script(path, seed=seed).outcomes for seed in (3, 11))
    either = {"type": "either", "values": [i32(0), i32(42)]}
    path = thread_script(tmp_path, wat, race([either]))
    for seed in (None, *range(8)):
        result = run_script(path, seed=seed)
        assert [(o.line, o.status) for o in result.outcomes] == [(i + 1, PASSED) for i in range(11)], result


def test_thread_scope_and_counting(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    """A thread sees only its shared modules; one never waited for is joined at the end; order is the script's."""
    commands = [
        {"type": "module", "name": "Mem", "filename": "mem.wasm", "module_type": "binary"},
        {"type": "register", "as": "mem"},
        {"type": "thread", "name": "T", "commands": [{"type": "module", "filename": "writer.wasm"}]},
        thread("U", "writer", {"type": "action", "action": invoke("run")}),
        {"type": "module", "filename": "t.0.wasm", "module_type": "binary"},
    ]
    path = thread_script(tmp_path, wat, commands)
    result = run_script(path)
    assert [(o.line, o.command, o.status) for o in result.outcomes] == [
        (1, "module", PASSED),
        (2, "register", PASSED),
        (3, "thread", PASSED),
        (4, "module", FAILED),  # T's registry has no "mem": its own, not the script's
        (5, "thread", PASSED),
        (6, "register", PASSED),
        (7, "module", PASSED),
        (8, "action", PASSED),
        (9, "module", PASSED),
    ]
    assert "unknown import" in result.outcomes[3].reason
    assert run_isolated(path).outcomes == result.outcomes


def test_deadlocked_thread(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    """A wait nobody notifies: `wait` fails with the deadlock, the thread's unfinished commands fail, the rest runs."""
    commands = [
        {"type": "module", "name": "Mem", "filename": "mem.wasm", "module_type": "binary"},
        thread("T", "waiter", {"type": "assert_return", "action": invoke("run"), "expected": [i32(0)]}),
        {"type": "wait", "thread": "T"},
        {"type": "module", "filename": "t.0.wasm", "module_type": "binary"},
        {"type": "wait", "thread": "nobody"},
    ]
    path = thread_script(tmp_path, wat, commands)
    for seed in (None, 5):
        result = run_script(path, seed=seed)
        assert [o.status for o in result.outcomes] == [PASSED, FAILED, PASSED, PASSED, FAILED, FAILED, PASSED, FAILED]
        assert result.outcomes[1].reason.startswith("deadlock")  # the thread itself
        assert "did not finish (deadlock" in result.outcomes[4].reason  # its assert_return, cut short
        assert result.outcomes[5].reason.startswith("deadlock: all 2 threads are blocked")  # the wait
        assert result.outcomes[7].reason == "no thread 'nobody'"
