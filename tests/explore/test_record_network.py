"""Recording a server (`run --record --tcplisten`) and replaying it without the network (issue 16).

The server is tests/programs/explore/net_server.wat: it accepts 3 connections, serves each on a thread
of its own and writes every chunk it reads to stdout as a line "I:CHUNK", polling its listener with a
20 ms timeout before each accept. Real clients, in a thread of the test, connect and send in an order
and with pauses that make the order the server reads in depend on when bytes arrive: the recording
must keep that (which wait ended when), and the replay reproduce it with no socket at all.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wasmroutines.bindings.wasi import WasiConfig
from wasmroutines.core.record import Divergence, Recording
from wasmroutines.explore import Program, Schedule, run_program

SERVER = Path(__file__).resolve().parent.parent / "programs" / "explore" / "net_server.wat"

#: What each client sends, in order: (client, bytes, pause after it in s). A pause lets the server read the bytes
#: on their own; the burst without pauses makes several sockets ready at once (woken at one point, in an order).
SENDS = [(2, b"c1", 0.02), (0, b"a1", 0.02), (1, b"b1", 0.02), (2, b"c2", 0), (0, b"a2", 0), (1, b"b2", 0.02)]


def _listener() -> socket.socket:
    return WasiConfig().listen_tcp("127.0.0.1", 0).listeners[0]


def _connect(port: int) -> socket.socket:
    deadline = time.monotonic() + 60
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except ConnectionRefusedError:  # a server on the command line may not listen yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _talk(port: int, *, release: threading.Event | None = None) -> None:
    """The clients: connect in turn, send SENDS one at a time, then close (after `release` when given)."""
    time.sleep(0.03)  # a poll or two of the listener times out first
    conns: list[socket.socket] = []
    try:
        for _ in range(3):
            conns.append(_connect(port))
            time.sleep(0.03)
        for i, data, pause in SENDS:
            conns[i].sendall(data)
            time.sleep(pause)
        if release is not None:
            release.wait(60)
        for i in (1, 0, 2):
            conns[i].close()
            time.sleep(0.01)
    except OSError:
        pass  # the server's run ended first (its wall-time limit): what it got is what the test compares
    finally:
        for conn in conns:
            conn.close()


@contextmanager
def _clients(port: int, **kwargs: object) -> Iterator[None]:
    thread = threading.Thread(target=_talk, args=(port,), kwargs=kwargs, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(60)


def _received(stdout: bytes) -> dict[int, bytes]:
    """Each connection's bytes, joined from the server's lines (how they were split depends on timing)."""
    got: dict[int, bytes] = {}
    for line in stdout.splitlines():
        if line[1:2] == b":":
            got[int(line[:1])] = got.get(int(line[:1]), b"") + line[2:]
    return got


def _sent() -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for i, data, _ in SENDS:
        out[i] = out.get(i, b"") + data
    return out


@pytest.fixture(scope="module")
def server() -> Program:
    return Program.load(str(SERVER))


@pytest.fixture(scope="module")
def recorded(server: Program) -> tuple[object, Recording]:
    sock = _listener()
    with _clients(sock.getsockname()[1]):
        outcome = run_program(server, Schedule(11), record=True, trace=True, listeners=[sock], fuel=None)
    assert outcome.failure is None and outcome.recording is not None
    return outcome, Recording.loads(outcome.recording.dumps())


def test_a_recorded_server_replays_without_the_network(server: Program, recorded: tuple[object, Recording]) -> None:
    outcome, recording = recorded
    assert _received(outcome.stdout) == _sent() and outcome.stdout.endswith(b"done\n")  # type: ignore[attr-defined]
    assert recording.header["network"] and recording.header["network"][0].startswith("127.0.0.1:")
    woken = [w for c in recording.calls for w in c["w"] if w[0] == "i" and isinstance(w[-1], list)]
    assert len(woken) >= 3 + len(SENDS)  # an accept per connection, a read per send at least
    replays = [run_program(server, None, replay=Recording.loads(recording.dumps()), trace=True) for _ in range(2)]
    for replay in replays:
        assert replay.failure is None and replay.exit_code == 0
        assert replay.stdout == outcome.stdout  # type: ignore[attr-defined]
        assert replay.decisions == outcome.decisions  # type: ignore[attr-defined]
        assert replay.instructions == outcome.instructions  # type: ignore[attr-defined]
        assert replay.trace is not None
    # The same timeline, byte for byte: the recorded run's, and each replay's.
    traces = [r.trace.to_json() for r in replays]  # type: ignore[union-attr]
    assert traces[0] == traces[1] == outcome.trace.to_json()  # type: ignore[attr-defined]
    assert '"fd ' in traces[0]  # its threads' waits for sockets are there, named alike


def test_every_socket_call_of_a_recorded_run_goes_through_the_recorder(recorded: tuple[object, Recording]) -> None:
    # The C fast path (bindings/wasi/fast.py) would serve a connection's reads without the recorder seeing them.
    outcome, recording = recorded
    reads = [c for c in recording.calls if c["n"] in ("sock_recv", "fd_read")]
    lines = [line for line in outcome.stdout.splitlines() if line[1:2] == b":"]  # type: ignore[attr-defined]
    assert len(reads) == len(lines) + 3  # a read per line, and one at each connection's end of file
    assert {c["n"] for c in reads} == {"sock_recv", "fd_read"}


def _tampered(recording: Recording, change: Callable[[dict[str, object]], None]) -> Recording:
    doc = json.loads(json.dumps({"h": recording.header, "s": recording.schedule, "c": recording.calls}))
    for call in doc["c"]:
        if call["n"] == "sock_recv" and call["t"] != 0:
            change(call)
            break
    return Recording(doc["h"], doc["s"], doc["c"], dict(recording.end))


def test_a_replay_of_a_tampered_recording_diverges_naming_the_thread(
    server: Program, recorded: tuple[object, Recording]
) -> None:
    _, recording = recorded

    def later(call: dict[str, object]) -> None:
        for w in call["w"]:  # type: ignore[attr-defined]
            if w[0] == "i" and isinstance(w[-1], list):
                w[-1][0] += 1  # woken one scheduling decision later than it was

    tampered = _tampered(recording, later)
    thread = next(c["t"] for c in tampered.calls if c["n"] == "sock_recv" and c["t"] != 0)
    with pytest.raises(Divergence, match=rf"replay diverged at scheduling decision \d+: .*thread {thread}") as info:
        run_program(server, None, replay=tampered)
    assert info.value.thread == thread


def _same_point_pair(recording: Recording) -> list[list[int]] | None:
    """Two wake-ups of `recording` at one point (decision and time): [decision, number, time] each, or None."""
    seen: dict[tuple[int, int], list[int]] = {}
    for call in recording.calls:
        for w in call["w"]:
            if w[0] == "i" and isinstance(w[-1], list):
                end = w[-1]
                if (end[0], end[2]) in seen:
                    return [seen[end[0], end[2]], end]
                seen[end[0], end[2]] = end
    return None


def test_wake_ups_at_one_point_are_replayed_in_their_recorded_order(server: Program) -> None:
    # The burst makes sockets ready at once, mostly: woken by one poll, queued in that order, which the policy's
    # next pick depends on. Swapped in the recording, the replay goes another way.
    for seed in (21, 22, 23):
        sock = _listener()
        with _clients(sock.getsockname()[1]):
            outcome = run_program(server, Schedule(seed), record=True, listeners=[sock], fuel=None)
        assert outcome.recording is not None
        recording = Recording.loads(outcome.recording.dumps())
        pair = _same_point_pair(recording)
        if pair is not None:
            break
    else:
        pytest.skip("the clients' burst never reached the server at once in 3 runs")
    assert run_program(server, None, replay=Recording.loads(recording.dumps())).stdout == outcome.stdout
    pair[0][1], pair[1][1] = pair[1][1], pair[0][1]
    with pytest.raises(Divergence, match="replay diverged"):
        run_program(server, None, replay=recording)


def test_an_interrupted_recording_replays_to_its_end(server: Program) -> None:
    """A server never exits by itself: the wall-time limit ends its recorded run, and the replay ends there."""
    sock = _listener()
    release = threading.Event()
    limited = Program(server.module, server.path, digest=server.digest, limits={"max_wall_time": 1.0})
    try:
        with _clients(sock.getsockname()[1], release=release):
            outcome = run_program(limited, Schedule(3), record=True, listeners=[sock], fuel=None)
            release.set()
    finally:
        release.set()
    assert outcome.failure is not None and outcome.failure.limit == "max_wall_time"
    assert outcome.interrupted == "--max-wall-time 1.0"
    assert outcome.recording is not None
    assert outcome.recording.end["interrupted"] == "--max-wall-time 1.0"
    replay = run_program(server, None, replay=Recording.loads(outcome.recording.dumps()))
    assert (replay.failure, replay.exit_code, replay.interrupted) == (None, None, "--max-wall-time 1.0")
    assert replay.stdout == outcome.stdout


def test_a_seeded_run_with_sockets_must_be_recorded(server: Program) -> None:
    sock = _listener()
    try:
        with pytest.raises(ValueError, match="must be recorded"):
            run_program(server, Schedule(1), listeners=[sock])
    finally:
        sock.close()


# ---- the command line ----


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "wasmroutines", "run", *args], capture_output=True, timeout=120)


def test_cli_refuses_a_seed_with_the_network_and_says_to_record() -> None:
    p = _cli("--seed", "1", "--tcplisten", "127.0.0.1:0", str(SERVER))
    assert p.returncode == 2
    assert b"--tcplisten needs --record" in p.stderr and b"--replay FILE" in p.stderr
    p = _cli("--replay", "nowhere.wrr", "--tcplisten", "127.0.0.1:0", str(SERVER))
    assert p.returncode == 2 and b"--tcplisten cannot be combined with --replay" in p.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_all_sent(stream: object) -> bytes:
    """What `stream` (the server's stdout, a pipe) gives until it has printed everything the clients sent."""
    out = b""
    while _received(out[: out.rfind(b"\n") + 1]) != _sent():
        ready, _, _ = select.select([stream], [], [], 60)
        assert ready, f"the server printed no more in 60 s: {out!r}"
        chunk = stream.read1(4096)  # type: ignore[attr-defined]
        assert chunk, f"the server ended early: {out!r}"
        out += chunk
    return out


def _served_then_interrupted(*args: str) -> tuple[int, bytes, bytes]:
    """Run the server on the command line with `args`, let the clients talk to it, Ctrl-C it once it printed all
    they sent (it then waits for their next bytes, idle): its status, stdout and stderr."""
    port = _free_port()
    command = [sys.executable, "-m", "wasmroutines", "run", *args, "--tcplisten", f"127.0.0.1:{port}", str(SERVER)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    release = threading.Event()
    try:
        with _clients(port, release=release):
            assert proc.stdout is not None and proc.stderr is not None
            out = _read_all_sent(proc.stdout)
            time.sleep(0.1)  # its last write returns, its threads wait again: idle
            proc.send_signal(signal.SIGINT)
            out += proc.stdout.read()
            status = proc.wait(60)
            release.set()
            return status, out, proc.stderr.read()
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()


def test_cli_ctrl_c_ends_an_idle_server_quietly() -> None:
    # Ctrl-C while every thread waits lands in the scheduler's idle wait (in its hub): the main call must raise
    # it, or the run cannot be closed (a RuntimeError's traceback instead of status 130).
    for _ in range(3):
        assert _served_then_interrupted()[::2] == (130, b"")


def test_cli_a_server_recorded_until_ctrl_c_replays_to_where_it_stopped(tmp_path: Path) -> None:
    rec = tmp_path / "server.wrr"
    status, out, err = _served_then_interrupted("--seed", "4", "--record", str(rec))
    assert (status, err) == (130, b"")
    assert _received(out) == _sent()
    replay = _cli("--replay", str(rec), str(SERVER))
    assert replay.returncode == 0
    assert replay.stdout == out
    assert b"reached the end of the recording" in replay.stderr and b"(Ctrl-C)" in replay.stderr
