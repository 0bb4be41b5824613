(module
  ;; br_if to the function's label with values read from locals / constants in the results' slots:
  ;; the copies on the taken path must not change what the path not taken reads.
  (func (export "br_if_locals") (param i32 i32) (result i32 i32)
    local.get 1
    local.get 0
    local.get 0
    br_if 0
    i32.add
    i32.const 0)
  (func (export "br_if_consts") (param i32) (result i32 i32)
    i32.const 5
    i32.const 6
    local.get 0
    br_if 0
    i32.add
    i32.const 0)
  ;; br_table: the return's stub first, then a block's stub reading the same values.
  (func (export "br_table_return_first") (param i32 i32) (result i32 i32)
    (block (result i32 i32)
      local.get 1
      local.get 0
      local.get 0
      br_table 1 0)
    i32.add
    i32.const 100)
  (func (export "br_table_block_first") (param i32 i32) (result i32 i32)
    (block (result i32 i32)
      local.get 1
      local.get 0
      local.get 0
      br_table 0 1)
    i32.add
    i32.const 100)
  (func (export "br_table_consts") (param i32) (result i32 i32 i32)
    (block (result i32 i32 i32)
      i32.const 7
      i32.const 8
      i32.const 9
      local.get 0
      br_table 1 0)
    i32.add
    i32.add
    i32.const 100
    i32.const 200)
)
