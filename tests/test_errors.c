/* Every invalid input returns its status and a message naming the
 * parameter, on the reference context and (when one exists) on an OpenCL
 * device; nothing leaks on those paths (run under the sanitizer build). */
#define _POSIX_C_SOURCE 200809L
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
    w.input_weights[0] = (lstmcl_tensor){w_ih, 2, {4 * H, I, 0}};
    w.recurrent_weights[0] = (lstmcl_tensor){w_hh, 2, {4 * H, H, 0}};
    w.input_bias[0] = (lstmcl_tensor){b, 1, {4 * H, 0, 0}};
    w.recurrent_bias[0] = (lstmcl_tensor){b, 1, {4 * H, 0, 0}};
    return w;
}

/* Expects lstmcl_model_create to fail with `status` and a message
 * containing `needle`, leaving *model NULL. */
static void expect_create_fails(lstmcl_context *ctx, const lstmcl_model_desc *d,
                                lstmcl_convention conv, const lstmcl_layer_weights *w,
                                lstmcl_status status, const char *needle)
{
    lstmcl_model *m = (lstmcl_model *)&m; /* not NULL: must be reset */
    lstmcl_status st = lstmcl_model_create(ctx, d, conv, w, &m);
    if (st != status || !strstr(lstmcl_thread_last_error(), needle))
        fprintf(stderr, "expected status %d with \"%s\", got %d: %s\n", (int)status, needle,
                (int)st, lstmcl_thread_last_error());
    assert_int_equal(st, status);
    assert_null(m);
    assert_non_null(strstr(lstmcl_thread_last_error(), needle));
    if (ctx)
        assert_non_null(strstr(lstmcl_context_last_error(ctx), needle));
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
    w.peephole[0] = (lstmcl_tensor){peep, 1, {3 * H, 0, 0}};
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
    w.projection[0] = (lstmcl_tensor){proj, 2, {H, P, 0}};
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

/* Writes a kernel directory whose lstm_cell.cl does not compile. */
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
    char *saved = getenv("LSTMCL_KERNEL_DIR") ? strdup(getenv("LSTMCL_KERNEL_DIR")) : NULL;
    setenv("LSTMCL_KERNEL_DIR", dir, 1);
    lstmcl_model_desc d = base_desc();
    lstmcl_layer_weights w = base_weights();
    /* No source file there. */
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_KERNEL_SOURCE,
                        "lstm_cell.cl: cannot open kernel source");
    /* A source that does not compile: the message carries the build log. */
    char path[256];
    snprintf(path, sizeof path, "%s/lstm_cell.cl", dir);
    write_file(path, "__kernel void lstm_cell(__global float *p) { p[0] = undeclared_name; }\n");
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_KERNEL_BUILD,
                        "undeclared_name");
    assert_non_null(strstr(lstmcl_context_last_error(ctx), "build log"));
    remove(path);
    rmdir(dir);
    /* An unknown algorithm name is refused, naming the variable. */
    unsetenv("LSTMCL_KERNEL_DIR");
    char *saved_algo = getenv("LSTMCL_ALGO") ? strdup(getenv("LSTMCL_ALGO")) : NULL;
    setenv("LSTMCL_ALGO", "fastest", 1);
    expect_create_fails(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, LSTMCL_ERROR_INVALID_ARGUMENT,
                        "LSTMCL_ALGO=\"fastest\" is not one of");
    if (saved_algo) {
        setenv("LSTMCL_ALGO", saved_algo, 1);
        free(saved_algo);
    } else {
        unsetenv("LSTMCL_ALGO");
    }
    if (saved) {
        setenv("LSTMCL_KERNEL_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("LSTMCL_KERNEL_DIR");
    }
    lstmcl_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_context),
        cmocka_unit_test(test_device_context),
        cmocka_unit_test(test_bad_device_specs),
        cmocka_unit_test(test_kernel_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
