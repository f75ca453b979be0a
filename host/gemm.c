/* C = A B^T on the device, both operands row-major with K contiguous (the
 * input projection X W^T, the recurrent product h R^T, the projection
 * h_raw W_hr^T): CLBlast's SGEMM, or the project's gemm_nt
 * (kernels/gemm.cl) where the fused step's rows layout runs (CPU devices). */
#include <clblast_c.h>
#include <stdio.h>

#include "internal.h"

/* Columns of one gemm_nt work-item (fixed in kernels/gemm.cl). */
#define LC_GEMM_TN 4
/* gemm_nt's launch: 4 columns by LC_GEMM_ROWS rows (fixed in
 * kernels/gemm.cl) per item, in work-groups of LC_GEMM_LX items, one shape
 * whatever the product. With no local size, PoCL picks one from the global
 * size (64 x 50 items at M = 100, Nc = 4096) and compiles the kernel again
 * for each new one (about 0.2 s per new product shape on a CPU, which a
 * server with varying batch and sequence lengths keeps paying), and Intel's
 * CPU runtime's own pick ran 2 to 5 times slower than this. A fixed
 * 16 x 1 shape over 2-row items was 1.6x slower than PoCL's pick at
 * H = I = 1536, N = 4, T = 50 (226 against 143 ms a pass, fused-rows):
 * PoCL's large groups kept a block of rows in cache for many columns,
 * which the rows per item now do. */
#define LC_GEMM_LX 16
#define LC_GEMM_ROWS 64

/* C(m x n) = A(m x k) B(n x k)^T, all row-major with offsets in floats. */
lstmcl_status lc_gemm_nt(lstmcl_model *m, size_t M, size_t Nn, size_t K, cl_mem A, size_t a_off,
                         cl_mem B, size_t b_off, cl_mem C, size_t c_off, const char *what,
                         size_t layer, size_t step)
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

/* The same product with the project's own kernel (CPU devices, and
 * reduced precisions): B in the model's precision, scaled per row by
 * b_scale (int8; NULL otherwise), the rows past the sequences' lengths
 * skipped with rows. */
lstmcl_status lc_gemm_own(lstmcl_model *m, size_t M, size_t Nn, size_t K, cl_mem A,
                          size_t a_off, cl_mem B, cl_mem b_scale, cl_mem C, size_t c_off,
                          const lc_gemm_rows *rows, const char *what, size_t layer)
{
    const size_t b_off = 0;
    cl_kernel k = m->k_gemm;
    cl_int Mi = (cl_int)M, Ni = (cl_int)Nn, Ki = (cl_int)K;
    cl_long ao = (cl_long)a_off, bo = (cl_long)b_off, co = (cl_long)c_off;
    LC_ARG(m->ctx, k, 0, Mi);
    LC_ARG(m->ctx, k, 1, Ni);
    LC_ARG(m->ctx, k, 2, Ki);
    LC_ARG(m->ctx, k, 3, A);
    LC_ARG(m->ctx, k, 4, ao);
    LC_ARG(m->ctx, k, 5, B);
    LC_ARG(m->ctx, k, 6, bo);
    LC_ARG(m->ctx, k, 7, C);
    LC_ARG(m->ctx, k, 8, co);
    LC_ARG(m->ctx, k, 9, b_scale);
    const cl_mem lens = rows ? rows->lens : NULL;
    const cl_int has_lens = lens != NULL, lT = rows ? (cl_int)rows->T : 0,
                 lN = rows ? (cl_int)rows->N : 0, lbf = rows ? rows->batch_first : 0;
    LC_ARG(m->ctx, k, 10, lens);
    LC_ARG(m->ctx, k, 11, has_lens);
    LC_ARG(m->ctx, k, 12, lT);
    LC_ARG(m->ctx, k, 13, lN);
    LC_ARG(m->ctx, k, 14, lbf);
    const size_t cols = (Nn + LC_GEMM_TN - 1) / LC_GEMM_TN;
    const size_t lx = m->gemm_wg_max < LC_GEMM_LX ? m->gemm_wg_max : LC_GEMM_LX;
    const size_t lws[2] = {lx, 1};
    const size_t gws[2] = {(cols + lx - 1) / lx * lx, (M + LC_GEMM_ROWS - 1) / LC_GEMM_ROWS};
    LC_TRY_CL(m->ctx, clEnqueueNDRangeKernel(m->ctx->queue, k, 2, NULL, gws, lws, 0, NULL, NULL),
              "clEnqueueNDRangeKernel", "layer %zu: gemm_nt (%s, %zu x %zu x %zu)", layer, what,
              M, Nn, K);
    return LSTMCL_SUCCESS;
}

