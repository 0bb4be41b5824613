"""A drop-in for the `wasmer` Python package (wasmer-python 1.1), on the Wasmroutines interpreter.

Code written for wasmer runs by changing its import::

    from wasmroutines import wasmer          # was: import wasmer
    from wasmroutines.wasmer import Store    # was: from wasmer import Store

The same names in the same places: `Store`, `Module`, `Instance`,
`Function`, `Memory`, `Global`, `Table`, the type descriptors, `Value`,
`ImportObject`, typed memory views, `wat2wasm`/`wasm2wat`, and the
submodules `engine`, `target` and `wasi`. Stand-ins for the compiler
packages are `wasmroutines.wasmer_compiler_cranelift` (`_llvm`,
`_singlepass`). Engines, compilers and targets are accepted and reported,
never needed: Wasmroutines interprets.

Where wasmer panicked or misbehaved, this does the sensible thing (each
case is documented where it happens): `hasattr(instance.exports, name)`
works; a call with too many arguments raises like one with too few; views
cannot start past the end of memory; `custom_sections` returns every
section of a name; traps print at most 64 frames. Errors wasmer raised as
RuntimeError are subclasses of RuntimeError here (see
`wasmroutines.wasmer.errors`).

Additions: shared memories and atomics (the threads proposal) work, and
wasm threads are green threads: `wasmer.threads` spawns and joins them and
`Store(policy=..., clock=...)` chooses their schedule; host functions may
block their own green thread (`threads.sleep`, `threads.Queue`);
`wasmer.wasi.run_threads` runs a wasi-threads program (`thread-spawn`). WebAssembly 3.0's
exception handling: `Tag` and `TagType`, and `WasmException` (an uncaught wasm exception, with its
tag and payload; raised by a host function, it throws in wasm).

>>> from wasmroutines import wasmer
>>> store = wasmer.Store()
>>> module = wasmer.Module(store, '(module (func (export "sum") (param i32 i32) (result i32) '
...                                '(i32.add (local.get 0) (local.get 1))))')
>>> instance = wasmer.Instance(module)
>>> instance.exports.sum(1, 2)
3
"""

from __future__ import annotations

from ... import __version__ as _wasmroutines_version
from . import engine, errors, target, threads, wasi
from ._function import Function
from ._global import Global
from ._imports import ImportObject
from ._instance import Exports, ExportsIterator, Instance
from ._memory import Buffer, Memory
from ._module import Module
from ._store import Store
from ._table import Table
from ._tag import Tag
from ._text import wasm2wat, wat2wasm
from ._types import ExportType, FunctionType, GlobalType, ImportType, MemoryType, TableType, TagType, Type
from ._value import Value
from ._views import (
    Float32Array,
    Float64Array,
    Int8Array,
    Int16Array,
    Int32Array,
    Int64Array,
    Uint8Array,
    Uint16Array,
    Uint32Array,
    Uint64Array,
)
from .errors import WasmException

#: The wasmer-python release whose API this is.
__version__ = "1.1.0"
#: wasmer reported its package version here again; this reports the Wasmroutines version behind the API.
__core_version__ = _wasmroutines_version

__all__ = [
    # submodules
    "engine",
    "target",
    "wasi",
    # runtime objects
    "Store",
    "Module",
    "Instance",
    "Exports",
    "ExportsIterator",
    "ImportObject",
    "Function",
    "Global",
    "Memory",
    "Table",
    # additions: exception handling (WebAssembly 3.0), which wasmer-python 1.1 predates
    "Tag",
    "TagType",
    "WasmException",
    # memory access
    "Buffer",
    "Uint8Array",
    "Int8Array",
    "Uint16Array",
    "Int16Array",
    "Uint32Array",
    "Int32Array",
    "Uint64Array",
    "Int64Array",
    "Float32Array",
    "Float64Array",
    # types and values
    "Type",
    "FunctionType",
    "MemoryType",
    "GlobalType",
    "TableType",
    "ExportType",
    "ImportType",
    "Value",
    # text format
    "wat2wasm",
    "wasm2wat",
]
_ = errors, threads  # public submodules (wasmroutines.wasmer.errors, .threads), outside wasmer's own namespace
