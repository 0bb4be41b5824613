"""What a guest sees of the host besides file contents: file metadata, clock resolutions, readiness, read sizes.

`HostView` (the default) passes the host's own values through. `VirtualHost`
is deterministic mode's (WasiConfig.deterministic, set by `wasmroutines run
--seed` and the explorer): it replaces every value that depends on the
machine, on the file system's history or on timing, not on the program's
input, so the same program, input and seed give the same bytes anywhere:

- file status (fd_filestat_get, path_filestat_get, both snapshots): `dev` is
  1 for every host file; inode numbers are virtual, 1, 2, 3... in the order
  the run first sees each host file (hard links share one, so a program can
  still tell two names of one file apart from two files; a file the guest
  removes takes its number with it, so a host that reuses the inode for a
  new file does not show); fd_readdir's `d_ino` uses the same numbers. A directory's size is 0 and its link count
  1 (both depend on the file system: ext4 says 4096 and 2 + subdirectories,
  btrfs sums its names and says 1). Files keep their size and link count
  (their contents and hard links are input). All three times are the run's
  start (EPOCH_NS, 2000-01-01T00:00:00Z), except what the program set itself
  with fd_filestat_set_times / path_filestat_set_times, which it reads back
  as set (`*_NOW` means the virtual wall clock then);
- clock_res_get: 1 ns for every clock (the virtual clocks count nanoseconds);
- poll_oneoff on pipes and terminals: the call waits until every such fd it
  names is ready (as reads on them do: the whole run waits for input, taking
  no virtual time), so which of them are reported never depends on when data
  arrived, and a read event's `nbytes` is 1 (data) or 0 (end of file), never
  how much the writer had written by then;
- fd_read from a pipe or socket fills the guest's buffers (or reaches end of
  file) instead of returning what had arrived so far, so the sizes of reads,
  and with them the number of calls and the schedule, depend only on the
  bytes. A terminal still returns a line at a time (waiting for a full
  buffer would hang an interactive program; a line is input too). So a
  deterministic run takes its piped input as a whole, as from a file: a
  program that talks in turns with another process over pipes (request,
  reply, request...) waits for input that never comes.
- in a recorded network run (`live_sockets`: `run --record --tcplisten`)
  sockets are exempt from the two rules above: reads and polls of sockets
  answer what has arrived, as outside deterministic mode (a request/reply
  server would wait for bytes its client sends only after the reply), and
  the recording keeps what they answered, which its replay answers again.

Stdio is shown as a stream whatever the host fd is (a terminal, a pipe, a
file: filetype unknown, stream rights, a filestat of zeros), as the
explorer's captured stdio is, so the replay command it prints sees the same
when run at a terminal: a terminal would make wasi-libc line-buffer stdout,
and a different number of writes means a different schedule. Streams with
no host file (bytes fed to stdin, captured output) report zeros, as before.
The process's environment and arguments reach the guest only as the
embedder passes them (`--env NAME` copies a host variable: that is input).
"""

from __future__ import annotations

import os
import stat as S
from typing import NamedTuple, Protocol

from ...core.determinism import EPOCH_NS

__all__ = ["HostView", "StatLike", "VirtualHost"]

#: The `dev` of every host file in deterministic runs (0 stays "no file": a stream).
VIRTUAL_DEV = 1


class StatLike(Protocol):
    """The fields of os.stat_result that a WASI filestat carries."""

    @property
    def st_dev(self) -> int: ...
    @property
    def st_ino(self) -> int: ...
    @property
    def st_mode(self) -> int: ...
    @property
    def st_nlink(self) -> int: ...
    @property
    def st_size(self) -> int: ...
    @property
    def st_atime_ns(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_ctime_ns(self) -> int: ...


class Stat(NamedTuple):
    """A filestat's values as the guest is to see them."""

    st_dev: int
    st_ino: int
    st_mode: int
    st_nlink: int
    st_size: int
    st_atime_ns: int
    st_mtime_ns: int
    st_ctime_ns: int


class HostView:
    """The host as it is: real metadata, the host's clock resolutions, reads and polls as the OS answers them."""

    #: Whether this view hides the host (deterministic runs): polls wait for every fd, pipe reads fill buffers.
    virtual = False
    #: Whether socket reads and polls answer what has arrived (always, unless a virtual view says otherwise).
    live_sockets = True

    def stat(self, st: os.stat_result) -> StatLike:
        return st

    def ino(self, dev: int, ino: int) -> int:
        """fd_readdir's d_ino for host inode `ino` on device `dev`."""
        return ino

    def clock_resolution(self, host_ns: int) -> int:
        return host_ns

    def times_set(self, st: os.stat_result, atime_ns: int, mtime_ns: int) -> None:
        """The guest set the times of the file `st` describes (after the change)."""

    def removed(self, st: os.stat_result) -> None:
        """The guest removed (unlinked, or renamed another file over) the name `st` described."""


class VirtualHost(HostView):
    """Deterministic runs' view of the host: see the module docstring for every value it replaces."""

    virtual = True

    def __init__(self, *, live_sockets: bool = False) -> None:
        self.live_sockets = live_sockets
        self._inodes: dict[tuple[int, int], int] = {}
        self._next = 1
        self._times: dict[int, tuple[int, int]] = {}  # virtual inode -> (atime, mtime) the guest set

    def ino(self, dev: int, ino: int) -> int:
        key = (dev, ino)
        v = self._inodes.get(key)
        if v is None:
            v = self._inodes[key] = self._next
            self._next += 1
        return v

    def removed(self, st: os.stat_result) -> None:
        if S.S_ISDIR(st.st_mode) or st.st_nlink <= 1:  # its last name: the host may reuse the inode
            v = self._inodes.pop((st.st_dev, st.st_ino), None)
            if v is not None:
                self._times.pop(v, None)

    def stat(self, st: os.stat_result) -> StatLike:
        vino = self.ino(st.st_dev, st.st_ino)
        is_dir = S.S_ISDIR(st.st_mode)
        atime, mtime = self._times.get(vino, (EPOCH_NS, EPOCH_NS))
        return Stat(
            VIRTUAL_DEV,
            vino,
            st.st_mode,
            1 if is_dir else st.st_nlink,
            0 if is_dir else st.st_size,
            atime,
            mtime,
            EPOCH_NS,
        )

    def clock_resolution(self, host_ns: int) -> int:
        return 1

    def times_set(self, st: os.stat_result, atime_ns: int, mtime_ns: int) -> None:
        self._times[self.ino(st.st_dev, st.st_ino)] = (atime_ns, mtime_ns)
