/* The CPU reference: the LSTM forward pass in plain C, accumulating in
 * double, with every feature of the device path. A model of a reduced
 * precision holds its weights as it stores them (model.c), and h and y
 * are rounded here as its kernels round them, so that a device result is
 * compared with the same computation.
 *
 * Per step (gates i, f, g, o; peepholes p; clip k when enabled):
 *   z_q = W_q x_t + R_q h_{t-1} + bw_q + br_q
 *   i = F(k(z_i + p_i c_{t-1}))      f = F(k(z_f + p_f c_{t-1}))  (or 1 - i)
 *   g = G(k(z_g))                    c_t = f c_{t-1} + i g
 *   o = F(k(z_o + p_o c_t))          h_t = o H(c_t)   (H(k(c_t)) with clip_cell)
 *   h_t <- W_hr h_t                  with a projection
 * as in ONNX's LSTM operator as onnxruntime computes it (clip on the gates'
 * inputs; the cell enters h() unclipped unless clip_cell asks for the
 * operator text's reading) and PyTorch's nn.LSTM (projection). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static double lc_clip(double v, int on, double k)
{
    if (!on)
        return v;
    return v > k ? k : (v < -k ? -k : v);
}

/* Layers run one after another over time-major double arrays: `cur` holds a
 * layer's input (T, N, Iin), `next` its output (T, N, D*Hout). */
lstmcl_status lc_reference_forward(const lstmcl_model *m, const lstmcl_forward_args *a)
{
    const size_t T = a->seq_len, N = a->batch, H = m->H, Hout = m->Hout, D = m->D, P = m->P;
    const size_t DH = D * Hout;
    const lstmcl_model_desc *desc = &m->desc;
    const int clip_on = desc->has_clip;
    const double k = desc->clip;
    const int round_h =
        m->precision == LSTMCL_PRECISION_FP16 || m->precision == LSTMCL_PRECISION_BF16;
    size_t widest = m->I > DH ? m->I : DH;
    double *cur = malloc(T * N * widest * sizeof(double));
    double *next = malloc(T * N * DH * sizeof(double));
    double *h = malloc(Hout * sizeof(double));
    double *c = malloc(H * sizeof(double));
    double *hr = malloc(H * sizeof(double));
    double *z = malloc(4 * H * sizeof(double));
    if (!cur || !next || !h || !c || !hr || !z) {
        free(cur);
        free(next);
        free(h);
        free(c);
        free(hr);
        free(z);
        return lc_fail(m->ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY,
                       "reference forward: allocating %zu x %zu x %zu work arrays", T, N,
                       widest);
    }
    /* Layer 0 input, made time-major. */
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            const float *src = a->x + (a->batch_first ? (n * T + t) : (t * N + n)) * m->I;
            double *dst = cur + (t * N + n) * m->I;
            for (size_t i = 0; i < m->I; i++)
                dst[i] = src[i];
        }

    for (size_t l = 0; l < m->L; l++) {
        const lc_layer *ly = &m->layers[l];
        const size_t in = ly->in;
        memset(next, 0, T * N * DH * sizeof(double));
        for (size_t d = 0; d < D; d++) {
            const lstmcl_activation *act = desc->activations[d];
            const float *W = ly->w + d * 4 * H * in;
            const float *R = ly->r + d * 4 * H * Hout;
            const float *bw = ly->bw + d * 4 * H, *br = ly->br + d * 4 * H;
            const float *pp = ly->peep ? ly->peep + d * 3 * H : NULL;
            const float *pr = ly->proj ? ly->proj + d * P * H : NULL;
            const size_t srow = l * D + d;
            for (size_t n = 0; n < N; n++) {
                size_t len = a->seq_lens ? (size_t)a->seq_lens[n] : T;
                for (size_t j = 0; j < Hout; j++)
                    h[j] = a->h0 ? a->h0[(srow * N + n) * Hout + j] : 0.0;
                for (size_t j = 0; j < H; j++)
                    c[j] = a->c0 ? a->c0[(srow * N + n) * H + j] : 0.0;
                for (size_t s = 0; s < len; s++) {
                    size_t t = m->reversed[d] ? len - 1 - s : s;
                    const double *x = cur + (t * N + n) * in;
                    for (size_t r = 0; r < 4 * H; r++) {
                        double acc = (double)bw[r] + (double)br[r];
                        const float *wr = W + r * in;
                        for (size_t i = 0; i < in; i++)
                            acc += (double)wr[i] * x[i];
                        const float *rr = R + r * Hout;
                        for (size_t i = 0; i < Hout; i++)
                            acc += (double)rr[i] * h[i];
                        z[r] = acc;
                    }
                    for (size_t j = 0; j < H; j++) {
                        double zi = z[LC_GATE_I * H + j], zf = z[LC_GATE_F * H + j];
                        double zg = z[LC_GATE_G * H + j], zo = z[LC_GATE_O * H + j];
                        if (pp) {
                            zi += (double)pp[LC_PEEP_I * H + j] * c[j];
                            zf += (double)pp[LC_PEEP_F * H + j] * c[j];
                        }
                        double ig = lc_activate(act[LSTMCL_SLOT_F].kind, lc_clip(zi, clip_on, k),
                                                act[LSTMCL_SLOT_F].alpha, act[LSTMCL_SLOT_F].beta);
                        double fg = desc->input_forget
                                        ? 1.0 - ig
                                        : lc_activate(act[LSTMCL_SLOT_F].kind,
                                                      lc_clip(zf, clip_on, k),
                                                      act[LSTMCL_SLOT_F].alpha,
                                                      act[LSTMCL_SLOT_F].beta);
                        double gg = lc_activate(act[LSTMCL_SLOT_G].kind, lc_clip(zg, clip_on, k),
                                                act[LSTMCL_SLOT_G].alpha, act[LSTMCL_SLOT_G].beta);
                        double cn = fg * c[j] + ig * gg;
                        if (pp)
                            zo += (double)pp[LC_PEEP_O * H + j] * cn;
                        double og = lc_activate(act[LSTMCL_SLOT_F].kind, lc_clip(zo, clip_on, k),
                                                act[LSTMCL_SLOT_F].alpha, act[LSTMCL_SLOT_F].beta);
                        c[j] = cn;
                        hr[j] = og * lc_activate(act[LSTMCL_SLOT_H].kind,
                                                 lc_clip(cn, clip_on && desc->clip_cell, k),
                                                 act[LSTMCL_SLOT_H].alpha,
                                                 act[LSTMCL_SLOT_H].beta);
                    }
                    if (pr) {
                        for (size_t p = 0; p < P; p++) {
                            double acc = 0.0;
                            for (size_t j = 0; j < H; j++)
                                acc += (double)pr[p * H + j] * hr[j];
                            h[p] = acc;
                        }
                    } else {
                        memcpy(h, hr, H * sizeof(double));
                    }
                    /* h as the model stores it: rounded to half or bfloat16
                     * (from the float a device computes) */
                    if (round_h)
                        for (size_t j = 0; j < Hout; j++)
                            h[j] = lc_round_stored(m->precision, (float)h[j]);
                    memcpy(next + (t * N + n) * DH + d * Hout, h, Hout * sizeof(double));
                }
                if (a->hn)
                    for (size_t j = 0; j < Hout; j++)
                        a->hn[(srow * N + n) * Hout + j] = (float)h[j];
                if (a->cn)
                    for (size_t j = 0; j < H; j++)
                        a->cn[(srow * N + n) * H + j] = (float)c[j];
            }
        }
        double *tmp = cur;
        cur = next;
        next = tmp;
    }
    if (a->y)
        for (size_t t = 0; t < T; t++)
            for (size_t n = 0; n < N; n++) {
                float *dst = a->y + (a->batch_first ? (n * T + t) : (t * N + n)) * DH;
                const double *src = cur + (t * N + n) * DH;
                for (size_t j = 0; j < DH; j++)
                    dst[j] = (float)src[j];
            }
    free(cur);
    free(next);
    free(h);
    free(c);
    free(hr);
    free(z);
    return LSTMCL_SUCCESS;
}
