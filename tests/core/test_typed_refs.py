"""Typed function references (WebAssembly 3.0): `(ref null? ht)` value types, `call_ref`, `return_call_ref`,
`ref.as_non_null`, `br_on_null`, `br_on_non_null`, non-nullable locals, tables with an initializer, and the
Python API's view of them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import (
    Features,
    Function,
    FuncType,
    Global,
    GlobalType,
    HeapType,
    Instance,
    InvalidModule,
    LinkError,
    MalformedModule,
    Module,
    RefType,
    RefTypeError,
    Store,
    Table,
    TableType,
    Tag,
    TagType,
    Trap,
    ValType,
)

I32 = ValType.I32

CALLS = """(module
  (type $ii (func (param i32) (result i32)))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $inc $dbl)
  (table $t 2 (ref $ii) (ref.func $inc))
  (func (export "pick") (param $which i32) (result (ref $ii))
    (if (result (ref $ii)) (local.get $which) (then (ref.func $dbl)) (else (ref.func $inc))))
  (func (export "call") (param $x i32) (param $f (ref null $ii)) (result i32)
    (call_ref $ii (local.get $x) (local.get $f)))
  (func (export "apply_n") (param $x i32) (param $n i32) (param $f (ref $ii)) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (local.get $x))))
    (return_call_ref $apply (call_ref $ii (local.get $x) (local.get $f))
                           (i32.sub (local.get $n) (i32.const 1)) (local.get $f) (ref.func $apply_n)))
  (type $apply (func (param i32 i32 (ref $ii)) (result i32)))
  (func $apply_n (type $apply)
    (if (i32.eqz (local.get 1)) (then (return (local.get 0))))
    (return_call_ref $apply (call_ref $ii (local.get 0) (local.get 2))
                           (i32.sub (local.get 1) (i32.const 1)) (local.get 2) (ref.func $apply_n)))
  (elem declare func $apply_n)
  (func (export "from_table") (param $x i32) (param $i i32) (result i32)
    (call_indirect $t (type $ii) (local.get $x) (local.get $i)))
  (func (export "as_non_null") (param $f (ref null $ii)) (result i32)
    (call_ref $ii (i32.const 10) (ref.as_non_null (local.get $f))))
  ;; 1 when null (br_on_null takes the branch), else the call's result
  (func (export "or_one") (param $f (ref null $ii)) (result i32)
    (block $null
      (return (call_ref $ii (i32.const 5) (br_on_null $null (local.get $f)))))
    (i32.const 1))
  ;; -1 when null, else the call's result, through br_on_non_null carrying the reference
  (func (export "or_minus_one") (param $f (ref null $ii)) (result i32)
    (block $some (result (ref $ii))
      (br_on_non_null $some (local.get $f))
      (return (i32.const -1)))
    (local.set $f)
    (call_ref $ii (i32.const 7) (local.get $f)))
  ;; a non-nullable local, set before it is read
  (func (export "local") (param $which i32) (result i32)
    (local $g (ref $ii))
    (local.set $g (if (result (ref $ii)) (local.get $which) (then (ref.func $dbl)) (else (ref.func $inc))))
    (call_ref $ii (i32.const 20) (local.get $g))))"""


@pytest.fixture
def calls(store: Store, wat: Callable[[str], bytes]) -> Instance:
    return Instance(store, Module(wat(CALLS)))


def test_call_ref_calls_the_function_a_reference_names(calls: Instance) -> None:
    e = calls.exports
    inc, dbl = e.pick(0), e.pick(1)
    assert e.call(5, inc) == 6 and e.call(5, dbl) == 10
    assert e.local(0) == 21 and e.local(1) == 40


def test_a_null_reference_traps_in_call_ref_and_ref_as_non_null(calls: Instance) -> None:
    e = calls.exports
    with pytest.raises(Trap, match="null function reference"):
        e.call(5, None)
    with pytest.raises(Trap, match="null reference"):
        e.as_non_null(None)
    assert e.as_non_null(e.pick(1)) == 20


def test_br_on_null_and_br_on_non_null_branch_on_the_reference(calls: Instance) -> None:
    e = calls.exports
    assert e.or_one(None) == 1 and e.or_one(e.pick(1)) == 10
    assert e.or_minus_one(None) == -1 and e.or_minus_one(e.pick(0)) == 8


def test_a_table_of_non_nullable_references_starts_with_its_initializer(calls: Instance) -> None:
    e = calls.exports
    assert e.from_table(3, 0) == 4 and e.from_table(3, 1) == 4
    table_type = calls.exports.__getattr__("pick").type.results[0]
    assert table_type == RefType(table_type.heap, nullable=False)


def test_return_call_ref_runs_in_a_constant_frame_stack(wat: Callable[[str], bytes]) -> None:
    store = Store(max_call_depth=64)
    e = Instance(store, Module(wat(CALLS))).exports
    assert e.apply_n(0, 100_000, e.pick(0)) == 100_000


def test_function_types_show_reference_types_and_calls_check_them(calls: Instance, store: Store) -> None:
    e = calls.exports
    call_type = e.call.type
    ref = call_type.params[1]
    assert isinstance(ref, RefType) and ref.nullable and isinstance(ref.heap, int)
    apply_type = e.apply_n.type
    assert apply_type.params[2] == RefType(ref.heap, nullable=False)
    assert str(apply_type.params[2]) == f"(ref {ref.heap})"
    # None for a non-nullable parameter, or a function of another type, is a typed error, not a crash.
    with pytest.raises(RefTypeError, match="non-nullable"):
        e.apply_n(0, 1, None)
    other = Function(store, lambda x: x, FuncType((ValType.I64,), (ValType.I64,)))
    with pytest.raises(RefTypeError):
        e.apply_n(0, 1, other)
    # A host function of the right type is a (ref $ii): wasm calls it through call_ref.
    host = Function(store, lambda x: x * 100, FuncType((I32,), (I32,)))
    assert e.apply_n(1, 2, host) == 10_000


def test_uninitialized_non_nullable_locals_are_invalid(wat: Callable[[str], bytes]) -> None:
    read_before_set = """(module (type $t (func))
      (func (local $r (ref $t)) (drop (local.get $r))))"""
    set_in_block_read_after = """(module (type $t (func)) (func $f (type $t)) (elem declare func $f)
      (func (local $r (ref $t)) (block (local.set $r (ref.func $f))) (drop (local.get $r))))"""
    set_then_read = """(module (type $t (func)) (func $f (type $t)) (elem declare func $f)
      (func (local $r (ref $t)) (local.set $r (ref.func $f)) (block (drop (local.get $r)))))"""
    for text in (read_before_set, set_in_block_read_after):
        with pytest.raises(InvalidModule, match="uninitialized local"):
            Module(wat(text))
    Module(wat(set_then_read))


def test_typed_reference_instructions_are_not_constant(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(InvalidModule, match="constant expression required"):
        Module(wat("(module (func $f) (elem declare func $f) (global (ref func) (ref.as_non_null (ref.func $f))))"))


def test_a_table_of_non_nullable_references_needs_an_initializer(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(InvalidModule, match="type mismatch"):
        Module(wat("(module (type $t (func)) (table 1 (ref $t)))"))


def test_imports_match_by_subtyping_and_type_equivalence(store: Store, wat: Callable[[str], bytes]) -> None:
    # Two modules that each define the same recursive type: equivalent, so one's functions fit the other's.
    exporter = Instance(
        store,
        Module(
            wat("""(module
      (type $r (func (param (ref null $r)) (result i32)))
      (func $f (export "f") (type $r) (i32.const 42))
      (global (export "g") (ref $r) (ref.func $f)))""")
        ),
    )
    f, g = exporter.exports.f, exporter.exports.g
    importer = """(module
      (type $r (func (param (ref null $r)) (result i32)))
      (import "m" "f" (func $f (type $r)))
      (import "m" "g" (global $g %s))
      (func (export "run") (result i32) (call_ref $r (ref.null $r) (global.get $g))))"""
    for declared in ("(ref $r)", "(ref null $r)"):
        run = Instance(store, Module(wat(importer % declared)), {"m": {"f": f, "g": g}})
        assert run.exports.run() == 42
    # A supertype of the global's type: an immutable global matches it.
    for declared in ("funcref", "(ref func)"):
        Instance(store, Module(wat(f'(module (import "m" "g" (global {declared})))')), {"m": {"g": g}})
    # A global of another type, or a mutable global for an immutable one, does not match.
    other = Global(store, GlobalType(ValType.EXTERNREF), None)
    with pytest.raises(LinkError):
        Instance(store, Module(wat(importer % "(ref $r)")), {"m": {"f": f, "g": other}})
    assert exporter.exports.g.type.type == RefType(f.type.params[0].heap, nullable=False)
    assert RefType(HeapType.FUNC) is not ValType.FUNCREF


def test_call_indirect_compares_equivalent_types_across_modules(store: Store, wat: Callable[[str], bytes]) -> None:
    table_owner = Instance(
        store,
        Module(
            wat("""(module
      (type $r (func (param (ref null $r)) (result i32)))
      (type $s (func (param (ref null $s) i32) (result i32)))
      (func $f (type $r) (i32.const 7))
      (func $g (type $s) (i32.const 8))
      (table (export "t") funcref (elem $f $g)))""")
        ),
    )
    caller = Instance(
        store,
        Module(
            wat("""(module
      (type $x (func (param (ref null $x)) (result i32)))
      (import "m" "t" (table 2 funcref))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $x) (ref.null $x) (local.get 0))))""")
        ),
        {"m": {"t": table_owner.exports.t}},
    )
    assert caller.exports.call(0) == 7
    with pytest.raises(Trap, match="indirect call type mismatch"):
        caller.exports.call(1)


#: Modules using typed function references (what wr_unsupported.h named before they landed).
USES = [
    "(module (type $t (func)) (func (param (ref null $t))))",
    "(module (type $t (func)) (func (local (ref null $t))))",
    "(module (type $t (func)) (func (result (ref null $t)) (ref.null $t)))",
    "(module (type $t (func)) (table 1 (ref null $t)))",
    "(module (table 1 funcref (ref.null func)))",  # a table with an initializer
    "(module (type $t (func)) (func (call_ref $t (ref.null $t))))",
    "(module (func (result (ref func)) (block (result (ref func)) unreachable)))",
    "(module (type $t (func)) (global (ref null $t) (ref.null $t)))",
    "(module (func (param funcref) (drop (ref.as_non_null (local.get 0)))))",
]


@pytest.mark.parametrize("text", USES)
def test_typed_references_load_and_are_not_webassembly_2_0(wat: Callable[[str], bytes], text: str) -> None:
    data = wat(text)
    Module(data)
    with pytest.raises(MalformedModule, match="not WebAssembly 2.0: typed function references") as info:
        Module(data, features=Features.WASM2)
    assert 8 <= info.value.offset < len(data)


# ---- recursion groups and declared subtypes (the type system GC builds on) ----

REC = """(module
  (rec (type $a (func (param (ref null $b)))) (type $b (func (param (ref null $a)))))
  (type $base (sub (func (result i32))))
  (type $derived (sub final $base (func (result i32))))
  (func $fa (type $a))
  (func $seven (type $derived) (i32.const 7))
  (table (export "t") 2 funcref)
  (elem (i32.const 0) func $fa $seven)
  (func (export "base") (param i32) (result i32) (call_indirect (type $base) (local.get 0)))
  (func (export "take") (param (ref $base)) (result i32) (call_ref $base (local.get 0)))
  (export "seven" (func $seven)))"""


def test_recursion_groups_are_equivalent_across_modules(store: Store, wat: Callable[[str], bytes]) -> None:
    owner = Instance(store, Module(wat(REC)))
    same_group = """(module
      (rec (type $x (func (param (ref null $y)))) (type $y (func (param (ref null $x)))))
      (import "m" "t" (table 2 funcref))
      (func (export "call") (param i32) (call_indirect (type $x) (ref.null $y) (local.get 0))))"""
    other_group = same_group.replace("(rec (type $x", "(rec (type $z (func)) (type $x")
    e = Instance(store, Module(wat(same_group)), {"m": {"t": owner.exports.t}}).exports
    e.call(0)  # $a of the owner's group is $x of this one
    e2 = Instance(store, Module(wat(other_group)), {"m": {"t": owner.exports.t}}).exports
    with pytest.raises(Trap, match="indirect call type mismatch"):
        e2.call(0)  # the same structure in another group is another type


def test_call_indirect_accepts_a_declared_subtype(store: Store, wat: Callable[[str], bytes]) -> None:
    e = Instance(store, Module(wat(REC))).exports
    assert e.base(1) == 7  # $seven is a $derived, a subtype of $base
    assert e.take(e.seven) == 7  # and Python may pass it for a (ref $base)
    with pytest.raises(Trap, match="indirect call type mismatch"):
        e.base(0)


def test_recursion_groups_are_not_webassembly_2_0(wat: Callable[[str], bytes]) -> None:
    for text in ("(module (rec (type (func))))", "(module (type (sub (func))))"):
        data = wat(text)
        Module(data)
        with pytest.raises(MalformedModule, match="not WebAssembly 2.0: recursive types"):
            Module(data, features=Features.WASM2)


def test_a_subtype_must_match_its_supertype(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(InvalidModule, match="sub type"):
        Module(wat("(module (type $f (func)) (type (sub $f (func))))"))  # $f is final
    with pytest.raises(InvalidModule, match="sub type"):
        Module(wat("(module (type $f (sub (func (result i32)))) (type (sub $f (func (result i64)))))"))


@pytest.mark.parametrize(
    "types",
    [
        [2, 0x60, 1, 0x63, 0x01, 0, 0x60, 0, 0],  # type 0 names type 1, of a later group
        [2, 0x50, 1, 1, 0x60, 0, 0, 0x60, 0, 0],  # a supertype after its subtype
        [1, 0x50, 1, 0, 0x60, 0, 0],  # a type its own supertype
        [1, 0x60, 1, 0x63, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0],  # an index past any module
        [1, 0x50, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x60, 0, 0],
    ],
)
def test_types_naming_later_types_are_invalid(types: list[int]) -> None:
    """Canonicalization runs before validation reports these: it must read no type it has not reached."""
    with pytest.raises(InvalidModule, match="unknown type"):
        Module(b"\0asm\1\0\0\0" + bytes([1, len(types)]) + bytes(types))


def test_a_function_for_ref_func(instantiate: Callable[[str], Instance]) -> None:
    """(ref func) takes any function: its heap type is abstract (an IntEnum, not a store type id)."""
    e = instantiate('(module (func $f (export "f")) (func (export "g") (param (ref func)) (result i32) (i32.const 1)))')
    assert e.exports.g(e.exports.f) == 1


@pytest.mark.parametrize("make", ["function", "global", "table", "tag"])
def test_an_object_cannot_name_a_type_its_store_does_not_have(store: Store, make: str) -> None:
    # A host-made object's reference types are its store's: a type index the store does not have is refused with
    # the type named, before the C core (which refuses it too) is asked for the object.
    ref = RefType(5)
    with pytest.raises(RefTypeError, match=r"\(ref null 5\): this store has no type 5"):
        if make == "function":
            Function(store, lambda x: None, FuncType([ref], []))
        elif make == "global":
            Global(store, GlobalType(ref, True), None)
        elif make == "table":
            Table(store, TableType(ref, 1, None), None)
        else:
            Tag(store, TagType([ref]))


def test_the_core_refuses_a_tag_of_a_type_its_store_does_not_have(store: Store) -> None:
    from wasmroutines.core._ffi import NULL, ffi, lib

    params = ffi.new("uint32_t[]", [RefType(5).code])
    assert lib.wr_api_tag_new(store._ptr, params, 1) == NULL
    params = ffi.new("uint32_t[]", [ValType.I32.code, RefType(HeapType.FUNC).code])
    assert lib.wr_api_tag_new(store._ptr, params, 2) != NULL
