/* lstmcl-tune: measures every algorithm on a device over a grid of hidden
 * sizes and batches, per weight precision, and records the fastest in the
 * tuning file that later runs read (see lstmcl_model_algorithm; the format
 * is described in host/tuning.c). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lstmcl.h"

static const char *algos[] = {"gemm", "fused-rows", "fused-cols", "persistent"};
#define NALGO 4
/* gemm (CLBlast's SGEMM) runs fp32 weights only */
#define ALGO_FP32_ONLY(k) ((k) == 0)

enum { MAX_PRECS = 4 };

/* The tuning file's header: format 2 records each entry's precision. */
static const char header[] = "lstmcl-tuning 2\n";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lstmcl-tune [--device SPEC] [--hidden H,H,...] [--batch N,N,...]\n"
            "                   [--precision P,P,...|all] [--steps T] [--repeat R]\n"
            "                   [--output FILE] [--dry-run]\n"
            "Times each algorithm (gemm, fused-rows, fused-cols, persistent; gemm in fp32\n"
            "only) for every hidden size, batch and weight precision (defaults: --hidden\n"
            "256,512,1024 --batch 1,4,16,64 --precision fp32 --steps 25 --repeat 5; the\n"
            "median of R runs after one warm-up run; precisions fp32, fp16, bf16, int8,\n"
            "all = the four) on one device and writes the fastest per (hidden, batch,\n"
            "precision) to the tuning file: FILE, else $LSTMCL_TUNING_FILE, else\n"
            "tuning.txt in the program cache directory ($LSTMCL_CACHE_DIR,\n"
            "$XDG_CACHE_HOME/lstmcl or ~/.cache/lstmcl). Entries of other devices, and\n"
            "this device's entries of precisions not measured now, are kept. Later runs\n"
            "on this device and driver choose by it, a model by the entries of its own\n"
            "precision. --dry-run measures and prints without writing.\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Parses "a,b,c" into at most 16 positive sizes. */
static int parse_list(const char *opt, const char *s, size_t *out, size_t *n)
{
    *n = 0;
    while (s && *s) {
        char *end = NULL;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || v == 0 || v > 65536 || *n == 16 || (*end && *end != ',')) {
            fprintf(stderr, "lstmcl-tune: %s: expected a comma-separated list of sizes\n", opt);
            return 0;
        }
        out[(*n)++] = (size_t)v;
        s = *end ? end + 1 : end;
    }
    if (*n == 0)
        fprintf(stderr, "lstmcl-tune: %s needs a value\n", opt);
    return *n > 0;
}

/* Parses "fp32,int8" or "all" into at most MAX_PRECS precisions. */
static int parse_precisions(const char *s, lstmcl_precision *out, size_t *n)
{
    static const lstmcl_precision every[MAX_PRECS] = {
        LSTMCL_PRECISION_FP32, LSTMCL_PRECISION_FP16, LSTMCL_PRECISION_BF16,
        LSTMCL_PRECISION_INT8};
    *n = 0;
    if (s && !strcmp(s, "all")) {
        memcpy(out, every, sizeof every);
        *n = MAX_PRECS;
        return 1;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s ? s : "");
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        lstmcl_precision p;
        if (lstmcl_precision_from_name(tok, &p) != LSTMCL_SUCCESS) {
            fprintf(stderr, "lstmcl-tune: --precision: %s (or all)\n", lstmcl_thread_last_error());
            return 0;
        }
        for (size_t k = 0; k < *n; k++)
            if (out[k] == p) {
                fprintf(stderr, "lstmcl-tune: --precision: %s given twice\n", tok);
                return 0;
            }
        out[(*n)++] = p; /* at most the table's four, each once */
    }
    if (*n == 0)
        fprintf(stderr, "lstmcl-tune: --precision needs a value\n");
    return *n > 0;
}

/* Whether a tuning-file line is this device's and driver's entry of one of
 * the precisions measured now (five fields: fp32), which the new
 * measurements replace. Lines it cannot read are kept as they are. */
static int replaced(const char *line, const char *prefix, const lstmcl_precision *precs,
                    size_t nprec)
{
    size_t plen = strlen(prefix);
    if (strncmp(line, prefix, plen) != 0)
        return 0;
    /* after the prefix: hidden, batch, algorithm [, precision] */
    char rest[600];
    snprintf(rest, sizeof rest, "%s", line + plen);
    rest[strcspn(rest, "\n")] = '\0';
    char *fields[4];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(rest, "\t", &save); tok;
         tok = strtok_r(NULL, "\t", &save))
        if (n < 4)
            fields[n++] = tok;
        else
            return 0;
    lstmcl_precision p = LSTMCL_PRECISION_FP32;
    if (n < 3 || (n == 4 && lstmcl_precision_from_name(fields[3], &p) != LSTMCL_SUCCESS))
        return 0;
    for (size_t k = 0; k < nprec; k++)
        if (precs[k] == p)
            return 1;
    return 0;
}

/* Median forward time (seconds) of a random model forced to `algo` with
 * weights stored in `prec`; a negative value when the algorithm cannot
 * run (its reason on stderr). */
static double measure(lstmcl_context *ctx, const char *algo, lstmcl_precision prec, size_t H,
                      size_t N, size_t T, size_t R)
{
    /* The algorithm forced, and no older tuning file consulted. */
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.tuning_file = "";
    opts.precision = prec;
    if (lstmcl_algorithm_from_name(algo, &opts.algorithm) != LSTMCL_SUCCESS) {
        fprintf(stderr, "  %s\n", lstmcl_thread_last_error());
        return -1.0;
    }
    lstmcl_model_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.input_size = H;
    desc.hidden_size = H;
    desc.num_layers = 1;
    size_t nw = 4 * H * H;
    float *w = malloc(nw * sizeof(float)), *b = calloc(4 * H, sizeof(float));
    float *x = malloc(T * N * H * sizeof(float)), *y = malloc(T * N * H * sizeof(float));
    double result = -1.0;
    lstmcl_model *m = NULL;
    if (!w || !b || !x || !y)
        goto out;
    unsigned seed = 7;
    for (size_t i = 0; i < nw; i++) {
        seed = seed * 1664525u + 1013904223u;
        w[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) / sqrtf((float)H);
    }
    for (size_t i = 0; i < T * N * H; i++)
        x[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    lstmcl_layer_weights lw;
    memset(&lw, 0, sizeof lw);
    lw.input_weights[0] = (lstmcl_tensor){w, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    lw.recurrent_weights[0] = (lstmcl_tensor){w, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    lw.input_bias[0] = (lstmcl_tensor){b, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    lw.recurrent_bias[0] = (lstmcl_tensor){b, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    if (lstmcl_model_create_with(ctx, &desc, LSTMCL_CONVENTION_PYTORCH, &lw, &opts, &m) !=
        LSTMCL_SUCCESS) {
        fprintf(stderr, "  %s: %s\n", algo, lstmcl_thread_last_error());
        goto out;
    }
    lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
    double times[64];
    for (size_t r = 0; r <= R; r++) {
        double t0 = now_s();
        if (lstmcl_forward(m, &a) != LSTMCL_SUCCESS) {
            fprintf(stderr, "  %s: %s\n", algo, lstmcl_thread_last_error());
            goto out;
        }
        if (r)
            times[r - 1] = now_s() - t0;
    }
    qsort(times, R, sizeof times[0], cmp_double);
    result = times[R / 2];
out:
    lstmcl_model_destroy(m);
    free(w);
    free(b);
    free(x);
    free(y);
    return result;
}

int main(int argc, char **argv)
{
    size_t hs[16] = {256, 512, 1024}, ns[16] = {1, 4, 16, 64}, nh = 3, nn = 4, T = 25, R = 5;
    lstmcl_precision precs[MAX_PRECS] = {LSTMCL_PRECISION_FP32};
    size_t np = 1;
    const char *spec = NULL, *output = NULL;
    int dry = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t one[16], n1 = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
            continue;
        } else if (!strcmp(a, "--device") && v) {
            spec = v;
        } else if (!strcmp(a, "--output") && v) {
            output = v;
        } else if (!strcmp(a, "--hidden")) {
            if (!parse_list(a, v, hs, &nh))
                return 2;
        } else if (!strcmp(a, "--batch")) {
            if (!parse_list(a, v, ns, &nn))
                return 2;
        } else if (!strcmp(a, "--precision")) {
            if (!parse_precisions(v, precs, &np))
                return 2;
        } else if (!strcmp(a, "--steps") || !strcmp(a, "--repeat")) {
            if (!parse_list(a, v, one, &n1) || n1 != 1 || (a[2] == 'r' && one[0] > 64)) {
                fprintf(stderr, "lstmcl-tune: %s needs one size%s\n", a,
                        a[2] == 'r' ? " up to 64" : "");
                return 2;
            }
            if (a[2] == 's')
                T = one[0];
            else
                R = one[0];
        } else {
            fprintf(stderr, "lstmcl-tune: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    char path[4200];
    if (!dry && !(output ? snprintf(path, sizeof path, "%s", output) < (int)sizeof path
                         : lstmcl_tuning_file(path, sizeof path) == LSTMCL_SUCCESS)) {
        fprintf(stderr, "lstmcl-tune: no tuning file location (set --output or "
                        "LSTMCL_TUNING_FILE)\n");
        return 2;
    }
    lstmcl_context *ctx = NULL;
    if (lstmcl_context_create(spec, &ctx) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-tune: %s\n", lstmcl_thread_last_error());
        return 1;
    }
    lstmcl_device_info info;
    if (lstmcl_context_device_info(ctx, &info) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-tune: tuning needs an OpenCL device, not the CPU reference\n");
        lstmcl_context_destroy(ctx);
        return 2;
    }
    printf("device: %s (driver %s)\n", info.name, info.driver_version);
    printf("%8s %6s %5s %12s %12s %12s %12s  %s\n", "hidden", "batch", "prec", "gemm ms",
           "fused-rows ms", "fused-cols ms", "persistent ms", "fastest");
    char (*lines)[600] = calloc(nh * nn * np, sizeof *lines);
    size_t nlines = 0;
    if (!lines) {
        lstmcl_context_destroy(ctx);
        return 1;
    }
    size_t npoints = nh * nn * np, point = 0;
    for (size_t ih = 0; ih < nh; ih++)
        for (size_t in = 0; in < nn; in++)
            for (size_t ip = 0; ip < np; ip++) {
                const char *pname = lstmcl_precision_name(precs[ip]);
                double t[NALGO];
                int best = -1;
                ++point;
                for (int k = 0; k < NALGO; k++) {
                    t[k] = -2.0; /* not run */
                    if (ALGO_FP32_ONLY(k) && precs[ip] != LSTMCL_PRECISION_FP32)
                        continue;
                    fprintf(stderr, "\r[%zu/%zu] H=%zu N=%zu %s %-10s", point, npoints, hs[ih],
                            ns[in], pname, algos[k]);
                    t[k] = measure(ctx, algos[k], precs[ip], hs[ih], ns[in], T, R);
                    if (t[k] >= 0 && (best < 0 || t[k] < t[best]))
                        best = k;
                }
                fprintf(stderr, "\r%50s\r", "");
                printf("%8zu %6zu %5s", hs[ih], ns[in], pname);
                for (int k = 0; k < NALGO; k++)
                    if (t[k] >= 0)
                        printf(" %12.3f", t[k] * 1e3);
                    else
                        printf(" %12s", t[k] < -1.0 ? "-" : "failed");
                printf("  %s\n", best >= 0 ? algos[best] : "-");
                if (best >= 0)
                    snprintf(lines[nlines++], sizeof lines[0], "%s\t%s\t%zu\t%zu\t%s\t%s\n",
                             info.name, info.driver_version, hs[ih], ns[in], algos[best], pname);
            }
    lstmcl_context_destroy(ctx);
    int status = 0;
    if (!dry) {
        /* Keep other devices' entries, and this device's of the
         * precisions not measured now; replace the rest; write to a
         * temporary file and rename it over the old one. */
        char tmp[4300], prefix[600], line[1024];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        snprintf(prefix, sizeof prefix, "%s\t%s\t", info.name, info.driver_version);
        struct stat sb;
        /* The rename below would replace whatever is there: only ever a
         * regular file (and reading a FIFO would wait forever). */
        if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
            fprintf(stderr, "lstmcl-tune: %s: not a regular file; not replaced\n", path);
            free(lines);
            return 1;
        }
        FILE *out = fopen(tmp, "w");
        if (!out) {
            fprintf(stderr, "lstmcl-tune: %s: cannot write (does its directory exist?)\n", tmp);
            free(lines);
            return 1;
        }
        int ok = fputs(header, out) >= 0;
        FILE *old = fopen(path, "r");
        if (old) {
            /* format 1's entries are format 2's without a precision (fp32) */
            if (fgets(line, sizeof line, old) &&
                (!strcmp(line, "lstmcl-tuning 1\n") || !strcmp(line, header)))
                while (fgets(line, sizeof line, old))
                    if (!replaced(line, prefix, precs, np))
                        ok = ok && fputs(line, out) >= 0;
            fclose(old);
        }
        for (size_t i = 0; i < nlines; i++)
            ok = ok && fputs(lines[i], out) >= 0;
        ok = (fclose(out) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            fprintf(stderr, "lstmcl-tune: %s: cannot write the tuning file\n", path);
            remove(tmp);
            status = 1;
        } else {
            printf("wrote %zu entries to %s\n", nlines, path);
        }
    }
    free(lines);
    return status;
}
