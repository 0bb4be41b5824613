"""Wasmroutines itself. Command programs run on the project's own WASI (wasmroutines.bindings.wasi, wasmer's API
shape); until that has landed they are skipped with that reason."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

from .base import Command, CommandResult, HostImports, Loaded, Peer, PeerUnavailable

#: where the project's WASI lives (see DESIGN.md: bindings/ holds WASI preview1)
WASI_BINDING = "wasmroutines.bindings.wasi"


def _wasmroutines() -> Any:
    try:
        import wasmroutines
    except ImportError as exc:
        raise PeerUnavailable(f"wasmroutines is not importable ({exc})") from exc
    return wasmroutines


def _wasi() -> Any:
    try:
        return import_module(WASI_BINDING)
    except ImportError as exc:
        raise PeerUnavailable(f"Wasmroutines has no WASI yet: {WASI_BINDING} has not landed ({exc})") from exc


class _Loaded(Loaded):
    def __init__(self, instance: Any) -> None:
        self._instance = instance

    def function(self, name: str) -> Callable[..., Any]:
        return self._instance.exports[name]  # type: ignore[no-any-return]


@contextlib.contextmanager
def _redirected(fd: int, path: Path, mode: int) -> Iterator[None]:
    """Point the process's file descriptor `fd` at `path` for the duration (wasmer's WASI uses the real fds)."""
    saved = os.dup(fd)
    target = os.open(path, mode, 0o600)
    try:
        os.dup2(target, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(target)


class WasmroutinesPeer(Peer):
    name = "wasmroutines"

    def version(self) -> str:
        return "wasmroutines " + str(getattr(_wasmroutines(), "__version__", ""))

    def check_available(self) -> None:
        _wasmroutines()

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
        store = wr.Store()
        module = wr.Module(command.wasm)
        # REVISIT: written against wasmer's wasi API (WASMER_API.md) before the project's WASI landed
        environment = (
            wasi.StateBuilder(command.argv[0])
            .arguments(list(command.argv[1:]))
            .map_directory(".", str(command.cwd))
            .finalize()
        )
        imports = environment.generate_imports(store, wasi.get_version(module, strict=False))
        start = wr.Instance(store, module, imports).exports["_start"]
        folder = Path(tempfile.mkdtemp(prefix="wr-bench-wasmroutines-"))
        stdin, stdout, stderr = folder / "stdin", folder / "stdout", folder / "stderr"
        stdin.write_bytes(command.stdin)

        def run() -> CommandResult:
            code = 0
            with (
                _redirected(0, stdin, os.O_RDONLY),
                _redirected(1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                _redirected(2, stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            ):
                try:
                    start()
                except RuntimeError as exc:  # wasmer reports proc_exit(n) as "WASI exited with code: n"
                    text = str(exc)
                    if "exited with code" not in text:
                        raise
                    code = int(text.rsplit(":", 1)[1])
            result = CommandResult(code, stdout.read_bytes(), stderr.read_bytes())
            for path in (stdin, stdout, stderr):
                path.unlink()
            folder.rmdir()
            return result

        return run
