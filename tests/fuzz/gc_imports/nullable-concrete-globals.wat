;; fuzz_run's stubs: globals of a struct type, immutable and mutable, nullable: null stubs.
(module
  (type $s (struct (field i32)))
  (import "m" "g" (global $g (ref null $s)))
  (import "m" "gm" (global $gm (mut (ref null $s))))
  (func (export "read") (result i32) (struct.get $s 0 (global.get $g)))
  (func (export "write") (global.set $gm (struct.new $s (i32.const 7)))))
