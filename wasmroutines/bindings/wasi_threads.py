"""wasi-threads: `wasi.thread-spawn` starts `wasi_thread_start(tid, arg)` on a new instance, as a green thread.

    store = Store()
    module = Module.from_file("prog.wasm")
    with WasiEnvironment(config) as wasi:
        threads = WasiThreads(store, module, wasi)
        instance = threads.instantiate()     # WASI, thread-spawn and the shared memory it imports
        code = threads.start(instance)       # _start; the exit status of the whole program

What the proposal asks, and how it is met here:
- The module imports its (shared) memory; the host makes it, from the import's
  own type, whatever its names ("env" "memory" from wasm-ld, anything else too).
- `thread-spawn(arg)` instantiates the same module again with the very same
  imports (so the same Memory object, the same WASI functions), gives the
  thread a fresh id in [1, 0x1FFFFFFF] and runs `wasi_thread_start(tid, arg)`
  on a new green thread (Scheduler.spawn): it starts once the spawner blocks
  or its slice ends, as a `go f()` would. Failure (no ids left, the store's
  `max_threads` spawned threads alive, the instance cannot be made) returns a
  negative value (-EAGAIN), as wasmtime does: wasi-libc's pthread_create then
  fails with EAGAIN, for the program to handle. A refusal over `max_threads`
  is counted in `refused` and reported to `on_refused`.
- `proc_exit` in any thread, or a trap in any thread, ends the whole program
  with that status: the scheduler's on_thread_exit hook interrupts the main
  thread with the thread's exception (WasiExit or Trap), which surfaces from
  the main call wherever it is (running, waiting on a futex or blocked in a
  WASI call). Returning from `_start` is proc_exit(0). Either way `start`
  then kills every thread still alive (Scheduler.close).
- Blocking WASI calls (fd_read on a pipe, poll_oneoff, sched_yield) park only
  the calling green thread: that is the WASI environment's default Waiter
  (SchedulerWaiter, bindings/wasi/green.py), left as the embedder set it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from greenlet import GreenletExit

from ..core.errors import ResourceLimitError, WasmroutinesError
from ..core.extern import Extern
from ..core.function import Function
from ..core.instance import Instance
from ..core.memory import Memory
from ..core.module import Module
from ..core.scheduler import GreenThread
from ..core.store import Store
from ..core.types import FuncType, MemoryType, ValType
from .wasi import WasiEnvironment, WasiExit

__all__ = [
    "MAX_TID",
    "THREAD_SPAWN",
    "THREAD_SPAWN_MODULE",
    "THREAD_START",
    "WasiThreads",
    "uses_wasi_threads",
]

THREAD_SPAWN_MODULE = "wasi"
THREAD_SPAWN = "thread-spawn"
THREAD_START = "wasi_thread_start"
_MEMORY = "memory"  # the export WASI reads and writes through
#: Thread ids are positive and below 2**29 (wasi-libc keeps the top bits of a mutex word for itself).
MAX_TID = 0x1FFF_FFFF
#: What a failed thread-spawn returns: -EAGAIN (preview1's errno numbering), a negative value as the proposal asks.
SPAWN_FAILED = -6

_SPAWN_TYPE = FuncType((ValType.I32,), (ValType.I32,))


def uses_wasi_threads(module: Module) -> bool:
    """Whether `module` is a wasi-threads program: it imports `wasi.thread-spawn`, or a shared memory to be made.

    (The proposal's smallest valid command imports only its shared memory.)
    """
    for imp in module.imports:
        if imp.module == THREAD_SPAWN_MODULE and imp.name == THREAD_SPAWN:
            return True
        if isinstance(imp.type, MemoryType) and imp.type.shared:
            return True
    return False


class WasiThreads:
    """The wasi-threads side of one program: its imports, its threads and how the program ends.

    `wasi` (optional) supplies the WASI imports; `imports` adds or overrides
    imports (a memory given there is used as is; any other memory the module
    imports is made from the import's own type).
    """

    def __init__(
        self,
        store: Store,
        module: Module,
        wasi: WasiEnvironment | None = None,
        imports: Mapping[str, Mapping[str, Extern]] | None = None,
    ) -> None:
        self.store = store
        self.module = module
        self.wasi = wasi
        self.scheduler = store.scheduler
        #: Live spawned threads by wasi-threads id.
        self.threads: dict[int, GreenThread] = {}
        self._tids: dict[int, int] = {}  # green thread id -> wasi-threads id
        self.spawned = 0
        #: Spawns refused because the store's max_threads threads were alive; each is also passed to
        #: `on_refused` (the CLI prints a warning), while the program goes on with its -EAGAIN.
        self.refused = 0
        self.on_refused: Callable[[ResourceLimitError], None] | None = None
        #: The first exit (WasiExit) or trap of a spawned thread: it ends the program.
        self.ended_by: BaseException | None = None
        self._next_tid = 1
        self._imports = self._make_imports(imports or {})
        self._chained = self.scheduler.on_thread_exit
        self.scheduler.on_thread_exit = self._on_thread_exit

    def _make_imports(self, extra: Mapping[str, Mapping[str, Extern]]) -> dict[str, dict[str, Extern]]:
        out: dict[str, dict[str, Extern]] = {}
        if self.wasi is not None:
            for mod, names in self.wasi.imports(self.store, self.module).items():
                out.setdefault(mod, {}).update(names)
        for mod, names in extra.items():
            out.setdefault(mod, {}).update(names)
        for imp in self.module.imports:
            if isinstance(imp.type, MemoryType) and imp.name not in out.get(imp.module, {}):
                out.setdefault(imp.module, {})[imp.name] = Memory(self.store, imp.type)
        out.setdefault(THREAD_SPAWN_MODULE, {})[THREAD_SPAWN] = Function(self.store, self.thread_spawn, _SPAWN_TYPE)
        return out

    @property
    def imports(self) -> dict[str, dict[str, Extern]]:
        """The imports every instance of the program gets (the same objects for every thread)."""
        return self._imports

    @property
    def memory(self) -> Memory | None:
        """The memory the program imports (the one all its threads share), if it imports one."""
        for imp in self.module.imports:
            if isinstance(imp.type, MemoryType):
                ext = self._imports.get(imp.module, {}).get(imp.name)
                return ext if isinstance(ext, Memory) else None
        return None

    def instantiate(self) -> Instance:
        """A new instance of the program (the main one first; thread-spawn makes the others)."""
        return Instance(self.store, self.module, self._imports)

    # ---- thread-spawn ----

    def thread_spawn(self, arg: int) -> int:
        """The `wasi.thread-spawn` import: the new thread's id, or a negative value when it cannot start."""
        tid = self._next_tid
        if tid > MAX_TID:
            return SPAWN_FAILED
        try:
            self.scheduler.check_room()
        except ResourceLimitError as e:
            self.refused += 1
            if self.on_refused is not None:
                self.on_refused(e)
            return SPAWN_FAILED
        try:
            instance = self.instantiate()
            start = instance.exports[THREAD_START]
        except (WasmroutinesError, KeyError, MemoryError):
            return SPAWN_FAILED
        if not isinstance(start, Function):
            return SPAWN_FAILED
        self._next_tid = tid + 1
        gt = self.scheduler.spawn(start, tid, arg, name=f"wasi thread {tid}")
        self.threads[tid] = gt
        self._tids[gt.id] = tid
        self.spawned += 1
        return tid

    def _on_thread_exit(self, gt: GreenThread) -> None:
        if self._chained is not None:
            self._chained(gt)
        tid = self._tids.pop(gt.id, None)
        if tid is None:
            return
        del self.threads[tid]
        exc = gt.exception
        if exc is None or isinstance(exc, GreenletExit) or self.ended_by is not None:
            return
        # proc_exit or a trap in any thread ends the program: the main thread raises it wherever it is.
        self.ended_by = exc
        self.scheduler.interrupt(exc)

    # ---- running ----

    def start(self, instance: Instance, entry: str = "_start") -> int:
        """Run the program's `entry` on the main thread; its exit status once any thread ends the program.

        0 when `entry` returns, proc_exit's code from any thread; a trap in any
        thread is raised (as Trap). Threads still running are killed before
        this returns.
        """
        if self.wasi is not None and self.wasi.memory is None:
            mem = dict(instance.exports).get(_MEMORY, self.memory)
            if isinstance(mem, Memory):
                self.wasi.bind(mem)
        func = instance.exports[entry]
        if not isinstance(func, Function):
            raise WasmroutinesError(f"the export {entry!r} is not a function")
        try:
            func()
            return 0
        except WasiExit as e:
            return e.code
        finally:
            self.close()

    def close(self) -> None:
        """Kill the threads still alive (the program has ended) and stop listening to thread exits."""
        if self.scheduler.on_thread_exit == self._on_thread_exit:
            self.scheduler.on_thread_exit = self._chained
        self.threads.clear()
        self._tids.clear()
        self.scheduler.close()
