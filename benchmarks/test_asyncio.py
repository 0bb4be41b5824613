"""Issue 18: wasm green threads on the application's asyncio loop, and async host functions (core/aio.py).

Each test keeps its figure in `extra_info` (value: the median over the rounds, values: every round's, unit), on the
standard loop and on uvloop:
- `test_concurrent_calls`: 10,000 concurrent `call_async` of an export calling an async host function that awaits
  `asyncio.sleep(0.1)`, issued 1,000 a loop iteration (WAVE; and all in one gather: `burst_*`): the wall time until all
  complete (bar: under 1 s) and the p99 gap seen by an unrelated task ticking every 10 ms (bar: under 50 ms); beside
  them, the same awaits from 10,000 plain coroutines (`pure_*`), and the objects the cyclic collector tracks per call
  in progress (`objects_per_call`), which its passes walk;
- `test_wasi_threads_calls`: the same with 1,000 wasi-threads threads of one program each making that call
  (`run_threads_async`);
- `test_host_round_trip`: CPU per async host call round trip (wasm -> coroutine doing `await asyncio.sleep(0)` ->
  wasm; goal at most 5 us) beside a plain host call's, and the peer: a Task of that coroutine awaited from Python
  (`pure_task`, no wasm), the loop's own cost for such a round trip;
- `test_cancel`: the wall time of cancelling a program with 1,000 threads parked in async host calls, until the
  awaitable has ended (nothing left behind: tests/wasmer/test_wasmer_asyncio.py checks that).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from .settings import Settings

LOOPS = ["asyncio", "uvloop"]

LOOKUP_WAT = """(module
  (import "env" "look" (func $look (param i32) (result i32)))
  (func (export "f") (param i32) (result i32) (i32.add (call $look (local.get 0)) (i32.const 1)))
  (func (export "loop") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (call $look (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $acc)))"""

# _start spawns `count()` threads, each calling look(arg) and counting itself done; _start waits for all.
THREADS_WAT = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (import "env" "count" (func $count (result i32)))
  (import "env" "look" (func $look (param i32) (result i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (drop (call $look (local.get $arg)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start") (local $i i32) (local $n i32) (local $seen i32)
    (local.set $n (call $count))
    (block $spawned (loop $s
      (br_if $spawned (i32.eq (local.get $i) (local.get $n)))
      (drop (call $spawn (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $s)))
    (block $done (loop $w
      (local.set $seen (i32.atomic.load (i32.const 0)))
      (br_if $done (i32.eq (local.get $seen) (local.get $n)))
      (drop (memory.atomic.wait32 (i32.const 0) (local.get $seen) (i64.const -1)))
      (br $w)))))"""


def _runner(kind: str) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")

        def run_uv(coro: Coroutine[Any, Any, Any]) -> Any:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
                return r.run(coro)

        return run_uv
    return asyncio.run


def _p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))]


async def _ticked(work: Coroutine[Any, Any, Any]) -> tuple[float, float]:
    """Run `work` beside a task ticking every 10 ms: (wall seconds of the work, the ticks' p99 gap in seconds)."""
    gaps: list[float] = []
    stop = False

    async def tick() -> None:
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.ensure_future(tick())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    await work
    wall = time.perf_counter() - start
    stop = True
    await ticker
    return wall, _p99(gaps)


def _record(benchmark: Any, unit: str, values: list[float], **extra: Any) -> None:
    """The figures of a round set, for tools/bench_report.py (kind "asyncio": its issue-18 goals)."""
    benchmark.extra_info.update(kind="asyncio", value=statistics.median(values), values=values, unit=unit, **extra)


def _look_store(look: Callable[..., Any]) -> Any:
    from wasmroutines import Function, FuncType, Instance, Module, Store, ValType, wat2wasm

    store = Store()
    i32 = ValType.I32
    return Instance(
        store, Module(wat2wasm(LOOKUP_WAT)), {"env": {"look": Function(store, look, FuncType([i32], [i32]))}}
    )


async def _sleep_look(x: int) -> int:
    await asyncio.sleep(0.1)
    return x


async def _objects_per_call(wasm: bool, n: int = 2_000) -> float:
    """The objects the cyclic collector tracks per call in progress, `n` calls each parked in a host coroutine (with
    `wasm`: `call_async` of an export calling it; else a plain coroutine awaiting it): what each of its passes walks,
    and so what the ticker's gaps grow with once calls are many (a full pass here costs about 0.2 us an object)."""
    release = asyncio.Event()
    parked = 0

    async def look(x: int) -> int:
        nonlocal parked
        parked += 1
        await release.wait()
        return x

    async def pure(i: int) -> int:
        return await look(i) + 1

    call = _look_store(look).exports.f.call_async if wasm else pure
    gc.collect()
    before = len(gc.get_objects())
    calls = asyncio.gather(*(call(i) for i in range(n)))
    while parked < n:
        await asyncio.sleep(0.001)
    gc.collect()
    held = len(gc.get_objects()) - before
    release.set()
    assert await calls == [i + 1 for i in range(n)]
    return held / n


#: How many of the 10,000 calls are issued in one loop iteration: a wave at a time, as requests arriving on a
#: service's connections start them, and all in flight together (each awaits 0.1 s). Issued all at once instead (one
#: gather of 10,000 coroutines: `burst_*`), making their 10,000 tasks alone holds the loop about 50 ms on the machines
#: we measure on, with or without wasm.
WAVE = 1_000


async def _issue(make: Callable[[int], Awaitable[int]], n: int, wave: int) -> None:
    """`make(i)` for each i < n as tasks, `wave` of them a loop iteration, then all awaited (each gives i + 1)."""
    tasks: list[asyncio.Future[int]] = []
    for start in range(0, n, wave):
        tasks.extend(asyncio.ensure_future(make(i)) for i in range(start, min(n, start + wave)))
        if start + wave < n:
            await asyncio.sleep(0)
    assert await asyncio.gather(*tasks) == [i + 1 for i in range(n)]


@pytest.mark.parametrize("loop", LOOPS)
def test_concurrent_calls(benchmark: Any, settings: Settings, loop: str) -> None:
    run = _runner(loop)
    n = 10_000
    #: by (wasm or pure, waves or burst): every round's wall seconds and p99 gap seconds
    walls: dict[tuple[str, str], list[float]] = {}
    gaps: dict[tuple[str, str], list[float]] = {}
    objects: list[float] = []

    async def pure(i: int) -> int:  # the peer: the same awaits from plain coroutines, no wasm
        return await _sleep_look(i) + 1

    async def one() -> None:
        if not objects:
            objects.extend([await _objects_per_call(True), await _objects_per_call(False)])
        f = _look_store(_sleep_look).exports.f
        for mode, wave in (("waves", WAVE), ("burst", n)):
            for kind, make in (("wasm", f.call_async), ("pure", pure)):
                wall, gap = await _ticked(_issue(make, n, wave))
                walls.setdefault((kind, mode), []).append(wall)
                gaps.setdefault((kind, mode), []).append(gap)

    benchmark.group = "asyncio: 10,000 concurrent calls"
    benchmark.pedantic(lambda: run(one()), rounds=settings.rounds, iterations=1)

    def gap_ms(kind: str, mode: str) -> float:
        return statistics.median(gaps[kind, mode]) * 1e3

    _record(
        benchmark,
        "s",
        walls["wasm", "waves"],
        case="concurrent_calls",
        loop=loop,
        wave=WAVE,
        p99_gap_ms=[g * 1e3 for g in gaps["wasm", "waves"]],
        p99_gap_median_ms=gap_ms("wasm", "waves"),
        pure_wall_s=statistics.median(walls["pure", "waves"]),
        pure_p99_gap_median_ms=gap_ms("pure", "waves"),
        burst_wall_s=statistics.median(walls["wasm", "burst"]),
        burst_p99_gap_median_ms=gap_ms("wasm", "burst"),
        pure_burst_p99_gap_median_ms=gap_ms("pure", "burst"),
        objects_per_call=objects[0],
        pure_objects_per_call=objects[1],
    )


@pytest.mark.parametrize("loop", LOOPS)
def test_wasi_threads_calls(benchmark: Any, settings: Settings, loop: str) -> None:
    from wasmroutines.wasmer import Function, FunctionType, Memory, MemoryType, Module, Store, Type, wasi

    run = _runner(loop)
    n = 1_000
    walls: list[float] = []
    gaps: list[float] = []

    async def one() -> None:
        store = Store()
        imports = {
            "env": {
                "memory": Memory(store, MemoryType(1, 1, shared=True)),
                "count": Function(store, lambda: n, FunctionType([], [Type.I32])),
                "look": Function(store, _sleep_look, FunctionType([Type.I32], [Type.I32])),
            }
        }
        program = wasi.run_threads_async(Module(store, THREADS_WAT), wasi.StateBuilder("p").finalize(), imports)
        wall, gap = await _ticked(program)
        walls.append(wall)
        gaps.append(gap)

    benchmark.group = "asyncio: 1,000 wasi-threads calls"
    benchmark.pedantic(lambda: run(one()), rounds=settings.rounds, iterations=1)
    _record(
        benchmark,
        "s",
        walls,
        case="wasi_threads_calls",
        loop=loop,
        p99_gap_ms=[g * 1e3 for g in gaps],
        p99_gap_median_ms=statistics.median(gaps) * 1e3,
    )


async def _async_look(x: int) -> int:
    await asyncio.sleep(0)
    return 1


def _sync_look(x: int) -> int:
    return 1


@pytest.mark.parametrize("host", ["async", "sync", "pure_task"])
@pytest.mark.parametrize("loop", LOOPS)
def test_host_round_trip(benchmark: Any, settings: Settings, loop: str, host: str) -> None:
    """`pure_task` is the peer: no wasm, a Task of the same coroutine awaited from a coroutine, what the loop itself
    costs for a round trip through one of its tasks."""
    run = _runner(loop)
    n = 20_000
    per_call: list[float] = []

    async def one() -> None:
        if host == "pure_task":
            loop_ = asyncio.get_running_loop()
            start = time.process_time()
            for i in range(n):
                await loop_.create_task(_async_look(i))
            per_call.append((time.process_time() - start) / n * 1e6)
            return
        f = _look_store(_async_look if host == "async" else _sync_look).exports.loop
        await f.call_async(100)  # warm up
        start = time.process_time()
        assert await f.call_async(n) == n
        per_call.append((time.process_time() - start) / n * 1e6)

    benchmark.group = "asyncio: host call round trip"
    benchmark.pedantic(lambda: run(one()), rounds=settings.rounds, iterations=1)
    _record(benchmark, "us CPU per host call", per_call, case=f"{host}_round_trip", loop=loop)


@pytest.mark.parametrize("loop", LOOPS)
def test_cancel(benchmark: Any, settings: Settings, loop: str) -> None:
    from wasmroutines.wasmer import Function, FunctionType, Memory, MemoryType, Module, Store, Type, wasi

    run = _runner(loop)
    n = 1_000
    times: list[float] = []

    async def one() -> None:
        parked = 0
        everyone = asyncio.Event()

        async def look(x: int) -> int:
            nonlocal parked
            parked += 1
            if parked == n:
                everyone.set()
            await asyncio.Event().wait()
            return x

        store = Store()
        imports = {
            "env": {
                "memory": Memory(store, MemoryType(1, 1, shared=True)),
                "count": Function(store, lambda: n, FunctionType([], [Type.I32])),
                "look": Function(store, look, FunctionType([Type.I32], [Type.I32])),
            }
        }
        program = asyncio.ensure_future(
            wasi.run_threads_async(Module(store, THREADS_WAT), wasi.StateBuilder("p").finalize(), imports)
        )
        await everyone.wait()
        start = time.perf_counter()
        program.cancel()
        try:
            await program
        except asyncio.CancelledError:
            pass
        times.append((time.perf_counter() - start) * 1e3)
        assert store._core.scheduler.alive == []

    benchmark.group = "asyncio: cancel 1,000 parked threads"
    benchmark.pedantic(lambda: run(one()), rounds=settings.rounds, iterations=1)
    _record(benchmark, "ms", times, case="cancel", loop=loop)


SPIN_WAT = """(module
  (func (export "spin") (param $n i32) (result i32)
    (loop $l (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
    (local.get $n)))"""

_HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
_HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(_HTTP_RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def _paced_clients(port: int, seconds: float, connections: int = 8, every: float = 0.005) -> list[float]:
    """`connections` keep-alive clients, each sending a request every `every` s for `seconds`: their latencies."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(_HTTP_REQUEST)
            await reader.readexactly(len(_HTTP_RESPONSE))
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(every)
        writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return latencies


async def _spins(seconds: float, slice_units: int | None) -> int:
    """Calls of a CPU-bound export (about a million loop iterations each) completed in `seconds`."""
    from wasmroutines import FairPolicy, Instance, Module, Store, wat2wasm

    store = Store(policy=FairPolicy(slice=slice_units) if slice_units else None)
    spin = Instance(store, Module(wat2wasm(SPIN_WAT))).exports.spin
    deadline = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < deadline:
        await spin.call_async(1_000_000)
        done += 1
    return done


@pytest.mark.parametrize("slice_units", [None, 100_000], ids=["default-slice", "slice-100k"])
@pytest.mark.parametrize("loop", LOOPS)
def test_server_beside_cpu_bound_wasm(benchmark: Any, settings: Settings, loop: str, slice_units: int | None) -> None:
    """An HTTP-style asyncio server (stdlib streams, 8 paced keep-alive clients on the same loop) beside a CPU-bound
    wasm program: the server's p99 latency with the wasm running over without (bar: at most 2x), and the wasm's
    throughput beside the server over alone (bar: at least 0.5)."""
    run = _runner(loop)
    seconds = 1.0
    ratios: list[float] = []
    shares: list[float] = []
    p99s: list[tuple[float, float]] = []

    async def one() -> None:
        server = await asyncio.start_server(_http, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            alone = _p99(await _paced_clients(port, seconds))
            spins_alone = await _spins(seconds, slice_units)
            both, spins_both = await asyncio.gather(_paced_clients(port, seconds), _spins(seconds, slice_units))
        p99s.append((alone * 1e3, _p99(both) * 1e3))
        ratios.append(_p99(both) / alone)
        shares.append(spins_both / spins_alone)

    benchmark.group = "asyncio: server beside CPU-bound wasm"
    benchmark.pedantic(lambda: run(one()), rounds=settings.rounds, iterations=1)
    _record(
        benchmark,
        "p99 ratio",
        ratios,
        case="server_beside_wasm",
        loop=loop,
        slice_units=slice_units,
        throughput_share=shares,
        throughput_share_median=statistics.median(shares),
        p99_ms_alone_both=p99s,
    )
