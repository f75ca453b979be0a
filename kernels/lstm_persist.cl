/* lstmcl: the persistent kernel. Built after lstm_common.cl. */
#if FUSED && PERSIST

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
/* The same sums, cols layout: gate g of unit j at w[k * ks + g * gs], in
 * local memory as floats (R_LOCAL, dequantized but unscaled) or in global
 * memory in the stored type. */
#if R_LOCAL
#define WSTORED float
#define LDWS(p, i) ((p)[i])
#else
#define WSTORED WTYPE
#define LDWS(p, i) LDW(p, i)
#endif
inline float4 dot_col(WSPACE const WSTORED *w, const long ks, const long gs,
                      __local const float *x)
{
    float ri = 0.0f, rf = 0.0f, rg = 0.0f, ro = 0.0f;
    for (int k = 0; k < HOUT; k++, w += ks) {
        const float hk = x[k];
        ri = fma(LDWS(w, 0), hk, ri);
        rf = fma(LDWS(w, gs), hk, rf);
        rg = fma(LDWS(w, 2 * gs), hk, rg);
        ro = fma(LDWS(w, 3 * gs), hk, ro);
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
lstm_persist(LC_PARAMS(LC_PERSIST_ARGS))
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
        rl[e] = LDW(wr, ((long)d * HOUT + k) * 4 * HID + gate * HID + j);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    int sync = 0;
    for (int step = 0; step < T; step++) {
        __global float *h_prev = step % 2 ? h1 : h0;
        __global float *h_new = step % 2 ? h0 : h1;
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
        /* the cell updates' output (LC_FINISH_ARGS): the raw hidden state
         * when a projection follows */
        __global float *h_next = HAS_PROJ ? hraw : h_new;
#if FUSED_ROWS
        /* Units in chunks of WG_J: each item sums its unit's four gates for
         * every sequence into gsum, then finish_chunk updates the cells. */
        __local float *gsum = xs + NDIR * NP * XS_W;
        const int KB = HOUT_PAD / 8;
        for (int ub = 0; ub < UPG; ub += WG_J) {
            const int u = u0 + ub + lid;
            /* The scales are read by every item, outside the branch: read
             * inside it, PoCL 3.1 gave wrong int8 sums from the second step
             * on (Intel's runtime was right either way). */
            const int uc = min(u, u1 - 1);
            const float4 sc = wscale4(wscale, uc / HID, uc % HID);
            if (u < u1) {
                const int d = u / HID, j = u % HID;
                __global const WTYPE *w = wr + ((long)d * HID + j) * 4 * HOUT_PAD;
                __local const float8 *x8 = (__local const float8 *)(xs + d * NP * HOUT_PAD);
                __local float *gs = gsum + lid;
                for (int n = 0; n < N; n += per)
                    put_sums_live(gs + n * 4 * WG_J, per,
                                  live_prefix(lens, has_lens, n, per, N, step, T), w,
                                  x8 + n * KB, sc);
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            finish_chunk(gsum, u0 + ub, u1, 0, N, xs, NP, step, T, N, LC_FINISH_ARGS);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
#else
        for (int ub = 0; ub < UPG; ub += WG_J) {
            const int u = u0 + ub + lid;
            /* the scales read by every item, as in the rows layout */
            const int uc = min(u, u1 - 1);
            const float4 sc = wscale4(wscale, uc / HID, uc % HID);
            if (u >= u1)
                continue;
            const int d = u / HID, j = u % HID;
            __local const float *xd = xs + d * NP * HOUT_PAD;
#if R_LOCAL
            __local const float *w = rl + (u - u0);
            const long ks = 4 * UPG, gs = UPG;
#else
            __global const WTYPE *w = wr + (long)d * HOUT * 4 * HID + j;
            const long ks = 4 * HID, gs = HID;
#endif
            for (int n = 0; n < N; n++) {
                /* an ended sequence only keeps its state */
                const float4 r = live_prefix(lens, has_lens, n, 1, N, step, T)
                                     ? dot_col(w, ks, gs, xd + n * HOUT_PAD) * sc
                                     : (float4)(0.0f);
                finish_cell(j, n, d, step, T, N, r.x, r.y, r.z, r.w, xd + n * HOUT_PAD,
                            LC_FINISH_ARGS);
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
                    h_new[hidx] = h_prev[hidx];
                    if (has_y)
                        y[step * y_ts + n * y_ns + d * HOUT + j] = 0.0f;
                    continue;
                }
                const float val = proj_dot(wp, wpscale, d, j, xs + (d * N + n) * HID_PAD);
                h_new[hidx] = val;
                if (has_y)
                    y[t * y_ts + n * y_ns + d * HOUT + j] = val;
            }
        }
        if (grid_sync(bar, sync++, spin_limit, &stop))
            return;
#endif
    }
}

#endif /* FUSED && PERSIST */
