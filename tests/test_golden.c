/*
 * Golden-vector test: every case in tests/golden/ (written by
 * tests/golden/gen_golden.py, an independent numpy model of the LSTM) is run
 * on the CPU reference path and, when an OpenCL device exists, on the device,
 * and y, hn and cn are compared with the golden values.
 *
 * The case file format is described at the top of gen_golden.py. Weights are
 * passed in the case's own convention exactly as the file lays them out, so
 * the library's conversion from PyTorch, ONNX and Keras layouts is checked as
 * well as the arithmetic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lstmcl.h"
#include "test_util.h"

/* Tolerances.
 *
 * Reference path: the goldens are float64 results from float32 inputs; the
 * reference accumulates in double and returns float32, so the expected gap
 * is float32 rounding of the outputs (6e-8 relative) plus the effect of any
 * state the reference keeps in float32 between steps or layers. The
 * generator checks that rounding every state to float32 moves no golden
 * value by more than 1e-6 (relative to 1 + |value|), so 1e-5 absolute plus
 * 1e-5 relative keeps a tenfold margin, while a wrong gate order, bias,
 * peephole, clip or activation moves results by 1e-3 or more.
 *
 * Device: float32 accumulation. Each pre-activation sums K = Iin + Hout + 2
 * products; its error, about K float32 ulps of the summed magnitude, is
 * carried through T steps and L layers, so the bound grows with K*T*L and
 * with the input magnitude (the saturating cases feed |x| up to 100). */
#define REF_ATOL 1e-5
#define REF_RTOL 1e-5
#define DEV_BASE 1e-5
#define DEV_ULPS 4.0

#define GOLD_MAX_ARRAYS 64
#define GOLD_MAX_CASES 256
#define GOLD_MSG 768 /* cmocka truncates longer failure messages */

typedef struct gold_array {
    char name[64];
    size_t ndim;
    size_t dims[3];
    size_t count;
    double *v; /* the values as written */
    float *f;  /* the same values read as float32 (inputs and weights) */
} gold_array;

typedef struct gold_case {
    char path[1024];
    char name[64];
    lstmcl_convention convention;
    lstmcl_model_desc desc;
    size_t seq_len;
    size_t batch;
    int batch_first;
    size_t narrays;
    gold_array arrays[GOLD_MAX_ARRAYS];
} gold_case;

/* ------------------------------------------------------------------------ */
/* Tables                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct name_value {
    const char *name;
    int value;
} name_value;

static const name_value conventions[] = {
    {"pytorch", LSTMCL_CONVENTION_PYTORCH},
    {"onnx", LSTMCL_CONVENTION_ONNX},
    {"keras", LSTMCL_CONVENTION_KERAS},
};

static const name_value directions[] = {
    {"forward", LSTMCL_FORWARD},
    {"reverse", LSTMCL_REVERSE},
    {"bidirectional", LSTMCL_BIDIRECTIONAL},
};

/* The file names activations by their ONNX names, as the header's table. */
static const name_value activations[] = {
#define GOLD_X_ACT(name, value, text) {text, name},
    LSTMCL_ACTIVATION_TABLE(GOLD_X_ACT)
#undef GOLD_X_ACT
};

static const name_value slots[] = {
    {"f", LSTMCL_SLOT_F},
    {"g", LSTMCL_SLOT_G},
    {"h", LSTMCL_SLOT_H},
};

/* Scalar configuration keys and where they go. */
enum gold_kind { GOLD_SIZE, GOLD_INT, GOLD_FLOAT };
enum gold_target { GOLD_IN_DESC, GOLD_IN_CASE };

static const struct {
    const char *key;
    enum gold_kind kind;
    enum gold_target target;
    size_t offset;
} scalar_keys[] = {
    {"input_size", GOLD_SIZE, GOLD_IN_DESC, offsetof(lstmcl_model_desc, input_size)},
    {"hidden_size", GOLD_SIZE, GOLD_IN_DESC, offsetof(lstmcl_model_desc, hidden_size)},
    {"proj_size", GOLD_SIZE, GOLD_IN_DESC, offsetof(lstmcl_model_desc, proj_size)},
    {"num_layers", GOLD_SIZE, GOLD_IN_DESC, offsetof(lstmcl_model_desc, num_layers)},
    {"no_bias", GOLD_INT, GOLD_IN_DESC, offsetof(lstmcl_model_desc, no_bias)},
    {"peephole", GOLD_INT, GOLD_IN_DESC, offsetof(lstmcl_model_desc, peephole)},
    {"input_forget", GOLD_INT, GOLD_IN_DESC, offsetof(lstmcl_model_desc, input_forget)},
    {"has_clip", GOLD_INT, GOLD_IN_DESC, offsetof(lstmcl_model_desc, has_clip)},
    {"clip", GOLD_FLOAT, GOLD_IN_DESC, offsetof(lstmcl_model_desc, clip)},
    {"clip_cell", GOLD_INT, GOLD_IN_DESC, offsetof(lstmcl_model_desc, clip_cell)},
    {"seq_len", GOLD_SIZE, GOLD_IN_CASE, offsetof(gold_case, seq_len)},
    {"batch", GOLD_SIZE, GOLD_IN_CASE, offsetof(gold_case, batch)},
    {"batch_first", GOLD_INT, GOLD_IN_CASE, offsetof(gold_case, batch_first)},
};

/* Inputs and golden outputs; every other array is a weight. */
static const char *const io_arrays[] = {"x", "seq_lens", "h0", "c0", "y", "hn", "cn"};

/* Per layer-direction weight arrays, named "L<layer>.D<dir>.<field>". */
static const struct {
    const char *name;
    size_t offset;
} weight_fields[] = {
    {"input_weights", offsetof(lstmcl_layer_weights, input_weights)},
    {"recurrent_weights", offsetof(lstmcl_layer_weights, recurrent_weights)},
    {"input_bias", offsetof(lstmcl_layer_weights, input_bias)},
    {"recurrent_bias", offsetof(lstmcl_layer_weights, recurrent_bias)},
    {"peephole", offsetof(lstmcl_layer_weights, peephole)},
    {"projection", offsetof(lstmcl_layer_weights, projection)},
};

#define GOLD_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const name_value *table, size_t n, const char *name, int *value)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *value = table[i].value;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

/* Whitespace-separated tokens of a file held in memory; a token starting
 * with '#' comments out the rest of its line. */
typedef struct gold_lexer {
    char *p;
} gold_lexer;

static char *next_token(gold_lexer *lx)
{
    for (;;) {
        while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r')
            lx->p++;
        if (*lx->p != '#')
            break;
        while (*lx->p && *lx->p != '\n')
            lx->p++;
    }
    if (!*lx->p)
        return NULL;
    char *start = lx->p;
    while (*lx->p && *lx->p != ' ' && *lx->p != '\t' && *lx->p != '\n' && *lx->p != '\r')
        lx->p++;
    if (*lx->p)
        *lx->p++ = '\0';
    return start;
}

static int parse_size(const char *tok, size_t *out)
{
    if (!tok || *tok < '0' || *tok > '9')
        return 0;
    char *end = NULL;
    unsigned long long v = strtoull(tok, &end, 10);
    if (*end != '\0')
        return 0;
    *out = (size_t)v;
    return 1;
}

static int parse_double(const char *tok, double *out)
{
    if (!tok)
        return 0;
    char *end = NULL;
    *out = strtod(tok, &end);
    return end != tok && *end == '\0';
}

/* strtof rounds the decimal text straight to float32, so an input written
 * in its shortest round-trip form comes back bit-exact. */
static int parse_float(const char *tok, float *out)
{
    if (!tok)
        return 0;
    char *end = NULL;
    *out = strtof(tok, &end);
    return end != tok && *end == '\0';
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len + 1 < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void case_free(gold_case *gc)
{
    for (size_t i = 0; i < gc->narrays; i++) {
        free(gc->arrays[i].v);
        free(gc->arrays[i].f);
    }
    gc->narrays = 0;
}

static const gold_array *find_array(const gold_case *gc, const char *name)
{
    for (size_t i = 0; i < gc->narrays; i++)
        if (strcmp(gc->arrays[i].name, name) == 0)
            return &gc->arrays[i];
    return NULL;
}

/* Reads "array NAME NDIM DIMS... values..." after the keyword. */
static int parse_array(gold_lexer *lx, gold_case *gc, char *err, size_t errlen)
{
    if (gc->narrays == GOLD_MAX_ARRAYS) {
        snprintf(err, errlen, "more than %d arrays", GOLD_MAX_ARRAYS);
        return 0;
    }
    gold_array *a = &gc->arrays[gc->narrays];
    memset(a, 0, sizeof(*a));
    const char *name = next_token(lx);
    if (!name || strlen(name) >= sizeof(a->name)) {
        snprintf(err, errlen, "bad array name");
        return 0;
    }
    strcpy(a->name, name);
    if (!parse_size(next_token(lx), &a->ndim) || a->ndim < 1 || a->ndim > 3) {
        snprintf(err, errlen, "array %s: bad ndim", name);
        return 0;
    }
    a->count = 1;
    for (size_t k = 0; k < a->ndim; k++) {
        if (!parse_size(next_token(lx), &a->dims[k]) || a->dims[k] == 0 ||
            a->dims[k] > 100000) {
            snprintf(err, errlen, "array %s: bad dimension %zu", name, k);
            return 0;
        }
        a->count *= a->dims[k];
    }
    a->v = malloc(a->count * sizeof(double));
    a->f = malloc(a->count * sizeof(float));
    gc->narrays++; /* owned by the case from here on, freed by case_free */
    if (!a->v || !a->f) {
        snprintf(err, errlen, "array %s: out of memory", name);
        return 0;
    }
    for (size_t i = 0; i < a->count; i++) {
        const char *tok = next_token(lx);
        if (!parse_double(tok, &a->v[i]) || !parse_float(tok, &a->f[i])) {
            snprintf(err, errlen, "array %s: bad or missing value %zu", name, i);
            return 0;
        }
    }
    return 1;
}

static int parse_case(const char *path, gold_case *gc, char *err, size_t errlen)
{
    memset(gc, 0, sizeof(*gc));
    snprintf(gc->path, sizeof(gc->path), "%s", path);
    char *text = read_file(path);
    if (!text) {
        snprintf(err, errlen, "cannot read the file");
        return 0;
    }
    gold_lexer lx = {text};
    int ok = 1, ended = 0, value = 0;
    const char *tok = next_token(&lx);
    size_t version = 0;
    if (!tok || strcmp(tok, "lstmcl-golden") != 0 || !parse_size(next_token(&lx), &version) ||
        version != 1) {
        snprintf(err, errlen, "not an lstmcl-golden version 1 file");
        ok = 0;
    }
    while (ok && !ended && (tok = next_token(&lx)) != NULL) {
        size_t k;
        for (k = 0; k < GOLD_COUNT(scalar_keys); k++)
            if (strcmp(tok, scalar_keys[k].key) == 0)
                break;
        if (k < GOLD_COUNT(scalar_keys)) {
            char *base = scalar_keys[k].target == GOLD_IN_DESC ? (char *)&gc->desc : (char *)gc;
            void *field = base + scalar_keys[k].offset;
            const char *val = next_token(&lx);
            size_t sz = 0;
            float fl = 0.0f;
            if (scalar_keys[k].kind == GOLD_FLOAT && parse_float(val, &fl)) {
                memcpy(field, &fl, sizeof(fl));
            } else if (scalar_keys[k].kind != GOLD_FLOAT && parse_size(val, &sz)) {
                if (scalar_keys[k].kind == GOLD_SIZE) {
                    memcpy(field, &sz, sizeof(sz));
                } else {
                    int iv = (int)sz;
                    memcpy(field, &iv, sizeof(iv));
                }
            } else {
                snprintf(err, errlen, "bad value for %s", tok);
                ok = 0;
            }
        } else if (strcmp(tok, "name") == 0) {
            const char *val = next_token(&lx);
            ok = val && strlen(val) < sizeof(gc->name);
            if (ok)
                strcpy(gc->name, val);
            else
                snprintf(err, errlen, "bad name");
        } else if (strcmp(tok, "convention") == 0) {
            ok = lookup(conventions, GOLD_COUNT(conventions), next_token(&lx), &value);
            gc->convention = (lstmcl_convention)value;
            if (!ok)
                snprintf(err, errlen, "unknown convention");
        } else if (strcmp(tok, "direction") == 0) {
            ok = lookup(directions, GOLD_COUNT(directions), next_token(&lx), &value);
            gc->desc.direction = (lstmcl_direction)value;
            if (!ok)
                snprintf(err, errlen, "unknown direction");
        } else if (strcmp(tok, "act") == 0) {
            size_t d = 0;
            int slot = 0, kind = 0;
            float alpha = 0.0f, beta = 0.0f;
            ok = parse_size(next_token(&lx), &d) && d < 2 &&
                 lookup(slots, GOLD_COUNT(slots), next_token(&lx), &slot) &&
                 lookup(activations, GOLD_COUNT(activations), next_token(&lx), &kind) &&
                 parse_float(next_token(&lx), &alpha) && parse_float(next_token(&lx), &beta);
            if (ok) {
                lstmcl_activation *a = &gc->desc.activations[d][slot];
                a->kind = (lstmcl_activation_kind)kind;
                a->alpha = alpha;
                a->beta = beta;
            } else {
                snprintf(err, errlen, "bad act line");
            }
        } else if (strcmp(tok, "array") == 0) {
            ok = parse_array(&lx, gc, err, errlen);
        } else if (strcmp(tok, "end") == 0) {
            ended = 1;
        } else {
            snprintf(err, errlen, "unknown key '%s'", tok);
            ok = 0;
        }
    }
    if (ok && !ended) {
        snprintf(err, errlen, "missing 'end'");
        ok = 0;
    }
    free(text);
    if (!ok)
        case_free(gc);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Running a case                                                            */
/* ------------------------------------------------------------------------ */

typedef struct gold_shape {
    size_t D, hout, y_count, hn_count, cn_count;
} gold_shape;

static gold_shape case_shape(const gold_case *gc)
{
    const lstmcl_model_desc *m = &gc->desc;
    gold_shape s;
    s.D = m->direction == LSTMCL_BIDIRECTIONAL ? 2 : 1;
    s.hout = m->proj_size ? m->proj_size : m->hidden_size;
    s.y_count = gc->seq_len * gc->batch * s.D * s.hout;
    s.hn_count = m->num_layers * s.D * gc->batch * s.hout;
    s.cn_count = m->num_layers * s.D * gc->batch * m->hidden_size;
    return s;
}

/* Fills layers[0 .. L-1] from the case's "L<l>.D<d>.<field>" arrays (and
 * rejects any array it does not know). */
static int build_weights(const gold_case *gc, lstmcl_layer_weights *layers, char *err,
                         size_t errlen)
{
    size_t L = gc->desc.num_layers;
    memset(layers, 0, L * sizeof(*layers));
    for (size_t i = 0; i < gc->narrays; i++) {
        const gold_array *a = &gc->arrays[i];
        if (a->name[0] != 'L') {
            size_t k = 0;
            while (k < GOLD_COUNT(io_arrays) && strcmp(a->name, io_arrays[k]) != 0)
                k++;
            if (k == GOLD_COUNT(io_arrays)) {
                snprintf(err, errlen, "unknown array %s", a->name);
                return 0;
            }
            continue;
        }
        char *end = NULL;
        unsigned long layer = strtoul(a->name + 1, &end, 10);
        if (end[0] != '.' || end[1] != 'D') {
            snprintf(err, errlen, "bad weight name %s", a->name);
            return 0;
        }
        unsigned long dir = strtoul(end + 2, &end, 10);
        size_t k = 0;
        if (*end == '.') {
            for (k = 0; k < GOLD_COUNT(weight_fields); k++)
                if (strcmp(end + 1, weight_fields[k].name) == 0)
                    break;
        }
        if (*end != '.' || k == GOLD_COUNT(weight_fields) || layer >= L || dir > 1) {
            snprintf(err, errlen, "bad weight name %s", a->name);
            return 0;
        }
        lstmcl_tensor *t = (lstmcl_tensor *)((char *)&layers[layer] + weight_fields[k].offset);
        t[dir].data = a->f;
        t[dir].ndim = a->ndim;
        memcpy(t[dir].dims, a->dims, sizeof(t[dir].dims));
    }
    return 1;
}

/* "(i, j, k)" of flat index `flat` in an array of the given dims. */
static void unravel(const gold_array *a, size_t flat, char *out, size_t outlen)
{
    size_t idx[3] = {0, 0, 0};
    for (size_t k = a->ndim; k-- > 0;) {
        idx[k] = flat % a->dims[k];
        flat /= a->dims[k];
    }
    if (a->ndim == 1)
        snprintf(out, outlen, "(%zu)", idx[0]);
    else if (a->ndim == 2)
        snprintf(out, outlen, "(%zu, %zu)", idx[0], idx[1]);
    else
        snprintf(out, outlen, "(%zu, %zu, %zu)", idx[0], idx[1], idx[2]);
}

/* Compares out[] with the golden array, value by value: |out - gold| must
 * be at most atol + rtol * |gold|, and out finite. Prints the first
 * mismatches (case file, function, array, flat and multi-index, both
 * values) and a summary, and returns the number of mismatching values. */
static size_t compare(const gold_case *gc, const char *what, const gold_array *gold,
                      const float *out, double atol, double rtol)
{
    size_t bad = 0;
    double worst = 0.0;
    for (size_t i = 0; i < gold->count; i++) {
        double g = gold->v[i], a = (double)out[i];
        double diff = fabs(a - g), tol = atol + rtol * fabs(g);
        if (!isfinite(a) || !(diff <= tol)) {
            if (bad < 5) {
                char where[64];
                unravel(gold, i, where, sizeof(where));
                print_error("%s: %s: %s[%zu] %s = %.9g, golden %.9g (|diff| %.3g > tol %.3g)\n",
                            gc->path, what, gold->name, i, where, a, g, diff, tol);
            }
            bad++;
        }
        if (isfinite(diff) && diff > worst)
            worst = diff;
    }
    if (bad)
        print_error("%s: %s: %s: %zu of %zu values outside tolerance"
                    " (largest finite |diff| %.3g)\n",
                    gc->path, what, gold->name, bad, gold->count, worst);
    return bad;
}

/* The device tolerance of a case (see the comment at the top). */
static void device_tolerance(const gold_case *gc, double *atol, double *rtol)
{
    gold_shape s = case_shape(gc);
    size_t iin = gc->desc.input_size;
    if (gc->desc.num_layers > 1 && s.D * s.hout > iin)
        iin = s.D * s.hout;
    double k = (double)(iin + s.hout + 2);
    double scale = 1.0;
    static const char *const inputs[] = {"x", "h0", "c0"};
    for (size_t n = 0; n < GOLD_COUNT(inputs); n++) {
        const gold_array *a = find_array(gc, inputs[n]);
        for (size_t i = 0; a && i < a->count; i++)
            if (fabs(a->v[i]) > scale)
                scale = fabs(a->v[i]);
    }
    double steps = (double)gc->seq_len * (double)gc->desc.num_layers;
    *atol = (DEV_BASE + DEV_ULPS * FLT_EPSILON * k * steps) * scale;
    *rtol = *atol;
}

/* NaN everywhere: a value the library forgets to write fails the test. */
static void poison(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
}

/* Runs one case on ctx; returns 1 when every output is within tolerance,
 * else 0 with the reason in msg (mismatching values are printed as they are
 * found). Releases everything before returning. */
/* The accuracy contract of a reduced precision (include/lstmcl.h,
 * lstmcl_precision): per output, max |got - gold| / max(max |gold|, 1). */
static double contract_bound(lstmcl_precision p)
{
    return p == LSTMCL_PRECISION_FP16 ? 1e-2 : p == LSTMCL_PRECISION_BF16 ? 3e-2 : 5e-2;
}

static double deviation(const gold_array *gold, const float *got)
{
    double dmax = 0.0, rmax = 1.0;
    for (size_t i = 0; i < gold->count; i++) {
        double d = fabs((double)got[i] - gold->v[i]);
        if (!(d <= dmax)) /* a NaN wins */
            dmax = d;
        if (fabs(gold->v[i]) > rmax)
            rmax = fabs(gold->v[i]);
    }
    return dmax / rmax;
}

/* Runs a case on ctx. prec fp32: the outputs against the goldens within
 * the tolerances above; a reduced precision: within its accuracy contract,
 * the deviations (y, hn, cn) returned in dev[3]. */
static int run_case_prec(const char *path, lstmcl_context *ctx, int on_device,
                         lstmcl_precision prec, double dev[3], char *msg, size_t msglen);

static int run_case(const char *path, lstmcl_context *ctx, int on_device, char *msg,
                    size_t msglen)
{
    double dev[3];
    return run_case_prec(path, ctx, on_device, LSTMCL_PRECISION_FP32, dev, msg, msglen);
}

static int run_case_prec(const char *path, lstmcl_context *ctx, int on_device,
                         lstmcl_precision prec, double dev[3], char *msg, size_t msglen)
{
    msg[0] = '\0';
    gold_case *gc = malloc(sizeof(*gc));
    if (!gc) {
        snprintf(msg, msglen, "%s: out of memory", path);
        return 0;
    }
    char err[512];
    if (!parse_case(path, gc, err, sizeof(err))) {
        snprintf(msg, msglen, "%s: %s", path, err);
        free(gc);
        return 0;
    }

    int ok = 0;
    lstmcl_model *model = NULL;
    lstmcl_layer_weights *layers = NULL;
    int32_t *lens = NULL;
    float *y = NULL, *hn = NULL, *cn = NULL;
    gold_shape s = case_shape(gc);
    const gold_array *gx = find_array(gc, "x"), *gy = find_array(gc, "y");
    const gold_array *ghn = find_array(gc, "hn"), *gcn = find_array(gc, "cn");
    const gold_array *gl = find_array(gc, "seq_lens");
    const gold_array *gh0 = find_array(gc, "h0"), *gc0 = find_array(gc, "c0");

    if (gc->desc.num_layers == 0 || gc->desc.num_layers > 8 || !gx || !gy || !ghn || !gcn ||
        gx->count != gc->seq_len * gc->batch * gc->desc.input_size ||
        gy->count != s.y_count || ghn->count != s.hn_count || gcn->count != s.cn_count ||
        (gl && gl->count != gc->batch) || (gh0 && gh0->count != s.hn_count) ||
        (gc0 && gc0->count != s.cn_count)) {
        snprintf(msg, msglen, "%s: arrays missing or of the wrong size for the configuration",
                 path);
        goto done;
    }

    layers = calloc(gc->desc.num_layers, sizeof(*layers));
    if (!layers) {
        snprintf(msg, msglen, "%s: out of memory", path);
        goto done;
    }
    if (!build_weights(gc, layers, err, sizeof(err))) {
        snprintf(msg, msglen, "%s: %s", path, err);
        goto done;
    }
    lstmcl_model_options opts;
    lstmcl_model_options_init(&opts);
    opts.precision = prec;
    lstmcl_status st =
        lstmcl_model_create_with(ctx, &gc->desc, gc->convention, layers, &opts, &model);
    if (st != LSTMCL_SUCCESS) {
        snprintf(msg, msglen, "%s: lstmcl_model_create: %s (%d): %s", path,
                 lstmcl_status_string(st), (int)st, lstmcl_thread_last_error());
        goto done;
    }

    if (gl) {
        lens = malloc(gl->count * sizeof(*lens));
        if (!lens) {
            snprintf(msg, msglen, "%s: out of memory", path);
            goto done;
        }
        for (size_t i = 0; i < gl->count; i++)
            lens[i] = (int32_t)gl->v[i];
    }
    y = malloc(s.y_count * sizeof(*y));
    hn = malloc(s.hn_count * sizeof(*hn));
    cn = malloc(s.cn_count * sizeof(*cn));
    if (!y || !hn || !cn) {
        snprintf(msg, msglen, "%s: out of memory", path);
        goto done;
    }
    lstmcl_forward_args args = {0};
    args.seq_len = gc->seq_len;
    args.batch = gc->batch;
    args.batch_first = gc->batch_first;
    args.x = gx->f;
    args.seq_lens = lens;
    args.h0 = gh0 ? gh0->f : NULL;
    args.c0 = gc0 ? gc0->f : NULL;
    args.y = y;
    args.hn = hn;
    args.cn = cn;

    /* The context's own path; on a device also lstmcl_forward_reference on
     * the same model, the result device runs are checked against. */
    ok = 1;
    for (int pass = 0; ok && pass < (on_device ? 2 : 1); pass++) {
        const char *what = pass == 0 ? "lstmcl_forward" : "lstmcl_forward_reference";
        poison(y, s.y_count);
        poison(hn, s.hn_count);
        poison(cn, s.cn_count);
        st = pass == 0 ? lstmcl_forward(model, &args) : lstmcl_forward_reference(model, &args);
        if (st != LSTMCL_SUCCESS) {
            snprintf(msg, msglen, "%s: %s: %s (%d): %s", path, what, lstmcl_status_string(st),
                     (int)st, lstmcl_thread_last_error());
            ok = 0;
            break;
        }
        if (prec != LSTMCL_PRECISION_FP32) {
            dev[0] = deviation(gy, y);
            dev[1] = deviation(ghn, hn);
            dev[2] = deviation(gcn, cn);
            const double bound = contract_bound(prec);
            if (!(dev[0] <= bound && dev[1] <= bound && dev[2] <= bound)) {
                snprintf(msg, msglen,
                         "%s: %s: %s deviates from the goldens by y %.3g, hn %.3g, cn %.3g "
                         "(contract %.3g)",
                         path, what, lstmcl_precision_name(prec), dev[0], dev[1], dev[2],
                         bound);
                ok = 0;
            }
            continue;
        }
        double atol = REF_ATOL, rtol = REF_RTOL;
        if (on_device && pass == 0)
            device_tolerance(gc, &atol, &rtol);
        size_t bad = compare(gc, what, gy, y, atol, rtol);
        bad += compare(gc, what, ghn, hn, atol, rtol);
        bad += compare(gc, what, gcn, cn, atol, rtol);
        if (bad) {
            snprintf(msg, msglen, "%s: %s: %zu values outside tolerance (atol %.3g, rtol %.3g)",
                     path, what, bad, atol, rtol);
            ok = 0;
        }
    }

done:
    free(y);
    free(hn);
    free(cn);
    free(lens);
    lstmcl_model_destroy(model);
    free(layers);
    case_free(gc);
    free(gc);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct gold_test {
    char name[64];
    char path[1024];
} gold_test;

static lstmcl_context *g_reference;
static lstmcl_context *g_device;
static char g_msg[GOLD_MSG];

static void test_reference(void **state)
{
    const gold_test *t = *state;
    assert_non_null(g_reference);
    if (!run_case(t->path, g_reference, 0, g_msg, sizeof(g_msg)))
        fail_msg("reference path, case %s: %s", t->name, g_msg);
}

static void test_device(void **state)
{
    const gold_test *t = *state;
    if (!g_device)
        skip();
    if (!run_case(t->path, g_device, 1, g_msg, sizeof(g_msg)))
        fail_msg("device, case %s: %s", t->name, g_msg);
}

/* Every reduced precision on the reference (which computes what a device
 * computes in that precision, as test_device checks), against the goldens
 * within the accuracy contract; the deviations are printed. */
static void test_precision(void **state)
{
    const gold_test *t = *state;
    assert_non_null(g_reference);
    static const lstmcl_precision precs[] = {LSTMCL_PRECISION_FP16, LSTMCL_PRECISION_BF16,
                                             LSTMCL_PRECISION_INT8};
    for (size_t i = 0; i < sizeof precs / sizeof precs[0]; i++) {
        double dev[3] = {0, 0, 0};
        if (!run_case_prec(t->path, g_reference, 0, precs[i], dev, g_msg, sizeof(g_msg)))
            fail_msg("precision, case %s: %s", t->name, g_msg);
        printf("deviation %-20s %s  y %.2e  hn %.2e  cn %.2e\n", t->name,
               lstmcl_precision_name(precs[i]), dev[0], dev[1], dev[2]);
    }
}

static int reference_setup(void **state)
{
    (void)state;
    if (lstmcl_context_create("cpu", &g_reference) != LSTMCL_SUCCESS) {
        print_error("cannot open the reference context: %s\n", lstmcl_thread_last_error());
        return -1;
    }
    return 0;
}

static int reference_teardown(void **state)
{
    (void)state;
    lstmcl_context_destroy(g_reference);
    g_reference = NULL;
    return 0;
}

static int device_setup(void **state)
{
    (void)state;
    g_device = tu_open_device(); /* NULL: every device test skips */
    return 0;
}

static int device_teardown(void **state)
{
    (void)state;
    lstmcl_context_destroy(g_device);
    g_device = NULL;
    return 0;
}

/* Reads golden/cases.list: one case file name per line. */
static size_t load_cases(gold_test *tests, size_t max)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/golden/cases.list", tu_data_dir());
    char *text = read_file(path);
    if (!text) {
        fprintf(stderr, "cannot read %s (set LSTMCL_TEST_DATA to the tests directory)\n", path);
        return 0;
    }
    gold_lexer lx = {text};
    size_t n = 0;
    const char *tok;
    while ((tok = next_token(&lx)) != NULL && n < max) {
        size_t len = strlen(tok);
        const char *ext = ".golden";
        if (len <= strlen(ext) || len - strlen(ext) >= sizeof(tests[n].name) ||
            strcmp(tok + len - strlen(ext), ext) != 0) {
            fprintf(stderr, "%s: bad entry '%s'\n", path, tok);
            n = 0;
            break;
        }
        memcpy(tests[n].name, tok, len - strlen(ext));
        tests[n].name[len - strlen(ext)] = '\0';
        snprintf(tests[n].path, sizeof(tests[n].path), "%s/golden/%s", tu_data_dir(), tok);
        n++;
    }
    free(text);
    return n;
}

/* test_golden [reference|device|precision]: the reference path's group,
 * the device's, the reduced precisions' contract on the reference, or (no
 * argument) the first two. */
int main(int argc, char **argv)
{
    int want_ref = 1, want_dev = 1, want_prec = 0;
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "reference") != 0 &&
                     strcmp(argv[1], "device") != 0 && strcmp(argv[1], "precision") != 0)) {
        fprintf(stderr, "usage: test_golden [reference|device|precision]\n");
        return 2;
    }
    if (argc == 2) {
        want_ref = strcmp(argv[1], "reference") == 0;
        want_prec = strcmp(argv[1], "precision") == 0;
        want_dev = !want_ref && !want_prec;
    }
    /* Numbers in the case files use '.'; the C locale guarantees strtod and
     * strtof read them so whatever the environment says. */
    setlocale(LC_NUMERIC, "C");

    gold_test *cases = calloc(GOLD_MAX_CASES, sizeof(*cases));
    struct CMUnitTest *ref = calloc(GOLD_MAX_CASES, sizeof(*ref));
    struct CMUnitTest *dev = calloc(GOLD_MAX_CASES, sizeof(*dev));
    struct CMUnitTest *prc = calloc(GOLD_MAX_CASES, sizeof(*prc));
    if (!cases || !ref || !dev || !prc) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    size_t n = load_cases(cases, GOLD_MAX_CASES);
    int rc = 1;
    if (n > 0) {
        for (size_t i = 0; i < n; i++) {
            ref[i].name = cases[i].name;
            ref[i].test_func = test_reference;
            ref[i].initial_state = &cases[i];
            dev[i] = ref[i];
            dev[i].test_func = test_device;
            prc[i] = ref[i];
            prc[i].test_func = test_precision;
        }
        rc = 0;
        if (want_ref)
            rc |= _cmocka_run_group_tests("golden_reference", ref, n, reference_setup,
                                          reference_teardown);
        if (want_dev)
            rc |= _cmocka_run_group_tests("golden_device", dev, n, device_setup,
                                          device_teardown);
        if (want_prec)
            rc |= _cmocka_run_group_tests("golden_precision", prc, n, reference_setup,
                                          reference_teardown);
    }
    free(prc);
    free(dev);
    free(ref);
    free(cases);
    return rc;
}
