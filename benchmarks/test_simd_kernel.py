"""One C kernel built twice, scalar and with -msimd128 (benchmarks/simd/), on Wasmroutines and on wasmtime.

The kernels (benchmarks/simd/kernel.c) are a dot product of two i16 buffers and a byte checksum, each a number of
passes over 16384 lanes; clang's auto-vectorizer writes the SIMD build from the same source. In an interpreter the
SIMD build should be markedly faster: one dispatch does four to sixteen lanes of work.

    pytest benchmarks/test_simd_kernel.py                 (pytest-benchmark: one entry per peer, build and kernel)
    python -m benchmarks.test_simd_kernel [--repeat N] [--cpu]
                                                          (one run, a table of time per pass and speedups; --cpu
                                                          times process CPU time, steadier on a shared machine)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from .peers import Peer, PeerUnavailable, unsigned
from .peers.wasmroutines_peer import WasmroutinesPeer
from .peers.wasmtime_peer import WasmtimePeer

SIMD_DIR = Path(__file__).resolve().parent / "simd"
BUILDS = ("scalar", "simd")
KERNELS = ("dot", "checksum")
SEED = 12345
#: passes over the buffers per call: a call takes a few milliseconds on each peer
PASSES = {"wasmroutines": 40, "wasmtime": 2000}
PEERS: tuple[Peer, ...] = (WasmroutinesPeer(), WasmtimePeer())


def wasm(build: str) -> bytes:
    return (SIMD_DIR / f"kernel_{build}.wasm").read_bytes()


@cache
def kernel(peer_name: str, build: str, name: str) -> Callable[[int], Any]:
    """The export `name` of the `build` module on the peer, its buffers filled from SEED."""
    peer = next(p for p in PEERS if p.name == peer_name)
    peer.check_available()
    loaded = peer.load(wasm(build), {})
    loaded.function("fill")(SEED)
    return loaded.function(name)


def time_per_pass(
    peer_name: str, build: str, name: str, repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """The median of `repeat` timed calls, in seconds per pass over the buffers (after one untimed call)."""
    f = kernel(peer_name, build, name)
    passes = PASSES[peer_name]
    f(passes)
    times = []
    for _ in range(repeat):
        start = clock()
        f(passes)
        times.append(clock() - start)
    return statistics.median(times) / passes


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("peer_name", [p.name for p in PEERS])
def test_simd_kernel(benchmark: Any, peer_name: str, build: str, name: str) -> None:
    try:
        f = kernel(peer_name, build, name)
    except PeerUnavailable as exc:
        pytest.skip(str(exc))
    passes = PASSES[peer_name]
    benchmark.extra_info["passes"] = passes
    result = unsigned(benchmark(f, passes), "i32")
    # Wrapping integer sums: every build and peer computes the same value.
    assert result == unsigned(kernel(peer_name, "scalar", name)(passes), "i32")


def test_builds_agree_across_peers() -> None:
    values = set()
    for peer in PEERS:
        try:
            peer.check_available()
        except PeerUnavailable:
            continue
        for build in BUILDS:
            values.add(tuple(unsigned(kernel(peer.name, build, name)(3), "i32") for name in KERNELS))
    assert len(values) == 1, values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed calls per entry (the median is reported)")
    ap.add_argument("--cpu", action="store_true", help="time process CPU time instead of wall time")
    args = ap.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    print(f"{'kernel':10} {'peer':14} {'scalar us/pass':>15} {'simd us/pass':>13} {'simd speedup':>13}")
    for name in KERNELS:
        for peer in PEERS:
            try:
                peer.check_available()
            except PeerUnavailable as exc:
                print(f"{name:10} {peer.name:14} unavailable: {exc}")
                continue
            scalar, simd = (time_per_pass(peer.name, build, name, args.repeat, clock) for build in BUILDS)
            print(f"{name:10} {peer.name:14} {scalar * 1e6:15.1f} {simd * 1e6:13.1f} {scalar / simd:12.2f}x")


if __name__ == "__main__":
    main()
