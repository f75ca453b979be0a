/* Four ways to form one row's dot product of int8 weights with a vector,
 * K = 2048, one row per work-item: the float path lstmcl's int8 kernels
 * take (dequantize in registers, fma), and three integer ones that could
 * replace it if the compiler turned them into the CPU's integer
 * multiply-adds (vpmaddwd, or vpdpbusd with AVX512-VNNI). */

/* int8 weights to float, times a float vector (lstmcl's int8 path) */
__kernel void dot_f32(__global const char *w, __global const float *h, __global float *out,
                      const int K)
{
    __global const char *wr = w + (long)get_global_id(0) * K;
    float16 acc = 0.0f;
    for (int k = 0; k < K; k += 16)
        acc = fma(convert_float16(vload16(0, wr + k)), vload16(0, h + k), acc);
    const float8 a = acc.lo + acc.hi;
    const float4 b = a.lo + a.hi;
    out[get_global_id(0)] = (b.x + b.y) + (b.z + b.w);
}

/* int8 weights times a 16-bit vector, in adjacent pairs summed to 32 bits:
 * the shape of vpmaddwd */
__kernel void dot_i16(__global const char *w, __global const short *h, __global int *out,
                      const int K)
{
    __global const char *wr = w + (long)get_global_id(0) * K;
    int8 acc = 0;
    for (int k = 0; k < K; k += 16) {
        const short16 a = convert_short16(vload16(0, wr + k)), b = vload16(0, h + k);
        acc += convert_int8(a.even) * convert_int8(b.even) +
               convert_int8(a.odd) * convert_int8(b.odd);
    }
    const int4 s = acc.lo + acc.hi;
    out[get_global_id(0)] = (s.x + s.y) + (s.z + s.w);
}

/* int8 weights times an unsigned 8-bit vector (an activation quantized as
 * onnxruntime's DynamicQuantizeLSTM does), the same pairs */
__kernel void dot_u8(__global const char *w, __global const uchar *h, __global int *out,
                     const int K)
{
    __global const char *wr = w + (long)get_global_id(0) * K;
    int8 acc = 0;
    for (int k = 0; k < K; k += 16) {
        const short16 a = convert_short16(vload16(0, wr + k));
        const short16 b = convert_short16(vload16(0, h + k));
        acc += convert_int8(a.even) * convert_int8(b.even) +
               convert_int8(a.odd) * convert_int8(b.odd);
    }
    const int4 s = acc.lo + acc.hi;
    out[get_global_id(0)] = (s.x + s.y) + (s.z + s.w);
}

#ifdef cl_khr_integer_dot_product
/* cl_khr_integer_dot_product's 4 x 8-bit dot products (Intel's runtime) */
__kernel void dot_khr(__global const char *w, __global const char *h, __global int *out,
                      const int K)
{
    __global const char16 *wr = (__global const char16 *)(w + (long)get_global_id(0) * K);
    __global const char16 *hr = (__global const char16 *)h;
    int a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int k = 0; k < K / 16; k++) {
        const char16 a = wr[k], b = hr[k];
        a0 = dot_acc_sat(a.s0123, b.s0123, a0);
        a1 = dot_acc_sat(a.s4567, b.s4567, a1);
        a2 = dot_acc_sat(a.s89ab, b.s89ab, a2);
        a3 = dot_acc_sat(a.scdef, b.scdef, a3);
    }
    out[get_global_id(0)] = (a0 + a1) + (a2 + a3);
}
#endif
