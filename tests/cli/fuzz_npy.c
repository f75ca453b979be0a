/* libFuzzer target: the .npy parser. */
#include <stdint.h>

#include "fuzz_common.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    npy_array a;
    char err[512] = "";
    int rc = npy_parse(data, size, &a, err, sizeof err);
    fuzz_check_result(rc, err);
    if (rc == CLI_OK) {
        size_t n = 1, k;
        for (k = 0; k < a.ndim; k++)
            n *= a.dims[k];
        if (n != a.count || (a.is_integer ? !a.i : !a.f))
            abort();
        /* Touch every element so that a short allocation shows. */
        for (k = 0; k < a.count; k++)
            if (a.is_integer ? a.i[k] == 0x7eadbeef : a.f[k] == 1234.5f)
                err[0] = 1;
        npy_free(&a);
    }
    return 0;
}
