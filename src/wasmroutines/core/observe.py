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

Switches in batches. An observer that must see every switch but sets
`switch_batches` lets the C core go on switching threads itself: the core
logs what the observer would have heard (slices started, threads stopped,
threads woken; wr_sched.h, the event log) and the scheduler hands it over
as a SwitchBatch to `switched` whenever the core returns to Python, before
anything else the observer hears. The batch's events are those Python would
have made, in the same order, with the same instruction counts, so that a
trace or a recording is the same byte for byte whichever side switched.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ._ffi import ffi, lib, optional_text

if TYPE_CHECKING:
    from .greenthread import GreenThread
    from .store import Store

__all__ = ["InstructionCounter", "Observers", "SchedulerObserver", "StopReason", "core_wait_words", "SwitchBatch"]

#: Why a thread stopped running: its slice ran out, it yielded (sched_yield), it blocked, it finished.
StopReason = str  # "preempted" | "yield" | "blocked" | "exit"


class SchedulerObserver(Protocol):
    """What a Scheduler tells its observer. Called on the scheduler's thread; must not block.

    Only `hostcall_done` may switch threads (it runs where the calling thread
    could block anyway); the others are called in the middle of a switch.

    `every_switch` (True when absent) says it must see every slice start and
    stop and every wake-up: the C core then leaves every switch to Python
    (same schedule, slower), unless it sets `switch_batches` too and hears
    the core's switches from `switched(batch)` (see the module docstring).
    An observer that sets it False is told of spawns,
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


#: SwitchBatch.events: what an event is (wr_event in wr_sched.h), field by field.
STARTED, STOPPED, WOKEN = int(lib.WR_EVENT_STARTED), int(lib.WR_EVENT_STOPPED), int(lib.WR_EVENT_WOKEN)
RAN, VALUE, MONO_NS, FUNC, THREAD, FUNC_INDEX, OFFSET, KIND, WHY, WAIT = range(10)  # hot loops unpack in this order
#: wr_event.why as observers name it (the event log has no exits or yields: Python makes those)
WHY_NAME = {0: "preempted", int(lib.WR_EVENT_BLOCKED): "blocked"}


class SwitchBatch:
    """Switches the C core made, as an observer that takes batches hears them (`switched`).

    `events` are tuples (ran, value, mono_ns, func, thread, func_index, offset, kind, why, wait), indexed by the
    constants above: the store's units run at the event (InstructionCounter.origin subtracted gives `total`);
    a start's budget, or a blocked stop's wait address (wait: 1 futex, 2/3 a descriptor readable/writable);
    CLOCK_MONOTONIC ns when the store's clock is not virtual; where the thread is (its innermost wasm frame:
    func 0 outside wasm), the stopping one's at a stop, the chosen one's at a start; the thread's id. `threads`
    gives the GreenThread by id; `current` is the thread that was running when the batch began (the one that
    wakes others until a slice starts). The functions named stay alive while the batch is heard (its store's).
    """

    FORMAT: ClassVar[str] = "<QqqQQIIBBB5x"
    EVENT_SIZE: ClassVar[int] = struct.calcsize(FORMAT)

    def __init__(
        self,
        events: list[tuple[int, ...]],
        threads: dict[int, GreenThread],
        current: GreenThread,
        names: dict[int, str | None],
    ) -> None:
        self.events = events
        self.threads = threads
        self.current = current
        self._names = names  # the scheduler's: function names by wr_func address (instances die with their store)

    def func_name(self, event: tuple[int, ...]) -> str | None:
        """The name of the function where an event's thread is (None: it has none, or the thread is outside wasm)."""
        ptr = event[FUNC]
        if not ptr:
            return None
        names = self._names
        if ptr not in names:
            names[ptr] = optional_text(lib.wr_api_func_name(ffi.cast("wr_func *", ptr)))
        return names[ptr]

    @classmethod
    def unpack(cls, raw: Any) -> list[tuple[int, ...]]:
        return list(struct.iter_unpack(cls.FORMAT, raw))

    @staticmethod
    def blocked_on(event: tuple[int, ...]) -> str | None:
        """What a blocked stop's thread waits on, in words, as GreenThread.blocked_on says it."""
        return core_wait_words(event[WAIT], event[VALUE])


def core_wait_words(kind: int, addr: int) -> str | None:
    """A wait in the C core in words, from wr_api_thread_wait_info's kind and address: the one wording of a
    thread's `blocked_on` whether Python or a batch of switches (above) reports it."""
    if kind == 1:
        return f"futex {addr:#x}"
    if kind in (2, 3):
        return f"host fd {addr} {'readable' if kind == 2 else 'writable'}"
    if kind == 4:
        return "sleep"
    if kind == 5:
        return f"poll of {addr} host fds"
    return None


assert ffi.sizeof("wr_event") == SwitchBatch.EVENT_SIZE, "wr_event and SwitchBatch.FORMAT disagree"


def takes_switch_batches(observer: SchedulerObserver) -> bool:
    """Whether `observer` hears every switch it must from batches (observe.py, Switches in batches)."""
    if not getattr(observer, "every_switch", True):
        return True
    return bool(getattr(observer, "switch_batches", False))


class Observers:
    """Several observers as one, called in order (set the list before giving it to a scheduler)."""

    def __init__(self, observers: Sequence[SchedulerObserver]) -> None:
        self.observers = list(observers)

    @property
    def every_switch(self) -> bool:
        return any(getattr(o, "every_switch", True) for o in self.observers)

    @property
    def switch_batches(self) -> bool:
        return all(takes_switch_batches(o) for o in self.observers)

    def switched(self, batch: SwitchBatch) -> None:
        for o in self.observers:
            if getattr(o, "every_switch", True):
                o.switched(batch)  # type: ignore[attr-defined]

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
