"""What the tests of explorations run elsewhere share (test_explore_distribute.py, test_explore_cluster.py).

A body made by `counting_body` holds wasm bytes, not a Module (Dask's cloudpickle sends it by value: a closure),
and misbehaves only in another process than the one that made it: the explorer's first run is always in the
test's own process, which must survive it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasmroutines import Instance, Module, Store, join, spawn, wat2wasm
from wasmroutines.explore import Exploration, explore_function
from wasmroutines.explore.distribute import CRASH_MESSAGE

PROGRAMS = Path(__file__).resolve().parent.parent / "programs" / "explore"
LOST_UPDATE = str(PROGRAMS / "lost_update.wasm")
EXPECT = b"counter 200\n"

# `racy_inc` loads the counter, calls $work (a preemption point), stores it plus one: three threads of ten
# increments end below 30 when a switch falls in between.
RACY = """
(module
  (memory (export "mem") 1 1 shared)
  (func $work)
  (func (export "racy_inc") (param $n i32)
    (local $v i32)
    (loop $l
      (local.set $v (i32.load (i32.const 16)))
      (call $work)
      (i32.store (i32.const 16) (i32.add (local.get $v) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "count") (result i32) (i32.atomic.load (i32.const 16))))
"""

#: Seed 0, 60 runs: the counts 14, 20 (5 runs), 21, 24, 26 (2), 29 (2) and 30 (48). Below LOW: one run, not run 0.
SEED, RUNS, RIGHT, LOW = 0, 60, 30, 15


def counting_body(*, low: str = "", marker: str | None = None) -> Callable[[Store], Any]:
    """The racy counter's body, returning the count. Away from the process that made it: with `low` "exit", a
    count below LOW kills its process (with "raise", it raises AssertionError anywhere: the reference); with a
    `marker` path, the first run to create the marker kills its process (a worker dying once, of something else)."""
    wasm = wat2wasm(RACY)
    home = os.getpid()

    def body(store: Store) -> int:
        inst = Instance(store, Module(wasm))
        workers = [spawn(inst.exports.racy_inc, 10) for _ in range(3)]
        for w in workers:
            join(w)
        count = int(inst.exports.count())
        away = os.getpid() != home
        if count < LOW and low == "raise":
            raise AssertionError(f"count {count} below {LOW}")
        if count < LOW and low == "exit" and away:
            os._exit(70)
        if marker is not None and away:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(71)
        return count

    return body


def same_exploration(result: Exploration) -> tuple[Any, ...]:
    """Everything an exploration found that must not depend on where its runs ran: each failure group (what, every
    run that showed it, the replay command), the outputs, and the report without its elapsed time and rate."""
    groups = [(f.failure.key, f.run, f.runs, f.count, f.schedule, f.stdout, f.replay) for f in result.failures]
    report = re.sub(r" in \d+\.\d s \([\d.e+]+/s\)", "", result.report(), count=1)
    return result.runs, groups, result.outputs, report


def reference() -> tuple[Exploration, list[int]]:
    """The racy counter explored here, a count below LOW raising: the runs that a crashing body kills its process in."""
    ref = explore_function(counting_body(low="raise"), runs=RUNS, seed=SEED, expect=RIGHT)
    low = [f for f in ref.failures if f.failure.kind == "error"]
    assert len(low) == 1 and 0 not in low[0].runs, ref.report()  # run 0 runs here: it must not be one
    return ref, low[0].runs


def crashes_as_expected(result: Exploration, ref: Exploration, crashing: list[int]) -> None:
    """`result` found what `ref` did, the runs below LOW as crashes instead of errors."""
    (crash,) = [f for f in result.failures if f.failure.kind == "crash"]
    assert crash.runs == crashing and crash.failure.message == CRASH_MESSAGE
    assert crash.replay.startswith("wasmroutines.explore.replay_function(")
    rest = [(f.failure.key, f.runs) for f in result.failures if f.failure.kind != "crash"]
    assert rest == [(f.failure.key, f.runs) for f in ref.failures if f.failure.kind != "error"]
    assert rest and result.runs == RUNS
