"""Deterministic mode: schedules that are a pure function of a seed, virtual time, seeded randomness.

A `Schedule` names everything that decides an interleaving: the strategy
(random walk or PCT), its parameters and the seed. Given the same program,
inputs and Schedule, a run makes the same scheduling decisions, reads the
same clock and random bytes, and prints the same bytes, on any machine:

- the scheduling policies draw from the project's own PRNG (policy.py's
  xoshiro256**), never Python's `random`;
- preemption points are instruction counts (the C core's slice budget),
  never wall time;
- time is a DeterministicClock (a VirtualClock that also gives the wall
  time, from a fixed epoch): it moves only when every thread is blocked,
  jumping to the earliest deadline;
- random_get reads `SeededBytes`, a stream of its own (seeded from the
  same seed, so drawing random bytes does not shift the schedule).

Strategies (both are also the schedule explorer's, explore/):

- "random" (RandomWalkPolicy): at each scheduling point a uniformly random
  runnable thread runs for a log-uniformly random slice (1 to 10,000 units
  by default), so runs mix switches a few instructions apart with long
  stretches. A thread with nobody to switch to runs a long slice (the cost
  of deterministic mode on single-threaded work stays in the noise); when
  another thread becomes runnable its slice is cut back to a random one.
  After each host call it switches with probability 1/2 (spawn, I/O).
- "pct" (PCTPolicy): probabilistic concurrency testing, Burckhardt,
  Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
  Probabilistic Guarantees of Finding Bugs", ASPLOS 2010: threads get
  random distinct priorities d, d+1, ...; d-1 change points are drawn
  uniformly in [1, k] steps (k: an estimate of the run's length, in budget
  units); the highest-priority runnable thread always runs, and the thread
  running when step k_i passes drops to priority i. A bug of depth d is
  found with probability at least 1/(n k^(d-1)) per run.

Both need to know how far the run has got: an InstructionCounter
(observe.py) counts budget units across threads, and both policies are
scheduler observers too (they hear of wake-ups, to preempt the running
thread early).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from ._ffi import lib
from .clock import VirtualClock
from .observe import InstructionCounter, NullObserver, StopReason
from .policy import SplitMix64, Xoshiro256, log_uniform_slice

if TYPE_CHECKING:
    from .scheduler import GreenThread, Scheduler

__all__ = [
    "EPOCH_NS",
    "DeterministicClock",
    "PCTPolicy",
    "RandomWalkPolicy",
    "Schedule",
    "SeededBytes",
    "derive_seed",
]

#: The wall-clock time a deterministic run starts at: 2000-01-01T00:00:00Z.
EPOCH_NS = 946_684_800 * 1_000_000_000

#: Streams derived from one seed: each consumer gets its own, so one drawing more never shifts another.
_STREAM_RANDOM_GET = 0x72616E646F6D5F67  # "random_g"
_STREAM_RUNS = 0x6578706C6F726572  # "explorer"


def derive_seed(seed: int, stream: int, index: int = 0) -> int:
    """A 64-bit seed for `stream` (and item `index` of it), well mixed from `seed`."""
    sm = SplitMix64(seed ^ stream)
    for _ in range(index % 4):
        sm.next()
    return SplitMix64(sm.next() + index).next()


class DeterministicClock(VirtualClock):
    """A VirtualClock that also answers the wall time: EPOCH_NS plus the virtual time passed."""

    def realtime_ns(self) -> int:
        return EPOCH_NS + self.now_ns()

    def __repr__(self) -> str:
        return f"DeterministicClock(now_ns={self.now_ns()})"


class SeededBytes:
    """random_get's bytes in deterministic mode: xoshiro256** output, little-endian, from a seed-derived stream."""

    def __init__(self, seed: int) -> None:
        self._rng = Xoshiro256(derive_seed(seed, _STREAM_RANDOM_GET))
        self._left = b""

    def __call__(self, n: int) -> bytes:
        out = bytearray(self._left[:n])
        self._left = self._left[n:]
        nxt = self._rng.next
        while len(out) < n:
            word = nxt().to_bytes(8, "little")
            take = n - len(out)
            out += word[:take]
            self._left = word[take:]
        return bytes(out)


# ---- strategies ----

_SOLO_SLICE = 1_000_000


class _Strategy(NullObserver):
    """What both policies share: the counter, the running thread, cutting its slice short."""

    def __init__(self, counter: InstructionCounter | None) -> None:
        self.counter = counter
        self.scheduler: Scheduler | None = None
        self._running: GreenThread | None = None
        self.decisions: list[int] = []  # thread ids in the order they were picked (the schedule, for reports)

    def attach(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def started(self, thread: GreenThread, budget: int) -> None:
        self._running = thread

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        if thread is self._running:
            self._running = None

    def _cut_running_slice(self, budget: int) -> None:
        """End the running thread's slice after `budget` more units (it is between two wr_exec calls)."""
        gt = self._running
        if gt is not None and gt._wr_thread is not None:
            lib.wr_api_thread_set_budget(gt._wr_thread, budget)

    def _switch_now(self, thread: GreenThread) -> None:
        sched = self.scheduler
        if sched is not None and sched.current is thread:
            sched.yield_now()


class RandomWalkPolicy(_Strategy):
    """The "random" strategy: a random runnable thread for a log-uniformly random slice; see the module docstring."""

    def __init__(
        self,
        seed: int,
        *,
        min_slice: int = 1,
        max_slice: int = 10_000,
        solo_slice: int = _SOLO_SLICE,
        counter: InstructionCounter | None = None,
    ) -> None:
        super().__init__(counter)
        if not 1 <= min_slice <= max_slice:
            raise ValueError("need 1 <= min_slice <= max_slice")
        self.seed = seed
        self._rng = Xoshiro256(seed)
        self._min = min_slice
        self._max = max_slice
        self._solo = max(solo_slice, max_slice)
        self._queue: list[GreenThread] = []
        self._solo_running = False

    # ---- Policy ----

    def push(self, thread: GreenThread) -> None:
        self._queue.append(thread)

    def pop(self) -> GreenThread | None:
        q = self._queue
        n = len(q)
        if n == 0:
            return None
        i = self._rng.below(n)
        thread = q[i]
        q[i] = q[-1]
        q.pop()
        self.decisions.append(thread.id)
        return thread

    def remove(self, thread: GreenThread) -> None:
        if thread in self._queue:
            self._queue.remove(thread)

    def slice(self, thread: GreenThread) -> int:
        if not self._queue:
            self._solo_running = True
            return self._solo
        self._solo_running = False
        return self._random_slice()

    def _random_slice(self) -> int:
        return log_uniform_slice(self._rng, self._min, self._max)

    def __len__(self) -> int:
        return len(self._queue)

    # ---- observer: contention starts, host calls end ----

    def _contended(self) -> None:
        if self._solo_running and self._running is not None:
            self._solo_running = False
            self._cut_running_slice(self._random_slice())

    def spawned(self, thread: GreenThread, parent: GreenThread) -> None:
        self._contended()

    def woken(self, thread: GreenThread) -> None:
        self._contended()

    def hostcall_done(self, thread: GreenThread, func: Callable[..., Any], error: BaseException | None) -> None:
        if error is None and self._queue and self._rng.below(2) == 0:
            self._switch_now(thread)

    def __repr__(self) -> str:
        return f"RandomWalkPolicy({self.seed}, min_slice={self._min}, max_slice={self._max})"


class PCTPolicy(_Strategy):
    """The "pct" strategy (Burckhardt et al. 2010): strict random priorities, d-1 random change points in k steps."""

    def __init__(self, seed: int, *, depth: int = 3, steps: int = 100_000, counter: InstructionCounter) -> None:
        super().__init__(counter)
        if depth < 1:
            raise ValueError("depth must be at least 1")
        if steps < 1:
            raise ValueError("steps must be at least 1")
        self.seed = seed
        self.depth = depth
        self.steps = steps
        self._rng = Xoshiro256(seed)
        self.change_points = sorted(1 + self._rng.below(steps) for _ in range(depth - 1))
        self._next_change = 0  # index into change_points
        self._priority: dict[int, int] = {}
        self._queue: list[GreenThread] = []
        self._counter: InstructionCounter = counter

    def _priority_of(self, thread: GreenThread) -> int:
        p = self._priority.get(thread.id)
        if p is None:
            # A random priority above every change point's (d-1 at most): distinct with near certainty;
            # ties break by thread id (older first) in pop().
            p = self.depth + (self._rng.next() >> 12)
            self._priority[thread.id] = p
        return p

    def _passed_change_points(self, thread: GreenThread) -> None:
        """The running thread reached change point k_i (maybe several): its priority drops to i."""
        now = self._counter.total
        cps = self.change_points
        while self._next_change < len(cps) and now >= cps[self._next_change]:
            self._next_change += 1
            self._priority[thread.id] = self._next_change  # i, 1-based: below every initial priority

    # ---- Policy ----

    def push(self, thread: GreenThread) -> None:
        self._priority_of(thread)
        self._queue.append(thread)

    def pop(self) -> GreenThread | None:
        q = self._queue
        if not q:
            return None
        best = 0
        pr = self._priority
        for i in range(1, len(q)):
            a, b = q[i], q[best]
            if pr[a.id] > pr[b.id] or (pr[a.id] == pr[b.id] and a.id < b.id):
                best = i
        thread = q.pop(best)
        self.decisions.append(thread.id)
        return thread

    def remove(self, thread: GreenThread) -> None:
        if thread in self._queue:
            self._queue.remove(thread)

    def slice(self, thread: GreenThread) -> int:
        if self._next_change < len(self.change_points):
            return max(1, self.change_points[self._next_change] - self._counter.total)
        return _SOLO_SLICE

    def __len__(self) -> int:
        return len(self._queue)

    # ---- observer ----

    def stopped(self, thread: GreenThread, why: StopReason) -> None:
        super().stopped(thread, why)
        if why != "exit":
            self._passed_change_points(thread)

    def _outranked(self, thread: GreenThread) -> None:
        run = self._running
        if run is not None and self._priority_of(thread) > self._priority_of(run):
            self._cut_running_slice(0)

    def spawned(self, thread: GreenThread, parent: GreenThread) -> None:
        self._outranked(thread)

    def woken(self, thread: GreenThread) -> None:
        self._outranked(thread)

    def hostcall_done(self, thread: GreenThread, func: Callable[..., Any], error: BaseException | None) -> None:
        if error is not None or not self._queue:
            return
        mine = self._priority_of(thread)
        if any(self._priority[q.id] > mine for q in self._queue):
            self._switch_now(thread)

    def __repr__(self) -> str:
        return f"PCTPolicy({self.seed}, depth={self.depth}, steps={self.steps})"


@dataclass(frozen=True)
class Schedule:
    """Everything that decides a deterministic run's interleaving; `policy()` builds its policy.

    `preempt_shared` makes every access to a shared memory a preemption point
    (the C core's exploration mode), so races between a load and a store can
    show; without it threads switch only at loop back-edges, calls, waits and
    host calls.
    """

    seed: int
    strategy: str = "random"
    depth: int = 3
    steps: int = 100_000
    min_slice: int = 1
    max_slice: int = 10_000
    preempt_shared: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r} (known: {', '.join(STRATEGIES)})")

    def policy(self, counter: InstructionCounter) -> RandomWalkPolicy | PCTPolicy:
        if self.strategy == "pct":
            return PCTPolicy(self.seed, depth=self.depth, steps=self.steps, counter=counter)
        return RandomWalkPolicy(self.seed, min_slice=self.min_slice, max_slice=self.max_slice, counter=counter)

    def with_seed(self, seed: int) -> Schedule:
        return replace(self, seed=seed)

    def run_seed(self, index: int) -> Schedule:
        """The schedule of run `index` of an exploration seeded with this one's seed."""
        return replace(self, seed=derive_seed(self.seed, _STREAM_RUNS, index) & 0xFFFF_FFFF_FFFF)

    def cli_args(self) -> list[str]:
        """The `wasmroutines run` options that give this schedule (defaults left out)."""
        out = ["--seed", str(self.seed)]
        default = Schedule(0)
        if self.strategy != default.strategy:
            out += ["--strategy", self.strategy]
        if self.strategy == "pct":
            if self.depth != default.depth:
                out += ["--depth", str(self.depth)]
            if self.steps != default.steps:
                out += ["--steps", str(self.steps)]
        elif (self.min_slice, self.max_slice) != (default.min_slice, default.max_slice):
            out += ["--slices", f"{self.min_slice}:{self.max_slice}"]
        if self.preempt_shared:
            out.append("--preempt-shared")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __str__(self) -> str:
        if self.strategy == "pct":
            what = f"pct depth {self.depth} over {self.steps} steps"
        else:
            what = f"random walk, slices {self.min_slice}..{self.max_slice}"
        shared = ", preempting at shared accesses" if self.preempt_shared else ""
        return f"seed {self.seed}, {what}{shared}"


STRATEGIES = ("random", "pct")
