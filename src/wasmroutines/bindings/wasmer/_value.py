"""`Value`: a typed wasm number, made by `Value.i32(...)` and friends, printed as Rust prints it."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from ...core.values import f32_bits, f32_value
from ._types import Type, type_debug

__all__ = ["Value", "rust_float"]

_RANGES = {
    Type.I32: (-(1 << 31), 1 << 31),
    Type.I64: (-(1 << 63), 1 << 63),
    Type.V128: (0, 1 << 128),
}


def _f32_shortest(value: float) -> str:
    """The shortest decimal string that reads back as the same f32 (`value` is already an f32)."""
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if f32_value(f32_bits(float(text))) == value:
            return text
    return repr(value)  # pragma: no cover - 9 significant digits always round-trip an f32


def rust_float(value: float, f32: bool = False) -> str:
    """A float as Rust's Debug (before Rust 1.58) prints it: shortest digits, positional, at least one decimal.

    >>> from wasmroutines.bindings.wasmer._value import rust_float
    >>> rust_float(4.2), rust_float(42.0), rust_float(1e-7), rust_float(float("nan"))
    ('4.2', '42.0', '0.0000001', 'NaN')
    >>> rust_float(1e20)
    '100000000000000000000.0'
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = format(Decimal(_f32_shortest(value) if f32 else repr(value)), "f")
    return text if "." in text else text + ".0"


class Value:
    """A wasm value with its type, for `Global(store, Value.i32(42))`.

    There is no constructor: use the static methods. Integers out of range raise
    OverflowError; `f32` rounds to single precision.

    >>> from wasmroutines.wasmer import Value
    >>> Value.i32(42), Value.i64(42), Value.f32(4.2), Value.f32(42), Value.f64(4.2)
    (I32(42), I64(42), F32(4.2), F32(42.0), F64(4.2))
    >>> Value.v128(2**128 - 1)
    V128(340282366920938463463374607431768211455)
    >>> Value.i32(2**31)
    Traceback (most recent call last):
    ...
    OverflowError: out of range integral type conversion attempted
    """

    __slots__ = ("_type", "_value")

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("No constructor defined: use Value.i32, Value.i64, Value.f32, Value.f64 or Value.v128")

    _type: Type
    _value: int | float

    @classmethod
    def _make(cls, t: Type, value: int | float) -> Value:
        v = object.__new__(cls)
        object.__setattr__(v, "_type", t)
        object.__setattr__(v, "_value", value)
        return v

    @classmethod
    def _int(cls, t: Type, value: Any) -> Value:
        if not isinstance(value, int):
            raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
        lo, hi = _RANGES[t]
        if not lo <= value < hi:
            raise OverflowError("out of range integral type conversion attempted")
        return cls._make(t, int(value))

    @classmethod
    def _float(cls, t: Type, value: Any) -> Value:
        if not isinstance(value, (int, float)):
            raise TypeError(f"must be real number, not {type(value).__name__}")
        v = float(value)
        return cls._make(t, f32_value(f32_bits(v)) if t is Type.F32 else v)

    @staticmethod
    def i32(value: int) -> Value:
        """An i32, from an int in [-2**31, 2**31).

        >>> from wasmroutines.wasmer import Value
        >>> Value.i32(-1)
        I32(-1)
        """
        return Value._int(Type.I32, value)

    @staticmethod
    def i64(value: int) -> Value:
        """An i64, from an int in [-2**63, 2**63).

        >>> from wasmroutines.wasmer import Value
        >>> Value.i64(2**40)
        I64(1099511627776)
        """
        return Value._int(Type.I64, value)

    @staticmethod
    def f32(value: float) -> Value:
        """An f32, from a float or int, rounded to single precision.

        >>> from wasmroutines.wasmer import Value
        >>> Value.f32(0.1).value
        0.10000000149011612
        """
        return Value._float(Type.F32, value)

    @staticmethod
    def f64(value: float) -> Value:
        """An f64, from a float or int.

        >>> from wasmroutines.wasmer import Value
        >>> Value.f64(1e100)
        F64(10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000.0)
        """
        return Value._float(Type.F64, value)

    @staticmethod
    def v128(value: int) -> Value:
        """A v128, from an int in [0, 2**128).

        >>> from wasmroutines.wasmer import Value
        >>> Value.v128(1)
        V128(1)
        """
        return Value._int(Type.V128, value)

    @property
    def type(self) -> Type:
        """The value's type (an addition to wasmer's API).

        >>> from wasmroutines.wasmer import Value
        >>> Value.f64(1.5).type
        <Type.F64: 4>
        """
        return self._type

    @property
    def value(self) -> int | float:
        """The value as a Python int or float (an addition to wasmer's API).

        >>> from wasmroutines.wasmer import Value
        >>> Value.i64(-5).value
        -5
        """
        return self._value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Value is immutable")

    def __repr__(self) -> str:
        v = self._value
        text = rust_float(v, self._type is Type.F32) if isinstance(v, float) else str(v)
        return f"{type_debug(self._type)}({text})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value):
            return NotImplemented
        return self._type is other._type and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))
