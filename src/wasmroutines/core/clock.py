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

The C core keeps these two clocks itself for the store that uses them
(`_native/wr_timer.h`): it times out memory.atomic.wait with them and idles
until the next timeout without Python. A VirtualClock's time then lives in the
core (`_bind`), one store's at a time; a subclass that changes `idle`, or any
other Clock, leaves every timeout to the scheduler's own timers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ._ffi import lib

if TYPE_CHECKING:
    from .store import _Native

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
        self._native: _Native | None = None  # the store whose core keeps the time (_bind)

    def now_ns(self) -> int:
        native = self._native
        if native is not None and native.ptr is not None:
            self._now = int(lib.wr_api_store_virtual_now(native.ptr))
        return self._now

    def _set(self, now: int) -> None:
        self._now = now
        native = self._native
        if native is not None and native.ptr is not None:
            lib.wr_api_store_set_virtual_now(native.ptr, now)

    def advance(self, ns: int) -> None:
        """Move time forward by `ns` (for tests and for hosts that model latency)."""
        if ns < 0:
            raise ValueError("time cannot go backwards")
        self._set(self.now_ns() + ns)

    def idle(self, deadline_ns: int | None, poll: Poll) -> None:
        if poll(0):
            return
        if deadline_ns is None:
            poll(None)
        elif deadline_ns > self.now_ns():
            self._set(deadline_ns)

    def _bind(self, native: _Native | None) -> bool:
        """Keep this clock's time in `native`'s core (None: back here); False when another store's core has it."""
        now = self.now_ns()
        if native is not None and self._native is not None and self._native is not native and self._native.ptr:
            return False
        self._native = native
        if native is not None and native.ptr is not None:
            lib.wr_api_store_set_clock(native.ptr, lib.WR_CLOCK_VIRTUAL, now)
        return True

    def __repr__(self) -> str:
        return f"VirtualClock(now_ns={self._now})"


def core_clock_kind(clock: Any) -> int:
    """Which clock the C core keeps for `clock` (WR_CLOCK_*): exactly these two classes' behaviour, or none."""
    if type(clock) is MonotonicClock:
        return int(lib.WR_CLOCK_MONOTONIC)
    if isinstance(clock, VirtualClock) and type(clock).idle is VirtualClock.idle:
        return int(lib.WR_CLOCK_VIRTUAL)
    return int(lib.WR_CLOCK_HOST)
