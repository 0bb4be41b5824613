"""wasm3 through pywasm3: the fastest interpreter, the peer the bar compares against. It ships no WASI, so command
programs get the harness's minimal one (wasi_shim)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

from ..wasi_shim import WasiExit, WasiShim
from .base import Command, CommandResult, HostFunc, HostImports, Loaded, Peer, PeerUnavailable

#: the value stack of a wasm3 runtime (its CLI uses 64 KiB; the programs' own stacks are in linear memory)
STACK_BYTES = 1 << 20

_TYPE_CHARS = {"i32": "i", "i64": "I", "f32": "f", "f64": "F"}


def _signature(params: tuple[str, ...], results: tuple[str, ...]) -> str:
    result = _TYPE_CHARS[results[0]] if results else "v"
    return result + "(" + "".join(_TYPE_CHARS[p] for p in params) + ")"


def _wasm3() -> Any:
    try:
        import wasm3
    except ImportError as exc:
        raise PeerUnavailable(f"pywasm3 is not installed ({exc})") from exc
    return wasm3


class _Loaded(Loaded):
    def __init__(self, runtime: Any, keep: list[Any]) -> None:
        self._runtime = runtime
        self._keep = keep  # the environment and module must outlive the runtime's use

    def function(self, name: str) -> Callable[..., Any]:
        return self._runtime.find_function(name)  # type: ignore[no-any-return]


class Wasm3Peer(Peer):
    name = "wasm3"

    def version(self) -> str:
        try:
            return "pywasm3 " + metadata.version("pywasm3")
        except metadata.PackageNotFoundError:
            return ""

    def check_available(self) -> None:
        _wasm3()

    def _instantiate(self, wasm: bytes, imports: HostImports) -> tuple[Any, list[Any]]:
        wasm3 = _wasm3()
        env = wasm3.Environment()
        runtime = env.new_runtime(STACK_BYTES)
        module = env.parse_module(wasm)
        runtime.load(module)
        for (mod_name, name), host in imports.items():
            module.link_function(mod_name, name, _signature(host.params, host.results), host.func)
        return runtime, [env, module]

    def load(self, wasm: bytes, imports: HostImports) -> Loaded:
        runtime, keep = self._instantiate(wasm, imports)
        return _Loaded(runtime, keep)

    def prepare_command(self, command: Command) -> Callable[[], CommandResult]:
        shim = WasiShim(argv=list(command.argv), stdin=command.stdin)
        imports = {key: HostFunc(*spec) for key, spec in shim.imports().items()}
        runtime, keep = self._instantiate(command.wasm, imports)
        shim.memory = lambda: runtime.get_memory(0)
        start = runtime.find_function("_start")

        def run() -> CommandResult:
            assert keep  # the environment and module live as long as this callable
            try:
                start()
                code = 0
            except WasiExit as exit_:
                code = exit_.code
            return CommandResult(code, bytes(shim.stdout), bytes(shim.stderr))

        return run
