/* The measured automatic choice's policy (host/choice.c), driven with
 * synthetic pass times so that every decision is deterministic: each
 * candidate is tried first (a kernel's first launch in a model not
 * counted), then the faster one runs; the other is probed after 8 passes,
 * then 16, 32, ... while the choice holds; a slower running choice gives
 * way at once; a probe that is faster wins back; a persistent kernel whose
 * trials give up (busy cores) is set aside; batch sizes keep their own
 * measurements in LC_CHOICE_SLOTS slots, the least recently used replaced; beside
 * another thread's pass the fused step runs, unmeasured. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "internal.h"

enum { P = 1, F = 0 };

/* Per-step seconds of each candidate in the next passes, and whether the
 * persistent kernel gives up when on trial. */
typedef struct world {
    double p, f;
    int trials_give_up;
    int async; /* the caller is lstmcl_forward_cl: only timed passes report */
} world;

/* One pass of batch N through the choice: returns the candidate that ran
 * (P or F); *timed as lc_choice_begin said for an asynchronous caller. */
static int pass(lstmcl_model *m, size_t N, const world *w, int *timed)
{
    int t = 0;
    lstmcl_algorithm a = lc_choice_begin(m, N, !w->async, &t);
    assert_true(a == LSTMCL_ALGO_PERSISTENT || a == LSTMCL_ALGO_FUSED);
    const int k = a == LSTMCL_ALGO_PERSISTENT ? P : F;
    const int gave_up = k == P && m->choice.short_wait && w->trials_give_up;
    /* a pass that gave up ran again on the fused step */
    double per_step = gave_up ? 0.1 * w->p + w->f : (k == P ? w->p : w->f);
    if (t)
        lc_choice_end(m, N, 10, 10 * per_step, gave_up);
    if (timed)
        *timed = t;
    return k;
}

static int current(const lstmcl_model *m, size_t N)
{
    return lc_choice_current(m, N) == LSTMCL_ALGO_PERSISTENT ? P : F;
}

static lstmcl_model *model(void)
{
    lstmcl_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    return m;
}

static void test_tries_both_then_the_faster(void **state)
{
    (void)state;
    lstmcl_model *m = model();
    world w = {1e-3, 2e-3, 0, 0};
    assert_int_equal(current(m, 4), P); /* before any pass */
    int timed = 0;
    /* first launches (not counted), then a timed trial of each, in turn:
     * a lead of 2x needs no more */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pass(m, 4, &w, &timed), i % 2 ? F : P);
        assert_true(timed);
    }
    assert_int_equal(current(m, 4), P);
    /* then the persistent kernel, the fused step probed after 8, 16 and
     * 32 more passes, each probe one pass (it trails clearly): 3 in the
     * next 100 */
    int probe_passes = 0, first_probe = -1;
    for (int i = 1; i <= 100; i++) {
        if (pass(m, 4, &w, &timed) == F) {
            probe_passes++;
            assert_true(timed);
            if (first_probe < 0)
                first_probe = i;
        }
    }
    assert_int_equal(first_probe, 8);
    assert_int_equal(probe_passes, 3);
    assert_int_equal(current(m, 4), P);
    free(m);
}

static void test_unprobed_fused_passes_not_timed(void **state)
{
    (void)state;
    lstmcl_model *m = model();
    world w = {3e-3, 1e-3, 0, 1};
    for (int i = 0; i < 4; i++)
        pass(m, 2, &w, NULL);
    assert_int_equal(current(m, 2), F);
    /* an asynchronous caller need not wait for the fused step between
     * probes; the persistent kernel's passes are timed */
    int untimed = 0, timed = 0;
    for (int i = 0; i < 7; i++) {
        assert_int_equal(pass(m, 2, &w, &timed), F);
        untimed += !timed;
    }
    assert_int_equal(untimed, 7);
    assert_int_equal(pass(m, 2, &w, &timed), P); /* the probe */
    assert_true(timed);
    free(m);
}

static void test_follows_the_load(void **state)
{
    (void)state;
    lstmcl_model *m = model();
    world w = {1e-3, 2e-3, 0, 0};
    for (int i = 0; i < 50; i++)
        pass(m, 8, &w, NULL);
    assert_int_equal(current(m, 8), P);
    /* other work takes the cores: the persistent kernel's steps wait for
     * whole scheduler slices */
    w.p = 20e-3;
    w.f = 4e-3;
    int gave_way = -1;
    for (int i = 1; i <= 3 && gave_way < 0; i++) {
        pass(m, 8, &w, NULL);
        if (current(m, 8) == F)
            gave_way = i;
    }
    assert_int_equal(gave_way, 2); /* the median of three moved */
    for (int i = 0; i < 20; i++)
        pass(m, 8, &w, NULL);
    assert_int_equal(current(m, 8), F);
    /* the cores are free again: a probe finds the persistent kernel faster
     * (the probes came after 8 and 16 passes, the next one 32 later) */
    w.p = 1e-3;
    w.f = 2e-3;
    int back = -1;
    for (int i = 1; i <= 40 && back < 0; i++) {
        pass(m, 8, &w, NULL);
        if (current(m, 8) == P)
            back = i;
    }
    assert_true(back > 0);
    free(m);
}

static void test_margin_keeps_the_choice(void **state)
{
    (void)state;
    lstmcl_model *m = model();
    world w = {1.00e-3, 1.02e-3, 0, 0};
    /* close: LC_CHOICE_KEEP trials of each */
    for (int i = 0; i < 2 * (1 + LC_CHOICE_KEEP); i++)
        pass(m, 3, &w, NULL);
    assert_int_equal(current(m, 3), P);
    /* within 5%, either way: no switch at any probe */
    for (int i = 0; i < 300; i++) {
        w.f = (i % 2) ? 0.97e-3 : 1.03e-3;
        pass(m, 3, &w, NULL);
        assert_int_equal(current(m, 3), P);
    }
    free(m);
}

static void test_trials_that_give_up(void **state)
{
    (void)state;
    lstmcl_model *m = model();
    /* busy cores: each trial of the persistent kernel gives up */
    world w = {50e-3, 4e-3, 1, 0};
    /* the first launches (a give-up there does not count), then trials in
     * turn until the persistent kernel gave up twice */
    assert_int_equal(pass(m, 5, &w, NULL), P);
    assert_int_equal(pass(m, 5, &w, NULL), F);
    assert_int_equal(pass(m, 5, &w, NULL), P);
    assert_int_equal(pass(m, 5, &w, NULL), F);
    assert_int_equal(current(m, 5), P);
    assert_int_equal(pass(m, 5, &w, NULL), P); /* tried once more */
    assert_int_equal(current(m, 5), F);         /* then set aside */
    int p_runs = 0;
    for (int i = 0; i < 60; i++)
        p_runs += pass(m, 5, &w, NULL) == P;
    /* probes after 8, 16 and 32 passes, each giving up and doubling the
     * wait */
    assert_int_equal(p_runs, 3);
    assert_int_equal(current(m, 5), F);
    /* quiet again: a probe that runs to the end is measured, and wins */
    w.trials_give_up = 0;
    w.p = 1e-3;
    int back = -1;
    for (int i = 1; i <= 200 && back < 0; i++) {
        pass(m, 5, &w, NULL);
        if (current(m, 5) == P)
            back = i;
    }
    assert_true(back > 0);
    free(m);
}

static void test_slots_per_batch(void **state)
{
    (void)state;
    lstmcl_model *m = model();
    world slow_p = {3e-3, 1e-3, 0, 0}, fast_p = {1e-3, 3e-3, 0, 0};
    /* batch 1 prefers the fused step, batch 2 the persistent kernel */
    for (int i = 0; i < 2 * (1 + LC_CHOICE_KEEP); i++) {
        pass(m, 1, &slow_p, NULL);
        pass(m, 2, &fast_p, NULL);
    }
    assert_int_equal(current(m, 1), F);
    assert_int_equal(current(m, 2), P);
    /* LC_CHOICE_SLOTS more batch sizes, batch 2 kept in use: batch 1's
     * slot, the least recently used, goes, and it is measured again */
    for (size_t N = 10; N < 10 + LC_CHOICE_SLOTS - 1; N++) {
        pass(m, N, &fast_p, NULL);
        pass(m, 2, &fast_p, NULL);
    }
    assert_int_equal(current(m, 2), P);
    assert_int_equal(current(m, 1), P); /* no slot: the default */
    assert_int_equal(pass(m, 1, &slow_p, NULL), P); /* trials again */
    assert_int_equal(pass(m, 1, &slow_p, NULL), F);
    for (int i = 2; i < 2 * LC_CHOICE_KEEP; i++)
        pass(m, 1, &slow_p, NULL);
    assert_int_equal(current(m, 1), F);
    free(m);
}

/* One slow pass of the running choice, or one fast pass in a probe of the
 * other, does not switch: passes on a CPU are often 1.5 to 2 times their
 * usual time. (With single samples, PoCL at H = 256, N = 2, T = 150 ended
 * on the fused step, 7.5 ms a pass against 4.7.) */
static void test_one_outlier_does_not_switch(void **state)
{
    (void)state;
    lstmcl_model *m = model();
    world w = {1e-3, 1.5e-3, 0, 1};
    for (int i = 0; i < 2 * (1 + LC_CHOICE_KEEP); i++)
        pass(m, 2, &w, NULL);
    assert_int_equal(current(m, 2), P);
    /* one slow pass of the persistent kernel (its passes are timed) */
    w.p = 3e-3;
    assert_int_equal(pass(m, 2, &w, NULL), P);
    assert_int_equal(current(m, 2), P);
    w.p = 1e-3;
    int probe_passes = 0, timed = 0;
    for (int i = 0; i < 40; i++) {
        /* the probe's first pass is a lucky one, the rest usual */
        w.f = probe_passes == 0 ? 0.5e-3 : 1.5e-3;
        if (pass(m, 2, &w, &timed) == F) {
            assert_true(timed);
            probe_passes++;
        }
        assert_int_equal(current(m, 2), P);
    }
    /* the first probe ran LC_CHOICE_KEEP passes (its first one looked
     * faster); the second, trailing from its first pass, one */
    assert_int_equal(probe_passes, LC_CHOICE_KEEP + 1);
    free(m);
}

/* Another thread begins a pass on its own model (an asynchronous caller's
 * fused pass: its mark stays until the pass is expected to end). */
static void *other_thread_pass(void *arg)
{
    lstmcl_model *m = arg;
    int t = 0;
    (void)lc_choice_begin(m, 4, 0, &t);
    return NULL;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Beside another lstmcl thread's work the cores are shared: the fused
 * step runs, no trial or probe of the persistent kernel, no sample, until
 * the other thread has been quiet for the hold; one thread running
 * several models in turn is not sharing. */
static void test_other_threads_work(void **state)
{
    (void)state;
    lstmcl_model *a = model(), *b = model(), *other = model();
    world w = {1e-3, 2e-3, 0, 0};
    /* one thread, two models in turn: each tries the persistent kernel */
    assert_int_equal(pass(a, 4, &w, NULL), P);
    assert_int_equal(pass(b, 4, &w, NULL), P);
    assert_int_equal(pass(a, 4, &w, NULL), F);
    assert_int_equal(pass(b, 4, &w, NULL), F);
    const lc_choice_slot before = a->choice.slot[0];
    assert_int_equal(before.N, 4);

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_thread_pass, other), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    /* its pass may still run: the fused step, timed only because this
     * caller waits anyway, and outside the measurements */
    for (int i = 0; i < 6; i++) {
        int timed = -1;
        assert_int_equal(pass(a, 4, &w, &timed), F);
        assert_true(timed);
        assert_int_equal(current(a, 4), F);
        w.async = 1;
        assert_int_equal(pass(a, 4, &w, &timed), F);
        assert_false(timed);
        w.async = 0;
    }
    assert_int_equal(a->choice.slot[0].samples[0], before.samples[0]);
    assert_int_equal(a->choice.slot[0].samples[1], before.samples[1]);
    assert_int_equal(a->choice.slot[0].trials, before.trials);

    /* the other thread's mark (its first pass, expected to take 0.1 s)
     * and the hold (0.25 s) over: the trials go on where they were */
    sleep_seconds(0.4);
    assert_int_equal(pass(a, 4, &w, NULL), P);
    assert_int_equal(a->choice.slot[0].samples[1], before.samples[1] + 1);
    free(a);
    free(b);
    free(other);
}

/* Shared, where the fused step's steps are long (8 ms and more), the
 * persistent kernel is tried after the first fused pass, waiting as when
 * chosen: kept when faster, and after a try that gives up tried again 8,
 * then 16 passes later. */
static void test_shared_long_steps(void **state)
{
    (void)state;
    lstmcl_model *a = model(), *other = model();
    world w = {5e-3, 10e-3, 0, 0};
    /* first launches alone */
    assert_int_equal(pass(a, 2, &w, NULL), P);
    assert_int_equal(pass(a, 2, &w, NULL), F);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_thread_pass, other), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pass(a, 2, &w, NULL), F);
    int t = 0;
    assert_true(lc_choice_begin(a, 2, 1, &t) == LSTMCL_ALGO_PERSISTENT);
    assert_false(a->choice.short_wait);
    lc_choice_end(a, 2, 10, 10 * w.p, 0);
    assert_int_equal(current(a, 2), P);
    assert_int_equal(pass(a, 2, &w, NULL), P);

    /* busy cores where the persistent kernel gives up: back to the fused
     * step, tried again 8 passes later, then 16 */
    lstmcl_model *b = model();
    assert_int_equal(pass(b, 2, &w, NULL), P);
    assert_int_equal(pass(b, 2, &w, NULL), F);
    assert_int_equal(pthread_create(&th, NULL, other_thread_pass, other), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    int tries[3], n = 0;
    for (int i = 0; i < 30 && n < 3; i++) {
        /* each persistent pass gives up and runs again fused */
        const int P_ = lc_choice_begin(b, 2, 1, &t) == LSTMCL_ALGO_PERSISTENT;
        lc_choice_end(b, 2, 10, 10 * (P_ ? 0.1 * w.p + w.f : w.f), P_);
        if (P_)
            tries[n++] = i;
    }
    assert_int_equal(n, 3);
    assert_int_equal(tries[0], 1);
    assert_int_equal(tries[1] - tries[0], 8);
    assert_int_equal(tries[2] - tries[1], 16);
    assert_int_equal(current(b, 2), F);

    /* the persistent kernel's first launch in a model, shared: not
     * counted, tried again on the next pass */
    lstmcl_model *c = model();
    w.f = 10e-3;
    w.p = 5e-3;
    c->choice.warm[F] = 1;
    assert_int_equal(pthread_create(&th, NULL, other_thread_pass, other), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pass(c, 2, &w, NULL), F);
    assert_int_equal(pass(c, 2, &w, NULL), P); /* first launch */
    assert_true(c->choice.slot[0].sh_est[1] == 0.0);
    assert_int_equal(pass(c, 2, &w, NULL), P); /* counted: faster, kept */
    assert_int_equal(current(c, 2), P);
    free(a);
    free(b);
    free(c);
    free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tries_both_then_the_faster),
        cmocka_unit_test(test_unprobed_fused_passes_not_timed),
        cmocka_unit_test(test_follows_the_load),
        cmocka_unit_test(test_margin_keeps_the_choice),
        cmocka_unit_test(test_trials_that_give_up),
        cmocka_unit_test(test_slots_per_batch),
        cmocka_unit_test(test_one_outlier_does_not_switch),
        cmocka_unit_test(test_other_threads_work),
        cmocka_unit_test(test_shared_long_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
