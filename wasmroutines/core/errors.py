"""The exceptions of Wasmroutines: one root, never raised directly.

The root subclasses RuntimeError because that is what wasmer raises, so the
wasmer-compatible face needs no translation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CompileError",
    "Frame",
    "ImmutableGlobalError",
    "InvalidModule",
    "LinkError",
    "MalformedModule",
    "OutOfFuel",
    "ResourceLimitError",
    "Trap",
    "WasmroutinesError",
]


class WasmroutinesError(RuntimeError):
    """Root of every error Wasmroutines raises; never raised directly."""


class CompileError(WasmroutinesError):
    """A module failed to load. `offset` is the byte offset in the binary, `reason` the spec-worded cause."""

    what = "module"

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason, offset)
        self.reason = reason
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.what} at offset {self.offset:#x}: {self.reason}"


class MalformedModule(CompileError):
    """The bytes are not a well-formed binary module (spec: malformed)."""

    what = "malformed module"


class InvalidModule(CompileError):
    """The module is well formed but fails validation (spec: invalid)."""

    what = "invalid module"


class LinkError(WasmroutinesError):
    """Imports do not match what the module asks for (unknown import, incompatible import type)."""


class ResourceLimitError(WasmroutinesError):
    """Out of memory, or over a limit set on the store (memory pages, table elements, ...)."""


class OutOfFuel(WasmroutinesError):
    """A call ran out of the fuel (total instruction count) the store allows; the call was abandoned."""


class ImmutableGlobalError(WasmroutinesError):
    """A write to a global that is not mutable."""


@dataclass(frozen=True)
class Frame:
    """One frame of a wasm backtrace, innermost first in `Trap.frames`.

    `func_index` is the function's index in its module, `offset` the byte offset
    of the instruction in the module binary. Names come from the name section.
    """

    func_index: int
    func_name: str | None
    module_name: str | None
    offset: int

    def __str__(self) -> str:
        name = self.func_name if self.func_name is not None else "<unnamed>"
        module = self.module_name if self.module_name is not None else "<module>"
        return f"at {name} ({module}[{self.func_index}]:{self.offset:#x})"


class Trap(WasmroutinesError):
    """Wasm execution trapped.

    `kind` is the spec-worded message ("integer divide by zero"), `code` the C
    core's trap number, `frames` the wasm backtrace, innermost first.
    """

    def __init__(self, kind: str, code: int = 0, frames: Sequence[Frame] = ()) -> None:
        super().__init__(kind)
        self.kind = kind
        self.code = code
        self.frames: list[Frame] = list(frames)

    def __str__(self) -> str:
        return "\n".join([self.kind, *(f"    {frame}" for frame in self.frames)])
