"""GC's collector (issue 19): structs and arrays are freed once unreachable, so a program allocating garbage
runs in bounded memory; whatever is reachable survives collections started by wasm's own allocations or by
Store.gc(): lists, cycles, arrays of references, objects held only by a suspended green thread's frame, a
global, a table, an exception payload, a StructRef the host holds, and host objects held only by a field."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

from wasmroutines import FairPolicy, Function, FuncType, Instance, Module, Store, ValType, join, spawn

MOD = """(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (type $box (struct (field $x (mut externref))))
  (type $vec (array (mut (ref null $node))))
  (import "env" "pause" (func $pause))
  (global $g (mut (ref null $node)) (ref.null $node))
  (global $b (mut (ref null $box)) (ref.null $box))
  (global $x (mut exnref) (ref.null exn))
  (table $t 2 (ref null $node))
  (tag $e (param (ref null $node)))

  ;; n structs of 48 bytes, each dropped at once
  (func $churn (export "churn") (param $n i32)
    (loop $l
      (drop (struct.new $node (local.get $n) (ref.null $node)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; the list 1, 2, ..., n
  (func $list (export "list") (param $n i32) (result (ref null $node))
    (local $l (ref null $node))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $l (struct.new $node (local.get $n) (local.get $l)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $l))

  (func $sum (export "sum") (param $l (ref null $node)) (result i32)
    (local $s i32)
    (block $done (loop $next
      (local.set $s (i32.add (local.get $s) (struct.get $node $v (br_on_null $done (local.get $l)))))
      (local.set $l (struct.get $node $next (local.get $l)))
      (br $next)))
    (local.get $s))

  ;; a list of n built with garbage between its nodes, its sum taken after more garbage
  (func (export "list_churned") (param $n i32) (param $g i32) (result i32)
    (local $l (ref null $node))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $l (struct.new $node (local.get $n) (local.get $l)))
      (call $churn (local.get $g))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (call $churn (local.get $g))
    (call $sum (local.get $l)))

  ;; a <-> b, with garbage between them
  (func (export "cycle") (param $g i32) (result i32)
    (local $a (ref null $node)) (local $b (ref null $node))
    (local.set $a (struct.new $node (i32.const 1) (ref.null $node)))
    (local.set $b (struct.new $node (i32.const 2) (local.get $a)))
    (struct.set $node $next (local.get $a) (local.get $b))
    (local.set $b (ref.null $node))
    (call $churn (local.get $g))
    (i32.and
      (ref.eq (local.get $a) (struct.get $node $next (struct.get $node $next (local.get $a))))
      (i32.eq (struct.get $node $v (struct.get $node $next (local.get $a))) (i32.const 2))))

  ;; an array of n lists (list i + 1 at i): its sums' sum
  (func $vec (export "vec") (param $n i32) (result (ref null $vec))
    (local $a (ref null $vec)) (local $i i32)
    (local.set $a (array.new_default $vec (local.get $n)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (array.set $vec (local.get $a) (local.get $i) (call $list (i32.add (local.get $i) (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $a))
  (func $vec_sum (export "vec_sum") (param $a (ref null $vec)) (result i32)
    (local $i i32) (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
      (local.set $s (i32.add (local.get $s) (call $sum (array.get $vec (local.get $a) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s))

  (func (export "set_global") (param i32) (global.set $g (call $list (local.get 0))))
  (func (export "global_sum") (result i32) (call $sum (global.get $g)))
  (func (export "set_table") (param i32) (table.set $t (i32.const 1) (call $list (local.get 0))))
  (func (export "table_sum") (result i32) (call $sum (table.get $t (i32.const 1))))
  (func (export "keep_exn") (param $n i32)
    (block $h (result (ref null $node) exnref)
      (try_table (catch_ref $e $h) (throw $e (call $list (local.get $n))))
      (unreachable))
    (global.set $x)
    (drop))
  (func (export "exn_sum") (result i32)
    (block $h (result (ref null $node))
      (try_table (catch $e $h) (throw_ref (global.get $x)))
      (unreachable))
    (call $sum))
  (func (export "box") (param externref) (global.set $b (struct.new $box (local.get 0))))
  (func (export "unbox") (result externref) (struct.get $box $x (global.get $b)))

  ;; a list in a local across a host call that parks, then garbage; its sum
  (func (export "hold") (param $n i32) (param $g i32) (result i32)
    (local $l (ref null $node))
    (local.set $l (call $list (local.get $n)))
    (call $pause)
    (call $churn (local.get $g))
    (call $sum (local.get $l))))"""

LIMIT = 64 << 10  # max_gc_bytes: 1,365 nodes of 48 bytes
GARBAGE = 10 * LIMIT // 48  # allocations of 10 times the limit


class Host:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.released = True
        self.paused = 0

    def pause(self) -> None:
        self.paused += 1
        while not self.released:
            self.store.scheduler.yield_now()


def make(store: Store, wat: Callable[[str], bytes]) -> tuple[Any, Host]:
    host = Host(store)
    imports = {"env": {"pause": Function(store, host.pause, FuncType([], []))}}
    return Instance(store, Module(wat(MOD)), imports).exports, host


def tri(n: int) -> int:
    return n * (n + 1) // 2


def test_garbage_of_ten_times_the_limit_runs_in_bounded_memory(wat: Callable[[str], bytes]) -> None:
    store = Store(max_gc_bytes=LIMIT)
    e, _ = make(store, wat)
    e.churn(GARBAGE)
    assert store.gc_collections >= 9 and store.gc_heap_bytes <= LIMIT
    store.gc()
    assert store.gc_heap_bytes == 0


def test_lists_cycles_and_arrays_survive_collections_in_wasm(wat: Callable[[str], bytes]) -> None:
    store = Store(max_gc_bytes=LIMIT)
    e, _ = make(store, wat)
    assert e.list_churned(100, 100) == tri(100)  # each node, then its list, held by a local only
    assert e.cycle(GARBAGE) == 1
    v = e.vec(20)  # 210 nodes through an array
    e.churn(GARBAGE)
    assert e.vec_sum(v) == sum(tri(i) for i in range(1, 21))
    assert store.gc_collections >= 20


def test_roots_of_every_kind_survive(wat: Callable[[str], bytes]) -> None:
    store = Store(max_gc_bytes=LIMIT)
    e, _ = make(store, wat)
    e.set_global(50)
    e.set_table(60)
    e.keep_exn(70)
    held = e.list(80)  # a StructRef: pinned while Python holds it
    e.churn(GARBAGE)
    store.gc()
    e.churn(GARBAGE)
    assert (e.global_sum(), e.table_sum(), e.exn_sum(), e.sum(held)) == (tri(50), tri(60), tri(70), tri(80))


def test_a_host_object_in_a_field_stays_the_same_object(store: Store, wat: Callable[[str], bytes]) -> None:
    class Held:
        pass

    e, _ = make(store, wat)
    e.box(Held())
    w = weakref.ref(e.unbox())
    gc.collect()
    store.gc()  # the handle is only in the struct's field, the struct only in a global
    for _ in range(3):
        e.box(Held())  # handles the collection freed are reused: a missed one would name one of these
    e.box(w())
    store.gc()
    gc.collect()
    assert w() is not None and e.unbox() is w()


def test_a_struct_the_host_dropped_is_freed(store: Store, wat: Callable[[str], bytes]) -> None:
    e, _ = make(store, wat)
    ref = e.list(1000)
    store.gc()
    before = store.gc_heap_bytes
    assert before >= 48_000 and e.sum(ref) == tri(1000)
    del ref
    gc.collect()
    store.gc()
    assert store.gc_heap_bytes == 0


def test_a_million_long_list_is_marked_without_recursion(store: Store, wat: Callable[[str], bytes]) -> None:
    e, _ = make(store, wat)
    head = e.list(1_000_000)
    store.gc()
    assert store.gc_heap_bytes == 48_000_000
    assert e.sum(head) == (tri(1_000_000) + 2**31) % 2**32 - 2**31


def test_a_collection_in_one_thread_keeps_the_others_roots(wat: Callable[[str], bytes]) -> None:
    store = Store(max_gc_bytes=LIMIT, policy=FairPolicy(slice=200))
    e, host = make(store, wat)
    host.released = False
    held = spawn(e.hold, 30, GARBAGE, store=store)  # parked in a host call, its list in a local
    spinning = [spawn(e.list_churned, 40, 50, store=store) for _ in range(2)]  # preempted anywhere
    while not host.paused:
        store.scheduler.yield_now()
    e.churn(GARBAGE)  # collects while the others are parked or preempted
    host.released = True
    assert join(held) == tri(30) and [join(t) for t in spinning] == [tri(40)] * 2
    assert store.gc_collections >= 10


def test_a_spawned_calls_arguments_survive_until_it_begins(wat: Callable[[str], bytes]) -> None:
    """spawn() of a host Function keeps its arguments as raw slots until the call begins: a StructRef among them
    keeps its object alive though the caller dropped it and wasm collected meanwhile."""
    store = Store(max_gc_bytes=LIMIT)
    e, _ = make(store, wat)
    target = Function(store, lambda ref: e.sum(ref), FuncType([ValType.ANYREF], [ValType.I32]))
    t = store.scheduler.spawn(target, e.list(90))
    e.churn(GARBAGE)
    store.gc()
    e.churn(GARBAGE)
    assert join(t) == tri(90)


def test_a_spawned_calls_raw_argument_slots_survive_until_it_begins(wat: Callable[[str], bytes]) -> None:
    """spawn_bits() of a host Function: the raw slot of a list no GcRef names is all that holds it until the
    call begins, while wasm and Store.gc() collect."""
    store = Store(max_gc_bytes=LIMIT)
    e, _ = make(store, wat)
    ref = e.list(90)
    store.gc()
    held = store.gc_heap_bytes  # the list's bytes
    del ref
    store.gc()
    assert store.gc_heap_bytes == 0
    target = Function(store, lambda ref: e.sum(ref), FuncType([ValType.ANYREF], [ValType.I32]))
    t = store.scheduler.spawn_bits(target, e.list.call_bits([90]))
    e.churn(GARBAGE)
    store.gc()
    assert store.gc_heap_bytes == held
    e.churn(GARBAGE)
    assert join(t) == tri(90)
