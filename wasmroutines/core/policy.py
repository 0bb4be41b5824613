"""Scheduling policies: which runnable green thread runs next, and for how long.

A policy owns the run queue of one scheduler. The scheduler hands it every
thread that becomes runnable (`push`), asks it for the next one (`pop`) and
for that thread's slice: the instruction budget after which the C core
preempts it (WR_YIELD on a loop back-edge or call).

FairPolicy is round-robin: FIFO, one fixed slice. SeededPolicy draws both the
next thread and the slice from its own PRNG (xoshiro256**, seeded through
splitmix64, written out here), never from Python's `random`, whose algorithm
and seeding may change between Python versions: the same seed must give the
same interleaving, and so the same output, on every machine and release.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .scheduler import GreenThread

__all__ = ["DEFAULT_SLICE", "FairPolicy", "Policy", "SeededPolicy", "SplitMix64", "Xoshiro256"]

#: Budget units (wasm instructions) a FairPolicy thread runs before it is preempted. Measured:
#: a tight loop runs about 2.5e9 units/s, and a slice end costs about 1.4 us even with nobody
#: else to run (back to Python and into wr_exec again). At 100_000 units (40 us) that is 3.5%
#: of throughput; at 1_000_000 (0.4 ms) 0.35%, lost in the noise, while a spinning thread still
#: hands over well within a millisecond (tests/test_scheduler.py checks the cost).
DEFAULT_SLICE = 1_000_000

_MASK64 = (1 << 64) - 1


class Policy(Protocol):
    """What the scheduler needs of a policy. All calls come from the scheduler's OS thread."""

    def push(self, thread: GreenThread) -> None:
        """`thread` became runnable (new, woken, or preempted at the end of its slice)."""

    def pop(self) -> GreenThread | None:
        """Remove and return the thread to run next, or None when nothing is runnable."""

    def remove(self, thread: GreenThread) -> None:
        """Forget `thread` if queued (it is being aborted). Rare: may be slow."""

    def slice(self, thread: GreenThread) -> int:
        """The budget for the slice `thread` is about to run; called right after `pop` chose it."""

    def __len__(self) -> int:
        """How many threads are queued."""


class FairPolicy:
    """Round-robin: runnable threads run in the order they became runnable, each for `slice` units."""

    def __init__(self, slice: int = DEFAULT_SLICE) -> None:
        if slice < 1:
            raise ValueError("slice must be at least 1")
        self._slice = slice
        self._queue: deque[GreenThread] = deque()

    def push(self, thread: GreenThread) -> None:
        self._queue.append(thread)

    def pop(self) -> GreenThread | None:
        return self._queue.popleft() if self._queue else None

    def remove(self, thread: GreenThread) -> None:
        try:
            self._queue.remove(thread)
        except ValueError:
            pass

    def slice(self, thread: GreenThread) -> int:
        return self._slice

    def __len__(self) -> int:
        return len(self._queue)

    def __repr__(self) -> str:
        return f"FairPolicy(slice={self._slice})"


class SplitMix64:
    """splitmix64 (Steele, Lea, Flood 2014): expands one 64-bit seed into well-mixed words."""

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)


class Xoshiro256:
    """xoshiro256** 1.0 (Blackman, Vigna 2018), state seeded from splitmix64 as its authors advise."""

    def __init__(self, seed: int) -> None:
        sm = SplitMix64(seed)
        self.s = [sm.next(), sm.next(), sm.next(), sm.next()]

    def next(self) -> int:
        """The next 64-bit output."""
        s = self.s
        x = (s[1] * 5) & _MASK64
        result = ((((x << 7) | (x >> 57)) & _MASK64) * 9) & _MASK64
        t = (s[1] << 17) & _MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & _MASK64
        return result

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), n >= 1 (rejection sampling: no modulo bias)."""
        if n <= 1:
            return 0
        bits = (n - 1).bit_length()
        while True:
            r = self.next() >> (64 - bits)
            if r < n:
                return r


def log_uniform_slice(rng: Xoshiro256, lo: int, hi: int) -> int:
    """A slice length in [lo, hi], log-uniform: a power-of-two scale between lo and hi, then a
    uniform value within it, so very short slices (which expose races) come as often as long ones."""
    if lo == hi:
        return lo
    top = max(hi.bit_length() - lo.bit_length(), 0)
    scale = lo << rng.below(top + 1)
    return min(hi, scale + rng.below(scale))


class SeededPolicy:
    """A reproducible random schedule: the next thread and each slice come from a PRNG seeded with `seed`.

    Slices are drawn log-uniformly between `min_slice` and `max_slice`, so a run
    mixes very short slices (which expose races between a few instructions)
    with long ones (which let threads get real work done). Same seed, same
    program, same inputs: the same interleaving, step for step. Timeouts and
    sleeps follow the store's clock: give the store a VirtualClock too when the
    program waits with timeouts, or wall-clock timing leaks into the schedule.
    """

    def __init__(self, seed: int, *, min_slice: int = 1, max_slice: int = 10_000) -> None:
        if not 1 <= min_slice <= max_slice:
            raise ValueError("need 1 <= min_slice <= max_slice")
        self.seed = seed
        self._rng = Xoshiro256(seed)
        self._min = min_slice
        self._max = max_slice
        self._queue: list[GreenThread] = []

    def push(self, thread: GreenThread) -> None:
        self._queue.append(thread)

    def pop(self) -> GreenThread | None:
        q = self._queue
        n = len(q)
        if n == 0:
            return None
        # Swap-remove: O(1), and the order left behind is still a function of the seed alone.
        i = self._rng.below(n)
        thread = q[i]
        q[i] = q[-1]
        q.pop()
        return thread

    def remove(self, thread: GreenThread) -> None:
        try:
            self._queue.remove(thread)
        except ValueError:
            pass

    def slice(self, thread: GreenThread) -> int:
        return log_uniform_slice(self._rng, self._min, self._max)

    def __len__(self) -> int:
        return len(self._queue)

    def __repr__(self) -> str:
        return f"SeededPolicy({self.seed}, min_slice={self._min}, max_slice={self._max})"
