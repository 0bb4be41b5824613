"""The virtual root (bindings/wasi/vroot.py): wasmer's read-only "/" holding the mapped directories.

With `WasiConfig(virtual_root=True)` (the wasmer face's setting) fd 3 is a
preopen named "/" whose entries are the preopens named by one component;
the preopens follow it. Paths through it reach the mapped directories; `..`
climbs from a mapped directory to the root and no further (the root's
parent is the root), never to the host directory around a mapped one; the
root itself refuses every change with EACCES, as wasmer does.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from wasi_programs.guest import LOOKUP_FOLLOW, Guest

from wasmroutines.bindings.wasi import Errno, FileType, WasiConfig
from wasmroutines.bindings.wasi.registry import PREVIEW1
from wasmroutines.bindings.wasi.vroot import entry_name

ROOT, DATA, OTHER = 3, 4, 5
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
READ_ONLY = 2 | (1 << 14)  # fd_read | fd_readdir
AS_DIR = READ_ONLY | (1 << 13)  # and path_open: the rights a directory fd needs here (no write: EISDIR)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/secret.txt beside tmp/data (mapped as /data) and tmp/other (mapped as other)."""
    (tmp_path / "secret.txt").write_text("secret")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "in.txt").write_text("data file")
    (data / "sub" / "deep.txt").write_text("deep")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "o.txt").write_text("other file")
    os.symlink("../secret.txt", data / "link_up")
    os.symlink("../other/o.txt", data / "link_other")
    return tmp_path


@pytest.fixture
def g(tree: Path) -> Iterator[Guest]:
    config = WasiConfig(virtual_root=True).preopen_dir(tree / "data", "/data").preopen_dir(tree / "other", "other")
    guest = Guest(config)
    yield guest
    guest.close()


def read_file(g: Guest, dirfd: int, path: str) -> tuple[int, bytes]:
    err, fd = g.open(dirfd, path, follow=True)
    if err:
        return err, b""
    err, data = g.read_fd(fd, 100)
    assert g.call("fd_close", fd) == 0
    return err, data


def listing(g: Guest, fd: int) -> list[tuple[str, int]]:
    buf, used = g.alloc(1024), g.alloc(4)
    assert g.call("fd_readdir", fd, buf, 1024, 0, used) == 0
    data = g.read(buf, g.u32(used))
    out, off = [], 0
    while off + 24 <= len(data):
        _next, _ino, namlen, kind = struct.unpack_from("<QQIB", data, off)
        out.append((data[off + 24 : off + 24 + namlen].decode(), kind))
        off += 24 + namlen
    return out


def prestat_name(g: Guest, fd: int) -> str:
    pre, name = g.alloc(8), g.alloc(64)
    assert g.call("fd_prestat_get", fd, pre) == 0
    kind, size = struct.unpack("<BxxxI", g.read(pre, 8))
    assert kind == 0
    assert g.call("fd_prestat_dir_name", fd, name, size) == 0
    return g.read(name, size).decode()


def test_the_root_is_fd_3_and_the_mapped_directories_follow(g: Guest) -> None:
    assert [prestat_name(g, fd) for fd in (ROOT, DATA, OTHER)] == ["/", "/data", "other"]
    assert g.call("fd_prestat_get", 6, g.alloc(8)) == Errno.BADF


def test_listing_the_root_shows_the_aliases(g: Guest) -> None:
    d = int(FileType.DIRECTORY)
    assert listing(g, ROOT) == [(".", d), ("..", d), ("data", d), ("other", d)]
    err, fd = g.open(ROOT, ".", O_DIRECTORY, base=READ_ONLY)
    assert err == 0 and fd not in (ROOT, DATA, OTHER)
    assert listing(g, fd) == listing(g, ROOT)
    assert ("..", d) in listing(g, DATA) and ("in.txt", int(FileType.REGULAR_FILE)) in listing(g, DATA)


def test_paths_through_the_root_reach_the_mapped_directories(g: Guest) -> None:
    for dirfd, path, expected in [
        (ROOT, "data/in.txt", b"data file"),
        (ROOT, "./data/../data/sub/deep.txt", b"deep"),
        (ROOT, "../../data/in.txt", b"data file"),  # the root's parent is the root
        (ROOT, "other/o.txt", b"other file"),
        (DATA, "../other/o.txt", b"other file"),  # `..` above a mapped directory is the root
        (DATA, "sub/../../data/in.txt", b"data file"),
        (DATA, "link_other", b"other file"),  # a relative symlink crossing the root
    ]:
        assert read_file(g, dirfd, path) == (0, expected), (dirfd, path)


def test_no_escape_from_the_root_or_an_alias(g: Guest) -> None:
    for dirfd, path, errno in [
        (ROOT, "secret.txt", Errno.NOENT),  # the host directory around the mapped ones is not the root
        (ROOT, "../secret.txt", Errno.NOENT),
        (ROOT, "../../../../secret.txt", Errno.NOENT),
        (DATA, "../secret.txt", Errno.NOENT),
        (DATA, "../../secret.txt", Errno.NOENT),
        (DATA, "link_up", Errno.NOENT),  # "../secret.txt" from data: the root has no such entry
        (ROOT, "data/link_up", Errno.NOENT),
        (ROOT, "/data/in.txt", Errno.NOTCAPABLE),  # absolute paths stay refused
        (ROOT, "nothing/in.txt", Errno.NOENT),
    ]:
        assert read_file(g, dirfd, path)[0] == errno, (dirfd, path)
    # A directory opened beneath a mapped one does not know its place: `..` above it is refused, as without a root.
    err, sub = g.open(ROOT, "data/sub", O_DIRECTORY, base=AS_DIR)
    assert err == 0
    assert read_file(g, sub, "../in.txt")[0] == Errno.NOTCAPABLE
    # The mapped directory itself, opened again, keeps `..` leading to the root.
    err, data = g.open(ROOT, "data", O_DIRECTORY, base=AS_DIR)
    assert err == 0
    assert read_file(g, data, "../other/o.txt") == (0, b"other file")
    assert read_file(g, data, "../../secret.txt")[0] == Errno.NOENT


def test_the_root_is_read_only(g: Guest, tree: Path) -> None:
    before = sorted(p.name for p in tree.iterdir())
    assert g.open(ROOT, "new.txt", O_CREAT)[0] == Errno.ACCES
    assert g.open(ROOT, "data", O_CREAT | O_EXCL)[0] == Errno.ACCES
    assert g.open(ROOT, ".", O_TRUNC)[0] == Errno.ISDIR
    assert g.path_call("path_create_directory", ROOT, "newdir") == Errno.ACCES
    assert g.path_call("path_create_directory", ROOT, "data") == Errno.ACCES
    assert g.path_call("path_create_directory", DATA, "../newdir") == Errno.ACCES
    assert g.path_call("path_remove_directory", ROOT, "data") == Errno.ACCES
    assert g.path_call("path_remove_directory", ROOT, ".") == Errno.ACCES
    assert g.path_call("path_unlink_file", ROOT, "data") == Errno.ACCES
    assert g.path_call("path_unlink_file", ROOT, "secret.txt") == Errno.ACCES
    assert g.call("path_symlink", *g.bytes_at(b"data"), ROOT, *g.bytes_at(b"link")) == Errno.ACCES
    src, srcn = g.bytes_at(b"in.txt")
    assert g.call("path_rename", DATA, src, srcn, ROOT, *g.bytes_at(b"in.txt")) == Errno.ACCES
    assert g.call("path_rename", ROOT, *g.bytes_at(b"data"), DATA, *g.bytes_at(b"moved")) == Errno.ACCES
    assert g.call("path_link", DATA, 0, src, srcn, ROOT, *g.bytes_at(b"in.txt")) == Errno.ACCES
    assert g.call("path_filestat_set_times", ROOT, 0, *g.bytes_at(b"."), 0, 0, 0) == Errno.ACCES
    assert g.call("fd_filestat_set_times", ROOT, 0, 0, 0) == Errno.ACCES
    assert sorted(p.name for p in tree.iterdir()) == before
    assert sorted(p.name for p in (tree / "data").iterdir()) == ["in.txt", "link_other", "link_up", "sub"]
    # Beneath the root, the mapped directories are as writable as they were.
    err, fd = g.open(ROOT, "data/new.txt", O_CREAT, base=64)  # fd_write
    assert err == 0 and g.write(fd, b"hi") == (0, 2)
    assert (tree / "data" / "new.txt").read_text() == "hi"


def test_stat_of_the_root_and_of_an_alias(g: Guest) -> None:
    err, stat = g.filestat(ROOT, ".")
    assert err == 0 and stat[16] == FileType.DIRECTORY
    buf = g.alloc(64)
    assert g.call("fd_filestat_get", ROOT, buf) == 0 and g.read(buf, 64)[16] == FileType.DIRECTORY
    err, stat = g.filestat(ROOT, "data")
    assert err == 0 and stat[16] == FileType.DIRECTORY
    assert struct.unpack_from("<Q", stat, 8)[0] == os.stat(g.env.state.fds.get(DATA).fd).st_ino
    assert g.filestat(ROOT, "nothing")[0] == Errno.NOENT
    assert g.call("path_filestat_get", ROOT, LOOKUP_FOLLOW, *g.bytes_at(b"data/in.txt"), buf) == 0


def test_closing_a_mapped_preopen_leaves_the_root_working(g: Guest) -> None:
    assert g.call("fd_close", DATA) == 0
    assert read_file(g, ROOT, "data/in.txt") == (0, b"data file")


def test_without_a_virtual_root_fd_3_is_the_first_preopen(tree: Path) -> None:
    g = Guest(WasiConfig().preopen_dir(tree / "data", "/data"))
    assert prestat_name(g, 3) == "/data"
    assert read_file(g, 3, "../secret.txt")[0] == Errno.NOTCAPABLE
    g.close()


def test_close_releases_the_roots_host_fds(tree: Path) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_fds()
    g = Guest(WasiConfig(virtual_root=True).preopen_dir(tree / "data", "data"))
    assert open_fds() == before + 2  # the preopen and the root's own copy
    g.close()
    assert open_fds() == before


@pytest.mark.parametrize(
    ("guest", "name"),
    [
        (b"data", b"data"),
        (b"/data", b"data"),
        (b"./data/", b"data"),
        (b"//x//", b"x"),
        (b"/", None),
        (b".", None),
        (b"./", None),
        (b"..", None),
        (b"a/b", None),
        (b"", None),
    ],
)
def test_entry_name(guest: bytes, name: bytes | None) -> None:
    assert entry_name(guest) == name


def test_every_call_on_the_root_gives_an_errno(tree: Path) -> None:
    """Each fd_*/path_* call on the root fd answers an errno, never raises (the path "data/in.txt" where one fits)."""
    for name, call in sorted(PREVIEW1.items()):
        if not name.startswith(("fd_", "path_", "sock_")):
            continue
        (tree / "data" / "in.txt").write_text("data file")  # a call before may have removed it, as it may
        g = Guest(WasiConfig(virtual_root=True).preopen_dir(tree / "data", "data"))
        try:
            p, n = g.bytes_at(b"data/in.txt")
            args = [ROOT] + [{"i": n if i % 2 else p, "I": 0, "q": 0}[c] for i, c in enumerate(call.params[1:])]
            result = g.call(name, *args)
            assert 0 <= result < 80, name
        finally:
            g.close()
    assert sorted(p.name for p in tree.iterdir()) == ["data", "other", "secret.txt"]
