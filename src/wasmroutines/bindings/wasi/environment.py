"""WasiConfig (what the guest gets) and WasiEnvironment (the live state and its imports).

    config = WasiConfig(args=["prog", "x"], env={"K": "V"}).preopen_dir("data", "/data")
    with WasiEnvironment(config) as wasi:
        instance = Instance(store, module, wasi.imports(store, module))
        wasi.bind(instance)                 # the guest's exported `memory`
        code = wasi.start(instance)         # runs _start; proc_exit's code, 0 if it returns

The same environment answers both `wasi_snapshot_preview1` and the older
`wasi_unstable` (snapshot 0) module names. fds: 0-2 are stdio, then (with
`virtual_root`, as wasmer) the read-only root "/", then the preopened
directories in order (from 3, or 4 after the root), then preopened listening sockets
(after the directories, so wasi-libc's preopen scan, which stops at the
first fd that is not a preopened directory, sees every directory).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ...core.errors import LinkError
from ...core.function import Function
from ...core.instance import Instance
from ...core.memory import Memory
from ...core.module import Module
from ...core.store import Store
from . import clock, fd, path, poll, proc, readdir, snapshot0, sock  # noqa: F401  (register the calls)
from .abi import DIR_INHERITING, DIR_RIGHTS, FileType
from .errors import WasiExit, WasiUsageError
from .fast import FastPath
from .fdtable import FdEntry
from .hostview import VirtualHost
from .registry import PREVIEW1, SNAPSHOT0_OVERRIDES, Syscall, bind
from .runtime import Waiter
from .sock import listener_entry
from .state import WasiState
from .stdio import StdioSpec, make_stream
from .vroot import VirtualRoot, entry_name

__all__ = ["PREVIEW1_MODULE", "SNAPSHOT0_MODULE", "Preopen", "WasiConfig", "WasiEnvironment"]

PREVIEW1_MODULE = "wasi_snapshot_preview1"
SNAPSHOT0_MODULE = "wasi_unstable"


@dataclass(frozen=True)
class Preopen:
    """A host directory the guest sees under the name `guest` (e.g. "/", ".", "/data")."""

    host: str
    guest: str


@dataclass
class WasiConfig:
    """What the guest is given: argv (program name first), environ, preopens, stdio, hooks.

    stdio: see stdio.py (None inherits the process's fds; bytes feed stdin;
    a bytearray or a binary stream captures stdout/stderr). `waiter` is
    where blocking waits go and the monotonic clock (runtime.py; default:
    the running green-thread scheduler, see green.py); `clock`
    (WASI clock id -> ns) replaces the host's realtime and CPU-time clocks;
    `random` fills random_get. `deterministic` hides what else of the host
    would differ between runs and machines (file times, inode numbers, clock
    resolutions, when input arrived: hostview.py's VirtualHost); deterministic
    runs set it together with `clock` and `random`; with `live_sockets` too,
    reads and polls of sockets still answer what has arrived (a recorded
    network run: its recording keeps what they answered). `virtual_root` gives the
    guest wasmer's read-only directory "/" (the first preopen, fd 3) holding
    each preopen named by one component under that name (vroot.py).
    """

    args: list[str | bytes] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    preopens: list[Preopen] = field(default_factory=list)
    listeners: list[socket.socket] = field(default_factory=list)
    stdin: StdioSpec = None
    stdout: StdioSpec = None
    stderr: StdioSpec = None
    waiter: Waiter | None = None
    random: Callable[[int], bytes] | None = None
    clock: Callable[[int], int] | None = None
    deterministic: bool = False
    live_sockets: bool = False
    virtual_root: bool = False

    def preopen_dir(self, host: str | os.PathLike[str], guest: str | None = None) -> WasiConfig:
        """Let the guest see host directory `host` as `guest` (default: the host path as given)."""
        host = os.fspath(host)
        self.preopens.append(Preopen(host, host if guest is None else guest))
        return self

    def listen_tcp(self, host: str, port: int) -> WasiConfig:
        """Preopen a listening TCP socket on (host, port); port 0 picks a free port (see `listeners`)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            s.listen(128)
        except BaseException:
            s.close()
            raise
        self.listeners.append(s)
        return self


def _export(instance: Instance, name: str) -> object:
    try:
        return instance.exports[name]
    except KeyError:
        return None


def _encode(x: str | bytes) -> bytes:
    return x if isinstance(x, bytes) else x.encode("utf-8", "surrogateescape")


class WasiEnvironment:
    """The live WASI state of one guest program: its fd table, memory binding and host functions."""

    def __init__(self, config: WasiConfig | None = None) -> None:
        config = config if config is not None else WasiConfig()
        env = [_encode(k) + b"=" + _encode(v) for k, v in config.env.items()]
        kwargs: dict[str, Any] = {}
        if config.random is not None:
            kwargs["random"] = config.random
        if config.deterministic:
            kwargs["host"] = VirtualHost(live_sockets=config.live_sockets)
        self.state = WasiState(
            [_encode(a) for a in config.args], env, waiter=config.waiter, clock=config.clock, **kwargs
        )
        fds = self.state.fds
        try:
            for spec, host_fd, is_input in (
                (config.stdin, 0, True),
                (config.stdout, 1, False),
                (config.stderr, 2, False),
            ):
                s = make_stream(spec, for_input=is_input)
                if s is None or isinstance(s, int):
                    entry = FdEntry.for_host_fd(host_fd if s is None else s, owned=False)
                    if config.deterministic:
                        entry.stdio_as_stream()
                    fds.add(entry)
                else:
                    fds.add(FdEntry.for_stream(s))
            root = None
            if config.virtual_root:
                root = fds.vroot = VirtualRoot()
                fds.add(FdEntry(FileType.DIRECTORY, DIR_RIGHTS, DIR_INHERITING, preopen=b"/", vroot=root))
            for p in config.preopens:
                entry = self._open_preopen(p)
                fds.add(entry)
                name = entry_name(entry.preopen or b"")
                if root is not None and name is not None and entry.host_fd is not None:
                    root.add(name, entry.host_fd)
                    entry.vroot = root
            for listener in config.listeners:
                fds.add(listener_entry(listener))
        except BaseException:
            fds.close_all()
            raise
        self._functions: dict[tuple[int, str, str], Function] = {}
        self.state.fast = FastPath(self.state)

    @staticmethod
    def _open_preopen(p: Preopen) -> FdEntry:
        try:
            host_fd = os.open(p.host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise WasiUsageError(f"cannot preopen directory {p.host!r}: {e.strerror}") from None
        entry = FdEntry(FileType.DIRECTORY, DIR_RIGHTS, DIR_INHERITING, host_fd=host_fd)
        entry.preopen = _encode(p.guest)
        return entry

    # ---- imports ----

    @staticmethod
    def calls(module_name: str) -> dict[str, Syscall]:
        """The WASI calls answered under `module_name` (preview1 or snapshot 0), by import name."""
        if module_name == PREVIEW1_MODULE:
            return dict(PREVIEW1)
        if module_name == SNAPSHOT0_MODULE:
            table = {k: v for k, v in PREVIEW1.items() if k not in snapshot0.SNAPSHOT0_MISSING}
            table.update(SNAPSHOT0_OVERRIDES)
            return table
        return {}

    def function(self, store: Store, module_name: str, name: str) -> Function:
        """The host Function for WASI call `module_name.name` in `store` (made once per store)."""
        key = (id(store), module_name, name)
        f = self._functions.get(key)
        if f is None or f.store is not store:
            call = self.calls(module_name).get(name)
            if call is None:
                raise LinkError(f"unknown import: {module_name}.{name} (not a WASI call)")
            f = Function(store, bind(self.state, call), call.type)
            if self.state.fast is not None and call is PREVIEW1.get(name):
                self.state.fast.attach(store, name, f)
            self._functions[key] = f
        return f

    def imports(self, store: Store, module: Module | None = None) -> dict[str, dict[str, Function]]:
        """Host functions for an Instance's imports: those `module` asks for, or every call of both names.

        A WASI import this environment does not know is left out, so instantiation reports it as
        an unknown import (as wasmtime does).
        """
        out: dict[str, dict[str, Function]] = {}
        if module is None:
            wanted: Iterable[tuple[str, str]] = [
                (m, n) for m in (PREVIEW1_MODULE, SNAPSHOT0_MODULE) for n in self.calls(m)
            ]
        else:
            wanted = [(i.module, i.name) for i in module.imports]
        for mod, name in wanted:
            if name in self.calls(mod):
                out.setdefault(mod, {})[name] = self.function(store, mod, name)
        return out

    # ---- memory and running ----

    def bind(self, target: Instance | Memory) -> None:
        """Read and write guest memory through `target`: a Memory, or an Instance's `memory` export."""
        mem = target if isinstance(target, Memory) else _export(target, "memory")
        if not isinstance(mem, Memory):
            raise WasiUsageError("the instance exports no memory named 'memory' for WASI to use")
        self.state.mem.bind(mem)
        if self.state.fast is not None:
            self.state.fast.bind_memory(mem)

    @property
    def memory(self) -> Memory | None:
        return self.state.mem.memory

    def start(self, instance: Instance, entry: str = "_start") -> int:
        """Bind to `instance` (if not bound) and run its `_start`; the exit code (0 when it returns)."""
        if self.state.mem.memory is None and isinstance(_export(instance, "memory"), Memory):
            self.bind(instance)
        func = instance.exports[entry]
        if not isinstance(func, Function):
            raise WasiUsageError(f"the export {entry!r} is not a function")
        try:
            func()
        except WasiExit as e:
            return e.code
        return 0

    # ---- lifetime ----

    def close(self) -> None:
        """Close every fd the guest still holds (inherited stdio stays open)."""
        self.state.fds.close_all()

    def __enter__(self) -> WasiEnvironment:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
