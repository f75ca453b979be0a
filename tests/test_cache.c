/* The program cache on disk: a second model of the same kind loads its
 * kernels instead of compiling them and still computes the right values; a
 * damaged, foreign or unwritable cache, or an entry that is not a regular
 * file, is skipped quietly. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
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

enum { I = 5, T = 4, N = 2 };
static float wbuf[4 * 16 * 16 * 4];

/* The cache directory the next models are created with (the option, so
 * the environment is never touched). */
static const char *g_cache_dir;

static lstmcl_model *make_model(lstmcl_context *ctx, size_t H)
{
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = I;
    d.hidden_size = H;
    d.num_layers = 1;
    tu_rng r = {99};
    tu_fill(&r, wbuf, sizeof wbuf / sizeof wbuf[0], -0.5f, 0.5f);
    lstmcl_layer_weights w;
    memset(&w, 0, sizeof w);
    w.input_weights[0] = (lstmcl_tensor){wbuf, 2, {4 * H, I, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_weights[0] = (lstmcl_tensor){wbuf + 7, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    w.input_bias[0] = (lstmcl_tensor){wbuf + 11, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    w.recurrent_bias[0] = (lstmcl_tensor){wbuf + 13, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    lstmcl_model *m = NULL;
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.cache_dir = g_cache_dir;
    lstmcl_status st = lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w, &opts, &m);
    if (st != LSTMCL_SUCCESS)
        fprintf(stderr, "%s\n", lstmcl_thread_last_error());
    assert_int_equal(st, LSTMCL_SUCCESS);
    return m;
}

/* The model's forward pass agrees with the reference. */
static void check_forward(lstmcl_model *m, size_t H)
{
    float x[T * N * I], y[T * N * 16], yr[T * N * 16];
    tu_rng r = {5};
    tu_fill(&r, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
    assert_int_equal(lstmcl_forward(m, &a), LSTMCL_SUCCESS);
    a.y = yr;
    assert_int_equal(lstmcl_forward_reference(m, &a), LSTMCL_SUCCESS);
    assert_true(tu_max_abs_diff(y, yr, T * N * H, NULL) < 1e-5);
}

/* Number of *.bin files in dir; the first one's path in `first`. */
static int count_entries(const char *dir, char *first, size_t cap)
{
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0) {
            if (n++ == 0 && first)
                snprintf(first, cap, "%s/%s", dir, e->d_name);
        }
    }
    closedir(dp);
    return n;
}

/* Overwrites the last 2 KiB of every cache file with other bytes. */
static void damage_tails(const char *dir)
{
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (!strstr(e->d_name, ".bin"))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r+b");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        long from = size > 2048 ? size - 2048 : size / 2;
        fseek(f, from, SEEK_SET);
        for (long i = from; i < size; i++)
            fputc((int)((i * 131) & 0xff), f);
        fclose(f);
    }
    closedir(dp);
}

static void test_cache_roundtrip(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    char dir[] = "/tmp/lstmcl-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/nested/dir", dir); /* created on demand */
    g_cache_dir = sub;

    lstmcl_model *m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 0);
    check_forward(m, 9);
    lstmcl_model_destroy(m);
    /* One file per program the model built (the step kernels, and on CPU
     * devices the GEMM). */
    char file[512];
    int files = count_entries(sub, file, sizeof file);
    assert_true(files >= 1 && files <= 2);

    /* The same kind of model again: loaded, not compiled, and right. */
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 1);
    check_forward(m, 9);
    lstmcl_model_destroy(m);

    /* Another hidden size is another step program (the GEMM's is shared). */
    m = make_model(ctx, 11);
    assert_int_equal(lstmcl_model_program_cached(m), 0);
    lstmcl_model_destroy(m);
    assert_int_equal(count_entries(sub, NULL, 0), files + 1);

    /* A damaged file is ignored, the program compiled and the file
     * replaced by a good one. */
    FILE *f = fopen(file, "r+b");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    fputs("garbage garbage garbage", f);
    fclose(f);
    m = make_model(ctx, 9);
    int first = lstmcl_model_program_cached(m);
    check_forward(m, 9);
    lstmcl_model_destroy(m);
    /* Depending on which file was damaged, H=9 or H=11 rebuilds. */
    lstmcl_model *m2 = make_model(ctx, 11);
    int second = lstmcl_model_program_cached(m2);
    lstmcl_model_destroy(m2);
    assert_int_equal(first + second, 1);
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 1);
    lstmcl_model_destroy(m);
    m = make_model(ctx, 11);
    assert_int_equal(lstmcl_model_program_cached(m), 1);
    lstmcl_model_destroy(m);

    /* A truncated file likewise. */
    assert_int_equal(truncate(file, 20), 0);
    m = make_model(ctx, 9);
    check_forward(m, 9);
    lstmcl_model_destroy(m);
    m = make_model(ctx, 11);
    lstmcl_model_destroy(m);

    /* Damaged binaries of the right length (the driver would run them):
     * refused by the checksum, the programs rebuilt and right. */
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 1);
    lstmcl_model_destroy(m);
    damage_tails(sub);
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 0);
    check_forward(m, 9);
    lstmcl_model_destroy(m);
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 1);
    lstmcl_model_destroy(m);
    /* A file others could have written is not trusted. */
    for (int i = 0; i < 2; i++) {
        char path[512];
        DIR *dp = opendir(sub);
        struct dirent *e;
        while ((e = readdir(dp)) != NULL)
            if (strstr(e->d_name, ".bin")) {
                snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
                assert_int_equal(chmod(path, i ? 0600 : 0666), 0);
            }
        closedir(dp);
        m = make_model(ctx, 9);
        assert_int_equal(lstmcl_model_program_cached(m), i ? 1 : 0);
        lstmcl_model_destroy(m);
    }

    /* Off: nothing is read. */
    g_cache_dir = "off";
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 0);
    lstmcl_model_destroy(m);
    /* A directory that cannot be created: quietly no cache. */
    g_cache_dir = "/proc/lstmcl-cannot-exist";
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 0);
    check_forward(m, 9);
    lstmcl_model_destroy(m);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    g_cache_dir = NULL;
    lstmcl_context_destroy(ctx);
}

/* Entries replaced by a FIFO (an open for reading would wait for a writer
 * for ever) and by a directory: skipped promptly, the programs compiled. */
static void test_cache_entry_not_regular(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    char dir[] = "/tmp/lstmcl-cache-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    g_cache_dir = dir;
    lstmcl_model *m = make_model(ctx, 9);
    lstmcl_model_destroy(m);
    m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 1);
    lstmcl_model_destroy(m);
    for (int kind = 0; kind < 2; kind++) {
        /* Every entry of the model becomes a FIFO, then a directory. */
        DIR *dp = opendir(dir);
        assert_non_null(dp);
        struct dirent *e;
        int replaced = 0;
        while ((e = readdir(dp)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len <= 4 || strcmp(e->d_name + len - 4, ".bin") != 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (kind == 0) {
                assert_int_equal(remove(path), 0);
                assert_int_equal(mkfifo(path, 0600), 0);
            } else {
                assert_int_equal(remove(path), 0);
                assert_int_equal(mkdir(path, 0700), 0);
            }
            replaced++;
        }
        closedir(dp);
        assert_true(replaced >= 1);
        tu_deadline(120, "lstmcl_model_create with a FIFO or a directory as a cache entry");
        m = make_model(ctx, 9);
        tu_deadline(0, NULL);
        assert_int_equal(lstmcl_model_program_cached(m), 0);
        check_forward(m, 9);
        lstmcl_model_destroy(m);
        /* A FIFO is replaced by a good entry (the new file is renamed over
         * its name); a directory stays, and stays skipped. */
        m = make_model(ctx, 9);
        assert_int_equal(lstmcl_model_program_cached(m), kind == 0 ? 1 : 0);
        lstmcl_model_destroy(m);
    }
    g_cache_dir = NULL;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    lstmcl_context_destroy(ctx);
}

static void test_reference_has_no_program(void **state)
{
    (void)state;
    lstmcl_context *ctx = NULL;
    assert_int_equal(lstmcl_context_create("cpu", &ctx), LSTMCL_SUCCESS);
    lstmcl_model *m = make_model(ctx, 9);
    assert_int_equal(lstmcl_model_program_cached(m), 0);
    assert_string_equal(lstmcl_model_algorithm(m, 1), "reference");
    lstmcl_model_destroy(m);
    assert_null(lstmcl_model_algorithm(NULL, 1));
    lstmcl_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_roundtrip),
        cmocka_unit_test(test_cache_entry_not_regular),
        cmocka_unit_test(test_reference_has_no_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
