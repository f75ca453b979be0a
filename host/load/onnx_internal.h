/* Internals shared by the ONNX model files: onnx_graph.c (arrays, value
 * tables, TensorProto and attribute access), ld_onnx.c (parsing and
 * checking a model) and onnx_run.c (operators and the interpreter). */
#ifndef LSTMCL_LOAD_ONNX_INTERNAL_H
#define LSTMCL_LOAD_ONNX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "load_util.h"
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

/* Bound on graph sizes (see ld_onnx_parse). */
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

typedef enum ld_ox_op {
    OP_LSTM, OP_CONSTANT, OP_IDENTITY, OP_CAST, OP_SHAPE, OP_GATHER, OP_UNSQUEEZE, OP_SQUEEZE,
    OP_CONCAT, OP_SLICE, OP_TRANSPOSE, OP_RESHAPE, OP_EXPAND, OP_CONSTANT_OF_SHAPE, OP_COUNT
} ld_ox_op;

/* What an axis of a graph input is to the LSTM it feeds (error messages). */
typedef enum ld_ox_axis {
    AX_UNKNOWN = 0, AX_SEQ, AX_BATCH, AX_INPUT, AX_DIRS, AX_HIDDEN
} ld_ox_axis;

/* A named array: constants at parse time, every value at run time. */
typedef struct ld_ox_value {
    const char *name; /* borrowed from the proto */
    ld_array a;
    int owned;        /* a's data is owned by this entry */
    int origin;       /* the onnx_in_role it derives from, or -1 */
} ld_ox_value;

typedef struct ld_ox_table {
    ld_ox_value *v;
    size_t n, cap;
    size_t owned_elements; /* sum of the owned arrays' sizes */
} ld_ox_table;

struct ld_onnx {
    ModelProto *proto;
    int64_t opset;
    char producer[128];
    ld_ox_table consts;
    ld_ox_op *ops;              /* per node */
    size_t n_lstm;
    ld_lstm *lstms;
    size_t *lstm_node;       /* node index of LSTM k */
    int *layouts;
    const char *in_names[ONNX_IN_COUNT];
    const char *out_names[ONNX_OUT_COUNT];
    /* The roles of the graph inputs (initializers left out) and outputs, in
     * graph order. */
    size_t n_in, n_out;
    onnx_in_role in_order[ONNX_IN_COUNT];
    onnx_out_role out_order[ONNX_OUT_COUNT];
    /* The graph inputs' declared shapes (ValueInfoProto.type): in_rank[r]
     * is -1 when undeclared; in_dims[r][k] is -1 where the dimension is
     * not fixed (a dim_param or nothing); in_axis[r][k] is an ld_ox_axis. */
    int in_rank[ONNX_IN_COUNT];
    int64_t in_dims[ONNX_IN_COUNT][LD_MAX_DIMS];
    unsigned char in_axis[ONNX_IN_COUNT][LD_MAX_DIMS];
};

/* Writes "node 'NAME' (OP): message" into err[errlen]. */
#define NODE_ERR(n, ...)                                                                      \
    do {                                                                                      \
        char m_[512];                                                                         \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                 \
        ld_set_error(err, errlen, "node '%s' (%s): %s", ld_ox_node_label(n),                    \
                     (n)->op_type ? (n)->op_type : "?", m_);                                 \
    } while (0)

ld_ox_value *ld_ox_table_find(const ld_ox_table *t, const char *name);
int ld_ox_table_add(ld_ox_table *t, const char *name, ld_array *a, int owned, int origin);
void ld_ox_table_free(ld_ox_table *t);
int ld_ox_arr_alloc(ld_array *a, int is_int, size_t ndim, const size_t *dims, char *err,
                    size_t errlen);
void ld_ox_shape_text(const ld_array *a, char *buf, size_t len);
void ld_ox_strided_copy(const ld_array *src, ptrdiff_t base, const ptrdiff_t *strides,
                        ld_array *dst);
void ld_ox_c_strides(const ld_array *a, ptrdiff_t *s);
int ld_ox_arr_copy(const ld_array *src, ld_array *dst, char *err, size_t errlen);
int ld_ox_int_list(const ld_array *a, int64_t *out, size_t max, size_t *n, const char *what,
                   char *err, size_t errlen);
/* Decodes a TensorProto. Floating tensors note their first element that is
 * not a finite float as stored (ld_array.first_nonfinite). */
int ld_ox_tensor_from_proto(const TensorProto *t, ld_array *a, char *err, size_t errlen);
/* a->f[k] = v as float, noting v when it is the first non-finite one. */
void ld_ox_set_float(ld_array *a, size_t k, double v);
/* The shape a graph input declares: 1 and *rank, dims (-1 where not
 * fixed), or 0 when it declares none (or more than max dimensions). */
int ld_ox_declared_shape(const ValueInfoProto *v, int64_t *dims, size_t max, size_t *rank);
const AttributeProto *ld_ox_attr_find(const NodeProto *n, const char *name);
int ld_ox_attr_type(const AttributeProto *a);
const char *ld_ox_node_label(const NodeProto *n);
int ld_ox_attr_int(const NodeProto *n, const char *name, int64_t dflt, int64_t *out, char *err,
                   size_t errlen);
int ld_ox_attr_ints(const NodeProto *n, const char *name, const int64_t **v, size_t *count,
                    char *err, size_t errlen);
int ld_ox_lstm_input(const NodeProto *n, size_t slot);
int ld_ox_eval_constant(const NodeProto *n, ld_array *out, char *err, size_t errlen);

#endif
