;; Tail calls (WebAssembly 3.0): mutual recursion that never returns until the end, as functional
;; languages and interpreters compile loops. Every call is a return_call, so the frame stack stays
;; one frame deep however large n is. Measured against wasmtime (benchmarks/README.md); wasm3 and
;; pywasm have no tail calls.
(module
  ;; 1 when n is even, by n mutually recursive tail calls.
  (func $is_even (export "is_even") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (return_call $is_odd (i32.sub (local.get $n) (i32.const 1))))))
  (func $is_odd (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (return_call $is_even (i32.sub (local.get $n) (i32.const 1))))))
  ;; The sum of 1..n in an accumulator, by n self tail calls with three arguments (i64 wraps).
  (func $sum (export "sum") (param $n i32) (param $acc i64) (param $step i64) (result i64)
    (if (result i64) (i32.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $sum
        (i32.sub (local.get $n) (i32.const 1))
        (i64.add (local.get $acc) (local.get $step))
        (i64.add (local.get $step) (i64.const 1)))))))
