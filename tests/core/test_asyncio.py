"""Green threads on an asyncio loop and async host functions (core/aio.py), on the standard loop and uvloop."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import re
import socket
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from loops import LOOPS, runner

from wasmroutines import (
    AsyncHostCallError,
    Deadlock,
    FairPolicy,
    Function,
    FuncType,
    Instance,
    Module,
    OutOfFuel,
    SeededPolicy,
    Store,
    StoreClosedError,
    Trap,
    ValType,
    current_scheduler,
    wat2wasm,
)
from wasmroutines.core import aio
from wasmroutines.core._ffi import lib

I32 = ValType.I32
I32_TO_I32 = FuncType([I32], [I32])

HOST_WAT = """(module
  (import "env" "look" (func $look (param i32) (result i32)))
  (func (export "f") (param i32) (result i32) (i32.add (call $look (local.get 0)) (i32.const 1)))
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "spin") (param $n i32) (result i32)
    (loop $l (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
    (local.get $n)))"""

FUTEX_WAT = """(module
  (memory (export "memory") 1 1 shared)
  (func (export "wait") (param $timeout i64) (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get $timeout))))"""


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    return runner(request.param)


def _instance(store: Store, look: Callable[..., Any], wat: str = HOST_WAT) -> Instance:
    return Instance(store, Module(wat2wasm(wat)), {"env": {"look": Function(store, look, I32_TO_I32)}})


def test_call_async_runs_calls_at_once_while_loop_tasks_go_on(run: Any) -> None:
    # Every call parks in its host coroutine until an ordinary task opens the gate: the calls overlap, and the
    # loop's own task runs while wasm waits.
    async def main() -> list[int]:
        store = Store()
        gate = asyncio.Event()
        inside = 0
        most = 0

        async def look(x: int) -> int:
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            await gate.wait()
            inside -= 1
            return x * 10

        f = _instance(store, look).exports.f
        calls = asyncio.gather(*(f.call_async(i) for i in range(50)))

        async def opener() -> None:
            while inside < 50:
                await asyncio.sleep(0)
            gate.set()

        results, _ = await asyncio.gather(calls, opener())
        assert most == 50
        assert store.scheduler.alive == []
        return list(results)

    assert run(main()) == [i * 10 + 1 for i in range(50)]


def test_a_trap_raises_with_its_backtrace(run: Any) -> None:
    async def main() -> None:
        store = Store()
        inst = _instance(store, lambda x: x)
        with pytest.raises(Trap, match="integer divide by zero") as e:
            await inst.exports.div.call_async(0)
        assert e.value.frames

    run(main())


def test_an_async_host_exception_goes_back_through_wasm(run: Any) -> None:
    async def main() -> None:
        store = Store()

        async def look(x: int) -> int:
            await asyncio.sleep(0)
            raise KeyError(x)

        with pytest.raises(KeyError):
            await _instance(store, look).exports.f.call_async(7)
        assert store.scheduler.alive == []

    run(main())


def test_a_wasm_result_through_several_awaits(run: Any) -> None:
    async def main() -> tuple[Any, ...]:
        store = Store()

        async def look(x: int) -> int:
            for _ in range(3):
                await asyncio.sleep(0)
            return x + 100

        f = _instance(store, look).exports.f
        return (await f.call_async(1), await aio.call_async(f, 2), await aio.call_bits_async(f, [3]))

    assert run(main()) == (102, 103, [104])


def test_an_async_host_function_called_synchronously_raises() -> None:
    store = Store()
    called = []

    async def look(x: int) -> int:
        called.append(x)
        return x

    with pytest.raises(AsyncHostCallError, match="call_async"):
        _instance(store, look).exports.f(1)
    assert called == []  # the coroutine was closed, never run


@pytest.mark.parametrize("seed", [None, 3])
def test_a_cancelled_await_in_a_host_coroutine_ends_only_its_call(run: Any, seed: int | None) -> None:
    """What a host coroutine awaits is cancelled by someone else: its call raises CancelledError, as the task would
    in asyncio; the store's other calls go on (seeded: the thread parks with a greenlet)."""

    async def main() -> tuple[list[Any], list[Any]]:
        store = Store(policy=SeededPolicy(seed) if seed is not None else None)
        loop = asyncio.get_running_loop()
        errors: list[Any] = []
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        futures: dict[int, asyncio.Future[int]] = {}

        async def look(x: int) -> int:
            futures[x] = loop.create_future()
            return await futures[x]

        f = _instance(store, look).exports.f
        calls = [asyncio.ensure_future(f.call_async(x)) for x in (1, 2)]
        while len(futures) < 2:
            await asyncio.sleep(0)
        futures[1].cancel()
        futures[2].set_result(20)
        # (a bound only so that a thread left parked fails the test rather than hangs it)
        outcomes = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 30)
        assert store.scheduler.alive == []
        return [type(o).__name__ if isinstance(o, BaseException) else o for o in outcomes], errors

    assert run(main()) == (["CancelledError", 21], [])


def test_a_call_cancelled_while_parked_inline_leaves_nothing_to_the_loop(run: Any) -> None:
    """Its host coroutine is cancelled and ends with CancelledError, delivered nowhere: not to a freed thread, not to
    the loop's exception handler."""

    async def main() -> list[Any]:
        store = Store()
        loop = asyncio.get_running_loop()
        errors: list[Any] = []
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        started = asyncio.Event()

        async def look(x: int) -> int:
            started.set()
            await asyncio.sleep(3600)
            return x

        call = asyncio.ensure_future(_instance(store, look).exports.f.call_async(5))
        await started.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        for _ in range(3):
            await asyncio.sleep(0)
        assert store.scheduler._aio._awaiting == 0
        assert await _instance(store, lambda x: x).exports.f.call_async(1) == 2
        return errors

    assert run(main()) == []


def test_cancelling_kills_the_thread_and_its_host_task(run: Any) -> None:
    async def main() -> None:
        store = Store()
        started = asyncio.Event()
        cancelled = []

        async def look(x: int) -> int:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.append(x)
                raise
            return x

        call = asyncio.ensure_future(_instance(store, look).exports.f.call_async(5))
        await started.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0)  # the host task runs its cancellation
        assert cancelled == [5]
        assert store.scheduler.alive == []
        client = store.scheduler._aio
        assert not client.active and not client._readers and client._timer is None
        assert not store.scheduler._loop_client
        # The store goes on working afterwards.
        assert await _instance(store, lambda x: x).exports.f.call_async(1) == 2

    run(main())


async def _ticks_during(work: Awaitable[Any]) -> tuple[Any, int]:
    """`work`'s result, and how many times an ordinary task beside it got the loop meanwhile."""
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    t = asyncio.ensure_future(ticker())
    try:
        result = await work
    finally:
        done = True
        await t
    return result, ticks


def test_a_long_call_gives_the_loop_a_turn_every_few_slices(run: Any) -> None:
    # A CPU-bound call of many slices: between its turns the loop's other task runs.
    async def main() -> int:
        store = Store(policy=FairPolicy(slice=10_000))
        aio.loop_client(store).slices = 1
        result, ticks = await _ticks_during(_instance(store, lambda x: x).exports.spin.call_async(1_000_000))
        assert result == 0
        return ticks

    assert run(main()) >= 20


def test_many_runnable_threads_share_turns_with_the_loop(run: Any) -> None:
    # 40 calls each of many slices: a turn runs at most `slices` of them before the loop gets a turn (with no
    # budget the loop would get one per round of all 40, about 40 in all). Calls are wasm threads the C core may
    # also switch between by itself, which the budget does not count (docs/asyncio.md): about 200 turns here.
    async def main() -> int:
        store = Store(policy=FairPolicy(slice=10_000))
        aio.loop_client(store).slices = 1
        spin = _instance(store, lambda x: x).exports.spin
        results, ticks = await _ticks_during(asyncio.gather(*(spin.call_async(50_000) for _ in range(40))))
        assert results == [0] * 40
        return ticks

    assert run(main()) >= 150


def test_sleep_and_descriptor_waits_of_sync_host_functions(run: Any) -> None:
    # A sync host function parks its green thread on the scheduler's timers and selector: under a loop, they
    # are the loop's call_later and add_reader.
    async def main() -> list[int]:
        store = Store()
        a, b = socket.socketpair()
        a.setblocking(False)

        def look(x: int) -> int:
            sched = current_scheduler()
            if x == 0:
                sched.sleep(0.001)
                return 0
            assert sched.wait_readable(a.fileno())
            return a.recv(1)[0]

        f = _instance(store, look).exports.f
        waiting = asyncio.ensure_future(f.call_async(1))
        slept = await f.call_async(0)
        await asyncio.sleep(0.001)
        assert not waiting.done()
        b.send(b"\x29")
        got = await waiting
        a.close()
        b.close()
        return [slept, got]

    assert run(main()) == [1, 0x2A]


def test_core_wait_timeouts_and_deadlock(run: Any) -> None:
    async def main() -> None:
        store = Store()
        wait = Instance(store, Module(wat2wasm(FUTEX_WAT))).exports.wait
        assert await wait.call_async(1_000_000) == 2  # timed out, on the core's timer
        with pytest.raises(Deadlock, match=r"the only thread is blocked\nthread \d+ \(call_async\): waiting on futex"):
            await wait.call_async(-1)  # nobody can notify
        assert store.scheduler.alive == []

    run(main())


def test_many_stores_on_one_loop(run: Any) -> None:
    async def main() -> list[int]:
        async def look(x: int) -> int:
            await asyncio.sleep(0)
            return x

        fs = [_instance(Store(), look).exports.f for _ in range(5)]
        return list(await asyncio.gather(*(f.call_async(i) for f in fs for i in range(20))))

    assert run(main()) == [i + 1 for _ in range(5) for i in range(20)]


def test_host_coroutines_see_the_callers_context(run: Any) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> list[str]:
        store = Store()
        seen = []

        async def look(x: int) -> int:
            seen.append(var.get())
            assert asyncio.current_task() is not None  # a real task: timeouts and cancellation work
            async with asyncio.timeout(10):
                await asyncio.sleep(0)
            return x

        f = _instance(store, look).exports.f
        var.set("caller")
        await f.call_async(1)
        return seen

    assert run(main()) == ["caller"]


def test_timeouts_and_task_groups_in_host_coroutines_act_on_their_await(run: Any) -> None:
    # A host coroutine is stepped without a Task of its own (aio._HostCall); the task it sees as current is its
    # thread's, and cancelling that one (as a timeout or a task group does) cancels the coroutine's await.
    async def main() -> list[Any]:
        store = Store()
        seen: list[Any] = []

        async def look(x: int) -> int:
            task = asyncio.current_task()
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.sleep(3600)
            except TimeoutError:
                seen.append("timeout")
            assert asyncio.current_task() is task and not task.cancelling()

            async def child() -> int:
                await asyncio.sleep(0)
                raise KeyError(x)

            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(child())
                    await asyncio.sleep(3600)  # cancelled when the child fails
            except* KeyError:
                seen.append("group")
            await asyncio.sleep(0)
            return x

        f = _instance(store, look).exports.f
        seen.append(await f.call_async(1))
        return seen

    assert run(main()) == ["timeout", "group", 2]


@pytest.mark.parametrize("seed", [None, 3])
@pytest.mark.parametrize("first", [True, False], ids=["first-host-call", "later-host-call"])
def test_a_host_coroutine_cancelling_its_own_task_sees_cancelled_error_at_its_next_await(
    run: Any, first: bool, seed: int | None
) -> None:
    # As in a Task: `current_task().cancel()` makes the coroutine's next await raise CancelledError, and its call
    # ends cancelled. In the thread's first host call too, whose proxy task has not run its first step yet; and in a
    # seeded run (the thread parks with a greenlet).
    async def main() -> tuple[list[Any], int]:
        store = Store(policy=SeededPolicy(seed) if seed is not None else None)
        seen: list[Any] = []
        cancel_at = [3 if first else 2]  # loop(3) calls look(3), look(2), look(1)

        async def look(x: int) -> int:
            if x in cancel_at:
                cancel_at.clear()
                asyncio.current_task().cancel("by itself")  # type: ignore[union-attr]
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError as exc:
                seen.append(("cancelled", x, exc.args))
                raise
            seen.append(x)
            return 1

        f = _loop_instance(store, look, lambda x: x).exports.loop
        with pytest.raises(asyncio.CancelledError):
            await f.call_async(3)
        assert store.scheduler.alive == []
        return seen, await f.call_async(3)  # the store goes on

    expected = [("cancelled", 3, ("by itself",))] if first else [3, ("cancelled", 2, ("by itself",))]
    assert run(main()) == ([*expected, 3, 2, 1], 3)


def test_each_host_call_of_a_thread_starts_afresh(run: Any) -> None:
    # A thread's host calls, one after another (a round trip each, parked with no greenlet): each coroutine runs in a
    # copy of the caller's context of its own, as a Task would, and a cancellation its predecessor asked for and
    # never awaited (look(2) cancels its task, then returns) is not the next one's (_host_call_inline reuses the
    # thread's last _HostCall).
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> tuple[list[Any], int]:
        store = Store()
        seen: list[Any] = []

        async def look(x: int) -> int:
            seen.append(var.get())
            var.set(f"look {x}")
            if x == 2:
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                return 1
            await asyncio.sleep(0)
            return 1

        f = _loop_instance(store, look, lambda x: x).exports.loop
        var.set("caller")
        return seen, await f.call_async(3)

    assert run(main()) == (["caller"] * 3, 3)


ROUND_TRIP_TYPES_WAT = """(module
  (import "env" "v" (func $v (param i32)))
  (import "env" "l" (func $l (param i64 i32) (result i64)))
  (import "env" "z" (func $z (result i32)))
  (func (export "f") (param $n i32) (result i64) (local $acc i64)
    (loop $lp
      (call $v (local.get $n))
      (local.set $acc (i64.add (local.get $acc) (call $l (i64.const -5) (local.get $n))))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_s (call $z))))
      (br_if $lp (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc)))"""


def test_round_trips_through_async_host_functions_of_every_shape(run: Any) -> None:
    # Round trips parked with no greenlet whose functions take no i32 or return none (the general path, not the
    # one C call that writes an i32 result as the thread runs on: wr_api_exec_host), and a negative i32 result.
    async def main() -> tuple[int, list[int]]:
        store = Store()
        seen: list[int] = []

        async def v(x: int) -> None:
            seen.append(x)
            await asyncio.sleep(0)

        async def mul(a: int, b: int) -> int:
            await asyncio.sleep(0)
            return a * b

        async def z() -> int:
            await asyncio.sleep(0)
            return -1

        imports = {
            "env": {
                "v": Function(store, v, FuncType([I32], [])),
                "l": Function(store, mul, FuncType([ValType.I64, I32], [ValType.I64])),
                "z": Function(store, z, FuncType([], [I32])),
            }
        }
        f = Instance(store, Module(wat2wasm(ROUND_TRIP_TYPES_WAT)), imports).exports.f
        return await f.call_async(3), seen

    assert run(main()) == (-5 * (3 + 2 + 1) - 3, [3, 2, 1])


def test_a_call_parks_in_async_host_calls_without_a_greenlet(run: Any) -> None:
    # A call_async thread run by a turn that stops at an async host call parks in it with no greenlet of its own
    # (the coroutine keeps its frames); a sync host call then gives it one, in the caller's context all along.
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> tuple[list[Any], int]:
        store = Store()
        seen: list[Any] = []

        async def look(x: int) -> int:
            (gt,) = store.scheduler.alive
            seen.append(("look", var.get(), gt._glet is None))
            await asyncio.sleep(0)
            return x + 10

        def note(x: int) -> int:
            (gt,) = store.scheduler.alive
            seen.append(("note", var.get(), gt._glet is None))
            return x

        imports = {"env": {"look": Function(store, look, I32_TO_I32), "note": Function(store, note, I32_TO_I32)}}
        f = Instance(store, Module(wat2wasm(NOTE_WAT)), imports).exports.f
        var.set("caller")
        return seen, await f.call_async(1)

    assert run(main()) == ([("look", "caller", True), ("note", "caller", False)], 11)


LOOP_WAT = """(module
  (import "env" "look" (func $look (param i32) (result i32)))
  (import "env" "note" (func $note (param i32) (result i32)))
  (func (export "loop") (param $n i32) (result i32) (local $acc i32)
    (loop $l  ;; n > 0 calls of look(n), ..., look(1), their results summed
      (local.set $acc (i32.add (local.get $acc) (call $look (local.get $n))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "g") (param i32) (result i32) (call $note (call $look (local.get 0)))))"""


def _loop_instance(store: Store, look: Callable[..., Any], note: Callable[[int], int]) -> Instance:
    imports = {"env": {"look": Function(store, look, I32_TO_I32), "note": Function(store, note, I32_TO_I32)}}
    return Instance(store, Module(wat2wasm(LOOP_WAT)), imports)


def test_round_trips_run_from_the_done_callbacks_without_scheduled_turns(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A thread's round trips through an async host function, one a loop iteration: the step that finishes each
    # coroutine runs the thread on (LoopClient._host_done), and the count that bounds such turns per iteration starts
    # again every iteration, so no turn is scheduled for them (once every `slices` round trips, before).
    turns = 0
    scheduled = aio.LoopClient._scheduled_turn

    def counted(client: aio.LoopClient) -> None:
        nonlocal turns
        turns += 1
        scheduled(client)

    monkeypatch.setattr(aio.LoopClient, "_scheduled_turn", counted)

    async def look(x: int) -> int:
        await asyncio.sleep(0)
        return 1

    async def main() -> int:
        f = _loop_instance(Store(), look, lambda x: x).exports.loop
        return await f.call_async(100)  # type: ignore[no-any-return]

    assert run(main()) == 100
    assert turns == 1  # the one that started the call


def test_a_burst_of_completions_runs_at_most_slices_threads_in_one_iteration(run: Any) -> None:
    # 20 threads parked in async host calls awaiting one future: its result wakes them all in one loop iteration.
    # At most `slices` of them go on from their done callbacks; the others wait for a turn of their own, so the
    # loop's other callbacks (`check`, queued behind the wake-ups) come first.
    async def main() -> tuple[int, list[int]]:
        store = Store()
        client = aio.loop_client(store)
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        noted: list[int] = []
        seen: list[int] = []

        async def look(x: int) -> int:
            await gate
            return x

        def note(x: int) -> int:
            noted.append(x)
            return x

        g = _loop_instance(store, look, note).exports.g
        calls = asyncio.gather(*(g.call_async(i) for i in range(20)))
        while client._awaiting < 20:
            await asyncio.sleep(0)
        gate.set_result(None)
        asyncio.get_running_loop().call_soon(lambda: seen.append(len(noted)))
        assert sorted(await calls) == list(range(20))
        return client.slices, seen

    slices, seen = run(main())
    assert seen == [slices]


def test_a_burst_of_bare_yields_runs_at_most_slices_threads_in_one_iteration(run: Any) -> None:
    # 20 threads parked in async host calls awaiting one future, then a bare yield (asyncio.sleep(0)): the future's
    # result steps them all to their yield in one loop iteration, and their last steps all run in the next one. At
    # most `slices` of them go on from there (a step queued at a bare yield says a new iteration began: it must not
    # start the count again for the others of its iteration); `check`, queued behind those steps, comes first.
    async def main() -> tuple[int, list[int]]:
        store = Store()
        client = aio.loop_client(store)
        loop = asyncio.get_running_loop()
        gate: asyncio.Future[None] = loop.create_future()
        noted: list[int] = []
        seen: list[int] = []

        async def look(x: int) -> int:
            await gate
            await asyncio.sleep(0)
            return x

        def note(x: int) -> int:
            noted.append(x)
            return x

        g = _loop_instance(store, look, note).exports.g
        calls = asyncio.gather(*(g.call_async(i) for i in range(20)))
        while client._awaiting < 20:
            await asyncio.sleep(0)
        gate.set_result(None)  # the 20 wake-ups run next iteration, each queueing its last step
        loop.call_soon(lambda: loop.call_soon(lambda: seen.append(len(noted))))  # behind those steps
        assert sorted(await calls) == list(range(20))
        return client.slices, seen

    slices, seen = run(main())
    assert seen == [slices]


def test_round_trips_on_asyncios_loop_queue_no_new_callbacks() -> None:
    # On asyncio's own loop a round trip's step is queued as the one Handle its host call keeps (aio._StepHandle),
    # not by call_soon, and no callback every few round trips marks the loop's iterations: 200 round trips make a
    # handful of aio's call_soon calls, not 200 and more. Each still takes one loop iteration, as asyncio.sleep(0)
    # yields to the loop once (a task ticking with sleep(0) beside them ticks as often).
    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        calls = 0
        call_soon = loop.call_soon

        def counted(callback: Any, *args: Any, **kwargs: Any) -> asyncio.Handle:
            nonlocal calls
            if isinstance(getattr(callback, "__self__", None), (aio._HostCall, aio.LoopClient)):
                calls += 1  # aio's own (the ticker's task steps are call_soon's too)
            return call_soon(callback, *args, **kwargs)

        loop.call_soon = counted  # type: ignore[method-assign]  # the loop's type, which aio looks at, is unchanged
        ticks = 0
        stop = False

        async def tick() -> None:
            nonlocal ticks
            while not stop:
                await asyncio.sleep(0)
                ticks += 1

        async def look(x: int) -> int:
            await asyncio.sleep(0)
            return 1

        f = _loop_instance(Store(), look, lambda x: x).exports.loop
        await f.call_async(1)
        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0)
        calls = ticks = 0
        result = await f.call_async(200)
        seen = ticks
        stop = True
        await ticker
        return result, calls, seen

    result, calls, ticks = runner("asyncio")(main())
    assert result == 200
    assert calls < 10
    assert 195 <= ticks <= 205


def test_a_failure_in_a_queued_step_goes_to_the_loops_exception_handler(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A step run from the loop that fails outside its coroutine (here: delivering the outcome) is reported to the
    # loop's exception handler and the loop goes on, as a failing callback's Handle would (aio._StepHandle runs
    # the step with no Handle._run around it).
    def broken(client: aio.LoopClient, call: Any, ok: bool, value: Any) -> None:
        raise RuntimeError("broken delivery")

    monkeypatch.setattr(aio.LoopClient, "_host_done", broken)

    async def look(x: int) -> int:
        await asyncio.sleep(0)
        return 1

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        reported: list[str] = []
        loop.set_exception_handler(lambda _loop, context: reported.append(str(context.get("exception"))))
        call = asyncio.ensure_future(_loop_instance(Store(), look, lambda x: x).exports.loop.call_async(1))
        for _ in range(5):
            await asyncio.sleep(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        return reported

    assert run(main()) == ["broken delivery"]


def test_a_call_is_a_future_to_asyncio_and_gather_makes_no_task_for_it(run: Any) -> None:
    # aio._Call: a coroutine and a future both. Made while a loop runs it begins at once, and ensure_future and gather
    # take it as the future it is: the only tasks are the threads' proxy tasks (what their host coroutines see).
    async def main() -> tuple[list[int], list[str]]:
        store = Store()
        release = asyncio.Event()

        async def look(x: int) -> int:
            await release.wait()
            return x

        f = _instance(store, look).exports.f
        call = f.call_async(1)
        assert asyncio.isfuture(call) and asyncio.iscoroutine(call) and not call.done()
        assert asyncio.ensure_future(call) is call
        both = asyncio.gather(call, f.call_async(2))
        while len(store.scheduler.alive) < 2:
            await asyncio.sleep(0)
        names = sorted(t.get_name().rsplit(" ", 1)[0] for t in asyncio.all_tasks() - {asyncio.current_task()})
        release.set()
        return await both, names

    assert run(main()) == ([2, 3], ["host calls of thread"] * 2)


def test_a_calls_done_callbacks_run_in_the_context_they_were_added_in(run: Any) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> list[tuple[str, str]]:
        async def look(x: int) -> int:
            return x

        seen: list[tuple[str, str]] = []
        var.set("caller")
        call = _instance(Store(), look).exports.f.call_async(1)
        assert isinstance(call, asyncio.Future) is False and asyncio.isfuture(call)
        call.add_done_callback(lambda _: seen.append(("added as begun", var.get())))  # type: ignore[attr-defined]
        var.set("later")
        call.add_done_callback(lambda _: seen.append(("added later", var.get())))  # type: ignore[attr-defined]
        assert await call == 2
        await asyncio.sleep(0)
        return seen

    assert run(main()) == [("added as begun", "caller"), ("added later", "later")]


def test_a_failed_call_nobody_awaited_is_reported_and_an_awaited_ones_traceback_stays_as_it_was(run: Any) -> None:
    # As a Future's or a Task's: an exception never retrieved goes to the loop's exception handler when the call is
    # collected; one retrieved is raised again from where it ended each time (its traceback does not grow).
    async def main() -> tuple[list[str], int]:
        errors: list[str] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx["message"]))

        async def look(x: int) -> int:
            return x

        div = _instance(Store(), look).exports.div
        dropped = div.call_async(0)  # 1 / 0: traps
        kept = div.call_async(0)
        for _ in range(100):
            if dropped.done() and kept.done():  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0)
        del dropped
        gc.collect()
        depths = []
        for _ in range(3):
            try:
                kept.result()  # type: ignore[attr-defined]
            except Trap as e:
                depths.append(len(traceback.extract_tb(e.__traceback__)))
        assert depths[0] == depths[1] == depths[2]
        return errors, len(errors)

    errors, n = run(main())
    assert n == 1 and "exception was never retrieved" in errors[0]


def test_a_call_made_with_no_loop_running_begins_when_first_stepped(run: Any) -> None:
    # Not a future yet (it has no loop): asyncio.run and run_until_complete make it a task, as a coroutine.
    async def look(x: int) -> int:
        await asyncio.sleep(0)
        return x

    f = _instance(Store(), look).exports.f
    call = f.call_async(4)
    assert not asyncio.isfuture(call)
    assert run(call) == 5
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(f.call_async(5)) == 6
    finally:
        loop.close()


def test_a_call_runs_unawaited_once_made_as_a_task_does(run: Any) -> None:
    async def main() -> list[int]:
        seen: list[int] = []

        async def look(x: int) -> int:
            seen.append(x)
            return x

        asyncio.ensure_future(_instance(Store(), look).exports.f.call_async(7))  # never awaited
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0)
        return seen

    assert run(main()) == [7]


def test_wait_for_shield_tasks_and_task_groups_take_a_call(run: Any) -> None:
    async def main() -> list[Any]:
        store = Store()
        never: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def look(x: int) -> int:
            if x == 0:
                return await never
            await asyncio.sleep(0)
            return x

        f = _instance(store, look).exports.f
        out: list[Any] = []
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(f.call_async(0), 0.01)
        out.append(len(store.scheduler.alive))  # its thread was killed
        out.append(await asyncio.shield(f.call_async(1)))
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(f.call_async(2))
        out.append(task.result())
        out.append(await asyncio.create_task(f.call_async(3)))
        out.append(never.cancelled())  # the killed thread's host coroutine was cancelled in its await
        return out

    assert run(main()) == [0, 2, 3, 4, True]


def test_closing_the_coroutine_that_awaits_a_call_kills_its_thread(run: Any) -> None:
    # (a coroutine collected while it waits is closed: GeneratorExit reaches the call it awaits)
    async def main() -> tuple[int, int, bool]:
        store = Store()
        parked = asyncio.Event()

        async def look(x: int) -> int:
            parked.set()
            await asyncio.sleep(3600)
            return x

        f = _instance(store, look).exports.f

        async def caller() -> int:
            return await f.call_async(1)  # type: ignore[no-any-return]

        coro = caller()
        call = coro.send(None)  # the call it waits on
        await parked.wait()
        alive = len(store.scheduler.alive)
        coro.close()
        return alive, len(store.scheduler.alive), call.cancelled()

    assert run(main()) == (1, 0, True)


def test_a_finished_call_leaves_no_cycle_of_its_host_calls(run: Any) -> None:
    # A thread's host call keeps its step's Handle (aio._StepHandle, a cycle through its bound step) only while it
    # is the thread's spare, and its proxy task holds its relay through its coroutine only while the thread lives:
    # once the thread ended, nothing of its call or host calls is left for the cyclic collector (whose passes grow
    # with what is left: 10,000 calls in progress made it walk 3 more objects each).
    async def look(x: int) -> int:
        await asyncio.sleep(0)  # a bare yield: the step's Handle
        await asyncio.sleep(0.001)  # a future: its done callback
        return 1

    async def main() -> int:
        f = _loop_instance(Store(), look, lambda x: x).exports.loop
        return await f.call_async(3)  # type: ignore[no-any-return]

    gc.collect()
    gc.disable()
    try:
        assert run(main()) == 3
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        ours = (aio._Call, aio._HostCall, aio._StepHandle, aio._Relay, asyncio.Task)
        left = [o for o in gc.garbage if isinstance(o, ours)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


def test_a_loop_that_cannot_name_its_task_factory_runs_host_calls() -> None:
    # AbstractEventLoop's own get_task_factory raises NotImplementedError: the proxy task is then made as the loop
    # makes any task (aio._task_factory).
    class Unnamed(asyncio.SelectorEventLoop):
        def get_task_factory(self) -> Any:
            raise NotImplementedError

    async def look(x: int) -> int:
        await asyncio.sleep(0)
        return x

    loop = Unnamed()
    try:
        assert loop.run_until_complete(_instance(Store(), look).exports.f.call_async(4)) == 5
    finally:
        loop.close()


def test_only_asyncios_own_call_soon_is_bypassed() -> None:
    # A loop whose call_soon is its own sees every callback: aio queues steps itself only on a loop whose call_soon
    # is BaseEventLoop's.
    class Watched(asyncio.SelectorEventLoop):
        def call_soon(self, *args: Any, **kwargs: Any) -> asyncio.Handle:
            return super().call_soon(*args, **kwargs)

    plain, watched = asyncio.new_event_loop(), Watched()
    try:
        assert aio._ready_queue(plain) is plain._ready  # type: ignore[attr-defined]
        assert aio._ready_queue(watched) is None
    finally:
        plain.close()
        watched.close()


def _stuck_call(store: Store) -> asyncio.Future[int]:
    """A call_async of `store` parked for good: its async host function awaits a future nobody completes."""
    never: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def wait(x: int) -> int:
        return await never

    return asyncio.ensure_future(_instance(store, wait).exports.f.call_async(1))


def test_the_stores_fuel_running_out_in_a_round_trip_ends_every_call(run: Any) -> None:
    # The fuel runs out in a thread run on from a done callback (LoopClient._host_done): as any error that ends the
    # whole run, it ends every call in progress, the one parked for good too, at once.
    async def main() -> tuple[str, str]:
        store = Store()

        async def look(x: int) -> int:
            await asyncio.sleep(0)
            return 1

        spin = _loop_instance(store, look, lambda x: x).exports.loop
        stuck = _stuck_call(store)
        client = aio.loop_client(store)
        while client._awaiting < 1:
            await asyncio.sleep(0)
        store.fuel = 2_000
        with pytest.raises(OutOfFuel) as spun:
            await spin.call_async(1_000_000)
        await asyncio.sleep(0)
        assert stuck.done()
        with pytest.raises(OutOfFuel) as waited:
            await stuck
        return str(spun.value), str(waited.value)

    assert run(main()) == ("all fuel consumed", "all fuel consumed")


def test_an_interrupt_from_a_host_coroutine_in_a_round_trip_ends_every_call(run: Any) -> None:
    # interrupt() from the first step of a host coroutine (its thread running on from a done callback) ends the
    # run as soon as the thread stops, as it does from any thread: every call in progress raises it.
    async def main() -> tuple[list[int], str, str]:
        store = Store()
        seen: list[int] = []

        async def look(x: int) -> int:
            seen.append(x)
            if x == 3:
                current_scheduler().interrupt(KeyError("stop"))
            await asyncio.sleep(0)
            return 1

        spin = _loop_instance(store, look, lambda x: x).exports.loop
        stuck = _stuck_call(store)
        with pytest.raises(KeyError) as spun:
            await spin.call_async(6)
        await asyncio.sleep(0)
        with pytest.raises(KeyError) as waited:
            await stuck
        return seen, str(spun.value), str(waited.value)

    assert run(main()) == ([6, 5, 4, 3], "'stop'", "'stop'")


def test_a_store_closed_during_a_call(run: Any) -> None:
    async def main() -> None:
        store = Store()

        async def look(x: int) -> int:
            await asyncio.sleep(0)
            return x

        call = asyncio.ensure_future(_instance(store, look).exports.f.call_async(1))
        await asyncio.sleep(0)
        store.close()
        with pytest.raises(StoreClosedError):
            await call

        # A call parked in an async host function, and one not started yet.
        store = Store()
        parked = asyncio.Event()

        async def wait_forever(x: int) -> int:
            parked.set()
            await asyncio.Event().wait()
            return x

        f = _instance(store, wait_forever).exports.f
        calls = [asyncio.ensure_future(f.call_async(i)) for i in range(2)]
        aio.loop_client(store).slices = 1
        await parked.wait()
        store.close()
        for call in calls:
            with pytest.raises(StoreClosedError):
                await call

    run(main())


def test_the_c_run_loop_never_blocks_under_a_loop(run: Any) -> None:
    async def main() -> None:
        store = Store()
        sched = store.scheduler

        async def look(x: int) -> int:
            assert sched._loop_client and not sched._core_may_block
            return x

        await _instance(store, look).exports.f.call_async(1)
        assert not sched._loop_client
        assert lib.wr_api_store_pool_threads(store._ptr) >= 1

    run(main())


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "asyncio.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/asyncio.md", "exec"), {"__name__": "docs_example"})  # noqa: S102
    assert capsys.readouterr().out == "['1000', '1200', '990']\n"


NOTE_WAT = """(module
  (import "env" "look" (func $look (param i32) (result i32)))
  (import "env" "note" (func $note (param i32) (result i32)))
  (func (export "f") (param i32) (result i32) (call $note (call $look (local.get 0)))))"""


@pytest.mark.parametrize("seed", [None, 7, 8])
def test_a_seeded_run_gets_async_results_in_call_order(run: Any, seed: int | None) -> None:
    # The host calls finish in the reverse of the order they were made. Fair: the wasm threads go on as results
    # come. Seeded: results are delivered in the order the calls were made, whenever they come, and the seed alone
    # decides the rest, so the same seed gives the same order of calls and of the threads going on.
    async def main() -> tuple[list[int], list[int]]:
        store = Store(policy=SeededPolicy(seed) if seed is not None else None)
        made: list[int] = []
        finished: list[int] = []
        went_on: list[int] = []
        gates = {i: asyncio.Event() for i in range(5)}

        async def look(x: int) -> int:
            made.append(x)
            await gates[x].wait()
            finished.append(x)
            return x

        async def finish_in_reverse() -> None:
            while len(made) < 5:
                await asyncio.sleep(0)
            for x in reversed(made):
                gates[x].set()
                while x not in finished:
                    await asyncio.sleep(0)
                for _ in range(3):  # a fair run's thread goes on within these loop iterations
                    await asyncio.sleep(0)

        def note(x: int) -> int:
            went_on.append(x)
            return x

        imports = {"env": {"look": Function(store, look, I32_TO_I32), "note": Function(store, note, I32_TO_I32)}}
        f = Instance(store, Module(wat2wasm(NOTE_WAT)), imports).exports.f
        results, _ = await asyncio.gather(asyncio.gather(*(f.call_async(i) for i in range(5))), finish_in_reverse())
        assert results == list(range(5))
        return made, went_on

    made, went_on = run(main())
    if seed is None:
        assert went_on == made[::-1]  # as the results came
    else:
        assert went_on == made  # as the calls were made
        assert run(main()) == (made, went_on)  # the same seed: the same run


def test_a_failing_turn_ends_the_calls_instead_of_leaving_them_waiting(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        store = Store()
        f = _instance(store, lambda x: x).exports.f

        def broken() -> None:
            raise RuntimeError("broken turn")

        monkeypatch.setattr(store.scheduler, "yield_now", broken)
        with pytest.raises(RuntimeError, match="broken turn"):
            await asyncio.gather(f.call_async(1), f.call_async(2))

    run(main())


def test_a_store_moves_to_another_loop_between_runs(run: Any) -> None:
    store = Store()

    async def look(x: int) -> int:
        await asyncio.sleep(0)
        return x

    f = _instance(store, look).exports.f
    assert run(f.call_async(1)) == 2
    assert run(f.call_async(2)) == 3  # a new loop: the store's client moves to it

    async def two_loops() -> None:
        other = asyncio.new_event_loop()
        try:
            call = asyncio.ensure_future(f.call_async(3))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="another event loop"):
                aio.loop_client(store, other)
            assert await call == 4
        finally:
            other.close()

    run(two_loops())


ECHO_WAT = """(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 4)
  (func (export "accept") (param $base i32) (result i32)
    (drop (call $accept (i32.const 3) (i32.const 0) (local.get $base)))
    (i32.load (local.get $base)))
  ;; Echo until the peer closes: the bytes echoed. Scratch at $base: iovec, counts, then 64 bytes of data.
  (func (export "echo") (param $fd i32) (param $base i32) (result i32) (local $n i32) (local $total i32)
    (i32.store (local.get $base) (i32.add (local.get $base) (i32.const 32)))
    (block $done (loop $again
      (i32.store offset=4 (local.get $base) (i32.const 64))
      (br_if $done (call $recv (local.get $fd) (local.get $base) (i32.const 1) (i32.const 0)
                               (i32.add (local.get $base) (i32.const 8)) (i32.add (local.get $base) (i32.const 12))))
      (local.set $n (i32.load offset=8 (local.get $base)))
      (br_if $done (i32.eqz (local.get $n)))
      (i32.store offset=4 (local.get $base) (local.get $n))
      (br_if $done (call $send (local.get $fd) (local.get $base) (i32.const 1) (i32.const 0)
                               (i32.add (local.get $base) (i32.const 8))))
      (local.set $total (i32.add (local.get $total) (local.get $n)))
      (br $again)))
    (drop (call $fd_close (local.get $fd)))
    (local.get $total)))"""


def test_wasi_sockets_wait_in_the_c_reactor_watched_by_the_loop(run: Any) -> None:
    # Echo threads whose socket calls park in the C core's reactor (after each socket's first call): the loop
    # watches the reactor's one descriptor and wakes them; asyncio clients on the same loop talk to them.
    from wasmroutines.bindings.wasi import WasiConfig, WasiEnvironment

    async def main() -> tuple[list[int], set[str]]:
        config = WasiConfig().listen_tcp("127.0.0.1", 0)
        port = config.listeners[0].getsockname()[1]
        store = Store()
        wasi = WasiEnvironment(config)
        module = Module(wat2wasm(ECHO_WAT))
        instance = Instance(store, module, wasi.imports(store, module))
        wasi.bind(instance)
        x = instance.exports
        seen: set[str] = set()
        n, rounds = 5, 20
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
        fds = [x.accept(1024) for _ in range(n)]
        echoes = [asyncio.ensure_future(x.echo.call_async(fd, 2048 + 128 * i)) for i, fd in enumerate(fds)]

        async def client(sock: socket.socket, i: int) -> None:
            reader, writer = await asyncio.open_connection(sock=sock)
            for r in range(rounds):
                msg = b"%d:%d;" % (i, r)
                writer.write(msg)
                assert await reader.readexactly(len(msg)) == msg
                seen.update(gt.blocked_on or "" for gt in store.scheduler.alive)
            writer.close()

        await asyncio.gather(*(client(s, i) for i, s in enumerate(socks)))
        totals = list(await asyncio.gather(*echoes))
        wasi.close()
        return totals, seen

    totals, seen = run(main())
    assert totals == [sum(len(b"%d:%d;" % (i, r)) for r in range(20)) for i in range(5)]
    assert any(what.startswith("host fd ") for what in seen)  # parked in the C reactor, not in Python


@pytest.mark.parametrize("given", [False, True], ids=["default policy", "policy given"])
def test_a_default_stores_slice_is_shorter_while_a_loop_drives_it(run: Any, given: bool) -> None:
    """The store's own fair policy runs aio.LOOP_SLICE-unit slices while a loop drives the store, and its own
    again after; a policy given to the store is left as it is."""
    store = Store(policy=FairPolicy(slice=5_000_000)) if given else Store()
    policy = store.scheduler.policy
    assert isinstance(policy, FairPolicy)
    before = policy.slice(store.scheduler.current)
    seen: list[int] = []

    async def look(x: int) -> int:
        seen.append(policy.slice(store.scheduler.current))
        await asyncio.sleep(0)
        return x

    run(_instance(store, look).exports.f.call_async(1))
    assert seen == [before if given else aio.LOOP_SLICE]
    assert policy.slice(store.scheduler.current) == before


def test_a_host_coroutine_sees_its_own_store_after_an_await(run: Any) -> None:
    # current_scheduler() in a host coroutine is its caller's store's, before and after it awaits, while another
    # store's calls run on the same loop in between.
    async def main() -> None:
        stores = [Store(), Store()]
        seen: list[tuple[bool, bool]] = []

        def look_for(store: Store) -> Callable[[int], Awaitable[int]]:
            async def look(x: int) -> int:
                before = current_scheduler() is store.scheduler
                await asyncio.sleep(0)
                seen.append((before, current_scheduler() is store.scheduler))
                return x

            return look

        fs = [_instance(store, look_for(store)).exports.f for store in stores]
        await asyncio.gather(*(f.call_async(i) for i in range(4) for f in fs))
        assert seen == [(True, True)] * 8

    run(main())
