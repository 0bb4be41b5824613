"""wasmroutines.wasmer: Memory, Buffer and the typed views (WASMER_API.md "Memory, Buffer, typed views")."""

from __future__ import annotations

import ctypes
import struct
import subprocess
import sys

import pytest

from wasmroutines import wasmer
from wasmroutines.wasmer import Buffer, Instance, Memory, MemoryType, Module, Store

PAGE = 65536
VIEWS = [
    ("uint8_view", wasmer.Uint8Array, "<B", 1),
    ("int8_view", wasmer.Int8Array, "<b", 1),
    ("uint16_view", wasmer.Uint16Array, "<H", 2),
    ("int16_view", wasmer.Int16Array, "<h", 2),
    ("uint32_view", wasmer.Uint32Array, "<I", 4),
    ("int32_view", wasmer.Int32Array, "<i", 4),
    ("uint64_view", wasmer.Uint64Array, "<Q", 8),
    ("int64_view", wasmer.Int64Array, "<q", 8),
    ("float32_view", wasmer.Float32Array, "<f", 4),
    ("float64_view", wasmer.Float64Array, "<d", 8),
]


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def memory(store: Store) -> Memory:
    return Memory(store, MemoryType(1))


# ---- Memory ----


def test_sizes(store: Store) -> None:
    memory = Memory(store, MemoryType(17))
    assert (memory.size, memory.data_size) == (17, 1114112)


def test_invalid_types(store: Store) -> None:
    with pytest.raises(RuntimeError) as info:
        Memory(store, MemoryType(3, 2))
    assert str(info.value) == "The memory is invalid because the maximum (2 pages) is less than the minimum (3 pages)"
    with pytest.raises(RuntimeError) as info:
        Memory(store, MemoryType(70000))
    assert str(info.value) == (
        "The minimum requested (70000 pages) memory is greater than the maximum allowed memory (65536 pages)"
    )
    with pytest.raises(RuntimeError, match="greater than the maximum allowed"):
        Memory(store, MemoryType(1, 70000))
    with pytest.raises(TypeError):
        Memory(store, 1)  # type: ignore[arg-type]


def test_shared_memory_needs_a_maximum(store: Store) -> None:
    # wasmer 1.1 accepted this; a shared memory without a maximum is invalid for the threads proposal.
    with pytest.raises(RuntimeError, match="shared memory must have a maximum"):
        Memory(store, MemoryType(1, shared=True))
    shared = Memory(store, MemoryType(1, 4, shared=True))
    assert shared.type.shared is True


def test_grow(store: Store) -> None:
    memory = Memory(store, MemoryType(17))
    assert memory.grow(2) == 17
    assert memory.size == 19
    with pytest.raises(RuntimeError) as info:
        memory.grow(100000)
    assert str(info.value) == "The memory could not grow: current size 19 pages, requested increase: 100000 pages"
    with pytest.raises(OverflowError):
        memory.grow(-1)
    with pytest.raises(TypeError):
        memory.grow(1.0)  # type: ignore[arg-type]


def test_type(store: Store) -> None:
    assert str(Memory(store, MemoryType(17)).type) == "MemoryType(minimum: 17, maximum: None, shared: false)"
    assert str(Memory(store, MemoryType(1, 2)).type) == "MemoryType(minimum: 1, maximum: Some(2), shared: false)"


def test_exported_memory_is_shared_with_wasm(store: Store) -> None:
    instance = Instance(
        Module(
            store,
            """(module (memory (export "memory") 1)
                 (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
                 (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1))))""",
        )
    )
    memory = instance.exports.memory
    memory.uint32_view()[4] = 0xDEADBEEF
    assert instance.exports.load(16) == struct.unpack("<i", struct.pack("<I", 0xDEADBEEF))[0]
    instance.exports.store(8, -2)
    assert memory.int32_view(2)[0] == -2
    assert bytes(memory.buffer[8:12]) == b"\xfe\xff\xff\xff"


# ---- Buffer ----


def test_buffer_protocol(memory: Memory) -> None:
    buffer = memory.buffer
    assert isinstance(buffer, Buffer)
    view = memoryview(buffer)
    assert (view.ndim, view.format, view.itemsize, view.strides, view.readonly) == (1, "B", 1, (1,), False)
    assert view.c_contiguous and len(view) == PAGE
    view[0:4] = b"wasm"
    assert bytearray(buffer)[:4] == bytearray(b"wasm")
    array = (ctypes.c_uint8 * PAGE).from_buffer(buffer)
    array[4] = 42
    assert memory.uint8_view()[4] == 42
    assert view.cast("I")[0] == int.from_bytes(b"wasm", "little")


def test_buffer_is_not_constructible() -> None:
    with pytest.raises(TypeError):
        Buffer()


KEEPALIVE = """
import gc
from wasmroutines.wasmer import Memory, MemoryType, Store
view = memoryview(Memory(Store(), MemoryType(2)).buffer)
gc.collect()
for i in range(0, len(view), 1024):
    view[i : i + 1024] = bytes([42]) * 1024
print(sum(view[::4096]))
"""


def test_buffer_keeps_the_memory_alive() -> None:
    # In a subprocess: were the store freed under the view, the writes would crash the interpreter.
    out = subprocess.run([sys.executable, "-c", KEEPALIVE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(42 * 32)


def test_buffer_length_follows_grow_when_taken_again(memory: Memory) -> None:
    old = memory.buffer
    memory.grow(1)
    assert len(old) == PAGE  # a taken buffer keeps its length and stays valid
    old[PAGE - 1] = 1
    assert len(memory.buffer) == 2 * PAGE


# ---- typed views ----


@pytest.mark.parametrize(("method", "cls", "fmt", "size"), VIEWS)
def test_view_classes(memory: Memory, method: str, cls: type, fmt: str, size: int) -> None:
    view = getattr(memory, method)()
    assert type(view) is cls
    assert view.bytes_per_element == size
    assert len(view) == PAGE // size
    with pytest.raises(TypeError):
        cls()


@pytest.mark.parametrize(("method", "cls", "fmt", "size"), VIEWS)
def test_offset_counts_elements(memory: Memory, method: str, cls: type, fmt: str, size: int) -> None:
    view = getattr(memory, method)(3)
    assert len(view) == PAGE // size - 3
    value = 1.5 if fmt[-1] in "fd" else 5
    view[0] = value
    assert struct.unpack_from(fmt, memory.buffer, 3 * size)[0] == value


@pytest.mark.parametrize(("method", "cls", "fmt", "size"), VIEWS)
def test_views_are_live_after_grow(memory: Memory, method: str, cls: type, fmt: str, size: int) -> None:
    view = getattr(memory, method)(1)
    before = len(view)
    memory.grow(2)
    assert len(view) == 3 * PAGE // size - 1 == before + 2 * PAGE // size
    last = len(view) - 1
    view[last] = 1
    assert view[last] == 1
    with pytest.raises(IndexError):
        view[last + 1]


def test_read_values_by_type(memory: Memory) -> None:
    memory.buffer[0:8] = struct.pack("<d", 0.1)
    assert memory.float64_view()[0] == 0.1
    memory.buffer[0:4] = struct.pack("<f", 0.1)
    assert memory.float32_view()[0] == 0.10000000149011612
    memory.buffer[0:8] = b"\xff" * 8
    assert memory.uint8_view()[0] == 255 and memory.int8_view()[0] == -1
    assert memory.uint64_view()[0] == 2**64 - 1 and memory.int64_view()[0] == -1


def test_index_errors(memory: Memory) -> None:
    view = memory.uint8_view()
    with pytest.raises(IndexError) as info:
        view[-1]
    assert str(info.value) == "Out of bound: Index cannot be negative"
    with pytest.raises(IndexError) as info:
        view[PAGE + 1]
    assert str(info.value) == f"Out of bound: Index {PAGE + 1} is larger than the view size {PAGE}"
    for bad in ("0", 1.0, None):
        with pytest.raises(ValueError) as vinfo:
            view[bad]  # type: ignore[index]
        assert str(vinfo.value) == "Only integers and slices are valid to represent an index"
        with pytest.raises(ValueError):
            view[bad] = 1  # type: ignore[index]
    with pytest.raises(IndexError):
        view[-1] = 0
    with pytest.raises(IndexError):
        view[PAGE] = 0


def test_slices_are_lists(memory: Memory) -> None:
    view = memory.uint8_view()
    view[0:5] = [1, 2, 3, 4, 5]
    assert view[0:5] == [1, 2, 3, 4, 5]
    assert view[0:5:2] == [1, 3, 5]
    assert view[3:3] == []
    assert view[-3:] == [0, 0, 0]
    assert view[PAGE - 2 : PAGE + 100] == [0, 0]  # overlong stops clamp
    assert isinstance(view[:0], list)
    assert len(view[:]) == PAGE


def test_slice_errors(memory: Memory) -> None:
    view = memory.uint8_view()
    with pytest.raises(IndexError) as info:
        view[2:1]
    assert str(info.value) == "Slice `2:1` cannot be empty"
    with pytest.raises(IndexError) as info:
        view[0:4:-1]
    assert str(info.value) == "Slice must have a positive step; given -1"
    with pytest.raises(IndexError, match="cannot be empty"):
        view[::-1]  # normalised first, as wasmer does: `65535:-1`
    with pytest.raises(ValueError):
        view[::0]


def test_slice_assignment(memory: Memory) -> None:
    view = memory.uint8_view()
    view[0:3] = b"abc"
    view[3:6] = bytearray(b"def")
    view[6:9] = (7, 8, 9)
    assert bytes(memory.buffer[0:9]) == b"abcdef\x07\x08\x09"
    view[0:6:2] = [0, 0, 0]
    assert bytes(memory.buffer[0:6]) == b"\x00b\x00d\x00f"
    with pytest.raises(IndexError) as info:
        view[0:3] = [1, 2]
    assert str(info.value) == "Sequence length 2 doesn't match slice length 3"
    wide = memory.int16_view(1)
    wide[0:2] = [-1, 2]
    assert bytes(memory.buffer[2:6]) == b"\xff\xff\x02\x00"
    floats = memory.float64_view()
    floats[1:3] = [0.5, 2]
    assert floats[1:3] == [0.5, 2.0]


def test_value_checks(memory: Memory) -> None:
    with pytest.raises(OverflowError):
        memory.uint8_view()[0] = 256
    with pytest.raises(OverflowError):
        memory.uint8_view()[0] = -1
    with pytest.raises(OverflowError):
        memory.int8_view()[0] = 128
    with pytest.raises(OverflowError):
        memory.uint64_view()[0] = 2**64
    with pytest.raises(TypeError):
        memory.int32_view()[0] = 1.5
    with pytest.raises(TypeError):
        memory.float32_view()[0] = "1"
    memory.uint8_view()[0] = True
    assert memory.uint8_view()[0] == 1


def test_bad_slice_assignment_writes_nothing(memory: Memory) -> None:
    view = memory.uint8_view()
    with pytest.raises(OverflowError):
        view[0:3] = [1, 2, 300]
    assert view[0:3] == [0, 0, 0]


def test_view_offset_checks(memory: Memory) -> None:
    assert len(memory.uint8_view(PAGE)) == 0  # a view may start at the end
    with pytest.raises(IndexError, match="Offset"):
        memory.uint8_view(PAGE + 1)  # wasmer 1.1 panicked
    with pytest.raises(IndexError, match="Offset"):
        memory.uint64_view(PAGE // 8 + 1)
    with pytest.raises(OverflowError):
        memory.uint8_view(-1)
    with pytest.raises(TypeError):
        memory.uint8_view(1.0)  # type: ignore[arg-type]


def test_empty_view_reaches_nothing(memory: Memory) -> None:
    view = memory.uint32_view(PAGE // 4)
    assert len(view) == 0 and view[:] == []
    with pytest.raises(IndexError):
        view[0]
    with pytest.raises(IndexError):
        view[0] = 1
    memory.grow(1)
    view[0] = 9  # the view follows the memory
    assert memory.uint32_view()[PAGE // 4] == 9


def test_views_iterate_and_are_sequences(memory: Memory) -> None:
    view = memory.uint8_view(PAGE - 4)
    view[:] = b"wxyz"
    assert list(view) == list(b"wxyz")
    assert bytes(view) == b"wxyz"


def test_memory_of_zero_pages(store: Store) -> None:
    memory = Memory(store, MemoryType(0))
    assert memory.data_size == 0 and len(memory.buffer) == 0
    view = memory.uint8_view()
    assert len(view) == 0 and view[:] == []
    with pytest.raises(IndexError):
        view[0]


# ---- memory64 and multiple memories (WebAssembly 3.0: additions to wasmer) ----

MEM64_WAT = """(module
  (memory (export "small") 1)
  (memory (export "big") i64 1 8)
  (func (export "put") (param i64 i64) (i64.store 1 (local.get 0) (local.get 1)))
  (func (export "grow") (param i64) (result i64) (memory.grow 1 (local.get 0))))"""


def test_a_64_bit_memory_and_several_per_instance(store: Store) -> None:
    inst = Instance(Module(store, MEM64_WAT))
    small, big = inst.exports.small, inst.exports.big
    assert isinstance(small, Memory) and isinstance(big, Memory)
    assert big.type == MemoryType(1, 8, is64=True) and big.type.is64 and not small.type.is64
    assert str(big.type) == "MemoryType(minimum: 1, maximum: Some(8), shared: false, is64: true)"
    inst.exports.put(PAGE - 8, 0x0102030405060708)
    assert bytes(big.uint8_view()[PAGE - 8 : PAGE]) == bytes(range(8, 0, -1))
    assert bytes(small.uint8_view()[PAGE - 8 : PAGE]) == bytes(8)  # the other memory is untouched
    assert inst.exports.grow(2) == 1 and big.size == 3 and big.grow(1) == 3
    assert inst.exports.grow(-1) == -1  # an i64 -1: cannot grow by 2^64 - 1 pages
    with pytest.raises(RuntimeError):
        big.grow(2**40)
    with pytest.raises(OverflowError):
        MemoryType(2**32)  # 32-bit limits are u32
    assert MemoryType(2**40, is64=True).minimum == 2**40
    own = Memory(store, MemoryType(2, is64=True))
    assert own.type.is64 and own.size == 2
