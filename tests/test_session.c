/* Sessions: streams fed in chunks give the whole-sequence forward's
 * results (the CPU reference's, which test_device and test_golden prove),
 * on every algorithm, with streams joining, leaving and being reset, from
 * several threads at once, and through the persistent kernel's give-up. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

enum { MAXW = 8 };

/* A model with its weights (owned). */
typedef struct tmodel {
    lstmcl_model_desc desc;
    lstmcl_convention conv;
    lstmcl_layer_weights layers[3];
    float *pool[32];
    size_t npool;
} tmodel;

static float *tm_alloc(tmodel *t, tu_rng *r, size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    tu_fill(r, p, n, -scale, scale);
    t->pool[t->npool++] = p;
    return p;
}

/* kind 0: PyTorch, 2 layers, projection. kind 1: ONNX, peepholes, clip,
 * input_forget, HardSigmoid/Tanh/Softsign. kind 2: PyTorch, one plain
 * layer. */
static void tm_make(tmodel *t, int kind, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    tu_rng r = {seed};
    lstmcl_model_desc *d = &t->desc;
    d->input_size = 5;
    d->hidden_size = 19;
    d->num_layers = kind == 0 ? 2 : 1;
    t->conv = kind == 1 ? LSTMCL_CONVENTION_ONNX : LSTMCL_CONVENTION_PYTORCH;
    d->direction = LSTMCL_FORWARD;
    if (kind == 0)
        d->proj_size = 7;
    if (kind == 1) {
        d->peephole = 1;
        d->has_clip = 1;
        d->clip = 2.5f;
        d->input_forget = 1;
        d->activations[0][LSTMCL_SLOT_F] = (lstmcl_activation){LSTMCL_ACT_HARD_SIGMOID, 0.3f, 0.5f};
        d->activations[0][LSTMCL_SLOT_H] = (lstmcl_activation){LSTMCL_ACT_SOFTSIGN, 0, 0};
    }
    const size_t H = d->hidden_size, Hout = d->proj_size ? d->proj_size : H;
    for (size_t l = 0; l < d->num_layers; l++) {
        const size_t in = l == 0 ? d->input_size : Hout;
        lstmcl_layer_weights *w = &t->layers[l];
        if (kind != 1) {
            w->input_weights[0] = (lstmcl_tensor){tm_alloc(t, &r, 4 * H * in, 0.4f), 2, {4 * H, in, 0}, LSTMCL_DTYPE_F32};
            w->recurrent_weights[0] =
                (lstmcl_tensor){tm_alloc(t, &r, 4 * H * Hout, 0.4f), 2, {4 * H, Hout, 0}, LSTMCL_DTYPE_F32};
            w->input_bias[0] = (lstmcl_tensor){tm_alloc(t, &r, 4 * H, 0.2f), 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
            w->recurrent_bias[0] = (lstmcl_tensor){tm_alloc(t, &r, 4 * H, 0.2f), 1, {4 * H, 0, 0}, LSTMCL_DTYPE_F32};
            if (d->proj_size)
                w->projection[0] =
                    (lstmcl_tensor){tm_alloc(t, &r, Hout * H, 0.4f), 2, {Hout, H, 0}, LSTMCL_DTYPE_F32};
        } else {
            w->input_weights[0] =
                (lstmcl_tensor){tm_alloc(t, &r, 4 * H * in, 0.4f), 3, {1, 4 * H, in}, LSTMCL_DTYPE_F32};
            w->recurrent_weights[0] =
                (lstmcl_tensor){tm_alloc(t, &r, 4 * H * H, 0.4f), 3, {1, 4 * H, H}, LSTMCL_DTYPE_F32};
            w->input_bias[0] = (lstmcl_tensor){tm_alloc(t, &r, 8 * H, 0.2f), 2, {1, 8 * H, 0}, LSTMCL_DTYPE_F32};
            w->peephole[0] = (lstmcl_tensor){tm_alloc(t, &r, 3 * H, 0.3f), 2, {1, 3 * H, 0}, LSTMCL_DTYPE_F32};
        }
    }
}

static void tm_free(tmodel *t)
{
    for (size_t i = 0; i < t->npool; i++)
        free(t->pool[i]);
}

static lstmcl_model *tm_create(lstmcl_context *ctx, tmodel *t, const lstmcl_model_options *o)
{
    lstmcl_model *m = NULL;
    lstmcl_status st = lstmcl_model_create_with(ctx, &t->desc, t->conv, t->layers, o, &m);
    if (st != LSTMCL_SUCCESS)
        fprintf(stderr, "model: %s\n", lstmcl_thread_last_error());
    assert_int_equal(st, LSTMCL_SUCCESS);
    return m;
}

/* A stream: its whole input, initial state and the reference's outputs for
 * the whole sequence; and what the session gave, chunk by chunk. */
typedef struct tstream {
    size_t T, done, slot;
    float *x, *h0, *c0;   /* (T, I), (L, Hout), (L, H) */
    float *y_ref, *hn_ref, *cn_ref;
    float *y;             /* (T, Hout) from the session */
} tstream;

static void ts_make(tstream *s, lstmcl_model *ref_model, const lstmcl_model_desc *d, size_t T,
                    int with_state, uint64_t seed)
{
    const size_t I = d->input_size, H = d->hidden_size, L = d->num_layers;
    const size_t Hout = d->proj_size ? d->proj_size : H;
    tu_rng r = {seed};
    memset(s, 0, sizeof *s);
    s->T = T;
    s->x = malloc(T * I * sizeof(float));
    s->h0 = calloc(L * Hout, sizeof(float));
    s->c0 = calloc(L * H, sizeof(float));
    s->y_ref = malloc(T * Hout * sizeof(float));
    s->hn_ref = malloc(L * Hout * sizeof(float));
    s->cn_ref = malloc(L * H * sizeof(float));
    s->y = calloc(T * Hout, sizeof(float));
    assert_true(s->x && s->h0 && s->c0 && s->y_ref && s->hn_ref && s->cn_ref && s->y);
    tu_fill(&r, s->x, T * I, -1.0f, 1.0f);
    if (with_state) {
        tu_fill(&r, s->h0, L * Hout, -0.5f, 0.5f);
        tu_fill(&r, s->c0, L * H, -0.5f, 0.5f);
    }
    lstmcl_forward_args a = {T, 1, 0, s->x, NULL, s->h0, s->c0, s->y_ref, s->hn_ref, s->cn_ref};
    assert_int_equal(lstmcl_forward_reference(ref_model, &a), LSTMCL_SUCCESS);
}

static void ts_free(tstream *s)
{
    free(s->x);
    free(s->h0);
    free(s->c0);
    free(s->y_ref);
    free(s->hn_ref);
    free(s->cn_ref);
    free(s->y);
}

/* Added to the tolerance while a reduced precision runs: h stored in half
 * or bfloat16 may round to the neighbouring value on one side only. */
static float g_store_tol;

static int close_enough(const float *got, const float *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= (2e-4f + g_store_tol) * (1.0f + fabsf(want[i])))) {
            fprintf(stderr, "%s[%zu]: %g, want %g\n", what, i, (double)got[i],
                    (double)want[i]);
            return 0;
        }
    return 1;
}

/* Feeds streams[0 .. n-1] through the session in chunks of up to `chunk`
 * steps (the last ones shorter, so lengths differ within a call), a
 * rotating subset in a rotating order per call, then checks outputs and
 * final states against the whole-sequence reference. */
static void feed(lstmcl_session *se, const lstmcl_model_desc *d, tstream *st, size_t n,
                 size_t chunk, int exact_slots)
{
    const size_t I = d->input_size, H = d->hidden_size, L = d->num_layers;
    const size_t Hout = d->proj_size ? d->proj_size : H;
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(lstmcl_session_reset(se, &st[k].slot, 1, st[k].h0, st[k].c0),
                         LSTMCL_SUCCESS);
        st[k].done = 0;
    }
    float *x = malloc(chunk * MAXW * I * sizeof(float));
    float *y = malloc(chunk * MAXW * Hout * sizeof(float));
    assert_true(x && y);
    for (size_t call = 0;; call++) {
        size_t slots[MAXW], steps[MAXW], who[MAXW], cnt = 0, T = 0;
        for (size_t j = 0; j < n; j++) {
            size_t k = (j + call) % n;
            /* Every third call, one stream sits out (unless it is alone). */
            if (!exact_slots && n > 1 && (call % 3) == 2 && j == 0)
                continue;
            if (st[k].done == st[k].T)
                continue;
            size_t left = st[k].T - st[k].done;
            steps[cnt] = left < chunk ? left : chunk;
            slots[cnt] = st[k].slot;
            who[cnt++] = k;
            if (steps[cnt - 1] > T)
                T = steps[cnt - 1];
        }
        if (cnt == 0)
            break;
        memset(x, 0, chunk * MAXW * I * sizeof(float));
        for (size_t c = 0; c < cnt; c++)
            for (size_t t = 0; t < steps[c]; t++)
                memcpy(x + (t * cnt + c) * I, st[who[c]].x + (st[who[c]].done + t) * I,
                       I * sizeof(float));
        lstmcl_session_run_args a = {cnt, slots, steps, T, x, y};
        lstmcl_status s = lstmcl_session_run(se, &a);
        if (s != LSTMCL_SUCCESS)
            fprintf(stderr, "run: %s\n", lstmcl_session_last_error(se));
        assert_int_equal(s, LSTMCL_SUCCESS);
        for (size_t c = 0; c < cnt; c++) {
            for (size_t t = 0; t < steps[c]; t++)
                memcpy(st[who[c]].y + (st[who[c]].done + t) * Hout, y + (t * cnt + c) * Hout,
                       Hout * sizeof(float));
            /* Past a stream's steps y is zero. */
            for (size_t t = steps[c]; t < T; t++)
                for (size_t j = 0; j < Hout; j++)
                    assert_true(y[(t * cnt + c) * Hout + j] == 0.0f);
            st[who[c]].done += steps[c];
        }
    }
    free(x);
    free(y);
    for (size_t k = 0; k < n; k++) {
        float hn[3 * 32], cn[3 * 32];
        assert_int_equal(lstmcl_session_get_state(se, &st[k].slot, 1, hn, cn), LSTMCL_SUCCESS);
        assert_true(close_enough(st[k].y, st[k].y_ref, st[k].T * Hout, "y"));
        assert_true(close_enough(hn, st[k].hn_ref, L * Hout, "hn"));
        assert_true(close_enough(cn, st[k].cn_ref, L * H, "cn"));
    }
}

static lstmcl_context *g_dev, *g_ref;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(lstmcl_context_create("reference", &g_ref), LSTMCL_SUCCESS);
    g_dev = tu_open_device();
    if (g_dev && lstmcl_context_is_reference(g_dev)) {
        lstmcl_context_destroy(g_dev);
        g_dev = NULL;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lstmcl_context_destroy(g_dev);
    lstmcl_context_destroy(g_ref);
    return 0;
}

/* Chunked equals whole, for every algorithm, chunk lengths 1, 3 and 7, both
 * models, on the device and on the reference context. */
static void test_chunked_equals_whole(void **state)
{
    (void)state;
    static const lstmcl_algorithm algos[] = {LSTMCL_ALGO_AUTO,           LSTMCL_ALGO_GEMM,
                                             LSTMCL_ALGO_FUSED_ROWS,     LSTMCL_ALGO_FUSED_COLS,
                                             LSTMCL_ALGO_PERSISTENT_ROWS, LSTMCL_ALGO_PERSISTENT_COLS};
    static const size_t lengths[] = {11, 4, 9, 1, 7};
    for (int kind = 0; kind < 2; kind++) {
        tmodel t;
        tm_make(&t, kind, 100 + (uint64_t)kind);
        lstmcl_model *ref = tm_create(g_ref, &t, NULL);
        tstream st[5];
        static const size_t slots[] = {1, 4, 0, 3, 5}; /* slot 2 stays idle */
        for (size_t k = 0; k < 5; k++) {
            ts_make(&st[k], ref, &t.desc, lengths[k], k % 2, 1000 + k);
            st[k].slot = slots[k];
        }
        /* The reference context's sessions. */
        lstmcl_session *se = NULL;
        assert_int_equal(lstmcl_session_create(ref, 6, 7, &se), LSTMCL_SUCCESS);
        assert_string_equal(lstmcl_session_algorithm(se), "reference");
        for (size_t chunk = 1; chunk <= 7; chunk += 3)
            feed(se, &t.desc, st, 5, chunk, 0);
        lstmcl_session_destroy(se);
        for (size_t a = 0; g_dev && a < sizeof algos / sizeof algos[0]; a++) {
            lstmcl_model_options o;
            lstmcl_model_options_init(&o);
            o.algorithm = algos[a];
            lstmcl_model *m = tm_create(g_dev, &t, &o);
            assert_int_equal(lstmcl_session_create(m, 6, 7, &se), LSTMCL_SUCCESS);
            const char *algo = lstmcl_session_algorithm(se);
            if (algos[a] >= LSTMCL_ALGO_PERSISTENT)
                assert_string_equal(algo, "persistent");
            for (size_t chunk = 1; chunk <= 7; chunk += 3)
                feed(se, &t.desc, st, 5, chunk, 0);
            /* The algorithm stays the one chosen at creation. */
            assert_string_equal(lstmcl_session_algorithm(se), algo);
            lstmcl_session_destroy(se);
            lstmcl_model_destroy(m);
        }
        for (size_t k = 0; k < 5; k++)
            ts_free(&st[k]);
        lstmcl_model_destroy(ref);
        tm_free(&t);
    }
}

/* Sessions of every reduced precision, on the fused step and the
 * persistent kernel, against the whole-sequence reference of the same
 * precision (which computes with the same stored weights). */
static void test_precisions(void **state)
{
    (void)state;
    if (!g_dev)
        skip();
    static const lstmcl_precision precs[] = {LSTMCL_PRECISION_FP16, LSTMCL_PRECISION_BF16,
                                             LSTMCL_PRECISION_INT8};
    static const lstmcl_algorithm algos[] = {LSTMCL_ALGO_FUSED, LSTMCL_ALGO_PERSISTENT};
    static const size_t lengths[] = {11, 4, 9};
    for (size_t p = 0; p < sizeof precs / sizeof precs[0]; p++) {
        tmodel t;
        tm_make(&t, 0, 300 + (uint64_t)p);
        lstmcl_model_options o;
        lstmcl_model_options_init(&o);
        o.precision = precs[p];
        lstmcl_model *ref = tm_create(g_ref, &t, &o);
        tstream st[3];
        for (size_t k = 0; k < 3; k++) {
            ts_make(&st[k], ref, &t.desc, lengths[k], k % 2, 3000 + k);
            st[k].slot = k;
        }
        g_store_tol = (float)lstmcl_precision_reference_allowance(precs[p]);
        for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
            o.algorithm = algos[a];
            lstmcl_model *m = tm_create(g_dev, &t, &o);
            lstmcl_session *se = NULL;
            assert_int_equal(lstmcl_session_create(m, 4, 5, &se), LSTMCL_SUCCESS);
            feed(se, &t.desc, st, 3, 5, 0);
            lstmcl_session_destroy(se);
            lstmcl_model_destroy(m);
        }
        g_store_tol = 0.0f;
        for (size_t k = 0; k < 3; k++)
            ts_free(&st[k]);
        lstmcl_model_destroy(ref);
        tm_free(&t);
    }
}

/* Streams join, leave and are reset between calls; a refused call leaves
 * every slot as it was. */
static void test_slots(void **state)
{
    (void)state;
    tmodel t;
    tm_make(&t, 0, 7);
    lstmcl_model *ref = tm_create(g_ref, &t, NULL);
    lstmcl_model *m = g_dev ? tm_create(g_dev, &t, NULL) : ref;
    lstmcl_session *se = NULL;
    assert_int_equal(lstmcl_session_create(m, 4, 5, &se), LSTMCL_SUCCESS);
    const size_t L = 2, H = 19, Hout = 7, I = 5;
    /* Stream a in slot 2 runs 6 steps, then leaves; stream b joins in slot
     * 2 (reset to zero) and stream c in slot 0 with a given state. */
    tstream a, b, c;
    ts_make(&a, ref, &t.desc, 6, 1, 31);
    ts_make(&b, ref, &t.desc, 5, 0, 32);
    ts_make(&c, ref, &t.desc, 8, 1, 33);
    a.slot = 2;
    feed(se, &t.desc, &a, 1, 4, 1);
    b.slot = 2;
    c.slot = 0;
    tstream both[2] = {b, c};
    feed(se, &t.desc, both, 2, 3, 0);

    /* Refused calls change nothing. */
    float h_before[2 * 4 * 7], c_before[2 * 4 * 19], h_after[2 * 4 * 7], c_after[2 * 4 * 19];
    size_t all[4] = {0, 1, 2, 3};
    assert_int_equal(lstmcl_session_get_state(se, all, 4, h_before, c_before), LSTMCL_SUCCESS);
    float x[5 * 4 * 5];
    memset(x, 0, sizeof x);
    size_t twice[2] = {1, 1}, out_of_range[1] = {4}, steps_bad[2] = {2, 0};
    size_t ok2[2] = {0, 3};
    lstmcl_session_run_args r1 = {2, twice, NULL, 2, x, NULL};
    assert_int_equal(lstmcl_session_run(se, &r1), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(lstmcl_session_last_error(se), "slot 1 is given twice"));
    lstmcl_session_run_args r2 = {1, out_of_range, NULL, 2, x, NULL};
    assert_int_equal(lstmcl_session_run(se, &r2), LSTMCL_ERROR_INVALID_ARGUMENT);
    lstmcl_session_run_args r3 = {2, ok2, steps_bad, 2, x, NULL};
    assert_int_equal(lstmcl_session_run(se, &r3), LSTMCL_ERROR_INVALID_ARGUMENT);
    lstmcl_session_run_args r4 = {2, ok2, NULL, 6, x, NULL}; /* past max_chunk */
    assert_int_equal(lstmcl_session_run(se, &r4), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lstmcl_session_get_state(se, all, 4, h_after, c_after), LSTMCL_SUCCESS);
    assert_memory_equal(h_before, h_after, sizeof h_before);
    assert_memory_equal(c_before, c_after, sizeof c_before);
    /* Reset to zero reads back zero; the state is (L, count, ...). */
    assert_int_equal(lstmcl_session_reset(se, ok2, 2, NULL, NULL), LSTMCL_SUCCESS);
    assert_int_equal(lstmcl_session_get_state(se, ok2, 2, h_after, c_after), LSTMCL_SUCCESS);
    for (size_t i = 0; i < L * 2 * Hout; i++)
        assert_true(h_after[i] == 0.0f);
    for (size_t i = 0; i < L * 2 * H; i++)
        assert_true(c_after[i] == 0.0f);
    (void)I;
    ts_free(&a);
    ts_free(&b);
    ts_free(&c);
    lstmcl_session_destroy(se);
    if (m != ref)
        lstmcl_model_destroy(m);
    lstmcl_model_destroy(ref);
    tm_free(&t);
}

/* Bidirectional and reverse models cannot stream. */
static void test_refusals(void **state)
{
    (void)state;
    lstmcl_context *ctxs[2] = {g_ref, g_dev};
    for (int i = 0; i < 2; i++) {
        if (!ctxs[i])
            continue;
        for (int dir = 0; dir < 2; dir++) {
            tmodel t;
            tm_make(&t, 2, 9);
            if (dir == 0) {
                t.desc.direction = LSTMCL_BIDIRECTIONAL;
                t.layers[0].input_weights[1] = t.layers[0].input_weights[0];
                t.layers[0].recurrent_weights[1] = t.layers[0].recurrent_weights[0];
                t.layers[0].input_bias[1] = t.layers[0].input_bias[0];
                t.layers[0].recurrent_bias[1] = t.layers[0].recurrent_bias[0];
            } else {
                t.desc.direction = LSTMCL_REVERSE;
            }
            lstmcl_model *m = tm_create(ctxs[i], &t, NULL);
            lstmcl_session *se = (lstmcl_session *)&se;
            assert_int_equal(lstmcl_session_create(m, 2, 2, &se), LSTMCL_ERROR_UNSUPPORTED);
            assert_null(se);
            assert_non_null(strstr(lstmcl_thread_last_error(), "needs its future"));
            lstmcl_model_destroy(m);
            tm_free(&t);
        }
    }
    lstmcl_session *se = (lstmcl_session *)&se;
    assert_int_equal(lstmcl_session_create(NULL, 2, 2, &se), LSTMCL_ERROR_INVALID_ARGUMENT);
    assert_null(se);
}

/* The persistent kernel gives up inside a run (more groups than can run
 * at once, a short wait): the run is redone from the slots' state before
 * the call, and the session keeps the fused step. */
static void test_persist_fallback(void **state)
{
    (void)state;
    if (!g_dev)
        skip();
    lstmcl_device_info info;
    assert_int_equal(lstmcl_context_device_info(g_dev, &info), LSTMCL_SUCCESS);
    tmodel t;
    tm_make(&t, 0, 11);
    lstmcl_model *ref = tm_create(g_ref, &t, NULL);
    lstmcl_model_options o;
    lstmcl_model_options_init(&o);
    o.algorithm = LSTMCL_ALGO_PERSISTENT;
    o.persist_groups = 4 * info.compute_units + 4;
    o.persist_spin_limit = 1 << 14;
    lstmcl_model *m = tm_create(g_dev, &t, &o);
    lstmcl_session *se = NULL;
    assert_int_equal(lstmcl_session_create(m, 3, 4, &se), LSTMCL_SUCCESS);
    assert_string_equal(lstmcl_session_algorithm(se), "persistent");
    tstream st[3];
    for (size_t k = 0; k < 3; k++) {
        ts_make(&st[k], ref, &t.desc, 9 - 2 * k, 1, 50 + k);
        st[k].slot = k;
    }
    feed(se, &t.desc, st, 3, 4, 0);
    if (info.type & CL_DEVICE_TYPE_CPU) /* the extra groups never start there */
        assert_true(strncmp(lstmcl_session_algorithm(se), "fused", 5) == 0);
    for (size_t k = 0; k < 3; k++)
        ts_free(&st[k]);
    lstmcl_session_destroy(se);
    lstmcl_model_destroy(m);
    lstmcl_model_destroy(ref);
    tm_free(&t);
}

/* Sessions of one model from several threads at once: each thread's
 * results are the same, bit for bit, as the same work run alone. */
typedef struct job {
    lstmcl_model *m;
    const lstmcl_model_desc *d;
    float *x, *y;
    size_t T, N;
    lstmcl_status st;
} job;

static void *run_job(void *p)
{
    job *j = p;
    lstmcl_session *se = NULL;
    j->st = lstmcl_session_create(j->m, j->N, 3, &se);
    size_t slots[MAXW];
    for (size_t k = 0; k < j->N; k++)
        slots[k] = j->N - 1 - k;
    const size_t I = j->d->input_size, Hout = j->d->proj_size ? j->d->proj_size : j->d->hidden_size;
    for (size_t t0 = 0; j->st == LSTMCL_SUCCESS && t0 < j->T; t0 += 3) {
        size_t T = j->T - t0 < 3 ? j->T - t0 : 3;
        lstmcl_session_run_args a = {j->N, slots, NULL, T, j->x + t0 * j->N * I,
                                     j->y + t0 * j->N * Hout};
        j->st = lstmcl_session_run(se, &a);
    }
    lstmcl_session_destroy(se);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    tmodel t;
    tm_make(&t, 0, 21);
    lstmcl_context *ctx = g_dev ? g_dev : g_ref;
    /* The fused step: persistent kernels of several sessions at once may
     * give way to it in one run and not in another, and the two sum in
     * different orders (each is checked against the reference above). */
    lstmcl_model_options o;
    lstmcl_model_options_init(&o);
    o.algorithm = LSTMCL_ALGO_FUSED;
    lstmcl_model *m = tm_create(ctx, &t, &o);
    enum { NT = 3, T = 10, N = 4 };
    const size_t I = 5, Hout = 7;
    job jobs[NT], alone[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        tu_rng r = {(uint64_t)(70 + i)};
        jobs[i] = (job){m, &t.desc, malloc(T * N * I * sizeof(float)),
                        calloc(T * N * Hout, sizeof(float)), T, N, LSTMCL_SUCCESS};
        assert_true(jobs[i].x && jobs[i].y);
        tu_fill(&r, jobs[i].x, T * N * I, -1.0f, 1.0f);
        alone[i] = jobs[i];
        alone[i].y = calloc(T * N * Hout, sizeof(float));
        assert_non_null(alone[i].y);
        run_job(&alone[i]);
        assert_int_equal(alone[i].st, LSTMCL_SUCCESS);
    }
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NT; i++) {
        if (jobs[i].st != LSTMCL_SUCCESS)
            fprintf(stderr, "thread %d: status %d\n", i, (int)jobs[i].st);
        assert_int_equal(jobs[i].st, LSTMCL_SUCCESS);
        assert_memory_equal(jobs[i].y, alone[i].y, T * N * Hout * sizeof(float));
        free(jobs[i].x);
        free(jobs[i].y);
        free(alone[i].y);
    }
    lstmcl_model_destroy(m);
    tm_free(&t);
}

/* The cl_mem form: the caller's buffers, the session's queue. */
static void test_run_cl(void **state)
{
    (void)state;
    if (!g_dev)
        skip();
    tmodel t;
    tm_make(&t, 0, 41);
    lstmcl_model *ref = tm_create(g_ref, &t, NULL);
    lstmcl_model *m = tm_create(g_dev, &t, NULL);
    lstmcl_session *se = NULL;
    assert_int_equal(lstmcl_session_create(m, 2, 6, &se), LSTMCL_SUCCESS);
    cl_context cc = NULL;
    assert_int_equal(lstmcl_context_cl_objects(g_dev, &cc, NULL, NULL), LSTMCL_SUCCESS);
    cl_command_queue q = lstmcl_session_queue(se);
    assert_non_null(q);
    tstream s;
    ts_make(&s, ref, &t.desc, 6, 0, 77);
    cl_int err;
    cl_mem x = clCreateBuffer(cc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, 6 * 5 * sizeof(float),
                              s.x, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem y = clCreateBuffer(cc, CL_MEM_WRITE_ONLY, 6 * 7 * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    size_t slot = 1;
    lstmcl_session_run_cl_args a = {1, &slot, NULL, 6, x, y};
    cl_event done = NULL;
    assert_int_equal(lstmcl_session_run_cl(se, &a, &done), LSTMCL_SUCCESS);
    assert_non_null(done);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    float yy[6 * 7];
    assert_int_equal(clEnqueueReadBuffer(q, y, CL_TRUE, 0, sizeof yy, yy, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_true(close_enough(yy, s.y_ref, 6 * 7, "y (cl_mem)"));
    /* A buffer too small is refused. */
    a.seq_len = 6;
    a.count = 2;
    size_t two[2] = {0, 1};
    a.slots = two;
    assert_int_equal(lstmcl_session_run_cl(se, &a, NULL), LSTMCL_ERROR_INVALID_ARGUMENT);
    clReleaseMemObject(x);
    clReleaseMemObject(y);
    ts_free(&s);
    lstmcl_session_destroy(se);
    lstmcl_model_destroy(m);
    lstmcl_model_destroy(ref);
    tm_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_equals_whole),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_precisions),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_persist_fallback),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_run_cl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
