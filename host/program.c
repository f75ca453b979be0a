/* The device programs of a model and their kernels: the step kernels as
 * one program, built from the kernels folder's files in LC_STEP_SOURCES'
 * order with the model's build options (the shapes and features that the
 * kernels fold at compile time); the project's GEMM (kernels/gemm.cl, no
 * options, CPU devices' rows layout) as a second one. Both come from the
 * program cache when it holds them (program_cache.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LC_GEMM_SOURCE "gemm.cl"
#define LC_STEP_PROGRAM "the step kernels (lstm_*.cl)"

/* Whether the model runs the input projection with gemm_nt. */
static int lc_uses_own_gemm(const lstmcl_model *m)
{
    return m->fused_ok && (m->fused_rows || m->precision != LSTMCL_PRECISION_FP32);
}

/* The programs' files, in build order (kernels/lstm_common.cl says what
 * each holds); the step program's activation ids go after lstm_args.h. */
static const char *const lc_step_sources[] = {
    "lstm_wtype.h",  "lstm_args.h",     "lstm_common.cl", "lstm_gemm_path.cl",
    "lstm_fused.cl", "lstm_persist.cl", "lstm_state.cl",
};
#define LC_N_STEP_SOURCES (sizeof lc_step_sources / sizeof lc_step_sources[0])
#define LC_ACT_IDS_AFTER 1
static const char *const lc_gemm_sources[] = {"lstm_wtype.h", LC_GEMM_SOURCE};
#define LC_MAX_SOURCES LC_N_STEP_SOURCES

/* The kernels' LSTMCL_ACT_* ids, from the header's table. */
#define LC_ACT_DEFINE(id, value, name) "#define " #id " " #value "\n"
static const char lc_act_ids[] = LSTMCL_ACTIVATION_TABLE(LC_ACT_DEFINE);

/* A program's text: the files one after another, each after a comment
 * line naming it, and the activation ids after file act_after (none when
 * it is past the list). Lines count from the start of the whole text in
 * build logs and in Oclgrind's reports (a #line per file would give file
 * lines in the one and the wrong text in the other). */
static lstmcl_status lc_program_source(lstmcl_model *m, const char *const *files,
                                       size_t nfiles, size_t act_after, char **text,
                                       size_t *size)
{
    lstmcl_context *ctx = m->ctx;
    const char *kdir = m->cfg.kernel_dir_on ? m->cfg.kernel_dir : NULL;
    const char *part[LC_MAX_SOURCES];
    size_t len[LC_MAX_SOURCES];
    int owned[LC_MAX_SOURCES];
    size_t total = sizeof lc_act_ids, n = 0;
    lstmcl_status st = LSTMCL_SUCCESS;
    for (; n < nfiles; n++) {
        st = lc_kernel_source(ctx, kdir, files[n], &part[n], &len[n], &owned[n]);
        if (st != LSTMCL_SUCCESS)
            break; /* parts 0 .. n-1 were read */
        total += len[n] + strlen(files[n]) + 32;
    }
    char *buf = NULL;
    if (st == LSTMCL_SUCCESS) {
        buf = malloc(total);
        if (!buf)
            st = lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "kernel sources (%zu bytes)",
                         total);
    }
    size_t at = 0;
    for (size_t i = 0; buf && i < n; i++) {
        at += (size_t)snprintf(buf + at, total - at, "/* ---- kernels/%s ---- */\n", files[i]);
        memcpy(buf + at, part[i], len[i]);
        at += len[i];
        buf[at++] = '\n';
        if (i == act_after) {
            memcpy(buf + at, lc_act_ids, sizeof lc_act_ids - 1);
            at += sizeof lc_act_ids - 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (owned[i])
            free((void *)part[i]);
    if (st != LSTMCL_SUCCESS)
        return st;
    buf[at] = '\0';
    *text = buf;
    *size = at;
    return LSTMCL_SUCCESS;
}

lstmcl_status lc_program_build(lstmcl_model *m)
{
    lstmcl_context *ctx = m->ctx;
    const char *cdir = m->cfg.cache_on ? m->cfg.cache_dir : NULL;
    char *source = NULL;
    size_t source_size = 0;
    lstmcl_status st = lc_program_source(m, lc_step_sources, LC_N_STEP_SOURCES,
                                         LC_ACT_IDS_AFTER, &source, &source_size);
    if (st != LSTMCL_SUCCESS)
        return st;
    lstmcl_activation(*a)[3] = m->desc.activations;
    char opts[768];
    snprintf(opts, sizeof opts,
             "-cl-std=CL1.2 -D HID=%zu -D HOUT=%zu -D NDIR=%zu -D REV0=%d -D REV1=%d "
             "-D ACT_F0=%d -D ACT_G0=%d -D ACT_H0=%d -D ACT_F1=%d -D ACT_G1=%d -D ACT_H1=%d "
             "-D HAS_PROJ=%d -D PEEPHOLE=%d -D INPUT_FORGET=%d -D HAS_CLIP=%d -D CLIP_CELL=%d "
             "-D WG_J=%zu -D FUSED_ROWS=%d -D FUSED=%d -D MULTI=%d -D PERSIST=%d -D UPG=%zu "
             "-D OPG=%zu -D R_LOCAL=%d -D WPREC=%d",
             m->H, m->Hout, m->D, m->reversed[0], m->reversed[1], (int)a[0][0].kind,
             (int)a[0][1].kind, (int)a[0][2].kind, (int)a[1][0].kind, (int)a[1][1].kind,
             (int)a[1][2].kind, m->P != 0, m->desc.peephole != 0, m->desc.input_forget != 0,
             m->desc.has_clip != 0, m->desc.clip_cell != 0, m->wg_j,
             m->fused_rows, m->fused_ok, m->step4_ok, m->persist_ok, m->persist_upg,
             m->persist_opg, m->persist_r_local, (int)m->precision);
    st = lc_build_program_cached(ctx, cdir, source, source_size, opts, LC_STEP_PROGRAM,
                                 &m->program, &m->program_from_cache);
    free(source);
    if (st != LSTMCL_SUCCESS)
        return st;
    /* The CPU family, and reduced precisions, run the input projection
     * with the project's GEMM, built for the weights' stored type. */
    if (lc_uses_own_gemm(m)) {
        int cached = 0;
        char gopts[64];
        snprintf(gopts, sizeof gopts, "-cl-std=CL1.2 -D WPREC=%d", (int)m->precision);
        st = lc_program_source(m, lc_gemm_sources, 2, 2, &source, &source_size);
        if (st != LSTMCL_SUCCESS)
            return st;
        st = lc_build_program_cached(ctx, cdir, source, source_size, gopts, LC_GEMM_SOURCE,
                                     &m->gemm_program, &cached);
        free(source);
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
    const int gemm = lc_uses_own_gemm(m);
    const struct {
        cl_kernel *k;
        int needed;
        cl_program prog;
        const char *name, *file;
    } kernels[] = {
        {&m->k_cell, 1, m->program, "lstm_cell", LC_STEP_PROGRAM},
        {&m->k_proj, m->P != 0, m->program, "lstm_project", LC_STEP_PROGRAM},
        {&m->k_step, m->fused_ok, m->program, "lstm_step", LC_STEP_PROGRAM},
        {&m->k_step2, m->step4_ok, m->program, "lstm_step2", LC_STEP_PROGRAM},
        {&m->k_step4, m->step4_ok, m->program, "lstm_step4", LC_STEP_PROGRAM},
        {&m->k_proj_step, m->fused_ok && m->P, m->program, "lstm_project_step", LC_STEP_PROGRAM},
        {&m->k_gemm, gemm, m->gemm_program, "gemm_nt", LC_GEMM_SOURCE},
        {&m->k_persist, m->persist_ok, m->program, "lstm_persist", LC_STEP_PROGRAM},
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
    /* gemm_nt's work-groups: no larger than the device and the kernel allow */
    m->gemm_wg_max = m->ctx->info.max_work_group_size;
    if (m->k_gemm) {
        size_t kmax = 0;
        LC_TRY_CL(ctx,
                  clGetKernelWorkGroupInfo(m->k_gemm, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                           sizeof kmax, &kmax, NULL),
                  "clGetKernelWorkGroupInfo", "gemm_nt's largest work-group");
        if (kmax && kmax < m->gemm_wg_max)
            m->gemm_wg_max = kmax;
    }
    return LSTMCL_SUCCESS;
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

void lc_programs_release(lstmcl_model *m)
{
    cl_program *programs[] = {&m->program, &m->gemm_program};
    for (size_t i = 0; i < 2; i++)
        if (*programs[i]) {
            clReleaseProgram(*programs[i]);
            *programs[i] = NULL;
        }
}

/* The step kernels' arguments that hold for a whole layer
 * (kernels/lstm_args.h): the rest, step, h_prev and h_next, change each
 * step (h_next is set here when cell_out is given, the raw hidden state of
 * a projected layer). */
lstmcl_status lc_step_layer_args(lstmcl_model *m, cl_kernel k, const lc_layer_pass *p,
                                 cl_mem wr, cl_mem cell_out)
{
    lstmcl_context *ctx = m->ctx;
    const lc_workspace *w = &m->ws;
    const lc_io *io = p->io;
    const cl_int Ti = (cl_int)io->T, Ni = (cl_int)io->N, has_lens = io->lens != NULL;
    const cl_int has_y = p->out != NULL;
    const float clip_k = m->desc.clip;
    LC_ARG(ctx, k, LC_STEP_T, Ti);
    LC_ARG(ctx, k, LC_STEP_N, Ni);
    LC_ARG(ctx, k, LC_STEP_XW, w->xw);
    LC_ARG(ctx, k, LC_STEP_XW_TS, p->xw_ts);
    LC_ARG(ctx, k, LC_STEP_XW_NS, p->xw_ns);
    LC_ARG(ctx, k, LC_STEP_W, wr);
    LC_ARG(ctx, k, LC_STEP_WS, p->ly->rs_buf);
    LC_ARG(ctx, k, LC_STEP_BIAS, p->ly->b_buf);
    LC_ARG(ctx, k, LC_STEP_PEEP, p->ly->peep_buf);
    LC_ARG(ctx, k, LC_STEP_ACTP, m->act_params);
    LC_ARG(ctx, k, LC_STEP_CLIP, clip_k);
    LC_ARG(ctx, k, LC_STEP_LENS, io->lens);
    LC_ARG(ctx, k, LC_STEP_HAS_LENS, has_lens);
    LC_ARG(ctx, k, LC_STEP_C, w->c);
    if (cell_out)
        LC_ARG(ctx, k, LC_STEP_H_NEXT, cell_out); /* the raw state, projected after */
    LC_ARG(ctx, k, LC_STEP_Y, p->out);
    LC_ARG(ctx, k, LC_STEP_HAS_Y, has_y);
    LC_ARG(ctx, k, LC_STEP_Y_TS, p->y_ts);
    LC_ARG(ctx, k, LC_STEP_Y_NS, p->y_ns);
    return LSTMCL_SUCCESS;
}

lstmcl_status lc_proj_layer_args(lstmcl_model *m, cl_kernel k, const lc_layer_pass *p,
                                 cl_mem src, cl_mem wp)
{
    lstmcl_context *ctx = m->ctx;
    const lc_io *io = p->io;
    const cl_int Ti = (cl_int)io->T, Ni = (cl_int)io->N, has_lens = io->lens != NULL;
    const cl_int has_y = p->out != NULL;
    LC_ARG(ctx, k, LC_PROJ_T, Ti);
    LC_ARG(ctx, k, LC_PROJ_N, Ni);
    LC_ARG(ctx, k, LC_PROJ_SRC, src);
    LC_ARG(ctx, k, LC_PROJ_WP, wp);
    LC_ARG(ctx, k, LC_PROJ_WPS, p->ly->ps_buf);
    LC_ARG(ctx, k, LC_PROJ_LENS, io->lens);
    LC_ARG(ctx, k, LC_PROJ_HAS_LENS, has_lens);
    LC_ARG(ctx, k, LC_PROJ_Y, p->out);
    LC_ARG(ctx, k, LC_PROJ_HAS_Y, has_y);
    LC_ARG(ctx, k, LC_PROJ_Y_TS, p->y_ts);
    LC_ARG(ctx, k, LC_PROJ_Y_NS, p->y_ns);
    return LSTMCL_SUCCESS;
}

