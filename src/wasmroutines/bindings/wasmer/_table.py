"""`Table`: a table of references over a core Table."""

from __future__ import annotations

from typing import Any

from ...core.table import Table as CoreTable
from ._convert import check
from ._store import Store, check_store
from ._types import TableType
from ._value import Value
from .errors import NotAReference

__all__ = ["Table"]


class Table:
    """A table of references: `Table(store, table_type, initial_value)`, or an instance's exported table.

    wasmer 1.1 could not make one (it has no Value for references); here
    `initial_value` is None (null), a Function for a FUNC_REF table, or any
    object for an EXTERN_REF table. A number Value still raises RuntimeError.

    >>> from wasmroutines.wasmer import Store, Table, TableType, Type, Value
    >>> table = Table(Store(), TableType(Type.FUNC_REF, 3), None)
    >>> table.size, str(table.type)
    (3, 'TableType(type: FuncRef, minimum: 3, maximum: None)')
    >>> try:
    ...     Table(Store(), TableType(Type.FUNC_REF, 1), Value.i32(0))
    ... except RuntimeError as e:
    ...     print(e)
    RuntimeError: val is not reference
    """

    __slots__ = ("__weakref__", "_core")

    _core: CoreTable

    def __init__(self, store: Store, table_type: TableType, initial_value: Any = None) -> None:
        check_store(store)
        if not isinstance(table_type, TableType):
            raise TypeError(f"'{type(table_type).__name__}' object cannot be converted to 'TableType'")
        if isinstance(initial_value, Value):
            raise NotAReference()
        core_type = table_type._core()
        if not core_type.type.is_ref:
            raise NotAReference()
        self._core = CoreTable(store._core, core_type, check(core_type.type, initial_value))

    @classmethod
    def _wrap(cls, core: CoreTable) -> Table:
        t = cls.__new__(cls)
        t._core = core
        return t

    @property
    def size(self) -> int:
        """The current number of elements."""
        return self._core.size

    @property
    def type(self) -> TableType:
        """The table's TableType; `minimum` is its current size."""
        return TableType._from_core(self._core.type, self._core.store.type_kind)

    def __repr__(self) -> str:
        return f"<Table {self.type}>"
