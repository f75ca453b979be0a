/* lstmcl: the LSTM step kernels: the elementwise cell update after a GEMM
 * (lstm_cell, lstm_project), the fused step (lstm_step, lstm_step2,
 * lstm_step4, lstm_project_step) and the persistent kernel that runs all
 * steps of a layer in one launch (lstm_persist; its options there).
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
 *   -D PERSIST=<0|1> (optional, default 0): build lstm_persist
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

/* act(kind, x, alpha, beta) for float, act8 for float8 (defined from one
 * text so that both compute the same thing). `kind` is a build-time
 * constant at every call site, so the switch folds. Every result stays
 * finite for finite x: no exp of a large positive value is returned (act8
 * evaluates both sides of a ?: and selects per lane, so ELU's discarded
 * side may be inf; the build uses no finite-math option). */
#define LC_DEFINE_ACT(NAME, T)                                                            \
    inline T NAME(const int kind, const T x, const float alpha, const float beta)        \
    {                                                                                     \
        switch (kind) {                                                                   \
        case ACT_SIGMOID: {                                                               \
            const T e = exp(-fabs(x));                                                    \
            return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);                        \
        }                                                                                 \
        case ACT_TANH:                                                                    \
            return tanh(x);                                                               \
        case ACT_RELU:                                                                    \
            return fmax(x, 0.0f);                                                         \
        case ACT_HARD_SIGMOID:                                                            \
            return clamp(alpha * x + beta, 0.0f, 1.0f);                                   \
        case ACT_LEAKY_RELU:                                                              \
            return x >= 0.0f ? x : alpha * x;                                             \
        case ACT_THRESHOLDED_RELU:                                                        \
            return x > alpha ? x : (T)(0.0f);                                             \
        case ACT_SCALED_TANH:                                                             \
            return alpha * tanh(beta * x);                                                \
        case ACT_AFFINE:                                                                  \
            return alpha * x + beta;                                                      \
        case ACT_ELU:                                                                     \
            return x >= 0.0f ? x : alpha * (exp(x) - 1.0f);                               \
        case ACT_SOFTSIGN:                                                                \
            return x / (1.0f + fabs(x));                                                  \
        case ACT_SOFTPLUS:                                                                \
            return fmax(x, 0.0f) + log1p(exp(-fabs(x)));                                  \
        default:                                                                          \
            return (T)(NAN);                                                              \
        }                                                                                 \
    }
LC_DEFINE_ACT(act, float)

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
 * value (raw, before a projection, when HAS_PROJ) and y.
 * cell_update does one unit; cell_update8 (rows layout) units j .. j+7 of
 * one direction, with float8 arithmetic. Both come from one text, with
 * LD/ST loading and storing a T; the build options are tested with `if`
 * there, which the compiler folds. */
#define LC_LD1(p) (*(p))
#define LC_ST1(p, v) (*(p) = (v))
#define LC_LD8(p) vload8(0, (p))
#define LC_ST8(p, v) vstore8((v), 0, (p))
#define LC_DEFINE_CELL(NAME, T, ACT, LD, ST)                                              \
    inline void NAME(const int j, const int n, const int d, const int t, const int N,     \
                     const T ri, const T rf, const T rg, const T ro,                      \
                     __global const float *restrict xw, const long xw_ts,                 \
                     const long xw_ns, __global const float *restrict bias,               \
                     __global const float *restrict peep,                                 \
                     __global const float *restrict actp, const float clip_k,             \
                     __global float *restrict c, __global float *restrict h_next,         \
                     __global float *restrict y, const int has_y, const long y_ts,        \
                     const long y_ns)                                                     \
    {                                                                                     \
        const long sidx = ((long)d * N + n) * HID + j;                                    \
        __global const float *gx = xw + t * xw_ts + n * xw_ns + (long)d * 4 * HID + j;    \
        __global const float *b = bias + (long)d * 4 * HID + j;                           \
        __global const float *p = peep + (PEEPHOLE ? (long)d * 3 * HID + j : 0);          \
        T zi = LD(gx) + ri + LD(b);                                                       \
        T zf = LD(gx + HID) + rf + LD(b + HID);                                           \
        const T zg = LD(gx + 2 * HID) + rg + LD(b + 2 * HID);                             \
        T zo = LD(gx + 3 * HID) + ro + LD(b + 3 * HID);                                   \
        const T c_prev = LD(c + sidx);                                                    \
        if (PEEPHOLE) {                                                                   \
            zi += LD(p) * c_prev;                                                         \
            zf += LD(p + HID) * c_prev;                                                   \
        }                                                                                 \
        __global const float *ap = actp + d * 6;                                          \
        const int kf = d == 0 ? ACT_F0 : ACT_F1;                                          \
        const int kg = d == 0 ? ACT_G0 : ACT_G1;                                          \
        const int kh = d == 0 ? ACT_H0 : ACT_H1;                                          \
        const T ig = ACT(kf, CLIP(zi, clip_k), ap[0], ap[1]);                             \
        const T fg = INPUT_FORGET ? 1.0f - ig : ACT(kf, CLIP(zf, clip_k), ap[0], ap[1]);  \
        const T gg = ACT(kg, CLIP(zg, clip_k), ap[2], ap[3]);                             \
        const T cn = fg * c_prev + ig * gg;                                               \
        if (PEEPHOLE)                                                                     \
            zo += LD(p + 2 * HID) * cn;                                                   \
        const T og = ACT(kf, CLIP(zo, clip_k), ap[0], ap[1]);                             \
        const T h = og * ACT(kh, HAS_CLIP && CLIP_CELL ? CLIP(cn, clip_k) : cn, ap[4],    \
                             ap[5]);                                                      \
        ST(c + sidx, cn);                                                                 \
        if (HAS_PROJ) {                                                                   \
            ST(h_next + sidx, h); /* raw hidden state, projected before it is committed */ \
        } else {                                                                          \
            ST(h_next + ((long)d * N + n) * HOUT + j, h);                                 \
            if (has_y)                                                                    \
                ST(y + t * y_ts + n * y_ns + d * HOUT + j, h);                            \
        }                                                                                 \
    }
LC_DEFINE_CELL(cell_update, float, act, LC_LD1, LC_ST1)

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

#if FUSED_ROWS
LC_DEFINE_ACT(act8, float8)
LC_DEFINE_CELL(cell_update8, float8, act8, LC_LD8, LC_ST8)

/* Unit j's four gate sums (i, f, g, o) against 1, 2 or 4 staged sequences
 * (HOUT_PAD floats apart), rows layout. */
inline float4 dot_seq1(__global const float8 *w, __local const float8 *x)
{
    const int KB = HOUT_PAD / 8;
    float8 ai = 0.0f, af = 0.0f, ag = 0.0f, ao = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 hk = x[k];
        ai = fma(w[k], hk, ai);
        af = fma(w[KB + k], hk, af);
        ag = fma(w[2 * KB + k], hk, ag);
        ao = fma(w[3 * KB + k], hk, ao);
    }
    return (float4)(hsum8(ai), hsum8(af), hsum8(ag), hsum8(ao));
}

inline float8 dot_seq2(__global const float8 *w, __local const float8 *x)
{
    const int KB = HOUT_PAD / 8;
    __local const float8 *x1 = x + KB;
    float8 i0 = 0.0f, i1 = 0.0f, f0 = 0.0f, f1 = 0.0f, g0 = 0.0f, g1 = 0.0f, o0 = 0.0f,
           o1 = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 wi = w[k], wf = w[KB + k], wg = w[2 * KB + k], wo = w[3 * KB + k];
        const float8 h0 = x[k], h1 = x1[k];
        i0 = fma(wi, h0, i0);
        i1 = fma(wi, h1, i1);
        f0 = fma(wf, h0, f0);
        f1 = fma(wf, h1, f1);
        g0 = fma(wg, h0, g0);
        g1 = fma(wg, h1, g1);
        o0 = fma(wo, h0, o0);
        o1 = fma(wo, h1, o1);
    }
    return (float8)(hsum8(i0), hsum8(f0), hsum8(g0), hsum8(o0), hsum8(i1), hsum8(f1),
                    hsum8(g1), hsum8(o1));
}

/* Two gates (rows a and b of w) against four sequences. */
inline float8 dot_pair4(__global const float8 *wa, __global const float8 *wb,
                        __local const float8 *x)
{
    const int KB = HOUT_PAD / 8;
    __local const float8 *x1 = x + KB, *x2 = x + 2 * KB, *x3 = x + 3 * KB;
    float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, b0 = 0.0f, b1 = 0.0f, b2 = 0.0f,
           b3 = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 u = wa[k], v = wb[k];
        const float8 h0 = x[k], h1 = x1[k], h2 = x2[k], h3 = x3[k];
        a0 = fma(u, h0, a0);
        a1 = fma(u, h1, a1);
        a2 = fma(u, h2, a2);
        a3 = fma(u, h3, a3);
        b0 = fma(v, h0, b0);
        b1 = fma(v, h1, b1);
        b2 = fma(v, h2, b2);
        b3 = fma(v, h3, b3);
    }
    return (float8)(hsum8(a0), hsum8(a1), hsum8(a2), hsum8(a3), hsum8(b0), hsum8(b1),
                    hsum8(b2), hsum8(b3));
}
#endif

/* Commits (or holds) sequence n of unit j, direction d, from its gate sums
 * (i, f, g, o); hs is sequence n's staged h(t-1) of direction d (a
 * sequence that has ended keeps its h, copied from there). finish_cell
 * does one unit, finish_cell8 (rows layout) units j .. j+7. */
#define LC_DEFINE_FINISH(NAME, T, CELL, LD, ST)                                            \
    inline void NAME(const int j, const int n, const int d, const int step, const int T_,  \
                     const int N, const T ri, const T rf, const T rg, const T ro,          \
                     __local const float *hs, __global const float *restrict xw,          \
                     const long xw_ts, const long xw_ns, __global const float *restrict bias, \
                     __global const float *restrict peep,                                 \
                     __global const float *restrict actp, const float clip_k,             \
                     __global const int *restrict lens, const int has_lens,               \
                     __global float *restrict c, __global float *restrict h_next,         \
                     __global float *restrict y, const int has_y, const long y_ts,        \
                     const long y_ns)                                                     \
    {                                                                                     \
        if (n >= N)                                                                       \
            return;                                                                       \
        const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T_));                \
        if (t >= 0) {                                                                     \
            CELL(j, n, d, t, N, ri, rf, rg, ro, xw, xw_ts, xw_ns, bias, peep, actp, clip_k, \
                 c, h_next, y, has_y, y_ts, y_ns);                                        \
        } else if (!HAS_PROJ) {                                                           \
            ST(h_next + ((long)d * N + n) * HOUT + j, LD(hs + j));                        \
            if (has_y)                                                                    \
                ST(y + step * y_ts + n * y_ns + d * HOUT + j, (T)(0.0f));                 \
        }                                                                                 \
    }
LC_DEFINE_FINISH(finish_cell, float, cell_update, LC_LD1, LC_ST1)

#if FUSED_ROWS
LC_DEFINE_FINISH(finish_cell8, float8, cell_update8, LC_LD8, LC_ST8)

/* Stores gate sums s (i, f, g, o) of the b-th sequence of a chunk at
 * gs[(b * 4 + gate) * WG_J], gs pointing at the item's unit. */
inline void put_sums(__local float *gs, const int b, const float4 s)
{
    gs[b * 4 * WG_J] = s.x;
    gs[(b * 4 + 1) * WG_J] = s.y;
    gs[(b * 4 + 2) * WG_J] = s.z;
    gs[(b * 4 + 3) * WG_J] = s.w;
}

/* The rows layout's cell updates, after each item of the group put its
 * unit's gate sums in local memory: units ua0 .. ua0+WG_J-1 of the NDIR*HID
 * (those below ua1), sequences n0 .. n0+seqs-1, sums of unit ua0+l,
 * sequence n0+b at gsum[(b * 4 + gate) * WG_J + l]. Each item takes 8 units
 * of one sequence and updates them in float8 when they lie in one
 * direction (the exp and tanh of the activations cost more than the
 * products at small H when done one unit at a time), one by one
 * otherwise. Sequence n0+b of direction d is staged at hs + (d * dseqs +
 * b) * HOUT_PAD. */
inline void finish_chunk(__local const float *gsum, const int ua0, const int ua1,
                         const int n0, const int seqs, __local const float *hs,
                         const int dseqs, const int step, const int T, const int N,
                         __global const float *restrict xw, const long xw_ts, const long xw_ns,
                         __global const float *restrict bias, __global const float *restrict peep,
                         __global const float *restrict actp, const float clip_k,
                         __global const int *restrict lens, const int has_lens,
                         __global float *restrict c, __global float *restrict h_next,
                         __global float *restrict y, const int has_y, const long y_ts,
                         const long y_ns)
{
    const int NB = (WG_J + 7) / 8;
    for (int eb = 0; eb < NB * seqs; eb += WG_J) {
        const int e = eb + get_local_id(0);
        if (e >= NB * seqs)
            continue;
        const int l0 = e % NB * 8, b = e / NB, ua = ua0 + l0;
        __local const float *gs = gsum + b * 4 * WG_J + l0;
        if (l0 + 8 <= WG_J && ua + 8 <= ua1 && ua / HID == (ua + 7) / HID) {
            const int d = ua / HID;
            finish_cell8(ua % HID, n0 + b, d, step, T, N, vload8(0, gs), vload8(0, gs + WG_J),
                         vload8(0, gs + 2 * WG_J), vload8(0, gs + 3 * WG_J),
                         hs + (d * dseqs + b) * HOUT_PAD, xw, xw_ts, xw_ns, bias, peep, actp,
                         clip_k, lens, has_lens, c, h_next, y, has_y, y_ts, y_ns);
            continue;
        }
        /* Same trip count in every item (see lstm_persist on PoCL 3.1). */
        for (int q = 0; q < 8; q++) {
            if (l0 + q >= WG_J || ua + q >= ua1)
                continue;
            const int d = (ua + q) / HID;
            finish_cell((ua + q) % HID, n0 + b, d, step, T, N, gs[q], gs[WG_J + q],
                        gs[2 * WG_J + q], gs[3 * WG_J + q], hs + (d * dseqs + b) * HOUT_PAD, xw,
                        xw_ts, xw_ns, bias, peep, actp, clip_k, lens, has_lens, c, h_next, y,
                        has_y, y_ts, y_ns);
        }
    }
}
#endif

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
 * (WG_J, 1, 1); HOUT_PAD floats of local memory (plus 4 * WG_J with the rows
 * layout, for the gate sums); other arguments as lstm_cell. */
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
#if FUSED_ROWS
    __local float gsum[4 * WG_J];
    if (j < HID)
        put_sums(gsum + get_local_id(0), 0,
                 dot_seq1((__global const float8 *)(wr + ((long)d * HID + j) * 4 * HOUT_PAD),
                          hs8));
    barrier(CLK_LOCAL_MEM_FENCE);
    finish_chunk(gsum, d * HID + j - get_local_id(0), (d + 1) * HID, n, 1, hs, 0, step, T, N,
                 xw, xw_ts, xw_ns, bias, peep, actp, clip_k, lens, has_lens, c, h_next, y,
                 has_y, y_ts, y_ns);
#else
    if (j >= HID)
        return;
    const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T));
    if (t < 0) {
#if !HAS_PROJ
        hold_state(j, n, d, step, N, h_prev, h_next, y, has_y, y_ts, y_ns);
#endif
        return;
    }
    __global const float *w = wr + (long)d * HOUT * 4 * HID + j;
    float ri = 0.0f, rf = 0.0f, rg = 0.0f, ro = 0.0f;
    for (int k = 0; k < HOUT; k++, w += 4 * HID) {
        const float hk = hs[k];
        ri = fma(w[0], hk, ri);
        rf = fma(w[HID], hk, rf);
        rg = fma(w[2 * HID], hk, rg);
        ro = fma(w[3 * HID], hk, ro);
    }
    cell_update(j, n, d, t, N, ri, rf, rg, ro, xw, xw_ts, xw_ns, bias, peep, actp, clip_k, c,
                h_next, y, has_y, y_ts, y_ns);
#endif
}

#if FUSED_ROWS && MULTI
/* lstm_step for two sequences per work-item (rows layout): one pass, 4
 * gates x 2 sequences = 8 float8 sums in named registers.
 * Preconditions: global size (ceil(HID / WG_J) * WG_J, ceil(N / 2), NDIR),
 * local size (WG_J, 1, 1); 2 * (HOUT_PAD + 4 * WG_J) floats of local
 * memory; other arguments as lstm_step. */
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
    __local float8 hs8[2 * (HOUT_PAD / 8)];
    stage_seqs((__local float *)hs8, h_prev, d, N, n0, 2);
    __local float gsum[8 * WG_J];
    if (j < HID) {
        const float8 r =
            dot_seq2((__global const float8 *)(wr + ((long)d * HID + j) * 4 * HOUT_PAD), hs8);
        put_sums(gsum + get_local_id(0), 0, r.lo);
        put_sums(gsum + get_local_id(0), 1, r.hi);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    finish_chunk(gsum, d * HID + j - get_local_id(0), (d + 1) * HID, n0, 2,
                 (__local const float *)hs8, 0, step, T, N, xw, xw_ts, xw_ns, bias, peep, actp,
                 clip_k, lens, has_lens, c, h_next, y, has_y, y_ts, y_ns);
}

/* lstm_step for four sequences per work-item (rows layout): each weight is
 * read once per four sequences instead of once per sequence. Two passes
 * (gates i, f, then g, o) keep 8 float8 sums in registers; the tile is
 * written out in named variables because PoCL keeps private arrays in
 * memory.
 * Preconditions: global size (ceil(HID / WG_J) * WG_J, ceil(N / 4), NDIR),
 * local size (WG_J, 1, 1); 4 * (HOUT_PAD + 4 * WG_J) floats of local
 * memory; other arguments as lstm_step. */
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
    __local float gsum[16 * WG_J];
    if (j < HID) {
        __global const float8 *w =
            (__global const float8 *)(wr + ((long)d * HID + j) * 4 * HOUT_PAD);
        const float8 a = dot_pair4(w, w + KB, hs8);
        const float8 b = dot_pair4(w + 2 * KB, w + 3 * KB, hs8);
        __local float *gs = gsum + get_local_id(0);
        put_sums(gs, 0, (float4)(a.s0, a.s4, b.s0, b.s4));
        put_sums(gs, 1, (float4)(a.s1, a.s5, b.s1, b.s5));
        put_sums(gs, 2, (float4)(a.s2, a.s6, b.s2, b.s6));
        put_sums(gs, 3, (float4)(a.s3, a.s7, b.s3, b.s7));
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    finish_chunk(gsum, d * HID + j - get_local_id(0), (d + 1) * HID, n0, 4,
                 (__local const float *)hs8, 0, step, T, N, xw, xw_ts, xw_ns, bias, peep, actp,
                 clip_k, lens, has_lens, c, h_next, y, has_y, y_ts, y_ns);
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


#if PERSIST
/* The persistent kernel: one launch runs every step of a layer, both
 * directions. Work-group g owns units [g*UPG, (g+1)*UPG) of the NDIR*HID
 * units (and, with a projection, outputs [g*OPG, ...) of the NDIR*HOUT
 * outputs) for the whole sequence, so its slice of R stays in its core's
 * cache (CPUs) or, with R_LOCAL, in local memory (GPUs). Steps are
 * separated by a device-wide barrier, which is only correct when every
 * work-group runs at once: the host launches no more groups than the
 * device has compute units, and every spin is bounded. A group that
 * gives up sets bar[1]; the others see it at their next barrier and stop,
 * and the host reruns the pass with the fused step.
 *
 * Build options besides the fused kernels': -D PERSIST=1, -D UPG=<units
 * per group>, -D OPG=<outputs per group> (with HAS_PROJ), -D R_LOCAL=<0|1>
 * (cols layout only: the group's R slice, HOUT x 4 x UPG floats, is copied
 * to local memory once).
 *
 * Loops that share work among the group's items run the same number of
 * times in every item and skip the items without work: PoCL 3.1 skipped
 * the body of `for (u = first + lid; u < end; u += WG_J)` inside this
 * kernel's step loop when only some items had work (H = 1, projections). */
#ifndef R_LOCAL
#define R_LOCAL 0
#endif
/* Floats per staged sequence in xs: h(t-1), or h_raw for the projection. */
#define XS_W (HAS_PROJ && HID_PAD > HOUT_PAD ? HID_PAD : HOUT_PAD)
#if R_LOCAL
#define WSPACE __local
#else
#define WSPACE __global
#endif

/* Device-wide barrier number k (from 0) of G groups: bar[0] counts
 * arrivals (zeroed by the host before the launch), bar[1] is set by a group
 * that gave up after spin_limit polls. Returns nonzero when the kernel must
 * stop. Every item of the group calls it and polls (the loads are
 * broadcast within a GPU's wavefront); the group agrees through *stop. */
inline int grid_sync(volatile __global int *bar, const int k, const int spin_limit,
                     __local int *stop)
{
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    if (get_local_id(0) == 0) {
        *stop = 0;
        mem_fence(CLK_GLOBAL_MEM_FENCE);
        atomic_inc(&bar[0]);
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    const int target = (k + 1) * (int)get_num_groups(0);
    int spins = 0, arrived = 0, failed = 0;
    do {
        arrived = atomic_add(&bar[0], 0) >= target;
        failed = !arrived && (atomic_add(&bar[1], 0) != 0 || ++spins >= spin_limit);
    } while (!arrived && !failed);
    if (failed) {
        atomic_xchg(&bar[1], 1);
        *stop = 1;
    }
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    return *stop;
}

/* Stages `seqs` vectors of `count` floats, `stride` apart in src, each
 * zero-padded to `padded` in dst. The loads are volatile: other groups
 * wrote src, and some GPUs keep non-volatile global loads in a cache that
 * is not coherent across compute units. */
inline void stage_shared(__local float *dst, volatile __global const float *src,
                         const int seqs, const int count, const int stride, const int padded)
{
    for (int kb = 0; kb < seqs * padded; kb += WG_J) {
        const int k = kb + get_local_id(0);
        if (k >= seqs * padded)
            continue;
        const int b = k / padded, e = k % padded;
        dst[k] = e < count ? src[(long)b * stride + e] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

#if !FUSED_ROWS
/* The same sums, cols layout: gate g of unit j at w[k * ks + g * gs]. */
inline float4 dot_col(WSPACE const float *w, const long ks, const long gs,
                      __local const float *x)
{
    float ri = 0.0f, rf = 0.0f, rg = 0.0f, ro = 0.0f;
    for (int k = 0; k < HOUT; k++, w += ks) {
        const float hk = x[k];
        ri = fma(w[0], hk, ri);
        rf = fma(w[gs], hk, rf);
        rg = fma(w[2 * gs], hk, rg);
        ro = fma(w[3 * gs], hk, ro);
    }
    return (float4)(ri, rf, rg, ro);
}
#endif

/* Preconditions: global size (G * WG_J), local size WG_J, G no more than
 * the work-groups the device runs at once and G * UPG >= NDIR * HID
 * (G * OPG >= NDIR * HOUT with HAS_PROJ); per: sequences per work-item
 * pass (1, 2 or 4; 1 with the cols layout); xs: NP * (NDIR * XS_W + 4 *
 * WG_J) floats of local memory with the rows layout, NDIR * NP * XS_W with
 * the cols one, where NP = ceil(N / per) * per; rl: HOUT * 4 * UPG
 * floats with R_LOCAL (else 1); h0, h1: the two (NDIR, N, HOUT) state
 * buffers, h(-1) in h0 and h(T-1) ending in h[T % 2]; hraw: (NDIR, N, HID)
 * with HAS_PROJ; wp: W_hr as lstm_project_step's; bar: two ints, bar[0]
 * zeroed; other arguments as lstm_step. */
__kernel __attribute__((reqd_work_group_size(WG_J, 1, 1))) void
lstm_persist(const int T, const int N, const int per, __global const float *restrict xw,
             const long xw_ts, const long xw_ns, __global const float *restrict wr,
             __global const float *restrict bias, __global const float *restrict peep,
             __global const float *restrict actp, const float clip_k,
             __global const int *restrict lens, const int has_lens, __global float *restrict c,
             __global float *h0, __global float *h1, __global float *hraw,
             __global const float *restrict wp, __global float *restrict y, const int has_y,
             const long y_ts, const long y_ns, volatile __global int *bar, const int spin_limit,
             __local float *xs, __local float *rl)
{
    __local int stop;
    const int g = get_group_id(0), lid = get_local_id(0);
    const int u0 = g * UPG, u1 = min(u0 + UPG, NDIR * HID);
    const int NP = (N + per - 1) / per * per; /* sequences staged per direction */
#if R_LOCAL && !FUSED_ROWS
    for (int eb = 0; eb < HOUT * 4 * UPG; eb += WG_J) {
        const int e = eb + lid;
        if (e >= HOUT * 4 * UPG)
            break;
        const int ju = e % UPG, gk = e / UPG, gate = gk % 4, k = gk / 4;
        const int u = min(u0 + ju, NDIR * HID - 1), d = u / HID, j = u % HID;
        rl[e] = wr[((long)d * HOUT + k) * 4 * HID + gate * HID + j];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    int sync = 0;
    for (int step = 0; step < T; step++) {
        __global float *h_prev = step % 2 ? h1 : h0;
        __global float *h_next = step % 2 ? h0 : h1;
        /* h(t-1) of every sequence of both directions; sequences past N
         * (padding to a multiple of per) stage zeros, and their sums are
         * never used. */
        for (int d = 0; d < NDIR; d++) {
            stage_shared(xs + d * NP * HOUT_PAD, h_prev + (long)d * N * HOUT, N, HOUT, HOUT,
                         HOUT_PAD);
            for (int kb = N * HOUT_PAD; kb < NP * HOUT_PAD; kb += WG_J)
                if (kb + lid < NP * HOUT_PAD)
                    xs[d * NP * HOUT_PAD + kb + lid] = 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        __global float *cell_out = HAS_PROJ ? hraw : h_next;
#if FUSED_ROWS
        /* Units in chunks of WG_J: each item sums its unit's four gates for
         * every sequence into gsum, then finish_chunk updates the cells. */
        __local float *gsum = xs + NDIR * NP * XS_W;
        const int KB = HOUT_PAD / 8;
        for (int ub = 0; ub < UPG; ub += WG_J) {
            const int u = u0 + ub + lid;
            if (u < u1) {
                const int d = u / HID, j = u % HID;
                __global const float8 *w =
                    (__global const float8 *)(wr + ((long)d * HID + j) * 4 * HOUT_PAD);
                __local const float8 *x8 = (__local const float8 *)(xs + d * NP * HOUT_PAD);
                __local float *gs = gsum + lid;
                for (int n = 0; n < N; n += per) {
                    if (per == 4) {
                        const float8 a = dot_pair4(w, w + KB, x8 + n * KB);
                        const float8 b = dot_pair4(w + 2 * KB, w + 3 * KB, x8 + n * KB);
                        put_sums(gs, n, (float4)(a.s0, a.s4, b.s0, b.s4));
                        put_sums(gs, n + 1, (float4)(a.s1, a.s5, b.s1, b.s5));
                        put_sums(gs, n + 2, (float4)(a.s2, a.s6, b.s2, b.s6));
                        put_sums(gs, n + 3, (float4)(a.s3, a.s7, b.s3, b.s7));
                    } else if (per == 2) {
                        const float8 s = dot_seq2(w, x8 + n * KB);
                        put_sums(gs, n, s.lo);
                        put_sums(gs, n + 1, s.hi);
                    } else {
                        put_sums(gs, n, dot_seq1(w, x8 + n * KB));
                    }
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            finish_chunk(gsum, u0 + ub, u1, 0, N, xs, NP, step, T, N, xw, xw_ts, xw_ns, bias,
                         peep, actp, clip_k, lens, has_lens, c, cell_out, y, has_y, y_ts, y_ns);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
#else
        for (int ub = 0; ub < UPG; ub += WG_J) {
            const int u = u0 + ub + lid;
            if (u >= u1)
                continue;
            const int d = u / HID, j = u % HID;
            __local const float *xd = xs + d * NP * HOUT_PAD;
#if R_LOCAL
            __local const float *w = rl + (u - u0);
            const long ks = 4 * UPG, gs = UPG;
#else
            __global const float *w = wr + (long)d * HOUT * 4 * HID + j;
            const long ks = 4 * HID, gs = HID;
#endif
            for (int n = 0; n < N; n++) {
                const float4 r = dot_col(w, ks, gs, xd + n * HOUT_PAD);
                finish_cell(j, n, d, step, T, N, r.x, r.y, r.z, r.w, xd + n * HOUT_PAD, xw,
                            xw_ts, xw_ns, bias, peep, actp, clip_k, lens, has_lens, c, cell_out,
                            y, has_y, y_ts, y_ns);
            }
        }
#endif
        if (grid_sync(bar, sync++, spin_limit, &stop))
            return;
#if HAS_PROJ
        /* h = h_raw W_hr^T for this group's outputs, then commit. */
        for (int d = 0; d < NDIR; d++)
            stage_shared(xs + d * N * HID_PAD, hraw + (long)d * N * HID, N, HID, HID, HID_PAD);
        const int v0 = g * OPG, v1 = min(v0 + OPG, NDIR * HOUT);
        for (int vb = 0; vb < OPG; vb += WG_J) {
            const int v = v0 + vb + lid;
            if (v >= v1)
                continue;
            const int d = v / HOUT, j = v % HOUT;
            for (int n = 0; n < N; n++) {
                const long hidx = ((long)d * N + n) * HOUT + j;
                const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T));
                if (t < 0) {
                    h_next[hidx] = h_prev[hidx];
                    if (has_y)
                        y[step * y_ts + n * y_ns + d * HOUT + j] = 0.0f;
                    continue;
                }
                __local const float *hr = xs + (d * N + n) * HID_PAD;
#if FUSED_ROWS
                __global const float8 *w =
                    (__global const float8 *)(wp + ((long)d * HOUT + j) * HID_PAD);
                __local const float8 *hr8 = (__local const float8 *)hr;
                float8 acc = 0.0f;
                for (int k = 0; k < HID_PAD / 8; k++)
                    acc = fma(w[k], hr8[k], acc);
                const float val = hsum8(acc);
#else
                __global const float *w = wp + (long)d * HID * HOUT + j;
                float val = 0.0f;
                for (int k = 0; k < HID; k++, w += HOUT)
                    val = fma(*w, hr[k], val);
#endif
                h_next[hidx] = val;
                if (has_y)
                    y[t * y_ts + n * y_ns + d * HOUT + j] = val;
            }
        }
        if (grid_sync(bar, sync++, spin_limit, &stop))
            return;
#endif
    }
}
#endif /* PERSIST */

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

/* A session's stream state (lstmcl_session): moves each layer's h rows
 * (HOUT floats) and c rows (HID floats) between the slot-indexed state,
 * layers x slots_total rows, and a call's packed rows, layers x n rows in
 * the order of `slots`. to_slots 0 gathers (state -> packed), 1 scatters
 * (packed -> state), both arrays in one launch so that a call's state moves
 * whole or not at all. Global size (max(HOUT, HID), n, layers), any local
 * size; the slots of one call are distinct, so no two items write one
 * float. */
__kernel void lstm_move_state(__global float *restrict h_slots, __global float *restrict c_slots,
                              __global float *restrict h_packed,
                              __global float *restrict c_packed,
                              __global const int *restrict slots, const int n,
                              const int slots_total, const int to_slots)
{
    const int j = get_global_id(0), k = get_global_id(1), l = get_global_id(2);
    if (k >= n)
        return;
    const long row = (long)l * n + k, srow = (long)l * slots_total + slots[k];
    if (j < HOUT) {
        if (to_slots)
            h_slots[srow * HOUT + j] = h_packed[row * HOUT + j];
        else
            h_packed[row * HOUT + j] = h_slots[srow * HOUT + j];
    }
    if (j < HID) {
        if (to_slots)
            c_slots[srow * HID + j] = c_packed[row * HID + j];
        else
            c_packed[row * HID + j] = c_slots[srow * HID + j];
    }
}
