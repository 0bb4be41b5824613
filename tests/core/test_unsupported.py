"""GC's structs and arrays, the last WebAssembly 3.0 feature UnsupportedFeature named until they landed: they load,
and a 2.0 feature set calls them malformed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import MalformedModule, Module
from wasmroutines.core.types import Features
from wasmroutines.wasmer import Module as WasmerModule
from wasmroutines.wasmer import Store as WasmerStore

GC = "GC is not in the module's feature set"

#: Modules using GC's structs and arrays (what wr_unsupported.h named before they landed): they load, and a
#: 2.0 feature set calls them malformed.
CASES = [
    "(module (type (struct)))",
    "(module (rec (type (func)) (type (array i32))))",
    "(module (type $a (array i32)) (global (ref null $a) (ref.null $a)))",
    "(module (func (param structref) (drop (ref.cast structref (local.get 0)))))",
    "(module (type $s (struct (field i32))) (func (param (ref $s)) (drop (struct.get $s 0 (local.get 0)))))",
    "(module (func (param arrayref) (result i32) (array.len (local.get 0))))",
    "(module (type $a (array i32)) (global (ref $a) (array.new_fixed $a 0)))",  # in a constant expression
]


@pytest.mark.parametrize("text", CASES)
def test_structs_and_arrays_load(wat: Callable[[str], bytes], text: str) -> None:
    Module(wat(text))


def test_the_offset_is_the_byte_that_uses_it(wat: Callable[[str], bytes]) -> None:
    data = wat("(module (type (func (param i32))) (type (struct)))")
    with pytest.raises(MalformedModule) as info:
        Module(data, features=Features.WASM2)
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
    """In WebAssembly 2.0 a GC type or instruction means nothing: the module is malformed."""
    for text in CASES:
        with pytest.raises(MalformedModule, match="not WebAssembly 2.0"):
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
    with pytest.raises(RuntimeError, match="type mismatch"):
        WasmerModule(
            WasmerStore(), wat("(module (type $s (struct (field (ref $s)))) (global (ref $s) (struct.new_default $s)))")
        )
