"""Green threads on the application's asyncio loop, and host functions that await.

Run on its own, a store's scheduler (scheduler.py) is a loop of its own: the
root blocks in a call or a join, and when nothing can run the hub idles in the
reactor's selector (reactor.py, `_idle`). Under asyncio the loop is the
application's, and the scheduler becomes its client (`LoopClient`, one per
store). Its root is the loop's own greenlet, and it runs *turns*: a loop
callback in which the root lets the runnable green threads run (`yield_now`:
it queues itself behind them) until they all stopped or it has made `slices`
scheduling decisions in Python (`Reactor._turn_spent` then hands it a TurnOver,
as an interrupt is handed to a root), and returns to the loop. Between turns
no wasm runs, and whatever could wake a thread is the loop's to watch: the C
reactor's one epoll descriptor and the scheduler's own selector (Python's
descriptor waits, the wake-up pipe) with `add_reader`, the next deadline (the
scheduler's timers, the core's wait timeouts) with `call_later`, an awaited
task with a done callback. Each schedules a turn, so the idling is the loop's
and the run loop stays the scheduler's one: this is `_idle` with "watch these
descriptors, wake me at T" said to the loop instead of done here.

`call_async` runs a call as a green thread of its own (so any number of calls
of a store, and of many stores, run at once on one loop): the call is itself
the future of its result or exception, and the coroutine its caller awaits
(`_Call`). An async host function is a sync one
that calls `await_only`: the coroutine runs on the loop, the calling green
thread blocks until it is done (other threads and tasks go on), and its result
or exception comes back in the host call (the pattern of SQLAlchemy's
`greenlet_spawn`/`await_only`). The coroutine is stepped as a Task steps one
but without a Task per call (`_HostCall`): its first step runs in the host call
itself (a coroutine that never suspends costs no parking at all), each later
one from the loop, and the step that finishes it delivers the outcome and runs
the thread on in the same callback (`_host_done`, at most `slices` times a loop
iteration): a thread parked with no greenlet runs at once on the loop's
greenlet, a turn of one decision with no trip through the policy's queue, and
when it parks in its next async host call with nothing else changed there is
nothing to arrange anew. The task it sees as current
is its thread's proxy task (`_Relay`), a real Task made once per thread, whose
cancellation (a timeout, a task group) cancels the await in progress. A
`call_async` of a wasm function is a wasm thread (`_Call`, started by `_start_new`) that a turn
runs on its own greenlet; at an async host call the turn serves it there and
the thread parks with no greenlet of its own (`_host_call_inline`; the
coroutine keeps its frames), its outcome written into the call when it runs
again (`_deliver_inline`): no greenlet switch per round trip. It gets a greenlet
only when it must (a sync host call, a wait in Python), and seeded or observed
runs, whose decisions and events a host call takes part in, keep to that path
(`_await`, parking through the scheduler). Outside a turn (wasm run with a
plain call, no loop driving the store) there is no loop to give the coroutine
to without stalling every green thread of the store: `AsyncHostCallError`.

Under a seeded policy the order in which awaited tasks finish must not change the schedule: results are
delivered in the order the calls were made, each once no thread can run (`_arrange`), and the seed decides
when the woken thread runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from greenlet import GreenletExit

from . import execution
from ._ffi import ffi, lib
from .clock import VirtualClock
from .errors import AsyncHostCallError, Deadlock
from .execution import _I32_MIN, _M32, _host_args
from .greenthread import _BLOCKED, _RUNNABLE, GreenThread, ThreadState, _tls
from .policy import FairPolicy, PCTPolicy, RandomWalkPolicy
from .reactor import TurnOver
from .scheduler import _NO_RESULT
from .store import closed_error

if TYPE_CHECKING:
    from .function import Function
    from .scheduler import Scheduler
    from .store import HostFunc, Store

__all__ = [
    "DEFAULT_SLICES",
    "LoopClient",
    "await_only",
    "awaiting",
    "call_async",
    "call_bits_async",
    "loop_client",
    "stepping_scheduler",
]

_T = TypeVar("_T")
_enter_task = asyncio.tasks._enter_task  # type: ignore[attr-defined]  # what a Task's step does around its coroutine
_leave_task = asyncio.tasks._leave_task  # type: ignore[attr-defined]

#: Scheduling decisions in Python a turn may make before it goes back to the loop. A decision hands the
#: processor to a thread until it stops: a host call, a wait, the end of its slice (policy.py: at most about
#: 0.4 ms of wasm on a fair policy). Switches the C core makes itself are not counted; it gives control back to
#: Python every few thousand of them or few milliseconds (scheduler.py, CHECK_EVERY).
DEFAULT_SLICES = 8
#: The slice of a store whose policy is its own default (fair) while a loop drives it, in units: a tenth of the
#: default's, so a compute-bound thread holds the loop for about 0.1 ms at a time rather than 1 ms (the loop's other
#: tasks see that much latency), at a few percent of the wasm's throughput. A policy given to the store is left as is.
LOOP_SLICE = 100_000

_NEVER = 2**63 - 1  # wr_api_store_next_timeout's "no timeout"
#: How often a turn looks at the predicates of block_until, and at a poll(2) reactor, while nothing else can wake
#: a thread (ns).
_POLL_NS = 1_000_000


def loop_client(store: Store, loop: asyncio.AbstractEventLoop | None = None) -> LoopClient:
    """The client of `loop` (the running one by default) that runs `store`'s green threads: made on first use. A
    store runs on one loop at a time: RuntimeError while it has calls in progress on another."""
    if loop is None:
        loop = asyncio.get_running_loop()
    sched = store.scheduler
    client: LoopClient | None = sched._aio
    if client is not None:
        if client.loop is loop:
            return client
        if client.active:
            raise RuntimeError("this store's green threads are running on another event loop")
        client._stop()
    client = sched._aio = LoopClient(sched, loop)
    return client


def call_async(func: Function, *args: Any) -> Coroutine[Any, None, Any]:
    """`func(*args)` run as a green thread of its store on the running asyncio loop (begun at once when a loop runs,
    else when first awaited): awaited, its result (None, a value or a tuple, as a call returns it), or the exception
    it raised. Cancelling it kills the thread. A coroutine and a future both (_Call)."""
    return _Call(func, args, func)


def call_bits_async(func: Function, args: Sequence[int]) -> Coroutine[Any, None, list[int]]:
    """`call_async` with raw slots in and out (Function.call_bits)."""
    return _Call(func, args, _BITS)


class CallAdapter(Protocol):
    """What a call_async's arguments become as raw slots (when its thread starts, so that many calls made at once cost
    the loop little until their turns come: an error in them is the call's), and its result slots as a value: the
    core Function itself, or a face's wrapper of one. One object for every call, where a closure per call would be
    one more object for the collector to walk while the call is in progress."""

    def _args_to_slots(self, args: Sequence[Any]) -> list[int]: ...

    def _result_of(self, slots: list[int]) -> Any: ...

    # Optional: `_error_of(exc)`, the exception the call raises for `exc` (a face's own wording of core errors).


class _Bits:
    """call_bits_async's adapter: raw slots in, raw slots out."""

    @staticmethod
    def _args_to_slots(args: Sequence[Any]) -> list[int]:
        return list(args)

    @staticmethod
    def _result_of(slots: list[int]) -> list[int]:
        return list(slots)


_BITS = _Bits()

#: The context the client's own loop callbacks run in where no user code runs (a cancelled call's kill, a proxy
#: task's steps), where call_soon and create_task would copy the current one each time: nothing of theirs reads or
#: sets a variable, and the loop runs one callback at a time, so one context serves them all. (A host call's wakeup
#: is not one of them: the thread it runs on may make its next host call there, calling user code. It runs in the
#: thread's own context: _HostCall._suspended.)
_CALLBACKS = contextvars.Context()


def stepping_scheduler() -> Scheduler | None:
    """The scheduler of the store whose async host call's coroutine runs now (a step, run as the thread's proxy
    task: _HostCall.step), or None (current_scheduler)."""
    if asyncio._get_running_loop() is None:
        return None
    task = asyncio.current_task()
    relay = task.get_coro() if task is not None else None
    if type(relay) is not _Relay:
        return None
    call = relay.call
    return call.client.scheduler if call is not None else None


def await_only(awaitable: Awaitable[_T]) -> _T:
    """From a host function running in a green thread under a loop turn: wait for `awaitable` on the loop, parking
    only the calling green thread; its result, or raise its exception. AsyncHostCallError when wasm is not run by a
    loop (a plain call: see the module docstring)."""
    sched: Scheduler | None = getattr(_tls, "scheduler", None)
    client = sched._aio if sched is not None else None
    if client is None or not client._turning or sched is None or sched.current is sched.main:
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never awaited, and nothing to warn about
        raise AsyncHostCallError(
            "an async host function was called while wasm runs synchronously: run it from asyncio with call_async "
            "(or run_threads_async)"
        )
    return client._await(sched.current, awaitable)


def awaiting(func: Callable[..., Coroutine[Any, Any, _T]]) -> Callable[..., _T]:
    """The sync host function for an `async def` one: calls it, then `await_only` on the coroutine it returns."""

    @functools.wraps(func)
    def host(*args: Any) -> _T:
        return await_only(func(*args))

    host._coroutine_function = func  # type: ignore[attr-defined]  # store.HostFunc: a turn may call it itself
    return host


#: A call_async's states (_Call._state): made, not begun; begun (queued, or its thread runs); and the three ends.
_NEW, _PENDING, _RESULT, _FAILED, _CANCELLED = range(5)


class _Call(Coroutine[Any, None, Any]):
    """One call_async: the awaitable its caller gets, and the future that caller waits on.

    To asyncio it is both. A coroutine: `await`, create_task, TaskGroup and asyncio.run take it. A future
    (`asyncio.isfuture`: `_asyncio_future_blocking`, `get_loop`, `add_done_callback`, `result`, `cancel` and the
    rest): gather, wait_for, shield and ensure_future take it as it is, with no Task made for it, and a task that
    awaits it waits on it directly. Made while a loop runs, it begins at once, as a task does (its thread is queued
    for a turn: _start_new); made with no loop running (`asyncio.run(f.call_async())`), it begins at its first step.
    It ends when its thread does (`exited`, the thread's `_on_exit`) or is cancelled (its thread killed).

    The objects a call in progress keeps are what each pass of the cyclic collector walks, and so what the loop's
    latency grows with once calls are many: an `async def` awaiting a Future would add the coroutine, the Future,
    its iterator and its callback list, and gather would add a Task (with its weakref, context and wakeup)."""

    __slots__ = (
        "func",
        "args",
        "adapter",
        "client",
        "context",
        "thread",
        "_state",
        "_value",
        "_callback",
        "_callback_context",
        "_more_callbacks",
        "_asyncio_future_blocking",
        "_traceback",
        "_log_traceback",
    )

    def __init__(self, func: Function, args: Sequence[Any], adapter: CallAdapter) -> None:
        self.func = func  # what it calls (its thread's name is read when it starts: a C call)
        #: its arguments, made slots by `adapter` when it starts (so that many calls made at once cost the loop
        #: little until their turns come); kept until it ends (a GcRef among them stays pinned until it is set up)
        self.args = args
        self.adapter = adapter  # its arguments as slots, its result slots as a value, its errors as raised
        self.client: LoopClient | None = None  # once begun
        self.context: contextvars.Context | None = None  # what the caller saw, the host coroutines see (a copy)
        self.thread: GreenThread | None = None  # once started, until it ends
        self._state = _NEW
        self._value: Any = None  # its result, its exception, or the message it was cancelled with
        #: Failed: the exception's traceback as it ended (raised again from there each time, as a Future does), and
        #: whether nobody has asked for the exception yet (said to the loop's exception handler if it goes unasked).
        self._traceback: Any = None
        self._log_traceback = False
        #: Its done callbacks: the first (the awaiting task's wakeup) in place, any more in a list.
        self._callback: Callable[[Any], Any] | None = None
        self._callback_context: contextvars.Context | None = None
        self._more_callbacks: list[tuple[Callable[[Any], Any], contextvars.Context]] | None = None
        #: None until begun: not a future to asyncio.isfuture then, so that run_until_complete and ensure_future
        #: with no loop running make it a task (a future's loop would be asked for, which it has none of yet).
        self._asyncio_future_blocking: bool | None = None
        loop = asyncio._get_running_loop()
        if loop is not None:
            self._begin(loop)

    def _begin(self, loop: asyncio.AbstractEventLoop) -> None:
        client = self.client = loop_client(self.func.store, loop)
        self.context = contextvars.copy_context()
        self._state = _PENDING
        self._asyncio_future_blocking = False
        client._new.append(self)
        client._start()
        client.kick()

    def __repr__(self) -> str:
        state = ("new", "pending", "finished", "failed", "cancelled")[self._state]
        name = self.func.name if self.func.store._native.ptr is not None else None
        return f"<call_async {name or '?'} {state}>"

    # ---- as a coroutine: what an awaiting task steps ----

    def __await__(self) -> _Call:
        return self

    def __next__(self) -> _Call:
        state = self._state
        if state == _NEW:
            self._begin(asyncio.get_running_loop())
        elif state != _PENDING:
            self._outcome()
        self._asyncio_future_blocking = True
        return self

    def send(self, value: None) -> _Call:
        return self.__next__()

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> _Call:
        """Thrown into while it waits (its awaiting coroutine's throw, a task cancelled while not waiting on it):
        the call is cancelled, and the exception raised."""
        exc = typ if isinstance(typ, BaseException) else typ(*(() if val is None else (val,)))
        self.close()
        raise exc

    def close(self) -> None:
        """Its awaiting coroutine closed (collected while suspended, say): the call is cancelled."""
        if self._state == _NEW:
            self._state = _CANCELLED  # never begins
        else:
            self.cancel()

    def _outcome(self) -> None:
        """Raise how it ended: StopIteration with its result, its exception, or CancelledError."""
        state = self._state
        if state == _RESULT:
            raise StopIteration(self._value)
        if state == _FAILED:
            self._log_traceback = False
            raise self._value.with_traceback(self._traceback)
        if state == _CANCELLED:
            raise self._make_cancelled_error()
        raise asyncio.InvalidStateError("the call is not done")

    # ---- as a future: what asyncio's tasks, gather, wait_for and shield use ----

    def get_loop(self) -> asyncio.AbstractEventLoop:
        if self.client is None:
            self._begin(asyncio.get_running_loop())
        assert self.client is not None
        return self.client.loop

    def done(self) -> bool:
        return self._state > _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def result(self) -> Any:
        try:
            self._outcome()
        except StopIteration as stop:
            return stop.value

    def exception(self) -> BaseException | None:
        state = self._state
        if state == _FAILED:
            self._log_traceback = False
            return self._value  # type: ignore[no-any-return]
        if state == _RESULT:
            return None
        self._outcome()  # CancelledError, InvalidStateError
        return None

    def add_done_callback(self, fn: Callable[[Any], Any], *, context: contextvars.Context | None = None) -> None:
        if context is None:
            context = _same_or_copy(self.context)
        if self._state > _PENDING:
            self.get_loop().call_soon(fn, self, context=context)
        elif self._callback is None:
            if self.client is None:
                self._begin(asyncio.get_running_loop())
            self._callback = fn
            self._callback_context = context
        else:
            if self._more_callbacks is None:
                self._more_callbacks = []
            self._more_callbacks.append((fn, context))

    def remove_done_callback(self, fn: Callable[[Any], Any]) -> int:
        callbacks = [(self._callback, self._callback_context)] if self._callback is not None else []
        callbacks += self._more_callbacks or []
        kept = [(f, c) for f, c in callbacks if f != fn]
        removed = len(callbacks) - len(kept)
        self._callback, self._callback_context = kept.pop(0) if kept else (None, None)
        self._more_callbacks = kept or None
        return removed

    @property
    def _cancel_message(self) -> Any:  # read by gather, as a Future's
        return self._value if self._state == _CANCELLED else None

    def _make_cancelled_error(self) -> asyncio.CancelledError:  # called by gather, as a Future's
        msg = self._cancel_message
        return asyncio.CancelledError() if msg is None else asyncio.CancelledError(msg)

    def cancel(self, msg: Any = None) -> bool:
        """As Future.cancel; its thread is killed: at once from a task or a callback of the loop's own, else from a
        callback soon (from a turn, or a host coroutine's step, the thread itself may be the one cancelling)."""
        state = self._state
        if state > _PENDING:
            return False
        self._end(_CANCELLED, msg)
        client = self.client
        if client is not None:
            sched = client.scheduler
            if client._turning or sched.current is not sched.main or stepping_scheduler() is not None:
                client.loop.call_soon(self._kill, context=_CALLBACKS)
            else:
                self._kill()
        return True

    def _end(self, state: int, value: Any) -> None:
        """It ended: its done callbacks are scheduled, as a future's."""
        if state == _FAILED:
            error_of = getattr(self.adapter, "_error_of", None)
            if error_of is not None:
                value = error_of(value)
            self._traceback = value.__traceback__
            self._log_traceback = True
        self._state = state
        self._value = value
        fn = self._callback
        if fn is None:
            return
        assert self.client is not None
        loop = self.client.loop
        self._callback = None
        loop.call_soon(fn, self, context=self._callback_context)
        self._callback_context = None
        more, self._more_callbacks = self._more_callbacks, None
        for fn, context in more or ():
            loop.call_soon(fn, self, context=context)

    def __del__(self) -> None:
        if self._log_traceback and self.client is not None and not self.client.loop.is_closed():
            # As a Future's or a Task's exception nobody retrieved: a call made and never awaited that failed.
            self.client.loop.call_exception_handler(
                {"message": f"{self!r}: exception was never retrieved", "exception": self._value, "future": self}
            )

    # ---- its thread ----

    def exited(self, gt: GreenThread) -> None:
        """Its thread ended (Scheduler._finish, as the thread's `_on_exit`): it ends with what the thread returned
        or raised."""
        self._settle()
        if self._state != _PENDING:
            return
        exc = gt.exception
        if exc is None:
            try:
                result = self.adapter._result_of(gt._result)
            except Exception as err:
                self._end(_FAILED, err)
            else:
                self._end(_RESULT, result)
        elif isinstance(exc, GreenletExit):
            # Killed: by its own cancellation or the run's end (it has ended then), or by the scheduler's close (the
            # store closing, a wasi-threads program ending): it ends, told why once that is over.
            assert self.client is not None
            self.client.loop.call_soon(self._killed, context=_CALLBACKS)
        elif isinstance(exc, asyncio.CancelledError):
            self._end(_CANCELLED, None)
        elif isinstance(exc, Exception):
            self._end(_FAILED, exc)
        # KeyboardInterrupt and the like end the whole run (Scheduler._finish): every call gets it (_abort).

    def _settle(self) -> None:
        if self.thread is not None:
            assert self.client is not None
            self.client._calls.pop(self.thread, None)
            self.thread = None  # the thread holds this call (its `_on_exit`): no cycle left for the collector

    def _killed(self) -> None:
        """The thread was killed from outside: StoreClosedError when the store closed, else the call is cancelled
        (as a program's threads are when it ends)."""
        client = self.client
        assert client is not None
        if self._state == _PENDING:
            if client.scheduler._native.ptr is None:
                self._end(_FAILED, closed_error("Store"))
            else:
                self._end(_CANCELLED, None)
        client._stop_if_idle()

    def _kill(self) -> None:
        """Cancelled (a loop callback): its thread is killed (not started yet: it never starts)."""
        client = self.client
        assert client is not None
        sched = client.scheduler
        gt = self.thread
        if gt is not None and gt.alive and sched._native.ptr is not None:
            client._calls.pop(gt, None)
            sched._kill(gt)
        client._stop_if_idle()


def _same_or_copy(own: contextvars.Context | None) -> contextvars.Context:
    """A copy of the current context, or `own` when it holds the same values (as a gather adding its callback to
    the call it began has): the context a done callback runs in, one object fewer per call for the collector to
    walk while the call is in progress. (A callback that sets a variable then sets it in the call's own context,
    whose thread has ended.)"""
    context = contextvars.copy_context()
    if own is not None and len(own) == len(context):
        missing = object()
        if all(own.get(var, missing) is value for var, value in context.items()):
            return own
    return context


#: What a host coroutine may end with as its caller's error rather than the loop's: CancelledError too (a
#: BaseException since 3.8): what the coroutine awaited was cancelled by someone else, or its thread was killed (the
#: outcome then goes nowhere). KeyboardInterrupt and SystemExit go on out, as from any task.
FAILS: tuple[type[BaseException], ...] = (Exception, asyncio.CancelledError)


class LoopClient:
    """Runs one store's green threads from callbacks of one asyncio loop (see the module docstring)."""

    __slots__ = (
        "scheduler",
        "loop",
        "slices",
        "_slice_before",
        "_calls",
        "_new",
        "_done",
        "_awaiting",
        "_in_order",
        "_outcomes",
        "_turning",
        "_turn_handle",
        "_timer",
        "_timer_ns",
        "_readers",
        "_io_fd",
        "_started",
        "_direct",
        "_counting",
        "_epoch",
        "_ready",
    )

    #: the module's FAILS, for the scheduler (which does not import this module)
    FAILS = FAILS

    def __init__(self, scheduler: Scheduler, loop: asyncio.AbstractEventLoop) -> None:
        self.scheduler = scheduler
        self.loop = loop
        #: Scheduling decisions in Python a turn may make (DEFAULT_SLICES); at least 1.
        self.slices = DEFAULT_SLICES
        self._slice_before: int | None = None  # a default policy's slice while the loop drives the store
        self._calls: dict[GreenThread, _Call] = {}  # call_async threads not finished yet
        #: Calls not started yet: a turn starts at most `slices` of them, so that many calls made at once cost
        #: the loop little until their turns come.
        self._new: deque[_Call] = deque()
        #: Host calls whose coroutine is done, to wake: a turn wakes at most `slices` of them, so that a burst of
        #: completions costs the loop little until their turns come.
        self._done: deque[tuple[GreenThread, int, tuple[bool, Any]]] = deque()
        self._awaiting = 0  # host calls waiting for their coroutine on the loop
        #: Under a seeded policy: the async host calls in the order they were made, each delivered only when no
        #: thread can run and the ones before it were (_arrange), so when results come back changes nothing.
        self._in_order: deque[tuple[GreenThread, int, asyncio.Future[Any]]] | None = None
        self._outcomes: dict[tuple[GreenThread, int], tuple[bool, Any]] = {}  # their outcomes, until delivered
        self._turning = False  # a turn runs (await_only may park a thread)
        self._turn_handle: asyncio.Handle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_ns: int | None = None
        self._readers: set[int] = set()
        self._io_fd = ffi.new("int *")  # wr_api_store_watch's out-parameter
        self._started = False
        #: Turns run straight from a done callback (_host_done) in this loop iteration, as far as it can tell: a
        #: callback it queues once the count nears `slices` (`_next_iteration`, queued only then: a thread's round
        #: trips, one an iteration, cost one every few) starts it again, and so does a scheduled turn.
        self._direct = 0
        self._counting = False  # `_next_iteration` is queued
        #: Counts loop iterations as far as round trips tell: a step queued at a bare yield carries it
        #: (`_HostCall.stamp`), and runs in a later iteration; when it runs with the count unchanged, the count moves
        #: on and `_direct` starts again (_host_done).
        self._epoch = 0
        #: asyncio's own loop's ready queue (None: another loop): a host coroutine's step after a bare yield goes
        #: there as a Handle made once per _HostCall, where call_soon would make one each time (_StepHandle).
        self._ready = _ready_queue(loop)

    @property
    def active(self) -> bool:
        """Whether calls are in progress (or host calls wait for the loop)."""
        return bool(self._calls) or self._awaiting > 0 or bool(self._new)

    def _stop_if_idle(self) -> None:
        """After a call ended outside a turn: the loop stops watching the store once nothing is in progress."""
        if not self.active and not self._turning:
            self._stop()

    # ---- turns ----

    def kick(self) -> None:
        """Run a turn soon (once, however many ask)."""
        if self._turn_handle is None:
            self._turn_handle = self.loop.call_soon(self._scheduled_turn)

    def _scheduled_turn(self) -> None:
        self._turn_handle = None
        self._direct = 0
        self._turn()

    def _next_iteration(self) -> None:
        self._counting = False
        self._direct = 0

    def _turn(self, first: GreenThread | None = None, started: bool = False) -> None:
        """A loop callback: let the runnable green threads run for at most `slices` decisions, then arrange for
        the next turn (runnable threads left, or what can wake one). Whatever escapes (the run ended: an
        interrupt, a store limit; or a failure here) ends every call in progress, so that none waits forever.
        `first`: a thread just woken, not queued, that alone can run: it runs first (Scheduler._run_woken;
        `started`: it ran already, and needs its greenlet now: _host_done)."""
        try:
            self._run_turn(first, started)
        except BaseException as exc:
            self._abort(exc)
            if not isinstance(exc, Exception):
                raise

    def _run_turn(self, first: GreenThread | None = None, started: bool = False) -> None:
        sched = self.scheduler
        if sched._native.ptr is None:
            self._abort(_closed())
            return
        if sched.current is not sched.main:
            raise RuntimeError("a loop turn inside a green thread: wasm was called synchronously from the loop")
        if self._new:
            self._start_new()
        done = self._done
        if done:
            wake = sched._wake
            for _ in range(min(len(done), max(1, self.slices))):
                gt, seq, outcome = done.popleft()
                wake(gt, seq, outcome)
        self._turning = True
        sched._turn_left = max(1, self.slices) + 1  # the root's own yield is the first decision
        drains = sched._drains
        try:
            if first is not None:
                sched._run_woken(first, started)
            else:
                sched.yield_now()
        except TurnOver as over:
            # Raised through the frames of the turn, where a variable holds it: a cycle, unless its traceback
            # goes (garbage for the collector at every turn otherwise).
            over.__traceback__ = None
        except BaseException:
            main = sched.main
            if main.state is ThreadState.RUNNABLE:  # raised at the root while it was queued (interrupt)
                sched.policy.remove(main)
            main.state = ThreadState.RUNNING
            sched.current = main
            raise
        finally:
            self._turning = False
            sched._turn_left = None
        if (
            first is None
            or first._host_parked is None
            or sched._drains != drains
            or sched._posted
            or self._turn_handle is not None
            or len(sched.policy)
        ):
            self._arrange()
        # Otherwise the thread woken ran alone, and parked again in an async host call with no greenlet, and
        # nothing else changed: the core reported nothing (no thread woken, waiting or switched in C: _drain), no
        # thread is runnable. What the last turn's _arrange watched (descriptors, the next deadline) still holds.

    def _start_new(self) -> None:
        """Start the next `slices` calls as green threads (a call cancelled meanwhile is dropped)."""
        sched = self.scheduler
        new = self._new
        for _ in range(min(len(new), max(1, self.slices))):
            call = new.popleft()
            if call._state != _PENDING:
                continue  # cancelled
            try:
                name = call.func.name
                slots = call.adapter._args_to_slots(call.args)  # (call.args keeps a GcRef among them pinned)
                sched.check_room()
                gt = sched._spawn_bits(call.func, slots, f"call_async {name}" if name else "call_async")
            except Exception as exc:  # wrong arguments, over max_threads, out of memory: that call fails
                call._end(_FAILED, exc)
                continue
            gt._context = call.context
            gt._on_exit = call
            call.thread = gt
            self._calls[gt] = call

    def _arrange(self) -> None:
        """After a turn: another turn if threads are runnable; otherwise the loop watches what could wake one,
        or, when nothing can and calls wait, they end with a Deadlock."""
        sched = self.scheduler
        ptr = sched._native.ptr
        if ptr is None:
            self._abort(_closed())
            return
        if not (self._calls or self._awaiting > 0 or self._new):  # not self.active
            self._stop()
            return
        if len(sched.policy) or sched._posted or self._new or self._done:
            self.kick()
            return
        in_order = self._in_order
        if in_order:
            gt, seq, task = in_order[0]
            outcome = self._outcomes.pop((gt, seq), None)
            if outcome is not None:
                in_order.popleft()
                sched._wake(gt, seq, outcome)  # queued as any woken thread: the seed decides when it runs
                self.kick()
                return
        waits = self._awaiting > 0 or sched._external > 0
        core_polled = False
        io_fd = self._io_fd
        core = lib.wr_api_store_watch(ptr, io_fd)  # the core's next timeout, and its reactor's descriptor
        fd = io_fd[0]
        if fd != -2:  # threads wait in the C reactor
            waits = True
            if fd >= 0:
                if fd not in self._readers:
                    self._watch(fd, self._core_ready)
            else:
                core_polled = True  # a poll(2) reactor (wr_io.h) has no descriptor: a turn looks at it, soon
        sel = sched._selector
        if sel is not None and sel.get_map():
            self._watch(sel.fileno(), self._selector_ready)
            waits = True
        deadline = (None if core == _NEVER else core) if not sched._timers else _next_deadline(sched, core)
        if sched._pollers or core_polled:
            soon = sched.clock.now_ns() + _POLL_NS
            deadline = soon if deadline is None else min(deadline, soon)
        if deadline is None:
            if self._timer is not None:
                self._cancel_timer()
            if not waits:
                # Every green thread is blocked for good (the root, the loop's greenlet, is not one of them).
                self._abort(Deadlock([sched._report(gt) for gt in sched.alive]))
            return
        if isinstance(sched.clock, VirtualClock):
            # Virtual time moves only while nothing else can happen (clock.py): not while the loop may still
            # bring a wake-up.
            self._cancel_timer()
            if not waits:
                sched.clock.idle(deadline, lambda _timeout: 0)
                self.kick()
            return
        self._set_timer(deadline)

    def _abort(self, exc: BaseException) -> None:
        """The run ended with `exc` (or the store closed): every call in progress raises it, its thread killed."""
        calls, self._calls = self._calls, {}
        new, self._new = self._new, deque()
        self._done.clear()
        self._outcomes.clear()
        for call in [*calls.values(), *new]:
            if call._state == _PENDING:
                call._end(_FAILED, exc)
        sched = self.scheduler
        if sched._native.ptr is not None:
            for gt in calls:
                if gt.alive:
                    sched._kill(gt)
        if not self.active:
            self._stop()

    # ---- what the loop watches between turns ----

    def _start(self) -> None:
        if not self._started:
            self._started = True
            seeded = isinstance(self.scheduler.policy, (RandomWalkPolicy, PCTPolicy))
            self._in_order = deque() if seeded else None
            sched = self.scheduler
            sched._loop_client = True
            policy = sched.policy
            if sched._default_policy and isinstance(policy, FairPolicy):
                self._slice_before = policy.slice(sched.current)
                policy._set_slice(LOOP_SLICE)
            sched._sync_core()

    def _stop(self) -> None:
        """Nothing in progress: the loop stops watching the store (whose descriptors it may close next)."""
        for fd in self._readers:
            try:
                self.loop.remove_reader(fd)
            except (OSError, ValueError, RuntimeError):
                pass  # closed with its store already, or the loop is closed
        self._readers.clear()
        self._cancel_timer()
        if self._turn_handle is not None:
            self._turn_handle.cancel()
            self._turn_handle = None
        if self._started:
            self._started = False
            sched = self.scheduler
            sched._loop_client = False
            policy = sched.policy
            if self._slice_before is not None and isinstance(policy, FairPolicy):
                policy._set_slice(self._slice_before)
            self._slice_before = None
            sched._sync_core()

    def _watch(self, fd: int, callback: Callable[[], None]) -> None:
        if fd not in self._readers:
            self.loop.add_reader(fd, callback)
            self._readers.add(fd)

    def _core_ready(self) -> None:
        """The C reactor's descriptor is readable: wake its threads (always polled, so that it stops being
        readable), then a turn."""
        sched = self.scheduler
        ptr = sched._native.ptr
        if ptr is not None and lib.wr_api_io_poll(ptr, 0) > 0:
            sched._drain()
        self.kick()

    def _selector_ready(self) -> None:
        """The scheduler's selector has a ready descriptor (a Python wait_io, the wake-up pipe)."""
        if self.scheduler._native.ptr is not None:
            self.scheduler._poll(0)
        self.kick()

    def _set_timer(self, deadline_ns: int) -> None:
        if self._timer is not None:
            if self._timer_ns == deadline_ns:
                return
            self._timer.cancel()
        delay = max(0, deadline_ns - self.scheduler.clock.now_ns()) / 1e9
        self._timer_ns = deadline_ns
        self._timer = self.loop.call_later(delay, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_ns = None

    def _on_timer(self) -> None:
        self._timer = self._timer_ns = None
        self.kick()

    # ---- async host calls ----

    def _await(self, gt: GreenThread, awaitable: Awaitable[_T]) -> _T:
        """Run `awaitable` on the loop for `gt` (running, in a turn): its first step right here, and `gt` parked only
        if it suspends, until it is done (_HostCall)."""
        call = _HostCall(self, gt, awaitable)
        outcome = call.step(None, True)
        in_order = self._in_order
        if outcome is None or in_order is not None:
            # It suspended: the thread waits for the rest (delivered by _host_done). Under a seeded policy it waits
            # even when done already, so that whether a coroutine had to wait changes nothing of the schedule.
            seq = call.seq = gt._block_seq + 1
            self._awaiting += 1
            entry = (gt, seq, call)
            if in_order is not None:
                in_order.append(entry)
                if outcome is not None:
                    self._outcomes[gt, seq] = outcome
                    self.kick()
            try:
                outcome = self.scheduler._block(gt, f"await {_name_of(awaitable)}")
            finally:
                self._awaiting -= 1
                if not call.finished:  # the thread was killed: its coroutine is cancelled
                    call.abandon()
                if in_order and entry in in_order:
                    in_order.remove(entry)  # killed before its result was delivered
                    self._outcomes.pop((gt, seq), None)
        ok, value = outcome
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def _host_call_inline(self, gt: GreenThread, t: Any, out: Any) -> bool | None:
        """`gt`, run by a turn with no greenlet (Scheduler._start_inline), stopped at a host call (`out`: its host id
        and first argument slot, wr_api_thread_host_peek): when it is an async one this turn can serve alone, serve
        it: True when the thread parked in it (still with no greenlet: the coroutine keeps its own frames, and the
        outcome is written before the thread runs again: _host_done, _deliver_inline), False when answered at once;
        None to leave it to the thread's greenlet as any host call (a sync host function; a seeded or observed run,
        whose decisions and events a host call takes part in)."""
        sched = self.scheduler
        if not self._turning or self._in_order is not None or not sched._plain_host_calls:
            return None
        store = gt._target._store
        host = store._hosts.get(out[0])
        if host is None:
            return None  # not a host function: the greenlet's call driver says so
        fn = host.coroutine_function
        if fn is None:
            return None
        call: Any = None
        try:
            if host.i32 and host.nargs == 1:  # execution.host_args' common case: the argument read with the host id
                coro = fn(out[1])
            else:
                coro = fn(*execution.host_args(store, host, _host_args(t)))
            relay: _Relay | None = gt._host_task
            call = relay.spare if relay is not None and not relay.closed else None
            if call is None or call.client is not self:
                call = _HostCall(self, gt, coro)
                outcome = call.step(None, True)
            else:
                # The thread's last host call, finished (a thread makes one at a time): made ready for this one
                # rather than made anew (_HostCall.__init__ says what each field is) ...
                if type(coro) is CoroutineType:
                    call.coro = coro
                    call.send = _CORO_SEND
                else:
                    call.coro = coro = _steppable(coro)
                    call.send = _send
                context = call.context = gt._context.copy() if gt._context is not None else contextvars.copy_context()
                call.finished = call.must_cancel = False
                call.cancel_msg = None
                # ... and its first step is call.step(None, True) made here, with its common suspension (a bare yield:
                # the step queued for the next iteration, on asyncio's own loop its Handle queued again): that frame and
                # its checks were 3% of a round trip.
                loop = self.loop
                proxy = call.proxy
                call.relay.call = call
                _enter_task(loop, proxy)
                try:
                    yielded = context.run(call.send, coro, None)
                except BaseException as err:
                    _leave_task(loop, proxy)
                    outcome = call._ended(err)
                else:
                    _leave_task(loop, proxy)
                    ready = self._ready
                    handle = call.handle
                    if yielded is None and handle is not None and ready is not None:
                        ready.append(handle)
                        call.stamp = self._epoch
                    elif yielded is None and ready is None:
                        loop.call_soon(call.step)
                    else:
                        call._suspended(yielded)
                    outcome = None
        except Exception as exc:
            outcome = (False, exc)
        if outcome is None:
            gt._block_seq += 1
            call.seq = gt._block_seq
            call.host = host
            gt._host_parked = call
            gt.state = _BLOCKED
            gt._what = host.awaits
            gt._wake_value = None
            self._awaiting += 1
            return True
        _settle(store, t, host, outcome)
        return False

    def _deliver_inline(self, gt: GreenThread) -> None:
        """`gt` parked in an async host call with no greenlet and was woken with its outcome: the outcome goes
        where the call reads it (a wasm exception thrown there), or the call is abandoned with the error raised."""
        call: _HostCall = gt._host_parked
        gt._host_parked = None
        host = call.host
        assert host is not None
        call.host = None
        self._awaiting -= 1
        outcome, gt._wake_value = gt._wake_value, None
        _settle(gt._target._store, gt._wr_thread, host, outcome)

    def _host_done(self, call: _HostCall, ok: bool, value: Any) -> None:
        """Async host call `call` finished with outcome `(ok, value)` (a loop callback: the step that finished it): its
        thread is woken, and run now when it may be."""
        gt = call.gt
        sched = self.scheduler
        if sched._native.ptr is None:
            self._abort(_closed())  # the store closed meanwhile: every call ends (none is left waiting)
            return
        if self._in_order is not None:
            self._outcomes[gt, call.seq] = (ok, value)
            self.kick()  # delivered in order, when nothing can run (_arrange)
            return
        if call.stamp == self._epoch:
            # Its step was queued at a bare yield while the count was this one's: in an earlier loop iteration, so a
            # new one began (and no `_next_iteration` is needed to say so while each iteration runs a few round trips).
            self._epoch += 1
            direct = 0
        else:
            direct = self._direct
        slices = self.slices
        if self._turn_handle is not None or self._turning or direct >= slices:
            self._direct = direct
            self._done.append((gt, call.seq, (ok, value)))
            self.kick()
            return
        # Run it now rather than a loop iteration later: at most `slices` such turns in a loop iteration, so that
        # a burst of completions in one iteration is not run all at once (the rest wait in `_done`).
        self._direct = direct = direct + 1
        if direct + 1 >= slices and not self._counting:
            self._counting = True
            self.loop.call_soon(self._next_iteration)
        if gt._host_parked is not call:
            sched._wake(gt, call.seq, (ok, value))
            self._turn()
            return
        # Parked in it with no greenlet; nothing else runnable either, since no turn is pending (_arrange). A round
        # trip's turn: the thread, the one that can run, gets its outcome and runs on at once (Scheduler._run_inline),
        # a turn of one decision on the loop's greenlet. When it parks in its next async host call and nothing else
        # changed (_run_turn says what), nothing is left to arrange. It is _turn(gt) with the woken thread's delivery
        # and the turn's setup done in place: when the thread needs a greenlet (a sync host call, a wait), that turn
        # takes it over (`started`).
        if sched.current is not sched.main or sched._every_switch:
            gt._wake_value = (ok, value)
            gt._what = None
            gt.state = _RUNNABLE
            self._turn(gt)  # raises there, or runs it with a greenlet (observed)
            return
        gt._host_parked = None
        host = call.host
        assert host is not None
        call.host = None
        self._awaiting -= 1
        gt._what = None
        self._turning = True
        drains = sched._drains
        try:
            if ok and host.i32 and (value is None if host.void else type(value) is int and _I32_MIN <= value <= _M32):
                # execution.host_results' common case: the C call that runs the thread on writes the result.
                ran = sched._run_inline(gt, False, _NO_RESULT if value is None else value)
            else:
                try:
                    _settle(gt._target._store, gt._wr_thread, host, (ok, value))
                except FAILS as exc:  # the call is abandoned (wr_thread_unwind): the thread ends with it
                    gt.exception = exc
                    sched._finish(gt)
                    ran = True
                else:
                    ran = sched._run_inline(gt)
            if ran and sched._abort is not None:
                sched._raise_abort()  # an interrupt or a store limit came meanwhile: the run ends
        except BaseException as exc:
            self._turning = False
            self._abort(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._turning = False
        if not ran:
            self._turn(gt, True)
        elif (
            gt._host_parked is None
            or sched._drains != drains
            or sched._posted
            or self._turn_handle is not None
            or (sched._queued[0] if sched._queued is not None else len(sched.policy))
        ):
            self._arrange()


class _Relay(Coroutine[Any, None, None]):
    """A green thread's proxy task's coroutine (_proxy), and the future that coroutine waits on until the thread
    ends, in one object: to the task's step a future (`_asyncio_future_blocking`, `get_loop`, `add_done_callback`,
    `result`, `cancel`). Task.cancel() cancels the future its coroutine awaits; this one's cancel cancels the
    thread's async host call in progress instead, so cancelling the task a host coroutine sees as its own
    (asyncio.timeout, a TaskGroup) cancels that coroutine's await. With no call in progress (the loop's shutdown
    cancelling every task), the task ends.

    A coroutine object of its own, not an `async def`, for one case too: the task cancelled before its first step
    (a host coroutine cancelling its current task in its own first step, in the host call that made the task). The
    task then throws CancelledError into its coroutine before running it, and an unstarted `async def` raises that
    at its first line, outside any `try`: the task ended and the call in progress never heard of it. Here the throw
    cancels that call (its coroutine sees CancelledError at its next await, as in a Task) and the task goes on
    waiting."""

    __slots__ = ("_asyncio_future_blocking", "_loop", "_wakeup", "call", "cancelled", "closed", "spare", "task")
    __name__ = "_proxy_body"  # what a task's repr calls its coroutine (the class's own name stays the type's)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._asyncio_future_blocking = False
        self._loop = loop
        self._wakeup: Callable[..., Any] | None = None
        self.call: _HostCall | None = None  # the thread's host call being stepped, if any
        self.spare: _HostCall | None = None  # its last host call, made again for its next (_host_call_inline)
        self.cancelled = False
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    # ---- as the future the task waits on ----

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def add_done_callback(self, fn: Callable[..., Any], *, context: contextvars.Context | None = None) -> None:
        self._wakeup = fn

    def result(self) -> None:
        if self.cancelled:
            raise asyncio.CancelledError

    def cancel(self, msg: Any = None) -> bool:
        call = self.call
        if call is not None:
            return call.cancel(msg)
        self.cancelled = True
        self.end()
        return True

    def end(self) -> None:
        """The thread ended (or the task is cancelled between calls): the task ends, and a call it was parked in
        with no greenlet (killed) is abandoned."""
        call = self.call
        if call is not None and call.host is not None:
            call.abandon()
        _drop_spare(self)
        # The spare refers back to it, and the task holds it as its coroutine: no cycle left for the collector.
        self.call = self.spare = self.task = None
        self.closed = True
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and not self._loop.is_closed():
            self._loop.call_soon(wakeup, self)

    # ---- as the task's coroutine ----

    def send(self, value: None) -> _Relay:
        if self.closed:  # woken: the thread ended
            self.result()
            raise StopIteration
        self._asyncio_future_blocking = True
        return self

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> _Relay:
        exc = typ if isinstance(typ, BaseException) else typ(*(() if val is None else (val,)))
        call = self.call
        if call is not None and not self.closed and isinstance(exc, asyncio.CancelledError):
            call.cancel(exc.args[0] if exc.args else None)
            self._asyncio_future_blocking = True
            return self
        self.closed = True  # the task ends: the thread's next host call makes another (_HostCall)
        _drop_spare(self)
        self._wakeup = self.spare = self.task = None
        raise exc

    def close(self) -> None:
        pass

    def __await__(self) -> _Relay:
        return self

    def __next__(self) -> _Relay:
        return self.send(None)


def _ready_queue(loop: asyncio.AbstractEventLoop) -> deque[asyncio.Handle] | None:
    """The ready queue of asyncio's own loops (BaseEventLoop's `_ready`, what call_soon appends its Handle to), when
    `loop` is one whose call_soon is BaseEventLoop's; None otherwise (uvloop, whose call_soon is C already)."""
    base = asyncio.BaseEventLoop
    kind = type(loop)
    if isinstance(loop, base) and kind.call_soon is base.call_soon and kind._call_soon is base._call_soon:  # type: ignore[attr-defined]
        ready = getattr(loop, "_ready", None)
        if isinstance(ready, deque):
            return ready
    return None


class _StepHandle(asyncio.Handle):
    """A host call's step as a loop callback on asyncio's own loop, made once per _HostCall and queued again at each
    bare yield of its coroutine (LoopClient._ready). What the loop calls, `_run`, is the step run in the Handle's
    context with no Python frame between (Handle._run's, whose report of an exception the step makes itself):
    with them, a round trip on asyncio costs 37.3k instructions against 44.9k through call_soon (callgrind)."""

    __slots__ = ("_run",)  # an instance's own, in place of Handle's method

    def __init__(self, step: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(step, (), loop)  # type: ignore[arg-type]
        self._run = functools.partial(self._context.run, step)  # type: ignore[attr-defined]


def _drop_spare(relay: _Relay) -> None:
    """The relay's spare _HostCall is let go: its Handle (a cycle through its bound step) with it."""
    spare = relay.spare
    if spare is not None:
        spare.handle = None


def _steppable(awaitable: Awaitable[Any]) -> Any:
    """What _HostCall sends into: a coroutine itself, any other awaitable's iterator."""
    return awaitable if inspect.iscoroutine(awaitable) else awaitable.__await__()


#: What _HostCall.step calls with the coroutine and the value to send: a coroutine's own `send`, unbound (a method
#: bound once a call would be one more object for the collector to walk while the call waits), or for any other
#: awaitable's iterator `_send` (one with no `send` fails at the step, as a call of `it.send` there would).
_CORO_SEND = CoroutineType.send


def _send(it: Any, value: Any) -> Any:
    return it.send(value)


def _task_factory(loop: asyncio.AbstractEventLoop) -> Any:
    """The loop's task factory; a loop that cannot say (AbstractEventLoop's own get_task_factory raises
    NotImplementedError) is taken to have one of its own, and is left to make its tasks as it makes them."""
    try:
        return loop.get_task_factory()
    except NotImplementedError:
        return _UNKNOWN_FACTORY


_UNKNOWN_FACTORY = object()


def _proxy(client: LoopClient, gt: GreenThread) -> _Relay:
    """`gt`'s proxy task's relay, the task made on the thread's first async host call: what `asyncio.current_task()`
    is while the thread's host coroutines run (a real Task: timeouts, task groups and libraries that keep per-task
    state work); one per thread, as a thread makes one host call at a time. It ends with the thread
    (Scheduler._finish closes it)."""
    loop = client.loop
    relay = gt._host_task = _Relay(loop)
    name = f"host calls of thread {gt.id}"
    if _task_factory(loop) is None:
        # Its steps only wait on the relay: no copy of the current context for them (_CALLBACKS). (A task factory
        # may predate create_task's `context`.)
        task = loop.create_task(relay, name=name, context=_CALLBACKS)
    else:
        task = loop.create_task(relay, name=name)
    relay.task = task
    task._log_destroy_pending = False  # type: ignore[attr-defined]  # a thread killed with its loop
    return relay


class _HostCall:
    """One async host call: its coroutine stepped as a Task steps one (send or throw in its context, the proxy task
    entered as the current task; a bare yield runs it again next iteration, a yielded future when that is done),
    without a Task of its own: no scheduled first step (it runs at once, in the host call, and a coroutine that never
    suspends returns there), and the outcome goes to the parked thread from the step that finishes it. Once finished
    it is its thread's spare (`_Relay.spare`), made ready for the thread's next call parked with no greenlet
    (_host_call_inline) rather than made anew."""

    __slots__ = (
        "client",
        "loop",
        "gt",
        "seq",
        "coro",
        "send",
        "context",
        "proxy",
        "relay",
        "waiter",
        "must_cancel",
        "cancel_msg",
        "finished",
        "abandoned",
        "host",
        "handle",
        "stamp",
    )

    def __init__(self, client: LoopClient, gt: GreenThread, awaitable: Awaitable[Any]) -> None:
        self.client = client
        self.loop = client.loop
        self.gt = gt
        self.seq = 0  # the thread's block, once it parked
        if type(awaitable) is CoroutineType:
            self.coro: Any = awaitable
            self.send: Callable[[Any, Any], Any] = _CORO_SEND  # what it is stepped with: _CORO_SEND says why
        else:
            self.coro = _steppable(awaitable)
            self.send = _send
        # As a Task copies the current context: the host coroutine's own changes stay its own.
        self.context = gt._context.copy() if gt._context is not None else contextvars.copy_context()
        relay: _Relay | None = gt._host_task
        if relay is None or relay.closed or relay._loop is not self.loop:
            relay = _proxy(client, gt)
        self.relay = relay
        _drop_spare(relay)
        relay.spare = self
        self.proxy = relay.task
        self.waiter: Any = None  # the future it awaits
        self.must_cancel = False
        self.cancel_msg: Any = None
        self.finished = False
        self.abandoned = False  # its thread was killed: nobody to deliver to
        self.host: HostFunc | None = None  # while its thread is parked in it with no greenlet (_host_call_inline)
        #: Its step as a loop callback, queued again at each bare yield on asyncio's own loop (LoopClient._ready):
        #: made on first use, let go (a cycle through its bound step) when the call stops being its thread's spare.
        self.handle: asyncio.Handle | None = None
        self.stamp = -1  # the client's `_epoch` when its step was queued at a bare yield; -1: queued otherwise

    def step(self, exc: BaseException | None = None, first: bool = False) -> tuple[bool, Any] | None:
        """Run the coroutine to its next suspension or its end. `first`: the first step, in the host call, which
        gets the outcome (None: it suspended; a spare call's is made by _host_call_inline itself, as here); the later
        ones are loop callbacks, and the one that finishes it delivers the outcome (_host_done: in the same callback,
        which spares a frame a round trip)."""
        try:
            if self.must_cancel:
                self.must_cancel = False
                msg = self.cancel_msg
                exc = asyncio.CancelledError(msg) if msg is not None else asyncio.CancelledError()
            loop = self.loop
            proxy = self.proxy
            relay = self.relay
            relay.call = self
            _enter_task(loop, proxy)
            try:
                if exc is None:
                    yielded = self.context.run(self.send, self.coro, None)
                else:
                    yielded = self.context.run(self.coro.throw, exc)
            except StopIteration as stop:
                _leave_task(loop, proxy)
                relay.call = None
                self.finished = True
                ok = True
                value = stop.value
            except BaseException as err:
                _leave_task(loop, proxy)
                ok, value = self._ended(err)
            else:
                _leave_task(loop, proxy)
                self._suspended(yielded)
                return None
            if first:
                return (ok, value)
            if not self.abandoned:
                self.client._host_done(self, ok, value)
            return None
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as err:
            if first:
                raise  # the host call's
            # A loop callback's: what Handle._run does with it (a _StepHandle runs the step with no Handle._run).
            self.loop.call_exception_handler({"message": f"Exception in callback {self.step!r}", "exception": err})
        return None

    def _ended(self, err: BaseException) -> tuple[bool, Any]:
        """A step of the coroutine raised `err` (its task left): the coroutine is done, and this is its outcome
        (StopIteration: what it returned). KeyboardInterrupt and SystemExit go on out (of the loop, or the host call),
        as from a task."""
        self.relay.call = None
        self.finished = True
        if isinstance(err, StopIteration):
            return (True, err.value)
        if not isinstance(err, FAILS):
            raise err
        return (False, err)

    def _suspended(self, yielded: Any) -> None:
        """A step of the coroutine yielded `yielded` (its task left): the next step is arranged, as a Task's."""
        loop = self.loop
        if yielded is None:  # a bare yield (asyncio.sleep(0)): again at the next iteration
            client = self.client
            ready = client._ready
            if ready is None:
                loop.call_soon(self.step)
            else:
                # What call_soon(self.step) does, minus its frames, a new Handle and a context copy: the same Handle
                # queued again, as call_soon queues one (_StepHandle).
                handle = self.handle
                if handle is None:
                    handle = self.handle = _StepHandle(self.step, loop)
                ready.append(handle)
                self.stamp = client._epoch
        elif getattr(yielded, "_asyncio_future_blocking", False):
            self.stamp = -1  # its done callback may run in any later iteration, this one's included
            yielded._asyncio_future_blocking = False
            self.waiter = yielded
            # Its wakeup runs the thread on: in the thread's own context (a call_async's, made already), not in
            # a copy of whichever is current (one more object per call for the collector to walk).
            context = self.gt._context
            if context is not None:
                yielded.add_done_callback(self, context=context)
            else:
                yielded.add_done_callback(self)
            if self.must_cancel and yielded.cancel(self.cancel_msg):
                self.must_cancel = False
        else:
            self.stamp = -1
            loop.call_soon(self.step, RuntimeError(f"a host coroutine yielded {yielded!r}, not a future"))

    def __call__(self, fut: asyncio.Future[Any]) -> None:
        """The future it awaits is done (its done callback: the call itself, no bound method per wait)."""
        self.waiter = None
        try:
            fut.result()
        except BaseException as exc:
            self.step(exc)
        else:
            self.step()

    def cancel(self, msg: Any = None) -> bool:
        """As Task.cancel: the future it awaits is cancelled, or it is thrown CancelledError at its next step."""
        if self.finished:
            return False
        waiter = self.waiter
        if waiter is not None and waiter.cancel(msg):
            return True
        self.must_cancel = True
        self.cancel_msg = msg
        return True

    def abandon(self) -> None:
        """Its thread was killed: the coroutine is cancelled, and whatever it ends with goes nowhere."""
        self.abandoned = True
        if self.host is not None:
            self.host = None
            self.client._awaiting -= 1
        self.cancel()


def _settle(store: Store, t: Any, host: HostFunc, outcome: tuple[bool, Any]) -> None:
    """An async host call's outcome into the call wr_thread `t` stopped at (execution.py: as a sync one's)."""
    ok, value = outcome
    if ok:
        try:
            execution.host_results(store, t, host, value)
            return
        except Exception as exc:  # a result of the wrong type
            value = exc
    execution.host_raised(store, t, value)


def _next_deadline(sched: Scheduler, core: int) -> int | None:
    """The earliest deadline of the scheduler's timers and the core's wait timeouts (`core`, _NEVER: none) (None:
    none)."""
    timers = sched._timers
    deadline = None
    for entry in timers[:1]:
        if entry[2] is not None:
            deadline = entry[0]
    if deadline is None and timers:
        live = [e[0] for e in timers if e[2] is not None]  # the head was a cancelled one
        deadline = min(live) if live else None
    if core != _NEVER and (deadline is None or core < deadline):
        deadline = core
    return deadline


def _name_of(awaitable: Any) -> str:
    return getattr(awaitable, "__qualname__", None) or type(awaitable).__name__


def _closed() -> BaseException:
    return closed_error("Store")
