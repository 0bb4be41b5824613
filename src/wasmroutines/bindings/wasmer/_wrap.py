"""Between wasmer externs (Function, Memory, Global, Table, Tag) and the core objects they stand for."""

from __future__ import annotations

from typing import Any, TypeAlias

from ...core.extern import Extern as CoreExtern
from ...core.function import Function as CoreFunction
from ...core.global_ import Global as CoreGlobal
from ...core.memory import Memory as CoreMemory
from ...core.table import Table as CoreTable
from ...core.tag import Tag as CoreTag
from ._function import Function
from ._global import Global
from ._memory import Memory
from ._table import Table
from ._tag import Tag

__all__ = ["EXTERN_CLASSES", "Extern", "is_extern", "wrap"]

Extern: TypeAlias = Function | Memory | Global | Table | Tag
EXTERN_CLASSES = (Function, Memory, Global, Table, Tag)


def is_extern(obj: object) -> bool:
    return isinstance(obj, EXTERN_CLASSES)


def wrap(core: CoreExtern) -> Extern:
    """A fresh wasmer wrapper of a core extern (wasmer hands out a new one per access)."""
    if isinstance(core, CoreFunction):
        return Function._wrap(core)
    if isinstance(core, CoreMemory):
        return Memory._wrap(core)
    if isinstance(core, CoreGlobal):
        return Global._wrap(core)
    if isinstance(core, CoreTable):
        return Table._wrap(core)
    if isinstance(core, CoreTag):
        return Tag._wrap(core)
    raise TypeError(f"not an extern: {core!r}")  # pragma: no cover - the core has five kinds


def core_of(obj: Any) -> CoreExtern:
    """The core object behind a wasmer extern."""
    core: CoreExtern = obj._core
    return core
