#!/usr/bin/env python3
"""Tests of the lstmcl command (run by CTest; needs python3-numpy).

  test_cli.py --lstmcl PATH --group basic|malformed|e2e-cpu|e2e-device

Expected outputs come from PyTorch and onnxruntime (tests/cli/gen_data.py);
the malformed corpus from tests/cli/gen_malformed.py. Exit status 77 means
skipped (no OpenCL device for e2e-device).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
MALFORMED = os.path.join(HERE, "malformed")
SKIP = 77
# PyTorch's and onnxruntime's outputs against lstmcl's: float32 throughout.
RTOL, ATOL = 1e-4, 1e-5

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)
    return cond


def run(lstmcl, *args):
    return subprocess.run([lstmcl] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120)


def manifest(path):
    with open(path) as f:
        return json.load(f)


# --------------------------------------------------------------------------

def group_basic(lstmcl):
    for cmd in ([], ["devices"], ["info"], ["run"]):
        r = run(lstmcl, *(cmd + ["--help"]))
        check(r.returncode == 0 and "usage: lstmcl" in r.stdout, "%s --help" % cmd)
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
    cases = manifest(os.path.join(DATA, "manifest.json"))
    for c in cases:
        tmp = tempfile.mkdtemp()
        args = ["run", "--weights", os.path.join(DATA, c["model"])]
        for k, v in c["inputs"].items():
            args += [k, os.path.join(DATA, v)]
        for k, v in c["expect"].items():
            args += [k, os.path.join(tmp, v)]
        args += c["extra"]
        args += ["--validate", "--time"] if device else ["--cpu"]
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
            err = np.max(np.abs(got - want) - RTOL * np.abs(want))
            check(err <= ATOL, "%s %s: off by %.3g" % (c["name"], opt, err))
        check(sorted(os.listdir(tmp)) == sorted(c["expect"].values()),
              "%s: files %s" % (c["name"], os.listdir(tmp)))
        shutil.rmtree(tmp)
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
    print("%d cases" % len(cases))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lstmcl", required=True)
    ap.add_argument("--group", required=True,
                    choices=["basic", "malformed", "e2e-cpu", "e2e-device"])
    a = ap.parse_args()
    rc = 0
    if a.group == "basic":
        group_basic(a.lstmcl)
    elif a.group == "malformed":
        group_malformed(a.lstmcl)
    else:
        rc = group_e2e(a.lstmcl, a.group == "e2e-device")
    if failures:
        print("%d failures" % len(failures))
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
