/* libFuzzer target: the safetensors parser and the nn.LSTM state_dict
 * reader on top of it. */
#include <stdint.h>

#include "fuzz_common.h"
#include "model_file.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    st_file f;
    cli_lstm l;
    char err[512] = "";
    int rc = st_parse(data, size, &f, err, sizeof err);
    fuzz_check_result(rc, err);
    if (rc == CLI_OK) {
        size_t k;
        for (k = 0; k < f.count; k++) {
            const st_tensor *t = &f.tensors[k];
            if (t->data < data || t->nbytes > size || t->data + t->nbytes > data + size)
                abort();
        }
        st_free(&f);
    }
    err[0] = '\0';
    rc = torch_lstm_from_safetensors(data, size, NULL, &l, err, sizeof err);
    fuzz_check_result(rc, err);
    if (rc == CLI_OK) {
        if (cli_lstm_parameter_count(&l) == 0)
            abort();
        cli_lstm_free(&l);
    }
    return 0;
}
