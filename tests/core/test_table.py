"""table.py: get/set/grow/size for funcref and externref tables."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import Function, FuncType, Instance, ResourceLimitError, Store, Table, TableType, ValType


def test_funcref_table(store: Store, instantiate: Callable[..., Instance]) -> None:
    t = Table(store, TableType(ValType.FUNCREF, 2, 4))
    inst = instantiate(
        """(module (import "env" "t" (table 2 funcref)) (type $v (func (result i32)))
             (func $seven (export "seven") (result i32) i32.const 7)
             (func (export "call") (param i32) (result i32) local.get 0 call_indirect (type $v))
             (elem (i32.const 1) $seven))""",
        {"env": {"t": t}},
    )
    assert len(t) == t.size == 2 and t.get(0) is None
    assert t.get(1) == inst.exports.seven
    host = Function(store, lambda: 9, FuncType((), (ValType.I32,)))
    t.set(0, host)
    assert inst.exports.call(0) == 9 and inst.exports.call(1) == 7
    assert t.grow(2, host) == 2 and t.size == 4 and t.get(3) == host
    with pytest.raises(ResourceLimitError):
        t.grow(1)
    with pytest.raises(IndexError):
        t.get(4)
    with pytest.raises(IndexError):
        t.set(-1, None)
    with pytest.raises(TypeError):
        t.set(0, "not a function")
    assert t.type == TableType(ValType.FUNCREF, 4, 4)


def test_externref_table(store: Store) -> None:
    marker = object()
    t = Table(store, TableType(ValType.EXTERNREF, 1), marker)
    assert t.get(0) is marker
    t.set(0, None)
    assert t.get(0) is None
    with pytest.raises(ValueError):
        Table(store, TableType(ValType.I32, 1))
