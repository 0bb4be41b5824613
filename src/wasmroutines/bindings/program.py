"""A WASI program, instantiated and bound the one way `wasmroutines run` and the explorer's runner share.

A program that imports `wasi.thread-spawn` is a wasi-threads program: its
shared memory is made once and every thread it spawns runs on an instance of
its own, as a green thread (wasi_threads.py); any other gets its WASI imports
and one instance. Either way WASI is bound to the program's memory (the
exported one, or the wasi-threads one), and the program is run from `_start`
through `start`, which gives its exit status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.errors import ResourceLimitError
from ..core.instance import Instance
from ..core.memory import Memory
from ..core.module import Module
from ..core.store import Store
from .wasi.environment import WasiEnvironment
from .wasi_threads import WasiThreads, uses_wasi_threads

__all__ = ["WasiProgram", "instantiate"]


@dataclass
class WasiProgram:
    """An instantiated WASI program: its first instance, and its WasiThreads when it spawns threads."""

    instance: Instance
    threads: WasiThreads | None
    wasi: WasiEnvironment

    def start(self) -> int:
        """Run `_start` (on the main thread); the exit status: 0 when it returns, proc_exit's code from any
        thread. A trap in any thread is raised; threads still running are killed before this returns."""
        if self.threads is not None:
            return self.threads.start(self.instance)
        return self.wasi.start(self.instance)


def instantiate(
    store: Store,
    module: Module,
    wasi: WasiEnvironment,
    *,
    extra: dict[str, dict[str, Any]] | None = None,
    on_refused: Callable[[ResourceLimitError], None] | None = None,
) -> WasiProgram:
    """Instantiate `module` in `store` with `wasi`'s imports (`extra` adds or replaces some: a recorder's
    interposed calls), bound to its memory. `on_refused` hears of each thread-spawn refused over the store's
    max_threads (the program gets -EAGAIN)."""
    threads = None
    if uses_wasi_threads(module):
        threads = WasiThreads(store, module, wasi, imports=extra or {})
        threads.on_refused = on_refused
        instance = threads.instantiate()
    else:
        imports = wasi.imports(store, module)
        for name, calls in (extra or {}).items():
            imports.setdefault(name, {}).update(calls)
        instance = Instance(store, module, imports)
    mem = dict(instance.exports).get("memory")
    if not isinstance(mem, Memory) and threads is not None:
        mem = threads.memory
    if isinstance(mem, Memory):
        wasi.bind(mem)
    return WasiProgram(instance, threads, wasi)
