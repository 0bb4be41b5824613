"""The futex ping-pong module the thread tests share, and an instance of it in a store."""

from __future__ import annotations

from collections.abc import Callable

from wasmroutines import Function, FuncType, Instance, Module, Store, ValType, wat2wasm

__all__ = ["PINGPONG", "pingpong_instance"]

I32 = ValType.I32

# Word 0: whose turn (0 or 1); word 4: round trips counted; word 8: never notified.
PINGPONG = """
(module
  (import "host" "report" (func $report (param i32) (result i32)))
  (memory (export "mem") 1 1 shared)
  ;; Thread $me waits for its turn, counts, hands the turn over: $n times. Then, by $how:
  ;; 0 return; 1 call the host; 2 wait 1 ms on word 8 (times out); 3 trap.
  (func (export "pingpong") (param $me i32) (param $n i32) (param $how i32) (result i32)
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
    (if (i32.eq (local.get $how) (i32.const 1))
      (then (return (call $report (local.get $me)))))
    (if (i32.eq (local.get $how) (i32.const 2))
      (then (return (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const 1000000)))))
    (if (i32.eq (local.get $how) (i32.const 3))
      (then unreachable))
    (local.get $i))
  ;; Wait on word $addr forever (a deadlock when nobody notifies).
  (func (export "stuck") (param $addr i32) (result i32)
    (memory.atomic.wait32 (local.get $addr) (i32.const 0) (i64.const -1)))
  ;; Wake the other thread at 0 and then wait at word 12 forever.
  (func (export "hand_over_and_stick") (result i32)
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
    (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
  (func (export "count") (result i32) (i32.atomic.load (i32.const 4)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""


def pingpong_instance(store: Store, report: Callable[[int], int] | None = None) -> Instance:
    """The module in `store`, its `host.report` import `report` (default: 100 + the caller's side)."""
    host = Function(store, report or (lambda me: 100 + me), FuncType([I32], [I32]))
    return Instance(store, Module(wat2wasm(PINGPONG)), {"host": {"report": host}})
