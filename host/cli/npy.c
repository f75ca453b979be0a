/* .npy reader and writer. The header is a Python dict literal with exactly
 * the keys 'descr', 'fortran_order' and 'shape'; it is parsed by hand and
 * strictly, and every size in it is checked against the file size before
 * anything is allocated. */
#include "npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

/* The dtypes accepted: kind, item size. */
typedef struct npy_type {
    char kind; /* 'f' float, 'i' signed, 'u' unsigned */
    size_t size;
} npy_type;

static const npy_type npy_types[] = {
    {'f', 2}, {'f', 4}, {'f', 8}, {'i', 1}, {'i', 2}, {'i', 4},
    {'i', 8}, {'u', 1}, {'u', 2}, {'u', 4}, {'b', 1},
};

typedef struct hdr_cursor {
    const char *p;
    const char *end;
} hdr_cursor;

static void skip_space(hdr_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int expect_char(hdr_cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, copied into out[outlen]. */
static int parse_string(hdr_cursor *c, char *out, size_t outlen)
{
    char q;
    size_t n = 0;
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    q = *c->p++;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= outlen)
            return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    out[n] = '\0';
    return 1;
}

static int parse_shape(hdr_cursor *c, npy_array *a, char *err, size_t errlen)
{
    skip_space(c);
    if (!expect_char(c, '(')) {
        ld_set_error(err, errlen, "npy header: 'shape' is not a tuple");
        return 0;
    }
    a->ndim = 0;
    for (;;) {
        size_t v = 0;
        int digits = 0;
        skip_space(c);
        if (c->p < c->end && *c->p == ')') {
            c->p++;
            return 1;
        }
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            unsigned d = (unsigned)(*c->p - '0');
            if (v > (SIZE_MAX - d) / 10) {
                ld_set_error(err, errlen, "npy header: a dimension overflows");
                return 0;
            }
            v = v * 10 + d;
            digits++;
            c->p++;
        }
        if (!digits) {
            ld_set_error(err, errlen, "npy header: bad 'shape' tuple");
            return 0;
        }
        if (a->ndim == NPY_MAX_DIMS) {
            ld_set_error(err, errlen, "npy header: more than %d dimensions", NPY_MAX_DIMS);
            return 0;
        }
        a->dims[a->ndim++] = v;
        skip_space(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (!expect_char(c, ')')) {
            ld_set_error(err, errlen, "npy header: bad 'shape' tuple");
            return 0;
        }
        return 1;
    }
}

static int parse_header(const char *h, size_t hlen, npy_array *a, int *fortran, char *err,
                        size_t errlen)
{
    hdr_cursor c = {h, h + hlen};
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;

    if (!expect_char(&c, '{')) {
        ld_set_error(err, errlen, "npy header is not a dict");
        return 0;
    }
    for (;;) {
        char key[32];
        if (expect_char(&c, '}'))
            break;
        if (!parse_string(&c, key, sizeof key) || !expect_char(&c, ':')) {
            ld_set_error(err, errlen, "npy header: malformed dict");
            return 0;
        }
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = 1;
            if (!parse_string(&c, a->descr, sizeof a->descr)) {
                ld_set_error(err, errlen, "npy header: 'descr' is not a simple type string");
                return 0;
            }
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fortran) {
            seen_fortran = 1;
            skip_space(&c);
            if ((size_t)(c.end - c.p) >= 4 && memcmp(c.p, "True", 4) == 0) {
                *fortran = 1;
                c.p += 4;
            } else if ((size_t)(c.end - c.p) >= 5 && memcmp(c.p, "False", 5) == 0) {
                *fortran = 0;
                c.p += 5;
            } else {
                ld_set_error(err, errlen, "npy header: 'fortran_order' is not True or False");
                return 0;
            }
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            if (!parse_shape(&c, a, err, errlen))
                return 0;
        } else {
            ld_set_error(err, errlen, "npy header: unexpected or repeated key '%s'", key);
            return 0;
        }
        if (expect_char(&c, ','))
            continue;
        if (!expect_char(&c, '}')) {
            ld_set_error(err, errlen, "npy header: malformed dict");
            return 0;
        }
        break;
    }
    if (!seen_descr || !seen_fortran || !seen_shape) {
        ld_set_error(err, errlen, "npy header: missing key '%s'",
                     !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
        return 0;
    }
    /* Padding: spaces, then one newline at the very end. */
    skip_space(&c);
    if (c.p < c.end && *c.p == '\n')
        c.p++;
    if (c.p != c.end) {
        ld_set_error(err, errlen, "npy header: unexpected text after the dict");
        return 0;
    }
    return 1;
}

static double load_float(const uint8_t *p, size_t size, int big)
{
    uint8_t b[8];
    size_t k;
    for (k = 0; k < size; k++)
        b[k] = big ? p[size - 1 - k] : p[k];
    if (size == 2)
        return ld_half_to_float(ld_le16(b));
    if (size == 4) {
        uint32_t u = ld_le32(b);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    } else {
        uint64_t u = ld_le64(b);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
}

static int64_t load_int(const uint8_t *p, size_t size, int big, int is_signed)
{
    uint64_t u = 0;
    size_t k;
    for (k = 0; k < size; k++)
        u |= (uint64_t)(big ? p[size - 1 - k] : p[k]) << (8 * k);
    if (is_signed && size < 8 && (u >> (8 * size - 1)) & 1u)
        u |= ~(uint64_t)0 << (8 * size);
    return (int64_t)u;
}

/* Element k of a C-order walk, located in Fortran-ordered storage. */
static size_t fortran_offset(const npy_array *a, size_t k)
{
    size_t off = 0, stride = 1, d;
    size_t idx[NPY_MAX_DIMS];
    for (d = a->ndim; d-- > 0;) {
        idx[d] = a->dims[d] ? k % a->dims[d] : 0;
        k = a->dims[d] ? k / a->dims[d] : 0;
    }
    for (d = 0; d < a->ndim; d++) {
        off += idx[d] * stride;
        stride *= a->dims[d];
    }
    return off;
}

int npy_parse(const uint8_t *buf, size_t len, npy_array *out, char *err, size_t errlen)
{
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    size_t prefix, hlen, count = 1, nbytes, d, k;
    const npy_type *type = NULL;
    int fortran = 0, big = 0;
    char kind;
    size_t size;

    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(buf, magic, 6) != 0) {
        ld_set_error(err, errlen, "not a .npy file (bad magic)");
        return CLI_ERR_INPUT;
    }
    if (buf[6] == 1) {
        hlen = ld_le16(buf + 8);
        prefix = 10;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (len < 12) {
            ld_set_error(err, errlen, "truncated .npy header");
            return CLI_ERR_INPUT;
        }
        hlen = ld_le32(buf + 8);
        prefix = 12;
    } else {
        ld_set_error(err, errlen, "unsupported .npy format version %u.%u", buf[6], buf[7]);
        return CLI_ERR_INPUT;
    }
    if (hlen > len - prefix) {
        ld_set_error(err, errlen, "truncated .npy header (says %zu bytes, file has %zu)", hlen,
                     len - prefix);
        return CLI_ERR_INPUT;
    }
    if (!parse_header((const char *)buf + prefix, hlen, out, &fortran, err, errlen))
        return CLI_ERR_INPUT;

    /* descr: byte order, kind, size, e.g. "<f4", "|u1". */
    if (strlen(out->descr) != 3 || !strchr("<>|=", out->descr[0]) ||
        out->descr[2] < '1' || out->descr[2] > '8') {
        ld_set_error(err, errlen, "unsupported dtype '%s'", out->descr);
        return CLI_ERR_INPUT;
    }
    big = out->descr[0] == '>';
    kind = out->descr[1];
    size = (size_t)(out->descr[2] - '0');
    for (k = 0; k < sizeof npy_types / sizeof npy_types[0]; k++)
        if (npy_types[k].kind == kind && npy_types[k].size == size)
            type = &npy_types[k];
    if (!type || (size > 1 && out->descr[0] == '|')) {
        ld_set_error(err, errlen, "unsupported dtype '%s' (float16/32/64 or integers expected)",
                     out->descr);
        return CLI_ERR_INPUT;
    }
    for (d = 0; d < out->ndim; d++) {
        if (!ld_mul_size(count, out->dims[d], &count)) {
            ld_set_error(err, errlen, "shape overflows");
            return CLI_ERR_INPUT;
        }
    }
    if (!ld_mul_size(count, size, &nbytes)) {
        ld_set_error(err, errlen, "shape overflows");
        return CLI_ERR_INPUT;
    }
    if (nbytes != len - prefix - hlen) {
        ld_set_error(err, errlen, "data size mismatch: the shape needs %zu bytes, the file has %zu",
                     nbytes, len - prefix - hlen);
        return CLI_ERR_INPUT;
    }
    out->count = count;
    out->is_integer = kind != 'f';
    out->first_nonfinite = count;
    {
        const uint8_t *data = buf + prefix + hlen;
        size_t alloc = count ? count : 1;
        if (out->is_integer)
            out->i = malloc(alloc * sizeof *out->i);
        else
            out->f = malloc(alloc * sizeof *out->f);
        if (!out->i && !out->f) {
            ld_set_error(err, errlen, "out of memory for %zu values", count);
            return CLI_ERR_RUNTIME;
        }
        for (k = 0; k < count; k++) {
            size_t src = fortran ? fortran_offset(out, k) : k;
            const uint8_t *p = data + src * size;
            if (out->is_integer)
                out->i[k] = load_int(p, size, big, kind == 'i');
            else {
                const double v = load_float(p, size, big);
                out->f[k] = (float)v;
                if (!isfinite(out->f[k]) && out->first_nonfinite == count) {
                    out->first_nonfinite = k;
                    out->nonfinite_value = v;
                }
            }
        }
    }
    return CLI_OK;
}

int npy_load(const char *path, npy_array *out, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int rc;
    memset(out, 0, sizeof *out);
    rc = ld_read_file(path, &buf, &len, err, errlen);
    if (rc != CLI_OK)
        return rc;
    rc = npy_parse(buf, len, out, err, errlen);
    free(buf);
    return rc;
}

void npy_free(npy_array *a)
{
    if (!a)
        return;
    free(a->f);
    free(a->i);
    a->f = NULL;
    a->i = NULL;
}

int npy_make_f32_header(const size_t *dims, size_t ndim, uint8_t **header, size_t *header_len,
                        char *err, size_t errlen)
{
    char dict[64 + NPY_MAX_DIMS * 24];
    size_t n, total, d;
    uint8_t *h;

    if (ndim > NPY_MAX_DIMS) {
        ld_set_error(err, errlen, "too many dimensions");
        return CLI_ERR_INPUT;
    }
    /* NumPy's spelling of a shape: "()", "(5,)", "(2, 3)". */
    n = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (d = 0; d < ndim; d++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%zu", d ? ", " : "", dims[d]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", ndim == 1 ? "," : "");
    /* Pad with spaces so that the data starts on a 64-byte boundary. */
    total = 10 + n + 1;
    total = (total + 63) / 64 * 64;
    h = malloc(total);
    if (!h) {
        ld_set_error(err, errlen, "out of memory");
        return CLI_ERR_RUNTIME;
    }
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (uint8_t)((total - 10) & 0xff);
    h[9] = (uint8_t)((total - 10) >> 8);
    memcpy(h + 10, dict, n);
    memset(h + 10 + n, ' ', total - 10 - n - 1);
    h[total - 1] = '\n';
    *header = h;
    *header_len = total;
    return CLI_OK;
}
