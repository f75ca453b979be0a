/* lstmcl: the cell update after a GEMM computed a step's recurrent
 * products (the gemm algorithm, GPUs' CLBlast path): lstm_cell, and
 * lstm_project after the projection's GEMM. Built after lstm_common.cl. */

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
__kernel void lstm_cell(LC_PARAMS(LC_STEP_ARGS))
{
    /* the products, not weights (the gemm algorithm runs fp32 only) */
    __global const float *restrict gh = (__global const float *)wr;
    (void)wscale;
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
    cell_update(j, n, d, t, N, gr[j], gr[HID + j], gr[2 * HID + j], gr[3 * HID + j],
                LC_CELL_ARGS);
}

/* Finishes a step of a projected LSTM: hp = h_raw W_hr^T was computed by a
 * GEMM. Preconditions: global size (HOUT, N, NDIR); hp, h_prev, h_next
 * (NDIR, N, HOUT); y as in lstm_cell. */
__kernel void lstm_project(LC_PARAMS(LC_PROJ_ARGS))
{
    __global const float *restrict hp = src;
    (void)wp;
    (void)wpscale;
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
