"""Idle green threads, measured in a fresh process (memory the benchmarks freed earlier would hide the growth):

    python -m benchmarks.thread_probe 100000

spawns N green threads of one instance's export that all block in memory.atomic.wait32, measures the process's RSS
growth once all are parked, wakes them, joins them, and prints one JSON object (the caller checks the counts).
wasmtime cannot run these threads on one instance (a Store is used by one OS thread at a time); its memory per
thread is measured with an instance per thread, on a wasi-threads program (test_threads.py, WASI_MEMORY)."""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any

from .threads_wasm import IDLE_ARRIVED, GreenRuntime, wasm


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def green(n: int) -> dict[str, Any]:
    from wasmroutines import join, spawn

    rt = GreenRuntime(wasm())
    idle, load, wake = rt.export("idle"), rt.export("load"), rt.export("wake")
    probe: dict[str, Any] = {}

    def measure_then_wake() -> int:
        # spawned last: runs once every wasm thread before it has parked in its wait (FIFO)
        probe["arrived"] = int(load(IDLE_ARRIVED))
        probe["rss_kib"] = rss_kib()
        probe["parked_s"] = time.perf_counter() - t0
        return int(wake())

    gc.collect()
    base = rss_kib()
    t0 = time.perf_counter()
    threads = [spawn(idle) for _ in range(n)]
    waker = spawn(measure_then_wake, store=rt.store)
    woken = join(waker)
    returned = sum(int(join(t)) for t in threads)
    total = time.perf_counter() - t0
    return {
        "n": n,
        "arrived": probe["arrived"],
        "woken": woken,
        "returned": returned,
        "rss_delta_kib": probe["rss_kib"] - base,
        "parked_s": probe["parked_s"],
        "total_s": total,
    }


def main(argv: list[str]) -> int:
    print(json.dumps(green(int(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
