"""Run a command and write its own CPU time and peak RSS as JSON:

    python -m benchmarks.child_usage USAGE.json COMMAND [ARGS...]

The command's stdin, stdout and stderr are this process's; the exit status is the command's. Why a separate small
process: Linux carries a process's peak RSS across exec, so a child forked straight from the big pytest process
would report pytest's RSS as its own peak; forked from this small one, it reports its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    usage_path, command = argv[0], argv[1:]
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
    child.returncode = os.waitstatus_to_exitcode(status)
    with open(usage_path, "w") as f:
        json.dump({"cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}, f)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
