/* lstmcl-bench --suite stream: live streams served in real time.
 *
 * S streams each deliver a chunk of C steps every C x step_ms; streams
 * start staggered over one chunk period, live 20 to 49 chunks, and are
 * then replaced in their slot by a new stream (a join and a leave). One
 * server thread serves them, in one of four ways:
 *   session     lstmcl: every stream that has a chunk waiting, in one
 *               lstmcl_session_run (state stays on the device);
 *   per-stream  lstmcl: one lstmcl_forward per chunk, the stream's h and c
 *               carried on the host through h0/c0 and hn/cn;
 *   ort-stream  onnxruntime, one run per chunk with initial_h/initial_c
 *               (bench/stream_ort.py);
 *   ort-batch   onnxruntime, every stream with a chunk waiting in one run,
 *               state gathered and scattered on the host (stream_ort.py).
 * A trial is real time when every chunk that arrived in the trial's
 * duration was served by the end of one more chunk period (no backlog) and
 * the 99th percentile of chunk latency (arrival to result) is within the
 * chunk period. The largest real-time S is searched by doubling, then
 * bisection to within 10% with short trials, then confirmed by a full-length
 * trial. The schedule is the same in stream_ort.py. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

typedef struct stream_opts {
    size_t H, I, C, max_streams;
    double step_ms, search_s, confirm_s;
    const char *device, *python, *script, *json;
    int ort;
} stream_opts;

typedef struct trial {
    size_t S, chunks, served;
    double p50, p99;
    int realtime;
    char algo[24]; /* the session's algorithm */
} trial;

/* The schedule: slot i's streams, each `life` chunks long, one after
 * another from offset i/S of a period. */
static size_t stream_life(size_t slot, size_t generation)
{
    return 20 + (slot * 7919 + generation * 104729) % 30;
}

typedef struct slot_state {
    double next_arrival; /* ms since the trial began; its chunk index */
    size_t generation, chunk, life;
    size_t queued;       /* chunks arrived and not served */
    double first_queued; /* arrival time of the oldest of them */
    int fresh;           /* the stream in the slot began since the last call */
} slot_state;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct server {
    int session; /* 1: every waiting stream per call; 0: one chunk per call */
    lstmcl_model *model;
    lstmcl_session *se;
    size_t H, I, C;
    float *x, *y, *h, *c; /* staging; per-stream state for per-stream */
    size_t *slots;
} server;

/* Serves the chunks of `n` slots (oldest chunk of each). */
static int serve(server *sv, const size_t *slots, size_t n, slot_state *st)
{
    if (sv->session) {
        for (size_t k = 0; k < n; k++)
            if (st[slots[k]].fresh) {
                if (lstmcl_session_reset(sv->se, &slots[k], 1, NULL, NULL) != LSTMCL_SUCCESS)
                    return -1;
                st[slots[k]].fresh = 0;
            }
        lstmcl_session_run_args a = {n, slots, NULL, sv->C, sv->x, sv->y};
        return lstmcl_session_run(sv->se, &a) == LSTMCL_SUCCESS ? 0 : -1;
    }
    size_t s = slots[0];
    float *h = sv->h + s * sv->H, *c = sv->c + s * sv->H;
    if (st[s].fresh) {
        memset(h, 0, sv->H * sizeof(float));
        memset(c, 0, sv->H * sizeof(float));
        st[s].fresh = 0;
    }
    lstmcl_forward_args a = {sv->C, 1, 0, sv->x, NULL, h, c, sv->y, h, c};
    return lstmcl_forward(sv->model, &a) == LSTMCL_SUCCESS ? 0 : -1;
}

/* One trial of S streams for `seconds`. */
static int run_trial(const stream_opts *o, lstmcl_context *ctx, const bench_weights *w,
                     int session, size_t S, double seconds, trial *t)
{
    const double P = o->C * o->step_ms, D = seconds * 1e3;
    server sv;
    memset(&sv, 0, sizeof sv);
    memset(t, 0, sizeof *t);
    t->S = S;
    sv.session = session;
    sv.H = o->H;
    sv.I = o->I;
    sv.C = o->C;
    /* One stream per call runs what a session of this device would: the
     * fused step on CPU devices (see lstmcl_session_create), the automatic
     * choice elsewhere. */
    lstmcl_model_desc desc = bench_model_desc(&w->cfg);
    lstmcl_model_options mo;
    lstmcl_model_options_init(&mo);
    lstmcl_device_info info;
    if (!session && lstmcl_context_device_info(ctx, &info) == LSTMCL_SUCCESS &&
        (info.type & CL_DEVICE_TYPE_CPU) && !getenv("LSTMCL_ALGO"))
        mo.algorithm = LSTMCL_ALGO_FUSED;
    if (lstmcl_model_create_with(ctx, &desc, LSTMCL_CONVENTION_PYTORCH, w->layers, &mo,
                                 &sv.model) != LSTMCL_SUCCESS)
        return -1;
    if (session && lstmcl_session_create(sv.model, S, o->C, &sv.se) != LSTMCL_SUCCESS) {
        lstmcl_model_destroy(sv.model);
        return -1;
    }
    snprintf(t->algo, sizeof t->algo, "%s",
             session ? lstmcl_session_algorithm(sv.se) : lstmcl_model_algorithm(sv.model, 1));
    slot_state *st = calloc(S, sizeof *st);
    sv.slots = calloc(S, sizeof *sv.slots);
    sv.x = calloc(o->C * S * o->I, sizeof(float));
    sv.y = calloc(o->C * S * o->H, sizeof(float));
    sv.h = calloc(S * o->H, sizeof(float));
    sv.c = calloc(S * o->H, sizeof(float));
    size_t cap = (size_t)(D / P + 2) * S + 16, nlat = 0;
    double *lat = calloc(cap, sizeof *lat);
    int rc = (!st || !sv.slots || !sv.x || !sv.y || !sv.h || !sv.c || !lat) ? -1 : 0;
    for (size_t i = 0; i < sv.C * S * o->I && sv.x; i++)
        sv.x[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    for (size_t i = 0; rc == 0 && i < S; i++) {
        st[i].life = stream_life(i, 0);
        st[i].next_arrival = (double)i / (double)S * P + P;
        st[i].fresh = 1;
    }
    /* A warm-up call outside the clock: kernels built, buffers sized. */
    if (rc == 0) {
        for (size_t i = 0; i < S; i++)
            sv.slots[i] = i;
        rc = serve(&sv, sv.slots, session ? S : 1, st);
        for (size_t i = 0; i < S; i++)
            st[i].fresh = 1;
    }
    const double t0 = now_ms();
    while (rc == 0) {
        double now = now_ms() - t0;
        if (now > D + P)
            break;
        /* Arrivals up to now (none past D). */
        double next = INFINITY;
        size_t waiting = 0;
        for (size_t i = 0; i < S; i++) {
            slot_state *s = &st[i];
            while (s->next_arrival <= now && s->next_arrival < D) {
                if (s->queued == 0)
                    s->first_queued = s->next_arrival;
                s->queued++;
                t->chunks++;
                s->next_arrival += P;
            }
            if (s->next_arrival < D && s->next_arrival < next)
                next = s->next_arrival;
            waiting += s->queued != 0;
        }
        if (waiting == 0) {
            if (next == INFINITY)
                break;
            double ms = next - (now_ms() - t0);
            if (ms > 0) {
                struct timespec ts = {(time_t)(ms / 1e3), (long)(fmod(ms, 1e3) * 1e6)};
                while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                    ;
            }
            continue;
        }
        /* The oldest chunk of each waiting slot (session), or the oldest
         * waiting chunk (one per call). */
        size_t n = 0;
        if (session) {
            for (size_t i = 0; i < S; i++)
                if (st[i].queued)
                    sv.slots[n++] = i;
        } else {
            size_t best = S;
            for (size_t i = 0; i < S; i++)
                if (st[i].queued && (best == S || st[i].first_queued < st[best].first_queued))
                    best = i;
            sv.slots[n++] = best;
        }
        rc = serve(&sv, sv.slots, n, st);
        const double done = now_ms() - t0;
        for (size_t k = 0; rc == 0 && k < n; k++) {
            slot_state *s = &st[sv.slots[k]];
            if (nlat < cap)
                lat[nlat++] = done - s->first_queued;
            t->served++;
            s->queued--;
            s->first_queued += P;
            /* The stream's last chunk: a new stream takes the slot. */
            if (++s->chunk == s->life) {
                s->generation++;
                s->chunk = 0;
                s->life = stream_life(sv.slots[k], s->generation);
                s->fresh = 1;
            }
        }
    }
    if (rc == 0) {
        qsort(lat, nlat, sizeof *lat, cmp_double);
        t->p50 = nlat ? lat[nlat / 2] : NAN;
        t->p99 = nlat ? lat[(size_t)(0.99 * (double)(nlat - 1))] : NAN;
        t->realtime = t->served == t->chunks && nlat > 0 && t->p99 <= P;
    }
    free(lat);
    free(st);
    free(sv.slots);
    free(sv.x);
    free(sv.y);
    free(sv.h);
    free(sv.c);
    lstmcl_session_destroy(sv.se);
    lstmcl_model_destroy(sv.model);
    return rc;
}

/* Largest real-time S (0 when even one stream is not). */
static size_t search(const stream_opts *o, lstmcl_context *ctx, const bench_weights *w,
                     int session, const char *name, trial *confirmed)
{
    size_t lo = 0, hi = 0, S = 1;
    trial t;
    memset(confirmed, 0, sizeof *confirmed);
    while (S <= o->max_streams) {
        if (run_trial(o, ctx, w, session, S, o->search_s, &t))
            return 0;
        fprintf(stderr, "stream %s H%zu: S=%zu p50 %.1f ms p99 %.1f ms %s\n", name, o->H, S, t.p50,
                t.p99, t.realtime ? "real time" : "behind");
        if (!t.realtime) {
            hi = S;
            break;
        }
        lo = S;
        S *= 2;
    }
    if (hi == 0)
        hi = o->max_streams + 1;
    while (hi - lo > 1 && hi - lo > lo / 10) {
        S = lo + (hi - lo) / 2;
        if (run_trial(o, ctx, w, session, S, o->search_s, &t))
            return 0;
        fprintf(stderr, "stream %s H%zu: S=%zu p50 %.1f ms p99 %.1f ms %s\n", name, o->H, S, t.p50,
                t.p99, t.realtime ? "real time" : "behind");
        if (t.realtime)
            lo = S;
        else
            hi = S;
    }
    /* Confirm with a full-length trial, stepping down 10% at a time. */
    while (lo > 0) {
        if (run_trial(o, ctx, w, session, lo, o->confirm_s, &t))
            return 0;
        fprintf(stderr, "stream %s H%zu: confirm S=%zu p50 %.1f ms p99 %.1f ms %s\n", name, o->H,
                lo, t.p50, t.p99, t.realtime ? "real time" : "behind");
        if (t.realtime) {
            *confirmed = t;
            return lo;
        }
        lo = lo * 9 / 10;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lstmcl-bench --suite stream [-H N] [-I N] [--chunk C] [--step-ms MS]\n"
            "                    [--max-streams N] [--search-seconds S] [--confirm-seconds S]\n"
            "                    [--devices SPEC] [--python PY] [--no-python] [--json FILE]\n"
            "\n"
            "Largest number of live streams served in real time (see bench/README.md):\n"
            "lstmcl sessions, lstmcl one stream per call, onnxruntime one stream per call,\n"
            "onnxruntime batched. Defaults: -H 1024, -I = H, --chunk 10, --step-ms 10,\n"
            "--max-streams 512, --search-seconds 5, --confirm-seconds 20.\n");
}

static int parse(int argc, char **argv, stream_opts *o)
{
    memset(o, 0, sizeof *o);
    o->H = 1024;
    o->C = 10;
    o->step_ms = 10;
    o->max_streams = 512;
    o->search_s = 5;
    o->confirm_s = 20;
    o->ort = 1;
    o->python = getenv("LSTMCL_BENCH_PYTHON") ? getenv("LSTMCL_BENCH_PYTHON")
                                              : LSTMCL_BENCH_PYTHON;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
#define NUM(flag, field, conv)                                                   \
    if (!strcmp(a, flag)) {                                                      \
        if (!v)                                                                  \
            return -1;                                                           \
        o->field = conv(v, &end);                                                \
        if (*end || !(o->field > 0))                                             \
            return -1;                                                           \
        i++;                                                                     \
        continue;                                                                \
    }
#define TO_SIZE(s, e) (size_t) strtoull((s), (e), 10)
        NUM("-H", H, TO_SIZE)
        NUM("-I", I, TO_SIZE)
        NUM("--chunk", C, TO_SIZE)
        NUM("--max-streams", max_streams, TO_SIZE)
        NUM("--step-ms", step_ms, strtod)
        NUM("--search-seconds", search_s, strtod)
        NUM("--confirm-seconds", confirm_s, strtod)
#undef NUM
#undef TO_SIZE
        if (!strcmp(a, "--suite") && v && !strcmp(v, "stream")) {
            i++;
        } else if (!strcmp(a, "--devices") && v) {
            o->device = v;
            i++;
        } else if (!strcmp(a, "--python") && v) {
            o->python = v;
            i++;
        } else if (!strcmp(a, "--json") && v) {
            o->json = v;
            i++;
        } else if (!strcmp(a, "--no-python")) {
            o->ort = 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            return -1;
        }
    }
    if (!o->I)
        o->I = o->H;
    return 0;
}

/* (c) and (d) from bench/stream_ort.py: its lines "MODE S p50 p99", one for
 * the largest real-time S of each mode. */
static int run_ort(const stream_opts *o, const char *script, char lines[2][160], char *ver,
                   size_t versize)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "'%s' '%s' --hidden %zu --input %zu --chunk %zu --step-ms %g --max-streams %zu "
             "--search-seconds %g --confirm-seconds %g",
             o->python, script, o->H, o->I, o->C, o->step_ms, o->max_streams, o->search_s,
             o->confirm_s);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char buf[256];
    int n = 0;
    while (fgets(buf, sizeof buf, p)) {
        if (!strncmp(buf, "version ", 8))
            snprintf(ver, versize, "%.*s", (int)strcspn(buf + 8, "\n"), buf + 8);
        else if (n < 2 && !strncmp(buf, "result ", 7))
            snprintf(lines[n++], 160, "%.*s", (int)strcspn(buf + 7, "\n"), buf + 7);
    }
    int st = pclose(p);
    return st == 0 && n == 2 ? 0 : -1;
}

int bench_stream_main(int argc, char **argv)
{
    stream_opts o;
    if (parse(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    lstmcl_context *ctx = NULL;
    if (lstmcl_context_create(o.device, &ctx) != LSTMCL_SUCCESS) {
        fprintf(stderr, "lstmcl-bench: %s\n", lstmcl_thread_last_error());
        return 1;
    }
    lstmcl_device_info info;
    memset(&info, 0, sizeof info);
    lstmcl_context_device_info(ctx, &info);
    bench_config cfg = {o.H, o.I, o.max_streams, o.C, 1, 0, 0, 0};
    bench_weights w;
    if (bench_weights_make(&cfg, 1, &w)) {
        fprintf(stderr, "lstmcl-bench: out of memory\n");
        lstmcl_context_destroy(ctx);
        return 1;
    }
    trial ta, tb;
    size_t sa = search(&o, ctx, &w, 1, "session", &ta);
    size_t sb = search(&o, ctx, &w, 0, "per-stream", &tb);
    char ort[2][160] = {"", ""}, ver[160] = "";
    int have_ort = 0;
    if (o.ort) {
        char script[1024];
        snprintf(script, sizeof script, "%s", LSTMCL_BENCH_SCRIPT);
        char *slash = strrchr(script, '/');
        snprintf(slash ? slash + 1 : script, sizeof script - (size_t)(slash ? slash + 1 - script : 0),
                 "stream_ort.py");
        have_ort = run_ort(&o, script, ort, ver, sizeof ver) == 0;
        if (!have_ort)
            fprintf(stderr, "lstmcl-bench: the onnxruntime modes did not run (%s)\n", script);
    }
    const double P = o.C * o.step_ms;
    printf("stream suite: H=%zu I=%zu, chunks of %zu steps every %.0f ms, device %s\n", o.H, o.I,
           o.C, P, info.name[0] ? info.name : "cpu");
    printf("  %-12s largest real-time streams %4zu  (p50 %.1f ms, p99 %.1f ms)\n", "session",
           sa, ta.p50, ta.p99);
    printf("  %-12s largest real-time streams %4zu  (p50 %.1f ms, p99 %.1f ms)\n", "per-stream",
           sb, tb.p50, tb.p99);
    for (int k = 0; have_ort && k < 2; k++)
        printf("  %s\n", ort[k]);
    if (o.json) {
        FILE *f = fopen(o.json, "w");
        if (f) {
            fprintf(f, "{\n  \"suite\": \"stream\", \"hidden\": %zu, \"input\": %zu, \"chunk\": %zu, "
                       "\"step_ms\": %g, \"period_ms\": %g,\n  \"device\": \"%s\", "
                       "\"lstmcl\": \"%s\", \"onnxruntime\": \"%s\",\n  \"search_seconds\": %g, "
                       "\"confirm_seconds\": %g,\n  \"modes\": [\n",
                    o.H, o.I, o.C, o.step_ms, P, info.name[0] ? info.name : "cpu",
                    lstmcl_version_string(), ver, o.search_s, o.confirm_s);
            fprintf(f, "    {\"mode\": \"session\", \"streams\": %zu, \"p50_ms\": %.3f, "
                       "\"p99_ms\": %.3f, \"algorithm\": \"%s\"},\n",
                    sa, ta.p50, ta.p99, ta.algo);
            fprintf(f, "    {\"mode\": \"per-stream\", \"streams\": %zu, \"p50_ms\": %.3f, "
                       "\"p99_ms\": %.3f, \"algorithm\": \"%s\"}%s\n",
                    sb, tb.p50, tb.p99, tb.algo, have_ort ? "," : "");
            for (int k = 0; have_ort && k < 2; k++) {
                char mode[32];
                size_t s = 0;
                double p50 = NAN, p99 = NAN;
                if (sscanf(ort[k], "%31s %zu %lf %lf", mode, &s, &p50, &p99) == 4)
                    fprintf(f, "    {\"mode\": \"%s\", \"streams\": %zu, \"p50_ms\": %.3f, "
                               "\"p99_ms\": %.3f}%s\n",
                            mode, s, p50, p99, k == 0 ? "," : "");
            }
            fprintf(f, "  ]\n}\n");
            fclose(f);
        }
    }
    bench_weights_free(&w);
    lstmcl_context_destroy(ctx);
    return sa > 0 ? 0 : 1;
}
