/* The gemm algorithm: per step and direction one SGEMM (CLBlast) for the
 * recurrent products h(t-1) R^T, then lstm_cell for the cell updates; with
 * a projection one SGEMM per direction for h_raw W_hr^T and lstm_project
 * to commit h and y. Every device runs it; GPUs at large batches. */
#include <stdio.h>

#include "internal.h"

static lstmcl_status lc_gemm_layer(lstmcl_model *m, const lc_layer_pass *p)
{
    lstmcl_context *ctx = m->ctx;
    const lc_workspace *w = &m->ws;
    const lc_layer *ly = p->ly;
    const lc_io *io = p->io;
    cl_command_queue q = ctx->queue;
    const size_t T = io->T, N = io->N, D = m->D, H = m->H, Hout = m->Hout, P = m->P, l = p->l;
    const size_t cell_gws[3] = {H, N, D}, proj_gws[3] = {Hout, N, D};
    cl_kernel k = m->k_cell, kp = m->k_proj;
    lstmcl_status st = lc_step_layer_args(m, k, p, w->gh, P ? w->hraw : NULL);
    if (st == LSTMCL_SUCCESS && P)
        st = lc_proj_layer_args(m, kp, p, w->hp, NULL);
    if (st != LSTMCL_SUCCESS)
        return st;
    for (size_t s = 0; s < T; s++) {
        const cl_int step = (cl_int)s;
        cl_mem h_prev = w->h[s % 2], h_next = w->h[(s + 1) % 2];
        for (size_t d = 0; d < D; d++) {
            st = lc_gemm_nt(m, N, 4 * H, Hout, h_prev, d * N * Hout, ly->r_buf, d * 4 * H * Hout,
                            w->gh, d * N * 4 * H, "recurrent product", l, s);
            if (st != LSTMCL_SUCCESS)
                return st;
        }
        LC_ARG(ctx, k, LC_STEP_STEP, step);
        LC_ARG(ctx, k, LC_STEP_H_PREV, h_prev);
        if (!P)
            LC_ARG(ctx, k, LC_STEP_H_NEXT, h_next);
        LC_TRY_CL(ctx, clEnqueueNDRangeKernel(q, k, 3, NULL, cell_gws, NULL, 0, NULL, NULL),
                  "clEnqueueNDRangeKernel", "layer %zu step %zu: lstm_cell", l, s);
        if (!P)
            continue;
        for (size_t d = 0; d < D; d++) {
            st = lc_gemm_nt(m, N, P, H, w->hraw, d * N * H, ly->proj_buf, d * P * H, w->hp,
                            d * N * P, "projection", l, s);
            if (st != LSTMCL_SUCCESS)
                return st;
        }
        LC_ARG(ctx, kp, LC_PROJ_STEP, step);
        LC_ARG(ctx, kp, LC_PROJ_H_PREV, h_prev);
        LC_ARG(ctx, kp, LC_PROJ_H_NEXT, h_next);
        LC_TRY_CL(ctx, clEnqueueNDRangeKernel(q, kp, 3, NULL, proj_gws, NULL, 0, NULL, NULL),
                  "clEnqueueNDRangeKernel", "layer %zu step %zu: lstm_project", l, s);
    }
    return LSTMCL_SUCCESS;
}

const lc_algo_ops lc_algo_gemm = {"gemm", NULL, lc_gemm_layer, NULL};
