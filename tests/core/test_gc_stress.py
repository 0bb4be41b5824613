"""The spec suite's scripts that keep references (tables, globals, element segments, select) with the store's
externref handles collected at every safe point (every call from Python, every host call): a root missed
anywhere (a table, a global, a frame) loses a handle between two commands, and a command fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import needs_shared

CORE = Path(__file__).resolve().parents[3] / "shared" / "spectest" / "core"
FOLDERS = [
    CORE / name
    for name in ("table_get", "table_set", "table_grow", "table_fill", "table_copy", "table_init", "table", "global")
] + [CORE / name for name in ("ref_null", "ref_is_null", "ref_func", "select", "bulk", "elem", "linking")]
# GC's structs and arrays: every allocation in wasm runs a step of the collector with a budget of an object or two
# (wr_api_gc_stress mode 1: cycles end every few allocations, so a write barrier missed frees a live object), or a
# whole collection (mode 2: a root a stack map misses at an allocating instruction frees a live object there).
WASM3 = CORE.parent / "wasm-3.0"
FOLDERS += [
    WASM3 / "gc" / name
    for name in (
        "array",
        "array_copy",
        "array_fill",
        "array_init_data",
        "array_init_elem",
        "array_new_data",
        "array_new_elem",
        "br_on_cast",
        "br_on_cast_fail",
        "extern",
        "i31",
        "ref_cast",
        "ref_eq",
        "ref_test",
        "struct",
        "type-subtyping",
    )
] + [WASM3 / "exceptions"]

STRESS = """
import sys
from wasmroutines.core import store
from wasmroutines.spectest.cli import main

MODE = int(sys.argv.pop(1))
store.Store._gc_due = property(lambda s: True, lambda s, v: None)  # a collection at every safe point
init = store.Store.__init__
def stressed(self, *args, **kwargs):
    init(self, *args, **kwargs)
    store.lib.wr_api_gc_stress(self._native.ptr, MODE)  # and at every allocation in wasm
store.Store.__init__ = stressed
collections = [0]
gc = store.Store.gc
def counted(self):
    collections[0] += 1
    return gc(self)
store.Store.gc = counted
sys.argv = ["spectest", *sys.argv[1:]]
try:
    main()
finally:
    print("collections:", collections[0])
"""


@needs_shared(*FOLDERS)
@pytest.mark.parametrize("mode", [1, 2], ids=["incremental", "whole"])
def test_the_spec_suite_with_a_collection_at_every_safe_point(mode: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", STRESS, str(mode), *map(str, FOLDERS)], capture_output=True, text=True, timeout=600
    ).stdout
    lines = out.splitlines()
    assert lines[-2].endswith(" passed, 0 failed, 0 skipped"), out[-2000:]
    assert int(lines[-1].split()[1]) > 1000
