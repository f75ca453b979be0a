/* lstmcl: the step kernels' parameters, in order, each named once for the
 * kernels and for the host that sets them. Plain C that OpenCL C reads as
 * well: the host includes it for the argument indices (enum lc_step_arg,
 * ...), and it is the first text of the device program (host/program.c),
 * where LC_PARAMS turns the same lists into the kernels' parameter lists.
 *
 * Each list is X(NAME, declaration) per parameter; the host never expands
 * the declarations, which are OpenCL C. */
#ifndef LSTMCL_LSTM_ARGS_H
#define LSTMCL_LSTM_ARGS_H

/* lstm_cell, lstm_step, lstm_step2, lstm_step4. W: the recurrent products
 * h(t-1) R^T of the step (gh, from a GEMM, floats) for lstm_cell, the
 * arranged recurrent weights for the fused kernels, in the stored type
 * (WTYPE, kernels/lstm_wtype.h); WS: their int8 scales, one per row of R
 * (NDIR, 4*HID), unused in other precisions. */
#define LC_STEP_ARGS(F, X)                                   \
    F(STEP, const int step)                                  \
    X(T, const int T)                                        \
    X(N, const int N)                                        \
    X(XW, __global const float *restrict xw)                 \
    X(XW_TS, const long xw_ts)                               \
    X(XW_NS, const long xw_ns)                               \
    X(W, __global const WTYPE *restrict wr)                  \
    X(WS, __global const float *restrict wscale)             \
    X(BIAS, __global const float *restrict bias)             \
    X(PEEP, __global const float *restrict peep)             \
    X(ACTP, __global const float *restrict actp)             \
    X(CLIP, const float clip_k)                              \
    X(LENS, __global const int *restrict lens)               \
    X(HAS_LENS, const int has_lens)                          \
    X(C, __global float *restrict c)                         \
    X(H_PREV, __global const float *restrict h_prev)         \
    X(H_NEXT, __global float *restrict h_next)               \
    X(Y, __global float *restrict y)                         \
    X(HAS_Y, const int has_y)                                \
    X(Y_TS, const long y_ts)                                 \
    X(Y_NS, const long y_ns)

/* lstm_project and lstm_project_step. SRC: the projected state (hp, from a
 * GEMM) for lstm_project, the raw hidden state for lstm_project_step; WP:
 * the arranged projection weights (WTYPE), which lstm_project does not
 * read, and WPS their int8 scales, one per output (NDIR, HOUT). */
#define LC_PROJ_ARGS(F, X)                                   \
    F(STEP, const int step)                                  \
    X(T, const int T)                                        \
    X(N, const int N)                                        \
    X(SRC, __global const float *restrict src)               \
    X(WP, __global const WTYPE *restrict wp)                 \
    X(WPS, __global const float *restrict wpscale)           \
    X(LENS, __global const int *restrict lens)               \
    X(HAS_LENS, const int has_lens)                          \
    X(H_PREV, __global const float *restrict h_prev)         \
    X(H_NEXT, __global float *restrict h_next)               \
    X(Y, __global float *restrict y)                         \
    X(HAS_Y, const int has_y)                                \
    X(Y_TS, const long y_ts)                                 \
    X(Y_NS, const long y_ns)

/* lstm_persist: XS and RL are local memory, sized by the host. */
#define LC_PERSIST_ARGS(F, X)                                \
    F(T, const int T)                                        \
    X(N, const int N)                                        \
    X(PER, const int per)                                    \
    X(XW, __global const float *restrict xw)                 \
    X(XW_TS, const long xw_ts)                               \
    X(XW_NS, const long xw_ns)                               \
    X(W, __global const WTYPE *restrict wr)                  \
    X(WS, __global const float *restrict wscale)             \
    X(BIAS, __global const float *restrict bias)             \
    X(PEEP, __global const float *restrict peep)             \
    X(ACTP, __global const float *restrict actp)             \
    X(CLIP, const float clip_k)                              \
    X(LENS, __global const int *restrict lens)               \
    X(HAS_LENS, const int has_lens)                          \
    X(C, __global float *restrict c)                         \
    X(H0, __global float *h0)                                \
    X(H1, __global float *h1)                                \
    X(HRAW, __global float *hraw)                            \
    X(WP, __global const WTYPE *restrict wp)                 \
    X(WPS, __global const float *restrict wpscale)           \
    X(Y, __global float *restrict y)                         \
    X(HAS_Y, const int has_y)                                \
    X(Y_TS, const long y_ts)                                 \
    X(Y_NS, const long y_ns)                                 \
    X(BAR, volatile __global int *bar)                       \
    X(SPIN, const int spin_limit)                            \
    X(XS, __local float *xs)                                 \
    X(RL, __local float *rl)

/* The argument indices: LC_STEP_W, LC_PROJ_SRC, LC_PERSIST_SPIN, ... */
#define LC_ARG_STEP_(name, decl) LC_STEP_##name,
#define LC_ARG_PROJ_(name, decl) LC_PROJ_##name,
#define LC_ARG_PERSIST_(name, decl) LC_PERSIST_##name,
enum lc_step_arg { LC_STEP_ARGS(LC_ARG_STEP_, LC_ARG_STEP_) LC_STEP_NARGS };
enum lc_proj_arg { LC_PROJ_ARGS(LC_ARG_PROJ_, LC_ARG_PROJ_) LC_PROJ_NARGS };
enum lc_persist_arg { LC_PERSIST_ARGS(LC_ARG_PERSIST_, LC_ARG_PERSIST_) LC_PERSIST_NARGS };

/* A kernel's parameter list from one of the lists above:
 * __kernel void lstm_step(LC_PARAMS(LC_STEP_ARGS)). */
#define LC_PARAM_FIRST_(name, decl) decl
#define LC_PARAM_NEXT_(name, decl) , decl
#define LC_PARAMS(LIST) LIST(LC_PARAM_FIRST_, LC_PARAM_NEXT_)

#endif
