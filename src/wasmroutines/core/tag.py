"""Tag: an exception tag of a store (exception handling, WebAssembly 3.0)."""

from __future__ import annotations

from typing import Any

from . import _externtype
from ._ffi import NULL, address, ffi, lib
from .store import Store, StoreObject
from .types import TagType
from .values import register_tag

__all__ = ["Tag"]


class Tag(StoreObject):
    """`Tag(store, TagType((ValType.I32,)))` makes a new tag: an exception's kind, which `catch` clauses name.

    A tag is its identity, not its type: two tags of the same type are different tags (a module's own tags are
    new at every instantiation). Import one into modules, or take one from an instance's exports, so that the
    host and wasm throw and catch the same exceptions (WasmException carries its tag).
    """

    _type: TagType | None

    def __init__(self, store: Store, type: TagType) -> None:
        if type.module_type is None:
            store._check_types(type.params)
            params = ffi.new("uint32_t[]", [t.code for t in type.params])
            ptr = lib.wr_api_tag_new(store._ptr, params, len(type.params))
        else:
            ptr = lib.wr_api_tag_new_id(store._ptr, store._module_type_id(type.module_type))
        if ptr == NULL:
            raise MemoryError("cannot create a tag")
        self._ptr = ptr
        self._store = store
        self._type = type if type.module_type is None else None  # else its type as the store has it (.type)
        store._remember(address(ptr), self)

    @classmethod
    def _from_ptr(cls, store: Store, ptr: Any) -> Tag:
        addr = address(ptr)
        wrapper = store._wrapper(addr, cls)
        if wrapper is None:
            wrapper = cls.__new__(cls)
            wrapper._ptr = ffi.cast("wr_tag *", ptr)
            wrapper._store = store
            wrapper._type = None
            store._remember(addr, wrapper)
        return wrapper

    @property
    def type(self) -> TagType:
        if self._type is None:
            et = _externtype.new()
            lib.wr_api_tag_type(self._ptr, et)
            t = _externtype.read(et)
            assert isinstance(t, TagType)
            self._type = t
        return self._type

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tag) and other._store is self._store and address(other._cptr) == address(self._cptr)

    def __hash__(self) -> int:
        return hash(address(self._cptr))

    def __repr__(self) -> str:
        return f"<Tag {self.type}>"


register_tag(Tag)
