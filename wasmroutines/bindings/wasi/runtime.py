"""Where a WASI call waits: the one hook a scheduler replaces.

Every blocking wait of the WASI layer goes through a `Waiter`: fd_read on
stdin, pipes and sockets, fd_write on a full pipe, sock_accept, and
poll_oneoff (clock and fd subscriptions). WASI calls never block in the OS
by themselves: they ask the waiter to wait until an fd is ready or a
deadline passes, then retry the call without blocking.

`OsWaiter`, the default, blocks the calling OS thread in select(): right
while one wasm thread runs per OS thread. When wasm threads become green
threads (a later issue), the scheduler installs its own waiter that parks
only the calling green thread and runs the others, waiting in the OS only
when no thread can run. Deadlines are `time.monotonic_ns()` values so that
a deterministic scheduler can substitute a virtual clock.
"""

from __future__ import annotations

import select
import time
from typing import Protocol

__all__ = ["OsWaiter", "Waiter"]


class Waiter(Protocol):
    """Blocks until one of the fds is ready or the deadline (monotonic ns, None = never) passes."""

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        """Return when any fd in `readable` can be read or any in `writable` written, or at `deadline`.

        May return early (a spurious wake-up): callers recheck and wait again.
        """
        ...

    def sleep_until(self, deadline: int) -> None:
        """Return once monotonic time reaches `deadline`."""
        ...

    def now(self) -> int:
        """The monotonic clock deadlines are measured on, in ns."""
        ...


class OsWaiter:
    """Blocks the OS thread: select() for fds, time.sleep for deadlines."""

    def now(self) -> int:
        return time.monotonic_ns()

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        if not readable and not writable:
            if deadline is not None:
                self.sleep_until(deadline)
            return
        timeout = None if deadline is None else max(0.0, (deadline - time.monotonic_ns()) / 1e9)
        try:
            select.select(readable, writable, [], timeout)
        except (OSError, ValueError):
            # A closed or out-of-range fd: the caller's retry reports the error.
            return

    def sleep_until(self, deadline: int) -> None:
        while True:
            left = deadline - time.monotonic_ns()
            if left <= 0:
                return
            time.sleep(left / 1e9)


def ready(readable: list[int], writable: list[int]) -> tuple[set[int], set[int]]:
    """Which of the fds are ready right now (a zero-timeout select); never blocks."""
    if not readable and not writable:
        return set(), set()
    try:
        r, w, _ = select.select(readable, writable, [], 0)
    except (OSError, ValueError):
        return set(readable), set(writable)  # let the subsequent call report the error
    return set(r), set(w)
