"""The call driver: runs a wasm call on the store's thread and serves what wr_exec() asks for.

wr_exec() returns to this loop whenever the thread needs the host:
  WR_DONE         read the results;
  WR_HOSTCALL     call the Python host function with the args in the thread's
                  host_args slots, write its results to the same slots, resume;
                  the host function may call wasm again (a nested call on the
                  same thread: wr_thread_call stacks a host entry);
  WR_YIELD        the slice ran out: run the store's on_yield hook, then let the
                  scheduler switch to another green thread if one is runnable;
  WR_WAIT         memory.atomic.wait blocked: the scheduler parks this green
                  thread until a notify or the timeout, and runs the others;
  WR_SWITCH       (the C core switching threads itself) this thread stopped and
                  the core chose the next: the scheduler runs it (_handover);
  WR_OUT_OF_FUEL  the store's fuel is spent: abandon the call, raise OutOfFuel (in the
                  root too, when this is another thread: Scheduler._store_limit);
  WR_TRAP         raise Trap with the thread's trap code and backtrace (WasmException
                  for a wasm exception no handler caught).
A Python exception from a host function (or the hook, or a Deadlock thrown in
by the scheduler) abandons the wasm call (wr_thread_unwind) and propagates
unchanged; but a WasmException raised by a host function is thrown into wasm
at the call (wr_api_thread_throw), where a try_table may catch it.

The call runs on the wr_thread of the scheduler's current green thread: the
store's own thread for calls from Python, the green thread's own when a host
function running in it calls back into wasm (a nested call on that thread).
After every wr_exec return the threads whose state the C core changed are
collected (scheduler._drain), so a thread notified by this one is runnable at
once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._ffi import (
    NULL,
    WR_DONE,
    WR_HOSTCALL,
    WR_OUT_OF_FUEL,
    WR_TRAP,
    WR_YIELD,
    ffi,
    lib,
    trap_message,
)
from .backtrace import exhausted_limit, trap_of
from .errors import OutOfFuel, WasmException, trap
from .greenthread import _tls
from .scheduler import _NEWS, Scheduler
from .values import args_to_slots, exn_handle, slots_to_values, tag_of

if TYPE_CHECKING:
    from .store import HostFunc, Store
    from .types import FuncType

__all__ = [
    "args_buffer",
    "begin",
    "call",
    "call_host_bits",
    "drive",
    "host_args",
    "host_call",
    "host_raised",
    "host_results",
    "results",
]

WR_WAIT: int = lib.WR_WAIT
WR_SWITCH: int = lib.WR_SWITCH
_ARGS_MAX = 64  # arguments up to this many slots go through the scheduler's buffer (wr_thread_call copies them)
_M32 = 0xFFFF_FFFF
_I32_SIGN = 0x8000_0000
_I32_WRAP = 0x1_0000_0000
_I32_MIN = -0x8000_0000
_get_ident = threading.get_ident
# The C calls of every host call and wasm run, looked up once (an attribute of `lib` is a lookup each time).
_wr_exec = lib.wr_api_exec
_host_call = lib.wr_api_thread_host_call
_host_args = lib.wr_api_thread_host_args


def call(store: Store, func: Any, args: Sequence[int], nresult_slots: int) -> list[int]:
    """Call wasm function `func` (a wr_func*) with raw argument slots; return the raw result slots."""
    sched = store.scheduler
    if sched._owner != _get_ident():
        sched._check_owner()
    gt = sched.current
    t = gt._wr_thread
    if t is None:
        t = sched._thread_of(gt, store)
    return drive(store, t, begin(store, t, func, args), nresult_slots)


def begin(store: Store, t: Any, func: Any, args: Sequence[int]) -> int:
    """Start a call of `func` on wr_thread `t` and run it until it first stops: the status, for `drive` (which
    must follow, unless the status is WR_DONE or WR_TRAP: see `results` and `trap_of`)."""
    code = lib.wr_thread_call(t, func, args_buffer(store, args))
    if code:
        raise trap(trap_message(code), code, (), exhausted_limit(t))
    if store._gc_due:  # a safe point: the arguments are in the callee's frame now
        store._gc_safe_point()
    return store.scheduler._exec(t)


def args_buffer(store: Store, args: Sequence[int]) -> Any:
    """`args` as a uint64_t array for wr_thread_call (the scheduler's buffer when they fit: it copies them)."""
    n = len(args)
    if n <= _ARGS_MAX:
        buf = store.scheduler._args_buf
        buf[0:n] = args
        return buf
    return ffi.new("uint64_t[]", list(args))


def results(t: Any, nresult_slots: int) -> list[int]:
    """After WR_DONE: the call's raw result slots."""
    return ffi.unpack(lib.wr_thread_results(t), nresult_slots)


def drive(store: Store, t: Any, status: int, nresult_slots: int) -> list[int]:
    """Serve what the call begun on `t` asks for, from `status` on, until it returns (or raises)."""
    if status == WR_DONE:
        return results(t, nresult_slots)
    if status == WR_TRAP:
        raise trap_of(t, store)
    sched = store.scheduler
    native = store._native
    try:
        while True:
            try:
                if status == WR_HOSTCALL:
                    _serve_hostcall(store, sched, t)
                elif status == WR_YIELD:
                    hook = store._on_yield
                    if hook is not None:
                        hook()
                    sched._yield(sched.current)
                elif status == WR_SWITCH:
                    sched._handover(sched.current)
                elif status == WR_WAIT:
                    sched._wait_futex(sched.current)
                elif status == WR_OUT_OF_FUEL:
                    sched._store_limit(sched.current, lambda: OutOfFuel("all fuel consumed"))
                else:
                    raise SystemError(f"wr_exec returned unknown status {status}")
            except BaseException as exc:
                # A wasm exception from the host function: the call throws it (a try_table may catch it).
                # Anything else abandons the call; never after the store is freed (a greenlet killed while its
                # store is being collected).
                try:
                    thrown = _thrown(store, status, exc)
                except BaseException:
                    thrown = None  # its payload does not convert: that error, abandoning the call
                    if native.ptr is not None:
                        lib.wr_thread_unwind(t)
                    raise
                if thrown is None:
                    if native.ptr is not None:
                        lib.wr_thread_unwind(t)
                    raise
                lib.wr_api_thread_throw(t, thrown)
            status = _wr_exec(t)
            if status >= _NEWS:
                status -= _NEWS
                if sched._nwaiting or sched._cswitch:
                    sched._drain()
            if status == WR_DONE:
                return results(t, nresult_slots)
            if status == WR_TRAP:
                raise trap_of(t, store)  # a trap has unwound its call already
    finally:
        sched._calls -= 1


def _thrown(store: Store, status: int, exc: BaseException) -> Any:
    """The C exception to throw at the host call the thread stopped at, for `exc` raised there: a WasmException
    whose tag (and exception, if it has one) are the store's; None for anything else, which abandons the call
    (one of another store propagates to the host as any Python exception does)."""
    if status != WR_HOSTCALL or not isinstance(exc, WasmException) or store._native.ptr is None:
        return None
    tag = tag_of(exc)
    if (exc._store if exc._exn is not None else tag._store if tag is not None else None) is not store:
        return None
    return exn_handle(store, exc)


def _serve_hostcall(store: Store, sched: Scheduler, t: Any) -> None:
    host, slots = host_call(store, sched, t)
    args = host_args(store, host, slots)
    # current_scheduler() inside the host function is this store's.
    prev = getattr(_tls, "scheduler", None)
    _tls.scheduler = sched
    obs = sched._observer
    if obs is None:
        try:
            value = host.func(*args)
        finally:
            _tls.scheduler = prev
    else:
        gt = sched.current
        obs.hostcall(gt, host.func)
        try:
            value = host.func(*args)
        except BaseException as exc:
            _tls.scheduler = prev
            obs.hostcall_done(gt, host.func, exc)
            raise
        _tls.scheduler = prev
        # The observer may switch threads here (the explorer's preemption point after a host call).
        obs.hostcall_done(gt, host.func, None)
    host_results(store, t, host, value)
    # A seeded walk or PCT may switch threads here (spawns, I/O): the same decision whatever observes.
    builtin = sched._builtin
    if builtin is not None and builtin._hostcall_switch:
        gt = sched.current
        if builtin.hostcall_done(gt):
            sched.yield_now()


def host_call(store: Store, sched: Scheduler, t: Any) -> tuple[HostFunc, Any]:
    """After WR_HOSTCALL: the host function `t` calls, and the slots of its arguments (for host_args)."""
    host_id = sched._host_id_out
    slots = _host_call(t, host_id)
    if slots == NULL:
        raise SystemError("WR_HOSTCALL for a function that is not a host function")
    return store._hosts[host_id[0]], slots


def host_args(store: Store, host: HostFunc, slots: Any) -> list[Any]:
    """The arguments of a call of `host` (host_call's slots) as Python values."""
    if host.i32:
        if host.nargs == 1:  # the common case, without a comprehension's frame
            s = slots[0] & _M32
            return [s - _I32_WRAP if s & _I32_SIGN else s]
        args: list[Any] = [(s & _M32) - _I32_WRAP if s & _I32_SIGN else s & _M32 for s in ffi.unpack(slots, host.nargs)]
    else:
        args = slots_to_values(store, host.type.params, ffi.unpack(slots, host.nargs))
        # A safe point (not on the i32 path, which makes no handle): the arguments are the host's values now,
        # the results not written yet.
        if store._gc_due:
            store._gc_safe_point()
    return args


def host_results(store: Store, t: Any, host: HostFunc, value: Any) -> None:
    """The host call `t` stopped at returned `value`: its results go where the call reads them."""
    # Where the results go, read again: a call into wasm from the host function may have moved the thread's
    # stacks (wr_exec.h); leaving it gave the thread this call's slots back.
    slots = _host_args(t)
    if host.i32 and (value is None if host.void else type(value) is int and _I32_MIN <= value <= _M32):
        if value is not None:
            slots[0] = value & _M32
    else:
        for i, s in enumerate(_results_to_slots(store, host.type, value)):
            slots[i] = s
        lib.wr_api_thread_host_returned(t)  # the slots hold results now: roots as such until the thread runs


def host_raised(store: Store, t: Any, exc: BaseException) -> None:
    """The host call `t` stopped at raised `exc`: a wasm exception of this store is thrown at the call (the thread
    goes on from there); anything else abandons the thread's wasm call and is raised again."""
    try:
        thrown = _thrown(store, WR_HOSTCALL, exc)
    except BaseException:
        lib.wr_thread_unwind(t)  # its payload does not convert: that error, abandoning the call
        raise
    if thrown is None:
        lib.wr_thread_unwind(t)
        raise exc
    lib.wr_api_thread_throw(t, thrown)


def call_host_bits(store: Store, func: Callable[..., Any], ft: FuncType, args: Sequence[int]) -> list[int]:
    """Call a host function from Python with raw slots (no wasm involved)."""
    values = slots_to_values(store, ft.params, args)
    return _results_to_slots(store, ft, func(*values))


def _results_to_slots(store: Store, ft: FuncType, result: Any) -> list[int]:
    n = len(ft.results)
    if n == 0:
        if result is not None:
            raise TypeError(f"host function of type {ft} returned a value")
        return []
    if n == 1:
        if isinstance(result, (tuple, list)):
            if len(result) != 1:
                raise TypeError(f"host function of type {ft} returned {len(result)} results")
            result = result[0]
        return args_to_slots(store, ft.results, (result,))
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = len(result) if isinstance(result, (tuple, list)) else (0 if result is None else 1)
        raise TypeError(f"host function of type {ft} returned {got} results")
    return args_to_slots(store, ft.results, result)
