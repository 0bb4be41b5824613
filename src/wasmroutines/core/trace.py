"""A run's timeline in the Chrome Trace Event format: open it in Perfetto (ui.perfetto.dev) or chrome://tracing.

One lane per green thread (pid 1, tid = thread id + 1, named "main",
"wasi thread 3", ...). On each lane:

  "run" slices     complete events ("X") while the thread runs, with the units
                   it ran and why it stopped (preempted, yield, blocked, exit);
  blocked spans    complete events named after what the thread waits on
                   ("futex 0x1f0a8", "sleep", "join thread 2", "fd 0 readable");
  instants         spawn (on the parent's lane), wake, exit, and every host
                   call (category "host", named after the function);
  flow arrows      from a spawn to the child's first slice, from the thread
                   that woke another to the woken thread's next slice.

Time: with `logical=True` (deterministic runs) a timestamp is the number of
budget units run so far by all threads, plus the virtual time that passed
while all slept, drawn as 1 unit = 1 ns; so the same seed gives the same
trace, byte for byte. Otherwise it is real time since the trace began.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit

from .observe import (
    STARTED,
    STOPPED,
    WHY_NAME,
    InstructionCounter,
    NullObserver,
    StopReason,
    SwitchBatch,
)

if TYPE_CHECKING:
    from .greenthread import GreenThread
    from .scheduler import Scheduler

__all__ = ["ChromeTrace"]

_PID = 1  # also written as a literal in the frequent events' JSON (ChromeTrace._end_run and others)


class ChromeTrace(NullObserver):
    """A scheduler observer that collects Chrome Trace Events; `write(path)` or `to_json()` at the end.

    It takes the switches the C core makes in batches (observe.py), with the same result."""

    switch_batches = True

    def __init__(
        self, scheduler: Scheduler, counter: InstructionCounter, *, logical: bool, name: str = "wasmroutines"
    ) -> None:
        self._sched = scheduler
        self._counter = counter
        self._logical = logical
        self._clock0 = scheduler.clock.now_ns()
        self._wall0 = time.monotonic_ns()
        #: The events so far, each as its JSON text (what json.dumps makes of it, compact): rendered as they come,
        #: since a decision-dense run makes several per decision and encoding dicts at the end cost more than the run.
        self.events: list[str] = [
            _dumps({"ph": "M", "name": "process_name", "pid": _PID, "tid": 0, "args": {"name": name}})
        ]
        self._named: set[int] = set()
        self._run_start: dict[int, tuple[int, int]] = {}  # thread id -> (ns, units at start)
        self._blocked: dict[int, tuple[int, str]] = {}  # thread id -> (ns, what)
        self._flows_in: dict[int, list[int]] = {}  # thread id -> flow ids to finish at its next slice
        self._next_flow = 1
        self._closed = False

    # ---- time and lanes ----

    def _ts(self) -> int:
        """Now, in ns since the trace began (events carry it as microseconds, Chrome's unit)."""
        if self._logical:
            return self._counter.now() + (self._sched.clock.now_ns() - self._clock0)
        return time.monotonic_ns() - self._wall0

    def _lane(self, thread: GreenThread) -> int:
        tid = thread.id + 1
        if thread.id not in self._named:
            self._named.add(thread.id)
            name = thread.name or f"thread {thread.id}"
            if thread.id and thread.name:
                name = f"{thread.name} (#{thread.id})"
            self.events.append(
                _dumps({"ph": "M", "name": "thread_name", "pid": _PID, "tid": tid, "args": {"name": name}})
            )
            self.events.append(
                _dumps(
                    {"ph": "M", "name": "thread_sort_index", "pid": _PID, "tid": tid, "args": {"sort_index": thread.id}}
                )
            )
        return tid

    def _instant(self, thread: GreenThread, name: str, cat: str, ts: int, args: dict[str, Any] | None = None) -> None:
        tid = self._lane(thread)
        end = f',"args":{_dumps(args)}}}' if args else "}"
        self.events.append(
            f'{{"ph":"i","s":"t","name":{_str(name)},"cat":{_str(cat)},"pid":1,"tid":{tid},"ts":{_us(ts)}{end}'
        )

    def _flow_from(self, thread: GreenThread, to: GreenThread, name: str, ts: int) -> None:
        fid = self._next_flow
        self._next_flow += 1
        tid = self._lane(thread)
        self.events.append(
            f'{{"ph":"s","id":{fid},"name":{_str(name)},"cat":"flow","pid":1,"tid":{tid},"ts":{_us(ts)}}}'
        )
        self._flows_in.setdefault(to.id, []).append(fid)

    def _end_blocked(self, thread: GreenThread, ts: int) -> None:
        span = self._blocked.pop(thread.id, None)
        if span is not None:
            start, what = span
            tid = self._lane(thread)
            self.events.append(
                f'{{"ph":"X","name":{_str(what)},"cat":"blocked","pid":1,"tid":{tid},'
                f'"ts":{_us(start)},"dur":{_us(ts - start)}}}'
            )

    # ---- observer ----

    def spawned(self, thread: GreenThread, parent: GreenThread) -> None:
        ts = self._ts()
        self._lane(thread)
        self._instant(parent, "spawn", "thread", ts, {"thread": thread.id})
        self._flow_from(parent, thread, "spawn", ts)

    def started(self, thread: GreenThread, budget: int) -> None:
        self._started(thread, self._ts(), self._counter.now())

    def _started(self, thread: GreenThread, ts: int, units: int) -> None:
        self._end_blocked(thread, ts)
        tid = self._lane(thread)
        for fid in self._flows_in.pop(thread.id, ()):
            self.events.append(
                f'{{"ph":"f","bp":"e","id":{fid},"name":"wake","cat":"flow","pid":1,"tid":{tid},"ts":{_us(ts)}}}'
            )
        self._run_start[thread.id] = (ts, units)

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        self._stopped(thread, why, self._ts(), self._counter.now(), thread.blocked_on)

    def _stopped(self, thread: GreenThread, why: StopReason, ts: int, units: int, blocked_on: str | None) -> None:
        self._end_run(thread, ts, why, units, blocked_on)
        if why == "blocked":
            self._blocked[thread.id] = (ts, blocked_on or "blocked")
        elif why == "exit":
            exc = thread.exception
            if exc is None:
                self._instant(thread, "exit", "thread", ts)
            elif isinstance(exc, GreenletExit):
                self._instant(thread, "killed", "thread", ts, {"why": "the program ended"})
            else:
                self._instant(thread, "exit", "thread", ts, {"exception": repr(exc)})

    def mark(self, name: str, args: dict[str, Any] | None = None) -> None:
        """A global instant at the current time (the runner marks how a failed run ended)."""
        ev: dict[str, Any] = {"ph": "i", "s": "g", "name": name, "cat": "run", "pid": _PID, "tid": 0}
        ev["ts"] = _us(self._ts())
        if args:
            ev["args"] = args
        self.events.append(_dumps(ev))

    def _end_run(self, thread: GreenThread, ts: int, why: str, units: int, blocked_on: str | None = None) -> None:
        start = self._run_start.pop(thread.id, None)
        if start is None:
            return
        on = f',"on":{_str(blocked_on)}' if why == "blocked" and blocked_on else ""
        tid = self._lane(thread)
        self.events.append(
            f'{{"ph":"X","name":"run","cat":"run","pid":1,"tid":{tid},"ts":{_us(start[0])},"dur":{_us(ts - start[0])},'
            f'"args":{{"stop":{_str(why)},"units":{units - start[1]}{on}}}}}'
        )

    def woken(self, thread: GreenThread) -> None:
        self._woken(thread, self._sched.current, self._ts())

    def _woken(self, thread: GreenThread, waker: GreenThread, ts: int) -> None:
        self._end_blocked(thread, ts)
        self._instant(thread, "wake", "thread", ts)
        if waker is not thread and waker.id in self._run_start:
            self._flow_from(waker, thread, "wake", ts)

    def switched(self, batch: SwitchBatch) -> None:
        """The switches the C core made (observe.py), heard as Python would have told them one by one: what
        _started, _stopped and _woken do, in one loop with its state in locals (a decision-dense run hears
        about 10^6 events a second)."""
        origin = self._counter.origin
        logical = self._logical
        # Virtual time does not move while the core switches threads (it idles in Python when observed).
        shift = self._sched.clock.now_ns() - self._clock0 - origin if logical else 0
        wall0 = self._wall0
        threads = batch.threads
        waker = batch.current
        append = self.events.append
        named, run_start, blocked, flows_in = self._named, self._run_start, self._blocked, self._flows_in
        for ev in batch.events:
            ran, _, mono, _, hid, _, _, kind, why, _ = ev
            thread = threads[hid]
            ts = ran + shift if logical else (mono or time.monotonic_ns()) - wall0
            tid = hid + 1
            if kind != STOPPED:  # started or woken: its lane, and a blocked span ends (_end_blocked)
                if hid not in named:
                    self._lane(thread)
                span = blocked.pop(hid, None)
                if span is not None:
                    t0 = span[0]
                    append(
                        f'{{"ph":"X","name":{_str(span[1])},"cat":"blocked","pid":1,"tid":{tid},'
                        f'"ts":{_us(t0)},"dur":{_us(ts - t0)}}}'
                    )
            if kind == STARTED:
                fids = flows_in.pop(hid, None)
                if fids:
                    for fid in fids:
                        append(
                            f'{{"ph":"f","bp":"e","id":{fid},"name":"wake","cat":"flow","pid":1,"tid":{tid},"ts":{_us(ts)}}}'
                        )
                run_start[hid] = (ts, ran - origin)
                waker = thread
            elif kind == STOPPED:
                on = batch.blocked_on(ev) if why else None  # why: 0 preempted, else blocked
                self._end_run(thread, ts, WHY_NAME[why], ran - origin, on)
                if why:
                    blocked[hid] = (ts, on or "blocked")
            else:
                append(f'{{"ph":"i","s":"t","name":"wake","cat":"thread","pid":1,"tid":{tid},"ts":{_us(ts)}}}')
                if waker is not thread and waker.id in run_start:
                    self._flow_from(waker, thread, "wake", ts)

    def hostcall(self, thread: GreenThread, func: Callable[..., Any]) -> None:
        self._instant(thread, getattr(func, "__name__", "host call"), "host", self._ts())

    # ---- output ----

    def close(self) -> None:
        """End what is still open (the main thread's last slice, threads left blocked) at the current time."""
        if self._closed:
            return
        self._closed = True
        ts = self._ts()
        units = self._counter.now()
        for tid in list(self._run_start):
            gt = _Lane(tid)
            self._end_run(gt, ts, "end", units)  # type: ignore[arg-type]
        for tid in list(self._blocked):
            self._end_blocked(_Lane(tid), ts)  # type: ignore[arg-type]

    def to_json(self) -> str:
        self.close()
        clock = (
            "logical: 1 budget unit (about one wasm instruction) = 1 ns, plus virtual time"
            if self._logical
            else "real time"
        )
        # As json.dumps of {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {"time": clock}}.
        tail = _dumps({"displayTimeUnit": "ns", "otherData": {"time": clock}})
        return '{"traceEvents":[' + ",".join(self.events) + "]," + tail[1:]

    def write(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())
            f.write("\n")


def _dumps(value: Any) -> str:
    """JSON text as the trace writes it: compact, ASCII."""
    return json.dumps(value, separators=(",", ":"))


_strings: dict[str, str] = {}


def _str(text: str) -> str:
    """A string as JSON text; the few a trace repeats (names, what threads wait on) are encoded once."""
    out = _strings.get(text)
    if out is None:
        out = json.dumps(text)
        if len(_strings) < 4096:
            _strings[text] = out
    return out


def _us(ns: int) -> float | int:
    """ns as Chrome's microseconds: an int when whole, else a float with exact decimals (no binary noise)."""
    if ns % 1000 == 0:
        return ns // 1000
    return ns / 1000  # int / int rounds the exact quotient once: the float nearest the decimal ns/1000 says


class _Lane:
    """Stands for a thread by id when only its lane is needed (closing at the end)."""

    def __init__(self, tid: int) -> None:
        self.id = tid
        self.name = None
        self.blocked_on = None
