;; _start -> $middle -> $inner -> unreachable: a trap with a three-frame named backtrace.
(module $trapper
  (memory (export "memory") 1)
  (func $inner (unreachable))
  (func $middle (call $inner))
  (func (export "_start") (call $middle)))
