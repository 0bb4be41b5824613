"""The official WebAssembly 3.0 suite (../shared/spectest/wasm-3.0), one test per script, as a ratchet.

Issue 19 brings the core to the whole of 3.0; until then some commands fail. Which ones is data:
tests/spectest_known_failures_3.json lists, per script, the lines of the commands that fail today (the
features not implemented yet). A script's test fails when a command fails that is not listed (a
regression), and when a listed one passes (the list is stale: refresh it, so that it only shrinks):
`PYTHONPATH=tests python tests/core/test_spectest_wasm3.py --update`. Misclassified modules count as failures
(spectest/script.py), as everywhere.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from test_spectest import SPECTEST, TIMEOUT, check_counted, suite_params

from wasmroutines.spectest.isolate import run_many_isolated
from wasmroutines.spectest.outcome import FAILED, FileResult

HERE = Path(__file__).resolve().parent.parent
WASM3 = SPECTEST / "wasm-3.0"
KNOWN = HERE / "spectest_known_failures_3.json"
#: Group folders left out, WR_SPECTEST3_EXCLUDE=simd,...: the sanitizer pass leaves out simd/, which repeats ../simd.
EXCLUDE = {name for name in os.environ.get("WR_SPECTEST3_EXCLUDE", "").split(",") if name}
SCRIPTS = sorted(p for p in WASM3.rglob("*.json") if p.relative_to(WASM3).parts[0] not in EXCLUDE)


def known_failures() -> dict[str, list[int]]:
    """{"wasm-3.0/memory64/load64": [12, 40, ...], ...}"""
    return json.loads(KNOWN.read_text()) if KNOWN.exists() else {}


def run_all() -> dict[str, FileResult]:
    jobs = max(1, os.cpu_count() or 1)
    return {str(r.path): r for r in run_many_isolated(SCRIPTS, jobs=jobs, timeout=TIMEOUT)}


@pytest.fixture(scope="module")
def results() -> dict[str, FileResult]:
    return run_all()


@pytest.mark.parametrize("script", suite_params(WASM3, [(p, None) for p in SCRIPTS], seeded=False))
def test_wasm3_script(script: Path, results: dict[str, FileResult]) -> None:
    result = check_counted(script, results.get(str(script)))
    known = set(known_failures().get(result.name, []))
    failed = {o.line for o in result.outcomes if o.status == FAILED}
    unexpected = [o for o in result.outcomes if o.status == FAILED and o.line not in known]
    assert not unexpected, f"{result.summary()}\n" + "\n".join(
        f"  line {o.line} {o.command}: {o.reason}" for o in unexpected
    )
    stale = sorted(known - failed)
    assert not stale, f"{result.name}: listed failures that pass now (refresh with --update): {stale}"


def _update() -> None:
    if EXCLUDE:
        sys.exit("--update lists the whole suite's failures: unset WR_SPECTEST3_EXCLUDE")
    doc: dict[str, list[int]] = {}
    for r in run_all().values():
        lines = sorted(o.line for o in r.outcomes if o.status == FAILED)
        if lines:
            doc[r.name] = lines
    KNOWN.write_text(json.dumps(doc, sort_keys=True) + "\n")
    print(f"{KNOWN}: {sum(map(len, doc.values()))} failing commands in {len(doc)} scripts")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(__doc__)
    _update()
