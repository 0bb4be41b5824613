"""tools/difftest.py (a script, not part of the package) loaded as a module, and both engines' runs of one module."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

TOOL = Path(__file__).resolve().parents[2] / "tools" / "difftest.py"


def load_difftest(name: str, **flags: Any) -> ModuleType:
    """A fresh copy of tools/difftest.py as module `name` (registered in sys.modules, which its dataclasses need),
    with its mode flags set as main() sets them (`_wasm3=True`, `_gc=True`)."""
    spec = importlib.util.spec_from_file_location(name, TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for flag, value in flags.items():
        setattr(module, flag, value)
    module._ENGINE = None  # a wasmtime engine configured for these flags
    return module


def run_both(difftest: ModuleType, wasm: bytes) -> tuple[Any, Any]:
    """What each engine observed running `wasm` (ours, wasmtime's), with the arguments a saved module gets."""
    imports, exports, plan = difftest.plan_for(wasm, random.Random(difftest.FILE_PLAN_SEED))
    return difftest.run_ours(wasm, imports, exports, plan), difftest.run_wasmtime(wasm, imports, exports, plan)
