#include "model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load_util.h"
#include "safetensors.h"

/* The parameters of nn.LSTM layer k: <kind>_l<k>[_reverse]. */
enum { P_WIH, P_WHH, P_BIH, P_BHH, P_WHR, P_COUNT };
static const char *const torch_param_names[P_COUNT] = {
    "weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr",
};

/* Splits the tail of a name "<kind>_l<k>[_reverse]" after a prefix. */
static int parse_param(const char *s, int *kind, size_t *layer, int *reverse)
{
    int p;
    for (p = 0; p < P_COUNT; p++) {
        size_t n = strlen(torch_param_names[p]);
        const char *q = s + n;
        size_t v = 0;
        if (strncmp(s, torch_param_names[p], n) != 0 || strncmp(q, "_l", 2) != 0)
            continue;
        q += 2;
        if (*q < '0' || *q > '9' || (q[0] == '0' && q[1] >= '0' && q[1] <= '9'))
            return 0;
        while (*q >= '0' && *q <= '9') {
            if (v > 1000000)
                return 0;
            v = v * 10 + (size_t)(*q++ - '0');
        }
        if (*q == '\0')
            *reverse = 0;
        else if (strcmp(q, "_reverse") == 0)
            *reverse = 1;
        else
            return 0;
        *kind = p;
        *layer = v;
        return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct prefixes of "...weight_ih_l<k>[_reverse]" names, sorted. */
static int find_prefixes(const ld_st_file *f, char ***list, size_t *n)
{
    size_t k, j, m = 0;
    *list = calloc(f->count ? f->count : 1, sizeof **list);
    *n = 0;
    if (!*list)
        return LD_ERR_RUNTIME;
    for (k = 0; k < f->count; k++) {
        const char *name = f->tensors[k].name, *hit = name, *found = NULL;
        int kind, rev;
        size_t layer, plen;
        while ((hit = strstr(hit, "weight_ih_l")) != NULL) {
            if (parse_param(hit, &kind, &layer, &rev))
                found = hit;
            hit++;
        }
        if (!found)
            continue;
        plen = (size_t)(found - name);
        (*list)[*n] = malloc(plen + 1);
        if (!(*list)[*n])
            return LD_ERR_RUNTIME;
        memcpy((*list)[*n], name, plen);
        (*list)[*n][plen] = '\0';
        (*n)++;
    }
    /* Sort, then drop repeats. */
    qsort(*list, *n, sizeof **list, cmp_str);
    for (j = 0; j < *n; j++) {
        if (m > 0 && strcmp((*list)[m - 1], (*list)[j]) == 0) {
            free((*list)[j]);
            continue;
        }
        (*list)[m++] = (*list)[j];
    }
    *n = m;
    return LD_OK;
}

static int cmp_size(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The smallest layer below L that no parameter name under prefix mentions
 * (L when there is none, or when out of memory: the per-tensor checks
 * that follow still name a missing tensor). */
static size_t first_missing_layer(const ld_st_file *f, const char *prefix, size_t L)
{
    size_t *layers = malloc((f->count ? f->count : 1) * sizeof *layers), n = 0, k, want = 0;
    size_t plen = strlen(prefix);
    if (!layers)
        return L;
    for (k = 0; k < f->count; k++) {
        int kind, rev;
        size_t layer;
        if (strncmp(f->tensors[k].name, prefix, plen) == 0 &&
            parse_param(f->tensors[k].name + plen, &kind, &layer, &rev))
            layers[n++] = layer;
    }
    qsort(layers, n, sizeof *layers, cmp_size);
    for (k = 0; k < n && want < L; k++) {
        if (layers[k] > want)
            break;
        if (layers[k] == want)
            want++;
    }
    free(layers);
    return want;
}

/* The name of a parameter of `layer` under prefix (one exists). */
static const char *tensor_of_layer(const ld_st_file *f, const char *prefix, size_t layer)
{
    size_t k, plen = strlen(prefix);
    for (k = 0; k < f->count; k++) {
        int kind, rev;
        size_t l;
        if (strncmp(f->tensors[k].name, prefix, plen) == 0 &&
            parse_param(f->tensors[k].name + plen, &kind, &l, &rev) && l == layer)
            return f->tensors[k].name;
    }
    return "?";
}

static void free_list(char **list, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++)
        free(list[k]);
    free(list);
}

/* Checks a 1-D or 2-D tensor's shape. */
static int check_shape(const ld_st_tensor *t, size_t ndim, size_t d0, size_t d1, char *err,
                       size_t errlen)
{
    if (t->ndim != ndim || t->dims[0] != d0 || (ndim == 2 && t->dims[1] != d1)) {
        if (ndim == 2)
            ld_set_error(err, errlen, "tensor '%s' should have shape (%zu, %zu)", t->name, d0,
                         d1);
        else
            ld_set_error(err, errlen, "tensor '%s' should have shape (%zu)", t->name, d0);
        return 0;
    }
    return 1;
}

int ld_torch_lstm_from_safetensors(const uint8_t *buf, size_t len, const char *prefix,
                                   const char *prefix_name, ld_lstm *out, char *err,
                                   size_t errlen)
{
    ld_st_file f;
    char **prefixes = NULL;
    size_t nprefix = 0, k, plen, L = 0, D = 1, H = 0, I = 0, P = 0, Hout, layer, d;
    const ld_st_tensor *(*slots)[2][P_COUNT] = NULL;
    int rc, kind, rev, has_bias, has_proj;

    memset(out, 0, sizeof *out);
    rc = ld_st_parse(buf, len, &f, err, errlen);
    if (rc != LD_OK)
        return rc;
    rc = find_prefixes(&f, &prefixes, &nprefix);
    if (rc != LD_OK) {
        ld_set_error(err, errlen, "out of memory");
        goto done;
    }
    rc = LD_ERR_INPUT;
    if (!prefix) {
        if (nprefix == 0) {
            ld_set_error(err, errlen, "no nn.LSTM weights found (no tensor named "
                         "[PREFIX]weight_ih_l0)");
            goto done;
        }
        if (nprefix > 1) {
            ld_set_error(err, errlen, "%zu LSTMs in the file (prefixes '%s', '%s'%s); choose one "
                         "with %s", nprefix, prefixes[0], prefixes[1],
                         nprefix > 2 ? ", ..." : "", prefix_name ? prefix_name : "a prefix");
            goto done;
        }
        prefix = prefixes[0];
    }
    snprintf(out->name, sizeof out->name, "%s", prefix);
    plen = strlen(prefix);

    /* Sort the LSTM's tensors into [layer][direction][parameter]. */
    for (k = 0; k < f.count; k++) {
        const char *name = f.tensors[k].name;
        if (strncmp(name, prefix, plen) == 0 && parse_param(name + plen, &kind, &layer, &rev) &&
            layer + 1 > L)
            L = layer + 1;
    }
    if (L == 0) {
        ld_set_error(err, errlen, "no nn.LSTM weights under prefix '%s'", prefix);
        goto done;
    }
    /* Every layer below L must have tensors: name the first one that has
     * none, and the tensor that asks for it. (Checked from the names present,
     * so that a stray large layer number allocates nothing.) */
    {
        size_t missing = first_missing_layer(&f, prefix, L);
        if (missing < L) {
            ld_set_error(err, errlen, "layer %zu has no tensors (missing '%sweight_ih_l%zu'), "
                         "but '%s' names layer %zu", missing, prefix, missing,
                         tensor_of_layer(&f, prefix, L - 1), L - 1);
            goto done;
        }
    }
    slots = calloc(L, sizeof *slots);
    if (!slots) {
        ld_set_error(err, errlen, "out of memory");
        rc = LD_ERR_RUNTIME;
        goto done;
    }
    for (k = 0; k < f.count; k++) {
        const char *name = f.tensors[k].name;
        if (strncmp(name, prefix, plen) != 0 || !parse_param(name + plen, &kind, &layer, &rev))
            continue;
        slots[layer][rev][kind] = &f.tensors[k];
        if (rev)
            D = 2;
    }
    has_bias = slots[0][0][P_BIH] != NULL;
    has_proj = slots[0][0][P_WHR] != NULL;
    for (layer = 0; layer < L; layer++) {
        for (d = 0; d < 2; d++) {
            for (kind = 0; kind < P_COUNT; kind++) {
                int want = d < D && (kind <= P_WHH || ((kind == P_BIH || kind == P_BHH) && has_bias) ||
                                     (kind == P_WHR && has_proj));
                const ld_st_tensor *t = slots[layer][d][kind];
                if (want && !t) {
                    ld_set_error(err, errlen, "missing tensor '%s%s_l%zu%s'", prefix,
                                 torch_param_names[kind], layer, d ? "_reverse" : "");
                    goto done;
                }
                if (!want && t) {
                    ld_set_error(err, errlen, "unexpected tensor '%s' (%s)", t->name,
                                 d >= D ? "no reverse direction elsewhere"
                                 : kind == P_WHR ? "projection only in some layers"
                                                 : "biases only in some layers");
                    goto done;
                }
            }
        }
    }
    /* Sizes from layer 0's shapes, then every shape checked against them. */
    {
        const ld_st_tensor *wih = slots[0][0][P_WIH], *whh = slots[0][0][P_WHH];
        /* GRU and vanilla RNN state_dicts use the same names; their
         * weight_hh_l0 is (3*H, H) or (H, H) where an LSTM's is (4*H, H). */
        if (!has_proj && whh->ndim == 2 && whh->dims[1] > 0 &&
            (whh->dims[0] == 3 * whh->dims[1] || whh->dims[0] == whh->dims[1])) {
            int gru = whh->dims[0] == 3 * whh->dims[1];
            ld_set_error(err, errlen, "not an LSTM: tensor '%s' has shape (%zu, %zu), %s "
                         "(an nn.LSTM's is (4*hidden_size, hidden_size)); lstmcl runs LSTMs only",
                         whh->name, whh->dims[0], whh->dims[1],
                         gru ? "a GRU's (3 gates)" : "a vanilla RNN's (no gates)");
            goto done;
        }
        if (wih->ndim != 2 || wih->dims[0] == 0 || wih->dims[0] % 4 != 0 || wih->dims[1] == 0) {
            ld_set_error(err, errlen, "tensor '%s' should have shape (4*hidden_size, input_size)",
                         wih->name);
            goto done;
        }
        H = wih->dims[0] / 4;
        I = wih->dims[1];
        if (has_proj) {
            const ld_st_tensor *whr = slots[0][0][P_WHR];
            if (whr->ndim != 2 || whr->dims[0] == 0 || whr->dims[0] >= H) {
                ld_set_error(err, errlen, "tensor '%s' should have shape (proj_size, %zu) with "
                             "0 < proj_size < %zu", whr->name, H, H);
                goto done;
            }
            P = whr->dims[0];
        }
    }
    Hout = P ? P : H;
    out->desc.input_size = I;
    out->desc.hidden_size = H;
    out->desc.proj_size = P;
    out->desc.num_layers = L;
    out->desc.direction = D == 2 ? LSTMCL_BIDIRECTIONAL : LSTMCL_FORWARD;
    out->desc.no_bias = !has_bias;
    out->convention = LSTMCL_CONVENTION_PYTORCH;
    if (ld_lstm_init(out, L) != LD_OK) {
        ld_set_error(err, errlen, "out of memory");
        rc = LD_ERR_RUNTIME;
        goto done;
    }
    for (layer = 0; layer < L; layer++) {
        size_t Iin = layer == 0 ? I : D * Hout;
        for (d = 0; d < D; d++) {
            for (kind = 0; kind < P_COUNT; kind++) {
                const ld_st_tensor *t = slots[layer][d][kind];
                lstmcl_layer_weights *w = &out->layers[layer];
                lstmcl_dtype dt = LSTMCL_DTYPE_F32;
                void *data = NULL;
                int ok;
                if (!t)
                    continue;
                switch (kind) {
                case P_WIH: ok = check_shape(t, 2, 4 * H, Iin, err, errlen); break;
                case P_WHH: ok = check_shape(t, 2, 4 * H, Hout, err, errlen); break;
                case P_WHR: ok = check_shape(t, 2, P, H, err, errlen); break;
                default: ok = check_shape(t, 1, 4 * H, 0, err, errlen); break;
                }
                if (!ok)
                    goto done;
                rc = ld_st_weights(t, &data, &dt, err, errlen);
                if (rc == LD_OK)
                    rc = ld_lstm_own(out, data);
                if (rc != LD_OK)
                    goto done;
                rc = LD_ERR_INPUT;
                switch (kind) {
                case P_WIH: ld_tensor_set(&w->input_weights[d], data, dt, 2, 4 * H, Iin, 0); break;
                case P_WHH:
                    ld_tensor_set(&w->recurrent_weights[d], data, dt, 2, 4 * H, Hout, 0);
                    break;
                case P_BIH: ld_tensor_set(&w->input_bias[d], data, dt, 1, 4 * H, 0, 0); break;
                case P_BHH: ld_tensor_set(&w->recurrent_bias[d], data, dt, 1, 4 * H, 0, 0); break;
                default: ld_tensor_set(&w->projection[d], data, dt, 2, P, H, 0); break;
                }
            }
        }
    }
    rc = LD_OK;
done:
    free(slots);
    free_list(prefixes, nprefix);
    ld_st_free(&f);
    if (rc != LD_OK)
        ld_lstm_free(out);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Files that users give as models but that are neither format, told apart
 * by their first bytes (NULL: none of these). */
static const char *sniff_other_format(const uint8_t *b, size_t len)
{
    if (len == 0)
        return "the file is empty";
    if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        return "a NumPy .npy array, not a model";
    /* torch.save: a zip archive since PyTorch 1.6, a pickle before (the
     * pickle protocol opcode 0x80, then the protocol number 2 to 5). */
    if (len >= 4 && memcmp(b, "PK\x03\x04", 4) == 0)
        return "a zip archive (a PyTorch torch.save checkpoint?), not a model";
    if (len >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
        return "a Python pickle (a PyTorch torch.save checkpoint?), not a model";
    return NULL;
}

int ld_model_file_parse(const uint8_t *buf, size_t len, const char *name,
                        lstmcl_file_format format, const char *prefix, const char *prefix_name,
                        ld_model_file *mf, char *err, size_t errlen)
{
    const char *what;
    int rc, onnx_name = name && ends_with(name, ".onnx");

    memset(mf, 0, sizeof *mf);
    if (errlen)
        err[0] = '\0';
    if (!prefix_name)
        prefix_name = "a prefix";
    what = sniff_other_format(buf, len);
    if (what) {
        ld_set_error(err, errlen, "%s; lstmcl reads an nn.LSTM state_dict saved as "
                     "safetensors (safetensors.torch.save_file) or an ONNX model", what);
        return LD_ERR_INPUT;
    }
    if (format == LSTMCL_FILE_AUTO)
        format = onnx_name || (!(name && ends_with(name, ".safetensors")) &&
                               !(len >= 9 && buf[8] == '{'))
                     ? LSTMCL_FILE_ONNX
                     : LSTMCL_FILE_SAFETENSORS;
    else
        onnx_name = 1; /* told: no guessing in the messages either */
    mf->format = format;
    if (format == LSTMCL_FILE_ONNX) {
        if (prefix) {
            ld_set_error(err, errlen, "%s applies to safetensors files only", prefix_name);
            rc = LD_ERR_INPUT;
        } else {
            rc = ld_onnx_parse(buf, len, &mf->onnx, err, errlen);
            /* A file named neither way that is not ONNX either: say what is
             * read rather than only how ONNX decoding failed. */
            if (rc == LD_ERR_INPUT && !onnx_name && errlen) {
                char why[256];
                snprintf(why, sizeof why, "%s", err);
                ld_set_error(err, errlen, "neither safetensors nor ONNX (as ONNX: %s); lstmcl "
                             "reads an nn.LSTM state_dict saved as safetensors or an ONNX "
                             "model", why);
            }
        }
    } else {
        rc = ld_torch_lstm_from_safetensors(buf, len, prefix, prefix_name, &mf->torch, err,
                                            errlen);
    }
    if (rc != LD_OK && errlen && !err[0])
        ld_set_error(err, errlen, "invalid model file");
    return rc;
}

void ld_model_file_free(ld_model_file *mf)
{
    if (!mf)
        return;
    ld_lstm_free(&mf->torch);
    ld_onnx_free(mf->onnx);
    mf->onnx = NULL;
}
