/* Workload helpers: labels, FLOP and byte counts, random weights, statistics. */
#define _POSIX_C_SOURCE 200809L

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

size_t bench_hout(const bench_config *c) { return c->P > 0 ? c->P : c->H; }
size_t bench_dirs(const bench_config *c) { return c->bidirectional ? 2 : 1; }

static size_t layer_input(const bench_config *c, size_t l)
{
    return l == 0 ? c->I : bench_dirs(c) * bench_hout(c);
}

void bench_config_label(const bench_config *c, char *buf, size_t size)
{
    int n = snprintf(buf, size, "H%zu I%zu N%zu T%zu L%zu", c->H, c->I, c->N, c->T, c->L);
    if (n > 0 && (size_t)n < size && c->P > 0)
        n += snprintf(buf + n, size - (size_t)n, " P%zu", c->P);
    if (n > 0 && (size_t)n < size && c->bidirectional)
        n += snprintf(buf + n, size - (size_t)n, " bi");
    if (n > 0 && (size_t)n < size && c->spread)
        snprintf(buf + n, size - (size_t)n, " spread");
}

size_t bench_config_lengths(const bench_config *c, int32_t *lens)
{
    const size_t lo = (c->T + 4) / 5, span = c->T - lo;
    size_t sum = 0;
    for (size_t n = 0; n < c->N; ++n) {
        size_t len = c->spread && c->N > 1 ? c->T - n * span / (c->N - 1) : c->T;
        if (lens)
            lens[n] = (int32_t)len;
        sum += len;
    }
    return sum;
}

/* Counted over the steps computed: with spread lengths, their sum. */
double bench_flops(const bench_config *c)
{
    double H = (double)c->H, Ho = (double)bench_hout(c), P = (double)c->P;
    double NT = (double)bench_config_lengths(c, NULL), sum = 0.0;
    for (size_t l = 0; l < c->L; ++l) {
        double per_dir = 8.0 * H * ((double)layer_input(c, l) + Ho) * NT + 2.0 * P * H * NT;
        sum += per_dir * (double)bench_dirs(c);
    }
    return sum;
}

double bench_bytes(const bench_config *c, lstmcl_precision p)
{
    double H = (double)c->H, Ho = (double)bench_hout(c), P = (double)c->P;
    double T = (double)c->T, N = (double)c->N, sum = 0.0;
    double wb = p == LSTMCL_PRECISION_INT8 ? 1.0
                : p == LSTMCL_PRECISION_FP16 || p == LSTMCL_PRECISION_BF16 ? 2.0
                                                                           : 4.0;
    /* int8: one float scale per weight row */
    double sb = p == LSTMCL_PRECISION_INT8 ? 4.0 : 0.0;
    for (size_t l = 0; l < c->L; ++l) {
        double Iin = (double)layer_input(c, l);
        /* recurrent (+ projection) weights every step, input weights once,
         * the layer's input read and its output written once (float) */
        double per_dir = T * (wb * (4.0 * H * Ho + P * H) + sb * (4.0 * H + P)) +
                         4.0 * H * (wb * Iin + sb) + 4.0 * T * N * (Iin + Ho);
        sum += per_dir * (double)bench_dirs(c);
    }
    return sum;
}

lstmcl_model_desc bench_model_desc(const bench_config *c)
{
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = c->I;
    d.hidden_size = c->H;
    d.proj_size = c->P;
    d.num_layers = c->L;
    d.direction = c->bidirectional ? LSTMCL_BIDIRECTIONAL : LSTMCL_FORWARD;
    return d;
}

/* splitmix64: a small, well-mixed generator so that runs are reproducible
 * from the seed alone. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float uniform(uint64_t *s, float bound)
{
    double u = (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    return (float)((2.0 * u - 1.0) * bound);
}

static lstmcl_tensor take(float **cursor, size_t ndim, size_t d0, size_t d1)
{
    lstmcl_tensor t;
    memset(&t, 0, sizeof t);
    t.data = *cursor;
    t.ndim = ndim;
    t.dims[0] = d0;
    t.dims[1] = d1;
    *cursor += ndim == 1 ? d0 : d0 * d1;
    return t;
}

int bench_weights_make(const bench_config *c, uint64_t seed, bench_weights *w)
{
    memset(w, 0, sizeof *w);
    w->cfg = *c;
    size_t H = c->H, Ho = bench_hout(c), D = bench_dirs(c), count = 0;
    for (size_t l = 0; l < c->L; ++l)
        count += D * (4 * H * layer_input(c, l) + 4 * H * Ho + 8 * H + c->P * H);
    size_t nx = c->T * c->N * c->I;
    w->data = malloc((count + nx) * sizeof(float));
    w->layers = calloc(c->L, sizeof *w->layers);
    if (c->spread) {
        w->lens = malloc(c->N * sizeof *w->lens);
        if (w->lens)
            bench_config_lengths(c, w->lens);
    }
    if (!w->data || !w->layers || (c->spread && !w->lens)) {
        bench_weights_free(w);
        return -1;
    }
    w->count = count;
    uint64_t s = seed;
    float bound = (float)(1.0 / sqrt((double)H));
    for (size_t i = 0; i < count; ++i)
        w->data[i] = uniform(&s, bound);
    w->x = w->data + count;
    for (size_t i = 0; i < nx; ++i)
        w->x[i] = uniform(&s, 1.0f);

    float *cur = w->data;
    for (size_t l = 0; l < c->L; ++l) {
        lstmcl_layer_weights *lw = &w->layers[l];
        for (size_t d = 0; d < D; ++d) {
            lw->input_weights[d] = take(&cur, 2, 4 * H, layer_input(c, l));
            lw->recurrent_weights[d] = take(&cur, 2, 4 * H, Ho);
            lw->input_bias[d] = take(&cur, 1, 4 * H, 0);
            lw->recurrent_bias[d] = take(&cur, 1, 4 * H, 0);
            if (c->P > 0)
                lw->projection[d] = take(&cur, 2, c->P, H);
        }
    }
    return 0;
}

void bench_weights_free(bench_weights *w)
{
    free(w->data);
    free(w->layers);
    free(w->lens);
    memset(w, 0, sizeof *w);
}

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bench_stats bench_stats_of(double *v, size_t n)
{
    bench_stats s = {NAN, NAN, NAN, n};
    if (n == 0)
        return s;
    qsort(v, n, sizeof *v, cmp_double);
    s.min = v[0];
    s.max = v[n - 1];
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return s;
}

size_t bench_calibrate(double estimate_ms, double target_ms, size_t max_reps)
{
    if (!(estimate_ms > 0.0))
        return max_reps;
    double r = ceil(target_ms / estimate_ms);
    /* three runs at least, for a median worth the name, unless one run is
     * slow enough that the suite would drag */
    double floor_reps = estimate_ms < BENCH_SLOW_MS ? 3.0 : 1.0;
    if (r < floor_reps)
        r = floor_reps;
    if (r > (double)max_reps)
        r = (double)max_reps;
    return (size_t)r;
}

double bench_max_rel_err(const float *got, const float *ref, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; ++i) {
        double g = got[i], r = ref[i];
        if (!isfinite(g))
            return INFINITY;
        double scale = fabs(r) > 1.0 ? fabs(r) : 1.0;
        double e = fabs(g - r) / scale;
        if (e > worst)
            worst = e;
    }
    return worst;
}

double bench_tensor_dev(const float *got, const float *ref, size_t n)
{
    if (n == 0)
        return NAN;
    double diff = 0.0, scale = 1.0;
    for (size_t i = 0; i < n; ++i) {
        double g = got[i], r = ref[i];
        if (!isfinite(g))
            return INFINITY;
        if (fabs(g - r) > diff)
            diff = fabs(g - r);
        if (fabs(r) > scale)
            scale = fabs(r);
    }
    return diff / scale;
}

double bench_precision_bound(lstmcl_precision p)
{
    /* include/lstmcl.h, the accuracy contract against the fp32 model */
    switch (p) {
    case LSTMCL_PRECISION_FP16:
        return 1e-2;
    case LSTMCL_PRECISION_BF16:
        return 3e-2;
    case LSTMCL_PRECISION_INT8:
        return 5e-2;
    default:
        return 0.0;
    }
}

