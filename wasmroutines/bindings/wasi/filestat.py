"""filestat records and timestamp updates, shared by fd_* and path_* calls."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .abi import FILESTAT, FileType, FstFlags
from .errno import Errno
from .errors import WasiError
from .fdtable import filetype_of_mode
from .guest import GuestMemory

__all__ = ["FilestatWriter", "new_times", "write_filestat"]

#: Writes a filestat for an os.stat_result (or None: a stream with no host file) at a guest pointer.
FilestatWriter = Callable[[GuestMemory, int, "os.stat_result | None", FileType], None]


def write_filestat(mem: GuestMemory, ptr: int, st: os.stat_result | None, filetype: FileType) -> None:
    """The preview1 filestat (snapshot 0 has its own layout: snapshot0.py)."""
    if st is None:
        mem.pack(FILESTAT, ptr, 0, 0, filetype, 0, 0, 0, 0, 0)
        return
    mem.pack(
        FILESTAT,
        ptr,
        st.st_dev,
        st.st_ino,
        filetype_of_mode(st.st_mode),
        st.st_nlink,
        st.st_size,
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )


def new_times(atim: int, mtim: int, fstflags: int, current: Callable[[], os.stat_result]) -> tuple[int, int]:
    """The (atime, mtime) in ns to set, from WASI's fstflags; `current` supplies the times left unchanged.

    Python's os.utime has no UTIME_OMIT, so an unchanged time is re-set to its current value.
    """
    if fstflags & ~0xF:
        raise WasiError(Errno.INVAL)
    if fstflags & FstFlags.ATIM and fstflags & FstFlags.ATIM_NOW:
        raise WasiError(Errno.INVAL)
    if fstflags & FstFlags.MTIM and fstflags & FstFlags.MTIM_NOW:
        raise WasiError(Errno.INVAL)
    now = time.time_ns()
    a: int | None = None
    m: int | None = None
    if fstflags & FstFlags.ATIM:
        a = atim
    elif fstflags & FstFlags.ATIM_NOW:
        a = now
    if fstflags & FstFlags.MTIM:
        m = mtim
    elif fstflags & FstFlags.MTIM_NOW:
        m = now
    if a is None or m is None:
        st = current()
        a = st.st_atime_ns if a is None else a
        m = st.st_mtime_ns if m is None else m
    return a, m
