"""One C kernel built twice, scalar and with -msimd128 (benchmarks/simd/), on Wasmroutines and on wasmtime.

The kernels (benchmarks/simd/kernel.c) are a dot product of two i16 buffers and a byte checksum, each a number of
passes over 16384 lanes; clang's auto-vectorizer writes the SIMD build from the same source. In an interpreter the
SIMD build should be markedly faster: one dispatch does four to sixteen lanes of work. Every peer runs the same
passes, and every result is checked against the kernel computed in Python (`reference`).

    pytest benchmarks/test_simd_kernel.py                 (pytest-benchmark: one entry per peer, build and kernel)
    python -m benchmarks.test_simd_kernel [--repeat N] [--cpu]
                                                          (one run, a table of time per pass and speedups; --cpu
                                                          times process CPU time, steadier on a shared machine)
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from .peers import Peer, PeerUnavailable, peer, unsigned

SIMD_DIR = Path(__file__).resolve().parent / "simd"
BUILDS = ("scalar", "simd")
KERNELS = ("dot", "checksum")
SEED = 12345
#: passes over the buffers per call, the same on every peer: tens of ms on Wasmroutines, under 1 ms on wasmtime
PASSES = 200
#: the session's peers (conftest closes wasmtime's objects at its end, before ctypes goes)
PEERS: tuple[Peer, ...] = (peer("wasmroutines"), peer("wasmtime"))
MASK = 0xFFFF_FFFF


def wasm(build: str) -> bytes:
    return (SIMD_DIR / f"kernel_{build}.wasm").read_bytes()


@cache
def kernel(peer_name: str, build: str, name: str) -> Callable[[int], Any]:
    """The export `name` of the `build` module on the peer, its buffers filled from SEED."""
    runtime = peer(peer_name)
    runtime.check_available()
    loaded = runtime.load(wasm(build), {})
    loaded.function("fill")(SEED)
    return loaded.function(name)


@cache
def _buffers(seed: int) -> tuple[list[int], list[int], list[int]]:
    """kernel.c's fill(seed) in Python: the i16 buffers xs and ys and the u8 buffer, from the same LCG."""
    lanes = int(re.search(r"#define N (\d+)", (SIMD_DIR / "kernel.c").read_text()).group(1))  # type: ignore[union-attr]

    def i16(v: int) -> int:
        return (v & 0xFFFF) - ((v & 0x8000) << 1)

    xs, ys, bytes_ = [], [], []
    s = seed
    for _ in range(lanes):
        s = (s * 1664525 + 1013904223) & MASK
        xs.append(i16(s >> 16))
        s = (s * 1664525 + 1013904223) & MASK
        ys.append(i16(s >> 16))
        bytes_.append((s >> 24) & 0xFF)
    return xs, ys, bytes_


def reference(name: str, passes: int, seed: int = SEED) -> int:
    """kernel.c's `name(passes)` computed in Python, independently of any engine: the wrapping i32/u32 sums of C on
    wasm32. The buffers do not change between passes, so one pass's sums serve them all."""
    xs, ys, bytes_ = _buffers(seed)
    total = 0
    if name == "dot":
        acc = sum(x * y for x, y in zip(xs, ys, strict=True)) & MASK  # int32 acc wraps in wasm: the same bits
        for r in range(passes):
            total = (total + acc + r) & MASK
    elif name == "checksum":
        a, b = sum(bytes_) & MASK, sum(v * v for v in bytes_) & MASK
        for r in range(passes):
            total = (total * 31 + (a ^ b) + r) & MASK
    else:
        raise ValueError(name)
    return total


def time_per_pass(
    peer_name: str, build: str, name: str, repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """The median of `repeat` timed calls, in seconds per pass over the buffers (after one untimed call)."""
    f = kernel(peer_name, build, name)
    f(PASSES)
    times = []
    for _ in range(repeat):
        start = clock()
        f(PASSES)
        times.append(clock() - start)
    return statistics.median(times) / PASSES


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("peer_name", [p.name for p in PEERS])
def test_simd_kernel(benchmark: Any, peer_name: str, build: str, name: str) -> None:
    try:
        f = kernel(peer_name, build, name)
    except PeerUnavailable as exc:  # wasmtime not installed; Wasmroutines never raises it
        pytest.skip(str(exc))
    benchmark.group = f"simd kernel {name}"
    benchmark.extra_info.update(kind="simd", peer=peer_name, build=build, kernel=name, passes=PASSES)
    result = unsigned(benchmark(f, PASSES), "i32")
    assert result == reference(name, PASSES), f"{peer_name} {build} {name}: {result:#x}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed calls per entry (the median is reported)")
    ap.add_argument("--cpu", action="store_true", help="time process CPU time instead of wall time")
    args = ap.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    print(f"{'kernel':10} {'peer':14} {'scalar us/pass':>15} {'simd us/pass':>13} {'simd speedup':>13}")
    for name in KERNELS:
        for runtime in PEERS:
            try:
                runtime.check_available()
            except PeerUnavailable as exc:
                print(f"{name:10} {runtime.name:14} unavailable: {exc}")
                continue
            scalar, simd = (time_per_pass(runtime.name, build, name, args.repeat, clock) for build in BUILDS)
            print(f"{name:10} {runtime.name:14} {scalar * 1e6:15.1f} {simd * 1e6:13.1f} {scalar / simd:12.2f}x")


if __name__ == "__main__":
    main()
