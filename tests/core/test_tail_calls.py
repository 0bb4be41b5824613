"""Tail calls (WebAssembly 3.0): `return_call` and `return_call_indirect` reuse the caller's frame."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import (
    Features,
    Function,
    FuncType,
    Instance,
    InvalidModule,
    MalformedModule,
    Module,
    OutOfFuel,
    StackExhausted,
    Store,
    Trap,
    ValType,
)

I32, I64 = ValType.I32, ValType.I64

LOOPS = """(module
  (type $ii (func (param i64 i64) (result i64)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $even $odd)
  ;; sum of n .. 1 by tail recursion, with an accumulator
  (func $sum (export "sum") (param $n i64) (param $acc i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call $sum (i64.sub (local.get $n) (i64.const 1)) (i64.add (local.get $acc) (local.get $n))))
  ;; the same without the tail call: one frame per step
  (func $sum_plain (export "sum_plain") (param $n i64) (param $acc i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (call $sum_plain (i64.sub (local.get $n) (i64.const 1)) (i64.add (local.get $acc) (local.get $n))))
  (func $even (export "even") (param $n i64) (param $unused i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (i64.const 1))))
    (return_call $odd (i64.sub (local.get $n) (i64.const 1)) (i64.const 0)))
  (func $odd (export "odd") (param $n i64) (param $unused i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (i64.const 0))))
    (return_call $even (i64.sub (local.get $n) (i64.const 1)) (i64.const 0)))
  ;; even/odd through the table: index 0 is $even, 1 is $odd
  (func $parity (export "parity") (param $n i64) (param $which i32) (result i64)
    (return_call_indirect $t (type $ii) (local.get $n) (i64.const 0) (local.get $which)))
  (func $spin (export "spin") (param i32) (result i32) (return_call $spin (local.get 0))))"""


@pytest.fixture
def small_store() -> Store:
    """A store whose frame stack holds 64 frames: a million tail calls must fit in it."""
    return Store(max_call_depth=64)


def test_a_million_tail_calls_keep_a_constant_frame_stack(small_store: Store, wat: Callable[[str], bytes]) -> None:
    e = Instance(small_store, Module(wat(LOOPS))).exports
    n = 1_000_000
    assert e.sum(n, 0) == n * (n + 1) // 2
    assert e.even(n, 0) == 1 and e.odd(n, 0) == 0
    assert e.even(n + 1, 0) == 0
    # The same recursion as plain calls needs a frame per step.
    with pytest.raises(StackExhausted) as info:
        e.sum_plain(n, 0)
    assert info.value.limit == "max_call_depth"
    assert e.sum_plain(10, 0) == 55


def test_return_call_indirect_loops_in_constant_frames(small_store: Store, wat: Callable[[str], bytes]) -> None:
    e = Instance(small_store, Module(wat(LOOPS))).exports
    assert e.parity(1_000_001, 0) == 0
    assert e.parity(1_000_001, 1) == 1


def test_return_call_indirect_traps(instantiate: Callable[..., Instance]) -> None:
    e = instantiate("""(module
      (type $v (func (result i32)))
      (type $i (func (param i32) (result i32)))
      (table 3 funcref)
      (elem (i32.const 0) func $one $id)
      (func $one (result i32) (i32.const 1))
      (func $id (param i32) (result i32) (local.get 0))
      (func (export "call") (param i32) (result i32) (return_call_indirect (type $v) (local.get 0))))""").exports
    assert e.call(0) == 1
    for index, kind in [
        (1, "indirect call type mismatch"),
        (2, "uninitialized element"),
        (3, "undefined element"),
        (-1, "undefined element"),
    ]:
        with pytest.raises(Trap) as info:
            e.call(index)
        assert info.value.kind.startswith(kind)


def test_arguments_move_into_a_larger_frame(instantiate: Callable[..., Instance]) -> None:
    """The callee takes more parameters and locals than the caller has slots; v128 takes two slots."""
    e = instantiate("""(module
      (func $wide (param i32 v128 i64 f64 i32 i32) (result i64)
        (local i64 i64 i64)
        (local.set 6 (i64.const 7))
        (i64.add (local.get 6)
          (i64.add (i64.extend_i32_u (local.get 0))
            (i64.add (i64x2.extract_lane 1 (local.get 1))
              (i64.add (local.get 2)
                (i64.add (i64.trunc_f64_s (local.get 3))
                  (i64.add (i64.extend_i32_u (local.get 4))
                    (i64.add (i64.extend_i32_u (local.get 5)) (i64.add (local.get 7) (local.get 8))))))))))
      (func (export "f") (param i32) (result i64)
        (return_call $wide (local.get 0) (v128.const i64x2 0 100) (i64.const 1000) (f64.const 10000)
          (i32.const 100000) (i32.add (local.get 0) (i32.const 1000000)))))""").exports
    # 7 + 1 + 100 + 1000 + 10000 + 100000 + 1000001 (locals 7 and 8 start at zero)
    assert e.f(1) == 1_111_109


def test_tail_call_to_a_host_function_returns_its_results(store: Store, wat: Callable[[str], bytes]) -> None:
    seen: list[tuple[int, int]] = []

    def divmod_(a: int, b: int) -> tuple[int, int]:
        seen.append((a, b))
        return a // b, a % b

    host = Function(store, divmod_, FuncType((I32, I32), (I32, I32)))
    inst = Instance(
        store,
        Module(
            wat("""(module
      (import "env" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
      (type $dm (func (param i32 i32) (result i32 i32)))
      (table funcref (elem $divmod))
      (func (export "direct") (param i32) (result i32 i32)
        (local i64 i64 i64)
        (return_call $divmod (local.get 0) (i32.const 7)))
      (func (export "indirect") (param i32) (result i32 i32)
        (return_call_indirect (type $dm) (local.get 0) (i32.const 10) (i32.const 0)))
      (func (export "nested") (param i32) (result i32)
        ;; quotient and remainder come back to this frame as a call's results
        (call 1 (local.get 0))
        (drop)))""")
        ),
        {"env": {"divmod": host}},
    )
    e = inst.exports
    assert e.direct(100) == (14, 2)
    assert e.indirect(123) == (12, 3)
    assert e.nested(50) == 7
    assert seen == [(100, 7), (123, 10), (50, 7)]


def test_tail_call_to_a_host_function_that_calls_back(store: Store, wat: Callable[[str], bytes]) -> None:
    holder: dict[str, Instance] = {}

    def back(n: int) -> int:
        return holder["i"].exports.down(n) + 1

    host = Function(store, back, FuncType((I32,), (I32,)))
    holder["i"] = Instance(
        store,
        Module(
            wat("""(module
      (import "env" "back" (func $back (param i32) (result i32)))
      (func (export "down") (param i32) (result i32)
        (if (i32.eqz (local.get 0)) (then (return (i32.const 0))))
        (return_call $back (i32.sub (local.get 0) (i32.const 1)))))""")
        ),
        {"env": {"back": host}},
    )
    assert holder["i"].exports.down(20) == 20


def test_tail_call_into_another_instance_uses_its_memory(store: Store, wat: Callable[[str], bytes]) -> None:
    a = Instance(
        store,
        Module(
            wat("""(module (memory 1) (data (i32.const 0) "\\2a")
      (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))""")
        ),
    )
    b = Instance(
        store,
        Module(
            wat("""(module (import "a" "peek" (func $peek (param i32) (result i32)))
      (memory 1) (data (i32.const 0) "\\07")
      (func (export "own") (result i32) (i32.load8_u (i32.const 0)))
      (func (export "theirs") (result i32) (return_call $peek (i32.const 0))))""")
        ),
        {"a": {"peek": a.exports.peek}},
    )
    assert b.exports.theirs() == 42
    assert b.exports.own() == 7


def test_tail_calls_are_preemption_points(store: Store, wat: Callable[[str], bytes]) -> None:
    """A loop made only of tail calls still draws fuel, so it can be stopped (and preempted)."""
    e = Instance(store, Module(wat(LOOPS))).exports
    store.fuel = 10_000
    with pytest.raises(OutOfFuel):
        e.spin(0)
    store.fuel = None


def test_a_trap_after_a_tail_call_shows_the_callee_in_the_callers_place(instantiate: Callable[..., Instance]) -> None:
    e = instantiate("""(module
      (func $boom (result i32) unreachable)
      (func $middle (result i32) (return_call $boom))
      (func (export "outer") (result i32) (i32.add (call $middle) (i32.const 1))))""").exports
    with pytest.raises(Trap) as info:
        e.outer()
    assert [f.func_index for f in info.value.frames] == [0, 2]


@pytest.mark.parametrize(
    "body",
    [
        # The callee's results must be the caller's.
        "(func $f (result i64) (i64.const 0)) (func (result i32) (return_call $f))",
        "(func $f (result i32 i32) (i32.const 0) (i32.const 0)) (func (result i32) (return_call $f))",
        "(func $f (param i32)) (func (return_call $f))",
        "(type $t (func (result i64))) (table 1 funcref)"
        " (func (result i32) (return_call_indirect (type $t) (i32.const 0)))",
        "(type $t (func (result i32))) (table 1 externref)"
        " (func (result i32) (return_call_indirect (type $t) (i32.const 0)))",
    ],
)
def test_return_call_type_mismatch(wat: Callable[[str], bytes], body: str) -> None:
    with pytest.raises(InvalidModule, match="type mismatch"):
        Module(wat(f"(module {body})"))


def test_return_call_unknown_function(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(InvalidModule, match="unknown function"):
        Module(wat("(module (func (return_call 5)))"))


def test_code_after_a_return_call_is_unreachable(instantiate: Callable[..., Instance]) -> None:
    e = instantiate("""(module
      (func $one (result i32) (i32.const 1))
      (func (export "f") (result i32) (return_call $one) (i32.const 0) (i32.add)))""").exports
    assert e.f() == 1


def test_host_results_in_i64_and_the_thread_continues(store: Store, wat: Callable[[str], bytes]) -> None:
    host = Function(store, lambda x: x * 3, FuncType((I64,), (I64,)))
    e = Instance(
        store,
        Module(
            wat("""(module (import "env" "triple" (func $t (param i64) (result i64)))
      (func $g (param i64) (result i64) (return_call $t (local.get 0)))
      (func (export "f") (param i64) (result i64) (i64.add (call $g (local.get 0)) (call $g (i64.const 1)))))""")
        ),
        {"env": {"triple": host}},
    ).exports
    assert e.f(5) == 18


def test_webassembly_2_has_no_tail_calls(wat: Callable[[str], bytes]) -> None:
    """Features.WASM2 validates as 2.0 did: the tail-call opcodes are illegal there."""
    data = wat("(module (func $f (return_call $f)) (table 1 funcref) (func (return_call_indirect (i32.const 0))))")
    Module(data)
    with pytest.raises(MalformedModule, match="illegal opcode 12") as info:
        Module(data, features=Features.WASM2)
    assert data[info.value.offset] == 0x12
    Module(data, features=Features.WASM2 | Features.TAIL_CALL)
    indirect = wat("(module (table 1 funcref) (func (return_call_indirect (i32.const 0))))")
    with pytest.raises(MalformedModule, match="illegal opcode 13"):
        Module(indirect, features=Features.WASM2)
