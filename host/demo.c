/* lstmcl-demo: runs a random LSTM on an OpenCL device, checks it against the
 * CPU reference and prints the device, the algorithm, the largest error and
 * the time per step. Exit status: 0 when the device matches the reference,
 * 1 when it does not (or the device fails), 2 for bad usage. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lstmcl.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lstmcl-demo [-H hidden] [-I input] [-N batch] [-T steps] [-L layers]\n"
            "                   [--bidirectional] [--proj P] [--device SPEC] [--repeat R]\n"
            "                   [--algo NAME] [--persist-groups G] [--spin-limit S]\n"
            "                   [--cache-dir DIR] [--kernel-dir DIR] [--expect-algo NAME]\n"
            "                   [--precision fp32|fp16|bf16|int8] [--lengths full|spread]\n"
            "Runs a random LSTM (default H=256 I=H N=1 T=100 L=1) on an OpenCL device\n"
            "(SPEC: index, name substring; default $LSTMCL_DEVICE, else the first GPU,\n"
            "else the first device), compares its output y and final states hn, cn with\n"
            "the CPU reference and prints the largest absolute error and the time per\n"
            "step (median of R timed runs after one warm-up run; default R=5; R=0 runs\n"
            "the warm-up only). The model options (lstmcl_model_options):\n"
            "  --precision NAME     fp32 (default), fp16, bf16, int8: how the weights are\n"
            "                       stored (the reference computes with the same weights)\n"
            "  --algo NAME          auto, gemm, fused, fused-rows, fused-cols, persistent,\n"
            "                       persistent-rows, persistent-cols\n"
            "  --persist-groups G   the persistent kernel's work-groups (1-4096)\n"
            "  --spin-limit S       polls before its device-wide barrier gives up (1-2^30)\n"
            "  --cache-dir DIR      program cache directory; \"off\": none\n"
            "  --kernel-dir DIR     read the kernel sources from DIR\n"
            "--lengths spread gives the N sequences lengths falling evenly from T down to\n"
            "ceil(T/5), longest first (lstmcl skips the work past each length); full, the\n"
            "default, T each.\n"
            "Unset options take their defaults from the environment (README.md).\n"
            "--expect-algo NAME fails the run unless lstmcl_model_algorithm reports NAME\n"
            "after the runs (e.g. fused-rows after a persistent kernel that gave up).\n"
            "Exit status: 0 the device matches the reference, 1 it does not or the\n"
            "device failed, 2 bad usage.\n");
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

/* An integer in min..max. */
static int parse_size(const char *opt, const char *v, size_t min, size_t max, size_t *out)
{
    char *end = NULL;
    unsigned long long x = v ? strtoull(v, &end, 10) : 0;
    if (!v || *v == '-' || !end || *end || end == v || x < min || x > max) {
        fprintf(stderr, "lstmcl-demo: %s needs an integer from %zu to %zu, got \"%s\"\n", opt,
                min, max, v ? v : "");
        return 0;
    }
    *out = (size_t)x;
    return 1;
}

static int parse_algo(const char *opt, const char *v, lstmcl_algorithm *out)
{
    if (v && lstmcl_algorithm_from_name(v, out) == LSTMCL_SUCCESS)
        return 1;
    fprintf(stderr, "lstmcl-demo: %s: %s\n", opt,
            v ? lstmcl_thread_last_error() : "needs an algorithm name");
    return 0;
}

/* Largest |a - b| over n values; *finite cleared when a holds a NaN or inf. */
static double max_diff(const float *a, const float *b, size_t n, int *finite)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!isfinite(a[i]))
            *finite = 0;
        if (e > m)
            m = e;
    }
    return m;
}

int main(int argc, char **argv)
{
    size_t H = 256, I = 0, N = 1, T = 100, L = 1, P = 0, R = 5;
    int bidir = 0, spread = 0;
    const char *spec = NULL, *expect = NULL;
    lstmcl_model_options opt;
    lstmcl_model_options_init(&opt);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--bidirectional")) {
            bidir = 1;
            continue;
        } else if (!strcmp(a, "-H"))
            ok = parse_size(a, v, 1, 1 << 24, &H);
        else if (!strcmp(a, "-I"))
            ok = parse_size(a, v, 1, 1 << 24, &I);
        else if (!strcmp(a, "-N"))
            ok = parse_size(a, v, 1, 1 << 24, &N);
        else if (!strcmp(a, "-T"))
            ok = parse_size(a, v, 1, 1 << 24, &T);
        else if (!strcmp(a, "-L"))
            ok = parse_size(a, v, 1, 1 << 24, &L);
        else if (!strcmp(a, "--proj"))
            ok = parse_size(a, v, 1, 1 << 24, &P);
        else if (!strcmp(a, "--repeat"))
            ok = parse_size(a, v, 0, 1000, &R);
        else if (!strcmp(a, "--algo"))
            ok = parse_algo(a, v, &opt.algorithm);
        else if (!strcmp(a, "--precision")) {
            ok = v && lstmcl_precision_from_name(v, &opt.precision) == LSTMCL_SUCCESS;
            if (!ok)
                fprintf(stderr, "lstmcl-demo: %s: %s\n", a,
                        v ? lstmcl_thread_last_error() : "needs a precision name");
        } else if (!strcmp(a, "--lengths")) {
            ok = v && (!strcmp(v, "full") || !strcmp(v, "spread"));
            if (ok)
                spread = !strcmp(v, "spread");
            else
                fprintf(stderr, "lstmcl-demo: %s: full or spread, got \"%s\"\n", a,
                        v ? v : "");
        } else if (!strcmp(a, "--persist-groups"))
            ok = parse_size(a, v, 1, 4096, &opt.persist_groups);
        else if (!strcmp(a, "--spin-limit"))
            ok = parse_size(a, v, 1, (size_t)1 << 30, &opt.persist_spin_limit);
        else if (!strcmp(a, "--device") || !strcmp(a, "--cache-dir") ||
                 !strcmp(a, "--kernel-dir") || !strcmp(a, "--expect-algo")) {
            if (!v) {
                fprintf(stderr, "lstmcl-demo: %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "--device"))
                spec = v;
            else if (!strcmp(a, "--cache-dir"))
                opt.cache_dir = v;
            else if (!strcmp(a, "--kernel-dir"))
                opt.kernel_dir = v;
            else
                expect = v;
        } else {
            fprintf(stderr, "lstmcl-demo: unknown option \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok)
            return 2;
        i++;
    }
    if (!I)
        I = H;

    lstmcl_context *ctx = NULL;
    if (lstmcl_context_create(spec, &ctx) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
        return 1;
    }
    lstmcl_device_info info;
    if (lstmcl_context_device_info(ctx, &info) == LSTMCL_SUCCESS)
        printf("device: %s (%s, driver %s, %u compute units)\n", info.name, info.platform,
               info.driver_version, (unsigned)info.compute_units);
    else
        printf("device: CPU reference\n");

    lstmcl_model_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.input_size = I;
    desc.hidden_size = H;
    desc.proj_size = P;
    desc.num_layers = L;
    desc.direction = bidir ? LSTMCL_BIDIRECTIONAL : LSTMCL_FORWARD;
    size_t D = bidir ? 2 : 1, Hout = P ? P : H;

    /* PyTorch-style initialisation: uniform in +-1/sqrt(H). */
    float scale = 1.0f / sqrtf((float)H);
    unsigned seed = 12345;
    lstmcl_layer_weights *lw = calloc(L, sizeof *lw);
    float **owned = calloc(L * 2 * 5, sizeof *owned);
    size_t n_owned = 0;
    int status = 1;
    lstmcl_model *model = NULL;
    float *x = NULL, *out = NULL;
    double *times = NULL;
    int32_t *lens = NULL;
    if (!lw || !owned)
        goto out;
    for (size_t l = 0; l < L; l++) {
        size_t in = l ? D * Hout : I;
        for (size_t d = 0; d < D; d++) {
            struct {
                lstmcl_tensor *t;
                size_t r, c;
            } parts[5] = {{&lw[l].input_weights[d], 4 * H, in},
                          {&lw[l].recurrent_weights[d], 4 * H, Hout},
                          {&lw[l].input_bias[d], 4 * H, 0},
                          {&lw[l].recurrent_bias[d], 4 * H, 0},
                          {&lw[l].projection[d], P, H}};
            for (int k = 0; k < 5; k++) {
                size_t cnt = parts[k].r * (parts[k].c ? parts[k].c : 1);
                if (!cnt)
                    continue;
                float *p = malloc(cnt * sizeof(float));
                if (!p)
                    goto out;
                owned[n_owned++] = p;
                for (size_t i = 0; i < cnt; i++) {
                    seed = seed * 1664525u + 1013904223u;
                    p[i] = scale * (2.0f * (float)(seed >> 8) / 16777216.0f - 1.0f);
                }
                parts[k].t->data = p;
                parts[k].t->ndim = parts[k].c ? 2 : 1;
                parts[k].t->dims[0] = parts[k].r;
                parts[k].t->dims[1] = parts[k].c;
            }
        }
    }
    if (lstmcl_model_create_with(ctx, &desc, LSTMCL_CONVENTION_PYTORCH, lw, &opt, &model) !=
        LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
        goto out;
    }
    printf("model: H=%zu I=%zu N=%zu T=%zu L=%zu%s%s\n", H, I, N, T, L,
           bidir ? " bidirectional" : "", P ? " projected" : "");
    const char *algo_before = lstmcl_model_algorithm(model, N);
    printf("algorithm: %s\n", algo_before);

    /* y, hn, cn of the device run, then the same of the reference run. */
    const size_t ny = T * N * D * Hout, nh = L * D * N * Hout, nc = L * D * N * H;
    const size_t nout = ny + nh + nc;
    x = malloc(T * N * I * sizeof(float));
    out = malloc(2 * nout * sizeof(float));
    times = malloc((R ? R : 1) * sizeof *times);
    lens = spread ? malloc(N * sizeof *lens) : NULL;
    if (!x || !out || !times || (spread && !lens))
        goto out;
    for (size_t n = 0; spread && n < N; n++)
        lens[n] = (int32_t)(N > 1 ? T - n * (T - (T + 4) / 5) / (N - 1) : T);
    for (size_t i = 0; i < T * N * I; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = 2.0f * (float)(seed >> 8) / 16777216.0f - 1.0f;
    }
    float *dev = out, *ref = out + nout;
    lstmcl_forward_args args = {T, N, 0, x, lens, NULL, NULL, dev, dev + ny, dev + ny + nh};
    double first = 0.0;
    for (size_t r = 0; r <= R; r++) {
        double t0 = now_s();
        if (lstmcl_forward(model, &args) != LSTMCL_SUCCESS) {
            fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
            goto out;
        }
        if (r > 0)
            times[r - 1] = now_s() - t0;
        else
            first = now_s() - t0;
    }
    const char *algo_after = lstmcl_model_algorithm(model, N);
    if (strcmp(algo_after, algo_before) != 0)
        printf("algorithm after the runs: %s (the persistent kernel gave up, or the "
               "automatic choice measured the fused step faster)\n",
               algo_after);
    args.y = ref;
    args.hn = ref + ny;
    args.cn = ref + ny + nh;
    if (lstmcl_forward_reference(model, &args) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
        goto out;
    }
    int finite = 1;
    double ey = max_diff(dev, ref, ny, &finite);
    double eh = max_diff(dev + ny, ref + ny, nh, &finite);
    double ec = max_diff(dev + ny + nh, ref + ny + nh, nc, &finite);
    double maxerr = fmax(ey, fmax(eh, ec));
    printf("largest |device - reference|: %.3g (y %.3g, hn %.3g, cn %.3g)\n", maxerr, ey, eh,
           ec);
    printf("first forward (warm-up): %.3f ms\n", first * 1e3);
    if (R) {
        qsort(times, R, sizeof times[0], cmp_double);
        double med = times[R / 2];
        printf("time per forward: %.3f ms (median of %zu), per step: %.1f us\n", med * 1e3, R,
               med * 1e6 / (double)T);
    }
    /* float32 sums of ~(I + H) terms, errors compounding slowly over steps;
     * with h stored in half or bfloat16, a value whose float sum lies near
     * a rounding boundary may round to the neighbouring value (a step of
     * 2^-11 or 2^-8 of |h| <= 1), and such a difference passes on. */
    double tol = 1e-6 * (double)(I + H) + 1e-5 + lstmcl_precision_reference_allowance(opt.precision);
    if (!finite || maxerr > tol) {
        printf("FAILED: %s exceeds the tolerance %.3g\n",
               finite ? "the error" : "a non-finite output", tol);
        goto out;
    }
    if (expect && strcmp(expect, algo_after) != 0) {
        printf("FAILED: the algorithm is %s, expected %s\n", algo_after, expect);
        goto out;
    }
    printf("OK (tolerance %.3g)\n", tol);
    status = 0;
out:
    lstmcl_model_destroy(model);
    lstmcl_context_destroy(ctx);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    free(owned);
    free(lw);
    free(x);
    free(out);
    free(times);
    free(lens);
    return status;
}
