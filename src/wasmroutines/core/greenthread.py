"""Green threads: one wasm function (or Python callable) run by a greenlet under a Scheduler, and its states.

A GreenThread owns a greenlet (made when it first needs one: Scheduler._start_inline)
and, for wasm, a C wasm thread (wr_thread: its value and frame stacks) tied to
its entry in the policy's run queue (a wr_task). The scheduler (scheduler.py)
moves it between the states below; this module only holds what a thread is.
"""

from __future__ import annotations

import enum
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit, greenlet

from ._ffi import ffi, lib

if TYPE_CHECKING:
    from .scheduler import Scheduler

__all__ = ["GreenThread", "ThreadState", "current_scheduler"]


class ThreadState(enum.Enum):
    """Where a green thread is in its life."""

    RUNNABLE = "runnable"  # queued in the policy, waiting for its turn
    RUNNING = "running"  # its greenlet is executing (exactly one thread per scheduler)
    WAITING = "waiting"  # memory.atomic.wait: queued in the C core's futex table
    BLOCKED = "blocked"  # in the host: sleep, join, event, predicate, file descriptor
    DONE = "done"  # returned, trapped or raised; results or exception kept


_RUNNABLE = ThreadState.RUNNABLE
_RUNNING = ThreadState.RUNNING
_WAITING = ThreadState.WAITING
_BLOCKED = ThreadState.BLOCKED
_DONE = ThreadState.DONE

#: The scheduler whose green thread runs on this OS thread now (current_scheduler).
_tls = threading.local()
_AIO = f"{__package__}.aio"  # asyncio's side (aio.py), consulted once it is imported


def current_scheduler() -> Scheduler:
    """The scheduler of the store whose host function (or green thread) is running now.

    Host functions call it to block only their own green thread, e.g.
    `current_scheduler().sleep(0.5)`.
    """
    sched: Scheduler | None = getattr(_tls, "scheduler", None)
    aio = sys.modules.get(_AIO)
    if aio is not None:
        # An async host coroutine's steps run from the loop, between other stores' turns: its store is its own
        # host call's (found through the task it runs as), whichever store ran last.
        stepping = aio.stepping_scheduler()
        if stepping is not None:
            sched = stepping
    if sched is None or sched._native.ptr is None:
        # None ran here, or the last one belongs to a closed store (its threads' C state is gone).
        raise RuntimeError("no wasm is running on this OS thread: use store.scheduler")
    return sched


class GreenThread:
    """A wasm function (or a Python callable) running as a greenlet under a Scheduler.

    `state` is a ThreadState; when DONE, `join()` returns the results (None, a
    value or a tuple, as a Function call does; a callable's return value) or
    raises what the thread raised (`exception`).
    """

    __slots__ = (
        "id",
        "name",
        "scheduler",
        "state",
        "_what",
        "_wait_address",
        "exception",
        "_target",
        "_args",
        "_arg_values",
        "_wasm",
        "_begun",
        "_result",
        "_glet",
        "_wr_thread",
        "_task",
        "_joiners",
        "_block_seq",
        "_wake_value",
        "_timer",
        "_io_fds",
        "_pending",
        "_host_task",
        "_host_parked",
        "_context",
        "_on_exit",
        "_result_pins",
        "__weakref__",
    )

    def __init__(
        self,
        scheduler: Scheduler,
        id: int,
        name: str | None,
        target: Any,
        args: Sequence[Any],
        wasm: bool,
        task: Any = None,
    ) -> None:
        self.id = id
        self.name = name
        self.scheduler = scheduler
        self.state = _RUNNABLE
        self._what: str | None = None
        self._wait_address: int | None = None
        self.exception: BaseException | None = None
        self._target = target  # a Function (called with raw slots) or a Python callable
        self._args = args
        # spawn()'s own arguments while _args holds them as raw slots: a StructRef or an ArrayRef among them keeps
        # its object alive (pinned: core/values.py) until the call is set up or done.
        self._arg_values: Sequence[Any] = ()
        self._wasm = wasm  # a wasm Function: on its own wr_thread from the start
        self._begun = False  # its call is set up on its wr_thread: the C core may start it (Function._set_up_on)
        self._result: Any = None
        self._result_pins: list[Any] | None = None  # a finished wasm thread's reference results, pinned until read
        self._glet: greenlet | None = None
        self._wr_thread: Any = None
        # Its entry in a built-in policy's queue: its own, or (`task`) that of a wr_thread the C core spawned,
        # which lives as long as the thread does (wr_spawn.h).
        self._task = task if task is not None else ffi.gc(lib.wr_task_new(id), lib.wr_task_free)
        #: The threads joining it, and the block each waits in: a list from the first (most threads have none).
        self._joiners: list[tuple[GreenThread, int]] | tuple[()] = ()
        self._block_seq = 0
        self._wake_value: Any = None
        self._timer: list[Any] | None = None
        self._io_fds: tuple[int, ...] = ()  # the descriptors it waits on (Reactor.wait_io)
        self._pending: BaseException | None = None  # the root only: an abort to raise when resumed
        self._host_task: Any = None  # the relay of the task its async host coroutines see as current (aio.py)
        #: The async host call it parks in with no greenlet (a loop turn's, aio.py): its outcome is delivered before
        #: the thread runs again (Scheduler._start_inline).
        self._host_parked: Any = None
        self._context: Any = None  # the contextvars its host functions run in (None: the current one)
        #: Told `exited(thread)` once it is done (aio.py: a call_async's call, which settles its future).
        self._on_exit: Any = None

    @property
    def wait_address(self) -> int | None:
        """While WAITING: the address of its memory.atomic.wait (read from the core: a thread that ran ahead in C
        may wait elsewhere now)."""
        if self._wait_address is None:
            return None
        sched = self.scheduler
        t = self._wr_thread
        if (
            t is not None
            and sched._native.ptr is not None
            and lib.wr_api_thread_wait_info(t, sched._out_addr, sched._out_timeout) == 1
        ):
            return int(sched._out_addr[0])
        return self._wait_address

    @property
    def blocked_on(self) -> str | None:
        """What the thread is blocked on, in words ("futex 0x10", "join thread 3"); None while not blocked."""
        if self._what == "futex" and self.wait_address is not None:
            return f"futex {self.wait_address:#x}"
        return self._what

    @property
    def alive(self) -> bool:
        return self.state is not _DONE

    def join(self) -> Any:
        """Block the calling thread until this one is done; return its results or raise its exception."""
        return self.scheduler.join(self)

    def _run(self) -> None:
        """The greenlet's body: call the target, keep the outcome, wake the joiners."""
        target = self._target
        try:
            if self._begun:
                self._result = target._run_set_up(self._wr_thread)
            elif self._wasm:
                self._result = target.call_bits(self._args)
            else:
                self._result = target(*self._args)
        except GreenletExit:
            # The greenlet is being collected with its store: nothing may touch the C core now.
            raise
        except BaseException as exc:  # kept for join(); the scheduler decides what else to do
            self.exception = exc
        self.scheduler._finish(self)

    def _resume(self, status: int) -> None:
        """The greenlet's body for a wasm thread started inline (Scheduler._start_inline) that stopped with
        `status` (not done): serve it and go on as _run would."""
        func = self._target
        self.scheduler._calls += 1  # drive() counts the call out
        try:
            self._result = func._drive(self._wr_thread, status)
        except GreenletExit:
            raise
        except BaseException as exc:
            self.exception = exc
        self.scheduler._finish(self)

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        on = f" on {self.blocked_on}" if self.blocked_on else ""
        return f"<GreenThread {self.id}{name} {self.state.value}{on}>"
