;; GC (WebAssembly 3.0): allocate a linked list of n structs, walk it summing the values, and drop it. Each
;; round makes n objects of 16 bytes of fields (an i64 and a reference). Measured against wasmtime with GC on
;; (benchmarks/README.md); wasm3 and pywasm have no GC. Both collect as they go: Wasmroutines's GC heap stays
;; within about twice the live list (docs/interpreter.md, "GC roots").
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
    (local.get $sum)))
