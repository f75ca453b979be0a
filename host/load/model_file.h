/* A model file of either format, parsed into the LSTMs it describes
 * (lstmcl_file_* in lstmcl.h is the public face of this file). */
#ifndef LSTMCL_LOAD_MODEL_FILE_H
#define LSTMCL_LOAD_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lstm_spec.h"
#include "lstmcl.h"
#include "onnx_model.h"

typedef struct ld_model_file {
    lstmcl_file_format format; /* SAFETENSORS or ONNX once parsed */
    ld_lstm torch;             /* safetensors: the nn.LSTM found */
    ld_onnx *onnx;             /* ONNX: the graph (owned) */
} ld_model_file;

/* Reads a PyTorch nn.LSTM state_dict out of a safetensors image. `prefix`
 * chooses among several LSTMs (NULL: the only one); prefix_name is how the
 * message that asks for one calls the setting. */
int ld_torch_lstm_from_safetensors(const uint8_t *buf, size_t len, const char *prefix,
                                   const char *prefix_name, ld_lstm *out, char *err,
                                   size_t errlen);

/* Parses a model file's image (not kept after the call). With
 * LSTMCL_FILE_AUTO the format is the one `name` ends with (.onnx,
 * .safetensors; name may be NULL), else the content's: a JSON header where
 * safetensors has it, otherwise ONNX. Files of other kinds (.npy arrays,
 * torch.save checkpoints, empty files) are named as such. Returns LD_OK,
 * or LD_ERR_INPUT / LD_ERR_RUNTIME with a message (not naming the file) in
 * err. */
int ld_model_file_parse(const uint8_t *buf, size_t len, const char *name,
                        lstmcl_file_format format, const char *prefix, const char *prefix_name,
                        ld_model_file *mf, char *err, size_t errlen);
void ld_model_file_free(ld_model_file *mf);

#endif
