"""cffi build script for the C core: API mode, out of line.

setup.py names it in `cffi_modules`; `pip install .` runs it. The cdef is a
file (wr_api.cdef, mirroring wr_api.h) and the C sources come from
sources.txt, the list CMakeLists.txt reads too.

Extra compiler and linker flags come from the environment: setuptools adds
$CFLAGS to every compile and link and $LDFLAGS to the link, e.g.
tools/sanitize_spectest.sh builds with CFLAGS="-fsanitize=address,undefined ...".
"""

from __future__ import annotations

import os
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent


def _rel(path: Path) -> str:
    # Relative paths keep object files inside setuptools' build folder.
    return os.path.relpath(path, Path.cwd())


def read_sources(listing: Path) -> list[Path]:
    """The C files named in sources.txt (text after '#' is a comment)."""
    sources = []
    for line in listing.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            sources.append(listing.parent / name)
    return sources


# -ffp-contract=off: wasm rounds every float operation; a fused multiply-add (GCC contracts a*b+c by default
# where the target has FMA, as on ARM64) would give other bits on other machines.
# -fno-tree-slp-vectorize: GCC 12's -O2 pairs the run loop's pc and fp into vector registers (from the
# stores that save them before a call or a collection), then factors every handler's computed goto into one
# shared jump with the pair's shuffles before it, too long to be duplicated back: ~11 more instructions per
# dispatched instruction (callgrind: micro loop 183M -> 339M instructions). docs/interpreter.md, "Instructions
# defined once".
# The run loop is compiled with them by tools/check_regalloc.py too.
COMPILE_ARGS = ["-std=gnu11", "-O2", "-ffp-contract=off", "-fno-tree-slp-vectorize"]

ffibuilder = FFI()
ffibuilder.cdef((HERE / "wr_api.cdef").read_text())
ffibuilder.set_source(
    "wasmroutines._native._core",
    '#include "wr_api.h"\n',
    sources=[_rel(p) for p in read_sources(HERE / "sources.txt")],
    include_dirs=[_rel(HERE)],
    depends=[_rel(p) for p in sorted([*HERE.glob("*.h"), *HERE.glob("*.inc")])],
    extra_compile_args=COMPILE_ARGS,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
