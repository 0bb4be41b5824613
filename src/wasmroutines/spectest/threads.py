"""The threads proposal's `thread` commands: a nested script run as a green thread, and how it is counted.

`(thread $T (shared (module $M)) cmd...)` runs its commands on a green thread
of the script's store (Scheduler.spawn with a Python callable), in a scope of
its own, as the reference interpreter does: a fresh registry (`spectest`
only), the modules listed in `shared_module` visible by name (a `register`
inside the thread makes them importable), its own current module and its own
child threads. `(wait $T)` joins a thread of the same scope.

Counting: a `thread` command is one entry of its scope's list, standing for
itself and every command nested in it, in script order (threads within
threads are entries of the thread's own list). Its outcomes are known once the
thread is done; a thread killed before the end (deadlock, the script ending)
counts every command it did not finish as failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wasmroutines import GreenThread, ThreadState

from .outcome import FAILED, PASSED, Outcome

if TYPE_CHECKING:
    from .script import ScriptRunner

__all__ = ["Entry", "SpecThread", "flatten", "resolved"]


@dataclass(eq=False)
class SpecThread:
    """A `thread` command: its scope (a child ScriptRunner), its green thread and what its commands gave."""

    cmd: dict[str, Any]
    runner: ScriptRunner
    green: GreenThread | None = None
    entries: list[Entry] = field(default_factory=list)  # one per nested command run so far
    problem: str = ""  # why it could not start or finish, when it did not

    @property
    def name(self) -> str:
        return str(self.cmd.get("name") or f"line {self.cmd.get('line', 0)}")

    @property
    def line(self) -> int:
        return int(self.cmd.get("line", 0))

    @property
    def finished(self) -> bool:
        """Its outcomes are final: the green thread is done (or never started), and so are its children."""
        if self.green is not None and self.green.state is not ThreadState.DONE:
            return False
        return all(e.finished for e in self.entries if isinstance(e, SpecThread))

    def run(self) -> None:
        """The green thread's body: the nested commands in order, then join the children left running."""
        for cmd in self.cmd.get("commands", []):
            self.entries.extend(self.runner.run_command(cmd))
        self.runner.finish()

    def outcomes(self) -> list[Outcome]:
        """The `thread` command's outcome then its nested ones, in script order (once `finished`)."""
        why = self._unfinished()
        head = Outcome(self.line, "thread", FAILED if why else PASSED, why)
        out = [head]
        for e in self.entries:
            out.extend(resolved(e))
        nested: list[dict[str, Any]] = self.cmd.get("commands", [])
        for cmd in nested[len(self.entries) :]:
            reason = f"not run: thread {self.name} did not finish ({why})"
            out.extend(Outcome(int(c.get("line", 0)), c["type"], FAILED, reason) for c in flatten(cmd))
        return out

    def _unfinished(self) -> str:
        if self.problem:
            return self.problem
        green = self.green
        if green is None:
            return "not started"
        exc = green.exception
        if exc is not None:
            return f"{type(exc).__name__}: {exc}".rstrip(": ") or "killed"
        return ""


Entry = Outcome | SpecThread


def resolved(entry: Entry) -> list[Outcome]:
    """The outcomes an entry stands for (a finished SpecThread's, or the Outcome itself)."""
    return entry.outcomes() if isinstance(entry, SpecThread) else [entry]


def flatten(cmd: dict[str, Any]) -> list[dict[str, Any]]:
    """A command and, for `thread`, every command nested in it, in script order: each is counted once."""
    out = [cmd]
    for sub in cmd.get("commands", []):
        out.extend(flatten(sub))
    return out
