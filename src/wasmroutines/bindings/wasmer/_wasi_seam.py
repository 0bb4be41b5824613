"""The seam between `wasmer.wasi` and the WASI binding (wasmroutines.bindings.wasi).

`wasmer.wasi` owns what is pure: versions, the StateBuilder and its checks,
the 45 names `generate_imports` returns, binding to the instance's `memory`.
The binding owns the WASI calls. They meet here, in two pieces:

  StateConfig  what a finalized StateBuilder says (frozen, checked);
  WasiHost     what the binding gives back for one Environment: the host
               functions of a namespace, a way to bind the guest memory, and
               a way to run a wasi-threads program (`thread-spawn`, through
               wasmroutines.bindings.wasi_threads).

`open_host(config)` is the one function that reaches into the binding,
through its public API (`WasiConfig`, `Preopen`, `WasiEnvironment` of
wasmroutines.bindings.wasi). When that cannot be loaded it raises
WasiUnavailable (a RuntimeError) naming what is missing.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ...core.extern import Extern as CoreExtern
from ...core.function import Function as CoreFunction
from ...core.memory import Memory as CoreMemory
from ...core.module import Module as CoreModule
from ...core.store import Store as CoreStore
from .errors import WasiUnavailable

__all__ = ["BINDING", "PREVIEW1_NAMES", "StateConfig", "WasiHost", "open_host"]

#: The WASI binding that serves this face.
BINDING = "wasmroutines.bindings.wasi"
#: What gives a program `wasi` `thread-spawn` (kept out of `generate_imports`' 45 names).
THREADS_BINDING = "wasmroutines.bindings.wasi_threads"

#: What `generate_imports` returns per namespace: wasi_snapshot_preview1 without `sock_accept` (wasmer 1.1's
#: set, which code compares against). The same names serve `wasi_unstable`.
PREVIEW1_NAMES: tuple[str, ...] = (
    "args_get", "args_sizes_get", "clock_res_get", "clock_time_get", "environ_get", "environ_sizes_get",
    "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
    "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
    "fd_prestat_dir_name", "fd_prestat_get", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
    "fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
    "path_link", "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
    "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "random_get", "sched_yield", "sock_recv",
    "sock_send", "sock_shutdown",
)  # fmt: skip


@dataclass(frozen=True)
class StateConfig:
    """A finalized StateBuilder: everything is checked (no NUL bytes, no `=` in keys, directories exist).

    `arguments` starts with the program name. `map_directories` pairs a guest
    path with a host path; `preopen_directories` are host paths the guest sees
    under the same name. `stdin`, `stdout`, `stderr` are None for the
    process's own fds, else what StateBuilder.stdin/stdout/stderr were given
    (bytes or a binary stream to read; a bytearray or binary stream to write).
    """

    arguments: tuple[str, ...]
    environments: tuple[tuple[str, str], ...]
    preopen_directories: tuple[str, ...]
    map_directories: tuple[tuple[str, str], ...]
    stdin: Any = None
    stdout: Any = None
    stderr: Any = None


class WasiHost(Protocol):
    """One WASI environment's state, as the binding implements it (shared by every instance it backs)."""

    def functions(self, store: CoreStore, namespace: str) -> Mapping[str, CoreFunction]:
        """Host functions in `store` for the WASI calls of `namespace` (`wasi_snapshot_preview1` or
        `wasi_unstable`); at least PREVIEW1_NAMES. `proc_exit` raises the binding's WasiExit."""
        ...

    def bind_memory(self, memory: CoreMemory) -> None:
        """Use `memory` (the instance's `memory` export) for the guest pointers of later calls."""
        ...

    def run_threads(
        self, store: CoreStore, module: CoreModule, imports: Mapping[str, Mapping[str, CoreExtern]], entry: str
    ) -> int:
        """Instantiate `module` with the WASI calls, `thread-spawn`, its shared memory and `imports` (which
        win), run `entry` and return the program's exit status (0 when `entry` returns, else proc_exit's
        code from any thread); a trap in any thread raises. Threads still alive are then killed."""
        ...

    async def run_threads_async(
        self, store: CoreStore, module: CoreModule, imports: Mapping[str, Mapping[str, CoreExtern]], entry: str
    ) -> int:
        """`run_threads` on the running asyncio loop (core/aio.py); cancelled, every thread is killed."""
        ...


class _BindingHost:
    """A WasiHost over the binding's WasiEnvironment."""

    def __init__(self, environment: Any) -> None:
        self._environment = environment
        # wasmer has no way to close an Environment, and its host functions outlive it (the stores hold
        # them): close the guest's fds when the last of them goes, i.e. when the binding's state is collected.
        # REVISIT: the binding could own this (a finalizer on its fd table).
        state = getattr(environment, "state", None)
        fds = getattr(state, "fds", None)
        if fds is not None and callable(getattr(fds, "close_all", None)):
            weakref.finalize(state, fds.close_all)

    def functions(self, store: CoreStore, namespace: str) -> Mapping[str, CoreFunction]:
        env = self._environment
        return {name: env.function(store, namespace, name) for name in env.calls(namespace)}

    def bind_memory(self, memory: CoreMemory) -> None:
        self._environment.bind(memory)

    def run_threads(
        self, store: CoreStore, module: CoreModule, imports: Mapping[str, Mapping[str, CoreExtern]], entry: str
    ) -> int:
        program, instance = self._program(store, module, imports)
        return int(program.start(instance, entry))

    async def run_threads_async(
        self, store: CoreStore, module: CoreModule, imports: Mapping[str, Mapping[str, CoreExtern]], entry: str
    ) -> int:
        program, instance = self._program(store, module, imports)
        return int(await program.start_async(instance, entry))

    def _program(
        self, store: CoreStore, module: CoreModule, imports: Mapping[str, Mapping[str, CoreExtern]]
    ) -> tuple[Any, Any]:
        """The wasi-threads program of `module` and its first instance, this environment bound to its memory."""
        try:
            wasi_threads = importlib.import_module(THREADS_BINDING).WasiThreads
        except (ImportError, AttributeError) as e:
            raise WasiUnavailable(f"wasi-threads is not available: cannot load {THREADS_BINDING} ({e})") from None
        program = wasi_threads(store, module, self._environment, imports)
        instance = program.instantiate()
        # Bind now, whatever this environment served before: the program's memory, exported or imported.
        exported = instance.exports["memory"] if "memory" in instance.exports else None  # noqa: SIM401 - no get()
        memory = exported if isinstance(exported, CoreMemory) else program.memory
        if memory is not None:
            self._environment.bind(memory)
        return program, instance

    def close(self) -> None:
        """Close the fds the guest holds (preopened directories, files it opened)."""
        self._environment.close()


def open_host(config: StateConfig) -> WasiHost:
    """The binding's WasiHost for `config`; WasiUnavailable when the binding cannot be loaded."""
    try:
        binding = importlib.import_module(BINDING)
        make_config, make_environment, preopen = binding.WasiConfig, binding.WasiEnvironment, binding.Preopen
    except (ImportError, AttributeError) as e:
        raise WasiUnavailable(f"WASI is not available: cannot load {BINDING} ({e})") from None
    preopens = [preopen(host, host) for host in config.preopen_directories]
    preopens += [preopen(host, alias) for alias, host in config.map_directories]
    binding_config = make_config(
        args=list(config.arguments),
        env=dict(config.environments),
        preopens=preopens,
        stdin=config.stdin,
        stdout=config.stdout,
        stderr=config.stderr,
        virtual_root=True,  # wasmer's "/" holding the mapped directories (fd 3; they follow from fd 4)
    )
    return _BindingHost(make_environment(binding_config))
