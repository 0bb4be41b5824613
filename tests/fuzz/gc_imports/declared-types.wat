;; fuzz_run's stubs: a function of a declared (non-final) subtype and a tag of a recursion group's type match
;; only stubs of those very types.
(module
  (type $f (sub (func (param i32) (result i32))))
  (rec (type $t (func (param (ref null $n)))) (type $n (struct (field (ref null $t)))))
  (import "m" "f" (func $f (type $f)))
  (import "m" "tag" (tag $tag (type $t)))
  (func (export "call") (result i32) (call $f (i32.const 5)))
  (func (export "throw") (throw $tag (ref.null $n))))
