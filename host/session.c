/* Sessions: many live streams of one model, their h and c kept per slot on
 * the device (on the host for the reference context) between calls.
 *
 * A session holds a view of its model: the model's struct copied, sharing
 * its weight buffers and programs, with the session's own context view (its
 * own in-order queue and error message), kernel objects and workspace, and
 * the algorithm fixed at creation. A run gathers the called slots' state
 * into packed h0/c0 buffers (lstm_move_state), runs the model's forward on
 * the view with per-stream lengths, and scatters hn/cn back to the slots in
 * one launch. The gathered copies are the snapshot a persistent pass that
 * gives up is redone from. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct lstmcl_session {
    lstmcl_model *model; /* borrowed */
    lstmcl_context ctx;  /* the model's context, with this session's queue and error */
    lstmcl_model view;   /* the model, with this session's kernels, workspace, algorithm */
    size_t slots, max_chunk, L, H, Hout, I;
    unsigned char *mark; /* slots seen in the call being checked */
    int32_t *ids, *lens; /* per call, host side */
    /* Device: the slots' state, the packed copies of a call, staging. */
    cl_kernel k_move;
    cl_mem h, c, h0, c0, hn, cn, x, y;
    cl_mem ids_buf, lens_buf; /* int32 (slots): host-array calls, written each call */
    /* Reference context: the same on the host. */
    float *hh, *hc, *ph0, *pc0, *phn, *pcn, *py;
};

void lstmcl_session_destroy(lstmcl_session *s)
{
    if (!s)
        return;
    if (s->ctx.queue)
        clFinish(s->ctx.queue);
    if (!s->ctx.reference) {
        lc_device_kernels_release(&s->view);
        lc_device_ws_release(&s->view);
    }
    if (s->k_move)
        clReleaseKernel(s->k_move);
    cl_mem *bufs[] = {&s->h,  &s->c, &s->h0, &s->c0,      &s->hn,
                      &s->cn, &s->x, &s->y,  &s->ids_buf, &s->lens_buf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        lc_release_mem(bufs[i]);
    if (s->ctx.queue)
        clReleaseCommandQueue(s->ctx.queue);
    free(s->mark);
    free(s->ids);
    free(s->lens);
    free(s->hh);
    free(s->hc);
    free(s->ph0);
    free(s->pc0);
    free(s->phn);
    free(s->pcn);
    free(s->py);
    free(s);
}

static lstmcl_status lc_session_buffer(lstmcl_session *s, cl_mem *out, size_t floats,
                                       const char *what)
{
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(s->ctx.cl, CL_MEM_READ_WRITE, floats * sizeof(float), NULL, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return lc_fail_cl(&s->ctx, err, "clCreateBuffer", what);
    }
    return LSTMCL_SUCCESS;
}

static lstmcl_status lc_session_zero(lstmcl_session *s, cl_mem b, size_t floats, const char *what)
{
    const float zero = 0.0f;
    cl_int err = clEnqueueFillBuffer(s->ctx.queue, b, &zero, sizeof zero, 0,
                                     floats * sizeof(float), 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return lc_fail_cl(&s->ctx, err, "clEnqueueFillBuffer", what);
    return LSTMCL_SUCCESS;
}

/* The device side of a new session: queue, kernels, state and staging. */
static lstmcl_status lc_session_device_init(lstmcl_session *s, size_t state_h, size_t state_c,
                                            size_t xs, size_t ys)
{
    const lstmcl_model *m = s->model;
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(m->ctx->queue, CL_QUEUE_PROPERTIES, sizeof props, &props,
                                       NULL);
    if (err != CL_SUCCESS)
        return lc_fail_cl(&s->ctx, err, "clGetCommandQueueInfo", "the model's queue");
    s->ctx.queue = clCreateCommandQueue(s->ctx.cl, s->ctx.device,
                                        props & CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        s->ctx.queue = NULL;
        return lc_fail_cl(&s->ctx, err, "clCreateCommandQueue", "the session's queue");
    }
    /* The algorithm, fixed for the session's life (see the header). On CPU
     * devices a session's calls come and go with the streams' chunks, and
     * between them the runtime's worker threads go idle: the persistent
     * kernel's device-wide barrier, which needs every work-group on a core
     * at once, then lost whole scheduler slices at every step (52 ms per
     * 10-step call at H = 256 against 0.7 ms for the fused step, in
     * lstmcl-bench --suite stream on PoCL, 2 cores). There a session takes
     * the fused step unless the persistent kernel is forced. */
    lstmcl_algorithm a = lc_device_pick(m, s->slots);
    if (a == LSTMCL_ALGO_PERSISTENT && m->cfg.algorithm == LSTMCL_ALGO_AUTO &&
        (m->ctx->info.type & CL_DEVICE_TYPE_CPU))
        a = LSTMCL_ALGO_FUSED;
    s->view.cfg.algorithm = a;
    lstmcl_status st = lc_device_kernels_create(&s->view);
    if (st != LSTMCL_SUCCESS)
        return st;
    s->k_move = clCreateKernel(m->program, "lstm_move_state", &err);
    if (err != CL_SUCCESS) {
        s->k_move = NULL;
        return lc_fail_cl(&s->ctx, err, "clCreateKernel", "kernel lstm_move_state");
    }
    const struct {
        cl_mem *b;
        size_t n;
        const char *what;
    } bufs[] = {
        {&s->h, state_h, "session state h"}, {&s->c, state_c, "session state c"},
        {&s->h0, state_h, "session h0"},     {&s->c0, state_c, "session c0"},
        {&s->hn, state_h, "session hn"},     {&s->cn, state_c, "session cn"},
        {&s->x, xs, "session x"},            {&s->y, ys, "session y"},
    };
    for (size_t i = 0; st == LSTMCL_SUCCESS && i < sizeof bufs / sizeof bufs[0]; i++)
        st = lc_session_buffer(s, bufs[i].b, bufs[i].n, bufs[i].what);
    /* (int32 and float are both 4 bytes.) */
    if (st == LSTMCL_SUCCESS)
        st = lc_session_buffer(s, &s->ids_buf, s->slots, "session slot ids");
    if (st == LSTMCL_SUCCESS)
        st = lc_session_buffer(s, &s->lens_buf, s->slots, "session chunk lengths");
    if (st == LSTMCL_SUCCESS)
        st = lc_session_zero(s, s->h, state_h, "session state h");
    if (st == LSTMCL_SUCCESS)
        st = lc_session_zero(s, s->c, state_c, "session state c");
    if (st == LSTMCL_SUCCESS && (err = clFinish(s->ctx.queue)) != CL_SUCCESS)
        st = lc_fail_cl(&s->ctx, err, "clFinish", "session creation");
    return st;
}

lstmcl_status lstmcl_session_create(lstmcl_model *m, size_t max_streams, size_t max_chunk,
                                    lstmcl_session **out)
{
    if (!out)
        return lc_fail(m ? m->ctx : NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_session_create: session must not be NULL");
    *out = NULL;
    if (!m)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_session_create: model must not be NULL");
    if (m->D != 1 || m->reversed[0])
        return lc_fail(m->ctx, LSTMCL_ERROR_UNSUPPORTED,
                       "lstmcl_session_create: the model is %s; sessions run forward models "
                       "only (the reverse direction of a stream needs its future)",
                       m->D != 1 ? "bidirectional" : "reverse");
    if (max_streams == 0 || max_chunk == 0 || max_streams > INT_MAX || max_chunk > INT_MAX)
        return lc_fail(m->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_session_create: max_streams = %zu and max_chunk = %zu must be "
                       "1 .. %d",
                       max_streams, max_chunk, INT_MAX);
    lstmcl_status st = lc_check_forward_shape(m, max_chunk, max_streams);
    if (st != LSTMCL_SUCCESS)
        return st;
    size_t state_h, state_c, xs, ys;
    if (!lc_mul(m->L * max_streams, m->Hout, &state_h) ||
        !lc_mul(m->L * max_streams, m->H, &state_c) ||
        !lc_mul(max_chunk * max_streams, m->I, &xs) ||
        !lc_mul(max_chunk * max_streams, m->Hout, &ys))
        return lc_fail(m->ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                       "lstmcl_session_create: %zu streams of %zu steps overflow", max_streams,
                       max_chunk);
    lstmcl_session *s = calloc(1, sizeof *s);
    if (!s)
        return lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "allocating a session");
    s->model = m;
    s->ctx = *m->ctx;
    s->ctx.queue = NULL;
    s->ctx.adopted = 0;
    s->ctx.err[0] = '\0';
    s->view = *m;
    s->view.ctx = &s->ctx;
    memset(&s->view.ws, 0, sizeof s->view.ws);
    s->view.k_cell = s->view.k_proj = s->view.k_step = s->view.k_step2 = NULL;
    s->view.k_step4 = s->view.k_proj_step = s->view.k_gemm = s->view.k_persist = NULL;
    s->slots = max_streams;
    s->max_chunk = max_chunk;
    s->L = m->L;
    s->H = m->H;
    s->Hout = m->Hout;
    s->I = m->I;
    s->mark = calloc(max_streams, 1);
    s->ids = calloc(max_streams, sizeof *s->ids);
    s->lens = calloc(max_streams, sizeof *s->lens);
    if (!s->mark || !s->ids || !s->lens) {
        free(s->mark);
        free(s->ids);
        free(s->lens);
        free(s);
        return lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "allocating a session");
    }
    if (m->ctx->reference) {
        s->hh = calloc(state_h, sizeof(float));
        s->hc = calloc(state_c, sizeof(float));
        s->ph0 = calloc(state_h, sizeof(float));
        s->pc0 = calloc(state_c, sizeof(float));
        s->phn = calloc(state_h, sizeof(float));
        s->pcn = calloc(state_c, sizeof(float));
        s->py = calloc(ys, sizeof(float));
        if (!s->hh || !s->hc || !s->ph0 || !s->pc0 || !s->phn || !s->pcn || !s->py)
            st = lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "allocating a session");
    } else {
        st = lc_session_device_init(s, state_h, state_c, xs, ys);
        if (st != LSTMCL_SUCCESS) /* the message is the session's: copy it */
            lc_fail(m->ctx, st, "%s", s->ctx.err);
    }
    if (st != LSTMCL_SUCCESS) {
        lstmcl_session_destroy(s);
        return st;
    }
    *out = s;
    return LSTMCL_SUCCESS;
}

/* Checks slots[0 .. count-1] (distinct, in range) and fills s->ids. */
static lstmcl_status lc_check_slots(lstmcl_session *s, const char *fn, const size_t *slots,
                                    size_t count)
{
    if (!slots || count == 0 || count > s->slots)
        return lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: %s (count = %zu, max_streams = %zu)", fn,
                       !slots ? "slots must not be NULL" : "count must be 1 .. max_streams",
                       count, s->slots);
    lstmcl_status st = LSTMCL_SUCCESS;
    size_t k = 0;
    for (; k < count; k++) {
        if (slots[k] >= s->slots) {
            st = lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                         "%s: slots[%zu] = %zu is not below max_streams = %zu", fn, k, slots[k],
                         s->slots);
            break;
        }
        if (s->mark[slots[k]]) {
            st = lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                         "%s: slot %zu is given twice (slots[%zu])", fn, slots[k], k);
            break;
        }
        s->mark[slots[k]] = 1;
        s->ids[k] = (int32_t)slots[k];
    }
    while (k-- > 0)
        if (slots[k] < s->slots)
            s->mark[slots[k]] = 0;
    return st;
}

/* Enqueues the state move of the call's `count` slots (uploaded from
 * s->ids): gather into h0/c0, or scatter from hn/cn. */
static lstmcl_status lc_move_state(lstmcl_session *s, cl_mem ids, size_t count, int to_slots)
{
    cl_mem hp = to_slots ? s->hn : s->h0, cp = to_slots ? s->cn : s->c0;
    const cl_int n = (cl_int)count, total = (cl_int)s->slots, dir = to_slots;
    cl_int err = CL_SUCCESS;
    const struct {
        size_t size;
        const void *value;
    } args[] = {
        {sizeof(cl_mem), &s->h}, {sizeof(cl_mem), &s->c}, {sizeof(cl_mem), &hp},
        {sizeof(cl_mem), &cp},   {sizeof(cl_mem), &ids},  {sizeof n, &n},
        {sizeof total, &total},  {sizeof dir, &dir},
    };
    for (cl_uint i = 0; err == CL_SUCCESS && i < sizeof args / sizeof args[0]; i++)
        err = clSetKernelArg(s->k_move, i, args[i].size, args[i].value);
    if (err != CL_SUCCESS)
        return lc_fail_cl(&s->ctx, err, "clSetKernelArg", "lstm_move_state");
    size_t global[3] = {s->Hout > s->H ? s->Hout : s->H, count, s->L};
    err = clEnqueueNDRangeKernel(s->ctx.queue, s->k_move, 3, NULL, global, NULL, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return lc_fail_cl(&s->ctx, err, "clEnqueueNDRangeKernel", "lstm_move_state");
    return LSTMCL_SUCCESS;
}

/* A small read-only buffer holding a copy of host data (taken now, so the
 * host array may change as soon as this returns). */
static lstmcl_status lc_session_upload(lstmcl_session *s, const void *src, size_t bytes,
                                       cl_mem *out, const char *what)
{
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(s->ctx.cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes,
                          (void *)src, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return lc_fail_cl(&s->ctx, err, "clCreateBuffer", what);
    }
    return LSTMCL_SUCCESS;
}

/* The reference context's state moves, on the host. */
static void lc_move_host(lstmcl_session *s, size_t count, int to_slots)
{
    for (size_t l = 0; l < s->L; l++)
        for (size_t k = 0; k < count; k++) {
            const size_t row = l * count + k, srow = l * s->slots + (size_t)s->ids[k];
            if (to_slots) {
                memcpy(s->hh + srow * s->Hout, s->phn + row * s->Hout, s->Hout * sizeof(float));
                memcpy(s->hc + srow * s->H, s->pcn + row * s->H, s->H * sizeof(float));
            } else {
                memcpy(s->ph0 + row * s->Hout, s->hh + srow * s->Hout, s->Hout * sizeof(float));
                memcpy(s->pc0 + row * s->H, s->hc + srow * s->H, s->H * sizeof(float));
            }
        }
}

/* Checks a run's sizes and lengths and fills s->ids and s->lens. */
static lstmcl_status lc_check_run(lstmcl_session *s, const char *fn, size_t count,
                                  const size_t *slots, const size_t *steps, size_t seq_len)
{
    if (seq_len == 0 || seq_len > s->max_chunk)
        return lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: seq_len = %zu must be 1 .. max_chunk = %zu", fn, seq_len,
                       s->max_chunk);
    lstmcl_status st = lc_check_slots(s, fn, slots, count);
    if (st != LSTMCL_SUCCESS)
        return st;
    for (size_t k = 0; k < count; k++) {
        size_t n = steps ? steps[k] : seq_len;
        if (n == 0 || n > seq_len)
            return lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "%s: steps[%zu] = %zu must be 1 .. seq_len = %zu", fn, k, n, seq_len);
        s->lens[k] = (int32_t)n;
    }
    return LSTMCL_SUCCESS;
}

/* Gather, forward on the view, scatter: x and y are device buffers. The
 * slot ids and lengths go to the session's own buffers when the call waits
 * for its queue before returning (`waits`: s->ids and s->lens stay as they
 * are until then), else to new buffers holding copies. */
static lstmcl_status lc_session_enqueue(lstmcl_session *s, size_t count, size_t seq_len,
                                        cl_mem x, cl_mem y, int waits)
{
    cl_mem ids = NULL, lens = NULL;
    lstmcl_status st = LSTMCL_SUCCESS;
    if (waits) {
        cl_int err = clEnqueueWriteBuffer(s->ctx.queue, s->ids_buf, CL_FALSE, 0,
                                          count * sizeof(int32_t), s->ids, 0, NULL, NULL);
        if (err == CL_SUCCESS)
            err = clEnqueueWriteBuffer(s->ctx.queue, s->lens_buf, CL_FALSE, 0,
                                       count * sizeof(int32_t), s->lens, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return lc_fail_cl(&s->ctx, err, "clEnqueueWriteBuffer", "slot ids and lengths");
        ids = s->ids_buf;
        lens = s->lens_buf;
        clRetainMemObject(ids);
        clRetainMemObject(lens);
    } else {
        st = lc_session_upload(s, s->ids, count * sizeof(int32_t), &ids, "slot ids");
        if (st == LSTMCL_SUCCESS)
            st = lc_session_upload(s, s->lens, count * sizeof(int32_t), &lens,
                                   "chunk lengths");
    }
    if (st == LSTMCL_SUCCESS)
        st = lc_move_state(s, ids, count, 0);
    if (st == LSTMCL_SUCCESS) {
        lstmcl_forward_cl_args fa = {seq_len, count, 0, x, lens, s->h0, s->c0, y, s->hn, s->cn};
        st = lstmcl_forward_cl(&s->view, &fa, NULL);
    }
    /* The slots change only once the whole pass is in. */
    if (st == LSTMCL_SUCCESS)
        st = lc_move_state(s, ids, count, 1);
    if (ids)
        clReleaseMemObject(ids);
    if (lens)
        clReleaseMemObject(lens);
    return st;
}

lstmcl_status lstmcl_session_run(lstmcl_session *s, const lstmcl_session_run_args *a)
{
    const char *fn = "lstmcl_session_run";
    if (!s || !a)
        return lc_fail(s ? &s->ctx : NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: %s must not be NULL", fn, !s ? "session" : "args");
    if (!a->x)
        return lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: x must not be NULL", fn);
    lstmcl_status st = lc_check_run(s, fn, a->count, a->slots, a->steps, a->seq_len);
    if (st != LSTMCL_SUCCESS)
        return st;
    const size_t count = a->count, T = a->seq_len;
    if (s->ctx.reference) {
        lc_move_host(s, count, 0);
        lstmcl_forward_args fa = {T,      count, 0,      a->x,   s->lens,
                                  s->ph0, s->pc0, a->y ? a->y : s->py, s->phn, s->pcn};
        st = lstmcl_forward_reference(&s->view, &fa);
        if (st == LSTMCL_SUCCESS)
            lc_move_host(s, count, 1);
        return st;
    }
    cl_int err = clEnqueueWriteBuffer(s->ctx.queue, s->x, CL_FALSE, 0,
                                      T * count * s->I * sizeof(float), a->x, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        st = lc_fail_cl(&s->ctx, err, "clEnqueueWriteBuffer", "session x");
    if (st == LSTMCL_SUCCESS)
        st = lc_session_enqueue(s, count, T, s->x, s->y, 1);
    if (st == LSTMCL_SUCCESS && a->y) {
        err = clEnqueueReadBuffer(s->ctx.queue, s->y, CL_TRUE, 0,
                                  T * count * s->Hout * sizeof(float), a->y, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            st = lc_fail_cl(&s->ctx, err, "clEnqueueReadBuffer", "session y");
    }
    /* Always wait: the queue may still read the caller's x. */
    err = clFinish(s->ctx.queue);
    if (st == LSTMCL_SUCCESS && err != CL_SUCCESS)
        st = lc_fail_cl(&s->ctx, err, "clFinish", fn);
    return st;
}

static lstmcl_status lc_session_check_mem(lstmcl_session *s, cl_mem b, const char *name,
                                          size_t floats)
{
    size_t size = 0;
    cl_context owner = NULL;
    cl_int err = clGetMemObjectInfo(b, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(b, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err != CL_SUCCESS)
        return lc_fail_cl(&s->ctx, err, "clGetMemObjectInfo", name);
    if (owner != s->ctx.cl)
        return lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_session_run_cl: %s belongs to another OpenCL context", name);
    if (size < floats * sizeof(float))
        return lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_session_run_cl: %s holds %zu bytes, the call needs %zu", name,
                       size, floats * sizeof(float));
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_session_run_cl(lstmcl_session *s, const lstmcl_session_run_cl_args *a,
                                    cl_event *done)
{
    const char *fn = "lstmcl_session_run_cl";
    if (done)
        *done = NULL;
    if (!s || !a)
        return lc_fail(s ? &s->ctx : NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: %s must not be NULL", fn, !s ? "session" : "args");
    if (s->ctx.reference)
        return lc_fail(&s->ctx, LSTMCL_ERROR_UNSUPPORTED,
                       "%s: the CPU reference context has no OpenCL buffers", fn);
    if (!a->x)
        return lc_fail(&s->ctx, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: x must not be NULL", fn);
    lstmcl_status st = lc_check_run(s, fn, a->count, a->slots, a->steps, a->seq_len);
    const size_t count = a->count, T = a->seq_len;
    if (st == LSTMCL_SUCCESS)
        st = lc_session_check_mem(s, a->x, "x", T * count * s->I);
    if (st == LSTMCL_SUCCESS && a->y)
        st = lc_session_check_mem(s, a->y, "y", T * count * s->Hout);
    if (st == LSTMCL_SUCCESS)
        st = lc_session_enqueue(s, count, T, a->x, a->y, 0);
    if (st != LSTMCL_SUCCESS) {
        clFinish(s->ctx.queue);
        return st;
    }
    if (done) {
        cl_int err = clEnqueueMarkerWithWaitList(s->ctx.queue, 0, NULL, done);
        if (err != CL_SUCCESS) {
            *done = NULL;
            return lc_fail_cl(&s->ctx, err, "clEnqueueMarkerWithWaitList", fn);
        }
    }
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_session_reset(lstmcl_session *s, const size_t *slots, size_t count,
                                   const float *h0, const float *c0)
{
    const char *fn = "lstmcl_session_reset";
    if (!s)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: session must not be NULL", fn);
    lstmcl_status st = lc_check_slots(s, fn, slots, count);
    if (st != LSTMCL_SUCCESS)
        return st;
    const size_t nh = s->L * count * s->Hout, nc = s->L * count * s->H;
    if (s->ctx.reference) {
        for (size_t i = 0; i < nh; i++)
            s->phn[i] = h0 ? h0[i] : 0.0f;
        for (size_t i = 0; i < nc; i++)
            s->pcn[i] = c0 ? c0[i] : 0.0f;
        lc_move_host(s, count, 1);
        return LSTMCL_SUCCESS;
    }
    cl_int err = h0 ? clEnqueueWriteBuffer(s->ctx.queue, s->hn, CL_FALSE, 0, nh * sizeof(float),
                                           h0, 0, NULL, NULL)
                    : CL_SUCCESS;
    if (err == CL_SUCCESS && c0)
        err = clEnqueueWriteBuffer(s->ctx.queue, s->cn, CL_FALSE, 0, nc * sizeof(float), c0, 0,
                                   NULL, NULL);
    if (err != CL_SUCCESS)
        st = lc_fail_cl(&s->ctx, err, "clEnqueueWriteBuffer", "session reset");
    if (st == LSTMCL_SUCCESS && !h0)
        st = lc_session_zero(s, s->hn, nh, "session reset h");
    if (st == LSTMCL_SUCCESS && !c0)
        st = lc_session_zero(s, s->cn, nc, "session reset c");
    cl_mem ids = NULL;
    if (st == LSTMCL_SUCCESS)
        st = lc_session_upload(s, s->ids, count * sizeof(int32_t), &ids, "slot ids");
    if (st == LSTMCL_SUCCESS)
        st = lc_move_state(s, ids, count, 1);
    if (ids)
        clReleaseMemObject(ids);
    err = clFinish(s->ctx.queue);
    if (st == LSTMCL_SUCCESS && err != CL_SUCCESS)
        st = lc_fail_cl(&s->ctx, err, "clFinish", fn);
    return st;
}

lstmcl_status lstmcl_session_get_state(lstmcl_session *s, const size_t *slots, size_t count,
                                       float *h, float *c)
{
    const char *fn = "lstmcl_session_get_state";
    if (!s)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: session must not be NULL", fn);
    lstmcl_status st = lc_check_slots(s, fn, slots, count);
    if (st != LSTMCL_SUCCESS)
        return st;
    const size_t nh = s->L * count * s->Hout, nc = s->L * count * s->H;
    if (s->ctx.reference) {
        lc_move_host(s, count, 0);
        if (h)
            memcpy(h, s->ph0, nh * sizeof(float));
        if (c)
            memcpy(c, s->pc0, nc * sizeof(float));
        return LSTMCL_SUCCESS;
    }
    cl_mem ids = NULL;
    st = lc_session_upload(s, s->ids, count * sizeof(int32_t), &ids, "slot ids");
    if (st == LSTMCL_SUCCESS)
        st = lc_move_state(s, ids, count, 0);
    cl_int err = CL_SUCCESS;
    if (st == LSTMCL_SUCCESS && h)
        err = clEnqueueReadBuffer(s->ctx.queue, s->h0, CL_FALSE, 0, nh * sizeof(float), h, 0,
                                  NULL, NULL);
    if (st == LSTMCL_SUCCESS && err == CL_SUCCESS && c)
        err = clEnqueueReadBuffer(s->ctx.queue, s->c0, CL_FALSE, 0, nc * sizeof(float), c, 0,
                                  NULL, NULL);
    if (st == LSTMCL_SUCCESS && err != CL_SUCCESS)
        st = lc_fail_cl(&s->ctx, err, "clEnqueueReadBuffer", "session state");
    if (ids)
        clReleaseMemObject(ids);
    err = clFinish(s->ctx.queue);
    if (st == LSTMCL_SUCCESS && err != CL_SUCCESS)
        st = lc_fail_cl(&s->ctx, err, "clFinish", fn);
    return st;
}

cl_command_queue lstmcl_session_queue(const lstmcl_session *s)
{
    return s ? s->ctx.queue : NULL;
}

const char *lstmcl_session_algorithm(const lstmcl_session *s)
{
    if (!s)
        return NULL;
    if (s->ctx.reference)
        return "reference";
    return lc_algorithm_name(&s->view, s->slots);
}

const char *lstmcl_session_last_error(const lstmcl_session *s)
{
    return s ? s->ctx.err : "";
}
