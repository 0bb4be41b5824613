"""Threading rows: Wasmroutines' green threads (one OS thread) against wasmtime running the same module on OS
threads (threads_wasm.py). Every figure is wall time (perf_counter) or RSS the test measures itself and keeps in
`extra_info` (value, values, unit); pytest-benchmark's own round times are the whole rounds, by the run's timer.
Every round checks its counts, so a broken run cannot look fast."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from .paths import ROOT
from .settings import Settings
from .threads_wasm import ATOMIC_COUNT, PINGS, PLAIN_COUNT, GreenRuntime, OsRuntime, wasm
from .workloads import (
    IDLE_FIT,
    IDLE_MEMORY,
    MANY,
    MANY_THREADS,
    PINGPONG,
    SPAWN_JOIN,
    THREAD_PEERS,
    THREAD_ROUNDS,
    ThreadWorkload,
)


@pytest.fixture(scope="module")
def binary() -> bytes:
    try:
        return wasm()
    except Exception as exc:  # wat2wasm needs wasm-tools
        pytest.skip(f"cannot compile the threads module: {exc}")


def _runtime(peer_name: str, binary: bytes) -> GreenRuntime | OsRuntime:
    if peer_name == "wasmroutines":
        return GreenRuntime(binary)
    try:
        return OsRuntime(binary)
    except ImportError as exc:
        pytest.skip(f"wasmtime is not installed ({exc})")


def _params(workload: ThreadWorkload, peers: tuple[str, ...] = THREAD_PEERS) -> list[Any]:
    return [pytest.param(workload.id, p, id=f"{workload.key}-{p}") for p in peers]


def _rounds(settings: Settings) -> int:
    return max(settings.rounds, THREAD_ROUNDS)


def _measure(
    benchmark: Any, workload: ThreadWorkload, peer_name: str, rounds: int, run: Callable[[], float], **extra: Any
) -> list[float]:
    """Run `run` (returns its figure in the workload's unit) for `rounds` timed rounds plus one warm-up."""
    values: list[float] = []
    benchmark.group = workload.id
    benchmark.extra_info.update(workload=workload.id, peer=peer_name, kind="threads", unit=workload.unit, **extra)
    benchmark.pedantic(lambda: values.append(run()), rounds=rounds, warmup_rounds=1 if rounds > 1 else 0)
    values = values[-rounds:]
    benchmark.extra_info.update(value=statistics.median(values), values=values)
    return values


# ---- futex ping-pong ----


@pytest.mark.parametrize(("workload", "peer_name"), _params(PINGPONG))
def test_pingpong(benchmark: Any, settings: Settings, binary: bytes, workload: str, peer_name: str) -> None:
    """Two threads hand a turn back and forth through wait32/notify on one word: µs per round trip."""
    n = PINGPONG.size(settings.name, peer_name)
    rt = _runtime(peer_name, binary)
    reset, load = rt.export("reset"), rt.export("load")

    def green() -> float:
        from wasmroutines import join, spawn

        pingpong = rt.export("pingpong")
        t0 = time.perf_counter()
        a, b = spawn(pingpong, 0, n), spawn(pingpong, 1, n)
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
        ready.wait()  # both instantiated: time the round trips only
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
    """Start a wasm thread running a trivial export and join it, one after another: µs per spawn+join.
    Wasmroutines spawns the function of the one instance; wasmtime's thread builds its own Store and instance
    (as its thread-spawn would) sharing the memory."""
    n = SPAWN_JOIN.size(settings.name, peer_name)
    rt = _runtime(peer_name, binary)

    def green() -> int:
        from wasmroutines import join, spawn

        noop = rt.export("noop")
        return sum(int(join(spawn(noop))) for _ in range(n))

    def os_threads() -> int:
        assert isinstance(rt, OsRuntime)
        total = 0
        for _ in range(n):
            t, out = rt.thread("noop")
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


# ---- idle threads: in a fresh process each ----


def _probe(peer_name: str, n: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.thread_probe", peer_name, str(n)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 and "No module named 'wasmtime'" in done.stderr:
        pytest.skip("wasmtime is not installed")
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["arrived"] == n, f"{result['arrived']} of {n} threads reached the wait"
    assert result["returned"] == n, f"{result['returned']} of {n} threads returned"
    return result


@pytest.mark.parametrize(("workload", "peer_name"), _params(IDLE_MEMORY))
def test_idle_memory(benchmark: Any, settings: Settings, workload: str, peer_name: str) -> None:
    """N threads blocked in wait32 at once: the RSS growth over N, KiB per thread (one round: RSS once grown
    stays)."""
    n = IDLE_MEMORY.size(settings.name, peer_name)
    probes: list[dict[str, Any]] = []

    def run() -> float:
        probes.append(_probe(peer_name, n))
        return float(probes[-1]["rss_delta_kib"]) / n

    _measure(benchmark, IDLE_MEMORY, peer_name, 1, run, threads=n)
    benchmark.extra_info.update(probe=probes[-1])


@pytest.mark.parametrize(("workload", "peer_name"), _params(IDLE_FIT, ("wasmroutines",)))
def test_idle_threads_fit(benchmark: Any, settings: Settings, workload: str, peer_name: str) -> None:
    """The issue's scale bar: N idle green threads at once (100,000 in the full mode), then all woken and joined:
    the seconds that takes and the RSS they took."""
    n = IDLE_FIT.size(settings.name, peer_name)
    probes: list[dict[str, Any]] = []

    def run() -> float:
        probes.append(_probe(peer_name, n))
        return float(probes[-1]["total_s"])

    _measure(benchmark, IDLE_FIT, peer_name, 1, run, threads=n)
    benchmark.extra_info.update(probe=probes[-1], rss_mib=probes[-1]["rss_delta_kib"] / 1024)


# ---- many threads ----


@pytest.mark.parametrize(("workload", "peer_name"), _params(MANY_THREADS))
def test_many_threads(benchmark: Any, settings: Settings, binary: bytes, workload: str, peer_name: str) -> None:
    """64 threads each take a futex mutex, bump a plain counter, release it and bump an atomic counter, k times:
    the seconds from start to the last join. Both counters must reach 64 k (a lost update shows a broken mutex)."""
    k = MANY_THREADS.size(settings.name, peer_name)
    rt = _runtime(peer_name, binary)
    reset, load = rt.export("reset"), rt.export("load")

    def green() -> list[Any]:
        from wasmroutines import join, spawn

        work = rt.export("work")
        threads = [spawn(work, k) for _ in range(MANY)]
        return [join(t) for t in threads]

    def os_threads() -> list[Any]:
        assert isinstance(rt, OsRuntime)
        ready = threading.Barrier(MANY + 1)
        threads = [rt.thread("work", k, ready=ready) for _ in range(MANY)]
        for t, _ in threads:
            t.start()
        ready.wait()  # all instantiated
        global_t0[0] = time.perf_counter()
        for t, _ in threads:
            t.join()
        return [out[0] if out else None for _, out in threads]

    global_t0 = [0.0]

    def run() -> float:
        reset()
        global_t0[0] = time.perf_counter()
        results = green() if peer_name == "wasmroutines" else os_threads()
        elapsed = time.perf_counter() - global_t0[0]
        assert results == [k] * MANY, f"thread results {set(map(repr, results))}"
        assert (load(PLAIN_COUNT), load(ATOMIC_COUNT)) == (MANY * k, MANY * k)
        return elapsed

    _measure(benchmark, MANY_THREADS, peer_name, _rounds(settings), run, threads=MANY, iterations_each=k)
