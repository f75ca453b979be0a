#include "safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "load_util.h"

/* The dtypes of the format and their item sizes. */
static const struct {
    const char *name;
    size_t size;
} st_dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8},
};

/* The format's reference reader caps the header at 100 MB. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

static int json_size(const cJSON *v, size_t *out)
{
    /* cJSON keeps numbers as doubles: exact up to 2^53. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
        floor(v->valuedouble) != v->valuedouble || v->valuedouble > (double)SIZE_MAX)
        return 0;
    *out = (size_t)v->valuedouble;
    return 1;
}

static int cmp_offset(const void *a, const void *b)
{
    const ld_st_tensor *x = *(const ld_st_tensor *const *)a, *y = *(const ld_st_tensor *const *)b;
    return (x->data > y->data) - (x->data < y->data);
}

static int cmp_name(const void *a, const void *b)
{
    const ld_st_tensor *x = *(const ld_st_tensor *const *)a, *y = *(const ld_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int parse_entry(const cJSON *e, const uint8_t *data, size_t data_len, ld_st_tensor *t,
                       char *err, size_t errlen)
{
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL, *item;
    size_t k, begin, end, nbytes;

    if (!cJSON_IsObject(e)) {
        ld_set_error(err, errlen, "tensor '%s': header entry is not an object", t->name);
        return 0;
    }
    cJSON_ArrayForEach(item, e)
    {
        const cJSON **slot = NULL;
        if (strcmp(item->string, "dtype") == 0)
            slot = &dtype;
        else if (strcmp(item->string, "shape") == 0)
            slot = &shape;
        else if (strcmp(item->string, "data_offsets") == 0)
            slot = &offs;
        if (!slot || *slot) {
            ld_set_error(err, errlen, "tensor '%s': unexpected or repeated key '%s'", t->name,
                         item->string);
            return 0;
        }
        *slot = item;
    }
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs)) {
        ld_set_error(err, errlen, "tensor '%s': needs string 'dtype', arrays 'shape' and "
                     "'data_offsets'", t->name);
        return 0;
    }
    for (k = 0; k < sizeof st_dtypes / sizeof st_dtypes[0]; k++)
        if (strcmp(dtype->valuestring, st_dtypes[k].name) == 0) {
            strcpy(t->dtype, st_dtypes[k].name);
            t->item_size = st_dtypes[k].size;
        }
    if (!t->item_size) {
        ld_set_error(err, errlen, "tensor '%s': unknown dtype '%.16s'", t->name,
                     dtype->valuestring);
        return 0;
    }
    t->count = 1;
    cJSON_ArrayForEach(item, shape)
    {
        size_t dim;
        if (t->ndim == ST_MAX_DIMS) {
            ld_set_error(err, errlen, "tensor '%s': more than %d dimensions", t->name,
                         ST_MAX_DIMS);
            return 0;
        }
        if (!json_size(item, &dim)) {
            ld_set_error(err, errlen, "tensor '%s': shape entries must be non-negative integers",
                         t->name);
            return 0;
        }
        t->dims[t->ndim++] = dim;
        if (!ld_mul_size(t->count, dim, &t->count)) {
            ld_set_error(err, errlen, "tensor '%s': shape overflows", t->name);
            return 0;
        }
    }
    if (cJSON_GetArraySize(offs) != 2 || !json_size(cJSON_GetArrayItem(offs, 0), &begin) ||
        !json_size(cJSON_GetArrayItem(offs, 1), &end) || begin > end) {
        ld_set_error(err, errlen, "tensor '%s': 'data_offsets' must be [begin, end] with "
                     "begin <= end", t->name);
        return 0;
    }
    if (end > data_len) {
        ld_set_error(err, errlen, "tensor '%s': data_offsets [%zu, %zu] lie outside the %zu-byte "
                     "data buffer", t->name, begin, end, data_len);
        return 0;
    }
    if (!ld_mul_size(t->count, t->item_size, &nbytes)) {
        ld_set_error(err, errlen, "tensor '%s': shape overflows", t->name);
        return 0;
    }
    if (nbytes != end - begin) {
        ld_set_error(err, errlen, "tensor '%s': shape and dtype need %zu bytes but data_offsets "
                     "span %zu", t->name, nbytes, end - begin);
        return 0;
    }
    t->data = data + begin;
    t->nbytes = nbytes;
    return 1;
}

int ld_st_parse(const uint8_t *buf, size_t len, ld_st_file *out, char *err, size_t errlen)
{
    uint64_t hlen;
    char *json = NULL;
    cJSON *root = NULL, *e;
    const uint8_t *data;
    size_t data_len, n = 0, k;
    ld_st_tensor **order = NULL;
    int rc = LD_ERR_INPUT;

    memset(out, 0, sizeof *out);
    if (len < 8) {
        ld_set_error(err, errlen, "truncated safetensors file (%zu bytes)", len);
        return LD_ERR_INPUT;
    }
    hlen = ld_le64(buf);
    if (hlen < 2 || hlen > len - 8 || hlen > ST_MAX_HEADER) {
        ld_set_error(err, errlen, "safetensors header length %llu does not fit the %zu-byte file",
                     (unsigned long long)hlen, len);
        return LD_ERR_INPUT;
    }
    if (buf[8] != '{') {
        ld_set_error(err, errlen, "safetensors header does not start with '{'");
        return LD_ERR_INPUT;
    }
    data = buf + 8 + hlen;
    data_len = len - 8 - (size_t)hlen;
    json = malloc((size_t)hlen + 1);
    if (!json) {
        ld_set_error(err, errlen, "out of memory");
        return LD_ERR_RUNTIME;
    }
    memcpy(json, buf + 8, (size_t)hlen);
    json[hlen] = '\0';
    if (strlen(json) != (size_t)hlen) {
        ld_set_error(err, errlen, "safetensors header contains a NUL byte");
        goto done;
    }
    root = cJSON_ParseWithOpts(json, NULL, 1);
    if (!root || !cJSON_IsObject(root)) {
        ld_set_error(err, errlen, "safetensors header is not a JSON object");
        goto done;
    }
    cJSON_ArrayForEach(e, root) n++;
    out->tensors = calloc(n ? n : 1, sizeof *out->tensors);
    order = calloc(n ? n : 1, sizeof *order);
    if (!out->tensors || !order) {
        ld_set_error(err, errlen, "out of memory");
        rc = LD_ERR_RUNTIME;
        goto done;
    }
    cJSON_ArrayForEach(e, root)
    {
        ld_st_tensor *t;
        if (strcmp(e->string, "__metadata__") == 0) {
            const cJSON *m;
            if (!cJSON_IsObject(e)) {
                ld_set_error(err, errlen, "safetensors '__metadata__' is not an object");
                goto done;
            }
            cJSON_ArrayForEach(m, e) if (!cJSON_IsString(m))
            {
                ld_set_error(err, errlen, "safetensors '__metadata__' values must be strings");
                goto done;
            }
            continue;
        }
        t = &out->tensors[out->count];
        t->name = malloc(strlen(e->string) + 1);
        if (!t->name) {
            ld_set_error(err, errlen, "out of memory");
            rc = LD_ERR_RUNTIME;
            goto done;
        }
        strcpy(t->name, e->string);
        out->count++;
        if (!parse_entry(e, data, data_len, t, err, errlen))
            goto done;
        order[out->count - 1] = t;
    }
    /* Names are unique (sorted, so that a header of many entries stays
     * cheap to check). */
    qsort(order, out->count, sizeof *order, cmp_name);
    for (k = 1; k < out->count; k++) {
        if (strcmp(order[k - 1]->name, order[k]->name) == 0) {
            ld_set_error(err, errlen, "duplicate tensor name '%s'", order[k]->name);
            goto done;
        }
    }
    /* The format requires the tensors to cover the data section exactly, in
     * offset order: no shared bytes, no gap, nothing after the last one. A
     * header length that is off by a few bytes shows up here. */
    qsort(order, out->count, sizeof *order, cmp_offset);
    {
        size_t at = 0;
        for (k = 0; k < out->count; k++) {
            size_t begin = (size_t)(order[k]->data - data);
            if (begin < at) {
                ld_set_error(err, errlen, "tensors '%s' and '%s' overlap in the data buffer",
                             order[k - 1]->name, order[k]->name);
                goto done;
            }
            if (begin > at) {
                ld_set_error(err, errlen, "data bytes [%zu, %zu) before tensor '%s' belong to "
                             "no tensor (a gap in the data section)", at, begin,
                             order[k]->name);
                goto done;
            }
            at = begin + order[k]->nbytes;
        }
        if (at != data_len) {
            ld_set_error(err, errlen, "%zu bytes after the last tensor%s%s%s belong to no tensor "
                         "(the data section is %zu bytes, the tensors end at %zu: a wrong "
                         "header length or trailing data)", data_len - at,
                         out->count ? " '" : "", out->count ? order[out->count - 1]->name : "",
                         out->count ? "'" : "", data_len, at);
            goto done;
        }
    }
    rc = LD_OK;
done:
    free(order);
    cJSON_Delete(root);
    free(json);
    if (rc != LD_OK)
        ld_st_free(out);
    return rc;
}

void ld_st_free(ld_st_file *f)
{
    size_t k;
    if (!f)
        return;
    for (k = 0; k < f->count; k++)
        free(f->tensors[k].name);
    free(f->tensors);
    f->tensors = NULL;
    f->count = 0;
}

const ld_st_tensor *ld_st_find(const ld_st_file *f, const char *name)
{
    size_t k;
    for (k = 0; k < f->count; k++)
        if (f->tensors[k].name && strcmp(f->tensors[k].name, name) == 0)
            return &f->tensors[k];
    return NULL;
}

/* The dtypes a weight may have, and the element type a model is handed. */
static const struct {
    const char *name;
    lstmcl_dtype dtype;
} st_weight_types[] = {
    {"F32", LSTMCL_DTYPE_F32},
    {"F16", LSTMCL_DTYPE_F16},
    {"BF16", LSTMCL_DTYPE_BF16},
    {"F64", LSTMCL_DTYPE_F32},
};

int ld_st_weights(const ld_st_tensor *t, void **out, lstmcl_dtype *dtype, char *err,
                  size_t errlen)
{
    size_t k, j, n = sizeof st_weight_types / sizeof st_weight_types[0];
    float *f = NULL;
    uint16_t *h = NULL;
    for (j = 0; j < n; j++)
        if (strcmp(t->dtype, st_weight_types[j].name) == 0)
            break;
    if (j == n) {
        ld_set_error(err, errlen, "tensor '%s' has dtype %s (F32, F16, BF16 or F64 expected)",
                     t->name, t->dtype);
        return LD_ERR_INPUT;
    }
    *dtype = st_weight_types[j].dtype;
    if (t->item_size == 2)
        h = malloc((t->count ? t->count : 1) * sizeof *h);
    else
        f = malloc((t->count ? t->count : 1) * sizeof *f);
    if (!h && !f) {
        ld_set_error(err, errlen, "out of memory");
        return LD_ERR_RUNTIME;
    }
    for (k = 0; k < t->count; k++) {
        const uint8_t *p = t->data + k * t->item_size;
        double source;
        float value;
        const char *why;
        if (h) {
            /* Little-endian in the file, host order in memory. */
            h[k] = ld_le16(p);
            value = *dtype == LSTMCL_DTYPE_F16 ? ld_half_to_float(h[k]) : ld_bf16_to_float(h[k]);
            source = value;
        } else if (t->item_size == 4) {
            uint32_t u = ld_le32(p);
            memcpy(&value, &u, sizeof u);
            source = value;
        } else {
            uint64_t u = ld_le64(p);
            memcpy(&source, &u, sizeof source);
            value = (float)source;
        }
        if (f)
            f[k] = value;
        /* One NaN weight makes every output NaN: refuse it here, by name. */
        why = ld_nonfinite_reason(source, value);
        if (why) {
            if (isfinite(source))
                ld_set_error(err, errlen, "tensor '%s': element %zu %s (%g)", t->name, k, why,
                             source);
            else
                ld_set_error(err, errlen, "tensor '%s': element %zu %s", t->name, k, why);
            free(f);
            free(h);
            return LD_ERR_INPUT;
        }
    }
    *out = h ? (void *)h : (void *)f;
    return LD_OK;
}
