"""Record and replay: a compact, versioned file of one deterministic run, and its exact reproduction.

A recording holds what a replay needs and what it checks against:

  header     format version, the program's SHA-256, argv, env, the Schedule;
  schedule   every slice: the thread started (its id: the budget is the
             schedule's to draw), then how it stopped: why, the units it ran
             (less its budget when preempted: a few units over at most), and
             where (function index, byte offset; none at an exit), and the
             thread's id last when it is not the one started last (a thread
             killed at the end). Version 2
             keeps it to a few bytes a decision once compressed;
  calls      every WASI call in order: thread, name, where it was called
             from, the waits it made (sleeps, yields), its result, the bytes
             it wrote into guest memory, its exit (proc_exit) or error, and a
             CRC of what it wrote to stdout or stderr;
  end        exit code, output digest, units run.

Everything that came from outside (clock readings, random bytes, stdin and
file reads, directory listings, file metadata, any WASI result) is in
`calls`. A replay runs the program again under the recorded Schedule but
answers every WASI call from the recording instead of the host (re-issuing
its sleeps and yields so the schedule is the same, and writing recorded
output to stdout/stderr again); host functions that are not WASI calls
(wasi-threads' thread-spawn) run for real. It checks every slice and every
call against the recording and stops at the first difference with a
Divergence that says where: thread, function, byte offset, what was expected.

File: the line `WRREC <version>\\n`, then zlib-compressed JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from ._ffi import lib
from .backtrace import backtrace_frames
from .errors import WasmroutinesError
from .observe import InstructionCounter, NullObserver, StopReason

if TYPE_CHECKING:
    from .greenthread import GreenThread
    from .scheduler import Scheduler

__all__ = ["RECORD_VERSION", "Divergence", "Recorder", "Recording", "Replayer", "module_digest"]

RECORD_VERSION = 2
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
        return _MAGIC + f" {RECORD_VERSION}\n".encode() + zlib.compress(body, 9)

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            f.write(self.dumps())

    @classmethod
    def loads(cls, data: bytes) -> Recording:
        line, _, body = data.partition(b"\n")
        parts = line.split()
        if len(parts) != 2 or parts[0] != _MAGIC:
            raise ValueError("not a wasmroutines recording")
        if parts[1] != str(RECORD_VERSION).encode():
            raise ValueError(
                f"recording format version {parts[1].decode(errors='replace')}: this wasmroutines reads version "
                f"{RECORD_VERSION} only (record the run again with this version)"
            )
        doc = json.loads(zlib.decompress(body))
        return cls(doc["header"], doc["schedule"], doc["calls"], doc["end"])

    @classmethod
    def load(cls, path: str) -> Recording:
        with open(path, "rb") as f:
            return cls.loads(f.read())


# ---- where a thread is ----


def _where(thread: GreenThread, names: dict[str, str] | None = None) -> list[int]:
    """[function index, byte offset] of a suspended thread's innermost wasm frame; [] outside wasm.

    With `names`, the function's name (when it has one) is added to it, by index.
    """
    t = thread._wr_thread
    if t is None or not lib.wr_api_thread_depth(t):
        return []
    lib.wr_api_thread_capture_backtrace(t)
    frames = backtrace_frames(t)
    if not frames:
        return []
    f = frames[0]
    if names is not None and f.func_name is not None:
        names.setdefault(str(f.func_index), f.func_name)
    return [f.func_index, f.offset]


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
    WASI imports and wrap its Waiter with `wrap_waiter` once the WASI state
    exists (`bind_state`).
    """

    def __init__(self, scheduler: Scheduler, counter: InstructionCounter, header: dict[str, Any]) -> None:
        self._sched = scheduler
        self._counter = counter
        self.recording = Recording(dict(header, version=RECORD_VERSION, names={}))
        self._names: dict[str, str] = self.recording.header["names"]
        self._slice_start = 0
        self._budget = 0
        self._running: int | None = None
        self._state: Any = None
        self._active: dict[int, tuple[dict[str, Any], list[tuple[int, bytes]]]] = {}

    # ---- observer ----

    def started(self, thread: GreenThread, budget: int) -> None:
        self._slice_start = self._counter.total
        self._budget = budget
        self._running = thread.id
        self.recording.schedule.append(thread.id)

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        units = self._counter.total - self._slice_start
        where = _where(thread, self._names) if why != "exit" else []
        self.recording.schedule.append(_stop_entry(thread, why, units, self._budget, where, self._running))

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
            try:
                result = host(*args)
            except WasiExit as e:
                rec["x"] = e.code
                raise
            except GreenletExit:
                raise  # killed mid-call (the program ended): left unfinished, as a replay will find it
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
            return result

        recorded.__name__ = name
        return recorded

    def _waited(self, kind: str, value: int | None) -> tuple[Any, Any]:
        """A wait starts in the current thread's call: log it; hide the call's touched list meanwhile."""
        active = self._active.get(self._sched.current.id)
        if active is not None:
            active[0]["w"].append([kind] if value is None else [kind, value])
        mem = self._state.mem
        saved = mem.touched
        mem.touched = None
        return mem, saved

    def finish(self, exit_code: int | None, digest: str, units: int) -> Recording:
        self.recording.end = {"exit": exit_code, "output": digest, "units": units}
        return self.recording


class _RecordingWaiter:
    """Wraps a WASI Waiter: logs sleeps and yields into the running call's record."""

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
            self._inner.yield_()
        finally:
            mem.touched = saved

    def sleep_until(self, deadline: int) -> None:
        mem, saved = self._rec._waited("s", deadline)
        try:
            self._inner.sleep_until(deadline)
        finally:
            mem.touched = saved

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        if readable or writable:
            self._inner.wait(readable, writable, deadline)  # instant in deterministic runs: nothing to replay
            return
        if deadline is not None:
            self.sleep_until(deadline)


# ---- replaying ----


class Replayer(NullObserver):
    """Replays a Recording: checks every slice, answers every WASI call from it, raises Divergence on a difference.

    Install it after the InstructionCounter and give `interpose` to the WASI
    imports; `bind_state` gives it the guest memory. Output the program writes
    to stdout/stderr goes to `stdout`/`stderr` (binary streams or bytearrays).
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
        self._state: Any = None
        self._names: dict[str, str] = recording.header.get("names", {})
        self._out = {1: stdout, 2: stderr}
        self.diverged: Divergence | None = None

    def _diverge(self, div: Divergence) -> None:
        """Stop the replay. Never raised here (this runs in the middle of a switch): the root raises it
        at its next switch (as Scheduler.interrupt does), the next replayed call at once, check_end at the end."""
        if self.diverged is None:
            self.diverged = div
            if self._sched._abort is None:
                self._sched._abort = div
                self._sched._sync_core()

    # ---- observer: the slices ----

    def started(self, thread: GreenThread, budget: int) -> None:
        self._slice_start = self._counter.total
        self._budget = budget
        self._running = thread.id
        if self.diverged is not None:
            return
        exp = self._next_schedule()
        if exp != thread.id:
            self._diverge(
                Divergence(
                    f"replay diverged at scheduling decision {self._pos}: the recording runs "
                    f"{_expect_slice(exp)}, the replay picked thread {thread.id} for {budget} units "
                    f"({_where_text(thread)})",
                    thread=thread.id,
                )
            )

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        if self.diverged is not None:
            return
        units = self._counter.total - self._slice_start
        where = _where(thread) if why != "exit" else []
        got = _stop_entry(thread, why, units, self._budget, where, self._running)
        exp = self._next_schedule()
        if exp != got:
            exp_units = exp[1] + self._budget if isinstance(exp, list) and exp[0] == _WHY["preempted"] else None
            self._diverge(
                Divergence(
                    f"replay diverged at scheduling decision {self._pos}: {_thread_name(thread)} stopped "
                    f"({why}) after {units} units {_where_text(thread, where)}; the recording has "
                    f"{_expect_stop(exp, self._running, exp_units, self._names)}",
                    thread=thread.id,
                    where=_where_text(thread, where),
                )
            )

    def _next_schedule(self) -> int | list[int] | None:
        if self._pos >= len(self._schedule):
            self._pos += 1
            return None
        item = self._schedule[self._pos]
        self._pos += 1
        return list(item) if isinstance(item, list) else item

    def check_end(self, exit_code: int | None, digest: str) -> None:
        """After the run: it must have ended where and how the recording did."""
        if self.diverged is not None:
            raise self.diverged
        end = self.recording.end
        left = len(self._schedule) - self._pos
        # The last slice of the main thread is never stopped: one start may be left over.
        if left > 1 or (left == 1 and isinstance(self._schedule[-1], list)):
            raise Divergence(f"replay ended early: {left} scheduling decisions of the recording were not reached")
        unused = [r for q in self._calls.values() for r in q]
        if unused:
            first = min(unused, key=lambda r: r["#"])
            raise Divergence(
                f"replay ended before thread {first['t']} made its recorded call {first['n']} "
                f"({_recorded_where(first['at'], self._names)}), call {first['#']} of {len(self.recording.calls)}"
            )
        if end.get("exit") != exit_code:
            raise Divergence(f"replay exited with {exit_code}; the recording exited with {end.get('exit')}")
        if end.get("output") != digest:
            raise Divergence("replay's output differs from the recording's")

    # ---- WASI: answer every call from the recording ----

    def bind_state(self, state: Any) -> None:
        self._state = state

    def interpose(self, module_name: str, name: str, host: Callable[..., Any]) -> Callable[..., Any]:
        from ..bindings.wasi.errors import WasiExit

        def replayed(*args: Any) -> Any:
            sched = self._sched
            gt = sched.current
            if self.diverged is not None:
                raise self.diverged
            queue = self._calls.get(gt.id)
            rec = queue[0] if queue else None
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
            for w in rec["w"]:
                if w[0] == "s":
                    sched.sleep_until(w[1])
                elif w[0] == "y":
                    sched.yield_now()
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
