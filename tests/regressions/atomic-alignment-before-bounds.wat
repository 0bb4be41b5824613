;; Atomic accesses that are both misaligned and out of bounds trap "unaligned atomic" in wasmtime
;; and the reference interpreter (alignment is checked first); ours said "out of bounds memory access".
(module
  (memory (export "mem") 1 1 shared)
  (func (export "load") (result i32) (i32.atomic.load (i32.const 65535)))
  (func (export "load64_offset") (result i64) (i64.atomic.load offset=65534 (i32.const 1)))
  (func (export "store") (i32.atomic.store16 (i32.const 65535) (i32.const 1)))
  (func (export "rmw") (result i32) (i32.atomic.rmw.add (i32.const 65535) (i32.const 1)))
  (func (export "cmpxchg") (result i64) (i64.atomic.rmw.cmpxchg (i32.const 65532) (i64.const 0) (i64.const 1)))
  (func (export "notify") (result i32) (memory.atomic.notify (i32.const 65535) (i32.const 1)))
  (func (export "wait32") (result i32) (memory.atomic.wait32 (i32.const 65535) (i32.const 0) (i64.const 0)))
  ;; the traps both engines already agree on
  (func (export "aligned_out_of_bounds") (result i32) (i32.atomic.load (i32.const 65536)))
  (func (export "misaligned_in_bounds") (result i32) (i32.atomic.load (i32.const 1))))
