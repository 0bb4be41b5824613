"""`Function`: a wasm function or a Python host function, over a core Function, with wasmer's conversions."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from functools import lru_cache
from typing import Any

from ...core.function import Function as CoreFunction
from ...core.types import FuncType, ValType
from ._convert import check, from_core_value, register_function, results_from_slots, to_slots, valtype_debug
from ._signature import function_type_of
from ._store import Store, check_store
from ._types import FunctionType
from .errors import SignatureMismatch, reworded, wasmer_errors

__all__ = ["Function"]


def _types_debug(types: Sequence[ValType]) -> str:
    return "[" + ", ".join(valtype_debug(t) for t in types) + "]"


@lru_cache(maxsize=512)
def _signature_debug(ft: FuncType) -> str:
    return f"{_types_debug(ft.params)} -> {_types_debug(ft.results)}"


def _given_debug(expected: Sequence[ValType], values: Sequence[Any]) -> str:
    """wasmer names given values by the types they were converted to; an extra value by its Python type."""
    names = [valtype_debug(t) for t in expected[: len(values)]]
    names += [type(v).__name__ for v in values[len(expected) :]]
    return "[" + ", ".join(names) + "]"


def _arity_error(ft: FuncType, args: Sequence[Any]) -> SignatureMismatch:
    message = f"RuntimeError: Parameters of type {_given_debug(ft.params, args)} did not match signature "
    message += _signature_debug(ft)
    if len(args) > len(ft.params):
        message += f" ({len(args)} arguments given, {len(ft.params)} expected)"
    return SignatureMismatch(message)


class _HostAdapter:
    """What the core calls for a host Function: wasmer's argument and result conventions around `fn`.

    Holds no reference to any store, so a store's registry of host functions
    does not form a cycle through it.
    """

    __slots__ = ("fn", "ft", "has_funcref_params")

    def __init__(self, fn: Callable[..., Any], ft: FuncType) -> None:
        # An `async def` function: the calling green thread waits for its coroutine on the loop (core/aio.py).
        if inspect.iscoroutinefunction(fn):
            from ...core import aio  # asyncio is imported on first use

            fn = aio.awaiting(fn)
        self.fn = fn
        self.ft = ft
        self.has_funcref_params = any(t.is_ref and t is not ValType.EXTERNREF for t in ft.params)

    def __call__(self, *args: Any) -> Any:
        ft = self.ft
        if self.has_funcref_params:
            args = tuple(from_core_value(t, a) for t, a in zip(ft.params, args, strict=True))
        result = self.fn(*args)
        expected = ft.results
        n = len(expected)
        if n == 0:
            return None  # as wasmer: whatever a function without results returns is dropped
        if isinstance(result, tuple):
            values: Sequence[Any] = result
        elif result is None:
            values = ()
        else:
            values = (result,)
        if len(values) != n:
            raise SignatureMismatch(
                f"RuntimeError: Dynamic function returned wrong signature. Expected {_types_debug(expected)} "
                f"but got {_given_debug(expected, values)}"
            )
        # Always a tuple, also for one result: an externref result may itself be a tuple.
        return tuple(check(t, v) for t, v in zip(expected, values, strict=True))


class Function:
    """A function: exported by an instance, or made from a Python callable.

    `Function(store, py_function, function_type=None)` makes a host function
    that wasm can import. Its type is `function_type` (a FunctionType), else
    read from the callable's annotations: `int`/`'i32'` I32, `'i64'` I64,
    `float`/`'f32'` F32, `'f64'` F64; return None, one type or a tuple.
    `py_function` may be an `async def` function (an addition to wasmer's
    API): wasm called with `call_async` waits for it on the asyncio loop
    (docs/asyncio.md); called synchronously it raises AsyncHostCallError.

    Calling a Function converts the arguments by wasmer's rules (i32 takes
    ints in [-2**31, 2**32); floats only for f32/f64, strictly) and returns
    None, one value or a tuple. A trap raises RuntimeError (`RuntimeError:
    <reason>` and a wasm backtrace); an exception from a host function
    propagates unchanged.

    >>> from wasmroutines.wasmer import Store, Module, Instance, Function
    >>> store = Store()
    >>> def double(x: int) -> int:
    ...     return 2 * x
    >>> module = Module(store, '''(module
    ...   (import "env" "double" (func $double (param i32) (result i32)))
    ...   (func (export "quad") (param i32) (result i32) (call $double (call $double (local.get 0)))))''')
    >>> instance = Instance(module, {"env": {"double": Function(store, double)}})
    >>> instance.exports.quad(5)
    20
    >>> print(instance.exports.quad.type)
    FunctionType(params: [I32], results: [I32])
    >>> instance.exports.quad(1.5)
    Traceback (most recent call last):
    ...
    TypeError: 'float' object cannot be converted to 'PyLong'
    """

    __slots__ = ("__weakref__", "_core", "_on_instance")

    _core: CoreFunction
    #: Called with the core Instance that imports this function, before its start function runs
    #: (how a WASI environment binds to its instance's memory: see wasi.py).
    _on_instance: Callable[[Any], None] | None

    def __init__(
        self, store: Store, py_function: Callable[..., Any], function_type: FunctionType | None = None
    ) -> None:
        check_store(store)
        if not callable(py_function):
            raise ValueError("Function must be a callable")
        if function_type is None:
            function_type = function_type_of(py_function)
        elif not isinstance(function_type, FunctionType):
            raise TypeError(f"'{type(function_type).__name__}' object cannot be converted to 'FunctionType'")
        ft = function_type._core()
        adapter = _HostAdapter(py_function, ft)
        self._core = CoreFunction(store._core, adapter, ft)
        if ft.module_type is not None:
            adapter.ft = self._core.type  # a module's type as the store has it (core Function does the same)
        self._on_instance = None

    @classmethod
    def _wrap(cls, core: CoreFunction) -> Function:
        f = cls.__new__(cls)
        f._core = core
        f._on_instance = None
        return f

    @property
    def type(self) -> FunctionType:
        """The function's FunctionType.

        >>> from wasmroutines.wasmer import Store, Function, FunctionType, Type
        >>> print(Function(Store(), lambda a, b: a + b, FunctionType([Type.I64, Type.I64], [Type.I64])).type)
        FunctionType(params: [I64, I64], results: [I64])
        """
        return FunctionType._from_core(self._core.type, self._core.store.type_kind)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("Function.__call__() takes no keyword arguments")
        return self._call_slots(self._args_to_slots(args))

    def call_async(self, *args: Any) -> Coroutine[Any, None, Any]:
        """Call on the running asyncio loop (an addition to wasmer's API, docs/asyncio.md): the call runs as a green
        thread of its own between the loop's other callbacks, and its async host functions await on the loop.
        Returns as a call does and raises as a call does; cancelled, its thread is killed. Awaitable as a coroutine
        and usable as a future (gather and wait_for make no Task for it); begun at once when a loop runs.

        >>> import asyncio
        >>> from wasmroutines.wasmer import Store, Module, Instance, Function
        >>> store = Store()
        >>> async def lookup(key: int) -> int:
        ...     await asyncio.sleep(0.01)
        ...     return key * 100
        >>> module = Module(store, '''(module
        ...   (import "env" "lookup" (func $lookup (param i32) (result i32)))
        ...   (func (export "price") (param i32) (result i32) (i32.add (call $lookup (local.get 0)) (i32.const 1))))''')
        >>> price = Instance(module, {"env": {"lookup": Function(store, lookup)}}).exports.price
        >>> async def main():
        ...     return await asyncio.gather(*(price.call_async(k) for k in range(3)))
        >>> asyncio.run(main())
        [1, 101, 201]
        """
        from ...core import aio  # asyncio is imported on first use

        # The arguments are converted in the call's thread, so that many calls made at once cost the loop little
        # until their turns come (a wrong argument raises at the await all the same); errors are worded by
        # `_error_of`.
        return aio._Call(self._core, args, self)

    #: What call_async raises for a core error (aio.CallAdapter): worded as wasmer_errors() words it around a call.
    _error_of = staticmethod(reworded)

    def _args_to_slots(self, args: Sequence[Any]) -> list[int]:
        """The arguments as raw slots, checked and converted by wasmer's rules (TypeError, SignatureMismatch); with
        `_result_of`, call_async's adapter (aio.CallAdapter)."""
        core = self._core
        ft = core.type
        if len(args) != len(ft.params):
            raise _arity_error(ft, args)
        return list(to_slots(core._store, ft.params, args))

    def _call_slots(self, slots: Sequence[int]) -> Any:
        """Call with arguments from `_args_to_slots`: None, one value or a tuple; a trap as wasmer's RuntimeError."""
        core = self._core
        with wasmer_errors():
            raw = core.call_bits(slots)
        return self._result_of(raw)

    def _result_of(self, raw: list[int]) -> Any:
        core = self._core
        return results_from_slots(core._store, core.type.results, raw)

    def __repr__(self) -> str:
        return f"<Function {self._core.name or '?'} {self.type}>"


register_function(Function)
