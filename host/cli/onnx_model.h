/* ONNX models of LSTMs: one LSTM node, or the graph torch.onnx.export writes
 * for an nn.LSTM (LSTM nodes chained through shape plumbing). The graph is
 * checked when parsed; running it interprets the plumbing on the host and
 * runs each LSTM node as a one-layer lstmcl model. */
#ifndef LSTMCL_CLI_ONNX_MODEL_H
#define LSTMCL_CLI_ONNX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lstm_spec.h"
#include "lstmcl.h"
#include "npy.h"

typedef struct onnx_model onnx_model;

/* What a graph input or output is, in terms of the command's options. */
typedef enum onnx_in_role {
    ONNX_IN_X = 0,    /* --input */
    ONNX_IN_SEQ_LENS, /* --seq-lens */
    ONNX_IN_H0,       /* --h0 */
    ONNX_IN_C0,       /* --c0 */
    ONNX_IN_COUNT
} onnx_in_role;

typedef enum onnx_out_role {
    ONNX_OUT_Y = 0, /* --output */
    ONNX_OUT_YH,    /* --hn */
    ONNX_OUT_YC,    /* --cn */
    ONNX_OUT_COUNT
} onnx_out_role;

/* Parses and checks a model image (not kept after the call). */
int onnx_model_parse(const uint8_t *buf, size_t len, onnx_model **out, char *err, size_t errlen);
void onnx_model_free(onnx_model *m);

/* The LSTM nodes in graph order, each a one-layer description. */
size_t onnx_model_lstm_count(const onnx_model *m);
const cli_lstm *onnx_model_lstm(const onnx_model *m, size_t k);
/* Attributes of LSTM node k not carried by lstmcl_model_desc. */
int onnx_model_lstm_layout(const onnx_model *m, size_t k);
int64_t onnx_model_opset(const onnx_model *m);
const char *onnx_model_producer(const onnx_model *m);

/* The graph input (output) with a role, or NULL when the graph has none. */
const char *onnx_model_input_name(const onnx_model *m, onnx_in_role role);
const char *onnx_model_output_name(const onnx_model *m, onnx_out_role role);

/* Runs the graph. models[k] is the lstmcl model made from
 * onnx_model_lstm(m, k). inputs[role].count == 0 means not given (X is
 * required; the others default as ONNX says). Outputs are filled (owned by
 * the caller, npy_free) for the roles the graph has. reference: run the
 * LSTMs on the CPU reference path; else chunk > 0: feed each LSTM through
 * a session, chunk steps at a time (cli_chunked_forward). Returns CLI_ERR_INPUT when the inputs do
 * not fit the graph, its declared fixed dimensions included (*bad_input:
 * the role of the input at fault, or -1 when the model is: an X of another
 * batch or length than a graph exported without dynamic axes),
 * CLI_ERR_RUNTIME when lstmcl fails. */
int onnx_model_run(const onnx_model *m, lstmcl_model *const *models, int reference, size_t chunk,
                   const npy_array inputs[ONNX_IN_COUNT], npy_array outputs[ONNX_OUT_COUNT],
                   int *bad_input, char *err, size_t errlen);

#endif
