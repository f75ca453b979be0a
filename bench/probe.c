/* Peak probes: FP32 multiply-add rate and read bandwidth of an OpenCL device,
 * measured with the kernels of bench/probe.cl (embedded at build time). Each
 * probe is sized until one launch takes at least PROBE_MIN_MS, then the best
 * of PROBE_REPS launches counts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

extern const unsigned char bench_probe_cl[];
extern const size_t bench_probe_cl_size;

enum { PROBE_REPS = 5 };
#define PROBE_MIN_MS 20.0

typedef struct probe {
    cl_context ctx;
    cl_device_id dev;
    cl_command_queue q;
    cl_program prog;
    char *why;
    size_t why_size;
} probe;

static int cl_fail(probe *p, const char *call, cl_int err)
{
    if (err == CL_SUCCESS)
        return 0;
    snprintf(p->why, p->why_size, "%s failed: %s (%d)", call,
             lstmcl_status_string((lstmcl_status)err), (int)err);
    return -1;
}

/* Best wall time of PROBE_REPS launches of `k` over `global` work-items. */
static double time_kernel(probe *p, cl_kernel k, size_t global, size_t local)
{
    double best = INFINITY;
    for (int r = 0; r < PROBE_REPS; ++r) {
        double t0 = bench_now_ms();
        cl_int err = clEnqueueNDRangeKernel(p->q, k, 1, NULL, &global, local ? &local : NULL, 0,
                                            NULL, NULL);
        if (cl_fail(p, "clEnqueueNDRangeKernel", err) ||
            cl_fail(p, "clFinish", clFinish(p->q)))
            return NAN;
        double t = bench_now_ms() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

/* GFLOP/s of probe_flops in the current program, best over a few
 * work-group sizes (0: the runtime's choice). */
static double probe_flops(probe *p, size_t cus, size_t width, size_t max_wg)
{
    cl_int err;
    cl_kernel k = clCreateKernel(p->prog, "probe_flops", &err);
    if (cl_fail(p, "clCreateKernel(probe_flops)", err))
        return NAN;
    size_t global = (cus ? cus : 1) * 2048;
    double best = NAN;
    cl_mem out = clCreateBuffer(p->ctx, CL_MEM_WRITE_ONLY, global * width * sizeof(float), NULL,
                                &err);
    if (cl_fail(p, "clCreateBuffer", err))
        goto done;
    float a = 0.999999f, b = 1e-6f;
    err = clSetKernelArg(k, 0, sizeof out, &out);
    if (!err)
        err = clSetKernelArg(k, 1, sizeof a, &a);
    if (!err)
        err = clSetKernelArg(k, 2, sizeof b, &b);
    if (cl_fail(p, "clSetKernelArg", err))
        goto done;
    static const size_t locals[] = {0, 64, 256};
    for (size_t li = 0; li < sizeof locals / sizeof locals[0]; ++li) {
        if (locals[li] > max_wg)
            continue;
        for (cl_int iters = 16; iters <= (1 << 22); iters *= 2) {
            if (cl_fail(p, "clSetKernelArg", clSetKernelArg(k, 3, sizeof iters, &iters)))
                goto done;
            double ms = time_kernel(p, k, global, locals[li]);
            if (isnan(ms))
                goto done;
            if (ms >= PROBE_MIN_MS || iters == (1 << 22)) {
                double flop = (double)global * (double)iters * 16.0 * (double)width * 2.0;
                double rate = flop / (ms * 1e6);
                if (isnan(best) || rate > best)
                    best = rate;
                break;
            }
        }
    }
done:
    if (out)
        clReleaseMemObject(out);
    clReleaseKernel(k);
    return best;
}

static double probe_bandwidth(probe *p, size_t cus, cl_ulong max_alloc, cl_ulong global_mem)
{
    /* 256 MiB, well beyond last-level caches, or what the device allows */
    cl_ulong bytes = (cl_ulong)256 << 20;
    if (bytes > max_alloc)
        bytes = max_alloc;
    if (bytes > global_mem / 4)
        bytes = global_mem / 4;
    size_t n4 = (size_t)(bytes / 16);
    size_t groups = (cus ? cus : 1) * 64;
    size_t chunk = (n4 / groups) & ~(size_t)3;
    if (chunk < 4) {
        snprintf(p->why, p->why_size, "device memory too small for the bandwidth probe");
        return NAN;
    }
    n4 = chunk * groups;
    double best = NAN;
    cl_int err;
    cl_kernel ki = NULL, kb = NULL;
    cl_mem in = clCreateBuffer(p->ctx, CL_MEM_READ_ONLY, n4 * 16, NULL, &err);
    if (cl_fail(p, "clCreateBuffer", err))
        return NAN;
    size_t global_i = (cus ? cus : 1) * 2048;
    cl_mem out = clCreateBuffer(p->ctx, CL_MEM_WRITE_ONLY,
                                (global_i > groups ? global_i : groups) * sizeof(float), NULL, &err);
    if (cl_fail(p, "clCreateBuffer", err))
        goto done;
    /* fill with small values so that the sums stay finite */
    float pattern = 1.0f / 1024.0f;
    err = clEnqueueFillBuffer(p->q, in, &pattern, sizeof pattern, 0, n4 * 16, 0, NULL, NULL);
    if (cl_fail(p, "clEnqueueFillBuffer", err) || cl_fail(p, "clFinish", clFinish(p->q)))
        goto done;
    ki = clCreateKernel(p->prog, "probe_read_interleaved", &err);
    if (cl_fail(p, "clCreateKernel(probe_read_interleaved)", err))
        goto done;
    kb = clCreateKernel(p->prog, "probe_read_blocked", &err);
    if (cl_fail(p, "clCreateKernel(probe_read_blocked)", err))
        goto done;
    cl_uint n = (cl_uint)n4, c = (cl_uint)chunk;
    err = clSetKernelArg(ki, 0, sizeof in, &in);
    if (!err)
        err = clSetKernelArg(ki, 1, sizeof out, &out);
    if (!err)
        err = clSetKernelArg(ki, 2, sizeof n, &n);
    if (!err)
        err = clSetKernelArg(kb, 0, sizeof in, &in);
    if (!err)
        err = clSetKernelArg(kb, 1, sizeof out, &out);
    if (!err)
        err = clSetKernelArg(kb, 2, sizeof c, &c);
    if (cl_fail(p, "clSetKernelArg", err))
        goto done;
    double ms_i = time_kernel(p, ki, global_i, 0);
    double ms_b = time_kernel(p, kb, groups, 0);
    double ms = fmin(ms_i, ms_b); /* fmin ignores a NaN side */
    if (!isnan(ms) && ms > 0.0)
        best = (double)n4 * 16.0 / (ms * 1e6);
done:
    if (kb)
        clReleaseKernel(kb);
    if (ki)
        clReleaseKernel(ki);
    if (out)
        clReleaseMemObject(out);
    clReleaseMemObject(in);
    return best;
}

static int build(probe *p, const char *opts)
{
    cl_int err;
    const char *src = (const char *)bench_probe_cl;
    size_t len = bench_probe_cl_size;
    p->prog = clCreateProgramWithSource(p->ctx, 1, &src, &len, &err);
    if (cl_fail(p, "clCreateProgramWithSource", err))
        return -1;
    err = clBuildProgram(p->prog, 1, &p->dev, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[512] = "";
        size_t n = 0;
        if (clGetProgramBuildInfo(p->prog, p->dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) ==
                CL_SUCCESS &&
            n > 0) {
            char *full = malloc(n);
            if (full && clGetProgramBuildInfo(p->prog, p->dev, CL_PROGRAM_BUILD_LOG, n, full,
                                              NULL) == CL_SUCCESS)
                snprintf(log, sizeof log, "%s", full);
            free(full);
        }
        snprintf(p->why, p->why_size, "clBuildProgram(%s) failed (%d): %s", opts, (int)err, log);
        clReleaseProgram(p->prog);
        p->prog = NULL;
        return -1;
    }
    return 0;
}

void bench_probe_peaks(lstmcl_context *ctx, double *gflops, double *gbs, char *why,
                       size_t why_size)
{
    *gflops = NAN;
    *gbs = NAN;
    probe p;
    memset(&p, 0, sizeof p);
    p.why = why;
    p.why_size = why_size;
    lstmcl_device_info info;
    if (lstmcl_context_cl_objects(ctx, &p.ctx, &p.dev, &p.q) != LSTMCL_SUCCESS ||
        lstmcl_context_device_info(ctx, &info) != LSTMCL_SUCCESS) {
        snprintf(why, why_size, "%s", lstmcl_context_last_error(ctx));
        return;
    }
    cl_device_fp_config fp = 0;
    if (cl_fail(&p, "clGetDeviceInfo(CL_DEVICE_SINGLE_FP_CONFIG)",
                clGetDeviceInfo(p.dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL)))
        return;
    /* vector widths differ in what a compiler maps onto the hardware: keep
     * the best; the bandwidth kernels come from the first build */
    static const size_t widths[] = {4, 8, 16};
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; ++wi) {
        char opts[96];
        snprintf(opts, sizeof opts, "-DPROBE_WIDTH=%zu -DPROBE_FMA=%d", widths[wi],
                 (fp & CL_FP_FMA) ? 1 : 0);
        if (build(&p, opts))
            return;
        double g = probe_flops(&p, info.compute_units, widths[wi], info.max_work_group_size);
        if (!isnan(g) && (isnan(*gflops) || g > *gflops))
            *gflops = g;
        if (wi == 0)
            *gbs = probe_bandwidth(&p, info.compute_units, info.max_alloc_bytes,
                                   info.global_mem_bytes);
        clReleaseProgram(p.prog);
        p.prog = NULL;
    }
}
