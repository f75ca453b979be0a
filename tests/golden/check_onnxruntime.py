#!/usr/bin/env python3
"""Cross-checks the golden files against onnxruntime's LSTM operator.

Optional; not part of the test suite. It needs numpy, onnx and onnxruntime
(PyPI), e.g.
    python3 -m venv /tmp/ortenv && /tmp/ortenv/bin/pip install numpy onnx onnxruntime
    /tmp/ortenv/bin/python tests/golden/check_onnxruntime.py
Every case ONNX can express (all but projection) is rebuilt as a chain of
ONNX LSTM nodes, one per layer, with the weights read from the file and
brought to ONNX's layout here, and run; y, hn and cn must match the goldens
to float32 accuracy. The script exits non-zero on any mismatch.

One known difference: with clip, lstmcl clips the cell state where it enters
h() (ONNX: clip "is applied to the input of activations"), while onnxruntime
passes the unclipped cell state to h(). Cases whose cell state exceeds the
clip (the generator notes it in the file) are reported, not failed.
"""

import glob
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
# onnxruntime's float32 arithmetic against float64 goldens.
ATOL, RTOL = 2e-5, 2e-5
# Per ONNX, activations consume alpha/beta values in order, only as many as
# each function takes.
TAKES = {"HardSigmoid": (1, 1), "LeakyRelu": (1, 0), "ThresholdedRelu": (1, 0),
         "ScaledTanh": (1, 1), "Affine": (1, 1), "Elu": (1, 0)}
DEFAULTS = {"f": "Sigmoid", "g": "Tanh", "h": "Tanh"}


def read_case(path):
    cfg, acts, arrays = {}, {}, {}
    toks = []
    for line in open(path, encoding="ascii"):
        if not line.lstrip().startswith("#"):
            toks += line.split()
        elif "cell values clipped" in line:
            cfg["cells_clipped"] = int(line.split()[1])
    k = 2  # "lstmcl-golden 1"
    while toks[k] != "end":
        key = toks[k]
        if key == "act":
            d, slot, name, a, b = toks[k + 1:k + 6]
            acts[(int(d), slot)] = (name, float(a), float(b))
            k += 6
        elif key == "array":
            name, ndim = toks[k + 1], int(toks[k + 2])
            dims = [int(v) for v in toks[k + 3:k + 3 + ndim]]
            n = int(np.prod(dims))
            start = k + 3 + ndim
            arrays[name] = np.array([float(v) for v in toks[start:start + n]]).reshape(dims)
            k = start + n
        else:
            cfg[key] = toks[k + 1]
            k += 2
    return cfg, acts, arrays


def to_onnx_weights(conv, t, H):
    """One layer-direction's tensors from the file's convention to ONNX W, R,
    B (gate order i, o, f, c) and P."""
    def reorder_ifgo(m):  # rows in blocks i, f, g, o -> i, o, f, g
        b = np.split(m, 4, axis=0)
        return np.concatenate([b[0], b[3], b[1], b[2]], axis=0)

    if conv == "onnx":
        W = t["input_weights"].reshape(4 * H, -1)
        R = t["recurrent_weights"]
        B = t.get("input_bias", np.zeros(8 * H))
    elif conv == "pytorch":
        W = reorder_ifgo(t["input_weights"])
        R = reorder_ifgo(t["recurrent_weights"])
        B = np.concatenate([reorder_ifgo(t.get("input_bias", np.zeros(4 * H))),
                            reorder_ifgo(t.get("recurrent_bias", np.zeros(4 * H)))])
    else:  # keras: kernel (Iin, 4H), recurrent_kernel (Hout, 4H), columns i, f, c, o
        W = reorder_ifgo(t["input_weights"].T)
        R = reorder_ifgo(t["recurrent_weights"].T)
        B = np.concatenate([reorder_ifgo(t.get("input_bias", np.zeros(4 * H))), np.zeros(4 * H)])
    P = t.get("peephole", np.zeros(3 * H))
    return W, R, B, P


def build_and_run(cfg, acts, arrays):
    conv = cfg["convention"]
    H, L, T, N = (int(cfg[k]) for k in ("hidden_size", "num_layers", "seq_len", "batch"))
    direction = cfg["direction"]
    D = 2 if direction == "bidirectional" else 1
    x = arrays["x"]
    if cfg["batch_first"] == "1":
        x = x.transpose(1, 0, 2)
    lens = arrays.get("seq_lens", np.full(N, T)).astype(np.int32)

    names, alphas, betas = [], [], []
    for d in range(D):
        for slot in "fgh":
            name, a, b = acts.get((d, slot), ("Default", 0.0, 0.0))
            name = DEFAULTS[slot] if name == "Default" else name
            names.append(name)
            ta, tb = TAKES.get(name, (0, 0))
            alphas += [a] * ta
            betas += [b] * tb

    nodes, inits = [], []
    inp = "x"
    outputs_h, outputs_c = [], []
    for layer in range(L):
        Ws, Rs, Bs, Ps = [], [], [], []
        for d in range(D):
            t = {k.split(".", 2)[2]: v for k, v in arrays.items()
                 if k.startswith("L%d.D%d." % (layer, d))}
            W, R, B, P = to_onnx_weights(conv, t, H)
            Ws.append(W), Rs.append(R), Bs.append(B), Ps.append(P)
        pre = "l%d_" % layer
        for nm, val in (("W", Ws), ("R", Rs), ("B", Bs), ("P", Ps)):
            inits.append(helper.make_tensor(pre + nm, TensorProto.FLOAT, np.shape(val),
                                            np.asarray(val, np.float32).ravel()))
        rows = slice(layer * D, layer * D + D)
        for nm in ("h0", "c0"):
            src = arrays.get(nm, np.zeros((L * D, N, H)))
            inits.append(helper.make_tensor(pre + nm, TensorProto.FLOAT, src[rows].shape,
                                            np.asarray(src[rows], np.float32).ravel()))
        attrs = dict(hidden_size=H, direction=direction, activations=names,
                     input_forget=int(cfg["input_forget"]))
        if alphas:
            attrs["activation_alpha"] = alphas
        if betas:
            attrs["activation_beta"] = betas
        if cfg["has_clip"] == "1":
            attrs["clip"] = float(cfg["clip"])
        nodes.append(helper.make_node(
            "LSTM", [inp, pre + "W", pre + "R", pre + "B", "lens", pre + "h0", pre + "c0",
                     pre + "P"], [pre + "Y", pre + "Yh", pre + "Yc"], **attrs))
        # Y (T, D, N, H) -> (T, N, D*H), the next layer's input.
        nodes.append(helper.make_node("Transpose", [pre + "Y"], [pre + "Yt"], perm=[0, 2, 1, 3]))
        inits.append(helper.make_tensor(pre + "shape", TensorProto.INT64, [3], [T, N, D * H]))
        nodes.append(helper.make_node("Reshape", [pre + "Yt", pre + "shape"], [pre + "out"]))
        inp = pre + "out"
        outputs_h.append(pre + "Yh")
        outputs_c.append(pre + "Yc")
    nodes.append(helper.make_node("Concat", outputs_h, ["hn"], axis=0))
    nodes.append(helper.make_node("Concat", outputs_c, ["cn"], axis=0))
    nodes.append(helper.make_node("Identity", [inp], ["y"]))
    graph = helper.make_graph(
        nodes, "golden",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape)),
         helper.make_tensor_value_info("lens", TensorProto.INT32, [N])],
        [helper.make_tensor_value_info(nm, TensorProto.FLOAT, [None, None, None])
         for nm in ("y", "hn", "cn")],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y, hn, cn = sess.run(["y", "hn", "cn"], {"x": x.astype(np.float32), "lens": lens})
    if cfg["batch_first"] == "1":
        y = y.transpose(1, 0, 2)
    return {"y": y, "hn": hn, "cn": cn}


def main():
    failed = checked = 0
    for path in sorted(glob.glob(os.path.join(HERE, "*.golden"))):
        cfg, acts, arrays = read_case(path)
        name = os.path.basename(path)
        if cfg["proj_size"] != "0":
            print("%-40s skipped (projection)" % name)
            continue
        got = build_and_run(cfg, acts, arrays)
        worst = 0.0
        for key in ("y", "hn", "cn"):
            g = arrays[key]
            diff = np.abs(got[key].reshape(g.shape) - g)
            worst = max(worst, float(np.max(diff)))
            if not np.all(diff <= ATOL + RTOL * np.abs(g)):
                i = int(np.argmax(diff - RTOL * np.abs(g)))
                what = "MISMATCH"
                if cfg.get("cells_clipped", 0) > 0:
                    what = "differs as expected (cell state clipped before h())"
                else:
                    failed += 1
                print("%-40s %s %s[%d]: onnxruntime %.9g golden %.9g"
                      % (name, what, key, i, got[key].ravel()[i], g.ravel()[i]))
                break
        else:
            print("%-40s ok (max |diff| %.2g)" % (name, worst))
        checked += 1
    print("%d cases checked against onnxruntime %s, %d mismatched" % (checked, ort.__version__,
                                                                      failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
