/* lstmcl: the fused step: one launch per step computes the recurrent
 * products and the cell updates (lstm_step, and lstm_step2/lstm_step4 for
 * 2 and 4 sequences per work-item), and lstm_project_step the projection.
 * Built after lstm_common.cl. */
#if FUSED

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
lstm_step(LC_PARAMS(LC_STEP_ARGS))
{
    const int j = get_global_id(0);
    const int n = get_global_id(1);
    const int d = get_global_id(2);
    __local float8 hs8[HOUT_PAD / 8];
    __local float *hs = (__local float *)hs8;
    stage(hs, h_prev + ((long)d * N + n) * HOUT, HOUT, HOUT_PAD);
#if FUSED_ROWS
    __local float gsum[4 * WG_J];
    if (j < HID && live_prefix(lens, has_lens, n, 1, N, step, T))
        put_sums(gsum + get_local_id(0), 0,
                 dot_seq1(wr + ((long)d * HID + j) * 4 * HOUT_PAD, hs8) * wscale4(wscale, d, j));
    barrier(CLK_LOCAL_MEM_FENCE);
    finish_chunk(gsum, d * HID + j - get_local_id(0), (d + 1) * HID, n, 1, hs, 0, step, T, N,
                 LC_FINISH_ARGS);
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
    __global const WTYPE *w = wr + (long)d * HOUT * 4 * HID + j;
    float ri = 0.0f, rf = 0.0f, rg = 0.0f, ro = 0.0f;
    for (int k = 0; k < HOUT; k++, w += 4 * HID) {
        const float hk = hs[k];
        ri = fma(LDW(w, 0), hk, ri);
        rf = fma(LDW(w, HID), hk, rf);
        rg = fma(LDW(w, 2 * HID), hk, rg);
        ro = fma(LDW(w, 3 * HID), hk, ro);
    }
    const float4 r = (float4)(ri, rf, rg, ro) * wscale4(wscale, d, j);
    cell_update(j, n, d, t, N, r.x, r.y, r.z, r.w, LC_CELL_ARGS);
#endif
}

#if FUSED_ROWS && MULTI
/* lstm_step for two sequences per work-item (rows layout): one pass, 4
 * gates x 2 sequences = 8 float8 sums in named registers.
 * Preconditions: global size (ceil(HID / WG_J) * WG_J, ceil(N / 2), NDIR),
 * local size (WG_J, 1, 1); 2 * (HOUT_PAD + 4 * WG_J) floats of local
 * memory; other arguments as lstm_step. */
__kernel __attribute__((reqd_work_group_size(WG_J, 1, 1))) void
lstm_step2(LC_PARAMS(LC_STEP_ARGS))
{
    const int j = get_global_id(0);
    const int n0 = get_global_id(1) * 2;
    const int d = get_global_id(2);
    __local float8 hs8[2 * (HOUT_PAD / 8)];
    stage_seqs((__local float *)hs8, h_prev, d, N, n0, 2);
    __local float gsum[8 * WG_J];
    const int live = live_prefix(lens, has_lens, n0, 2, N, step, T);
    if (j < HID)
        put_sums_live(gsum + get_local_id(0), 2, live,
                      wr + ((long)d * HID + j) * 4 * HOUT_PAD, hs8, wscale4(wscale, d, j));
    barrier(CLK_LOCAL_MEM_FENCE);
    finish_chunk(gsum, d * HID + j - get_local_id(0), (d + 1) * HID, n0, 2,
                 (__local const float *)hs8, 0, step, T, N, LC_FINISH_ARGS);
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
lstm_step4(LC_PARAMS(LC_STEP_ARGS))
{
    const int j = get_global_id(0);
    const int n0 = get_global_id(1) * 4;
    const int d = get_global_id(2);
    __local float8 hs8[4 * (HOUT_PAD / 8)];
    stage_seqs((__local float *)hs8, h_prev, d, N, n0, 4);
    __local float gsum[16 * WG_J];
    const int live = live_prefix(lens, has_lens, n0, 4, N, step, T);
    if (j < HID)
        put_sums_live(gsum + get_local_id(0), 4, live,
                      wr + ((long)d * HID + j) * 4 * HOUT_PAD, hs8, wscale4(wscale, d, j));
    barrier(CLK_LOCAL_MEM_FENCE);
    finish_chunk(gsum, d * HID + j - get_local_id(0), (d + 1) * HID, n0, 4,
                 (__local const float *)hs8, 0, step, T, N, LC_FINISH_ARGS);
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
lstm_project_step(LC_PARAMS(LC_PROJ_ARGS))
{
    __global const float *restrict hraw = src;
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
    const float v = proj_dot(wp, wpscale, d, j, hs);
    h_next[((long)d * N + n) * HOUT + j] = v;
    if (has_y)
        y[t * y_ts + n * y_ns + d * HOUT + j] = v;
}
#endif

#endif /* FUSED */
