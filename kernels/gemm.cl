/* lstmcl: the input-projection GEMM for CPU devices, and for reduced
 * precisions on every device.
 *
 * C (M x Nc) = A (M x K) B^T, B (Nc x K): both operands row-major with K
 * contiguous, as the input projection X W^T is. Each work-item computes
 * 4 columns of C for a block of GEMM_ROWS rows, GEMM_TR rows at a time: a
 * GEMM_TR x 4 tile with float16 partial sums along K (GEMM_VW; for float
 * weights 2 x 4: 8 accumulators, 6 operand loads per step). A
 * work-group's items (host/gemm.c: 16 of them, 64 columns) share the
 * block's rows, which stay in the core's cache while each item streams
 * them past its four rows of B. GPUs use CLBlast's tuned SGEMM instead.
 *
 * The tile is written out in named variables: PoCL keeps private arrays
 * (acc[2][4]) in memory, which made this kernel 5x slower.
 * B is stored in the model's precision (kernels/lstm_wtype.h, built
 * first, option WPREC): int8 rows are scaled by b_scale (NULL otherwise)
 * at the end. No other build options; no preconditions on M, Nc, K or
 * alignment. */

/* Rows of a tile: 2 for float weights (8 accumulators); 4 for stored
 * half, bfloat16 and int8 weights, whose conversion each load of B pays
 * and a taller tile spreads over twice the products (15-25% faster on PoCL with AVX-512's 32
 * registers, H = 256, I = 2048, N = 4, T = 100). */
#define GEMM_TR (WPREC == 0 ? 2 : 4)

/* Elements of B and A per load (floatV, vloadV; LDWV(p, k) loads block k
 * of a row of B, which need not be aligned, K being any size: vloadn and
 * its half form need only the element's alignment): 16, so that AVX-512 cores get full-width
 * registers (PoCL and Intel's runtime lower a float16 to one; float8 ran at
 * about 63 GFLOP-pairs/s on 2 cores, near the 256-bit peak). Measured on
 * H = 256, I = 2048, N = 4, T = 100, fused-rows: fp32 14.8-17.2 ms
 * against 18.5-25.7 with 8 on PoCL, 11.3 against 19.6 (best of two) on
 * Intel's runtime; int8 16.5-21.7 against 19.8-22.5. */
#ifndef GEMM_VW
#define GEMM_VW 16
#endif
#if GEMM_VW == 16
#define floatV float16
#define vloadV vload16
#define hsumV(v) hsum16g(v)
#if WPREC == 0 || WPREC == 3
#define LDWV(p, k) convert_float16(vload16((k), (p)))
#elif WPREC == 1
#define LDWV(p, k) vload_half16((k), (p))
#else
#define LDWV(p, k) as_float16(convert_uint16(vload16((k), (p))) << 16)
#endif
#else
#define floatV float8
#define vloadV vload8
#define hsumV(v) hsum8g(v)
#if WPREC == 0 || WPREC == 3
#define LDWV(p, k) convert_float8(vload8((k), (p)))
#elif WPREC == 1
#define LDWV(p, k) vload_half8((k), (p))
#else
#define LDWV(p, k) as_float8(convert_uint8(vload8((k), (p))) << 16)
#endif
#endif

/* Rows of C per work-item (host/gemm.c's LC_GEMM_ROWS). */
#define GEMM_ROWS 64

/* The sum of a float16's lanes, from its named lanes: Oclgrind 21.10's
 * uninitialized-value check (-cl-opt-disable) took the .lo/.hi halves of
 * a float16 for uninitialized. */
inline float hsum16g(const float16 v)
{
    return (((v.s0 + v.s8) + (v.s1 + v.s9)) + ((v.s2 + v.sa) + (v.s3 + v.sb))) +
           (((v.s4 + v.sc) + (v.s5 + v.sd)) + ((v.s6 + v.se) + (v.s7 + v.sf)));
}

inline float hsum8g(const float8 v)
{
    const float4 a = v.lo + v.hi;
    return (a.x + a.y) + (a.z + a.w);
}

/* Whether any of rows r0 .. r0+GEMM_TR-1 (those below M) is read later:
 * the rows are the (step, sequence) pairs of a T x N input, time-major (row
 * t * N + n) or with bf batch-first (row n * T + t), and sequence n reads
 * only its first lens[n] steps (clamped to 1..T, as the step kernels do). */
inline int rows_live(__global const int *restrict lens, const int T, const int N, const int bf,
                     const int M, const int r0)
{
    int live = 0;
    for (int r = r0; r < min(r0 + GEMM_TR, M); r++) {
        const int t = bf ? r % T : r / N, n = bf ? r / T : r % N;
        live |= t < clamp(lens[n], 1, T);
    }
    return live;
}

/* Global size at least (ceil(Nc / 4), ceil(M / GEMM_ROWS)), any local
 * size; items past the columns return at once. Offsets are in floats.
 * With has_lens, C = X W^T of a T x N input with sequence lengths lens
 * (rows as rows_live says): rows past every length are left unwritten
 * (padding in a batch of different lengths costs nothing); lens is not
 * read otherwise and may be NULL. */
__kernel void gemm_nt(const int M, const int Nc, const int K, __global const float *restrict A,
                      const long a_off, __global const WTYPE *restrict B, const long b_off,
                      __global float *restrict C, const long c_off,
                      __global const float *restrict b_scale, __global const int *restrict lens,
                      const int has_lens, const int lT, const int lN, const int lbf)
{
    const int c0 = get_global_id(0) * 4;
    if (c0 >= Nc)
        return;
    const int rb = get_global_id(1) * GEMM_ROWS, re = min(rb + GEMM_ROWS, M);
    __global const WTYPE *b0 = B + b_off + (long)min(c0, Nc - 1) * K;
    __global const WTYPE *b1 = B + b_off + (long)min(c0 + 1, Nc - 1) * K;
    __global const WTYPE *b2 = B + b_off + (long)min(c0 + 2, Nc - 1) * K;
    __global const WTYPE *b3 = B + b_off + (long)min(c0 + 3, Nc - 1) * K;
    const int K8 = K / GEMM_VW;
    for (int r0 = rb; r0 < re; r0 += GEMM_TR) {
        if (has_lens && !rows_live(lens, lT, lN, lbf, M, r0))
            continue;
        __global const float *a0 = A + a_off + (long)r0 * K;
        __global const float *a1 = A + a_off + (long)min(r0 + 1, M - 1) * K;
        floatV s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f;
        floatV s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
#if GEMM_TR == 4
        __global const float *a2 = A + a_off + (long)min(r0 + 2, M - 1) * K;
        __global const float *a3 = A + a_off + (long)min(r0 + 3, M - 1) * K;
        floatV s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f;
        floatV s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
#endif
        for (int k = 0; k < K8; k++) {
            const floatV w0 = LDWV(b0, k), w1 = LDWV(b1, k);
            const floatV w2 = LDWV(b2, k), w3 = LDWV(b3, k);
            const floatV x0 = vloadV(k, a0), x1 = vloadV(k, a1);
            s00 = fma(x0, w0, s00);
            s01 = fma(x0, w1, s01);
            s02 = fma(x0, w2, s02);
            s03 = fma(x0, w3, s03);
            s10 = fma(x1, w0, s10);
            s11 = fma(x1, w1, s11);
            s12 = fma(x1, w2, s12);
            s13 = fma(x1, w3, s13);
#if GEMM_TR == 4
            const floatV x2 = vloadV(k, a2), x3 = vloadV(k, a3);
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
        float r[GEMM_TR][4] = {{hsumV(s00), hsumV(s01), hsumV(s02), hsumV(s03)},
                               {hsumV(s10), hsumV(s11), hsumV(s12), hsumV(s13)},
#if GEMM_TR == 4
                               {hsumV(s20), hsumV(s21), hsumV(s22), hsumV(s23)},
                               {hsumV(s30), hsumV(s31), hsumV(s32), hsumV(s33)},
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
                for (int k = K8 * GEMM_VW; k < K; k++)
                    v = fma(ai[k], LDW(bj, k), v);
#if WPREC == 3
                v *= b_scale[c0 + jj];
#endif
                C[c_off + (long)(r0 + i) * Nc + c0 + jj] = v;
            }
        }
    }
}
