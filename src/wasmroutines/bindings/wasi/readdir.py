"""fd_readdir: a directory's entries as a stream of dirent records, resumable by cookie.

The listing is a snapshot taken when the guest starts at cookie 0 (and kept
on the fd), so cookies stay valid while the guest reads in several calls;
`.` and `..` come first, as on POSIX, then the entries sorted by name (bytewise),
so a listing does not depend on the order the host file system keeps them in
(the virtual root lists its mapped directories the same way, vroot.py)
(deterministic runs must not). An entry's cookie (d_next) is the index
of the entry after it. The buffer is filled completely, the last record cut
short if need be: a full buffer tells the guest to call again.
"""

from __future__ import annotations

import os

from .abi import DIRENT, FileType, Rights
from .errno import Errno
from .errors import WasiError
from .fdtable import FdEntry, filetype_of_mode
from .registry import syscall
from .state import WasiState
from .vroot import VirtualRoot

__all__ = ["fd_readdir"]


def _kind(entry: os.DirEntry[bytes]) -> FileType:
    try:
        if entry.is_symlink():
            return FileType.SYMBOLIC_LINK
        if entry.is_dir(follow_symlinks=False):
            return FileType.DIRECTORY
        if entry.is_file(follow_symlinks=False):
            return FileType.REGULAR_FILE
        return filetype_of_mode(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return FileType.UNKNOWN


def _root_snapshot(st: WasiState, root: VirtualRoot) -> list[tuple[bytes, int, FileType]]:
    """The virtual root's listing: `.` and `..` (the root itself, inode 0), then each mapped directory by name."""
    out = [(b".", 0, FileType.DIRECTORY), (b"..", 0, FileType.DIRECTORY)]
    for name in root.names():
        fd = root.get(name)
        try:
            s = os.fstat(fd) if fd is not None else None
        except OSError:
            s = None
        out.append((name, 0 if s is None else st.host.ino(s.st_dev, s.st_ino), FileType.DIRECTORY))
    return out


def _snapshot(st: WasiState, entry: FdEntry) -> list[tuple[bytes, int, FileType]]:
    if entry.is_virtual_root and entry.vroot is not None:
        return _root_snapshot(st, entry.vroot)
    fd = entry.fd
    ino = st.host.ino  # the host's inode numbers, or virtual ones in deterministic runs (hostview.py)
    here = os.fstat(fd)
    out = [(b".", ino(here.st_dev, here.st_ino), FileType.DIRECTORY)]
    try:
        parent = os.stat(b"..", dir_fd=fd, follow_symlinks=False)
        parent_ino = ino(parent.st_dev, parent.st_ino)
    except OSError:
        parent_ino = 0
    if entry.vroot is not None:
        parent_ino = 0  # a mapped directory's parent is the virtual root, not the host's directory
    out.append((b"..", parent_ino, FileType.DIRECTORY))
    # scandir on a dup: it reads with its own DIR stream and leaves our fd's position alone.
    dup = os.dup(fd)
    listed = []
    try:
        os.lseek(dup, 0, os.SEEK_SET)
        with os.scandir(dup) as it:
            for e in it:
                name = e.name if isinstance(e.name, bytes) else os.fsencode(e.name)
                listed.append((name, e.inode(), _kind(e)))  # type: ignore[arg-type]
    finally:
        os.close(dup)
    listed.sort(key=lambda entry: entry[0])
    # Virtual numbers are handed out in name order, after the sort: the same on every host.
    listed = [(name, ino(here.st_dev, i), kind) for name, i, kind in listed]
    out.extend(listed)
    return out


@syscall("iiiIi")
def fd_readdir(st: WasiState, fd: int, buf: int, buf_len: int, cookie: int, bufused_ptr: int) -> int:
    entry = st.fds.get(fd)
    entry.require(Rights.FD_READDIR)
    if entry.filetype is not FileType.DIRECTORY or (entry.host_fd is None and not entry.is_virtual_root):
        raise WasiError(Errno.NOTDIR)
    if cookie == 0 or entry.dir_entries is None:
        entry.dir_entries = _snapshot(st, entry)
    entries = entry.dir_entries
    out = st.mem.slice(buf, buf_len)
    used = 0
    for index in range(cookie, len(entries)):
        if used >= buf_len:
            break
        name, ino, kind = entries[index]
        record = DIRENT.pack(index + 1, ino, len(name), kind) + name
        n = min(len(record), buf_len - used)
        out[used : used + n] = record[:n]
        used += n
    st.mem.set_u32(bufused_ptr, used)
    return 0
