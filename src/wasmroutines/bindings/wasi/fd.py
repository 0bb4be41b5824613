"""fd_* calls: reading, writing, seeking, flags, rights and metadata of open descriptors.

Each call first checks the fd's rights (ENOTCAPABLE when missing) and then
does the host operation on the entry's host fd; directory listings are in
readdir.py, preopen naming here (fd_prestat_*).
"""

from __future__ import annotations

import fcntl
import os

from .abi import FDSTAT, PREOPENTYPE_DIR, PRESTAT, Advice, FdFlags, FileType, Rights, Whence
from .errno import Errno
from .errors import WasiError
from .fdtable import FdEntry
from .filestat import FilestatWriter, set_times, write_filestat
from .registry import syscall
from .state import WasiState
from .streams import read_into, write_from

__all__ = ["seek", "filestat_get"]

_SYNC_FLAGS = int(FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC)
_HOST_WHENCE = {Whence.SET: os.SEEK_SET, Whence.CUR: os.SEEK_CUR, Whence.END: os.SEEK_END}
_ADVICE = {
    Advice.NORMAL: os.POSIX_FADV_NORMAL,
    Advice.SEQUENTIAL: os.POSIX_FADV_SEQUENTIAL,
    Advice.RANDOM: os.POSIX_FADV_RANDOM,
    Advice.WILLNEED: os.POSIX_FADV_WILLNEED,
    Advice.DONTNEED: os.POSIX_FADV_DONTNEED,
    Advice.NOREUSE: os.POSIX_FADV_NOREUSE,
}


def _file(st: WasiState, fd: int, rights: int) -> FdEntry:
    entry = st.fds.get(fd)
    entry.require(rights)
    return entry


@syscall("iIIi")
def fd_advise(st: WasiState, fd: int, offset: int, length: int, advice: int) -> int:
    entry = _file(st, fd, Rights.FD_ADVISE)
    if advice not in _ADVICE:
        raise WasiError(Errno.INVAL)
    if entry.filetype is FileType.DIRECTORY:
        raise WasiError(Errno.BADF)
    if entry.filetype is FileType.REGULAR_FILE:
        os.posix_fadvise(entry.fd, offset, length, _ADVICE[Advice(advice)])
    return 0


@syscall("iII")
def fd_allocate(st: WasiState, fd: int, offset: int, length: int) -> int:
    entry = _file(st, fd, Rights.FD_ALLOCATE)
    if entry.filetype is FileType.DIRECTORY:
        raise WasiError(Errno.BADF)
    os.posix_fallocate(entry.fd, offset, length)
    return 0


@syscall("i")
def fd_close(st: WasiState, fd: int) -> int:
    st.fds.pop(fd).close()
    return 0


@syscall("i")
def fd_datasync(st: WasiState, fd: int) -> int:
    entry = _file(st, fd, Rights.FD_DATASYNC)
    if entry.stream is None:
        os.fdatasync(entry.fd)
    return 0


@syscall("i")
def fd_sync(st: WasiState, fd: int) -> int:
    entry = _file(st, fd, Rights.FD_SYNC)
    if entry.stream is None:
        os.fsync(entry.fd)
    return 0


@syscall("ii")
def fd_fdstat_get(st: WasiState, fd: int, ptr: int) -> int:
    entry = st.fds.get(fd)
    st.mem.pack(FDSTAT, ptr, entry.filetype, entry.flags, entry.rights_base, entry.rights_inheriting)
    return 0


@syscall("ii")
def fd_fdstat_set_flags(st: WasiState, fd: int, flags: int) -> int:
    entry = _file(st, fd, Rights.FD_FDSTAT_SET_FLAGS)
    if flags & ~0x1F:
        raise WasiError(Errno.INVAL)
    if (flags ^ entry.flags) & _SYNC_FLAGS:
        # Linux cannot change O_SYNC/O_DSYNC/O_RSYNC on an open file.
        raise WasiError(Errno.NOTSUP)
    if entry.host_fd is not None and entry.owned and (flags ^ entry.flags) & FdFlags.APPEND:
        old = fcntl.fcntl(entry.host_fd, fcntl.F_GETFL)
        new = old | os.O_APPEND if flags & FdFlags.APPEND else old & ~os.O_APPEND
        fcntl.fcntl(entry.host_fd, fcntl.F_SETFL, new)
    # NONBLOCK stays in the entry: the host fd of an inherited stream is shared with the parent
    # process, and waits go through the Waiter anyway (streams.py).
    entry.flags = flags
    st.fds.changed(fd)
    return 0


@syscall("iII")
def fd_fdstat_set_rights(st: WasiState, fd: int, base: int, inheriting: int) -> int:
    entry = st.fds.get(fd)
    if base & ~entry.rights_base or inheriting & ~entry.rights_inheriting:
        raise WasiError(Errno.NOTCAPABLE)
    entry.rights_base = base
    entry.rights_inheriting = inheriting
    st.fds.changed(fd)
    return 0


def filestat_get(st: WasiState, fd: int, ptr: int, write: FilestatWriter) -> int:
    entry = _file(st, fd, Rights.FD_FILESTAT_GET)
    if entry.stream is not None or entry.as_stream or entry.is_virtual_root:
        write(st.mem, ptr, None, entry.filetype)
    else:
        write(st.mem, ptr, st.host.stat(os.fstat(entry.fd)), entry.filetype)
    return 0


@syscall("ii")
def fd_filestat_get(st: WasiState, fd: int, ptr: int) -> int:
    return filestat_get(st, fd, ptr, write_filestat)


@syscall("iI")
def fd_filestat_set_size(st: WasiState, fd: int, size: int) -> int:
    entry = _file(st, fd, Rights.FD_FILESTAT_SET_SIZE)
    os.ftruncate(entry.fd, size)
    return 0


@syscall("iIIi")
def fd_filestat_set_times(st: WasiState, fd: int, atim: int, mtim: int, fstflags: int) -> int:
    entry = _file(st, fd, Rights.FD_FILESTAT_SET_TIMES)
    if entry.is_virtual_root:
        raise WasiError(Errno.ACCES)  # read-only (vroot.py)
    host = entry.fd
    set_times(st, atim, mtim, fstflags, lambda: os.fstat(host), lambda times: os.utime(host, ns=times))
    return 0


@syscall("iiiIi")
def fd_pread(st: WasiState, fd: int, iovs: int, iovs_len: int, offset: int, nread_ptr: int) -> int:
    entry = _file(st, fd, Rights.FD_READ | Rights.FD_SEEK)
    bufs = st.mem.iovecs(iovs, iovs_len)
    if entry.stream is not None:
        raise WasiError(Errno.SPIPE)
    if entry.filetype is FileType.DIRECTORY:
        raise WasiError(Errno.ISDIR)
    n = os.preadv(entry.fd, bufs, offset) if any(len(b) for b in bufs) else 0
    st.mem.set_u32(nread_ptr, n)
    return 0


@syscall("iiiIi")
def fd_pwrite(st: WasiState, fd: int, iovs: int, iovs_len: int, offset: int, nwritten_ptr: int) -> int:
    entry = _file(st, fd, Rights.FD_WRITE | Rights.FD_SEEK)
    bufs = st.mem.iovecs(iovs, iovs_len)
    if entry.stream is not None:
        raise WasiError(Errno.SPIPE)
    if entry.filetype is FileType.DIRECTORY:
        raise WasiError(Errno.ISDIR)
    n = os.pwritev(entry.fd, bufs, offset) if any(len(b) for b in bufs) else 0
    st.mem.set_u32(nwritten_ptr, n)
    return 0


@syscall("iiii")
def fd_read(st: WasiState, fd: int, iovs: int, iovs_len: int, nread_ptr: int) -> int:
    entry = _file(st, fd, Rights.FD_READ)
    if entry.pollable and st.fast is not None:
        st.fast.mirror(fd, entry)  # a socket or pipe: its next call may run in C (fast.py)
    n = read_into(st, entry, st.mem.iovecs(iovs, iovs_len))
    st.mem.set_u32(nread_ptr, n)
    return 0


@syscall("iiii")
def fd_write(st: WasiState, fd: int, iovs: int, iovs_len: int, nwritten_ptr: int) -> int:
    entry = _file(st, fd, Rights.FD_WRITE)
    if entry.pollable and st.fast is not None:
        st.fast.mirror(fd, entry)  # a socket or pipe: its next call may run in C (fast.py)
    n = write_from(st, entry, st.mem.iovecs(iovs, iovs_len))
    st.mem.set_u32(nwritten_ptr, n)
    return 0


@syscall("ii")
def fd_prestat_get(st: WasiState, fd: int, ptr: int) -> int:
    entry = st.fds.get(fd)
    if entry.preopen is None:
        raise WasiError(Errno.BADF)
    st.mem.pack(PRESTAT, ptr, PREOPENTYPE_DIR, len(entry.preopen))
    return 0


@syscall("iii")
def fd_prestat_dir_name(st: WasiState, fd: int, path: int, path_len: int) -> int:
    entry = st.fds.get(fd)
    if entry.preopen is None:
        raise WasiError(Errno.BADF)
    if path_len < len(entry.preopen):
        raise WasiError(Errno.NAMETOOLONG)
    st.mem.write(path, entry.preopen)
    return 0


@syscall("ii")
def fd_renumber(st: WasiState, fd: int, to: int) -> int:
    entry = st.fds.get(fd)
    target = st.fds.get(to)
    if fd == to:
        return 0
    st.fds.pop(fd)
    st.fds.put(to, entry)
    target.close()
    return 0


def seek(st: WasiState, fd: int, offset: int, whence: Whence, newoffset_ptr: int) -> int:
    """fd_seek with an already decoded whence (snapshot 0 numbers them differently)."""
    tell_only = whence is Whence.CUR and offset == 0
    entry = st.fds.get(fd)
    if not (tell_only and entry.rights_base & Rights.FD_TELL):
        entry.require(Rights.FD_SEEK)
    if entry.stream is not None:
        raise WasiError(Errno.SPIPE)
    if entry.filetype is FileType.DIRECTORY:
        raise WasiError(Errno.ISDIR)
    pos = os.lseek(entry.fd, offset, _HOST_WHENCE[whence])
    st.mem.set_u64(newoffset_ptr, pos)
    return 0


@syscall("iqii")
def fd_seek(st: WasiState, fd: int, offset: int, whence: int, newoffset_ptr: int) -> int:
    if whence not in (0, 1, 2):
        raise WasiError(Errno.INVAL)
    return seek(st, fd, offset, Whence(whence), newoffset_ptr)


@syscall("ii")
def fd_tell(st: WasiState, fd: int, ptr: int) -> int:
    entry = _file(st, fd, Rights.FD_TELL)
    if entry.stream is not None:
        raise WasiError(Errno.SPIPE)
    if entry.filetype is FileType.DIRECTORY:
        raise WasiError(Errno.ISDIR)
    st.mem.set_u64(ptr, os.lseek(entry.fd, 0, os.SEEK_CUR))
    return 0
