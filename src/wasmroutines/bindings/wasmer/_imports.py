"""`ImportObject`, and resolving a module's imports against a dict of namespaces or an ImportObject.

Resolution checks every import here, before the core sees it, so that a
missing or mismatched import gets wasmer's message:
  Error while importing "env"."f": unknown import. Expected Function(FunctionType { params: [I32], results: [] })
  Error while importing "env"."m": incompatible import type. Expected Memory(...) but received Memory(...)
Extra entries are ignored, as in wasmer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...core import types as core_types
from ...core.errors import LinkError
from ...core.extern import Extern as CoreExtern
from ...core.module import Module as CoreModule
from ...core.store import Store as CoreStore
from ._types import extern_debug, extern_from_core
from ._wrap import Extern, core_of, is_extern

__all__ = ["ImportObject", "Namespaces", "resolve"]

Namespaces = dict[str, dict[str, Extern]]


def _name(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"'{type(key).__name__}' object cannot be converted to 'PyString'")
    return key


def _namespace(value: Any) -> dict[str, Extern]:
    if not isinstance(value, dict):
        raise TypeError(f"'{type(value).__name__}' object cannot be converted to 'PyDict'")
    out: dict[str, Extern] = {}
    for key, extern in value.items():
        if not is_extern(extern):
            raise TypeError(f'`ImportObject` cannot register the given type `Ok("{type(extern).__name__}")`')
        out[_name(key)] = extern
    return out


class ImportObject:
    """Imports by namespace, for `Instance(module, import_object)`; a dict of dicts does the same.

    `register(namespace, {name: extern})` adds (or replaces) a namespace;
    `contains_namespace(name)` and `to_dict()` read them back. wasmer marks
    ImportObject deprecated in favour of plain dicts, but code still uses it.

    >>> from wasmroutines.wasmer import Store, Memory, MemoryType, ImportObject
    >>> imports = ImportObject()
    >>> memory = Memory(Store(), MemoryType(1))
    >>> imports.register("env", {"memory": memory})
    >>> imports.contains_namespace("env"), imports.contains_namespace("wasi")
    (True, False)
    >>> imports.to_dict()["env"]["memory"] is memory
    True
    >>> imports.register("env", {"memory": 42})
    Traceback (most recent call last):
    ...
    TypeError: `ImportObject` cannot register the given type `Ok("int")`
    """

    __slots__ = ("_namespaces",)

    def __init__(self) -> None:
        self._namespaces: Namespaces = {}

    def register(self, namespace: str, dict: dict[str, Extern]) -> None:
        """Set the externs of `namespace` (a str) from a dict of name -> Function/Memory/Global/Table."""
        self._namespaces[_name(namespace)] = _namespace(dict)

    def contains_namespace(self, namespace: str) -> bool:
        """True when `namespace` was registered."""
        return _name(namespace) in self._namespaces

    def to_dict(self) -> Namespaces:
        """The namespaces, as a new `{namespace: {name: extern}}` dict."""
        return {ns: dict(names) for ns, names in self._namespaces.items()}

    def __repr__(self) -> str:
        return f"<ImportObject {sorted(self._namespaces)}>"


def namespaces_of(import_object: Any) -> Namespaces:
    """An ImportObject, a dict of dicts (subclasses too) or None, checked, as `{namespace: {name: extern}}`."""
    if import_object is None:
        return {}
    if isinstance(import_object, ImportObject):
        return import_object._namespaces
    if not isinstance(import_object, dict):
        raise TypeError(f"'{type(import_object).__name__}' object cannot be converted to 'PyDict'")
    # Iterate rather than look up: a defaultdict must not grow entries for what the module asks.
    return {_name(ns): _namespace(names) for ns, names in import_object.items()}


def _limits_fit(got: Any, want: Any) -> bool:
    if got.address_type != want.address_type:  # memory64 / table64: address types match exactly
        return False
    if got.minimum < want.minimum:
        return False
    return want.maximum is None or (got.maximum is not None and got.maximum <= want.maximum)


def _compatible(got: core_types.ExternType, want: core_types.ExternType) -> bool:
    """The spec's import matching: equal function and global types, the same address type and limits that fit
    for memories and tables."""
    if isinstance(want, core_types.MemoryType):
        return isinstance(got, core_types.MemoryType) and got.shared == want.shared and _limits_fit(got, want)
    if isinstance(want, core_types.TableType):
        return isinstance(got, core_types.TableType) and got.type == want.type and _limits_fit(got, want)
    return type(got) is type(want) and got == want


def resolve(
    store: CoreStore, module: CoreModule, namespaces: Namespaces
) -> tuple[dict[str, dict[str, CoreExtern]], list[Callable[[Any], None]]]:
    """The core externs for each of the module's imports, and the hooks imported host functions carry.

    Raises LinkError, worded as wasmer words it, for a missing or mismatched import.
    """
    resolved: dict[str, dict[str, CoreExtern]] = {}
    hooks: list[Callable[[Any], None]] = []
    for imp in module.imports:
        where = f'Error while importing "{imp.module}"."{imp.name}"'
        extern = namespaces.get(imp.module, {}).get(imp.name)
        want = extern_debug(extern_from_core(imp.type, module.type_kind))
        if extern is None:
            raise LinkError(f"{where}: unknown import. Expected {want}")
        core = core_of(extern)
        if core.store is not store:
            raise LinkError(f"{where}: the import belongs to another store")
        got = core.type
        if not _compatible(got, imp.type):
            raise LinkError(
                f"{where}: incompatible import type. Expected {want} but received "
                f"{extern_debug(extern_from_core(got, store.type_kind))}"
            )
        resolved.setdefault(imp.module, {})[imp.name] = core
        hook = getattr(extern, "_on_instance", None)
        if hook is not None and hook not in hooks:  # one hook per environment, however many functions
            hooks.append(hook)
    return resolved, hooks
