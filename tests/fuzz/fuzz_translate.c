/* fuzz_translate.c: libFuzzer target: the whole load pipeline (decode, validate, translate). */
#include <stddef.h>
#include <stdint.h>

#include "wr_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_error err = {0};
    wr_module *m = wr_module_load(data, size, &err);
    if (m)
        wr_module_free(m);
    return 0;
}
