"""Checked access to the guest's linear memory from WASI calls.

A WASI call takes pointers and lengths from the guest; every one is checked
here against the memory's current size before it is used, and a bad one
raises GuestFault (the call returns EFAULT). Slices are zero-copy views into
the memory (the C core never moves a memory's base), so reads and writes into
iovecs go straight between the host fd and wasm memory.

A recorder (core/record.py) sets `touched` to a list while a call runs: every
region the call is handed (slices, iovecs, packed fields) is appended with
its bytes before the call, so the bytes the call wrote can be found after it.
"""

from __future__ import annotations

import struct

from ...core.memory import Memory
from .abi import IOVEC
from .errors import GuestFault, WasiUsageError

__all__ = ["GuestMemory"]

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class GuestMemory:
    """The memory a WASI environment reads and writes; bound after instantiation."""

    def __init__(self) -> None:
        self._memory: Memory | None = None
        self._view = memoryview(b"")
        self._size = -1
        #: While a recorder watches a call: (address, bytes before the call) of every region handed out.
        self.touched: list[tuple[int, bytes]] | None = None

    @property
    def memory(self) -> Memory | None:
        return self._memory

    def bind(self, memory: Memory | None) -> None:
        self._memory = memory
        self._size = -1

    def view(self) -> memoryview:
        """The whole memory as a writable byte view (refreshed when the memory has grown)."""
        mem = self._memory
        if mem is None:
            raise WasiUsageError("the WASI environment is not bound to a memory (bind it to the instance first)")
        size = mem.data_size
        if size != self._size:
            self._view = mem.buffer
            self._size = size
        return self._view

    def slice(self, ptr: int, size: int) -> memoryview:
        """`size` bytes at `ptr`, as a view into the memory."""
        view = self.view()
        end = ptr + size
        if ptr < 0 or size < 0 or end > len(view):
            raise GuestFault(f"{size} bytes at {ptr:#x}")
        if self.touched is not None:
            self.touched.append((ptr, bytes(view[ptr:end])))
        return view[ptr:end]

    def read(self, ptr: int, size: int) -> bytes:
        return bytes(self.slice(ptr, size))

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        n = len(data)
        self.slice(ptr, n)[:] = data

    def unpack(self, layout: struct.Struct, ptr: int) -> tuple[int, ...]:
        view = self.view()
        if ptr < 0 or ptr + layout.size > len(view):
            raise GuestFault(f"{layout.size} bytes at {ptr:#x}")
        return layout.unpack_from(view, ptr)

    def pack(self, layout: struct.Struct, ptr: int, *values: int) -> None:
        view = self.view()
        if ptr < 0 or ptr + layout.size > len(view):
            raise GuestFault(f"{layout.size} bytes at {ptr:#x}")
        if self.touched is not None:
            self.touched.append((ptr, bytes(view[ptr : ptr + layout.size])))
        layout.pack_into(view, ptr, *values)

    def u8(self, ptr: int) -> int:
        return self.unpack(_U8, ptr)[0]

    def u32(self, ptr: int) -> int:
        return self.unpack(_U32, ptr)[0]

    def u64(self, ptr: int) -> int:
        return self.unpack(_U64, ptr)[0]

    def set_u8(self, ptr: int, value: int) -> None:
        self.pack(_U8, ptr, value)

    def set_u16(self, ptr: int, value: int) -> None:
        self.pack(_U16, ptr, value)

    def set_u32(self, ptr: int, value: int) -> None:
        self.pack(_U32, ptr, value & 0xFFFF_FFFF)

    def set_u64(self, ptr: int, value: int) -> None:
        self.pack(_U64, ptr, value & 0xFFFF_FFFF_FFFF_FFFF)

    def iovecs(self, ptr: int, count: int) -> list[memoryview]:
        """The buffers of an iovec array, as views into the memory (empty ones kept: they count)."""
        view = self.view()
        if count < 0 or ptr < 0 or ptr + count * IOVEC.size > len(view):
            raise GuestFault(f"{count} iovecs at {ptr:#x}")
        out = []
        unpack = IOVEC.unpack_from
        limit = len(view)
        for i in range(count):
            buf, n = unpack(view, ptr + i * IOVEC.size)
            if buf + n > limit:
                raise GuestFault(f"iovec of {n} bytes at {buf:#x}")
            out.append(view[buf : buf + n])
        if self.touched is not None:
            for i in range(count):
                buf, n = unpack(view, ptr + i * IOVEC.size)
                self.touched.append((buf, bytes(view[buf : buf + n])))
        return out
