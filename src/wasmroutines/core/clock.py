"""Clocks for the scheduler: what "now" is, and how to pass time while no green thread can run.

Time is kept behind this small object so that a run can be made independent of
the wall clock: MonotonicClock is real time (time.monotonic_ns); VirtualClock
jumps straight to the next deadline whenever every thread is asleep, so a
program full of timed waits runs instantly and, under SeededPolicy, the same
way every time.

`idle(deadline_ns, poll)` is called only when nothing is runnable. `poll(timeout)`
waits for host wake-ups (file descriptors, wake-ups posted from other OS
threads) for at most `timeout` seconds (None: until one comes) and returns how
many it handled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "MonotonicClock", "VirtualClock"]

Poll = Callable[[float | None], int]


class Clock(Protocol):
    def now_ns(self) -> int:
        """The current time in nanoseconds (the origin is the clock's own)."""

    def idle(self, deadline_ns: int | None, poll: Poll) -> None:
        """Nothing can run: pass time until `deadline_ns` (None: no deadline) or a host wake-up."""


class MonotonicClock:
    """Real time: time.monotonic_ns, idling in the scheduler's selector (or plain sleep)."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def idle(self, deadline_ns: int | None, poll: Poll) -> None:
        if deadline_ns is None:
            poll(None)
            return
        delay = deadline_ns - time.monotonic_ns()
        if delay > 0:
            poll(delay / 1e9)

    def __repr__(self) -> str:
        return "MonotonicClock()"


class VirtualClock:
    """Simulated time: starts at `start_ns` and only moves when every thread sleeps.

    Host wake-ups that are already pending are taken first (without advancing
    time); then time jumps to the deadline. With no deadline the clock waits
    for real host events, since nothing else could move the program on.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance(self, ns: int) -> None:
        """Move time forward by `ns` (for tests and for hosts that model latency)."""
        if ns < 0:
            raise ValueError("time cannot go backwards")
        self._now += ns

    def idle(self, deadline_ns: int | None, poll: Poll) -> None:
        if poll(0):
            return
        if deadline_ns is None:
            poll(None)
        elif deadline_ns > self._now:
            self._now = deadline_ns

    def __repr__(self) -> str:
        return f"VirtualClock(now_ns={self._now})"
