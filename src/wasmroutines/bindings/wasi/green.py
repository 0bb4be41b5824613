"""The default Waiter: a blocking WASI call parks only its own green thread when a scheduler runs it.

`SchedulerWaiter` asks, at each wait, which scheduler is running the caller
(`running_scheduler()`): the one whose wasm called the WASI function, or
whose green thread (a spawned Python callable) called it directly. Then:

  poll_oneoff clock subscriptions  -> scheduler.sleep_until(deadline)
  fd waits (poll_oneoff fd subscriptions; fd_read/fd_write on pipes,
  terminals and sockets; sock_accept, sock_recv, sock_send)
                                   -> scheduler.wait_io(readable, writable, deadline)
  sched_yield                      -> scheduler.yield_now()
  the monotonic clock              -> scheduler.now_ns()
  the realtime clock               -> the scheduler clock's `realtime_ns()` if it has one;
                                      the host's for a MonotonicClock; else now_ns()

so other green threads run meanwhile, the OS is waited on only when no
thread can run (the scheduler's idle), and a VirtualClock governs both the
sleeps and the time the guest reads. With no scheduler running (WASI
functions called straight from Python, outside any green thread) every call
goes to the fallback, OsWaiter by default: the behaviour of a plain call.

A file descriptor the scheduler's selector refuses (epoll takes no regular
files or /dev/null; they are always ready, so waits on them are rare) is
polled instead: short sleeps on the scheduler's clock, each followed by the
caller's recheck (which also reports an fd closed meanwhile).
"""

from __future__ import annotations

import time

from ...core.clock import MonotonicClock
from ...core.greenthread import current_scheduler
from ...core.scheduler import Scheduler
from .runtime import OsWaiter, Waiter

__all__ = ["POLL_INTERVAL_NS", "SchedulerWaiter", "running_scheduler"]

#: How often an fd the selector cannot watch is rechecked (on the scheduler's clock).
POLL_INTERVAL_NS = 1_000_000


def running_scheduler() -> Scheduler | None:
    """The scheduler running the caller on this OS thread, or None outside wasm and green threads.

    A scheduler stays this OS thread's "current" one after its last call
    returns, so a wasm call in progress (or a spawned thread running) is what
    tells that the caller really runs under it.
    """
    try:
        sched = current_scheduler()
    except RuntimeError:
        return None
    if sched._calls or sched.current is not sched.main:
        return sched
    return None


class SchedulerWaiter:
    """A Waiter that hands every wait to the running scheduler, or to `fallback` when none runs."""

    def __init__(self, fallback: Waiter | None = None) -> None:
        self.fallback: Waiter = fallback if fallback is not None else OsWaiter()

    def now(self) -> int:
        sched = running_scheduler()
        return sched.now_ns() if sched is not None else self.fallback.now()

    def realtime(self) -> int:
        """Wall-clock ns since the epoch, as the running scheduler's clock has it (see the module docstring)."""
        sched = running_scheduler()
        if sched is None:
            realtime = getattr(self.fallback, "realtime", None)
            return int(realtime()) if realtime is not None else time.time_ns()
        clock = sched.clock
        own = getattr(clock, "realtime_ns", None)
        if own is not None:
            return int(own())
        if isinstance(clock, MonotonicClock):
            return time.time_ns()
        return clock.now_ns()  # a simulated clock: its time is the guest's wall time too

    def yield_(self) -> None:
        sched = running_scheduler()
        if sched is not None:
            sched.yield_now()
        else:
            self.fallback.yield_()

    def sleep_until(self, deadline: int) -> None:
        sched = running_scheduler()
        if sched is not None:
            sched.sleep_until(deadline)
        else:
            self.fallback.sleep_until(deadline)

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        sched = running_scheduler()
        if sched is None:
            self.fallback.wait(readable, writable, deadline)
            return
        if not readable and not writable:
            if deadline is not None:
                sched.sleep_until(deadline)
            return
        try:
            sched.wait_io(readable, writable, deadline)
        except OSError:
            # Not an fd the selector can watch (EPERM), or one closed meanwhile (EBADF): sleep a little,
            # letting the others run, and leave it to the caller's recheck (poll() reports either as ready).
            step = sched.now_ns() + POLL_INTERVAL_NS
            sched.sleep_until(step if deadline is None else min(step, deadline))

    def __repr__(self) -> str:
        return f"SchedulerWaiter(fallback={self.fallback!r})"
