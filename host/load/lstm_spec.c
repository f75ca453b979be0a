#include "lstm_spec.h"

#include <stdlib.h>
#include <string.h>

#include "load_util.h"

int ld_lstm_init(ld_lstm *l, size_t num_layers)
{
    l->layers = calloc(num_layers ? num_layers : 1, sizeof *l->layers);
    return l->layers ? LD_OK : LD_ERR_RUNTIME;
}

int ld_lstm_own(ld_lstm *l, void *p)
{
    if (l->n_owned == l->cap_owned) {
        size_t cap = l->cap_owned ? 2 * l->cap_owned : 16;
        void **n = realloc(l->owned, cap * sizeof *n);
        if (!n) {
            free(p);
            return LD_ERR_RUNTIME;
        }
        l->owned = n;
        l->cap_owned = cap;
    }
    l->owned[l->n_owned++] = p;
    return LD_OK;
}

void ld_lstm_free(ld_lstm *l)
{
    size_t k;
    if (!l)
        return;
    for (k = 0; k < l->n_owned; k++)
        free(l->owned[k]);
    free(l->owned);
    free(l->layers);
    l->owned = NULL;
    l->layers = NULL;
    l->n_owned = l->cap_owned = 0;
}

void ld_tensor_set(lstmcl_tensor *t, const void *data, lstmcl_dtype dtype, size_t ndim,
                   size_t d0, size_t d1, size_t d2)
{
    t->data = data;
    t->dtype = dtype;
    t->ndim = ndim;
    t->dims[0] = d0;
    t->dims[1] = d1;
    t->dims[2] = d2;
}

static size_t tensor_count(const lstmcl_tensor *t)
{
    size_t n = 1, k;
    if (!t->data)
        return 0;
    for (k = 0; k < t->ndim; k++)
        n *= t->dims[k];
    return n;
}

size_t ld_lstm_parameter_count(const ld_lstm *l)
{
    size_t n = 0, k, d;
    for (k = 0; k < l->desc.num_layers; k++) {
        const lstmcl_layer_weights *w = &l->layers[k];
        for (d = 0; d < 2; d++)
            n += tensor_count(&w->input_weights[d]) + tensor_count(&w->recurrent_weights[d]) +
                 tensor_count(&w->input_bias[d]) + tensor_count(&w->recurrent_bias[d]) +
                 tensor_count(&w->peephole[d]) + tensor_count(&w->projection[d]);
    }
    return n;
}
