"""The bounded client of the network benchmarks (issue 16), in processes of its own:

    python -m benchmarks.net_client --port PORT --protocol echo --connections 1000 --round-trips 20 --server-pid PID

prints one JSON object on stdout (see `main`). Three phases, each bounded in time:

1. Connect (untimed): N connections, at most CONNECT_IN_FLIGHT opening at once (under the servers' listen backlog,
   so no SYN is dropped), each doing one round trip once open. That round trip proves the server accepted it and
   its thread (or coroutine) is serving, so the timed span holds no accept or spawn. Bounded by --connect-cap
   seconds: connections not open by then are counted as connect errors.
2. Round trips (timed): at one instant every open connection starts its K round trips, one at a time: send a
   request, wait for the whole answer, check it byte for byte, next. The span runs from that instant to the end of
   the last connection's last round trip, or to --time-cap seconds: the connections still going are then counted as
   timed out, and a round trip in flight counts its latency up to the cap. Figures: round trips completed over the
   span, the latencies' p99 (send to last byte of the answer), errors (resets, early end of stream, wrong bytes),
   the server's CPU time (user + system, all threads, from /proc/PID/stat) over the span, the client's own CPU, and
   the share of the machine's CPU time other processes took meanwhile (/proc/stat less server and client).
3. Idle (with --idle): nothing is timed; once every connection has done its one round trip, the server's resident
   memory (/proc/PID/status VmRSS) is read after a pause, against the same read before any connection (after one
   warm-up connection opened, used once and closed, so one-time costs fall before the baseline).

echo: each request is 64 bytes (a connection's number and the round trip's in the first 8, so a stale or crossed
answer shows), the answer must be the same bytes. http: each request is a 64-byte `GET` of HTTP/1.1 (keep-alive),
the answer must be exactly net_servers.RESPONSE (what every server sends). Connections close after the span.

With --procs J the connections are split over J forked worker processes (the coordinator only counts and reads
/proc); the event loop is uvloop's when it imports (faster, so the client is less often the bottleneck), else
asyncio's default. Times are CLOCK_MONOTONIC, comparable across the processes.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import math
import multiprocessing
import os
import resource
import struct
import sys
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any, cast

from .net_servers import RESPONSE

#: connections opening at once, over all workers (the servers listen with a backlog of 128)
CONNECT_IN_FLIGHT = 100
#: bytes per echo round trip
ECHO_SIZE = 64
#: the HTTP request: 64 bytes, keep-alive (HTTP/1.1's default)
HTTP_REQUEST = b"GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: 0123456789abcde\r\n\r\n"
assert len(HTTP_REQUEST) == 64
#: seconds the idle connections sit before the server's RSS is read
IDLE_SETTLE = 1.0
#: the latency percentiles reported (p99 is the figure; the others show the shape)
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9, "max": 100.0}
#: how long the coordinator waits for a worker's message beyond the phase's own cap
SLACK = 30.0


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid`, all its threads (/proc/PID/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all CPUs of the machine spent busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


class Conn(asyncio.Protocol):
    """One client connection: request, whole answer, check, next; callbacks only (no coroutine per round trip)."""

    def __init__(self, worker: Worker, number: int) -> None:
        self.worker, self.number = worker, number
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.expected = b""
        self.sent_at = 0.0
        self.trip = 0  # round trips completed (the connect phase's one not counted)
        self.left = 0  # round trips still to do in this phase
        self.waiter: asyncio.Future[None] | None = None  # the connect phase's round trip
        self.failed = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport's

    def request(self) -> None:
        if self.worker.protocol == "echo":
            payload = struct.pack("<II", self.number, self.trip) + self.worker.filler
            self.expected = payload
        else:
            payload, self.expected = HTTP_REQUEST, RESPONSE
        self.sent_at = now()
        assert self.transport is not None
        self.transport.write(payload)

    def data_received(self, data: bytes) -> None:
        if self.failed or not self.expected:
            if not self.failed:
                self.fail("unexpected bytes")
            return
        self.buf += data
        if len(self.buf) < len(self.expected):
            return
        if self.buf != self.expected:
            self.fail("wrong answer" if len(self.buf) == len(self.expected) else "longer answer")
            return
        self.buf.clear()
        self.expected = b""
        if self.waiter is not None:  # the connect phase's round trip
            waiter, self.waiter = self.waiter, None
            waiter.set_result(None)
            return
        self.worker.latencies.append(int((now() - self.sent_at) * 1e9))
        self.trip += 1
        self.left -= 1
        if self.left:
            self.request()
        else:
            self.worker.finished(self)

    def fail(self, why: str) -> None:
        if self.failed:
            return
        self.failed = why
        if self.transport is not None:
            self.transport.abort()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(why))
        elif self.left:
            self.worker.finished(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.left or self.waiter is not None:
            self.fail(f"closed by the server ({type(exc).__name__})" if exc else "closed by the server")


class Worker:
    """One client process's share of the connections."""

    def __init__(self, args: argparse.Namespace, first: int, count: int) -> None:
        self.args, self.protocol = args, args.protocol
        self.first, self.count = first, count
        self.filler = bytes(range(ECHO_SIZE - 8))
        self.conns: list[Conn] = []
        self.connect_errors: Counter[str] = Counter()
        self.latencies = array.array("q")
        self.running = 0
        self.all_done: asyncio.Future[None] | None = None
        self.ended = 0.0

    async def open_one(self, number: int, gate: asyncio.Semaphore, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        async with gate:
            remaining = deadline - now()
            if remaining <= 0:
                self.connect_errors["connect phase over its cap"] += 1
                return
            conn: Conn | None = None
            try:
                async with asyncio.timeout(remaining):
                    _, made = await loop.create_connection(lambda: Conn(self, number), self.args.host, self.args.port)
                    conn = made
                    conn.waiter = loop.create_future()
                    conn.request()
                    await conn.waiter
                self.conns.append(conn)
            except TimeoutError:
                self.connect_errors["connect phase over its cap"] += 1
                if conn is not None and conn.transport is not None:
                    conn.transport.abort()
            except OSError as e:
                self.connect_errors[f"{type(e).__name__}: {e.strerror or e}"] += 1
                if conn is not None and conn.transport is not None:
                    conn.transport.abort()

    async def connect_all(self) -> None:
        gate = asyncio.Semaphore(max(1, CONNECT_IN_FLIGHT // self.args.procs))
        deadline = now() + self.args.connect_cap
        await asyncio.gather(*(self.open_one(self.first + i, gate, deadline) for i in range(self.count)))

    def finished(self, conn: Conn) -> None:
        self.running -= 1
        if self.running == 0:
            self.ended = now()
            if self.all_done is not None and not self.all_done.done():
                self.all_done.set_result(None)

    async def round_trips(self, deadline: float) -> None:
        self.all_done = asyncio.get_running_loop().create_future()
        self.running = len(self.conns)
        if not self.conns:
            self.ended = now()
            return
        for conn in self.conns:
            conn.left = self.args.round_trips
            conn.request()
        try:
            async with asyncio.timeout(max(0.0, deadline - now())):
                await self.all_done
        except TimeoutError:
            self.ended = deadline
            for conn in self.conns:
                if conn.left and not conn.failed:  # a round trip in flight: its latency so far, a lower bound
                    self.latencies.append(int((deadline - conn.sent_at) * 1e9))

    def close_all(self) -> None:
        for conn in self.conns:
            if conn.transport is not None:
                conn.transport.abort() if conn.failed else conn.transport.close()


def loop_name() -> str:
    """The client's event loop: uvloop's when it imports, else asyncio's default."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _new_loop() -> asyncio.AbstractEventLoop:
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def worker_main(args: argparse.Namespace, first: int, count: int, pipe: Connection) -> None:
    """A worker process: each phase on a command from the coordinator, each result sent back on `pipe` (or the
    error that stopped it)."""
    try:
        _worker(args, first, count, pipe)
    except BaseException:
        pipe.send({"worker_failed": traceback.format_exc()[-1500:]})
        raise


def _worker(args: argparse.Namespace, first: int, count: int, pipe: Connection) -> None:
    loop = _new_loop()
    worker = Worker(args, first, count)
    cpu0 = time.process_time()
    loop.run_until_complete(worker.connect_all())
    pipe.send({"connected": len(worker.conns), "connect_errors": dict(worker.connect_errors)})
    command = pipe.recv()
    if command[0] == "go":
        cpu0 = time.process_time()
        loop.run_until_complete(worker.round_trips(command[1]))
        errors = Counter(c.failed for c in worker.conns if c.failed)
        timeouts = sum(1 for c in worker.conns if c.left and not c.failed)
        pipe.send(
            {
                "ended": worker.ended,
                "round_trips": len(worker.latencies) - timeouts,
                "latencies": worker.latencies.tobytes(),
                "errors": dict(errors),
                "timeouts": timeouts,
                "cpu_s": time.process_time() - cpu0,
            }
        )
        command = pipe.recv()
    worker.close_all()
    loop.run_until_complete(asyncio.sleep(0.05))  # let the transports close
    loop.close()
    pipe.send({"closed": True})


def warm_up(args: argparse.Namespace) -> None:
    """One connection, one round trip, closed: the server's first connection, before the baseline RSS."""
    import socket

    with socket.create_connection((args.host, args.port), timeout=args.connect_cap) as s:
        request, answer = (bytes(ECHO_SIZE), bytes(ECHO_SIZE)) if args.protocol == "echo" else (HTTP_REQUEST, RESPONSE)
        s.sendall(request)
        got = b""
        while len(got) < len(answer):
            data = s.recv(65536)
            if not data:
                raise ConnectionError("the warm-up connection was closed")
            got += data
        if got != answer:
            raise ConnectionError(f"the warm-up answer was wrong: {got[:100]!r}")


def _recv(pipe: Connection, timeout: float, what: str) -> dict[str, Any]:
    if not pipe.poll(timeout):
        raise TimeoutError(f"a client worker did not report {what} within {timeout:.0f} s")
    message: dict[str, Any] = pipe.recv()
    if "worker_failed" in message:
        raise RuntimeError(f"a client worker failed: {message['worker_failed']}")
    return message


def percentile(ordered_ns: list[int], q: float) -> float | None:
    """The q-th percentile (nearest rank) of sorted latencies in ns, in seconds."""
    if not ordered_ns:
        return None
    return ordered_ns[max(0, math.ceil(q / 100 * len(ordered_ns)) - 1)] / 1e9


def run(args: argparse.Namespace) -> dict[str, Any]:
    pid = args.server_pid
    out: dict[str, Any] = {"client_procs": args.procs, "client_loop": loop_name()}
    out["nofile"] = list(resource.getrlimit(resource.RLIMIT_NOFILE))
    if args.idle:
        warm_up(args)
        time.sleep(IDLE_SETTLE)
        out["rss_before_kib"] = proc_status_kib(pid, "VmRSS")
    context = multiprocessing.get_context("fork")
    shares = [args.connections // args.procs + (i < args.connections % args.procs) for i in range(args.procs)]
    pipes, workers, first = [], [], 0
    for share in shares:
        mine, theirs = context.Pipe()
        proc = context.Process(target=worker_main, args=(args, first, share, theirs), daemon=True)
        proc.start()
        theirs.close()
        pipes.append(mine)
        workers.append(proc)
        first += share
    try:
        started = now()
        reports = [_recv(p, args.connect_cap + SLACK, "its connections") for p in pipes]
        out["connect_s"] = now() - started
        out["connected"] = sum(r["connected"] for r in reports)
        connect_errors: Counter[str] = Counter()
        for r in reports:
            connect_errors.update(r["connect_errors"])
        out["connect_errors"] = dict(connect_errors)
        if args.idle:
            time.sleep(IDLE_SETTLE)
            out["rss_idle_kib"] = proc_status_kib(pid, "VmRSS")
            for p in pipes:
                p.send(("close",))
        else:
            cpu0, machine0 = proc_cpu_s(pid), machine_busy_s()
            t0 = now()
            for p in pipes:
                p.send(("go", t0 + args.time_cap))
            results = [_recv(p, args.time_cap + SLACK, "its round trips") for p in pipes]
            span = max(r["ended"] for r in results) - t0
            out["server_cpu_s"] = proc_cpu_s(pid) - cpu0
            machine = machine_busy_s() - machine0
            for p in pipes:
                p.send(("close",))
            latencies: array.array[int] = array.array("q")
            errors: Counter[str] = Counter()
            for r in results:
                latencies.frombytes(r["latencies"])
                errors.update(r["errors"])
            ordered = sorted(latencies)
            out.update(
                span_s=span,
                round_trips=sum(r["round_trips"] for r in results),
                **{f"{name}_s": percentile(ordered, q) for name, q in PERCENTILES.items()},
                errors=dict(errors),
                timeouts=sum(r["timeouts"] for r in results),
                client_cpu_s=sum(r["cpu_s"] for r in results),
            )
            # what other processes took of the machine meanwhile (a shared machine: noise to know about)
            others = machine - out["server_cpu_s"] - out["client_cpu_s"]
            out["others_share"] = max(0.0, others) / (span * (os.cpu_count() or 1)) if span > 0 else None
        for p in pipes:
            _recv(p, SLACK, "its connections closed")
    finally:
        for proc in workers:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--protocol", choices=("echo", "http"), required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--round-trips", type=int, default=20, help="per connection, in the timed span")
    parser.add_argument("--server-pid", type=int, required=True, help="whose CPU time and RSS to read")
    parser.add_argument("--procs", type=int, default=1, help="client worker processes")
    parser.add_argument("--connect-cap", type=float, default=60.0, help="seconds for the connect phase")
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds for the timed span")
    parser.add_argument("--idle", action="store_true", help="measure the server's RSS with idle connections instead")
    args = parser.parse_args(argv)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
