"""Typed views of a memory: Uint8Array ... Float64Array, as `memory.uint8_view(offset)` makes them.

A view is the memory seen as an array of T (little endian, elements aligned
from address 0) starting at element `offset`: element i is at byte
`(offset + i) * sizeof(T)`. Views are live: every access reads the memory's
current base and size from the core, so `len()` follows `grow`, and no index
can reach outside the memory as it is at that moment (memories never shrink).

REVISIT: elements are read in the host's byte order, which is wasm's (little
endian) on every platform Wasmroutines builds for today.
"""

from __future__ import annotations

import array
import operator
from collections.abc import Iterator
from typing import Any, ClassVar, NoReturn, Self

from ...core._ffi import ffi, lib
from ...core.memory import Memory as CoreMemory

__all__ = [
    "Float32Array",
    "Float64Array",
    "Int8Array",
    "Int16Array",
    "Int32Array",
    "Int64Array",
    "Uint8Array",
    "Uint16Array",
    "Uint32Array",
    "Uint64Array",
    "TypedArray",
]


def _bad_index() -> NoReturn:
    raise ValueError("Only integers and slices are valid to represent an index")


class TypedArray:
    """The behaviour the ten view classes share; see the module docstring."""

    __slots__ = ("_memory", "_offset")

    _FORMAT: ClassVar[str]  # struct/memoryview/array format letter
    _CTYPE: ClassVar[str]  # the C pointer type the elements are read through
    _SIZE: ClassVar[int]
    _RANGE: ClassVar[tuple[int, int] | None]  # None for float views

    _memory: CoreMemory
    _offset: int

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError(f"No constructor defined: use Memory.{_METHOD[type(self)]}(offset)")

    @classmethod
    def _make(cls, memory: CoreMemory, offset: Any) -> Self:
        if not isinstance(offset, int):
            raise TypeError(f"'{type(offset).__name__}' object cannot be interpreted as an integer")
        if not 0 <= offset < 1 << 32:
            raise OverflowError("out of range integral type conversion attempted")
        count = memory.data_size // cls._SIZE
        if offset > count:
            # wasmer 1.1 panics here; a view must start inside the memory (or at its end).
            raise IndexError(f"Out of bound: Offset {offset} is larger than the view size {count}")
        view = object.__new__(cls)
        view._memory = memory
        view._offset = int(offset)
        return view

    @property
    def bytes_per_element(self) -> int:
        """The size of one element, in bytes."""
        return self._SIZE

    @property
    def offset(self) -> int:
        """The element the view starts at (an addition to wasmer's API)."""
        return self._offset

    def __len__(self) -> int:
        return max(0, self._memory.data_size // self._SIZE - self._offset)

    def _pointer(self) -> Any:
        """The view's first element, as a typed C pointer (read fresh: never cached across calls)."""
        return ffi.cast(self._CTYPE, lib.wr_api_memory_data(self._memory._ptr)) + self._offset

    def _index(self, index: Any) -> int:
        try:
            i = operator.index(index)
        except TypeError:
            _bad_index()
        if i < 0:
            raise IndexError("Out of bound: Index cannot be negative")
        size = len(self)
        if i >= size:
            raise IndexError(f"Out of bound: Index {i} is larger than the view size {size}")
        return i

    def _slice(self, index: slice) -> tuple[int, int, int]:
        # wasmer 1.1's order: normalise as slice.indices does (a zero step is its ValueError), then
        # refuse start > stop, then a step below 1.
        start, stop, step = index.indices(len(self))
        if start > stop:
            raise IndexError(f"Slice `{start}:{stop}` cannot be empty")
        if step < 1:
            raise IndexError(f"Slice must have a positive step; given {step}")
        return start, stop, step

    def _elements(self, start: int, stop: int) -> memoryview:
        """Elements [start, stop) of the view as a writable memoryview of the view's format (bounds checked)."""
        first = ffi.cast("uint8_t *", self._pointer() + start)
        raw: Any = memoryview(ffi.buffer(first, (stop - start) * self._SIZE))
        elements: memoryview = raw.cast(self._FORMAT)
        return elements

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = self._slice(index)
            if start == stop:
                return []
            return self._elements(start, stop)[::step].tolist()
        i = self._index(index)
        return self._pointer()[i]

    def _value(self, value: Any) -> int | float:
        bounds = self._RANGE
        if bounds is None:
            if isinstance(value, (int, float)):
                return float(value)
            if isinstance(value, (str, bytes)) or not hasattr(type(value), "__float__"):
                raise TypeError(f"must be real number, not {type(value).__name__}")
            return float(value)
        if isinstance(value, int):
            v = int(value)
        elif isinstance(value, float) or not hasattr(type(value), "__index__"):
            raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
        else:
            v = operator.index(value)
        if not bounds[0] <= v <= bounds[1]:
            raise OverflowError("out of range integral type conversion attempted")
        return v

    def __setitem__(self, index: Any, value: Any) -> None:
        if not isinstance(index, slice):
            i = self._index(index)
            v = self._value(value)
            self._pointer()[i] = v
            return
        start, stop, step = self._slice(index)
        count = len(range(start, stop, step))
        try:
            length = len(value)
        except TypeError:
            raise TypeError(f"'{type(value).__name__}' object is not a sequence") from None
        if length != count:
            raise IndexError(f"Sequence length {length} doesn't match slice length {count}")
        if count == 0:
            return
        if self._FORMAT == "B" and isinstance(value, (bytes, bytearray)):
            source: Any = value
        else:
            # Check every value before writing any, so a bad one leaves the memory untouched.
            source = array.array(self._FORMAT, [self._value(v) for v in value])
        raw: Any = memoryview(source).cast("B")
        self._elements(start, stop)[::step] = raw.cast(self._FORMAT)

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} elements from element {self._offset}>"


class Uint8Array(TypedArray):
    """The memory as an array of u8, from `Memory.uint8_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).uint8_view(0)
    >>> view[0] = 255
    >>> view[0], view.bytes_per_element, len(view)
    (255, 1, 65536)
    """

    __slots__ = ()
    _FORMAT = "B"
    _CTYPE = "uint8_t *"
    _SIZE = 1
    _RANGE = (0, 0xFF)


class Int8Array(TypedArray):
    """The memory as an array of i8, from `Memory.int8_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).int8_view(0)
    >>> view[0] = -128
    >>> view[0], view.bytes_per_element, len(view)
    (-128, 1, 65536)
    """

    __slots__ = ()
    _FORMAT = "b"
    _CTYPE = "int8_t *"
    _SIZE = 1
    _RANGE = (-0x80, 0x7F)


class Uint16Array(TypedArray):
    """The memory as an array of u16, from `Memory.uint16_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).uint16_view(1)
    >>> view[0] = 65535
    >>> view[0], view.bytes_per_element, len(view)
    (65535, 2, 32767)
    """

    __slots__ = ()
    _FORMAT = "H"
    _CTYPE = "uint16_t *"
    _SIZE = 2
    _RANGE = (0, 0xFFFF)


class Int16Array(TypedArray):
    """The memory as an array of i16, from `Memory.int16_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).int16_view(0)
    >>> view[0] = -2
    >>> view[0], view.bytes_per_element, len(view)
    (-2, 2, 32768)
    """

    __slots__ = ()
    _FORMAT = "h"
    _CTYPE = "int16_t *"
    _SIZE = 2
    _RANGE = (-0x8000, 0x7FFF)


class Uint32Array(TypedArray):
    """The memory as an array of u32, from `Memory.uint32_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).uint32_view(0)
    >>> view[0] = 2**32 - 1
    >>> view[0], view.bytes_per_element, len(view)
    (4294967295, 4, 16384)
    """

    __slots__ = ()
    _FORMAT = "I"
    _CTYPE = "uint32_t *"
    _SIZE = 4
    _RANGE = (0, 0xFFFF_FFFF)


class Int32Array(TypedArray):
    """The memory as an array of i32, from `Memory.int32_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).int32_view(2)
    >>> view[0] = -7
    >>> view[0], view.bytes_per_element, len(view)
    (-7, 4, 16382)
    """

    __slots__ = ()
    _FORMAT = "i"
    _CTYPE = "int32_t *"
    _SIZE = 4
    _RANGE = (-(1 << 31), (1 << 31) - 1)


class Uint64Array(TypedArray):
    """The memory as an array of u64, from `Memory.uint64_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).uint64_view(0)
    >>> view[0] = 2**64 - 1
    >>> view[0], view.bytes_per_element, len(view)
    (18446744073709551615, 8, 8192)
    """

    __slots__ = ()
    _FORMAT = "Q"
    _CTYPE = "uint64_t *"
    _SIZE = 8
    _RANGE = (0, (1 << 64) - 1)


class Int64Array(TypedArray):
    """The memory as an array of i64, from `Memory.int64_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).int64_view(0)
    >>> view[0] = -1
    >>> view[0], view.bytes_per_element, len(view)
    (-1, 8, 8192)
    """

    __slots__ = ()
    _FORMAT = "q"
    _CTYPE = "int64_t *"
    _SIZE = 8
    _RANGE = (-(1 << 63), (1 << 63) - 1)


class Float32Array(TypedArray):
    """The memory as an array of f32 (read as widened floats), from `Memory.float32_view(offset)`; in elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).float32_view(0)
    >>> view[0] = 0.1
    >>> view[0], view.bytes_per_element, len(view)
    (0.10000000149011612, 4, 16384)
    """

    __slots__ = ()
    _FORMAT = "f"
    _CTYPE = "float *"
    _SIZE = 4
    _RANGE = None


class Float64Array(TypedArray):
    """The memory as an array of f64, from `Memory.float64_view(offset)`; offset and indices count elements.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> view = Memory(Store(), MemoryType(1)).float64_view(0)
    >>> view[0] = 0.1
    >>> view[0], view.bytes_per_element, len(view)
    (0.1, 8, 8192)
    """

    __slots__ = ()
    _FORMAT = "d"
    _CTYPE = "double *"
    _SIZE = 8
    _RANGE = None


_METHOD: dict[type, str] = {
    Uint8Array: "uint8_view",
    Int8Array: "int8_view",
    Uint16Array: "uint16_view",
    Int16Array: "int16_view",
    Uint32Array: "uint32_view",
    Int32Array: "int32_view",
    Uint64Array: "uint64_view",
    Int64Array: "int64_view",
    Float32Array: "float32_view",
    Float64Array: "float64_view",
}
