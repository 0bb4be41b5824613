/* fuzz_decode.c: libFuzzer target: decode arbitrary bytes, which includes module-level validation
 * (function bodies are validated as they are translated: fuzz_translate). Checks that the verdict
 * is a function of the bytes (decoding twice gives the same kind, offset and message) and that
 * validation is idempotent: validating an accepted module again accepts it and recomputes the
 * same state (the functions that ref.func may name). wr_module_decode frees a module it rejects,
 * so only accepted modules can be validated a second time. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wr_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mismatch(const char *what, const wr_error *a, const wr_error *b)
{
    fprintf(stderr, "fuzz_decode: %s: kind %d at %u (%s), then kind %d at %u (%s)\n", what, a->kind, a->offset,
            a->message, b->kind, b->offset, b->message);
    __builtin_trap();
}

static int same_error(const wr_error *a, const wr_error *b)
{
    return a->kind == b->kind && a->offset == b->offset && strcmp(a->message, b->message) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_error err = {0}, again = {0};
    wr_module *m = wr_module_decode(data, size, &err);
    wr_module *m2 = wr_module_decode(data, size, &again);
    /* Out of memory is no verdict: it may strike one attempt and not the other. */
    if (err.kind != WR_ERR_RESOURCE && again.kind != WR_ERR_RESOURCE && (!m != !m2 || !same_error(&err, &again)))
        mismatch("decoding the same bytes twice", &err, &again);
    if (m && m2) {
        wr_error revalidated = {0};
        int rc = wr_module_validate(m, &revalidated);
        if (revalidated.kind == WR_ERR_RESOURCE) {
            /* no verdict */
        } else if (rc != 0 || !same_error(&err, &revalidated)) {
            mismatch("validating an accepted module again", &err, &revalidated);
        } else if (m->nfuncs && memcmp(m->func_declared, m2->func_declared, m->nfuncs * sizeof *m->func_declared)) {
            fprintf(stderr, "fuzz_decode: validating again changed the functions ref.func may name\n");
            __builtin_trap();
        }
    }
    wr_module_free(m);
    wr_module_free(m2);
    return 0;
}
