"""Where the benchmark programs live: ../shared/bench beside the repository (override with WASMROUTINES_SHARED)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WASMROUTINES_SHARED", ROOT.parent / "shared"))
BENCH = SHARED / "bench"
WASM3_PROGRAMS = BENCH / "wasm3"
MICRO_WAT = BENCH / "micro.wat"
