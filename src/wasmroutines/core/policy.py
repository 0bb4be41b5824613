"""Scheduling policies: which runnable green thread runs next, and for how long.

A policy owns the run queue of one scheduler. The scheduler hands it every
thread that becomes runnable (`push`), asks it for the next one (`pop`) and
for that thread's slice: the instruction budget after which the C core
preempts it (WR_YIELD on a loop back-edge or call).

The built-in policies keep their run queue and make every decision in the C
core (`wr_sched.h`), so a decision costs no Python arithmetic, and the same
seed gives the same decisions whichever side asks:

- FairPolicy: round robin, FIFO, one fixed slice;
- RandomWalkPolicy (SeededPolicy is the same walk): a random runnable thread
  for a log-uniformly random slice;
- PCTPolicy: probabilistic concurrency testing.

Their PRNG is xoshiro256** seeded through splitmix64, written out in C, never
Python's `random`, whose algorithm and seeding may change between Python
versions: the same seed must give the same interleaving, and so the same
output, on every machine and release. The scheduler also tells a built-in
policy of contention (a new or woken thread may cut the running slice short)
and of host calls returning (a seeded walk may switch there).

Any object with push/pop/remove/slice/__len__ (the Policy protocol) may be
given instead: a user's own policy, run in Python, one call per decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ._ffi import NULL, ffi, lib

if TYPE_CHECKING:
    from .greenthread import GreenThread

__all__ = [
    "DEFAULT_SLICE",
    "EXPLORE_SLICES",
    "RUN_SLICES",
    "SOLO_SLICE",
    "BuiltinPolicy",
    "FairPolicy",
    "PCTPolicy",
    "Policy",
    "RandomWalkPolicy",
    "SeededPolicy",
    "SplitMix64",
    "Xoshiro256",
]

#: Budget units (wasm instructions) a FairPolicy thread runs before it is preempted. Measured:
#: a tight loop runs about 2.5e9 units/s, and a slice end costs about 1.4 us even with nobody
#: else to run (back to Python and into wr_exec again). At 100_000 units (40 us) that is 3.5%
#: of throughput; at 1_000_000 (0.4 ms) 0.35%, lost in the noise, while a spinning thread still
#: hands over well within a millisecond.
DEFAULT_SLICE = 1_000_000

#: A seeded walk's slices, (min, max) budget units, drawn log-uniformly. RUN_SLICES are `run --seed`'s and
#: SeededPolicy's: a reproducible production run, at most about 1.25 times a fair run's cost (a decision
#: costs a few microseconds; these slices are tens to hundreds of microseconds of work) and still fair
#: (every runnable thread is picked at random, none runs longer than a fair slice). EXPLORE_SLICES are the
#: explorer's: switches a few instructions apart, which races need to show, at many decisions per run.
RUN_SLICES = (10_000, 1_000_000)
EXPLORE_SLICES = (1, 10_000)

#: The slice of a seeded thread with nobody else runnable (cut short once someone is), and of PCT's
#: threads past the last change point: long, so single-threaded work costs the same as a fair run.
SOLO_SLICE = 1_000_000

_MASK64 = (1 << 64) - 1

#: Why a thread became runnable (wr_sched.h): a new or woken thread contends with the running one.
PUSH_NEW: int = lib.WR_PUSH_NEW
PUSH_WOKEN: int = lib.WR_PUSH_WOKEN
PUSH_PREEMPTED: int = lib.WR_PUSH_PREEMPTED
_NO_CUT: int = lib.WR_NO_CUT


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


_CORE_DECIDES: dict[type, bool] = {}


def _no_adopt(task: Any) -> GreenThread:
    raise KeyError(int(lib.wr_api_task_host_id(task)))


class BuiltinPolicy:
    """A policy whose run queue and decisions live in the C core (a `wr_policy`); see the module docstring.

    `decisions` (when made with `log=True`) lists the thread id picked at each
    decision, from a C buffer of 4 bytes a decision; without it nothing is kept
    per decision. One policy object serves one store at a time.
    """

    #: Whether a returning host call asks the C policy if the thread should give way.
    _hostcall_switch = False
    #: Whether the scheduler tells it of slices starting and stopping (the running thread: contention cuts, PCT's
    #: change points). Fair round robin needs neither, and skips the calls on its hot path.
    _slice_events = True

    def __init__(self, ptr: Any, *, log: bool = False) -> None:
        if ptr == NULL:
            raise MemoryError("cannot make a scheduling policy")
        self._ptr = ffi.gc(ptr, lib.wr_policy_free)
        # The C queue's length, read with no call (asked at every loop turn and round trip: aio.py); valid while
        # _ptr is, which this object holds.
        self._queued = lib.wr_policy_queued(self._ptr)
        # Threads by id, for pop to map a C task back: the served scheduler's live threads, or (a policy used
        # on its own) the queued ones, kept here.
        self._threads: dict[int, GreenThread] = {}
        self._own_threads = True
        self._native: Any = None  # the store served (its _Native), whose units run PCT counts
        self._adopt: Callable[[Any], GreenThread] = _no_adopt  # the served scheduler's maker of unknown tasks
        if log:
            lib.wr_policy_set_logging(self._ptr, True)

    # ---- the Policy protocol ----

    def push(self, thread: GreenThread, reason: int = PUSH_PREEMPTED) -> None:
        # A contention cut (a shorter slice for the running thread) is set on its wasm thread in C.
        if lib.wr_policy_push(self._ptr, thread._task, reason) < _NO_CUT:
            raise MemoryError("cannot queue a thread")
        if self._own_threads:
            self._threads[thread.id] = thread

    def pop(self) -> GreenThread | None:
        task = lib.wr_policy_pop(self._ptr)
        if task == NULL:
            return None
        tid = int(lib.wr_api_task_host_id(task))
        try:
            return self._threads.pop(tid) if self._own_threads else self._threads[tid]
        except KeyError:
            return self._adopt(task)  # a thread the C core spawned (wr_spawn.h)

    def remove(self, thread: GreenThread) -> None:
        if lib.wr_policy_remove(self._ptr, thread._task) and self._own_threads:
            del self._threads[thread.id]

    def slice(self, thread: GreenThread) -> int:
        return int(lib.wr_policy_slice(self._ptr))

    def __len__(self) -> int:
        return self._queued[0]  # type: ignore[no-any-return]

    # ---- events from the scheduler ----

    def attach(self, native: Any, threads: dict[int, GreenThread], adopt: Callable[[Any], GreenThread]) -> None:
        """Serve this store (its `_Native`) and scheduler (its live threads by id; `adopt` gives the thread of a
        task it does not list: one the C core spawned) from now on, queue empty, counting progress (PCT's
        steps) from its units run."""
        lib.wr_policy_attach(self._ptr, native.ptr)
        self._native = native
        self._threads = threads
        self._own_threads = False
        self._adopt = adopt

    def _store_alive(self) -> None:
        """Before the C policy reads its store's count: a store freed since (the policy outlived it) is
        detached first, so nothing reads freed memory."""
        native = self._native
        if native is not None and native.ptr is None:
            lib.wr_policy_attach(self._ptr, ffi.NULL)
            self._native = None

    def started(self, thread: GreenThread) -> None:
        lib.wr_policy_started(self._ptr, thread._task)

    def stopped(self, thread: GreenThread, exited: bool) -> None:
        lib.wr_policy_stopped(self._ptr, thread._task, exited)

    @classmethod
    def _decides_in_core(cls) -> bool:
        """Whether this class decides as the C policy does: a subclass that overrides a decision (a user's
        policy built on a built-in one) must be asked in Python, so the C core never switches for it."""
        ok = _CORE_DECIDES.get(cls)
        if ok is None:
            names = ("push", "pop", "remove", "slice", "started", "stopped", "hostcall_done", "__len__")
            ok = _CORE_DECIDES[cls] = all(
                next(k for k in cls.__mro__ if name in vars(k)).__module__ == __name__ for name in names
            )
        return ok

    def hostcall_done(self, thread: GreenThread) -> bool:
        """A host call of `thread` returned: True when the policy wants it to give way now."""
        return bool(lib.wr_policy_hostcall_done(self._ptr, thread._task))

    @property
    def decisions(self) -> list[int]:
        """The thread id picked at each decision so far (empty unless made with `log=True`)."""
        n = int(lib.wr_policy_log_len(self._ptr))
        return list(ffi.unpack(lib.wr_policy_log(self._ptr), n)) if n else []


class FairPolicy(BuiltinPolicy):
    """Round-robin: runnable threads run in the order they became runnable, each for `slice` units."""

    def __init__(self, slice: int = DEFAULT_SLICE) -> None:
        if slice < 1:
            raise ValueError("slice must be at least 1")
        if slice >= 2**62:
            raise ValueError(f"slice too large: {slice}")
        super().__init__(lib.wr_policy_new_fair(slice))
        self._slice = slice

    _slice_events = False

    def slice(self, thread: GreenThread) -> int:
        return self._slice  # the C policy's fixed slice, without a call on every switch

    def _set_slice(self, slice: int) -> None:
        """The slice from the next one on (core/aio.py: a default store's, while a loop drives it)."""
        lib.wr_policy_set_fair_slice(self._ptr, slice)
        self._slice = slice

    def __repr__(self) -> str:
        return f"FairPolicy(slice={self._slice})"


class RandomWalkPolicy(BuiltinPolicy):
    """A reproducible random schedule: the next thread and each slice come from a PRNG seeded with `seed`.

    At each decision a uniformly random runnable thread runs for a slice drawn
    log-uniformly between `min_slice` and `max_slice`, so a run mixes short
    slices with long ones. The defaults (RUN_SLICES) are `run --seed`'s: a
    reproducible run at nearly a fair run's cost; the explorer uses
    EXPLORE_SLICES (from 1 unit: races between a few instructions show). A thread with nobody to
    switch to runs `solo_slice` (so single-threaded stretches cost what a fair
    run does); when another thread becomes runnable its slice is cut back to a
    random one. After each host call it gives way with probability 1/2 (spawn,
    I/O). Same seed, same program, same inputs: the same interleaving, step
    for step. Timeouts and sleeps follow the store's clock: a Store given this
    policy and no clock keeps time virtual (determinism.DeterministicClock),
    as `run --seed` and the explorer do.
    """

    _hostcall_switch = True

    def __init__(
        self,
        seed: int,
        *,
        min_slice: int | None = None,
        max_slice: int = RUN_SLICES[1],
        solo_slice: int = SOLO_SLICE,
        log: bool = False,
    ) -> None:
        if min_slice is None:  # RUN_SLICES' minimum, or max_slice when that is lower
            min_slice = min(RUN_SLICES[0], max_slice)
        if not 1 <= min_slice <= max_slice:
            raise ValueError("need 1 <= min_slice <= max_slice")
        if max_slice >= 2**62 or solo_slice >= 2**62:
            raise ValueError("slices must be below 2**62")
        super().__init__(lib.wr_policy_new_random(seed & _MASK64, min_slice, max_slice, solo_slice), log=log)
        self.seed = seed
        self._min = min_slice
        self._max = max_slice

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.seed}, min_slice={self._min}, max_slice={self._max})"


class SeededPolicy(RandomWalkPolicy):
    """`RandomWalkPolicy` under its older name: `SeededPolicy(seed)` is the schedule `run --seed seed` runs."""


class PCTPolicy(BuiltinPolicy):
    """The "pct" strategy (Burckhardt et al. 2010): strict random priorities, depth-1 random change points in
    `steps` units (an estimate of the run's length). A bug of depth d is found with probability at least
    1/(n k^(d-1)) per run."""

    _hostcall_switch = True

    def __init__(self, seed: int, *, depth: int = 3, steps: int = 100_000, log: bool = False) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        if steps < 1:
            raise ValueError("steps must be at least 1")
        if depth >= 2**32 or steps >= 2**63:
            raise ValueError("depth or steps too large")
        super().__init__(lib.wr_policy_new_pct(seed & _MASK64, depth, steps, SOLO_SLICE), log=log)
        self.seed = seed
        self.depth = depth
        self.steps = steps

    # PCT alone reads its store's units run (slices to the next change point, the points passed at a stop).

    def slice(self, thread: GreenThread) -> int:
        self._store_alive()
        return super().slice(thread)

    def stopped(self, thread: GreenThread, exited: bool) -> None:
        self._store_alive()
        super().stopped(thread, exited)

    @property
    def change_points(self) -> list[int]:
        """The units-run counts at which the running thread's priority drops, ascending."""
        return [int(lib.wr_policy_change_point(self._ptr, i)) for i in range(lib.wr_policy_nchange(self._ptr))]

    def __repr__(self) -> str:
        return f"PCTPolicy({self.seed}, depth={self.depth}, steps={self.steps})"


class SplitMix64:
    """splitmix64 (Steele, Lea, Flood 2014): expands one 64-bit seed into well-mixed words (seed derivation and
    seeded random bytes; the policies' own copy is in C)."""

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
