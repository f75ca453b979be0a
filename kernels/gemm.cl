/* lstmcl: the input-projection GEMM for CPU devices.
 *
 * C (M x Nc) = A (M x K) B^T, B (Nc x K): both operands row-major with K
 * contiguous, as the input projection X W^T is. Each work-item computes a
 * TM x TN tile of C with float8 partial sums along K, sized for the 16
 * vector registers of an AVX2 core (8 accumulators, 6 operand loads per
 * step of 8). GPUs use CLBlast's tuned SGEMM instead.
 *
 * Build options: -D TM=<rows per item> -D TN=<columns per item> (optional,
 * default 2 x 4). No preconditions on M, Nc, K or alignment. */

#ifndef TM
#define TM 2
#endif
#ifndef TN
#define TN 4
#endif

inline float hsum8g(const float8 v)
{
    const float4 a = v.lo + v.hi;
    return (a.x + a.y) + (a.z + a.w);
}

/* Global size (ceil(Nc / TN), ceil(M / TM)). Offsets are in floats. */
__kernel void gemm_nt(const int M, const int Nc, const int K, __global const float *restrict A,
                      const long a_off, __global const float *restrict B, const long b_off,
                      __global float *restrict C, const long c_off)
{
    const int c0 = get_global_id(0) * TN;
    const int r0 = get_global_id(1) * TM;
    __global const float *a[TM];
    __global const float *b[TN];
    for (int i = 0; i < TM; i++)
        a[i] = A + a_off + (long)min(r0 + i, M - 1) * K;
    for (int jj = 0; jj < TN; jj++)
        b[jj] = B + b_off + (long)min(c0 + jj, Nc - 1) * K;
    float8 acc[TM][TN];
    for (int i = 0; i < TM; i++)
        for (int jj = 0; jj < TN; jj++)
            acc[i][jj] = 0.0f;
    const int K8 = K / 8;
    for (int k = 0; k < K8; k++) {
        float8 av[TM], bv[TN];
        for (int i = 0; i < TM; i++)
            av[i] = vload8(k, a[i]);
        for (int jj = 0; jj < TN; jj++)
            bv[jj] = vload8(k, b[jj]);
        for (int i = 0; i < TM; i++)
            for (int jj = 0; jj < TN; jj++)
                acc[i][jj] = fma(av[i], bv[jj], acc[i][jj]);
    }
    for (int i = 0; i < TM; i++) {
        if (r0 + i >= M)
            break;
        for (int jj = 0; jj < TN; jj++) {
            if (c0 + jj >= Nc)
                break;
            float s = hsum8g(acc[i][jj]);
            for (int k = K8 * 8; k < K; k++)
                s = fma(a[i][k], b[jj][k], s);
            C[c_off + (long)(r0 + i) * Nc + c0 + jj] = s;
        }
    }
}
