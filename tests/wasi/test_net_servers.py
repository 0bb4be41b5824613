"""The thread-per-connection servers of tests/programs/net/ under `wasmroutines run --tcplisten 127.0.0.1:0`, as a
user runs them: many clients at once, every byte checked. No timing is asserted; every wait is bounded.

- echo_server: 50 clients at once, each sending messages from 1 byte to 100 KB (larger than the server's 4 KiB
  read, so it takes many partial reads and sends) and checking each echo byte for byte, then ending its stream and
  seeing the server close.
- http_server: 50 clients at once, each sending several requests on one keep-alive connection (one at a time, and
  pipelined), checking each answer's status, headers and Content-Length body; `Connection: close` and HTTP/1.0
  close the connection; a malformed request gets 400.

The server's port is chosen by the system (port 0) and read from /proc (Linux), so runs never collide.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NET = ROOT / "tests" / "programs" / "net"
CLIENTS = 50
#: seconds: the server's start, and each test's whole conversation
START_TIMEOUT = 60.0
TALK_TIMEOUT = 120.0
HELLO = b"hello, world\n"

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="the port is read from /proc (Linux)")


def _listening_port(pid: int) -> int | None:
    """The TCP port process `pid` listens on: its sockets' inodes looked up in /proc/net/tcp."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
            return int(fields[1].rsplit(":", 1)[1], 16)
    return None


class Server:
    def __init__(self, program: str, tmp_path: Path) -> None:
        self.log = tmp_path / f"{program}.log"
        command = [sys.executable, "-m", "wasmroutines", "run", "--tcplisten", "127.0.0.1:0", str(NET / program)]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        self.port = 0
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if "ready" in self.said() and (port := _listening_port(self.proc.pid)):
                self.port = port
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"{program} did not get ready (status {self.proc.returncode}): {self.said()}")

    def said(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def echo_server(tmp_path: Path) -> Iterator[Server]:
    server = Server("echo_server.wasm", tmp_path)
    yield server
    server.stop()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Server]:
    server = Server("http_server.wasm", tmp_path)
    yield server
    server.stop()


def _talk(server: Server, clients: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run the client coroutines at once, all bounded by TALK_TIMEOUT; the server must still run afterwards."""

    async def everyone() -> list[Any]:
        return await asyncio.wait_for(asyncio.gather(*clients), TALK_TIMEOUT)

    results = asyncio.run(everyone())
    assert server.proc.poll() is None, f"the server exited: {server.said()}"
    return results


# ---- echo ----

SIZES = (1, 64, 4096, 4097, 100_000, 7)


async def _echo_client(port: int, seed: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(seed)
    echoed = 0
    for size in SIZES:
        message = rng.randbytes(size)
        writer.write(message)  # the transport sends it while we read: no deadlock on a large message
        got = await reader.readexactly(size)
        assert got == message, f"client {seed}: the echo of {size} bytes differs"
        echoed += size
    writer.write_eof()
    assert await reader.read() == b"", f"client {seed}: bytes after the end of its stream"
    writer.close()
    await writer.wait_closed()
    return echoed


def test_echo_server_many_clients_byte_exact(echo_server: Server) -> None:
    results = _talk(echo_server, [_echo_client(echo_server.port, seed) for seed in range(CLIENTS)])
    assert results == [sum(SIZES)] * CLIENTS
    assert echo_server.said() == "echo_server: ready, one thread per connection, 16384-byte stacks\n"


def test_echo_server_serves_connections_after_others_closed(echo_server: Server) -> None:
    """Finished connections give back their thread's stack and record: later waves reuse them and still echo."""
    for wave in range(3):
        seeds = range(wave * CLIENTS, (wave + 1) * CLIENTS)
        assert _talk(echo_server, [_echo_client(echo_server.port, s) for s in seeds]) == [sum(SIZES)] * CLIENTS


# ---- HTTP/1.1 keep-alive ----

REQUEST = b"GET /item HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def _response(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """One response: its status line, headers (lower-case names) and Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, *lines = head[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


async def _http_client(port: int, requests: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answered = 0
    for _ in range(requests):  # one at a time on the one connection
        writer.write(REQUEST)
        status, headers, body = await _response(reader)
        assert (status, body) == ("HTTP/1.1 200 OK", HELLO), (status, body)
        assert "connection" not in headers  # kept open
        answered += 1
    writer.write(REQUEST * 3)  # pipelined: answered in order
    for _ in range(3):
        status, _, body = await _response(reader)
        assert (status, body) == ("HTTP/1.1 200 OK", HELLO)
        answered += 1
    writer.write(b"POST /form HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde")
    status, headers, body = await _response(reader)
    assert (status, headers.get("connection"), body) == ("HTTP/1.1 200 OK", "close", HELLO)
    assert await reader.read() == b"", "the server kept the connection after Connection: close"
    writer.close()
    return answered + 1


def test_http_server_keep_alive_many_clients(http_server: Server) -> None:
    results = _talk(http_server, [_http_client(http_server.port, 5) for _ in range(CLIENTS)])
    assert results == [9] * CLIENTS


async def _one_shot(port: int, request: bytes) -> tuple[str, dict[str, str], bytes, bytes]:
    """Send `request`, read one response and then whatever follows until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    status, headers, body = await _response(reader)
    rest = await reader.read()
    writer.close()
    return status, headers, body, rest


def test_http_server_closes_when_told_and_refuses_malformed(http_server: Server) -> None:
    port = http_server.port
    old, bad, chunked = _talk(
        http_server,
        [
            _one_shot(port, b"GET / HTTP/1.0\r\n\r\n"),
            _one_shot(port, b"NONSENSE\r\n\r\n"),
            _one_shot(port, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ],
    )
    assert (old[0], old[1].get("connection"), old[2], old[3]) == ("HTTP/1.1 200 OK", "close", HELLO, b"")
    assert (bad[0], bad[2], bad[3]) == ("HTTP/1.1 400 Bad Request", b"", b"")
    assert (chunked[0], chunked[3]) == ("HTTP/1.1 501 Not Implemented", b"")
