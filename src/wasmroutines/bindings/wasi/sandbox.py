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
  renamed or replaced by a symlink mid-walk cannot redirect the walk;
- with a virtual root (vroot.py: the wasmer face's "/"), a walk may start at
  the root or cross it: `..` above a directory mapped into it leads to the
  root, and at the root a name must be one of its entries. The root itself
  is read-only: a walk that would create or remove a name in it, or act on
  the root, gives EACCES.

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
from .vroot import VirtualRoot

__all__ = ["MAX_SYMLINKS", "Resolved", "decode_path", "resolve"]

MAX_SYMLINKS = 40
_O_PATH = getattr(os, "O_PATH", 0)
_DIR_FLAGS = (_O_PATH or os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: The virtual root's place in a walk's stack of directory fds (never a host fd).
_ROOT = -1


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
    the host reject a trailing slash on a non-directory. `is_root`: the path
    names the virtual root itself, which has no host fd: `dir_fd` is then
    EACCES, so a call that did not expect the root cannot act on it.
    `mapped_in`: the root the named directory is mapped into, when the path
    names such a directory itself (an fd opened on it keeps `..` leading to
    the root). Close it (or use it as a context manager) to release the
    directory fds opened on the way.
    """

    __slots__ = ("_dir_fd", "name", "trailing", "_opened", "mapped_in")

    def __init__(
        self, dir_fd: int, name: bytes, trailing: bool, opened: list[int], mapped_in: VirtualRoot | None = None
    ) -> None:
        self._dir_fd = dir_fd
        self.name = name
        self.trailing = trailing
        self._opened = opened
        self.mapped_in = mapped_in

    @property
    def is_root(self) -> bool:
        return self._dir_fd == _ROOT

    @property
    def dir_fd(self) -> int:
        if self._dir_fd == _ROOT:
            raise WasiError(Errno.ACCES)
        return self._dir_fd

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


def resolve(
    base_fd: int | None,
    path: bytes,
    *,
    follow: bool,
    lookup: bool = True,
    create: bool = False,
    root: VirtualRoot | None = None,
) -> Resolved:
    """Resolve guest `path` beneath host directory `base_fd`.

    `follow`: follow a symlink in the final component. `lookup`: the call
    reads the object (open, stat, utimes), so a trailing slash follows a final
    symlink too, as POSIX resolution does; calls that create or remove names
    pass False and let the host refuse `link/` without following it. `create`:
    a lookup that may create the final name (path_open with O_CREAT).

    `root`: the virtual root `base_fd` is mapped into (`..` above `base_fd`
    leads to it), or, with `base_fd` None, the root the walk starts at.
    """
    path = decode_path(path)
    if path.startswith(b"/"):
        raise WasiError(Errno.NOTCAPABLE)
    if base_fd is None and root is None:
        raise WasiError(Errno.BADF)
    todo = deque(p for p in path.split(b"/") if p)
    trailing = path.endswith(b"/")
    writes = not lookup or create
    # The walk's directories, bottom first; `opened` are those this walk opened (and closes), the
    # rest are the caller's base and the root's entries. The root, when there is one, is at the bottom.
    stack = [_ROOT] if root is not None else []
    if base_fd is not None:
        stack.append(base_fd)
    opened: list[int] = []
    links = 0
    try:
        while todo:
            c = todo.popleft()
            last = not todo
            here = stack[-1]
            if here == _ROOT and root is not None and c not in (b".", b".."):
                entry = root.get(c)
                if last:
                    if entry is None:
                        raise WasiError(Errno.ACCES if writes else Errno.NOENT)
                    if writes:
                        raise WasiError(Errno.ACCES)  # a mapped directory cannot be removed, renamed or replaced
                    return Resolved(entry, b".", True, opened, root)  # the mapped directory itself
                if entry is None:
                    raise WasiError(Errno.NOENT)
                stack.append(entry)
                continue
            if c == b"." or c == b"..":
                if c == b"..":
                    if len(stack) == 1:
                        # Above the base: refused, or at the root already ("/.." is "/").
                        if here != _ROOT:
                            raise WasiError(Errno.NOTCAPABLE)
                    else:
                        gone = stack.pop()
                        if opened and opened[-1] == gone:
                            os.close(opened.pop())
                if last:
                    if stack[-1] == _ROOT and writes:
                        raise WasiError(Errno.ACCES)
                    mapped = root if len(stack) == 2 and stack[0] == _ROOT else None
                    return Resolved(stack[-1], b".", True, opened, mapped)
                continue
            if last:
                if follow or (lookup and trailing):
                    target = _readlink(here, c)
                    if target is not None:
                        links += 1
                        if links > MAX_SYMLINKS:
                            raise WasiError(Errno.LOOP)
                        trailing = _splice(target, todo) or trailing
                        continue
                return Resolved(here, c, trailing, opened)
            try:
                fd = os.open(c, _DIR_FLAGS, dir_fd=here)
            except OSError as e:
                if e.errno not in (host_errno.ENOTDIR, host_errno.ELOOP):
                    raise
                target = _readlink(here, c)
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
