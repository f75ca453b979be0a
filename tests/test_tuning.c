/* The tuning file: measured choices for this device are followed, the
 * nearest measured batch and hidden size apply, a model reads only the
 * entries of its own precision (an entry without one, or any entry of a
 * format-1 file, is fp32), and entries of other devices or drivers,
 * malformed lines, foreign files and anything but a regular file are
 * ignored. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

static float wbuf[4 * 40 * 40 + 64];

/* The options the next models get: a tuning file ("" none) and a forced
 * algorithm, never through the environment. */
static const char *g_tuning_file = "";
static lstmcl_algorithm g_algo = LSTMCL_ALGO_AUTO;
static lstmcl_precision g_precision = LSTMCL_PRECISION_UNSET;

static lstmcl_model *make_model(lstmcl_context *ctx, size_t H)
{
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = 3;
    d.hidden_size = H;
    d.num_layers = 1;
    tu_rng r = {3};
    tu_fill(&r, wbuf, sizeof wbuf / sizeof wbuf[0], -0.5f, 0.5f);
    lstmcl_layer_weights w;
    memset(&w, 0, sizeof w);
    w.input_weights[0] = (lstmcl_tensor){wbuf, 2, {4 * H, 3, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_weights[0] = (lstmcl_tensor){wbuf + 5, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    w.input_bias[0] = (lstmcl_tensor){wbuf + 9, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_bias[0] = (lstmcl_tensor){wbuf + 2, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    lstmcl_model *m = NULL;
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.tuning_file = g_tuning_file;
    opts.algorithm = g_algo;
    opts.precision = g_precision;
    assert_int_equal(lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &opts, &m),
                     LSTMCL_SUCCESS);
    return m;
}

static void check_forward(lstmcl_model *m, size_t H, size_t N)
{
    enum { T = 3 };
    float x[T * 8 * 3], y[T * 8 * 40], yr[T * 8 * 40];
    tu_rng r = {8};
    tu_fill(&r, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
    assert_int_equal(lstmcl_forward(m, &a), LSTMCL_SUCCESS);
    a.y = yr;
    assert_int_equal(lstmcl_forward_reference(m, &a), LSTMCL_SUCCESS);
    /* a reduced precision rounds h where it is stored: a sum near a
     * rounding boundary may round to the neighbouring half (4 steps of
     * 2^-11 allowed, as lstmcl-demo does) */
    double tol = 1e-5 + lstmcl_precision_reference_allowance(g_precision);
    assert_true(tu_max_abs_diff(y, yr, T * N * H, NULL) < tol);
}

static void write_tuning(const char *path, const char *header, const lstmcl_device_info *info,
                         const char *driver)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(header, f);
    fprintf(f, "%s\t%s\t9\t1\tgemm\n", info->name, driver);
    fprintf(f, "%s\t%s\t9\t8\tfused-cols\n", info->name, driver);
    fprintf(f, "Some Other GPU\t1.0\t9\t6\tgemm\n");
    fprintf(f, "%s\t%s\t9\tnot-a-number\tgemm\n", info->name, driver);
    fprintf(f, "%s\t%s\t9\t2\tno-such-algo\n", info->name, driver);
    fputs("truncated line without tabs\n", f);
    fclose(f);
}

static void test_tuning_file(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_device_info(ctx, &info), LSTMCL_SUCCESS);
    char path[] = "/tmp/lstmcl-tuning-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    /* lstmcl_tuning_file reports the environment's default. */
    char *saved = tu_set_env("LSTMCL_TUNING_FILE", path);
    char where[512];
    assert_int_equal(lstmcl_tuning_file(where, sizeof where), LSTMCL_SUCCESS);
    assert_string_equal(where, path);
    assert_int_equal(lstmcl_tuning_file(where, 4), LSTMCL_ERROR_INVALID_ARGUMENT);
    free(tu_set_env("LSTMCL_TUNING_FILE", ""));
    assert_int_equal(lstmcl_tuning_file(where, sizeof where), LSTMCL_ERROR_UNSUPPORTED);
    tu_restore_env("LSTMCL_TUNING_FILE", saved);
    g_tuning_file = path;

    write_tuning(path, "lstmcl-tuning 1\n", &info, info.driver_version);
    lstmcl_model *m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), "gemm");
    assert_string_equal(lstmcl_model_algorithm(m, 8), "fused-cols");
    assert_string_equal(lstmcl_model_algorithm(m, 6), "fused-cols"); /* nearest: 8 */
    assert_string_equal(lstmcl_model_algorithm(m, 2), "gemm");       /* nearest: 1 */
    check_forward(m, 9, 1);
    check_forward(m, 9, 8);
    lstmcl_model_destroy(m);
    /* Another hidden size takes the nearest measured one's entries. */
    m = make_model(ctx, 40);
    assert_string_equal(lstmcl_model_algorithm(m, 1), "gemm");
    assert_string_equal(lstmcl_model_algorithm(m, 8), "fused-cols");
    check_forward(m, 40, 8);
    lstmcl_model_destroy(m);

    /* The built-in rule when nothing applies. */
    m = NULL;
    g_tuning_file = "";
    m = make_model(ctx, 9);
    const char *builtin = lstmcl_model_algorithm(m, 1);
    lstmcl_model_destroy(m);
    /* Another driver version, a foreign header, no file: ignored. */
    g_tuning_file = path;
    write_tuning(path, "lstmcl-tuning 1\n", &info, "another driver");
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), builtin);
    lstmcl_model_destroy(m);
    write_tuning(path, "something else 7\n", &info, info.driver_version);
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), builtin);
    lstmcl_model_destroy(m);
    remove(path);
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), builtin);
    lstmcl_model_destroy(m);
    /* A forced algorithm overrides the file. */
    write_tuning(path, "lstmcl-tuning 1\n", &info, info.driver_version);
    g_algo = LSTMCL_ALGO_FUSED_ROWS;
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), "fused-rows");
    lstmcl_model_destroy(m);
    g_algo = LSTMCL_ALGO_AUTO;
    g_tuning_file = "";
    remove(path);
    lstmcl_context_destroy(ctx);
}

/* Format 2: each entry names its precision, and a model reads only the
 * entries of its own; an entry without one is fp32. The file below gives
 * fp32 one algorithm, int8 another, and fp16 nothing: each differs from
 * what fp16 chooses without a file, so an fp16 model that followed another
 * precision's entries would show it. */
static void test_tuning_precision(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_device_info(ctx, &info), LSTMCL_SUCCESS);
    char path[] = "/tmp/lstmcl-tuning-prec-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *drv = info.driver_version;

    /* What each precision chooses with no tuning file. */
    g_tuning_file = "";
    char builtin_fp16[32];
    g_precision = LSTMCL_PRECISION_FP16;
    lstmcl_model *m = make_model(ctx, 9);
    snprintf(builtin_fp16, sizeof builtin_fp16, "%s", lstmcl_model_algorithm(m, 1));
    lstmcl_model_destroy(m);
    /* fp32's and int8's choices in the file: two of these three, neither
     * fp16's own */
    const char *cand[] = {"fused-cols", "fused-rows", "persistent"}, *pick[2];
    size_t npick = 0;
    for (size_t i = 0; i < 3 && npick < 2; i++)
        if (strcmp(cand[i], builtin_fp16) != 0)
            pick[npick++] = cand[i];
    const char *fp32_pick = pick[0], *int8_pick = pick[1];

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("lstmcl-tuning 2\n", f);
    /* an entry without a precision: fp32 */
    fprintf(f, "%s\t%s\t9\t1\t%s\n", info.name, drv, fp32_pick);
    fprintf(f, "%s\t%s\t9\t8\t%s\tfp32\n", info.name, drv, fp32_pick);
    fprintf(f, "%s\t%s\t9\t1\t%s\tint8\n", info.name, drv, int8_pick);
    fprintf(f, "%s\t%s\t9\t8\t%s\tint8\n", info.name, drv, int8_pick);
    /* for no model: an unknown precision, a seventh field */
    fprintf(f, "%s\t%s\t9\t2\tgemm\tfp64\n", info.name, drv);
    fprintf(f, "%s\t%s\t9\t2\tgemm\tfp16\textra\n", info.name, drv);
    fclose(f);
    g_tuning_file = path;

    g_precision = LSTMCL_PRECISION_UNSET; /* fp32 */
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), fp32_pick);
    assert_string_equal(lstmcl_model_algorithm(m, 8), fp32_pick);
    assert_string_equal(lstmcl_model_algorithm(m, 2), fp32_pick);
    check_forward(m, 9, 2);
    lstmcl_model_destroy(m);

    /* fp16 has no entry: the built-in choice, not fp32's or int8's */
    g_precision = LSTMCL_PRECISION_FP16;
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), builtin_fp16);
    assert_string_equal(lstmcl_model_algorithm(m, 2), builtin_fp16);
    check_forward(m, 9, 2);
    lstmcl_model_destroy(m);

    /* int8 follows its own entries */
    g_precision = LSTMCL_PRECISION_INT8;
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), int8_pick);
    assert_string_equal(lstmcl_model_algorithm(m, 8), int8_pick);
    lstmcl_model_destroy(m);

    /* A format-1 file (before precisions): its entries are fp32 */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("lstmcl-tuning 1\n", f);
    fprintf(f, "%s\t%s\t9\t1\t%s\n", info.name, drv, fp32_pick);
    fclose(f);
    g_precision = LSTMCL_PRECISION_UNSET;
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), fp32_pick);
    lstmcl_model_destroy(m);
    g_precision = LSTMCL_PRECISION_FP16;
    m = make_model(ctx, 9);
    assert_string_equal(lstmcl_model_algorithm(m, 1), builtin_fp16);
    lstmcl_model_destroy(m);

    g_precision = LSTMCL_PRECISION_UNSET;
    g_tuning_file = "";
    remove(path);
    lstmcl_context_destroy(ctx);
}

/* A FIFO as the tuning file: opening it for reading would wait for a
 * writer for ever. It is ignored like an unreadable file, promptly. A
 * directory and a character device likewise. */
static void test_tuning_not_regular(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    g_tuning_file = "";
    lstmcl_model *m = make_model(ctx, 9);
    char builtin[32];
    snprintf(builtin, sizeof builtin, "%s", lstmcl_model_algorithm(m, 1));
    lstmcl_model_destroy(m);

    char dir[] = "/tmp/lstmcl-tuning-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/tuning.txt", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, dir, "/dev/zero"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        g_tuning_file = paths[i];
        tu_deadline(60, "lstmcl_model_create with a FIFO, directory or device as the tuning "
                        "file");
        m = make_model(ctx, 9);
        tu_deadline(0, NULL);
        assert_string_equal(lstmcl_model_algorithm(m, 1), builtin);
        check_forward(m, 9, 1);
        lstmcl_model_destroy(m);
    }
    remove(fifo);
    rmdir(dir);
    g_tuning_file = "";
    lstmcl_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tuning_file),
        cmocka_unit_test(test_tuning_precision),
        cmocka_unit_test(test_tuning_not_regular),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
