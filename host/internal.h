/* Internal declarations shared by the library's translation units. */
#ifndef LSTMCL_INTERNAL_H
#define LSTMCL_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "lstmcl.h"

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
    cl_mem w_buf, r_buf, b_buf, peep_buf, proj_buf;
    cl_mem rt_buf, pt_buf; /* R and W_hr arranged for the fused step */
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
 * CPU devices (choice.c): per batch size, seconds per step of each. */
#define LC_CHOICE_SLOTS 8
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
} lc_choice_slot;
typedef struct lc_choice {
    lc_choice_slot slot[LC_CHOICE_SLOTS];
    unsigned long clock;
    int warm[2];        /* the candidate's kernel has run once in this model */
    int pass_candidate; /* of the pass begun last */
    int probing;
    int short_wait; /* the pass runs the persistent kernel on trial */
} lc_choice;

struct lstmcl_model {
    lstmcl_context *ctx;
    lstmcl_model_desc desc; /* activations resolved */
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

/* CPU reference forward (host arrays, validated arguments). */
lstmcl_status lc_reference_forward(const lstmcl_model *m, const lstmcl_forward_args *a);

/* Device setup and execution (forward_cl.c). */
lstmcl_status lc_device_model_init(lstmcl_model *m);
void lc_device_model_release(lstmcl_model *m);
lstmcl_status lc_device_forward_host(lstmcl_model *m, const lstmcl_forward_args *a);
/* The model's kernel objects from its programs (clSetKernelArg is not
 * thread-safe: each session makes its own), and their release. */
lstmcl_status lc_device_kernels_create(lstmcl_model *m);
void lc_device_kernels_release(lstmcl_model *m);
/* Releases the model's workspace buffers. */
void lc_device_ws_release(lstmcl_model *m);
/* The algorithm a device forward of batch N runs (GEMM, FUSED or
 * PERSISTENT; the layout is the model's). */
lstmcl_algorithm lc_device_pick(const lstmcl_model *m, size_t N);

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

/* The algorithm a device forward of batch N runs. */
const char *lc_algorithm_name(const lstmcl_model *m, size_t N);
/* Bytes of local memory the persistent kernel needs for batch N. */
size_t lc_persist_local_bytes(const lstmcl_model *m, size_t N);

/* Validates forward sizes; the seq_lens values are checked when given. */
lstmcl_status lc_check_forward_shape(const lstmcl_model *m, size_t T, size_t N);

#endif
