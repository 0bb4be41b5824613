"""The Python-level fuzz target: modules from `wasm-tools smith` through the whole Python API.

Every generated module is valid, so it must load; it is instantiated against stub imports (host
functions return zeros), and every exported function is called with fixed arguments under a fuel
limit. A call may return, trap or run out of fuel; any other exception is a bug. Unlike
tools/difftest.py (no reference engine here), the modules need not terminate and may use the
threads proposal's atomics and shared memory.

WR_SMITH_COUNT sets the number of modules per configuration (default 150: a few seconds);
WR_SMITH_SEED the seed (default 0). A failure names the seed and index; reproduce one with
WR_SMITH_COUNT=1 WR_SMITH_START=<index> pytest tests/test_smith.py.
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
    Function,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Memory,
    MemoryType,
    Module,
    OutOfFuel,
    Table,
    TableType,
    Trap,
    ValType,
)
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
CONFIGS = {
    # loops and recursion unbounded: fuel and the call-depth limit must stop them
    "wasm2": [*COMMON, "--threads-enabled=false"],
    # atomics, shared memories (one thread: waits time out at once or trap)
    "threads": [*COMMON, "--threads-enabled=true"],
}


def smith(flags: list[str], seed: int, index: int) -> bytes | None:
    tool = find_wasm_tools()
    if tool is None:
        pytest.skip("wasm-tools is not installed")
    rng = random.Random(f"smith:{seed}:{index}")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "seed"), Path(tmp, "out.wasm")
        src.write_bytes(rng.randbytes(rng.randint(256, 8192)))
        r = subprocess.run([str(tool), "smith", *flags, str(src), "-o", str(out)], capture_output=True)
        return out.read_bytes() if r.returncode == 0 else None


def zero(t: ValType) -> Any:
    return 0.0 if t in (ValType.F32, ValType.F64) else None if t.is_ref else 0


def stub_imports(store: Any, module: Module) -> dict[str, dict[str, Any]] | None:
    """An object of the asked-for type for every import; None when two imports share a name."""
    ns: dict[str, dict[str, Any]] = {}
    for imp in module.imports:
        if imp.name in ns.get(imp.module, {}):
            return None
        t = imp.type
        if isinstance(t, FuncType):
            results = [zero(r) for r in t.results]

            def host(*_args: Any, results: list[Any] = results) -> Any:
                return None if not results else results[0] if len(results) == 1 else tuple(results)

            obj: Any = Function(store, host, t)
        elif isinstance(t, MemoryType):
            obj = Memory(store, t)
        elif isinstance(t, TableType):
            obj = Table(store, t)
        else:
            assert isinstance(t, GlobalType)
            obj = Global(store, t, zero(t.type))
        ns.setdefault(imp.module, {})[imp.name] = obj
    return ns


ARGS = {ValType.I32: [0, 1, -1, 65536], ValType.I64: [0, -1, 1 << 40], ValType.F32: [0.0, -1.5], ValType.F64: [1e300]}


def run_module(wasm: bytes, rng: random.Random) -> dict[str, int]:
    """Load, instantiate and call everything; the outcomes counted by kind."""
    from wasmroutines import Store

    outcomes: dict[str, int] = {}
    module = Module(wasm)  # smith's modules are valid: a CompileError here is a bug
    store = Store(max_call_depth=5000)
    ns = stub_imports(store, module)
    if ns is None:
        return {"duplicate import names": 1}
    store.fuel = FUEL
    try:
        inst = Instance(store, module, ns)
    except (Trap, OutOfFuel) as e:  # a segment out of range, or the start function
        return {f"instantiate: {type(e).__name__}": 1}
    for _name, ext in inst.exports:
        if not isinstance(ext, Function):
            continue
        args = [rng.choice(ARGS.get(p, [zero(p)])) for p in ext.type.params]
        store.fuel = FUEL
        try:
            ext(*args)
            kind = "returned"
        except Trap as e:
            kind = f"trap: {e.kind}"
        except OutOfFuel:
            kind = "out of fuel"
        outcomes[kind] = outcomes.get(kind, 0) + 1
    return outcomes


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_smith_modules_run_cleanly(config: str) -> None:
    totals: dict[str, int] = {}
    ran = 0
    for index in range(START, START + COUNT):
        wasm = smith(CONFIGS[config], SEED, index)
        if wasm is None:
            continue
        try:
            outcomes = run_module(wasm, random.Random(index))
        except Exception as e:
            pytest.fail(f"{config} module {index} (seed {SEED}): {type(e).__name__}: {e}")
        for k, v in outcomes.items():
            totals[k] = totals.get(k, 0) + v
        ran += 1
    assert ran >= COUNT // 2, f"smith made only {ran} of {COUNT} modules"
    assert totals.get("returned", 0) > 0, totals
