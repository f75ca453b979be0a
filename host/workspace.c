/* The device workspace of a model (or a session's view of one): the
 * scratch buffers of one shape, allocated when a call needs more and
 * reused while calls fit. */
#include <stdio.h>

#include "internal.h"

void lc_release_mem(cl_mem *b)
{
    if (*b) {
        clReleaseMemObject(*b);
        *b = NULL;
    }
}

static void lc_ws_release(lc_workspace *w)
{
    cl_mem *all[] = {&w->x,  &w->y,  &w->xw, &w->ytmp[0], &w->ytmp[1], &w->h[0], &w->h[1],
                     &w->c,  &w->gh, &w->hraw, &w->hp,   &w->lens,    &w->h0,   &w->c0,
                     &w->hn, &w->cn, &w->bar};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        lc_release_mem(all[i]);
    w->cap_tn = w->cap_n = 0;
}

void lc_device_ws_release(lstmcl_model *m)
{
    lc_ws_release(&m->ws);
}

/* A zero-filled device buffer of `count` floats (CLBlast may read C even
 * with beta = 0, so scratch never holds stale NaNs). */
static lstmcl_status lc_scratch(lstmcl_context *ctx, cl_mem *b, size_t count, const char *what)
{
    cl_int err = CL_SUCCESS;
    if (count == 0)
        count = 1;
    *b = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, count * sizeof(float), NULL, &err);
    if (err != CL_SUCCESS) {
        *b = NULL;
        char w[128];
        snprintf(w, sizeof w, "allocating %s (%zu floats)", what, count);
        return lc_fail_cl(ctx, err, "clCreateBuffer", w);
    }
    const float zero = 0.0f;
    LC_TRY_CL(ctx, clEnqueueFillBuffer(ctx->queue, *b, &zero, sizeof zero, 0, count * sizeof(float),
                                       0, NULL, NULL),
              "clEnqueueFillBuffer", "clearing %s", what);
    return LSTMCL_SUCCESS;
}

/* Makes the workspace fit T x N (with host staging buffers when `io`). */
lstmcl_status lc_ws_ensure(lstmcl_model *m, size_t T, size_t N, int io)
{
    lc_workspace *w = &m->ws;
    lstmcl_context *ctx = m->ctx;
    size_t tn = T * N;
    int have_io = w->x != NULL;
    if (tn <= w->cap_tn && N <= w->cap_n && (!io || have_io))
        return LSTMCL_SUCCESS;
    size_t cap_tn = tn > w->cap_tn ? tn : w->cap_tn;
    size_t cap_n = N > w->cap_n ? N : w->cap_n;
    if (cap_tn < cap_n)
        cap_tn = cap_n;
    io = io || have_io;
    lc_ws_release(w);
    const size_t D = m->D, H = m->H, Hout = m->Hout, L = m->L;
    lstmcl_status st = LSTMCL_SUCCESS;
#define LC_ALLOC(field, count)                               \
    do {                                                     \
        if (st == LSTMCL_SUCCESS)                            \
            st = lc_scratch(ctx, &w->field, (count), #field); \
    } while (0)
    LC_ALLOC(xw, cap_tn * D * 4 * H);
    if (L > 1)
        LC_ALLOC(ytmp[0], cap_tn * D * Hout);
    if (L > 2)
        LC_ALLOC(ytmp[1], cap_tn * D * Hout);
    LC_ALLOC(h[0], D * cap_n * Hout);
    LC_ALLOC(h[1], D * cap_n * Hout);
    LC_ALLOC(c, D * cap_n * H);
    LC_ALLOC(gh, D * cap_n * 4 * H);
    LC_ALLOC(bar, 2); /* two ints; 0.0f and 0 share their bits */
    if (m->P) {
        LC_ALLOC(hraw, D * cap_n * H);
        LC_ALLOC(hp, D * cap_n * Hout);
    }
    if (io) {
        LC_ALLOC(x, cap_tn * m->I);
        LC_ALLOC(y, cap_tn * D * Hout);
        LC_ALLOC(lens, cap_n);
        LC_ALLOC(h0, L * D * cap_n * Hout);
        LC_ALLOC(c0, L * D * cap_n * H);
        LC_ALLOC(hn, L * D * cap_n * Hout);
        LC_ALLOC(cn, L * D * cap_n * H);
    }
#undef LC_ALLOC
    if (st != LSTMCL_SUCCESS) {
        lc_ws_release(w);
        return st;
    }
    w->cap_tn = cap_tn;
    w->cap_n = cap_n;
    return LSTMCL_SUCCESS;
}

