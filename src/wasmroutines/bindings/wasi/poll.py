"""poll_oneoff: wait for clocks and fd readiness, through the environment's Waiter.

Subscriptions that are ready at once (regular files, Python streams, bad
fds, expired clocks) are reported without waiting. Events come in the order
of their subscriptions (so does the C fast path's, fast.py, for sockets,
pipes and clocks). Otherwise the call waits
through `state.waiter` until one of the pollable host fds is ready or the
earliest clock deadline passes, and rechecks: so a sleep, or a read wait on
stdin, parks only the calling green thread once the scheduler installs its
Waiter. Snapshot 0 uses the same logic with its own subscription layout.

In deterministic runs (a virtual HostView, hostview.py) the call first waits
until every pipe and terminal it names is ready, and a read event's nbytes is
1 (data) or 0 (end of file): what it reports depends on the input, never on
when the input arrived. Sockets are exempt in a recorded network run
(`live_sockets`): they are reported as they are, and the recording keeps it.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from dataclasses import dataclass

from .abi import (
    EVENT,
    SUBCLOCKFLAGS_ABSTIME,
    SUBSCRIPTION,
    SUBSCRIPTION_CLOCK,
    SUBSCRIPTION_HEAD,
    UNION_OFFSET,
    ClockId,
    EventType,
    FileType,
    Rights,
)
from .clock import now
from .errno import Errno
from .errors import WasiError
from .registry import syscall
from .runtime import ready
from .state import WasiState

__all__ = ["SubscriptionLayout", "PREVIEW1_LAYOUT", "poll"]

_U32 = struct.Struct("<I")


@dataclass(frozen=True)
class SubscriptionLayout:
    """Where a subscription's parts sit: its size, and the offset of the clock fields."""

    size: int
    clock_offset: int
    fd_offset: int


PREVIEW1_LAYOUT = SubscriptionLayout(SUBSCRIPTION, UNION_OFFSET, UNION_OFFSET)


@dataclass
class _Event:
    index: int  # of its subscription: events are reported in that order
    userdata: int
    type: int
    error: int = 0
    nbytes: int = 0


def _read_ready_bytes(fd: int) -> int:
    try:
        raw = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
        return int(_U32.unpack(raw)[0])
    except OSError:
        return 0


def _deadline(st: WasiState, clock_id: int, timeout: int, flags: int) -> int:
    """A clock subscription's deadline on the Waiter's monotonic clock."""
    base = st.waiter.now()
    if not flags & SUBCLOCKFLAGS_ABSTIME:
        return base + timeout
    if clock_id == ClockId.MONOTONIC:
        return timeout
    return base + (timeout - now(st, clock_id))


def _wait_all(st: WasiState, reads: list[int], writes: list[int]) -> None:
    """Wait (through the Waiter) until every fd in `reads` is readable and every one in `writes` writable."""
    while reads or writes:
        r, w = ready(reads, writes)
        reads = [fd for fd in reads if fd not in r]
        writes = [fd for fd in writes if fd not in w]
        if reads or writes:
            st.waiter.wait(reads, writes, None)


def poll(st: WasiState, in_ptr: int, out_ptr: int, nsubs: int, nevents_ptr: int, layout: SubscriptionLayout) -> int:
    if nsubs == 0:
        raise WasiError(Errno.INVAL)
    mem = st.mem
    mem.slice(in_ptr, nsubs * layout.size)
    mem.slice(out_ptr, nsubs * EVENT.size)
    immediate: list[_Event] = []
    clocks: list[tuple[int, int, int]] = []  # (deadline, index, userdata)
    reads: dict[int, list[tuple[int, int]]] = {}  # host fd -> (index, userdata)
    writes: dict[int, list[tuple[int, int]]] = {}
    live: set[int] = set()  # host fds of sockets whose readiness is reported as it is (hostview.py)
    for i in range(nsubs):
        base = in_ptr + i * layout.size
        userdata, tag = mem.unpack(SUBSCRIPTION_HEAD, base)
        if tag == EventType.CLOCK:
            clock_id, timeout, _precision, flags = mem.unpack(SUBSCRIPTION_CLOCK, base + layout.clock_offset)
            if clock_id not in ClockId._value2member_map_:
                immediate.append(_Event(i, userdata, tag, Errno.INVAL))
                continue
            clocks.append((_deadline(st, clock_id, timeout, flags), i, userdata))
        elif tag in (EventType.FD_READ, EventType.FD_WRITE):
            fd = mem.u32(base + layout.fd_offset)
            if fd not in st.fds:
                immediate.append(_Event(i, userdata, tag, Errno.BADF))
                continue
            entry = st.fds.get(fd)
            if not entry.rights_base & Rights.POLL_FD_READWRITE:
                immediate.append(_Event(i, userdata, tag, Errno.NOTCAPABLE))
            elif entry.stream is not None:
                n = entry.stream.available() if tag == EventType.FD_READ else 0
                immediate.append(_Event(i, userdata, tag, 0, n))
            elif entry.pollable and entry.host_fd is not None:
                (reads if tag == EventType.FD_READ else writes).setdefault(entry.host_fd, []).append((i, userdata))
                if entry.sock is not None and st.host.live_sockets:
                    live.add(entry.host_fd)
                if st.fast is not None:
                    st.fast.mirror(fd, entry)  # a socket or pipe: the next poll on it may run in C (fast.py)
            else:
                n = 0
                # A regular file (stdio shown as a stream included): the bytes left, as a stream says.
                file = entry.filetype is FileType.REGULAR_FILE or entry.as_stream
                if tag == EventType.FD_READ and file and entry.host_fd is not None:
                    n = max(0, os.fstat(entry.host_fd).st_size - os.lseek(entry.host_fd, 0, os.SEEK_CUR))
                immediate.append(_Event(i, userdata, tag, 0, n))
        else:
            raise WasiError(Errno.INVAL)
    events = immediate
    virtual = st.host.virtual
    if virtual:
        _wait_all(st, [fd for fd in reads if fd not in live], [fd for fd in writes if fd not in live])
    while True:
        r, w = ready(list(reads), list(writes))
        for fd in r:
            n = min(_read_ready_bytes(fd), 1) if virtual and fd not in live else _read_ready_bytes(fd)
            events.extend(_Event(i, ud, EventType.FD_READ, 0, n) for i, ud in reads[fd])
        for fd in w:
            events.extend(_Event(i, ud, EventType.FD_WRITE) for i, ud in writes[fd])
        t = st.waiter.now()
        events.extend(_Event(i, ud, EventType.CLOCK) for deadline, i, ud in clocks if deadline <= t)
        if events:
            break
        deadline = min((d for d, _, _ in clocks), default=None)
        if deadline is None and not reads and not writes:
            break  # only unsupported subscriptions: nothing will ever happen
        st.waiter.wait(list(reads), list(writes), deadline)
    events.sort(key=lambda ev: ev.index)
    for i, ev in enumerate(events[:nsubs]):
        mem.pack(EVENT, out_ptr + i * EVENT.size, ev.userdata, ev.error, ev.type, ev.nbytes, 0)
    mem.set_u32(nevents_ptr, min(len(events), nsubs))
    return 0


@syscall("iiii")
def poll_oneoff(st: WasiState, in_ptr: int, out_ptr: int, nsubs: int, nevents_ptr: int) -> int:
    return poll(st, in_ptr, out_ptr, nsubs, nevents_ptr, PREVIEW1_LAYOUT)
