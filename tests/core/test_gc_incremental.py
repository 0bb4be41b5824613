"""The incremental collector (issue 19; docs/interpreter.md, "GC roots"): wasm mutates a live structure while
cycles mark and sweep it step by step, and nothing reachable is lost. Each mutation moves a reference the
collector may not have reached yet to a place it may have scanned already: a list relinked, a node detached into a
local while garbage is allocated then put back at the head, array elements swapped and rotated by array.copy,
references rotated between a table, a struct field and a global. Without the write barrier a moved node is freed
while still linked, and the checksums (the nodes' count and the sum of their values) come out wrong."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from wasmroutines import Instance, Module, Store
from wasmroutines.core.store import lib

MOD = """(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (type $vec (array (mut (ref null $node))))
  (type $box (struct (field $a (mut (ref null $node))) (field $b (mut (ref null $node)))))
  (global $list (mut (ref null $node)) (ref.null $node))
  (global $vec (mut (ref null $vec)) (ref.null $vec))
  (global $box (mut (ref null $box)) (ref.null $box))
  (global $g (mut (ref null $node)) (ref.null $node))
  (table $t 4 (ref null $node))
  (global $seed (mut i32) (i32.const 12345))
  (global $made (mut i32) (i32.const 0))
  (global $nlist (mut i32) (i32.const 0))
  (global $nvec (mut i32) (i32.const 0))

  ;; a pseudo-random number below n
  (func $rand (param $n i32) (result i32)
    (global.set $seed (i32.add (i32.mul (global.get $seed) (i32.const 1103515245)) (i32.const 12345)))
    (i32.rem_u (i32.shr_u (global.get $seed) (i32.const 8)) (local.get $n)))

  ;; a node of the structure: values 1, 2, 3, ... in the order made
  (func $node (result (ref $node))
    (global.set $made (i32.add (global.get $made) (i32.const 1)))
    (struct.new $node (global.get $made) (ref.null $node)))

  (func $garbage (export "garbage") (param $n i32)
    (loop $l
      (drop (struct.new $node (i32.const -1) (ref.null $node)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; the node at position p of the list
  (func $at (param $p i32) (result (ref null $node))
    (local $l (ref null $node))
    (local.set $l (global.get $list))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $p)))
      (local.set $l (struct.get $node $next (local.get $l)))
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (br $next)))
    (local.get $l))

  ;; a list of nl nodes, an array of nv, two in a struct, one in a global, four in a table
  (func (export "setup") (param $nl i32) (param $nv i32)
    (local $i i32) (local $n (ref null $node)) (local $v (ref null $vec))
    (global.set $nlist (local.get $nl))
    (global.set $nvec (local.get $nv))
    (loop $l
      (local.set $n (call $node))
      (struct.set $node $next (local.get $n) (global.get $list))
      (global.set $list (local.get $n))
      (br_if $l (local.tee $nl (i32.sub (local.get $nl) (i32.const 1)))))
    (local.set $v (array.new_default $vec (local.get $nv)))
    (loop $l
      (array.set $vec (local.get $v) (local.get $i) (call $node))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $nv))))
    (global.set $vec (local.get $v))
    (global.set $box (struct.new $box (call $node) (call $node)))
    (global.set $g (call $node))
    (table.set $t (i32.const 0) (call $node))
    (table.set $t (i32.const 1) (call $node))
    (table.set $t (i32.const 2) (call $node))
    (table.set $t (i32.const 3) (call $node)))

  ;; each round moves references, with g garbage structs allocated in the middle of the move
  (func (export "churn") (param $rounds i32) (param $g i32)
    (local $r i32) (local $i i32) (local $j i32)
    (local $a (ref null $node)) (local $b (ref null $node)) (local $c (ref null $node)) (local $x (ref null $node))
    (local $v (ref null $vec)) (local $box (ref null $box))
    (local.set $v (global.get $vec))
    (local.set $box (global.get $box))
    (loop $round
      (local.set $r (call $rand (i32.const 6)))
      (if (i32.eq (local.get $r) (i32.const 0)) (then ;; a b c -> a c b
        (local.set $a (call $at (call $rand (i32.sub (global.get $nlist) (i32.const 2)))))
        (local.set $b (struct.get $node $next (local.get $a)))
        (local.set $c (struct.get $node $next (local.get $b)))
        (struct.set $node $next (local.get $b) (struct.get $node $next (local.get $c)))
        (call $garbage (local.get $g))
        (struct.set $node $next (local.get $c) (local.get $b))
        (struct.set $node $next (local.get $a) (local.get $c))))
      (if (i32.eq (local.get $r) (i32.const 1)) (then ;; a c -> a, then c at the head
        (local.set $a (call $at (call $rand (i32.sub (global.get $nlist) (i32.const 1)))))
        (local.set $c (struct.get $node $next (local.get $a)))
        (struct.set $node $next (local.get $a) (struct.get $node $next (local.get $c)))
        (call $garbage (local.get $g))
        (struct.set $node $next (local.get $c) (global.get $list))
        (global.set $list (local.get $c))))
      (if (i32.eq (local.get $r) (i32.const 2)) (then ;; swap two elements
        (local.set $i (call $rand (global.get $nvec)))
        (local.set $j (call $rand (global.get $nvec)))
        (local.set $x (array.get $vec (local.get $v) (local.get $i)))
        (array.set $vec (local.get $v) (local.get $i) (array.get $vec (local.get $v) (local.get $j)))
        (call $garbage (local.get $g))
        (array.set $vec (local.get $v) (local.get $j) (local.get $x))))
      (if (i32.eq (local.get $r) (i32.const 3)) (then ;; table -> g -> box.b -> box.a -> table
        (local.set $i (call $rand (i32.const 4)))
        (local.set $x (table.get $t (local.get $i)))
        (table.set $t (local.get $i) (struct.get $box $a (local.get $box)))
        (struct.set $box $a (local.get $box) (struct.get $box $b (local.get $box)))
        (struct.set $box $b (local.get $box) (global.get $g))
        (call $garbage (local.get $g))
        (global.set $g (local.get $x))))
      (if (i32.eq (local.get $r) (i32.const 4)) (then ;; rotate 16 elements left by one (array.copy)
        (local.set $i (call $rand (i32.sub (global.get $nvec) (i32.const 16))))
        (local.set $x (array.get $vec (local.get $v) (local.get $i)))
        (array.copy $vec $vec (local.get $v) (local.get $i) (local.get $v) (i32.add (local.get $i) (i32.const 1))
          (i32.const 15))
        (call $garbage (local.get $g))
        (array.set $vec (local.get $v) (i32.add (local.get $i) (i32.const 15)) (local.get $x))))
      (if (i32.eq (local.get $r) (i32.const 5)) (then ;; swap an element and g (array.fill)
        (local.set $i (call $rand (global.get $nvec)))
        (local.set $x (array.get $vec (local.get $v) (local.get $i)))
        (array.fill $vec (local.get $v) (local.get $i) (global.get $g) (i32.const 1))
        (call $garbage (local.get $g))
        (global.set $g (local.get $x))))
      (br_if $round (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1))))))

  (func (export "make") (result (ref $node)) (call $node))
  (global $h (mut (ref null $node)) (ref.null $node))
  (func (export "value") (param (ref null $node)) (result i32) (struct.get $node $v (local.get 0)))
  (func (export "set_h") (param (ref null $node)) (global.set $h (local.get 0)))
  (func (export "h_value") (result i32) (struct.get $node $v (global.get $h)))

  (global $count (mut i64) (i64.const 0))
  (global $sum (mut i64) (i64.const 0))
  (func $count (param $n (ref null $node))
    (global.set $count (i64.add (global.get $count) (i64.const 1)))
    (global.set $sum (i64.add (global.get $sum) (i64.extend_i32_u (struct.get $node $v (local.get $n))))))

  ;; the nodes' count and their values' sum, every place walked
  (func (export "check") (result i64 i64)
    (local $l (ref null $node)) (local $i i32)
    (global.set $count (i64.const 0))
    (global.set $sum (i64.const 0))
    (local.set $l (global.get $list))
    (block $done (loop $next
      (br_if $done (ref.is_null (local.get $l)))
      (call $count (local.get $l))
      (local.set $l (struct.get $node $next (local.get $l)))
      (br $next)))
    (loop $next
      (call $count (array.get $vec (global.get $vec) (local.get $i)))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (global.get $nvec))))
    (call $count (struct.get $box $a (global.get $box)))
    (call $count (struct.get $box $b (global.get $box)))
    (call $count (global.get $g))
    (call $count (table.get $t (i32.const 0)))
    (call $count (table.get $t (i32.const 1)))
    (call $count (table.get $t (i32.const 2)))
    (call $count (table.get $t (i32.const 3)))
    (global.get $count)
    (global.get $sum)))
"""


def run(store: Store, wat: Callable[[str], bytes], nl: int, nv: int, rounds: int, garbage: int) -> Any:
    e = Instance(store, Module(wat(MOD)), {}).exports
    e.setup(nl, nv)
    n = nl + nv + 7
    whole = [n, n * (n + 1) // 2]
    assert list(e.check()) == whole
    e.churn(rounds, garbage)
    assert list(e.check()) == whole
    return e


def test_a_structure_moved_about_while_cycles_run_at_every_allocation(wat: Callable[[str], bytes]) -> None:
    """A step of an object or two at every allocation (wr_api_gc_stress mode 1): a cycle spans hundreds of
    allocations, so moves land on every side of the mark's front."""
    store = Store()
    lib.wr_api_gc_stress(store._native.ptr, 1)
    run(store, wat, 200, 100, 3000, 3)
    assert store.gc_collections >= 15 and store.gc_steps >= 9000


def test_a_large_structure_moved_about_with_the_default_budget(wat: Callable[[str], bytes]) -> None:
    """The default step budget: a list of 5,000 nodes and an array of 50,000 (scanned a part per step) take many
    steps to mark, and the moves happen in between."""
    store = Store()
    run(store, wat, 5_000, 50_000, 3000, 200)
    assert store.gc_collections >= 8 and store.gc_steps >= 800


def test_an_object_the_host_unpins_while_marking_stays_where_wasm_put_it(wat: Callable[[str], bytes]) -> None:
    """The host makes a StructRef (a pin), wasm stores it in a global (a root scanned only at a cycle's start) and
    the host drops it while a cycle marks: dropping the pin grays the object, as a field losing it would."""
    store = Store()
    lib.wr_api_gc_stress(store._native.ptr, 1)
    e = Instance(store, Module(wat(MOD)), {}).exports
    e.setup(50, 20)
    for n in range(1, 300, 3):  # a cycle starts somewhere in the garbage, or not
        ref = e.make()
        value = e.value(ref)
        e.garbage(n)
        e.set_h(ref)
        del ref
        gc.collect()
        e.garbage(300)
        assert e.h_value() == value
