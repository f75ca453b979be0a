/* Reduced precisions (lstmcl_precision): the names, the conversions between
 * float and the stored types (IEEE half, bfloat16, int8 with a scale per
 * row), and the rounding of a model's weights to what it stores. The
 * kernels read the same encodings (kernels/lstm_common.cl, WPREC), and the
 * reference rounds h and y as they do (reference.c). */
#include <math.h>
#include <string.h>

#include "internal.h"

static const struct {
    lstmcl_precision precision;
    const char *name;
} lc_precisions[] = {
#define LC_X_PREC(name, value, text) {name, text},
    LSTMCL_PRECISION_TABLE(LC_X_PREC)
#undef LC_X_PREC
};
#define LC_N_PRECISIONS (sizeof lc_precisions / sizeof lc_precisions[0])

const char *lstmcl_precision_name(lstmcl_precision precision)
{
    for (size_t i = 0; i < LC_N_PRECISIONS; i++)
        if (lc_precisions[i].precision == precision)
            return lc_precisions[i].name;
    return NULL;
}

lstmcl_status lstmcl_precision_from_name(const char *name, lstmcl_precision *precision)
{
    if (!precision)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_precision_from_name: precision must not be NULL");
    for (size_t i = 0; name && i < LC_N_PRECISIONS; i++)
        if (strcmp(name, lc_precisions[i].name) == 0) {
            *precision = lc_precisions[i].precision;
            return LSTMCL_SUCCESS;
        }
    static const char list[] =
#define LC_X_LIST(name, value, text) text ", "
        LSTMCL_PRECISION_TABLE(LC_X_LIST)
#undef LC_X_LIST
        ;
    return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "precision \"%.32s\" is not one of %.*s",
                   name ? name : "(null)", (int)(sizeof list - 3), list);
}

double lstmcl_precision_reference_allowance(lstmcl_precision precision)
{
    /* 4 units of the stored type's rounding step relative to |h| <= 1:
     * 2^-11 for half's 11-bit significand, 2^-8 for bfloat16's 8 */
    switch (precision) {
    case LSTMCL_PRECISION_FP16:
        return 4.0 / 2048.0;
    case LSTMCL_PRECISION_BF16:
        return 4.0 / 256.0;
    default:
        return 0.0;
    }
}

size_t lc_precision_bytes(lstmcl_precision p)
{
    return p == LSTMCL_PRECISION_FP16 || p == LSTMCL_PRECISION_BF16 ? 2
           : p == LSTMCL_PRECISION_INT8                             ? 1
                                                                    : 4;
}

static uint32_t lc_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float lc_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE 754 binary16, round to nearest even (vstore_half_rte's rounding). */
uint16_t lc_f32_to_f16(float f)
{
    const uint32_t x = lc_bits(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* infinity, NaN (kept quiet) */
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
    if (ax >= 0x477ff000u) /* 65520 and above: past half of the last step */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) /* below 2^-14: a subnormal half, in units of 2^-24 */
        return (uint16_t)(sign | (uint32_t)nearbyintf(lc_float(ax) * 16777216.0f));
    uint32_t h = (((ax >> 23) - 112u) << 10) | ((ax >> 13) & 0x3ffu);
    const uint32_t rest = ax & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is right */
    return (uint16_t)(sign | h);
}

float lc_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        const float v = ldexpf((float)m, -24);
        return sign ? -v : v;
    }
    if (e == 31)
        return lc_float(sign | 0x7f800000u | (m << 13));
    return lc_float(sign | ((e + 112u) << 23) | (m << 13));
}

/* bfloat16, round to nearest even. */
uint16_t lc_f32_to_bf16(float f)
{
    const uint32_t x = lc_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float lc_bf16_to_f32(uint16_t b)
{
    return lc_float((uint32_t)b << 16);
}

float lc_round_stored(lstmcl_precision p, float v)
{
    switch (p) {
    case LSTMCL_PRECISION_FP16:
        return lc_f16_to_f32(lc_f32_to_f16(v));
    case LSTMCL_PRECISION_BF16:
        return lc_bf16_to_f32(lc_f32_to_bf16(v));
    default:
        return v;
    }
}

/* A row's int8 scale: max |w| / 127, so that the largest weight is +-127;
 * 1 for a row of zeros (or of weights too small for a normal scale), whose
 * weights all become 0. */
static float lc_row_scale(const float *row, size_t cols)
{
    float amax = 0.0f;
    for (size_t k = 0; k < cols; k++)
        if (fabsf(row[k]) > amax)
            amax = fabsf(row[k]);
    const float s = amax / 127.0f;
    return s >= 1e-30f ? s : 1.0f;
}

static int8_t lc_quantize(float v, float s)
{
    float q = nearbyintf(v / s);
    q = q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
    return (int8_t)q;
}

void lc_round_weights(lstmcl_precision p, float *w, size_t rows, size_t cols, float *scale)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = w + r * cols;
        if (p == LSTMCL_PRECISION_INT8) {
            const float s = scale[r] = lc_row_scale(row, cols);
            for (size_t k = 0; k < cols; k++)
                row[k] = (float)lc_quantize(row[k], s) * s;
        } else if (p != LSTMCL_PRECISION_FP32) {
            for (size_t k = 0; k < cols; k++)
                row[k] = lc_round_stored(p, row[k]);
        }
    }
}

void lc_encode_weights(lstmcl_precision p, const float *w, size_t rows, size_t cols,
                       const float *scale, void *out)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        for (size_t k = 0; k < cols; k++) {
            const size_t i = r * cols + k;
            switch (p) {
            case LSTMCL_PRECISION_FP16:
                ((uint16_t *)out)[i] = lc_f32_to_f16(row[k]);
                break;
            case LSTMCL_PRECISION_BF16:
                ((uint16_t *)out)[i] = lc_f32_to_bf16(row[k]);
                break;
            case LSTMCL_PRECISION_INT8:
                ((int8_t *)out)[i] = lc_quantize(row[k], scale[r]);
                break;
            default:
                ((float *)out)[i] = row[k];
                break;
            }
        }
    }
}

float lc_dtype_get(const lstmcl_tensor *t, size_t i)
{
    switch (t->dtype) {
    case LSTMCL_DTYPE_F16:
        return lc_f16_to_f32(((const uint16_t *)t->data)[i]);
    case LSTMCL_DTYPE_BF16:
        return lc_bf16_to_f32(((const uint16_t *)t->data)[i]);
    default:
        return ((const float *)t->data)[i];
    }
}
