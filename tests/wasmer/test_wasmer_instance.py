"""wasmroutines.wasmer: Instance, Exports, ExportsIterator, ImportObject and linking (WASMER_API.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from wasmroutines import wasmer
from wasmroutines.wasmer import (
    Exports,
    ExportsIterator,
    Function,
    FunctionType,
    Global,
    ImportObject,
    Instance,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Type,
    Value,
)

THIRTEEN = "(module " + " ".join(f'(func (export "f{i}") (result i32) i32.const {i})' for i in range(13)) + ")"
IMPORTS = """(module
  (import "env" "f" (func $f (param i32)))
  (import "env" "mem" (memory 2))
  (import "env" "g" (global i64))
  (import "env" "t" (table 1 funcref))
  (func (export "call") (param i32) (call $f (local.get 0))))"""


@pytest.fixture
def store() -> Store:
    return Store()


def imports_for(store: Store, calls: list[int]) -> dict[str, dict[str, object]]:
    return {
        "env": {
            "f": Function(store, calls.append, FunctionType([Type.I32], [])),
            "mem": Memory(store, MemoryType(2)),
            "g": Global(store, Value.i64(1)),
            "t": Table(store, TableType(Type.FUNC_REF, 1), None),
        }
    }


def test_instance_without_imports(store: Store) -> None:
    instance = Instance(Module(store, THIRTEEN))
    assert instance.exports.f12() == 12


def test_dict_imports(store: Store) -> None:
    calls: list[int] = []
    instance = Instance(Module(store, IMPORTS), imports_for(store, calls))
    instance.exports.call(7)
    assert calls == [7]


def test_defaultdict_imports_do_not_grow(store: Store) -> None:
    calls: list[int] = []
    imports: defaultdict[str, dict[str, object]] = defaultdict(dict)
    imports.update(imports_for(store, calls))
    imports["unused"]["x"] = Memory(store, MemoryType(1))  # extra namespaces and names are ignored
    Instance(Module(store, IMPORTS), imports).exports.call(3)
    assert calls == [3] and set(imports) == {"env", "unused"}


def test_import_object(store: Store) -> None:
    calls: list[int] = []
    import_object = ImportObject()
    import_object.register("env", imports_for(store, calls)["env"])  # type: ignore[arg-type]
    assert import_object.contains_namespace("env") and not import_object.contains_namespace("wasi")
    as_dict = import_object.to_dict()
    assert set(as_dict) == {"env"} and set(as_dict["env"]) == {"f", "mem", "g", "t"}
    Instance(Module(store, IMPORTS), import_object).exports.call(5)
    assert calls == [5]


def test_import_object_errors(store: Store) -> None:
    import_object = ImportObject()
    with pytest.raises(TypeError, match="^'int' object cannot be converted to 'PyString'$"):
        import_object.register(1, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r'^`ImportObject` cannot register the given type `Ok\("int"\)`$'):
        import_object.register("env", {"x": 42})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="^'int' object cannot be converted to 'PyDict'$"):
        import_object.register("env", 42)  # type: ignore[arg-type]


def test_import_object_register_replaces(store: Store) -> None:
    import_object = ImportObject()
    memory = Memory(store, MemoryType(1))
    import_object.register("env", {"a": memory})
    import_object.register("env", {"b": memory})
    assert set(import_object.to_dict()["env"]) == {"b"}


@pytest.mark.parametrize("bad", [42, [("env", {})], "env"])
def test_import_object_not_a_dict(store: Store, bad: object) -> None:
    with pytest.raises(TypeError, match="object cannot be converted to 'PyDict'$"):
        Instance(Module(store, THIRTEEN), bad)  # type: ignore[arg-type]


def test_namespace_not_a_dict(store: Store) -> None:
    with pytest.raises(TypeError, match="^'int' object cannot be converted to 'PyDict'$"):
        Instance(Module(store, THIRTEEN), {"env": 42})
    with pytest.raises(TypeError, match="cannot register the given type"):
        Instance(Module(store, THIRTEEN), {"env": {"f": lambda: None}})


def test_unknown_import(store: Store) -> None:
    module = Module(store, '(module (import "env" "f" (func (param i32))))')
    with pytest.raises(RuntimeError) as info:
        Instance(module)
    assert str(info.value) == (
        'Error while importing "env"."f": unknown import. '
        "Expected Function(FunctionType { params: [I32], results: [] })"
    )
    with pytest.raises(RuntimeError, match="unknown import"):
        Instance(module, {"env": {}})


def test_incompatible_memory(store: Store) -> None:
    module = Module(store, '(module (import "env" "mem" (memory 2)))')
    with pytest.raises(RuntimeError) as info:
        Instance(module, {"env": {"mem": Memory(store, MemoryType(1))}})
    assert str(info.value) == (
        'Error while importing "env"."mem": incompatible import type. '
        "Expected Memory(MemoryType { minimum: 2 pages, maximum: None, shared: false }) "
        "but received Memory(MemoryType { minimum: 1 pages, maximum: None, shared: false })"
    )


@pytest.mark.parametrize(
    ("wanted", "given"),
    [
        ("(func (param i32))", lambda s: Function(s, lambda: None)),
        ("(func)", lambda s: Memory(s, MemoryType(1))),
        ("(memory 1 2)", lambda s: Memory(s, MemoryType(1))),
        ("(memory 1 2)", lambda s: Memory(s, MemoryType(1, 3))),
        ("(memory 1 2 shared)", lambda s: Memory(s, MemoryType(1, 2))),
        ("(global i32)", lambda s: Global(s, Value.i32(1), mutable=True)),
        ("(global i32)", lambda s: Global(s, Value.i64(1))),
        ("(table 2 funcref)", lambda s: Table(s, TableType(Type.FUNC_REF, 1))),
        ("(table 1 funcref)", lambda s: Table(s, TableType(Type.EXTERN_REF, 1))),
    ],
)
def test_incompatible_imports(store: Store, wanted: str, given: object) -> None:
    module = Module(store, f'(module (import "env" "x" {wanted}))')
    with pytest.raises(RuntimeError, match=r'^Error while importing "env"."x": incompatible import type\. Expected '):
        Instance(module, {"env": {"x": given(store)}})  # type: ignore[operator]


MEMORY_USE = "(i32.store8 (i32.const 100) (i32.const 42)) (memory.size)"
TABLE_USE = "(drop (table.grow 0 (ref.null func) (i32.const 1))) (table.size 0)"


@pytest.mark.parametrize(
    ("wanted", "given", "use", "seen", "expected"),
    [
        ("(memory 1 2)", lambda s: Memory(s, MemoryType(2, 2)), MEMORY_USE, lambda m: m.uint8_view()[100], (2, 42)),
        ("(memory 1)", lambda s: Memory(s, MemoryType(3, 5)), MEMORY_USE, lambda m: m.uint8_view()[100], (3, 42)),
        (
            "(memory 1 2 shared)",
            lambda s: Memory(s, MemoryType(1, 2, shared=True)),
            MEMORY_USE,
            lambda m: m.uint8_view()[100],
            (1, 42),
        ),
        ("(table 1 funcref)", lambda s: Table(s, TableType(Type.FUNC_REF, 4, 8)), TABLE_USE, lambda t: t.size, (5, 5)),
        (
            "(global (mut f32))",
            lambda s: Global(s, Value.f32(1), mutable=True),
            "(global.set 0 (f32.add (global.get 0) (f32.const 1.5))) (i32.const 7)",
            lambda g: g.value,
            (7, 2.5),
        ),
    ],
)
def test_compatible_imports(
    store: Store,
    wanted: str,
    given: Callable[[Store], Any],
    use: str,
    seen: Callable[[Any], object],
    expected: tuple[int, object],
) -> None:
    # The instance links the very object given, with its own limits rather than the import's (memory.size
    # and table.size count the given pages and elements), and the host sees what the wasm code did to it.
    module = Module(store, f'(module (import "env" "x" {wanted}) (func (export "use") (result i32) {use}))')
    x = given(store)
    assert (Instance(module, {"env": {"x": x}}).exports.use(), seen(x)) == expected


def test_import_from_another_store(store: Store) -> None:
    module = Module(store, '(module (import "env" "m" (memory 1)))')
    with pytest.raises(RuntimeError, match="another store"):
        Instance(module, {"env": {"m": Memory(Store(), MemoryType(1))}})


def test_start_function_trap_is_runtime_error(store: Store) -> None:
    with pytest.raises(RuntimeError, match="^RuntimeError: unreachable"):
        Instance(Module(store, "(module (func $s unreachable) (start $s))"))


def test_initialization_trap(store: Store) -> None:
    with pytest.raises(RuntimeError, match="out of bounds"):
        Instance(Module(store, '(module (memory 1) (data (i32.const 65535) "ab"))'))


def test_start_function_host_exception_propagates(store: Store) -> None:
    class Boom(Exception):
        pass

    def fail() -> None:
        raise Boom("from the host")

    module = Module(store, '(module (import "env" "f" (func $f)) (start $f))')
    with pytest.raises(Boom, match="from the host"):
        Instance(module, {"env": {"f": Function(store, fail)}})


def test_exports_same_object_fresh_wrappers(store: Store) -> None:
    instance = Instance(Module(store, THIRTEEN))
    assert instance.exports is instance.exports
    assert isinstance(instance.exports, Exports)
    a, b = instance.exports.f0, instance.exports.f0
    assert a is not b and a != b  # as wasmer: a fresh wrapper per access
    assert a() == b() == 0


def test_missing_export(store: Store) -> None:
    exports = Instance(Module(store, THIRTEEN)).exports
    with pytest.raises(LookupError) as info:
        exports.foo  # noqa: B018
    assert str(info.value) == "Export `foo` does not exist."
    with pytest.raises(AttributeError):
        exports.foo  # noqa: B018
    # wasmer 1.1 raised from hasattr(); here it answers.
    assert hasattr(exports, "f3") and not hasattr(exports, "foo")
    assert getattr(exports, "foo", None) is None


def test_exports_len_iter_dir(store: Store) -> None:
    exports = Instance(Module(store, THIRTEEN)).exports
    assert len(exports) == 13
    iterator = iter(exports)
    assert isinstance(iterator, ExportsIterator) and iter(iterator) is iterator
    pairs = list(iterator)
    assert [name for name, _ in pairs] == [f"f{i}" for i in range(13)]
    assert all(isinstance(extern, Function) and isinstance(name, str) for name, extern in pairs)
    with pytest.raises(StopIteration):
        next(iterator)
    assert {"f0", "f12"} <= set(dir(exports))
    assert "f1" in exports and "nope" not in exports
    assert exports["f2"]() == 2
    with pytest.raises(KeyError):
        exports["nope"]


def test_exported_kinds(store: Store) -> None:
    instance = Instance(
        Module(
            store,
            """(module (memory (export "m") 1) (global (export "g") (mut i32) (i32.const 4))
                 (table (export "t") 2 funcref) (func (export "f")))""",
        )
    )
    e = instance.exports
    assert isinstance(e.m, Memory) and isinstance(e.g, wasmer.Global) and isinstance(e.t, Table)
    assert isinstance(e.f, Function)


def test_shared_memory_imported_by_two_instances(store: Store) -> None:
    memory = Memory(store, MemoryType(1, 1, shared=True))
    text = """(module (import "env" "m" (memory 1 1 shared))
        (func (export "add") (param i32) (result i32) (i32.atomic.rmw.add (i32.const 0) (local.get 0))))"""
    a = Instance(Module(store, text), {"env": {"m": memory}})
    b = Instance(Module(store, text), {"env": {"m": memory}})
    assert a.exports.add(2) == 0
    assert b.exports.add(3) == 2
    assert memory.uint32_view()[0] == 5
