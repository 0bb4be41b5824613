"""`Instance`, `Exports` and `ExportsIterator`: an instantiated module and what it exports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...core.instance import Exports as CoreExports
from ...core.instance import Instance as CoreInstance
from ._imports import ImportObject, namespaces_of, resolve
from ._module import Module
from ._wrap import Extern, wrap
from .errors import ExportNotFound, wasmer_errors

__all__ = ["Exports", "ExportsIterator", "Instance"]


class ExportsIterator:
    """Iterates an instance's exports as `(name, extern)` pairs, in export order.

    >>> from wasmroutines.wasmer import Store, Module, Instance
    >>> instance = Instance(Module(Store(), '(module (memory (export "m") 1) (func (export "f")))'))
    >>> [(name, type(extern).__name__) for name, extern in instance.exports]
    [('m', 'Memory'), ('f', 'Function')]
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterator[tuple[str, Any]]) -> None:
        self._items = items

    def __iter__(self) -> ExportsIterator:
        return self

    def __next__(self) -> tuple[str, Extern]:
        name, core = next(self._items)
        return name, wrap(core)


class Exports:
    """An instance's exports, by attribute: `instance.exports.sum(1, 2)`.

    Each access gives a fresh wrapper. A missing export raises ExportNotFound,
    which is a LookupError (as in wasmer) and an AttributeError, so `hasattr`
    and `getattr(exports, name, default)` work (wasmer 1.1 raised from
    `hasattr`). `len()` counts the exports, iteration yields `(name, extern)`,
    and, additions to wasmer, `name in exports`, `exports[name]` and `dir()`.

    >>> from wasmroutines.wasmer import Store, Module, Instance
    >>> instance = Instance(Module(Store(), '(module (func (export "f") (result i32) i32.const 7))'))
    >>> instance.exports.f(), len(instance.exports), hasattr(instance.exports, "g")
    (7, 1, False)
    >>> instance.exports.g
    Traceback (most recent call last):
    ...
    wasmroutines.bindings.wasmer.errors.ExportNotFound: Export `g` does not exist.
    """

    __slots__ = ("_core",)

    def __init__(self, core: CoreExports) -> None:
        self._core = core

    # Any, not Extern: so that typed user code can write `instance.exports.sum(1, 2)`.
    def __getattr__(self, name: str) -> Any:
        try:
            core: CoreExports = object.__getattribute__(self, "_core")
        except AttributeError:  # not initialised (copy, pickle): no exports
            raise AttributeError(name) from None
        if name not in core:
            raise ExportNotFound(name)
        return wrap(core[name])

    def __getitem__(self, name: str) -> Any:
        if not isinstance(name, str) or name not in self._core:
            raise ExportNotFound(str(name))
        return wrap(self._core[name])

    def __contains__(self, name: object) -> bool:
        return name in self._core

    def __len__(self) -> int:
        return len(self._core)

    def __iter__(self) -> ExportsIterator:
        return ExportsIterator(iter(self._core))

    def __dir__(self) -> list[str]:
        return sorted({*object.__dir__(self), *(name for name, _ in self._core)})

    def __repr__(self) -> str:
        return f"<Exports {', '.join(name for name, _ in self._core)}>"


class Instance:
    """A module instantiated with its imports: `Instance(module, import_object=None)`.

    `import_object` is a dict `{namespace: {name: extern}}` (dict subclasses
    such as defaultdict too) or an ImportObject; extra entries are ignored. A
    missing or mismatched import raises RuntimeError (`Error while importing
    "env"."f": ...`); a trap in the start function raises RuntimeError; an
    exception raised by a host function propagates unchanged.

    >>> from wasmroutines.wasmer import Store, Module, Instance, Memory, MemoryType
    >>> store = Store()
    >>> module = Module(store, '(module (import "env" "mem" (memory 2)))')
    >>> try:
    ...     Instance(module, {"env": {"mem": Memory(store, MemoryType(1))}})
    ... except RuntimeError as e:
    ...     print(e)
    Error while importing "env"."mem": incompatible import type. \
Expected Memory(MemoryType { minimum: 2 pages, maximum: None, shared: false }) \
but received Memory(MemoryType { minimum: 1 pages, maximum: None, shared: false })
    >>> Instance(module, {"env": {"mem": Memory(store, MemoryType(2))}}).exports is not None
    True
    """

    __slots__ = ("__weakref__", "_core", "_exports", "_module")

    def __init__(self, module: Module, import_object: ImportObject | dict[str, Any] | None = None) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"argument 'module': '{type(module).__name__}' object cannot be converted to 'Module'")
        store = module._store._core
        imports, hooks = resolve(store, module._core, namespaces_of(import_object))

        def before_start(instance: CoreInstance) -> None:
            for hook in hooks:
                hook(instance)

        with wasmer_errors():
            self._core = CoreInstance(store, module._core, imports, before_start=before_start if hooks else None)
        self._module = module
        self._exports = Exports(self._core.exports)

    @property
    def exports(self) -> Exports:
        """The instance's exports (the same Exports object on every access)."""
        return self._exports

    def __repr__(self) -> str:
        return f"<Instance of {self._module!r}>"
