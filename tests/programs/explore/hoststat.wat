;; What a program can learn about the host besides file contents, printed raw to stdout:
;;   clock_res_get of clocks 0..3 (4 x u64);
;;   fd_filestat_get of its directory "/" (fd 3), path_filestat_get of "data.txt", "link.txt" (a hard
;;   link to it) and "sub" (a directory) (4 x 64 bytes);
;;   path_filestat_set_times of "data.txt" (atime 123, mtime now), then its filestat again (64 bytes);
;;   poll_oneoff on stdin (read) and a clock with timeout 0: nevents (u32), then the events (2 x 32);
;;   fd_read of stdin into 256 bytes: the count (u32) and the bytes read;
;;   fd_readdir of "/": bufused (u32), then the dirent stream.
;; In deterministic mode every byte follows the program's input only (tests/test_determinism.py):
;; not the host's inode numbers, file times, directory sizes, clock resolutions, or when stdin's
;; bytes arrived.
(module
  (import "wasi_snapshot_preview1" "clock_res_get" (func $res (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $pstat (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times"
    (func $ptimes (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; names
  (data (i32.const 16) "data.txt")
  (data (i32.const 24) "link.txt")
  (data (i32.const 32) "sub")
  ;; 1024: the output buffer, filled in order; $out is where the next piece goes
  (global $out (mut i32) (i32.const 1024))
  (func $check (param i32)
    (if (local.get 0) (then unreachable)))
  (func $bump (param i32)
    (global.set $out (i32.add (global.get $out) (local.get 0))))
  (func $stat (param $name i32) (param $len i32)
    (call $check (call $pstat (i32.const 3) (i32.const 0) (local.get $name) (local.get $len) (global.get $out)))
    (call $bump (i32.const 64)))
  (func (export "_start")
    (local $i i32)
    ;; clock resolutions
    (loop $l
      (call $check (call $res (local.get $i) (global.get $out)))
      (call $bump (i32.const 8))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    ;; filestats
    (call $check (call $fstat (i32.const 3) (global.get $out)))
    (call $bump (i32.const 64))
    (call $stat (i32.const 16) (i32.const 8))
    (call $stat (i32.const 24) (i32.const 8))
    (call $stat (i32.const 32) (i32.const 3))
    ;; set atime 123 and mtime now, then stat again
    (call $check (call $ptimes (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 8)
      (i64.const 123) (i64.const 0) (i32.const 9)))
    (call $stat (i32.const 16) (i32.const 8))
    ;; poll: subscriptions at 256 (2 x 48 bytes), events straight into the output
    (i64.store (i32.const 256) (i64.const 1))            ;; userdata 1: stdin readable
    (i32.store8 (i32.const 264) (i32.const 1))           ;; FD_READ
    (i32.store (i32.const 272) (i32.const 0))            ;; fd 0
    (i64.store (i32.const 304) (i64.const 2))            ;; userdata 2: clock
    (i32.store8 (i32.const 312) (i32.const 0))           ;; CLOCK
    (i32.store (i32.const 320) (i32.const 1))            ;; monotonic
    (i64.store (i32.const 328) (i64.const 0))            ;; timeout 0
    (i64.store (i32.const 336) (i64.const 0))            ;; precision
    (i32.store16 (i32.const 344) (i32.const 0))          ;; relative
    (call $check (call $poll (i32.const 256) (i32.add (global.get $out) (i32.const 4)) (i32.const 2)
      (global.get $out)))
    (call $bump (i32.const 68))
    ;; read stdin once into 256 bytes after the count
    (i32.store (i32.const 512) (i32.add (global.get $out) (i32.const 4)))
    (i32.store (i32.const 516) (i32.const 256))
    (call $check (call $read (i32.const 0) (i32.const 512) (i32.const 1) (global.get $out)))
    (call $bump (i32.add (i32.const 4) (i32.load (global.get $out))))
    ;; readdir "/" after its bufused
    (call $check (call $readdir (i32.const 3) (i32.add (global.get $out) (i32.const 4)) (i32.const 1024)
      (i64.const 0) (global.get $out)))
    (call $bump (i32.add (i32.const 4) (i32.load (global.get $out))))
    ;; write it all out
    (i32.store (i32.const 512) (i32.const 1024))
    (i32.store (i32.const 516) (i32.sub (global.get $out) (i32.const 1024)))
    (call $check (call $write (i32.const 1) (i32.const 512) (i32.const 1) (i32.const 520)))))
