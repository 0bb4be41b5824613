"""`wat2wasm` and `wasm2wat`: the text format, through the core's wasm-tools bridge (wasmroutines.core.wat)."""

from __future__ import annotations

import builtins
import re

from ...core import wat as core_wat
from ...core.wat import WatError
from .errors import TranslationError

__all__ = ["module_bytes", "wasm2wat", "wat2wasm"]

WASM_MAGIC = b"\x00asm"


# wasmer's text parser (wat 1.0 era) still took `anyfunc`, the MVP's name of `funcref`, which today's
# wasm-tools rejects. The wasmer face takes it, as wasmer did; the core's text path keeps rejecting it (the
# spec suite's obsolete-keywords tests expect that). Tokens inside strings and comments are left alone.
_LEGACY = re.compile(r'"(?:[^"\\]|\\.)*"|;;[^\n]*|\(;.*?;\)|(?<![\w$.])anyfunc(?![\w$.])', re.S)


def _modern(text: str) -> str:
    return _LEGACY.sub(lambda m: "funcref" if m.group(0) == "anyfunc" else m.group(0), text)


def _anon(message: str) -> str:
    # wasm-tools reads the text from stdin; wasmer's parser calls unnamed input <anon>.
    return message.removeprefix("error: ").replace("<stdin>", "<anon>")


def wat2wasm(wat: str) -> bytes:
    """Compile WebAssembly text to a binary module.

    A parse error raises RuntimeError (a WatError) with the parser's caret diagram.

    >>> from wasmroutines.wasmer import wat2wasm
    >>> wat2wasm('(module)')
    b'\\x00asm\\x01\\x00\\x00\\x00'
    >>> wat2wasm('(module') # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wasmroutines.core.wat.WatError: expected `)`...
    """
    if not isinstance(wat, str):
        raise TypeError(f"'{type(wat).__name__}' object cannot be converted to 'PyString'")
    try:
        return core_wat.wat2wasm(_modern(wat))
    except WatError as e:
        raise WatError(_anon(str(e))) from None


def wasm2wat(bytes: bytes) -> str:
    """Print a binary module as WebAssembly text.

    Malformed input raises RuntimeError (a WatError).

    >>> from wasmroutines.wasmer import wasm2wat
    >>> wasm2wat(b'\\x00asm\\x01\\x00\\x00\\x00')
    '(module)'
    >>> wasm2wat(b'\\x00asm')
    Traceback (most recent call last):
    ...
    wasmroutines.core.wat.WatError: unexpected end-of-file (at offset 0x4)
    """
    if not isinstance(bytes, (builtins.bytes, bytearray, memoryview)):
        raise TypeError(f"'{type(bytes).__name__}' object cannot be converted to 'PyBytes'")
    try:
        return core_wat.wasm2wat(bytes)
    except WatError as e:
        raise WatError(_anon(str(e))) from None


def module_bytes(source: object) -> bytes:
    """The binary module `Module(store, source)` compiles: wasm bytes as they are, WAT (str or bytes) compiled."""
    if isinstance(source, str):
        text = source
    elif isinstance(source, bytes):
        if source.startswith(WASM_MAGIC):
            return bytes(source)
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            raise TranslationError("input bytes aren't valid utf-8") from None
    else:
        raise TypeError("`Module` accepts Wasm bytes or a WAT string")
    try:
        return core_wat.wat2wasm(_modern(text))
    except WatError as e:
        raise TranslationError(_anon(str(e))) from None
