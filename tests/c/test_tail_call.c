/* test_tail_call.c: tail calls through the dispatch loop (wr_interp.c, do_tail_call), driven from C so
 * that the sanitizer presets run them: a tail-recursive loop in a constant frame stack, restarted at
 * every slice end, and tail calls to a host function, direct and through a table (and through the host's
 * round trip call, wr_api_exec_host). */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "wr_api.h"
#include "wr_exec.h"
#include "wr_module.h"

/* (module
 *   (type $ii (func (param i64 i64) (result i64)))
 *   (type $h (func (param i32) (result i32)))
 *   (import "env" "h" (func $h (type $h)))
 *   (table 1 funcref) (elem (i32.const 0) func $h)
 *   (func $sum (type $ii)            ;; sum(n, acc): acc + n + (n-1) + ... + 1, by tail calls
 *     (if (i64.eqz (local.get 0)) (then (return (local.get 1))))
 *     (return_call $sum (i64.sub (local.get 0) (i64.const 1)) (i64.add (local.get 1) (local.get 0))))
 *   (func $direct (type $h) (return_call $h (local.get 0)))
 *   (func $indirect (type $h) (return_call_indirect (type $h) (local.get 0) (i32.const 0)))) */
static const uint8_t module_bytes[] = {
    0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00,                               /* header */
    0x01, 0x0C, 0x02, 0x60, 0x02, 0x7E, 0x7E, 0x01, 0x7E, 0x60, 0x01, 0x7F, 0x01, 0x7F, /* types */
    0x02, 0x09, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'h', 0x00, 0x01,                 /* import */
    0x03, 0x04, 0x03, 0x00, 0x01, 0x01,                                           /* functions */
    0x04, 0x04, 0x01, 0x70, 0x00, 0x01,                                           /* table */
    0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x01, 0x00,                         /* elements */
    0x0A, 0x2A, 0x03,                                                             /* code */
    0x17, 0x00, 0x20, 0x00, 0x50, 0x04, 0x40, 0x20, 0x01, 0x0F, 0x0B,             /* $sum */
    0x20, 0x00, 0x42, 0x01, 0x7D, 0x20, 0x01, 0x20, 0x00, 0x7C, 0x12, 0x01, 0x0B, /* */
    0x06, 0x00, 0x20, 0x00, 0x12, 0x00, 0x0B,                                     /* $direct */
    0x09, 0x00, 0x20, 0x00, 0x41, 0x00, 0x13, 0x01, 0x00, 0x0B,                   /* $indirect */
};

static wr_valtype host_types[] = {WR_I32, WR_I32};
static wr_functype host_type = {.nparams = 1, .nresults = 1, .types = host_types, .param_slots = 1, .result_slots = 1};

/* Run `f` to its end: the host function answers 2x+1; a slice end refills a short slice. */
static int run(wr_thread *t, wr_func *f, const uint64_t *args, int *hostcalls, int *slices)
{
    if (wr_thread_call(t, f, args) != 0)
        return -1;
    for (;;) {
        t->budget = 1000;
        int st = wr_exec(t);
        if (st == WR_HOSTCALL) {
            t->host_args[0] = (uint32_t)(t->host_args[0] * 2 + 1);
            ++*hostcalls;
        } else if (st == WR_YIELD) {
            ++*slices;
        } else {
            return st;
        }
    }
}

int main(void)
{
    wr_store *s = wr_store_new();
    wr_api_store_set_limits(s, 0, 0, 8, 0); /* 8 frames: a million tail calls must fit */
    wr_error err = {0};
    wr_module *m = wr_api_module_load(module_bytes, sizeof module_bytes, &err);
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "load: %s at %u\n", err.message, err.offset);
        return check_result("test_tail_call");
    }
    wr_func *host = wr_func_new_host(s, &host_type, 1);
    wr_extern ext[1] = {{WR_EXTERN_FUNC, host}};
    wr_instance *inst = NULL;
    CHECK(wr_instance_new(s, m, ext, 1, &inst, &err) == 0 && inst != NULL);
    wr_thread *t = wr_thread_new(s);
    CHECK(t != NULL);
    if (inst && t) {
        int hostcalls = 0, slices = 0;
        uint64_t args[2] = {1000000, 0};
        CHECK(run(t, inst->funcs[1], args, &hostcalls, &slices) == WR_DONE);
        CHECK(wr_thread_results(t)[0] == 500000500000ull);
        CHECK(slices > 100); /* each tail call charges the slice: the loop was preempted, and resumed */
        CHECK(t->nframes == 0 && t->nentries == 0);

        args[0] = 20;
        CHECK(run(t, inst->funcs[2], args, &hostcalls, &slices) == WR_DONE);
        CHECK(wr_thread_results(t)[0] == 41 && hostcalls == 1);
        args[0] = 5;
        CHECK(run(t, inst->funcs[3], args, &hostcalls, &slices) == WR_DONE);
        CHECK(wr_thread_results(t)[0] == 11 && hostcalls == 2);
        CHECK(t->nframes == 0 && t->nentries == 0);

        /* The same host call through the host's round trip call (wr_api_exec_host, core/aio.py): the host id and
         * the argument come out with WR_HOSTCALL, and the result goes in as the thread runs on. */
        int64_t out[2] = {0, 0};
        args[0] = (uint32_t)-20;
        CHECK(wr_thread_call(t, inst->funcs[2], args) == 0);
        CHECK((wr_api_exec_host(t, 1000, WR_API_NO_RESULT, out) & ~WR_API_NEWS) == WR_HOSTCALL && out[0] == 1 &&
              out[1] == -20);
        CHECK((wr_api_exec_host(t, -1, -1, out) & ~WR_API_NEWS) == WR_DONE);
        CHECK(wr_thread_results(t)[0] == 0xFFFFFFFF && t->nframes == 0 && t->nentries == 0);

        /* An uninitialized table entry traps before anything moves. */
        inst->tables[0]->elems[0] = 0;
        CHECK(run(t, inst->funcs[3], args, &hostcalls, &slices) == WR_TRAP);
        CHECK(t->trap == WR_TRAP_UNINITIALIZED_ELEMENT && t->nframes == 0);
    }
    wr_thread_free(t);
    wr_store_free(s);
    wr_module_free(m);
    return check_result("test_tail_call");
}
