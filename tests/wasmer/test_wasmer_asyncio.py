"""The wasmer face on asyncio (our addition): `Function(store, async_fn)`, `call_async`, `wasi.run_threads_async`."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from greenlet import getcurrent, greenlet
from loops import LOOPS, runner

from wasmroutines import AsyncHostCallError, wasmer
from wasmroutines.wasmer import Function, FunctionType, Instance, Memory, Module, Store, Type, wasi

LOOKUP = """(module
  (import "env" "lookup" (func $lookup (param i32) (result i32)))
  (func (export "price") (param i32) (result i32) (i32.add (call $lookup (local.get 0)) (i32.const 1)))
  (func (export "boom") (result i32) unreachable))"""

# _start spawns `count()` threads; each adds lookup(its arg) to mem[4] and counts itself done in mem[0]; _start
# waits for all of them and reports mem[4].
THREADED = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (import "env" "count" (func $count (result i32)))
  (import "env" "lookup" (func $lookup (param i32) (result i32)))
  (import "env" "report" (func $report (param i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (drop (i32.atomic.rmw.add (i32.const 4) (call $lookup (local.get $arg))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start") (local $i i32) (local $n i32) (local $seen i32)
    (local.set $n (call $count))
    (block $spawned (loop $s
      (br_if $spawned (i32.eq (local.get $i) (local.get $n)))
      (if (i32.lt_s (call $spawn (local.get $i)) (i32.const 0)) (then (call $exit (i32.const 99))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $s)))
    (block $done (loop $w
      (local.set $seen (i32.atomic.load (i32.const 0)))
      (br_if $done (i32.eq (local.get $seen) (local.get $n)))
      (drop (memory.atomic.wait32 (i32.const 0) (local.get $seen) (i64.const -1)))
      (br $w)))
    (call $report (i32.load (i32.const 4)))
    (if (i32.eq (local.get $n) (i32.const 7)) (then (call $exit (i32.const 7))))))"""


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    return runner(request.param)


def test_async_host_function_types_from_annotations_or_given() -> None:
    store = Store()

    async def lookup(key: int) -> int:
        return key

    async def untyped(key):  # type: ignore[no-untyped-def]
        return key

    assert str(Function(store, lookup).type) == "FunctionType(params: [I32], results: [I32])"
    given = Function(store, untyped, FunctionType([Type.I64], [Type.I64]))
    assert str(given.type) == "FunctionType(params: [I64], results: [I64])"


def test_call_async_with_async_host_functions(run: Any) -> None:
    async def main() -> list[int]:
        store = Store()

        async def lookup(key: int) -> int:
            await asyncio.sleep(0.001)
            return key * 100

        async def untyped(key):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0)
            return key * 10

        module = Module(store, LOOKUP)
        typed = Instance(module, {"env": {"lookup": Function(store, lookup)}}).exports.price
        given = Function(store, untyped, FunctionType([Type.I32], [Type.I32]))
        other = Instance(module, {"env": {"lookup": given}}).exports.price
        return list(await asyncio.gather(*(typed.call_async(k) for k in range(5)), other.call_async(3)))

    assert run(main()) == [1, 101, 201, 301, 401, 31]


def test_call_async_raises_as_a_call_does(run: Any) -> None:
    async def main() -> None:
        store = Store()

        async def lookup(key: int) -> int:
            if key < 0:
                raise ValueError("no such key")
            return "not an int"  # type: ignore[return-value]

        exports = Instance(Module(store, LOOKUP), {"env": {"lookup": Function(store, lookup)}}).exports
        with pytest.raises(RuntimeError, match="unreachable") as e:
            await exports.boom.call_async()
        with pytest.raises(RuntimeError) as sync:
            exports.boom()
        assert type(e.value) is type(sync.value) and str(e.value) == str(sync.value)  # the same wording, backtrace
        with pytest.raises(ValueError, match="no such key"):
            await exports.price.call_async(-1)
        with pytest.raises(TypeError, match="cannot be converted"):  # as a sync host function's result
            await exports.price.call_async(1)
        with pytest.raises(TypeError):
            await exports.price.call_async(1.5)

    run(main())


def test_a_sync_call_of_an_async_host_function_raises() -> None:
    store = Store()

    async def lookup(key: int) -> int:
        return key

    price = Instance(Module(store, LOOKUP), {"env": {"lookup": Function(store, lookup)}}).exports.price
    with pytest.raises(AsyncHostCallError):
        price(1)


def _program(n: int, lookup: Callable[..., Any]) -> tuple[Module, dict[str, Any], list[int]]:
    store = Store()
    reported: list[int] = []
    imports = {
        "env": {
            "memory": Memory(store, wasmer.MemoryType(1, 1, shared=True)),
            "count": Function(store, lambda: n, FunctionType([], [Type.I32])),
            "lookup": Function(store, lookup, FunctionType([Type.I32], [Type.I32])),
            "report": Function(store, reported.append, FunctionType([Type.I32], [])),
        }
    }
    return Module(store, THREADED), imports, reported


def test_run_threads_async_with_wasi_threads_awaiting(run: Any) -> None:
    # 50 wasi-threads threads each await an async host function; the program waits for all of them.
    async def main() -> tuple[int, list[int], int]:
        inside = 0
        most = 0

        async def lookup(arg: int) -> int:
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1
            return arg

        module, imports, reported = _program(50, lookup)
        status = await wasi.run_threads_async(module, wasi.StateBuilder("prog").finalize(), imports)
        assert module._store._core.scheduler.alive == []
        return status, reported, most

    status, reported, most = run(main())
    assert (status, reported) == (0, [sum(range(50))])
    assert most > 1  # the threads' awaits overlapped


def test_run_threads_async_exit_status_and_several_programs(run: Any) -> None:
    async def main() -> list[int]:
        async def lookup(arg: int) -> int:
            await asyncio.sleep(0)
            return arg

        programs = [_program(n, lookup) for n in (7, 3, 7)]
        env = wasi.StateBuilder("prog").finalize
        return list(await asyncio.gather(*(wasi.run_threads_async(m, env(), i) for m, i, _ in programs)))

    assert run(main()) == [7, 0, 7]


def _suspended_greenlets() -> list[greenlet]:
    return [g for g in gc.get_objects() if isinstance(g, greenlet) and g and g is not getcurrent()]


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_cancelling_a_program_with_1000_blocked_threads_leaves_nothing(run: Any) -> None:
    async def main() -> tuple[int, int]:
        fds = _fds()
        parked = 0
        cancelled = 0
        everyone = asyncio.Event()

        async def lookup(arg: int) -> int:
            nonlocal parked, cancelled
            parked += 1
            if parked == 1000:
                everyone.set()
            try:
                await asyncio.Event().wait()  # never set
            except asyncio.CancelledError:
                cancelled += 1
                raise
            return arg

        module, imports, _ = _program(1000, lookup)
        store = module._store._core
        program = asyncio.ensure_future(wasi.run_threads_async(module, wasi.StateBuilder("prog").finalize(), imports))
        await everyone.wait()
        assert len(store.scheduler.alive) == 1001
        assert len(_suspended_greenlets()) >= 1000 + len(before)  # greenlet never collects these: they must end
        program.cancel()
        with pytest.raises(asyncio.CancelledError):
            await program
        assert store.scheduler.alive == []
        assert store.scheduler._aio._readers == set()
        for _ in range(3):
            await asyncio.sleep(0)  # the host tasks end their cancellation
        return fds, cancelled

    gc.collect()
    before = _suspended_greenlets()  # other tests' (left alive on purpose, or not collected yet)
    fds, cancelled = run(main())
    gc.collect()
    assert cancelled == 1000
    assert [g for g in _suspended_greenlets() if g not in before] == []  # each green thread was unwound and ended
    assert _fds() <= fds
