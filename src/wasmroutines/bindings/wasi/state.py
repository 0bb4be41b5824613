"""The state one WASI environment keeps for its guest: args, environ, fd table, memory, hooks.

Every WASI call receives this object first. It holds no policy of its own:
the embedder's WasiConfig fills it (environment.py) and the calls in fd.py,
path.py, poll.py, ... act on it.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from .fdtable import FdTable
from .green import SchedulerWaiter
from .guest import GuestMemory
from .hostview import HostView
from .runtime import Waiter

if TYPE_CHECKING:
    from .fast import FastPath

__all__ = ["WasiState"]


class WasiState:
    """Args and environ as encoded bytes, the fd table, the bound memory, and the replaceable hooks.

    `waiter` is where every blocking wait goes (see runtime.py) and the
    monotonic clock (and the realtime one, when it has `realtime()`); the
    default, SchedulerWaiter (green.py), parks only the calling green thread
    when a scheduler runs it and blocks the OS thread otherwise. `clock`,
    when set, gives the other clocks (realtime, process and thread CPU time)
    by WASI clock id, for runs that must not read the host's time; `random`
    fills random_get (os.urandom unless a deterministic source is installed);
    `host` is what the guest sees of file metadata, clock resolutions,
    readiness and read sizes (hostview.py: the host's own, or virtual).
    """

    def __init__(
        self,
        args: list[bytes],
        env: list[bytes],
        *,
        waiter: Waiter | None = None,
        random: Callable[[int], bytes] = os.urandom,
        clock: Callable[[int], int] | None = None,
        host: HostView | None = None,
    ) -> None:
        self.args = args
        self.env = env
        self.fds = FdTable()
        # Host functions hold the state, not the environment: once the last of them is gone, close
        # what the guest left open (an embedder without an explicit close leaks no fds).
        weakref.finalize(self, self.fds.close_all)
        self.mem = GuestMemory()
        self.waiter: Waiter = waiter if waiter is not None else SchedulerWaiter()
        self.random = random
        self.clock = clock
        self.host: HostView = host if host is not None else HostView()
        #: The C fast path of the socket calls (fast.py), when the environment set one up.
        self.fast: FastPath | None = None
