"""Idle threads, measured in a fresh process (memory the benchmarks freed earlier would hide the growth):

    python -m benchmarks.thread_probe wasmroutines 100000
    python -m benchmarks.thread_probe wasmtime 200

starts N wasm threads that all block in memory.atomic.wait32, measures the process's RSS growth once all are
parked, wakes them, joins them, checks every one returned, and prints one JSON object."""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from typing import Any

from .threads_wasm import IDLE_ARRIVED, GreenRuntime, OsRuntime, wasm


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


def os_threads(n: int) -> dict[str, Any]:
    rt = OsRuntime(wasm())
    load, wake = rt.export("load"), rt.export("wake")
    gc.collect()
    base = rss_kib()
    t0 = time.perf_counter()
    threads = [rt.thread("idle") for _ in range(n)]
    for t, _ in threads:
        t.start()
    while int(load(IDLE_ARRIVED)) < n and all(t.is_alive() for t, _ in threads):
        time.sleep(0.01)
    time.sleep(0.2)  # from the arrival count to the futex wait itself
    arrived, rss, parked = int(load(IDLE_ARRIVED)), rss_kib(), time.perf_counter() - t0
    woken = int(wake())
    for t, _ in threads:
        t.join()
    returned = sum(out[0] if out and isinstance(out[0], int) else 0 for _, out in threads)
    total = time.perf_counter() - t0
    return {
        "n": n,
        "arrived": arrived,
        "woken": woken,
        "returned": returned,
        "rss_delta_kib": rss - base,
        "parked_s": parked,
        "total_s": total,
        "stack_size": threading.stack_size(),
    }


def main(argv: list[str]) -> int:
    peer, n = argv[0], int(argv[1])
    result = green(n) if peer == "wasmroutines" else os_threads(n)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
