/* Versions, status strings, activations, devices, contexts and model
 * metadata. */
#define _POSIX_C_SOURCE 200809L
#include <sys/types.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(lstmcl_version_number(), LSTMCL_VERSION_NUMBER);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", LSTMCL_VERSION_MAJOR, LSTMCL_VERSION_MINOR,
             LSTMCL_VERSION_PATCH);
    assert_string_equal(lstmcl_version_string(), expect);
}

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(lstmcl_status_string(LSTMCL_SUCCESS), "success");
    assert_string_equal(lstmcl_status_string(LSTMCL_ERROR_INVALID_SHAPE),
                        "array of the wrong shape");
    /* OpenCL codes pass through with their names. */
    assert_string_equal(lstmcl_status_string((lstmcl_status)CL_OUT_OF_RESOURCES),
                        "CL_OUT_OF_RESOURCES");
    assert_string_equal(lstmcl_status_string((lstmcl_status)CL_BUILD_PROGRAM_FAILURE),
                        "CL_BUILD_PROGRAM_FAILURE");
    assert_string_equal(lstmcl_status_string((lstmcl_status)-1017), "CLBlast error");
    assert_string_equal(lstmcl_status_string((lstmcl_status)12345), "unknown status");
    assert_string_equal(lstmcl_status_string(LSTMCL_ERROR_INVALID_CONFIG),
                        "invalid configuration (an option or the environment variable that "
                        "sets its default)");
    /* Stable values: never renumbered. */
    assert_int_equal(LSTMCL_ERROR_INVALID_ARGUMENT, 1);
    assert_int_equal(LSTMCL_ERROR_NO_DEVICE, 5);
    assert_int_equal(LSTMCL_ERROR_CLBLAST, 10);
    assert_int_equal(LSTMCL_ERROR_INVALID_CONFIG, 11);
}

/* The allowance for h stored in half or bfloat16 against the reference:
 * 4 units of the stored type's rounding step (lstmcl.h). */
static void test_reference_allowance(void **state)
{
    (void)state;
    assert_true(lstmcl_precision_reference_allowance(LSTMCL_PRECISION_FP16) == 0x1p-9);
    assert_true(lstmcl_precision_reference_allowance(LSTMCL_PRECISION_BF16) == 0x1p-6);
    assert_true(lstmcl_precision_reference_allowance(LSTMCL_PRECISION_FP32) == 0.0);
    assert_true(lstmcl_precision_reference_allowance(LSTMCL_PRECISION_INT8) == 0.0);
    assert_true(lstmcl_precision_reference_allowance(LSTMCL_PRECISION_UNSET) == 0.0);
    assert_true(lstmcl_precision_reference_allowance((lstmcl_precision)99) == 0.0);
}

static void test_activation_table(void **state)
{
    (void)state;
    static const char *names[] = {"Sigmoid",  "Tanh",       "Relu",   "HardSigmoid",
                                  "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "Affine",
                                  "Elu",      "Softsign",   "Softplus"};
    for (int k = 0; k < 11; k++) {
        lstmcl_activation_kind kind;
        assert_int_equal(lstmcl_activation_from_name(names[k], &kind), LSTMCL_SUCCESS);
        assert_int_equal(kind, LSTMCL_ACT_SIGMOID + k);
        assert_string_equal(lstmcl_activation_name(kind), names[k]);
    }
    lstmcl_activation_kind kind;
    assert_int_equal(lstmcl_activation_from_name("leakyrelu", &kind), LSTMCL_SUCCESS);
    assert_int_equal(kind, LSTMCL_ACT_LEAKY_RELU);
    assert_int_equal(lstmcl_activation_from_name("Swish", &kind), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(lstmcl_thread_last_error(), "Swish"));
    assert_null(lstmcl_activation_name((lstmcl_activation_kind)99));
    /* ONNX operator defaults. */
    float a, b;
    assert_int_equal(lstmcl_activation_defaults(LSTMCL_ACT_LEAKY_RELU, &a, &b), LSTMCL_SUCCESS);
    assert_true(a == 0.01f && b == 0.0f);
    assert_int_equal(lstmcl_activation_defaults(LSTMCL_ACT_HARD_SIGMOID, &a, &b), LSTMCL_SUCCESS);
    assert_true(a == 0.2f && b == 0.5f);
    assert_int_equal(lstmcl_activation_defaults(LSTMCL_ACT_ELU, &a, &b), LSTMCL_SUCCESS);
    assert_true(a == 1.0f);
    assert_int_equal(lstmcl_activation_defaults(LSTMCL_ACT_THRESHOLDED_RELU, &a, &b),
                     LSTMCL_SUCCESS);
    assert_true(a == 1.0f);
    assert_int_equal(lstmcl_activation_defaults((lstmcl_activation_kind)42, &a, &b),
                     LSTMCL_ERROR_INVALID_ARGUMENT);
}

static void test_devices_and_contexts(void **state)
{
    (void)state;
    lstmcl_context_destroy(NULL); /* allowed */
    lstmcl_context *ref = NULL;
    assert_int_equal(lstmcl_context_create("CPU", &ref), LSTMCL_SUCCESS);
    assert_true(lstmcl_context_is_reference(ref));
    assert_string_equal(lstmcl_context_last_error(ref), "");
    lstmcl_context_destroy(ref);

    size_t count = 0;
    assert_int_equal(lstmcl_device_count(&count), LSTMCL_SUCCESS);
    if (count == 0)
        skip();
    lstmcl_device_info info;
    assert_int_equal(lstmcl_device_get_info(0, &info), LSTMCL_SUCCESS);
    assert_int_equal(info.index, 0);
    assert_true(strlen(info.name) > 0);
    assert_true(info.compute_units > 0);
    assert_true(info.global_mem_bytes > 0);
    assert_int_equal(lstmcl_device_get_info(count, &info), LSTMCL_ERROR_NO_DEVICE);

    /* By index, by a case-insensitive name substring, through the
     * environment variable. */
    lstmcl_device_info got;
    lstmcl_context *ctx = NULL;
    assert_int_equal(lstmcl_context_create("0", &ctx), LSTMCL_SUCCESS);
    assert_false(lstmcl_context_is_reference(ctx));
    assert_int_equal(lstmcl_context_device_info(ctx, &got), LSTMCL_SUCCESS);
    assert_string_equal(got.name, info.name);
    cl_context clc = NULL;
    cl_command_queue q = NULL;
    assert_int_equal(lstmcl_context_cl_objects(ctx, &clc, NULL, &q), LSTMCL_SUCCESS);
    assert_non_null(clc);
    assert_non_null(q);
    lstmcl_context_destroy(ctx);

    char sub[8] = {0};
    memcpy(sub, info.name, strlen(info.name) < 4 ? strlen(info.name) : 4);
    for (char *p = sub; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    assert_int_equal(lstmcl_context_create(sub, &ctx), LSTMCL_SUCCESS);
    lstmcl_context_destroy(ctx);

    char *saved = getenv(LSTMCL_DEVICE_ENV) ? strdup(getenv(LSTMCL_DEVICE_ENV)) : NULL;
    /* A spec from the environment that matches nothing is a bad setting;
     * the same spec passed by the caller is the caller's. */
    setenv(LSTMCL_DEVICE_ENV, "no-such-device-xyz", 1);
    assert_int_equal(lstmcl_context_create(NULL, &ctx), LSTMCL_ERROR_INVALID_CONFIG);
    assert_null(ctx);
    assert_non_null(strstr(lstmcl_thread_last_error(), "LSTMCL_DEVICE=\"no-such-device-xyz\""));
    assert_int_equal(lstmcl_context_create("no-such-device-xyz", &ctx), LSTMCL_ERROR_NO_DEVICE);
    assert_null(ctx);
    assert_null(strstr(lstmcl_thread_last_error(), "LSTMCL_DEVICE"));
    /* The caller's spec wins over the variable, whatever it holds. */
    ctx = NULL;
    assert_int_equal(lstmcl_context_create("0", &ctx), LSTMCL_SUCCESS);
    lstmcl_context_destroy(ctx);
    setenv(LSTMCL_DEVICE_ENV, "reference", 1);
    assert_int_equal(lstmcl_context_create("", &ctx), LSTMCL_SUCCESS);
    assert_true(lstmcl_context_is_reference(ctx));
    lstmcl_context_destroy(ctx);
    if (saved) {
        setenv(LSTMCL_DEVICE_ENV, saved, 1);
        free(saved);
    } else {
        unsetenv(LSTMCL_DEVICE_ENV);
    }
}

/* nn.LSTM(10, 20, num_layers=2): PyTorch reports 5920 parameters; with
 * proj_size=5 and bidirectional, 2 * (80*10 + 80*5 + 160 + 5*20)
 * + 2 * (80*10 + 80*5 + 160 + 5*20) = 5840. */
static void test_model_metadata(void **state)
{
    (void)state;
    lstmcl_context *ctx = NULL;
    assert_int_equal(lstmcl_context_create("cpu", &ctx), LSTMCL_SUCCESS);
    for (int variant = 0; variant < 2; variant++) {
        size_t I = 10, H = 20, P = variant ? 5 : 0, D = variant ? 2 : 1, Hout = P ? P : H;
        lstmcl_model_desc desc;
        memset(&desc, 0, sizeof desc);
        desc.input_size = I;
        desc.hidden_size = H;
        desc.proj_size = P;
        desc.num_layers = 2;
        desc.direction = variant ? LSTMCL_BIDIRECTIONAL : LSTMCL_FORWARD;
        static float zeros[80 * 80];
        lstmcl_layer_weights lw[2];
        memset(lw, 0, sizeof lw);
        for (size_t l = 0; l < 2; l++)
            for (size_t d = 0; d < D; d++) {
                size_t in = l ? D * Hout : I;
                lw[l].input_weights[d] = (lstmcl_tensor){zeros, 2, {4 * H, in, 0}, LSTMCL_DTYPE_F32};
                lw[l].recurrent_weights[d] = (lstmcl_tensor){zeros, 2, {4 * H, Hout, 0}, LSTMCL_DTYPE_F32};
                lw[l].input_bias[d] = (lstmcl_tensor){zeros, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
                lw[l].recurrent_bias[d] = (lstmcl_tensor){zeros, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
                if (P)
                    lw[l].projection[d] = (lstmcl_tensor){zeros, 2, {P, H, 0}, LSTMCL_DTYPE_F32};
            }
        lstmcl_model *m = NULL;
        assert_int_equal(lstmcl_model_create(ctx, &desc, LSTMCL_CONVENTION_PYTORCH, lw, &m),
                         LSTMCL_SUCCESS);
        assert_int_equal(lstmcl_model_parameter_count(m), variant ? 5840 : 5920);
        lstmcl_model_desc got;
        assert_int_equal(lstmcl_model_get_desc(m, &got), LSTMCL_SUCCESS);
        assert_int_equal(got.activations[0][LSTMCL_SLOT_F].kind, LSTMCL_ACT_SIGMOID);
        assert_int_equal(got.activations[0][LSTMCL_SLOT_G].kind, LSTMCL_ACT_TANH);
        assert_int_equal(got.activations[0][LSTMCL_SLOT_H].kind, LSTMCL_ACT_TANH);
        lstmcl_model_destroy(m);
    }
    lstmcl_model_destroy(NULL);
    assert_int_equal(lstmcl_model_parameter_count(NULL), 0);
    lstmcl_context_destroy(ctx);
}

/* Run in a process of its own whose OpenCL loader finds no platform at all
 * (the loader reads its configuration once per process): no devices is a
 * count of 0, not an error; a device context is LSTMCL_ERROR_NO_DEVICE
 * saying that no OpenCL device was found, even with LSTMCL_DEVICE set; the
 * reference context still opens. Returns 0 when all of that holds. */
static int no_platform_checks(void)
{
    size_t count = 99;
    lstmcl_status st = lstmcl_device_count(&count);
    if (st != LSTMCL_SUCCESS || count != 0) {
        fprintf(stderr, "device count: status %d, count %zu: %s\n", (int)st, count,
                lstmcl_thread_last_error());
        return 1;
    }
    const char *specs[] = {NULL, "", "0", "some-gpu"};
    for (int env = 0; env < 2; env++) {
        if (env)
            setenv(LSTMCL_DEVICE_ENV, "999", 1);
        for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
            lstmcl_context *ctx = (lstmcl_context *)&ctx;
            st = lstmcl_context_create(specs[i], &ctx);
            const char *msg = lstmcl_thread_last_error();
            if (st != LSTMCL_ERROR_NO_DEVICE || ctx != NULL ||
                !strstr(msg, "no OpenCL device found")) {
                fprintf(stderr, "context \"%s\" (LSTMCL_DEVICE %s): status %d: %s\n",
                        specs[i] ? specs[i] : "(null)", env ? "999" : "unset", (int)st, msg);
                return 1;
            }
        }
    }
    lstmcl_context *ref = NULL;
    if (lstmcl_context_create("cpu", &ref) != LSTMCL_SUCCESS) {
        fprintf(stderr, "cpu: %s\n", lstmcl_thread_last_error());
        return 1;
    }
    lstmcl_context_destroy(ref);
    return 0;
}

static void test_no_opencl_platform(void **state)
{
    (void)state;
    char dir[] = "/tmp/lstmcl-no-icd-XXXXXX";
    assert_non_null(mkdtemp(dir));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* An empty vendor directory: the ICD loader finds no platform. */
        setenv("OCL_ICD_VENDORS", dir, 1);
        unsetenv("OCL_ICD_FILENAMES");
        unsetenv(LSTMCL_DEVICE_ENV);
        execl("/proc/self/exe", "test_api", "--no-platform", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    rmdir(dir);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A model on ctx with `opts`, forward against the reference: the largest
 * difference; *algo_out gets the algorithm that ran. */
static double interop_run(lstmcl_context *ctx, const lstmcl_model_options *opts,
                          const char **algo_out)
{
    enum { I = 5, H = 19, T = 6, N = 3 };
    static float w_ih[4 * H * I], w_hh[4 * H * H], bias[4 * H], x[T * N * I];
    static float y[T * N * H], yr[T * N * H];
    tu_rng r = {77};
    tu_fill(&r, w_ih, 4 * H * I, -0.4f, 0.4f);
    tu_fill(&r, w_hh, 4 * H * H, -0.4f, 0.4f);
    tu_fill(&r, bias, 4 * H, -0.2f, 0.2f);
    tu_fill(&r, x, T * N * I, -1.0f, 1.0f);
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = I;
    d.hidden_size = H;
    d.num_layers = 1;
    lstmcl_layer_weights w;
    memset(&w, 0, sizeof w);
    w.input_weights[0] = (lstmcl_tensor){w_ih, 2, {4 * H, I, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_weights[0] = (lstmcl_tensor){w_hh, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    w.input_bias[0] = (lstmcl_tensor){bias, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_bias[0] = (lstmcl_tensor){bias, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    lstmcl_model *m = NULL;
    lstmcl_status st = lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, opts, &m);
    if (st != LSTMCL_SUCCESS)
        fprintf(stderr, "interop model: %s\n", lstmcl_thread_last_error());
    assert_int_equal(st, LSTMCL_SUCCESS);
    lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
    assert_int_equal(lstmcl_forward(m, &a), LSTMCL_SUCCESS);
    if (algo_out)
        *algo_out = lstmcl_model_algorithm(m, N);
    a.y = yr;
    assert_int_equal(lstmcl_forward_reference(m, &a), LSTMCL_SUCCESS);
    lstmcl_model_destroy(m);
    return tu_max_abs_diff(y, yr, T * N * H, NULL);
}

static cl_uint ref_count_ctx(cl_context c)
{
    cl_uint n = 0;
    assert_int_equal(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL),
                     CL_SUCCESS);
    return n;
}

/* The context's reference count once it has dropped to `want`, or after
 * 2 s: an implementation may drop the references its finished commands
 * hold a little after clFinish returns (PoCL does, from its own thread). */
static cl_uint ref_count_ctx_settled(cl_context c, cl_uint want)
{
    cl_uint n = ref_count_ctx(c);
    for (int i = 0; i < 200 && n != want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = ref_count_ctx(c);
    }
    return n;
}

static cl_uint ref_count_queue(cl_command_queue q)
{
    cl_uint n = 0;
    assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof n, &n, NULL),
                     CL_SUCCESS);
    return n;
}

/* The same, given up to 2 s to come down to `want`: a runtime may drop the
 * references its finished commands hold from its own threads, after
 * clFinish has returned (seen with PoCL, once in a cold run). A reference
 * lstmcl kept would stay. */
static cl_uint ref_count_queue_settled(cl_command_queue q, cl_uint want)
{
    cl_uint n = ref_count_queue(q);
    for (int i = 0; i < 200 && n != want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = ref_count_queue(q);
    }
    return n;
}

/* The caller's own context and queue: every algorithm runs on them, the
 * persistent kernel's give-up too; lstmcl holds its references until
 * destroy; a queue that does not fit is refused. */
static void test_interop(void **state)
{
    (void)state;
    lstmcl_context *probe = tu_open_device();
    if (!probe)
        skip();
    cl_device_id dev = NULL;
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_cl_objects(probe, NULL, &dev, NULL), LSTMCL_SUCCESS);
    assert_int_equal(lstmcl_context_device_info(probe, &info), LSTMCL_SUCCESS);
    cl_int err = CL_SUCCESS;
    cl_context cc = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_command_queue q = clCreateCommandQueue(cc, dev, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_uint rc0 = ref_count_ctx(cc), rq0 = ref_count_queue(q);

    lstmcl_context *ctx = NULL;
    assert_int_equal(lstmcl_context_create_from_cl(cc, dev, q, &ctx), LSTMCL_SUCCESS);
    assert_int_equal(ref_count_ctx(cc), rc0 + 1);
    assert_int_equal(ref_count_queue(q), rq0 + 1);
    assert_false(lstmcl_context_is_reference(ctx));
    cl_command_queue got = NULL;
    assert_int_equal(lstmcl_context_cl_objects(ctx, NULL, NULL, &got), LSTMCL_SUCCESS);
    assert_ptr_equal(got, q);
    lstmcl_device_info ii;
    assert_int_equal(lstmcl_context_device_info(ctx, &ii), LSTMCL_SUCCESS);
    assert_string_equal(ii.name, info.name);
    assert_int_equal(ii.index, info.index);

    /* Work the caller enqueued first stays ahead of lstmcl's and intact. */
    float pattern = 3.0f, back = 0.0f;
    cl_mem buf = clCreateBuffer(cc, CL_MEM_READ_WRITE, sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clEnqueueFillBuffer(q, buf, &pattern, sizeof pattern, 0, sizeof pattern, 0,
                                         NULL, NULL),
                     CL_SUCCESS);
    static const lstmcl_algorithm algos[] = {LSTMCL_ALGO_AUTO, LSTMCL_ALGO_GEMM,
                                             LSTMCL_ALGO_FUSED_ROWS, LSTMCL_ALGO_FUSED_COLS,
                                             LSTMCL_ALGO_PERSISTENT_ROWS,
                                             LSTMCL_ALGO_PERSISTENT_COLS};
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) {
        lstmcl_model_options o;
        lstmcl_model_options_init(&o);
        o.algorithm = algos[i];
        const char *ran = NULL;
        double diff = interop_run(ctx, &o, &ran);
        if (diff > 1e-4)
            fprintf(stderr, "interop %s: off by %g\n", lstmcl_algorithm_name(algos[i]), diff);
        assert_true(diff <= 1e-4);
        if (algos[i] == LSTMCL_ALGO_PERSISTENT_ROWS || algos[i] == LSTMCL_ALGO_PERSISTENT_COLS)
            assert_string_equal(ran, "persistent");
    }
    assert_int_equal(clEnqueueReadBuffer(q, buf, CL_TRUE, 0, sizeof back, &back, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_true(back == pattern);
    clReleaseMemObject(buf);

    /* The persistent kernel's give-up on the caller's queue: more groups
     * than can run at once and a short wait, then the fused step. */
    lstmcl_model_options o;
    lstmcl_model_options_init(&o);
    o.algorithm = LSTMCL_ALGO_PERSISTENT;
    o.persist_groups = 4 * info.compute_units + 4;
    o.persist_spin_limit = 1 << 14;
    const char *ran = NULL;
    assert_true(interop_run(ctx, &o, &ran) <= 1e-4);
    assert_non_null(ran);
    /* On CPU devices the extra groups can never start: the pass gave up. */
    if (info.type & CL_DEVICE_TYPE_CPU)
        assert_true(strncmp(ran, "fused", 5) == 0);
    lstmcl_context_destroy(ctx);
    assert_int_equal(ref_count_ctx_settled(cc, rc0), rc0);
    assert_int_equal(ref_count_queue_settled(q, rq0), rq0);

    /* Refused: NULLs, a queue of another context, an out-of-order queue. */
    lstmcl_context *bad = (lstmcl_context *)&bad;
    assert_int_equal(lstmcl_context_create_from_cl(cc, dev, NULL, &bad),
                     LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_null(bad);
    cl_context other = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_command_queue oq = clCreateCommandQueue(other, dev, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(lstmcl_context_create_from_cl(cc, dev, oq, &bad),
                     LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(lstmcl_thread_last_error(), "another context"));
    clReleaseCommandQueue(oq);
    clReleaseContext(other);
    cl_command_queue ooo =
        clCreateCommandQueue(cc, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (err == CL_SUCCESS) {
        assert_int_equal(lstmcl_context_create_from_cl(cc, dev, ooo, &bad),
                         LSTMCL_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(lstmcl_thread_last_error(), "out-of-order"));
        clReleaseCommandQueue(ooo);
    } else {
        fprintf(stderr, "no out-of-order queue on this device: that refusal not tested\n");
    }
    assert_null(bad);
    assert_int_equal(ref_count_ctx_settled(cc, rc0), rc0);
    clReleaseCommandQueue(q);
    clReleaseContext(cc);
    lstmcl_context_destroy(probe);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--no-platform") == 0)
        return no_platform_checks();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_activation_table),
        cmocka_unit_test(test_reference_allowance),
        cmocka_unit_test(test_devices_and_contexts),
        cmocka_unit_test(test_model_metadata),
        cmocka_unit_test(test_no_opencl_platform),
        cmocka_unit_test(test_interop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
