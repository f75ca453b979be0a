/* The accuracy contract of the reduced precisions (include/lstmcl.h,
 * lstmcl_precision): each precision's model, run on the device (the
 * reference context when there is none), against the same weights in fp32
 * on the CPU reference, per output (y, hn, cn):
 *   max |got - fp32| / max(max |fp32|, 1)  <=  1e-2 fp16, 3e-2 bf16, 5e-2 int8.
 * Models are random, of DeepBench's sizes (I = H), with weights drawn as
 * PyTorch initialises nn.LSTM (uniform in +-1/sqrt(H)) and inputs in +-1,
 * plus a bidirectional projected stack and a saturating case. The golden
 * cases are checked against the same contract by test_golden precision.
 * Every deviation is printed (the README's table comes from this output).
 *
 * The contract holds for inputs of the order of 1 to 10, where trained
 * models' inputs lie; the deviation grows with the inputs' magnitude,
 * which multiplies the input weights' rounding (int8 passes 5e-2 near
 * |x| = 20): `test_precision scan` prints that growth and asserts nothing.
 *
 * test_precision        every case (the full tier)
 * test_precision quick  the fast tier's subset
 * test_precision scan   the deviations for inputs in +-1 .. +-50 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

typedef struct pcase {
    const char *name;
    size_t I, H, P, L, T, N;
    lstmcl_direction dir;
    float w_scale; /* 0: PyTorch's 1/sqrt(H) */
    float x_scale;
} pcase;

static const pcase quick_cases[] = {
    {"deepbench H256 T150 N1", 256, 256, 0, 1, 150, 1, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"deepbench H512 T25 N2", 512, 512, 0, 1, 25, 2, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"saturating x+-10 H128", 64, 128, 0, 1, 40, 3, LSTMCL_FORWARD, 0.0f, 10.0f},
};

static const pcase full_cases[] = {
    {"deepbench H256 T150 N4", 256, 256, 0, 1, 150, 4, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"deepbench H512 T25 N4", 512, 512, 0, 1, 25, 4, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"deepbench H1024 T25 N4", 1024, 1024, 0, 1, 25, 4, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"deepbench H1536 T50 N2", 1536, 1536, 0, 1, 50, 2, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"deepbench H2048 T25 N2", 2048, 2048, 0, 1, 25, 2, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"bidir proj 2-layer H256 P128", 80, 256, 128, 2, 50, 3, LSTMCL_BIDIRECTIONAL, 0.0f, 1.0f},
    {"saturating x+-10 H128", 64, 128, 0, 1, 40, 3, LSTMCL_FORWARD, 0.0f, 10.0f},
};

/* Not a test (test_precision scan): how the deviation grows with the
 * inputs' magnitude, which the input weights' rounding multiplies. */
static const pcase scan_cases[] = {
    {"x+-1 H128", 64, 128, 0, 1, 40, 3, LSTMCL_FORWARD, 0.0f, 1.0f},
    {"x+-10 H128", 64, 128, 0, 1, 40, 3, LSTMCL_FORWARD, 0.0f, 10.0f},
    {"x+-20 H128", 64, 128, 0, 1, 40, 3, LSTMCL_FORWARD, 0.0f, 20.0f},
    {"x+-50 H128", 64, 128, 0, 1, 40, 3, LSTMCL_FORWARD, 0.0f, 50.0f},
    {"w+-2 x+-100 H17", 7, 17, 0, 2, 30, 3, LSTMCL_BIDIRECTIONAL, 2.0f, 100.0f},
};

static const struct {
    lstmcl_precision p;
    double bound;
} precisions[] = {
    {LSTMCL_PRECISION_FP16, 1e-2},
    {LSTMCL_PRECISION_BF16, 3e-2},
    {LSTMCL_PRECISION_INT8, 5e-2},
};

static lstmcl_context *g_dev, *g_ref;
static int g_quick, g_scan;

static int setup(void **state)
{
    (void)state;
    g_dev = tu_open_device(); /* NULL: the reduced models run on the reference */
    return lstmcl_context_create("cpu", &g_ref) == LSTMCL_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lstmcl_context_destroy(g_dev);
    lstmcl_context_destroy(g_ref);
    return 0;
}

/* max |got - ref| / max(max |ref|, 1); a non-finite value gives infinity. */
static double deviation(const float *got, const float *ref, size_t n)
{
    double dmax = 0.0, rmax = 1.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!isfinite(d))
            return INFINITY;
        if (d > dmax)
            dmax = d;
        if (fabs((double)ref[i]) > rmax)
            rmax = fabs((double)ref[i]);
    }
    return dmax / rmax;
}

static lstmcl_model *create(lstmcl_context *ctx, const pcase *c,
                            const lstmcl_layer_weights *lw, lstmcl_precision p)
{
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = c->I;
    d.hidden_size = c->H;
    d.proj_size = c->P;
    d.num_layers = c->L;
    d.direction = c->dir;
    lstmcl_model_options o;
    lstmcl_model_options_init(&o);
    o.precision = p;
    lstmcl_model *m = NULL;
    lstmcl_status st = lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, lw, &o, &m);
    if (st != LSTMCL_SUCCESS)
        fail_msg("%s, %s: model_create: %s", c->name, lstmcl_precision_name(p),
                 lstmcl_thread_last_error());
    return m;
}

static void run_cases(const pcase *cases, size_t ncases)
{
    lstmcl_context *ctx = g_dev ? g_dev : g_ref;
    for (size_t ci = 0; ci < ncases; ci++) {
        const pcase *c = &cases[ci];
        const size_t D = c->dir == LSTMCL_BIDIRECTIONAL ? 2 : 1, Hout = c->P ? c->P : c->H;
        const float ws = c->w_scale > 0.0f ? c->w_scale : 1.0f / sqrtf((float)c->H);
        tu_rng r = {1000 + ci};
        float *pool[8 * 12];
        size_t np = 0;
        lstmcl_layer_weights lw[4];
        memset(lw, 0, sizeof lw);
        assert_true(c->L <= 4);
        for (size_t l = 0; l < c->L; l++)
            for (size_t d = 0; d < D; d++) {
                const size_t in = l ? D * Hout : c->I;
                struct {
                    lstmcl_tensor *t;
                    size_t d0, d1;
                } parts[] = {
                    {&lw[l].input_weights[d], 4 * c->H, in},
                    {&lw[l].recurrent_weights[d], 4 * c->H, Hout},
                    {&lw[l].input_bias[d], 4 * c->H, 0},
                    {&lw[l].recurrent_bias[d], 4 * c->H, 0},
                    {&lw[l].projection[d], c->P, c->H},
                };
                for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
                    if (parts[k].d0 == 0)
                        continue;
                    size_t n = parts[k].d0 * (parts[k].d1 ? parts[k].d1 : 1);
                    float *v = malloc(n * sizeof(float));
                    assert_non_null(v);
                    tu_fill(&r, v, n, -ws, ws);
                    pool[np++] = v;
                    parts[k].t->data = v;
                    parts[k].t->ndim = parts[k].d1 ? 2 : 1;
                    parts[k].t->dims[0] = parts[k].d0;
                    parts[k].t->dims[1] = parts[k].d1;
                }
            }
        const size_t nx = c->T * c->N * c->I, ny = c->T * c->N * D * Hout;
        const size_t nh = c->L * D * c->N * Hout, nc = c->L * D * c->N * c->H;
        float *x = malloc(nx * sizeof(float));
        float *out[2][3];
        for (int k = 0; k < 2; k++) {
            out[k][0] = malloc(ny * sizeof(float));
            out[k][1] = malloc(nh * sizeof(float));
            out[k][2] = malloc(nc * sizeof(float));
            assert_true(out[k][0] && out[k][1] && out[k][2]);
        }
        assert_non_null(x);
        tu_fill(&r, x, nx, -c->x_scale, c->x_scale);
        lstmcl_forward_args a = {c->T, c->N, 0, x, NULL, NULL, NULL, out[0][0], out[0][1],
                                 out[0][2]};
        lstmcl_model *m32 = create(g_ref, c, lw, LSTMCL_PRECISION_FP32);
        assert_int_equal(lstmcl_forward(m32, &a), LSTMCL_SUCCESS);
        lstmcl_model_destroy(m32);
        for (size_t pi = 0; pi < sizeof precisions / sizeof precisions[0]; pi++) {
            lstmcl_model *m = create(ctx, c, lw, precisions[pi].p);
            a.y = out[1][0];
            a.hn = out[1][1];
            a.cn = out[1][2];
            lstmcl_status st = lstmcl_forward(m, &a);
            if (st != LSTMCL_SUCCESS)
                fail_msg("%s: forward: %s", c->name, lstmcl_thread_last_error());
            const size_t n[3] = {ny, nh, nc};
            double dev[3];
            for (int k = 0; k < 3; k++)
                dev[k] = deviation(out[1][k], out[0][k], n[k]);
            printf("deviation  %-30s %s (%s)  y %.2e  hn %.2e  cn %.2e  bound %.0e\n", c->name,
                   lstmcl_precision_name(precisions[pi].p),
                   lstmcl_model_algorithm(m, c->N), dev[0], dev[1], dev[2],
                   precisions[pi].bound);
            fflush(stdout);
            lstmcl_model_destroy(m);
            for (int k = 0; k < 3 && !g_scan; k++)
                if (!(dev[k] <= precisions[pi].bound))
                    fail_msg("%s, %s: %s deviates from fp32 by %.3g (contract %.3g)", c->name,
                             lstmcl_precision_name(precisions[pi].p),
                             k == 0 ? "y" : k == 1 ? "hn" : "cn", dev[k],
                             precisions[pi].bound);
        }
        for (size_t i = 0; i < np; i++)
            free(pool[i]);
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 3; j++)
                free(out[k][j]);
        free(x);
    }
}

static void test_contract(void **state)
{
    (void)state;
    if (g_scan)
        run_cases(scan_cases, sizeof scan_cases / sizeof scan_cases[0]);
    else if (g_quick)
        run_cases(quick_cases, sizeof quick_cases / sizeof quick_cases[0]);
    else
        run_cases(full_cases, sizeof full_cases / sizeof full_cases[0]);
}

/* The model's device bytes: weights in fp16 and bf16 take half of fp32's
 * recurrent and input weights, int8 a quarter plus the scales; the
 * reference context holds none. */
static void test_device_bytes(void **state)
{
    (void)state;
    if (!g_dev)
        skip();
    const pcase c = {"bytes", 64, 64, 0, 1, 1, 1, LSTMCL_FORWARD, 0.1f, 1.0f};
    const size_t w = 4 * 64 * 64;
    float *v = calloc(w, sizeof(float));
    assert_non_null(v);
    lstmcl_layer_weights lw;
    memset(&lw, 0, sizeof lw);
    lw.input_weights[0] = (lstmcl_tensor){v, 2, {4 * 64, 64, 0}, LSTMCL_DTYPE_F32};
    lw.recurrent_weights[0] = (lstmcl_tensor){v, 2, {4 * 64, 64, 0}, LSTMCL_DTYPE_F32};
    lw.input_bias[0] = (lstmcl_tensor){v, 1, {4 * 64, 0, 0}, LSTMCL_DTYPE_F32};
    lw.recurrent_bias[0] = (lstmcl_tensor){v, 1, {4 * 64, 0, 0}, LSTMCL_DTYPE_F32};
    size_t bytes[4];
    for (int p = 0; p < 4; p++) {
        lstmcl_model *m = create(g_dev, &c, &lw, (lstmcl_precision)p);
        bytes[p] = lstmcl_model_device_bytes(m);
        assert_int_equal(lstmcl_model_precision(m), p);
        lstmcl_model_destroy(m);
    }
    lstmcl_model *mr = create(g_ref, &c, &lw, LSTMCL_PRECISION_FP16);
    assert_int_equal(lstmcl_model_device_bytes(mr), 0);
    lstmcl_model_destroy(mr);
    free(v);
    printf("device bytes: fp32 %zu, fp16 %zu, bf16 %zu, int8 %zu\n", bytes[0], bytes[1],
           bytes[2], bytes[3]);
    /* Both weight matrices (at least one copy each) shrink with the type. */
    assert_true(bytes[0] >= 2 * w * 4);
    assert_true(bytes[0] - bytes[1] >= 2 * w * 2);
    assert_int_equal(bytes[1], bytes[2]);
    assert_true(bytes[0] - bytes[3] >= 2 * w * 3 - 2 * 4 * 64 * 4);
}

/* Weights given as half and bfloat16 reach a model of that precision
 * unchanged: the same model from float copies of the same values computes
 * bit for bit the same; and a weight beyond half's range is refused under
 * fp16, naming the tensor and the element. */
static void test_dtypes(void **state)
{
    (void)state;
    lstmcl_context *ctx = g_dev ? g_dev : g_ref;
    const size_t H = 16, I = 8, T = 5, N = 2;
    const lstmcl_dtype dt[2] = {LSTMCL_DTYPE_F16, LSTMCL_DTYPE_BF16};
    const lstmcl_precision pr[2] = {LSTMCL_PRECISION_FP16, LSTMCL_PRECISION_BF16};
    tu_rng r = {77};
    float x[5 * 2 * 8];
    tu_fill(&r, x, T * N * I, -1.0f, 1.0f);
    for (int k = 0; k < 2; k++) {
        uint16_t wi[4 * 16 * 8], wh[4 * 16 * 16];
        float fi[4 * 16 * 8], fh[4 * 16 * 16];
        /* random bit patterns of finite values of the type, then their
         * float values by the type's definition */
        for (size_t i = 0; i < 4 * H * H; i++) {
            uint16_t b;
            do
                b = (uint16_t)tu_next(&r);
            while (k == 0 ? (b & 0x7c00u) == 0x7c00u || (b & 0x7c00u) > 0x3c00u
                          : (b & 0x7f80u) == 0x7f80u || (b & 0x7f80u) > 0x3f80u);
            wh[i] = b;
            if (k == 0) {
                /* half: sign, 5-bit exponent (bias 15), 10-bit fraction */
                int e = (b >> 10) & 0x1f;
                double f = (b & 0x3ff) / 1024.0;
                double v = e ? ldexp(1.0 + f, e - 15) : ldexp(f, -14);
                fh[i] = (float)((b & 0x8000u) ? -v : v);
            } else {
                uint32_t u = (uint32_t)b << 16;
                memcpy(&fh[i], &u, sizeof u);
            }
            if (i < 4 * H * I) {
                wi[i] = wh[i];
                fi[i] = fh[i];
            }
        }
        lstmcl_model_desc d;
        memset(&d, 0, sizeof d);
        d.input_size = I;
        d.hidden_size = H;
        d.num_layers = 1;
        d.no_bias = 1;
        lstmcl_model_options o;
        lstmcl_model_options_init(&o);
        o.precision = pr[k];
        lstmcl_layer_weights a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        a.input_weights[0] = (lstmcl_tensor){wi, 2, {4 * H, I, 0}, dt[k]};
        a.recurrent_weights[0] = (lstmcl_tensor){wh, 2, {4 * H, H, 0}, dt[k]};
        b.input_weights[0] = (lstmcl_tensor){fi, 2, {4 * H, I, 0}, LSTMCL_DTYPE_F32};
        b.recurrent_weights[0] = (lstmcl_tensor){fh, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
        lstmcl_model *ma = NULL, *mb = NULL;
        assert_int_equal(lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &a, &o, &ma),
                         LSTMCL_SUCCESS);
        assert_int_equal(lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &b, &o, &mb),
                         LSTMCL_SUCCESS);
        float ya[5 * 2 * 16], yb[5 * 2 * 16];
        lstmcl_forward_args fa = {T, N, 0, x, NULL, NULL, NULL, ya, NULL, NULL};
        assert_int_equal(lstmcl_forward(ma, &fa), LSTMCL_SUCCESS);
        fa.y = yb;
        assert_int_equal(lstmcl_forward(mb, &fa), LSTMCL_SUCCESS);
        assert_memory_equal(ya, yb, sizeof ya);
        /* The values are the type's own: rounding them again changes
         * nothing, so the fp32 model of the float copies agrees too,
         * within the rounding of h. */
        lstmcl_model_destroy(ma);
        lstmcl_model_destroy(mb);
    }
    /* 1e5 does not fit half: refused with its tensor and index. */
    float big[4 * 16 * 8] = {0};
    big[4 * 8 + 3] = 1e5f; /* row 4, column 3 */
    float rz[4 * 16 * 16] = {0};
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = I;
    d.hidden_size = H;
    d.num_layers = 1;
    d.no_bias = 1;
    lstmcl_layer_weights w;
    memset(&w, 0, sizeof w);
    w.input_weights[0] = (lstmcl_tensor){big, 2, {4 * H, I, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_weights[0] = (lstmcl_tensor){rz, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    lstmcl_model_options o;
    lstmcl_model_options_init(&o);
    o.precision = LSTMCL_PRECISION_FP16;
    lstmcl_model *m = NULL;
    assert_int_equal(lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o, &m),
                     LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_null(m);
    const char *msg = lstmcl_thread_last_error();
    printf("fp16 overflow: %s\n", msg);
    assert_non_null(strstr(msg, "weight_ih element 35 (row 4, column 3)"));
    assert_non_null(strstr(msg, "overflows fp16"));
    /* bf16 holds it */
    o.precision = LSTMCL_PRECISION_BF16;
    assert_int_equal(lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o, &m),
                     LSTMCL_SUCCESS);
    lstmcl_model_destroy(m);
    /* An unknown element type is refused. */
    w.input_weights[0].dtype = (lstmcl_dtype)7;
    assert_int_equal(lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o, &m),
                     LSTMCL_ERROR_INVALID_ARGUMENT);
    /* And the gemm algorithm refuses a reduced precision. */
    if (g_dev) {
        w.input_weights[0].dtype = LSTMCL_DTYPE_F32;
        o.algorithm = LSTMCL_ALGO_GEMM;
        assert_int_equal(lstmcl_model_create_with(g_dev, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o, &m),
                         LSTMCL_ERROR_UNSUPPORTED);
        assert_non_null(strstr(lstmcl_thread_last_error(), "gemm"));
    }
}

int main(int argc, char **argv)
{
    g_quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    g_scan = argc > 1 && strcmp(argv[1], "scan") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_device_bytes),
        cmocka_unit_test(test_contract),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
