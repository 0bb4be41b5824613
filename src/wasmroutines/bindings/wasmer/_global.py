"""`Global`: a global variable over a core Global, converting values by wasmer's rules."""

from __future__ import annotations

from typing import Any

from ...core.errors import ImmutableGlobalError
from ...core.global_ import Global as CoreGlobal
from ...core.types import GlobalType as CoreGlobalType
from ._convert import check, from_core_value
from ._store import Store, check_store
from ._types import GlobalType
from ._value import Value

__all__ = ["Global"]


class Global:
    """A global variable: `Global(store, value: Value, mutable=False)`, or an instance's exported global.

    Writes are seen by wasm, and wasm's writes by Python. Setting an immutable
    global raises RuntimeError; a value of the wrong Python type, TypeError.

    >>> from wasmroutines.wasmer import Store, Global, Value
    >>> g = Global(Store(), Value.i32(42), mutable=True)
    >>> g.value, g.mutable, str(g.type)
    (42, True, 'GlobalType(type: I32, mutable: true)')
    >>> g.value = 2**32 - 1  # i32 takes u32 values too, and reads back signed
    >>> g.value
    -1
    >>> frozen = Global(Store(), Value.f64(1.5))
    >>> try:
    ...     frozen.value = 2.5
    ... except RuntimeError as e:
    ...     print(e)
    The global variable is not mutable, cannot set a new value
    """

    __slots__ = ("__weakref__", "_core")

    _core: CoreGlobal

    def __init__(self, store: Store, value: Value, mutable: bool = False) -> None:
        check_store(store)
        if not isinstance(value, Value):
            raise TypeError(f"'{type(value).__name__}' object cannot be converted to 'Value'")
        self._core = CoreGlobal(store._core, CoreGlobalType(value.type.core, bool(mutable)), value.value)

    @classmethod
    def _wrap(cls, core: CoreGlobal) -> Global:
        g = cls.__new__(cls)
        g._core = core
        return g

    @property
    def mutable(self) -> bool:
        """True when the global may be set."""
        return self._core.mutable

    @property
    def type(self) -> GlobalType:
        """The global's GlobalType."""
        return GlobalType._from_core(self._core.type, self._core.store.type_kind)

    @property
    def value(self) -> Any:
        """The current value (int, float, a Function or None, or an object for externref)."""
        return from_core_value(self._core.type.type, self._core.value)

    @value.setter
    def value(self, value: Any) -> None:
        t = self._core.type
        if not t.mutable:
            raise ImmutableGlobalError("The global variable is not mutable, cannot set a new value")
        self._core.value = check(t.type, value)

    def __repr__(self) -> str:
        return f"<Global {self.type}>"
