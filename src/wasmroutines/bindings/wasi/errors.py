"""The exceptions of the WASI layer.

Only `WasiExit` is meant to leave the guest: it is how `proc_exit` ends the
wasm call stack (the host function raises, the call driver unwinds every wasm
frame and re-raises it to whoever called into wasm). `WasiError` and
`GuestFault` stay inside a WASI call: the call's wrapper turns them into the
errno the guest sees.
"""

from __future__ import annotations

from ...core.errors import WasmroutinesError
from .errno import Errno

__all__ = ["GuestFault", "WasiError", "WasiExit", "WasiUsageError"]


class WasiExit(WasmroutinesError):
    """The guest called `proc_exit(code)`; the wasm call was abandoned.

    Derives from the project's root error (a RuntimeError, as wasmer raises
    for proc_exit), so code that catches wasm errors catches this too.
    """

    def __init__(self, code: int) -> None:
        super().__init__(f"WASI exited with code: {code}")
        self.code = code


class WasiUsageError(WasmroutinesError):
    """The WASI environment was used wrongly by the embedder (no memory bound, bad preopen)."""


class WasiError(Exception):
    """A WASI call fails with `errno`; caught by the call's wrapper and returned to the guest."""

    def __init__(self, errno: Errno) -> None:
        super().__init__(errno.name)
        self.errno = errno


class GuestFault(Exception):
    """A pointer or length from the guest reaches outside its memory; the call returns EFAULT."""
