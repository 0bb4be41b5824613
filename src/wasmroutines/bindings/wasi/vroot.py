"""The virtual root: wasmer's read-only directory "/" whose entries are the mapped directories.

wasmer's WASI gives every guest a directory "/" (fd 3, a preopen named "/",
ahead of the mapped directories) that holds each mapped directory under its
alias, so a guest can list "/" and open "/alias/file" through it. The
binding offers the same when `WasiConfig.virtual_root` is set (the wasmer
face sets it; the CLI's `--dir` keeps wasmtime's layout, with no such root).

What lives here is only the root itself: its entries (alias -> a host fd of
the mapped directory, a dup of its own: closing the alias's preopen fd
leaves the root working) and their names. sandbox.resolve() walks through
it: at the root `.` and `..` stay at the root (as "/.." is "/" on POSIX and
in wasmer), a name must be an entry (ENOENT otherwise) and the walk goes on
beneath that directory's host fd; `..` above a mapped directory's preopen
leads back to the root, never to the host's parent. The root is read-only:
creating, removing or renaming anything in it, or changing its times, is
EACCES, the errno wasmer gives.

Only a preopen named by one component (`data`, `/data`, `./data/`) becomes
an entry; one named by a longer path (`/a/b`) or the root itself (`/`, `.`)
stays a preopen only, reached as wasi-libc reaches any preopen: by its name.
"""

from __future__ import annotations

import os

__all__ = ["VirtualRoot", "entry_name"]


def entry_name(guest: bytes) -> bytes | None:
    """The root entry a preopen named `guest` becomes, or None when it names no single component."""
    name = guest.strip(b"/")
    while name.startswith(b"./"):
        name = name[2:].lstrip(b"/")
    if not name or b"/" in name or name in (b".", b".."):
        return None
    return name


class VirtualRoot:
    """The entries of the root: name -> host directory fd (owned here; `close` releases them)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, int] = {}

    def add(self, name: bytes, host_fd: int) -> None:
        """Show the directory open as `host_fd` (duplicated) as `name`; a later entry of the same name wins."""
        fd = os.dup(host_fd)
        old = self._entries.pop(name, None)
        if old is not None:
            os.close(old)
        self._entries[name] = fd

    def get(self, name: bytes) -> int | None:
        """The host fd of entry `name`, or None."""
        return self._entries.get(name)

    def names(self) -> list[bytes]:
        """The entry names, sorted bytewise (listings must not depend on the order they were mapped)."""
        return sorted(self._entries)

    def close(self) -> None:
        for fd in self._entries.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._entries.clear()
