/* Contexts and models created and run from several threads at once, in a
 * process where nothing touched OpenCL before (the header promises that
 * distinct contexts may be used from distinct threads at once). */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

enum { THREADS = 4, I = 5, H = 11, T = 4, N = 3 };

typedef struct job {
    int index;
    lstmcl_status status;
    char error[256];
    double diff;
} job;

static void *run(void *arg)
{
    job *jb = arg;
    lstmcl_context *ctx = NULL;
    lstmcl_model *m = NULL;
    jb->diff = -1.0;
    jb->status = lstmcl_context_create(NULL, &ctx);
    if (jb->status != LSTMCL_SUCCESS) {
        snprintf(jb->error, sizeof jb->error, "%s", lstmcl_thread_last_error());
        return NULL;
    }
    static float w[4 * H * (I + H) + 8 * H];
    float x[T * N * I], y[T * N * H], yr[T * N * H];
    tu_rng r = {(uint64_t)jb->index + 1};
    tu_fill(&r, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    lstmcl_model_desc d;
    memset(&d, 0, sizeof d);
    d.input_size = I;
    d.hidden_size = H;
    d.num_layers = 1;
    lstmcl_layer_weights lw;
    memset(&lw, 0, sizeof lw);
    lw.input_weights[0] = (lstmcl_tensor){w, 2, {4 * H, I, 0}, LSTMCL_DTYPE_F32};
    lw.recurrent_weights[0] = (lstmcl_tensor){w + 4 * H * I, 2, {4 * H, H, 0}, LSTMCL_DTYPE_F32};
    lw.input_bias[0] = (lstmcl_tensor){w + 4 * H * (I + H), 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    lw.recurrent_bias[0] = (lstmcl_tensor){w + 4 * H * (I + H) + 4 * H, 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
    lstmcl_forward_args a = {T, N, 0, x, NULL, NULL, NULL, y, NULL, NULL};
    jb->status = lstmcl_model_create(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &lw, &m);
    if (jb->status == LSTMCL_SUCCESS)
        jb->status = lstmcl_forward(m, &a);
    a.y = yr;
    if (jb->status == LSTMCL_SUCCESS)
        jb->status = lstmcl_forward_reference(m, &a);
    if (jb->status == LSTMCL_SUCCESS)
        jb->diff = tu_max_abs_diff(y, yr, T * N * H, NULL);
    else
        snprintf(jb->error, sizeof jb->error, "%s", lstmcl_thread_last_error());
    lstmcl_model_destroy(m);
    lstmcl_context_destroy(ctx);
    return NULL;
}

static void test_concurrent_contexts(void **state)
{
    (void)state;
    /* Fill the shared (read-only) weights before any thread starts. */
    tu_rng r = {42};
    static float w[4 * H * (I + H) + 8 * H];
    (void)w;
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < THREADS; i++) {
            memset(&jobs[i], 0, sizeof jobs[i]);
            jobs[i].index = i;
            assert_int_equal(pthread_create(&th[i], NULL, run, &jobs[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < THREADS; i++) {
            if (jobs[i].status == LSTMCL_ERROR_NO_DEVICE && round == 0 && i == 0) {
                /* No OpenCL device at all: every thread must agree. */
                for (int k = 0; k < THREADS; k++)
                    assert_int_equal(jobs[k].status, LSTMCL_ERROR_NO_DEVICE);
                skip();
            }
            if (jobs[i].status != LSTMCL_SUCCESS)
                fprintf(stderr, "thread %d: %s\n", i, jobs[i].error);
            assert_int_equal(jobs[i].status, LSTMCL_SUCCESS);
            assert_true(jobs[i].diff >= 0.0 && jobs[i].diff < 1e-5);
        }
    }
    (void)r;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_concurrent_contexts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
