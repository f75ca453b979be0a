/* lstmcl: the per-step LSTM kernels: the elementwise cell update after a
 * GEMM (lstm_cell, lstm_project) and the fused step (lstm_step, lstm_step2,
 * lstm_step4, lstm_project_step).
 *
 * Build options (all required unless marked optional):
 *   -D HID=<H>        hidden size
 *   -D HOUT=<Hout>    output width (projection size, or H)
 *   -D NDIR=<1|2>     directions
 *   -D REV0=<0|1>, -D REV1=<0|1>   direction slot runs backwards in time
 *   -D ACT_F0, ACT_G0, ACT_H0, ACT_F1, ACT_G1, ACT_H1 = lstmcl_activation_kind
 *   -D HAS_PROJ, PEEPHOLE, INPUT_FORGET, HAS_CLIP, CLIP_CELL = 0|1
 *      (CLIP_CELL: h() sees the clipped cell; see lstmcl_model_desc)
 *   -D WG_J=<n> (optional, default 64): work-group size of the fused kernels
 *   -D FUSED_ROWS=<0|1> (optional, default 0): weight layout of the fused
 *      kernels (see lstm_step)
 *   -D FUSED=<0|1>, MULTI=<0|1> (optional, default 1): build the fused
 *      kernels, and those for 2 and 4 sequences per work-item; off when
 *      their local arrays would not fit the device (some compilers reject
 *      the whole program then)
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

/* The cell update of unit j of sequence n, direction d, at time t, given
 * the four gates' summed products r* = h(t-1) R^T (without input
 * projection and bias, which are added here). Writes c, the new hidden
 * value (raw, before a projection, when HAS_PROJ) and y. */
inline void cell_update(const int j, const int n, const int d, const int t, const int N,
                        const float ri, const float rf, const float rg, const float ro,
                        __global const float *restrict xw, const long xw_ts, const long xw_ns,
                        __global const float *restrict bias, __global const float *restrict peep,
                        __global const float *restrict actp, const float clip_k,
                        __global float *restrict c, __global float *restrict h_next,
                        __global float *restrict y, const int has_y, const long y_ts,
                        const long y_ns)
{
    const long sidx = ((long)d * N + n) * HID + j;
    __global const float *gx = xw + t * xw_ts + n * xw_ns + (long)d * 4 * HID;
    __global const float *b = bias + (long)d * 4 * HID;
    float zi = gx[j] + ri + b[j];
    float zf = gx[HID + j] + rf + b[HID + j];
    float zg = gx[2 * HID + j] + rg + b[2 * HID + j];
    float zo = gx[3 * HID + j] + ro + b[3 * HID + j];
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
    h_next[sidx] = h; /* raw hidden state, projected before it is committed */
#else
    h_next[((long)d * N + n) * HOUT + j] = h;
    if (has_y)
        y[t * y_ts + n * y_ns + d * HOUT + j] = h;
#endif
}

/* A sequence that has ended keeps its state and gets zeros in y (at row
 * `step`, so that every row past its length is written once). */
inline void hold_state(const int j, const int n, const int d, const int step, const int N,
                       __global const float *restrict h_prev, __global float *restrict h_next,
                       __global float *restrict y, const int has_y, const long y_ts,
                       const long y_ns)
{
    const long hidx = ((long)d * N + n) * HOUT + j;
    h_next[hidx] = h_prev[hidx];
    if (has_y)
        y[step * y_ts + n * y_ns + d * HOUT + j] = 0.0f;
}

/* One LSTM step for every (unit j, sequence n, direction d), after a GEMM
 * computed the recurrent products.
 * Preconditions: global size (HID, N, NDIR);
 *   xw: input projections, row (t, n) at xw + t*xw_ts + n*xw_ns (in rows of
 *       NDIR*4*HID floats), direction d's gates at column d*4*HID;
 *   gh: (NDIR, N, 4*HID) recurrent products h(t-1) R^T of this step;
 *   bias (NDIR, 4*HID); peep (NDIR, 3*HID) when PEEPHOLE; actp (NDIR, 3, 2);
 *   c: (NDIR, N, HID), updated in place;
 *   h_prev, h_next: (NDIR, N, HOUT) when !HAS_PROJ; with HAS_PROJ the raw
 *       hidden state goes to h_next as (NDIR, N, HID) and a projection
 *       kernel finishes the step;
 *   y (when has_y): element (t, n, d*HOUT + j) at y[t*y_ts + n*y_ns + ...]. */
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
    const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T));
    if (t < 0) {
#if !HAS_PROJ
        hold_state(j, n, d, step, N, h_prev, h_next, y, has_y, y_ts, y_ns);
#endif
        return;
    }
    __global const float *gr = gh + ((long)d * N + n) * 4 * HID;
    cell_update(j, n, d, t, N, gr[j], gr[HID + j], gr[2 * HID + j], gr[3 * HID + j], xw, xw_ts,
                xw_ns, bias, peep, actp, clip_k, c, h_next, y, has_y, y_ts, y_ns);
}

#ifndef WG_J
#define WG_J 64
#endif

#ifndef FUSED_ROWS
#define FUSED_ROWS 0
#endif
#ifndef FUSED
#define FUSED 1
#endif
#ifndef MULTI
#define MULTI 1
#endif

#if FUSED
#define HOUT_PAD ((HOUT + 7) / 8 * 8)
#define HID_PAD ((HID + 7) / 8 * 8)

inline float hsum8(const float8 v)
{
    const float4 a = v.lo + v.hi;
    return (a.x + a.y) + (a.z + a.w);
}

/* Copies `count` floats of src to local memory, zero-padded to `padded`
 * (the work-group's items share the copy). */
inline void copy_padded(__local float *dst, __global const float *src, const int count,
                        const int padded)
{
    for (int k = get_local_id(0); k < padded; k += WG_J)
        dst[k] = k < count ? src[k] : 0.0f;
}

/* Stages `count` floats of src in local memory, zero-padded to `padded`. */
inline void stage(__local float *dst, __global const float *src, const int count,
                  const int padded)
{
    copy_padded(dst, src, count, padded);
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* Stages h(t-1) of sequences n0 .. n0+seqs-1 of direction d, each padded to
 * HOUT_PAD floats. Sequences past N stage a copy of the last one; their sums
 * are never used. */
inline void stage_seqs(__local float *dst, __global const float *h_prev, const int d,
                       const int N, const int n0, const int seqs)
{
    for (int b = 0; b < seqs; b++)
        copy_padded(dst + b * HOUT_PAD, h_prev + ((long)d * N + min(n0 + b, N - 1)) * HOUT,
                    HOUT, HOUT_PAD);
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* The fused step: one launch computes, for every (unit j, sequence n,
 * direction d), the recurrent products of unit j's four gates and its cell
 * update, with h(t-1) of the work-group's sequence staged in local memory.
 * Two weight layouts (the host arranges the weights to match):
 *   FUSED_ROWS 0, wr = R transposed, (NDIR, HOUT, 4*HID): for each k the
 *     work-items of consecutive units read consecutive weights (coalesced
 *     on GPUs);
 *   FUSED_ROWS 1, wr = (NDIR, HID, 4, HOUT_PAD): unit j's four rows side by
 *     side, zero-padded to a multiple of 8, read as float8 by one work-item
 *     (vector units on CPUs).
 * Preconditions: global size (ceil(HID / WG_J) * WG_J, N, NDIR), local size
 * (WG_J, 1, 1); HOUT_PAD floats of local memory; other arguments as
 * lstm_cell. */
__kernel __attribute__((reqd_work_group_size(WG_J, 1, 1))) void
lstm_step(const int step, const int T, const int N, __global const float *restrict xw,
          const long xw_ts, const long xw_ns, __global const float *restrict wr,
          __global const float *restrict bias, __global const float *restrict peep,
          __global const float *restrict actp, const float clip_k,
          __global const int *restrict lens, const int has_lens, __global float *restrict c,
          __global const float *restrict h_prev, __global float *restrict h_next,
          __global float *restrict y, const int has_y, const long y_ts, const long y_ns)
{
    const int j = get_global_id(0);
    const int n = get_global_id(1);
    const int d = get_global_id(2);
    __local float8 hs8[HOUT_PAD / 8];
    __local float *hs = (__local float *)hs8;
    stage(hs, h_prev + ((long)d * N + n) * HOUT, HOUT, HOUT_PAD);
    if (j >= HID)
        return;
    const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T));
    if (t < 0) {
#if !HAS_PROJ
        hold_state(j, n, d, step, N, h_prev, h_next, y, has_y, y_ts, y_ns);
#endif
        return;
    }
#if FUSED_ROWS
    __global const float8 *w = (__global const float8 *)(wr + ((long)d * HID + j) * 4 * HOUT_PAD);
    float8 ai = 0.0f, af = 0.0f, ag = 0.0f, ao = 0.0f;
    for (int k = 0; k < HOUT_PAD / 8; k++) {
        const float8 hk = hs8[k];
        ai = fma(w[k], hk, ai);
        af = fma(w[HOUT_PAD / 8 + k], hk, af);
        ag = fma(w[2 * (HOUT_PAD / 8) + k], hk, ag);
        ao = fma(w[3 * (HOUT_PAD / 8) + k], hk, ao);
    }
    const float ri = hsum8(ai), rf = hsum8(af), rg = hsum8(ag), ro = hsum8(ao);
#else
    __global const float *w = wr + (long)d * HOUT * 4 * HID + j;
    float ri = 0.0f, rf = 0.0f, rg = 0.0f, ro = 0.0f;
    for (int k = 0; k < HOUT; k++, w += 4 * HID) {
        const float hk = hs[k];
        ri = fma(w[0], hk, ri);
        rf = fma(w[HID], hk, rf);
        rg = fma(w[2 * HID], hk, rg);
        ro = fma(w[3 * HID], hk, ro);
    }
#endif
    cell_update(j, n, d, t, N, ri, rf, rg, ro, xw, xw_ts, xw_ns, bias, peep, actp, clip_k, c,
                h_next, y, has_y, y_ts, y_ns);
}

#if FUSED_ROWS && MULTI
/* Commits sequence n's step from its four summed products (lstm_step2/4). */
inline void finish_seq(const int j, const int n, const int d, const int step, const int T,
                       const int N, const float ri, const float rf, const float rg,
                       const float ro, __global const float *restrict xw, const long xw_ts,
                       const long xw_ns, __global const float *restrict bias,
                       __global const float *restrict peep, __global const float *restrict actp,
                       const float clip_k, __global const int *restrict lens, const int has_lens,
                       __global float *restrict c, __global const float *restrict h_prev,
                       __global float *restrict h_next, __global float *restrict y,
                       const int has_y, const long y_ts, const long y_ns)
{
    if (n >= N)
        return;
    const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T));
    if (t < 0) {
#if !HAS_PROJ
        hold_state(j, n, d, step, N, h_prev, h_next, y, has_y, y_ts, y_ns);
#endif
        return;
    }
    cell_update(j, n, d, t, N, ri, rf, rg, ro, xw, xw_ts, xw_ns, bias, peep, actp, clip_k, c,
                h_next, y, has_y, y_ts, y_ns);
}

/* lstm_step for two sequences per work-item (rows layout): one pass, 4
 * gates x 2 sequences = 8 float8 sums in named registers.
 * Preconditions: global size (ceil(HID / WG_J) * WG_J, ceil(N / 2), NDIR),
 * local size (WG_J, 1, 1); 2 * HOUT_PAD floats of local memory; other
 * arguments as lstm_step. */
__kernel __attribute__((reqd_work_group_size(WG_J, 1, 1))) void
lstm_step2(const int step, const int T, const int N, __global const float *restrict xw,
           const long xw_ts, const long xw_ns, __global const float *restrict wr,
           __global const float *restrict bias, __global const float *restrict peep,
           __global const float *restrict actp, const float clip_k,
           __global const int *restrict lens, const int has_lens, __global float *restrict c,
           __global const float *restrict h_prev, __global float *restrict h_next,
           __global float *restrict y, const int has_y, const long y_ts, const long y_ns)
{
    const int j = get_global_id(0);
    const int n0 = get_global_id(1) * 2;
    const int d = get_global_id(2);
    const int KB = HOUT_PAD / 8;
    __local float8 hs8[2 * (HOUT_PAD / 8)];
    stage_seqs((__local float *)hs8, h_prev, d, N, n0, 2);
    if (j >= HID)
        return;
    __global const float8 *w = (__global const float8 *)(wr + ((long)d * HID + j) * 4 * HOUT_PAD);
    __local const float8 *x0 = hs8, *x1 = hs8 + KB;
    float8 i0 = 0.0f, i1 = 0.0f, f0 = 0.0f, f1 = 0.0f, g0 = 0.0f, g1 = 0.0f, o0 = 0.0f,
           o1 = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 wi = w[k], wf = w[KB + k], wg = w[2 * KB + k], wo = w[3 * KB + k];
        const float8 h0 = x0[k], h1 = x1[k];
        i0 = fma(wi, h0, i0);
        i1 = fma(wi, h1, i1);
        f0 = fma(wf, h0, f0);
        f1 = fma(wf, h1, f1);
        g0 = fma(wg, h0, g0);
        g1 = fma(wg, h1, g1);
        o0 = fma(wo, h0, o0);
        o1 = fma(wo, h1, o1);
    }
    finish_seq(j, n0, d, step, T, N, hsum8(i0), hsum8(f0), hsum8(g0), hsum8(o0), xw, xw_ts,
               xw_ns, bias, peep, actp, clip_k, lens, has_lens, c, h_prev, h_next, y, has_y,
               y_ts, y_ns);
    finish_seq(j, n0 + 1, d, step, T, N, hsum8(i1), hsum8(f1), hsum8(g1), hsum8(o1), xw, xw_ts,
               xw_ns, bias, peep, actp, clip_k, lens, has_lens, c, h_prev, h_next, y, has_y,
               y_ts, y_ns);
}

/* lstm_step for four sequences per work-item (rows layout): each weight is
 * read once per four sequences instead of once per sequence. Two passes
 * (gates i, f, then g, o) keep 8 float8 sums in registers; the tile is
 * written out in named variables because PoCL keeps private arrays in
 * memory.
 * Preconditions: global size (ceil(HID / WG_J) * WG_J, ceil(N / 4), NDIR),
 * local size (WG_J, 1, 1); 4 * HOUT_PAD floats of local memory; other
 * arguments as lstm_step. */
__kernel __attribute__((reqd_work_group_size(WG_J, 1, 1))) void
lstm_step4(const int step, const int T, const int N, __global const float *restrict xw,
           const long xw_ts, const long xw_ns, __global const float *restrict wr,
           __global const float *restrict bias, __global const float *restrict peep,
           __global const float *restrict actp, const float clip_k,
           __global const int *restrict lens, const int has_lens, __global float *restrict c,
           __global const float *restrict h_prev, __global float *restrict h_next,
           __global float *restrict y, const int has_y, const long y_ts, const long y_ns)
{
    const int j = get_global_id(0);
    const int n0 = get_global_id(1) * 4;
    const int d = get_global_id(2);
    const int KB = HOUT_PAD / 8;
    __local float8 hs8[4 * (HOUT_PAD / 8)];
    stage_seqs((__local float *)hs8, h_prev, d, N, n0, 4);
    if (j >= HID)
        return;
    __global const float8 *w = (__global const float8 *)(wr + ((long)d * HID + j) * 4 * HOUT_PAD);
    __local const float8 *x0 = hs8, *x1 = hs8 + KB, *x2 = hs8 + 2 * KB, *x3 = hs8 + 3 * KB;
    float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, b0 = 0.0f, b1 = 0.0f, b2 = 0.0f,
           b3 = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 wi = w[k], wf = w[KB + k];
        const float8 h0 = x0[k], h1 = x1[k], h2 = x2[k], h3 = x3[k];
        a0 = fma(wi, h0, a0);
        a1 = fma(wi, h1, a1);
        a2 = fma(wi, h2, a2);
        a3 = fma(wi, h3, a3);
        b0 = fma(wf, h0, b0);
        b1 = fma(wf, h1, b1);
        b2 = fma(wf, h2, b2);
        b3 = fma(wf, h3, b3);
    }
    const float ri0 = hsum8(a0), ri1 = hsum8(a1), ri2 = hsum8(a2), ri3 = hsum8(a3);
    const float rf0 = hsum8(b0), rf1 = hsum8(b1), rf2 = hsum8(b2), rf3 = hsum8(b3);
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 wg = w[2 * KB + k], wo = w[3 * KB + k];
        const float8 h0 = x0[k], h1 = x1[k], h2 = x2[k], h3 = x3[k];
        a0 = fma(wg, h0, a0);
        a1 = fma(wg, h1, a1);
        a2 = fma(wg, h2, a2);
        a3 = fma(wg, h3, a3);
        b0 = fma(wo, h0, b0);
        b1 = fma(wo, h1, b1);
        b2 = fma(wo, h2, b2);
        b3 = fma(wo, h3, b3);
    }
#define LC_FINISH(b, g, o)                                                                    \
    finish_seq(j, n0 + b, d, step, T, N, ri##b, rf##b, hsum8(g), hsum8(o), xw, xw_ts, xw_ns, \
               bias, peep, actp, clip_k, lens, has_lens, c, h_prev, h_next, y, has_y, y_ts,  \
               y_ns)
    LC_FINISH(0, a0, b0);
    LC_FINISH(1, a1, b1);
    LC_FINISH(2, a2, b2);
    LC_FINISH(3, a3, b3);
#undef LC_FINISH
}
#endif

#if HAS_PROJ
/* The fused projection: h = h_raw W_hr^T, then the step is committed as
 * lstm_project does. Weight layouts as lstm_step's:
 *   FUSED_ROWS 0, wp = W_hr transposed, (NDIR, HID, HOUT);
 *   FUSED_ROWS 1, wp = (NDIR, HOUT, HID_PAD), rows zero-padded.
 * Preconditions: global size (ceil(HOUT / WG_J) * WG_J, N, NDIR), local
 * size (WG_J, 1, 1); HID_PAD floats of local memory; hraw (NDIR, N, HID). */
__kernel __attribute__((reqd_work_group_size(WG_J, 1, 1))) void
lstm_project_step(const int step, const int T, const int N, __global const float *restrict hraw,
                  __global const float *restrict wp, __global const int *restrict lens,
                  const int has_lens, __global const float *restrict h_prev,
                  __global float *restrict h_next, __global float *restrict y, const int has_y,
                  const long y_ts, const long y_ns)
{
    const int j = get_global_id(0);
    const int n = get_global_id(1);
    const int d = get_global_id(2);
    __local float8 hs8[HID_PAD / 8];
    __local float *hs = (__local float *)hs8;
    stage(hs, hraw + ((long)d * N + n) * HID, HID, HID_PAD);
    if (j >= HOUT)
        return;
    const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T));
    if (t < 0) {
        hold_state(j, n, d, step, N, h_prev, h_next, y, has_y, y_ts, y_ns);
        return;
    }
#if FUSED_ROWS
    __global const float8 *w = (__global const float8 *)(wp + ((long)d * HOUT + j) * HID_PAD);
    float8 acc = 0.0f;
    for (int k = 0; k < HID_PAD / 8; k++)
        acc = fma(w[k], hs8[k], acc);
    const float v = hsum8(acc);
#else
    __global const float *w = wp + (long)d * HID * HOUT + j;
    float v = 0.0f;
    for (int k = 0; k < HID; k++, w += HOUT)
        v = fma(*w, hs[k], v);
#endif
    h_next[((long)d * N + n) * HOUT + j] = v;
    if (has_y)
        y[t * y_ts + n * y_ns + d * HOUT + j] = v;
}
#endif

#endif /* FUSED */

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
    const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T));
    if (t < 0) {
        hold_state(j, n, d, step, N, h_prev, h_next, y, has_y, y_ts, y_ns);
        return;
    }
    const long hidx = ((long)d * N + n) * HOUT + j;
    const float v = hp[hidx];
    h_next[hidx] = v;
    if (has_y)
        y[t * y_ts + n * y_ns + d * HOUT + j] = v;
}
