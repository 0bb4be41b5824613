;; A library module (no _start) for --invoke and the limits (--fuel, --max-memory, ...).
(module
  (memory (export "memory") 1)
  (table (export "table") 2 funcref)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "div_s") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
  (func (export "halve") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
  (func (export "third") (param f32) (result f32) (f32.div (local.get 0) (f32.const 3)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  ;; depth(n) recurses n calls deep and returns n.
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $depth (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))
