/* ONNX models: host arrays, value tables, TensorProto and attribute access. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

/* ------------------------------------------------------------------------ */
/* Tables of values                                                          */
/* ------------------------------------------------------------------------ */

ox_value *ox_table_find(const ox_table *t, const char *name)
{
    size_t k;
    for (k = t->n; k-- > 0;)
        if (strcmp(t->v[k].name, name) == 0)
            return &t->v[k];
    return NULL;
}

/* Adds an entry taking a (owned or not). */
int ox_table_add(ox_table *t, const char *name, npy_array *a, int owned, int origin)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        ox_value *n = realloc(t->v, cap * sizeof *n);
        if (!n)
            return 0;
        t->v = n;
        t->cap = cap;
    }
    t->v[t->n].name = name;
    t->v[t->n].a = *a;
    t->v[t->n].owned = owned;
    t->v[t->n].origin = origin;
    t->n++;
    if (owned)
        t->owned_elements += a->count;
    return 1;
}

void ox_table_free(ox_table *t)
{
    size_t k;
    for (k = 0; k < t->n; k++)
        if (t->v[k].owned)
            npy_free(&t->v[k].a);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* ------------------------------------------------------------------------ */
/* Arrays                                                                    */
/* ------------------------------------------------------------------------ */

int ox_arr_alloc(npy_array *a, int is_int, size_t ndim, const size_t *dims, char *err,
                 size_t errlen)
{
    size_t k, n = 1;
    memset(a, 0, sizeof *a);
    if (ndim > NPY_MAX_DIMS) {
        cli_set_error(err, errlen, "more than %d dimensions", NPY_MAX_DIMS);
        return CLI_ERR_INPUT;
    }
    for (k = 0; k < ndim; k++) {
        if (!cli_mul_size(n, dims[k], &n) || n > OX_MAX_ELEMENTS) {
            cli_set_error(err, errlen, "an array of more than %zu elements", OX_MAX_ELEMENTS);
            return CLI_ERR_INPUT;
        }
        a->dims[k] = dims[k];
    }
    a->ndim = ndim;
    a->count = n;
    a->first_nonfinite = n; /* none noted */
    a->is_integer = is_int;
    if (is_int)
        a->i = calloc(n ? n : 1, sizeof *a->i);
    else
        a->f = calloc(n ? n : 1, sizeof *a->f);
    if (!a->i && !a->f) {
        cli_set_error(err, errlen, "out of memory");
        return CLI_ERR_RUNTIME;
    }
    return CLI_OK;
}

void ox_shape_text(const npy_array *a, char *buf, size_t len)
{
    size_t k, n = 0;
    n += (size_t)snprintf(buf, len, "(");
    for (k = 0; k < a->ndim && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s%zu", k ? ", " : "", a->dims[k]);
    if (n < len)
        snprintf(buf + n, len - n, "%s)", a->ndim == 1 ? "," : "");
}

/* dst[k] = src[base + sum(idx * strides)] over dst's shape: one walker for
 * Transpose, Slice and Expand (stride 0 broadcasts). */
void ox_strided_copy(const npy_array *src, ptrdiff_t base, const ptrdiff_t *strides,
                     npy_array *dst)
{
    size_t idx[NPY_MAX_DIMS] = {0}, k, d;
    ptrdiff_t off = base;
    for (k = 0; k < dst->count; k++) {
        if (dst->is_integer)
            dst->i[k] = src->i[off];
        else
            dst->f[k] = src->f[off];
        for (d = dst->ndim; d-- > 0;) {
            idx[d]++;
            off += strides[d];
            if (idx[d] < dst->dims[d])
                break;
            off -= strides[d] * (ptrdiff_t)dst->dims[d];
            idx[d] = 0;
        }
    }
}

void ox_c_strides(const npy_array *a, ptrdiff_t *s)
{
    size_t d;
    ptrdiff_t st = 1;
    for (d = a->ndim; d-- > 0;) {
        s[d] = st;
        st *= (ptrdiff_t)a->dims[d];
    }
}

int ox_arr_copy(const npy_array *src, npy_array *dst, char *err, size_t errlen)
{
    int rc = ox_arr_alloc(dst, src->is_integer, src->ndim, src->dims, err, errlen);
    if (rc != CLI_OK)
        return rc;
    if (src->is_integer)
        memcpy(dst->i, src->i, src->count * sizeof *src->i);
    else
        memcpy(dst->f, src->f, src->count * sizeof *src->f);
    return CLI_OK;
}

/* Values of an integer array (shape operands), at most `max`. */
int ox_int_list(const npy_array *a, int64_t *out, size_t max, size_t *n, const char *what,
                char *err, size_t errlen)
{
    size_t k;
    if (!a->is_integer || a->ndim > 1 || a->count > max) {
        cli_set_error(err, errlen, "%s must be a 1-D integer tensor of at most %zu values", what,
                      max);
        return 0;
    }
    for (k = 0; k < a->count; k++)
        out[k] = a->i[k];
    *n = a->count;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* TensorProto                                                               */
/* ------------------------------------------------------------------------ */

void ox_set_float(npy_array *a, size_t k, double v)
{
    /* A double beyond float's range becomes an infinity here (IEEE 754
     * conversion); the value noted is the one stored. */
    a->f[k] = (float)v;
    if (!isfinite(a->f[k]) && a->first_nonfinite == a->count) {
        a->first_nonfinite = k;
        a->nonfinite_value = v;
    }
}

int ox_tensor_from_proto(const TensorProto *t, npy_array *a, char *err, size_t errlen)
{
    size_t dims[NPY_MAX_DIMS], k, n, esize = 0, have = 0;
    int dt = t->has_data_type ? t->data_type : 0, is_int, rc;
    const char *name = t->name ? t->name : "";

    memset(a, 0, sizeof *a);
    if (t->has_data_location && t->data_location == 1) {
        cli_set_error(err, errlen, "tensor '%s' keeps its data in an external file (not "
                      "supported)", name);
        return CLI_ERR_INPUT;
    }
    if (t->n_dims > NPY_MAX_DIMS) {
        cli_set_error(err, errlen, "tensor '%s' has %zu dimensions", name, t->n_dims);
        return CLI_ERR_INPUT;
    }
    for (k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0 || (uint64_t)t->dims[k] > OX_MAX_ELEMENTS) {
            cli_set_error(err, errlen, "tensor '%s' has dimension %lld", name,
                          (long long)t->dims[k]);
            return CLI_ERR_INPUT;
        }
        dims[k] = (size_t)t->dims[k];
    }
    switch (dt) {
    case OX_FLOAT: esize = 4; have = t->n_float_data; break;
    case OX_DOUBLE: esize = 8; have = t->n_double_data; break;
    case OX_FLOAT16: case OX_BFLOAT16: esize = 2; have = t->n_int32_data; break;
    case OX_INT64: esize = 8; have = t->n_int64_data; break;
    case OX_INT32: esize = 4; have = t->n_int32_data; break;
    case OX_INT8: case OX_UINT8: case OX_BOOL: esize = 1; have = t->n_int32_data; break;
    case OX_INT16: case OX_UINT16: esize = 2; have = t->n_int32_data; break;
    default:
        cli_set_error(err, errlen, "tensor '%s' has unsupported data type %d", name, dt);
        return CLI_ERR_INPUT;
    }
    is_int = !(dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16);
    rc = ox_arr_alloc(a, is_int, t->n_dims, dims, err, errlen);
    if (rc != CLI_OK) {
        if (rc == CLI_ERR_INPUT)
            cli_set_error(err, errlen, "tensor '%s' is too large", name);
        return rc;
    }
    n = a->count;
    if (t->has_raw_data) {
        if (t->raw_data.len != n * esize) {
            cli_set_error(err, errlen, "tensor '%s': raw_data has %zu bytes, its shape needs %zu",
                          name, t->raw_data.len, n * esize);
            npy_free(a);
            return CLI_ERR_INPUT;
        }
        for (k = 0; k < n; k++) {
            const uint8_t *p = t->raw_data.data + k * esize;
            switch (dt) {
            case OX_FLOAT: {
                uint32_t u = cli_le32(p);
                float f;
                memcpy(&f, &u, 4);
                ox_set_float(a, k, f);
                break;
            }
            case OX_DOUBLE: {
                uint64_t u = cli_le64(p);
                double d;
                memcpy(&d, &u, 8);
                ox_set_float(a, k, d);
                break;
            }
            case OX_FLOAT16: ox_set_float(a, k, cli_half_to_float(cli_le16(p))); break;
            case OX_BFLOAT16: ox_set_float(a, k, cli_bf16_to_float(cli_le16(p))); break;
            case OX_INT64: a->i[k] = (int64_t)cli_le64(p); break;
            case OX_INT32: a->i[k] = (int32_t)cli_le32(p); break;
            case OX_INT16: a->i[k] = (int16_t)cli_le16(p); break;
            case OX_UINT16: a->i[k] = cli_le16(p); break;
            case OX_INT8: a->i[k] = (int8_t)p[0]; break;
            default: a->i[k] = p[0]; break;
            }
        }
        return CLI_OK;
    }
    if (have != n) {
        cli_set_error(err, errlen, "tensor '%s' holds %zu values, its shape needs %zu", name, have,
                      n);
        npy_free(a);
        return CLI_ERR_INPUT;
    }
    for (k = 0; k < n; k++) {
        switch (dt) {
        case OX_FLOAT: ox_set_float(a, k, t->float_data[k]); break;
        case OX_DOUBLE: ox_set_float(a, k, t->double_data[k]); break;
        case OX_FLOAT16: ox_set_float(a, k, cli_half_to_float((uint16_t)t->int32_data[k])); break;
        case OX_BFLOAT16: ox_set_float(a, k, cli_bf16_to_float((uint16_t)t->int32_data[k])); break;
        case OX_INT64: a->i[k] = t->int64_data[k]; break;
        default: a->i[k] = t->int32_data[k]; break;
        }
    }
    return CLI_OK;
}

/* ------------------------------------------------------------------------ */
/* Declared shapes                                                           */
/* ------------------------------------------------------------------------ */

/* onnx_subset.proto leaves ValueInfoProto.type out; protobuf-c keeps it as
 * an unknown field (its bytes with their length prefix), read here with a
 * minimal wire-format reader. Anything unexpected means "no shape". */
typedef struct pb_reader {
    const uint8_t *p, *end;
} pb_reader;

static int pb_varint(pb_reader *r, uint64_t *v)
{
    unsigned shift;
    *v = 0;
    for (shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* The next field: its number and wire type; a varint's value in *val, a
 * length-delimited payload in *sub; fixed-size fields are skipped. */
static int pb_next(pb_reader *r, uint64_t *num, int *wire, uint64_t *val, pb_reader *sub)
{
    uint64_t key, len;
    if (!pb_varint(r, &key))
        return 0;
    *num = key >> 3;
    *wire = (int)(key & 7);
    switch (*wire) {
    case PROTOBUF_C_WIRE_TYPE_VARINT:
        return pb_varint(r, val);
    case PROTOBUF_C_WIRE_TYPE_64BIT:
    case PROTOBUF_C_WIRE_TYPE_32BIT: {
        size_t n = *wire == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return 0;
        r->p += n;
        return 1;
    }
    case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
        if (!pb_varint(r, &len) || len > (uint64_t)(r->end - r->p))
            return 0;
        sub->p = r->p;
        sub->end = r->p + len;
        r->p += len;
        return 1;
    default:
        return 0;
    }
}

/* The last length-delimited field `num` of a message (protobuf: the last
 * one of a singular field wins). */
static int pb_find(pb_reader msg, uint64_t num, pb_reader *out)
{
    uint64_t n, v;
    int wire, found = 0;
    pb_reader sub;
    while (msg.p < msg.end) {
        if (!pb_next(&msg, &n, &wire, &v, &sub))
            return 0;
        if (n == num && wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
            *out = sub;
            found = 1;
        }
    }
    return found;
}

/* onnx.proto: ValueInfoProto.type = 2 -> TypeProto.tensor_type = 1 ->
 * TypeProto.Tensor.shape = 2 -> TensorShapeProto.dim = 1 (repeated) ->
 * Dimension.dim_value = 1 (int64) | dim_param = 2 (string). */
int ox_declared_shape(const ValueInfoProto *v, int64_t *dims, size_t max, size_t *rank)
{
    const ProtobufCMessageUnknownField *u = NULL;
    pb_reader r, tensor, shape, dim;
    uint64_t len, n, val;
    unsigned k;
    int wire;

    for (k = 0; k < v->base.n_unknown_fields; k++)
        if (v->base.unknown_fields[k].tag == 2 &&
            v->base.unknown_fields[k].wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
            u = &v->base.unknown_fields[k];
    if (!u || !u->data || u->len == 0)
        return 0;
    r.p = u->data;
    r.end = u->data + u->len;
    if (!pb_varint(&r, &len) || len != (uint64_t)(r.end - r.p))
        return 0;
    if (!pb_find(r, 1, &tensor) || !pb_find(tensor, 2, &shape))
        return 0;
    *rank = 0;
    while (shape.p < shape.end) {
        if (!pb_next(&shape, &n, &wire, &val, &dim))
            return 0;
        if (n != 1 || wire != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
            continue;
        if (*rank == max)
            return 0;
        dims[*rank] = -1;
        while (dim.p < dim.end) {
            pb_reader s;
            if (!pb_next(&dim, &n, &wire, &val, &s))
                return 0;
            /* dim_value and dim_param are a oneof: the last one set wins. */
            if (n == 1 && wire == PROTOBUF_C_WIRE_TYPE_VARINT)
                dims[*rank] = (int64_t)val >= 0 ? (int64_t)val : -1;
            else if (n == 2)
                dims[*rank] = -1;
        }
        (*rank)++;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

const AttributeProto *ox_attr_find(const NodeProto *n, const char *name)
{
    size_t k;
    for (k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && strcmp(n->attribute[k]->name, name) == 0)
            return n->attribute[k];
    return NULL;
}

/* The attribute's type: the declared one, else guessed from the fields set
 * (IR versions before 2 had no type field). */
int ox_attr_type(const AttributeProto *a)
{
    if (a->has_type)
        return a->type;
    if (a->n_floats)
        return AT_FLOATS;
    if (a->n_ints)
        return AT_INTS;
    if (a->n_strings)
        return AT_STRINGS;
    if (a->t)
        return AT_TENSOR;
    if (a->has_s)
        return AT_STRING;
    if (a->has_f)
        return AT_FLOAT;
    return AT_INT;
}

const char *ox_node_label(const NodeProto *n)
{
    return n->name && *n->name ? n->name : (n->output && n->n_output ? n->output[0] : "?");
}


int ox_attr_int(const NodeProto *n, const char *name, int64_t dflt, int64_t *out, char *err,
                size_t errlen)
{
    const AttributeProto *a = ox_attr_find(n, name);
    if (!a) {
        *out = dflt;
        return 1;
    }
    if (ox_attr_type(a) != AT_INT) {
        NODE_ERR(n, "attribute '%s' is not an int", name);
        return 0;
    }
    *out = a->i;
    return 1;
}

int ox_attr_ints(const NodeProto *n, const char *name, const int64_t **v, size_t *count,
                 char *err, size_t errlen)
{
    const AttributeProto *a = ox_attr_find(n, name);
    *v = NULL;
    *count = 0;
    if (!a)
        return 1;
    if (ox_attr_type(a) != AT_INTS) {
        NODE_ERR(n, "attribute '%s' is not a list of ints", name);
        return 0;
    }
    *v = a->ints;
    *count = a->n_ints;
    return 1;
}

