;; difftest --gc's replay path: exports whose results are a struct and an array of the module's own types,
;; a global and a table of such references, and an imported function taking one, all of which pass through
;; the adapter modules (a copy of the module's types) in both engines. Recorded with --gc --wasm3.
(module
  (type $point (struct (field $x i32) (field $y (mut f64))))
  (type $bytes (array (mut i8)))
  (type $named (sub (struct (field (ref null $point)))))
  (import "host" "see" (func $see (param (ref null $point)) (result i32)))
  (global $last (export "last") (mut (ref null $point)) (ref.null $point))
  (table $objs (export "objs") 4 (ref null $named))
  (func (export "point") (param $x i32) (result (ref $point))
    (global.set $last (struct.new $point (local.get $x) (f64.const -2.5)))
    (ref.as_non_null (global.get $last)))
  (func (export "bytes") (param $n i32) (result (ref null $bytes))
    (array.new $bytes (i32.const 0x1ff) (i32.and (local.get $n) (i32.const 15))))
  (func (export "name") (result (ref $named))
    (table.set $objs (i32.const 1) (struct.new $named (global.get $last)))
    (table.get $objs (i32.const 1))
    (ref.as_non_null))
  (func (export "see_last") (result i32)
    (call $see (global.get $last)))
  (func (export "sum") (param $p (ref null $point)) (result f64)
    (f64.add (f64.convert_i32_s (struct.get $point $x (local.get $p))) (struct.get $point $y (local.get $p)))))
