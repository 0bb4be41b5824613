"""counting_switches(): how many greenlet switches a block makes (tests of the C core's handoff)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import greenlet


@contextmanager
def counting_switches() -> Iterator[list[int]]:
    """Count greenlet switches (and throws) while the block runs. The cyclic collector is kept out of it: a pass
    that frees a greenlet an earlier test left suspended kills it, with a throw and a switch of its own that the
    block did not make (it failed so once in a full run, 4 switches counted)."""
    count = [0]

    def trace(event: str, args: object) -> None:
        if event in ("switch", "throw"):
            count[0] += 1

    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    old = greenlet.settrace(trace)
    try:
        yield count
    finally:
        greenlet.settrace(old)
        if was_enabled:
            gc.enable()
