/* ONNX models: the plumbing operators and the graph interpreter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

/* ------------------------------------------------------------------------ */
/* Operators                                                                 */
/* ------------------------------------------------------------------------ */

int ld_ox_eval_constant(const NodeProto *n, ld_array *out, char *err, size_t errlen)
{
    const AttributeProto *a;
    size_t dims[1] = {0};
    int rc;
    memset(out, 0, sizeof *out);
    if (n->n_attribute != 1) {
        NODE_ERR(n, "expected exactly one value attribute");
        return LD_ERR_INPUT;
    }
    a = n->attribute[0];
    if (!a->name) {
        NODE_ERR(n, "attribute without a name");
        return LD_ERR_INPUT;
    }
    if (strcmp(a->name, "value") == 0 && a->t) {
        rc = ld_ox_tensor_from_proto(a->t, out, err, errlen);
        if (rc != LD_OK) {
            char m[512];
            snprintf(m, sizeof m, "%s", err);
            NODE_ERR(n, "%s", m);
        }
        return rc;
    }
    if (strcmp(a->name, "value_float") == 0 || strcmp(a->name, "value_int") == 0) {
        int is_int = a->name[6] == 'i';
        rc = ld_ox_arr_alloc(out, is_int, 0, dims, err, errlen);
        if (rc != LD_OK)
            return rc;
        if (is_int)
            out->i[0] = a->i;
        else
            ld_ox_set_float(out, 0, a->f);
        return LD_OK;
    }
    if (strcmp(a->name, "value_floats") == 0 || strcmp(a->name, "value_ints") == 0) {
        int is_int = a->name[6] == 'i';
        size_t k;
        dims[0] = is_int ? a->n_ints : a->n_floats;
        rc = ld_ox_arr_alloc(out, is_int, 1, dims, err, errlen);
        if (rc != LD_OK)
            return rc;
        for (k = 0; k < dims[0]; k++) {
            if (is_int)
                out->i[k] = a->ints[k];
            else
                ld_ox_set_float(out, k, a->floats[k]);
        }
        return LD_OK;
    }
    NODE_ERR(n, "attribute '%s' is not supported", a->name);
    return LD_ERR_INPUT;
}

/* Normalises an axis in [-rank, rank). */
static int norm_axis(int64_t axis, size_t rank, size_t *out)
{
    if (axis < -(int64_t)rank || axis >= (int64_t)rank)
        return 0;
    *out = (size_t)(axis < 0 ? axis + (int64_t)rank : axis);
    return 1;
}

/* Axes of Squeeze/Unsqueeze: the attribute (opsets < 13) or input 1. */
static int get_axes(const NodeProto *n, const ld_array *in1, int64_t *axes, size_t *count,
                    int *given, char *err, size_t errlen)
{
    const int64_t *v;
    size_t k;
    if (!ld_ox_attr_ints(n, "axes", &v, count, err, errlen))
        return 0;
    *given = ld_ox_attr_find(n, "axes") != NULL;
    if (*given) {
        if (*count > LD_MAX_DIMS) {
            NODE_ERR(n, "too many axes");
            return 0;
        }
        for (k = 0; k < *count; k++)
            axes[k] = v[k];
        return 1;
    }
    if (in1) {
        *given = 1;
        if (!ld_ox_int_list(in1, axes, LD_MAX_DIMS, count, "axes", err, errlen))
            return 0;
        return 1;
    }
    *count = 0;
    return 1;
}

static int op_squeeze(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                      size_t errlen)
{
    int64_t axes[LD_MAX_DIMS];
    size_t count, k, d, nd = 0, dims[LD_MAX_DIMS];
    int given, drop[LD_MAX_DIMS] = {0}, rc;
    const ld_array *x = in[0];
    if (!get_axes(n, n->n_input > 1 ? in[1] : NULL, axes, &count, &given, err, errlen))
        return LD_ERR_INPUT;
    for (k = 0; k < count; k++) {
        size_t ax;
        if (!norm_axis(axes[k], x->ndim, &ax) || x->dims[ax] != 1) {
            NODE_ERR(n, "axis %lld cannot be squeezed", (long long)axes[k]);
            return LD_ERR_INPUT;
        }
        drop[ax] = 1;
    }
    for (d = 0; d < x->ndim; d++)
        if (!(given ? drop[d] : x->dims[d] == 1))
            dims[nd++] = x->dims[d];
    rc = ld_ox_arr_copy(x, out, err, errlen);
    if (rc == LD_OK) {
        out->ndim = nd;
        memcpy(out->dims, dims, nd * sizeof *dims);
    }
    return rc;
}

static int op_unsqueeze(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                        size_t errlen)
{
    int64_t axes[LD_MAX_DIMS];
    size_t count, k, d, src = 0, rank, dims[LD_MAX_DIMS];
    int given, add[LD_MAX_DIMS] = {0}, rc;
    const ld_array *x = in[0];
    if (!get_axes(n, n->n_input > 1 ? in[1] : NULL, axes, &count, &given, err, errlen))
        return LD_ERR_INPUT;
    rank = x->ndim + count;
    if (!given || rank > LD_MAX_DIMS) {
        NODE_ERR(n, "needs axes, and at most %d dimensions", LD_MAX_DIMS);
        return LD_ERR_INPUT;
    }
    for (k = 0; k < count; k++) {
        size_t ax;
        if (!norm_axis(axes[k], rank, &ax) || add[ax]) {
            NODE_ERR(n, "bad axis %lld", (long long)axes[k]);
            return LD_ERR_INPUT;
        }
        add[ax] = 1;
    }
    for (d = 0; d < rank; d++)
        dims[d] = add[d] ? 1 : x->dims[src++];
    rc = ld_ox_arr_copy(x, out, err, errlen);
    if (rc == LD_OK) {
        out->ndim = rank;
        memcpy(out->dims, dims, rank * sizeof *dims);
    }
    return rc;
}

static int op_shape(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                    size_t errlen)
{
    const ld_array *x = in[0];
    int64_t start, end;
    size_t s, e, k, dims[1];
    int rc;
    if (!ld_ox_attr_int(n, "start", 0, &start, err, errlen) ||
        !ld_ox_attr_int(n, "end", (int64_t)x->ndim, &end, err, errlen))
        return LD_ERR_INPUT;
    /* Opset 15: start/end clamp to [0, rank] after adding rank to negatives. */
    if (start < 0)
        start += (int64_t)x->ndim;
    if (end < 0)
        end += (int64_t)x->ndim;
    s = start < 0 ? 0 : (size_t)start > x->ndim ? x->ndim : (size_t)start;
    e = end < 0 ? 0 : (size_t)end > x->ndim ? x->ndim : (size_t)end;
    dims[0] = e > s ? e - s : 0;
    rc = ld_ox_arr_alloc(out, 1, 1, dims, err, errlen);
    for (k = 0; rc == LD_OK && k < dims[0]; k++)
        out->i[k] = (int64_t)x->dims[s + k];
    return rc;
}

static int op_gather(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                     size_t errlen)
{
    const ld_array *x = in[0], *idx = in[1];
    int64_t axis;
    size_t ax, d, nd = 0, dims[LD_MAX_DIMS], outer = 1, inner = 1, k, j, q;
    int rc;
    if (!ld_ox_attr_int(n, "axis", 0, &axis, err, errlen))
        return LD_ERR_INPUT;
    if (!idx->is_integer || !norm_axis(axis, x->ndim, &ax) ||
        x->ndim + idx->ndim - 1 > LD_MAX_DIMS) {
        NODE_ERR(n, "bad axis or indices");
        return LD_ERR_INPUT;
    }
    for (d = 0; d < ax; d++) {
        dims[nd++] = x->dims[d];
        outer *= x->dims[d];
    }
    for (d = 0; d < idx->ndim; d++)
        dims[nd++] = idx->dims[d];
    for (d = ax + 1; d < x->ndim; d++) {
        dims[nd++] = x->dims[d];
        inner *= x->dims[d];
    }
    rc = ld_ox_arr_alloc(out, x->is_integer, nd, dims, err, errlen);
    if (rc != LD_OK)
        return rc;
    for (k = 0; k < outer; k++)
        for (j = 0; j < idx->count; j++) {
            int64_t i = idx->i[j];
            if (i < 0)
                i += (int64_t)x->dims[ax];
            if (i < 0 || i >= (int64_t)x->dims[ax]) {
                NODE_ERR(n, "index %lld out of range", (long long)idx->i[j]);
                ld_array_free(out);
                return LD_ERR_INPUT;
            }
            for (q = 0; q < inner; q++) {
                size_t src = (k * x->dims[ax] + (size_t)i) * inner + q;
                size_t dst = (k * idx->count + j) * inner + q;
                if (x->is_integer)
                    out->i[dst] = x->i[src];
                else
                    out->f[dst] = x->f[src];
            }
        }
    return LD_OK;
}

static int op_concat(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                     size_t errlen)
{
    const ld_array *x = in[0];
    int64_t axis;
    size_t ax, k, d, dims[LD_MAX_DIMS], outer = 1, off = 0;
    int rc;
    if (!ld_ox_attr_int(n, "axis", 0, &axis, err, errlen))
        return LD_ERR_INPUT;
    if (!norm_axis(axis, x->ndim, &ax)) {
        NODE_ERR(n, "bad axis %lld", (long long)axis);
        return LD_ERR_INPUT;
    }
    memcpy(dims, x->dims, x->ndim * sizeof *dims);
    dims[ax] = 0;
    for (k = 0; k < n->n_input; k++) {
        const ld_array *y = in[k];
        if (y->ndim != x->ndim || y->is_integer != x->is_integer) {
            NODE_ERR(n, "inputs differ in rank or type");
            return LD_ERR_INPUT;
        }
        for (d = 0; d < x->ndim; d++)
            if (d != ax && y->dims[d] != x->dims[d]) {
                NODE_ERR(n, "inputs differ in shape outside the axis");
                return LD_ERR_INPUT;
            }
        dims[ax] += y->dims[ax];
    }
    for (d = 0; d < ax; d++)
        outer *= x->dims[d];
    rc = ld_ox_arr_alloc(out, x->is_integer, x->ndim, dims, err, errlen);
    if (rc != LD_OK)
        return rc;
    for (k = 0; k < n->n_input; k++) {
        const ld_array *y = in[k];
        size_t chunk = outer ? y->count / outer : 0, row = outer ? out->count / outer : 0, o;
        for (o = 0; o < outer; o++) {
            if (x->is_integer)
                memcpy(out->i + o * row + off, y->i + o * chunk, chunk * sizeof *y->i);
            else
                memcpy(out->f + o * row + off, y->f + o * chunk, chunk * sizeof *y->f);
        }
        off += chunk;
    }
    return LD_OK;
}

static int op_transpose(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                        size_t errlen)
{
    const ld_array *x = in[0];
    const int64_t *perm;
    size_t count, d, dims[LD_MAX_DIMS];
    ptrdiff_t src[LD_MAX_DIMS], st[LD_MAX_DIMS];
    int used[LD_MAX_DIMS] = {0}, rc;
    if (!ld_ox_attr_ints(n, "perm", &perm, &count, err, errlen))
        return LD_ERR_INPUT;
    if (perm && count != x->ndim) {
        NODE_ERR(n, "perm has %zu entries for a rank-%zu input", count, x->ndim);
        return LD_ERR_INPUT;
    }
    ld_ox_c_strides(x, src);
    for (d = 0; d < x->ndim; d++) {
        size_t p = perm ? (size_t)perm[d] : x->ndim - 1 - d;
        if ((perm && (perm[d] < 0 || perm[d] >= (int64_t)x->ndim)) || used[p]) {
            NODE_ERR(n, "perm is not a permutation");
            return LD_ERR_INPUT;
        }
        used[p] = 1;
        dims[d] = x->dims[p];
        st[d] = src[p];
    }
    rc = ld_ox_arr_alloc(out, x->is_integer, x->ndim, dims, err, errlen);
    if (rc == LD_OK)
        ld_ox_strided_copy(x, 0, st, out);
    return rc;
}

static int op_slice(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                    size_t errlen)
{
    const ld_array *x = in[0];
    int64_t starts[LD_MAX_DIMS], ends[LD_MAX_DIMS], axes[LD_MAX_DIMS], steps[LD_MAX_DIMS];
    size_t ns, ne, na = 0, nst = 0, k, d, dims[LD_MAX_DIMS];
    ptrdiff_t src[LD_MAX_DIMS], st[LD_MAX_DIMS], base = 0;
    int64_t lo[LD_MAX_DIMS], step[LD_MAX_DIMS];
    int seen[LD_MAX_DIMS] = {0}, rc;

    if (ld_ox_attr_find(n, "starts")) {
        /* Opsets 1-9: starts, ends, axes as attributes. */
        const int64_t *v;
        if (!ld_ox_attr_ints(n, "starts", &v, &ns, err, errlen))
            return LD_ERR_INPUT;
        if (ns > LD_MAX_DIMS)
            goto too_many;
        memcpy(starts, v, ns * sizeof *v);
        if (!ld_ox_attr_ints(n, "ends", &v, &ne, err, errlen))
            return LD_ERR_INPUT;
        if (ne > LD_MAX_DIMS)
            goto too_many;
        memcpy(ends, v, ne * sizeof *v);
        if (!ld_ox_attr_ints(n, "axes", &v, &na, err, errlen))
            return LD_ERR_INPUT;
        if (na > LD_MAX_DIMS)
            goto too_many;
        if (v)
            memcpy(axes, v, na * sizeof *v);
    } else {
        if (n->n_input < 3 || !in[1] || !in[2] ||
            !ld_ox_int_list(in[1], starts, LD_MAX_DIMS, &ns, "starts", err, errlen) ||
            !ld_ox_int_list(in[2], ends, LD_MAX_DIMS, &ne, "ends", err, errlen) ||
            (n->n_input > 3 && in[3] &&
             !ld_ox_int_list(in[3], axes, LD_MAX_DIMS, &na, "axes", err, errlen)) ||
            (n->n_input > 4 && in[4] &&
             !ld_ox_int_list(in[4], steps, LD_MAX_DIMS, &nst, "steps", err, errlen))) {
            if (n->n_input < 3 || !in[1] || !in[2])
                NODE_ERR(n, "needs starts and ends");
            return LD_ERR_INPUT;
        }
    }
    if (ne != ns || (na && na != ns) || (nst && nst != ns)) {
        NODE_ERR(n, "starts, ends, axes and steps differ in length");
        return LD_ERR_INPUT;
    }
    for (d = 0; d < x->ndim; d++) {
        lo[d] = 0;
        step[d] = 1;
        dims[d] = x->dims[d];
    }
    for (k = 0; k < ns; k++) {
        size_t ax;
        int64_t dim, s, e, sp = nst ? steps[k] : 1, cnt;
        if (!norm_axis(na ? axes[k] : (int64_t)k, x->ndim, &ax) || seen[ax] || sp == 0) {
            NODE_ERR(n, "bad axes or steps");
            return LD_ERR_INPUT;
        }
        seen[ax] = 1;
        dim = (int64_t)x->dims[ax];
        s = starts[k];
        e = ends[k];
        /* ONNX Slice: negatives count from the end, then clamp to
         * [0, dim] (step > 0) or [0, dim - 1] / [-1, dim - 1] (step < 0). */
        if (s < 0)
            s = s < INT64_MIN + dim ? 0 : s + dim;
        if (e < 0)
            e = e < INT64_MIN + dim ? -1 : e + dim;
        if (sp > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            cnt = e > s ? (e - s + sp - 1) / sp : 0;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            cnt = s > e ? (s - e + (-sp) - 1) / (-sp) : 0;
        }
        lo[ax] = s;
        step[ax] = sp;
        dims[ax] = (size_t)cnt;
    }
    ld_ox_c_strides(x, src);
    for (d = 0; d < x->ndim; d++) {
        st[d] = src[d] * (ptrdiff_t)step[d];
        if (dims[d])
            base += src[d] * (ptrdiff_t)lo[d];
    }
    rc = ld_ox_arr_alloc(out, x->is_integer, x->ndim, dims, err, errlen);
    if (rc == LD_OK && out->count)
        ld_ox_strided_copy(x, base, st, out);
    return rc;
too_many:
    NODE_ERR(n, "more than %d starts, ends or axes", LD_MAX_DIMS);
    return LD_ERR_INPUT;
}

static int op_reshape(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                      size_t errlen)
{
    const ld_array *x = in[0];
    int64_t shape[LD_MAX_DIMS], allowzero;
    size_t count, k, dims[LD_MAX_DIMS], known = 1, infer = LD_MAX_DIMS;
    int rc;
    if (!ld_ox_int_list(in[1], shape, LD_MAX_DIMS, &count, "shape", err, errlen) ||
        !ld_ox_attr_int(n, "allowzero", 0, &allowzero, err, errlen))
        return LD_ERR_INPUT;
    for (k = 0; k < count; k++) {
        if (shape[k] == -1 && infer == LD_MAX_DIMS) {
            infer = k;
            dims[k] = 1;
            continue;
        }
        if (shape[k] == 0 && !allowzero) {
            if (k >= x->ndim) {
                NODE_ERR(n, "shape copies a dimension the input lacks");
                return LD_ERR_INPUT;
            }
            dims[k] = x->dims[k];
        } else if (shape[k] < 0 || (uint64_t)shape[k] > OX_MAX_ELEMENTS) {
            NODE_ERR(n, "bad shape entry %lld", (long long)shape[k]);
            return LD_ERR_INPUT;
        } else {
            dims[k] = (size_t)shape[k];
        }
        if (!ld_mul_size(known, dims[k], &known)) {
            NODE_ERR(n, "shape overflows");
            return LD_ERR_INPUT;
        }
    }
    if (infer < LD_MAX_DIMS) {
        if (known == 0 || x->count % known) {
            NODE_ERR(n, "cannot infer the -1 dimension");
            return LD_ERR_INPUT;
        }
        dims[infer] = x->count / known;
        known = x->count;
    }
    if (known != x->count) {
        NODE_ERR(n, "shape holds %zu elements, the input %zu", known, x->count);
        return LD_ERR_INPUT;
    }
    rc = ld_ox_arr_copy(x, out, err, errlen);
    if (rc == LD_OK) {
        out->ndim = count;
        memcpy(out->dims, dims, count * sizeof *dims);
    }
    return rc;
}

static int op_expand(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                     size_t errlen)
{
    const ld_array *x = in[0];
    int64_t shape[LD_MAX_DIMS];
    size_t count, rank, d, dims[LD_MAX_DIMS];
    ptrdiff_t src[LD_MAX_DIMS], st[LD_MAX_DIMS];
    int rc;
    if (!ld_ox_int_list(in[1], shape, LD_MAX_DIMS, &count, "shape", err, errlen))
        return LD_ERR_INPUT;
    rank = count > x->ndim ? count : x->ndim;
    ld_ox_c_strides(x, src);
    /* Numpy broadcasting, aligned at the last dimension. */
    for (d = 0; d < rank; d++) {
        size_t xd = d + x->ndim >= rank ? x->dims[d + x->ndim - rank] : 1;
        int64_t sd = d + count >= rank ? shape[d + count - rank] : 1;
        ptrdiff_t xs = d + x->ndim >= rank ? src[d + x->ndim - rank] : 0;
        if (sd < 0 || (uint64_t)sd > OX_MAX_ELEMENTS ||
            (xd != 1 && sd != 1 && (size_t)sd != xd)) {
            NODE_ERR(n, "shapes do not broadcast");
            return LD_ERR_INPUT;
        }
        dims[d] = xd != 1 ? xd : (size_t)sd;
        st[d] = xd == 1 ? 0 : xs;
    }
    rc = ld_ox_arr_alloc(out, x->is_integer, rank, dims, err, errlen);
    if (rc == LD_OK && out->count)
        ld_ox_strided_copy(x, 0, st, out);
    return rc;
}

static int op_constant_of_shape(const NodeProto *n, ld_array *const *in, ld_array *out,
                                char *err, size_t errlen)
{
    int64_t shape[LD_MAX_DIMS];
    size_t count, k, dims[LD_MAX_DIMS];
    ld_array v;
    const AttributeProto *a = ld_ox_attr_find(n, "value");
    int rc, is_int = 0;
    float fv = 0;
    int64_t iv = 0;
    if (!ld_ox_int_list(in[0], shape, LD_MAX_DIMS, &count, "shape", err, errlen))
        return LD_ERR_INPUT;
    if (a) {
        if (!a->t) {
            NODE_ERR(n, "value must be a tensor");
            return LD_ERR_INPUT;
        }
        rc = ld_ox_tensor_from_proto(a->t, &v, err, errlen);
        if (rc != LD_OK)
            return rc;
        if (v.count != 1) {
            ld_array_free(&v);
            NODE_ERR(n, "value must hold one element");
            return LD_ERR_INPUT;
        }
        is_int = v.is_integer;
        if (is_int)
            iv = v.i[0];
        else
            fv = v.f[0];
        ld_array_free(&v);
    }
    for (k = 0; k < count; k++) {
        if (shape[k] < 0 || (uint64_t)shape[k] > OX_MAX_ELEMENTS) {
            NODE_ERR(n, "bad shape entry");
            return LD_ERR_INPUT;
        }
        dims[k] = (size_t)shape[k];
    }
    rc = ld_ox_arr_alloc(out, is_int, count, dims, err, errlen);
    for (k = 0; rc == LD_OK && k < out->count; k++) {
        if (is_int)
            out->i[k] = iv;
        else
            out->f[k] = fv;
    }
    return rc;
}

static int op_cast(const NodeProto *n, ld_array *const *in, ld_array *out, char *err,
                   size_t errlen)
{
    const ld_array *x = in[0];
    int64_t to;
    size_t k;
    int is_int, rc;
    if (!ld_ox_attr_int(n, "to", 0, &to, err, errlen))
        return LD_ERR_INPUT;
    if (to == OX_FLOAT || to == OX_DOUBLE || to == OX_FLOAT16 || to == OX_BFLOAT16)
        is_int = 0;
    else if (to == OX_INT64 || to == OX_INT32)
        is_int = 1;
    else {
        NODE_ERR(n, "cast to type %lld is not supported", (long long)to);
        return LD_ERR_INPUT;
    }
    rc = ld_ox_arr_alloc(out, is_int, x->ndim, x->dims, err, errlen);
    for (k = 0; rc == LD_OK && k < x->count; k++) {
        if (is_int)
            out->i[k] = x->is_integer ? x->i[k] : (int64_t)x->f[k];
        else
            out->f[k] = x->is_integer ? (float)x->i[k] : x->f[k];
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */
/* ------------------------------------------------------------------------ */

/* Swaps the first two axes of a 3-D array: (A, B, C) -> (B, A, C). */
static int swap01(const ld_array *x, ld_array *out, char *err, size_t errlen)
{
    size_t dims[3];
    ptrdiff_t st[3];
    int rc;
    dims[0] = x->dims[1];
    dims[1] = x->dims[0];
    dims[2] = x->dims[2];
    st[0] = (ptrdiff_t)x->dims[2];
    st[1] = (ptrdiff_t)(x->dims[1] * x->dims[2]);
    st[2] = 1;
    rc = ld_ox_arr_alloc(out, x->is_integer, 3, dims, err, errlen);
    if (rc == LD_OK && out->count)
        ld_ox_strided_copy(x, 0, st, out);
    return rc;
}

typedef struct run_state {
    ld_ox_table vals;
    int *bad_input;
    const ld_onnx_run_opts *opts;
    lstmcl_status forward_status;
} run_state;

static int lstm_state_input(const NodeProto *n, const ld_ox_value *v, int layout, size_t D,
                            size_t N, size_t H, const char *what, ld_array *tmp,
                            const float **out, int *bad, char *err, size_t errlen)
{
    const ld_array *a = &v->a;
    size_t want0 = layout ? N : D, want1 = layout ? D : N;
    int rc;
    if (a->is_integer || a->ndim != 3 || a->dims[0] != want0 || a->dims[1] != want1 ||
        a->dims[2] != H) {
        char got[128];
        ld_ox_shape_text(a, got, sizeof got);
        NODE_ERR(n, "%s has shape %s, expected (%zu, %zu, %zu)", what, got, want0, want1, H);
        *bad = v->origin;
        return LD_ERR_INPUT;
    }
    if (!layout) {
        *out = a->f;
        return LD_OK;
    }
    rc = swap01(a, tmp, err, errlen);
    *out = tmp->f;
    return rc;
}

static int run_lstm(const ld_onnx *m, size_t li, lstmcl_model *model, const NodeProto *n,
                    run_state *rs, char *err, size_t errlen)
{
    const ld_lstm *l = &m->lstms[li];
    int layout = m->layouts[li];
    size_t D = l->desc.direction == LSTMCL_BIDIRECTIONAL ? 2 : 1, H = l->desc.hidden_size;
    size_t T, N, k, dims[4];
    const ld_ox_value *xv = ld_ox_table_find(&rs->vals, n->input[LX]);
    ld_array h0t, c0t, y, yh, yc, outv[3];
    int32_t *lens = NULL;
    lstmcl_forward_args args;
    lstmcl_status s;
    int rc = LD_OK;

    memset(&h0t, 0, sizeof h0t);
    memset(&c0t, 0, sizeof c0t);
    memset(&y, 0, sizeof y);
    memset(&yh, 0, sizeof yh);
    memset(&yc, 0, sizeof yc);
    memset(outv, 0, sizeof outv);
    memset(&args, 0, sizeof args);
    if (xv->a.is_integer || xv->a.ndim != 3 || xv->a.dims[2] != l->desc.input_size ||
        xv->a.dims[0] == 0 || xv->a.dims[1] == 0) {
        char got[128];
        ld_ox_shape_text(&xv->a, got, sizeof got);
        NODE_ERR(n, "X has shape %s, expected %s with input size %zu", got,
                 layout ? "(N, T, I)" : "(T, N, I)", l->desc.input_size);
        *rs->bad_input = xv->origin;
        return LD_ERR_INPUT;
    }
    T = layout ? xv->a.dims[1] : xv->a.dims[0];
    N = layout ? xv->a.dims[0] : xv->a.dims[1];
    args.seq_len = T;
    args.batch = N;
    args.batch_first = layout;
    args.x = xv->a.f;
    if (ld_ox_lstm_input(n, LSEQ)) {
        const ld_ox_value *v = ld_ox_table_find(&rs->vals, n->input[LSEQ]);
        if (!v->a.is_integer || v->a.ndim != 1 || v->a.dims[0] != N) {
            NODE_ERR(n, "sequence_lens must be an integer tensor of shape (%zu)", N);
            *rs->bad_input = v->origin;
            return LD_ERR_INPUT;
        }
        lens = malloc(N * sizeof *lens);
        if (!lens) {
            ld_set_error(err, errlen, "out of memory");
            return LD_ERR_RUNTIME;
        }
        for (k = 0; k < N; k++) {
            if (v->a.i[k] < 1 || v->a.i[k] > (int64_t)T) {
                NODE_ERR(n, "sequence length %lld at index %zu is outside 1..%zu",
                         (long long)v->a.i[k], k, T);
                *rs->bad_input = v->origin;
                free(lens);
                return LD_ERR_INPUT;
            }
            lens[k] = (int32_t)v->a.i[k];
        }
        args.seq_lens = lens;
    }
    if (ld_ox_lstm_input(n, LH0))
        rc = lstm_state_input(n, ld_ox_table_find(&rs->vals, n->input[LH0]), layout, D, N, H,
                              "initial_h", &h0t, &args.h0, rs->bad_input, err, errlen);
    if (rc == LD_OK && ld_ox_lstm_input(n, LC0))
        rc = lstm_state_input(n, ld_ox_table_find(&rs->vals, n->input[LC0]), layout, D, N, H,
                              "initial_c", &c0t, &args.c0, rs->bad_input, err, errlen);
    if (rc != LD_OK)
        goto done;
    /* lstmcl writes y as (T, N, D*H) or, batch-first, (N, T, D*H), and the
     * states as (D, N, H). */
    dims[0] = layout ? N : T;
    dims[1] = layout ? T : N;
    dims[2] = D * H;
    if (n->n_output > 0 && n->output[0][0]) {
        rc = ld_ox_arr_alloc(&y, 0, 3, dims, err, errlen);
        args.y = y.f;
    }
    dims[0] = D;
    dims[1] = N;
    dims[2] = H;
    if (rc == LD_OK && n->n_output > 1 && n->output[1][0]) {
        rc = ld_ox_arr_alloc(&yh, 0, 3, dims, err, errlen);
        args.hn = yh.f;
    }
    if (rc == LD_OK && n->n_output > 2 && n->output[2][0]) {
        rc = ld_ox_arr_alloc(&yc, 0, 3, dims, err, errlen);
        args.cn = yc.f;
    }
    if (rc != LD_OK)
        goto done;
    s = rs->opts->reference ? lstmcl_forward_reference(model, &args)
        : rs->opts->forward ? rs->opts->forward(rs->opts->forward_user, model, &args)
                            : lstmcl_forward(model, &args);
    if (s != LSTMCL_SUCCESS) {
        rs->forward_status = s;
        NODE_ERR(n, "forward pass failed: %s", lstmcl_thread_last_error());
        rc = (s == LSTMCL_ERROR_INVALID_SHAPE || s == LSTMCL_ERROR_INVALID_ARGUMENT ||
              s == LSTMCL_ERROR_UNSUPPORTED)
                 ? LD_ERR_INPUT
                 : LD_ERR_RUNTIME;
        goto done;
    }
    /* ONNX shapes: Y (T, D, N, H) for layout 0, (N, T, D, H) for layout 1;
     * Y_h, Y_c (D, N, H) for layout 0, (N, D, H) for layout 1. */
    if (y.f) {
        if (layout) {
            outv[0] = y;
            memset(&y, 0, sizeof y);
            outv[0].ndim = 4;
            outv[0].dims[0] = N;
            outv[0].dims[1] = T;
            outv[0].dims[2] = D;
            outv[0].dims[3] = H;
        } else {
            size_t od[4];
            ptrdiff_t st[4];
            od[0] = T;
            od[1] = D;
            od[2] = N;
            od[3] = H;
            st[0] = (ptrdiff_t)(N * D * H);
            st[1] = (ptrdiff_t)H;
            st[2] = (ptrdiff_t)(D * H);
            st[3] = 1;
            rc = ld_ox_arr_alloc(&outv[0], 0, 4, od, err, errlen);
            if (rc != LD_OK)
                goto done;
            ld_ox_strided_copy(&y, 0, st, &outv[0]);
        }
    }
    for (k = 1; k < 3; k++) {
        ld_array *st = k == 1 ? &yh : &yc;
        if (!st->f)
            continue;
        if (layout) {
            rc = swap01(st, &outv[k], err, errlen);
            if (rc != LD_OK)
                goto done;
        } else {
            outv[k] = *st;
            memset(st, 0, sizeof *st);
        }
    }
    for (k = 0; k < 3; k++) {
        if (!outv[k].f)
            continue;
        if (!ld_ox_table_add(&rs->vals, n->output[k], &outv[k], 1, -1)) {
            ld_set_error(err, errlen, "out of memory");
            rc = LD_ERR_RUNTIME;
            goto done;
        }
        memset(&outv[k], 0, sizeof outv[k]);
    }
done:
    for (k = 0; k < 3; k++)
        ld_array_free(&outv[k]);
    ld_array_free(&y);
    ld_array_free(&yh);
    ld_array_free(&yc);
    ld_array_free(&h0t);
    ld_array_free(&c0t);
    free(lens);
    return rc;
}

/* How messages name the input of a role: the caller's label, else the
 * graph input's name. */
static const char *in_label(const ld_onnx *m, const ld_onnx_run_opts *o, size_t r, char *buf,
                            size_t len)
{
    if (o->labels[r])
        return o->labels[r];
    snprintf(buf, len, "the array for '%s'", m->in_names[r] ? m->in_names[r] : "?");
    return buf;
}

/* Appends "NAME[ of] N" for each axis listed, joined by " and ". */
static void axes_text(char *buf, size_t len, const unsigned char *axis, const size_t *list,
                      size_t n, const int64_t *vals, const size_t *dims)
{
    static const char *const names[] = {/* indexed by ld_ox_axis */
                                        "dimension", "sequence length", "batch", "input size",
                                        "direction count", "hidden size"};
    size_t k, used = 0;
    buf[0] = '\0';
    for (k = 0; k < n && used < len; k++) {
        const char *nm = names[axis[list[k]]];
        if (vals)
            used += (size_t)snprintf(buf + used, len - used, "%s%s of %lld", k ? " and " : "", nm,
                                     (long long)vals[list[k]]);
        else
            used += (size_t)snprintf(buf + used, len - used, "%s%s %zu", k ? " and " : "", nm,
                                     dims[list[k]]);
    }
}

/* An input against the shape its graph input declares. onnxruntime
 * refuses an input that disagrees with a fixed dimension, and so does
 * lstmcl: the plumbing of a graph exported for one batch (or length) has
 * that size baked into its constants, and past a clear failure it could
 * reshape data of another shape into the wrong places. An X whose batch or
 * sequence length differs is blamed on the export (the model file is
 * named); any other difference, and states that disagree with an X that
 * fits, on the input file (*bad_input). */
static int check_declared(const ld_onnx *m, const ld_onnx_run_opts *o, size_t r,
                          const ld_array *a, int *bad_input, char *err, size_t errlen)
{
    char lb[300];
    const char *label = in_label(m, o, r, lb, sizeof lb);
    const int64_t *want = m->in_dims[r];
    const unsigned char *axis = m->in_axis[r];
    size_t k, list[LD_MAX_DIMS], n = 0;
    int other = 0;
    char fixed[160], has[160];

    if (m->in_rank[r] < 0)
        return 1;
    if (a->ndim != (size_t)m->in_rank[r]) {
        other = 1;
    } else {
        for (k = 0; k < a->ndim; k++) {
            if (want[k] < 0 || (uint64_t)want[k] == a->dims[k])
                continue;
            if (axis[k] == AX_SEQ || axis[k] == AX_BATCH)
                list[n++] = k;
            else
                other = 1;
        }
        if (!n && !other)
            return 1;
    }
    if (!other && r == ONNX_IN_X) {
        axes_text(fixed, sizeof fixed, axis, list, n, want, NULL);
        axes_text(has, sizeof has, axis, list, n, NULL, a->dims);
        if (strcmp(m->producer, "pytorch") == 0)
            ld_set_error(err, errlen, "this graph was exported with a fixed %s "
                         "(torch.onnx.export without dynamic_axes); %s has %s", fixed,
                         label, has);
        else
            ld_set_error(err, errlen, "graph input '%s' has a fixed %s; %s has %s",
                         m->in_names[r], fixed, label, has);
        *bad_input = -1;
        return 0;
    }
    {
        size_t used = 0;
        used += (size_t)snprintf(fixed, sizeof fixed, "(");
        for (k = 0; k < (size_t)m->in_rank[r] && used < sizeof fixed; k++) {
            if (want[k] < 0)
                used += (size_t)snprintf(fixed + used, sizeof fixed - used, "%s?", k ? ", " : "");
            else
                used += (size_t)snprintf(fixed + used, sizeof fixed - used, "%s%lld",
                                         k ? ", " : "", (long long)want[k]);
        }
        if (used < sizeof fixed)
            snprintf(fixed + used, sizeof fixed - used, "%s)", m->in_rank[r] == 1 ? "," : "");
    }
    ld_ox_shape_text(a, has, sizeof has);
    ld_set_error(err, errlen, "graph input '%s' has the fixed shape %s; %s has shape %s",
                 m->in_names[r], fixed, label, has);
    *bad_input = (int)r;
    return 0;
}

int ld_onnx_run(const ld_onnx *m, lstmcl_model *const *models, const ld_onnx_run_opts *opts,
                const ld_array inputs[ONNX_IN_COUNT], ld_array outputs[ONNX_OUT_COUNT],
                int *bad_input, lstmcl_status *forward_status, char *err, size_t errlen)
{
    char lb[300];
    const GraphProto *g = m->proto->graph;
    run_state rs;
    size_t k, j, li = 0;
    int rc = LD_OK;

    memset(&rs, 0, sizeof rs);
    rs.bad_input = bad_input;
    rs.opts = opts;
    rs.forward_status = LSTMCL_SUCCESS;
    *bad_input = -1;
    if (errlen)
        err[0] = '\0';
    for (k = 0; k < ONNX_OUT_COUNT; k++)
        memset(&outputs[k], 0, sizeof outputs[k]);
    for (k = 0; k < m->consts.n; k++)
        if (!ld_ox_table_add(&rs.vals, m->consts.v[k].name, &m->consts.v[k].a, 0, -1))
            goto oom;
    for (k = 0; k < ONNX_IN_COUNT; k++) {
        ld_array a;
        if (!m->in_names[k])
            continue;
        if (!inputs[k].f && !inputs[k].i) {
            if (k == ONNX_IN_X) {
                ld_set_error(err, errlen, "graph input '%s' needs %s", m->in_names[k],
                             in_label(m, opts, k, lb, sizeof lb));
                rc = LD_ERR_INPUT;
                goto done;
            }
            continue; /* optional: the LSTM's default */
        }
        if (!check_declared(m, opts, k, &inputs[k], bad_input, err, errlen)) {
            rc = LD_ERR_INPUT;
            goto done;
        }
        a = inputs[k];
        if (!ld_ox_table_add(&rs.vals, m->in_names[k], &a, 0, (int)k))
            goto oom;
    }
    for (k = 0; k < g->n_node && rc == LD_OK; k++) {
        const NodeProto *n = g->node[k];
        ld_array *in[64], out;
        int origin = -1;
        memset(&out, 0, sizeof out);
        if (rs.vals.owned_elements > OX_MAX_TOTAL_ELEMENTS) {
            NODE_ERR(n, "the graph's arrays exceed %zu elements in all",
                     (size_t)OX_MAX_TOTAL_ELEMENTS);
            rc = LD_ERR_INPUT;
            break;
        }
        if (m->ops[k] == OP_CONSTANT)
            continue;
        for (j = 0; j < n->n_input; j++) {
            ld_ox_value *v = n->input[j][0] ? ld_ox_table_find(&rs.vals, n->input[j]) : NULL;
            in[j] = v ? &v->a : NULL;
            if (n->input[j][0] && !v) {
                /* An optional graph input not given (initial_h and so on):
                 * only an LSTM may read it, as absent. */
                if (m->ops[k] != OP_LSTM) {
                    size_t r;
                    for (r = 0; r < ONNX_IN_COUNT; r++)
                        if (m->in_names[r] && strcmp(m->in_names[r], n->input[j]) == 0)
                            break;
                    if (r < ONNX_IN_COUNT)
                        ld_set_error(err, errlen, "the graph needs %s (graph input '%s')",
                                     in_label(m, opts, r, lb, sizeof lb), n->input[j]);
                    else
                        NODE_ERR(n, "input '%s' has no value", n->input[j]);
                    rc = LD_ERR_INPUT;
                    break;
                }
            }
            if (j == 0 && v)
                origin = v->origin;
        }
        if (rc != LD_OK)
            break;
        if (m->ops[k] == OP_LSTM) {
            /* A missing optional state becomes an absent input. */
            NodeProto copy = *n;
            char *names[L_INPUTS];
            for (j = 0; j < n->n_input && j < L_INPUTS; j++)
                names[j] = (in[j] || j == LX) ? n->input[j] : (char *)"";
            copy.input = names;
            copy.n_input = n->n_input < L_INPUTS ? n->n_input : L_INPUTS;
            if (!in[LX]) {
                NODE_ERR(n, "X has no value");
                rc = LD_ERR_INPUT;
                break;
            }
            rc = run_lstm(m, li, models[li], &copy, &rs, err, errlen);
            li++;
            continue;
        }
        if (!in[0]) {
            NODE_ERR(n, "has no data input");
            rc = LD_ERR_INPUT;
            break;
        }
        switch (m->ops[k]) {
        case OP_IDENTITY: rc = ld_ox_arr_copy(in[0], &out, err, errlen); break;
        case OP_CAST: rc = op_cast(n, in, &out, err, errlen); break;
        case OP_SHAPE: rc = op_shape(n, in, &out, err, errlen); break;
        case OP_GATHER: rc = op_gather(n, in, &out, err, errlen); break;
        case OP_UNSQUEEZE: rc = op_unsqueeze(n, in, &out, err, errlen); break;
        case OP_SQUEEZE: rc = op_squeeze(n, in, &out, err, errlen); break;
        case OP_CONCAT: rc = op_concat(n, in, &out, err, errlen); break;
        case OP_SLICE: rc = op_slice(n, in, &out, err, errlen); break;
        case OP_TRANSPOSE: rc = op_transpose(n, in, &out, err, errlen); break;
        case OP_RESHAPE: rc = op_reshape(n, in, &out, err, errlen); break;
        case OP_EXPAND: rc = op_expand(n, in, &out, err, errlen); break;
        case OP_CONSTANT_OF_SHAPE: rc = op_constant_of_shape(n, in, &out, err, errlen); break;
        default: rc = LD_ERR_INPUT; NODE_ERR(n, "unexpected operator"); break;
        }
        if (rc != LD_OK) {
            if (!err[0])
                NODE_ERR(n, "invalid operands");
            *bad_input = origin;
            break;
        }
        /* A shape says nothing about the values it came from: faults
         * downstream of it lie in the model. */
        if (m->ops[k] == OP_SHAPE)
            origin = -1;
        if (!ld_ox_table_add(&rs.vals, n->output[0], &out, 1, origin)) {
            ld_array_free(&out);
            goto oom;
        }
    }
    for (k = 0; rc == LD_OK && k < ONNX_OUT_COUNT; k++) {
        const ld_ox_value *v;
        if (!m->out_names[k])
            continue;
        v = ld_ox_table_find(&rs.vals, m->out_names[k]);
        if (!v || v->a.is_integer) {
            ld_set_error(err, errlen, "graph output '%s' has no floating-point value",
                         m->out_names[k]);
            rc = LD_ERR_INPUT;
            break;
        }
        rc = ld_ox_arr_copy(&v->a, &outputs[k], err, errlen);
    }
    goto done;
oom:
    ld_set_error(err, errlen, "out of memory");
    rc = LD_ERR_RUNTIME;
done:
    *forward_status = rs.forward_status;
    ld_ox_table_free(&rs.vals);
    if (rc != LD_OK)
        for (k = 0; k < ONNX_OUT_COUNT; k++)
            ld_array_free(&outputs[k]);
    return rc;
}
