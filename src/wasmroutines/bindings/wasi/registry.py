"""The table of WASI calls, and how each becomes a host function.

A WASI call is a Python function `impl(state, *args) -> errno` declared with
`@syscall("params")`: one letter per wasm parameter, `i` an i32 read as
unsigned (pointers, sizes, fds, flags), `I` an i64 read as unsigned
(rights, timestamps, sizes), `q` an i64 read as signed (file deltas). Every
call returns an i32 errno, except `proc_exit` (no result).

The wrapper `bind()` builds is the single place where errors become errno
values: WasiError carries its errno, GuestFault gives EFAULT, an OSError is
mapped by name, an OverflowError (a guest number too large for the host call)
is EINVAL. Anything else (WasiExit, a bug) propagates and abandons the
wasm call, which is what proc_exit needs and what a bug deserves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core.types import FuncType, ValType
from .errno import Errno, errno_of
from .errors import GuestFault, WasiError

__all__ = ["PREVIEW1", "SNAPSHOT0_OVERRIDES", "Syscall", "bind", "syscall"]

_M32 = 0xFFFF_FFFF
_M64 = 0xFFFF_FFFF_FFFF_FFFF
_TYPES = {"i": ValType.I32, "I": ValType.I64, "q": ValType.I64}
_MASKS: dict[str, int | None] = {"i": _M32, "I": _M64, "q": None}


@dataclass(frozen=True)
class Syscall:
    name: str
    params: str
    impl: Callable[..., int | None]
    returns: bool = True

    @property
    def type(self) -> FuncType:
        return FuncType(tuple(_TYPES[c] for c in self.params), (ValType.I32,) if self.returns else ())


#: wasi_snapshot_preview1, by import name.
PREVIEW1: dict[str, Syscall] = {}
#: wasi_unstable calls whose ABI differs from preview1's (the rest are shared).
SNAPSHOT0_OVERRIDES: dict[str, Syscall] = {}


def syscall(
    params: str, *, returns: bool = True, name: str | None = None, snapshot0: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a WASI call (in snapshot 0's overrides when `snapshot0`)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or fn.__name__
        table = SNAPSHOT0_OVERRIDES if snapshot0 else PREVIEW1
        table[key] = Syscall(key, params, fn, returns)
        return fn

    return register


def bind(state: Any, call: Syscall) -> Callable[..., int | None]:
    """The host callable for `call` on `state`: converts arguments, catches errors into errno."""
    impl = call.impl
    masks = [_MASKS[c] for c in call.params]
    all32 = all(m == _M32 for m in masks)

    def host(*args: int) -> int | None:
        try:
            if all32:
                return impl(state, *[a & _M32 for a in args])
            return impl(state, *[a if m is None else a & m for a, m in zip(args, masks, strict=True)])
        except WasiError as e:
            return int(e.errno)
        except GuestFault:
            return int(Errno.FAULT)
        except OSError as e:
            return int(errno_of(e))
        except OverflowError:
            # A guest value out of the host call's range (an offset past 2**63): the host would say EINVAL.
            return int(Errno.INVAL)

    host.__name__ = call.name
    host.__qualname__ = call.name
    return host
