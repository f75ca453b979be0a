/* The fused algorithm: per step one launch of lstm_step (lstm_step2 or
 * lstm_step4 with 2 or 4 sequences per work-item, rows layout), which
 * computes every unit's four recurrent products and its cell update, and
 * with a projection one launch of lstm_project_step. */
#include <stdio.h>

#include "internal.h"

static lstmcl_status lc_fused_layer(lstmcl_model *m, const lc_layer_pass *p)
{
    lstmcl_context *ctx = m->ctx;
    const lc_workspace *w = &m->ws;
    cl_command_queue q = ctx->queue;
    const size_t T = p->io->T, N = p->io->N, D = m->D, H = m->H, Hout = m->Hout, l = p->l;
    const size_t wg = m->wg_j;
    /* Sequences per work-item of the rows layout: 1, 2 (N = 2) or 4. */
    const int per = !m->step4_ok || N == 1 ? 1 : N == 2 ? 2 : 4;
    cl_kernel k = per == 4 ? m->k_step4 : per == 2 ? m->k_step2 : m->k_step;
    const char *kname = per == 4 ? "lstm_step4" : per == 2 ? "lstm_step2" : "lstm_step";
    const size_t gws[3] = {(H + wg - 1) / wg * wg, (N + per - 1) / per, D};
    const size_t pgws[3] = {(Hout + wg - 1) / wg * wg, N, D};
    const size_t lws[3] = {wg, 1, 1};
    lstmcl_status st = lc_step_layer_args(m, k, p, p->ly->rt_buf, m->P ? w->hraw : NULL);
    if (st == LSTMCL_SUCCESS && m->P)
        st = lc_proj_layer_args(m, m->k_proj_step, p, w->hraw, p->ly->pt_buf);
    if (st != LSTMCL_SUCCESS)
        return st;
    for (size_t s = 0; s < T; s++) {
        const cl_int step = (cl_int)s;
        cl_mem h_prev = w->h[s % 2], h_next = w->h[(s + 1) % 2];
        LC_ARG(ctx, k, LC_STEP_STEP, step);
        LC_ARG(ctx, k, LC_STEP_H_PREV, h_prev);
        if (!m->P)
            LC_ARG(ctx, k, LC_STEP_H_NEXT, h_next);
        LC_TRY_CL(ctx, clEnqueueNDRangeKernel(q, k, 3, NULL, gws, lws, 0, NULL, NULL),
                  "clEnqueueNDRangeKernel", "layer %zu step %zu: %s", l, s, kname);
        if (!m->P)
            continue;
        cl_kernel kp = m->k_proj_step;
        LC_ARG(ctx, kp, LC_PROJ_STEP, step);
        LC_ARG(ctx, kp, LC_PROJ_H_PREV, h_prev);
        LC_ARG(ctx, kp, LC_PROJ_H_NEXT, h_next);
        LC_TRY_CL(ctx, clEnqueueNDRangeKernel(q, kp, 3, NULL, pgws, lws, 0, NULL, NULL),
                  "clEnqueueNDRangeKernel", "layer %zu step %zu: lstm_project_step", l, s);
    }
    return LSTMCL_SUCCESS;
}

const lc_algo_ops lc_algo_fused = {"fused", NULL, lc_fused_layer, NULL};
