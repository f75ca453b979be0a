/* oneDNN baseline: oneDNN's LSTM primitive (forward inference, FP32) on the
 * CPU engine, fed the bench's weights, one primitive per layer (layers above
 * the first read D*Hout-wide input, which a single multi-layer primitive
 * cannot express). The weights are reordered into the primitive's preferred
 * layout before timing, as a user would do once. Compiled for real when
 * CMake finds oneDNN (LSTMCL_BENCH_HAVE_DNNL), else a stub. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef LSTMCL_BENCH_HAVE_DNNL

int bench_onednn_available(void) { return 0; }
const char *bench_onednn_version(void) { return "not built"; }
void bench_onednn_run(const bench_weights *w, const float *ref_y, double target_ms,
                      double tolerance, bench_result *r)
{
    (void)w;
    (void)ref_y;
    (void)target_ms;
    (void)tolerance;
    snprintf(r->error, sizeof r->error, "oneDNN not built in");
    r->ok = 0;
}

#else

#include <oneapi/dnnl/dnnl.h>

int bench_onednn_available(void) { return 1; }

const char *bench_onednn_version(void)
{
    static char buf[64];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    return buf;
}

/* Per layer: the primitive and the memories it executes with. */
enum { W_LAYER, W_ITER, W_PROJ, W_BIAS, W_COUNT };

typedef struct dnn_layer {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t w[W_COUNT]; /* in the primitive's layout */
    dnnl_memory_t dst;        /* (T, N, D*Hout) tnc */
} dnn_layer;

typedef struct dnn {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dnnl_memory_t src; /* (T, N, I) tnc */
    dnn_layer *layers;
    size_t nlayers;
    bench_result *r;
} dnn;

static int dnn_fail(dnn *d, const char *call, dnnl_status_t st)
{
    if (st == dnnl_success)
        return 0;
    snprintf(d->r->error, sizeof d->r->error, "oneDNN %s failed (status %d)", call, (int)st);
    d->r->ok = 0;
    return -1;
}

#define DNN_TRY(d, call)                  \
    do {                                  \
        if (dnn_fail((d), #call, (call))) \
            goto fail;                    \
    } while (0)

/* Creates a memory in `want`'s layout holding `user` (plain layout
 * `user_md`), reordering when the layouts differ. */
static int dnn_weights(dnn *d, const dnnl_memory_desc_t *user_md, const float *user,
                       const dnnl_memory_desc_t *want, dnnl_memory_t *out)
{
    dnnl_memory_t um = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t reorder = NULL;
    *out = NULL;
    DNN_TRY(d, dnnl_memory_create(&um, user_md, d->eng, (void *)user));
    DNN_TRY(d, dnnl_memory_create(out, want, d->eng, DNNL_MEMORY_ALLOCATE));
    DNN_TRY(d, dnnl_reorder_primitive_desc_create(&rpd, user_md, d->eng, want, d->eng, NULL));
    DNN_TRY(d, dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, um}, {DNNL_ARG_TO, *out}};
    DNN_TRY(d, dnnl_primitive_execute(reorder, d->stream, 2, args));
    DNN_TRY(d, dnnl_stream_wait(d->stream));
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(um);
    return 0;
fail:
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(um);
    dnnl_memory_destroy(*out);
    *out = NULL;
    return -1;
}

static int dnn_layer_create(dnn *d, const bench_weights *w, size_t l)
{
    const bench_config *c = &w->cfg;
    const dnnl_dim_t T = (dnnl_dim_t)c->T, N = (dnnl_dim_t)c->N, H = (dnnl_dim_t)c->H;
    const dnnl_dim_t Ho = (dnnl_dim_t)bench_hout(c), D = (dnnl_dim_t)bench_dirs(c);
    const dnnl_dim_t P = (dnnl_dim_t)c->P;
    const dnnl_dim_t In = l == 0 ? (dnnl_dim_t)c->I : D * Ho;
    dnn_layer *dl = &d->layers[l];
    const lstmcl_layer_weights *lw = &w->layers[l];

    /* PyTorch (4H, In) gate-major rows become oneDNN's ldigo (1, D, In, 4, H);
     * the gate order i, f, g, o is the same in both. Biases add up. */
    size_t nwl = (size_t)(D * In * 4 * H), nwi = (size_t)(D * Ho * 4 * H);
    size_t nwp = (size_t)(D * H * P), nb = (size_t)(D * 4 * H);
    float *buf = malloc((nwl + nwi + nwp + nb) * sizeof(float));
    dnnl_memory_desc_t md_src, md_dst, md_user[W_COUNT], md_any[W_COUNT];
    dnnl_rnn_desc_t rd;
    if (!buf) {
        snprintf(d->r->error, sizeof d->r->error, "out of host memory");
        return -1;
    }
    float *wl = buf, *wi = wl + nwl, *wp = wi + nwi, *bias = wp + nwp;
    for (dnnl_dim_t dir = 0; dir < D; ++dir) {
        const float *Wih = lw->input_weights[dir].data, *Whh = lw->recurrent_weights[dir].data;
        const float *bih = lw->input_bias[dir].data, *bhh = lw->recurrent_bias[dir].data;
        for (dnnl_dim_t g = 0; g < 4 * H; ++g) {
            for (dnnl_dim_t i = 0; i < In; ++i)
                wl[(dir * In + i) * 4 * H + g] = Wih[g * In + i];
            for (dnnl_dim_t i = 0; i < Ho; ++i)
                wi[(dir * Ho + i) * 4 * H + g] = Whh[g * Ho + i];
            bias[dir * 4 * H + g] = bih[g] + bhh[g];
        }
        if (P > 0) {
            /* PyTorch weight_hr (P, H) becomes ldio (1, D, H, P) */
            const float *Whr = lw->projection[dir].data;
            for (dnnl_dim_t p = 0; p < P; ++p)
                for (dnnl_dim_t h = 0; h < H; ++h)
                    wp[(dir * H + h) * P + p] = Whr[p * H + h];
        }
    }

    dnnl_dims_t d_src = {T, N, In}, d_dst = {T, N, D * Ho};
    dnnl_dims_t d_wl = {1, D, In, 4, H}, d_wi = {1, D, Ho, 4, H}, d_wp = {1, D, H, P};
    dnnl_dims_t d_b = {1, D, 4, H};
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_src, 3, d_src, dnnl_f32, dnnl_tnc));
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_dst, 3, d_dst, dnnl_f32, dnnl_tnc));
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_user[W_LAYER], 5, d_wl, dnnl_f32, dnnl_ldigo));
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_user[W_ITER], 5, d_wi, dnnl_f32, dnnl_ldigo));
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_user[W_BIAS], 4, d_b, dnnl_f32, dnnl_ldgo));
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_any[W_LAYER], 5, d_wl, dnnl_f32, dnnl_format_tag_any));
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_any[W_ITER], 5, d_wi, dnnl_f32, dnnl_format_tag_any));
    DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_any[W_BIAS], 4, d_b, dnnl_f32, dnnl_format_tag_any));
    if (P > 0) {
        DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_user[W_PROJ], 4, d_wp, dnnl_f32, dnnl_ldio));
        DNN_TRY(d, dnnl_memory_desc_init_by_tag(&md_any[W_PROJ], 4, d_wp, dnnl_f32, dnnl_format_tag_any));
    }
    DNN_TRY(d, dnnl_lstm_forward_desc_init_v3(
                   &rd, dnnl_forward_inference,
                   D == 2 ? dnnl_bidirectional_concat : dnnl_unidirectional_left2right, &md_src,
                   NULL, NULL, &md_any[W_LAYER], &md_any[W_ITER], NULL,
                   P > 0 ? &md_any[W_PROJ] : NULL, &md_any[W_BIAS], &md_dst, NULL, NULL,
                   dnnl_rnn_flags_undef));
    DNN_TRY(d, dnnl_primitive_desc_create(&dl->pd, &rd, NULL, d->eng, NULL));
    DNN_TRY(d, dnnl_primitive_create(&dl->prim, dl->pd));
    static const int args[W_COUNT] = {DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER,
                                      DNNL_ARG_WEIGHTS_PROJECTION, DNNL_ARG_BIAS};
    const float *user[W_COUNT] = {wl, wi, wp, bias};
    for (int k = 0; k < W_COUNT; ++k) {
        if (k == W_PROJ && P == 0)
            continue;
        const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(dl->pd, dnnl_query_exec_arg_md, args[k]);
        if (!want) {
            snprintf(d->r->error, sizeof d->r->error, "oneDNN: no memory desc for weight %d", k);
            goto fail;
        }
        if (dnn_weights(d, &md_user[k], user[k], want, &dl->w[k]))
            goto fail;
    }
    DNN_TRY(d, dnnl_memory_create(&dl->dst, &md_dst, d->eng, DNNL_MEMORY_ALLOCATE));
    if (l == 0)
        DNN_TRY(d, dnnl_memory_create(&d->src, &md_src, d->eng, (void *)w->x));
    free(buf);
    return 0;
fail:
    free(buf);
    return -1;
}

static int dnn_forward(dnn *d)
{
    for (size_t l = 0; l < d->nlayers; ++l) {
        dnn_layer *dl = &d->layers[l];
        dnnl_exec_arg_t args[6];
        int n = 0;
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC_LAYER, l == 0 ? d->src : d->layers[l - 1].dst};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS_LAYER, dl->w[W_LAYER]};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS_ITER, dl->w[W_ITER]};
        if (dl->w[W_PROJ])
            args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS_PROJECTION, dl->w[W_PROJ]};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, dl->w[W_BIAS]};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST_LAYER, dl->dst};
        if (dnn_fail(d, "dnnl_primitive_execute", dnnl_primitive_execute(dl->prim, d->stream, n, args)))
            return -1;
    }
    return dnn_fail(d, "dnnl_stream_wait", dnnl_stream_wait(d->stream));
}

void bench_onednn_run(const bench_weights *w, const float *ref_y, double target_ms,
                      double tolerance, bench_result *r)
{
    dnn d;
    memset(&d, 0, sizeof d);
    d.r = r;
    r->ok = 0;
    r->tolerance = tolerance;
    double *times = NULL;
    d.nlayers = w->cfg.L;
    d.layers = calloc(d.nlayers, sizeof *d.layers);
    if (!d.layers) {
        snprintf(r->error, sizeof r->error, "out of host memory");
        return;
    }
    DNN_TRY(&d, dnnl_engine_create(&d.eng, dnnl_cpu, 0));
    DNN_TRY(&d, dnnl_stream_create(&d.stream, d.eng, dnnl_stream_default_flags));
    for (size_t l = 0; l < d.nlayers; ++l)
        if (dnn_layer_create(&d, w, l))
            goto fail;

    /* warm-up, calibration pass, timed repetitions (as for lstmcl) */
    double est = 0.0;
    for (int pass = 0; pass < 2; ++pass) {
        double t0 = bench_now_ms();
        if (dnn_forward(&d))
            goto fail;
        est = bench_now_ms() - t0;
        if (est >= target_ms && est >= BENCH_SLOW_MS)
            break;
    }
    size_t reps = bench_calibrate(est, target_ms, 1000);
    times = malloc(reps * sizeof *times);
    if (!times) {
        snprintf(r->error, sizeof r->error, "out of host memory");
        goto fail;
    }
    for (size_t i = 0; i < reps; ++i) {
        double t0 = bench_now_ms();
        if (dnn_forward(&d))
            goto fail;
        times[i] = bench_now_ms() - t0;
    }
    r->wall = bench_stats_of(times, reps);
    r->ok = 1;
    if (ref_y) {
        void *y = NULL;
        DNN_TRY(&d, dnnl_memory_get_data_handle(d.layers[d.nlayers - 1].dst, &y));
        size_t ny = w->cfg.T * w->cfg.N * bench_dirs(&w->cfg) * bench_hout(&w->cfg);
        r->max_rel_err = bench_max_rel_err((const float *)y, ref_y, ny);
        r->check = r->max_rel_err <= tolerance;
    }
fail:
    free(times);
    for (size_t l = 0; l < d.nlayers; ++l) {
        dnn_layer *dl = &d.layers[l];
        for (int k = 0; k < W_COUNT; ++k)
            dnnl_memory_destroy(dl->w[k]);
        dnnl_memory_destroy(dl->dst);
        dnnl_primitive_destroy(dl->prim);
        dnnl_primitive_desc_destroy(dl->pd);
    }
    free(d.layers);
    dnnl_memory_destroy(d.src);
    if (d.stream)
        dnnl_stream_destroy(d.stream);
    if (d.eng)
        dnnl_engine_destroy(d.eng);
}

#endif /* LSTMCL_BENCH_HAVE_DNNL */
