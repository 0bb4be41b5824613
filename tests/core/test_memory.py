"""memory.py: sizes, grow, the zero-copy buffer, read/write."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import PAGE_SIZE, Instance, Memory, MemoryType, ResourceLimitError, Store

PEEK_POKE = """(module (memory (export "mem") 1 4)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"""


def test_new_memory(store: Store) -> None:
    m = Memory(store, MemoryType(2, 3))
    assert (m.size, m.data_size) == (2, 2 * PAGE_SIZE)
    assert m.type == MemoryType(2, 3)
    assert m.grow(1) == 2 and m.size == 3
    with pytest.raises(ResourceLimitError, match="could not grow"):
        m.grow(1)
    assert Memory(store, MemoryType(0)).buffer.nbytes == 0
    with pytest.raises(ValueError):
        Memory(store, MemoryType(3, 2))
    with pytest.raises(ValueError):
        Memory(store, MemoryType(70000))


def test_buffer_is_shared_with_wasm(instantiate: Callable[..., Instance]) -> None:
    e = instantiate(PEEK_POKE).exports
    buf = e.mem.buffer
    assert not buf.readonly and buf.format == "B" and len(buf) == PAGE_SIZE
    buf[10] = 99
    assert e.load(10) == 99
    e.store(11, 7)
    assert buf[11] == 7
    assert bytes(buf[10:12]) == b"\x63\x07"


def test_buffer_survives_grow(instantiate: Callable[..., Instance]) -> None:
    e = instantiate(PEEK_POKE).exports
    before = e.mem.buffer
    assert e.grow(2) == 1 and e.mem.size == 3
    before[5] = 1  # the base never moves: an old view stays valid
    after = e.mem.buffer
    assert len(after) == 3 * PAGE_SIZE and after[5] == 1
    after[2 * PAGE_SIZE] = 42
    assert e.load(2 * PAGE_SIZE) == 42
    assert e.grow(5) == -1


def test_read_write(store: Store) -> None:
    m = Memory(store, MemoryType(1))
    m.write(100, b"hello")
    assert m.read(100, 5) == b"hello" and m.read(0, 0) == b""
    m.write(PAGE_SIZE - 2, bytearray(b"xy"))
    with pytest.raises(IndexError):
        m.read(PAGE_SIZE - 1, 2)
    with pytest.raises(IndexError):
        m.write(-1, b"a")
