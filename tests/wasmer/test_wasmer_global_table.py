"""wasmroutines.wasmer: Global and Table (WASMER_API.md "Global", "Table")."""

from __future__ import annotations

import pytest

from wasmroutines.wasmer import Function, Global, Instance, Module, Store, Table, TableType, Type, Value


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.mark.parametrize(
    ("value", "expected", "text"),
    [
        (Value.i32(42), 42, "GlobalType(type: I32, mutable: false)"),
        (Value.i64(-5), -5, "GlobalType(type: I64, mutable: false)"),
        (Value.f32(0.1), 0.10000000149011612, "GlobalType(type: F32, mutable: false)"),
        (Value.f64(0.1), 0.1, "GlobalType(type: F64, mutable: false)"),
        (Value.v128(2**100), 2**100, "GlobalType(type: V128, mutable: false)"),
    ],
)
def test_global_values(store: Store, value: Value, expected: object, text: str) -> None:
    g = Global(store, value)
    assert g.value == expected
    assert g.mutable is False
    assert str(g.type) == text


def test_global_needs_a_value(store: Store) -> None:
    with pytest.raises(TypeError):
        Global(store, 42)  # type: ignore[arg-type]


def test_mutable_global(store: Store) -> None:
    g = Global(store, Value.i32(1), mutable=True)
    assert g.mutable and g.type.mutable
    g.value = -7
    assert g.value == -7
    g.value = 2**32 - 1
    assert g.value == -1
    with pytest.raises(OverflowError):
        g.value = 2**32
    with pytest.raises(TypeError):
        g.value = 1.5
    f = Global(store, Value.f64(0), mutable=True)
    with pytest.raises(TypeError):
        f.value = 1  # int for a float global, as wasmer


def test_immutable_global(store: Store) -> None:
    g = Global(store, Value.i64(1))
    with pytest.raises(RuntimeError) as info:
        g.value = 2
    assert str(info.value) == "The global variable is not mutable, cannot set a new value"
    assert g.value == 1


def test_global_writes_seen_both_ways(store: Store) -> None:
    module = Module(
        store,
        """(module (import "env" "g" (global $g (mut i32)))
             (func (export "get") (result i32) global.get $g)
             (func (export "inc") (global.set $g (i32.add (global.get $g) (i32.const 1)))))""",
    )
    g = Global(store, Value.i32(10), mutable=True)
    instance = Instance(module, {"env": {"g": g}})
    instance.exports.inc()
    assert g.value == 11
    g.value = 100
    assert instance.exports.get() == 100


def test_exported_global(store: Store) -> None:
    instance = Instance(Module(store, '(module (global (export "g") (mut f32) (f32.const 1.5)))'))
    g = instance.exports.g
    assert isinstance(g, Global) and g.value == 1.5
    g.value = 0.1
    assert instance.exports.g.value == 0.10000000149011612


def test_table(store: Store) -> None:
    table = Table(store, TableType(Type.FUNC_REF, 2, 10), None)
    assert table.size == 2
    assert str(table.type) == "TableType(type: FuncRef, minimum: 2, maximum: Some(10))"
    externs = Table(store, TableType(Type.EXTERN_REF, 1), object())
    assert externs.size == 1


def test_table_with_a_function(store: Store) -> None:
    f = Function(store, seven)
    table = Table(store, TableType(Type.FUNC_REF, 1), f)
    module = Module(
        store,
        """(module (import "env" "t" (table 1 funcref)) (type $t (func (result i32)))
             (func (export "call") (result i32) (call_indirect (type $t) (i32.const 0))))""",
    )
    assert Instance(module, {"env": {"t": table}}).exports.call() == 7


def seven() -> int:
    return 7


def test_table_rejects_numbers(store: Store) -> None:
    with pytest.raises(RuntimeError) as info:
        Table(store, TableType(Type.FUNC_REF, 1), Value.i32(0))
    assert str(info.value) == "RuntimeError: val is not reference"
    with pytest.raises(RuntimeError, match="val is not reference"):
        Table(store, TableType(Type.I32, 1), None)
    with pytest.raises(TypeError):
        Table(store, TableType(Type.FUNC_REF, 1), 42)
    with pytest.raises(TypeError):
        Table(store, "funcref", None)  # type: ignore[arg-type]


def test_exported_table(store: Store) -> None:
    instance = Instance(Module(store, '(module (table (export "t") 3 7 funcref))'))
    t = instance.exports.t
    assert isinstance(t, Table) and t.size == 3
    assert (t.type.minimum, t.type.maximum, t.type.type) == (3, 7, Type.FUNC_REF)
