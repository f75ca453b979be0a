/* Internal declarations shared by the library's translation units. */
#ifndef LSTMCL_INTERNAL_H
#define LSTMCL_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "lstmcl.h"
#include "lstm_args.h" /* kernels/: the step kernels' argument indices */

#define LC_ERR_MAX 16384

struct lstmcl_context {
    int reference;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    int adopted; /* the caller's objects (lstmcl_context_create_from_cl) */
    lstmcl_device_info info;
    char err[LC_ERR_MAX];
};

/* Records a failure (printf-style message) as the context's (ctx may be NULL)
 * and this thread's last error, and returns `status`. */
lstmcl_status lc_fail(lstmcl_context *ctx, lstmcl_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Records a failed OpenCL call: "<what>: <call> returned <code> (<name>)". */
lstmcl_status lc_fail_cl(lstmcl_context *ctx, cl_int code, const char *call, const char *what);

/* Name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), or NULL. */
const char *lc_cl_error_name(cl_int code);

/* Checked size arithmetic: return 0 on overflow. */
static inline int lc_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a)
        return 0;
    *out = a * b;
    return 1;
}
static inline int lc_add(size_t a, size_t b, size_t *out)
{
    if (b > (size_t)-1 - a)
        return 0;
    *out = a + b;
    return 1;
}

/* One process-wide lock around OpenCL discovery and context creation:
 * some drivers (PoCL among them) set themselves up on first use without
 * locking, and the header promises that contexts may be created from
 * several threads at once. */
void lc_cl_lock(void);
void lc_cl_unlock(void);

/* lstmcl_device_count / lstmcl_device_get_info with the lock held. */
lstmcl_status lc_device_count_locked(size_t *count);
lstmcl_status lc_device_get_info_locked(size_t index, lstmcl_device_info *info);

/* Devices across platforms, numbered as lstmcl_device_get_info. */
lstmcl_status lc_find_device(size_t index, cl_platform_id *platform, cl_device_id *device);
lstmcl_status lc_fill_device_info(cl_platform_id platform, cl_device_id device, size_t index,
                                  lstmcl_device_info *info);

/* Kernel sources: embedded, or read from directory `dir` when not NULL.
 * *text is NUL-terminated; *owned says whether the caller must free it. */
lstmcl_status lc_kernel_source(lstmcl_context *ctx, const char *dir, const char *name,
                               const char **text, size_t *size, int *owned);

/* Activation functions, one table for the reference, the defaults and the
 * kernel build options. */
double lc_activate(lstmcl_activation_kind kind, double x, double alpha, double beta);

/* Gate order inside lstmcl: i, f, g, o (PyTorch's). */
enum { LC_GATE_I = 0, LC_GATE_F = 1, LC_GATE_G = 2, LC_GATE_O = 3 };
/* Peepholes inside lstmcl: i, f, o. */
enum { LC_PEEP_I = 0, LC_PEEP_F = 1, LC_PEEP_O = 2 };

/* One layer's weights in lstmcl's layout, per direction d:
 *   w    (D, 4H, Iin)  input weights, gates i,f,g,o
 *   r    (D, 4H, Hout) recurrent weights
 *   bw   (D, 4H)       input-side bias (0 when absent)
 *   br   (D, 4H)       recurrent-side bias (0 when absent)
 *   peep (D, 3H)       peepholes i, f, o (NULL when absent)
 *   proj (D, P, H)     projection (NULL when absent) */
typedef struct lc_layer {
    size_t in;
    float *w, *r, *bw, *br, *peep, *proj;
    /* int8: the scales of w, r (D*4H rows) and proj (D*P rows); NULL in
     * other precisions (w, r and proj then hold the values the model
     * stores: rounded, or dequantized q * scale) */
    float *w_scale, *r_scale, *p_scale;
    cl_mem w_buf, r_buf, b_buf, peep_buf, proj_buf;
    cl_mem rt_buf, pt_buf; /* R and W_hr arranged for the fused step */
    cl_mem ws_buf, rs_buf, ps_buf; /* int8 scales */
} lc_layer;

/* How the recurrent part of a step runs.
 *   GEMM:  a CLBlast SGEMM per direction, then the elementwise kernel;
 *   FUSED: one kernel per step computes the products and the update;
 *   PERSISTENT: one kernel per layer runs every step, its work-groups
 *     meeting at a device-wide barrier between steps. */
/* (lstmcl_algorithm, in lstmcl.h: GEMM: a CLBlast SGEMM per direction,
 * then the elementwise kernel; FUSED: one kernel per step computes the
 * products and the update; PERSISTENT: one kernel per layer runs every
 * step, its work-groups meeting at a device-wide barrier between steps.) */

/* A model's settings, resolved once at creation from its options and, for
 * what they leave unset, from the environment (options.c). */
typedef struct lc_config {
    lstmcl_algorithm algorithm;
    int algorithm_from_env; /* $LSTMCL_ALGO chose it (messages) */
    int cache_on; /* cache_dir holds the program cache directory */
    char cache_dir[4096];
    int tuning_on; /* tuning_file holds the tuning file's path */
    char tuning_file[4200];
    int kernel_dir_on; /* kernel_dir holds the kernel-source directory */
    char kernel_dir[4096];
    size_t persist_groups;     /* 0: one per compute unit */
    size_t persist_spin_limit; /* 0: the default for the device type */
} lc_config;

/* The algorithm of a name (1), or 0 when there is none (no error set). */
int lc_algorithm_parse(const char *name, lstmcl_algorithm *algorithm);
/* The tuning file's default path from the environment; 0 when none. */
int lc_tuning_path_default(char *out, size_t cap);

/* Resolves `options` (NULL: all unset) for a model on ctx's device. */
lstmcl_status lc_config_resolve(lstmcl_context *ctx, const lstmcl_model_options *options,
                                lc_config *out);
/* Checks the options' own values (every context). */
lstmcl_status lc_options_check(lstmcl_context *ctx, const lstmcl_model_options *options);

/* Device workspace for one shape; reused while a call fits in it. */
typedef struct lc_workspace {
    size_t cap_tn, cap_n;
    cl_mem x, y, xw, ytmp[2], h[2], c, gh, hraw, hp, lens, h0, c0, hn, cn;
    cl_mem bar; /* the persistent kernel's barrier: arrivals, gave-up flag */
} lc_workspace;

/* One measured choice from the tuning file (tuning.c). */
typedef struct lc_tuned {
    size_t hidden, batch;
    lstmcl_algorithm algo;
} lc_tuned;
#define LC_MAX_TUNED 64

/* The measured choice between the fused step and the persistent kernel on
 * CPU devices (choice.c): per batch size, seconds per step of each. A
 * server's batches take every size up to its largest (Triton's dynamic
 * batcher, 1 to 16 in python/serving): with 8 slots the sizes displaced
 * each other, and each size that came back was measured from the start,
 * with passes of the slower kernel among them. */
#define LC_CHOICE_SLOTS 32
#define LC_CHOICE_KEEP 3 /* samples behind each estimate, and passes per probe */
typedef struct lc_choice_slot {
    size_t N; /* 0: free */
    unsigned long last_use;
    double est[2]; /* seconds per step: [0] fused step, [1] persistent; the
                    * median of recent[k] */
    double recent[2][LC_CHOICE_KEEP]; /* the latest samples, a ring */
    unsigned nrecent[2], pos[2];
    unsigned samples[2]; /* timed passes counted, all told */
    int current;         /* the candidate that runs between probes */
    unsigned since, every; /* passes since the last probe, and between probes */
    unsigned burst;        /* passes left in the probe under way */
    double probe[LC_CHOICE_KEEP]; /* its samples so far */
    unsigned nprobe;
    unsigned trials;        /* first passes run, the candidates in turn */
    unsigned failed_trials; /* first trials of the persistent kernel that gave up */
    /* Beside another thread's work (choice.c): the latest seconds per step
     * of each, the candidate that runs, and the passes until the other
     * is tried again and between such tries. */
    double sh_est[2];
    int sh_current;
    unsigned sh_since, sh_every;
} lc_choice_slot;
typedef struct lc_choice {
    lc_choice_slot slot[LC_CHOICE_SLOTS];
    unsigned long clock;
    int warm[2];        /* the candidate's kernel has run once in this model */
    int pass_candidate; /* of the pass begun last */
    int probing;
    int short_wait; /* the pass runs the persistent kernel on trial */
    int shared;          /* the pass runs beside another thread's work */
    double shared_until; /* lc_now_seconds() until which passes are shared */
    double pass_s;       /* seconds of the last timed pass (0: none yet) */
} lc_choice;

struct lstmcl_model {
    lstmcl_context *ctx;
    lstmcl_model_desc desc; /* activations resolved */
    lstmcl_precision precision;
    size_t device_bytes; /* weights uploaded (lstmcl_model_device_bytes) */
    size_t I, H, P, Hout, L, D;
    size_t bias_vectors; /* bias values stored per direction: 0, 4H or 8H */
    int reversed[2];     /* direction slot d runs backwards */
    lc_layer *layers;
    /* Device objects. */
    cl_program program, gemm_program;
    cl_kernel k_cell, k_proj, k_step, k_step2, k_step4, k_proj_step, k_gemm, k_persist;
    lc_config cfg;       /* settings (options, else the environment) */
    int fused_ok;        /* the device can run the fused step for this model */
    int fused_rows;      /* the fused step's weight layout (see lstm_step) */
    int step4_ok;        /* lstm_step2/4 (2 or 4 sequences per work-item) fit */
    size_t wg_j;         /* work-group size of the fused kernels */
    size_t gemm_wg_max;  /* largest work-group of gemm_nt (device and kernel) */
    /* The persistent kernel (lstm_persist): groups launched (no more than
     * the device's compute units), units and outputs per group, whether
     * the group's R slice sits in local memory. After a pass whose groups
     * were found not running at once, the kernel stays off for
     * persist_skip passes, a number that doubles with each such pass in a
     * row (persist_misses) up to LC_PERSIST_BACKOFF_MAX. */
    int persist_ok, persist_r_local;
    unsigned persist_skip, persist_misses;
    size_t persist_groups, persist_upg, persist_opg;
    cl_int persist_gave_up; /* read back from ws.bar[1] after a pass */
    lc_choice choice;       /* the automatic choice measured (CPU devices) */
    int program_from_cache;
    lc_tuned tuned[LC_MAX_TUNED]; /* this device's entries, nearest hidden size */
    size_t n_tuned;
    cl_mem act_params; /* (D, 3, 2) alpha, beta */
    lc_workspace ws;
};

/* precision.c: bytes per stored weight; IEEE half and bfloat16 from and
 * to float, rounding to nearest even; a float rounded to what precision p
 * stores for h and y (itself for fp32 and int8); a tensor's element i as a
 * float. lc_round_weights rounds rows x cols weights in place to the
 * values p stores (int8: q * scale, with scale[r] set per row);
 * lc_encode_weights writes those values in p's stored type to out
 * (rows x cols elements of lc_precision_bytes(p)). */
size_t lc_precision_bytes(lstmcl_precision p);
uint16_t lc_f32_to_f16(float f);
float lc_f16_to_f32(uint16_t h);
uint16_t lc_f32_to_bf16(float f);
float lc_bf16_to_f32(uint16_t b);
float lc_round_stored(lstmcl_precision p, float v);
float lc_dtype_get(const lstmcl_tensor *t, size_t i);
void lc_round_weights(lstmcl_precision p, float *w, size_t rows, size_t cols, float *scale);
void lc_encode_weights(lstmcl_precision p, const float *w, size_t rows, size_t cols,
                       const float *scale, void *out);
/* options.c: the precision options ask for (fp32 when unset or NULL). */
lstmcl_precision lc_options_precision(const lstmcl_model_options *options);

/* CPU reference forward (host arrays, validated arguments). */
lstmcl_status lc_reference_forward(const lstmcl_model *m, const lstmcl_forward_args *a);

/* ------------------------------------------------------------------------
 * The device path. forward_cl.c drives a pass; it calls, and nothing calls
 * back into it:
 *   plan.c       what runs: sizes, layouts, local-memory budgets, the
 *                algorithm of each pass (with choice.c and tuning.c), the
 *                persistent kernel's spin limit and back-off;
 *   weights.c    the weights arranged and uploaded;
 *   program.c    the device programs (the kernels folder) and their kernels;
 *   workspace.c  the device buffers of a shape;
 *   gemm.c       C = A B^T with CLBlast or the project's kernel;
 *   algo_gemm.c, algo_fused.c, algo_persistent.c   the algorithms, each a
 *                table of operations (lc_algo_ops).
 * ------------------------------------------------------------------------ */

/* Returns lc_fail_cl(ctx, ...) from the calling function when `expr`, an
 * OpenCL call, fails; the rest is a printf-style "what". */
#define LC_TRY_CL(ctx, expr, call, ...)                                          \
    do {                                                                         \
        cl_int e_ = (expr);                                                      \
        if (e_ != CL_SUCCESS) {                                                  \
            char what_[256];                                                     \
            snprintf(what_, sizeof what_, __VA_ARGS__);                          \
            return lc_fail_cl((ctx), e_, (call), what_);                         \
        }                                                                        \
    } while (0)

/* Sets argument `i` (an index of kernels/lstm_args.h) of kernel k to the
 * value of variable v, or returns the failure. */
#define LC_ARG(ctx, k, i, v)                                                               \
    do {                                                                                   \
        cl_int e_ = clSetKernelArg((k), (cl_uint)(i), sizeof(v), &(v));                    \
        if (e_ != CL_SUCCESS)                                                              \
            return lc_fail_cl((ctx), e_, "clSetKernelArg", "setting argument " #i " (" #v ")"); \
    } while (0)

/* A forward pass's buffers: the caller's (lstmcl_forward_cl) or the
 * workspace's staging copies of the caller's arrays (lstmcl_forward). */
typedef struct lc_io {
    size_t T, N;
    int batch_first;
    cl_mem x, lens, h0, c0, y, hn, cn;
} lc_io;

/* One layer of a pass as the driver hands it to an algorithm: the input
 * projections are in ws.xw (row (t, n) at t * xw_ts + n * xw_ns, in rows
 * of D * 4H floats), h(-1) in ws.h[0] and c(-1) in ws.c; the layer leaves
 * h(T-1) in ws.h[T % 2], c(T-1) in ws.c and its output in `out` (NULL:
 * none), element (t, n, :) at t * y_ts + n * y_ns. */
typedef struct lc_layer_pass {
    size_t l;
    const lc_layer *ly;
    const lc_io *io;
    cl_mem out;
    cl_long xw_ts, xw_ns, y_ts, y_ns;
} lc_layer_pass;

/* An algorithm: begin (may be NULL) before the first layer, layer for each,
 * end (may be NULL) after the last, all enqueue only. */
typedef struct lc_algo_ops {
    const char *name;
    lstmcl_status (*begin)(lstmcl_model *m);
    lstmcl_status (*layer)(lstmcl_model *m, const lc_layer_pass *p);
    lstmcl_status (*end)(lstmcl_model *m);
} lc_algo_ops;
extern const lc_algo_ops lc_algo_gemm, lc_algo_fused, lc_algo_persistent;

/* forward_cl.c */
lstmcl_status lc_device_model_init(lstmcl_model *m);
void lc_device_model_release(lstmcl_model *m);
lstmcl_status lc_device_forward_host(lstmcl_model *m, const lstmcl_forward_args *a);

/* plan.c. lc_plan_init: the model's sizes and layouts for its device;
 * lc_plan_uses_gemm: whether the gemm algorithm may ever run for it (its
 * plain R and projection are uploaded only then); lc_pass_algo: the
 * algorithm of the next pass of batch N and whether the measured choice
 * times it (sync: the pass is waited for anyway); lc_device_pick: the
 * algorithm a pass of batch N runs, without starting one;
 * lc_persist_pass_begins / lc_persist_failed: the persistent kernel's
 * back-off around each pass (lc_persist_failed: whether the pass gave up
 * and must run again). */
lstmcl_status lc_plan_init(lstmcl_model *m);
int lc_plan_uses_gemm(const lstmcl_model *m);
lstmcl_algorithm lc_pass_algo(lstmcl_model *m, size_t N, int sync, int *timed);
lstmcl_algorithm lc_device_pick(const lstmcl_model *m, size_t N);
cl_int lc_spin_limit(const lstmcl_model *m);
size_t lc_persist_per(const lstmcl_model *m, size_t N);
void lc_persist_pass_begins(lstmcl_model *m);
int lc_persist_failed(lstmcl_model *m, int persisted);

/* weights.c: uploads (at model creation) and releases the weights. */
lstmcl_status lc_weights_upload(lstmcl_model *m);
void lc_weights_release(lstmcl_model *m);

/* program.c: builds the model's programs and kernels; the kernel objects
 * alone (clSetKernelArg is not thread-safe: each session makes its own),
 * and their release. */
lstmcl_status lc_program_build(lstmcl_model *m);
lstmcl_status lc_device_kernels_create(lstmcl_model *m);
void lc_device_kernels_release(lstmcl_model *m);
void lc_programs_release(lstmcl_model *m);
/* Sets what holds for a whole layer of a step kernel (lstm_cell, lstm_step*:
 * wr is LC_STEP_W; cell_out, when not NULL, LC_STEP_H_NEXT) or of a
 * projection kernel (lstm_project*: src, wp). */
lstmcl_status lc_step_layer_args(lstmcl_model *m, cl_kernel k, const lc_layer_pass *p,
                                 cl_mem wr, cl_mem cell_out);
lstmcl_status lc_proj_layer_args(lstmcl_model *m, cl_kernel k, const lc_layer_pass *p,
                                 cl_mem src, cl_mem wp);

/* workspace.c: makes the workspace fit T x N (with staging for the
 * caller's host arrays when io), and releases it. */
lstmcl_status lc_ws_ensure(lstmcl_model *m, size_t T, size_t N, int io);
void lc_device_ws_release(lstmcl_model *m);
/* Releases *b when set, and clears it. */
void lc_release_mem(cl_mem *b);

/* The rows of an input projection, for lc_gemm_own to skip those that no
 * step reads: M = T * N rows of (step, sequence), time-major or with
 * batch_first batch-first, sequence n reading its first lens[n] (a device
 * buffer of N ints; NULL: every row is read). */
typedef struct lc_gemm_rows {
    cl_mem lens;
    size_t T, N;
    int batch_first;
} lc_gemm_rows;

/* gemm.c: C (M x Nn) = A (M x K) B (Nn x K)^T, row-major, offsets in
 * floats; lc_gemm_nt with CLBlast, lc_gemm_own with kernels/gemm.cl (CPU
 * devices' rows layout, and reduced precisions: B in the model's precision,
 * b_scale its int8 row scales or NULL; rows, when not NULL, the input
 * projection's rows, whose unread ones it skips). `what`, layer and step
 * name it in errors. */
lstmcl_status lc_gemm_nt(lstmcl_model *m, size_t M, size_t Nn, size_t K, cl_mem A, size_t a_off,
                         cl_mem B, size_t b_off, cl_mem C, size_t c_off, const char *what,
                         size_t layer, size_t step);
lstmcl_status lc_gemm_own(lstmcl_model *m, size_t M, size_t Nn, size_t K, cl_mem A,
                          size_t a_off, cl_mem B, cl_mem b_scale, cl_mem C, size_t c_off,
                          const lc_gemm_rows *rows, const char *what, size_t layer);

/* The measured choice (choice.c). lc_choice_begin: the algorithm for the
 * next pass of batch N (FUSED or PERSISTENT) and whether to time it (sync:
 * the pass is waited for anyway); lc_choice_end: the timed pass took
 * `seconds` for T steps. lc_choice_current: what runs between probes. */
lstmcl_algorithm lc_choice_begin(lstmcl_model *m, size_t N, int sync, int *timed);
void lc_choice_end(lstmcl_model *m, size_t N, size_t T, double seconds, int gave_up);
lstmcl_algorithm lc_choice_current(const lstmcl_model *m, size_t N);
double lc_now_seconds(void);

/* Builds a program for the context's device, from the on-disk cache in
 * cache_dir (NULL: no cache) when it holds this source, options, device and
 * driver (program_cache.c). */
lstmcl_status lc_build_program_cached(lstmcl_context *ctx, const char *cache_dir,
                                      const char *source,
                                      size_t source_size, const char *options, const char *what,
                                      cl_program *out, int *from_cache);

/* The default program-cache directory from the environment; 0 when the
 * cache is off. */
int lc_cache_dir_default(char *out, size_t cap);

/* Opens `path` for reading ("rb") when it is a regular file, without
 * blocking on a FIFO or a device; *sb gets its fstat. NULL when it cannot
 * be opened or is anything but a regular file (program_cache.c). */
struct stat;
FILE *lc_open_regular(const char *path, struct stat *sb);

/* Reads this device's entries for the model (quietly none on any problem). */
void lc_tuning_load(lstmcl_model *m);
/* The tuned algorithm for batch N, or LSTMCL_ALGO_AUTO when none is recorded. */
lstmcl_algorithm lc_tuning_pick(const lstmcl_model *m, size_t N);

/* plan.c: the algorithm a device forward of batch N runs, by name; bytes
 * of local memory the persistent kernel needs for batch N; forward sizes
 * checked (the seq_lens values are checked when given). */
const char *lc_algorithm_name(const lstmcl_model *m, size_t N);
size_t lc_persist_local_bytes(const lstmcl_model *m, size_t N);
#define LC_DIM_MAX ((size_t)1 << 30)
lstmcl_status lc_check_forward_shape(const lstmcl_model *m, size_t T, size_t N);

#endif
