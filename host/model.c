/* Model creation: validation of the description and weights, conversion from
 * each framework's convention to lstmcl's layout, and forward dispatch. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Largest size accepted for any one dimension: keeps every element index the
 * kernels compute (in 64-bit) and every cl_int argument in range. */

/* How each convention lays its weights out. gate_src[q] is the position, in
 * the convention's order, of lstmcl's gate q (i, f, g, o); peep_src likewise
 * for the peepholes (i, f, o; every convention takes ONNX's P order i, o, f). */
typedef struct lc_convention_info {
    const char *name;
    const char *w_name, *r_name, *b_name, *rb_name, *p_name, *proj_name;
    int gate_src[4];
    int transposed;    /* weights stored (in, 4H) instead of (4H, in) */
    int bias_split;    /* two bias tensors (input and recurrent) */
    int bias_joined;   /* one tensor of 8H: input bias then recurrent bias */
    int leading_one;   /* a leading dimension of 1 is accepted (ONNX slices) */
} lc_convention_info;

static const lc_convention_info lc_conventions[] = {
    [LSTMCL_CONVENTION_PYTORCH] = {"PyTorch", "weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                   "peephole", "weight_hr", {0, 1, 2, 3}, 0, 1, 0, 0},
    [LSTMCL_CONVENTION_ONNX] = {"ONNX", "W", "R", "B", "(unused)", "P", "projection",
                                {0, 2, 3, 1}, 0, 0, 1, 1},
    [LSTMCL_CONVENTION_KERAS] = {"Keras", "kernel", "recurrent_kernel", "bias", "(unused)",
                                 "peephole", "projection", {0, 1, 2, 3}, 1, 0, 0, 0},
};
static const int lc_peep_src[3] = {0, 2, 1}; /* i <- P[0], f <- P[2], o <- P[1] */

/* ------------------------------------------------------------------------ */

static lstmcl_status lc_check_desc(lstmcl_context *ctx, const lstmcl_model_desc *d)
{
    static const struct {
        const char *name;
        size_t offset;
    } sizes[] = {
        {"input_size", offsetof(lstmcl_model_desc, input_size)},
        {"hidden_size", offsetof(lstmcl_model_desc, hidden_size)},
        {"num_layers", offsetof(lstmcl_model_desc, num_layers)},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t v = *(const size_t *)((const char *)d + sizes[i].offset);
        if (v == 0)
            return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT, "model desc: %s must be > 0",
                           sizes[i].name);
        if (v > LC_DIM_MAX)
            return lc_fail(ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                           "model desc: %s = %zu is larger than the supported %zu",
                           sizes[i].name, v, LC_DIM_MAX);
    }
    if (d->proj_size >= d->hidden_size && d->proj_size != 0)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "model desc: proj_size = %zu must be smaller than hidden_size = %zu",
                       d->proj_size, d->hidden_size);
    if (d->direction != LSTMCL_FORWARD && d->direction != LSTMCL_REVERSE &&
        d->direction != LSTMCL_BIDIRECTIONAL)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "model desc: direction = %d is not one of LSTMCL_FORWARD, "
                       "LSTMCL_REVERSE, LSTMCL_BIDIRECTIONAL",
                       (int)d->direction);
    if (d->has_clip && !(d->clip > 0.0f && isfinite(d->clip)))
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "model desc: clip = %g must be a finite value > 0", (double)d->clip);
    size_t D = d->direction == LSTMCL_BIDIRECTIONAL ? 2 : 1;
    static const char *slot[3] = {"f", "g", "h"};
    for (size_t dir = 0; dir < D; dir++)
        for (int s = 0; s < 3; s++) {
            const lstmcl_activation *a = &d->activations[dir][s];
            if ((int)a->kind < 0 || a->kind >= LSTMCL_ACT_COUNT_)
                return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                               "model desc: activations[%zu][%s] has unknown kind %d", dir,
                               slot[s], (int)a->kind);
            if (!isfinite(a->alpha) || !isfinite(a->beta))
                return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                               "model desc: activations[%zu][%s] alpha/beta must be finite",
                               dir, slot[s]);
        }
    /* The kernels index a step's gates (D*4H of them) with 32-bit ints. */
    if (D * 4 * d->hidden_size > (size_t)INT_MAX)
        return lc_fail(ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                       "model desc: hidden_size = %zu gives %zu gate rows, more than the "
                       "supported %d",
                       d->hidden_size, D * 4 * d->hidden_size, INT_MAX);
    /* Every buffer size the model will need must fit: 4H * max(Iin, Hout),
     * with Iin up to 2 * Hout for layers above the first. */
    size_t H4, width, prod;
    size_t Hout = d->proj_size ? d->proj_size : d->hidden_size;
    size_t widest = d->input_size > 2 * Hout ? d->input_size : 2 * Hout;
    if (!lc_mul(4, d->hidden_size, &H4) || !lc_mul(H4, widest, &width) ||
        !lc_mul(width, 2 * sizeof(float), &prod) || !lc_mul(prod, d->num_layers, &prod))
        return lc_fail(ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                       "model desc: hidden_size = %zu, input_size = %zu and num_layers = %zu "
                       "give a weight size that overflows",
                       d->hidden_size, d->input_size, d->num_layers);
    return LSTMCL_SUCCESS;
}

/* Index of the first NaN or infinity in p[0 .. n-1], or n when every value
 * is finite. One pass: blocks are tested without a branch per value (an
 * all-ones exponent is what makes a float non-finite), and only a block
 * that holds one is searched again. */
static size_t lc_first_nonfinite(const float *p, size_t n)
{
    enum { BLOCK = 1024 };
    for (size_t i = 0; i < n; i += BLOCK) {
        size_t end = n - i > BLOCK ? i + BLOCK : n;
        uint32_t bad = 0;
        for (size_t k = i; k < end; k++) {
            uint32_t u;
            memcpy(&u, p + k, sizeof u);
            bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        }
        if (bad)
            for (size_t k = i; k < end; k++)
                if (!isfinite(p[k]))
                    return k;
    }
    return n;
}

/* Checks tensor `t` (parameter `what` of layer l, direction dir) against the
 * expected shape, then its values: a single NaN or infinity in a weight
 * spreads to every output. An expected rank of 0 means the tensor must be
 * absent. */
static lstmcl_status lc_check_tensor(lstmcl_context *ctx, const lstmcl_tensor *t,
                                     const char *what, size_t l, size_t dir, int leading_one,
                                     size_t nexp, size_t e0, size_t e1, lstmcl_precision prec)
{
    if (nexp == 0) {
        if (t->data)
            return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "layer %zu direction %zu: %s is given but the model does not use it",
                           l, dir, what);
        return LSTMCL_SUCCESS;
    }
    if (!t->data)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "layer %zu direction %zu: %s is missing (NULL data)", l, dir, what);
    size_t exp[3] = {e0, e1, 0};
    size_t got[3] = {0, 0, 0};
    size_t ng = t->ndim;
    if (ng < 1 || ng > 3)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_SHAPE,
                       "layer %zu direction %zu: %s has rank %zu, expected %zu", l, dir, what,
                       ng, nexp);
    memcpy(got, t->dims, ng * sizeof(size_t));
    if (leading_one && ng == nexp + 1 && got[0] == 1) {
        memmove(got, got + 1, nexp * sizeof(size_t));
        ng = nexp;
    }
    int ok = ng == nexp;
    for (size_t i = 0; ok && i < nexp; i++)
        ok = got[i] == exp[i];
    if (!ok) {
        char gs[96], es[64];
        int n = 0;
        for (size_t i = 0; i < t->ndim && n < (int)sizeof gs - 24; i++)
            n += snprintf(gs + n, sizeof gs - (size_t)n, "%s%zu", i ? ", " : "", t->dims[i]);
        if (nexp == 1)
            snprintf(es, sizeof es, "%zu", e0);
        else
            snprintf(es, sizeof es, "%zu, %zu", e0, e1);
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_SHAPE,
                       "layer %zu direction %zu: %s has shape (%s), expected (%s)", l, dir,
                       what, gs, es);
    }
    /* The shape is the expected one, so the tensor holds e0 (* e1) values;
     * the check on sizes at creation keeps the product in range. */
    size_t n = nexp == 1 ? e0 : e0 * e1;
    const float *data = t->data;
    size_t bad = lc_first_nonfinite(data, n);
    /* A weight the model's precision cannot hold (fp16 above 65504). */
    size_t over = n;
    if (bad == n && prec != LSTMCL_PRECISION_FP32)
        for (size_t i = 0; i < n && over == n; i++)
            if (!isfinite(lc_round_stored(prec, data[i])))
                over = i;
    if (over < n) {
        char where[64] = "";
        if (nexp != 1)
            snprintf(where, sizeof where, " (row %zu, column %zu)", over / e1, over % e1);
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "layer %zu direction %zu: %s element %zu%s = %g overflows %s "
                       "(largest finite %g)",
                       l, dir, what, over, where, (double)data[over],
                       lstmcl_precision_name(prec),
                       prec == LSTMCL_PRECISION_FP16 ? 65504.0 : 3.3895313892515355e38);
    }
    if (bad < n) {
        float v = data[bad];
        const char *kind = isnan(v) ? "NaN" : v > 0.0f ? "+Inf" : "-Inf";
        if (nexp == 1)
            return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "layer %zu direction %zu: %s element %zu is %s (weights must be "
                           "finite)",
                           l, dir, what, bad, kind);
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "layer %zu direction %zu: %s element %zu (row %zu, column %zu) is %s "
                       "(weights must be finite)",
                       l, dir, what, bad, bad / e1, bad % e1, kind);
    }
    return LSTMCL_SUCCESS;
}

/* Copies a (4H, in) or transposed (in, 4H) weight in convention order into
 * lstmcl's (4H, in) in gate order i, f, g, o. */
static void lc_convert_gates(float *dst, const void *src_, size_t H, size_t in,
                             const lc_convention_info *c)
{
    const float *src = src_;
    for (size_t q = 0; q < 4; q++) {
        size_t sg = (size_t)c->gate_src[q];
        for (size_t j = 0; j < H; j++) {
            float *row = dst + (q * H + j) * in;
            size_t srow = sg * H + j;
            if (c->transposed)
                for (size_t k = 0; k < in; k++)
                    row[k] = src[k * 4 * H + srow];
            else
                memcpy(row, src + srow * in, in * sizeof(float));
        }
    }
}

static void lc_convert_bias(float *dst, const float *src, size_t H, const lc_convention_info *c)
{
    for (size_t q = 0; q < 4; q++)
        memcpy(dst + q * H, src + (size_t)c->gate_src[q] * H, H * sizeof(float));
}

static void lc_free_layers(lstmcl_model *m)
{
    if (!m->layers)
        return;
    for (size_t l = 0; l < m->L; l++) {
        lc_layer *ly = &m->layers[l];
        free(ly->w);
        free(ly->r);
        free(ly->bw);
        free(ly->br);
        free(ly->peep);
        free(ly->proj);
        free(ly->w_scale);
        free(ly->r_scale);
        free(ly->p_scale);
    }
    free(m->layers);
    m->layers = NULL;
}

/* The tensors of `in` given in another element type than float, as float
 * copies in *out (the others as they are); the copies are listed in
 * owned[0 .. *n_owned - 1] for the caller to free. Every value of those
 * types is exactly a float. A tensor whose rank is out of range is left
 * for lc_check_tensor to report. */
enum { LC_N_TENSORS = sizeof(lstmcl_layer_weights) / sizeof(lstmcl_tensor) };
static lstmcl_status lc_as_float(lstmcl_context *ctx, size_t l, const lstmcl_layer_weights *in,
                                 lstmcl_layer_weights *out, float **owned, size_t *n_owned)
{
    *out = *in;
    *n_owned = 0;
    lstmcl_tensor *t = (lstmcl_tensor *)out;
    for (size_t i = 0; i < LC_N_TENSORS; i++) {
        if (!t[i].data || t[i].dtype == LSTMCL_DTYPE_F32)
            continue;
        if (t[i].dtype != LSTMCL_DTYPE_F16 && t[i].dtype != LSTMCL_DTYPE_BF16)
            return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "layer %zu direction %zu: a weight tensor has dtype %d (not "
                           "LSTMCL_DTYPE_F32, _F16 or _BF16)",
                           l, i % 2, (int)t[i].dtype);
        if (t[i].ndim < 1 || t[i].ndim > 3)
            continue;
        size_t n = 1;
        for (size_t k = 0; k < t[i].ndim; k++)
            if (!lc_mul(n, t[i].dims[k], &n) || n > ((size_t)1 << 40))
                return lc_fail(ctx, LSTMCL_ERROR_SIZE_OVERFLOW,
                               "layer %zu direction %zu: a weight tensor's size overflows", l,
                               i % 2);
        float *f = malloc((n ? n : 1) * sizeof(float));
        if (!f)
            return lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY,
                           "layer %zu: converting a %zu-element tensor to float", l, n);
        for (size_t k = 0; k < n; k++)
            f[k] = lc_dtype_get(&t[i], k);
        owned[(*n_owned)++] = f;
        t[i].data = f;
        t[i].dtype = LSTMCL_DTYPE_F32;
    }
    return LSTMCL_SUCCESS;
}

/* The input, recurrent and projection weights rounded to what the model
 * stores (precision.c); the reference and the device then compute with
 * the same values. */
static lstmcl_status lc_round_layer(lstmcl_model *m, size_t l)
{
    lc_layer *ly = &m->layers[l];
    const size_t D = m->D, H = m->H, P = m->P;
    if (m->precision == LSTMCL_PRECISION_FP32)
        return LSTMCL_SUCCESS;
    if (m->precision == LSTMCL_PRECISION_INT8) {
        ly->w_scale = malloc(D * 4 * H * sizeof(float));
        ly->r_scale = malloc(D * 4 * H * sizeof(float));
        ly->p_scale = P ? malloc(D * P * sizeof(float)) : NULL;
        if (!ly->w_scale || !ly->r_scale || (P && !ly->p_scale))
            return lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "layer %zu: int8 scales",
                           l);
    }
    lc_round_weights(m->precision, ly->w, D * 4 * H, ly->in, ly->w_scale);
    lc_round_weights(m->precision, ly->r, D * 4 * H, m->Hout, ly->r_scale);
    if (P)
        lc_round_weights(m->precision, ly->proj, D * P, H, ly->p_scale);
    return LSTMCL_SUCCESS;
}

static lstmcl_status lc_load_layer_f32(lstmcl_model *m, lstmcl_convention conv, size_t l,
                                       const lstmcl_layer_weights *w);

static lstmcl_status lc_load_layer(lstmcl_model *m, lstmcl_convention conv, size_t l,
                                   const lstmcl_layer_weights *w)
{
    lstmcl_layer_weights wf;
    float *owned[LC_N_TENSORS];
    size_t n_owned = 0;
    lstmcl_status st = lc_as_float(m->ctx, l, w, &wf, owned, &n_owned);
    if (st == LSTMCL_SUCCESS)
        st = lc_load_layer_f32(m, conv, l, &wf);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    if (st == LSTMCL_SUCCESS)
        st = lc_round_layer(m, l);
    return st;
}

static lstmcl_status lc_load_layer_f32(lstmcl_model *m, lstmcl_convention conv, size_t l,
                                       const lstmcl_layer_weights *w)
{
    lstmcl_context *ctx = m->ctx;
    const lc_convention_info *c = &lc_conventions[conv];
    lc_layer *ly = &m->layers[l];
    size_t H = m->H, D = m->D, P = m->P, Hout = m->Hout;
    size_t in = l == 0 ? m->I : D * Hout;
    ly->in = in;
    int bias = !m->desc.no_bias;
    char what[64];
    lstmcl_status st;
    /* Shapes and values first, all directions, before any conversion. */
    for (size_t d = 0; d < 2; d++) {
        int used = d < D;
        /* The weights the precision rounds (lc_round_layer) are checked
         * against its range too (wp); biases and peepholes stay float. */
        const lstmcl_precision wp = m->precision, fp = LSTMCL_PRECISION_FP32;
#define LC_CHECK(field, label, n, a0, a1, prec)                                              \
    do {                                                                                     \
        snprintf(what, sizeof what, "%s %s", c->name, (label));                              \
        st = lc_check_tensor(ctx, &w->field[d], what, l, d, c->leading_one, used ? (n) : 0, \
                             (a0), (a1), (prec));                                            \
        if (st != LSTMCL_SUCCESS)                                                            \
            return st;                                                                       \
    } while (0)
        if (c->transposed) {
            LC_CHECK(input_weights, c->w_name, 2, in, 4 * H, wp);
            LC_CHECK(recurrent_weights, c->r_name, 2, Hout, 4 * H, wp);
        } else {
            LC_CHECK(input_weights, c->w_name, 2, 4 * H, in, wp);
            LC_CHECK(recurrent_weights, c->r_name, 2, 4 * H, Hout, wp);
        }
        LC_CHECK(input_bias, c->b_name, bias ? 1 : 0, c->bias_joined ? 8 * H : 4 * H, 0, fp);
        LC_CHECK(recurrent_bias, c->rb_name, bias && c->bias_split ? 1 : 0, 4 * H, 0, fp);
        LC_CHECK(peephole, c->p_name, m->desc.peephole ? 1 : 0, 3 * H, 0, fp);
        LC_CHECK(projection, c->proj_name, P ? 2 : 0, P, H, wp);
#undef LC_CHECK
    }
    ly->w = malloc(D * 4 * H * in * sizeof(float));
    ly->r = malloc(D * 4 * H * Hout * sizeof(float));
    ly->bw = calloc(D * 4 * H, sizeof(float));
    ly->br = calloc(D * 4 * H, sizeof(float));
    if (m->desc.peephole)
        ly->peep = malloc(D * 3 * H * sizeof(float));
    if (P)
        ly->proj = malloc(D * P * H * sizeof(float));
    if (!ly->w || !ly->r || !ly->bw || !ly->br || (m->desc.peephole && !ly->peep) ||
        (P && !ly->proj))
        return lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "layer %zu: allocating weights", l);
    for (size_t d = 0; d < D; d++) {
        lc_convert_gates(ly->w + d * 4 * H * in, w->input_weights[d].data, H, in, c);
        lc_convert_gates(ly->r + d * 4 * H * Hout, w->recurrent_weights[d].data, H, Hout, c);
        if (bias) {
            const float *ib = w->input_bias[d].data;
            lc_convert_bias(ly->bw + d * 4 * H, ib, H, c);
            if (c->bias_joined)
                lc_convert_bias(ly->br + d * 4 * H, ib + 4 * H, H, c);
            else if (c->bias_split)
                lc_convert_bias(ly->br + d * 4 * H, w->recurrent_bias[d].data, H, c);
        }
        if (m->desc.peephole)
            for (size_t p = 0; p < 3; p++)
                memcpy(ly->peep + d * 3 * H + p * H,
                       (const float *)w->peephole[d].data + (size_t)lc_peep_src[p] * H,
                       H * sizeof(float));
        if (P)
            memcpy(ly->proj + d * P * H, w->projection[d].data, P * H * sizeof(float));
    }
    return LSTMCL_SUCCESS;
}

static void lc_resolve_activations(lstmcl_model_desc *d)
{
    static const lstmcl_activation_kind standard[3] = {LSTMCL_ACT_SIGMOID, LSTMCL_ACT_TANH,
                                                       LSTMCL_ACT_TANH};
    size_t D = d->direction == LSTMCL_BIDIRECTIONAL ? 2 : 1;
    for (size_t dir = 0; dir < 2; dir++)
        for (int s = 0; s < 3; s++) {
            lstmcl_activation *a = &d->activations[dir][s];
            if (dir >= D) {
                a->kind = LSTMCL_ACT_DEFAULT;
                a->alpha = a->beta = 0.0f;
            }
            if (a->kind == LSTMCL_ACT_DEFAULT)
                a->kind = standard[s];
        }
}

lstmcl_status lstmcl_model_create(lstmcl_context *ctx, const lstmcl_model_desc *desc,
                                  lstmcl_convention convention,
                                  const lstmcl_layer_weights *layers, lstmcl_model **out)
{
    return lstmcl_model_create_with(ctx, desc, convention, layers, NULL, out);
}

lstmcl_status lstmcl_model_create_with(lstmcl_context *ctx, const lstmcl_model_desc *desc,
                                       lstmcl_convention convention,
                                       const lstmcl_layer_weights *layers,
                                       const lstmcl_model_options *options, lstmcl_model **out)
{
    if (!out)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_model_create: model must not be NULL");
    *out = NULL;
    if (!ctx || !desc || !layers)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_model_create: %s must not be NULL",
                       !ctx ? "ctx" : !desc ? "desc" : "layers");
    if ((int)convention < 0 || (size_t)convention >= sizeof lc_conventions / sizeof lc_conventions[0])
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_model_create: convention = %d is not a known convention",
                       (int)convention);
    lstmcl_status st = lc_check_desc(ctx, desc);
    if (st == LSTMCL_SUCCESS)
        st = lc_options_check(ctx, options);
    if (st != LSTMCL_SUCCESS)
        return st;
    lstmcl_model *m = calloc(1, sizeof *m);
    if (!m)
        return lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "allocating a model");
    m->ctx = ctx;
    m->desc = *desc;
    m->precision = lc_options_precision(options);
    lc_resolve_activations(&m->desc);
    if (!m->desc.has_clip) {
        m->desc.clip = 0.0f;
        m->desc.clip_cell = 0;
    }
    m->I = desc->input_size;
    m->H = desc->hidden_size;
    m->P = desc->proj_size;
    m->Hout = m->P ? m->P : m->H;
    m->L = desc->num_layers;
    m->D = desc->direction == LSTMCL_BIDIRECTIONAL ? 2 : 1;
    m->reversed[0] = desc->direction == LSTMCL_REVERSE;
    m->reversed[1] = 1;
    m->bias_vectors = desc->no_bias ? 0
                      : (lc_conventions[convention].bias_split ||
                         lc_conventions[convention].bias_joined)
                          ? 8 * m->H
                          : 4 * m->H;
    m->layers = calloc(m->L, sizeof *m->layers);
    if (!m->layers) {
        free(m);
        return lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "allocating a model");
    }
    for (size_t l = 0; l < m->L && st == LSTMCL_SUCCESS; l++)
        st = lc_load_layer(m, convention, l, &layers[l]);
    if (st == LSTMCL_SUCCESS && !ctx->reference)
        st = lc_config_resolve(ctx, options, &m->cfg);
    if (st == LSTMCL_SUCCESS && !ctx->reference)
        st = lc_device_model_init(m);
    if (st != LSTMCL_SUCCESS) {
        lstmcl_model_destroy(m);
        return st;
    }
    *out = m;
    return LSTMCL_SUCCESS;
}

void lstmcl_model_destroy(lstmcl_model *m)
{
    if (!m)
        return;
    if (!m->ctx->reference)
        lc_device_model_release(m);
    lc_free_layers(m);
    free(m);
}

lstmcl_status lstmcl_model_get_desc(const lstmcl_model *m, lstmcl_model_desc *desc)
{
    if (!m || !desc)
        return lc_fail(m ? m->ctx : NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_model_get_desc: model and desc must not be NULL");
    *desc = m->desc;
    return LSTMCL_SUCCESS;
}

const char *lstmcl_model_algorithm(const lstmcl_model *m, size_t batch)
{
    if (!m)
        return NULL;
    return m->ctx->reference ? "reference" : lc_algorithm_name(m, batch);
}

int lstmcl_model_program_cached(const lstmcl_model *m)
{
    return m ? m->program_from_cache : 0;
}

size_t lstmcl_model_parameter_count(const lstmcl_model *m)
{
    if (!m)
        return 0;
    size_t total = 0;
    for (size_t l = 0; l < m->L; l++) {
        size_t per = 4 * m->H * (m->layers[l].in + m->Hout) + m->bias_vectors;
        if (m->desc.peephole)
            per += 3 * m->H;
        per += m->P * m->H;
        total += per * m->D;
    }
    return total;
}

lstmcl_precision lstmcl_model_precision(const lstmcl_model *m)
{
    return m ? m->precision : LSTMCL_PRECISION_FP32;
}

size_t lstmcl_model_device_bytes(const lstmcl_model *m)
{
    return m ? m->device_bytes : 0;
}

/* ------------------------------------------------------------------------ */
/* Forward                                                                   */
/* ------------------------------------------------------------------------ */

static lstmcl_status lc_check_forward_args(const lstmcl_model *m, const lstmcl_forward_args *a)
{
    if (!m || !a)
        return lc_fail(m ? m->ctx : NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "forward: %s must not be NULL", !m ? "model" : "args");
    lstmcl_status st = lc_check_forward_shape(m, a->seq_len, a->batch);
    if (st != LSTMCL_SUCCESS)
        return st;
    if (!a->x)
        return lc_fail(m->ctx, LSTMCL_ERROR_INVALID_ARGUMENT, "forward: x must not be NULL");
    if (a->seq_lens)
        for (size_t n = 0; n < a->batch; n++)
            if (a->seq_lens[n] < 1 || (size_t)a->seq_lens[n] > a->seq_len)
                return lc_fail(m->ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                               "forward: seq_lens[%zu] = %d is outside 1..%zu (seq_len)", n,
                               (int)a->seq_lens[n], a->seq_len);
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_forward(lstmcl_model *m, const lstmcl_forward_args *a)
{
    lstmcl_status st = lc_check_forward_args(m, a);
    if (st != LSTMCL_SUCCESS)
        return st;
    if (m->ctx->reference)
        return lc_reference_forward(m, a);
    return lc_device_forward_host(m, a);
}

lstmcl_status lstmcl_forward_reference(const lstmcl_model *m, const lstmcl_forward_args *a)
{
    lstmcl_status st = lc_check_forward_args(m, a);
    if (st != LSTMCL_SUCCESS)
        return st;
    return lc_reference_forward(m, a);
}
