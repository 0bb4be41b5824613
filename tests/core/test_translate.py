"""Translator edge cases: where operands are read from locals and constants in place, where values must
be materialized, and where a comparison is fused with its branch (src/wasmroutines/_native/wr_translate.c)."""

from __future__ import annotations

import pytest

from wasmroutines import Instance, Module, OutOfFuel, Store, Trap, wat2wasm


def exports(wat: str):
    return Instance(Store(), Module(wat2wasm(wat)), {}).exports


def test_fusion_skips_a_select_between_compare_and_branch() -> None:
    # Regression: the branch reads the select's output (local 2 ? eqz(local 0) : local 1); it must not
    # fuse with the comparison before the select (found running musl's strtod and printf).
    e = exports("""(module (func (export "f") (param i32 i32 i32) (result i32)
      block local.get 0 i32.eqz local.get 1 local.get 2 select br_if 0
      i32.const 7 return end i32.const 8))""")
    assert e.f(1, 1, 0) == 8
    assert e.f(1, 0, 0) == 7
    assert e.f(0, 0, 1) == 8
    assert e.f(1, 0, 1) == 7


def test_branch_on_select_of_comparison() -> None:
    # The same bug as above seen from musl's printf("%d") (found by the benchmark harness's output checks).
    e = exports("""(module (func (export "f") (param i32 i32) (result i32)
      (block (br_if 0 (select (local.get 0) (i32.const 0) (i32.lt_s (local.get 1) (i32.const 0))))
             (return (i32.const 0)))
      (i32.const 1)))""")
    assert e.f(0, -1) == 0
    assert e.f(5, -1) == 1
    assert e.f(5, 1) == 0


@pytest.mark.parametrize(("a", "b", "want"), [(1, 2, 10), (2, 1, 20), (5, 5, 20), (-1, 0, 10)])
def test_fused_compare_and_branch(a: int, b: int, want: int) -> None:
    e = exports("""(module (func (export "f") (param i32 i32) (result i32)
      block local.get 0 local.get 1 i32.lt_s br_if 0 i32.const 20 return end i32.const 10))""")
    assert e.f(a, b) == want


def test_fused_backward_branch_counts_loop() -> None:
    e = exports("""(module (func (export "sum") (param i32) (result i32) (local i32 i32)
      loop
        local.get 2 local.get 1 i32.add local.set 2
        local.get 1 i32.const 1 i32.add local.tee 1
        local.get 0 i32.lt_s br_if 0
      end local.get 2))""")
    assert e.sum(10) == 45
    assert e.sum(1) == 0


def test_local_set_does_not_clobber_pending_reads() -> None:
    # local.get 0 is pending on the stack when local.set 0 runs: the old value must be kept.
    e = exports("""(module (func (export "f") (param i32) (result i32)
      local.get 0 i32.const 100 local.set 0 local.get 0 i32.add))""")
    assert e.f(5) == 105


def test_pending_local_read_across_conditional_set() -> None:
    # The set runs only on one path: the read below the block must see the value from before it.
    e = exports("""(module (func (export "f") (param i32 i32) (result i32)
      local.get 0
      local.get 1 if i32.const 99 local.set 0 end
      local.get 0 i32.sub))""")
    assert e.f(5, 0) == 0
    assert e.f(5, 1) == 5 - 99


def test_retargeted_output_not_across_a_label() -> None:
    # A value arriving by branch at a block end must not be lost to retargeting the fallthrough's producer.
    e = exports("""(module (func (export "f") (param i32) (result i32) (local i32)
      block (result i32)
        i32.const 1 local.get 0 br_if 0 drop
        local.get 0 i32.const 10 i32.add
      end
      local.set 1 local.get 1))""")
    assert e.f(0) == 10
    assert e.f(3) == 1


def test_return_swapped_locals() -> None:
    e = exports("""(module (func (export "swap") (param i32 i32) (result i32 i32) local.get 1 local.get 0))""")
    assert e.swap(1, 2) == (2, 1)


def test_br_table_to_loop_and_block() -> None:
    e = exports("""(module (func (export "f") (param i32) (result i32) (local i32)
      block
        loop
          local.get 1 i32.const 1 i32.add local.set 1
          local.get 1 i32.const 3 i32.ge_u br_if 1
          local.get 0 br_table 0 1 1
        end
      end
      local.get 1))""")
    assert e.f(0) == 3  # around the loop until local 1 reaches 3
    assert e.f(1) == 1
    assert e.f(9) == 1


def test_br_table_carries_values() -> None:
    e = exports("""(module (func (export "f") (param i32) (result i32)
      block (result i32)
        block (result i32)
          i32.const 10
          local.get 0 br_table 0 1 0
        end
        i32.const 1 i32.add
      end))""")
    assert e.f(0) == 11
    assert e.f(1) == 10
    assert e.f(5) == 11


def test_call_args_from_locals_and_constants() -> None:
    e = exports("""(module
      (func $sub (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub)
      (func (export "f") (param i32) (result i32)
        local.get 0 i32.const 3 call $sub i32.const 10 local.get 0 call $sub i32.add))""")
    assert e.f(5) == (5 - 3) + (10 - 5)


def test_wait_result_is_read_from_its_slot() -> None:
    # A blocking wait's result is written into its slot when the wait ends, after the thread
    # suspended: the next instruction must not take it from the accumulator (found by the
    # wasi-threads suite: `wait32; i32.const 2; i32.ne` saw a stale value).
    e = exports("""(module (memory 1 1 shared) (func (export "f") (result i32)
      (i32.ne (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 1000000)) (i32.const 2))))""")
    assert e.f() == 0


# Loop rotation (wr_translate.c, rotate_loop): a loop whose first branch leaves it and whose bottom jumps back
# gets a copy of its head at the bottom, with the exit test inverted.

WHILE_LOOPS = """(module (memory 1) (data (i32.const 0) "\\01\\00\\00\\00")
  (func (export "squares") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $exit (loop $top
      (br_if $exit (i32.gt_u (i32.mul (local.get $i) (local.get $i)) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (local.get $s))
  (func (export "until_ge") (param $x f64) (param $cap i32) (result i32) (local $k i32)
    (block $exit (loop $top
      (br_if $exit (f64.ge (local.get $x) (f64.const 10)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $exit (i32.ge_u (local.get $k) (local.get $cap)))
      (local.set $x (f64.add (local.get $x) (f64.const 1)))
      (br $top)))
    (local.get $k))
  (func (export "walk") (param $p i32) (result i32) (local $k i32)
    (block $exit (loop $top
      (br_if $exit (i32.eqz (i32.load (local.get $p))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 65536)))
      (br $top)))
    (local.get $k))
  (func (export "nested") (param $n i32) (result i32) (local $i i32) (local $odd i32)
    (block $exit (loop $top
      (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (block $even
        (br_if $even (i32.eqz (i32.and (local.get $i) (i32.const 1))))
        (local.set $odd (i32.add (local.get $odd) (i32.const 1)))
        (br $top))
      (br $top)))
    (local.get $odd))
  (func (export "spin") (param $flag i32)
    (block $exit (loop $top (br_if $exit (local.get $flag)) (br $top)))))"""


def test_rotated_loop_runs_head_at_the_bottom() -> None:
    e = exports(WHILE_LOOPS)
    assert e.squares(0) == 0  # exits at the top before the body runs
    assert e.squares(1) == 0 + 1
    assert e.squares(100) == sum(range(11))


def test_rotated_float_exit_test_keeps_nan_semantics() -> None:
    # The bottom tests "not (x >= 10)", which is not "x < 10" for NaN.
    e = exports(WHILE_LOOPS)
    assert e.until_ge(0.0, 1000) == 10
    assert e.until_ge(float("nan"), 1000) == 1000
    assert e.until_ge(20.0, 1000) == 0


def test_rotated_head_traps_where_the_top_does() -> None:
    # The second test of the head runs in the copy at the bottom; it must report the same wasm offset.
    e = exports(WHILE_LOOPS)
    with pytest.raises(Trap) as at_bottom:
        e.walk(0)
    with pytest.raises(Trap) as at_top:
        e.walk(65536)
    assert at_bottom.value.kind == at_top.value.kind == "out of bounds memory access"
    assert at_bottom.value.frames[0].offset == at_top.value.frames[0].offset


def test_rotated_loop_branched_to_from_a_nested_block() -> None:
    e = exports(WHILE_LOOPS)
    assert e.nested(0) == 0
    assert e.nested(7) == 4


def test_rotated_loop_is_a_preemption_point() -> None:
    store = Store()
    e = Instance(store, Module(wat2wasm(WHILE_LOOPS)), {}).exports
    store.fuel = 100_000
    with pytest.raises(OutOfFuel):
        e.spin(0)
    store.fuel = 1000
    e.spin(1)
