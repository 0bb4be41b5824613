"""The one door to the C core: `ffi`, `lib`, the core's constants, and status -> exception mapping."""

from __future__ import annotations

from typing import Any, NoReturn

from wasmroutines._native._core import ffi, lib

from .errors import (
    CompileError,
    InvalidModule,
    LinkError,
    MalformedModule,
    ResourceLimitError,
    UnsupportedFeature,
    trap,
)

__all__ = ["ffi", "lib", "raise_error", "text", "trap_message"]

# wr_status (wr_exec.h): what wr_exec() returns.
WR_DONE: int = lib.WR_DONE
WR_HOSTCALL: int = lib.WR_HOSTCALL
WR_YIELD: int = lib.WR_YIELD
WR_OUT_OF_FUEL: int = lib.WR_OUT_OF_FUEL
WR_TRAP: int = lib.WR_TRAP

# wr_externkind (wr_types.h).
EXTERN_FUNC: int = lib.WR_EXTERN_FUNC
EXTERN_TABLE: int = lib.WR_EXTERN_TABLE
EXTERN_MEMORY: int = lib.WR_EXTERN_MEMORY
EXTERN_GLOBAL: int = lib.WR_EXTERN_GLOBAL
EXTERN_TAG: int = lib.WR_EXTERN_TAG

# wr_errkind (wr_types.h).
ERR_MALFORMED: int = lib.WR_ERR_MALFORMED
ERR_INVALID: int = lib.WR_ERR_INVALID
ERR_LINK: int = lib.WR_ERR_LINK
ERR_RESOURCE: int = lib.WR_ERR_RESOURCE
ERR_UNSUPPORTED: int = lib.WR_ERR_UNSUPPORTED

NULL: Any = ffi.NULL


def text(ptr: Any, size: int | None = None) -> str:
    """A C string (NUL-terminated, or `size` bytes) as str; wasm names are UTF-8."""
    raw: bytes = ffi.string(ptr) if size is None else ffi.unpack(ptr, size)
    return raw.decode("utf-8", errors="surrogateescape")


def optional_text(ptr: Any) -> str | None:
    return None if ptr == ffi.NULL else text(ptr)


def trap_message(code: int) -> str:
    if 0 <= code < lib.WR_TRAP_COUNT:
        return text(lib.wr_trap_message(code))
    return f"trap {code}"


def raise_error(kind: int, err: Any) -> NoReturn:
    """Raise the exception for a wr_error record (or a negated trap code)."""
    if kind < 0:
        raise trap(trap_message(-kind), -kind)
    message = text(err.message)
    if kind == ERR_MALFORMED:
        raise MalformedModule(message, err.offset)
    if kind == ERR_INVALID:
        raise InvalidModule(message, err.offset)
    if kind == ERR_UNSUPPORTED:
        raise UnsupportedFeature(message, err.offset)
    if kind == ERR_LINK:
        raise LinkError(message)
    if kind == ERR_RESOURCE:
        limit = _limit_named(message)
        raise ResourceLimitError(f"{message} ({limit})" if limit else message or "out of resources", limit)
    raise CompileError(message or f"error kind {kind}", err.offset)


# The core's resource messages (wr_instance.c) -> the Store keyword that sets the limit.
_LIMIT_MESSAGES = {"memory size": "max_memory_pages", "table size": "max_table_elements"}


def _limit_named(message: str) -> str | None:
    if "over the store's limit" not in message:
        return None
    return next((limit for prefix, limit in _LIMIT_MESSAGES.items() if message.startswith(prefix)), None)


def address(ptr: Any) -> int:
    """A C pointer as an int, the key of the store's wrapper registries."""
    return int(ffi.cast("uintptr_t", ptr))
