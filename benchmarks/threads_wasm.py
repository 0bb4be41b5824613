"""The threading benchmarks' wasm module and how each runtime runs it: Wasmroutines as green threads on one OS
thread, wasmtime as one `threading.Thread` per wasm thread, each with its own Store and instance, all importing
one SharedMemory (wasmtime-py 50 has no wasi-threads; this is what its `thread-spawn` would do)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

#: Words of the shared memory: ping-pong turn and count, idle flag and arrivals, mutex, counters.
TURN, PINGS, IDLE_FLAG, IDLE_ARRIVED, MUTEX, PLAIN_COUNT, ATOMIC_COUNT = 0, 4, 8, 12, 16, 20, 24

WAT = """
(module
  (import "env" "mem" (memory 1 1 shared))
  (func (export "reset")
    (local $a i32)
    (loop $l
      (i32.atomic.store (local.get $a) (i32.const 0))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $a) (i32.const 64)))))
  (func (export "load") (param $addr i32) (result i32) (i32.atomic.load (local.get $addr)))
  ;; Thread $me (0 or 1) waits for its turn at word 0, counts at word 4, hands the turn over: $n times.
  (func (export "pingpong") (param $me i32) (param $n i32) (result i32)
    (local $i i32) (local $other i32)
    (local.set $other (i32.sub (i32.const 1) (local.get $me)))
    (block $done
      (loop $round
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (block $mine
          (loop $w
            (br_if $mine (i32.eq (i32.atomic.load (i32.const 0)) (local.get $me)))
            (drop (memory.atomic.wait32 (i32.const 0) (local.get $other) (i64.const -1)))
            (br $w)))
        (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
        (i32.atomic.store (i32.const 0) (local.get $other))
        (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $round)))
    (local.get $i))
  (func (export "noop") (result i32) (i32.const 1))
  ;; Count the arrival at word 12, then wait at word 8 until it is set.
  (func (export "idle") (result i32)
    (drop (i32.atomic.rmw.add (i32.const 12) (i32.const 1)))
    (block $done (loop $w
      (br_if $done (i32.atomic.load (i32.const 8)))
      (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))
      (br $w)))
    (i32.const 1))
  (func (export "wake") (result i32)
    (i32.atomic.store (i32.const 8) (i32.const 1))
    (memory.atomic.notify (i32.const 8) (i32.const -1)))
  ;; $n times: take the futex mutex at word 16, bump the plain counter at 20 (lost updates show a broken
  ;; mutex), release it; bump the atomic counter at 24; a little arithmetic outside the lock.
  (func (export "work") (param $n i32) (result i32)
    (local $i i32) (local $x i32)
    (block $done
      (loop $round
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (block $locked (loop $try
          (br_if $locked (i32.eqz (i32.atomic.rmw.cmpxchg (i32.const 16) (i32.const 0) (i32.const 1))))
          (drop (memory.atomic.wait32 (i32.const 16) (i32.const 1) (i64.const -1)))
          (br $try)))
        (i32.store (i32.const 20) (i32.add (i32.load (i32.const 20)) (i32.const 1)))
        (i32.atomic.store (i32.const 16) (i32.const 0))
        (drop (memory.atomic.notify (i32.const 16) (i32.const 1)))
        (drop (i32.atomic.rmw.add (i32.const 24) (i32.const 1)))
        (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 31)) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $round)))
    (local.get $i)))
"""


def wasm() -> bytes:
    from wasmroutines import wat2wasm

    return wat2wasm(WAT)


class GreenRuntime:
    """Wasmroutines: one store, one shared memory, one instance whose exports the green threads run."""

    def __init__(self, binary: bytes) -> None:
        from wasmroutines import Instance, Memory, MemoryType, Module, Store

        self.store = Store()
        memory = Memory(self.store, MemoryType(1, 1, shared=True))
        self.instance = Instance(self.store, Module(binary), {"env": {"mem": memory}})

    def export(self, name: str) -> Any:
        return getattr(self.instance.exports, name)


def linkable_shared_memory(wasmtime: Any, engine: Any, pages: int, maximum: int | None = None) -> Any:
    """A wasmtime SharedMemory that links: wasmtime-py 50's `SharedMemory._as_extern` wraps its pointer in one
    pointer too many (`ctypes.pointer(self.ptr())`), so `Instance(store, module, [shared])` raises TypeError."""
    from wasmtime import _ffi as ffi

    class LinkableSharedMemory(wasmtime.SharedMemory):  # type: ignore[misc, name-defined]
        def _as_extern(self) -> Any:
            union = ffi.wasmtime_extern_union(sharedmemory=self.ptr())
            return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)

    limits = wasmtime.Limits(pages, pages if maximum is None else maximum)
    return LinkableSharedMemory(engine, wasmtime.MemoryType(limits, shared=True))


class OsRuntime:
    """wasmtime: one engine and module, one SharedMemory; every OS thread instantiates the module in its own Store.
    The main thread has an instance too (reset, load, wake)."""

    def __init__(self, binary: bytes) -> None:
        import wasmtime

        self.wasmtime = wasmtime
        config = wasmtime.Config()
        config.wasm_threads = True
        config.shared_memory = True
        self.engine = wasmtime.Engine(config)
        self.module = wasmtime.Module(self.engine, binary)
        self.memory = linkable_shared_memory(wasmtime, self.engine, 1)
        self._main = self.instantiate()

    def instantiate(self) -> Callable[[str], Callable[..., Any]]:
        """A new Store and instance of the module sharing the memory; returns export name -> callable."""
        store = self.wasmtime.Store(self.engine)
        exports = self.wasmtime.Instance(store, self.module, [self.memory]).exports(store)
        return lambda name: lambda *args: exports[name](store, *args)

    def export(self, name: str) -> Callable[..., Any]:
        return self._main(name)

    def thread(self, export: str, *args: Any, ready: threading.Barrier | None = None) -> tuple[threading.Thread, list]:
        """An OS thread (not started) that instantiates the module, waits at `ready`, then calls `export(*args)`;
        the list gets its result, or its exception."""
        out: list[Any] = []

        def body() -> None:
            try:
                func = self.instantiate()(export)
                if ready is not None:
                    ready.wait()
                out.append(func(*args))
            except BaseException as exc:  # kept for the checks: a thread that died must not look fast
                out.append(exc)
                if ready is not None:
                    ready.abort()

        return threading.Thread(target=body, daemon=True), out
