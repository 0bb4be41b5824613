"""Exploration mode in the C core: every access to a shared memory is a preemption point.

Driven by hand through the C API (no scheduler), so the test pins down the mechanism itself:
with a one-unit slice, two threads incrementing a shared counter non-atomically alternate between
each load and its store and lose updates; without exploration mode a slice ends only at loop
back-edges and calls, so each load-add-store runs uninterrupted and no update is lost.
"""

from __future__ import annotations

from typing import Any

import pytest

from wasmroutines import Instance, Module, Store, wat2wasm
from wasmroutines.core._ffi import ffi, lib

COUNTER = """(module
  (memory (export "mem") 1 1 shared)
  (func (export "inc") (param $n i32)
    (loop $again
      (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (local.get $n)))))"""


def run_two(explore: bool, n: int) -> int:
    store = Store()
    inst = Instance(store, Module(wat2wasm(COUNTER)), {})
    func = inst.exports.inc._ptr
    threads: list[Any] = []
    for _ in range(2):
        t = lib.wr_thread_new(store._native.ptr)
        assert t != ffi.NULL
        lib.wr_api_thread_set_explore(t, int(explore))
        assert lib.wr_thread_call(t, func, ffi.new("uint64_t[]", [n])) == 0
        threads.append(t)
    try:
        running = list(threads)
        while running:
            for t in list(running):
                lib.wr_api_thread_set_budget(t, 1)
                status = lib.wr_exec(t)
                if status == lib.WR_DONE:
                    running.remove(t)
                else:
                    assert status == lib.WR_YIELD
        return int.from_bytes(inst.exports.mem.read(0, 4), "little")
    finally:
        for t in threads:
            lib.wr_thread_free(t)


@pytest.mark.parametrize("n", [1, 50])
def test_shared_accesses_interleave_in_exploration_mode(n: int) -> None:
    # The two threads run the same code in the same one-unit slices, in turn: in lockstep. Each loads the
    # counter, is preempted at its store, and the other loads the same value: every round of two
    # increments adds one.
    assert run_two(explore=True, n=n) == n


@pytest.mark.parametrize("n", [1, 50])
def test_without_exploration_no_update_is_lost(n: int) -> None:
    assert run_two(explore=False, n=n) == 2 * n


@pytest.mark.parametrize("explore", [False, True])
def test_exploration_keeps_bounds_checks(explore: bool) -> None:
    store = Store()
    inst = Instance(
        store,
        Module(wat2wasm('(module (memory 1 1 shared) (func (export "f") (result i32) (i32.load (i32.const 65534))))')),
        {},
    )
    t = lib.wr_thread_new(store._native.ptr)
    try:
        lib.wr_api_thread_set_explore(t, int(explore))
        assert lib.wr_thread_call(t, inst.exports.f._ptr, ffi.new("uint64_t[]", 1)) == 0
        status = lib.WR_YIELD
        while status == lib.WR_YIELD:
            lib.wr_api_thread_set_budget(t, 1)
            status = lib.wr_exec(t)
        assert status == lib.WR_TRAP
        assert lib.wr_api_thread_trap(t) == lib.WR_TRAP_MEMORY_OOB
    finally:
        lib.wr_thread_free(t)
