/*
 * Peak probes of lstmcl-bench: the device's own FP32 multiply-add rate and
 * read bandwidth, against which the bench states each result as a fraction.
 * Embedded into the harness at build time (bench/embed.cmake).
 */

/* FP32 rate. PROBE_WIDTH (4, 8 or 16) is the vector width, PROBE_FMA 1 to
 * use fma() (devices with CL_FP_FMA) else mad(). Each work-item runs eight
 * independent multiply-add chains so that one chain's latency is covered by
 * the others; the harness builds several widths and keeps the best. Work per
 * work-item: iters * 16 * PROBE_WIDTH multiply-adds of 2 FLOP. With a just
 * below 1 and b small the values stay normal and finite for any iteration
 * count. The whole vector is stored, so that no lane is dead code. */
#ifndef PROBE_WIDTH
#define PROBE_WIDTH 4
#endif
#ifndef PROBE_FMA
#define PROBE_FMA 0
#endif
#define PROBE_CAT_(a, b) a##b
#define PROBE_CAT(a, b) PROBE_CAT_(a, b)
typedef PROBE_CAT(float, PROBE_WIDTH) floatw;
#if PROBE_FMA
#define MULADD(x, a, b) fma((x), (floatw)(a), (floatw)(b))
#else
#define MULADD(x, a, b) mad((x), (floatw)(a), (floatw)(b))
#endif

__kernel void probe_flops(__global floatw *out, const float a, const float b, const int iters)
{
    floatw x0 = (floatw)((float)get_global_id(0) * 1e-9f);
    floatw x1 = x0 + 0.125f;
    floatw x2 = x0 + 0.25f;
    floatw x3 = x0 + 0.375f;
    floatw x4 = x0 + 0.5f;
    floatw x5 = x0 + 0.625f;
    floatw x6 = x0 + 0.75f;
    floatw x7 = x0 + 0.875f;
    for (int i = 0; i < iters; ++i) {
        x0 = MULADD(x0, a, b); x1 = MULADD(x1, a, b); x2 = MULADD(x2, a, b); x3 = MULADD(x3, a, b);
        x4 = MULADD(x4, a, b); x5 = MULADD(x5, a, b); x6 = MULADD(x6, a, b); x7 = MULADD(x7, a, b);
        x0 = MULADD(x0, a, b); x1 = MULADD(x1, a, b); x2 = MULADD(x2, a, b); x3 = MULADD(x3, a, b);
        x4 = MULADD(x4, a, b); x5 = MULADD(x5, a, b); x6 = MULADD(x6, a, b); x7 = MULADD(x7, a, b);
    }
    out[get_global_id(0)] = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
}

/* Read bandwidth, GPU-friendly: neighbouring work-items read neighbouring
 * float4s (coalesced), striding by the global size. n: float4 count. */
__kernel void probe_read_interleaved(__global const float4 *in, __global float *out, const uint n)
{
    const uint gid = (uint)get_global_id(0), step = (uint)get_global_size(0);
    float4 acc = (float4)(0.0f);
    for (uint i = gid; i < n; i += step)
        acc += in[i];
    out[gid] = acc.x + acc.y + acc.z + acc.w;
}

/* Read bandwidth, CPU-friendly: each work-item reads its own contiguous
 * chunk (a multiple of 4 float4s) with four accumulators, so that a core
 * streams whole cache lines and is not bound by the add latency. */
__kernel void probe_read_blocked(__global const float4 *in, __global float *out, const uint chunk)
{
    const uint gid = (uint)get_global_id(0);
    __global const float4 *p = in + (size_t)gid * chunk;
    float4 a0 = (float4)(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (uint i = 0; i < chunk; i += 4) {
        a0 += p[i];
        a1 += p[i + 1];
        a2 += p[i + 2];
        a3 += p[i + 3];
    }
    float4 s = (a0 + a1) + (a2 + a3);
    out[gid] = s.x + s.y + s.z + s.w;
}
