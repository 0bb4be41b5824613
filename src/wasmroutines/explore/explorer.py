"""The schedule explorer: run a program under many seeded schedules and report each distinct failure once.

Run i of an exploration with seed S uses `Schedule(S, ...).run_seed(i)`: its
own seed, derived from S and i, so an exploration is itself reproducible
(same seed, same runs, same report, whatever `jobs`), and any one run can be
replayed alone from its schedule (`wasmroutines run --seed ...`).

Failures: a deadlock, a trap, a non-zero exit, a hang (past the instruction
budget), an error raised by the test body, or output (stdout, stderr and
exit code; a test body's return value) different from the expected output,
or, when none is given, from the first run that ended normally. Failures
are grouped by `Failure.key` (what failed: a trap's message and the trapping
thread's location, a deadlock's wait sites, any hang; not where the other
threads were); each group is reported once, from its earliest run, with
how many runs hit it.

PCT needs the length of a run in steps (budget units): unless given, a
calibration run (a random walk) measures it, rounded up. The hang budget
(`fuel`), unless given, is DEFAULT_FUEL for that run, then 50 times its
length if it ended within DEFAULT_FUEL and that is more; after a hang it
stays DEFAULT_FUEL. Under the random strategy the calibration run is run
0; under pct it is extra.
`jobs` > 1 spreads the runs over processes (forked, so a test body need not
be picklable), `executor` over any concurrent.futures.Executor (Dask's on a
cluster: cluster.py); both go through distribute.py, in batches, and results
are merged in run order, so the report is the same wherever the runs ran.
`max_failures` stops early, once that many runs have failed (by themselves,
or by printing other than the expected output when one is given).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.determinism import STRATEGIES, Schedule
from ..core.errors import WasmroutinesError
from ..core.policy import EXPLORE_SLICES
from ..core.store import Store
from .distribute import batch_size, run_everywhere
from .runner import DEFAULT_FUEL, Failure, Outcome, Program, limit_args, run_function, run_program

__all__ = ["Exploration", "FoundFailure", "explore_function", "explore_program"]

#: Fewer runs than this are not worth starting processes for (`jobs`; an executor given is always used).
_MIN_POOL_RUNS = 32
#: Unless given, the hang budget is this many times the first run's count (when it ended, and more than DEFAULT_FUEL).
_HANG_FACTOR = 50


def _rate(per_second: float) -> str:
    """Schedules per second: whole numbers, and two significant digits below 10 (not "0/s")."""
    return f"{per_second:.0f}" if per_second >= 10 else f"{per_second:.2g}"


@dataclass
class FoundFailure:
    """One distinct failure: the earliest run that showed it and how many runs did."""

    failure: Failure
    schedule: Schedule
    run: int
    count: int
    stdout: bytes
    stderr: bytes
    exit_code: int | None
    decisions: list[int]
    replay: str  # one command (or call) that replays the run exactly
    runs: list[int] = field(default_factory=list)  # every run that showed it, in order


@dataclass
class Exploration:
    """What an exploration found. `failures` is empty when every run behaved like the reference."""

    target: str
    base: Schedule
    runs: int
    elapsed: float
    failures: list[FoundFailure] = field(default_factory=list)
    reference: bytes | None = None  # the expected (or first normal) output, as compared
    #: How many runs printed each stdout (runs that ended normally), most frequent first.
    outputs: dict[bytes, int] = field(default_factory=dict)
    fuel: int | None = None  # the hang budget the runs had
    #: Whether `reference` was given (expect_stdout) rather than taken from the first run that ended normally.
    expected: bool = False
    #: The runs asked for; fewer were run (`runs`) when the exploration stopped at `max_failures` failing runs.
    requested: int = 0
    max_failures: int | None = None

    @property
    def stopped(self) -> bool:
        """Whether it stopped early, at `max_failures` failing runs, before all the runs asked for."""
        return self.runs < self.requested

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def rate(self) -> float:
        return self.runs / self.elapsed if self.elapsed > 0 else float("inf")

    def report(self) -> str:
        """The human report: a summary line, then each failure with its threads, schedule and replay command."""
        strat = "pct" if self.base.strategy == "pct" else "random walk"
        shared = ", preempting at shared accesses" if self.base.preempt_shared else ""
        lines = [
            f"explored {self.runs} schedules of {self.target} in {self.elapsed:.1f} s ({_rate(self.rate)}/s): "
            f"{strat}{shared}, exploration seed {self.base.seed}"
        ]
        if self.base.strategy == "pct":
            lines[0] += f", depth {self.base.depth}, {self.base.steps} steps"
        if self.stopped:
            lines.append(
                f"stopped early at {self.max_failures} failing run{'s' if self.max_failures != 1 else ''} "
                f"(max failures): {self.runs} of {self.requested} schedules run"
            )
        if not self.failures:
            lines.append("no failure found")
            return "\n".join(lines)
        n = len(self.failures)
        lines.append(f"{n} distinct failure{'s' if n != 1 else ''} found")
        for i, f in enumerate(self.failures, 1):
            lines.append("")
            lines.append(f"failure {i} of {n}: {f.failure.kind}, in {f.count} of {self.runs} runs (first: run {f.run})")
            lines.append(_indent(f.failure.describe(), "  "))
            if f.failure.kind == "output" and self.expected:
                lines.append(f"  expected: {_show(self.reference)}")
                lines.append(f"  got:      {_show(f.stdout)} (this run)")
                others = [(out, n) for out, n in self.outputs.items() if out != self.reference]
                if len(others) > 1:
                    lines.append(f"  {len(others)} different wrong outputs in all; the most frequent:")
                    for out, n in others[:5]:
                        lines.append(f"    {n:>6} run{'s' if n != 1 else ' '}: {_show(out)}")
            elif f.failure.kind == "output":
                # No expectation: which output is right is not known, so every output is shown with its count.
                lines.append(f"  the runs that ended normally printed {len(self.outputs)} different outputs:")
                for out, n in list(self.outputs.items())[:5]:
                    lines.append(f"    {n:>6} run{'s' if n != 1 else ' '}: {_show(out)}")
                if len(self.outputs) > 5:
                    lines.append(f"    ... and {len(self.outputs) - 5} more")
                lines.append(f"  this run: {_show(f.stdout)} (give --expect-stdout to say which is right)")
            elif f.stderr:
                lines.append("  stderr: " + _show(f.stderr[-400:]))
            shown = " ".join(str(d) for d in f.decisions[:40]) or "none (no scheduling decision)"
            more = f" ... ({len(f.decisions)} in all)" if len(f.decisions) > 40 else ""
            lines.append(f"  schedule: {f.schedule}; threads picked: {shown}{more}")
            lines.append(f"  replay: {f.replay}")
        return "\n".join(lines)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _show(data: bytes | None) -> str:
    if data is None:
        return "(none)"
    text = data.decode("utf-8", "backslashreplace")
    return repr(text) if len(text) < 300 else repr(text[:300]) + "..."


# ---- targets: a WASI program, or a Python test body ----


class _Target:
    name = ""
    fuel: int | None = None

    def run(self, schedule: Schedule) -> Outcome:
        raise NotImplementedError

    def replay(self, schedule: Schedule, hang: bool) -> str:
        raise NotImplementedError


class _ProgramTarget(_Target):
    def __init__(self, program: Program, fuel: int | None) -> None:
        self.program = program
        self.fuel = fuel
        self.name = os.path.basename(program.path)

    def run(self, schedule: Schedule) -> Outcome:
        return run_program(self.program, schedule, fuel=self.fuel)

    def replay(self, schedule: Schedule, hang: bool) -> str:
        p = self.program
        argv = ["wasmroutines", "run"]
        for host, guest in p.dirs:
            argv += ["--dir", host if host == guest else f"{host}::{guest}"]
        for k, v in p.env.items():
            argv += ["--env", f"{k}={v}"]
        if hang and self.fuel is not None:
            argv += ["--hang-fuel", str(self.fuel)]
        argv += limit_args(p.limits)
        argv += schedule.cli_args()
        argv += [p.path, *p.args]
        cmd = shlex.join(argv)
        if p.stdin:
            cmd += " < STDIN-FILE"
        return cmd


class _FunctionTarget(_Target):
    def __init__(self, body: Callable[[Store], Any], fuel: int | None) -> None:
        self.body = body
        self.fuel = fuel
        self.name = getattr(body, "__qualname__", repr(body))

    def run(self, schedule: Schedule) -> Outcome:
        return run_function(self.body, schedule, fuel=self.fuel)

    def replay(self, schedule: Schedule, hang: bool) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in schedule.as_dict().items())
        return (
            f"wasmroutines.explore.replay_function({self.name}, Schedule({fields}))"
            f"   # or: WASMROUTINES_SCHEDULE='{schedule_to_text(schedule)}' pytest ..."
        )


def schedule_to_text(schedule: Schedule) -> str:
    """A Schedule as `seed=...,strategy=...` (the WASMROUTINES_SCHEDULE variable the pytest plugin reads)."""
    return ",".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in schedule.as_dict().items())


def schedule_from_text(text: str) -> Schedule:
    values: dict[str, Any] = {}
    for part in text.split(","):
        key, _, value = part.strip().partition("=")
        if key in ("seed", "depth", "steps", "min_slice", "max_slice"):
            values[key] = int(value, 0)
        elif key == "preempt_shared":
            values[key] = value.lower() not in ("0", "false", "no", "")
        elif key == "strategy":
            values[key] = value
        elif key:
            raise ValueError(f"unknown schedule field {key!r}")
    if "seed" not in values:
        raise ValueError("a schedule needs seed=N")
    return Schedule(**values)


# ---- running many ----


def _failing(outcome: Outcome, expect: bytes | None) -> bool:
    """Whether a run counts towards max_failures as it arrives: it failed by itself, or printed other than the
    expected output (without an expectation, which output is right is known only at the end)."""
    if outcome.failure is not None:
        return True
    return expect is not None and (outcome.stdout != expect or outcome.exit_code != 0)


def _timed_run(target: _Target, schedule: Schedule) -> tuple[Outcome, float]:
    t0 = time.perf_counter()
    outcome = target.run(schedule)
    return outcome, time.perf_counter() - t0


def _explore(
    target: _Target,
    *,
    runs: int,
    strategy: str,
    seed: int,
    depth: int,
    steps: int | None,
    preempt_shared: bool,
    jobs: int,
    executor: Executor | None,
    batch: int | None,
    max_failures: int | None,
    expect: bytes | None,
    progress: bool,
) -> Exploration:
    if executor is not None and jobs > 1:
        raise ValueError("give jobs or an executor, not both")
    if max_failures is not None and max_failures < 1:
        raise ValueError("max_failures must be at least 1")
    if batch is not None and batch < 1:
        raise ValueError("batch must be at least 1")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    if runs < 1:
        raise ValueError("runs must be at least 1")
    started = time.perf_counter()
    lo, hi = EXPLORE_SLICES  # short slices: races between a few instructions show
    base = Schedule(seed, strategy="random", min_slice=lo, max_slice=hi, preempt_shared=preempt_shared)
    results: dict[int, Outcome] = {}
    todo = list(range(runs))
    fuel_given = target.fuel is not None
    calibrated = strategy == "pct" and steps is None or not fuel_given
    if calibrated:
        # Calibrate: run 0, a random walk, measures how long a run is (pct's k; the hang budget).
        if not fuel_given:
            target.fuel = DEFAULT_FUEL
        first, seconds = _timed_run(target, base.run_seed(0))
        _check_runnable(first)
        if strategy == "random":  # it is run 0 itself; pct's runs all follow pct
            results[0] = first
            todo = todo[1:]
        if not fuel_given and not (first.failure is not None and first.failure.kind == "hang"):
            # Only a run that ended says how long a run is; a hang's count is just the budget it ran out of.
            target.fuel = max(DEFAULT_FUEL, _HANG_FACTOR * first.instructions)
        if strategy == "pct" and steps is None:
            steps = _round_up(max(first.instructions, 100))
    if strategy == "pct":
        assert steps is not None
        base = replace(base, strategy="pct", depth=depth, steps=steps)
    schedules = [(i, base.run_seed(i)) for i in todo]
    if not calibrated and schedules:
        # No calibration run: the first run alone first, so a program that cannot run stops here.
        i, schedule = schedules.pop(0)
        results[i], seconds = _timed_run(target, schedule)
        _check_runnable(results[i])

    # The calibration (or first) run ran here, whatever runs the rest: it checks that the program runs at all.
    size = batch or batch_size(seconds, len(schedules))
    if executor is None and len(schedules) < _MIN_POOL_RUNS:
        jobs = 1
    bar = _progress_bar(runs, target.name, progress)
    failing = sum(_failing(outcome, expect) for outcome in results.values())
    try:
        bar.update(len(results))
        if max_failures is None or failing < max_failures:
            arriving = run_everywhere(target, schedules, executor=executor, jobs=jobs, batch=size)
            try:
                for i, outcome in arriving:
                    results[i] = outcome
                    bar.update(1)
                    if _failing(outcome, expect):
                        failing += 1
                        bar.set_postfix(failing=failing, refresh=False)
                        if max_failures is not None and failing >= max_failures:
                            break  # closing `arriving` cancels the runs not yet done
            finally:
                arriving.close()
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    result = _summarize(target, base, results, elapsed, expect)
    result.requested = runs
    result.max_failures = max_failures
    return result


class CannotRun(WasmroutinesError):
    """The program cannot run at all (it does not link, or exports no `_start`): there is nothing to explore."""


def _check_runnable(outcome: Outcome) -> None:
    f = outcome.failure
    if f is not None and f.kind == "error" and (f.message.startswith("LinkError") or "exports no _start" in f.message):
        raise CannotRun(f.message)


def _round_up(n: int) -> int:
    """Two significant digits, rounded up: a calibration that does not change with tiny differences."""
    scale = 10 ** max(len(str(n)) - 2, 0)
    return -(-n // scale) * scale


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **_: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, name: str, enabled: bool) -> Any:
    """tqdm's bar on stderr (tqdm is a dependency; without it, or when not enabled, no bar)."""
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(
        total=total,
        desc=f"exploring {name}",
        unit="run",
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )


def _summarize(
    target: _Target, base: Schedule, results: dict[int, Outcome], elapsed: float, expect: bytes | None
) -> Exploration:
    order = sorted(results)
    reference = expect
    if reference is None:
        for i in order:
            if results[i].failure is None:
                reference = results[i].stdout
                break
    ref_code = 0
    groups: dict[str, FoundFailure] = {}
    outputs: dict[bytes, int] = {}
    for i in order:
        o = results[i]
        failure = o.failure
        if failure is None:
            outputs[o.stdout] = outputs.get(o.stdout, 0) + 1
        if failure is None and reference is not None and (o.stdout != reference or o.exit_code != ref_code):
            failure = Failure(
                "output",
                "output differs from the expected" if expect is not None else "runs printed different outputs",
            )
        if failure is None:
            continue
        key = failure.key
        found = groups.get(key)
        if found is None:
            s = o.schedule if o.schedule is not None else base
            replay = target.replay(s, failure.kind == "hang")
            groups[key] = FoundFailure(failure, s, i, 1, o.stdout, o.stderr, o.exit_code, o.decisions, replay, [i])
        else:
            found.count += 1
            found.runs.append(i)
    failures = sorted(groups.values(), key=lambda f: f.run)
    by_count = dict(sorted(outputs.items(), key=lambda item: -item[1]))
    return Exploration(
        target.name, base, len(results), elapsed, failures, reference, by_count, target.fuel, expect is not None
    )


def explore_program(
    program: Program,
    *,
    runs: int = 1000,
    strategy: str = "random",
    seed: int = 0,
    depth: int = 3,
    steps: int | None = None,
    preempt_shared: bool = True,
    jobs: int = 1,
    fuel: int | None = None,
    expect_stdout: bytes | None = None,
    progress: bool = False,
    executor: Executor | None = None,
    batch: int | None = None,
    max_failures: int | None = None,
) -> Exploration:
    """Run a WASI program under `runs` schedules; see the module docstring.

    `fuel` is the hang budget in instructions, all threads together (default: DEFAULT_FUEL, or 50 times the
    first run's count when that run ended within it and that is more); `Exploration.fuel` is the one used.
    `executor` (any concurrent.futures.Executor: a process pool, Dask's `Client.get_executor()`) runs all runs but
    the first, which runs here; the program travels as its binary (`program.wasm`: Program.load keeps it).
    `batch`: runs per task (default: about 0.3 s of runs, judged from the first run). `max_failures`: stop once
    that many runs have failed, cancelling the rest (without it the report is the same wherever the runs ran).
    """
    return _explore(
        _ProgramTarget(program, fuel),
        runs=runs,
        strategy=strategy,
        seed=seed,
        depth=depth,
        steps=steps,
        preempt_shared=preempt_shared,
        jobs=jobs,
        executor=executor,
        batch=batch,
        max_failures=max_failures,
        expect=expect_stdout,
        progress=progress,
    )


def explore_function(
    body: Callable[[Store], Any],
    *,
    runs: int = 1000,
    strategy: str = "random",
    seed: int = 0,
    depth: int = 3,
    steps: int | None = None,
    preempt_shared: bool = True,
    jobs: int = 1,
    fuel: int | None = None,
    expect: Any = None,
    progress: bool = False,
    executor: Executor | None = None,
    batch: int | None = None,
    max_failures: int | None = None,
) -> Exploration:
    """Run `body(store)` (see runner.run_function) under `runs` schedules; `expect`: its expected return value.

    `executor`, `batch`, `max_failures`: as for explore_program; with an executor, `body` must be picklable by it
    (Dask's cloudpickle takes closures, as long as what they hold is picklable: wasm bytes, not a Module)."""
    return _explore(
        _FunctionTarget(body, fuel),
        runs=runs,
        strategy=strategy,
        seed=seed,
        depth=depth,
        steps=steps,
        preempt_shared=preempt_shared,
        jobs=jobs,
        executor=executor,
        batch=batch,
        max_failures=max_failures,
        expect=None if expect is None else repr(expect).encode(),
        progress=progress,
    )


def replay_function(body: Callable[[Store], Any], schedule: Schedule, *, fuel: int | None = DEFAULT_FUEL) -> Any:
    """Run `body(store)` once under `schedule` and return its value; a failure raises AssertionError with its report."""
    holder: dict[str, Any] = {}

    def capture(store: Store) -> Any:
        holder["value"] = body(store)
        return holder["value"]

    outcome = run_function(capture, schedule, fuel=fuel)
    if outcome.failure is not None:
        raise AssertionError(outcome.failure.describe())
    return holder.get("value")
