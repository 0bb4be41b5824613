"""Explorations run elsewhere (src/wasmroutines/explore/distribute.py): the same report on any executor, batches,
the early stop, and processes that die. Dask's own executor: test_explore_cluster.py."""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from explore_elsewhere import (
    EXPECT,
    LOST_UPDATE,
    RIGHT,
    RUNS,
    SEED,
    counting_body,
    crashes_as_expected,
    reference,
    same_exploration,
)

from wasmroutines import Module, wat2wasm
from wasmroutines.explore import Program, Schedule, explore_function, explore_program, run_program
from wasmroutines.explore.distribute import run_everywhere


def test_a_program_travels_as_its_binary() -> None:
    program = Program.load(LOST_UPDATE, ["x"], env={"A": "1"}, limits={"max_threads": 50})
    copy = pickle.loads(pickle.dumps(program))
    assert (copy.path, copy.args, copy.env, copy.limits, copy.digest) == (
        program.path,
        ["x"],
        {"A": "1"},
        {"max_threads": 50},
        program.digest,
    )
    assert copy.module is not program.module  # compiled again from the binary
    a, b = run_program(program, Schedule(3)), run_program(copy, Schedule(3))
    assert a.stdout.startswith(b"counter ") and (a.stdout, a.decisions) == (b.stdout, b.decisions)
    # Compiled once per process: a second copy shares the first one's module.
    assert pickle.loads(pickle.dumps(program)).module is copy.module
    bare = Program(program.module, LOST_UPDATE)  # made from a Module: no binary to send
    with pytest.raises(TypeError, match="made from a Module"):
        pickle.dumps(bare)


# Prints the file data.txt of the folder preopened as fd 3.
CAT = """
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "data.txt")
  (func (export "_start")
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 8) (i32.const 0)
      (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 32)))
    (i32.store (i32.const 40) (i32.const 1024))
    (i32.store (i32.const 44) (i32.const 1024))
    (drop (call $read (i32.load (i32.const 32)) (i32.const 40) (i32.const 1) (i32.const 48)))
    (i32.store (i32.const 44) (i32.load (i32.const 48)))
    (drop (call $write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 52)))))
"""


def test_preopened_folders_travel_with_the_program(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "data.txt").write_text("hello from the folder\n")
    (tmp_path / "cat.wasm").write_bytes(wat2wasm(CAT))
    program = Program.load(str(tmp_path / "cat.wasm"), dirs=[(str(folder), "/")])
    assert run_program(program, Schedule(1)).stdout == b"hello from the folder\n"
    sent = pickle.dumps(program)
    shutil.rmtree(folder)  # the receiving side needs no copy of its own
    copy = pickle.loads(sent)
    assert copy.dirs[0][1] == "/" and copy.dirs[0][0] != str(folder)
    assert run_program(copy, Schedule(1)).stdout == b"hello from the folder\n"


def test_every_executor_gives_the_same_exploration() -> None:
    program = Program.load(LOST_UPDATE)
    here = explore_program(program, runs=200, expect_stdout=EXPECT)
    # Something to compare: lost updates in some runs, not all.
    (found,) = here.failures
    assert found.failure.kind == "output" and 0 < found.count < 200 and found.runs[0] == found.run
    assert len(found.runs) == found.count
    expected = same_exploration(here)
    assert same_exploration(explore_program(program, runs=200, jobs=2, expect_stdout=EXPECT)) == expected
    assert same_exploration(explore_program(program, runs=200, jobs=2, batch=7, expect_stdout=EXPECT)) == expected
    spawn = multiprocessing.get_context("spawn")  # nothing inherited: the program goes pickled, as to a cluster
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        assert same_exploration(explore_program(program, runs=200, executor=pool, expect_stdout=EXPECT)) == expected
    with ThreadPoolExecutor(2) as threads:  # each OS thread runs its own stores
        got = explore_program(program, runs=200, executor=threads, batch=1, expect_stdout=EXPECT)
    assert same_exploration(got) == expected


def test_jobs_and_an_executor_exclude_each_other() -> None:
    with ThreadPoolExecutor(1) as threads, pytest.raises(ValueError, match="not both"):
        explore_program(Program.load(LOST_UPDATE), runs=10, jobs=2, executor=threads)


def test_max_failures_stops_early() -> None:
    program = Program.load(LOST_UPDATE)
    full = explore_program(program, runs=300, expect_stdout=EXPECT)
    (found,) = full.failures
    failing = found.runs
    assert len(failing) > 5 and not full.stopped
    # Here runs arrive in order: it stops right at the third failing run.
    three = explore_program(program, runs=300, expect_stdout=EXPECT, max_failures=3)
    assert three.stopped and three.runs == failing[2] + 1 and three.failures[0].runs == failing[:3]
    assert f"stopped early at 3 failing runs (max failures): {three.runs} of 300 schedules run" in three.report()
    # On a pool it stops once three have arrived; what it ran is the full exploration's.
    pooled = explore_program(program, runs=300, jobs=2, batch=4, expect_stdout=EXPECT, max_failures=3)
    assert pooled.stopped and pooled.runs < 300
    assert len(pooled.failures[0].runs) >= 3 and set(pooled.failures[0].runs) <= set(failing)
    # Never reached: the whole exploration, as without it.
    assert same_exploration(
        explore_program(program, runs=300, expect_stdout=EXPECT, max_failures=len(failing) + 1)
    ) == same_exploration(full)


def test_a_run_that_kills_its_process_is_a_crash_of_its_schedule() -> None:
    ref, crashing = reference()
    # The pool breaks at each death; the batch is redone, then its runs alone, and the culprit alone, twice.
    result = explore_function(counting_body(low="exit"), runs=RUNS, seed=SEED, expect=RIGHT, jobs=2, batch=8)
    crashes_as_expected(result, ref, crashing)
    assert f"crash, in 1 of {RUNS} runs" in result.report()


def test_a_process_that_dies_once_has_its_runs_redone(tmp_path: Path) -> None:
    ref, _ = reference()
    marker = tmp_path / "died"
    body = counting_body(low="raise", marker=str(marker))
    result = explore_function(body, runs=RUNS, seed=SEED, expect=RIGHT, jobs=2, batch=8)
    assert marker.exists()  # a process did die
    assert [(f.failure.key, f.runs) for f in result.failures] == [(f.failure.key, f.runs) for f in ref.failures]


class KilledWorker(Exception):
    """Named as Dask's: its executor's report that the task's processes died, its retries spent."""


class _Dying(Executor):
    """Runs each task at once, here; a task holding run `deadly` fails as Dask's does once its retries are spent."""

    def __init__(self, deadly: int) -> None:
        self.deadly = deadly
        self.tasks: list[list[int]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        runs = [i for i, _ in args[1]]
        self.tasks.append(runs)
        if self.deadly in runs:
            future.set_exception(KilledWorker(f"task with runs {runs}"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_a_task_the_engine_gave_up_on_is_split_into_runs_alone() -> None:
    program = Program.load(LOST_UPDATE)
    runs = [(i, Schedule(i)) for i in range(12)]
    dying = _Dying(deadly=6)
    from wasmroutines.explore.explorer import _ProgramTarget

    got = dict(run_everywhere(_ProgramTarget(program, None), runs, executor=dying, batch=4))
    assert sorted(got) == list(range(12))
    failure = got[6].failure
    assert failure is not None and failure.kind == "crash" and got[6].schedule == Schedule(6)
    assert all(got[i].failure is None for i in got if i != 6)
    # Dask retried already: no second try of the batch; its runs alone, the culprit once (Dask retried it too).
    assert dying.tasks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [4], [5], [6], [7]]


def test_a_module_is_not_needed_to_explore_here() -> None:
    # A Program made from a Module (no binary) still explores on the explorer's own forked pool.
    program = Program(Module.from_file(LOST_UPDATE), LOST_UPDATE)
    assert explore_program(program, runs=64, jobs=2, expect_stdout=EXPECT).runs == 64
