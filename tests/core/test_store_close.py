"""Store.close() and `with Store() as store:`: threads ended, C resources freed at once, every object of the
store raising StoreClosedError afterwards (never a crash, never a read of freed memory)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest

from wasmroutines import (
    Function,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Memory,
    MemoryType,
    Module,
    Store,
    StoreClosedError,
    Table,
    TableType,
    ThreadState,
    ValType,
    current_scheduler,
    spawn,
)
from wasmroutines.core._ffi import lib

I32 = ValType.I32

MODULE = """
(module
  (import "host" "block" (func $block (param i32) (result i32)))
  (memory (export "mem") 1 1 shared)
  (table (export "tab") 2 funcref)
  (global (export "g") (mut i32) (i32.const 7))
  (func $id (export "id") (param i32) (result i32) (local.get 0))
  (elem (i32.const 0) $id)
  (func (export "work") (param i32) (result i32) (call $block (local.get 0)))
  (func (export "wait") (result i32)
    (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1))))
"""


def _instance(store: Store, wat: Callable[[str], bytes], block: Callable[[int], int] | None = None) -> Instance:
    host = Function(store, block or (lambda x: x), FuncType([I32], [I32]))
    return Instance(store, Module(wat(MODULE)), {"host": {"block": host}})


def _vm_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1])
    raise AssertionError("no VmSize in /proc/self/status")


def test_with_closes_the_store_at_exit(wat: Callable[[str], bytes]) -> None:
    with Store() as store:
        inst = _instance(store, wat)
        assert inst.exports.id(5) == 5
        assert not store.closed
    assert store.closed
    with pytest.raises(StoreClosedError):
        inst.exports.id(5)
    store.close()  # a second close does nothing
    assert store.closed


def test_with_closes_the_store_when_the_block_raises(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(ZeroDivisionError), Store() as store:
        _instance(store, wat)
        1 // 0  # noqa: B018
    assert store.closed


def test_close_frees_the_memory_reservations_at_once(wat: Callable[[str], bytes]) -> None:
    store = Store()
    mems = [Memory(store, MemoryType(1)) for _ in range(4)]  # each reserves its whole range (GiBs)
    before = _vm_kib()
    store.close()
    assert before - _vm_kib() > 1 << 20  # over a GiB of address space given back, the Store still referenced
    assert store._native.ptr is None and store._native._held is None
    assert all(m.store is store for m in mems)


def test_every_object_of_a_closed_store_raises(wat: Callable[[str], bytes]) -> None:
    store = Store()
    inst = _instance(store, wat)
    ex = inst.exports
    func, mem, tab, glob = ex.id, ex.mem, ex.tab, ex.g
    host = Function(store, lambda: 1, FuncType([], [I32]))
    own_mem = Memory(store, MemoryType(1))
    own_tab = Table(store, TableType(ValType.FUNCREF, 1))
    own_glob = Global(store, GlobalType(I32, mutable=True), 3)
    assert func.type == FuncType([I32], [I32]) and glob.type.mutable  # types read (cached) while open
    store.close()
    uses: list[Callable[[], Any]] = [
        lambda: inst.exports,
        lambda: inst.function("id"),
        lambda: func(1),
        lambda: func.call_bits([1]),
        lambda: func.name,
        lambda: host(),
        lambda: mem.read(0, 4),
        lambda: mem.write(0, b"x"),
        lambda: mem.buffer,
        lambda: mem.data_size,
        lambda: mem.grow(1),
        lambda: mem.type,
        lambda: own_mem.size,
        lambda: tab.get(0),
        lambda: tab.set(1, None),
        lambda: tab.grow(1),
        lambda: len(tab),
        lambda: own_tab.size,
        lambda: glob.value,
        lambda: setattr(glob, "value", 1),
        lambda: glob.bits,
        lambda: own_glob.value,
        lambda: store.fuel,
        lambda: setattr(store, "fuel", 10),
    ]
    for i, use in enumerate(uses):
        with pytest.raises(StoreClosedError, match="closed"):
            use()
            pytest.fail(f"use {i} did not raise")
    # Identity, hashing and repr still work (a closed object may sit in a set or a log line).
    assert func == ex.id and len({func, mem, tab, glob}) == 4
    assert "closed" in repr(func) and "closed" in repr(mem) and "closed" in repr(tab) and "closed" in repr(glob)
    assert repr(inst).startswith("<Instance")


def test_nothing_new_can_be_made_in_a_closed_store(wat: Callable[[str], bytes]) -> None:
    store = Store()
    module = Module(wat(MODULE))
    store.close()
    makers: list[Callable[[], Any]] = [
        lambda: Function(store, lambda x: x, FuncType([I32], [I32])),
        lambda: Memory(store, MemoryType(1)),
        lambda: Table(store, TableType(ValType.FUNCREF, 1)),
        lambda: Global(store, GlobalType(I32), 1),
        lambda: Instance(store, module, {"host": {"block": lambda x: x}}),
    ]
    for make in makers:
        with pytest.raises(StoreClosedError):
            make()
    # The module is not the store's: it still instantiates elsewhere.
    with Store() as other:
        inst = Instance(other, module, {"host": {"block": lambda x: x}})
        assert inst.exports.id(9) == 9


def test_an_object_of_a_closed_store_cannot_be_linked_into_another(wat: Callable[[str], bytes]) -> None:
    store = Store()
    host = Function(store, lambda x: x, FuncType([I32], [I32]))
    store.close()
    with Store() as other, pytest.raises(Exception) as info:
        Instance(other, Module(wat(MODULE)), {"host": {"block": host}})
    assert "another store" in str(info.value)  # refused before its C pointer is read


def test_close_ends_the_stores_threads(wat: Callable[[str], bytes]) -> None:
    store = Store()
    inst = _instance(store, wat, lambda x: current_scheduler().sleep(100) or x)
    waiting = spawn(inst.exports.wait)
    sleeping = spawn(inst.exports.work, 1)
    store.scheduler.yield_now()
    idf = inst.exports.id
    never_started = spawn(idf, 2)
    assert [t.state for t in store.scheduler.alive] == [ThreadState.WAITING, ThreadState.BLOCKED, ThreadState.RUNNABLE]
    native = store._native
    assert lib.wr_api_store_pool_threads(native.ptr) >= 3
    store.close()
    assert store.scheduler.alive == [] and native.ptr is None  # with the store, its pool's wr_threads
    for t in (waiting, sleeping, never_started):
        assert t.state is ThreadState.DONE and not t.alive
        with pytest.raises(StoreClosedError, match=f"thread {t.id} was ended by Store.close"):
            t.join()
    # No new thread: spawning a function of the closed store raises, before any C call.
    with pytest.raises(StoreClosedError):
        spawn(idf, 1)
    with pytest.raises(StoreClosedError):
        store.scheduler.spawn_bits(idf, [1])


def test_a_closed_stores_finished_threads_keep_their_results(wat: Callable[[str], bytes]) -> None:
    store = Store()
    inst = _instance(store, wat)
    t = spawn(inst.exports.id, 4)
    assert t.join() == 4
    store.close()
    assert t.join() == 4  # done before the close: its outcome stands


def test_a_python_thread_calling_wasm_after_close_gets_the_error(wat: Callable[[str], bytes]) -> None:
    store = Store()
    func = _instance(store, wat).exports.id
    store.close()
    t = store.scheduler.spawn(lambda: func(1))
    with pytest.raises(StoreClosedError):
        t.join()


def test_a_buffer_taken_before_close_stays_valid(wat: Callable[[str], bytes]) -> None:
    store = Store()
    mem = _instance(store, wat).exports.mem
    mem.write(0, b"abcd")
    view = mem.buffer
    sub = view[1:3]
    native = store._native
    store.close()
    assert native.ptr is None and native._held is not None  # memory kept
    assert lib.wr_api_store_pool_threads(native._held) == 0  # threads gone
    assert bytes(view[0:4]) == b"abcd" and bytes(sub) == b"bc"
    view[0] = ord("z")
    assert bytes(sub) == b"bc" and view[0] == ord("z")
    with pytest.raises(StoreClosedError):
        mem.buffer  # noqa: B018
    del view
    gc.collect()
    assert native._held is not None  # the slice still points into the memory
    del sub
    gc.collect()
    assert native._held is None and native.ptr is None  # the last view gone: the store is freed


def test_close_from_a_host_function_is_refused(wat: Callable[[str], bytes]) -> None:
    store = Store()
    seen: list[BaseException] = []

    def block(x: int) -> int:
        try:
            store.close()
        except RuntimeError as exc:
            seen.append(exc)
        return x

    inst = _instance(store, wat, block)
    assert inst.exports.work(6) == 6
    assert len(seen) == 1 and "while a call into it is running" in str(seen[0])
    assert not store.closed and inst.exports.id(1) == 1  # left open and working
    store.close()


def test_close_from_a_green_thread_is_refused(wat: Callable[[str], bytes]) -> None:
    store = Store()
    inst = _instance(store, wat)

    def closer() -> None:
        store.close()

    t = store.scheduler.spawn(closer)
    with pytest.raises(RuntimeError, match="root"):
        t.join()
    assert not store.closed and inst.exports.id(3) == 3
    store.close()
