"""Green threads, the public face: spawn a wasm function as a thread, join it, block from host functions.

Every store has a Scheduler (`store.scheduler`) that runs its wasm threads as
greenlets on one OS thread. Calls from Python run on the main thread (id 0);
spawned threads run whenever the running thread blocks or its slice ends.

    from wasmroutines import Store, Instance, Module, SeededPolicy, spawn, join

    store = Store(policy=SeededPolicy(42))           # a reproducible schedule
    inst = Instance(store, Module(wasm))
    workers = [spawn(inst.exports.work, i) for i in range(4)]
    inst.exports.main()                              # others interleave while it runs
    print([join(w) for w in workers])                # re-raises a worker's Trap
    print(store.threads)                             # whatever is still alive

Host functions may block their own green thread only, through
`current_scheduler()`: `.sleep(s)`, `.sleep_until(ns)`, `.block_until(event
or predicate)`, `.wait_readable(fd, deadline_ns)`, `.yield_now()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .clock import Clock, MonotonicClock, VirtualClock
from .errors import Deadlock, ForeignThreadError, ThreadReport
from .function import Function
from .greenthread import GreenThread, ThreadState, current_scheduler
from .policy import DEFAULT_SLICE, FairPolicy, Policy, SeededPolicy
from .reactor import Event
from .scheduler import Scheduler

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "DEFAULT_SLICE",
    "Clock",
    "Deadlock",
    "Event",
    "FairPolicy",
    "ForeignThreadError",
    "GreenThread",
    "MonotonicClock",
    "Policy",
    "Scheduler",
    "SeededPolicy",
    "ThreadReport",
    "ThreadState",
    "VirtualClock",
    "current_scheduler",
    "current_thread",
    "join",
    "sleep",
    "spawn",
]


def spawn(
    func: Function | Callable[..., Any], *args: Any, name: str | None = None, store: Store | None = None
) -> GreenThread:
    """Start `func(*args)` as a new green thread; it runs once the caller blocks or yields.

    A Function runs in its own store. A plain Python callable runs in `store`,
    or, when none is given, in the store whose host function is calling.
    """
    if store is not None:
        return store.scheduler.spawn(func, *args, name=name)
    sched = func.store.scheduler if isinstance(func, Function) else current_scheduler()
    return sched.spawn(func, *args, name=name)


def join(thread: GreenThread) -> Any:
    """Wait (running other threads) until `thread` is done: its results, or raise its exception (a Trap)."""
    return thread.scheduler.join(thread)


def current_thread() -> GreenThread:
    """The green thread whose host function is running now."""
    return current_scheduler().current


def sleep(seconds: float) -> None:
    """From a host function: park the calling green thread for `seconds`."""
    current_scheduler().sleep(seconds)
