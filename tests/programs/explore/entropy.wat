;; What a program can learn from outside in one go: 16 random bytes (random_get), the realtime
;; clock, the monotonic clock, and its directory listing of "/" (fd 3, fd_readdir). Output, raw:
;; the random bytes, realtime (8 bytes), monotonic (8 bytes), then the dirent stream as read.
;; In deterministic mode all of it follows the seed and the inputs only.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: random(16); 16: realtime; 24: monotonic; 1024: dirents (up to 2048); 64: iovec; 80: used
  (func (export "_start")
    (drop (call $random (i32.const 0) (i32.const 16)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 16)))
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 24)))
    (i32.store (i32.const 80) (i32.const 0))
    (drop (call $readdir (i32.const 3) (i32.const 1024) (i32.const 2048) (i64.const 0) (i32.const 80)))
    (i32.store (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 32))
    (i32.store (i32.const 72) (i32.const 1024))
    (i32.store (i32.const 76) (i32.load (i32.const 80)))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 2) (i32.const 84)))))
