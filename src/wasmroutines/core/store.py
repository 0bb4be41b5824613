"""The Store: owner of every runtime object (functions, memories, tables, globals, instances).

A C store frees all its objects at once, so Python keeps the store alive while
any wrapper of one of its objects lives (each wrapper holds its Store). The
store in turn keeps alive the modules instantiated in it, since its instances
point into them, and frees its wasm thread before itself.

Registries here map C back to Python: host functions by host_id, wrappers by C
pointer (weakly, so wrappers do not keep themselves alive through the store),
and externref values by handle.

`Store.close()` (or leaving `with Store() as store:`) ends the store's threads
and frees its C resources at once; every wrapper reaches its C object through
`_ptr` (StoreObject), which raises StoreClosedError from then on.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from greenlet import GreenletExit

from ._externtype import NO_TYPE as _NO_TYPE
from ._ffi import ffi, lib
from .errors import RefTypeError, StackExhausted, StoreClosedError
from .greenthread import GreenThread
from .scheduler import Scheduler
from .types import AnyValType, GlobalType, HeapType, RefType, TableType, ValType

if TYPE_CHECKING:
    from .clock import Clock
    from .module import Module
    from .policy import Policy
    from .types import FuncType

__all__ = ["Store", "StoreObject"]

_W = TypeVar("_W")
_GT = TypeVar("_GT", GlobalType, TableType)

# The budget of the store's own wr_thread until the scheduler first sets one (it does before every slice).
SLICE = 1 << 24
#: Handles made before the first automatic collection of externref handles, and at least between two (gc()).
_GC_MIN = 1024


class _Native:
    """The C resources of a store, shared with its finalizer (which must not hold the Store).

    `ptr` is None once the store is freed or closed: nothing may call into the C store then.
    """

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr
        self.thread: Any = None
        self.modules: list[Module] = []
        #: Memory.buffer views alive (memory.py): they point into the store's memories, so a closed store with
        #: one alive keeps its C store (in `_held`, `ptr` being None) until the last one goes.
        self.buffers = 0
        self._held: Any = None

    def _free_threads(self) -> None:
        # Threads first: freeing one takes it out of futex queues that live in the store's memories. The green
        # threads' wr_threads are the store's pool's (wr_spawn.h).
        ptr = self.ptr if self.ptr is not None else self._held
        if ptr is not None:
            lib.wr_api_store_free_threads(ptr)
        if self.thread is not None:
            lib.wr_thread_free(self.thread)
            self.thread = None

    def free(self) -> None:
        self._free_threads()
        ptr = self.ptr if self.ptr is not None else self._held
        self.ptr = self._held = None
        if ptr is not None:
            lib.wr_store_free(ptr)
        self.modules.clear()

    def close(self) -> None:
        """Store.close(): free everything now, but for the store's memories while a buffer views one."""
        if not self.buffers:
            self.free()
            return
        self._free_threads()
        if self.ptr is not None:
            self._held, self.ptr = self.ptr, None

    def buffer_released(self) -> None:
        """A Memory.buffer view went away (the destructor of its base pointer, memory.py)."""
        self.buffers -= 1
        if not self.buffers and self._held is not None:
            self.free()


#: Spawned threads alive at once a store allows unless told otherwise: room for a 10,000-connection server
#: and the 100,000-idle-thread benchmark, and a bound (a few KiB each) on a program that spawns forever.
DEFAULT_MAX_THREADS = 100_000

#: The core's defaults (wr_store.c) for the frame stack (max_call_depth frames) and value stack (stack_slots).
DEFAULT_CALL_DEPTH = 20_000
DEFAULT_STACK_SLOTS = 1 << 20
#: A frame on a thread's frame stack: wr_frame (wr_exec.h), three pointers (chunk_bytes in wr_exec.c asserts it);
#: a value-stack slot is 8 bytes. The C core rounds each stack up to whole pages.
FRAME_BYTES = 3 * ffi.sizeof("void *")
SLOT_BYTES = 8
STACK_PAGE = 4096
#: What a thread's two stacks may take together unless told otherwise: far above what the default depth and
#: slots need (about 8.5 MiB), and a bound on a recursion let loose by a big max_call_depth or stack_slots.
DEFAULT_MAX_STACK_BYTES = 64 << 20
#: The least max_stack_bytes: a page for each stack.
MIN_STACK_BYTES = 2 * STACK_PAGE


def stack_sizes(depth: int, slots: int, max_bytes: int | None) -> tuple[int, int]:
    """The frames and slots a thread's stacks get for `depth` frames and `slots` slots under `max_bytes`.

    When the two (each rounded up to pages) fit, they are kept. Otherwise the smaller of the two keeps its
    size up to half the bytes and the larger gets the rest, so raising one limit never shrinks the other
    below what it had, unless both are beyond half.
    """
    if max_bytes is None:
        return depth, slots
    frame_pages = -(-depth * FRAME_BYTES // STACK_PAGE)
    slot_pages = -(-slots * SLOT_BYTES // STACK_PAGE)
    budget = max_bytes // STACK_PAGE
    if frame_pages + slot_pages <= budget:
        return depth, slots
    if frame_pages <= slot_pages:
        frame_pages = min(frame_pages, budget // 2)
        slot_pages = budget - frame_pages
    else:
        slot_pages = min(slot_pages, budget // 2)
        frame_pages = budget - slot_pages
    return min(depth, frame_pages * STACK_PAGE // FRAME_BYTES), min(slots, slot_pages * STACK_PAGE // SLOT_BYTES)


class HostFunc:
    """A Python callable registered as a host function, with its type."""

    __slots__ = ("func", "type", "nargs", "i32", "void", "coroutine_function", "awaits")

    def __init__(self, func: Callable[..., Any], type: FuncType) -> None:
        self.func = func
        self.type = type
        #: The `async def` function behind `func` (aio.awaiting), which a loop turn may call without `func`: a
        #: thread with no greenlet then parks in it without one (aio.LoopClient._host_call_inline).
        self.coroutine_function: Callable[..., Any] | None = getattr(func, "_coroutine_function", None)
        #: What a thread parked in a call of it is blocked on, in words (GreenThread.blocked_on).
        self.awaits = f"await {getattr(self.coroutine_function, '__qualname__', None) or 'coroutine'}"
        #: What the call driver reads first (execution.py): the argument slots, and whether every param is an
        #: i32 and the results one i32 or none (most of WASI), which it converts without the general path.
        self.nargs = sum(t.slots for t in type.params)
        self.i32 = all(t is ValType.I32 for t in type.params) and type.results in ((), (ValType.I32,))
        self.void = not type.results


def closed_error(what: str) -> StoreClosedError:
    return StoreClosedError(f"the store of this {what} is closed")


class StoreObject:
    """Base of the wrappers of a store's C objects (Function, Memory, Table, Global, Instance).

    `_ptr` is the C object while the store is open and raises StoreClosedError once it is closed, so no
    use of a wrapper can reach freed memory; `_cptr` is the raw pointer (identity, hashing, repr).
    """

    _cptr: Any
    _store: Store

    @property
    def _ptr(self) -> Any:
        if self._store._native.ptr is None:
            raise closed_error(type(self).__name__)
        return self._cptr

    @_ptr.setter
    def _ptr(self, ptr: Any) -> None:
        self._cptr = ptr

    @property
    def store(self) -> Store:
        return self._store


def _check_range(name: str, value: int | None, maximum: int | None) -> None:
    """A store limit must be None or an integer in [0, maximum] (the C core's field): ValueError otherwise."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative: {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}: {value}")


class Store:
    """Owns runtime objects; create one per independent set of instances.

    Limits; every error raised for one names it in `.limit` (the keyword):
    - `max_memory_pages` caps every memory (default 65536: 4 GiB, all a
      32-bit memory can address; a 64-bit memory (memory64) may have up to
      2^30 pages, 64 TiB, when this allows), `max_table_elements` every table (default 10,000,000): over one at
      creation, ResourceLimitError; memory.grow and table.grow past it fail
      as wasm says (-1).
    - `max_gc_bytes` caps the GC heap: the bytes of all the store's structs,
      arrays and exception objects (default 1 GiB); an allocation past it
      that a collection cannot make room for traps ("GC heap limit
      exceeded"); `gc_heap_bytes` tells what they take.
    - `max_call_depth` caps the wasm frames of a thread (default 20,000) and
      `stack_slots` its value stack (default 1 Mi slots): a call too deep
      traps with StackExhausted.
    - `max_stack_bytes` caps the bytes of a thread's frame stack and value
      stack together (default DEFAULT_MAX_STACK_BYTES, 64 MiB; rounded down
      to 4 KiB pages, at least MIN_STACK_BYTES; None: the two counts alone).
      When max_call_depth frames (FRAME_BYTES each) and stack_slots slots
      (8 bytes each) need more, the smaller stack keeps its size up to half
      of it and the larger gets the rest; a call that then does not fit
      traps with StackExhausted, limit "max_stack_bytes". `stack_bytes`
      tells what each thread's stacks take once they outgrow the few
      frames and slots a thread starts with (reserved then, touched as calls
      go deep; wr_exec.h).
    - `max_module_size` (bytes; default none) refuses bigger modules at
      instantiation (ResourceLimitError).
    - `max_threads`: spawned green threads alive at once (default
      DEFAULT_MAX_THREADS, 100,000: a program spawning without end stops there
      rather than at the machine's memory; None: no limit); spawning more
      raises ResourceLimitError (wasi-threads' thread-spawn returns -EAGAIN to
      the guest instead).
    - `fuel`: instructions all the store's threads may run together (default
      None: unmetered); once spent, the running thread stops with OutOfFuel,
      and so does the main call (or join) wherever it waits. Also a property
      (read what is left, add more).
    - `max_wall_time`: seconds of wall-clock time, counted from when it is set
      (here: the store's creation; set the property again to restart it);
      checked at every time-slice end, thread switch and idle wait, it stops
      the running thread and the main call with WallTimeExceeded.
    Memory, table, call-depth and stack limits apply to objects created
    after they are set (0 or None keeps the core's default); max_threads,
    fuel and max_wall_time are properties, changeable at any time.

    Green threads: `policy` picks which runnable thread runs next and for how
    long (default FairPolicy; SeededPolicy(seed) for a reproducible schedule),
    `clock` what time it is for timeouts and sleeps (default MonotonicClock;
    with a seeded policy, a DeterministicClock, as `run --seed` has). See
    `scheduler`.

    `close()` (or the end of a `with Store() as store:` block) ends the
    store's threads and frees its C resources at once; see there.
    """

    def __init__(
        self,
        *,
        max_memory_pages: int | None = None,
        max_table_elements: int | None = None,
        max_gc_bytes: int | None = None,
        max_call_depth: int | None = None,
        stack_slots: int | None = None,
        max_stack_bytes: int | None = DEFAULT_MAX_STACK_BYTES,
        max_module_size: int | None = None,
        max_threads: int | None = DEFAULT_MAX_THREADS,
        fuel: int | None = None,
        max_wall_time: float | None = None,
        policy: Policy | None = None,
        clock: Clock | None = None,
    ) -> None:
        ptr = lib.wr_store_new()
        if ptr == ffi.NULL:
            raise MemoryError("cannot create a store")
        self._native = _Native(ptr)
        self._closed = False
        self._finalizer = weakref.finalize(self, self._native.free)
        # At interpreter exit the process frees everything anyway; freeing here
        # could pull memory from under wrappers still reachable from exit hooks.
        self._finalizer.atexit = False
        # Kept to name the limit when a memory or table made from Python goes over it (memory.py, table.py).
        self._max_memory_pages = max_memory_pages or None
        self._max_table_elements = max_table_elements or None
        # One rule for every integer limit: out of range is a ValueError naming it, never an OverflowError.
        _check_range("max_memory_pages", max_memory_pages, 2**64 - 1)
        _check_range("max_table_elements", max_table_elements, 2**32 - 1)
        _check_range("max_gc_bytes", max_gc_bytes, 2**64 - 1)
        _check_range("max_call_depth", max_call_depth, 2**32 - 1)
        _check_range("stack_slots", stack_slots, 2**32 - 1)
        _check_range("max_stack_bytes", max_stack_bytes, 2**63 - 1)
        if max_stack_bytes is not None and max_stack_bytes < MIN_STACK_BYTES:
            raise ValueError(
                f"max_stack_bytes must be at least {MIN_STACK_BYTES:,} (a page per stack): {max_stack_bytes}"
            )
        # The byte limit is met by giving the core smaller counts; a stack cut short by it is named after it.
        depth, slots = max_call_depth or DEFAULT_CALL_DEPTH, stack_slots or DEFAULT_STACK_SLOTS
        self._depth, self._slots = stack_sizes(depth, slots, max_stack_bytes)
        self._max_stack_bytes = max_stack_bytes
        #: StackExhausted limits that max_stack_bytes cut short, renamed after it (_name_stack_limit).
        self._cut_by_bytes = {
            name for name, cut in (("max_call_depth", self._depth < depth), ("stack_slots", self._slots < slots)) if cut
        }
        lib.wr_api_store_set_limits(ptr, max_memory_pages or 0, max_table_elements or 0, self._depth, self._slots)
        lib.wr_api_store_set_gc_limit(ptr, max_gc_bytes or 0)
        self._hosts: dict[int, HostFunc] = {}
        self._wrappers: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        # Host objects wasm was given (externref, anyref): handle -> object, id(obj) -> handle, handles free
        # for reuse; collected by gc() (automatically at safe points once `_gc_due`: see _extern_handle).
        self._extern_objects: dict[int, object] = {}
        self._extern_handles: dict[int, int] = {}
        self._extern_free: list[int] = []
        self._extern_made = 0  # handles made since the last collection
        self._gc_threshold = _GC_MIN
        self._gc_due = False
        self._fuel_enabled = False
        self._max_module_size: int | None = None
        self.max_module_size = max_module_size
        self._on_yield: Callable[[], None] | None = None
        #: Runs this store's green threads (one OS thread, one greenlet per wasm thread).
        self.scheduler = Scheduler(self._native, policy, clock)
        self.max_threads = max_threads
        if fuel is not None:
            self.fuel = fuel
        if max_wall_time is not None:
            self.max_wall_time = max_wall_time

    @property
    def on_yield(self) -> Callable[[], None] | None:
        """Called at every time-slice end while wasm runs on this store; it may raise to abandon the call (the
        exception propagates to the caller). While set, every slice end comes back to Python."""
        return self._on_yield

    @on_yield.setter
    def on_yield(self, hook: Callable[[], None] | None) -> None:
        self._on_yield = hook
        self.scheduler._yield_hook = hook is not None
        self.scheduler._sync_core()

    # ---- limits kept in Python ----

    @property
    def max_module_size(self) -> int | None:
        """Instance refuses modules bigger than this (bytes; None: no limit); Module(max_size=) refuses them at
        load. The C core's wasi-threads spawns keep to it too (wr_spawn.c)."""
        return self._max_module_size

    @max_module_size.setter
    def max_module_size(self, size: int | None) -> None:
        self._max_module_size = size
        if self._native.ptr is not None:
            # The core's 0 is no limit; no module is 1 byte or less (a negative or 0 limit refuses them all).
            lib.wr_api_store_set_max_module_size(self._native.ptr, 0 if size is None else max(1, min(size, 2**64 - 1)))

    @property
    def gc_heap_bytes(self) -> int:
        """The bytes the store's GC structs and arrays and its exception objects take now (headers included;
        max_gc_bytes caps it)."""
        return int(lib.wr_api_store_gc_bytes(self._native.ptr))

    def _check_types(self, types: Iterable[AnyValType]) -> None:
        """RefTypeError for a type an object of this store cannot have (a function's, a global's, a table's, a
        tag's): a reference to a type index the store does not have, where the C core would refuse the object."""
        ptr = self._ptr
        for t in types:
            if not lib.wr_api_valtype_ok(ptr, t.code):
                raise RefTypeError(f"{t}: this store has no type {getattr(t, 'heap', t)}")

    def _module_type_id(self, module_type: tuple[Any, int]) -> int:
        """The store's id of a module's type (FuncType.module_type), the module's types interned first."""
        module, index = module_type  # (the module's C object)
        type_id = int(lib.wr_api_store_module_type(self._ptr, module, index))
        if type_id == _NO_TYPE:
            raise MemoryError(f"cannot add a module's types to the store (type {index})")
        return type_id

    def _of_store(self, type: _GT) -> _GT:
        """A global's or table's type read from a module, its concrete reference type naming the store's type for
        the module's (the module's types added to the store first)."""
        t = type.type
        heap = getattr(t, "heap", None)
        if type.module is None or heap is None or isinstance(heap, HeapType):
            return type
        return dataclasses.replace(
            type, type=RefType(self._module_type_id((type.module, heap)), t.nullable), module=None
        )

    def type_kind(self, type_id: int) -> int:
        """What the store's type `type_id` (a RefType's concrete heap type in an object's type: a function's, a
        global's, a table's, a tag's) defines: 0 a function, 1 a struct, 2 an array type."""
        return int(lib.wr_api_type_kind(self._ptr, type_id))

    @property
    def gc_collections(self) -> int:
        """How many collection cycles of structs, arrays and exceptions completed (gc(), and those wasm's
        allocations started and ran step by step)."""
        return int(lib.wr_api_gc_collections(self._native.ptr))

    @property
    def gc_steps(self) -> int:
        """How many steps of the collector wasm's allocations ran (a cycle's start, or some of its marking or
        sweeping: docs/interpreter.md, "GC roots")."""
        return int(lib.wr_api_gc_steps(self._native.ptr))

    @property
    def gc_max_pause_ns(self) -> int:
        """The longest time one allocation in wasm spent in the collector, in nanoseconds (a measure only: no
        decision reads the clock). Set it to 0 to start measuring again."""
        return int(lib.wr_api_gc_max_pause_ns(self._native.ptr))

    @gc_max_pause_ns.setter
    def gc_max_pause_ns(self, value: int) -> None:
        if value != 0:
            raise ValueError("gc_max_pause_ns can only be reset to 0")
        lib.wr_api_gc_reset_max_pause(self._native.ptr)

    @property
    def max_threads(self) -> int | None:
        """Spawned green threads alive at once (None: no limit); spawn over it raises ResourceLimitError."""
        return self.scheduler.max_threads

    @max_threads.setter
    def max_threads(self, n: int | None) -> None:
        _check_range("max_threads", n, None)
        self.scheduler.max_threads = n

    @property
    def max_wall_time(self) -> float | None:
        """The wall-clock limit in seconds, counted from when it was set (None: none); see the class docstring."""
        return self.scheduler.wall_time_limit

    @max_wall_time.setter
    def max_wall_time(self, seconds: float | None) -> None:
        self.scheduler.set_wall_time(seconds)

    @property
    def max_stack_bytes(self) -> int | None:
        """The byte limit of a thread's frame and value stacks together (None: none); see the class docstring."""
        return self._max_stack_bytes

    @property
    def stack_bytes(self) -> int:
        """The bytes each wasm thread's frame and value stacks take (at most max_stack_bytes)."""
        frames = -(-self._depth * FRAME_BYTES // STACK_PAGE) * STACK_PAGE
        slots = -(-self._slots * SLOT_BYTES // STACK_PAGE) * STACK_PAGE
        return frames + slots

    def _name_stack_limit(self, e: StackExhausted) -> None:
        """A stack exhausted because max_stack_bytes cut its frames or slots short names max_stack_bytes."""
        if e.limit in self._cut_by_bytes:
            e.limit = "max_stack_bytes"

    # ---- green threads ----

    @property
    def threads(self) -> list[GreenThread]:
        """The live green threads: main (id 0, the calls made from Python) and the spawned ones not done."""
        return self.scheduler.threads

    def set_policy(self, policy: Policy) -> None:
        """Choose how this store's green threads are scheduled from now on (see Scheduler.set_policy)."""
        self.scheduler.set_policy(policy)

    # ---- closing ----

    def close(self) -> None:
        """End the store's threads and free its C resources (threads' stacks, memories, tables) now.

        Every spawned green thread still alive is killed (its wasm call unwound);
        `join()` on it then raises StoreClosedError. From then on every object
        of the store (Instance, Function, Memory, Table, Global, Exports' items)
        raises StoreClosedError when used, and so does making one in it or
        instantiating a module in it (the Module itself stays usable in other
        stores). A `Memory.buffer` view taken before stays valid while it lives:
        the store's memories are freed when the last such view goes. Closing a
        closed store does nothing. Call it from the OS thread and the root
        green thread that own the store, outside any call into it (RuntimeError
        otherwise, the store left open).
        """
        native = self._native
        if self._closed:
            return
        t = native.thread
        if t is not None and native.ptr is not None and lib.wr_api_thread_depth(t):
            raise RuntimeError("a store cannot be closed while a call into it is running (from a host function)")
        alive = self.scheduler.alive
        self.scheduler.close()  # raises (the store left open) from a green thread or another OS thread
        self._closed = True
        for gt in alive:
            if isinstance(gt.exception, GreenletExit):
                gt.exception = StoreClosedError(f"thread {gt.id} was ended by Store.close()")
        native.close()
        # The Python objects wasm could reach (host functions' callables, externref values) go too.
        self._hosts.clear()
        self._extern_objects.clear()
        self._extern_handles.clear()
        self._extern_free.clear()

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- C handles ----

    @property
    def _ptr(self) -> Any:
        ptr = self._native.ptr
        if ptr is None:
            raise StoreClosedError("the store is closed")
        return ptr

    def _thread(self) -> Any:
        """The wasm thread calls from Python run on (created on first use)."""
        t = self._native.thread
        if t is None:
            t = lib.wr_api_host_thread_new(self._ptr)
            if t == ffi.NULL:
                raise MemoryError("cannot create a wasm thread")
            lib.wr_api_thread_set_budget(t, SLICE)
            self._native.thread = t
        return t

    def _keep_module(self, module: Module) -> None:
        # Instances point into their module: it must outlive the C store.
        if not any(m is module for m in self._native.modules):
            self._native.modules.append(module)

    # ---- fuel ----

    @property
    def fuel(self) -> int | None:
        """Fuel left: the instructions all this store's threads may still run together, or None when unlimited.

        Setting it starts metering (None stops it). Every green thread of the
        store draws on the one pool; once it is spent, whichever thread runs
        next stops with OutOfFuel (setting more fuel lets later calls run).
        """
        ptr = self._ptr
        if not self._fuel_enabled:
            return None
        return max(0, int(lib.wr_api_store_fuel(ptr)))

    @fuel.setter
    def fuel(self, fuel: int | None) -> None:
        _check_range("fuel", fuel, 2**63 - 1)
        ptr = self._ptr
        self._fuel_enabled = fuel is not None
        lib.wr_api_store_set_fuel(ptr, 0 if fuel is None else 1, fuel or 0)

    # ---- host functions ----

    def _register_host(self, func: Callable[..., Any], type: FuncType) -> int:
        host_id = len(self._hosts) + 1
        self._hosts[host_id] = HostFunc(func, type)
        return host_id

    # ---- wrappers by C pointer ----

    def _wrapper(self, addr: int, cls: type[_W]) -> _W | None:
        wrapper = self._wrappers.get(addr)
        return wrapper if isinstance(wrapper, cls) else None

    def _remember(self, addr: int, wrapper: Any) -> None:
        self._wrappers[addr] = wrapper

    # ---- externref values ----

    def _extern_handle(self, obj: object) -> int:
        """The slot standing for `obj` in wasm: its handle n (1, 2, ...) as (n << 2) | 2, the tag that tells a
        host object from an i31 or a GC object in the any hierarchy (docs/interpreter.md). The handle keeps
        `obj` alive until a collection finds no root holding it (gc()).

        Never collects by itself: the slot it returns is in no root until the caller writes it, so making
        handles only marks a collection due (once as many were made since the last one as it left alive, and
        at least _GC_MIN), which the call driver runs at its safe points (_gc_safe_point)."""
        handle = self._extern_handles.get(id(obj))
        if handle is None:
            free = self._extern_free
            handle = free.pop() if free else len(self._extern_objects) + 1
            self._extern_objects[handle] = obj
            self._extern_handles[id(obj)] = handle
            self._extern_made += 1
            if self._extern_made >= self._gc_threshold:
                self._gc_due = True
        return handle << 2 | 2

    def _extern_object(self, slot: int) -> object:
        return self._extern_objects[slot >> 2]

    # ---- collecting externref handles ----

    def gc(self) -> int:
        """Collect: free the GC structs and arrays and the exception objects, and drop the host objects given
        to wasm (as externref or anyref), that neither wasm nor the host can reach any more.

        Roots are exact (docs/interpreter.md, "GC roots"): every green thread's frames (through the
        stack maps) and exceptions in flight, globals, tables and passive element segments of the store, and the
        structs, arrays and exceptions the host holds (a StructRef, an ArrayRef or a WasmException alive);
        marking traces through the structs' and arrays' reference fields and the exceptions' payloads. A host
        object whose handle nothing reachable holds is released (if nothing else holds it, Python frees it);
        given to wasm again later, it gets a new handle. The store
        also collects by itself: host handles at safe points of the call driver, once as many handles were made
        since the last collection as it left alive (amortized O(1) per handle); structs, arrays and exceptions
        when wasm allocates one (a struct.new, a catch_ref that keeps the exception) with the GC heap over twice
        what the last collection left (at least 1 MiB), or past max_gc_bytes (gc_heap_bytes).

        Call it from host functions or between calls, from the OS thread that owns the store (ForeignThreadError
        from another while the store runs green threads). Returns how many handles were dropped.
        """
        ptr = self._ptr
        self.scheduler._check_owner()  # every thread of the store is stopped only as seen from its OS thread
        self._gc_due = False
        self._extern_made = 0
        objects = self._extern_objects
        if not objects:
            lib.wr_api_gc_collect(ptr, ffi.NULL, 0)
            return 0
        top = len(objects) + len(self._extern_free)  # every handle number is live or free
        bits = bytearray((top >> 3) + 1)
        lib.wr_api_gc_collect(ptr, ffi.from_buffer(bits), top + 1)
        # Python's own raw slots: the arguments of green threads whose call is not set up in a wr_thread yet
        # (kept conservatively: any of them tagged as a handle).
        for gt in self.scheduler._live.values():
            for slot in gt._args if gt._wasm and not gt._begun else ():
                if slot & 3 == 2 and slot >> 2 <= top:
                    bits[slot >> 5] |= 1 << (slot >> 2 & 7)
        dead = [h for h in objects if not bits[h >> 3] >> (h & 7) & 1]
        handles = self._extern_handles
        for h in dead:
            del handles[id(objects.pop(h))]
        self._extern_free.extend(dead)
        self._gc_threshold = max(_GC_MIN, len(objects))
        return len(dead)

    @property
    def extern_count(self) -> int:
        """How many host objects wasm was given are held for it now (the handle table's size)."""
        return len(self._extern_objects)

    def _gc_safe_point(self) -> None:
        """Collect if a collection is due: called where no slot is in flight between Python and a root."""
        if self._gc_due and self._native.ptr is not None:
            self.gc()
