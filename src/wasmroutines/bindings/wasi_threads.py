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
  or its slice ends, as a `go f()` would. The program's first instance is the
  template of the others: the C core makes each from the imports that one was
  made with (checked once), as instantiation makes it (fresh globals and
  tables, segments applied, the start function run), with no Python objects
  but the thread's entry point (_Template). Failure (no ids left, the store's
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

from ..core import execution
from ..core._ffi import NULL, ffi, lib, raise_error
from ..core.errors import ResourceLimitError, WasmroutinesError
from ..core.extern import Extern
from ..core.function import Function
from ..core.greenthread import GreenThread
from ..core.instance import Instance
from ..core.memory import Memory
from ..core.module import Module
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
_START_PARAMS = (ValType.I32, ValType.I32)
_M32 = 0xFFFF_FFFF


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


class _Template:
    """Makes a thread's instance from the program's first one: what Instance(store, module, imports) does with
    the same imports, in one C call (wr_api_instance_new_like: fresh globals and tables, segments applied, as
    instantiation does), then the start function, as Instance runs it. Its product is the thread's
    `wasi_thread_start`, a Function kept out of the store's registry: no Instance, no exports wrapped.
    """

    __slots__ = ("_store", "_size", "_like", "_entry", "_entry_type", "_host_start", "_out", "_err")

    def __init__(self, instance: Instance, entry: int, entry_type: FuncType) -> None:
        self._store = instance.store
        self._size = instance.module.size
        self._like = instance._ptr
        self._entry = entry  # the export index of wasi_thread_start
        self._entry_type = entry_type
        # An imported start function is the same in every instance; a host one is called as Instance calls it.
        start = lib.wr_api_instance_start(instance._ptr)
        host = Function._from_ptr(self._store, start) if start != NULL else None
        self._host_start = host if host is not None and host._host() is not None else None
        self._out = ffi.new("wr_instance **")
        self._err = ffi.new("wr_error *")

    @staticmethod
    def of(instance: Instance) -> _Template | None:
        """The template for `instance`'s program, or None when it has no `wasi_thread_start(i32, i32)`
        (thread-spawn then instantiates and fails as it always did)."""
        for i, exp in enumerate(instance.module.exports):
            if exp.name == THREAD_START:
                t = exp.type
                if isinstance(t, FuncType) and t.params == _START_PARAMS:
                    return _Template(instance, i, t)
                return None
        return None

    def entry(self) -> Function:
        """A new instance's `wasi_thread_start`; raises what Instance would (a trap in a segment or the start
        function, a store limit)."""
        store = self._store
        if store.max_module_size is not None and self._size > store.max_module_size:
            raise ResourceLimitError("module over the store's max_module_size", "max_module_size")
        rc = lib.wr_api_instance_new_like(self._like, self._out, self._err)
        if rc != 0:
            raise_error(rc, self._err)
        inst = self._out[0]
        start = lib.wr_api_instance_start(inst)
        if start != NULL:
            if self._host_start is not None:
                self._host_start.call_bits([])
            else:
                execution.call(store, start, (), 0)
        func = lib.wr_api_instance_export_func(inst, self._entry)
        return Function._unlisted(store, func, self._entry_type)


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
        self._template: _Template | None = None  # made by the first instantiate()
        self._templated = False
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
        """A new instance of the program (the main one first; thread-spawn makes the others from it)."""
        instance = Instance(self.store, self.module, self._imports)
        if not self._templated:
            self._templated = True
            self._template = _Template.of(instance)
        return instance

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
        template = self._template
        try:
            if template is not None:
                start = template.entry()
            else:
                start = self.instantiate().exports[THREAD_START]
        except (WasmroutinesError, KeyError, MemoryError):
            return SPAWN_FAILED
        if not isinstance(start, Function):
            return SPAWN_FAILED
        try:
            if template is not None:  # (i32, i32) known: the slots directly
                gt = self.scheduler.spawn_bits(start, (tid, arg & _M32), name=f"wasi thread {tid}")
            else:
                gt = self.scheduler.spawn(start, tid, arg, name=f"wasi thread {tid}")
        except MemoryError:  # no memory for the thread's stacks: the guest's pthread_create fails, EAGAIN
            return SPAWN_FAILED
        self._next_tid = tid + 1
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
