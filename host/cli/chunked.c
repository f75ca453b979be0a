#include "chunked.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

lstmcl_status cli_chunked_forward(lstmcl_model *model, const lstmcl_forward_args *a,
                                  size_t chunk)
{
    lstmcl_model_desc d;
    lstmcl_session *se = NULL;
    lstmcl_status st = lstmcl_model_get_desc(model, &d);
    if (st != LSTMCL_SUCCESS)
        return st;
    const size_t T = a->seq_len, N = a->batch, I = d.input_size, H = d.hidden_size;
    const size_t Hout = d.proj_size ? d.proj_size : H;
    const size_t K = chunk < T ? chunk : T;
    size_t *slots = malloc(N * sizeof *slots), *steps = malloc(N * sizeof *steps);
    size_t *who = malloc(N * sizeof *who);
    float *x = malloc(K * N * I * sizeof *x), *y = malloc(K * N * Hout * sizeof *y);
    if (!slots || !steps || !who || !x || !y) {
        st = LSTMCL_ERROR_OUT_OF_HOST_MEMORY;
        goto done;
    }
    st = lstmcl_session_create(model, N, K, &se);
    for (size_t k = 0; k < N; k++)
        slots[k] = k;
    /* The session's state layout, (L, N, ...), is the forward's. */
    if (st == LSTMCL_SUCCESS)
        st = lstmcl_session_reset(se, slots, N, a->h0, a->c0);
    if (st == LSTMCL_SUCCESS && a->y)
        memset(a->y, 0, T * N * Hout * sizeof(float));
    for (size_t t0 = 0; st == LSTMCL_SUCCESS && t0 < T; t0 += K) {
        size_t cnt = 0, Tc = 0;
        for (size_t k = 0; k < N; k++) {
            size_t len = a->seq_lens ? (size_t)a->seq_lens[k] : T;
            if (len <= t0)
                continue;
            size_t n = len - t0 < K ? len - t0 : K;
            slots[cnt] = k;
            steps[cnt] = n;
            who[cnt++] = k;
            if (n > Tc)
                Tc = n;
        }
        if (cnt == 0)
            break;
        /* x of the streams in the call, time-major; zero past a stream's
         * steps. */
        memset(x, 0, Tc * cnt * I * sizeof(float));
        for (size_t c = 0; c < cnt; c++)
            for (size_t t = 0; t < steps[c]; t++) {
                size_t src = a->batch_first ? who[c] * T + t0 + t : (t0 + t) * N + who[c];
                memcpy(x + (t * cnt + c) * I, a->x + src * I, I * sizeof(float));
            }
        lstmcl_session_run_args r = {cnt, slots, steps, Tc, x, a->y ? y : NULL};
        st = lstmcl_session_run(se, &r);
        for (size_t c = 0; st == LSTMCL_SUCCESS && a->y && c < cnt; c++)
            for (size_t t = 0; t < steps[c]; t++) {
                size_t dst = a->batch_first ? who[c] * T + t0 + t : (t0 + t) * N + who[c];
                memcpy(a->y + dst * Hout, y + (t * cnt + c) * Hout, Hout * sizeof(float));
            }
        for (size_t k = 0; k < N; k++)
            slots[k] = k;
    }
    if (st == LSTMCL_SUCCESS && (a->hn || a->cn))
        st = lstmcl_session_get_state(se, slots, N, a->hn, a->cn);
done:
    lstmcl_session_destroy(se);
    free(slots);
    free(steps);
    free(who);
    free(x);
    free(y);
    return st;
}
