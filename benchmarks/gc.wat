;; GC (WebAssembly 3.0): allocate a linked list of n structs, walk it summing the values, and drop it. Each
;; round makes n objects of 16 bytes of fields (an i64 and a reference). Measured against wasmtime with GC on
;; (benchmarks/README.md); wasm3 and pywasm have no GC. Both collect as they go: Wasmroutines's GC heap stays
;; within about two to three times the live list (docs/interpreter.md, "GC roots").
;; live_churn: the pauses (benchmarks/test_gc_pause.py): a list of n structs kept live in a global while g
;; structs of garbage are allocated, so collections run with a big live heap to mark.
(module
  (type $node (struct (field $v i64) (field $next (ref null $node))))
  (func (export "list_sum") (param $n i32) (result i64)
    (local $l (ref null $node))
    (local $sum i64)
    (loop $make
      (local.set $l (struct.new $node (i64.extend_i32_u (local.get $n)) (local.get $l)))
      (br_if $make (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (block $done
      (loop $walk
        (local.set $sum (i64.add (local.get $sum) (struct.get $node $v (br_on_null $done (local.get $l)))))
        (local.set $l (struct.get $node $next (local.get $l)))
        (br $walk)))
    (local.get $sum))
  (global $live (mut (ref null $node)) (ref.null $node))
  (func $keep (export "keep") (param $n i32)
    (loop $make
      (global.set $live (struct.new $node (i64.extend_i32_u (local.get $n)) (global.get $live)))
      (br_if $make (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func $drop (export "drop") (global.set $live (ref.null $node)))
  (func (export "live_churn") (param $n i32) (param $g i32) (result i64)
    (local $l (ref null $node))
    (local $sum i64)
    (call $keep (local.get $n))
    (loop $garbage
      (drop (struct.new $node (i64.const 0) (ref.null $node)))
      (br_if $garbage (local.tee $g (i32.sub (local.get $g) (i32.const 1)))))
    (local.set $l (global.get $live))
    (call $drop)
    (block $done
      (loop $walk
        (local.set $sum (i64.add (local.get $sum) (struct.get $node $v (br_on_null $done (local.get $l)))))
        (local.set $l (struct.get $node $next (local.get $l)))
        (br $walk)))
    (local.get $sum)))
