"""Threads through the wasmer face (our extension): Store(policy=, clock=), wasmer.threads, wasi.run_threads.

The bar's test is at the end: threaded Zig and C programs built for wasmtime's
and wasmer's CLI (wasi-threads) run through `wasmroutines.wasmer` in one call,
their stdout captured into a bytearray and checked exactly against
tests/programs/manifest.json.
"""

from __future__ import annotations

import json
import queue
from pathlib import Path
from typing import Any

import pytest

from wasmroutines import wasmer
from wasmroutines.bindings.wasmer import _wasi_seam
from wasmroutines.wasmer import (
    Function,
    FunctionType,
    ImportObject,
    Instance,
    Memory,
    Module,
    Store,
    Type,
    threads,
    wasi,
)

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
MANIFEST: dict[str, Any] = json.loads((PROGRAMS / "manifest.json").read_text())["programs"]


def program(name: str) -> bytes:
    return (PROGRAMS / "wasm" / f"{name}.wasm").read_bytes()


# ---- Store(policy=, clock=) ----


def test_store_forwards_policy_and_clock_to_the_core() -> None:
    policy, clock = threads.SeededPolicy(5), threads.VirtualClock()
    store = Store(wasmer.engine.Universal(), policy=policy, clock=clock)
    assert store.policy is policy and store.clock is clock
    assert store._core.scheduler.policy is policy and store._core.scheduler.clock is clock
    assert store.engine_name == "universal"  # the engine argument still works alongside


def test_store_defaults_and_policy_setter() -> None:
    store = Store()
    assert isinstance(store.policy, threads.FairPolicy)
    assert isinstance(store.clock, threads.MonotonicClock)
    store.policy = threads.SeededPolicy(9)
    assert isinstance(store._core.scheduler.policy, threads.SeededPolicy)
    assert store.scheduler is store._core.scheduler


def test_policy_and_clock_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Store(None, threads.FairPolicy())  # type: ignore[misc]


# ---- spawn and join wasm functions ----

KINDS = """(module
  (func (export "pair") (param i64 f32) (result i64 f32) local.get 0 local.get 1)
  (func (export "none"))
  (func (export "f64") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 2)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"""


def test_spawn_and_join_convert_as_a_call_does() -> None:
    instance = Instance(Module(Store(), KINDS))
    e = instance.exports
    ts = [threads.spawn(e.pair, 2**40, 1.5), threads.spawn(e.none), threads.spawn(e.f64, 0.25)]
    assert [threads.join(t) for t in ts] == [(2**40, 1.5), None, 0.5]
    assert all(not t.alive for t in ts)
    assert instance.exports.div(7, 2) == 3  # the store still works after its threads


def test_spawn_checks_arguments_at_once() -> None:
    e = Instance(Module(Store(), KINDS)).exports
    with pytest.raises(TypeError):
        threads.spawn(e.div, 1.5, 2)
    with pytest.raises(RuntimeError, match="did not match signature"):
        threads.spawn(e.div, 1)
    with pytest.raises(TypeError):
        threads.spawn(42)  # type: ignore[arg-type]


def test_a_trap_in_a_thread_raises_from_join_as_wasmer_does() -> None:
    e = Instance(Module(Store(), KINDS)).exports
    t = threads.spawn(e.div, 1, 0)
    with pytest.raises(wasmer.errors.WasmerTrap, match="integer divide by zero") as info:
        t.join()
    assert isinstance(info.value, RuntimeError) and t.exception is info.value


def test_spawn_refuses_a_store_that_is_not_the_functions() -> None:
    e = Instance(Module(Store(), KINDS)).exports
    with pytest.raises(ValueError, match="another store"):
        threads.spawn(e.none, store=Store())


def test_a_spawned_callable_calls_wasm() -> None:
    store = Store()
    e = Instance(Module(store, KINDS)).exports
    t = threads.spawn(lambda: e.div(9, 3) + e.div(8, 2), store=store, name="caller")
    assert t.name == "caller" and t.join() == 7


COUNTER = """(module
  (import "env" "note" (func $note (param i32)))
  (memory (export "memory") 1 1 shared)
  ;; each step takes a ticket (atomic counter at 0) and writes the thread's id at 4 + ticket
  (func (export "run") (param $id i32) (param $n i32)
    (loop $again
      (call $note (local.get $id))
      (i32.store8 (i32.add (i32.const 4) (i32.atomic.rmw.add (i32.const 0) (i32.const 1))) (local.get $id))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (local.get $n)))))"""


def interleaving(policy: threads.Policy, n: int = 40) -> bytes:
    """Which thread took each of 3 * n tickets, three threads racing under `policy`."""
    store = Store(policy=policy)
    note = Function(store, lambda i: None, FunctionType([Type.I32], []))
    instance = Instance(Module(store, COUNTER), {"env": {"note": note}})
    ts = [threads.spawn(instance.exports.run, i, n) for i in (1, 2, 3)]
    for t in ts:
        t.join()
    return bytes(instance.exports.memory.uint8_view()[4 : 4 + 3 * n])


def test_seeded_policy_gives_a_reproducible_schedule() -> None:
    runs = {seed: interleaving(threads.SeededPolicy(seed, max_slice=20)) for seed in range(6)}
    assert all(sorted(log) == sorted(bytes([1, 2, 3]) * 40) for log in runs.values())
    assert runs[3] == interleaving(threads.SeededPolicy(3, max_slice=20))  # same seed, same interleaving
    assert len(set(runs.values())) > 1  # other seeds, other interleavings


def test_fair_policy_round_robins_in_spawn_order() -> None:
    log = interleaving(threads.FairPolicy(slice=1_000_000))
    assert log == bytes([1] * 40 + [2] * 40 + [3] * 40)  # slices long enough to finish in turn
    assert interleaving(threads.FairPolicy(slice=5)) == interleaving(threads.FairPolicy(slice=5))


# ---- host functions that block only their own green thread ----

PIPE = """(module
  (import "env" "take" (func $take (result i32)))
  (import "env" "give" (func $give (param i32)))
  (import "env" "nap" (func $nap (param i32)))
  (import "env" "note" (func $note (param i32)))
  (func (export "consume") (param $n i32) (result i32) (local $sum i32)
    (loop $again
      (local.set $sum (i32.add (local.get $sum) (call $take)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (local.get $n)))
    (local.get $sum))
  (func (export "produce") (param $n i32)
    (loop $again
      (call $give (local.get $n))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (local.get $n))))
  (func (export "sleeper") (param $ms i32)
    (call $note (i32.const 1)) (call $nap (local.get $ms)) (call $note (i32.const 2)))
  (func (export "worker") (call $note (i32.const 3))))"""


def pipe_instance(store: Store, events: list[int]) -> tuple[Instance, threads.Queue[int]]:
    q: threads.Queue[int] = threads.Queue()

    def take() -> int:
        return q.get()

    def give(x: int) -> None:
        q.put(x)

    def nap(ms: int) -> None:
        threads.sleep(ms / 1000)

    def note(x: int) -> None:
        events.append(x)

    imports = ImportObject()
    imports.register(
        "env",
        {
            "take": Function(store, take, FunctionType([], [Type.I32])),
            "give": Function(store, give, FunctionType([Type.I32], [])),
            "nap": Function(store, nap, FunctionType([Type.I32], [])),
            "note": Function(store, note, FunctionType([Type.I32], [])),
        },
    )
    return Instance(Module(store, PIPE), imports), q


def test_a_host_function_waiting_on_a_queue_parks_only_its_thread() -> None:
    store = Store()
    instance, _ = pipe_instance(store, [])
    consumer = threads.spawn(instance.exports.consume, 10)  # first: it blocks in `take` at once
    producer = threads.spawn(instance.exports.produce, 10)
    assert consumer.join() == 55
    assert producer.join() is None


def test_the_main_call_may_block_in_a_host_function_too() -> None:
    store = Store()
    instance, _ = pipe_instance(store, [])
    threads.spawn(instance.exports.produce, 4)
    assert instance.exports.consume(4) == 10  # the main thread waits in `take`; the producer fills the queue


@pytest.mark.parametrize("clock", [threads.MonotonicClock(), threads.VirtualClock()], ids=["monotonic", "virtual"])
def test_a_sleeping_host_function_lets_the_others_run(clock: threads.Clock) -> None:
    events: list[int] = []
    store = Store(clock=clock)
    instance, _ = pipe_instance(store, events)
    start = store.scheduler.now_ns()
    sleeper = threads.spawn(instance.exports.sleeper, 50)
    worker = threads.spawn(instance.exports.worker)
    sleeper.join()
    worker.join()
    assert events == [1, 3, 2]  # the worker ran while the sleeper slept
    assert store.scheduler.now_ns() - start >= 50_000_000


def test_a_queue_get_with_timeout_raises_empty() -> None:
    store = Store(clock=threads.VirtualClock())
    q: threads.Queue[int] = threads.Queue()
    t = threads.spawn(lambda: q.get(timeout=5), store=store)
    with pytest.raises(queue.Empty):
        t.join()
    assert len(q) == 0 and q.empty()


def test_waiting_for_good_is_a_deadlock() -> None:
    store = Store()
    instance, _ = pipe_instance(store, [])
    t = threads.spawn(instance.exports.consume, 1)  # nobody will ever give
    with pytest.raises(threads.Deadlock):
        t.join()
    store.scheduler.close()


# ---- wasi-threads through wasmer.wasi ----


def test_generate_imports_keeps_its_45_names() -> None:
    store = Store()
    env = wasi.StateBuilder("prog").finalize()
    names = env.generate_imports(store, wasi.Version.LATEST)["wasi_snapshot_preview1"]
    assert len(names) == 45 and "thread-spawn" not in names
    assert "wasi" not in env.generate_imports(store, wasi.Version.LATEST)


def test_uses_threads() -> None:
    store = Store()
    assert wasi.uses_threads(Module(store, program("zig_condition")))
    assert not wasi.uses_threads(Module(store, "(module)"))
    with pytest.raises(TypeError):
        wasi.uses_threads(b"\0asm")  # type: ignore[arg-type]


THREADED = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (if (i32.eq (local.get $arg) (i32.const 1)) (then unreachable))
    (call $exit (local.get $arg)))
  (func (export "_start") (param) (local $arg i32)
    (local.set $arg (i32.load (i32.const 0)))
    (drop (call $spawn (local.get $arg)))
    (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))))"""


def threaded(arg: int) -> tuple[Module, Memory]:
    store = Store()
    memory = Memory(store, wasmer.MemoryType(1, 1, shared=True))
    memory.uint32_view()[0] = arg
    return Module(store, THREADED), memory


def test_proc_exit_in_a_thread_is_the_programs_status() -> None:
    module, memory = threaded(7)
    env = wasi.StateBuilder("prog").finalize()
    assert wasi.run_threads(module, env, {"env": {"memory": memory}}) == 7  # the given memory is the one used


def test_a_trap_in_a_thread_raises_runtime_error() -> None:
    module, memory = threaded(1)
    imports = ImportObject()
    imports.register("env", {"memory": memory})
    with pytest.raises(RuntimeError, match="unreachable"):
        wasi.run_threads(module, wasi.StateBuilder("prog").finalize(), imports)


def test_run_threads_rejects_misuse() -> None:
    module, memory = threaded(0)
    env = wasi.StateBuilder("prog").finalize()
    with pytest.raises(TypeError):
        wasi.run_threads(b"", env)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wasi.run_threads(module, object())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="another store"):
        wasi.run_threads(module, env, {"env": {"memory": Memory(Store(), wasmer.MemoryType(1, 1, shared=True))}})
    assert _wasi_seam.THREADS_BINDING == "wasmroutines.bindings.wasi_threads"


# ---- the bar: threaded Zig and C programs, stdout captured ----


@pytest.mark.parametrize("name", ["zig_condition", "c_futex_mutex"])
@pytest.mark.parametrize("policy", [None, threads.SeededPolicy(2026, max_slice=500)], ids=["fair", "seeded"])
def test_threaded_program_runs_through_wasmer_with_output_captured(name: str, policy: threads.Policy | None) -> None:
    spec = MANIFEST[name]
    store = Store(policy=policy)
    module = Module(store, program(name))
    out, err = bytearray(), bytearray()
    env = wasi.StateBuilder(name).arguments(spec["args"]).stdout(out).stderr(err).finalize()
    assert wasi.run_threads(module, env) == 0
    assert out.decode() == spec["stdout"]
    assert err == b""
    assert store.scheduler.alive == []


def test_threaded_program_into_a_stream() -> None:
    import io

    spec = MANIFEST["zig_condition"]
    module = Module(Store(), program("zig_condition"))
    stream = io.BytesIO()
    env = wasi.StateBuilder("zig_condition").arguments(spec["args"]).stdout(stream).finalize()
    assert wasi.run_threads(module, env) == 0
    assert stream.getvalue().decode() == spec["stdout"]
