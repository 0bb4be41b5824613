"""WASI command programs (c-ray, mandelbrot, smallpt, stream, CoreMark): each timed round compiles the module,
instantiates it with a fresh WASI and runs `_start`, on every peer alike."""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .peers import PEERS, Command, CommandResult, PeerUnavailable, peer
from .settings import Settings
from .workloads import COMMANDS, CommandWorkload


def _params() -> list[Any]:
    return [
        pytest.param(w, p.name, id=f"{w.id}-{p.name}")
        for w in COMMANDS
        for p in PEERS
        if w.reduced or not p.reduced_only
    ]


def _check(workload: CommandWorkload, result: CommandResult) -> None:
    assert result.exit_code == 0, f"exit code {result.exit_code}; stderr: {result.stderr[-500:]!r}"
    if workload.stdout_sha1 is not None:
        digest = hashlib.sha1(result.stdout).hexdigest()
        assert digest == workload.stdout_sha1, f"stdout SHA-1 {digest} ({len(result.stdout)} bytes)"
    if workload.stdout_contains is not None:
        assert workload.stdout_contains in result.stdout.decode(errors="replace"), result.stdout[-500:]
    if workload.score_pattern is not None:
        assert workload.score(result.stdout) is not None, f"no score in {result.stdout[-500:]!r}"


@pytest.mark.parametrize(("workload", "peer_name"), _params())
def test_command(
    benchmark: Any,
    settings: Settings,
    clock: Callable[[], float],
    programs: Path,
    workload: CommandWorkload,
    peer_name: str,
) -> None:
    runtime = peer(peer_name)
    if workload.full_only and not settings.full_only:
        pytest.skip("full mode only")
    rounds = settings.long_rounds if workload.long_running else settings.rounds * workload.rounds_scale
    if runtime.reduced_only:
        if not settings.full_only:
            pytest.skip(f"{peer_name}: command programs in full mode only (c-ray 32x32 takes it about 11 s)")
        rounds = 1
    if workload.wasi_module not in runtime.wasi_modules:
        pytest.skip(f"{peer_name}: its WASI has no {workload.wasi_module} (the program's WASI module name)")
    try:
        runtime.check_wasi()
    except PeerUnavailable as exc:
        pytest.skip(f"{peer_name}: {exc}")
    path = programs / workload.program
    command = Command(
        wasm=path.read_bytes(),
        argv=(path.name, *workload.args),
        stdin=(programs / workload.stdin).read_bytes() if workload.stdin else b"",
        cwd=path.parent,
    )
    results: list[CommandResult] = []
    prepared: list[float] = []

    def run() -> None:
        # compile, instantiate, _start: wasm3 compiles lazily inside _start, so this is the one span all peers share
        t0 = clock()
        start = runtime.prepare_command(command)
        prepared.append(clock() - t0)  # the eager compilers' share, for the report's note
        results.append(start())

    benchmark.group = workload.id
    benchmark.extra_info.update(
        workload=workload.id, peer=peer_name, bar=workload.bar, reduced=workload.reduced, span="compile+run"
    )
    # one untimed round first (imports, the wasmtime engine, file caches), except where a round takes seconds
    warmup = 0 if workload.long_running or runtime.reduced_only else settings.warmup_rounds
    benchmark.pedantic(run, rounds=rounds, warmup_rounds=warmup, iterations=1)
    assert results, "no round ran"
    for result in results:
        _check(workload, result)
    benchmark.extra_info.update(prepare_s=statistics.median(prepared[-rounds:]))
    if workload.score_pattern is not None:  # the timed rounds' (each checked above to have one)
        benchmark.extra_info.update(score=statistics.median(workload.score(r.stdout) or 0.0 for r in results[-rounds:]))
