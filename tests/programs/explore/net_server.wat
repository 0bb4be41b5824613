;; A thread-per-connection server on the preopened listening socket (fd 3, --tcplisten): it accepts
;; 3 connections, each served by a wasi-threads thread that reads until end of file and writes
;; every chunk it reads to stdout as one line "I:CHUNK" (I the connection's index, 0 to 2); then
;; main joins them and writes "done". Before each accept main polls the listener with a 20 ms
;; timeout (poll_oneoff: a clock and an fd_read subscription), looping until it is readable, so a
;; run has timed-out waits as well as woken ones. Even connections read with sock_recv, odd ones
;; with fd_read. So the output's order of lines depends on when the clients' bytes arrive.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  ;; 0: threads done (a futex word); 8: "\n"; 16 + 4 i: connection i's fd; 64: accept's new fd;
  ;; 200: "done\n"; 4096: the two subscriptions (48 bytes each); 4200: two events (32 bytes each);
  ;; 4300: nevents. Thread i's area at 1024 + 256 i: three iovecs (0), "I:" (32), nread (40),
  ;; roflags (44), nwritten (48), the chunk (64, 128 bytes).
  (data (i32.const 8) "\n")
  (data (i32.const 200) "done\n")
  (global $n i32 (i32.const 3))

  (func $serve (param $i i32)
    (local $fd i32) (local $base i32) (local $got i32)
    (local.set $fd (i32.load offset=16 (i32.shl (local.get $i) (i32.const 2))))
    (local.set $base (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 8))))
    (i32.store8 offset=32 (local.get $base) (i32.add (i32.const 48) (local.get $i)))  ;; digit
    (i32.store8 offset=33 (local.get $base) (i32.const 58))                           ;; ":"
    (block $eof
      (loop $more
        ;; One iovec at base+0 for the read: the chunk buffer.
        (i32.store (local.get $base) (i32.add (local.get $base) (i32.const 64)))
        (i32.store offset=4 (local.get $base) (i32.const 128))
        (if (i32.and (local.get $i) (i32.const 1))
          (then (br_if $eof (call $fd_read (local.get $fd) (local.get $base) (i32.const 1)
                                          (i32.add (local.get $base) (i32.const 40)))))
          (else (br_if $eof (call $recv (local.get $fd) (local.get $base) (i32.const 1) (i32.const 0)
                                        (i32.add (local.get $base) (i32.const 40))
                                        (i32.add (local.get $base) (i32.const 44))))))
        (local.set $got (i32.load offset=40 (local.get $base)))
        (br_if $eof (i32.eqz (local.get $got)))
        ;; "I:" + chunk + "\n" in one fd_write.
        (i32.store (local.get $base) (i32.add (local.get $base) (i32.const 32)))
        (i32.store offset=4 (local.get $base) (i32.const 2))
        (i32.store offset=8 (local.get $base) (i32.add (local.get $base) (i32.const 64)))
        (i32.store offset=12 (local.get $base) (local.get $got))
        (i32.store offset=16 (local.get $base) (i32.const 8))
        (i32.store offset=20 (local.get $base) (i32.const 1))
        (drop (call $fd_write (i32.const 1) (local.get $base) (i32.const 3) (i32.add (local.get $base) (i32.const 48))))
        (br $more)))
    (drop (call $fd_close (local.get $fd))))

  (func (export "wasi_thread_start") (param $tid i32) (param $i i32)
    (call $serve (local.get $i))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))

  ;; Wait until the listener is readable, 20 ms at a time.
  (func $await_client
    (i64.store (i32.const 4096) (i64.const 0))             ;; userdata 0: the clock
    (i32.store8 (i32.const 4104) (i32.const 0))            ;; tag: clock
    (i32.store (i32.const 4112) (i32.const 1))             ;; monotonic
    (i64.store (i32.const 4120) (i64.const 20000000))      ;; 20 ms, relative
    (i64.store (i32.const 4128) (i64.const 0))
    (i32.store16 (i32.const 4136) (i32.const 0))
    (i64.store (i32.const 4144) (i64.const 1))             ;; userdata 1: the listener
    (i32.store8 (i32.const 4152) (i32.const 1))            ;; tag: fd_read
    (i32.store (i32.const 4160) (i32.const 3))
    (block $ready
      (loop $again
        (drop (call $poll (i32.const 4096) (i32.const 4200) (i32.const 2) (i32.const 4300)))
        (br_if $ready (i32.eq (i32.load8_u (i32.const 4210)) (i32.const 1)))
        (br_if $ready (i32.and (i32.eq (i32.load (i32.const 4300)) (i32.const 2))
                               (i32.eq (i32.load8_u (i32.const 4242)) (i32.const 1))))
        (br $again))))

  (func (export "_start")
    (local $i i32) (local $v i32)
    (loop $accept_all
      (call $await_client)
      (if (call $accept (i32.const 3) (i32.const 0) (i32.const 64)) (then (unreachable)))
      (i32.store offset=16 (i32.shl (local.get $i) (i32.const 2)) (i32.load (i32.const 64)))
      (drop (call $spawn (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $accept_all (i32.lt_u (local.get $i) (global.get $n))))
    (block $all_done
      (loop $wait
        (local.set $v (i32.atomic.load (i32.const 0)))
        (br_if $all_done (i32.eq (local.get $v) (global.get $n)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $v) (i64.const -1)))
        (br $wait)))
    (i32.store (i32.const 256) (i32.const 200))
    (i32.store (i32.const 260) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))))
