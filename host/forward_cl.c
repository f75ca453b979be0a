/* The device path: weights uploaded once per model, kernels built once per
 * model, buffers allocated once per shape; a forward pass only enqueues.
 *
 * Per layer: one SGEMM (CLBlast) for the input projections of all gates,
 * directions and steps; then per step one SGEMM per direction for
 * h(t-1) R^T, the fused elementwise cell kernel, and for a projected LSTM
 * one SGEMM per direction plus a small kernel that commits h and y. */
#include <clblast_c.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LC_CELL_SOURCE "lstm_cell.cl"
#define LC_GEMM_SOURCE "gemm.cl"
/* Output tile of one gemm_nt work-item (fixed in kernels/gemm.cl). */
#define LC_GEMM_TM 2
#define LC_GEMM_TN 4
/* Work-group width of gemm_nt, given explicitly: with no local size, PoCL
 * picks one from the global size and compiles the kernel again for each
 * new one (about 0.2 s per new product shape on a CPU, which a server
 * with varying batch and sequence lengths keeps paying). The global width
 * is rounded up to it; the kernel's surplus items write nothing. */
#ifndef LC_GEMM_LX
#define LC_GEMM_LX 16
#endif

#define LC_TRY_CL(ctx, expr, call, ...)                                          \
    do {                                                                         \
        cl_int e_ = (expr);                                                      \
        if (e_ != CL_SUCCESS) {                                                  \
            char what_[256];                                                     \
            snprintf(what_, sizeof what_, __VA_ARGS__);                          \
            return lc_fail_cl((ctx), e_, (call), what_);                         \
        }                                                                        \
    } while (0)

static void lc_release_mem(cl_mem *b)
{
    if (*b) {
        clReleaseMemObject(*b);
        *b = NULL;
    }
}

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

static lstmcl_status lc_build_program(lstmcl_model *m)
{
    lstmcl_context *ctx = m->ctx;
    const char *text = NULL;
    size_t size = 0;
    int owned = 0;
    const char *kdir = m->cfg.kernel_dir_on ? m->cfg.kernel_dir : NULL;
    const char *cdir = m->cfg.cache_on ? m->cfg.cache_dir : NULL;
    lstmcl_status st = lc_kernel_source(ctx, kdir, LC_CELL_SOURCE, &text, &size, &owned);
    if (st != LSTMCL_SUCCESS)
        return st;
    lstmcl_activation(*a)[3] = m->desc.activations;
    char opts[768];
    snprintf(opts, sizeof opts,
             "-cl-std=CL1.2 -D HID=%zu -D HOUT=%zu -D NDIR=%zu -D REV0=%d -D REV1=%d "
             "-D ACT_F0=%d -D ACT_G0=%d -D ACT_H0=%d -D ACT_F1=%d -D ACT_G1=%d -D ACT_H1=%d "
             "-D HAS_PROJ=%d -D PEEPHOLE=%d -D INPUT_FORGET=%d -D HAS_CLIP=%d -D CLIP_CELL=%d "
             "-D WG_J=%zu -D FUSED_ROWS=%d -D FUSED=%d -D MULTI=%d -D PERSIST=%d -D UPG=%zu "
             "-D OPG=%zu -D R_LOCAL=%d",
             m->H, m->Hout, m->D, m->reversed[0], m->reversed[1], (int)a[0][0].kind,
             (int)a[0][1].kind, (int)a[0][2].kind, (int)a[1][0].kind, (int)a[1][1].kind,
             (int)a[1][2].kind, m->P != 0, m->desc.peephole != 0, m->desc.input_forget != 0,
             m->desc.has_clip != 0, m->desc.clip_cell != 0, m->wg_j,
             m->fused_rows, m->fused_ok, m->step4_ok, m->persist_ok, m->persist_upg,
             m->persist_opg, m->persist_r_local);
    st = lc_build_program_cached(ctx, cdir, text, size, opts, LC_CELL_SOURCE, &m->program,
                                 &m->program_from_cache);
    if (owned)
        free((void *)text);
    if (st != LSTMCL_SUCCESS)
        return st;
    /* The CPU family also runs the input projection with its own GEMM. */
    int gemm = m->fused_ok && m->fused_rows;
    if (gemm) {
        int cached = 0;
        st = lc_kernel_source(ctx, kdir, LC_GEMM_SOURCE, &text, &size, &owned);
        if (st != LSTMCL_SUCCESS)
            return st;
        st = lc_build_program_cached(ctx, cdir, text, size, "-cl-std=CL1.2", LC_GEMM_SOURCE,
                                     &m->gemm_program, &cached);
        if (owned)
            free((void *)text);
        if (st != LSTMCL_SUCCESS)
            return st;
        m->program_from_cache = m->program_from_cache && cached;
    }
    return lc_device_kernels_create(m);
}

/* The kernels this model can use, and the programs they live in. */
lstmcl_status lc_device_kernels_create(lstmcl_model *m)
{
    lstmcl_context *ctx = m->ctx;
    const int gemm = m->fused_ok && m->fused_rows;
    const struct {
        cl_kernel *k;
        int needed;
        cl_program prog;
        const char *name, *file;
    } kernels[] = {
        {&m->k_cell, 1, m->program, "lstm_cell", LC_CELL_SOURCE},
        {&m->k_proj, m->P != 0, m->program, "lstm_project", LC_CELL_SOURCE},
        {&m->k_step, m->fused_ok, m->program, "lstm_step", LC_CELL_SOURCE},
        {&m->k_step2, m->step4_ok, m->program, "lstm_step2", LC_CELL_SOURCE},
        {&m->k_step4, m->step4_ok, m->program, "lstm_step4", LC_CELL_SOURCE},
        {&m->k_proj_step, m->fused_ok && m->P, m->program, "lstm_project_step", LC_CELL_SOURCE},
        {&m->k_gemm, gemm, m->gemm_program, "gemm_nt", LC_GEMM_SOURCE},
        {&m->k_persist, m->persist_ok, m->program, "lstm_persist", LC_CELL_SOURCE},
    };
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        if (!kernels[i].needed)
            continue;
        cl_int err = CL_SUCCESS;
        *kernels[i].k = clCreateKernel(kernels[i].prog, kernels[i].name, &err);
        if (err != CL_SUCCESS)
            *kernels[i].k = NULL;
        LC_TRY_CL(ctx, err, "clCreateKernel", "kernel %s of %s", kernels[i].name,
                  kernels[i].file);
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

/* Sequences per work-item pass of the persistent kernel for batch N. */
static size_t lc_persist_per(const lstmcl_model *m, size_t N)
{
    if (!m->fused_rows || N == 1)
        return 1;
    return N == 2 ? 2 : 4;
}

size_t lc_persist_local_bytes(const lstmcl_model *m, size_t N)
{
    size_t per = lc_persist_per(m, N), np = (N + per - 1) / per * per;
    size_t widest = (m->Hout + 7) / 8 * 8;
    if (m->P && (m->H + 7) / 8 * 8 > widest)
        widest = (m->H + 7) / 8 * 8;
    /* The rows layout also keeps a chunk's gate sums, 4 per sequence and
     * work-item, for the cell updates that follow 8 units at a time. */
    size_t per_seq = m->D * widest + (m->fused_rows ? 4 * m->wg_j : 0);
    size_t bytes = 0, rl = m->persist_r_local ? m->Hout * 4 * m->persist_upg : 1;
    if (!lc_mul(np, per_seq, &bytes) || !lc_add(bytes, rl, &bytes) ||
        !lc_mul(bytes, sizeof(float), &bytes))
        return (size_t)-1;
    return bytes;
}

/* The persistent kernel's shape: one work-group per compute unit (so that
 * all of them run at once on an otherwise idle device), fewer when the
 * layer has fewer units. The persist_groups setting overrides the count, for
 * testing what happens when the groups cannot all run at once. */
static lstmcl_status lc_persist_init(lstmcl_model *m)
{
    lstmcl_context *ctx = m->ctx;
    m->persist_ok = 0;
    size_t units = m->D * m->H, G = ctx->info.compute_units ? ctx->info.compute_units : 1;
    if (m->cfg.persist_groups)
        G = m->cfg.persist_groups;
    if (!m->fused_ok)
        return LSTMCL_SUCCESS;
    if (G > units)
        G = units;
    m->persist_groups = G;
    m->persist_upg = (units + G - 1) / G;
    m->persist_opg = (m->D * m->Hout + G - 1) / G;
    /* The cols layout keeps the group's R slice in local memory when it
     * fits beside the staged state of four sequences. */
    size_t rl = m->Hout * 4 * m->persist_upg * sizeof(float);
    m->persist_r_local = 0;
    size_t stage4 = lc_persist_local_bytes(m, 4);
    m->persist_r_local = !m->fused_rows && stage4 != (size_t)-1 &&
                         rl + stage4 + 1024 <= ctx->info.local_mem_bytes;
    m->persist_ok = 1;
    return LSTMCL_SUCCESS;
}

lstmcl_status lc_device_model_init(lstmcl_model *m)
{
    lstmcl_context *ctx = m->ctx;
    const size_t D = m->D, H = m->H;
    lstmcl_status st;
    /* The fused kernels stage one sequence's h (Hout floats, and H for the
     * projection) in local memory, with work-groups of wg_j items; the rows
     * layout adds the group's gate sums (4 floats per item and sequence). */
    m->wg_j = 64;
    while (m->wg_j > ctx->info.max_work_group_size)
        m->wg_j /= 2;
    size_t widest = m->P && H > m->Hout ? H : m->Hout;
    size_t staged = (widest + 7) / 8 * 8 * sizeof(float);
    /* The fused layout: forced, else the one the tuning file measured
     * fastest for this hidden size, else by device type. */
    lstmcl_algorithm layout = m->cfg.algorithm;
    if (layout == LSTMCL_ALGO_AUTO) {
        lc_tuning_load(m);
        for (size_t i = 0; i < m->n_tuned && layout == LSTMCL_ALGO_AUTO; i++)
            if (m->tuned[i].algo == LSTMCL_ALGO_FUSED_ROWS ||
                m->tuned[i].algo == LSTMCL_ALGO_FUSED_COLS)
                layout = m->tuned[i].algo;
    }
    m->fused_rows = layout == LSTMCL_ALGO_FUSED_ROWS || layout == LSTMCL_ALGO_PERSISTENT_ROWS ||
                    (layout != LSTMCL_ALGO_FUSED_COLS && layout != LSTMCL_ALGO_PERSISTENT_COLS &&
                     (ctx->info.type & CL_DEVICE_TYPE_CPU));
    size_t sums = m->fused_rows ? 4 * m->wg_j * sizeof(float) : 0;
    m->fused_ok = m->cfg.algorithm != LSTMCL_ALGO_GEMM &&
                  staged + sums + 1024 <= ctx->info.local_mem_bytes;
    m->step4_ok = m->fused_ok && m->fused_rows &&
                  4 * ((m->Hout + 7) / 8 * 8 * sizeof(float) + sums) + 1024 <=
                      ctx->info.local_mem_bytes;
    /* The variable asks for what this device cannot do for this model:
     * the setting is at fault, not the model. */
    if (m->cfg.algorithm >= LSTMCL_ALGO_FUSED && !m->fused_ok)
        return lc_fail(ctx,
                       m->cfg.algorithm_from_env ? LSTMCL_ERROR_INVALID_CONFIG
                                                 : LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s \"%s\": the fused step needs %zu bytes of local memory, "
                       "the device has %llu",
                       m->cfg.algorithm_from_env ? "LSTMCL_ALGO" : "options: algorithm",
                       lstmcl_algorithm_name(m->cfg.algorithm), staged + sums + 1024,
                       (unsigned long long)ctx->info.local_mem_bytes);
    st = lc_persist_init(m);
    if (st != LSTMCL_SUCCESS)
        return st;
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
        if (st == LSTMCL_SUCCESS)
            st = lc_upload(ctx, &ly->r_buf, ly->r, D * 4 * H * m->Hout, "recurrent weights", l);
        if (st == LSTMCL_SUCCESS && ly->peep)
            st = lc_upload(ctx, &ly->peep_buf, ly->peep, D * 3 * H, "peepholes", l);
        if (st == LSTMCL_SUCCESS && ly->proj)
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
    return lc_build_program(m);
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

void lc_device_kernels_release(lstmcl_model *m)
{
    cl_kernel *kernels[] = {&m->k_cell,  &m->k_proj,      &m->k_step, &m->k_step2,
                            &m->k_step4, &m->k_proj_step, &m->k_gemm, &m->k_persist};
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        if (*kernels[i]) {
            clReleaseKernel(*kernels[i]);
            *kernels[i] = NULL;
        }
}

void lc_device_model_release(lstmcl_model *m)
{
    if (m->ctx->queue)
        clFinish(m->ctx->queue);
    lc_ws_release(&m->ws);
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
    lc_device_kernels_release(m);
    cl_program *programs[] = {&m->program, &m->gemm_program};
    for (size_t i = 0; i < 2; i++)
        if (*programs[i]) {
            clReleaseProgram(*programs[i]);
            *programs[i] = NULL;
        }
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
static lstmcl_status lc_ws_ensure(lstmcl_model *m, size_t T, size_t N, int io)
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

/* C(m x n) = A(m x k) B(n x k)^T, all row-major with offsets in floats. */
static lstmcl_status lc_gemm_nt(lstmcl_model *m, size_t M, size_t Nn, size_t K, cl_mem A,
                                size_t a_off, cl_mem B, size_t b_off, cl_mem C, size_t c_off,
                                const char *what, size_t layer, size_t step)
{
    cl_command_queue q = m->ctx->queue;
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, M, Nn, K, 1.0f, A, a_off, K, B, b_off,
                                       K, 0.0f, C, c_off, Nn, &q, NULL);
    if (s != CLBlastSuccess) {
        char w[160];
        snprintf(w, sizeof w, "layer %zu step %zu: %s (%zu x %zu x %zu)", layer, step, what, M,
                 Nn, K);
        return lc_fail_cl(m->ctx, (cl_int)s, "CLBlastSgemm", w);
    }
    return LSTMCL_SUCCESS;
}

#define LC_ARG(k, i, v)                                                                    \
    do {                                                                                   \
        cl_int e_ = clSetKernelArg((k), (i), sizeof(v), &(v));                             \
        if (e_ != CL_SUCCESS)                                                              \
            return lc_fail_cl(m->ctx, e_, "clSetKernelArg", "setting argument " #v);       \
    } while (0)

/* The same product with the project's own kernel (CPU devices). */
static lstmcl_status lc_gemm_own(lstmcl_model *m, size_t M, size_t Nn, size_t K, cl_mem A,
                                 size_t a_off, cl_mem B, size_t b_off, cl_mem C, size_t c_off,
                                 const char *what, size_t layer)
{
    cl_kernel k = m->k_gemm;
    cl_int Mi = (cl_int)M, Ni = (cl_int)Nn, Ki = (cl_int)K;
    cl_long ao = (cl_long)a_off, bo = (cl_long)b_off, co = (cl_long)c_off;
    LC_ARG(k, 0, Mi);
    LC_ARG(k, 1, Ni);
    LC_ARG(k, 2, Ki);
    LC_ARG(k, 3, A);
    LC_ARG(k, 4, ao);
    LC_ARG(k, 5, B);
    LC_ARG(k, 6, bo);
    LC_ARG(k, 7, C);
    LC_ARG(k, 8, co);
    const size_t cols = (Nn + LC_GEMM_TN - 1) / LC_GEMM_TN;
    const size_t lws[2] = {LC_GEMM_LX, 1};
    const size_t gws[2] = {(cols + LC_GEMM_LX - 1) / LC_GEMM_LX * LC_GEMM_LX,
                           (M + LC_GEMM_TM - 1) / LC_GEMM_TM};
    LC_TRY_CL(m->ctx, clEnqueueNDRangeKernel(m->ctx->queue, k, 2, NULL, gws, lws, 0, NULL, NULL),
              "clEnqueueNDRangeKernel", "layer %zu: gemm_nt (%s, %zu x %zu x %zu)", layer, what,
              M, Nn, K);
    return LSTMCL_SUCCESS;
}

typedef struct lc_io {
    size_t T, N;
    int batch_first;
    cl_mem x, lens, h0, c0, y, hn, cn;
} lc_io;


/* The automatic choice: the tuning file's measurement for this device when
 * there is one (tuning.c, written by lstmcl-tune), else these rules, from
 * measurements (bench/results):
 * CPU devices (PoCL, 2-core x86, H=512, T=25): the fused step (rows layout)
 *   beats CLBlast's SGEMM at every batch measured: 2.0 vs 8.0 ms per step
 *   at N=4, 7.3 vs 11.8 at N=16, 19 vs 37 at N=64; the persistent kernel
 *   beats the fused step on 11 of the 15 DeepBench configurations (by up
 *   to 41% at H=256 N=1, commit 574f99f) and on the throughput and stacked
 *   sets; it was 2-24% slower on the other four (H >= 1024 with N = 2, and
 *   H=2048 N=1), where repeated A/B runs of the two swing by more than
 *   that: it is chosen whenever its staging fits local memory;
 * other devices: not measured yet; the fused step up to this batch, the
 *   GEMM above it, where each weight is reused across the batch. */
#define LC_FUSED_MAX_BATCH_GPU 16

/* Returns LSTMCL_ALGO_GEMM, LSTMCL_ALGO_FUSED (in the model's layout) or
 * LSTMCL_ALGO_PERSISTENT. The persistent kernel, when asked for but unusable
 * (its staging does not fit local memory at this batch, or a pass found
 * its groups not running at once), gives way to the fused step. */
static int lc_persist_usable(const lstmcl_model *m, size_t N)
{
    return m->persist_ok && m->persist_skip == 0 &&
           lc_persist_local_bytes(m, N) + 1024 <= m->ctx->info.local_mem_bytes;
}

static lstmcl_algorithm lc_pick(const lstmcl_model *m, size_t N)
{
    if (!m->fused_ok)
        return LSTMCL_ALGO_GEMM;
    const int persist = lc_persist_usable(m, N);
    lstmcl_algorithm want = m->cfg.algorithm;
    if (want == LSTMCL_ALGO_AUTO)
        want = lc_tuning_pick(m, N);
    if (want >= LSTMCL_ALGO_PERSISTENT)
        return persist ? LSTMCL_ALGO_PERSISTENT : LSTMCL_ALGO_FUSED;
    if (want == LSTMCL_ALGO_GEMM)
        return LSTMCL_ALGO_GEMM;
    if (want != LSTMCL_ALGO_AUTO)
        return LSTMCL_ALGO_FUSED;
    if (m->ctx->info.type & CL_DEVICE_TYPE_CPU)
        return persist ? lc_choice_current(m, N) : LSTMCL_ALGO_FUSED;
    return N <= LC_FUSED_MAX_BATCH_GPU ? LSTMCL_ALGO_FUSED : LSTMCL_ALGO_GEMM;
}

/* The algorithm of the next pass of batch N: the automatic choice measured
 * (choice.c) where both of its candidates can run, else lc_pick's. *timed:
 * time this pass for the measured choice (sync: it is waited for anyway). */
static lstmcl_algorithm lc_pass_algo(lstmcl_model *m, size_t N, int sync, int *timed)
{
    *timed = 0;
    if (m->cfg.algorithm != LSTMCL_ALGO_AUTO || !(m->ctx->info.type & CL_DEVICE_TYPE_CPU) ||
        !m->fused_ok || !lc_persist_usable(m, N) || lc_tuning_pick(m, N) != LSTMCL_ALGO_AUTO)
        return lc_pick(m, N);
    return lc_choice_begin(m, N, sync, timed);
}

lstmcl_algorithm lc_device_pick(const lstmcl_model *m, size_t N)
{
    return lc_pick(m, N);
}

const char *lc_algorithm_name(const lstmcl_model *m, size_t N)
{
    switch (lc_pick(m, N)) {
    case LSTMCL_ALGO_GEMM:
        return "gemm";
    case LSTMCL_ALGO_PERSISTENT:
        return "persistent";
    default:
        return m->fused_rows ? "fused-rows" : "fused-cols";
    }
}

/* Polls before a group of the persistent kernel gives up waiting at the
 * device-wide barrier, unless the model's options set them.
 *
 * Forced (the caller asked for the persistent kernel): 2^25 on a CPU
 * device, 2^22 elsewhere. A poll took 70 to 95 ns on PoCL and 187 ns on
 * Intel's CPU runtime with the two cores busy (tests/oclgrind.sh times
 * it), so a give-up loses 3 to 6 s before the fused step takes over.
 *
 * The automatic choice on a CPU device (measured, choice.c): on trial
 * (its first runs for a batch size, and probes) 2^16, 6 to 12 ms, so that
 * a trial where the cores are busy gives up early and cheaply, while a
 * hiccup of a millisecond or two on quiet cores does not end it;
 * when it runs as the choice 2^18, 23 to 49 ms, so that a group that
 * lost a scheduler slice (a few ms) is still waited for rather than the
 * pass run twice.
 *
 * After a pass that gave up, the kernel stays off for a number of passes
 * that doubles while it keeps giving up, up to 2^LC_PERSIST_BACKOFF_MAX. */
#define LC_SPIN_LIMIT_CPU (1 << 25)
#define LC_SPIN_LIMIT_CPU_AUTO (1 << 18)
#define LC_SPIN_LIMIT_TRIAL (1 << 16)
#define LC_SPIN_LIMIT_OTHER (1 << 22)
#define LC_PERSIST_BACKOFF_MAX 8

static cl_int lc_spin_limit(const lstmcl_model *m)
{
    if (m->cfg.persist_spin_limit)
        return (cl_int)m->cfg.persist_spin_limit;
    if (!(m->ctx->info.type & CL_DEVICE_TYPE_CPU))
        return LC_SPIN_LIMIT_OTHER;
    if (m->cfg.algorithm != LSTMCL_ALGO_AUTO)
        return LC_SPIN_LIMIT_CPU;
    return m->choice.short_wait ? LC_SPIN_LIMIT_TRIAL : LC_SPIN_LIMIT_CPU_AUTO;
}

/* One launch of lstm_persist for layer l (arguments as lstm_step's). */
static lstmcl_status lc_enqueue_persist(lstmcl_model *m, size_t l, const lc_io *io, cl_mem out,
                                        cl_long xw_ts, cl_long xw_ns, cl_long y_ts,
                                        cl_long y_ns)
{
    lstmcl_context *ctx = m->ctx;
    lc_workspace *w = &m->ws;
    const lc_layer *ly = &m->layers[l];
    cl_kernel k = m->k_persist;
    const cl_int Ti = (cl_int)io->T, Ni = (cl_int)io->N, has_lens = io->lens != NULL;
    const cl_int per = (cl_int)lc_persist_per(m, io->N), has_y = out != NULL;
    const cl_int spin = lc_spin_limit(m);
    const float clip_k = m->desc.clip;
    const cl_int zero = 0;
    LC_TRY_CL(ctx, clEnqueueFillBuffer(ctx->queue, w->bar, &zero, sizeof zero, 0, sizeof zero,
                                       0, NULL, NULL),
              "clEnqueueFillBuffer", "layer %zu: clearing the persistent kernel's barrier", l);
    size_t rl = m->persist_r_local ? m->Hout * 4 * m->persist_upg * sizeof(float)
                                   : sizeof(float);
    size_t xs = lc_persist_local_bytes(m, io->N) - rl;
    LC_ARG(k, 0, Ti);
    LC_ARG(k, 1, Ni);
    LC_ARG(k, 2, per);
    LC_ARG(k, 3, w->xw);
    LC_ARG(k, 4, xw_ts);
    LC_ARG(k, 5, xw_ns);
    LC_ARG(k, 6, ly->rt_buf);
    LC_ARG(k, 7, ly->b_buf);
    LC_ARG(k, 8, ly->peep_buf);
    LC_ARG(k, 9, m->act_params);
    LC_ARG(k, 10, clip_k);
    LC_ARG(k, 11, io->lens);
    LC_ARG(k, 12, has_lens);
    LC_ARG(k, 13, w->c);
    LC_ARG(k, 14, w->h[0]);
    LC_ARG(k, 15, w->h[1]);
    LC_ARG(k, 16, w->hraw);
    LC_ARG(k, 17, ly->pt_buf);
    LC_ARG(k, 18, out);
    LC_ARG(k, 19, has_y);
    LC_ARG(k, 20, y_ts);
    LC_ARG(k, 21, y_ns);
    LC_ARG(k, 22, w->bar);
    LC_ARG(k, 23, spin);
    LC_TRY_CL(ctx, clSetKernelArg(k, 24, xs, NULL), "clSetKernelArg", "staging (local memory)");
    LC_TRY_CL(ctx, clSetKernelArg(k, 25, rl, NULL), "clSetKernelArg", "R slice (local memory)");
    const size_t lws = m->wg_j, gws = m->persist_groups * m->wg_j;
    LC_TRY_CL(ctx, clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &gws, &lws, 0, NULL, NULL),
              "clEnqueueNDRangeKernel", "layer %zu: lstm_persist (%zu groups)", l,
              m->persist_groups);
    return LSTMCL_SUCCESS;
}

/* Enqueues a whole forward pass. With the persistent kernel, *persisted is
 * set and m->persist_gave_up is being read back: once the queue is
 * finished, nonzero there means the pass must be run again another way. */
static lstmcl_status lc_enqueue_forward(lstmcl_model *m, const lc_io *io,
                                        lstmcl_algorithm algo, int *persisted)
{
    const int fused = algo != LSTMCL_ALGO_GEMM;
    *persisted = 0;
    lstmcl_context *ctx = m->ctx;
    lc_workspace *w = &m->ws;
    cl_command_queue q = ctx->queue;
    const size_t T = io->T, N = io->N, D = m->D, H = m->H, Hout = m->Hout, P = m->P;
    const size_t DH = D * Hout, G = D * 4 * H;
    const cl_int Ti = (cl_int)T, Ni = (cl_int)N, has_lens = io->lens != NULL;
    const float clip_k = m->desc.clip;
    const float zero = 0.0f;
    lstmcl_status st;
    for (size_t l = 0; l < m->L; l++) {
        const lc_layer *ly = &m->layers[l];
        cl_mem in = l == 0 ? io->x : w->ytmp[(l - 1) % 2];
        int last = l + 1 == m->L;
        cl_mem out = last ? io->y : w->ytmp[l % 2];
        cl_int has_y = out != NULL;
        cl_long xw_ts = (cl_long)(N * G), xw_ns = (cl_long)G;
        if (l == 0 && io->batch_first) {
            xw_ts = (cl_long)G;
            xw_ns = (cl_long)(T * G);
        }
        cl_long y_ts = (cl_long)(N * DH), y_ns = (cl_long)DH;
        if (last && io->batch_first) {
            y_ts = (cl_long)DH;
            y_ns = (cl_long)(T * DH);
        }
        if (fused && m->fused_rows)
            st = lc_gemm_own(m, T * N, G, ly->in, in, 0, ly->w_buf, 0, w->xw, 0,
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

        if (algo == LSTMCL_ALGO_PERSISTENT) {
            if (l == 0)
                LC_TRY_CL(ctx, clEnqueueFillBuffer(q, w->bar, &zero, sizeof zero, 0,
                                                   2 * sizeof zero, 0, NULL, NULL),
                          "clEnqueueFillBuffer", "clearing the persistent kernel's flag");
            st = lc_enqueue_persist(m, l, io, out, xw_ts, xw_ns, y_ts, y_ns);
            if (st != LSTMCL_SUCCESS)
                return st;
        }
        const size_t wg = m->wg_j;
        const size_t cell_gws[3] = {H, N, D}, proj_gws[3] = {Hout, N, D};
        const size_t step_gws[3] = {(H + wg - 1) / wg * wg, N, D};
        const size_t pstep_gws[3] = {(Hout + wg - 1) / wg * wg, N, D};
        const size_t lws[3] = {wg, 1, 1};
        for (size_t s = 0; algo != LSTMCL_ALGO_PERSISTENT && s < T; s++) {
            cl_mem h_prev = w->h[s % 2], h_next = w->h[(s + 1) % 2];
            /* Sequences per work-item of the rows layout: 1, 2 (N = 2) or 4. */
            int per = !(fused && m->step4_ok) || N == 1 ? 1 : N == 2 ? 2 : 4;
            cl_kernel k = per == 4 ? m->k_step4 : per == 2 ? m->k_step2 : fused ? m->k_step : m->k_cell;
            const size_t multi_gws[3] = {step_gws[0], (N + per - 1) / per, D};
            cl_mem products = fused ? ly->rt_buf : w->gh;
            if (!fused)
                for (size_t d = 0; d < D; d++) {
                    st = lc_gemm_nt(m, N, 4 * H, Hout, h_prev, d * N * Hout, ly->r_buf,
                                    d * 4 * H * Hout, w->gh, d * N * 4 * H, "recurrent product",
                                    l, s);
                    if (st != LSTMCL_SUCCESS)
                        return st;
                }
            cl_int step = (cl_int)s;
            cl_mem cell_out = P ? w->hraw : h_next;
            LC_ARG(k, 0, step);
            LC_ARG(k, 1, Ti);
            LC_ARG(k, 2, Ni);
            LC_ARG(k, 3, w->xw);
            LC_ARG(k, 4, xw_ts);
            LC_ARG(k, 5, xw_ns);
            LC_ARG(k, 6, products);
            LC_ARG(k, 7, ly->b_buf);
            LC_ARG(k, 8, ly->peep_buf);
            LC_ARG(k, 9, m->act_params);
            LC_ARG(k, 10, clip_k);
            LC_ARG(k, 11, io->lens);
            LC_ARG(k, 12, has_lens);
            LC_ARG(k, 13, w->c);
            LC_ARG(k, 14, h_prev);
            LC_ARG(k, 15, cell_out);
            LC_ARG(k, 16, out);
            LC_ARG(k, 17, has_y);
            LC_ARG(k, 18, y_ts);
            LC_ARG(k, 19, y_ns);
            LC_TRY_CL(ctx,
                      clEnqueueNDRangeKernel(q, k, 3, NULL,
                                             per > 1 ? multi_gws : fused ? step_gws : cell_gws,
                                             fused ? lws : NULL, 0, NULL, NULL),
                      "clEnqueueNDRangeKernel", "layer %zu step %zu: %s", l, s,
                      per == 4 ? "lstm_step4" : per == 2 ? "lstm_step2"
                                              : fused ? "lstm_step" : "lstm_cell");
            if (!P)
                continue;
            if (fused) {
                k = m->k_proj_step;
                LC_ARG(k, 3, w->hraw);
                LC_ARG(k, 4, ly->pt_buf);
            } else {
                for (size_t d = 0; d < D; d++) {
                    st = lc_gemm_nt(m, N, P, H, w->hraw, d * N * H, ly->proj_buf, d * P * H,
                                    w->hp, d * N * P, "projection", l, s);
                    if (st != LSTMCL_SUCCESS)
                        return st;
                }
                k = m->k_proj;
                LC_ARG(k, 3, w->hp);
            }
            /* lstm_project_step takes pt as argument 4 and the rest one
             * later than lstm_project. */
            cl_uint a0 = fused ? 5 : 4;
            LC_ARG(k, 0, step);
            LC_ARG(k, 1, Ti);
            LC_ARG(k, 2, Ni);
            LC_ARG(k, a0 + 0, io->lens);
            LC_ARG(k, a0 + 1, has_lens);
            LC_ARG(k, a0 + 2, h_prev);
            LC_ARG(k, a0 + 3, h_next);
            LC_ARG(k, a0 + 4, out);
            LC_ARG(k, a0 + 5, has_y);
            LC_ARG(k, a0 + 6, y_ts);
            LC_ARG(k, a0 + 7, y_ns);
            LC_TRY_CL(ctx,
                      clEnqueueNDRangeKernel(q, k, 3, NULL, fused ? pstep_gws : proj_gws,
                                             fused ? lws : NULL, 0, NULL, NULL),
                      "clEnqueueNDRangeKernel", "layer %zu step %zu: %s", l, s,
                      fused ? "lstm_project_step" : "lstm_project");
        }
        if (io->hn)
            LC_TRY_CL(ctx, clEnqueueCopyBuffer(q, w->h[T % 2], io->hn, 0, l * hbytes, hbytes, 0,
                                               NULL, NULL),
                      "clEnqueueCopyBuffer", "layer %zu: final h", l);
        if (io->cn)
            LC_TRY_CL(ctx, clEnqueueCopyBuffer(q, w->c, io->cn, 0, l * cbytes, cbytes, 0, NULL,
                                               NULL),
                      "clEnqueueCopyBuffer", "layer %zu: final c", l);
    }
    if (algo == LSTMCL_ALGO_PERSISTENT) {
        m->persist_gave_up = 0;
        LC_TRY_CL(ctx, clEnqueueReadBuffer(q, w->bar, CL_FALSE, sizeof(cl_int), sizeof(cl_int),
                                           &m->persist_gave_up, 0, NULL, NULL),
                  "clEnqueueReadBuffer", "reading the persistent kernel's flag");
        *persisted = 1;
    }
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

/* Before a pass (not before the rerun of one): one pass fewer for the
 * persistent kernel to stay off. */
static void lc_persist_pass_begins(lstmcl_model *m)
{
    if (m->persist_skip)
        m->persist_skip--;
}

/* After a finished pass: did the persistent kernel give up waiting at its
 * barrier (its groups were not all running at once)? Then its results are
 * incomplete, and it stays off for the next passes (see
 * LC_PERSIST_BACKOFF_MAX). */
static int lc_persist_failed(lstmcl_model *m, int persisted)
{
    if (!persisted)
        return 0;
    if (!m->persist_gave_up) {
        m->persist_misses = 0;
        return 0;
    }
    if (m->persist_misses < LC_PERSIST_BACKOFF_MAX) {
        m->persist_misses++;
        m->persist_skip = 1u << m->persist_misses;
    } else {
        /* Forced, each retry can cost seconds of polling (2^25 polls on a
         * CPU): after this many in a row it stays off. The automatic
         * choice keeps retrying, with its short trials. */
        m->persist_skip = m->cfg.algorithm == LSTMCL_ALGO_AUTO ? 1u << LC_PERSIST_BACKOFF_MAX
                                                               : UINT_MAX;
    }
    return 1;
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
            algo = lc_pick(m, a->batch);
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
            st = lc_enqueue_forward(m, &io, lc_pick(m, N), &persisted);
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
