/* lstmcl: what the LSTM kernels share: activations, the cell update, the
 * staging of h in local memory and the gate sums of the rows layout.
 *
 * The device program is one build of these files, in this order
 * (host/program.c): lstm_wtype.h (the stored weights' type and rounding,
 * option WPREC), lstm_args.h (the kernels' parameters), the activation
 * ids (#define LSTMCL_ACT_*, written by the host from include/lstmcl.h's
 * table), lstm_common.cl, lstm_gemm_path.cl (the cell update after a GEMM:
 * lstm_cell, lstm_project), lstm_fused.cl (the fused step: lstm_step,
 * lstm_step2, lstm_step4, lstm_project_step), lstm_persist.cl (the
 * persistent kernel that runs all steps of a layer in one launch) and
 * lstm_state.cl (a session's stream state).
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

/* What the cell updates pass down, by the step kernels' own names
 * (LC_STEP_ARGS): LC_CELL_* to the update of one cell, LC_FINISH_* (with
 * the lengths) to the commit of a step's sums. */
#define LC_CELL_PARAMS                                                                    \
    __global const float *restrict xw, const long xw_ts, const long xw_ns,               \
        __global const float *restrict bias, __global const float *restrict peep,        \
        __global const float *restrict actp, const float clip_k,                         \
        __global float *restrict c, __global float *restrict h_next,                     \
        __global float *restrict y, const int has_y, const long y_ts, const long y_ns
#define LC_CELL_ARGS xw, xw_ts, xw_ns, bias, peep, actp, clip_k, c, h_next, y, has_y, y_ts, y_ns
#define LC_FINISH_PARAMS                                                                  \
    __global const float *restrict xw, const long xw_ts, const long xw_ns,               \
        __global const float *restrict bias, __global const float *restrict peep,        \
        __global const float *restrict actp, const float clip_k,                         \
        __global const int *restrict lens, const int has_lens,                           \
        __global float *restrict c, __global float *restrict h_next,                     \
        __global float *restrict y, const int has_y, const long y_ts, const long y_ns
#define LC_FINISH_ARGS                                                                    \
    xw, xw_ts, xw_ns, bias, peep, actp, clip_k, lens, has_lens, c, h_next, y, has_y, y_ts, y_ns

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
        case LSTMCL_ACT_SIGMOID: {                                                        \
            const T e = exp(-fabs(x));                                                    \
            return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);                        \
        }                                                                                 \
        case LSTMCL_ACT_TANH:                                                             \
            return tanh(x);                                                               \
        case LSTMCL_ACT_RELU:                                                             \
            return fmax(x, 0.0f);                                                         \
        case LSTMCL_ACT_HARD_SIGMOID:                                                     \
            return clamp(alpha * x + beta, 0.0f, 1.0f);                                   \
        case LSTMCL_ACT_LEAKY_RELU:                                                       \
            return x >= 0.0f ? x : alpha * x;                                             \
        case LSTMCL_ACT_THRESHOLDED_RELU:                                                 \
            return x > alpha ? x : (T)(0.0f);                                             \
        case LSTMCL_ACT_SCALED_TANH:                                                      \
            return alpha * tanh(beta * x);                                                \
        case LSTMCL_ACT_AFFINE:                                                           \
            return alpha * x + beta;                                                      \
        case LSTMCL_ACT_ELU:                                                              \
            return x >= 0.0f ? x : alpha * (exp(x) - 1.0f);                               \
        case LSTMCL_ACT_SOFTSIGN:                                                         \
            return x / (1.0f + fabs(x));                                                  \
        case LSTMCL_ACT_SOFTPLUS:                                                         \
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

/* How many of sequences n0 .. n0+seqs-1 (those below N) a step must compute:
 * up to and including the last one still running at `step`, 0 when all
 * have ended. An ended sequence keeps its state and its gate sums are never
 * read, so with lengths sorted longest first a chunk's work shrinks as its
 * sequences end. */
inline int live_prefix(__global const int *lens, int has_lens, int n0, int seqs, int N,
                       int step, int T)
{
    int live = 0;
    for (int b = 0; b < seqs; b++)
        if (n0 + b < N && step < seq_len_of(lens, has_lens, n0 + b, T))
            live = b + 1;
    return live;
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
 * LD/ST loading and storing a T and RND rounding h as stored (hround); the
 * build options are tested with `if` there, which the compiler folds. */
#define LC_LD1(p) (*(p))
#define LC_ST1(p, v) (*(p) = (v))
#define LC_LD8(p) vload8(0, (p))
#define LC_ST8(p, v) vstore8((v), 0, (p))
#define LC_DEFINE_CELL(NAME, T, ACT, LD, ST, RND)                                         \
    inline void NAME(const int j, const int n, const int d, const int t, const int N,     \
                     const T ri, const T rf, const T rg, const T ro, LC_CELL_PARAMS)      \
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
        const T hv = og * ACT(kh, HAS_CLIP && CLIP_CELL ? CLIP(cn, clip_k) : cn, ap[4],   \
                              ap[5]);                                                     \
        /* the committed h is rounded as stored; the raw one is projected */             \
        const T h = HAS_PROJ ? hv : RND(hv);                                              \
        ST(c + sidx, cn);                                                                 \
        if (HAS_PROJ) {                                                                   \
            ST(h_next + sidx, h); /* raw hidden state, projected before it is committed */ \
        } else {                                                                          \
            ST(h_next + ((long)d * N + n) * HOUT + j, h);                                 \
            if (has_y)                                                                    \
                ST(y + t * y_ts + n * y_ns + d * HOUT + j, h);                            \
        }                                                                                 \
    }
LC_DEFINE_CELL(cell_update, float, act, LC_LD1, LC_ST1, hround)

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

/* The int8 scales of unit j of direction d's four gate rows of R (i, f,
 * g, o), which multiply its dot products; ones in other precisions (the
 * compiler drops a product by a constant 1). */
inline float4 wscale4(__global const float *restrict ws, const int d, const int j)
{
#if WPREC == 3
    __global const float *s = ws + (long)d * 4 * HID + j;
    return (float4)(s[0], s[HID], s[2 * HID], s[3 * HID]);
#else
    return (float4)(1.0f);
#endif
}

/* Output j of direction d of the projection h = h_raw W_hr^T, with h_raw
 * staged at hs (HID_PAD floats, zero-padded) and wp arranged as
 * lstm_project_step says, wpscale its int8 scales; rounded as h is
 * stored. */
inline float proj_dot(__global const WTYPE *restrict wp, __global const float *restrict wpscale,
                      const int d, const int j, __local const float *hs)
{
#if FUSED_ROWS
    __global const WTYPE *w = wp + ((long)d * HOUT + j) * HID_PAD;
    __local const float8 *h8 = (__local const float8 *)hs;
    float8 acc = 0.0f;
    for (int k = 0; k < HID_PAD / 8; k++)
        acc = fma(LDW8(w, 8 * k), h8[k], acc);
    float v = hsum8(acc);
#else
    __global const WTYPE *w = wp + (long)d * HID * HOUT + j;
    float v = 0.0f;
    for (int k = 0; k < HID; k++, w += HOUT)
        v = fma(LDW(w, 0), hs[k], v);
#endif
#if WPREC == 3
    v *= wpscale[(long)d * HOUT + j];
#endif
    return hround(v);
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
LC_DEFINE_CELL(cell_update8, float8, act8, LC_LD8, LC_ST8, hround8)

/* Unit j's four gate sums (i, f, g, o) against 1, 2 or 4 staged sequences
 * (HOUT_PAD floats apart), rows layout: w is the unit's four rows, each
 * HOUT_PAD weights; int8 sums are still to be scaled (wscale4). */
inline float4 dot_seq1(__global const WTYPE *w, __local const float8 *x)
{
    const int KB = HOUT_PAD / 8;
    float8 ai = 0.0f, af = 0.0f, ag = 0.0f, ao = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 hk = x[k];
        ai = fma(LDW8(w, 8 * k), hk, ai);
        af = fma(LDW8(w, 8 * (KB + k)), hk, af);
        ag = fma(LDW8(w, 8 * (2 * KB + k)), hk, ag);
        ao = fma(LDW8(w, 8 * (3 * KB + k)), hk, ao);
    }
    return (float4)(hsum8(ai), hsum8(af), hsum8(ag), hsum8(ao));
}

inline float8 dot_seq2(__global const WTYPE *w, __local const float8 *x)
{
    const int KB = HOUT_PAD / 8;
    __local const float8 *x1 = x + KB;
    float8 i0 = 0.0f, i1 = 0.0f, f0 = 0.0f, f1 = 0.0f, g0 = 0.0f, g1 = 0.0f, o0 = 0.0f,
           o1 = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 wi = LDW8(w, 8 * k), wf = LDW8(w, 8 * (KB + k)),
                     wg = LDW8(w, 8 * (2 * KB + k)), wo = LDW8(w, 8 * (3 * KB + k));
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

/* Two gates (rows wa and wb, HOUT_PAD weights each) against four
 * sequences. */
inline float8 dot_pair4(__global const WTYPE *wa, __global const WTYPE *wb,
                        __local const float8 *x)
{
    const int KB = HOUT_PAD / 8;
    __local const float8 *x1 = x + KB, *x2 = x + 2 * KB, *x3 = x + 3 * KB;
    float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, b0 = 0.0f, b1 = 0.0f, b2 = 0.0f,
           b3 = 0.0f;
    for (int k = 0; k < KB; k++) {
        const float8 u = LDW8(wa, 8 * k), v = LDW8(wb, 8 * k);
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
                     __local const float *hs, LC_FINISH_PARAMS)                           \
    {                                                                                     \
        if (n >= N)                                                                       \
            return;                                                                       \
        const int t = time_of(d, step, seq_len_of(lens, has_lens, n, T_));                \
        if (t >= 0) {                                                                     \
            CELL(j, n, d, t, N, ri, rf, rg, ro, LC_CELL_ARGS);                            \
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

/* Unit j's gate sums for sequences b .. b+3 of a chunk (dot_pair4 on the
 * unit's rows w, scaled by sc), into gs as put_sums places them. */
inline void put_sums4(__local float *gs, const int b, __global const WTYPE *w,
                      __local const float8 *x, const float4 sc)
{
    const float8 a = dot_pair4(w, w + HOUT_PAD, x);
    const float8 c = dot_pair4(w + 2 * HOUT_PAD, w + 3 * HOUT_PAD, x);
    put_sums(gs, b, (float4)(a.s0, a.s4, c.s0, c.s4) * sc);
    put_sums(gs, b + 1, (float4)(a.s1, a.s5, c.s1, c.s5) * sc);
    put_sums(gs, b + 2, (float4)(a.s2, a.s6, c.s2, c.s6) * sc);
    put_sums(gs, b + 3, (float4)(a.s3, a.s7, c.s3, c.s7) * sc);
}

/* Unit j's gate sums for the first `live` of a chunk of `seqs` (1, 2 or 4)
 * sequences: the four-sequence pass while more than two run, then the
 * two- and one-sequence ones (the same sums, bit for bit: each product is
 * accumulated in the same order), none when all have ended. */
inline void put_sums_live(__local float *gs, const int seqs, const int live,
                          __global const WTYPE *w, __local const float8 *x, const float4 sc)
{
    if (seqs == 4 && live > 2) {
        put_sums4(gs, 0, w, x, sc);
    } else if (live == 2) {
        const float8 s = dot_seq2(w, x);
        put_sums(gs, 0, s.lo * sc);
        put_sums(gs, 1, s.hi * sc);
    } else if (live == 1) {
        put_sums(gs, 0, dot_seq1(w, x) * sc);
    }
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
                         LC_FINISH_PARAMS)
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
                         hs + (d * dseqs + b) * HOUT_PAD, LC_FINISH_ARGS);
            continue;
        }
        /* Same trip count in every item (see lstm_persist on PoCL 3.1). */
        for (int q = 0; q < 8; q++) {
            if (l0 + q >= WG_J || ua + q >= ua1)
                continue;
            const int d = (ua + q) / HID;
            finish_cell((ua + q) % HID, n0 + b, d, step, T, N, gs[q], gs[WG_J + q],
                        gs[2 * WG_J + q], gs[3 * WG_J + q], hs + (d * dseqs + b) * HOUT_PAD,
                        LC_FINISH_ARGS);
        }
    }
}
#endif
#endif /* FUSED */
