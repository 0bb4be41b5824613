"""The limits a host sets per store (README, "Limits"), through the Python API and the command line.

Each limit ends in its own error naming it (`.limit`, the Store keyword; on the command line the
option, status 137), never in a crash or an unbounded allocation, and the store (or at least the
process) runs good code afterwards. Wall-time tests use small limits and generous margins: they
assert that a run was stopped, never how precisely.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pingpong import pingpong_instance
from programs.runner import run_program
from switch_count import counting_switches

from wasmroutines import (
    FairPolicy,
    Instance,
    Memory,
    MemoryType,
    Module,
    OutOfFuel,
    ResourceLimitError,
    SeededPolicy,
    StackExhausted,
    Store,
    Table,
    TableType,
    ValType,
    WallTimeExceeded,
    current_scheduler,
    join,
    spawn,
    wasmer,
)
from wasmroutines.bindings.wasmer import threads as wasmer_threads
from wasmroutines.core.module import read_wasm
from wasmroutines.core.store import DEFAULT_MAX_STACK_BYTES, FRAME_BYTES, stack_sizes
from wasmroutines.explore.runner import limit_args

ROOT = Path(__file__).resolve().parent.parent.parent
PROGRAMS = ROOT / "tests" / "wasi_programs"
THREADS = PROGRAMS / "threads.wat"  # argc 1: spawn 4 sleepers; 2: a spinner, main waits; 3: ping-pong forever
FUNCS = PROGRAMS / "funcs.wat"

LIB = """(module
  (memory (export "memory") 1 1 shared)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "spin") (loop $l (br $l)))
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $depth (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  ;; Wait on word 0 for up to $ns nanoseconds (nobody notifies): 2, timed out.
  (func (export "nap") (param $ns i64) (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get $ns))))"""

WALL = 0.3  # seconds: every wall-time limit below
MARGIN = 30.0  # seconds: "stopped" means well within this


def lib(store: Store, wat: Callable[[str], bytes]) -> Instance:
    return Instance(store, Module(wat(LIB)))


def still_runs(store: Store | None, wat: Callable[[str], bytes]) -> None:
    """Fault isolation: the store (or a fresh one) runs good code after the limit stopped a run."""
    inst = lib(store if store is not None else Store(), wat)
    assert inst.exports.add(2, 3) == 5


@contextmanager
def stopped_in_time() -> Iterator[None]:
    t0 = time.monotonic()
    yield
    assert time.monotonic() - t0 < MARGIN


# ---- memory pages, table elements, call depth, module size ----


def test_max_memory_pages(wat: Callable[[str], bytes]) -> None:
    store = Store(max_memory_pages=2)
    with pytest.raises(ResourceLimitError) as e:
        Instance(store, Module(wat("(module (memory 3))")))
    assert e.value.limit == "max_memory_pages" and "max_memory_pages" in str(e.value)
    grow = '(func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))'
    inst = Instance(store, Module(wat(f'(module (memory (export "m") 1) {grow})')))
    assert inst.exports.grow(1) == 1
    assert inst.exports.grow(1) == -1  # past the limit: wasm's own failure
    with pytest.raises(ResourceLimitError) as e:
        inst.exports.m.grow(1)
    still_runs(store, wat)


def test_max_table_elements(wat: Callable[[str], bytes]) -> None:
    store = Store(max_table_elements=10)
    with pytest.raises(ResourceLimitError) as e:
        Instance(store, Module(wat("(module (table 11 funcref))")))
    assert e.value.limit == "max_table_elements" and "max_table_elements" in str(e.value)
    grow = '(func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))'
    inst = Instance(store, Module(wat(f"(module (table 8 funcref) {grow})")))
    assert inst.exports.grow(2) == 8
    assert inst.exports.grow(1) == -1
    still_runs(store, wat)


def test_memories_and_tables_made_by_the_host_name_the_limit() -> None:
    """A memory or table made from Python (as wasi-threads makes a program's shared memory) over the store's
    limit names it too, at creation and when grown."""
    store = Store(max_memory_pages=2, max_table_elements=10)
    for make, limit in [
        (lambda: Memory(store, MemoryType(3, 10, shared=True)), "max_memory_pages"),
        (lambda: Memory(store, MemoryType(1)).grow(2), "max_memory_pages"),
        (lambda: Table(store, TableType(ValType.FUNCREF, 11)), "max_table_elements"),
        (lambda: Table(store, TableType(ValType.FUNCREF, 10)).grow(1), "max_table_elements"),
    ]:
        with pytest.raises(ResourceLimitError) as e:
            make()
        assert e.value.limit == limit and limit in str(e.value)
    # Over the object's own maximum, not the store's: plain out of resources.
    with pytest.raises(ResourceLimitError) as e:
        Memory(store, MemoryType(1, 1)).grow(1)
    assert e.value.limit is None


def test_max_call_depth(wat: Callable[[str], bytes]) -> None:
    store = Store(max_call_depth=100)
    inst = lib(store, wat)
    assert inst.exports.depth(90) == 90
    with pytest.raises(StackExhausted) as e:
        inst.exports.depth(200)
    assert e.value.limit == "max_call_depth" and "max_call_depth" in str(e.value)
    assert inst.exports.depth(90) == 90


def test_max_call_depth_in_a_spawned_thread(wat: Callable[[str], bytes]) -> None:
    store = Store(max_call_depth=100)
    inst = lib(store, wat)
    with pytest.raises(StackExhausted):
        join(spawn(inst.exports.depth, 200))
    assert join(spawn(inst.exports.depth, 50)) == 50


def test_max_module_size(wat: Callable[[str], bytes], tmp_path: Path) -> None:
    data = wat(LIB)
    store = Store(max_module_size=len(data) - 1)
    with pytest.raises(ResourceLimitError) as e:
        Instance(store, Module(data))
    assert e.value.limit == "max_module_size" and "max_module_size" in str(e.value)
    with pytest.raises(ResourceLimitError) as e:
        Module(data, max_size=len(data) - 1)
    assert e.value.limit == "max_size"
    # From a file: refused from its size, before it is read.
    path = tmp_path / "big.wasm"
    path.write_bytes(data)
    for load in (lambda: Module.from_file(path, max_size=100), lambda: read_wasm(path, 100)):
        with pytest.raises(ResourceLimitError) as e:
            load()
        assert e.value.limit == "max_size"
    assert read_wasm(path, len(data)) == data
    store.max_module_size = None
    still_runs(store, wat)


# ---- threads ----


def test_max_threads_spawn(wat: Callable[[str], bytes]) -> None:
    assert Store().max_threads == 100_000  # the default (DEFAULT_MAX_THREADS)
    store = Store(max_threads=2)
    inst = lib(store, wat)
    a = spawn(inst.exports.add, 1, 2)
    b = store.scheduler.spawn(lambda: 7)  # Python callables are threads too
    with pytest.raises(ResourceLimitError) as e:
        spawn(inst.exports.add, 3, 4)
    assert e.value.limit == "max_threads" and "max_threads" in str(e.value)
    with pytest.raises(ResourceLimitError):
        store.scheduler.spawn_bits(inst.exports.add, [1, 2])
    assert (join(a), join(b)) == (3, 7)
    # Room again once they are done.
    assert join(spawn(inst.exports.add, 3, 4)) == 7
    store.max_threads = 0
    with pytest.raises(ResourceLimitError):
        spawn(inst.exports.add, 3, 4)
    store.max_threads = None
    assert join(spawn(inst.exports.add, 3, 4)) == 7


def test_max_threads_in_the_wasmer_face() -> None:
    store = wasmer.Store(max_threads=1)
    first = wasmer_threads.spawn(lambda: 1, store=store)
    with pytest.raises(ResourceLimitError) as e:
        wasmer_threads.spawn(lambda: 2, store=store)
    assert e.value.limit == "max_threads"
    assert wasmer_threads.join(first) == 1
    assert wasmer_threads.join(wasmer_threads.spawn(lambda: 3, store=store)) == 3


def test_max_threads_refuses_thread_spawn_with_eagain(wat: Callable[[str], bytes]) -> None:
    """thread-spawn returns a negative value (-EAGAIN) over the limit; the program goes on and counts them."""
    code, _, threads = run_program(wat(THREADS.read_text()), store=Store())
    assert (code, threads.refused) == (0, 0)
    store = Store(max_threads=1)
    code, _, threads = run_program(wat(THREADS.read_text()), store=store)
    assert (code, threads.refused) == (3, 3)  # 4 spawns: the first thread waits forever, 3 refused
    still_runs(store, wat)


def test_refused_spawns_are_reported(wat: Callable[[str], bytes]) -> None:
    from wasmroutines.bindings.wasi import WasiConfig, WasiEnvironment
    from wasmroutines.bindings.wasi_threads import WasiThreads

    refused: list[ResourceLimitError] = []
    store = Store(max_threads=2)
    module = Module(wat(THREADS.read_text()))
    with WasiEnvironment(WasiConfig(args=["threads"])) as wasi:
        threads = WasiThreads(store, module, wasi)
        threads.on_refused = refused.append
        assert threads.start(threads.instantiate()) == 2
    assert [e.limit for e in refused] == ["max_threads", "max_threads"]


# ---- fuel: one pool for all the store's threads ----


def test_fuel_is_shared_by_spawned_threads(wat: Callable[[str], bytes]) -> None:
    store = Store(fuel=1_000_000)
    inst = lib(store, wat)
    spinners = [spawn(inst.exports.spin) for _ in range(4)]
    with stopped_in_time():
        for t in spinners:
            with pytest.raises(OutOfFuel) as e:
                join(t)
            assert e.value.limit == "fuel"
    assert store.fuel == 0
    with pytest.raises(OutOfFuel):  # (fuel is charged at calls and loop back-edges)
        inst.exports.depth(5)
    store.fuel = 1000  # more fuel: the store runs again
    assert inst.exports.depth(5) == 5
    assert 0 < store.fuel < 1000
    store.fuel = None
    assert store.fuel is None
    with pytest.raises(ValueError):
        store.fuel = -1


def test_fuel_running_out_in_a_thread_reaches_the_root(wat: Callable[[str], bytes]) -> None:
    """The root waits for a thread blocked for good while another spends the fuel: OutOfFuel, not a Deadlock."""
    store = Store(fuel=1_000_000)
    inst = lib(store, wat)
    stuck = spawn(inst.exports.nap, -1)
    spinner = spawn(inst.exports.spin)
    with stopped_in_time(), pytest.raises(OutOfFuel):
        join(stuck)
    assert isinstance(spinner.exception, OutOfFuel) and stuck.alive
    store.scheduler.close()
    store.fuel = None
    still_runs(store, wat)


def test_fuel_stops_spawned_wasi_threads(wat: Callable[[str], bytes]) -> None:
    for args in (["threads", "spin"], ["threads", "ping", "pong"]):
        store = Store(fuel=2_000_000)
        with stopped_in_time(), pytest.raises(OutOfFuel):
            run_program(wat(THREADS.read_text()), args=args, store=store)
        assert store.fuel == 0 and store.scheduler.alive == []
        still_runs(None, wat)


def test_fuel_is_charged_the_same_through_the_handoff(wat: Callable[[str], bytes]) -> None:
    """The core runs a futex ping-pong thread after thread in one wr_exec call (switching in C): each
    thread's run is charged, exactly as when every switch goes through Python."""
    used = []
    for in_core in (True, False):
        store = Store(policy=FairPolicy(slice=10**9), fuel=10**12)
        store.scheduler.core_switching = in_core
        inst = pingpong_instance(store)
        with counting_switches() as switches:
            a = spawn(inst.exports.pingpong, 0, 2000, 0)
            b = spawn(inst.exports.pingpong, 1, 2000, 0)
            assert (join(a), join(b)) == (2000, 2000)
        used.append((10**12 - (store.fuel or 0), switches[0]))
    (with_handoff, few), (without, many) = used
    assert few < 20 < 400 <= many  # the handoff engaged in the first run only
    assert with_handoff == without > 4000


def test_fuel_runs_out_in_the_middle_of_a_handoff(wat: Callable[[str], bytes]) -> None:
    store = Store(fuel=50_000)
    inst = pingpong_instance(store)
    a = spawn(inst.exports.pingpong, 0, 1_000_000, 0)
    b = spawn(inst.exports.pingpong, 1, 1_000_000, 0)
    for t in (a, b):
        with pytest.raises(OutOfFuel):
            join(t)
    count = int.from_bytes(inst.exports.mem.buffer[4:8], "little")
    assert 0 < count < 1_000_000  # stopped partway, though the threads ran in the core
    assert store.fuel == 0


# ---- wall time ----


def test_max_wall_time_stops_a_spinning_call(wat: Callable[[str], bytes]) -> None:
    store = Store(max_wall_time=WALL)
    inst = lib(store, wat)
    with stopped_in_time(), pytest.raises(WallTimeExceeded) as e:
        inst.exports.spin()
    assert isinstance(e.value, ResourceLimitError)
    assert e.value.limit == "max_wall_time" and "max_wall_time" in str(e.value)
    with pytest.raises(WallTimeExceeded):  # still past it: stopped again at the first slice end
        inst.exports.spin()
    store.max_wall_time = None
    assert inst.exports.add(1, 2) == 3
    store.max_wall_time = 60  # a new limit counts from now
    assert inst.exports.add(1, 2) == 3


def test_max_wall_time_stops_spinning_spawned_threads(wat: Callable[[str], bytes]) -> None:
    store = Store(max_wall_time=WALL)
    inst = lib(store, wat)
    spinners = [spawn(inst.exports.spin) for _ in range(8)]
    with stopped_in_time():
        for t in spinners:
            with pytest.raises(WallTimeExceeded):
                join(t)
    assert any(isinstance(t.exception, WallTimeExceeded) for t in spinners)  # the ones it stopped
    # The root gets the error wherever it waits (here: joining whichever thread), as soon as any thread
    # raises it: threads still suspended then stay alive until close().
    store.scheduler.close()
    assert store.scheduler.alive == []
    store.max_wall_time = None
    still_runs(store, wat)


def test_max_wall_time_reaches_the_root_wherever_it_waits(wat: Callable[[str], bytes]) -> None:
    """The root waits forever in wasm (a futex nobody notifies) while a spawned thread spins."""
    store = Store(max_wall_time=WALL)
    inst = lib(store, wat)
    spinner = spawn(inst.exports.spin)
    with stopped_in_time(), pytest.raises(WallTimeExceeded):
        inst.exports.nap(-1)
    assert isinstance(spinner.exception, WallTimeExceeded)
    store.max_wall_time = None
    still_runs(store, wat)


@pytest.mark.parametrize("how", ["a timed futex wait", "a host sleep"])
def test_max_wall_time_stops_an_idle_run(wat: Callable[[str], bytes], how: str) -> None:
    """Nothing runs (a 60 s wait): the scheduler sleeps no longer than the limit."""
    store = Store(max_wall_time=WALL)
    inst = lib(store, wat)
    with stopped_in_time(), pytest.raises(WallTimeExceeded):
        if how == "a host sleep":
            join(spawn(lambda: current_scheduler().sleep(60), store=store))
        else:
            inst.exports.nap(60 * 10**9)
    store.max_wall_time = None
    store.scheduler.close()
    still_runs(store, wat)


@pytest.mark.parametrize("policy", ["fair", "seeded", "seeded (Python switches)"])
def test_max_wall_time_stops_a_futex_pingpong(wat: Callable[[str], bytes], policy: str) -> None:
    """Threads that hand a futex back and forth forever: stopped whether the core or Python switches them."""
    store = Store(max_wall_time=WALL, policy=SeededPolicy(7) if policy.startswith("seeded") else FairPolicy())
    store.scheduler.core_switching = "Python" not in policy
    inst = pingpong_instance(store)
    a = spawn(inst.exports.pingpong, 0, 2**31 - 1, 0)
    b = spawn(inst.exports.pingpong, 1, 2**31 - 1, 0)
    with stopped_in_time():
        for t in (a, b):
            with pytest.raises(WallTimeExceeded):
                join(t)
    assert int.from_bytes(inst.exports.mem.buffer[4:8], "little") > 0
    store.max_wall_time = None
    still_runs(store, wat)


@pytest.mark.parametrize("args", [["threads", "spin"], ["threads", "ping", "pong"]], ids=["spinner", "pingpong"])
def test_max_wall_time_stops_a_wasi_threads_program(wat: Callable[[str], bytes], args: list[str]) -> None:
    store = Store(max_wall_time=WALL)
    with stopped_in_time(), pytest.raises(WallTimeExceeded):
        run_program(wat(THREADS.read_text()), args=args, store=store)
    assert store.scheduler.alive == []
    still_runs(None, wat)


def test_max_wall_time_is_positive() -> None:
    with pytest.raises(ValueError):
        Store(max_wall_time=0)
    assert Store().max_wall_time is None
    assert Store(max_wall_time=2.5).max_wall_time == 2.5


# ---- the command line ----


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wasmroutines", *args], capture_output=True, timeout=120, env=dict(os.environ)
    )


def assert_limit(p: subprocess.CompletedProcess[bytes], flag: str) -> None:
    """Status 137 and one line on stderr naming the option."""
    lines = p.stderr.decode().strip().splitlines()
    assert p.returncode == 137, p.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: limit exceeded") and flag in lines[0], lines


def test_cli_max_memory() -> None:
    p = cli("run", "--max-memory", "64K", str(PROGRAMS / "echo.wat"))  # it asks for 2 pages
    assert_limit(p, "--max-memory 65536")
    p = cli("run", "--max-memory", "3M", "--invoke", "grow", str(FUNCS), "47")  # 48 pages in all
    assert (p.returncode, p.stdout) == (0, b"1\n")
    p = cli("run", "--max-memory", "3M", "--invoke", "grow", str(FUNCS), "48")
    assert (p.returncode, p.stdout) == (0, b"-1\n")
    # A wasi-threads program's shared memory, which the host makes from the import.
    p = cli("run", "--max-memory", "64K", str(ROOT / "tests" / "programs" / "wasm" / "c_futex_mutex.wasm"), "1", "1")
    assert_limit(p, "--max-memory 65536")


def test_cli_max_table_elements() -> None:
    p = cli("run", "--max-table-elements", "1", "--invoke", "add", str(FUNCS), "1", "2")  # it has a table of 2
    assert_limit(p, "--max-table-elements 1")
    p = cli("run", "--max-table-elements", "3", "--invoke", "grow_table", str(FUNCS), "1")
    assert (p.returncode, p.stdout) == (0, b"2\n")
    p = cli("run", "--max-table-elements", "3", "--invoke", "grow_table", str(FUNCS), "2")
    assert (p.returncode, p.stdout) == (0, b"-1\n")


def test_cli_max_call_depth() -> None:
    p = cli("run", "--max-call-depth", "100", "--invoke", "depth", str(FUNCS), "90")
    assert (p.returncode, p.stdout) == (0, b"90\n")
    p = cli("run", "--max-call-depth", "100", "--invoke", "depth", str(FUNCS), "200")
    assert_limit(p, "--max-call-depth 100")
    # The default is a limit too, and says which option raises it.
    assert_limit(cli("run", "--invoke", "depth", str(FUNCS), "1000000"), "--max-call-depth, default 20000")


def test_cli_max_module_size(tmp_path: Path) -> None:
    p = cli("run", "--max-module-size", "100", "--invoke", "add", str(FUNCS), "1", "2")
    assert_limit(p, "--max-module-size 100")
    p = cli("run", "--max-module-size", "1K", "--invoke", "add", str(FUNCS), "1", "2")
    assert (p.returncode, p.stdout) == (0, b"3\n")
    big = tmp_path / "big.wasm"
    big.write_bytes(b"\0asm\1\0\0\0" + bytes(10_000))  # refused by its size, never read
    assert_limit(cli("run", "--max-module-size", "1000", str(big)), "--max-module-size 1000")


def test_cli_fuel() -> None:
    assert_limit(cli("run", "--fuel", "100000", "--invoke", "spin", str(FUNCS)), "--fuel 100000")
    for args in (["spin"], ["ping", "pong"]):  # spawned threads draw on the same fuel
        assert_limit(cli("run", "--fuel", "1000000", str(THREADS), *args), "--fuel 1000000")


def test_cli_max_wall_time() -> None:
    assert_limit(cli("run", "--max-wall-time", str(WALL), "--invoke", "spin", str(FUNCS)), f"--max-wall-time {WALL}")
    for args in (["spin"], ["ping", "pong"]):
        assert_limit(cli("run", "--max-wall-time", str(WALL), str(THREADS), *args), "--max-wall-time")


def test_cli_max_threads() -> None:
    p = cli("run", "--max-threads", "1", str(THREADS))
    assert p.returncode == 3  # the program's: 3 spawns refused, each -EAGAIN
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning:") and "--max-threads 1" in lines[0], lines
    p = cli("run", str(THREADS))
    assert (p.returncode, p.stderr) == (0, b"")


def test_cli_limits_in_deterministic_mode(tmp_path: Path) -> None:
    p = cli("run", "--seed", "3", "--max-threads", "2", str(THREADS))
    assert p.returncode == 2 and b"--max-threads 2" in p.stderr
    # A recording keeps its limits: the replay refuses the same spawns.
    rec = str(tmp_path / "run.wrr")
    assert cli("run", "--seed", "3", "--max-threads", "1", "--record", rec, str(THREADS)).returncode == 3
    p = cli("run", "--replay", rec, str(THREADS))
    assert p.returncode == 3, p.stderr
    assert_limit(cli("run", "--seed", "3", "--fuel", "100000", str(THREADS), "spin"), "--fuel 100000")
    assert_limit(cli("run", "--seed", "3", "--max-memory", "64K", str(PROGRAMS / "echo.wat")), "--max-memory 65536")


def test_cli_explore_passes_limits_to_every_run_and_replay() -> None:
    p = cli("explore", "--runs", "3", "--max-threads", "1", str(THREADS))
    assert p.returncode == 1
    out = p.stdout.decode()
    assert "exit status 3" in out and "--max-threads 1" in out  # in the replay command


@pytest.mark.parametrize(
    "args",
    [
        ["--max-wall-time", "0"],
        ["--max-wall-time", "soon"],
        ["--max-threads", "-1"],
        ["--max-call-depth", "0"],
        ["--max-table-elements", "many"],
        ["--max-module-size", "12Q"],
        ["--max-memory", "1000"],
        ["--fuel", "-5"],
        ["--max-stack", "4K"],
        ["--max-stack", "lots"],
    ],
)
def test_cli_bad_limits_give_one_line(args: list[str]) -> None:
    p = cli("run", *args, "x.wasm")
    lines = p.stderr.decode().strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("wasmroutines: error:"), p.stderr


SPAWN_STORM = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $go
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (func (export "wasi_thread_start") (param i32 i32) (call $go))
  (func (export "_start") (call $go)))"""


def test_cli_max_wall_time_stops_threads_that_only_spawn_and_block(tmp_path: Path) -> None:
    # No thread ever reaches a slice end: the limit is checked at every switch too. (Short: spawns in C reach
    # max_threads, and a deadlock, within half a second.)
    prog = tmp_path / "storm.wat"
    prog.write_text(SPAWN_STORM)
    assert_limit(cli("run", "--max-wall-time", "0.05", str(prog)), "--max-wall-time 0.05")


def test_a_store_limits_threads_by_default() -> None:
    from wasmroutines.core.store import DEFAULT_MAX_THREADS

    assert Store().max_threads == DEFAULT_MAX_THREADS == 100_000
    assert Store(max_threads=None).max_threads is None  # no limit, when asked


DEEP = """(module
  (func $many (export "many") (param $n i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (if (result i32) (local.get $n) (then (call $many (i32.sub (local.get $n) (i32.const 1)))) (else (i32.const 0))))
  (func $few (export "few") (param $n i32) (result i32)
    (if (result i32) (local.get $n) (then (call $few (i32.sub (local.get $n) (i32.const 1)))) (else (i32.const 0)))))"""


def test_stack_exhausted_names_the_limit_it_hit(wat: Callable[[str], bytes]) -> None:
    store = Store(max_call_depth=1000, stack_slots=4000)
    inst = Instance(store, Module(wat(DEEP)))
    with pytest.raises(StackExhausted) as frames:
        inst.exports.few(5000)  # a few slots a frame: 1,000 frames come first
    assert frames.value.limit == "max_call_depth" and "max_call_depth limit" in str(frames.value)
    with pytest.raises(StackExhausted) as slots:
        inst.exports.many(5000)  # over 20 slots a frame: 4,000 slots come first
    assert slots.value.limit == "stack_slots" and "stack_slots limit" in str(slots.value)
    assert inst.exports.few(500) == inst.exports.many(100) == 0


def test_cli_max_stack_slots(tmp_path: Path) -> None:
    prog = tmp_path / "deep.wat"
    prog.write_text(DEEP)
    assert_limit(cli("run", "--max-call-depth", "100000", "--invoke", "many", str(prog), "50000"), "--max-stack-slots")
    p = cli("run", "--max-stack-slots", "4000000", "--max-call-depth", "100000", "--invoke", "many", str(prog), "50000")
    assert (p.returncode, p.stdout) == (0, b"0\n")


# ---- the byte limit of a thread's frame and value stacks (max_stack_bytes, --max-stack) ----

# "rec" recurses forever with no locals, a slot a frame (the frame stack fills first); "count" says how deep it
# went. "bare" takes no slot at all.
REC = """(module
  (global $c (mut i32) (i32.const 0))
  (func $rec (export "rec") (global.set $c (i32.add (global.get $c) (i32.const 1))) (call $rec))
  (func $bare (export "bare") (call $bare))
  (func (export "count") (result i32) (global.get $c)))"""


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_max_stack_bytes_bounds_a_recursion_under_a_huge_call_depth(wat: Callable[[str], bytes]) -> None:
    # The case: with no byte limit, 100,000,000 frames of 24 bytes are 2.4 GB of frame stack.
    store = Store(max_call_depth=100_000_000, max_stack_bytes=16 << 20)
    inst = Instance(store, Module(wat(REC)))
    assert store.max_stack_bytes == 16 << 20 and store.stack_bytes == 16 << 20
    before = _rss_bytes()
    with pytest.raises(StackExhausted) as e:
        inst.exports.rec()
    assert _rss_bytes() - before < 32 << 20
    assert e.value.limit == "max_stack_bytes" and "max_stack_bytes limit" in str(e.value)
    # The value stack (1 Mi slots, 8 MiB: the smaller) kept its size; the frames got the other 8 MiB.
    frames = (8 << 20) // FRAME_BYTES
    assert frames - 2 <= inst.exports.count() <= frames
    assert frames > 300_000  # far deeper than the default 20,000 frames


def test_the_default_byte_limit_applies(wat: Callable[[str], bytes]) -> None:
    assert Store().max_stack_bytes == DEFAULT_MAX_STACK_BYTES == 64 << 20
    assert Store().stack_bytes < DEFAULT_MAX_STACK_BYTES  # the default depth and slots are not cut
    store = Store(max_call_depth=100_000_000)
    inst = Instance(store, Module(wat(REC)))
    assert store.stack_bytes == DEFAULT_MAX_STACK_BYTES
    with pytest.raises(StackExhausted) as e:
        inst.exports.bare()  # 56 MiB of frames: 2.4 million
    assert e.value.limit == "max_stack_bytes"
    # In a spawned thread too (the scheduler's path).
    with pytest.raises(StackExhausted) as e:
        join(spawn(inst.exports.bare))
    assert e.value.limit == "max_stack_bytes"
    # A slot a frame: the value stack (1 Mi slots, not cut) is full before the frames.
    with pytest.raises(StackExhausted) as e:
        inst.exports.rec()
    assert e.value.limit == "stack_slots" and (1 << 20) - 2 <= inst.exports.count() <= 1 << 20


def test_no_byte_limit_leaves_the_counts_alone(wat: Callable[[str], bytes]) -> None:
    store = Store(max_call_depth=100_000, max_stack_bytes=None)
    inst = Instance(store, Module(wat(REC)))
    assert store.max_stack_bytes is None
    with pytest.raises(StackExhausted) as e:
        inst.exports.rec()
    assert e.value.limit == "max_call_depth" and 99_998 <= inst.exports.count() <= 100_000


def test_a_value_stack_cut_by_the_byte_limit_names_it(wat: Callable[[str], bytes]) -> None:
    # Both counts far beyond 16 MiB: each stack gets half. "many" takes over 20 slots a frame, so the value
    # stack (cut from 10**8 slots to 1 Mi) fills first.
    store = Store(max_call_depth=1_000_000, stack_slots=100_000_000, max_stack_bytes=16 << 20)
    inst = Instance(store, Module(wat(DEEP)))
    with pytest.raises(StackExhausted) as e:
        inst.exports.many(1_000_000)
    assert e.value.limit == "max_stack_bytes"
    assert inst.exports.many(40_000) == 0  # 40,000 frames of about 23 slots fit 1 Mi slots
    # A limit the bytes did not cut keeps its own name.
    store = Store(max_call_depth=100_000_000, stack_slots=4000, max_stack_bytes=16 << 20)
    inst = Instance(store, Module(wat(DEEP)))
    with pytest.raises(StackExhausted) as e:
        inst.exports.many(1_000_000)
    assert e.value.limit == "stack_slots"


@pytest.mark.parametrize(
    ("depth", "slots", "max_bytes"),
    [(100_000_000, 1 << 20, 16 << 20), (20_000, 1 << 20, 64 << 20), (2**32 - 1, 2**32 - 1, 64 << 20), (10, 10, 8192)],
)
def test_stack_sizes_fit_the_byte_limit(depth: int, slots: int, max_bytes: int) -> None:
    d, s = stack_sizes(depth, slots, max_bytes)
    pages = -(-d * FRAME_BYTES // 4096) + -(-s * 8 // 4096)
    assert 0 < d <= depth and 0 < s <= slots and pages * 4096 <= max_bytes
    if pages * 4096 < max_bytes - 8192:  # room to spare: nothing was cut
        assert (d, s) == (depth, slots)


def test_stack_sizes_split() -> None:
    assert stack_sizes(100_000_000, 1 << 20, None) == (100_000_000, 1 << 20)
    assert stack_sizes(20_000, 1 << 20, 64 << 20) == (20_000, 1 << 20)  # fits: unchanged
    assert stack_sizes(100_000_000, 1 << 20, 16 << 20) == ((8 << 20) // FRAME_BYTES, 1 << 20)  # the smaller keeps
    assert stack_sizes(100_000_000, 4000, 1 << 20) == (((1 << 20) - 8 * 4096) // FRAME_BYTES, 4000)
    assert stack_sizes(2**32 - 1, 2**32 - 1, 64 << 20) == ((32 << 20) // FRAME_BYTES, (32 << 20) // 8)  # halves


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (0, ValueError), (4096, ValueError), (2**63, ValueError), ("1M", TypeError)]
)
def test_max_stack_bytes_out_of_range(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_stack_bytes"):
        Store(max_stack_bytes=value)  # type: ignore[arg-type]


def test_cli_max_stack(tmp_path: Path) -> None:
    prog = tmp_path / "rec.wat"
    prog.write_text(REC)
    assert_limit(cli("run", "--max-call-depth", "100000000", "--invoke", "bare", str(prog)), "--max-stack, default 64M")
    p = cli("run", "--max-call-depth", "100000000", "--max-stack", "1M", "--invoke", "bare", str(prog))
    assert_limit(p, "--max-stack 1048576")
    deep = tmp_path / "deep.wat"
    deep.write_text(DEEP)
    # Room for 2,000,000 frames of 3 slots: 48 MB of frames and 48 MB of slots, over the default 64M.
    args = ["--max-call-depth", "3000000", "--max-stack-slots", "7000000", "--invoke", "few", str(deep), "2000000"]
    assert_limit(cli("run", *args), "--max-stack")
    p = cli("run", "--max-stack", "200M", *args)
    assert (p.returncode, p.stdout) == (0, b"0\n"), p.stderr


def test_the_replay_command_carries_max_stack() -> None:
    assert limit_args({"max_stack_bytes": 1 << 20}) == ["--max-stack", "1048576"]
