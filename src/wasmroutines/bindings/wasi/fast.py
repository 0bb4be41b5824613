"""The C fast path of WASI's socket and pipe calls: which descriptors it may take, and keeping it true.

`sock_recv`, `sock_send`, `fd_read`, `fd_write` and `poll_oneoff` on sockets
and pipes run in the C core (`_native/wr_wasi_fast.c`): they read and write
straight between the descriptor and linear memory, and park the calling green
thread in the core's reactor when it would block (`_native/wr_io.h`), so a
round trip of a thread-per-connection server does not enter Python, nor does
a sleep (`poll_oneoff` on a clock alone, timed by the core:
`_native/wr_timer.h`). `sock_accept` waits there too, until a connection is
pending; the accept itself is Python's (it makes the fd table entry, once per
connection). `sched_yield` ends the calling thread's slice after the call, in every mode (its yields go to the
scheduler, which decides there as at any slice end). The Python calls stay the definition: a descriptor reaches the
fast path only when a Python call has seen it (looked it up and checked its
rights, or made it: sock_accept) and `mirror` found it eligible, and any
change to it (close, renumber, flags, rights) drops it again (`forget`, from
the fd table). Eligible: our own non-blocking sockets, and the pipes and
terminals of stdio (blocking host descriptors: polled before each read or
write, as streams.py does). Not eligible: files, Python streams; an
environment whose waits do not go to the scheduler (a custom Waiter, a
recorder's), whose host view is virtual (deterministic runs fill reads in
full), or whose calls a recorder watches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core._ffi import NULL, lib
from .abi import FdFlags, Rights
from .errno import _FROM_HOST, Errno
from .green import SchedulerWaiter

if TYPE_CHECKING:
    from ...core.function import Function
    from ...core.memory import Memory
    from ...core.store import Store, _Native
    from .fdtable import FdEntry
    from .state import WasiState

__all__ = ["CALLS", "FastPath"]

#: The WASI calls with a fast path (preview1's, by import name).
CALLS = frozenset({"fd_read", "fd_write", "poll_oneoff", "sock_accept", "sock_recv", "sock_send"})

#: Host errno -> WASI errno, as errno.py maps them, for the C side (anything else: EIO there too).
_ERRNO_MAP = bytes(int(_FROM_HOST.get(code, Errno.IO)) for code in range(256))


class FastPath:
    """The fast path of one WASI environment: a C context (wr_wasi_fast) in each store it serves."""

    def __init__(self, state: WasiState) -> None:
        self._state = state
        self._stores: list[tuple[_Native, Any]] = []  # (the store's native handle, its wr_wasi_fast)
        self._memory: Memory | None = None
        state.fds.on_change = self.forget
        #: In a virtual host view (deterministic runs) no descriptor is fast, but a poll_oneoff on clocks alone (a
        #: sleep) still runs in C, on the core's virtual timers, unless the run's recording must see its sleeps
        #: (a network run, whose clock is not the core's: explore/runner.py turns it off then).
        self.core_sleeps = True

    def _context(self, store: Store) -> Any:
        native = store._native
        for n, ctx in self._stores:
            if n is native:
                return ctx
        ctx = lib.wr_api_wasi_fast_new(native.ptr, _ERRNO_MAP, len(_ERRNO_MAP))
        if ctx == NULL:
            return None
        self._stores.append((native, ctx))
        self._bind(native, ctx)
        return ctx

    def attach(self, store: Store, name: str, function: Function) -> None:
        """Make `function`, the host function of WASI call `name` in `store`, native when the call has a fast
        path and this environment may use it."""
        if name == "sched_yield":
            if isinstance(self._state.waiter, SchedulerWaiter):
                # Its yields go to the scheduler: the thread's slice ends after the call, as any slice end does,
                # and the policy decides there (in C while the core switches threads): no host call, in any mode.
                lib.wr_api_wasi_native_sched_yield(function._ptr)
            return
        if name not in CALLS or (self._state.host.virtual and not (name == "poll_oneoff" and self.core_sleeps)):
            return
        if name == "poll_oneoff" and not isinstance(self._state.waiter, SchedulerWaiter):
            return  # a Waiter of the environment's own times its sleeps (and its descriptors are never fast)
        ctx = self._context(store)
        if ctx is not None:
            lib.wr_api_wasi_fast_attach(ctx, function._ptr, name.encode())

    def bind_memory(self, memory: Memory | None) -> None:
        """The environment reads and writes `memory` now: so does the fast path, in the memory's store."""
        self._memory = memory
        for native, ctx in self._live():
            self._bind(native, ctx)

    def _bind(self, native: _Native, ctx: Any) -> None:
        mem = self._memory
        ours = mem is not None and mem._store._native is native
        lib.wr_api_wasi_fast_set_memory(ctx, mem._ptr if ours and mem is not None else NULL)

    def mirror(self, fd: int, entry: FdEntry) -> None:
        """Guest descriptor `fd`, just used by its Python call: hand it to the fast path if it may take it."""
        state = self._state
        host_fd = entry.host_fd
        if (
            not self._stores
            or host_fd is None
            or not entry.pollable
            or entry.stream is not None
            or type(state.waiter) is not SchedulerWaiter
            or state.host.virtual
            or state.mem.touched is not None
        ):
            return
        if entry.sock is not None:
            if not entry.nonblocking_host:
                return
            flags = lib.WR_FAST_SOCKET
        else:
            flags = 0  # a pipe or terminal of stdio: a blocking host descriptor
        if entry.rights_base & Rights.POLL_FD_READWRITE:
            flags |= lib.WR_FAST_POLL
        if entry.rights_base & Rights.FD_READ:
            flags |= lib.WR_FAST_READ
        if entry.rights_base & Rights.FD_WRITE:
            flags |= lib.WR_FAST_WRITE
        if entry.rights_base & Rights.SOCK_ACCEPT:
            flags |= lib.WR_FAST_ACCEPT
        if entry.flags & FdFlags.NONBLOCK:
            flags |= lib.WR_FAST_NONBLOCK
        for _, ctx in self._live():
            lib.wr_api_wasi_fast_set_fd(ctx, fd, host_fd, flags)

    def forget(self, fd: int) -> None:
        """Guest descriptor `fd` changed (closed, renumbered, new flags or rights): back to the Python path. The
        C side also drops the host descriptor it mirrored from the core's reactor, waking any thread parked on
        it (its call then runs again, in Python, and finds out)."""
        for _, ctx in self._live():
            lib.wr_api_wasi_fast_clear_fd(ctx, fd)

    def _live(self) -> list[tuple[_Native, Any]]:
        """The contexts whose stores are not freed (a context dies with its store)."""
        live = [(n, ctx) for n, ctx in self._stores if n.ptr is not None]
        if len(live) != len(self._stores):
            self._stores = live
        return live
