"""Writes the C source of lstmcl's Python extension module (cffi, API mode).

    python ffi_build.py OUT.c

The declarations below are the part of include/lstmcl.h the package calls.
In API mode the generated C is compiled against lstmcl.h itself, so the
compiler checks every declaration here against the header (a field of the
wrong type or offset, an enum value that differs, fails the build), and
the "..." entries take their values and layouts from the header. cffi's
generated wrappers release the GIL around every call into the library.
"""
import sys

import cffi

CDEF = r"""
typedef int... cl_uint;
typedef int... cl_ulong;
typedef int... cl_device_type;

typedef enum lstmcl_status {
    LSTMCL_SUCCESS, LSTMCL_ERROR_INVALID_ARGUMENT, LSTMCL_ERROR_INVALID_SHAPE,
    LSTMCL_ERROR_OUT_OF_HOST_MEMORY, LSTMCL_ERROR_SIZE_OVERFLOW, LSTMCL_ERROR_NO_DEVICE,
    LSTMCL_ERROR_KERNEL_BUILD, LSTMCL_ERROR_UNSUPPORTED, LSTMCL_ERROR_KERNEL_SOURCE,
    LSTMCL_ERROR_OPENCL, LSTMCL_ERROR_CLBLAST, LSTMCL_ERROR_INVALID_CONFIG, ...
} lstmcl_status;

const char *lstmcl_version_string(void);
const char *lstmcl_status_string(lstmcl_status status);
const char *lstmcl_thread_last_error(void);

typedef struct lstmcl_device_info {
    size_t index;
    char name[256];
    char vendor[256];
    char platform[256];
    char device_version[256];
    char driver_version[256];
    char opencl_c_version[256];
    cl_device_type type;
    cl_uint compute_units;
    cl_ulong global_mem_bytes;
    cl_ulong local_mem_bytes;
    cl_ulong max_alloc_bytes;
    size_t max_work_group_size;
    int has_fp16;
    int has_fp64;
    ...;
} lstmcl_device_info;

#define CL_DEVICE_TYPE_CPU ...
#define CL_DEVICE_TYPE_GPU ...
#define CL_DEVICE_TYPE_ACCELERATOR ...

lstmcl_status lstmcl_device_count(size_t *count);
lstmcl_status lstmcl_device_get_info(size_t index, lstmcl_device_info *info);

typedef struct lstmcl_context lstmcl_context;
lstmcl_status lstmcl_context_create(const char *device_spec, lstmcl_context **ctx);
void lstmcl_context_destroy(lstmcl_context *ctx);
int lstmcl_context_is_reference(const lstmcl_context *ctx);
lstmcl_status lstmcl_context_device_info(const lstmcl_context *ctx, lstmcl_device_info *info);

typedef enum lstmcl_activation_kind { LSTMCL_ACT_DEFAULT, ... } lstmcl_activation_kind;
typedef struct lstmcl_activation {
    lstmcl_activation_kind kind;
    float alpha;
    float beta;
} lstmcl_activation;

typedef enum lstmcl_direction {
    LSTMCL_FORWARD, LSTMCL_REVERSE, LSTMCL_BIDIRECTIONAL, ...
} lstmcl_direction;

typedef struct lstmcl_model_desc {
    size_t input_size;
    size_t hidden_size;
    size_t proj_size;
    size_t num_layers;
    lstmcl_direction direction;
    int no_bias;
    int peephole;
    int input_forget;
    int has_clip;
    float clip;
    int clip_cell;
    lstmcl_activation activations[2][3];
    ...;
} lstmcl_model_desc;

typedef enum lstmcl_convention {
    LSTMCL_CONVENTION_PYTORCH, LSTMCL_CONVENTION_ONNX, LSTMCL_CONVENTION_KERAS, ...
} lstmcl_convention;

typedef enum lstmcl_dtype {
    LSTMCL_DTYPE_F32, LSTMCL_DTYPE_F16, LSTMCL_DTYPE_BF16, ...
} lstmcl_dtype;

typedef struct lstmcl_tensor {
    const void *data;
    size_t ndim;
    size_t dims[3];
    lstmcl_dtype dtype;
} lstmcl_tensor;

typedef struct lstmcl_layer_weights {
    lstmcl_tensor input_weights[2];
    lstmcl_tensor recurrent_weights[2];
    lstmcl_tensor input_bias[2];
    lstmcl_tensor recurrent_bias[2];
    lstmcl_tensor peephole[2];
    lstmcl_tensor projection[2];
} lstmcl_layer_weights;

typedef struct lstmcl_model lstmcl_model;

typedef enum lstmcl_algorithm { LSTMCL_ALGO_AUTO, LSTMCL_ALGO_UNSET, ... } lstmcl_algorithm;
const char *lstmcl_algorithm_name(lstmcl_algorithm algorithm);
lstmcl_status lstmcl_algorithm_from_name(const char *name, lstmcl_algorithm *algorithm);

typedef enum lstmcl_precision {
    LSTMCL_PRECISION_FP32, LSTMCL_PRECISION_FP16, LSTMCL_PRECISION_BF16, LSTMCL_PRECISION_INT8,
    LSTMCL_PRECISION_UNSET, ...
} lstmcl_precision;
const char *lstmcl_precision_name(lstmcl_precision precision);
lstmcl_status lstmcl_precision_from_name(const char *name, lstmcl_precision *precision);
double lstmcl_precision_reference_allowance(lstmcl_precision precision);

typedef struct lstmcl_model_options {
    size_t struct_size;
    lstmcl_algorithm algorithm;
    const char *cache_dir;
    const char *tuning_file;
    const char *kernel_dir;
    size_t persist_groups;
    size_t persist_spin_limit;
    lstmcl_precision precision;
    ...;
} lstmcl_model_options;
void lstmcl_model_options_init(lstmcl_model_options *options);

lstmcl_status lstmcl_model_create_with(lstmcl_context *ctx, const lstmcl_model_desc *desc,
                                       lstmcl_convention convention,
                                       const lstmcl_layer_weights *layers,
                                       const lstmcl_model_options *options,
                                       lstmcl_model **model);
void lstmcl_model_destroy(lstmcl_model *model);
lstmcl_status lstmcl_model_get_desc(const lstmcl_model *model, lstmcl_model_desc *desc);
const char *lstmcl_model_algorithm(const lstmcl_model *model, size_t batch);
size_t lstmcl_model_parameter_count(const lstmcl_model *model);
lstmcl_precision lstmcl_model_precision(const lstmcl_model *model);
size_t lstmcl_model_device_bytes(const lstmcl_model *model);

typedef struct lstmcl_forward_args {
    size_t seq_len;
    size_t batch;
    int batch_first;
    const float *x;
    const int32_t *seq_lens;
    const float *h0;
    const float *c0;
    float *y;
    float *hn;
    float *cn;
} lstmcl_forward_args;
lstmcl_status lstmcl_forward(lstmcl_model *model, const lstmcl_forward_args *args);
lstmcl_status lstmcl_forward_reference(const lstmcl_model *model,
                                       const lstmcl_forward_args *args);

typedef struct lstmcl_session lstmcl_session;
lstmcl_status lstmcl_session_create(lstmcl_model *model, size_t max_streams, size_t max_chunk,
                                    lstmcl_session **session);
void lstmcl_session_destroy(lstmcl_session *session);
lstmcl_status lstmcl_session_reset(lstmcl_session *session, const size_t *slots, size_t count,
                                   const float *h0, const float *c0);
lstmcl_status lstmcl_session_get_state(lstmcl_session *session, const size_t *slots,
                                       size_t count, float *h, float *c);
typedef struct lstmcl_session_run_args {
    size_t count;
    const size_t *slots;
    const size_t *steps;
    size_t seq_len;
    const float *x;
    float *y;
} lstmcl_session_run_args;
lstmcl_status lstmcl_session_run(lstmcl_session *session, const lstmcl_session_run_args *args);
const char *lstmcl_session_algorithm(const lstmcl_session *session);

typedef struct lstmcl_file lstmcl_file;
typedef enum lstmcl_file_format {
    LSTMCL_FILE_AUTO, LSTMCL_FILE_SAFETENSORS, LSTMCL_FILE_ONNX, ...
} lstmcl_file_format;
typedef struct lstmcl_file_options {
    size_t struct_size;
    lstmcl_file_format format;
    const char *prefix;
    const char *prefix_name;
    ...;
} lstmcl_file_options;
void lstmcl_file_options_init(lstmcl_file_options *options);
lstmcl_status lstmcl_file_open(const char *path, const lstmcl_file_options *options,
                               lstmcl_file **file);
lstmcl_status lstmcl_file_open_memory(const void *data, size_t size, const char *name,
                                      const lstmcl_file_options *options, lstmcl_file **file);
void lstmcl_file_destroy(lstmcl_file *file);
typedef struct lstmcl_file_info {
    lstmcl_file_format format;
    const char *name;
    size_t lstm_count;
    long long opset;
    const char *producer;
    size_t input_count;
    size_t output_count;
    ...;
} lstmcl_file_info;
lstmcl_status lstmcl_file_get_info(const lstmcl_file *file, lstmcl_file_info *info);
typedef struct lstmcl_file_lstm {
    const char *name;
    lstmcl_model_desc desc;
    lstmcl_convention convention;
    const lstmcl_layer_weights *layers;
    int layout;
    size_t parameter_count;
    ...;
} lstmcl_file_lstm;
lstmcl_status lstmcl_file_get_lstm(const lstmcl_file *file, size_t index,
                                   lstmcl_file_lstm *lstm);
lstmcl_status lstmcl_file_model_create(const lstmcl_file *file, size_t index,
                                       lstmcl_context *ctx, const lstmcl_model_options *options,
                                       lstmcl_model **model);

typedef enum lstmcl_graph_input_role {
    LSTMCL_GRAPH_X, LSTMCL_GRAPH_SEQ_LENS, LSTMCL_GRAPH_INITIAL_H, LSTMCL_GRAPH_INITIAL_C,
    LSTMCL_GRAPH_INPUT_COUNT, ...
} lstmcl_graph_input_role;
typedef enum lstmcl_graph_output_role {
    LSTMCL_GRAPH_Y, LSTMCL_GRAPH_Y_H, LSTMCL_GRAPH_Y_C, LSTMCL_GRAPH_OUTPUT_COUNT, ...
} lstmcl_graph_output_role;
typedef struct lstmcl_graph_port {
    const char *name;
    int role;
    int has_shape;
    size_t ndim;
    const int64_t *dims;
    ...;
} lstmcl_graph_port;
lstmcl_status lstmcl_file_graph_input(const lstmcl_file *file, size_t k, lstmcl_graph_port *port);
lstmcl_status lstmcl_file_graph_output(const lstmcl_file *file, size_t k,
                                       lstmcl_graph_port *port);
typedef struct lstmcl_array {
    const float *data;
    const int64_t *ints;
    size_t ndim;
    const size_t *dims;
} lstmcl_array;
typedef struct lstmcl_graph lstmcl_graph;
lstmcl_status lstmcl_graph_create(const lstmcl_file *file, lstmcl_model *const *models,
                                  size_t count, lstmcl_graph **graph);
void lstmcl_graph_destroy(lstmcl_graph *graph);
typedef struct lstmcl_graph_run_args {
    lstmcl_array inputs[4];
    const char *labels[4];
    int reference;
    lstmcl_status (*forward)(void *user, lstmcl_model *model, const lstmcl_forward_args *args);
    void *forward_user;
    ...;
} lstmcl_graph_run_args;
lstmcl_status lstmcl_graph_run(lstmcl_graph *graph, const lstmcl_graph_run_args *args);
lstmcl_status lstmcl_graph_output(const lstmcl_graph *graph, int role, lstmcl_array *out);
int lstmcl_graph_failed_input(const lstmcl_graph *graph);
"""


def builder() -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("lstmcl._lstmcl_cffi", '#include "lstmcl.h"\n')
    return ffi


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: ffi_build.py OUT.c")
    builder().emit_c_code(sys.argv[1])
