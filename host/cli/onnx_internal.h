/* Internals shared by the ONNX model files: onnx_graph.c (arrays, value
 * tables, TensorProto and attribute access), onnx_model.c (parsing and
 * checking a model) and onnx_run.c (operators and the interpreter). */
#ifndef LSTMCL_CLI_ONNX_INTERNAL_H
#define LSTMCL_CLI_ONNX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_util.h"
#include "onnx_model.h"
#include "onnx_subset.pb-c.h"

typedef LstmclOnnx__ModelProto ModelProto;
typedef LstmclOnnx__GraphProto GraphProto;
typedef LstmclOnnx__NodeProto NodeProto;
typedef LstmclOnnx__TensorProto TensorProto;
typedef LstmclOnnx__AttributeProto AttributeProto;
typedef LstmclOnnx__ValueInfoProto ValueInfoProto;

/* Arrays the interpreter builds are capped so that a shape from a hostile
 * file cannot ask for an absurd allocation. */
#ifndef OX_MAX_ELEMENTS
#define OX_MAX_ELEMENTS ((size_t)1 << 28)
#endif
/* ... and so is their sum over one run of a graph. */
#define OX_MAX_TOTAL_ELEMENTS (4 * OX_MAX_ELEMENTS)

/* Bound on graph sizes (see onnx_model_parse). */
#define ONNX_MAX_NODES 4096

/* ONNX TensorProto.DataType values read here. */
enum {
    OX_FLOAT = 1, OX_UINT8 = 2, OX_INT8 = 3, OX_UINT16 = 4, OX_INT16 = 5, OX_INT32 = 6,
    OX_INT64 = 7, OX_BOOL = 9, OX_FLOAT16 = 10, OX_DOUBLE = 11, OX_UINT32 = 12, OX_BFLOAT16 = 16
};

/* ONNX AttributeProto.AttributeType values. */
enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_FLOATS = 6, AT_INTS = 7,
       AT_STRINGS = 8 };

/* LSTM input and output slots (operator LSTM, opsets 7-22). */
enum { LX = 0, LW, LR, LB, LSEQ, LH0, LC0, LP, L_INPUTS };

typedef enum ox_op {
    OP_LSTM, OP_CONSTANT, OP_IDENTITY, OP_CAST, OP_SHAPE, OP_GATHER, OP_UNSQUEEZE, OP_SQUEEZE,
    OP_CONCAT, OP_SLICE, OP_TRANSPOSE, OP_RESHAPE, OP_EXPAND, OP_CONSTANT_OF_SHAPE, OP_COUNT
} ox_op;

/* What an axis of a graph input is to the LSTM it feeds (error messages). */
typedef enum ox_axis {
    AX_UNKNOWN = 0, AX_SEQ, AX_BATCH, AX_INPUT, AX_DIRS, AX_HIDDEN
} ox_axis;

/* A named array: constants at parse time, every value at run time. */
typedef struct ox_value {
    const char *name; /* borrowed from the proto */
    npy_array a;
    int owned;        /* a's data is owned by this entry */
    int origin;       /* the onnx_in_role it derives from, or -1 */
} ox_value;

typedef struct ox_table {
    ox_value *v;
    size_t n, cap;
    size_t owned_elements; /* sum of the owned arrays' sizes */
} ox_table;

struct onnx_model {
    ModelProto *proto;
    int64_t opset;
    char producer[128];
    ox_table consts;
    ox_op *ops;              /* per node */
    size_t n_lstm;
    cli_lstm *lstms;
    size_t *lstm_node;       /* node index of LSTM k */
    int *layouts;
    const char *in_names[ONNX_IN_COUNT];
    const char *out_names[ONNX_OUT_COUNT];
    /* The graph inputs' declared shapes (ValueInfoProto.type): in_rank[r]
     * is -1 when undeclared; in_dims[r][k] is -1 where the dimension is
     * not fixed (a dim_param or nothing); in_axis[r][k] is an ox_axis. */
    int in_rank[ONNX_IN_COUNT];
    int64_t in_dims[ONNX_IN_COUNT][NPY_MAX_DIMS];
    unsigned char in_axis[ONNX_IN_COUNT][NPY_MAX_DIMS];
};

/* Writes "node 'NAME' (OP): message" into err[errlen]. */
#define NODE_ERR(n, ...)                                                                      \
    do {                                                                                      \
        char m_[512];                                                                         \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                 \
        cli_set_error(err, errlen, "node '%s' (%s): %s", ox_node_label(n),                    \
                      (n)->op_type ? (n)->op_type : "?", m_);                                 \
    } while (0)

ox_value *ox_table_find(const ox_table *t, const char *name);
int ox_table_add(ox_table *t, const char *name, npy_array *a, int owned, int origin);
void ox_table_free(ox_table *t);
int ox_arr_alloc(npy_array *a, int is_int, size_t ndim, const size_t *dims, char *err,
                 size_t errlen);
void ox_shape_text(const npy_array *a, char *buf, size_t len);
void ox_strided_copy(const npy_array *src, ptrdiff_t base, const ptrdiff_t *strides,
                     npy_array *dst);
void ox_c_strides(const npy_array *a, ptrdiff_t *s);
int ox_arr_copy(const npy_array *src, npy_array *dst, char *err, size_t errlen);
int ox_int_list(const npy_array *a, int64_t *out, size_t max, size_t *n, const char *what,
                char *err, size_t errlen);
/* Decodes a TensorProto. Floating tensors note their first element that is
 * not a finite float as stored (npy_array.first_nonfinite). */
int ox_tensor_from_proto(const TensorProto *t, npy_array *a, char *err, size_t errlen);
/* a->f[k] = v as float, noting v when it is the first non-finite one. */
void ox_set_float(npy_array *a, size_t k, double v);
/* The shape a graph input declares: 1 and *rank, dims (-1 where not
 * fixed), or 0 when it declares none (or more than max dimensions). */
int ox_declared_shape(const ValueInfoProto *v, int64_t *dims, size_t max, size_t *rank);
const AttributeProto *ox_attr_find(const NodeProto *n, const char *name);
int ox_attr_type(const AttributeProto *a);
const char *ox_node_label(const NodeProto *n);
int ox_attr_int(const NodeProto *n, const char *name, int64_t dflt, int64_t *out, char *err,
                size_t errlen);
int ox_attr_ints(const NodeProto *n, const char *name, const int64_t **v, size_t *count,
                 char *err, size_t errlen);
int ox_lstm_input(const NodeProto *n, size_t slot);
int ox_eval_constant(const NodeProto *n, npy_array *out, char *err, size_t errlen);

#endif
