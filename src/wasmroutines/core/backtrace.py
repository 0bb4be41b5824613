"""A suspended or trapped wasm thread's stack as Python sees it: the Trap of WR_TRAP, and backtrace frames.

Apart from the call driver (execution.py) so that the scheduler, recordings and traps can read stacks
without importing the driver, which imports the scheduler.
"""

from __future__ import annotations

from typing import Any

from ._ffi import ffi, lib, optional_text, trap_message
from .errors import Frame, Trap, trap
from .values import exnref_value

__all__ = ["backtrace_frames", "exhausted_limit", "trap_of"]


#: Which limit a "call stack exhausted" hit (wr_api_thread_exhausted), as StackExhausted.limit names it.
_EXHAUSTED = {
    lib.WR_EXHAUSTED_FRAMES: "max_call_depth",
    lib.WR_EXHAUSTED_SLOTS: "stack_slots",
    lib.WR_EXHAUSTED_NESTING: "host_nesting",
}


def exhausted_limit(t: Any) -> str:
    return _EXHAUSTED[int(lib.wr_api_thread_exhausted(t))]


def trap_of(t: Any, store: Any) -> Trap:
    """After WR_TRAP: the Trap, with the backtrace the core recorded; the WasmException (a Trap) of an
    exception no handler caught, where it was thrown."""
    code = int(lib.wr_api_thread_trap(t))
    if code == _UNCAUGHT:
        exc: Trap = exnref_value(store, lib.wr_api_exn_ref(lib.wr_api_thread_exn(t)), backtrace_frames(t), code)
        return exc
    return trap(trap_message(code), code, backtrace_frames(t), exhausted_limit(t))


_UNCAUGHT: int = lib.WR_TRAP_UNCAUGHT_EXCEPTION


def backtrace_frames(t: Any) -> list[Frame]:
    """The backtrace recorded in wr_thread `t` (by a trap, or wr_api_thread_capture_backtrace), innermost first."""
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
                export_name=optional_text(lib.wr_api_func_export_name(f)),
            )
        )
    return frames
