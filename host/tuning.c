/* The tuning file: algorithm choices measured on a device by lstmcl-tune,
 * read when a model is created.
 *
 * Location: the model's option tuning_file, else $LSTMCL_TUNING_FILE, else
 * tuning.txt in the model's program-cache directory. Text, one entry a line
 * after the header line "lstmcl-tuning 2":
 *     <device name> TAB <driver version> TAB <hidden size> TAB <batch> TAB <algorithm>
 *         TAB <precision>
 * The precision is a name of LSTMCL_PRECISION_TABLE ("fp32", "fp16", ...):
 * the weights' precision the entry was measured with; a model reads only
 * the entries of its own precision (the fastest algorithm differs with the
 * bytes each weight takes). An entry without it (five fields) is fp32, and
 * so is every entry of a file with the header "lstmcl-tuning 1", the format
 * before precisions (read as before). lstmcl-tune writes format 2 and keeps
 * the entries it did not measure, whatever their format.
 * Lines for another device or driver are skipped; a file that cannot be read
 * or parsed, or is not a regular file (opened without blocking, so that a
 * FIFO there cannot hang model creation), is ignored quietly: the built-in
 * rules apply. It only ever chooses among algorithms that compute the same
 * result, so ignoring it costs speed, never correctness. For a model the
 * entries of the nearest hidden size measured are kept; a forward pass uses
 * the entry of the nearest batch (by ratio). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* The tuning file's default path from the environment; 0 when there is
 * none. */
int lc_tuning_path_default(char *out, size_t cap)
{
    const char *f = getenv("LSTMCL_TUNING_FILE");
    if (f)
        return *f && snprintf(out, cap, "%s", f) < (int)cap;
    char dir[4096];
    if (!lc_cache_dir_default(dir, sizeof dir))
        return 0;
    return snprintf(out, cap, "%s/tuning.txt", dir) < (int)cap;
}

/* Splits a line into its tab-separated fields in place (the newline
 * dropped); returns how many there are, at most `max` (0 for more). */
static int lc_fields(char *line, char **f, int max)
{
    line[strcspn(line, "\n")] = '\0';
    int n = 0;
    for (;;) {
        if (n == max)
            return 0;
        f[n++] = line;
        char *tab = strchr(line, '\t');
        if (!tab)
            return n;
        *tab = '\0';
        line = tab + 1;
    }
}

/* The precision of a name of the header's table; 0 when there is none.
 * (lstmcl_precision_from_name would leave an error message behind.) */
static int lc_precision_parse(const char *name, lstmcl_precision *p)
{
#define LC_X_PREC(value, num, text) \
    if (strcmp(name, text) == 0) {  \
        *p = value;                 \
        return 1;                   \
    }
    LSTMCL_PRECISION_TABLE(LC_X_PREC)
#undef LC_X_PREC
    return 0;
}

static int lc_parse_size(const char *s, size_t *v)
{
    char *end = NULL;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || x == 0 || x > ((size_t)1 << 30))
        return 0;
    *v = (size_t)x;
    return 1;
}

void lc_tuning_load(lstmcl_model *m)
{
    m->n_tuned = 0;
    if (!m->cfg.tuning_on)
        return;
    struct stat sb;
    FILE *f = lc_open_regular(m->cfg.tuning_file, &sb);
    if (!f)
        return;
    char line[1024];
    lc_tuned all[LC_MAX_TUNED];
    size_t nall = 0;
    if (!fgets(line, sizeof line, f) ||
        (strcmp(line, "lstmcl-tuning 1\n") != 0 && strcmp(line, "lstmcl-tuning 2\n") != 0)) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f) && nall < LC_MAX_TUNED) {
        char *fl[6];
        size_t H = 0, N = 0;
        lstmcl_algorithm a;
        /* five fields: an entry from before precisions, fp32 */
        lstmcl_precision p = LSTMCL_PRECISION_FP32;
        int n = lc_fields(line, fl, 6);
        if (n < 5 || (n == 6 && !lc_precision_parse(fl[5], &p)) || p != m->precision ||
            strcmp(fl[0], m->ctx->info.name) != 0 ||
            strcmp(fl[1], m->ctx->info.driver_version) != 0 || !lc_parse_size(fl[2], &H) ||
            !lc_parse_size(fl[3], &N) || !lc_algorithm_parse(fl[4], &a) || a == LSTMCL_ALGO_AUTO)
            continue;
        all[nall++] = (lc_tuned){H, N, a};
    }
    fclose(f);
    /* Keep the entries of the hidden size nearest (by ratio) to the model's. */
    double best = INFINITY;
    size_t bestH = 0;
    for (size_t i = 0; i < nall; i++) {
        double dist = fabs(log((double)all[i].hidden / (double)m->H));
        if (dist < best) {
            best = dist;
            bestH = all[i].hidden;
        }
    }
    for (size_t i = 0; i < nall; i++)
        if (all[i].hidden == bestH)
            m->tuned[m->n_tuned++] = all[i];
}

lstmcl_algorithm lc_tuning_pick(const lstmcl_model *m, size_t N)
{
    double best = INFINITY;
    lstmcl_algorithm a = LSTMCL_ALGO_AUTO;
    for (size_t i = 0; i < m->n_tuned; i++) {
        double dist = fabs(log((double)m->tuned[i].batch / (double)N));
        if (dist < best) {
            best = dist;
            a = m->tuned[i].algo;
        }
    }
    return a;
}

lstmcl_status lstmcl_tuning_file(char *buf, size_t size)
{
    char path[4200];
    if (!buf || size == 0)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_tuning_file: buf must not be NULL or empty");
    if (!lc_tuning_path_default(path, sizeof path))
        return lc_fail(NULL, LSTMCL_ERROR_UNSUPPORTED,
                       "no tuning file: LSTMCL_TUNING_FILE is empty or the cache is off");
    if (strlen(path) >= size)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_tuning_file: the path needs %zu bytes", strlen(path) + 1);
    memcpy(buf, path, strlen(path) + 1);
    return LSTMCL_SUCCESS;
}
