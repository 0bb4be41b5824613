/* wr_code.c: the translated-code object: freeing it and mapping code
 * positions back to wasm byte offsets for backtraces. */
#include <stdlib.h>

#include "wr_code.h"
#include "wr_stackmap.h"

void wr_code_free(wr_code *code)
{
    if (!code)
        return;
    free(code->words);
    free(code->consts);
    free(code->init);
    free(code->locs);
    free(code->handlers);
    free(code->catches);
    wr_stackmap_free(code->stackmap);
    free(code);
}

uint32_t wr_code_offset_at(const wr_code *code, uint32_t word)
{
    /* Last loc at or before `word` (binary search; locs sorted by word). */
    uint32_t lo = 0, hi = code->nlocs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (code->locs[mid].word <= word)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? code->locs[lo - 1].offset : 0;
}
