"""One run of a WASI program (wasi-threads or not) under a controlled scheduler, and how it ended.

`run_program(program, schedule, ...)` makes a fresh Store, links WASI (and
wasi-threads when the module imports `thread-spawn`), runs `_start` and
returns an Outcome: the exit code, the output, and a Failure when the run
deadlocked, trapped, exited non-zero, or ran past its instruction budget
(a hang). With a Schedule the run is deterministic (determinism.py): the
Schedule's policy, a DeterministicClock, seeded random_get, and waits for
file descriptors that take no virtual time. Without one it is the default
fast mode (fair policy, real time).

Extra observers (a trace, a recorder) and a WASI interposer (record/replay)
plug in through `RunHooks`. Every failure carries the stacks of all threads
as they were when it happened.

With listening sockets (`listeners=`, `run --tcplisten`) a seeded run must
be recorded: when its waits for the network end depends on the network, so
only the recording can say (record.py, "The network"). Its replay needs no
sockets. A recorded run that is interrupted keeps its recording: a Ctrl-C
raises RunInterrupted, a KeyboardInterrupt that carries the Outcome.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import inspect
import io
import os
import shutil
import socket
import tarfile
import tempfile
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..bindings.program import instantiate as instantiate_program
from ..bindings.wasi import WasiConfig, WasiEnvironment, WasiExit
from ..bindings.wasi.green import SchedulerWaiter
from ..bindings.wasi.registry import PREVIEW1, bind
from ..bindings.wasi.runtime import _poll
from ..core.determinism import DeterministicClock, NetworkClock, Schedule, SeededBytes
from ..core.errors import (
    Deadlock,
    Frame,
    OutOfFuel,
    ResourceLimitError,
    StackExhausted,
    ThreadReport,
    Trap,
    WallTimeExceeded,
    WasmroutinesError,
    blocked_text,
    reports_lines,
)
from ..core.function import Function
from ..core.greenthread import GreenThread
from ..core.memory import PAGE_SIZE
from ..core.module import Module, read_wasm
from ..core.observe import InstructionCounter, NullObserver, Observers, SchedulerObserver, StopReason
from ..core.record import Recorder, Recording, RecordingEnd, Replayer, module_digest
from ..core.scheduler import Scheduler
from ..core.store import Store
from ..core.trace import ChromeTrace
from ..core.types import FuncType

__all__ = [
    "DEFAULT_FUEL",
    "Failure",
    "Hang",
    "LIMIT_FLAGS",
    "Outcome",
    "Program",
    "RunHooks",
    "RunInterrupted",
    "limit_args",
    "run_function",
    "run_program",
    "run_program_async",
    "thread_reports",
]

#: The hang budget of `run_program` and `run_function`, and the explorer's default: a run that executes more
#: instructions than this (budget units, about one per wasm instruction, all threads together) ends as a
#: failure of kind "hang". The explorer raises it to 50 times its first run's count when that run ends within
#: it (never after a hang). Pass `fuel=` (`--hang-fuel` on the command line) for a longer run, None for none.
DEFAULT_FUEL = 50_000_000

_WASI_MODULES = ("wasi_snapshot_preview1", "wasi_unstable")


class Hang(WasmroutinesError):
    """A run went past its hang budget: a livelock, an endless loop, or a budget set too low for the run."""

    def __init__(self, budget: int, threads: Sequence[ThreadReport]) -> None:
        self.budget = budget
        self.threads = list(threads)
        super().__init__(
            f"no end within the hang budget of {budget:,} instructions (all threads together): a livelock, "
            "an endless loop, or a run that needs more (raise it with --hang-fuel N, or fuel=N from Python)"
        )


#: The flag that sets each limit, by the name errors give it (`.limit`: the Store keyword, or Module's max_size).
LIMIT_FLAGS = {
    "max_memory_pages": "--max-memory",
    "max_table_elements": "--max-table-elements",
    "max_threads": "--max-threads",
    "max_call_depth": "--max-call-depth",
    "stack_slots": "--max-stack-slots",
    "max_stack_bytes": "--max-stack",
    "fuel": "--fuel",
    "max_wall_time": "--max-wall-time",
    "max_module_size": "--max-module-size",
    "max_size": "--max-module-size",
}


def limit_args(limits: dict[str, Any]) -> list[str]:
    """The `wasmroutines run` options that give a store `limits` (Store keywords), as in a replay command."""
    argv: list[str] = []
    for name, value in limits.items():
        if name == "max_memory_pages":
            value *= PAGE_SIZE
        argv += [LIMIT_FLAGS[name], str(value)]
    return argv


@dataclass
class Program:
    """A WASI command and what it is given. `stdin` None inherits the process's stdin (bytes feed it).

    `limits` are Store keywords (max_memory_pages=, max_threads=, fuel=, ...) every run's store gets.
    `wasm` is the binary (Program.load keeps it): a Program is sent to another process as its binary and compiled
    again there, once per process, and its `dirs` as packed copies (see `__reduce__`).
    """

    module: Module
    path: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    dirs: list[tuple[str, str]] = field(default_factory=list)
    stdin: bytes | None = b""
    digest: str = ""  # SHA-256 of the binary, for recordings
    limits: dict[str, Any] = field(default_factory=dict)
    wasm: bytes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: str, args: Sequence[str] = (), *, max_size: int | None = None, **kwargs: Any) -> Program:
        """Load the program at `path` (binary or text); `max_size` bounds the binary (ResourceLimitError)."""
        data = read_wasm(path, max_size)
        return cls(Module(data), path, list(args), digest=module_digest(data), wasm=bytes(data), **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # A Module is compiled code in C memory, which cannot be pickled: a Program travels to an executor's worker
        # as its binary (the worker needs no copy of the file: no shared filesystem assumed) and is compiled there.
        if self.wasm is None:
            raise TypeError(
                f"cannot send {self.path} to another process: this Program was made from a Module, not from its "
                "binary (make it with Program.load, or give wasm=)"
            )
        # The preopened folders go too, packed (no shared filesystem assumed): a snapshot, which is all an
        # exploration can rely on anyway (runs that write see each other's writes only within one process).
        dirs = tuple(self.dirs)
        cached = self.__dict__.get("_packed")  # packed once: every task carries the Program
        if cached is None or cached[0] != dirs:
            cached = self.__dict__["_packed"] = (dirs, _pack_dirs(self.dirs))
        packed = cached[1]
        fields = (self.path, self.args, self.env, packed, self.stdin, self.digest, self.limits)
        return (_program_from_binary, (self.wasm, *fields))


#: Modules compiled from Programs received from another process, by binary: each batch of runs an executor's worker
#: receives carries the Program again, and compiling it once per process is enough. A few programs at most.
_COMPILED: dict[bytes, Module] = {}
_COMPILED_MAX = 4


#: The preopened folders a Program sent to another process takes along, packed, all together at most (bytes).
MAX_SENT_DIRS = 16 << 20


def _pack_dirs(dirs: list[tuple[str, str]]) -> list[tuple[bytes, str]]:
    """Each preopened folder as a tar archive of its contents, with its guest path."""
    packed = []
    total = 0
    for host, guest in dirs:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(host, arcname=".")
        total += buffer.tell()
        if total > MAX_SENT_DIRS:
            raise ValueError(
                f"the preopened folders ({host} and those before it) are over {MAX_SENT_DIRS >> 20} MiB: too big to "
                "send with every batch of runs; explore where they are"
            )
        packed.append((buffer.getvalue(), guest))
    return packed


#: Folders unpacked in this process, by archive: the runs of every batch that brings the same one share it.
_UNPACKED: dict[bytes, str] = {}


def _unpack_dirs(packed: list[tuple[bytes, str]]) -> list[tuple[str, str]]:
    dirs = []
    for archive, guest in packed:
        key = hashlib.sha256(archive).digest()
        host = _UNPACKED.get(key)
        if host is None or not os.path.isdir(host):
            host = tempfile.mkdtemp(prefix="wasmroutines-dir-")
            atexit.register(shutil.rmtree, host, True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(host, filter="data")
            _UNPACKED[key] = host
        dirs.append((host, guest))
    return dirs


def _program_from_binary(
    wasm: bytes,
    path: str,
    args: list[str],
    env: dict[str, str],
    packed: list[tuple[bytes, str]],
    *fields: Any,
) -> Program:
    key = hashlib.sha256(wasm).digest()
    module = _COMPILED.pop(key, None)
    if module is None:
        module = Module(wasm)
        while len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))  # the least recently used: dicts keep insertion order
    _COMPILED[key] = module
    return Program(module, path, args, env, _unpack_dirs(packed), *fields, wasm=wasm)


@dataclass(frozen=True)
class Failure:
    """How a run went wrong. `kind`: deadlock, trap, exit (non-zero), hang, output (differs), limit
    (over one of the store's limits: `limit` names it, as the error's `.limit` does), error, crash (the run
    killed the process running it, twice, the second time alone: only where an executor runs it elsewhere).

    `threads` are the stacks of every thread when it happened; `thread` the
    one that trapped (when known). `key` identifies the bug for deduplication.
    """

    kind: str
    message: str
    threads: tuple[ThreadReport, ...] = ()
    thread: int | None = None
    limit: str | None = None

    @property
    def key(self) -> str:
        """What failed, for grouping runs into one failure.

        Never where bystander threads happened to be, nor thread ids, addresses or how many threads
        there were: those vary from schedule to schedule while the bug stays the same. A trap or a
        limit is its message and where the failing thread was; a deadlock the set of wait sites; a
        hang just a hang (where the budget cuts a livelock off is arbitrary, and so is the budget).
        """
        if self.kind in ("output", "exit", "error"):
            return f"{self.kind}: {self.message}"
        if self.kind in ("hang", "crash"):
            return self.kind  # a crash's message names no place: the process died with the run's stacks
        if self.kind == "deadlock":
            # A set: how many threads wait at one site depends on how many got there before the rest blocked.
            sites = sorted({(t.state, _blocked_kind(t.blocked_on), _site(t.frames)) for t in self.threads})
            return f"deadlock: {sites}"
        first = self.message.splitlines()[0] if self.message else ""
        culprit = self._culprit()
        where = _site(culprit.frames) if culprit is not None else ()
        return f"{self.kind}: {self.limit or ''} {first} {where}"

    def _culprit(self) -> ThreadReport | None:
        if self.thread is None:
            return None
        return next((t for t in self.threads if t.id == self.thread), None)

    def describe(self) -> str:
        lines = [f"{self.kind}: {self.message}"]
        culprit = self._culprit() if self.kind in ("trap", "limit") else None
        if culprit is not None:
            text = str(culprit).splitlines()
            # Frames are innermost first: the first frame line is where it stopped (the header, without one).
            text[1 if culprit.frames else 0] += " (trapped here)" if self.kind == "trap" else " (over the limit here)"
            lines.append(_indent("\n".join(text), "  "))
        others = [t for t in self.threads if t is not culprit]
        if others:
            lines.append(_indent("\n".join(reports_lines(others)), "  "))
        return "\n".join(lines)


def _site(frames: Sequence[Frame]) -> tuple[str, ...]:
    """Where a thread is: its innermost function and offset, and up to three callers (names only: a caller's
    call site may differ while the failing code is the same)."""
    if not frames:
        return ()
    top = frames[0]
    return (f"{_func(top)}@{top.offset:#x}", *(_func(f) for f in frames[1:4]))


def _func(frame: Frame) -> str:
    return frame.func_name or f"#{frame.func_index}"


def _blocked_kind(what: str | None) -> str | None:
    if what is None:
        return None
    return what.split(" ", 1)[0]  # "futex 0x1234" -> "futex": addresses differ between runs


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


@dataclass
class Outcome:
    """What one run did. `decisions`: the thread picked at each scheduling decision, in order.

    `interrupted`: what interrupted a recorded run ("Ctrl-C", or the option whose limit it reached:
    "--max-wall-time 2.0"), and for a replay that reached the end of such a recording, what interrupted the
    recorded run (the replay then has no failure and no exit code: it stopped where the recording did).
    """

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    failure: Failure | None
    instructions: int
    decisions: list[int]
    schedule: Schedule | None
    recording: Recording | None = None
    trace: ChromeTrace | None = None
    interrupted: str | None = None

    @property
    def output_digest(self) -> str:
        h = hashlib.sha256()
        h.update(f"{self.exit_code}\0".encode())
        h.update(self.stdout)
        h.update(b"\0")
        h.update(self.stderr)
        return h.hexdigest()[:16]


@dataclass
class RunHooks:
    """What a run may be extended with: more observers, and a wrapper around every WASI call."""

    observers: list[SchedulerObserver] = field(default_factory=list)
    #: interpose(module_name, call_name, host) -> what runs instead (record.py's recorder and replayer).
    interpose: Callable[[str, str, Callable[..., Any]], Callable[..., Any]] | None = None
    #: Called with the store and the instruction counter before anything runs.
    setup: Callable[[Store, InstructionCounter], None] | None = None
    #: Called with the WASI state once its waiter is in place (a recorder wraps the waiter).
    bind_state: Callable[[Any], None] | None = None
    #: Told of each thread-spawn refused over the store's max_threads (the program gets -EAGAIN).
    spawn_refused: Callable[[ResourceLimitError], None] | None = None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C interrupted a recorded run: `outcome` holds what it did, with its recording up to there."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__()
        self.outcome = outcome


# ---- the deterministic WASI pieces ----


class InstantIoWaiter(SchedulerWaiter):
    """Deterministic runs: sleeps go through the scheduler (virtual time); fd waits block the OS thread.

    A wait for a pipe, terminal or socket takes no virtual time and never lets
    another thread run meanwhile, so the schedule depends on what the input
    is, never on when it arrives.
    """

    def wait(self, readable: list[int], writable: list[int], deadline: int | None) -> None:
        if readable or writable:
            _poll(readable, writable, None)
            return
        super().wait(readable, writable, deadline)


def _virtual_clocks(clock: DeterministicClock) -> Callable[[int], int]:
    """WASI's non-monotonic clocks in deterministic mode: realtime from the epoch, CPU time = virtual time."""

    def read(clock_id: int) -> int:
        return clock.realtime_ns() if clock_id == 0 else clock.now_ns()

    return read


class _Watch(NullObserver):
    """The hang budget, exploration mode on every thread, and the thread that ended the run.

    It needs no slice events, so the C core keeps switching threads: the
    scheduler preempts at shared accesses itself, and past the budget every
    stop comes through Python (Scheduler.host_stops_after), where it is
    checked as before.
    """

    every_switch = False

    def __init__(self, sched: Scheduler, counter: InstructionCounter, budget: int | None, explore: bool) -> None:
        self._sched = sched
        self._counter = counter
        self._budget = budget
        self.fired = False
        self.ended_by: GreenThread | None = None
        self.reports: list[ThreadReport] | None = None
        sched.preempt_shared = explore
        if budget is not None:
            sched.host_stops_after = counter.origin + budget

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        if why == "exit":
            exc = thread.exception
            if (
                self.ended_by is None
                and exc is not None
                and isinstance(exc, (Trap, WasiExit, OutOfFuel, ResourceLimitError))
            ):
                self.ended_by = thread
                # The others' stacks now, before the run is torn down (the exiting thread's are in its Trap).
                self.reports = thread_reports(self._sched)
            return
        budget = self._budget
        # Not while the root blocks: interrupting it raises in the middle of its block (others are told at
        # their next switch); a root that livelocks through blocks is caught when another thread stops.
        safe = why != "blocked" or thread is not self._sched.main
        if budget is not None and not self.fired and safe and self._counter.total > budget:
            self.fired = True
            self._sched.interrupt(Hang(budget, thread_reports(self._sched)))


def thread_reports(sched: Scheduler) -> list[ThreadReport]:
    """Every live thread of `sched`: state, what it waits on, its wasm stack (captured now)."""
    return [sched._report(gt) for gt in sched.threads]


# ---- running ----


def _wasi_imports(
    store: Store, module: Module, wasi: WasiEnvironment, interpose: Callable[..., Any]
) -> dict[str, dict[str, Any]]:
    """The module's WASI imports, each host callable wrapped by `interpose`."""
    out: dict[str, dict[str, Any]] = {}
    for imp in module.imports:
        if imp.module not in _WASI_MODULES:
            continue
        call = wasi.calls(imp.module).get(imp.name)
        if call is None:
            continue
        if imp.name == "sched_yield":
            # Native, as in a run without an interposer (fast.py): it has no input to record and the schedule
            # must be the one the plain run takes.
            out.setdefault(imp.module, {})[imp.name] = wasi.function(store, imp.module, imp.name)
            continue
        host = interpose(imp.module, imp.name, bind(wasi.state, call))
        f = out.setdefault(imp.module, {})[imp.name] = Function(store, host, call.type)
        if wasi.state.fast is not None and call is PREVIEW1.get(imp.name):
            # What runs in C without an interposer runs in C with one (a sleep, fast.py), its other calls
            # interposed: the schedule is the plain run's.
            wasi.state.fast.attach(store, imp.name, f)
    return out


def _host_imports(
    store: Store, module: Module, host: HostImports, interpose: Callable[..., Any] | None
) -> dict[str, dict[str, Any]]:
    """The module's function imports found in `host`, typed as the module imports them (an `async def` one
    awaits on the loop: aio.awaiting), each wrapped by `interpose` (a recorder's or replayer's) when given."""
    out: dict[str, dict[str, Any]] = {}
    for imp in module.imports:
        fn = host.get(imp.module, {}).get(imp.name)
        if fn is None or not isinstance(imp.type, FuncType):
            continue
        is_async = inspect.iscoroutinefunction(fn)
        call = fn
        if is_async:
            from ..core.aio import awaiting  # asyncio is imported on first use

            call = awaiting(fn)
        if interpose is not None:
            call = interpose(imp.module, imp.name, call, is_async)
        out.setdefault(imp.module, {})[imp.name] = Function(store, call, imp.type)
    return out


def run_program(
    program: Program,
    schedule: Schedule | None = None,
    *,
    fuel: int | None = DEFAULT_FUEL,
    capture: bool = True,
    stdout: BinaryIO | bytearray | None = None,
    stderr: BinaryIO | bytearray | None = None,
    hooks: RunHooks | None = None,
    record: bool = False,
    replay: Recording | None = None,
    trace: bool = False,
    log_decisions: bool = True,
    listeners: Sequence[socket.socket] = (),
    host: HostImports | None = None,
) -> Outcome:
    """Run `program` once under `schedule` (None: the default fair, real-time mode).

    With `capture` the program's stdout and stderr are kept in the Outcome;
    otherwise they go to `stdout`/`stderr` (None: the process's own). `fuel`
    is the hang budget in instructions across all threads (default
    DEFAULT_FUEL, 50 million; None: none): past it the run ends as a
    Failure of kind "hang" whose message names the budget.
    `record` keeps a Recording of the run in the Outcome (it needs a
    schedule); `replay` replays one (its schedule wins); `trace` keeps a
    ChromeTrace; `log_decisions` keeps the thread picked at each decision in
    `Outcome.decisions` (4 bytes a decision; without it a run keeps nothing
    per decision). `listeners` are listening sockets the program gets after
    its preopened folders (as `--tcplisten`); a seeded run with them must be
    recorded. Failures are reported in the Outcome, never raised, except a
    replay's Divergence and KeyboardInterrupt (RunInterrupted for a recorded
    run: it carries the Outcome and its recording). `host`: the program's
    other imports, `{module: {name: callable}}`, each typed as the module
    imports it; their results are inputs, recorded and replayed as WASI's
    are (an `async def` one needs `run_program_async`).
    """
    return _drive(
        _program_steps(
            program,
            schedule,
            fuel,
            capture,
            stdout,
            stderr,
            hooks,
            record,
            replay,
            trace,
            log_decisions,
            listeners,
            host,
        )
    )


async def run_program_async(
    program: Program,
    schedule: Schedule | None = None,
    *,
    fuel: int | None = DEFAULT_FUEL,
    capture: bool = True,
    stdout: BinaryIO | bytearray | None = None,
    stderr: BinaryIO | bytearray | None = None,
    hooks: RunHooks | None = None,
    record: bool = False,
    replay: Recording | None = None,
    trace: bool = False,
    log_decisions: bool = True,
    host: HostImports | None = None,
) -> Outcome:
    """`run_program` on the running asyncio loop (core/aio.py): its threads run in the loop's turns, and
    `host` may hold `async def` functions, which wasm calls as it calls any other. In a seeded run their
    results are delivered in call order at points the seed decides, and `record`/`replay` keep and answer
    them as inputs, so the run is reproduced whatever order the awaits finish in."""
    steps = _program_steps(
        program, schedule, fuel, capture, stdout, stderr, hooks, record, replay, trace, log_decisions, (), host
    )
    start = _send(steps)  # an Outcome already when the program could not start
    while not isinstance(start, Outcome):
        try:
            from ..core.aio import call_async

            await call_async(start)
        except BaseException as exc:  # the generator's own handlers decide (as around a plain call)
            start = _throw(steps, exc)
        else:
            start = _send(steps)
    return start


#: The program's imports other than WASI's: `{module: {name: callable}}` (run_program's `host`).
HostImports = Mapping[str, Mapping[str, Callable[..., Any]]]


def _drive(steps: Generator[Function, None, Outcome]) -> Outcome:
    """Run the one call `_program_steps` yields (its `_start`) as a plain call: the Outcome."""
    start = _send(steps)  # an Outcome already when the program could not start
    while not isinstance(start, Outcome):
        try:
            start()
        except BaseException as exc:
            start = _throw(steps, exc)
        else:
            start = _send(steps)
    return start


def _send(steps: Generator[Function, None, Outcome]) -> Function | Outcome:
    try:
        return steps.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _throw(steps: Generator[Function, None, Outcome], exc: BaseException) -> Function | Outcome:
    try:
        return steps.throw(exc)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _program_steps(
    program: Program,
    schedule: Schedule | None,
    fuel: int | None,
    capture: bool,
    stdout: BinaryIO | bytearray | None,
    stderr: BinaryIO | bytearray | None,
    hooks: RunHooks | None,
    record: bool,
    replay: Recording | None,
    trace: bool,
    log_decisions: bool,
    listeners: Sequence[socket.socket],
    host_imports: HostImports | None,
) -> Generator[Function, None, Outcome]:
    """The body of run_program and run_program_async: yields the `_start` to call (the driver calls it, plainly
    or on the loop, and sends back how it ended), returns the Outcome."""
    hooks = hooks or RunHooks()
    if replay is not None:
        schedule = Schedule(**replay.header["schedule"])
        if listeners:
            raise ValueError("a replay answers every call from its recording: it needs no sockets")
    if (record or replay is not None) and schedule is None:
        raise ValueError("recording and replaying need a deterministic schedule (a seed)")
    network = bool(listeners) and schedule is not None
    if network and not record:
        raise ValueError(
            "a seeded run with listening sockets must be recorded (record=True): when its waits for the network "
            "end depends on the network, and only a recording keeps it"
        )
    store = Store(**program.limits)
    sched = store.scheduler
    counter = InstructionCounter(store)
    recorder: Recorder | None = None
    replayer: Replayer | None = None
    tracer: ChromeTrace | None = None
    policy = None
    if schedule is not None:
        # A network run waits for the network in real time while nothing else can happen (NetworkClock).
        clock = NetworkClock(lambda: bool(sched._io)) if network else DeterministicClock()
        sched.clock = clock
        policy = schedule.policy(log=log_decisions)
        store.set_policy(policy)
    watch = _Watch(sched, counter, fuel, schedule is not None and schedule.preempt_shared)
    observers: list[SchedulerObserver] = [counter, watch]
    observers += hooks.observers
    interpose = hooks.interpose
    bind_state = hooks.bind_state
    if record:
        assert schedule is not None
        header = {"program": program.path, "sha256": program.digest, "args": [program.path, *program.args]}
        header.update(env=program.env, dirs=program.dirs, schedule=schedule.as_dict(), fuel=fuel, limits=program.limits)
        if network:
            header["network"] = [_address(sock) for sock in listeners]
        recorder = Recorder(sched, counter, header)
        observers.append(recorder)
        interpose, bind_state = recorder.interpose, recorder.bind_state
    out_buf = bytearray() if capture else None
    err_buf = bytearray() if capture else None
    if replay is not None:
        replayer = Replayer(sched, counter, replay, out_buf if capture else stdout, err_buf if capture else stderr)
        observers.append(replayer)
        interpose, bind_state = replayer.interpose, replayer.bind_state
    if trace:
        tracer = ChromeTrace(sched, counter, logical=schedule is not None, name=os.path.basename(program.path))
        observers.append(tracer)
    sched.observer = Observers(observers)
    if hooks.setup is not None:
        hooks.setup(store, counter)

    config = WasiConfig(
        args=[program.path, *program.args],
        env=dict(program.env),
        stdin=program.stdin,
        stdout=out_buf if capture else stdout,
        stderr=err_buf if capture else stderr,
    )
    for host, guest in program.dirs:
        config.preopen_dir(host, guest)
    config.listeners.extend(listeners)
    if schedule is not None:
        config.random = SeededBytes(schedule.seed)
        config.clock = _virtual_clocks(clock)
        config.deterministic = True  # virtual file metadata, clock resolutions, fd readiness (hostview.py)
        config.live_sockets = network  # ... but sockets answer what arrived: the recording keeps it

    exit_code: int | None = None
    failure: Failure | None = None
    interrupted: str | None = None
    threads: Any = None
    interrupts = recorder.interrupts_between_calls() if recorder is not None else contextlib.nullcontext()
    with WasiEnvironment(config) as wasi, interrupts:
        if wasi.state.fast is not None:
            # A network run's sleeps are the recording's to see (its clock is not the core's): in Python, and so
            # in its replay.
            wasi.state.fast.core_sleeps = not (network or (replay is not None and "network" in replay.header))
        try:
            extra = _wasi_imports(store, program.module, wasi, interpose) if interpose else {}
            if host_imports:
                interpose_host = recorder.interpose_host if recorder else replayer.interpose_host if replayer else None
                extra.update(_host_imports(store, program.module, host_imports, interpose_host))
            wasi_program = instantiate_program(store, program.module, wasi, extra=extra, on_refused=hooks.spawn_refused)
            instance, threads = wasi_program.instance, wasi_program.threads
            # wasi-threads installs a plain scheduler waiter; deterministic runs need theirs (a network run's
            # recorder parks threads on descriptors itself: record.py).
            wasi.state.waiter = InstantIoWaiter() if schedule is not None and not network else SchedulerWaiter()
            if bind_state is not None:
                bind_state(wasi.state)
            start = dict(instance.exports).get("_start")
            if not isinstance(start, Function):
                raise WasmroutinesError(f"{program.path} exports no _start function")
            try:
                yield start
                exit_code = 0
            except WasiExit as e:
                exit_code = e.code
                if exit_code != 0:
                    failure = Failure("exit", f"exit status {exit_code}", tuple(_reports(watch, sched)))
            except Deadlock as e:
                failure = Failure("deadlock", blocked_text(len(e.threads)), tuple(e.threads))
            except Hang as e:
                failure = Failure("hang", str(e), tuple(e.threads))
            except (Trap, OutOfFuel) as e:
                failure = _trap_failure(e, watch, sched)
            except RecordingEnd:
                pass  # the end of an interrupted recording: the replay stopped where the recorded run did
        except KeyboardInterrupt:
            if recorder is None:
                raise
            interrupted = "Ctrl-C"  # the recording is kept (RunInterrupted below)
        except ResourceLimitError as e:
            failure = _limit_failure(e, watch, sched)
            if isinstance(e, WallTimeExceeded):
                interrupted = f"{LIMIT_FLAGS['max_wall_time']} {e.seconds}"
        except Exception as e:  # a host function's bug, a link error: still an outcome to report
            if type(e).__name__ == "Divergence":
                raise
            failure = Failure("error", f"{type(e).__name__}: {e}", tuple(thread_reports(sched)))
        finally:
            if recorder is not None:
                recorder.run_ended()  # before the threads left are killed (their exits are recorded after)
            counter.finish()
            if tracer is not None and failure is not None:
                tracer.mark(failure.kind, {"message": failure.message})
            if threads is not None:
                threads.close()
            else:
                sched.close()
            sched.observer = None
            sched.injector = None
    decisions = policy.decisions if policy is not None else []
    outcome = Outcome(
        exit_code,
        bytes(out_buf) if out_buf is not None else b"",
        bytes(err_buf) if err_buf is not None else b"",
        failure,
        counter.total,
        decisions,
        schedule,
        trace=tracer,
    )
    if replayer is not None:
        replayer.check_end(exit_code, _ending(outcome))
        if replayer.ended:
            assert replay is not None
            outcome.interrupted = str(replay.end.get("interrupted"))
    if recorder is not None:
        outcome.recording = recorder.finish(exit_code, _ending(outcome), counter.total, interrupted)
        outcome.interrupted = interrupted
        if interrupted == "Ctrl-C":
            raise RunInterrupted(outcome)
    return outcome


def _address(sock: socket.socket) -> str:
    """A listening socket's address as --tcplisten takes it: HOST:PORT, [HOST]:PORT for IPv6."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ending(outcome: Outcome) -> str:
    """How a run ended, as a recording's end checks it (output is checked call by call: fd_write's CRC)."""
    return outcome.failure.kind if outcome.failure is not None else "ok"


def run_function(
    body: Callable[[Store], Any],
    schedule: Schedule | None = None,
    *,
    fuel: int | None = DEFAULT_FUEL,
    hooks: RunHooks | None = None,
) -> Outcome:
    """Run `body(store)` once on a fresh Store under `schedule`: the Python side of a concurrency test.

    `body` instantiates its wasm in the store, spawns threads, joins them and
    checks what it likes (an AssertionError is a failure like a trap); its
    return value, as repr(), is the run's output, which exploration compares
    across runs. Threads it leaves running are killed afterwards. `fuel` is
    the hang budget, as for run_program.
    """
    hooks = hooks or RunHooks()
    store = Store()
    sched = store.scheduler
    counter = InstructionCounter(store)
    policy = None
    if schedule is not None:
        sched.clock = DeterministicClock()
        policy = schedule.policy(log=True)
        store.set_policy(policy)
    watch = _Watch(sched, counter, fuel, schedule is not None and schedule.preempt_shared)
    observers: list[SchedulerObserver] = [counter, watch, *hooks.observers]
    sched.observer = Observers(observers)
    if hooks.setup is not None:
        hooks.setup(store, counter)
    output = b""
    failure: Failure | None = None
    try:
        try:
            output = repr(body(store)).encode()
        except Deadlock as e:
            failure = Failure("deadlock", blocked_text(len(e.threads)), tuple(e.threads))
        except Hang as e:
            failure = Failure("hang", str(e), tuple(e.threads))
        except (Trap, OutOfFuel) as e:
            failure = _trap_failure(e, watch, sched)
        except ResourceLimitError as e:
            failure = _limit_failure(e, watch, sched)
        except AssertionError as e:
            failure = Failure("error", f"AssertionError: {e}", tuple(thread_reports(sched)))
        except KeyboardInterrupt:
            raise
        except Exception as e:
            if type(e).__name__ == "Divergence":
                raise
            failure = Failure("error", f"{type(e).__name__}: {e}", tuple(thread_reports(sched)))
    finally:
        counter.finish()
        sched.close()
        sched.observer = None
    decisions = policy.decisions if policy is not None else []
    return Outcome(0 if failure is None else None, output, b"", failure, counter.total, decisions, schedule)


def _reports(watch: _Watch, sched: Scheduler) -> list[ThreadReport]:
    return watch.reports if watch.reports is not None else thread_reports(sched)


def _trap_failure(e: Trap | OutOfFuel, watch: _Watch, sched: Scheduler) -> Failure:
    others = _reports(watch, sched)
    who = watch.ended_by
    tid = who.id if who is not None else 0
    if isinstance(e, OutOfFuel):
        return Failure("limit", "all fuel consumed", tuple(others), tid, "fuel")
    mine = ThreadReport(tid, who.name if who is not None else "main", "trapped", None, None, e.frames)
    rest = [t for t in others if t.id != tid]
    if isinstance(e, StackExhausted):
        return Failure("limit", e.kind, (mine, *rest), tid, e.limit)
    return Failure("trap", e.kind, (mine, *rest), tid)


def _limit_failure(e: ResourceLimitError, watch: _Watch, sched: Scheduler) -> Failure:
    """A store limit (a memory too big, the wall time passed), or plain out-of-memory (an error)."""
    threads = tuple(_reports(watch, sched))
    if e.limit is None:
        return Failure("error", f"{type(e).__name__}: {e}", threads)
    who = watch.ended_by
    return Failure("limit", str(e), threads, who.id if who is not None else None, e.limit)
