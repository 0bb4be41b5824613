"""Threading rows: Wasmroutines' green threads (one OS thread) against wasmtime running the same module on OS
threads (threads_wasm.py), and a real wasi-threads program run by `wasmroutines run` and by wasmtime with the
harness's thread-spawn (wasi_threads_wasmtime.py). Every figure is one the test measures itself (wall time, the
CPU time of a child process, or RSS) and keeps in `extra_info` (value, values, unit); pytest-benchmark's own round
times are the whole rounds, by the run's timer. Every peer of a row runs the same size, and every round checks its
counts or output, so a broken run cannot look fast."""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from .children import run_child
from .paths import ROOT
from .settings import Settings
from .threads_wasm import ATOMIC_COUNT, PINGS, PLAIN_COUNT, GreenRuntime, OsRuntime, wasm
from .workloads import (
    IDLE_FIT,
    IDLE_MEMORY,
    MANY,
    MANY_THREADS,
    PINGPONG,
    SLEEPERS,
    SLEEPERS_PROGRAM,
    SPAWN_JOIN,
    SPAWN_MANY_PROGRAM,
    THREAD_ROUNDS,
    WASI_SLEEP,
    WASI_SPAWN,
    WASI_SPAWN_LARGE,
    ThreadWorkload,
)


@pytest.fixture(scope="module")
def binary() -> bytes:
    return wasm()  # our own wat2wasm: a failure here is ours, not a skip


def _wasmtime_installed(peer_name: str) -> None:
    if peer_name == "wasmtime" and importlib.util.find_spec("wasmtime") is None:
        pytest.skip("wasmtime is not installed")


def _runtime(peer_name: str, binary: bytes) -> GreenRuntime | OsRuntime:
    _wasmtime_installed(peer_name)
    return GreenRuntime(binary) if peer_name == "wasmroutines" else OsRuntime(binary)


def _params(workload: ThreadWorkload) -> list[Any]:
    return [pytest.param(workload.id, p, id=f"{workload.key}-{p}") for p in workload.peers]


def _size(workload: ThreadWorkload, settings: Settings) -> int:
    n = workload.size(settings.name)
    if n is None:
        pytest.skip(f"{settings.name} mode: not run (the full mode runs {workload.full:,})")
    return n


def _rounds(settings: Settings) -> int:
    return max(settings.rounds, THREAD_ROUNDS)


def _measure(
    benchmark: Any, workload: ThreadWorkload, peer_name: str, rounds: int, run: Callable[[], float], **extra: Any
) -> list[float]:
    """Run `run` (returns its figure in the workload's unit) for `rounds` timed rounds plus one warm-up."""
    values: list[float] = []
    benchmark.group = workload.id
    benchmark.extra_info.update(
        workload=workload.id, peer=peer_name, kind="threads", unit=workload.unit, clock=workload.clock, **extra
    )
    benchmark.pedantic(lambda: values.append(run()), rounds=rounds, warmup_rounds=1 if rounds > 1 else 0)
    values = values[-rounds:]
    benchmark.extra_info.update(value=statistics.median(values), values=values)
    return values


# ---- futex ping-pong ----


@pytest.mark.parametrize(("workload", "peer_name"), _params(PINGPONG))
def test_pingpong(benchmark: Any, settings: Settings, binary: bytes, workload: str, peer_name: str) -> None:
    """Two threads hand a turn back and forth through wait32/notify on one word: µs per round trip. On both sides
    the span starts once both threads exist (wasmtime's have their instances) and ends when both are joined."""
    n = _size(PINGPONG, settings)
    rt = _runtime(peer_name, binary)
    reset, load = rt.export("reset"), rt.export("load")

    def green() -> float:
        from wasmroutines import join, spawn

        pingpong = rt.export("pingpong")
        a, b = spawn(pingpong, 0, n), spawn(pingpong, 1, n)  # they start running at the first join
        t0 = time.perf_counter()
        done = (join(a), join(b))
        elapsed = time.perf_counter() - t0
        assert done == (n, n)
        return elapsed

    def os_threads() -> float:
        assert isinstance(rt, OsRuntime)
        ready = threading.Barrier(3)
        threads = [rt.thread("pingpong", me, n, ready=ready) for me in (0, 1)]
        for t, _ in threads:
            t.start()
        ready.wait()  # both instantiated
        t0 = time.perf_counter()
        for t, _ in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        assert [out for _, out in threads] == [[n], [n]]
        return elapsed

    def run() -> float:
        reset()
        elapsed = green() if peer_name == "wasmroutines" else os_threads()
        assert load(PINGS) == 2 * n, "every turn counted"
        return elapsed / n * 1e6

    _measure(benchmark, PINGPONG, peer_name, _rounds(settings), run, round_trips=n)


# ---- spawn + join ----


@pytest.mark.parametrize(("workload", "peer_name"), _params(SPAWN_JOIN))
def test_spawn_join(benchmark: Any, settings: Settings, binary: bytes, workload: str, peer_name: str) -> None:
    """Start a thread running a trivial export of one existing instance and join it, one after another: µs per
    spawn+join. No side makes an instance: Wasmroutines spawns a green thread on the instance's function, wasmtime
    starts a `threading.Thread` calling the same instance's export (one thread at a time uses its Store). A real
    wasi-threads thread also gets a new instance: test_wasi_spawn measures that."""
    n = _size(SPAWN_JOIN, settings)
    rt = _runtime(peer_name, binary)
    noop = rt.export("noop")

    def green() -> int:
        from wasmroutines import join, spawn

        return sum(int(join(spawn(noop))) for _ in range(n))

    def os_threads() -> int:
        total = 0
        for _ in range(n):
            out: list[Any] = []
            t = threading.Thread(target=lambda out=out: out.append(noop()), daemon=True)
            t.start()
            t.join()
            total += out[0] if out and isinstance(out[0], int) else 0
        return total

    def run() -> float:
        t0 = time.perf_counter()
        total = green() if peer_name == "wasmroutines" else os_threads()
        elapsed = time.perf_counter() - t0
        assert total == n, f"{total} of {n} threads returned"
        return elapsed / n * 1e6

    _measure(benchmark, SPAWN_JOIN, peer_name, _rounds(settings), run, threads=n)


# ---- a real wasi-threads program, in a child process ----


def _run_child(command: list[str]) -> tuple[float, int, bytes]:
    """Run `command` to its end: its CPU time (user + system, all its threads), its peak RSS in KiB, its stdout."""
    child = run_child(command, timeout=600)
    assert child.returncode == 0, f"{' '.join(command[1:])}: {child.describe()}"
    return child.cpu_s, child.maxrss_kib, child.stdout


def _spawn_many_command(peer_name: str, n: int) -> list[str]:
    program = str(ROOT / SPAWN_MANY_PROGRAM)
    if peer_name == "wasmroutines":
        return [sys.executable, "-m", "wasmroutines", "run", program, str(n)]
    return [sys.executable, "-m", "benchmarks.wasi_threads_wasmtime", program, str(n)]


def _wasi_spawn(benchmark: Any, settings: Settings, workload: ThreadWorkload, peer_name: str) -> None:
    """tests/programs/c/spawn_many.c with N threads and with none, each in a fresh process, in turns: the CPU time
    per thread is (CPU(N) - CPU(0)) / N, so process start, imports and compilation cancel out. Each of the N
    threads is a wasi-threads thread: `thread-spawn` makes a new instance, the thread parks on a futex until all
    N are alive, then finishes and is joined. The peak RSS of the same runs gives memory per live thread."""
    n = _size(workload, settings)
    _wasmtime_installed(peer_name)
    rss: list[float] = []

    def expected(k: int) -> bytes:
        return f"spawn_many: {k} threads, {k} alive at once, {k} finished, 0 spawn failures, tids ok\n".encode()

    def run() -> float:
        sizes = (n, 0) if len(rss) % 2 else (0, n)  # neither run always goes first
        figures = {}
        for k in sizes:
            cpu, peak, stdout = _run_child(_spawn_many_command(peer_name, k))
            assert stdout == expected(k), stdout[-500:]
            figures[k] = (cpu, peak)
        rss.append((figures[n][1] - figures[0][1]) / n)
        return (figures[n][0] - figures[0][0]) / n * 1e6

    rounds = _rounds(settings)
    _measure(benchmark, workload, peer_name, rounds, run, threads=n, program=SPAWN_MANY_PROGRAM)
    benchmark.extra_info.update(peak_rss_kib_per_thread=statistics.median(rss[-rounds:]), rss_values=rss[-rounds:])


@pytest.mark.parametrize(("workload", "peer_name"), _params(WASI_SPAWN))
def test_wasi_spawn(benchmark: Any, settings: Settings, workload: str, peer_name: str) -> None:
    _wasi_spawn(benchmark, settings, WASI_SPAWN, peer_name)


@pytest.mark.parametrize(("workload", "peer_name"), _params(WASI_SPAWN_LARGE))
def test_wasi_spawn_large(benchmark: Any, settings: Settings, workload: str, peer_name: str) -> None:
    _wasi_spawn(benchmark, settings, WASI_SPAWN_LARGE, peer_name)


@pytest.mark.parametrize(("workload", "peer_name"), _params(WASI_SLEEP))
def test_wasi_sleep(benchmark: Any, settings: Settings, workload: str, peer_name: str) -> None:
    """tests/programs/c/sleepers.c: SLEEPERS wasi-threads threads each sleeping N times for 1 µs (poll_oneoff on a
    relative monotonic clock, as wasi-libc's nanosleep), and the same threads sleeping none, each in a fresh process,
    in turns: the CPU time per sleep is (CPU(N) - CPU(0)) / (SLEEPERS x N). Every answer is checked by the program
    (one clock event, its userdata)."""
    n = _size(WASI_SLEEP, settings)
    _wasmtime_installed(peer_name)
    program = str(ROOT / SLEEPERS_PROGRAM)

    def command(k: int) -> list[str]:
        if peer_name == "wasmroutines":
            return [sys.executable, "-m", "wasmroutines", "run", program, str(SLEEPERS), str(k)]
        return [sys.executable, "-m", "benchmarks.wasi_threads_wasmtime", program, str(SLEEPERS), str(k)]

    def expected(k: int) -> bytes:
        total = SLEEPERS * k
        return f"sleepers: {SLEEPERS} threads x {k} sleeps of 1 us: {total} answered right, 0 wrong\n".encode()

    turns: list[int] = []

    def run() -> float:
        sizes = (n, 0) if len(turns) % 2 else (0, n)  # neither run always goes first
        turns.append(1)
        cpu = {}
        for k in sizes:
            cpu[k], _, stdout = _run_child(command(k))
            assert stdout == expected(k), stdout[-500:]
        return (cpu[n] - cpu[0]) / (SLEEPERS * n) * 1e6

    _measure(benchmark, WASI_SLEEP, peer_name, _rounds(settings), run, threads=SLEEPERS, sleeps=n)


# ---- idle green threads: in a fresh process each ----


def _probe(n: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.thread_probe", str(n)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["arrived"] == n, f"{result['arrived']} of {n} threads reached the wait"
    assert result["woken"] == n, f"{result['woken']} of {n} threads woken"
    assert result["returned"] == n, f"{result['returned']} of {n} threads returned"
    return result


@pytest.mark.parametrize(("workload", "peer_name"), _params(IDLE_MEMORY))
def test_idle_memory(benchmark: Any, settings: Settings, workload: str, peer_name: str) -> None:
    """N green threads of one instance's export blocked in wait32 at once: the RSS growth over N, KiB per thread
    (one round: RSS once grown stays)."""
    n = _size(IDLE_MEMORY, settings)
    probes: list[dict[str, Any]] = []

    def run() -> float:
        probes.append(_probe(n))
        return float(probes[-1]["rss_delta_kib"]) / n

    _measure(benchmark, IDLE_MEMORY, peer_name, 1, run, threads=n)
    benchmark.extra_info.update(probe=probes[-1])


@pytest.mark.parametrize(("workload", "peer_name"), _params(IDLE_FIT))
def test_idle_threads_fit(benchmark: Any, settings: Settings, workload: str, peer_name: str) -> None:
    """The issue's scale bar: N idle green threads at once (100,000 in the full mode), then all woken and joined:
    the seconds that takes and the RSS they took."""
    n = _size(IDLE_FIT, settings)
    probes: list[dict[str, Any]] = []

    def run() -> float:
        probes.append(_probe(n))
        return float(probes[-1]["total_s"])

    _measure(benchmark, IDLE_FIT, peer_name, 1, run, threads=n)
    benchmark.extra_info.update(probe=probes[-1], rss_mib=probes[-1]["rss_delta_kib"] / 1024)


# ---- many threads ----


@pytest.mark.parametrize(("workload", "peer_name"), _params(MANY_THREADS))
def test_many_threads(benchmark: Any, settings: Settings, binary: bytes, workload: str, peer_name: str) -> None:
    """64 threads each take a futex mutex, bump a plain counter, release it and bump an atomic counter, k times:
    the seconds from the moment all 64 exist (wasmtime's with their instances) to the last join. Both counters
    must reach 64 k (a lost update shows a broken mutex)."""
    k = _size(MANY_THREADS, settings)
    rt = _runtime(peer_name, binary)
    reset, load = rt.export("reset"), rt.export("load")

    def green() -> tuple[float, list[Any]]:
        from wasmroutines import join, spawn

        work = rt.export("work")
        threads = [spawn(work, k) for _ in range(MANY)]  # they start running at the first join
        t0 = time.perf_counter()
        return t0, [join(t) for t in threads]

    def os_threads() -> tuple[float, list[Any]]:
        assert isinstance(rt, OsRuntime)
        ready = threading.Barrier(MANY + 1)
        threads = [rt.thread("work", k, ready=ready) for _ in range(MANY)]
        for t, _ in threads:
            t.start()
        ready.wait()  # all instantiated
        t0 = time.perf_counter()
        for t, _ in threads:
            t.join()
        return t0, [out[0] if out else None for _, out in threads]

    def run() -> float:
        reset()
        t0, results = green() if peer_name == "wasmroutines" else os_threads()
        elapsed = time.perf_counter() - t0
        assert results == [k] * MANY, f"thread results {set(map(repr, results))}"
        assert (load(PLAIN_COUNT), load(ATOMIC_COUNT)) == (MANY * k, MANY * k)
        return elapsed

    _measure(benchmark, MANY_THREADS, peer_name, _rounds(settings), run, threads=MANY, iterations_each=k)
