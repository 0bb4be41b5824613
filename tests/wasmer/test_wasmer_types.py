"""wasmroutines.wasmer: Type, the type descriptors and Value (WASMER_API.md "Type descriptors and values")."""

from __future__ import annotations

import pytest

from wasmroutines.wasmer import ExportType, FunctionType, GlobalType, ImportType, MemoryType, TableType, Type, Value


def test_type_enum() -> None:
    assert [(t.name, int(t)) for t in Type] == [
        ("I32", 1),
        ("I64", 2),
        ("F32", 3),
        ("F64", 4),
        ("V128", 5),
        ("EXTERN_REF", 6),
        ("FUNC_REF", 7),
        # WebAssembly 3.0's reference types, after wasmer's seven (exnref as wasmer 6 numbers it)
        ("EXCEPTION_REF", 8),
        ("ANY_REF", 9),
        ("EQ_REF", 10),
        ("I31_REF", 11),
        ("STRUCT_REF", 12),
        ("ARRAY_REF", 13),
    ]


def test_function_type() -> None:
    t = FunctionType([Type.I32, 2], [Type.F64])
    assert t.params == [1, 2] and t.results == [4]
    assert all(type(p) is int for p in t.params)
    assert t.params == [Type.I32, Type.I64]
    assert str(t) == "FunctionType(params: [I32, I64], results: [F64])"
    assert str(FunctionType([], [])) == "FunctionType(params: [], results: [])"
    assert str(FunctionType([6, 7], [5])) == "FunctionType(params: [ExternRef, FuncRef], results: [V128])"


@pytest.mark.parametrize("bad", [0, 14, 255])
def test_unknown_type_number(bad: int) -> None:
    with pytest.raises(ValueError, match="^Failed to extract `Type` from `PyAny`$"):
        FunctionType([bad], [])
    with pytest.raises(ValueError, match="^Failed to extract `Type` from `PyAny`$"):
        GlobalType(bad, True)


@pytest.mark.parametrize(
    ("bad", "error"), [(-1, OverflowError), (256, OverflowError), ("i32", TypeError), (1.0, TypeError)]
)
def test_not_a_type_number(bad: object, error: type) -> None:
    # As wasmer reads a Type: a byte first (pyo3's u8), then a known number.
    with pytest.raises(error):
        FunctionType([bad], [])  # type: ignore[list-item]


def test_memory_type() -> None:
    t = MemoryType(17)
    assert (t.minimum, t.maximum, t.shared) == (17, None, False)
    assert str(t) == "MemoryType(minimum: 17, maximum: None, shared: false)"
    assert str(MemoryType(1, 2)) == "MemoryType(minimum: 1, maximum: Some(2), shared: false)"
    assert MemoryType(minimum=1, maximum=3, shared=True).shared is True
    with pytest.raises(OverflowError):
        MemoryType(-1)
    with pytest.raises(TypeError):
        MemoryType("1")  # type: ignore[arg-type]


def test_global_type() -> None:
    t = GlobalType(Type.I32, True)
    assert (t.type, t.mutable) == (Type.I32, True)
    assert str(t) == "GlobalType(type: I32, mutable: true)"
    assert str(GlobalType(4, False)) == "GlobalType(type: F64, mutable: false)"


def test_table_type() -> None:
    t = TableType(Type.FUNC_REF, 0)
    assert (t.type, t.minimum, t.maximum) == (Type.FUNC_REF, 0, None)
    assert str(t) == "TableType(type: FuncRef, minimum: 0, maximum: None)"
    assert str(TableType(Type.EXTERN_REF, 1, 4)) == "TableType(type: ExternRef, minimum: 1, maximum: Some(4))"


def test_export_and_import_types() -> None:
    e = ExportType("f", FunctionType([], []))
    assert (e.name, str(e.type)) == ("f", "FunctionType(params: [], results: [])")
    i = ImportType("env", "m", MemoryType(1))
    assert (i.module, i.name, i.type) == ("env", "m", MemoryType(1))
    assert ExportType("f", "any object").type == "any object"  # type: ignore[arg-type]  # as wasmer
    with pytest.raises(TypeError):
        ImportType(1, "m", MemoryType(1))  # type: ignore[arg-type]


def test_descriptors_are_read_only() -> None:
    with pytest.raises(AttributeError):
        MemoryType(1).minimum = 2  # type: ignore[misc]


def test_value_has_no_constructor() -> None:
    with pytest.raises(TypeError):
        Value()
    with pytest.raises(TypeError):
        Value(42)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Value.i32(42), "I32(42)"),
        (Value.i32(-(2**31)), "I32(-2147483648)"),
        (Value.i64(42), "I64(42)"),
        (Value.f32(4.2), "F32(4.2)"),
        (Value.f32(42), "F32(42.0)"),
        (Value.f32(0.1), "F32(0.1)"),
        (Value.f64(4.2), "F64(4.2)"),
        (Value.f32(float("inf")), "F32(inf)"),
        (Value.f32(float("-inf")), "F32(-inf)"),
        (Value.f32(float("nan")), "F32(NaN)"),
        (Value.f64(1e100), "F64(1" + "0" * 100 + ".0)"),
        (Value.f64(-0.0), "F64(-0.0)"),
        (Value.f64(1.5e-7), "F64(0.00000015)"),
        (Value.v128(2**128 - 1), "V128(340282366920938463463374607431768211455)"),
    ],
)
def test_value_repr(value: Value, text: str) -> None:
    assert repr(value) == text


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (Value.i32, 2**31),
        (Value.i32, -(2**31) - 1),
        (Value.i64, 2**63),
        (Value.v128, 2**128),
        (Value.v128, -1),
    ],
)
def test_value_out_of_range(make: object, bad: int) -> None:
    with pytest.raises(OverflowError):
        make(bad)  # type: ignore[operator]


def test_value_type_errors() -> None:
    with pytest.raises(TypeError):
        Value.i32(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Value.f64("1")  # type: ignore[arg-type]


def test_value_f32_is_rounded() -> None:
    assert Value.f32(0.1).value == 0.10000000149011612
    assert Value.f32(1.5).type is Type.F32


_REFS_WAT = """(module
  (type $s (func))
  (tag $t (param i32))
  (func (export "thr") (param i32) local.get 0 throw $t)
  (func (export "same") (param exnref) (result exnref) local.get 0)
  (func (export "payload") (param exnref) (result i32)
    (block $b (result i32) (try_table (catch $t $b) (local.get 0) throw_ref) (i32.const -1)))
  (func (export "kinds") (param anyref i31ref (ref null $s) nullexternref structref arrayref) (result eqref)
    ref.null eq)
  (func (export "i31") (param i32) (result i31ref) local.get 0 ref.i31)
  (func (export "any") (param anyref) (result anyref) local.get 0))"""


def test_3_0_reference_types_show_by_kind() -> None:
    """A module using WebAssembly 3.0's reference types can be inspected: each shows as its Type (a typed function
    reference as FUNC_REF, a bottom type as its hierarchy's), not a crash."""
    from wasmroutines.wasmer import Module, Store

    types = {e.name: e.type for e in Module(Store(), _REFS_WAT).exports}
    assert types["same"].params == [Type.EXCEPTION_REF] and types["same"].results == [Type.EXCEPTION_REF]
    assert types["kinds"].params == [
        Type.ANY_REF,
        Type.I31_REF,
        Type.FUNC_REF,
        Type.EXTERN_REF,
        Type.STRUCT_REF,
        Type.ARRAY_REF,
    ]
    assert types["kinds"].results == [Type.EQ_REF]
    assert str(types["same"]) == "FunctionType(params: [ExceptionRef], results: [ExceptionRef])"
    # and back: a host function typed with them
    assert FunctionType([Type.EXCEPTION_REF, Type.ANY_REF], [Type.I31_REF]).params == [8, 9]


def test_exnref_values_are_wasm_exceptions() -> None:
    """An exnref argument is a WasmException (the one Python caught), not an externref host object: wasm gets the
    exception itself back, can rethrow and catch it; another object is a TypeError."""
    from wasmroutines import WasmException
    from wasmroutines.wasmer import Instance, Module, Store

    exports = Instance(Module(Store(), _REFS_WAT)).exports
    with pytest.raises(WasmException) as caught:
        exports.thr(41)
    exc = caught.value
    assert exports.same(exc) is exc
    assert exports.same(None) is None
    assert exports.payload(exc) == 41
    with pytest.raises(TypeError, match="WasmException"):
        exports.same(object())


def test_any_hierarchy_values() -> None:
    from wasmroutines import I31
    from wasmroutines.wasmer import Instance, Module, Store

    exports = Instance(Module(Store(), _REFS_WAT)).exports
    assert exports.i31(7) == I31(7)
    host = object()
    assert exports.any(host) is host and exports.any(exports.i31(-1)) == I31(-1)


_CONCRETE_TYPES = """
  (type $f (func (param i32)))
  (type $s (struct (field i32)))
  (type $a (array (mut i8)))"""
_CONCRETE_WAT = f"""(module {_CONCRETE_TYPES}
  (tag $t (export "t") (param (ref null $s) (ref null $a)))
  (global (export "gs") (mut (ref null $s)) (ref.null $s))
  (global (export "ga") (ref null $a) (ref.null $a))
  (table (export "ts") 2 (ref null $s))
  (table (export "tf") 1 (ref null $f))
  (func (export "f") (param (ref null $s) (ref $a) (ref null $f)) (result (ref null $a) (ref null $s))
    (ref.null $a) (ref.null $s)))"""
_CONCRETE_IMPORTS_WAT = f"""(module {_CONCRETE_TYPES}
  (import "env" "g" (global (ref null $s)))
  (import "env" "h" (func (param (ref null $a)) (result (ref null $f))))
  (import "env" "t" (table 1 (ref null $a))))"""


def test_concrete_struct_and_array_types_show_as_struct_ref_and_array_ref() -> None:
    """A concrete reference type `(ref null? $t)` shows as what $t is: STRUCT_REF, ARRAY_REF or FUNC_REF, in a
    module's export and import types and in the types of the objects an instance exports."""
    from wasmroutines.wasmer import Instance, Module, Store

    store = Store()
    module = Module(store, _CONCRETE_WAT)
    want_f = ([Type.STRUCT_REF, Type.ARRAY_REF, Type.FUNC_REF], [Type.ARRAY_REF, Type.STRUCT_REF])
    exports = {e.name: e.type for e in module.exports}
    assert (exports["f"].params, exports["f"].results) == want_f
    assert exports["gs"].type == Type.STRUCT_REF and exports["ga"].type == Type.ARRAY_REF
    assert exports["ts"].type == Type.STRUCT_REF and exports["tf"].type == Type.FUNC_REF
    assert exports["t"].params == [Type.STRUCT_REF, Type.ARRAY_REF]
    assert str(exports["f"]) == "FunctionType(params: [StructRef, ArrayRef, FuncRef], results: [ArrayRef, StructRef])"
    imports = {i.name: i.type for i in Module(store, _CONCRETE_IMPORTS_WAT).imports}
    assert imports["g"].type == Type.STRUCT_REF and imports["t"].type == Type.ARRAY_REF
    assert (imports["h"].params, imports["h"].results) == ([Type.ARRAY_REF], [Type.FUNC_REF])

    # the objects' types name the store's type ids, which the store resolves
    e = Instance(module).exports
    assert (e.f.type.params, e.f.type.results) == want_f
    assert e.gs.type.type == Type.STRUCT_REF and e.ga.type.type == Type.ARRAY_REF
    assert e.ts.type.type == Type.STRUCT_REF and e.tf.type.type == Type.FUNC_REF
    assert e.t.type.params == [Type.STRUCT_REF, Type.ARRAY_REF]
