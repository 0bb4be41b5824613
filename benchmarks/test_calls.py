"""Exports called directly, no WASI: micro.wat's fib/loop/sieve/memrw, lang/fib32, and coremark-minimal."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .peers import PEERS, HostFunc, Peer, PeerUnavailable, peer, unsigned
from .settings import Settings
from .workloads import CALLS, COREMARK_ID, COREMARK_MINIMAL, CallWorkload


def _available(p: Peer) -> Peer:
    try:
        p.check_available()
    except PeerUnavailable as exc:
        pytest.skip(f"{p.name}: {exc}")
    return p


HERE = Path(__file__).resolve().parent


def _call_params() -> list[Any]:
    return [
        pytest.param(w, p.name, id=f"{w.id}-{p.name}")
        for w in CALLS
        for p in PEERS
        if (w.reduced or not p.reduced_only) and (w.peers is None or p.name in w.peers)
    ]


def _source(workload: CallWorkload, programs: Path, micro_wasm: bytes) -> bytes:
    if workload.source == "micro":
        return micro_wasm
    if workload.source.endswith(".wat"):
        from wasmroutines import wat2wasm

        return wat2wasm((HERE / workload.source).read_text())
    return (programs / workload.source).read_bytes()


@pytest.mark.parametrize(("workload", "peer_name"), _call_params())
def test_call(
    benchmark: Any, settings: Settings, programs: Path, micro_wasm: bytes, workload: CallWorkload, peer_name: str
) -> None:
    runtime = _available(peer(peer_name))
    wasm = _source(workload, programs, micro_wasm)
    func = runtime.load(wasm, {}).function(workload.export)
    args, result_type = workload.args, workload.result_type
    results: list[int] = []

    def run() -> None:
        results.append(unsigned(func(*args), result_type))

    benchmark.group = workload.id
    benchmark.extra_info.update(workload=workload.id, peer=peer_name, bar=workload.bar, reduced=workload.reduced)
    benchmark.pedantic(run, rounds=settings.rounds, warmup_rounds=settings.warmup_rounds, iterations=1)
    assert results, "no round ran"
    assert set(results) == {workload.expected}, f"{peer_name} computed {sorted(set(results))}"


@pytest.mark.parametrize("peer_name", [p.name for p in PEERS if not p.reduced_only])
def test_coremark_minimal(benchmark: Any, settings: Settings, programs: Path, peer_name: str) -> None:
    """CoreMark's score (iterations per CPU second) is the figure here; the wall time of a run is about constant,
    since CoreMark calibrates itself to run 10 s by the clock it is given."""
    runtime = _available(peer(peer_name))
    wasm = (programs / COREMARK_MINIMAL).read_bytes()
    scale = settings.coremark_clock_scale

    def clock_ms() -> int:
        return int(time.process_time() * 1000 * scale)

    imports = {("env", "clock_ms"): HostFunc((), ("i64",), clock_ms)}
    scores: list[float] = []

    def setup() -> tuple[tuple[Callable[[], float]], dict[str, Any]]:
        return (runtime.load(wasm, imports).function("run"),), {}

    def run(func: Callable[[], float]) -> None:
        scores.append(float(func()) * scale)

    benchmark.group = COREMARK_ID
    benchmark.extra_info.update(workload=COREMARK_ID, peer=peer_name, bar="coremark", reduced=False)
    benchmark.pedantic(run, setup=setup, rounds=settings.long_rounds, iterations=1)
    assert scores and all(s > 0 for s in scores), f"CoreMark failed its self-check on {peer_name}: scores {scores}"
    benchmark.extra_info.update(score=statistics.median(scores), scores=scores, clock_scale=scale)
