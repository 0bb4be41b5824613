"""The green-thread scheduler of a store: every wasm thread is a greenlet, switched by a hub on one OS thread.

Shape (gevent's, with direct handoff): each GreenThread (greenthread.py) owns a
greenlet and a C wasm thread (wr_thread). Most switches between wasm threads
never get here: the C core makes them itself, with the same built-in policy
(wr_exec.h, Switching; `_sync_core` says when). The rest do: a thread that must
stop in Python (a host function that blocks, a thread the core handed over:
`_handover`) turns pending wake-ups into runnable threads (the host's own, from
the Reactor base class in reactor.py: timers, descriptors; futex wakes and the
core's switches are collected after every wr_exec return: `_drain`), asks the
policy for the next runnable thread and switches straight to it: one greenlet
switch per handoff. The hub greenlet takes over only when there is nobody to hand
over to (it sleeps until a deadline or host event, or finds a Deadlock), to
start new threads (a greenlet starts on its first switcher's stack, which must
not nest thread by thread) and to receive finished ones. The C interpreter has
always returned before a switch (its exits are restartable), so a switch
copies only Python frames.

The Python code that calls into wasm ("the root": whatever greenlet calls an
export or `join`) is itself a thread, `Scheduler.main` (id 0): it blocks and is
resumed like the others. While the root runs nothing else does; other threads
run only while the root is blocked or preempted. So a Deadlock (or an
`interrupt`) is handed to the root, where the main call or `join` raises it.

Invariants:
  - `current` is the thread whose greenlet is executing (the root when the hub
    is not running);
  - a thread is in the policy's queue iff its state is RUNNABLE;
  - every block increments the thread's `_block_seq`; wake-ups (timers,
    events, joins, I/O) carry the seq they were made for and are ignored when
    stale, so nothing needs unregistering eagerly.
All of it lives on one OS thread (greenlets cannot switch across OS threads):
touching a running store from another OS thread raises ForeignThreadError.
"""

from __future__ import annotations

import functools
import heapq
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from greenlet import GreenletExit, getcurrent, greenlet

from ._ffi import NULL, WR_DONE, WR_HOSTCALL, WR_TRAP, ffi, lib
from .backtrace import backtrace_frames
from .clock import Clock, MonotonicClock, VirtualClock, core_clock_kind
from .determinism import DeterministicClock
from .errors import (
    Deadlock,
    ForeignThreadError,
    ResourceLimitError,
    ThreadReport,
    WallTimeExceeded,
)
from .greenthread import _BLOCKED, _DONE, _RUNNABLE, _RUNNING, _WAITING, GreenThread, ThreadState, _tls
from .observe import SchedulerObserver, SwitchBatch, core_wait_words, takes_switch_batches
from .policy import (
    PUSH_NEW,
    PUSH_PREEMPTED,
    PUSH_WOKEN,
    BuiltinPolicy,
    FairPolicy,
    PCTPolicy,
    Policy,
    RandomWalkPolicy,
)
from .reactor import Reactor

if TYPE_CHECKING:
    from .function import Function
    from .store import _Native

__all__ = ["Scheduler"]


#: The C core's "no limit" on spawned threads alive (wr_api_store_set_max_threads).
_NO_LIMIT = 2**64 - 1


def _hub_main(ref: weakref.ref[Scheduler], *_: Any) -> None:
    """The hub greenlet's body: forever ask the scheduler for the next greenlet and switch to it.

    greenlet never garbage-collects a suspended greenlet (it cannot know it
    will not be resumed), and the hub is suspended whenever a thread runs. So
    while switched out it holds the scheduler only weakly: a store whose
    threads are all done can be freed, and with it the hub (which then gets
    a GreenletExit and ends).
    """
    while True:
        sched = ref()
        if sched is None:
            return
        glet = sched._hub_step()
        del sched
        if glet is not None:
            glet.switch()
            del glet


#: Switch from a stopping thread straight to the next one (True), or always through the hub.
DIRECT_HANDOFF = True

#: Switching in C (wr_exec.h): the C core gives control back after this many of its decisions or units
#: run, so that Ctrl-C, the wall-time limit and the host's own wake-ups are seen within a few milliseconds
#: (a decision costs well under a microsecond, a unit a fraction of a nanosecond). With timers, pollers or
#: descriptors waiting in Python (fair policy only: a seeded one then decides in Python), about once a fair
#: slice, as the Python scheduler looks at them.
CHECK_EVERY, CHECK_UNITS = 4096, 1 << 22
CHECK_EVERY_HOST, CHECK_UNITS_HOST = 64, 1 << 20
#: Added to wr_api_exec's status when the core has news for the drain (Scheduler._exec).
_NEWS: int = lib.WR_API_NEWS
#: No thread chosen yet (Scheduler._switch_out's `picked`).
_UNPICKED: Any = object()
_get_ident = threading.get_ident
# C calls made at every wasm run, looked up once (an attribute of `lib` is a lookup each time).
_wr_exec = lib.wr_api_exec
_wr_exec_slice = lib.wr_api_exec_slice
_set_budget = lib.wr_api_thread_set_budget
_wr_exec_host = lib.wr_api_exec_host
_host_peek = lib.wr_api_thread_host_peek
_NO_RESULT: int = lib.WR_API_NO_RESULT  # wr_api_exec_host's "no result to write"


def _by_id(gt: GreenThread) -> int:
    return gt.id


def _cancelled(exc: BaseException) -> bool:
    """`exc` is asyncio's CancelledError (asyncio is imported only where used: none can exist until it is)."""
    aio = sys.modules.get("asyncio")
    return aio is not None and isinstance(exc, aio.CancelledError)


class Scheduler(Reactor):
    """Runs the green threads of one store on one OS thread. See the module docstring for the shape."""

    #: Slots: the round trip of an async host call reads and writes a few dozen of these (aio.py), and an instance
    #: dict of this many keys is not shared, so its reads are hinted dict lookups and its methods are not specialized
    #: (callgrind: 2% of that round trip). `__dict__` stays for what tests patch onto an instance.
    __slots__ = (
        "_native",
        "policy",
        "_default_policy",
        "_builtin",
        "_slice_events",
        "_clock",
        "_owner",
        "_hub",
        "main",
        "current",
        "_live",
        "_calls",
        "_nwaiting",
        "_drains",
        "_abort",
        "_handoff",
        "_handoff_entered",
        "_cswitch",
        "_core_mode",
        "_core_may_block",
        "_yield_hook",
        "_core_switching",
        "_out_addr",
        "_args_buf",
        "_out_timeout",
        "_host_id_out",
        "_host_out",
        "_core_spawns",
        "_core_makers",
        "_spawn_info",
        "_started_out",
        "_native_spawns",
        "_core_pops",
        "_last_id",
        "_counts_in_c",
        "_max_threads",
        "_wall_limit",
        "_wall_deadline",
        "_on_thread_exit",
        "_exit_hook_quiet",
        "_observer",
        "_every_switch",
        "_switch_batches",
        "_events_on",
        "_func_names",
        "_host_stops_after",
        "_preempt_shared",
        "_queued",
        "_fair",
        "_plain_host_calls",
        "__dict__",
        "__weakref__",
    )

    def __init__(self, native: _Native, policy: Policy | None = None, clock: Clock | None = None) -> None:
        self._native = native
        self.policy: Policy = policy if policy is not None else FairPolicy()
        self._default_policy = policy is None  # the store chose it (core/aio.py may shorten its slice)
        #: The policy when it is a built-in one (its queue in C): told of contention, stops and host calls.
        self._builtin: BuiltinPolicy | None = None
        #: The built-in policy again when it hears of slices starting and stopping (not fair round robin).
        self._slice_events: BuiltinPolicy | None = None
        if clock is None:
            # A seeded schedule keeps time virtual too (as run --seed does), or wall-clock timing leaks into it.
            seeded = isinstance(policy, (RandomWalkPolicy, PCTPolicy))
            clock = DeterministicClock() if seeded else MonotonicClock()
        self._clock: Clock | None = None
        self.clock = clock
        self._owner = threading.get_ident()
        self._hub: greenlet | None = None
        self.main = GreenThread(self, 0, "main", None, (), False)
        self.main.state = _RUNNING
        self.current: GreenThread = self.main
        self._live: dict[int, GreenThread] = {0: self.main}  # by id, which is also the wr_thread's host_id
        self._calls = 0  # wasm calls in progress on any thread
        self._nwaiting = 0  # threads in WAITING: when 0 the woken list is empty and not worth a C call
        self._drains = 0  # drains that found news (_drain): a loop turn tells whether the core changed anything
        self._init_reactor()
        self._abort: BaseException | None = None
        self._handoff: GreenThread | None = None  # picked by a direct handoff, to be started by the hub
        self._handoff_entered = False  # ... and given its slice already (by the C core, or an inline start)
        #: Whether the C core switches threads itself (wr_exec.h, Switching), and with which checks.
        self._cswitch = False
        self._core_mode: tuple[BuiltinPolicy | None, bool] = (None, False)
        self._core_may_block = False
        self._yield_hook = False  # the store has an on_yield hook (store.py)
        self._core_switching = True
        self._out_addr = ffi.new("uint64_t *")
        self._args_buf = ffi.new("uint64_t[]", 64)  # a call's argument slots on their way in (execution.begin)
        self._out_timeout = ffi.new("int64_t *")
        self._host_id_out = ffi.new("uint64_t *")  # a host call's host id on its way out of C (execution.py)
        self._host_out = ffi.new("int64_t[2]")  # ... and its first argument (an i32), in a loop turn (_run_inline)
        #: Threads the C core spawns and ends itself (wr_spawn.h) while `_core_spawns`: no GreenThread until
        #: Python must see one (_adopt_thread), made then by their spawner's maker, by the spawner's address.
        self._core_spawns = False
        self._core_makers: dict[int, Callable[[Any, Any], GreenThread]] = {}
        self._spawn_info = ffi.new("wr_api_spawn_info *")
        self._started_out = ffi.new("int *")
        self._native_spawns = False
        self._core_pops = False
        self._last_id = 0  # the last thread id, while Python counts them (_new_id)
        self._counts_in_c = False
        self._max_threads: int | None = None
        self._wall_limit: float | None = None  # seconds (see set_wall_time)
        self._wall_deadline: int | None = None  # time.monotonic_ns() when it passes
        self._on_thread_exit: Callable[[GreenThread], None] | None = None
        #: A hook that needs no call for the return of a thread Python never saw (wasi-threads' own): the C
        #: core may still spawn and end threads itself while it is the one set.
        self._exit_hook_quiet: Callable[[GreenThread], None] | None = None
        self._observer: SchedulerObserver | None = None
        self._every_switch = False  # the observer must see every switch (observe.py) ...
        self._switch_batches = False  # ... and takes them in batches from the C core's event log (wr_sched.h)
        self._events_on: BuiltinPolicy | None = None  # the policy whose event log is on
        self._func_names: dict[int, str | None] = {}  # by wr_func address, for the batches (observe.py)
        self._host_stops_after: int | None = None
        self._preempt_shared = False
        self._adopt(self.policy)
        self._sync_core()

    @property
    def clock(self) -> Clock:
        """What "now" is for this scheduler's threads, and how time passes while none can run (clock.py)."""
        assert self._clock is not None
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        old = self._clock
        if isinstance(old, VirtualClock) and old._native is self._native:
            old._bind(None)
        self._clock = clock
        ptr = self._native.ptr
        if ptr is None:
            return
        kind = core_clock_kind(clock)
        if kind == lib.WR_CLOCK_VIRTUAL:
            assert isinstance(clock, VirtualClock)
            if clock._bind(self._native):
                return  # its time lives in the core now
            kind = lib.WR_CLOCK_HOST  # another store's core keeps it: the timeouts stay ours
        lib.wr_api_store_set_clock(ptr, kind, 0)

    # ---- public: threads ----

    @property
    def threads(self) -> list[GreenThread]:
        """Every live thread: the main thread (id 0) and spawned threads not yet done, by id."""
        self._adopt_owned()
        # Sorted: a thread the C core spawned joins the live ones when Python takes it over, out of id order.
        return sorted(self._live.values(), key=_by_id)

    @property
    def max_threads(self) -> int | None:
        """Spawned threads alive at once (not counting main); None: no limit (memory is the bound).
        spawn() over it raises ResourceLimitError(limit="max_threads")."""
        return self._max_threads

    @max_threads.setter
    def max_threads(self, n: int | None) -> None:
        self._max_threads = n
        if self._native.ptr is not None:
            lib.wr_api_store_set_max_threads(self._native.ptr, _NO_LIMIT if n is None else min(n, _NO_LIMIT))

    @property
    def on_thread_exit(self) -> Callable[[GreenThread], None] | None:
        """Called as hook(thread) when a spawned thread finishes (see thread.exception). It may call
        interrupt() to end the whole run, as wasi-threads does when any thread traps or exits."""
        return self._on_thread_exit

    @on_thread_exit.setter
    def on_thread_exit(self, hook: Callable[[GreenThread], None] | None) -> None:
        self._on_thread_exit = hook
        self._sync_core()  # a hook of someone else's hears every end: the C core ends none itself

    @property
    def alive(self) -> list[GreenThread]:
        """Spawned threads not yet done (after the main call returns: the ones it left running)."""
        return [gt for gt in self.threads if gt is not self.main]

    def spawn(self, func: Function | Callable[..., Any], *args: Any, name: str | None = None) -> GreenThread:
        """Start `func(*args)` as a new green thread; it runs once the caller blocks or is preempted.

        `func` is a Function of this store (a wasm function runs on its own wasm
        thread: value and frame stacks), or any Python callable, which runs as
        a green thread of this store too (it may call wasm and block).
        """
        if self._owner != _get_ident():
            self._check_owner()
        if self.max_threads is not None:
            self.check_room()
        if not hasattr(func, "_begin_on"):  # not a wasm Function (function.py): a Python callable
            if not callable(func):
                raise TypeError("spawn needs a Function or a callable")
            return self._add(GreenThread(self, self._new_id(), name, func, args, False))
        if func.store._native is not self._native:
            raise ValueError("the function belongs to another store")
        gt = self._spawn_bits(func, func._args_to_slots(args), name)
        if not gt._begun:
            gt._arg_values = args
        return gt

    def spawn_bits(self, func: Function, arg_slots: Sequence[int], *, name: str | None = None) -> GreenThread:
        """spawn() of a Function with the arguments as raw 64-bit slots (see Function.call_bits)."""
        self._check_owner()
        if self.max_threads is not None:
            self.check_room()
        gt = self._spawn_bits(func, list(arg_slots), name)
        if not gt._begun:
            # Until its call begins (a host Function's, when the thread first runs), nothing but these raw slots
            # names the structs, arrays and exceptions among them, and a collection may run meanwhile: their
            # values (GcRefs, WasmExceptions) pin them, as spawn()'s own arguments do.
            gt._arg_values = func._slots_to_args(gt._args)
        return gt

    def _spawn_bits(self, func: Function, arg_slots: list[int], name: str | None) -> GreenThread:
        gt = GreenThread(self, self._new_id(), name, func, arg_slots, True)
        if func._host() is None:
            gt._wr_thread = t = self._new_wr_thread(gt)
            # Its call is set up now, so the C core may start it itself when it comes up (wr_exec.h).
            gt._begun = func._set_up_on(t, arg_slots)
            if gt._begun:
                gt._args = ()  # in its wr_thread now
        return self._add(gt)

    def check_room(self) -> None:
        """Raise ResourceLimitError(limit="max_threads") when spawn() would be refused now (max_threads alive)."""
        limit = self._max_threads
        if limit is not None and (len(self._live) - 1 if not self._counts_in_c else self._alive_count()) >= limit:
            raise self._room_error()

    def _room_error(self) -> ResourceLimitError:
        return ResourceLimitError(
            f"cannot spawn a thread: {self._max_threads} spawned threads alive, the store's limit (max_threads)",
            "max_threads",
        )

    def _new_id(self) -> int:
        """A new thread's id: also its wr_thread's host id; from the count the C core's own spawns share once it
        has a spawner (_add_spawner), until the store closes (then only Python threads are spawned)."""
        ptr = self._native.ptr
        if ptr is None or not self._counts_in_c:
            self._last_id += 1
            return self._last_id
        return int(lib.wr_api_store_new_host_id(ptr))

    def _alive_count(self) -> int:
        """Spawned threads alive: Python's and those the C core runs on its own."""
        ptr = self._native.ptr
        if ptr is None or not self._counts_in_c:
            return len(self._live) - 1
        return int(lib.wr_api_store_threads_alive(ptr))

    def _add_spawner(self, spawner: Any, maker: Callable[[Any, Any], GreenThread]) -> None:
        """A C spawner of this store's (wr_spawn.h) and the maker of the GreenThread of a thread it spawned: ids
        and the count of threads alive are the C core's from now on, which its spawns share."""
        if not self._counts_in_c and self._native.ptr is not None:
            lib.wr_api_store_set_counts(self._native.ptr, self._last_id + 1, len(self._live) - 1)
            self._counts_in_c = True
        self._core_makers[int(ffi.cast("uintptr_t", spawner))] = maker
        self._core_pops = self._core_spawns

    def _add(self, gt: GreenThread, *, counted: bool = False) -> GreenThread:
        """`gt` is new: live, seen by the observer, queued (`counted`: alive in the C core's count already)."""
        self._live[gt.id] = gt
        if self._counts_in_c and not counted and self._native.ptr is not None:
            lib.wr_api_store_count_threads(self._native.ptr, 1)
        obs = self._observer
        if obs is not None:
            obs.spawned(gt, self.current)
        self._push(gt, PUSH_NEW)
        return gt

    def join(self, thread: GreenThread) -> Any:
        """Block the current thread until `thread` is done; its results (None, a value, a tuple) or its exception."""
        self._wait_done(thread)
        if thread.exception is not None:
            raise thread.exception
        if not thread._wasm:
            return thread._result
        func = thread._target
        return func._result_of(thread._result)

    def run(self) -> None:
        """Block the caller until every spawned thread is done (their exceptions stay in the threads)."""
        while self._adopt_owned() or len(self._live) > 1:
            for gt in list(self._live.values()):
                if gt is not self.main:
                    self._wait_done(gt)

    def _wait_done(self, thread: GreenThread) -> None:
        if self._owner != _get_ident():
            self._check_owner()
        if thread.scheduler is not self:
            raise ValueError("the thread belongs to another scheduler")
        if thread.state is _DONE:
            return
        gt = self.current
        if gt is thread:
            raise RuntimeError("a thread cannot join itself")
        joiners = thread._joiners
        if not isinstance(joiners, list):
            joiners = thread._joiners = []
        joiners.append((gt, gt._block_seq + 1))
        self._block(gt, f"join thread {thread.id}")

    def close(self) -> None:
        """Kill every spawned thread still alive and end the hub, so that the store can be freed.

        A started green thread that is suspended is a greenlet in the middle of
        its work, and greenlet never garbage-collects those: a store whose
        threads are left alive stays in memory until they finish or close()
        kills them. Each killed thread unwinds its wasm call and ends DONE with
        a GreenletExit as its `exception`. Only the root may call it.
        """
        self._check_owner()
        if self.current is not self.main:
            raise RuntimeError("close() must be called from the root, not from a green thread")
        for gt in self.alive:
            self._kill(gt)
        if self._counts_in_c and self._native.ptr is not None:
            self._last_id = int(lib.wr_api_store_new_host_id(self._native.ptr))  # ids go on past the C count
        hub, self._hub = self._hub, None
        if hub is not None and not hub.dead:
            hub.parent = getcurrent()
            hub.throw(GreenletExit)

    def _kill(self, gt: GreenThread) -> None:
        if gt.state is _RUNNABLE:
            self.policy.remove(gt)
        elif gt.state is _WAITING:
            gt.state = _DONE  # so the drain drops the cancelled wait
            self._nwaiting -= 1
            if self._native.ptr is not None and lib.wr_api_thread_cancel_wait(gt._wr_thread):
                self._drain()
        gt._block_seq += 1
        glet = gt._glet
        if glet is None and gt._begun and gt._wr_thread is not None and self._native.ptr is not None:
            lib.wr_thread_unwind(gt._wr_thread)  # set up (maybe run in the core), never driven by Python
        if glet is not None and not glet.dead:
            glet.parent = getcurrent()  # its death returns here, not to the hub
            glet.throw(GreenletExit)  # unwinds its wasm call (execution.call) on the way out
            self.current = self.main
        if gt.exception is None:
            gt.exception = GreenletExit()
        self._finish(gt, killed=True)

    def set_policy(self, policy: Policy) -> None:
        """Replace the policy; runnable threads move to the new one in the order the old one gives them."""
        self._check_owner()
        queued: list[GreenThread] = []
        while True:
            gt = self.policy.pop()
            if gt is None:
                break
            queued.append(gt)
        self.policy = policy
        self._default_policy = False
        self._adopt(policy)
        for gt in queued:
            policy.push(gt)
        self._sync_core()

    @property
    def observer(self) -> SchedulerObserver | None:
        """Told of every spawn, slice start, stop, wake-up and host call (observe.py): traces, recordings and the
        explorer's instruction counts. None costs one test per switch."""
        return self._observer

    @observer.setter
    def observer(self, observer: SchedulerObserver | None) -> None:
        self._feed_switches()  # what the old observer has still to hear
        self._observer = observer
        self._every_switch = observer is not None and getattr(observer, "every_switch", True)
        self._switch_batches = observer is not None and takes_switch_batches(observer)
        self._sync_core()

    @property
    def host_stops_after(self) -> int | None:
        """Once the store's units run (all threads, since it was made) pass this, every stop of a thread goes
        through Python, seen by observers that do not watch every switch (a hang budget checked at stops).
        None: the C core keeps switching threads itself."""
        return self._host_stops_after

    @host_stops_after.setter
    def host_stops_after(self, units: int | None) -> None:
        self._host_stops_after = units
        if self._native.ptr is not None:
            lib.wr_api_store_set_host_stops_after(self._native.ptr, units or 0)

    @property
    def preempt_shared(self) -> bool:
        """Exploration mode for every wasm thread of this scheduler: each access to a shared memory is a
        preemption point (wr_api_thread_set_explore), so races between a load and a store can show."""
        return self._preempt_shared

    @preempt_shared.setter
    def preempt_shared(self, on: bool) -> None:
        self._preempt_shared = on
        if self._native.ptr is not None:
            lib.wr_api_store_set_explore(self._native.ptr, on)  # every green thread's, and new ones'
            t = self.main._wr_thread
            if t is not None:
                lib.wr_api_thread_set_explore(t, on)

    def _adopt(self, policy: Policy) -> None:
        """Note whether `policy` is a built-in one (its queue in C), and count its progress from this store's."""
        self._builtin = policy if isinstance(policy, BuiltinPolicy) else None
        self._slice_events = self._builtin if self._builtin is not None and self._builtin._slice_events else None
        #: How many threads it has queued, read with no call where a round trip through an async host function asks
        #: (aio.py: len() calls __len__, 6% of the round trip), when its __len__ reads only that; else None.
        builtin_len = isinstance(policy, BuiltinPolicy) and type(policy).__len__ is BuiltinPolicy.__len__
        self._queued = policy._queued if builtin_len else None
        #: The policy when its slice is FairPolicy's (its `_slice`, read with no call where a thread run inline
        #: starts one: _run_inline); else None.
        self._fair = policy if isinstance(policy, FairPolicy) and type(policy).slice is FairPolicy.slice else None
        if self._builtin is not None and self._native.ptr is not None:
            self._builtin.attach(self._native, self._live, self._adopt_task)

    def _push(self, gt: GreenThread, reason: int) -> None:
        """`gt` became runnable: a built-in policy hears why (a new or woken thread may cut the running slice)."""
        if self._builtin is not None:
            self._builtin.push(gt, reason)
        else:
            self.policy.push(gt)

    @property
    def core_switching(self) -> bool:
        """Whether the C core may switch threads itself when it decides exactly as this scheduler would (the
        default; see _sync_core). False keeps every decision in Python: slower, the same schedule."""
        return self._core_switching

    @core_switching.setter
    def core_switching(self, on: bool) -> None:
        self._core_switching = on
        self._sync_core()

    def _sync_core(self) -> None:
        """Let the C core switch threads itself (wr_exec.h, Switching) exactly when it decides as this scheduler
        would: a built-in policy (the same calls on the same C policy, in the same order), no observer that must
        see every switch unless it takes them in batches (the core logs them: _feed_switches), no abort pending,
        no on_yield hook (it runs at every slice end).

        Python looks at its own wake-ups (timers, predicates, descriptors) at every slice end, the C core only
        at its periodic checks. So a seeded policy decides in Python while any of those could wake a thread
        between two slices (a virtual clock's timers cannot: it moves only when every thread is blocked), and
        the schedule is the same either way; fair round robin promises no schedule and keeps switching in C,
        checking about once a slice."""
        builtin = self._builtin
        #: Host calls take part in no decision or event: no observer, no policy told of slices or host calls.
        self._plain_host_calls = (
            self._observer is None and self._slice_events is None and (builtin is None or not builtin._hostcall_switch)
        )
        ptr = self._native.ptr
        if ptr is None:
            return
        hook = self._on_thread_exit
        spawns = (
            DIRECT_HANDOFF
            and self._core_switching
            and builtin is not None
            and self._observer is None
            and (hook is None or hook == self._exit_hook_quiet)
        )
        host = bool(
            self._pollers
            or self._io
            or self._injected
            or self._external
            or (self._timers and not isinstance(self.clock, VirtualClock))
        )
        on = (
            DIRECT_HANDOFF
            and self._core_switching
            and builtin is not None
            and builtin._decides_in_core()
            and (not self._every_switch or self._switch_batches)
            and self._abort is None
            and not self._yield_hook
            and (not host or type(builtin) is FairPolicy)
        )
        spawns = spawns and on
        if self._core_spawns and not spawns:
            self._adopt_owned()  # from now on Python sees every thread
        self._core_spawns = spawns
        self._core_pops = spawns and bool(self._core_makers)  # a pick may be the core's own thread (_pop)
        # wasi-threads' thread-spawn runs in C with no host call (wr_spawn_native) when nothing would hear of the
        # host call: no policy that may switch after one (a seeded walk, PCT; observers already stop `spawns`).
        native = spawns and builtin is not None and not builtin._hostcall_switch
        if native != self._native_spawns:
            self._native_spawns = native
            lib.wr_api_store_set_native_spawns(ptr, native)
        # The C run loop may block in its reactor when nothing runs only while Python has no wake-ups of its own.
        may_block = not (host or self._timers or self._posted or self._loop_client)
        if may_block != self._core_may_block:
            self._core_may_block = may_block
            lib.wr_api_io_set_may_block(ptr, may_block)
        self._log_events(builtin if on and self._every_switch else None)
        mode = (builtin if on else None, host)
        if mode[0] is self._core_mode[0] and mode[1] == self._core_mode[1]:
            return
        self._core_mode = mode  # holds the policy: the core's pointer to it stays valid
        self._cswitch = on
        every, units = (CHECK_EVERY_HOST, CHECK_UNITS_HOST) if host else (CHECK_EVERY, CHECK_UNITS)
        lib.wr_api_store_set_sched(ptr, builtin._ptr if on and builtin is not None else NULL, every, units)

    def _log_events(self, policy: BuiltinPolicy | None) -> None:
        """Keep the switches the C core makes in `policy`'s event log (None: nowhere), what it held fed first."""
        old = self._events_on
        if policy is old:
            return
        if old is not None:
            self._feed_switches()
            lib.wr_policy_set_events(old._ptr, False)
        self._events_on = None
        if policy is not None:
            if not lib.wr_policy_set_events(policy._ptr, True):
                raise MemoryError("cannot make the scheduler's event log")
            self._events_on = policy

    def _feed_switches(self) -> None:
        """Tell the observer, in one batch, of the switches the C core made since it last heard (wr_sched.h, the
        event log): the same events, in the same order and with the same values as when Python switches. Called
        whenever the core has returned (_drain), before anything else the observer hears."""
        policy = self._events_on
        if policy is None:
            return
        ptr = policy._ptr
        n = int(lib.wr_policy_events_len(ptr))
        if not n:
            return
        raw = ffi.buffer(lib.wr_policy_events(ptr), n * SwitchBatch.EVENT_SIZE)
        batch = SwitchBatch(SwitchBatch.unpack(raw), self._live, self.current, self._func_names)
        if lib.wr_policy_events_clear(ptr):  # emptied before the observer runs: it may end the switching in C
            raise MemoryError("the scheduler's event log lost events (out of memory)")
        obs = self._observer
        if obs is not None and self._native.ptr is not None:  # a freed store's functions are gone
            obs.switched(batch)  # type: ignore[attr-defined]

    def interrupt(self, exc: BaseException) -> None:
        """End the run: raise `exc` in the root (the main call or join) as soon as the current thread stops.

        Other threads stay as they are (see `alive`). Raised at once when called from the root.
        """
        if self.current is self.main:
            raise exc
        self._abort = exc
        self._sync_core()

    def set_wall_time(self, seconds: float | None) -> None:
        """Limit the wall-clock time from now on: once `seconds` have passed, WallTimeExceeded stops the run.

        Checked (on the real monotonic clock, whatever `clock` is) at every
        slice end, every switch and while idle: the thread running then raises
        it, and so does the root (its call or join), wherever it is. Threads
        left suspended stay `alive` (close() ends them); every later slice end
        or switch raises again until the limit is set anew. None removes it.
        """
        if seconds is None:
            self._wall_limit = self._wall_deadline = None
        else:
            if not seconds > 0:
                raise ValueError(f"the wall-time limit must be positive: {seconds}")
            self._wall_limit = seconds
            self._wall_deadline = time.monotonic_ns() + int(seconds * 1e9)
        if self._native.ptr is not None:
            # The C core gives control back once it passes (time.monotonic_ns is CLOCK_MONOTONIC).
            lib.wr_api_store_set_wall_deadline(self._native.ptr, self._wall_deadline or 0)

    @property
    def wall_time_limit(self) -> float | None:
        """The wall-clock limit in seconds (set_wall_time), or None."""
        return self._wall_limit

    def _check_wall_time(self, gt: GreenThread) -> None:
        """At a slice end or a switch, in `gt` (running): raise WallTimeExceeded once the limit has passed."""
        deadline = self._wall_deadline
        if deadline is None or time.monotonic_ns() < deadline:
            return
        limit = self._wall_limit
        assert limit is not None
        self._store_limit(gt, lambda: WallTimeExceeded(limit))

    def _store_limit(self, gt: GreenThread, error: Callable[[], BaseException]) -> NoReturn:
        """A limit of the whole store (its fuel, its wall time) stopped `gt`, the running thread: raise
        `error()` there, and leave another for the root when `gt` is not the root, so that the main call or
        join ends with it wherever it waits (threads blocked for good would otherwise turn it into a
        Deadlock)."""
        if gt is not self.main and self._abort is None:
            self._abort = error()
            self._sync_core()
        raise error()

    # ---- public: blocking from host functions (park only the calling green thread) ----

    def yield_now(self) -> None:
        """Let other runnable threads run before the caller continues (sched_yield)."""
        if self._owner != _get_ident():
            self._check_owner()
        gt = self.current
        if self._timers or self._pollers or self._posted or self._io or self._injected or self._core_wakeups():
            self._maintain()
        if len(self.policy):
            obs = self._observer
            if obs is not None:
                obs.stopped(gt, "yield")
            if self._slice_events is not None:
                self._slice_events.stopped(gt, False)
            gt.state = _RUNNABLE
            self._push(gt, PUSH_PREEMPTED)
            self._switch_out(gt)

    def _run_woken(self, gt: GreenThread, started: bool = False) -> None:
        """yield_now when `gt`, woken from an async host call it parked in with no greenlet and not queued, is the
        one thread that can run (a loop turn's direct wake, aio.py): it runs at once, with a fresh slice, on the
        root's greenlet (_start_inline), with no trip through the policy's queue and no switch. Only when it stops
        where it needs a greenlet of its own (`started`: it did so already, run by aio.py) does the root queue
        itself behind it, the hub starting that greenlet as it starts every new one (_switch_out)."""
        if not started and self._start_inline(gt):  # parked in an async host call again, or ended
            if self._abort is not None:
                self._raise_abort()
            return
        root = self.current
        root.state = _RUNNABLE
        self._push(root, PUSH_PREEMPTED)
        self._handoff = gt
        self._handoff_entered = gt._glet is not None  # its slice started (it ran), unless it could not run inline
        self._switch_out(root, None)

    # ---- the call driver's entry points (execution.py) ----

    def _exec(self, t: Any, budget: int | None = None, result: int = 0, out: Any = None) -> int:
        """Run the call set up (or begun) on wr_thread `t` until it stops (with a fresh slice of `budget` units
        first, if given): its status, what the core changed collected (_drain). With `out`, for a thread run inline
        (_run_inline): the one C call that also writes `result` into the host call it stopped at first and, when it
        stops at another, says which in `out` (wr_api_exec_host)."""
        self._calls += 1
        if out is not None:
            status = _wr_exec_host(t, budget, result, out)
        else:
            status = _wr_exec(t) if budget is None else _wr_exec_slice(t, budget)
        if status >= _NEWS:
            status -= _NEWS
            if self._nwaiting or self._cswitch:
                self._drain()
        # Not `in`: it would build the tuple (of globals) at every call, and compare with its members generically
        if status == WR_DONE or status == WR_TRAP:  # noqa: SIM109
            self._calls -= 1
        return status

    def _thread_of(self, gt: GreenThread, store: Any) -> Any:
        """The wr_thread `gt`'s wasm calls run on, made on first use.

        The root uses the store's own wr_thread; a
        spawned thread has its own, so its value and frame stacks survive its
        switches; a Python thread gets one when it first calls wasm.
        """
        t = gt._wr_thread
        if t is None:
            if gt is self.main:
                t = store._thread()
                lib.wr_api_thread_adopt(t, 0, gt._task, self._preempt_shared)
            else:
                t = self._new_wr_thread(gt)
            budget = self.policy.slice(gt)
            lib.wr_api_thread_set_budget(t, budget)
            gt._wr_thread = t
            if self._slice_events is not None:
                self._slice_events.started(gt)
            obs = self._observer
            if obs is not None:
                obs.started(gt, budget)
        return t

    def _new_wr_thread(self, gt: GreenThread) -> Any:
        """A wasm thread for `gt` (from the store's pool, wr_spawn.h), tied to its policy task."""
        t = lib.wr_api_pool_take(self._native.ptr)
        if t == NULL:
            raise MemoryError("cannot create a wasm thread")
        lib.wr_api_thread_adopt(t, gt.id, gt._task, self._preempt_shared)
        return t

    def _release_wr_thread(self, t: Any) -> None:
        """A finished thread's wr_thread goes back to the store's pool (its call has returned or been unwound)."""
        if self._native.ptr is not None:
            lib.wr_api_pool_give(t)

    # ---- threads the C core spawned (wr_spawn.h) ----

    def _pop(self) -> tuple[GreenThread | None, bool]:
        """The next thread to run (None: nobody is runnable), and whether its slice started already: the C core
        runs the threads it owns itself when the policy picks them, and gives Python the first pick it must
        run (wr_exec_pop)."""
        ptr = self._native.ptr
        if ptr is None:
            return self.policy.pop(), False
        started = self._started_out
        task = lib.wr_api_store_pop(ptr, started)
        if started[0] and (self._nwaiting or lib.wr_api_store_has_news(ptr)):
            self._drain()  # what those threads changed, as after any wr_exec (Scheduler._exec)
        if task == NULL:
            return None, False
        gt = self._live.get(int(lib.wr_api_task_host_id(task)))
        if gt is None:
            gt = self._adopt_task(task)
        return gt, bool(started[0])

    def _adopt_owned(self) -> bool:
        """Take over every thread the C core spawned and still runs on its own (a report, the run's end, Python
        deciding from now on); whether there was any."""
        ptr = self._native.ptr
        if ptr is None:
            return False
        any_ = False
        t = NULL
        while (t := lib.wr_api_store_next_owned(ptr, t)) != NULL:  # adopted, it stays on the core's list
            self._adopt_thread(t)
            any_ = True
        return any_

    def _adopt_task(self, task: Any) -> GreenThread:
        """The thread of a task the policy gave Python that Python has no GreenThread for: the C core's own."""
        t = lib.wr_api_task_thread(task)
        if t == NULL:
            raise KeyError(int(lib.wr_api_task_host_id(task)))
        return self._adopt_thread(t)

    def _adopt_thread(self, t: Any) -> GreenThread:
        """The GreenThread of wr_thread `t`, made now when the C core spawned it (wr_api_spawn): its spawner's
        maker builds it; it is Python's from now on, in the state the core left it in (as _drain reads it)."""
        info = self._spawn_info
        lib.wr_api_thread_spawn_info(t, info)
        hid = int(info.host_id)
        gt = self._live.get(hid)
        if gt is not None:
            return gt
        gt = self._core_makers[int(ffi.cast("uintptr_t", info.spawner))](t, info)
        lib.wr_api_thread_disown(t)
        self._live[hid] = gt
        if lib.wr_api_thread_sched_state(t) == 1:  # waiting, with nothing for Python to keep (as _drain reads it)
            gt.state = _WAITING
            gt._what = self._note_wait(gt)
            self._nwaiting += 1
        return gt

    def _check_owner(self) -> None:
        ident = threading.get_ident()
        if ident == self._owner:
            return
        if self._calls or self._alive_count():
            raise ForeignThreadError(
                "this store is running green threads on another OS thread; a store's wasm runs on one OS thread"
            )
        # Idle: the store may move to this OS thread. The hub greenlet belongs to the old one.
        self._owner = ident
        self._hub = None

    def _yield(self, gt: GreenThread) -> None:
        """WR_YIELD: the slice ran out. Switch if anyone else may run; either way a fresh slice follows."""
        if self._wall_deadline is not None:
            self._check_wall_time(gt)
        obs = self._observer
        if obs is not None:
            obs.stopped(gt, "preempted")
        events = self._slice_events
        if events is not None:
            events.stopped(gt, False)
        self._maintain()
        if len(self.policy) or self._abort is not None:
            gt.state = _RUNNABLE
            self._push(gt, PUSH_PREEMPTED)
            self._switch_out(gt)
        else:
            budget = self.policy.slice(gt)
            lib.wr_api_thread_set_budget(gt._wr_thread, budget)
            if events is not None:
                events.started(gt)
            if obs is not None:
                obs.started(gt, budget)

    def _wait_futex(self, gt: GreenThread, picked: Any = _UNPICKED) -> None:
        """WR_WAIT: the C core queued the thread on a futex. Park it until notified or timed out (`picked`: the
        C core stopped it and chose the next thread already: _handover)."""
        what = self._note_wait(gt)
        if what is None:
            return  # already ended (cannot happen before anyone else ran, but harmless)
        timeout = int(self._out_timeout[0])
        self._nwaiting += 1
        deadline = self.clock.now_ns() + timeout if timeout >= 0 else None
        try:
            self._block(gt, what, deadline, _WAITING, picked)
        finally:
            gt._wait_address = None

    def _note_wait(self, gt: GreenThread) -> str | None:
        """What `gt`'s wait in the C core is, in words (a futex, or its wait in the C reactor: descriptors, a sleep:
        wr_io.h), with its address noted for reports; None when it does not wait. Its timeout is left in
        `_out_timeout`."""
        kind = lib.wr_api_thread_wait_info(gt._wr_thread, self._out_addr, self._out_timeout)
        if not kind:
            return None
        addr = int(self._out_addr[0])
        if kind == 1:
            gt._wait_address = addr
            return "futex"
        gt._wait_address = None
        return core_wait_words(kind, addr)

    def _handover(self, gt: GreenThread) -> None:
        """WR_SWITCH: the C core stopped `gt` (the running thread) at a slice end or a wait, made the decision
        this scheduler would have made, and started the chosen thread's slice (wr_exec.h, Switching). Run that
        thread; return once `gt` is chosen again."""
        hid = int(lib.wr_api_store_handover(self._native.ptr))
        nxt = self._live.get(hid) if hid >= 0 else None
        if nxt is None and hid >= 0:  # a thread the C core spawned: Python's from now on
            nxt = self._adopt_thread(lib.wr_api_store_handover_thread(self._native.ptr))
        waits = lib.wr_api_thread_wait_info(gt._wr_thread, self._out_addr, self._out_timeout)
        if nxt is gt:
            # Chosen again at one of the core's periodic checks: look at the world, then go on.
            if self._wall_deadline is not None:
                self._check_wall_time(gt)
            if self._timers or self._pollers or self._posted or self._io or self._injected:
                self._maintain()
            return
        deadline = self._wall_deadline
        if deadline is not None and not waits and time.monotonic_ns() >= deadline:
            # The wall-time limit passed at gt's slice end: it raises there, as at a slice end in Python (_yield),
            # and the thread chosen in its place stays runnable.
            self.policy.remove(gt)
            if nxt is not None:
                self._push(nxt, PUSH_PREEMPTED)
            self._check_wall_time(gt)
        if waits:
            self._wait_futex(gt, nxt)
        else:
            gt.state = _RUNNABLE  # queued in the C policy
            self._switch_out(gt, nxt)

    # ---- blocking and switching ----

    def _block(
        self,
        gt: GreenThread,
        what: str,
        deadline_ns: int | None = None,
        state: ThreadState = _BLOCKED,
        picked: Any = _UNPICKED,
    ) -> Any:
        """Park `gt` (the current thread) until a wake-up for this block; return its wake value. `picked`: the
        thread to run next when the C core chose it already (and heard that `gt` stopped)."""
        if gt is not self.current:
            raise RuntimeError(f"{gt!r} is not the running thread")
        gt._block_seq += 1
        gt.state = state
        gt._what = what
        gt._wake_value = None
        if deadline_ns is not None:
            entry = [deadline_ns, next(self._timer_seq), gt, gt._block_seq]
            gt._timer = entry
            heapq.heappush(self._timers, entry)
            if self._core_may_block or not isinstance(self.clock, VirtualClock):
                self._sync_core()
        if picked is _UNPICKED:
            obs = self._observer
            if obs is not None:
                obs.stopped(gt, "blocked")
            if self._slice_events is not None:
                self._slice_events.stopped(gt, False)
        try:
            self._switch_out(gt, picked)
        finally:
            gt._what = None
            if gt._timer is not None:
                self._cancel_timer(gt)
        return gt._wake_value

    def _switch_out(self, gt: GreenThread, picked: Any = _UNPICKED) -> None:
        """Give up control; return once `gt` is picked again (the root may get an abort to raise).

        The common case is a direct handoff: the stopping thread runs the hub's
        pick itself and switches straight to the next thread, one greenlet switch
        instead of two. The hub greenlet takes over when there is nothing to hand
        over to (idle, deadlock) or an abort is pending. `picked` is the next
        thread when the C core chose it (its slice started), None when it found
        nobody runnable.
        """
        hub = self._the_hub()
        if gt is self.main:
            gt._glet = getcurrent()
        while DIRECT_HANDOFF and self._abort is None:
            if self._turn_left is not None and self._turn_spent():
                break  # a loop turn's budget is spent: the root goes back to the loop (aio.py)
            if self._wall_deadline is not None and time.monotonic_ns() >= self._wall_deadline:
                # Checked at every switch too: threads that only spawn and block never reach a slice end.
                assert self._wall_limit is not None
                self._abort = WallTimeExceeded(self._wall_limit)
                self._sync_core()
                break
            if picked is _UNPICKED:
                if self._timers or self._pollers or self._posted or self._io or self._injected or self._core_wakeups():
                    self._maintain()
                if self._core_pops:
                    nxt, entered = self._pop()
                else:
                    nxt, entered = self.policy.pop(), False
            else:
                nxt, picked, entered = picked, _UNPICKED, True
            if nxt is None:
                break
            if nxt._glet is None:
                if self._start_inline(nxt, entered):
                    continue  # it ran to its end right here (and may have woken gt)
                # A new greenlet starts on the C stack (and Python recursion depth) of whoever
                # switches to it first: always the hub, or stacks would nest thread by thread.
                self._handoff = nxt
                self._handoff_entered = entered or nxt._glet is not None
                break
            if nxt is gt:
                self._enter(gt, entered)
                if self._wall_deadline is not None:
                    self._check_wall_time(gt)
                return
            self._enter(nxt, entered).switch()
            self._check_pending(gt)
            return
        if picked is not _UNPICKED and picked is not None:
            # Chosen by the C core but not run (an abort came first): it stays runnable.
            picked.state = _RUNNABLE
            self._push(picked, PUSH_PREEMPTED)
        hub.switch()
        self._check_pending(gt)

    def _the_hub(self) -> greenlet:
        """The hub greenlet, made (as a child of the current greenlet: the root's) when there is none."""
        hub = self._hub
        if hub is None or hub.dead:
            hub = self._hub = greenlet(functools.partial(_hub_main, weakref.ref(self)), getcurrent())
        return hub

    def _check_pending(self, gt: GreenThread) -> None:
        """`gt` runs again: raise the abort left for it (the root), or the wall-time limit once passed."""
        exc = gt._pending
        if exc is not None:
            gt._pending = None
            raise exc
        if self._wall_deadline is not None:
            self._check_wall_time(gt)

    def _start_inline(self, gt: GreenThread, entered: bool = False) -> bool:
        """Start a new wasm thread on the greenlet that picked it, with no greenlet of its own: True when it ran
        to its end (returned or trapped) there, as a short thread does, with no switch at all, or parked in an
        async host call of a loop turn (aio.py), which needs no greenlet either (the coroutine keeps its own
        frames; the outcome is delivered here when the thread runs again). Otherwise it
        gets a greenlet now that takes over from where it stopped (a host call, a wait, the slice's end):
        wr_exec() has returned, so nothing of it is on this stack. Only unobserved, so that observers see
        every thread start in its own greenlet. `entered`: its slice started already (the C core chose it)."""
        t = gt._wr_thread
        if gt._host_parked is not None:
            # Woken from an async host call it parked in with no greenlet (aio.py): the outcome goes in first.
            aio = self._aio
            try:
                aio._deliver_inline(gt)
            except aio.FAILS as exc:  # the call is abandoned (wr_thread_unwind): the thread ends with it
                gt.exception = exc
                self._finish(gt)
                return True
        if not gt._wasm or t is None or self._every_switch:
            return False
        return self._run_inline(gt, entered)

    def _run_inline(self, gt: GreenThread, entered: bool = False, result: int = _NO_RESULT) -> bool:
        """Run wasm thread `gt`, with no greenlet and its call set up (or begun), on this greenlet until it stops: as
        _start_inline from its checks on (True: it ended, or parked in an async host call; False: it has a greenlet
        now, runnable, its slice started). aio.py runs a woken thread's round trip through it, `result` the i32
        result of the host call it stopped at, written as it resumes (wr_api_exec_host; _NO_RESULT: none)."""
        t = gt._wr_thread
        prev = self.current
        self.current = gt
        gt.state = _RUNNING
        budget = -1
        if not entered:
            fair = self._fair
            budget = fair._slice if fair is not None else self.policy.slice(gt)
            if self._slice_events is not None:
                self._slice_events.started(gt)
        _tls.scheduler = self
        func = gt._target
        out = self._host_out  # where the C core says which host function the thread stopped at, and its argument
        try:
            client = self._aio
            if gt._begun:
                # self._exec(t, budget, result, out), inlined: its frame is 2% of an async host call's round trip.
                self._calls += 1
                status = _wr_exec_host(t, budget, result, out)
                if status >= _NEWS:
                    status -= _NEWS
                    if self._nwaiting or self._cswitch:
                        self._drain()
                if status == WR_DONE or status == WR_TRAP:  # noqa: SIM109 - as in _exec
                    self._calls -= 1
                payload = None
            else:
                if budget >= 0:
                    _set_budget(t, budget)
                status, payload = func._begin_on(t, gt._args)
                if status == WR_HOSTCALL and client is not None:
                    _host_peek(t, out)
            while status == WR_HOSTCALL and client is not None:
                # An async host call, in a loop turn: served here, the thread parked with no greenlet if it waits.
                parked = client._host_call_inline(gt, t, out)
                if parked is None:
                    break
                self._calls -= 1  # counted again by _exec
                if parked:
                    self.current = prev
                    return True
                status = self._exec(t, -1, _NO_RESULT, out)  # its results written already (_host_call_inline)
            if payload is None and status in (WR_DONE, WR_TRAP):
                status, payload = func._outcome(t, status)
            if status == WR_DONE:
                gt._result = payload
            elif status == WR_TRAP:
                gt.exception = payload
            else:
                self._calls -= 1  # counted again by _resume
                gt._glet = greenlet(functools.partial(gt._resume, status), self._the_hub())
                if gt._context is not None:
                    gt._glet.gr_context = gt._context
                gt.state = _RUNNABLE
                self.current = prev
                return False
        except Exception as exc:  # a call that could not start (stack exhausted)
            gt.exception = exc
        self.current = prev
        self._finish(gt)
        return True

    def _enter(self, gt: GreenThread, entered: bool = False) -> greenlet:
        """Make `gt` the running thread with a fresh slice (`entered`: started already, by the C core or an
        inline start); its greenlet, for the caller to switch to."""
        self.current = gt
        gt.state = _RUNNING
        if not entered:
            t = gt._wr_thread
            budget = 0
            if t is not None and self._native.ptr is not None:  # a freed store's wr_threads are gone
                budget = self.policy.slice(gt)
                lib.wr_api_thread_set_budget(t, budget)
            if self._slice_events is not None:
                self._slice_events.started(gt)
            obs = self._observer
            if obs is not None:
                obs.started(gt, budget)
        glet = gt._glet
        if glet is None:
            assert self._hub is not None
            glet = gt._glet = greenlet(gt._run, self._hub)
            if gt._context is not None:
                glet.gr_context = gt._context
        _tls.scheduler = self
        return glet

    def _wake(self, gt: GreenThread, seq: int, value: Any) -> None:
        """End block `seq` of `gt` (if still current) with `value`: it becomes runnable."""
        if gt._block_seq != seq or gt.state is not _BLOCKED:
            return
        gt._wake_value = value
        gt.state = _RUNNABLE
        gt._what = None
        if gt._timer is not None:
            self._cancel_timer(gt)
        if gt._io_fds:
            self._drop_io(gt)
        self._push(gt, PUSH_WOKEN)
        obs = self._observer
        if obs is not None:
            obs.woken(gt)

    # ---- the hub ----

    def _hub_step(self) -> greenlet | None:
        """One turn of the hub: the greenlet to switch to next, or None to look again (after idling)."""
        gt = self._handoff
        entered = False
        if gt is not None:
            self._handoff = None
            entered = self._handoff_entered
        elif self._abort is not None or (self._turn_left is not None and self._turn_spent()):
            return self._abort_root()
        else:
            self._maintain()
            if self._core_pops:
                gt, entered = self._pop()
            else:
                gt = self.policy.pop()
            if gt is None:
                self._idle()
                return None
            if gt._glet is None:
                if self._start_inline(gt, entered):
                    return None  # it ran to its end: look again
                entered = gt._glet is not None  # it stopped: its greenlet goes on from there
        return self._enter(gt, entered)

    def _raise_abort(self) -> NoReturn:
        """An abort came (an interrupt, a store limit) while the root ran a thread on its own greenlet
        (_run_inline, from a loop turn): the root raises it now, as it does once the hub hands it over
        (_abort_root)."""
        exc, self._abort = self._abort, None
        self._sync_core()
        assert exc is not None
        raise exc

    def _abort_root(self) -> greenlet:
        """Undo the root's block and leave the pending abort (Deadlock, an interrupt) for it to raise."""
        exc, self._abort = self._abort, None
        self._sync_core()
        root = self.main
        if root.state is _RUNNABLE:
            self.policy.remove(root)
        elif root.state is _WAITING:
            # Cancel the wait and drain at once, while the root is not WAITING: the drain then drops
            # the cancelled entry, which could otherwise wake a later wait of the root.
            root.state = _RUNNING
            self._nwaiting -= 1
            t = root._wr_thread
            if t is not None and self._native.ptr is not None:
                lib.wr_api_thread_cancel_wait(t)
                self._drain()
        root._block_seq += 1
        root._pending = exc
        root.state = _RUNNING
        self.current = root
        _tls.scheduler = self
        assert root._glet is not None
        return root._glet

    def _drain(self) -> None:
        """Threads whose wait the C core ended (a notify, or a cancelled wait) become runnable, oldest first;
        and while the core switches threads itself, the ones it switched become what it says (queued, waiting
        again, or chosen to run next)."""
        ptr = self._native.ptr
        if not lib.wr_api_store_has_news(ptr):
            return
        self._drains += 1
        if self._events_on is not None:
            self._feed_switches()
        take = lib.wr_api_store_take_woken
        host_id = lib.wr_api_thread_host_id
        live = self._live
        while True:
            t = take(ptr)
            if t == NULL:
                break
            gt = live.get(int(host_id(t)))
            if gt is None and self._core_spawns:
                # The core's own, woken by a thread the core did not switch: Python's from now on, and runnable.
                gt = self._adopt_thread(t)
                self._push(gt, PUSH_WOKEN)
                continue
            if gt is not None and gt.state is _WAITING:
                self._unwait(gt)
                self._push(gt, PUSH_WOKEN)
                obs = self._observer
                if obs is not None:
                    obs.woken(gt)
        if not self._cswitch:
            return
        take = lib.wr_api_store_take_changed
        where = lib.wr_api_thread_sched_state
        while True:
            t = take(ptr)
            if t == NULL:
                return
            gt = live.get(int(host_id(t)))
            if gt is None or gt.state is _RUNNING:
                continue  # the running thread looks after itself (_handover)
            if where(t) == 1:  # waiting (again), with no timeout: its greenlet still sits in a switch
                if gt.state is not _WAITING:
                    gt.state = _WAITING
                    self._nwaiting += 1
                gt._what = self._note_wait(gt)
            else:  # queued, or chosen to run next
                if gt.state is _WAITING:
                    self._unwait(gt)
                elif gt.state is _BLOCKED:
                    continue  # a host block is Python's: the core never runs it
                gt.state = _RUNNABLE

    def _unwait(self, gt: GreenThread) -> None:
        """`gt`'s futex wait ended: it is runnable (to be queued, or queued by the C core already)."""
        self._nwaiting -= 1
        gt.state = _RUNNABLE
        gt._what = gt._wait_address = None
        self._cancel_timer(gt)

    # ---- thread exit ----

    def _finish(self, gt: GreenThread, *, killed: bool = False) -> None:
        """`gt` returned or raised (in its own greenlet), or was killed: free its wasm thread, wake its joiners."""
        gt.state = _DONE
        if gt._wasm and gt._result and gt.exception is None and self._native.ptr is not None:
            # Its results wait in raw slots until joined: a struct, an array or an exception among them is pinned
            # meanwhile, or the next collection would free it.
            gt._result_pins = gt._target._result_pins(gt._result)
        self._live.pop(gt.id, None)
        if self._counts_in_c and self._native.ptr is not None:
            lib.wr_api_store_count_threads(self._native.ptr, -1)
        obs = self._observer
        if obs is not None:
            obs.stopped(gt, "exit")
        if self._slice_events is not None:
            self._slice_events.stopped(gt, True)
        t = gt._wr_thread
        if t is not None:
            gt._wr_thread = None
            self._release_wr_thread(t)  # untied from its task as it is recycled or freed
        gt._args = gt._arg_values = ()
        parked = gt._host_parked
        if parked is not None:  # killed while parked with no greenlet in an async host call: nobody to deliver to
            gt._host_parked = None
            parked.abandon()
        relay = gt._host_task
        if relay is not None:  # the task its async host coroutines saw as theirs ends with it (aio.py)
            gt._host_task = None
            relay.end()
        joiners, gt._joiners = gt._joiners, ()
        for waiter, seq in joiners:
            self._wake(waiter, seq, True)
        exc = gt.exception
        if (
            exc is not None
            and not isinstance(exc, (Exception, GreenletExit))
            and self._abort is None
            and not _cancelled(exc)
        ):
            # KeyboardInterrupt, SystemExit and the like end the run, as in a plain call. A CancelledError (what an
            # async host function awaited was cancelled) ends its thread only, as it ends only its task in asyncio.
            self._abort = exc
            self._sync_core()
        hook = self.on_thread_exit
        if hook is not None and not killed:
            hook(gt)
        on_exit = gt._on_exit
        if on_exit is not None:
            gt._on_exit = None
            on_exit.exited(gt)

    # ---- deadlock reports ----

    def _deadlock(self) -> Deadlock:
        return Deadlock([self._report(gt) for gt in self.threads])

    def _report(self, gt: GreenThread) -> ThreadReport:
        frames = []
        t = gt._wr_thread
        if t is not None and self._native.ptr is not None and lib.wr_api_thread_depth(t):
            lib.wr_api_thread_capture_backtrace(t)
            frames = backtrace_frames(t)
        return ThreadReport(gt.id, gt.name, gt.state.value, gt.blocked_on, gt.wait_address, frames)
