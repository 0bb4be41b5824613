"""Stand-in for the `wasmer_compiler_cranelift` package: `Store(engine.Universal(Compiler))` reports `cranelift`.

Wasmroutines interprets wasm; the compiler is accepted and reported, never needed.

>>> from wasmroutines.wasmer_compiler_cranelift import Compiler
>>> Compiler.into_opaque_compiler().name
'cranelift'
"""

from .bindings.wasmer._compilers import CraneliftCompiler as Compiler

__all__ = ["Compiler"]
