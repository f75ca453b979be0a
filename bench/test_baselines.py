#!/usr/bin/python3
"""Checks bench/baselines.py against a float64 numpy LSTM written here
(PyTorch's equations, gates i, f, g, o): each float baseline the interpreter
can run must reproduce it (y, and the final states hn and cn) on a
bidirectional two-layer stack, a projection and a plain layer; each int8
baseline (dynamically quantized) must run the same cases, except the
projection, its deviation from it finite and within a loose bound, and be a
real quantized model (baselines.py checks the graph). Int8 baselines whose
modules are missing are skipped with the reason. Exit 77 (skipped) when
neither torch nor onnxruntime imports.

    test_baselines.py [PYTHON]   (default: this interpreter)
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "baselines.py")
# dev_fp32 of an int8 baseline: the contract lstmcl's int8 keeps is 5e-2;
# the baselines also quantize the activations, and these weights are wider
# than a trained model's
INT8_BOUND = 0.15


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def make_case(H, I, N, T, L, P, D, seed):
    """Weights in baselines.py's --data layout, the input, and y, hn, cn
    from numpy."""
    rng = np.random.default_rng(seed)
    Ho = P if P else H
    flat, layers = [], []
    for layer in range(L):
        iin = I if layer == 0 else D * Ho
        dirs = []
        for _ in range(D):
            w = {"w_ih": rng.uniform(-0.4, 0.4, (4 * H, iin)),
                 "w_hh": rng.uniform(-0.4, 0.4, (4 * H, Ho)),
                 "b_ih": rng.uniform(-0.4, 0.4, 4 * H),
                 "b_hh": rng.uniform(-0.4, 0.4, 4 * H)}
            if P:
                w["w_hr"] = rng.uniform(-0.4, 0.4, (P, H))
            for k in ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr"):
                if k in w:
                    w[k] = w[k].astype(np.float32)
                    flat.append(w[k].ravel())
            dirs.append(w)
        layers.append(dirs)
    x = rng.uniform(-1, 1, (T, N, I)).astype(np.float32)
    flat.append(x.ravel())

    inp = x.astype(np.float64)
    hn, cn = [], []
    for layer in range(L):
        outs = []
        for d in range(D):
            w = {k: v.astype(np.float64) for k, v in layers[layer][d].items()}
            h, c = np.zeros((N, Ho)), np.zeros((N, H))
            ys = [None] * T
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                g = inp[t] @ w["w_ih"].T + h @ w["w_hh"].T + w["b_ih"] + w["b_hh"]
                i, f = sigmoid(g[:, :H]), sigmoid(g[:, H:2 * H])
                gg, o = np.tanh(g[:, 2 * H:3 * H]), sigmoid(g[:, 3 * H:])
                c = f * c + i * gg
                h = o * np.tanh(c)
                if P:
                    h = h @ w["w_hr"].T
                ys[t] = h
            outs.append(np.stack(ys))
            hn.append(h)
            cn.append(c)
        inp = np.concatenate(outs, axis=2)
    # hn (L*D, N, Hout), cn (L*D, N, H): row l*D + d
    ref = np.concatenate([inp.ravel(), np.stack(hn).ravel(), np.stack(cn).ravel()])
    return np.concatenate(flat).astype(np.float32), ref.astype(np.float32)


def finite(x):
    return x is not None and math.isfinite(x)


def check(results, case, offered, int8):
    """Problems found in one case's results."""
    failures = 0
    P = case[5]
    names = sorted(r["name"] for r in results)
    if names != sorted(offered):
        print("case %s: ran %s, probe offered %s" % (case, names, offered))
        failures += 1
    for r in results:
        what = "case %s %s" % (case, r["name"])
        parts = [r.get("dev_fp32_" + k) for k in ("y", "hn", "cn")]
        if r["status"] != "ok":
            # neither the ONNX operator nor torch's quantized LSTM projects
            expected = P and (r["name"].startswith("onnxruntime") or int8) and \
                "projection" in r["error"]
            print("%s: %s (%s)" % (what, r["error"], "expected" if expected else "FAILED"))
            failures += 0 if expected else 1
        elif r.get("precision") != ("int8" if int8 else "fp32"):
            print("%s: precision %s FAILED" % (what, r.get("precision")))
            failures += 1
        elif not all(finite(d) for d in parts) or r["dev_fp32"] != max(parts):
            print("%s: dev_fp32 %s of y, hn, cn %s FAILED" % (what, r["dev_fp32"], parts))
            failures += 1
        elif int8 and not r["dev_fp32"] <= INT8_BOUND:
            print("%s: dev_fp32 %s beyond %g FAILED" % (what, r["dev_fp32"], INT8_BOUND))
            failures += 1
        elif not int8 and not (r["max_rel_err"] <= 1e-5 and r["dev_fp32"] <= 1e-5):
            print("%s: max_rel_err %s, dev_fp32 %s FAILED" % (what, r["max_rel_err"], r["dev_fp32"]))
            failures += 1
        else:
            print("%s: max_rel_err %.2e, dev_fp32 %.2e (y %.2e, hn %.2e, cn %.2e) ok"
                  % (what, r["max_rel_err"], r["dev_fp32"], *parts))
    return failures


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else sys.executable
    probe = json.loads(subprocess.run([python, SCRIPT, "probe"], check=True,
                                      stdout=subprocess.PIPE).stdout)
    usable = [p["name"] for p in probe if not p.get("error")]
    if not usable:
        print("test_baselines: no baseline available, skipped")
        return 77
    for p in probe:
        if p.get("error"):
            print("test_baselines: %s skipped: %s" % (p["name"], p["error"]))
    fp32 = [n for n in usable if not n.endswith("-int8")]
    int8 = [n for n in usable if n.endswith("-int8")]
    failures = 0
    # (H, I, N, T, L, P, D): odd sizes on purpose
    cases = [(9, 5, 3, 4, 2, 0, 2), (17, 7, 2, 5, 1, 6, 1), (33, 33, 4, 6, 3, 0, 1)]
    with tempfile.TemporaryDirectory() as tmp:
        for n, case in enumerate(cases):
            H, I, N, T, L, P, D = case
            data, ref = make_case(H, I, N, T, L, P, D, seed=n)
            dpath, rpath = os.path.join(tmp, "data.f32"), os.path.join(tmp, "ref.f32")
            data.tofile(dpath)
            ref.tofile(rpath)
            cmd = [python, SCRIPT, "run", "--H", str(H), "--I", str(I), "--N", str(N),
                   "--T", str(T), "--L", str(L), "--P", str(P), "--D", str(D),
                   "--data", dpath, "--ref", rpath, "--target-ms", "1"]
            for precision, offered in (("fp32", fp32), ("int8", int8)):
                if not offered:
                    continue
                out = subprocess.run(cmd + ["--precisions", precision], check=True,
                                     stdout=subprocess.PIPE).stdout
                failures += check(json.loads(out), case, offered, precision == "int8")
    print("test_baselines: %d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
