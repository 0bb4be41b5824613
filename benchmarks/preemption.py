"""What the preemption checks cost: the C core built twice from this checkout, one copy with -DWR_NO_PREEMPTION
(wr_interp.c compiles the slice and fuel checks out), and CoreMark run on each in a fresh process.

    python -m benchmarks.preemption ROOT SCALE   # the probe: CoreMark's score on the copy at ROOT, as JSON

Both copies are built the same way (setup.py build_ext into a temporary folder, same compiler and flags), so the
define is the only difference; the probe imports the copy it is given and checks that it did.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .paths import ROOT, WASM3_PROGRAMS
from .workloads import COREMARK_MINIMAL

#: the two builds: name -> extra C flags
VARIANTS = {"checks": "", "no checks": "-DWR_NO_PREEMPTION"}


class BuildFailed(RuntimeError):
    pass


class ProbeFailed(RuntimeError):
    pass


def _copy_sources(dest: Path) -> None:
    for name in ("setup.py", "pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "src" / "wasmroutines",
        dest / "src" / "wasmroutines",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.o", "*.pyc"),
    )


def build_variants(folder: Path) -> dict[str, Path]:
    """Build both copies (at the same time) under `folder`: variant name -> root to put on sys.path."""
    jobs: dict[str, tuple[Path, subprocess.Popen[bytes]]] = {}
    for name, cflags in VARIANTS.items():
        root = folder / name.replace(" ", "-")
        root.mkdir(parents=True)
        _copy_sources(root)
        env = dict(os.environ, CFLAGS=(os.environ.get("CFLAGS", "") + " " + cflags).strip())
        command = [sys.executable, "setup.py", "-q", "build_ext", "--inplace"]
        log = (root / "build.log").open("wb")
        jobs[name] = (root, subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT))
    roots = {}
    for name, (root, job) in jobs.items():
        if job.wait() != 0:
            tail = (root / "build.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise BuildFailed(f"building the {name!r} copy failed: " + " / ".join(tail))
        roots[name] = root
    return roots


def probe(root: Path, scale: int) -> float:
    """CoreMark's score (iterations per CPU second) on the copy at `root`, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "src"), str(ROOT)]))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.preemption", str(root), str(scale)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    if out.returncode != 0:
        raise ProbeFailed(f"CoreMark on {root.name}: status {out.returncode}: {out.stderr.decode()[-1000:]}")
    return float(json.loads(out.stdout)["score"])


def _main(root: Path, scale: int) -> None:
    sys.path.insert(0, str(root / "src"))
    import wasmroutines as wr

    where = Path(wr.__file__).resolve()
    if root.resolve() not in where.parents:
        raise SystemExit(f"imported wasmroutines from {where}, not from {root}")

    def clock_ms() -> int:
        return int(time.process_time() * 1000 * scale)

    store = wr.Store()
    clock = wr.Function(store, clock_ms, wr.FuncType([], [wr.ValType.I64]))
    module = wr.Module((WASM3_PROGRAMS / COREMARK_MINIMAL).read_bytes())
    run = wr.Instance(store, module, {"env": {"clock_ms": clock}}).exports["run"]
    score = float(run()) * scale
    if score <= 0:
        raise SystemExit("CoreMark reported no score (its self-checks failed)")
    print(json.dumps({"score": score}))


if __name__ == "__main__":
    _main(Path(sys.argv[1]), int(sys.argv[2]))
