"""GC pauses (issue 19: one thread's allocation must not stall the others for long): a list of 1M structs kept live
while 4M structs of garbage are allocated (`live_churn` in benchmarks/gc.wat), so collections run with 46 MiB live
to mark. Wasmroutines only (the figure is its own: `Store.gc_max_pause_ns`, the longest CPU time one allocation in
wasm spent in the collector); the round's time is the run's timer as in the peers table. The figures go into
`extra_info` (kind "gc pause"): the longest pause of each round, and the time `Store.gc()` takes with the list
live (a whole collection: the stop-the-world pause an allocation would have without increments)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from .settings import Settings

HERE = Path(__file__).resolve().parent
LIVE, GARBAGE = 1_000_000, 4_000_000


def test_gc_pause(benchmark: Any, settings: Settings) -> None:
    from wasmroutines import Instance, Module, Store, wat2wasm

    store = Store()
    e = Instance(store, Module(wat2wasm((HERE / "gc.wat").read_text())), {}).exports
    pauses: list[float] = []

    def run() -> None:
        store.gc_max_pause_ns = 0
        assert e.live_churn(LIVE, GARBAGE) == LIVE * (LIVE + 1) // 2
        pauses.append(store.gc_max_pause_ns / 1e6)

    benchmark.group = "gc pause"
    benchmark.pedantic(run, rounds=settings.rounds, warmup_rounds=settings.warmup_rounds, iterations=1)
    e.keep(LIVE)
    whole: list[float] = []
    for _ in range(3):
        start = time.process_time()
        store.gc()
        whole.append((time.process_time() - start) * 1e3)
    e.drop()
    benchmark.extra_info.update(
        kind="gc pause",
        max_pause_ms=max(pauses),
        median_max_pause_ms=statistics.median(pauses),
        store_gc_ms=statistics.median(whole),
    )
