"""The call driver: runs a wasm call on the store's thread and serves what wr_exec() asks for.

wr_exec() returns to this loop whenever the thread needs the host:
  WR_DONE         read the results;
  WR_HOSTCALL     call the Python host function with the args in the thread's
                  host_args slots, write its results to the same slots, resume;
                  the host function may call wasm again (a nested call on the
                  same thread: wr_thread_call stacks a host entry);
  WR_YIELD        the slice ran out: run the store's on_yield hook, refill, resume;
  WR_OUT_OF_FUEL  abandon the call, raise OutOfFuel;
  WR_TRAP         raise Trap with the thread's trap code and backtrace.
A Python exception from a host function (or the hook) abandons the wasm call
(wr_thread_unwind) and propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._ffi import (
    WR_DONE,
    WR_HOSTCALL,
    WR_OUT_OF_FUEL,
    WR_TRAP,
    WR_YIELD,
    ffi,
    lib,
    optional_text,
    trap_message,
)
from .errors import Frame, OutOfFuel, Trap
from .store import SLICE, Store
from .types import FuncType
from .values import args_to_slots, slot_count, slots_to_values

__all__ = ["call", "call_host_bits"]


def call(store: Store, func: Any, args: Sequence[int], nresult_slots: int) -> list[int]:
    """Call wasm function `func` (a wr_func*) with raw argument slots; return the raw result slots."""
    t = store._thread()
    code = lib.wr_thread_call(t, func, ffi.new("uint64_t[]", list(args) or 1))
    if code:
        raise Trap(trap_message(code), code)
    while True:
        status = lib.wr_exec(t)
        if status == WR_DONE:
            results = lib.wr_thread_results(t)
            return [int(results[i]) for i in range(nresult_slots)]
        if status == WR_HOSTCALL:
            try:
                _serve_hostcall(store, t)
            except BaseException:
                lib.wr_thread_unwind(t)
                raise
        elif status == WR_YIELD:
            hook = store.on_yield
            if hook is not None:
                try:
                    hook()
                except BaseException:
                    lib.wr_thread_unwind(t)
                    raise
            lib.wr_api_thread_set_budget(t, SLICE)
        elif status == WR_OUT_OF_FUEL:
            lib.wr_thread_unwind(t)
            raise OutOfFuel("all fuel consumed")
        elif status == WR_TRAP:
            raise _trap(t)
        else:
            lib.wr_thread_unwind(t)
            raise SystemError(f"wr_exec returned unknown status {status}")


def _serve_hostcall(store: Store, t: Any) -> None:
    func = lib.wr_api_thread_host_func(t)
    # Read the slots' address now: a nested call moves the thread's registers, not these slots.
    slots = lib.wr_api_thread_host_args(t)
    host_id = ffi.new("uint64_t *")
    if not lib.wr_api_func_host_id(func, host_id):
        raise SystemError("WR_HOSTCALL for a function that is not a host function")
    host = store._hosts[int(host_id[0])]
    ft = host.type
    nargs = slot_count(ft.params)
    args = slots_to_values(store, ft.params, [int(slots[i]) for i in range(nargs)])
    results = _results_to_slots(store, ft, host.func(*args))
    for i, s in enumerate(results):
        slots[i] = s


def call_host_bits(store: Store, func: Callable[..., Any], ft: FuncType, args: Sequence[int]) -> list[int]:
    """Call a host function from Python with raw slots (no wasm involved)."""
    values = slots_to_values(store, ft.params, args)
    return _results_to_slots(store, ft, func(*values))


def _results_to_slots(store: Store, ft: FuncType, result: Any) -> list[int]:
    n = len(ft.results)
    if n == 0:
        if result is not None:
            raise TypeError(f"host function of type {ft} returned a value")
        return []
    if n == 1:
        if isinstance(result, (tuple, list)):
            if len(result) != 1:
                raise TypeError(f"host function of type {ft} returned {len(result)} results")
            result = result[0]
        return args_to_slots(store, ft.results, (result,))
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = len(result) if isinstance(result, (tuple, list)) else (0 if result is None else 1)
        raise TypeError(f"host function of type {ft} returned {got} results")
    return args_to_slots(store, ft.results, result)


def _trap(t: Any) -> Trap:
    code = int(lib.wr_api_thread_trap(t))
    frames = []
    func = ffi.new("wr_func **")
    offset = ffi.new("uint32_t *")
    for i in range(lib.wr_api_thread_backtrace_len(t)):
        lib.wr_api_thread_backtrace(t, i, func, offset)
        f = func[0]
        frames.append(
            Frame(
                func_index=int(lib.wr_api_func_index(f)),
                func_name=optional_text(lib.wr_api_func_name(f)),
                module_name=optional_text(lib.wr_api_func_module_name(f)),
                offset=int(offset[0]),
            )
        )
    return Trap(trap_message(code), code, frames)
