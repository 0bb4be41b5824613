"""`wasmer.threads`: green threads from the wasmer face (our extension: wasmer had no threads).

Every Store runs its wasm threads as green threads (greenlets) on the OS
thread that made it. Python code calling an export is the store's main
thread; `spawn(function, *args)` starts a wasm Function (or a Python
callable that calls wasm) as another thread, which runs whenever the running
thread blocks (a futex wait, a blocking host function, `join`) or uses up its
slice. `join(thread)` (or `thread.join()`) waits for it and returns what a
call would have returned (None, a value or a tuple), or raises what the call
raised (a trap as wasmer's RuntimeError).

Which runnable thread runs next, and for how long, is the store's policy:
`Store(policy=FairPolicy())` (the default: round robin) or
`Store(policy=SeededPolicy(seed))`, a random but reproducible schedule (the
same seed, the same interleaving); `store.policy = ...` changes it later.

Host functions written in Python may block only their own green thread:
`sleep(seconds)`, `wait(event or predicate, timeout)`, `yield_now()`, and a
`Queue` whose `get()` parks the caller until something is `put()`. (Python's
`time.sleep` or `queue.Queue.get` would stop the whole OS thread, and every
green thread with it.)

>>> from wasmroutines.wasmer import Store, Module, Instance, threads
>>> store = Store(policy=threads.SeededPolicy(1))
>>> instance = Instance(Module(store, '''(module
...   (memory (export "memory") 1 1 shared)
...   (func (export "add") (param $n i32) (result i32)
...     (loop $again
...       (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
...       (local.set $n (i32.sub (local.get $n) (i32.const 1)))
...       (br_if $again (local.get $n)))
...     (i32.atomic.load (i32.const 0))))'''))
>>> workers = [threads.spawn(instance.exports.add, 1000) for _ in range(4)]
>>> _ = [threads.join(w) for w in workers]
>>> instance.exports.memory.uint8_view()[0:2]
[160, 15]
>>> instance.exports.add(1)
4001
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ...core.clock import Clock, MonotonicClock, VirtualClock
from ...core.errors import Deadlock, ForeignThreadError
from ...core.greenthread import GreenThread, ThreadState, current_scheduler
from ...core.policy import DEFAULT_SLICE, FairPolicy, Policy, SeededPolicy
from ...core.reactor import Event
from ._function import Function
from ._store import Store, check_store

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
    "Queue",
    "SeededPolicy",
    "ThreadState",
    "VirtualClock",
    "current_thread",
    "join",
    "sleep",
    "spawn",
    "wait",
    "yield_now",
]

_T = TypeVar("_T")


def spawn(
    function: Function | Callable[..., Any], *args: Any, name: str | None = None, store: Store | None = None
) -> GreenThread:
    """Start `function(*args)` as a new green thread of its store; it runs once the caller blocks or yields.

    `function` is a wasmer Function (its arguments are checked and converted
    now, by the rules of a call: a bad one raises here, not in the thread), or
    a Python callable, which runs in `store` (or, from a host function, in the
    calling store) and may call wasm and block. `name` shows in reprs and
    deadlock reports.

    >>> from wasmroutines.wasmer import Store, Module, Instance, threads
    >>> instance = Instance(Module(Store(), '(module (func (export "sq") (param i32) (result i32) '
    ...                                     '(i32.mul (local.get 0) (local.get 0))))'))
    >>> thread = threads.spawn(instance.exports.sq, 12, name="square")
    >>> thread
    <GreenThread 1 'square' runnable>
    >>> thread.join(), thread.alive
    (144, False)
    >>> threads.spawn(instance.exports.sq, "12")
    Traceback (most recent call last):
    ...
    TypeError: 'str' object cannot be converted to 'PyLong'
    """
    if isinstance(function, Function):
        slots = function._args_to_slots(args)
        scheduler = function._core._store.scheduler
        if store is not None and check_store(store)._core.scheduler is not scheduler:
            raise ValueError("the function belongs to another store")
        return scheduler.spawn(function._call_slots, slots, name=name)
    if not callable(function):
        raise TypeError(f"spawn needs a Function or a callable, not '{type(function).__name__}'")
    scheduler = check_store(store)._core.scheduler if store is not None else current_scheduler()
    return scheduler.spawn(function, *args, name=name)


def join(thread: GreenThread) -> Any:
    """Wait until `thread` is done (other threads run meanwhile): its results, or raise its exception.

    A trap in the thread raises wasmer's RuntimeError here; a deadlock (every
    thread blocked for good) raises `Deadlock` naming what each waits on.

    >>> from wasmroutines.wasmer import Store, Module, Instance, threads
    >>> instance = Instance(Module(Store(), '(module (func (export "boom") unreachable))'))
    >>> try:
    ...     threads.join(threads.spawn(instance.exports.boom))
    ... except RuntimeError as e:
    ...     print(str(e).splitlines()[0])
    RuntimeError: unreachable
    """
    return thread.join()


def current_thread() -> GreenThread:
    """The green thread running now, from a host function (or a spawned callable).

    >>> from wasmroutines.wasmer import Store, threads
    >>> store = Store()
    >>> threads.join(threads.spawn(lambda: threads.current_thread().name, name="worker", store=store))
    'worker'
    """
    return current_scheduler().current


def sleep(seconds: float) -> None:
    """From a host function: park only the calling green thread for `seconds` (others run meanwhile).

    >>> from wasmroutines.wasmer import Store, threads
    >>> store = Store(clock=threads.VirtualClock())  # virtual time: sleeping takes no real time
    >>> def napper() -> int:
    ...     threads.sleep(3600)
    ...     return store.scheduler.now_ns() // 10**9
    >>> threads.join(threads.spawn(napper, store=store))
    3600
    """
    current_scheduler().sleep(seconds)


def yield_now() -> None:
    """From a host function: let the other runnable threads run before the caller goes on.

    >>> from wasmroutines.wasmer import Store, threads
    >>> store, order = Store(), []
    >>> def worker(name: str) -> None:
    ...     order.append(name)
    ...     threads.yield_now()
    ...     order.append(name)
    >>> for w in [threads.spawn(worker, n, store=store) for n in "ab"]:
    ...     w.join()
    >>> order
    ['a', 'b', 'a', 'b']
    """
    current_scheduler().yield_now()


def wait(condition: Event | Callable[[], bool], timeout: float | None = None) -> bool:
    """From a host function: park the calling green thread until `condition` holds; False on timeout.

    `condition` is an `Event` (woken when set) or a cheap predicate, checked
    whenever the scheduler switches threads.

    >>> from wasmroutines.wasmer import Store, threads
    >>> store, ready = Store(), threads.Event()
    >>> waiter = threads.spawn(lambda: threads.wait(ready, timeout=60), store=store)
    >>> setter = threads.spawn(ready.set, store=store)
    >>> waiter.join()
    True
    """
    return current_scheduler().block_until(condition, timeout=timeout)


class Queue(Generic[_T]):
    """A FIFO queue for green threads: `get()` parks only the calling green thread until an item is there.

    For host functions (and spawned callables) of stores on one OS thread;
    `get(timeout=...)` raises `queue.Empty` when the time runs out.

    >>> from wasmroutines.wasmer import Store, threads
    >>> store, q = Store(), threads.Queue()
    >>> consumer = threads.spawn(lambda: [q.get() for _ in range(3)], store=store)
    >>> producer = threads.spawn(lambda: [q.put(i) for i in "xyz"], store=store)
    >>> consumer.join()
    ['x', 'y', 'z']
    """

    def __init__(self) -> None:
        self._items: deque[_T] = deque()
        self._ready = Event()

    def put(self, item: _T) -> None:
        """Append `item`, waking the threads waiting in `get`."""
        self._items.append(item)
        self._ready.set()

    def get(self, timeout: float | None = None) -> _T:
        """The oldest item; parks the calling green thread while there is none (`queue.Empty` after `timeout`)."""
        scheduler = None
        deadline: int | None = None
        while not self._items:
            if scheduler is None:
                scheduler = current_scheduler()
                if timeout is not None:
                    deadline = scheduler.now_ns() + max(0, int(timeout * 1e9))
            self._ready.clear()
            if not scheduler.block_until(self._ready, deadline_ns=deadline):
                raise queue.Empty
        return self._items.popleft()

    def empty(self) -> bool:
        """Whether there is nothing to get now."""
        return not self._items

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Queue of {len(self._items)}>"
