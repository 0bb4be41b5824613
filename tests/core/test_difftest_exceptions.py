"""tools/difftest.py's --wasm3 on exception handling: both engines must report the same, meaningful outcomes.

An exception that escapes a call (or instantiation) names its tag (imported, exported, or one of the module's
own) and carries its payload; imported tags are stubs of the asked type; exnref arguments, results, globals and
tables pass through the adapter modules as whether they are null; throw_ref of a null is a null-reference trap.
"""

from __future__ import annotations

import struct
from types import ModuleType
from typing import Any

import pytest
from difftest_module import load_difftest, run_both

EXCEPTIONS = """(module
  (tag $t (import "a" "t") (param i32 f64))
  (tag $v (import "a" "v") (param v128 exnref))
  (tag $u (param i64 f32))
  (tag $e (export "etag") (param i32))
  (import "a" "h" (func $h (param exnref i32) (result exnref)))
  (global (import "a" "g") (mut exnref))
  (table (import "a" "tb") 1 exnref)
  (global $gl (export "gl") (mut exnref) (ref.null exn))
  (table $tx (export "tx") 3 exnref)
  (func (export "imported") i32.const 5 f64.const 1.5 throw $t)
  (func (export "own") i64.const 7 f32.const nan throw $u)
  (func (export "exported") i32.const 9 throw $e)
  (func (export "v128") v128.const i32x4 1 2 3 4 ref.null exn throw $v)
  (func (export "caught") (param exnref) (result exnref i32)
    (block $b (result exnref) (try_table (catch_all_ref $b) (i32.const 3) (throw $e)) unreachable)
    (global.set $gl) (global.get $gl) (i32.const 1)
    (table.set $tx (i32.const 1) (global.get $gl))
    (ref.null exn) (i32.const 2) (call $h) (drop))
  (func (export "null_throw_ref") (ref.null exn) throw_ref)
)"""

START = """(module
  (tag $t (import "a" "t") (param i32))
  (func $start i32.const 11 throw $t)
  (start $start)
)"""


@pytest.fixture(scope="module")
def difftest() -> ModuleType:
    pytest.importorskip("wasmtime")
    return load_difftest("difftest", _wasm3=True)


def test_escaping_exceptions_compare(difftest: ModuleType, wat: Any) -> None:
    ours, ref = run_both(difftest, wat(EXCEPTIONS))
    assert difftest.differences(ours, ref) == []
    calls = dict(ours.calls)
    f64_15 = struct.unpack("<Q", struct.pack("<d", 1.5))[0]
    assert calls["imported"] == f"exception: import 0 (5, {f64_15})"
    assert calls["own"] == "exception: a module's tag (7, 'nan')"
    assert calls["exported"] == "exception: export etag (9,)"
    assert calls["v128"] == "exception: import 1 ('v128:00000004000000030000000200000001', 'null')"
    assert calls["caught"] == ("ref", 1)
    assert calls["null_throw_ref"] == "trap: null reference"
    assert ours.hostcalls == [(2, ("null", 2))]
    assert ours.globals["gl"] == "ref"
    assert ours.tables["tx"] == difftest.table_summary(3, ["null", "ref", "null"])
    assert ours.tags == {"etag": ("i32",)}


def test_exception_from_the_start_function(difftest: ModuleType, wat: Any) -> None:
    ours, ref = run_both(difftest, wat(START))
    assert ours.instantiate == ref.instantiate == "exception: import 0 (11,)"


def test_a_different_payload_is_a_difference(difftest: ModuleType, wat: Any) -> None:
    ours, _ = run_both(difftest, wat(START))
    _, ref = run_both(difftest, wat(START.replace("i32.const 11", "i32.const 12")))
    assert difftest.differences(ours, ref) == [
        "instantiate: ours 'exception: import 0 (11,)', wasmtime 'exception: import 0 (12,)'"
    ]
