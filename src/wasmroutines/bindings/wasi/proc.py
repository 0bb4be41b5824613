"""Arguments, environment, process exit, signals, yielding and randomness.

proc_exit raises WasiExit: the one exception meant to cross the guest (it
unwinds every wasm frame up to whoever called into wasm). proc_raise is
refused (ENOSYS): a signal would have to kill the host process or be
ignored, and neither is what the guest asks for.
"""

from __future__ import annotations

from .errno import Errno
from .errors import WasiError, WasiExit
from .registry import syscall
from .state import WasiState

__all__: list[str] = []


def _put_strings(st: WasiState, items: list[bytes], ptrs: int, buf: int) -> int:
    """Write NUL-terminated `items` at `buf` and their addresses at `ptrs` (argv/environ layout)."""
    offset = buf
    for i, item in enumerate(items):
        st.mem.set_u32(ptrs + 4 * i, offset)
        st.mem.write(offset, item + b"\0")
        offset += len(item) + 1
    return 0


def _sizes(st: WasiState, items: list[bytes], count_ptr: int, size_ptr: int) -> int:
    st.mem.set_u32(count_ptr, len(items))
    st.mem.set_u32(size_ptr, sum(len(x) + 1 for x in items))
    return 0


@syscall("ii")
def args_get(st: WasiState, argv: int, argv_buf: int) -> int:
    return _put_strings(st, st.args, argv, argv_buf)


@syscall("ii")
def args_sizes_get(st: WasiState, argc_ptr: int, size_ptr: int) -> int:
    return _sizes(st, st.args, argc_ptr, size_ptr)


@syscall("ii")
def environ_get(st: WasiState, environ: int, environ_buf: int) -> int:
    return _put_strings(st, st.env, environ, environ_buf)


@syscall("ii")
def environ_sizes_get(st: WasiState, count_ptr: int, size_ptr: int) -> int:
    return _sizes(st, st.env, count_ptr, size_ptr)


@syscall("i", returns=False)
def proc_exit(st: WasiState, code: int) -> None:
    raise WasiExit(code)


@syscall("i")
def proc_raise(st: WasiState, sig: int) -> int:
    raise WasiError(Errno.NOSYS)


@syscall("")
def sched_yield(st: WasiState) -> int:
    # The green thread scheduler's Waiter switches threads here; the OS one has none to run.
    st.waiter.yield_()
    return 0


@syscall("ii")
def random_get(st: WasiState, buf: int, buf_len: int) -> int:
    view = st.mem.slice(buf, buf_len)
    view[:] = st.random(buf_len)
    return 0
