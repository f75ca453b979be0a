/* lstmcl: the input-projection GEMM for CPU devices, and for reduced
 * precisions on every device.
 *
 * C (M x Nc) = A (M x K) B^T, B (Nc x K): both operands row-major with K
 * contiguous, as the input projection X W^T is. Each work-item computes
 * 4 columns of C for a block of GEMM_ROWS rows, GEMM_TR rows at a time: a
 * GEMM_TR x 4 tile with float8 partial sums along K (for float weights
 * 2 x 4, sized for the 16 vector registers of an AVX2 core: 8
 * accumulators, 6 operand loads per step of 8). A work-group's items (host/gemm.c: 16 of them, 64 columns) share the
 * block's rows, which stay in the core's cache while each item streams
 * them past its four rows of B. GPUs use CLBlast's tuned SGEMM instead.
 *
 * The tile is written out in named variables: PoCL keeps private arrays
 * (acc[2][4]) in memory, which made this kernel 5x slower.
 * B is stored in the model's precision (kernels/lstm_wtype.h, built
 * first, option WPREC): int8 rows are scaled by b_scale (NULL otherwise)
 * at the end. No other build options; no preconditions on M, Nc, K or
 * alignment. */

/* Rows of a tile: 2 for float weights (8 accumulators, within an AVX2
 * core's 16 vector registers); 4 for stored half, bfloat16 and int8
 * weights, whose conversion each load of B pays and a taller tile spreads
 * over twice the products (15-25% faster on PoCL with AVX-512's 32
 * registers, H = 256, I = 2048, N = 4, T = 100). */
#define GEMM_TR (WPREC == 0 ? 2 : 4)

/* Elements 8k .. 8k+7 of a row of B, which need not be aligned (K is any
 * size): vload8 and its half and bfloat16 forms need only the element's
 * alignment. */
#if WPREC == 0 || WPREC == 3
#define LDWV8(p, k) convert_float8(vload8((k), (p)))
#elif WPREC == 1
#define LDWV8(p, k) vload_half8((k), (p))
#else
#define LDWV8(p, k) as_float8(convert_uint8(vload8((k), (p))) << 16)
#endif

/* Rows of C per work-item (host/gemm.c's LC_GEMM_ROWS). */
#define GEMM_ROWS 64

inline float hsum8g(const float8 v)
{
    const float4 a = v.lo + v.hi;
    return (a.x + a.y) + (a.z + a.w);
}

/* Global size at least (ceil(Nc / 4), ceil(M / GEMM_ROWS)), any local
 * size; items past the columns return at once. Offsets are in floats. */
__kernel void gemm_nt(const int M, const int Nc, const int K, __global const float *restrict A,
                      const long a_off, __global const WTYPE *restrict B, const long b_off,
                      __global float *restrict C, const long c_off,
                      __global const float *restrict b_scale)
{
    const int c0 = get_global_id(0) * 4;
    if (c0 >= Nc)
        return;
    const int rb = get_global_id(1) * GEMM_ROWS, re = min(rb + GEMM_ROWS, M);
    __global const WTYPE *b0 = B + b_off + (long)min(c0, Nc - 1) * K;
    __global const WTYPE *b1 = B + b_off + (long)min(c0 + 1, Nc - 1) * K;
    __global const WTYPE *b2 = B + b_off + (long)min(c0 + 2, Nc - 1) * K;
    __global const WTYPE *b3 = B + b_off + (long)min(c0 + 3, Nc - 1) * K;
    const int K8 = K / 8;
    for (int r0 = rb; r0 < re; r0 += GEMM_TR) {
        __global const float *a0 = A + a_off + (long)r0 * K;
        __global const float *a1 = A + a_off + (long)min(r0 + 1, M - 1) * K;
        float8 s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f;
        float8 s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
#if GEMM_TR == 4
        __global const float *a2 = A + a_off + (long)min(r0 + 2, M - 1) * K;
        __global const float *a3 = A + a_off + (long)min(r0 + 3, M - 1) * K;
        float8 s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f;
        float8 s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
#endif
        for (int k = 0; k < K8; k++) {
            const float8 w0 = LDWV8(b0, k), w1 = LDWV8(b1, k);
            const float8 w2 = LDWV8(b2, k), w3 = LDWV8(b3, k);
            const float8 x0 = vload8(k, a0), x1 = vload8(k, a1);
            s00 = fma(x0, w0, s00);
            s01 = fma(x0, w1, s01);
            s02 = fma(x0, w2, s02);
            s03 = fma(x0, w3, s03);
            s10 = fma(x1, w0, s10);
            s11 = fma(x1, w1, s11);
            s12 = fma(x1, w2, s12);
            s13 = fma(x1, w3, s13);
#if GEMM_TR == 4
            const float8 x2 = vload8(k, a2), x3 = vload8(k, a3);
            s20 = fma(x2, w0, s20);
            s21 = fma(x2, w1, s21);
            s22 = fma(x2, w2, s22);
            s23 = fma(x2, w3, s23);
            s30 = fma(x3, w0, s30);
            s31 = fma(x3, w1, s31);
            s32 = fma(x3, w2, s32);
            s33 = fma(x3, w3, s33);
#endif
        }
        float r[GEMM_TR][4] = {{hsum8g(s00), hsum8g(s01), hsum8g(s02), hsum8g(s03)},
                               {hsum8g(s10), hsum8g(s11), hsum8g(s12), hsum8g(s13)},
#if GEMM_TR == 4
                               {hsum8g(s20), hsum8g(s21), hsum8g(s22), hsum8g(s23)},
                               {hsum8g(s30), hsum8g(s31), hsum8g(s32), hsum8g(s33)},
#endif
        };
        for (int i = 0; i < GEMM_TR; i++) {
            if (r0 + i >= M)
                break;
            __global const float *ai = A + a_off + (long)(r0 + i) * K;
            for (int jj = 0; jj < 4; jj++) {
                if (c0 + jj >= Nc)
                    break;
                __global const WTYPE *bj = B + b_off + (long)(c0 + jj) * K;
                float v = r[i][jj];
                for (int k = K8 * 8; k < K; k++)
                    v = fma(ai[k], LDW(bj, k), v);
#if WPREC == 3
                v *= b_scale[c0 + jj];
#endif
                C[c_off + (long)(r0 + i) * Nc + c0 + jj] = v;
            }
        }
    }
}
