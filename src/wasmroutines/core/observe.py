"""Watching a scheduler: the observer protocol, and the instruction count every deterministic tool shares.

A Scheduler calls its `observer` (when set) at every event of its threads'
lives: spawned, started (got the CPU with a fresh slice), stopped (preempted,
yielded, blocked, exited), woken, and around every host call. Traces
(trace.py), recordings (record.py) and the schedule explorer build on it;
several observers share one scheduler through `Observers`.

Instruction counts come from the C core: the store counts the budget units
(wasm instructions: loop back-edges charge the loop's length, calls one)
all its threads run, so the count between a slice's start and its stop is
what that thread ran.
A run's count is a pure function of the program and its schedule: it is
the time axis of deterministic traces, PCT's step counter and the explorer's
hang budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._ffi import lib

if TYPE_CHECKING:
    from .greenthread import GreenThread
    from .store import Store

__all__ = ["InstructionCounter", "Observers", "SchedulerObserver", "StopReason"]

#: Why a thread stopped running: its slice ran out, it yielded (sched_yield), it blocked, it finished.
StopReason = str  # "preempted" | "yield" | "blocked" | "exit"


class SchedulerObserver(Protocol):
    """What a Scheduler tells its observer. Called on the scheduler's thread; must not block.

    Only `hostcall_done` may switch threads (it runs where the calling thread
    could block anyway); the others are called in the middle of a switch.

    `every_switch` (True when absent) says it must see every slice start and
    stop and every wake-up: the C core then leaves every switch to Python
    (same schedule, slower). An observer that sets it False is told of spawns,
    exits, host calls and the switches Python makes anyway (blocks in host
    functions, and every stop past Scheduler.host_stops_after).
    """

    every_switch: bool

    def spawned(self, thread: GreenThread, parent: GreenThread) -> None:
        """`thread` was created (by whatever `parent` was running) and is about to become runnable."""

    def started(self, thread: GreenThread, budget: int) -> None:
        """`thread` runs now with a fresh slice of `budget` units (0: a Python thread, no wasm slice)."""

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        """`thread` stops running: "preempted", "yield", "blocked" (see thread.blocked_on) or "exit"."""

    def woken(self, thread: GreenThread) -> None:
        """`thread` was blocked or waiting and is runnable again."""

    def hostcall(self, thread: GreenThread, func: Callable[..., Any]) -> None:
        """`thread` calls host function `func` (its __name__ names it)."""

    def hostcall_done(self, thread: GreenThread, func: Callable[..., Any], error: BaseException | None) -> None:
        """The host call returned (`error` None) or raised `error`. With no error, may switch threads."""


class Observers:
    """Several observers as one, called in order (set the list before giving it to a scheduler)."""

    def __init__(self, observers: Sequence[SchedulerObserver]) -> None:
        self.observers = list(observers)

    @property
    def every_switch(self) -> bool:
        return any(getattr(o, "every_switch", True) for o in self.observers)

    def spawned(self, thread: GreenThread, parent: GreenThread) -> None:
        for o in self.observers:
            o.spawned(thread, parent)

    def started(self, thread: GreenThread, budget: int) -> None:
        for o in self.observers:
            o.started(thread, budget)

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        for o in self.observers:
            o.stopped(thread, why)

    def woken(self, thread: GreenThread) -> None:
        for o in self.observers:
            o.woken(thread)

    def hostcall(self, thread: GreenThread, func: Callable[..., Any]) -> None:
        for o in self.observers:
            o.hostcall(thread, func)

    def hostcall_done(self, thread: GreenThread, func: Callable[..., Any], error: BaseException | None) -> None:
        for o in self.observers:
            o.hostcall_done(thread, func, error)


class NullObserver:
    """Does nothing; a base for observers that care about a few events."""

    every_switch = True

    def spawned(self, thread: GreenThread, parent: GreenThread) -> None:
        pass

    def started(self, thread: GreenThread, budget: int) -> None:
        pass

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        pass

    def woken(self, thread: GreenThread) -> None:
        pass

    def hostcall(self, thread: GreenThread, func: Callable[..., Any]) -> None:
        pass

    def hostcall_done(self, thread: GreenThread, func: Callable[..., Any], error: BaseException | None) -> None:
        pass


class InstructionCounter(NullObserver):
    """Counts the budget units every thread of a scheduler runs, from the C core's count for the store.

    `total` (and `now()`, the same) is what all threads ran since the counter
    was made: the store counts each thread's run as it ends, whichever side
    switched threads, so it needs no event.
    """

    every_switch = False

    def __init__(self, store: Store) -> None:
        self._store = store
        self._ran0 = self._last = self._ran()

    @property
    def origin(self) -> int:
        """The store's units run when the counter was made: `total` counts from there."""
        return self._ran0

    def _ran(self) -> int:
        ptr = self._store._native.ptr
        if ptr is not None:
            self._last = int(lib.wr_api_store_ran(ptr))
        return self._last

    @property
    def total(self) -> int:
        """Units run so far."""
        return self._ran() - self._ran0

    def now(self) -> int:
        """Units run so far (as `total`)."""
        return self.total

    def finish(self) -> None:
        """The run is over: keep the count (the store may be freed next)."""
        self._ran()
