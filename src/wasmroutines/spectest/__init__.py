"""The WebAssembly spec test runner: `python -m wasmroutines.spectest PATH...`.

Runs the JSON scripts `wasm-tools json-from-wast` writes (wabt's layout): each
command is counted exactly once as passed, failed or skipped, and skips carry
their reason.
"""

from .outcome import FileResult, Outcome
from .script import run_script

__all__ = ["FileResult", "Outcome", "run_script"]
