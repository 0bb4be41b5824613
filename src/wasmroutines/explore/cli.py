"""The command line of deterministic runs and exploration: `run --seed/--record/--replay/--trace` and `explore`.

wasmroutines/cli.py owns the parser; this module adds the options and runs
the commands, so the plain `run` path stays as it was.

    wasmroutines run --seed 7 prog.wasm                 # the same bytes, every time
    wasmroutines run --seed 7 --record run.wrr prog.wasm
    wasmroutines run --replay run.wrr prog.wasm         # exactly again, or where it diverges
    wasmroutines run --seed 7 --record run.wrr --tcplisten 127.0.0.1:8080 server.wasm   # a server: Ctrl-C ends it
    wasmroutines run --replay run.wrr server.wasm       # without the network
    wasmroutines run --seed 7 --trace run.json prog.wasm   # open in ui.perfetto.dev
    wasmroutines explore --runs 1000 --strategy pct prog.wasm
    wasmroutines explore --dask local:2 --runs 100000 prog.wasm   # on Dask (cluster.py)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any

from ..core.determinism import STRATEGIES, Schedule
from ..core.errors import Frame, ResourceLimitError, WasmroutinesError
from ..core.memory import PAGE_SIZE
from ..core.policy import EXPLORE_SLICES, RUN_SLICES
from ..core.record import Divergence, Recording
from ..core.store import DEFAULT_MAX_THREADS, MIN_STACK_BYTES
from .cluster import ClusterUnavailable, dask_executor, parse_address
from .runner import DEFAULT_FUEL, LIMIT_FLAGS, Failure, Outcome, Program, RunHooks, RunInterrupted, run_program

__all__ = [
    "EXIT_FAILURES",
    "EXIT_LIMIT",
    "LIMIT_FLAGS",
    "add_explore_parser",
    "add_limit_options",
    "add_run_options",
    "explore_command",
    "fail_limit",
    "limit_message",
    "listen_tcp",
    "run_deterministic",
    "spawn_warning",
    "store_limits",
]

#: `explore` exits with this when it found a failure (1 is also any other error, 2 bad arguments).
EXIT_FAILURES = 1
#: explore: the program cannot run at all (a link error, no _start): distinct from failures found.
EXIT_CANNOT_RUN = 3
EXIT_TRAP = 134
EXIT_ERROR = 1
#: `run` exits with this when Ctrl-C interrupted it (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: `run` exits with this when the program went over a limit (128 + SIGKILL, as a process killed over one).
EXIT_LIMIT = 137

_EXPLORE_DESCRIPTION = """\
Run a WebAssembly program (a WASI command, with wasi-threads) under many seeded schedules and
report each distinct failure once: deadlock, trap, non-zero exit, hang (past --hang-fuel
instructions), or output that differs from --expect-stdout (default: from the first run that
ended normally). Failures are grouped by what failed (a trap's location, a deadlock's wait
sites), not by where the other threads were. Each failure comes with the stacks of all threads
and one command that replays it exactly. The exploration is itself reproducible: same --seed,
same runs."""

_EXPLORE_EPILOG = """\
exit status: 0 when no failure was found, 1 when one was (or on another error), 2 for bad arguments.

examples:
  wasmroutines explore --runs 1000 prog.wasm
  wasmroutines explore --runs 1000 --strategy pct --depth 2 --jobs 2 prog.wasm arg1
  wasmroutines explore --expect-stdout 'counter 200' --save failures/ prog.wasm
  wasmroutines explore --dask tcp://scheduler:8786 --runs 1000000 --max-failures 1 prog.wasm"""


#: The largest values the C core holds: 32-bit counts (call depth, table elements, pct's depth) and
#: 63-bit instruction counts (fuel, the hang budget, pct's steps).
U32_MAX = 2**32 - 1
I64_MAX = 2**63 - 1


def _integer(text: str, minimum: int, maximum: int = I64_MAX) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}" if minimum else f"must not be negative: {text}")
    if value > maximum:
        raise argparse.ArgumentTypeError(f"must be at most {maximum:,}: {text}")
    return value


def _positive(text: str) -> int:
    return _integer(text, 1)


def _count(text: str) -> int:
    return _integer(text, 0)


def _positive_u32(text: str) -> int:
    return _integer(text, 1, U32_MAX)


_SIZE = re.compile(r"(\d+)\s*([KMG]i?B?)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _bytes(text: str) -> int:
    """A size in bytes: an integer (any base Python reads), or decimal digits with K, M or G (KiB, MiB, GiB)."""
    m = _SIZE.fullmatch(text.strip())
    if m is not None:
        value = int(m.group(1)) * _UNITS[(m.group(2) or "")[:1].lower()]
    else:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r} (e.g. 65536, 64K, 256M, 1G)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    if value > I64_MAX:
        raise argparse.ArgumentTypeError(f"must be at most {I64_MAX:,} bytes: {text}")
    return value


def _stack_bytes(text: str) -> int:
    value = _bytes(text)
    if value < MIN_STACK_BYTES:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_STACK_BYTES:,} bytes (a page per stack): {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"a seed is in [0, 2**64): {text}")
    return value


def _slices(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition(":")
    try:
        a, b = int(lo), int(hi if sep else lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}") from None
    if not 1 <= a <= b:
        raise argparse.ArgumentTypeError(f"need 1 <= MIN <= MAX: {text}")
    return a, b


def _add_schedule_options(p: argparse.ArgumentParser, *, explore: bool) -> None:
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=None if not explore else "random",
        help="random: a random runnable thread for a random slice at each scheduling point;\n"
        "pct: probabilistic concurrency testing (random priorities, --depth - 1 change points)",
    )
    p.add_argument("--depth", type=_positive_u32, default=3, metavar="D", help="pct's bug depth (default 3)")
    p.add_argument(
        "--steps",
        type=_positive,
        metavar="K",
        help="pct: the run length in instructions the change points are drawn from"
        + ("\n(default: measured by a calibration run)" if explore else f" (default {Schedule(0).steps})"),
    )
    p.add_argument(
        "--hang-fuel",
        type=_positive,
        metavar="N",
        help="a run that executes more than N instructions (all threads together) is a hang\n"
        + (
            f"(default: {DEFAULT_FUEL:,}, or 50 times the first run's count\n"
            "when that run ends within it and that is more)"
            if explore
            else "(default: no limit)"
        ),
    )


def add_limit_options(p: argparse.ArgumentParser, *, explore: bool = False) -> None:
    """The limits of `run` (all of them) and of `explore` (those that do not depend on time or fuel)."""
    title = "limits (over one, the program stops: a one-line error naming the option, status 137)"
    if explore:
        title = "limits (each run gets them; going over one is a failure of kind `limit`)"
    g = p.add_argument_group(title)
    if not explore:
        g.add_argument(
            "--fuel",
            type=_count,
            metavar="N",
            help="stop after N units of fuel (about one per instruction), all threads together",
        )
        g.add_argument(
            "--max-wall-time",
            type=_seconds,
            metavar="SECONDS",
            help="stop after SECONDS of wall-clock time (a float), whatever the threads are doing",
        )
    g.add_argument(
        "--max-memory",
        type=_bytes,
        metavar="BYTES",
        help="cap every linear memory at BYTES (rounded down to 64 KiB pages; suffixes K, M, G):\n"
        "memory.grow beyond it fails (-1), a memory that starts bigger stops the program",
    )
    g.add_argument(
        "--max-table-elements",
        type=_positive_u32,
        metavar="N",
        help="cap every table at N elements (default 10000000): table.grow beyond fails (-1),\n"
        "a table that starts bigger stops the program",
    )
    g.add_argument(
        "--max-threads",
        type=_count,
        metavar="N",
        help="at most N spawned threads alive at once (default 100000); a thread-spawn beyond\n"
        "fails (-EAGAIN: pthread_create returns EAGAIN) and is reported once on stderr",
    )
    g.add_argument(
        "--max-call-depth",
        type=_positive_u32,
        metavar="N",
        help="at most N nested wasm calls per thread (default 20000)",
    )
    g.add_argument(
        "--max-stack-slots",
        dest="stack_slots",
        type=_positive_u32,
        metavar="N",
        help="each thread's value stack: N 8-byte slots for its frames' locals and operands\n"
        "(default 1048576); a call that does not fit traps with call stack exhausted",
    )
    g.add_argument(
        "--max-stack",
        dest="max_stack_bytes",
        type=_stack_bytes,
        metavar="BYTES",
        help="each thread's frame and value stacks together: at most BYTES (default 64M; suffixes\n"
        "K, M, G); when the call depth and stack slots need more, a call that does not fit\n"
        "traps with call stack exhausted",
    )
    g.add_argument(
        "--max-module-size",
        type=_bytes,
        metavar="BYTES",
        help="refuse a module bigger than BYTES (the binary; suffixes K, M, G)",
    )


def store_limits(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The Store keywords for the limit options given (see add_limit_options)."""
    limits: dict[str, Any] = {}
    memory = getattr(args, "max_memory", None)
    if memory is not None:
        pages = memory // PAGE_SIZE
        if pages == 0:
            parser.error(f"--max-memory {memory}: less than one 64 KiB page")
        limits["max_memory_pages"] = pages
    for name in (
        "max_table_elements",
        "max_threads",
        "max_call_depth",
        "stack_slots",
        "max_stack_bytes",
        "max_module_size",
        "fuel",
        "max_wall_time",
    ):
        value = getattr(args, name, None)
        if value is not None:
            limits[name] = value
    return limits


def limit_message(limit: str, message: str, limits: dict[str, Any]) -> str:
    """The one-line report of going over `limit` (an error's `.limit`), naming the option that sets it."""
    flag = LIMIT_FLAGS.get(limit, limit)
    keyword = "max_module_size" if limit == "max_size" else limit
    message = message.splitlines()[0] if message else limit
    for suffix in (f" ({limit})", f" ({keyword})"):
        message = message.removesuffix(suffix)
    given = limits.get(keyword)
    if given is not None:
        setting = f"{flag} {given * PAGE_SIZE if keyword == 'max_memory_pages' else given}"
    elif keyword in _DEFAULTS:
        setting = f"{flag}, default {_DEFAULTS[keyword]}"
    else:
        setting = flag
    return f"limit exceeded ({setting}): {message}"


# What the store allows when no option is given (Store's docstring).
_DEFAULTS = {
    "max_memory_pages": "4 GiB",
    "max_table_elements": 10_000_000,
    "max_call_depth": 20_000,
    "stack_slots": 1_048_576,
    "max_stack_bytes": "64M",
}


def add_run_options(run: argparse.ArgumentParser) -> None:
    """The deterministic-mode options of `wasmroutines run`."""
    g = run.add_argument_group("deterministic mode (any of these turns it on)")
    g.add_argument(
        "--seed",
        type=_seed,
        metavar="N",
        help="run deterministically: schedule, clocks (virtual time) and random_get all follow N;\n"
        "same program, input and seed: byte-identical output, exit status and schedule",
    )
    _add_schedule_options(g, explore=False)  # type: ignore[arg-type]
    g.add_argument(
        "--slices",
        type=_slices,
        metavar="MIN:MAX",
        help=f"random: slice lengths in instructions, log-uniform (default {RUN_SLICES[0]}:{RUN_SLICES[1]}; "
        f"the explorer's are {EXPLORE_SLICES[0]}:{EXPLORE_SLICES[1]})",
    )
    shared = g.add_mutually_exclusive_group()
    shared.add_argument(
        "--preempt-shared",
        action="store_true",
        help="also preempt at every access to shared memory (as the explorer does by default)",
    )
    shared.add_argument(
        "--no-preempt-shared",
        dest="preempt_shared",
        action="store_false",
        help="preempt only at loop back-edges, calls, waits and host calls (the default of run)",
    )
    g.add_argument("--record", metavar="FILE", help="write a recording of the run (schedule and all WASI results)")
    g.add_argument(
        "--replay",
        metavar="FILE",
        help="replay a recording exactly (WASI answered from it); stop where the run diverges",
    )
    g.add_argument(
        "--trace",
        metavar="FILE",
        help="write the run's timeline as Chrome Trace Event JSON (open in ui.perfetto.dev)",
    )


def _schedule_of(args: argparse.Namespace) -> Schedule | None:
    seed = args.seed
    if seed is None and (args.record or args.strategy or args.preempt_shared or args.slices or args.steps):
        seed = 0
    if seed is None:
        return None
    lo, hi = args.slices or RUN_SLICES
    return Schedule(
        seed,
        strategy=args.strategy or "random",
        depth=args.depth,
        steps=args.steps or Schedule(0).steps,
        min_slice=lo,
        max_slice=hi,
        preempt_shared=args.preempt_shared,
    )


_DETERMINISTIC_OPTIONS = (
    "seed",
    "record",
    "replay",
    "trace",
    "strategy",
    "preempt_shared",
    "slices",
    "steps",
    "hang_fuel",
)


def wants_deterministic(args: argparse.Namespace) -> bool:
    """Whether any deterministic-mode option was given (a seed of 0 counts)."""
    if getattr(args, "seed", None) is not None:
        return True
    return any(getattr(args, name, None) for name in _DETERMINISTIC_OPTIONS)


def _program(
    args: argparse.Namespace, config_dirs: list[tuple[str, str]], env: dict[str, str], limits: dict[str, Any]
) -> Program:
    return Program.load(
        args.program,
        args.args,
        max_size=limits.get("max_module_size"),
        env=env,
        dirs=config_dirs,
        stdin=None,
        limits=limits,
    )


def _dirs_env(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    dirs: list[tuple[str, str]] = []
    for spec in args.dir:
        host, sep, guest = spec.partition("::")
        if not host or (sep and not guest):
            parser.error(f"--dir {spec!r}: expected HOST or HOST::GUEST")
        if not os.path.isdir(host):
            parser.error(f"--dir {spec!r}: {host} is not a directory")
        dirs.append((host, guest if sep else host))
    env: dict[str, str] = {}
    for spec in args.env:
        name, eq, value = spec.partition("=")
        if not name:
            parser.error(f"--env {spec!r}: expected NAME=VALUE")
        if not eq:
            if name not in os.environ:
                continue
            value = os.environ[name]
        env[name] = value
    return dirs, env


def listen_tcp(specs: Sequence[str], parser: argparse.ArgumentParser) -> list[socket.socket]:
    """The listening sockets of `--tcplisten HOST:PORT` options (a bad one is a usage error)."""
    from ..bindings.wasi import WasiConfig

    config = WasiConfig()
    for spec in specs:
        host, _, port = spec.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit() or int(port) > 65535:
            parser.error(f"--tcplisten {spec!r}: expected HOST:PORT")
        try:
            config.listen_tcp(host, int(port))
        except OSError as e:
            parser.error(f"--tcplisten {spec}: {e.strerror or e}")
    return config.listeners


def run_deterministic(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int | None:
    """`wasmroutines run` with deterministic options: its exit status; None when none was given."""
    if not wants_deterministic(args):
        return None
    if getattr(args, "invoke", None) is not None:
        parser.error("--invoke cannot be combined with --seed, --record, --replay or --trace")
    if args.record and args.replay:
        parser.error("--record and --replay exclude each other")
    tcplisten = getattr(args, "tcplisten", None) or []
    if tcplisten and args.replay:
        parser.error("--tcplisten cannot be combined with --replay: a replay answers every call from its recording")
    if tcplisten and not args.record:
        parser.error(
            "--tcplisten needs --record in deterministic mode: when a server's waits for the network end depends "
            "on the network, which a seed cannot repeat; record the run (--record FILE) and replay that "
            "(--replay FILE, no network needed)"
        )
    # Output files are opened before the run, so a bad path fails now, not after all the work.
    for option, path in (("--record", args.record), ("--trace", args.trace)):
        if path and (problem := _unwritable_file(path)):
            return _fail(f"cannot write {option} {path}: {problem}")
    dirs, env = _dirs_env(args, parser)
    limits = store_limits(args, parser)
    recording = None
    if args.replay:
        try:
            recording = Recording.load(args.replay)
        except (OSError, ValueError) as e:
            return _fail(f"cannot read recording {args.replay}: {e}")
        if not limits:  # the recorded run's limits, unless the command line gives its own
            limits = dict(recording.header.get("limits") or {})
            # ... but its wall time: it depends on the machine, and a recording it stopped ends by itself.
            limits.pop("max_wall_time", None)
    try:
        program = _program(args, dirs, env, limits)
    except OSError as e:
        return _fail(f"cannot read {args.program}: {e.strerror or e}")
    except ResourceLimitError as e:
        if e.limit is None:
            return _fail(f"failed to load {args.program}: {e}")
        return fail_limit(e.limit, str(e), limits)
    except WasmroutinesError as e:
        return _fail(f"failed to load {args.program}: {e}")
    if recording is not None:
        _warn_replay_differences(recording, program)
    schedule = _schedule_of(args)
    listeners = listen_tcp(tcplisten, parser)  # the ports are taken before the run, as a plain run does
    sys.stdout.flush()
    try:
        outcome = run_program(
            program,
            schedule,
            fuel=args.hang_fuel,
            capture=False,
            record=bool(args.record),
            replay=recording,
            trace=bool(args.trace),
            hooks=RunHooks(spawn_refused=spawn_warning(limits)),
            log_decisions=False,  # `run` reports no schedule: keep nothing per decision
            listeners=listeners,
        )
    except Divergence as e:
        return _fail(str(e))
    except RunInterrupted as e:  # Ctrl-C: a server's usual end, whose recording is what it was run for
        _save(args, e.outcome)
        return EXIT_INTERRUPTED
    _save(args, outcome)
    if recording is not None and outcome.interrupted is not None:
        sys.stdout.flush()
        why = outcome.interrupted
        sys.stderr.write(f"replay: reached the end of the recording, where the recorded run was interrupted ({why})\n")
        sys.stderr.flush()
        return 0
    return _status(args.program, outcome, limits)


def _save(args: argparse.Namespace, outcome: Outcome) -> None:
    """Write the run's trace and recording where --trace and --record say."""
    if args.trace and outcome.trace is not None:
        outcome.trace.write(args.trace)
    if args.record and outcome.recording is not None:
        outcome.recording.save(args.record)


def _warn_replay_differences(recording: Recording, program: Program) -> None:
    h = recording.header
    if h.get("sha256") and h["sha256"] != program.digest:
        sys.stderr.write(
            f"warning: {program.path} is not the recorded program (sha256 {h['sha256'][:16]}...): "
            "the replay stops where it diverges\n"
        )
    if h.get("args") and h["args"][1:] != program.args:
        sys.stderr.write(f"warning: the program sees its recorded arguments {h['args'][1:]!r}\n")


def _status(path: str, outcome: Outcome, limits: dict[str, Any]) -> int:
    sys.stdout.flush()
    f = outcome.failure
    if f is None:
        code = outcome.exit_code or 0
        if not 0 <= code < 126:
            return _fail(f"exit with invalid exit status outside of [0..126): {code}")
        return code
    if f.kind == "exit":
        code = outcome.exit_code or 0
        return code if 0 <= code < 126 else _fail(f"exit with invalid exit status outside of [0..126): {code}")
    if f.kind == "limit" and f.limit is not None:
        return fail_limit(f.limit, f.message, limits)
    culprit = next((t for t in f.threads if t.id == f.thread), None)
    if f.kind == "trap" and culprit is not None:
        print_trap(path, f.message, culprit.frames)
        return EXIT_TRAP
    sys.stderr.write(f"Error: failed to run main module `{path}`\n{_failure_text(f)}\n")
    sys.stderr.flush()
    return EXIT_TRAP if f.kind in ("trap", "hang") else EXIT_ERROR


def _failure_text(f: Failure) -> str:
    return f.describe()


def print_trap(program: str, kind: str, frames: Sequence[Frame]) -> None:
    """A trap as wasmtime reports it (the one format of both modes of `run`): what trapped, then the wasm
    backtrace, innermost first, `module!function` at each byte offset."""
    lines = [f"Error: failed to run main module `{program}`", f"wasm trap: {kind}"]
    if frames:
        lines.append("wasm backtrace:")
        for i, frame in enumerate(frames):
            name = frame.func_name or frame.export_name or f"<wasm function {frame.func_index}>"
            module = frame.module_name or os.path.basename(program)
            lines.append(f"  {i:>4}: {frame.offset:#8x} - {module}!{name}")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def _fail(message: str) -> int:
    sys.stderr.write(f"Error: {message}\n")
    sys.stderr.flush()
    return EXIT_ERROR


def fail_limit(limit: str, message: str, limits: dict[str, Any]) -> int:
    """Report going over a limit (one line on stderr); the exit status for it."""
    sys.stdout.flush()
    sys.stderr.write(f"Error: {limit_message(limit, message, limits)}\n")
    sys.stderr.flush()
    return EXIT_LIMIT


def spawn_warning(limits: dict[str, Any]) -> Callable[[ResourceLimitError], None]:
    """WasiThreads.on_refused for the command line: one warning on stderr, at the first refused thread-spawn."""
    warned = False

    def warn(e: ResourceLimitError) -> None:
        nonlocal warned
        if not warned:
            warned = True
            n = limits.get("max_threads", DEFAULT_MAX_THREADS)
            sys.stderr.write(
                f"warning: thread-spawn refused (--max-threads {n}): the program gets EAGAIN; "
                "later refusals are not reported\n"
            )
            sys.stderr.flush()

    return warn


# ---- explore ----


def note_own_options(sub: argparse.ArgumentParser) -> None:
    """Keep the command's option names, to tell when one comes after the program (where it is the program's)."""
    names = sorted({name for action in sub._actions for name in action.option_strings})  # no public accessor
    sub.set_defaults(own_options=tuple(names))


def add_explore_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "explore",
        help="search a multithreaded program's schedules for concurrency bugs",
        description=_EXPLORE_DESCRIPTION,
        epilog=_EXPLORE_EPILOG,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--runs", type=_positive, default=1000, metavar="N", help="schedules to try (default 1000)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="the exploration's seed (default 0)")
    _add_schedule_options(p, explore=True)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--jobs", "-j", type=_positive, default=1, metavar="J", help="worker processes (default 1)")
    where.add_argument(
        "--dask",
        type=_dask_address,
        metavar="ADDRESS",
        help="run on a Dask cluster: its scheduler's address (tcp://HOST:8786), or local:N to start\n"
        "a LocalCluster of N worker processes (needs: pip install 'wasmroutines[cluster]');\n"
        "the program and its inputs travel with the tasks; the report is the same as with --jobs",
    )
    p.add_argument(
        "--batch",
        type=_positive,
        metavar="N",
        help="runs per task with --jobs or --dask (default: about 0.3 s of runs, judged from the first)",
    )
    p.add_argument(
        "--max-failures",
        type=_positive,
        metavar="K",
        help="stop once K runs have failed, cancelling the rest (failed by themselves, or printed other\n"
        "than --expect-stdout when given)",
    )
    p.add_argument(
        "--no-preempt-shared",
        dest="preempt_shared",
        action="store_false",
        help="preempt only at loop back-edges, calls, waits and host calls\n"
        "(default: also at every shared-memory access, so data races show)",
    )
    p.add_argument("--expect-stdout", metavar="TEXT", help="the correct output (escapes such as \\n understood)")
    p.add_argument("--expect-stdout-file", metavar="FILE", help="the correct output, from a file")
    p.add_argument("--stdin", metavar="FILE", help="what every run reads on stdin (default: nothing)")
    p.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]", help="as for run; repeatable")
    p.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]", help="as for run; repeatable")
    p.add_argument(
        "--save",
        metavar="DIR",
        help="write each failure's recording (failure-N.wrr) and trace (failure-N.trace.json) into DIR",
    )
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar on stderr")
    add_limit_options(p, explore=True)
    p.add_argument("program", metavar="PROGRAM", help="the .wasm (or .wat) file")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the program's arguments")
    note_own_options(p)
    return p


def explore_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .explorer import CannotRun, explore_program

    dirs, env = _dirs_env(args, parser)
    limits = store_limits(args, parser)
    if args.save:
        try:  # made now: a folder that cannot be made fails before the exploration, not after it
            os.makedirs(args.save, exist_ok=True)
        except OSError as e:
            return _fail(f"cannot make --save folder {args.save}: {e.strerror or e}")
    expect = None
    if args.expect_stdout is not None and args.expect_stdout_file is not None:
        parser.error("--expect-stdout and --expect-stdout-file exclude each other")
    if args.expect_stdout is not None:
        expect = args.expect_stdout.encode().decode("unicode_escape").encode("latin-1")
    stdin = b""
    try:
        if args.expect_stdout_file is not None:
            with open(args.expect_stdout_file, "rb") as f:
                expect = f.read()
        if args.stdin is not None:
            with open(args.stdin, "rb") as f:
                stdin = f.read()
        program = Program.load(
            args.program,
            args.args,
            max_size=limits.get("max_module_size"),
            env=env,
            dirs=dirs,
            stdin=stdin,
            limits=limits,
        )
    except OSError as e:
        return _fail(f"cannot read {e.filename}: {e.strerror or e}")
    except ResourceLimitError as e:
        if e.limit is None:
            return _fail(f"failed to load {args.program}: {e}")
        return fail_limit(e.limit, str(e), limits)
    except WasmroutinesError as e:
        return _fail(f"failed to load {args.program}: {e}")
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        with _executor(args.dask) as executor:
            result = explore_program(
                program,
                runs=args.runs,
                strategy=args.strategy,
                seed=args.seed,
                depth=args.depth,
                steps=args.steps,
                preempt_shared=args.preempt_shared,
                jobs=args.jobs,
                fuel=args.hang_fuel,
                expect_stdout=expect,
                progress=progress,
                executor=executor,
                batch=args.batch,
                max_failures=args.max_failures,
            )
    except CannotRun as e:  # nothing to explore: a load error of its own, not "bugs found"
        sys.stderr.write(f"Error: cannot run {args.program}: {e}\n")
        return EXIT_CANNOT_RUN
    except ClusterUnavailable as e:
        return _fail(str(e))
    if args.save:
        _save_failures(program, result, args.save, args.hang_fuel)
    print(result.report())
    sys.stdout.flush()
    return 0 if result.ok else EXIT_FAILURES


@contextlib.contextmanager
def _executor(address: str | None) -> Iterator[Executor | None]:
    """--dask's executor for the exploration's length (None: the explorer's own, --jobs)."""
    if address is None:
        yield None
        return
    # Dask warns of every worker that died and every task it sends again: the report says what came of them.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with dask_executor(address) as executor:
        yield executor


def _dask_address(text: str) -> str:
    try:
        parse_address(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _unwritable_file(path: str) -> str | None:
    """Why `path` cannot be written (its folder missing, a directory, no permission), or None; opening it for
    appending checks that as the write will, leaving an existing file as it is."""
    if os.path.isdir(path):
        return "it is a directory"
    try:
        with open(path, "ab"):
            pass
    except OSError as e:
        return e.strerror or str(e)
    return None


def _save_failures(program: Program, result: Any, folder: str, fuel: int | None) -> None:
    """Run each failure's schedule again, recorded and traced, into `folder`; point its replay at the file."""
    os.makedirs(folder, exist_ok=True)
    for i, found in enumerate(result.failures, 1):
        outcome = run_program(program, found.schedule, fuel=result.fuel, record=True, trace=True)
        rec = os.path.join(folder, f"failure-{i}.wrr")
        trace = os.path.join(folder, f"failure-{i}.trace.json")
        if outcome.recording is not None:
            outcome.recording.save(rec)
        if outcome.trace is not None:
            outcome.trace.write(trace)
        found.replay += f"\n          or: wasmroutines run --replay {rec} {program.path}   (trace: {trace})"
