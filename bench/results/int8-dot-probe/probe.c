/* Times probe.cl's four int8 dot products on one OpenCL platform's first
 * device: 8192 rows of K = 2048 int8 weights (16 MiB, an H = 2048 LSTM's
 * R), one row per work-item in groups of 64, the best of 19 launches after
 * one untimed. Usage: probe PLATFORM_INDEX [BUILD_OPTIONS]
 *   cc -O2 -std=c11 probe.c -lOpenCL -o probe && ./probe 0 && ./probe 1 -cl-std=CL3.0 */
#define _POSIX_C_SOURCE 200809L
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(call)                                                          \
    do {                                                                     \
        cl_int e_ = (call);                                                  \
        if (e_ != CL_SUCCESS) {                                              \
            fprintf(stderr, "probe: %s failed: %d\n", #call, (int)e_);       \
            return 1;                                                        \
        }                                                                    \
    } while (0)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const cl_uint want = argc > 1 ? (cl_uint)atoi(argv[1]) : 0;
    const char *opts = argc > 2 ? argv[2] : "";
    cl_platform_id ps[8];
    cl_uint np = 0;
    CHECK(clGetPlatformIDs(8, ps, &np));
    if (want >= np) {
        fprintf(stderr, "probe: platform %u of %u\n", want, np);
        return 1;
    }
    cl_device_id d;
    CHECK(clGetDeviceIDs(ps[want], CL_DEVICE_TYPE_ALL, 1, &d, NULL));
    char name[256];
    CHECK(clGetDeviceInfo(d, CL_DEVICE_NAME, sizeof name, name, NULL));
    cl_int err;
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
    CHECK(err);
    cl_command_queue q = clCreateCommandQueue(c, d, 0, &err);
    CHECK(err);
    FILE *f = fopen("probe.cl", "r");
    if (!f) {
        fprintf(stderr, "probe: run it beside probe.cl\n");
        return 1;
    }
    static char src[16384];
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = 0;
    const char *s = src;
    cl_program p = clCreateProgramWithSource(c, 1, &s, NULL, &err);
    CHECK(err);
    if (clBuildProgram(p, 1, &d, opts, NULL, NULL) != CL_SUCCESS) {
        static char log[16384];
        CHECK(clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL));
        fprintf(stderr, "probe: build failed:\n%s\n", log);
        return 1;
    }
    const cl_int K = 2048;
    const size_t rows = 8192, local = 64;
    cl_mem w = clCreateBuffer(c, CL_MEM_READ_WRITE, rows * (size_t)K, NULL, &err);
    CHECK(err);
    cl_mem h = clCreateBuffer(c, CL_MEM_READ_WRITE, (size_t)K * 4, NULL, &err);
    CHECK(err);
    cl_mem o = clCreateBuffer(c, CL_MEM_READ_WRITE, rows * 4, NULL, &err);
    CHECK(err);
    const cl_char one = 1;
    CHECK(clEnqueueFillBuffer(q, w, &one, 1, 0, rows * (size_t)K, 0, NULL, NULL));
    CHECK(clEnqueueFillBuffer(q, h, &one, 1, 0, (size_t)K * 4, 0, NULL, NULL));
    CHECK(clFinish(q));
    printf("%s, options '%s'\n", name, opts);
    const char *names[4] = {"dot_f32", "dot_i16", "dot_u8", "dot_khr"};
    for (int k = 0; k < 4; k++) {
        cl_kernel kk = clCreateKernel(p, names[k], &err);
        if (err != CL_SUCCESS) {
            printf("%s: not in this build\n", names[k]);
            continue;
        }
        CHECK(clSetKernelArg(kk, 0, sizeof w, &w));
        CHECK(clSetKernelArg(kk, 1, sizeof h, &h));
        CHECK(clSetKernelArg(kk, 2, sizeof o, &o));
        CHECK(clSetKernelArg(kk, 3, sizeof K, &K));
        double best = 1e9;
        for (int i = 0; i < 20; i++) {
            const double t0 = now();
            CHECK(clEnqueueNDRangeKernel(q, kk, 1, NULL, &rows, &local, 0, NULL, NULL));
            CHECK(clFinish(q));
            const double t = now() - t0;
            if (i > 0 && t < best)
                best = t;
        }
        printf("%s: %.3f ms, %.1f G multiply-adds/s\n", names[k], best * 1e3,
               (double)rows * (double)K / best * 1e-9);
        CHECK(clReleaseKernel(kk));
    }
    clReleaseMemObject(w);
    clReleaseMemObject(h);
    clReleaseMemObject(o);
    clReleaseProgram(p);
    clReleaseCommandQueue(q);
    clReleaseContext(c);
    return 0;
}
