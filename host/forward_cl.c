/* The device path's driver: a model's device side set up (plan.c,
 * weights.c, program.c) and released, and a forward pass enqueued: per
 * layer the input projections of all gates, directions and steps in one
 * GEMM (gemm.c), the initial state, the recurrent part by the pass's
 * algorithm (algo_gemm.c, algo_fused.c, algo_persistent.c, each a table of
 * lc_algo_ops), and the final state. A pass whose persistent kernel gave
 * up runs again with the algorithm that plan.c picks instead. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

lstmcl_status lc_device_model_init(lstmcl_model *m)
{
    lstmcl_status st = lc_plan_init(m);
    if (st == LSTMCL_SUCCESS)
        st = lc_weights_upload(m);
    if (st == LSTMCL_SUCCESS)
        st = lc_program_build(m);
    return st;
}

void lc_device_model_release(lstmcl_model *m)
{
    if (m->ctx->queue)
        clFinish(m->ctx->queue);
    lc_device_ws_release(m);
    lc_weights_release(m);
    lc_device_kernels_release(m);
    lc_programs_release(m);
}

/* The operations of an algorithm (GEMM, FUSED or PERSISTENT). */
static const lc_algo_ops *lc_algo_ops_of(lstmcl_algorithm algo)
{
    switch (algo) {
    case LSTMCL_ALGO_GEMM:
        return &lc_algo_gemm;
    case LSTMCL_ALGO_PERSISTENT:
        return &lc_algo_persistent;
    default:
        return &lc_algo_fused;
    }
}

/* Enqueues a whole forward pass. With the persistent kernel, *persisted is
 * set and m->persist_gave_up is being read back: once the queue is
 * finished, nonzero there means the pass must be run again another way. */
static lstmcl_status lc_enqueue_forward(lstmcl_model *m, const lc_io *io,
                                        lstmcl_algorithm algo, int *persisted)
{
    const lc_algo_ops *ops = lc_algo_ops_of(algo);
    *persisted = 0;
    lstmcl_context *ctx = m->ctx;
    lc_workspace *w = &m->ws;
    cl_command_queue q = ctx->queue;
    const size_t T = io->T, N = io->N, D = m->D, H = m->H, Hout = m->Hout;
    const size_t DH = D * Hout, G = D * 4 * H;
    const float zero = 0.0f;
    lstmcl_status st = ops->begin ? ops->begin(m) : LSTMCL_SUCCESS;
    if (st != LSTMCL_SUCCESS)
        return st;
    for (size_t l = 0; l < m->L; l++) {
        lc_layer_pass p = {l, &m->layers[l], io, NULL, (cl_long)(N * G), (cl_long)G,
                           (cl_long)(N * DH), (cl_long)DH};
        const lc_layer *ly = p.ly;
        cl_mem in = l == 0 ? io->x : w->ytmp[(l - 1) % 2];
        const int last = l + 1 == m->L;
        p.out = last ? io->y : w->ytmp[l % 2];
        if (l == 0 && io->batch_first) {
            p.xw_ts = (cl_long)G;
            p.xw_ns = (cl_long)(T * G);
        }
        if (last && io->batch_first) {
            p.y_ts = (cl_long)DH;
            p.y_ns = (cl_long)(T * DH);
        }
        /* The rows layout's models (CPU devices) and reduced precisions
         * run the project's GEMM. */
        const lc_gemm_rows rows = {io->lens, T, N, l == 0 && io->batch_first};
        if (algo != LSTMCL_ALGO_GEMM && (m->fused_rows || m->precision != LSTMCL_PRECISION_FP32))
            st = lc_gemm_own(m, T * N, G, ly->in, in, 0, ly->w_buf, ly->ws_buf, w->xw, 0, &rows,
                             "input projection", l);
        else
            st = lc_gemm_nt(m, T * N, G, ly->in, in, 0, ly->w_buf, 0, w->xw, 0,
                            "input projection", l, 0);
        if (st != LSTMCL_SUCCESS)
            return st;
        /* Initial state of this layer: rows l*D .. l*D+D-1 of h0/c0. */
        size_t hbytes = D * N * Hout * sizeof(float), cbytes = D * N * H * sizeof(float);
        if (io->h0)
            LC_TRY_CL(ctx, clEnqueueCopyBuffer(q, io->h0, w->h[0], l * hbytes, 0, hbytes, 0, NULL,
                                               NULL),
                      "clEnqueueCopyBuffer", "layer %zu: initial h", l);
        else
            LC_TRY_CL(ctx, clEnqueueFillBuffer(q, w->h[0], &zero, sizeof zero, 0, hbytes, 0, NULL,
                                               NULL),
                      "clEnqueueFillBuffer", "layer %zu: zero initial h", l);
        if (io->c0)
            LC_TRY_CL(ctx, clEnqueueCopyBuffer(q, io->c0, w->c, l * cbytes, 0, cbytes, 0, NULL,
                                               NULL),
                      "clEnqueueCopyBuffer", "layer %zu: initial c", l);
        else
            LC_TRY_CL(ctx, clEnqueueFillBuffer(q, w->c, &zero, sizeof zero, 0, cbytes, 0, NULL,
                                               NULL),
                      "clEnqueueFillBuffer", "layer %zu: zero initial c", l);
        st = ops->layer(m, &p);
        if (st != LSTMCL_SUCCESS)
            return st;
        if (io->hn)
            LC_TRY_CL(ctx, clEnqueueCopyBuffer(q, w->h[T % 2], io->hn, 0, l * hbytes, hbytes, 0,
                                               NULL, NULL),
                      "clEnqueueCopyBuffer", "layer %zu: final h", l);
        if (io->cn)
            LC_TRY_CL(ctx, clEnqueueCopyBuffer(q, w->c, io->cn, 0, l * cbytes, cbytes, 0, NULL,
                                               NULL),
                      "clEnqueueCopyBuffer", "layer %zu: final c", l);
    }
    if (ops->end) {
        st = ops->end(m);
        if (st != LSTMCL_SUCCESS)
            return st;
    }
    *persisted = algo == LSTMCL_ALGO_PERSISTENT;
    return LSTMCL_SUCCESS;
}

static lstmcl_status lc_host_forward(lstmcl_model *m, const lstmcl_forward_args *a,
                                     lstmcl_algorithm algo, int *persisted)
{
    *persisted = 0;
    lstmcl_context *ctx = m->ctx;
    cl_command_queue q = ctx->queue;
    const size_t T = a->seq_len, N = a->batch, D = m->D, L = m->L;
    lstmcl_status st = lc_ws_ensure(m, T, N, 1);
    if (st != LSTMCL_SUCCESS)
        return st;
    lc_workspace *w = &m->ws;
    size_t hsz = L * D * N * m->Hout * sizeof(float), csz = L * D * N * m->H * sizeof(float);
    size_t ysz = T * N * D * m->Hout * sizeof(float);
    lc_io io = {T, N, a->batch_first, w->x, a->seq_lens ? w->lens : NULL,
                a->h0 ? w->h0 : NULL, a->c0 ? w->c0 : NULL, a->y ? w->y : NULL,
                a->hn ? w->hn : NULL, a->cn ? w->cn : NULL};
    LC_TRY_CL(ctx, clEnqueueWriteBuffer(q, w->x, CL_FALSE, 0, T * N * m->I * sizeof(float), a->x,
                                        0, NULL, NULL),
              "clEnqueueWriteBuffer", "uploading x");
    if (a->seq_lens)
        LC_TRY_CL(ctx, clEnqueueWriteBuffer(q, w->lens, CL_FALSE, 0, N * sizeof(int32_t),
                                            a->seq_lens, 0, NULL, NULL),
                  "clEnqueueWriteBuffer", "uploading seq_lens");
    if (a->h0)
        LC_TRY_CL(ctx, clEnqueueWriteBuffer(q, w->h0, CL_FALSE, 0, hsz, a->h0, 0, NULL, NULL),
                  "clEnqueueWriteBuffer", "uploading h0");
    if (a->c0)
        LC_TRY_CL(ctx, clEnqueueWriteBuffer(q, w->c0, CL_FALSE, 0, csz, a->c0, 0, NULL, NULL),
                  "clEnqueueWriteBuffer", "uploading c0");
    st = lc_enqueue_forward(m, &io, algo, persisted);
    if (st != LSTMCL_SUCCESS)
        return st;
    if (a->y)
        LC_TRY_CL(ctx, clEnqueueReadBuffer(q, w->y, CL_FALSE, 0, ysz, a->y, 0, NULL, NULL),
                  "clEnqueueReadBuffer", "downloading y");
    if (a->hn)
        LC_TRY_CL(ctx, clEnqueueReadBuffer(q, w->hn, CL_FALSE, 0, hsz, a->hn, 0, NULL, NULL),
                  "clEnqueueReadBuffer", "downloading hn");
    if (a->cn)
        LC_TRY_CL(ctx, clEnqueueReadBuffer(q, w->cn, CL_FALSE, 0, csz, a->cn, 0, NULL, NULL),
                  "clEnqueueReadBuffer", "downloading cn");
    return LSTMCL_SUCCESS;
}

lstmcl_status lc_device_forward_host(lstmcl_model *m, const lstmcl_forward_args *a)
{
    lc_persist_pass_begins(m);
    int timed = 0, gave_up = 0;
    lstmcl_algorithm algo = lc_pass_algo(m, a->batch, 1, &timed);
    const double t0 = timed ? lc_now_seconds() : 0.0;
    for (int attempt = 0;; attempt++) {
        int persisted = 0;
        lstmcl_status st = lc_host_forward(m, a, algo, &persisted);
        /* Always wait: the queue may still read or write the caller's
         * arrays. */
        cl_int err = clFinish(m->ctx->queue);
        if (st != LSTMCL_SUCCESS)
            return st;
        if (err != CL_SUCCESS)
            return lc_fail_cl(m->ctx, err, "clFinish", "forward pass");
        /* The inputs are intact; run the pass again with the fused step. */
        if (attempt == 0 && lc_persist_failed(m, persisted)) {
            algo = lc_device_pick(m, a->batch);
            gave_up = 1;
            continue;
        }
        if (timed)
            lc_choice_end(m, a->batch, a->seq_len, lc_now_seconds() - t0, gave_up);
        return LSTMCL_SUCCESS;
    }
}

/* Checks that a caller's buffer holds at least `count` elements of `elem`. */
static lstmcl_status lc_check_mem(lstmcl_model *m, cl_mem b, const char *name, size_t count,
                                  size_t elem, int required)
{
    if (!b) {
        if (required)
            return lc_fail(m->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "lstmcl_forward_cl: %s must not be NULL", name);
        return LSTMCL_SUCCESS;
    }
    size_t size = 0;
    cl_context owner = NULL;
    cl_int err = clGetMemObjectInfo(b, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(b, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err != CL_SUCCESS) {
        char w[96];
        snprintf(w, sizeof w, "lstmcl_forward_cl: checking buffer %s", name);
        return lc_fail_cl(m->ctx, err, "clGetMemObjectInfo", w);
    }
    if (owner != m->ctx->cl)
        return lc_fail(m->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_forward_cl: buffer %s belongs to another cl_context", name);
    if (size / elem < count)
        return lc_fail(m->ctx, LSTMCL_ERROR_INVALID_SHAPE,
                       "lstmcl_forward_cl: buffer %s holds %zu bytes, needs %zu", name, size,
                       count * elem);
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_forward_cl(lstmcl_model *m, const lstmcl_forward_cl_args *a, cl_event *done)
{
    if (done)
        *done = NULL;
    if (!m || !a)
        return lc_fail(m ? m->ctx : NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_forward_cl: %s must not be NULL", !m ? "model" : "args");
    if (m->ctx->reference)
        return lc_fail(m->ctx, LSTMCL_ERROR_UNSUPPORTED,
                       "lstmcl_forward_cl: the CPU reference context has no OpenCL buffers");
    const size_t T = a->seq_len, N = a->batch, D = m->D, L = m->L;
    lstmcl_status st = lc_check_forward_shape(m, T, N);
    const struct {
        cl_mem b;
        const char *name;
        size_t count, elem;
        int required;
    } bufs[] = {
        {a->x, "x", T * N * m->I, sizeof(float), 1},
        {a->seq_lens, "seq_lens", N, sizeof(cl_int), 0},
        {a->h0, "h0", L * D * N * m->Hout, sizeof(float), 0},
        {a->c0, "c0", L * D * N * m->H, sizeof(float), 0},
        {a->y, "y", T * N * D * m->Hout, sizeof(float), 0},
        {a->hn, "hn", L * D * N * m->Hout, sizeof(float), 0},
        {a->cn, "cn", L * D * N * m->H, sizeof(float), 0},
    };
    for (size_t i = 0; st == LSTMCL_SUCCESS && i < sizeof bufs / sizeof bufs[0]; i++)
        st = lc_check_mem(m, bufs[i].b, bufs[i].name, bufs[i].count, bufs[i].elem,
                          bufs[i].required);
    if (st == LSTMCL_SUCCESS)
        st = lc_ws_ensure(m, T, N, 0);
    if (st != LSTMCL_SUCCESS)
        return st;
    lc_io io = {T, N, a->batch_first, a->x, a->seq_lens, a->h0, a->c0, a->y, a->hn, a->cn};
    int persisted = 0, timed = 0, gave_up = 0;
    lc_persist_pass_begins(m);
    const lstmcl_algorithm algo = lc_pass_algo(m, N, 0, &timed);
    double t0 = 0.0;
    if (timed) {
        /* Time this pass alone, not the caller's work queued before it. */
        cl_int err = clFinish(m->ctx->queue);
        if (err != CL_SUCCESS)
            return lc_fail_cl(m->ctx, err, "clFinish", "before a timed forward pass");
        t0 = lc_now_seconds();
    }
    st = lc_enqueue_forward(m, &io, algo, &persisted);
    if (st == LSTMCL_SUCCESS && persisted) {
        /* The persistent kernel's outcome is only known once it is done. */
        cl_int err = clFinish(m->ctx->queue);
        if (err != CL_SUCCESS)
            return lc_fail_cl(m->ctx, err, "clFinish", "forward pass (persistent kernel)");
        if (lc_persist_failed(m, persisted)) {
            gave_up = 1;
            st = lc_enqueue_forward(m, &io, lc_device_pick(m, N), &persisted);
        }
    }
    if (st == LSTMCL_SUCCESS && timed) {
        cl_int err = clFinish(m->ctx->queue);
        if (err != CL_SUCCESS)
            return lc_fail_cl(m->ctx, err, "clFinish", "a timed forward pass");
        lc_choice_end(m, N, T, lc_now_seconds() - t0, gave_up);
    }
    if (st != LSTMCL_SUCCESS) {
        clFinish(m->ctx->queue);
        return st;
    }
    if (done) {
        cl_int err = clEnqueueMarkerWithWaitList(m->ctx->queue, 0, NULL, done);
        if (err != CL_SUCCESS) {
            *done = NULL;
            return lc_fail_cl(m->ctx, err, "clEnqueueMarkerWithWaitList", "forward completion");
        }
    }
    return LSTMCL_SUCCESS;
}
