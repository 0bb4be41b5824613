;; wasmer's virtual root, seen from the guest: writes the name fd 3 is preopened as, a newline, each
;; name fd_readdir lists in fd 3 followed by a newline, then the file "data/in.txt" opened through fd 3.
;; Exits 1 when fd 3 is no preopened directory, 2 when its name does not fit, 3 when fd_readdir fails,
;; 4 when "data/in.txt" cannot be opened.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: new fd, 8: iovec, 16: n, 32: prestat, 64: path, 96: newline, 128: dir name, 1024: dirents, 8192: file
  (data (i32.const 64) "data/in.txt")
  (data (i32.const 96) "\n")
  (func $out (param $ptr i32) (param $len i32)
    (i32.store (i32.const 8) (local.get $ptr))
    (i32.store (i32.const 12) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
  (func $fail (param $code i32)
    (call $proc_exit (local.get $code)))
  (func (export "_start")
    (local $p i32) (local $end i32) (local $len i32)
    (if (call $fd_prestat_get (i32.const 3) (i32.const 32)) (then (call $fail (i32.const 1))))
    (local.set $len (i32.load (i32.const 36)))
    (if (i32.gt_u (local.get $len) (i32.const 32)) (then (call $fail (i32.const 2))))
    (if (call $fd_prestat_dir_name (i32.const 3) (i32.const 128) (local.get $len))
      (then (call $fail (i32.const 2))))
    (call $out (i32.const 128) (local.get $len))
    (call $out (i32.const 96) (i32.const 1))
    (if (call $fd_readdir (i32.const 3) (i32.const 1024) (i32.const 4096) (i64.const 0) (i32.const 16))
      (then (call $fail (i32.const 3))))
    (local.set $p (i32.const 1024))
    (local.set $end (i32.add (i32.const 1024) (i32.load (i32.const 16))))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $p) (i32.const 24)) (local.get $end)))
        (local.set $len (i32.load (i32.add (local.get $p) (i32.const 16))))
        (call $out (i32.add (local.get $p) (i32.const 24)) (local.get $len))
        (call $out (i32.const 96) (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.add (i32.const 24) (local.get $len))))
        (br $next)))
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 11) (i32.const 0)
                         (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0))
      (then (call $fail (i32.const 4))))
    (i32.store (i32.const 8) (i32.const 8192))
    (i32.store (i32.const 12) (i32.const 4096))
    (drop (call $fd_read (i32.load (i32.const 0)) (i32.const 8) (i32.const 1) (i32.const 16)))
    (call $out (i32.const 8192) (i32.load (i32.const 16)))))
