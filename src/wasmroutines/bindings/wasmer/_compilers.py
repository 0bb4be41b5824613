"""Stand-ins for wasmer's three compiler packages (`wasmer_compiler_cranelift`, `_llvm`, `_singlepass`).

Each package held one class, `Compiler`, whose static `into_opaque_compiler()`
gave the engine something to compile with. Wasmroutines interprets; the
compilers only carry a name that `Store.compiler_name` reports. The
importable modules are wasmroutines.wasmer_compiler_cranelift and friends.

>>> from wasmroutines.wasmer_compiler_cranelift import Compiler
>>> Compiler.into_opaque_compiler().name
'cranelift'
"""

from __future__ import annotations

__all__ = ["CraneliftCompiler", "LLVMCompiler", "OpaqueCompiler", "SinglepassCompiler"]


class OpaqueCompiler:
    """What `Compiler.into_opaque_compiler()` returns: a compiler an engine can take, known by its name.

    >>> from wasmroutines.wasmer_compiler_llvm import Compiler
    >>> Compiler.into_opaque_compiler()
    <OpaqueCompiler llvm>
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def name(self) -> str:
        """`'cranelift'`, `'llvm'` or `'singlepass'`."""
        return self._name

    def __repr__(self) -> str:
        return f"<OpaqueCompiler {self._name}>"


class _Compiler:
    _NAME = ""

    @classmethod
    def into_opaque_compiler(cls) -> OpaqueCompiler:
        """The compiler, for an engine (called on the class, as engines do)."""
        return OpaqueCompiler(cls._NAME)


class CraneliftCompiler(_Compiler):
    """`wasmer_compiler_cranelift.Compiler`: reports `cranelift`; Wasmroutines interprets.

    >>> from wasmroutines.wasmer import Store, engine
    >>> from wasmroutines.wasmer_compiler_cranelift import Compiler
    >>> Store(engine.Universal(Compiler)).compiler_name
    'cranelift'
    """

    _NAME = "cranelift"


class LLVMCompiler(_Compiler):
    """`wasmer_compiler_llvm.Compiler`: reports `llvm`; Wasmroutines interprets.

    >>> from wasmroutines.wasmer import Store, engine
    >>> from wasmroutines.wasmer_compiler_llvm import Compiler
    >>> Store(engine.Universal(Compiler)).compiler_name
    'llvm'
    """

    _NAME = "llvm"


class SinglepassCompiler(_Compiler):
    """`wasmer_compiler_singlepass.Compiler`: reports `singlepass`; Wasmroutines interprets.

    >>> from wasmroutines.wasmer import Store, engine
    >>> from wasmroutines.wasmer_compiler_singlepass import Compiler
    >>> Store(engine.Dylib(Compiler)).compiler_name
    'singlepass'
    """

    _NAME = "singlepass"


for _cls in (CraneliftCompiler, LLVMCompiler, SinglepassCompiler):
    _cls.__name__ = _cls.__qualname__ = "Compiler"
    _cls.__module__ = f"wasmroutines.wasmer_compiler_{_cls._NAME}"
