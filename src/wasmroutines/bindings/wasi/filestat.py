"""filestat records and timestamp updates, shared by fd_* and path_* calls.

The values come through the state's HostView (hostview.py): the host's own, or virtual in
deterministic runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .abi import FILESTAT, ClockId, FileType, FstFlags
from .clock import now
from .errno import Errno
from .errors import WasiError
from .fdtable import filetype_of_mode
from .guest import GuestMemory
from .hostview import StatLike
from .state import WasiState

__all__ = ["FilestatWriter", "new_times", "set_times", "write_filestat"]

#: Writes a filestat for a stat (or None: a stream with no host file) at a guest pointer.
FilestatWriter = Callable[[GuestMemory, int, "StatLike | None", FileType], None]


def write_filestat(mem: GuestMemory, ptr: int, st: StatLike | None, filetype: FileType) -> None:
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


def set_times(
    st: WasiState,
    atim: int,
    mtim: int,
    fstflags: int,
    current: Callable[[], os.stat_result],
    apply: Callable[[tuple[int, int]], None],
) -> None:
    """fd_/path_filestat_set_times: work out the new times, `apply` them to the host file, tell the HostView.

    In deterministic runs `*_NOW` is the virtual wall clock and a time left unchanged is the one the
    guest saw (hostview.py), never the host file's own.
    """
    host = st.host
    if host.virtual:
        times = new_times(atim, mtim, fstflags, lambda: host.stat(current()), now(st, ClockId.REALTIME))
    else:
        times = new_times(atim, mtim, fstflags, current)
    apply(times)
    if host.virtual:
        host.times_set(current(), *times)


def new_times(
    atim: int, mtim: int, fstflags: int, current: Callable[[], StatLike], now_ns: int | None = None
) -> tuple[int, int]:
    """The (atime, mtime) in ns to set, from WASI's fstflags; `current` supplies the times left unchanged.

    Python's os.utime has no UTIME_OMIT, so an unchanged time is re-set to its current value.
    `now_ns` is what `*_NOW` means (default: the host's wall clock).
    """
    if fstflags & ~0xF:
        raise WasiError(Errno.INVAL)
    if fstflags & FstFlags.ATIM and fstflags & FstFlags.ATIM_NOW:
        raise WasiError(Errno.INVAL)
    if fstflags & FstFlags.MTIM and fstflags & FstFlags.MTIM_NOW:
        raise WasiError(Errno.INVAL)
    now = time.time_ns() if now_ns is None else now_ns
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
