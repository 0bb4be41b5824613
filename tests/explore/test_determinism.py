"""Deterministic mode: same program, input and seed give the same bytes, schedule and trace; virtual time.

Programs: tests/programs/explore/ (sleepers.wat: 200 wasi-threads sleeping; entropy.wat: random bytes,
clocks and a directory listing; hoststat.wat: file metadata, clock resolutions, poll and read on stdin;
the Zig programs built by tools/build_explore_programs.sh).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from idle_clock import IdleRecorder

from wasmroutines.core import determinism
from wasmroutines.core.determinism import (
    EPOCH_NS,
    DeterministicClock,
    NetworkClock,
    PCTPolicy,
    RandomWalkPolicy,
    Schedule,
    SeededBytes,
    derive_seed,
)
from wasmroutines.explore import Program, run_program, runner

PROGRAMS = Path(__file__).resolve().parent.parent / "programs" / "explore"


class _RecordingDeterministicClock(IdleRecorder, DeterministicClock):
    pass


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "wasmroutines", *args], capture_output=True, timeout=120)


# ---- the pieces ----


def test_seeded_bytes_are_a_function_of_the_seed() -> None:
    a, b = SeededBytes(7), SeededBytes(7)
    assert a(5) + a(11) == b(16)  # however the guest splits its reads
    assert SeededBytes(7)(16) != SeededBytes(8)(16)
    assert derive_seed(1, 2, 3) == derive_seed(1, 2, 3) != derive_seed(1, 2, 4)


def test_seeded_bytes_stream_is_pinned() -> None:
    # The stream is part of the format of deterministic runs: it must not change between releases.
    assert SeededBytes(42)(16).hex() == "a081eaf0cff9ec59f98553533a3bccc2"


MS = 1_000_000


@pytest.mark.parametrize(
    ("network", "deadline", "answer_after", "event", "polls", "now"),
    [
        (False, 20 * MS, None, False, [0], 20 * MS),  # nobody waits for the network: a plain virtual jump
        (True, 20 * MS, 5 * MS, True, [0, 0.02], 5 * MS),  # a wake-up 5 ms in: the time waited
        (True, 20 * MS, 20 * MS, False, [0, 0.02], 20 * MS),  # timed out: the deadline
        (True, 20 * MS, 25 * MS, True, [0, 0.02], 20 * MS - 1),  # a wake-up late: short of the deadline
        (True, None, 7 * MS, True, [0, None], 7 * MS),  # no deadline: as long as it takes
    ],
)
def test_network_clock_waits_for_the_network_in_real_time(
    monkeypatch: pytest.MonkeyPatch,
    network: bool,
    deadline: int | None,
    answer_after: int | None,
    event: bool,
    polls: list[float | None],
    now: int,
) -> None:
    real = [1000 * MS]  # the host's monotonic clock, moved by the fake poll alone
    monkeypatch.setattr(determinism, "time", types.SimpleNamespace(monotonic_ns=lambda: real[0]))
    clock = NetworkClock(lambda: network)
    asked: list[float | None] = []
    readings: list[int] = []

    def poll(timeout: float | None) -> int:
        asked.append(timeout)
        if timeout == 0:
            return 0
        assert answer_after is not None
        real[0] += answer_after
        if event:  # the wake-ups read the clock: one time for all of them, however long they take
            readings.append(clock.now_ns())
            real[0] += MS
            readings.append(clock.now_ns())
        return int(event)

    clock.idle(deadline, poll)
    assert asked == polls
    assert clock.now_ns() == now
    assert readings == ([now, now] if event else [])


def test_deterministic_clock_reads_the_epoch_plus_virtual_time() -> None:
    clock = DeterministicClock()
    assert clock.realtime_ns() == EPOCH_NS
    clock.advance(5)
    assert (clock.now_ns(), clock.realtime_ns()) == (5, EPOCH_NS + 5)


def test_schedule_cli_args_round_trip() -> None:
    s = Schedule(12, strategy="pct", depth=2, steps=4000, preempt_shared=True)
    assert s.cli_args() == ["--seed", "12", "--strategy", "pct", "--depth", "2", "--steps", "4000", "--preempt-shared"]
    # Every field spelled out, defaults too: run and explore default differently.
    spelled = ["--seed", "3", "--strategy", "random", "--slices", "10000:1000000", "--no-preempt-shared"]
    assert Schedule(3).cli_args() == spelled
    assert Schedule(3, min_slice=5, max_slice=50).cli_args()[4:6] == ["--slices", "5:50"]
    with pytest.raises(ValueError):
        Schedule(1, strategy="dfs")
    assert Schedule(1).run_seed(0) != Schedule(1).run_seed(1)
    assert Schedule(1).run_seed(5) == Schedule(1).run_seed(5)


def test_policies_validate() -> None:
    with pytest.raises(ValueError):
        RandomWalkPolicy(1, min_slice=0)
    with pytest.raises(ValueError):
        PCTPolicy(1, depth=0)
    pct = PCTPolicy(5, depth=4, steps=1000)
    assert len(pct.change_points) == 3 and all(1 <= c <= 1000 for c in pct.change_points)
    assert pct.change_points == sorted(pct.change_points)
    assert pct.change_points == PCTPolicy(5, depth=4, steps=1000).change_points
    assert pct.change_points != PCTPolicy(6, depth=4, steps=1000).change_points


# ---- virtual time ----


def test_200_sleeping_threads_finish_at_once_in_deadline_order(monkeypatch: pytest.MonkeyPatch) -> None:
    clocks: list[_RecordingDeterministicClock] = []

    def clock() -> _RecordingDeterministicClock:
        clocks.append(_RecordingDeterministicClock())
        return clocks[-1]

    monkeypatch.setattr(runner, "DeterministicClock", clock)
    program = Program.load(str(PROGRAMS / "sleepers.wat"))
    outcome = run_program(program, Schedule(1))
    assert outcome.failure is None, outcome.failure and outcome.failure.describe()
    out = outcome.stdout
    assert out[:200] == bytes(range(199, -1, -1))  # thread i slept 200 - i ms: deadline order
    assert int.from_bytes(out[200:204], "little") == 2  # the 1 ms futex wait timed out
    assert int.from_bytes(out[204:212], "little") == 201_000_000  # virtual: 1 ms + 200 ms exactly
    [used] = clocks
    assert used.waits == []  # no real time: the OS was only ever polled with timeout 0
    # Time jumped straight from deadline to deadline: the futex wait's, then one per sleeper.
    assert used.idles == [ms * 1_000_000 for ms in range(1, 202)]


def test_deadlock_detection_stays_exact_under_virtual_time() -> None:
    # A timed wait is not a deadlock (time jumps to its deadline); an untimed one with nobody left is.
    program = Program.load(str(PROGRAMS / "sleepers.wat"))
    assert run_program(program, Schedule(2)).failure is None


# ---- same seed, same bytes ----


def test_entropy_follows_the_seed_only() -> None:
    def run(seed: int) -> bytes:
        p = Program.load(str(PROGRAMS / "entropy.wat"), dirs=[(str(PROGRAMS), "/")])
        outcome = run_program(p, Schedule(seed))
        assert outcome.failure is None
        return outcome.stdout

    a, b, c = run(1), run(1), run(2)
    assert a == b
    assert a[:16] != c[:16]  # random_get
    assert a[16:] == c[16:]  # the rest does not depend on the seed
    assert int.from_bytes(a[16:24], "little") == EPOCH_NS  # realtime: the fixed epoch
    assert int.from_bytes(a[24:32], "little") == 0  # monotonic: nothing slept yet
    names = [n for n in _dirent_names(a[32:]) if n not in (b".", b"..")]
    assert names == sorted(names) and b"entropy.wat" in names


def _dirent_names(stream: bytes) -> list[bytes]:
    names = []
    pos = 0
    while pos + 24 <= len(stream):
        namlen = int.from_bytes(stream[pos + 16 : pos + 20], "little")
        names.append(stream[pos + 24 : pos + 24 + namlen])
        pos += 24 + namlen
    return names


def test_same_seed_same_run_different_seeds_different_interleavings() -> None:
    program = Program.load(str(PROGRAMS / "lost_update.wasm"))
    runs = [run_program(program, Schedule(seed, preempt_shared=True)) for seed in (3, 3, 4, 5, 6)]
    first = runs[0]
    assert (first.stdout, first.decisions, first.instructions) == (
        runs[1].stdout,
        runs[1].decisions,
        runs[1].instructions,
    )
    assert len({tuple(r.decisions) for r in runs[1:]}) > 1


def test_run_seed_is_byte_identical_across_processes(tmp_path: Path) -> None:
    prog = str(PROGRAMS / "producer_consumer.wasm")
    runs = [
        _cli("run", "--seed", "11", "--preempt-shared", "--trace", str(tmp_path / f"t{i}.json"), prog) for i in (1, 2)
    ]
    assert runs[0].returncode == runs[1].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout == b"consumed 40 items, sum 60380\n"
    assert runs[0].stderr == runs[1].stderr
    assert (tmp_path / "t1.json").read_bytes() == (tmp_path / "t2.json").read_bytes()


def test_run_seed_reports_a_deadlock_with_every_stack() -> None:
    # Seed chosen by exploring spawn_join (tests/explore/test_explore_programs.py finds such seeds).
    program = Program.load(str(PROGRAMS / "spawn_join.wasm"))
    for seed in range(40):
        outcome = run_program(program, Schedule(seed, preempt_shared=True))
        if outcome.failure is not None and outcome.failure.kind == "deadlock":
            break
    else:
        pytest.fail("no deadlock in 40 seeds")
    result = _cli("run", *Schedule(seed, preempt_shared=True).cli_args(), str(PROGRAMS / "spawn_join.wasm"))
    assert result.returncode == 1
    assert b"deadlock: the only thread is blocked" in result.stderr
    assert b"Thread.WasiThreadImpl.join" in result.stderr


# ---- what else of the host WASI could leak (hoststat.wat; bindings/wasi/hostview.py) ----


def _host_tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "inner.txt").write_bytes(b"x")
    (root / "data.txt").write_bytes(b"0123456789")
    os.link(root / "data.txt", root / "link.txt")
    return root


def _hoststat(root: Path, seed: int = 5, stdin: bytes = b"hello") -> bytes:
    program = Program.load(str(PROGRAMS / "hoststat.wat"), dirs=[(str(root), "/")], stdin=stdin)
    outcome = run_program(program, Schedule(seed))
    assert outcome.failure is None, outcome.failure
    return outcome.stdout


def test_file_metadata_and_clock_resolutions_are_virtual(tmp_path: Path) -> None:
    first = _hoststat(_host_tree(tmp_path / "a"))
    # The same tree touched (new times), and copied elsewhere (new inodes, maybe another file system):
    os.utime(tmp_path / "a" / "data.txt", ns=(1, 2))
    os.utime(tmp_path / "a" / "sub", ns=(3, 4))
    assert _hoststat(tmp_path / "a") == first
    assert _hoststat(_host_tree(tmp_path / "b" / "deeper")) == first
    assert _hoststat(tmp_path / "a", seed=6) == first  # nothing here follows the seed either

    u64 = struct.Struct("<Q")
    assert [u64.unpack_from(first, 8 * i)[0] for i in range(4)] == [1, 1, 1, 1]  # clock_res_get
    stats = [struct.unpack_from("<QQB7xQQQQQ", first, 32 + 64 * i) for i in range(5)]
    root, data, link, sub, touched = stats
    epoch = (EPOCH_NS, EPOCH_NS, EPOCH_NS)
    assert root == (1, 1, 3, 1, 0, *epoch)  # dev 1, inode 1, a directory: 1 link, size 0
    assert data == (1, 2, 4, 2, 10, *epoch)  # a file keeps its size and link count
    assert link == data  # a hard link: the same virtual inode
    assert sub[:5] == (1, 3, 3, 1, 0)
    assert touched == (1, 2, 4, 2, 10, 123, EPOCH_NS, EPOCH_NS)  # atime as set; mtime "now", virtual


def test_set_times_now_in_deterministic_mode_is_the_virtual_clock(tmp_path: Path) -> None:
    _hoststat(_host_tree(tmp_path))
    st = (tmp_path / "data.txt").stat()
    assert (st.st_atime_ns, st.st_mtime_ns) == (123, EPOCH_NS)  # what the guest asked for, on the host too


def test_readdir_inode_numbers_are_virtual(tmp_path: Path) -> None:
    out = _hoststat(_host_tree(tmp_path))
    tail = out[32 + 64 * 5 + 68 :]
    nread = int.from_bytes(tail[:4], "little")
    assert tail[4 : 4 + nread] == b"hello"
    listing = tail[8 + nread :]
    entries = []
    pos = 0
    while pos + 24 <= len(listing):
        _next, ino, namlen, _kind = struct.unpack_from("<QQIB3x", listing, pos)
        entries.append((listing[pos + 24 : pos + 24 + namlen], ino))
        pos += 24 + namlen
    d = dict(entries)
    assert [name for name, _ in entries] == [b".", b"..", b"data.txt", b"link.txt", b"sub"]
    assert (d[b"."], d[b"data.txt"], d[b"link.txt"], d[b"sub"]) == (1, 2, 2, 3)  # as fd/path_filestat_get say
    assert d[b".."] == 4  # outside the preopen, numbered when first seen


def test_stdin_timing_does_not_leak(tmp_path: Path) -> None:
    # The same bytes on a pipe, at once or in two pieces half a second apart: the same output. poll_oneoff
    # (stdin and a zero timeout) waits for stdin, reporting nbytes 1; fd_read fills its buffer.
    root = _host_tree(tmp_path)
    cmd = [sys.executable, "-m", "wasmroutines", "run", "--seed", "3", "--dir", f"{root}::/"]
    cmd.append(str(PROGRAMS / "hoststat.wat"))
    outs = []
    for pieces in ([b"abcdef"], [b"abc", b"def"]):
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(0.5)
            try:
                proc.stdin.write(piece)
                proc.stdin.flush()
            except BrokenPipeError:  # the program did not wait for the rest (what this test catches)
                break
        out, err = proc.communicate(timeout=120)  # closes stdin: end of file
        assert proc.returncode == 0, err
        outs.append(out)
    assert outs[0] == outs[1]
    events = outs[0][32 + 64 * 5 :]
    assert int.from_bytes(events[:4], "little") == 2
    userdata, error, kind, nbytes = struct.unpack_from("<QHB5xQ", events, 4)
    assert (userdata, error, kind, nbytes) == (1, 0, 1, 1)
    nread = int.from_bytes(events[68:72], "little")
    assert events[72 : 72 + nread] == b"abcdef"


def test_virtual_metadata_in_snapshot0_layout_and_for_streams(tmp_path: Path) -> None:
    from wasi_programs.guest import Guest

    from wasmroutines.bindings.wasi import SNAPSHOT0_MODULE, WasiConfig

    _host_tree(tmp_path)
    g = Guest(WasiConfig(stdin=b"in", deterministic=True).preopen_dir(tmp_path, "/"))
    try:
        p, n = g.bytes_at(b"sub/inner.txt")
        buf = g.alloc(64)
        assert g.call("path_filestat_get", 3, 0, p, n, buf, module=SNAPSHOT0_MODULE) == 0
        # wasi_unstable: dev, ino, filetype u8, nlink u32 at 20, size, atim, mtim, ctim (56 bytes).
        assert struct.unpack_from("<QQB3xIQQQQ", g.read(buf, 56)) == (1, 1, 4, 1, 1, *(EPOCH_NS,) * 3)
        assert g.call("fd_filestat_get", 0, buf) == 0  # stdin fed from bytes: no host file, zeros
        assert struct.unpack_from("<QQB7xQQQQQ", g.read(buf, 64)) == (0, 0, 0, 0, 0, 0, 0, 0)
        res = g.alloc(8)
        assert g.call("clock_res_get", 2, res) == 0 and g.u64(res) == 1
    finally:
        g.close()


STDIO_KINDS = """(module
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $filestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; fd_fdstat_get of fds 0, 1, 2 (24 bytes each, at 1024) and fd_filestat_get of fd 0 (64 bytes, at 1096),
  ;; with their errnos (4 x u32, at 1160), all written to stderr.
  (func (export "_start")
    (i32.store (i32.const 1160) (call $fdstat (i32.const 0) (i32.const 1024)))
    (i32.store (i32.const 1164) (call $fdstat (i32.const 1) (i32.const 1048)))
    (i32.store (i32.const 1168) (call $fdstat (i32.const 2) (i32.const 1072)))
    (i32.store (i32.const 1172) (call $filestat (i32.const 0) (i32.const 1096)))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 152))
    (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def test_stdio_looks_the_same_at_a_terminal_as_when_captured(tmp_path: Path) -> None:
    # The explorer captures stdio; the replay command it prints is often run at a terminal, with stdin
    # from a file. Both must show the guest the same fds (a terminal would make wasi-libc line-buffer).
    prog = tmp_path / "stdio_kinds.wat"
    prog.write_text(STDIO_KINDS)
    stdin_file = tmp_path / "in.txt"
    stdin_file.write_bytes(b"input")
    captured = run_program(Program.load(str(prog), stdin=b"input"), Schedule(1))
    assert captured.failure is None
    master, slave = os.openpty()
    try:
        with open(stdin_file, "rb") as fin:
            result = subprocess.run(
                [sys.executable, "-m", "wasmroutines", "run", "--seed", "1", str(prog)],
                stdin=fin,
                stdout=slave,
                stderr=subprocess.PIPE,
                timeout=120,
            )
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 0, result.stderr
    assert result.stderr == captured.stderr
    assert struct.unpack_from("<4I", result.stderr, 136) == (0, 0, 0, 0)
    assert [result.stderr[24 * i] for i in range(3)] == [0, 0, 0]  # filetype unknown, as a stream's


def test_a_removed_files_inode_number_is_not_handed_on(tmp_path: Path) -> None:
    # Hosts reuse a freed inode at once (ext4, tmpfs, ...) or not: the guest must not be able to tell.
    from wasi_programs.guest import Guest

    from wasmroutines.bindings.wasi import WasiConfig

    g = Guest(WasiConfig(deterministic=True).preopen_dir(tmp_path, "/"))
    try:
        inos = []
        for name in ("a", "b", "c"):
            err, fd = g.open(3, name, 1)  # O_CREAT
            assert err == 0 and g.call("fd_close", fd) == 0
            err, raw = g.filestat(3, name)
            assert err == 0
            inos.append(struct.unpack_from("<Q", raw, 8)[0])
            assert g.path_call("path_unlink_file", 3, name) == 0
        assert inos == [1, 2, 3]
        buf = g.alloc(64)
        assert g.call("fd_filestat_get", 3, buf) == 0 and g.u64(buf + 8) == 4  # "/": first looked at now
    finally:
        g.close()
