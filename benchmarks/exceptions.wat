;; Exception handling (WebAssembly 3.0): throw at the bottom of 10 frames of calls, catch at the top with a
;; try_table, n times. Each round unwinds 10 frames and delivers an i32 payload to the handler, which adds it
;; up. Measured against wasmtime (benchmarks/README.md); wasm3 and pywasm have no exception handling.
(module
  (tag $e (param i32))
  ;; d calls deep, then throw v
  (func $down (param $d i32) (param $v i32) (result i32)
    (if (i32.eqz (local.get $d)) (then (throw $e (local.get $v))))
    (i32.add (call $down (i32.sub (local.get $d) (i32.const 1)) (local.get $v)) (i32.const 1)))
  ;; the sum of n .. 1, each value thrown across 10 frames and caught (i32 wraps)
  (func (export "throw_catch") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h) (drop (call $down (i32.const 10) (local.get $n))))
        (i32.const 0))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum)))
