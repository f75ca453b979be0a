/* Planning the device path: which kernels a model can run on its device
 * (sizes, layouts, local-memory budgets), which algorithm each pass runs
 * (the caller's, the tuning file's, or the automatic choice, measured on
 * CPU devices by choice.c), and the persistent kernel's bounded wait. */
#include <limits.h>
#include <stdio.h>

#include "internal.h"

/* Sequences per work-item pass of the persistent kernel for batch N. */
size_t lc_persist_per(const lstmcl_model *m, size_t N)
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

lstmcl_status lc_plan_init(lstmcl_model *m)
{
    lstmcl_context *ctx = m->ctx;
    const size_t H = m->H;
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
    /* Reduced precisions run on the fused step and the persistent kernel
     * only (the gemm algorithm is CLBlast's SGEMM, on float weights). */
    if (m->precision != LSTMCL_PRECISION_FP32 &&
        (m->cfg.algorithm == LSTMCL_ALGO_GEMM || !m->fused_ok))
        return lc_fail(ctx, LSTMCL_ERROR_UNSUPPORTED,
                       m->cfg.algorithm == LSTMCL_ALGO_GEMM
                           ? "precision %s: the gemm algorithm (CLBlast's SGEMM) runs fp32 "
                             "weights only; use fused or persistent, or auto"
                           : "precision %s needs the fused step, whose staging (%zu bytes of "
                             "local memory) does not fit this device",
                       lstmcl_precision_name(m->precision), staged + sums + 1024);
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
    return lc_persist_init(m);
}

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
        return m->precision == LSTMCL_PRECISION_FP32 ? LSTMCL_ALGO_GEMM : LSTMCL_ALGO_FUSED;
    if (want != LSTMCL_ALGO_AUTO)
        return LSTMCL_ALGO_FUSED;
    if (m->ctx->info.type & CL_DEVICE_TYPE_CPU)
        return persist ? lc_choice_current(m, N) : LSTMCL_ALGO_FUSED;
    return N <= LC_FUSED_MAX_BATCH_GPU || m->precision != LSTMCL_PRECISION_FP32
               ? LSTMCL_ALGO_FUSED
               : LSTMCL_ALGO_GEMM;
}

/* The algorithm of the next pass of batch N: the automatic choice measured
 * (choice.c) where both of its candidates can run, else lc_pick's. *timed:
 * time this pass for the measured choice (sync: it is waited for anyway). */
lstmcl_algorithm lc_pass_algo(lstmcl_model *m, size_t N, int sync, int *timed)
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

/* Whether the gemm algorithm can ever run for this model: it alone reads
 * the plain R and projection (lc_layer's r_buf and proj_buf), so they are
 * uploaded only then (a CPU device's model, which runs the fused step or
 * the persistent kernel, holds R once, arranged). */
int lc_plan_uses_gemm(const lstmcl_model *m)
{
    if (!m->fused_ok)
        return 1;
    if (m->cfg.algorithm != LSTMCL_ALGO_AUTO || m->precision != LSTMCL_PRECISION_FP32)
        return 0;
    if (!(m->ctx->info.type & CL_DEVICE_TYPE_CPU))
        return 1; /* the GEMM above LC_FUSED_MAX_BATCH_GPU */
    for (size_t i = 0; i < m->n_tuned; i++)
        if (m->tuned[i].algo == LSTMCL_ALGO_GEMM)
            return 1;
    return 0;
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

cl_int lc_spin_limit(const lstmcl_model *m)
{
    if (m->cfg.persist_spin_limit)
        return (cl_int)m->cfg.persist_spin_limit;
    if (!(m->ctx->info.type & CL_DEVICE_TYPE_CPU))
        return LC_SPIN_LIMIT_OTHER;
    if (m->cfg.algorithm != LSTMCL_ALGO_AUTO)
        return LC_SPIN_LIMIT_CPU;
    return m->choice.short_wait ? LC_SPIN_LIMIT_TRIAL : LC_SPIN_LIMIT_CPU_AUTO;
}

/* Before a pass (not before the rerun of one): one pass fewer for the
 * persistent kernel to stay off. */
void lc_persist_pass_begins(lstmcl_model *m)
{
    if (m->persist_skip)
        m->persist_skip--;
}

/* After a finished pass: did the persistent kernel give up waiting at its
 * barrier (its groups were not all running at once)? Then its results are
 * incomplete, and it stays off for the next passes (see
 * LC_PERSIST_BACKOFF_MAX). */
int lc_persist_failed(lstmcl_model *m, int persisted)
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

lstmcl_status lc_check_forward_shape(const lstmcl_model *m, size_t T, size_t N)
{
    lstmcl_context *ctx = m->ctx;
    if (T == 0 || N == 0)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT, "forward: %s must be > 0",
                       T == 0 ? "seq_len" : "batch");
    if (T > LC_DIM_MAX || N > LC_DIM_MAX)
        return lc_fail(ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                       "forward: %s = %zu is larger than the supported %zu",
                       T > LC_DIM_MAX ? "seq_len" : "batch", T > LC_DIM_MAX ? T : N,
                       LC_DIM_MAX);
    /* Kernels index sequences and rows (T*N of them) with 32-bit ints. */
    if (T * N > (size_t)INT_MAX)
        return lc_fail(ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                       "forward: seq_len = %zu times batch = %zu exceeds the supported %d rows",
                       T, N, INT_MAX);
    /* The largest array: T*N*max(I, D*4H) floats, in bytes. */
    size_t tn, cols = m->I > m->D * 4 * m->H ? m->I : m->D * 4 * m->H, bytes;
    if (!lc_mul(T, N, &tn) || !lc_mul(tn, cols, &bytes) || !lc_mul(bytes, sizeof(float), &bytes) ||
        bytes > ((size_t)1 << 62))
        return lc_fail(ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                       "forward: seq_len = %zu and batch = %zu give arrays whose size overflows",
                       T, N);
    return LSTMCL_SUCCESS;
}

