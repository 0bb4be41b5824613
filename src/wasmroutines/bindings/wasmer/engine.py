"""`wasmer.engine`: the engines a Store is made with, accepted and reported, never needed.

wasmer compiled ahead of time (Universal) or to a shared object (Dylib).
Wasmroutines interprets: an engine here only carries the names that
`Store.engine_name` and `Store.compiler_name` report. `JIT` and `Native` are
wasmer's deprecated names for `Universal` and `Dylib`.

>>> from wasmroutines.wasmer import Store, engine
>>> store = Store(engine.Dylib())
>>> store.engine_name, store.compiler_name
('dylib', None)
"""

from __future__ import annotations

import warnings
from typing import Any

from .target import Target

__all__ = ["JIT", "Dylib", "Native", "Universal"]


def _compiler_name(compiler: Any) -> str | None:
    if compiler is None:
        return None
    # As wasmer: the compiler is a class whose into_opaque_compiler() gives an object with a name
    # (anything else raises AttributeError here).
    name = compiler.into_opaque_compiler().name
    if not isinstance(name, str):
        raise TypeError("the compiler's name must be a str")
    return name


class _Engine:
    _NAME = ""

    def __init__(self, compiler: Any = None, target: Target | None = None) -> None:
        if target is not None and not isinstance(target, Target):
            raise TypeError(f"'{type(target).__name__}' object cannot be converted to 'Target'")
        self._compiler_name = _compiler_name(compiler)
        self._target = target

    @property
    def name(self) -> str:
        """`'universal'` or `'dylib'` (an addition to wasmer's API)."""
        return self._NAME

    @property
    def compiler_name(self) -> str | None:
        """The compiler's name, or None for a headless engine (an addition to wasmer's API)."""
        return self._compiler_name

    @property
    def target(self) -> Target | None:
        """The target given, or None (an addition to wasmer's API)."""
        return self._target

    def __repr__(self) -> str:
        return f"<{type(self).__name__} engine, compiler {self._compiler_name}>"


class Universal(_Engine):
    """wasmer's default engine. `Universal(compiler=None, target=None)`; without a compiler, headless.

    wasmer's headless engine could only run deserialized modules; an interpreter
    runs everything, so a headless Store compiles too.

    >>> from wasmroutines.wasmer import Store, engine
    >>> from wasmroutines.wasmer_compiler_cranelift import Compiler
    >>> Store(engine.Universal(Compiler)).engine_name
    'universal'
    >>> engine.Universal(42)
    Traceback (most recent call last):
    ...
    AttributeError: 'int' object has no attribute 'into_opaque_compiler'
    """

    _NAME = "universal"


class Dylib(_Engine):
    """wasmer's shared-object engine. `Dylib(compiler=None, target=None)`; reported as `dylib`.

    >>> from wasmroutines.wasmer import Store, engine, target
    >>> t = target.Target(target.Triple("aarch64-unknown-linux-gnu"))
    >>> Store(engine.Dylib(target=t)).engine_name
    'dylib'
    """

    _NAME = "dylib"


class JIT(Universal):
    """Deprecated name of `Universal` (a subclass: isinstance holds).

    >>> import warnings
    >>> from wasmroutines.wasmer import Store, engine
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     store = Store(engine.JIT())
    >>> store.engine_name, isinstance(store.engine, engine.Universal)
    ('universal', True)
    """

    def __init__(self, compiler: Any = None, target: Target | None = None) -> None:
        warnings.warn("engine.JIT is deprecated: use engine.Universal", DeprecationWarning, stacklevel=2)
        super().__init__(compiler, target)


class Native(Dylib):
    """Deprecated name of `Dylib` (a subclass: isinstance holds).

    >>> import warnings
    >>> from wasmroutines.wasmer import Store, engine
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     print(Store(engine.Native()).engine_name)
    dylib
    """

    def __init__(self, compiler: Any = None, target: Target | None = None) -> None:
        warnings.warn("engine.Native is deprecated: use engine.Dylib", DeprecationWarning, stacklevel=2)
        super().__init__(compiler, target)
