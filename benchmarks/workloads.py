"""The workloads: what runs, at which size, and the result every peer must produce (so a broken run cannot look
fast). Sizes are chosen so that one run takes about 0.1-1 s on Wasmroutines; the reduced sizes are for pywasm."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: the issue's compute bar: the geometric mean of Wasmroutines/wasm3 time over these, measured in one run
BAR = ("coremark", "c-ray", "mandelbrot", "fib", "loop", "sieve", "memrw")


@dataclass(frozen=True)
class CallWorkload:
    """A call of one export with integer arguments and an integer result."""

    id: str
    #: "micro" (micro.wat, compiled at run time), a .wasm path under bench/wasm3, or a .wat file in benchmarks/
    #: (compiled at run time)
    source: str
    export: str
    args: tuple[int, ...]
    #: the result as unsigned
    expected: int
    #: the item of BAR this row stands for
    bar: str | None = None
    #: small enough for pywasm
    reduced: bool = False
    result_type: str = "i32"
    #: the peers that run it (None: every peer); a feature the others lack (tail calls) leaves them out
    peers: tuple[str, ...] | None = None


#: WebAssembly 3.0 tail calls: wasm3 and pywasm have none
TAIL_CALL_PEERS = ("wasmroutines", "wasmtime")
#: WebAssembly 3.0 exception handling: wasm3 and pywasm have none (wasmtime with its wasm_exceptions config on)
EXCEPTION_PEERS = ("wasmroutines", "wasmtime")
#: WebAssembly 3.0 GC (structs): wasm3 and pywasm have none (wasmtime with its wasm_gc config on)
GC_PEERS = ("wasmroutines", "wasmtime")


@dataclass(frozen=True)
class CommandWorkload:
    """A WASI command program run once per instance (_start), its stdout checked."""

    id: str
    #: path under bench/wasm3
    program: str
    args: tuple[str, ...] = ()
    #: path under bench/wasm3 fed to stdin
    stdin: str | None = None
    #: SHA-1 of the whole stdout (EXPECTED.md), for the deterministic programs
    stdout_sha1: str | None = None
    #: a line the stdout must contain, for those that print timings
    stdout_contains: str | None = None
    #: a regex whose group 1 is a score (higher is better) in stdout; the table shows it instead of the time
    score_pattern: str | None = None
    bar: str | None = None
    reduced: bool = False
    #: runs too long for the quick mode
    full_only: bool = False
    #: timed rounds relative to the mode's (short programs get more)
    rounds_scale: int = 1
    #: the WASI module name it imports
    wasi_module: str = "wasi_snapshot_preview1"
    #: runs for seconds on every peer (CoreMark calibrates itself to 10 s): the mode's long_rounds rounds
    long_running: bool = False

    def score(self, stdout: bytes) -> float | None:
        if self.score_pattern is None:
            return None
        match = re.search(self.score_pattern, stdout.decode(errors="replace"))
        return float(match.group(1)) if match else None


CALLS: tuple[CallWorkload, ...] = (
    CallWorkload("micro fib(32)", "micro", "fib", (32,), 2178309, bar="fib"),
    CallWorkload("micro loop(30M)", "micro", "loop", (30_000_000,), 1264853824, bar="loop"),
    CallWorkload("micro sieve(1M)x8", "micro", "sieve", (1_000_000, 8), 78498, bar="sieve"),
    CallWorkload("micro memrw(500K)x30", "micro", "memrw", (500_000, 30), 3912572172, bar="memrw"),
    CallWorkload("lang/fib32 fib(34)", "lang/fib32.wasm", "fib", (34,), 5702887),
    CallWorkload("lang/fib64 fib(34)", "lang/fib64.wasm", "fib", (34,), 5702887, result_type="i64"),
    CallWorkload("tail even/odd(10M)", "tail_calls.wat", "is_even", (10_000_000,), 1, peers=TAIL_CALL_PEERS),
    CallWorkload(
        "tail sum(10M)",
        "tail_calls.wat",
        "sum",
        (10_000_000, 0, 1),
        50000005000000,
        result_type="i64",
        peers=TAIL_CALL_PEERS,
    ),
    CallWorkload(
        "throw+catch across 10 frames (1M)",
        "exceptions.wat",
        "throw_catch",
        (1_000_000,),
        1784293664,
        peers=EXCEPTION_PEERS,
    ),
    CallWorkload(
        "gc list of 1M structs",
        "gc.wat",
        "list_sum",
        (1_000_000,),
        500000500000,
        result_type="i64",
        peers=GC_PEERS,
    ),
    # reduced: every peer, pywasm included
    CallWorkload("micro fib(20)", "micro", "fib", (20,), 6765, reduced=True),
    CallWorkload("micro loop(10K)", "micro", "loop", (10_000,), 3403705432, reduced=True),
    CallWorkload("micro sieve(10K)x1", "micro", "sieve", (10_000, 1), 1229, reduced=True),
    CallWorkload("micro memrw(4K)x1", "micro", "memrw", (4_000, 1), 3445845312, reduced=True),
    CallWorkload("lang/fib32 fib(20)", "lang/fib32.wasm", "fib", (20,), 6765, reduced=True),
)

#: coremark-minimal: export `run` -> f32 score, import env.clock_ms() -> i64; no WASI. Its score is positive only
#: when CoreMark's own CRC checks pass (and it ran its 10 s by the given clock).
COREMARK_MINIMAL = "coremark/coremark-minimal.wasm"
COREMARK_ID = "coremark-minimal"

COMMANDS: tuple[CommandWorkload, ...] = (
    CommandWorkload(
        "c-ray 128x128",
        "c-ray/c-ray.wasm",
        ("-s", "128x128"),
        stdin="c-ray/scene",
        stdout_sha1="90f86845ae227466a06ea8db06e753af4838f2fa",
        bar="c-ray",
        rounds_scale=3,
    ),
    CommandWorkload(
        "mandelbrot 128 4e5",
        "mandelbrot/mandel.wasm",
        ("128", "4e5"),
        stdout_sha1="37091e7ce96adeea88f079ad95d239a651308a56",
        bar="mandelbrot",
    ),
    CommandWorkload(
        "smallpt-ex 16 64",
        "smallpt/smallpt-ex.wasm",
        ("16", "64"),
        stdout_sha1="d85df3561eb15f6f0e6f20d5640e8e1306222c6d",
    ),
    CommandWorkload(
        "mandelbrot_dd 128 4e5",
        "mandelbrot/mandel_dd.wasm",
        ("128", "4e5"),
        stdout_sha1="b3f904daf1c972b4f7d3f8996743cb5b5146b877",
        full_only=True,
    ),
    CommandWorkload(
        "smallpt-ex-mv 16 64",
        "smallpt/smallpt-ex-mv.wasm",
        ("16", "64"),
        stdout_sha1="d85df3561eb15f6f0e6f20d5640e8e1306222c6d",
        full_only=True,
    ),
    CommandWorkload(
        "stream",
        "stream/stream.wasm",
        stdout_contains="Solution Validates",
        full_only=True,
        long_running=True,
    ),
    CommandWorkload(
        "coremark (WASI)",
        "coremark/coremark.wasm",
        stdout_contains="Correct operation validated.",
        score_pattern=r"Iterations/Sec\s*:\s*([0-9.]+)",
        full_only=True,
        long_running=True,
    ),
    CommandWorkload(
        "brotli -c -f",
        "brotli/brotli.wasm",
        ("-c", "-f"),
        stdin="brotli/alice29_small.txt",
        stdout_sha1="0e8af02a7207c0c617d7d38eed92853c4a619987",
        rounds_scale=3,
        wasi_module="wasi_unstable",
    ),
    # reduced: pywasm takes about 11 s on it (mandelbrot 32 about 2 min, smallpt 4 32 over 5 min: not run)
    CommandWorkload(
        "c-ray 32x32",
        "c-ray/c-ray.wasm",
        ("-s", "32x32"),
        stdin="c-ray/scene",
        stdout_sha1="05af9604bf352234276e4d64e84b8d666574316c",
        reduced=True,
        rounds_scale=3,
    ),
)


@dataclass(frozen=True)
class ThreadWorkload:
    """A threading row (test_threads.py): Wasmroutines' green threads against wasmtime on OS threads. Its cells are
    per-unit figures the benchmark measures itself (wall or CPU time, or RSS), not pytest-benchmark's round times.
    Every peer of a row runs the same size."""

    id: str
    #: the pytest id
    key: str
    #: what one cell counts: "µs" per operation or per thread, "KiB" per thread, "s" for a whole run
    unit: str
    #: how the figure is taken: "wall" (perf_counter inside the process), "process CPU" (user + system time of a
    #: child process, all its threads), "RSS" (resident memory growth)
    clock: str
    #: the issue's bar for this row, as the table prints it ("–": none)
    bar: str
    #: the size (round trips, threads, iterations each) in the quick and the full mode; None: not run in that mode
    quick: int | None
    full: int
    #: the peers that run it (wasmtime cannot run some at all: see README.md)
    peers: tuple[str, ...] = ("wasmroutines", "wasmtime")
    #: a row taken from another row's runs: (that row's id, the `extra_info` key of this row's figure)
    derived_from: tuple[str, str] | None = None

    def size(self, mode: str) -> int | None:
        return self.quick if mode == "quick" else self.full


#: the peers of the threading rows
THREAD_PEERS = ("wasmroutines", "wasmtime")

PINGPONG = ThreadWorkload(
    "futex ping-pong round trip",
    "pingpong",
    "µs",
    "wall",
    "≥ 5x faster than OS threads",
    quick=20_000,
    full=100_000,
)
SPAWN_JOIN = ThreadWorkload(
    "spawn+join of a function on one instance",
    "spawn_join",
    "µs",
    "wall",
    "< 10 µs",
    quick=1_000,
    full=5_000,
)
#: a real wasi-threads program (tests/programs/c/spawn_many.c): N threads alive at once, each spawned by
#: `wasi.thread-spawn` on a new instance, parked on a futex, woken, finished and joined
SPAWN_MANY_PROGRAM = "tests/programs/wasm/c_spawn_many.wasm"
SLEEPERS_PROGRAM = "tests/programs/wasm/c_sleepers.wasm"
#: threads of the sleep workload
SLEEPERS = 8
WASI_SPAWN = ThreadWorkload(
    "wasi-threads spawn+exit, CPU per thread (1,000 threads)",
    "wasi_spawn",
    "µs",
    "process CPU",
    "≤ 10 µs (issue 15; the bar is at 10,000 threads)",
    quick=1_000,
    full=1_000,
)
#: the same at the size users of many threads meet; wasmtime's harness cannot run it (README.md: its 10,000 Python
#: threads contend for the GIL for minutes)
WASI_SPAWN_LARGE = ThreadWorkload(
    "wasi-threads spawn+exit, CPU per thread (10,000 threads)",
    "wasi_spawn_large",
    "µs",
    "process CPU",
    "≤ 10 µs (issue 15)",
    quick=None,
    full=10_000,
    peers=("wasmroutines",),
)
#: peak RSS of the same runs as WASI_SPAWN: memory per live wasi-threads thread, its instance included
WASI_MEMORY = ThreadWorkload(
    "wasi-threads peak memory per live thread (1,000 threads)",
    "wasi_memory",
    "KiB",
    "RSS",
    "–",
    quick=1_000,
    full=1_000,
    derived_from=(WASI_SPAWN.id, "peak_rss_kib_per_thread"),
)
IDLE_MEMORY = ThreadWorkload(
    "memory per idle thread of a function on one instance",
    "idle_memory",
    "KiB",
    "RSS",
    "< 16 KiB",
    quick=10_000,
    full=10_000,
    peers=("wasmroutines",),
)
IDLE_FIT = ThreadWorkload(
    "idle threads fit (park, wake, join)",
    "idle_fit",
    "s",
    "wall",
    "100,000 fit",
    quick=10_000,
    full=100_000,
    peers=("wasmroutines",),
)
MANY_THREADS = ThreadWorkload(
    "64 threads: futex mutex + atomic counter",
    "many_threads",
    "s",
    "wall",
    "–",
    quick=20_000,
    full=50_000,
)
#: a sleep as wasi-libc's nanosleep makes it: poll_oneoff on one monotonic clock (tests/programs/c/sleepers.c); the
#: size is each thread's sleeps
WASI_SLEEP = ThreadWorkload(
    f"wasi-threads thread's 1 µs sleep (poll_oneoff), CPU per sleep ({SLEEPERS} threads)",
    "wasi_sleep",
    "µs",
    "process CPU",
    "–",
    quick=50_000,
    full=200_000,
)
#: the idle-fit bar's size
FIT_BAR = 100_000
#: timed rounds of the threading rows (OS threads are noisy): at least this many
THREAD_ROUNDS = 5
THREADS = (
    PINGPONG,
    SPAWN_JOIN,
    WASI_SPAWN,
    WASI_SPAWN_LARGE,
    WASI_MEMORY,
    WASI_SLEEP,
    IDLE_MEMORY,
    IDLE_FIT,
    MANY_THREADS,
)
#: threads of the many-thread workload
MANY = 64


# ---- deterministic runs against fair runs (issue 15; test_seeded.py) ----

#: the issue's bars, as the report checks them
SEEDED_MAX = 1.25  # `run --seed 1` CPU over fair `run` CPU, each CPU-bound program
OBSERVED_MAX = 1.5  # `run --seed 1 --trace` or `--record` CPU over fair `run` CPU (the C core logs the switches)
EXPLORE_MAX = 1.5  # the explorer's CPU per schedule over a fair run's, without shared-access preemption
EXPLORE_SHARED_MAX = 2.0  # the same with shared-access preemption (the explorer's default)
DECISION_MAX_US = 0.3  # one deterministic scheduling decision between two runnable wasm threads
PINGPONG_SEEDED_MAX = 3.0  # futex ping-pong round trip, seeded over fair
#: issue 18 (benchmarks/test_asyncio.py): many calls on one loop, each awaiting asyncio.sleep(0.1), end within
#: this many seconds, while an unrelated task ticking every 10 ms sees a p99 gap under this many ms; an async host
#: call round trip costs at most this much CPU; an asyncio server beside CPU-bound wasm keeps its p99 within this
#: factor of its p99 alone, and the wasm at least this share of its throughput alone
ASYNC_WALL_MAX_S = 1.0
ASYNC_GAP_MAX_MS = 50.0
ASYNC_ROUND_TRIP_MAX_US = 5.0
ASYNC_SERVER_P99_MAX = 2.0
ASYNC_WASM_SHARE_MIN = 0.5
RSS_GROWTH_MAX = 0.10  # peak RSS of a deterministic run 10x longer than another, over the shorter's, less 1
WASI_SPAWN_MAX_US = 10.0  # wasi-threads spawn+exit, CPU per thread
CLUSTER_SPEEDUP_MIN = 1.5  # explorer rate on 2 Dask workers over 1, on the larger program (issue 20)

MANIFEST = json.loads((Path(__file__).resolve().parent.parent / "tests/programs/manifest.json").read_text())


def _primes_below(n: int) -> int:
    """π(n - 1), by a sieve: the prime pool's answer, computed here rather than taken from another engine."""
    if n < 3:
        return 0
    sieve = bytearray([1]) * n
    sieve[0] = sieve[1] = 0
    for i in range(2, math.isqrt(n - 1) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, n, i)))
    return sum(sieve)


def _prime_pool_stdout(args: tuple[str, ...]) -> str:
    workers, chunks, size = (int(a) for a in args)
    below = chunks * size
    primes = _primes_below(below)
    return f"prime_pool: {workers} workers, {chunks} of {chunks} chunks of {size}, {primes} primes below {below}\n"


def _spin_stdout(args: tuple[str, ...]) -> str:
    threads, steps = (int(a) for a in args)
    each = steps // threads
    return f"spin: {threads} threads x {each} steps, counters sum {threads * each}\n"


def _pingpong_stdout(args: tuple[str, ...]) -> str:
    rounds = int(args[0])
    return f"pingpong: {rounds} round trips, {2 * rounds} turns taken\n"


@dataclass(frozen=True)
class SeededProgram:
    """A CPU-bound multithreaded program run fair, seeded and explored (test_seeded.py, test_program_modes)."""

    #: the row's name: the program's (its arguments are shown beside it)
    id: str
    #: the pytest id
    key: str
    #: the .wasm, from the repository's root
    program: str
    #: its arguments (after the program's name) in the quick and the full mode
    quick: tuple[str, ...]
    full: tuple[str, ...]
    #: the exact stdout for the given arguments
    stdout: Callable[[tuple[str, ...]], str]
    #: schedules per exploration in the quick and the full mode (the figure: explore N minus explore 1, over N - 1)
    explore_quick: int
    explore_full: int

    def args(self, mode: str) -> tuple[str, ...]:
        return self.quick if mode == "quick" else self.full

    def explore_runs(self, mode: str) -> int:
        return self.explore_quick if mode == "quick" else self.explore_full


def _atomics_stdout(args: tuple[str, ...]) -> str:
    """tests/programs/zig/atomics.zig with ROUNDS: 8 threads; its sum is a u32 (wraps)."""
    rounds = int(args[0])
    sum_ = 8 * rounds * (rounds + 1) // 2 % 2**32
    return (
        f"atomics: sum={sum_} balance={8 * rounds} bits=ff highest={7000 + rounds - 1} guarded={8 * rounds} "
        "power_ok=true\n"
    )


def _mutex_stdout(args: tuple[str, ...]) -> str:
    threads, iterations = (int(a) for a in args)
    return f"mutex: {threads} threads x {iterations} = {threads * iterations}, at most 1 in the lock\n"


def _condition_stdout(args: tuple[str, ...]) -> str:
    """tests/programs/zig/condition.zig with PER_PRODUCER: 3 producers put 1..3 PER_PRODUCER through the queue."""
    items = 3 * int(args[0])
    return f"condition: {items} items through a queue of 4, sum {items * (items + 1) // 2}\n"


def _zig_program(name: str, args: tuple[str, ...], stdout: Callable[[tuple[str, ...]], str]) -> SeededProgram:
    """One of the repo's Zig programs (tests/programs/zig/, Debug builds), with larger arguments than its manifest's:
    with those it runs a few milliseconds, too little to tell its modes apart. The output at the manifest's
    arguments must be the manifest's (checked at import), so the formula is the program's."""
    spec = MANIFEST["programs"][name]
    assert stdout(tuple(spec["args"])) == spec["stdout"], f"{name}: the formula disagrees with the manifest"
    return SeededProgram(name, name, f"tests/programs/wasm/{name}.wasm", args, args, stdout, 3, 4)


PRIME_POOL = SeededProgram(
    "c_prime_pool",
    "prime_pool",
    "tests/programs/wasm/c_prime_pool.wasm",
    ("6", "64", "10000"),
    ("6", "64", "20000"),
    _prime_pool_stdout,
    3,
    4,
)
#: the issue's size, 2x10^7 steps in all, in both modes
SPIN = SeededProgram(
    "c_spin",
    "spin",
    "tests/programs/wasm/c_spin.wasm",
    ("4", "20000000"),
    ("4", "20000000"),
    _spin_stdout,
    3,
    4,
)
SEEDED_PROGRAMS = (
    PRIME_POOL,
    SPIN,
    _zig_program("zig_atomics", ("60000",), _atomics_stdout),
    _zig_program("zig_mutex", ("6", "15000"), _mutex_stdout),  # 90,000 sched_yields
    _zig_program("zig_condition", ("15000",), _condition_stdout),
)
#: timed rounds of each program row (each round runs every mode: about 10 seeded runs' worth of CPU)
SEEDED_PROGRAM_ROUNDS = {"quick": 3, "full": 5}
SPIN_PROGRAM = SPIN.program
PINGPONG_PROGRAM = "tests/programs/wasm/c_pingpong.wasm"
SPIN_STDOUT = _spin_stdout
PINGPONG_STDOUT = _pingpong_stdout


@dataclass(frozen=True)
class SeededSize:
    """A size (steps, round trips) and the timed rounds, in the quick and the full mode."""

    quick: int
    full: int
    quick_rounds: int
    full_rounds: int

    def size(self, mode: str) -> int:
        return self.quick if mode == "quick" else self.full

    def rounds(self, mode: str) -> int:
        return self.quick_rounds if mode == "quick" else self.full_rounds


#: two threads spinning under `--slices 1:1`: steps in all (each thread half); enough decisions that their cost
#: (about 0.01 µs each since the core switches threads itself) stands well above the runs' noise
DECISION = SeededSize(quick=10_000_000, full=40_000_000, quick_rounds=3, full_rounds=5)
#: the small sizes whose traces count the decisions (steps in all): 0, k, 2k, 3k
DECISION_TRACE_STEPS = 2_000
#: futex ping-pong: round trips
PINGPONG_SEEDED = SeededSize(quick=300_000, full=1_000_000, quick_rounds=3, full_rounds=5)
#: four threads spinning, seeded: steps in all of the shorter run (the longer runs 10 times as many)
RSS_RUN = SeededSize(quick=10_000_000, full=20_000_000, quick_rounds=1, full_rounds=3)
