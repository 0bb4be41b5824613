"""Exception objects are collected (issue 19): a program that keeps making them (throws caught with catch_ref)
runs in bounded memory, and an exception stays alive while anything holds it: a local, a global, a table, a
struct's field, another exception's payload, the host (a WasmException alive in Python), with its payload
(a struct here) traced through it."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest

from wasmroutines import Function, FuncType, Instance, Module, Store, StructRef, ValType, WasmException
from wasmroutines.core._ffi import lib

MOD = """(module
  (type $node (struct (field $v i32)))
  (type $box (struct (field $x (mut exnref))))
  (tag $e (export "e") (param i64 (ref null $node)))
  (tag $wrap (param exnref))
  (import "env" "host_throw" (func $host_throw (param i32)))
  (global $g (mut exnref) (ref.null exn))
  (global $b (mut (ref null $box)) (ref.null $box))
  (table $t 2 exnref)

  ;; an exception of $e with the payload (v, a node of v), caught with catch_ref: its exnref
  (func $make (export "make") (param $v i32) (result exnref)
    (local $x exnref)
    (block $h (result i64 (ref null $node) exnref)
      (try_table (catch_ref $e $h)
        (throw $e (i64.extend_i32_u (local.get $v)) (struct.new $node (local.get $v))))
      (unreachable))
    (local.set $x) (drop) (drop)
    (local.get $x))

  ;; x thrown again and caught: its payload as v + 1,000,000 * the node's v
  (func $open (export "open") (param $x exnref) (result i64)
    (local $n (ref null $node))
    (block $h (result i64 (ref null $node))
      (try_table (catch $e $h) (throw_ref (local.get $x)))
      (unreachable))
    (local.set $n)
    (i64.add (i64.mul (i64.extend_i32_u (struct.get $node $v (local.get $n))) (i64.const 1000000))))

  ;; garbage: n exceptions (and their nodes), each dropped at once
  (func $churn (export "churn") (param $n i32)
    (loop $l
      (drop (call $make (local.get $n)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; n rounds, from n down to 1: each makes an exception, opens the one the round before kept in $g, keeps its own
  (func (export "rounds") (param $n i32) (result i64)
    (local $s i64) (local $x exnref)
    (loop $l
      (local.set $x (call $make (local.get $n)))
      (if (i32.eqz (ref.is_null (global.get $g)))
        (then (local.set $s (i64.add (local.get $s) (call $open (global.get $g))))))
      (global.set $g (local.get $x))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (global.set $g (ref.null exn))
    (local.get $s))

  ;; n throws of a payload that holds no object, each caught with catch_all_ref
  (func (export "bare") (param $n i32)
    (loop $l
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (throw $e (i64.const 1) (ref.null $node)))
        (unreachable))
      (global.set $g)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (global.set $g (ref.null exn)))

  ;; keep an exception of v in a global (0), a table (1), a struct's field (2), another exception's payload (3)
  (func (export "keep") (param $where i32) (param $v i32)
    (local $x exnref)
    (local.set $x (call $make (local.get $v)))
    (if (i32.eq (local.get $where) (i32.const 0)) (then (global.set $g (local.get $x))))
    (if (i32.eq (local.get $where) (i32.const 1)) (then (table.set $t (i32.const 1) (local.get $x))))
    (if (i32.eq (local.get $where) (i32.const 2)) (then (global.set $b (struct.new $box (local.get $x)))))
    (if (i32.eq (local.get $where) (i32.const 3))
      (then
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $wrap (local.get $x)))
          (unreachable))
        (global.set $g))))
  (func (export "open_kept") (param $where i32) (result i64)
    (local $x exnref)
    (if (i32.eq (local.get $where) (i32.const 0)) (then (local.set $x (global.get $g))))
    (if (i32.eq (local.get $where) (i32.const 1)) (then (local.set $x (table.get $t (i32.const 1)))))
    (if (i32.eq (local.get $where) (i32.const 2)) (then (local.set $x (struct.get $box $x (global.get $b)))))
    (if (i32.eq (local.get $where) (i32.const 3))
      (then
        (local.set $x
          (block $h (result exnref)
            (try_table (catch $wrap $h) (throw_ref (global.get $g)))
            (unreachable)))))
    (call $open (local.get $x)))
  (func (export "drop_all")
    (global.set $g (ref.null exn))
    (table.set $t (i32.const 1) (ref.null exn))
    (global.set $b (ref.null $box)))

  ;; an exception in a local while garbage is made
  (func (export "hold_local") (param $v i32) (param $g i32) (result i64)
    (local $x exnref)
    (local.set $x (call $make (local.get $v)))
    (call $churn (local.get $g))
    (call $open (local.get $x)))

  ;; the host function throws; caught with catch_ref and kept in $g
  (func (export "catch_host") (param $v i32)
    (block $h (result i64 (ref null $node) exnref)
      (try_table (catch_ref $e $h) (call $host_throw (local.get $v)))
      (unreachable))
    (global.set $g) (drop) (drop))

  (func (export "node") (param $v i32) (result (ref null $node)) (struct.new $node (local.get $v)))
  (func (export "throw_node") (param $v i32)
    (throw $e (i64.extend_i32_u (local.get $v)) (struct.new $node (local.get $v)))))"""

LIMIT = 64 << 10  # max_gc_bytes: some hundreds of exceptions with their nodes
GARBAGE = 10 * LIMIT // 64  # exceptions and nodes of ten times the limit


def opened(v: int) -> int:
    return v * 1_000_001


def make(store: Store, wat: Callable[[str], bytes]) -> Any:
    exports: list[Any] = []

    def host_throw(v: int) -> None:
        raise WasmException(exports[0].e, [v, exports[0].node(v)])

    imports = {"env": {"host_throw": Function(store, host_throw, FuncType([ValType.I32], []))}}
    exports.append(Instance(store, Module(wat(MOD)), imports).exports)
    return exports[0]


def test_a_million_throws_caught_with_catch_ref_run_in_bounded_memory(wat: Callable[[str], bytes]) -> None:
    """Each round makes an exception and a node and keeps them one round: a million of them run under a heap
    limit of 64 KiB, so the collector frees exceptions (and what their payloads held)."""
    store = Store(max_gc_bytes=LIMIT)
    e = make(store, wat)
    n = 1_000_000
    assert e.rounds(n) == sum(opened(k) for k in range(2, n + 1))
    assert store.gc_heap_bytes <= LIMIT
    e.bare(n)  # exceptions with no reference in their payload: collected too
    assert store.gc_collections > 2 * n * 48 // LIMIT
    store.gc()
    assert store.gc_heap_bytes == 0


def test_exceptions_count_in_the_gc_heap(store: Store, wat: Callable[[str], bytes]) -> None:
    e = make(store, wat)
    e.keep(0, 1)
    store.gc()
    kept = store.gc_heap_bytes
    e.bare(1)  # one more exception, kept in $g (the node kept before is garbage now)
    assert store.gc_heap_bytes > kept
    e.drop_all()
    store.gc()
    assert store.gc_heap_bytes == 0


def test_an_exception_held_by_wasm_survives_with_its_payload(wat: Callable[[str], bytes]) -> None:
    """In a global, a table, a struct's field, another exception's payload: collections by wasm's allocations
    and by Store.gc() keep it and its payload's node; dropped, all of it is freed."""
    store = Store(max_gc_bytes=LIMIT)
    e = make(store, wat)
    for where in range(4):
        e.keep(where, 7 + where)
        e.churn(GARBAGE)
        store.gc()
        e.churn(GARBAGE)
        assert e.open_kept(where) == opened(7 + where), where
        e.drop_all()
        store.gc()
        assert store.gc_heap_bytes == 0, where


def test_an_exception_in_a_local_survives_collections(wat: Callable[[str], bytes]) -> None:
    store = Store(max_gc_bytes=LIMIT)
    e = make(store, wat)
    assert e.hold_local(42, GARBAGE) == opened(42)
    assert store.gc_collections >= 5


def test_an_exception_the_host_holds_survives_and_is_freed_when_dropped(wat: Callable[[str], bytes]) -> None:
    store = Store(max_gc_bytes=LIMIT)
    e = make(store, wat)
    exc = e.make(5)  # an exnref result: the WasmException pins it
    try:
        e.throw_node(6)
    except WasmException as caught:  # uncaught in wasm: the host holds it
        uncaught = caught
    e.churn(GARBAGE)
    store.gc()
    e.churn(GARBAGE)
    assert e.open(exc) == opened(5) and e.open(uncaught) == opened(6)
    assert exc.payload[0] == 5 and isinstance(exc.payload[1], StructRef)
    del exc, uncaught
    gc.collect()
    store.gc()
    assert store.gc_heap_bytes == 0


def test_an_exception_a_host_function_threw_survives_in_wasm(wat: Callable[[str], bytes]) -> None:
    store = Store(max_gc_bytes=LIMIT)
    e = make(store, wat)
    e.catch_host(9)
    gc.collect()  # the Python exception is gone: only wasm's global holds the exception
    e.churn(GARBAGE)
    store.gc()
    assert e.open_kept(0) == opened(9)


@pytest.mark.parametrize("mode", [1, 2])
def test_a_collection_at_every_allocation_the_throws_own_included(
    store: Store, wat: Callable[[str], bytes], mode: int
) -> None:
    """The exception a catch_ref makes is allocated where its payload is still in the thrower's frame: the
    collector's work that allocation runs (a tiny step of an incremental cycle, 1, or a whole collection, 2) keeps
    the payload's node."""
    e = make(store, wat)
    lib.wr_api_gc_stress(store._native.ptr, mode)
    before = store.gc_collections if mode == 2 else store.gc_steps
    assert e.rounds(300) == sum(opened(k) for k in range(2, 301))
    assert e.hold_local(3, 50) == opened(3)
    assert (store.gc_collections if mode == 2 else store.gc_steps) - before >= 2 * 300


MOVED_WAT = """(module
  (tag $t (param i32))
  (type $box (struct (field $e (mut exnref))))
  (type $node (struct (field i32)))
  (global $box (mut (ref null $box)) (ref.null $box))
  ;; an exception of payload v, caught as an exnref
  (func $make (param $v i32) (result exnref)
    (local $x exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $t $h) (throw $t (local.get $v)))
      (unreachable))
    (local.set $x)
    (drop)
    (local.get $x))
  (func $payload (param $e exnref) (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (throw_ref (local.get $e)))
      (unreachable)))
  ;; n structs and n exceptions of payload -1, all garbage at once: a freed exception's memory is soon another's
  (func $garbage (param $n i32)
    (loop $l
      (drop (struct.new $node (i32.const 0)))
      (drop (call $make (i32.const -1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "setup") (param $v i32) (global.set $box (struct.new $box (call $make (local.get $v)))))
  ;; each round takes the exception out of the field into a local, clears the field, makes garbage and puts it
  ;; back: while a cycle marks, the field losing it is the only thing that can keep it (the write barrier)
  (func (export "churn") (param $rounds i32) (param $g i32) (result i32)
    (local $x exnref)
    (loop $l
      (local.set $x (struct.get $box $e (global.get $box)))
      (struct.set $box $e (global.get $box) (ref.null exn))
      (call $garbage (local.get $g))
      (struct.set $box $e (global.get $box) (local.get $x))
      (local.set $x (ref.null exn))
      (call $garbage (local.get $g))
      (br_if $l (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1)))))
    (call $payload (struct.get $box $e (global.get $box)))))"""


def test_an_exception_moved_out_of_a_field_while_a_cycle_marks_survives(wat: Callable[[str], bytes]) -> None:
    """Exceptions go through the incremental collector's write barrier as structs do: an exnref field cleared
    while marking grays the exception it held."""
    store = Store()
    lib.wr_api_gc_stress(store._native.ptr, 1)
    e = Instance(store, Module(wat(MOVED_WAT)), {}).exports
    e.setup(4242)
    assert e.churn(400, 3) == 4242
    assert store.gc_collections >= 5
