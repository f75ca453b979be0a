#!/usr/bin/env python3
"""Tests of the lstmcl command (run by CTest; needs python3-numpy).

  test_cli.py --lstmcl PATH --group basic|malformed|e2e-cpu|e2e-device

Expected outputs come from PyTorch and onnxruntime (tests/cli/gen_data.py);
the malformed corpus from tests/cli/gen_malformed.py. Exit status 77 means
skipped (no OpenCL device for e2e-device).
"""
import argparse
import io
import json
import os
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
MALFORMED = os.path.join(HERE, "malformed")
SKIP = 77
# PyTorch's and onnxruntime's outputs against lstmcl's: float32 throughout.
RTOL, ATOL = 1e-4, 1e-5
# Cases run with a reduced --precision (their manifest entry's "contract")
# are held to lstmcl.h's accuracy contract against the float32 outputs
# instead: max |got - want| / max(max |want|, 1), per output.

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)
    return cond


def contract_deviation(got, want):
    return float(np.max(np.abs(got.astype(np.float64) - want)) / max(np.max(np.abs(want)), 1.0))


def matches(c, got, want):
    """(whether got is close enough to the framework's want, how far off)."""
    if "contract" in c:
        dev = contract_deviation(got, want)
        return dev <= c["contract"], dev
    err = float(np.max(np.abs(got - want) - RTOL * np.abs(want)))
    return err <= ATOL, err


def run(lstmcl, *args, env=None):
    return subprocess.run([lstmcl] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120, env=env)


def manifest(path):
    with open(path) as f:
        return json.load(f)


# --------------------------------------------------------------------------

def group_basic(lstmcl):
    for cmd in ([], ["devices"], ["info"], ["run"]):
        r = run(lstmcl, *(cmd + ["--help"]))
        check(r.returncode == 0 and "usage: lstmcl" in r.stdout, "%s --help" % cmd)
    # --precision's help tells the names, the contract and gemm's refusal.
    r = run(lstmcl, "run", "--help")
    text = " ".join(r.stdout.split())
    for needle in ("--precision P", "fp32 (default), fp16, bf16", "int8", "<= 1e-2 (fp16), 3e-2 "
                   "(bf16), 5e-2 (int8)", "The gemm algorithm runs fp32 only", "taken as stored"):
        check(needle in text, "run --help tells %r" % needle)
    r = run(lstmcl, "--version")
    check(r.returncode == 0 and r.stdout.startswith("lstmcl "), "--version")
    r = run(lstmcl, "devices")
    check(r.returncode == 0 and r.stdout.strip(), "devices")
    if "no OpenCL device" not in r.stdout:
        for field in ("vendor:", "type:", "compute units:", "global memory:", "local memory:",
                      "OpenCL:", "fp16:", "fp64:"):
            check(field in r.stdout, "devices lists " + field)
    st = os.path.join(DATA, "st_basic.safetensors")
    x = os.path.join(DATA, "st_basic_x.npy")
    tmp = tempfile.mkdtemp()
    y = os.path.join(tmp, "y.npy")
    usage = [
        [],
        ["frobnicate"],
        ["run", "--weights", st],
        ["run", "--weights", st, "--input", x],
        ["run", "--weights", st, "--input", x, "--output", y, "--bogus"],
        ["run", "--weights", st, "--input", x, "--output", y, "--cpu", "--device", "0"],
        ["run", "--weights", st, "--input", x, "--output", y, "--hn", y],
        ["run", "--weights", st, "--input", x, "--output", y, "--input", x],
        ["run", "--weights", st, "--input", x, "--output", y, "--validate", "--tolerance", "-1"],
        ["run", "--weights", st, "--input", x, "--output", y, "--batch-first=1"],
        ["run", "--weights", st, "--input", x, "--output", y, "--algo", "fastest"],
        ["run", "--weights", st, "--input", x, "--output", y, "--precision", "fp8"],
        ["run", "--weights", st, "--input", x, "--output", y, "--precision", "FP16"],
        ["run", "--weights", st, "--input", x, "--output", y, "--chunk", "0"],
        ["run", "--weights", st, "--input", x, "--output", y, "--chunk", "-3"],
        ["run", "--weights", os.path.join(DATA, "ox_fwd_lens.onnx"), "--input", x,
         "--output", y, "--batch-first"],
        ["run", "--weights", os.path.join(DATA, "ox_yh_only_f64.onnx"), "--input", x,
         "--output", y],
        ["run", "--weights", os.path.join(DATA, "tx_1_bf_zero.onnx"), "--input", x,
         "--output", y, "--h0", x],
        ["info"],
        ["info", st, "extra"],
        ["info", "--prefix", "x.", os.path.join(DATA, "ox_fwd_lens.onnx")],
        ["run", "--weights", os.path.join(tmp, "missing.safetensors"), "--input", x,
         "--output", y],
        ["run", "--weights", st, "--input", x, "--output", os.path.join(tmp, "no", "y.npy")],
        ["run", "--weights", st, "--input", x, "--output", tmp],
    ]
    for args in usage:
        r = run(lstmcl, *args)
        lines = r.stderr.splitlines()
        check(r.returncode == 2 and len(lines) >= 1 and lines[0].startswith(("lstmcl", "usage")),
              "usage error %s -> %d %r" % (args, r.returncode, r.stderr))
        check(not os.listdir(tmp), "usage error %s left files" % args)
    # info: what the generator built.
    expect = {
        "st_proj_bf16_prefix.safetensors": ["layers:          2", "bidirectional (2)",
                                            "input size:      5", "hidden size:     9",
                                            "projection size: 4", "prefix:          'encoder.rnn.'",
                                            "PyTorch"],
        "st_nobias_f64_lens.safetensors": ["layers:          3", "forward (1)", "no biases"],
        "ox_bidir_peep_clip.onnx": ["peepholes", "input_forget", "clip 1.5", "ONNX",
                                    "opset 22"],
        "ox_acts.onnx": ["HardSigmoid(0.3, 0.45)", "ScaledTanh(0.9, 1.1)", "Affine(0.7, 0.05)",
                         "Elu(1.2, 0)", "Softsign"],
        "ox_reverse_layout1.onnx": ["reverse (1)", "layout 1"],
        "tx_2bi_init.onnx": ["LSTM nodes:      2", "input size:      14", "producer 'pytorch'"],
    }
    for model, needles in expect.items():
        r = run(lstmcl, "info", os.path.join(DATA, model))
        check(r.returncode == 0, "info %s -> %d %s" % (model, r.returncode, r.stderr))
        for n in needles:
            check(n in r.stdout, "info %s shows %r" % (model, n))
    # Parameter counts as PyTorch counts them (sum of numel of the state_dict).
    r = run(lstmcl, "info", os.path.join(DATA, "st_proj_bf16_prefix.safetensors"))
    # nn.LSTM(5, 9, 2, bidirectional, proj_size=4): per direction
    # layer 0: 36*5 + 36*4 + 2*36 + 4*9; layer 1: 36*8 + 36*4 + 2*36 + 4*9.
    n = 2 * (36 * 5 + 36 * 4 + 72 + 36) + 2 * (36 * 8 + 36 * 4 + 72 + 36)
    check("parameters:      %d" % n in r.stdout, "parameter count %d" % n)
    # A bad setting or device is named as such, with the right status: 2 for
    # what the user gave, 1 for a machine without OpenCL.
    y = os.path.join(tmp, "y.npy")
    args = ["run", "--weights", st, "--input", x, "--output", y]
    r = run(lstmcl, "devices")
    if "no OpenCL device" not in r.stdout:
        for var, value in (("LSTMCL_ALGO", "bogus"), ("LSTMCL_DEVICE", "99")):
            r = run(lstmcl, *args, env=dict(os.environ, **{var: value}))
            check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and var in r.stderr and
                  st not in r.stderr, "%s=%s: exit %d %r" % (var, value, r.returncode, r.stderr))
        r = run(lstmcl, *(args + ["--device", "99"]))
        check(r.returncode == 2 and "--device '99'" in r.stderr,
              "--device 99: exit %d %r" % (r.returncode, r.stderr))
        # A FIFO as the tuning file is skipped, not waited on.
        fifo = os.path.join(tmp, "tuning")
        os.mkfifo(fifo)
        try:
            r = run(lstmcl, *args, env=dict(os.environ, LSTMCL_TUNING_FILE=fifo))
            check(r.returncode == 0, "a FIFO tuning file: exit %d %r" % (r.returncode, r.stderr))
        except subprocess.TimeoutExpired:
            check(False, "a FIFO tuning file hangs the run")
        os.remove(fifo)
        if os.path.exists(y):
            os.remove(y)
    icds = tempfile.mkdtemp()
    bare = dict(os.environ, OCL_ICD_VENDORS=icds, OCL_ICD_FILENAMES="")
    r = run(lstmcl, *args, env=bare)
    check(r.returncode == 1 and "no OpenCL device found" in r.stderr,
          "no OpenCL platform: exit %d %r" % (r.returncode, r.stderr))
    r = run(lstmcl, "devices", env=bare)
    check(r.returncode == 0 and "no OpenCL device found" in r.stdout,
          "devices without OpenCL: exit %d %r" % (r.returncode, r.stdout + r.stderr))
    os.rmdir(icds)
    check(not os.listdir(tmp), "bad settings left files")
    r = run(lstmcl, "info", os.path.join(DATA, "st_two.safetensors"))
    check(r.returncode == 2 and "--prefix" in r.stderr, "two LSTMs need --prefix")
    r = run(lstmcl, "info", "--prefix", "enc.lstm.", os.path.join(DATA, "st_two.safetensors"))
    check(r.returncode == 0 and "hidden size:     4" in r.stdout, "info --prefix")
    shutil.rmtree(tmp)


def group_malformed(lstmcl):
    defaults = {
        "st_basic.safetensors": {"--input": "st_basic_x.npy"},
        "ox_fwd_lens.onnx": {"--input": "ox_fwd_lens_x.npy"},
        "tx_2bi_init.onnx": {"--input": "tx_2bi_init_x.npy", "--h0": "tx_2bi_init_h0.npy",
                             "--c0": "tx_2bi_init_c0.npy"},
    }
    cases = manifest(os.path.join(MALFORMED, "manifest.json"))
    check(len(cases) >= 90, "corpus has %d files" % len(cases))
    for c in cases:
        bad = os.path.join(MALFORMED, c["file"])
        args = {"--weights": os.path.join(DATA, c["model"])}
        for k, v in defaults[c["model"]].items():
            args[k] = os.path.join(DATA, v)
        args[c["opt"]] = bad
        named = args[c["names"]]
        tmp = tempfile.mkdtemp()
        # A previous result must survive a failed run untouched.
        stale = os.path.join(tmp, "hn.npy")
        with open(stale, "wb") as f:
            f.write(b"previous")
        cmd = ["run"] + [x for kv in args.items() for x in kv] + c["extra"]
        cmd += ["--output", os.path.join(tmp, "y.npy"), "--hn", stale, "--cpu"]
        r = run(lstmcl, *cmd)
        lines = r.stderr.splitlines()
        check(r.returncode == 2, "%s: exit %d (want 2): %s" % (c["file"], r.returncode, r.stderr))
        check(len(lines) == 1 and named in lines[0],
              "%s: want one line naming %s, got %r" % (c["file"], named, r.stderr))
        if "says" in c:
            check(c["says"] in r.stderr, "%s: want the message to say %r, got %r"
                  % (c["file"], c["says"], r.stderr))
        check(sorted(os.listdir(tmp)) == ["hn.npy"], "%s: left %s" % (c["file"], os.listdir(tmp)))
        with open(stale, "rb") as f:
            check(f.read() == b"previous", "%s: overwrote an existing output" % c["file"])
        if c["opt"] == "--weights" and c["names"] == "--weights" and not c["runtime"]:
            r = run(lstmcl, "info", *(c["extra"] + [bad]))
            lines = r.stderr.splitlines()
            check(r.returncode == 2 and len(lines) == 1 and bad in lines[0],
                  "info %s: exit %d %r" % (c["file"], r.returncode, r.stderr))
        shutil.rmtree(tmp)


def group_e2e(lstmcl, device):
    if device:
        r = run(lstmcl, "devices")
        if r.returncode != 0 or "no OpenCL device" in r.stdout:
            print("no OpenCL device: skipped")
            return SKIP
    def case_args(c, tmp):
        """`lstmcl run` on case c's model and inputs, outputs into tmp."""
        args = ["run", "--weights", os.path.join(DATA, c["model"])]
        for k, v in c["inputs"].items():
            args += [k, os.path.join(DATA, v)]
        for k, v in c["expect"].items():
            args += [k, os.path.join(tmp, v)]
        return args + c["extra"]

    cases = manifest(os.path.join(DATA, "manifest.json"))
    for c in cases:
        tmp = tempfile.mkdtemp()
        args = case_args(c, tmp) + (["--validate", "--time"] if device else ["--cpu"])
        r = run(lstmcl, *args)
        if not check(r.returncode == 0, "%s: exit %d: %s" % (c["name"], r.returncode, r.stderr)):
            continue
        if device:
            check("validate: " in r.stdout and ": ok" in r.stdout and "time: load" in r.stdout,
                  "%s: --validate/--time output %r" % (c["name"], r.stdout))
        for opt, f in c["expect"].items():
            got = np.load(os.path.join(tmp, f))
            want = np.load(os.path.join(DATA, f))
            if not check(got.dtype == np.float32 and got.shape == want.shape,
                         "%s %s: %s %s, want %s" % (c["name"], opt, got.dtype, got.shape,
                                                    want.shape)):
                continue
            ok, err = matches(c, got, want)
            if "contract" in c:
                print("%s %s %s: deviation from float32 %.3g (contract %g)"
                      % (c["name"], " ".join(c["extra"]), opt, err, c["contract"]))
            check(ok, "%s %s: off by %.3g" % (c["name"], opt, err))
        check(sorted(os.listdir(tmp)) == sorted(c["expect"].values()),
              "%s: files %s" % (c["name"], os.listdir(tmp)))
        shutil.rmtree(tmp)
        # The same through a session, 3 steps (1 for one model) per call:
        # the frameworks' outputs again, or a refusal of a model that is
        # not forward-only.
        chunk = "1" if c["name"] == "st_basic" else "3"
        tmp = tempfile.mkdtemp()
        cargs = case_args(c, tmp) + ["--chunk", chunk] + (["--validate"] if device else ["--cpu"])
        r = run(lstmcl, *cargs)
        prefix = c["extra"][c["extra"].index("--prefix"):][:2] if "--prefix" in c["extra"] else []
        info = run(lstmcl, "info", *(prefix + [os.path.join(DATA, c["model"])]))
        forward_only = "bidirectional" not in info.stdout and "reverse" not in info.stdout
        if not forward_only:
            check(r.returncode == 2 and "forward models only" in r.stderr and not os.listdir(tmp),
                  "%s --chunk: exit %d %r" % (c["name"], r.returncode, r.stderr))
        elif check(r.returncode == 0, "%s --chunk %s: exit %d: %s" % (c["name"], chunk,
                                                                     r.returncode, r.stderr)):
            for opt, f in c["expect"].items():
                got = np.load(os.path.join(tmp, f))
                want = np.load(os.path.join(DATA, f))
                ok, err = matches(c, got, want) if got.shape == want.shape else (False, np.inf)
                check(ok, "%s --chunk %s %s: off by %.3g" % (c["name"], chunk, opt, err))
        shutil.rmtree(tmp)
    group_precision_errors(lstmcl, device)
    if device:
        # A tolerance no float computation meets: the run fails (status 1)
        # and writes nothing, unless device and reference agree exactly.
        tmp = tempfile.mkdtemp()
        y = os.path.join(tmp, "y.npy")
        r = run(lstmcl, "run", "--weights", os.path.join(DATA, "st_basic.safetensors"),
                "--input", os.path.join(DATA, "st_basic_x.npy"), "--output", y, "--validate",
                "--tolerance", "1e-30")
        diff = [l for l in r.stdout.splitlines() if l.startswith("validate: max abs diff ")]
        if check(len(diff) == 1, "--validate prints its result: %r" % r.stdout):
            exact = float(diff[0].split()[4].rstrip(",")) == 0.0
            check(r.returncode == (0 if exact else 1) and os.path.exists(y) == exact,
                  "--validate over tolerance: exit %d, %r" % (r.returncode, r.stdout))
        shutil.rmtree(tmp)
    if device:
        # --algo forces each algorithm through the model's options.
        tmp = tempfile.mkdtemp()
        for algo in ("gemm", "fused-rows", "fused-cols", "persistent"):
            y = os.path.join(tmp, "y.npy")
            r = run(lstmcl, "run", "--weights", os.path.join(DATA, "st_bidir2_f16_lens.safetensors"),
                    "--input", os.path.join(DATA, "st_bidir2_f16_lens_x.npy"),
                    "--seq-lens", os.path.join(DATA, "st_bidir2_f16_lens_lens.npy"),
                    "--output", y, "--algo", algo, "--validate")
            check(r.returncode == 0 and ": ok" in r.stdout,
                  "--algo %s: exit %d %r" % (algo, r.returncode, r.stdout + r.stderr))
            if r.returncode == 0:
                want = np.load(os.path.join(DATA, "st_bidir2_f16_lens_y.npy"))
                got = np.load(y)
                check(np.max(np.abs(got - want) - RTOL * np.abs(want)) <= ATOL,
                      "--algo %s matches PyTorch" % algo)
        shutil.rmtree(tmp)
        # Where device and reference overflow alike, --validate agrees: an
        # ONNX LSTM whose Affine activations (alpha 1e30) send every output of
        # its one step to the same infinity on both paths.
        sys.path.insert(0, HERE)
        import gen_malformed as pb  # the protobuf writer of the corpus

        def floats(name, vs):
            return (pb.fld(1, 2, pb.s(name)) + b"".join(pb.fld(7, 5, v) for v in vs) +
                    pb.fld(20, 0, 6))
        I, H = 3, 4
        rng = np.random.default_rng(7)
        attrs = [pb.attr_i("hidden_size", H),
                 pb.attr_strs("activations", ["Sigmoid", "Affine", "Affine"]),
                 floats("activation_alpha", [1e30, 1e30]), floats("activation_beta", [0.0, 0.0])]
        inits = [pb.tensor("W", [1, 4 * H, I], values=rng.uniform(-1, 1, 4 * H * I).tolist()),
                 pb.tensor("R", [1, 4 * H, H], values=rng.uniform(-1, 1, 4 * H * H).tolist())]
        tmp = tempfile.mkdtemp()
        m = os.path.join(tmp, "overflow.onnx")
        with open(m, "wb") as f:
            f.write(pb.lstm_model(I, H, attrs=attrs, inits=inits))
        xs = os.path.join(tmp, "x.npy")
        np.save(xs, rng.uniform(0.5, 1, (1, 2, I)).astype(np.float32))
        y = os.path.join(tmp, "y.npy")
        r = run(lstmcl, "run", "--weights", m, "--input", xs, "--output", y, "--validate")
        check(r.returncode == 0 and ": ok" in r.stdout,
              "--validate with equal infinities: exit %d %r" % (r.returncode,
                                                               r.stdout + r.stderr))
        if r.returncode == 0:
            check(np.all(np.isinf(np.load(y))), "the overflow model's outputs are infinite")
        shutil.rmtree(tmp)
    print("%d cases" % len(cases))
    return 0


def group_precision_errors(lstmcl, device):
    """--precision's refusals: a weight that fp16 cannot hold, named by its
    tensor and element (in a safetensors checkpoint, and in the second LSTM
    node of an ONNX graph, so every node gets the option), and, on a
    device, the gemm algorithm with a reduced precision."""
    sys.path.insert(0, HERE)
    import gen_malformed as gm  # writers independent of the parsers
    tmp = tempfile.mkdtemp()
    where = [] if device else ["--cpu"]
    x = os.path.join(DATA, "st_basic_x.npy")  # (6, 3, 5)
    y = os.path.join(tmp, "y.npy")
    try:
        h, b = gm.lstm_tensors(I=5, H=7)  # weights 0.01, F32
        st = os.path.join(tmp, "big_weight.safetensors")
        with open(st, "wb") as f:
            f.write(gm.st_bytes(h, gm.set_value(h, b, "weight_hh_l0", 17, 1e5)))
        r = run(lstmcl, "run", "--weights", st, "--input", x, "--output", y, "--precision",
                "fp16", *where)
        check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and st in r.stderr and
              "weight_hh element 17 (row 2, column 3) = 100000 overflows fp16" in r.stderr and
              not os.path.exists(y),
              "1e5 under fp16: exit %d %r" % (r.returncode, r.stderr))
        for prec in ("fp32", "bf16", "int8"):
            r = run(lstmcl, "run", "--weights", st, "--input", x, "--output", y, "--precision",
                    prec, *where)
            check(r.returncode == 0 and np.all(np.isfinite(np.load(y))),
                  "1e5 under %s runs: exit %d %r" % (prec, r.returncode, r.stderr))
            os.remove(y)
        # Two LSTM nodes (5 -> 7 -> 4), the second's W holding 1e5.
        ax = gm.tensor("axes", [1], data_type=7, raw=struct.pack("<q", 1))
        w2 = [0.01] * (16 * 7)
        w2[9] = 1e5
        inits = [gm.tensor("W1", [1, 28, 5], values=[0.01] * 140),
                 gm.tensor("R1", [1, 28, 7], values=[0.01] * 196),
                 gm.tensor("W2", [1, 16, 7], values=w2),
                 gm.tensor("R2", [1, 16, 4], values=[0.01] * 64), ax]
        nodes = [gm.node("LSTM", ["X", "W1", "R1"], ["Y1"], [gm.attr_i("hidden_size", 7)],
                         name="first"),
                 gm.node("Squeeze", ["Y1", "axes"], ["Z"], name="squeeze"),
                 gm.node("LSTM", ["Z", "W2", "R2"], ["Y"], [gm.attr_i("hidden_size", 4)],
                         name="second")]
        ox = os.path.join(tmp, "two_nodes.onnx")
        with open(ox, "wb") as f:
            f.write(gm.model(nodes, inits))
        r = run(lstmcl, "run", "--weights", ox, "--input", x, "--output", y, "--precision",
                "fp16", *where)
        check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and ox in r.stderr and
              "LSTM node 1 'second'" in r.stderr and "W element 9 (row 1, column 2) = 100000 "
              "overflows fp16" in r.stderr and not os.path.exists(y),
              "1e5 in a graph's second node under fp16: exit %d %r" % (r.returncode, r.stderr))
        r = run(lstmcl, "run", "--weights", ox, "--input", x, "--output", y, "--precision",
                "bf16", *where)
        check(r.returncode == 0 and np.load(y).shape == (6, 1, 3, 4),
              "the graph under bf16: exit %d %r" % (r.returncode, r.stderr))
        if device:
            st = os.path.join(DATA, "pr_fp16_half.safetensors")
            args = ["run", "--weights", st, "--input", os.path.join(DATA, "pr_fp16_half_x.npy"),
                    "--output", os.path.join(tmp, "g.npy"), "--precision", "fp16"]
            for extra, env in ((["--algo", "gemm"], None), ([], {"LSTMCL_ALGO": "gemm"})):
                r = run(lstmcl, *(args + extra), env=env and dict(os.environ, **env))
                check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and
                      "the gemm algorithm (CLBlast's SGEMM) runs fp32 weights only" in r.stderr
                      and "--precision fp16" in r.stderr and
                      not os.path.exists(os.path.join(tmp, "g.npy")),
                      "--precision fp16 %s: exit %d %r" % (extra or env, r.returncode, r.stderr))
    finally:
        shutil.rmtree(tmp)


# --------------------------------------------------------------------------
# Outputs: what may be written, what must survive (host/cli/output.h)

def make_node(path, kind, major, minor):
    """A device node of our own in a temporary directory (never the system's);
    False where this user may not make one."""
    try:
        os.mknod(path, kind | 0o666, os.makedev(major, minor))
        return True
    except OSError:
        return False


def leftovers(d):
    return [f for f in os.listdir(d) if f.startswith(".lstmcl-")]


def group_outputs(lstmcl):
    st = os.path.join(DATA, "st_basic.safetensors")
    x = os.path.join(DATA, "st_basic_x.npy")
    # Y with st_basic's initial states (the generator's expected output).
    states = ["--h0", os.path.join(DATA, "st_basic_h0.npy"),
              "--c0", os.path.join(DATA, "st_basic_c0.npy")]
    want_y = np.load(os.path.join(DATA, "st_basic_y.npy"))

    def run_st(*args):
        return run(lstmcl, *(["run", "--weights", st, "--input", x, "--cpu"] + states + list(args)))

    def good_y(path):
        try:
            got = np.load(path)
        except Exception as e:  # noqa: BLE001 - any failure to read is a failure
            return check(False, "%s unreadable: %s" % (path, e))
        return check(got.shape == want_y.shape and
                     np.max(np.abs(got - want_y) - RTOL * np.abs(want_y)) <= ATOL,
                     "%s holds the model's output" % path)

    tmp = tempfile.mkdtemp()
    try:
        # 1. An output never replaces an input, by any spelling.
        w = os.path.join(tmp, "w.safetensors")
        shutil.copy(st, w)
        with open(w, "rb") as f:
            model = f.read()
        xin = os.path.join(tmp, "x.npy")
        shutil.copy(x, xin)
        os.symlink("w.safetensors", os.path.join(tmp, "wlink"))
        os.link(w, os.path.join(tmp, "whard"))
        side = {o: os.path.join(tmp, o.strip("-") + ".npy") for o in ("--h0", "--c0", "--seq-lens")}
        for o, pth in side.items():
            with open(pth, "wb") as f:
                f.write(b"input " + o.encode())
        cases = [("--output", w), ("--hn", os.path.join(tmp, ".", "w.safetensors")),
                 ("--cn", os.path.join(tmp, "wlink")), ("--output", os.path.join(tmp, "whard")),
                 ("--output", xin)] + [("--output", pth) for pth in side.values()]
        for opt, out in cases:
            args = ["run", "--weights", w, "--input", xin, opt, out, "--cpu"]
            for o, pth in side.items():
                if out == pth:
                    args += [o, pth]
            r = run(lstmcl, *args)
            check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and
                  "would destroy an input" in r.stderr,
                  "%s %s over an input: exit %d %r" % (opt, out, r.returncode, r.stderr))
        with open(w, "rb") as f:
            check(f.read() == model, "the model survived")
        check(filecmp_bytes(xin, x), "the input survived")
        for o, pth in side.items():
            with open(pth, "rb") as f:
                check(f.read() == b"input " + o.encode(), "%s survived" % o)
        check(os.path.islink(os.path.join(tmp, "wlink")), "the link stayed a link")

        # 2. Two outputs naming one file by different spellings.
        s1 = os.path.join(tmp, "s.npy")
        sub = os.path.join(tmp, "sub")
        os.mkdir(sub)
        for a, b in [(s1, os.path.join(tmp, ".", "s.npy")),
                     (s1, os.path.join(sub, "..", "s.npy")), ("-", "-")]:
            r = run_st("--output", a, "--hn", b)
            check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and
                  ("same file" in r.stderr or "standard output" in r.stderr),
                  "--output %s --hn %s: exit %d %r" % (a, b, r.returncode, r.stderr))
            check(not os.path.exists(s1) and not leftovers(tmp), "nothing written for %s" % b)
        with open(s1, "wb") as f:
            f.write(b"old")
        os.link(s1, os.path.join(tmp, "s_hard.npy"))
        r = run_st("--output", s1, "--cn", os.path.join(tmp, "s_hard.npy"))
        check(r.returncode == 2 and "same file" in r.stderr, "hard-linked outputs: %r" % r.stderr)
        with open(s1, "rb") as f:
            check(f.read() == b"old", "the old output survived")

        # 3. Character devices are written directly; two outputs may share one.
        null = os.path.join(tmp, "null")
        if make_node(null, stat.S_IFCHR, 1, 3):
            r = run_st("--output", null, "--hn", null, "--cn", null)
            check(r.returncode == 0, "--output null --hn null: exit %d %r" % (r.returncode,
                                                                              r.stderr))
            check(stat.S_ISCHR(os.lstat(null).st_mode), "the device node stayed a device")
            check(not leftovers(tmp), "no temporary beside a device")
            full = os.path.join(tmp, "full")
            make_node(full, stat.S_IFCHR, 1, 7)
            y = os.path.join(tmp, "y_full.npy")
            with open(y, "wb") as f:
                f.write(b"old")
            fresh = os.path.join(tmp, "fresh_full.npy")
            r = run_st("--output", y, "--hn", full, "--cn", fresh)
            check(r.returncode == 1 and "No space left" in r.stderr and
                  len(r.stderr.splitlines()) == 1,
                  "a full device: exit %d %r" % (r.returncode, r.stderr))
            with open(y, "rb") as f:
                check(f.read() == b"old", "ENOSPC: the old output survived")
            check(not os.path.exists(fresh) and not leftovers(tmp),
                  "ENOSPC: no new output, no temporary")
            blk = os.path.join(tmp, "blk")
            if make_node(blk, stat.S_IFBLK, 7, 200):
                r = run_st("--output", blk)
                check(r.returncode == 2 and "block device" in r.stderr and
                      stat.S_ISBLK(os.lstat(blk).st_mode),
                      "a block device is refused: %d %r" % (r.returncode, r.stderr))
        else:
            print("mknod not permitted: device-node cases skipped")

        # 4. A FIFO is written directly.
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        got = {}
        reader = threading.Thread(target=lambda: got.update(data=open(fifo, "rb").read()),
                                  daemon=True)
        reader.start()
        r = run_st("--output", fifo)
        reader.join(60)
        check(r.returncode == 0 and stat.S_ISFIFO(os.lstat(fifo).st_mode),
              "FIFO output: exit %d %r" % (r.returncode, r.stderr))
        if check("data" in got, "the FIFO's reader got data"):
            arr = np.load(io.BytesIO(got["data"]))
            check(arr.shape == want_y.shape and np.allclose(arr, want_y, RTOL, ATOL),
                  "the FIFO carried Y")

        # 5. Standard output; the command's own lines move to standard error.
        r = subprocess.run([lstmcl, "run", "--weights", st, "--input", x, "--cpu", "--output",
                            "-", "--time"] + states, capture_output=True, timeout=120)
        check(r.returncode == 0, "--output -: exit %d %r" % (r.returncode, r.stderr))
        if r.returncode == 0:
            try:
                arr = np.load(io.BytesIO(r.stdout))
                check(np.allclose(arr, want_y, RTOL, ATOL), "--output - carries Y")
            except ValueError as e:
                check(False, "--output - wrote no .npy: %s" % e)
            check(b"time: load" in r.stderr, "--time goes to stderr with --output -")

        # 6. Links: the target is written, the link stays.
        tgt = os.path.join(tmp, "target.npy")
        with open(tgt, "wb") as f:
            f.write(b"old")
        lnk = os.path.join(sub, "link.npy")
        os.symlink(os.path.join("..", "target.npy"), lnk)
        dangling = os.path.join(tmp, "dangling.npy")
        os.symlink("created.npy", dangling)
        r = run_st("--output", lnk, "--hn", dangling)
        check(r.returncode == 0, "links: exit %d %r" % (r.returncode, r.stderr))
        check(os.path.islink(lnk) and os.path.islink(dangling), "the links stayed links")
        good_y(tgt)
        check(os.path.isfile(os.path.join(tmp, "created.npy")), "a dangling link's target made")
        check(not leftovers(tmp) and not leftovers(sub), "no temporaries after links")

        # 7. A replaced file keeps its permission bits; the longest name fits.
        keep = os.path.join(tmp, "mode.npy")
        with open(keep, "wb") as f:
            f.write(b"old")
        os.chmod(keep, 0o640)
        longname = os.path.join(tmp, "y" * 251 + ".npy")
        r = run_st("--output", keep, "--hn", longname)
        check(r.returncode == 0, "a 255-byte name: exit %d %r" % (r.returncode, r.stderr))
        check(stat.S_IMODE(os.stat(keep).st_mode) == 0o640, "the mode was kept")
        good_y(keep)
        check(os.path.isfile(longname) and not leftovers(tmp), "the 255-byte output written")

        # 8. A rename that fails puts every output back. Y goes to a FIFO the
        # test holds, larger than a pipe's buffer, so the run waits between
        # its temporaries and its renames while --cn's path turns into a
        # directory: --hn's rename succeeds, --cn's fails.
        big_x = os.path.join(tmp, "big_x.npy")
        np.save(big_x, np.random.default_rng(5).uniform(-1, 1, (4000, 3, 5)).astype(np.float32))
        old_h = os.path.join(tmp, "commit_hn.npy")
        with open(old_h, "wb") as f:
            f.write(b"old hn")
        cn = os.path.join(tmp, "commit_cn.npy")
        p = subprocess.Popen([lstmcl, "run", "--weights", st, "--input", big_x, "--cpu",
                              "--output", fifo, "--hn", old_h, "--cn", cn],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        f = fifo_reader(fifo, 60)
        if check(f is not None, "a failed rename: the run wrote to the FIFO"):
            os.mkdir(cn)
            with open(os.path.join(cn, "keep"), "w") as g:
                g.write("x")
            got = f.read()
            f.close()
            check(len(got) > 65536, "Y outgrew the pipe buffer")
        else:
            p.kill()
        out, err = p.communicate(timeout=120)
        check(p.returncode == 1 and len(err.splitlines()) == 1 and cn in err,
              "a failed rename: exit %d %r" % (p.returncode, err))
        with open(old_h, "rb") as f:
            check(f.read() == b"old hn", "a failed rename: the renamed output was put back")
        check(os.path.isdir(cn) and not leftovers(tmp), "a failed rename: nothing left over")
        shutil.rmtree(cn, ignore_errors=True)

        # 9. SIGINT and SIGTERM while the outputs are written: no temporary
        # stays, and no output of a fresh set appears.
        for sig in (signal.SIGINT, signal.SIGTERM):
            ya = os.path.join(tmp, "sig_y.npy")
            cn = os.path.join(tmp, "sig_cn.npy")
            with open(ya, "wb") as f:
                f.write(b"old")
            p = subprocess.Popen([lstmcl, "run", "--weights", st, "--input", x, "--cpu"] + states + [
                                  "--output", ya, "--hn", fifo, "--cn", cn],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.time() + 60
            while len(leftovers(tmp)) < 2 and time.time() < deadline and p.poll() is None:
                time.sleep(0.01)
            check(len(leftovers(tmp)) == 2, "%s: the temporaries were made" % sig.name)
            p.send_signal(sig)
            p.communicate(timeout=60)
            check(p.returncode == -sig, "%s ended the run: %s" % (sig.name, p.returncode))
            check(not leftovers(tmp), "%s: no temporary left: %s" % (sig.name, leftovers(tmp)))
            with open(ya, "rb") as f:
                check(f.read() == b"old", "%s: the old output survived" % sig.name)
            check(not os.path.exists(cn), "%s: no fresh output appeared" % sig.name)
    finally:
        shutil.rmtree(tmp)
    return 0


def fifo_reader(path, timeout):
    """The FIFO opened for reading once a writer has written to it, or None
    after timeout seconds (so that a run that never writes fails the test
    instead of hanging it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def filecmp_bytes(a, b):
    with open(a, "rb") as f, open(b, "rb") as g:
        return f.read() == g.read()


# --------------------------------------------------------------------------
# ONNX: messages that name the real cause; what onnxruntime accepts

def group_onnx(lstmcl):
    sys.path.insert(0, HERE)
    import gen_malformed as gm  # its protobuf writer, independent of the parser
    tmp = tempfile.mkdtemp()

    def refused(what, args, needles, names):
        """exit 2, one line on stderr naming the file `names`, saying each needle."""
        r = run(lstmcl, *args)
        lines = r.stderr.splitlines()
        ok = check(r.returncode == 2 and len(lines) == 1 and
                   lines[0].startswith("lstmcl: %s: " % names),
                   "%s: want exit 2 and one line naming %s, got %d %r" % (what, names,
                                                                         r.returncode, r.stderr))
        for n in needles:
            ok = check(n in r.stderr, "%s: want %r in %r" % (what, n, r.stderr)) and ok
        check(not [f for f in os.listdir(tmp) if f.startswith(("y", ".lstmcl"))],
              "%s: wrote %s" % (what, os.listdir(tmp)))
        return ok

    def arr(name, shape):
        path = os.path.join(tmp, name)
        np.save(path, np.random.default_rng(7).uniform(-1, 1, shape).astype(np.float32))
        return path

    y = os.path.join(tmp, "y.npy")
    try:
        # An empty .onnx file is called empty (not "no graph nodes").
        empty = os.path.join(tmp, "empty.onnx")
        open(empty, "wb").close()
        for cmd in (["info", empty], ["run", "--weights", empty, "--input",
                                      os.path.join(DATA, "ox_fwd_lens_x.npy"), "--output", y]):
            refused("empty %s" % cmd[0], cmd, ["empty"], empty)
            check("graph nodes" not in run(lstmcl, *cmd).stderr, "empty: not 'no graph nodes'")

        # torch.onnx.export without dynamic_axes bakes the batch (and the
        # sequence length) into the graph: the message says so instead of
        # blaming the plumbing node that trips over it (/Expand).
        tx1 = os.path.join(DATA, "tx_1_bf_zero.onnx")  # batch_first X (N=2, T=5, I=4)
        refused("static export, batch", ["run", "--weights", tx1, "--input",
                                         arr("x_b3.npy", (3, 5, 4)), "--output", y, "--cpu"],
                ["this graph was exported with a fixed batch of 2 (torch.onnx.export without "
                 "dynamic_axes); --input has batch 3"], tx1)
        check("Expand" not in run(lstmcl, "run", "--weights", tx1, "--input",
                                  os.path.join(tmp, "x_b3.npy"), "--output", y).stderr,
              "static export: no plumbing node blamed")
        tx2 = os.path.join(DATA, "tx_2bi_init.onnx")  # X (T=6, N=3, I=5), h0/c0 (4, 3, 7)
        h0, c0 = (os.path.join(DATA, "tx_2bi_init_%s.npy" % s) for s in ("h0", "c0"))
        refused("static export, length", ["run", "--weights", tx2, "--input",
                                          arr("x_t4.npy", (4, 3, 5)), "--h0", h0, "--c0", c0,
                                          "--output", y, "--cpu"],
                ["fixed sequence length of 6 (torch.onnx.export without dynamic_axes); "
                 "--input has sequence length 4"], tx2)
        refused("static export, both", ["run", "--weights", tx2, "--input",
                                        arr("x_t4_b2.npy", (4, 2, 5)), "--h0",
                                        arr("h0_b2.npy", (4, 2, 7)), "--c0",
                                        arr("c0_b2.npy", (4, 2, 7)), "--output", y, "--cpu"],
                ["fixed sequence length of 6 and batch of 3", "--input has sequence length 4 "
                 "and batch 2"], tx2)
        # A state whose batch disagrees with an X that fits: the state is at
        # fault, not the export.
        h0_b2 = os.path.join(tmp, "h0_b2.npy")
        refused("static export, h0", ["run", "--weights", tx2, "--input",
                                      os.path.join(DATA, "tx_2bi_init_x.npy"), "--h0", h0_b2,
                                      "--c0", c0, "--output", y, "--cpu"],
                ["graph input 'h0' has the fixed shape (4, 3, 7); --h0 has shape (4, 2, 7)"],
                h0_b2)
        # With dynamic axes any batch and length run.
        dyn = os.path.join(DATA, "tx_2bi_bf_dynamic_opset11.onnx")  # I=5, H=6, bidirectional
        r = run(lstmcl, "run", "--weights", dyn, "--input", arr("x_dyn.npy", (3, 4, 5)),
                "--output", y, "--cpu")
        check(r.returncode == 0 and np.load(y).shape == (3, 4, 12),
              "dynamic export on another shape: %d %r" % (r.returncode, r.stderr))
        os.remove(y)
        # A single node with a fixed X: the batch named; another input size
        # blamed on the input file.
        fwd = os.path.join(DATA, "ox_fwd_lens.onnx")  # X (6, 3, 5), producer lstmcl-gen
        refused("fixed single node, batch", ["run", "--weights", fwd, "--input",
                                             arr("x_b4.npy", (6, 4, 5)), "--output", y, "--cpu"],
                ["graph input 'X' has a fixed batch of 3; --input has batch 4"], fwd)
        x_i4 = arr("x_i4.npy", (6, 3, 4))
        refused("fixed single node, input size", ["run", "--weights", fwd, "--input", x_i4,
                                                  "--output", y, "--cpu"],
                ["graph input 'X' has the fixed shape (6, 3, 5); --input has shape (6, 3, 4)"],
                x_i4)

        # Non-finite values in an initializer that is not an LSTM weight are
        # the model's business; the LSTM's own weights are checked (the
        # malformed corpus has W, R, B, P, and an exported graph's W).
        nan = float("nan")
        model = gm.lstm_model(inits=[
            gm.tensor("W", [1, 28, 5], values=[0.01] * 140),
            gm.tensor("R", [1, 28, 7], values=[0.01] * 196),
            gm.tensor("unused", [3], values=[nan, float("inf"), 1.0])])
        path = os.path.join(tmp, "nan_unused.onnx")
        with open(path, "wb") as f:
            f.write(model)
        r = run(lstmcl, "run", "--weights", path, "--input", arr("x5.npy", (4, 2, 5)),
                "--output", y, "--cpu")
        check(r.returncode == 0 and np.all(np.isfinite(np.load(y))),
              "NaN in an unused initializer: %d %r" % (r.returncode, r.stderr))
        os.remove(y)
        model = gm.lstm_model(inits=[
            gm.tensor("W", [1, 28, 5], values=[0.01] * 140),
            gm.tensor("R", [1, 28, 7], values=[0.01] * 195 + [nan])])
        with open(path, "wb") as f:
            f.write(model)
        refused("NaN in R", ["run", "--weights", path, "--input", os.path.join(tmp, "x5.npy"),
                             "--output", y, "--cpu"],
                ["initializer 'R': element 195 is NaN"], path)

        # activation_alpha / activation_beta as onnxruntime reads them (the
        # outputs are checked against onnxruntime's by the e2e groups):
        # values consumed in order by the functions that take them, across
        # both directions; the rest ignored; onnxruntime's defaults (0 for
        # ThresholdedRelu, ScaledTanh, Affine) when a list runs short.
        expect = {
            "ox_ab_fwd_long.onnx": ["HardSigmoid(0.25, 0.6) Tanh(0, 0) Relu(0, 0)"],
            "ox_ab_bidir_long_mixed.onnx": [
                "Sigmoid(0, 0) LeakyRelu(0.05, 0) Softsign(0, 0) HardSigmoid(0.3, 0.4) "
                "Elu(0.9, 0) ScaledTanh(0.7, 0.8)"],
            "ox_ab_bidir_short.onnx": [
                "HardSigmoid(0.3, 0.45) Affine(0.8, 0) ThresholdedRelu(0, 0) Sigmoid(0, 0) "
                "Tanh(0, 0) LeakyRelu(0.01, 0)"],
            "ox_ab_reverse_short.onnx": ["Sigmoid(0, 0) ScaledTanh(1.5, 0.5) Affine(0, 0.3)"],
        }
        for name, needles in expect.items():
            r = run(lstmcl, "info", os.path.join(DATA, name))
            check(r.returncode == 0, "info %s: %d %r" % (name, r.returncode, r.stderr))
            for n in needles:
                check(n in r.stdout, "info %s shows %r: %r" % (name, n, r.stdout))
        r = run(lstmcl, "info", os.path.join(DATA, "ox_ab_no_activations.onnx"))
        feats = [l for l in r.stdout.splitlines() if l.strip().startswith("features:")]
        check(r.returncode == 0 and len(feats) == 1 and "activations" not in feats[0],
              "alpha/beta without activations are ignored: %d %r" % (r.returncode, r.stdout))
        # What onnxruntime refuses stays refused: another number of
        # functions than 3 per direction, lists that are not floats.
        for acts, alpha, say in ((["Sigmoid", "Tanh"], None, "activations must list 3"),
                                 (["Sigmoid", "Tanh", "Tanh"], gm.fld(8, 0, 1) + gm.fld(20, 0, 7),
                                  "must be lists of floats")):
            attrs = [gm.attr_strs("activations", acts)]
            if alpha:
                attrs.append(gm.fld(1, 2, b"activation_alpha") + alpha)
            with open(path, "wb") as f:
                f.write(gm.lstm_model(attrs=attrs))
            refused("refused %s" % say, ["info", path], [say], path)
    finally:
        shutil.rmtree(tmp)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lstmcl", required=True)
    ap.add_argument("--group", required=True,
                    choices=["basic", "malformed", "outputs", "onnx", "e2e-cpu", "e2e-device"])
    a = ap.parse_args()
    rc = 0
    if a.group == "basic":
        group_basic(a.lstmcl)
    elif a.group == "malformed":
        group_malformed(a.lstmcl)
    elif a.group == "outputs":
        group_outputs(a.lstmcl)
    elif a.group == "onnx":
        group_onnx(a.lstmcl)
    else:
        rc = group_e2e(a.lstmcl, a.group == "e2e-device")
    if failures:
        print("%d failures" % len(failures))
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
