;; Writes the file "in.txt" of the first preopened directory (fd 3) to stdout; exit 1 if it cannot open it.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "in.txt")
  ;; 0: new fd, 8: iovec {1024, 4096}, 16: n
  (func (export "_start")
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 6) (i32.const 0)
                         (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0))
      (then (call $proc_exit (i32.const 1))))
    (i32.store (i32.const 8) (i32.const 1024))
    (i32.store (i32.const 12) (i32.const 4096))
    (drop (call $fd_read (i32.load (i32.const 0)) (i32.const 8) (i32.const 1) (i32.const 16)))
    (i32.store (i32.const 12) (i32.load (i32.const 16)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))
