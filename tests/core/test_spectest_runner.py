"""The spec test runner itself (wasmroutines.spectest) on small scripts written here."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmroutines.spectest.cli import folder_table, main
from wasmroutines.spectest.isolate import run_isolated
from wasmroutines.spectest.outcome import FAILED, PASSED, SKIPPED, FileResult, Outcome
from wasmroutines.spectest.script import ScriptRunner, run_script
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


# ---- every command gets exactly one outcome; a wrong class or kind of rejection fails ----

TWO = [
    {"type": "module", "filename": "t.0.wasm", "module_type": "binary"},
    {"type": "assert_return", "action": invoke("add", i32(1), i32(1)), "expected": [i32(2)]},
    {"type": "assert_return", "action": invoke("add", i32(2), i32(2)), "expected": [i32(4)]},
]


def patch_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Run `code` at the start of every child Python (a sitecustomize on PYTHONPATH): to break the child."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(code)
    monkeypatch.setenv("PYTHONPATH", str(site))


RAISE_AT_LINE_2 = """
from wasmroutines.spectest import script
_run = script.ScriptRunner.run_command
def run_command(self, cmd):
    if cmd.get("line") == 2:
        {action}
    return _run(self, cmd)
script.ScriptRunner.run_command = run_command
"""


@pytest.mark.parametrize(
    ("action", "died"),
    [
        ("raise RuntimeError('boom')", "child died with exit status 1 (RuntimeError: boom)"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "child died with SIGKILL"),
    ],
)
def test_child_dying_mid_script_fails_the_rest(
    tmp_path: Path,
    wat: Callable[[str], bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    action: str,
    died: str,
) -> None:
    """An uncaught exception exits with status 1, as a script with failures once did: it is a death all the same."""
    path = write_script(tmp_path, wat, TWO)
    patch_child(tmp_path, monkeypatch, RAISE_AT_LINE_2.format(action=action))
    result = run_isolated(path)
    assert [(o.line, o.status, o.reason) for o in result.outcomes] == [
        (1, PASSED, ""),
        (2, FAILED, f"no outcome: {died}"),
        (3, FAILED, f"no outcome: {died}"),
    ]
    assert main(["--isolate", str(path)]) == 1
    summary = capsys.readouterr().out.splitlines()
    assert summary == ["group/t: 1 passed, 2 failed, 0 skipped", "1 passed, 2 failed, 0 skipped"]


def test_child_ending_without_an_outcome(
    tmp_path: Path, wat: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that ends normally but never reported a command: that command fails."""
    path = write_script(tmp_path, wat, TWO)
    drop = "from wasmroutines.spectest import cli\n_emit = cli._emit\ncli._emit = lambda o: o.line == 2 or _emit(o)\n"
    patch_child(tmp_path, monkeypatch, drop)
    result = run_isolated(path)
    assert [(o.line, o.status, o.reason) for o in result.outcomes] == [
        (1, PASSED, ""),
        (2, FAILED, "no outcome: the child reported none"),
        (3, PASSED, ""),
    ]


def test_child_crashing_after_its_last_outcome(
    tmp_path: Path, wat: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command reported, then a crash on the way out (status 3 after the end marker): one more failure."""
    path = write_script(tmp_path, wat, TWO)
    patch_child(tmp_path, monkeypatch, "import atexit, os\natexit.register(os._exit, 3)\n")
    result = run_isolated(path)
    assert [o.status for o in result.outcomes] == [PASSED, PASSED, PASSED, FAILED]
    assert result.outcomes[-1].command == "exit"
    assert result.outcomes[-1].reason == "child died with exit status 3 (no message) after its last command"


def test_runner_missing_or_repeating_an_outcome(
    tmp_path: Path, wat: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process too: a command the runner gives no outcome fails; an outcome given twice fails."""
    path = write_script(tmp_path, wat, TWO)
    run = ScriptRunner.run_command

    def lossy(self: ScriptRunner, cmd: dict[str, Any]) -> list[Any]:
        entries = run(self, cmd)
        return {2: [], 3: entries * 2}.get(cmd["line"], entries)

    monkeypatch.setattr(ScriptRunner, "run_command", lossy)
    result = run_script(path)
    assert [(o.line, o.status) for o in result.outcomes] == [(1, PASSED), (2, FAILED), (3, PASSED), (3, FAILED)]
    assert result.outcomes[1].reason == "no outcome: the runner gave none"
    assert result.outcomes[3].reason == "an outcome for no command of the script (passed)"


def test_unlinkable_needs_the_expected_kind(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    (tmp_path / "unknown.wasm").write_bytes(wat('(module (import "spectest" "nothing" (func)))'))
    (tmp_path / "mismatch.wasm").write_bytes(wat('(module (import "spectest" "print_i32" (func (param i64))))'))
    unknown, incompatible = "unknown import", "incompatible import type"
    commands = [
        {"type": "assert_unlinkable", "filename": "unknown.wasm", "module_type": "binary", "text": unknown},
        {"type": "assert_unlinkable", "filename": "mismatch.wasm", "module_type": "binary", "text": incompatible},
        {"type": "assert_unlinkable", "filename": "unknown.wasm", "module_type": "binary", "text": incompatible},
        {"type": "assert_unlinkable", "filename": "mismatch.wasm", "module_type": "binary", "text": unknown},
        {"type": "assert_unlinkable", "filename": "t.0.wasm", "module_type": "binary", "text": unknown},
    ]
    result = run_script(write_script(tmp_path, wat, commands))
    assert [o.status for o in result.outcomes] == [PASSED, PASSED, FAILED, FAILED, FAILED]
    got_unknown = "got unknown import: spectest.nothing"
    assert result.outcomes[2].reason == f"expected link error 'incompatible import type', {got_unknown}"
    assert result.outcomes[3].reason.startswith("expected link error 'unknown import', got incompatible import type")
    assert result.outcomes[4].reason == "module linked; expected 'unknown import'"


def test_malformed_and_invalid_are_not_interchangeable(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    """The wrong class of rejection fails; other wording within the right class is a note."""
    tmp_path = tmp_path / "core"  # a 2.0 suite: there memory limits are u32 (3.0's are u64)
    tmp_path.mkdir()
    (tmp_path / "invalid.wasm").write_bytes(wat("(module (func (result i32) i64.const 0))"))
    (tmp_path / "invalid.wat").write_text("(module (func (result i32) i64.const 0))")  # wasm-tools writes it
    (tmp_path / "huge.wat").write_text("(module (memory 0x1_0000_0000))")  # written as a LEB128 too large
    commands = [
        {"type": "assert_malformed", "filename": "bad.wasm", "module_type": "binary", "text": "unexpected end"},
        {"type": "assert_invalid", "filename": "invalid.wasm", "module_type": "binary", "text": "type mismatch"},
        {"type": "assert_invalid", "filename": "bad.wasm", "module_type": "binary", "text": "type mismatch"},
        {"type": "assert_malformed", "filename": "invalid.wasm", "module_type": "binary", "text": "unexpected end"},
        {"type": "assert_malformed", "filename": "invalid.wat", "module_type": "text", "text": "unexpected token"},
        {"type": "assert_malformed", "filename": "huge.wat", "module_type": "text", "text": "i32 constant"},
        {"type": "assert_invalid", "filename": "invalid.wasm", "module_type": "binary", "text": "unknown global"},
    ]
    result = run_script(write_script(tmp_path, wat, commands))
    assert [o.status for o in result.outcomes] == [PASSED, PASSED, FAILED, FAILED, FAILED, PASSED, PASSED]
    assert result.outcomes[2].reason.startswith("expected InvalidModule 'type mismatch', got MalformedModule: ")
    assert result.outcomes[3].reason.startswith("expected MalformedModule 'unexpected end', got InvalidModule: ")
    assert result.outcomes[4].reason.startswith("expected MalformedModule 'unexpected token', got InvalidModule: ")
    assert len(result.notes) == 1 and result.notes[0].startswith("line 7: expected InvalidModule 'unknown global'")


def test_module_definition_and_instances(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    """3.0's `(module definition $M ...)` loads without instantiating; `(module instance $I $M)` instantiates it
    and makes the instance current (named $I); each instance has its own state."""
    (tmp_path / "counter.wasm").write_bytes(
        wat("""(module (global $n (mut i32) (i32.const 0))
          (func (export "inc") (result i32)
            (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))""")
    )
    commands = [
        {"type": "module_definition", "name": "M", "filename": "counter.wasm", "module_type": "binary"},
        {"type": "module_instance", "instance": "I1", "module": "M"},
        {"type": "assert_return", "action": invoke("inc"), "expected": [i32(1)]},
        {"type": "module_instance", "instance": "I2", "module": "M"},
        {"type": "assert_return", "action": invoke("inc") | {"module": "I2"}, "expected": [i32(1)]},
        {"type": "assert_return", "action": invoke("inc") | {"module": "I1"}, "expected": [i32(2)]},
        {"type": "module_definition", "filename": "counter.wasm", "module_type": "binary"},  # unnamed: the last one
        {"type": "module_instance"},
        {"type": "assert_return", "action": invoke("inc"), "expected": [i32(1)]},
        {"type": "module_definition", "name": "B", "filename": "bad.wasm", "module_type": "binary"},
        {"type": "module_instance", "instance": "J", "module": "B"},
        {"type": "module_instance", "instance": "K", "module": "nope"},
        {"type": "assert_return", "action": invoke("inc") | {"module": "J"}, "expected": [i32(1)]},
    ]
    result = run_script(write_script(tmp_path, wat, commands))
    assert [o.status for o in result.outcomes] == [PASSED] * 9 + [FAILED] * 4
    assert result.outcomes[10].reason.startswith("module definition at line 10 failed: MalformedModule")
    assert result.outcomes[11].reason == "no module definition 'nope'"
    assert result.outcomes[12].reason.startswith("module at line 11 failed: module definition at line 10 failed")


def test_assert_exception_fails_clearly(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    commands = [
        {"type": "module", "filename": "t.0.wasm", "module_type": "binary"},
        {"type": "assert_exception", "action": invoke("add", i32(1), i32(2))},
        {"type": "assert_exception", "action": invoke("div", i32(1), i32(0))},
    ]
    result = run_script(write_script(tmp_path, wat, commands))
    assert [o.status for o in result.outcomes] == [PASSED, FAILED, FAILED]
    assert result.outcomes[1].reason == "expected an uncaught exception, returned 1 results"
    assert result.outcomes[2].reason.startswith("expected an uncaught exception, trapped: integer divide by zero")


def test_null_references_of_3_0() -> None:
    refs = Refs.__new__(Refs)
    for t in ("refnull", "nullref", "nullfuncref", "nullexternref", "nullexnref"):
        assert matches({"type": t}, [0], refs) and not matches({"type": t}, [8], refs)
    for t in ("anyref", "eqref", "structref", "arrayref", "i31ref"):
        assert matches({"type": t, "value": "null"}, [0], refs)
        assert not matches({"type": t}, [0], refs)
    # an i31 ((v << 1) | 1) is an i31ref, an eqref and an anyref; a host object (handle << 2 | 2) only an anyref
    assert all(matches({"type": t}, [0xB], refs) for t in ("i31ref", "eqref", "anyref"))
    assert matches({"type": "anyref"}, [6], refs)
    assert not any(matches({"type": t}, [6], refs) for t in ("i31ref", "eqref", "structref", "arrayref"))
    assert matches({"type": "funcref"}, [8], refs) and not matches({"type": "funcref"}, [0], refs)
    assert matches({"type": "exnref"}, [8], refs) and not matches({"type": "exnref"}, [0], refs)
    assert matches({"type": "exnref", "value": "null"}, [0], refs)


def test_unsupported_features_are_neither_malformed_nor_invalid(
    tmp_path: Path, wat: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module the core cannot load for want of a feature (none today: Module stands in for such a core)
    fails every assertion about it."""
    from wasmroutines import UnsupportedFeature
    from wasmroutines.spectest import script

    def unsupported(wasm: bytes, features: object = None) -> None:
        raise UnsupportedFeature("a feature is not supported", 11)

    monkeypatch.setattr(script, "Module", unsupported)
    (tmp_path / "m.wasm").write_bytes(wat("(module)"))
    commands = [
        {"type": "assert_malformed", "filename": "m.wasm", "module_type": "binary", "text": "malformed section id"},
        {"type": "assert_invalid", "filename": "m.wasm", "module_type": "binary", "text": "type mismatch"},
        {"type": "module", "filename": "m.wasm", "module_type": "binary"},
    ]
    result = run_script(write_script(tmp_path, wat, commands))
    assert [o.status for o in result.outcomes] == [FAILED, FAILED, FAILED]
    assert "got UnsupportedFeature: unsupported module at offset 0xb: a feature is not supported" in (
        result.outcomes[0].reason
    )
    assert result.outcomes[2].reason.endswith("a feature is not supported")


def test_the_folder_table_sums_each_group_folder_and_the_top_level(tmp_path: Path) -> None:
    def result(rel: str, *statuses: str) -> FileResult:
        outcomes = [Outcome(i, "assert_return", s) for i, s in enumerate(statuses)]
        return FileResult(rel, str(tmp_path / "suite" / rel), outcomes)

    table = folder_table(
        [str(tmp_path / "suite")],
        [
            result("address/address.json", PASSED, PASSED, FAILED),
            result("memory64/load64/load64.json", PASSED, SKIPPED),
            result("memory64/store64/store64.json", FAILED),
        ],
    )
    assert table.splitlines()[2:] == [
        "| suite (top level) | 3 | 2 | 1 | 0 |",
        "| suite/memory64 | 3 | 1 | 1 | 1 |",
    ]
