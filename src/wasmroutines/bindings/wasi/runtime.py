"""Where a WASI call waits: the one hook a scheduler replaces.

Every blocking wait of the WASI layer goes through a `Waiter`: fd_read on
stdin, pipes and sockets, fd_write on a full pipe, sock_accept, and
poll_oneoff (clock and fd subscriptions). WASI calls never block in the OS
by themselves: they ask the waiter to wait until an fd is ready or a
deadline passes, then retry the call without blocking.

`OsWaiter` blocks the calling OS thread in poll(): right while one wasm
thread runs per OS thread. The default, `SchedulerWaiter` (green.py), hands
each wait to the green-thread scheduler running the caller, which parks
only the calling green thread and runs the others, waiting in the OS only
when no thread can run; with no scheduler running it is OsWaiter. Deadlines
are on the waiter's own monotonic clock (`now()`), so a scheduler's
VirtualClock governs them.

A waiter may also have `realtime()` (ns since the epoch): clock_time_get
then reads the realtime clock from it (else from the host), so that a
simulated clock governs the wall time the guest sees as well.
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

    def yield_(self) -> None:
        """sched_yield: let other threads run (nothing to do with one thread per OS thread)."""
        ...


class OsWaiter:
    """Blocks the OS thread: poll() for fds, time.sleep for deadlines."""

    def now(self) -> int:
        return time.monotonic_ns()

    def realtime(self) -> int:
        return time.time_ns()

    def yield_(self) -> None:
        return None

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        if not readable and not writable:
            if deadline is not None:
                self.sleep_until(deadline)
            return
        timeout_ms = None if deadline is None else max(0, -(-(deadline - time.monotonic_ns()) // 1_000_000))
        _poll(readable, writable, timeout_ms)

    def sleep_until(self, deadline: int) -> None:
        while True:
            left = deadline - time.monotonic_ns()
            if left <= 0:
                return
            time.sleep(left / 1e9)


_IN = select.POLLIN | select.POLLPRI
_OUT = select.POLLOUT
_DONE = select.POLLERR | select.POLLHUP | select.POLLNVAL


def _poll(readable: list[int], writable: list[int], timeout_ms: int | None) -> tuple[set[int], set[int]]:
    p = select.poll()
    masks: dict[int, int] = {}
    for fd in readable:
        masks[fd] = masks.get(fd, 0) | _IN
    for fd in writable:
        masks[fd] = masks.get(fd, 0) | _OUT
    for fd, m in masks.items():
        p.register(fd, m)
    r: set[int] = set()
    w: set[int] = set()
    for fd, ev in p.poll(timeout_ms):
        # An error or hang-up counts as ready: the read or write that follows reports it.
        if ev & (_IN | _DONE) and masks[fd] & _IN:
            r.add(fd)
        if ev & (_OUT | _DONE) and masks[fd] & _OUT:
            w.add(fd)
    return r, w


def ready(readable: list[int], writable: list[int]) -> tuple[set[int], set[int]]:
    """Which of the fds are ready right now (a zero-timeout poll); never blocks."""
    if not readable and not writable:
        return set(), set()
    return _poll(readable, writable, 0)
