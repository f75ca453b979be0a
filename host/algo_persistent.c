/* The persistent algorithm: one launch of lstm_persist per layer runs every
 * step, its work-groups meeting at a device-wide barrier between steps
 * (kernels/lstm_persist.cl). A group that waits there longer than the spin
 * limit (plan.c) sets the pass's gave-up flag; end() reads it back, and
 * the driver (forward_cl.c) runs the pass again another way. */
#include <stdio.h>

#include "internal.h"

/* Clears the barrier's arrival count and the gave-up flag. */
static lstmcl_status lc_persist_begin(lstmcl_model *m)
{
    const cl_int zero = 0;
    LC_TRY_CL(m->ctx,
              clEnqueueFillBuffer(m->ctx->queue, m->ws.bar, &zero, sizeof zero, 0,
                                  2 * sizeof zero, 0, NULL, NULL),
              "clEnqueueFillBuffer", "clearing the persistent kernel's flag");
    return LSTMCL_SUCCESS;
}

static lstmcl_status lc_persist_layer(lstmcl_model *m, const lc_layer_pass *p)
{
    lstmcl_context *ctx = m->ctx;
    lc_workspace *w = &m->ws;
    const lc_layer *ly = p->ly;
    const lc_io *io = p->io;
    const size_t l = p->l;
    cl_kernel k = m->k_persist;
    const cl_int Ti = (cl_int)io->T, Ni = (cl_int)io->N, has_lens = io->lens != NULL;
    const cl_int per = (cl_int)lc_persist_per(m, io->N), has_y = p->out != NULL;
    const cl_int spin = lc_spin_limit(m);
    const float clip_k = m->desc.clip;
    const cl_int zero = 0;
    LC_TRY_CL(ctx, clEnqueueFillBuffer(ctx->queue, w->bar, &zero, sizeof zero, 0, sizeof zero,
                                       0, NULL, NULL),
              "clEnqueueFillBuffer", "layer %zu: clearing the persistent kernel's barrier", l);
    size_t rl = m->persist_r_local ? m->Hout * 4 * m->persist_upg * sizeof(float)
                                   : sizeof(float);
    size_t xs = lc_persist_local_bytes(m, io->N) - rl;
    LC_ARG(ctx, k, LC_PERSIST_T, Ti);
    LC_ARG(ctx, k, LC_PERSIST_N, Ni);
    LC_ARG(ctx, k, LC_PERSIST_PER, per);
    LC_ARG(ctx, k, LC_PERSIST_XW, w->xw);
    LC_ARG(ctx, k, LC_PERSIST_XW_TS, p->xw_ts);
    LC_ARG(ctx, k, LC_PERSIST_XW_NS, p->xw_ns);
    LC_ARG(ctx, k, LC_PERSIST_W, ly->rt_buf);
    LC_ARG(ctx, k, LC_PERSIST_WS, ly->rs_buf);
    LC_ARG(ctx, k, LC_PERSIST_BIAS, ly->b_buf);
    LC_ARG(ctx, k, LC_PERSIST_PEEP, ly->peep_buf);
    LC_ARG(ctx, k, LC_PERSIST_ACTP, m->act_params);
    LC_ARG(ctx, k, LC_PERSIST_CLIP, clip_k);
    LC_ARG(ctx, k, LC_PERSIST_LENS, io->lens);
    LC_ARG(ctx, k, LC_PERSIST_HAS_LENS, has_lens);
    LC_ARG(ctx, k, LC_PERSIST_C, w->c);
    LC_ARG(ctx, k, LC_PERSIST_H0, w->h[0]);
    LC_ARG(ctx, k, LC_PERSIST_H1, w->h[1]);
    LC_ARG(ctx, k, LC_PERSIST_HRAW, w->hraw);
    LC_ARG(ctx, k, LC_PERSIST_WP, ly->pt_buf);
    LC_ARG(ctx, k, LC_PERSIST_WPS, ly->ps_buf);
    LC_ARG(ctx, k, LC_PERSIST_Y, p->out);
    LC_ARG(ctx, k, LC_PERSIST_HAS_Y, has_y);
    LC_ARG(ctx, k, LC_PERSIST_Y_TS, p->y_ts);
    LC_ARG(ctx, k, LC_PERSIST_Y_NS, p->y_ns);
    LC_ARG(ctx, k, LC_PERSIST_BAR, w->bar);
    LC_ARG(ctx, k, LC_PERSIST_SPIN, spin);
    LC_TRY_CL(ctx, clSetKernelArg(k, LC_PERSIST_XS, xs, NULL), "clSetKernelArg",
              "staging (local memory)");
    LC_TRY_CL(ctx, clSetKernelArg(k, LC_PERSIST_RL, rl, NULL), "clSetKernelArg",
              "R slice (local memory)");
    const size_t lws = m->wg_j, gws = m->persist_groups * m->wg_j;
    LC_TRY_CL(ctx, clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &gws, &lws, 0, NULL, NULL),
              "clEnqueueNDRangeKernel", "layer %zu: lstm_persist (%zu groups)", l,
              m->persist_groups);
    return LSTMCL_SUCCESS;
}

/* Reads the gave-up flag back into m->persist_gave_up, without waiting:
 * it is there once the queue has finished. */
static lstmcl_status lc_persist_end(lstmcl_model *m)
{
    m->persist_gave_up = 0;
    LC_TRY_CL(m->ctx,
              clEnqueueReadBuffer(m->ctx->queue, m->ws.bar, CL_FALSE, sizeof(cl_int),
                                  sizeof(cl_int), &m->persist_gave_up, 0, NULL, NULL),
              "clEnqueueReadBuffer", "reading the persistent kernel's flag");
    return LSTMCL_SUCCESS;
}

const lc_algo_ops lc_algo_persistent = {"persistent", lc_persist_begin, lc_persist_layer,
                                        lc_persist_end};
