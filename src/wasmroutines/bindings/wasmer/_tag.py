"""`Tag`: an exception tag over a core Tag (an addition: wasmer-python 1.1 predates exception handling)."""

from __future__ import annotations

from ...core.tag import Tag as CoreTag
from ._store import Store, check_store
from ._types import TagType

__all__ = ["Tag"]


class Tag:
    """An exception tag: `Tag(store, TagType([Type.I32]))`, or an instance's exported tag.

    Import it into modules so that wasm and Python throw and catch the same exceptions: a host function raises
    `WasmException(tag, payload)` to throw one in wasm, and an exception no handler caught reaches Python as a
    WasmException carrying its tag. A Tag equals another standing for the same core tag (or that core tag).

    >>> from wasmroutines.wasmer import Store, Tag, TagType, Type, WasmException
    >>> tag = Tag(Store(), TagType([Type.I32]))
    >>> print(tag.type)
    TagType(params: [I32])
    >>> e = WasmException(tag, [7])
    >>> e.tag == tag, e.payload
    (True, (7,))
    """

    __slots__ = ("__weakref__", "_core")

    _core: CoreTag

    def __init__(self, store: Store, type: TagType) -> None:
        check_store(store)
        if not isinstance(type, TagType):
            raise TypeError(f"'{type.__class__.__name__}' object cannot be converted to 'TagType'")
        self._core = CoreTag(store._core, type._core())

    @classmethod
    def _wrap(cls, core: CoreTag) -> Tag:
        t = cls.__new__(cls)
        t._core = core
        return t

    @property
    def type(self) -> TagType:
        """The tag's TagType."""
        return TagType._from_core(self._core.type, self._core.store.type_kind)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Tag):
            return self._core == other._core
        if isinstance(other, CoreTag):
            return self._core == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._core)

    def __repr__(self) -> str:
        return f"<Tag {self.type}>"
