"""module.py: loading, imports, exports, custom sections, names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wasmroutines import (
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    MalformedModule,
    MemoryType,
    Module,
    TableType,
    ValType,
)

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

TEXT = """
(module $named
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "mem" (memory 1 2))
  (import "env" "tab" (table 3 funcref))
  (import "env" "g" (global (mut f64)))
  (func (export "run") (result i32) i32.const 0)
  (export "m" (memory 0))
  (table (export "t") 1 5 externref)
  (global (export "c") i64 (i64.const 1))
  (@custom "hello" (before first) "abc")
  (@custom "hello" (after data) "xyz")
)
"""


def test_imports_and_exports(wat: Callable[[str], bytes]) -> None:
    m = Module(wat(TEXT))
    assert m.imports == [
        ImportType("env", "f", FuncType((I32, I64), (F32,))),
        ImportType("env", "mem", MemoryType(1, 2)),
        ImportType("env", "tab", TableType(ValType.FUNCREF, 3)),
        ImportType("env", "g", GlobalType(F64, mutable=True)),
    ]
    assert m.exports == [
        ExportType("run", FuncType((), (I32,))),
        ExportType("m", MemoryType(1, 2)),
        ExportType("t", TableType(ValType.EXTERNREF, 1, 5)),
        ExportType("c", GlobalType(I64)),
    ]


def test_name_and_custom_sections(wat: Callable[[str], bytes]) -> None:
    m = Module(wat(TEXT))
    assert m.name == "named"
    assert m.custom_sections("hello") == [b"abc", b"xyz"]
    assert m.custom_sections("absent") == []
    assert Module(wat("(module)")).name is None


def test_from_file_and_validate(tmp_path: Path, wat: Callable[[str], bytes]) -> None:
    path = tmp_path / "m.wasm"
    path.write_bytes(wat('(module (func (export "x")))'))
    assert [e.name for e in Module.from_file(path).exports] == ["x"]
    assert Module.validate(path.read_bytes())
    assert not Module.validate(b"\x00asm")


def test_errors() -> None:
    with pytest.raises(MalformedModule) as info:
        Module(b"\x00asm\x01\x00\x00")
    assert info.value.offset >= 4
    with pytest.raises(TypeError):
        Module("(module)")  # type: ignore[arg-type]


def test_module_is_store_independent(wat: Callable[[str], bytes]) -> None:
    from wasmroutines import Instance, Store

    m = Module(wat('(module (global $g (export "g") (mut i32) (i32.const 5)))'))
    a, b = Instance(Store(), m), Instance(Store(), m)
    a.exports.g.value = 6
    assert (a.exports.g.value, b.exports.g.value) == (6, 5)
