"""clock_res_get and clock_time_get: realtime, monotonic, process and thread CPU time.

Timestamps are u64 nanoseconds. The monotonic clock is the Waiter's, so a
scheduler with a virtual clock (deterministic mode) gives the guest the same
time its sleeps are measured on. The others come from the state's `clock`
hook when one is installed; else realtime from the Waiter's `realtime()`
when it has one (the scheduler's clock, see green.py), and the rest from
the host. Resolutions are the host's, or 1 ns in deterministic runs
(hostview.py).
"""

from __future__ import annotations

import time
from typing import Literal

from .abi import ClockId
from .errno import Errno
from .errors import WasiError
from .registry import syscall
from .state import WasiState

__all__ = ["now"]

_INFO_NAME: dict[ClockId, Literal["time", "monotonic", "process_time", "thread_time"]] = {
    ClockId.REALTIME: "time",
    ClockId.MONOTONIC: "monotonic",
    ClockId.PROCESS_CPUTIME_ID: "process_time",
    ClockId.THREAD_CPUTIME_ID: "thread_time",
}


def _resolution(clock: ClockId) -> int:
    try:
        res = time.get_clock_info(_INFO_NAME[clock]).resolution
    except ValueError:
        res = 1e-9
    return max(1, round(res * 1e9))


_RESOLUTION = {c: _resolution(c) for c in ClockId}


def now(st: WasiState, clock_id: int) -> int:
    """The time of WASI clock `clock_id` in ns; EINVAL for an unknown clock."""
    if clock_id == ClockId.MONOTONIC:
        return st.waiter.now()
    if st.clock is not None and clock_id in _RESOLUTION:
        return st.clock(clock_id)
    if clock_id == ClockId.REALTIME:
        realtime = getattr(st.waiter, "realtime", None)  # optional in the Waiter protocol
        return int(realtime()) if realtime is not None else time.time_ns()
    if clock_id == ClockId.PROCESS_CPUTIME_ID:
        return time.process_time_ns()
    if clock_id == ClockId.THREAD_CPUTIME_ID:
        return time.thread_time_ns()
    raise WasiError(Errno.INVAL)


@syscall("ii")
def clock_res_get(st: WasiState, clock_id: int, res_ptr: int) -> int:
    if clock_id not in _RESOLUTION:
        raise WasiError(Errno.INVAL)
    st.mem.set_u64(res_ptr, st.host.clock_resolution(_RESOLUTION[ClockId(clock_id)]))
    return 0


@syscall("iIi")
def clock_time_get(st: WasiState, clock_id: int, precision: int, time_ptr: int) -> int:
    st.mem.set_u64(time_ptr, now(st, clock_id))
    return 0
