/*
 * lstmcl — LSTM inference on any OpenCL device, with a CPU reference path.
 *
 * The one public header. Read it as the manual.
 *
 * Objects
 *   lstmcl_context  an execution target: one OpenCL device (its context and
 *                   in-order queue) or the CPU reference path.
 *   lstmcl_model    an LSTM description plus its weights, converted once to
 *                   the internal layout and (on a device) uploaded. Kernel
 *                   programs are built when the model is created; a forward
 *                   call only enqueues work.
 *
 * Ownership
 *   Every object created by lstmcl_*_create is owned by the caller and freed
 *   with the matching lstmcl_*_destroy; passing NULL to a destroy function is
 *   allowed and does nothing. A model borrows its context: destroy every model
 *   of a context before the context. Pointers passed into a call (weights,
 *   inputs) are only read during that call and stay owned by the caller;
 *   nothing keeps them afterwards. Strings returned by the library are owned by
 *   the library (lifetimes stated per function).
 *
 * Errors
 *   Every function that can fail returns lstmcl_status. LSTMCL_SUCCESS is 0;
 *   OpenCL errors are passed through with OpenCL's own negative value (a raw
 *   cl_int), CLBlast errors likewise; lstmcl's own errors are positive. On any
 *   failure, a message naming the parameter or the OpenCL call, its code and,
 *   for a kernel build failure, the build log is kept as the context's last
 *   error and as this thread's last error. The library never prints, never
 *   exits and never aborts, and releases everything it allocated on every
 *   error path.
 *
 *   Who is at fault is part of the status: LSTMCL_ERROR_INVALID_ARGUMENT,
 *   _INVALID_SHAPE and _SIZE_OVERFLOW blame what the caller passed (a
 *   description, weights, arrays); LSTMCL_ERROR_INVALID_CONFIG blames a
 *   setting read from the environment (LSTMCL_DEVICE, LSTMCL_ALGO,
 *   LSTMCL_PERSIST_GROUPS), and its message names the variable and quotes
 *   its value.
 *
 * Threads
 *   Distinct contexts may be used from distinct threads at once. One context,
 *   and the models created on it, must be used by one thread at a time,
 *   except for sessions: distinct sessions of one model (lstmcl_session_*)
 *   may run from distinct threads at once, each on its own queue, while the
 *   model is not being created, destroyed or given a new session. One
 *   session is used by one thread at a time.
 */
#ifndef LSTMCL_H
#define LSTMCL_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols the shared library exports. */
#if defined(LSTMCL_BUILDING) && defined(__GNUC__)
#define LSTMCL_API __attribute__((visibility("default")))
#else
#define LSTMCL_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

#define LSTMCL_VERSION_MAJOR 0
#define LSTMCL_VERSION_MINOR 1
#define LSTMCL_VERSION_PATCH 0
#define LSTMCL_VERSION_NUMBER \
    (LSTMCL_VERSION_MAJOR * 10000 + LSTMCL_VERSION_MINOR * 100 + LSTMCL_VERSION_PATCH)

/* The version the library was built as (LSTMCL_VERSION_NUMBER's formula), and
 * as a string "MAJOR.MINOR.PATCH" (static storage). */
LSTMCL_API unsigned lstmcl_version_number(void);
LSTMCL_API const char *lstmcl_version_string(void);

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

/* lstmcl's own codes: positive, stable, never renumbered. Negative values are
 * OpenCL's (-1 .. -72) or CLBlast's (-1000 and below) codes passed through. */
#define LSTMCL_STATUS_TABLE(X)                                                   \
    X(LSTMCL_SUCCESS, 0, "success")                                              \
    X(LSTMCL_ERROR_INVALID_ARGUMENT, 1, "invalid argument")                      \
    X(LSTMCL_ERROR_INVALID_SHAPE, 2, "array of the wrong shape")                 \
    X(LSTMCL_ERROR_OUT_OF_HOST_MEMORY, 3, "out of host memory")                  \
    X(LSTMCL_ERROR_SIZE_OVERFLOW, 4, "sizes overflow")                           \
    X(LSTMCL_ERROR_NO_DEVICE, 5, "no matching OpenCL device")                    \
    X(LSTMCL_ERROR_KERNEL_BUILD, 6, "kernel build failed")                       \
    X(LSTMCL_ERROR_UNSUPPORTED, 7, "not supported by this context")             \
    X(LSTMCL_ERROR_KERNEL_SOURCE, 8, "kernel source not found")                  \
    X(LSTMCL_ERROR_OPENCL, 9, "OpenCL error")                                    \
    X(LSTMCL_ERROR_CLBLAST, 10, "CLBlast error")                                \
    X(LSTMCL_ERROR_INVALID_CONFIG, 11,                                           \
      "invalid configuration (an option or the environment variable that sets its default)")

typedef enum lstmcl_status {
#define LSTMCL_X_ENUM(name, value, text) name = value,
    LSTMCL_STATUS_TABLE(LSTMCL_X_ENUM)
#undef LSTMCL_X_ENUM
    /* Keeps the enum wide enough for pass-through OpenCL/CLBlast codes. */
    LSTMCL_STATUS_FORCE_INT_ = -0x7fffffff
} lstmcl_status;

/* A short description of any status, lstmcl's, OpenCL's or CLBlast's.
 * Static storage; never NULL. */
LSTMCL_API const char *lstmcl_status_string(lstmcl_status status);

/* The message of the last failing lstmcl call made by this thread, or "" if
 * none failed yet. Valid until this thread's next lstmcl call. */
LSTMCL_API const char *lstmcl_thread_last_error(void);

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

/* Devices are numbered 0.. across all OpenCL platforms in platform order. */
typedef struct lstmcl_device_info {
    size_t index;
    char name[256];
    char vendor[256];
    char platform[256];
    char device_version[256];   /* CL_DEVICE_VERSION */
    char driver_version[256];   /* CL_DRIVER_VERSION */
    char opencl_c_version[256]; /* CL_DEVICE_OPENCL_C_VERSION */
    cl_device_type type;
    cl_uint compute_units;
    cl_ulong global_mem_bytes;
    cl_ulong local_mem_bytes;
    cl_ulong max_alloc_bytes;
    size_t max_work_group_size;
    int has_fp16; /* cl_khr_fp16 */
    int has_fp64; /* cl_khr_fp64 or a double FP config */
} lstmcl_device_info;

/* Number of OpenCL devices on all platforms. 0 (and LSTMCL_SUCCESS) when no
 * OpenCL platform is installed. */
LSTMCL_API lstmcl_status lstmcl_device_count(size_t *count);

/* Fills *info (caller-owned) for device `index`. */
LSTMCL_API lstmcl_status lstmcl_device_get_info(size_t index, lstmcl_device_info *info);

/* ------------------------------------------------------------------------ */
/* Contexts                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct lstmcl_context lstmcl_context;

/* Name of the environment variable read when a device spec is NULL or "". */
#define LSTMCL_DEVICE_ENV "LSTMCL_DEVICE"

/* Opens a context.
 * device_spec:
 *   NULL or ""      the value of $LSTMCL_DEVICE if set, else the first GPU,
 *                   else the first device;
 *   "cpu" or "reference"
 *                   the CPU reference path (no OpenCL needed);
 *   "N" (digits)    device number N as in lstmcl_device_get_info;
 *   anything else   the first device whose name contains the text
 *                   (case-insensitive).
 * The queue is created with CL_QUEUE_PROFILING_ENABLE, so that events
 * (lstmcl_forward_cl's *done) carry device timestamps, when
 * LSTMCL_QUEUE_PROFILING=1 is in the environment (lstmcl_context_create_with
 * sets it per context instead).
 * On success *ctx is a new context owned by the caller; on failure *ctx is
 * NULL and lstmcl_thread_last_error() says why:
 *   LSTMCL_ERROR_NO_DEVICE       no OpenCL device at all (no platform
 *                                installed, or none with a device; the
 *                                message says no OpenCL device was found),
 *                                or a device_spec that matches no device;
 *   LSTMCL_ERROR_INVALID_CONFIG  a $LSTMCL_DEVICE (used when device_spec
 *                                is NULL or "") that matches no device; the
 *                                message quotes it: LSTMCL_DEVICE="..." */
LSTMCL_API lstmcl_status lstmcl_context_create(const char *device_spec, lstmcl_context **ctx);

/* Settings of one context (lstmcl_context_create_with); fill with
 * lstmcl_context_options_init, then change what you need. */
typedef struct lstmcl_context_options {
    size_t struct_size; /* sizeof(lstmcl_context_options), as for models */
    /* 1: a profiling queue; 0: not; -1 (unset): $LSTMCL_QUEUE_PROFILING=1. */
    int queue_profiling;
} lstmcl_context_options;

/* Sets struct_size and every field to unset. */
LSTMCL_API void lstmcl_context_options_init(lstmcl_context_options *options);

/* lstmcl_context_create with settings (NULL: all unset). */
LSTMCL_API lstmcl_status lstmcl_context_create_with(const char *device_spec,
                                                    const lstmcl_context_options *options,
                                                    lstmcl_context **ctx);

/* A context on the caller's own OpenCL objects, so that lstmcl runs inside
 * an application that already has them (a pipeline with other OpenCL
 * stages). `device` must belong to `cl_ctx`, and `queue` must be a queue of
 * that context and device.
 * The queue must be in-order: lstmcl relies on its commands running in the
 * order it enqueues them, after whatever the caller enqueued before. An
 * out-of-order queue is refused (LSTMCL_ERROR_INVALID_ARGUMENT); create an
 * in-order one for lstmcl on the same context, and order the two with
 * events or clFinish.
 * Ownership: lstmcl retains the three objects here and releases them in
 * lstmcl_context_destroy; the caller keeps its own references and may
 * release them at any time.
 * Waiting: lstmcl_forward (host arrays) and lstmcl_forward_cl when the
 * persistent kernel runs wait for the queue to finish, so they also wait for
 * work the caller enqueued before the call; lstmcl_context_destroy does the
 * same (clFinish). A persistent pass whose work-groups cannot run at once
 * holds the queue only until its bounded wait gives up (the spin limit,
 * lstmcl_model_options), then is redone with the fused step: the caller's
 * later commands wait for no more than those two passes. Destroying such a
 * context empties CLBlast's program cache (the gemm path's), which would
 * otherwise keep a reference to the caller's context.
 * Queue profiling is the queue's own (the caller chose it). */
LSTMCL_API lstmcl_status lstmcl_context_create_from_cl(cl_context cl_ctx, cl_device_id device,
                                                       cl_command_queue queue,
                                                       lstmcl_context **ctx);

/* Destroys a context (NULL is fine). Its models must be destroyed first. */
LSTMCL_API void lstmcl_context_destroy(lstmcl_context *ctx);

/* 1 when the context runs the CPU reference path, 0 on an OpenCL device. */
LSTMCL_API int lstmcl_context_is_reference(const lstmcl_context *ctx);

/* The context's device description (not available on the reference path:
 * LSTMCL_ERROR_UNSUPPORTED). *info is caller-owned. */
LSTMCL_API lstmcl_status lstmcl_context_device_info(const lstmcl_context *ctx, lstmcl_device_info *info);

/* The OpenCL objects behind a device context, so that a caller can create
 * buffers for lstmcl_forward_cl and wait on the queue. They stay owned by
 * the context: do not release them (retain them to keep them longer). Any
 * out-pointer may be NULL. The queue is in-order. */
LSTMCL_API lstmcl_status lstmcl_context_cl_objects(const lstmcl_context *ctx, cl_context *cl_ctx,
                                        cl_device_id *device, cl_command_queue *queue);

/* The message of the last failure on this context, or "". Owned by the
 * context; valid until its next call. */
LSTMCL_API const char *lstmcl_context_last_error(const lstmcl_context *ctx);

/* ------------------------------------------------------------------------ */
/* Model description                                                         */
/* ------------------------------------------------------------------------ */

/* The ONNX LSTM activation functions. LSTMCL_ACT_DEFAULT selects, per slot,
 * the standard one: Sigmoid for f (gates), Tanh for g (cell candidate) and
 * Tanh for h (output). alpha/beta mean what ONNX's operator of that name
 * means; functions that take none ignore them. lstmcl_activation_defaults
 * gives ONNX's default alpha/beta per function. */
#define LSTMCL_ACTIVATION_TABLE(X)                     \
    X(LSTMCL_ACT_DEFAULT, 0, "Default")                \
    X(LSTMCL_ACT_SIGMOID, 1, "Sigmoid")                \
    X(LSTMCL_ACT_TANH, 2, "Tanh")                      \
    X(LSTMCL_ACT_RELU, 3, "Relu")                      \
    X(LSTMCL_ACT_HARD_SIGMOID, 4, "HardSigmoid")       \
    X(LSTMCL_ACT_LEAKY_RELU, 5, "LeakyRelu")           \
    X(LSTMCL_ACT_THRESHOLDED_RELU, 6, "ThresholdedRelu") \
    X(LSTMCL_ACT_SCALED_TANH, 7, "ScaledTanh")         \
    X(LSTMCL_ACT_AFFINE, 8, "Affine")                  \
    X(LSTMCL_ACT_ELU, 9, "Elu")                        \
    X(LSTMCL_ACT_SOFTSIGN, 10, "Softsign")             \
    X(LSTMCL_ACT_SOFTPLUS, 11, "Softplus")

typedef enum lstmcl_activation_kind {
#define LSTMCL_X_ENUM(name, value, text) name = value,
    LSTMCL_ACTIVATION_TABLE(LSTMCL_X_ENUM)
#undef LSTMCL_X_ENUM
    LSTMCL_ACT_COUNT_
} lstmcl_activation_kind;

typedef struct lstmcl_activation {
    lstmcl_activation_kind kind;
    float alpha;
    float beta;
} lstmcl_activation;

/* ONNX name of an activation ("Sigmoid", ...; static storage), or NULL for an
 * unknown kind. */
LSTMCL_API const char *lstmcl_activation_name(lstmcl_activation_kind kind);

/* Looks an ONNX activation name up (case-insensitive). */
LSTMCL_API lstmcl_status lstmcl_activation_from_name(const char *name, lstmcl_activation_kind *kind);

/* ONNX's default alpha and beta for a function (0 where it takes none). */
LSTMCL_API lstmcl_status lstmcl_activation_defaults(lstmcl_activation_kind kind, float *alpha, float *beta);

typedef enum lstmcl_direction {
    LSTMCL_FORWARD = 0,       /* one direction, t = 0 .. T-1 */
    LSTMCL_REVERSE = 1,       /* one direction, t = len-1 .. 0 (ONNX "reverse") */
    LSTMCL_BIDIRECTIONAL = 2  /* both; outputs concatenated forward then reverse */
} lstmcl_direction;

/* Activation slots, in ONNX's order f, g, h. */
enum { LSTMCL_SLOT_F = 0, LSTMCL_SLOT_G = 1, LSTMCL_SLOT_H = 2 };

/* What a model is. Zero-initialise, then set the sizes: every other field's
 * zero is the plain PyTorch LSTM (forward, no projection, no peepholes, no
 * clip, standard activations, biases present).
 *
 * Sizes: I = input_size, H = hidden_size, P = proj_size, Hout = P if P > 0
 * else H, D = 2 for bidirectional else 1, L = num_layers. Layer 0 reads
 * input of width I, layer k > 0 reads the previous layer's output, of width
 * D*Hout. */
typedef struct lstmcl_model_desc {
    size_t input_size;   /* I > 0 */
    size_t hidden_size;  /* H > 0 */
    size_t proj_size;    /* 0, or 0 < P < H (PyTorch proj_size) */
    size_t num_layers;   /* L > 0 */
    lstmcl_direction direction;
    int no_bias;         /* 1: the model has no biases (weights omit them) */
    int peephole;        /* 1: ONNX peepholes (weights carry P) */
    int input_forget;    /* 1: ONNX input_forget, f = 1 - i */
    int has_clip;        /* 1: ONNX clip with threshold `clip` > 0: every gate's
                            pre-activation (after bias and peepholes) is
                            clipped to [-clip, clip] */
    float clip;
    int clip_cell;       /* with clip: 0 (default) h() sees the unclipped cell,
                            as onnxruntime computes; 1: h() sees the cell
                            clipped to [-clip, clip] (the ONNX operator text,
                            "applied to the input of activations"). The state
                            carried to the next step is never clipped. */
    /* activations[d][slot]: direction d (0 forward / the only one, 1 reverse
     * of a bidirectional model), slot LSTMCL_SLOT_F/G/H. */
    lstmcl_activation activations[2][3];
} lstmcl_model_desc;

/* ------------------------------------------------------------------------ */
/* Weights                                                                   */
/* ------------------------------------------------------------------------ */

/* The convention weights are given in. Gate order and array orientation:
 *
 * PYTORCH  gates i, f, g, o (nn.LSTM).
 *   input_weights[d]     weight_ih_l{k}[_reverse]   (4H, Iin)
 *   recurrent_weights[d] weight_hh_l{k}[_reverse]   (4H, Hout)
 *   input_bias[d]        bias_ih_l{k}[_reverse]     (4H)
 *   recurrent_bias[d]    bias_hh_l{k}[_reverse]     (4H)
 *   projection[d]        weight_hr_l{k}[_reverse]   (P, H)
 *
 * ONNX     gates i, o, f, c (operator LSTM), one direction's slice each:
 *   input_weights[d]     W[d]   (4H, Iin)  (a leading 1 is accepted)
 *   recurrent_weights[d] R[d]   (4H, Hout)
 *   input_bias[d]        B[d]   (8H): Wb then Rb; recurrent_bias unused
 *   projection[d]        (P, H) (no ONNX field; as PyTorch)
 *
 * KERAS    gates i, f, c, o (keras.layers.LSTM), transposed:
 *   input_weights[d]     kernel            (Iin, 4H)
 *   recurrent_weights[d] recurrent_kernel  (Hout, 4H)
 *   input_bias[d]        bias              (4H); recurrent_bias unused
 *   projection[d]        (P, H) (no Keras field; as PyTorch)
 *
 * In every convention:
 *   peephole[d]          ONNX P[d] (3H), in ONNX's order i, o, f
 *
 * d is 0 for a one-direction model (forward or reverse) and 0 (forward),
 * 1 (reverse) for a bidirectional one. Iin is I for layer 0 and D*Hout for
 * the layers above. Tensors the model does not use must be left empty
 * (data NULL); tensors it uses must have exactly the shapes above. */
typedef enum lstmcl_convention {
    LSTMCL_CONVENTION_PYTORCH = 0,
    LSTMCL_CONVENTION_ONNX = 1,
    LSTMCL_CONVENTION_KERAS = 2
} lstmcl_convention;

/* Element types of a weight tensor. A checkpoint's half or bfloat16
 * weights can be handed over as they are: every value of these types is
 * exactly a float, so a model of any precision rounds each weight once,
 * from its exact value, to what it stores. Values are stable. */
typedef enum lstmcl_dtype {
    LSTMCL_DTYPE_F32 = 0,  /* float */
    LSTMCL_DTYPE_F16 = 1,  /* IEEE 754 binary16, as uint16_t bits in host order */
    LSTMCL_DTYPE_BF16 = 2  /* bfloat16 (a float's upper 16 bits), uint16_t bits */
} lstmcl_dtype;

/* A borrowed, dense, row-major array of weights. A zero-initialised tensor
 * is an absent one, and `dtype`'s zero is float. */
typedef struct lstmcl_tensor {
    const void *data; /* NULL: absent; elements of type `dtype` */
    size_t ndim;      /* 1 .. 3 */
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

/* ------------------------------------------------------------------------ */
/* Models                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct lstmcl_model lstmcl_model;

/* How the recurrent part of a step runs on a device (see
 * lstmcl_model_algorithm). One table gives every value its name: the names
 * are what LSTMCL_ALGO, the tuning file, lstmcl-tune, lstmcl-bench --algo
 * and the command take. Values are stable. */
#define LSTMCL_ALGORITHM_TABLE(X)                                                \
    X(LSTMCL_ALGO_AUTO, 0, "auto")             /* chosen by device and shape */ \
    X(LSTMCL_ALGO_GEMM, 1, "gemm")             /* CLBlast SGEMM + cell kernel */\
    X(LSTMCL_ALGO_FUSED, 2, "fused")           /* fused step, layout by type */ \
    X(LSTMCL_ALGO_FUSED_ROWS, 3, "fused-rows") /* each unit's rows together */  \
    X(LSTMCL_ALGO_FUSED_COLS, 4, "fused-cols") /* transposed (coalesced) */     \
    X(LSTMCL_ALGO_PERSISTENT, 5, "persistent") /* one launch per layer */       \
    X(LSTMCL_ALGO_PERSISTENT_ROWS, 6, "persistent-rows")                         \
    X(LSTMCL_ALGO_PERSISTENT_COLS, 7, "persistent-cols")

typedef enum lstmcl_algorithm {
#define LSTMCL_X_ALGO(name, value, text) name = value,
    LSTMCL_ALGORITHM_TABLE(LSTMCL_X_ALGO)
#undef LSTMCL_X_ALGO
    LSTMCL_ALGO_UNSET = -1 /* in lstmcl_model_options: $LSTMCL_ALGO, else auto */
} lstmcl_algorithm;

/* The name of an algorithm ("auto", "fused-rows", ...); static storage; NULL
 * for a value outside the table. */
LSTMCL_API const char *lstmcl_algorithm_name(lstmcl_algorithm algorithm);
/* The algorithm of a name; LSTMCL_ERROR_INVALID_ARGUMENT (message listing
 * the names) when there is none. */
LSTMCL_API lstmcl_status lstmcl_algorithm_from_name(const char *name,
                                                    lstmcl_algorithm *algorithm);

/* How a model stores its weights on the device (lstmcl_model_options).
 * Arithmetic and accumulation are float in every precision, the cell state
 * c stays float, and the caller's arrays and buffers are float in every
 * API. One table gives every value its name (what lstmcl run --precision,
 * lstmcl-bench --precision and the tuning file take). Values are stable.
 *   fp32  float weights (the default).
 *   fp16  input, recurrent and projection weights stored as IEEE half; the
 *         hidden state h and the outputs y, between steps and layers, are
 *         rounded to half (round to nearest even) where they are stored.
 *   bf16  the same with bfloat16.
 *   int8  input, recurrent and projection weights stored as int8 with one
 *         float scale per output row (symmetric: scale = max |w| / 127 of
 *         the row, 1 for a row of zeros), dequantized in registers; h, y
 *         and c stay float.
 * Biases and peepholes stay float. Runs on any OpenCL 1.2 device (half
 * values are read with vload_half, which needs no cl_khr_fp16). The gemm
 * algorithm (CLBlast's SGEMM) runs fp32 only: forcing it with another
 * precision is LSTMCL_ERROR_UNSUPPORTED, and the automatic choice never
 * picks it then.
 * Accuracy contract against the same model in fp32, per output (y, hn,
 * cn): max |difference| / max(max |fp32 output|, 1) is at most 1e-2 for
 * fp16, 3e-2 for bf16 and 5e-2 for int8, for weights scaled as trained
 * models' are (README, "Precision"). lstmcl_forward_reference on a model
 * computes with the weights as the model stores them and rounds h and y
 * the same way, so a device result is checked against it as tightly as in
 * fp32. */
#define LSTMCL_PRECISION_TABLE(X)                  \
    X(LSTMCL_PRECISION_FP32, 0, "fp32")            \
    X(LSTMCL_PRECISION_FP16, 1, "fp16")            \
    X(LSTMCL_PRECISION_BF16, 2, "bf16")            \
    X(LSTMCL_PRECISION_INT8, 3, "int8")

typedef enum lstmcl_precision {
#define LSTMCL_X_PRECISION(name, value, text) name = value,
    LSTMCL_PRECISION_TABLE(LSTMCL_X_PRECISION)
#undef LSTMCL_X_PRECISION
    LSTMCL_PRECISION_UNSET = -1 /* in lstmcl_model_options: fp32 */
} lstmcl_precision;

/* The name of a precision ("fp32", ...); static storage; NULL for a value
 * outside the table. */
LSTMCL_API const char *lstmcl_precision_name(lstmcl_precision precision);
/* The precision of a name; LSTMCL_ERROR_INVALID_ARGUMENT (message listing
 * the names) when there is none. */
LSTMCL_API lstmcl_status lstmcl_precision_from_name(const char *name,
                                                    lstmcl_precision *precision);

/* What a comparison of a device result with lstmcl_forward_reference on the
 * same model must allow on top of float32 summation order, relative to
 * max(|reference value|, 1): where h is stored in half or bfloat16, a gate
 * sum near a rounding boundary may round to one neighbour on the device and
 * to the other on the reference, and the difference passes on to later
 * steps. 4 units in the last place of h's stored type: 4 * 2^-11 for fp16,
 * 4 * 2^-8 for bf16; 0 for fp32 and int8 (h stays float) and for a value
 * outside the table. The library's device tests, lstmcl run --validate
 * and lstmcl-bench add this. */
LSTMCL_API double lstmcl_precision_reference_allowance(lstmcl_precision precision);

/* Settings of one model, given at its creation (lstmcl_model_create_with).
 * Fill it with lstmcl_model_options_init, then change what you need: every
 * field starts "unset", and an unset field takes its default from the
 * environment variable named beside it, read once when the model is
 * created, else the built-in default. A setting given here never reads the
 * environment, so models of one process can differ, and threads need not
 * touch the environment. A value given here that is invalid is
 * LSTMCL_ERROR_INVALID_ARGUMENT; an invalid environment value is
 * LSTMCL_ERROR_INVALID_CONFIG. The reference context uses none of them.
 * Strings are read during lstmcl_model_create_with only. */
typedef struct lstmcl_model_options {
    /* sizeof(lstmcl_model_options) as the caller was compiled: later
     * versions append fields, and read only those this size covers. */
    size_t struct_size;
    /* LSTMCL_ALGO_UNSET: $LSTMCL_ALGO, else LSTMCL_ALGO_AUTO. A forced
     * algorithm this device cannot run for the model is refused. */
    lstmcl_algorithm algorithm;
    /* The program cache directory. NULL: $LSTMCL_CACHE_DIR, else
     * $XDG_CACHE_HOME/lstmcl, else ~/.cache/lstmcl; "" or "off": no cache. */
    const char *cache_dir;
    /* The tuning file (lstmcl_tuning_file). NULL: $LSTMCL_TUNING_FILE, else
     * tuning.txt in the cache directory; "": none. */
    const char *tuning_file;
    /* Read kernel sources from this directory instead of the copies built
     * into the library (developing kernels). NULL: $LSTMCL_KERNEL_DIR, else
     * the built-in copies; "": the built-in copies. */
    const char *kernel_dir;
    /* The persistent kernel's work-group count, 1 to 4096. 0: unset:
     * $LSTMCL_PERSIST_GROUPS, else one per compute unit. More groups than
     * run at once make its barrier give up (for testing the fallback). */
    size_t persist_groups;
    /* Polls of the persistent kernel's device-wide barrier before a
     * work-group gives up, 1 to 2^30. 0: unset: on CPU devices 2^18 (some
     * milliseconds) when the kernel runs by the automatic choice and 2^25
     * when it is forced; 2^22 elsewhere. A pass that gives up runs again on
     * the fused step, and the model then leaves the persistent kernel off
     * for 2 passes, doubling while it keeps giving up, up to 256; forced,
     * it stays off after 9 give-ups in a row. */
    size_t persist_spin_limit;
    /* How the weights are stored (lstmcl_precision). LSTMCL_PRECISION_UNSET:
     * fp32. No environment variable sets it: a precision changes results,
     * so only the caller chooses one. Unlike the fields above, the
     * reference context honours it too (lstmcl_forward_reference then
     * computes what a device computes). */
    lstmcl_precision precision;
} lstmcl_model_options;

/* Sets struct_size and every field to unset. */
LSTMCL_API void lstmcl_model_options_init(lstmcl_model_options *options);

/* Validates `desc`, converts `layers[0 .. desc->num_layers-1]` from
 * `convention` to the internal layout, uploads it (on a device) and builds the
 * kernels. `desc` and `layers` are read during the call only. On success
 * *model is a new model owned by the caller; on failure it is NULL.
 * Every value of every tensor given must be finite: a NaN or an infinity
 * would turn every output into NaN, so it is refused with
 * LSTMCL_ERROR_INVALID_ARGUMENT and a message naming the layer, the
 * direction, the tensor (by the convention's name, as in the table above)
 * and the element's index in it, e.g.
 *   "layer 1 direction 1: PyTorch weight_hh element 5 (row 2, column 1) is NaN".
 * The same holds after rounding to the model's precision: under fp16 an
 * input, recurrent or projection weight beyond half's range (|w| >= 65520
 * rounds to infinity; 65504 is the largest half) is refused the same way
 * ("... overflows fp16").
 * On a device context the settings' defaults are read from the environment
 * (lstmcl_model_options): an invalid LSTMCL_ALGO or LSTMCL_PERSIST_GROUPS,
 * or an LSTMCL_ALGO that forces a step this device cannot run for this
 * model, gives LSTMCL_ERROR_INVALID_CONFIG. The reference context reads
 * none. */
LSTMCL_API lstmcl_status lstmcl_model_create(lstmcl_context *ctx, const lstmcl_model_desc *desc,
                                  lstmcl_convention convention,
                                  const lstmcl_layer_weights *layers, lstmcl_model **model);

/* lstmcl_model_create with settings (NULL: all unset, the same as
 * lstmcl_model_create). `options` is read during the call only. */
LSTMCL_API lstmcl_status lstmcl_model_create_with(lstmcl_context *ctx,
                                                  const lstmcl_model_desc *desc,
                                                  lstmcl_convention convention,
                                                  const lstmcl_layer_weights *layers,
                                                  const lstmcl_model_options *options,
                                                  lstmcl_model **model);

/* Destroys a model (NULL is fine), releasing its device buffers. */
LSTMCL_API void lstmcl_model_destroy(lstmcl_model *model);

/* The model's description, with LSTMCL_ACT_DEFAULT slots resolved. */
LSTMCL_API lstmcl_status lstmcl_model_get_desc(const lstmcl_model *model, lstmcl_model_desc *desc);

/* The algorithm a forward pass of `batch` sequences runs: "reference" on
 * the CPU reference context; on a device "gemm" (a CLBlast SGEMM per step
 * and direction, then the elementwise kernel), "fused-rows" or "fused-cols"
 * (one kernel per step; weight layouts for CPUs and GPUs) or "persistent"
 * (one kernel per layer whose work-groups, no more than the device's
 * compute units, meet at a device-wide barrier between steps). Chosen by
 * device and shape, or by the tuning file; the option `algorithm` (default
 * $LSTMCL_ALGO) forces one, and `persist_groups` (default
 * $LSTMCL_PERSIST_GROUPS) sets the persistent kernel's work-group count
 * (lstmcl_model_options). On CPU devices the automatic choice between the
 * fused step and the persistent kernel is measured while the model runs
 * (timing its passes, per batch size, and trying the other one now and
 * then), so this answer may change from one pass to the next; it names what
 * runs between those trials ("persistent" before any pass). When the
 * persistent kernel's work-groups turn out not to run at once (the device
 * is shared, or runs fewer groups at a time than it reports), its bounded
 * wait gives up, the pass is run again with the fused step, and the model
 * leaves the persistent kernel off for the next passes (2, doubling while
 * it keeps giving up, up to 256; forced, for good after 9 give-ups in a
 * row); this function then says so. Static
 * storage; NULL for a NULL model. */
LSTMCL_API const char *lstmcl_model_algorithm(const lstmcl_model *model, size_t batch);

/* 1 when the model's kernels were loaded from the program cache on disk
 * rather than compiled (the option `cache_dir`), 0 otherwise. A cache that
 * cannot be used (no directory, a damaged or foreign entry, an entry that
 * is not a regular file) is skipped quietly and without blocking. */
LSTMCL_API int lstmcl_model_program_cached(const lstmcl_model *model);

/* The tuning file that models created now without options would read
 * (written by lstmcl-tune): $LSTMCL_TUNING_FILE, else tuning.txt in the
 * program cache directory (the options `tuning_file` and `cache_dir` choose
 * another per model). It is read when a model is created on a device,
 * unless an algorithm is forced. A tuning file that is missing,
 * unreadable, not a regular file (a FIFO, a device, a directory: it is
 * opened without blocking and never read) or not in lstmcl-tune's format
 * is ignored quietly, as are its lines for other devices or drivers: the
 * built-in rules then choose. The file only ever picks among algorithms
 * that compute the same result, so ignoring it costs speed, not
 * correctness. Copies the path, NUL-terminated, into buf (caller-owned, `size`
 * bytes); LSTMCL_ERROR_UNSUPPORTED when there is none (the variable set to
 * "", or the cache off), LSTMCL_ERROR_INVALID_ARGUMENT when it does not fit. */
LSTMCL_API lstmcl_status lstmcl_tuning_file(char *buf, size_t size);

/* Number of weight and bias values the model holds. */
LSTMCL_API size_t lstmcl_model_parameter_count(const lstmcl_model *model);

/* The model's precision (lstmcl_model_options); fp32 for a NULL model. */
LSTMCL_API lstmcl_precision lstmcl_model_precision(const lstmcl_model *model);

/* Bytes of device memory the model's weights take (every copy uploaded:
 * the arranged copies of the fused and persistent kernels, the plain ones
 * of the gemm algorithm where it may run, scales, biases); 0 on the
 * reference context and for a NULL model. Buffers of a forward pass's
 * shape come on top (they depend on T and N, and are kept for reuse). */
LSTMCL_API size_t lstmcl_model_device_bytes(const lstmcl_model *model);

/* ------------------------------------------------------------------------ */
/* Forward pass                                                              */
/* ------------------------------------------------------------------------ */

/* Shapes (T = seq_len, N = batch):
 *   x     (T, N, I), or (N, T, I) when batch_first
 *   y     (T, N, D*Hout), or (N, T, D*Hout) when batch_first;
 *         direction d's output is columns d*Hout .. (d+1)*Hout-1.
 *         Steps past a sequence's length are 0.
 *   h0,hn (L*D, N, Hout), c0,cn (L*D, N, H); row l*D + d is layer l,
 *         direction d. hn/cn are the states after each sequence's last
 *         valid step. Never affected by batch_first.
 *   seq_lens (N) int32, each in 1..T; NULL means every sequence has T steps.
 *         The device path skips work past the lengths: the input
 *         projection of steps past a sequence's length, and the recurrent
 *         products of a group of sequences that have all ended (groups of
 *         up to 4 consecutive ones, shrinking from the end). Lengths in
 *         decreasing order (longest first) therefore cost least; any order
 *         gives the same results.
 * h0/c0 NULL: zeros. y/hn/cn NULL: not written. */
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

/* Runs the model on host arrays (caller-owned, read or written during the
 * call only). Returns when the outputs are written. On a device context the
 * buffers for a shape are allocated on first use and reused by later calls of
 * the same or a smaller shape. */
LSTMCL_API lstmcl_status lstmcl_forward(lstmcl_model *model, const lstmcl_forward_args *args);

/* The same forward pass on the CPU reference path, whatever the model's
 * context: the result a device run is checked against. */
LSTMCL_API lstmcl_status lstmcl_forward_reference(const lstmcl_model *model,
                                       const lstmcl_forward_args *args);

/* Device buffers, all created by the caller in the context's cl_context
 * (lstmcl_context_cl_objects), dense, offset 0, with the shapes and types of
 * lstmcl_forward_args (floats; seq_lens int32). NULL cl_mem as NULL above. */
typedef struct lstmcl_forward_cl_args {
    size_t seq_len;
    size_t batch;
    int batch_first;
    cl_mem x;
    cl_mem seq_lens;
    cl_mem h0;
    cl_mem c0;
    cl_mem y;
    cl_mem hn;
    cl_mem cn;
} lstmcl_forward_cl_args;

/* Enqueues the forward pass on the context's queue reading and writing the
 * caller's buffers without copies through the host, and returns without
 * waiting. The outputs are ready when the queue has finished (clFinish) or
 * when *done (if not NULL) completes; *done is then a new event owned by the
 * caller (clReleaseEvent). The buffers stay owned by the caller and must stay
 * alive until the work has finished. seq_lens values are checked on the
 * device side only by clamping, so pass lengths in 1..T. When the model
 * runs the persistent kernel (lstmcl_model_algorithm), the call waits for
 * the queue to finish before it returns, to know whether the pass must be
 * run again with the fused step. Device contexts only. */
LSTMCL_API lstmcl_status lstmcl_forward_cl(lstmcl_model *model, const lstmcl_forward_cl_args *args,
                                cl_event *done);

/* ------------------------------------------------------------------------ */
/* Sessions: many live streams on one model                                  */
/* ------------------------------------------------------------------------ */

/* A session serves up to `max_streams` live streams of one model (slots 0 ..
 * max_streams-1), each delivering chunks of up to `max_chunk` steps. Each
 * slot keeps its stream's h and c for every layer on the device (on the
 * host on the reference context) from call to call: a stream fed in chunks
 * gives the outputs of one whole-sequence forward. A run takes any subset
 * of slots in any order, each with its own chunk length.
 *
 * Sessions of one model share its weights and programs; each owns its
 * state, workspace, kernel objects and an in-order queue of its own on the
 * model's OpenCL context, so that distinct sessions run from distinct
 * threads at once (see Threads above). Created with every slot's state zero.
 *
 * The algorithm is chosen once, when the session is created, as the model
 * would choose it for a batch of max_streams (the model's options and
 * tuning file included), and kept for every run whatever the number of
 * streams in it, so that a stream's latency does not jump when others join
 * or leave. One exception: on CPU devices a session takes the fused step
 * where the model would take the persistent kernel (unless forced), since
 * between a session's calls the runtime's threads go idle and the
 * persistent kernel's device-wide barrier then waits for them at every
 * step (measured: lstmcl-bench --suite stream). If the persistent kernel gives up inside a run (its work-groups
 * did not run at once), the run is redone with the fused step from the
 * slots' state as it was before the call, and the session keeps the fused
 * step.
 *
 * Only forward models: the reverse direction of a stream needs its future,
 * so bidirectional and reverse models are refused
 * (LSTMCL_ERROR_UNSUPPORTED). The session borrows the model: destroy every
 * session of a model before the model. */
typedef struct lstmcl_session lstmcl_session;

LSTMCL_API lstmcl_status lstmcl_session_create(lstmcl_model *model, size_t max_streams,
                                               size_t max_chunk, lstmcl_session **session);

/* Destroys a session (NULL is fine), waiting for its queue first. */
LSTMCL_API void lstmcl_session_destroy(lstmcl_session *session);

/* Sets the state of slots[0 .. count-1] (distinct, each < max_streams):
 * from h0 (L, count, Hout) and c0 (L, count, H), in the order of `slots`,
 * or to zero where h0 or c0 is NULL. */
LSTMCL_API lstmcl_status lstmcl_session_reset(lstmcl_session *session, const size_t *slots,
                                              size_t count, const float *h0, const float *c0);

/* Reads the state of slots[0 .. count-1] into h (L, count, Hout) and c
 * (L, count, H) (either may be NULL). */
LSTMCL_API lstmcl_status lstmcl_session_get_state(lstmcl_session *session, const size_t *slots,
                                                  size_t count, float *h, float *c);

/* One call: `count` streams (1 .. max_streams), slots[k] (distinct; a
 * repeated slot is LSTMCL_ERROR_INVALID_ARGUMENT) with steps[k] new steps
 * (1 .. seq_len; NULL: every stream seq_len). x holds (seq_len, count, I),
 * stream k in column k, time-major; y (if not NULL) gets (seq_len, count,
 * Hout), zero past a stream's steps. seq_len is 1 .. max_chunk. */
typedef struct lstmcl_session_run_args {
    size_t count;
    const size_t *slots;
    const size_t *steps;
    size_t seq_len;
    const float *x;
    float *y;
} lstmcl_session_run_args;

/* Runs the chunk and returns when y is written and the slots' states are
 * updated. On failure the slots keep their state from before the call. */
LSTMCL_API lstmcl_status lstmcl_session_run(lstmcl_session *session,
                                            const lstmcl_session_run_args *args);

/* The same with the caller's buffers (of the model's OpenCL context):
 * x (seq_len, count, I) and y (seq_len, count, Hout, may be NULL). slots and
 * steps are host arrays, read during the call. Enqueued on the session's
 * queue (lstmcl_session_queue) without waiting, unless the persistent
 * kernel runs (as lstmcl_forward_cl); *done as in lstmcl_forward_cl. Device
 * contexts only. */
typedef struct lstmcl_session_run_cl_args {
    size_t count;
    const size_t *slots;
    const size_t *steps;
    size_t seq_len;
    cl_mem x;
    cl_mem y;
} lstmcl_session_run_cl_args;

LSTMCL_API lstmcl_status lstmcl_session_run_cl(lstmcl_session *session,
                                               const lstmcl_session_run_cl_args *args,
                                               cl_event *done);

/* The session's own queue (owned by the session; NULL on the reference
 * context), to order the caller's work with lstmcl_session_run_cl. */
LSTMCL_API cl_command_queue lstmcl_session_queue(const lstmcl_session *session);

/* The algorithm the session's runs use (as lstmcl_model_algorithm); static
 * storage. */
LSTMCL_API const char *lstmcl_session_algorithm(const lstmcl_session *session);

/* The message of the session's last failure, or "". */
LSTMCL_API const char *lstmcl_session_last_error(const lstmcl_session *session);

/* ------------------------------------------------------------------------ */
/* Model files: safetensors and ONNX                                         */
/* ------------------------------------------------------------------------ */

/* lstmcl reads two kinds of model file, with the code the lstmcl command
 * and the Python package use:
 *
 *   safetensors  a PyTorch nn.LSTM state_dict (safetensors.torch.save_file):
 *                weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k},
 *                weight_hr_l{k}, "_reverse" for the backward direction,
 *                possibly under a prefix such as "encoder.rnn.". Layers,
 *                directions, sizes, biases and projection are read from the
 *                shapes; F32 and F64 tensors become float, F16 and BF16
 *                ones are kept as stored (lstmcl_tensor's dtype), so that
 *                a model rounds each weight once, from its exact value. The
 *                file gives one LSTM in the PyTorch convention.
 *   ONNX         opsets 7 to 22: a graph of one LSTM node with any of its
 *                attributes, or the graph torch.onnx.export writes for an
 *                nn.LSTM of any number of layers and directions (LSTM nodes
 *                joined by Constant, Shape, Gather, Unsqueeze, Squeeze,
 *                Concat, Slice, Transpose, Reshape, Expand, ConstantOfShape,
 *                Identity and Cast). Each LSTM node gives one one-layer LSTM
 *                in the ONNX convention (W, R, B and P must be initializers
 *                or Constants); the whole graph runs as a lstmcl_graph,
 *                with the graph's own input and output shapes.
 *
 * Opening a file reads and checks all of it, and keeps the LSTMs' weights
 * (FLOAT16 and BFLOAT16 as stored, other types converted to float) and,
 * for ONNX, the graph. Every weight must be
 * finite. A file that cannot be read, or that is not one of the above, is
 * LSTMCL_ERROR_INVALID_ARGUMENT; the message starts with the file's name
 * and names the tensor, node or field at fault, e.g.
 *   "lstm.onnx: node 'lstm' (LSTM): R has shape (1, 28, 6), expected (1, 28, 7)"
 *   "model.safetensors: tensor 'rnn.weight_hh_l0': element 7 is NaN"
 * Running out of memory is LSTMCL_ERROR_OUT_OF_HOST_MEMORY. There is no
 * context yet: the messages are this thread's (lstmcl_thread_last_error).
 *
 * Ownership: a file is created by lstmcl_file_open* and owned by the
 * caller (lstmcl_file_destroy). Everything it hands out (names, weights,
 * declared shapes) is owned by the file and valid until it is destroyed.
 * Models created from a file copy their weights and do not need the file;
 * a graph borrows its file and its models: destroy graphs first.
 *
 * Threads: an open file is only read: any number of threads may use one at
 * once. A graph is used by one thread at a time, and its run uses its
 * models, so their contexts' rule applies (see Threads above). */
typedef struct lstmcl_file lstmcl_file;

typedef enum lstmcl_file_format {
    LSTMCL_FILE_AUTO = 0,        /* by the name's ending (.safetensors, .onnx),
                                    else by the content */
    LSTMCL_FILE_SAFETENSORS = 1, /* a PyTorch nn.LSTM state_dict */
    LSTMCL_FILE_ONNX = 2         /* an ONNX model */
} lstmcl_file_format;

/* How to open a file (lstmcl_file_options_init, then change what you
 * need). Strings are read during the open call only. */
typedef struct lstmcl_file_options {
    size_t struct_size;        /* sizeof(lstmcl_file_options), as for models */
    lstmcl_file_format format; /* LSTMCL_FILE_AUTO */
    /* safetensors: the state_dict prefix of the LSTM to read, such as
     * "encoder.rnn.", when the file holds several ("" reads names without
     * a prefix). NULL: the file's only LSTM. Must be NULL for ONNX. */
    const char *prefix;
    /* How messages call the prefix setting ("choose one with ..."); NULL:
     * "lstmcl_file_options.prefix". The lstmcl command says "--prefix". */
    const char *prefix_name;
} lstmcl_file_options;

/* Sets struct_size, format AUTO, and the strings NULL. */
LSTMCL_API void lstmcl_file_options_init(lstmcl_file_options *options);

/* Reads and checks the file at `path` (options NULL: all defaults). On
 * success *file is a new file owned by the caller; on failure it is NULL. */
LSTMCL_API lstmcl_status lstmcl_file_open(const char *path, const lstmcl_file_options *options,
                                          lstmcl_file **file);

/* The same for a file's bytes in memory (read during the call only).
 * `name` is what messages call it and, with LSTMCL_FILE_AUTO, whose ending
 * tells the format (NULL: "<memory>", the format then from the content). */
LSTMCL_API lstmcl_status lstmcl_file_open_memory(const void *data, size_t size, const char *name,
                                                 const lstmcl_file_options *options,
                                                 lstmcl_file **file);

/* Destroys a file (NULL is fine). */
LSTMCL_API void lstmcl_file_destroy(lstmcl_file *file);

/* What a file holds. Strings are owned by the file. */
typedef struct lstmcl_file_info {
    lstmcl_file_format format;  /* SAFETENSORS or ONNX */
    const char *name;           /* the path or name it was opened as */
    size_t lstm_count;          /* safetensors: 1; ONNX: its LSTM nodes */
    long long opset;            /* ONNX: the default domain's opset; else 0 */
    const char *producer;       /* ONNX: producer_name ("pytorch", ...); else "" */
    size_t input_count;         /* ONNX: graph inputs (initializers left out),
                                   output_count: graph outputs; else 0 */
    size_t output_count;
} lstmcl_file_info;

LSTMCL_API lstmcl_status lstmcl_file_get_info(const lstmcl_file *file, lstmcl_file_info *info);

/* One LSTM of a file (index < lstm_count; ONNX LSTM nodes in graph order):
 * the description and weights lstmcl_model_create takes. Everything
 * pointed to is owned by the file. */
typedef struct lstmcl_file_lstm {
    const char *name;              /* safetensors: the state_dict prefix ("" for
                                      none); ONNX: the node's name (its first
                                      output's when it has none) */
    lstmcl_model_desc desc;
    lstmcl_convention convention;  /* PYTORCH (safetensors) or ONNX */
    const lstmcl_layer_weights *layers; /* desc.num_layers entries */
    int layout;                    /* ONNX attribute layout: 1 when the node's
                                      X and Y are batch-major; else 0 */
    size_t parameter_count;        /* weight and bias values */
} lstmcl_file_lstm;

LSTMCL_API lstmcl_status lstmcl_file_get_lstm(const lstmcl_file *file, size_t index,
                                              lstmcl_file_lstm *lstm);

/* lstmcl_model_create_with(ctx, desc, convention, layers, options, model)
 * for LSTM `index` of the file; status and message are that function's.
 * A safetensors file's model takes PyTorch's arrays (lstmcl_forward with
 * batch_first as the caller's data is laid out); an ONNX node's model is
 * one layer of the graph, which lstmcl_graph_run feeds as the node says. */
LSTMCL_API lstmcl_status lstmcl_file_model_create(const lstmcl_file *file, size_t index,
                                                  lstmcl_context *ctx,
                                                  const lstmcl_model_options *options,
                                                  lstmcl_model **model);

/* ONNX graphs ------------------------------------------------------------ */

/* The part each graph input plays for the LSTMs (the one it feeds, through
 * any plumbing): torch.onnx.export's inputs, or a single node's X,
 * sequence_lens, initial_h and initial_c. */
typedef enum lstmcl_graph_input_role {
    LSTMCL_GRAPH_X = 0,         /* the input sequence: float */
    LSTMCL_GRAPH_SEQ_LENS = 1,  /* sequence_lens: integers, each in 1..T */
    LSTMCL_GRAPH_INITIAL_H = 2, /* initial hidden states: float */
    LSTMCL_GRAPH_INITIAL_C = 3, /* initial cell states: float */
    LSTMCL_GRAPH_INPUT_COUNT = 4
} lstmcl_graph_input_role;

/* The LSTM output each graph output comes from. */
typedef enum lstmcl_graph_output_role {
    LSTMCL_GRAPH_Y = 0,   /* every step's hidden state */
    LSTMCL_GRAPH_Y_H = 1, /* the final hidden state */
    LSTMCL_GRAPH_Y_C = 2, /* the final cell state */
    LSTMCL_GRAPH_OUTPUT_COUNT = 3
} lstmcl_graph_output_role;

/* A graph input or output as the file declares it (owned by the file). */
typedef struct lstmcl_graph_port {
    const char *name;
    int role;            /* lstmcl_graph_input_role or _output_role */
    int has_shape;       /* inputs: 1 when the graph declares a shape */
    size_t ndim;         /* with has_shape: its rank, and */
    const int64_t *dims; /* its sizes, -1 where not fixed (a dynamic axis) */
} lstmcl_graph_port;

/* Graph input (output) k, k < input_count (output_count), in the graph's
 * order. LSTMCL_ERROR_UNSUPPORTED for a safetensors file. */
LSTMCL_API lstmcl_status lstmcl_file_graph_input(const lstmcl_file *file, size_t k,
                                                 lstmcl_graph_port *port);
LSTMCL_API lstmcl_status lstmcl_file_graph_output(const lstmcl_file *file, size_t k,
                                                  lstmcl_graph_port *port);

/* A dense, C-order host array of dims[0] x ... x dims[ndim-1] elements (ndim
 * 0: one element): float32 in `data` or int64 in `ints`, the other NULL.
 * Borrowed: the caller's for inputs, the graph's for outputs. */
typedef struct lstmcl_array {
    const float *data;
    const int64_t *ints;
    size_t ndim;
    const size_t *dims;
} lstmcl_array;

/* An ONNX file's graph bound to a model per LSTM node: models[k] created
 * from LSTM k of the file (lstmcl_file_model_create; any contexts, any
 * options), count == lstm_count. The graph borrows the file and the
 * models. LSTMCL_ERROR_INVALID_ARGUMENT when a model does not fit its node
 * (the message names both), LSTMCL_ERROR_UNSUPPORTED for a safetensors
 * file (its model runs on its own). */
typedef struct lstmcl_graph lstmcl_graph;

LSTMCL_API lstmcl_status lstmcl_graph_create(const lstmcl_file *file, lstmcl_model *const *models,
                                             size_t count, lstmcl_graph **graph);

/* Destroys a graph and its outputs (NULL is fine); not the file or models. */
LSTMCL_API void lstmcl_graph_destroy(lstmcl_graph *graph);

/* What a run is given. inputs[role]: the array for the graph input playing
 * that role (float for X and the states, ints for the lengths); neither
 * pointer set: not given. X is required; the others, when the graph has
 * them, default as ONNX says (zero states, full lengths). The graph
 * refuses what its declared shapes fix otherwise (a torch.onnx.export run
 * without dynamic_axes fixes the batch and the sequence length). */
typedef struct lstmcl_graph_run_args {
    lstmcl_array inputs[LSTMCL_GRAPH_INPUT_COUNT];
    /* How messages name each input (the lstmcl command: "--input",
     * "--seq-lens", "--h0", "--c0"). NULL: "the array for 'NAME'", NAME the
     * graph input's. */
    const char *labels[LSTMCL_GRAPH_INPUT_COUNT];
    /* How each LSTM node runs: 1: lstmcl_forward_reference (the CPU
     * reference path, whatever the models' contexts); else
     * forward(forward_user, model, args) when forward is set (called on the
     * running thread; it must compute what lstmcl_forward computes), else
     * lstmcl_forward. */
    int reference;
    lstmcl_status (*forward)(void *user, lstmcl_model *model, const lstmcl_forward_args *args);
    void *forward_user;
} lstmcl_graph_run_args;

/* Runs the graph: the plumbing on the host, each LSTM node through its
 * model. The outputs (lstmcl_graph_output) replace the previous run's.
 * Errors: LSTMCL_ERROR_INVALID_ARGUMENT when the inputs do not fit the
 * graph (lstmcl_graph_failed_input says which input is at fault); an LSTM
 * node whose forward pass fails gives that pass's status. The message of
 * a fault in an input names it by its label; the message of a fault in
 * the model starts with the file's name (an X whose batch or length
 * differs from what the export fixed is the model's). On failure no output
 * is kept. */
LSTMCL_API lstmcl_status lstmcl_graph_run(lstmcl_graph *graph, const lstmcl_graph_run_args *args);

/* The last successful run's output of a role (float32, in the graph's own
 * shape), owned by the graph until its next run or destroy; out->data NULL
 * when the graph has no output of that role or has not run. */
LSTMCL_API lstmcl_status lstmcl_graph_output(const lstmcl_graph *graph, int role,
                                             lstmcl_array *out);

/* After a failed run: the lstmcl_graph_input_role of the input at fault, or
 * -1 when the fault lies in the model (or the run succeeded). */
LSTMCL_API int lstmcl_graph_failed_input(const lstmcl_graph *graph);

#ifdef __cplusplus
}
#endif

#endif /* LSTMCL_H */
