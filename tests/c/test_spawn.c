/* test_spawn.c: green threads the core makes (wr_spawn.h): the pool, wasi-threads spawns from a template,
 * refusals and failures, and a thread the core owns, run and recycled with no host. (A thread's stacks, and
 * no room for them: test_stackpool.c.) */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "wr_api.h"

/* (import "env" "g" (global $g (mut i32)))
 * (func $start (global.set $g (i32.add (global.get $g) (i32.const 1))))  (start $start)
 * (func (export "wasi_thread_start") (param i32 i32)
 *   (global.set $g (i32.add (global.get $g) (i32.add (i32.mul (local.get 0) (i32.const 1000)) (local.get 1))))) */
static const uint8_t module_bytes[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x09, 0x02, 0x60, 0x00, 0x00, 0x60, 0x02, 0x7f,
    0x7f, 0x00, 0x02, 0x0a, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x67, 0x03, 0x7f, 0x01, 0x03, 0x03, 0x02,
    0x00, 0x01, 0x07, 0x15, 0x01, 0x11, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x74, 0x68, 0x72, 0x65, 0x61, 0x64,
    0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x01, 0x08, 0x01, 0x00, 0x0a, 0x1c, 0x02, 0x09, 0x00, 0x23,
    0x00, 0x41, 0x01, 0x6a, 0x24, 0x00, 0x0b, 0x10, 0x00, 0x23, 0x00, 0x20, 0x00, 0x41, 0xe8, 0x07, 0x6c,
    0x20, 0x01, 0x6a, 0x6a, 0x24, 0x00, 0x0b, 0x00, 0x15, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x01, 0x08, 0x01,
    0x00, 0x05, 0x73, 0x74, 0x61, 0x72, 0x74, 0x07, 0x04, 0x01, 0x00, 0x01, 0x67,
};

typedef struct program {
    wr_store *s;
    wr_module *m;
    wr_global *g;
    wr_instance *like;
    wr_thread *caller; /* the thread that calls thread-spawn */
    wr_spawner *sp;
} program;

static bool program_new(program *p)
{
    wr_error err = {0};
    p->s = wr_store_new();
    p->m = wr_api_module_load(module_bytes, sizeof module_bytes, &err);
    CHECK(p->m != NULL);
    if (!p->m)
        return false;
    wr_globaltype gt = {WR_I32, true};
    p->g = wr_global_new(p->s, gt, 0, 0);
    wr_extern ext[1] = {{WR_EXTERN_GLOBAL, p->g}};
    CHECK(wr_instance_new(p->s, p->m, ext, 1, &p->like, &err) == 0);
    p->caller = wr_thread_new(p->s);
    p->sp = wr_spawner_new(p->like, 0, sizeof module_bytes);
    CHECK(p->caller != NULL && p->sp != NULL);
    return p->like && p->caller && p->sp;
}

static void program_free(program *p)
{
    wr_thread_free(p->caller);
    wr_store_free(p->s);
    wr_module_free(p->m);
}

static void test_spawns_for_the_host(void)
{
    program p;
    if (!program_new(&p))
        return;
    wr_thread *t;
    /* The start function ran on the caller; the thread is set up for wasi_thread_start(1, 7), alive, its host id
     * the first. */
    CHECK(wr_spawn(p.sp, p.caller, 7, false, &t) == 1 && t != NULL);
    wr_thread *first = t;
    CHECK(p.g->val[0] == 1 && p.s->threads_alive == 1 && !t->core_owned && t->resumable);
    CHECK(t->host_id == 1 && t->task == &t->own_task && t->own_task.host_id == 1 && t->spawn_tid == 1);
    CHECK(wr_exec(t) == WR_DONE && p.g->val[0] == 1 + 1007);
    p.s->threads_alive--; /* the host ends it */
    wr_pool_give(t);
    CHECK(p.s->nthreads_idle == 1 && first->idle && first->stack_map == NULL);
    /* Refused over max_threads, or no id left: nothing made, no id used. */
    p.s->max_threads = 0;
    CHECK(wr_spawn(p.sp, p.caller, 0, false, &t) == WR_SPAWN_REFUSED && t == NULL);
    p.s->max_threads = UINT64_MAX;
    p.sp->next_tid = WR_MAX_TID + 1;
    CHECK(wr_spawn(p.sp, p.caller, 0, false, &t) == WR_SPAWN_FAILED && t == NULL);
    p.sp->next_tid = 2;
    CHECK(p.g->val[0] == 1008 && p.s->threads_alive == 0);
    /* The idle thread again, with the next id. */
    wr_thread *again;
    CHECK(wr_spawn(p.sp, p.caller, 9, false, &again) == 2 && again == first && again->host_id == 2);
    CHECK(wr_exec(again) == WR_DONE && p.g->val[0] == 1008 + 1 + 2009);
    p.s->threads_alive--;
    wr_pool_give(again);
    /* A native spawn whose start function ran, left to the host (the core stopped spawning on its own
     * meanwhile): the host's spawn finishes it, with no second start. */
    wr_error err = {0};
    CHECK(wr_instance_new_like(p.like, &p.caller->spawn_pending, &err) == 0);
    p.caller->spawn_pending_entries = p.caller->nentries;
    CHECK(wr_spawn(p.sp, p.caller, 4, false, &t) == 3 && t && p.caller->spawn_pending == NULL);
    CHECK(wr_exec(t) == WR_DONE && p.g->val[0] == 3018 + 3004);
    p.s->threads_alive--;
    wr_pool_give(t);
    program_free(&p);
}

static void test_a_thread_the_core_owns(void)
{
    program p;
    if (!program_new(&p))
        return;
    wr_policy *pol = wr_policy_new_fair(1000);
    wr_policy_attach(pol, p.s);
    wr_api_store_set_sched(p.s, pol, 100, 1u << 30);
    wr_thread *t;
    CHECK(wr_spawn(p.sp, p.caller, 5, true, &t) == 1 && t->core_owned && wr_policy_len(pol) == 1);
    CHECK(wr_spawn_next_owned(p.s, NULL) == t && wr_spawn_next_owned(p.s, t) == NULL);
    /* The host's pick is the core's own thread: the core runs it, ends it and recycles it; nobody is left. */
    bool started;
    CHECK(wr_exec_pop(p.s, &started) == NULL && started);
    CHECK(p.g->val[0] == 1 + 1005 && p.s->threads_alive == 0 && p.s->nthreads_idle == 1);
    CHECK(wr_spawn_next_owned(p.s, NULL) == NULL && wr_policy_len(pol) == 0);
    /* One taken over by the host is the host's: the core runs it when picked, but leaves its end to the host. */
    CHECK(wr_spawn(p.sp, p.caller, 6, true, &t) == 2);
    wr_spawn_disown(t);
    CHECK(wr_exec_pop(p.s, &started) == &t->own_task && !started);
    CHECK(wr_exec(t) == WR_DONE && p.g->val[0] == 1006 + 1 + 2006);
    p.s->threads_alive--;
    wr_pool_give(t);
    wr_api_store_set_sched(p.s, NULL, 1, 1);
    wr_policy_free(pol);
    program_free(&p);
}

/* (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
 * (import "env" "g" (global $g (mut i32)))
 * (func $start (if (i32.eq (global.get $g) (i32.const 100)) (then unreachable))
 *   (global.set $g (i32.add (global.get $g) (i32.const 1))))  (start $start)
 * (func (export "wasi_thread_start") (param i32 i32) ... as above)
 * (func (export "spawn") (param i32) (result i32) (call $spawn (local.get 0))) */
static const uint8_t native_bytes[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0e, 0x03, 0x60, 0x01, 0x7f, 0x01, 0x7f,
    0x60, 0x00, 0x00, 0x60, 0x02, 0x7f, 0x7f, 0x00, 0x02, 0x1e, 0x02, 0x04, 0x77, 0x61, 0x73, 0x69,
    0x0c, 0x74, 0x68, 0x72, 0x65, 0x61, 0x64, 0x2d, 0x73, 0x70, 0x61, 0x77, 0x6e, 0x00, 0x00, 0x03,
    0x65, 0x6e, 0x76, 0x01, 0x67, 0x03, 0x7f, 0x01, 0x03, 0x04, 0x03, 0x01, 0x02, 0x00, 0x07, 0x1d,
    0x02, 0x11, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x74, 0x68, 0x72, 0x65, 0x61, 0x64, 0x5f, 0x73, 0x74,
    0x61, 0x72, 0x74, 0x00, 0x02, 0x05, 0x73, 0x70, 0x61, 0x77, 0x6e, 0x00, 0x03, 0x08, 0x01, 0x01,
    0x0a, 0x2d, 0x03, 0x13, 0x00, 0x23, 0x00, 0x41, 0xe4, 0x00, 0x46, 0x04, 0x40, 0x00, 0x0b, 0x23,
    0x00, 0x41, 0x01, 0x6a, 0x24, 0x00, 0x0b, 0x10, 0x00, 0x23, 0x00, 0x20, 0x00, 0x41, 0xe8, 0x07,
    0x6c, 0x20, 0x01, 0x6a, 0x6a, 0x24, 0x00, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x10, 0x00, 0x0b, 0x00,
    0x1c, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x01, 0x0f, 0x02, 0x00, 0x05, 0x73, 0x70, 0x61, 0x77, 0x6e,
    0x01, 0x05, 0x73, 0x74, 0x61, 0x72, 0x74, 0x07, 0x04, 0x01, 0x00, 0x01, 0x67,
};

static void test_the_native_thread_spawn(void)
{
    wr_error err = {0};
    wr_store *s = wr_store_new();
    wr_module *m = wr_api_module_load(native_bytes, sizeof native_bytes, &err);
    CHECK(m != NULL);
    if (!m) {
        wr_store_free(s);
        return;
    }
    wr_valtype types[] = {WR_I32, WR_I32};
    wr_functype ft = {.nparams = 1, .nresults = 1, .types = types, .param_slots = 1, .result_slots = 1};
    wr_func *host = wr_func_new_host(s, &ft, 1);
    wr_globaltype gt = {WR_I32, true};
    wr_global *g = wr_global_new(s, gt, 0, 0);
    wr_extern ext[2] = {{WR_EXTERN_FUNC, host}, {WR_EXTERN_GLOBAL, g}};
    wr_instance *like = NULL;
    CHECK(wr_instance_new(s, m, ext, 2, &like, &err) == 0);
    wr_spawner *sp = like ? wr_spawner_new(like, 0, sizeof native_bytes) : NULL;
    if (!sp) {
        wr_store_free(s);
        wr_module_free(m);
        return;
    }
    wr_api_spawner_attach(sp, host);
    wr_func *spawn = like->funcs[3];
    wr_policy *pol = wr_policy_new_fair(1000);
    wr_policy_attach(pol, s);
    wr_api_store_set_sched(s, pol, 100, 1u << 30);
    wr_thread *caller = wr_thread_new(s);
    wr_task *task = wr_task_new(0);
    wr_task_bind(task, caller);
    uint64_t arg = 7;
    /* Not allowed yet: the host function proper. */
    CHECK(wr_thread_call(caller, spawn, &arg) == 0 && wr_exec(caller) == WR_HOSTCALL &&
          caller->host_func == host);
    wr_thread_unwind(caller);
    /* Allowed: the start function runs on the caller as a call of its own, then the spawn ends in C. */
    wr_api_store_set_native_spawns(s, 1);
    CHECK(wr_thread_call(caller, spawn, &arg) == 0 && wr_exec(caller) == WR_DONE);
    CHECK(wr_thread_results(caller)[0] == 1 && g->val[0] == 1 && caller->nentries == 0);
    CHECK(sp->spawned == 1 && s->threads_alive == 1 && wr_policy_len(pol) == 1);
    bool started;
    CHECK(wr_exec_pop(s, &started) == NULL && started && g->val[0] == 1 + 1007 && s->threads_alive == 0);
    /* A start function that traps fails the spawn (-EAGAIN), not the caller. */
    g->val[0] = 100;
    CHECK(wr_thread_call(caller, spawn, &arg) == 0 && wr_exec(caller) == WR_DONE);
    CHECK((int32_t)wr_thread_results(caller)[0] == WR_SPAWN_FAILED && caller->nentries == 0);
    CHECK(sp->spawned == 1 && s->threads_alive == 0 && sp->next_tid == 2 && caller->trap == WR_TRAP_NONE);
    /* Over max_threads: the host function proper, which reports it. */
    g->val[0] = 0;
    s->max_threads = 0;
    CHECK(wr_thread_call(caller, spawn, &arg) == 0 && wr_exec(caller) == WR_HOSTCALL);
    wr_thread_unwind(caller);
    wr_api_store_set_sched(s, NULL, 1, 1);
    wr_thread_free(caller);
    wr_task_free(task);
    wr_policy_free(pol);
    wr_store_free(s);
    wr_module_free(m);
}

int main(void)
{
    test_spawns_for_the_host();
    test_a_thread_the_core_owns();
    test_the_native_thread_spawn();
    return check_result("test_spawn");
}
