"""Wasmroutines: a WebAssembly runtime for Python with a C core.

Example:

    from wasmroutines import Store, Module, Instance
    store = Store()
    instance = Instance(store, Module.from_file("add.wasm"))
    instance.exports.add(1, 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.errors import (
    AsyncHostCallError,
    CompileError,
    Frame,
    ImmutableGlobalError,
    InvalidModule,
    LinkError,
    MalformedModule,
    OutOfFuel,
    RefTypeError,
    ResourceLimitError,
    StackExhausted,
    StoreClosedError,
    Trap,
    UnsupportedFeature,
    WallTimeExceeded,
    WasmException,
    WasmroutinesError,
)
from .core.extern import Extern
from .core.function import Function
from .core.global_ import Global
from .core.instance import Exports, Imports, Instance
from .core.memory import PAGE_SIZE, Memory
from .core.module import Module
from .core.store import Store
from .core.table import Table
from .core.tag import Tag
from .core.threads import (
    Deadlock,
    Event,
    FairPolicy,
    ForeignThreadError,
    GreenThread,
    MonotonicClock,
    Scheduler,
    SeededPolicy,
    ThreadReport,
    ThreadState,
    VirtualClock,
    current_scheduler,
    current_thread,
    join,
    spawn,
)
from .core.types import (
    ExportType,
    ExternType,
    Features,
    FuncType,
    GlobalType,
    HeapType,
    ImportType,
    MemoryType,
    RefType,
    TableType,
    TagType,
    ValType,
)
from .core.values import I31, ArrayRef, GcRef, StructRef
from .core.wat import WatError, wat2wasm

if TYPE_CHECKING:
    from .core.aio import await_only, call_async


def __getattr__(name: str) -> Any:
    # asyncio (and ssl with it) costs a program that never touches it a third of its start-up: imported on first use.
    if name in ("call_async", "await_only"):
        from .core import aio

        return getattr(aio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    # runtime objects
    "Store",
    "Module",
    "Instance",
    "Exports",
    "Imports",
    "Function",
    "Memory",
    "Table",
    "Global",
    "Tag",
    "Extern",
    "PAGE_SIZE",
    # types
    "ValType",
    "RefType",
    "I31",
    "GcRef",
    "StructRef",
    "ArrayRef",
    "HeapType",
    "FuncType",
    "MemoryType",
    "TableType",
    "GlobalType",
    "TagType",
    "ImportType",
    "ExportType",
    "ExternType",
    "Features",
    # errors
    "WallTimeExceeded",
    "WasmroutinesError",
    "CompileError",
    "MalformedModule",
    "InvalidModule",
    "UnsupportedFeature",
    "LinkError",
    "Trap",
    "WasmException",
    "Frame",
    "OutOfFuel",
    "RefTypeError",
    "ResourceLimitError",
    "StackExhausted",
    "StoreClosedError",
    "ImmutableGlobalError",
    "Deadlock",
    "ThreadReport",
    "ForeignThreadError",
    "AsyncHostCallError",
    # asyncio
    "call_async",
    "await_only",
    # green threads
    "spawn",
    "join",
    "current_scheduler",
    "current_thread",
    "Scheduler",
    "GreenThread",
    "ThreadState",
    "Event",
    "FairPolicy",
    "SeededPolicy",
    "MonotonicClock",
    "VirtualClock",
    # text format
    "wat2wasm",
    "WatError",
]
