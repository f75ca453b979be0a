/* libFuzzer target: the safetensors parser and the nn.LSTM state_dict
 * reader on top of it. */
#include <stdint.h>

#include "fuzz_common.h"
#include "model_file.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ld_st_file f;
    ld_lstm l;
    char err[512] = "";
    int rc = ld_st_parse(data, size, &f, err, sizeof err);
    fuzz_check_result(rc, err);
    if (rc == CLI_OK) {
        size_t k;
        for (k = 0; k < f.count; k++) {
            const ld_st_tensor *t = &f.tensors[k];
            if (t->data < data || t->nbytes > size || t->data + t->nbytes > data + size)
                abort();
        }
        ld_st_free(&f);
    }
    err[0] = '\0';
    rc = ld_torch_lstm_from_safetensors(data, size, NULL, "--prefix", &l, err, sizeof err);
    fuzz_check_result(rc, err);
    if (rc == CLI_OK) {
        if (ld_lstm_parameter_count(&l) == 0)
            abort();
        ld_lstm_free(&l);
    }
    return 0;
}
