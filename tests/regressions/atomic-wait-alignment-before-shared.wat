;; memory.atomic.wait on an unshared memory at a misaligned address traps "unaligned atomic" in
;; wasmtime and the reference interpreter (check_align before check_shared); ours said "expected
;; shared memory".
(module
  (memory (export "mem") 1 1)
  (func (export "wait32") (result i32) (memory.atomic.wait32 (i32.const 1) (i32.const 0) (i64.const 0)))
  (func (export "wait64") (result i32) (memory.atomic.wait64 (i32.const 4) (i64.const 0) (i64.const 0)))
  (func (export "wait32_aligned") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0))))
