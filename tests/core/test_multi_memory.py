"""Multiple memories (WebAssembly 3.0): memory indices in loads, stores, atomics and the memory instructions.

Memory 0 of 32-bit addresses keeps its own instruction forms; any other memory is reached through the
instance's memory array (docs/interpreter.md, "Multiple memories and memory64")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasmroutines import (
    Features,
    Instance,
    InvalidModule,
    LinkError,
    MalformedModule,
    Memory,
    MemoryType,
    Module,
    Store,
    Trap,
    join,
    spawn,
)

TWO = """(module
  (memory $a (export "a") 1)
  (memory $b (export "b") 2 4)
  (data (memory $b) (i32.const 16) "hello")
  (data $p "passive!")
  (func (export "store") (param $m i32) (param $addr i32) (param $v i32)
    (if (local.get $m)
      (then (i32.store $b (local.get $addr) (local.get $v)))
      (else (i32.store $a (local.get $addr) (local.get $v)))))
  (func (export "load") (param $m i32) (param $addr i32) (result i32)
    (if (result i32) (local.get $m)
      (then (i32.load $b (local.get $addr)))
      (else (i32.load $a (local.get $addr)))))
  (func (export "load8_b_off") (param $addr i32) (result i32) (i32.load8_u $b offset=16 (local.get $addr)))
  (func (export "size_b") (result i32) (memory.size $b))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "size_a") (result i32) (memory.size $a))
  (func (export "fill_b") (param i32 i32 i32) (memory.fill $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_b_to_a") (param i32 i32 i32) (memory.copy $a $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_a_to_b") (param i32 i32 i32) (memory.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_b") (param i32 i32 i32) (memory.init $b $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "v128_b") (param i32) (result i64) (i64x2.extract_lane 0 (v128.load $b (local.get 0)))))"""


@pytest.fixture
def two(store: Store, wat: Callable[[str], bytes]) -> Instance:
    return Instance(store, Module(wat(TWO)))


def test_each_memory_is_its_own(two: Instance) -> None:
    e = two.exports
    e.store(0, 8, 111)
    e.store(1, 8, 222)
    assert (e.load(0, 8), e.load(1, 8)) == (111, 222)
    a, b = e.a, e.b
    assert isinstance(a, Memory) and isinstance(b, Memory)
    assert a.read(8, 4) == (111).to_bytes(4, "little") and b.read(8, 4) == (222).to_bytes(4, "little")
    assert b.read(16, 5) == b"hello" and a.read(16, 5) == bytes(5)  # the data segment went to memory 1
    assert e.load8_b_off(0) == ord("h")
    assert e.v128_b(16) == int.from_bytes(b"hello\0\0\0", "little")


def test_sizes_grow_and_bounds_are_per_memory(two: Instance) -> None:
    e = two.exports
    assert (e.size_a(), e.size_b()) == (1, 2)
    e.store(1, 2 * 65536 - 4, 7)  # last word of memory 1: memory 0 is smaller
    with pytest.raises(Trap, match="out of bounds memory access"):
        e.store(0, 65536, 7)
    with pytest.raises(Trap, match="out of bounds memory access"):
        e.load(1, 2 * 65536 - 3)
    assert e.grow_b(2) == 2 and e.size_b() == 4 and e.size_a() == 1
    assert e.grow_b(1) == -1  # its maximum is 4
    e.store(1, 4 * 65536 - 4, 9)
    assert e.load(1, 4 * 65536 - 4) == 9 and e.b.size == 4


def test_bulk_instructions_name_their_memories(two: Instance) -> None:
    e = two.exports
    e.fill_b(100, 0xAB, 4)
    assert e.b.read(100, 4) == b"\xab" * 4 and e.a.read(100, 4) == bytes(4)
    e.copy_b_to_a(200, 16, 5)
    assert e.a.read(200, 5) == b"hello"
    e.a.write(300, b"xyz")
    e.copy_a_to_b(0, 300, 3)
    assert e.b.read(0, 3) == b"xyz"
    e.init_b(50, 0, 8)
    assert e.b.read(50, 8) == b"passive!" and e.a.read(50, 8) == bytes(8)
    # Bounds: each range against its own memory, nothing written when one is out.
    with pytest.raises(Trap, match="out of bounds memory access"):
        e.copy_b_to_a(65536 - 2, 0, 4)  # fits memory 1, not memory 0
    with pytest.raises(Trap, match="out of bounds memory access"):
        e.fill_b(2 * 65536 - 2, 1, 4)
    assert e.b.read(2 * 65536 - 2, 2) == bytes(2)


def test_imported_memories(store: Store, wat: Callable[[str], bytes]) -> None:
    text = """(module
      (import "env" "m0" (memory 1))
      (import "env" "m1" (memory 1))
      (func (export "put") (param i32) (i32.store 1 (i32.const 0) (local.get 0)))
      (func (export "get0") (result i32) (i32.load 0 (i32.const 0))))"""
    m0, m1 = Memory(store, MemoryType(1)), Memory(store, MemoryType(1))
    inst = Instance(store, Module(wat(text)), {"env": {"m0": m0, "m1": m1}})
    inst.exports.put(0x01020304)
    assert m1.read(0, 4) == bytes([4, 3, 2, 1]) and inst.exports.get0() == 0
    with pytest.raises(LinkError):
        Instance(store, Module(wat(text)), {"env": {"m0": m0, "m1": Memory(store, MemoryType(1, address_type=0x7E))}})


def test_validation(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(InvalidModule, match="unknown memory 2"):
        Module(wat("(module (memory 1) (memory 1) (func (drop (i32.load 2 (i32.const 0)))))"))
    with pytest.raises(InvalidModule, match="unknown memory 1"):
        Module(wat("(module (memory 1) (func (drop (memory.size 1))))"))
    with pytest.raises(InvalidModule, match="type mismatch"):  # memory 1 is 64-bit: an i32 address is wrong
        Module(wat("(module (memory 1) (memory i64 1) (func (drop (i32.load 1 (i32.const 0)))))"))


def test_webassembly_2_has_one_memory(wat: Callable[[str], bytes]) -> None:
    with pytest.raises(InvalidModule, match="multiple memories"):
        Module(wat("(module (memory 1) (memory 1))"), features=Features.WASM2)
    data = wat("(module (memory 1) (func (drop (i32.load 0 (i32.const 0)))))")
    Module(data, features=Features.WASM2)  # index 0 in a 3.0 text module encodes as 2.0 does
    # A memarg naming memory 0 explicitly (flags bit 6) is 3.0 only.
    explicit = bytes.fromhex("0061736d010000000104016000000302010005030100010a0b0109004100284000001a0b")
    Module(explicit)
    with pytest.raises(MalformedModule, match="malformed memop flags"):
        Module(explicit, features=Features.WASM2)


SHARED = """(module
  (memory 1)
  (memory $s (export "s") 1 1 shared)
  ;; a barrier on memory 1: every thread adds 1 at 0, the last one sets 4 and wakes the others
  (func (export "arrive") (param $n i32) (result i32)
    (if (i32.eq (i32.atomic.rmw.add $s (i32.const 0) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1)))
      (then
        (i32.atomic.store $s (i32.const 4) (i32.const 1))
        (drop (memory.atomic.notify $s (i32.const 4) (i32.const -1))))
      (else
        (block $done (loop $w
          (br_if $done (i32.atomic.load $s (i32.const 4)))
          (drop (memory.atomic.wait32 $s (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $w)))))
    (i32.atomic.load $s (i32.const 0)))
  (func (export "wait_unshared") (result i32) (memory.atomic.wait32 0 (i32.const 0) (i32.const 0) (i64.const 0)))
  (func (export "unaligned") (result i32) (i32.atomic.load $s (i32.const 2))))"""


def test_threads_wait_and_notify_on_memory_1(store: Store, wat: Callable[[str], bytes]) -> None:
    inst = Instance(store, Module(wat(SHARED)))
    n = 8
    threads = [spawn(inst.exports.arrive, n) for _ in range(n)]
    store.scheduler.run()
    assert [join(t) for t in threads] == [n] * n
    assert inst.exports.s.read(0, 8) == n.to_bytes(4, "little") + (1).to_bytes(4, "little")
    with pytest.raises(Trap, match="expected shared memory"):
        inst.exports.wait_unshared()
    with pytest.raises(Trap, match="unaligned atomic"):
        inst.exports.unaligned()
