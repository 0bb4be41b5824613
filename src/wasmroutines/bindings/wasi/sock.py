"""sock_* calls on preopened sockets (wasmtime's --tcplisten) and the connections they accept.

Our sockets are non-blocking at the host level: a blocking guest call waits
through the environment's Waiter (runtime.py) and retries, so accept and
recv park only the calling green thread once a scheduler is installed.
"""

from __future__ import annotations

import socket

from .abi import (
    RIFLAGS_RECV_PEEK,
    RIFLAGS_RECV_WAITALL,
    ROFLAGS_RECV_DATA_TRUNCATED,
    SDFLAGS_RD,
    SDFLAGS_WR,
    SOCKET_RIGHTS,
    FdFlags,
    FileType,
    Rights,
)
from .errno import Errno
from .errors import WasiError
from .fdtable import FdEntry
from .registry import syscall
from .state import WasiState
from .streams import blocking_call

__all__ = ["listener_entry"]

_LISTENER_RIGHTS = int(
    Rights.SOCK_ACCEPT | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET
)


def listener_entry(sock: socket.socket) -> FdEntry:
    """The fd table entry of a preopened listening socket."""
    sock.setblocking(False)
    return FdEntry(
        FileType.SOCKET_STREAM,
        _LISTENER_RIGHTS,
        SOCKET_RIGHTS,
        host_fd=sock.fileno(),
        sock=sock,
        pollable=True,
        nonblocking_host=True,
    )


def _sock(st: WasiState, fd: int, rights: int) -> tuple[FdEntry, socket.socket]:
    entry = st.fds.get(fd)
    if entry.sock is None:
        raise WasiError(Errno.NOTSOCK)
    entry.require(rights)
    if st.fast is not None:
        st.fast.mirror(fd, entry)  # its next recv or send may run in C (fast.py)
    return entry, entry.sock


@syscall("iii")
def sock_accept(st: WasiState, fd: int, flags: int, fd_ptr: int) -> int:
    entry, sock = _sock(st, fd, Rights.SOCK_ACCEPT)
    if flags & ~FdFlags.NONBLOCK:
        raise WasiError(Errno.INVAL)
    conn, _ = blocking_call(st, entry, write=False, op=sock.accept)
    conn.setblocking(False)
    new = FdEntry(
        FileType.SOCKET_STREAM,
        SOCKET_RIGHTS & ~Rights.SOCK_ACCEPT & entry.rights_inheriting,
        0,
        host_fd=conn.fileno(),
        sock=conn,
        flags=flags & FdFlags.NONBLOCK,
        pollable=True,
        nonblocking_host=True,
    )
    new_fd = st.fds.add(new)
    if st.fast is not None:
        st.fast.mirror(new_fd, new)  # from its first recv on, in C: a connection's thread need never enter Python
    st.mem.set_u32(fd_ptr, new_fd)
    return 0


@syscall("iiiiii")
def sock_recv(st: WasiState, fd: int, ri_data: int, ri_len: int, ri_flags: int, ro_len: int, ro_flags: int) -> int:
    entry, sock = _sock(st, fd, Rights.FD_READ)
    bufs = st.mem.iovecs(ri_data, ri_len)
    host_flags = 0
    if ri_flags & RIFLAGS_RECV_PEEK:
        host_flags |= socket.MSG_PEEK
    if ri_flags & RIFLAGS_RECV_WAITALL:
        host_flags |= socket.MSG_WAITALL
    n, _, msg_flags, _ = blocking_call(st, entry, write=False, op=lambda: sock.recvmsg_into(bufs, 0, host_flags))
    st.mem.set_u32(ro_len, n)
    st.mem.set_u16(ro_flags, ROFLAGS_RECV_DATA_TRUNCATED if msg_flags & socket.MSG_TRUNC else 0)
    return 0


@syscall("iiiii")
def sock_send(st: WasiState, fd: int, si_data: int, si_len: int, si_flags: int, so_len: int) -> int:
    entry, sock = _sock(st, fd, Rights.FD_WRITE)
    bufs = st.mem.iovecs(si_data, si_len)
    n = blocking_call(st, entry, write=True, op=lambda: sock.sendmsg(bufs))
    st.mem.set_u32(so_len, n)
    return 0


@syscall("ii")
def sock_shutdown(st: WasiState, fd: int, how: int) -> int:
    _, sock = _sock(st, fd, Rights.SOCK_SHUTDOWN)
    modes = {SDFLAGS_RD: socket.SHUT_RD, SDFLAGS_WR: socket.SHUT_WR, SDFLAGS_RD | SDFLAGS_WR: socket.SHUT_RDWR}
    if how not in modes:
        raise WasiError(Errno.INVAL)
    sock.shutdown(modes[how])
    return 0
