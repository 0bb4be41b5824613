/* wr_translate.c: validate each function body and translate it, in the same
 * single pass, into internal code (wr_code.h).
 *
 * The validator's operand stack doubles as the translator's register
 * allocator: every entry knows its type, its positional slot (where a value
 * at that height lives) and its source slot (where the value actually is
 * right now). local.get and constants push entries whose source is the
 * local's or the constant's slot, so they emit no code; an entry is
 * "materialized" (copied to its positional slot) only where control flow or
 * a call needs values in fixed places:
 *   - block/loop/if entry: every pending local reference on the whole stack
 *     (code inside may run conditionally and set the local), and the block's
 *     params;
 *   - local.set/tee of L: pending references to L;
 *   - calls: the arguments (the callee's frame starts at the first one);
 *   - block ends: the results.
 * Branches copy their values straight to the target's slots.
 *
 * Slots are encoded with a tag while translating (the constant area's size
 * and so the operand stack's base are known only at the end) and rewritten
 * by `finish` through the list of slot operand words.
 *
 * No recursion: nesting lives in the explicit control stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_code.h"
#include "wr_exec.h"
#include "wr_insn_gen.h"
#include "wr_module.h"
#include "wr_reader.h"
#include "wr_stackmap.h"

#define UNKNOWN_TYPE 0 /* the bottom type of unreachable code */
/* (ref bot): a reference of unknown heap type in unreachable code (ref.as_non_null of UNKNOWN_TYPE), which
 * matches every reference type and no number type. */
#define BOT_REF (WR_HT_BOT | WR_REF_NONNULL)

#define TAG_MASK 0xC0000000u
#define TAG_LOCAL 0x00000000u
#define TAG_CONST 0x40000000u
#define TAG_STACK 0x80000000u
#define MAX_INDEX 0x3FFFFFFFu

#define MAX_FUNC_WORDS (1u << 28)
#define MAX_STACK_SLOTS (1u << 24)

typedef struct entry {
    wr_valtype type;
    uint32_t src; /* tagged slot holding the value now */
    uint32_t pos; /* tagged positional slot (TAG_STACK | height) */
} entry;

/* Where an instruction starts and which op it is, for the final pass that
 * fuses sequences (fuse_sequences). */
typedef struct insn_at {
    uint32_t start;
    uint16_t op;
    bool label; /* a branch may arrive here */
} insn_at;

typedef struct patch {
    uint32_t field; /* word holding the relative target (a catch clause's index when op is CATCH_PATCH) */
    uint32_t op;    /* op word it is relative to */
} patch;

/* A patch whose field is a catch clause (tr.catches), which gets the label's word index itself. */
#define CATCH_PATCH UINT32_MAX

enum { CTL_FUNC, CTL_BLOCK, CTL_LOOP, CTL_IF, CTL_ELSE };
enum { HEAD_OPEN, HEAD_FOUND, HEAD_NONE };

typedef struct ctrl {
    uint8_t kind;
    bool unreachable; /* the rest of this block is dead (after br, return, ...) */
    bool dead;        /* the block began in dead code: emit nothing */
    uint32_t nparams, nresults;
    const wr_valtype *params, *results;
    wr_valtype inline_type; /* storage for a single-result block type */
    uint32_t height;     /* operand stack entries below the block */
    uint32_t hslots;     /* and their slots */
    uint32_t label;      /* loop: word index of the loop header */
    uint32_t else_patch; /* if: the br_unless op word, and its target field */
    uint32_t else_field;
    bool has_else_patch;
    uint32_t insn_start; /* loop: instruction count at the header */
    uint32_t init_height; /* tr.inits entries below the block: locals set inside it are unset at its end */
    /* loop: its head, the straight-line code from the header through the
     * first branch, when that branch leaves the loop (rotate_loop). */
    uint8_t head;         /* HEAD_OPEN, HEAD_FOUND or HEAD_NONE */
    uint32_t head_insn;   /* index in tr.insns of the head's first instruction */
    uint32_t head_fix;    /* index in tr.fix of its first slot word */
    uint32_t head_branch; /* index in tr.insns of the exit branch */
    uint32_t head_body;   /* word index after the exit branch: the body */
    uint32_t head_exit;   /* index in tr.ctl of the exit branch's target */
    uint16_t head_back;   /* the exit test inverted, branching back (br_unless_back*) */
    /* try_table (a block otherwise): where its body's code starts, and its catch clauses in tr.catches. */
    bool is_try;
    uint32_t try_start, try_first, try_count;
    patch *patches;      /* forward branches (block/if) or back-edges' cost words (loop) */
    uint32_t npatches, cap_patches;
} ctrl;

typedef struct tr {
    wr_module *m;
    wr_error *err;
    wr_reader r;
    uint32_t func_index;
    const wr_functype *ft;
    /* locals: params then declared */
    uint32_t nlocals;
    wr_valtype *local_types;
    uint32_t *local_slot;
    uint32_t local_slots;
    /* Non-defaultable locals (non-nullable references) must be set before
     * they are read, and a set inside a block counts until the block's end
     * (the spec's local initialization): a flag per local, and the locals
     * set since, as a stack the control stack cuts back. */
    bool *local_set;
    uint32_t *inits;
    uint32_t ninits, cap_inits;
    wr_typectx cx; /* how the module's types compare */
    /* operand stack */
    entry *stk;
    uint32_t nstk, cap_stk;
    uint32_t hslots, max_hslots;
    uint32_t npending; /* entries whose source is a local */
    /* control stack */
    ctrl *ctl;
    uint32_t nctl, cap_ctl;
    /* output */
    wr_word *code;
    uint32_t ncode, cap_code;
    uint32_t *fix;
    uint32_t nfix, cap_fix;
    uint64_t *consts;
    uint32_t nconsts, cap_consts;
    wr_code_loc *locs;
    uint32_t nlocs, cap_locs;
    wr_catch *catches; /* try_tables' catch clauses, and their handlers (wr_code.h) */
    uint32_t ncatches, cap_catches;
    wr_handler *handlers;
    uint32_t nhandlers, cap_handlers;
    insn_at *insns; /* every instruction emitted, in order */
    uint32_t ninsns, cap_insns;
    uint32_t label_at; /* the word index of the last label */
    uint32_t insn_count;
    /* The output slot word of the last instruction and where it ended, so a
     * following local.set can retarget it instead of copying. */
    uint32_t last_out_word, last_end;
    uint32_t last_op, last_op_start; /* that instruction, for fusing it with a branch */
    bool oom;
    /* Stack maps (wr_stackmap.h): the roots at each instruction and call; spill_locals updates them once. */
    wr_sm_builder sm;
    bool sm_lazy;
    uint32_t sm_from;
} tr;

/* ---- errors ---- */

#define CHECK(x)                                                                                                 \
    do {                                                                                                         \
        if ((x) != 0)                                                                                            \
            return -1;                                                                                           \
    } while (0)

static int invalid(tr *t, const char *msg)
{
    wr_error_set(t->err, WR_ERR_INVALID, wr_reader_offset(&t->r), "%s", msg);
    return -1;
}

static int malformed(tr *t, const char *msg)
{
    wr_error_set(t->err, WR_ERR_MALFORMED, wr_reader_offset(&t->r), "%s", msg);
    return -1;
}

static int read_fail(tr *t, int rc);

/* A value or heap type just read (wr_read_valtype's result): a byte that is
 * none (malformed), or an unknown type index. */
static int check_valtype(tr *t, int rc, wr_valtype vt, const char *malformed_msg)
{
    if (rc == WR_VT_MALFORMED)
        return malformed(t, malformed_msg);
    if (rc)
        return read_fail(t, rc);
    wr_module_note_valtype(t->m, vt, wr_reader_offset(&t->r) - 1, malformed_msg);
    if (wr_valtype_is_concrete(vt) && wr_valtype_index(vt) >= t->m->ntypes)
        return invalid(t, "unknown type");
    return 0;
}

/* Exception handling (one of its instructions at the byte just read): noted for the feature check, with what a
 * 2.0 decoder says there (its value types: wr_module_note_valtype). */
static void note_exn(tr *t, const char *malformed_msg)
{
    wr_module_note_exn(t->m, wr_reader_offset(&t->r) - 1, malformed_msg);
}

static int read_fail(tr *t, int rc)
{
    wr_reader_fail(&t->r, rc, t->err);
    return -1;
}

static int oom(tr *t)
{
    t->oom = true;
    wr_error_set(t->err, WR_ERR_RESOURCE, wr_reader_offset(&t->r), "out of memory translating function %u",
                 t->func_index);
    return -1;
}

#define READ(call)                                                                                               \
    do {                                                                                                         \
        int rc_ = (call);                                                                                        \
        if (rc_)                                                                                                 \
            return read_fail(t, rc_);                                                                            \
    } while (0)

static int grow(tr *t, void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > UINT32_MAX / 2)
            return oom(t);
        ncap *= 2;
    }
    void *np = realloc(*p, (size_t)ncap * elem);
    if (!np)
        return oom(t);
    *p = np;
    *cap = ncap;
    return 0;
}

/* ---- emitting ---- */

static ctrl *top_ctrl(tr *t) { return &t->ctl[t->nctl - 1]; }

static bool emitting(tr *t)
{
    ctrl *c = top_ctrl(t);
    return !c->unreachable && !c->dead;
}

static int emit_word(tr *t, wr_word w)
{
    if (t->ncode >= MAX_FUNC_WORDS)
        return invalid(t, "function too large");
    CHECK(grow(t, (void **)&t->code, &t->cap_code, t->ncode + 1, sizeof(wr_word)));
    t->code[t->ncode++] = w;
    return 0;
}

/* Start an instruction: its op word. Returns the op word's index. */
static int emit_op(tr *t, unsigned op, uint32_t *at)
{
    uint32_t idx = t->ncode;
    CHECK(emit_word(t, wr_interp_op_word(op)));
    CHECK(grow(t, (void **)&t->insns, &t->cap_insns, t->ninsns + 1, sizeof(insn_at)));
    t->insns[t->ninsns].start = idx;
    t->insns[t->ninsns].op = (uint16_t)op;
    t->insns[t->ninsns].label = idx == t->label_at;
    t->ninsns++;
    /* Every op is recorded, so a fusion (emit_cond_branch) always sees the
     * instruction that last_end belongs to. */
    t->last_op = op;
    t->last_op_start = idx;
    wr_smb_point(&t->sm, idx);
    if (at)
        *at = idx;
    return 0;
}

static int emit_slot(tr *t, uint32_t tagged)
{
    CHECK(grow(t, (void **)&t->fix, &t->cap_fix, t->nfix + 1, sizeof(uint32_t)));
    t->fix[t->nfix++] = t->ncode;
    return emit_word(t, tagged);
}

static int add_loc(tr *t, uint32_t offset)
{
    if (t->nlocs && t->locs[t->nlocs - 1].word == t->ncode) {
        t->locs[t->nlocs - 1].offset = offset;
        return 0;
    }
    CHECK(grow(t, (void **)&t->locs, &t->cap_locs, t->nlocs + 1, sizeof(wr_code_loc)));
    t->locs[t->nlocs].word = t->ncode;
    t->locs[t->nlocs].offset = offset;
    t->nlocs++;
    return 0;
}

/* A label is defined here: code may arrive from elsewhere, so the last
 * instruction's output can no longer be retargeted. */
static void mark_label(tr *t)
{
    t->last_end = UINT32_MAX;
    t->label_at = t->ncode;
}

static uint32_t const_slot(tr *t, uint64_t lo, uint64_t hi, bool wide)
{
    /* Reuse a recent identical constant (a bounded scan keeps huge functions linear). */
    uint32_t n = wide ? 2 : 1;
    uint32_t start = t->nconsts > 64 ? t->nconsts - 64 : 0;
    for (uint32_t i = start; i + n <= t->nconsts; i++) {
        if (t->consts[i] == lo && (!wide || t->consts[i + 1] == hi))
            return TAG_CONST | i;
    }
    if (t->nconsts + n > MAX_INDEX || grow(t, (void **)&t->consts, &t->cap_consts, t->nconsts + n, 8))
        return UINT32_MAX;
    uint32_t idx = t->nconsts;
    t->consts[t->nconsts++] = lo;
    if (wide)
        t->consts[t->nconsts++] = hi;
    return TAG_CONST | idx;
}

/* ---- operand stack ---- */

/* Stack maps: the sets through stack entries `from` and up (an entry is a root when materialized and of a
 * collected kind; the entries above it sit on its set). */
static void sm_update(tr *t, uint32_t from)
{
    for (uint32_t i = from; i < t->nstk; i++) {
        const entry *e = &t->stk[i];
        wr_smb_set(&t->sm, i, e->src == e->pos && wr_stackmap_collected(e->type, &t->cx) ? e->pos : WR_SM_NONE);
    }
}

static int push(tr *t, wr_valtype type, uint32_t src)
{
    CHECK(grow(t, (void **)&t->stk, &t->cap_stk, t->nstk + 1, sizeof(entry)));
    uint32_t pos = TAG_STACK | t->hslots;
    entry *e = &t->stk[t->nstk++];
    e->type = type;
    e->pos = pos;
    e->src = src == UINT32_MAX ? pos : src;
    if ((e->src & TAG_MASK) == TAG_LOCAL)
        t->npending++;
    t->hslots += type == WR_V128 ? 2 : 1;
    sm_update(t, t->nstk - 1);
    if (t->hslots > MAX_STACK_SLOTS)
        return invalid(t, "operand stack too deep");
    if (t->hslots > t->max_hslots)
        t->max_hslots = t->hslots;
    return 0;
}

/* Push a value computed into its positional slot. */
static int push_pos(tr *t, wr_valtype type) { return push(t, type, UINT32_MAX); }

static bool type_matches(const tr *t, wr_valtype actual, wr_valtype expected)
{
    return actual == expected || actual == UNKNOWN_TYPE || expected == UNKNOWN_TYPE ||
           wr_valtype_sub(actual, expected, &t->cx);
}

/* Pop one entry, checking its type (UNKNOWN_TYPE accepts any). */
static int pop(tr *t, wr_valtype expected, entry *out)
{
    ctrl *c = top_ctrl(t);
    if (t->nstk == c->height) {
        if (c->unreachable) {
            out->type = expected;
            out->src = out->pos = TAG_STACK | t->hslots;
            return 0;
        }
        return invalid(t, "type mismatch");
    }
    entry e = t->stk[--t->nstk];
    t->hslots -= e.type == WR_V128 ? 2 : 1;
    if ((e.src & TAG_MASK) == TAG_LOCAL)
        t->npending--;
    if (!type_matches(t, e.type, expected))
        return invalid(t, "type mismatch");
    *out = e;
    if (out->type == UNKNOWN_TYPE)
        out->type = expected;
    return 0;
}

static int emit_copy(tr *t, wr_valtype type, uint32_t src, uint32_t dst)
{
    if (src == dst)
        return 0;
    CHECK(emit_op(t, type == WR_V128 ? WR_OP_copy_v128 : WR_OP_copy, NULL));
    CHECK(emit_slot(t, src));
    CHECK(emit_slot(t, dst));
    return 0;
}

static int materialize(tr *t, entry *e)
{
    if (e->src == e->pos)
        return 0;
    if (emitting(t))
        CHECK(emit_copy(t, e->type, e->src, e->pos));
    if ((e->src & TAG_MASK) == TAG_LOCAL)
        t->npending--;
    e->src = e->pos;
    if (wr_stackmap_collected(e->type, &t->cx)) {
        uint32_t i = (uint32_t)(e - t->stk);
        if (!t->sm_lazy)
            sm_update(t, i);
        else if (i < t->sm_from)
            t->sm_from = i;
    }
    return 0;
}

/* Materialize every entry that reads a local (all locals, or only `slot`). */
static int spill_locals(tr *t, uint32_t only_slot)
{
    t->sm_lazy = true; /* the stack maps once, from the lowest entry spilled: linear, however many */
    t->sm_from = UINT32_MAX;
    for (uint32_t i = t->nstk; t->npending && i-- > 0;) {
        entry *e = &t->stk[i];
        if ((e->src & TAG_MASK) == TAG_LOCAL && (only_slot == UINT32_MAX || e->src == only_slot)) {
            if (materialize(t, e) != 0) {
                t->sm_lazy = false;
                return -1;
            }
        }
    }
    t->sm_lazy = false;
    if (t->sm_from != UINT32_MAX)
        sm_update(t, t->sm_from);
    return 0;
}

/* ---- control ---- */

static int push_ctrl(tr *t, uint8_t kind, uint32_t nparams, const wr_valtype *params, uint32_t nresults,
                     const wr_valtype *results)
{
    CHECK(grow(t, (void **)&t->ctl, &t->cap_ctl, t->nctl + 1, sizeof(ctrl)));
    bool dead = t->nctl ? !emitting(t) : false;
    ctrl *c = &t->ctl[t->nctl++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->dead = dead;
    c->nparams = nparams;
    c->params = params;
    c->nresults = nresults;
    c->results = results;
    c->height = t->nstk;
    c->hslots = t->hslots;
    c->insn_start = t->insn_count;
    c->init_height = t->ninits;
    return 0;
}

/* The end of a block (or an else): locals set inside it are unset again. */
static void reset_inits(tr *t, const ctrl *c)
{
    while (t->ninits > c->init_height)
        t->local_set[t->inits[--t->ninits]] = false;
}

static int add_patch(tr *t, ctrl *c, uint32_t field, uint32_t op)
{
    CHECK(grow(t, (void **)&c->patches, &c->cap_patches, c->npatches + 1, sizeof(patch)));
    c->patches[c->npatches].field = field;
    c->patches[c->npatches].op = op;
    c->npatches++;
    return 0;
}

static void set_target(tr *t, uint32_t field, uint32_t op, uint32_t target)
{
    t->code[field] = (wr_word)(int32_t)((int64_t)target - (int64_t)op);
}

/* A single-result block type is stored inline (results == NULL); the
 * control stack may move, so never keep a pointer to inline_type. */
static const wr_valtype *ctrl_results(const ctrl *c) { return c->results ? c->results : &c->inline_type; }
static uint32_t label_arity(const ctrl *c) { return c->kind == CTL_LOOP ? c->nparams : c->nresults; }
static const wr_valtype *label_types(const ctrl *c) { return c->kind == CTL_LOOP ? c->params : ctrl_results(c); }

/* Check the top `n` entries against the label types without popping. */
static int check_label_values(tr *t, const ctrl *target)
{
    uint32_t n = label_arity(target);
    const wr_valtype *types = label_types(target);
    ctrl *c = top_ctrl(t);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t depth = n - 1 - i; /* from the top */
        if (t->nstk - c->height <= depth) {
            if (!c->unreachable)
                return invalid(t, "type mismatch");
            continue;
        }
        if (!type_matches(t, t->stk[t->nstk - 1 - depth].type, types[i]))
            return invalid(t, "type mismatch");
    }
    return 0;
}

/* br_if leaves the label's values on the stack typed as the label says
 * (in unreachable code they may have been missing or of unknown type). */
static int retype_label_values(tr *t, const ctrl *target)
{
    uint32_t n = label_arity(target);
    const wr_valtype *types = label_types(target);
    if (n == 0)
        return 0;
    entry *tmp = malloc((size_t)n * sizeof(entry));
    if (!tmp)
        return oom(t);
    int rc = 0;
    for (uint32_t i = n; i-- > 0 && rc == 0;)
        rc = pop(t, types[i], &tmp[i]);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = push(t, types[i], tmp[i].src == tmp[i].pos ? UINT32_MAX : tmp[i].src);
    free(tmp);
    return rc;
}

/* Copy the top label-arity values to the label's slots (forward order is
 * safe: see the header comment of wr_code.h and the translator notes). */
static int emit_label_copies(tr *t, const ctrl *target)
{
    uint32_t n = label_arity(target);
    const wr_valtype *types = label_types(target);
    uint32_t dst = target->hslots;
    for (uint32_t i = 0; i < n; i++) {
        entry *e = &t->stk[t->nstk - n + i];
        CHECK(emit_copy(t, types[i], e->src, TAG_STACK | dst));
        dst += types[i] == WR_V128 ? 2 : 1;
    }
    return 0;
}

static bool label_needs_copies(tr *t, const ctrl *target)
{
    uint32_t n = label_arity(target);
    const wr_valtype *types = label_types(target);
    uint32_t dst = target->hslots;
    for (uint32_t i = 0; i < n; i++) {
        if (t->stk[t->nstk - n + i].src != (TAG_STACK | dst))
            return true;
        dst += types[i] == WR_V128 ? 2 : 1;
    }
    return false;
}

/* A return's result may read a slot that an earlier result's copy overwrites:
 * results go to slots 0.., which hold the locals and, in a frame with fewer
 * local slots than result slots, the first constants. */
static bool return_clobbers(const tr *t, const entry *e, uint32_t rslots)
{
    if ((e->src & TAG_MASK) == TAG_LOCAL)
        return e->src < rslots;
    return (e->src & TAG_MASK) == TAG_CONST && t->local_slots + (e->src & ~TAG_MASK) < rslots;
}

/* Return: results go to fp[0 ..]. A source that a result copy could clobber
 * is first copied to the entry's own stack slot. The entries are left as
 * they are: a return may be conditional (br_if, br_table), and the path that
 * does not take it still reads the value from its source. */
static int emit_return(tr *t)
{
    uint32_t n = t->ft->nresults;
    const wr_valtype *types = wr_functype_results(t->ft);
    uint32_t rslots = t->ft->result_slots;
    for (uint32_t i = 0; i < n; i++) {
        entry *e = &t->stk[t->nstk - n + i];
        if (return_clobbers(t, e, rslots))
            CHECK(emit_copy(t, types[i], e->src, e->pos));
    }
    uint32_t dst = 0;
    for (uint32_t i = 0; i < n; i++) {
        entry *e = &t->stk[t->nstk - n + i];
        CHECK(emit_copy(t, types[i], return_clobbers(t, e, rslots) ? e->pos : e->src, TAG_LOCAL | dst));
        dst += types[i] == WR_V128 ? 2 : 1;
    }
    return emit_op(t, WR_OP_return, NULL);
}

/* Emit an unconditional branch to `target` (values already copied). */
static int emit_jump(tr *t, ctrl *target)
{
    uint32_t op;
    if (target->kind == CTL_LOOP) {
        CHECK(emit_op(t, WR_OP_br_back, &op));
        CHECK(emit_word(t, 0));
        set_target(t, op + 1, op, target->label);
        CHECK(emit_word(t, 0)); /* cost, patched at the loop's end */
        return add_patch(t, target, op + 2, op);
    }
    CHECK(emit_op(t, WR_OP_br, &op));
    CHECK(emit_word(t, 0));
    return add_patch(t, target, op + 1, op);
}

static void set_unreachable(tr *t)
{
    ctrl *c = top_ctrl(t);
    /* Drop the block's operands: pending-local bookkeeping included. */
    while (t->nstk > c->height) {
        entry *e = &t->stk[--t->nstk];
        t->hslots -= e->type == WR_V128 ? 2 : 1;
        if ((e->src & TAG_MASK) == TAG_LOCAL)
            t->npending--;
    }
    c->unreachable = true;
}

static int read_blocktype(tr *t, ctrl *tmp)
{
    int64_t bt;
    READ(wr_read_sleb(&t->r, 33, &bt));
    tmp->nparams = tmp->nresults = 0;
    tmp->params = tmp->results = NULL;
    if (bt == -64)
        return 0;
    if (bt < 0) {
        uint8_t bad = 0;
        wr_valtype vt = 0;
        int rc = wr_read_valtype_from(&t->r, (uint8_t)(bt & 0x7F), &vt, &bad);
        CHECK(check_valtype(t, rc, vt, "malformed value type"));
        tmp->inline_type = vt;
        tmp->nresults = 1;
        return 0;
    }
    if ((uint64_t)bt >= t->m->ntypes)
        return invalid(t, "unknown type");
    const wr_functype *ft = wr_module_functype(t->m, (uint32_t)bt);
    if (!ft)
        return invalid(t, "type mismatch: not a function type");
    tmp->nparams = ft->nparams;
    tmp->params = wr_functype_params(ft);
    tmp->nresults = ft->nresults;
    tmp->results = wr_functype_results(ft);
    return 0;
}

/* Enter block/loop/if: check and materialize the params, then open the
 * block with them pushed back at their positions. */
static int enter_block(tr *t, uint8_t kind, const ctrl *bt)
{
    ctrl *c = top_ctrl(t);
    uint32_t np = bt->nparams;
    if (emitting(t)) {
        CHECK(spill_locals(t, UINT32_MAX));
        uint32_t avail = t->nstk - c->height;
        for (uint32_t i = 0; i < np && i < avail; i++)
            CHECK(materialize(t, &t->stk[t->nstk - 1 - i]));
    }
    for (uint32_t i = np; i-- > 0;) {
        entry e;
        CHECK(pop(t, bt->params[i], &e));
    }
    CHECK(push_ctrl(t, kind, bt->nparams, bt->params, bt->nresults, bt->results));
    top_ctrl(t)->inline_type = bt->inline_type;
    for (uint32_t i = 0; i < np; i++)
        CHECK(push_pos(t, bt->params[i]));
    return 0;
}

/* ---- locals and setup ---- */

static int setup_locals(tr *t, const wr_func_def *fd)
{
    uint32_t np = t->ft->nparams;
    uint64_t n = (uint64_t)np + fd->nlocals;
    if (n > MAX_INDEX)
        return invalid(t, "too many locals");
    t->nlocals = (uint32_t)n;
    t->local_types = malloc((n ? n : 1) * sizeof *t->local_types);
    t->local_slot = malloc((n ? n : 1) * sizeof(uint32_t));
    t->local_set = calloc(n ? n : 1, sizeof *t->local_set);
    if (!t->local_types || !t->local_slot || !t->local_set)
        return oom(t);
    uint32_t k = 0, slot = 0;
    for (uint32_t i = 0; i < np; i++, k++) {
        t->local_types[k] = wr_functype_params(t->ft)[i];
        t->local_set[k] = true; /* parameters are set by the caller */
        t->local_slot[k] = slot;
        if (wr_stackmap_collected(t->local_types[k], &t->cx))
            wr_smb_local(&t->sm, TAG_LOCAL | slot);
        slot += wr_valtype_slots(t->local_types[k]);
    }
    for (uint32_t r = 0; r < fd->nlocal_runs; r++) {
        for (uint32_t j = 0; j < fd->local_runs[r].count; j++, k++) {
            t->local_types[k] = fd->local_runs[r].type;
            t->local_slot[k] = slot;
            if (wr_stackmap_collected(t->local_types[k], &t->cx))
                wr_smb_local(&t->sm, TAG_LOCAL | slot);
            slot += wr_valtype_slots(t->local_types[k]);
        }
    }
    if (slot > MAX_INDEX)
        return invalid(t, "too many locals");
    t->local_slots = slot;
    return 0;
}

/* ---- block ends ---- */

/* Pop and check the block's results; leave them materialized. */
static int check_block_end(tr *t, ctrl *c)
{
    const wr_valtype *res = ctrl_results(c);
    if (emitting(t)) {
        uint32_t avail = t->nstk - c->height;
        for (uint32_t i = 0; i < c->nresults && i < avail; i++)
            CHECK(materialize(t, &t->stk[t->nstk - 1 - i]));
    }
    for (uint32_t i = c->nresults; i-- > 0;) {
        entry e;
        CHECK(pop(t, res[i], &e));
    }
    if (t->nstk != c->height)
        return invalid(t, "type mismatch");
    return 0;
}

static int patch_forward(tr *t, ctrl *c, uint32_t target)
{
    for (uint32_t i = 0; i < c->npatches; i++) {
        if (c->patches[i].op == CATCH_PATCH)
            t->catches[c->patches[i].field].target = target;
        else
            set_target(t, c->patches[i].field, c->patches[i].op, target);
    }
    c->npatches = 0;
    return 0;
}

static int op_else(tr *t)
{
    ctrl *c = top_ctrl(t);
    if (c->kind != CTL_IF)
        return invalid(t, "else without if"); /* REVISIT: the spec suite words this as malformed text */
    bool reach = emitting(t);
    CHECK(check_block_end(t, c));
    if (reach && !c->dead) {
        uint32_t op;
        CHECK(emit_op(t, WR_OP_br, &op));
        CHECK(emit_word(t, 0));
        CHECK(add_patch(t, c, op + 1, op));
    }
    if (c->has_else_patch) {
        set_target(t, c->else_field, c->else_patch, t->ncode);
        c->has_else_patch = false;
    }
    mark_label(t);
    reset_inits(t, c);
    c->kind = CTL_ELSE;
    c->unreachable = false;
    for (uint32_t i = 0; i < c->nparams; i++)
        CHECK(push_pos(t, c->params[i]));
    return 0;
}

static int op_end(tr *t, bool *done)
{
    ctrl *c = top_ctrl(t);
    if (c->kind == CTL_FUNC) {
        /* The function's end: return if reachable. */
        if (emitting(t)) {
            if (t->nstk - c->height != c->nresults)
                return invalid(t, "type mismatch");
            CHECK(check_label_values(t, c));
            CHECK(emit_return(t));
            set_unreachable(t);
        }
        CHECK(check_block_end(t, c));
        *done = true;
        return 0;
    }
    if (c->kind == CTL_IF && c->nparams == c->nresults) {
        /* An if without else is an identity else: params must equal results. */
        for (uint32_t i = 0; i < c->nparams; i++)
            if (!wr_valtype_sub(c->params[i], ctrl_results(c)[i], &t->cx))
                return invalid(t, "type mismatch");
    } else if (c->kind == CTL_IF) {
        return invalid(t, "type mismatch");
    }
    CHECK(check_block_end(t, c));
    if (c->is_try) {
        /* The try_table's handler: its body's words, innermost first since inner ones end first. */
        CHECK(grow(t, (void **)&t->handlers, &t->cap_handlers, t->nhandlers + 1, sizeof(wr_handler)));
        c = top_ctrl(t);
        t->handlers[t->nhandlers++] = (wr_handler){c->try_start, t->ncode, c->try_first, c->try_count};
    }
    if (c->kind == CTL_LOOP) {
        uint32_t cost = t->insn_count - c->insn_start;
        if (cost == 0)
            cost = 1;
        for (uint32_t i = 0; i < c->npatches; i++)
            t->code[c->patches[i].field] = cost;
    } else {
        patch_forward(t, c, t->ncode);
        if (c->has_else_patch)
            set_target(t, c->else_field, c->else_patch, t->ncode);
    }
    mark_label(t);
    reset_inits(t, c);
    const wr_valtype *res = ctrl_results(c);
    uint32_t nres = c->nresults;
    wr_valtype inl = c->inline_type;
    const wr_valtype *types = c->results ? res : &inl;
    free(c->patches);
    t->nctl--;
    for (uint32_t i = 0; i < nres; i++)
        CHECK(push_pos(t, types[i]));
    return 0;
}

/* ---- branches ---- */

static int get_label(tr *t, uint32_t *depth_out, ctrl **out)
{
    uint32_t depth;
    READ(wr_read_u32(&t->r, &depth));
    if (depth >= t->nctl)
        return invalid(t, "unknown label");
    *depth_out = depth;
    *out = &t->ctl[t->nctl - 1 - depth];
    return 0;
}

/* Emit the taken path of a branch to `target`: copies, then the jump (or a
 * return, for the function's label). */
static int emit_branch(tr *t, ctrl *target)
{
    if (target->kind == CTL_FUNC)
        return emit_return(t);
    CHECK(emit_label_copies(t, target));
    return emit_jump(t, target);
}

/* The accumulator variant of `op` when its first input `in0` is the value
 * the instruction just emitted computed (it is still in the accumulator, of
 * the same type), read from that instruction's output slot; otherwise `op`. */
static unsigned with_acc(const tr *t, unsigned op, const entry *in0)
{
    /* The slot the last instruction wrote: its positional slot, or a local
     * when a local.set/tee retargeted it (the value is in the accumulator
     * either way). */
    if (t->ncode == t->last_end && t->code[t->last_out_word] == in0->src &&
        wr_op_acc[op] && wr_op_acc_out[t->last_op] && wr_op_acc_out[t->last_op] == wr_op_in0[op])
        return wr_op_acc[op];
    return op;
}

/* Emit the op word and condition operands of br_if / br_unless /
 * br_if_back (`op`) for condition `cond`. When the instruction just emitted
 * computed `cond` and has a fused form with `op` (insns/fused.def), replace
 * it: the fused op reads the comparison's inputs instead. Returns the op
 * word's index in *at; the caller emits the immediates. */
static int emit_cond_branch(tr *t, const entry *cond, unsigned op, uint32_t *at, unsigned *fused_cmp)
{
    unsigned fused = 0;
    if (fused_cmp)
        *fused_cmp = 0;
    if (t->ncode == t->last_end && cond->src == cond->pos && t->code[t->last_out_word] == cond->pos) {
        /* Fuse with the comparison's plain form; if it read the accumulator,
         * so does the fused op (the comparison's input is still there). */
        fused = wr_fuse(wr_op_acc_base[t->last_op], op);
        if (fused && fused_cmp)
            *fused_cmp = t->last_op;
        if (fused && t->last_op != wr_op_acc_base[t->last_op])
            fused = wr_op_acc[fused];
    }
    if (!fused) {
        CHECK(emit_op(t, op, at));
        return emit_slot(t, cond->src);
    }
    uint32_t start = t->last_op_start;
    uint32_t nin = wr_op_size[t->last_op] - 2; /* inputs, then the one output */
    uint32_t in[3];
    for (uint32_t i = 0; i < nin; i++)
        in[i] = t->code[start + 1 + i];
    /* Drop the comparison: its words, slot fixups and any loc past it. */
    t->ncode = start;
    while (t->ninsns && t->insns[t->ninsns - 1].start >= start)
        t->ninsns--;
    while (t->nfix && t->fix[t->nfix - 1] >= start)
        t->nfix--;
    while (t->nlocs && t->locs[t->nlocs - 1].word > start)
        t->nlocs--;
    t->last_end = UINT32_MAX;
    CHECK(emit_op(t, fused, at));
    for (uint32_t i = 0; i < nin; i++)
        CHECK(emit_slot(t, in[i]));
    return 0;
}

/* ---- loop rotation ----
 *
 * Handwritten and some compiled loops test their exit at the top and jump
 * back at the bottom:
 *
 *     loop  HEAD; br_if EXIT  BODY  br LOOP  end
 *
 * which runs two branches per iteration. The bottom's `br` is replaced by a
 * copy of HEAD and the exit test inverted, branching back to BODY (the
 * back-edge charges the slice as any other), then a jump to EXIT:
 *
 *     loop  HEAD; br_if EXIT  BODY  HEAD; br_unless_back BODY  br EXIT
 *
 * HEAD is straight-line code (no instruction that branches, calls or
 * returns), so running it at the bottom reads the same slots it would at the
 * top: locals, constants, and operand stack slots above the loop's, which are
 * free at a `br` to the loop. The copy's instructions report the same wasm
 * offsets for traps. */

/* The loop's first branch is a br_if just emitted at `op_word`: see whether
 * it makes the loop's head. `cmp` is the comparison fused into it, if any. */
static void note_loop_head(tr *t, const ctrl *target, unsigned cmp)
{
    ctrl *c = top_ctrl(t);
    if (c->kind != CTL_LOOP || c->head != HEAD_OPEN)
        return;
    c->head = HEAD_NONE;
    if (c->nparams != 0 || target == c || target->kind == CTL_FUNC || target->kind == CTL_LOOP ||
        label_arity(target) != 0)
        return;
    uint32_t branch = t->ninsns - 1;
    for (uint32_t i = c->head_insn; i < branch; i++)
        if (!wr_op_falls_through[t->insns[i].op])
            return;
    unsigned back = WR_OP_br_unless_back;
    if (cmp) {
        back = wr_fuse(wr_op_acc_base[cmp], WR_OP_br_unless_back);
        if (back && cmp != wr_op_acc_base[cmp])
            back = wr_op_acc[back];
    }
    if (!back)
        return;
    c->head = HEAD_FOUND;
    c->head_branch = branch;
    c->head_body = t->ncode;
    c->head_exit = (uint32_t)(target - t->ctl);
    c->head_back = (uint16_t)back;
    t->label_at = t->ncode; /* the body: the rotated back-edge arrives here */
}

/* The wasm offset recorded for code word `word` (the last loc at or before it). */
static uint32_t loc_offset(const tr *t, uint32_t word)
{
    uint32_t lo = 0, hi = t->nlocs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->locs[mid].word <= word)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? t->locs[lo - 1].offset : 0;
}

/* Copy words [from, to) of the head to the end of the code; slot words (those
 * in the fixup list from *fix on) are copied as slots. */
static int copy_head_words(tr *t, uint32_t from, uint32_t to, uint32_t *fix)
{
    for (uint32_t w = from; w < to; w++) {
        while (*fix < t->nfix && t->fix[*fix] < w)
            (*fix)++;
        if (*fix < t->nfix && t->fix[*fix] == w)
            CHECK(emit_slot(t, t->code[w]));
        else
            CHECK(emit_word(t, t->code[w]));
    }
    return 0;
}

/* The bottom of a rotated loop, in place of `br` to loop `c` (HEAD_FOUND). */
static int rotate_loop(tr *t, ctrl *c)
{
    uint32_t fix = c->head_fix;
    for (uint32_t i = c->head_insn; i < c->head_branch; i++) {
        uint32_t start = t->insns[i].start;
        CHECK(add_loc(t, loc_offset(t, start)));
        t->sm.pre = wr_smb_point_at(&t->sm, start); /* the copy runs with the roots the head has at the top */
        CHECK(emit_op(t, t->insns[i].op, NULL));
        CHECK(copy_head_words(t, start + 1, start + wr_op_size[t->insns[i].op], &fix));
    }
    uint32_t start = t->insns[c->head_branch].start;
    uint32_t nin = wr_op_size[t->insns[c->head_branch].op] - 2; /* inputs, then the target */
    uint32_t op;
    CHECK(add_loc(t, loc_offset(t, start)));
    t->sm.pre = wr_smb_point_at(&t->sm, start);
    CHECK(emit_op(t, c->head_back, &op));
    CHECK(copy_head_words(t, start + 1, start + 1 + nin, &fix));
    CHECK(emit_word(t, 0));
    set_target(t, op + 1 + nin, op, c->head_body);
    CHECK(emit_word(t, 0)); /* cost, patched at the loop's end */
    CHECK(add_patch(t, c, op + 2 + nin, op));
    t->last_end = UINT32_MAX;
    return emit_jump(t, &t->ctl[c->head_exit]);
}

static int op_br(tr *t)
{
    uint32_t depth;
    ctrl *target;
    CHECK(get_label(t, &depth, &target));
    CHECK(check_label_values(t, target));
    if (emitting(t)) {
        if (target->kind == CTL_LOOP && target->head == HEAD_FOUND)
            CHECK(rotate_loop(t, target));
        else
            CHECK(emit_branch(t, target));
    }
    set_unreachable(t);
    return 0;
}

static int op_br_if(tr *t)
{
    uint32_t depth;
    ctrl *target;
    entry cond;
    CHECK(get_label(t, &depth, &target));
    CHECK(pop(t, WR_I32, &cond));
    CHECK(check_label_values(t, target));
    CHECK(retype_label_values(t, target));
    if (!emitting(t))
        return 0;
    uint32_t op, field;
    if (target->kind != CTL_FUNC && !label_needs_copies(t, target)) {
        if (target->kind == CTL_LOOP) {
            CHECK(emit_cond_branch(t, &cond, WR_OP_br_if_back, &op, NULL));
            field = t->ncode;
            CHECK(emit_word(t, 0));
            set_target(t, field, op, target->label);
            CHECK(emit_word(t, 0));
            return add_patch(t, target, field + 1, op);
        }
        unsigned cmp;
        CHECK(emit_cond_branch(t, &cond, WR_OP_br_if, &op, &cmp));
        field = t->ncode;
        CHECK(emit_word(t, 0));
        CHECK(add_patch(t, target, field, op));
        note_loop_head(t, target, cmp);
        return 0;
    }
    /* br_unless skip; copies; jump; skip: */
    CHECK(emit_cond_branch(t, &cond, WR_OP_br_unless, &op, NULL));
    field = t->ncode;
    CHECK(emit_word(t, 0));
    CHECK(emit_branch(t, target));
    set_target(t, field, op, t->ncode);
    mark_label(t);
    return 0;
}

static int op_br_table(tr *t)
{
    uint32_t n;
    READ(wr_read_u32(&t->r, &n));
    if (n > (uint32_t)(t->r.end - t->r.p))
        return malformed(t, "unexpected end");
    uint32_t *depths = malloc(((size_t)n + 1) * sizeof(uint32_t));
    if (!depths)
        return oom(t);
    int rc = 0;
    for (uint32_t i = 0; i <= n && rc == 0; i++) {
        ctrl *target;
        rc = get_label(t, &depths[i], &target);
    }
    entry idx;
    if (rc == 0)
        rc = pop(t, WR_I32, &idx);
    /* Every label must take the values on the stack; all arities equal. */
    uint32_t arity = rc == 0 ? label_arity(&t->ctl[t->nctl - 1 - depths[n]]) : 0;
    for (uint32_t i = 0; i <= n && rc == 0; i++) {
        ctrl *target = &t->ctl[t->nctl - 1 - depths[i]];
        if (label_arity(target) != arity)
            rc = invalid(t, "type mismatch");
        else
            rc = check_label_values(t, target);
    }
    if (rc == 0 && emitting(t)) {
        uint32_t op;
        rc = emit_op(t, WR_OP_br_table, &op);
        if (rc == 0)
            rc = emit_slot(t, idx.src);
        if (rc == 0)
            rc = emit_word(t, n);
        uint32_t table = t->ncode;
        for (uint32_t i = 0; i <= n && rc == 0; i++)
            rc = emit_word(t, 0);
        /* Each target: straight to a block's label when no values move,
         * else a stub with the copies and the jump (one stub per label). */
        for (uint32_t i = 0; i <= n && rc == 0; i++) {
            ctrl *target = &t->ctl[t->nctl - 1 - depths[i]];
            if (target->kind != CTL_FUNC && target->kind != CTL_LOOP && !label_needs_copies(t, target)) {
                rc = add_patch(t, target, table + i, op);
                continue;
            }
            uint32_t j;
            for (j = 0; j < i; j++)
                if (depths[j] == depths[i])
                    break;
            if (j < i) {
                t->code[table + i] = t->code[table + j];
                continue;
            }
            set_target(t, table + i, op, t->ncode);
            rc = emit_branch(t, target);
        }
    }
    free(depths);
    CHECK(rc);
    set_unreachable(t);
    return 0;
}

/* ---- calls ---- */

/* Pop n values (checked) of the types `types` (a storage type stands for its value type; `repeat`: n of
 * types[0]), materializing them into consecutive slots from *base_out: a call's args, a throw's payload, a
 * struct's fields, an array's elements. */
static int pop_consecutive(tr *t, const wr_valtype *types, uint32_t n, bool repeat, uint32_t *base_out)
{
    ctrl *c = top_ctrl(t);
    if (emitting(t)) {
        uint32_t avail = t->nstk - c->height;
        for (uint32_t i = 0; i < n && i < avail; i++)
            CHECK(materialize(t, &t->stk[t->nstk - 1 - i]));
    }
    for (uint32_t i = n; i-- > 0;) {
        entry e;
        CHECK(pop(t, wr_storage_unpacked(types[repeat ? 0 : i]), &e));
    }
    *base_out = TAG_STACK | t->hslots;
    return 0;
}

static int emit_call_common(tr *t, const wr_functype *ft, uint32_t *base_out)
{
    return pop_consecutive(t, wr_functype_params(ft), ft->nparams, false, base_out);
}

static int push_results(tr *t, const wr_functype *ft)
{
    const wr_valtype *res = wr_functype_results(ft);
    /* The roots of this frame while the callee runs (or the host has the call): those below the arguments. */
    if (emitting(t))
        wr_smb_call(&t->sm, t->ncode, wr_smb_top(&t->sm, t->nstk));
    /* The callee's frame also needs room for results beyond the args. */
    for (uint32_t i = 0; i < ft->nresults; i++)
        CHECK(push_pos(t, res[i]));
    return 0;
}

static int op_call(tr *t)
{
    uint32_t fidx;
    READ(wr_read_u32(&t->r, &fidx));
    if (fidx >= t->m->nfuncs)
        return invalid(t, "unknown function");
    const wr_functype *ft = wr_module_func_type(t->m, fidx);
    uint32_t base;
    CHECK(emit_call_common(t, ft, &base));
    if (emitting(t)) {
        CHECK(emit_op(t, WR_OP_call, NULL));
        CHECK(emit_word(t, fidx));
        CHECK(emit_slot(t, base));
    }
    return push_results(t, ft);
}

static bool table64(const tr *t, uint32_t idx);
static int pop_index(tr *t, bool is64, entry *e);

static int op_call_indirect(tr *t)
{
    uint32_t typeidx, table;
    READ(wr_read_u32(&t->r, &typeidx));
    READ(wr_read_u32(&t->r, &table));
    if (table >= t->m->ntables)
        return invalid(t, "unknown table");
    if (typeidx >= t->m->ntypes)
        return invalid(t, "unknown type");
    if (!wr_valtype_sub(t->m->tables[table].elemtype, WR_FUNCREF, &t->cx))
        return invalid(t, "type mismatch");
    const wr_functype *ft = wr_module_functype(t->m, typeidx);
    if (!ft)
        return invalid(t, "type mismatch: not a function type");
    entry idx;
    CHECK(pop_index(t, table64(t, table), &idx));
    /* The index is read before the call: keep it out of the args' way by
     * reading it from wherever it is (args only move into their own slots). */
    uint32_t base;
    CHECK(emit_call_common(t, ft, &base));
    if (emitting(t)) {
        CHECK(emit_op(t, WR_OP_call_indirect, NULL));
        CHECK(emit_slot(t, idx.src));
        CHECK(emit_word(t, table));
        CHECK(emit_word(t, typeidx));
        CHECK(emit_slot(t, base));
    }
    return push_results(t, ft);
}

/* Tail calls (return_call, return_call_indirect; wr_interp.c, do_tail_call).
 * The callee's results must be the caller's. The arguments go where a call's
 * would; the instruction is followed by what a call then `return` would
 * emit: the copies of the results from the call's slots to fp[0 ..] and a
 * `return`. A wasm callee never gets there (it returns for the caller); a
 * host callee resumes there once the host has written the results. */
static int check_tail_results(tr *t, const wr_functype *ft)
{
    if (ft->nresults != t->ft->nresults)
        return invalid(t, "type mismatch");
    const wr_valtype *want = wr_functype_results(t->ft), *have = wr_functype_results(ft);
    for (uint32_t i = 0; i < ft->nresults; i++)
        if (!wr_valtype_sub(have[i], want[i], &t->cx))
            return invalid(t, "type mismatch");
    return 0;
}

static int finish_tail_call(tr *t, const wr_functype *ft)
{
    CHECK(push_results(t, ft));
    if (emitting(t))
        CHECK(emit_return(t));
    set_unreachable(t);
    return 0;
}

/* Note the module's first tail call (opcode `op`, just read), for the feature check. */
static void note_tail_call(tr *t, uint8_t op)
{
    if (t->m->tail_call_offset == 0) {
        t->m->tail_call_op = op;
        t->m->tail_call_offset = wr_reader_offset(&t->r) - 1;
    }
}

static int op_return_call(tr *t)
{
    uint32_t fidx;
    note_tail_call(t, 0x12);
    READ(wr_read_u32(&t->r, &fidx));
    if (fidx >= t->m->nfuncs)
        return invalid(t, "unknown function");
    const wr_functype *ft = wr_module_func_type(t->m, fidx);
    CHECK(check_tail_results(t, ft));
    uint32_t base;
    CHECK(emit_call_common(t, ft, &base));
    if (emitting(t)) {
        CHECK(emit_op(t, WR_OP_return_call, NULL));
        CHECK(emit_word(t, fidx));
        CHECK(emit_slot(t, base));
    }
    return finish_tail_call(t, ft);
}

static int op_return_call_indirect(tr *t)
{
    uint32_t typeidx, table;
    note_tail_call(t, 0x13);
    READ(wr_read_u32(&t->r, &typeidx));
    READ(wr_read_u32(&t->r, &table));
    if (table >= t->m->ntables)
        return invalid(t, "unknown table");
    if (typeidx >= t->m->ntypes)
        return invalid(t, "unknown type");
    if (!wr_valtype_sub(t->m->tables[table].elemtype, WR_FUNCREF, &t->cx))
        return invalid(t, "type mismatch");
    const wr_functype *ft = wr_module_functype(t->m, typeidx);
    if (!ft)
        return invalid(t, "type mismatch: not a function type");
    entry idx;
    CHECK(pop_index(t, table64(t, table), &idx));
    CHECK(check_tail_results(t, ft));
    uint32_t base;
    CHECK(emit_call_common(t, ft, &base));
    if (emitting(t)) {
        CHECK(emit_op(t, WR_OP_return_call_indirect, NULL));
        CHECK(emit_slot(t, idx.src));
        CHECK(emit_word(t, table));
        CHECK(emit_word(t, typeidx));
        CHECK(emit_slot(t, base));
    }
    return finish_tail_call(t, ft);
}

/* call_ref $t / return_call_ref $t: the arguments, then a (ref null $t). */
static int op_call_ref(tr *t, bool tail)
{
    uint32_t typeidx;
    wr_module_note_typed_refs(t->m, wr_reader_offset(&t->r) - 1);
    if (tail)
        note_tail_call(t, 0x15);
    READ(wr_read_u32(&t->r, &typeidx));
    if (typeidx >= t->m->ntypes)
        return invalid(t, "unknown type");
    const wr_functype *ft = wr_module_functype(t->m, typeidx);
    if (!ft)
        return invalid(t, "type mismatch: not a function type");
    entry f;
    CHECK(pop(t, wr_ref_concrete(typeidx, true), &f));
    if (tail)
        CHECK(check_tail_results(t, ft));
    /* The reference is read before the call, as call_indirect's index is. */
    uint32_t base;
    CHECK(emit_call_common(t, ft, &base));
    if (emitting(t)) {
        CHECK(emit_op(t, tail ? WR_OP_return_call_ref : WR_OP_call_ref, NULL));
        CHECK(emit_slot(t, f.src));
        CHECK(emit_slot(t, base));
    }
    return tail ? finish_tail_call(t, ft) : push_results(t, ft);
}

/* ---- typed references: br_on_null, br_on_non_null ---- */

/* Pop a reference of any type; *nonnull gets its non-null form ((ref bot)
 * for one of unknown type in unreachable code). */
static int pop_ref(tr *t, entry *r, wr_valtype *nonnull)
{
    CHECK(pop(t, UNKNOWN_TYPE, r));
    if (r->type == UNKNOWN_TYPE) {
        *nonnull = BOT_REF;
        return 0;
    }
    if (!wr_valtype_is_ref(r->type))
        return invalid(t, "type mismatch");
    *nonnull = r->type | WR_REF_NONNULL;
    return 0;
}

/* Branch to `target` when the reference in `cond` passes the test of `op`
 * (br_on_null, br_on_non_null, br_on_cast, br_on_cast_fail: the casts with
 * the reference type `rt` as an immediate), the label's values on top of
 * the stack: straight to a block's label when no value moves, else the
 * inverse test (`inverse`) skips the copies and the jump. */
static int emit_ref_test_branch(tr *t, const entry *cond, ctrl *target, unsigned op, unsigned inverse, bool has_rt,
                                wr_valtype rt)
{
    uint32_t at;
    if (target->kind != CTL_FUNC && target->kind != CTL_LOOP && !label_needs_copies(t, target)) {
        CHECK(emit_op(t, op, &at));
        CHECK(emit_slot(t, cond->src));
        if (has_rt)
            CHECK(emit_word(t, rt));
        uint32_t field = t->ncode;
        CHECK(emit_word(t, 0));
        return add_patch(t, target, field, at);
    }
    CHECK(emit_op(t, inverse, &at));
    CHECK(emit_slot(t, cond->src));
    if (has_rt)
        CHECK(emit_word(t, rt));
    uint32_t field = t->ncode;
    CHECK(emit_word(t, 0));
    CHECK(emit_branch(t, target));
    set_target(t, field, at, t->ncode);
    mark_label(t);
    return 0;
}

static int emit_ref_branch(tr *t, const entry *cond, ctrl *target, unsigned op)
{
    unsigned inverse = op == WR_OP_br_on_null ? WR_OP_br_on_non_null : WR_OP_br_on_null;
    return emit_ref_test_branch(t, cond, target, op, inverse, false, 0);
}

/* br_on_null l: [t* (ref null ht)] -> [t* (ref ht)], branching with t* when null. */
static int op_br_on_null(tr *t)
{
    uint32_t depth;
    ctrl *target;
    entry r;
    wr_valtype nonnull;
    CHECK(get_label(t, &depth, &target));
    CHECK(pop_ref(t, &r, &nonnull));
    CHECK(check_label_values(t, target));
    CHECK(retype_label_values(t, target));
    if (emitting(t))
        CHECK(emit_ref_branch(t, &r, target, WR_OP_br_on_null));
    return push(t, nonnull, r.src == r.pos ? UINT32_MAX : r.src);
}

/* br_on_non_null l: [t* (ref null ht)] -> [t*], branching with t* (ref ht) when not null. */
static int op_br_on_non_null(tr *t)
{
    uint32_t depth;
    ctrl *target;
    entry r;
    wr_valtype nonnull;
    CHECK(get_label(t, &depth, &target));
    if (label_arity(target) == 0)
        return invalid(t, "type mismatch");
    CHECK(pop_ref(t, &r, &nonnull));
    CHECK(push(t, nonnull, r.src == r.pos ? UINT32_MAX : r.src));
    CHECK(check_label_values(t, target));
    CHECK(retype_label_values(t, target));
    if (emitting(t))
        CHECK(emit_ref_branch(t, &t->stk[t->nstk - 1], target, WR_OP_br_on_non_null));
    return pop(t, UNKNOWN_TYPE, &r);
}

/* ---- exception handling ---- */

static int read_tag(tr *t, uint32_t *tag)
{
    READ(wr_read_u32(&t->r, tag));
    if (*tag >= t->m->ntags) {
        wr_error_set(t->err, WR_ERR_INVALID, wr_reader_offset(&t->r), "unknown tag %u", *tag);
        return -1;
    }
    return 0;
}

/* throw x: the payload goes to consecutive slots, as a call's arguments do. */
static int op_throw(tr *t)
{
    uint32_t tag, base;
    note_exn(t, "illegal opcode");
    CHECK(read_tag(t, &tag));
    const wr_functype *ft = &t->m->types[t->m->tags[tag]];
    CHECK(emit_call_common(t, ft, &base));
    if (emitting(t)) {
        CHECK(emit_op(t, WR_OP_throw, NULL));
        CHECK(emit_word(t, tag));
        CHECK(emit_slot(t, base));
    }
    set_unreachable(t);
    return 0;
}

static int op_throw_ref(tr *t)
{
    entry e;
    note_exn(t, "illegal opcode");
    CHECK(pop(t, WR_EXNREF, &e));
    if (emitting(t)) {
        CHECK(emit_op(t, WR_OP_throw_ref, NULL));
        CHECK(emit_slot(t, e.src));
    }
    set_unreachable(t);
    return 0;
}

/* A catch clause's label must take what the clause delivers: the tag's payload (catch, catch_ref), then an
 * exnref (catch_ref, catch_all_ref). */
static int check_catch(tr *t, uint8_t kind, uint32_t tag, const ctrl *target)
{
    uint32_t n = label_arity(target), np = 0;
    const wr_valtype *types = label_types(target), *params = NULL;
    if (kind == WR_CATCH || kind == WR_CATCH_REF) {
        const wr_functype *ft = &t->m->types[t->m->tags[tag]];
        np = ft->nparams;
        params = wr_functype_params(ft);
    }
    bool ref = kind == WR_CATCH_REF || kind == WR_CATCH_ALL_REF;
    if (n != np + ref)
        return invalid(t, "type mismatch");
    for (uint32_t i = 0; i < np; i++)
        if (!wr_valtype_sub(params[i], types[i], &t->cx))
            return invalid(t, "type mismatch");
    if (ref && !wr_valtype_sub(WR_EXNREF | WR_REF_NONNULL, types[np], &t->cx))
        return invalid(t, "type mismatch");
    return 0;
}

/* try_table bt catch* ... end: a block whose catch clauses (their labels resolved outside it) become a handler
 * of the function (wr_code.h) at its end. Nothing is emitted: the normal path pays nothing. */
static int op_try_table(tr *t)
{
    ctrl bt;
    uint32_t n;
    note_exn(t, "illegal opcode");
    CHECK(read_blocktype(t, &bt));
    READ(wr_read_u32(&t->r, &n));
    if (n > (uint32_t)(t->r.end - t->r.p))
        return malformed(t, "unexpected end");
    bool emit = emitting(t);
    uint32_t first = t->ncatches;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t kind;
        uint32_t tag = 0, depth;
        ctrl *target;
        READ(wr_read_u8(&t->r, &kind));
        if (kind > WR_CATCH_ALL_REF)
            return malformed(t, "malformed catch clause");
        if (kind == WR_CATCH || kind == WR_CATCH_REF)
            CHECK(read_tag(t, &tag));
        CHECK(get_label(t, &depth, &target));
        CHECK(check_catch(t, kind, tag, target));
        if (!emit)
            continue;
        CHECK(grow(t, (void **)&t->catches, &t->cap_catches, t->ncatches + 1, sizeof(wr_catch)));
        wr_catch *c = &t->catches[t->ncatches++];
        memset(c, 0, sizeof *c);
        c->kind = kind;
        c->tag = tag;
        if (target->kind == CTL_FUNC) {
            c->ret = 1; /* the values are the results, in fp[0 ..] */
            c->dst = TAG_LOCAL;
        } else {
            c->dst = TAG_STACK | target->hslots;
            if (target->kind == CTL_LOOP)
                c->target = target->label;
            else
                CHECK(add_patch(t, target, t->ncatches - 1, CATCH_PATCH));
        }
    }
    CHECK(enter_block(t, CTL_BLOCK, &bt));
    ctrl *c = top_ctrl(t);
    c->is_try = emit;
    c->try_first = first;
    c->try_count = t->ncatches - first;
    mark_label(t); /* no instruction before the body fuses with one inside it */
    c->try_start = t->ncode;
    return 0;
}

/* ---- variables ---- */

static int get_local(tr *t, uint32_t *idx)
{
    READ(wr_read_u32(&t->r, idx));
    if (*idx >= t->nlocals)
        return invalid(t, "unknown local");
    return 0;
}

static int op_local_set(tr *t, bool tee)
{
    uint32_t idx;
    CHECK(get_local(t, &idx));
    wr_valtype type = t->local_types[idx];
    uint32_t slot = TAG_LOCAL | t->local_slot[idx];
    entry v;
    CHECK(pop(t, type, &v));
    if (!t->local_set[idx]) {
        CHECK(grow(t, (void **)&t->inits, &t->cap_inits, t->ninits + 1, sizeof *t->inits));
        t->inits[t->ninits++] = idx;
        t->local_set[idx] = true;
    }
    if (emitting(t)) {
        CHECK(spill_locals(t, slot));
        if (t->ncode == t->last_end && v.src == v.pos && v.pos == t->code[t->last_out_word]) {
            /* The value was just computed into its positional slot: compute
             * it into the local instead. */
            t->code[t->last_out_word] = slot;
        } else {
            CHECK(emit_copy(t, type, v.src, slot));
            t->last_end = UINT32_MAX;
        }
    }
    if (tee)
        CHECK(push(t, type, emitting(t) ? slot : UINT32_MAX));
    return 0;
}

static int emit_manual(tr *t, unsigned op, const entry *in, uint32_t nin, wr_valtype out_type, const uint32_t *imm,
                       uint32_t nimm);

static int op_global(tr *t, bool set)
{
    uint32_t idx;
    READ(wr_read_u32(&t->r, &idx));
    if (idx >= t->m->nglobals)
        return invalid(t, "unknown global");
    const wr_globaltype *gt = &t->m->globals[idx].type;
    bool wide = gt->type == WR_V128;
    if (set) {
        if (!gt->mutable_)
            return invalid(t, "global is immutable");
        entry v;
        CHECK(pop(t, gt->type, &v));
        if (emitting(t)) {
            CHECK(emit_op(t, wide ? WR_OP_global_set_v128 : WR_OP_global_set, NULL));
            CHECK(emit_slot(t, v.src));
            CHECK(emit_word(t, idx));
        }
        return 0;
    }
    return emit_manual(t, wide ? WR_OP_global_get_v128 : WR_OP_global_get, NULL, 0, gt->type, &idx, 1);
}

/* ---- generic instructions (from the wr_wasm_ops table) ---- */

/* A memory index immediate (memory.size, memory.grow and the bulk instructions). Without multiple
 * memories (2.0) it is a zero byte. */
static int read_memidx(tr *t, uint32_t *idx)
{
    if (!(t->m->features & WR_FEATURE_MULTI_MEMORY)) {
        uint8_t b;
        READ(wr_read_u8(&t->r, &b));
        if (b != 0)
            return malformed(t, "zero byte expected");
        *idx = 0;
    } else {
        READ(wr_read_u32(&t->r, idx));
    }
    if (*idx >= t->m->nmems) {
        char msg[40];
        snprintf(msg, sizeof msg, "unknown memory %u", *idx);
        return invalid(t, msg);
    }
    return 0;
}

/* The memx immediate of an any-memory instruction (wr_op_mx, insns/memory.def): index and address type. */
static uint32_t memx_of(const tr *t, uint32_t idx)
{
    return idx | (t->m->mems[idx].is64 ? WR_MEMX_64 : 0);
}

/* Whether memory idx is reached by the plain forms: memory 0 of 32-bit addresses, its base and size
 * cached in registers (wr_interp.c). Any other goes through the instance's array (the *__mx, *_x forms). */
static bool mem_fast(const tr *t, uint32_t idx)
{
    return idx == 0 && !t->m->mems[0].is64;
}

static uint8_t mem_addr_type(const tr *t, uint32_t idx)
{
    return t->m->mems[idx].is64 ? WR_I64 : WR_I32;
}

/* A memarg: flags (the alignment exponent; 3.0: bit 6 announces a memory index), then the offset (a u64 in
 * 3.0, below 2^32 for a 32-bit memory). `natural` is the access size, `exact` for atomics, which require
 * exactly the natural alignment. Without multiple memories and memory64 (2.0), as its reference decoder:
 * flags of 32 or more are malformed, the offset a u32. */
static int read_memarg(tr *t, uint32_t natural, bool exact, uint32_t *idx, uint64_t *offset)
{
    uint32_t flags;
    READ(wr_read_u32(&t->r, &flags));
    bool multi = (t->m->features & WR_FEATURE_MULTI_MEMORY) != 0;
    if (flags >= (multi ? 0x80u : 0x20u))
        return malformed(t, "malformed memop flags");
    *idx = 0;
    if (flags & WR_MEMARG_MEMIDX) {
        READ(wr_read_u32(&t->r, idx));
    }
    uint32_t align = flags & 0x3F;
    if (t->m->features & WR_FEATURE_MEMORY64) {
        READ(wr_read_uleb(&t->r, 64, offset));
    } else {
        uint32_t off32;
        READ(wr_read_u32(&t->r, &off32));
        *offset = off32;
    }
    if (*idx >= t->m->nmems) {
        char msg[40];
        snprintf(msg, sizeof msg, "unknown memory %u", *idx);
        return invalid(t, msg);
    }
    if (align >= 32 || (1u << align) > natural)
        return invalid(t, "alignment must not be larger than natural");
    if (exact && (1u << align) != natural)
        return invalid(t, "atomic alignment must be natural");
    if (!t->m->mems[*idx].is64 && *offset > UINT32_MAX)
        return invalid(t, "offset out of range");
    return 0;
}

/* `exact`: atomics (0xFE) require exactly the natural alignment. */
static int op_generic(tr *t, const wr_opinfo *info, bool exact)
{
    uint64_t offset = 0;
    uint32_t memidx = 0;
    bool mx = false;
    if (info->memarg_align) {
        CHECK(read_memarg(t, info->memarg_align, exact, &memidx, &offset));
        mx = !mem_fast(t, memidx);
    } else if ((info->flags & WR_OPF_MEMORY) && t->m->nmems == 0) {
        return invalid(t, "unknown memory 0");
    }
    uint8_t lane = 0;
    if (info->lanes) {
        READ(wr_read_u8(&t->r, &lane));
        if (lane >= info->lanes)
            return invalid(t, "invalid lane index");
    }
    const uint8_t *v128imm = NULL;
    if (info->v128imm) { /* i8x16.shuffle: 16 lane indices into the 32 bytes of its operands */
        READ(wr_read_bytes(&t->r, 16, &v128imm));
        for (uint32_t i = 0; i < 16; i++)
            if (v128imm[i] >= 32)
                return invalid(t, "invalid lane index");
    }
    entry in[3];
    for (uint32_t i = info->nin; i-- > 0;) /* a memarg's address is its memory's address type */
        CHECK(pop(t, i == 0 && info->memarg_align ? mem_addr_type(t, memidx) : info->in[i], &in[i]));
    if (info->nout)
        CHECK(push_pos(t, info->out[0]));
    if (!emitting(t))
        return 0;
    if (mx) {
        CHECK(emit_op(t, wr_op_mx[info->op], NULL));
        for (uint32_t i = 0; i < info->nin; i++)
            CHECK(emit_slot(t, in[i].src));
        if (info->nout) {
            t->last_out_word = t->ncode;
            CHECK(emit_slot(t, t->stk[t->nstk - 1].pos));
        }
        CHECK(emit_word(t, (uint32_t)offset));
        CHECK(emit_word(t, (uint32_t)(offset >> 32)));
        if (info->lanes)
            CHECK(emit_word(t, lane));
        CHECK(emit_word(t, memx_of(t, memidx)));
        if (info->nout)
            t->last_end = t->ncode;
        return 0;
    }
    if (info->nin == 2 && wr_op_commutative[info->op] && with_acc(t, info->op, &in[1]) != info->op) {
        entry tmp = in[0]; /* the value just computed goes first, to come from the accumulator */
        in[0] = in[1];
        in[1] = tmp;
    }
    CHECK(emit_op(t, info->nin ? with_acc(t, info->op, &in[0]) : info->op, NULL));
    for (uint32_t i = 0; i < info->nin; i++)
        CHECK(emit_slot(t, in[i].src));
    if (info->nout) {
        t->last_out_word = t->ncode;
        CHECK(emit_slot(t, t->stk[t->nstk - 1].pos));
    }
    if (info->memarg_align)
        CHECK(emit_word(t, (uint32_t)offset));
    if (info->lanes)
        CHECK(emit_word(t, lane));
    for (uint32_t i = 0; v128imm && i < 4; i++) {
        uint32_t w;
        memcpy(&w, v128imm + 4 * i, 4); /* little endian, like the slots */
        CHECK(emit_word(t, w));
    }
    if (info->nout)
        t->last_end = t->ncode;
    return 0;
}

/* Emit a hand-handled instruction with already-popped inputs, an optional
 * output (pushed here) and immediates. */
static int emit_manual(tr *t, unsigned op, const entry *in, uint32_t nin, wr_valtype out_type, const uint32_t *imm,
                       uint32_t nimm)
{
    if (out_type)
        CHECK(push_pos(t, out_type));
    if (!emitting(t))
        return 0;
    CHECK(emit_op(t, op, NULL));
    for (uint32_t i = 0; i < nin; i++)
        CHECK(emit_slot(t, in[i].src));
    if (out_type) {
        t->last_out_word = t->ncode;
        CHECK(emit_slot(t, t->stk[t->nstk - 1].pos));
    }
    for (uint32_t i = 0; i < nimm; i++)
        CHECK(emit_word(t, imm[i]));
    if (out_type)
        t->last_end = t->ncode;
    return 0;
}

static int zero_byte(tr *t)
{
    uint8_t b;
    READ(wr_read_u8(&t->r, &b));
    if (b != 0)
        return malformed(t, "zero byte expected");
    return 0;
}

static int read_table(tr *t, uint32_t *idx)
{
    READ(wr_read_u32(&t->r, idx));
    if (*idx >= t->m->ntables)
        return invalid(t, "unknown table");
    return 0;
}

static bool table64(const tr *t, uint32_t idx)
{
    return t->m->tables[idx].limits.is64;
}

/* Pop a table's index or size: an i32, or for a table64 an i64, narrowed by table_index64 (insns/table.def)
 * so that the table instructions serve both. */
static int pop_index(tr *t, bool is64, entry *e)
{
    if (!is64)
        return pop(t, WR_I32, e);
    CHECK(pop(t, WR_I64, e));
    CHECK(emit_manual(t, WR_OP_table_index64, e, 1, WR_I32, NULL, 0));
    return pop(t, WR_I32, e);
}

static int read_elem(tr *t, uint32_t *idx)
{
    READ(wr_read_u32(&t->r, idx));
    if (*idx >= t->m->nelems)
        return invalid(t, "unknown elem segment");
    return 0;
}

static int read_data(tr *t, uint32_t *idx)
{
    READ(wr_read_u32(&t->r, idx));
    if (!t->m->has_datacount)
        return malformed(t, "data count section required");
    if (*idx >= t->m->datacount)
        return invalid(t, "unknown data segment");
    return 0;
}

static int op_select(tr *t, bool typed)
{
    wr_valtype type = UNKNOWN_TYPE;
    if (typed) {
        uint32_t n;
        READ(wr_read_u32(&t->r, &n));
        if (n != 1)
            return invalid(t, "invalid result arity");
        uint8_t bad = 0;
        int rc = wr_read_valtype(&t->r, &type, &bad);
        CHECK(check_valtype(t, rc, type, "malformed value type"));
    }
    entry in[3];
    CHECK(pop(t, WR_I32, &in[2]));
    CHECK(pop(t, type, &in[1]));
    CHECK(pop(t, typed ? type : in[1].type, &in[0]));
    if (!typed) {
        wr_valtype a = in[0].type, b = in[1].type;
        /* in[0] was checked against in[1]'s type; untyped select takes numbers only. */
        wr_valtype ty = a != UNKNOWN_TYPE ? a : b;
        if (ty != UNKNOWN_TYPE && !wr_valtype_is_num(ty))
            return invalid(t, "type mismatch");
        type = ty;
    }
    if (type == UNKNOWN_TYPE) {
        /* Only in unreachable code: the result is of unknown type. */
        return push_pos(t, UNKNOWN_TYPE);
    }
    return emit_manual(t, type == WR_V128 ? WR_OP_select_v128 : WR_OP_select, in, 3, type, NULL, 0);
}

static int op_const(tr *t, wr_valtype type, uint64_t lo, uint64_t hi)
{
    uint32_t src = UINT32_MAX;
    if (emitting(t)) {
        src = const_slot(t, lo, hi, type == WR_V128);
        if (src == UINT32_MAX)
            return oom(t);
    }
    return push(t, type, src);
}

/* ref.null's heap type: the value is (ref null ht). */
static int read_heaptype(tr *t, wr_valtype *type)
{
    uint8_t bad = 0;
    *type = 0;
    int rc = wr_read_heaptype(&t->r, type, &bad);
    return check_valtype(t, rc, *type, "malformed reference type");
}

/* ---- GC's 0xFB prefix: i31, the extern conversions and the casts ---- */

/* A reference type of a cast: (ref null? ht), ht read here. */
static int read_cast_type(tr *t, bool nullable, wr_valtype *rt)
{
    CHECK(read_heaptype(t, rt));
    if (!nullable)
        *rt |= WR_REF_NONNULL;
    return 0;
}

/* rt1 \ rt2: what is left of rt1 once the values of rt2 are taken out (only null, if rt2 takes it). */
static wr_valtype ref_diff(wr_valtype rt1, wr_valtype rt2)
{
    return wr_valtype_nullable(rt2) ? rt1 | WR_REF_NONNULL : rt1;
}

/* ref.test rt and ref.cast rt: [(ref null top)] -> [i32] / [rt]. */
static int op_ref_test(tr *t, bool cast, bool nullable)
{
    wr_valtype rt = 0;
    entry in;
    CHECK(read_cast_type(t, nullable, &rt));
    CHECK(pop(t, wr_heaptype_top_cx(rt, &t->cx), &in));
    uint32_t imm = rt;
    return emit_manual(t, cast ? WR_OP_ref_cast : WR_OP_ref_test, &in, 1, cast ? rt : WR_I32, &imm, 1);
}

/* br_on_cast l rt1 rt2: [t* rt1] -> [t* rt1\rt2], branching with [t* rt2] when the value matches rt2;
 * br_on_cast_fail l rt1 rt2: [t* rt1] -> [t* rt2], branching with [t* rt1\rt2] when it does not. */
static int op_br_on_cast(tr *t, bool fail)
{
    uint8_t flags;
    uint32_t depth;
    ctrl *target;
    wr_valtype rt1 = 0, rt2 = 0;
    entry r;
    READ(wr_read_u8(&t->r, &flags));
    if (flags > 3)
        return malformed(t, "malformed cast flags");
    CHECK(get_label(t, &depth, &target));
    CHECK(read_cast_type(t, flags & 1, &rt1));
    CHECK(read_cast_type(t, flags & 2, &rt2));
    if (!wr_valtype_sub(rt2, rt1, &t->cx))
        return invalid(t, "type mismatch");
    if (label_arity(target) == 0)
        return invalid(t, "type mismatch");
    wr_valtype diff = ref_diff(rt1, rt2);
    wr_valtype taken = fail ? diff : rt2, left = fail ? rt2 : diff;
    CHECK(pop(t, rt1, &r));
    CHECK(push(t, taken, r.src == r.pos ? UINT32_MAX : r.src));
    CHECK(check_label_values(t, target));
    CHECK(retype_label_values(t, target));
    if (emitting(t))
        CHECK(emit_ref_test_branch(t, &t->stk[t->nstk - 1], target, fail ? WR_OP_br_on_cast_fail : WR_OP_br_on_cast,
                                   fail ? WR_OP_br_on_cast : WR_OP_br_on_cast_fail, true, rt2));
    CHECK(pop(t, UNKNOWN_TYPE, &r));
    return push(t, left, r.src == r.pos ? UINT32_MAX : r.src);
}

/* any.convert_extern and extern.convert_any: the same bits (wr_runtime.h), retyped. */
static int op_convert_ref(tr *t, wr_valtype from, wr_valtype to)
{
    entry r;
    CHECK(pop(t, from, &r));
    wr_valtype out = r.type == UNKNOWN_TYPE || wr_valtype_nullable(r.type) ? to : to | WR_REF_NONNULL;
    return push(t, out, r.src == r.pos ? UINT32_MAX : r.src);
}

/* ---- GC's structs and arrays (insns/gc.def) ---- */

/* The most values array.new_fixed takes (an implementation limit, as wasmtime's): validation stays linear
 * in the code's size even in unreachable code. */
#define MAX_NEW_FIXED 10000u

/* A type index that must name a struct type (kind WR_COMP_STRUCT) or an array type. */
static int read_aggregate_type(tr *t, uint8_t kind, uint32_t *x, const wr_functype **ft)
{
    READ(wr_read_u32(&t->r, x));
    if (*x >= t->m->ntypes)
        return invalid(t, "unknown type");
    *ft = &t->m->types[*x];
    return (*ft)->kind == kind ? 0 : invalid(t, "type mismatch");
}

/* emit_manual with one more immediate, last, naming a slot: where values in consecutive slots start. */
static int emit_manual_slot(tr *t, unsigned op, const entry *in, uint32_t nin, wr_valtype out_type,
                            const uint32_t *imm, uint32_t nimm, uint32_t slot)
{
    CHECK(emit_manual(t, op, in, nin, out_type, imm, nimm));
    if (!emitting(t))
        return 0;
    CHECK(emit_slot(t, slot));
    if (out_type)
        t->last_end = t->ncode;
    return 0;
}

/* The op reading (`sign`: 0 plain, 1 _s, 2 _u) or writing (`set`) a field of storage type st. */
static unsigned field_op(wr_valtype st, int sign, bool set, bool array)
{
    static const uint16_t ops[2][2][6] = {
        /* 8 bytes, 4, 16, i8 (_s), i16 (_s), then _u of i8, i16 in the set row's free places */
        {{WR_OP_struct_get, WR_OP_struct_get_i32, WR_OP_struct_get_v128, WR_OP_struct_get_s_i8,
          WR_OP_struct_get_s_i16, 0},
         {WR_OP_struct_set, WR_OP_struct_set_i32, WR_OP_struct_set_v128, WR_OP_struct_set_i8,
          WR_OP_struct_set_i16, 0}},
        {{WR_OP_array_get, WR_OP_array_get_i32, WR_OP_array_get_v128, WR_OP_array_get_s_i8, WR_OP_array_get_s_i16,
          0},
         {WR_OP_array_set, WR_OP_array_set_i32, WR_OP_array_set_v128, WR_OP_array_set_i8, WR_OP_array_set_i16,
          0}},
    };
    if (!set && sign == 2)
        return st == WR_I8 ? (array ? WR_OP_array_get_u_i8 : WR_OP_struct_get_u_i8)
                           : (array ? WR_OP_array_get_u_i16 : WR_OP_struct_get_u_i16);
    int k = st == WR_I8 ? 3 : st == WR_I16 ? 4 : wr_storage_size(st) == 4 ? 1 : wr_storage_size(st) == 16 ? 2 : 0;
    return ops[array][set][k];
}

/* The op writing a field of storage type st (the module's types: cx): a reference of a collected kind goes
 * through the write barrier (wr_gc.h), any other value is stored by its width. */
static unsigned field_set_op(wr_valtype st, bool array, const wr_typectx *cx)
{
    if (wr_stackmap_collected(st, cx))
        return array ? WR_OP_array_set_ref : WR_OP_struct_set_ref;
    return field_op(st, 0, true, array);
}

/* struct.get, get_s (sign 1), get_u (2) and, with `set`, struct.set: x y. A packed field is read by get_s
 * or get_u only, any other by get only; struct.set needs a mutable field. */
static int op_struct_field(tr *t, int sign, bool set)
{
    uint32_t x, y;
    const wr_functype *ft;
    entry in[2];
    CHECK(read_aggregate_type(t, WR_COMP_STRUCT, &x, &ft));
    READ(wr_read_u32(&t->r, &y));
    if (y >= ft->nparams)
        return invalid(t, "unknown field");
    wr_valtype st = ft->types[y];
    if (!set && wr_storage_packed(st) != (sign != 0))
        return invalid(t, "type mismatch");
    if (set && !ft->mut[y])
        return invalid(t, "immutable field");
    if (set)
        CHECK(pop(t, wr_storage_unpacked(st), &in[1]));
    CHECK(pop(t, wr_ref_concrete(x, true), &in[0]));
    uint32_t offset = ft->offsets[y];
    unsigned op = set ? field_set_op(st, false, &t->cx) : field_op(st, sign, false, false);
    return emit_manual(t, op, in, set ? 2 : 1, set ? 0 : wr_storage_unpacked(st), &offset, 1);
}

static int op_struct_new(tr *t, bool deflt)
{
    uint32_t x, base = 0;
    const wr_functype *ft;
    CHECK(read_aggregate_type(t, WR_COMP_STRUCT, &x, &ft));
    if (deflt) {
        for (uint32_t k = 0; k < ft->nparams; k++)
            if (!wr_storage_packed(ft->types[k]) && !wr_valtype_defaultable(ft->types[k]))
                return invalid(t, "type mismatch");
        return emit_manual(t, WR_OP_struct_new_default, NULL, 0, wr_ref_concrete(x, false), &x, 1);
    }
    CHECK(pop_consecutive(t, ft->types, ft->nparams, false, &base));
    return emit_manual_slot(t, WR_OP_struct_new, NULL, 0, wr_ref_concrete(x, false), &x, 1, base);
}

/* array.get, get_s, get_u and array.set x. */
static int op_array_elem(tr *t, int sign, bool set)
{
    uint32_t x;
    const wr_functype *ft;
    entry in[3];
    CHECK(read_aggregate_type(t, WR_COMP_ARRAY, &x, &ft));
    wr_valtype st = ft->types[0];
    if (!set && wr_storage_packed(st) != (sign != 0))
        return invalid(t, "type mismatch");
    if (set && !ft->mut[0])
        return invalid(t, "immutable array");
    if (set)
        CHECK(pop(t, wr_storage_unpacked(st), &in[2]));
    CHECK(pop(t, WR_I32, &in[1]));
    CHECK(pop(t, wr_ref_concrete(x, true), &in[0]));
    unsigned op = set ? field_set_op(st, true, &t->cx) : field_op(st, sign, false, true);
    return emit_manual(t, op, in, set ? 3 : 2, set ? 0 : wr_storage_unpacked(st), NULL, 0);
}

/* array.new, array.new_default, array.new_fixed x (n). */
static int op_array_new(tr *t, uint32_t sub)
{
    uint32_t x, n = 0, base = 0;
    const wr_functype *ft;
    entry in[2];
    CHECK(read_aggregate_type(t, WR_COMP_ARRAY, &x, &ft));
    wr_valtype st = ft->types[0], out = wr_ref_concrete(x, false);
    if (sub == 0x08) { /* array.new_fixed */
        READ(wr_read_u32(&t->r, &n));
        if (n > MAX_NEW_FIXED)
            return invalid(t, "array.new_fixed: too many values (at most 10000)");
        CHECK(pop_consecutive(t, &st, n, true, &base));
        uint32_t imm[2] = {x, n};
        return emit_manual_slot(t, WR_OP_array_new_fixed, NULL, 0, out, imm, 2, base);
    }
    CHECK(pop(t, WR_I32, &in[0]));
    if (sub == 0x07) { /* array.new_default */
        if (!wr_storage_packed(st) && !wr_valtype_defaultable(st))
            return invalid(t, "type mismatch");
        return emit_manual(t, WR_OP_array_new_default, in, 1, out, &x, 1);
    }
    CHECK(pop(t, wr_storage_unpacked(st), &in[1]));
    return emit_manual_slot(t, WR_OP_array_new, in, 1, out, &x, 1, in[1].src);
}

/* A data segment's bytes fill only numeric or vector elements. */
static int check_numeric_array(tr *t, const wr_functype *ft)
{
    wr_valtype st = ft->types[0];
    return wr_storage_packed(st) || wr_valtype_is_num(st) ? 0 : invalid(t, "array type is not numeric or vector");
}

/* An element segment's references fit the array's elements. */
static int check_elem_array(tr *t, const wr_functype *ft, uint32_t seg)
{
    return wr_valtype_sub(t->m->elems[seg].elemtype, ft->types[0], &t->cx) ? 0 : invalid(t, "type mismatch");
}

/* array.new_data x d and array.new_elem x e: [i32 i32] -> [(ref x)]. */
static int op_array_new_segment(tr *t, bool data)
{
    uint32_t imm[2];
    const wr_functype *ft;
    entry in[2];
    CHECK(read_aggregate_type(t, WR_COMP_ARRAY, &imm[0], &ft));
    if (data) {
        CHECK(check_numeric_array(t, ft));
        CHECK(read_data(t, &imm[1]));
    } else {
        CHECK(read_elem(t, &imm[1]));
        CHECK(check_elem_array(t, ft, imm[1]));
    }
    CHECK(pop(t, WR_I32, &in[1]));
    CHECK(pop(t, WR_I32, &in[0]));
    return emit_manual(t, data ? WR_OP_array_new_data : WR_OP_array_new_elem, in, 2, wr_ref_concrete(imm[0], false),
                       imm, 2);
}

/* array.fill x: [(ref null x) i32 t i32] -> []. */
static int op_array_fill(tr *t)
{
    uint32_t x;
    const wr_functype *ft;
    entry in[3], v;
    CHECK(read_aggregate_type(t, WR_COMP_ARRAY, &x, &ft));
    if (!ft->mut[0])
        return invalid(t, "immutable array");
    CHECK(pop(t, WR_I32, &in[2]));
    CHECK(pop(t, wr_storage_unpacked(ft->types[0]), &v));
    CHECK(pop(t, WR_I32, &in[1]));
    CHECK(pop(t, wr_ref_concrete(x, true), &in[0]));
    return emit_manual_slot(t, WR_OP_array_fill, in, 3, 0, NULL, 0, v.src);
}

/* array.copy x y: [(ref null x) i32 (ref null y) i32 i32] -> [], y's elements fitting x's mutable ones. */
static int op_array_copy(tr *t)
{
    uint32_t x, y;
    const wr_functype *fx, *fy;
    entry in[5];
    CHECK(read_aggregate_type(t, WR_COMP_ARRAY, &x, &fx));
    CHECK(read_aggregate_type(t, WR_COMP_ARRAY, &y, &fy));
    if (!fx->mut[0])
        return invalid(t, "immutable array");
    wr_valtype dst = fx->types[0], src = fy->types[0];
    bool fits = wr_storage_packed(dst) || wr_storage_packed(src) ? dst == src : wr_valtype_sub(src, dst, &t->cx);
    if (!fits)
        return invalid(t, "array types do not match");
    CHECK(pop(t, WR_I32, &in[4]));
    CHECK(pop(t, WR_I32, &in[3]));
    CHECK(pop(t, wr_ref_concrete(y, true), &in[2]));
    CHECK(pop(t, WR_I32, &in[1]));
    CHECK(pop(t, wr_ref_concrete(x, true), &in[0]));
    uint32_t size = wr_storage_size(dst);
    return emit_manual(t, WR_OP_array_copy, in, 5, 0, &size, 1);
}

/* array.init_data x d and array.init_elem x e: [(ref null x) i32 i32 i32] -> []. */
static int op_array_init(tr *t, bool data)
{
    uint32_t x, imm[2];
    const wr_functype *ft;
    entry in[4];
    CHECK(read_aggregate_type(t, WR_COMP_ARRAY, &x, &ft));
    if (!ft->mut[0])
        return invalid(t, "immutable array");
    if (data) {
        CHECK(check_numeric_array(t, ft));
        CHECK(read_data(t, &imm[0]));
    } else {
        CHECK(read_elem(t, &imm[0]));
        CHECK(check_elem_array(t, ft, imm[0]));
    }
    imm[1] = wr_storage_size(ft->types[0]);
    for (uint32_t i = 4; i-- > 1;)
        CHECK(pop(t, WR_I32, &in[i]));
    CHECK(pop(t, wr_ref_concrete(x, true), &in[0]));
    return emit_manual(t, data ? WR_OP_array_init_data : WR_OP_array_init_elem, in, 4, 0, imm, data ? 2 : 1);
}

static int op_prefix_fb(tr *t)
{
    uint32_t sub;
    entry in;
    wr_module_note_typed_refs(t->m, wr_reader_offset(&t->r) - 1);
    wr_module_note_gc(t->m, wr_reader_offset(&t->r) - 1);
    READ(wr_read_u32(&t->r, &sub));
    switch (sub) {
    case 0x00: /* struct.new */
    case 0x01: /* struct.new_default */
        return op_struct_new(t, sub == 0x01);
    case 0x02: /* struct.get */
    case 0x03: /* struct.get_s */
    case 0x04: /* struct.get_u */
        return op_struct_field(t, (int)sub - 2, false);
    case 0x05: /* struct.set */
        return op_struct_field(t, 0, true);
    case 0x06: /* array.new */
    case 0x07: /* array.new_default */
    case 0x08: /* array.new_fixed */
        return op_array_new(t, sub);
    case 0x09: /* array.new_data */
    case 0x0A: /* array.new_elem */
        return op_array_new_segment(t, sub == 0x09);
    case 0x0B: /* array.get */
    case 0x0C: /* array.get_s */
    case 0x0D: /* array.get_u */
        return op_array_elem(t, (int)sub - 0x0B, false);
    case 0x0E: /* array.set */
        return op_array_elem(t, 0, true);
    case 0x0F: /* array.len */
        CHECK(pop(t, WR_HT_ARRAY, &in));
        return emit_manual(t, WR_OP_array_len, &in, 1, WR_I32, NULL, 0);
    case 0x10:
        return op_array_fill(t);
    case 0x11:
        return op_array_copy(t);
    case 0x12: /* array.init_data */
    case 0x13: /* array.init_elem */
        return op_array_init(t, sub == 0x12);
    case 0x14: /* ref.test (ref ht) */
    case 0x15: /* ref.test (ref null ht) */
        return op_ref_test(t, false, sub == 0x15);
    case 0x16: /* ref.cast (ref ht) */
    case 0x17: /* ref.cast (ref null ht) */
        return op_ref_test(t, true, sub == 0x17);
    case 0x18:
        return op_br_on_cast(t, false);
    case 0x19:
        return op_br_on_cast(t, true);
    case 0x1A: /* any.convert_extern */
        return op_convert_ref(t, WR_EXTERNREF, WR_ANYREF);
    case 0x1B: /* extern.convert_any */
        return op_convert_ref(t, WR_ANYREF, WR_EXTERNREF);
    case 0x1C: /* ref.i31 */
        CHECK(pop(t, WR_I32, &in));
        return emit_manual(t, WR_OP_ref_i31, &in, 1, WR_I31REF | WR_REF_NONNULL, NULL, 0);
    case 0x1D: /* i31.get_s */
    case 0x1E: /* i31.get_u */
        CHECK(pop(t, WR_I31REF, &in));
        return emit_manual(t, sub == 0x1D ? WR_OP_i31_get_s : WR_OP_i31_get_u, &in, 1, WR_I32, NULL, 0);
    default:
        return malformed(t, "illegal opcode");
    }
}

/* ---- the 0xFC prefix: saturating truncation (generic), bulk memory and
 * table instructions ---- */

static int op_prefix_fc(tr *t)
{
    uint32_t sub;
    READ(wr_read_u32(&t->r, &sub));
    if (sub < WR_OPINFO_CODES && wr_wasm_ops[1][sub].op)
        return op_generic(t, &wr_wasm_ops[1][sub], false);
    entry in[3];
    uint32_t imm[2];
    switch (sub) {
    case 8: { /* memory.init seg mem */
        uint32_t mem;
        CHECK(read_data(t, &imm[0]));
        CHECK(read_memidx(t, &mem));
        CHECK(pop(t, WR_I32, &in[2]));
        CHECK(pop(t, WR_I32, &in[1]));
        CHECK(pop(t, mem_addr_type(t, mem), &in[0]));
        if (mem_fast(t, mem))
            return emit_manual(t, WR_OP_memory_init, in, 3, 0, imm, 1);
        imm[1] = memx_of(t, mem);
        return emit_manual(t, WR_OP_memory_init_x, in, 3, 0, imm, 2);
    }
    case 9: /* data.drop */
        CHECK(read_data(t, &imm[0]));
        return emit_manual(t, WR_OP_data_drop, NULL, 0, 0, imm, 1);
    case 10: { /* memory.copy dst src: the size is an i64 when both are 64-bit */
        uint32_t dst, src;
        CHECK(read_memidx(t, &dst));
        CHECK(read_memidx(t, &src));
        uint8_t at_d = mem_addr_type(t, dst), at_s = mem_addr_type(t, src);
        CHECK(pop(t, at_d == WR_I64 && at_s == WR_I64 ? WR_I64 : WR_I32, &in[2]));
        CHECK(pop(t, at_s, &in[1]));
        CHECK(pop(t, at_d, &in[0]));
        if (mem_fast(t, dst) && mem_fast(t, src))
            return emit_manual(t, WR_OP_memory_copy, in, 3, 0, NULL, 0);
        imm[0] = memx_of(t, dst);
        imm[1] = memx_of(t, src);
        return emit_manual(t, WR_OP_memory_copy_x, in, 3, 0, imm, 2);
    }
    case 11: { /* memory.fill mem */
        uint32_t mem;
        CHECK(read_memidx(t, &mem));
        CHECK(pop(t, mem_addr_type(t, mem), &in[2]));
        CHECK(pop(t, WR_I32, &in[1]));
        CHECK(pop(t, mem_addr_type(t, mem), &in[0]));
        if (mem_fast(t, mem))
            return emit_manual(t, WR_OP_memory_fill, in, 3, 0, NULL, 0);
        imm[0] = memx_of(t, mem);
        return emit_manual(t, WR_OP_memory_fill_x, in, 3, 0, imm, 1);
    }
    case 12: { /* table.init seg table */
        CHECK(read_elem(t, &imm[0]));
        CHECK(read_table(t, &imm[1]));
        if (!wr_valtype_sub(t->m->elems[imm[0]].elemtype, t->m->tables[imm[1]].elemtype, &t->cx))
            return invalid(t, "type mismatch");
        CHECK(pop(t, WR_I32, &in[2]));
        CHECK(pop(t, WR_I32, &in[1]));
        CHECK(pop_index(t, table64(t, imm[1]), &in[0]));
        return emit_manual(t, WR_OP_table_init, in, 3, 0, imm, 2);
    }
    case 13: /* elem.drop */
        CHECK(read_elem(t, &imm[0]));
        return emit_manual(t, WR_OP_elem_drop, NULL, 0, 0, imm, 1);
    case 14: /* table.copy dst src: the size is an i64 when both are table64 */
        CHECK(read_table(t, &imm[0]));
        CHECK(read_table(t, &imm[1]));
        if (!wr_valtype_sub(t->m->tables[imm[1]].elemtype, t->m->tables[imm[0]].elemtype, &t->cx))
            return invalid(t, "type mismatch");
        CHECK(pop_index(t, table64(t, imm[0]) && table64(t, imm[1]), &in[2]));
        CHECK(pop_index(t, table64(t, imm[1]), &in[1]));
        CHECK(pop_index(t, table64(t, imm[0]), &in[0]));
        return emit_manual(t, WR_OP_table_copy, in, 3, 0, imm, 2);
    case 15: { /* table.grow */
        CHECK(read_table(t, &imm[0]));
        wr_valtype et = t->m->tables[imm[0]].elemtype;
        bool wide = table64(t, imm[0]);
        CHECK(pop_index(t, wide, &in[1]));
        CHECK(pop(t, et, &in[0]));
        imm[1] = wide;
        return emit_manual(t, WR_OP_table_grow, in, 2, wide ? WR_I64 : WR_I32, imm, 2);
    }
    case 16: /* table.size (below 2^32: the same slot as an i32 or an i64) */
        CHECK(read_table(t, &imm[0]));
        return emit_manual(t, WR_OP_table_size, NULL, 0, table64(t, imm[0]) ? WR_I64 : WR_I32, imm, 1);
    case 17: { /* table.fill */
        CHECK(read_table(t, &imm[0]));
        wr_valtype et = t->m->tables[imm[0]].elemtype;
        CHECK(pop_index(t, table64(t, imm[0]), &in[2]));
        CHECK(pop(t, et, &in[1]));
        CHECK(pop_index(t, table64(t, imm[0]), &in[0]));
        return emit_manual(t, WR_OP_table_fill, in, 3, 0, imm, 1);
    }
    default:
        return malformed(t, "illegal opcode");
    }
}

/* ---- the 0xFE prefix: the threads proposal's atomics ---- */

static int op_prefix_fe(tr *t)
{
    uint32_t sub;
    READ(wr_read_u32(&t->r, &sub));
    if (sub == 0x03) {
        /* atomic.fence: every wasm thread of a store runs on one OS thread,
         * so memory is already sequentially consistent. */
        return zero_byte(t);
    }
    if (sub < WR_OPINFO_CODES && wr_wasm_ops[3][sub].op)
        return op_generic(t, &wr_wasm_ops[3][sub], true);
    return malformed(t, "illegal opcode");
}

/* ---- the 0xFD prefix: SIMD ---- */

/* Relaxed SIMD's first opcode (WebAssembly 3.0, insns/simd_relaxed.def). */
#define WR_RELAXED_SIMD_FIRST 0x100

static int op_prefix_fd(tr *t)
{
    uint32_t at = (uint32_t)wr_reader_offset(&t->r) - 1, sub; /* the prefix byte's offset */
    READ(wr_read_u32(&t->r, &sub));
    if (sub == 12) { /* v128.const: a constant slot pair, like the other constants */
        uint64_t lo, hi;
        READ(wr_read_fixed64(&t->r, &lo));
        READ(wr_read_fixed64(&t->r, &hi));
        return op_const(t, WR_V128, lo, hi);
    }
    if (sub < WR_OPINFO_CODES && wr_wasm_ops[2][sub].op) {
        if (sub >= WR_RELAXED_SIMD_FIRST && t->m->relaxed_simd_offset == 0)
            t->m->relaxed_simd_offset = at; /* for the feature check */
        return op_generic(t, &wr_wasm_ops[2][sub], false);
    }
    return malformed(t, "illegal opcode");
}

/* ---- one instruction ---- */

static int translate_insn(tr *t, uint8_t opcode, bool *done)
{
    entry in[3];
    uint32_t imm[2];
    ctrl bt;
    switch (opcode) {
    case 0x00: /* unreachable */
        if (emitting(t))
            CHECK(emit_op(t, WR_OP_unreachable, NULL));
        set_unreachable(t);
        return 0;
    case 0x01: /* nop */
        return 0;
    case 0x02: /* block */
        CHECK(read_blocktype(t, &bt));
        return enter_block(t, CTL_BLOCK, &bt);
    case 0x03: /* loop */
        CHECK(read_blocktype(t, &bt));
        CHECK(enter_block(t, CTL_LOOP, &bt));
        top_ctrl(t)->label = t->ncode;
        top_ctrl(t)->head = emitting(t) ? HEAD_OPEN : HEAD_NONE;
        top_ctrl(t)->head_insn = t->ninsns;
        top_ctrl(t)->head_fix = t->nfix;
        mark_label(t);
        return 0;
    case 0x04: { /* if */
        CHECK(read_blocktype(t, &bt));
        entry cond;
        CHECK(pop(t, WR_I32, &cond));
        bool emit = emitting(t);
        uint32_t op = 0, field = 0;
        if (emit) {
            /* Materialize first (enter_block's copies must run on both paths). */
            CHECK(spill_locals(t, UINT32_MAX));
            ctrl *c = top_ctrl(t);
            uint32_t avail = t->nstk - c->height;
            for (uint32_t i = 0; i < bt.nparams && i < avail; i++)
                CHECK(materialize(t, &t->stk[t->nstk - 1 - i]));
            CHECK(emit_cond_branch(t, &cond, WR_OP_br_unless, &op, NULL));
            field = t->ncode;
            CHECK(emit_word(t, 0));
        }
        CHECK(enter_block(t, CTL_IF, &bt));
        if (emit) {
            top_ctrl(t)->else_patch = op;
            top_ctrl(t)->else_field = field;
            top_ctrl(t)->has_else_patch = true;
        }
        return 0;
    }
    case 0x05:
        return op_else(t);
    case 0x08:
        return op_throw(t);
    case 0x0A:
        return op_throw_ref(t);
    case 0x1F:
        return op_try_table(t);
    case 0x0B:
        return op_end(t, done);
    case 0x0C:
        return op_br(t);
    case 0x0D:
        return op_br_if(t);
    case 0x0E:
        return op_br_table(t);
    case 0x0F: { /* return */
        ctrl *f = &t->ctl[0];
        CHECK(check_label_values(t, f));
        if (emitting(t))
            CHECK(emit_return(t));
        set_unreachable(t);
        return 0;
    }
    case 0x10:
        return op_call(t);
    case 0x11:
        return op_call_indirect(t);
    case 0x12:
        return op_return_call(t);
    case 0x13:
        return op_return_call_indirect(t);
    case 0x14:
        return op_call_ref(t, false);
    case 0x15:
        return op_call_ref(t, true);
    case 0x1A: /* drop */
        return pop(t, UNKNOWN_TYPE, &in[0]);
    case 0x1B:
        return op_select(t, false);
    case 0x1C:
        return op_select(t, true);
    case 0x20: { /* local.get */
        uint32_t idx;
        CHECK(get_local(t, &idx));
        if (!t->local_set[idx] && !wr_valtype_defaultable(t->local_types[idx]))
            return invalid(t, "uninitialized local");
        return push(t, t->local_types[idx], emitting(t) ? (TAG_LOCAL | t->local_slot[idx]) : UINT32_MAX);
    }
    case 0x21:
        return op_local_set(t, false);
    case 0x22:
        return op_local_set(t, true);
    case 0x23:
        return op_global(t, false);
    case 0x24:
        return op_global(t, true);
    case 0x25: { /* table.get */
        CHECK(read_table(t, &imm[0]));
        CHECK(pop_index(t, table64(t, imm[0]), &in[0]));
        return emit_manual(t, WR_OP_table_get, in, 1, t->m->tables[imm[0]].elemtype, imm, 1);
    }
    case 0x26: { /* table.set */
        CHECK(read_table(t, &imm[0]));
        CHECK(pop(t, t->m->tables[imm[0]].elemtype, &in[1]));
        CHECK(pop_index(t, table64(t, imm[0]), &in[0]));
        return emit_manual(t, WR_OP_table_set, in, 2, 0, imm, 1);
    }
    case 0x3F: { /* memory.size */
        uint32_t mem;
        CHECK(read_memidx(t, &mem));
        if (mem_fast(t, mem))
            return emit_manual(t, WR_OP_memory_size, NULL, 0, WR_I32, NULL, 0);
        imm[0] = memx_of(t, mem);
        return emit_manual(t, WR_OP_memory_size_x, NULL, 0, mem_addr_type(t, mem), imm, 1);
    }
    case 0x40: { /* memory.grow */
        uint32_t mem;
        CHECK(read_memidx(t, &mem));
        CHECK(pop(t, mem_addr_type(t, mem), &in[0]));
        if (mem_fast(t, mem))
            return emit_manual(t, WR_OP_memory_grow, in, 1, WR_I32, NULL, 0);
        imm[0] = memx_of(t, mem);
        return emit_manual(t, WR_OP_memory_grow_x, in, 1, mem_addr_type(t, mem), imm, 1);
    }
    case 0x41: { /* i32.const */
        int64_t v;
        READ(wr_read_sleb(&t->r, 32, &v));
        return op_const(t, WR_I32, (uint32_t)v, 0);
    }
    case 0x42: { /* i64.const */
        int64_t v;
        READ(wr_read_sleb(&t->r, 64, &v));
        return op_const(t, WR_I64, (uint64_t)v, 0);
    }
    case 0x43: { /* f32.const */
        uint32_t v;
        READ(wr_read_fixed32(&t->r, &v));
        return op_const(t, WR_F32, v, 0);
    }
    case 0x44: { /* f64.const */
        uint64_t v;
        READ(wr_read_fixed64(&t->r, &v));
        return op_const(t, WR_F64, v, 0);
    }
    case 0xD0: { /* ref.null */
        wr_valtype rt = 0; /* set by read_heaptype (gcc -O1 cannot tell) */
        CHECK(read_heaptype(t, &rt));
        return op_const(t, rt, 0, 0);
    }
    case 0xD1: { /* ref.is_null */
        CHECK(pop(t, UNKNOWN_TYPE, &in[0]));
        if (!wr_valtype_is_ref(in[0].type) && in[0].type != UNKNOWN_TYPE)
            return invalid(t, "type mismatch");
        return emit_manual(t, WR_OP_ref_is_null, in, 1, WR_I32, NULL, 0);
    }
    case 0xD2: { /* ref.func */
        READ(wr_read_u32(&t->r, &imm[0]));
        if (imm[0] >= t->m->nfuncs)
            return invalid(t, "unknown function");
        if (!t->m->func_declared || !t->m->func_declared[imm[0]])
            return invalid(t, "undeclared function reference");
        return emit_manual(t, WR_OP_ref_func, NULL, 0, wr_ref_concrete(t->m->funcs[imm[0]].type, false), imm, 1);
    }
    case 0xD4: { /* ref.as_non_null */
        wr_valtype nonnull;
        wr_module_note_typed_refs(t->m, wr_reader_offset(&t->r) - 1);
        CHECK(pop_ref(t, &in[0], &nonnull));
        return emit_manual(t, WR_OP_ref_as_non_null, in, 1, nonnull, NULL, 0);
    }
    case 0xD5:
        wr_module_note_typed_refs(t->m, wr_reader_offset(&t->r) - 1);
        return op_br_on_null(t);
    case 0xD6:
        wr_module_note_typed_refs(t->m, wr_reader_offset(&t->r) - 1);
        return op_br_on_non_null(t);
    case 0xD3: { /* ref.eq */
        wr_module_note_typed_refs(t->m, wr_reader_offset(&t->r) - 1);
        wr_module_note_gc(t->m, wr_reader_offset(&t->r) - 1);
        CHECK(pop(t, WR_HT_EQ, &in[1]));
        CHECK(pop(t, WR_HT_EQ, &in[0]));
        return emit_manual(t, WR_OP_ref_eq, in, 2, WR_I32, NULL, 0);
    }
    case 0xFB:
        return op_prefix_fb(t);
    case 0xFC:
        return op_prefix_fc(t);
    case 0xFD:
        return op_prefix_fd(t);
    case 0xFE:
        return op_prefix_fe(t);
    default:
        if (wr_wasm_ops[0][opcode].op)
            return op_generic(t, &wr_wasm_ops[0][opcode], false);
        return malformed(t, "illegal opcode");
    }
}

/* ---- one function ---- */

/* Superinstructions made of whole instructions (seq lines in insns/): where
 * an instruction that falls through is followed by ones it has a sequence op
 * with, its op word becomes that op. The others keep their words, so branches
 * into them, resuming at them and trap locations are as before; only the
 * path through the first saves dispatches. Sequences do not overlap, and one
 * does not swallow a branch target that could start a sequence of its own
 * (a loop header would then run alone on every iteration). */
static unsigned seq_at(const tr *t, uint32_t i, uint32_t *next)
{
    unsigned op = t->insns[i].op, found = 0;
    for (uint32_t j = i + 1; j < t->ninsns; j++) {
        const insn_at *prev = &t->insns[j - 1], *b = &t->insns[j];
        if (prev->start + wr_op_size[prev->op] != b->start)
            break;
        op = wr_seq(op, b->op);
        if (!op)
            break;
        if (b->label && j + 1 < t->ninsns && wr_seq(b->op, t->insns[j + 1].op) &&
            b->start + wr_op_size[b->op] == t->insns[j + 1].start)
            break;
        found = op;
        *next = j + 1;
    }
    return found;
}

static void fuse_sequences(tr *t)
{
    for (uint32_t i = 0; i + 1 < t->ninsns;) {
        uint32_t next = i + 1;
        unsigned op = seq_at(t, i, &next);
        if (op)
            t->code[t->insns[i].start] = wr_interp_op_word(op);
        i = next;
    }
}

/* A stack map's slot: the translator's tagged slot in the frame (see finish). */
static uint32_t sm_slot(uint32_t tagged, const void *ctx)
{
    const tr *t = ctx;
    return (tagged & TAG_MASK) == TAG_STACK ? t->local_slots + t->nconsts + (tagged & ~TAG_MASK) : tagged;
}

static int finish(tr *t, wr_func_def *fd)
{
    uint32_t stack_base = t->local_slots + t->nconsts;
    uint64_t frame = (uint64_t)stack_base + t->max_hslots;
    /* A call's results may exceed its args: covered by the pushes. Host calls
     * need max(params, results) slots at the base: covered the same way. */
    if (frame > MAX_INDEX)
        return invalid(t, "function frame too large");
    fuse_sequences(t);
    for (uint32_t i = 0; i < t->nfix; i++) {
        uint32_t w = t->code[t->fix[i]];
        uint32_t v = w & ~TAG_MASK;
        switch (w & TAG_MASK) {
        case TAG_LOCAL:
            break;
        case TAG_CONST:
            t->code[t->fix[i]] = t->local_slots + v;
            break;
        default:
            t->code[t->fix[i]] = stack_base + v;
            break;
        }
    }
    bool sm_oom;
    wr_stackmap *sm = wr_smb_finish(&t->sm, sm_slot, t, &sm_oom);
    wr_code *code = sm_oom ? NULL : calloc(1, sizeof *code);
    if (!code) {
        wr_stackmap_free(sm);
        return oom(t);
    }
    code->stackmap = sm;
    uint32_t nzero = t->local_slots - t->ft->param_slots;
    code->init_slots = nzero + t->nconsts;
    code->init = calloc(code->init_slots ? code->init_slots : 1, sizeof(uint64_t));
    if (!code->init) {
        wr_stackmap_free(sm);
        free(code);
        return oom(t);
    }
    if (t->nconsts)
        memcpy(code->init + nzero, t->consts, (size_t)t->nconsts * sizeof(uint64_t));
    code->words = t->code;
    code->nwords = t->ncode;
    code->param_slots = t->ft->param_slots;
    code->local_slots = t->local_slots;
    code->nconsts = t->nconsts;
    code->frame_slots = (uint32_t)frame;
    code->consts = t->consts;
    code->nlocs = t->nlocs;
    code->locs = t->locs;
    /* Catch clauses' slots as the operands' (a label at the function's level returns: fp[0 ..]). */
    for (uint32_t i = 0; i < t->ncatches; i++) {
        uint32_t w = t->catches[i].dst;
        t->catches[i].dst = (w & TAG_MASK) == TAG_STACK ? stack_base + (w & ~TAG_MASK) : 0;
    }
    code->nhandlers = t->nhandlers;
    code->handlers = t->handlers;
    code->catches = t->catches;
    t->code = NULL;
    t->consts = NULL;
    t->locs = NULL;
    t->handlers = NULL;
    t->catches = NULL;
    fd->code = code;
    return 0;
}

static void tr_free(tr *t)
{
    for (uint32_t i = 0; i < t->nctl; i++)
        free(t->ctl[i].patches);
    free(t->ctl);
    free(t->stk);
    free(t->code);
    free(t->fix);
    free(t->consts);
    free(t->locs);
    free(t->catches);
    free(t->handlers);
    free(t->insns);
    free(t->local_types);
    free(t->local_slot);
    free(t->local_set);
    free(t->inits);
    wr_smb_release(&t->sm);
}

static int translate_function(wr_module *m, uint32_t index, wr_error *err)
{
    wr_func_def *fd = &m->funcs[index];
    tr t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.err = err;
    t.func_index = index;
    t.ft = &m->types[fd->type];
    t.cx = wr_module_typectx(m);
    t.r.base = m->bytes;
    t.r.p = fd->body;
    t.r.end = fd->body_end;
    t.last_end = UINT32_MAX;
    wr_smb_init(&t.sm);
    int rc = setup_locals(&t, fd);
    if (rc == 0)
        rc = push_ctrl(&t, CTL_FUNC, 0, NULL, t.ft->nresults, wr_functype_results(t.ft));
    bool done = false;
    while (rc == 0 && !done) {
        uint32_t offset = wr_reader_offset(&t.r);
        uint8_t opcode;
        int rrc = wr_read_u8(&t.r, &opcode);
        if (rrc) {
            rc = read_fail(&t, rrc);
            break;
        }
        if (emitting(&t)) {
            t.insn_count++;
            t.sm.pre = wr_smb_top(&t.sm, t.nstk); /* the roots before this instruction takes its inputs */
            rc = add_loc(&t, offset);
            if (rc)
                break;
        }
        rc = translate_insn(&t, opcode, &done);
    }
    if (rc == 0 && !wr_reader_done(&t.r))
        rc = malformed(&t, "section size mismatch");
    if (rc == 0)
        rc = finish(&t, fd);
    tr_free(&t);
    return rc;
}

int wr_module_translate(wr_module *m, wr_error *err)
{
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        if (translate_function(m, i, err) != 0)
            return err->kind ? err->kind : WR_ERR_INVALID;
    }
    return 0;
}
