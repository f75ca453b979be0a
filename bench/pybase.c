/* Python baselines: runs bench/baselines.py (PyTorch nn.LSTM, onnxruntime's
 * LSTM operator, and their dynamically quantized int8 forms) on the bench's
 * own weights and input, passed through a raw float32 file, and reads its
 * JSON answer back: an array of flat objects. The script's stderr passes
 * through to ours. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* ------------------------------------------------------------------------ */
/* A JSON reader for what the script prints: [ {"key": scalar, ...}, ... ]  */
/* ------------------------------------------------------------------------ */

enum { JOBJ_MAX_KEYS = 16, JOBJ_MAX_OBJS = 16 };

typedef struct jobj {
    size_t n;
    char key[JOBJ_MAX_KEYS][32];
    char val[JOBJ_MAX_KEYS][512];
} jobj;

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        ++p;
    return p;
}

/* Reads a JSON string at p (at the opening quote) into out; returns the
 * position after the closing quote or NULL. \uXXXX escapes become '?'. */
static const char *jstring(const char *p, char *out, size_t size)
{
    if (*p != '"')
        return NULL;
    size_t n = 0;
    for (++p; *p && *p != '"'; ++p) {
        char ch = *p;
        if (ch == '\\') {
            ++p;
            switch (*p) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'u':
                for (int i = 0; i < 4; ++i)
                    if (!p[1 + i])
                        return NULL;
                p += 4;
                ch = '?';
                break;
            case '\0': return NULL;
            default: ch = *p; break;
            }
        }
        if (n + 1 < size)
            out[n++] = ch;
    }
    if (*p != '"')
        return NULL;
    out[n] = '\0';
    return p + 1;
}

static const char *jscalar(const char *p, char *out, size_t size)
{
    if (*p == '"')
        return jstring(p, out, size);
    size_t n = 0;
    while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') {
        if (n + 1 < size)
            out[n++] = *p;
        ++p;
    }
    out[n] = '\0';
    return n ? p : NULL;
}

/* Returns the number of objects read, or -1 on malformed input. */
static int parse_objects(const char *s, jobj *objs, size_t cap)
{
    const char *p = strchr(s, '[');
    if (!p)
        return -1;
    p = ws(p + 1);
    size_t count = 0;
    if (*p == ']')
        return 0;
    for (;;) {
        if (*p != '{' || count >= cap)
            return -1;
        jobj *o = &objs[count++];
        memset(o, 0, sizeof *o);
        p = ws(p + 1);
        while (*p != '}') {
            char key[32], val[512];
            p = jstring(p, key, sizeof key);
            if (!p)
                return -1;
            p = ws(p);
            if (*p != ':')
                return -1;
            p = jscalar(ws(p + 1), val, sizeof val);
            if (!p)
                return -1;
            if (o->n < JOBJ_MAX_KEYS) {
                snprintf(o->key[o->n], sizeof o->key[0], "%s", key);
                snprintf(o->val[o->n], sizeof o->val[0], "%s", val);
                ++o->n;
            }
            p = ws(p);
            if (*p == ',')
                p = ws(p + 1);
            else if (*p != '}')
                return -1;
        }
        p = ws(p + 1);
        if (*p == ']')
            return (int)count;
        if (*p != ',')
            return -1;
        p = ws(p + 1);
    }
}

static const char *jget(const jobj *o, const char *key)
{
    for (size_t i = 0; i < o->n; ++i)
        if (!strcmp(o->key[i], key))
            return o->val[i];
    return NULL;
}

static double jnum(const jobj *o, const char *key)
{
    const char *v = jget(o, key);
    if (!v || !strcmp(v, "null"))
        return NAN;
    char *end;
    double x = strtod(v, &end);
    return *end ? NAN : x;
}

/* ------------------------------------------------------------------------ */
/* Running the script                                                        */
/* ------------------------------------------------------------------------ */

/* Appends s to buf single-quoted for /bin/sh. */
static void shell_quote(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 < size)
        buf[n++] = '\'';
    for (; *s && n + 5 < size; ++s) {
        if (*s == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *s;
        }
    }
    if (n + 1 < size)
        buf[n++] = '\'';
    buf[n < size ? n : size - 1] = '\0';
}

/* Runs `cmd`, returns its stdout (malloc'ed) or NULL; *status its exit. */
static char *run_capture(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    while (out) {
        if (len + 1024 > cap) {
            char *grown = realloc(out, cap * 2);
            if (!grown) {
                free(out);
                out = NULL;
                break;
            }
            out = grown;
            cap *= 2;
        }
        size_t got = fread(out + len, 1, cap - len - 1, f);
        if (got == 0)
            break;
        len += got;
    }
    if (out)
        out[len] = '\0';
    *status = pclose(f);
    return out;
}

int bench_python_probe(bench_python *py, char *why, size_t why_size)
{
    if (access(py->script, R_OK) != 0) {
        snprintf(why, why_size, "%s not found", py->script);
        return -1;
    }
    char cmd[2048] = "";
    shell_quote(cmd, sizeof cmd, py->python);
    strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
    shell_quote(cmd, sizeof cmd, py->script);
    strncat(cmd, " probe", sizeof cmd - strlen(cmd) - 1);
    int status = 0;
    char *out = run_capture(cmd, &status);
    jobj objs[JOBJ_MAX_OBJS];
    int n = out ? parse_objects(out, objs, JOBJ_MAX_OBJS) : -1;
    free(out);
    if (status != 0 || n < 0) {
        snprintf(why, why_size, "%s %s probe failed (status %d)", py->python, py->script, status);
        return -1;
    }
    py->nnames = 0;
    py->nmissing = 0;
    for (int i = 0; i < n && py->nnames < BENCH_MAX_BASELINES; ++i) {
        const char *name = jget(&objs[i], "name"), *version = jget(&objs[i], "version");
        const char *error = jget(&objs[i], "error");
        if (!name)
            continue;
        if (error && error[0]) { /* known to the script, not runnable here */
            if (py->nmissing < BENCH_MAX_BASELINES) {
                snprintf(py->missing[py->nmissing], sizeof py->missing[0], "%s", name);
                snprintf(py->missing_why[py->nmissing], sizeof py->missing_why[0], "%s", error);
                ++py->nmissing;
            }
            continue;
        }
        snprintf(py->names[py->nnames], sizeof py->names[0], "%s", name);
        snprintf(py->versions[py->nnames], sizeof py->versions[0], "%s", version ? version : "");
        ++py->nnames;
    }
    if (py->nnames == 0) {
        snprintf(why, why_size, "neither torch nor onnxruntime importable by %s", py->python);
        return -1;
    }
    return 0;
}

lstmcl_precision bench_python_precision(const char *name)
{
    size_t n = strlen(name);
    return n >= 5 && !strcmp(name + n - 5, "-int8") ? LSTMCL_PRECISION_INT8
                                                    : LSTMCL_PRECISION_FP32;
}

/* Writes the arrays v[k] (n[k] floats each) one after the other to a new
 * temporary file named from the template `path`. */
static int write_floats(char *path, const float *const *v, const size_t *n, size_t count)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(path);
        return -1;
    }
    int ok = 1;
    for (size_t k = 0; k < count; ++k)
        ok = ok && fwrite(v[k], sizeof(float), n[k], f) == n[k];
    if (fclose(f) != 0 || !ok) {
        unlink(path);
        return -1;
    }
    return 0;
}

size_t bench_python_run(const bench_python *py, const bench_weights *w, const bench_outputs *ref,
                        int int8, double target_ms, double tolerance, bench_result *res,
                        size_t cap)
{
    const bench_config *c = &w->cfg;
    const char *tmp = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    char data_path[1024], ref_path[1024];
    snprintf(data_path, sizeof data_path, "%s/lstmcl-bench-data-XXXXXX", tmp);
    snprintf(ref_path, sizeof ref_path, "%s/lstmcl-bench-ref-XXXXXX", tmp);
    size_t nres = 0;
    char why[512] = "";
    int have_ref = 0;
    /* w->data holds the weights in make order, then x */
    const float *data = w->data;
    size_t ndata = w->count + c->T * c->N * c->I;
    if (write_floats(data_path, &data, &ndata, 1)) {
        snprintf(why, sizeof why, "cannot write a temporary file in %s", tmp);
        goto report;
    }
    if (ref) {
        /* y, hn and cn of the fp32 reference, one after the other */
        const float *parts[3] = {ref->y, ref->hn, ref->cn};
        size_t counts[3] = {ref->ny, ref->nh, ref->nc};
        if (write_floats(ref_path, parts, counts, 3)) {
            snprintf(why, sizeof why, "cannot write a temporary file in %s", tmp);
            unlink(data_path);
            goto report;
        }
        have_ref = 1;
    }
    char cmd[4096] = "";
    shell_quote(cmd, sizeof cmd, py->python);
    strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
    shell_quote(cmd, sizeof cmd, py->script);
    char args[512];
    snprintf(args, sizeof args,
             " run --H %zu --I %zu --N %zu --T %zu --L %zu --P %zu --D %zu --target-ms %.3f "
             "--tol %.9g --precisions %s --data ",
             c->H, c->I, c->N, c->T, c->L, c->P, bench_dirs(c), target_ms, tolerance,
             int8 ? "fp32,int8" : "fp32");
    strncat(cmd, args, sizeof cmd - strlen(cmd) - 1);
    shell_quote(cmd, sizeof cmd, data_path);
    if (have_ref) {
        strncat(cmd, " --ref ", sizeof cmd - strlen(cmd) - 1);
        shell_quote(cmd, sizeof cmd, ref_path);
    }
    int status = 0;
    char *out = run_capture(cmd, &status);
    unlink(data_path);
    if (have_ref)
        unlink(ref_path);
    jobj objs[JOBJ_MAX_OBJS];
    int n = out ? parse_objects(out, objs, JOBJ_MAX_OBJS) : -1;
    free(out);
    if (status != 0 || n < 0) {
        snprintf(why, sizeof why, "baselines.py failed (status %d)", status);
        goto report;
    }
    for (int i = 0; i < n && nres < cap; ++i) {
        const jobj *o = &objs[i];
        bench_result *r = &res[nres++];
        memset(r, 0, sizeof *r);
        r->cfg = *c;
        r->is_baseline = 1;
        const char *name = jget(o, "name");
        snprintf(r->device, sizeof r->device, "%s", name ? name : "?");
        r->precision = bench_python_precision(r->device);
        r->flops = bench_flops(c);
        r->bytes = bench_bytes(c, r->precision);
        r->peak_gflops = r->peak_gbs = NAN;
        r->wall.median = jnum(o, "ms_median");
        r->wall.min = jnum(o, "ms_min");
        r->wall.max = jnum(o, "ms_max");
        double reps = jnum(o, "reps");
        r->wall.reps = isnan(reps) ? 0 : (size_t)reps;
        r->dev.median = r->dev.min = r->dev.max = NAN;
        r->rec = r->dev;
        r->max_rel_err = jnum(o, "max_rel_err");
        static const char *const dev_keys[3] = {"dev_fp32_y", "dev_fp32_hn", "dev_fp32_cn"};
        for (int k = 0; k < 3; ++k)
            r->dev_fp32[k] = jnum(o, dev_keys[k]);
        r->dev_fp32_max = jnum(o, "dev_fp32");
        if (r->precision == LSTMCL_PRECISION_FP32) {
            r->tolerance = tolerance;
            r->check = isnan(r->max_rel_err) ? -1 : r->max_rel_err <= tolerance;
        } else {
            /* a quantized baseline is not held to float's tolerance: its
             * deviation from the fp32 reference is what it reports */
            r->tolerance = NAN;
            r->check = -1;
        }
        const char *st = jget(o, "status");
        r->ok = st && !strcmp(st, "ok") && !isnan(r->wall.median);
        if (!r->ok) {
            const char *e = jget(o, "error");
            snprintf(r->error, sizeof r->error, "%s", e && e[0] ? e : "no result");
        }
    }
    return nres;
report:
    /* one row per baseline the script would have run, all with the reason */
    for (size_t i = 0; i < py->nnames && nres < cap; ++i) {
        if (!int8 && bench_python_precision(py->names[i]) != LSTMCL_PRECISION_FP32)
            continue;
        bench_result *r = &res[nres++];
        memset(r, 0, sizeof *r);
        r->cfg = *c;
        r->is_baseline = 1;
        snprintf(r->device, sizeof r->device, "%s", py->names[i]);
        r->precision = bench_python_precision(r->device);
        r->wall.median = r->wall.min = r->wall.max = NAN;
        r->dev = r->rec = r->wall;
        r->max_rel_err = r->peak_gflops = r->peak_gbs = NAN;
        r->dev_fp32[0] = r->dev_fp32[1] = r->dev_fp32[2] = r->dev_fp32_max = NAN;
        r->check = -1;
        snprintf(r->error, sizeof r->error, "%s", why);
    }
    return nres;
}
