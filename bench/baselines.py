#!/usr/bin/python3
"""Python baselines of lstmcl-bench: PyTorch nn.LSTM and onnxruntime's LSTM
operator, and their dynamically quantized int8 forms, timed on the bench's
own weights and input.

    baselines.py probe
        prints a JSON array of the baselines this interpreter knows,
        [{"name": ..., "version": ...}, ...]; one it cannot run here (an
        int8 baseline whose modules are missing) has "error": why, instead
    baselines.py run --H .. --I .. --N .. --T .. --L .. --P .. --D .. \
                     --data FILE [--ref FILE] [--target-ms MS] [--tol X]
                     [--precisions fp32,int8]
        prints a JSON array with one object per baseline: name, precision,
        status ("ok" or "error"), error, ms_median, ms_min, ms_max, reps,
        max_rel_err (on y; null without --ref), dev_fp32 and dev_fp32_y,
        dev_fp32_hn, dev_fp32_cn (see below; null where not measured).

FILE (--data) is raw native float32, the weights in the PyTorch convention
(gates i, f, g, o) then the input: for each layer l and direction d,
weight_ih (4H, Iin), weight_hh (4H, Hout), bias_ih (4H), bias_hh (4H) and,
when P > 0, weight_hr (P, H); then x (T, N, I). --ref holds the fp32
reference output y (T, N, D*Hout) that each baseline's output is compared
with, optionally followed by hn (L*D, N, Hout) and cn (L*D, N, H).
max_rel_err is max |got - ref| / max(|ref|, 1) over y; dev_fp32 is the
reduced-precision contract's metric of include/lstmcl.h, max |got - ref| /
max(max |ref|, 1) per output (y, hn, cn where --ref has them), and the
largest of those.
--precisions picks the baselines by precision: fp32 (default) runs
torch-cpu, torch-cuda and onnxruntime-cpu; int8 runs
  torch-cpu-int8        torch.ao.quantization.quantize_dynamic(model,
                        {nn.LSTM}, dtype=torch.qint8): int8 weights,
                        activations quantized per call (no projection);
  onnxruntime-cpu-int8  onnxruntime.quantization.quantize_dynamic on the
                        ONNX graph of onnxruntime-cpu (per-channel QInt8
                        weights), each LSTM becoming one DynamicQuantizeLSTM
                        node (checked). It needs a recent onnx and
                        ml_dtypes beside onnxruntime.
Only the JSON goes to stdout; diagnostics go to stderr.

    baselines.py serve --socket PATH [--while-pid PID] [--idle-s S]
        loads torch (and CUDA, cuDNN) once and answers the probe and run
        requests of clients that find it through $LSTMCL_BASELINES_SERVER,
        one at a time, until process PID ends or S seconds (default 3600)
        pass without a request. The bench starts this script once per
        configuration, and on a GPU machine importing torch and starting
        CUDA costs seconds each time.

Environment:
    LSTMCL_BASELINES         comma list of the baselines to offer and run
                             (torch-cpu, torch-cuda, onnxruntime-cpu,
                             torch-cpu-int8, onnxruntime-cpu-int8); unset
                             or empty: every one that imports. torch-cuda runs
                             in FP32 with TF32 off in cuDNN and cuBLAS.
    LSTMCL_BASELINES_SERVER  the socket of a running `serve`: probe and run
                             go through it, and run here when it does not
                             answer.
"""
import argparse
import json
import os
import statistics
import sys
import time
import traceback

NAMES = ("torch-cpu", "torch-cuda", "onnxruntime-cpu", "torch-cpu-int8", "onnxruntime-cpu-int8")
INT8 = ("torch-cpu-int8", "onnxruntime-cpu-int8")


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


def load_ort_quant():
    """onnxruntime's quantization tool, or (None, why). It imports ml_dtypes
    and needs an onnx recent enough for the installed onnxruntime."""
    ort = load_ort()
    if ort is None:
        return None, "onnxruntime or onnx does not import"
    try:
        from onnxruntime import quantization
        quantization.quantize_dynamic  # noqa: B018 - present in every version that imports
        return quantization, ""
    except Exception as e:  # noqa: BLE001
        import onnx
        return None, ("onnxruntime.quantization does not import (%s: %s); onnxruntime %s needs "
                      "ml_dtypes and a recent onnx (here %s) beside it: "
                      "pip install onnx ml_dtypes (./build.sh bench does)"
                      % (type(e).__name__, e, ort.__version__, onnx.__version__))


def torch_quant_engine(torch):
    """The quantized engine torch runs dynamically quantized LSTMs on, or
    None (a build without one)."""
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    if not engines or not hasattr(torch, "ao"):
        return None
    return torch.backends.quantized.engine if torch.backends.quantized.engine in engines \
        else engines[0]


def selection(spec):
    """The baselines a comma list names (None or empty: all of them)."""
    if not spec or not spec.strip():
        return set(NAMES)
    chosen = {n.strip() for n in spec.split(",") if n.strip()}
    for n in sorted(chosen - set(NAMES)):
        log("LSTMCL_BASELINES: unknown baseline %s (known: %s)" % (n, ", ".join(NAMES)))
    return chosen


def set_fp32(torch):
    """Full FP32 on CUDA, as lstmcl computes: no TF32 in cuBLAS or cuDNN (its
    RNNs then use FMA math). Torch 2.9 and later have a per-backend precision
    setting and object to the older flags being mixed with it, so only one of
    the two is used. Returns the setting as read back."""
    b = torch.backends
    if hasattr(b, "fp32_precision"):
        parts = [(b.cuda.matmul, "cuda.matmul"), (b.cudnn, "cudnn")]
        if hasattr(b.cudnn, "rnn"):
            parts.append((b.cudnn.rnn, "cudnn.rnn"))
        for obj, _ in parts:
            obj.fp32_precision = "ieee"
        got = {name: obj.fp32_precision for obj, name in parts}
        off = all(v == "ieee" for v in got.values())
        return "tf32=%s" % ("off" if off else
                            ",".join("%s:%s" % kv for kv in sorted(got.items())))
    b.cudnn.allow_tf32 = False
    b.cuda.matmul.allow_tf32 = False
    return "tf32=%s" % ("on" if b.cudnn.allow_tf32 or b.cuda.matmul.allow_tf32 else "off")


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


def tensor_dev(got, ref, np):
    """The reduced-precision contract's metric (include/lstmcl.h) for one
    output: max |got - ref| / max(max |ref|, 1)."""
    if ref is None or got is None:
        return None
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    if got.shape != ref.shape or not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1.0))


def accuracy(outs, ref, np):
    """max_rel_err (on y) and the dev_fp32 fields of outputs (y, hn, cn)
    against the reference (y, hn, cn; hn and cn may be None)."""
    if ref is None:
        return {"max_rel_err": None, "dev_fp32": None, "dev_fp32_y": None,
                "dev_fp32_hn": None, "dev_fp32_cn": None}
    devs = [tensor_dev(o, r, np) for o, r in zip(outs, ref)]
    known = [d for d in devs if d is not None]
    return {"max_rel_err": max_rel_err(outs[0], ref[0], np),
            "dev_fp32": max(known) if known else None,
            "dev_fp32_y": devs[0], "dev_fp32_hn": devs[1], "dev_fp32_cn": devs[2]}


def split_ref(a, flat):
    """The --ref file: y alone, or y, hn and cn."""
    Ho = a.P if a.P > 0 else a.H
    ny, nh, nc = a.T * a.N * a.D * Ho, a.L * a.D * a.N * Ho, a.L * a.D * a.N * a.H
    if flat.size == ny:
        return flat, None, None
    if flat.size == ny + nh + nc:
        return flat[:ny], flat[ny:ny + nh], flat[ny + nh:]
    raise ValueError("ref file holds %d floats, expected %d (y) or %d (y, hn, cn)"
                     % (flat.size, ny, ny + nh + nc))


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


def torch_lstm(torch, a, layers):
    """An nn.LSTM holding the bench's weights."""
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
    return model.eval()


def time_torch(torch, model, device, a, x, ref, np):
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(device)

    def fwd():
        with torch.inference_mode():
            y, (hn, cn) = model(xt)
        if device == "cuda":
            torch.cuda.synchronize()
        return y, hn, cn

    outs, stats = time_calls(fwd, a.target_ms)
    stats.update(accuracy([t.cpu().numpy() for t in outs], ref, np))
    return stats


def run_torch(torch, device, a, layers, x, ref, np):
    if device == "cuda":
        set_fp32(torch)
    model = torch_lstm(torch, a, layers).to(device)
    return time_torch(torch, model, device, a, x, ref, np)


def run_torch_int8(torch, a, layers, x, ref, np):
    """torch.ao.quantization.quantize_dynamic on the nn.LSTM: int8 weights,
    activations quantized on the fly, on torch's quantized engine."""
    if a.P > 0:
        raise RuntimeError("PyTorch's dynamically quantized LSTM has no projection (proj_size)")
    engine = torch_quant_engine(torch)
    if engine is None:
        raise RuntimeError("torch %s has no quantized engine" % torch.__version__)
    torch.backends.quantized.engine = engine
    # quantize_dynamic swaps the submodules of a model, not the model itself
    wrapped = torch.nn.Sequential(torch_lstm(torch, a, layers))
    q = torch.ao.quantization.quantize_dynamic(wrapped, {torch.nn.LSTM}, dtype=torch.qint8)[0]
    if "quantized" not in type(q).__module__:
        raise RuntimeError("quantize_dynamic left the LSTM in float (%s)" % type(q).__name__)
    return time_torch(torch, q, "cpu", a, x, ref, np)


def onnx_model(a, layers):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    H, D = a.H, a.D
    # PyTorch gate blocks i, f, g, o -> ONNX i, o, f, c
    order = [0, 3, 1, 2]

    def reorder(m):
        return np.concatenate([m[k * H:(k + 1) * H] for k in order], axis=0)

    nodes, inits, hs, cs = [], [], [], []
    inp = "X"
    for layer, dirs in enumerate(layers):
        W = np.stack([reorder(w["w_ih"]) for w in dirs]).astype(np.float32)
        R = np.stack([reorder(w["w_hh"]) for w in dirs]).astype(np.float32)
        B = np.stack([np.concatenate([reorder(w["b_ih"]), reorder(w["b_hh"])])
                      for w in dirs]).astype(np.float32)
        names = ["W%d" % layer, "R%d" % layer, "B%d" % layer]
        for name, arr in zip(names, (W, R, B)):
            inits.append(numpy_helper.from_array(arr, name))
        y4, yh, yc = "Y4_%d" % layer, "YH_%d" % layer, "YC_%d" % layer
        nodes.append(helper.make_node(
            "LSTM", [inp] + names, [y4, yh, yc], hidden_size=H,
            direction="bidirectional" if D == 2 else "forward"))
        hs.append(yh)
        cs.append(yc)
        # Y (T, D, N, H) -> (T, N, D*H): directions concatenated per step
        yt = "YT_%d" % layer
        nodes.append(helper.make_node("Transpose", [y4], [yt], perm=[0, 2, 1, 3]))
        out = "Y" if layer == len(layers) - 1 else "Y_%d" % layer
        nodes.append(helper.make_node("Reshape", [yt, "shape3"], [out]))
        inp = out
    # final states (D, N, H) per layer -> (L*D, N, H), as lstmcl's hn and cn
    nodes.append(helper.make_node("Concat", hs, ["HN"], axis=0))
    nodes.append(helper.make_node("Concat", cs, ["CN"], axis=0))
    inits.append(numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "shape3"))
    graph = helper.make_graph(
        nodes, "lstmcl_bench", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [a.T, a.N, a.I])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "HN", "CN")],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = min(model.ir_version, 8)
    return model.SerializeToString()


def time_ort(ort, model_bytes, a, x, ref, np):
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
    feed = {"X": np.ascontiguousarray(x)}
    _, stats = time_calls(lambda: sess.run(["Y"], feed)[0], a.target_ms)
    # the final states too, once, for the deviation
    stats.update(accuracy(sess.run(["Y", "HN", "CN"], feed), ref, np))
    return stats


def run_ort(ort, a, layers, x, ref, np):
    if a.P > 0:
        raise RuntimeError("the ONNX LSTM operator has no projection")
    return time_ort(ort, onnx_model(a, layers), a, x, ref, np)


def quantize_onnx(quantization, model_bytes, layers):
    """onnxruntime.quantization.quantize_dynamic on the graph: per-channel
    (one scale per gate row, as lstmcl's int8) QInt8 weights, the LSTM
    operators only. Each must have become one DynamicQuantizeLSTM."""
    import logging
    import tempfile
    import onnx
    with tempfile.TemporaryDirectory(prefix="lstmcl-bench-ort-") as tmp:
        src, dst = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        with open(src, "wb") as f:
            f.write(model_bytes)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to pre-process the graph
        try:
            quantization.quantize_dynamic(src, dst, op_types_to_quantize=["LSTM"], per_channel=True,
                                          weight_type=quantization.QuantType.QInt8)
        finally:
            root.setLevel(level)
        q = onnx.load(dst)
    ops = [n.op_type for n in q.graph.node]
    if ops.count("DynamicQuantizeLSTM") != len(layers) or "LSTM" in ops:
        raise RuntimeError("quantize_dynamic did not turn each LSTM into one "
                           "DynamicQuantizeLSTM node (graph: %s)" % ", ".join(ops))
    return q.SerializeToString()


def run_ort_int8(ort, quantization, a, layers, x, ref, np):
    if a.P > 0:
        raise RuntimeError("the ONNX LSTM operator has no projection")
    return time_ort(ort, quantize_onnx(quantization, onnx_model(a, layers), layers), a, x, ref, np)


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


def probe(chosen):
    out = []
    torch = load_torch() if chosen & {"torch-cpu", "torch-cuda", "torch-cpu-int8"} else None
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        if "torch-cpu" in chosen:
            out.append({"name": "torch-cpu",
                        "version": "%s threads=%d blas=%s" % (
                            torch.__version__, torch.get_num_threads(), blas_library(torch))})
        if "torch-cuda" in chosen:
            if torch.cuda.is_available():
                out.append({"name": "torch-cuda",
                            "version": "%s cudnn=%s %s %s" % (
                                torch.__version__, torch.backends.cudnn.version(),
                                torch.cuda.get_device_name(0), set_fp32(torch))})
            elif chosen != set(NAMES):  # asked for by name
                log("torch-cuda: torch %s sees no CUDA device" % torch.__version__)
    if "torch-cpu-int8" in chosen:
        engine = torch_quant_engine(torch) if torch is not None else None
        if engine is not None:
            out.append({"name": "torch-cpu-int8",
                        "version": "%s quantize_dynamic qint8 engine=%s threads=%d" % (
                            torch.__version__, engine, torch.get_num_threads())})
        else:
            out.append({"name": "torch-cpu-int8", "error": "torch does not import" if torch is None
                        else "torch %s has no quantized engine" % torch.__version__})
    ort = load_ort() if chosen & {"onnxruntime-cpu", "onnxruntime-cpu-int8"} else None
    if ort is not None and "onnxruntime-cpu" in chosen:
        out.append({"name": "onnxruntime-cpu", "version": ort.__version__})
    if "onnxruntime-cpu-int8" in chosen:
        quantization, why = load_ort_quant() if ort is not None else (
            None, "onnxruntime or onnx does not import")
        if quantization is not None:
            import onnx
            out.append({"name": "onnxruntime-cpu-int8",
                        "version": "%s onnx=%s quantize_dynamic per-channel QInt8" % (
                            ort.__version__, onnx.__version__)})
        else:  # the bench says why when it wants the int8 rows
            out.append({"name": "onnxruntime-cpu-int8", "error": why})
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["probe", "run", "serve"])
    for k in ("H", "I", "N", "T", "L", "P", "D"):
        p.add_argument("--" + k, type=int, default=0)
    p.add_argument("--data")
    p.add_argument("--ref")
    p.add_argument("--target-ms", type=float, default=200.0)
    p.add_argument("--tol", type=float, default=None)
    p.add_argument("--precisions", default="fp32",
                   help="comma list: fp32 (the float baselines), int8 (the quantized ones)")
    p.add_argument("--socket")
    p.add_argument("--idle-s", type=float, default=3600.0)
    p.add_argument("--while-pid", type=int)
    return p.parse_args(argv)


def execute(a, chosen):
    """probe or run: (exit status, the JSON text for stdout)."""
    if a.mode not in ("probe", "run"):
        log("a server runs probe and run only, not %s" % a.mode)
        return 2, ""
    if a.mode == "probe":
        return 0, json.dumps(probe(chosen))

    import numpy as np
    flat = np.fromfile(a.data, dtype=np.float32)
    layers, x = split_weights(a, flat, np)
    ref = None
    if a.ref:
        ref = split_ref(a, np.fromfile(a.ref, dtype=np.float32))
    precisions = {p.strip() for p in a.precisions.split(",") if p.strip()}
    for p in sorted(precisions - {"fp32", "int8"}):
        log("--precisions: no baselines in %s (fp32, int8)" % p)
    if "fp32" not in precisions:
        chosen = chosen - {n for n in NAMES if n not in INT8}
    if "int8" not in precisions:
        chosen = chosen - set(INT8)
    results = []

    def attempt(name, fn):
        try:
            r = fn()
            r.update({"name": name, "status": "ok", "error": ""})
        except Exception as e:  # noqa: BLE001 - reported in the row, the run goes on
            r = {"name": name, "status": "error", "error": "%s: %s" % (type(e).__name__, e)}
        r["precision"] = "int8" if name in INT8 else "fp32"
        results.append(r)

    torch = load_torch() if chosen & {"torch-cpu", "torch-cuda", "torch-cpu-int8"} else None
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        if "torch-cpu" in chosen:
            attempt("torch-cpu", lambda: run_torch(torch, "cpu", a, layers, x, ref, np))
        if "torch-cuda" in chosen and torch.cuda.is_available():
            attempt("torch-cuda", lambda: run_torch(torch, "cuda", a, layers, x, ref, np))
        if "torch-cpu-int8" in chosen and torch_quant_engine(torch) is not None:
            attempt("torch-cpu-int8", lambda: run_torch_int8(torch, a, layers, x, ref, np))
    ort = load_ort() if chosen & {"onnxruntime-cpu", "onnxruntime-cpu-int8"} else None
    if ort is not None:
        if "onnxruntime-cpu" in chosen:
            attempt("onnxruntime-cpu", lambda: run_ort(ort, a, layers, x, ref, np))
        if "onnxruntime-cpu-int8" in chosen:
            quantization, why = load_ort_quant()
            if quantization is not None:
                attempt("onnxruntime-cpu-int8",
                        lambda: run_ort_int8(ort, quantization, a, layers, x, ref, np))
            else:
                log("onnxruntime-cpu-int8 skipped: %s" % why)
    return 0, json.dumps(results)


def recv_all(conn):
    chunks = []
    while True:
        b = conn.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def ask_server(path, argv, spec):
    """Runs argv in the server at path: its exit status after printing its
    answer, or None when it did not answer (then the caller runs here)."""
    import socket
    # the server may run in another directory: file arguments made absolute
    argv = [os.path.abspath(v) if i and argv[i - 1] in ("--data", "--ref") else v
            for i, v in enumerate(argv)]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(json.dumps({"argv": argv, "baselines": spec}).encode())
            s.shutdown(socket.SHUT_WR)
            reply = json.loads(recv_all(s).decode() or "null")
        rc, out = int(reply["rc"]), reply["out"]
    except (OSError, ValueError, TypeError, KeyError) as e:
        log("server %s did not answer (%s): running here" % (path, e))
        return None
    print(out)
    return rc


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Stop(BaseException):
    """SIGTERM in the server: past the handlers of a request's own errors."""


def stop(*_):
    raise Stop()


def serve(a):
    import signal
    import socket
    # a plain kill still closes the socket and says how much was served
    signal.signal(signal.SIGTERM, stop)
    chosen = selection(os.environ.get("LSTMCL_BASELINES"))
    # what the first request would otherwise wait for: imports, CUDA's
    # context, and (through the probe) cuDNN's version
    log("server: loading %s" % ", ".join(sorted(chosen)))
    probe(chosen)
    torch = load_torch() if "torch-cuda" in chosen else None
    if torch is not None and torch.cuda.is_available():
        # cuDNN's RNN libraries load at the first LSTM
        set_fp32(torch)
        with torch.inference_mode():
            torch.nn.LSTM(8, 8).cuda()(torch.zeros(2, 1, 8, device="cuda"))
        torch.cuda.synchronize()
    if os.path.lexists(a.socket):
        os.unlink(a.socket)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(a.socket)
    srv.listen(4)
    srv.settimeout(2.0)
    log("server: ready on %s" % a.socket)
    served, last = 0, time.monotonic()
    try:
        while True:
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                if time.monotonic() - last > a.idle_s:
                    log("server: %.0f s without a request, stopping" % a.idle_s)
                    break
                if a.while_pid and not pid_alive(a.while_pid):
                    log("server: process %d ended, stopping" % a.while_pid)
                    break
                continue
            with conn:
                conn.settimeout(None)
                try:
                    req = json.loads(recv_all(conn).decode())
                    if req.get("quit"):
                        break
                    rc, out = execute(parse_args(req["argv"]), selection(req.get("baselines")))
                except SystemExit as e:  # argparse's answer to bad arguments
                    rc, out = (e.code if isinstance(e.code, int) else 2), ""
                except Exception:  # noqa: BLE001 - the client reports the failure
                    traceback.print_exc()
                    rc, out = 1, ""
                served += 1
                last = time.monotonic()
                try:
                    conn.sendall(json.dumps({"rc": rc, "out": out}).encode())
                except OSError as e:
                    log("server: client went away: %s" % e)
    except Stop:
        log("server: terminated")
    finally:
        srv.close()
        if os.path.lexists(a.socket):
            os.unlink(a.socket)
        log("server: stopped after %d requests" % served)
    return 0


def main():
    a = parse_args(sys.argv[1:])
    if a.mode == "serve":
        if not a.socket:
            log("serve needs --socket PATH")
            return 2
        return serve(a)
    spec = os.environ.get("LSTMCL_BASELINES")
    server = os.environ.get("LSTMCL_BASELINES_SERVER")
    if server:
        rc = ask_server(server, sys.argv[1:], spec)
        if rc is not None:
            return rc
    rc, out = execute(a, selection(spec))
    print(out)
    return rc


if __name__ == "__main__":
    sys.exit(main())
