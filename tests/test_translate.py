"""Translator edge cases: where operands are read from locals and constants in place, where values must
be materialized, and where a comparison is fused with its branch (wasmroutines/_native/wr_translate.c)."""

from __future__ import annotations

import pytest

from wasmroutines import Instance, Module, Store, wat2wasm


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
