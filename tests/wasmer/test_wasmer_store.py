"""wasmroutines.wasmer: Store, engine and target (WASMER_API.md "Store", "engine", "target")."""

from __future__ import annotations

import warnings

import pytest

from wasmroutines import wasmer
from wasmroutines.wasmer import Store, engine, target
from wasmroutines.wasmer_compiler_cranelift import Compiler as Cranelift
from wasmroutines.wasmer_compiler_llvm import Compiler as LLVM


def test_default_store_reports_universal_cranelift() -> None:
    store = Store()
    assert (store.engine_name, store.compiler_name) == ("universal", "cranelift")


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (engine.Universal, ("universal", None)),
        (engine.Dylib, ("dylib", None)),
        (engine.JIT, ("universal", None)),
        (engine.Native, ("dylib", None)),
    ],
)
def test_engines_report_names(make: type, names: tuple[str, None]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        store = Store(make())
    assert (store.engine_name, store.compiler_name) == names


def test_deprecated_engines_are_subclasses_and_warn() -> None:
    with pytest.warns(DeprecationWarning):
        jit = engine.JIT()
    with pytest.warns(DeprecationWarning):
        native = engine.Native()
    assert isinstance(jit, engine.Universal) and isinstance(native, engine.Dylib)


def test_engine_with_compiler_and_target() -> None:
    t = target.Target(target.Triple("x86_64-apple-darwin"), target.CpuFeatures())
    store = Store(engine.Dylib(LLVM, t))
    assert (store.engine_name, store.compiler_name) == ("dylib", "llvm")
    assert Store(engine.Universal(Cranelift)).compiler_name == "cranelift"


def test_engine_rejects_a_non_compiler() -> None:
    with pytest.raises(AttributeError):
        engine.Universal(42)
    with pytest.raises(TypeError):
        engine.Universal(None, "x86_64")  # type: ignore[arg-type]


def test_unknown_engine() -> None:
    with pytest.raises(TypeError, match="^Unknown engine$"):
        Store(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^Unknown engine$"):
        Store(Cranelift)  # type: ignore[arg-type]


def test_headless_store_compiles_and_runs() -> None:
    # wasmer 1.1's headless Universal refused to compile; an interpreter always runs.
    store = Store(engine.Universal())
    module = wasmer.Module(store, '(module (func (export "f") (result i32) i32.const 1))')
    assert wasmer.Instance(module).exports.f() == 1


def test_store_properties_are_read_only() -> None:
    store = Store()
    with pytest.raises(AttributeError):
        store.engine_name = "dylib"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("triple", "expected"),
    [
        ("x86_64-apple-darwin", ("x86_64", "apple", "darwin", "macho", "unknown", "little", 8, "system_v")),
        ("aarch64-unknown-linux-gnu", ("aarch64", "unknown", "linux", "elf", "gnu", "little", 8, "system_v")),
        ("x86_64-pc-windows-msvc", ("x86_64", "pc", "windows", "coff", "msvc", "little", 8, "windows_fastcall")),
        (
            "wasm32-unknown-unknown",
            ("wasm32", "unknown", "unknown", "wasm", "unknown", "little", 4, "wasm_basic_c_abi"),
        ),
        ("s390x-unknown-linux-gnu", ("s390x", "unknown", "linux", "elf", "gnu", "big", 8, "system_v")),
    ],
)
def test_triples(triple: str, expected: tuple[object, ...]) -> None:
    t = target.Triple(triple)
    got = (
        t.architecture,
        t.vendor,
        t.operating_system,
        t.binary_format,
        t.environment,
        t.endianness,
        t.pointer_width,
        t.default_calling_convention,
    )
    assert got == expected
    assert str(t) == triple


def test_triple_errors_and_host() -> None:
    with pytest.raises(ValueError, match="^Unrecognized architecture: garbage$"):
        target.Triple("garbage")
    with pytest.raises(TypeError):
        target.Triple(42)  # type: ignore[arg-type]
    host = target.Triple.host()
    assert host.pointer_width in (4, 8) and host.endianness in ("little", "big")


def test_cpu_features() -> None:
    features = target.CpuFeatures()
    for name in target.CPU_FEATURES:
        features.add(name)
    with pytest.raises(ValueError, match="^CpuFeature bogus not recognized$"):
        features.add("bogus")


def test_target() -> None:
    triple = target.Triple("aarch64-unknown-linux-gnu")
    assert target.Target(triple).triple is triple
    with pytest.raises(TypeError):
        target.Target("aarch64-unknown-linux-gnu")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        target.Target(triple, ["sse2"])  # type: ignore[arg-type]
