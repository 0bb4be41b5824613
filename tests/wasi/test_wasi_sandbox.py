"""The WASI sandbox: a guest reaches nothing outside its preopened directories.

Escapes are tried every way a path can carry one: `..` past the preopen,
absolute paths, symlinks (absolute, relative climbing out, in the middle of
a path or at its end, followed or not, chained, looping), and the calls that
take two paths (link, rename). Each attempt must fail with an errno (mostly
ENOTCAPABLE) and leave the outside untouched; the same shapes kept inside
the preopen must work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from wasi_programs.guest import LOOKUP_FOLLOW, Guest

from wasmroutines.bindings.wasi import Errno, WasiConfig
from wasmroutines.bindings.wasi.abi import DIR_RIGHTS

ROOT_FD = 3
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "file.txt").write_text("inside")
    os.symlink("sub", root / "link_in")
    os.symlink(str(outside), root / "link_abs")
    os.symlink("../outside", root / "link_up")
    os.symlink("../../outside/secret.txt", root / "sub" / "link_upup")
    os.symlink("sub/..", root / "link_self")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("sub/file.txt", root / "link_file")
    return tmp_path


@pytest.fixture
def g(tree: Path) -> Iterator[Guest]:
    guest = Guest(WasiConfig().preopen_dir(tree / "root", "/"))
    yield guest
    guest.close()


def test_inside_paths_work(g: Guest) -> None:
    for path in [
        "sub/file.txt",
        "./sub/../sub/file.txt",
        "sub//file.txt",
        "link_in/file.txt",
        "link_self/sub/file.txt",
    ]:
        err, fd = g.open(ROOT_FD, path)
        assert err == 0, path
        assert g.read_fd(fd, 100) == (0, b"inside")
        assert g.call("fd_close", fd) == 0


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        "sub/../..",
        "./../root/sub/file.txt",
    ],
)
def test_dotdot_cannot_leave_the_preopen(g: Guest, path: str) -> None:
    assert g.open(ROOT_FD, path)[0] == Errno.NOTCAPABLE


@pytest.mark.parametrize("path", ["/sub/file.txt", "/", "//sub", "/../outside/secret.txt"])
def test_absolute_paths_are_refused(g: Guest, path: str) -> None:
    assert g.open(ROOT_FD, path)[0] == Errno.NOTCAPABLE
    assert g.filestat(ROOT_FD, path)[0] == Errno.NOTCAPABLE


@pytest.mark.parametrize(
    "path",
    ["link_abs/secret.txt", "link_up/secret.txt", "sub/link_upup", "link_abs", "link_up", "link_up/"],
)
def test_symlinks_cannot_lead_outside(g: Guest, path: str) -> None:
    err, _ = g.open(ROOT_FD, path, follow=True)
    assert err == Errno.NOTCAPABLE
    assert g.filestat(ROOT_FD, path, follow=True)[0] == Errno.NOTCAPABLE


def test_symlink_to_outside_is_seen_as_a_link_without_following(g: Guest) -> None:
    # Not following: the link itself is inside, so lstat and readlink see it, but open refuses it.
    err, stat = g.filestat(ROOT_FD, "link_abs")
    assert err == 0 and stat[16] == 7  # FILETYPE_SYMBOLIC_LINK
    assert g.open(ROOT_FD, "link_abs")[0] == Errno.LOOP


def test_symlink_loop_is_eloop(g: Guest) -> None:
    assert g.open(ROOT_FD, "loop1", follow=True)[0] == Errno.LOOP
    assert g.open(ROOT_FD, "loop1/x")[0] == Errno.LOOP


def test_final_symlink_followed_only_when_asked(g: Guest) -> None:
    assert g.open(ROOT_FD, "link_file")[0] == Errno.LOOP
    err, fd = g.open(ROOT_FD, "link_file", follow=True)
    assert err == 0 and g.read_fd(fd, 10) == (0, b"inside")


def test_creating_through_escaping_paths_fails(g: Guest, tree: Path) -> None:
    assert g.open(ROOT_FD, "../outside/new.txt", O_CREAT)[0] == Errno.NOTCAPABLE
    assert g.open(ROOT_FD, "link_up/new.txt", O_CREAT)[0] == Errno.NOTCAPABLE
    assert g.open(ROOT_FD, "link_abs/new.txt", O_CREAT, follow=True)[0] == Errno.NOTCAPABLE
    assert g.path_call("path_create_directory", ROOT_FD, "link_up/newdir") == Errno.NOTCAPABLE
    assert g.path_call("path_unlink_file", ROOT_FD, "link_up/secret.txt") == Errno.NOTCAPABLE
    assert g.path_call("path_remove_directory", ROOT_FD, "..") == Errno.NOTCAPABLE
    assert sorted(os.listdir(tree / "outside")) == ["secret.txt"]


def test_two_path_calls_cannot_escape(g: Guest, tree: Path) -> None:
    src, n = g.bytes_at(b"sub/file.txt")
    for dst in [b"../outside/moved.txt", b"link_up/moved.txt", b"/tmp/moved.txt"]:
        d, dn = g.bytes_at(dst)
        assert g.call("path_rename", ROOT_FD, src, n, ROOT_FD, d, dn) == Errno.NOTCAPABLE
        assert g.call("path_link", ROOT_FD, 0, src, n, ROOT_FD, d, dn) == Errno.NOTCAPABLE
    out, on = g.bytes_at(b"link_up/secret.txt")
    here, hn = g.bytes_at(b"stolen.txt")
    assert g.call("path_link", ROOT_FD, LOOKUP_FOLLOW, out, on, ROOT_FD, here, hn) == Errno.NOTCAPABLE
    assert g.call("path_rename", ROOT_FD, out, on, ROOT_FD, here, hn) == Errno.NOTCAPABLE
    assert sorted(os.listdir(tree / "outside")) == ["secret.txt"]
    assert (tree / "root" / "sub" / "file.txt").exists()


def test_guest_cannot_create_an_absolute_symlink(g: Guest, tree: Path) -> None:
    target, tn = g.bytes_at(str(tree / "outside").encode())
    name, nn = g.bytes_at(b"mylink")
    assert g.call("path_symlink", target, tn, ROOT_FD, name, nn) == Errno.NOTCAPABLE
    # A relative one climbing out may be created (it is only data) but never followed.
    target, tn = g.bytes_at(b"../outside/secret.txt")
    assert g.call("path_symlink", target, tn, ROOT_FD, name, nn) == 0
    assert g.open(ROOT_FD, "mylink", follow=True)[0] == Errno.NOTCAPABLE


def test_a_subdirectory_fd_is_its_own_sandbox(g: Guest) -> None:
    err, sub = g.open(ROOT_FD, "sub", O_DIRECTORY, base=DIR_RIGHTS)
    assert err == 0
    assert g.open(sub, "file.txt")[0] == 0
    # The guest opened "sub" itself: its parent is beyond that fd's reach.
    assert g.open(sub, "../sub/file.txt")[0] == Errno.NOTCAPABLE
    assert g.open(sub, "link_upup", follow=True)[0] == Errno.NOTCAPABLE


def test_path_checks(g: Guest) -> None:
    assert g.open(ROOT_FD, b"sub/file.txt\0")[0] == Errno.INVAL
    assert g.open(ROOT_FD, b"sub/\xff")[0] == Errno.ILSEQ
    assert g.open(ROOT_FD, b"")[0] == Errno.NOENT
    assert g.open(ROOT_FD, "sub/file.txt/")[0] == Errno.NOTDIR


def test_only_preopens_are_reachable(g: Guest) -> None:
    # fd 4 and up are not open; stdio fds are not directories.
    assert g.open(4, "x")[0] == Errno.BADF
    assert g.open(1, "x")[0] == Errno.NOTDIR
