/* wr_code.h: the internal code that wr_translate.c produces and wr_interp.c
 * runs.
 *
 * Code is an array of 32-bit words. Each instruction is one op word followed
 * by its operands, in the order the instruction's definition lists them
 * (insns/NAME.def): input slots, output slots, then immediates. The op word is
 * what wr_interp_op_word() returns: a label offset for computed-goto dispatch
 * or the op number for the switch fallback. Nothing else depends on which.
 * A sequence op (insns/fused.def, `seq`) in place of an instruction's op
 * word runs that instruction and the ones after it, which keep their own op
 * words (docs/interpreter.md).
 *
 * Frame layout (slots are 64-bit; a v128 takes two):
 *
 *   fp[0 .. param_slots)                  parameters (the caller wrote them)
 *   fp[param_slots .. local_slots)        declared locals, zeroed on entry
 *   fp[local_slots .. local_slots+nconsts) constants, copied in on entry
 *   fp[stack_base .. frame_slots)         the operand stack, stack_base =
 *                                         local_slots + nconsts
 *
 * Every operand on the wasm operand stack at height h (in slots) lives in
 * fp[stack_base + h] unless the translator proved it can read the value
 * straight from a local or constant slot, in which case the operand word
 * names that slot instead (local.get and i32.const cost nothing).
 *
 * Calls: the caller leaves the arguments in consecutive slots fp[b ..] and
 * the callee's frame starts there (callee fp = caller fp + b); results come
 * back in the same place. So a call copies nothing.
 *
 * Branch targets are signed word offsets relative to the op word of the
 * branching instruction.
 */
#ifndef WR_CODE_H
#define WR_CODE_H

#include <stdint.h>

typedef uint32_t wr_word;

/* Map from a code position to the wasm bytecode offset it came from, for
 * backtraces. Sorted by `word`. */
typedef struct wr_code_loc {
    uint32_t word;   /* index of an op word in wr_code.words */
    uint32_t offset; /* byte offset of the wasm instruction in the module */
} wr_code_loc;

/* Exception handling: one catch clause of a try_table. The unwinder
 * (wr_interp.c, do_throw) writes the label's values (the payload for `catch`
 * and `catch_ref`, then the exnref for the _ref kinds) to fp[dst ..] of the
 * frame the handler belongs to and goes on at word `target`, or returns from
 * that frame when the label is the function's (`ret`). */
enum { WR_CATCH = 0, WR_CATCH_REF = 1, WR_CATCH_ALL = 2, WR_CATCH_ALL_REF = 3 }; /* as encoded */

typedef struct wr_catch {
    uint8_t kind;    /* WR_CATCH .. WR_CATCH_ALL_REF */
    uint8_t ret;     /* the label is the function's: the values are its results */
    uint32_t tag;    /* WR_CATCH, WR_CATCH_REF: the tag's index in the module */
    uint32_t dst;    /* the label's first slot */
    uint32_t target; /* where the handler goes on (a word index), unless ret */
} wr_catch;

/* A try_table: the words of its body, [start, end), and its clauses,
 * catches[first .. first + count), tried in order. A function's handlers
 * are listed innermost first (in the order their try_tables end), so the
 * first one whose body holds a code position is the innermost there. */
typedef struct wr_handler {
    uint32_t start, end;
    uint32_t first, count;
} wr_handler;

typedef struct wr_code {
    wr_word *words;
    uint32_t nwords;
    uint32_t param_slots;
    uint32_t local_slots; /* params + declared locals */
    uint32_t nconsts;
    uint32_t frame_slots; /* whole frame: locals, constants, max stack */
    uint64_t *consts;     /* nconsts slot values */
    /* What a call writes above the parameters: zeros for the declared locals,
     * then the constants (init_slots = local_slots - param_slots + nconsts),
     * so the dispatch loop sets a frame up with one short copy. */
    uint64_t *init;
    uint32_t init_slots;
    uint32_t nlocs;
    wr_code_loc *locs;
    /* Exception handlers (try_tables), read only when an exception is thrown. */
    uint32_t nhandlers;
    wr_handler *handlers;
    wr_catch *catches;
    /* The frame's GC roots by code position (wr_stackmap.h); NULL when it never has any. */
    struct wr_stackmap *stackmap;
} wr_code;

void wr_code_free(wr_code *code);

/* Wasm byte offset of the instruction at word index `word` (0 if unknown). */
uint32_t wr_code_offset_at(const wr_code *code, uint32_t word);

#endif /* WR_CODE_H */
