"""memory64 and table64 (WebAssembly 3.0): i64 addresses, sizes, offsets and table indices.

The core must never touch memory it does not own whatever the address and offset: address + offset is
checked with 64-bit overflow in mind, bulk ranges are checked before anything is written, and a table64
index above 2^32 must not wrap onto a small one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import (
    Features,
    Instance,
    LinkError,
    MalformedModule,
    Memory,
    MemoryType,
    Module,
    ResourceLimitError,
    Store,
    Table,
    TableType,
    Trap,
    ValType,
)

I32, I64 = ValType.I32, ValType.I64
U64 = 2**64


def signed(v: int) -> int:
    """An unsigned 64-bit value as the i64 argument it stands for."""
    return v - U64 if v >= 2**63 else v


MEM64 = """(module
  (memory (export "mem") i64 1 4)
  (data (i64.const 8) "abcdefgh")
  (data $p "passive")
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load_max_offset") (param i64) (result i32) (i32.load8_u offset=0xFFFFFFFFFFFFFFFF (local.get 0)))
  (func (export "load_big_offset") (param i64) (result i32) (i32.load offset=0x100000000 (local.get 0)))
  (func (export "atomic_max_offset") (param i64) (result i32)
    (i32.atomic.load offset=0xFFFFFFFFFFFFFFFC (local.get 0)))
  (func (export "v128_max_offset") (param i64) (result i64)
    (i64x2.extract_lane 0 (v128.load offset=0xFFFFFFFFFFFFFFF0 (local.get 0))))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (memory.init $p (local.get 0) (local.get 1) (local.get 2))))"""


@pytest.fixture
def mem64(store: Store, wat: Callable[[str], bytes]) -> Instance:
    return Instance(store, Module(wat(MEM64)))


def test_i64_addresses_sizes_and_the_type(mem64: Instance) -> None:
    e = mem64.exports
    assert e.load(8) == int.from_bytes(b"abcdefgh", "little")
    e.store(65536 - 8, -1)
    assert e.load(65536 - 8) == -1
    assert e.size() == 1 and e.grow(2) == 1 and e.size() == 3
    assert e.grow(2) == -1 and e.grow(signed(2**63)) == -1 and e.grow(-1) == -1  # over the maximum: -1 as an i64
    mem = e.mem
    assert isinstance(mem, Memory)
    assert mem.type == MemoryType(3, 4, address_type=I64) and mem.type.is64
    assert mem.size == 3 and mem.data_size == 3 * 65536


HUGE = [2**32, 2**32 - 1, 2**63, U64 - 1, U64 - 8, U64 - 65536]


@pytest.mark.parametrize("addr", HUGE)
def test_huge_addresses_trap(mem64: Instance, addr: int) -> None:
    with pytest.raises(Trap, match="out of bounds memory access"):
        mem64.exports.load(signed(addr))
    with pytest.raises(Trap, match="out of bounds memory access"):
        mem64.exports.store(signed(addr), 1)


@pytest.mark.parametrize("addr", [0, 1, 8, 2**32, U64 - 1])
def test_offsets_that_overflow_trap_instead_of_wrapping(mem64: Instance, addr: int) -> None:
    # address + offset would wrap to a small address (e.g. 1 + (2^64 - 1) = 0): it is out of bounds.
    e = mem64.exports
    e.store(0, 0x1111)
    for f in (e.load_max_offset, e.load_big_offset, e.atomic_max_offset, e.v128_max_offset):
        with pytest.raises(Trap, match="out of bounds memory access|unaligned atomic"):
            f(signed(addr))


def test_bulk_ranges_are_checked_whole(mem64: Instance) -> None:
    e = mem64.exports
    mem = e.mem
    e.fill(100, 0x5A, 4)
    assert mem.read(100, 4) == b"\x5a" * 4
    e.copy(200, 100, 4)
    assert mem.read(200, 4) == b"\x5a" * 4
    e.init(300, 0, 7)
    assert mem.read(300, 7) == b"passive"
    before = mem.read(0, 65536)
    for args in [(0, 1, signed(U64 - 1)), (65536 - 1, 1, 2), (signed(U64 - 1), 1, 2), (1, 1, signed(2**63))]:
        with pytest.raises(Trap, match="out of bounds memory access"):
            e.fill(*args)
    for args in [(0, 8, signed(U64 - 1)), (signed(U64 - 4), 0, 8), (0, signed(U64 - 4), 8), (8, 0, 65536)]:
        with pytest.raises(Trap, match="out of bounds memory access"):
            e.copy(*args)
    for args in [(signed(U64 - 1), 0, 2), (65536 - 1, 0, 2), (0, 1, 7)]:
        with pytest.raises(Trap, match="out of bounds memory access"):
            e.init(*args)
    assert mem.read(0, 65536) == before  # nothing written by any of them


def test_a_64_bit_memory_beyond_4_gib(wat: Callable[[str], bytes]) -> None:
    # The address space is reserved, not committed: pages never touched cost nothing.
    store = Store(max_memory_pages=65536 + 16)
    text = """(module
      (memory (export "mem") i64 65537)
      (func (export "put") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
      (func (export "get") (param i64) (result i64) (i64.load (local.get 0))))"""
    try:
        inst = Instance(store, Module(wat(text)))
    except ResourceLimitError:
        pytest.skip("this host cannot reserve more than 4 GiB of address space")
    e = inst.exports
    top = 65537 * 65536 - 8
    e.put(2**32 + 16, 42)
    e.put(top, 43)
    assert (e.get(2**32 + 16), e.get(top), e.get(16)) == (42, 43, 0)  # no wrap onto low memory
    with pytest.raises(Trap, match="out of bounds memory access"):
        e.get(top + 1)
    assert e.mem.read(2**32 + 16, 1) == b"\x2a"


def test_a_maximum_beyond_the_host_grows_to_minus_one(store: Store, wat: Callable[[str], bytes]) -> None:
    # 2^48 pages may be declared; growing past what the store allows answers -1, as the spec permits.
    text = """(module
      (memory i64 1 0x1000000000000)
      (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"""
    e = Instance(store, Module(wat(text))).exports
    assert e.grow(2**40) == -1 and e.grow(1) == 1
    # A minimum beyond it fails cleanly, with a typed error.
    with pytest.raises(ResourceLimitError):
        Instance(store, Module(wat("(module (memory i64 0x1000000000000))")))


def test_python_memories_of_either_address_type(store: Store, wat: Callable[[str], bytes]) -> None:
    text = '(module (import "env" "m" (memory i64 1)) (func (export "get") (result i32) (i32.load (i64.const 4))))'
    m64 = Memory(store, MemoryType(1, address_type=I64))
    m64.write(4, (77).to_bytes(4, "little"))
    assert Instance(store, Module(wat(text)), {"env": {"m": m64}}).exports.get() == 77
    assert m64.grow(1) == 1 and m64.type.is64
    with pytest.raises(LinkError):  # address types must match exactly
        Instance(store, Module(wat(text)), {"env": {"m": Memory(store, MemoryType(1))}})
    with pytest.raises(ValueError):
        MemoryType(1, address_type=ValType.F32)


def test_webassembly_2_has_no_memory64(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(MalformedModule, match="integer too large"):
        Module(wat("(module (memory i64 1))"), features=Features.WASM2)
    Module(wat("(module (memory i64 1))"))


TABLE64 = """(module
  (type $f (func (result i32)))
  (table $t (export "t") i64 4 10 funcref)
  (table $u i32 4 funcref)
  (elem (table $t) (i64.const 1) func $one $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $f) (local.get 0)))
  (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "clear") (param i64) (table.set $t (local.get 0) (ref.null func)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "fill") (param i64 i64) (table.fill $t (local.get 0) (ref.func $one) (local.get 1)))
  (func (export "copy_to_u") (param i32 i64 i32) (table.copy $u $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call_u") (param i32) (result i32) (call_indirect $u (type $f) (local.get 0))))"""


@pytest.fixture
def table64(store: Store, wat: Callable[[str], bytes]) -> Instance:
    return Instance(store, Module(wat(TABLE64)))


def test_table64_instructions(table64: Instance) -> None:
    e = table64.exports
    assert (e.call(1), e.call(2)) == (1, 2)
    assert e.size() == 4 and e.grow(2) == 4 and e.size() == 6
    assert e.grow(5) == -1 and e.grow(signed(2**32 + 1)) == -1 and e.grow(-1) == -1
    e.fill(3, 3)
    assert e.call(5) == 1
    e.clear(1)
    assert e.is_null(1) == 1
    e.copy_to_u(0, 2, 2)  # i64 source index, i32 destination and size (the smaller address type)
    assert (e.call_u(0), e.call_u(1)) == (2, 1)
    t = e.t
    assert isinstance(t, Table) and t.type == TableType(ValType.FUNCREF, 6, 10, address_type=I64)


@pytest.mark.parametrize("index", [2**32, 2**32 + 1, 2**32 + 2, 2**63, U64 - 1])
def test_table64_indices_never_wrap(table64: Instance, index: int) -> None:
    # 2^32 + 1 truncated to 32 bits is 1, which holds $one: it must trap instead.
    e = table64.exports
    with pytest.raises(Trap, match="undefined element"):
        e.call(signed(index))
    with pytest.raises(Trap, match="out of bounds table access"):
        e.is_null(signed(index))
    with pytest.raises(Trap, match="out of bounds table access"):
        e.clear(signed(index))
    with pytest.raises(Trap, match="out of bounds table access"):
        e.fill(1, signed(index))
    with pytest.raises(Trap, match="out of bounds table access"):
        e.copy_to_u(0, signed(index), 0)


def test_python_tables_of_either_address_type(store: Store, wat: Callable[[str], bytes]) -> None:
    text = '(module (import "env" "t" (table i64 2 funcref)) (func (export "n") (result i64) (table.size 0)))'
    t64 = Table(store, TableType(ValType.FUNCREF, 2, address_type=I64))
    assert Instance(store, Module(wat(text)), {"env": {"t": t64}}).exports.n() == 2
    with pytest.raises(IndexError):
        t64.get(2**40)
    with pytest.raises(LinkError):
        Instance(store, Module(wat(text)), {"env": {"t": Table(store, TableType(ValType.FUNCREF, 2))}})
