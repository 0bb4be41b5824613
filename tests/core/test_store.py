"""store.py: limits, lifetime of objects, externref handles."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

import pytest

from wasmroutines import Instance, Memory, MemoryType, Module, ResourceLimitError, Store


def test_memory_limit() -> None:
    store = Store(max_memory_pages=2)
    Memory(store, MemoryType(2))
    with pytest.raises(ResourceLimitError):
        Memory(store, MemoryType(3))
    m = Memory(store, MemoryType(1))
    with pytest.raises(ResourceLimitError):
        m.grow(2)


def test_objects_keep_their_store_alive(wat: Callable[[str], bytes]) -> None:
    store = Store()
    ref = weakref.ref(store)
    inst = Instance(store, Module(wat('(module (func (export "f") (result i32) i32.const 3))')))
    f = inst.exports.f
    del store, inst
    gc.collect()
    assert ref() is not None and f() == 3
    del f
    gc.collect()
    assert ref() is None


def test_store_without_cycles_is_freed_promptly(wat: Callable[[str], bytes]) -> None:
    store = Store()
    Instance(store, Module(wat('(module (memory (export "m") 1) (func (export "f")))'))).exports.f()
    ref = weakref.ref(store)
    del store
    assert ref() is None  # by reference counting alone: no cycle through the registries


def test_module_outlives_python_reference(wat: Callable[[str], bytes]) -> None:
    store = Store()
    inst = Instance(store, Module(wat('(module (func (export "f") (result i32) i32.const 8))')))
    gc.collect()  # the Module object is gone from Python; the store keeps it for its instance
    assert inst.exports.f() == 8
