/* wr_stackmap.c: stack maps, the exact roots of a frame (wr_stackmap.h):
 * building them while translating, finding a frame's set when collecting. */
#include <stdlib.h>
#include <string.h>

#include "wr_stackmap.h"

static bool grow(wr_sm_builder *b, void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint32_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > UINT32_MAX / 2) {
            b->oom = true;
            return false;
        }
        ncap *= 2;
    }
    void *np = realloc(*p, (size_t)ncap * elem);
    if (!np) {
        b->oom = true;
        return false;
    }
    *p = np;
    *cap = ncap;
    return true;
}

static uint32_t new_node(wr_sm_builder *b, uint32_t slot, uint32_t next)
{
    if (!grow(b, (void **)&b->nodes, &b->cap_nodes, b->nnodes + 1, sizeof(wr_sm_node)))
        return next; /* b->oom: the translation fails */
    b->nodes[b->nnodes] = (wr_sm_node){slot, next};
    return b->nnodes++;
}

void wr_smb_init(wr_sm_builder *b)
{
    memset(b, 0, sizeof *b);
    b->base = b->pre = WR_SM_NONE;
}

void wr_smb_release(wr_sm_builder *b)
{
    free(b->nodes);
    free(b->points);
    free(b->calls);
    free(b->at);
    wr_smb_init(b);
}

void wr_smb_local(wr_sm_builder *b, uint32_t slot) { b->base = b->pre = new_node(b, slot, b->base); }

void wr_smb_set(wr_sm_builder *b, uint32_t index, uint32_t slot)
{
    if (!grow(b, (void **)&b->at, &b->cap_at, index + 1, sizeof(uint32_t)))
        return;
    uint32_t below = wr_smb_top(b, index);
    b->at[index] = slot == WR_SM_NONE ? below : new_node(b, slot, below);
}

/* The last record of `recs` at or before `word`, or -1. */
static int64_t last_at(const wr_sm_rec *recs, uint32_t n, uint32_t word)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (recs[mid].word <= word)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int64_t)lo - 1;
}

void wr_smb_point(wr_sm_builder *b, uint32_t word)
{
    /* The translator may take back what it emitted last (a comparison fused into the branch after it). */
    while (b->npoints && b->points[b->npoints - 1].word >= word)
        b->npoints--;
    uint32_t prev = b->npoints ? b->points[b->npoints - 1].node : b->base;
    if (b->pre == prev)
        return;
    if (!grow(b, (void **)&b->points, &b->cap_points, b->npoints + 1, sizeof(wr_sm_rec)))
        return;
    b->points[b->npoints++] = (wr_sm_rec){word, b->pre};
}

uint32_t wr_smb_point_at(const wr_sm_builder *b, uint32_t word)
{
    int64_t i = last_at(b->points, b->npoints, word);
    return i < 0 ? b->base : b->points[i].node;
}

void wr_smb_call(wr_sm_builder *b, uint32_t word, uint32_t node)
{
    if (node == b->base)
        return;
    if (!grow(b, (void **)&b->calls, &b->cap_calls, b->ncalls + 1, sizeof(wr_sm_rec)))
        return;
    b->calls[b->ncalls++] = (wr_sm_rec){word, node};
}

wr_stackmap *wr_smb_finish(wr_sm_builder *b, uint32_t (*map_slot)(uint32_t tagged, const void *ctx),
                           const void *ctx, bool *oom)
{
    *oom = b->oom;
    if (b->oom || (b->npoints == 0 && b->ncalls == 0 && b->base == WR_SM_NONE))
        return NULL; /* nothing but empty sets: no map */
    /* Only the nodes some set reaches are kept: mark them, renumber, then copy. */
    uint32_t *keep = calloc(b->nnodes ? b->nnodes : 1, sizeof *keep);
    wr_stackmap *sm = calloc(1, sizeof *sm);
    if (!keep || !sm) {
        free(keep);
        free(sm);
        *oom = true;
        return NULL;
    }
    for (uint32_t n = b->base; n != WR_SM_NONE && !keep[n]; n = b->nodes[n].next)
        keep[n] = 1;
    for (uint32_t i = 0; i < b->npoints; i++)
        for (uint32_t n = b->points[i].node; n != WR_SM_NONE && !keep[n]; n = b->nodes[n].next)
            keep[n] = 1;
    for (uint32_t i = 0; i < b->ncalls; i++)
        for (uint32_t n = b->calls[i].node; n != WR_SM_NONE && !keep[n]; n = b->nodes[n].next)
            keep[n] = 1;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < b->nnodes; i++)
        keep[i] = keep[i] ? ++kept : 0; /* new index + 1 */
#define RENUMBER(n) ((n) == WR_SM_NONE ? WR_SM_NONE : keep[n] - 1)
    sm->nodes = malloc((kept ? kept : 1) * sizeof *sm->nodes);
    sm->points = malloc((b->npoints ? b->npoints : 1) * sizeof *sm->points);
    sm->calls = malloc((b->ncalls ? b->ncalls : 1) * sizeof *sm->calls);
    if (!sm->nodes || !sm->points || !sm->calls) {
        free(keep);
        wr_stackmap_free(sm);
        *oom = true;
        return NULL;
    }
    for (uint32_t i = 0; i < b->nnodes; i++)
        if (keep[i])
            sm->nodes[keep[i] - 1] = (wr_sm_node){map_slot(b->nodes[i].slot, ctx), RENUMBER(b->nodes[i].next)};
    for (uint32_t i = 0; i < b->npoints; i++)
        sm->points[i] = (wr_sm_rec){b->points[i].word, RENUMBER(b->points[i].node)};
    for (uint32_t i = 0; i < b->ncalls; i++)
        sm->calls[i] = (wr_sm_rec){b->calls[i].word, RENUMBER(b->calls[i].node)};
    sm->base = RENUMBER(b->base);
#undef RENUMBER
    sm->nnodes = kept;
    sm->npoints = b->npoints;
    sm->ncalls = b->ncalls;
    free(keep);
    return sm;
}

uint32_t wr_stackmap_find(const wr_stackmap *sm, uint32_t word, int kind)
{
    if (kind == WR_SM_CALL) {
        int64_t i = last_at(sm->calls, sm->ncalls, word);
        return i >= 0 && sm->calls[i].word == word ? sm->calls[i].node : sm->base;
    }
    int64_t i = last_at(sm->points, sm->npoints, word);
    return i < 0 ? sm->base : sm->points[i].node;
}

size_t wr_stackmap_bytes(const wr_stackmap *sm)
{
    if (!sm)
        return 0;
    return sizeof *sm + (size_t)sm->nnodes * sizeof(wr_sm_node) +
           ((size_t)sm->npoints + sm->ncalls) * sizeof(wr_sm_rec);
}

void wr_stackmap_free(wr_stackmap *sm)
{
    if (!sm)
        return;
    free(sm->nodes);
    free(sm->points);
    free(sm->calls);
    free(sm);
}
