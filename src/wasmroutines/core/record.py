"""Record and replay: a compact, versioned file of one deterministic run, and its exact reproduction.

A recording holds what a replay needs and what it checks against:

  header     format version, the program's SHA-256, argv, env, the Schedule,
             and for a network run (`run --record --tcplisten`) its listening
             sockets (`network`: "HOST:PORT" each);
  schedule   every slice: the thread started (its id: the budget is the
             schedule's to draw), then how it stopped: why, the units it ran
             (less its budget when preempted: a few units over at most), and
             where (function index, byte offset; none at an exit), and the
             thread's id last when it is not the one started last (a thread
             killed at the end). It keeps to a few bytes a decision once
             compressed;
  calls      every WASI call in order: thread, name, where it was called
             from, the waits it made (sleeps, yields, and in a network run
             its waits for descriptors and how each ended), its result, the
             bytes it wrote into guest memory, its exit (proc_exit) or error,
             and a CRC of what it wrote to stdout or stderr;
  end        exit code, output digest, units run; for a run that was
             interrupted (Ctrl-C, the wall-time limit) what interrupted it
             and the scheduling decision it stopped at (`at`).

Everything that came from outside (clock readings, random bytes, stdin and
file reads, directory listings, file metadata, accepted connections and the
bytes read from them, any WASI result) is in `calls`. A replay runs the
program again under the recorded Schedule but answers every WASI call from
the recording instead of the host (re-issuing its sleeps and yields so the
schedule is the same, and writing recorded output to stdout/stderr again);
host functions that are not WASI calls (wasi-threads' thread-spawn) run for
real. It checks every slice and every call against the recording and stops
at the first difference with a Divergence that says where: thread, function,
byte offset, what was expected.

The network. A seeded run is a function of its seed and its inputs, except
for when a wait for a descriptor ends: that depends on the network. Without
the network a deterministic run's descriptor waits take no time (the whole
run waits: runner.py's InstantIoWaiter), but a server's would then serve one
connection at a time, so a network run parks only the waiting thread, as a
normal run does, and records how each such wait ended: by its deadline (a
timer on the virtual clock, which the replay sets again), or woken by the
descriptor, with where in the run that happened: the scheduling decision
(the schedule's length then), the virtual time, and the wake-up's number
among all of them (several at one point are queued in that order). Time
passes only while every thread waits (determinism.py's NetworkClock). The
replay parks the thread the same way and wakes it at the same point (the
Replayer is its scheduler's Injector, reactor.py): the network is not needed.

An interrupted run is recorded up to where it stopped; its replay ends there
too, with RecordingEnd in the root (runner.py makes that an Outcome whose
`interrupted` says why), instead of diverging for want of a recording.

File: the line `WRREC <version>\\n`, then zlib-compressed JSON. Version 3
added the network waits and the interrupted end; version 4 (the one read)
made sched_yield a slice end rather than a recorded call.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import signal
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from ._ffi import ffi, lib, optional_text
from .backtrace import backtrace_frames
from .clock import VirtualClock
from .errors import WallTimeExceeded, WasmroutinesError
from .observe import (
    FUNC,
    FUNC_INDEX,
    KIND,
    OFFSET,
    RAN,
    STARTED,
    STOPPED,
    THREAD,
    VALUE,
    WHY,
    WHY_NAME,
    InstructionCounter,
    NullObserver,
    StopReason,
    SwitchBatch,
)
from .reactor import TIMED_OUT, io_what

if TYPE_CHECKING:
    from .greenthread import GreenThread
    from .scheduler import Scheduler

__all__ = ["RECORD_VERSION", "Divergence", "Recorder", "Recording", "RecordingEnd", "Replayer", "module_digest"]

RECORD_VERSION = 4
#: What interrupts a run from outside it: its recording ends where it stopped, and so does its replay.
_INTERRUPTS = (KeyboardInterrupt, WallTimeExceeded)
#: The versions this one reads: version 4 changed the schedule of sched_yield (a slice end in C, no recorded call),
#: so earlier recordings would not replay the same run.
_READS = ("4",)
_MAGIC = b"WRREC"
_WHY = {"preempted": 0, "yield": 1, "blocked": 2, "exit": 3}
_WHY_NAME = {v: k for k, v in _WHY.items()}


class Divergence(WasmroutinesError):
    """A replay went a different way than its recording: the program or its input changed.

    `thread` is the green thread id, `func`/`offset` where it was (function
    name or index, byte offset in the module), `expected` and `got` what the
    recording had and what happened.
    """

    def __init__(self, message: str, *, thread: int | None = None, where: str | None = None) -> None:
        self.thread = thread
        self.where = where
        super().__init__(message)


class RecordingEnd(WasmroutinesError):
    """A replay reached the end of a recording whose run was interrupted (Ctrl-C, the wall-time limit): the replay
    ends there too, having reproduced all of it. Raised in the root (the main call); not a failure."""


def module_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Recording:
    """The contents of a recording file (see the module docstring)."""

    header: dict[str, Any]
    schedule: list[int | list[int]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] = field(default_factory=dict)

    def dumps(self) -> bytes:
        doc = {"header": self.header, "schedule": self.schedule, "calls": self.calls, "end": self.end}
        body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        # Level 6: level 9 is a tenth smaller and takes ten times as long (a decision-dense run's whole recording).
        return _MAGIC + f" {RECORD_VERSION}\n".encode() + zlib.compress(body, 6)

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            f.write(self.dumps())

    @classmethod
    def loads(cls, data: bytes) -> Recording:
        line, _, body = data.partition(b"\n")
        parts = line.split()
        if len(parts) != 2 or parts[0] != _MAGIC:
            raise ValueError("not a wasmroutines recording")
        version = parts[1].decode(errors="replace")
        if version not in _READS:
            reads = f"version {_READS[0]}" if len(_READS) == 1 else f"versions {_READS[0]} to {_READS[-1]}"
            raise ValueError(
                f"recording format version {version}: this wasmroutines reads {reads} only "
                "(record the run again with this version)"
            )
        doc = json.loads(zlib.decompress(body))
        return cls(doc["header"], doc["schedule"], doc["calls"], doc["end"])

    @classmethod
    def load(cls, path: str) -> Recording:
        with open(path, "rb") as f:
            return cls.loads(f.read())


# ---- where a thread is ----

_FUNC_OUT = ffi.new("wr_func **")
_OFFSET_OUT = ffi.new("uint32_t *")


def _where(thread: GreenThread, names: dict[str, str] | None = None) -> list[int]:
    """[function index, byte offset] of a suspended thread's innermost wasm frame; [] outside wasm.

    With `names`, the function's name (when it has one) is added to it, by index.
    """
    t = thread._wr_thread
    if t is None or not lib.wr_api_thread_depth(t):
        return []
    lib.wr_api_thread_capture_backtrace(t)
    if not lib.wr_api_thread_backtrace_len(t):
        return []
    # Only the innermost frame (backtrace_frames would read every frame's names): this runs at every WASI call.
    lib.wr_api_thread_backtrace(t, 0, _FUNC_OUT, _OFFSET_OUT)
    func = _FUNC_OUT[0]
    index = int(lib.wr_api_func_index(func))
    if names is not None and str(index) not in names:
        name = optional_text(lib.wr_api_func_name(func))
        if name is not None:
            names[str(index)] = name
    return [index, int(_OFFSET_OUT[0])]


def _event_where(batch: SwitchBatch, ev: tuple[int, ...], names: dict[str, str] | None = None) -> list[int]:
    """_where of the thread of a switch the C core made, when it was made (observe.py): the same list."""
    if not ev[FUNC]:
        return []
    if names is not None:
        name = batch.func_name(ev)
        if name is not None:
            names.setdefault(str(ev[FUNC_INDEX]), name)
    return [ev[FUNC_INDEX], ev[OFFSET]]


def _event_where_text(batch: SwitchBatch, ev: tuple[int, ...]) -> str:
    """_where_text of the thread of a switch the C core made, when it was made."""
    if not ev[FUNC]:
        return "outside wasm"
    return f"in {batch.func_name(ev) or f'function {ev[FUNC_INDEX]}'} at offset {ev[OFFSET]:#x}"


def _where_text(thread: GreenThread, where: list[int] | None = None) -> str:
    if where is None:
        where = _where(thread)
    if not where:
        return "outside wasm"
    t = thread._wr_thread
    name = None
    if t is not None and lib.wr_api_thread_depth(t):
        frames = backtrace_frames(t)
        if frames and frames[0].func_index == where[0]:
            name = frames[0].func_name
    return f"in {name or f'function {where[0]}'} at offset {where[1]:#x}"


def _recorded_where(where: list[int], names: dict[str, str] | None = None) -> str:
    if not where:
        return "outside wasm"
    name = (names or {}).get(str(where[0])) or f"function {where[0]}"
    return f"{name} at offset {where[1]:#x}"


def _thread_name(thread: GreenThread) -> str:
    return f"thread {thread.id}" + (f" ({thread.name})" if thread.name else "")


def _gather(view: memoryview, iovs: int, count: int) -> bytes:
    out = bytearray()
    for i in range(count):
        base = iovs + 8 * i
        buf = int.from_bytes(view[base : base + 4], "little")
        n = int.from_bytes(view[base + 4 : base + 8], "little")
        out += view[buf : buf + n]
    return bytes(out)


def _diff(view: memoryview, touched: list[tuple[int, bytes]]) -> list[list[Any]]:
    """The bytes a call changed: (address, base64) per changed run within the regions it touched."""
    out: list[list[Any]] = []
    for addr, before in touched:
        after = bytes(view[addr : addr + len(before)])
        if after == before:
            continue
        lo = 0
        hi = len(after)
        while lo < hi and after[lo] == before[lo]:
            lo += 1
        while hi > lo and after[hi - 1] == before[hi - 1]:
            hi -= 1
        out.append([addr + lo, base64.b64encode(after[lo:hi]).decode()])
    return out


# ---- recording ----


class Recorder(NullObserver):
    """Records a run: a scheduler observer (the slices) and a WASI interposer (the calls).

    Install it after the InstructionCounter; give `interpose` to the run's
    WASI imports, and `bind_state` the WASI state once its Waiter is in
    place (it wraps it). It takes the switches the C core makes in batches
    (observe.py), recorded as the same entries. A header with `network` (listening sockets) makes it
    a network run's recorder: descriptor waits park the waiting thread and
    are recorded (see the module docstring); the Waiter it wraps must then
    send sleeps and yields to the scheduler. Tell it `run_ended()` when the
    run ends, before its threads are torn down, and `finish` it after.
    """

    switch_batches = True

    def __init__(self, scheduler: Scheduler, counter: InstructionCounter, header: dict[str, Any]) -> None:
        self._sched = scheduler
        self._counter = counter
        self.recording = Recording(dict(header, version=RECORD_VERSION, names={}))
        self._names: dict[str, str] = self.recording.header["names"]
        self.network = bool(header.get("network"))
        self._slice_start = 0
        self._budget = 0
        self._running: int | None = None
        self._state: Any = None
        self._active: dict[int, tuple[dict[str, Any], list[tuple[int, bytes]]]] = {}
        self._io_waits: dict[int, list[Any]] = {}  # thread id -> its descriptor wait's entry, while it waits
        self._wakes = 0  # descriptor wake-ups so far
        self._end_at: int | None = None  # where an interrupt stopped the run (the schedule's length then)
        self._busy = False  # a recorded WASI call is doing its work (not waiting): a Ctrl-C waits for it
        self._named_funcs: set[int] = set()  # wr_func addresses whose names are in the header (switched)
        self._interrupt_pending = False

    # ---- observer ----

    def started(self, thread: GreenThread, budget: int) -> None:
        self._slice_start = self._counter.total
        self._budget = budget
        self._running = thread.id
        self.recording.schedule.append(thread.id)

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        if why == "exit" and self._end_at is None and isinstance(thread.exception, _INTERRUPTS):
            # The interrupt ended this thread (a replay's thread goes on instead): the run stops before it.
            self._end_at = len(self.recording.schedule)
        units = self._counter.total - self._slice_start
        where = _where(thread, self._names) if why != "exit" else []
        self.recording.schedule.append(_stop_entry(thread, why, units, self._budget, where, self._running))

    def switched(self, batch: SwitchBatch) -> None:
        """The switches the C core made (observe.py): the entries started and stopped would have made."""
        append = self.recording.schedule.append
        origin = self._counter.origin
        names = self._names
        named = self._named_funcs
        start, budget, running = self._slice_start, self._budget, self._running
        # One loop, its state in locals: a decision-dense run hears tens of thousands of events a second.
        for ev in batch.events:
            ran, value, _, func, tid, index, offset, kind, why, _ = ev
            if kind == STARTED:
                start, budget, running = ran - origin, value, tid
                append(tid)
            elif kind == STOPPED:
                units = ran - origin - start
                if why == 0:
                    units -= budget  # preempted: the units past the budget
                if func:
                    if func not in named:
                        named.add(func)
                        name = batch.func_name(ev)
                        if name is not None:
                            names.setdefault(str(index), name)
                    entry = [why, units, index, offset]
                else:
                    entry = [why, units]
                if tid != running:
                    entry.append(tid)
                append(entry)
            elif self._io_waits:
                self._slice_start, self._budget, self._running = start, budget, running
                self.woken(batch.threads[tid])
        self._slice_start, self._budget, self._running = start, budget, running

    def woken(self, thread: GreenThread) -> None:
        entry = self._io_waits.get(thread.id)
        if entry is not None and len(entry) == 4 and thread._wake_value is not TIMED_OUT:
            # A descriptor woke it (Reactor._poll): where in the run, and when, for the replay to wake it there.
            entry.append([len(self.recording.schedule), self._wakes, self._sched.clock.now_ns()])
            self._wakes += 1

    def run_ended(self) -> None:
        """The run is over (its root returned or raised); what follows is tearing down its threads."""
        if self._end_at is None:
            self._end_at = len(self.recording.schedule)

    # ---- WASI ----

    def bind_state(self, state: Any) -> None:
        """The WASI state whose memory the calls write (and whose waiter to watch)."""
        self._state = state
        state.waiter = _RecordingWaiter(state.waiter, self)

    def interpose(self, module_name: str, name: str, host: Callable[..., Any]) -> Callable[..., Any]:
        from greenlet import GreenletExit

        from ..bindings.wasi.errors import WasiExit

        def recorded(*args: Any) -> Any:
            gt = self._sched.current
            rec: dict[str, Any] = {"t": gt.id, "n": name, "at": _where(gt, self._names), "w": []}
            self.recording.calls.append(rec)
            mem = self._state.mem
            prev = mem.touched
            mine: list[tuple[int, bytes]] = []
            mem.touched = mine
            self._active[gt.id] = (rec, mine)
            self._busy = True
            try:
                try:
                    result = host(*args)
                except WasiExit as e:
                    rec["x"] = e.code
                    raise
                except (GreenletExit, *_INTERRUPTS):
                    raise  # killed mid-call (the program ended) or interrupted: left unfinished, as a replay finds it
                except BaseException as e:
                    rec["e"] = f"{type(e).__name__}: {e}"
                    raise
                finally:
                    mem.touched = prev
                    self._active.pop(gt.id, None)
                view = mem.view()
                rec["r"] = result
                writes = _diff(view, mine)
                if writes:
                    rec["m"] = writes
                if name == "fd_write" and args and args[0] in (1, 2):
                    rec["o"] = zlib.crc32(_gather(view, args[1], args[2]))
            finally:
                self._busy = False
            self._deliver_interrupt()  # the call is whole in the recording (its output is out): now
            return result

        recorded.__name__ = name
        return recorded

    def interpose_host(
        self, module_name: str, name: str, host: Callable[..., Any], is_async: bool = False
    ) -> Callable[..., Any]:
        """A host function of the program's own (not WASI): its results are inputs, recorded in the calls as
        "module.name" (its thread, where it was called from, its result or error). What it writes into guest
        memory by itself is not recorded."""
        from greenlet import GreenletExit

        full = f"{module_name}.{name}"

        def recorded(*args: Any) -> Any:
            gt = self._sched.current
            rec: dict[str, Any] = {"t": gt.id, "n": full, "at": _where(gt, self._names), "w": []}
            self.recording.calls.append(rec)
            try:
                result = host(*args)
            except (GreenletExit, *_INTERRUPTS):
                raise  # killed or interrupted mid-call: left unfinished, as a replay finds it
            except BaseException as e:
                rec["e"] = f"{type(e).__name__}: {e}"
                raise
            rec["r"] = _recordable(full, result)
            return result

        recorded.__name__ = name
        return recorded

    @contextlib.contextmanager
    def interrupts_between_calls(self) -> Iterator[None]:
        """While recording (on the main thread, SIGINT's handler Python's own): a Ctrl-C that comes while a WASI
        call does its work takes effect when the call returns or starts to wait, so that a call whose effects are
        out (the output it wrote) is whole in the recording, which its replay then repeats; a second Ctrl-C
        meanwhile takes effect at once. A wait (a thread blocked, the run idle) is interrupted at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            yield
            return

        def on_sigint(signum: int, frame: Any) -> None:
            if self._busy and not self._interrupt_pending:
                self._interrupt_pending = True
                return
            self._interrupt_pending = False
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self._interrupt_pending = False

    def _deliver_interrupt(self) -> None:
        if self._interrupt_pending:
            self._interrupt_pending = False
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def _pause(self) -> Iterator[None]:
        """The current call waits: a Ctrl-C that came while it worked takes effect now, one that comes meanwhile
        at once."""
        busy = self._busy
        self._busy = False
        self._deliver_interrupt()
        try:
            yield
        finally:
            self._busy = busy

    def _waited(self, kind: str, value: int | None) -> tuple[Any, Any]:
        """A wait starts in the current thread's call: log it; hide the call's touched list meanwhile."""
        active = self._active.get(self._sched.current.id)
        if active is not None:
            active[0]["w"].append([kind] if value is None else [kind, value])
        mem = self._state.mem
        saved = mem.touched
        mem.touched = None
        return mem, saved

    def _wait_io(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        """A network run's descriptor wait, in the current thread's call: park the thread (Scheduler.wait_io), and
        log the wait and how it ended: "t" by its deadline, [decision, wake-up number, virtual time] woken by a
        descriptor (noted by `woken`), "e" not a descriptor the scheduler can watch (OSError, raised again);
        nothing when the run ended meanwhile."""
        gt = self._sched.current
        entry: list[Any] = ["i", list(readable), list(writable), deadline]
        active = self._active.get(gt.id)
        if active is not None:
            active[0]["w"].append(entry)
        mem = self._state.mem
        saved = mem.touched
        mem.touched = None
        self._io_waits[gt.id] = entry
        try:
            with self._pause():
                woke = self._sched.wait_io(readable, writable, deadline)
        except OSError:
            entry.append("e")
            raise
        finally:
            self._io_waits.pop(gt.id, None)
            mem.touched = saved
        if not woke:
            entry.append("t")

    def finish(self, exit_code: int | None, digest: str, units: int, interrupted: str | None = None) -> Recording:
        """The end of the recording; `interrupted` says what interrupted the run (a command-line option, Ctrl-C)."""
        end: dict[str, Any] = {"exit": exit_code, "output": digest, "units": units}
        if interrupted is not None:
            end["interrupted"] = interrupted
            end["at"] = self._end_at if self._end_at is not None else len(self.recording.schedule)
        self.recording.end = end
        return self.recording


class _RecordingWaiter:
    """Wraps a WASI Waiter: logs sleeps and yields into the running call's record, and in a network run parks
    the thread for descriptor waits and logs them (Recorder._wait_io)."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self._inner = inner
        self._rec = recorder

    def now(self) -> int:
        return int(self._inner.now())

    def realtime(self) -> int:
        return int(self._inner.realtime())

    def yield_(self) -> None:
        mem, saved = self._rec._waited("y", None)
        try:
            with self._rec._pause():
                self._inner.yield_()
        finally:
            mem.touched = saved

    def sleep_until(self, deadline: int) -> None:
        mem, saved = self._rec._waited("s", deadline)
        try:
            with self._rec._pause():
                self._inner.sleep_until(deadline)
        finally:
            mem.touched = saved

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        if readable or writable:
            if not self._rec.network:
                with self._rec._pause():  # the whole run waits for the input (it takes no virtual time)
                    self._inner.wait(readable, writable, deadline)  # nothing to replay
                return
            try:
                self._rec._wait_io(readable, writable, deadline)
            except OSError:
                from ..bindings.wasi.green import POLL_INTERVAL_NS

                # Not a descriptor the selector takes (a regular file), or closed meanwhile: as SchedulerWaiter
                # does, sleep a little and let the caller recheck (a logged sleep, which the replay repeats).
                step = self.now() + POLL_INTERVAL_NS
                self.sleep_until(step if deadline is None else min(step, deadline))
            return
        if deadline is not None:
            self.sleep_until(deadline)


# ---- replaying ----


class Replayer(NullObserver):
    """Replays a Recording: checks every slice, answers every WASI call from it, raises Divergence on a difference.

    Install it after the InstructionCounter and give `interpose` to the WASI
    imports; `bind_state` gives it the guest memory. Output the program writes
    to stdout/stderr goes to `stdout`/`stderr` (binary streams or bytearrays).
    It is its scheduler's Injector (reactor.py): it wakes the threads whose
    recorded descriptor waits were woken, at the same points. At the end of
    an interrupted recording it stops the run with RecordingEnd (`ended`).
    """

    def __init__(
        self,
        scheduler: Scheduler,
        counter: InstructionCounter,
        recording: Recording,
        stdout: BinaryIO | bytearray | None,
        stderr: BinaryIO | bytearray | None,
    ) -> None:
        self._sched = scheduler
        self._counter = counter
        self.recording = recording
        self._schedule = recording.schedule
        self._pos = 0
        self._slice_start = 0
        self._budget = 0
        self._running: int | None = None  # the thread whose slice the recording and the replay are in
        self._calls: dict[int, deque[dict[str, Any]]] = {}
        for i, rec in enumerate(recording.calls):
            rec["#"] = i
            self._calls.setdefault(rec["t"], deque()).append(rec)
        # Every descriptor wake-up of the recording, by number: (decision, virtual time, thread, call number).
        wakes: dict[int, tuple[int, int, int, int]] = {}
        for rec in recording.calls:
            for w in rec["w"]:
                if w[0] == "i" and len(w) > 4 and isinstance(w[4], list):
                    at, number, t = w[4]
                    wakes[number] = (at, t, rec["t"], rec["#"])
        if sorted(wakes) != list(range(len(wakes))):
            raise ValueError("a broken recording: its network wake-ups are not numbered 0, 1, 2...")
        self._wakes = [wakes[i] for i in range(len(wakes))]
        self._next_wake = 0
        self._waiting: dict[int, tuple[int, GreenThread, int]] = {}  # thread id -> (wake-up, thread, block seq)
        end = recording.end
        self._end_at: int | None = end.get("at") if end.get("interrupted") else None
        self.ended = False  # the replay reached the end of an interrupted recording
        self._state: Any = None
        self._names: dict[str, str] = recording.header.get("names", {})
        self._out = {1: stdout, 2: stderr}
        self.diverged: Divergence | None = None
        scheduler.injector = self

    def _diverge(self, div: Divergence) -> None:
        """Stop the replay. Never raised here (this runs in the middle of a switch): the root raises it
        at its next switch (as Scheduler.interrupt does), the next replayed call at once, check_end at the end."""
        if self.diverged is None:
            self.diverged = div
            if self._sched._abort is None:
                self._sched._abort = div
                self._sched._sync_core()

    # ---- observer: the slices ----

    def _at_end(self) -> bool:
        """The replay has reached the point where the recorded run was interrupted."""
        return self._end_at is not None and self._pos >= self._end_at

    def _end(self) -> None:
        """The end of an interrupted recording: stop the run there (the root raises RecordingEnd)."""
        if not self.ended:
            self.ended = True
            if self._sched._abort is None:
                why = self.recording.end.get("interrupted")
                self._sched._abort = RecordingEnd(f"the replay reached the end of the recording (interrupted: {why})")
                self._sched._sync_core()

    def started(self, thread: GreenThread, budget: int) -> None:
        self._started(thread, budget, self._counter.total, lambda: _where_text(thread))

    def _started(self, thread: GreenThread, budget: int, total: int, where_text: Callable[[], str]) -> None:
        self._slice_start = total
        self._budget = budget
        self._running = thread.id
        if self.diverged is not None or self.ended:
            return
        if self._at_end():
            self._end()  # this slice was never recorded: the thread runs it, but any WASI call parks it
            return
        exp = self._next_schedule()
        if exp != thread.id:
            self._diverge(
                Divergence(
                    f"replay diverged at scheduling decision {self._pos}: the recording runs "
                    f"{_expect_slice(exp)}, the replay picked thread {thread.id} for {budget} units "
                    f"({where_text()})",
                    thread=thread.id,
                )
            )

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        if self.diverged is not None or self.ended:
            return
        where = _where(thread) if why != "exit" else []
        self._stopped(thread, why, self._counter.total, where, lambda: _where_text(thread, where))

    def _stopped(
        self, thread: GreenThread, why: StopReason, total: int, where: list[int], where_text: Callable[[], str]
    ) -> None:
        if self.diverged is not None or self.ended:
            return
        if self._at_end():
            self._end()
            return
        units = total - self._slice_start
        got = _stop_entry(thread, why, units, self._budget, where, self._running)
        exp = self._next_schedule()
        if exp != got:
            exp_units = exp[1] + self._budget if isinstance(exp, list) and exp[0] == _WHY["preempted"] else None
            text = where_text()
            self._diverge(
                Divergence(
                    f"replay diverged at scheduling decision {self._pos}: {_thread_name(thread)} stopped "
                    f"({why}) after {units} units {text}; the recording has "
                    f"{_expect_stop(exp, self._running, exp_units, self._names)}",
                    thread=thread.id,
                    where=text,
                )
            )

    switch_batches = True

    def switched(self, batch: SwitchBatch) -> None:
        """The switches the C core made (observe.py), checked as started and stopped check them, with where the
        threads were then."""
        origin = self._counter.origin
        threads = batch.threads
        for ev in batch.events:
            if self.diverged is not None:
                return  # the run stops at its next switch in Python, as after a divergence found one by one
            kind = ev[KIND]
            thread = threads[ev[THREAD]]
            if kind == STARTED:
                self._started(thread, ev[VALUE], ev[RAN] - origin, lambda ev=ev: _event_where_text(batch, ev))
            elif kind == STOPPED:
                self._stopped(
                    thread,
                    WHY_NAME[ev[WHY]],
                    ev[RAN] - origin,
                    _event_where(batch, ev),
                    lambda ev=ev: _event_where_text(batch, ev),
                )

    def _next_schedule(self) -> int | list[int] | None:
        if self._pos >= len(self._schedule):
            self._pos += 1
            return None
        item = self._schedule[self._pos]
        self._pos += 1
        return list(item) if isinstance(item, list) else item

    def check_end(self, exit_code: int | None, digest: str) -> None:
        """After the run: it must have ended where and how the recording did (or reached the end of an
        interrupted recording)."""
        if self.diverged is not None:
            raise self.diverged
        end = self.recording.end
        left = len(self._schedule) - self._pos
        # The last slice of the main thread is never stopped: one start may be left over. At the end of an
        # interrupted recording what is left is its teardown (the threads killed), which the replay does its own way.
        if not self.ended and (left > 1 or (left == 1 and isinstance(self._schedule[-1], list))):
            raise Divergence(f"replay ended early: {left} scheduling decisions of the recording were not reached")
        unused = [r for q in self._calls.values() for r in q]
        if unused:
            first = min(unused, key=lambda r: r["#"])
            raise Divergence(
                f"replay ended before thread {first['t']} made its recorded call {first['n']} "
                f"({_recorded_where(first['at'], self._names)}), call {first['#']} of {len(self.recording.calls)}"
            )
        if self.ended:
            return  # stopped where the recorded run was interrupted: it neither exited nor ended
        if end.get("exit") != exit_code:
            raise Divergence(f"replay exited with {exit_code}; the recording exited with {end.get('exit')}")
        if end.get("output") != digest:
            raise Divergence("replay's output differs from the recording's")

    def _take(self, gt: GreenThread, name: str) -> dict[str, Any]:
        """The recorded call that `gt` makes now, named `name`, taken off its queue; a Divergence when the
        recording has another (or none)."""
        if self.diverged is not None:
            raise self.diverged
        queue = self._calls.get(gt.id)
        rec = queue[0] if queue else None
        if self.ended or (rec is None and self._at_end()):
            # Past the end of an interrupted recording: the run stops here (the root raises RecordingEnd).
            self._end()
            self._sched._block(gt, "the end of the recording")
            raise RecordingEnd("past the end of the recording")  # never: the run is over first
        if rec is None or rec["n"] != name:
            where = _where_text(gt)
            if rec is None:
                exp = "no more calls for this thread"
            else:
                exp = f"{rec['n']} (call {rec['#']}, from {_recorded_where(rec['at'], self._names)})"
            div = Divergence(
                f"replay diverged: {_thread_name(gt)} called {name} {where}; the recording has {exp}",
                thread=gt.id,
                where=where,
            )
            self.diverged = div
            raise div
        assert queue is not None
        queue.popleft()
        return rec

    def interpose_host(
        self, module_name: str, name: str, host: Callable[..., Any], is_async: bool = False
    ) -> Callable[..., Any]:
        """A host function of the program's own, answered from the recording (`host` is not called). An async
        one parks its thread as the recorded call did, its result then delivered as the recorded one was (in
        call order, at a point the seed decides: aio.py), so the schedule is the recorded one."""
        full = f"{module_name}.{name}"

        def replayed(*args: Any) -> Any:
            gt = self._sched.current
            rec = self._take(gt, full)
            if "r" not in rec and "e" not in rec:
                self._sched._block(gt, f"replay of unfinished {full}")  # as the recorded run left it
                raise Divergence(f"replay: {full} was never meant to return")
            if is_async:
                from .aio import await_only  # asyncio only where a recording has async calls

                outcome = await_only(_recorded_outcome(rec))
            else:
                outcome = _recorded_outcome_now(rec)
            return outcome

        replayed.__name__ = name
        return replayed

    # ---- WASI: answer every call from the recording ----

    def bind_state(self, state: Any) -> None:
        self._state = state

    def interpose(self, module_name: str, name: str, host: Callable[..., Any]) -> Callable[..., Any]:
        from ..bindings.wasi.errors import WasiExit

        def replayed(*args: Any) -> Any:
            sched = self._sched
            gt = sched.current
            rec = self._take(gt, name)
            for w in rec["w"]:
                if w[0] == "s":
                    sched.sleep_until(w[1])
                elif w[0] == "y":
                    sched.yield_now()
                elif w[0] == "i":
                    self._wait_io(gt, rec, w)
            if "r" not in rec and "x" not in rec and "e" not in rec:
                # The recorded run ended while this call was still waiting: wait the same way, forever.
                sched._block(gt, f"replay of unfinished {name}")
                raise Divergence(f"replay: {name} was never meant to return")
            view = self._state.mem.view()
            for addr, data in rec.get("m", ()):
                raw = base64.b64decode(data)
                view[addr : addr + len(raw)] = raw
            if "o" in rec:
                data = _gather(view, args[1], args[2])
                if zlib.crc32(data) != rec["o"]:
                    where = _where_text(gt)
                    div = Divergence(
                        f"replay diverged: {_thread_name(gt)} wrote other bytes to fd {args[0]} than recorded "
                        f"(fd_write {where}, call {rec['#']})",
                        thread=gt.id,
                        where=where,
                    )
                    self.diverged = div
                    raise div
                self._emit(args[0], data)
            if "x" in rec:
                raise WasiExit(rec["x"])
            if "e" in rec:
                raise WasmroutinesError(f"(replayed) {rec['e']}")
            return rec["r"]

        replayed.__name__ = name
        return replayed

    # ---- the network: descriptor waits and their wake-ups ----

    def _wait_io(self, gt: GreenThread, rec: dict[str, Any], w: list[Any]) -> None:
        """Replay a network run's descriptor wait (Recorder._wait_io): park the thread as the recorded run did,
        until the recorded wake-up (injected by `maintain`) or its deadline."""
        end = w[4] if len(w) > 4 else None
        if end == "e":
            return  # the recorded run could not watch the descriptor: its next wait is a logged sleep
        what = io_what(w[1], w[2])
        if isinstance(end, list):
            self._waiting[gt.id] = (end[1], gt, gt._block_seq + 1)
        try:
            value = self._sched.wait_injected(what, w[3])
        finally:
            self._waiting.pop(gt.id, None)
        if isinstance(end, list) and value is TIMED_OUT:
            where = _where_text(gt)
            div = Divergence(
                f"replay diverged: {_thread_name(gt)} waited for {what} in {rec['n']} (call {rec['#']}, {where}) "
                f"until its deadline; in the recording the network woke it at scheduling decision {end[0]}",
                thread=gt.id,
                where=where,
            )
            self._diverge(div)
            raise div

    def maintain(self) -> None:
        """Injector: wake the threads the recording's descriptors woke at this point (scheduling decision and
        virtual time), in the recorded order; a wake-up the replay went past, or whose thread does not wait for
        it, is a divergence."""
        if self.diverged is not None or self.ended:
            return
        wakes = self._wakes
        clock = self._sched.clock
        while self._next_wake < len(wakes):
            at, t, tid, call = wakes[self._next_wake]
            pos, now = self._pos, clock.now_ns()
            if at > pos or (at == pos and t > now):
                return
            waiting = self._waiting.get(tid)
            if at < pos or t < now or waiting is None or waiting[0] != self._next_wake:
                rec = self.recording.calls[call]
                how = "does not wait for it in the replay" if at == pos and t == now else "the replay went past it"
                self._diverge(
                    Divergence(
                        f"replay diverged at scheduling decision {pos}: the recording has the network wake thread "
                        f"{tid} at decision {at} (in {rec['n']}, call {call}, from "
                        f"{_recorded_where(rec['at'], self._names)}), and {how}",
                        thread=tid,
                    )
                )
                return
            self._next_wake += 1
            self._sched._wake(waiting[1], waiting[2], True)

    def idle(self, deadline_ns: int | None) -> bool:
        """Injector: nothing can run. Move the clock to the next recorded wake-up when it comes first (a network
        run's clock moved on while it waited for the network), end the replay at the end of an interrupted
        recording, let the clock jump to `deadline_ns` as in any run, or diverge: the recording ran on from here."""
        if self.diverged is not None or self.ended:
            return True
        if self._at_end():
            self._end()  # the recorded run was interrupted while it waited here
            return True
        pos = self._pos
        if self._next_wake < len(self._wakes):
            at, t, _, _ = self._wakes[self._next_wake]
            # At a deadline's time the timers come first: the recording's clock stopped short of it for a wake-up.
            if at == pos and (deadline_ns is None or t < deadline_ns):
                clock = self._sched.clock
                if isinstance(clock, VirtualClock):
                    clock.advance(max(0, t - clock.now_ns()))
                return True
        if deadline_ns is not None:
            return False
        message = f"replay diverged at scheduling decision {pos}: no thread can run"
        tid = None
        if self._next_wake < len(self._wakes):
            at, _, tid, call = self._wakes[self._next_wake]
            rec = self.recording.calls[call]
            message += (
                f", and the recording's next network wake-up is thread {tid}'s at decision {at} "
                f"(in {rec['n']}, call {call}, from {_recorded_where(rec['at'], self._names)})"
            )
        else:
            message += f"; the recording has {_expect_slice(self._peek_schedule())} next"
        self._diverge(Divergence(message, thread=tid))
        return True

    def _peek_schedule(self) -> int | list[int] | None:
        return self._schedule[self._pos] if self._pos < len(self._schedule) else None

    def _emit(self, fd: int, data: bytes) -> None:
        out = self._out.get(fd)
        if out is None:
            import sys

            stream = sys.stdout if fd == 1 else sys.stderr
            stream.flush()
            stream.buffer.write(data)
            stream.buffer.flush()
        elif isinstance(out, bytearray):
            out += data
        else:
            out.write(data)
            out.flush()


def _stop_entry(
    thread: GreenThread, why: StopReason, units: int, budget: int, where: list[int], running: int | None
) -> list[int]:
    """A stop as a recording keeps it: why; the units run, less the slice's budget when preempted (a few units
    at most past it, which compresses to almost nothing); where; the thread's id when it is not the one started
    last (an odd length says so)."""
    entry = [_WHY[why], units - budget if why == "preempted" else units, *where]
    if thread.id != running:
        entry.append(thread.id)
    return entry


def _expect_slice(exp: int | list[int] | None) -> str:
    if exp is None:
        return "nothing more"
    if isinstance(exp, int):
        return f"thread {exp}"
    return "a stop of a thread"


def _expect_stop(exp: int | list[int] | None, thread: int | None, units: int | None, names: dict[str, str]) -> str:
    if exp is None:
        return "nothing more"
    if isinstance(exp, int):
        return f"thread {exp} starting a slice"
    why = _WHY_NAME.get(exp[0], "?")
    if len(exp) % 2:
        thread = exp[-1]
    where = f"in {_recorded_where(exp[2:4], names)}" if len(exp) >= 4 else "outside wasm"
    return f"thread {thread} stopping ({why}) after {units if units is not None else exp[1]} units {where}"


def _recordable(name: str, value: Any) -> Any:
    """A host function's result as the recording keeps it (JSON: numbers, None, lists of them)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (tuple, list)):
        return [_recordable(name, v) for v in value]
    raise WasmroutinesError(
        f"cannot record the result of host function {name}: {type(value).__name__} is not a number (references "
        "are not inputs a recording can hold)"
    )


def _recorded_outcome_now(rec: dict[str, Any]) -> Any:
    if "e" in rec:
        raise WasmroutinesError(f"(replayed) {rec['e']}")
    return rec["r"]


async def _recorded_outcome(rec: dict[str, Any]) -> Any:
    """An async host call's recorded outcome, as its coroutine (the replayed call parks as the recorded one did)."""
    return _recorded_outcome_now(rec)
