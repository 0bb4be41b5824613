"""Hostile threaded modules: each ends in a clear error (or runs correctly) and leaves the host unharmed.

Recursion to the call-depth limit in every thread at once, memory.grow to the maximum from many
threads at once on one shared memory, 100,000 spawns. After every test, `host_unharmed` runs a good
module in a fresh store and a good wasi-threads program: the process goes on and a good run follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from programs.runner import run_program

from wasmroutines import (
    FairPolicy,
    Instance,
    Module,
    OutOfFuel,
    ResourceLimitError,
    SeededPolicy,
    StackExhausted,
    Store,
    join,
    spawn,
    wat2wasm,
)
from wasmroutines.core.policy import Policy

# Five threads add their args (1..5) and the main thread exits with the total: 15.
GOOD_PROGRAM = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (drop (i32.atomic.rmw.add (i32.const 4) (local.get $arg)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start") (local $i i32) (local $n i32)
    (loop $spawn_all
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.le_s (call $spawn (local.get $i)) (i32.const 0)) (then unreachable))
      (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const 5))))
    (block $done
      (loop $wait
        (local.set $n (i32.atomic.load (i32.const 0)))
        (br_if $done (i32.eq (local.get $n) (i32.const 5)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $n) (i64.const -1)))
        (br $wait)))
    (call $exit (i32.atomic.load (i32.const 4)))))"""


@pytest.fixture(autouse=True)
def host_unharmed() -> Iterator[None]:
    yield
    inst = Instance(Store(), Module(wat2wasm('(module (func (export "f") (param i32) (result i32) local.get 0))')))
    assert inst.exports.f(42) == 42
    code, _, threads = run_program(wat2wasm(GOOD_PROGRAM))
    assert code == 15 and threads.spawned == 5 and threads.scheduler.alive == []


# ---- recursion to the call-depth limit in every thread at once ----

# Thread `id` recurses forever, counting its calls in the shared word at 4 * id. $frame adds
# `locals` i64 locals to every frame (big frames run out of stack slots before frames).
RECURSE = """(module
  (memory (export "mem") 1 1 shared)
  (func $f (export "f") (param $id i32)
    (local $frame i64) {locals}
    (drop (i32.atomic.rmw.add (i32.shl (local.get $id) (i32.const 2)) (i32.const 1)))
    (call $f (local.get $id)))
  (func (export "ok") (result i32) (i32.const 7)))"""


def _calls(inst: Instance, n: int) -> list[int]:
    data = inst.exports.mem.read(0, 4 * n)
    return [int.from_bytes(data[4 * i : 4 * i + 4], "little") for i in range(n)]


@pytest.mark.parametrize(
    "limits, locals_, depth",
    [
        ({"max_call_depth": 5000}, 0, (4998, 5000)),  # the frame limit, set by the host
        ({}, 0, (19998, 20000)),  # the core's default
        ({"stack_slots": 1 << 16}, 1000, (60, 66)),  # each thread's own stack, 65,536 slots
    ],
    ids=["max_call_depth", "default", "stack_slots"],
)
def test_recursion_to_the_limit_in_64_threads_at_once(
    limits: dict[str, int], locals_: int, depth: tuple[int, int]
) -> None:
    n = 64
    # Slices of 500 units: no thread gets near the limit in one, so all 64 recurse at once.
    store = Store(policy=FairPolicy(slice=500), **limits)
    text = RECURSE.format(locals="(local i64)" * locals_)
    inst = Instance(store, Module(wat2wasm(text)))
    deep_at_once: list[int] = []
    store.on_yield = lambda: deep_at_once.append(sum(c > 10 for c in _calls(inst, n)))
    threads = [spawn(inst.exports.f, i, store=store) for i in range(n)]
    for t in threads:
        with pytest.raises(StackExhausted, match="call stack exhausted") as e:
            join(t)
        # The limit it hit: the value stack when each frame has 1,000 locals, the frame count otherwise.
        assert e.value.limit == ("stack_slots" if locals_ else "max_call_depth")
    assert all(depth[0] <= c <= depth[1] for c in _calls(inst, n)), _calls(inst, n)
    if not locals_:
        assert max(deep_at_once) == n  # every thread was deep in its recursion at the same time
    assert store.scheduler.alive == []
    # The same store goes on: a new thread, a new call from Python.
    assert join(spawn(inst.exports.ok)) == 7 and inst.exports.ok() == 7


RECURSE_PROGRAM = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $f (param $id i32)
    (drop (i32.atomic.rmw.add (i32.shl (local.get $id) (i32.const 2)) (i32.const 1)))
    (call $f (local.get $id)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32) (call $f (local.get $arg)))
  (func (export "_start") (local $i i32)
    (loop $spawn_all
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.le_s (call $spawn (local.get $i)) (i32.const 0)) (then unreachable))
      (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const 63))))
    (call $f (i32.const 0))))"""


POLICIES: dict[str, Callable[[], Policy | None]] = {
    "default": lambda: None,
    "fair": lambda: FairPolicy(slice=500),
    "seeded": lambda: SeededPolicy(3),
}


@pytest.mark.parametrize("policy", POLICIES)
def test_wasi_threads_recursing_in_every_thread_end_with_one_clear_trap(policy: str) -> None:
    """64 wasi-threads (main + 63) recurse at once: the first to exhaust its stack ends the program."""
    store = Store(policy=POLICIES[policy](), max_call_depth=3000)
    with pytest.raises(StackExhausted, match="call stack exhausted") as e:
        run_program(wat2wasm(RECURSE_PROGRAM), store=store)
    assert e.value.limit == "max_call_depth"
    assert store.scheduler.alive == []


# ---- memory.grow to the maximum from many threads at once ----

# Every thread grows the shared memory a page at a time until it cannot, marks each old size it
# got in the byte at 65536 + old (page 1), then tries 10 more times: each must fail (-1); the word
# at 0 counts the grows that did not. Returns its number of grows.
GROW = """(module
  (memory (export "mem") 2 {maximum} shared)
  (func (export "grow") (result i32) (local $old i32) (local $ok i32) (local $i i32)
    (block $full
      (loop $more
        (local.set $old (memory.grow (i32.const 1)))
        (br_if $full (i32.eq (local.get $old) (i32.const -1)))
        (drop (i32.atomic.rmw8.add_u (i32.add (i32.const 65536) (local.get $old)) (i32.const 1)))
        (local.set $ok (i32.add (local.get $ok) (i32.const 1)))
        (br $more)))
    (loop $again
      (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1))
        (then (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 10))))
    (local.get $ok))
  (func (export "size") (result i32) (memory.size))
  (func (export "bad") (result i32) (i32.atomic.load (i32.const 0))))"""


@pytest.mark.parametrize(
    "declared, host_limit, policy",
    [
        (65536, None, lambda: FairPolicy(slice=200)),  # the whole 4 GiB, page by page
        (65536, None, lambda: SeededPolicy(7)),
        (4096, 1000, lambda: FairPolicy(slice=50)),  # the host's limit is lower than the declared maximum
        (1000, None, lambda: SeededPolicy(11)),
    ],
    ids=["4GiB-fair", "4GiB-seeded", "host-limit", "declared-max"],
)
def test_memory_grow_to_the_maximum_in_64_threads_at_once(
    declared: int, host_limit: int | None, policy: Callable[[], Policy]
) -> None:
    n = 64
    store = Store(policy=policy(), max_memory_pages=host_limit)
    inst = Instance(store, Module(wat2wasm(GROW.format(maximum=declared))))
    threads = [spawn(inst.exports.grow, store=store) for _ in range(n)]
    grown = [join(t) for t in threads]
    top = min(declared, host_limit or declared)
    assert sum(grown) == top - 2  # from 2 pages to the maximum, never past it
    assert sum(1 for g in grown if g) > 1  # several threads got pages
    assert inst.exports.size() == top
    assert inst.exports.bad() == 0  # every grow past the maximum returned -1
    marks = inst.exports.mem.read(65536, top)
    assert marks[2:] == b"\x01" * (top - 2)  # every old size handed out exactly once
    assert marks[:2] == b"\x00\x00"


def test_shared_memory_over_the_host_limit_is_refused() -> None:
    with pytest.raises(ResourceLimitError, match="max_memory_pages") as e:
        Instance(Store(max_memory_pages=1), Module(wat2wasm(GROW.format(maximum=65536))))
    assert e.value.limit == "max_memory_pages"


GROW_PROGRAM = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 2 {maximum} shared))
  ;; 0: grows past the maximum that did not fail; 4: threads done; 8: pages grown; 65536 + old: marks
  (func $grow (local $old i32) (local $i i32)
    (block $full
      (loop $more
        (local.set $old (memory.grow (i32.const 1)))
        (br_if $full (i32.eq (local.get $old) (i32.const -1)))
        (drop (i32.atomic.rmw8.add_u (i32.add (i32.const 65536) (local.get $old)) (i32.const 1)))
        (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))
        (br $more)))
    (loop $again
      (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1))
        (then (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 10)))))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $grow)
    (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func (export "_start") (local $i i32) (local $n i32)
    (loop $spawn_all
      (if (i32.le_s (call $spawn (local.get $i)) (i32.const 0)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const 63))))
    (call $grow)
    (block $done
      (loop $wait
        (local.set $n (i32.atomic.load (i32.const 4)))
        (br_if $done (i32.eq (local.get $n) (i32.const 63)))
        (drop (memory.atomic.wait32 (i32.const 4) (local.get $n) (i64.const -1)))
        (br $wait)))))"""


@pytest.mark.parametrize("host_limit", [None, 500])
def test_wasi_threads_grow_one_shared_memory_to_the_maximum(host_limit: int | None) -> None:
    """64 wasi-threads (each its own instance of the program, one shared memory) grow it at once."""
    store = Store(policy=FairPolicy(slice=100), max_memory_pages=host_limit)
    code, _, threads = run_program(wat2wasm(GROW_PROGRAM.format(maximum=2000)), store=store)
    assert code == 0 and threads.spawned == 63
    top = host_limit or 2000
    memory = threads.memory
    assert memory is not None and memory.size == top
    words = memory.read(0, 12)
    assert [int.from_bytes(words[i : i + 4], "little") for i in (0, 4, 8)] == [0, 63, top - 2]
    assert memory.read(65536 + 2, top - 2) == b"\x01" * (top - 2)


# ---- 100,000 spawns ----

SPAWNS = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  ;; 0: threads that ran; 4: spawns that succeeded; 8: spawns that failed; 12: the sum of the args seen
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (drop (i32.atomic.rmw.add (i32.const 12) (local.get $arg)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start") (local $i i32) (local $n i32)
    (loop $spawn_all
      (if (i32.gt_s (call $spawn (local.get $i)) (i32.const 0))
        (then (i32.store (i32.const 4) (i32.add (i32.load (i32.const 4)) (i32.const 1))))
        (else (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const {n}))))
    (block $done
      (loop $wait
        (local.set $n (i32.atomic.load (i32.const 0)))
        (br_if $done (i32.eq (local.get $n) (i32.load (i32.const 4))))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $n) (i64.const -1)))
        (br $wait)))))"""


def test_100k_spawns() -> None:
    """A program spawns 100,000 threads as fast as it can: every one runs (8 to 12 s here)."""
    n = 100_000
    t0 = time.perf_counter()
    code, _, threads = run_program(wat2wasm(SPAWNS.format(n=n)))
    elapsed = time.perf_counter() - t0
    memory = threads.memory
    assert memory is not None
    ran, ok, failed, total = (int.from_bytes(memory.read(i, 4), "little") for i in (0, 4, 8, 12))
    print(f"\n{n} spawns: {elapsed:.1f} s")
    assert code == 0
    assert (ran, ok, failed) == (n, n, 0) and threads.spawned == n
    assert total == (n * (n - 1) // 2) % (1 << 32)  # every thread got its own arg
    assert threads.threads == {} and threads.scheduler.alive == []


# ---- threads that spin forever ----

SPIN = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "wasi_thread_start") (param i32 i32) (loop $l (br $l)))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"""


class DeadlinePassed(Exception):
    pass


def _deadline(store: Store, seconds: float) -> list[int]:
    """The host's wall-clock deadline: Store.on_yield runs at every slice end, in whichever thread.

    Returns the ids of the threads it stopped, one entry per slice end past the deadline."""
    end = time.monotonic() + seconds
    stopped: list[int] = []

    def check() -> None:
        if time.monotonic() > end:
            stopped.append(store.scheduler.current.id)
            raise DeadlinePassed

    store.on_yield = check
    return stopped


def test_64_spinning_threads_stopped_by_a_deadline() -> None:
    store = Store(policy=FairPolicy(slice=10_000))
    stopped = _deadline(store, 0.3)
    inst = Instance(store, Module(wat2wasm('(module (func (export "spin") (loop $l (br $l))))')))
    threads = [spawn(inst.exports.spin) for _ in range(64)]
    for t in threads:
        with pytest.raises(DeadlinePassed):
            join(t)
    # Each thread ended at its first slice end past the deadline: none ran on (or was asked) twice.
    assert sorted(stopped) == sorted(t.id for t in threads)
    assert store.scheduler.alive == []


def test_a_spinning_wasi_thread_stopped_by_a_deadline() -> None:
    """The spawned thread spins while main waits: the deadline ends the thread, which ends the program."""
    store = Store()
    _deadline(store, 0.3)
    with pytest.raises(DeadlinePassed):
        run_program(wat2wasm(SPIN), store=store)
    assert store.scheduler.alive == []


def test_a_spinning_wasi_thread_stopped_by_fuel() -> None:
    store = Store()
    store.fuel = 1_000_000
    # A safety net that needs no clock: the fuel runs out within two default slices; without it the test would hang.
    slice_ends = [0]

    def net() -> None:
        slice_ends[0] += 1
        if slice_ends[0] > 100:
            raise DeadlinePassed

    store.on_yield = net
    with pytest.raises(OutOfFuel):
        run_program(wat2wasm(SPIN), store=store)
