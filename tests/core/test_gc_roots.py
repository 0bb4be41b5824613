"""Exact GC roots (issue 19) and the collection of the host's externref handles: stack maps, every kind of root
(globals, tables, element segments, exception payloads, green threads' frames wherever they stopped), and the
handle table staying bounded however many host objects pass through wasm."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from wasmroutines._native._core import ffi, lib

from wasmroutines import (
    Function,
    FuncType,
    Instance,
    Module,
    Store,
    ValType,
)

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
