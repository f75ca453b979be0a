/* libFuzzer target: the ONNX model parser and, for graphs it accepts, the
 * graph interpreter on a small input (CPU reference path). */
#include <stdint.h>

#include "fuzz_common.h"
#include "lstmcl.h"
#include "onnx_model.h"

static lstmcl_context *fuzz_ctx(void)
{
    static lstmcl_context *ctx;
    if (!ctx && lstmcl_context_create("cpu", &ctx) != LSTMCL_SUCCESS)
        abort();
    return ctx;
}

static void run_graph(const ld_onnx *m)
{
    size_t n = ld_onnx_lstm_count(m), k, I = ld_onnx_lstm(m, 0)->desc.input_size;
    lstmcl_model **models = calloc(n, sizeof *models);
    ld_array in[ONNX_IN_COUNT], out[ONNX_OUT_COUNT];
    ld_onnx_run_opts opts;
    lstmcl_status fst;
    char err[512] = "";
    int bad, rc;
    memset(in, 0, sizeof in);
    memset(&opts, 0, sizeof opts);
    opts.reference = 1;
    if (!models || I > 4096)
        goto done;
    for (k = 0; k < n; k++) {
        const ld_lstm *l = ld_onnx_lstm(m, k);
        if (lstmcl_model_create(fuzz_ctx(), &l->desc, l->convention, l->layers, &models[k]) !=
            LSTMCL_SUCCESS)
            goto done;
    }
    /* X of shape (2, 2, I): T = N = 2 suits both layouts. */
    in[ONNX_IN_X].ndim = 3;
    in[ONNX_IN_X].dims[0] = 2;
    in[ONNX_IN_X].dims[1] = 2;
    in[ONNX_IN_X].dims[2] = I;
    in[ONNX_IN_X].count = 4 * I;
    in[ONNX_IN_X].first_nonfinite = 4 * I;
    in[ONNX_IN_X].f = calloc(4 * I, sizeof(float));
    if (!in[ONNX_IN_X].f)
        goto done;
    rc = ld_onnx_run(m, models, &opts, in, out, &bad, &fst, err, sizeof err);
    fuzz_check_result(rc, err);
    if (rc == CLI_OK)
        for (k = 0; k < ONNX_OUT_COUNT; k++)
            ld_array_free(&out[k]);
done:
    free(in[ONNX_IN_X].f);
    for (k = 0; models && k < n; k++)
        lstmcl_model_destroy(models[k]);
    free(models);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ld_onnx *m = NULL;
    char err[512] = "";
    int rc = ld_onnx_parse(data, size, &m, err, sizeof err);
    fuzz_check_result(rc, err);
    if (rc == CLI_OK) {
        run_graph(m);
        ld_onnx_free(m);
    }
    return 0;
}
