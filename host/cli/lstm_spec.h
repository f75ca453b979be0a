/* One LSTM as read from a model file: the description and weights that
 * lstmcl_model_create takes, with the weight arrays owned here. */
#ifndef LSTMCL_CLI_LSTM_SPEC_H
#define LSTMCL_CLI_LSTM_SPEC_H

#include <stddef.h>

#include "lstmcl.h"

typedef struct cli_lstm {
    char name[256];            /* state_dict prefix or ONNX node name */
    lstmcl_model_desc desc;
    lstmcl_convention convention;
    lstmcl_layer_weights *layers; /* desc.num_layers entries (owned) */
    float **owned;             /* weight arrays the tensors point into */
    size_t n_owned;
    size_t cap_owned;
} cli_lstm;

/* Allocates the layer array for desc.num_layers layers. */
int cli_lstm_init(cli_lstm *l, size_t num_layers);
/* Takes ownership of p (freed by cli_lstm_free; freed now on failure). */
int cli_lstm_own(cli_lstm *l, float *p);
void cli_lstm_free(cli_lstm *l);

/* Fills a tensor descriptor. */
void cli_tensor_set(lstmcl_tensor *t, const float *data, size_t ndim, size_t d0, size_t d1,
                    size_t d2);

/* Number of weight and bias values the LSTM holds, counted from its tensors. */
size_t cli_lstm_parameter_count(const cli_lstm *l);

#endif
