"""Memory: a linear memory, with zero-copy access from Python.

The C core reserves a memory's whole address range once, so its base never
moves: a buffer taken before `grow` stays valid (it just does not see the new
pages; take a new one).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from . import _externtype
from ._ffi import NULL, address, ffi, lib
from .errors import ResourceLimitError
from .store import Store, StoreObject
from .types import MemoryType

__all__ = ["PAGE_SIZE", "Memory"]

PAGE_SIZE = 65536
MAX_PAGES = 65536
#: What a 64-bit memory may declare (memory64): 2^48 pages. What it gets is up to the host and the store's
#: max_memory_pages; a minimum beyond that raises ResourceLimitError, a maximum beyond it makes grow fail there.
MAX_PAGES64 = 1 << 48


def _released(owner: Memory, _ptr: Any) -> None:
    """The destructor of Memory._owning_data: it holds `owner` (so its store) and frees nothing, but a closed
    store waits for the last of these to free its memories (store.py)."""
    owner._store._native.buffer_released()


class Memory(StoreObject):
    """A linear memory of a store. `Memory(store, MemoryType(minimum, maximum))` makes one."""

    def __init__(self, store: Store, type: MemoryType) -> None:
        if type.maximum is not None and type.maximum < type.minimum:
            raise ValueError(f"memory maximum ({type.maximum} pages) is less than the minimum ({type.minimum} pages)")
        if type.minimum < 0:
            raise ValueError("memory minimum must not be negative")
        if type.is64:
            if max(type.minimum, type.maximum or 0) > MAX_PAGES64:
                raise ValueError(f"a 64-bit memory's size must be at most {MAX_PAGES64} pages (2^64 bytes)")
        elif max(type.minimum, type.maximum or 0) > MAX_PAGES:
            raise ValueError(f"memory size must be at most {MAX_PAGES} pages (4 GiB)")
        has_max = type.maximum is not None
        ptr = lib.wr_api_memory_new(store._ptr, type.minimum, type.maximum or 0, has_max, type.shared, type.is64)
        if ptr == NULL:
            cap = store._max_memory_pages
            if cap is not None and type.minimum > cap:
                raise ResourceLimitError(
                    f"memory size {type.minimum} pages over the store's limit of {cap} (max_memory_pages)",
                    "max_memory_pages",
                )
            raise ResourceLimitError(f"cannot create a memory of {type.minimum} pages")
        self._ptr = ptr
        self._store = store
        store._remember(address(ptr), self)

    @classmethod
    def _from_ptr(cls, store: Store, ptr: Any) -> Memory:
        addr = address(ptr)
        wrapper = store._wrapper(addr, cls)
        if wrapper is None:
            wrapper = cls.__new__(cls)
            wrapper._ptr = ffi.cast("wr_memory *", ptr)
            wrapper._store = store
            store._remember(addr, wrapper)
        return wrapper

    @property
    def type(self) -> MemoryType:
        et = _externtype.new()
        lib.wr_api_memory_type(self._ptr, et)
        t = _externtype.read(et)
        assert isinstance(t, MemoryType)
        return t

    @property
    def data_size(self) -> int:
        """Current size in bytes."""
        return int(lib.wr_api_memory_size(self._ptr))

    @property
    def size(self) -> int:
        """Current size in 64 KiB pages."""
        return self.data_size // PAGE_SIZE

    def grow(self, delta: int) -> int:
        """Grow by `delta` pages; returns the previous size in pages."""
        if delta < 0:
            raise ValueError("memory cannot shrink")
        old = int(lib.wr_api_memory_grow(self._ptr, min(delta, 2**64 - 1)))
        if old < 0:
            message = f"the memory could not grow: current size {self.size} pages, requested increase: {delta} pages"
            cap, maximum = self._store._max_memory_pages, self.type.maximum
            if cap is not None and self.size + delta > cap and (maximum is None or self.size + delta <= maximum):
                raise ResourceLimitError(
                    f"{message}, over the store's limit of {cap} (max_memory_pages)", "max_memory_pages"
                )
            raise ResourceLimitError(message)
        return old

    @property
    def buffer(self) -> memoryview:
        """A writable, zero-copy view of the memory's current bytes (format 'B').

        The view keeps this Memory, hence its store, alive: the bytes cannot be
        freed under it, not even by Store.close(), which frees the store's
        memories once the last view is gone. Its length is the size when taken; memory never shrinks
        and its base never moves, so it stays in bounds after `grow`.
        """
        size = self.data_size
        if size == 0:
            return memoryview(bytearray())
        return memoryview(ffi.buffer(self._owning_data(), size))

    def _owning_data(self) -> Any:
        """The memory's base pointer as a cdata that keeps this Memory alive while it lives.

        ffi.gc holds its destructor, and the destructor holds `self`; it frees nothing (see _released).
        """
        data = lib.wr_api_memory_data(self._ptr)
        owned = ffi.gc(data, partial(_released, self))
        self._store._native.buffers += 1
        return owned

    def _check(self, offset: int, size: int) -> None:
        if offset < 0 or size < 0 or offset + size > self.data_size:
            raise IndexError(f"memory access out of bounds: {size} bytes at {offset} (size {self.data_size})")

    def read(self, offset: int, size: int) -> bytes:
        """A copy of `size` bytes at `offset`."""
        self._check(offset, size)
        if size == 0:
            return b""
        return bytes(ffi.buffer(lib.wr_api_memory_data(self._ptr) + offset, size))

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Copy `data` into the memory at `offset`."""
        data = memoryview(data).cast("B")
        self._check(offset, len(data))
        if len(data):
            ffi.memmove(lib.wr_api_memory_data(self._ptr) + offset, data, len(data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Memory) and other._store is self._store and other._cptr == self._cptr

    def __hash__(self) -> int:
        return hash(address(self._cptr))

    def __repr__(self) -> str:
        if self._store.closed:
            return "<Memory of a closed store>"
        return f"<Memory {self.size} pages>"
