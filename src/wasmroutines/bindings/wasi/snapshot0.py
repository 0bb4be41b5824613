"""wasi_unstable (snapshot 0): the calls whose ABI differs from preview1.

Every other snapshot 0 call has preview1's signature and meaning, and is
shared. What differs, and is handled here:

- `whence` numbering: snapshot 0 has CUR=0, END=1, SET=2 (fd_seek);
- `filestat`: nlink is a u32 (at offset 20), so the record is 56 bytes
  (fd_filestat_get, path_filestat_get);
- `subscription`: the clock variant starts with a u64 `identifier`, so the
  clock fields sit 8 bytes later and a subscription is 56 bytes (poll_oneoff).

Not in snapshot 0 at all: sock_accept. Not handled (no known program needs
them): snapshot 0's rights bits beyond preview1's are the same, so nothing
else is translated; `fd_filestat_set_times`/`path_filestat_set_times` and
`event` records have the same layouts in both.
"""

from __future__ import annotations

import struct

from .abi import FileType, Whence
from .errno import Errno
from .errors import WasiError
from .fd import filestat_get as fd_filestat_get_common
from .fd import seek
from .fdtable import filetype_of_mode
from .guest import GuestMemory
from .hostview import StatLike
from .path import filestat_get as path_filestat_get_common
from .poll import SubscriptionLayout, poll
from .registry import syscall
from .state import WasiState

__all__ = ["FILESTAT0", "SNAPSHOT0_MISSING"]

#: filestat of snapshot 0: dev, ino, filetype u8 (at 16), nlink u32 (at 20), size, atim, mtim, ctim.
FILESTAT0 = struct.Struct("<QQB3xIQQQQ")
assert FILESTAT0.size == 56

_WHENCE0 = {0: Whence.CUR, 1: Whence.END, 2: Whence.SET}
_LAYOUT0 = SubscriptionLayout(size=56, clock_offset=24, fd_offset=16)

#: preview1 calls snapshot 0 does not have.
SNAPSHOT0_MISSING = frozenset({"sock_accept"})


def _write_filestat0(mem: GuestMemory, ptr: int, st: StatLike | None, filetype: FileType) -> None:
    if st is None:
        mem.pack(FILESTAT0, ptr, 0, 0, filetype, 0, 0, 0, 0, 0)
        return
    mem.pack(
        FILESTAT0,
        ptr,
        st.st_dev,
        st.st_ino,
        filetype_of_mode(st.st_mode),
        min(st.st_nlink, 0xFFFF_FFFF),
        st.st_size,
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )


@syscall("iqii", name="fd_seek", snapshot0=True)
def fd_seek0(st: WasiState, fd: int, offset: int, whence: int, newoffset_ptr: int) -> int:
    if whence not in _WHENCE0:
        raise WasiError(Errno.INVAL)
    return seek(st, fd, offset, _WHENCE0[whence], newoffset_ptr)


@syscall("ii", name="fd_filestat_get", snapshot0=True)
def fd_filestat_get0(st: WasiState, fd: int, ptr: int) -> int:
    return fd_filestat_get_common(st, fd, ptr, _write_filestat0)


@syscall("iiiii", name="path_filestat_get", snapshot0=True)
def path_filestat_get0(st: WasiState, fd: int, flags: int, path: int, path_len: int, buf: int) -> int:
    return path_filestat_get_common(st, fd, flags, path, path_len, buf, _write_filestat0)


@syscall("iiii", name="poll_oneoff", snapshot0=True)
def poll_oneoff0(st: WasiState, in_ptr: int, out_ptr: int, nsubs: int, nevents_ptr: int) -> int:
    return poll(st, in_ptr, out_ptr, nsubs, nevents_ptr, _LAYOUT0)
