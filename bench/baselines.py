#!/usr/bin/python3
"""Python baselines of lstmcl-bench: PyTorch nn.LSTM and onnxruntime's LSTM
operator, timed on the bench's own weights and input.

    baselines.py probe
        prints a JSON array of the baselines this interpreter can run,
        [{"name": ..., "version": ...}, ...]
    baselines.py run --H .. --I .. --N .. --T .. --L .. --P .. --D .. \
                     --data FILE [--ref FILE] [--target-ms MS] [--tol X]
        prints a JSON array with one object per baseline: name, status
        ("ok" or "error"), error, ms_median, ms_min, ms_max, reps,
        max_rel_err (null without --ref).

FILE (--data) is raw native float32, the weights in the PyTorch convention
(gates i, f, g, o) then the input: for each layer l and direction d,
weight_ih (4H, Iin), weight_hh (4H, Hout), bias_ih (4H), bias_hh (4H) and,
when P > 0, weight_hr (P, H); then x (T, N, I). --ref holds the reference
output y (T, N, D*Hout) that each baseline's output is compared with.
Only the JSON goes to stdout; diagnostics go to stderr.
"""
import argparse
import json
import os
import statistics
import sys
import time


def log(msg):
    print("baselines.py: " + msg, file=sys.stderr)


def load_torch():
    try:
        import torch
        return torch
    except Exception as e:  # noqa: BLE001 - any import failure means "absent"
        log("torch not available: %s" % e)
        return None


def load_ort():
    try:
        import onnx  # noqa: F401 - needed to build the graph
        import onnxruntime
        return onnxruntime
    except Exception as e:  # noqa: BLE001
        log("onnxruntime/onnx not available: %s" % e)
        return None


def split_weights(a, flat, np):
    """Views of the --data file: per layer, per direction, a dict of arrays."""
    H, I, L, P, D, T, N = a.H, a.I, a.L, a.P, a.D, a.T, a.N
    Ho = P if P > 0 else H
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = flat[pos:pos + n].reshape(shape)
        pos += n
        return out

    layers = []
    for layer in range(L):
        iin = I if layer == 0 else D * Ho
        dirs = []
        for _ in range(D):
            w = {"w_ih": take(4 * H, iin), "w_hh": take(4 * H, Ho),
                 "b_ih": take(4 * H), "b_hh": take(4 * H)}
            if P > 0:
                w["w_hr"] = take(P, H)
            dirs.append(w)
        layers.append(dirs)
    x = take(T, N, I)
    if pos != flat.size:
        raise ValueError("data file holds %d floats, expected %d" % (flat.size, pos))
    return layers, x


def max_rel_err(got, ref, np):
    if ref is None:
        return None
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    if got.shape != ref.shape:
        return float("inf")
    if not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1.0)))


def time_calls(fn, target_ms, max_reps=1000):
    """Warm-up, a calibration pass (unless the warm-up took a second or more
    and filled the target), then enough repetitions to fill target_ms, as
    lstmcl-bench does."""
    est = 0.0
    out = None
    for _ in range(2):
        t0 = time.perf_counter()
        out = fn()
        est = (time.perf_counter() - t0) * 1e3
        if est >= target_ms and est >= 1000.0:
            break
    reps = max(3 if est < 1000.0 else 1, min(max_reps, int(-(-target_ms // max(est, 1e-6)))))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return out, {"ms_median": statistics.median(times), "ms_min": min(times),
                 "ms_max": max(times), "reps": reps}


def run_torch(torch, device, a, layers, x, ref, np):
    if device == "cuda":
        # full FP32, as lstmcl computes: no TF32 in cuDNN or cuBLAS
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    model = torch.nn.LSTM(a.I, a.H, num_layers=a.L, bidirectional=a.D == 2, proj_size=a.P)
    with torch.no_grad():
        for layer, dirs in enumerate(layers):
            for d, w in enumerate(dirs):
                sfx = "_l%d%s" % (layer, "_reverse" if d == 1 else "")
                getattr(model, "weight_ih" + sfx).copy_(torch.from_numpy(w["w_ih"]))
                getattr(model, "weight_hh" + sfx).copy_(torch.from_numpy(w["w_hh"]))
                getattr(model, "bias_ih" + sfx).copy_(torch.from_numpy(w["b_ih"]))
                getattr(model, "bias_hh" + sfx).copy_(torch.from_numpy(w["b_hh"]))
                if a.P > 0:
                    getattr(model, "weight_hr" + sfx).copy_(torch.from_numpy(w["w_hr"]))
    model = model.to(device).eval()
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(device)

    def fwd():
        with torch.inference_mode():
            y, _ = model(xt)
        if device == "cuda":
            torch.cuda.synchronize()
        return y

    y, stats = time_calls(fwd, a.target_ms)
    stats["max_rel_err"] = max_rel_err(y.cpu().numpy(), ref, np)
    return stats


def onnx_model(a, layers):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    H, D = a.H, a.D
    # PyTorch gate blocks i, f, g, o -> ONNX i, o, f, c
    order = [0, 3, 1, 2]

    def reorder(m):
        return np.concatenate([m[k * H:(k + 1) * H] for k in order], axis=0)

    nodes, inits = [], []
    inp = "X"
    for layer, dirs in enumerate(layers):
        W = np.stack([reorder(w["w_ih"]) for w in dirs]).astype(np.float32)
        R = np.stack([reorder(w["w_hh"]) for w in dirs]).astype(np.float32)
        B = np.stack([np.concatenate([reorder(w["b_ih"]), reorder(w["b_hh"])])
                      for w in dirs]).astype(np.float32)
        names = ["W%d" % layer, "R%d" % layer, "B%d" % layer]
        for name, arr in zip(names, (W, R, B)):
            inits.append(numpy_helper.from_array(arr, name))
        y4 = "Y4_%d" % layer
        nodes.append(helper.make_node(
            "LSTM", [inp] + names, [y4], hidden_size=H,
            direction="bidirectional" if D == 2 else "forward"))
        # Y (T, D, N, H) -> (T, N, D*H): directions concatenated per step
        yt = "YT_%d" % layer
        nodes.append(helper.make_node("Transpose", [y4], [yt], perm=[0, 2, 1, 3]))
        out = "Y" if layer == len(layers) - 1 else "Y_%d" % layer
        nodes.append(helper.make_node("Reshape", [yt, "shape3"], [out]))
        inp = out
    inits.append(numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "shape3"))
    graph = helper.make_graph(
        nodes, "lstmcl_bench", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [a.T, a.N, a.I])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = min(model.ir_version, 8)
    return model.SerializeToString()


def run_ort(ort, a, layers, x, ref, np):
    if a.P > 0:
        raise RuntimeError("the ONNX LSTM operator has no projection")
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(onnx_model(a, layers), so, providers=["CPUExecutionProvider"])
    feed = {"X": np.ascontiguousarray(x)}
    y, stats = time_calls(lambda: sess.run(["Y"], feed)[0], a.target_ms)
    stats["max_rel_err"] = max_rel_err(y, ref, np)
    return stats


def blas_library(torch):
    """The BLAS library torch's CPU matrix products load (Linux), by name:
    distribution builds call whatever libblas.so.3 the system selects, and the
    reference BLAS is some twenty times slower than OpenBLAS."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if line.split()[-1].startswith("/")}
    except OSError:
        return "unknown"
    libs = {os.path.basename(os.path.realpath(p)) for p in paths}
    libs = {n for n in libs if "blas" in n.lower()}
    return ",".join(sorted(libs)) or "built in"


def probe():
    out = []
    torch = load_torch()
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        out.append({"name": "torch-cpu",
                    "version": "%s threads=%d blas=%s" % (torch.__version__, torch.get_num_threads(),
                                                        blas_library(torch))})
        if torch.cuda.is_available():
            out.append({"name": "torch-cuda",
                        "version": "%s cudnn=%s %s" % (torch.__version__,
                                                       torch.backends.cudnn.version(),
                                                       torch.cuda.get_device_name(0))})
    ort = load_ort()
    if ort is not None:
        out.append({"name": "onnxruntime-cpu", "version": ort.__version__})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["probe", "run"])
    for k in ("H", "I", "N", "T", "L", "P", "D"):
        p.add_argument("--" + k, type=int, default=0)
    p.add_argument("--data")
    p.add_argument("--ref")
    p.add_argument("--target-ms", type=float, default=200.0)
    p.add_argument("--tol", type=float, default=None)
    a = p.parse_args()
    if a.mode == "probe":
        print(json.dumps(probe()))
        return 0

    import numpy as np
    flat = np.fromfile(a.data, dtype=np.float32)
    layers, x = split_weights(a, flat, np)
    ref = None
    if a.ref:
        ref = np.fromfile(a.ref, dtype=np.float32)
    results = []

    def attempt(name, fn):
        try:
            r = fn()
            r.update({"name": name, "status": "ok", "error": ""})
        except Exception as e:  # noqa: BLE001 - reported in the row, the run goes on
            r = {"name": name, "status": "error", "error": "%s: %s" % (type(e).__name__, e)}
        results.append(r)

    torch = load_torch()
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        attempt("torch-cpu", lambda: run_torch(torch, "cpu", a, layers, x, ref, np))
        if torch.cuda.is_available():
            attempt("torch-cuda", lambda: run_torch(torch, "cuda", a, layers, x, ref, np))
    ort = load_ort()
    if ort is not None:
        attempt("onnxruntime-cpu", lambda: run_ort(ort, a, layers, x, ref, np))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
