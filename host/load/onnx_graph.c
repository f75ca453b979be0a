/* ONNX models: host arrays, value tables, TensorProto and attribute access. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

/* ------------------------------------------------------------------------ */
/* Tables of values                                                          */
/* ------------------------------------------------------------------------ */

ld_ox_value *ld_ox_table_find(const ld_ox_table *t, const char *name)
{
    size_t k;
    for (k = t->n; k-- > 0;)
        if (strcmp(t->v[k].name, name) == 0)
            return &t->v[k];
    return NULL;
}

/* Adds an entry taking a (owned or not). */
int ld_ox_table_add(ld_ox_table *t, const char *name, ld_array *a, int owned, int origin)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        ld_ox_value *n = realloc(t->v, cap * sizeof *n);
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

void ld_ox_table_free(ld_ox_table *t)
{
    size_t k;
    for (k = 0; k < t->n; k++)
        if (t->v[k].owned)
            ld_array_free(&t->v[k].a);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* ------------------------------------------------------------------------ */
/* Arrays                                                                    */
/* ------------------------------------------------------------------------ */

void ld_array_free(ld_array *a)
{
    if (!a)
        return;
    free(a->f);
    free(a->i);
    free(a->half);
    a->f = NULL;
    a->i = NULL;
    a->half = NULL;
}

int ld_ox_arr_alloc(ld_array *a, int is_int, size_t ndim, const size_t *dims, char *err,
                    size_t errlen)
{
    size_t k, n = 1;
    memset(a, 0, sizeof *a);
    if (ndim > LD_MAX_DIMS) {
        ld_set_error(err, errlen, "more than %d dimensions", LD_MAX_DIMS);
        return LD_ERR_INPUT;
    }
    for (k = 0; k < ndim; k++) {
        if (!ld_mul_size(n, dims[k], &n) || n > OX_MAX_ELEMENTS) {
            ld_set_error(err, errlen, "an array of more than %zu elements", OX_MAX_ELEMENTS);
            return LD_ERR_INPUT;
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
        ld_set_error(err, errlen, "out of memory");
        return LD_ERR_RUNTIME;
    }
    return LD_OK;
}

void ld_ox_shape_text(const ld_array *a, char *buf, size_t len)
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
void ld_ox_strided_copy(const ld_array *src, ptrdiff_t base, const ptrdiff_t *strides,
                        ld_array *dst)
{
    size_t idx[LD_MAX_DIMS] = {0}, k, d;
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

void ld_ox_c_strides(const ld_array *a, ptrdiff_t *s)
{
    size_t d;
    ptrdiff_t st = 1;
    for (d = a->ndim; d-- > 0;) {
        s[d] = st;
        st *= (ptrdiff_t)a->dims[d];
    }
}

int ld_ox_arr_copy(const ld_array *src, ld_array *dst, char *err, size_t errlen)
{
    int rc = ld_ox_arr_alloc(dst, src->is_integer, src->ndim, src->dims, err, errlen);
    if (rc != LD_OK)
        return rc;
    if (src->is_integer)
        memcpy(dst->i, src->i, src->count * sizeof *src->i);
    else
        memcpy(dst->f, src->f, src->count * sizeof *src->f);
    return LD_OK;
}

/* Values of an integer array (shape operands), at most `max`. */
int ld_ox_int_list(const ld_array *a, int64_t *out, size_t max, size_t *n, const char *what,
                   char *err, size_t errlen)
{
    size_t k;
    if (!a->is_integer || a->ndim > 1 || a->count > max) {
        ld_set_error(err, errlen, "%s must be a 1-D integer tensor of at most %zu values", what,
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

void ld_ox_set_float(ld_array *a, size_t k, double v)
{
    /* A double beyond float's range becomes an infinity here (IEEE 754
     * conversion); the value noted is the one stored. */
    a->f[k] = (float)v;
    if (!isfinite(a->f[k]) && a->first_nonfinite == a->count) {
        a->first_nonfinite = k;
        a->nonfinite_value = v;
    }
}

int ld_ox_tensor_from_proto(const TensorProto *t, ld_array *a, char *err, size_t errlen)
{
    size_t dims[LD_MAX_DIMS], k, n, esize = 0, have = 0;
    int dt = t->has_data_type ? t->data_type : 0, is_int, rc;
    const char *name = t->name ? t->name : "";

    memset(a, 0, sizeof *a);
    if (t->has_data_location && t->data_location == 1) {
        ld_set_error(err, errlen, "tensor '%s' keeps its data in an external file (not "
                     "supported)", name);
        return LD_ERR_INPUT;
    }
    if (t->n_dims > LD_MAX_DIMS) {
        ld_set_error(err, errlen, "tensor '%s' has %zu dimensions", name, t->n_dims);
        return LD_ERR_INPUT;
    }
    for (k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0 || (uint64_t)t->dims[k] > OX_MAX_ELEMENTS) {
            ld_set_error(err, errlen, "tensor '%s' has dimension %lld", name,
                         (long long)t->dims[k]);
            return LD_ERR_INPUT;
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
        ld_set_error(err, errlen, "tensor '%s' has unsupported data type %d", name, dt);
        return LD_ERR_INPUT;
    }
    is_int = !(dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16);
    rc = ld_ox_arr_alloc(a, is_int, t->n_dims, dims, err, errlen);
    if (rc != LD_OK) {
        if (rc == LD_ERR_INPUT)
            ld_set_error(err, errlen, "tensor '%s' is too large", name);
        return rc;
    }
    n = a->count;
    if (dt == OX_FLOAT16 || dt == OX_BFLOAT16) {
        a->half = malloc((n ? n : 1) * sizeof *a->half);
        if (!a->half) {
            ld_array_free(a);
            ld_set_error(err, errlen, "out of memory");
            return LD_ERR_RUNTIME;
        }
        a->half_dtype = dt == OX_FLOAT16 ? LSTMCL_DTYPE_F16 : LSTMCL_DTYPE_BF16;
    }
    if (t->has_raw_data) {
        if (t->raw_data.len != n * esize) {
            ld_set_error(err, errlen, "tensor '%s': raw_data has %zu bytes, its shape needs %zu",
                         name, t->raw_data.len, n * esize);
            ld_array_free(a);
            return LD_ERR_INPUT;
        }
        for (k = 0; k < n; k++) {
            const uint8_t *p = t->raw_data.data + k * esize;
            switch (dt) {
            case OX_FLOAT: {
                uint32_t u = ld_le32(p);
                float f;
                memcpy(&f, &u, 4);
                ld_ox_set_float(a, k, f);
                break;
            }
            case OX_DOUBLE: {
                uint64_t u = ld_le64(p);
                double d;
                memcpy(&d, &u, 8);
                ld_ox_set_float(a, k, d);
                break;
            }
            case OX_FLOAT16:
                a->half[k] = ld_le16(p);
                ld_ox_set_float(a, k, ld_half_to_float(a->half[k]));
                break;
            case OX_BFLOAT16:
                a->half[k] = ld_le16(p);
                ld_ox_set_float(a, k, ld_bf16_to_float(a->half[k]));
                break;
            case OX_INT64: a->i[k] = (int64_t)ld_le64(p); break;
            case OX_INT32: a->i[k] = (int32_t)ld_le32(p); break;
            case OX_INT16: a->i[k] = (int16_t)ld_le16(p); break;
            case OX_UINT16: a->i[k] = ld_le16(p); break;
            case OX_INT8: a->i[k] = (int8_t)p[0]; break;
            default: a->i[k] = p[0]; break;
            }
        }
        return LD_OK;
    }
    if (have != n) {
        ld_set_error(err, errlen, "tensor '%s' holds %zu values, its shape needs %zu", name, have,
                     n);
        ld_array_free(a);
        return LD_ERR_INPUT;
    }
    for (k = 0; k < n; k++) {
        switch (dt) {
        case OX_FLOAT: ld_ox_set_float(a, k, t->float_data[k]); break;
        case OX_DOUBLE: ld_ox_set_float(a, k, t->double_data[k]); break;
        /* 16-bit types keep their bit patterns in int32_data's low bits. */
        case OX_FLOAT16:
            a->half[k] = (uint16_t)t->int32_data[k];
            ld_ox_set_float(a, k, ld_half_to_float(a->half[k]));
            break;
        case OX_BFLOAT16:
            a->half[k] = (uint16_t)t->int32_data[k];
            ld_ox_set_float(a, k, ld_bf16_to_float(a->half[k]));
            break;
        case OX_INT64: a->i[k] = t->int64_data[k]; break;
        default: a->i[k] = t->int32_data[k]; break;
        }
    }
    return LD_OK;
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
int ld_ox_declared_shape(const ValueInfoProto *v, int64_t *dims, size_t max, size_t *rank)
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

const AttributeProto *ld_ox_attr_find(const NodeProto *n, const char *name)
{
    size_t k;
    for (k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && strcmp(n->attribute[k]->name, name) == 0)
            return n->attribute[k];
    return NULL;
}

/* The attribute's type: the declared one, else guessed from the fields set
 * (IR versions before 2 had no type field). */
int ld_ox_attr_type(const AttributeProto *a)
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

const char *ld_ox_node_label(const NodeProto *n)
{
    return n->name && *n->name ? n->name : (n->output && n->n_output ? n->output[0] : "?");
}


int ld_ox_attr_int(const NodeProto *n, const char *name, int64_t dflt, int64_t *out, char *err,
                   size_t errlen)
{
    const AttributeProto *a = ld_ox_attr_find(n, name);
    if (!a) {
        *out = dflt;
        return 1;
    }
    if (ld_ox_attr_type(a) != AT_INT) {
        NODE_ERR(n, "attribute '%s' is not an int", name);
        return 0;
    }
    *out = a->i;
    return 1;
}

int ld_ox_attr_ints(const NodeProto *n, const char *name, const int64_t **v, size_t *count,
                    char *err, size_t errlen)
{
    const AttributeProto *a = ld_ox_attr_find(n, name);
    *v = NULL;
    *count = 0;
    if (!a)
        return 1;
    if (ld_ox_attr_type(a) != AT_INTS) {
        NODE_ERR(n, "attribute '%s' is not a list of ints", name);
        return 0;
    }
    *v = a->ints;
    *count = a->n_ints;
    return 1;
}

