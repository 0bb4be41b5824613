"""Check that GCC allocates the run loop's registers with its full allocator, not its simplified one.

GCC's register allocator (IRA) gives up on a function whose used pseudo-registers times basic blocks reach
2**26 (gcc/ira.cc, `lra_simple_p`, a fixed limit that no flag or --param moves): it then builds no conflict
graph, turns caller-saves and regional allocation off, and the run loop (wr_interp.c's `run`, one function
for every handler) keeps only two or three of its registers, pc and fp among them, in registers; the rest,
the accumulator included, live in the stack frame and every handler loads and stores them
(docs/interpreter.md, "The run loop's size"). New handlers grow the loop towards that limit, so CI compiles
it with the build's flags and IRA's dump and fails once it is crossed.

    python tools/check_regalloc.py [--cc gcc]

Prints the loop's blocks and allocnos as IRA counted them; exits 1 when IRA used the simplified allocation,
2 when the compiler is not GCC or its dump has no `run`.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "src" / "wasmroutines" / "_native"


def compile_args() -> list[str]:
    """The build's own flags (build_ffi.COMPILE_ARGS, read without importing cffi), so the check sees the loop
    the package runs."""
    tree = ast.parse((NATIVE / "build_ffi.py").read_text())
    for node in tree.body:
        names = [t.id for t in node.targets if isinstance(t, ast.Name)] if isinstance(node, ast.Assign) else []
        if "COMPILE_ARGS" in names:
            return list(ast.literal_eval(node.value))
    raise SystemExit("check_regalloc: no COMPILE_ARGS in build_ffi.py")


def ira_summary(cc: str) -> dict[str, int]:
    """IRA's counts for `run`: regions, blocks, allocnos and conflicts (0 conflicts: no conflict graph)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            cc,
            *compile_args(),
            "-fPIC",
            f"-I{NATIVE}",
            f"-I{sysconfig.get_paths()['include']}",
            "-fdump-rtl-ira",
            "-c",
            str(NATIVE / "wr_interp.c"),
            "-o",
            str(Path(tmp) / "wr_interp.o"),
        ]
        subprocess.run(cmd, check=True, cwd=tmp)
        dumps = list(Path(tmp).glob("*.ira"))
        if not dumps:
            raise SystemExit(f"check_regalloc: {cc} wrote no IRA dump (not GCC?)")
        text = dumps[0].read_text(errors="replace")
    start = re.search(r"^;; Function run \(", text, re.M)
    if start is None:
        raise SystemExit("check_regalloc: no function `run` in the IRA dump")
    section = text[start.end() :]
    end = re.search(r"^;; Function ", section, re.M)
    section = section[: end.start()] if end else section
    m = re.search(r"regions=(\d+), blocks=(\d+), points=\d+\s+allocnos=(\d+) .*?conflicts=(\d+)", section)
    if m is None:
        raise SystemExit("check_regalloc: IRA's summary of `run` not found")
    return dict(zip(("regions", "blocks", "allocnos", "conflicts"), map(int, m.groups()), strict=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cc", default="gcc", help="the GCC to compile with (default: gcc)")
    args = ap.parse_args()
    try:
        s = ira_summary(args.cc)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    print(f"run: {s['blocks']} blocks, {s['allocnos']} allocnos, {s['regions']} regions, {s['conflicts']} conflicts")
    if s["conflicts"] == 0:
        # In the simplified mode IRA's allocnos are the used pseudos: the product it compared with 2**26.
        product = s["blocks"] * s["allocnos"]
        print(
            f"check_regalloc: GCC allocated the run loop's registers with its simplified allocator "
            f"(blocks x pseudos = {product:,} >= 2**26 = {2**26:,}): shrink the loop (docs/interpreter.md, "
            f'"The run loop\'s size")',
            file=sys.stderr,
        )
        return 1
    print("check_regalloc: full register allocation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
