/* Which weights a model puts on its device (host/weights.c, plan.c): each
 * copy only where an algorithm that reads it can run. On a CPU device the
 * automatic choice runs the fused step or the persistent kernel, which read
 * R and the projection arranged (rt_buf, pt_buf); the plain copies (r_buf,
 * proj_buf) are the gemm algorithm's alone. White-box: the library's
 * internal layer records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "internal.h"
#include "test_util.h"

enum { H = 24, I = 16, P = 12 };

static lstmcl_model *create(lstmcl_context *ctx, lstmcl_algorithm algo, float *buf)
{
    lstmcl_model_desc d = {0};
    d.input_size = I;
    d.hidden_size = H;
    d.proj_size = P;
    d.num_layers = 1;
    d.direction = LSTMCL_FORWARD;
    d.no_bias = 1;
    lstmcl_layer_weights w = {0};
    tu_rng r = {7};
    tu_fill(&r, buf, 4 * H * I + 4 * H * P + P * H, -0.2f, 0.2f);
    w.input_weights[0] = (lstmcl_tensor){buf, 2, {4 * H, I}, LSTMCL_DTYPE_F32};
    w.recurrent_weights[0] = (lstmcl_tensor){buf + 4 * H * I, 2, {4 * H, P}, LSTMCL_DTYPE_F32};
    w.projection[0] = (lstmcl_tensor){buf + 4 * H * I + 4 * H * P, 2, {P, H}, LSTMCL_DTYPE_F32};
    lstmcl_model_options o;
    lstmcl_model_options_init(&o);
    o.algorithm = algo;
    lstmcl_model *m = NULL;
    lstmcl_status st = lstmcl_model_create_with(ctx, &d, LSTMCL_CONVENTION_PYTORCH, &w,
                                                &o, &m);
    if (st != LSTMCL_SUCCESS)
        fail_msg("model (%s): %s", lstmcl_algorithm_name(algo), lstmcl_context_last_error(ctx));
    return m;
}

static void test_uploads_what_runs(void **state)
{
    (void)state;
    lstmcl_context *ctx = tu_open_device();
    if (!ctx)
        skip();
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_device_info(ctx, &info), LSTMCL_SUCCESS);
    float *buf = malloc((4 * H * I + 4 * H * P + P * H) * sizeof(float));
    assert_non_null(buf);
    /* gemm forced: the plain copies only */
    lstmcl_model *m = create(ctx, LSTMCL_ALGO_GEMM, buf);
    assert_non_null(m->layers[0].r_buf);
    assert_non_null(m->layers[0].proj_buf);
    assert_null(m->layers[0].rt_buf);
    assert_null(m->layers[0].pt_buf);
    lstmcl_model_destroy(m);
    /* fused forced: the arranged copies only */
    m = create(ctx, LSTMCL_ALGO_FUSED, buf);
    assert_null(m->layers[0].r_buf);
    assert_null(m->layers[0].proj_buf);
    assert_non_null(m->layers[0].rt_buf);
    assert_non_null(m->layers[0].pt_buf);
    lstmcl_model_destroy(m);
    /* automatic: a CPU device never runs gemm (without a tuning file
     * saying so); other devices run it above a batch of 16 */
    m = create(ctx, LSTMCL_ALGO_AUTO, buf);
    const int cpu = (info.type & CL_DEVICE_TYPE_CPU) != 0;
    if (cpu && m->n_tuned == 0)
        assert_null(m->layers[0].r_buf);
    else
        assert_non_null(m->layers[0].r_buf);
    assert_non_null(m->layers[0].rt_buf);
    lstmcl_model_destroy(m);
    free(buf);
    lstmcl_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uploads_what_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
