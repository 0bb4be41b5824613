"""Clocks that record how the scheduler passed the time when nothing could run.

Tests assert on these records (deadlines, and the timeouts the OS was polled with) instead of timing a run
with the wall clock, which a busy machine makes slow at random.
"""

from __future__ import annotations

from typing import Any

from wasmroutines import MonotonicClock, VirtualClock
from wasmroutines.core.clock import Poll


class IdleRecorder:
    """Mixin over a clock class: records every idle() the scheduler makes and every poll of the OS in it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The deadline of each idle (None: none; the scheduler waits for a host wake-up).
        self.idles: list[int | None] = []
        #: The timeout of each poll of the OS during those idles: 0 looks without waiting, None waits for good.
        self.polls: list[float | None] = []

    def idle(self, deadline_ns: int | None, poll: Poll) -> None:
        self.idles.append(deadline_ns)

        def recorded(timeout: float | None) -> int:
            self.polls.append(timeout)
            return poll(timeout)

        super().idle(deadline_ns, recorded)  # type: ignore[misc]

    @property
    def waits(self) -> list[float | None]:
        """The polls that could block the OS thread: real time spent waiting."""
        return [t for t in self.polls if t != 0]


class RecordingVirtualClock(IdleRecorder, VirtualClock):
    pass


class RecordingMonotonicClock(IdleRecorder, MonotonicClock):
    pass
