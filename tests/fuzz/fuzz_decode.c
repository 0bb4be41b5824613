/* fuzz_decode.c: libFuzzer target: decode arbitrary bytes, which includes module-level validation
 * (function bodies are validated as they are translated: fuzz_translate); then validate again,
 * which must be idempotent. */
#include <stddef.h>
#include <stdint.h>

#include "wr_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_error err = {0};
    wr_module *m = wr_module_decode(data, size, &err);
    if (m) {
        /* Validation's verdict does not matter, only that it ends cleanly. */
        (void)wr_module_validate(m, &err);
        wr_module_free(m);
    }
    return 0;
}
