"""Table: a table of references (funcref or externref) of a store."""

from __future__ import annotations

from typing import Any

from . import _externtype
from ._ffi import NULL, address, ffi, lib
from .errors import ResourceLimitError
from .store import Store, StoreObject
from .types import TableType
from .values import from_slots, to_slots

__all__ = ["Table"]


class Table(StoreObject):
    """`Table(store, TableType(ValType.FUNCREF, minimum, maximum), init=None)` makes one."""

    def __init__(self, store: Store, type: TableType, init: Any = None) -> None:
        if not type.type.is_ref:
            raise ValueError(f"a table holds references, not {type.type}")
        if type.maximum is not None and type.maximum < type.minimum:
            raise ValueError("table maximum is less than its minimum")
        type = store._of_store(type)
        store._check_types((type.type,))
        ref = self._slot(store, type, init)
        has_max = type.maximum is not None
        if type.minimum < 0:
            raise ValueError("table minimum must not be negative")
        limit = 2**64 - 1 if type.is64 else 2**32 - 1
        if max(type.minimum, type.maximum or 0) > limit:
            raise ValueError(f"table size must be at most {limit} elements")
        ptr = lib.wr_api_table_new(store._ptr, type.type.code, type.minimum, type.maximum or 0, has_max, ref, type.is64)
        if ptr == NULL:
            cap = store._max_table_elements
            if cap is not None and type.minimum > cap:
                raise ResourceLimitError(
                    f"table size {type.minimum} over the store's limit of {cap} (max_table_elements)",
                    "max_table_elements",
                )
            raise ResourceLimitError(f"cannot create a table of {type.minimum} elements")
        self._ptr = ptr
        self._store = store
        store._remember(address(ptr), self)

    @classmethod
    def _from_ptr(cls, store: Store, ptr: Any) -> Table:
        addr = address(ptr)
        wrapper = store._wrapper(addr, cls)
        if wrapper is None:
            wrapper = cls.__new__(cls)
            wrapper._ptr = ffi.cast("wr_table *", ptr)
            wrapper._store = store
            store._remember(addr, wrapper)
        return wrapper

    @staticmethod
    def _slot(store: Store, type: TableType, value: Any) -> int:
        out: list[int] = []
        to_slots(store, type.type, value, out)
        return out[0]

    @property
    def type(self) -> TableType:
        et = _externtype.new()
        lib.wr_api_table_type(self._ptr, et)
        t = _externtype.read(et)
        assert isinstance(t, TableType)
        return t

    @property
    def size(self) -> int:
        return int(lib.wr_api_table_size(self._ptr))

    def __len__(self) -> int:
        return self.size

    def get(self, index: int) -> Any:
        """The element at `index`: a Function or None (funcref), the host object or None (externref)."""
        out = ffi.new("uint64_t *")
        if not 0 <= index < 2**64 or lib.wr_api_table_get(self._ptr, index, out) != 0:
            raise IndexError(f"table index {index} out of bounds (size {self.size})")
        return from_slots(self._store, self.type.type, [int(out[0])], 0)

    def set(self, index: int, value: Any) -> None:
        ref = self._slot(self._store, self.type, value)
        if not 0 <= index < 2**64 or lib.wr_api_table_set(self._ptr, index, ref) != 0:
            raise IndexError(f"table index {index} out of bounds (size {self.size})")

    def grow(self, delta: int, init: Any = None) -> int:
        """Grow by `delta` elements set to `init`; returns the previous size."""
        if delta < 0:
            raise ValueError("a table cannot shrink")
        ref = self._slot(self._store, self.type, init)
        old = int(lib.wr_api_table_grow(self._ptr, min(delta, 2**64 - 1), ref))
        if old < 0:
            message = f"the table could not grow: size {self.size}, requested increase {delta}"
            cap, maximum = self._store._max_table_elements, self.type.maximum
            if cap is not None and self.size + delta > cap and (maximum is None or self.size + delta <= maximum):
                raise ResourceLimitError(
                    f"{message}, over the store's limit of {cap} (max_table_elements)", "max_table_elements"
                )
            raise ResourceLimitError(message)
        return old

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and other._store is self._store and other._cptr == self._cptr

    def __hash__(self) -> int:
        return hash(address(self._cptr))

    def __repr__(self) -> str:
        if self._store.closed:
            return "<Table of a closed store>"
        return f"<Table {self.type.type} size {self.size}>"
