"""GC's structs and arrays (WebAssembly 3.0): types (fields, packing, mutability, subtyping, canonical across
modules), every struct.* and array.* instruction with its traps, the constant-expression allocations, the
store's GC heap limit, and struct and array references in Python (StructRef, ArrayRef)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import (
    I31,
    ArrayRef,
    GcRef,
    Instance,
    InvalidModule,
    Module,
    RefTypeError,
    Store,
    StructRef,
    Trap,
    join,
    spawn,
)

STRUCTS = """(module
  (type $s (struct (field $a (mut i8)) (field $b (mut i16)) (field $c (mut i32)) (field $d (mut i64))
                   (field $e (mut f32)) (field $f (mut f64)) (field $g (mut anyref)) (field $v (mut v128))))
  (type $p (struct (field i32) (field (ref null $p))))
  (func (export "packed") (param i32) (result i32 i32 i32 i32)
    (local $o (ref $s))
    (local.set $o (struct.new_default $s))
    (struct.set $s $a (local.get $o) (local.get 0))
    (struct.set $s $b (local.get $o) (local.get 0))
    (struct.get_s $s $a (local.get $o)) (struct.get_u $s $a (local.get $o))
    (struct.get_s $s $b (local.get $o)) (struct.get_u $s $b (local.get $o)))
  (func (export "wide") (param i32 i64 f32 f64) (result i32 i64 f32 f64 i32)
    (local $o (ref $s))
    (local.set $o (struct.new $s (i32.const 0) (i32.const 0) (local.get 0) (local.get 1) (local.get 2)
                                 (local.get 3) (ref.i31 (i32.const 7)) (v128.const i64x2 5 6)))
    (struct.get $s $c (local.get $o)) (struct.get $s $d (local.get $o))
    (struct.get $s $e (local.get $o)) (struct.get $s $f (local.get $o))
    (i31.get_s (ref.cast i31ref (struct.get $s $g (local.get $o)))))
  (func (export "v128") (result i64)
    (local $o (ref $s))
    (local.set $o (struct.new_default $s))
    (struct.set $s $v (local.get $o) (v128.const i64x2 11 12))
    (i64x2.extract_lane 1 (struct.get $s $v (local.get $o))))
  (func (export "list") (param i32) (result (ref null $p))
    (local $l (ref null $p))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get 0)))
      (local.set $l (struct.new $p (local.get 0) (local.get $l)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $next)))
    (local.get $l))
  (func (export "sum") (param $l (ref null $p)) (result i32)
    (local $n i32)
    (block $done (loop $next
      (local.set $n (i32.add (local.get $n) (struct.get $p 0 (br_on_null $done (local.get $l)))))
      (local.set $l (struct.get $p 1 (local.get $l)))
      (br $next)))
    (local.get $n))
  (func (export "null_get") (result i32) (struct.get $p 0 (ref.null $p)))
  (func (export "null_set") (struct.set $s $c (ref.null $s) (i32.const 1))))"""


def test_struct_fields_by_storage_type(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(STRUCTS).exports
    assert e.packed(0x1_8281) == (-127, 0x81, -32127, 0x8281)
    assert e.wide(-5, 1 << 40, 1.5, -2.25) == (-5, 1 << 40, 1.5, -2.25, 7)
    assert e.v128() == 12


def test_a_linked_list_of_structs(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(STRUCTS).exports
    head = e.list(100)
    assert isinstance(head, StructRef) and isinstance(head, GcRef)
    assert e.list(100) is not head and e.sum(head) == 5050
    assert e.sum(None) == 0


def test_null_structs_trap(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(STRUCTS).exports
    for f in (e.null_get, e.null_set):
        with pytest.raises(Trap, match="null structure reference"):
            f()


ARRAYS = """(module
  (type $b (array (mut i8)))
  (type $w (array (mut i64)))
  (type $r (array (mut funcref)))
  (type $v (array (mut v128)))
  (data $d "\\01\\02\\03\\04\\05\\06\\07\\08")
  (elem $e func $f $f)
  (func $f)
  (func (export "new") (param i32 i32) (result (ref $b)) (array.new $b (local.get 1) (local.get 0)))
  (func (export "get_s") (param (ref null $b) i32) (result i32) (array.get_s $b (local.get 0) (local.get 1)))
  (func (export "get_u") (param (ref null $b) i32) (result i32) (array.get_u $b (local.get 0) (local.get 1)))
  (func (export "len") (param (ref null array)) (result i32) (array.len (local.get 0)))
  (func (export "fill") (param (ref null $b) i32 i32 i32) (array.fill $b (local.get 0) (local.get 1) (local.get 2)
                                                                          (local.get 3)))
  (func (export "copy") (param (ref null $b) i32 (ref null $b) i32 i32)
    (array.copy $b $b (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "fixed") (result (ref $w)) (array.new_fixed $w 3 (i64.const 1) (i64.const -2) (i64.const 3)))
  (func (export "wget") (param (ref $w) i32) (result i64) (array.get $w (local.get 0) (local.get 1)))
  (func (export "new_data") (param i32 i32) (result (ref $w)) (array.new_data $w $d (local.get 0) (local.get 1)))
  (func (export "init_data") (param (ref $b) i32 i32 i32)
    (array.init_data $b $d (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "new_elem") (param i32 i32) (result i32)
    (array.len (array.new_elem $r $e (local.get 0) (local.get 1))))
  (func (export "init_elem") (param i32 i32 i32) (result i32)
    (local $a (ref $r))
    (local.set $a (array.new_default $r (i32.const 4)))
    (array.init_elem $r $e (local.get $a) (local.get 0) (local.get 1) (local.get 2))
    (ref.is_null (array.get $r (local.get $a) (i32.const 1))))
  (func (export "vec") (param i32) (result i64)
    (local $a (ref $v))
    (local.set $a (array.new $v (v128.const i64x2 3 4) (i32.const 4)))
    (array.set $v (local.get $a) (local.get 0) (v128.const i64x2 8 9))
    (i64x2.extract_lane 1 (array.get $v (local.get $a) (i32.const 2))))
  (func (export "huge") (param i32) (result i32) (array.len (array.new_default $v (local.get 0)))))"""


def test_array_instructions(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(ARRAYS).exports
    a = e.new(5, 0xFF)
    assert isinstance(a, ArrayRef) and e.len(a) == 5
    assert e.get_s(a, 4) == -1 and e.get_u(a, 4) == 255
    e.fill(a, 1, 7, 3)
    assert [e.get_u(a, i) for i in range(5)] == [255, 7, 7, 7, 255]
    e.copy(a, 0, a, 1, 4)  # overlapping: as memmove
    assert [e.get_u(a, i) for i in range(5)] == [7, 7, 7, 255, 255]
    w = e.fixed()
    assert [e.wget(w, i) for i in range(3)] == [1, -2, 3]
    d = e.new_data(0, 1)  # one i64: the segment's 8 bytes, little endian
    assert e.wget(d, 0) == 0x0807060504030201
    e.init_data(a, 2, 5, 3)
    assert [e.get_u(a, i) for i in range(5)] == [7, 7, 6, 7, 8]
    assert e.new_elem(0, 2) == 2
    assert e.init_elem(1, 0, 2) == 0
    assert e.vec(2) == 9 and e.vec(0) == 4


def test_array_traps(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(ARRAYS).exports
    a = e.new(2, 0)
    for call, message in (
        (lambda: e.get_s(a, 2), "out of bounds array access"),
        (lambda: e.get_u(None, 0), "null array reference"),
        (lambda: e.len(None), "null array reference"),
        (lambda: e.fill(a, 1, 0, 2), "out of bounds array access"),
        (lambda: e.copy(a, 0, None, 0, 0), "null array reference"),
        (lambda: e.copy(a, 1, a, 0, 2), "out of bounds array access"),
        (lambda: e.new_data(1, 1 << 30), "out of bounds memory access"),
        (lambda: e.init_data(a, 0, 7, 2), "out of bounds memory access"),
        (lambda: e.new_elem(1, 2), "out of bounds table access"),
        (lambda: e.init_elem(3, 0, 2), "out of bounds array access"),
        (lambda: e.vec(4), "out of bounds array access"),
    ):
        with pytest.raises(Trap, match=message):
            call()


def test_the_gc_heap_limit(wat: Callable[[str], bytes]) -> None:
    """An allocation past the store's limit, or of an absurd length, traps with a clear message and frees
    nothing it should not; the store goes on."""
    store = Store(max_gc_bytes=1 << 20)
    e = Instance(store, Module(wat(ARRAYS))).exports
    before = store.gc_heap_bytes
    assert e.huge(1000) == 1000 and store.gc_heap_bytes >= before + 16_000
    for n in (1 << 16, 0xFFFF_FFFF, -1):  # 1 MiB of v128s; 64 GiB; the same as a u32
        with pytest.raises(Trap, match="GC heap limit exceeded"):
            e.huge(n)
    assert e.huge(10) == 10
    assert Store().gc_heap_bytes == 0


def test_struct_and_array_handles_in_python(store: Store, wat: Callable[[str], bytes]) -> None:
    e = Instance(store, Module(wat(STRUCTS))).exports
    a = Instance(store, Module(wat(ARRAYS))).exports
    head = e.list(3)
    assert e.sum(head) == 6 and e.sum(head) == 6  # the same object goes back in
    arr = a.new(2, 1)
    with pytest.raises(RefTypeError):
        e.sum(arr)  # an array for a struct type
    with pytest.raises(RefTypeError):
        e.sum(I31(1))
    with pytest.raises(RefTypeError):
        a.len(head)  # a struct for arrayref
    with pytest.raises(ValueError, match="another store"):
        Instance(Store(), Module(wat(STRUCTS))).exports.sum(head)
    assert repr(head).startswith("<StructRef of type ")


CASTS = """(module
  (rec (type $s (sub (struct (field i32)))) (type $t (sub $s (struct (field i32) (field i64)))))
  (type $a (array i8))
  (func (export "make_t") (result anyref) (struct.new_default $t))
  (func (export "make_s") (result anyref) (struct.new_default $s))
  (func (export "make_a") (result anyref) (array.new_default $a (i32.const 1)))
  (func (export "is_s") (param anyref) (result i32) (ref.test (ref $s) (local.get 0)))
  (func (export "is_t") (param anyref) (result i32) (ref.test (ref $t) (local.get 0)))
  (func (export "is_struct") (param anyref) (result i32) (ref.test (ref struct) (local.get 0)))
  (func (export "is_array") (param anyref) (result i32) (ref.test (ref array) (local.get 0)))
  (func (export "is_eq") (param anyref) (result i32) (ref.test (ref eq) (local.get 0))))"""


def test_casts_to_struct_and_array_types_across_modules(store: Store, wat: Callable[[str], bytes]) -> None:
    one = Instance(store, Module(wat(CASTS))).exports
    two = Instance(store, Module(wat(CASTS))).exports  # the same rec group: the same types
    t, s, a = one.make_t(), one.make_s(), one.make_a()
    assert [two.is_s(t), two.is_t(t), two.is_s(s), two.is_t(s)] == [1, 1, 1, 0]
    assert [two.is_struct(t), two.is_array(t), two.is_struct(a), two.is_array(a)] == [1, 0, 0, 1]
    assert [two.is_eq(t), two.is_eq(a), two.is_eq(object()), two.is_s(I31(1)), two.is_array(object())] == [
        1,
        1,
        0,
        0,
        0,
    ]
    other = Instance(store, Module(wat(CASTS.replace("(field i32) (field i64)", "(field i32) (field f64)"))))
    assert other.exports.is_t(t) == 0 and other.exports.is_s(t) == 0  # another rec group: other types


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(type $s (struct (field i32))) (type (sub $s (struct (field i32))))", "sub type"),  # final
        ("(type $s (sub (struct (field (mut i32))))) (type (sub $s (struct (field i32))))", "sub type"),
        ("(type $s (sub (struct (field (mut i32))))) (type (sub $s (struct (field (mut i8)))))", "sub type"),
        ("(type $s (sub (struct (field anyref)))) (type (sub $s (struct (field i31ref) (field i8))))", None),
        ("(type $s (sub (struct (field (mut anyref))))) (type (sub $s (struct (field (mut i31ref)))))", "sub type"),
        ("(type $s (sub (struct (field i32) (field i32)))) (type (sub $s (struct (field i32))))", "sub type"),
        ("(type $a (sub (array i8))) (type (sub $a (array i16)))", "sub type"),
        ("(type $a (sub (array i8))) (type (sub $a (struct)))", "sub type"),
        ("(type $a (array i8)) (func (drop (struct.new_default $a)))", "type mismatch"),
        (
            "(type $a (array i8)) (func (param (ref $a)) (array.set $a (local.get 0) (i32.const 0) (i32.const 0)))",
            "immutable array",
        ),
        (
            "(type $s (struct (field i8))) (func (result i32) (struct.get $s 0 (struct.new_default $s)))",
            "type mismatch",
        ),
        ("(type $s (struct (field (ref $s)))) (func (drop (struct.new_default $s)))", "type mismatch"),
        ("(type $s (struct)) (func (type $s))", "type mismatch"),
        ("(type $f (array i32)) (func (block (type $f)))", "type mismatch"),
    ],
)
def test_type_validation(wat: Callable[[str], bytes], text: str, message: str | None) -> None:
    data = wat(f"(module {text})")
    if message is None:
        Module(data)
    else:
        with pytest.raises(InvalidModule, match=message):
            Module(data)


CONSTS = """(module
  (type $p (struct (field i32) (field (ref null $p))))
  (type $a (array (mut i32)))
  (type $a2 (array (ref $a)))
  (global $g (export "g") (ref $p) (struct.new $p (i32.const 2) (struct.new $p (i32.const 1) (ref.null $p))))
  (global $f (export "f") (ref $a) (array.new_fixed $a 3 (i32.const 1) (i32.const 2) (i32.add (i32.const 1)
                                                                                             (i32.const 2))))
  (global $n (ref $a) (array.new $a (i32.const 9) (i32.const 2)))
  (global $d (ref $a) (array.new_default $a (i32.const 4)))
  (table $t (export "t") 2 (ref null $p) (struct.new_default $p))
  (elem $e (ref $a) (array.new_fixed $a 0) (global.get $f))
  (func (export "sum") (result i32)
    (i32.add (struct.get $p 0 (global.get $g)) (struct.get $p 0 (struct.get $p 1 (global.get $g)))))
  (func (export "at") (param i32) (result i32) (array.get $a (global.get $f) (local.get 0)))
  (func (export "lens") (result i32 i32 i32 i32)
    (array.len (global.get $n)) (array.get $a (global.get $n) (i32.const 1)) (array.len (global.get $d))
    (array.len (array.new_elem $a2 $e (i32.const 0) (i32.const 2)))))"""


def test_allocations_in_constant_expressions(instantiate: Callable[[str], Instance]) -> None:
    e = instantiate(CONSTS).exports
    assert e.sum() == 3
    assert [e.at(i) for i in range(3)] == [1, 2, 3]
    assert e.lens() == (2, 9, 4, 2)
    assert isinstance(e.g.value, StructRef) and isinstance(e.f.value, ArrayRef)
    assert isinstance(e.t.get(0), StructRef) and e.t.get(0) is e.t.get(1)  # the initializer runs once


def test_a_constant_expression_past_the_heap_limit(wat: Callable[[str], bytes]) -> None:
    text = "(module (type $a (array i64)) (global (ref $a) (array.new_default $a (i32.const 100000))))"
    Instance(Store(), Module(wat(text)))
    with pytest.raises(Exception, match="GC heap limit"):
        Instance(Store(max_gc_bytes=1 << 16), Module(wat(text)))


def test_the_wasmer_face_passes_structs_and_arrays(wat: Callable[[str], bytes]) -> None:
    from wasmroutines.wasmer import Instance as WasmerInstance
    from wasmroutines.wasmer import Module as WasmerModule
    from wasmroutines.wasmer import Store as WasmerStore

    store = WasmerStore()
    e = WasmerInstance(WasmerModule(store, wat(STRUCTS))).exports
    head = e.list(4)
    assert isinstance(head, StructRef) and e.sum(head) == 10
    c = WasmerInstance(WasmerModule(store, wat(CASTS))).exports
    assert c.is_t(c.make_t()) == 1 and isinstance(c.make_a(), ArrayRef)


def test_a_tag_of_struct_references(store: Store, wat: Callable[[str], bytes]) -> None:
    """A tag's payload may be of a concrete reference type (TagType took only ValType members)."""
    text = """(module (type $s (struct (field i32))) (tag $t (export "t") (param (ref null $s)))
      (func (export "f") (result i32)
        (block $h (result (ref null $s))
          (try_table (catch $t $h) (throw $t (struct.new $s (i32.const 7))))
          (ref.null $s))
        (struct.get $s 0)))"""
    e = Instance(store, Module(wat(text))).exports
    assert e.f() == 7
    assert str(e.t.type).startswith("(tag (param (ref null ")


def test_v128_values_in_constant_expressions(instantiate: Callable[[str], Instance]) -> None:
    text = """(module
      (type $s (struct (field v128) (field i32)))
      (type $a (array v128))
      (global $g (ref $s) (struct.new $s (v128.const i64x2 1 2) (i32.const 3)))
      (global $h (ref $a) (array.new $a (v128.const i64x2 4 5) (i32.const 2)))
      (global $f (ref $a) (array.new_fixed $a 2 (v128.const i64x2 6 7) (v128.const i64x2 8 9)))
      (func (export "get") (result i64 i32 i64 i64)
        (i64x2.extract_lane 1 (struct.get $s 0 (global.get $g))) (struct.get $s 1 (global.get $g))
        (i64x2.extract_lane 1 (array.get $a (global.get $h) (i32.const 1)))
        (i64x2.extract_lane 0 (array.get $a (global.get $f) (i32.const 1)))))"""
    assert instantiate(text).exports.get() == (2, 3, 5, 8)


@pytest.mark.parametrize("result", ["(ref $s)", "anyref", "externref"])
def test_a_finished_threads_reference_results_live_until_joined(
    store: Store, instantiate: Callable[[str], Instance], result: str
) -> None:
    # A thread's results wait in raw slots until it is joined: a struct among them is pinned meanwhile, or the
    # collections that other threads' allocations run would free it (and its memory go to their structs).
    made = "(struct.new $s (local.get 0))"
    param = "(local.get 0)"
    if result == "externref":
        made, param = f"(extern.convert_any {made})", f"(any.convert_extern {param})"
    inst = instantiate(f"""(module
      (type $s (struct (field i32)))
      (func (export "make") (param i32) (result {result}) {made})
      (func (export "churn") (param $n i32)
        (loop $l (drop (struct.new $s (i32.const 7)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      (func (export "get") (param {result}) (result i32)
        (struct.get $s 0 (ref.cast (ref $s) {param}))))""")
    made = spawn(inst.exports.make, 42)
    store.scheduler.run()  # it ran to its end: its result is raw slots now
    store.gc()
    inst.exports.churn(10_000)
    store.gc()
    assert inst.exports.get(join(made)) == 42
