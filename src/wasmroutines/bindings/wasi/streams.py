"""Reading and writing an fd's bytes, waiting through the environment's Waiter when the fd can block.

Regular files are read and written directly. An fd that can block (pipe,
terminal, socket) is first waited on through `state.waiter` (which parks
only the calling green thread under a scheduler: see runtime.py), then read
or written; a host fd we made non-blocking (our sockets) loops wait -> try
until the call completes. A guest fd with FDFLAGS_NONBLOCK never waits:
EAGAIN instead.

A blocking host fd that polls writable has room for PIPE_BUF bytes, not
for any amount: a bigger write(2) could block the OS thread, and with it
every green thread (the one that would drain the pipe too). So writes to
such fds go out in PIPE_BUF chunks, each after its own wait; the call still
writes everything, as one blocking write would, unless an error (or
NONBLOCK's EAGAIN) stops it part way, when it reports what was written.

In deterministic runs (a virtual HostView, hostview.py) a read from a pipe or
socket fills the guest's buffers or reaches end of file, NONBLOCK or not,
instead of returning what had arrived so far: the sizes of reads then depend
on the bytes, never on the writer's timing. Terminals still return a line at
a time, and so do sockets what has arrived in a recorded network run
(`live_sockets`: the recording keeps the sizes).
"""

from __future__ import annotations

import functools
import os
import select
from collections.abc import Callable
from typing import TypeVar

from .abi import FdFlags, FileType
from .errno import Errno
from .errors import WasiError
from .fdtable import FdEntry
from .runtime import ready
from .state import WasiState

__all__ = ["blocking_call", "read_into", "write_from"]

T = TypeVar("T")

#: The most one write(2) to a blocking pipe, terminal or socket may carry without risking a block.
WRITE_CHUNK = select.PIPE_BUF


def blocking_call(state: WasiState, entry: FdEntry, *, write: bool, op: Callable[[], T]) -> T:
    """Run `op` on a pollable host fd, waiting through the Waiter (never in `op`) until it can proceed.

    A blocking host fd is polled first, so `op` finds it ready; our non-blocking
    sockets just try `op` and wait on EAGAIN. A guest fd with NONBLOCK gets
    EAGAIN instead of a wait.
    """
    fd = entry.fd
    nonblock = bool(entry.flags & FdFlags.NONBLOCK)
    readable, writable = ([], [fd]) if write else ([fd], [])
    while True:
        if nonblock or not entry.nonblocking_host:
            r, w = ready(readable, writable)
            if not (w if write else r):
                if nonblock:
                    raise WasiError(Errno.AGAIN)
                state.waiter.wait(readable, writable, None)
                continue
        try:
            return op()
        except BlockingIOError:
            # The host fd is non-blocking (ours, or set so by whoever shares it) and not ready after all.
            if nonblock:
                raise WasiError(Errno.AGAIN) from None
            state.waiter.wait(readable, writable, None)


def read_into(state: WasiState, entry: FdEntry, bufs: list[memoryview]) -> int:
    """Read into `bufs` in order (readv); 0 at end of file."""
    stream = entry.stream
    if stream is not None:
        if not stream.readable:
            raise WasiError(Errno.BADF)
        return stream.read_into(bufs)
    fd = entry.fd
    if entry.filetype is FileType.DIRECTORY:
        raise WasiError(Errno.ISDIR)
    if not any(len(b) for b in bufs):
        return 0
    if not entry.pollable:
        return os.readv(fd, bufs)
    host = state.host
    # Stdio may be shown as a stream: ask the host fd whether it is a terminal.
    if host.virtual and not (entry.sock is not None and host.live_sockets) and not os.isatty(fd):
        return _read_full(state, fd, bufs)
    return blocking_call(state, entry, write=False, op=lambda: os.readv(fd, bufs))


def _read_full(state: WasiState, fd: int, bufs: list[memoryview]) -> int:
    """Read from a pipe or socket until `bufs` are full or at end of file, waiting through the Waiter."""
    views = [b for b in bufs if len(b)]
    total = 0
    while views:
        if not ready([fd], [])[0]:
            state.waiter.wait([fd], [], None)
            continue
        try:
            n = os.readv(fd, views)
        except BlockingIOError:  # the host fd is non-blocking and was drained meanwhile
            continue
        except OSError:
            if total:
                return total  # what was read; the error shows again on the next call
            raise
        if n == 0:
            break
        total += n
        while n:
            if n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][n:]
                n = 0
    return total


def write_from(state: WasiState, entry: FdEntry, bufs: list[memoryview]) -> int:
    """Write `bufs` in order (writev); returns the bytes written."""
    stream = entry.stream
    if stream is not None:
        if not stream.writable:
            raise WasiError(Errno.BADF)
        return stream.write_from(bufs)
    fd = entry.fd
    if not any(len(b) for b in bufs):
        return 0
    if not entry.pollable:
        return os.writev(fd, bufs)
    if entry.nonblocking_host or sum(len(b) for b in bufs) <= WRITE_CHUNK:
        return blocking_call(state, entry, write=True, op=lambda: os.writev(fd, bufs))
    return _write_in_chunks(state, entry, memoryview(b"".join(bufs)))


def _write_in_chunks(state: WasiState, entry: FdEntry, data: memoryview) -> int:
    """Write all of `data` to a blocking host fd, WRITE_CHUNK bytes per wait; what was written if cut short."""
    done = 0
    while done < len(data):
        chunk = data[done : done + WRITE_CHUNK]
        try:
            done += blocking_call(state, entry, write=True, op=functools.partial(os.write, entry.fd, chunk))
        except (WasiError, OSError):
            if done:
                return done
            raise
    return done
