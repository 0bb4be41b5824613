"""The state one WASI environment keeps for its guest: args, environ, fd table, memory, hooks.

Every WASI call receives this object first. It holds no policy of its own:
the embedder's WasiConfig fills it (environment.py) and the calls in fd.py,
path.py, poll.py, ... act on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .fdtable import FdTable
from .guest import GuestMemory
from .runtime import OsWaiter, Waiter

__all__ = ["WasiState"]


class WasiState:
    """Args and environ as encoded bytes, the fd table, the bound memory, and the replaceable hooks.

    `waiter` is where every blocking wait goes (see runtime.py); `random` fills
    random_get (os.urandom unless a deterministic source is installed).
    """

    def __init__(
        self,
        args: list[bytes],
        env: list[bytes],
        *,
        waiter: Waiter | None = None,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.args = args
        self.env = env
        self.fds = FdTable()
        self.mem = GuestMemory()
        self.waiter: Waiter = waiter if waiter is not None else OsWaiter()
        self.random = random
