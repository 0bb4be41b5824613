"""Exact GC roots (issue 19) and the collection of the host's externref handles: stack maps, every kind of root
(globals, tables, element segments, exception payloads, green threads' frames wherever they stopped), and the
handle table staying bounded however many host objects pass through wasm."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from wasmroutines._native._core import ffi, lib

from wasmroutines import (
    FairPolicy,
    Function,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Module,
    Store,
    ValType,
    WasmException,
    join,
    spawn,
)
from wasmroutines.core.store import _GC_MIN

EXTERN = ValType.EXTERNREF

MOD = """(module
  (import "env" "pause" (func $pause))
  (import "env" "fresh" (func $fresh (result externref)))
  (import "env" "collect" (func $collect (result externref)))
  (memory (export "mem") 1 1 shared)
  (global $g (mut externref) (ref.null extern))
  (global $x (mut exnref) (ref.null exn))
  (table $t 4 externref)
  (tag $e (param externref))
  (func (export "take") (param externref))
  (func (export "set_global") (param externref) (global.set $g (local.get 0)))
  (func (export "get_global") (result externref) (global.get $g))
  (func (export "set_table") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
  (func (export "get_table") (param i32) (result externref) (table.get $t (local.get 0)))
  ;; x in a local while the thread pauses in host calls
  (func (export "hold") (param externref) (result externref) (call $pause) (local.get 0))
  ;; x in a local while the loop is preempted at its back-edge
  (func (export "spin") (param externref i32) (result externref)
    (loop $l (br_if $l (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (local.get 0))
  ;; fresh's result waits on the operand stack while the host collects
  (func (export "mid") (result externref externref) (call $fresh) (call $collect))
  ;; the same one frame down: fresh's result in this frame, x in the callee's, which pauses
  (func $inner (param externref) (result externref) (call $pause) (local.get 0))
  (func (export "deep") (param externref) (result externref externref) (call $fresh) (call $inner (local.get 0)))
  ;; x in a local during a futex wait (memory[0] stays 0 until `wake`)
  (func (export "wait_hold") (param externref) (result externref)
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    (local.get 0))
  (func (export "wake") (result i32) (memory.atomic.notify (i32.const 0) (i32.const 1)))
  ;; an exception payload: caught with catch_ref, the exnref kept in a global, x dropped
  (func (export "keep_exn") (param externref)
    (block $h (result externref exnref)
      (try_table (catch_ref $e $h) (throw $e (local.get 0)))
      (unreachable))
    (global.set $x)
    (drop))
  (func (export "rethrow") (throw_ref (global.get $x)))
  ;; drop n fresh host objects
  (func (export "churn") (param i32)
    (loop $l
      (drop (call $fresh))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"""


class Thing:
    """A host object a weakref can follow."""


class Host:
    """The module's imports; `pause` parks the calling green thread until `released`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.released = True
        self.paused = 0
        self.fresh: list[weakref.ref[Thing]] = []
        self.kept: list[Thing] = []
        self.exports: Any = None

    def pause(self) -> None:
        self.paused += 1
        while not self.released:
            self.store.scheduler.yield_now()

    def make_fresh(self) -> Thing:
        obj = Thing()
        self.fresh.append(weakref.ref(obj))
        return obj

    def collect(self) -> Thing:
        dropped = self.store.gc()
        # Handles freed are reused: had a root been missed, its slot would now name one of these objects.
        for _ in range(8):
            obj = Thing()
            self.kept.append(obj)
            self.exports.take(obj)
        self.dropped = dropped
        return self.make_fresh()


def make(store: Store, wat: Callable[[str], bytes]) -> tuple[Any, Host]:
    host = Host(store)
    imports = {
        "env": {
            "pause": Function(store, host.pause, FuncType([], [])),
            "fresh": Function(store, host.make_fresh, FuncType([], [EXTERN])),
            "collect": Function(store, host.collect, FuncType([], [EXTERN])),
        }
    }
    e = Instance(store, Module(wat(MOD)), imports).exports
    host.exports = e
    return e, host


def garbage(e: Any, n: int = 16) -> list[weakref.ref[Thing]]:
    """Pass n objects through wasm, which drops them: weakrefs to them."""
    refs = []
    for _ in range(n):
        obj = Thing()
        refs.append(weakref.ref(obj))
        e.take(obj)
        del obj
    return refs


def collected(refs: list[weakref.ref[Thing]]) -> bool:
    gc.collect()
    return all(r() is None for r in refs)


# ---- stack maps ----


def test_a_function_without_references_has_no_stack_map(wat: Callable[[str], bytes]) -> None:
    m = Module(wat("(module (func (param i32 i64) (result i32) (i32.add (local.get 0) (i32.wrap_i64 (local.get 1)))))"))
    out = ffi.new("uint64_t[3]")
    assert lib.wr_api_module_stackmaps(m._ptr, out, out + 1, out + 2) == 0
    assert list(out) == [0, 0, 0]


def test_stack_maps_list_reference_locals_and_materialized_operands(store: Store, wat: Callable[[str], bytes]) -> None:
    e, _ = make(store, wat)
    slots = ffi.new("uint32_t[8]")
    # spin (externref, i32): its frame holds x in slot 0 at every position, the i32 never.
    spin = e.spin._ptr
    for word in (0, 3, 7):
        assert lib.wr_api_func_stackmap(spin, word, 0, slots, 8) == 1 and slots[0] == 0
    # take's only slot is its parameter; funcref and i32 functions have none.
    assert lib.wr_api_func_stackmap(e.take._ptr, 0, 0, slots, 8) == 1
    assert lib.wr_api_func_stackmap(e.wake._ptr, 0, 0, slots, 8) == -1
    # mid: no local, but in the call to $collect, $fresh's result (an operand slot) is a root.
    counts = ffi.new("uint64_t[3]")
    assert lib.wr_api_module_stackmaps(Module(wat(MOD))._ptr, counts, counts + 1, counts + 2) >= 5
    assert counts[2] >= 2  # mid's and deep's second calls


# ---- what keeps a host object alive, and what does not ----


def test_a_handle_wasm_dropped_is_collected(store: Store, wat: Callable[[str], bytes]) -> None:
    e, _ = make(store, wat)
    refs = garbage(e)
    assert store.extern_count == 16
    assert store.gc() == 16
    assert store.extern_count == 0 and collected(refs)


@pytest.mark.parametrize("where", ["global", "table"])
def test_a_reference_in_a_global_or_table_survives(store: Store, wat: Callable[[str], bytes], where: str) -> None:
    e, _ = make(store, wat)
    obj = Thing()
    w = weakref.ref(obj)
    if where == "global":
        e.set_global(obj)
    else:
        e.set_table(2, obj)
    del obj
    refs = garbage(e)
    store.gc()
    assert collected(refs) and w() is not None
    assert (e.get_global() if where == "global" else e.get_table(2)) is w()
    # Overwritten, it goes at the next collection.
    if where == "global":
        e.set_global(None)
    else:
        e.set_table(2, None)
    store.gc()
    assert collected([w])


def test_a_passive_element_segment_holds_its_references(store: Store, wat: Callable[[str], bytes]) -> None:
    text = """(module
      (import "env" "g" (global $g externref))
      (table $t 1 externref)
      (elem $s externref (global.get $g))
      (func (export "init") (table.init $t $s (i32.const 0) (i32.const 0) (i32.const 1)))
      (func (export "get") (result externref) (table.get $t (i32.const 0))))"""
    obj = Thing()
    w = weakref.ref(obj)
    g = Global(store, GlobalType(EXTERN, False), obj)
    e = Instance(store, Module(wat(text)), {"env": {"g": g}}).exports
    del obj, g
    store.gc()
    assert w() is not None
    e.init()
    assert e.get() is w()


def test_an_exception_payload_survives(store: Store, wat: Callable[[str], bytes]) -> None:
    e, _ = make(store, wat)
    obj = Thing()
    w = weakref.ref(obj)
    e.keep_exn(obj)
    del obj
    refs = garbage(e)
    store.gc()
    assert collected(refs) and w() is not None
    with pytest.raises(WasmException) as info:
        e.rethrow()
    assert info.value.payload[0] is w()


def test_an_operand_mid_expression_survives_a_collection_in_a_host_call(
    store: Store, wat: Callable[[str], bytes]
) -> None:
    e, host = make(store, wat)
    refs = garbage(e)
    first, second = e.mid()
    assert host.dropped >= 16 and collected(refs)
    assert first is host.fresh[0]() and second is host.fresh[1]()


def test_a_local_of_a_suspended_green_thread_survives(store: Store, wat: Callable[[str], bytes]) -> None:
    e, host = make(store, wat)
    host.released = False
    obj = Thing()
    w = weakref.ref(obj)
    t = spawn(e.hold, obj, store=store)
    del obj
    while not host.paused:
        store.scheduler.yield_now()
    refs = garbage(e)
    store.gc()  # from another thread (the root), t parked in its host call
    assert collected(refs) and w() is not None
    host.released = True
    assert join(t) is w()


def test_a_local_survives_a_collection_at_a_back_edge(wat: Callable[[str], bytes]) -> None:
    store = Store(policy=FairPolicy(slice=64))
    e, _ = make(store, wat)
    obj = Thing()
    w = weakref.ref(obj)
    refs = garbage(e)
    seen = []

    def at_slice_end() -> None:  # the spinning thread is stopped at its loop's back-edge
        if not seen:
            seen.append(store.gc())

    store.on_yield = at_slice_end
    assert e.spin(obj, 10_000) is obj
    del obj
    assert seen == [16] and collected(refs)
    store.gc()
    assert collected([w])


def test_threads_at_different_suspension_points(wat: Callable[[str], bytes]) -> None:
    store = Store(policy=FairPolicy(slice=200))
    e, host = make(store, wat)
    host.released = False
    objs = [Thing() for _ in range(4)]
    weak = [weakref.ref(o) for o in objs]
    threads = [
        spawn(e.hold, objs[0], store=store),  # in a host call
        spawn(e.spin, objs[1], 50_000_000, store=store),  # preempted at a back-edge
        spawn(e.wait_hold, objs[2], store=store),  # in a futex wait
        spawn(e.deep, objs[3], store=store),  # a callee in a host call, an operand in the caller
    ]
    del objs
    while host.paused < 2:
        store.scheduler.yield_now()
    store.scheduler.yield_now()
    refs = garbage(e)
    assert store.gc() >= 16
    assert collected(refs) and all(w() is not None for w in weak)
    host.released = True
    assert e.wake() == 1
    results = [join(t) for t in threads]
    assert results[0] is weak[0]() and results[1] is weak[1]() and results[2] is weak[2]()
    fresh, x = results[3]
    assert x is weak[3]() and fresh is host.fresh[0]()


def test_references_down_a_recursion_survive(store: Store, wat: Callable[[str], bytes]) -> None:
    text = """(module
      (import "env" "fresh" (func $fresh (result externref)))
      (import "env" "collect" (func $collect (result externref)))
      (import "env" "note" (func $note (param externref externref)))
      ;; each level: x in a local, a fresh object on the operand stack below the call to the next level
      (func $rec (export "rec") (param $x externref) (param $n i32) (result externref)
        (if (i32.eqz (local.get $n)) (then (drop (call $collect)) (return (local.get $x))))
        (call $note (call $fresh) (call $rec (local.get $x) (i32.sub (local.get $n) (i32.const 1))))
        (local.get $x)))"""
    host = Host(store)
    notes: list[tuple[Any, Any]] = []
    imports = {
        "env": {
            "fresh": Function(store, host.make_fresh, FuncType([], [EXTERN])),
            "collect": Function(store, host.collect, FuncType([], [EXTERN])),
            "note": Function(store, lambda a, b: notes.append((a, b)), FuncType([EXTERN, EXTERN], [])),
        }
    }
    host.exports = make(store, wat)[0]
    e = Instance(store, Module(wat(text)), imports).exports
    obj = Thing()
    refs = garbage(host.exports)
    assert e.rec(obj, 40) is obj
    assert host.dropped >= 16 and collected(refs)
    # The innermost level notes first: its fresh object is the last one made before the collection.
    assert [a for a, _ in notes] == [r() for r in reversed(host.fresh[:40])]
    assert all(b is obj for _, b in notes)


# ---- collecting by itself ----


def test_a_million_fresh_objects_keep_the_handle_table_bounded(store: Store, wat: Callable[[str], bytes]) -> None:
    e, _ = make(store, wat)
    take = e.take
    peak = 0
    for i in range(1_000_000):
        take(Thing())
        if i & 1023 == 0:
            peak = max(peak, store.extern_count)
    assert peak <= 2 * _GC_MIN + 1
    # The same for objects a host function hands to wasm, which drops them.
    _, host = make(store, wat)
    host.exports.churn(50_000)
    assert store.extern_count <= 2 * _GC_MIN + 1 and len(host.fresh) == 50_000


def test_a_handle_held_only_by_a_struct_survives(store: Store, wat: Callable[[str], bytes]) -> None:
    """Marking traces through structs and arrays: a handle reachable only from a struct's field is kept (it
    would otherwise be reused under it)."""
    e = Instance(
        store,
        Module(
            wat(
                """(module
  (type $box (struct (field (mut externref))))
  (global $g (mut (ref null $box)) (ref.null $box))
  (func (export "keep") (param externref) (global.set $g (struct.new $box (local.get 0))))
  (func (export "get") (result externref) (struct.get $box 0 (global.get $g))))"""
            ),
        ),
    ).exports

    class Held:
        pass

    e.keep(Held())
    held = weakref.ref(e.get())
    gc.collect()
    assert held() is not None
    assert store.gc() == 0
    gc.collect()
    assert held() is not None and e.get() is held()


def test_a_local_of_a_call_async_parked_in_an_async_host_call_survives(wat: Callable[[str], bytes]) -> None:
    """call_async's threads park in async host calls without a greenlet (core/aio.py): their frames are roots all
    the same, while other calls collect and reuse the freed handles."""
    import asyncio

    store = Store()

    async def pause() -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    def collect() -> None:
        store.gc()
        for _ in range(8):
            e.take(Thing())  # reuses any handle freed by mistake

    mod = """(module
      (import "env" "pause" (func $pause))
      (import "env" "collect" (func $collect))
      (func (export "take") (param externref))
      (func (export "hold") (param externref) (result externref) (call $pause) (local.get 0))
      (func (export "churn") (call $collect)))"""
    imports = {
        "env": {
            "pause": Function(store, pause, FuncType([], [])),
            "collect": Function(store, collect, FuncType([], [])),
        }
    }
    e = Instance(store, Module(wat(mod)), imports).exports

    async def main() -> None:
        objs = [Thing() for _ in range(6)]
        weak = [weakref.ref(o) for o in objs]
        holds = [asyncio.ensure_future(e.hold.call_async(o)) for o in objs]
        del objs
        await asyncio.sleep(0)
        await e.churn.call_async()
        back = await asyncio.gather(*holds)
        assert [b is w() for b, w in zip(back, weak, strict=True)] == [True] * 6

    asyncio.run(main())
