"""Run scripts in child processes, so a crash of the C core costs one script's remaining commands, not the run.

The child (`python -m wasmroutines.spectest --emit-outcomes FILE`) prints one
JSON line per outcome as it goes, then an end marker `{"end": true}`, and exits
with status 0. Anything else is a child that died (an uncaught exception exits
with 1, a crash with a signal): every command it did not report counts as
failed, with the cause. Either way each command of the script gets exactly one
outcome (one_per_command).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import wasmroutines

from .outcome import FAILED, FileResult, Outcome, one_per_command
from .script import flat_commands, script_name

__all__ = ["run_isolated", "run_many_isolated"]

_PACKAGE_PARENT = Path(wasmroutines.__file__).absolute().parent.parent


def run_isolated(path: Path, *, timeout: float | None = None, seed: int | None = None) -> FileResult:
    cmd = [sys.executable, "-m", "wasmroutines.spectest", "--emit-outcomes"]
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    cmd.append(str(path))
    # Run from the folder holding the wasmroutines package this process imported, so
    # `-m` finds the same one (not, say, a source tree without the compiled core).
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=_PACKAGE_PARENT)
    data = json.loads(path.read_text())
    result = FileResult(script_name(path, data), str(path))
    ended = False
    for line in proc.stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # not a record: a line the dying child cut short
        if not isinstance(record, dict):
            continue
        if "end" in record:
            ended = True
        elif "note" in record:
            result.notes.append(record["note"])
        else:
            result.outcomes.append(Outcome(record["line"], record["command"], record["status"], record["reason"]))
    died = not ended or proc.returncode != 0
    why = f"child died with {_describe_exit(proc.returncode, proc.stderr)}" if died else "the child reported none"
    reported = {id(o) for o in result.outcomes}
    result.outcomes = one_per_command(result.outcomes, flat_commands(path), why)
    if died and all(id(o) in reported for o in result.outcomes):
        # Every command reported, then a crash (on the way out): a failure all the same, of no command.
        result.outcomes.append(Outcome(0, "exit", FAILED, f"{why} after its last command"))
    return result


def run_many_isolated(
    paths: Sequence[Path], *, jobs: int, timeout: float | None = None, seed: int | None = None
) -> Iterator[FileResult]:
    """Results in the order of `paths`, `jobs` children at a time."""
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        yield from pool.map(lambda p: run_isolated(p, timeout=timeout, seed=seed), paths)


def _describe_exit(code: int, stderr: str) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
    return f"exit status {code} ({last})"
