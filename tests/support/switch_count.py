"""counting_switches(): how many greenlet switches a block makes (tests of the C core's handoff)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import greenlet


@contextmanager
def counting_switches() -> Iterator[list[int]]:
    """Count greenlet switches (and throws) while the block runs."""
    count = [0]

    def trace(event: str, args: object) -> None:
        if event in ("switch", "throw"):
            count[0] += 1

    old = greenlet.settrace(trace)
    try:
        yield count
    finally:
        greenlet.settrace(old)
