;; 200 wasi-threads sleep for different times (poll_oneoff on the monotonic clock): thread i
;; sleeps (200 - i) ms, then appends its index to a log, so in deadline order the log reads
;; 199, 198, ..., 0. Before spawning, main waits 1 ms on a futex nobody notifies (a timed-out
;; memory.atomic.wait32). Output: the 200 log bytes, the wait's result (4 bytes, 2 = timed out),
;; then the monotonic clock at the end (8 bytes, little-endian). In deterministic mode the clock
;; is virtual: it reads exactly 201 ms, however long the run took.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "env" "memory" (memory 8 8 shared))
  (export "memory" (memory 0))
  ;; 0: threads done; 4: log length; 8: wait result; 12: clock (8 bytes); 24: a futex word nobody
  ;; notifies; 32..232: log; 256: iovecs
  ;; 4096 + 64 i: thread i's subscription; 20480 + 32 i: its event; 28672 + 4 i: its nevents
  (global $n i32 (i32.const 200))

  (func $sleep_ms (param $i i32) (param $ms i32)
    (local $sub i32)
    (local.set $sub (i32.add (i32.const 4096) (i32.mul (local.get $i) (i32.const 64))))
    (i64.store (local.get $sub) (i64.const 0))                                 ;; userdata
    (i32.store8 offset=8 (local.get $sub) (i32.const 0))                       ;; tag: clock
    (i32.store offset=16 (local.get $sub) (i32.const 1))                       ;; monotonic
    (i64.store offset=24 (local.get $sub)
      (i64.mul (i64.extend_i32_u (local.get $ms)) (i64.const 1000000)))        ;; timeout, ns
    (i64.store offset=32 (local.get $sub) (i64.const 0))                       ;; precision
    (i32.store16 offset=40 (local.get $sub) (i32.const 0))                     ;; relative
    (drop (call $poll (local.get $sub)
      (i32.add (i32.const 20480) (i32.mul (local.get $i) (i32.const 32)))
      (i32.const 1)
      (i32.add (i32.const 28672) (i32.mul (local.get $i) (i32.const 4))))))

  (func (export "wasi_thread_start") (param $tid i32) (param $i i32)
    (call $sleep_ms (local.get $i) (i32.sub (global.get $n) (local.get $i)))
    (i32.store8 offset=32 (i32.atomic.rmw.add (i32.const 4) (i32.const 1)) (local.get $i))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))

  (func (export "_start")
    (local $i i32) (local $v i32)
    (i32.store (i32.const 8) (memory.atomic.wait32 (i32.const 24) (i32.const 0) (i64.const 1000000)))
    (loop $spawn_all
      (drop (call $spawn (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_all (i32.lt_u (local.get $i) (global.get $n))))
    (block $all_done
      (loop $wait
        (local.set $v (i32.atomic.load (i32.const 0)))
        (br_if $all_done (i32.eq (local.get $v) (global.get $n)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $v) (i64.const -1)))
        (br $wait)))
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 12)))
    ;; write log (200 bytes) + wait result (4) + clock (8): two iovecs
    (i32.store (i32.const 256) (i32.const 32))
    (i32.store (i32.const 260) (global.get $n))
    (i32.store (i32.const 264) (i32.const 8))
    (i32.store (i32.const 268) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 2) (i32.const 272)))))
