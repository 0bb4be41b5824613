"""A stand-in guest for WASI tests: calls the WASI host functions directly, as wasm would.

It owns a store, a scratch memory the environment is bound to, and a bump
allocator in that memory for strings, iovecs and result slots, so a test can
say `g.call("path_open", ...)` and read results back without writing wasm.
"""

from __future__ import annotations

import struct

from wasmroutines import Memory, MemoryType, Store
from wasmroutines.bindings.wasi import PREVIEW1_MODULE, WasiConfig, WasiEnvironment

ALL_RIGHTS = (1 << 30) - 1
LOOKUP_FOLLOW = 1


class Guest:
    def __init__(self, config: WasiConfig | None = None, pages: int = 2) -> None:
        self.store = Store()
        self.memory = Memory(self.store, MemoryType(pages))
        self.env = WasiEnvironment(config)
        self.env.bind(self.memory)
        self._next = 1024

    def close(self) -> None:
        self.env.close()

    def call(self, name: str, *args: int, module: str = PREVIEW1_MODULE) -> int:
        result = self.env.function(self.store, module, name)(*args)
        return 0 if result is None else int(result)

    # ---- memory ----

    def alloc(self, size: int, align: int = 8) -> int:
        ptr = (self._next + align - 1) & ~(align - 1)
        self._next = ptr + size
        assert self._next <= self.memory.data_size
        return ptr

    def bytes_at(self, data: bytes) -> tuple[int, int]:
        ptr = self.alloc(max(1, len(data)), 1)
        self.memory.write(ptr, data)
        return ptr, len(data)

    def read(self, ptr: int, size: int) -> bytes:
        return self.memory.read(ptr, size)

    def u32(self, ptr: int) -> int:
        return int(struct.unpack("<I", self.read(ptr, 4))[0])

    def u64(self, ptr: int) -> int:
        return int(struct.unpack("<Q", self.read(ptr, 8))[0])

    def iovecs(self, *sizes_or_data: int | bytes) -> tuple[int, int, list[int]]:
        """An iovec array; ints reserve buffers, bytes fill them. Returns (ptr, count, buffer addresses)."""
        bufs = []
        for item in sizes_or_data:
            if isinstance(item, bytes):
                bufs.append(self.bytes_at(item))
            else:
                bufs.append((self.alloc(max(1, item), 1), item))
        arr = self.alloc(8 * len(bufs), 4)
        for i, (p, n) in enumerate(bufs):
            self.memory.write(arr + 8 * i, struct.pack("<II", p, n))
        return arr, len(bufs), [p for p, _ in bufs]

    # ---- common calls ----

    def open(
        self,
        dirfd: int,
        path: str | bytes,
        oflags: int = 0,
        *,
        follow: bool = False,
        base: int = ALL_RIGHTS,
        inheriting: int = ALL_RIGHTS,
        fdflags: int = 0,
    ) -> tuple[int, int]:
        """path_open; (errno, new fd)."""
        raw = path.encode() if isinstance(path, str) else path
        p, n = self.bytes_at(raw)
        out = self.alloc(4, 4)
        err = self.call(
            "path_open", dirfd, LOOKUP_FOLLOW if follow else 0, p, n, oflags, base, inheriting, fdflags, out
        )
        return err, self.u32(out) if err == 0 else -1

    def path_call(self, name: str, dirfd: int, path: str | bytes, *rest: int) -> int:
        """A path_* call of shape (fd, path, len, *rest)."""
        raw = path.encode() if isinstance(path, str) else path
        p, n = self.bytes_at(raw)
        return self.call(name, dirfd, p, n, *rest)

    def write(self, fd: int, data: bytes) -> tuple[int, int]:
        arr, count, _ = self.iovecs(data)
        out = self.alloc(4, 4)
        err = self.call("fd_write", fd, arr, count, out)
        return err, self.u32(out)

    def read_fd(self, fd: int, size: int) -> tuple[int, bytes]:
        arr, count, (buf,) = self.iovecs(size)
        out = self.alloc(4, 4)
        err = self.call("fd_read", fd, arr, count, out)
        return err, self.read(buf, self.u32(out)) if err == 0 else b""

    def filestat(self, dirfd: int, path: str, follow: bool = False) -> tuple[int, bytes]:
        raw = path.encode()
        p, n = self.bytes_at(raw)
        buf = self.alloc(64)
        err = self.call("path_filestat_get", dirfd, LOOKUP_FOLLOW if follow else 0, p, n, buf)
        return err, self.read(buf, 64)
