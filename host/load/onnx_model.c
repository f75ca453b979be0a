/* ONNX LSTM models.
 *
 * Parsing: the protobuf is decoded with protobuf-c from onnx_subset.proto;
 * every node must be an LSTM or one of the plumbing operators that
 * torch.onnx.export writes around LSTMs (Constant, Shape, Gather, Unsqueeze,
 * Squeeze, Concat, Slice, Transpose, Reshape, Expand, ConstantOfShape,
 * Identity, Cast); each LSTM node's weights (W, R, B, P) must be constants
 * of finite floats and become a one-layer lstmcl description in the ONNX
 * convention. The shapes the graph inputs declare are kept for the run.
 *
 * Running: nodes are evaluated in graph order (ONNX requires a topological
 * order) on host arrays, the LSTM nodes through lstmcl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

/* Operators understood: name, input count range, output count range. */
static const struct {
    const char *name;
    size_t min_in, max_in, min_out, max_out;
} ld_ox_ops[OP_COUNT] = {
    [OP_LSTM] = {"LSTM", 3, 8, 0, 3},
    [OP_CONSTANT] = {"Constant", 0, 0, 1, 1},
    [OP_IDENTITY] = {"Identity", 1, 1, 1, 1},
    [OP_CAST] = {"Cast", 1, 1, 1, 1},
    [OP_SHAPE] = {"Shape", 1, 1, 1, 1},
    [OP_GATHER] = {"Gather", 2, 2, 1, 1},
    [OP_UNSQUEEZE] = {"Unsqueeze", 1, 2, 1, 1},
    [OP_SQUEEZE] = {"Squeeze", 1, 2, 1, 1},
    [OP_CONCAT] = {"Concat", 1, 64, 1, 1},
    [OP_SLICE] = {"Slice", 1, 5, 1, 1},
    [OP_TRANSPOSE] = {"Transpose", 1, 1, 1, 1},
    [OP_RESHAPE] = {"Reshape", 2, 2, 1, 1},
    [OP_EXPAND] = {"Expand", 2, 2, 1, 1},
    [OP_CONSTANT_OF_SHAPE] = {"ConstantOfShape", 1, 1, 1, 1},
};

/* The activations that read alpha and beta, and the values they get when
 * activation_alpha / activation_beta run out before them. The lists are
 * consumed in order across both directions (forward f g h, then reverse
 * f g h), one value for each function that takes one; values left over are
 * ignored. This is onnxruntime's reading (rnn_helpers.cc, ActivationFuncs),
 * whose defaults for a short list are 0 except for LeakyRelu, HardSigmoid
 * and Elu (the ONNX operators' own defaults): ThresholdedRelu, ScaledTanh
 * and Affine get 0, not the 1.0 of lstmcl_activation_defaults. */
static const struct {
    lstmcl_activation_kind kind;
    int takes_alpha, takes_beta;
    float alpha, beta;
} act_params[] = {
    {LSTMCL_ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {LSTMCL_ACT_LEAKY_RELU, 1, 0, 0.01f, 0.0f},
    {LSTMCL_ACT_THRESHOLDED_RELU, 1, 0, 0.0f, 0.0f},
    {LSTMCL_ACT_SCALED_TANH, 1, 1, 0.0f, 0.0f},
    {LSTMCL_ACT_AFFINE, 1, 1, 0.0f, 0.0f},
    {LSTMCL_ACT_ELU, 1, 0, 1.0f, 0.0f},
};

/* Fills act's alpha and beta from the lists (al/be may be NULL), advancing
 * the read positions *ai and *bi. */
static void act_take_params(lstmcl_activation *act, const AttributeProto *al, size_t *ai,
                            const AttributeProto *be, size_t *bi)
{
    size_t k;
    act->alpha = act->beta = 0.0f;
    for (k = 0; k < sizeof act_params / sizeof act_params[0]; k++) {
        if (act_params[k].kind != act->kind)
            continue;
        act->alpha = act_params[k].alpha;
        act->beta = act_params[k].beta;
        if (act_params[k].takes_alpha && al && *ai < al->n_floats)
            act->alpha = al->floats[(*ai)++];
        if (act_params[k].takes_beta && be && *bi < be->n_floats)
            act->beta = be->floats[(*bi)++];
    }
}

/* ------------------------------------------------------------------------ */
/* LSTM nodes                                                                */
/* ------------------------------------------------------------------------ */

static const char *const lstm_attrs[] = {
    "activation_alpha", "activation_beta", "activations", "clip",
    "direction",        "hidden_size",     "input_forget", "layout",
};

int ld_ox_lstm_input(const NodeProto *n, size_t slot)
{
    return slot < n->n_input && n->input[slot][0] != '\0';
}

/* A constant input of an LSTM node as float. */
static const ld_array *lstm_const(const ld_onnx *m, const NodeProto *n, size_t slot,
                                  const char *what, char *err, size_t errlen)
{
    const ld_ox_value *v = ld_ox_table_find(&m->consts, n->input[slot]);
    if (!v) {
        NODE_ERR(n, "%s '%s' must be an initializer or a Constant", what, n->input[slot]);
        return NULL;
    }
    if (v->a.is_integer) {
        NODE_ERR(n, "%s '%s' is not a floating-point tensor", what, n->input[slot]);
        return NULL;
    }
    return &v->a;
}

static int check_dims(const NodeProto *n, const ld_array *a, const char *what, size_t ndim,
                      size_t d0, size_t d1, size_t d2, char *err, size_t errlen)
{
    if (a->ndim != ndim || a->dims[0] != d0 || (ndim > 1 && a->dims[1] != d1) ||
        (ndim > 2 && a->dims[2] != d2)) {
        char got[128];
        ld_ox_shape_text(a, got, sizeof got);
        if (ndim == 3)
            NODE_ERR(n, "%s has shape %s, expected (%zu, %zu, %zu)", what, got, d0, d1, d2);
        else
            NODE_ERR(n, "%s has shape %s, expected (%zu, %zu)", what, got, d0, d1);
        return 0;
    }
    return 1;
}

/* A weight that is NaN or infinite once in float (stored so, or a double
 * beyond float's range) would turn the outputs into NaN or saturate gates
 * without a word: refused, naming the tensor and the element. Only the
 * LSTM's own W, R, B and P are checked: they are taken from constants
 * here, so other initializers (fill values of plumbing, unused tensors)
 * keep whatever they hold. */
static int check_finite(const ld_onnx *m, const NodeProto *n, size_t slot, const ld_array *a,
                        char *err, size_t errlen)
{
    const GraphProto *g = m->proto->graph;
    const char *name = n->input[slot], *what = "Constant", *why;
    size_t k = a->first_nonfinite, j;
    if (k >= a->count)
        return 1;
    for (j = 0; j < g->n_initializer; j++)
        if (strcmp(g->initializer[j]->name, name) == 0)
            what = "initializer";
    why = ld_nonfinite_reason(a->nonfinite_value, a->f[k]);
    if (isfinite(a->nonfinite_value))
        NODE_ERR(n, "%s '%s': element %zu %s (%g)", what, name, k, why ? why : "is not finite",
                 a->nonfinite_value);
    else
        NODE_ERR(n, "%s '%s': element %zu %s", what, name, k, why ? why : "is not finite");
    return 0;
}

static int make_lstm(ld_onnx *m, const NodeProto *n, ld_lstm *l, int *layout, char *err,
                     size_t errlen)
{
    const ld_array *W, *R, *B = NULL, *P = NULL;
    const AttributeProto *a;
    lstmcl_model_desc *desc = &l->desc;
    size_t D = 1, H, I, k, d, s, ai = 0, bi = 0;
    int64_t v;
    unsigned char *copy;

    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", ld_ox_node_label(n));
    l->convention = LSTMCL_CONVENTION_ONNX;
    for (k = 0; k < n->n_attribute; k++) {
        size_t j;
        for (j = 0; j < sizeof lstm_attrs / sizeof lstm_attrs[0]; j++)
            if (n->attribute[k]->name && strcmp(n->attribute[k]->name, lstm_attrs[j]) == 0)
                break;
        if (j == sizeof lstm_attrs / sizeof lstm_attrs[0]) {
            NODE_ERR(n, "unknown attribute '%s'",
                     n->attribute[k]->name ? n->attribute[k]->name : "");
            return LD_ERR_INPUT;
        }
    }
    a = ld_ox_attr_find(n, "direction");
    desc->direction = LSTMCL_FORWARD;
    if (a) {
        const char *dirs[3] = {"forward", "reverse", "bidirectional"};
        if (ld_ox_attr_type(a) != AT_STRING) {
            NODE_ERR(n, "attribute 'direction' is not a string");
            return LD_ERR_INPUT;
        }
        for (k = 0; k < 3; k++)
            if (a->s.len == strlen(dirs[k]) && memcmp(a->s.data, dirs[k], a->s.len) == 0)
                break;
        if (k == 3) {
            NODE_ERR(n, "direction must be forward, reverse or bidirectional");
            return LD_ERR_INPUT;
        }
        desc->direction = (lstmcl_direction)k;
        D = k == 2 ? 2 : 1;
    }
    if (!ld_ox_attr_int(n, "layout", 0, &v, err, errlen))
        return LD_ERR_INPUT;
    if (v != 0 && v != 1) {
        NODE_ERR(n, "layout must be 0 or 1");
        return LD_ERR_INPUT;
    }
    *layout = (int)v;
    if (!ld_ox_attr_int(n, "input_forget", 0, &v, err, errlen))
        return LD_ERR_INPUT;
    if (v != 0 && v != 1) {
        NODE_ERR(n, "input_forget must be 0 or 1");
        return LD_ERR_INPUT;
    }
    desc->input_forget = (int)v;
    a = ld_ox_attr_find(n, "clip");
    if (a) {
        if (ld_ox_attr_type(a) != AT_FLOAT || !(a->f > 0) || !isfinite(a->f)) {
            NODE_ERR(n, "clip must be a positive float");
            return LD_ERR_INPUT;
        }
        desc->has_clip = 1;
        desc->clip = a->f;
    }

    W = lstm_const(m, n, LW, "W", err, errlen);
    R = W ? lstm_const(m, n, LR, "R", err, errlen) : NULL;
    if (!W || !R)
        return LD_ERR_INPUT;
    if (W->ndim != 3 || W->dims[0] != D || W->dims[1] == 0 || W->dims[1] % 4 || W->dims[2] == 0) {
        NODE_ERR(n, "W must have shape (%zu, 4*hidden_size, input_size)", D);
        return LD_ERR_INPUT;
    }
    H = W->dims[1] / 4;
    I = W->dims[2];
    if (!ld_ox_attr_int(n, "hidden_size", (int64_t)H, &v, err, errlen))
        return LD_ERR_INPUT;
    if (v != (int64_t)H) {
        NODE_ERR(n, "hidden_size %lld disagrees with W's %zu rows", (long long)v, 4 * H);
        return LD_ERR_INPUT;
    }
    if (!check_dims(n, R, "R", 3, D, 4 * H, H, err, errlen))
        return LD_ERR_INPUT;
    if (ld_ox_lstm_input(n, LB)) {
        B = lstm_const(m, n, LB, "B", err, errlen);
        if (!B || !check_dims(n, B, "B", 2, D, 8 * H, 0, err, errlen))
            return LD_ERR_INPUT;
    }
    if (ld_ox_lstm_input(n, LP)) {
        P = lstm_const(m, n, LP, "P", err, errlen);
        if (!P || !check_dims(n, P, "P", 2, D, 3 * H, 0, err, errlen))
            return LD_ERR_INPUT;
    }
    if (!check_finite(m, n, LW, W, err, errlen) || !check_finite(m, n, LR, R, err, errlen) ||
        (B && !check_finite(m, n, LB, B, err, errlen)) ||
        (P && !check_finite(m, n, LP, P, err, errlen)))
        return LD_ERR_INPUT;
    desc->input_size = I;
    desc->hidden_size = H;
    desc->num_layers = 1;
    desc->no_bias = B == NULL;
    desc->peephole = P != NULL;

    /* activations: 3 per direction, f g h (see act_params for alpha and
     * beta). Without the attribute the functions are the defaults, which
     * take no alpha or beta: lists given then are ignored, as onnxruntime
     * ignores them. What onnxruntime refuses is refused: another count of
     * functions than 3 per direction, an unknown function, lists that are
     * not FLOATS. */
    {
        const AttributeProto *al = ld_ox_attr_find(n, "activation_alpha");
        const AttributeProto *be = ld_ox_attr_find(n, "activation_beta");
        if ((al && ld_ox_attr_type(al) != AT_FLOATS) || (be && ld_ox_attr_type(be) != AT_FLOATS)) {
            NODE_ERR(n, "activation_alpha and activation_beta must be lists of floats");
            return LD_ERR_INPUT;
        }
        a = ld_ox_attr_find(n, "activations");
        if (a && (ld_ox_attr_type(a) != AT_STRINGS || a->n_strings != 3 * D)) {
            NODE_ERR(n, "activations must list %zu functions", 3 * D);
            return LD_ERR_INPUT;
        }
        for (d = 0; a && d < D; d++)
            for (s = 0; s < 3; s++) {
                const ProtobufCBinaryData *str = &a->strings[d * 3 + s];
                lstmcl_activation *act = &desc->activations[d][s];
                char name[32];
                if (str->len == 0 || str->len >= sizeof name ||
                    memchr(str->data, '\0', str->len)) {
                    NODE_ERR(n, "bad activation name");
                    return LD_ERR_INPUT;
                }
                memcpy(name, str->data, str->len);
                name[str->len] = '\0';
                if (lstmcl_activation_from_name(name, &act->kind) != LSTMCL_SUCCESS ||
                    act->kind == LSTMCL_ACT_DEFAULT) {
                    NODE_ERR(n, "unsupported activation '%s'", name);
                    return LD_ERR_INPUT;
                }
                act_take_params(act, al, &ai, be, &bi);
            }
    }

    if (ld_lstm_init(l, 1) != LD_OK) {
        ld_set_error(err, errlen, "out of memory");
        return LD_ERR_RUNTIME;
    }
    /* The weights are copied so that the model owns them independently of
     * the constant table: FLOAT16 and BFLOAT16 ones as stored, so that the
     * model rounds each from its exact value, the others as float. */
    {
        const ld_array *src[4] = {W, R, B, P};
        size_t per[4];
        per[0] = 4 * H * I;
        per[1] = 4 * H * H;
        per[2] = 8 * H;
        per[3] = 3 * H;
        for (k = 0; k < 4; k++) {
            const void *from;
            lstmcl_dtype dt = LSTMCL_DTYPE_F32;
            size_t esize = sizeof(float);
            if (!src[k])
                continue;
            from = src[k]->f;
            if (src[k]->half) {
                from = src[k]->half;
                dt = src[k]->half_dtype;
                esize = sizeof *src[k]->half;
            }
            copy = malloc(src[k]->count * esize);
            if (!copy || ld_lstm_own(l, copy) != LD_OK) {
                ld_set_error(err, errlen, "out of memory");
                return LD_ERR_RUNTIME;
            }
            memcpy(copy, from, src[k]->count * esize);
            for (d = 0; d < D; d++) {
                lstmcl_layer_weights *w = &l->layers[0];
                const void *p = copy + d * per[k] * esize;
                switch (k) {
                case 0: ld_tensor_set(&w->input_weights[d], p, dt, 2, 4 * H, I, 0); break;
                case 1: ld_tensor_set(&w->recurrent_weights[d], p, dt, 2, 4 * H, H, 0); break;
                case 2: ld_tensor_set(&w->input_bias[d], p, dt, 1, 8 * H, 0, 0); break;
                default: ld_tensor_set(&w->peephole[d], p, dt, 1, 3 * H, 0, 0); break;
                }
            }
        }
    }
    return LD_OK;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */


/* The name set of values defined so far (graph inputs, initializers, node
 * outputs), for the def-before-use and single-assignment checks. */
typedef struct name_set {
    const char **v;
    size_t n, cap;
} name_set;

static int names_has(const name_set *s, const char *name)
{
    size_t k;
    for (k = 0; k < s->n; k++)
        if (strcmp(s->v[k], name) == 0)
            return 1;
    return 0;
}

static int names_add(name_set *s, const char *name)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        const char **n = realloc(s->v, cap * sizeof *n);
        if (!n)
            return 0;
        s->v = n;
        s->cap = cap;
    }
    s->v[s->n++] = name;
    return 1;
}

/* Queues the not yet seen non-LSTM consumers of a value; notes the LSTM
 * input slots it feeds. */
static void visit_consumers(const GraphProto *g, const ld_ox_op *ops, const char *name,
                            unsigned char *seen, size_t *stack, size_t *top, size_t *best)
{
    size_t k, j;
    for (k = 0; k < g->n_node; k++) {
        const NodeProto *n = g->node[k];
        for (j = 0; j < n->n_input; j++) {
            if (strcmp(n->input[j], name) != 0)
                continue;
            if (ops[k] == OP_LSTM) {
                if (j < *best)
                    *best = j;
            } else if (!seen[k]) {
                seen[k] = 1;
                stack[(*top)++] = k;
            }
        }
    }
}

/* The smallest LSTM input slot a value reaches through the graph (X reaches
 * slot 0 directly and slot 5 through the zero-state plumbing). Each node is
 * expanded once, so shared paths cost nothing extra. */
static size_t reach_slot(const GraphProto *g, const ld_ox_op *ops, const char *name,
                         unsigned char *seen, size_t *stack)
{
    size_t best = L_INPUTS, top = 0, o;
    memset(seen, 0, g->n_node);
    visit_consumers(g, ops, name, seen, stack, &top, &best);
    while (top > 0) {
        const NodeProto *n = g->node[stack[--top]];
        for (o = 0; o < n->n_output; o++)
            if (n->output[o][0])
                visit_consumers(g, ops, n->output[o], seen, stack, &top, &best);
    }
    return best;
}

/* Which LSTM output a graph output comes from, through plumbing's first
 * input: 0 Y, 1 Y_h, 2 Y_c, or -1. */
static int source_slot(const GraphProto *g, const ld_ox_op *ops, const char *name)
{
    size_t k, o, steps;
    /* Values are defined once and before use, so the walk moves strictly
     * backwards: at most n_node steps. */
    for (steps = 0; steps <= g->n_node; steps++) {
        const NodeProto *from = NULL;
        for (k = 0; k < g->n_node && !from; k++)
            for (o = 0; o < g->node[k]->n_output; o++)
                if (strcmp(g->node[k]->output[o], name) == 0) {
                    from = g->node[k];
                    if (ops[k] == OP_LSTM)
                        return (int)o;
                    break;
                }
        if (!from || from->n_input == 0 || !from->input[0][0])
            return -1;
        name = from->input[0];
    }
    return -1;
}

/* What each axis of a graph input of rank `rank` is to the nearest LSTM
 * input it reaches through operators that keep or permute axes (Identity,
 * Cast, Slice, Transpose): the LSTM's X, sequence_lens, initial_h or
 * initial_c, read with its layout. Axes stay AX_UNKNOWN where no such path
 * exists. Breadth first, each node once: perms[v] maps the axes of the
 * v-th value reached to the input's axes. */
static void input_axes(const GraphProto *g, const ld_ox_op *ops, const char *name, size_t rank,
                       unsigned char *seen, unsigned char *axes)
{
    static const unsigned char x_axes[2][3] = {{AX_SEQ, AX_BATCH, AX_INPUT},
                                               {AX_BATCH, AX_SEQ, AX_INPUT}};
    static const unsigned char state_axes[2][3] = {{AX_DIRS, AX_BATCH, AX_HIDDEN},
                                                   {AX_BATCH, AX_DIRS, AX_HIDDEN}};
    static const unsigned char lens_axes[1] = {AX_BATCH};
    unsigned char(*perms)[LD_MAX_DIMS];
    const char **vals;
    size_t nv = 1, v, k, j, d;

    memset(axes, AX_UNKNOWN, rank);
    perms = malloc((g->n_node + 1) * sizeof *perms);
    vals = malloc((g->n_node + 1) * sizeof *vals);
    if (!perms || !vals || rank > LD_MAX_DIMS)
        goto done;
    memset(seen, 0, g->n_node);
    vals[0] = name;
    for (d = 0; d < rank; d++)
        perms[0][d] = (unsigned char)d;
    for (v = 0; v < nv; v++) {
        for (k = 0; k < g->n_node; k++) {
            const NodeProto *n = g->node[k];
            if (ops[k] == OP_LSTM) {
                const AttributeProto *lay = ld_ox_attr_find(n, "layout");
                int l = lay && lay->i == 1;
                for (j = 0; j < n->n_input && j < L_INPUTS; j++) {
                    const unsigned char *mean = NULL;
                    size_t want = 3;
                    if (strcmp(n->input[j], vals[v]) != 0)
                        continue;
                    if (j == LX)
                        mean = x_axes[l];
                    else if (j == LH0 || j == LC0)
                        mean = state_axes[l];
                    else if (j == LSEQ) {
                        mean = lens_axes;
                        want = 1;
                    }
                    if (mean && want == rank) {
                        for (d = 0; d < rank; d++)
                            axes[perms[v][d]] = mean[d];
                        goto done;
                    }
                }
                continue;
            }
            if (seen[k] || n->n_input == 0 || n->n_output == 0 || !n->output[0][0] ||
                strcmp(n->input[0], vals[v]) != 0)
                continue;
            if (ops[k] == OP_IDENTITY || ops[k] == OP_CAST || ops[k] == OP_SLICE) {
                memcpy(perms[nv], perms[v], rank);
            } else if (ops[k] == OP_TRANSPOSE) {
                /* Output axis d is input axis perm[d]; no perm reverses. */
                const AttributeProto *p = ld_ox_attr_find(n, "perm");
                unsigned char used[LD_MAX_DIMS] = {0};
                if (p && p->n_ints != rank)
                    continue;
                for (d = 0; d < rank; d++) {
                    int64_t from = p ? p->ints[d] : (int64_t)(rank - 1 - d);
                    if (from < 0 || (uint64_t)from >= rank || used[(size_t)from])
                        break;
                    used[(size_t)from] = 1;
                    perms[nv][d] = perms[v][(size_t)from];
                }
                if (d < rank)
                    continue;
            } else {
                continue;
            }
            seen[k] = 1;
            vals[nv++] = n->output[0];
        }
    }
done:
    free(perms);
    free(vals);
}

int ld_onnx_parse(const uint8_t *buf, size_t len, ld_onnx **out, char *err, size_t errlen)
{
    ld_onnx *m;
    const GraphProto *g;
    name_set defined = {NULL, 0, 0};
    unsigned char *seen = NULL;
    size_t *stack = NULL;
    size_t k, j;
    int rc = LD_ERR_INPUT;

    *out = NULL;
    m = calloc(1, sizeof *m);
    if (!m) {
        ld_set_error(err, errlen, "out of memory");
        return LD_ERR_RUNTIME;
    }
    for (k = 0; k < ONNX_IN_COUNT; k++)
        m->in_rank[k] = -1;
    /* An empty message is valid protobuf (every field absent): say what it
     * is rather than what it lacks. */
    if (len == 0) {
        ld_set_error(err, errlen, "the file is empty (0 bytes), not an ONNX model");
        goto fail;
    }
    m->proto = lstmcl_onnx__model_proto__unpack(NULL, len, buf);
    if (!m->proto) {
        ld_set_error(err, errlen, "not a valid ONNX model (protobuf decoding failed)");
        goto fail;
    }
    g = m->proto->graph;
    if (!g) {
        ld_set_error(err, errlen, "not an ONNX model: no graph");
        goto fail;
    }
    if (g->n_node == 0) {
        ld_set_error(err, errlen, "ONNX model has no graph nodes");
        goto fail;
    }
    snprintf(m->producer, sizeof m->producer, "%s",
             m->proto->producer_name ? m->proto->producer_name : "");
    m->opset = -1;
    for (k = 0; k < m->proto->n_opset_import; k++) {
        const LstmclOnnx__OperatorSetIdProto *o = m->proto->opset_import[k];
        if (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0)
            m->opset = o->has_version ? o->version : -1;
    }
    if (m->opset < 7 || m->opset > 22) {
        ld_set_error(err, errlen, "ONNX opset %lld of the default domain is not supported "
                     "(7 to 22)", (long long)m->opset);
        goto fail;
    }

    /* Constants: initializers, then Constant nodes. */
    for (k = 0; k < g->n_initializer; k++) {
        ld_array a;
        const TensorProto *t = g->initializer[k];
        if (!t->name || !*t->name) {
            ld_set_error(err, errlen, "initializer %zu has no name", k);
            goto fail;
        }
        if (names_has(&defined, t->name)) {
            ld_set_error(err, errlen, "duplicate initializer '%s'", t->name);
            goto fail;
        }
        rc = ld_ox_tensor_from_proto(t, &a, err, errlen);
        if (rc != LD_OK)
            goto fail;
        rc = LD_ERR_INPUT;
        if (!ld_ox_table_add(&m->consts, t->name, &a, 1, -1) || !names_add(&defined, t->name)) {
            ld_array_free(&a);
            ld_set_error(err, errlen, "out of memory");
            rc = LD_ERR_RUNTIME;
            goto fail;
        }
    }
    for (k = 0; k < g->n_input; k++) {
        const char *name = g->input[k]->name;
        if (!name || !*name) {
            ld_set_error(err, errlen, "graph input %zu has no name", k);
            goto fail;
        }
        /* An input that is also an initializer is a constant with a default. */
        if (ld_ox_table_find(&m->consts, name))
            continue;
        if (names_has(&defined, name)) {
            ld_set_error(err, errlen, "duplicate graph input '%s'", name);
            goto fail;
        }
        if (!names_add(&defined, name)) {
            ld_set_error(err, errlen, "out of memory");
            rc = LD_ERR_RUNTIME;
            goto fail;
        }
    }

    /* The checks below are quadratic in the number of names: a bound keeps a
     * hostile file from making them slow. Exported LSTMs have a few hundred. */
    if (g->n_node > ONNX_MAX_NODES || g->n_initializer > ONNX_MAX_NODES ||
        g->n_input > ONNX_MAX_NODES || g->n_output > ONNX_MAX_NODES) {
        ld_set_error(err, errlen, "graph has more than %d nodes, initializers, inputs or "
                     "outputs", ONNX_MAX_NODES);
        goto fail;
    }
    seen = calloc(g->n_node, 1);
    stack = calloc(g->n_node, sizeof *stack);
    m->ops = calloc(g->n_node, sizeof *m->ops);
    m->lstms = calloc(g->n_node, sizeof *m->lstms);
    m->lstm_node = calloc(g->n_node, sizeof *m->lstm_node);
    m->layouts = calloc(g->n_node, sizeof *m->layouts);
    if (!m->ops || !m->lstms || !m->lstm_node || !m->layouts || !seen || !stack) {
        ld_set_error(err, errlen, "out of memory");
        rc = LD_ERR_RUNTIME;
        goto fail;
    }
    for (k = 0; k < g->n_node; k++) {
        const NodeProto *n = g->node[k];
        size_t op;
        if (!n->op_type || (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0)) {
            NODE_ERR(n, "operator of domain '%s' is not supported", n->domain ? n->domain : "");
            goto fail;
        }
        for (op = 0; op < OP_COUNT; op++)
            if (strcmp(n->op_type, ld_ox_ops[op].name) == 0)
                break;
        if (op == OP_COUNT) {
            NODE_ERR(n, "operator not supported (only LSTM and the plumbing torch.onnx.export "
                     "writes around it)");
            goto fail;
        }
        m->ops[k] = (ld_ox_op)op;
        if (n->n_input < ld_ox_ops[op].min_in || n->n_input > ld_ox_ops[op].max_in ||
            n->n_output < ld_ox_ops[op].min_out || n->n_output > ld_ox_ops[op].max_out) {
            NODE_ERR(n, "wrong number of inputs or outputs");
            goto fail;
        }
        for (j = 0; j < n->n_input; j++) {
            if (!n->input[j][0] && j >= 3 && (op == OP_LSTM || op == OP_SLICE))
                continue; /* an optional input left out */
            if (!names_has(&defined, n->input[j])) {
                NODE_ERR(n, "input '%s' is not defined before the node", n->input[j]);
                goto fail;
            }
        }
        if (op == OP_CONSTANT) {
            ld_array a;
            rc = ld_ox_eval_constant(n, &a, err, errlen);
            if (rc != LD_OK)
                goto fail;
            rc = LD_ERR_INPUT;
            if (!ld_ox_table_add(&m->consts, n->output[0], &a, 1, -1)) {
                ld_array_free(&a);
                ld_set_error(err, errlen, "out of memory");
                rc = LD_ERR_RUNTIME;
                goto fail;
            }
        }
        if (op == OP_LSTM) {
            if (!ld_ox_lstm_input(n, LX)) {
                NODE_ERR(n, "input X is missing");
                goto fail;
            }
            rc = make_lstm(m, n, &m->lstms[m->n_lstm], &m->layouts[m->n_lstm], err, errlen);
            if (rc != LD_OK) {
                ld_lstm_free(&m->lstms[m->n_lstm]);
                goto fail;
            }
            rc = LD_ERR_INPUT;
            m->lstm_node[m->n_lstm++] = k;
        }
        for (j = 0; j < n->n_output; j++) {
            if (!n->output[j][0])
                continue;
            if (names_has(&defined, n->output[j])) {
                NODE_ERR(n, "output '%s' is defined twice", n->output[j]);
                goto fail;
            }
            if (!names_add(&defined, n->output[j])) {
                ld_set_error(err, errlen, "out of memory");
                rc = LD_ERR_RUNTIME;
                goto fail;
            }
        }
    }
    if (m->n_lstm == 0) {
        ld_set_error(err, errlen, "the ONNX graph has no LSTM node");
        goto fail;
    }

    /* Roles of graph inputs and outputs. */
    for (k = 0; k < g->n_input; k++) {
        const char *name = g->input[k]->name;
        size_t slot;
        int role = -1;
        if (ld_ox_table_find(&m->consts, name))
            continue;
        slot = reach_slot(g, m->ops, name, seen, stack);
        if (slot == LX)
            role = ONNX_IN_X;
        else if (slot == LSEQ)
            role = ONNX_IN_SEQ_LENS;
        else if (slot == LH0)
            role = ONNX_IN_H0;
        else if (slot == LC0)
            role = ONNX_IN_C0;
        if (role < 0) {
            ld_set_error(err, errlen, "graph input '%s' does not feed an LSTM's X, "
                         "sequence_lens, initial_h or initial_c", name);
            goto fail;
        }
        if (m->in_names[role]) {
            ld_set_error(err, errlen, "graph inputs '%s' and '%s' play the same part",
                         m->in_names[role], name);
            goto fail;
        }
        m->in_names[role] = name;
        m->in_order[m->n_in++] = (onnx_in_role)role;
        {
            size_t rank;
            if (ld_ox_declared_shape(g->input[k], m->in_dims[role], LD_MAX_DIMS, &rank)) {
                m->in_rank[role] = (int)rank;
                input_axes(g, m->ops, name, rank, seen, m->in_axis[role]);
            }
        }
    }
    if (!m->in_names[ONNX_IN_X]) {
        ld_set_error(err, errlen, "the graph has no input that feeds an LSTM's X");
        goto fail;
    }
    for (k = 0; k < g->n_output; k++) {
        const char *name = g->output[k]->name;
        int slot;
        if (!name || !names_has(&defined, name)) {
            ld_set_error(err, errlen, "graph output '%s' is not produced by any node",
                         name ? name : "");
            goto fail;
        }
        slot = source_slot(g, m->ops, name);
        if (slot < 0) {
            ld_set_error(err, errlen, "graph output '%s' does not come from an LSTM", name);
            goto fail;
        }
        if (m->out_names[slot]) {
            ld_set_error(err, errlen, "graph outputs '%s' and '%s' play the same part",
                         m->out_names[slot], name);
            goto fail;
        }
        m->out_names[slot] = name;
        m->out_order[m->n_out++] = (onnx_out_role)slot;
    }
    free(defined.v);
    free(seen);
    free(stack);
    *out = m;
    return LD_OK;
fail:
    free(defined.v);
    free(seen);
    free(stack);
    ld_onnx_free(m);
    return rc;
}

void ld_onnx_free(ld_onnx *m)
{
    size_t k;
    if (!m)
        return;
    for (k = 0; k < m->n_lstm; k++)
        ld_lstm_free(&m->lstms[k]);
    free(m->lstms);
    free(m->lstm_node);
    free(m->layouts);
    free(m->ops);
    ld_ox_table_free(&m->consts);
    if (m->proto)
        lstmcl_onnx__model_proto__free_unpacked(m->proto, NULL);
    free(m);
}

size_t ld_onnx_lstm_count(const ld_onnx *m)
{
    return m->n_lstm;
}

const ld_lstm *ld_onnx_lstm(const ld_onnx *m, size_t k)
{
    return &m->lstms[k];
}

int ld_onnx_lstm_layout(const ld_onnx *m, size_t k)
{
    return m->layouts[k];
}

int64_t ld_onnx_opset(const ld_onnx *m)
{
    return m->opset;
}

const char *ld_onnx_producer(const ld_onnx *m)
{
    return m->producer;
}

const char *ld_onnx_input_name(const ld_onnx *m, onnx_in_role role)
{
    return m->in_names[role];
}

const char *ld_onnx_output_name(const ld_onnx *m, onnx_out_role role)
{
    return m->out_names[role];
}


size_t ld_onnx_input_count(const ld_onnx *m)
{
    return m->n_in;
}

onnx_in_role ld_onnx_input_role(const ld_onnx *m, size_t k)
{
    return m->in_order[k];
}

size_t ld_onnx_output_count(const ld_onnx *m)
{
    return m->n_out;
}

onnx_out_role ld_onnx_output_role(const ld_onnx *m, size_t k)
{
    return m->out_order[k];
}

void ld_onnx_input_shape(const ld_onnx *m, onnx_in_role role, size_t *rank, const int64_t **dims)
{
    *rank = m->in_rank[role] < 0 ? 0 : (size_t)m->in_rank[role];
    *dims = m->in_rank[role] < 0 ? NULL : m->in_dims[role];
}
