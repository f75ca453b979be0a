#!/usr/bin/python3
"""Checks bench/baselines.py against a float64 numpy LSTM written here
(PyTorch's equations, gates i, f, g, o): each baseline the interpreter can
run must reproduce it on a bidirectional two-layer stack, a projection and a
plain layer. Exit 77 (skipped) when neither torch nor onnxruntime imports.

    test_baselines.py [PYTHON]   (default: this interpreter)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "baselines.py")


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def make_case(H, I, N, T, L, P, D, seed):
    """Weights in baselines.py's --data layout, the input, and y from numpy."""
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
        inp = np.concatenate(outs, axis=2)
    return np.concatenate(flat).astype(np.float32), inp.astype(np.float32)


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else sys.executable
    probe = json.loads(subprocess.run([python, SCRIPT, "probe"], check=True,
                                      stdout=subprocess.PIPE).stdout)
    if not probe:
        print("test_baselines: no baseline available, skipped")
        return 77
    failures = 0
    # (H, I, N, T, L, P, D): odd sizes on purpose
    cases = [(9, 5, 3, 4, 2, 0, 2), (17, 7, 2, 5, 1, 6, 1), (33, 33, 4, 6, 3, 0, 1)]
    with tempfile.TemporaryDirectory() as tmp:
        for n, (H, I, N, T, L, P, D) in enumerate(cases):
            data, y = make_case(H, I, N, T, L, P, D, seed=n)
            dpath, rpath = os.path.join(tmp, "data.f32"), os.path.join(tmp, "ref.f32")
            data.tofile(dpath)
            y.tofile(rpath)
            cmd = [python, SCRIPT, "run", "--H", str(H), "--I", str(I), "--N", str(N),
                   "--T", str(T), "--L", str(L), "--P", str(P), "--D", str(D),
                   "--data", dpath, "--ref", rpath, "--target-ms", "1"]
            results = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout)
            names = sorted(r["name"] for r in results)
            if names != sorted(p["name"] for p in probe):
                print("case %s: ran %s, probe offered %s" % (cases[n], names, probe))
                failures += 1
            for r in results:
                what = "case %s %s" % (cases[n], r["name"])
                if r["status"] != "ok":
                    expected = P and r["name"].startswith("onnxruntime") and "projection" in r["error"]
                    print("%s: %s (%s)" % (what, r["error"], "expected" if expected else "FAILED"))
                    failures += 0 if expected else 1
                elif not r["max_rel_err"] <= 1e-5:
                    print("%s: max_rel_err %s FAILED" % (what, r["max_rel_err"]))
                    failures += 1
                else:
                    print("%s: max_rel_err %.2e ok" % (what, r["max_rel_err"]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
