"""What every peer offers the benchmarks: load a module with host functions and call its exports, or run a WASI
command program and capture its output."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PeerUnavailable(Exception):
    """A peer other than the subject cannot run this (package not installed, ...); the message says why."""


@dataclass(frozen=True)
class HostFunc:
    """A host function to import: its wasm signature ("i32", "i64", "f32", "f64") and the Python callable."""

    params: tuple[str, ...]
    results: tuple[str, ...]
    func: Callable[..., Any]


#: (module, name) -> host function
HostImports = Mapping[tuple[str, str], HostFunc]


@dataclass(frozen=True)
class Command:
    """One run of a WASI command program: argv (with the program name first), stdin, and a working directory that
    is preopened as "." for the peers that preopen."""

    wasm: bytes
    argv: tuple[str, ...]
    stdin: bytes
    cwd: Path


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class Loaded(ABC):
    """An instantiated module."""

    @abstractmethod
    def function(self, name: str) -> Callable[..., Any]:
        """The export `name` as a plain callable taking and returning Python numbers."""


class Peer(ABC):
    """A WebAssembly runtime under measurement."""

    #: the name in the tables
    name: str
    #: pure-Python peers run only the reduced sizes
    reduced_only: bool = False
    #: the WASI module names its command programs may import
    wasi_modules: tuple[str, ...] = ("wasi_snapshot_preview1", "wasi_unstable")

    @abstractmethod
    def version(self) -> str:
        """The peer's package and version, for the report ("" when not installed)."""

    @abstractmethod
    def check_available(self) -> None:
        """Raise PeerUnavailable if the peer cannot run at all."""

    def close(self) -> None:  # noqa: B027  (an optional hook: most peers keep nothing)
        """Drop what the peer keeps between workloads (at the end of the session)."""

    def check_wasi(self) -> None:
        """Raise PeerUnavailable if the peer cannot run WASI command programs."""
        self.check_available()

    @abstractmethod
    def load(self, wasm: bytes, imports: HostImports) -> Loaded:
        """Compile and instantiate `wasm` with `imports` (every import the module has must be in it)."""

    @abstractmethod
    def prepare_command(self, command: Command) -> Callable[[], CommandResult]:
        """Compile and instantiate `command.wasm` now; the callable runs `_start` once and returns its result.

        test_commands.py times both steps together: wasm3 compiles each function at its first call, inside `_start`,
        so only the span from the module's bytes to the program's exit is the same work on every peer."""


def unsigned(value: Any, result_type: str) -> Any:
    """A result as an unsigned int (peers disagree on the sign of i32/i64 results); floats unchanged."""
    if result_type == "i32":
        return int(value) & 0xFFFF_FFFF
    if result_type == "i64":
        return int(value) & 0xFFFF_FFFF_FFFF_FFFF
    return value
