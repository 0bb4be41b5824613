"""The WebAssembly spec test suite (Wasm 2.0 core set from ../shared), one test per script.

Every script runs in a child process (a crash in the C core fails that script,
not the session). A script's test fails when a command fails that is not in
spectest_known_failures.json (the known failures are data, each with its
reason); the module-level bar asserts the overall pass rate.

The threads proposal's suites (threads-proposal, threads-litmus) must pass
entirely, with no known failures, under the default schedule and under
several seeds of SeededPolicy: a litmus test's result must be one it allows
whatever the interleaving.

Refresh the known failures after a fix: `python tests/test_spectest.py --update`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from wasmroutines.spectest.isolate import run_many_isolated
from wasmroutines.spectest.outcome import FAILED, PASSED, FileResult

HERE = Path(__file__).resolve().parent
SPECTEST = HERE.parent.parent / "shared" / "spectest"
CORE = SPECTEST / "core"
KNOWN = HERE / "spectest_known_failures.json"
SCRIPTS = sorted(CORE.rglob("*.json")) if CORE.is_dir() else []
BAR = 0.995  # the goal: >= 99.5% of the core set passes
TIMEOUT = 60.0  # seconds per command
#: None: the default (fair) schedule; the rest are SeededPolicy seeds, each a different interleaving.
SEEDS: tuple[int | None, ...] = (None, 1, 2, 3, 42, 20240601)
#: (script, seed): the litmus scripts (which run threads) under every seed, the proposal's (no threads) once.
THREAD_RUNS: list[tuple[Path, int | None]] = [
    *((p, None) for p in sorted((SPECTEST / "threads-proposal").rglob("*.json"))),
    *((p, seed) for p in sorted((SPECTEST / "threads-litmus").rglob("*.json")) for seed in SEEDS),
]

needs_core = pytest.mark.skipif(not SCRIPTS, reason=f"spec tests not found at {CORE}")
needs_threads = pytest.mark.skipif(not THREAD_RUNS, reason=f"threads spec tests not found in {SPECTEST}")


def known_failures() -> dict[str, dict[str, str]]:
    """{"core/f32": {"2456": "reason", ...}, ...}"""
    return json.loads(KNOWN.read_text()) if KNOWN.exists() else {}


def run_all() -> dict[str, FileResult]:
    jobs = max(1, os.cpu_count() or 1)
    return {str(r.path): r for r in run_many_isolated(SCRIPTS, jobs=jobs, timeout=TIMEOUT)}


@pytest.fixture(scope="module")
def results() -> dict[str, FileResult]:
    return run_all()


@needs_core
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(script: Path, results: dict[str, FileResult]) -> None:
    result = results[str(script)]
    known = known_failures().get(result.name, {})
    unexpected = [o for o in result.outcomes if o.status == FAILED and str(o.line) not in known]
    assert not unexpected, f"{result.summary()}\n" + "\n".join(
        f"  line {o.line} {o.command}: {o.reason}" for o in unexpected
    )


@needs_core
def test_pass_rate(results: dict[str, FileResult]) -> None:
    passed = sum(r.passed for r in results.values())
    total = sum(len(r.outcomes) for r in results.values())
    assert total > 0
    rate = passed / total
    assert rate >= BAR, f"{passed} of {total} commands passed ({rate:.3%}), below the {BAR:.1%} bar"


@pytest.fixture(scope="module")
def thread_results() -> dict[tuple[str, int | None], FileResult]:
    jobs = max(1, os.cpu_count() or 1)
    return {
        (str(r.path), seed): r
        for seed in SEEDS
        for r in run_many_isolated([p for p, s in THREAD_RUNS if s == seed], jobs=jobs, timeout=TIMEOUT, seed=seed)
    }


@needs_threads
@pytest.mark.parametrize(
    ("script", "seed"),
    THREAD_RUNS,
    ids=[f"{p.parent.parent.name}/{p.stem}-{'fair' if s is None else f'seed{s}'}" for p, s in THREAD_RUNS],
)
def test_threads_script(
    script: Path, seed: int | None, thread_results: dict[tuple[str, int | None], FileResult]
) -> None:
    result = thread_results[(str(script), seed)]
    assert result.outcomes, f"{result.name}: nothing ran"
    bad = [o for o in result.outcomes if o.status != PASSED]
    assert not bad, f"{result.summary()} (seed {seed})\n" + "\n".join(
        f"  line {o.line} {o.command}: {o.status}: {o.reason}" for o in bad
    )


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
