"""The spec suite's scripts that keep references (tables, globals, element segments, select) with the store's
externref handles collected at every safe point (every call from Python, every host call): a root missed
anywhere (a table, a global, a frame) loses a handle between two commands, and a command fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import needs_shared

CORE = Path(__file__).resolve().parents[3] / "shared" / "spectest" / "core"
FOLDERS = [
    CORE / name
    for name in ("table_get", "table_set", "table_grow", "table_fill", "table_copy", "table_init", "table", "global")
] + [CORE / name for name in ("ref_null", "ref_is_null", "ref_func", "select", "bulk", "elem", "linking")]

STRESS = """
import sys
from wasmroutines.core import store
from wasmroutines.spectest.cli import main

store.Store._gc_due = property(lambda s: True, lambda s, v: None)  # a collection at every safe point
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
def test_the_spec_suite_with_a_collection_at_every_safe_point() -> None:
    out = subprocess.run(
        [sys.executable, "-c", STRESS, *map(str, FOLDERS)], capture_output=True, text=True, timeout=600
    ).stdout
    lines = out.splitlines()
    assert lines[-2].endswith(" passed, 0 failed, 0 skipped"), out[-2000:]
    assert int(lines[-1].split()[1]) > 1000
