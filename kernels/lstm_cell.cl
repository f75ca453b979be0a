/* lstmcl: the per-step elementwise LSTM kernels.
 *
 * Build options (all required unless marked optional):
 *   -D HID=<H>        hidden size
 *   -D HOUT=<Hout>    output width (projection size, or H)
 *   -D NDIR=<1|2>     directions
 *   -D REV0=<0|1>, -D REV1=<0|1>   direction slot runs backwards in time
 *   -D ACT_F0, ACT_G0, ACT_H0, ACT_F1, ACT_G1, ACT_H1 = lstmcl_activation_kind
 *   -D HAS_PROJ, PEEPHOLE, INPUT_FORGET, HAS_CLIP, CLIP_CELL = 0|1
 *      (CLIP_CELL: h() sees the clipped cell; see lstmcl_model_desc)
 * Gate order i, f, g, o; peepholes i, f, o (lstmcl's internal layout). */

#define ACT_SIGMOID 1
#define ACT_TANH 2
#define ACT_RELU 3
#define ACT_HARD_SIGMOID 4
#define ACT_LEAKY_RELU 5
#define ACT_THRESHOLDED_RELU 6
#define ACT_SCALED_TANH 7
#define ACT_AFFINE 8
#define ACT_ELU 9
#define ACT_SOFTSIGN 10
#define ACT_SOFTPLUS 11

/* `kind` is a build-time constant at every call site, so the switch folds.
 * Every branch stays finite for finite x: no exp of a large positive value. */
inline float act(const int kind, const float x, const float alpha, const float beta)
{
    switch (kind) {
    case ACT_SIGMOID: {
        float e = exp(-fabs(x));
        return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }
    case ACT_TANH:
        return tanh(x);
    case ACT_RELU:
        return fmax(x, 0.0f);
    case ACT_HARD_SIGMOID:
        return clamp(alpha * x + beta, 0.0f, 1.0f);
    case ACT_LEAKY_RELU:
        return x >= 0.0f ? x : alpha * x;
    case ACT_THRESHOLDED_RELU:
        return x > alpha ? x : 0.0f;
    case ACT_SCALED_TANH:
        return alpha * tanh(beta * x);
    case ACT_AFFINE:
        return alpha * x + beta;
    case ACT_ELU:
        return x >= 0.0f ? x : alpha * (exp(x) - 1.0f);
    case ACT_SOFTSIGN:
        return x / (1.0f + fabs(x));
    case ACT_SOFTPLUS:
        return fmax(x, 0.0f) + log1p(exp(-fabs(x)));
    default:
        return NAN;
    }
}

#if HAS_CLIP
#define CLIP(v, k) clamp((v), -(k), (k))
#else
#define CLIP(v, k) (v)
#endif

/* Length of sequence n, clamped to 1..T (the host checks it when it can). */
inline int seq_len_of(__global const int *lens, int has_lens, int n, int T)
{
    return has_lens ? clamp(lens[n], 1, T) : T;
}

/* Time index direction d handles at `step` for a sequence of length len, or
 * -1 when the sequence has ended. */
inline int time_of(int d, int step, int len)
{
    if (step >= len)
        return -1;
    int rev = d == 0 ? REV0 : REV1;
    return rev ? len - 1 - step : step;
}

/* One LSTM step for every (unit j, sequence n, direction d).
 * Preconditions: global size (HID, N, NDIR);
 *   xw: input projections, row (t, n) at xw + t*xw_ts + n*xw_ns (in rows of
 *       NDIR*4*HID floats), direction d's gates at column d*4*HID;
 *   gh: (NDIR, N, 4*HID) recurrent products h(t-1) R^T of this step;
 *   bias (NDIR, 4*HID); peep (NDIR, 3*HID) when PEEPHOLE; actp (NDIR, 3, 2);
 *   c: (NDIR, N, HID), updated in place;
 *   h_prev, h_next: (NDIR, N, HOUT) when !HAS_PROJ; with HAS_PROJ the raw
 *       hidden state goes to h_next as (NDIR, N, HID) and lstm_project
 *       finishes the step;
 *   y (when has_y): element (t, n, d*HOUT + j) at y[t*y_ts + n*y_ns + ...].
 * A sequence past its length keeps its state and gets zeros in y. */
__kernel void lstm_cell(const int step, const int T, const int N,
                        __global const float *restrict xw, const long xw_ts, const long xw_ns,
                        __global const float *restrict gh, __global const float *restrict bias,
                        __global const float *restrict peep, __global const float *restrict actp,
                        const float clip_k, __global const int *restrict lens, const int has_lens,
                        __global float *restrict c, __global const float *restrict h_prev,
                        __global float *restrict h_next, __global float *restrict y,
                        const int has_y, const long y_ts, const long y_ns)
{
    const int j = get_global_id(0);
    const int n = get_global_id(1);
    const int d = get_global_id(2);
    const int len = seq_len_of(lens, has_lens, n, T);
    const int t = time_of(d, step, len);
    const long sidx = ((long)d * N + n) * HID + j;
    if (t < 0) {
#if !HAS_PROJ
        const long hidx = ((long)d * N + n) * HOUT + j;
        h_next[hidx] = h_prev[hidx];
        if (has_y)
            y[step * y_ts + n * y_ns + d * HOUT + j] = 0.0f;
#endif
        return;
    }
    __global const float *gx = xw + t * xw_ts + n * xw_ns + (long)d * 4 * HID;
    __global const float *gr = gh + ((long)d * N + n) * 4 * HID;
    __global const float *b = bias + (long)d * 4 * HID;
    float zi = gx[j] + gr[j] + b[j];
    float zf = gx[HID + j] + gr[HID + j] + b[HID + j];
    float zg = gx[2 * HID + j] + gr[2 * HID + j] + b[2 * HID + j];
    float zo = gx[3 * HID + j] + gr[3 * HID + j] + b[3 * HID + j];
    const float c_prev = c[sidx];
#if PEEPHOLE
    __global const float *p = peep + (long)d * 3 * HID;
    zi += p[j] * c_prev;
    zf += p[HID + j] * c_prev;
#endif
    __global const float *ap = actp + d * 6;
    const int kf = d == 0 ? ACT_F0 : ACT_F1;
    const int kg = d == 0 ? ACT_G0 : ACT_G1;
    const int kh = d == 0 ? ACT_H0 : ACT_H1;
    const float ig = act(kf, CLIP(zi, clip_k), ap[0], ap[1]);
#if INPUT_FORGET
    const float fg = 1.0f - ig;
#else
    const float fg = act(kf, CLIP(zf, clip_k), ap[0], ap[1]);
#endif
    const float gg = act(kg, CLIP(zg, clip_k), ap[2], ap[3]);
    const float cn = fg * c_prev + ig * gg;
#if PEEPHOLE
    zo += p[2 * HID + j] * cn;
#endif
    const float og = act(kf, CLIP(zo, clip_k), ap[0], ap[1]);
#if HAS_CLIP && CLIP_CELL
    const float h = og * act(kh, CLIP(cn, clip_k), ap[4], ap[5]);
#else
    const float h = og * act(kh, cn, ap[4], ap[5]);
#endif
    c[sidx] = cn;
#if HAS_PROJ
    h_next[sidx] = h; /* raw hidden state, projected by lstm_project */
#else
    h_next[((long)d * N + n) * HOUT + j] = h;
    if (has_y)
        y[t * y_ts + n * y_ns + d * HOUT + j] = h;
#endif
}

/* Finishes a step of a projected LSTM: hp = h_raw W_hr^T was computed by a
 * GEMM. Preconditions: global size (HOUT, N, NDIR); hp, h_prev, h_next
 * (NDIR, N, HOUT); y as in lstm_cell. */
__kernel void lstm_project(const int step, const int T, const int N,
                           __global const float *restrict hp, __global const int *restrict lens,
                           const int has_lens, __global const float *restrict h_prev,
                           __global float *restrict h_next, __global float *restrict y,
                           const int has_y, const long y_ts, const long y_ns)
{
    const int j = get_global_id(0);
    const int n = get_global_id(1);
    const int d = get_global_id(2);
    const int len = seq_len_of(lens, has_lens, n, T);
    const int t = time_of(d, step, len);
    const long hidx = ((long)d * N + n) * HOUT + j;
    if (t < 0) {
        h_next[hidx] = h_prev[hidx];
        if (has_y)
            y[step * y_ts + n * y_ns + d * HOUT + j] = 0.0f;
        return;
    }
    const float v = hp[hidx];
    h_next[hidx] = v;
    if (has_y)
        y[t * y_ts + n * y_ns + d * HOUT + j] = v;
}
