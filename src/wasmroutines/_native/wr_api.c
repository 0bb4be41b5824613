/* wr_api.c: the narrow C API Python sees through cffi: thin wrappers over the runtime. */
#include <stdlib.h>
#include <string.h>

#include "wr_api.h"
#include "wr_futex.h"
#include "wr_gcobj.h"
#include "wr_stackmap.h"

/* ---- store ---- */

void wr_api_store_set_limits(wr_store *s, uint64_t max_memory_pages, uint32_t max_table_elems,
                             uint32_t max_call_depth, uint32_t stack_slots)
{
    if (max_memory_pages)
        s->config.max_memory_pages = max_memory_pages < WR_MAX_PAGES64 ? max_memory_pages : WR_MAX_PAGES64;
    if (max_table_elems)
        s->config.max_table_elems = max_table_elems;
    if (max_call_depth)
        s->config.max_call_depth = max_call_depth;
    if (stack_slots)
        s->config.stack_slots = stack_slots;
}

void wr_api_store_set_gc_limit(wr_store *s, uint64_t max_bytes)
{
    if (max_bytes)
        s->config.max_gc_bytes = max_bytes;
}

uint64_t wr_api_store_gc_bytes(const wr_store *s) { return s->gc_bytes; }

int wr_api_gc_kind(uint64_t ref) { return wr_gc_obj(ref)->type->kind; }

uint32_t wr_api_gc_type_id(uint64_t ref) { return wr_gc_obj(ref)->type_id; }

int wr_api_type_kind(const wr_store *s, uint32_t id) { return id < s->ntypes ? s->type_kind[id] : 0; }

/* ---- types ---- */

/* A value type the host may give: a number type, or a reference to an
 * abstract heap type or to a type of the store. */
static bool api_valtype_ok(const wr_store *s, wr_valtype t)
{
    if (wr_valtype_is_num(t))
        return true;
    if (t & ~((WR_HT_MAX_INDEX << WR_HT_INDEX_SHIFT) | WR_REF_NONNULL | 0xFFu))
        return false;
    if (wr_valtype_is_concrete(t))
        return wr_valtype_index(t) < s->ntypes;
    return wr_heaptype_is_abstract(wr_valtype_code(t));
}

int wr_api_valtype_ok(const wr_store *s, uint32_t t) { return api_valtype_ok(s, t); }

static void out_clear(uint8_t kind, wr_api_externtype *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->type_index = WR_API_NO_TYPE;
}

static void functype_out(const wr_functype *ft, wr_api_externtype *out)
{
    out_clear(WR_EXTERN_FUNC, out);
    out->params = wr_functype_params(ft);
    out->nparams = ft->nparams;
    out->results = wr_functype_results(ft);
    out->nresults = ft->nresults;
}

static void limits_out(uint8_t kind, uint64_t min, const wr_limits *l, wr_api_externtype *out)
{
    out_clear(kind, out);
    out->min = min;
    out->max = l->has_max ? l->max : 0;
    out->has_max = l->has_max;
    out->shared = l->shared;
    out->is64 = l->is64;
}

static void tabletype_out(const wr_tabletype *tt, uint64_t min, wr_api_externtype *out)
{
    limits_out(WR_EXTERN_TABLE, min, &tt->limits, out);
    out->valtype = tt->elemtype;
}

/* A tag's type: its params (the payload), kind WR_EXTERN_TAG. */
static void tagtype_out(const wr_functype *ft, wr_api_externtype *out)
{
    functype_out(ft, out);
    out->kind = WR_EXTERN_TAG;
}

static void globaltype_out(const wr_globaltype *gt, wr_api_externtype *out)
{
    out_clear(WR_EXTERN_GLOBAL, out);
    out->valtype = gt->type;
    out->mutable_ = gt->mutable_;
}

/* ---- modules ---- */

wr_module *wr_api_module_load(const uint8_t *bytes, size_t size, wr_error *err)
{
    return wr_module_load(bytes, size, err);
}

wr_module *wr_api_module_load_features(const uint8_t *bytes, size_t size, uint32_t features, wr_error *err)
{
    return wr_module_load_features(bytes, size, features, err);
}

uint32_t wr_api_module_nimports(const wr_module *m)
{
    return m->nimports;
}
uint32_t wr_api_module_nexports(const wr_module *m)
{
    return m->nexports;
}
uint32_t wr_api_module_ncustoms(const wr_module *m)
{
    return m->ncustoms;
}

int wr_api_module_import(const wr_module *m, uint32_t i, const char **module, uint32_t *module_len,
                         const char **name, uint32_t *name_len, wr_api_externtype *type)
{
    if (i >= m->nimports)
        return -1;
    const wr_import *imp = &m->imports[i];
    *module = imp->module;
    *module_len = imp->module_len;
    *name = imp->name;
    *name_len = imp->name_len;
    switch (imp->kind) {
    case WR_EXTERN_FUNC:
        functype_out(&m->types[imp->desc.func_type], type);
        type->type_index = imp->desc.func_type;
        break;
    case WR_EXTERN_TABLE:
        tabletype_out(&imp->desc.table, imp->desc.table.limits.min, type);
        break;
    case WR_EXTERN_MEMORY:
        limits_out(WR_EXTERN_MEMORY, imp->desc.memory.min, &imp->desc.memory, type);
        break;
    case WR_EXTERN_GLOBAL:
        globaltype_out(&imp->desc.global, type);
        break;
    case WR_EXTERN_TAG:
        tagtype_out(&m->types[imp->desc.tag_type], type);
        type->type_index = imp->desc.tag_type;
        break;
    default:
        out_clear(imp->kind, type);
        break;
    }
    return 0;
}

int wr_api_module_export(const wr_module *m, uint32_t i, const char **name, uint32_t *name_len,
                         wr_api_externtype *type)
{
    if (i >= m->nexports)
        return -1;
    const wr_export *e = &m->exports[i];
    *name = e->name;
    *name_len = e->name_len;
    switch (e->kind) {
    case WR_EXTERN_FUNC:
        functype_out(wr_module_func_type(m, e->index), type);
        type->type_index = m->funcs[e->index].type;
        break;
    case WR_EXTERN_TABLE:
        tabletype_out(&m->tables[e->index], m->tables[e->index].limits.min, type);
        break;
    case WR_EXTERN_MEMORY:
        limits_out(WR_EXTERN_MEMORY, m->mems[e->index].min, &m->mems[e->index], type);
        break;
    case WR_EXTERN_GLOBAL:
        globaltype_out(&m->globals[e->index].type, type);
        break;
    case WR_EXTERN_TAG:
        tagtype_out(&m->types[m->tags[e->index]], type);
        type->type_index = m->tags[e->index];
        break;
    default:
        out_clear(e->kind, type);
        break;
    }
    return 0;
}

int wr_api_module_custom(const wr_module *m, uint32_t i, const char **name, uint32_t *name_len,
                         const uint8_t **data, uint32_t *size)
{
    if (i >= m->ncustoms)
        return -1;
    const wr_custom_section *c = &m->customs[i];
    *name = c->name;
    *name_len = c->name_len;
    *data = c->data;
    *size = c->size;
    return 0;
}

const char *wr_api_module_name(const wr_module *m)
{
    return m->name;
}

int wr_api_module_type_kind(const wr_module *m, uint32_t index)
{
    wr_typectx cx = wr_module_typectx(m);
    return wr_typectx_kind(&cx, index);
}

uint32_t wr_api_store_module_type(wr_store *s, const wr_module *m, uint32_t index)
{
    if (index >= m->ntypes)
        return WR_API_NO_TYPE;
    uint32_t *ids = malloc((size_t)m->ntypes * sizeof *ids);
    if (!ids)
        return WR_API_NO_TYPE;
    uint32_t id = wr_store_intern_module_types(s, m, ids) ? WR_API_NO_TYPE : ids[index];
    free(ids);
    return id;
}

const char *wr_api_module_func_name(const wr_module *m, uint32_t funcidx)
{
    return m->func_names && funcidx < m->nfuncs ? m->func_names[funcidx] : NULL;
}

/* ---- functions ---- */

wr_func *wr_api_func_new_host_id(wr_store *s, uint32_t id, uint64_t host_id)
{
    return wr_func_new_host_id(s, id, host_id);
}

wr_func *wr_api_func_new_host(wr_store *s, const uint32_t *params, uint32_t nparams, const uint32_t *results,
                              uint32_t nresults, uint64_t host_id)
{
    size_t n = (size_t)nparams + nresults;
    for (uint32_t i = 0; i < nparams; i++)
        if (!api_valtype_ok(s, params[i]))
            return NULL;
    for (uint32_t i = 0; i < nresults; i++)
        if (!api_valtype_ok(s, results[i]))
            return NULL;
    wr_valtype small[32];
    wr_valtype *types = n <= 32 ? small : malloc(n * sizeof *types);
    if (!types)
        return NULL;
    if (nparams)
        memcpy(types, params, nparams * sizeof *types);
    if (nresults)
        memcpy(types + nparams, results, nresults * sizeof *types);
    wr_functype ft = {.nparams = nparams, .nresults = nresults, .types = types}; /* slots: the store recomputes them */
    wr_func *f = wr_func_new_host(s, &ft, host_id);
    if (types != small)
        free(types);
    return f;
}

void wr_api_func_type(const wr_func *f, wr_api_externtype *out)
{
    functype_out(f->type, out);
}

uint32_t wr_api_func_type_id(const wr_func *f)
{
    return f->type_id;
}

int wr_api_type_sub(const wr_store *s, uint32_t a, uint32_t b)
{
    return a < s->ntypes && b < s->ntypes && wr_store_type_sub(s, a, b);
}

int wr_api_func_host_id(const wr_func *f, uint64_t *host_id)
{
    if (f->inst)
        return 0;
    *host_id = f->host_id;
    return 1;
}

uint32_t wr_api_func_index(const wr_func *f)
{
    return f->index;
}

const char *wr_api_func_name(const wr_func *f)
{
    return f->inst ? wr_api_module_func_name(f->inst->module, f->index) : NULL;
}

const char *wr_api_func_export_name(const wr_func *f)
{
    if (!f->inst)
        return NULL;
    const wr_module *m = f->inst->module;
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WR_EXTERN_FUNC && m->exports[i].index == f->index)
            return m->exports[i].name;
    return NULL;
}

const char *wr_api_func_module_name(const wr_func *f)
{
    return f->inst ? f->inst->module->name : NULL;
}

/* ---- memories ---- */

wr_memory *wr_api_memory_new(wr_store *s, uint64_t min, uint64_t max, int has_max, int shared, int is64)
{
    /* The validation rules for a memory type; shared memories need a max. */
    uint64_t limit = is64 ? WR_MAX_PAGES_DECL64 : WR_MAX_PAGES;
    if (min > limit || (has_max && (max > limit || max < min)) || (shared && !has_max))
        return NULL;
    wr_limits l = {min, has_max ? max : 0, has_max != 0, shared != 0, is64 != 0};
    return wr_memory_new(s, &l);
}

uint8_t *wr_api_memory_data(const wr_memory *m)
{
    return m->base;
}
uint64_t wr_api_memory_size(const wr_memory *m)
{
    return m->size;
}
int64_t wr_api_memory_grow(wr_memory *m, uint64_t delta_pages)
{
    return wr_memory_grow(m, delta_pages);
}

void wr_api_memory_type(const wr_memory *m, wr_api_externtype *out)
{
    limits_out(WR_EXTERN_MEMORY, m->pages, &m->limits, out);
    out->shared = m->shared;
}

/* ---- tables ---- */

wr_table *wr_api_table_new(wr_store *s, uint32_t elemtype, uint64_t min, uint64_t max, int has_max,
                           uint64_t init, int is64)
{
    if (!api_valtype_ok(s, elemtype) || (init == 0 && !wr_valtype_nullable(elemtype)))
        return NULL;
    if ((!is64 && (min > UINT32_MAX || (has_max && max > UINT32_MAX))) || (has_max && max < min))
        return NULL;
    wr_limits l = {min, has_max ? max : 0, has_max != 0, false, is64 != 0};
    return wr_table_new(s, elemtype, &l, init);
}

uint32_t wr_api_table_size(const wr_table *t)
{
    return t->size;
}

int wr_api_table_get(const wr_table *t, uint64_t i, uint64_t *out)
{
    if (i >= t->size)
        return -1;
    *out = t->elems[i];
    return 0;
}

int wr_api_table_set(wr_table *t, uint64_t i, uint64_t ref)
{
    if (i >= t->size)
        return -1;
    t->elems[i] = ref;
    return 0;
}

int64_t wr_api_table_grow(wr_table *t, uint64_t delta, uint64_t init)
{
    return delta > UINT32_MAX ? -1 : wr_table_grow(t, (uint32_t)delta, init);
}

void wr_api_table_type(const wr_table *t, wr_api_externtype *out)
{
    limits_out(WR_EXTERN_TABLE, t->size, &t->limits, out);
    out->valtype = t->elemtype;
}

/* ---- globals ---- */

wr_global *wr_api_global_new(wr_store *s, uint32_t valtype, int mutable_, uint64_t lo, uint64_t hi)
{
    if (!api_valtype_ok(s, valtype) || (wr_valtype_is_ref(valtype) && lo == 0 && !wr_valtype_nullable(valtype)))
        return NULL;
    wr_globaltype gt = {valtype, mutable_ != 0};
    return wr_global_new(s, gt, lo, hi);
}

void wr_api_global_get(const wr_global *g, uint64_t out[2])
{
    out[0] = g->val[0];
    out[1] = g->val[1];
}

void wr_api_global_set(wr_global *g, uint64_t lo, uint64_t hi)
{
    g->val[0] = lo;
    g->val[1] = hi;
}

void wr_api_global_type(const wr_global *g, wr_api_externtype *out)
{
    globaltype_out(&g->type, out);
}

/* ---- instances ---- */

int wr_api_instance_new(wr_store *s, const wr_module *m, const wr_extern *imports, uint32_t nimports,
                        wr_instance **out, wr_error *err)
{
    return wr_instance_new(s, m, imports, nimports, out, err);
}

wr_func *wr_api_instance_start(const wr_instance *inst)
{
    return wr_instance_start(inst);
}

int wr_api_instance_export(const wr_instance *inst, uint32_t i, wr_extern *out)
{
    if (i >= inst->module->nexports)
        return -1;
    *out = wr_instance_export(inst, i);
    return 0;
}

/* ---- threads ---- */

wr_func *wr_api_thread_host_func(const wr_thread *t)
{
    return t->host_func;
}
uint64_t *wr_api_thread_host_args(const wr_thread *t)
{
    return t->host_args;
}
uint64_t *wr_api_thread_host_call(const wr_thread *t, uint64_t *host_id)
{
    const wr_func *f = t->host_func;
    if (f == NULL || !wr_api_func_host_id(f, host_id))
        return NULL;
    return t->host_args;
}
int wr_api_exec(wr_thread *t)
{
    int status = wr_exec(t);
    return wr_api_store_has_news(t->store) ? status | WR_API_NEWS : status;
}
int wr_api_exec_slice(wr_thread *t, int64_t budget)
{
    t->budget = budget;
    return wr_api_exec(t);
}
void wr_api_thread_host_peek(const wr_thread *t, int64_t out[2])
{
    const wr_func *f = t->host_func;
    if (f == NULL || f->inst) {
        out[0] = -1;
        out[1] = 0;
        return;
    }
    out[0] = (int64_t)f->host_id;
    out[1] = f->type->nparams && f->type->types[0] == WR_I32 ? (int32_t)(uint32_t)t->host_args[0] : 0;
}
int wr_api_exec_host(wr_thread *t, int64_t budget, int64_t result, int64_t out[2])
{
    const wr_func *f = t->host_func;
    /* Only into a host call waiting for its results, and only a slot it has (its results' area is its own). */
    if (result != WR_API_NO_RESULT && t->host_pending && f != NULL && f->inst == NULL && f->type->result_slots)
        t->host_args[0] = (uint32_t)result;
    if (budget >= 0)
        t->budget = budget;
    int status = wr_api_exec(t);
    if ((status & ~WR_API_NEWS) == WR_HOSTCALL)
        wr_api_thread_host_peek(t, out);
    return status;
}
int wr_api_thread_trap(const wr_thread *t)
{
    return t->trap;
}
uint32_t wr_api_thread_backtrace_len(const wr_thread *t)
{
    return t->nbacktrace;
}

void wr_api_thread_backtrace(const wr_thread *t, uint32_t i, const wr_func **func, uint32_t *offset)
{
    if (i >= t->nbacktrace || i >= WR_BACKTRACE_MAX) {
        *func = NULL;
        *offset = 0;
        return;
    }
    *func = t->backtrace[i].func;
    *offset = t->backtrace[i].offset;
}

void wr_api_thread_set_budget(wr_thread *t, int64_t budget)
{
    t->budget = budget;
}

uint32_t wr_api_thread_depth(const wr_thread *t)
{
    return t->nframes;
}

/* ---- futex waits ---- */

uint64_t wr_api_thread_host_id(const wr_thread *t) { return t->host_id; }

int wr_api_thread_wait_info(const wr_thread *t, uint64_t *addr, int64_t *timeout_ns)
{
    if (t->io_parked) {
        /* In the reactor (its timeout, if any, the store's clock keeps): one descriptor, a sleep, or a poll. */
        *timeout_ns = -1;
        if (t->io_n == 1) {
            *addr = t->io_one >> 1;
            return t->io_one & 1 ? 3 : 2;
        }
        *addr = t->io_n;
        return t->io_n ? 5 : 4;
    }
    if (!t->wait_mem)
        return 0;
    *addr = t->wait_addr;
    *timeout_ns = t->timer_pos ? -1 : t->wait_timeout; /* the store's clock keeps it: nothing for the host */
    return 1;
}

int wr_api_thread_cancel_wait(wr_thread *t) { return wr_thread_cancel_wait(t); }

wr_thread *wr_api_store_take_woken(wr_store *s) { return wr_futex_take_woken(s); }

void wr_api_store_set_fuel(wr_store *s, int enabled, int64_t fuel)
{
    s->fuel_enabled = enabled != 0;
    s->fuel = fuel;
}

int64_t wr_api_store_fuel(const wr_store *s) { return s->fuel; }

uint64_t wr_api_store_ran(const wr_store *s) { return s->ran; }

void wr_api_store_set_sched(wr_store *s, wr_policy *p, uint32_t check_every, uint64_t check_units)
{
    s->sched = p;
    s->check_every = s->check_left = check_every ? check_every : 1;
    s->check_units = check_units ? check_units : 1;
    s->check_at = s->ran + s->check_units;
}

void wr_api_store_set_wall_deadline(wr_store *s, int64_t deadline_ns) { s->wall_deadline_ns = deadline_ns; }

void wr_api_store_set_host_stops_after(wr_store *s, uint64_t units) { s->host_stops_after = units; }

int64_t wr_api_store_handover(const wr_store *s) { return s->handover ? (int64_t)s->handover->host_id : -1; }

wr_thread *wr_api_store_take_changed(wr_store *s) { return wr_exec_take_changed(s); }

int wr_api_store_has_news(const wr_store *s)
{
    return s->woken_head != NULL || s->changed_head != NULL || (s->sched != NULL && s->sched->nevents != 0);
}

void wr_api_thread_adopt(wr_thread *t, uint64_t host_id, wr_task *task, int explore)
{
    t->host_id = host_id;
    wr_task_bind(task, t);
    t->explore_shared = explore != 0;
    t->access_granted = false;
}

int wr_api_thread_begin(wr_thread *t, wr_func *f, const uint64_t *args)
{
    int code = wr_thread_call(t, f, args);
    if (code == 0)
        t->resumable = true;
    return code;
}

int wr_api_thread_sched_state(const wr_thread *t)
{
    if (t->task && t->task->qpos != WR_TASK_IDLE)
        return 0;
    /* A parked thread runs next whatever it stopped with (a timed wait is its host's to set up). */
    return wr_thread_waits(t) && !t->parked ? 1 : 2;
}

uint64_t wr_api_task_host_id(const wr_task *t) { return t->host_id; }

int wr_api_thread_exhausted(const wr_thread *t) { return t->exhausted; }

void wr_api_thread_capture_backtrace(wr_thread *t)
{
    if (t->func == NULL || t->func->code == NULL) {
        t->nbacktrace = 0;
        return;
    }
    /* pc is past the instruction that suspended: step back into it. */
    const wr_word *pc = t->pc > t->func->code->words ? t->pc - 1 : t->pc;
    wr_thread_record_backtrace(t, t->func, pc);
}

void wr_api_thread_set_explore(wr_thread *t, int on)
{
    t->explore_shared = on != 0;
    t->access_granted = false;
}

/* ---- thread templates ---- */

int wr_api_instance_new_like(const wr_instance *like, wr_instance **out, wr_error *err)
{
    return wr_instance_new_like(like, out, err);
}

wr_func *wr_api_instance_export_func(const wr_instance *inst, uint32_t i)
{
    if (i >= inst->module->nexports || inst->module->exports[i].kind != WR_EXTERN_FUNC)
        return NULL;
    return wr_instance_export(inst, i).ptr;
}

/* ---- green threads the core makes ---- */

wr_thread *wr_api_pool_take(wr_store *s) { return wr_pool_take(s); }

void wr_api_pool_give(wr_thread *t) { wr_pool_give(t); }

void wr_api_store_free_threads(wr_store *s) { wr_pool_free_all(s); }

uint64_t wr_api_store_new_host_id(wr_store *s) { return s->next_host_id++; }

void wr_api_store_count_threads(wr_store *s, int delta) { s->threads_alive += (uint64_t)(int64_t)delta; }

uint64_t wr_api_store_threads_alive(const wr_store *s) { return s->threads_alive; }

void wr_api_store_set_counts(wr_store *s, uint64_t next_host_id, uint64_t threads_alive)
{
    s->next_host_id = next_host_id;
    s->threads_alive = threads_alive;
}

void wr_api_store_set_max_threads(wr_store *s, uint64_t max_threads) { s->max_threads = max_threads; }

void wr_api_store_set_explore(wr_store *s, int on)
{
    s->explore_shared = on != 0;
    for (wr_thread *t = s->threads_used; t; t = t->pool_next)
        wr_api_thread_set_explore(t, on);
}

void wr_api_thread_spawn_info(wr_thread *t, wr_api_spawn_info *out)
{
    out->spawner = t->spawner;
    out->entry = t->entry;
    out->tid = t->spawn_tid;
    out->arg = t->spawn_arg;
    out->host_id = t->host_id;
    out->task = t->task;
    out->owned = t->core_owned;
}

void wr_api_thread_disown(wr_thread *t) { wr_spawn_disown(t); }

wr_thread *wr_api_store_next_owned(wr_store *s, wr_thread *t) { return wr_spawn_next_owned(s, t); }

wr_thread *wr_api_store_handover_thread(const wr_store *s) { return s->handover ? s->handover->thread : NULL; }

wr_task *wr_api_store_pop(wr_store *s, int *started)
{
    bool b;
    wr_task *t = wr_exec_pop(s, &b);
    *started = b;
    return t;
}

wr_thread *wr_api_task_thread(const wr_task *t) { return t->thread; }

wr_spawner *wr_api_spawner_new(const wr_instance *like, uint32_t entry, uint64_t module_size)
{
    return wr_spawner_new(like, entry, module_size);
}

int32_t wr_api_spawn(wr_spawner *sp, wr_thread *caller, uint32_t arg, int own, wr_thread **out)
{
    return wr_spawn(sp, caller, arg, own != 0, out);
}

int32_t wr_api_spawn_finish(wr_spawner *sp, wr_thread *caller, int own, wr_thread **out)
{
    return wr_spawn_finish(sp, caller, own != 0, out);
}

void wr_api_spawn_abandon(wr_thread *caller) { wr_spawn_abandon(caller); }

int wr_api_spawn_pending_status(const wr_thread *caller) { return caller->spawn_pending_status; }

void wr_api_spawner_attach(wr_spawner *sp, wr_func *f)
{
    if (f->code == NULL) {
        f->native = sp ? wr_spawn_native : NULL;
        f->native_ctx = sp;
    }
}

uint64_t wr_api_spawner_spawned(const wr_spawner *sp) { return sp->spawned; }

void wr_api_store_set_native_spawns(wr_store *s, int on) { s->native_spawns = on != 0; }

void wr_api_store_set_max_module_size(wr_store *s, uint64_t bytes) { s->max_module_size = bytes; }

uint64_t wr_api_store_pool_threads(const wr_store *s)
{
    uint64_t n = s->nthreads_idle;
    for (const wr_thread *t = s->threads_used; t; t = t->pool_next)
        n++;
    return n;
}

uint32_t wr_api_spawner_next_tid(const wr_spawner *sp) { return sp->next_tid; }

void wr_api_spawner_set_next_tid(wr_spawner *sp, uint32_t tid) { sp->next_tid = tid; }

/* ---- the IO reactor and native WASI calls ---- */

int wr_api_io_poll(wr_store *s, int timeout_ms) { return wr_io_poll(s, timeout_ms); }

uint32_t wr_api_io_waiters(const wr_store *s) { return wr_io_waiters(s); }

int wr_api_io_fd(const wr_store *s) { return wr_io_fd(s); }

void wr_api_wasi_native_sched_yield(wr_func *f) { wr_wasi_native_sched_yield(f); }

const char *wr_api_io_backend(void) { return wr_io_backend(); }

void wr_api_io_forget_fd(wr_store *s, int fd) { wr_io_forget_fd(s, fd); }

void wr_api_io_set_may_block(wr_store *s, int may_block) { wr_io_set_may_block(s, may_block != 0); }

wr_wasi_fast *wr_api_wasi_fast_new(wr_store *s, const uint8_t *errno_map, uint32_t n)
{
    return wr_wasi_fast_new(s, errno_map, n);
}

void wr_api_wasi_fast_set_memory(wr_wasi_fast *w, wr_memory *m) { wr_wasi_fast_set_memory(w, m); }

int wr_api_wasi_fast_set_fd(wr_wasi_fast *w, uint32_t fd, int host_fd, uint32_t flags)
{
    return wr_wasi_fast_set_fd(w, fd, host_fd, flags);
}

void wr_api_wasi_fast_clear_fd(wr_wasi_fast *w, uint32_t fd) { wr_wasi_fast_clear_fd(w, fd); }

int wr_api_wasi_fast_attach(wr_wasi_fast *w, wr_func *f, const char *name) { return wr_wasi_fast_attach(w, f, name); }

/* ---- the store's clock (wr_timer.h) ---- */

void wr_api_store_set_clock(wr_store *s, int kind, int64_t virtual_now)
{
    s->clock_kind = (uint8_t)kind;
    s->virtual_now = virtual_now;
}

int64_t wr_api_store_virtual_now(const wr_store *s) { return s->virtual_now; }

void wr_api_store_set_virtual_now(wr_store *s, int64_t now) { s->virtual_now = now; }

int64_t wr_api_store_next_timeout(const wr_store *s) { return wr_timer_next(s); }

int64_t wr_api_store_watch(const wr_store *s, int *io_fd)
{
    *io_fd = wr_io_waiters(s) ? wr_io_fd(s) : -2;
    return wr_timer_next(s);
}

uint32_t wr_api_store_fire_timeouts(wr_store *s) { return wr_timer_fire(s); }

int wr_api_store_idle(wr_store *s) { return wr_exec_idle(s); }

uint32_t wr_api_store_core_wakeups(const wr_store *s) { return wr_io_waiters(s) + s->ntimers; }

/* ---- exception handling ---- */

wr_tag *wr_api_tag_new_id(wr_store *s, uint32_t id) { return wr_tag_new_id(s, id); }

wr_tag *wr_api_tag_new(wr_store *s, const uint32_t *params, uint32_t nparams)
{
    wr_functype ft = {.nparams = nparams, .types = (wr_valtype *)params};
    for (uint32_t i = 0; i < nparams; i++) {
        if (!api_valtype_ok(s, params[i]))
            return NULL;
        ft.param_slots += wr_valtype_slots(params[i]);
    }
    return wr_tag_new(s, &ft);
}

void wr_api_tag_type(const wr_tag *t, wr_api_externtype *out) { tagtype_out(t->type, out); }

wr_exn *wr_api_exn_new(wr_store *s, wr_tag *tag, const uint64_t *payload) { return wr_exn_new(s, tag, payload); }

void wr_api_exn_pin(wr_exn *e) { e->pins++; }

void wr_api_exn_unpin(wr_store *s, wr_exn *e) { wr_gc_exn_unpin(s, e); }

wr_tag *wr_api_exn_tag(const wr_exn *e) { return e->tag; }

const uint64_t *wr_api_exn_payload(const wr_exn *e) { return e->payload; }

uint64_t wr_api_exn_ref(const wr_exn *e) { return wr_exn_ref(e); }

wr_exn *wr_api_ref_exn(uint64_t ref) { return wr_ref_exn(ref); }

wr_exn *wr_api_thread_exn(const wr_thread *t) { return t->exn; }

void wr_api_thread_throw(wr_thread *t, wr_exn *e) { t->pending_exn = e; }

/* ---- GC roots ---- */

size_t wr_api_gc_collect(wr_store *s, uint8_t *bits, size_t nbits) { return wr_gc_collect(s, bits, nbits); }

uint64_t wr_api_gc_collections(const wr_store *s) { return s->gc_collections; }

uint64_t wr_api_gc_steps(const wr_store *s) { return s->gc_steps; }

uint64_t wr_api_gc_max_pause_ns(const wr_store *s) { return s->gc_max_pause_ns; }

void wr_api_gc_reset_max_pause(wr_store *s) { s->gc_max_pause_ns = 0; }

void wr_api_gc_stress(wr_store *s, int mode)
{
    s->gc_stress = mode;
    s->gc_threshold = mode ? 0 : WR_GC_MIN_THRESHOLD;
}

void wr_api_gc_pin(wr_store *s, uint64_t ref) { wr_gc_pin(s, ref); }

void wr_api_gc_unpin(wr_store *s, uint64_t ref) { wr_gc_unpin(s, ref); }

wr_thread *wr_api_host_thread_new(wr_store *s)
{
    wr_thread *t = wr_thread_new(s);
    if (t)
        s->host_thread = t;
    return t;
}

void wr_api_thread_host_returned(wr_thread *t) { t->host_pending = false; }

typedef struct root_values {
    uint64_t *out;
    size_t cap, n;
} root_values;

static void take_root_value(void *ctx, const uint64_t *slot)
{
    root_values *r = ctx;
    if (r->n < r->cap)
        r->out[r->n] = *slot;
    r->n++;
}

size_t wr_api_thread_roots(const wr_thread *t, uint64_t *out, size_t cap)
{
    root_values r = {out, cap, 0};
    wr_gc_thread_roots(t, take_root_value, &r);
    return r.n;
}

int64_t wr_api_func_stackmap(const wr_func *f, uint32_t word, int kind, uint32_t *out, uint32_t cap)
{
    const wr_stackmap *sm = f->code ? f->code->stackmap : NULL;
    if (!sm)
        return -1;
    int64_t n = 0;
    for (uint32_t i = wr_stackmap_find(sm, word, kind); i != WR_SM_NONE; i = sm->nodes[i].next, n++)
        if ((uint64_t)n < cap)
            out[n] = sm->nodes[i].slot;
    return n;
}

uint32_t wr_api_module_stackmaps(const wr_module *m, uint64_t *bytes, uint64_t *points, uint64_t *calls)
{
    uint32_t n = 0;
    *bytes = *points = *calls = 0;
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        const wr_code *code = m->funcs[i].code;
        const wr_stackmap *sm = code ? code->stackmap : NULL;
        if (!sm)
            continue;
        n++;
        *bytes += wr_stackmap_bytes(sm);
        *points += sm->npoints;
        *calls += sm->ncalls;
    }
    return n;
}
