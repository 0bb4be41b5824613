"""The host's own wake-ups of a scheduler: timers on its clock, predicates, file descriptors and callbacks
posted from other OS threads, and idling until one of them comes.

`Reactor` is a part of Scheduler (a base class kept in its own file): it keeps
the timer heap, the pollers, the selector and the wake-up pipe, parks the
calling green thread on them (sleep, block_until, wait_io) and turns what is
due into runnable threads (`_maintain`), through the scheduler's `_block`,
`_wake`, `_drain` and `_sync_core`. When nothing is runnable `_idle` sleeps
until the next deadline or host event, or reports a Deadlock. Threads parked
on descriptors by the C core's own reactor (wr_io.h: native WASI socket calls)
are the core's: the selector watches its one epoll descriptor while idle, and
`_maintain` polls it without blocking. Every wake-up
carries the block sequence number it was made for and is dropped when stale,
so nothing needs unregistering eagerly.

A replay of a recorded network run has no descriptors: its `Injector`
(record.py's Replayer) wakes the threads that waited for one at the points
the recording says, from where descriptors are polled (`_maintain`) and from
`_idle`; threads parked for it (`wait_injected`) count as waiting for the host.
"""

from __future__ import annotations

import heapq
import itertools
import os
import selectors
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from ._ffi import lib
from .errors import WallTimeExceeded
from .greenthread import _BLOCKED, _WAITING, GreenThread, current_scheduler

if TYPE_CHECKING:
    from .scheduler import Scheduler

__all__ = ["TIMED_OUT", "Event", "Injector", "Reactor", "TurnOver", "io_what"]


_IO_WORDS = {
    selectors.EVENT_READ: "readable",
    selectors.EVENT_WRITE: "writable",
    selectors.EVENT_READ | selectors.EVENT_WRITE: "readable or writable",
}

#: wr_api_store_next_timeout's "no timeout".
_NEVER = 2**63 - 1

#: The core's reactor has no descriptor to watch (poll(2), not epoll: wr_io.h), so the idle loop looks at it
#: itself, at least this often (seconds) while Python has wake-ups of its own to wait for too.
_CORE_IO_POLLED = -2
_CORE_IO_SLICE = 0.005

#: The wake value of a block that ran into its deadline.
TIMED_OUT: Any = object()


def io_what(readable: Iterable[int], writable: Iterable[int]) -> str:
    """What a thread waiting for these descriptors waits on, in words (its `blocked_on`)."""
    wants: dict[int, int] = {}
    for fd in readable:
        wants[fd] = wants.get(fd, 0) | selectors.EVENT_READ
    for fd in writable:
        wants[fd] = wants.get(fd, 0) | selectors.EVENT_WRITE
    return _wants_text(wants)


def _wants_text(wants: dict[int, int]) -> str:
    return ", ".join(f"fd {fd} {_IO_WORDS[ev]}" for fd, ev in wants.items())


class Injector(Protocol):
    """Wake-ups that come from elsewhere than the clock and the descriptors: a replay's recorded network wakes.

    Called only while some thread is parked with `Reactor.wait_injected`.
    """

    def maintain(self) -> None:
        """Wake the threads whose wake-up is due now (called where descriptors are polled without blocking)."""

    def idle(self, deadline_ns: int | None) -> bool:
        """Nothing is runnable and the next timer is at `deadline_ns` (None: none): True when it took care of it
        (moved the clock to its next wake-up, or ended the run); False to idle as if it were not there."""


class TurnOver(BaseException):
    """Left for the root (the asyncio loop's callback, aio.py) when its turn's slices are spent: it goes back to
    the loop. A BaseException, so that nothing on the way mistakes it for an error of the program's."""


def _signals_here() -> None:
    """Nothing: calling it lets Python run a pending signal handler at this point (a Ctrl-C that ended a wait
    in C raises its KeyboardInterrupt in the caller)."""


def _close_fds(selector: selectors.BaseSelector, fds: list[int]) -> None:
    """Finalizer of a scheduler's selector and wake-up pipe (it must not hold the scheduler)."""
    selector.close()
    for fd in fds:
        os.close(fd)


class Event:
    """A flag green threads can block on: `set()` wakes every waiter. Owned by one OS thread.

    To set it from another OS thread use `scheduler.call_soon_threadsafe(event.set)`
    (and wait with `block_until(event, external=True)`).
    """

    def __init__(self) -> None:
        self._flag = False
        self._waiters: list[tuple[Scheduler, GreenThread, int]] = []

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        self._flag = True
        waiters, self._waiters = self._waiters, []
        for sched, gt, seq in waiters:
            sched._wake(gt, seq, True)

    def clear(self) -> None:
        self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        """Block the current green thread until set; False if `timeout` seconds passed first."""
        return current_scheduler().block_until(self, timeout=timeout)


class Reactor:
    """The wake-up half of a Scheduler (see the module docstring); its state is made by `_init_reactor`."""

    __slots__ = (  # as Scheduler's (its subclass)
        "_timers",
        "_timer_seq",
        "_cancelled_timers",
        "_pollers",
        "_selector",
        "_io",
        "_external",
        "_posted",
        "_wakeup_fds",
        "_owned_fds",
        "_core_io_fd",
        "injector",
        "_injected",
        "_loop_client",
        "_turn_left",
        "_aio",
    )

    def _init_reactor(self) -> None:
        self._timers: list[list[Any]] = []  # heap of [deadline_ns, seq, thread, block_seq]; thread None: cancelled
        self._timer_seq = itertools.count()
        self._cancelled_timers = 0
        self._pollers: list[tuple[GreenThread, int, Callable[[], bool]]] = []
        self._selector: selectors.BaseSelector | None = None
        self._io: dict[int, list[tuple[GreenThread, int, int]]] = {}  # fd -> [(thread, seq, events)]
        self._external = 0  # threads blocked on a wake-up that may come from another OS thread
        self._posted: deque[Callable[[], None]] = deque()
        self._wakeup_fds: tuple[int, int] | None = None
        self._owned_fds: list[int] = []  # closed with the selector when the scheduler goes
        self._core_io_fd = -1  # the C reactor's epoll descriptor, once watched (the store closes it)
        self.injector: Injector | None = None
        self._injected = 0  # threads parked for the injector (wait_injected)
        #: Driven by an asyncio loop (aio.py): the C run loop never blocks, the root runs turns. While a turn
        #: runs, the Python decisions it may still make (None: no turn).
        self._loop_client = False
        self._turn_left: int | None = None
        self._aio: Any = None  # its LoopClient (aio.py), once an asyncio loop has run it

    def now_ns(self) -> int:
        """The scheduler's clock, in nanoseconds (deadlines below are on this clock)."""
        return self.clock.now_ns()

    def sleep(self, seconds: float) -> None:
        """Park the calling green thread for `seconds` (others run meanwhile)."""
        if seconds <= 0:
            self.yield_now()
            return
        self.sleep_until(self.clock.now_ns() + int(seconds * 1e9))

    def sleep_until(self, deadline_ns: int) -> None:
        """Park the calling green thread until the clock reaches `deadline_ns`."""
        self._check_owner()
        if deadline_ns <= self.clock.now_ns():
            self.yield_now()
            return
        self._block(self.current, "sleep", deadline_ns)

    def block_until(
        self,
        condition: Event | Callable[[], bool],
        *,
        timeout: float | None = None,
        deadline_ns: int | None = None,
        external: bool = False,
    ) -> bool:
        """Park the calling green thread until `condition` holds; False if the deadline passed first.

        `condition` is an Event (woken when set) or a predicate, checked each
        time the scheduler switches (keep it cheap). `external=True` says the
        wake-up may come from another OS thread (via call_soon_threadsafe), so
        an otherwise idle scheduler waits for it instead of reporting a Deadlock.
        """
        self._check_owner()
        if timeout is not None:
            deadline_ns = self.clock.now_ns() + max(0, int(timeout * 1e9))
        gt = self.current
        seq = gt._block_seq + 1
        if isinstance(condition, Event):
            if condition.is_set():
                return True
            condition._waiters.append((self, gt, seq))
            what = "event"
        else:
            if condition():
                return True
            self._pollers.append((gt, seq, condition))
            what = f"condition {getattr(condition, '__qualname__', condition)!r}"
        if external:
            self._ensure_wakeup_pipe()
            self._external += 1
        self._sync_core()
        try:
            return self._block(gt, what, deadline_ns) is not TIMED_OUT
        finally:
            if external:
                self._external -= 1
                self._sync_core()
            if isinstance(condition, Event):
                # A timed-out or aborted waiter must not pile up in an event nobody sets.
                condition._waiters = [w for w in condition._waiters if w[1] is not gt]

    def wait_readable(self, fd: int, deadline_ns: int | None = None) -> bool:
        """Park the calling green thread until `fd` is readable; False if `deadline_ns` passed first."""
        return self.wait_io((fd,), (), deadline_ns)

    def wait_writable(self, fd: int, deadline_ns: int | None = None) -> bool:
        """Park the calling green thread until `fd` is writable; False if `deadline_ns` passed first."""
        return self.wait_io((), (fd,), deadline_ns)

    def wait_io(self, readable: Iterable[int], writable: Iterable[int], deadline_ns: int | None = None) -> bool:
        """Park the calling green thread until any fd of `readable` can be read or of `writable` written.

        False if `deadline_ns` (on this scheduler's clock) passed first. An error
        or hang-up counts as ready (the read or write that follows reports it).
        Waking up says only that something is ready: callers recheck (poll_oneoff).
        """
        self._check_owner()
        wants: dict[int, int] = {}
        for fd in readable:
            wants[fd] = wants.get(fd, 0) | selectors.EVENT_READ
        for fd in writable:
            wants[fd] = wants.get(fd, 0) | selectors.EVENT_WRITE
        if not wants:
            if deadline_ns is None:
                raise ValueError("wait_io needs a file descriptor or a deadline")
            self.sleep_until(deadline_ns)
            return False
        gt = self.current
        seq = gt._block_seq + 1
        try:
            gt._io_fds = tuple(wants)
            for fd, events in wants.items():
                self._io.setdefault(fd, []).append((gt, seq, events))
                self._update_fd(fd)
            what = _wants_text(wants)
            self._sync_core()
            return self._block(gt, what, deadline_ns) is not TIMED_OUT
        finally:
            self._drop_io(gt)

    def wait_injected(self, what: str, deadline_ns: int | None = None) -> Any:
        """Park the calling green thread until `injector` wakes it (its block sequence number is the current
        thread's `_block_seq + 1`, to be read before the call) or `deadline_ns` passes (TIMED_OUT); `what` is
        what it waits on, in words. It counts as waiting for the host, as a thread in `wait_io` does."""
        self._check_owner()
        self._injected += 1
        self._sync_core()
        try:
            return self._block(self.current, what, deadline_ns)
        finally:
            self._injected -= 1
            self._sync_core()

    def _drop_io(self, gt: GreenThread) -> None:
        """`gt`'s descriptor wait is over (woken, timed out or abandoned): unregister its descriptors at once,
        not when it runs again, so that a poll meanwhile does not report them again and again (one-shot: with
        many connections woken and not yet run, every poll would otherwise return all of them)."""
        fds, gt._io_fds = gt._io_fds, ()
        for fd in fds:
            left = [w for w in self._io.get(fd, ()) if w[0] is not gt]
            if left:
                self._io[fd] = left
            else:
                self._io.pop(fd, None)
            try:
                self._update_fd(fd)
            except (OSError, ValueError):
                pass  # closed meanwhile: the selector forgot it already
        if fds and not self._io:
            self._sync_core()

    def call_soon_threadsafe(self, callback: Callable[[], None]) -> None:
        """From any OS thread: run `callback` on the scheduler's thread at its next switch (it must not block).

        An idle scheduler wakes up for it only while some thread waits with
        `block_until(..., external=True)`, which sets up the wake-up pipe on the
        scheduler's own thread (a selector is not safe to change from another).
        """
        self._posted.append(callback)
        fds = self._wakeup_fds
        if fds is not None:
            try:
                os.write(fds[1], b"\0")
            except BlockingIOError:
                pass  # the pipe is full: a wake-up is pending anyway

    def _cancel_timer(self, gt: GreenThread) -> None:
        entry = gt._timer
        if entry is None:
            return
        gt._timer = None
        entry[2] = None
        self._cancelled_timers += 1
        if self._cancelled_timers > 64 and self._cancelled_timers * 2 > len(self._timers):
            self._timers = [e for e in self._timers if e[2] is not None]
            heapq.heapify(self._timers)
            self._cancelled_timers = 0

    def _maintain(self) -> None:
        """Turn pending wake-ups into runnable threads: due timers, predicates, I/O, posted callbacks.

        Futex wake-ups are not polled here: only wr_exec notifies, and the call
        driver drains the woken list after every wr_exec return (anything else
        that ends a wait, like cancel_wait, drains right after).
        """
        if self._timers and self._timers[0][0] <= self.clock.now_ns():
            self._fire_timers()
        if self._pollers:
            self._check_pollers()
        if self._posted:
            self._run_posted()
        if self._io:
            self._poll(0)
        if self._injected:
            assert self.injector is not None
            self.injector.maintain()
        if self._core_wakeups():
            # What only the core can end, as its run loop does when idle: descriptors ready, timeouts due.
            ptr = self._native.ptr
            woke = lib.wr_api_io_waiters(ptr) and lib.wr_api_io_poll(ptr, 0) > 0
            if lib.wr_api_store_fire_timeouts(ptr) or woke:
                self._drain()

    def _core_wakeups(self) -> bool:
        """Threads wait on what only the C core can end: descriptors of its reactor (wr_io.h), timeouts on the
        clock it keeps (wr_timer.h)."""
        ptr = self._native.ptr
        return ptr is not None and lib.wr_api_store_core_wakeups(ptr) > 0

    def _fire_timers(self) -> None:
        now = self.clock.now_ns()
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, gt, seq = heapq.heappop(timers)
            if gt is None:
                self._cancelled_timers -= 1
                continue
            gt._timer = None
            if gt._block_seq != seq:
                continue
            if gt.state is _WAITING:
                # The wait ends with result 2; the C core puts the thread on its woken list.
                if lib.wr_api_thread_cancel_wait(gt._wr_thread):
                    self._drain()
            elif gt.state is _BLOCKED:
                self._wake(gt, seq, TIMED_OUT)
        if not timers:
            self._sync_core()

    def _check_pollers(self) -> None:
        keep = []
        for gt, seq, pred in self._pollers:
            if gt._block_seq != seq or gt.state is not _BLOCKED:
                continue
            if pred():
                self._wake(gt, seq, True)
            else:
                keep.append((gt, seq, pred))
        self._pollers = keep
        if not keep:
            self._sync_core()

    def _run_posted(self) -> None:
        while self._posted:
            self._posted.popleft()()

    def _turn_spent(self) -> bool:
        """A decision in Python during a loop turn (aio.py): True once the turn's budget is spent, with a
        TurnOver left for the root, which then goes back to the loop (the thread stopping now stays as it is)."""
        assert self._turn_left is not None
        self._turn_left -= 1
        if self._turn_left > 0 or self._abort is not None:
            return False
        self._turn_left = None
        # Handed over at once (the caller goes to the hub, the hub to the root): no switching mode to change.
        self._abort = TurnOver()
        return True

    def _idle(self) -> None:
        """Nothing is runnable: sleep until the next deadline or host wake-up, or report a Deadlock.

        With a wall-time limit, never past it: once it passes the root is interrupted with WallTimeExceeded,
        and so it is with a KeyboardInterrupt that comes meanwhile.
        """
        wall = self._wall_deadline
        poll = self._poll
        if wall is not None:
            left = wall - time.monotonic_ns()
            if left <= 0:
                assert self._wall_limit is not None
                self._abort = WallTimeExceeded(self._wall_limit)
                self._sync_core()
                return

            def poll(timeout: float | None, _left: float = left / 1e9) -> int:
                return self._poll(_left if timeout is None else min(timeout, _left))

        if self._core_may_block and self._core_wakeups():
            # Only the core's descriptors and timeouts can wake a thread: idle as its run loop does.
            try:
                woke = lib.wr_api_store_idle(self._native.ptr)
                if woke < 0:
                    _signals_here()  # a signal came: its KeyboardInterrupt is raised here, for the root
            except KeyboardInterrupt as e:
                self._abort = e
                self._sync_core()
                return
            if woke > 0:
                self._drain()
            if woke:
                return
        deadline = None
        while self._timers and self._timers[0][2] is None:
            heapq.heappop(self._timers)
            self._cancelled_timers -= 1
        if self._timers:
            deadline = self._timers[0][0]
        ptr = self._native.ptr
        core_io = False
        if ptr is not None:
            core_next = int(lib.wr_api_store_next_timeout(ptr))
            if core_next != _NEVER and (deadline is None or core_next < deadline):
                deadline = core_next
            core_io = lib.wr_api_io_waiters(ptr) > 0
        if self._injected and self.injector is not None and self.injector.idle(deadline):
            return
        if deadline is None and not self._io and not self._external and not self._posted and not core_io:
            self._abort = self._deadlock()
            self._sync_core()
            return
        if core_io:
            self._watch_core_io()
        try:
            self.clock.idle(deadline, poll)
        except KeyboardInterrupt as e:
            # Ctrl-C while idle lands here, in the hub: the root raises it as any abort (it would otherwise go to
            # the hub's parent greenlet, which may be any thread's, and leave the root unable to close the run).
            self._abort = e
            self._sync_core()

    def _poll(self, timeout: float | None) -> int:
        """Wait up to `timeout` seconds for file descriptors and posted wake-ups; wake their threads."""
        if self._core_io_fd == _CORE_IO_POLLED:
            # The core's reactor has no descriptor to watch (poll(2), wr_io.h): look at it now, then wait a
            # short while at most, and look again on the next idle.
            ptr = self._native.ptr
            if ptr is not None and lib.wr_api_io_waiters(ptr):
                if lib.wr_api_io_poll(ptr, 0) > 0:
                    self._drain()
                    return 1
                timeout = _CORE_IO_SLICE if timeout is None else min(timeout, _CORE_IO_SLICE)
        sel = self._selector
        if sel is None or not sel.get_map():
            if timeout:
                time.sleep(timeout)
            return 0
        n = 0
        for key, events in sel.select(timeout):
            n += 1
            if key.fd == self._core_io_fd:
                ptr = self._native.ptr
                if ptr is not None and lib.wr_api_io_poll(ptr, 0) > 0:
                    self._drain()
                continue
            if self._wakeup_fds is not None and key.fd == self._wakeup_fds[0]:
                try:
                    while os.read(key.fd, 4096):
                        pass
                except BlockingIOError:
                    pass
                self._run_posted()
                continue
            for gt, seq, want in self._io.get(key.fd, ()):
                if want & events:
                    self._wake(gt, seq, True)
        return n

    def _update_fd(self, fd: int) -> None:
        sel = self._selector_of()
        mask = 0
        for _, _, want in self._io.get(fd, ()):
            mask |= want
        try:
            registered = sel.get_key(fd).events
        except KeyError:
            registered = 0
        if mask == registered:
            return
        if not registered:
            sel.register(fd, mask)
        elif not mask:
            sel.unregister(fd)
        else:
            sel.modify(fd, mask)

    def _watch_core_io(self) -> None:
        """Idle with threads parked in the C core's reactor (wr_io.h): the selector watches its one descriptor."""
        if self._core_io_fd == -1:
            assert self._native.ptr is not None
            fd = int(lib.wr_api_io_fd(self._native.ptr))
            if fd < 0:
                self._core_io_fd = _CORE_IO_POLLED  # none to watch: _poll looks at the core itself
                return
            self._core_io_fd = fd
            self._selector_of().register(fd, selectors.EVENT_READ)

    def _ensure_wakeup_pipe(self) -> None:
        if self._wakeup_fds is not None:
            return
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self._owned_fds += (r, w)
        self._selector_of().register(r, selectors.EVENT_READ)
        self._wakeup_fds = (r, w)

    def _selector_of(self) -> selectors.BaseSelector:
        sel = self._selector
        if sel is None:
            sel = self._selector = selectors.DefaultSelector()
            weakref.finalize(self, _close_fds, sel, self._owned_fds)
        return sel
