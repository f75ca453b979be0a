/*
 * lstmcl-bench: times lstmcl forward passes on OpenCL devices and on the CPU
 * reference path, checks each against the reference, and runs baselines in
 * the same process (oneDNN) or through bench/baselines.py (PyTorch,
 * onnxruntime). See bench/README.md.
 *
 * Method, after clpeak: the model is created and one forward pass run before
 * timing; the repetition count is calibrated to --target-ms from a second
 * pass; every repetition waits for the queue (clFinish), and the median, min
 * and max are reported. A configuration that fails on a device is reported
 * in its row and the run goes on.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#include "bench_commit.h" /* generated at build time */
#ifndef LSTMCL_BENCH_GIT_COMMIT
#define LSTMCL_BENCH_GIT_COMMIT "unknown"
#endif
#ifndef LSTMCL_BENCH_PYTHON
#define LSTMCL_BENCH_PYTHON "python3"
#endif
#ifndef LSTMCL_BENCH_SCRIPT
#define LSTMCL_BENCH_SCRIPT "bench/baselines.py"
#endif

enum { MAX_DEVICES = 32, MAX_CONFIGS = 64 };

typedef struct options {
    const char *suite;
    bench_config single;
    int have_single;
    const char *devices;
    double target_ms;
    size_t max_reps;
    int check;
    double tol; /* <= 0: automatic */
    int rec;    /* -1: suite default */
    int baselines; /* -1: on when found */
    int onednn, python_baselines; /* 0 when switched off alone */
    int host_api;
    int spread; /* --lengths spread */
    int peaks;
    uint64_t seed;
    const char *json, *csv;
    const char *python, *script;
    int quiet;
    int list;
    const char *algos[8]; /* --algo: forced in turn on each device; none: automatic */
    size_t nalgos;
    lstmcl_precision precs[BENCH_MAX_PRECISIONS]; /* --precision, in the order given */
    size_t nprecs;
    size_t rounds;   /* --rounds */
    int load;        /* --load: busy processes */
    size_t threads;  /* --threads: lstmcl threads per timed row, 1 alone */
    unsigned load_limit_s;
} options;

static void usage(FILE *f)
{
    fputs(
        "usage: lstmcl-bench [--suite deepbench|throughput|stack|smoke[,...] | -H N [-I N] [-N N] [-T N]\n"
        "                    [-L N] [--proj P] [--bidirectional]] [options]\n"
        "       lstmcl-bench --suite stream [...]   live streams (--suite stream --help)\n"
        "  --devices LIST      all (default), or a comma list of device indices, name\n"
        "                      substrings and 'cpu' (the CPU reference path)\n"
        "  --target-ms MS      time spent per configuration and device (default 200;\n"
        "                      smoke: 20)\n"
        "  --max-reps N        at most N timed repetitions (default 1000)\n"
        "  --check/--no-check  compare each result with the CPU reference (default on)\n"
        "  --algo LIST|all     run each device once per algorithm of the list, forced\n"
        "                      through the model's options (auto, gemm, fused-rows,\n"
        "                      fused-cols, persistent-rows, persistent-cols, ...); all =\n"
        "                      auto and the five named ones, auto's row showing what\n"
        "                      it chose as auto=NAME; default: the automatic choice\n"
        "  --precision LIST|all\n"
        "                      run every lstmcl row once per precision of the comma list\n"
        "                      (fp32, fp16, bf16, int8; all = the four), side by side;\n"
        "                      each reduced-precision row is checked against the\n"
        "                      reference of its own model and its deviation from the\n"
        "                      fp32 model's output is recorded ('vs fp32'); with int8\n"
        "                      the python int8 baselines run too (default fp32)\n"
        "  --rounds K          run a device's algorithms in turn K times over (at most\n"
        "                      9); each row is then the round with its median time,\n"
        "                      for comparing algorithms on a noisy machine\n"
        "  --load P            P processes spinning on the CPU during the whole run\n"
        "                      (ended with the bench, or after --load-limit seconds,\n"
        "                      default 1800)\n"
        "  --threads K         while each lstmcl row is timed, K - 1 more threads run the\n"
        "                      same configuration and algorithm back to back, each on\n"
        "                      its own context of the same device (default 1, at most\n"
        "                      17)\n"
        "  --tol X             largest accepted relative error (default: grows with I+H;\n"
        "                      fp16 and bf16 rows add 4 steps of h's stored type)\n"
        "  --recurrent-only/--no-recurrent-only\n"
        "                      also time the same model with I = 1, i.e. without the\n"
        "                      input projection's work (default on for deepbench)\n"
        "  --baselines/--no-baselines\n"
        "                      oneDNN, PyTorch and onnxruntime beside lstmcl (default:\n"
        "                      those that are found); with int8 in --precision also\n"
        "                      onnxruntime's and PyTorch's dynamically quantized LSTMs\n"
        "  --no-onednn, --no-python\n"
        "                      leave out the oneDNN or the python baselines\n"
        "  --python PATH       interpreter for bench/baselines.py (default " LSTMCL_BENCH_PYTHON ")\n"
        "  --baselines-script PATH\n"
        "  --lengths full|spread\n"
        "                      sequence lengths: all T (default), or spread, falling\n"
        "                      evenly from T down to T/5, longest first, as a server's\n"
        "                      sorted batch (rows labelled 'spread'; GFLOP/s count the\n"
        "                      steps computed; no baselines, which take no lengths)\n"
        "  --host-api          time lstmcl_forward (host arrays, with copies) instead of\n"
        "                      lstmcl_forward_cl on device buffers\n"
        "  --no-peaks          do not measure the devices' FLOP/s and bandwidth\n"
        "  --seed N            weights and inputs seed (default 1)\n"
        "  --json FILE, --csv FILE\n"
        "                      machine-readable results\n"
        "  --quiet             no progress lines on stderr\n"
        "  --list              list the devices and exit\n"
        "Exit status: 0 when every lstmcl row ran and passed its check (a precision\n"
        "the library does not run with an algorithm, such as gemm in fp16, is\n"
        "reported as UNSUPPORTED and does not count), 1 otherwise, 2 on a usage error.\n",
        f);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* A device index: digits only, 0 allowed. */
static int parse_index(const char *s, size_t *out)
{
    if (!*s)
        return -1;
    for (const char *p = s; *p; ++p)
        if (!isdigit((unsigned char)*p))
            return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* --precision: a comma list of the library's precision names, or all;
 * each once, in the order given. */
static int parse_precisions(const char *v, options *o)
{
    o->nprecs = 0;
    if (!strcmp(v, "all")) {
        static const lstmcl_precision every[] = {LSTMCL_PRECISION_FP32, LSTMCL_PRECISION_FP16,
                                                 LSTMCL_PRECISION_BF16, LSTMCL_PRECISION_INT8};
        for (size_t k = 0; k < sizeof every / sizeof every[0]; ++k)
            o->precs[o->nprecs++] = every[k];
        return 0;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        lstmcl_precision p;
        if (lstmcl_precision_from_name(tok, &p) != LSTMCL_SUCCESS) {
            fprintf(stderr, "lstmcl-bench: --precision: %s (or all)\n", lstmcl_thread_last_error());
            return -1;
        }
        for (size_t k = 0; k < o->nprecs; ++k)
            if (o->precs[k] == p) {
                fprintf(stderr, "lstmcl-bench: --precision: %s given twice\n", tok);
                return -1;
            }
        if (o->nprecs == BENCH_MAX_PRECISIONS) {
            fprintf(stderr, "lstmcl-bench: --precision: at most %d precisions\n",
                    BENCH_MAX_PRECISIONS);
            return -1;
        }
        o->precs[o->nprecs++] = p;
    }
    if (!o->nprecs) {
        fprintf(stderr, "lstmcl-bench: --precision needs a value\n");
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->devices = "all";
    o->target_ms = -1.0;
    o->max_reps = 1000;
    o->threads = 1;
    o->rounds = 1;
    o->load_limit_s = 1800;
    o->check = 1;
    o->rec = -1;
    o->baselines = -1;
    o->onednn = 1;
    o->python_baselines = 1;
    o->peaks = 1;
    o->seed = 1;
    o->python = getenv("LSTMCL_BENCH_PYTHON") ? getenv("LSTMCL_BENCH_PYTHON") : LSTMCL_BENCH_PYTHON;
    o->script = LSTMCL_BENCH_SCRIPT;
    o->precs[0] = LSTMCL_PRECISION_FP32;
    o->nprecs = 1;
    o->single.N = 1;
    o->single.T = 25;
    o->single.L = 1;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE                                                   \
    do {                                                             \
        if (!v) {                                                    \
            fprintf(stderr, "lstmcl-bench: %s needs a value\n", a); \
            return -1;                                               \
        }                                                            \
        ++i;                                                         \
    } while (0)
#define SIZE_OPT(flag, field, single_flag)                                        \
    if (!strcmp(a, flag)) {                                                       \
        NEED_VALUE;                                                               \
        if (parse_size(v, &o->single.field)) {                                    \
            fprintf(stderr, "lstmcl-bench: %s wants a positive integer\n", a);    \
            return -1;                                                            \
        }                                                                         \
        if (single_flag)                                                          \
            o->have_single = 1;                                                   \
        continue;                                                                 \
    }
        SIZE_OPT("-H", H, 1)
        SIZE_OPT("-I", I, 1)
        SIZE_OPT("-N", N, 1)
        SIZE_OPT("-T", T, 1)
        SIZE_OPT("-L", L, 1)
        SIZE_OPT("--proj", P, 1)
#undef SIZE_OPT
        if (!strcmp(a, "--bidirectional")) {
            o->single.bidirectional = 1;
            o->have_single = 1;
        } else if (!strcmp(a, "--suite")) {
            NEED_VALUE;
            o->suite = v;
        } else if (!strcmp(a, "--devices")) {
            NEED_VALUE;
            o->devices = v;
        } else if (!strcmp(a, "--target-ms")) {
            NEED_VALUE;
            char *end;
            o->target_ms = strtod(v, &end);
            if (*end || !(o->target_ms > 0.0)) {
                fprintf(stderr, "lstmcl-bench: bad --target-ms\n");
                return -1;
            }
        } else if (!strcmp(a, "--max-reps")) {
            NEED_VALUE;
            if (parse_size(v, &o->max_reps)) {
                fprintf(stderr, "lstmcl-bench: bad --max-reps\n");
                return -1;
            }
        } else if (!strcmp(a, "--tol")) {
            NEED_VALUE;
            char *end;
            o->tol = strtod(v, &end);
            if (*end || !(o->tol > 0.0)) {
                fprintf(stderr, "lstmcl-bench: bad --tol\n");
                return -1;
            }
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE;
            char *end;
            o->seed = strtoull(v, &end, 0);
            if (*end) {
                fprintf(stderr, "lstmcl-bench: bad --seed\n");
                return -1;
            }
        } else if (!strcmp(a, "--check")) {
            o->check = 1;
        } else if (!strcmp(a, "--algo")) {
            static const char *known[] = {"auto",       "gemm",           "fused-rows",
                                          "fused-cols", "persistent-rows", "persistent-cols"};
            const size_t nknown = sizeof known / sizeof known[0];
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            if (v && !strcmp(v, "all")) {
                for (size_t k = 0; k < nknown; k++)
                    o->algos[k] = known[k];
                o->nalgos = nknown;
                continue;
            }
            o->nalgos = 0;
            static char buf[128];
            snprintf(buf, sizeof buf, "%s", v ? v : "");
            /* Names from the library's algorithm table. */
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                lstmcl_algorithm alg;
                const size_t cap = sizeof o->algos / sizeof o->algos[0];
                if (lstmcl_algorithm_from_name(tok, &alg) != LSTMCL_SUCCESS) {
                    fprintf(stderr, "lstmcl-bench: --algo: %s (or all)\n",
                            lstmcl_thread_last_error());
                    return -1;
                }
                if (o->nalgos == cap) {
                    fprintf(stderr, "lstmcl-bench: --algo: at most %zu algorithms\n", cap);
                    return -1;
                }
                o->algos[o->nalgos++] = lstmcl_algorithm_name(alg);
            }
            if (!o->nalgos) {
                fprintf(stderr, "lstmcl-bench: --algo needs a value\n");
                return -1;
            }
        } else if (!strcmp(a, "--precision")) {
            NEED_VALUE;
            if (parse_precisions(v, o))
                return -1;
        } else if (!strcmp(a, "--no-check")) {
            o->check = 0;
        } else if (!strcmp(a, "--recurrent-only")) {
            o->rec = 1;
        } else if (!strcmp(a, "--no-recurrent-only")) {
            o->rec = 0;
        } else if (!strcmp(a, "--baselines")) {
            o->baselines = 1;
        } else if (!strcmp(a, "--no-baselines")) {
            o->baselines = 0;
        } else if (!strcmp(a, "--no-onednn")) {
            o->onednn = 0;
        } else if (!strcmp(a, "--no-python")) {
            o->python_baselines = 0;
        } else if (!strcmp(a, "--python")) {
            NEED_VALUE;
            o->python = v;
        } else if (!strcmp(a, "--baselines-script")) {
            NEED_VALUE;
            o->script = v;
        } else if (!strcmp(a, "--lengths")) {
            NEED_VALUE;
            if (strcmp(v, "full") && strcmp(v, "spread")) {
                fprintf(stderr, "lstmcl-bench: --lengths %s: full or spread\n", v);
                return -1;
            }
            o->spread = !strcmp(v, "spread");
        } else if (!strcmp(a, "--host-api")) {
            o->host_api = 1;
        } else if (!strcmp(a, "--no-peaks")) {
            o->peaks = 0;
        } else if (!strcmp(a, "--json")) {
            NEED_VALUE;
            o->json = v;
        } else if (!strcmp(a, "--csv")) {
            NEED_VALUE;
            o->csv = v;
        } else if (!strcmp(a, "--rounds")) {
            size_t v = 0;
            if (i + 1 >= argc || parse_size(argv[++i], &v) || v > BENCH_MAX_ROUNDS) {
                fprintf(stderr, "lstmcl-bench: bad --rounds (1..%d)\n", BENCH_MAX_ROUNDS);
                return -1;
            }
            o->rounds = v;
        } else if (!strcmp(a, "--load") || !strcmp(a, "--load-limit") ||
                   !strcmp(a, "--threads")) {
            size_t v = 0;
            if (i + 1 >= argc || parse_size(argv[++i], &v) ||
                (!strcmp(a, "--threads") && v > BENCH_MAX_THREADS + 1) ||
                (!strcmp(a, "--load") && v > 64)) {
                fprintf(stderr, "lstmcl-bench: bad %s (a count: --load 1..64, --threads 1..%d, "
                                "--load-limit seconds)\n",
                        a, BENCH_MAX_THREADS + 1);
                return -1;
            }
            if (!strcmp(a, "--load"))
                o->load = (int)v;
            else if (!strcmp(a, "--threads"))
                o->threads = v;
            else
                o->load_limit_s = (unsigned)v;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--list")) {
            o->list = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "lstmcl-bench: unknown option %s\n", a);
            return -1;
        }
#undef NEED_VALUE
    }
    if (o->suite && o->have_single) {
        fprintf(stderr, "lstmcl-bench: give either --suite or a configuration, not both\n");
        return -1;
    }
    if (!o->suite && !o->have_single && !o->list) {
        fprintf(stderr, "lstmcl-bench: give --suite NAME or a configuration (-H ...)\n");
        return -1;
    }
    if (o->have_single) {
        if (o->single.H == 0) {
            fprintf(stderr, "lstmcl-bench: -H is required for a single configuration\n");
            return -1;
        }
        if (o->single.I == 0)
            o->single.I = o->single.H;
        if (o->single.P >= o->single.H && o->single.P != 0) {
            fprintf(stderr, "lstmcl-bench: --proj must be below -H\n");
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Suites                                                                    */
/* ------------------------------------------------------------------------ */

static size_t add_config(bench_config *out, size_t n, size_t H, size_t I, size_t N, size_t T,
                         size_t L, size_t P, int bi)
{
    if (n < MAX_CONFIGS) {
        bench_config c = {H, I, N, T, L, P, bi, 0};
        out[n++] = c;
    }
    return n;
}

static int make_suite(const char *name, bench_config *out, size_t *count)
{
    size_t n = 0;
    if (!strcmp(name, "deepbench")) {
        /* DeepBench's LSTM inference set (H, T), N in {1, 2, 4}, I = H */
        static const size_t ht[][2] = {{256, 150}, {512, 25}, {1024, 25}, {1536, 50}, {2048, 25}};
        static const size_t batches[] = {1, 2, 4};
        for (size_t i = 0; i < sizeof ht / sizeof ht[0]; ++i)
            for (size_t b = 0; b < sizeof batches / sizeof batches[0]; ++b)
                n = add_config(out, n, ht[i][0], ht[i][0], batches[b], ht[i][1], 1, 0, 0);
    } else if (!strcmp(name, "throughput")) {
        static const size_t batches[] = {16, 32, 64, 128};
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; ++b)
            n = add_config(out, n, 1024, 1024, batches[b], 25, 1, 0, 0);
    } else if (!strcmp(name, "stack")) {
        n = add_config(out, n, 512, 512, 64, 100, 4, 0, 0);
    } else if (!strcmp(name, "smoke")) {
        /* small and odd sizes that reach tail code: bidirectional stacks,
         * a projection, batch 1 */
        n = add_config(out, n, 32, 16, 2, 5, 1, 0, 0);
        n = add_config(out, n, 17, 7, 3, 9, 2, 0, 1);
        n = add_config(out, n, 34, 17, 1, 4, 1, 16, 0);
        n = add_config(out, n, 64, 64, 4, 8, 2, 0, 0);
    } else if (strchr(name, ',')) {
        /* a comma list: the suites one after another */
        char buf[256];
        if (strlen(name) >= sizeof buf)
            return -1;
        strcpy(buf, name);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            size_t k = 0;
            /* (every suite has at most 15 configurations) */
            if (n + 16 > MAX_CONFIGS || make_suite(tok, out + n, &k))
                return -1;
            n += k;
        }
    } else {
        return -1;
    }
    *count = n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; ++hay)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return n == 0;
}

static int add_device(bench_device *devs, size_t *n, int reference, size_t index)
{
    for (size_t i = 0; i < *n; ++i)
        if (devs[i].is_reference == reference && (reference || devs[i].info.index == index))
            return 0;
    if (*n >= MAX_DEVICES)
        return -1;
    bench_device *d = &devs[(*n)++];
    memset(d, 0, sizeof *d);
    d->is_reference = reference;
    d->peak_gflops = NAN;
    d->peak_gbs = NAN;
    if (reference) {
        snprintf(d->label, sizeof d->label, "cpu");
        snprintf(d->info.name, sizeof d->info.name, "lstmcl CPU reference path");
    } else {
        snprintf(d->label, sizeof d->label, "%zu", index);
        if (lstmcl_device_get_info(index, &d->info) != LSTMCL_SUCCESS)
            snprintf(d->error, sizeof d->error, "%s", lstmcl_thread_last_error());
        d->info.index = index;
    }
    return 0;
}

static int select_devices(const char *spec, bench_device *devs, size_t *n)
{
    size_t count = 0;
    if (lstmcl_device_count(&count) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-bench: cannot list OpenCL devices: %s\n",
                lstmcl_thread_last_error());
        count = 0;
    }
    *n = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            ++tok;
        if (!strcasecmp(tok, "all")) {
            for (size_t i = 0; i < count; ++i)
                add_device(devs, n, 0, i);
            add_device(devs, n, 1, 0);
        } else if (!strcasecmp(tok, "cpu") || !strcasecmp(tok, "reference")) {
            add_device(devs, n, 1, 0);
        } else {
            size_t idx = 0;
            if (parse_index(tok, &idx) == 0) {
                if (idx >= count) {
                    fprintf(stderr, "lstmcl-bench: no device %s (%zu found)\n", tok, count);
                    return -1;
                }
                add_device(devs, n, 0, idx);
                continue;
            }
            int found = 0;
            for (size_t i = 0; i < count; ++i) {
                lstmcl_device_info info;
                if (lstmcl_device_get_info(i, &info) == LSTMCL_SUCCESS &&
                    contains_ci(info.name, tok)) {
                    add_device(devs, n, 0, i);
                    found = 1;
                }
            }
            if (!found) {
                fprintf(stderr, "lstmcl-bench: no device name contains \"%s\"\n", tok);
                return -1;
            }
        }
    }
    return *n ? 0 : -1;
}

static void open_device(bench_device *d)
{
    if (d->error[0])
        return;
    char spec[32];
    snprintf(spec, sizeof spec, "%s", d->is_reference ? "cpu" : d->label);
    /* Device time from the queue's profiling events, unless the
     * environment says otherwise. */
    lstmcl_context_options copts;
    lstmcl_context_options_init(&copts);
    if (!getenv("LSTMCL_QUEUE_PROFILING"))
        copts.queue_profiling = 1;
    if (lstmcl_context_create_with(spec, &copts, &d->ctx) != LSTMCL_SUCCESS) {
        snprintf(d->error, sizeof d->error, "%s", lstmcl_thread_last_error());
        d->ctx = NULL;
        return;
    }
    if (!d->is_reference) {
        cl_command_queue q = NULL;
        cl_command_queue_properties props = 0;
        if (lstmcl_context_cl_objects(d->ctx, NULL, NULL, &q) == LSTMCL_SUCCESS && q &&
            clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL) ==
                CL_SUCCESS)
            d->profiling = (props & CL_QUEUE_PROFILING_ENABLE) != 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Timing one configuration on one device                                    */
/* ------------------------------------------------------------------------ */

typedef bench_outputs outputs;

static int outputs_alloc(const bench_config *c, outputs *o)
{
    size_t D = bench_dirs(c), Ho = bench_hout(c);
    o->ny = c->T * c->N * D * Ho;
    o->nh = c->L * D * c->N * Ho;
    o->nc = c->L * D * c->N * c->H;
    o->y = calloc(o->ny, sizeof(float));
    o->hn = calloc(o->nh, sizeof(float));
    o->cn = calloc(o->nc, sizeof(float));
    return o->y && o->hn && o->cn ? 0 : -1;
}

static void outputs_free(outputs *o)
{
    free(o->y);
    free(o->hn);
    free(o->cn);
    memset(o, 0, sizeof *o);
}

static void set_error(bench_result *r, const char *what, lstmcl_status st, lstmcl_context *ctx)
{
    const char *msg = ctx ? lstmcl_context_last_error(ctx) : "";
    if (!msg || !msg[0])
        msg = lstmcl_thread_last_error();
    snprintf(r->error, sizeof r->error, "%s: %s (%d)%s%s", what, lstmcl_status_string(st),
             (int)st, msg && msg[0] ? ": " : "", msg ? msg : "");
    /* keep the row on one line */
    for (char *p = r->error; *p; ++p)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    r->ok = 0;
}

static void set_cl_error(bench_result *r, const char *call, cl_int err)
{
    snprintf(r->error, sizeof r->error, "%s failed: %s (%d)", call,
             lstmcl_status_string((lstmcl_status)err), (int)err);
    r->ok = 0;
}

/* One forward on device buffers, waited for. Returns wall ms, and device ms
 * in *dev_ms when the queue profiles (NaN otherwise). */
typedef struct cl_run {
    lstmcl_model *model;
    cl_command_queue queue;
    lstmcl_forward_cl_args args;
    int profiling;
} cl_run;

static lstmcl_status cl_forward_once(const cl_run *run, double *wall_ms, double *dev_ms,
                                     const char **what)
{
    cl_event mark = NULL, done = NULL;
    *dev_ms = NAN;
    double t0 = bench_now_ms();
    cl_int err = CL_SUCCESS;
    if (run->profiling) {
        err = clEnqueueMarkerWithWaitList(run->queue, 0, NULL, &mark);
        if (err != CL_SUCCESS) {
            *what = "clEnqueueMarkerWithWaitList";
            return (lstmcl_status)err;
        }
    }
    lstmcl_status st = lstmcl_forward_cl(run->model, &run->args, run->profiling ? &done : NULL);
    if (st != LSTMCL_SUCCESS) {
        *what = "lstmcl_forward_cl";
        if (mark)
            clReleaseEvent(mark);
        return st;
    }
    err = clFinish(run->queue);
    *wall_ms = bench_now_ms() - t0;
    if (err != CL_SUCCESS) {
        *what = "clFinish";
    } else if (mark && done) {
        cl_ulong a = 0, b = 0;
        if (clGetEventProfilingInfo(mark, CL_PROFILING_COMMAND_END, sizeof a, &a, NULL) ==
                CL_SUCCESS &&
            clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof b, &b, NULL) ==
                CL_SUCCESS &&
            b >= a)
            *dev_ms = (double)(b - a) * 1e-6;
    }
    if (mark)
        clReleaseEvent(mark);
    if (done)
        clReleaseEvent(done);
    return (lstmcl_status)err;
}

typedef struct timing {
    bench_stats wall, dev;
} timing;

/* Times `model` on `d` with input `x`; leaves the last outputs in `out`.
 * Returns 0, or -1 with r->error set. */
static int time_model(bench_device *d, lstmcl_model *model, const bench_config *c,
                      const float *x, const int32_t *lens, const options *o, double target_ms,
                      outputs *out, timing *tm, bench_result *r)
{
    tm->wall = bench_stats_of(NULL, 0);
    tm->dev = tm->wall;
    int use_cl = !d->is_reference && !o->host_api;
    lstmcl_forward_args fa;
    memset(&fa, 0, sizeof fa);
    fa.seq_len = c->T;
    fa.batch = c->N;
    fa.x = x;
    fa.seq_lens = lens;
    fa.y = out->y;
    fa.hn = out->hn;
    fa.cn = out->cn;

    cl_run run;
    memset(&run, 0, sizeof run);
    cl_mem bufs[5] = {NULL, NULL, NULL, NULL, NULL};
    double *walls = NULL, *devs = NULL;
    int rc = -1;
    if (use_cl) {
        cl_context clctx = NULL;
        lstmcl_status st = lstmcl_context_cl_objects(d->ctx, &clctx, NULL, &run.queue);
        if (st != LSTMCL_SUCCESS) {
            set_error(r, "lstmcl_context_cl_objects", st, d->ctx);
            return -1;
        }
        size_t sizes[4] = {c->T * c->N * c->I, out->ny, out->nh, out->nc};
        for (int i = 0; i < 4; ++i) {
            cl_int err = CL_SUCCESS;
            bufs[i] = clCreateBuffer(clctx, CL_MEM_READ_WRITE, sizes[i] * sizeof(float), NULL, &err);
            if (err != CL_SUCCESS) {
                set_cl_error(r, "clCreateBuffer", err);
                goto done;
            }
        }
        cl_int err = clEnqueueWriteBuffer(run.queue, bufs[0], CL_TRUE, 0,
                                          sizes[0] * sizeof(float), x, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            set_cl_error(r, "clEnqueueWriteBuffer", err);
            goto done;
        }
        if (lens) {
            bufs[4] = clCreateBuffer(clctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                     c->N * sizeof(cl_int), (void *)lens, &err);
            if (err != CL_SUCCESS) {
                set_cl_error(r, "clCreateBuffer", err);
                goto done;
            }
            run.args.seq_lens = bufs[4];
        }
        run.model = model;
        run.profiling = d->profiling;
        run.args.seq_len = c->T;
        run.args.batch = c->N;
        run.args.x = bufs[0];
        run.args.y = bufs[1];
        run.args.hn = bufs[2];
        run.args.cn = bufs[3];
    }

    /* warm-up, then a second pass to calibrate. Both always run: the first
     * pass of a model compiles (and PoCL compiles a kernel again at its
     * first launch with a new work-group shape, which the automatic
     * choice's trial of its second candidate meets in the next pass), so
     * a slow first pass says nothing about the rest; calibrated on it, a
     * row once got one timed pass of 230 ms where the others took 3. */
    double est = 0.0, dev_ms = NAN;
    for (int pass = 0; pass < 2; ++pass) {
        lstmcl_status st;
        const char *what = "lstmcl_forward";
        double t0 = bench_now_ms();
        if (use_cl) {
            st = cl_forward_once(&run, &est, &dev_ms, &what);
        } else {
            st = lstmcl_forward(model, &fa);
            est = bench_now_ms() - t0;
        }
        if (st != LSTMCL_SUCCESS) {
            set_error(r, what, st, d->ctx);
            goto done;
        }
    }
    size_t reps = bench_calibrate(est, target_ms, o->max_reps);
    walls = malloc(reps * sizeof *walls);
    devs = malloc(reps * sizeof *devs);
    if (!walls || !devs) {
        snprintf(r->error, sizeof r->error, "out of host memory");
        goto done;
    }
    size_t ndev = 0;
    for (size_t i = 0; i < reps; ++i) {
        lstmcl_status st;
        const char *what = "lstmcl_forward";
        if (use_cl) {
            st = cl_forward_once(&run, &walls[i], &dev_ms, &what);
            if (!isnan(dev_ms))
                devs[ndev++] = dev_ms;
        } else {
            double t0 = bench_now_ms();
            st = lstmcl_forward(model, &fa);
            walls[i] = bench_now_ms() - t0;
        }
        if (st != LSTMCL_SUCCESS) {
            set_error(r, what, st, d->ctx);
            goto done;
        }
    }
    tm->wall = bench_stats_of(walls, reps);
    tm->dev = bench_stats_of(devs, ndev);
    if (use_cl) {
        cl_mem srcs[3] = {bufs[1], bufs[2], bufs[3]};
        float *dsts[3] = {out->y, out->hn, out->cn};
        size_t ns[3] = {out->ny, out->nh, out->nc};
        for (int i = 0; i < 3; ++i) {
            cl_int err = clEnqueueReadBuffer(run.queue, srcs[i], CL_TRUE, 0, ns[i] * sizeof(float),
                                             dsts[i], 0, NULL, NULL);
            if (err != CL_SUCCESS) {
                set_cl_error(r, "clEnqueueReadBuffer", err);
                goto done;
            }
        }
    }
    rc = 0;
done:
    if (use_cl && run.queue)
        clFinish(run.queue);
    for (int i = 0; i < 5; ++i)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    free(walls);
    free(devs);
    return rc;
}

static double auto_tolerance(const bench_config *c)
{
    /* FP32 sums of Iin + Hout products per gate, carried over T steps by a
     * contractive recurrence: a bound that grows with the summed terms and
     * with the depth of the stack */
    size_t Ho = bench_hout(c), k = c->I + Ho;
    if (c->L > 1 && bench_dirs(c) * Ho + Ho > k)
        k = bench_dirs(c) * Ho + Ho;
    return (1e-4 + 8.0 * FLT_EPSILON * (double)k) * (double)c->L;
}

static void init_result(bench_result *r, const bench_config *c, const char *device)
{
    memset(r, 0, sizeof *r);
    r->cfg = *c;
    snprintf(r->device, sizeof r->device, "%s", device);
    r->wall = bench_stats_of(NULL, 0);
    r->dev = r->wall;
    r->rec = r->wall;
    r->flops = bench_flops(c);
    r->bytes = bench_bytes(c, LSTMCL_PRECISION_FP32);
    r->peak_gflops = NAN;
    r->peak_gbs = NAN;
    r->max_rel_err = NAN;
    r->dev_fp32[0] = r->dev_fp32[1] = r->dev_fp32[2] = NAN;
    r->dev_fp32_max = NAN;
    r->check = -1;
}

/* The deviation of `out` from the fp32 model's reference `ref32`, per
 * output (the reduced-precision contract's metric) and the largest. */
static void set_dev_fp32(bench_result *r, const outputs *out, const outputs *ref32)
{
    r->dev_fp32[0] = bench_tensor_dev(out->y, ref32->y, out->ny);
    r->dev_fp32[1] = bench_tensor_dev(out->hn, ref32->hn, out->nh);
    r->dev_fp32[2] = bench_tensor_dev(out->cn, ref32->cn, out->nc);
    r->dev_fp32_max = fmax(r->dev_fp32[0], fmax(r->dev_fp32[1], r->dev_fp32[2]));
}

/* `mopts`: the model options (the algorithm --algo forces, the precision).
 * `ref`: the reference output of the model in that precision (the check);
 * `ref32`: the fp32 model's (the deviation); NULL: not checked. */
static void run_on_device(bench_device *d, const bench_weights *w, const bench_weights *w_rec,
                          const outputs *ref, const outputs *ref32, const options *o,
                          double target_ms, double tol, const lstmcl_model_options *mopts,
                          bench_result *r)
{
    const bench_config *c = &w->cfg;
    init_result(r, c, d->label);
    r->precision = mopts->precision == LSTMCL_PRECISION_UNSET ? LSTMCL_PRECISION_FP32
                                                              : mopts->precision;
    r->bytes = bench_bytes(c, r->precision);
    r->peak_gflops = d->peak_gflops;
    r->peak_gbs = d->peak_gbs;
    r->tolerance = tol;
    if (!d->ctx) {
        snprintf(r->error, sizeof r->error, "device not opened: %s", d->error);
        return;
    }
    lstmcl_model_desc desc = bench_model_desc(c);
    lstmcl_model *model = NULL;
    outputs out;
    memset(&out, 0, sizeof out);
    lstmcl_status st =
        lstmcl_model_create_with(d->ctx, &desc, LSTMCL_CONVENTION_PYTORCH, w->layers, mopts,
                                 &model);
    if (st != LSTMCL_SUCCESS) {
        set_error(r, "lstmcl_model_create", st, d->ctx);
        /* a reduced precision the library does not run with this algorithm
         * (gemm) or on this device: said in the row, not a failure */
        r->unsupported = st == LSTMCL_ERROR_UNSUPPORTED && r->precision != LSTMCL_PRECISION_FP32;
        return;
    }
    /* the algorithm that runs; a forced persistent layout keeps its name
     * (the library says "persistent" for either), auto's row says what it
     * chose */
    const char *ran = lstmcl_model_algorithm(model, c->N);
    const char *forced = lstmcl_algorithm_name(mopts->algorithm);
    if (forced && !strcmp(ran, "persistent") && !strncmp(forced, "persistent-", 11))
        ran = forced;
    snprintf(r->algo, sizeof r->algo, "%s%s", mopts->algorithm == LSTMCL_ALGO_AUTO ? "auto=" : "",
             ran);
    if (outputs_alloc(c, &out)) {
        snprintf(r->error, sizeof r->error, "out of host memory");
        goto done;
    }
    timing tm;
    bench_companions *comp = NULL;
    if (o->threads > 1 && !d->is_reference) {
        char why[256] = "";
        comp = bench_companions_start(o->threads - 1, d->label, w, mopts, why, sizeof why);
        if (!comp) {
            snprintf(r->error, sizeof r->error, "--threads: %s", why);
            goto done;
        }
    }
    int timed = time_model(d, model, c, w->x, w->lens, o, target_ms, &out, &tm, r);
    if (comp) {
        char why[400] = "";
        if (bench_companions_stop(comp, why, sizeof why) && !r->error[0]) {
            snprintf(r->error, sizeof r->error, "--threads: %s", why);
            goto done;
        }
    }
    if (timed)
        goto done;
    /* the automatic choice may measure and change while it runs: the row
     * names what it ran at the end */
    if (mopts->algorithm == LSTMCL_ALGO_AUTO)
        snprintf(r->algo, sizeof r->algo, "auto=%s", lstmcl_model_algorithm(model, c->N));
    r->ok = 1;
    r->wall = tm.wall;
    r->dev = tm.dev;
    if (ref) {
        double e = bench_max_rel_err(out.y, ref->y, out.ny);
        double eh = bench_max_rel_err(out.hn, ref->hn, out.nh);
        double ec = bench_max_rel_err(out.cn, ref->cn, out.nc);
        r->max_rel_err = fmax(e, fmax(eh, ec));
        r->check = r->max_rel_err <= tol;
    }
    if (ref32)
        set_dev_fp32(r, &out, ref32);
    lstmcl_model_destroy(model);
    model = NULL;

    if (w_rec) {
        /* the same recurrence with a one-wide input: the input projection's
         * work drops to a rank-1 product */
        lstmcl_model_desc rdesc = bench_model_desc(&w_rec->cfg);
        outputs rout;
        memset(&rout, 0, sizeof rout);
        bench_result tmp;
        init_result(&tmp, &w_rec->cfg, d->label);
        st = lstmcl_model_create_with(d->ctx, &rdesc, LSTMCL_CONVENTION_PYTORCH, w_rec->layers,
                                      mopts, &model);
        if (st != LSTMCL_SUCCESS) {
            set_error(&tmp, "lstmcl_model_create (I=1)", st, d->ctx);
        } else if (outputs_alloc(&w_rec->cfg, &rout) == 0 &&
                   time_model(d, model, &w_rec->cfg, w_rec->x, w_rec->lens, o, target_ms, &rout, &tm,
                              &tmp) ==
                       0) {
            r->rec = tm.wall;
        }
        if (tmp.error[0]) /* the row itself ran: keep the reason beside it */
            snprintf(r->error, sizeof r->error, "recurrent-only run: %.480s", tmp.error);
        outputs_free(&rout);
    }
done:
    lstmcl_model_destroy(model);
    outputs_free(&out);
}

/* The reference outputs of a configuration, computed on the CPU reference
 * path (accumulating in double) with the weights as a model of precision
 * `prec` stores them. */
static int reference_outputs(lstmcl_context *ref_ctx, const bench_weights *w,
                             lstmcl_precision prec, outputs *ref, char *why, size_t why_size)
{
    lstmcl_model_desc desc = bench_model_desc(&w->cfg);
    lstmcl_model *model = NULL;
    lstmcl_model_options mopts;
    lstmcl_model_options_init(&mopts);
    mopts.precision = prec;
    lstmcl_status st = lstmcl_model_create_with(ref_ctx, &desc, LSTMCL_CONVENTION_PYTORCH,
                                                w->layers, &mopts, &model);
    if (st == LSTMCL_SUCCESS && outputs_alloc(&w->cfg, ref) == 0) {
        lstmcl_forward_args fa;
        memset(&fa, 0, sizeof fa);
        fa.seq_len = w->cfg.T;
        fa.batch = w->cfg.N;
        fa.x = w->x;
        fa.seq_lens = w->lens;
        fa.y = ref->y;
        fa.hn = ref->hn;
        fa.cn = ref->cn;
        st = lstmcl_forward_reference(model, &fa);
    } else if (st == LSTMCL_SUCCESS) {
        st = LSTMCL_ERROR_OUT_OF_HOST_MEMORY;
    }
    if (st != LSTMCL_SUCCESS)
        snprintf(why, why_size, "%s: %s", lstmcl_status_string(st), lstmcl_thread_last_error());
    lstmcl_model_destroy(model);
    return st == LSTMCL_SUCCESS ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

/* Of the rounds' results for algorithm `ai` (stored round after round,
 * `runs` per round), the one with the median time; a failed round wins, so
 * that a failure is never hidden. */
static const bench_result *bench_median_round(const bench_result *rr, size_t rounds, size_t runs,
                                              size_t ai)
{
    const bench_result *by[BENCH_MAX_ROUNDS];
    size_t n = 0;
    for (size_t rd = 0; rd < rounds; ++rd) {
        const bench_result *r = &rr[rd * runs + ai];
        if (!r->ok || r->check == 0)
            return r;
        by[n++] = r;
    }
    for (size_t i = 1; i < n; ++i) /* insertion sort by median time */
        for (size_t j = i; j > 0 && by[j]->wall.median < by[j - 1]->wall.median; --j) {
            const bench_result *t = by[j];
            by[j] = by[j - 1];
            by[j - 1] = t;
        }
    return by[(n - 1) / 2];
}

static void run_info_init(bench_run_info *run, const options *o, int argc, char **argv,
                          const char *suite)
{
    memset(run, 0, sizeof *run);
    run->version = lstmcl_version_string();
    run->git_commit = LSTMCL_BENCH_GIT_COMMIT;
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(run->date, sizeof run->date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    if (gethostname(run->host, sizeof run->host) != 0)
        snprintf(run->host, sizeof run->host, "unknown");
    run->host[sizeof run->host - 1] = '\0';
    size_t used = 0;
    for (int i = 0; i < argc && used + 1 < sizeof run->command; ++i) {
        int n = snprintf(run->command + used, sizeof run->command - used, "%s%s", i ? " " : "",
                         argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    run->target_ms = o->target_ms;
    run->seed = o->seed;
    run->suite = suite;
}

static void add_note(bench_run_info *run, const char *fmt, const char *arg)
{
    if (run->nnotes < sizeof run->notes / sizeof run->notes[0])
        snprintf(run->notes[run->nnotes++], sizeof run->notes[0], fmt, arg);
}

/* Other work on the machine skews every figure: the load average goes into
 * the notes at the start and the end of a run (Linux; elsewhere nothing). */
static double note_load(bench_run_info *run, const char *when)
{
    char text[128] = "", note[192];
    double one = 0.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return 0.0;
    if (fgets(text, sizeof text, f)) {
        text[strcspn(text, "\n")] = '\0';
        one = strtod(text, NULL);
        snprintf(note, sizeof note, "load average at the %s: %s", when, text);
        add_note(run, "%s", note);
    }
    fclose(f);
    return one;
}

int main(int argc, char **argv)
{
    /* the user's locale for everything but numbers: the table, JSON and CSV
     * always use '.' as the decimal separator */
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--suite") && !strcmp(argv[i + 1], "stream"))
            return bench_stream_main(argc, argv);
    options o;
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }

    static bench_device devs[MAX_DEVICES];
    size_t ndevs = 0;
    if (select_devices(o.devices, devs, &ndevs)) {
        fprintf(stderr, "lstmcl-bench: no device selected by \"%s\"\n", o.devices);
        return 2;
    }
    if (o.list) {
        for (size_t i = 0; i < ndevs; ++i)
            printf("%-4s %s%s%s\n", devs[i].label, devs[i].info.name,
                   devs[i].is_reference ? "" : " / ", devs[i].is_reference ? "" : devs[i].info.platform);
        return 0;
    }

    static bench_config configs[MAX_CONFIGS];
    size_t nconfigs = 0;
    const char *suite = o.suite ? o.suite : "single";
    if (o.suite) {
        if (make_suite(o.suite, configs, &nconfigs)) {
            fprintf(stderr, "lstmcl-bench: unknown suite %s\n", o.suite);
            return 2;
        }
    } else {
        configs[0] = o.single;
        nconfigs = 1;
    }
    for (size_t ci = 0; ci < nconfigs; ++ci)
        configs[ci].spread = o.spread;
    if (o.target_ms <= 0.0)
        o.target_ms = o.suite && !strcmp(o.suite, "smoke") ? 20.0 : 200.0;
    int rec = o.rec >= 0 ? o.rec : (o.suite && strstr(o.suite, "deepbench") != NULL);

    bench_run_info run;
    run_info_init(&run, &o, argc, argv, suite);

    if (note_load(&run, "start") > 0.5 && !o.quiet)
        fprintf(stderr, "lstmcl-bench: the machine is busy (see /proc/loadavg): timings will "
                        "be noisy\n");

    /* Devices: open, then measure their peaks once. */
    double t_start = bench_now_ms();
    for (size_t i = 0; i < ndevs; ++i) {
        open_device(&devs[i]);
        if (!devs[i].ctx) {
            fprintf(stderr, "lstmcl-bench: device %s: %s\n", devs[i].label, devs[i].error);
            continue;
        }
        if (!devs[i].is_reference && !o.host_api && !devs[i].profiling)
            add_note(&run, "device %s: the context's queue has no profiling; wall time only",
                     devs[i].label);
        if (!devs[i].is_reference && o.peaks) {
            char why[256] = "";
            if (!o.quiet)
                fprintf(stderr, "lstmcl-bench: measuring the peaks of device %s (%s)\n",
                        devs[i].label, devs[i].info.name);
            bench_probe_peaks(devs[i].ctx, &devs[i].peak_gflops, &devs[i].peak_gbs, why,
                              sizeof why);
            if (why[0])
                fprintf(stderr, "lstmcl-bench: device %s: peak probe: %s\n", devs[i].label, why);
        }
    }
    lstmcl_context *ref_ctx = NULL;
    if (o.check || o.baselines != 0) {
        if (lstmcl_context_create("cpu", &ref_ctx) != LSTMCL_SUCCESS) {
            fprintf(stderr, "lstmcl-bench: cannot open the reference path: %s\n",
                    lstmcl_thread_last_error());
            return 1;
        }
    }

    /* Baselines. */
    if (o.spread && o.baselines != 0) {
        /* oneDNN, PyTorch and onnxruntime would compute every step */
        add_note(&run, "%s", "--lengths spread: no baselines (they take no lengths)");
        o.baselines = 0;
    }
    int use_onednn = o.baselines != 0 && o.onednn && bench_onednn_available();
    if (o.baselines == 1 && o.onednn && !bench_onednn_available())
        add_note(&run, "%s", "oneDNN baseline not built (oneDNN not found at build time)");
    if (use_onednn && run.nbaseline_versions < BENCH_MAX_BASELINES)
        snprintf(run.baseline_versions[run.nbaseline_versions++], sizeof run.baseline_versions[0],
                 "onednn-cpu %s", bench_onednn_version());
    int want_int8 = 0;
    for (size_t k = 0; k < o.nprecs; ++k)
        want_int8 |= o.precs[k] == LSTMCL_PRECISION_INT8;
    bench_python py;
    memset(&py, 0, sizeof py);
    if (o.baselines != 0 && o.python_baselines) {
        snprintf(py.python, sizeof py.python, "%s", o.python);
        snprintf(py.script, sizeof py.script, "%s", o.script);
        char why[512] = "";
        if (bench_python_probe(&py, why, sizeof why) == 0) {
            py.enabled = 1;
            /* the int8 baselines run (and are listed) with int8 rows only */
            for (size_t i = 0; i < py.nnames && run.nbaseline_versions < BENCH_MAX_BASELINES; ++i)
                if (want_int8 || bench_python_precision(py.names[i]) == LSTMCL_PRECISION_FP32)
                    snprintf(run.baseline_versions[run.nbaseline_versions++],
                             sizeof run.baseline_versions[0], "%s %s", py.names[i],
                             py.versions[i]);
            for (size_t i = 0; i < py.nmissing; ++i)
                if (want_int8 || bench_python_precision(py.missing[i]) == LSTMCL_PRECISION_FP32) {
                    char note[sizeof py.missing[0] + sizeof py.missing_why[0] + 8];
                    snprintf(note, sizeof note, "%s off: %s", py.missing[i], py.missing_why[i]);
                    fprintf(stderr, "lstmcl-bench: python baseline %s\n", note);
                    add_note(&run, "python baseline %s", note);
                }
        } else {
            fprintf(stderr, "lstmcl-bench: python baselines off: %s\n", why);
            add_note(&run, "python baselines off: %s", why);
        }
    }

    /* a device's rows: each algorithm in turn, each in every precision */
    size_t per_dev = (o.nalgos ? o.nalgos : 1) * o.nprecs;
    size_t cap = nconfigs * (ndevs * per_dev + 1 + BENCH_MAX_BASELINES);
    bench_result *res = calloc(cap, sizeof *res);
    bench_result *round_res = calloc(o.rounds * per_dev, sizeof *round_res);
    if (!res || !round_res) {
        fprintf(stderr, "lstmcl-bench: out of memory\n");
        return 1;
    }
    if (o.nprecs > 1 || o.precs[0] != LSTMCL_PRECISION_FP32) {
        char list[64] = "";
        for (size_t k = 0; k < o.nprecs; ++k)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? "," : "",
                     lstmcl_precision_name(o.precs[k]));
        add_note(&run, "--precision %s: every lstmcl row once per precision; dev_fp32 is its "
                       "deviation from the fp32 model's reference output",
                 list);
    }
    if (o.rounds > 1) {
        char note[160];
        snprintf(note, sizeof note,
                 "--rounds %zu: each device's algorithms ran in turn %zu times over; each "
                 "row is its round with the median time",
                 o.rounds, o.rounds);
        add_note(&run, "%s", note);
    }
    size_t nres = 0;
    int bad = 0;
    if (o.load > 0) {
        char why[128] = "";
        if (bench_load_start(o.load, o.load_limit_s, why, sizeof why)) {
            fprintf(stderr, "lstmcl-bench: --load: %s\n", why);
            return 1;
        }
    }
    if (o.load > 0 || o.threads > 1) {
        char note[160];
        snprintf(note, sizeof note,
                 "under load: %d busy processes, %zu lstmcl threads per timed row (--load, "
                 "--threads)",
                 o.load, o.threads);
        add_note(&run, "%s", note);
    }
    bench_print_header(stdout);
    fflush(stdout);
    for (size_t ci = 0; ci < nconfigs; ++ci) {
        const bench_config *c = &configs[ci];
        char label[128];
        bench_config_label(c, label, sizeof label);
        bench_weights w, w_rec;
        memset(&w_rec, 0, sizeof w_rec);
        size_t first = nres;
        if (bench_weights_make(c, o.seed + ci, &w)) {
            fprintf(stderr, "lstmcl-bench: %s: out of host memory\n", label);
            bad = 1;
            continue;
        }
        if (rec) {
            bench_config rc = *c;
            rc.I = 1;
            if (bench_weights_make(&rc, o.seed + ci, &w_rec))
                memset(&w_rec, 0, sizeof w_rec);
        }
        double tol = o.tol > 0.0 ? o.tol : auto_tolerance(c);
        outputs ref;
        memset(&ref, 0, sizeof ref);
        int have_ref = 0;
        if (ref_ctx) {
            char why[512] = "";
            if (!o.quiet)
                fprintf(stderr, "lstmcl-bench: [%zu/%zu] %s: reference\n", ci + 1, nconfigs, label);
            if (reference_outputs(ref_ctx, &w, LSTMCL_PRECISION_FP32, &ref, why, sizeof why) == 0) {
                have_ref = 1;
            } else {
                fprintf(stderr, "lstmcl-bench: %s: reference failed: %s\n", label, why);
                bad = 1;
            }
        }
        const outputs *check_ref = o.check && have_ref ? &ref : NULL;
        /* the reference of each reduced precision's own model (its rounded
         * weights), which its rows are checked against */
        outputs pref[BENCH_MAX_PRECISIONS];
        const outputs *prec_ref[BENCH_MAX_PRECISIONS];
        memset(pref, 0, sizeof pref);
        for (size_t pi = 0; pi < o.nprecs; ++pi) {
            prec_ref[pi] = check_ref;
            if (!check_ref || o.precs[pi] == LSTMCL_PRECISION_FP32)
                continue;
            char why[512] = "";
            if (!o.quiet)
                fprintf(stderr, "lstmcl-bench: [%zu/%zu] %s: reference, %s\n", ci + 1, nconfigs,
                        label, lstmcl_precision_name(o.precs[pi]));
            if (reference_outputs(ref_ctx, &w, o.precs[pi], &pref[pi], why, sizeof why) == 0) {
                prec_ref[pi] = &pref[pi];
            } else {
                fprintf(stderr, "lstmcl-bench: %s: %s reference failed: %s\n", label,
                        lstmcl_precision_name(o.precs[pi]), why);
                prec_ref[pi] = NULL;
                bad = 1;
            }
        }
        for (size_t di = 0; di < ndevs; ++di) {
            if (!o.quiet)
                fprintf(stderr, "lstmcl-bench: [%zu/%zu] %s: device %s (%s)\n", ci + 1, nconfigs,
                        label, devs[di].label, devs[di].info.name);
            /* --algo forces each algorithm in turn through the model's
             * options; without it the library's default applies. */
            /* each algorithm in every precision, side by side */
            size_t nal = devs[di].is_reference || !o.nalgos ? 1 : o.nalgos;
            size_t runs = nal * o.nprecs;
            /* --rounds: the algorithms in turn, K times over, each row
             * then the round with its median time */
            size_t rounds = devs[di].is_reference ? 1 : o.rounds;
            for (size_t rd = 0; rd < rounds; ++rd) {
                for (size_t k = 0; k < runs; ++k) {
                    size_t ai = k / o.nprecs, pi = k % o.nprecs;
                    lstmcl_model_options mopts;
                    lstmcl_model_options_init(&mopts);
                    mopts.precision = o.precs[pi];
                    if (o.nalgos && !devs[di].is_reference &&
                        lstmcl_algorithm_from_name(o.algos[ai], &mopts.algorithm) !=
                            LSTMCL_SUCCESS)
                        mopts.algorithm = LSTMCL_ALGO_UNSET; /* checked when parsed */
                    bench_result *r = &round_res[rd * runs + k];
                    run_on_device(&devs[di], &w, w_rec.data ? &w_rec : NULL, prec_ref[pi],
                                  check_ref, &o, o.target_ms,
                                  tol + lstmcl_precision_reference_allowance(o.precs[pi]), &mopts, r);
                    if (o.nalgos && !devs[di].is_reference && !r->algo[0])
                        snprintf(r->algo, sizeof r->algo, "%s", o.algos[ai]);
                }
            }
            for (size_t ai = 0; ai < runs; ++ai)
                res[nres++] = *bench_median_round(round_res, rounds, runs, ai);
        }
        size_t nlstmcl = nres - first;
        if (use_onednn) {
            if (!o.quiet)
                fprintf(stderr, "lstmcl-bench: [%zu/%zu] %s: oneDNN\n", ci + 1, nconfigs, label);
            bench_result *r = &res[nres++];
            init_result(r, c, "onednn-cpu");
            r->is_baseline = 1;
            bench_onednn_run(&w, check_ref ? ref.y : NULL, o.target_ms, tol, r);
        }
        if (py.enabled) {
            if (!o.quiet)
                fprintf(stderr, "lstmcl-bench: [%zu/%zu] %s: python baselines\n", ci + 1,
                        nconfigs, label);
            nres += bench_python_run(&py, &w, check_ref, want_int8, o.target_ms, tol, &res[nres],
                                     cap - nres);
        }
        /* ratios: baseline time / lstmcl time, > 1 when lstmcl is faster;
         * an int8 baseline is set beside the int8 rows only */
        for (size_t i = first; i < first + nlstmcl; ++i) {
            bench_result *r = &res[i];
            for (size_t b = first + nlstmcl; b < nres && r->nratios < BENCH_MAX_BASELINES; ++b) {
                if (res[b].precision != LSTMCL_PRECISION_FP32 && res[b].precision != r->precision)
                    continue;
                snprintf(r->ratio_name[r->nratios], sizeof r->ratio_name[0], "%s", res[b].device);
                r->ratio[r->nratios++] = r->ok && res[b].ok ? res[b].wall.median / r->wall.median
                                                            : NAN;
            }
        }
        /* the exit status judges lstmcl's rows; a baseline that cannot run a
         * configuration (onnxruntime has no projection) only says so */
        for (size_t i = first; i < nres; ++i) {
            bench_print_row(stdout, &res[i]);
            if (!res[i].is_baseline && !res[i].unsupported && (!res[i].ok || res[i].check == 0))
                bad = 1;
        }
        fflush(stdout);
        outputs_free(&ref);
        for (size_t pi = 0; pi < o.nprecs; ++pi)
            outputs_free(&pref[pi]);
        bench_weights_free(&w);
        bench_weights_free(&w_rec);
    }
    double wall_s = (bench_now_ms() - t_start) * 1e-3;
    if (!o.quiet)
        fprintf(stderr, "lstmcl-bench: done in %.1f s\n", wall_s);
    {
        char buf[64];
        snprintf(buf, sizeof buf, "%.1f", wall_s);
        add_note(&run, "run wall time %s s", buf);
    }
    note_load(&run, "end");

    if (o.json && bench_write_json(o.json, &run, devs, ndevs, res, nres)) {
        fprintf(stderr, "lstmcl-bench: cannot write %s: %s\n", o.json, strerror(errno));
        bad = 1;
    }
    if (o.csv && bench_write_csv(o.csv, &run, res, nres)) {
        fprintf(stderr, "lstmcl-bench: cannot write %s: %s\n", o.csv, strerror(errno));
        bad = 1;
    }
    free(res);
    free(round_res);
    for (size_t i = 0; i < ndevs; ++i)
        lstmcl_context_destroy(devs[i].ctx);
    lstmcl_context_destroy(ref_ctx);
    return bad ? 1 : 0;
}
