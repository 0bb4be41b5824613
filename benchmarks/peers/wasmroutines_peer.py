"""Wasmroutines itself: the subject. It never reports itself unavailable: an import error here is a failure of the
benchmarks, not a skip. Command programs run on the project's own WASI (wasmroutines.bindings.wasi)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Command, CommandResult, HostImports, Loaded, Peer


def _wasmroutines() -> Any:
    import wasmroutines

    return wasmroutines


def _wasi() -> Any:
    from wasmroutines.bindings import wasi

    return wasi


class _Loaded(Loaded):
    def __init__(self, instance: Any) -> None:
        self._instance = instance

    def function(self, name: str) -> Callable[..., Any]:
        return self._instance.exports[name]  # type: ignore[no-any-return]


class WasmroutinesPeer(Peer):
    name = "wasmroutines"

    def version(self) -> str:
        try:
            return "wasmroutines " + str(getattr(_wasmroutines(), "__version__", ""))
        except ImportError as exc:  # the report still says which machine; the tests fail on it
            return f"wasmroutines (not importable: {exc})"

    def check_available(self) -> None:
        _wasmroutines()

    def check_wasi(self) -> None:
        _wasmroutines()
        _wasi()

    def load(self, wasm: bytes, imports: HostImports) -> Loaded:
        wr = _wasmroutines()
        types = {"i32": wr.ValType.I32, "i64": wr.ValType.I64, "f32": wr.ValType.F32, "f64": wr.ValType.F64}
        store = wr.Store()
        import_object: dict[str, dict[str, Any]] = {}
        for (mod_name, name), host in imports.items():
            functype = wr.FuncType([types[p] for p in host.params], [types[r] for r in host.results])
            import_object.setdefault(mod_name, {})[name] = wr.Function(store, host.func, functype)
        return _Loaded(wr.Instance(store, wr.Module(wasm), import_object))

    def prepare_command(self, command: Command) -> Callable[[], CommandResult]:
        wr = _wasmroutines()
        wasi = _wasi()
        stdout, stderr = bytearray(), bytearray()
        config = wasi.WasiConfig(args=list(command.argv), stdin=command.stdin, stdout=stdout, stderr=stderr)
        config.preopen_dir(command.cwd, ".")
        environment = wasi.WasiEnvironment(config)
        store = wr.Store()
        module = wr.Module(command.wasm)
        instance = wr.Instance(store, module, environment.imports(store, module))

        def run() -> CommandResult:
            with environment:
                code = environment.start(instance)
            return CommandResult(code, bytes(stdout), bytes(stderr))

        return run
