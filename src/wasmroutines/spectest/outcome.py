"""What running a command gives: an Outcome per command, a FileResult per script."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    line: int
    command: str
    status: str  # PASSED, FAILED or SKIPPED
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "command": self.command, "status": self.status, "reason": self.reason}


@dataclass
class FileResult:
    name: str  # "core/address": the source .wast path without its suffix
    path: str
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # informational, never counted

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def passed(self) -> int:
        return self.count(PASSED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    def summary(self) -> str:
        return f"{self.name}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "outcomes": [o.as_dict() for o in self.outcomes],
            "notes": self.notes,
        }


def one_per_command(outcomes: Iterable[Outcome], commands: Iterable[dict[str, Any]], why: str) -> list[Outcome]:
    """The outcomes in the commands' order, exactly one per command (matched by line and type).

    A command without an outcome counts as failed ("no outcome: `why`"); an outcome left over (a
    command reported twice, or one that is not in the script) counts as failed too, beside its command's.
    """
    pending: dict[tuple[int, str], deque[Outcome]] = {}
    for o in outcomes:
        pending.setdefault((o.line, o.command), deque()).append(o)
    out = []
    for c in commands:
        key = (int(c.get("line", 0)), str(c["type"]))
        got = pending.get(key)
        out.append(got.popleft() if got else Outcome(*key, FAILED, f"no outcome: {why}"))
    for extra in (o for left in pending.values() for o in left):
        was = f"{extra.status}: {extra.reason}" if extra.reason else extra.status
        out.append(Outcome(extra.line, extra.command, FAILED, f"an outcome for no command of the script ({was})"))
    return out
