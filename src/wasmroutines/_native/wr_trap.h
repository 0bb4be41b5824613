/* wr_trap.h: the one list of traps. 0 means no trap. Messages are worded as
 * the WebAssembly spec test suite words them, so the runner can compare. */
#ifndef WR_TRAP_H
#define WR_TRAP_H

/* X(enum name, message)
 *
 * WR_TRAP_UNCAUGHT_EXCEPTION is no trap to wasm (try_table catches exceptions,
 * never traps): it is how an exception no handler caught leaves wasm for the
 * host, which finds the exception in the thread (wr_exec.h, `exn`). */
#define WR_TRAP_LIST(X)                                                 \
    X(WR_TRAP_NONE, "no trap")                                          \
    X(WR_TRAP_UNREACHABLE, "unreachable")                               \
    X(WR_TRAP_MEMORY_OOB, "out of bounds memory access")                \
    X(WR_TRAP_DIV_ZERO, "integer divide by zero")                       \
    X(WR_TRAP_INT_OVERFLOW, "integer overflow")                         \
    X(WR_TRAP_INVALID_CONVERSION, "invalid conversion to integer")      \
    X(WR_TRAP_INDIRECT_TYPE, "indirect call type mismatch")             \
    X(WR_TRAP_UNDEFINED_ELEMENT, "undefined element")                   \
    X(WR_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element")           \
    X(WR_TRAP_TABLE_OOB, "out of bounds table access")                  \
    X(WR_TRAP_NULL_REFERENCE, "null reference")                         \
    X(WR_TRAP_STACK_EXHAUSTED, "call stack exhausted")                  \
    X(WR_TRAP_UNALIGNED_ATOMIC, "unaligned atomic")                     \
    X(WR_TRAP_EXPECTED_SHARED, "expected shared memory")                \
    X(WR_TRAP_OUT_OF_MEMORY, "out of memory")                          \
    X(WR_TRAP_NULL_FUNC_REF, "null function reference")               \
    X(WR_TRAP_NULL_EXNREF, "null exception reference")                  \
    X(WR_TRAP_NULL_I31, "null i31 reference")                           \
    X(WR_TRAP_CAST_FAILURE, "cast failure")                             \
    X(WR_TRAP_NULL_STRUCT, "null structure reference")                  \
    X(WR_TRAP_NULL_ARRAY, "null array reference")                       \
    X(WR_TRAP_ARRAY_OOB, "out of bounds array access")                  \
    X(WR_TRAP_GC_HEAP, "GC heap limit exceeded (the store's max_gc_bytes) or out of memory") \
    X(WR_TRAP_UNCAUGHT_EXCEPTION, "uncaught exception")

typedef enum wr_trap {
#define WR_TRAP_ENUM(name, msg) name,
    WR_TRAP_LIST(WR_TRAP_ENUM)
#undef WR_TRAP_ENUM
        WR_TRAP_COUNT
} wr_trap;

const char *wr_trap_message(int trap);

#endif /* WR_TRAP_H */
