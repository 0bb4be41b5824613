"""The guest's file descriptor table: WASI fd numbers -> host objects with rights and flags.

A WASI fd is an entry here, never the host fd number itself: the guest can
only reach what was put in the table (stdio, preopened directories and
sockets, and what it opened beneath them). Each entry holds its rights (the
capability model of preview1: base rights say what the fd may do, inheriting
rights what fds opened through it may get) and its fdflags.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from .abi import DIR_INHERITING, DIR_RIGHTS, FILE_RIGHTS, SOCKET_RIGHTS, STREAM_RIGHTS, FileType
from .errno import Errno
from .errors import WasiError
from .stdio import PyStream
from .vroot import VirtualRoot

__all__ = ["FdEntry", "FdTable", "filetype_of_mode"]


def filetype_of_mode(mode: int) -> FileType:
    if stat.S_ISREG(mode):
        return FileType.REGULAR_FILE
    if stat.S_ISDIR(mode):
        return FileType.DIRECTORY
    if stat.S_ISCHR(mode):
        return FileType.CHARACTER_DEVICE
    if stat.S_ISBLK(mode):
        return FileType.BLOCK_DEVICE
    if stat.S_ISLNK(mode):
        return FileType.SYMBOLIC_LINK
    if stat.S_ISSOCK(mode):
        return FileType.SOCKET_STREAM
    return FileType.UNKNOWN  # FIFOs have no WASI file type


@dataclass
class FdEntry:
    """One open WASI fd.

    At most one of `host_fd` / `stream` is set; neither for the virtual root
    (`vroot` set, no host fd: see vroot.py). `vroot` on a directory with a
    host fd: the root it is mapped into, where `..` above it leads. `owned`: closing the entry
    closes the host fd (False for inherited stdio). `pollable`: reads and
    writes may block (pipes, terminals, sockets), so they wait through the
    environment's Waiter first; regular files never do. `nonblocking_host`:
    the host fd itself is O_NONBLOCK (sockets we created), so a wait is
    followed by a retry loop rather than a blocking call. `as_stream`: a
    stdio host fd shown as a stream in deterministic runs (see
    `stdio_as_stream`).
    """

    filetype: FileType
    rights_base: int
    rights_inheriting: int
    host_fd: int | None = None
    stream: PyStream | None = None
    flags: int = 0
    owned: bool = True
    preopen: bytes | None = None
    sock: socket.socket | None = None
    pollable: bool = False
    nonblocking_host: bool = False
    as_stream: bool = False
    vroot: VirtualRoot | None = None
    #: fd_readdir's snapshot of the directory: (name, d_ino, filetype), taken at cookie 0.
    dir_entries: list[tuple[bytes, int, FileType]] | None = field(default=None, repr=False)

    @property
    def is_virtual_root(self) -> bool:
        """This fd is the virtual root itself (a directory with no host fd)."""
        return self.vroot is not None and self.host_fd is None and self.stream is None

    def require(self, rights: int) -> None:
        """Raise ENOTCAPABLE unless this fd holds all of `rights`."""
        if self.rights_base & rights != rights:
            raise WasiError(Errno.NOTCAPABLE)

    @property
    def fd(self) -> int:
        """The host fd; EBADF for a Python stream (it has none)."""
        if self.host_fd is None:
            raise WasiError(Errno.BADF)
        return self.host_fd

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        elif self.owned and self.host_fd is not None:
            os.close(self.host_fd)
        self.host_fd = None

    @classmethod
    def for_host_fd(cls, fd: int, *, owned: bool) -> FdEntry:
        """An entry for an existing host fd (stdio), typed from fstat."""
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            return cls(FileType.UNKNOWN, STREAM_RIGHTS, 0, host_fd=fd, owned=owned, pollable=True)
        ft = filetype_of_mode(mode)
        if ft is FileType.REGULAR_FILE:
            return cls(ft, FILE_RIGHTS, 0, host_fd=fd, owned=owned)
        if ft is FileType.DIRECTORY:
            return cls(ft, DIR_RIGHTS, DIR_INHERITING, host_fd=fd, owned=owned)
        rights = STREAM_RIGHTS
        if ft is FileType.CHARACTER_DEVICE and not os.isatty(fd):
            rights |= FILE_RIGHTS  # /dev/null and friends seek; only a terminal lacks seek/tell
        if ft is FileType.SOCKET_STREAM:
            rights = SOCKET_RIGHTS
        return cls(ft, rights, 0, host_fd=fd, owned=owned, pollable=True)

    def stdio_as_stream(self) -> None:
        """Show this stdio host fd as a stream: filetype unknown, stream rights, no file status.

        Deterministic runs do this to every stdio fd that is a host fd (a terminal, a pipe, a
        file), so the guest sees what it sees of the explorer's captured stdio: a terminal would
        make wasi-libc line-buffer stdout (isatty), and more writes mean another schedule.
        """
        if self.host_fd is None:
            return
        self.filetype = FileType.UNKNOWN
        self.rights_base = STREAM_RIGHTS
        self.rights_inheriting = 0
        self.as_stream = True

    @classmethod
    def for_stream(cls, stream: PyStream) -> FdEntry:
        return cls(FileType.UNKNOWN, STREAM_RIGHTS, 0, stream=stream, owned=False)


class FdTable:
    """WASI fd number -> FdEntry; new fds take the lowest free number, as POSIX does."""

    def __init__(self) -> None:
        self._entries: dict[int, FdEntry] = {}
        #: Told of every fd whose entry goes, is replaced or changes (`changed`): the C fast path (fast.py).
        self.on_change: Callable[[int], None] | None = None
        #: The virtual root, when the guest has one (closed with the table: it holds host fds).
        self.vroot: VirtualRoot | None = None

    def get(self, fd: int) -> FdEntry:
        entry = self._entries.get(fd)
        if entry is None:
            raise WasiError(Errno.BADF)
        return entry

    def __contains__(self, fd: int) -> bool:
        return fd in self._entries

    def items(self) -> list[tuple[int, FdEntry]]:
        return sorted(self._entries.items())

    def add(self, entry: FdEntry) -> int:
        fd = 0
        while fd in self._entries:
            fd += 1
        if fd > 0xFFFF_FFFF:
            raise WasiError(Errno.MFILE)
        self._entries[fd] = entry
        return fd

    def put(self, fd: int, entry: FdEntry) -> None:
        self.changed(fd)
        self._entries[fd] = entry

    def pop(self, fd: int) -> FdEntry:
        entry = self._entries.pop(fd, None)
        if entry is None:
            raise WasiError(Errno.BADF)
        self.changed(fd)
        return entry

    def changed(self, fd: int) -> None:
        """`fd`'s entry went, was replaced, or changed its flags or rights."""
        hook = self.on_change
        if hook is not None:
            hook(fd)

    def close_all(self) -> None:
        for fd, entry in self.items():
            self.changed(fd)
            try:
                entry.close()
            except OSError:
                pass
        self._entries.clear()
        if self.vroot is not None:
            self.vroot.close()
