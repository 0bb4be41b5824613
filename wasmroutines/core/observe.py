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
    from .scheduler import GreenThread, Scheduler
    from .store import Store

__all__ = ["InstructionCounter", "Observers", "SchedulerObserver", "StopReason"]

#: Why a thread stopped running: its slice ran out, it yielded (sched_yield), it blocked, it finished.
StopReason = str  # "preempted" | "yield" | "blocked" | "exit"


class SchedulerObserver(Protocol):
    """What a Scheduler tells its observer. Called on the scheduler's thread; must not block.

    Only `hostcall_done` may switch threads (it runs where the calling thread
    could block anyway); the others are called in the middle of a switch.
    """

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
    """Several observers as one, called in order."""

    def __init__(self, observers: Sequence[SchedulerObserver]) -> None:
        self.observers = list(observers)

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
    """Counts the budget units every thread of a scheduler runs, through the C core's count for the store.

    `total` is the count of finished slices; `now()` adds the running slice's.
    Install it first among observers: the others read it. Only units run
    between a thread's `started` and `stopped` count (with an observer set
    the C core never switches threads by itself, so they are that thread's).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._sched: Scheduler = store.scheduler
        self.total = 0
        self._running: GreenThread | None = None
        self._start = 0  # the store's count when the running thread's slice started

    def _ran(self) -> int:
        ptr = self._store._native.ptr
        return int(lib.wr_api_store_ran(ptr)) if ptr is not None else self._start

    def started(self, thread: GreenThread, budget: int) -> None:
        self._running = thread if thread._wr_thread is not None else None
        if self._running is not None:
            self._start = self._ran()

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        if thread is self._running:
            self.total += self._used()
            self._running = None

    def _used(self) -> int:
        return max(0, self._ran() - self._start)

    def now(self) -> int:
        """Units run so far, the running slice included."""
        return self.total + self._used() if self._running is not None else self.total

    def finish(self) -> None:
        """The run is over: count the slice still open (the main thread's, when its call returned)."""
        if self._running is not None:
            self.total += self._used()
        self._running = None
