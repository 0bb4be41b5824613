"""Constants and struct layouts of the wasi_snapshot_preview1 ABI (wasm32: pointers and sizes are u32).

Layouts are `struct.Struct`s, little endian, with the C padding spelled out,
so a record is packed or unpacked in one call straight into guest memory.
Snapshot 0 (`wasi_unstable`) differs in a few of them; those live in
snapshot0.py.
"""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

__all__ = [
    "DIRENT",
    "EVENT",
    "FDSTAT",
    "FILESTAT",
    "IOVEC",
    "PRESTAT",
    "SUBSCRIPTION",
    "Advice",
    "ClockId",
    "EventType",
    "FdFlags",
    "FileType",
    "FstFlags",
    "LookupFlags",
    "OFlags",
    "Rights",
    "Whence",
]


class FileType(IntEnum):
    UNKNOWN = 0
    BLOCK_DEVICE = 1
    CHARACTER_DEVICE = 2
    DIRECTORY = 3
    REGULAR_FILE = 4
    SOCKET_DGRAM = 5
    SOCKET_STREAM = 6
    SYMBOLIC_LINK = 7


class FdFlags(IntFlag):
    APPEND = 1
    DSYNC = 2
    NONBLOCK = 4
    RSYNC = 8
    SYNC = 16


class OFlags(IntFlag):
    CREAT = 1
    DIRECTORY = 2
    EXCL = 4
    TRUNC = 8


class LookupFlags(IntFlag):
    SYMLINK_FOLLOW = 1


class FstFlags(IntFlag):
    ATIM = 1
    ATIM_NOW = 2
    MTIM = 4
    MTIM_NOW = 8


class Whence(IntEnum):
    SET = 0
    CUR = 1
    END = 2


class ClockId(IntEnum):
    REALTIME = 0
    MONOTONIC = 1
    PROCESS_CPUTIME_ID = 2
    THREAD_CPUTIME_ID = 3


class Advice(IntEnum):
    NORMAL = 0
    SEQUENTIAL = 1
    RANDOM = 2
    WILLNEED = 3
    DONTNEED = 4
    NOREUSE = 5


class EventType(IntEnum):
    CLOCK = 0
    FD_READ = 1
    FD_WRITE = 2


EVENTRWFLAGS_HANGUP = 1
SUBCLOCKFLAGS_ABSTIME = 1
RIFLAGS_RECV_PEEK = 1
RIFLAGS_RECV_WAITALL = 2
ROFLAGS_RECV_DATA_TRUNCATED = 1
SDFLAGS_RD = 1
SDFLAGS_WR = 2
PREOPENTYPE_DIR = 0


class Rights(IntFlag):
    FD_DATASYNC = 1 << 0
    FD_READ = 1 << 1
    FD_SEEK = 1 << 2
    FD_FDSTAT_SET_FLAGS = 1 << 3
    FD_SYNC = 1 << 4
    FD_TELL = 1 << 5
    FD_WRITE = 1 << 6
    FD_ADVISE = 1 << 7
    FD_ALLOCATE = 1 << 8
    PATH_CREATE_DIRECTORY = 1 << 9
    PATH_CREATE_FILE = 1 << 10
    PATH_LINK_SOURCE = 1 << 11
    PATH_LINK_TARGET = 1 << 12
    PATH_OPEN = 1 << 13
    FD_READDIR = 1 << 14
    PATH_READLINK = 1 << 15
    PATH_RENAME_SOURCE = 1 << 16
    PATH_RENAME_TARGET = 1 << 17
    PATH_FILESTAT_GET = 1 << 18
    PATH_FILESTAT_SET_SIZE = 1 << 19
    PATH_FILESTAT_SET_TIMES = 1 << 20
    FD_FILESTAT_GET = 1 << 21
    FD_FILESTAT_SET_SIZE = 1 << 22
    FD_FILESTAT_SET_TIMES = 1 << 23
    PATH_SYMLINK = 1 << 24
    PATH_REMOVE_DIRECTORY = 1 << 25
    PATH_UNLINK_FILE = 1 << 26
    POLL_FD_READWRITE = 1 << 27
    SOCK_SHUTDOWN = 1 << 28
    SOCK_ACCEPT = 1 << 29


ALL_RIGHTS = int(sum(Rights))

#: What a regular file descriptor may do.
FILE_RIGHTS = int(
    Rights.FD_DATASYNC
    | Rights.FD_READ
    | Rights.FD_SEEK
    | Rights.FD_FDSTAT_SET_FLAGS
    | Rights.FD_SYNC
    | Rights.FD_TELL
    | Rights.FD_WRITE
    | Rights.FD_ADVISE
    | Rights.FD_ALLOCATE
    | Rights.FD_FILESTAT_GET
    | Rights.FD_FILESTAT_SET_SIZE
    | Rights.FD_FILESTAT_SET_TIMES
    | Rights.POLL_FD_READWRITE
)

#: What a directory descriptor may do itself (no read/write/seek: those belong to the files opened in it).
DIR_RIGHTS = int(
    Rights.FD_FDSTAT_SET_FLAGS
    | Rights.FD_SYNC
    | Rights.FD_ADVISE
    | Rights.PATH_CREATE_DIRECTORY
    | Rights.PATH_CREATE_FILE
    | Rights.PATH_LINK_SOURCE
    | Rights.PATH_LINK_TARGET
    | Rights.PATH_OPEN
    | Rights.FD_READDIR
    | Rights.PATH_READLINK
    | Rights.PATH_RENAME_SOURCE
    | Rights.PATH_RENAME_TARGET
    | Rights.PATH_FILESTAT_GET
    | Rights.PATH_FILESTAT_SET_SIZE
    | Rights.PATH_FILESTAT_SET_TIMES
    | Rights.FD_FILESTAT_GET
    | Rights.FD_FILESTAT_SET_TIMES
    | Rights.PATH_SYMLINK
    | Rights.PATH_REMOVE_DIRECTORY
    | Rights.PATH_UNLINK_FILE
    | Rights.POLL_FD_READWRITE
)

#: Rights a directory hands down to what is opened beneath it.
DIR_INHERITING = DIR_RIGHTS | FILE_RIGHTS

#: A terminal or pipe: no seek/tell (wasi-libc's isatty() looks for exactly that on a character device).
STREAM_RIGHTS = int(
    Rights.FD_READ | Rights.FD_WRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET | Rights.POLL_FD_READWRITE
)

SOCKET_RIGHTS = STREAM_RIGHTS | int(Rights.SOCK_SHUTDOWN | Rights.SOCK_ACCEPT)

# ---- layouts ----

#: iovec / ciovec: buf u32, buf_len u32.
IOVEC = struct.Struct("<II")
#: fdstat: fs_filetype u8, fs_flags u16 (at 2), fs_rights_base u64 (at 8), fs_rights_inheriting u64.
FDSTAT = struct.Struct("<BxHxxxxQQ")
#: filestat: dev, ino, filetype u8 (at 16), nlink (at 24), size, atim, mtim, ctim (all u64).
FILESTAT = struct.Struct("<QQB7xQQQQQ")
#: prestat: tag u8, pr_name_len u32 (at 4).
PRESTAT = struct.Struct("<BxxxI")
#: dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8 (+3 padding); the name follows.
DIRENT = struct.Struct("<QQIB3x")
#: event: userdata u64, error u16, type u8 (at 10), fd_readwrite.nbytes u64 (at 16), flags u16 (at 24).
EVENT = struct.Struct("<QHB5xQH6x")
#: subscription head: userdata u64, tag u8; the union starts at 8 + 8 (aligned to 8).
SUBSCRIPTION_HEAD = struct.Struct("<QB")
#: subscription_clock at offset 16: id u32, timeout u64 (at 24), precision u64, flags u16.
SUBSCRIPTION_CLOCK = struct.Struct("<I4xQQH")
SUBSCRIPTION = 48
UNION_OFFSET = 16

assert FDSTAT.size == 24 and FILESTAT.size == 64 and PRESTAT.size == 8
assert DIRENT.size == 24 and EVENT.size == 32 and SUBSCRIPTION_CLOCK.size == 26
