"""Regression cases under tests/regressions/: each NAME.wasm with NAME.expect.json (the outcome
wasmtime gave when the case was saved: validation verdict, or every export's results, host calls,
final memories, globals and tables) must still come out the same. NAME.txt says what broke.

The cases come from tools/difftest.py (saved disagreements) and from hand-written reductions; the
C fuzz targets replay the same files under ctest. No wasmtime needed here: the expectation is saved.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CASES = sorted((ROOT / "tests" / "regressions").glob("*.expect.json"))


def _difftest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("difftest", ROOT / "tools" / "difftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("difftest", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("expect", CASES, ids=[p.name.removesuffix(".expect.json") for p in CASES])
def test_regression(expect: Path) -> None:
    wasm = expect.with_name(expect.name.removesuffix(".expect.json") + ".wasm").read_bytes()
    diffs = _difftest().check_expectation(wasm, json.loads(expect.read_text()))
    assert not diffs, "\n".join(diffs)


def test_cases_are_complete() -> None:
    """Every saved module has its expectation and its note."""
    for wasm in (ROOT / "tests" / "regressions").glob("*.wasm"):
        stem = wasm.name.removesuffix(".wasm")
        assert wasm.with_name(stem + ".expect.json").exists(), f"{wasm.name}: no .expect.json"
        assert wasm.with_name(stem + ".txt").exists(), f"{wasm.name}: no .txt note"
