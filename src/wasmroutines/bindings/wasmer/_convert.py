"""Python values <-> wasm values, by wasmer's rules.

Stricter than the core's conversions (wasmroutines.core.values), as wasmer is:
  i32   an int in [-2**31, 2**32) (u32 values wrap) or a bool; i64 likewise with 2**64;
        a float is a TypeError, out of range an OverflowError;
  f32, f64  a float (an int is a TypeError: `'int' object cannot be converted to 'PyFloat'`);
  v128  an int in [0, 2**128);
  funcref   a wasmer Function or None;  externref  any Python object or None;  exnref  a WasmException or None;
  other reference types (WebAssembly 3.0, core RefType) as funcref or externref, checked by the core:
        None for a non-nullable one, or a function of another type than `(ref $t)`, is a RefTypeError.
Results come back as the core gives them: integers signed, f32 widened to a
double, funcref as a wasmer Function.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from ...core.store import Store as CoreStore
from ...core.types import AnyValType, HeapType, RefType, ValType
from ...core.values import GcRef, f32_bits, f64_bits, from_slots, funcref_slot, ref_slot
from ...core.values import to_slots as core_to_slots

__all__ = ["check", "from_core_value", "results_from_slots", "to_slots", "valtype_debug"]

_M32 = 0xFFFF_FFFF
_M64 = 0xFFFF_FFFF_FFFF_FFFF
_RANGE = {
    ValType.I32: (-(1 << 31), 1 << 32),
    ValType.I64: (-(1 << 63), 1 << 64),
    ValType.V128: (0, 1 << 128),  # a u128, as wasmer reads it
}
_DEBUG = {
    ValType.I32: "I32",
    ValType.I64: "I64",
    ValType.F32: "F32",
    ValType.F64: "F64",
    ValType.V128: "V128",
    ValType.EXTERNREF: "ExternRef",
    ValType.FUNCREF: "FuncRef",
}


def valtype_debug(t: AnyValType) -> str:
    """A core value type as wasmer prints a type (`I32`, `FuncRef`); another reference type as the core does."""
    return _DEBUG.get(t, str(t)) if isinstance(t, ValType) else str(t)


def _is_funcs(t: AnyValType) -> bool:
    """funcref, or another reference type of the func hierarchy: its values are wasmer Functions."""
    return t is ValType.FUNCREF or (isinstance(t, RefType) and t.top is HeapType.FUNC)


def _as_int(value: Any) -> int:
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or not hasattr(type(value), "__index__"):
        raise TypeError(f"'{type(value).__name__}' object cannot be converted to 'PyLong'")
    return operator.index(value)  # numpy integers and other int-likes


def _as_float(value: Any) -> float:
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (int, str, bytes)) or not hasattr(type(value), "__float__"):
        raise TypeError(f"'{type(value).__name__}' object cannot be converted to 'PyFloat'")
    return float(value)  # numpy floats and other float-likes


def _int_in_range(t: ValType, value: Any) -> int:
    v = _as_int(value)
    lo, hi = _RANGE[t]
    if not lo <= v < hi:
        raise OverflowError("out of range integral type conversion attempted")
    return v


#: The wasmer Function class: _function.py registers it when it loads (it imports this module, so this one
#: cannot import it).
_Function: Any = None


def register_function(cls: type) -> None:
    global _Function
    _Function = cls


def _funcref(value: Any) -> Any:
    """The core Function behind a wasmer Function (or None). A struct or an array (GcRef) passes as it is: a
    concrete reference type may be a struct or an array type, which only the store tells from a function
    type (core/values.py, ref_top), and the core checks it when it becomes a slot."""
    Function = _Function
    if value is None or isinstance(value, GcRef):
        return value
    if isinstance(value, Function):
        return value._core
    raise TypeError(f"'{type(value).__name__}' object cannot be converted to 'Function'")


def check(t: AnyValType, value: Any) -> Any:
    """`value` checked by wasmer's rules for type `t`, as the value the core expects (a typed reference is
    checked again by the core when it becomes a slot)."""
    if t is ValType.I32 or t is ValType.I64 or t is ValType.V128:
        return _int_in_range(t, value)
    if t is ValType.F32 or t is ValType.F64:
        return _as_float(value)
    if _is_funcs(t):
        return _funcref(value)
    return value  # externref: any object


def to_slots(store: CoreStore, types: Sequence[AnyValType], values: Sequence[Any]) -> list[int]:
    """The core's 64-bit slots for `values` (as many as `types`) by wasmer's rules."""
    out: list[int] = []
    for t, value in zip(types, values, strict=True):
        if t is ValType.I32:
            out.append(_int_in_range(t, value) & _M32)
        elif t is ValType.I64:
            out.append(_int_in_range(t, value) & _M64)
        elif t is ValType.F32:
            out.append(f32_bits(_as_float(value)))
        elif t is ValType.F64:
            out.append(f64_bits(_as_float(value)))
        elif t is ValType.V128:
            v = _int_in_range(t, value)
            out.append(v & _M64)
            out.append(v >> 64)
        elif t is ValType.FUNCREF:
            out.append(funcref_slot(store, _funcref(value)))
        elif isinstance(t, RefType):
            out.append(ref_slot(store, t, _funcref(value) if _is_funcs(t) else value))
        elif t is ValType.EXTERNREF:
            out.append(0 if value is None else store._extern_handle(value))
        else:  # every other reference type as the core checks and takes it (I31s, host objects, WasmExceptions)
            core_to_slots(store, t, value, out)
    return out


def from_core_value(t: AnyValType, value: Any) -> Any:
    """A value the core produced, for Python: a core Function becomes a wasmer Function."""
    if _is_funcs(t) and value is not None and not isinstance(value, GcRef):
        return _Function._wrap(value)
    return value


def results_from_slots(store: CoreStore, types: Sequence[AnyValType], slots: Sequence[int]) -> Any:
    """None, one value or a tuple, as wasmer returns a call's results."""
    n = len(types)
    if n == 0:
        return None
    if n == 1:
        t = types[0]
        return from_core_value(t, from_slots(store, t, slots, 0))
    values = []
    i = 0
    for t in types:
        values.append(from_core_value(t, from_slots(store, t, slots, i)))
        i += t.slots
    return tuple(values)
