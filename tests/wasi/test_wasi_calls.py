"""WASI calls one by one, through the host functions a guest imports (see wasi_programs/guest.py).

What matters here beyond the WASI test suite: errors always come back as
errno values (bad pointers are EFAULT, never a Python exception), stdio can be
captured, rights are enforced, the hooks (clock, random) replace the host's,
and snapshot 0's differing layouts.
"""

from __future__ import annotations

import io
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wasi_programs.guest import ALL_RIGHTS, Guest

from wasmroutines import Instance, LinkError, Module, Store, WasmroutinesError
from wasmroutines.bindings.wasi import (
    PREVIEW1_MODULE,
    SNAPSHOT0_MODULE,
    Errno,
    WasiConfig,
    WasiEnvironment,
    WasiExit,
)
from wasmroutines.bindings.wasi.abi import DIR_INHERITING, DIR_RIGHTS, FILE_RIGHTS, Rights

O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8


@pytest.fixture
def dir_guest(tmp_path: Path) -> Guest:
    (tmp_path / "data.txt").write_bytes(b"0123456789")
    return Guest(WasiConfig().preopen_dir(tmp_path, "/work"))


def test_args_and_environ() -> None:
    g = Guest(WasiConfig(args=["prog", "a b", "ü"], env={"K": "V", "EMPTY": ""}))
    counts, size = g.alloc(4), g.alloc(4)
    assert g.call("args_sizes_get", counts, size) == 0
    assert (g.u32(counts), g.u32(size)) == (3, len(b"prog\0a b\0\xc3\xbc\0"))
    argv, buf = g.alloc(12), g.alloc(32)
    assert g.call("args_get", argv, buf) == 0
    assert [g.u32(argv + 4 * i) - buf for i in range(3)] == [0, 5, 9]
    assert g.read(buf, 12) == b"prog\0a b\0\xc3\xbc\0"
    assert g.call("environ_sizes_get", counts, size) == 0
    assert (g.u32(counts), g.u32(size)) == (2, len(b"K=V\0EMPTY=\0"))
    assert g.call("environ_get", argv, buf) == 0
    assert g.read(buf, 11) == b"K=V\0EMPTY=\0"


def test_stdio_capture_and_stdin_bytes() -> None:
    out = bytearray()
    err = io.BytesIO()
    g = Guest(WasiConfig(stdin=b"input!", stdout=out, stderr=err))
    assert g.write(1, b"hello ") == (0, 6)
    assert g.write(1, b"world") == (0, 5)
    assert g.write(2, b"oops") == (0, 4)
    assert bytes(out) == b"hello world" and err.getvalue() == b"oops"
    assert g.read_fd(0, 4) == (0, b"inpu")
    assert g.read_fd(0, 10) == (0, b"t!")
    assert g.read_fd(0, 10) == (0, b"")  # end of input
    assert g.write(0, b"x")[0] == Errno.BADF  # stdin is not writable


def test_bad_pointers_are_efault_not_exceptions() -> None:
    g = Guest(WasiConfig(args=["p"], stdout=bytearray()))
    end = g.memory.data_size
    assert g.call("args_get", end - 2, end - 1) == Errno.FAULT
    assert g.call("args_sizes_get", end, 0) == Errno.FAULT
    iov = g.alloc(8, 4)
    g.memory.write(iov, struct.pack("<II", end - 4, 100))
    assert g.call("fd_write", 1, iov, 1, g.alloc(4)) == Errno.FAULT
    assert g.call("fd_write", 1, end - 4, 1, g.alloc(4)) == Errno.FAULT
    assert g.call("random_get", end - 10, 11) == Errno.FAULT
    assert g.call("clock_time_get", 0, 0, 0xFFFF_FFFF) == Errno.FAULT


def test_unknown_fds_are_ebadf() -> None:
    g = Guest()
    out = g.alloc(64)
    for name, args in [
        ("fd_close", (99,)),
        ("fd_fdstat_get", (99, out)),
        ("fd_filestat_get", (99, out)),
        ("fd_prestat_get", (3, out)),
        ("fd_seek", (99, 0, 0, out)),
        ("fd_renumber", (0, 99)),
    ]:
        assert g.call(name, *args) == Errno.BADF, name


def test_proc_exit_raises_wasiexit() -> None:
    g = Guest()
    with pytest.raises(WasiExit) as info:
        g.call("proc_exit", 7)
    assert info.value.code == 7
    assert isinstance(info.value, WasmroutinesError) and isinstance(info.value, RuntimeError)
    assert g.call("proc_raise", 6) == Errno.NOSYS
    assert g.call("sched_yield") == 0


def test_clocks() -> None:
    g = Guest()
    t = g.alloc(8)
    assert g.call("clock_time_get", 0, 1, t) == 0
    assert abs(g.u64(t) - time.time_ns()) < 5e9
    assert g.call("clock_time_get", 1, 1, t) == 0
    first = g.u64(t)
    assert g.call("clock_time_get", 1, 1, t) == 0
    assert g.u64(t) >= first
    for clock in (2, 3):
        assert g.call("clock_time_get", clock, 1, t) == 0
        assert g.call("clock_res_get", clock, t) == 0 and g.u64(t) >= 1
    assert g.call("clock_time_get", 4, 1, t) == Errno.INVAL
    assert g.call("clock_res_get", 4, t) == Errno.INVAL


def test_clock_and_random_hooks() -> None:
    g = Guest(WasiConfig(clock=lambda clock_id: 1000 + clock_id, random=lambda n: bytes(range(n))))
    t = g.alloc(8)
    for clock in (0, 2, 3):
        assert g.call("clock_time_get", clock, 0, t) == 0 and g.u64(t) == 1000 + clock
    buf = g.alloc(16)
    assert g.call("random_get", buf, 16) == 0
    assert g.read(buf, 16) == bytes(range(16))
    assert g.call("random_get", buf, 0) == 0


def test_file_io_seek_tell_pread_pwrite(dir_guest: Guest) -> None:
    g = dir_guest
    err, fd = g.open(3, "data.txt")
    assert err == 0
    pos = g.alloc(8)
    assert g.call("fd_seek", fd, 4, 0, pos) == 0 and g.u64(pos) == 4  # SET
    assert g.read_fd(fd, 3) == (0, b"456")
    assert g.call("fd_tell", fd, pos) == 0 and g.u64(pos) == 7
    assert g.call("fd_seek", fd, -2, 2, pos) == 0 and g.u64(pos) == 8  # END
    assert g.call("fd_seek", fd, -1, 1, pos) == 0 and g.u64(pos) == 7  # CUR
    assert g.call("fd_seek", fd, 0, 3, pos) == Errno.INVAL
    assert g.call("fd_seek", fd, -100, 0, pos) == Errno.INVAL
    iov, n, (buf,) = g.iovecs(4)
    nread = g.alloc(4)
    assert g.call("fd_pread", fd, iov, n, 2, nread) == 0
    assert g.read(buf, g.u32(nread)) == b"2345"
    iov, n, _ = g.iovecs(b"AB")
    assert g.call("fd_pwrite", fd, iov, n, 0, nread) == 0 and g.u32(nread) == 2
    assert g.call("fd_tell", fd, pos) == 0 and g.u64(pos) == 7  # pread/pwrite leave the offset alone
    assert g.call("fd_filestat_set_size", fd, 3) == 0
    err, stat = g.filestat(3, "data.txt")
    assert err == 0 and struct.unpack_from("<Q", stat, 32)[0] == 3
    assert g.call("fd_close", fd) == 0
    assert g.call("fd_close", fd) == Errno.BADF


def test_open_flags(dir_guest: Guest) -> None:
    g = dir_guest
    assert g.open(3, "data.txt", O_CREAT | O_EXCL)[0] == Errno.EXIST
    assert g.open(3, "missing.txt")[0] == Errno.NOENT
    assert g.open(3, "data.txt", O_DIRECTORY)[0] == Errno.NOTDIR
    err, fd = g.open(3, "new.txt", O_CREAT, fdflags=1)  # APPEND
    assert err == 0
    assert g.write(fd, b"abc") == (0, 3)
    pos = g.alloc(8)
    assert g.call("fd_seek", fd, 0, 0, pos) == 0
    assert g.write(fd, b"def") == (0, 3)
    err, fd2 = g.open(3, "new.txt")
    assert g.read_fd(fd2, 10) == (0, b"abcdef")
    err, fd3 = g.open(3, "new.txt", O_TRUNC)
    assert err == 0
    assert g.filestat(3, "new.txt")[1][32] == 0


def test_rights_are_enforced(dir_guest: Guest) -> None:
    g = dir_guest
    err, fd = g.open(3, "data.txt", base=int(Rights.FD_READ | Rights.FD_FILESTAT_GET))
    assert err == 0
    assert g.write(fd, b"x")[0] == Errno.NOTCAPABLE
    stat = g.alloc(24)
    assert g.call("fd_fdstat_get", fd, stat) == 0
    filetype, flags, base, inheriting = struct.unpack("<BxHxxxxQQ", g.read(stat, 24))
    assert (filetype, base) == (4, Rights.FD_READ | Rights.FD_FILESTAT_GET)
    assert g.call("fd_fdstat_set_rights", fd, int(Rights.FD_FILESTAT_GET), 0) == 0
    assert g.read_fd(fd, 1)[0] == Errno.NOTCAPABLE
    assert g.call("fd_fdstat_set_rights", fd, int(Rights.FD_READ), 0) == Errno.NOTCAPABLE
    # A directory without PATH_CREATE_FILE cannot create.
    dir_base = DIR_RIGHTS & ~Rights.PATH_CREATE_FILE
    assert g.call("fd_fdstat_set_rights", 3, ALL_RIGHTS, ALL_RIGHTS) == Errno.NOTCAPABLE  # no new rights
    assert g.call("fd_fdstat_set_rights", 3, dir_base, DIR_INHERITING) == 0
    assert g.open(3, "other.txt", O_CREAT)[0] == Errno.NOTCAPABLE
    # What a directory hands down caps what is opened beneath it.
    assert g.call("fd_fdstat_set_rights", 3, dir_base, int(Rights.FD_READ)) == 0
    err, fd = g.open(3, "data.txt", base=FILE_RIGHTS)
    assert g.call("fd_fdstat_get", fd, stat) == 0
    assert struct.unpack_from("<Q", g.read(stat, 24), 8)[0] == Rights.FD_READ


def test_prestat(dir_guest: Guest) -> None:
    g = dir_guest
    pre = g.alloc(8)
    assert g.call("fd_prestat_get", 3, pre) == 0
    assert struct.unpack("<BxxxI", g.read(pre, 8)) == (0, 5)
    name = g.alloc(8)
    assert g.call("fd_prestat_dir_name", 3, name, 4) == Errno.NAMETOOLONG
    assert g.call("fd_prestat_dir_name", 3, name, 8) == 0
    assert g.read(name, 5) == b"/work"
    assert g.call("fd_prestat_get", 4, pre) == Errno.BADF


def test_readdir_with_cookies_and_small_buffers(tmp_path: Path) -> None:
    names = {f"file{i}" for i in range(20)}
    for n in names:
        (tmp_path / n).write_text(n)
    (tmp_path / "dir").mkdir()
    g = Guest(WasiConfig().preopen_dir(tmp_path, "."))
    buf, used = g.alloc(100), g.alloc(4)
    seen: dict[str, int] = {}
    cookie = 0
    while True:
        assert g.call("fd_readdir", 3, buf, 100, cookie, used) == 0
        data = g.read(buf, g.u32(used))
        off = 0
        while off + 24 <= len(data):
            d_next, _ino, namlen, kind = struct.unpack_from("<QQIB", data, off)
            if off + 24 + namlen > len(data):
                break
            seen[data[off + 24 : off + 24 + namlen].decode()] = kind
            cookie = d_next
            off += 24 + namlen
        if g.u32(used) < 100:
            break
    assert set(seen) == names | {".", "..", "dir"}
    assert seen["dir"] == 3 and seen["file0"] == 4
    assert g.call("fd_readdir", 1, buf, 100, 0, used) in (Errno.NOTDIR, Errno.NOTCAPABLE)


def test_renumber(dir_guest: Guest) -> None:
    g = dir_guest
    _, a = g.open(3, "data.txt")
    _, b = g.open(3, "data.txt")
    assert g.call("fd_renumber", a, b) == 0
    assert g.call("fd_close", a) == Errno.BADF
    assert g.read_fd(b, 2) == (0, b"01")
    assert g.call("fd_renumber", b, a) == Errno.BADF  # the target must be open


def test_set_times(dir_guest: Guest, tmp_path: Path) -> None:
    g = dir_guest
    ATIM, ATIM_NOW, MTIM, MTIM_NOW = 1, 2, 4, 8
    p, n = g.bytes_at(b"data.txt")
    assert g.call("path_filestat_set_times", 3, 0, p, n, 5_000_000_000, 7_000_000_000, ATIM | MTIM) == 0
    st = (tmp_path / "data.txt").stat()
    assert (st.st_atime_ns, st.st_mtime_ns) == (5_000_000_000, 7_000_000_000)
    assert g.call("path_filestat_set_times", 3, 0, p, n, 0, 9_000_000_000, MTIM) == 0
    st = (tmp_path / "data.txt").stat()
    assert (st.st_atime_ns, st.st_mtime_ns) == (5_000_000_000, 9_000_000_000)
    assert g.call("path_filestat_set_times", 3, 0, p, n, 0, 0, ATIM | ATIM_NOW) == Errno.INVAL
    _, fd = g.open(3, "data.txt")
    assert g.call("fd_filestat_set_times", fd, 0, 0, MTIM_NOW) == 0
    assert abs((tmp_path / "data.txt").stat().st_mtime_ns - time.time_ns()) < 5e9
    assert g.call("fd_filestat_set_times", fd, 0, 0, 16) == Errno.INVAL


def test_snapshot0_layouts(dir_guest: Guest) -> None:
    g = dir_guest
    _, fd = g.open(3, "data.txt")
    pos = g.alloc(8)
    # wasi_unstable numbers whence CUR=0, END=1, SET=2.
    assert g.call("fd_seek", fd, 3, 2, pos, module=SNAPSHOT0_MODULE) == 0 and g.u64(pos) == 3
    assert g.call("fd_seek", fd, 1, 0, pos, module=SNAPSHOT0_MODULE) == 0 and g.u64(pos) == 4
    assert g.call("fd_seek", fd, -1, 1, pos, module=SNAPSHOT0_MODULE) == 0 and g.u64(pos) == 9
    # Its filestat has a u32 nlink at 20 and the size at 24 (56 bytes in all).
    buf = g.alloc(64)
    g.memory.write(buf, b"\xee" * 64)
    assert g.call("fd_filestat_get", fd, buf, module=SNAPSHOT0_MODULE) == 0
    raw = g.read(buf, 64)
    assert raw[16] == 4 and struct.unpack_from("<I", raw, 20)[0] == 1
    assert struct.unpack_from("<Q", raw, 24)[0] == 10
    assert raw[56:] == b"\xee" * 8
    assert g.call("fd_filestat_get", fd, buf) == 0
    assert struct.unpack_from("<QQ", g.read(buf, 40), 24) == (1, 10)  # preview1: nlink u64, then size


HELLO = """
(module
  (import "{ns}" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "{ns}" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 3))))
"""


@pytest.mark.parametrize("ns", [PREVIEW1_MODULE, SNAPSHOT0_MODULE])
def test_a_command_end_to_end(wat: Callable[[str], bytes], ns: str) -> None:
    out = bytearray()
    store = Store()
    module = Module(wat(HELLO.replace("{ns}", ns)))
    with WasiEnvironment(WasiConfig(args=["hello"], stdout=out)) as wasi:
        imports = wasi.imports(store, module)
        assert set(imports) == {ns} and set(imports[ns]) == {"fd_write", "proc_exit"}
        instance = Instance(store, module, imports)
        assert wasi.start(instance) == 3
    assert bytes(out) == b"hello\n"


def test_imports_of_every_call_and_unknown_ones(wat: Callable[[str], bytes]) -> None:
    store = Store()
    wasi = WasiEnvironment()
    everything = wasi.imports(store)
    assert len(everything[PREVIEW1_MODULE]) == 46
    assert "sock_accept" not in everything[SNAPSHOT0_MODULE] and len(everything[SNAPSHOT0_MODULE]) == 45
    module = Module(wat('(module (import "wasi_snapshot_preview1" "no_such_call" (func)))'))
    with pytest.raises(LinkError):
        Instance(store, module, wasi.imports(store, module))
    # A WASI call imported with the wrong signature does not link either.
    module = Module(wat('(module (import "wasi_snapshot_preview1" "fd_close" (func (param i64))))'))
    with pytest.raises(LinkError):
        Instance(store, module, wasi.imports(store, module))


def test_a_created_file_is_a_data_file(tmp_path: Path) -> None:
    # 0o666 less the umask, as wasmtime creates them: not executable.
    g = Guest(WasiConfig().preopen_dir(tmp_path, "/work"))
    umask = os.umask(0o022)
    try:
        err, fd = g.open(3, "made.txt", O_CREAT)
    finally:
        os.umask(umask)
    assert err == 0
    assert (tmp_path / "made.txt").stat().st_mode & 0o777 == 0o644
