"""Wasm types as plain frozen dataclasses: value types, function, memory, table and global types,
and the import/export descriptors of a module."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import Any, TypeAlias

__all__ = [
    "AnyValType",
    "ExportType",
    "ExternType",
    "Features",
    "FuncType",
    "GlobalType",
    "HeapType",
    "ImportType",
    "MemoryType",
    "RefType",
    "TableType",
    "TagType",
    "ValType",
    "valtype",
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
    #: GC's abstract reference types (3.0): anyref holds host objects (an externref made internal), i31s,
    #: structs and arrays; eqref i31s, structs and arrays; i31ref i31s (Python sees an I31); structref and
    #: arrayref structs and arrays (a StructRef, an ArrayRef: core/values.py); nullref is `ref.null none`'s.
    ANYREF = 0x6E
    EQREF = 0x6D
    I31REF = 0x6C
    STRUCTREF = 0x6B
    ARRAYREF = 0x6A
    NULLREF = 0x71

    @property
    def slots(self) -> int:
        """64-bit slots a value of this type takes at the C boundary."""
        return 2 if self is ValType.V128 else 1

    @property
    def is_ref(self) -> bool:
        return self in _REFS

    @property
    def code(self) -> int:
        """The C core's 32-bit encoding (wr_types.h): the binary byte."""
        return int(self)

    @property
    def nullable(self) -> bool:
        return True

    @property
    def top(self) -> HeapType | None:
        """A reference type's hierarchy (FUNC, EXTERN, EXN or ANY); None for a number or vector type."""
        return HeapType(int(self)).top if self in _REFS else None

    def __str__(self) -> str:
        return self.name.lower()


_REFS = frozenset(
    (
        ValType.FUNCREF,
        ValType.EXTERNREF,
        ValType.EXNREF,
        ValType.NULLEXNREF,
        ValType.ANYREF,
        ValType.EQREF,
        ValType.I31REF,
        ValType.STRUCTREF,
        ValType.ARRAYREF,
        ValType.NULLREF,
    )
)


class HeapType(IntEnum):
    """An abstract heap type, numbered as its binary encoding (WebAssembly 3.0)."""

    FUNC = 0x70
    EXTERN = 0x6F
    NOFUNC = 0x73  # the bottom of func: only null
    NOEXTERN = 0x72  # the bottom of extern
    EXN = 0x69  # exception handling: a caught exception
    NOEXN = 0x74  # the bottom of exn
    # GC's any hierarchy: none <: i31, struct, array <: eq <: any.
    ANY = 0x6E
    EQ = 0x6D
    I31 = 0x6C
    STRUCT = 0x6B
    ARRAY = 0x6A
    NONE = 0x71  # the bottom of any

    @property
    def top(self) -> HeapType:
        if self in (HeapType.EXTERN, HeapType.NOEXTERN):
            return HeapType.EXTERN
        if self in _ANY_HIERARCHY:
            return HeapType.ANY
        return HeapType.EXN if self in (HeapType.EXN, HeapType.NOEXN) else HeapType.FUNC

    def __str__(self) -> str:
        return self.name.lower()


_ANY_HIERARCHY = frozenset((HeapType.ANY, HeapType.EQ, HeapType.I31, HeapType.STRUCT, HeapType.ARRAY, HeapType.NONE))

# The C core's encoding of a reference type (wr_types.h): the heap type's code in bits 0..7 (an abstract heap
# type's byte, or _CONCRETE with the type index in bits 9..31), bit 8 set when it is not nullable.
_CONCRETE = 0x01
_NONNULL = 0x100
_INDEX_SHIFT = 9


@dataclass(frozen=True)
class RefType:
    """A reference type `(ref null? heap)` other than the short forms funcref, externref, exnref and nullexnref
    (which are ValType members). `heap` is an abstract HeapType or a type index: of the module
    for a module's import and export types, of the store for an object's type (a function's, a table's)."""

    heap: HeapType | int
    nullable: bool = True

    def __post_init__(self) -> None:
        index_ok = isinstance(self.heap, int) and 0 <= self.heap < (1 << (32 - _INDEX_SHIFT))
        if not isinstance(self.heap, HeapType) and not index_ok:
            raise ValueError(f"not a heap type: {self.heap!r}")

    slots = 1
    is_ref = True

    @property
    def top(self) -> HeapType:
        """FUNC, EXTERN, EXN or ANY: the hierarchy the references belong to. A concrete heap type counts as
        FUNC here: whether it is a struct or an array type (ANY) only its store knows (values.ref_top)."""
        return self.heap.top if isinstance(self.heap, HeapType) else HeapType.FUNC

    @property
    def code(self) -> int:
        """The C core's 32-bit encoding."""
        heap = int(self.heap) if isinstance(self.heap, HeapType) else _CONCRETE | self.heap << _INDEX_SHIFT
        return heap | (0 if self.nullable else _NONNULL)

    def __str__(self) -> str:
        return f"(ref {'null ' if self.nullable else ''}{self.heap})"


#: The heap types whose nullable reference types have short forms (ValType members).
_SHORT = (
    HeapType.FUNC,
    HeapType.EXTERN,
    HeapType.EXN,
    HeapType.NOEXN,
    HeapType.ANY,
    HeapType.EQ,
    HeapType.I31,
    HeapType.STRUCT,
    HeapType.ARRAY,
    HeapType.NONE,
)

#: A value type: a number or vector type, funcref, externref, exnref or nullexnref (ValType), or another reference
#: type.
AnyValType: TypeAlias = ValType | RefType


def valtype(t: Any) -> AnyValType:
    """A value type from a ValType, a RefType or the C core's 32-bit code; `(ref null func)`, `(ref null extern)`,
    `(ref null exn)` and `(ref null noexn)` become ValType's FUNCREF, EXTERNREF, EXNREF and NULLEXNREF (and GC's
    `(ref null any)` .. `(ref null none)` ANYREF .. NULLREF), so one test (`t is ValType.FUNCREF`) finds funcref
    however it was written."""
    if isinstance(t, RefType):
        if t.nullable and t.heap in _SHORT:
            return ValType(int(t.heap))
        return t
    code = int(t)
    if code <= 0xFF and code in ValType._value2member_map_:
        return ValType(code)
    low = code & 0xFF
    if low == _CONCRETE:
        heap: HeapType | int = code >> _INDEX_SHIFT
    elif low in HeapType._value2member_map_ and code >> _INDEX_SHIFT == 0:
        heap = HeapType(low)
    else:
        raise ValueError(f"not a value type: {code:#x}")
    return valtype(RefType(heap, not code & _NONNULL))


@dataclass(frozen=True)
class FuncType:
    params: tuple[AnyValType, ...] = ()
    results: tuple[AnyValType, ...] = ()
    #: 64-bit slots the results take at the C boundary (derived).
    result_slots: int = field(init=False, repr=False, compare=False)
    #: The module (its C object) and the index of its type this one was read from (its imports and exports:
    #: Module.imports, Module.exports), or None for a type made by hand. A host function or a tag made with it
    #: has the module's own type, as an instance of the module has it (its recursion group, declared supertype
    #: and finality), which the module's import of that type requires; one made by hand is final and in a group
    #: of its own.
    #: (Its concrete reference types name the module's types, as in every type read from a module.)
    module_type: tuple[Any, int] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Accept any iterable of ValType or binary codes; store tuples so the type stays hashable.
        object.__setattr__(self, "params", tuple(valtype(t) for t in self.params))
        object.__setattr__(self, "results", tuple(valtype(t) for t in self.results))
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
    """`type` is the element type (FUNCREF, EXTERNREF or a RefType); limits in elements; `address_type` is I32,
    or I64 for a table64 (i64 indices and sizes)."""

    type: AnyValType
    minimum: int
    maximum: int | None = None
    address_type: ValType = ValType.I32
    #: The module (its C object) this type was read from (its imports and exports: Module.imports, Module.exports),
    #: or None: a concrete reference type in it names that module's type, which an object made with it has as the
    #: store has it (the module's types added to the store, as an instance of the module adds them).
    module: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", valtype(self.type))
        object.__setattr__(self, "address_type", _address_type(self.address_type))

    @property
    def is64(self) -> bool:
        return self.address_type is ValType.I64


@dataclass(frozen=True)
class GlobalType:
    type: AnyValType
    mutable: bool = False
    module: Any = field(default=None, compare=False, repr=False)  # as TableType's

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", valtype(self.type))


@dataclass(frozen=True)
class TagType:
    """An exception tag's type (exception handling, 3.0): the types of its payload. (In a binary module it is
    a function type with these params and no results.)"""

    params: tuple[AnyValType, ...] = ()
    module_type: tuple[Any, int] | None = field(default=None, compare=False, repr=False)  # as FuncType's

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(valtype(t) for t in self.params))

    @property
    def functype(self) -> FuncType:
        """The function type a module declares it with."""
        return FuncType(self.params, (), self.module_type)

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
    #: WebAssembly 3.0's GC: struct and array types and instructions, the abstract heap types, recursion
    #: groups and declared subtypes (`rec`, `sub`), and a constant expression reading an immutable global the
    #: module defines (2.0: imported globals only).
    GC = 4
    #: WebAssembly 3.0: tail calls (`return_call`, `return_call_indirect`).
    TAIL_CALL = 8
    #: The encodings of the 3.0 features not implemented yet (none today): with it a module using one raises
    #: UnsupportedFeature naming the feature; without it (2.0) such bytes mean nothing, and the module is
    #: malformed. (Module applies it; the C core ignores the bit.)
    WASM3_ENCODINGS = 16
    #: WebAssembly 3.0: relaxed SIMD (each instruction gives the deterministic profile's result).
    RELAXED_SIMD = 32
    #: WebAssembly 3.0: typed function references (`(ref null? ht)` types, `call_ref`, `return_call_ref`,
    #: `ref.as_non_null`, `br_on_null`, `br_on_non_null`, tables with an initializer).
    FUNCTION_REFERENCES = 64
    #: WebAssembly 3.0: exception handling (tags, `exnref`, `throw`, `throw_ref`, `try_table`).
    EXCEPTIONS = 128
    #: WebAssembly 3.0: multiple memories (memory indices in memory instructions and data segments).
    MULTI_MEMORY = 0x100
    #: WebAssembly 3.0: memory64 and table64 (i64 addresses).
    MEMORY64 = 0x200
    ALL = 0xFFFFFFFF
    #: WebAssembly 2.0 (with threads and SIMD): all but the 3.0 features above.
    WASM2 = ALL & ~(
        EXTENDED_CONST
        | GC
        | TAIL_CALL
        | WASM3_ENCODINGS
        | RELAXED_SIMD
        | FUNCTION_REFERENCES
        | EXCEPTIONS
        | MULTI_MEMORY
        | MEMORY64
    )
