"""NaN canonicalization: every float operation whose NaN result the spec leaves open returns the canonical NaN.

The exact bits of a NaN that add, div, sqrt, min, demote... produce are left
to the host by the spec (any arithmetic NaN), and hosts differ: x86 makes a
negative default NaN and keeps an operand's payload, ARM a positive one. So
Wasmroutines returns the positive canonical NaN (f32 0x7FC00000, f64
0x7FF8000000000000) from all of them, always, and a program printing the bits
of 0.0/0.0 prints the same on every machine. Bit operations (neg, abs,
copysign, reinterpret, loads, stores, select, pmin/pmax, lane moves) keep
NaN bits exactly. Values cross into wasm and back as raw bits (`call_bits`).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmroutines import Function, Instance, ValType

MASK64 = (1 << 64) - 1
C32 = 0x7FC0_0000
C64 = 0x7FF8_0000_0000_0000
#: NaNs with a sign and a payload, quiet and signalling: what the hardware would pass through.
N32 = (0xFFC0_0000, 0x7FC1_2345, 0xFFA0_0001, 0x7F80_0001, 0xFFFF_FFFF)
N64 = (0xFFF8_0000_0000_0000, 0x7FF8_0000_DEAD_BEEF, 0xFFF4_0000_0000_0001, 0x7FF0_0000_0000_0001)
ONE32, ZERO32, INF32, NEG1_32 = 0x3F80_0000, 0, 0x7F80_0000, 0xBF80_0000
ONE64, ZERO64, INF64, NEG1_64 = 0x3FF0_0000_0000_0000, 0, 0x7FF0_0000_0000_0000, 0xBFF0_0000_0000_0000

BIN32 = ("add", "sub", "mul", "div", "min", "max")
UN32 = ("sqrt", "ceil", "floor", "trunc", "nearest")


def _module() -> str:
    funcs = []
    for t in ("f32", "f64"):
        for op in BIN32:
            body = f"(local.get 0) (local.get 1) {t}.{op}"
            funcs.append(f'(func (export "{t}.{op}") (param {t} {t}) (result {t}) {body})')
            # The same, its result consumed at once by the next instruction (the accumulator variants) and
            # stored to memory: the stored bits are canonical too.
            funcs.append(
                f'(func (export "{t}.{op}.store") (param {t} {t}) (result {t}) (i32.const 0) (local.get 0) '
                f"(local.get 1) {t}.{op} {t}.store (i32.const 0) {t}.load)"
            )
        for op in UN32:
            funcs.append(f'(func (export "{t}.{op}") (param {t}) (result {t}) (local.get 0) {t}.{op})')
        for op in ("neg", "abs"):
            funcs.append(f'(func (export "{t}.{op}") (param {t}) (result {t}) (local.get 0) {t}.{op})')
        funcs.append(
            f'(func (export "{t}.copysign") (param {t} {t}) (result {t}) (local.get 0) (local.get 1) {t}.copysign)'
        )
        funcs.append(
            f'(func (export "{t}.select") (param {t} {t} i32) (result {t}) '
            f"(select (local.get 0) (local.get 1) (local.get 2)))"
        )
        funcs.append(
            f'(func (export "{t}.roundtrip") (param {t}) (result {t}) (i32.const 8) (local.get 0) {t}.store '
            f"(i32.const 8) {t}.load)"
        )
    funcs += [
        '(func (export "f32.demote_f64") (param f64) (result f32) (local.get 0) f32.demote_f64)',
        '(func (export "f64.promote_f32") (param f32) (result f64) (local.get 0) f64.promote_f32)',
        # 0.0/0.0 printed as bits, the way a program would see it.
        '(func (export "div00_bits") (result i32) (f32.div (f32.const 0) (f32.const 0)) i32.reinterpret_f32)',
        '(func (export "sqrt_neg1_bits") (result i64) (f64.sqrt (f64.const -1)) i64.reinterpret_f64)',
        '(func (export "i32.reinterpret_f32") (param f32) (result i32) (local.get 0) i32.reinterpret_f32)',
        '(func (export "f32.reinterpret_i32") (param i32) (result f32) (local.get 0) f32.reinterpret_i32)',
        '(func (export "i64.reinterpret_f64") (param f64) (result i64) (local.get 0) i64.reinterpret_f64)',
    ]
    for shape in ("f32x4", "f64x2"):
        for op in ("add", "sub", "mul", "div", "min", "max", "pmin", "pmax"):
            body = f"(local.get 0) (local.get 1) {shape}.{op}"
            funcs.append(f'(func (export "{shape}.{op}") (param v128 v128) (result v128) {body})')
        for op in ("sqrt", "ceil", "floor", "trunc", "nearest", "neg", "abs"):
            funcs.append(f'(func (export "{shape}.{op}") (param v128) (result v128) (local.get 0) {shape}.{op})')
    funcs += [
        '(func (export "f32x4.demote_f64x2_zero") (param v128) (result v128) (local.get 0) f32x4.demote_f64x2_zero)',
        '(func (export "f64x2.promote_low_f32x4") (param v128) (result v128) (local.get 0) f64x2.promote_low_f32x4)',
    ]
    return "(module (memory 1)\n  " + "\n  ".join(funcs) + ")"


@pytest.fixture
def nan(instantiate: Callable[..., Instance]) -> Callable[..., int]:
    """nan(name, *bits) -> the bits of the export's one result."""
    exports = dict(instantiate(_module()).exports)

    def call(name: str, *args: int) -> int:
        func = exports[name]
        assert isinstance(func, Function)
        slots: list[int] = []
        for ty, arg in zip(func.type.params, args, strict=True):
            slots += [arg & MASK64, arg >> 64] if ty is ValType.V128 else [arg]
        out = func.call_bits(slots)
        return int(out[0]) | (int(out[1]) << 64 if len(out) == 2 else 0)  # a v128 comes back as two slots

    return call


def f32x4(*lanes: int) -> int:
    return sum(lane << (32 * i) for i, lane in enumerate(lanes))


def f64x2(lo: int, hi: int) -> int:
    return lo | hi << 64


def lanes32(v: int) -> list[int]:
    return [(v >> (32 * i)) & 0xFFFF_FFFF for i in range(4)]


def lanes64(v: int) -> list[int]:
    return [v & MASK64, v >> 64]


def test_classic_nans_are_canonical(nan: Callable[..., int]) -> None:
    assert nan("div00_bits") == C32
    assert nan("sqrt_neg1_bits") & MASK64 == C64
    assert nan("f32.div", ZERO32, ZERO32) == C32
    assert nan("f64.div", ZERO64, ZERO64) == C64
    assert nan("f32.sub", INF32, INF32) == C32
    assert nan("f64.mul", INF64, ZERO64) == C64
    assert nan("f32.sqrt", NEG1_32) == C32
    assert nan("f64.sqrt", NEG1_64) == C64


@pytest.mark.parametrize("op", BIN32)
@pytest.mark.parametrize("suffix", ["", ".store"])
def test_binary_nan_operand_gives_canonical(nan: Callable[..., int], op: str, suffix: str) -> None:
    for p in N32:
        assert nan(f"f32.{op}{suffix}", p, ONE32) == C32, hex(p)
        assert nan(f"f32.{op}{suffix}", ONE32, p) == C32, hex(p)
        assert nan(f"f32.{op}{suffix}", p, N32[0]) == C32, hex(p)
    for p in N64:
        assert nan(f"f64.{op}{suffix}", p, ONE64) == C64, hex(p)
        assert nan(f"f64.{op}{suffix}", ONE64, p) == C64, hex(p)


def test_results_that_are_not_nan_are_untouched(nan: Callable[..., int]) -> None:
    assert nan("f32.add", ONE32, ONE32) == 0x4000_0000
    assert nan("f32.div", ONE32, ZERO32) == INF32
    assert nan("f64.div", NEG1_64, ZERO64) == 0xFFF0_0000_0000_0000
    assert nan("f32.min", 0x8000_0000, 0) == 0x8000_0000  # -0 < +0
    assert nan("f64.sqrt", 0x8000_0000_0000_0000) == 0x8000_0000_0000_0000  # sqrt(-0) = -0
    assert nan("f32.nearest", 0xFF80_0000) == 0xFF80_0000  # -inf rounds to itself


@pytest.mark.parametrize("op", UN32)
def test_unary_nan_operand_gives_canonical(nan: Callable[..., int], op: str) -> None:
    for p in N32:
        assert nan(f"f32.{op}", p) == C32, hex(p)
    for p in N64:
        assert nan(f"f64.{op}", p) == C64, hex(p)


def test_demote_and_promote(nan: Callable[..., int]) -> None:
    for p in N64:
        assert nan("f32.demote_f64", p) == C32, hex(p)
    for p in N32:
        assert nan("f64.promote_f32", p) == C64, hex(p)
    assert nan("f32.demote_f64", ONE64) == ONE32
    assert nan("f64.promote_f32", NEG1_32) == NEG1_64


def test_bit_operations_keep_payloads(nan: Callable[..., int]) -> None:
    for p in N32:
        assert nan("f32.neg", p) == p ^ 0x8000_0000
        assert nan("f32.abs", p) == p & 0x7FFF_FFFF
        assert nan("f32.copysign", p, 0x8000_0000) == p | 0x8000_0000
        assert nan("f32.copysign", ONE32, p) == ONE32 | (p & 0x8000_0000)  # the sign of a NaN shows
        assert nan("f32.select", p, ONE32, 1) == p
        assert nan("f32.roundtrip", p) == p
        assert nan("i32.reinterpret_f32", p) == p
        assert nan("f32.reinterpret_i32", p) == p
    for p in N64:
        assert nan("f64.neg", p) == p ^ (1 << 63)
        assert nan("f64.abs", p) == p & ~(1 << 63)
        assert nan("f64.copysign", p, 0) == p & ~(1 << 63)
        assert nan("f64.select", ONE64, p, 0) == p
        assert nan("f64.roundtrip", p) == p
        assert nan("i64.reinterpret_f64", p) & MASK64 == p


def test_f32x4_div_lanes(nan: Callable[..., int]) -> None:
    r = nan("f32x4.div", f32x4(ZERO32, INF32, 0xFFC1_2345, ONE32), f32x4(ZERO32, INF32, ONE32, ZERO32))
    assert lanes32(r) == [C32, C32, C32, INF32]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "min", "max"])
def test_simd_binary_nan_lanes(nan: Callable[..., int], op: str) -> None:
    r = nan(f"f32x4.{op}", f32x4(*N32[:4]), f32x4(ONE32, ONE32, ONE32, ONE32))
    assert lanes32(r) == [C32] * 4
    r = nan(f"f32x4.{op}", f32x4(ONE32, ONE32, ONE32, ONE32), f32x4(*N32[1:5]))
    assert lanes32(r) == [C32] * 4
    r = nan(f"f64x2.{op}", f64x2(N64[0], ONE64), f64x2(ONE64, N64[2]))
    assert lanes64(r) == [C64, C64]
    # A lane that is not a NaN is the plain result.
    r = nan(f"f64x2.{op}", f64x2(N64[1], ONE64), f64x2(ONE64, ONE64))
    assert lanes64(r)[0] == C64 and lanes64(r)[1] != C64


@pytest.mark.parametrize("op", ["sqrt", "ceil", "floor", "trunc", "nearest"])
def test_simd_unary_nan_lanes(nan: Callable[..., int], op: str) -> None:
    r = nan(f"f32x4.{op}", f32x4(*N32[:4]))
    assert lanes32(r) == [C32] * 4
    r = nan(f"f64x2.{op}", f64x2(N64[2], N64[3]))
    assert lanes64(r) == [C64, C64]
    assert lanes32(nan("f32x4.sqrt", f32x4(NEG1_32, ONE32, 0, 0))) == [C32, ONE32, 0, 0]


def test_simd_demote_promote(nan: Callable[..., int]) -> None:
    r = nan("f32x4.demote_f64x2_zero", f64x2(N64[1], ONE64))
    assert lanes32(r) == [C32, ONE32, 0, 0]
    r = nan("f64x2.promote_low_f32x4", f32x4(NEG1_32, 0xFFA0_0001, 0x7FC1_2345, 0x7FC1_2345))
    assert lanes64(r) == [NEG1_64, C64]


def test_simd_bit_operations_keep_payloads(nan: Callable[..., int]) -> None:
    v = f32x4(*N32[:4])
    assert lanes32(nan("f32x4.neg", v)) == [p ^ 0x8000_0000 for p in N32[:4]]
    assert lanes32(nan("f32x4.abs", v)) == [p & 0x7FFF_FFFF for p in N32[:4]]
    # pmin/pmax are selects (b < a ? b : a): with a NaN the comparison is false and `a` comes back as is.
    ones = f32x4(ONE32, ONE32, ONE32, ONE32)
    assert nan("f32x4.pmin", v, ones) == v
    assert nan("f32x4.pmax", v, ones) == v
    w = f64x2(N64[1], N64[2])
    assert nan("f64x2.pmin", w, f64x2(ONE64, ONE64)) == w
    assert nan("f64x2.neg", w) == f64x2(N64[1] ^ (1 << 63), N64[2] ^ (1 << 63))


PRINT_NAN_BITS = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; The bits of 0.0/0.0 (f32), sqrt(-1) (f64) and NaN + 1 with a payload (f32), raw, to stdout. The
  ;; operands come from memory, so no compiler could have folded them.
  (data (i32.const 64) "\\00\\00\\00\\00\\00\\00\\80\\bf\\00\\00\\00\\00\\45\\23\\c1\\ff")
  (func (export "_start")
    (f32.store (i32.const 0) (f32.div (f32.load (i32.const 64)) (f32.load (i32.const 64))))
    (f64.store (i32.const 4) (f64.sqrt (f64.promote_f32 (f32.load (i32.const 68)))))
    (f32.store (i32.const 12) (f32.add (f32.load (i32.const 76)) (f32.const 1)))
    (i32.store (i32.const 32) (i32.const 0))
    (i32.store (i32.const 36) (i32.const 16))
    (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40)))))
"""


@pytest.mark.parametrize("mode", [[], ["--seed", "1"]])
def test_a_program_printing_nan_bits_prints_the_canonical_ones(
    tmp_path: Path, wat: Callable[[str], bytes], mode: list[str]
) -> None:
    prog = tmp_path / "nanbits.wasm"
    prog.write_bytes(wat(PRINT_NAN_BITS))
    result = subprocess.run(
        [sys.executable, "-m", "wasmroutines", "run", *mode, str(prog)], capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == struct.pack("<IQI", C32, C64, C32)
