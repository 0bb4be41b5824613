"""Issue 16's rows: a thread-per-connection wasm server (tests/programs/net/, freestanding C on wasi-threads: a
blocking accept loop, one thread per connection on a 16 KiB stack) under `wasmroutines run --tcplisten`, against
Python servers doing the same work (benchmarks/net_servers.py: asyncio streams, the same on uvloop, and
socketserver.ThreadingTCPServer), each a fresh process per run on loopback, driven by the bounded client of
net_client.py in a process of its own (benchmarks/net.py runs them). benchmarks/README.md says what each figure
includes; the goals are tools/bench_report.py's.

- test_net_round_trips: echo and HTTP/1.1 keep-alive at 10, 1,000 and 10,000 connections (10,000 in the full mode
  only): round trips/s, p99 latency, server CPU per round trip, failures, peak RSS.
- test_net_idle_memory: the server's RSS with 10,000 idle connections against none (echo).

Every round runs every peer in turns (which goes first rotates); the figures are medians over the rounds. Each phase
of a run is capped (net.CONNECT_CAP, net.TIME_CAP): a configuration past a cap is reported as timed out, not waited
for, and a peer that timed out is not run again at that size in later rounds. Failures of a peer (errors, time-outs)
are figures, not test failures: the test fails only when the harness could not measure at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from . import net
from .settings import Settings


def _peers(connections: int, idle: bool = False) -> tuple[list[str], dict[str, str]]:
    """The peers that run here at this size, and why the others do not (uvloop not installed: that peer alone is
    skipped; Python threads are not run at 10,000 busy connections)."""
    missing = {p: why for p in net.PEERS if (why := net.peer_missing(p, connections, idle))}
    return [p for p in net.PEERS if p not in missing], missing


def _rounds(
    benchmark: Any, settings: Settings, measure: Any, peers: list[str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Run `measure(peer)` for every peer in turns, net.NET_ROUNDS[mode] times: each peer's runs, and the peers not
    run again after a run that timed out."""
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in peers}
    dropped: dict[str, str] = {}
    order = list(peers)

    def one_round() -> None:
        for peer in order:
            if peer in dropped:
                continue
            result = measure(peer)
            runs[peer].append(result)
            if result["status"] == "timed out":
                dropped[peer] = "not run again after a run that timed out"
        order.append(order.pop(0))

    benchmark.pedantic(one_round, rounds=net.NET_ROUNDS[settings.name], iterations=1)
    return runs, dropped


def _check_measured(runs: dict[str, list[dict[str, Any]]]) -> None:
    """Fail when the harness could not measure: a server that did not start, a client that failed."""
    broken = [
        f"{r['peer']}: {r['status']}: {r.get('why', '')}"
        for results in runs.values()
        for r in results
        if r["status"] in ("server did not start", "client failed")
    ]
    assert not broken, "; ".join(broken)


@pytest.mark.parametrize("connections", net.SIZES, ids=[f"{n}conns" for n in net.SIZES])
@pytest.mark.parametrize("protocol", ["echo", "http"])
def test_net_round_trips(benchmark: Any, settings: Settings, protocol: str, connections: int) -> None:
    """N connections, each doing its round trips one at a time (20 of 64 bytes each; 2,000 each at 10
    connections), all starting at one instant once every connection is open and has been answered once."""
    if connections not in net.CONNECTIONS[settings.name]:
        pytest.skip(f"{connections:,} connections run in the full mode only")
    problem = net.nofile_problem(connections)
    if problem:
        pytest.skip(problem)
    peers, missing = _peers(connections)
    benchmark.group = f"net: {protocol}, {connections:,} connections"
    with tempfile.TemporaryDirectory(prefix="wr-net-") as folder:
        runs, dropped = _rounds(
            benchmark, settings, lambda peer: net.run_once(peer, protocol, connections, Path(folder)), peers
        )
    benchmark.extra_info.update(
        kind="net",
        workload=f"{protocol}, {connections:,} connections",
        protocol=protocol,
        connections=connections,
        round_trips_each=net.round_trips_each(connections),
        figures={peer: net.summarize(results, net.FIGURES) for peer, results in runs.items()},
        runs=runs,
        skipped_peers={**missing, **dropped},
        client={
            "procs": net.CLIENT_PROCS,
            "loop": next((r.get("client_loop") for v in runs.values() for r in v), None),
        },
        nofile=list(net.raise_nofile(connections + net.FD_MARGIN)),
        caps_s={"connect": net.CONNECT_CAP, "round_trips": net.TIME_CAP},
    )
    _check_measured(runs)


def test_net_idle_memory(benchmark: Any, settings: Settings) -> None:
    """The echo servers' RSS with 10,000 idle connections (each answered once, then left open) against their RSS
    before any (after one warm-up connection): the growth per connection, and for the wasm server that less its
    guest's own 16 KiB stack per connection thread (issue 16's "runtime memory per idle connection")."""
    connections = net.IDLE_CONNECTIONS
    problem = net.nofile_problem(connections)
    if problem:
        pytest.skip(problem)
    peers, missing = _peers(connections, idle=True)
    benchmark.group = f"net: {connections:,} idle connections"
    with tempfile.TemporaryDirectory(prefix="wr-net-") as folder:
        runs, dropped = _rounds(
            benchmark, settings, lambda peer: net.run_once(peer, "echo", connections, Path(folder), idle=True), peers
        )
    benchmark.extra_info.update(
        kind="net_idle",
        workload=f"{connections:,} idle connections",
        connections=connections,
        guest_stack_bytes=net.GUEST_STACK,
        figures={peer: net.summarize(results, net.IDLE_FIGURES) for peer, results in runs.items()},
        runs=runs,
        skipped_peers={**missing, **dropped},
        nofile=list(net.raise_nofile(connections + net.FD_MARGIN)),
    )
    _check_measured(runs)
