"""Commands run in a fresh child process, measured from outside: its CPU time (user + system, all its threads and
the children it waited for) and its peak RSS, through `child_usage.py` (see there why a wrapper)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .paths import ROOT

#: no child runs longer than this (seconds): a hung run fails its test instead of hanging the suite
TIMEOUT = 900


@dataclass(frozen=True)
class Child:
    """One finished child: its CPU time in seconds, its peak RSS in KiB, its exit status and output."""

    cpu_s: float
    maxrss_kib: int
    returncode: int
    stdout: bytes
    stderr: bytes

    def describe(self) -> str:
        return f"status {self.returncode}, stdout {self.stdout[-500:]!r}, stderr {self.stderr[-2000:]!r}"


def run_child(command: list[str], timeout: float = TIMEOUT) -> Child:
    """Run `command` to its end (stdin empty, from the repository's root) and measure it."""
    with tempfile.TemporaryDirectory() as folder:
        usage_path = Path(folder) / "usage.json"
        wrapped = [sys.executable, "-m", "benchmarks.child_usage", str(usage_path), *command]
        done = subprocess.run(wrapped, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        usage = json.loads(usage_path.read_text()) if usage_path.exists() else {"cpu_s": 0.0, "maxrss_kib": 0}
    return Child(float(usage["cpu_s"]), int(usage["maxrss_kib"]), done.returncode, done.stdout, done.stderr)


def wasmroutines(*args: str) -> list[str]:
    """The `wasmroutines` command (`python -m wasmroutines`, the console script's code) with `args`."""
    return [sys.executable, "-m", "wasmroutines", *args]
