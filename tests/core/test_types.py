"""types.py: value types and the frozen type descriptors."""

from __future__ import annotations

import dataclasses

import pytest

from wasmroutines import FuncType, GlobalType, MemoryType, TableType, ValType


def test_valtype_binary_codes() -> None:
    assert [int(t) for t in ValType] == [
        0x7F,
        0x7E,
        0x7D,
        0x7C,
        0x7B,
        0x70,
        0x6F,
        0x69,
        0x74,
        0x6E,
        0x6D,
        0x6C,
        0x6B,
        0x6A,
        0x71,
    ]
    assert ValType(0x7F) is ValType.I32
    assert ValType.V128.slots == 2 and ValType.I64.slots == 1 and ValType.EXNREF.slots == 1
    assert ValType.FUNCREF.is_ref and ValType.EXTERNREF.is_ref and not ValType.F64.is_ref
    assert ValType.EXNREF.is_ref and ValType.NULLEXNREF.is_ref and str(ValType.EXNREF) == "exnref"
    assert str(ValType.EXTERNREF) == "externref"


def test_functype_normalizes_to_tuples_and_hashes() -> None:
    a = FuncType([ValType.I32, 0x7E], [ValType.F32])
    b = FuncType((ValType.I32, ValType.I64), (ValType.F32,))
    assert a == b and hash(a) == hash(b)
    assert a.params == (ValType.I32, ValType.I64)
    assert str(a) == "(func (param i32 i64) (result f32))"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.params = ()  # type: ignore[misc]


def test_other_types() -> None:
    assert MemoryType(1) == MemoryType(1, None, False)
    assert TableType(0x70, 1, 2).type is ValType.FUNCREF
    assert GlobalType(ValType.I64, mutable=True).mutable
    with pytest.raises(ValueError):
        GlobalType(0x42)
