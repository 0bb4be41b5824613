"""Stand-in for the `wasmer_compiler_singlepass` package: `Store(engine.Universal(Compiler))` reports `singlepass`.

Wasmroutines interprets wasm; the compiler is accepted and reported, never needed.

>>> from wasmroutines.wasmer_compiler_singlepass import Compiler
>>> Compiler.into_opaque_compiler().name
'singlepass'
"""

from .bindings.wasmer._compilers import SinglepassCompiler as Compiler

__all__ = ["Compiler"]
