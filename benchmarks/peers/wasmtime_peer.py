"""wasmtime through its Python package: a JIT (Cranelift), the ceiling. Command programs use wasmtime's own WASI,
except for clock_time_get: wasmtime answers EBADF for the process CPU-time clock, on which CoreMark's calibration
loop never ends, so the harness supplies that one call (every clock, as the wasm3 shim does)."""

from __future__ import annotations

import functools
import shutil
import struct
import tempfile
import weakref
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from ..wasi_shim import EINVAL, SIGNATURES, SUCCESS, WASI_MODULE, WASI_MODULES, now_ns
from .base import Command, CommandResult, HostImports, Loaded, Peer, PeerUnavailable


def _wasmtime() -> Any:
    try:
        import wasmtime
    except ImportError as exc:
        raise PeerUnavailable(f"wasmtime is not installed ({exc})") from exc
    return wasmtime


class _Loaded(Loaded):
    def __init__(self, store: Any, exports: Any) -> None:
        self._store = store
        self._exports = exports

    def function(self, name: str) -> Callable[..., Any]:
        return functools.partial(self._exports[name], self._store)


class WasmtimePeer(Peer):
    name = "wasmtime"
    #: define_wasi links preview1 only; snapshot 0 differs in layouts, so no aliasing it here
    wasi_modules = (WASI_MODULE,)

    def __init__(self) -> None:
        self._engine: Any = None
        #: what close() must free while wasmtime's ctypes still exist (else __del__ complains at exit)
        self._live: weakref.WeakSet[Any] = weakref.WeakSet()

    def version(self) -> str:
        try:
            return "wasmtime " + metadata.version("wasmtime")
        except metadata.PackageNotFoundError:
            return ""

    def check_available(self) -> None:
        _wasmtime()

    def close(self) -> None:
        for obj in list(self._live):
            obj.close()
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def _engine_(self) -> Any:
        if self._engine is None:
            wt = _wasmtime()
            config = wt.Config()
            if hasattr(config, "wasm_exceptions"):  # exception handling is off by default (wasmtime-py 51)
                config.wasm_exceptions = True
            if hasattr(config, "wasm_gc"):  # so is GC (structs and arrays), which needs typed function references
                config.wasm_function_references = True
                config.wasm_gc = True
            self._engine = wt.Engine(config)
        return self._engine

    def load(self, wasm: bytes, imports: HostImports) -> Loaded:
        wt = _wasmtime()
        types = {"i32": wt.ValType.i32(), "i64": wt.ValType.i64(), "f32": wt.ValType.f32(), "f64": wt.ValType.f64()}
        engine = self._engine_()
        store = wt.Store(engine)
        linker = wt.Linker(engine)
        self._live.update((store, linker))
        for (mod_name, name), host in imports.items():
            functype = wt.FuncType([types[p] for p in host.params], [types[r] for r in host.results])
            linker.define_func(mod_name, name, functype, host.func)
        module = wt.Module(engine, wasm)
        self._live.add(module)
        instance = linker.instantiate(store, module)
        return _Loaded(store, instance.exports(store))

    def prepare_command(self, command: Command) -> Callable[[], CommandResult]:
        wt = _wasmtime()
        engine = self._engine_()
        module = wt.Module(engine, command.wasm)
        folder = Path(tempfile.mkdtemp(prefix="wr-bench-wasmtime-"))
        stdin, stdout, stderr = folder / "stdin", folder / "stdout", folder / "stderr"
        stdin.write_bytes(command.stdin)
        config = wt.WasiConfig()
        config.argv = list(command.argv)
        config.stdin_file = str(stdin)
        config.stdout_file = str(stdout)
        config.stderr_file = str(stderr)
        config.preopen_dir(str(command.cwd), ".")
        store = wt.Store(engine)
        store.set_wasi(config)
        linker = wt.Linker(engine)
        self._live.update((module, store, linker))
        linker.define_wasi()
        _define_clock(wt, linker)
        start = linker.instantiate(store, module).exports(store)["_start"]

        def run() -> CommandResult:
            try:
                start(store)
                code = 0
            except wt.ExitTrap as exit_:
                code = exit_.code
            return CommandResult(code, stdout.read_bytes(), stderr.read_bytes())

        # the folder goes with the callable, whether or not it ran
        weakref.finalize(run, shutil.rmtree, folder, ignore_errors=True)
        return run


def _define_clock(wt: Any, linker: Any) -> None:
    """Shadow WASI's clock_time_get with one that has the CPU-time clocks (see the module's docstring)."""

    def clock_time_get(caller: Any, clock_id: int, precision: int, time_ptr: int) -> int:
        now = now_ns(clock_id)
        if now is None:
            return EINVAL
        caller["memory"].write(caller, struct.pack("<Q", now), time_ptr & 0xFFFF_FFFF)
        return SUCCESS

    types = {"i32": wt.ValType.i32(), "i64": wt.ValType.i64()}
    params, results = SIGNATURES["clock_time_get"]
    functype = wt.FuncType([types[p] for p in params], [types[r] for r in results])
    linker.allow_shadowing = True
    for module in WASI_MODULES:
        linker.define_func(module, "clock_time_get", functype, clock_time_get, access_caller=True)
