/* ONNX models of LSTMs: one LSTM node, or the graph torch.onnx.export writes
 * for an nn.LSTM (LSTM nodes chained through shape plumbing). The graph is
 * checked when parsed; running it interprets the plumbing on the host and
 * runs each LSTM node as a one-layer lstmcl model (lstmcl_graph_* in
 * lstmcl.h is the public face of this file). */
#ifndef LSTMCL_LOAD_ONNX_MODEL_H
#define LSTMCL_LOAD_ONNX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lstm_spec.h"
#include "lstmcl.h"

#define LD_MAX_DIMS 32

/* A host array of the interpreter: float32 or int64, C order. */
typedef struct ld_array {
    size_t ndim;
    size_t dims[LD_MAX_DIMS];
    size_t count;    /* product of dims (1 for a 0-d array) */
    int is_integer;  /* data in i, else in f */
    float *f;        /* count floats (owned, unless the table entry says not) */
    int64_t *i;      /* count int64s */
    /* Floating arrays decoded from a file: the first element that is NaN or
     * infinite as stored, or that float32 cannot hold (count when there is
     * none), and its value as stored. */
    size_t first_nonfinite;
    double nonfinite_value;
    /* Arrays decoded from FLOAT16 or BFLOAT16 tensors also keep their
     * values as stored: count uint16_t bit patterns in host order (owned
     * with f), of element type half_dtype (LSTMCL_DTYPE_F16 or _BF16), for
     * a model to take without rounding twice. NULL for other arrays; the
     * interpreter's operators read f only. */
    uint16_t *half;
    lstmcl_dtype half_dtype;
} ld_array;

void ld_array_free(ld_array *a);

typedef struct ld_onnx ld_onnx;

/* What a graph input or output is to the LSTMs (the values of
 * lstmcl_graph_input_role and lstmcl_graph_output_role). */
typedef enum onnx_in_role {
    ONNX_IN_X = LSTMCL_GRAPH_X,
    ONNX_IN_SEQ_LENS = LSTMCL_GRAPH_SEQ_LENS,
    ONNX_IN_H0 = LSTMCL_GRAPH_INITIAL_H,
    ONNX_IN_C0 = LSTMCL_GRAPH_INITIAL_C,
    ONNX_IN_COUNT = LSTMCL_GRAPH_INPUT_COUNT
} onnx_in_role;

typedef enum onnx_out_role {
    ONNX_OUT_Y = LSTMCL_GRAPH_Y,
    ONNX_OUT_YH = LSTMCL_GRAPH_Y_H,
    ONNX_OUT_YC = LSTMCL_GRAPH_Y_C,
    ONNX_OUT_COUNT = LSTMCL_GRAPH_OUTPUT_COUNT
} onnx_out_role;

/* Parses and checks a model image (not kept after the call). */
int ld_onnx_parse(const uint8_t *buf, size_t len, ld_onnx **out, char *err, size_t errlen);
void ld_onnx_free(ld_onnx *m);

/* The LSTM nodes in graph order, each a one-layer description. */
size_t ld_onnx_lstm_count(const ld_onnx *m);
const ld_lstm *ld_onnx_lstm(const ld_onnx *m, size_t k);
/* Attributes of LSTM node k not carried by lstmcl_model_desc. */
int ld_onnx_lstm_layout(const ld_onnx *m, size_t k);
int64_t ld_onnx_opset(const ld_onnx *m);
const char *ld_onnx_producer(const ld_onnx *m);

/* The graph input (output) with a role, or NULL when the graph has none. */
const char *ld_onnx_input_name(const ld_onnx *m, onnx_in_role role);
const char *ld_onnx_output_name(const ld_onnx *m, onnx_out_role role);

/* The graph's inputs (initializers left out) and outputs in graph order:
 * their count, and the role of the k-th. */
size_t ld_onnx_input_count(const ld_onnx *m);
onnx_in_role ld_onnx_input_role(const ld_onnx *m, size_t k);
size_t ld_onnx_output_count(const ld_onnx *m);
onnx_out_role ld_onnx_output_role(const ld_onnx *m, size_t k);

/* The shape the graph input of a role declares: its rank and sizes (-1
 * where not fixed); *dims NULL and *rank 0 when it declares none. */
void ld_onnx_input_shape(const ld_onnx *m, onnx_in_role role, size_t *rank,
                         const int64_t **dims);

/* How a run computes each LSTM node: lstmcl_forward_reference when
 * `reference`, else forward(forward_user, ...) when set, else
 * lstmcl_forward. labels[role] names the inputs in messages (NULL: "the
 * array for 'NAME'", NAME the graph input's). */
typedef struct ld_onnx_run_opts {
    int reference;
    lstmcl_status (*forward)(void *user, lstmcl_model *model, const lstmcl_forward_args *args);
    void *forward_user;
    const char *labels[ONNX_IN_COUNT];
} ld_onnx_run_opts;

/* Runs the graph. models[k] is the lstmcl model made from
 * ld_onnx_lstm(m, k). An input with neither f nor i set is not given (X is
 * required; the others default as ONNX says). Outputs are filled (owned by
 * the caller, ld_array_free) for the roles the graph has. Returns
 * LD_ERR_INPUT when the inputs do not fit the graph, its declared fixed
 * dimensions included (*bad_input: the role of the input at fault, or -1
 * when the model is: an X of another batch or length than a graph exported
 * without dynamic axes), LD_ERR_RUNTIME when out of memory or when lstmcl
 * fails. When an LSTM node's forward pass fails, *forward_status is its
 * status (LSTMCL_SUCCESS otherwise); the result is then LD_ERR_INPUT for
 * LSTMCL_ERROR_INVALID_SHAPE, _INVALID_ARGUMENT and _UNSUPPORTED, else
 * LD_ERR_RUNTIME. */
int ld_onnx_run(const ld_onnx *m, lstmcl_model *const *models, const ld_onnx_run_opts *opts,
                const ld_array inputs[ONNX_IN_COUNT], ld_array outputs[ONNX_OUT_COUNT],
                int *bad_input, lstmcl_status *forward_status, char *err, size_t errlen);

#endif
