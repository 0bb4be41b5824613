/* fuzz_run.c: libFuzzer target: load, instantiate against stub imports, run the start function
 * and every exported function with zero arguments, each under a fuel limit.
 *
 * Stub imports, of the module's own types (its types are interned in the store first, so a concrete
 * heap type, a declared subtype or a type of a recursion group is the module's): a host function
 * returns zeros, and nulls for nullable references; one whose results include a non-nullable
 * reference traps when called (its call is abandoned), as there is no value to give. Memories,
 * tables (all null) and globals (zero, null) are created with the type the module asks for; a
 * non-nullable reference global or table has no stub (no value to fill it with), and the input is
 * not instantiated. The store's limits are small so one input stays fast: memory and table sizes,
 * the GC heap, call depth and the value stack are all capped below the defaults.
 *
 * WR_FUZZ_RUN_STATS set (any value): at exit, what became of the inputs, on stderr (one line: how many
 * did not load, had an import with no stub and why, failed to instantiate, were instantiated; how many
 * host calls trapped). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    FUEL_PER_CALL = 20000,     /* back-edges and calls per export */
    MAX_CALLS = 64,            /* exports called per input */
    MAX_MEMORY_PAGES = 160,    /* 10 MiB */
    MAX_TABLE_ELEMS = 100000,
    MAX_GC_BYTES = 64u << 20, /* GC's structs and arrays: an array.new of millions of elements traps at once */
    MAX_CALL_DEPTH = 2000,
    STACK_SLOTS = 1u << 16,
};

/* What became of the inputs (WR_FUZZ_RUN_STATS). */
enum { STUB_OK, STUB_NONNULL_GLOBAL, STUB_NONNULL_TABLE, STUB_FAILED };

static struct {
    unsigned long inputs, not_loaded, no_stub[STUB_FAILED + 1], not_instantiated, instantiated, host_traps;
} stats;

static void print_stats(void)
{
    unsigned long no_stub = stats.no_stub[STUB_NONNULL_GLOBAL] + stats.no_stub[STUB_NONNULL_TABLE] +
                            stats.no_stub[STUB_FAILED];
    fprintf(stderr,
            "fuzz_run stats: %lu inputs: %lu did not load, %lu had an import with no stub "
            "(%lu a non-nullable reference global, %lu a non-nullable reference table, %lu the stub failed), "
            "%lu failed to instantiate, %lu instantiated; %lu host calls trapped\n",
            stats.inputs, stats.not_loaded, no_stub, stats.no_stub[STUB_NONNULL_GLOBAL],
            stats.no_stub[STUB_NONNULL_TABLE], stats.no_stub[STUB_FAILED], stats.not_instantiated,
            stats.instantiated, stats.host_traps);
}

/* Why abort: a status outside wr_exec.h's list means the core broke its contract. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_run: %s\n", what);
    abort();
}

/* Run a started call to its end: serve host calls with zero results, end waits as timed out
 * (there is no other thread to notify), refill the slice; stop on fuel, traps and DONE. */
static void run_call(wr_thread *t)
{
    for (;;) {
        int st = wr_exec(t);
        switch (st) {
        case WR_DONE:
        case WR_TRAP:
            return;
        case WR_OUT_OF_FUEL:
            wr_thread_unwind(t);
            return;
        case WR_HOSTCALL: {
            wr_api_externtype ft;
            wr_api_func_type(wr_api_thread_host_func(t), &ft);
            uint64_t *slots = wr_api_thread_host_args(t);
            uint32_t n = 0;
            for (uint32_t i = 0; i < ft.nresults; i++) {
                if (wr_valtype_is_ref(ft.results[i]) && !wr_valtype_nullable(ft.results[i])) {
                    stats.host_traps++; /* no value of the type: the host traps (a null would break it) */
                    wr_thread_unwind(t);
                    return;
                }
                n += wr_valtype_slots(ft.results[i]);
            }
            memset(slots, 0, n * sizeof *slots);
            break;
        }
        case WR_YIELD:
            wr_api_thread_set_budget(t, 1 << 20);
            break;
        case WR_WAIT:
            if (!wr_api_thread_cancel_wait(t))
                fail("WR_WAIT but the thread is not waiting");
            break;
        default:
            fail("unknown wr_exec status");
        }
    }
}

static void call(wr_thread *t, wr_func *f)
{
    uint64_t host_id;
    if (wr_api_func_host_id(f, &host_id))
        return; /* a re-exported stub import: nothing of the module's runs */
    wr_api_externtype ft;
    wr_api_func_type(f, &ft);
    uint32_t nslots = 0;
    for (uint32_t i = 0; i < ft.nparams; i++)
        nslots += wr_valtype_slots(ft.params[i]);
    uint64_t *args = calloc(nslots ? nslots : 1, sizeof *args);
    if (!args)
        return;
    wr_api_store_set_fuel(t->store, 1, FUEL_PER_CALL);
    if (wr_thread_call(t, f, args) == 0)
        run_call(t);
    free(args);
    if (wr_api_thread_depth(t) != 0)
        fail("frames left on the thread after a call ended");
}

/* A stub for import i (STUB_OK), or why none can be made. `ids`: the module's types' store ids. */
static int stub_import(wr_store *s, const wr_module *m, const uint32_t *ids, uint32_t i, wr_extern *out)
{
    const char *mod, *name;
    uint32_t mod_len, name_len;
    wr_api_externtype ty;
    if (wr_api_module_import(m, i, &mod, &mod_len, &name, &name_len, &ty) != 0)
        fail("import index out of range");
    const wr_import *imp = &m->imports[i];
    /* A concrete heap type in an import's type is a type index of the module; in an object's, a store id. */
    wr_valtype vt = wr_valtype_map(ty.valtype, ids);
    bool nonnull_ref = wr_valtype_is_ref(vt) && !wr_valtype_nullable(vt);
    out->kind = ty.kind;
    switch (ty.kind) {
    case WR_EXTERN_FUNC: /* of the declared type itself: a subtype's or a recursion group's */
        out->ptr = wr_func_new_host_id(s, ids[imp->desc.func_type], i + 1);
        break;
    case WR_EXTERN_TABLE:
        if (nonnull_ref)
            return STUB_NONNULL_TABLE;
        out->ptr = wr_api_table_new(s, vt, ty.min, ty.max, ty.has_max, 0, ty.is64);
        break;
    case WR_EXTERN_MEMORY:
        out->ptr = wr_api_memory_new(s, ty.min, ty.max, ty.has_max, ty.shared, ty.is64);
        break;
    case WR_EXTERN_GLOBAL:
        if (nonnull_ref)
            return STUB_NONNULL_GLOBAL;
        out->ptr = wr_api_global_new(s, vt, ty.mutable_, 0, 0);
        break;
    case WR_EXTERN_TAG: /* exception handling: a new tag of the declared type (tags match exactly) */
        out->ptr = wr_tag_new_id(s, ids[imp->desc.tag_type]);
        break;
    default:
        fail("unknown import kind");
    }
    return out->ptr ? STUB_OK : STUB_FAILED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    if (!started) {
        started = 1;
        if (getenv("WR_FUZZ_RUN_STATS"))
            atexit(print_stats);
    }
    stats.inputs++;
    wr_error err = {0};
    wr_module *m = wr_api_module_load(data, size, &err);
    if (!m) {
        stats.not_loaded++;
        return 0;
    }
    wr_store *s = wr_store_new();
    if (!s)
        fail("wr_store_new");
    wr_api_store_set_limits(s, MAX_MEMORY_PAGES, MAX_TABLE_ELEMS, MAX_CALL_DEPTH, STACK_SLOTS);
    wr_api_store_set_gc_limit(s, MAX_GC_BYTES);

    uint32_t nimports = wr_api_module_nimports(m);
    wr_extern *imports = calloc(nimports ? nimports : 1, sizeof *imports);
    uint32_t *ids = NULL;
    wr_thread *t = NULL;
    wr_instance *inst = NULL;
    if (!imports)
        goto done;
    /* The module's types in the store (instantiation interns them again: the same ids). */
    ids = calloc(m->ntypes ? m->ntypes : 1, sizeof *ids);
    if (!ids || wr_store_intern_module_types(s, m, ids) != 0) {
        stats.no_stub[STUB_FAILED]++;
        goto done;
    }
    for (uint32_t i = 0; i < nimports; i++) {
        int why = stub_import(s, m, ids, i, &imports[i]);
        if (why != STUB_OK) {
            stats.no_stub[why]++;
            goto done;
        }
    }
    int rc = wr_api_instance_new(s, m, imports, nimports, &inst, &err);
    if (rc != 0) {
        stats.not_instantiated++;
        goto done; /* link error, over a limit, or a segment trapped */
    }
    stats.instantiated++;

    t = wr_thread_new(s);
    if (!t)
        goto done;
    wr_api_thread_set_budget(t, 1 << 20);
    wr_func *start = wr_api_instance_start(inst);
    if (start)
        call(t, start);

    uint32_t nexports = wr_api_module_nexports(m), ncalls = 0;
    for (uint32_t i = 0; i < nexports && ncalls < MAX_CALLS; i++) {
        wr_extern ext;
        if (wr_api_instance_export(inst, i, &ext) != 0)
            fail("export index out of range");
        if (ext.kind == WR_EXTERN_FUNC) {
            call(t, ext.ptr);
            ncalls++;
        }
    }

done:
    if (t)
        wr_thread_free(t);
    free(imports);
    free(ids);
    wr_store_free(s);
    wr_module_free(m);
    return 0;
}
