"""Running an exploration's runs elsewhere: batches on any `concurrent.futures.Executor`, results as they arrive.

Any Executor serves: the explorer's own process pool (`jobs`), Dask's (`Client.get_executor()`, see cluster.py), a
user's. A run's outcome is a function of its schedule alone, so where a run executes changes nothing in it, and the
order results arrive in changes nothing in the report (the explorer merges them by run index).

- Runs travel in batches, one task each: a task costs milliseconds on a cluster, a run of a small program about as
  much. `batch_size` picks the size from how long a run takes.
- A task carries its target (a Program travels as its binary: runner.Program.__reduce__), except on the explorer's
  own pool, whose processes are forked with it (a Python test body need not be picklable there).
- Lost processes. A task whose process died is not an outcome of its runs: a process pool reports BrokenExecutor
  (the whole pool breaks: this module makes a new one when it owns the pool), Dask reports KilledWorker once its
  own retries (`distributed.scheduler.allowed-failures`) are spent. A batch lost once is sent again; lost twice (or
  once Dask gave up on it), each of its runs is run alone, with nothing else in flight, so a death can only be that
  run's doing; a run that kills its process twice alone ends as a Failure of kind "crash". Any other exception from
  a task is a bug and propagates.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from ..core.determinism import Schedule
from .runner import Failure, Outcome

__all__ = ["Runnable", "batch_size", "crash_outcome", "run_batch", "run_everywhere"]

#: A run: its index in the exploration and its schedule.
Run = tuple[int, Schedule]

#: A batch should take about this long (seconds): per-task overhead (milliseconds on Dask) stays small, progress
#: and the early stop stay responsive.
BATCH_SECONDS = 0.3
#: ... and there should be at least this many batches, so that every worker gets a share and the last ones balance.
MIN_BATCHES = 32
#: Tasks in flight at once on an executor of unknown size (the explorer's pool keeps two per process).
WINDOW = 256

CRASH_MESSAGE = (
    "the run killed the process running it, twice, the second time alone (a crash of the runtime, "
    "or the process was killed from outside, e.g. out of memory): replay it locally to see"
)


class Runnable(Protocol):
    """What a task runs: the explorer's target (a WASI program or a Python test body)."""

    def run(self, schedule: Schedule) -> Outcome: ...


def batch_size(run_seconds: float, runs: int) -> int:
    """Runs per task: about BATCH_SECONDS of work, and at least MIN_BATCHES tasks when there are that many runs."""
    by_time = int(BATCH_SECONDS / run_seconds) if run_seconds > 0 else runs
    return max(1, min(by_time, runs // MIN_BATCHES))


# ---- the task ----

#: The target of the explorer's own pool, set in each forked process by the pool's initializer.
_INSTALLED: Runnable | None = None


def _install(target: Runnable) -> None:
    global _INSTALLED
    _INSTALLED = target


def run_batch(target: Runnable | None, runs: Sequence[Run], attempt: int = 0) -> list[tuple[int, Outcome]]:
    """The task: each run of the batch, in order. `target` None: the one this process was forked with.

    `attempt` does nothing here: it makes a batch sent again a new task for an engine that names tasks by their
    arguments (Dask's `pure=True`), which would otherwise hand back the lost one.
    """
    runner = target if target is not None else _INSTALLED
    assert runner is not None, "a batch without a target on a process not forked by the explorer"
    return [(i, runner.run(s)) for i, s in runs]


def crash_outcome(schedule: Schedule) -> Outcome:
    """The outcome of a run that killed its process twice: a failure of its schedule, not a lost batch."""
    return Outcome(None, b"", b"", Failure("crash", CRASH_MESSAGE), 0, [], schedule)


# ---- the executors ----


class _Lane:
    """An executor and what its tasks carry; a pool the explorer owns is replaced when a process death breaks it."""

    def __init__(self, executor: Executor, target: Runnable | None, remake: Callable[[], Executor] | None) -> None:
        self.executor = executor
        self.target = target  # None: the pool's processes were forked with it
        self.remake = remake
        self.generation = 0  # which executor a task went to: one death breaks the pool once, not once per task

    def submit(self, unit: _Unit) -> Future[list[tuple[int, Outcome]]]:
        unit.generation = self.generation
        return self.executor.submit(run_batch, self.target, unit.runs, unit.attempts)

    def broke(self, unit: _Unit, error: BaseException) -> None:
        """A task of `unit` failed with BrokenExecutor: replace the pool (once per break) or give up."""
        if unit.generation != self.generation:
            return  # already replaced
        if self.remake is None:
            error.add_note(
                "a process of the executor died and the executor cannot go on; give jobs= (the explorer's own pool) "
                "or a Dask executor to have lost runs done again"
            )
            raise error
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self.remake()
        self.generation += 1


@dataclass
class _Unit:
    runs: list[Run]
    alone: bool = False  # run with nothing else in flight: a process death is then this run's
    losses: int = 0
    attempts: int = 0
    generation: int = 0


def _engine_gave_up(error: BaseException) -> bool:
    """Dask's KilledWorker: the task was tried on `allowed-failures + 1` processes, each of which died.

    Matched by name: distributed is an optional extra, and importing it to test a type would load it always."""
    return any(cls.__name__ == "KilledWorker" for cls in type(error).__mro__)


def _lost(error: BaseException) -> bool:
    return isinstance(error, BrokenExecutor) or _engine_gave_up(error)


def _spread(lane: _Lane, units: deque[_Unit], window: int) -> Iterator[tuple[int, Outcome]]:
    inflight: dict[Future[list[tuple[int, Outcome]]], _Unit] = {}
    alone: deque[_Unit] = deque()
    try:
        while units or alone or inflight:
            while units and len(inflight) < window:
                unit = units.popleft()
                inflight[lane.submit(unit)] = unit
            if alone and not inflight:
                unit = alone.popleft()
                inflight[lane.submit(unit)] = unit
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in done:
                unit = inflight.pop(future)
                try:
                    results = future.result()
                except BaseException as error:
                    if not _lost(error):
                        raise
                    if isinstance(error, BrokenExecutor):
                        lane.broke(unit, error)
                    yield from _after_loss(unit, _engine_gave_up(error), units, alone)
                    continue
                yield from results
    finally:
        for future in inflight:
            future.cancel()


def _after_loss(unit: _Unit, gave_up: bool, units: deque[_Unit], alone: deque[_Unit]) -> Iterator[tuple[int, Outcome]]:
    unit.losses += 1
    unit.attempts += 1
    if not gave_up and unit.losses < 2:
        (alone if unit.alone else units).appendleft(unit)  # once: a worker may die of something else
    elif unit.alone:
        for i, schedule in unit.runs:
            yield i, crash_outcome(schedule)
    else:
        alone.extend(_Unit([run], alone=True) for run in unit.runs)


def run_everywhere(
    target: Runnable,
    runs: list[Run],
    *,
    executor: Executor | None = None,
    jobs: int = 1,
    batch: int = 16,
    window: int | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """Each run's outcome, as they arrive (in no particular order), on `executor`, or on a pool of `jobs` forked
    processes, or here (jobs 1, or no fork on this platform). Closing the iterator early cancels what has not run."""
    units = deque(_Unit(runs[k : k + batch]) for k in range(0, len(runs), batch))
    if executor is not None:
        yield from _spread(_Lane(executor, target, None), units, window or WINDOW)
        return
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        ctx = None
    if jobs <= 1 or ctx is None:
        for i, schedule in runs:
            yield i, target.run(schedule)
        return

    def pool() -> Executor:
        # Forked after the explorer's calibration, so each process has the target as it is now (its hang budget).
        return ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_install, initargs=(target,))

    lane = _Lane(pool(), None, pool)
    finished = False
    try:
        yield from _spread(lane, units, window or 2 * jobs)
        finished = True
    finally:
        lane.executor.shutdown(wait=finished, cancel_futures=True)
