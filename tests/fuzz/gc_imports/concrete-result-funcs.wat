;; fuzz_run's stubs: functions returning a struct: the non-nullable one traps when called, the nullable one
;; returns null.
(module
  (type $s (struct (field i32)))
  (import "m" "make" (func $make (result (ref $s))))
  (import "m" "maybe" (func $maybe (param (ref null $s)) (result (ref null $s))))
  (func (export "make") (result i32) (struct.get $s 0 (call $make)))
  (func (export "maybe") (result i32) (ref.is_null (call $maybe (struct.new $s (i32.const 1))))))
