"""Constant expressions: WebAssembly 3.0's extended ones (i32/i64 add, sub, mul; global.get of defined globals)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import Global, GlobalType, Instance, InvalidModule, Module, Store, ValType
from wasmroutines.core.types import Features

EXTENDED = """(module
  (import "env" "base" (global $base i32))
  (import "env" "big" (global $big i64))
  (global $a i32 (i32.add (global.get $base) (i32.const 42)))
  (global $b i32 (i32.sub (i32.mul (global.get $a) (i32.const 2)) (i32.const 4)))
  (global $wrap i32 (i32.mul (i32.const 0x10000) (i32.const 0x10001)))
  (global $neg i32 (i32.sub (i32.const 0) (i32.const 1)))
  (global $c i64 (i64.add (i64.mul (global.get $big) (i64.const 3)) (i64.sub (i64.const 1) (i64.const 2))))
  (global $wrap64 i64 (i64.mul (i64.const 0x100000000) (i64.const 0x100000001)))
  (memory 1)
  (data (offset (i32.add (global.get $a) (i32.const 8))) "hi")
  (table 64 funcref)
  (elem (offset (i32.sub (global.get $b) (i32.const 70))) func $f)
  (func $f (result i32) (i32.const 7))
  (func (export "a") (result i32) (global.get $a))
  (func (export "b") (result i32) (global.get $b))
  (func (export "wrap") (result i32) (global.get $wrap))
  (func (export "neg") (result i32) (global.get $neg))
  (func (export "c") (result i64) (global.get $c))
  (func (export "wrap64") (result i64) (global.get $wrap64))
  (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (result i32) (local.get 0))))"""


def imports(store: Store, base: int = 8) -> dict[str, dict[str, Global]]:
    return {
        "env": {
            "base": Global(store, GlobalType(ValType.I32, False), base),
            "big": Global(store, GlobalType(ValType.I64, False), 1 << 40),
        }
    }


def test_extended_constant_expressions(store: Store, wat: Callable[[str], bytes]) -> None:
    e = Instance(store, Module(wat(EXTENDED)), imports(store)).exports
    assert e.a() == 50
    assert e.b() == 96
    assert e.wrap() == 0x10000  # 0x1_0001_0000 wraps to 32 bits
    assert e.neg() == -1
    assert e.c() == 3 * (1 << 40) - 1
    assert e.wrap64() == 0x100000000  # wraps to 64 bits
    assert e.byte(58) == ord("h") and e.byte(59) == ord("i")  # data at a + 8
    assert e.call(26) == 7  # element at b - 70


def test_offsets_follow_the_imported_global(store: Store, wat: Callable[[str], bytes]) -> None:
    e = Instance(store, Module(wat(EXTENDED)), imports(store, base=0)).exports
    assert e.a() == 42 and e.byte(50) == ord("h")
    assert e.call(80 - 70) == 7


def test_global_get_of_a_global_the_module_defines(instantiate: Callable[..., Instance]) -> None:
    e = instantiate("""(module
      (global $g i32 (i32.const 5))
      (global $h i32 (global.get $g))
      (global $k i64 (i64.const 9))
      (memory 1)
      (data (global.get $g) "x")
      (func (export "h") (result i32) (global.get $h))
      (func (export "x") (result i32) (i32.load8_u (i32.const 5))))""").exports
    assert e.h() == 5 and e.x() == ord("x")


def test_an_expression_as_deep_as_the_limit(instantiate: Callable[..., Instance]) -> None:
    depth = 64
    body = " ".join(["(i32.const 1)"] * depth) + " i32.add" * (depth - 1)
    e = instantiate(f'(module (global $g i32 {body}) (func (export "g") (result i32) (global.get $g)))').exports
    assert e.g() == depth


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(global i32 (i32.add (i32.const 1) (i64.const 2)))", "type mismatch"),
        ("(global i64 (i32.add (i32.const 1) (i32.const 2)))", "type mismatch"),
        ("(global i32 (i32.const 1) (i32.const 2))", "type mismatch"),
        ("(global i32 i32.add)", "type mismatch"),
        ("(global i32 (i32.const 1) i32.add)", "type mismatch"),
        ("(global f32 (f32.add (f32.const 1) (f32.const 2)))", "constant expression required"),
        ("(global i32 (i32.div_s (i32.const 1) (i32.const 2)))", "constant expression required"),
        (
            "(global $m (mut i32) (i32.const 0)) (global i32 (i32.add (global.get $m) (i32.const 1)))",
            "constant expression required",
        ),
        ("(global i32 (global.get 1)) (global i32 (i32.const 0))", "unknown global 1"),
        ("(global i32 (global.get 0))", "unknown global 0"),
        ('(memory 1) (data (i32.add (global.get 0) (i32.const 1)) "")', "unknown global 0"),
        ("(global i32 " + "(i32.const 1) " * 1025 + "i32.add " * 1024 + ")", "constant expression too deep"),
    ],
)
def test_invalid_constant_expressions(wat: Callable[[str], bytes], text: str, message: str) -> None:
    with pytest.raises(InvalidModule, match=message):
        Module(wat(f"(module {text})"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(global i32 (i32.add (i32.const 1) (i32.const 2)))", "constant expression required"),
        ("(global i32 (i32.const 0)) (global i32 (global.get 0))", "unknown global 0"),
        ('(global i32 (i32.const 0)) (memory 1) (data (global.get 0) "")', "unknown global 0"),
    ],
)
def test_webassembly_2_rules(wat: Callable[[str], bytes], text: str, message: str) -> None:
    """Features.WASM2 validates as 2.0 did: one instruction, and only imported globals."""
    data = wat(f"(module {text})")
    Module(data)
    with pytest.raises(InvalidModule, match=message):
        Module(data, features=Features.WASM2)
    Module(data, features=Features.WASM2 | Features.EXTENDED_CONST | Features.GC)


@pytest.mark.parametrize(
    "text",
    [
        "(type $a (array i8)) (global (ref $a) (array.new_default $a (i32.const 3)))",
        "(type $s (struct (field i32) (field i64))) (global (ref $s) (struct.new $s (i32.const 1) (i64.const 2)))",
        "(global (ref i31) (ref.i31 (i32.const 7)))",
        "(global externref (extern.convert_any (ref.i31 (i32.const 7))))",
    ],
)
def test_gc_without_extended_constants(wat: Callable[[str], bytes], text: str) -> None:
    """GC's constant instructions take operands: with GC but not extended constant expressions (wasm-tools smith's
    --gc-enabled modules without --extended-const-enabled), an allocation after its operands is valid, while
    i32/i64 arithmetic stays extended-const's."""
    gc = Features.WASM2 | Features.GC | Features.FUNCTION_REFERENCES
    Module(wat(f"(module {text})"), features=gc)
    arith = wat("(module (global i32 (i32.add (i32.const 1) (i32.const 2))))")
    with pytest.raises(InvalidModule, match="constant expression required"):
        Module(arith, features=gc)
    Module(arith, features=gc | Features.EXTENDED_CONST)
