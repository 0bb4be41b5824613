"""errors.py: one root, compile errors with offsets, traps with a wasm backtrace."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest

import wasmroutines as wr
from wasmroutines import Frame, InvalidModule, MalformedModule, Module, Trap, WasmroutinesError


def test_hierarchy() -> None:
    assert issubclass(WasmroutinesError, RuntimeError)
    for cls in (wr.CompileError, wr.LinkError, Trap, wr.ResourceLimitError, wr.OutOfFuel, wr.ImmutableGlobalError):
        assert issubclass(cls, WasmroutinesError)
    assert issubclass(MalformedModule, wr.CompileError) and issubclass(InvalidModule, wr.CompileError)


def test_compile_error_str() -> None:
    e = InvalidModule("type mismatch", 0x1A)
    assert str(e) == "invalid module at offset 0x1a: type mismatch"
    assert (e.reason, e.offset) == ("type mismatch", 0x1A)
    assert str(MalformedModule("unexpected end", 8)) == "malformed module at offset 0x8: unexpected end"
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == str(e)


def test_trap_str_has_backtrace() -> None:
    t = Trap("integer divide by zero", 3, [Frame(3, "div", "m", 0x1A), Frame(4, None, None, 0x20)])
    assert str(t) == "integer divide by zero\n    at div (m[3]:0x1a)\n    at <unnamed> (<module>[4]:0x20)"
    assert t.kind == "integer divide by zero" and t.code == 3 and len(t.frames) == 2


def test_malformed_bytes() -> None:
    with pytest.raises(MalformedModule) as info:
        Module(b"\x00asm\x02\x00\x00\x00")
    assert info.value.reason == "unknown binary version"
    with pytest.raises(MalformedModule) as info:
        Module(b"nope")
    assert "magic header not detected" in str(info.value)


def test_invalid_module_offset(wat: Callable[[str], bytes]) -> None:
    wasm = wat("(module (func (result i32) i64.const 1))")
    with pytest.raises(InvalidModule) as info:
        Module(wasm)
    assert info.value.reason.startswith("type mismatch")
    assert 0 < info.value.offset <= len(wasm)


def test_trap_from_wasm(instantiate: Callable[..., wr.Instance]) -> None:
    inst = instantiate(
        """(module $mod
             (func $div (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
             (func $outer (export "f") (param i32) (result i32) i32.const 1 local.get 0 call $div))"""
    )
    with pytest.raises(Trap) as info:
        inst.exports.f(0)
    trap = info.value
    assert trap.kind == "integer divide by zero"
    assert [(f.func_index, f.func_name, f.module_name) for f in trap.frames] == [(0, "div", "mod"), (1, "outer", "mod")]
    assert str(trap).splitlines()[1].startswith("    at div (mod[0]:0x")
    assert inst.exports.f(1) == 1  # the store's thread is usable after a trap


def test_reports_of_threads_at_the_same_place_are_said_once() -> None:
    from wasmroutines.core.errors import Deadlock, Frame, ThreadReport

    at = (Frame(3, "worker", None, 0x40), Frame(1, "main", None, 0x20))
    reports = [ThreadReport(0, "main", "blocked", "join thread 1", None)]
    reports += [ThreadReport(i, None, "waiting", "futex 0x10", 0x10, at) for i in range(1, 1001)]
    reports.append(ThreadReport(1001, None, "waiting", "futex 0x20", 0x20, at))
    assert str(Deadlock(reports)).splitlines() == [
        "deadlock: all 1002 threads are blocked",
        "thread 0 (main): blocked on join thread 1",
        "1000 threads (1-1000): waiting on futex 0x10",
        "    at worker (<module>[3]:0x40)",
        "    at main (<module>[1]:0x20)",
        "thread 1001: waiting on futex 0x20",
        "    at worker (<module>[3]:0x40)",
        "    at main (<module>[1]:0x20)",
    ]


def test_a_deep_recursion_backtrace_says_the_repeated_frame_once() -> None:
    from wasmroutines.core.errors import Frame, trap

    f, g = Frame(0, "f", None, 0x30), Frame(1, "g", None, 0x50)
    text = str(trap("call stack exhausted", 0, [f] * 64 + [g]))
    assert text.splitlines()[1:] == [
        "    at f (<module>[0]:0x30)",
        "    ... the same frame 63 more times",
        "    at g (<module>[1]:0x50)",
    ]
