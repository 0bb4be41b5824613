"""path_* calls: everything a guest does by name, beneath a directory fd.

Every path goes through sandbox.resolve() first, which walks it component by
component inside the directory (see sandbox.py for the rules); the host call
then acts on (parent dir fd, final name) with an *at() function and never
follows a symlink itself.
"""

from __future__ import annotations

import os
import stat

from .abi import DIR_INHERITING, DIR_RIGHTS, FILE_RIGHTS, STREAM_RIGHTS, FdFlags, FileType, LookupFlags, OFlags, Rights
from .errno import Errno
from .errors import WasiError
from .fdtable import FdEntry, filetype_of_mode
from .filestat import FilestatWriter, set_times, write_filestat
from .registry import syscall
from .sandbox import Resolved, decode_path, resolve
from .state import WasiState

__all__ = ["filestat_get"]

_WRITE_RIGHTS = int(Rights.FD_WRITE | Rights.FD_DATASYNC | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE)
_READ_RIGHTS = int(Rights.FD_READ | Rights.FD_READDIR)
_FDFLAGS_HOST = (
    (FdFlags.APPEND, os.O_APPEND),
    (FdFlags.DSYNC, getattr(os, "O_DSYNC", 0)),
    (FdFlags.RSYNC, getattr(os, "O_RSYNC", 0)),
    (FdFlags.SYNC, os.O_SYNC),
)


def _dir(st: WasiState, fd: int, rights: int) -> FdEntry:
    """The directory entry `fd`, with `rights`: ENOTDIR for a non-directory, ENOTCAPABLE without the rights."""
    entry = st.fds.get(fd)
    if entry.filetype is not FileType.DIRECTORY or (entry.host_fd is None and not entry.is_virtual_root):
        raise WasiError(Errno.NOTDIR)
    entry.require(rights)
    return entry


def _resolve(
    st: WasiState, d: FdEntry, ptr: int, size: int, *, follow: bool, lookup: bool, create: bool = False
) -> Resolved:
    """Resolve a guest path beneath directory entry `d` (a host directory, or the virtual root: vroot.py)."""
    return resolve(d.host_fd, st.mem.read(ptr, size), follow=follow, lookup=lookup, create=create, root=d.vroot)


def _before_removing(st: WasiState, r: Resolved) -> os.stat_result | None:
    """In deterministic runs, the lstat of a name about to go, for HostView.removed once it has."""
    if not st.host.virtual:
        return None
    try:
        return os.stat(r.name, dir_fd=r.dir_fd, follow_symlinks=False)
    except OSError:
        return None


def _removed(st: WasiState, gone: os.stat_result | None) -> None:
    if gone is not None:
        st.host.removed(gone)


def _lstat_checked(r: Resolved) -> os.stat_result:
    """lstat of a resolved path; ENOTDIR when a trailing slash names a non-directory."""
    s = os.stat(r.name, dir_fd=r.dir_fd, follow_symlinks=False)
    if r.trailing and not stat.S_ISDIR(s.st_mode):
        raise WasiError(Errno.NOTDIR)
    return s


@syscall("iii")
def path_create_directory(st: WasiState, fd: int, path: int, path_len: int) -> int:
    d = _dir(st, fd, Rights.PATH_CREATE_DIRECTORY)
    with _resolve(st, d, path, path_len, follow=False, lookup=False) as r:
        os.mkdir(r.host_name, dir_fd=r.dir_fd)
    return 0


def filestat_get(st: WasiState, fd: int, flags: int, path: int, path_len: int, buf: int, write: FilestatWriter) -> int:
    d = _dir(st, fd, Rights.PATH_FILESTAT_GET)
    with _resolve(st, d, path, path_len, follow=bool(flags & LookupFlags.SYMLINK_FOLLOW), lookup=True) as r:
        if r.is_root:
            write(st.mem, buf, None, FileType.DIRECTORY)  # the virtual root: a directory with no host file
            return 0
        s = _lstat_checked(r)
    write(st.mem, buf, st.host.stat(s), filetype_of_mode(s.st_mode))
    return 0


@syscall("iiiii")
def path_filestat_get(st: WasiState, fd: int, flags: int, path: int, path_len: int, buf: int) -> int:
    return filestat_get(st, fd, flags, path, path_len, buf, write_filestat)


@syscall("iiiiIIi")
def path_filestat_set_times(
    st: WasiState, fd: int, flags: int, path: int, path_len: int, atim: int, mtim: int, fstflags: int
) -> int:
    d = _dir(st, fd, Rights.PATH_FILESTAT_SET_TIMES)
    with _resolve(st, d, path, path_len, follow=bool(flags & LookupFlags.SYMLINK_FOLLOW), lookup=True) as r:

        def apply(times: tuple[int, int]) -> None:
            if r.trailing:
                _lstat_checked(r)
            os.utime(r.name, ns=times, dir_fd=r.dir_fd, follow_symlinks=False)

        set_times(st, atim, mtim, fstflags, lambda: _lstat_checked(r), apply)
    return 0


@syscall("iiiiiii")
def path_link(
    st: WasiState, old_fd: int, old_flags: int, old_path: int, old_len: int, new_fd: int, new_path: int, new_len: int
) -> int:
    src = _dir(st, old_fd, Rights.PATH_LINK_SOURCE)
    dst = _dir(st, new_fd, Rights.PATH_LINK_TARGET)
    follow = bool(old_flags & LookupFlags.SYMLINK_FOLLOW)
    with (
        _resolve(st, src, old_path, old_len, follow=follow, lookup=True) as a,
        _resolve(st, dst, new_path, new_len, follow=False, lookup=False) as b,
    ):
        os.link(a.host_name, b.host_name, src_dir_fd=a.dir_fd, dst_dir_fd=b.dir_fd, follow_symlinks=False)
    return 0


def _open_flags(oflags: int, fdflags: int, base: int, trailing: bool) -> int:
    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    if oflags & OFlags.CREAT:
        flags |= os.O_CREAT
    if oflags & OFlags.EXCL:
        flags |= os.O_EXCL
    if oflags & OFlags.TRUNC:
        flags |= os.O_TRUNC
    if oflags & OFlags.DIRECTORY or trailing:
        flags |= os.O_DIRECTORY
    for wasi_flag, host_flag in _FDFLAGS_HOST:
        if fdflags & wasi_flag:
            flags |= host_flag
    write = base & _WRITE_RIGHTS
    read = base & _READ_RIGHTS
    if write and read:
        flags |= os.O_RDWR
    elif write:
        flags |= os.O_WRONLY
    else:
        flags |= os.O_RDONLY
    return flags


@syscall("iiiiiIIii")
def path_open(
    st: WasiState,
    fd: int,
    dirflags: int,
    path: int,
    path_len: int,
    oflags: int,
    base: int,
    inheriting: int,
    fdflags: int,
    fd_ptr: int,
) -> int:
    needed = int(Rights.PATH_OPEN)
    if oflags & OFlags.CREAT:
        needed |= Rights.PATH_CREATE_FILE
    if oflags & OFlags.TRUNC:
        needed |= Rights.PATH_FILESTAT_SET_SIZE
    d = _dir(st, fd, needed)
    if oflags & ~0xF or fdflags & ~0x1F:
        raise WasiError(Errno.INVAL)
    # Rights asked beyond what the directory hands down are dropped, not refused (as wasi-libc asks for all).
    base &= d.rights_inheriting
    inheriting &= d.rights_inheriting
    follow = bool(dirflags & LookupFlags.SYMLINK_FOLLOW)
    with _resolve(st, d, path, path_len, follow=follow, lookup=True, create=bool(oflags & OFlags.CREAT)) as r:
        if r.is_root:
            if oflags & OFlags.TRUNC or base & _WRITE_RIGHTS:
                raise WasiError(Errno.ISDIR)  # what the host says to opening a directory for writing
            root = FdEntry(FileType.DIRECTORY, base & DIR_RIGHTS, inheriting & DIR_INHERITING, vroot=d.vroot)
            root.flags = fdflags
            st.mem.set_u32(fd_ptr, st.fds.add(root))
            return 0
        mapped_in = r.mapped_in
        # 0o666, less the umask, for a file it creates: a data file, not an executable (as wasmtime does).
        host_fd = os.open(r.name, _open_flags(oflags, fdflags, base, r.trailing), 0o666, dir_fd=r.dir_fd)
    try:
        mode = os.fstat(host_fd).st_mode
    except BaseException:
        os.close(host_fd)
        raise
    ft = filetype_of_mode(mode)
    if ft is FileType.DIRECTORY:
        entry = FdEntry(ft, base & DIR_RIGHTS, inheriting & DIR_INHERITING, host_fd=host_fd, vroot=mapped_in)
    elif ft is FileType.REGULAR_FILE:
        entry = FdEntry(ft, base & FILE_RIGHTS, inheriting & FILE_RIGHTS, host_fd=host_fd)
    else:
        entry = FdEntry(ft, base & (FILE_RIGHTS | STREAM_RIGHTS), 0, host_fd=host_fd, pollable=True)
    entry.flags = fdflags
    st.mem.set_u32(fd_ptr, st.fds.add(entry))
    return 0


@syscall("iiiiii")
def path_readlink(st: WasiState, fd: int, path: int, path_len: int, buf: int, buf_len: int, bufused: int) -> int:
    d = _dir(st, fd, Rights.PATH_READLINK)
    with _resolve(st, d, path, path_len, follow=False, lookup=True) as r:
        target = os.readlink(r.host_name, dir_fd=r.dir_fd)
    n = min(len(target), buf_len)
    st.mem.write(buf, target[:n])
    st.mem.set_u32(bufused, n)
    return 0


@syscall("iii")
def path_remove_directory(st: WasiState, fd: int, path: int, path_len: int) -> int:
    d = _dir(st, fd, Rights.PATH_REMOVE_DIRECTORY)
    with _resolve(st, d, path, path_len, follow=False, lookup=False) as r:
        gone = _before_removing(st, r)
        os.rmdir(r.host_name, dir_fd=r.dir_fd)
    _removed(st, gone)
    return 0


@syscall("iiiiii")
def path_rename(st: WasiState, fd: int, old_path: int, old_len: int, new_fd: int, new_path: int, new_len: int) -> int:
    src = _dir(st, fd, Rights.PATH_RENAME_SOURCE)
    dst = _dir(st, new_fd, Rights.PATH_RENAME_TARGET)
    with (
        _resolve(st, src, old_path, old_len, follow=False, lookup=False) as a,
        _resolve(st, dst, new_path, new_len, follow=False, lookup=False) as b,
    ):
        gone, moved = _before_removing(st, b), _before_removing(st, a)
        os.rename(a.host_name, b.host_name, src_dir_fd=a.dir_fd, dst_dir_fd=b.dir_fd)
    if gone is not None and moved is not None and (gone.st_dev, gone.st_ino) != (moved.st_dev, moved.st_ino):
        _removed(st, gone)  # the file that was at the new name (renaming a file onto a link to it keeps it)
    return 0


@syscall("iiiii")
def path_symlink(st: WasiState, old_path: int, old_len: int, fd: int, new_path: int, new_len: int) -> int:
    d = _dir(st, fd, Rights.PATH_SYMLINK)
    target = decode_path(st.mem.read(old_path, old_len))
    if target.startswith(b"/"):
        # A link is only ever followed inside the sandbox, where an absolute one is refused: refuse it now.
        raise WasiError(Errno.NOTCAPABLE)
    with _resolve(st, d, new_path, new_len, follow=False, lookup=False) as r:
        if r.trailing and r.name != b".":
            # Linux says EEXIST for "file/"; POSIX (and wasmtime) say the slash makes it ENOTDIR.
            try:
                mode = os.stat(r.name, dir_fd=r.dir_fd, follow_symlinks=False).st_mode
            except FileNotFoundError:
                mode = None
            if mode is not None and not stat.S_ISDIR(mode):
                raise WasiError(Errno.NOTDIR)
        os.symlink(target, r.host_name, dir_fd=r.dir_fd)
    return 0


@syscall("iii")
def path_unlink_file(st: WasiState, fd: int, path: int, path_len: int) -> int:
    d = _dir(st, fd, Rights.PATH_UNLINK_FILE)
    with _resolve(st, d, path, path_len, follow=False, lookup=False) as r:
        gone = _before_removing(st, r)
        os.unlink(r.host_name, dir_fd=r.dir_fd)
    _removed(st, gone)
    return 0
