"""Issue 16's network rows: thread-per-connection wasm servers under `wasmroutines run --tcplisten` against Python
servers doing the same work, each a fresh process per run on loopback, driven by the bounded client of
net_client.py in processes of its own. test_net.py runs the configurations; this module starts and stops the
servers, runs the client, and turns its report into figures. benchmarks/README.md says what each figure includes.

Descriptors: the client and the server are separate processes, and each holds one descriptor per connection
(10,000 at the largest size, 20,000 in all), so `raise_nofile` lifts this process's soft RLIMIT_NOFILE towards its
hard limit before any child starts (children inherit it) and says what it got; a hard limit below what a size
needs skips that size with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import ROOT

# ---- the configurations ----

#: the servers under test: the wasm programs and the Python peers (benchmarks/net_servers.py)
SUBJECT = "wasmroutines"
PEERS = (SUBJECT, "asyncio", "uvloop", "threads")
PROGRAMS = {"echo": ROOT / "tests/programs/net/echo_server.wasm", "http": ROOT / "tests/programs/net/http_server.wasm"}
#: connection counts per mode; the quick mode runs each once, the full mode NET_ROUNDS times (medians)
CONNECTIONS = {"quick": (10, 1_000), "full": (10, 1_000, 10_000)}
SIZES = (10, 1_000, 10_000)
NET_ROUNDS = {"quick": 1, "full": 3}
#: round trips per connection in the timed span...
ROUND_TRIPS = 20
#: ...but at least this many in all (10 connections do 2,000 each): a span long enough for /proc's 10 ms CPU ticks
MIN_TOTAL_ROUND_TRIPS = 20_000
#: seconds: the connect phase's cap and the timed span's (a configuration past either is reported, not waited for)
CONNECT_CAP = 60.0
TIME_CAP = 60.0
#: idle connections of the memory row
IDLE_CONNECTIONS = 10_000
#: client worker processes (measured: one uvloop client process keeps up with the fastest server here; see README)
CLIENT_PROCS = 1
#: descriptors a process needs beyond one per connection (the interpreter's own, pipes, log files)
FD_MARGIN = 256
#: seconds a server may take to say it is ready
START_TIMEOUT = 60.0


def _guest_stack() -> int:
    """The wasm servers' stack per connection thread, read from their source (NET_STACK in net.h)."""
    text = (ROOT / "tests/programs/net/net.h").read_text()
    found = re.search(r"^#define NET_STACK\s+(\d+)\s*$", text, re.M)
    assert found, "NET_STACK not found in tests/programs/net/net.h"
    return int(found.group(1))


#: bytes of linear memory the wasm servers reserve per connection thread for its stack (16 KiB)
GUEST_STACK = _guest_stack()

# ---- the goals (issue 16's bar), as tools/bench_report.py checks them ----

NET_THROUGHPUT_MIN = 0.8  # the wasm echo server's round trips/s over asyncio's, at 1,000 and at 10,000 connections
NET_P99_MAX = 1.5  # its p99 over asyncio's, at 1,000 connections
NET_CPU_MAX_US = 30.0  # its server CPU per round trip at 10 connections
NET_IDLE_MAX_KIB = 8.0  # runtime memory per idle connection (its guest stack not counted)


def round_trips_each(connections: int) -> int:
    return max(ROUND_TRIPS, -(-MIN_TOTAL_ROUND_TRIPS // connections))


#: the Python threads server is not run at 10,000 busy connections: its 10,000 OS threads contend for the GIL (measured
#: once: 52 round trips/s, 9,993 connections still going at the 60 s cap, a load average over 400), which starves the
#: client and everything else on the machine of CPU, so the run measures neither (its idle row still runs)
THREADS_MAX_BUSY = 1_000


def peer_missing(peer: str, connections: int = 0, idle: bool = False) -> str | None:
    """Why a peer does not run here (at this size), or None."""
    if peer == "uvloop" and importlib.util.find_spec("uvloop") is None:
        return "uvloop is not installed (pip install uvloop)"
    if peer == "threads" and not idle and connections > THREADS_MAX_BUSY:
        return (
            f"not run at {connections:,} busy connections: as many OS threads contending for the GIL time out at the "
            "cap and starve the client and the machine (README)"
        )
    return None


# ---- descriptors ----


def raise_nofile(needed: int) -> tuple[int, int]:
    """Lift the soft RLIMIT_NOFILE to `needed` (at most the hard limit; never lowered): (soft, hard) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def nofile_problem(connections: int) -> str | None:
    """Why this process's descriptor limit cannot hold `connections` per process, after raising it; or None."""
    needed = connections + FD_MARGIN
    soft, hard = raise_nofile(needed)
    if soft != resource.RLIM_INFINITY and soft < needed:
        return (
            f"RLIMIT_NOFILE: {connections:,} connections need {needed:,} descriptors in the client and as many in the "
            f"server, and the hard limit is {hard:,} (raise it: ulimit -Hn, or limits.conf)"
        )
    return None


# ---- /proc ----


def _listening_port(pid: int) -> int | None:
    """The TCP port process `pid` listens on (its sockets' inodes found in /proc/net/tcp and tcp6), or None."""
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
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                return int(fields[1].rsplit(":", 1)[1], 16)
    return None


def _status_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# ---- servers ----


def server_command(peer: str, protocol: str) -> list[str]:
    if peer == SUBJECT:
        return [sys.executable, "-m", "wasmroutines", "run", "--tcplisten", "127.0.0.1:0", str(PROGRAMS[protocol])]
    return [sys.executable, "-m", "benchmarks.net_servers", peer, protocol, "--port", "0"]


@dataclass
class Server:
    peer: str
    protocol: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def said(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def stop(self) -> tuple[int | None, int | None]:
        """Kill it: (its peak RSS in KiB, read just before; its exit status if it had exited on its own)."""
        status = self.proc.poll()
        peak = _status_kib(self.pid, "VmHWM") if status is None else None
        if status is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        return peak, status


def start_server(peer: str, protocol: str, folder: Path) -> Server:
    """Start a fresh server on 127.0.0.1, a free port; wait until it says it is ready and listens."""
    log = folder / f"{peer}-{protocol}-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            server_command(peer, protocol), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    server = Server(peer, protocol, proc, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the {peer} {protocol} server exited with status {proc.returncode}: {server.said()}")
        if "ready" in server.said():
            port = _listening_port(proc.pid)
            if port:
                server.port = port
                return server
        time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"the {peer} {protocol} server was not ready in {START_TIMEOUT:.0f} s: {server.said()}")


# ---- one run: a fresh server, the client, the figures ----


def _client(server: Server, protocol: str, connections: int, round_trips: int, idle: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.net_client",
        "--port",
        str(server.port),
        "--protocol",
        protocol,
        "--connections",
        str(connections),
        "--round-trips",
        str(round_trips),
        "--server-pid",
        str(server.pid),
        "--procs",
        str(CLIENT_PROCS),
        "--connect-cap",
        str(CONNECT_CAP),
        "--time-cap",
        str(TIME_CAP),
    ] + (["--idle"] if idle else [])
    timeout = CONNECT_CAP + TIME_CAP + 120  # the client bounds each phase itself; this only catches a stuck client
    try:
        done = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"client_failed": f"the client did not finish in {timeout:.0f} s"}
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:] or [f"status {done.returncode}"]
        return {"client_failed": " | ".join(tail)}
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def run_once(peer: str, protocol: str, connections: int, folder: Path, *, idle: bool = False) -> dict[str, Any]:
    """One run of one configuration on a fresh server: the client's report, the server's peak RSS, and a status:
    "ok", "errors" (some connection failed or was refused), "timed out" (a phase hit its cap), "server exited",
    "client failed" or "server did not start"."""
    round_trips = round_trips_each(connections)
    result: dict[str, Any] = {"peer": peer, "protocol": protocol, "connections": connections}
    try:
        server = start_server(peer, protocol, folder)
    except RuntimeError as e:
        return {**result, "status": "server did not start", "why": str(e)[-500:]}
    try:
        result.update(_client(server, protocol, connections, round_trips, idle))
    finally:
        peak, exited = server.stop()
    result["peak_rss_kib"] = peak
    connect_errors = sum(result.get("connect_errors", {}).values())
    errors = sum(result.get("errors", {}).values())
    timeouts = int(result.get("timeouts", 0))
    capped = result.get("connect_errors", {}).get("connect phase over its cap", 0)
    result["failures"] = connect_errors + errors + timeouts
    if "client_failed" in result:
        result["status"], result["why"] = "client failed", result["client_failed"]
    elif exited is not None:
        result["status"], result["why"] = "server exited", f"status {exited}: {server.said()[-500:]}"
    elif timeouts or capped:
        result["status"] = "timed out"
    elif connect_errors or errors:
        result["status"] = "errors"
    else:
        result["status"] = "ok"
    if not idle and result.get("round_trips"):
        span, done = float(result["span_s"]), int(result["round_trips"])
        result["round_trips_per_s"] = done / span if span > 0 else None
        result["cpu_us_per_round_trip"] = float(result["server_cpu_s"]) / done * 1e6
        result["client_busy"] = float(result["client_cpu_s"]) / (span * CLIENT_PROCS) if span > 0 else None
        result["planned_round_trips"] = connections * round_trips
    if idle and "rss_idle_kib" in result:
        grown = int(result["rss_idle_kib"]) - int(result["rss_before_kib"])
        opened = int(result.get("connected", 0)) or connections
        result["rss_kib_per_connection"] = grown / opened
        if peer == SUBJECT:
            result["runtime_kib_per_connection"] = (grown - opened * GUEST_STACK / 1024) / opened
    return result


#: the figures a peer's runs are summarized by (medians over the runs that have them)
FIGURES = (
    "round_trips_per_s",
    "p50_s",
    "p90_s",
    "p99_s",
    "p999_s",
    "max_s",
    "cpu_us_per_round_trip",
    "peak_rss_kib",
    "client_busy",
    "others_share",
    "connect_s",
)
IDLE_FIGURES = ("rss_before_kib", "rss_idle_kib", "rss_kib_per_connection", "runtime_kib_per_connection", "connect_s")


def summarize(runs: list[dict[str, Any]], figures: tuple[str, ...]) -> dict[str, Any]:
    """A peer's runs of one configuration: medians of each figure, the most failures of any run, and the statuses."""
    out: dict[str, Any] = {}
    for name in figures:
        values = [float(r[name]) for r in runs if r.get(name) is not None]
        out[name] = statistics.median(values) if values else None
    out["failures"] = max((int(r.get("failures", 0)) for r in runs), default=0)
    statuses = [r["status"] for r in runs]
    out["status"] = next((s for s in statuses if s != "ok"), "ok") if statuses else "not run"
    out["why"] = "; ".join(sorted({str(r["why"]) for r in runs if r.get("why")}))
    out["runs"] = len(runs)
    return out
