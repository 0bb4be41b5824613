"""function.py and values.py: calls from Python, host functions, value conversion, nested calls."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from wasmroutines import Function, FuncType, Instance, Store, Trap, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

IDENTITIES = """(module
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0)
  (func (export "ext") (param externref) (result externref) local.get 0)
  (func (export "fun") (param funcref) (result funcref) local.get 0)
  (func (export "none"))
  (func (export "multi") (result i32 i64 f32 f64) i32.const -1 i64.const -2 f32.const 1.5 f64.const 0.1)
  (func (export "f32_bits") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
)"""


@pytest.fixture
def ids(instantiate: Callable[..., Instance]) -> Instance:
    return instantiate(IDENTITIES)


def test_integers_come_back_signed(ids: Instance) -> None:
    e = ids.exports
    assert e.i32(5) == 5 and e.i32(-1) == -1
    assert e.i32(0xFFFF_FFFF) == -1 and e.i32(True) == 1
    assert e.i64(-(1 << 63)) == -(1 << 63) and e.i64((1 << 64) - 1) == -1
    with pytest.raises(TypeError):
        e.i32(1.5)


def test_floats(ids: Instance) -> None:
    e = ids.exports
    assert e.f32(0.1) == 0.10000000149011612  # rounded to f32, widened back
    assert e.f64(0.1) == 0.1 and e.f64(3) == 3.0
    assert e.f32(1e300) == math.inf and e.f32(-1e300) == -math.inf
    assert math.isnan(e.f64(math.nan))
    assert math.copysign(1.0, e.f32(-0.0)) == -1.0
    assert e.f32_bits(0x3F80_0000) == 1.0


def test_results(ids: Instance) -> None:
    e = ids.exports
    assert e.none() is None
    assert e.multi() == (-1, -2, 1.5, 0.1)
    with pytest.raises(TypeError, match="expected 1 arguments"):
        e.i32()


def test_references(ids: Instance) -> None:
    e = ids.exports
    obj = {"any": "object"}
    assert e.ext(obj) is obj and e.ext(None) is None
    assert e.ext(e.ext(3)) == 3
    assert e.fun(None) is None
    assert e.fun(e.i32) == e.i32
    assert e.fun(e.none)() is None


def test_call_bits_keeps_nan_payloads(ids: Instance) -> None:
    snan = 0x7FA0_0001
    assert ids.exports.f32.call_bits([snan]) == [snan]
    assert ids.exports.i64.call_bits([(1 << 64) - 1]) == [(1 << 64) - 1]


def test_host_function_from_python_and_wasm(store: Store, instantiate: Callable[..., Instance]) -> None:
    add = Function(store, lambda a, b: a + b, FuncType((I32, I32), (I32,)))
    assert add(2, 3) == 5 and add.type == FuncType((I32, I32), (I32,))
    inst = instantiate(
        '(module (import "env" "add" (func $add (param i32 i32) (result i32)))'
        ' (func (export "f") (param i32) (result i32) (call $add (local.get 0) (i32.const 0x7fffffff))))',
        {"env": {"add": add}},
    )
    assert inst.exports.f(1) == -(1 << 31)  # the host result wraps to i32


def test_host_results_checked(store: Store, instantiate: Callable[..., Instance]) -> None:
    inst = instantiate(
        '(module (import "env" "two" (func $two (result i32 i32))) (func (export "f") (result i32) call $two i32.add))',
        {"env": {"two": lambda: (1, 2)}},
    )
    assert inst.exports.f() == 3
    bad = instantiate(
        '(module (import "env" "two" (func $two (result i32 i32))) (func (export "f") (result i32 i32) call $two))',
        {"env": {"two": lambda: 1}},
    )
    with pytest.raises(TypeError, match="returned 1 results"):
        bad.exports.f()


NESTED = """(module
  (import "env" "cb" (func $cb (param i32) (result i32)))
  (func (export "down") (param i32) (result i32) local.get 0 call $cb)
  (func (export "div") (param i32) (result i32) i32.const 100 local.get 0 i32.div_s)
)"""


def test_nested_calls(instantiate: Callable[..., Instance]) -> None:
    def cb(n: int) -> int:
        return 0 if n == 0 else inst.exports.down(n - 1) + 1

    inst = instantiate(NESTED, {"env": {"cb": cb}})
    assert inst.exports.down(50) == 50


def test_exception_crosses_wasm_frames(instantiate: Callable[..., Instance]) -> None:
    class Mine(Exception):
        pass

    def cb(n: int) -> int:
        if n == 0:
            raise Mine("deep")
        return inst.exports.down(n - 1)

    inst = instantiate(NESTED, {"env": {"cb": cb}})
    with pytest.raises(Mine, match="deep"):
        inst.exports.down(5)
    assert inst.exports.div(5) == 20  # the thread was unwound cleanly


def test_trap_in_nested_call_propagates(instantiate: Callable[..., Instance]) -> None:
    inst = instantiate(NESTED, {"env": {"cb": lambda n: inst.exports.div(n)}})
    with pytest.raises(Trap, match="integer divide by zero"):
        inst.exports.down(0)
    assert inst.exports.down(4) == 25


def test_function_wrappers(ids: Instance, store: Store) -> None:
    f = ids.exports.i32
    assert f.store is store and f.type == FuncType((I32,), (I32,))
    assert hash(f) == hash(ids.exports.fun(f))
    assert f != ids.exports.i64
    with pytest.raises(TypeError):
        Function(store, 42, FuncType())  # type: ignore[arg-type]


def test_integer_arguments_that_do_not_fit_raise_instead_of_wrapping(instantiate: Callable[..., Instance]) -> None:
    inst = instantiate(
        """(module
        (func (export "id32") (param i32) (result i32) local.get 0)
        (func (export "id64") (param i64) (result i64) local.get 0))"""
    )
    assert inst.exports.id32(2**32 - 1) == -1 and inst.exports.id32(-(2**31)) == -(2**31)
    assert inst.exports.id64(2**64 - 1) == -1
    for f, v in ((inst.exports.id32, 2**32 + 5), (inst.exports.id32, 2**100), (inst.exports.id32, -(2**31) - 1)):
        with pytest.raises(OverflowError, match="does not fit i32"):
            f(v)
    with pytest.raises(OverflowError, match="does not fit i64"):
        inst.exports.id64(2**64)
