"""wasmroutines.wasmer, section 1 of WASMER_API.md: the module map, import forms, versions, compiler stand-ins."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

from wasmroutines import wasmer

CLASSES = [
    "Buffer", "ExportType", "Exports", "ExportsIterator", "Float32Array", "Float64Array", "Function", "FunctionType",
    "Global", "GlobalType", "ImportObject", "ImportType", "Instance", "Int16Array", "Int32Array", "Int64Array",
    "Int8Array", "Memory", "MemoryType", "Module", "Store", "Table", "TableType", "Uint16Array", "Uint32Array",
    "Uint64Array", "Uint8Array", "Value",
]  # fmt: skip


def test_the_28_classes_and_type_enum() -> None:
    assert len(CLASSES) == 28
    for name in CLASSES:
        assert inspect.isclass(getattr(wasmer, name)), name
    assert issubclass(wasmer.Type, int)


def test_functions_and_versions() -> None:
    assert callable(wasmer.wat2wasm) and callable(wasmer.wasm2wat)
    assert wasmer.__version__ == "1.1.0"
    assert isinstance(wasmer.__core_version__, str)
    assert wasmer.__doc__


def test_submodules_are_module_objects() -> None:
    for name in ("engine", "target", "wasi"):
        assert inspect.ismodule(getattr(wasmer, name))
    assert {"Universal", "Dylib", "JIT", "Native"} <= set(dir(wasmer.engine))
    assert {"Triple", "CpuFeatures", "Target"} <= set(dir(wasmer.target))
    assert {"Version", "get_version", "StateBuilder", "Environment"} <= set(dir(wasmer.wasi))


def test_both_import_forms_give_the_same_objects() -> None:
    from wasmroutines.wasmer.engine import Universal

    import wasmroutines.wasmer as alias

    assert alias is wasmer
    assert Universal is wasmer.engine.Universal
    assert importlib.import_module("wasmroutines.wasmer.wasi") is wasmer.wasi


def test_star_import_gives_the_api() -> None:
    namespace: dict[str, object] = {}
    exec("from wasmroutines.wasmer import *", namespace)
    assert {"Store", "Module", "Instance", "engine", "wat2wasm"} <= set(namespace)


def test_fresh_interpreter_imports() -> None:
    code = (
        "import wasmroutines.wasmer as wasmer; from wasmroutines.wasmer import engine, Store;"
        "from wasmroutines.wasmer_compiler_cranelift import Compiler;"
        "print(Store(engine.Universal(Compiler)).compiler_name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "cranelift"


@pytest.mark.parametrize("name", ["cranelift", "llvm", "singlepass"])
def test_compiler_stand_ins(name: str) -> None:
    module = importlib.import_module(f"wasmroutines.wasmer_compiler_{name}")
    assert module.Compiler.into_opaque_compiler().name == name
    store = wasmer.Store(wasmer.engine.Universal(module.Compiler))
    assert (store.engine_name, store.compiler_name) == ("universal", name)
    # A store made with any compiler runs code (engines are reported, never needed).
    instance = wasmer.Instance(wasmer.Module(store, '(module (func (export "f") (result i32) i32.const 3))'))
    assert instance.exports.f() == 3


def test_errors_module() -> None:
    assert issubclass(wasmer.errors.WasmerTrap, RuntimeError)
    assert issubclass(wasmer.errors.ExportNotFound, LookupError)
    assert issubclass(wasmer.errors.ExportNotFound, AttributeError)
