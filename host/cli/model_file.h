/* A model file of any supported format, read into the LSTMs it describes. */
#ifndef LSTMCL_CLI_MODEL_FILE_H
#define LSTMCL_CLI_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lstm_spec.h"
#include "onnx_model.h"

typedef enum model_format { MODEL_SAFETENSORS = 0, MODEL_ONNX = 1 } model_format;

typedef struct model_file {
    model_format format;
    cli_lstm torch;     /* MODEL_SAFETENSORS: the nn.LSTM found */
    onnx_model *onnx;   /* MODEL_ONNX: the graph (owned) */
} model_file;

/* Reads a PyTorch nn.LSTM state_dict out of a safetensors image. `prefix`
 * chooses among several LSTMs (NULL: the only one). */
int torch_lstm_from_safetensors(const uint8_t *buf, size_t len, const char *prefix,
                                cli_lstm *out, char *err, size_t errlen);

/* Loads `path`: *.safetensors or *.onnx (else the format is sniffed). */
int model_file_load(const char *path, const char *prefix, model_file *mf, char *err,
                    size_t errlen);
void model_file_free(model_file *mf);

#endif
