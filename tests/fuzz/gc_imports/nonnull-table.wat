;; fuzz_run's stubs: a table of non-nullable function references has none: not instantiated, counted.
(module
  (type $f (func))
  (import "m" "t" (table 1 (ref $f))))
