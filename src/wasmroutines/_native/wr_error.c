/* wr_error.c: the load-error record (first error wins) and function type equality. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wr_types.h"

int wr_error_set(wr_error *err, int kind, uint32_t offset, const char *fmt, ...)
{
    /* The first error is the one the spec suite expects: later ones are
     * usually consequences of it, so they never overwrite it. */
    if (err == NULL || err->kind != WR_ERR_NONE)
        return kind;
    err->kind = kind;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return kind;
}

bool wr_functype_equal(const wr_functype *a, const wr_functype *b)
{
    if (a == b)
        return true;
    if (a->kind != b->kind || a->nparams != b->nparams || a->nresults != b->nresults)
        return false;
    size_t n = (size_t)a->nparams + a->nresults;
    return n == 0 || memcmp(a->types, b->types, n * sizeof *a->types) == 0;
}
