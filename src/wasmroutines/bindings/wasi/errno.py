"""WASI preview1 errno values, and the mapping from host OSError to them.

Every WASI call returns one of these to the guest; the numbering is the
preview1 ABI's (it differs from the host's errno numbering, so an OSError is
translated by name: EACCES -> Errno.ACCES).
"""

from __future__ import annotations

import errno as _host
from enum import IntEnum

__all__ = ["Errno", "errno_of"]


class Errno(IntEnum):
    """`errno` of wasi_snapshot_preview1 (the same values in snapshot 0)."""

    SUCCESS = 0
    TOOBIG = 1  # E2BIG
    ACCES = 2
    ADDRINUSE = 3
    ADDRNOTAVAIL = 4
    AFNOSUPPORT = 5
    AGAIN = 6
    ALREADY = 7
    BADF = 8
    BADMSG = 9
    BUSY = 10
    CANCELED = 11
    CHILD = 12
    CONNABORTED = 13
    CONNREFUSED = 14
    CONNRESET = 15
    DEADLK = 16
    DESTADDRREQ = 17
    DOM = 18
    DQUOT = 19
    EXIST = 20
    FAULT = 21
    FBIG = 22
    HOSTUNREACH = 23
    IDRM = 24
    ILSEQ = 25
    INPROGRESS = 26
    INTR = 27
    INVAL = 28
    IO = 29
    ISCONN = 30
    ISDIR = 31
    LOOP = 32
    MFILE = 33
    MLINK = 34
    MSGSIZE = 35
    MULTIHOP = 36
    NAMETOOLONG = 37
    NETDOWN = 38
    NETRESET = 39
    NETUNREACH = 40
    NFILE = 41
    NOBUFS = 42
    NODEV = 43
    NOENT = 44
    NOEXEC = 45
    NOLCK = 46
    NOLINK = 47
    NOMEM = 48
    NOMSG = 49
    NOPROTOOPT = 50
    NOSPC = 51
    NOSYS = 52
    NOTCONN = 53
    NOTDIR = 54
    NOTEMPTY = 55
    NOTRECOVERABLE = 56
    NOTSOCK = 57
    NOTSUP = 58
    NOTTY = 59
    NXIO = 60
    OVERFLOW = 61
    OWNERDEAD = 62
    PERM = 63
    PIPE = 64
    PROTO = 65
    PROTONOSUPPORT = 66
    PROTOTYPE = 67
    RANGE = 68
    ROFS = 69
    SPIPE = 70
    SRCH = 71
    STALE = 72
    TIMEDOUT = 73
    TXTBSY = 74
    XDEV = 75
    NOTCAPABLE = 76


def _host_table() -> dict[int, Errno]:
    table: dict[int, Errno] = {}
    for e in Errno:
        name = "E2BIG" if e is Errno.TOOBIG else "E" + e.name
        code = getattr(_host, name, None)
        if code is not None and e is not Errno.SUCCESS:
            table.setdefault(code, e)
    # Aliases some hosts define with their own numbers.
    for alias, e in (("EWOULDBLOCK", Errno.AGAIN), ("EOPNOTSUPP", Errno.NOTSUP)):
        code = getattr(_host, alias, None)
        if code is not None:
            table.setdefault(code, e)
    return table


_FROM_HOST = _host_table()


def errno_of(exc: OSError) -> Errno:
    """The WASI errno for a host OSError; EIO when the host's code has no WASI name."""
    code = exc.errno
    if code is None:
        return Errno.IO
    return _FROM_HOST.get(code, Errno.IO)
