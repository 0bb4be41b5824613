"""Read a C `wr_api_externtype` record into the Python type objects of types.py."""

from __future__ import annotations

from typing import Any

from ._ffi import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE, EXTERN_TAG, ffi
from .types import ExternType, FuncType, GlobalType, MemoryType, TableType, TagType, ValType, valtype

#: wr_api_externtype's `type_index` when it has none (WR_API_NO_TYPE).
NO_TYPE = 0xFFFFFFFF


def read(et: Any, module: Any = None) -> ExternType:
    """The type `et` describes, read from `module` (the C object of the module it is an import or export of), which
    the type keeps (FuncType.module_type, GlobalType.module): the C object, not the Module, which caches its
    imports and exports (a cycle through them would leave its C memory to the cyclic collector)."""
    kind = et.kind
    origin = (module, int(et.type_index)) if module is not None and et.type_index != NO_TYPE else None
    if kind == EXTERN_FUNC:
        params = tuple(valtype(et.params[i]) for i in range(et.nparams))
        results = tuple(valtype(et.results[i]) for i in range(et.nresults))
        return FuncType(params, results, origin)
    if kind == EXTERN_TAG:
        return TagType(tuple(valtype(et.params[i]) for i in range(et.nparams)), origin)
    maximum = int(et.max) if et.has_max else None
    address_type = ValType.I64 if et.is64 else ValType.I32
    if kind == EXTERN_MEMORY:
        return MemoryType(int(et.min), maximum, bool(et.shared), address_type)
    if kind == EXTERN_TABLE:
        return TableType(valtype(et.valtype), int(et.min), maximum, address_type, module)
    if kind == EXTERN_GLOBAL:
        return GlobalType(valtype(et.valtype), bool(et.mutable_), module)
    raise ValueError(f"unknown extern kind {kind}")


def new() -> Any:
    return ffi.new("wr_api_externtype *")
