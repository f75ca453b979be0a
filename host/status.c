/* Version, status strings, last-error bookkeeping and the activation table. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

unsigned lstmcl_version_number(void)
{
    return LSTMCL_VERSION_NUMBER;
}

#define LC_STR2(x) #x
#define LC_STR(x) LC_STR2(x)
const char *lstmcl_version_string(void)
{
    return LC_STR(LSTMCL_VERSION_MAJOR) "." LC_STR(LSTMCL_VERSION_MINOR) "." LC_STR(
        LSTMCL_VERSION_PATCH);
}

/* OpenCL 1.2 error names (cl.h values). */
#define LC_CL_ERROR_TABLE(X)                                                                    \
    X(CL_DEVICE_NOT_FOUND) X(CL_DEVICE_NOT_AVAILABLE) X(CL_COMPILER_NOT_AVAILABLE)              \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE) X(CL_OUT_OF_RESOURCES) X(CL_OUT_OF_HOST_MEMORY)         \
    X(CL_PROFILING_INFO_NOT_AVAILABLE) X(CL_MEM_COPY_OVERLAP) X(CL_IMAGE_FORMAT_MISMATCH)       \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED) X(CL_BUILD_PROGRAM_FAILURE) X(CL_MAP_FAILURE)              \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET) X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)          \
    X(CL_COMPILE_PROGRAM_FAILURE) X(CL_LINKER_NOT_AVAILABLE) X(CL_LINK_PROGRAM_FAILURE)         \
    X(CL_DEVICE_PARTITION_FAILED) X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) X(CL_INVALID_VALUE)       \
    X(CL_INVALID_DEVICE_TYPE) X(CL_INVALID_PLATFORM) X(CL_INVALID_DEVICE) X(CL_INVALID_CONTEXT) \
    X(CL_INVALID_QUEUE_PROPERTIES) X(CL_INVALID_COMMAND_QUEUE) X(CL_INVALID_HOST_PTR)           \
    X(CL_INVALID_MEM_OBJECT) X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) X(CL_INVALID_IMAGE_SIZE)     \
    X(CL_INVALID_SAMPLER) X(CL_INVALID_BINARY) X(CL_INVALID_BUILD_OPTIONS)                      \
    X(CL_INVALID_PROGRAM) X(CL_INVALID_PROGRAM_EXECUTABLE) X(CL_INVALID_KERNEL_NAME)            \
    X(CL_INVALID_KERNEL_DEFINITION) X(CL_INVALID_KERNEL) X(CL_INVALID_ARG_INDEX)                \
    X(CL_INVALID_ARG_VALUE) X(CL_INVALID_ARG_SIZE) X(CL_INVALID_KERNEL_ARGS)                    \
    X(CL_INVALID_WORK_DIMENSION) X(CL_INVALID_WORK_GROUP_SIZE) X(CL_INVALID_WORK_ITEM_SIZE)     \
    X(CL_INVALID_GLOBAL_OFFSET) X(CL_INVALID_EVENT_WAIT_LIST) X(CL_INVALID_EVENT)               \
    X(CL_INVALID_OPERATION) X(CL_INVALID_GL_OBJECT) X(CL_INVALID_BUFFER_SIZE)                   \
    X(CL_INVALID_MIP_LEVEL) X(CL_INVALID_GLOBAL_WORK_SIZE) X(CL_INVALID_PROPERTY)               \
    X(CL_INVALID_IMAGE_DESCRIPTOR) X(CL_INVALID_COMPILER_OPTIONS) X(CL_INVALID_LINKER_OPTIONS)  \
    X(CL_INVALID_DEVICE_PARTITION_COUNT)

const char *lc_cl_error_name(cl_int code)
{
    switch (code) {
#define LC_X_CASE(name) \
    case name:          \
        return #name;
        LC_CL_ERROR_TABLE(LC_X_CASE)
#undef LC_X_CASE
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return NULL;
    }
}

const char *lstmcl_status_string(lstmcl_status status)
{
    switch ((int)status) {
#define LC_X_CASE(name, value, text) \
    case value:                      \
        return text;
        LSTMCL_STATUS_TABLE(LC_X_CASE)
#undef LC_X_CASE
    default:
        break;
    }
    if ((int)status < 0) {
        const char *n = lc_cl_error_name((cl_int)status);
        if (n)
            return n;
        if ((int)status <= -1000)
            return "CLBlast error";
        return "OpenCL error";
    }
    return "unknown status";
}

static _Thread_local char lc_thread_err[LC_ERR_MAX];

const char *lstmcl_thread_last_error(void)
{
    return lc_thread_err;
}

lstmcl_status lc_fail(lstmcl_context *ctx, lstmcl_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lc_thread_err, sizeof lc_thread_err, fmt, ap);
    va_end(ap);
    if (ctx)
        memcpy(ctx->err, lc_thread_err, sizeof ctx->err);
    return status;
}

lstmcl_status lc_fail_cl(lstmcl_context *ctx, cl_int code, const char *call, const char *what)
{
    const char *name = lc_cl_error_name(code);
    if ((int)code <= -1000)
        return lc_fail(ctx, (lstmcl_status)code, "%s: %s returned CLBlast status %d", what, call,
                       (int)code);
    return lc_fail(ctx, (lstmcl_status)code, "%s: %s returned %d (%s)", what, call, (int)code,
                   name ? name : "unknown OpenCL error");
}

/* ------------------------------------------------------------------------ */
/* Activations                                                               */
/* ------------------------------------------------------------------------ */

/* ONNX's defaults: LeakyRelu alpha 0.01; ThresholdedRelu alpha 1; HardSigmoid
 * alpha 0.2, beta 0.5; Elu alpha 1; ScaledTanh and Affine alpha 1, beta 0 for
 * Affine and 1 for ScaledTanh (onnxruntime's choices for these two, which have
 * no operator of their own in current ONNX). */
static const struct {
    lstmcl_activation_kind kind;
    float alpha, beta;
} lc_act_defaults[] = {
    {LSTMCL_ACT_HARD_SIGMOID, 0.2f, 0.5f},  {LSTMCL_ACT_LEAKY_RELU, 0.01f, 0.0f},
    {LSTMCL_ACT_THRESHOLDED_RELU, 1.0f, 0.0f}, {LSTMCL_ACT_SCALED_TANH, 1.0f, 1.0f},
    {LSTMCL_ACT_AFFINE, 1.0f, 0.0f},        {LSTMCL_ACT_ELU, 1.0f, 0.0f},
};

const char *lstmcl_activation_name(lstmcl_activation_kind kind)
{
    switch (kind) {
#define LC_X_CASE(name, value, text) \
    case name:                       \
        return text;
        LSTMCL_ACTIVATION_TABLE(LC_X_CASE)
#undef LC_X_CASE
    default:
        return NULL;
    }
}

lstmcl_status lstmcl_activation_from_name(const char *name, lstmcl_activation_kind *kind)
{
    if (!name || !kind)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_activation_from_name: name and kind must not be NULL");
    for (int k = LSTMCL_ACT_SIGMOID; k < LSTMCL_ACT_COUNT_; k++) {
        const char *n = lstmcl_activation_name((lstmcl_activation_kind)k);
        size_t i = 0;
        while (n[i] && name[i] && tolower((unsigned char)n[i]) == tolower((unsigned char)name[i]))
            i++;
        if (!n[i] && !name[i]) {
            *kind = (lstmcl_activation_kind)k;
            return LSTMCL_SUCCESS;
        }
    }
    return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "unknown activation function \"%.64s\"",
                   name);
}

lstmcl_status lstmcl_activation_defaults(lstmcl_activation_kind kind, float *alpha, float *beta)
{
    if (kind < 0 || kind >= LSTMCL_ACT_COUNT_)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "unknown activation kind %d",
                       (int)kind);
    float a = 0.0f, b = 0.0f;
    for (size_t i = 0; i < sizeof lc_act_defaults / sizeof lc_act_defaults[0]; i++)
        if (lc_act_defaults[i].kind == kind) {
            a = lc_act_defaults[i].alpha;
            b = lc_act_defaults[i].beta;
        }
    if (alpha)
        *alpha = a;
    if (beta)
        *beta = b;
    return LSTMCL_SUCCESS;
}

/* Written to stay finite for any finite input: no exp of a large positive
 * argument (sigmoid, softplus and elu branch on the sign). */
double lc_activate(lstmcl_activation_kind kind, double x, double alpha, double beta)
{
    switch (kind) {
    case LSTMCL_ACT_SIGMOID:
        if (x >= 0.0)
            return 1.0 / (1.0 + exp(-x));
        else {
            double e = exp(x);
            return e / (1.0 + e);
        }
    case LSTMCL_ACT_TANH:
        return tanh(x);
    case LSTMCL_ACT_RELU:
        return x > 0.0 ? x : 0.0;
    case LSTMCL_ACT_HARD_SIGMOID: {
        double v = alpha * x + beta;
        return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
    }
    case LSTMCL_ACT_LEAKY_RELU:
        return x >= 0.0 ? x : alpha * x;
    case LSTMCL_ACT_THRESHOLDED_RELU:
        return x > alpha ? x : 0.0;
    case LSTMCL_ACT_SCALED_TANH:
        return alpha * tanh(beta * x);
    case LSTMCL_ACT_AFFINE:
        return alpha * x + beta;
    case LSTMCL_ACT_ELU:
        return x >= 0.0 ? x : alpha * (exp(x) - 1.0);
    case LSTMCL_ACT_SOFTSIGN:
        return x / (1.0 + fabs(x));
    case LSTMCL_ACT_SOFTPLUS:
        /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|) */
        return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
    default:
        return NAN;
    }
}
