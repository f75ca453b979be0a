/* The weights on the device, uploaded once at model creation: the input
 * weights and the summed biases for every algorithm; R and the projection
 * plain for the gemm algorithm (CLBlast's SGEMM) and arranged for the
 * fused step and the persistent kernel (lc_arrange), each only where an
 * algorithm that reads it can run (plan.c, lc_plan_uses_gemm). */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static lstmcl_status lc_upload(lstmcl_context *ctx, cl_mem *out, const float *src, size_t count,
                               const char *what, size_t layer)
{
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                          count * sizeof(float), (void *)src, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        char w[128];
        snprintf(w, sizeof w, "layer %zu: uploading %s (%zu floats)", layer, what, count);
        return lc_fail_cl(ctx, err, "clCreateBuffer", w);
    }
    return LSTMCL_SUCCESS;
}

/* `count` matrices src (rows x cols) arranged for the fused kernels:
 * transposed (cols x rows) when !padded_rows; else rows zero-padded to a
 * multiple of 8 and, when the rows are `groups` blocks (the four gates),
 * regrouped so that row j of every block sits together: row g*R/groups + j
 * goes to position j*groups + g (lstm_step's unit-major layout). */
static float *lc_arrange(const float *src, size_t count, size_t rows, size_t cols,
                         size_t groups, int padded_rows, size_t *out_count)
{
    size_t pc = (cols + 7) / 8 * 8, per = rows / groups;
    size_t n = count * rows * (padded_rows ? pc : cols);
    float *dst = calloc(n, sizeof(float));
    if (!dst)
        return NULL;
    *out_count = n;
    for (size_t b = 0; b < count; b++)
        for (size_t r = 0; r < rows; r++) {
            size_t dr = (r % per) * groups + r / per;
            for (size_t c = 0; c < cols; c++) {
                float v = src[(b * rows + r) * cols + c];
                if (padded_rows)
                    dst[(b * rows + dr) * pc + c] = v;
                else
                    dst[(b * cols + c) * rows + r] = v;
            }
        }
    return dst;
}

lstmcl_status lc_weights_upload(lstmcl_model *m)
{
    lstmcl_context *ctx = m->ctx;
    const size_t D = m->D, H = m->H;
    const int gemm = lc_plan_uses_gemm(m);
    lstmcl_status st;
    for (size_t l = 0; l < m->L; l++) {
        lc_layer *ly = &m->layers[l];
        float *b = malloc(D * 4 * H * sizeof(float));
        if (!b)
            return lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "layer %zu: bias", l);
        /* The two biases only ever appear summed. */
        for (size_t i = 0; i < D * 4 * H; i++)
            b[i] = (float)((double)ly->bw[i] + (double)ly->br[i]);
        st = lc_upload(ctx, &ly->b_buf, b, D * 4 * H, "bias", l);
        free(b);
        if (st == LSTMCL_SUCCESS)
            st = lc_upload(ctx, &ly->w_buf, ly->w, D * 4 * H * ly->in, "input weights", l);
        if (st == LSTMCL_SUCCESS && gemm)
            st = lc_upload(ctx, &ly->r_buf, ly->r, D * 4 * H * m->Hout, "recurrent weights", l);
        if (st == LSTMCL_SUCCESS && ly->peep)
            st = lc_upload(ctx, &ly->peep_buf, ly->peep, D * 3 * H, "peepholes", l);
        if (st == LSTMCL_SUCCESS && ly->proj && gemm)
            st = lc_upload(ctx, &ly->proj_buf, ly->proj, D * m->P * H, "projection", l);
        if (st == LSTMCL_SUCCESS && m->fused_ok) {
            size_t nrt = 0, npt = 0;
            float *rt = lc_arrange(ly->r, D, 4 * H, m->Hout, 4, m->fused_rows, &nrt);
            float *pt =
                ly->proj ? lc_arrange(ly->proj, D, m->P, H, 1, m->fused_rows, &npt) : NULL;
            if (!rt || (ly->proj && !pt))
                st = lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY,
                             "layer %zu: arranging weights for the fused step", l);
            if (st == LSTMCL_SUCCESS)
                st = lc_upload(ctx, &ly->rt_buf, rt, nrt, "fused-step recurrent weights", l);
            if (st == LSTMCL_SUCCESS && pt)
                st = lc_upload(ctx, &ly->pt_buf, pt, npt, "fused-step projection", l);
            free(rt);
            free(pt);
        }
        if (st != LSTMCL_SUCCESS)
            return st;
    }
    float ap[12] = {0};
    for (size_t d = 0; d < 2; d++)
        for (size_t s = 0; s < 3; s++) {
            ap[d * 6 + s * 2] = m->desc.activations[d][s].alpha;
            ap[d * 6 + s * 2 + 1] = m->desc.activations[d][s].beta;
        }
    st = lc_upload(ctx, &m->act_params, ap, 12, "activation parameters", 0);
    if (st != LSTMCL_SUCCESS)
        return st;
    return LSTMCL_SUCCESS;
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
    }
    lc_release_mem(&m->act_params);
}
