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


GC_CASE = ROOT / "tests" / "regressions" / "gc-struct-array-results"


def test_a_gc_case_replays_in_its_mode() -> None:
    """A case saved under --gc carries its mode, and its replay runs in it (the adapters built from the module's
    types), then leaves the mode it found; a different answer is a difference."""
    difftest = _difftest()
    wasm = GC_CASE.with_suffix(".wasm").read_bytes()
    expected = json.loads(GC_CASE.with_suffix(".expect.json").read_text())
    assert expected["mode"] == ["--wasm3", "--gc"]
    assert difftest.check_expectation(wasm, expected) == []
    assert difftest.mode() == [] and difftest._TYPES is None
    point = expected["run"]["calls"][0]
    assert point[0] == "point" and point[1][0].startswith("struct:0#")  # the struct its first export returns
    point[1][0] = "struct:0#0"
    assert [d.split(":")[0] for d in difftest.check_expectation(wasm, expected)] == ["calls"]
    # Without its mode it is a plain case: GC's types are not in Wasm 2.0.
    del expected["mode"]
    assert difftest.check_expectation(wasm, expected)[0].startswith("validation: ours False")


def test_mode_flags() -> None:
    difftest = _difftest()
    with difftest.in_mode(["--gc", "--threads"]):
        assert difftest.mode() == ["--threads", "--gc"]
        assert "--gc-enabled=true" in difftest._flags and "--threads-enabled=true" in difftest._flags
    assert difftest.mode() == []
    with pytest.raises(ValueError, match="--gc3"):
        difftest.set_mode(["--gc3"])
