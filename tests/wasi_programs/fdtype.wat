;; proc_exit(the WASI file type of fd 3), or 99 when fd 3 is not open.
(module
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (call $fd_fdstat_get (i32.const 3) (i32.const 0)) (then (call $proc_exit (i32.const 99))))
    (call $proc_exit (i32.load8_u (i32.const 0)))))
