"""How long to measure: the quick mode (a few minutes for the whole suite) and the full mode."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Measurement settings shared by every benchmark of one run."""

    name: str
    #: timed rounds per (workload, peer); the median of these goes into the table
    rounds: int
    #: untimed rounds first (lazy compilation, caches); calls only: a command program runs once per instance
    warmup_rounds: int
    #: timed rounds of the long programs: the CoreMarks, which calibrate themselves to run 10 s by their clock
    #: (see below), and STREAM
    long_rounds: int
    #: CoreMark calibrates itself to run 10 s by the clock it is given; the harness's clock runs this many times
    #: faster than process CPU time, so a run takes 10 / scale s, and the score is scaled back (1 = CoreMark's rule)
    coremark_clock_scale: int
    #: run the workloads marked full-only (CoreMark under WASI, STREAM, the larger pywasm sizes)
    full_only: bool


QUICK = Settings(name="quick", rounds=3, warmup_rounds=1, long_rounds=3, coremark_clock_scale=20, full_only=False)
FULL = Settings(name="full", rounds=7, warmup_rounds=1, long_rounds=3, coremark_clock_scale=1, full_only=True)
MODES = {s.name: s for s in (QUICK, FULL)}
