/* wr_stackmap.h: exact GC roots in frames. For a function's frame stopped at
 * a code position, which slots then hold a reference of a collected kind.
 *
 * Collected kinds (wr_stackmap_collected): references whose slot may name a
 * host's externref handle, a struct or array object or an exception: the
 * extern, any and exn hierarchies (concrete struct and array types too), but
 * i31 and the bottom types, which never hold one. funcref slots are never
 * roots.
 *
 * The translator knows every operand's type and whether it is materialized
 * in its positional slot (docs/interpreter.md, "Operands are slots"); a value
 * still read from a local or a constant is no root of its own (a local is one
 * anyway, a constant is never a collected reference). So a frame's roots are
 * its locals of a collected kind (all of them, at every position: they always
 * hold a value of their type, null at first) and the materialized operands of
 * a collected kind at that position.
 *
 * Layout: the sets are lists in one array of nodes, each a slot and the node
 * below it, sharing their tails, since operands come and go at the top: the
 * locals' list is the bottom of every set (`base`), an operand pushes a node
 * over the set below it. A set is the index of its top node (WR_SM_NONE: the
 * empty set). Two tables name them:
 *
 *   points  (word, node), sorted: the set at an instruction, for a frame that
 *           resumes at that instruction's op word (a back-edge's target, an
 *           instruction that runs again: a native call, an access in
 *           exploration mode, a table instruction or throw preempted, a
 *           call's callee at its first word) or right after an instruction
 *           that completed (a wait, a host call whose results are written):
 *           the operands live before the instruction at `word` consumes its
 *           inputs. Run-length: an entry holds until the next one; before
 *           the first, `base`.
 *   calls   (word, node), sorted: the set of a frame inside a call (a wasm
 *           callee above it, or a host call not yet returned) whose return
 *           position is `word`: the operands below the call's arguments (the
 *           arguments are the callee's frame, or the host's already; the
 *           results are not written yet). Exact match; none means `base`.
 *
 * A function with no local and no operand of a collected kind has no map at
 * all (wr_code.stackmap is NULL): nothing to scan, nothing stored.
 */
#ifndef WR_STACKMAP_H
#define WR_STACKMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "wr_types.h"

#define WR_SM_NONE UINT32_MAX

typedef struct wr_sm_node {
    uint32_t slot; /* a frame slot (fp[slot]) */
    uint32_t next; /* the node below, or WR_SM_NONE */
} wr_sm_node;

typedef struct wr_sm_rec {
    uint32_t word; /* a code position (word index) */
    uint32_t node; /* the set there */
} wr_sm_rec;

typedef struct wr_stackmap {
    uint32_t base; /* the locals' set */
    uint32_t nnodes, npoints, ncalls;
    wr_sm_node *nodes;
    wr_sm_rec *points;
    wr_sm_rec *calls;
} wr_stackmap;

/* How a frame stopped at `word` (wr_stackmap_find). */
enum { WR_SM_AT = 0, WR_SM_CALL = 1 };

/* Whether a slot of type `vt` may hold a reference a collector must see: a value of the any or the extern
 * hierarchy (null, an i31, a host's handle or a struct or array object: wr_gcobj.h) or an exnref (null or an
 * exception, tagged 0b100: wr_runtime.h). `cx` resolves a concrete type's kind (the module's types for a
 * function's slots, the store's for a global's, a table's, a tag's or a field's: their types name store ids):
 * a struct or an array type is collected, a function type is not. funcref slots (a wr_func, alive as long as
 * the store) are never roots. So every slot a collector visits holds null, an i31, a host's handle, an
 * object or an exception, each told by its low bits, never a wr_func. */
static inline bool wr_stackmap_collected(wr_valtype vt, const wr_typectx *cx)
{
    if (!wr_valtype_is_ref(vt))
        return false;
    switch (wr_valtype_code(vt)) {
    case WR_HT_EXTERN:
    case WR_HT_ANY:
    case WR_HT_EQ:
    case WR_HT_STRUCT:
    case WR_HT_ARRAY:
    case WR_HT_EXN:
        return true;
    case WR_HT_CONCRETE:
        return wr_typectx_kind(cx, wr_valtype_index(vt)) != WR_COMP_FUNC;
    default: /* func, the bottoms (only null), i31 (unboxed) */
        return false;
    }
}

/* The set of a frame stopped at code word `word` in the way `kind` says. */
uint32_t wr_stackmap_find(const wr_stackmap *sm, uint32_t word, int kind);

/* Bytes the map takes (for reports). */
size_t wr_stackmap_bytes(const wr_stackmap *sm);

void wr_stackmap_free(wr_stackmap *sm);

/* ---- building (wr_translate.c) ----
 *
 * The translator's operand stack entries each get the set through them
 * (`at`, indexed like the stack): an entry that is a root pushes a node over
 * the set below it, others share it. Slots are the translator's tagged slots
 * until wr_smb_finish maps them to frame slots. */
typedef struct wr_sm_builder {
    wr_sm_node *nodes;
    uint32_t nnodes, cap_nodes;
    wr_sm_rec *points;
    uint32_t npoints, cap_points;
    wr_sm_rec *calls;
    uint32_t ncalls, cap_calls;
    uint32_t *at;
    uint32_t cap_at;
    uint32_t base;
    uint32_t pre; /* the set before the wasm instruction being translated */
    bool oom;
} wr_sm_builder;

void wr_smb_init(wr_sm_builder *b);
void wr_smb_release(wr_sm_builder *b);
/* A local of a collected kind at (tagged) `slot`: under every set. */
void wr_smb_local(wr_sm_builder *b, uint32_t slot);
/* Stack entry `index` is now a root at `slot`, or no root (WR_SM_NONE). */
void wr_smb_set(wr_sm_builder *b, uint32_t index, uint32_t slot);
/* The set through the stack's first `n` entries. */
static inline uint32_t wr_smb_top(const wr_sm_builder *b, uint32_t n) { return n ? b->at[n - 1] : b->base; }
/* The instruction at `word` was emitted (with the set b->pre); code from `word` on was emitted anew. */
void wr_smb_point(wr_sm_builder *b, uint32_t word);
/* The set recorded for the instruction at `word`. */
uint32_t wr_smb_point_at(const wr_sm_builder *b, uint32_t word);
/* A call returning to `word`, with `node` the operands below its arguments. */
void wr_smb_call(wr_sm_builder *b, uint32_t word, uint32_t node);
/* The finished map, slots mapped by `map_slot` (the translator's tagged slot to a frame slot); NULL when the
 * function has none (or when out of memory: *oom set). */
wr_stackmap *wr_smb_finish(wr_sm_builder *b, uint32_t (*map_slot)(uint32_t tagged, const void *ctx),
                           const void *ctx, bool *oom);

#endif /* WR_STACKMAP_H */
