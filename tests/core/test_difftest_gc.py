"""tools/difftest.py's --gc: both engines must report the same, meaningful projection of GC references.

wasmtime-py hands out no GC reference, so the adapter modules (which copy the module's types) lower each to a class
and a value: null, an i31 and its value, a struct or an array and its most specific type among the module's, a
function and its type, an extern and what it holds. Imported functions and tags come from the provider, declared
with the module's own type (a subtype in a recursion group, here), and non-nullable imports get default objects.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from difftest_module import load_difftest, run_both

GC = """(module
  (rec (type $base (sub (struct (field i32))))
       (type $point (sub $base (struct (field i32) (field (mut i64))))))
  (type $bytes (array (mut i8)))
  (rec (type $cb (sub (func (param (ref null $point)) (result (ref $bytes))))) (type $pad (struct)))
  (type $unary (func (param i32) (result i32)))
  (import "a" "cb" (func $cb (type $cb)))
  (import "a" "g" (global $g (ref $point)))
  (import "a" "t" (table 2 (ref $base)))
  (import "a" "tag" (tag $tag (param (ref null $base))))
  (global $gp (export "gp") (mut (ref null $base)) (ref.null $base))
  (table $tp (export "tp") 4 anyref)
  (func $id (export "id") (type $unary) local.get 0)
  (elem declare func $id)
  (func (export "point") (result (ref $base)) (struct.new $point (i32.const 1) (i64.const 2)))
  (func (export "base") (result anyref) (struct.new $base (i32.const 1)))
  (func (export "i31") (result i31ref) (ref.i31 (i32.const -5)))
  (func (export "array") (result eqref) (array.new_default $bytes (i32.const 3)))
  (func (export "func") (result (ref null $unary)) (ref.func $id))
  (func (export "extern") (result externref) (extern.convert_any (ref.i31 (i32.const 9))))
  (func (export "null") (result nullref) (ref.null none))
  (func (export "import") (result i32)
    (drop (call $cb (ref.null $point)))
    (global.set $gp (global.get $g))
    (table.set $tp (i32.const 2) (ref.i31 (i32.const 1)))
    (struct.get $point 1 (global.get $g)) (i32.wrap_i64))
  (func (export "cast") (param anyref) (result i32) (ref.cast (ref $point) (local.get 0)) (drop) (i32.const 1))
  (func (export "throw") (throw $tag (struct.new $base (i32.const 4))))
)"""


@pytest.fixture(scope="module")
def difftest() -> Iterator[ModuleType]:
    pytest.importorskip("wasmtime")
    # Its own copy: --gc's flags stay out of the other tests' difftest. --wasm3 too, for the tags (exceptions).
    yield load_difftest("difftest_gc", _gc=True, _wasm3=True)
    del sys.modules["difftest_gc"]


def test_gc_references_compare(difftest: ModuleType, wat: Any) -> None:
    ours, ref = run_both(difftest, wat(GC))
    assert difftest.differences(ours, ref) == []
    assert ours.instantiate == "ok"
    calls = dict(ours.calls)
    # The most specific of the module's types ($point, not $base), and a digest of the fields.
    assert calls["point"][0].startswith("struct:1#")
    assert calls["base"][0].startswith("struct:0#")
    assert calls["i31"] == ("i31:-5",)
    assert calls["array"][0].startswith("array:2#")
    assert calls["func"] == ("func:5",)
    assert calls["extern"] == ("extern i31:9",)
    assert calls["null"] == ("null",)
    assert calls["import"] == (0,)  # the provider's default $point: (struct.new $point 0 0)
    assert calls["cast"] == "trap: cast failure"  # a null argument
    assert calls["throw"] == "exception: import 3 ('ref',)"
    assert ours.hostcalls == [(0, ("null",))]
    assert ours.globals["gp"].startswith("struct:1#")
    assert ours.tables["tp"] == difftest.table_summary(4, ["null", "null", "ref", "null"])


@pytest.mark.parametrize(
    ("change", "to"),
    [
        ("(struct.new $point (i32.const 1) (i64.const 2))", "(struct.new $base (i32.const 1))"),  # its type
        ("(struct.new $point (i32.const 1) (i64.const 2))", "(struct.new $point (i32.const 1) (i64.const 3))"),
    ],
)
def test_a_different_struct_is_a_difference(difftest: ModuleType, wat: Any, change: str, to: str) -> None:
    ours, _ = run_both(difftest, wat(GC))
    _, ref = run_both(difftest, wat(GC.replace(change, to)))
    (diff,) = difftest.differences(ours, ref)
    assert diff.startswith("call 'point': ours ('struct:1#")


def test_array_digests_read_the_elements(difftest: ModuleType, wat: Any) -> None:
    ours, ref = run_both(difftest, wat(GC))
    _, other = run_both(
        difftest,
        wat(GC.replace("(array.new_default $bytes (i32.const 3))", "(array.new $bytes (i32.const 1) (i32.const 3))")),
    )
    assert difftest.differences(ours, ref) == []
    (diff,) = difftest.differences(ours, other)
    assert diff.startswith("call 'array': ours ('array:2#")


def test_an_uninhabited_import_is_not_run(difftest: ModuleType, wat: Any) -> None:
    wasm = wat('(module (global (import "a" "g") (ref none)))')
    status, diffs, why, _ = difftest.check_run(wasm, random.Random(difftest.FILE_PLAN_SEED))
    assert (status, why) == ("inconclusive", "an uninhabited import")
    assert diffs == ["not run: import 0: a global of (ref none) has no value the provider can make"]


def test_an_allocation_over_both_heaps(difftest: ModuleType, wat: Any) -> None:
    """Both GC heaps are capped (GC_HEAP_LIMIT): a 4 GiB array fails at once, in both the same way."""
    ours, ref = run_both(
        difftest, wat("(module (type $a (array i8)) (global (ref $a) (array.new_default $a (i32.const -1))))")
    )
    assert ours.instantiate == ref.instantiate == "trap: allocation too large"
