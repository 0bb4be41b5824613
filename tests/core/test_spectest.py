"""The WebAssembly spec test suite (Wasm 2.0 core set from ../shared), one test per script.

Every script runs in a child process (a crash in the C core fails that script,
not the session). Each command of a script must have exactly one outcome (a
command the child never reported fails, with how the child died), and a
script's test fails when a command fails that is not in
spectest_known_failures.json (the known failures are data, each with its
reason; a known failure that no longer fails is stale and fails too). The bar
is 100%: the file is empty.

The threads proposal's suites (threads-proposal, threads-litmus) must pass
entirely, with no known failures, under the default schedule and under
several seeds of SeededPolicy: a litmus test's result must be one it allows
whatever the interleaving.

When a suite's folder is missing, its test still exists, marked needs_shared:
it fails in CI and is skipped (and counted) locally.

Refresh the known failures after a fix: `python tests/core/test_spectest.py --update`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import needs_shared

from wasmroutines.spectest.isolate import run_many_isolated
from wasmroutines.spectest.outcome import FAILED, PASSED, FileResult
from wasmroutines.spectest.script import flat_commands

HERE = Path(__file__).resolve().parent.parent
#: ../shared/spectest beside the repository, or WR_SPECTEST (the sanitizer pass runs the tests from a copy).
SPECTEST = Path(os.environ.get("WR_SPECTEST") or HERE.parent.parent / "shared" / "spectest")
CORE = SPECTEST / "core"
THREAD_SUITES = (SPECTEST / "threads-proposal", SPECTEST / "threads-litmus")
KNOWN = HERE / "spectest_known_failures.json"
SCRIPTS = sorted(CORE.rglob("*.json"))  # [] when the folder is missing
TIMEOUT = 60.0  # seconds per command
#: None: the default (fair) schedule; the rest are SeededPolicy seeds, each a different interleaving.
SEEDS: tuple[int | None, ...] = (None, 1, 2, 3, 42, 20240601)
#: (script, seed): the litmus scripts (which run threads) under every seed, the proposal's (no threads) once.
THREAD_RUNS: list[tuple[Path, int | None]] = [
    *((p, None) for p in sorted(THREAD_SUITES[0].rglob("*.json"))),
    *((p, seed) for p in sorted(THREAD_SUITES[1].rglob("*.json")) for seed in SEEDS),
]


def suite_params(folder: Path, runs: list[tuple[Path, int | None]], *, seeded: bool) -> list[object]:
    """The parameters for one suite's runs, (script,) or (script, seed), each marked needs_shared(folder).

    A missing folder gives one parameter (the folder itself), not none: an empty list would make no
    test at all, where the mark must fail it in CI."""
    mark = needs_shared(folder)
    params = []
    for path, seed in runs or [(folder, None)]:
        name = f"{path.parent.parent.name}/{path.stem}" if runs else f"{folder.name}/missing"
        if seeded:
            schedule = "fair" if seed is None else f"seed{seed}"
            params.append(pytest.param(path, seed, marks=mark, id=f"{name}-{schedule}"))
        else:
            params.append(pytest.param(path, marks=mark, id=name))
    return params


def known_failures() -> dict[str, dict[str, str]]:
    """{"core/f32": {"2456": "reason", ...}, ...}"""
    return json.loads(KNOWN.read_text()) if KNOWN.exists() else {}


def run_all() -> dict[str, FileResult]:
    jobs = max(1, os.cpu_count() or 1)
    return {str(r.path): r for r in run_many_isolated(SCRIPTS, jobs=jobs, timeout=TIMEOUT)}


def check_counted(script: Path, result: FileResult | None) -> FileResult:
    """The script ran and every command of it has exactly one outcome, in script order."""
    assert result is not None, f"{script}: no result (no scripts in this folder?)"
    want = [(int(c.get("line", 0)), c["type"]) for c in flat_commands(script)]
    got = [(o.line, o.command) for o in result.outcomes]
    first = next((i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w), min(len(got), len(want)))
    assert got == want, (
        f"{result.summary()}: {len(got)} outcomes for {len(want)} commands, first apart at #{first}: "
        f"{got[first : first + 1]} for {want[first : first + 1]}"
    )
    return result


@pytest.fixture(scope="module")
def results() -> dict[str, FileResult]:
    return run_all()


@pytest.mark.parametrize("script", suite_params(CORE, [(p, None) for p in SCRIPTS], seeded=False))
def test_script(script: Path, results: dict[str, FileResult]) -> None:
    result = check_counted(script, results.get(str(script)))
    known = known_failures().get(result.name, {})
    unexpected = [o for o in result.outcomes if o.status == FAILED and str(o.line) not in known]
    assert not unexpected, f"{result.summary()}\n" + "\n".join(
        f"  line {o.line} {o.command}: {o.reason}" for o in unexpected
    )
    stale = sorted(set(known) - {str(o.line) for o in result.outcomes if o.status == FAILED})
    assert not stale, f"{result.name}: known failures that no longer fail (refresh with --update): {stale}"


@pytest.fixture(scope="module")
def thread_results() -> dict[tuple[str, int | None], FileResult]:
    jobs = max(1, os.cpu_count() or 1)
    return {
        (str(r.path), seed): r
        for seed in SEEDS
        for r in run_many_isolated([p for p, s in THREAD_RUNS if s == seed], jobs=jobs, timeout=TIMEOUT, seed=seed)
    }


@pytest.mark.parametrize(
    ("script", "seed"),
    [
        param
        for folder in THREAD_SUITES
        for param in suite_params(folder, [r for r in THREAD_RUNS if folder in r[0].parents], seeded=True)
    ],
)
def test_threads_script(
    script: Path, seed: int | None, thread_results: dict[tuple[str, int | None], FileResult]
) -> None:
    result = check_counted(script, thread_results.get((str(script), seed)))
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
