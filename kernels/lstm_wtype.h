/* lstmcl: how the kernels read stored weights (lstmcl_precision), for the
 * step program and the project's GEMM (host/program.c puts this file
 * first in both).
 *
 * Build option -D WPREC=<0|1|2|3> (optional, default 0): fp32, fp16, bf16,
 * int8, as lstmcl_precision numbers them.
 *   WTYPE        the stored element type: float, half (read with
 *                vload_half*, which needs no cl_khr_fp16), ushort holding
 *                bfloat16 bits, char holding int8 q;
 *   LDW(p, i)    element i of p as a float (int8: q, unscaled: the scale
 *                of the row multiplies the row's dot product once);
 *   LDW8(p, i)   elements i .. i+7 as a float8 (i a multiple of 8, p
 *                aligned as the host arranges the rows: 8 elements; the
 *                bfloat16 and int8 forms load them as one uint4 or ulong);
 *   hround(v), hround8(v)   v rounded to what h and y store (half or
 *                bfloat16, to nearest even, as host/precision.c rounds;
 *                v itself for fp32 and int8). */
#ifndef WPREC
#define WPREC 0
#endif

#if WPREC == 1
#define WTYPE half
#define LDW(p, i) vload_half((i), (p))
#define LDW8(p, i) vload_half8((i) / 8, (p))
inline float hround(const float v)
{
    ushort b;
    vstore_half_rte(v, 0, (__private half *)&b);
    return vload_half(0, (__private const half *)&b);
}
inline float8 hround8(const float8 v)
{
    ushort8 b;
    vstore_half8_rte(v, 0, (__private half *)&b);
    return vload_half8(0, (__private const half *)&b);
}
#elif WPREC == 2
#define WTYPE ushort
#define LDW(p, i) as_float((uint)(p)[i] << 16)
#define LDW8(p, i) as_float8(convert_uint8(as_ushort8(((__global const uint4 *)(p))[(i) / 8])) << 16)
inline float hround(const float v)
{
    const uint u = as_uint(v);
    return as_float((u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u);
}
inline float8 hround8(const float8 v)
{
    const uint8 u = as_uint8(v);
    return as_float8((u + (uint8)(0x7fffu) + ((u >> 16) & (uint8)(1u))) & (uint8)(0xffff0000u));
}
#elif WPREC == 3
#define WTYPE char
#define LDW(p, i) convert_float((p)[i])
#define LDW8(p, i) convert_float8(as_char8(((__global const ulong *)(p))[(i) / 8]))
#define hround(v) (v)
#define hround8(v) (v)
#else
#define WTYPE float
#define LDW(p, i) ((p)[i])
#define LDW8(p, i) (((__global const float8 *)(p))[(i) / 8])
#define hround(v) (v)
#define hround8(v) (v)
#endif
