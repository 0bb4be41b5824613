"""Store objects of a module's own types: a type read from a module's imports or exports (FuncType.module_type,
TagType.module_type) makes a function or tag of the module's type as an instance of it has the type (its
recursion group, declared supertype and finality), which an import of that type requires; a type made by hand
is final and alone in its group, and matches only an import of such a type. A global's or table's type read from
a module (GlobalType.module, TableType.module) names the module's types, and the object made with it the store's."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from wasmroutines import (
    Function,
    FuncType,
    Global,
    GlobalType,
    Instance,
    LinkError,
    Module,
    RefType,
    Store,
    StructRef,
    Table,
    Tag,
    TagType,
    ValType,
    WasmException,
    wat2wasm,
)
from wasmroutines import wasmer as wasmer_face

I32 = ValType.I32

NON_FINAL = """(module
  (type $t (sub (func (param i32) (result i32))))
  (import "env" "f" (func $f (type $t)))
  (func (export "g") (param i32) (result i32) (call $f (local.get 0))))"""

#: A function type in a recursion group with a struct it takes (as GC languages' compilers emit their types).
REC_GROUP = """(module
  (rec (type $s (struct (field i32))) (type $t (func (param (ref $s)) (result i32))))
  (import "env" "f" (func $f (type $t)))
  (func (export "g") (param i32) (result i32) (call $f (struct.new $s (local.get 0)))))"""

TAG_IN_GROUP = """(module
  (rec (type $s (struct)) (type $t (func (param i32))))
  (import "env" "e" (tag $e (type $t)))
  (func (export "throw") (param i32) (throw $e (local.get 0))))"""


def _import_type(module: Module) -> Any:
    (imp,) = module.imports
    return imp.type


@pytest.mark.parametrize("wat", [NON_FINAL, REC_GROUP], ids=["non-final", "rec-group"])
def test_a_host_function_of_an_imports_type_links_where_a_hand_made_type_does_not(wat: str) -> None:
    module = Module(wat2wasm(wat))
    ft = _import_type(module)
    store = Store()
    by_hand = FuncType(ft.params if wat is NON_FINAL else (RefType(0, False),), ft.results)
    if wat is REC_GROUP:
        Instance(store, Module(wat2wasm("(module (type (struct (field i32))))")), {})  # the store's type 0: $s
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(store, module, {"env": {"f": Function(store, lambda x: 1, by_hand)}})
    seen: list[Any] = []

    def f(x: Any) -> int:
        seen.append(x)
        return 7

    assert ft.module_type == (module._ptr, 0 if wat is NON_FINAL else 1)
    func = Function(store, f, ft)
    assert Instance(store, module, {"env": {"f": func}}).exports.g(5) == 7
    if wat is REC_GROUP:
        # Its type as the store has it: the struct it takes is the store's type (the host gets a StructRef of it).
        (param,) = func.type.params
        assert isinstance(param, RefType) and store.type_kind(int(param.heap)) == 1
        assert isinstance(seen[0], StructRef) and seen[0].type_id == param.heap
    else:
        assert seen == [5] and func.type == FuncType((I32,), (I32,))


def test_a_module_type_is_equal_to_the_same_type_made_by_hand() -> None:
    ft = _import_type(Module(wat2wasm(NON_FINAL)))
    assert ft == FuncType((I32,), (I32,)) and hash(ft) == hash(FuncType((I32,), (I32,)))
    assert FuncType((I32,), (I32,)).module_type is None


def test_a_tag_of_an_imports_type_links_and_catches() -> None:
    module = Module(wat2wasm(TAG_IN_GROUP))
    tt = _import_type(module)
    assert isinstance(tt, TagType) and tt.module_type is not None
    store = Store()
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(store, module, {"env": {"e": Tag(store, TagType((I32,)))}})
    tag = Tag(store, tt)
    assert tag.type == TagType((I32,))
    with pytest.raises(WasmException) as info:
        Instance(store, module, {"env": {"e": tag}}).exports.throw(9)
    assert info.value.tag == tag and info.value.payload == (9,)


def test_an_exports_type_makes_a_function_another_instance_of_the_module_imports() -> None:
    # The module exports the function it imports: its export's type is the same module type.
    wat = REC_GROUP.replace('(func (export "g")', '(export "f2" (func $f)) (func (export "g")')
    module = Module(wat2wasm(wat))
    (export_type,) = [e.type for e in module.exports if e.name == "f2"]
    store = Store()
    assert Instance(store, module, {"env": {"f": Function(store, lambda s: 3, export_type)}}).exports.g(1) == 3


def test_the_wasmer_face_keeps_a_modules_types() -> None:
    store = wasmer_face.Store()
    module = wasmer_face.Module(store, REC_GROUP)
    (imp,) = module.imports
    func = wasmer_face.Function(store, lambda s: 11, imp.type)
    assert wasmer_face.Instance(module, {"env": {"f": func}}).exports.g(2) == 11
    tag_module = wasmer_face.Module(store, TAG_IN_GROUP)
    (tag_import,) = tag_module.imports
    tag = wasmer_face.Tag(store, tag_import.type)
    with pytest.raises(WasmException):
        wasmer_face.Instance(tag_module, {"env": {"e": tag}}).exports.throw(1)


GLOBAL_AND_TABLE = """(module
  (rec (type $s (struct (field i32))) (type $a (array i8)))
  (import "env" "g" (global $g (mut (ref null $a))))
  (import "env" "t" (table $t 2 (ref null $s)))
  (func (export "set") (param i32)
    (global.set $g (array.new_default $a (local.get 0)))
    (table.set $t (i32.const 1) (struct.new $s (local.get 0))))
  (func (export "len") (result i32) (array.len (global.get $g))))"""


def test_a_global_and_a_table_of_an_imports_type_name_the_stores_type() -> None:
    # A type read from a module names the module's types (RefType's heap: the module's index); the global and table
    # made with it name the store's (the module's types added to the store first).
    module = Module(wat2wasm(GLOBAL_AND_TABLE))
    gt, tt = (imp.type for imp in module.imports)
    assert isinstance(gt, GlobalType) and gt.module is module._ptr and gt.type == RefType(1, True)
    store = Store()
    Instance(store, Module(wat2wasm("(module (type (func)) (type (func (param i32))) (type (struct)))")), {})
    glob, table = Global(store, gt), Table(store, tt)
    assert store.type_kind(int(glob.type.type.heap)) == 2 and store.type_kind(int(table.type.type.heap)) == 1
    assert glob.type.type.heap != 1 and table.type.type.heap != 0  # not the module's indices: the store has 3 before
    inst = Instance(store, module, {"env": {"g": glob, "t": table}})
    inst.exports.set(6)
    assert inst.exports.len() == 6 and isinstance(table.get(1), StructRef)


def test_a_module_read_for_its_imports_is_freed_with_its_last_reference() -> None:
    # The types it hands out keep its C object, not the Module, which caches them: no cycle, so the Module goes
    # when its last reference does (its C memory at once when no type holds it), not at a pass of the collector.
    module = Module(wat2wasm(REC_GROUP))
    ft = _import_type(module)
    gone = weakref.ref(module)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        del module
        assert gone() is None
    finally:
        if gc_was:
            gc.enable()
    store = Store()
    assert Function(store, lambda s: 1, ft).type.results == (I32,)  # the type still makes a function
