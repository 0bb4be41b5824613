;; fuzz_run's stubs: a table of an array type, nullable: all null.
(module
  (type $a (array (mut i8)))
  (import "m" "t" (table $t 2 10 (ref null $a)))
  (func (export "fill") (table.set $t (i32.const 1) (array.new_default $a (i32.const 3))))
  (func (export "len") (result i32) (array.len (table.get $t (i32.const 0)))))
