"""Instance: a module instantiated in a store against a set of imports, and its exports."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeAlias

from ._ffi import NULL, ffi, lib, raise_error
from .errors import LinkError, ResourceLimitError
from .extern import Extern, extern_kind, wrap_extern
from .function import Function
from .module import Module
from .store import Store, StoreObject, closed_error
from .types import FuncType

__all__ = ["Exports", "Imports", "Instance"]


class Exports:
    """An instance's exports: `exports.f`, `exports["f"]`, `"f" in exports`, `len(exports)`.

    Iteration yields `(name, extern)` pairs in export order (as wasmer's does),
    so `dict(exports)` works. Exports has no public methods: any name an
    export may have stays reachable as an attribute.
    """

    def __init__(self, items: dict[str, Extern]) -> None:
        self._items = items

    def __getattr__(self, name: str) -> Extern:
        try:
            return self.__dict__["_items"][name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(f"no export named {name!r}") from None

    def __getitem__(self, name: str) -> Extern:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"no export named {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[tuple[str, Extern]]:
        return iter(self._items.items())

    def __len__(self) -> int:
        return len(self._items)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *(n for n in self._items if n.isidentifier())]

    def __repr__(self) -> str:
        return f"<Exports {', '.join(self._items)}>"


#: {module name: {field name: extern}}; another instance's `exports` may
#: stand for an inner mapping. A plain callable is accepted for a function
#: import and becomes a host Function of the type the module asks for.
Imports: TypeAlias = Mapping[str, Mapping[str, Extern | Callable[..., Any]] | Exports]


def _lookup(imports: Imports | None, module: str, name: str) -> Any:
    try:
        return imports[module][name] if imports is not None else None
    except KeyError:
        return None


class Instance(StoreObject):
    """Instantiate `module` in `store`: link imports, initialize, run the start function.

    Raises LinkError when an import is missing or does not match, Trap when
    initialization or the start function traps. `before_start`, if given, is
    called with the instance once its exports exist and before the start
    function runs: where host functions bind to the instance (WASI binds its
    memory there, as wasmer's host environments do).
    """

    def __init__(
        self,
        store: Store,
        module: Module,
        imports: Imports | None = None,
        *,
        before_start: Callable[[Instance], None] | None = None,
    ) -> None:
        if store.max_module_size is not None and module.size > store.max_module_size:
            raise ResourceLimitError(
                f"module size {module.size} bytes over the store's limit of {store.max_module_size} (max_module_size)",
                "max_module_size",
            )
        self._store = store
        self._module = module
        wanted = module.imports
        externs = ffi.new("wr_extern[]", max(len(wanted), 1))
        keep = []
        for i, imp in enumerate(wanted):
            obj = _lookup(imports, imp.module, imp.name)
            if obj is None:
                raise LinkError(f"unknown import: {imp.module}.{imp.name}")
            if extern_kind(obj) is None and callable(obj) and isinstance(imp.type, FuncType):
                obj = Function(store, obj, imp.type)
            kind = extern_kind(obj)
            if kind is None:
                raise LinkError(f"import {imp.module}.{imp.name} is not a Function, Memory, Table, Global or Tag")
            if obj._store is not store:
                raise LinkError(f"import {imp.module}.{imp.name} belongs to another store")
            externs[i].kind = kind
            externs[i].ptr = obj._ptr
            keep.append(obj)
        store._keep_module(module)
        err = ffi.new("wr_error *")
        out = ffi.new("wr_instance **")
        rc = lib.wr_api_instance_new(store._ptr, module._ptr, externs, len(wanted), out, err)
        if rc != 0:
            # A negative rc is a trap during initialization (segments out of
            # bounds); its effects on imported memories and tables persist.
            raise_error(rc, err)
        self._ptr = out[0]
        items: dict[str, Extern] = {}
        ext = ffi.new("wr_extern *")
        for i, exp in enumerate(module.exports):
            if lib.wr_api_instance_export(self._ptr, i, ext) != 0:
                raise SystemError(f"export {i} of the instance is missing")
            items[exp.name] = wrap_extern(store, ext.kind, ext.ptr)
        self._exports = Exports(items)
        if before_start is not None:
            before_start(self)
        start = lib.wr_api_instance_start(self._ptr)
        if start != NULL:
            # Through Function: the start function may be an imported host function.
            Function._from_ptr(store, start).call_bits([])

    @property
    def exports(self) -> Exports:
        """The instance's exports (StoreClosedError once its store is closed)."""
        if self._store.closed:
            raise closed_error("Instance")
        return self._exports

    def function(self, name: str) -> Function:
        """The exported function `name`, typed as a Function (`exports.name` is any extern kind, so typed code
        that calls it needs this): KeyError when there is no such export, TypeError when it is not a function."""
        extern = self.exports[name]
        if not isinstance(extern, Function):
            raise TypeError(f"export {name!r} is a {type(extern).__name__}, not a function")
        return extern

    @property
    def module(self) -> Module:
        return self._module

    def __repr__(self) -> str:
        return f"<Instance of {self._module!r}>"
