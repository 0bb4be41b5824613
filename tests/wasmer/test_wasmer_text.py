"""wasmroutines.wasmer: wat2wasm and wasm2wat (WASMER_API.md, "Functions")."""

from __future__ import annotations

import pytest

from wasmroutines import wasmer

EMPTY = b"\x00asm\x01\x00\x00\x00"


def test_wat2wasm_empty_module() -> None:
    assert wasmer.wat2wasm("(module)") == EMPTY


def test_wat2wasm_parse_error_is_runtime_error_with_caret() -> None:
    with pytest.raises(RuntimeError) as info:
        wasmer.wat2wasm("(module")
    message = str(info.value)
    assert "expected `)`" in message
    assert "<anon>:1:8" in message
    assert "^" in message


def test_wat2wasm_bytes_is_type_error() -> None:
    with pytest.raises(TypeError):
        wasmer.wat2wasm(b"(module)")  # type: ignore[arg-type]


def test_wasm2wat() -> None:
    assert wasmer.wasm2wat(EMPTY) == "(module)"
    text = wasmer.wasm2wat(wasmer.wat2wasm('(module (func (export "f") (param i32) (result i32) local.get 0))'))
    assert "(;0;)" in text and 'export "f"' in text


def test_wasm2wat_malformed() -> None:
    with pytest.raises(RuntimeError, match=r"(?i)unexpected end.*offset"):
        wasmer.wasm2wat(b"\x00asm")


def test_round_trip() -> None:
    wasm = wasmer.wat2wasm('(module (memory 1) (func (export "g") (result i64) i64.const 7))')
    assert wasmer.wat2wasm(wasmer.wasm2wat(wasm)) == wasm


def test_the_legacy_anyfunc_keyword_is_taken_as_wasmer_took_it() -> None:
    from wasmroutines import wasmer
    from wasmroutines.core.wat import WatError
    from wasmroutines.core.wat import wat2wasm as core_wat2wasm

    text = '(module (table (export "t") 1 2 anyfunc) (func $anyfunc) (data "anyfunc") ;; anyfunc\n)'
    module = wasmer.Module(wasmer.Store(), text)
    (export,) = module.exports
    assert export.name == "t" and export.type.type == wasmer.Type.FUNC_REF
    assert wasmer.wat2wasm(text) == core_wat2wasm(text.replace("2 anyfunc", "2 funcref"))
    with pytest.raises(WatError):  # the core keeps the spec's text rules (obsolete-keywords)
        core_wat2wasm(text)
