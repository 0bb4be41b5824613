"""GC's abstract heap types (WebAssembly 3.0): any, eq, i31, struct, array, none, with ref.i31, i31.get_s/u,
ref.eq, the extern conversions and the casts to abstract (and function) types; and their Python values."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import (
    I31,
    FuncType,
    Global,
    GlobalType,
    HeapType,
    Instance,
    InvalidModule,
    Module,
    RefType,
    RefTypeError,
    Store,
    Trap,
    ValType,
)

I31_FUNCS = """(module
  (func (export "new") (param i32) (result i31ref) (ref.i31 (local.get 0)))
  (func (export "get_s") (param i32) (result i32) (i31.get_s (ref.i31 (local.get 0))))
  (func (export "get_u") (param i32) (result i32) (i31.get_u (ref.i31 (local.get 0))))
  (func (export "s") (param i31ref) (result i32) (i31.get_s (local.get 0)))
  (func (export "u") (param i31ref) (result i32) (i31.get_u (local.get 0)))
  (func (export "eq") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
  (func (export "null_get") (result i32) (i31.get_s (ref.null i31)))
  (global (export "g") (ref i31) (ref.i31 (i32.add (i32.const 0x7fffffff) (i32.const 3))))
  (global (export "h") anyref (any.convert_extern (extern.convert_any (ref.i31 (i32.const -5))))))"""


@pytest.mark.parametrize(
    ("value", "signed", "unsigned"),
    [
        (0, 0, 0),
        (1, 1, 1),
        (-1, -1, 0x7FFF_FFFF),
        (0x3FFF_FFFF, 0x3FFF_FFFF, 0x3FFF_FFFF),
        (0x4000_0000, -0x4000_0000, 0x4000_0000),
        (0x7FFF_FFFF, -1, 0x7FFF_FFFF),
        (-0x8000_0000, 0, 0),  # the top bit is dropped
        (0x1234_5678, 0x1234_5678, 0x1234_5678),
    ],
)
def test_ref_i31_keeps_31_bits(instantiate: Callable[[str], Instance], value: int, signed: int, unsigned: int) -> None:
    e = instantiate(I31_FUNCS).exports
    assert e.get_s(value) == signed and e.get_u(value) == unsigned
    got = e.new(value)
    assert isinstance(got, I31) and got == signed
    assert e.s(got) == signed and e.u(got) == unsigned
    assert e.s(unsigned) == signed  # an int is an i31 for i31ref


def test_i31_in_constant_expressions_and_python(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(I31_FUNCS).exports
    assert e.g.value == I31(2) and isinstance(e.g.value, I31)
    assert e.h.value == I31(-5)  # through externref and back, unchanged
    assert repr(I31(0x7FFF_FFFF)) == "I31(-1)"
    with pytest.raises(OverflowError):
        I31(1 << 31)


def test_ref_eq_compares_i31_values_and_null(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(I31_FUNCS).exports
    assert e.eq(I31(7), I31(7)) == 1 and e.eq(7, I31(7)) == 1
    assert e.eq(I31(7), I31(8)) == 0 and e.eq(I31(7), None) == 0 and e.eq(None, None) == 1


def test_i31_get_of_null_traps(instantiate: Callable[[str], Instance]) -> None:
    with pytest.raises(Trap, match="null i31 reference"):
        instantiate(I31_FUNCS).exports.null_get()


CASTS = """(module
  (type $f (func))
  (type $g (func (param i32)))
  (func $nop (type $f))
  (elem declare func $nop)
  (func (export "internalize") (param externref) (result anyref) (any.convert_extern (local.get 0)))
  (func (export "externalize") (param anyref) (result externref) (extern.convert_any (local.get 0)))
  (func (export "is_i31") (param anyref) (result i32) (ref.test (ref i31) (local.get 0)))
  (func (export "is_null_i31") (param anyref) (result i32) (ref.test i31ref (local.get 0)))
  (func (export "is_eq") (param anyref) (result i32) (ref.test (ref eq) (local.get 0)))
  (func (export "is_any") (param anyref) (result i32) (ref.test (ref any) (local.get 0)))
  (func (export "is_nullable_any") (param anyref) (result i32) (ref.test anyref (local.get 0)))
  (func (export "is_struct") (param anyref) (result i32) (ref.test structref (local.get 0)))
  (func (export "is_none") (param anyref) (result i32) (ref.test nullref (local.get 0)))
  (func (export "cast_i31") (param anyref) (result i32) (i31.get_s (ref.cast (ref i31) (local.get 0))))
  (func (export "cast_null_i31") (param anyref) (result i31ref) (ref.cast i31ref (local.get 0)))
  ;; 1 + the i31's value when it is one, else 0 (br_on_cast); the same through br_on_cast_fail
  (func (export "on_cast") (param anyref) (result i32)
    (block $l (result (ref i31))
      (br_on_cast $l anyref (ref i31) (local.get 0))
      (return (i32.const 0)))
    (i31.get_s)
    (i32.add (i32.const 1)))
  (func (export "on_cast_fail") (param anyref) (result i32)
    (drop (block $l (result anyref)
      (return (i32.add (i32.const 1) (i31.get_s (br_on_cast_fail $l anyref (ref i31) (local.get 0)))))))
    (i32.const 0))
  ;; functions: ref.test of a function type
  (func (export "func_is_f") (result i32) (ref.test (ref $f) (ref.func $nop)))
  (func (export "func_is_g") (result i32) (ref.test (ref $g) (ref.func $nop)))
  (func (export "func_is_nofunc") (result i32) (ref.test nullfuncref (ref.func $nop))))"""


def test_externref_into_any_and_back_is_the_same_host_object(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(CASTS).exports
    obj = object()
    assert e.internalize(obj) is obj and e.externalize(obj) is obj
    assert e.internalize(None) is None and e.externalize(I31(3)) == I31(3)
    assert e.internalize(I31(-2)) == I31(-2)  # an i31 made external comes back into any as the i31


def test_ref_test_of_the_abstract_types(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(CASTS).exports
    host = "a host object"
    for value, i31, eq, any_ in ((I31(5), 1, 1, 1), (host, 0, 0, 1), (12, 0, 0, 1), (None, 0, 0, 0)):
        assert (e.is_i31(value), e.is_eq(value), e.is_any(value)) == (i31, eq, any_), value
        assert e.is_nullable_any(value) == 1 and e.is_null_i31(value) == (i31 or value is None)
        assert e.is_struct(value) == (value is None) and e.is_none(value) == (value is None)


def test_ref_cast_traps_on_failure(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(CASTS).exports
    assert e.cast_i31(I31(-9)) == -9
    assert e.cast_null_i31(None) is None
    for value in ("host", None):
        with pytest.raises(Trap, match="cast failure"):
            e.cast_i31(value)
    with pytest.raises(Trap, match="cast failure"):
        e.cast_null_i31("host")


def test_br_on_cast_and_br_on_cast_fail(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(CASTS).exports
    for f in (e.on_cast, e.on_cast_fail):
        assert f(I31(41)) == 42 and f(I31(-1)) == 0
        assert f("host") == 0 and f(None) == 0


def test_ref_test_of_function_types(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(CASTS).exports
    assert (e.func_is_f(), e.func_is_g(), e.func_is_nofunc()) == (1, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        "(func (param externref) (result i32) (ref.eq (local.get 0) (local.get 0)))",  # extern is no eq
        "(func (param anyref) (result i32) (ref.eq (local.get 0) (local.get 0)))",  # nor any
        "(func (param anyref) (result i32) (i31.get_s (local.get 0)))",
        "(func (param funcref) (result i32) (ref.test i31ref (local.get 0)))",  # another hierarchy
        "(func (param externref) (result anyref) (extern.convert_any (local.get 0)))",
        "(func (param i31ref) (result (ref i31)) (local.get 0))",  # nullable is no non-nullable
        "(func (param anyref) (result anyref) (block (result i31ref) (br_on_cast 0 i31ref anyref (local.get 0))))",
        "(func (param anyref) (result eqref) (block (result i31ref) (br_on_cast 0 anyref eqref (local.get 0))))",
    ],
)
def test_invalid_uses_are_type_mismatches(wat: Callable[[str], bytes], body: str) -> None:
    with pytest.raises(InvalidModule, match="type mismatch"):
        Module(wat(f"(module {body})"))


def test_subtyping_in_the_any_hierarchy(wat: Callable[[str], bytes]) -> None:
    Module(
        wat("""(module
      (func (param i31ref structref arrayref nullref) (result anyref eqref eqref eqref)
        (local.get 3) (local.get 0) (local.get 1) (local.get 2))
      (func (param eqref) (result anyref) (local.get 0)))""")
    )


def test_python_values_are_checked(store: Store) -> None:
    assert ValType.ANYREF.top is HeapType.ANY and ValType.I32.top is None
    assert RefType(HeapType.I31, nullable=False).top is HeapType.ANY
    eq = Global(store, GlobalType(ValType.EQREF, True), I31(3))
    assert eq.value == 3
    with pytest.raises(RefTypeError):
        eq.value = "a host object"  # eqref holds no host object
    with pytest.raises(RefTypeError):
        Global(store, GlobalType(ValType.STRUCTREF, True), I31(1))
    with pytest.raises(RefTypeError):
        Global(store, GlobalType(RefType(HeapType.I31, nullable=False), True), None)
    host = [1, 2]
    any_ = Global(store, GlobalType(ValType.ANYREF, True), host)
    assert any_.value is host
    any_.value = 5  # a plain int is a host object for anyref
    assert any_.value == 5 and not isinstance(any_.value, I31)
    assert str(FuncType([ValType.I31REF], [ValType.NULLREF])) == "(func (param i31ref) (result nullref))"


def test_the_wasmer_face_shows_the_any_hierarchy_by_kind(wat: Callable[[str], bytes]) -> None:
    from wasmroutines.wasmer import Instance as WInstance
    from wasmroutines.wasmer import Module as WModule
    from wasmroutines.wasmer import Store as WStore
    from wasmroutines.wasmer import Type

    store = WStore()
    module = WModule(store, wat(I31_FUNCS))
    e = WInstance(module).exports
    assert e.new.type.results == [Type.I31_REF] and e.s.type.params == [Type.I31_REF]
    assert e.new(-3) == I31(-3) and e.s(I31(-3)) == -3 and e.u(5) == 5
