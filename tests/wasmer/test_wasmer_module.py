"""wasmroutines.wasmer: Module (WASMER_API.md "Module"), serialization included."""

from __future__ import annotations

import pytest

from wasmroutines import wasmer
from wasmroutines.wasmer import FunctionType, GlobalType, MemoryType, Module, Store, TableType, Type

EMPTY = b"\x00asm\x01\x00\x00\x00"
TEXT = """(module $named
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "mem" (memory 1 2))
  (import "env" "tab" (table 3 funcref))
  (import "env" "g" (global (mut f64)))
  (func (export "run") (result i32) i32.const 0)
  (export "m" (memory 0))
  (table (export "t") 0 externref)
  (global (export "c") i64 (i64.const 1)))"""


@pytest.fixture
def store() -> Store:
    return Store()


def test_accepts_bytes_and_str(store: Store) -> None:
    assert Module(store, EMPTY).exports == []
    assert Module(store, "(module)").exports == []
    assert Module(store, b"(module)").imports == []  # bytes that are not binary wasm are WAT


@pytest.mark.parametrize("bad", [bytearray(EMPTY), memoryview(EMPTY), 42, None])
def test_other_types_are_type_errors(store: Store, bad: object) -> None:
    with pytest.raises(TypeError, match="^`Module` accepts Wasm bytes or a WAT string$"):
        Module(store, bad)  # type: ignore[arg-type]


def test_store_must_be_a_store() -> None:
    with pytest.raises(TypeError):
        Module("store", EMPTY)  # type: ignore[arg-type]


def test_invalid_binary(store: Store) -> None:
    with pytest.raises(RuntimeError, match=r"^Validation error: .* \(at offset \d+\)$"):
        Module(store, EMPTY + b"\x01\x05")
    with pytest.raises(RuntimeError, match=r"^Validation error: type mismatch.* \(at offset \d+\)$"):
        Module(store, "(module (func (result i32) i64.const 1))")


def test_malformed_and_invalid_keep_core_classes(store: Store) -> None:
    from wasmroutines import InvalidModule, MalformedModule

    with pytest.raises(MalformedModule):
        Module(store, EMPTY[:-1] + b"\x02")
    with pytest.raises(InvalidModule):
        Module(store, "(module (func (result i32) i64.const 1))")


def test_bad_wat(store: Store) -> None:
    with pytest.raises(RuntimeError, match=r"^WebAssembly translation error: Error when converting wat: "):
        Module(store, "(module (func")
    with pytest.raises(RuntimeError, match="translation error"):
        Module(store, b"\xff\xfe not utf-8")


def test_validate(store: Store) -> None:
    assert Module.validate(store, EMPTY) is True
    assert Module.validate(store, EMPTY + b"\x01") is False
    assert Module.validate(store, "(module)") is False  # type: ignore[arg-type]
    assert Module.validate(store, 42) is False  # type: ignore[arg-type]
    assert Module.validate(store, b"(module)") is False


def test_name(store: Store) -> None:
    module = Module(store, TEXT)
    assert module.name == "named"
    assert Module(store, "(module)").name is None
    module.name = "other"
    assert module.name == "other"
    with pytest.raises(TypeError):
        module.name = None  # type: ignore[assignment]
    with pytest.raises(TypeError):
        module.name = 42  # type: ignore[assignment]


def test_exports_in_order_with_types(store: Store) -> None:
    exports = Module(store, TEXT).exports
    assert [e.name for e in exports] == ["run", "m", "t", "c"]
    types = [e.type for e in exports]
    assert isinstance(types[0], FunctionType) and types[0].results == [Type.I32]
    assert types[1] == MemoryType(1, 2) and str(types[1]) == "MemoryType(minimum: 1, maximum: Some(2), shared: false)"
    assert isinstance(types[2], TableType) and types[2].type == Type.EXTERN_REF
    assert isinstance(types[3], GlobalType) and (types[3].type, types[3].mutable) == (Type.I64, False)


def test_imports_in_order_with_types(store: Store) -> None:
    imports = Module(store, TEXT).imports
    assert [(i.module, i.name) for i in imports] == [("env", "f"), ("env", "mem"), ("env", "tab"), ("env", "g")]
    f, mem, tab, g = (i.type for i in imports)
    assert str(f) == "FunctionType(params: [I32, I64], results: [F32])"
    assert str(mem) == "MemoryType(minimum: 1, maximum: Some(2), shared: false)"
    assert str(tab) == "TableType(type: FuncRef, minimum: 3, maximum: None)"
    assert str(g) == "GlobalType(type: F64, mutable: true)"


def test_custom_sections(store: Store) -> None:
    wasm = EMPTY + b"\x00\x06\x03abcXY" + b"\x00\x05\x03abcZ" + b"\x00\x04\x03xyz"
    module = Module(store, wasm)
    # wasmer 1.1 returned only the last section of a name; every one is returned, in order.
    assert module.custom_sections("abc") == [b"XY", b"Z"]
    assert module.custom_sections("xyz") == [b""]
    assert module.custom_sections("none") == []
    with pytest.raises(TypeError):
        module.custom_sections(1)  # type: ignore[arg-type]


def test_serialize_round_trips_exports_and_name(store: Store) -> None:
    module = Module(store, TEXT)
    data = module.serialize()
    assert isinstance(data, bytes)
    back = Module.deserialize(store, data)
    assert back.name == "named"
    assert [(e.name, str(e.type)) for e in back.exports] == [(e.name, str(e.type)) for e in module.exports]
    assert [(i.module, i.name) for i in back.imports] == [(i.module, i.name) for i in module.imports]


def test_serialize_keeps_a_name_set_from_python(store: Store) -> None:
    module = Module(store, "(module)")
    module.name = "given"
    assert Module.deserialize(store, module.serialize()).name == "given"


def test_deserialized_module_runs_in_a_headless_store() -> None:
    data = Module(Store(), '(module (func (export "f") (result i32) i32.const 9))').serialize()
    headless = Store(wasmer.engine.Universal())
    assert wasmer.Instance(Module.deserialize(headless, data)).exports.f() == 9


@pytest.mark.parametrize("garbage", [b"", b"garbage", EMPTY, b"\x00wasmer-universal" + bytes(100)])
def test_deserialize_rejects_garbage(store: Store, garbage: bytes) -> None:
    with pytest.raises(RuntimeError, match=r"^incompatible binary: The provided bytes are not wasmer-universal$"):
        Module.deserialize(store, garbage)


def test_deserialize_rejects_damaged_artifacts(store: Store) -> None:
    data = Module(store, "(module $m)").serialize()
    with pytest.raises(RuntimeError, match="^incompatible binary: .*checksum"):
        Module.deserialize(store, data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    with pytest.raises(RuntimeError, match="^incompatible binary: "):
        Module.deserialize(store, data[:-1])
    with pytest.raises(RuntimeError, match="^incompatible binary: .*version 2"):
        Module.deserialize(store, data[:20] + b"\x02\x00\x00\x00" + data[24:])
    with pytest.raises(TypeError):
        Module.deserialize(store, "text")  # type: ignore[arg-type]


def test_threads_features_validate(store: Store) -> None:
    # wasmer 1.1 rejected shared memories and atomics; the threads extension accepts them.
    module = Module(
        store,
        """(module (memory (export "m") 1 1 shared)
             (func (export "add") (param i32 i32) (result i32)
               (i32.atomic.rmw.add (local.get 0) (local.get 1))))""",
    )
    assert module.exports[0].type == MemoryType(1, 1, shared=True)
