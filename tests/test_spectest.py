"""The WebAssembly spec test suite (Wasm 2.0 core set from ../shared), one test per script.

Every script runs in a child process (a crash in the C core fails that script,
not the session). A script's test fails when a command fails that is not in
spectest_known_failures.json (the known failures are data, each with its
reason); the module-level bar asserts the overall pass rate.

Refresh the known failures after a fix: `python tests/test_spectest.py --update`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from wasmroutines.spectest.isolate import run_many_isolated
from wasmroutines.spectest.outcome import FAILED, FileResult

HERE = Path(__file__).resolve().parent
CORE = HERE.parent.parent / "shared" / "spectest" / "core"
KNOWN = HERE / "spectest_known_failures.json"
SCRIPTS = sorted(CORE.rglob("*.json")) if CORE.is_dir() else []
BAR = 0.995  # the goal: >= 99.5% of the core set passes
TIMEOUT = 60.0  # seconds per command

pytestmark = pytest.mark.skipif(not SCRIPTS, reason=f"spec tests not found at {CORE}")


def known_failures() -> dict[str, dict[str, str]]:
    """{"core/f32": {"2456": "reason", ...}, ...}"""
    return json.loads(KNOWN.read_text()) if KNOWN.exists() else {}


def run_all() -> dict[str, FileResult]:
    jobs = max(1, os.cpu_count() or 1)
    return {str(r.path): r for r in run_many_isolated(SCRIPTS, jobs=jobs, timeout=TIMEOUT)}


@pytest.fixture(scope="module")
def results() -> dict[str, FileResult]:
    return run_all()


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(script: Path, results: dict[str, FileResult]) -> None:
    result = results[str(script)]
    known = known_failures().get(result.name, {})
    unexpected = [o for o in result.outcomes if o.status == FAILED and str(o.line) not in known]
    assert not unexpected, f"{result.summary()}\n" + "\n".join(
        f"  line {o.line} {o.command}: {o.reason}" for o in unexpected
    )


def test_pass_rate(results: dict[str, FileResult]) -> None:
    passed = sum(r.passed for r in results.values())
    total = sum(len(r.outcomes) for r in results.values())
    assert total > 0
    rate = passed / total
    assert rate >= BAR, f"{passed} of {total} commands passed ({rate:.3%}), below the {BAR:.1%} bar"


def _update() -> None:
    doc: dict[str, dict[str, str]] = {}
    for r in run_all().values():
        failures = {str(o.line): o.reason for o in r.outcomes if o.status == FAILED}
        if failures:
            doc[r.name] = failures
    KNOWN.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"{KNOWN}: {sum(map(len, doc.values()))} known failures in {len(doc)} scripts")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(__doc__)
    _update()
