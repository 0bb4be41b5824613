"""Deterministic mode: schedules that are a pure function of a seed, virtual time, seeded randomness.

A `Schedule` names everything that decides an interleaving: the strategy
(random walk or PCT), its parameters and the seed. Given the same program,
inputs and Schedule, a run makes the same scheduling decisions, reads the
same clock and random bytes, and prints the same bytes, on any machine:

- the scheduling policies draw from the project's own PRNG (xoshiro256**,
  in the C core: policy.py), never Python's `random`;
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

Both live in the C core (policy.py, wr_sched.h): PCT counts progress in
the store's units run; the scheduler tells both of contention (a new or
woken thread) and of host calls returning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from .clock import Poll, VirtualClock
from .policy import RUN_SLICES, PCTPolicy, RandomWalkPolicy, SplitMix64, Xoshiro256

__all__ = [
    "EPOCH_NS",
    "DeterministicClock",
    "NetworkClock",
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


class NetworkClock(DeterministicClock):
    """The clock of a recorded network run: virtual, except that while every thread waits and some wait for the
    network (`network_waits()`), it waits for the network in real time, up to the next virtual deadline, and moves
    on by the real time waited.

    A plain virtual clock would jump to the next deadline at once: a server that polls its sockets with a
    timeout would time out again and again while its clients are still on their way, at full speed, filling the
    recording. Nothing of this needs replaying: a replay moves its clock to each recorded wake-up's time.

    The time waited is read once, at the first reading after the host answered, so that every reading made
    while the wake-ups are handed out sees the same time. When an event comes, the clock stays short of the
    deadline (at most one ns before it): so in a recording, a descriptor that woke a thread exactly at a
    deadline did so after the timers due then (the scheduler fires them before it polls).
    """

    def __init__(self, network_waits: Callable[[], bool], start_ns: int = 0) -> None:
        super().__init__(start_ns)
        self._network_waits = network_waits
        self._waiting: tuple[int, int | None] | None = None  # (time.monotonic_ns() when it began, its deadline)

    def now_ns(self) -> int:
        if self._waiting is not None:
            self._settle(True)
        return super().now_ns()

    def _settle(self, event: bool) -> None:
        began, deadline = self._waiting  # type: ignore[misc]
        self._waiting = None
        now = super().now_ns() + max(0, time.monotonic_ns() - began)
        if deadline is not None:
            now = min(now, deadline - 1 if event else deadline)
        self.advance(max(0, now - super().now_ns()))

    def idle(self, deadline_ns: int | None, poll: Poll) -> None:
        if not self._network_waits():
            super().idle(deadline_ns, poll)
            return
        if poll(0):
            return
        left = None if deadline_ns is None else max(0, deadline_ns - super().now_ns()) / 1e9
        self._waiting = (time.monotonic_ns(), deadline_ns)
        try:
            got = poll(left)
        except BaseException:
            self._waiting = None  # interrupted (Ctrl-C): the run ends as it was, as its replay does
            raise
        if self._waiting is not None:  # nobody read the clock meanwhile
            self._settle(got > 0)

    def __repr__(self) -> str:
        return f"NetworkClock(now_ns={super().now_ns()})"


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
    min_slice: int = RUN_SLICES[0]  # run's; the explorer's schedules carry EXPLORE_SLICES
    max_slice: int = RUN_SLICES[1]
    preempt_shared: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r} (known: {', '.join(STRATEGIES)})")

    def policy(self, *, log: bool = False) -> RandomWalkPolicy | PCTPolicy:
        """The policy that runs this schedule; `log` keeps its decisions (`policy.decisions`, 4 bytes each)."""
        if self.strategy == "pct":
            return PCTPolicy(self.seed, depth=self.depth, steps=self.steps, log=log)
        return RandomWalkPolicy(self.seed, min_slice=self.min_slice, max_slice=self.max_slice, log=log)

    def with_seed(self, seed: int) -> Schedule:
        return replace(self, seed=seed)

    def run_seed(self, index: int) -> Schedule:
        """The schedule of run `index` of an exploration seeded with this one's seed."""
        return replace(self, seed=derive_seed(self.seed, _STREAM_RUNS, index) & 0xFFFF_FFFF_FFFF)

    def cli_args(self) -> list[str]:
        """The `wasmroutines run` options that give this schedule, every field spelled out (`run` and `explore`
        default differently, and defaults may change: a replay command must not depend on them)."""
        out = ["--seed", str(self.seed), "--strategy", self.strategy]
        if self.strategy == "pct":
            out += ["--depth", str(self.depth), "--steps", str(self.steps)]
        else:
            out += ["--slices", f"{self.min_slice}:{self.max_slice}"]
        out.append("--preempt-shared" if self.preempt_shared else "--no-preempt-shared")
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
