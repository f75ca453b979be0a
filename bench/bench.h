/*
 * lstmcl-bench: shared declarations of the bench harness.
 *
 * The harness times lstmcl forward passes on OpenCL devices and on the CPU
 * reference path, checks every timed result against the reference, and puts
 * baselines (oneDNN in-process, PyTorch and onnxruntime through
 * bench/baselines.py) beside them in the same run.
 */
#ifndef LSTMCL_BENCH_H
#define LSTMCL_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lstmcl.h"

/* ------------------------------------------------------------------------ */
/* Workloads                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct bench_config {
    size_t H, I, N, T, L, P;
    int bidirectional;
    int spread; /* --lengths spread: lstmcl runs with bench_config_lengths */
} bench_config;

/* "H512 I512 N4 T25 L1" plus " bi" / " P128" / " spread" where they apply. */
void bench_config_label(const bench_config *c, char *buf, size_t size);

/* With spread, the N sequences' lengths (lens, N ints) fall evenly from T
 * down to ceil(T / 5), longest first, as the requests of a server's batch
 * do once sorted (python/serving); otherwise all T. Returns their sum, the
 * steps computed. */
size_t bench_config_lengths(const bench_config *c, int32_t *lens);

/* Hout = P if P > 0 else H; D = 2 if bidirectional else 1. */
size_t bench_hout(const bench_config *c);
size_t bench_dirs(const bench_config *c);

/* Floating-point operations of one forward pass (see bench/README.md):
 * per layer and direction 8*H*(Iin + Hout)*N*T, plus 2*P*H*N*T with a
 * projection. Element-wise work is not counted. */
double bench_flops(const bench_config *c);

/* Bytes one forward pass must move when weights stream from memory every
 * step (see bench/README.md), with the weights stored in precision p (4, 2
 * or 1 bytes each, int8 adding a float scale per row). */
double bench_bytes(const bench_config *c, lstmcl_precision p);

/* Random weights and input of a configuration, in the PyTorch convention
 * (gates i, f, g, o), drawn from U(-1/sqrt(H), 1/sqrt(H)) like nn.LSTM's
 * initialisation; the input from U(-1, 1). Layout per layer l and direction
 * d is owned by `data`; `layers` points into it. */
typedef struct bench_weights {
    bench_config cfg;
    float *data;
    size_t count;
    lstmcl_layer_weights *layers;
    float *x; /* (T, N, I) */
    int32_t *lens; /* (N): bench_config_lengths with cfg.spread, else NULL */
} bench_weights;

int bench_weights_make(const bench_config *c, uint64_t seed, bench_weights *w);
void bench_weights_free(bench_weights *w);
lstmcl_model_desc bench_model_desc(const bench_config *c);

/* ------------------------------------------------------------------------ */
/* Timing statistics                                                         */
/* ------------------------------------------------------------------------ */

double bench_now_ms(void);

typedef struct bench_stats {
    double median, min, max; /* ms; NaN when not measured */
    size_t reps;
} bench_stats;

/* Median, min and max of v[0 .. n-1] (sorted in place). */
bench_stats bench_stats_of(double *v, size_t n);

/* A warm-up pass at least this long (and past the target time) also serves
 * as the calibration pass. */
#define BENCH_SLOW_MS 1000.0

/* Repetitions that fill `target_ms` given one run of `estimate_ms`: at
 * least 3 (1 when a run takes BENCH_SLOW_MS or more), at most `max_reps`. */
size_t bench_calibrate(double estimate_ms, double target_ms, size_t max_reps);

/* Largest relative error of `got` against `ref`, with magnitudes below 1
 * counted as 1 (for LSTM outputs, which lie in (-1, 1), the absolute error).
 * NaN or Inf in `got` gives +Inf. */
double bench_max_rel_err(const float *got, const float *ref, size_t n);

/* The reduced-precision accuracy metric of include/lstmcl.h, for one output
 * tensor: max |got - ref| / max(max |ref|, 1). NaN or Inf in `got` gives
 * +Inf; NaN for n == 0. */
double bench_tensor_dev(const float *got, const float *ref, size_t n);

/* ------------------------------------------------------------------------ */
/* Precisions (--precision)                                                  */
/* ------------------------------------------------------------------------ */

enum { BENCH_MAX_PRECISIONS = 4 };

/* The accuracy contract of a precision against the fp32 model (the bound on
 * bench_tensor_dev per output, include/lstmcl.h): 0 for fp32. */
double bench_precision_bound(lstmcl_precision p);


/* ------------------------------------------------------------------------ */
/* Devices, peaks and results                                                */
/* ------------------------------------------------------------------------ */

typedef struct bench_device {
    char label[64];          /* "0", "1", ... or "cpu" */
    int is_reference;
    lstmcl_device_info info; /* zero for the reference path */
    lstmcl_context *ctx;     /* NULL when opening failed */
    char error[512];
    int profiling;           /* the context's queue has profiling enabled */
    double peak_gflops;      /* measured by bench/probe.c; NaN if not */
    double peak_gbs;
} bench_device;

/* Measures FP32 FLOP/s and read bandwidth of the device behind `ctx` with
 * the probe kernels of bench/probe.c. Leaves NaN (and a reason in `why`) when
 * a probe cannot run. */
void bench_probe_peaks(lstmcl_context *ctx, double *gflops, double *gbs, char *why,
                       size_t why_size);

/* ------------------------------------------------------------------------ */
/* Load (bench/load.c): --load and --threads                                 */
/* ------------------------------------------------------------------------ */

enum { BENCH_MAX_THREADS = 16, BENCH_MAX_ROUNDS = 9 };

/* Starts `processes` busy processes for the rest of the run; each ends at
 * the bench's exit or after limit_s seconds, whichever comes first. */
int bench_load_start(int processes, unsigned limit_s, char *why, size_t why_size);

/* `count` threads, each on its own context of device `device_spec`, each
 * running w's configuration with `mopts` back to back. Returns once each
 * has run one forward; NULL (why filled) when one could not start. `w`,
 * `mopts` and `device_spec` must outlive bench_companions_stop. */
typedef struct bench_companions bench_companions;
bench_companions *bench_companions_start(size_t count, const char *device_spec,
                                         const bench_weights *w,
                                         const lstmcl_model_options *mopts, char *why,
                                         size_t why_size);
/* Stops and joins them; -1 (why filled) when one of them failed. */
int bench_companions_stop(bench_companions *b, char *why, size_t why_size);

enum { BENCH_MAX_BASELINES = 8 };

typedef struct bench_result {
    bench_config cfg;
    char device[64];      /* device label or baseline name */
    char algo[24];        /* lstmcl's algorithm on a device (lstmcl_model_algorithm) */
    lstmcl_precision precision; /* the weights' precision (a baseline's own) */
    int is_baseline;
    int ok;               /* timed */
    int unsupported;      /* !ok because the library does not run this precision
                           * with this algorithm or device (not a failure) */
    char error[512];      /* why not, when !ok */
    bench_stats wall;     /* ms per forward, host wall clock */
    bench_stats dev;      /* ms per forward from profiling events */
    bench_stats rec;      /* same model with I = 1 (recurrent-only estimate) */
    double flops, bytes;
    double peak_gflops, peak_gbs;
    double max_rel_err;   /* NaN: not checked */
    double tolerance;
    /* Deviation from the fp32 model's reference output (bench_tensor_dev)
     * of y, hn and cn, and their largest; NaN where not measured. */
    double dev_fp32[3];
    double dev_fp32_max;
    int check;            /* -1 not checked, 0 FAILED, 1 pass */
    size_t nratios;
    char ratio_name[BENCH_MAX_BASELINES][32];
    double ratio[BENCH_MAX_BASELINES]; /* baseline ms / this ms */
} bench_result;

typedef struct bench_run_info {
    const char *version;
    const char *git_commit;
    char date[64];
    char host[256];
    char command[2048];
    double target_ms;
    uint64_t seed;
    const char *suite;
    char notes[12][256];
    size_t nnotes;
    char baseline_versions[BENCH_MAX_BASELINES][192];
    size_t nbaseline_versions;
} bench_run_info;

/* Output (bench/report.c). All numbers are written with '.' as the decimal
 * separator whatever the locale. */
void bench_print_header(FILE *f);
void bench_print_row(FILE *f, const bench_result *r);
int bench_write_json(const char *path, const bench_run_info *run, const bench_device *devs,
                     size_t ndevs, const bench_result *res, size_t nres);
int bench_write_csv(const char *path, const bench_run_info *run, const bench_result *res,
                    size_t nres);

/* ------------------------------------------------------------------------ */
/* Baselines                                                                 */
/* ------------------------------------------------------------------------ */

/* oneDNN's LSTM primitive on the CPU (bench/onednn.c; compiled when CMake
 * finds oneDNN, otherwise bench_onednn_available() is 0). Times the forward
 * of the configuration with the weights of `w` and checks its output
 * against `ref_y`. Fills r's timing and check fields or r->error. */
int bench_onednn_available(void);
const char *bench_onednn_version(void);
void bench_onednn_run(const bench_weights *w, const float *ref_y, double target_ms,
                      double tolerance, bench_result *r);

/* The python baselines (bench/pybase.c runs bench/baselines.py). */
typedef struct bench_python {
    int enabled;
    char python[512];
    char script[1024];
    char tmpdir[512];
    char names[BENCH_MAX_BASELINES][32]; /* baselines the script offers */
    char versions[BENCH_MAX_BASELINES][160];
    size_t nnames;
    /* baselines it knows but cannot run here, and why (a missing module) */
    char missing[BENCH_MAX_BASELINES][32];
    char missing_why[BENCH_MAX_BASELINES][200];
    size_t nmissing;
} bench_python;

/* Asks the script which baselines it can run; 0 when it can run any. */
int bench_python_probe(bench_python *py, char *why, size_t why_size);

/* The precision a python baseline runs in (by its name: "-int8" at the
 * end is int8, else fp32). */
lstmcl_precision bench_python_precision(const char *name);

/* The fp32 reference outputs of a configuration (lstmcl_forward_reference
 * on the fp32 model): y (T, N, D*Hout), hn (L*D, N, Hout), cn (L*D, N, H). */
typedef struct bench_outputs {
    float *y, *hn, *cn;
    size_t ny, nh, nc;
} bench_outputs;

/* Runs every python baseline on the configuration (the int8 ones too when
 * `int8`); appends one result per baseline to res (capacity cap), returns
 * the number appended. `ref` (NULL: not checked) is the fp32 reference. */
size_t bench_python_run(const bench_python *py, const bench_weights *w, const bench_outputs *ref,
                        int int8, double target_ms, double tolerance, bench_result *res,
                        size_t cap);

/* lstmcl-bench --suite stream (bench/stream.c): its own options. */
int bench_stream_main(int argc, char **argv);

#endif /* LSTMCL_BENCH_H */
