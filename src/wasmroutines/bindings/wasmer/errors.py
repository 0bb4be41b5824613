"""The exceptions of `wasmroutines.wasmer`: the core's errors, worded as wasmer words them.

Every class here derives from a core exception (so from WasmroutinesError,
a RuntimeError, where wasmer raises RuntimeError) or from the builtin that
wasmer raises, and keeps the message users match on. Where wasmer's text
begins with `RuntimeError: ` (traps, arity), so does ours.

The one class outside WasmroutinesError is ExportNotFound: wasmer raises
LookupError for a missing export, and a `except RuntimeError` around a call
must not swallow a misspelt export name.

>>> from wasmroutines.wasmer import errors
>>> issubclass(errors.ExportNotFound, LookupError) and issubclass(errors.ExportNotFound, AttributeError)
True
>>> issubclass(errors.WasmerTrap, RuntimeError)
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from ...core.errors import (
    CompileError,
    ImmutableGlobalError,
    InvalidModule,
    LinkError,
    MalformedModule,
    ResourceLimitError,
    Trap,
    WasmException,
    WasmroutinesError,
)
from ...core.wat import WatError

__all__ = [
    "AnnotationError",
    "ExportNotFound",
    "ImmutableGlobalError",
    "IncompatibleBinary",
    "InvalidMemoryType",
    "LinkError",
    "ModuleInvalid",
    "ModuleMalformed",
    "NotAReference",
    "ResourceLimitError",
    "SignatureMismatch",
    "TranslationError",
    "WasiStateError",
    "WasiExitWording",
    "WasiUnavailable",
    "WasmerTrap",
    "WasmException",
    "translate",
    "wasmer_errors",
]

#: Frames a core backtrace holds at most (WR_BACKTRACE_MAX in wr_exec.h).
BACKTRACE_MAX = 64


class ExportNotFound(KeyError, AttributeError):
    """``Export `foo` does not exist.``: a LookupError as in wasmer, and an AttributeError so `hasattr` works.

    >>> from wasmroutines.wasmer import errors
    >>> str(errors.ExportNotFound("foo"))
    'Export `foo` does not exist.'
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"Export `{name}` does not exist.")
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0])


class WasmerTrap(Trap):
    """A trap, worded as wasmer words it: `RuntimeError: <reason>` then one `    at ...` line per frame.

    >>> from wasmroutines.wasmer import errors
    >>> str(errors.WasmerTrap("unreachable"))
    'RuntimeError: unreachable'
    """

    def __str__(self) -> str:
        lines = [f"RuntimeError: {self.kind}", *(f"    {frame}" for frame in self.frames)]
        if len(self.frames) >= BACKTRACE_MAX:
            lines.append(f"    ... (at most {BACKTRACE_MAX} frames are shown)")
        return "\n".join(lines)


class _ValidationWording:
    """wasmer reports decoding and validation failures alike: `Validation error: <reason> (at offset N)`."""

    reason: str
    offset: int

    def __str__(self) -> str:
        return f"Validation error: {self.reason} (at offset {self.offset})"


class ModuleMalformed(_ValidationWording, MalformedModule):
    """The bytes are not a well-formed wasm binary (a MalformedModule, worded as wasmer).

    >>> from wasmroutines.wasmer import errors
    >>> str(errors.ModuleMalformed("unexpected end", 8))
    'Validation error: unexpected end (at offset 8)'
    """


class ModuleInvalid(_ValidationWording, InvalidModule):
    """The module fails validation (an InvalidModule, worded as wasmer).

    >>> from wasmroutines.wasmer import errors
    >>> str(errors.ModuleInvalid("type mismatch", 30))
    'Validation error: type mismatch (at offset 30)'
    """


class TranslationError(WatError):
    """WebAssembly text that does not parse, given to `Module`.

    >>> from wasmroutines.wasmer import errors
    >>> str(errors.TranslationError("oops"))
    'WebAssembly translation error: Error when converting wat: oops'
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"WebAssembly translation error: Error when converting wat: {message}")


class IncompatibleBinary(WasmroutinesError):
    """`Module.deserialize` was given bytes that `Module.serialize` did not make.

    >>> from wasmroutines.wasmer import errors
    >>> str(errors.IncompatibleBinary("The provided bytes are not wasmer-universal"))
    'incompatible binary: The provided bytes are not wasmer-universal'
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"incompatible binary: {reason}")
        self.reason = reason


class InvalidMemoryType(WasmroutinesError, ValueError):
    """A memory type no memory can have (maximum below minimum, over 65536 pages, shared without maximum).

    >>> from wasmroutines.wasmer import errors
    >>> issubclass(errors.InvalidMemoryType, RuntimeError)
    True
    """


class SignatureMismatch(WasmroutinesError, TypeError):
    """Values that do not fit a function's signature: a call with the wrong number of arguments,
    or a host function returning the wrong number of results. A RuntimeError, as in wasmer,
    and a TypeError, as Python raises for a call with the wrong arity.

    >>> from wasmroutines.wasmer import errors
    >>> issubclass(errors.SignatureMismatch, RuntimeError) and issubclass(errors.SignatureMismatch, TypeError)
    True
    """


class AnnotationError(WasmroutinesError):
    """A host function's annotations do not describe a wasm signature.

    >>> from wasmroutines.wasmer import errors
    >>> issubclass(errors.AnnotationError, RuntimeError)
    True
    """


class NotAReference(WasmroutinesError, TypeError):
    """A table was given a number where it holds references (wasmer: `RuntimeError: val is not reference`).

    >>> from wasmroutines.wasmer import errors
    >>> str(errors.NotAReference())
    'RuntimeError: val is not reference'
    """

    def __init__(self) -> None:
        super().__init__("RuntimeError: val is not reference")


class WasiStateError(WasmroutinesError):
    """`wasi.StateBuilder.finalize()` found a bad argument, variable or directory.

    >>> from wasmroutines.wasmer import errors
    >>> issubclass(errors.WasiStateError, RuntimeError)
    True
    """


class WasiUnavailable(WasmroutinesError):
    """The WASI binding this face delegates to (wasmroutines.bindings.wasi) cannot be loaded.

    >>> from wasmroutines.wasmer import errors
    >>> issubclass(errors.WasiUnavailable, RuntimeError)
    True
    """


@contextmanager
def wasmer_errors() -> Iterator[None]:
    """Inside, a core error escaping a call into wasm is raised as wasmer words it (`translate`).

    >>> from wasmroutines.core.errors import Trap
    >>> from wasmroutines.wasmer import errors
    >>> try:
    ...     with errors.wasmer_errors():
    ...         raise Trap("integer divide by zero")
    ... except RuntimeError as e:
    ...     print(e)
    RuntimeError: integer divide by zero
    """
    try:
        yield
    except WasmroutinesError as e:
        replacement = reworded(e)
        if replacement is e:
            raise
        raise replacement from None


def reworded(error: BaseException) -> BaseException:
    """`error` as a call into wasm raises it in this face: a core error worded as wasmer words it (`translate`), its
    context suppressed (as `raise ... from None`), or `error` itself. Also what call_async ends with (_function.py).
    """
    replacement = translate(error)
    if replacement is None:
        return error
    replacement.__cause__ = None
    replacement.__suppress_context__ = True
    return replacement


def translate(error: BaseException) -> BaseException | None:
    """The wasmer-worded replacement for a core error escaping a call into wasm, or None to keep it.

    >>> from wasmroutines.core.errors import Trap
    >>> from wasmroutines.wasmer import errors
    >>> str(errors.translate(Trap("integer divide by zero")))
    'RuntimeError: integer divide by zero'
    """
    if isinstance(error, WasmException):
        return None  # a wasm exception carries its tag and payload: the core's class is the face's (an addition)
    if isinstance(error, Trap):
        if isinstance(error, WasmerTrap):
            return None
        return WasmerTrap(error.kind, error.code, error.frames)
    exit_class = _wasi_exit_class()
    if exit_class is not None and isinstance(error, exit_class) and not isinstance(error, WasiExitWording):
        return _reword_exit(exit_class, error)
    return None


class WasiExitWording:
    """Mixed into the WASI binding's WasiExit: wasmer says `RuntimeError: WASI exited with code: n`.

    >>> from wasmroutines.wasmer import errors
    >>> issubclass(errors.WasiExitWording, object)
    True
    """

    code: int

    def __str__(self) -> str:
        return f"RuntimeError: WASI exited with code: {self.code}"


_exit_classes: dict[type, type[BaseException]] = {}


def _wasi_exit_class() -> type | None:
    """The WASI binding's WasiExit, or None while the binding cannot be imported (WASI seam)."""
    try:
        from ..wasi.errors import WasiExit
    except ImportError:  # pragma: no cover - the binding is being written
        return None
    return WasiExit


def _reword_exit(exit_class: type, error: BaseException) -> BaseException:
    # A subclass of the binding's own WasiExit, so that `except WasiExit` still catches it.
    sub = _exit_classes.get(exit_class)
    if sub is None:
        made = type(exit_class.__name__, (WasiExitWording, exit_class), {"__module__": __name__})
        sub = cast(type[BaseException], made)
        _exit_classes[exit_class] = sub
    new = BaseException.__new__(sub)
    new.__dict__.update(error.__dict__)
    new.args = error.args
    return new


# The core's own classes, re-exported for `except errors.LinkError` and friends.
_REEXPORTED = (CompileError, ImmutableGlobalError, LinkError, ResourceLimitError)
