"""Spec-test values (JSON) <-> the core's raw 64-bit slots, and result matching.

Numbers in the JSON are decimal strings of the value's bits (floats too), so
everything here works on bits: NaN payloads and signed zeros compare exactly.
Expected floats may be the patterns "nan:canonical" / "nan:arithmetic".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wasmroutines import Store
from wasmroutines.core._ffi import lib

__all__ = ["HostRef", "Refs", "arg_slots", "describe", "describe_expected", "matches", "slot_width"]

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1

_LANES = {"i8": (8, 16), "i16": (16, 8), "i32": (32, 4), "i64": (64, 2), "f32": (32, 4), "f64": (64, 2)}
# (sign/exponent/quiet-bit mask, canonical NaN) per float width
_NAN = {32: (0x7FC0_0000, 0x7FC0_0000), 64: (0x7FF8_0000_0000_0000, 0x7FF8_0000_0000_0000)}


class HostRef:
    """The host object standing for `ref.extern N` in a script."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"ref.extern {self.n}"


class Refs:
    """Per-script `ref.extern N` objects, so equal N means the same object."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._objects: dict[int, HostRef] = {}

    def extern(self, n: int) -> HostRef:
        obj = self._objects.get(n)
        if obj is None:
            obj = self._objects[n] = HostRef(n)
        return obj

    def extern_slot(self, n: int) -> int:
        return self.store._extern_handle(self.extern(n))


#: GC's reference types: `anyref N` is the host object of `ref.extern N` (the spec interpreter's `ref.host N`:
#: any.convert_extern of an externref is the host object itself); a result written without a value (`ref.i31`,
#: `ref.struct`, ...) is any non-null reference of the type.
_GC_REFS = ("anyref", "eqref", "i31ref", "structref", "arrayref")
#: The null references of 3.0's bottom heap types, and `refnull` (a null reference of any type).
_NULLS = ("refnull", "nullref", "nullfuncref", "nullexternref", "nullexnref")


def _int(text: str, bits: int) -> int:
    return int(text) & ((1 << bits) - 1)


def arg_slots(arg: dict[str, Any], refs: Refs) -> list[int]:
    """The slots of one JSON argument."""
    t = arg["type"]
    value: Any = arg.get("value")
    if t in ("i32", "f32"):
        return [_int(value, 32)]
    if t in ("i64", "f64"):
        return [_int(value, 64)]
    if t == "v128":
        v = _v128(arg["lane_type"], value)
        return [v & M64, v >> 64]
    if t == "externref":
        return [0 if value == "null" else refs.extern_slot(int(value))]
    if t == "funcref":
        if value == "null":
            return [0]
        raise ValueError(f"cannot pass a non-null funcref literal ({value!r})")
    if t == "exnref" and value == "null":
        return [0]
    if t in _GC_REFS or t in _NULLS:
        if value == "null" or t in _NULLS:
            return [0]
        if t == "anyref" and value is not None:
            return [refs.extern_slot(int(value))]
        raise ValueError(f"cannot pass {t} {value}: GC objects are not supported")
    raise ValueError(f"unknown argument type {t!r}")


def _v128(lane_type: str, lanes: Sequence[str]) -> int:
    width, count = _LANES[lane_type]
    if len(lanes) != count:
        raise ValueError(f"v128 with {len(lanes)} lanes of {lane_type}")
    v = 0
    for i, lane in enumerate(lanes):
        v |= _int(lane, width) << (i * width)
    return v


def slot_width(t: str) -> int:
    return 2 if t == "v128" else 1


def _float_matches(expected: str, bits: int, width: int) -> bool:
    if expected.startswith("nan:"):
        mask, canonical = _NAN[width]
        body = bits & ~(1 << (width - 1))  # sign is free
        if expected == "nan:canonical":
            return body == canonical
        if expected == "nan:arithmetic":
            return bits & mask == mask
        raise ValueError(f"unknown NaN pattern {expected!r}")
    return bits == _int(expected, width)


def matches(expected: dict[str, Any], slots: Sequence[int], refs: Refs) -> bool:
    """Whether the result in `slots` (1 or 2 slots) is what `expected` describes."""
    t = expected["type"]
    value: Any = expected.get("value")
    if t == "either":
        return any(matches(alt, slots, refs) for alt in expected["values"])
    s = slots[0]
    if t == "i32":
        return s & M32 == _int(value, 32)
    if t == "i64":
        return s & M64 == _int(value, 64)
    if t == "f32":
        return _float_matches(value, s & M32, 32)
    if t == "f64":
        return _float_matches(value, s & M64, 64)
    if t == "v128":
        v = s | (slots[1] << 64)
        width, count = _LANES[expected["lane_type"]]
        mask = (1 << width) - 1
        for i, lane in enumerate(value):
            got = (v >> (i * width)) & mask
            ok = _float_matches(lane, got, width) if expected["lane_type"][0] == "f" else got == _int(lane, width)
            if not ok:
                return False
        return count == len(value)
    if t == "funcref" or t == "exnref":
        return s == 0 if value == "null" else s != 0
    if t == "externref" or t in _GC_REFS:
        if value == "null":
            return s == 0
        if value is None:  # (ref.extern), (ref.i31), ... with no number: any non-null of the type
            return _gc_kind_matches(t, s)
        return s & 3 == 2 and refs.store._extern_object(s) is refs.extern(int(value))
    if t in _NULLS:
        return s == 0
    raise ValueError(f"unknown expected type {t!r}")


def _gc_kind_matches(t: str, s: int) -> bool:
    """Whether the non-null reference `s` is of the abstract type named `t` (the slot's tags: wr_runtime.h)."""
    if s == 0:
        return False
    if t == "i31ref":
        return s & 1 == 1
    if t == "eqref":
        return s & 3 != 2
    if t in ("structref", "arrayref"):  # a struct or an array (wr_api_gc_kind: 1 struct, 2 array)
        return s & 3 == 0 and lib.wr_api_gc_kind(s) == (1 if t == "structref" else 2)
    return True  # externref, anyref: any


def describe(slots: Sequence[int], t: str) -> str:
    """A result as text for failure messages."""
    if not slots:
        return "nothing"
    if t == "v128" and len(slots) > 1:
        return f"v128:{slots[0] | (slots[1] << 64):#034x}"
    s = slots[0]
    if t in ("i32", "f32"):
        return f"{t}:{s & M32:#010x}"
    return f"{t}:{s & M64:#x}"


def describe_expected(expected: dict[str, Any]) -> str:
    t = expected["type"]
    if t == "either":
        return " | ".join(describe_expected(e) for e in expected["values"])
    value: Any = expected.get("value")
    if t == "v128":
        return f"v128:{expected['lane_type']}x[{' '.join(value)}]"
    if isinstance(value, str) and value.isdigit() and t in ("i32", "i64", "f32", "f64"):
        return f"{t}:{int(value):#x}"
    if value is None:
        return t if t in _NULLS else f"{t}:non-null"
    return f"{t}:{value}"
