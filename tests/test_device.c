/* The device path against the CPU reference over a seeded matrix of every
 * model feature and their combinations, odd sizes, T = 1, N = 1, a long
 * sequence and saturating inputs. Skips when no OpenCL device exists.
 * A failure prints its seed and configuration; LSTMCL_TEST_SEED reruns the
 * random part from another seed. `test_device NAME...` runs only the tests
 * named: the fast tier (./build.sh test) runs test_covering once per
 * algorithm, the full tier everything. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

typedef struct tcase {
    size_t I, H, P, L, T, N;
    lstmcl_direction dir;
    /* lens: 0 none, 1 random (the first sequence T steps), 2 from T down to
     * 1, longest first (the order in which the device skips most work) */
    int no_bias, peephole, input_forget, has_clip, clip_cell, batch_first, h0c0, lens;
    float clip;
    lstmcl_activation act[2][3];
    float x_scale, w_scale; /* inputs and weights uniform in +-scale */
} tcase;

static lstmcl_context *g_ctx, *g_ref;
/* The models' precision: $LSTMCL_TEST_PRECISION (fp32 when unset). The
 * reference then computes with the same stored weights and rounds h as
 * the device does (lstmcl_forward_reference). */
static lstmcl_precision g_prec = LSTMCL_PRECISION_FP32;

static int group_setup(void **state)
{
    (void)state;
    const char *p = getenv("LSTMCL_TEST_PRECISION");
    if (p && *p && lstmcl_precision_from_name(p, &g_prec) != LSTMCL_SUCCESS) {
        fprintf(stderr, "LSTMCL_TEST_PRECISION: %s\n", lstmcl_thread_last_error());
        return -1;
    }
    if (g_prec != LSTMCL_PRECISION_FP32)
        fprintf(stderr, "precision: %s\n", lstmcl_precision_name(g_prec));
    g_ctx = tu_open_device();
    return lstmcl_context_create("cpu", &g_ref) == LSTMCL_SUCCESS ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    lstmcl_context_destroy(g_ctx);
    lstmcl_context_destroy(g_ref);
    return 0;
}

/* Multiplies every value by (1 + u), |u| <= 2^-23: a float32-sized nudge. */
static void perturb(tu_rng *r, float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] *= 1.0f + tu_uniform(r, -1.0f, 1.0f) * 1.1920929e-7f;
}

/* Largest difference between two runs of the reference. */
static double spread(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m)
            m = d;
    }
    return m;
}

static void describe(const tcase *c, uint64_t seed, char *buf, size_t cap)
{
    static const char *dn[] = {"forward", "reverse", "bidirectional"};
    int n = snprintf(buf, cap,
                     "seed=%llu I=%zu H=%zu P=%zu L=%zu T=%zu N=%zu %s%s%s%s%s%s%s%s x=+-%g "
                     "w=+-%g act:",
                     (unsigned long long)seed, c->I, c->H, c->P, c->L, c->T, c->N, dn[c->dir],
                     c->no_bias ? " no_bias" : "", c->peephole ? " peephole" : "",
                     c->input_forget ? " input_forget" : "", c->has_clip ? (c->clip_cell ? " clip+cell" : " clip") : "",
                     c->batch_first ? " batch_first" : "", c->h0c0 ? " h0c0" : "",
                     c->lens == 2 ? " lens(longest first)" : c->lens ? " lens" : "",
                     (double)c->x_scale, (double)c->w_scale);
    for (int d = 0; d < 2 && n > 0 && (size_t)n < cap; d++)
        for (int s = 0; s < 3 && (size_t)n < cap; s++) {
            const char *name = lstmcl_activation_name(c->act[d][s].kind);
            n += snprintf(buf + n, cap - (size_t)n, " %s(%g,%g)", name ? name : "?",
                          (double)c->act[d][s].alpha, (double)c->act[d][s].beta);
        }
}

/* Allocates a tensor of `count` random values, recorded in `pool`. */
static size_t pool_n[64 * 12]; /* value count of each pool entry */

static float *rand_tensor(tu_rng *r, lstmcl_tensor *t, size_t d0, size_t d1, float scale,
                          float **pool, size_t *npool)
{
    size_t count = d0 * (d1 ? d1 : 1);
    float *p = malloc(count * sizeof(float));
    assert_non_null(p);
    tu_fill(r, p, count, -scale, scale);
    pool_n[*npool] = count;
    pool[(*npool)++] = p;
    t->data = p;
    t->ndim = d1 ? 2 : 1;
    t->dims[0] = d0;
    t->dims[1] = d1;
    return p;
}

/* Compares got with ref: |got - ref| <= tol * (1 + |ref|) + 8 * sens, where
 * sens is how far the reference itself moves when its inputs and weights
 * move by one float32 rounding (large only for ill-conditioned cases:
 * gates above 1, unbounded activations fed by saturated sums). */
static int compare(const char *what, const float *got, const float *ref, size_t n, double tol,
                   double sens, const char *desc)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        double lim = tol * (1.0 + fabs((double)ref[i])) + 8.0 * sens;
        if (!isfinite(got[i]) || !isfinite(ref[i]) || d > lim) {
            fprintf(stderr,
                    "MISMATCH %s[%zu]: device %.9g reference %.9g (limit %.3g = tol %.3g, "
                    "sensitivity %.3g)\n  %s\n",
                    what, i, (double)got[i], (double)ref[i], lim, tol, sens, desc);
            return 0;
        }
    }
    return 1;
}

/* The model of desc and lw with options o, on the reference context, run
 * on a's inputs into y, hn and cn. */
static void reference_run(const lstmcl_model_desc *desc, const lstmcl_layer_weights *lw,
                          const lstmcl_model_options *o, lstmcl_forward_args *a, float *y,
                          float *hn, float *cn)
{
    lstmcl_model *m = NULL;
    assert_int_equal(lstmcl_model_create_with(g_ref, desc, LSTMCL_CONVENTION_PYTORCH, lw, o, &m),
                     LSTMCL_SUCCESS);
    a->y = y;
    a->hn = hn;
    a->cn = cn;
    assert_int_equal(lstmcl_forward(m, a), LSTMCL_SUCCESS);
    lstmcl_model_destroy(m);
}

/* Row n's `width` floats of a (rows, N, width) array, or of (N, rows,
 * width) with batch_first, gathered from src's row perm[n] into dst. */
static void permute_rows(float *dst, const float *src, const size_t *perm, size_t rows, size_t N,
                         size_t width, int batch_first)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t n = 0; n < N; n++) {
            size_t to = batch_first ? n * rows + i : i * N + n;
            size_t from = batch_first ? perm[n] * rows + i : i * N + perm[n];
            memcpy(dst + to * width, src + from * width, width * sizeof(float));
        }
}

/* The batch of a (lengths longest first, results in a->y/hn/cn) again in
 * the opposite order, where the device skips less: each sequence's results
 * must be the same, bit for bit when the same algorithm ran both passes
 * (each sum is formed in the same order), else within float32 order. */
static void check_order(lstmcl_model *m, const tcase *c, const lstmcl_forward_args *a,
                        const char *desc_text)
{
    const size_t T = c->T, N = c->N, D = c->dir == LSTMCL_BIDIRECTIONAL ? 2 : 1;
    const size_t Hout = c->P ? c->P : c->H, LD = c->L * D;
    const size_t nx = T * N * c->I, ny = T * N * D * Hout, nh = LD * N * Hout, nc = LD * N * c->H;
    const char *first = lstmcl_model_algorithm(m, N);
    char ran[32];
    snprintf(ran, sizeof ran, "%s", first ? first : "?");
    size_t *perm = malloc(N * sizeof *perm);
    int32_t *lens = malloc(N * sizeof *lens);
    float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float));
    float *h0 = malloc(nh * sizeof(float)), *c0 = malloc(nc * sizeof(float));
    float *hn = malloc(nh * sizeof(float)), *cn = malloc(nc * sizeof(float));
    float *back = malloc((ny > nc ? (ny > nh ? ny : nh) : (nc > nh ? nc : nh)) * sizeof(float));
    assert_true(perm && lens && x && y && h0 && c0 && hn && cn && back);
    for (size_t n = 0; n < N; n++) {
        perm[n] = N - 1 - n;
        lens[n] = a->seq_lens[perm[n]];
    }
    permute_rows(x, a->x, perm, T, N, c->I, c->batch_first);
    if (a->h0) {
        permute_rows(h0, a->h0, perm, LD, N, Hout, 0);
        permute_rows(c0, a->c0, perm, LD, N, c->H, 0);
    }
    lstmcl_forward_args b = {T, N, c->batch_first, x, lens, a->h0 ? h0 : NULL,
                             a->h0 ? c0 : NULL, y, hn, cn};
    assert_int_equal(lstmcl_forward(m, &b), LSTMCL_SUCCESS);
    const char *second = lstmcl_model_algorithm(m, N);
    const int exact = second && strcmp(ran, second) == 0;
    const double tol = 3e-7 * (double)(D * Hout + c->I + Hout + c->H + 4) *
                       (1.0 + 0.25 * sqrt((double)T)) +
                       lstmcl_precision_reference_allowance(g_prec);
    int ok = 1;
    const struct {
        const char *what;
        const float *got, *want;
        size_t rows, width, n;
        int bf;
    } outs[] = {{"y", y, a->y, T, D * Hout, ny, c->batch_first},
                {"hn", hn, a->hn, LD, Hout, nh, 0},
                {"cn", cn, a->cn, LD, c->H, nc, 0}};
    /* The permutation is its own inverse. */
    for (size_t o = 0; o < 3 && ok; o++) {
        permute_rows(back, outs[o].got, perm, outs[o].rows, N, outs[o].width, outs[o].bf);
        for (size_t i = 0; i < outs[o].n && ok; i++) {
            double d = fabs((double)back[i] - (double)outs[o].want[i]);
            const double lim = tol * (1.0 + fabs((double)outs[o].want[i]));
            if (exact ? back[i] != outs[o].want[i] : !(d <= lim)) {
                fprintf(stderr,
                        "ORDER %s[%zu]: %.9g in the reversed batch, %.9g longest first (%s, "
                        "%s then %s)\n  %s\n",
                        outs[o].what, i, (double)back[i], (double)outs[o].want[i],
                        exact ? "bit for bit" : "float32 order", ran, second ? second : "?",
                        desc_text);
                ok = 0;
            }
        }
    }
    free(perm);
    free(lens);
    free(x);
    free(y);
    free(h0);
    free(c0);
    free(hn);
    free(cn);
    free(back);
    assert_true(ok);
}

/* Runs case c with data from `seed` on the device and the reference. */
static void run_case(const tcase *c, uint64_t seed)
{
    tu_rng r = {seed};
    char desc_text[1024];
    describe(c, seed, desc_text, sizeof desc_text);
    size_t D = c->dir == LSTMCL_BIDIRECTIONAL ? 2 : 1, Hout = c->P ? c->P : c->H;
    lstmcl_model_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.input_size = c->I;
    desc.hidden_size = c->H;
    desc.proj_size = c->P;
    desc.num_layers = c->L;
    desc.direction = c->dir;
    desc.no_bias = c->no_bias;
    desc.peephole = c->peephole;
    desc.input_forget = c->input_forget;
    desc.has_clip = c->has_clip;
    desc.clip = c->clip;
    desc.clip_cell = c->clip_cell;
    memcpy(desc.activations, c->act, sizeof desc.activations);

    float *pool[64 * 12];
    size_t npool = 0;
    lstmcl_layer_weights lw[8];
    assert_true(c->L <= 8);
    memset(lw, 0, sizeof lw);
    for (size_t l = 0; l < c->L; l++) {
        size_t in = l ? D * Hout : c->I;
        for (size_t d = 0; d < D; d++) {
            rand_tensor(&r, &lw[l].input_weights[d], 4 * c->H, in, c->w_scale, pool, &npool);
            rand_tensor(&r, &lw[l].recurrent_weights[d], 4 * c->H, Hout, c->w_scale, pool,
                        &npool);
            if (!c->no_bias) {
                rand_tensor(&r, &lw[l].input_bias[d], 4 * c->H, 0, c->w_scale, pool, &npool);
                rand_tensor(&r, &lw[l].recurrent_bias[d], 4 * c->H, 0, c->w_scale, pool, &npool);
            }
            if (c->peephole)
                rand_tensor(&r, &lw[l].peephole[d], 3 * c->H, 0, c->w_scale, pool, &npool);
            if (c->P)
                rand_tensor(&r, &lw[l].projection[d], c->P, c->H, c->w_scale, pool, &npool);
        }
    }
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.precision = g_prec;
    lstmcl_model *m = NULL;
    lstmcl_status st =
        lstmcl_model_create_with(g_ctx, &desc, LSTMCL_CONVENTION_PYTORCH, lw, &opts, &m);
    if (st != LSTMCL_SUCCESS)
        fprintf(stderr, "model_create failed: %s\n  %s\n", lstmcl_thread_last_error(), desc_text);
    assert_int_equal(st, LSTMCL_SUCCESS);

    size_t nx = c->T * c->N * c->I, ny = c->T * c->N * D * Hout;
    size_t nh = c->L * D * c->N * Hout, nc = c->L * D * c->N * c->H;
    float *x = malloc(nx * sizeof(float)), *h0 = malloc(nh * sizeof(float));
    float *c0 = malloc(nc * sizeof(float));
    float *y[2], *hn[2], *cn[2];
    int32_t *lens = malloc(c->N * sizeof(int32_t));
    for (int k = 0; k < 2; k++) {
        y[k] = malloc(ny * sizeof(float));
        hn[k] = malloc(nh * sizeof(float));
        cn[k] = malloc(nc * sizeof(float));
        assert_non_null(y[k]);
        assert_non_null(hn[k]);
        assert_non_null(cn[k]);
        /* Poison, so an unwritten output cannot pass. */
        for (size_t i = 0; i < ny; i++)
            y[k][i] = NAN;
    }
    assert_non_null(x);
    assert_non_null(h0);
    assert_non_null(c0);
    assert_non_null(lens);
    tu_fill(&r, x, nx, -c->x_scale, c->x_scale);
    tu_fill(&r, h0, nh, -1.0f, 1.0f);
    tu_fill(&r, c0, nc, -1.0f, 1.0f);
    for (size_t n = 0; n < c->N; n++)
        lens[n] = (int32_t)(c->lens == 2 ? c->T - n * (c->T - 1) / (c->N > 1 ? c->N - 1 : 1)
                            : n == 0    ? c->T
                                        : tu_range(&r, 1, c->T));

    lstmcl_forward_args a = {c->T, c->N, c->batch_first, x, c->lens ? lens : NULL,
                             c->h0c0 ? h0 : NULL, c->h0c0 ? c0 : NULL, y[0], hn[0], cn[0]};
    st = lstmcl_forward(m, &a);
    if (st != LSTMCL_SUCCESS)
        fprintf(stderr, "forward failed: %s\n  %s\n", lstmcl_thread_last_error(), desc_text);
    assert_int_equal(st, LSTMCL_SUCCESS);
    /* A forced persistent kernel must have run to the end, not have given
     * way to the fused step (which would leave it untested). */
    const char *forced = getenv("LSTMCL_ALGO");
    if (forced && strncmp(forced, "persistent", 10) == 0) {
        const char *ran = lstmcl_model_algorithm(m, c->N);
        if (!ran || strcmp(ran, "persistent") != 0)
            fprintf(stderr, "persistent kernel not used (%s)\n  %s\n", ran ? ran : "?",
                    desc_text);
        assert_non_null(ran);
        assert_string_equal(ran, "persistent");
    }
    if (c->lens == 2)
        check_order(m, c, &a, desc_text);
    a.y = y[1];
    a.hn = hn[1];
    a.cn = cn[1];
    st = lstmcl_forward_reference(m, &a);
    assert_int_equal(st, LSTMCL_SUCCESS);

    /* The same model and data nudged by one float32 rounding, on the
     * reference, to measure the problem's own sensitivity. */
    float *yp = malloc(ny * sizeof(float)), *hnp = malloc(nh * sizeof(float));
    float *cnp = malloc(nc * sizeof(float));
    assert_non_null(yp);
    assert_non_null(hnp);
    assert_non_null(cnp);
    /* A reduced precision's stored weights hardly move under the nudge
     * (it rounds back to the same value), yet the device's float sums
     * differ from the reference's as if they had: the problem's
     * sensitivity is taken from the same model in fp32 too, before and
     * after the nudge (y32 / y32p), and the larger spread counts. */
    const int reduced = g_prec != LSTMCL_PRECISION_FP32;
    float *y32[2] = {NULL, NULL}, *hn32[2] = {NULL, NULL}, *cn32[2] = {NULL, NULL};
    lstmcl_model_options o32;
    lstmcl_model_options_init(&o32);
    for (int k = 0; reduced && k < 2; k++) {
        y32[k] = malloc(ny * sizeof(float));
        hn32[k] = malloc(nh * sizeof(float));
        cn32[k] = malloc(nc * sizeof(float));
        assert_true(y32[k] && hn32[k] && cn32[k]);
    }
    if (reduced)
        reference_run(&desc, lw, &o32, &a, y32[0], hn32[0], cn32[0]);
    for (size_t i = 0; i < npool; i++)
        perturb(&r, pool[i], pool_n[i]);
    perturb(&r, x, nx);
    perturb(&r, h0, nh);
    perturb(&r, c0, nc);
    reference_run(&desc, lw, &opts, &a, yp, hnp, cnp);
    double sens_y = spread(y[1], yp, ny), sens_h = spread(hn[1], hnp, nh),
           sens_c = spread(cn[1], cnp, nc);
    if (reduced) {
        reference_run(&desc, lw, &o32, &a, y32[1], hn32[1], cn32[1]);
        sens_y = fmax(sens_y, spread(y32[0], y32[1], ny));
        sens_h = fmax(sens_h, spread(hn32[0], hn32[1], nh));
        sens_c = fmax(sens_c, spread(cn32[0], cn32[1], nc));
        for (int k = 0; k < 2; k++) {
            free(y32[k]);
            free(hn32[k]);
            free(cn32[k]);
        }
    }

    /* float32 sums of K terms per gate (input, recurrent, projection),
     * errors carried through at most T steps of a contracting recurrence. */
    size_t K = (c->L > 1 ? D * Hout : 0) + c->I + Hout + (c->P ? c->H : 0) + 4;
    double tol = 3e-7 * (double)K * (1.0 + 0.25 * sqrt((double)c->T));
    /* h stored in half or bfloat16: a value whose float sum lies near a
     * rounding boundary may round to the neighbour on one side and not the
     * other (2^-11 or 2^-8 of |h|), and the difference passes on. */
    tol += lstmcl_precision_reference_allowance(g_prec);
    int ok = tu_all_finite(y[1], ny) && tu_all_finite(hn[1], nh) && tu_all_finite(cn[1], nc);
    if (!ok)
        fprintf(stderr, "reference produced NaN/Inf\n  %s\n", desc_text);
    ok = ok && compare("y", y[0], y[1], ny, tol, sens_y, desc_text);
    ok = ok && compare("hn", hn[0], hn[1], nh, tol, sens_h, desc_text);
    ok = ok && compare("cn", cn[0], cn[1], nc, tol, sens_c, desc_text);
    /* Steps past a sequence's length must be exactly zero. */
    if (ok && c->lens)
        for (size_t n = 0; n < c->N && ok; n++)
            for (size_t t = (size_t)lens[n]; t < c->T && ok; t++)
                for (size_t j = 0; j < D * Hout && ok; j++) {
                    size_t row = c->batch_first ? n * c->T + t : t * c->N + n;
                    if (y[0][row * D * Hout + j] != 0.0f) {
                        fprintf(stderr, "y[t=%zu n=%zu j=%zu] = %g past length %d\n  %s\n", t,
                                n, j, (double)y[0][row * D * Hout + j], (int)lens[n],
                                desc_text);
                        ok = 0;
                    }
                }

    lstmcl_model_destroy(m);
    for (size_t i = 0; i < npool; i++)
        free(pool[i]);
    for (int k = 0; k < 2; k++) {
        free(y[k]);
        free(hn[k]);
        free(cn[k]);
    }
    free(yp);
    free(hnp);
    free(cnp);
    free(x);
    free(h0);
    free(c0);
    free(lens);
    assert_true(ok);
}

static tcase base_case(void)
{
    tcase c;
    memset(&c, 0, sizeof c);
    c.I = 7;
    c.H = 17;
    c.L = 1;
    c.T = 5;
    c.N = 3;
    c.x_scale = 1.0f;
    c.w_scale = 0.5f;
    return c;
}

#define SKIP_WITHOUT_DEVICE() \
    do {                      \
        if (!g_ctx)           \
            skip();           \
    } while (0)

/* Odd sizes, T = 1 and N = 1. */
static void test_sizes(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    static const size_t hs[] = {1, 7, 17, 33, 129};
    static const size_t is[] = {1, 17, 7, 129, 33};
    for (size_t k = 0; k < 5; k++) {
        tcase c = base_case();
        c.H = hs[k];
        c.I = is[k];
        c.T = k == 0 ? 1 : 3 + k;
        c.N = k == 1 ? 1 : 2 * k + 1;
        run_case(&c, 100 + k);
    }
    tcase c = base_case();
    c.T = 1;
    c.N = 1;
    run_case(&c, 110);
}

/* Every feature on its own. */
static void test_each_feature(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    for (int f = 0; f < 13; f++) {
        tcase c = base_case();
        switch (f) {
        case 0: c.P = 5; break;
        case 1: c.peephole = 1; break;
        case 2: c.has_clip = 1; c.clip = 0.7f; c.w_scale = 1.0f; break;
        case 12: c.has_clip = 1; c.clip_cell = 1; c.clip = 0.3f; c.w_scale = 1.0f; break;
        case 3: c.input_forget = 1; break;
        case 4: c.no_bias = 1; break;
        case 5: c.h0c0 = 1; break;
        case 6: c.lens = 1; c.N = 5; c.T = 8; break;
        case 7: c.batch_first = 1; break;
        case 8: c.dir = LSTMCL_REVERSE; break;
        case 9: c.dir = LSTMCL_BIDIRECTIONAL; break;
        case 10: c.L = 3; break;
        case 11: c.L = 2; c.dir = LSTMCL_BIDIRECTIONAL; c.P = 4; c.h0c0 = 1; break;
        }
        run_case(&c, 200 + (uint64_t)f);
    }
}

/* Each of the 11 activations in each slot, with non-default alpha/beta,
 * and a different set on the reverse direction. */
static void test_activations(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    tu_rng r = {300};
    for (int k = LSTMCL_ACT_SIGMOID; k < LSTMCL_ACT_COUNT_; k++)
        for (int slot = 0; slot < 3; slot++) {
            tcase c = base_case();
            c.dir = LSTMCL_BIDIRECTIONAL;
            c.T = 4;
            c.act[0][slot].kind = (lstmcl_activation_kind)k;
            c.act[0][slot].alpha = tu_uniform(&r, 0.2f, 1.5f);
            c.act[0][slot].beta = tu_uniform(&r, -0.5f, 0.5f);
            int k2 = LSTMCL_ACT_SIGMOID + (k + 4 + slot) % (LSTMCL_ACT_COUNT_ - 1);
            c.act[1][slot].kind = (lstmcl_activation_kind)k2;
            c.act[1][slot].alpha = tu_uniform(&r, 0.2f, 1.5f);
            c.act[1][slot].beta = tu_uniform(&r, -0.5f, 0.5f);
            run_case(&c, 300 + (uint64_t)(k * 3 + slot));
        }
}

static uint64_t base_seed(void)
{
    const char *s = getenv("LSTMCL_TEST_SEED");
    return s && *s ? strtoull(s, NULL, 10) : 20261122ULL;
}

/* Random combinations of every feature. */
static void test_random_combinations(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    static const size_t sizes[] = {1, 2, 7, 17, 33};
    uint64_t seed0 = base_seed();
    fprintf(stderr, "random combinations from seed %llu\n", (unsigned long long)seed0);
    for (int i = 0; i < 40; i++) {
        uint64_t seed = seed0 + (uint64_t)i;
        tu_rng r = {seed * 7919u};
        tcase c = base_case();
        c.I = sizes[tu_range(&r, 0, 4)];
        c.H = sizes[tu_range(&r, 1, 4)];
        c.P = tu_range(&r, 0, 2) == 0 && c.H > 1 ? tu_range(&r, 1, c.H - 1) : 0;
        c.L = tu_range(&r, 1, 3);
        c.T = tu_range(&r, 1, 9);
        c.N = tu_range(&r, 1, 5);
        c.dir = (lstmcl_direction)tu_range(&r, 0, 2);
        c.no_bias = tu_range(&r, 0, 3) == 0;
        c.peephole = tu_range(&r, 0, 1);
        c.input_forget = tu_range(&r, 0, 3) == 0;
        c.has_clip = tu_range(&r, 0, 2) == 0;
        c.clip = tu_uniform(&r, 0.3f, 3.0f);
        c.clip_cell = tu_range(&r, 0, 1);
        c.batch_first = tu_range(&r, 0, 1);
        c.h0c0 = tu_range(&r, 0, 1);
        c.lens = tu_range(&r, 0, 1);
        for (int d = 0; d < 2; d++)
            for (int s = 0; s < 3; s++)
                if (tu_range(&r, 0, 2) == 0) {
                    c.act[d][s].kind = (lstmcl_activation_kind)tu_range(&r, 1, 11);
                    c.act[d][s].alpha = tu_uniform(&r, 0.2f, 1.2f);
                    c.act[d][s].beta = tu_uniform(&r, -0.3f, 0.3f);
                }
        run_case(&c, seed);
    }
}

/* A long sequence: errors must not accumulate past the tolerance. */
static void test_long_sequence(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    tcase c = base_case();
    c.T = 600;
    c.N = 3;
    c.H = 33;
    c.I = 17;
    c.dir = LSTMCL_BIDIRECTIONAL;
    c.lens = 1;
    c.h0c0 = 1;
    run_case(&c, 400);
    c.dir = LSTMCL_FORWARD;
    c.P = 9;
    c.peephole = 1;
    c.L = 2;
    run_case(&c, 401);
}

/* Inputs up to +-100 with large weights: gates saturate, no NaN or Inf. */
static void test_saturation(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    for (int k = LSTMCL_ACT_SIGMOID; k < LSTMCL_ACT_COUNT_; k++) {
        tcase c = base_case();
        c.x_scale = 100.0f;
        c.w_scale = 2.0f;
        c.T = 6;
        c.peephole = 1;
        /* Bounded gate functions keep c bounded; the tested one goes into
         * g and h, where any function is allowed to be unbounded. */
        c.act[0][LSTMCL_SLOT_G].kind = (lstmcl_activation_kind)k;
        c.act[0][LSTMCL_SLOT_G].alpha = 0.9f;
        c.act[0][LSTMCL_SLOT_G].beta = 0.1f;
        c.act[0][LSTMCL_SLOT_H].kind = (lstmcl_activation_kind)k;
        c.act[0][LSTMCL_SLOT_H].alpha = 0.9f;
        c.act[0][LSTMCL_SLOT_H].beta = 0.1f;
        run_case(&c, 500 + (uint64_t)k);
    }
    tcase c = base_case();
    c.x_scale = 100.0f;
    c.w_scale = 2.0f;
    c.has_clip = 1;
    c.clip = 5.0f;
    c.dir = LSTMCL_BIDIRECTIONAL;
    run_case(&c, 520);
    c.clip_cell = 1;
    run_case(&c, 521);
}

/* The fast tier's share of the matrix (`test_device test_covering`, run
 * once per algorithm): every feature at least once, in three programs per
 * algorithm family. A program is built per hidden and projection size,
 * direction, activation kinds and the peephole, input_forget and clip
 * switches; layers, lengths, h0/c0, batch_first, biases, sizes I, T, N and
 * the data are not part of it, so they ride on those three. The forward
 * program is the plain H = 17 one that bench_algos also builds for every
 * algorithm. Sigmoid and Tanh are the defaults; the nine other activations
 * take one slot each in the reverse and bidirectional programs. */
static void test_covering(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    /* Forward, plain: three layers with lengths, h0/c0, batch-major data
     * and no biases; then T = 1 and N = 1, a long sequence, and saturating
     * inputs through the default sigmoid and tanh. */
    tcase c = base_case();
    c.L = 3;
    c.lens = 1;
    c.h0c0 = 1;
    c.batch_first = 1;
    c.no_bias = 1;
    c.N = 5;
    c.T = 8;
    run_case(&c, 800);
    c = base_case();
    c.I = 1;
    c.T = 1;
    c.N = 1;
    run_case(&c, 801);
    c = base_case();
    c.I = 33;
    c.T = 600;
    c.lens = 1;
    c.h0c0 = 1;
    run_case(&c, 802);
    c = base_case();
    c.x_scale = 100.0f;
    c.w_scale = 2.0f;
    run_case(&c, 803);

    /* Reverse only: input_forget, clip with the cell clipped too (g's
     * scale takes the cell past the clip), bounded activations, lengths
     * (the reverse direction starts at each sequence's own last step). */
    c = base_case();
    c.dir = LSTMCL_REVERSE;
    c.input_forget = 1;
    c.has_clip = 1;
    c.clip_cell = 1;
    c.clip = 0.3f;
    c.w_scale = 1.0f;
    c.lens = 1;
    c.h0c0 = 1;
    c.batch_first = 1;
    c.N = 5;
    c.T = 8;
    c.act[0][LSTMCL_SLOT_F] = (lstmcl_activation){LSTMCL_ACT_HARD_SIGMOID, 0.3f, 0.45f};
    c.act[0][LSTMCL_SLOT_G] = (lstmcl_activation){LSTMCL_ACT_SCALED_TANH, 2.5f, 1.0f};
    c.act[0][LSTMCL_SLOT_H] = (lstmcl_activation){LSTMCL_ACT_SOFTSIGN, 0.0f, 0.0f};
    run_case(&c, 810);

    /* Bidirectional, two layers: projection, peepholes, clip on the gates
     * only, another activation in every slot of each direction (the clip
     * keeps the unbounded ones in range; ThresholdedRelu's alpha stays
     * under it so that its gates open), lengths and h0/c0. */
    c = base_case();
    c.dir = LSTMCL_BIDIRECTIONAL;
    c.L = 2;
    c.P = 5;
    c.peephole = 1;
    c.has_clip = 1;
    c.clip = 0.7f;
    c.w_scale = 1.0f;
    c.lens = 1;
    c.h0c0 = 1;
    c.N = 4;
    c.T = 6;
    c.act[0][LSTMCL_SLOT_F] = (lstmcl_activation){LSTMCL_ACT_LEAKY_RELU, 0.1f, 0.0f};
    c.act[0][LSTMCL_SLOT_G] = (lstmcl_activation){LSTMCL_ACT_ELU, 0.8f, 0.0f};
    c.act[0][LSTMCL_SLOT_H] = (lstmcl_activation){LSTMCL_ACT_SOFTPLUS, 0.0f, 0.0f};
    c.act[1][LSTMCL_SLOT_F] = (lstmcl_activation){LSTMCL_ACT_THRESHOLDED_RELU, 0.2f, 0.0f};
    c.act[1][LSTMCL_SLOT_G] = (lstmcl_activation){LSTMCL_ACT_AFFINE, 0.9f, 0.1f};
    c.act[1][LSTMCL_SLOT_H] = (lstmcl_activation){LSTMCL_ACT_RELU, 0.0f, 0.0f};
    run_case(&c, 820);

    /* Lengths from T down to 1, longest first: groups of four sequences
     * whose trailing ones have ended, whole groups ended, and input rows
     * past every length, time-major and batch-first, with and without a projection;
     * the same batch in the opposite order gives the same results. */
    c = base_case();
    c.dir = LSTMCL_BIDIRECTIONAL;
    c.L = 2;
    c.lens = 2;
    c.h0c0 = 1;
    c.N = 9;
    c.T = 11;
    run_case(&c, 830);
    c.P = 6;
    c.batch_first = 1;
    c.peephole = 1;
    run_case(&c, 831);
}

/* Shapes of different sizes through one model: the workspace grows and is
 * reused without stale data. */
static void test_workspace_reuse(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    static const size_t shapes[][2] = {{5, 2}, {9, 4}, {3, 1}, {9, 4}, {2, 7}};
    for (size_t k = 0; k < 5; k++) {
        tcase c = base_case();
        c.T = shapes[k][0];
        c.N = shapes[k][1];
        c.L = 2;
        c.lens = 1;
        run_case(&c, 600 + k);
    }
}

/* lstmcl_forward_cl on caller-owned buffers equals lstmcl_forward. */
static void test_forward_cl(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    const size_t I = 7, H = 9, T = 6, N = 3, D = 2, L = 2;
    tu_rng r = {700};
    lstmcl_model_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.input_size = I;
    desc.hidden_size = H;
    desc.num_layers = L;
    desc.direction = LSTMCL_BIDIRECTIONAL;
    float *pool[64];
    size_t npool = 0;
    lstmcl_layer_weights lw[2];
    memset(lw, 0, sizeof lw);
    for (size_t l = 0; l < L; l++)
        for (size_t d = 0; d < D; d++) {
            rand_tensor(&r, &lw[l].input_weights[d], 4 * H, l ? D * H : I, 0.5f, pool, &npool);
            rand_tensor(&r, &lw[l].recurrent_weights[d], 4 * H, H, 0.5f, pool, &npool);
            rand_tensor(&r, &lw[l].input_bias[d], 4 * H, 0, 0.5f, pool, &npool);
            rand_tensor(&r, &lw[l].recurrent_bias[d], 4 * H, 0, 0.5f, pool, &npool);
        }
    lstmcl_model *m = NULL;
    assert_int_equal(lstmcl_model_create(g_ctx, &desc, LSTMCL_CONVENTION_PYTORCH, lw, &m),
                     LSTMCL_SUCCESS);
    float x[6 * 3 * 7], h0[2 * 2 * 3 * 9], c0[2 * 2 * 3 * 9];
    float y_host[6 * 3 * 18], hn_host[2 * 2 * 3 * 9], cn_host[2 * 2 * 3 * 9];
    float y_dev[6 * 3 * 18], hn_dev[2 * 2 * 3 * 9], cn_dev[2 * 2 * 3 * 9];
    int32_t lens[3] = {6, 2, 4};
    tu_fill(&r, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    tu_fill(&r, h0, sizeof h0 / sizeof h0[0], -1.0f, 1.0f);
    tu_fill(&r, c0, sizeof c0 / sizeof c0[0], -1.0f, 1.0f);
    lstmcl_forward_args a = {T, N, 1, x, lens, h0, c0, y_host, hn_host, cn_host};
    assert_int_equal(lstmcl_forward(m, &a), LSTMCL_SUCCESS);

    cl_context clc;
    cl_command_queue q;
    assert_int_equal(lstmcl_context_cl_objects(g_ctx, &clc, NULL, &q), LSTMCL_SUCCESS);
    cl_int err;
    cl_mem bx = clCreateBuffer(clc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem bl = clCreateBuffer(clc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof lens, lens,
                               &err);
    cl_mem bh0 = clCreateBuffer(clc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof h0, h0, &err);
    cl_mem bc0 = clCreateBuffer(clc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof c0, c0, &err);
    cl_mem by = clCreateBuffer(clc, CL_MEM_WRITE_ONLY, sizeof y_dev, NULL, &err);
    cl_mem bhn = clCreateBuffer(clc, CL_MEM_WRITE_ONLY, sizeof hn_dev, NULL, &err);
    cl_mem bcn = clCreateBuffer(clc, CL_MEM_WRITE_ONLY, sizeof cn_dev, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    lstmcl_forward_cl_args ca = {T, N, 1, bx, bl, bh0, bc0, by, bhn, bcn};
    cl_event done = NULL;
    assert_int_equal(lstmcl_forward_cl(m, &ca, &done), LSTMCL_SUCCESS);
    assert_non_null(done);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    assert_int_equal(clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof y_dev, y_dev, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(q, bhn, CL_TRUE, 0, sizeof hn_dev, hn_dev, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(q, bcn, CL_TRUE, 0, sizeof cn_dev, cn_dev, 0, NULL, NULL),
                     CL_SUCCESS);
    /* Same kernels, same inputs: the results are bitwise equal. */
    assert_memory_equal(y_dev, y_host, sizeof y_dev);
    assert_memory_equal(hn_dev, hn_host, sizeof hn_dev);
    assert_memory_equal(cn_dev, cn_host, sizeof cn_dev);

    /* A buffer too small for the shape is refused before anything runs. */
    ca.seq_len = T + 1;
    assert_int_equal(lstmcl_forward_cl(m, &ca, NULL), LSTMCL_ERROR_INVALID_SHAPE);
    assert_non_null(strstr(lstmcl_context_last_error(g_ctx), "buffer x"));

    cl_mem all[] = {bx, bl, bh0, bc0, by, bhn, bcn};
    for (size_t i = 0; i < 7; i++)
        clReleaseMemObject(all[i]);
    lstmcl_model_destroy(m);
    for (size_t i = 0; i < npool; i++)
        free(pool[i]);
}

/* The persistent kernel with more work-groups than the device runs at
 * once: the groups that run wait at the first device-wide barrier for one
 * that never starts. The pass must still finish (each wait is bounded),
 * with the right numbers (it is run again with the fused step), and the
 * model must stop using the persistent kernel. On PoCL's CPU device, whose
 * worker threads are its compute units, one group more than the compute
 * units can never start; other devices may fit it, so there only the
 * numbers are checked. */
static void test_persist_gives_up(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_device_info(g_ctx, &info), LSTMCL_SUCCESS);
    /* One group more than compute units, and a short wait, set through the
     * model's options. */
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.algorithm = LSTMCL_ALGO_PERSISTENT;
    opts.persist_groups = info.compute_units + 1;
    opts.persist_spin_limit = 1 << 16;
    const size_t I = 5, H = 24, T = 4, N = 2;
    tu_rng r = {901};
    lstmcl_model_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.input_size = I;
    desc.hidden_size = H;
    desc.num_layers = 1;
    desc.direction = LSTMCL_FORWARD;
    desc.no_bias = 1;
    float *pool[8];
    size_t npool = 0;
    lstmcl_layer_weights lw[1];
    memset(lw, 0, sizeof lw);
    rand_tensor(&r, &lw[0].input_weights[0], 4 * H, I, 0.5f, pool, &npool);
    rand_tensor(&r, &lw[0].recurrent_weights[0], 4 * H, H, 0.5f, pool, &npool);
    lstmcl_model *m = NULL;
    lstmcl_status st =
        lstmcl_model_create_with(g_ctx, &desc, LSTMCL_CONVENTION_PYTORCH, lw, &opts, &m);
    assert_int_equal(st, LSTMCL_SUCCESS);
    assert_string_equal(lstmcl_model_algorithm(m, N), "persistent");
    float x[4 * 2 * 5], y_dev[4 * 2 * 24], y_ref[4 * 2 * 24];
    tu_fill(&r, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    for (size_t i = 0; i < sizeof y_dev / sizeof y_dev[0]; i++)
        y_dev[i] = NAN;
    lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y_dev, NULL, NULL};
    assert_int_equal(lstmcl_forward(m, &a), LSTMCL_SUCCESS);
    a.y = y_ref;
    assert_int_equal(lstmcl_forward_reference(m, &a), LSTMCL_SUCCESS);
    for (size_t i = 0; i < sizeof y_dev / sizeof y_dev[0]; i++)
        assert_true(fabsf(y_dev[i] - y_ref[i]) < 1e-5f);
    if (info.type & CL_DEVICE_TYPE_CPU)
        assert_string_equal(lstmcl_model_algorithm(m, N), "fused-rows");
    lstmcl_model_destroy(m);
    for (size_t i = 0; i < npool; i++)
        free(pool[i]);
}

/* The automatic choice on a CPU device measures the fused step and the
 * persistent kernel while the model runs and switches between them
 * (host/choice.c): every pass must give the reference's numbers whichever
 * ran, through more batch sizes than the choice keeps slots for, on the
 * host API and on caller-owned buffers. */
static void test_auto_measured(void **state)
{
    (void)state;
    SKIP_WITHOUT_DEVICE();
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.algorithm = LSTMCL_ALGO_AUTO;
    const size_t I = 7, H = 33, L = 2, Tmax = 9, Nmax = 11;
    tu_rng r = {4242};
    lstmcl_model_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.input_size = I;
    desc.hidden_size = H;
    desc.num_layers = L;
    desc.direction = LSTMCL_FORWARD;
    float *pool[16];
    size_t npool = 0;
    lstmcl_layer_weights lw[2];
    memset(lw, 0, sizeof lw);
    for (size_t l = 0; l < L; l++) {
        rand_tensor(&r, &lw[l].input_weights[0], 4 * H, l ? H : I, 0.4f, pool, &npool);
        rand_tensor(&r, &lw[l].recurrent_weights[0], 4 * H, H, 0.4f, pool, &npool);
        rand_tensor(&r, &lw[l].input_bias[0], 4 * H, 0, 0.4f, pool, &npool);
        rand_tensor(&r, &lw[l].recurrent_bias[0], 4 * H, 0, 0.4f, pool, &npool);
    }
    lstmcl_model *m = NULL;
    assert_int_equal(lstmcl_model_create_with(g_ctx, &desc, LSTMCL_CONVENTION_PYTORCH, lw, &opts,
                                              &m),
                     LSTMCL_SUCCESS);
    cl_context clctx = NULL;
    cl_command_queue q = NULL;
    assert_int_equal(lstmcl_context_cl_objects(g_ctx, &clctx, NULL, &q), LSTMCL_SUCCESS);
    float *x = malloc(Tmax * Nmax * I * sizeof(float));
    float *y = malloc(Tmax * Nmax * H * sizeof(float));
    float *yr = malloc(Tmax * Nmax * H * sizeof(float));
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(yr);
    cl_int err = CL_SUCCESS;
    cl_mem bx = clCreateBuffer(clctx, CL_MEM_READ_WRITE, Tmax * Nmax * I * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem by = clCreateBuffer(clctx, CL_MEM_READ_WRITE, Tmax * Nmax * H * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    for (size_t pass = 0; pass < 60; pass++) {
        const size_t N = 1 + pass % Nmax, T = 1 + (pass * 7) % Tmax;
        tu_fill(&r, x, T * N * I, -1.0f, 1.0f);
        lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, yr, NULL, NULL};
        assert_int_equal(lstmcl_forward_reference(m, &a), LSTMCL_SUCCESS);
        if (pass % 3 == 2) { /* caller-owned buffers */
            assert_int_equal(clEnqueueWriteBuffer(q, bx, CL_TRUE, 0, T * N * I * sizeof(float), x,
                                                  0, NULL, NULL),
                             CL_SUCCESS);
            lstmcl_forward_cl_args ca;
            memset(&ca, 0, sizeof ca);
            ca.seq_len = T;
            ca.batch = N;
            ca.x = bx;
            ca.y = by;
            assert_int_equal(lstmcl_forward_cl(m, &ca, NULL), LSTMCL_SUCCESS);
            assert_int_equal(clEnqueueReadBuffer(q, by, CL_TRUE, 0, T * N * H * sizeof(float), y,
                                                 0, NULL, NULL),
                             CL_SUCCESS);
        } else {
            a.y = y;
            assert_int_equal(lstmcl_forward(m, &a), LSTMCL_SUCCESS);
        }
        size_t where = 0;
        double d = tu_max_abs_diff(y, yr, T * N * H, &where);
        if (d > 1e-4)
            fprintf(stderr, "pass %zu (T %zu, N %zu, %s): off by %g at %zu\n", pass, T, N,
                    lstmcl_model_algorithm(m, N), d, where);
        assert_true(d <= 1e-4);
        const char *ran = lstmcl_model_algorithm(m, N);
        assert_non_null(ran);
    }
    clReleaseMemObject(bx);
    clReleaseMemObject(by);
    free(x);
    free(y);
    free(yr);
    lstmcl_model_destroy(m);
    for (size_t i = 0; i < npool; i++)
        free(pool[i]);
}

/* test_device [NAME...]: the tests named (e.g. test_covering, the fast
 * tier's), or every test when none is named. A name that is not in the
 * table is an error, so that a misspelt CTest command cannot pass by
 * running nothing. */
int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_each_feature),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_random_combinations),
        cmocka_unit_test(test_long_sequence),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_workspace_reuse),
        cmocka_unit_test(test_covering),
        cmocka_unit_test(test_forward_cl),
        cmocka_unit_test(test_persist_gives_up),
        cmocka_unit_test(test_auto_measured),
    };
    const size_t count = sizeof tests / sizeof tests[0];
    if (argc < 2)
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
    int wanted[sizeof tests / sizeof tests[0]] = {0};
    for (int a = 1; a < argc; a++) {
        size_t i = 0;
        while (i < count && strcmp(argv[a], tests[i].name) != 0)
            i++;
        if (i == count) {
            fprintf(stderr, "test_device: no test named %s\n", argv[a]);
            return 2;
        }
        wanted[i] = 1;
    }
    /* In the table's order, each once. */
    struct CMUnitTest chosen[sizeof tests / sizeof tests[0]];
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (wanted[i])
            chosen[n++] = tests[i];
    return _cmocka_run_group_tests("test_device", chosen, n, group_setup, group_teardown);
}
