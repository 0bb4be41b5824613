"""The `spectest` host module the spec scripts import from (as the reference interpreter defines it)."""

from __future__ import annotations

from wasmroutines import (
    Extern,
    Function,
    FuncType,
    Global,
    GlobalType,
    Memory,
    MemoryType,
    Store,
    Table,
    TableType,
    ValType,
)

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

_PRINTS: dict[str, tuple[ValType, ...]] = {
    "print": (),
    "print_i32": (I32,),
    "print_i64": (I64,),
    "print_f32": (F32,),
    "print_f64": (F64,),
    "print_i32_f32": (I32, F32),
    "print_f64_f64": (F64, F64),
}


def _quiet(*args: object) -> None:
    """The print functions print nothing: a test run's output is its summary."""


def spectest_module(store: Store) -> dict[str, Extern]:
    exports: dict[str, Extern] = {}
    for name, params in _PRINTS.items():
        exports[name] = Function(store, _quiet, FuncType(params, ()))
    exports["global_i32"] = Global(store, GlobalType(I32), 666)
    exports["global_i64"] = Global(store, GlobalType(I64), 666)
    exports["global_f32"] = Global(store, GlobalType(F32), 666.6)
    exports["global_f64"] = Global(store, GlobalType(F64), 666.6)
    exports["table"] = Table(store, TableType(ValType.FUNCREF, 10, 20))
    exports["table64"] = Table(store, TableType(ValType.FUNCREF, 10, 20, address_type=I64))
    exports["memory"] = Memory(store, MemoryType(1, 2))
    exports["shared_memory"] = Memory(store, MemoryType(1, 2, shared=True))
    return exports
