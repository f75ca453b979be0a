/* The automatic choice between the fused step and the persistent kernel on
 * CPU devices, measured while the model runs.
 *
 * Why measure: which of the two is faster on a CPU depends on the OpenCL
 * implementation and on what else runs on the cores, not only on the shape.
 * Quiet, on PoCL the persistent kernel saves the per-step launches and won
 * by up to 40% at small hidden sizes; on Intel's CPU runtime it was 2 to 3
 * times slower than the fused step at H >= 1536 (bench/results). And when
 * other processes or other lstmcl threads share the cores, the persistent
 * kernel's groups lose whole scheduler slices at its device-wide barrier
 * every step: lstmcl-demo -H 512 -N 4 -T 100 took 148 ms with it against
 * 51 ms with the fused step beside two busy processes, 27 ms for both
 * alone. No rule of shape and device gets all of these right, and the last
 * one changes from minute to minute.
 *
 * How: per batch size (LC_CHOICE_SLOTS of them, the least recently used
 * replaced), the seconds per step of each candidate, from timed passes:
 * the median of its last LC_CHOICE_KEEP samples (the lower of the middle
 * two of an even count). A new batch size runs the candidates in turn (a model's first
 * pass of a kernel, which pays for its first launch, does not count) until
 * one leads by more than LC_CHOICE_CLEAR or each has LC_CHOICE_KEEP
 * samples, then the faster one. Every `every` passes the other one runs
 * again (a probe), LC_CHOICE_KEEP times in a row unless its first pass
 * trails by more than LC_CHOICE_CLEAR, and the probe's median replaces its
 * estimate, so that a change of load is noticed; `every` doubles, up to
 * LC_CHOICE_PROBE_MAX, while probes keep confirming the choice, and starts
 * again at LC_CHOICE_PROBE_MIN after a switch. A switch needs a 5%
 * margin. A clear lead is settled by one sample each, so that trials and
 * probes of a kernel 2 to 3 times slower (the persistent kernel on Intel's
 * runtime at large H) cost one pass.
 *
 * Why medians: one pass on a CPU is often 1.5 to 2 times its usual time
 * (another process, a page fault, a scheduler slice). With single samples
 * (a probe's one pass replacing the estimate, a moving average for the
 * running choice), PoCL at H = 256, N = 2, T = 150 switched between the
 * candidates on such outliers and ended on the fused step, 7.5 ms a pass
 * against 4.7 for the persistent kernel (tests/test_choice.c holds the
 * case). A median of three needs two slow passes in a row to move.
 *
 * Where other work holds the cores, each step of the persistent kernel can
 * wait a whole scheduler slice at its barrier: 150 steps at H = 256 took
 * 1.2 s against 8 ms for the fused step beside two busy processes and a
 * second lstmcl thread. So on trial (its first runs for a batch size, and
 * probes) it waits at most LC_SPIN_LIMIT_TRIAL polls before giving up; a
 * trial that gives up costs about that and a rerun on the fused step, and
 * counts as "not faster". When it runs as the choice it waits longer
 * (plan.c), and a pass that gives up then counts with its rerun.
 *
 * Other lstmcl threads. Two threads running passes on CPU devices at once
 * (two models, two contexts, a server's instances) share the cores, and
 * there the persistent kernel is a gamble: beside two busy processes and a
 * second lstmcl thread, PoCL at H = 512, N = 4 took 200 ms a pass with it
 * against 16 with the fused step, Intel's runtime at H = 2048, N = 4 15 s
 * against 0.45, while PoCL at H = 2048, N = 4 was 1.2-1.46 times faster
 * with it in 7 runs (bench/results, the contention-shared runs).
 * Measuring there as alone does not settle it: each thread's passes time
 * the other thread's choice as much as their own, and a second set of
 * such measurements ended on the persistent kernel at H = 1024, N = 4 at
 * 1.8 times the fused step's time.
 * So beside another thread the fused step runs, outside the measurements
 * made alone, which stay as they were; only where its steps are long
 * (LC_SHARED_LONG_STEP), so that a slice lost at a barrier is a small part
 * of a step, is the persistent kernel tried, once after the first fused
 * pass and then after 8, 16, ... passes, waiting at its barrier as long
 * as when chosen (a trial's short wait gave up on PoCL at H = 2048, where
 * the kernel was the faster one): it runs on while its passes stay
 * faster, and a try that gives up or trails ends its turn. (With 8 ms,
 * H = 1536, N = 4 on PoCL, 8.2-8.7 ms a step shared, was tried and one
 * run ended at twice the fused step's time: the two threads' tries
 * meet.) These use single samples, kept per batch size apart from the
 * measurements made alone.
 * The model knows of the other thread without measuring: each pass on a
 * CPU device marks the cores as in use by its thread until it is expected
 * to end (the last timed pass's length; a pass that is waited for clears
 * the mark when it ends). A pass that finds another thread's mark, and
 * this model's passes for LC_SHARED_HOLD seconds (at least 4 passes' time)
 * after, are shared. One thread running several models in turn (a graph's
 * stack) is not sharing.
 *
 * lstmcl_forward (host arrays) waits for every pass anyway, so each pass
 * is timed. lstmcl_forward_cl returns before the device finishes; there
 * only the passes that must be timed (the first runs and probes) and the
 * persistent kernel's (which already wait, to read its flag) wait for the
 * queue, before and after, so that the caller's earlier work is not
 * counted. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define LC_CHOICE_PROBE_MIN 8
#define LC_CHOICE_PROBE_MAX 256
#define LC_CHOICE_MARGIN 0.95
#define LC_CHOICE_CLEAR 1.3 /* a lead that one sample of each settles */
#define LC_SHARED_HOLD 0.25   /* seconds of fused passes after another thread's
                               * work was seen */
#define LC_SHARED_LONG_STEP 9.5e-3 /* seconds per step of the fused step, shared,
                                  * from which the persistent kernel is tried */
#define LC_FIRST_PASS_GUESS 0.1 /* seconds a pass not yet timed is expected
                                 * to take */

double lc_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The cores' mark: the expected end of the latest pass on a CPU device, in
 * milliseconds of lc_now_seconds() (upper bits), and the thread that made
 * it (LC_TID_BITS). One word, so that a clear by its own thread cannot
 * undo another thread's newer mark. */
#define LC_TID_BITS 16
static _Atomic uint64_t lc_cores_mark;
static atomic_uint lc_next_tid;
static _Thread_local unsigned lc_tid;

static unsigned lc_thread_id(void)
{
    while (!lc_tid) /* 1 .. 2^16 - 1; two threads 65535 apart share an id */
        lc_tid = (atomic_fetch_add(&lc_next_tid, 1) + 1) & ((1u << LC_TID_BITS) - 1);
    return lc_tid;
}

static uint64_t lc_ms(double seconds)
{
    return seconds > 0 ? (uint64_t)(seconds * 1e3) : 0;
}

/* Whether another thread's pass is expected to be running at `now`. */
static int lc_cores_shared(double now)
{
    const uint64_t v = atomic_load(&lc_cores_mark);
    const unsigned tid = (unsigned)(v & ((1u << LC_TID_BITS) - 1));
    return tid && tid != lc_thread_id() && (v >> LC_TID_BITS) >= lc_ms(now);
}

/* This thread runs a pass that should end at `until`. */
static void lc_cores_mark_busy(double until)
{
    atomic_store(&lc_cores_mark, (lc_ms(until) + 1) << LC_TID_BITS | lc_thread_id());
}

/* This thread's pass ended: its mark, unless another thread's replaced
 * it, goes. */
static void lc_cores_mark_done(void)
{
    uint64_t v = atomic_load(&lc_cores_mark);
    if ((v & ((1u << LC_TID_BITS) - 1)) == lc_thread_id())
        atomic_compare_exchange_strong(&lc_cores_mark, &v, (uint64_t)0);
}

static lc_choice_slot *lc_choice_slot_for(lstmcl_model *m, size_t N)
{
    lc_choice *c = &m->choice;
    lc_choice_slot *free_slot = NULL, *oldest = &c->slot[0];
    for (size_t i = 0; i < LC_CHOICE_SLOTS; i++) {
        lc_choice_slot *s = &c->slot[i];
        if (s->N == N)
            return s;
        if (!s->N && !free_slot)
            free_slot = s;
        if (s->last_use < oldest->last_use)
            oldest = s;
    }
    lc_choice_slot *s = free_slot ? free_slot : oldest;
    memset(s, 0, sizeof *s);
    s->N = N;
    s->current = 1; /* the persistent kernel until measured otherwise */
    s->every = LC_CHOICE_PROBE_MIN;
    s->sh_every = 1; /* shared: tried after the first pass */
    return s;
}

static const lc_choice_slot *lc_choice_slot_find(const lstmcl_model *m, size_t N)
{
    for (size_t i = 0; i < LC_CHOICE_SLOTS; i++)
        if (m->choice.slot[i].N == N)
            return &m->choice.slot[i];
    return NULL;
}

static lstmcl_algorithm lc_candidate_algo(int k)
{
    return k ? LSTMCL_ALGO_PERSISTENT : LSTMCL_ALGO_FUSED;
}

lstmcl_algorithm lc_choice_current(const lstmcl_model *m, size_t N)
{
    const int shared = lc_now_seconds() < m->choice.shared_until;
    const lc_choice_slot *s = lc_choice_slot_find(m, N);
    if (shared)
        return lc_candidate_algo(s ? s->sh_current : 0);
    return lc_candidate_algo(s ? s->current : 1);
}

/* The median of the n (1..LC_CHOICE_KEEP) values of v; of an even count,
 * the lower middle one (two samples: the faster, a slow outlier ignored). */
static double lc_median(const double *v, unsigned n)
{
    double t[LC_CHOICE_KEEP];
    for (unsigned i = 0; i < n; i++) {
        unsigned j = i;
        for (; j > 0 && t[j - 1] > v[i]; j--)
            t[j] = t[j - 1];
        t[j] = v[i];
    }
    return t[(n - 1) / 2];
}

static void lc_choice_push(lc_choice_slot *s, int k, double per_step)
{
    s->recent[k][s->pos[k]] = per_step;
    s->pos[k] = (s->pos[k] + 1) % LC_CHOICE_KEEP;
    if (s->nrecent[k] < LC_CHOICE_KEEP)
        s->nrecent[k]++;
    s->samples[k]++;
    s->est[k] = lc_median(s->recent[k], s->nrecent[k]);
}

/* Replaces candidate k's samples with the n given. */
static void lc_choice_reset(lc_choice_slot *s, int k, const double *v, unsigned n)
{
    s->nrecent[k] = 0;
    s->pos[k] = 0;
    for (unsigned i = 0; i < n; i++)
        lc_choice_push(s, k, v[i]);
}

/* One estimate more than LC_CHOICE_CLEAR times the other. */
static int lc_choice_clear(const lc_choice_slot *s)
{
    return s->est[0] > LC_CHOICE_CLEAR * s->est[1] || s->est[1] > LC_CHOICE_CLEAR * s->est[0];
}

/* Both candidates measured: a sample each and a clear lead, or
 * LC_CHOICE_KEEP samples each (the persistent kernel set aside counts as
 * measured). */
static int lc_choice_measured(const lc_choice_slot *s)
{
    if (!s->samples[0] || !s->samples[1])
        return 0;
    return lc_choice_clear(s) ||
           (s->samples[0] >= LC_CHOICE_KEEP && s->samples[1] >= LC_CHOICE_KEEP);
}

lstmcl_algorithm lc_choice_begin(lstmcl_model *m, size_t N, int sync, int *timed)
{
    lc_choice *c = &m->choice;
    const double now = lc_now_seconds();
    const double expect = c->pass_s > 0 ? c->pass_s : LC_FIRST_PASS_GUESS;
    if (lc_cores_shared(now)) {
        const double hold = 4 * expect > LC_SHARED_HOLD ? 4 * expect : LC_SHARED_HOLD;
        c->shared_until = now + hold;
    }
    lc_cores_mark_busy(now + 1.5 * expect);
    c->probing = 0;
    c->shared = now < c->shared_until;
    lc_choice_slot *s = lc_choice_slot_for(m, N);
    s->last_use = ++c->clock;
    int k;
    if (c->shared) {
        /* beside another thread's work: the fused step, outside the
         * measurements made alone; where its steps are long, the
         * persistent kernel tried now and then */
        k = s->sh_current;
        if (k == 0 ? s->sh_est[0] >= LC_SHARED_LONG_STEP && ++s->sh_since >= s->sh_every
                   : ++s->sh_since >= s->sh_every) {
            s->sh_since = 0;
            k = !k;
            c->probing = 1;
        }
        c->pass_candidate = k;
        c->short_wait = 0; /* a step lasts longer than a short wait */
        *timed = sync || k == 1 || c->probing || s->sh_est[0] == 0;
        return lc_candidate_algo(k);
    }
    if (!lc_choice_measured(s)) {
        /* in turn, the persistent kernel first */
        k = s->trials++ % 2 == 0;
        if (s->samples[k] > s->samples[!k] || s->samples[k] >= LC_CHOICE_KEEP)
            k = !k;
    } else if (s->burst || ++s->since >= s->every) {
        if (!s->burst) {
            s->since = 0;
            s->burst = LC_CHOICE_KEEP;
            s->nprobe = 0;
        }
        k = !s->current;
        c->probing = 1;
    } else {
        k = s->current;
    }
    c->pass_candidate = k;
    /* The persistent kernel on trial (not yet measured, or probed) waits
     * at its barrier for a short time only: where busy processes hold the
     * cores a trial costs a few milliseconds and a rerun on the fused
     * step, not a slow pass. */
    const int trial = !lc_choice_measured(s) || c->probing;
    c->short_wait = k == 1 && trial;
    *timed = sync || k == 1 || trial;
    return lc_candidate_algo(k);
}

void lc_choice_end(lstmcl_model *m, size_t N, size_t T, double seconds, int gave_up)
{
    lc_choice *c = &m->choice;
    const int k = c->pass_candidate, trial = c->short_wait;
    c->short_wait = 0;
    lc_cores_mark_done();
    c->pass_s = seconds;
    lc_choice_slot *s = lc_choice_slot_for(m, N);
    if (!c->warm[k]) {
        /* the first launch of this kernel in this model: neither its time
         * nor a give-up (its first touches of the weights, the runtime's
         * workers waking) says much */
        c->warm[k] = 1;
        if (c->shared && c->probing)
            s->sh_since = s->sh_every; /* the try comes again next */
        return; /* (a probe takes one pass more) */
    }
    if (c->shared) {
        /* single samples: a try that gives up or trails ends the
         * persistent kernel's turn, and tries come back after twice as
         * many passes, up to LC_CHOICE_PROBE_MAX */
        const double per_step = seconds / (double)(T ? T : 1);
        if (k == 1 && gave_up) {
            s->sh_current = 0;
        } else {
            s->sh_est[k] = per_step;
            if (s->sh_est[0] > 0 && s->sh_est[1] > 0) {
                const int other = !s->sh_current;
                if (c->probing && s->sh_est[other] < LC_CHOICE_MARGIN * s->sh_est[!other]) {
                    s->sh_current = other;
                    s->sh_every = 8;
                    return;
                }
                if (!c->probing && s->sh_est[k] > LC_CHOICE_CLEAR * s->sh_est[!k])
                    s->sh_current = !k; /* the running one turned slow */
            }
        }
        if (c->probing && s->sh_every < LC_CHOICE_PROBE_MAX)
            s->sh_every = s->sh_every < 8 ? 8 : 2 * s->sh_every;
        return;
    }
    if (trial && gave_up) {
        /* Its groups did not all run at once: the cores are busy. A probe
         * ends, leaving the choice as it is, and comes back later; a first
         * trial that gives up twice marks the kernel slower than any
         * measurement, until a probe finds otherwise. */
        if (c->probing) {
            s->burst = 0;
            s->nprobe = 0;
            if (s->every < LC_CHOICE_PROBE_MAX)
                s->every *= 2;
        } else if (++s->failed_trials >= 2) {
            const double never[1] = {HUGE_VAL};
            lc_choice_reset(s, 1, never, 1);
            s->samples[1] = LC_CHOICE_KEEP;
            s->current = 0;
        }
        return;
    }
    const double per_step = seconds / (double)(T ? T : 1);
    int decide = 1;
    if (c->probing) {
        s->probe[s->nprobe++] = per_step;
        /* a probe whose first pass trails clearly ends there */
        const int trails = s->nprobe == 1 && per_step > LC_CHOICE_CLEAR * s->est[s->current];
        if (--s->burst > 0 && !trails)
            return;
        s->burst = 0;
        lc_choice_reset(s, k, s->probe, s->nprobe);
        s->nprobe = 0;
    } else if (gave_up) {
        /* the running choice gave up waiting (the cores turned busy): its
         * pass with the rerun is the word on it, at once */
        const double v[1] = {per_step};
        lc_choice_reset(s, k, v, 1);
    } else {
        lc_choice_push(s, k, per_step);
        decide = lc_choice_measured(s);
    }
    if (!decide || !lc_choice_measured(s))
        return;
    const int other = !s->current;
    if (s->est[other] < LC_CHOICE_MARGIN * s->est[s->current]) {
        s->current = other;
        s->every = LC_CHOICE_PROBE_MIN;
        s->since = 0;
    } else if (c->probing && s->every < LC_CHOICE_PROBE_MAX) {
        s->every *= 2;
    }
}
