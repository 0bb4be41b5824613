;; fuzz_run's stubs: a non-nullable struct global has none (no value to give): not instantiated, counted.
(module
  (type $s (struct (field i32)))
  (import "m" "g" (global $g (ref $s)))
  (func (export "read") (result i32) (struct.get $s 0 (global.get $g))))
