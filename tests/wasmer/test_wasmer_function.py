"""wasmroutines.wasmer: Function, host functions, conversions and traps (WASMER_API.md "Function", "Traps").

Host functions here are annotated as wasmer users annotate them, with strings such as "i64" that name no
Python object (hence the file-wide noqa).
"""

# ruff: noqa: F821, UP037

from __future__ import annotations

from typing import Any

import pytest

from wasmroutines.wasmer import Function, FunctionType, Instance, Module, Store, Type

ECHO = """(module
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0)
  (func (export "v128") (param v128) (result v128) local.get 0)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "none"))
  (func (export "multi") (result i32 i64 f32 f64) i32.const -1 i64.const -2 f32.const 0.1 f64.const 0.1)
  (func (export "externref") (param externref) (result externref) local.get 0)
  (func (export "funcref") (param funcref) (result funcref) local.get 0))"""


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def echo(store: Store) -> Any:
    return Instance(Module(store, ECHO)).exports


# ---- conversions into wasm ----


def test_i32_range_and_wrapping(echo: Any) -> None:
    assert echo.i32(-(2**31)) == -(2**31)
    assert echo.i32(2**32 - 1) == -1  # u32 values wrap, results come back signed
    assert echo.i32(True) == 1
    for bad in (2**32, -(2**31) - 1):
        with pytest.raises(OverflowError, match="^out of range integral type conversion attempted$"):
            echo.i32(bad)


def test_i64_range_and_wrapping(echo: Any) -> None:
    assert echo.i64(2**64 - 1) == -1
    assert echo.i64(-(2**63)) == -(2**63)
    with pytest.raises(OverflowError):
        echo.i64(2**64)


def test_float_for_int_param(echo: Any) -> None:
    with pytest.raises(TypeError, match="^'float' object cannot be converted to 'PyLong'$"):
        echo.i32(1.0)
    with pytest.raises(TypeError, match="^'str' object cannot be converted to 'PyLong'$"):
        echo.i64("1")


def test_int_for_float_param_is_strict(echo: Any) -> None:
    with pytest.raises(TypeError, match="^'int' object cannot be converted to 'PyFloat'$"):
        echo.f32(1)
    with pytest.raises(TypeError, match="^'int' object cannot be converted to 'PyFloat'$"):
        echo.f64(1)
    with pytest.raises(TypeError, match="^'bool' object cannot be converted to 'PyFloat'$"):
        echo.f64(True)


def test_f32_comes_back_widened(echo: Any) -> None:
    assert echo.f32(0.1) == 0.10000000149011612
    assert echo.f64(0.1) == 0.1
    assert echo.f32(float("inf")) == float("inf")


def test_v128(echo: Any) -> None:
    assert echo.v128(2**128 - 1) == 2**128 - 1
    with pytest.raises(OverflowError):
        echo.v128(-1)  # a u128, as wasmer reads it


def test_results(echo: Any) -> None:
    assert echo.none() is None
    assert echo.add(1, 2) == 3
    assert echo.multi() == (-1, -2, 0.10000000149011612, 0.1)


def test_references_cross_the_boundary(echo: Any, store: Store) -> None:
    # wasmer 1.1 panicked ("not implemented") on references; here they work.
    token = object()
    assert echo.externref(token) is token
    assert echo.externref(None) is None
    f = echo.funcref(echo.add)
    assert isinstance(f, Function) and f(2, 3) == 5
    assert echo.funcref(None) is None
    with pytest.raises(TypeError):
        echo.funcref(42)


def test_arity(echo: Any) -> None:
    with pytest.raises(RuntimeError) as info:
        echo.add(1)
    assert str(info.value) == "RuntimeError: Parameters of type [I32] did not match signature [I32, I32] -> [I32]"
    assert isinstance(info.value, TypeError)
    # wasmer 1.1 silently dropped extra arguments; they are an error like too few.
    with pytest.raises(RuntimeError, match=r"did not match signature \[I32, I32\] -> \[I32\] \(3 arguments given"):
        echo.add(1, 2, 3)


def test_keywords_are_type_errors(echo: Any) -> None:
    with pytest.raises(TypeError):
        echo.add(1, b=2)


def test_type_property(echo: Any) -> None:
    assert str(echo.add.type) == "FunctionType(params: [I32, I32], results: [I32])"
    assert echo.multi.type.results == [Type.I32, Type.I64, Type.F32, Type.F64]


# ---- host functions ----


def test_not_callable(store: Store) -> None:
    with pytest.raises(ValueError, match="^Function must be a callable$"):
        Function(store, 42)  # type: ignore[arg-type]


def test_keyword_is_py_function(store: Store) -> None:
    f = Function(store, py_function=lambda a, b: a * b, function_type=FunctionType([Type.I32, Type.I32], [Type.I32]))
    assert f(6, 7) == 42


def test_function_type_must_be_a_function_type(store: Store) -> None:
    with pytest.raises(TypeError):
        Function(store, lambda: None, "() -> ()")  # type: ignore[arg-type]


def test_types_from_annotations(store: Store) -> None:
    def f(a: int, b: "i32", c: "I32", d: "i64", e: "I64", g: float, h: "f32", i: "F32", j: "f64", k: "F64") -> None:
        pass

    assert str(Function(store, f).type) == (
        "FunctionType(params: [I32, I32, I32, I64, I64, F32, F32, F32, F64, F64], results: [])"
    )


def test_result_annotations(store: Store) -> None:
    def one() -> "i64":
        return 1

    def several() -> (int, "f64"):  # type: ignore[valid-type]
        return 1, 2.0

    def typed_tuple() -> tuple[int, float]:
        return 1, 2.0

    def nothing() -> None:
        pass

    assert Function(store, one).type.results == [Type.I64]
    assert Function(store, several).type.results == [Type.I32, Type.F64]
    assert Function(store, typed_tuple).type.results == [Type.I32, Type.F32]
    assert Function(store, nothing).type.results == []
    assert Function(store, several)() == (1, 2.0)


def test_unannotated_lambda_is_empty_signature(store: Store) -> None:
    assert str(Function(store, lambda: 1).type) == "FunctionType(params: [], results: [])"


def test_builtin_without_annotations(store: Store) -> None:
    with pytest.raises(ValueError, match="^The function must have type annotations$"):
        Function(store, print)


def test_annotation_errors(store: Store) -> None:
    def none_param(a: None) -> None:
        pass

    def tuple_param(x: (int, int)) -> None:  # type: ignore[valid-type]
        pass

    def nested(x: int) -> (int, (int, int)):  # type: ignore[valid-type]
        return 0, (0, 0)

    def str_class(a: str) -> None:
        pass

    def i128(a: "i128") -> None:  # type: ignore[name-defined]
        pass

    cases = [
        (none_param, "Variable `a` cannot have type `None`"),
        (tuple_param, "Variable `x` cannot receive a tuple (not supported yet)"),
        (nested, "It is not possible to get a tuple inside a tuple yet"),
        (str_class, "Type `type` (`<class 'str'>`) is not a supported type"),
        (i128, "Type `str` (`i128`) is not a supported type"),
    ]
    for fn, message in cases:
        with pytest.raises(RuntimeError) as info:
            Function(store, fn)
        assert str(info.value) == message


def test_host_function_called_from_wasm(store: Store) -> None:
    seen: list[tuple[int, int, float, float]] = []

    def host(a: "i32", b: "i64", c: "f32", d: "f64") -> "i32":
        seen.append((a, b, c, d))
        return 2**32 - 1  # u32 accepted, wraps

    module = Module(
        store,
        """(module (import "env" "h" (func $h (param i32 i64 f32 f64) (result i32)))
             (func (export "go") (result i32)
               (call $h (i32.const -1) (i64.const -2) (f32.const 0.1) (f64.const 0.1))))""",
    )
    instance = Instance(module, {"env": {"h": Function(store, host)}})
    assert instance.exports.go() == -1
    assert seen == [(-1, -2, 0.10000000149011612, 0.1)]


def host_instance(store: Store, host: Any, results: str = "(result i32)") -> Any:
    module = Module(
        store,
        f"""(module (import "env" "h" (func $h {results}))
              (func (export "go") {results} call $h))""",
    )
    return Instance(module, {"env": {"h": host}}).exports.go


def test_host_returning_none_for_a_result(store: Store) -> None:
    go = host_instance(store, Function(store, lambda: None, FunctionType([], [Type.I32])))
    with pytest.raises(RuntimeError) as info:
        go()
    assert str(info.value) == ("RuntimeError: Dynamic function returned wrong signature. Expected [I32] but got []")


def test_host_returning_a_short_tuple(store: Store) -> None:
    go = host_instance(store, Function(store, lambda: (1,), FunctionType([], [Type.I32, Type.I64])), "(result i32 i64)")
    with pytest.raises(RuntimeError, match=r"Expected \[I32, I64\] but got \[I32\]$"):
        go()


def test_host_returning_the_wrong_type(store: Store) -> None:
    go = host_instance(store, Function(store, lambda: 1.5, FunctionType([], [Type.I32])))
    with pytest.raises(TypeError):
        go()
    go = host_instance(store, Function(store, lambda: 1, FunctionType([], [Type.F64])), "(result f64)")
    with pytest.raises(TypeError, match="PyFloat"):
        go()


def test_host_results_single_tuple_and_several(store: Store) -> None:
    go = host_instance(store, Function(store, lambda: (7,), FunctionType([], [Type.I32])))
    assert go() == 7
    go = host_instance(
        store, Function(store, lambda: (1, 2.5), FunctionType([], [Type.I64, Type.F64])), "(result i64 f64)"
    )
    assert go() == (1, 2.5)


def test_host_exception_crosses_wasm_frames(store: Store) -> None:
    class Custom(Exception):
        pass

    def fail() -> None:
        raise Custom("boom")

    go = host_instance(store, Function(store, fail), "")
    with pytest.raises(Custom, match="boom"):
        go()
    # The store still works after an abandoned call.
    assert host_instance(store, Function(store, lambda: 5, FunctionType([], [Type.I32])))() == 5


def test_calling_a_host_function_from_python(store: Store) -> None:
    f = Function(store, lambda a, b: a - b, FunctionType([Type.I64, Type.I64], [Type.I64]))
    assert f(1, 3) == -2
    with pytest.raises(OverflowError):
        f(2**64, 0)


def test_nested_calls(store: Store) -> None:
    holder: dict[str, Any] = {}

    def host(x: int) -> int:
        return holder["inner"](x) + 1 if x > 0 else 0

    module = Module(
        store,
        """(module (import "env" "h" (func $h (param i32) (result i32)))
             (func (export "inner") (param i32) (result i32) (call $h (i32.sub (local.get 0) (i32.const 1)))))""",
    )
    instance = Instance(module, {"env": {"h": Function(store, host)}})
    holder["inner"] = instance.exports.inner
    assert instance.exports.inner(10) == 9


# ---- traps ----

TRAPS = """(module $m
  (memory 1)
  (table 1 funcref)
  (func $unreachable (export "unreachable") unreachable)
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const -2147483648) (i32.const -1)))
  (func (export "oob") (result i32) (i32.load (i32.const 70000)))
  (func $rec (export "rec") call $rec)
  (func (export "uninit") (call_indirect (i32.const 0)))
  (func (export "outer") call $unreachable))"""


@pytest.mark.parametrize(
    ("name", "args", "reason"),
    [
        ("unreachable", (), "unreachable"),
        ("div", (0,), "integer divide by zero"),
        ("overflow", (), "integer overflow"),
        ("oob", (), "out of bounds memory access"),
        ("rec", (), "call stack exhausted"),
        ("uninit", (), "uninitialized element"),
    ],
)
def test_traps(store: Store, name: str, args: tuple[int, ...], reason: str) -> None:
    exports = Instance(Module(store, TRAPS)).exports
    with pytest.raises(RuntimeError) as info:
        getattr(exports, name)(*args)
    lines = str(info.value).splitlines()
    assert lines[0] == f"RuntimeError: {reason}"
    assert all(line.startswith("    at ") or line.startswith("    ...") for line in lines[1:])
    assert len(lines) < 100  # wasmer 1.1 printed ~100k frame lines for a stack overflow


def test_trap_backtrace(store: Store) -> None:
    exports = Instance(Module(store, TRAPS)).exports
    with pytest.raises(RuntimeError) as info:
        exports.outer()
    lines = str(info.value).splitlines()
    assert lines[1].startswith("    at unreachable (m[0]:0x")
    assert lines[2].startswith("    at <unnamed> (m[6]:0x")


def test_trap_is_a_core_trap(store: Store) -> None:
    from wasmroutines import Trap

    with pytest.raises(Trap) as info:
        Instance(Module(store, TRAPS)).exports.unreachable()
    assert info.value.kind == "unreachable"


def test_trap_inside_nested_call_keeps_its_wording(store: Store) -> None:
    holder: dict[str, Any] = {}
    module = Module(
        store,
        """(module (import "env" "h" (func $h))
             (func (export "outer") call $h) (func (export "boom") unreachable))""",
    )
    instance = Instance(module, {"env": {"h": Function(store, lambda: holder["boom"]())}})
    holder["boom"] = instance.exports.boom
    with pytest.raises(RuntimeError) as info:
        instance.exports.outer()
    assert str(info.value).startswith("RuntimeError: unreachable")


# ---- typed function references (WebAssembly 3.0) ----

TYPED = """(module
  (type $ii (func (param i32) (result i32)))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (elem declare func $inc)
  (func (export "get") (result (ref $ii)) (ref.func $inc))
  (func (export "call") (param $f (ref $ii)) (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (local.get $f))))"""


def test_typed_references_pass_as_functions_and_none_is_refused(store: Store) -> None:
    from wasmroutines import RefTypeError

    e = Instance(Module(store, TYPED)).exports
    inc = e.get()
    assert isinstance(inc, Function) and inc(1) == 2
    assert e.call(inc, 41) == 42
    assert e.call.type.params == [Type.FUNC_REF, Type.I32]  # wasmer knows funcref only
    with pytest.raises(TypeError, match="non-nullable") as info:
        e.call(None, 1)
    assert isinstance(info.value, RefTypeError)
