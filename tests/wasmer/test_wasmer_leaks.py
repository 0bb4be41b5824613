"""No leak when stores, modules and instances are made in a loop (a wasmer user's most common complaint).

10,000 rounds, each with a new Store, Module, host Function, Instance, a call and
memory access through both a view and the buffer. Python allocations (tracemalloc)
and the process's resident memory must stay flat; the bounds are generous, a leak of
one object per round would exceed them.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
import weakref

from wasmroutines import wasmer

ROUNDS = 10_000
WASM = wasmer.wat2wasm(
    """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "g") (mut i32) (i32.const 0))
  (table (export "t") 1 funcref)
  (func (export "run") (param i32) (result i32) (call $h (local.get 0))))"""
)
SIGNATURE = wasmer.FunctionType([wasmer.Type.I32], [wasmer.Type.I32])


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_round(i: int) -> None:
    store = wasmer.Store()
    module = wasmer.Module(store, WASM)
    host = wasmer.Function(store, lambda x: x + 1, SIGNATURE)
    instance = wasmer.Instance(module, {"env": {"h": host}})
    assert instance.exports.run(i) == i + 1
    memory = instance.exports.memory
    memory.uint8_view()[i % 65536] = 1
    memory.buffer[0] = 2
    instance.exports.g.value = i


def test_ten_thousand_rounds_stay_flat() -> None:
    for i in range(200):  # warm caches and allocator pools
        one_round(i)
    gc.collect()
    rss_before = rss()
    finalizers_before = len(weakref.finalize._registry)  # type: ignore[attr-defined]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(ROUNDS):
            one_round(i)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # weakref.finalize's registry is one dict for the whole process: its table is reallocated when it resizes,
    # at a moment that depends on what ran before (a suite's earlier tests), so its bytes are left out, and
    # its entries (one per live finalizer) counted instead.
    registry = [tracemalloc.Filter(False, weakref.__file__)]
    diff = after.filter_traces(registry).compare_to(before.filter_traces(registry), "filename")
    grown = sum(d.size_diff for d in diff)
    finalizers = len(weakref.finalize._registry) - finalizers_before  # type: ignore[attr-defined]
    rss_growth = rss() - rss_before
    assert grown < 256 * 1024, f"Python memory grew by {grown} bytes"
    assert finalizers < 100, f"{finalizers} more finalizers registered"
    assert rss_growth < 32 * 1024 * 1024, f"resident memory grew by {rss_growth} bytes"
