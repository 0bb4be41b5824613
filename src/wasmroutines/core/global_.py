"""Global: a global variable of a store."""

from __future__ import annotations

from typing import Any

from . import _externtype
from ._ffi import NULL, address, ffi, lib
from .errors import ImmutableGlobalError
from .store import Store, StoreObject
from .types import GlobalType, ValType
from .values import from_slots, to_slots

__all__ = ["Global"]


class Global(StoreObject):
    """`Global(store, GlobalType(ValType.I32, mutable=True), 42)` makes one."""

    _type: GlobalType | None

    def __init__(self, store: Store, type: GlobalType, value: Any = None) -> None:
        type = store._of_store(type)
        store._check_types((type.type,))
        if value is None and not type.type.is_ref:
            value = 0
        lo, hi = self._slots(store, type.type, value)
        ptr = lib.wr_api_global_new(store._ptr, type.type.code, type.mutable, lo, hi)
        if ptr == NULL:
            raise MemoryError("cannot create a global")
        self._ptr = ptr
        self._store = store
        self._type = type
        store._remember(address(ptr), self)

    @classmethod
    def _from_ptr(cls, store: Store, ptr: Any) -> Global:
        addr = address(ptr)
        wrapper = store._wrapper(addr, cls)
        if wrapper is None:
            wrapper = cls.__new__(cls)
            wrapper._ptr = ffi.cast("wr_global *", ptr)
            wrapper._store = store
            wrapper._type = None
            store._remember(addr, wrapper)
        return wrapper

    @staticmethod
    def _slots(store: Store, t: ValType, value: Any) -> tuple[int, int]:
        out: list[int] = []
        to_slots(store, t, value, out)
        return out[0], (out[1] if len(out) > 1 else 0)

    @property
    def type(self) -> GlobalType:
        if self._type is None:
            et = _externtype.new()
            lib.wr_api_global_type(self._ptr, et)
            t = _externtype.read(et)
            assert isinstance(t, GlobalType)
            self._type = t
        return self._type

    @property
    def mutable(self) -> bool:
        return self.type.mutable

    @property
    def value(self) -> Any:
        return from_slots(self._store, self.type.type, self.bits, 0)

    @value.setter
    def value(self, value: Any) -> None:
        ptr = self._ptr
        if not self.type.mutable:
            raise ImmutableGlobalError("the global is not mutable")
        lo, hi = self._slots(self._store, self.type.type, value)
        lib.wr_api_global_set(ptr, lo, hi)

    @property
    def bits(self) -> list[int]:
        """The raw slots (two words; v128 uses both), keeping exact NaN payloads."""
        out = ffi.new("uint64_t[2]")
        lib.wr_api_global_get(self._ptr, out)
        return [int(out[0]), int(out[1])]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Global) and other._store is self._store and other._cptr == self._cptr

    def __hash__(self) -> int:
        return hash(address(self._cptr))

    def __repr__(self) -> str:
        if self._store.closed:
            return "<Global of a closed store>"
        return f"<Global {self.type.type} = {self.value!r}>"
