"""WebAssembly 3.0 features not implemented yet: UnsupportedFeature names the feature and where it is used."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import CompileError, MalformedModule, Module, UnsupportedFeature
from wasmroutines.core.types import Features
from wasmroutines.wasmer import Module as WasmerModule
from wasmroutines.wasmer import Store as WasmerStore

GC = "GC is not supported"

CASES = [
    ("(module (type (struct)))", GC),
    ("(module (rec (type (func)) (type (array i32))))", GC),
    ("(module (type $a (array i32)) (global (ref null $a) (ref.null $a)))", GC),
    ("(module (func (param structref) (drop (struct.get 0 0 (local.get 0)))))", GC),  # struct.* of 0xFB
    ("(module (func (param arrayref) (result i32) (array.len (local.get 0))))", GC),
    ("(module (type $a (array i32)) (global (ref $a) (array.new_fixed $a 0)))", GC),  # in a constant expression
]


@pytest.mark.parametrize(("text", "feature"), CASES)
def test_the_error_names_the_feature(wat: Callable[[str], bytes], text: str, feature: str) -> None:
    data = wat(text)
    with pytest.raises(UnsupportedFeature) as info:
        Module(data)
    e = info.value
    assert isinstance(e, CompileError) and not isinstance(e, MalformedModule)
    assert e.reason == feature
    assert 8 <= e.offset < len(data)
    assert str(e) == f"unsupported module at offset {e.offset:#x}: {feature}"


def test_the_offset_is_the_byte_that_uses_it(wat: Callable[[str], bytes]) -> None:
    data = wat("(module (type (func (param i32 anyref))) (type (struct)))")
    with pytest.raises(UnsupportedFeature) as info:
        Module(data)
    assert data[info.value.offset] == 0x5F  # struct


def test_gc_s_abstract_types_are_not_2_0(wat: Callable[[str], bytes]) -> None:
    for text in (
        "(module (global anyref (ref.null any)))",
        "(module (func (result i32) (ref.eq (ref.null eq) (ref.null eq))))",
        "(module (func (result i32) (i31.get_u (ref.i31 (i32.const 1)))))",
    ):
        Module(wat(text))
        with pytest.raises(MalformedModule, match="not WebAssembly 2.0: GC is not in the module's feature set"):
            Module(wat(text), features=Features.WASM2)


def test_a_2_0_feature_set_calls_the_same_bytes_malformed(wat: Callable[[str], bytes]) -> None:
    """In WebAssembly 2.0 a typed reference or a GC type means nothing: the module is malformed."""
    for text, feature in CASES[:3]:
        with pytest.raises(MalformedModule, match=f"not WebAssembly 2.0: {feature}"):
            Module(wat(text), features=Features.WASM2)


def test_malformed_bytes_stay_malformed(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(MalformedModule, match="malformed value type"):
        Module(b"\x00asm\x01\x00\x00\x00\x01\x05\x01\x60\x01\x60\x00")  # 0x60 is no value type
    with pytest.raises(MalformedModule, match="malformed limits flags"):
        Module(wat("(module)") + b"\x05\x03\x01\x08\x00")  # memory limits flags 8
    with pytest.raises(MalformedModule, match="malformed limits flags"):
        Module(b"\x00asm\x01\x00\x00\x00\x04\x04\x01\x70\x02\x00")  # table limits flags 2 (shared)
    with pytest.raises(MalformedModule, match="integer too large"):  # 2.0: the flags are a LEB128 u32
        Module(wat("(module)") + b"\x05\x03\x01\x08\x00", features=Features.WASM2)


def test_the_wasmer_face_reports_a_validation_error(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(RuntimeError, match=GC):
        WasmerModule(WasmerStore(), wat("(module (type (struct)))"))
