/* One LSTM as read from a model file: the description and weights that
 * lstmcl_model_create takes, with the weight arrays owned here. Weights
 * stored as half or bfloat16 in the file are kept so (lstmcl_tensor's
 * dtype), the others as float. */
#ifndef LSTMCL_LOAD_LSTM_SPEC_H
#define LSTMCL_LOAD_LSTM_SPEC_H

#include <stddef.h>

#include "lstmcl.h"

typedef struct ld_lstm {
    char name[256];            /* state_dict prefix or ONNX node name */
    lstmcl_model_desc desc;
    lstmcl_convention convention;
    lstmcl_layer_weights *layers; /* desc.num_layers entries (owned) */
    void **owned;              /* weight arrays the tensors point into */
    size_t n_owned;
    size_t cap_owned;
} ld_lstm;

/* Allocates the layer array for desc.num_layers layers. */
int ld_lstm_init(ld_lstm *l, size_t num_layers);
/* Takes ownership of p (freed by ld_lstm_free; freed now on failure). */
int ld_lstm_own(ld_lstm *l, void *p);
void ld_lstm_free(ld_lstm *l);

/* Fills a tensor descriptor: data holds elements of type dtype. */
void ld_tensor_set(lstmcl_tensor *t, const void *data, lstmcl_dtype dtype, size_t ndim,
                   size_t d0, size_t d1, size_t d2);

/* Number of weight and bias values the LSTM holds, counted from its tensors. */
size_t ld_lstm_parameter_count(const ld_lstm *l);

#endif
