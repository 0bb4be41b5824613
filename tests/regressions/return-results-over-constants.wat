(module
  ;; No params or locals: the constant area starts at slot 0, where the results go.
  (func (export "consts") (result i32 i32)
    (drop (i32.const 0))
    i32.const 9
    i32.const 0)
  (func (export "after_if") (result i32 i32)
    (if (result i32) (i32.const 0) (then i32.const 1) (else i32.const 2))
    drop
    i32.const 9
    i32.const 0)
  (func (export "refs") (result f32 externref f32 f64 externref)
    (if (result f32 externref f32 f64 externref) (i32.const 0)
      (then f32.const 1 ref.null extern f32.const 2 f64.const 3 ref.null extern)
      (else f32.const 4 ref.null extern f32.const 5 f64.const 6 ref.null extern))
    drop drop drop drop drop
    f32.const 0x1p-123
    ref.null extern
    f32.const 0x1.fffep-134
    f64.const 0x1.ded0d8dbb7347p-305
    ref.null extern)
  (func (export "one_local") (param i32) (result i64 i64 i64)
    (drop (i64.const 7))
    (drop (i64.const 8))
    i64.const 1
    i64.const 8
    i64.const 7)
  (func (export "early_return") (result i32 i32 i32)
    (drop (i32.const 5))
    (block
      i32.const 1
      i32.const 2
      i32.const 5
      return)
    i32.const 0
    i32.const 0
    i32.const 0)
)
