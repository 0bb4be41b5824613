/* wr_gc_roots.c: enumerating a store's GC roots exactly (wr_gc.h). */
#include "wr_gc.h"

#include "wr_stackmap.h"

/* The roots of `f`'s frame at `fp`, stopped at `pc` as `kind` says (wr_stackmap.h). */
static size_t frame_roots(const wr_func *f, const uint64_t *fp, const wr_word *pc, int kind, wr_gc_visit_fn visit,
                          void *ctx)
{
    const wr_stackmap *sm = f && f->code ? f->code->stackmap : NULL;
    if (!sm)
        return 0;
    size_t n = 0;
    uint32_t word = (uint32_t)(pc - f->code->words);
    for (uint32_t i = wr_stackmap_find(sm, word, kind); i != WR_SM_NONE; i = sm->nodes[i].next, n++)
        visit(ctx, fp + sm->nodes[i].slot);
    return n;
}

/* Slots of values of `types` (store ids: `cx`) at `slots`, those of a collected kind. */
static size_t typed_roots(const wr_valtype *types, uint32_t ntypes, const uint64_t *slots, const wr_typectx *cx,
                          wr_gc_visit_fn visit, void *ctx)
{
    size_t n = 0;
    for (uint32_t i = 0, at = 0; i < ntypes; at += wr_valtype_slots(types[i]), i++) {
        if (wr_stackmap_collected(types[i], cx)) {
            visit(ctx, slots + at);
            n++;
        }
    }
    return n;
}

size_t wr_gc_exn_slots(const wr_exn *e, const wr_typectx *cx, wr_gc_visit_fn visit, void *ctx)
{
    const wr_functype *ft = e->tag->type;
    return typed_roots(wr_functype_params(ft), ft->nparams, e->payload, cx, visit, ctx);
}

/* The exception `e` as a slot would name it (the slot is the visitor's for the while of the call). */
static size_t exn_root(const wr_exn *e, wr_gc_visit_fn visit, void *ctx)
{
    if (e == NULL)
        return 0;
    uint64_t ref = wr_exn_ref(e);
    visit(ctx, &ref);
    return 1;
}

size_t wr_gc_thread_roots(const wr_thread *t, wr_gc_visit_fn visit, void *ctx)
{
    /* Its exceptions in flight: the one a throw unwinds (made, or thrown again by throw_ref or the host), the
     * one the host threw at its host call, the one that left uncaught (until the thread's next call). */
    size_t n = exn_root(t->throw_exn, visit, ctx) + exn_root(t->pending_exn, visit, ctx) +
               exn_root(t->exn, visit, ctx);
    if (t->results_func) {
        const wr_functype *ft = t->results_func->type;
        wr_typectx cx = wr_store_typectx(t->store);
        n += typed_roots(wr_functype_results(ft), ft->nresults, t->results, &cx, visit, ctx);
    }
    if (t->nframes == 0)
        return n;
    /* The top frame where it stopped: at its pc, or in a host call (pc: the return position). Below it, each
     * frame is a caller in its call, or the frame a host entry interrupted: in its host call, or at a native
     * call, which runs again. */
    const wr_func *func = t->func;
    const uint64_t *fp = t->fp;
    const wr_word *pc = t->pc;
    int kind = t->host_pending ? WR_SM_CALL : WR_SM_AT;
    uint32_t i = t->nframes, k = t->nentries;
    for (;;) {
        n += frame_roots(func, fp, pc, kind, visit, ctx);
        if (i == 0)
            break;
        const wr_frame *fr = &WR_FRAME(t->frames, --i);
        if (fr->ret_func) {
            func = fr->ret_func;
            fp = fr->ret_fp;
            pc = fr->ret_pc;
            kind = WR_SM_CALL;
            continue;
        }
        if (k == 0 || i == 0)
            break; /* the host's first entry: no wasm below */
        const wr_entry *e = &t->entries[--k];
        func = e->func;
        fp = e->fp;
        pc = e->pc;
        kind = e->trampoline ? WR_SM_AT : WR_SM_CALL;
    }
    return n;
}

/* The roots an object of the store holds; `cx`: the store's types (globals', tables' and tags' types name
 * store ids; a module's element segments name the module's types). */
static size_t object_roots(wr_obj *o, const wr_typectx *cx, wr_gc_visit_fn visit, void *ctx)
{
    size_t n = 0;
    switch (o->kind) {
    case WR_EXTERN_GLOBAL: {
        wr_global *g = (wr_global *)o;
        if (wr_stackmap_collected(g->type.type, cx)) {
            visit(ctx, &g->val[0]);
            n++;
        }
        break;
    }
    case WR_EXTERN_TABLE: {
        wr_table *tb = (wr_table *)o;
        if (wr_stackmap_collected(tb->elemtype, cx)) {
            for (uint32_t i = 0; i < tb->size; i++)
                visit(ctx, &tb->elems[i]);
            n += tb->size;
        }
        break;
    }
    case WR_OBJ_INSTANCE: {
        wr_instance *inst = (wr_instance *)o;
        /* Its own globals live in the instance's block, not on the store's list (imported ones are there, or
         * in their own instance's). */
        for (uint32_t i = inst->module->nglobal_imports; i < inst->module->nglobals; i++)
            n += object_roots(&inst->globals[i]->hdr, cx, visit, ctx);
        wr_typectx mcx = wr_module_typectx(inst->module);
        for (uint32_t i = 0; i < inst->module->nelems; i++) {
            if (!wr_stackmap_collected(inst->module->elems[i].elemtype, &mcx))
                continue;
            for (uint32_t k = 0; k < inst->elem_sizes[i]; k++)
                visit(ctx, &inst->elem_refs[i][k]);
            n += inst->elem_sizes[i];
        }
        break;
    }
    default:
        break;
    }
    return n;
}

size_t wr_gc_roots(wr_store *s, wr_gc_visit_fn visit, void *ctx)
{
    size_t n = 0;
    for (const wr_thread *t = s->threads_used; t; t = t->pool_next)
        n += wr_gc_thread_roots(t, visit, ctx);
    if (s->host_thread)
        n += wr_gc_thread_roots(s->host_thread, visit, ctx);
    wr_typectx cx = wr_store_typectx(s);
    for (wr_obj *o = s->objects; o; o = o->next)
        n += object_roots(o, &cx, visit, ctx);
    return n;
}
