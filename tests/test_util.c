#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

lstmcl_context *tu_open_device(void)
{
    size_t count = 0;
    if (lstmcl_device_count(&count) != LSTMCL_SUCCESS || count == 0) {
        fprintf(stderr, "no OpenCL device: device tests skipped\n");
        return NULL;
    }
    lstmcl_context *ctx = NULL;
    lstmcl_status st = lstmcl_context_create(NULL, &ctx);
    if (st != LSTMCL_SUCCESS) {
        fprintf(stderr, "cannot open the test device: %s\n", lstmcl_thread_last_error());
        return NULL;
    }
    lstmcl_device_info info;
    if (lstmcl_context_device_info(ctx, &info) == LSTMCL_SUCCESS)
        fprintf(stderr, "device: %s (%s)\n", info.name, info.platform);
    return ctx;
}

const char *tu_data_dir(void)
{
    const char *d = getenv("LSTMCL_TEST_DATA");
    return (d && *d) ? d : ".";
}

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

float tu_uniform(tu_rng *r, float lo, float hi)
{
    double u = (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

void tu_fill(tu_rng *r, float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = tu_uniform(r, lo, hi);
}

size_t tu_range(tu_rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(tu_next(r) % (uint64_t)(hi - lo + 1));
}

double tu_max_abs_diff(const float *a, const float *b, size_t n, size_t *where)
{
    double m = 0.0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!isfinite(a[i]) || !isfinite(b[i]))
            d = INFINITY;
        if (d > m || (i == 0 && d == m)) {
            m = d;
            w = i;
        }
    }
    if (where)
        *where = w;
    return m;
}

int tu_all_finite(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return 0;
    return 1;
}

char *tu_set_env(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old ? strdup(old) : NULL;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return saved;
}

void tu_restore_env(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

/* The message the SIGALRM handler writes: built before the alarm is set,
 * since a handler may only call async-signal-safe functions. */
static char tu_deadline_msg[256];
static size_t tu_deadline_len;

static void tu_deadline_hit(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, tu_deadline_msg, tu_deadline_len);
    (void)w;
    _exit(1);
}

void tu_deadline(unsigned seconds, const char *what)
{
    alarm(0);
    if (seconds == 0)
        return;
    int n = snprintf(tu_deadline_msg, sizeof tu_deadline_msg, "%s: still running after %u s\n",
                     what, seconds);
    tu_deadline_len = n < 0 ? 0 : (size_t)n < sizeof tu_deadline_msg ? (size_t)n
                                                                      : sizeof tu_deadline_msg - 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tu_deadline_hit;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds);
}
