"""`Store`: owner of every runtime object, over a core Store, with the engine it was made with."""

from __future__ import annotations

from typing import Any

from ...core.store import Store as CoreStore
from ._compilers import CraneliftCompiler
from .engine import Dylib, Universal

__all__ = ["Store"]


class Store:
    """Owns functions, memories, globals, tables and instances. `Store(engine=None)`.

    The engine is accepted and reported, never needed: without one, a Store
    reports wasmer's default (Universal with Cranelift). Anything but an
    engine is a TypeError.

    >>> from wasmroutines.wasmer import Store, engine
    >>> store = Store()
    >>> store.engine_name, store.compiler_name
    ('universal', 'cranelift')
    >>> Store(engine.Universal()).compiler_name is None
    True
    >>> Store(42)
    Traceback (most recent call last):
    ...
    TypeError: Unknown engine
    """

    __slots__ = ("__weakref__", "_core", "_engine")

    def __init__(self, engine: Universal | Dylib | None = None) -> None:
        if engine is None:
            engine = Universal(CraneliftCompiler)
        elif not isinstance(engine, (Universal, Dylib)):
            raise TypeError("Unknown engine")
        self._engine = engine
        self._core = CoreStore()

    @property
    def engine_name(self) -> str:
        """`'universal'` or `'dylib'`.

        >>> from wasmroutines.wasmer import Store
        >>> Store().engine_name
        'universal'
        """
        return self._engine.name

    @property
    def compiler_name(self) -> str | None:
        """`'cranelift'`, `'llvm'`, `'singlepass'` or None (a headless engine).

        >>> from wasmroutines.wasmer import Store
        >>> Store().compiler_name
        'cranelift'
        """
        return self._engine.compiler_name

    @property
    def engine(self) -> Universal | Dylib:
        """The engine the store was made with (an addition to wasmer's API).

        >>> from wasmroutines.wasmer import Store
        >>> Store().engine
        <Universal engine, compiler cranelift>
        """
        return self._engine

    def __repr__(self) -> str:
        return f"<Store {self.engine_name}/{self.compiler_name}>"


def check_store(store: Any) -> Store:
    """`store` if it is a Store, else wasmer's TypeError."""
    if not isinstance(store, Store):
        raise TypeError(f"argument 'store': '{type(store).__name__}' object cannot be converted to 'Store'")
    return store
