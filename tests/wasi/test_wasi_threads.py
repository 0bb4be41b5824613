"""wasi-threads (wasmroutines.bindings.wasi_threads): thread-spawn, and how any thread ends the program.

The WASI test suite's wasi-threads programs (../shared/wasi-testsuite/tests/
proposals/wasi-threads) run in-process and through the CLI, against their JSON
specs (the expected exit code; 0 without one). stdin is a pipe nobody writes to,
so a read from it blocks, as the suite assumes. Then the details: thread ids,
the shared memory, spawn failures, traps and exits in other threads, deadlocks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import SHARED
from programs.runner import cli, run_program
from shared_files import shared_files

from wasmroutines import Deadlock, Memory, Module, SeededPolicy, Store, Trap
from wasmroutines.bindings.wasi import WasiConfig, WasiEnvironment
from wasmroutines.bindings.wasi_threads import MAX_TID, WasiThreads, uses_wasi_threads

SUITE = SHARED / "wasi-testsuite" / "tests" / "proposals" / "wasi-threads"
CASES = shared_files(SUITE)  # without the suite: one test that fails in CI (conftest.needs_shared)


@pytest.fixture
def blocking_stdin() -> Iterator[int]:
    """The read end of a pipe whose write end stays open: reading it blocks until the test ends."""
    r, w = os.pipe()
    yield r
    os.close(r)
    os.close(w)


def expected_exit(wasm: Path) -> int:
    spec = wasm.with_suffix(".json")
    return int(json.loads(spec.read_text()).get("exit_code", 0)) if spec.exists() else 0


# ---- the WASI test suite's wasi-threads programs ----


@pytest.mark.parametrize("wasm", CASES)
def test_suite_in_process(wasm: Path, blocking_stdin: int) -> None:
    code, _, threads = run_program(wasm, args=[wasm.name], stdin=blocking_stdin)
    assert code == expected_exit(wasm)
    assert threads.scheduler.alive == []  # whatever was left running is gone


@pytest.mark.parametrize("wasm", CASES)
def test_suite_through_the_cli(wasm: Path, blocking_stdin: int) -> None:
    proc = cli(wasm, stdin=blocking_stdin)
    assert proc.returncode == expected_exit(wasm), proc.stderr.decode(errors="replace")


# ---- the details ----

SPAWNER = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (global $instance_id (mut i32) (i32.const 0))
  ;; 0: threads done; 4: total of the args; 8..: each thread's id at 8 + 4 * arg
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (i32.store (i32.add (i32.const 8) (i32.shl (local.get $arg) (i32.const 2))) (local.get $tid))
    (drop (i32.atomic.rmw.add (i32.const 4) (local.get $arg)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start") (local $i i32) (local $n i32)
    (loop $spawn_all
      (if (i32.le_s (call $spawn (local.get $i)) (i32.const 0)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const 5))))
    (block $done
      (loop $wait
        (local.set $n (i32.atomic.load (i32.const 0)))
        (br_if $done (i32.eq (local.get $n) (i32.const 5)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $n) (i64.const -1)))
        (br $wait)))
    (call $exit (i32.atomic.load (i32.const 4)))))"""


def test_threads_get_fresh_ids_and_share_the_memory(wat: Callable[[str], bytes]) -> None:
    wasm = wat(SPAWNER)
    assert uses_wasi_threads(Module(wasm))
    for seed in (None, 1, 2):
        store = Store() if seed is None else Store(policy=SeededPolicy(seed))
        code, _, threads = run_program(wasm, store=store)
        assert code == 0 + 1 + 2 + 3 + 4  # every thread got its own arg
        memory = threads.memory
        assert isinstance(memory, Memory) and memory.type.shared
        ids = [int.from_bytes(memory.read(8 + 4 * arg, 4), "little") for arg in range(5)]
        assert sorted(ids) == [1, 2, 3, 4, 5]  # fresh, positive, one each
        assert threads.spawned == 5 and threads.threads == {}


def test_spawn_failure_returns_a_negative_value(wat: Callable[[str], bytes]) -> None:
    """No thread ids left: thread-spawn returns a negative value and the program sees it."""
    wasm = wat(SPAWNER)
    store = Store()
    with WasiEnvironment(WasiConfig(args=["prog"])) as wasi:
        threads = WasiThreads(store, Module(wasm), wasi)
        instance = threads.instantiate()
        threads._next_tid = MAX_TID  # one id left
        assert threads.thread_spawn(0) == MAX_TID
        assert threads.thread_spawn(1) < 0
        with pytest.raises(Trap, match="unreachable"):  # _start traps on a failed spawn
            threads.start(instance)
    assert store.scheduler.alive == []


def test_spawn_fails_when_the_thread_instance_cannot_start(wat: Callable[[str], bytes]) -> None:
    """The start function traps in every instance but the first: spawning fails, nothing runs."""
    wasm = wat(
        """(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func $init (if (i32.atomic.rmw.add (i32.const 0) (i32.const 1)) (then unreachable)))
      (start $init)
      (func (export "wasi_thread_start") (param i32 i32) unreachable)
      (func (export "_start") (result i32) (call $spawn (i32.const 0))))"""
    )
    store = Store()
    threads = WasiThreads(store, Module(wasm))
    instance = threads.instantiate()
    assert instance.exports["_start"]() < 0
    assert threads.spawned == 0 and store.scheduler.alive == []


def test_a_trap_in_any_thread_ends_the_program(wat: Callable[[str], bytes]) -> None:
    wasm = wat(
        """(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i32 i32) (i32.div_u (i32.const 1) (local.get 1)) drop)
      (func (export "_start")
        (drop (call $spawn (i32.const 1)))  ;; a thread that ends well
        (drop (call $spawn (i32.const 0)))  ;; one that divides by zero
        (drop (call $spawn (i32.const 1)))
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"""
    )
    with pytest.raises(Trap, match="integer divide by zero"):
        run_program(wasm)


def test_proc_exit_in_a_thread_ends_a_main_thread_that_waits(wat: Callable[[str], bytes]) -> None:
    wasm = wat(
        """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i32 i32) (call $exit (local.get 1)))
      (func (export "_start")
        (drop (call $spawn (i32.const 42)))
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
        unreachable))"""
    )
    code, _, threads = run_program(wasm)
    assert code == 42
    assert threads.ended_by is not None and threads.scheduler.alive == []


def test_returning_from_start_ends_the_other_threads(wat: Callable[[str], bytes]) -> None:
    wasm = wat(
        """(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i32 i32) (loop $forever (br $forever)))
      (func (export "_start") (drop (call $spawn (i32.const 0))) (drop (call $spawn (i32.const 0)))))"""
    )
    code, _, threads = run_program(wasm)
    assert code == 0 and threads.scheduler.alive == []


def test_a_deadlock_is_reported(wat: Callable[[str], bytes]) -> None:
    wasm = wat(
        """(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i32 i32)
        (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1))))
      (func (export "_start")
        (drop (call $spawn (i32.const 0)))
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"""
    )
    with pytest.raises(Deadlock) as info:
        run_program(wasm)
    assert sorted(t.wait_address or 0 for t in info.value.threads) == [0, 4]


def test_blocking_wasi_calls_park_only_their_thread(wat: Callable[[str], bytes], blocking_stdin: int) -> None:
    """The main thread blocks in fd_read on a pipe; a thread sleeps in poll_oneoff, then exits."""
    wasm = wat(
        """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i32 i32)
        ;; a relative monotonic clock subscription of 20 ms at 256, events at 512
        (i32.store8 (i32.const 264) (i32.const 0))
        (i32.store (i32.const 272) (i32.const 1))
        (i64.store (i32.const 280) (i64.const 20000000))
        (i32.store16 (i32.const 296) (i32.const 0))
        (drop (call $poll (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 600)))
        (call $exit (i32.const 7)))
      (func (export "_start")
        (drop (call $spawn (i32.const 0)))
        (i32.store (i32.const 100) (i32.const 200))
        (i32.store (i32.const 104) (i32.const 1))
        (drop (call $read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 300)))
        unreachable))"""
    )
    code, _, _ = run_program(wasm, stdin=blocking_stdin)
    assert code == 7


# ---- thread instances from the program's first instance (the template) ----

# Each instance records what it sees at 256 + 32 * n (n: 0 for the main instance, the spawn's arg for a
# thread), then spoils all of it: a later instance sees the spoiled state only if it shares it.
OBSERVER = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (import "env" "base" (global $base i32))
  (type $r (func (result i32)))
  (global $g (mut i32) (global.get $base))
  (global $h (mut i64) (i64.const -7))
  (table $t 3 funcref)
  (elem (table $t) (i32.const 1) func $seven $eight)
  (elem $p func $nine)
  (data (i32.const 100) "\\2a")
  (func $seven (type $r) (i32.const 7))
  (func $eight (type $r) (i32.const 8))
  (func $nine (type $r) (i32.const 9))
  (func $init (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1))))  ;; instances started, at 0
  (start $init)
  (func $observe (param $at i32)
    (i32.store (local.get $at) (global.get $g))
    (i64.store offset=8 (local.get $at) (global.get $h))
    (i32.store offset=16 (local.get $at) (call_indirect (type $r) (i32.const 1)))
    (i32.store offset=20 (local.get $at) (call_indirect (type $r) (i32.const 2)))
    (table.init $t $p (i32.const 0) (i32.const 0) (i32.const 1))
    (i32.store offset=24 (local.get $at) (call_indirect (type $r) (i32.const 0)))
    (i32.store offset=28 (local.get $at) (i32.load8_u (i32.const 100)))
    (global.set $g (i32.const -1))
    (global.set $h (i64.const -1))
    (table.set $t (i32.const 1) (ref.null func))
    (table.set $t (i32.const 0) (ref.null func))
    (elem.drop $p)
    (i32.store8 (i32.const 100) (i32.const 0)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $observe (i32.add (i32.const 256) (i32.shl (local.get $arg) (i32.const 5))))
    (i32.atomic.store (i32.const 4) (local.get $arg))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func (export "_start") (local $i i32)
    (call $observe (i32.const 256))
    (loop $each
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.le_s (call $spawn (local.get $i)) (i32.const 0)) (then unreachable))
      (block $seen  ;; thread $i has observed and spoiled before the next instance is made
        (loop $wait
          (br_if $seen (i32.eq (i32.atomic.load (i32.const 4)) (local.get $i)))
          (drop (memory.atomic.wait32 (i32.const 4) (i32.sub (local.get $i) (i32.const 1)) (i64.const -1)))
          (br $wait)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 3))))))"""


def _observe(wasm: bytes, seed: int | None, monkeypatch: pytest.MonkeyPatch, template: bool) -> list[tuple[int, ...]]:
    """Run OBSERVER; what each of its 4 instances saw, checking how many Instance objects were made."""
    import wasmroutines.bindings.wasi_threads as wasi_threads
    from wasmroutines import Global, GlobalType, Instance, ValType

    made: list[Instance] = []

    class CountedInstance(Instance):
        def __init__(self, *args: object, **kwargs: object) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(wasi_threads, "Instance", CountedInstance)
    store = Store() if seed is None else Store(policy=SeededPolicy(seed))
    base = Global(store, GlobalType(ValType.I32, False), 5)
    threads = WasiThreads(store, Module(wasm), imports={"env": {"base": base}})
    main = threads.instantiate()
    if not template:
        threads._drop_template()  # every thread instance through Instance, as before templates
    assert threads.start(main) == 0
    assert threads.spawned == 3 and store.scheduler.alive == []
    assert len(made) == (1 if template else 4)
    memory = threads.memory
    assert memory is not None
    assert int.from_bytes(memory.read(0, 4), "little") == 4  # the start function ran in every instance
    seen = []
    for n in range(4):
        raw = memory.read(256 + 32 * n, 32)
        g, t1, t2, t0, byte = (int.from_bytes(raw[i : i + 4], "little", signed=True) for i in (0, 16, 20, 24, 28))
        seen.append((g, int.from_bytes(raw[8:16], "little", signed=True), t1, t2, t0, byte))
    return seen


@pytest.mark.parametrize("seed", [None, 3])
def test_thread_instances_are_made_as_instantiation_makes_them(
    wat: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch, seed: int | None
) -> None:
    """Fresh globals from their initializers, fresh tables with the active segments applied, their own passive
    segments, the active data segment applied again (as Instance does) and the start function run: the same as
    making every thread's Instance, but with one Instance in all."""
    wasm = wat(OBSERVER)
    fresh = (5, -7, 7, 8, 9, 42)
    assert _observe(wasm, seed, monkeypatch, template=True) == [fresh] * 4
    assert _observe(wasm, seed, monkeypatch, template=False) == [fresh] * 4


def test_thread_instances_keep_the_store_limits(wat: Callable[[str], bytes]) -> None:
    """A limit that refuses the program's instances refuses a thread's too: the spawn returns -EAGAIN."""
    wasm = wat(
        """(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i32 i32))
      (func (export "_start") (result i32) (call $spawn (i32.const 0))))"""
    )
    store = Store()
    module = Module(wasm)
    threads = WasiThreads(store, module)
    instance = threads.instantiate()
    store.max_module_size = module.size - 1
    assert instance.exports["_start"]() < 0
    store.max_module_size = None
    assert instance.exports["_start"]() == 1
    assert threads.spawned == 1


def test_a_spawn_without_memory_for_its_stacks_returns_eagain(
    wat: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C core cannot map a new thread's stacks (a memory ulimit): thread-spawn returns -EAGAIN to the
    guest, as pthread_create's EAGAIN, and the program goes on; no MemoryError reaches the host."""
    wasm = wat(
        """(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i32 i32))
      (func (export "_start") (result i32) (call $spawn (i32.const 0))))"""
    )
    store = Store()
    threads = WasiThreads(store, Module(wasm))
    instance = threads.instantiate()
    threads._drop_template()  # the spawn of a program without a template, in Python (tests/c/test_spawn.c: in C)

    def no_memory(host_id: int) -> None:
        raise MemoryError("cannot create a wasm thread")

    with monkeypatch.context() as m:
        m.setattr(store.scheduler, "_new_wr_thread", no_memory)
        assert instance.exports["_start"]() == -6  # -EAGAIN in preview1's errno numbering
    assert threads.spawned == 0
    assert instance.exports["_start"]() == 1  # the next spawn gets the first id: none was used up
    assert threads.spawned == 1
