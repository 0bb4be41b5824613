"""Stand-in for the `wasmer_compiler_llvm` package: `Store(engine.Universal(Compiler))` reports `llvm`.

Wasmroutines interprets wasm; the compiler is accepted and reported, never needed.

>>> from wasmroutines.wasmer_compiler_llvm import Compiler
>>> Compiler.into_opaque_compiler().name
'llvm'
"""

from .bindings.wasmer._compilers import LLVMCompiler as Compiler

__all__ = ["Compiler"]
