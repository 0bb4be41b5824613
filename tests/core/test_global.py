"""global_.py: values of every type, mutability."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import Global, GlobalType, ImmutableGlobalError, Instance, Store, ValType


def test_values(store: Store) -> None:
    assert Global(store, GlobalType(ValType.I32), -1).value == -1
    assert Global(store, GlobalType(ValType.I64), 1 << 63).value == -(1 << 63)
    assert Global(store, GlobalType(ValType.F32), 0.1).value == 0.10000000149011612
    assert Global(store, GlobalType(ValType.F64), 0.1).value == 0.1
    assert Global(store, GlobalType(ValType.V128), (1 << 128) - 1).value == (1 << 128) - 1
    assert Global(store, GlobalType(ValType.EXTERNREF)).value is None
    assert Global(store, GlobalType(ValType.I32)).value == 0


def test_mutability(store: Store) -> None:
    g = Global(store, GlobalType(ValType.I32, mutable=True), 1)
    g.value = 2
    assert g.value == 2 and g.mutable
    c = Global(store, GlobalType(ValType.I32), 1)
    with pytest.raises(ImmutableGlobalError):
        c.value = 3


def test_shared_with_wasm(store: Store, instantiate: Callable[..., Instance]) -> None:
    g = Global(store, GlobalType(ValType.I64, mutable=True), 5)
    inst = instantiate(
        """(module (import "env" "g" (global $g (mut i64)))
             (func (export "inc") (global.set $g (i64.add (global.get $g) (i64.const 1)))))""",
        {"env": {"g": g}},
    )
    inst.exports.inc()
    assert g.value == 6
    g.value = -10
    inst.exports.inc()
    assert g.value == -9
