"""`Memory` and `Buffer`: a linear memory over a core Memory, its bytes, and its typed views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from ...core.errors import ResourceLimitError
from ...core.memory import MAX_PAGES, MAX_PAGES64
from ...core.memory import Memory as CoreMemory
from ._store import Store, check_store
from ._types import MemoryType
from ._views import (
    Float32Array,
    Float64Array,
    Int8Array,
    Int16Array,
    Int32Array,
    Int64Array,
    Uint8Array,
    Uint16Array,
    Uint32Array,
    Uint64Array,
)
from .errors import InvalidMemoryType

__all__ = ["Buffer", "Memory"]


if TYPE_CHECKING:
    # For type checkers a Buffer is what it is at run time: a memoryview.
    Buffer: TypeAlias = memoryview
else:

    class _BufferType(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, memoryview) and obj.format == "B" and obj.ndim == 1 and not obj.readonly

    class Buffer(metaclass=_BufferType):
        """What `memory.buffer` is: the memory's bytes through the buffer protocol (1-D, format 'B', writable).

        It is a `memoryview` (Python 3.11 has no pure-Python buffer protocol), so
        `bytearray(buffer)`, `memoryview(buffer)`, `ctypes.(c_uint8 * n).from_buffer(buffer)`
        and numpy all work on it; `isinstance(memory.buffer, Buffer)` holds. Its length
        is the memory's size when it was taken; it keeps the memory alive, and stays in
        bounds after `grow` (memories never move or shrink).

        >>> from wasmroutines.wasmer import Store, Memory, MemoryType, Buffer
        >>> memory = Memory(Store(), MemoryType(1))
        >>> buffer = memory.buffer
        >>> isinstance(buffer, Buffer), len(buffer), buffer.format, buffer.readonly
        (True, 65536, 'B', False)
        >>> buffer[0:3] = b"abc"
        >>> bytes(memory.uint8_view()[0:3])
        b'abc'
        """

        def __new__(cls, *_args: Any, **_kwargs: Any) -> Buffer:
            raise TypeError("No constructor defined: use Memory.buffer")


def _check_type(t: MemoryType) -> None:
    if t.maximum is not None and t.maximum < t.minimum:
        raise InvalidMemoryType(
            f"The memory is invalid because the maximum ({t.maximum} pages) is less than the minimum "
            f"({t.minimum} pages)"
        )
    limit = MAX_PAGES64 if t.is64 else MAX_PAGES
    if t.minimum > limit:
        raise InvalidMemoryType(
            f"The minimum requested ({t.minimum} pages) memory is greater than the maximum allowed memory "
            f"({limit} pages)"
        )
    if t.maximum is not None and t.maximum > limit:
        raise InvalidMemoryType(
            f"The maximum requested memory ({t.maximum} pages) is greater than the maximum allowed memory "
            f"({limit} pages)"
        )
    if t.shared and t.maximum is None:
        # wasmer 1.1 accepted this (and then rejected every shared memory); threads need a maximum.
        raise InvalidMemoryType("The memory is invalid because a shared memory must have a maximum")


class Memory:
    """A linear memory: `Memory(store, memory_type)`, or an instance's exported memory.

    `size` is in 64 KiB pages, `data_size` in bytes; `grow(pages)` returns the
    previous size in pages. `buffer` gives the bytes; `uint8_view(offset)` ...
    `float64_view(offset)` give live typed views (offset in elements).
    `MemoryType(..., shared=True)` makes a shared memory, which several
    instances may import (the threads proposal: an addition to wasmer).

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType
    >>> memory = Memory(Store(), MemoryType(17))
    >>> memory.size, memory.data_size
    (17, 1114112)
    >>> memory.grow(1), memory.size
    (17, 18)
    >>> print(memory.type)
    MemoryType(minimum: 18, maximum: None, shared: false)
    >>> try:
    ...     Memory(Store(), MemoryType(3, 2))
    ... except RuntimeError as e:
    ...     print(e)
    The memory is invalid because the maximum (2 pages) is less than the minimum (3 pages)
    """

    __slots__ = ("__weakref__", "_core")

    _core: CoreMemory

    def __init__(self, store: Store, memory_type: MemoryType) -> None:
        check_store(store)
        if not isinstance(memory_type, MemoryType):
            raise TypeError(f"'{type(memory_type).__name__}' object cannot be converted to 'MemoryType'")
        _check_type(memory_type)
        self._core = CoreMemory(store._core, memory_type._core())

    @classmethod
    def _wrap(cls, core: CoreMemory) -> Memory:
        m = cls.__new__(cls)
        m._core = core
        return m

    @property
    def type(self) -> MemoryType:
        """The memory's type; `minimum` is its current size in pages."""
        return MemoryType._from_core(self._core.type)

    @property
    def size(self) -> int:
        """The current size, in 64 KiB pages."""
        return self._core.size

    @property
    def data_size(self) -> int:
        """The current size, in bytes."""
        return self._core.data_size

    def grow(self, number_of_pages: int) -> int:
        """Grow by `number_of_pages` pages; returns the previous size. RuntimeError when it cannot grow.

        >>> from wasmroutines.wasmer import Store, Memory, MemoryType
        >>> memory = Memory(Store(), MemoryType(1, 2))
        >>> memory.grow(1)
        1
        >>> try:
        ...     memory.grow(1)
        ... except RuntimeError as e:
        ...     print(e)
        The memory could not grow: current size 2 pages, requested increase: 1 pages
        """
        if not isinstance(number_of_pages, int):
            raise TypeError(f"'{type(number_of_pages).__name__}' object cannot be interpreted as an integer")
        if not 0 <= number_of_pages < 1 << (64 if self._core.type.is64 else 32):
            raise OverflowError("out of range integral type conversion attempted")
        try:
            return self._core.grow(int(number_of_pages))
        except ResourceLimitError:
            raise ResourceLimitError(
                f"The memory could not grow: current size {self.size} pages, requested increase: "
                f"{number_of_pages} pages"
            ) from None

    @property
    def buffer(self) -> Buffer:
        """The memory's current bytes, zero-copy (see `Buffer`)."""
        return self._core.buffer  # a memoryview; Buffer is its virtual class

    def uint8_view(self, offset: int = 0) -> Uint8Array:
        """A live view of the memory as u8 elements, from element `offset`."""
        return Uint8Array._make(self._core, offset)

    def int8_view(self, offset: int = 0) -> Int8Array:
        """A live view of the memory as i8 elements, from element `offset`."""
        return Int8Array._make(self._core, offset)

    def uint16_view(self, offset: int = 0) -> Uint16Array:
        """A live view of the memory as u16 elements, from element `offset` (byte 2 * offset)."""
        return Uint16Array._make(self._core, offset)

    def int16_view(self, offset: int = 0) -> Int16Array:
        """A live view of the memory as i16 elements, from element `offset` (byte 2 * offset)."""
        return Int16Array._make(self._core, offset)

    def uint32_view(self, offset: int = 0) -> Uint32Array:
        """A live view of the memory as u32 elements, from element `offset` (byte 4 * offset)."""
        return Uint32Array._make(self._core, offset)

    def int32_view(self, offset: int = 0) -> Int32Array:
        """A live view of the memory as i32 elements, from element `offset` (byte 4 * offset)."""
        return Int32Array._make(self._core, offset)

    def uint64_view(self, offset: int = 0) -> Uint64Array:
        """A live view of the memory as u64 elements, from element `offset` (byte 8 * offset)."""
        return Uint64Array._make(self._core, offset)

    def int64_view(self, offset: int = 0) -> Int64Array:
        """A live view of the memory as i64 elements, from element `offset` (byte 8 * offset)."""
        return Int64Array._make(self._core, offset)

    def float32_view(self, offset: int = 0) -> Float32Array:
        """A live view of the memory as f32 elements, from element `offset` (byte 4 * offset)."""
        return Float32Array._make(self._core, offset)

    def float64_view(self, offset: int = 0) -> Float64Array:
        """A live view of the memory as f64 elements, from element `offset` (byte 8 * offset)."""
        return Float64Array._make(self._core, offset)

    def __repr__(self) -> str:
        return f"<Memory {self.size} pages>"
