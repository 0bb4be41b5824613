"""Run scripts in child processes, so a crash of the C core costs one script's remaining commands, not the run.

The child (`python -m wasmroutines.spectest --emit-outcomes FILE`) prints one
JSON line per outcome as it goes; if it dies, every command it did not report
counts as failed with the cause.
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

from .outcome import FAILED, FileResult, Outcome
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
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "note" in record:
                result.notes.append(record["note"])
            else:
                result.outcomes.append(Outcome(record["line"], record["command"], record["status"], record["reason"]))
    if proc.returncode not in (0, 1):
        why = _describe_exit(proc.returncode, proc.stderr)
        for i, c in enumerate(flat_commands(path)[len(result.outcomes) :]):
            reason = f"{why} during this command" if i == 0 else f"not run: {why} earlier"
            result.outcomes.append(Outcome(int(c.get("line", 0)), c["type"], FAILED, reason))
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
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"runner crashed ({name})"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    return f"runner exited with status {code} ({last})"
