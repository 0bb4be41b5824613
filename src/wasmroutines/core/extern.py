"""Extern: what an import binds and an export names (a function, memory, table, global or tag)."""

from __future__ import annotations

from typing import Any, TypeAlias

from ._ffi import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE, EXTERN_TAG
from .function import Function
from .global_ import Global
from .memory import Memory
from .store import Store
from .table import Table
from .tag import Tag

__all__ = ["Extern", "extern_kind", "wrap_extern"]

Extern: TypeAlias = Function | Memory | Table | Global | Tag

_KINDS: dict[type, int] = {
    Function: EXTERN_FUNC,
    Table: EXTERN_TABLE,
    Memory: EXTERN_MEMORY,
    Global: EXTERN_GLOBAL,
    Tag: EXTERN_TAG,
}
_CLASSES: dict[int, Any] = {kind: cls for cls, kind in _KINDS.items()}


def extern_kind(obj: object) -> int | None:
    """The wr_externkind of an extern object, or None if `obj` is not one."""
    return _KINDS.get(type(obj))


def wrap_extern(store: Store, kind: int, ptr: Any) -> Extern:
    """The Python wrapper of a C extern (one wrapper per C object while it lives)."""
    return _CLASSES[kind]._from_ptr(store, ptr)  # type: ignore[no-any-return]
