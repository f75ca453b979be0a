/* The weights on the device, uploaded once at model creation, in the
 * model's precision (precision.c: float, half, bfloat16 or int8 with float
 * scales per row): the input weights and the summed biases for every
 * algorithm; R and the projection
 * plain for the gemm algorithm (CLBlast's SGEMM) and arranged for the
 * fused step and the persistent kernel (lc_arrange), each only where an
 * algorithm that reads it can run (plan.c, lc_plan_uses_gemm). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static lstmcl_status lc_upload(lstmcl_model *m, cl_mem *out, const void *src, size_t bytes,
                               const char *what, size_t layer)
{
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(m->ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes,
                          (void *)src, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        char w[128];
        snprintf(w, sizeof w, "layer %zu: uploading %s (%zu bytes)", layer, what, bytes);
        return lc_fail_cl(m->ctx, err, "clCreateBuffer", w);
    }
    m->device_bytes += bytes;
    return LSTMCL_SUCCESS;
}

/* `count` matrices src (rows x cols elements of `es` bytes) arranged for
 * the fused kernels: transposed (cols x rows) when !padded_rows; else rows
 * zero-padded to a multiple of 8 and, when the rows are `groups` blocks
 * (the four gates), regrouped so that row j of every block sits together:
 * row g*R/groups + j goes to position j*groups + g (lstm_step's unit-major
 * layout). Zero bytes are a zero in every stored type. */
static void *lc_arrange(const void *src_, size_t es, size_t count, size_t rows, size_t cols,
                        size_t groups, int padded_rows, size_t *out_bytes)
{
    const unsigned char *src = src_;
    size_t pc = (cols + 7) / 8 * 8, per = rows / groups;
    size_t n = count * rows * (padded_rows ? pc : cols);
    unsigned char *dst = calloc(n, es);
    if (!dst)
        return NULL;
    *out_bytes = n * es;
    for (size_t b = 0; b < count; b++)
        for (size_t r = 0; r < rows; r++) {
            size_t dr = (r % per) * groups + r / per;
            for (size_t c = 0; c < cols; c++) {
                const unsigned char *v = src + ((b * rows + r) * cols + c) * es;
                if (padded_rows)
                    memcpy(dst + ((b * rows + dr) * pc + c) * es, v, es);
                else
                    memcpy(dst + ((b * cols + c) * rows + r) * es, v, es);
            }
        }
    return dst;
}

/* The weights in the model's stored type (rows x cols), or NULL. */
static void *lc_encoded(const lstmcl_model *m, const float *w, size_t rows, size_t cols,
                        const float *scale)
{
    void *out = malloc(rows * cols * lc_precision_bytes(m->precision) + 1);
    if (out)
        lc_encode_weights(m->precision, w, rows, cols, scale, out);
    return out;
}

/* Weights of one kind (rows x cols, in the model's precision) uploaded
 * plain (*plain, when not NULL) and arranged for the fused kernels
 * (*arranged, when not NULL), with their int8 scales (*scales). */
static lstmcl_status lc_upload_weights(lstmcl_model *m, size_t l, const char *what,
                                       const float *w, const float *scale, size_t rows,
                                       size_t cols, size_t groups, cl_mem *plain,
                                       cl_mem *arranged, cl_mem *scales)
{
    const size_t es = lc_precision_bytes(m->precision), D = m->D;
    void *enc = lc_encoded(m, w, D * rows, cols, scale);
    if (!enc)
        return lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "layer %zu: encoding %s", l,
                       what);
    lstmcl_status st = LSTMCL_SUCCESS;
    if (plain)
        st = lc_upload(m, plain, enc, D * rows * cols * es, what, l);
    if (st == LSTMCL_SUCCESS && arranged) {
        size_t bytes = 0;
        void *a = lc_arrange(enc, es, D, rows, cols, groups, m->fused_rows, &bytes);
        char aw[96];
        snprintf(aw, sizeof aw, "%s, arranged for the fused step", what);
        st = a ? lc_upload(m, arranged, a, bytes, aw, l)
               : lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "layer %zu: arranging %s", l,
                         what);
        free(a);
    }
    if (st == LSTMCL_SUCCESS && scale && scales)
        st = lc_upload(m, scales, scale, D * rows * sizeof(float), "int8 scales", l);
    free(enc);
    return st;
}

lstmcl_status lc_weights_upload(lstmcl_model *m)
{
    const size_t D = m->D, H = m->H;
    const int gemm = lc_plan_uses_gemm(m);
    lstmcl_status st;
    m->device_bytes = 0;
    for (size_t l = 0; l < m->L; l++) {
        lc_layer *ly = &m->layers[l];
        float *b = malloc(D * 4 * H * sizeof(float));
        if (!b)
            return lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "layer %zu: bias", l);
        /* The two biases only ever appear summed. */
        for (size_t i = 0; i < D * 4 * H; i++)
            b[i] = (float)((double)ly->bw[i] + (double)ly->br[i]);
        st = lc_upload(m, &ly->b_buf, b, D * 4 * H * sizeof(float), "bias", l);
        free(b);
        if (st == LSTMCL_SUCCESS)
            st = lc_upload_weights(m, l, "input weights", ly->w, ly->w_scale, 4 * H, ly->in, 4,
                                   &ly->w_buf, NULL, &ly->ws_buf);
        if (st == LSTMCL_SUCCESS)
            st = lc_upload_weights(m, l, "recurrent weights", ly->r, ly->r_scale, 4 * H,
                                   m->Hout, 4, gemm ? &ly->r_buf : NULL,
                                   m->fused_ok ? &ly->rt_buf : NULL, &ly->rs_buf);
        if (st == LSTMCL_SUCCESS && ly->peep)
            st = lc_upload(m, &ly->peep_buf, ly->peep, D * 3 * H * sizeof(float), "peepholes",
                           l);
        if (st == LSTMCL_SUCCESS && ly->proj)
            st = lc_upload_weights(m, l, "projection", ly->proj, ly->p_scale, m->P, H, 1,
                                   gemm ? &ly->proj_buf : NULL,
                                   m->fused_ok ? &ly->pt_buf : NULL, &ly->ps_buf);
        if (st != LSTMCL_SUCCESS)
            return st;
    }
    float ap[12] = {0};
    for (size_t d = 0; d < 2; d++)
        for (size_t s = 0; s < 3; s++) {
            ap[d * 6 + s * 2] = m->desc.activations[d][s].alpha;
            ap[d * 6 + s * 2 + 1] = m->desc.activations[d][s].beta;
        }
    return lc_upload(m, &m->act_params, ap, sizeof ap, "activation parameters", 0);
}

void lc_weights_release(lstmcl_model *m)
{
    for (size_t l = 0; m->layers && l < m->L; l++) {
        lc_layer *ly = &m->layers[l];
        lc_release_mem(&ly->w_buf);
        lc_release_mem(&ly->r_buf);
        lc_release_mem(&ly->b_buf);
        lc_release_mem(&ly->peep_buf);
        lc_release_mem(&ly->proj_buf);
        lc_release_mem(&ly->rt_buf);
        lc_release_mem(&ly->pt_buf);
        lc_release_mem(&ly->ws_buf);
        lc_release_mem(&ly->rs_buf);
        lc_release_mem(&ly->ps_buf);
    }
    lc_release_mem(&m->act_params);
}
