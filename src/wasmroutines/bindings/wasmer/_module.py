"""`Module`: compiled wasm, over a core Module, remembering its binary (for `serialize`) and its Store."""

from __future__ import annotations

import builtins
from typing import Any

from ...core.errors import CompileError, InvalidModule, MalformedModule, UnsupportedFeature
from ...core.module import Module as CoreModule
from . import _artifact
from ._store import Store, check_store
from ._text import module_bytes
from ._types import ExportType, ImportType, extern_from_core
from .errors import ModuleInvalid, ModuleMalformed

__all__ = ["Module", "compile_core"]


def compile_core(wasm: bytes) -> CoreModule:
    """Load a binary with the core, its errors worded as wasmer words them."""
    try:
        return CoreModule(wasm)
    except MalformedModule as e:
        raise ModuleMalformed(e.reason, e.offset) from None
    except (InvalidModule, UnsupportedFeature) as e:
        # wasmer reports a proposal it does not enable as a validation error too.
        raise ModuleInvalid(e.reason, e.offset) from None


_UNSET: Any = object()


class Module:
    """A compiled module: `Module(store, bytes)` from the binary format or WebAssembly text.

    `bytes` is a `bytes` object (binary wasm, or WAT when it does not start
    with the wasm magic) or a `str` of WAT. Other types raise TypeError; a bad
    module raises RuntimeError (`Validation error: ...`, or `WebAssembly
    translation error: ...` for bad text).

    >>> from wasmroutines.wasmer import Store, Module
    >>> store = Store()
    >>> module = Module(store, '(module $m (func (export "f") (param i32) (result i32) local.get 0))')
    >>> module.name, [e.name for e in module.exports]
    ('m', ['f'])
    >>> print(module.exports[0].type)
    FunctionType(params: [I32], results: [I32])
    >>> Module(store, bytearray(b"\\x00asm\\x01\\x00\\x00\\x00"))
    Traceback (most recent call last):
    ...
    TypeError: `Module` accepts Wasm bytes or a WAT string
    >>> try:
    ...     Module(store, b"\\x00asm\\x01\\x00\\x00\\x00\\x01")
    ... except RuntimeError as e:
    ...     print(str(e).split(":")[0])
    Validation error
    """

    __slots__ = ("__weakref__", "_core", "_name", "_store", "_wasm")

    def __init__(self, store: Store, bytes: builtins.bytes | str) -> None:
        self._store = check_store(store)
        self._wasm = module_bytes(bytes)
        self._core = compile_core(self._wasm)
        self._name: str | None = _UNSET

    @staticmethod
    def validate(store: Store, bytes: builtins.bytes) -> bool:
        """True when `bytes` is a valid binary module; never raises (a WAT str gives False).

        >>> from wasmroutines.wasmer import Store, Module
        >>> Module.validate(Store(), b"\\x00asm\\x01\\x00\\x00\\x00"), Module.validate(Store(), "(module)")
        (True, False)
        """
        if not isinstance(bytes, builtins.bytes):
            return False
        try:
            CoreModule(bytes)
        except CompileError:
            return False
        return True

    @property
    def name(self) -> str | None:
        """The module's name (name section or `(module $id)`), or None; settable to a str.

        >>> from wasmroutines.wasmer import Store, Module
        >>> module = Module(Store(), "(module)")
        >>> module.name is None
        True
        >>> module.name = "renamed"
        >>> module.name
        'renamed'
        """
        if self._name is _UNSET:
            return self._core.name
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"'{type(name).__name__}' object cannot be converted to 'PyString'")
        self._name = name

    @property
    def exports(self) -> list[ExportType]:
        """What the module exports, in binary order.

        >>> from wasmroutines.wasmer import Store, Module
        >>> module = Module(Store(), '(module (memory (export "mem") 1) (global (export "g") i32 (i32.const 1)))')
        >>> for export in module.exports:
        ...     print(export.name, export.type)
        mem MemoryType(minimum: 1, maximum: None, shared: false)
        g GlobalType(type: I32, mutable: false)
        """
        return [ExportType(e.name, extern_from_core(e.type, self._core.type_kind)) for e in self._core.exports]

    @property
    def imports(self) -> list[ImportType]:
        """What the module imports, in binary order.

        >>> from wasmroutines.wasmer import Store, Module
        >>> module = Module(Store(), '(module (import "env" "f" (func (param i64))))')
        >>> [(i.module, i.name, str(i.type)) for i in module.imports]
        [('env', 'f', 'FunctionType(params: [I64], results: [])')]
        """
        kinds = self._core.type_kind
        return [ImportType(i.module, i.name, extern_from_core(i.type, kinds)) for i in self._core.imports]

    def custom_sections(self, name: str) -> list[builtins.bytes]:
        """The contents of every custom section called `name`, in binary order (`[]` when none).

        wasmer 1.1 returned only the last of several sections of one name; this returns them all.

        >>> from wasmroutines.wasmer import Store, Module
        >>> wasm = b"\\x00asm\\x01\\x00\\x00\\x00" + b"\\x00\\x04\\x03abc" + b"\\x00\\x05\\x03abcX"
        >>> Module(Store(), wasm).custom_sections("abc"), Module(Store(), wasm).custom_sections("x")
        ([b'', b'X'], [])
        """
        if not isinstance(name, str):
            raise TypeError(f"'{type(name).__name__}' object cannot be converted to 'PyString'")
        return self._core.custom_sections(name)

    def serialize(self) -> builtins.bytes:
        """The module as bytes `Module.deserialize` reads back (Wasmroutines' own format, see _artifact.py).

        >>> from wasmroutines.wasmer import Store, Module
        >>> data = Module(Store(), "(module $m)").serialize()
        >>> data[:20], Module.deserialize(Store(), data).name
        (b'\\x00wasmroutines-module', 'm')
        """
        name = None if self._name is _UNSET else self._name
        return _artifact.dump(_artifact.Artifact(self._wasm, name))

    @staticmethod
    def deserialize(store: Store, bytes: builtins.bytes) -> Module:
        """The module `serialize` made, in `store`; other bytes raise RuntimeError (`incompatible binary: ...`).

        >>> from wasmroutines.wasmer import Store, Module
        >>> try:
        ...     Module.deserialize(Store(), b"garbage")
        ... except RuntimeError as e:
        ...     print(e)
        incompatible binary: The provided bytes are not wasmer-universal
        """
        check_store(store)
        if not isinstance(bytes, (builtins.bytes, bytearray, memoryview)):
            raise TypeError(f"'{type(bytes).__name__}' object cannot be converted to 'PyBytes'")
        artifact = _artifact.load(builtins.bytes(bytes))
        module = Module.__new__(Module)
        module._store = store
        module._wasm = artifact.wasm
        module._core = compile_core(artifact.wasm)
        module._name = _UNSET if artifact.name is None else artifact.name
        return module

    def __repr__(self) -> str:
        return f"<Module {self.name or '?'}: {len(self._core.imports)} imports, {len(self._core.exports)} exports>"
