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
    "TagType",
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
    #: Exception handling (3.0): a caught exception; Python sees it as the WasmException it is.
    EXNREF = 0x69
    #: The type of `ref.null noexn`: only null, a subtype of exnref.
    NULLEXNREF = 0x74

    @property
    def slots(self) -> int:
        """64-bit slots a value of this type takes at the C boundary."""
        return 2 if self is ValType.V128 else 1

    @property
    def is_ref(self) -> bool:
        return self in _REFS

    def __str__(self) -> str:
        return self.name.lower()


_REFS = frozenset((ValType.FUNCREF, ValType.EXTERNREF, ValType.EXNREF, ValType.NULLEXNREF))


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


@dataclass(frozen=True)
class MemoryType:
    """Limits in 64 KiB pages; `shared` is the threads proposal's flag."""

    minimum: int
    maximum: int | None = None
    shared: bool = False


@dataclass(frozen=True)
class TableType:
    """`type` is the element type (FUNCREF or EXTERNREF); limits in elements."""

    type: ValType
    minimum: int
    maximum: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ValType(self.type))


@dataclass(frozen=True)
class GlobalType:
    type: ValType
    mutable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ValType(self.type))


@dataclass(frozen=True)
class TagType:
    """An exception tag's type (exception handling, 3.0): the types of its payload. (In a binary module it is
    a function type with these params and no results.)"""

    params: tuple[ValType, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(ValType(t) for t in self.params))

    @property
    def functype(self) -> FuncType:
        """The function type a module declares it with."""
        return FuncType(self.params, ())

    def __str__(self) -> str:
        return f"(tag (param {' '.join(map(str, self.params))}))"


ExternType: TypeAlias = FuncType | MemoryType | TableType | GlobalType | TagType


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
    #: The encodings of the 3.0 features not implemented yet (GC types, typed function references,
    #: memory64): with it a module using one raises UnsupportedFeature naming the
    #: feature; without it (2.0) such bytes mean nothing, and the module is malformed. (Module applies it;
    #: the C core ignores the bit.)
    WASM3_ENCODINGS = 16
    #: WebAssembly 3.0: relaxed SIMD (each instruction gives the deterministic profile's result).
    RELAXED_SIMD = 32
    #: WebAssembly 3.0: exception handling (tags, `exnref`, `throw`, `throw_ref`, `try_table`).
    EXCEPTIONS = 64
    ALL = 0xFFFFFFFF
    #: WebAssembly 2.0 (with threads and SIMD): all but the 3.0 features above.
    WASM2 = ALL & ~(EXTENDED_CONST | GC | TAIL_CALL | WASM3_ENCODINGS | RELAXED_SIMD | EXCEPTIONS)
