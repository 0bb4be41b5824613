"""wasmer's type descriptors: the `Type` enum, FunctionType, MemoryType, GlobalType, TableType, ExportType, ImportType
(and TagType, for WebAssembly 3.0's exception handling, which wasmer-python 1.1 predates).

Each is a small immutable object that converts to and from the core's type of
the same name (wasmroutines.core.types); `str()` gives wasmer's rendering,
which follows Rust's Debug output (`Some(2)`, `true`, `FuncRef`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Any, TypeAlias

from ...core import types as core

__all__ = [
    "ExportType",
    "ExternType",
    "FunctionType",
    "GlobalType",
    "ImportType",
    "MemoryType",
    "TableType",
    "TagType",
    "Type",
    "extern_from_core",
    "to_type",
    "type_debug",
]


class Type(IntEnum):
    """A value type, numbered as wasmer numbers them; WebAssembly 3.0's reference types follow (exnref as wasmer
    6's `ExceptionRef`, then GC's abstract ones, which wasmer has not), so a module using them can be inspected
    and called.

    >>> from wasmroutines.wasmer import Type
    >>> Type.I32 == 1, Type(7).name, Type(8).name
    (True, 'FUNC_REF', 'EXCEPTION_REF')
    """

    I32 = 1
    I64 = 2
    F32 = 3
    F64 = 4
    V128 = 5
    EXTERN_REF = 6
    FUNC_REF = 7
    EXCEPTION_REF = 8
    ANY_REF = 9
    EQ_REF = 10
    I31_REF = 11
    STRUCT_REF = 12
    ARRAY_REF = 13

    @property
    def core(self) -> core.ValType:
        """The core's ValType for this type."""
        return _TO_CORE[self]


_TO_CORE = {
    Type.I32: core.ValType.I32,
    Type.I64: core.ValType.I64,
    Type.F32: core.ValType.F32,
    Type.F64: core.ValType.F64,
    Type.V128: core.ValType.V128,
    Type.EXTERN_REF: core.ValType.EXTERNREF,
    Type.FUNC_REF: core.ValType.FUNCREF,
    Type.EXCEPTION_REF: core.ValType.EXNREF,
    Type.ANY_REF: core.ValType.ANYREF,
    Type.EQ_REF: core.ValType.EQREF,
    Type.I31_REF: core.ValType.I31REF,
    Type.STRUCT_REF: core.ValType.STRUCTREF,
    Type.ARRAY_REF: core.ValType.ARRAYREF,
}
_FROM_CORE = {v: k for k, v in _TO_CORE.items()}
_DEBUG = {
    Type.I32: "I32",
    Type.I64: "I64",
    Type.F32: "F32",
    Type.F64: "F64",
    Type.V128: "V128",
    Type.EXTERN_REF: "ExternRef",
    Type.FUNC_REF: "FuncRef",
    Type.EXCEPTION_REF: "ExceptionRef",
    Type.ANY_REF: "AnyRef",
    Type.EQ_REF: "EqRef",
    Type.I31_REF: "I31Ref",
    Type.STRUCT_REF: "StructRef",
    Type.ARRAY_REF: "ArrayRef",
}
#: A reference type of the any hierarchy by its heap type; the others (any, none, a type index) show as ANY_REF.
_ANY_HEAPS = {
    core.HeapType.EQ: Type.EQ_REF,
    core.HeapType.I31: Type.I31_REF,
    core.HeapType.STRUCT: Type.STRUCT_REF,
    core.HeapType.ARRAY: Type.ARRAY_REF,
}


def to_type(value: Any) -> Type:
    """`value` as a Type, as wasmer reads it: an int (a Type member is one) that must fit a byte and
    name a type; a non-int is a TypeError, an int beyond a byte an OverflowError, other numbers ValueError."""
    if not isinstance(value, int):
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
    if not 0 <= value < 256:
        raise OverflowError("out of range integral type conversion attempted")
    try:
        return Type(int(value))
    except ValueError:
        raise ValueError("Failed to extract `Type` from `PyAny`") from None


#: What a concrete type index defines, from the module or the store the type came from (core Module.type_kind,
#: Store.type_kind): 0 a function, 1 a struct, 2 an array type.
TypeKinds: TypeAlias = Callable[[int], int]
_CONCRETE = {0: Type.FUNC_REF, 1: Type.STRUCT_REF, 2: Type.ARRAY_REF}


def from_core_valtype(t: core.AnyValType, kinds: TypeKinds | None = None) -> Type:
    """The Type of a core value type: a reference type other than the seven's shows as its hierarchy's
    (`(ref $f)` as FUNC_REF, `nullexternref` as EXTERN_REF), GC's by its abstract heap type (eqref, i31ref,
    structref, arrayref; any other as ANY_REF). A concrete type `(ref null? $t)` shows as what `kinds` says $t
    defines: FUNC_REF for a function type, STRUCT_REF for a struct type, ARRAY_REF for an array type (with no
    `kinds`, FUNC_REF)."""
    found = _FROM_CORE.get(t) if isinstance(t, core.ValType) else None
    if found is not None:
        return found
    if isinstance(t, core.RefType) and isinstance(t.heap, int) and not isinstance(t.heap, core.HeapType):
        return _CONCRETE.get(kinds(t.heap), Type.FUNC_REF) if kinds is not None else Type.FUNC_REF
    top = t.top
    if top is core.HeapType.ANY:
        heap = t.heap if isinstance(t, core.RefType) else core.HeapType(int(t))
        return _ANY_HEAPS.get(heap, Type.ANY_REF) if isinstance(heap, core.HeapType) else Type.ANY_REF
    if top is core.HeapType.EXN:
        return Type.EXCEPTION_REF
    return Type.EXTERN_REF if top is core.HeapType.EXTERN else Type.FUNC_REF


def type_debug(t: Type) -> str:
    """Rust's Debug name of a type (`I32`, `FuncRef`), as wasmer prints it."""
    return _DEBUG[t]


def _types(values: Any, what: str) -> tuple[Type, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list of `Type`")
    return tuple(to_type(v) for v in values)


def _u32(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer ({what})")
    if not 0 <= value < 1 << 32:
        raise OverflowError("out of range integral type conversion attempted")
    return value


def _u64(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer ({what})")
    if not 0 <= value < 1 << 64:
        raise OverflowError("out of range integral type conversion attempted")
    return value


def _some(value: int | None, unit: str = "") -> str:
    return "None" if value is None else f"Some({value}{unit})"


def _bool(value: bool) -> str:
    return "true" if value else "false"


class FunctionType:
    """The type of a function: parameter and result types.

    `params` and `results` read back as lists of plain ints, equal to the
    `Type` members they stand for.

    >>> from wasmroutines.wasmer import FunctionType, Type
    >>> t = FunctionType([Type.I32, Type.I32], [Type.I32])
    >>> print(t)
    FunctionType(params: [I32, I32], results: [I32])
    >>> t.params == [Type.I32, Type.I32], t.results
    (True, [1])
    """

    __slots__ = ("_params", "_results", "_module_type")

    def __init__(self, params: Iterable[Type | int], results: Iterable[Type | int]) -> None:
        self._params = _types(params, "params")
        self._results = _types(results, "results")
        #: Read from a module (its imports, its exports): the module's own type, which a Function made with it has,
        #: as the module's import of that type requires (core FuncType.module_type).
        self._module_type: tuple[Any, int] | None = None

    @property
    def params(self) -> list[int]:
        """The parameter types, as ints."""
        return [int(t) for t in self._params]

    @property
    def results(self) -> list[int]:
        """The result types, as ints."""
        return [int(t) for t in self._results]

    def _core(self) -> core.FuncType:
        return core.FuncType(
            tuple(t.core for t in self._params), tuple(t.core for t in self._results), self._module_type
        )

    @classmethod
    def _from_core(cls, t: core.FuncType, kinds: TypeKinds | None = None) -> FunctionType:
        ft = cls([from_core_valtype(v, kinds) for v in t.params], [from_core_valtype(v, kinds) for v in t.results])
        ft._module_type = t.module_type
        return ft

    def _debug(self) -> str:
        params = ", ".join(type_debug(t) for t in self._params)
        results = ", ".join(type_debug(t) for t in self._results)
        return f"FunctionType {{ params: [{params}], results: [{results}] }}"

    def __str__(self) -> str:
        params = ", ".join(type_debug(t) for t in self._params)
        results = ", ".join(type_debug(t) for t in self._results)
        return f"FunctionType(params: [{params}], results: [{results}])"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FunctionType):
            return NotImplemented
        return (self._params, self._results) == (other._params, other._results)

    def __hash__(self) -> int:
        return hash((self._params, self._results))


class MemoryType:
    """The type of a memory: limits in 64 KiB pages, and whether it is shared (threads).

    >>> from wasmroutines.wasmer import MemoryType
    >>> print(MemoryType(17))
    MemoryType(minimum: 17, maximum: None, shared: false)
    >>> print(MemoryType(1, 2, shared=True))
    MemoryType(minimum: 1, maximum: Some(2), shared: true)

    `is64=True` makes a 64-bit memory (WebAssembly 3.0's memory64, an addition to wasmer): i64 addresses,
    and limits up to 2^48 pages.

    >>> print(MemoryType(1, is64=True))
    MemoryType(minimum: 1, maximum: None, shared: false, is64: true)
    """

    __slots__ = ("_is64", "_maximum", "_minimum", "_shared")

    def __init__(self, minimum: int, maximum: int | None = None, shared: bool = False, *, is64: bool = False) -> None:
        limit = _u64 if is64 else _u32
        self._minimum = limit(minimum, "minimum")
        self._maximum = None if maximum is None else limit(maximum, "maximum")
        self._shared = bool(shared)
        self._is64 = bool(is64)

    @property
    def minimum(self) -> int:
        """The minimum size, in pages."""
        return self._minimum

    @property
    def maximum(self) -> int | None:
        """The maximum size in pages, or None."""
        return self._maximum

    @property
    def shared(self) -> bool:
        """True for a shared memory (the threads proposal)."""
        return self._shared

    @property
    def is64(self) -> bool:
        """True for a 64-bit memory (memory64: i64 addresses)."""
        return self._is64

    def _core(self) -> core.MemoryType:
        at = core.ValType.I64 if self._is64 else core.ValType.I32
        return core.MemoryType(self._minimum, self._maximum, self._shared, at)

    @classmethod
    def _from_core(cls, t: core.MemoryType) -> MemoryType:
        return cls(t.minimum, t.maximum, t.shared, is64=t.is64)

    def _debug(self) -> str:
        return (
            f"MemoryType {{ minimum: {self._minimum} pages, maximum: {_some(self._maximum, ' pages')}, "
            f"shared: {_bool(self._shared)}{', is64: true' if self._is64 else ''} }}"
        )

    def __str__(self) -> str:
        return (
            f"MemoryType(minimum: {self._minimum}, maximum: {_some(self._maximum)}, shared: {_bool(self._shared)}"
            f"{', is64: true' if self._is64 else ''})"
        )

    __repr__ = __str__

    def _key(self) -> tuple[int, int | None, bool, bool]:
        return (self._minimum, self._maximum, self._shared, self._is64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemoryType):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class GlobalType:
    """The type of a global: its value type and whether it is mutable.

    >>> from wasmroutines.wasmer import GlobalType, Type
    >>> print(GlobalType(Type.I32, True))
    GlobalType(type: I32, mutable: true)
    """

    __slots__ = ("_mutable", "_type")

    def __init__(self, type: Type | int, mutable: bool) -> None:
        self._type = to_type(type)
        self._mutable = bool(mutable)

    @property
    def type(self) -> Type:
        """The value type."""
        return self._type

    @property
    def mutable(self) -> bool:
        """True when wasm or Python may set the global."""
        return self._mutable

    def _core(self) -> core.GlobalType:
        return core.GlobalType(self._type.core, self._mutable)

    @classmethod
    def _from_core(cls, t: core.GlobalType, kinds: TypeKinds | None = None) -> GlobalType:
        return cls(from_core_valtype(t.type, kinds), t.mutable)

    def _debug(self) -> str:
        return f"GlobalType {{ ty: {type_debug(self._type)}, mutability: {'Var' if self._mutable else 'Const'} }}"

    def __str__(self) -> str:
        return f"GlobalType(type: {type_debug(self._type)}, mutable: {_bool(self._mutable)})"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GlobalType):
            return NotImplemented
        return (self._type, self._mutable) == (other._type, other._mutable)

    def __hash__(self) -> int:
        return hash((self._type, self._mutable))


class TableType:
    """The type of a table: element type (FUNC_REF or EXTERN_REF) and limits in elements.

    >>> from wasmroutines.wasmer import TableType, Type
    >>> print(TableType(Type.FUNC_REF, 0))
    TableType(type: FuncRef, minimum: 0, maximum: None)
    >>> print(TableType(Type.EXTERN_REF, 1, 5))
    TableType(type: ExternRef, minimum: 1, maximum: Some(5))

    `is64=True` makes a table64 (WebAssembly 3.0, an addition to wasmer): i64 indices, u64 limits.
    """

    __slots__ = ("_is64", "_maximum", "_minimum", "_type")

    def __init__(self, type: Type | int, minimum: int, maximum: int | None = None, *, is64: bool = False) -> None:
        self._type = to_type(type)
        limit = _u64 if is64 else _u32
        self._minimum = limit(minimum, "minimum")
        self._maximum = None if maximum is None else limit(maximum, "maximum")
        self._is64 = bool(is64)

    @property
    def type(self) -> Type:
        """The element type."""
        return self._type

    @property
    def minimum(self) -> int:
        """The minimum number of elements."""
        return self._minimum

    @property
    def maximum(self) -> int | None:
        """The maximum number of elements, or None."""
        return self._maximum

    @property
    def is64(self) -> bool:
        """True for a table64 (i64 indices)."""
        return self._is64

    def _core(self) -> core.TableType:
        at = core.ValType.I64 if self._is64 else core.ValType.I32
        return core.TableType(self._type.core, self._minimum, self._maximum, at)

    @classmethod
    def _from_core(cls, t: core.TableType, kinds: TypeKinds | None = None) -> TableType:
        return cls(from_core_valtype(t.type, kinds), t.minimum, t.maximum, is64=t.is64)

    def _debug(self) -> str:
        maximum = _some(self._maximum)
        is64 = ", is64: true" if self._is64 else ""
        return f"TableType {{ ty: {type_debug(self._type)}, minimum: {self._minimum}, maximum: {maximum}{is64} }}"

    def __str__(self) -> str:
        is64 = ", is64: true" if self._is64 else ""
        return (
            f"TableType(type: {type_debug(self._type)}, minimum: {self._minimum}, maximum: {_some(self._maximum)}"
            f"{is64})"
        )

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableType):
            return NotImplemented
        return (self._type, self._minimum, self._maximum, self._is64) == (
            other._type,
            other._minimum,
            other._maximum,
            other._is64,
        )

    def __hash__(self) -> int:
        return hash((self._type, self._minimum, self._maximum, self._is64))


class TagType:
    """The type of an exception tag (an addition: WebAssembly 3.0's exception handling): its payload's types,
    3.0's references among them (`Type.EXCEPTION_REF` and the GC types this face adds to wasmer's `Type`).

    >>> from wasmroutines.wasmer import TagType, Type
    >>> print(TagType([Type.I32, Type.F64]))
    TagType(params: [I32, F64])
    """

    __slots__ = ("_params", "_module_type")

    def __init__(self, params: Iterable[Type | int]) -> None:
        self._params = _types(params, "params")
        self._module_type: tuple[Any, int] | None = None  # as FunctionType's

    @property
    def params(self) -> list[Type]:
        """The payload's types."""
        return list(self._params)

    def _core(self) -> core.TagType:
        return core.TagType(tuple(t.core for t in self._params), self._module_type)

    @classmethod
    def _from_core(cls, t: core.TagType, kinds: TypeKinds | None = None) -> TagType:
        tt = cls([from_core_valtype(v, kinds) for v in t.params])
        tt._module_type = t.module_type
        return tt

    def _debug(self) -> str:
        return f"TagType {{ params: [{', '.join(map(type_debug, self._params))}] }}"

    def __str__(self) -> str:
        return f"TagType(params: [{', '.join(map(type_debug, self._params))}])"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TagType):
            return NotImplemented
        return self._params == other._params

    def __hash__(self) -> int:
        return hash(self._params)


ExternType: TypeAlias = FunctionType | MemoryType | GlobalType | TableType | TagType

_KINDS = {FunctionType: "Function", MemoryType: "Memory", GlobalType: "Global", TableType: "Table", TagType: "Tag"}


def extern_from_core(t: core.ExternType, kinds: TypeKinds | None = None) -> ExternType:
    """The wasmer descriptor of a core extern type; `kinds`: what its concrete type indices define (the module's
    for a module's import and export types, the store's for an object's)."""
    if isinstance(t, core.FuncType):
        return FunctionType._from_core(t, kinds)
    if isinstance(t, core.MemoryType):
        return MemoryType._from_core(t)
    if isinstance(t, core.GlobalType):
        return GlobalType._from_core(t, kinds)
    if isinstance(t, core.TagType):
        return TagType._from_core(t, kinds)
    return TableType._from_core(t, kinds)


def extern_debug(t: ExternType) -> str:
    """Rust's Debug of an ExternType (`Function(FunctionType { params: [I32], results: [] })`), for link errors."""
    return f"{_KINDS[type(t)]}({t._debug()})"


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"'{type(value).__name__}' object cannot be converted to 'PyString'")
    return value


class ExportType:
    """What a module exports: a name and the type of the extern behind it.

    >>> from wasmroutines.wasmer import ExportType, FunctionType
    >>> e = ExportType("sum", FunctionType([], []))
    >>> e.name, str(e.type)
    ('sum', 'FunctionType(params: [], results: [])')
    """

    __slots__ = ("_name", "_type")

    def __init__(self, name: str, type: ExternType) -> None:
        self._name = _str(name, "name")
        self._type = type  # as wasmer: any object (modules give a FunctionType ... TableType)

    @property
    def name(self) -> str:
        """The export's name."""
        return self._name

    @property
    def type(self) -> ExternType:
        """A FunctionType, MemoryType, GlobalType or TableType."""
        return self._type

    def __repr__(self) -> str:
        return f"ExportType(name: {self._name!r}, type: {self._type})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExportType):
            return NotImplemented
        return (self._name, self._type) == (other._name, other._type)

    def __hash__(self) -> int:
        return hash((self._name, self._type))


class ImportType:
    """What a module imports: namespace (`module`), name, and the extern type it expects.

    >>> from wasmroutines.wasmer import ImportType, MemoryType
    >>> i = ImportType("env", "memory", MemoryType(1))
    >>> i.module, i.name, str(i.type)
    ('env', 'memory', 'MemoryType(minimum: 1, maximum: None, shared: false)')
    """

    __slots__ = ("_module", "_name", "_type")

    def __init__(self, module: str, name: str, type: ExternType) -> None:
        self._module = _str(module, "module")
        self._name = _str(name, "name")
        self._type = type  # as wasmer: any object (modules give a FunctionType ... TableType)

    @property
    def module(self) -> str:
        """The import's namespace."""
        return self._module

    @property
    def name(self) -> str:
        """The import's name within its namespace."""
        return self._name

    @property
    def type(self) -> ExternType:
        """A FunctionType, MemoryType, GlobalType or TableType."""
        return self._type

    def __repr__(self) -> str:
        return f"ImportType(module: {self._module!r}, name: {self._name!r}, type: {self._type})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImportType):
            return NotImplemented
        return (self._module, self._name, self._type) == (other._module, other._name, other._type)

    def __hash__(self) -> int:
        return hash((self._module, self._name, self._type))
