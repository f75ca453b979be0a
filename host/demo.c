/* lstmcl-demo: runs a random LSTM on an OpenCL device, checks it against the
 * CPU reference and prints the device, the largest error and the time per
 * step. */
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
            "Runs a random LSTM (default H=256 I=256 N=1 T=100 L=1) on an OpenCL device\n"
            "(SPEC: index, name substring; default $LSTMCL_DEVICE, else the first GPU,\n"
            "else the first device), compares it with the CPU reference and prints the\n"
            "largest absolute error and the time per step (median of R timed runs after\n"
            "one warm-up run; default R=5).\n");
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

static int parse_size(const char *opt, const char *v, size_t *out)
{
    char *end = NULL;
    unsigned long long x = v ? strtoull(v, &end, 10) : 0;
    if (!v || *v == '-' || !end || *end || x == 0 || x > (1ULL << 24)) {
        fprintf(stderr, "lstmcl-demo: %s needs a positive integer, got \"%s\"\n", opt,
                v ? v : "");
        return 0;
    }
    *out = (size_t)x;
    return 1;
}

int main(int argc, char **argv)
{
    size_t H = 256, I = 0, N = 1, T = 100, L = 1, P = 0, R = 5;
    int bidir = 0;
    const char *spec = NULL;
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
            ok = parse_size(a, v, &H);
        else if (!strcmp(a, "-I"))
            ok = parse_size(a, v, &I);
        else if (!strcmp(a, "-N"))
            ok = parse_size(a, v, &N);
        else if (!strcmp(a, "-T"))
            ok = parse_size(a, v, &T);
        else if (!strcmp(a, "-L"))
            ok = parse_size(a, v, &L);
        else if (!strcmp(a, "--proj"))
            ok = parse_size(a, v, &P);
        else if (!strcmp(a, "--repeat"))
            ok = parse_size(a, v, &R);
        else if (!strcmp(a, "--device")) {
            if (!v) {
                fprintf(stderr, "lstmcl-demo: --device needs a value\n");
                return 2;
            }
            spec = v;
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
    if (R > 1000)
        R = 1000;

    lstmcl_context *ctx = NULL;
    if (lstmcl_context_create(spec, &ctx) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
        return 1;
    }
    lstmcl_device_info info;
    if (lstmcl_context_device_info(ctx, &info) == LSTMCL_SUCCESS)
        printf("device: %s (%s, driver %s)\n", info.name, info.platform, info.driver_version);
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
    float *x = NULL, *y = NULL, *yref = NULL;
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
    if (lstmcl_model_create(ctx, &desc, LSTMCL_CONVENTION_PYTORCH, lw, &model) !=
        LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
        goto out;
    }
    size_t ny = T * N * D * Hout;
    x = malloc(T * N * I * sizeof(float));
    y = malloc(ny * sizeof(float));
    yref = malloc(ny * sizeof(float));
    if (!x || !y || !yref)
        goto out;
    for (size_t i = 0; i < T * N * I; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = 2.0f * (float)(seed >> 8) / 16777216.0f - 1.0f;
    }
    lstmcl_forward_args args = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
    double times[1000];
    for (size_t r = 0; r <= R; r++) {
        double t0 = now_s();
        if (lstmcl_forward(model, &args) != LSTMCL_SUCCESS) {
            fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
            goto out;
        }
        if (r > 0)
            times[r - 1] = now_s() - t0;
    }
    qsort(times, R, sizeof times[0], cmp_double);
    args.y = yref;
    if (lstmcl_forward_reference(model, &args) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-demo: %s\n", lstmcl_thread_last_error());
        goto out;
    }
    double maxerr = 0.0;
    int finite = 1;
    for (size_t i = 0; i < ny; i++) {
        double e = fabs((double)y[i] - (double)yref[i]);
        if (!isfinite(y[i]))
            finite = 0;
        if (e > maxerr)
            maxerr = e;
    }
    double med = times[R / 2];
    printf("model: H=%zu I=%zu N=%zu T=%zu L=%zu%s%s\n", H, I, N, T, L,
           bidir ? " bidirectional" : "", P ? " projected" : "");
    printf("largest |device - reference|: %.3g\n", maxerr);
    printf("time per forward: %.3f ms (median of %zu), per step: %.1f us\n", med * 1e3, R,
           med * 1e6 / (double)T);
    /* float32 sums of ~(I + H) terms, errors compounding slowly over steps. */
    double tol = 1e-6 * (double)(I + H) + 1e-5;
    if (!finite || maxerr > tol) {
        printf("FAILED: the error exceeds the tolerance %.3g\n", tol);
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
    free(y);
    free(yref);
    return status;
}
