#!/usr/bin/python3
"""Golden vectors for lstmcl's LSTM forward pass, from an independent numpy model.

Regenerate (from the repository root, with Debian's python3-numpy):
    /usr/bin/python3 tests/golden/gen_golden.py
It rewrites tests/golden/*.golden and tests/golden/cases.list; the output is
deterministic (fixed seeds), so an unchanged script gives unchanged files.

The model below is written from the ONNX LSTM operator's equations and
PyTorch's proj_size, not from lstmcl:

    i  = f(x Wi^T + h Ri^T + Pi*c    + bi)        b = Wb + Rb
    f  = f(x Wf^T + h Rf^T + Pf*c    + bf)        (input_forget: f = 1 - i)
    g  = g(x Wg^T + h Rg^T           + bg)
    c' = f*c + i*g
    o  = f(x Wo^T + h Ro^T + Po*c'   + bo)
    h' = o * h(c')                                (projection: h' = Whr h')

With clip, each gate pre-activation, after its bias and peephole are added,
is clipped to [-clip, clip] before its activation, as onnxruntime computes
it; c' enters h() unclipped. With clip_cell = 1, c' is clipped too where it
enters h() (the ONNX operator text: clip "is applied to the input of
activations"). The state always keeps the unclipped c'. check_onnxruntime.py,
an optional cross-check against onnxruntime, compares the ONNX-expressible
cases with onnxruntime itself.
Weights are drawn in the case's convention (PyTorch, ONNX or Keras layout),
written to the file in that layout, and converted here to one working form
(gate order i, f, g, o), so that lstmcl's conversions are checked as well.
Everything is computed in float64 from float32 inputs and weights.

File format (one case per file, whitespace-separated tokens, '#' starts a
comment line; numbers use '.' as the decimal point):
    lstmcl-golden 1
    KEY VALUE                     configuration, one per line
    act DIR SLOT NAME ALPHA BETA  activation of direction DIR, slot f/g/h
    array NAME NDIM DIM...        then prod(DIM) numbers, row-major
    end
Arrays: x, optional seq_lens (integers), h0, c0, the weights as
"L<layer>.D<direction>.<lstmcl_layer_weights field>" in the case's
convention and shapes, then the results y, hn and cn. Inputs and weights are
float32 values in their shortest round-trip form; the results are float64
printed with 12 significant digits.
"""

import math
import os

import numpy as np

FORMAT_VERSION = 1
OUT_DIR = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# Activations (ONNX operator definitions), written to stay finite for any
# finite input.
# --------------------------------------------------------------------------


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


class Act:
    """One activation with its alpha/beta. ThresholdedRelu is discontinuous at
    alpha: `margin` records how close an input came, so that a case whose
    result could flip under float rounding is rejected."""

    def __init__(self, name, alpha=0.0, beta=0.0):
        self.name, self.alpha, self.beta = name, float(np.float32(alpha)), float(np.float32(beta))
        self.margin = math.inf

    def __call__(self, x):
        a, b = self.alpha, self.beta
        n = self.name
        if n == "Sigmoid":
            return sigmoid(x)
        if n == "Tanh":
            return np.tanh(x)
        if n == "Relu":
            return np.maximum(x, 0.0)
        if n == "HardSigmoid":
            return np.clip(a * x + b, 0.0, 1.0)
        if n == "LeakyRelu":
            return np.where(x >= 0.0, x, a * x)
        if n == "ThresholdedRelu":
            self.margin = min(self.margin, float(np.min(np.abs(x - a))))
            return np.where(x > a, x, 0.0)
        if n == "ScaledTanh":
            return a * np.tanh(b * x)
        if n == "Affine":
            return a * x + b
        if n == "Elu":
            return np.where(x >= 0.0, x, a * np.expm1(np.minimum(x, 0.0)))
        if n == "Softsign":
            return x / (1.0 + np.abs(x))
        if n == "Softplus":
            return np.logaddexp(0.0, x)
        raise ValueError(n)


ACT_NAMES = ["Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "ThresholdedRelu",
             "ScaledTanh", "Affine", "Elu", "Softsign", "Softplus"]
DEFAULT_ACTS = ("Sigmoid", "Tanh", "Tanh")  # what "Default" means per slot f, g, h
SLOTS = "fgh"

# --------------------------------------------------------------------------
# Weight conventions. The working form of one layer-direction is a dict:
#   W (4, H, Iin), R (4, H, Hout), b (4, H) in gate order i, f, g, o;
#   p (3, H) peepholes i, f, o; Whr (P, H) or None.
# --------------------------------------------------------------------------

I_, F_, G_, O_ = range(4)
ORDER = {  # position of working gate i, f, g, o in each convention's stacking
    "pytorch": [0, 1, 2, 3],  # i f g o
    "onnx": [0, 2, 3, 1],     # i o f c
    "keras": [0, 1, 2, 3],    # i f c o
}
ONNX_P_ORDER = [0, 2, 1]  # working p (i, f, o) from ONNX P (i, o, f)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def draw(rng, shape, scale):
    return f32(rng.uniform(-scale, scale, size=shape))


def draw_layer(rng, c, conv, iin):
    """Random float32 tensors of one layer-direction, in convention `conv`,
    keyed by lstmcl_layer_weights field name, with the header's shapes."""
    H, hout, P, s = c["H"], c["Hout"], c["P"], c["w_scale"]
    t = {}
    if conv == "keras":
        t["input_weights"] = draw(rng, (iin, 4 * H), s)
        t["recurrent_weights"] = draw(rng, (hout, 4 * H), s)
    else:
        w_shape = (1, 4 * H, iin) if c.get("onnx_w3d") else (4 * H, iin)
        t["input_weights"] = draw(rng, w_shape, s)
        t["recurrent_weights"] = draw(rng, (4 * H, hout), s)
    if not c["no_bias"]:
        if conv == "pytorch":
            t["input_bias"] = draw(rng, (4 * H,), s)
            t["recurrent_bias"] = draw(rng, (4 * H,), s)
        elif conv == "onnx":
            t["input_bias"] = draw(rng, (8 * H,), s)
        else:
            t["input_bias"] = draw(rng, (4 * H,), s)
    if c["peephole"]:
        t["peephole"] = draw(rng, (3 * H,), c.get("p_scale", s))
    if P:
        t["projection"] = draw(rng, (P, H), s)
    return t


def to_working(t, c, conv, iin):
    """Converts one layer-direction's tensors from `conv` to the working form."""
    H, hout = c["H"], c["Hout"]
    pos = ORDER[conv]
    w64 = {k: np.asarray(v, dtype=np.float64) for k, v in t.items()}
    if conv == "keras":
        Wst = w64["input_weights"].T.reshape(4, H, iin)     # kernel (Iin, 4H)
        Rst = w64["recurrent_weights"].T.reshape(4, H, hout)
    else:
        Wst = w64["input_weights"].reshape(4, H, iin)
        Rst = w64["recurrent_weights"].reshape(4, H, hout)
    if c["no_bias"]:
        bst = np.zeros((4, H))
    elif conv == "pytorch":
        bst = (w64["input_bias"] + w64["recurrent_bias"]).reshape(4, H)
    elif conv == "onnx":
        bst = w64["input_bias"][:4 * H].reshape(4, H) + w64["input_bias"][4 * H:].reshape(4, H)
    else:
        bst = w64["input_bias"].reshape(4, H)
    w = {
        "W": np.stack([Wst[pos[k]] for k in range(4)]),
        "R": np.stack([Rst[pos[k]] for k in range(4)]),
        "b": np.stack([bst[pos[k]] for k in range(4)]),
        "p": np.zeros((3, H)),
        "Whr": w64.get("projection"),
    }
    if c["peephole"]:
        pst = w64["peephole"].reshape(3, H)
        w["p"] = np.stack([pst[ONNX_P_ORDER[k]] for k in range(3)])
    return w

# --------------------------------------------------------------------------
# The forward pass.
# --------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.clipped = 0    # gate pre-activations beyond the clip
        self.gates = 0
        self.c_clipped = 0  # cell values beyond the clip where they enter h()
        self.cells = 0


def cell(x, h, c, w, acts, case, stats):
    fa, ga, ha = acts
    clip = case["clip"]

    def gate(z, act):
        if clip is not None:
            stats.clipped += int(np.sum(np.abs(z) > clip))
            stats.gates += z.size
            z = np.clip(z, -clip, clip)
        return act(z)

    def pre(k):
        return w["W"][k] @ x + w["R"][k] @ h + w["b"][k]

    i = gate(pre(I_) + w["p"][0] * c, fa)
    if case["input_forget"]:
        f = 1.0 - i
    else:
        f = gate(pre(F_) + w["p"][1] * c, fa)
    g = gate(pre(G_), ga)
    c_new = f * c + i * g
    o = gate(pre(O_) + w["p"][2] * c_new, fa)
    c_out = c_new
    if clip is not None and case["clip_cell"]:
        stats.c_clipped += int(np.sum(np.abs(c_new) > clip))
        stats.cells += c_new.size
        c_out = np.clip(c_new, -clip, clip)
    h_new = o * ha(c_out)
    if w["Whr"] is not None:
        h_new = w["Whr"] @ h_new
    return h_new, c_new


def run_direction(xs, lens, w, acts, reverse, h0, c0, case, stats, round_state):
    """One direction of one layer over every sequence: y (T, N, Hout)."""
    T, N = xs.shape[0], xs.shape[1]
    y = np.zeros((T, N, h0.shape[1]))
    hn, cn = np.zeros_like(h0), np.zeros_like(c0)
    for n in range(N):
        h, c = h0[n], c0[n]
        steps = range(lens[n] - 1, -1, -1) if reverse else range(lens[n])
        for t in steps:
            h, c = cell(xs[t, n], h, c, w, acts, case, stats)
            if round_state:
                h, c = f32(h).astype(np.float64), f32(c).astype(np.float64)
            y[t, n] = h
        hn[n], cn[n] = h, c
    return y, hn, cn


def forward(case, weights, x, lens, h0, c0, stats, round_state=False):
    """x (T, N, I) time-major; returns y (T, N, D*Hout), hn, cn."""
    D, L = case["D"], case["L"]
    inp = x
    hn = np.zeros_like(h0)
    cn = np.zeros_like(c0)
    for layer in range(L):
        outs = []
        for d in range(D):
            reverse = case["dir"] == "reverse" or d == 1
            acts = case["acts"][d]
            row = layer * D + d
            y, hn[row], cn[row] = run_direction(inp, lens, weights[layer][d], acts, reverse,
                                                h0[row], c0[row], case, stats, round_state)
            outs.append(y)
        inp = np.concatenate(outs, axis=2)
    return inp, hn, cn

# --------------------------------------------------------------------------
# Cases.
# --------------------------------------------------------------------------


def make_case(name, conv, I, H, T, N, **kw):
    c = dict(name=name, conv=conv, I=I, H=H, T=T, N=N, P=0, L=1, dir="forward",
             no_bias=0, peephole=0, input_forget=0, clip=None, clip_cell=0, acts=None,
             h0=False, c0=False, seq_lens=None, batch_first=0,
             x_scale=1.0, w_scale=0.5, seed=0)
    c.update(kw)
    return c


def act_sets():
    """Six bidirectional cases that together put each of the 11 activations
    in each slot (f, g, h) at least once, with non-default alpha/beta and a
    different set per direction. Functions that take no alpha/beta get
    nonzero values too: they must be ignored."""
    params = {  # (alpha, beta), chosen so that values stay moderate
        "Sigmoid": (2.5, -1.25), "Tanh": (-0.75, 3.0), "Relu": (0.625, 1.5),
        "HardSigmoid": (0.3, 0.45), "LeakyRelu": (0.07, 2.0), "ThresholdedRelu": (0.15, -0.5),
        "ScaledTanh": (1.3, 0.7), "Affine": (0.8, 0.1), "Elu": (0.6, 0.25),
        "Softsign": (1.75, 0.5), "Softplus": (-2.0, 0.375),
    }
    n = len(ACT_NAMES)
    cols = []
    for s in range(3):  # slot s walks the list with its own offset
        col = [ACT_NAMES[(k * 5 + s * 4) % n] for k in range(n)]
        cols.append(col + [col[0]])
    sets = []
    for k in range(6):
        per_dir = []
        for d in range(2):
            names = [cols[s][2 * k + d] for s in range(3)]
            per_dir.append(tuple((nm,) + params[nm] for nm in names))
        sets.append(per_dir)
    return sets


def cases():
    C = []
    add = C.append
    # Plain models in each convention and direction.
    add(make_case("pt_fwd", "pytorch", 5, 7, 5, 3, seed=1))
    add(make_case("onnx_fwd", "onnx", 3, 5, 7, 2, seed=2))
    add(make_case("keras_fwd", "keras", 7, 9, 4, 1, seed=3))
    add(make_case("pt_rev", "pytorch", 4, 6, 5, 2, dir="reverse", seed=4))
    add(make_case("onnx_rev", "onnx", 5, 3, 6, 3, dir="reverse", seed=5))
    add(make_case("keras_rev", "keras", 2, 5, 5, 2, dir="reverse", seed=6))
    add(make_case("pt_bidir", "pytorch", 4, 6, 5, 2, dir="bidirectional", seed=7))
    add(make_case("onnx_bidir", "onnx", 3, 7, 4, 3, dir="bidirectional", seed=8))
    add(make_case("keras_bidir", "keras", 6, 4, 5, 2, dir="bidirectional", seed=9))
    add(make_case("onnx_w3d", "onnx", 5, 4, 3, 2, onnx_w3d=True, seed=10))
    # Stacks.
    add(make_case("pt_2layer", "pytorch", 5, 7, 5, 2, L=2, seed=11))
    add(make_case("pt_3layer_bidir", "pytorch", 3, 5, 4, 2, L=3, dir="bidirectional", seed=12))
    add(make_case("onnx_2layer_rev", "onnx", 6, 5, 5, 3, L=2, dir="reverse", seed=13))
    add(make_case("keras_3layer", "keras", 4, 3, 6, 2, L=3, seed=14))
    # Projection.
    add(make_case("pt_proj", "pytorch", 5, 7, 5, 2, P=3, seed=15))
    add(make_case("pt_proj_bidir_2layer", "pytorch", 4, 9, 5, 2, P=4, L=2, dir="bidirectional",
                  h0=True, c0=True, seed=16))
    add(make_case("onnx_proj_rev", "onnx", 3, 6, 4, 2, P=5, dir="reverse", seed=17))
    add(make_case("keras_proj_bidir", "keras", 5, 5, 4, 2, P=2, dir="bidirectional", seed=18))
    # Peepholes (c0 given so that they act from the first step).
    add(make_case("onnx_peep", "onnx", 4, 5, 6, 2, peephole=1, c0=True, p_scale=1.5, seed=19))
    add(make_case("onnx_peep_bidir_2layer", "onnx", 3, 6, 5, 2, L=2, dir="bidirectional",
                  peephole=1, h0=True, c0=True, p_scale=1.5, seed=20))
    add(make_case("pt_peep_proj", "pytorch", 5, 7, 4, 2, P=3, peephole=1, c0=True, p_scale=1.5,
                  seed=21))
    add(make_case("keras_peep_rev", "keras", 3, 4, 5, 3, dir="reverse", peephole=1, p_scale=1.5,
                  seed=22))
    # Clip: weights and inputs large enough that many pre-activations clip.
    add(make_case("onnx_clip", "onnx", 5, 6, 6, 2, clip=0.7, x_scale=2.0, w_scale=0.8, seed=23))
    add(make_case("onnx_clip_cell", "onnx", 5, 6, 6, 2, clip=0.7, clip_cell=1, x_scale=2.0,
                  w_scale=0.8, seed=23))
    add(make_case("onnx_clip_peep_bidir_lens", "onnx", 4, 5, 6, 3, dir="bidirectional",
                  clip=1.5, peephole=1, c0=True, seq_lens=[6, 1, 4], x_scale=2.0, w_scale=0.8,
                  seed=24))
    add(make_case("pt_clip_proj_2layer", "pytorch", 4, 7, 5, 2, P=3, L=2, clip=1.0,
                  x_scale=2.0, w_scale=0.8, seed=25))
    add(make_case("pt_clip_cell_proj_2layer", "pytorch", 4, 7, 5, 2, P=3, L=2, clip=1.0,
                  clip_cell=1, x_scale=2.0, w_scale=0.8, seed=25))
    # input_forget.
    add(make_case("onnx_ifg", "onnx", 4, 5, 6, 2, input_forget=1, seed=26))
    add(make_case("onnx_ifg_peep_clip_bidir", "onnx", 3, 6, 5, 2, dir="bidirectional",
                  input_forget=1, peephole=1, clip=0.9, c0=True, x_scale=2.0, w_scale=0.8,
                  seed=27))
    add(make_case("keras_ifg_rev_2layer", "keras", 5, 4, 4, 2, L=2, dir="reverse",
                  input_forget=1, seed=28))
    # Activations: all 11 in every slot.
    for k, acts in enumerate(act_sets()):
        conv = ["onnx", "pytorch", "keras"][k % 3]
        add(make_case("acts%d_%s" % (k + 1, conv), conv, 3 + k % 3, 4 + k, 5, 2,
                      dir="bidirectional", acts=acts, w_scale=0.4, seed=29 + k))
    # No bias.
    add(make_case("pt_nobias", "pytorch", 4, 5, 5, 2, no_bias=1, seed=35))
    add(make_case("onnx_nobias_bidir_peep", "onnx", 3, 4, 4, 2, dir="bidirectional",
                  no_bias=1, peephole=1, c0=True, seed=36))
    add(make_case("keras_nobias_proj", "keras", 5, 6, 4, 2, no_bias=1, P=2, seed=37))
    # Initial states.
    add(make_case("pt_h0c0", "pytorch", 4, 5, 4, 3, h0=True, c0=True, seed=38))
    add(make_case("onnx_h0_only_bidir", "onnx", 3, 5, 4, 2, dir="bidirectional", h0=True,
                  seed=39))
    add(make_case("keras_c0_only_2layer", "keras", 4, 3, 4, 2, L=2, c0=True, seed=40))
    # Sequence lengths (1 and T mixed) and batch_first.
    add(make_case("pt_lens", "pytorch", 4, 5, 6, 3, seq_lens=[1, 6, 4], seed=41))
    add(make_case("onnx_lens_rev", "onnx", 3, 6, 7, 3, dir="reverse", seq_lens=[7, 1, 3],
                  seed=42))
    add(make_case("pt_lens_bidir_2layer", "pytorch", 5, 4, 7, 3, L=2, dir="bidirectional",
                  seq_lens=[5, 1, 7], h0=True, c0=True, seed=43))
    add(make_case("keras_lens_bidir_proj", "keras", 3, 7, 5, 2, P=3, dir="bidirectional",
                  seq_lens=[2, 5], seed=44))
    add(make_case("pt_batch_first_bidir_lens", "pytorch", 4, 5, 5, 3, dir="bidirectional",
                  batch_first=1, seq_lens=[3, 5, 1], h0=True, c0=True, seed=45))
    add(make_case("keras_batch_first", "keras", 6, 5, 4, 2, batch_first=1, seed=46))
    # Saturation: inputs up to +-100.
    add(make_case("pt_saturate_bidir_2layer", "pytorch", 4, 5, 5, 2, L=2,
                  dir="bidirectional", x_scale=100.0, seed=47))
    sat_acts = [(("HardSigmoid", 0.2, 0.5), ("Softplus", 0.0, 0.0), ("Softsign", 0.0, 0.0))]
    add(make_case("onnx_saturate_acts_peep", "onnx", 3, 4, 5, 2, peephole=1, acts=sat_acts,
                  x_scale=100.0, seed=48))
    sat_acts2 = [(("Sigmoid", 0.0, 0.0), ("Elu", 1.0, 0.0), ("ScaledTanh", 1.0, 1.0))]
    add(make_case("onnx_saturate_elu_clip", "onnx", 4, 3, 5, 2, acts=sat_acts2, clip=50.0,
                  x_scale=100.0, seed=49))
    return C

# --------------------------------------------------------------------------
# Generation and output.
# --------------------------------------------------------------------------


def fmt32(a):
    return [str(np.float32(v)) for v in np.ravel(a)]


def fmt64(a):
    return ["%.12g" % v for v in np.ravel(a)]


def emit_array(out, name, a, values):
    out.append("array %s %d %s" % (name, a.ndim, " ".join(str(d) for d in a.shape)))
    for k in range(0, len(values), 8):
        out.append(" ".join(values[k:k + 8]))


def resolve_acts(c):
    if c["acts"] is None:
        spec = [(("Default", 0.0, 0.0),) * 3] * c["D"]
    else:
        spec = c["acts"]
    objs = []
    for d in range(c["D"]):
        objs.append(tuple(Act(DEFAULT_ACTS[s] if spec[d][s][0] == "Default" else spec[d][s][0],
                              spec[d][s][1], spec[d][s][2]) for s in range(3)))
    return spec, objs


def generate(c):
    rng = np.random.default_rng(1000 + c["seed"])
    c["D"] = 2 if c["dir"] == "bidirectional" else 1
    c["Hout"] = c["P"] if c["P"] else c["H"]
    if c["clip"] is not None:
        c["clip"] = float(np.float32(c["clip"]))
    D, L, T, N, H, hout = c["D"], c["L"], c["T"], c["N"], c["H"], c["Hout"]
    spec, c["acts"] = resolve_acts(c)

    x = draw(rng, (T, N, c["I"]), c["x_scale"])
    lens = c["seq_lens"] or [T] * N
    h0 = draw(rng, (L * D, N, hout), 1.0) if c["h0"] else None
    c0 = draw(rng, (L * D, N, H), 1.0) if c["c0"] else None
    raw, work = [], []
    for layer in range(L):
        iin = c["I"] if layer == 0 else D * hout
        raw.append([draw_layer(rng, c, c["conv"], iin) for _ in range(D)])
        work.append([to_working(t, c, c["conv"], iin) for t in raw[-1]])

    x64 = x.astype(np.float64)
    h064 = h0.astype(np.float64) if h0 is not None else np.zeros((L * D, N, hout))
    c064 = c0.astype(np.float64) if c0 is not None else np.zeros((L * D, N, H))
    stats = Stats()
    y, hn, cn = forward(c, work, x64, lens, h064, c064, stats)

    # Self-checks: finite results; no ThresholdedRelu input near its jump;
    # clip cases really clip; results stable when every state is rounded to
    # float32 (as an implementation may store it), well inside the test's
    # 1e-5 tolerance.
    for a in (y, hn, cn):
        assert np.all(np.isfinite(a)), c["name"]
    margin = min(a.margin for acts in c["acts"] for a in acts)
    assert margin > 1e-3, (c["name"], "ThresholdedRelu input too close to alpha", margin)
    if c["clip"] is not None:
        assert stats.clipped > 0, (c["name"], "nothing clipped")
    if c["clip_cell"]:
        assert stats.c_clipped > 0, (c["name"], "no cell value clipped")
    y2, hn2, cn2 = forward(c, work, x64, lens, h064, c064, Stats(), round_state=True)
    drift = max(float(np.max(np.abs(a - b) / (1.0 + np.abs(a))))
                for a, b in ((y, y2), (hn, hn2), (cn, cn2)))
    assert drift < 1e-6, (c["name"], "ill-conditioned", drift)

    out = ["# lstmcl golden case %s: generated by tests/golden/gen_golden.py; do not edit."
           % c["name"]]
    if c["clip"] is not None:
        out.append("# %d of %d gate pre-activations clipped" % (stats.clipped, stats.gates))
        out.append("# %d of %d cell values clipped where they enter h()"
                   % (stats.c_clipped, stats.cells))
    out.append("lstmcl-golden %d" % FORMAT_VERSION)
    out.append("name %s" % c["name"])
    out.append("convention %s" % c["conv"])
    for key, val in (("input_size", c["I"]), ("hidden_size", H), ("proj_size", c["P"]),
                     ("num_layers", L), ("direction", c["dir"]), ("no_bias", c["no_bias"]),
                     ("peephole", c["peephole"]), ("input_forget", c["input_forget"]),
                     ("has_clip", int(c["clip"] is not None)),
                     ("clip", fmt32([c["clip"] or 0.0])[0]),
                     ("clip_cell", c["clip_cell"]),
                     ("seq_len", T), ("batch", N), ("batch_first", c["batch_first"])):
        out.append("%s %s" % (key, val))
    for d in range(D):
        for s in range(3):
            name, alpha, beta = spec[d][s]
            out.append("act %d %s %s %s %s" % (d, SLOTS[s], name, *fmt32([alpha, beta])))

    x_file = x.transpose(1, 0, 2) if c["batch_first"] else x
    emit_array(out, "x", x_file, fmt32(x_file))
    if c["seq_lens"]:
        sl = np.array(lens)
        emit_array(out, "seq_lens", sl, [str(v) for v in sl])
    if h0 is not None:
        emit_array(out, "h0", h0, fmt32(h0))
    if c0 is not None:
        emit_array(out, "c0", c0, fmt32(c0))
    for layer in range(L):
        for d in range(D):
            for field, t in raw[layer][d].items():
                emit_array(out, "L%d.D%d.%s" % (layer, d, field), t, fmt32(t))
    y_file = y.transpose(1, 0, 2) if c["batch_first"] else y
    emit_array(out, "y", y_file, fmt64(y_file))
    emit_array(out, "hn", hn, fmt64(hn))
    emit_array(out, "cn", cn, fmt64(cn))
    out.append("end")
    return "\n".join(out) + "\n", stats


def main():
    names = []
    total = 0
    for c in cases():
        text, stats = generate(c)
        path = os.path.join(OUT_DIR, c["name"] + ".golden")
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        names.append(c["name"] + ".golden")
        total += len(text)
        note = ""
        if c["clip"] is not None:
            note = " (clipped: %d/%d gates, %d/%d cells)" % (stats.clipped, stats.gates,
                                                            stats.c_clipped, stats.cells)
        print("%-32s %7d bytes%s" % (c["name"], len(text), note))
    with open(os.path.join(OUT_DIR, "cases.list"), "w", encoding="ascii", newline="\n") as f:
        f.write("# Golden case files read by tests/test_golden.c; written by gen_golden.py.\n")
        f.write("\n".join(names) + "\n")
    print("%d cases, %d bytes" % (len(names), total))


if __name__ == "__main__":
    main()
