/* Every invalid input returns its status and a message naming the
 * parameter, on the reference context and (when one exists) on an OpenCL
 * device; nothing leaks on those paths (run under the sanitizer build). */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

enum { I = 3, H = 4, P = 2, T = 5, N = 2 };

static float w_ih[4 * H * 2 * H], w_hh[4 * H * H], b[8 * H], peep[3 * H], proj[P * H];

static lstmcl_model_desc base_desc(void)
{
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = I;
    d.hidden_size = H;
    d.num_layers = 1;
    return d;
}

static lstmcl_layer_weights base_weights(void)
{
    lstmcl_layer_weights w;
    memset(&w, 0, sizeof w);
    w.input_weights[0] = (lstmcl_tensor){w_ih, 2, {4 * H, I, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_weights[0] = (lstmcl_tensor){w_hh, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    w.input_bias[0] = (lstmcl_tensor){b, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_bias[0] = (lstmcl_tensor){b, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    return w;
}

/* Expects lstmcl_model_create_with(options) to fail with `status` and a
 * message containing `needle`, leaving *model NULL. */
static void expect_create_with_fails(lstmcl_context *ctx, const lstmcl_model_desc *d,
                                     lstmcl_convention conv, const lstmcl_layer_weights *w,
                                     const lstmcl_model_options *options, lstmcl_status status,
                                     const char *needle)
{
    lstmcl_model *m = (lstmcl_model *)&m; /* not NULL: must be reset */
    lstmcl_status st = lstmcl_model_create_with(ctx, d, conv, w, options, &m);
    if (st != status || !strstr(lstmcl_thread_last_error(), needle))
        fprintf(stderr, "expected status %d with \"%s\", got %d: %s\n", (int)status, needle,
                (int)st, lstmcl_thread_last_error());
    assert_int_equal(st, status);
    assert_null(m);
    assert_non_null(strstr(lstmcl_thread_last_error(), needle));
    if (ctx)
        assert_non_null(strstr(lstmcl_context_last_error(ctx), needle));
}

static void expect_create_fails(lstmcl_context *ctx, const lstmcl_model_desc *d,
                                lstmcl_convention conv, const lstmcl_layer_weights *w,
                                lstmcl_status status, const char *needle)
{
    expect_create_with_fails(ctx, d, conv, w, NULL, status, needle);
}

static void check_invalid_descriptions(lstmcl_context *ctx)
{
    lstmcl_layer_weights w = base_weights();
    lstmcl_model_desc d;

    d = base_desc();
    d.input_size = 0;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "input_size must be > 0");
    d = base_desc();
    d.hidden_size = 0;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "hidden_size must be > 0");
    d = base_desc();
    d.num_layers = 0;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "num_layers must be > 0");
    d = base_desc();
    d.proj_size = H;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "proj_size = 4 must be smaller than hidden_size = 4");
    d = base_desc();
    d.direction = (lstmcl_direction)7;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "direction = 7");
    d = base_desc();
    d.has_clip = 1;
    d.clip = 0.0f;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "clip");
    d.clip = NAN;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "clip");
    d = base_desc();
    d.activations[0][LSTMCL_SLOT_G].kind = (lstmcl_activation_kind)99;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "activations[0][g] has unknown kind 99");
    d = base_desc();
    d.activations[0][LSTMCL_SLOT_F].kind = LSTMCL_ACT_LEAKY_RELU;
    d.activations[0][LSTMCL_SLOT_F].alpha = INFINITY;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "activations[0][f] alpha/beta must be finite");
    /* Sizes whose products overflow, or exceed what the kernels index. */
    d = base_desc();
    d.hidden_size = (size_t)1 << 28;
    d.input_size = (size_t)1 << 30;
    d.num_layers = 4;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_SIZE_OVERFLOW,
                        "overflows");
    d = base_desc();
    d.hidden_size = (size_t)1 << 29;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_SIZE_OVERFLOW,
                        "gate rows, more than the supported");
    d = base_desc();
    d.input_size = (size_t)-1;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_SIZE_OVERFLOW,
                        "input_size");
    d = base_desc();
    d.num_layers = (size_t)1 << 29;
    d.hidden_size = (size_t)1 << 20;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_SIZE_OVERFLOW,
                        "overflows");
    /* NULL pointers and an unknown convention. */
    d = base_desc();
    expect_create_fails(ctx, NULL, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "desc must not be NULL");
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "layers must not be NULL");
    expect_create_fails(ctx, &d, (lstmcl_convention)5, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "convention = 5");
    assert_int_equal(lstmcl_model_create(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, NULL),
                     LSTMCL_ERROR_INVALID_ARGUMENT);
    lstmcl_model *m = NULL;
    assert_int_equal(lstmcl_model_create(NULL, &d, LSTMCL_CONVENTION_PYTORCH, &w, &m),
                     LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(lstmcl_thread_last_error(), "ctx must not be NULL"));
}

static void check_invalid_weights(lstmcl_context *ctx)
{
    lstmcl_model_desc d = base_desc();
    lstmcl_layer_weights w;

    w = base_weights();
    w.recurrent_weights[0].dims[1] = H + 1;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_SHAPE,
                        "layer 0 direction 0: PyTorch weight_hh has shape (16, 5), expected "
                        "(16, 4)");
    w = base_weights();
    w.input_weights[0].ndim = 1;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_SHAPE,
                        "PyTorch weight_ih has shape (16), expected (16, 3)");
    w = base_weights();
    w.input_weights[0].ndim = 4;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_SHAPE,
                        "weight_ih has rank 4");
    w = base_weights();
    w.input_bias[0].data = NULL;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "PyTorch bias_ih is missing");
    /* A tensor the model does not use is an error, not silently ignored. */
    w = base_weights();
    w.peephole[0] = (lstmcl_tensor){peep, 1, {3 * H, 0, 0}, LSTMCL_DTYPE_F32};
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "peephole is given but the model does not use it");
    w = base_weights();
    w.input_weights[1] = w.input_weights[0];
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "direction 1: PyTorch weight_ih is given");
    /* Projection: weight_hr (P, H) needed, recurrent weights (4H, P). */
    d.proj_size = P;
    w = base_weights();
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_SHAPE,
                        "weight_hh has shape (16, 4), expected (16, 2)");
    w.recurrent_weights[0].dims[1] = P;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "weight_hr is missing");
    w.projection[0] = (lstmcl_tensor){proj, 2, {H, P, 0}, LSTMCL_DTYPE_F32};
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_SHAPE,
                        "weight_hr has shape (4, 2), expected (2, 4)");
    /* ONNX: B is (8H); a (4H) bias is refused. Keras: kernel is (I, 4H). */
    d = base_desc();
    w = base_weights();
    w.recurrent_bias[0].data = NULL;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_ONNX, &w, LSTMCL_ERROR_INVALID_SHAPE,
                        "ONNX B has shape (16), expected (32)");
    w = base_weights();
    w.recurrent_bias[0].data = NULL;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_KERAS, &w, LSTMCL_ERROR_INVALID_SHAPE,
                        "Keras kernel has shape (16, 3), expected (3, 16)");
    /* Layer 1 of a bidirectional model reads 2*Hout inputs. */
    d.num_layers = 2;
    d.direction = LSTMCL_BIDIRECTIONAL;
    lstmcl_layer_weights two[2] = {base_weights(), base_weights()};
    for (int l = 0; l < 2; l++) {
        two[l].input_weights[1] = two[l].input_weights[0];
        two[l].recurrent_weights[1] = two[l].recurrent_weights[0];
        two[l].input_bias[1] = two[l].input_bias[0];
        two[l].recurrent_bias[1] = two[l].recurrent_bias[0];
    }
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, two, LSTMCL_ERROR_INVALID_SHAPE,
                        "layer 1 direction 0: PyTorch weight_ih has shape (16, 3), expected "
                        "(16, 8)");
}

/* Non-finite values: one model that has every kind of tensor (two layers,
 * both directions, projection, peepholes), each (layer, direction, kind)
 * in a buffer of its own so that one poisoned value is in one tensor. */
enum { NF_L = 2, NF_KINDS = 6, NF_MAX = 8 * H * 2 * P };
static float nf_buf[NF_L][2][NF_KINDS][NF_MAX];
enum { NF_W, NF_R, NF_B, NF_RB, NF_PEEP, NF_PROJ };

static lstmcl_model_desc nf_desc(void)
{
    lstmcl_model_desc d = base_desc();
    d.proj_size = P;
    d.peephole = 1;
    d.num_layers = NF_L;
    d.direction = LSTMCL_BIDIRECTIONAL;
    return d;
}

/* Weights for nf_desc() in `conv`, every value `v` (biases `vb`). */
static void nf_weights(lstmcl_convention conv, float v, float vb, lstmcl_layer_weights w[NF_L])
{
    memset(w, 0, NF_L * sizeof *w);
    for (size_t l = 0; l < NF_L; l++)
        for (size_t d = 0; d < 2; d++) {
            float(*k)[NF_MAX] = nf_buf[l][d];
            for (size_t i = 0; i < NF_MAX; i++) {
                /* Alternating signs, so that nothing cancels by accident. */
                float sign = (i % 2) ? -1.0f : 1.0f;
                for (int kind = 0; kind < NF_KINDS; kind++)
                    k[kind][i] = sign * (kind == NF_B || kind == NF_RB ? vb : v);
            }
            size_t in = l ? 2 * P : I;
            if (conv == LSTMCL_CONVENTION_KERAS) {
                w[l].input_weights[d] = (lstmcl_tensor){k[NF_W], 2, {in, 4 * H, 0}, LSTMCL_DTYPE_F32};
                w[l].recurrent_weights[d] = (lstmcl_tensor){k[NF_R], 2, {P, 4 * H, 0}, LSTMCL_DTYPE_F32};
            } else {
                w[l].input_weights[d] = (lstmcl_tensor){k[NF_W], 2, {4 * H, in, 0}, LSTMCL_DTYPE_F32};
                w[l].recurrent_weights[d] = (lstmcl_tensor){k[NF_R], 2, {4 * H, P, 0}, LSTMCL_DTYPE_F32};
            }
            if (conv == LSTMCL_CONVENTION_ONNX) {
                w[l].input_bias[d] = (lstmcl_tensor){k[NF_B], 1, {8 * H, 0, 0}, LSTMCL_DTYPE_F32};
            } else {
                w[l].input_bias[d] = (lstmcl_tensor){k[NF_B], 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
                if (conv == LSTMCL_CONVENTION_PYTORCH)
                    w[l].recurrent_bias[d] = (lstmcl_tensor){k[NF_RB], 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
            }
            w[l].peephole[d] = (lstmcl_tensor){k[NF_PEEP], 1, {3 * H, 0, 0}, LSTMCL_DTYPE_F32};
            w[l].projection[d] = (lstmcl_tensor){k[NF_PROJ], 2, {P, H, 0}, LSTMCL_DTYPE_F32};
        }
}

static void check_nonfinite_weights(lstmcl_context *ctx)
{
    /* One poisoned value per case; the expected text spells out the name
     * the convention gives the tensor and the element's position in the
     * caller's array. Shapes (H = 4, P = 2, I = 3): W (16, 3) in layer 0
     * and (16, 4) in layer 1 (Keras: transposed), R (16, 2) (Keras (2, 16)),
     * biases 16 (ONNX B 32), peepholes 12, projection (2, 4). */
    static const struct {
        lstmcl_convention conv;
        int kind;
        size_t layer, dir, index;
        const char *text;
    } cases[] = {
        {LSTMCL_CONVENTION_PYTORCH, NF_W, 0, 0, 7,
         "layer 0 direction 0: PyTorch weight_ih element 7 (row 2, column 1) is "},
        {LSTMCL_CONVENTION_PYTORCH, NF_R, 1, 1, 5,
         "layer 1 direction 1: PyTorch weight_hh element 5 (row 2, column 1) is "},
        {LSTMCL_CONVENTION_PYTORCH, NF_B, 1, 0, 15,
         "layer 1 direction 0: PyTorch bias_ih element 15 is "},
        {LSTMCL_CONVENTION_PYTORCH, NF_RB, 0, 1, 0,
         "layer 0 direction 1: PyTorch bias_hh element 0 is "},
        {LSTMCL_CONVENTION_PYTORCH, NF_PEEP, 1, 1, 11,
         "layer 1 direction 1: PyTorch peephole element 11 is "},
        {LSTMCL_CONVENTION_PYTORCH, NF_PROJ, 1, 1, 7,
         "layer 1 direction 1: PyTorch weight_hr element 7 (row 1, column 3) is "},
        {LSTMCL_CONVENTION_ONNX, NF_W, 1, 1, 9,
         "layer 1 direction 1: ONNX W element 9 (row 2, column 1) is "},
        {LSTMCL_CONVENTION_ONNX, NF_R, 0, 1, 31,
         "layer 0 direction 1: ONNX R element 31 (row 15, column 1) is "},
        {LSTMCL_CONVENTION_ONNX, NF_B, 1, 0, 20, "layer 1 direction 0: ONNX B element 20 is "},
        {LSTMCL_CONVENTION_ONNX, NF_PEEP, 0, 0, 4, "layer 0 direction 0: ONNX P element 4 is "},
        {LSTMCL_CONVENTION_ONNX, NF_PROJ, 0, 1, 0,
         "layer 0 direction 1: ONNX projection element 0 (row 0, column 0) is "},
        {LSTMCL_CONVENTION_KERAS, NF_W, 0, 0, 17,
         "layer 0 direction 0: Keras kernel element 17 (row 1, column 1) is "},
        {LSTMCL_CONVENTION_KERAS, NF_R, 1, 0, 31,
         "layer 1 direction 0: Keras recurrent_kernel element 31 (row 1, column 15) is "},
        {LSTMCL_CONVENTION_KERAS, NF_B, 0, 1, 3, "layer 0 direction 1: Keras bias element 3 is "},
        {LSTMCL_CONVENTION_KERAS, NF_PEEP, 1, 0, 6,
         "layer 1 direction 0: Keras peephole element 6 is "},
        {LSTMCL_CONVENTION_KERAS, NF_PROJ, 1, 0, 4,
         "layer 1 direction 0: Keras projection element 4 (row 1, column 0) is "},
    };
    static const struct {
        float value;
        const char *name;
    } bad[] = {{NAN, "NaN"}, {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}};
    lstmcl_model_desc d = nf_desc();
    lstmcl_layer_weights w[NF_L];
    lstmcl_model *m = NULL;
    /* The model itself is fine: each failure below is the poisoned value. */
    for (int conv = 0; conv < 3; conv++) {
        nf_weights((lstmcl_convention)conv, 0.25f, 0.5f, w);
        lstmcl_status st = lstmcl_model_create(ctx, &d, (lstmcl_convention)conv, w, &m);
        if (st != LSTMCL_SUCCESS)
            fprintf(stderr, "convention %d: %s\n", conv, lstmcl_thread_last_error());
        assert_int_equal(st, LSTMCL_SUCCESS);
        lstmcl_model_destroy(m);
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            nf_weights(cases[c].conv, 0.25f, 0.5f, w);
            nf_buf[cases[c].layer][cases[c].dir][cases[c].kind][cases[c].index] = bad[b].value;
            char needle[160];
            snprintf(needle, sizeof needle, "%s%s", cases[c].text, bad[b].name);
            expect_create_fails(ctx, &d, cases[c].conv, w, LSTMCL_ERROR_INVALID_ARGUMENT, needle);
        }
    /* The first bad value is the one named: two in one tensor. */
    nf_weights(LSTMCL_CONVENTION_PYTORCH, 0.25f, 0.5f, w);
    nf_buf[0][0][NF_R][9] = INFINITY;
    nf_buf[0][0][NF_R][3] = NAN;
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "PyTorch weight_hh element 3 (row 1, column 1) is NaN");
    /* Values on either side of a block edge and the very last one (the
     * check works in blocks of 1024 values). */
    {
        enum { BH = 100 };
        static float big[4 * BH * BH];
        static const struct {
            size_t index;
            const char *text;
        } at[] = {
            {1023, "PyTorch weight_hh element 1023 (row 10, column 23) is -Inf"},
            {1024, "PyTorch weight_hh element 1024 (row 10, column 24) is -Inf"},
            {4 * BH * BH - 1, "PyTorch weight_hh element 39999 (row 399, column 99) is -Inf"},
        };
        lstmcl_model_desc bd = base_desc();
        bd.hidden_size = BH;
        bd.no_bias = 1;
        lstmcl_layer_weights bw;
        memset(&bw, 0, sizeof bw);
        static float small[4 * BH * I];
        bw.input_weights[0] = (lstmcl_tensor){small, 2, {4 * BH, I, 0}, LSTMCL_DTYPE_F32};
        bw.recurrent_weights[0] = (lstmcl_tensor){big, 2, {4 * BH, BH, 0}, LSTMCL_DTYPE_F32};
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            memset(big, 0, sizeof big);
            big[at[i].index] = -INFINITY;
            expect_create_fails(ctx, &bd, LSTMCL_CONVENTION_PYTORCH, &bw,
                                LSTMCL_ERROR_INVALID_ARGUMENT, at[i].text);
        }
    }
    /* Large but finite values, and the smallest subnormal, are weights
     * like any other. (The biases stay below FLT_MAX / 2: their sum is
     * stored.) */
    const float finite[][2] = {{FLT_MAX, 1.5e38f}, {FLT_TRUE_MIN, FLT_TRUE_MIN}};
    for (size_t f = 0; f < 2; f++)
        for (int conv = 0; conv < 3; conv++) {
            nf_weights((lstmcl_convention)conv, finite[f][0], finite[f][1], w);
            m = NULL;
            lstmcl_status st = lstmcl_model_create(ctx, &d, (lstmcl_convention)conv, w, &m);
            if (st != LSTMCL_SUCCESS)
                fprintf(stderr, "finite %g, convention %d: %s\n", (double)finite[f][0], conv,
                        lstmcl_thread_last_error());
            assert_int_equal(st, LSTMCL_SUCCESS);
            assert_non_null(m);
            lstmcl_model_destroy(m);
        }
}

static lstmcl_model *good_model(lstmcl_context *ctx)
{
    lstmcl_model_desc d = base_desc();
    lstmcl_layer_weights w = base_weights();
    lstmcl_model *m = NULL;
    assert_int_equal(lstmcl_model_create(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &m),
                     LSTMCL_SUCCESS);
    return m;
}

static void expect_forward_fails(lstmcl_model *m, const lstmcl_forward_args *a,
                                 lstmcl_status status, const char *needle, int reference)
{
    lstmcl_status st = reference ? lstmcl_forward_reference(m, a) : lstmcl_forward(m, a);
    if (st != status || !strstr(lstmcl_thread_last_error(), needle))
        fprintf(stderr, "expected status %d with \"%s\", got %d: %s\n", (int)status, needle,
                (int)st, lstmcl_thread_last_error());
    assert_int_equal(st, status);
    assert_non_null(strstr(lstmcl_thread_last_error(), needle));
}

static void check_invalid_forward(lstmcl_context *ctx)
{
    lstmcl_model *m = good_model(ctx);
    float x[T * N * I] = {0}, y[T * N * H];
    int32_t lens[N] = {T, 0};
    for (int reference = 0; reference < 2; reference++) {
        lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
        a.seq_len = 0;
        expect_forward_fails(m, &a, LSTMCL_ERROR_INVALID_ARGUMENT, "seq_len must be > 0",
                             reference);
        a.seq_len = T;
        a.batch = 0;
        expect_forward_fails(m, &a, LSTMCL_ERROR_INVALID_ARGUMENT, "batch must be > 0",
                             reference);
        a.batch = N;
        a.x = NULL;
        expect_forward_fails(m, &a, LSTMCL_ERROR_INVALID_ARGUMENT, "x must not be NULL",
                             reference);
        a.x = x;
        a.seq_lens = lens;
        expect_forward_fails(m, &a, LSTMCL_ERROR_INVALID_ARGUMENT,
                             "seq_lens[1] = 0 is outside 1..5", reference);
        lens[1] = T + 1;
        expect_forward_fails(m, &a, LSTMCL_ERROR_INVALID_ARGUMENT,
                             "seq_lens[1] = 6 is outside 1..5", reference);
        lens[1] = 0;
        a.seq_lens = NULL;
        a.seq_len = (size_t)1 << 40;
        expect_forward_fails(m, &a, LSTMCL_ERROR_SIZE_OVERFLOW, "seq_len", reference);
        a.seq_len = (size_t)1 << 16;
        a.batch = (size_t)1 << 16;
        expect_forward_fails(m, &a, LSTMCL_ERROR_SIZE_OVERFLOW,
                             "exceeds the supported 2147483647 rows", reference);
        expect_forward_fails(m, NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "args must not be NULL",
                             reference);
    }
    lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
    assert_int_equal(lstmcl_forward(NULL, &a), LSTMCL_ERROR_INVALID_ARGUMENT);
    /* A valid call still works after all of that. */
    assert_int_equal(lstmcl_forward(m, &a), LSTMCL_SUCCESS);
    lstmcl_model_destroy(m);
}

static void test_reference_context(void **state)
{
    (void)state;
    lstmcl_context *ctx = NULL;
    assert_int_equal(lstmcl_context_create("reference", &ctx), LSTMCL_SUCCESS);
    check_invalid_descriptions(ctx);
    check_invalid_weights(ctx);
    check_nonfinite_weights(ctx);
    check_invalid_forward(ctx);
    /* Device-only calls on the reference context. */
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_device_info(ctx, &info), LSTMCL_ERROR_UNSUPPORTED);
    assert_int_equal(lstmcl_context_cl_objects(ctx, NULL, NULL, NULL), LSTMCL_ERROR_UNSUPPORTED);
    lstmcl_model *m = good_model(ctx);
    lstmcl_forward_cl_args ca;
    memset(&ca, 0, sizeof ca);
    cl_event ev = (cl_event)&ev;
    assert_int_equal(lstmcl_forward_cl(m, &ca, &ev), LSTMCL_ERROR_UNSUPPORTED);
    assert_null(ev);
    assert_non_null(strstr(lstmcl_context_last_error(ctx), "CPU reference context"));
    lstmcl_model_destroy(m);
    lstmcl_context_destroy(ctx);
}

static void test_device_context(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    check_invalid_descriptions(ctx);
    check_invalid_weights(ctx);
    check_nonfinite_weights(ctx);
    check_invalid_forward(ctx);
    lstmcl_model *m = good_model(ctx);
    lstmcl_forward_cl_args ca;
    memset(&ca, 0, sizeof ca);
    ca.seq_len = T;
    ca.batch = N;
    assert_int_equal(lstmcl_forward_cl(m, &ca, NULL), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(lstmcl_context_last_error(ctx), "x must not be NULL"));
    lstmcl_model_destroy(m);
    lstmcl_context_destroy(ctx);
}

static void test_bad_device_specs(void **state)
{
    (void)state;
    lstmcl_context *ctx = (lstmcl_context *)&ctx;
    assert_int_equal(lstmcl_context_create("no-such-device-xyz", &ctx), LSTMCL_ERROR_NO_DEVICE);
    assert_null(ctx);
    assert_non_null(strstr(lstmcl_thread_last_error(), "no-such-device-xyz"));
    assert_int_equal(lstmcl_context_create("4096", &ctx), LSTMCL_ERROR_NO_DEVICE);
    assert_null(ctx);
    assert_int_equal(lstmcl_context_create("cpu", NULL), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lstmcl_device_count(NULL), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lstmcl_device_get_info(0, NULL), LSTMCL_ERROR_INVALID_ARGUMENT);
}

/* Writes a file of a kernel directory. */
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_kernel_failures(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    char dir[] = "/tmp/lstmcl-kernels-XXXXXX";
    assert_non_null(mkdtemp(dir));
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.kernel_dir = dir;
    opts.cache_dir = "off";
    lstmcl_model_desc d = base_desc();
    lstmcl_layer_weights w = base_weights();
    /* No source file there: the first of the step program's is named. */
    expect_create_with_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &opts,
                             LSTMCL_ERROR_KERNEL_SOURCE,
                             "lstm_wtype.h: cannot open kernel source");
    /* Sources that do not compile: the message carries the build log. */
    static const char *const files[] = {"lstm_wtype.h",  "lstm_args.h",     "lstm_common.cl",
                                        "lstm_gemm_path.cl", "lstm_fused.cl", "lstm_persist.cl",
                                        "lstm_state.cl"};
    char path[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        write_file(path, i == 3 ? "__kernel void lstm_cell(__global float *p) "
                                  "{ p[0] = undeclared_name; }\n"
                                : "\n");
    }
    expect_create_with_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &opts,
                             LSTMCL_ERROR_KERNEL_BUILD, "undeclared_name");
    assert_non_null(strstr(lstmcl_context_last_error(ctx), "build log"));
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
    lstmcl_context_destroy(ctx);
}

/* Every model option, set without the environment: each one overrides a
 * variable that would fail, a bad option value is the caller's error, and
 * the context's profiling option sets the queue. */
static void test_options(void **state)
{
    (void)state;
    lstmcl_model_desc d = base_desc();
    lstmcl_layer_weights w = base_weights();
    lstmcl_model_options o;
    /* Bad values: INVALID_ARGUMENT on every context. */
    lstmcl_context *ref = NULL;
    assert_int_equal(lstmcl_context_create("reference", &ref), LSTMCL_SUCCESS);
    lstmcl_model_options_init(&o);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.algorithm, LSTMCL_ALGO_UNSET);
    o.algorithm = (lstmcl_algorithm)42;
    expect_create_with_fails(ref, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o,
                             LSTMCL_ERROR_INVALID_ARGUMENT, "algorithm = 42");
    lstmcl_model_options_init(&o);
    o.persist_groups = 5000;
    expect_create_with_fails(ref, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o,
                             LSTMCL_ERROR_INVALID_ARGUMENT, "persist_groups = 5000");
    lstmcl_model_options_init(&o);
    o.persist_spin_limit = (size_t)1 << 31;
    expect_create_with_fails(ref, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o,
                             LSTMCL_ERROR_INVALID_ARGUMENT, "persist_spin_limit");
    lstmcl_model_options_init(&o);
    o.struct_size = 0;
    expect_create_with_fails(ref, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o,
                             LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_model_options_init");
    lstmcl_context_destroy(ref);
    /* The algorithm names, one table. */
    lstmcl_algorithm a;
    assert_int_equal(lstmcl_algorithm_from_name("persistent-cols", &a), LSTMCL_SUCCESS);
    assert_int_equal(a, LSTMCL_ALGO_PERSISTENT_COLS);
    assert_string_equal(lstmcl_algorithm_name(LSTMCL_ALGO_FUSED_ROWS), "fused-rows");
    assert_null(lstmcl_algorithm_name(LSTMCL_ALGO_UNSET));
    assert_int_equal(lstmcl_algorithm_from_name("fastest", &a), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(lstmcl_thread_last_error(), "auto, gemm, fused"));

    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    /* Every variable set to something that would fail or mislead; the
     * options, all set, must not read any of them. */
    static const char *const vars[][2] = {
        {"LSTMCL_ALGO", "bogus"},           {"LSTMCL_PERSIST_GROUPS", "-3"},
        {"LSTMCL_CACHE_DIR", "/proc/none"}, {"LSTMCL_TUNING_FILE", "/proc/none"},
        {"LSTMCL_KERNEL_DIR", "/proc/none"}, {"LSTMCL_QUEUE_PROFILING", "1"},
    };
    char *saved[6];
    for (size_t i = 0; i < 6; i++)
        saved[i] = tu_set_env(vars[i][0], vars[i][1]);
    char dir[] = "/tmp/lstmcl-options-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const lstmcl_algorithm algos[] = {LSTMCL_ALGO_GEMM, LSTMCL_ALGO_FUSED_ROWS,
                                             LSTMCL_ALGO_FUSED_COLS, LSTMCL_ALGO_PERSISTENT};
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) {
        lstmcl_model_options_init(&o);
        o.algorithm = algos[i];
        o.cache_dir = dir;
        o.tuning_file = "";
        o.kernel_dir = "";
        o.persist_groups = 1;
        o.persist_spin_limit = 1 << 20;
        lstmcl_model *m = NULL;
        lstmcl_status st = lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o,
                                                    &m);
        if (st != LSTMCL_SUCCESS)
            fprintf(stderr, "%s: %s\n", lstmcl_algorithm_name(algos[i]),
                    lstmcl_thread_last_error());
        assert_int_equal(st, LSTMCL_SUCCESS);
        const char *ran = lstmcl_model_algorithm(m, 1);
        const char *want = lstmcl_algorithm_name(algos[i]);
        assert_true(strncmp(ran, want, strlen(ran)) == 0); /* "persistent" for either layout */
        /* Right numbers: the device against the reference. */
        float x[3 * I], y[3 * H], yr[3 * H];
        for (size_t k = 0; k < 3 * I; k++)
            x[k] = (float)k / 7.0f - 1.0f;
        lstmcl_forward_args fa = {3, 1, 0, x, NULL, NULL, NULL, y, NULL, NULL};
        assert_int_equal(lstmcl_forward(m, &fa), LSTMCL_SUCCESS);
        fa.y = yr;
        assert_int_equal(lstmcl_forward_reference(m, &fa), LSTMCL_SUCCESS);
        for (size_t k = 0; k < 3 * H; k++)
            assert_true(fabsf(y[k] - yr[k]) <= 1e-5f * (1.0f + fabsf(yr[k])));
        lstmcl_model_destroy(m);
    }
    /* The cache went where the option said: the last model again loads. */
    lstmcl_model *m = NULL;
    assert_int_equal(lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &o, &m),
                     LSTMCL_SUCCESS);
    assert_int_equal(lstmcl_model_program_cached(m), 1);
    lstmcl_model_destroy(m);
    /* The context option decides the queue's profiling, whatever
     * $LSTMCL_QUEUE_PROFILING says. */
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_device_info(ctx, &info), LSTMCL_SUCCESS);
    for (int prof = 0; prof < 2; prof++) {
        lstmcl_context_options co;
        lstmcl_context_options_init(&co);
        assert_int_equal(co.queue_profiling, -1);
        co.queue_profiling = prof;
        char spec[32];
        snprintf(spec, sizeof spec, "%zu", info.index);
        lstmcl_context *c2 = NULL;
        assert_int_equal(lstmcl_context_create_with(spec, &co, &c2), LSTMCL_SUCCESS);
        cl_command_queue q = NULL;
        assert_int_equal(lstmcl_context_cl_objects(c2, NULL, NULL, &q), LSTMCL_SUCCESS);
        cl_command_queue_properties props = 0;
        assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof props, &props,
                                               NULL),
                         CL_SUCCESS);
        assert_int_equal((props & CL_QUEUE_PROFILING_ENABLE) != 0, prof);
        lstmcl_context_destroy(c2);
    }
    lstmcl_context_options co;
    lstmcl_context_options_init(&co);
    co.queue_profiling = 2;
    lstmcl_context *c3 = (lstmcl_context *)&c3;
    assert_int_equal(lstmcl_context_create_with(NULL, &co, &c3), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_null(c3);
    for (size_t i = 0; i < 6; i++)
        tu_restore_env(vars[i][0], saved[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    lstmcl_context_destroy(ctx);
}

/* A setting read from the environment that is wrong is the configuration's
 * fault, not the model's: LSTMCL_ERROR_INVALID_CONFIG, naming the variable
 * and quoting its value. */
static void test_invalid_config(void **state)
{
    (void)state;
    assert_int_equal(LSTMCL_ERROR_INVALID_CONFIG, 11);
    assert_string_equal(lstmcl_status_string(LSTMCL_ERROR_INVALID_CONFIG),
                        "invalid configuration (an option or the environment variable that "
                        "sets its default)");
    static const struct {
        const char *name, *value, *text;
    } bad[] = {
        {"LSTMCL_ALGO", "bogus", "LSTMCL_ALGO=\"bogus\" is not one of auto, gemm"},
        {"LSTMCL_ALGO", "fastest", "LSTMCL_ALGO=\"fastest\""},
        {"LSTMCL_PERSIST_GROUPS", "-3",
         "LSTMCL_PERSIST_GROUPS=\"-3\" is not a count from 1 to 4096"},
        {"LSTMCL_PERSIST_GROUPS", "0", "LSTMCL_PERSIST_GROUPS=\"0\""},
        {"LSTMCL_PERSIST_GROUPS", "4097", "LSTMCL_PERSIST_GROUPS=\"4097\""},
        {"LSTMCL_PERSIST_GROUPS", "+8", "LSTMCL_PERSIST_GROUPS=\"+8\""},
        {"LSTMCL_PERSIST_GROUPS", "8 groups", "LSTMCL_PERSIST_GROUPS=\"8 groups\""},
    };
    lstmcl_model_desc d = base_desc();
    lstmcl_layer_weights w = base_weights();
    lstmcl_context *ref = NULL;
    assert_int_equal(lstmcl_context_create("reference", &ref), LSTMCL_SUCCESS);
    lstmcl_context *ctx = tu_open_device();
    if (ctx && lstmcl_context_is_reference(ctx)) { /* LSTMCL_DEVICE=cpu */
        lstmcl_context_destroy(ctx);
        ctx = NULL;
    }
    char *algo = tu_set_env("LSTMCL_ALGO", NULL);
    char *groups = tu_set_env("LSTMCL_PERSIST_GROUPS", NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv(bad[i].name, bad[i].value, 1);
        /* The reference path reads no device setting. */
        lstmcl_model *m = NULL;
        assert_int_equal(lstmcl_model_create(ref, &d, LSTMCL_CONVENTION_PYTORCH, &w, &m),
                         LSTMCL_SUCCESS);
        lstmcl_model_destroy(m);
        if (ctx)
            expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w,
                                LSTMCL_ERROR_INVALID_CONFIG, bad[i].text);
        unsetenv(bad[i].name);
    }
    /* LSTMCL_DEVICE: a device index that does not exist. Where there is no
     * OpenCL device at all that is LSTMCL_ERROR_NO_DEVICE instead (test_api
     * checks it). */
    char *device = tu_set_env(LSTMCL_DEVICE_ENV, "999");
    lstmcl_context *bad_ctx = (lstmcl_context *)&bad_ctx;
    lstmcl_status st = lstmcl_context_create(NULL, &bad_ctx);
    assert_null(bad_ctx);
    size_t count = 0;
    assert_int_equal(lstmcl_device_count(&count), LSTMCL_SUCCESS);
    if (count > 0) {
        assert_int_equal(st, LSTMCL_ERROR_INVALID_CONFIG);
        assert_non_null(strstr(lstmcl_thread_last_error(),
                               "LSTMCL_DEVICE=\"999\": device index out of range"));
        /* The same index from the caller is the caller's mistake. */
        assert_int_equal(lstmcl_context_create("999", &bad_ctx), LSTMCL_ERROR_NO_DEVICE);
        assert_null(bad_ctx);
    } else {
        assert_int_equal(st, LSTMCL_ERROR_NO_DEVICE);
    }
    tu_restore_env(LSTMCL_DEVICE_ENV, device);
    if (ctx) {
        /* Valid values still create (the persistent count is checked even
         * where the model runs no persistent kernel, with gemm forced). */
        setenv("LSTMCL_PERSIST_GROUPS", "3", 1);
        lstmcl_model *m = good_model(ctx);
        lstmcl_model_destroy(m);
        setenv("LSTMCL_ALGO", "gemm", 1);
        m = good_model(ctx);
        assert_string_equal(lstmcl_model_algorithm(m, 1), "gemm");
        lstmcl_model_destroy(m);
        setenv("LSTMCL_PERSIST_GROUPS", "-3", 1);
        expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_CONFIG,
                            "LSTMCL_PERSIST_GROUPS=\"-3\"");
        /* An argument the caller got wrong is still the caller's. */
        unsetenv("LSTMCL_PERSIST_GROUPS");
        unsetenv("LSTMCL_ALGO");
        lstmcl_model_desc z = base_desc();
        z.hidden_size = 0;
        expect_create_fails(ctx, &z, LSTMCL_CONVENTION_PYTORCH, &w,
                            LSTMCL_ERROR_INVALID_ARGUMENT, "hidden_size must be > 0");
    }
    tu_restore_env("LSTMCL_ALGO", algo);
    tu_restore_env("LSTMCL_PERSIST_GROUPS", groups);
    lstmcl_context_destroy(ctx);
    lstmcl_context_destroy(ref);
    if (!ctx)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_context),
        cmocka_unit_test(test_device_context),
        cmocka_unit_test(test_bad_device_specs),
        cmocka_unit_test(test_kernel_failures),
        cmocka_unit_test(test_invalid_config),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
