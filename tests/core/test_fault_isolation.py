"""Fault isolation: a thousand failing runs of every kind in one process, then good ones.

Each failure must raise its own clear error; afterwards the process must still create stores,
load modules and run them correctly, both in fresh stores and in the stores that saw failures,
without leaking mappings (every store's memories and stacks are unmapped when it dies).
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from wasm_builder import I32, active_data, code, export, func_module, functype, i32_const, import_func, limits, module

from wasmroutines import (
    CompileError,
    Function,
    FuncType,
    Instance,
    LinkError,
    Module,
    OutOfFuel,
    ResourceLimitError,
    StackExhausted,
    Store,
    Trap,
)

END = b"\x0b"
GOOD = func_module(b"\x20\x00" + i32_const(1) + b"\x6a" + END, params=[I32], results=[I32])
UNREACHABLE = func_module(b"\x00" + END)
DIV_ZERO = func_module(i32_const(1) + i32_const(0) + b"\x6d" + END, results=[I32])
OOB = func_module(i32_const(70000) + b"\x28\x02\x00" + END, results=[I32], mems=[limits(1)])
RECURSE = func_module(b"\x10\x00" + END)
SPIN = func_module(b"\x03\x40\x0c\x00" + END + END)
BAD_DATA = module(mems=[limits(1)], datas=[active_data(65536, b"x")])
BIG_MEMORY = module(mems=[limits(100)])
# (import "host" "g" (func)) called by "f" (function 1).
CALLS_HOST = module(
    types=[functype()],
    imports=[import_func("host", "g", 0)],
    funcs=[0],
    exports=[export("f", 0, 1)],
    codes=[code(b"\x10\x00" + END)],
)
START_TRAPS = module(types=[functype()], funcs=[0], start=0, codes=[b"\x03\x00\x00\x0b"])
INVALID = func_module(i32_const(1) + END)  # leaves an i32 where none is expected
MALFORMED = GOOD[:-3]
LINK = module(types=[functype()], exports=[export("x", 0, 0)])  # exports a function that does not exist


class HostFailure(Exception):
    pass


def _raise() -> None:
    raise HostFailure("from the host")


def failing_runs(store: Store) -> list[tuple[type[BaseException], Callable[[], object]]]:
    """(expected error, a run that raises it) for every kind of failure."""
    compiled = {w: Module(w) for w in (UNREACHABLE, DIV_ZERO, OOB, RECURSE, SPIN, BAD_DATA, BIG_MEMORY, CALLS_HOST)}
    limited = Store(max_memory_pages=10)

    def call(wasm: bytes, s: Store | None = None) -> Callable[[], object]:
        return lambda: Instance(s or store, compiled[wasm]).exports.f()

    def spin() -> object:
        store.fuel = 10_000
        try:
            return Instance(store, compiled[SPIN]).exports.f()
        finally:
            store.fuel = None

    host = Function(store, _raise, FuncType([], []))
    return [
        (Trap, call(UNREACHABLE)),
        (Trap, call(DIV_ZERO)),
        (Trap, call(OOB)),
        (StackExhausted, call(RECURSE)),
        (OutOfFuel, spin),
        (Trap, lambda: Instance(store, compiled[BAD_DATA])),
        (Trap, lambda: Instance(store, Module(START_TRAPS))),
        (ResourceLimitError, lambda: Instance(limited, compiled[BIG_MEMORY])),
        (LinkError, lambda: Instance(store, compiled[CALLS_HOST])),
        (HostFailure, lambda: Instance(store, compiled[CALLS_HOST], {"host": {"g": host}}).exports.f()),
        (CompileError, lambda: Module(INVALID)),
        (CompileError, lambda: Module(MALFORMED)),
        (CompileError, lambda: Module(LINK)),
        (Trap, call(UNREACHABLE, Store())),  # a fresh store each time
    ]


def _mappings() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def test_thousand_failures_then_good_runs() -> None:
    store = Store()
    runs = failing_runs(store)
    for i in range(1000):
        expected, run = runs[i % len(runs)]
        with pytest.raises(expected):
            run()
    # The store that saw every failure still works, and so does a fresh one.
    assert Instance(store, Module(GOOD)).exports.f(1) == 2
    assert Instance(Store(), Module(GOOD)).exports.f(41) == 42


def test_failing_stores_do_not_leak_mappings() -> None:  # Linux only, as the project is (pyproject)
    def churn(n: int) -> None:
        for _ in range(n):
            store = Store()
            for expected, run in failing_runs(store):
                with pytest.raises(expected):
                    run()
        gc.collect()

    churn(20)  # warm up: caches, pools, the first stores' freed memory
    before = _mappings()
    churn(100)
    assert _mappings() - before < 50
