/* lstmcl-bench --load and --threads: the conditions a served model meets
 * when it does not have the cores to itself.
 *
 * --load P starts P processes that spin on the CPU for the whole run. Each
 * ends with the bench (it is killed at exit, and on Linux the kernel kills
 * it when the bench dies), and in any case after a time limit (alarm), so
 * that no busy process outlives a crashed or killed run.
 *
 * --threads K runs K - 1 companions beside each timed lstmcl row: threads
 * that each open their own context on the same device, create the same
 * model with the same options and run forwards back to back until the row's
 * timing ends, as other requests of a server would. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "bench.h"

enum { LOAD_MAX = 64 };
static pid_t load_pids[LOAD_MAX];
static int load_count;

static void load_stop_all(void)
{
    for (int i = 0; i < load_count; ++i)
        if (load_pids[i] > 0)
            kill(load_pids[i], SIGKILL);
    for (int i = 0; i < load_count; ++i)
        if (load_pids[i] > 0)
            waitpid(load_pids[i], NULL, 0);
    load_count = 0;
}

int bench_load_start(int processes, unsigned limit_s, char *why, size_t why_size)
{
    if (processes <= 0)
        return 0;
    if (processes > LOAD_MAX) {
        snprintf(why, why_size, "at most %d busy processes", LOAD_MAX);
        return -1;
    }
    fflush(NULL);
    for (int i = 0; i < processes; ++i) {
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(why, why_size, "fork failed");
            load_stop_all();
            return -1;
        }
        if (pid == 0) {
#ifdef __linux__
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            prctl(PR_SET_NAME, "lstmcl-load"); /* what ps and pgrep show */
#endif
            alarm(limit_s); /* SIGALRM's default action ends the process */
            volatile unsigned long spin = 0;
            for (;;)
                spin++;
        }
        load_pids[load_count++] = pid;
    }
    atexit(load_stop_all);
    return 0;
}

typedef struct companion {
    pthread_t thread;
    int started;
    const char *device_spec;
    const bench_weights *w;
    const lstmcl_model_options *mopts;
    atomic_int *stop;
    atomic_int *ready;
    lstmcl_status status;
    char error[256];
    unsigned long forwards;
} companion;

static void *companion_main(void *arg)
{
    companion *c = arg;
    lstmcl_context *ctx = NULL;
    lstmcl_model *model = NULL;
    float *y = NULL, *hn = NULL, *cn = NULL;
    const bench_config *cfg = &c->w->cfg;
    lstmcl_model_desc desc = bench_model_desc(cfg);
    lstmcl_status st = lstmcl_context_create(c->device_spec, &ctx);
    if (st == LSTMCL_SUCCESS)
        st = lstmcl_model_create_with(ctx, &desc, LSTMCL_CONVENTION_PYTORCH, c->w->layers,
                                      c->mopts, &model);
    if (st == LSTMCL_SUCCESS) {
        size_t D = bench_dirs(cfg), Ho = bench_hout(cfg);
        y = malloc(cfg->T * cfg->N * D * Ho * sizeof *y);
        hn = malloc(cfg->L * D * cfg->N * Ho * sizeof *hn);
        cn = malloc(cfg->L * D * cfg->N * cfg->H * sizeof *cn);
        if (!y || !hn || !cn)
            st = LSTMCL_ERROR_OUT_OF_HOST_MEMORY;
    }
    lstmcl_forward_args fa;
    memset(&fa, 0, sizeof fa);
    fa.seq_len = cfg->T;
    fa.batch = cfg->N;
    fa.x = c->w->x;
    fa.seq_lens = c->w->lens;
    fa.y = y;
    fa.hn = hn;
    fa.cn = cn;
    /* one forward before the row's timing starts, so that compiling and
     * the first upload are not what the row measures beside */
    if (st == LSTMCL_SUCCESS)
        st = lstmcl_forward(model, &fa);
    atomic_fetch_add(c->ready, 1);
    while (st == LSTMCL_SUCCESS && !atomic_load(c->stop)) {
        st = lstmcl_forward(model, &fa);
        c->forwards++;
    }
    c->status = st;
    if (st != LSTMCL_SUCCESS)
        snprintf(c->error, sizeof c->error, "%s", lstmcl_thread_last_error());
    lstmcl_model_destroy(model);
    lstmcl_context_destroy(ctx);
    free(y);
    free(hn);
    free(cn);
    return NULL;
}

struct bench_companions {
    companion c[BENCH_MAX_THREADS];
    size_t n;
    atomic_int stop, ready;
};

bench_companions *bench_companions_start(size_t count, const char *device_spec,
                                         const bench_weights *w,
                                         const lstmcl_model_options *mopts, char *why,
                                         size_t why_size)
{
    if (count == 0)
        return NULL;
    if (count > BENCH_MAX_THREADS) {
        snprintf(why, why_size, "at most %d companion threads", BENCH_MAX_THREADS);
        return NULL;
    }
    bench_companions *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(why, why_size, "out of host memory");
        return NULL;
    }
    atomic_init(&b->stop, 0);
    atomic_init(&b->ready, 0);
    for (size_t i = 0; i < count; ++i) {
        companion *c = &b->c[i];
        c->device_spec = device_spec;
        c->w = w;
        c->mopts = mopts;
        c->stop = &b->stop;
        c->ready = &b->ready;
        if (pthread_create(&c->thread, NULL, companion_main, c) != 0) {
            snprintf(why, why_size, "pthread_create failed");
            break;
        }
        c->started = 1;
        b->n++;
    }
    /* wait until every companion has run its first forward */
    while ((size_t)atomic_load(&b->ready) < b->n)
        usleep(1000);
    if (b->n < count) {
        bench_companions_stop(b, NULL, 0);
        return NULL;
    }
    return b;
}

int bench_companions_stop(bench_companions *b, char *why, size_t why_size)
{
    if (!b)
        return 0;
    atomic_store(&b->stop, 1);
    int rc = 0;
    for (size_t i = 0; i < b->n; ++i) {
        pthread_join(b->c[i].thread, NULL);
        if (b->c[i].status != LSTMCL_SUCCESS && rc == 0) {
            rc = -1;
            if (why)
                snprintf(why, why_size, "companion thread %zu: %s: %s", i + 1,
                         lstmcl_status_string(b->c[i].status), b->c[i].error);
        }
    }
    free(b);
    return rc;
}
