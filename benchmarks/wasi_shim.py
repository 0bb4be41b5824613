"""A minimal WASI preview1 for the peers that ship none (wasm3, pywasm): just what the benchmark programs call.

The programs need arguments, stdin, stdout/stderr, a clock (CoreMark reads the process CPU-time clock) and
proc_exit; wasi-libc's start-up also asks about fds 0-2 and preopens. Nothing else is linked. There are no
preopened directories and no files: the programs read their input from stdin.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WASI_MODULE = "wasi_snapshot_preview1"
#: snapshot 0 (brotli imports it): the calls here have the same signatures and layouts in both
WASI_MODULES = (WASI_MODULE, "wasi_unstable")

# errno values of preview1
SUCCESS = 0
EBADF = 8
EINVAL = 28
ESPIPE = 70

# clock ids
CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_PROCESS_CPUTIME = 2
CLOCK_THREAD_CPUTIME = 3

FILETYPE_UNKNOWN = 0
ALL_RIGHTS = (1 << 29) - 1

#: name -> (params, results) in wasm value types
SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "args_get": (("i32", "i32"), ("i32",)),
    "args_sizes_get": (("i32", "i32"), ("i32",)),
    "environ_get": (("i32", "i32"), ("i32",)),
    "environ_sizes_get": (("i32", "i32"), ("i32",)),
    "clock_res_get": (("i32", "i32"), ("i32",)),
    "clock_time_get": (("i32", "i64", "i32"), ("i32",)),
    "fd_close": (("i32",), ("i32",)),
    "fd_fdstat_get": (("i32", "i32"), ("i32",)),
    "fd_fdstat_set_flags": (("i32", "i32"), ("i32",)),
    "fd_prestat_get": (("i32", "i32"), ("i32",)),
    "fd_prestat_dir_name": (("i32", "i32", "i32"), ("i32",)),
    "fd_read": (("i32", "i32", "i32", "i32"), ("i32",)),
    "fd_seek": (("i32", "i64", "i32", "i32"), ("i32",)),
    "fd_write": (("i32", "i32", "i32", "i32"), ("i32",)),
    "path_open": (("i32", "i32", "i32", "i32", "i32", "i64", "i64", "i32", "i32"), ("i32",)),
    "path_filestat_get": (("i32", "i32", "i32", "i32", "i32"), ("i32",)),
    "path_unlink_file": (("i32", "i32", "i32"), ("i32",)),
    "proc_exit": (("i32",), ()),
}


class WasiExit(Exception):
    """proc_exit(code): unwinds the guest through the peer's host-call machinery."""

    def __init__(self, code: int) -> None:
        super().__init__(f"proc_exit({code})")
        self.code = code


_MASKS = {"i32": 0xFFFF_FFFF, "i64": 0xFFFF_FFFF_FFFF_FFFF}


def _unsigned(func: Callable[..., int | None], params: tuple[str, ...]) -> Callable[..., int | None]:
    masks = tuple(_MASKS[p] for p in params)

    def call(*args: int) -> int | None:
        return func(*(a & m for a, m in zip(args, masks, strict=True)))

    call.__name__ = func.__name__
    return call


def now_ns(clock_id: int) -> int | None:
    """The clock's time in ns, None for an unknown clock id."""
    if clock_id == CLOCK_REALTIME:
        return time.time_ns()
    if clock_id == CLOCK_MONOTONIC:
        return time.monotonic_ns()
    if clock_id == CLOCK_PROCESS_CPUTIME:
        return time.process_time_ns()
    if clock_id == CLOCK_THREAD_CPUTIME:
        return time.thread_time_ns()
    return None


@dataclass
class WasiShim:
    """One program run: its argv and stdin, and what it wrote. `memory()` returns the guest memory, fetched anew
    on every call because memory.grow may move it (wasm3) or replace it."""

    argv: list[str]
    stdin: bytes = b""
    memory: Callable[[], Any] = field(default=lambda: bytearray())
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    _stdin_pos: int = 0

    def imports(self) -> dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...], Callable[..., int | None]]]:
        """(module, name) -> (params, results, function) under both WASI module names."""
        functions = self.functions()
        return {(module, name): (*SIGNATURES[name], functions[name]) for module in WASI_MODULES for name in functions}

    def functions(self) -> dict[str, Callable[..., int | None]]:
        """The host functions by preview1 name. They take the arguments as unsigned ints, whatever sign the peer
        gives them (wasm3 passes i32 as signed), and return an errno."""
        return {name: _unsigned(getattr(self, name), SIGNATURES[name][0]) for name in SIGNATURES}

    # arguments and environment

    def _encoded_args(self) -> list[bytes]:
        return [a.encode() + b"\0" for a in self.argv]

    def args_sizes_get(self, argc_ptr: int, buf_size_ptr: int) -> int:
        args = self._encoded_args()
        mem = self.memory()
        struct.pack_into("<I", mem, argc_ptr, len(args))
        struct.pack_into("<I", mem, buf_size_ptr, sum(len(a) for a in args))
        return SUCCESS

    def args_get(self, argv_ptr: int, buf_ptr: int) -> int:
        mem = self.memory()
        for i, arg in enumerate(self._encoded_args()):
            struct.pack_into("<I", mem, argv_ptr + 4 * i, buf_ptr)
            mem[buf_ptr : buf_ptr + len(arg)] = arg
            buf_ptr += len(arg)
        return SUCCESS

    def environ_sizes_get(self, count_ptr: int, buf_size_ptr: int) -> int:
        mem = self.memory()
        struct.pack_into("<I", mem, count_ptr, 0)
        struct.pack_into("<I", mem, buf_size_ptr, 0)
        return SUCCESS

    def environ_get(self, environ_ptr: int, buf_ptr: int) -> int:
        return SUCCESS

    # clocks

    def clock_res_get(self, clock_id: int, res_ptr: int) -> int:
        if now_ns(clock_id) is None:
            return EINVAL
        struct.pack_into("<Q", self.memory(), res_ptr, 1000)
        return SUCCESS

    def clock_time_get(self, clock_id: int, precision: int, time_ptr: int) -> int:
        now = now_ns(clock_id)
        if now is None:
            return EINVAL
        struct.pack_into("<Q", self.memory(), time_ptr, now)
        return SUCCESS

    # stdio

    def _iovecs(self, mem: Any, iovs: int, count: int) -> list[tuple[int, int]]:
        return [struct.unpack_from("<II", mem, iovs + 8 * i) for i in range(count)]

    def fd_write(self, fd: int, iovs: int, iovs_len: int, nwritten_ptr: int) -> int:
        if fd == 1:
            sink = self.stdout
        elif fd == 2:
            sink = self.stderr
        else:
            return EBADF
        mem = self.memory()
        total = 0
        for ptr, size in self._iovecs(mem, iovs, iovs_len):
            sink += mem[ptr : ptr + size]
            total += size
        struct.pack_into("<I", mem, nwritten_ptr, total)
        return SUCCESS

    def fd_read(self, fd: int, iovs: int, iovs_len: int, nread_ptr: int) -> int:
        if fd != 0:
            return EBADF
        mem = self.memory()
        total = 0
        for ptr, size in self._iovecs(mem, iovs, iovs_len):
            chunk = self.stdin[self._stdin_pos : self._stdin_pos + size]
            mem[ptr : ptr + len(chunk)] = chunk
            self._stdin_pos += len(chunk)
            total += len(chunk)
            if len(chunk) < size:
                break
        struct.pack_into("<I", mem, nread_ptr, total)
        return SUCCESS

    def fd_seek(self, fd: int, offset: int, whence: int, newoffset_ptr: int) -> int:
        return ESPIPE if fd <= 2 else EBADF

    def fd_close(self, fd: int) -> int:
        return SUCCESS if fd <= 2 else EBADF

    def fd_fdstat_get(self, fd: int, stat_ptr: int) -> int:
        if fd > 2:
            return EBADF
        # like a pipe: not a tty, so wasi-libc buffers stdout fully, as it does under wasmtime with a file
        struct.pack_into("<BxHxxxxQQ", self.memory(), stat_ptr, FILETYPE_UNKNOWN, 0, ALL_RIGHTS, ALL_RIGHTS)
        return SUCCESS

    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        return SUCCESS if fd <= 2 else EBADF

    def fd_prestat_get(self, fd: int, prestat_ptr: int) -> int:
        return EBADF  # no preopened directories

    def fd_prestat_dir_name(self, fd: int, path_ptr: int, path_len: int) -> int:
        return EBADF

    def path_open(
        self,
        dirfd: int,
        dirflags: int,
        path_ptr: int,
        path_len: int,
        oflags: int,
        rights_base: int,
        rights_inheriting: int,
        fdflags: int,
        fd_ptr: int,
    ) -> int:
        return EBADF

    def path_filestat_get(self, dirfd: int, flags: int, path_ptr: int, path_len: int, stat_ptr: int) -> int:
        return EBADF

    def path_unlink_file(self, dirfd: int, path_ptr: int, path_len: int) -> int:
        return EBADF

    # process

    def proc_exit(self, code: int) -> None:
        raise WasiExit(code)
