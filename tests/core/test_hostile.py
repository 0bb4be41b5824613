"""Hostile modules: each must end in a clear error (or run correctly) and leave the host unharmed.

After every test, the `host_unharmed` fixture runs a good module in a fresh store. Modules are
built in binary (wasm_builder): the text format is too slow for 100,000 nested blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from wasm_builder import (
    EXTERNREF,
    I32,
    I64,
    active_data,
    active_elem,
    code,
    export,
    func_module,
    functype,
    i32_const,
    limits,
    module,
    table,
    u,
)

from wasmroutines import (
    FairPolicy,
    Instance,
    InvalidModule,
    MalformedModule,
    Module,
    OutOfFuel,
    ResourceLimitError,
    StackExhausted,
    Store,
    Trap,
)

END = b"\x0b"
DROP = b"\x1a"
BLOCK, LOOP, IF = b"\x02\x40", b"\x03\x40", b"\x04\x40"

# (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
GOOD = func_module(b"\x20\x00" + i32_const(1) + b"\x6a" + END, params=[I32], results=[I32])


@pytest.fixture(autouse=True)
def host_unharmed() -> Iterator[None]:
    yield
    assert Instance(Store(), Module(GOOD)).exports.f(41) == 42


def run(wasm: bytes, *args: int, store: Store | None = None) -> object:
    return Instance(store or Store(), Module(wasm)).exports.f(*args)


# ---- validation and translation use no C recursion ----


@pytest.mark.parametrize(
    "opener, reached",
    [(BLOCK, True), (LOOP, True), (i32_const(1) + IF, True), (i32_const(0) + IF, False)],
    ids=["block", "loop", "if", "if-false"],
)
def test_100k_nested_blocks(opener: bytes, reached: bool) -> None:
    # The innermost block adds 1 to the parameter, which is returned after the 100,000 ends: 42 shows
    # control went all the way in (once: a loop without a branch runs once) and all the way out.
    n = 100_000
    inc = b"\x20\x00" + i32_const(1) + b"\x6a\x21\x00"  # local.set 0 (i32.add (local.get 0) (i32.const 1))
    wasm = func_module(opener * n + inc + END * n + b"\x20\x00" + END, params=[I32], results=[I32])
    assert run(wasm, 41) == (42 if reached else 41)


def test_100k_nested_blocks_with_results() -> None:
    n = 100_000
    body = b"\x02\x7f" * n + i32_const(7) + END * n + END  # (block (result i32) ... i32.const 7 ...)
    assert run(func_module(body, results=[I32])) == 7


def test_nested_blocks_never_closed() -> None:
    n = 100_000
    with pytest.raises(MalformedModule, match="unexpected end"):
        Module(func_module(BLOCK * n + END))


def test_million_values_on_the_operand_stack() -> None:
    # A million copies of the parameter pushed, then added up: every one of them must count.
    n = 1_000_000
    wasm = func_module(b"\x20\x00" * n + b"\x6a" * (n - 1) + END, params=[I32], results=[I32])
    assert run(wasm, 3) == 3 * n


def test_huge_function() -> None:
    n = 1_000_000  # 3 MB of code
    wasm = func_module((i32_const(1) + DROP) * n + i32_const(5) + END, results=[I32])
    assert len(wasm) > 3_000_000
    assert run(wasm) == 5


def test_many_distinct_constants_outgrow_the_value_stack() -> None:
    # Each distinct constant takes a slot of the frame: 1.1M of them do not fit a 1 Mi-slot stack.
    n = 1_100_000
    wasm = func_module(i32_const(0) + b"".join(i32_const(i) + b"\x6a" for i in range(1, n)) + END, results=[I32])
    with pytest.raises(StackExhausted, match="call stack exhausted"):
        run(wasm)
    total = sum(range(n)) % (1 << 32)  # i32.add wraps; the result reads as signed
    assert run(wasm, store=Store(stack_slots=4 << 20)) == total - (1 << 32 if total >= 1 << 31 else 0)


# ---- locals ----


def test_millions_of_locals_across_runs() -> None:
    with pytest.raises(MalformedModule, match="too many locals"):
        Module(func_module(END, local_runs=[(1_000_000, I32)] * 5))


def test_locals_overflowing_32_bits() -> None:
    with pytest.raises(MalformedModule, match="too many locals"):
        Module(func_module(END, local_runs=[(0xFFFF_FFFF, I32), (0xFFFF_FFFF, I64), (2, I32)]))


def test_locals_at_the_limit() -> None:
    # 50,000 locals (the limit wasm-tools and browsers share), the last one read.
    body = b"\x20" + u(49_999) + END
    assert run(func_module(body, results=[I64], local_runs=[(25_000, I32), (25_000, I64)])) == 0


# ---- memories and tables ----


def test_largest_memory_is_reserved_not_committed() -> None:
    # 65536 pages (4 GiB) instantiate at once: address space is reserved, pages are committed when touched.
    body = i32_const(-4) + i32_const(0x1234) + b"\x36\x02\x00" + i32_const(-4) + b"\x28\x02\x00" + END
    wasm = func_module(body, results=[I32], mems=[limits(65536)])
    assert run(wasm) == 0x1234


def test_memory_over_4gib_is_invalid() -> None:
    with pytest.raises(InvalidModule, match="memory size must be at most 65536 pages"):
        Module(module(mems=[limits(65537)]))
    with pytest.raises(InvalidModule):
        Module(module(mems=[limits(0xFFFF_FFFF)]))


def test_memory_over_the_store_limit() -> None:
    with pytest.raises(ResourceLimitError, match="max_memory_pages") as e:
        Instance(Store(max_memory_pages=16), Module(module(mems=[limits(17)])))
    assert e.value.limit == "max_memory_pages"


@pytest.mark.parametrize("elemtype", [0x70, EXTERNREF], ids=["funcref", "externref"])
def test_enormous_table(elemtype: int) -> None:
    with pytest.raises(ResourceLimitError, match="max_table_elements") as e:
        Instance(Store(), Module(module(tables=[table(0xFFFF_FFFF, elemtype=elemtype)])))
    assert e.value.limit == "max_table_elements"
    with pytest.raises(ResourceLimitError) as e:
        Instance(Store(max_table_elements=10), Module(module(tables=[table(11, elemtype=elemtype)])))
    assert e.value.limit == "max_table_elements"


def test_table_grow_stops_at_the_store_limit(wat: Callable[[str], bytes]) -> None:
    grow = """(module (table $t 0 funcref) (table $e 0 externref)
      (func (export "f") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
      (func (export "e") (param i32) (result i32) (table.grow $e (ref.null extern) (local.get 0))))"""
    inst = Instance(Store(max_table_elements=1000), Module(wat(grow)))
    for f in (inst.exports.f, inst.exports.e):
        assert f(-1) == -1  # 4 Gi elements: refused before any allocation
        assert f(600) == 0 and f(401) == -1 and f(400) == 600 and f(1) == -1 and f(0) == 1000
    inst = Instance(Store(), Module(wat(grow)))
    assert inst.exports.f(-1) == -1 and inst.exports.f(0) == 0  # the default limit: 10,000,000


def _grow_module(maximum: int | None = None) -> bytes:
    # (func (export "f") (param i32) (result i32) (memory.grow (local.get 0)))
    return func_module(b"\x20\x00\x40\x00" + END, params=[I32], results=[I32], mems=[limits(0, maximum)])


def test_memory_grow_to_the_maximum() -> None:
    inst = Instance(Store(), Module(_grow_module()))
    assert inst.exports.f(65536) == 0  # the whole 4 GiB, reserved up front
    assert inst.exports.f(1) == -1
    assert inst.exports.f(0) == 65536
    assert inst.exports.f(-1) == -1


def test_memory_grow_stops_at_the_store_limit() -> None:
    inst = Instance(Store(max_memory_pages=64), Module(_grow_module()))
    sizes = []
    while (old := inst.exports.f(5)) != -1:
        sizes.append(old)
    assert sizes[-1] == 55 and inst.exports.f(0) == 60  # 5 pages at a time up to 60, then 65 > 64
    assert inst.exports.f(4) == 60 and inst.exports.f(1) == -1


def test_memory_grow_stops_at_the_declared_maximum() -> None:
    inst = Instance(Store(), Module(_grow_module(maximum=3)))
    assert [inst.exports.f(1) for _ in range(5)] == [0, 1, 2, -1, -1]


# ---- segments out of range ----


@pytest.mark.parametrize("offset, payload", [(65536, b"x"), (65535, b"xy"), (-1, b"xy"), (-65536, b"z")])
def test_data_segment_out_of_range(offset: int, payload: bytes) -> None:
    with pytest.raises(Trap, match="out of bounds memory access"):
        Instance(Store(), Module(module(mems=[limits(1)], datas=[active_data(offset, payload)])))


def test_data_segment_length_past_the_module() -> None:
    with pytest.raises(MalformedModule):
        Module(module(mems=[limits(1)], datas=[b"\x00" + i32_const(0) + END + u(0xFFFF_FFFF)]))


def _elem_module(elem: bytes) -> bytes:
    return module(types=[functype()], funcs=[0], tables=[table(1)], elems=[elem], codes=[code(END)])


@pytest.mark.parametrize("offset, funcs", [(1, [0]), (0, [0, 0]), (-1, [0, 0])])
def test_elem_segment_out_of_range(offset: int, funcs: list[int]) -> None:
    with pytest.raises(Trap, match="out of bounds table access"):
        Instance(Store(), Module(_elem_module(active_elem(offset, funcs))))


def test_elem_segment_bad_function_index_and_count() -> None:
    with pytest.raises(InvalidModule, match="unknown function"):
        Module(_elem_module(active_elem(0, [5])))
    with pytest.raises(MalformedModule):
        Module(_elem_module(b"\x00" + i32_const(0) + END + u(0xFFFF_FFFF)))


# ---- recursion, spinning ----


def _recursive_module(frame_locals: int = 0) -> bytes:
    # A mutable i32 global counts the calls; "f" recurses forever, "count" reads the global.
    body = b"\x23\x00" + i32_const(1) + b"\x6a" + b"\x24\x00" + b"\x10\x00" + END
    return module(
        types=[functype(), functype([], [I32])],
        funcs=[0, 1],
        globals_=[bytes([I32, 1]) + i32_const(0) + END],
        exports=[export("f", 0, 0), export("count", 0, 1)],
        codes=[code(body, [(frame_locals, I64)] if frame_locals else []), code(b"\x23\x00" + END)],
    )


@pytest.mark.parametrize("depth", [None, 1000])
def test_recursion_to_the_call_depth_limit(depth: int | None) -> None:
    store = Store(max_call_depth=depth)
    inst = Instance(store, Module(_recursive_module()))
    with pytest.raises(StackExhausted, match="max_call_depth") as e:
        inst.exports.f()
    assert e.value.kind == "call stack exhausted" and e.value.limit == "max_call_depth"
    limit = depth or 20_000  # the core's default (wr_store.c)
    assert limit - 2 <= inst.exports.count() <= limit
    with pytest.raises(StackExhausted):  # the same store, again
        inst.exports.f()
    assert inst.exports.count() > limit


def test_recursion_with_big_frames_runs_out_of_stack_slots() -> None:
    inst = Instance(Store(stack_slots=1 << 16), Module(_recursive_module(frame_locals=1000)))
    with pytest.raises(StackExhausted):
        inst.exports.f()
    assert 60 <= inst.exports.count() <= 66  # 65,536 slots / ~1,000 per frame


SPIN = func_module(LOOP + b"\x0c\x00" + END + END)  # (loop (br 0))


def test_spin_forever_stopped_by_fuel() -> None:
    store = Store()
    store.fuel = 1_000_000
    inst = Instance(store, Module(SPIN))
    with pytest.raises(OutOfFuel) as e:  # it ends: fuel, not time, stopped it
        inst.exports.f()
    assert e.value.limit == "fuel"
    assert store.fuel == 0
    store.fuel = 10
    good = Instance(store, Module(GOOD))
    assert good.exports.f(1) == 2


# ---- bulk operations cost fuel and slice in proportion to their size (insns/memory.def, table.def) ----

_BULK_ELEMS = 4096
BULK = f"""(module
  (memory (export "mem") 64)
  (table $t 0 3000000 funcref)
  (table $u 200000 funcref)
  (data $d "{"x" * 70000}")
  (elem $e func {"$nop " * _BULK_ELEMS})
  (func $nop)
  (func (export "fill") (param $n i32) (memory.fill (i32.const 0) (i32.const 0xAB) (local.get $n)))
  (func (export "copy") (param $n i32) (memory.copy (i32.const 0) (i32.const 0x200000) (local.get $n)))
  (func (export "init") (param $n i32) (memory.init $d (i32.const 0) (i32.const 0) (local.get $n)))
  (func (export "table_fill") (param $n i32) (table.fill $u (i32.const 0) (ref.func $nop) (local.get $n)))
  (func (export "table_copy") (param $n i32) (table.copy $u $u (i32.const 0) (i32.const 100000) (local.get $n)))
  (func (export "table_init") (param $n i32) (table.init $u $e (i32.const 0) (i32.const 0) (local.get $n)))
  (func (export "table_grow") (param $n i32) (result i32) (table.grow $t (ref.null func) (local.get $n)))
  (func (export "prepare") (table.fill $u (i32.const 100000) (ref.func $nop) (i32.const 8192)))
  (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $u (local.get 0)))))"""

# Memory ops cost 1 per 64 bytes, table ops 1 per 8 elements; n below a unit costs nothing extra.
BULK_OPS = {
    "fill": (6, 0x30000),
    "copy": (6, 0x30000),
    "init": (6, 70000),
    "table_fill": (3, 100000),
    "table_copy": (3, 100000),
    "table_init": (3, _BULK_ELEMS),
}
PLENTY = 1 << 40


def _fuel_used(store: Store, func: Callable[..., object], *args: int) -> int:
    store.fuel = PLENTY
    func(*args)
    assert store.fuel is not None
    return PLENTY - store.fuel


@pytest.mark.parametrize("op", BULK_OPS)
def test_bulk_operations_cost_fuel_by_size(wat: Callable[[str], bytes], op: str) -> None:
    shift, biggest = BULK_OPS[op]
    store = Store()
    f = Instance(store, Module(wat(BULK))).exports[op]
    base = _fuel_used(store, f, 0)
    for n in (1, (1 << shift) - 1, 1 << shift, 1000, biggest):
        assert _fuel_used(store, f, n) - base == n >> shift, n


@pytest.mark.parametrize("op", ["fill", "copy", "init"])
def test_bulk_memory_short_of_fuel_stops_before_writing(wat: Callable[[str], bytes], op: str) -> None:
    n = 0x10000
    store = Store()
    inst = Instance(store, Module(wat(BULK)))
    mem, f = inst.exports.mem, inst.exports[op]
    mem.write(0x200000, b"\xcd" * n)  # copy's source
    cost = _fuel_used(store, inst.exports.fill, 0) + (n >> 6)
    mem.write(0, bytes(n))
    store.fuel = cost - 1
    with pytest.raises(OutOfFuel):
        f(n)
    assert store.fuel == 0
    assert mem.read(0, n) == bytes(n)  # nothing written: the instruction never started
    store.fuel = cost
    f(n)
    assert store.fuel == 0
    assert mem.read(0, n) == {"fill": b"\xab", "copy": b"\xcd", "init": b"x"}[op] * n


@pytest.mark.parametrize("op", ["table_fill", "table_copy", "table_init"])
def test_bulk_table_short_of_fuel_stops_before_writing(wat: Callable[[str], bytes], op: str) -> None:
    n = _BULK_ELEMS
    store = Store()
    inst = Instance(store, Module(wat(BULK)))
    f, is_null = inst.exports[op], inst.exports.is_null
    inst.exports.prepare()  # table_copy's source
    cost = _fuel_used(store, f, 0) + (n >> 3)
    store.fuel = cost - 1
    with pytest.raises(OutOfFuel):
        f(n)
    assert store.fuel == 0
    store.fuel = PLENTY
    assert [is_null(i) for i in (0, 1, n - 1)] == [1, 1, 1]  # nothing written
    store.fuel = cost
    f(n)
    assert store.fuel == 0
    store.fuel = PLENTY
    assert [is_null(i) for i in (0, 1, n - 1, n)] == [0, 0, 0, 1]


def test_table_grow_costs_by_size_only_when_it_grows(wat: Callable[[str], bytes]) -> None:
    store = Store()
    grow = Instance(store, Module(wat(BULK))).exports.table_grow
    base = _fuel_used(store, grow, 0)
    assert _fuel_used(store, grow, 1 << 20) - base == 1 << 17
    assert _fuel_used(store, grow, 1 << 22) - base == 0  # past the maximum: -1, no work, no charge
    store.fuel = base + (1 << 17) - 1
    with pytest.raises(OutOfFuel):
        grow(1 << 20)
    store.fuel = PLENTY
    assert grow(0) == 1 << 20  # unchanged by the grow that ran out of fuel
    assert grow(1) == 1 << 20


def test_fuel_bounds_work_in_bulk_memory_loops(wat: Callable[[str], bytes]) -> None:
    # Each turn fills 64 MiB: 1 Mi units, so 2,000 fuel pays for no fill at all (each cost 1 unit
    # before bulk operations were charged by size: 2,000 fills, about 1.4 s).
    spin = """(module (memory (export "mem") 1024)
      (func (export "f") (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x4000000)) (br $l))))"""
    store = Store()
    store.fuel = 2000
    inst = Instance(store, Module(wat(spin)))
    with pytest.raises(OutOfFuel):
        inst.exports.f()
    assert inst.exports.mem.read(0, 1) == b"\x00"


def test_calls_cost_fuel_by_frame_size(wat: Callable[[str], bytes]) -> None:
    # A call zeroes its callee's locals: at 1 unit whatever their number, 50,000 locals made a unit
    # of fuel ~7 us, 1,000 times the usual rate.
    frame = """(module
      (func $big (local {locals}))
      (func $small)
      (func (export "big") (call $big))
      (func (export "small") (call $small)))"""
    store = Store()
    inst = Instance(store, Module(wat(frame.format(locals="i64 " * 50_000))))
    extra = _fuel_used(store, inst.exports.big) - _fuel_used(store, inst.exports.small)
    assert extra >= 50_000 >> 3  # zeroing charged as bulk work: a unit per 64 bytes


def test_bulk_operations_end_time_slices() -> None:
    # A fill of 1 MiB costs 16,384 units: a slice of 100,000 ends after 7 of them (the back-edge after
    # the one that overran it), so 100 fills end 14 slices (none before they were charged by size).
    n, turns, slice_ = 1 << 20, 100, 100_000
    fill = i32_const(0) + i32_const(1) + i32_const(n) + b"\xfc\x0b\x00"
    # (loop $l (memory.fill ...) (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    body = LOOP + fill + b"\x20\x00" + i32_const(1) + b"\x6b\x22\x00\x0d\x00" + END + END
    store = Store(policy=FairPolicy(slice=slice_))
    ends: list[int] = []
    store.on_yield = lambda: ends.append(1)
    inst = Instance(store, Module(func_module(body, params=[I32], mems=[limits(16)])))
    inst.exports.f(turns)
    per_slice = -(-slice_ // (n >> 6))
    assert abs(len(ends) - turns // per_slice) <= 1


def test_spin_forever_stopped_by_a_deadline() -> None:
    # The host's wall-clock deadline: on_yield runs at every time-slice end and may raise.
    store = Store()
    deadline = time.monotonic() + 0.2

    def check_deadline() -> None:
        if time.monotonic() > deadline:
            raise TimeoutError("deadline passed")

    store.on_yield = check_deadline
    inst = Instance(store, Module(SPIN))
    with pytest.raises(TimeoutError):  # the hook ran at slice ends, past the deadline, and its error ended the call
        inst.exports.f()
    store.on_yield = None
    assert Instance(store, Module(GOOD)).exports.f(2) == 3


# ---- module size ----


def test_module_size_limit() -> None:
    with pytest.raises(ResourceLimitError, match="max_size") as e:
        Module(GOOD, max_size=len(GOOD) - 1)
    assert e.value.limit == "max_size"
    assert Module(GOOD, max_size=len(GOOD)).size == len(GOOD)
    with pytest.raises(ResourceLimitError, match="max_module_size") as e:
        Instance(Store(max_module_size=10), Module(GOOD))
    assert e.value.limit == "max_module_size"
