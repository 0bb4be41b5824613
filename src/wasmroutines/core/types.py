"""Wasm types as plain frozen dataclasses: value types, function, memory, table and global types,
and the import/export descriptors of a module."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import TypeAlias

__all__ = [
    "ExportType",
    "ExternType",
    "Features",
    "FuncType",
    "GlobalType",
    "ImportType",
    "MemoryType",
    "TableType",
    "ValType",
]


class ValType(IntEnum):
    """A value type, numbered as its binary encoding."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F

    @property
    def slots(self) -> int:
        """64-bit slots a value of this type takes at the C boundary."""
        return 2 if self is ValType.V128 else 1

    @property
    def is_ref(self) -> bool:
        return self is ValType.FUNCREF or self is ValType.EXTERNREF

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class FuncType:
    params: tuple[ValType, ...] = ()
    results: tuple[ValType, ...] = ()
    #: 64-bit slots the results take at the C boundary (derived).
    result_slots: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Accept any iterable of ValType or binary codes; store tuples so the type stays hashable.
        object.__setattr__(self, "params", tuple(ValType(t) for t in self.params))
        object.__setattr__(self, "results", tuple(ValType(t) for t in self.results))
        object.__setattr__(self, "result_slots", sum(t.slots for t in self.results))

    def __str__(self) -> str:
        params = " ".join(map(str, self.params))
        results = " ".join(map(str, self.results))
        return f"(func (param {params}) (result {results}))"


def _address_type(t: ValType | int) -> ValType:
    at = ValType(t)
    if at not in (ValType.I32, ValType.I64):
        raise ValueError(f"an address type is i32 or i64, not {at}")
    return at


@dataclass(frozen=True)
class MemoryType:
    """Limits in 64 KiB pages; `shared` is the threads proposal's flag; `address_type` is I32, or I64 for a
    64-bit memory (memory64: i64 addresses, sizes and offsets)."""

    minimum: int
    maximum: int | None = None
    shared: bool = False
    address_type: ValType = ValType.I32

    def __post_init__(self) -> None:
        object.__setattr__(self, "address_type", _address_type(self.address_type))

    @property
    def is64(self) -> bool:
        return self.address_type is ValType.I64


@dataclass(frozen=True)
class TableType:
    """`type` is the element type (FUNCREF or EXTERNREF); limits in elements; `address_type` is I32, or I64
    for a table64 (i64 indices and sizes)."""

    type: ValType
    minimum: int
    maximum: int | None = None
    address_type: ValType = ValType.I32

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ValType(self.type))
        object.__setattr__(self, "address_type", _address_type(self.address_type))

    @property
    def is64(self) -> bool:
        return self.address_type is ValType.I64


@dataclass(frozen=True)
class GlobalType:
    type: ValType
    mutable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ValType(self.type))


ExternType: TypeAlias = FuncType | MemoryType | TableType | GlobalType


@dataclass(frozen=True)
class ImportType:
    module: str
    name: str
    type: ExternType


@dataclass(frozen=True)
class ExportType:
    name: str
    type: ExternType


class Features(IntFlag):
    """Proposals a module may use (all by default). Turning one off validates as a runtime without it
    would, e.g. the threads proposal's own test suite predates reference types (one table only), and the
    WebAssembly 2.0 suite tests rules that 3.0 relaxed (`WASM2`)."""

    REFERENCE_TYPES = 1
    #: WebAssembly 3.0: i32/i64 add, sub and mul in constant expressions.
    EXTENDED_CONST = 2
    #: What WebAssembly 3.0 took from the GC proposal; today only that a constant expression may read an
    #: immutable global the module defines (2.0: imported globals only).
    GC = 4
    #: WebAssembly 3.0: tail calls (`return_call`, `return_call_indirect`).
    TAIL_CALL = 8
    #: The encodings of the 3.0 features not implemented yet (exception handling, GC types, typed function
    #: references): with it a module using one raises UnsupportedFeature naming the
    #: feature; without it (2.0) such bytes mean nothing, and the module is malformed. (Module applies it;
    #: the C core ignores the bit.)
    WASM3_ENCODINGS = 16
    #: WebAssembly 3.0: relaxed SIMD (each instruction gives the deterministic profile's result).
    RELAXED_SIMD = 32
    #: WebAssembly 3.0: multiple memories (memory indices in memory instructions and data segments).
    MULTI_MEMORY = 0x100
    #: WebAssembly 3.0: memory64 and table64 (i64 addresses).
    MEMORY64 = 0x200
    ALL = 0xFFFFFFFF
    #: WebAssembly 2.0 (with threads and SIMD): all but the 3.0 features above.
    WASM2 = ALL & ~(EXTENDED_CONST | GC | TAIL_CALL | WASM3_ENCODINGS | RELAXED_SIMD | MULTI_MEMORY | MEMORY64)
