"""Exception handling (WebAssembly 3.0): tags, `throw`, `throw_ref`, `try_table`, `exnref`, and how exceptions
cross between wasm, the host and green threads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from programs.runner import run_program

from wasmroutines import (
    Features,
    Function,
    FuncType,
    Global,
    GlobalType,
    Instance,
    InvalidModule,
    LinkError,
    MalformedModule,
    Module,
    OutOfFuel,
    Store,
    Table,
    TableType,
    Tag,
    TagType,
    Trap,
    ValType,
    WasmException,
    join,
    spawn,
)
from wasmroutines import wasmer as wasmer_face

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128
EXNREF = ValType.EXNREF

BASICS = """(module
  (tag $e0 (export "e0"))
  (tag $e1 (export "e1") (param i32))
  (tag $mixed (export "mixed") (param i32 i64 f32 f64 v128))
  (func $throw1 (export "throw1") (param i32) (throw $e1 (local.get 0)))
  ;; throw from the bottom of `depth` frames of recursion
  (func $deep (export "deep") (param $depth i32) (param $v i32) (result i32)
    (if (i32.eqz (local.get $depth)) (then (throw $e1 (local.get $v))))
    (i32.add (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $v)) (i32.const 1000)))
  ;; catch the payload 10 frames down: the frames between are gone
  (func (export "catch_deep") (param $v i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e1 $h) (drop (call $deep (i32.const 10) (local.get $v))))
      (i32.const -1))
    (i32.add (i32.const 1)))
  (func (export "mixed_roundtrip") (param i32 i64 f32 f64 v128) (result i32 i64 f32 f64 v128)
    (block $h (result i32 i64 f32 f64 v128)
      (try_table (catch $mixed $h)
        (throw $mixed (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
      unreachable))
  ;; which clause takes it: 0 for e0, 1 for e1 (its payload added), 2 for anything else
  (func (export "classify") (param $which i32) (result i32)
    (block $other
      (block $one (result i32)
        (block $zero
          (try_table (catch $e0 $zero) (catch $e1 $one) (catch_all $other)
            (if (i32.eqz (local.get $which)) (then (throw $e0)))
            (if (i32.eq (local.get $which) (i32.const 1)) (then (throw $e1 (i32.const 41))))
            (throw $mixed (i32.const 0) (i64.const 0) (f32.const 0) (f64.const 0) (v128.const i64x2 0 0)))
          (return (i32.const -1)))
        (return (i32.const 0)))
      (return (i32.const 1) (i32.add)))
    (i32.const 2))
  ;; catch_ref, then throw_ref: the same exception goes on to the outer handler
  (func (export "rethrow") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (catch $e1 $outer)
        (block $h (result i32 exnref)
          (try_table (catch_ref $e1 $h) (throw $e1 (local.get 0)))
          unreachable)
        (throw_ref))
      unreachable)
    (i32.const 100) (i32.add))
  ;; catch_all_ref: the exnref alone
  (func (export "catch_all_ref_is_not_null") (result i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e0))
      unreachable)
    ref.is_null
    i32.eqz)
  ;; the label is the function's: the handler returns the payload
  (func (export "catch_to_return") (param i32) (result i32)
    (try_table (catch $e1 0) (throw $e1 (local.get 0)))
    unreachable)
  ;; the label is a loop: retry until the count runs out
  (func (export "retry") (param $n i32) (result i32)
    (local $tries i32)
    (loop $again
      (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
      (try_table (catch_all $again)
        (if (i32.lt_u (local.get $tries) (local.get $n)) (then (throw $e0)))))
    (local.get $tries))
  (func (export "null_throw_ref") (throw_ref (ref.null exn)))
  ;; a trap is no exception: catch_all does not see it
  (func (export "trap_in_try") (result i32)
    (block $h
      (try_table (catch_all $h) (unreachable)))
    (i32.const 7))
  ;; catch it, keep the exnref in a global, rethrow it later
  (global $kept (export "kept") (mut exnref) (ref.null exn))
  (func (export "keep") (param i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e1 (local.get 0)))
      unreachable)
    (global.set $kept))
  (func (export "rethrow_kept") (throw_ref (global.get $kept)))
  (table $t (export "exns") 2 exnref)
  (func (export "keep_in_table") (param i32) (local $e exnref)
    (local.set $e
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (throw $e1 (local.get 0)))
        unreachable))
    (table.set $t (i32.const 1) (local.get $e)))
  (func (export "rethrow_from_table") (throw_ref (table.get $t (i32.const 1)))))"""


@pytest.fixture
def basics(store: Store, wat: Callable[[str], bytes]) -> Instance:
    return Instance(store, Module(wat(BASICS)))


def test_catch_takes_the_payload_from_frames_below(basics: Instance) -> None:
    assert basics.exports.catch_deep(5) == 6
    # Many throws: the unwound frames are really gone (a leak would exhaust the frame stack).
    for i in range(3000):
        assert basics.exports.catch_deep(i) == i + 1


def test_every_value_type_crosses_in_the_payload(basics: Instance) -> None:
    v = (1 << 127) | 0x1234
    assert basics.exports.mixed_roundtrip(-3, -(1 << 40), 1.5, -2.25, v) == (-3, -(1 << 40), 1.5, -2.25, v)


def test_clauses_are_tried_in_order_and_match_their_tag(basics: Instance) -> None:
    assert [basics.exports.classify(i) for i in range(3)] == [0, 42, 2]


def test_throw_ref_rethrows_the_caught_exception(basics: Instance) -> None:
    assert basics.exports.rethrow(5) == 105
    assert basics.exports.catch_all_ref_is_not_null() == 1


def test_labels_of_the_function_and_of_a_loop(basics: Instance) -> None:
    assert basics.exports.catch_to_return(9) == 9
    assert basics.exports.retry(50) == 50


def test_traps_are_not_exceptions(basics: Instance) -> None:
    with pytest.raises(Trap) as info:
        basics.exports.trap_in_try()
    assert info.value.kind == "unreachable" and not isinstance(info.value, WasmException)
    with pytest.raises(Trap, match="null exception reference") as info:
        basics.exports.null_throw_ref()
    assert not isinstance(info.value, WasmException)


def test_an_uncaught_exception_reaches_python_with_its_tag_and_payload(basics: Instance) -> None:
    with pytest.raises(WasmException) as info:
        basics.exports.deep(3, 77)
    e = info.value
    assert e.tag == basics.exports.e1 and isinstance(e.tag, Tag)
    assert e.tag.type == TagType((I32,))
    assert e.payload == (77,)
    assert isinstance(e, Trap) and e.kind == "uncaught exception"
    assert len(e.frames) == 4  # where it was thrown: $deep four times
    assert "uncaught exception" in str(e) and "(77)" in str(e)


def test_exnrefs_live_in_globals_and_tables(basics: Instance) -> None:
    basics.exports.keep(12)
    kept = basics.exports.kept.value
    assert isinstance(kept, WasmException) and kept.payload == (12,)
    with pytest.raises(WasmException) as info:
        basics.exports.rethrow_kept()
    assert info.value is kept  # one Python object per exception
    basics.exports.keep_in_table(13)
    with pytest.raises(WasmException) as info:
        basics.exports.rethrow_from_table()
    assert info.value.payload == (13,)
    assert basics.exports.exns.get(1) is info.value


def test_a_host_function_throws_a_wasm_exception_wasm_catches(store: Store, wat: Callable[[str], bytes]) -> None:
    tag = Tag(store, TagType((I32, F64)))
    calls: list[Any] = []

    def host(x: int) -> int:
        calls.append(x)
        if x > 0:
            raise WasmException(tag, [x * 2, 0.5])
        return -1

    text = """(module
      (import "env" "tag" (tag $t (param i32 f64)))
      (import "env" "host" (func $host (param i32) (result i32)))
      (func (export "call") (param i32) (result i32)
        (block $h (result i32 f64)
          (try_table (catch $t $h) (return (call $host (local.get 0))))
          unreachable)
        (i32.trunc_f64_s (f64.mul (f64.const 10)))
        (i32.add))
      (func (export "through") (param i32) (result i32) (call $host (local.get 0))))"""
    inst = Instance(store, Module(wat(text)), {"env": {"tag": tag, "host": host}})
    assert inst.exports.call(0) == -1
    assert inst.exports.call(4) == 13
    with pytest.raises(WasmException) as info:
        inst.exports.through(3)  # not caught in wasm: back to Python, the same object the host raised
    assert info.value.tag == tag and info.value.payload == (6, 0.5)
    assert calls == [0, 4, 3]


def test_an_exception_crosses_a_host_function_between_two_wasm_calls(store: Store, wat: Callable[[str], bytes]) -> None:
    inner = Instance(store, Module(wat(BASICS)))
    text = """(module
      (import "m" "e1" (tag $e1 (param i32)))
      (import "m" "host" (func $host (param i32)))
      (func (export "outer") (param i32) (result i32)
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (call $host (local.get 0)))
          (return (i32.const -1)))
        (block $h1 (param exnref) (result i32)
          (try_table (param exnref) (catch $e1 $h1) (throw_ref))
          unreachable)))"""
    imports = {"m": {"e1": inner.exports.e1, "host": lambda v: inner.exports.throw1(v + 1)}}
    outer = Instance(store, Module(wat(text)), imports)
    assert outer.exports.outer(41) == 42


def test_exnrefs_pass_through_host_calls(store: Store, wat: Callable[[str], bytes]) -> None:
    seen: list[Any] = []

    def keep(e: WasmException) -> WasmException:
        seen.append(e)
        return e

    text = """(module
      (import "env" "keep" (func $keep (param exnref) (result exnref)))
      (tag $t (param i32))
      (func (export "f") (result i32)
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $t (i32.const 5)))
          unreachable)
        (call $keep)
        (block $h2 (param exnref) (result i32)
          (try_table (param exnref) (catch $t $h2) (throw_ref))
          unreachable)))"""
    ft = FuncType((EXNREF,), (EXNREF,))
    inst = Instance(store, Module(wat(text)), {"env": {"keep": Function(store, keep, ft)}})
    assert inst.exports.f() == 5
    assert len(seen) == 1 and seen[0].payload == (5,)


def test_a_modules_tags_are_new_in_each_instance(store: Store, wat: Callable[[str], bytes]) -> None:
    text = """(module
      (tag $t (export "t"))
      (import "env" "f" (func $f))
      (func (export "throw") (throw $t))
      (func (export "catch") (result i32)
        (block $h (try_table (catch $t $h) (call $f)) (return (i32.const 0)))
        (i32.const 1)))"""
    module = Module(wat(text))
    a = Instance(store, module, {"env": {"f": lambda: None}})
    b = Instance(store, module, {"env": {"f": a.exports["throw"]}})
    assert a.exports.t != b.exports.t
    with pytest.raises(WasmException) as info:
        b.exports.catch()  # a's tag: b's catch does not name it
    assert info.value.tag == a.exports.t
    c = Instance(store, module, {"env": {"f": b.exports["throw"]}})
    with pytest.raises(WasmException):
        c.exports.catch()


def test_tags_import_by_type(store: Store, wat: Callable[[str], bytes]) -> None:
    module = Module(wat('(module (import "env" "t" (tag (param i32))))'))
    assert module.imports[0].type == TagType((I32,))
    Instance(store, module, {"env": {"t": Tag(store, TagType((I32,)))}})
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(store, module, {"env": {"t": Tag(store, TagType((I64,)))}})
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(store, module, {"env": {"t": Global(store, GlobalType(I32), 0)}})
    exports = Module(wat('(module (tag (export "t") (param f32)))')).exports
    assert exports[0].type == TagType((F32,))


def test_validation(wat: Callable[[str], bytes]) -> None:
    bad = [
        "(module (tag $t (param i32)) (func (throw $t)))",  # no payload on the stack
        "(module (tag $t (param i32)) (func (block $h (try_table (catch $t $h)))))",  # the label takes no i32
        "(module (func (block $h (result i32) (try_table (catch_all $h)) unreachable) drop))",
        "(module (func (block $h (try_table (catch_all_ref $h)))))",  # the label takes no exnref
        "(module (func (param i32) (throw_ref (local.get 0))))",
        "(module (type $f (func (result i32))) (tag (type $f)))",  # a tag has no results
    ]
    for text in bad:
        with pytest.raises(InvalidModule):
            Module(wat(text))
    with pytest.raises(InvalidModule, match="unknown tag 1"):
        Module(_unknown_tag(wat))


def _unknown_tag(wat: Callable[[str], bytes]) -> bytes:
    """A module whose throw names tag 1 of one (the text format cannot say it: patched in the binary)."""
    data = bytearray(wat("(module (tag) (func (throw 0)))"))
    i = data.rindex(b"\x08\x00\x0b")
    data[i + 1] = 1
    return bytes(data)


def test_without_the_feature_the_encodings_are_malformed(wat: Callable[[str], bytes]) -> None:
    for text, reason in [
        ("(module (tag))", "malformed section id"),
        ('(module (import "m" "t" (tag)))', "malformed import kind"),
        ("(module (func (param exnref)))", "malformed value type"),
        ("(module (func (try_table)))", "illegal opcode"),
    ]:
        Module(wat(text))
        with pytest.raises(MalformedModule, match=reason):
            Module(wat(text), features=Features.WASM2)


def test_a_loop_of_throws_is_preempted(wat: Callable[[str], bytes]) -> None:
    store = Store()
    store.fuel = 10_000
    text = """(module (tag $t)
      (func (export "spin") (loop $l (try_table (catch $t $l) (throw $t)))))"""
    inst = Instance(store, Module(wat(text)))
    with pytest.raises(OutOfFuel):
        inst.exports.spin()


def test_an_exception_unwinds_only_its_green_thread(store: Store, basics: Instance) -> None:
    a = spawn(basics.exports.deep, 5, 1)
    b = spawn(basics.exports.catch_deep, 7)
    with pytest.raises(WasmException) as info:
        join(a)
    assert info.value.payload == (1,)
    assert join(b) == 8


def test_an_uncaught_exception_in_a_wasi_thread_ends_the_program(wat: Callable[[str], bytes]) -> None:
    wasm = wat(
        """(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (tag $t (param i32))
      (func (export "wasi_thread_start") (param i32 i32)
        (if (local.get 1) (then (throw $t (local.get 1)))))
      (func (export "_start")
        (drop (call $spawn (i32.const 0)))  ;; a thread that ends well
        (drop (call $spawn (i32.const 9)))  ;; one that throws
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"""
    )
    with pytest.raises(WasmException) as info:
        run_program(wasm)
    assert info.value.payload == (9,)


def test_the_wasmer_face_has_tags_and_the_exception(wat: Callable[[str], bytes]) -> None:
    store = wasmer_face.Store()
    tag = wasmer_face.Tag(store, wasmer_face.TagType([wasmer_face.Type.I32]))
    assert tag.type.params == [wasmer_face.Type.I32]

    def host(x: int) -> int:
        raise wasmer_face.WasmException(tag, [x + 1])

    text = """(module
      (import "env" "t" (tag $t (param i32)))
      (import "env" "host" (func $host (param i32) (result i32)))
      (func (export "f") (param i32) (result i32)
        (block $h (result i32) (try_table (catch $t $h) (return (call $host (local.get 0)))) unreachable))
      (func (export "g") (param i32) (throw $t (local.get 0))))"""
    module = wasmer_face.Module(store, wat(text))
    i32 = wasmer_face.Type.I32
    host_fn = wasmer_face.Function(store, host, wasmer_face.FunctionType([i32], [i32]))
    inst = wasmer_face.Instance(module, {"env": {"t": tag, "host": host_fn}})
    assert inst.exports.f(4) == 5
    with pytest.raises(wasmer_face.WasmException) as info:
        inst.exports.g(3)
    assert info.value.payload == (3,)


def test_table_of_exnrefs_from_python(store: Store) -> None:
    table = Table(store, TableType(EXNREF, 1))
    assert table.get(0) is None
    tag = Tag(store, TagType(()))
    e = WasmException(tag)
    table.set(0, e)
    assert table.get(0) is e


def test_a_tail_called_host_function_throws_past_its_callers_handler(store: Store, wat: Callable[[str], bytes]) -> None:
    """`return_call` replaces the caller's frame, its try_table with it: an exception from a host function it
    called goes to the caller's caller, as one from a wasm callee does."""
    tag = Tag(store, TagType((I32,)))

    def host() -> int:
        raise WasmException(tag, [5])

    text = """(module
      (import "env" "t" (tag $t (param i32)))
      (import "env" "host" (func $host (result i32)))
      (func $tail (result i32)
        (block $h (result i32) (try_table (catch $t $h) (return_call $host)) unreachable)
        (i32.add (i32.const 100)))
      (func $plain (result i32)
        (block $h (result i32) (try_table (catch $t $h) (return (call $host))) unreachable)
        (i32.add (i32.const 100)))
      (func (export "tail") (result i32)
        (block $h (result i32) (try_table (catch $t $h) (return (call $tail))) unreachable)
        (i32.add (i32.const 200)))
      (func (export "plain") (result i32)
        (block $h (result i32) (try_table (catch $t $h) (return (call $plain))) unreachable)
        (i32.add (i32.const 200))))"""
    inst = Instance(store, Module(wat(text)), {"env": {"t": tag, "host": host}})
    assert inst.exports.plain() == 105
    assert inst.exports.tail() == 205
