"""execution.py: the call driver: stack exhaustion, fuel, the yield hook."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from wasmroutines import Instance, OutOfFuel, Store, Trap

LOOPS = """(module
  (func $rec (export "rec") (param i32) (result i32) local.get 0 call $rec)
  (func (export "spin") (loop br 0))
  (func (export "count") (param i32) (result i32)
    (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
    (local.get 0)))"""


def test_call_stack_exhausted(instantiate: Callable[..., Instance]) -> None:
    e = instantiate(LOOPS).exports
    with pytest.raises(Trap) as info:
        e.rec(0)
    assert info.value.kind == "call stack exhausted"
    assert len(info.value.frames) > 0
    assert e.count(10) == 0


def test_fuel(store: Store, instantiate: Callable[..., Instance]) -> None:
    e = instantiate(LOOPS).exports
    assert store.fuel is None
    store.fuel = 10_000
    assert e.count(10) == 0
    left = store.fuel
    assert left is not None and 0 < left < 10_000
    with pytest.raises(OutOfFuel):
        e.spin()
    assert store.fuel == 0
    store.fuel = None
    assert e.count(1000) == 0


def test_yield_hook_can_abandon_a_call(store: Store, instantiate: Callable[..., Instance]) -> None:
    e = instantiate(LOOPS).exports
    deadline = time.monotonic() + 0.2

    def hook() -> None:
        if time.monotonic() > deadline:
            raise TimeoutError

    store.on_yield = hook
    with pytest.raises(TimeoutError):
        e.spin()
    store.on_yield = None
    assert e.count(3) == 0
