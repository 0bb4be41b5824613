"""Function: a wasm function (an export, a table element) or a host function made from a Python callable."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from . import _externtype, execution
from ._ffi import NULL, WR_DONE, WR_TRAP, address, ffi, lib, optional_text
from .backtrace import trap_of
from .errors import StackExhausted
from .store import HostFunc, Store, StoreObject, closed_error
from .types import FuncType
from .values import args_to_slots, slot_count, slots_to_values
from .values import register_function as values_register_function

__all__ = ["Function"]


class Function(StoreObject):
    """A function of a store.

    `Function(store, callable, type)` makes a host function: when wasm calls it,
    `callable` gets Python values for the params and returns None (no results),
    a value (one result) or a tuple (several). Calling a Function from Python
    converts the same way and returns None, a value or a tuple.

    `callable` may be an `async def` function: under an asyncio loop (`call_async`)
    the calling green thread waits for its coroutine, run on the loop,
    while other threads and tasks go on (aio.py); called while wasm runs
    synchronously it raises AsyncHostCallError.
    """

    _type: FuncType | None
    _host_func: Callable[..., Any] | None = None
    _host_checked: bool = False
    _ref_results: bool | None = None  # whether a result is a reference (_result_pins)

    def __init__(self, store: Store, func: Callable[..., Any], type: FuncType) -> None:
        if not callable(func):
            raise TypeError("Function needs a callable")
        if not isinstance(type, FuncType):
            raise TypeError("Function needs a FuncType")
        if inspect.iscoroutinefunction(func):
            from . import aio  # asyncio is imported on first use

            func = aio.awaiting(func)
        module_type = type.module_type
        if module_type is None:
            store._check_types((*type.params, *type.results))
            host_id = store._register_host(func, type)
            params = ffi.new("uint32_t[]", [t.code for t in type.params])
            results = ffi.new("uint32_t[]", [t.code for t in type.results])
            ptr = lib.wr_api_func_new_host(store._ptr, params, len(type.params), results, len(type.results), host_id)
        else:
            host_id = store._register_host(func, type)
            ptr = lib.wr_api_func_new_host_id(store._ptr, store._module_type_id(module_type), host_id)
        if ptr == NULL:
            raise MemoryError("cannot create a host function")
        self._ptr = ptr
        self._store = store
        self._type = type
        if module_type is not None:
            # Its type as the store has it (a reference type in it names the store's types, not the module's): what
            # its arguments and results are converted by.
            self._type = None
            store._hosts[host_id] = HostFunc(func, self.type)
        store._remember(address(ptr), self)

    @classmethod
    def _from_ptr(cls, store: Store, ptr: Any) -> Function:
        addr = address(ptr)
        wrapper = store._wrapper(addr, cls)
        if wrapper is None:
            wrapper = cls.__new__(cls)
            wrapper._ptr = ffi.cast("wr_func *", ptr)
            wrapper._store = store
            wrapper._type = None
            store._remember(addr, wrapper)
        return wrapper

    @classmethod
    def _unlisted(cls, store: Store, ptr: Any, type: FuncType) -> Function:
        """A wrapper of wasm function `ptr` whose type the caller knows, left out of the store's registry: for a
        short-lived entry point (a wasi-threads thread's), where registering would cost more than the rest."""
        wrapper = cls.__new__(cls)
        wrapper._ptr = ptr
        wrapper._store = store
        wrapper._type = type
        wrapper._host_checked = True  # a wasm function: _host() is None
        return wrapper

    @property
    def type(self) -> FuncType:
        if self._type is None:
            et = _externtype.new()
            lib.wr_api_func_type(self._ptr, et)
            t = _externtype.read(et)
            assert isinstance(t, FuncType)
            self._type = t
        return self._type

    @property
    def name(self) -> str | None:
        """The function's name from its module's name section, or None."""
        return optional_text(lib.wr_api_func_name(self._ptr))

    def _host(self) -> Callable[..., Any] | None:
        """The Python callable of a host function; None for a wasm function (cached: it never changes).

        Every call and spawn asks it first: StoreClosedError once the store is closed."""
        if self._store._native.ptr is None:
            raise closed_error("Function")
        if self._host_checked:
            return self._host_func
        host_id = ffi.new("uint64_t *")
        if lib.wr_api_func_host_id(self._ptr, host_id):
            self._host_func = self._store._hosts[int(host_id[0])].func
        self._host_checked = True
        return self._host_func

    def __call__(self, *args: Any) -> Any:
        ft = self.type
        slots = args_to_slots(self._store, ft.params, args)
        results = slots_to_values(self._store, ft.results, self.call_bits(slots))
        if not results:
            return None
        if len(results) == 1:
            return results[0]
        return tuple(results)

    def call_async(self, *args: Any) -> Coroutine[Any, None, Any]:
        """`self(*args)` as a green thread of its own on the running asyncio loop (aio.py): many calls, of many
        stores, run at once. Awaited, its result, or what it raised; cancelled, the thread is killed. A coroutine
        and a future both (aio._Call: gather and wait_for take it with no Task made for it); begun at once when a
        loop runs, else when first awaited."""
        from . import aio

        return aio._Call(self, args, self)

    def call_bits(self, args: Sequence[int]) -> list[int]:
        """Call with raw 64-bit slots as the C core sees them, returning raw result slots.

        i32/f32 in the low 32 bits, v128 as two slots (low first), references as
        the core's handles. Keeps exact NaN payloads, which Python floats may not.
        """
        ft = self.type
        host = self._host()
        if host is not None:
            return execution.call_host_bits(self._store, host, ft, args)
        try:
            return execution.call(self._store, self._cptr, args, slot_count(ft.results))  # _host() checked it
        except StackExhausted as e:
            self._store._name_stack_limit(e)
            raise

    # ---- for the scheduler, which runs a wasm function as a green thread without importing this module ----

    def _args_to_slots(self, args: Sequence[Any]) -> list[int]:
        return args_to_slots(self._store, self.type.params, args)

    def _slots_to_args(self, slots: Sequence[int]) -> list[Any]:
        """The values of raw argument slots: a struct's, an array's or an exception's is a GcRef or a
        WasmException, which pins it while it lives."""
        return slots_to_values(self._store, self.type.params, slots)

    def _result_pins(self, slots: Sequence[int]) -> list[Any] | None:
        """What keeps raw result slots kept past the call alive until they are read (a thread's, until joined:
        Scheduler._finish): their values, a GcRef or a WasmException pinning its object; None when no result is a
        reference."""
        refs = self._ref_results
        if refs is None:
            refs = self._ref_results = any(t.is_ref for t in self.type.results)
        return slots_to_values(self._store, self.type.results, slots) if refs else None

    def _result_of(self, slots: Sequence[int]) -> Any:
        """None, a value or a tuple from raw result slots, as a call returns them."""
        results = slots_to_values(self._store, self.type.results, slots)
        if not results:
            return None
        return results[0] if len(results) == 1 else tuple(results)

    def _begin_on(self, t: Any, arg_slots: Sequence[int]) -> tuple[int, Any]:
        """Start a call on wr_thread `t` and run it until it first stops: (status, payload), the payload being
        the raw results (WR_DONE), the Trap (WR_TRAP), or None (the call goes on through `_drive`)."""
        try:
            return self._outcome(t, execution.begin(self._store, t, self._ptr, arg_slots))
        except StackExhausted as e:
            self._store._name_stack_limit(e)
            raise

    def _set_up_on(self, t: Any, arg_slots: Sequence[int]) -> bool:
        """Set up a call on wr_thread `t` without running it, for the C core or the scheduler to start (a spawned
        thread: wr_api_thread_begin; Scheduler._run_inline). False when it cannot start (stack exhausted):
        `_begin_on` then raises why."""
        return lib.wr_api_thread_begin(t, self._ptr, execution.args_buffer(self._store, arg_slots)) == 0

    def _run_set_up(self, t: Any) -> list[int]:
        """Run the call set up on `t` to its end: its raw results (or raise), as call_bits gives them."""
        try:
            return execution.drive(self._store, t, self._store.scheduler._exec(t), self.type.result_slots)
        except StackExhausted as e:
            self._store._name_stack_limit(e)
            raise

    def _outcome(self, t: Any, status: int) -> tuple[int, Any]:
        if status == WR_DONE:
            return status, execution.results(t, self.type.result_slots)
        if status == WR_TRAP:
            trap = trap_of(t, self._store)
            if isinstance(trap, StackExhausted):
                self._store._name_stack_limit(trap)
            return status, trap
        return status, None

    def _drive(self, t: Any, status: int) -> list[int]:
        """Serve the call begun on `t` from `status` on; its raw results (or raise)."""
        try:
            return execution.drive(self._store, t, status, self.type.result_slots)
        except StackExhausted as e:
            self._store._name_stack_limit(e)
            raise

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Function) and other._store is self._store and other._cptr == self._cptr

    def __hash__(self) -> int:
        return hash(address(self._cptr))

    def __repr__(self) -> str:
        if self._store.closed:
            return "<Function of a closed store>"
        name = self.name
        return f"<Function {name or '?'} {self.type}>"


values_register_function(Function)
