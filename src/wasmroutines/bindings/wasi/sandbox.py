"""Path resolution beneath a directory fd: the WASI sandbox.

A guest names files by (directory fd, relative path). This module walks the
path one component at a time with openat(O_NOFOLLOW) from that directory,
holding a host fd for every directory on the way, so:

- `..` pops back to the parent fd already held; `..` above the starting
  directory is refused (ENOTCAPABLE), whatever the host tree above it holds;
- absolute paths, and symlinks whose target is absolute, are refused;
- a symlink met on the way is read (readlinkat) and its target spliced into
  the remaining components, resolved by the same rules: a link can never
  lead outside, however it is built (at most 40 links per lookup, then ELOOP);
- nothing is resolved by the host kernel past one component, so a directory
  renamed or replaced by a symlink mid-walk cannot redirect the walk.

The result is (parent directory fd, final component). Calls then use the
host's *at() functions on that pair, never with follow: when the guest asks
to follow a final symlink (LOOKUPFLAGS_SYMLINK_FOLLOW, or a trailing slash
on a lookup) it is followed here, in the sandbox.
"""

from __future__ import annotations

import errno as host_errno
import os
from collections import deque
from types import TracebackType

from .errno import Errno
from .errors import WasiError

__all__ = ["MAX_SYMLINKS", "Resolved", "decode_path", "resolve"]

MAX_SYMLINKS = 40
_O_PATH = getattr(os, "O_PATH", 0)
_DIR_FLAGS = (_O_PATH or os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def decode_path(raw: bytes) -> bytes:
    """Check a guest path: UTF-8 (EILSEQ otherwise), no NUL (EINVAL), not empty (ENOENT)."""
    if b"\0" in raw:
        raise WasiError(Errno.INVAL)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WasiError(Errno.ILSEQ) from None
    if not raw:
        raise WasiError(Errno.NOENT)
    return raw


class Resolved:
    """A resolved path: `dir_fd` (a host directory fd) and `name`, one component in it.

    `name` is `b"."` when the path names the directory itself. `trailing` is
    True when the path ended in a slash (or `.`/`..`): the object must be a
    directory. `host_name` is `name` with the slash kept, for calls that let
    the host reject a trailing slash on a non-directory. Close it (or use it
    as a context manager) to release the directory fds opened on the way.
    """

    __slots__ = ("dir_fd", "name", "trailing", "_opened")

    def __init__(self, dir_fd: int, name: bytes, trailing: bool, opened: list[int]) -> None:
        self.dir_fd = dir_fd
        self.name = name
        self.trailing = trailing
        self._opened = opened

    @property
    def host_name(self) -> bytes:
        return self.name + b"/" if self.trailing and self.name != b"." else self.name

    def close(self) -> None:
        for fd in self._opened:
            try:
                os.close(fd)
            except OSError:
                pass
        self._opened = []

    def __enter__(self) -> Resolved:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _readlink(dir_fd: int, name: bytes) -> bytes | None:
    """The target of symlink `name` in `dir_fd`, or None when it is not a symlink (or does not exist)."""
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError as e:
        if e.errno in (host_errno.EINVAL, host_errno.ENOENT, host_errno.ENOTDIR):
            return None
        raise


def _splice(target: bytes, todo: deque[bytes]) -> bool:
    """Put a symlink's target in front of the components still to resolve; True when it ends in a slash."""
    if target.startswith(b"/"):
        raise WasiError(Errno.NOTCAPABLE)
    parts = [p for p in target.split(b"/") if p]
    if not parts:
        raise WasiError(Errno.NOENT)
    todo.extendleft(reversed(parts))
    return target.endswith(b"/")


def resolve(base_fd: int, path: bytes, *, follow: bool, lookup: bool = True) -> Resolved:
    """Resolve guest `path` beneath host directory `base_fd`.

    `follow`: follow a symlink in the final component. `lookup`: the call
    reads the object (open, stat, utimes), so a trailing slash follows a final
    symlink too, as POSIX resolution does; calls that create or remove names
    pass False and let the host refuse `link/` without following it.
    """
    path = decode_path(path)
    if path.startswith(b"/"):
        raise WasiError(Errno.NOTCAPABLE)
    todo = deque(p for p in path.split(b"/") if p)
    trailing = path.endswith(b"/")
    stack = [base_fd]
    opened: list[int] = []
    links = 0
    try:
        while todo:
            c = todo.popleft()
            last = not todo
            if c == b"." or c == b"..":
                if c == b"..":
                    if len(stack) == 1:
                        raise WasiError(Errno.NOTCAPABLE)
                    os.close(stack.pop())
                    opened.pop()
                if last:
                    return Resolved(stack[-1], b".", True, opened)
                continue
            if last:
                if follow or (lookup and trailing):
                    target = _readlink(stack[-1], c)
                    if target is not None:
                        links += 1
                        if links > MAX_SYMLINKS:
                            raise WasiError(Errno.LOOP)
                        trailing = _splice(target, todo) or trailing
                        continue
                return Resolved(stack[-1], c, trailing, opened)
            try:
                fd = os.open(c, _DIR_FLAGS, dir_fd=stack[-1])
            except OSError as e:
                if e.errno not in (host_errno.ENOTDIR, host_errno.ELOOP):
                    raise
                target = _readlink(stack[-1], c)
                if target is None:
                    raise
                links += 1
                if links > MAX_SYMLINKS:
                    raise WasiError(Errno.LOOP) from None
                _splice(target, todo)
                continue
            stack.append(fd)
            opened.append(fd)
        # Only empty components (the path was all slashes, which start with "/"), cannot happen.
        raise WasiError(Errno.NOENT)
    except BaseException:
        for fd in opened:
            os.close(fd)
        raise
