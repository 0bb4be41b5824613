"""`wasmer.wasi`: WASI versions, the StateBuilder, and the Environment that makes WASI imports.

The WASI calls themselves live in wasmroutines.bindings.wasi; this module is
the wasmer-shaped front (see _wasi_seam.py for where the two meet).

The guest's files are laid out as wasmer's: fd 3 is a read-only directory
"/" (a preopen named "/") whose entries are the mapped directories, each
under its alias, and the mapped and preopened directories follow from fd 4.
So a guest can list "/" and open "/alias/file" with only
`map_directory("alias", host)` given; `..` from a mapped directory leads to
"/" and from "/" stays there, never to the host directories around them;
creating, removing or renaming anything in "/" itself is EACCES, as in
wasmer. An alias of one component (`data`, `/data`) is an entry of "/"; a
longer one (`/a/b`) is reachable by its name only (bindings/wasi/vroot.py).
Differences: a directory fd the guest opens beneath a mapped one
(`/data/sub`) does not know its place in the tree, so `..` above that fd
is ENOTCAPABLE where wasmer climbs on (a path walked from "/", a mapped
directory or its preopen climbs as in wasmer); the prestat name length
is the name's own, without the NUL wasmer counts (wasi-libc reads both).

>>> from wasmroutines.wasmer import Store, Module, wasi
>>> module = Module(Store(), '(module (import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32))))')
>>> wasi.get_version(module, strict=True)
<Version.SNAPSHOT0: 2>
>>> env = wasi.StateBuilder("prog").argument("--verbose").environment("HOME", "/").finalize()
>>> env.config.arguments
('prog', '--verbose')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from typing import Any

from ...core.errors import LinkError
from ...core.instance import Instance as CoreInstance
from ...core.memory import Memory as CoreMemory
from ...core.store import Store as CoreStore
from ...core.types import FuncType
from ...core.types import MemoryType as CoreMemoryType
from ._function import Function
from ._imports import ImportObject, namespaces_of
from ._module import Module
from ._store import Store, check_store
from ._wasi_seam import PREVIEW1_NAMES, StateConfig, WasiHost, open_host
from ._wrap import core_of
from .errors import WasiStateError, wasmer_errors

__all__ = ["Environment", "StateBuilder", "Version", "get_version", "run_threads", "run_threads_async", "uses_threads"]


class Version(IntEnum):
    """A WASI version: LATEST (= SNAPSHOT1), SNAPSHOT0 (`wasi_unstable`), SNAPSHOT1 (`wasi_snapshot_preview1`).

    >>> from wasmroutines.wasmer import wasi
    >>> [v.name for v in wasi.Version]
    ['LATEST', 'SNAPSHOT0', 'SNAPSHOT1']
    """

    LATEST = 1
    SNAPSHOT0 = 2
    SNAPSHOT1 = 3


_BY_NAMESPACE = {"wasi_unstable": Version.SNAPSHOT0, "wasi_snapshot_preview1": Version.SNAPSHOT1}
_NAMESPACE = {
    Version.LATEST: "wasi_snapshot_preview1",
    Version.SNAPSHOT0: "wasi_unstable",
    Version.SNAPSHOT1: "wasi_snapshot_preview1",
}


def get_version(module: Module, strict: bool) -> Version | None:
    """The WASI version a module's function imports ask for, or None.

    Not strict: the first function import from a WASI namespace decides.
    Strict: every function import must come from one WASI namespace.

    >>> from wasmroutines.wasmer import Store, Module, wasi
    >>> text = '''(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
    ...                   (import "env" "f" (func)))'''
    >>> module = Module(Store(), text)
    >>> wasi.get_version(module, strict=False), wasi.get_version(module, strict=True)
    (<Version.SNAPSHOT1: 3>, None)
    >>> wasi.get_version(Module(Store(), "(module)"), strict=False) is None
    True
    """
    if not isinstance(module, Module):
        raise TypeError(f"argument 'module': '{type(module).__name__}' object cannot be converted to 'Module'")
    namespaces = [i.module for i in module._core.imports if isinstance(i.type, FuncType)]
    if not strict:
        return next((_BY_NAMESPACE[ns] for ns in namespaces if ns in _BY_NAMESPACE), None)
    if not namespaces or namespaces[0] not in _BY_NAMESPACE:
        return None
    first = namespaces[0]
    return _BY_NAMESPACE[first] if all(ns == first for ns in namespaces) else None


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"'{type(value).__name__}' object cannot be converted to 'PyString'")
    return value


def _path(value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return _str(value)


def _strings(values: Any) -> list[str]:
    """A list's items as strings; as wasmer, items are converted with str()."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"'{type(values).__name__}' object cannot be converted to 'PyList'")
    return [str(v) for v in values]


def _pairs(values: Any) -> list[tuple[str, str]]:
    """A dict's items as pairs of strings; as wasmer, keys and values are converted with str()."""
    if not isinstance(values, Mapping):
        raise TypeError(f"'{type(values).__name__}' object cannot be converted to 'PyDict'")
    return [(str(k), str(v)) for k, v in values.items()]


class StateBuilder:
    """Describes a WASI environment: program name, arguments, environment variables, directories.

    `StateBuilder(program_name, arguments=None, environments=None,
    preopen_directories=None, map_directories=None)`; every method returns the
    builder, so calls chain. Nothing is checked until `finalize()`, which
    raises RuntimeError for a NUL byte in an argument, `=` in a variable name,
    or a directory that does not exist, and may be called any number of times.

    The guest sees wasmer's layout: fd 3 is the read-only root "/" holding
    the mapped directories by alias; the directories follow from fd 4.

    Additions to wasmer: `stdin(bytes or binary stream)`, `stdout(bytearray
    or binary stream)` and `stderr(...)` give the guest Python objects instead
    of the process's file descriptors.

    >>> from wasmroutines.wasmer import wasi
    >>> builder = wasi.StateBuilder("prog", arguments=["a"]).arguments(["b", "c"]).environments({"A": "1"})
    >>> builder.finalize().config.arguments
    ('prog', 'a', 'b', 'c')
    >>> try:
    ...     wasi.StateBuilder("prog").environment("A=B", "1").finalize()
    ... except RuntimeError as e:
    ...     print(e)
    bad environment variable format: `found equal sign in env var key "A=B" (key=value)`
    """

    def __init__(
        self,
        program_name: str,
        arguments: list[str] | None = None,
        environments: dict[str, str] | None = None,
        preopen_directories: list[str] | None = None,
        map_directories: dict[str, str] | None = None,
    ) -> None:
        self._program_name = _str(program_name)
        self._arguments: list[str] = []
        self._environments: list[tuple[str, str]] = []
        self._preopens: list[str] = []
        self._maps: list[tuple[str, str]] = []
        self._stdio: dict[str, Any] = {"stdin": None, "stdout": None, "stderr": None}
        if arguments is not None:
            self.arguments(arguments)
        if environments is not None:
            self.environments(environments)
        if preopen_directories is not None:
            self.preopen_directories(preopen_directories)
        if map_directories is not None:
            self.map_directories(map_directories)

    def arguments(self, arguments: list[str]) -> StateBuilder:
        """Append arguments (after the program name)."""
        self._arguments += _strings(arguments)
        return self

    def argument(self, argument: str) -> StateBuilder:
        """Append one argument."""
        self._arguments.append(_str(argument))
        return self

    def environments(self, environments: dict[str, str]) -> StateBuilder:
        """Add environment variables from a dict."""
        self._environments += _pairs(environments)
        return self

    def environment(self, key: str, value: str) -> StateBuilder:
        """Add one environment variable."""
        self._environments.append((_str(key), _str(value)))
        return self

    def preopen_directories(self, preopen_directories: list[str]) -> StateBuilder:
        """Give the guest these host directories, under their own names."""
        self._preopens += [
            os.fspath(p) if isinstance(p, os.PathLike) else str(p) for p in _iterable(preopen_directories)
        ]
        return self

    def preopen_directory(self, preopen_directory: str) -> StateBuilder:
        """Give the guest one host directory, under its own name."""
        self._preopens.append(_path(preopen_directory))
        return self

    def map_directories(self, map_directories: dict[str, str]) -> StateBuilder:
        """Give the guest host directories under other names: `{guest alias: host path}`."""
        if not isinstance(map_directories, Mapping):
            raise TypeError(f"'{type(map_directories).__name__}' object cannot be converted to 'PyDict'")
        self._maps += [
            (str(alias), os.fspath(host) if isinstance(host, os.PathLike) else str(host))
            for alias, host in map_directories.items()
        ]
        return self

    def map_directory(self, alias: str, directory: str) -> StateBuilder:
        """Give the guest the host `directory` under the name `alias`."""
        self._maps.append((_str(alias), _path(directory)))
        return self

    def stdin(self, source: Any) -> StateBuilder:
        """The guest's stdin: bytes, or a binary stream with `read` (an addition to wasmer)."""
        if not isinstance(source, (bytes, bytearray, memoryview)) and not callable(getattr(source, "read", None)):
            raise TypeError("stdin takes bytes or a binary stream with read()")
        self._stdio["stdin"] = source
        return self

    def stdout(self, sink: Any) -> StateBuilder:
        """Where the guest's stdout goes: a bytearray, or a binary stream with `write` (an addition to wasmer)."""
        self._stdio["stdout"] = _sink(sink, "stdout")
        return self

    def stderr(self, sink: Any) -> StateBuilder:
        """Where the guest's stderr goes: a bytearray, or a binary stream with `write` (an addition to wasmer)."""
        self._stdio["stderr"] = _sink(sink, "stderr")
        return self

    def finalize(self) -> Environment:
        """Check everything and make an Environment (RuntimeError on a bad argument, variable or directory)."""
        arguments = (self._program_name, *self._arguments)
        for arg in arguments:
            if "\0" in arg:
                raise WasiStateError(f"argument contains null byte: `{arg}`")
        for key, value in self._environments:
            if "=" in key:
                raise WasiStateError(
                    f'bad environment variable format: `found equal sign in env var key "{key}" (key=value)`'
                )
            if "\0" in key or "\0" in value:
                raise WasiStateError(
                    f'bad environment variable format: `found nul byte in env var "{key}" (key=value)`'
                )
        for host in [*self._preopens, *(host for _, host in self._maps)]:
            if not os.path.exists(host):
                raise WasiStateError(
                    f'wasi filesystem creation error: `Could not get metadata for file "{host}": entity not found`'
                )
            if not os.path.isdir(host):
                raise WasiStateError(f'wasi filesystem creation error: `"{host}" is not a directory`')
        config = StateConfig(
            arguments=arguments,
            environments=tuple(self._environments),
            preopen_directories=tuple(self._preopens),
            map_directories=tuple(self._maps),
            **self._stdio,
        )
        return Environment._make(config)


def _iterable(values: Any) -> Iterable[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"Can't extract a list of paths from '{type(values).__name__}'")
    return values


def _sink(sink: Any, what: str) -> Any:
    if not isinstance(sink, bytearray) and not callable(getattr(sink, "write", None)):
        raise TypeError(f"{what} takes a bytearray or a binary stream with write()")
    return sink


class Environment:
    """A finalized WASI environment; makes the WASI imports for a store.

    `generate_imports(store, version)` gives `{namespace: {name: Function}}`
    with wasmer's 45 names (`wasi_snapshot_preview1` for LATEST and SNAPSHOT1,
    `wasi_unstable` for SNAPSHOT0); `generate_import_object` the same as an
    ImportObject. An instance made with them binds the environment to its
    `memory` export before its start function runs. One Environment may back
    several instances. Made by `StateBuilder.finalize()`, not directly.

    >>> from wasmroutines.wasmer import wasi
    >>> env = wasi.StateBuilder("prog").finalize()
    >>> env.config.environments
    ()
    """

    __slots__ = ("_config", "_host")

    _config: StateConfig
    _host: WasiHost | None

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("No constructor defined: use wasi.StateBuilder(...).finalize()")

    @classmethod
    def _make(cls, config: StateConfig) -> Environment:
        env = cls.__new__(cls)
        env._config = config
        env._host = None
        return env

    @property
    def config(self) -> StateConfig:
        """What the StateBuilder said, checked (an addition to wasmer's API)."""
        return self._config

    def _wasi_host(self) -> WasiHost:
        if self._host is None:
            self._host = open_host(self._config)
        return self._host

    def _bind(self, instance: CoreInstance) -> None:
        """Bind to the instance's `memory` export: the hook imported WASI functions carry."""
        exports = instance.exports
        memory = exports["memory"] if "memory" in exports else None  # noqa: SIM401 - Exports has no get()
        if not isinstance(memory, CoreMemory):
            raise LinkError("Host env initialization error: Missing export memory")
        self._wasi_host().bind_memory(memory)

    def generate_imports(self, store: Store, version: Version) -> dict[str, dict[str, Function]]:
        """`{namespace: {name: Function}}`: the 45 WASI functions of `version`, in `store`."""
        check_store(store)
        try:
            namespace = _NAMESPACE[Version(version)]
        except ValueError:
            raise TypeError(f"'{type(version).__name__}' object cannot be converted to 'Version'") from None
        functions = self._wasi_host().functions(store._core, namespace)
        hook: Callable[[CoreInstance], None] = self._bind
        out: dict[str, Function] = {}
        for name in PREVIEW1_NAMES:
            f = Function._wrap(functions[name])
            f._on_instance = hook
            out[name] = f
        return {namespace: out}

    def generate_import_object(self, store: Store, version: Version) -> ImportObject:
        """The same imports as `generate_imports`, as an ImportObject."""
        imports = ImportObject()
        for namespace, functions in self.generate_imports(store, version).items():
            imports.register(namespace, dict(functions))
        return imports


# ---- wasi-threads: our extension ----

_THREAD_SPAWN = ("wasi", "thread-spawn")


def uses_threads(module: Module) -> bool:
    """Whether `module` is a wasi-threads program: it imports `wasi` `thread-spawn`, or a shared memory.

    Such a program runs with `run_threads` (an addition to wasmer's API).

    >>> from wasmroutines.wasmer import Store, Module, wasi
    >>> store = Store()
    >>> wasi.uses_threads(Module(store, '(module (import "wasi" "thread-spawn" (func (param i32) (result i32))))'))
    True
    >>> wasi.uses_threads(Module(store, '(module (memory 1))'))
    False
    """
    if not isinstance(module, Module):
        raise TypeError(f"argument 'module': '{type(module).__name__}' object cannot be converted to 'Module'")
    for imp in module._core.imports:
        if (imp.module, imp.name) == _THREAD_SPAWN:
            return True
        if isinstance(imp.type, CoreMemoryType) and imp.type.shared:
            return True
    return False


def run_threads(module: Module, environment: Environment, imports: Any = None, *, entry: str = "_start") -> int:
    r"""Run a wasi-threads program (built for wasmtime or wasmer's CLI) in one call; its exit status.

    An addition to wasmer's API. The program gets the WASI calls of
    `environment`, `wasi` `thread-spawn`, the shared memory it imports (made
    from the import's own type, whatever its names) and `imports` (a dict of
    namespaces or an ImportObject, in the module's store; they win over the
    rest). Each `thread-spawn` instantiates the module again with the same
    imports and runs `wasi_thread_start(tid, arg)` as a green thread of the
    module's store, scheduled by its policy (`Store(policy=...)`).

    Returns 0 when `entry` returns, else the code `proc_exit` gave in any
    thread; a trap in any thread raises RuntimeError as a call would. Threads
    still running when the program ends are killed. `thread-spawn` is not
    among `generate_imports`' names: it needs the module, to instantiate it
    again, so it is made here.

    >>> from wasmroutines.wasmer import Store, Module, wasi
    >>> program = Module(Store(), '''(module
    ...   (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    ...   (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
    ...   (import "env" "memory" (memory 1 1 shared))
    ...   (data (i32.const 16) "hi from a thread\\n")
    ...   (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    ...     (i32.store (i32.const 0) (i32.const 16))
    ...     (i32.store (i32.const 4) (i32.const 17))
    ...     (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    ...     (i32.atomic.store (i32.const 12) (i32.const 1))
    ...     (drop (memory.atomic.notify (i32.const 12) (i32.const 1))))
    ...   (func (export "_start")
    ...     (drop (call $spawn (i32.const 0)))
    ...     (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))))''')
    >>> out = bytearray()
    >>> wasi.run_threads(program, wasi.StateBuilder("prog").stdout(out).finalize())
    0
    >>> bytes(out)
    b'hi from a thread\n'
    """
    store, extra = _threads_imports(module, environment, imports, entry)
    with wasmer_errors():
        return environment._wasi_host().run_threads(store, module._core, extra, entry)


async def run_threads_async(
    module: Module, environment: Environment, imports: Any = None, *, entry: str = "_start"
) -> int:
    """`run_threads` on the running asyncio loop (an addition to wasmer's API, docs/asyncio.md): the program's
    threads run as green threads between the loop's other callbacks, its async host functions await on the loop,
    and many programs share one loop. Returns and raises as `run_threads` does; cancelled, every thread of the
    program is killed.

    >>> import asyncio
    >>> from wasmroutines.wasmer import Store, Module, Function, wasi
    >>> store = Store()
    >>> async def fetch(key: int) -> int:
    ...     await asyncio.sleep(0.01)  # the thread waits here; the loop and the other threads go on
    ...     return key + 40
    >>> program = Module(store, '''(module
    ...   (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
    ...   (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    ...   (import "env" "fetch" (func $fetch (param i32) (result i32)))
    ...   (import "env" "memory" (memory 1 1 shared))
    ...   (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    ...     (i32.atomic.store (i32.const 0) (call $fetch (local.get $arg)))
    ...     (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
    ...   (func (export "_start")
    ...     (drop (call $spawn (i32.const 2)))
    ...     (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    ...     (call $exit (i32.atomic.load (i32.const 0)))))''')
    >>> env = wasi.StateBuilder("prog").finalize()
    >>> asyncio.run(wasi.run_threads_async(program, env, {"env": {"fetch": Function(store, fetch)}}))
    42
    """
    store, extra = _threads_imports(module, environment, imports, entry)
    with wasmer_errors():
        return await environment._wasi_host().run_threads_async(store, module._core, extra, entry)


def _threads_imports(
    module: Module, environment: Environment, imports: Any, entry: str
) -> tuple[CoreStore, dict[str, dict[str, Any]]]:
    """run_threads' arguments checked: the module's core store and the extra imports as core externs."""
    if not isinstance(module, Module):
        raise TypeError(f"argument 'module': '{type(module).__name__}' object cannot be converted to 'Module'")
    if not isinstance(environment, Environment):
        raise TypeError(
            f"argument 'environment': '{type(environment).__name__}' object cannot be converted to 'Environment'"
        )
    if not isinstance(entry, str):
        raise TypeError(f"'{type(entry).__name__}' object cannot be converted to 'PyString'")
    store = module._store._core
    extra: dict[str, dict[str, Any]] = {}
    for namespace, names in namespaces_of(imports).items():
        for name, extern in names.items():
            core = core_of(extern)
            if core.store is not store:
                raise LinkError(f'Error while importing "{namespace}"."{name}": the import belongs to another store')
            extra.setdefault(namespace, {})[name] = core
    return store, extra
