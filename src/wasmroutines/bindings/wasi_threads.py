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
  on a new green thread: it starts once the spawner blocks or its slice ends,
  as a `go f()` would. The program's first instance is the template of the
  others: the C core makes each from the imports that one was made with
  (checked once), as instantiation makes it (fresh globals and tables,
  segments applied, the start function run on the spawning thread), and the
  thread with it (_Template, wr_spawn.h): natively, with no host call, when
  nothing must hear of one; else from this host function, in one C call. The
  thread gets a Python object only when Python must see it. Failure (no ids
  left, the store's `max_threads` spawned threads alive, the instance cannot
  be made, its start function traps) returns a negative value (-EAGAIN), as
  wasmtime does: wasi-libc's pthread_create then fails with EAGAIN, for the
  program to handle. A refusal over `max_threads` is counted in `refused` and
  reported to `on_refused`.
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
from typing import Any

from greenlet import GreenletExit

from ..core import execution
from ..core._ffi import NULL, ffi, lib
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

_SPAWN_REFUSED: int = lib.WR_SPAWN_REFUSED
_SPAWN_PENDING: int = lib.WR_SPAWN_PENDING

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
    """Makes a thread's instance from the program's first one and starts the thread, in one C call (wr_spawn.h):
    what Instance(store, module, imports) does with the same imports (fresh globals and tables, segments
    applied, the start function run on the spawning thread), a wasm thread from the store's pool, the thread id,
    and (while the scheduler lets the C core spawn: Scheduler._core_spawns) its task queued on the store's
    policy, with no Python object for it until Python must see it (Scheduler._adopt_thread).
    """

    __slots__ = ("size", "spawner", "entry_type", "host_start", "out")

    def __init__(self, instance: Instance, entry: int, entry_type: FuncType) -> None:
        store = instance.store
        self.size = instance.module.size
        self.entry_type = entry_type  # wasi_thread_start's (entry: its export index)
        self.spawner = lib.wr_api_spawner_new(instance._ptr, entry, self.size)  # the store's: freed with it
        if self.spawner == NULL:
            raise MemoryError("cannot make a thread spawner")
        # An imported start function is the same in every instance; a host one is called as Instance calls it.
        start = lib.wr_api_instance_start(instance._ptr)
        host = Function._from_ptr(store, start) if start != NULL else None
        self.host_start = host if host is not None and host._host() is not None else None
        self.out = ffi.new("wr_thread **")

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
        self._threads: dict[int, GreenThread] = {}  # by wasi-threads id: the ones Python has seen (threads)
        self._tids: dict[int, int] = {}  # green thread id -> wasi-threads id
        self._spawned = 0  # without a template (the C spawner counts its own)
        #: Spawns refused because the store's max_threads threads were alive; each is also passed to
        #: `on_refused` (the CLI prints a warning), while the program goes on with its -EAGAIN.
        self.refused = 0
        self.on_refused: Callable[[ResourceLimitError], None] | None = None
        #: The first exit (WasiExit) or trap of a spawned thread: it ends the program.
        self.ended_by: BaseException | None = None
        self._tid_count = 1  # the next id without a template (the C spawner counts its own: _next_tid)
        self._imports = self._make_imports(imports or {})
        self._template: _Template | None = None  # made by the first instantiate()
        self._templated = False
        self._chained = self.scheduler.on_thread_exit
        # Alone, the hook needs no call for a thread that returns unseen: the C core may end those itself.
        self.scheduler._exit_hook_quiet = self._on_thread_exit if self._chained is None else None
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
        self._spawn_func = Function(self.store, self.thread_spawn, _SPAWN_TYPE)
        out.setdefault(THREAD_SPAWN_MODULE, {})[THREAD_SPAWN] = self._spawn_func
        return out

    @property
    def _next_tid(self) -> int:
        """The thread id the next spawn gets."""
        t = self._template
        return int(lib.wr_api_spawner_next_tid(t.spawner)) if t is not None else self._tid_count

    @_next_tid.setter
    def _next_tid(self, tid: int) -> None:
        t = self._template
        if t is not None:
            lib.wr_api_spawner_set_next_tid(t.spawner, tid)
        else:
            self._tid_count = tid

    @property
    def spawned(self) -> int:
        """Threads spawned so far."""
        t = self._template
        return self._spawned + (int(lib.wr_api_spawner_spawned(t.spawner)) if t is not None else 0)

    @property
    def threads(self) -> dict[int, GreenThread]:
        """Live spawned threads by wasi-threads id (taking over any the C core runs on its own)."""
        self.scheduler._adopt_owned()
        return self._threads

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
            self._template = template = _Template.of(instance)
            if template is not None:
                self.scheduler._add_spawner(template.spawner, self._adopt)
                # thread-spawn in C too, with no host call, while the scheduler allows it (wr_spawn_native).
                spawn = self._imports.get(THREAD_SPAWN_MODULE, {}).get(THREAD_SPAWN)
                if spawn is self._spawn_func:
                    lib.wr_api_spawner_attach(template.spawner, spawn._ptr)
        return instance

    # ---- thread-spawn ----

    def thread_spawn(self, arg: int) -> int:
        """The `wasi.thread-spawn` import: the new thread's id, or a negative value when it cannot start."""
        template = self._template
        if template is None:
            return self._spawn_instance(arg)
        store = self.store
        sched = self.scheduler
        own = sched._core_spawns
        caller = sched.current._wr_thread
        if caller is None:  # called from Python, not from wasm: the start functions run on the caller's thread
            caller = sched._thread_of(sched.current, store)
        tid = int(lib.wr_api_spawn(template.spawner, caller, arg & _M32, own, template.out))
        if tid == _SPAWN_PENDING:
            tid = self._spawn_pending(template, caller, own)
        # What the start function's call leaves to Python, as after any wr_exec (Scheduler._exec).
        if sched._nwaiting or (sched._cswitch and lib.wr_api_store_has_news(store._native.ptr)):
            sched._drain()
        if tid > 0:
            if not own:
                t = template.out[0]
                info = sched._spawn_info
                lib.wr_api_thread_spawn_info(t, info)
                sched._add(self._adopt(t, info), counted=True)
            return tid
        if tid == _SPAWN_REFUSED:
            self._refuse()
        return SPAWN_FAILED

    def _drop_template(self) -> None:
        """Spawn every thread from now on through a whole Instance, as before templates (tests compare them)."""
        t = self._template
        if t is not None:
            self._spawned += int(lib.wr_api_spawner_spawned(t.spawner))
            lib.wr_api_spawner_attach(NULL, self._spawn_func._ptr)
            self._template = None

    def _spawn_pending(self, template: _Template, caller: Any, own: bool) -> int:
        """The new instance's start function stopped for Python (WR_SPAWN_PENDING): serve it to its end as
        Instance does (a failure fails the spawn), then start the thread."""
        store = self.store
        status = int(lib.wr_api_spawn_pending_status(caller))
        try:
            if status < 0:
                assert template.host_start is not None
                template.host_start.call_bits([])
            else:
                store.scheduler._calls += 1  # drive() counts the call out
                execution.drive(store, caller, status, 0)
        except (WasmroutinesError, KeyError, MemoryError):
            lib.wr_api_spawn_abandon(caller)
            return SPAWN_FAILED
        except BaseException:
            lib.wr_api_spawn_abandon(caller)
            raise
        return int(
            lib.wr_api_spawn_finish(template.spawner, caller, store.scheduler._core_spawns and own, template.out)
        )

    def _refuse(self) -> None:
        """A spawn over the store's max_threads: counted and reported; the guest gets -EAGAIN."""
        self.refused += 1
        if self.on_refused is not None:
            self.on_refused(self.scheduler._room_error())

    def _adopt(self, t: Any, info: Any) -> GreenThread:
        """The GreenThread of a thread the C spawner made (wr_api_spawn): its wasm thread, task and call set up."""
        tid = int(info.tid)
        template = self._template
        assert template is not None
        start = Function._unlisted(self.store, info.entry, template.entry_type)
        gt = GreenThread(
            self.scheduler, int(info.host_id), f"wasi thread {tid}", start, (tid, int(info.arg)), True, info.task
        )
        gt._wr_thread = t
        gt._begun = True
        self._threads[tid] = gt
        self._tids[gt.id] = tid
        return gt

    def _spawn_instance(self, arg: int) -> int:
        """thread-spawn without a template: a whole Instance, as before templates (a program without a
        `wasi_thread_start(i32, i32)` fails here as it always did)."""
        tid = self._next_tid
        if tid > MAX_TID:
            return SPAWN_FAILED
        try:
            self.scheduler.check_room()
        except ResourceLimitError:
            self._refuse()
            return SPAWN_FAILED
        try:
            start = self.instantiate().exports[THREAD_START]
        except (WasmroutinesError, KeyError, MemoryError):
            return SPAWN_FAILED
        if not isinstance(start, Function):
            return SPAWN_FAILED
        try:
            gt = self.scheduler.spawn(start, tid, arg, name=f"wasi thread {tid}")
        except MemoryError:  # no memory for the thread's stacks: the guest's pthread_create fails, EAGAIN
            return SPAWN_FAILED
        self._next_tid = tid + 1
        self._threads[tid] = gt
        self._tids[gt.id] = tid
        self._spawned += 1
        return tid

    def _on_thread_exit(self, gt: GreenThread) -> None:
        if self._chained is not None:
            self._chained(gt)
        tid = self._tids.pop(gt.id, None)
        if tid is None:
            return
        del self._threads[tid]
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
        func = self._entry(instance, entry)
        try:
            func()
            return 0
        except WasiExit as e:
            return e.code
        finally:
            self.close()

    def _entry(self, instance: Instance, entry: str) -> Function:
        """The program's export `entry`, its WASI environment bound to the program's memory first."""
        if self.wasi is not None and self.wasi.memory is None:
            mem = dict(instance.exports).get(_MEMORY, self.memory)
            if isinstance(mem, Memory):
                self.wasi.bind(mem)
        func = instance.exports[entry]
        if not isinstance(func, Function):
            raise WasmroutinesError(f"the export {entry!r} is not a function")
        return func

    async def start_async(self, instance: Instance, entry: str = "_start") -> int:
        """`start` on the running asyncio loop (core/aio.py): `entry` runs as a green thread of its own and every
        thread runs between the loop's other callbacks. Cancelled, every thread of the program is killed."""
        func = self._entry(instance, entry)
        try:
            from ..core import aio  # asyncio is imported on first use

            await aio.call_async(func)
            return 0
        except WasiExit as e:
            return e.code
        finally:
            self.close()

    def close(self) -> None:
        """Kill the threads still alive (the program has ended) and stop listening to thread exits."""
        sched = self.scheduler
        if sched.on_thread_exit == self._on_thread_exit:
            sched._exit_hook_quiet = None
            sched.on_thread_exit = self._chained
        self._threads.clear()
        self._tids.clear()
        sched.close()
