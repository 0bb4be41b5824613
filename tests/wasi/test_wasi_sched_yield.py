"""sched_yield as a slice end in C (bindings/wasi/fast.py, WR_NATIVE_YIELD in _native/wr_runtime.h).

Where the environment's yields go to the scheduler (a SchedulerWaiter), the
call never reaches Python: the calling thread's slice ends right after it
and the policy decides there, as at any slice end. These tests check that
the waiter's own yield is not called then, that two threads still take
turns at each yield, and that another waiter keeps the Python call.
"""

from __future__ import annotations

from typing import Any

import pytest
from wasi_guest import WasiGuest

from wasmroutines import Module, join, spawn, wat2wasm
from wasmroutines.bindings.wasi import OsWaiter, SchedulerWaiter, WasiConfig

GUEST = """
(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (memory (export "memory") 1)
  ;; $n times: append $id to the log (its length at 0, entries from 4), then sched_yield.
  (func (export "take_turns") (param $id i32) (param $n i32)
    (local $at i32)
    (loop $again
      (local.set $at (i32.load (i32.const 0)))
      (i32.store8 offset=4 (local.get $at) (local.get $id))
      (i32.store (i32.const 0) (i32.add (local.get $at) (i32.const 1)))
      (drop (call $yield))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
)
"""


class CountingWaiter(SchedulerWaiter):
    def __init__(self) -> None:
        super().__init__()
        self.yields = 0

    def yield_(self) -> None:
        self.yields += 1
        super().yield_()


class CountingOsWaiter(OsWaiter):
    def __init__(self) -> None:
        self.yields = 0

    def yield_(self) -> None:
        self.yields += 1


@pytest.fixture(scope="module")
def module() -> Module:
    return Module(wat2wasm(GUEST))


def _turns(module: Module, waiter: Any, n: int = 50) -> bytes:
    guest = WasiGuest(module, WasiConfig(waiter=waiter))
    try:
        threads = [spawn(guest.x.take_turns, i, n) for i in (1, 2)]
        for t in threads:
            join(t)
        return guest.bytes(4, guest.u32(0))
    finally:
        guest.close()


def test_a_yield_to_the_scheduler_is_a_slice_end_in_c(module: Module) -> None:
    waiter = CountingWaiter()
    log = _turns(module, waiter)
    assert waiter.yields == 0  # never the Python call
    assert log == bytes([1, 2] * 50)  # each yield hands the turn over


def test_another_waiter_keeps_the_python_call(module: Module) -> None:
    waiter = CountingOsWaiter()
    log = _turns(module, waiter, n=5)
    assert waiter.yields == 10
    assert sorted(log) == [1] * 5 + [2] * 5
