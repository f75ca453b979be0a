/* Contexts: one OpenCL device with an in-order queue, or the CPU reference. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* lstmcl.h first: it sets the OpenCL 1.2 API level before CLBlast's header. */
#include "internal.h"

#include <clblast_c.h>

/* Device contexts alive, under lc_cl_lock: CLBlast's program cache holds a
 * reference to every context it compiled for, so it is emptied when the last
 * one goes (emptying it earlier would make live contexts recompile). */
static size_t lc_live_contexts;

static int lc_icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static int lc_iequal(const char *a, const char *b)
{
    while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Resolves a device spec (see lstmcl_context_create) to a device index.
 * A spec that matches no device is the caller's argument at fault
 * (LSTMCL_ERROR_NO_DEVICE) or, when it came from $LSTMCL_DEVICE, the
 * configuration's (LSTMCL_ERROR_INVALID_CONFIG); no device at all is
 * LSTMCL_ERROR_NO_DEVICE either way. Called with lc_cl_lock held. */
static lstmcl_status lc_resolve(const char *spec, int from_env, size_t *index)
{
    const lstmcl_status unmatched =
        from_env ? LSTMCL_ERROR_INVALID_CONFIG : LSTMCL_ERROR_NO_DEVICE;
    const char *origin = from_env ? LSTMCL_DEVICE_ENV "=" : "device ";
    size_t count = 0;
    lstmcl_status st = lc_device_count_locked(&count);
    if (st != LSTMCL_SUCCESS)
        return st;
    if (count == 0)
        return lc_fail(NULL, LSTMCL_ERROR_NO_DEVICE,
                       "no OpenCL device found (is an OpenCL driver such as PoCL installed?)");
    if (!spec || !*spec) {
        /* Default: the first GPU, else the first device. */
        for (size_t i = 0; i < count; i++) {
            cl_platform_id p;
            cl_device_id d;
            cl_device_type type = 0;
            if (lc_find_device(i, &p, &d) == LSTMCL_SUCCESS &&
                clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
                (type & CL_DEVICE_TYPE_GPU)) {
                *index = i;
                return LSTMCL_SUCCESS;
            }
        }
        *index = 0;
        return LSTMCL_SUCCESS;
    }
    int digits = 1;
    for (const char *c = spec; *c; c++)
        digits &= isdigit((unsigned char)*c) != 0;
    if (digits) {
        char *end = NULL;
        unsigned long long v = strtoull(spec, &end, 10);
        if (v >= count)
            return lc_fail(NULL, unmatched,
                           "%s\"%s\": device index out of range (%zu device%s found)", origin,
                           spec, count, count == 1 ? "" : "s");
        *index = (size_t)v;
        return LSTMCL_SUCCESS;
    }
    for (size_t i = 0; i < count; i++) {
        lstmcl_device_info info;
        st = lc_device_get_info_locked(i, &info);
        if (st != LSTMCL_SUCCESS)
            return st;
        if (lc_icontains(info.name, spec)) {
            *index = i;
            return LSTMCL_SUCCESS;
        }
    }
    return lc_fail(NULL, unmatched,
                   "%s\"%s\": no OpenCL device name contains it (%zu device%s found)", origin,
                   spec, count, count == 1 ? "" : "s");
}

/* Opens the OpenCL device, context and queue; lc_cl_lock held. On failure
 * nothing stays allocated. */
static lstmcl_status lc_open_device(lstmcl_context *ctx, const lstmcl_context_options *opts,
                                    const char *device_spec,
                                    int from_env)
{
    size_t index = 0;
    lstmcl_status st = lc_resolve(device_spec, from_env, &index);
    if (st == LSTMCL_SUCCESS)
        st = lc_find_device(index, &ctx->platform, &ctx->device);
    if (st == LSTMCL_SUCCESS)
        st = lc_fill_device_info(ctx->platform, ctx->device, index, &ctx->info);
    if (st != LSTMCL_SUCCESS)
        return st;
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform,
                                     0};
    ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        ctx->cl = NULL;
        return lc_fail_cl(NULL, err, "clCreateContext", ctx->info.name);
    }
    /* Profiling: events carry device timestamps (for timing tools; a
     * little overhead per command on some drivers). */
    int profile = opts->queue_profiling;
    if (profile < 0) {
        const char *prof = getenv("LSTMCL_QUEUE_PROFILING");
        profile = prof && strcmp(prof, "1") == 0;
    }
    cl_command_queue_properties qprops = profile ? CL_QUEUE_PROFILING_ENABLE : 0;
    ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, qprops, &err);
    if (err != CL_SUCCESS) {
        ctx->queue = NULL;
        st = lc_fail_cl(NULL, err, "clCreateCommandQueue", ctx->info.name);
        clReleaseContext(ctx->cl);
        ctx->cl = NULL;
        return st;
    }
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_context_create(const char *device_spec, lstmcl_context **out)
{
    return lstmcl_context_create_with(device_spec, NULL, out);
}

lstmcl_status lstmcl_context_create_with(const char *device_spec,
                                         const lstmcl_context_options *options,
                                         lstmcl_context **out)
{
    if (!out)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_context_create: ctx must not be NULL");
    *out = NULL;
    lstmcl_context_options opts;
    lstmcl_context_options_init(&opts);
    if (options) {
        if (options->struct_size < sizeof(size_t) + sizeof(int))
            return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "context options: struct_size = %zu; fill the options with "
                           "lstmcl_context_options_init first",
                           options->struct_size);
        memcpy(&opts, options,
               options->struct_size < sizeof opts ? options->struct_size : sizeof opts);
        if (opts.queue_profiling < -1 || opts.queue_profiling > 1)
            return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "context options: queue_profiling = %d is not -1, 0 or 1",
                           opts.queue_profiling);
    }
    int from_env = 0;
    if (!device_spec || !*device_spec) {
        const char *env = getenv(LSTMCL_DEVICE_ENV);
        if (env && *env) {
            device_spec = env;
            from_env = 1;
        }
    }
    lstmcl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return lc_fail(NULL, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "allocating a context");
    if (device_spec && (lc_iequal(device_spec, "cpu") || lc_iequal(device_spec, "reference"))) {
        ctx->reference = 1;
        *out = ctx;
        return LSTMCL_SUCCESS;
    }
    lc_cl_lock();
    lstmcl_status st = lc_open_device(ctx, &opts, device_spec, from_env);
    if (st == LSTMCL_SUCCESS)
        lc_live_contexts++;
    lc_cl_unlock();
    if (st != LSTMCL_SUCCESS) {
        free(ctx);
        return st;
    }
    *out = ctx;
    return LSTMCL_SUCCESS;
}

/* The index lstmcl_device_get_info gives `device`, or (size_t)-1 when the
 * platforms do not list it (a sub-device). lc_cl_lock held. */
static size_t lc_device_index(cl_device_id device)
{
    size_t count = 0;
    if (lc_device_count_locked(&count) != LSTMCL_SUCCESS)
        return (size_t)-1;
    for (size_t i = 0; i < count; i++) {
        cl_platform_id p;
        cl_device_id d;
        if (lc_find_device(i, &p, &d) == LSTMCL_SUCCESS && d == device)
            return i;
    }
    return (size_t)-1;
}

/* Checks that the caller's objects fit together and fills ctx (no object
 * retained yet). lc_cl_lock held. */
static lstmcl_status lc_adopt(lstmcl_context *ctx, cl_context cl_ctx, cl_device_id device,
                              cl_command_queue queue)
{
    const char *fn = "lstmcl_context_create_from_cl";
    cl_context qctx = NULL;
    cl_device_id qdev = NULL;
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return lc_fail_cl(NULL, err, "clGetCommandQueueInfo", "the caller's queue");
    if (qctx != cl_ctx || qdev != device)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: the queue belongs to another %s", fn,
                       qctx != cl_ctx ? "context" : "device");
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: the queue is out-of-order; lstmcl needs an in-order queue", fn);
    cl_platform_id platform = NULL;
    err = clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
    if (err != CL_SUCCESS)
        return lc_fail_cl(NULL, err, "clGetDeviceInfo", "the caller's device");
    ctx->platform = platform;
    ctx->device = device;
    ctx->cl = cl_ctx;
    ctx->queue = queue;
    return lc_fill_device_info(platform, device, lc_device_index(device), &ctx->info);
}

lstmcl_status lstmcl_context_create_from_cl(cl_context cl_ctx, cl_device_id device,
                                            cl_command_queue queue, lstmcl_context **out)
{
    if (!out)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_context_create_from_cl: ctx must not be NULL");
    *out = NULL;
    if (!cl_ctx || !device || !queue)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_context_create_from_cl: %s must not be NULL",
                       !cl_ctx ? "cl_ctx" : !device ? "device" : "queue");
    lstmcl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return lc_fail(NULL, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "allocating a context");
    lc_cl_lock();
    lstmcl_status st = lc_adopt(ctx, cl_ctx, device, queue);
    if (st == LSTMCL_SUCCESS) {
        /* (Retaining a root device does nothing; a sub-device is kept.) */
        cl_int err = clRetainDevice(device);
        if (err == CL_SUCCESS) {
            err = clRetainContext(cl_ctx);
            if (err != CL_SUCCESS)
                clReleaseDevice(device);
        }
        if (err == CL_SUCCESS) {
            err = clRetainCommandQueue(queue);
            if (err != CL_SUCCESS) {
                clReleaseContext(cl_ctx);
                clReleaseDevice(device);
            }
        }
        if (err == CL_SUCCESS) {
            ctx->adopted = 1;
            lc_live_contexts++;
        }
        else
            st = lc_fail_cl(NULL, err, "clRetain*", "the caller's objects");
    }
    lc_cl_unlock();
    if (st != LSTMCL_SUCCESS) {
        free(ctx);
        return st;
    }
    *out = ctx;
    return LSTMCL_SUCCESS;
}

void lstmcl_context_destroy(lstmcl_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->queue) {
        clFinish(ctx->queue);
        clReleaseCommandQueue(ctx->queue);
    }
    if (ctx->adopted)
        clReleaseDevice(ctx->device);
    if (ctx->cl) {
        clReleaseContext(ctx->cl);
        lc_cl_lock();
        /* CLBlast's program cache holds references to every context it
         * served: emptied with the last context, and with a caller's, which
         * it would otherwise keep alive after this destroy. */
        if (--lc_live_contexts == 0 || ctx->adopted)
            CLBlastClearCache();
        lc_cl_unlock();
    }
    free(ctx);
}

int lstmcl_context_is_reference(const lstmcl_context *ctx)
{
    return ctx && ctx->reference;
}

lstmcl_status lstmcl_context_device_info(const lstmcl_context *ctx, lstmcl_device_info *info)
{
    if (!ctx || !info)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_context_device_info: ctx and info must not be NULL");
    if (ctx->reference)
        return lc_fail((lstmcl_context *)ctx, LSTMCL_ERROR_UNSUPPORTED,
                       "lstmcl_context_device_info: the CPU reference context has no OpenCL "
                       "device");
    *info = ctx->info;
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_context_cl_objects(const lstmcl_context *ctx, cl_context *cl_ctx,
                                        cl_device_id *device, cl_command_queue *queue)
{
    if (!ctx)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_context_cl_objects: ctx must not be NULL");
    if (ctx->reference)
        return lc_fail((lstmcl_context *)ctx, LSTMCL_ERROR_UNSUPPORTED,
                       "lstmcl_context_cl_objects: the CPU reference context has no OpenCL "
                       "objects");
    if (cl_ctx)
        *cl_ctx = ctx->cl;
    if (device)
        *device = ctx->device;
    if (queue)
        *queue = ctx->queue;
    return LSTMCL_SUCCESS;
}

const char *lstmcl_context_last_error(const lstmcl_context *ctx)
{
    return ctx ? ctx->err : "";
}
