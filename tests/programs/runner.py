"""Running the wasi-threads test programs: in-process (any policy) or through the CLI, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from wasmroutines import Module, Store
from wasmroutines.bindings.wasi import WasiConfig, WasiEnvironment
from wasmroutines.bindings.wasi_threads import WasiThreads

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WASM = HERE / "wasm"
#: {name: {"args": [...], "stdout": "..."}}: every schedule must print exactly `stdout`.
PROGRAMS: dict[str, dict[str, Any]] = json.loads((HERE / "manifest.json").read_text())["programs"]


def run_program(
    wasm: bytes | Path, *, args: list[str] | None = None, stdin: Any = b"", store: Store | None = None
) -> tuple[int, bytes, WasiThreads]:
    """Run a wasi-threads program in-process: (exit code, stdout, its WasiThreads)."""
    module = Module.from_file(wasm) if isinstance(wasm, Path) else Module(wasm)
    store = store if store is not None else Store()
    out = bytearray()
    config = WasiConfig(args=args or ["prog"], stdin=stdin, stdout=out, stderr=bytearray())
    with WasiEnvironment(config) as wasi:
        threads = WasiThreads(store, module, wasi)
        code = threads.start(threads.instantiate())
    return code, bytes(out), threads


def cli(
    wasm: Path, *args: str, options: tuple[str, ...] = (), stdin: int | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[bytes]:
    """`python -m wasmroutines run [OPTIONS] WASM ARGS...` in a child process."""
    cmd = [sys.executable, "-m", "wasmroutines", "run", *options, str(wasm), *args]
    return subprocess.run(cmd, capture_output=True, stdin=stdin, timeout=timeout, check=False, cwd=ROOT)
