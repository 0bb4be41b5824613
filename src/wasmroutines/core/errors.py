"""The exceptions of Wasmroutines: one root, never raised directly.

The root subclasses RuntimeError because that is what wasmer raises, so the
wasmer-compatible face needs no translation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AsyncHostCallError",
    "CompileError",
    "Deadlock",
    "ForeignThreadError",
    "Frame",
    "ImmutableGlobalError",
    "InvalidModule",
    "LinkError",
    "MalformedModule",
    "OutOfFuel",
    "RefTypeError",
    "ResourceLimitError",
    "StackExhausted",
    "StoreClosedError",
    "ThreadReport",
    "Trap",
    "UnsupportedFeature",
    "WallTimeExceeded",
    "WasmException",
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


class UnsupportedFeature(CompileError):
    """The module uses a WebAssembly 3.0 feature this runtime does not implement yet; `reason` names it
    ("exception handling is not supported"). Neither malformed nor invalid: the spec's classes do not apply."""

    what = "unsupported module"


class LinkError(WasmroutinesError):
    """Imports do not match what the module asks for (unknown import, incompatible import type)."""


class ResourceLimitError(WasmroutinesError):
    """Out of memory, or over a limit set on the store (memory pages, table elements, threads, ...).

    `limit` names the limit exceeded, as the keyword that sets it (`Store(max_memory_pages=...)`,
    `Store(max_threads=...)`, `Module(..., max_size=...)`), or is None for plain out-of-memory.
    """

    def __init__(self, message: str, limit: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class WallTimeExceeded(ResourceLimitError):
    """The store's wall-clock limit (`Store(max_wall_time=...)`) passed while its green threads ran.

    Raised in whichever thread was running (or waiting) when it was noticed, and in the main call or
    `join` of the store, wherever it was. `seconds` is the limit.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"wall-clock time limit of {seconds:g} s exceeded (max_wall_time)", "max_wall_time")
        self.seconds = seconds

    def __reduce__(self) -> tuple[type[WallTimeExceeded], tuple[float]]:
        return (type(self), (self.seconds,))


class OutOfFuel(WasmroutinesError):
    """A call ran out of the fuel (total instruction count) the store allows; the call was abandoned."""

    limit = "fuel"


class RefTypeError(WasmroutinesError, TypeError):
    """A value that a reference type does not take: None for a non-nullable reference `(ref ...)`, a
    function of another type than a `(ref $t)` names, or anything but null for `nofunc`/`noextern`."""


class ImmutableGlobalError(WasmroutinesError):
    """A write to a global that is not mutable."""


class StoreClosedError(WasmroutinesError):
    """The store was closed (`Store.close()`, or the end of `with Store() as store:`): none of its objects,
    instances, functions, memories, tables, globals or threads, can be used any more."""


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
    #: The name the function is exported under (None if it is not): what a report shows without a name section.
    export_name: str | None = None

    def __str__(self) -> str:
        name = self.func_name if self.func_name is not None else "<unnamed>"
        module = self.module_name if self.module_name is not None else "<module>"
        return f"at {name} ({module}[{self.func_index}]:{self.offset:#x})"


def frames_lines(frames: Sequence[Frame], indent: str = "    ") -> list[str]:
    """A backtrace's lines, innermost first; a frame repeated in a row (deep recursion) is said once, with how
    many more times it repeats."""
    out: list[str] = []
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[i]:
            j += 1
        out.append(f"{indent}{frames[i]}")
        if j > i:
            out.append(f"{indent}... the same frame {j - i} more time{'s' if j - i > 1 else ''}")
        i = j + 1
    return out


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
        return "\n".join([self.kind, *frames_lines(self.frames)])


class StackExhausted(Trap):
    """The trap "call stack exhausted". `limit` names the one hit: "max_call_depth" (calls nested deeper than
    the store's frames), "stack_slots" (the frames outgrew the value stack), "max_stack_bytes" (the frame
    or value stack was full at the byte limit of the two, before its own count) or "host_nesting" (host
    functions calling back into wasm 256 deep). `kind` keeps the spec's wording."""

    _WHAT = {
        "max_call_depth": "over the store's max_call_depth limit",
        "stack_slots": "over the store's stack_slots limit: the value stack is full",
        "max_stack_bytes": "over the store's max_stack_bytes limit: the stacks' bytes are used up",
        "host_nesting": "over 256 host calls nested in one thread",
    }

    def __init__(self, kind: str, code: int = 0, frames: Sequence[Frame] = (), limit: str = "max_call_depth") -> None:
        super().__init__(kind, code, frames)
        self.limit = limit

    def __str__(self) -> str:
        head = f"{self.kind} ({self._WHAT.get(self.limit, self.limit)})"
        return "\n".join([head, *frames_lines(self.frames)])


class WasmException(Trap):
    """A WebAssembly exception (exception handling, 3.0): what `throw` throws and `try_table` catches.

    Raised by a call into wasm when no handler caught it (`frames`: where it was thrown, innermost first).
    Raise one in a host function that wasm called to throw it at that call, where a `try_table` may catch it:
    `raise WasmException(tag, [1, 2.0])`. `tag` is the Tag, `payload` the values its type says. Where wasm
    holds an `exnref` the host sees this object: a host function given one gets the WasmException itself, and
    raising it rethrows that same exception (`throw_ref`). It subclasses Trap, since to code that only knows
    traps it is a call that ended abnormally, with a wasm backtrace; but wasm's `try_table` never catches a
    trap, and an exception is not a trap there.
    """

    def __init__(self, tag: Any, payload: Sequence[Any] = (), frames: Sequence[Frame] = (), code: int = 0) -> None:
        super().__init__("uncaught exception", code, frames)
        self.tag = tag
        self.payload: tuple[Any, ...] = tuple(payload)
        self._exn: Any = None  # the C exception (wr_exn *) once it has one, and its store
        self._store: Any = None

    def __str__(self) -> str:
        values = ", ".join(map(repr, self.payload))
        return "\n".join([f"uncaught exception: {self.tag!r}({values})", *frames_lines(self.frames)])


def trap(kind: str, code: int = 0, frames: Sequence[Frame] = (), limit: str = "max_call_depth") -> Trap:
    """The Trap for a trap message: StackExhausted (naming the `limit` hit) for stack exhaustion, Trap
    otherwise."""
    if kind == "call stack exhausted":
        return StackExhausted(kind, code, frames, limit)
    return Trap(kind, code, frames)


@dataclass(frozen=True)
class ThreadReport:
    """One green thread as a Deadlock found it.

    `state` is the ThreadState's value ("waiting", "blocked"); `blocked_on` says on
    what ("futex 0x10", "join thread 3", "event"); `wait_address` is the address
    of its memory.atomic.wait (None unless waiting); `frames` its wasm backtrace,
    innermost first (empty when it is not inside wasm).
    """

    id: int
    name: str | None
    state: str
    blocked_on: str | None
    wait_address: int | None
    frames: Sequence[Frame] = ()

    def __str__(self) -> str:
        name = f" ({self.name})" if self.name else ""
        on = f" on {self.blocked_on}" if self.blocked_on else ""
        return "\n".join([f"thread {self.id}{name}: {self.state}{on}", *frames_lines(self.frames)])


def _id_ranges(ids: Sequence[int]) -> str:
    """2, 3, 4, 7 -> "2-4, 7"."""
    parts: list[str] = []
    ids = sorted(ids)
    start = prev = ids[0]
    for i in [*ids[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)


def reports_lines(reports: Sequence[ThreadReport]) -> list[str]:
    """Thread reports as text, threads in the same state at the same place (same wait, same stack) said
    once: a thousand workers parked at one futex read as one entry, not two thousand lines."""
    groups: dict[tuple[str, str | None, tuple[Frame, ...]], list[ThreadReport]] = {}
    for r in reports:
        groups.setdefault((r.state, r.blocked_on, tuple(r.frames)), []).append(r)
    out: list[str] = []
    for (state, blocked_on, frames), group in groups.items():
        if len(group) == 1:
            out += str(group[0]).splitlines()
            continue
        on = f" on {blocked_on}" if blocked_on else ""
        out.append(f"{len(group)} threads ({_id_ranges([r.id for r in group])}): {state}{on}")
        out += frames_lines(frames)
    return out


def blocked_text(n: int) -> str:
    """How a deadlock of `n` threads reads: "all 3 threads are blocked", "the only thread is blocked"."""
    return "the only thread is blocked" if n == 1 else f"all {n} threads are blocked"


class Deadlock(WasmroutinesError):
    """Every green thread is blocked and nothing (no timer, no pending I/O) can wake any of them.

    `threads` reports each live thread: id, state, what it waits on, its wasm backtrace.
    """

    def __init__(self, threads: Sequence[ThreadReport]) -> None:
        self.threads: list[ThreadReport] = list(threads)
        super().__init__(f"deadlock: {blocked_text(len(self.threads))}")

    def __str__(self) -> str:
        return "\n".join([str(self.args[0]), *reports_lines(self.threads)])


class AsyncHostCallError(WasmroutinesError):
    """An `async def` host function was called while no asyncio loop drives the store's green threads (wasm
    called synchronously): its coroutine has nowhere to run without stalling every thread (docs/asyncio.md)."""


class ForeignThreadError(WasmroutinesError):
    """A store running green threads was touched from another OS thread (greenlets cannot cross them)."""
