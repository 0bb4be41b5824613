;; A wasi-threads program for the limits. What it does depends on argc (its argument count):
;;   1: spawns 4 threads that wait forever and exits with the number of spawns refused (the -EAGAIN
;;      of --max-threads: 0 without it);
;;   2: spawns a thread that spins forever while _start waits forever (--fuel, --max-wall-time);
;;   3: ping-pongs forever with a spawned thread through futexes (--fuel, --max-wall-time).
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  ;; Word 0: the sleepers wait here; 4: _start waits here; 16: whose turn in the ping-pong; 64, 68: argc, argv size.
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (if (i32.eq (local.get $arg) (i32.const 1))
      (then (loop $spin (br $spin))))
    (if (i32.eq (local.get $arg) (i32.const 2))
      (then (call $pingpong (i32.const 1))))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  ;; Wait for the turn to be $me's, hand it to the other side, forever.
  (func $pingpong (param $me i32)
    (loop $round
      (block $mine
        (loop $wait
          (br_if $mine (i32.eq (i32.atomic.load (i32.const 16)) (local.get $me)))
          (drop (memory.atomic.wait32 (i32.const 16) (i32.sub (i32.const 1) (local.get $me)) (i64.const -1)))
          (br $wait)))
      (i32.atomic.store (i32.const 16) (i32.sub (i32.const 1) (local.get $me)))
      (drop (memory.atomic.notify (i32.const 16) (i32.const 1)))
      (br $round)))
  (func (export "_start")
    (local $argc i32) (local $i i32) (local $refused i32)
    (drop (call $args_sizes_get (i32.const 64) (i32.const 68)))
    (local.set $argc (i32.load (i32.const 64)))
    (if (i32.eq (local.get $argc) (i32.const 2))
      (then
        (drop (call $spawn (i32.const 1)))
        (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))))
    (if (i32.eq (local.get $argc) (i32.const 3))
      (then
        (drop (call $spawn (i32.const 2)))
        (call $pingpong (i32.const 0))))
    (loop $spawning
      (if (i32.lt_s (call $spawn (i32.const 0)) (i32.const 0))
        (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawning (i32.lt_u (local.get $i) (i32.const 4))))
    (call $exit (local.get $refused))))
