"""pywasm: a pure-Python interpreter, thousands of times slower, so it runs only the reduced sizes. Command programs
get the harness's minimal WASI (wasi_shim), as wasm3 does."""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import metadata
from typing import Any

from ..wasi_shim import WasiExit, WasiShim
from .base import Command, CommandResult, HostFunc, HostImports, Loaded, Peer, PeerUnavailable


def _pywasm() -> Any:
    try:
        import pywasm
    except ImportError as exc:
        raise PeerUnavailable(f"pywasm is not installed ({exc})") from exc
    return pywasm


class _Loaded(Loaded):
    def __init__(self, runtime: Any, instance: Any) -> None:
        self._runtime = runtime
        self._instance = instance

    def function(self, name: str) -> Callable[..., Any]:
        runtime, instance = self._runtime, self._instance

        def call(*args: Any) -> Any:
            results = runtime.invocate(instance, name, list(args))
            return results[0] if len(results) == 1 else tuple(results) if results else None

        return call


class PywasmPeer(Peer):
    name = "pywasm"
    reduced_only = True

    def version(self) -> str:
        try:
            return "pywasm " + metadata.version("pywasm")
        except metadata.PackageNotFoundError:
            return ""

    def check_available(self) -> None:
        _pywasm()

    def _instantiate(self, wasm: bytes, imports: HostImports) -> tuple[Any, Any]:
        core = _pywasm().core
        types = {name: getattr(core.ValType, name)() for name in ("i32", "i64", "f32", "f64")}
        runtime = core.Runtime()
        for (mod_name, name), host in imports.items():
            functype = core.FuncType([types[p] for p in host.params], [types[r] for r in host.results])
            runtime.imports.setdefault(mod_name, {})[name] = runtime.allocate_func_host(functype, _adapt(host))
        module = core.ModuleDesc.from_reader(io.BytesIO(wasm))
        return runtime, runtime.instance(module)

    def load(self, wasm: bytes, imports: HostImports) -> Loaded:
        return _Loaded(*self._instantiate(wasm, imports))

    def prepare_command(self, command: Command) -> Callable[[], CommandResult]:
        shim = WasiShim(argv=list(command.argv), stdin=command.stdin)
        imports = {key: HostFunc(*spec) for key, spec in shim.imports().items()}
        runtime, instance = self._instantiate(command.wasm, imports)
        memory_address = instance.mems[0]
        shim.memory = lambda: runtime.machine.store.mems[memory_address].data
        start = _Loaded(runtime, instance).function("_start")

        def run() -> CommandResult:
            try:
                start()
                code = 0
            except WasiExit as exit_:
                code = exit_.code
            return CommandResult(code, bytes(shim.stdout), bytes(shim.stderr))

        return run


def _adapt(host: HostFunc) -> Callable[[Any, list[Any]], list[Any]]:
    """pywasm calls host functions as f(machine, args) -> list of results."""
    func = host.func

    def call(machine: Any, args: list[Any]) -> list[Any]:
        result = func(*args)
        if not host.results:
            return []
        return list(result) if isinstance(result, tuple) else [result]

    return call
