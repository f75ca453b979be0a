#!/usr/bin/env python3
"""Writes the valid test models of the lstmcl command, their inputs and the
outputs the frameworks themselves compute (tests/cli/data, committed).

The expected outputs come from PyTorch (nn.LSTM, torch.onnx.export) and from
onnxruntime (single ONNX LSTM nodes), never from lstmcl.

Regenerate (Debian 12):
  apt-get install python3-torch python3-onnx python3-numpy
  python3 -m venv --system-site-packages /tmp/v && /tmp/v/bin/pip install onnxruntime safetensors
  /tmp/v/bin/python tests/cli/gen_data.py
Debian's torch 1.13, onnx 1.12 and numpy 1.24 with onnxruntime 1.32 from pip
rewrite every committed file byte for byte. Keep pip from replacing them
(pip's onnx pulls in numpy 2, which Debian's torch cannot use): if the venv
has its own numpy, onnx or ml_dtypes, `pip uninstall` them.

Cases only add at the end (the random streams and torch seeds follow the
order of the cases). With other versions, which may change existing
outputs, write only new cases:
  /tmp/v/bin/python tests/cli/gen_data.py --only 'ox_ab_*'
which still computes every case (so each keeps its random values) but
writes the files of the cases matching the patterns (fnmatch, several
allowed) and keeps the other manifest entries as they are.
"""
import argparse
import fnmatch
import json
import os
import shutil
import sys
import tempfile
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from safetensors.torch import save_file as save_torch

warnings.filterwarnings("ignore")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
CASES = []
rng = np.random.default_rng(20261122)


def save(name, arr):
    np.save(os.path.join(OUT, name), arr)
    return name


def add(name, model, inputs, expect, extra=(), contract=None):
    """inputs/expect: {cli option: file}. contract: a case run with a reduced
    --precision (in extra) is held to lstmcl's accuracy contract against the
    float32 outputs in expect, max |got - want| / max(max |want|, 1) per
    output, instead of float32's tolerance."""
    case = {"name": name, "model": model, "inputs": inputs, "expect": expect,
            "extra": list(extra)}
    if contract is not None:
        case["contract"] = contract
    CASES.append(case)


def round_dtype(t, dtype):
    return t.to(dtype).to(torch.float32)


# --------------------------------------------------------------------------
# safetensors: PyTorch nn.LSTM state_dicts
# --------------------------------------------------------------------------

def torch_case(name, I, H, L, bi, T, N, *, proj=0, bias=True, batch_first=False, dtype="F32",
               prefix="", others=None, init=True, lens=None, lens_dtype=np.int64,
               x_variant=None):
    torch.manual_seed(len(CASES) * 7 + 1)
    m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=bi, bias=bias, batch_first=batch_first,
                      proj_size=proj)
    tdt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "F64": torch.float64}[dtype]
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(round_dtype(p.data, tdt))
    D = 2 if bi else 1
    Hout = proj if proj else H
    xs = (N, T, I) if batch_first else (T, N, I)
    x = torch.from_numpy(rng.uniform(-2, 2, xs).astype(np.float32))
    if x_variant == "f16":
        x = round_dtype(x, torch.float16)
    h0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, N, Hout)).astype(np.float32))
    c0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, N, H)).astype(np.float32))
    with torch.no_grad():
        if lens is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                x, torch.tensor(lens), batch_first=batch_first, enforce_sorted=False)
            y, (hn, cn) = m(packed, (h0, c0)) if init else m(packed)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=batch_first,
                                                           total_length=T)
        else:
            y, (hn, cn) = m(x, (h0, c0)) if init else m(x)
    sd = {}
    for k, v in m.state_dict().items():
        sd[prefix + k] = v.to(tdt)
    for k, v in (others or {}).items():
        sd[k] = v
    # Written through safetensors.torch (numpy has no bfloat16).
    model = name + ".safetensors"
    save_torch({k: v.contiguous() for k, v in sd.items()}, os.path.join(OUT, model))
    xn = x.numpy()
    if x_variant == "f64":
        xn = xn.astype(np.float64)
    elif x_variant == "f16":
        xn = xn.astype(np.float16)
    elif x_variant == "fortran":
        xn = np.asfortranarray(xn)
    elif x_variant == "bigendian":
        xn = xn.astype(">f4")
    inputs = {"--input": save(name + "_x.npy", xn)}
    if init:
        inputs["--h0"] = save(name + "_h0.npy", h0.numpy())
        inputs["--c0"] = save(name + "_c0.npy", c0.numpy())
    if lens is not None:
        inputs["--seq-lens"] = save(name + "_lens.npy", np.array(lens, dtype=lens_dtype))
    expect = {"--output": save(name + "_y.npy", y.numpy()),
              "--hn": save(name + "_hn.npy", hn.numpy()),
              "--cn": save(name + "_cn.npy", cn.numpy())}
    extra = ["--batch-first"] if batch_first else []
    return model, inputs, expect, extra


def torch_cases():
    r = torch_case("st_basic", 5, 7, 1, False, 6, 3)
    add("st_basic", *r)
    r = torch_case("st_bidir2_f16_lens", 5, 7, 2, True, 6, 3, dtype="F16", init=False,
                   lens=[6, 2, 4], lens_dtype=np.int32)
    add("st_bidir2_f16_lens", *r)
    others = {"encoder.embed.weight": torch.randn(11, 5),
              "decoder.fc.weight": torch.randn(3, 4).to(torch.int64)}
    r = torch_case("st_proj_bf16_prefix", 5, 9, 2, True, 5, 2, proj=4, dtype="BF16",
                   batch_first=True, prefix="encoder.rnn.", others=others)
    add("st_proj_bf16_prefix", *r)
    r = torch_case("st_nobias_f64_lens", 4, 6, 3, False, 7, 4, bias=False, dtype="F64",
                   lens=[7, 1, 3, 5])
    add("st_nobias_f64_lens", *r)
    # Inputs in other dtypes and orders, read by the .npy loader.
    for v in ("f64", "f16", "fortran", "bigendian"):
        r = torch_case("st_x_" + v, 3, 5, 1, True, 4, 2, x_variant=v)
        add("st_x_" + v, *r)
    # Two LSTMs in one file: --prefix chooses.
    torch.manual_seed(99)
    a = torch.nn.LSTM(3, 4)
    b = torch.nn.LSTM(4, 5, bidirectional=True)
    sd = {"enc.lstm." + k: v for k, v in a.state_dict().items()}
    sd.update({"dec.lstm." + k: v for k, v in b.state_dict().items()})
    save_torch(sd, os.path.join(OUT, "st_two.safetensors"))
    x = torch.from_numpy(rng.uniform(-1, 1, (5, 2, 4)).astype(np.float32))
    with torch.no_grad():
        y, (hn, cn) = b(x)
    add("st_two_dec", "st_two.safetensors", {"--input": save("st_two_x.npy", x.numpy())},
        {"--output": save("st_two_y.npy", y.numpy()), "--hn": save("st_two_hn.npy", hn.numpy()),
         "--cn": save("st_two_cn.npy", cn.numpy())}, ["--prefix", "dec.lstm."])


# --------------------------------------------------------------------------
# ONNX: single LSTM nodes, expected outputs from onnxruntime
# --------------------------------------------------------------------------

def onnx_node_case(name, I, H, T, N, *, direction="forward", bias=True, peep=False, clip=None,
                   input_forget=0, acts=None, alpha=None, beta=None, init=True, lens=None,
                   layout=0, outputs=("Y", "Y_h", "Y_c"), opset=14, ws_dtype=TensorProto.FLOAT,
                   extra=(), contract=None):
    D = 2 if direction == "bidirectional" else 1
    W = rng.uniform(-0.5, 0.5, (D, 4 * H, I)).astype(np.float32)
    R = rng.uniform(-0.5, 0.5, (D, 4 * H, H)).astype(np.float32)
    B = rng.uniform(-0.5, 0.5, (D, 8 * H)).astype(np.float32)
    P = rng.uniform(-0.5, 0.5, (D, 3 * H)).astype(np.float32)
    x = rng.uniform(-2, 2, (T, N, I)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (D, N, H)).astype(np.float32)
    c0 = rng.uniform(-1, 1, (D, N, H)).astype(np.float32)

    if ws_dtype in (TensorProto.FLOAT16, "f16_raw"):
        W, R, B, P = (a.astype(np.float16).astype(np.float32) for a in (W, R, B, P))
    if ws_dtype == "bf16_raw":
        W, R, B, P = (round_dtype(torch.from_numpy(a), torch.bfloat16).numpy()
                      for a in (W, R, B, P))

    def mk(arr, name, wdt):
        """An initializer in one of the storages ONNX allows."""
        if wdt == TensorProto.FLOAT:
            return numpy_helper.from_array(arr, name)          # raw_data
        if wdt == TensorProto.DOUBLE:
            return numpy_helper.from_array(arr.astype(np.float64), name)
        if wdt == "float_data":
            return helper.make_tensor(name, TensorProto.FLOAT, arr.shape, arr.flatten().tolist())
        if wdt == "f16_raw":
            return numpy_helper.from_array(arr.astype(np.float16), name)
        if wdt == "bf16_raw":  # the upper halves of the (already rounded) floats
            bits = (arr.astype("<f4").view("<u4") >> 16).astype("<u2")
            return helper.make_tensor(name, TensorProto.BFLOAT16, arr.shape, bits.tobytes(),
                                      raw=True)
        # float16 bit patterns in int32_data
        return helper.make_tensor(name, TensorProto.FLOAT16, arr.shape,
                                  arr.astype(np.float16).flatten())

    def build(lay, wdt):
        inits = [mk(W, "W", wdt), mk(R, "R", wdt)]
        ins = ["X", "W", "R", "B" if bias else "", "seq" if lens is not None else "",
               "h0" if init else "", "c0" if init else "", "P" if peep else ""]
        if bias:
            inits.append(mk(B, "B", wdt))
        if peep:
            inits.append(mk(P, "P", wdt))
        while ins and ins[-1] == "":
            ins.pop()
        attrs = {"hidden_size": H, "direction": direction}
        if clip is not None:
            attrs["clip"] = clip
        if input_forget:
            attrs["input_forget"] = input_forget
        if acts:
            attrs["activations"] = acts
        if alpha:
            attrs["activation_alpha"] = alpha
        if beta:
            attrs["activation_beta"] = beta
        if lay:
            attrs["layout"] = 1
        outs = [o if o in outputs else "" for o in ("Y", "Y_h", "Y_c")]
        while outs and outs[-1] == "":
            outs.pop()
        node = helper.make_node("LSTM", ins, outs, name="lstm_" + name, **attrs)
        xs = [N, T, I] if lay else [T, N, I]
        ss = [N, D, H] if lay else [D, N, H]
        gin = [helper.make_tensor_value_info("X", TensorProto.FLOAT, xs)]
        if lens is not None:
            gin.append(helper.make_tensor_value_info("seq", TensorProto.INT32, [N]))
        if init:
            gin.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, ss))
            gin.append(helper.make_tensor_value_info("c0", TensorProto.FLOAT, ss))
        gout = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs if o]
        g = helper.make_graph([node], "g_" + name, gin, gout, initializer=inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                                 producer_name="lstmcl-gen")

    # onnxruntime runs layout 0 only: the layout-1 expectation is its layout-0
    # result transposed by numpy.
    ref_model = build(0, TensorProto.FLOAT)
    sess = ort.InferenceSession(ref_model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"X": x}
    if lens is not None:
        feeds["seq"] = np.array(lens, dtype=np.int32)
    if init:
        feeds["h0"], feeds["c0"] = h0, c0
    res = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    model = build(layout, ws_dtype)
    path = name + ".onnx"
    onnx.save(model, os.path.join(OUT, path))
    inputs = {}
    if layout:
        inputs["--input"] = save(name + "_x.npy", x.transpose(1, 0, 2).copy())
        if init:
            inputs["--h0"] = save(name + "_h0.npy", h0.transpose(1, 0, 2).copy())
            inputs["--c0"] = save(name + "_c0.npy", c0.transpose(1, 0, 2).copy())
    else:
        inputs["--input"] = save(name + "_x.npy", x)
        if init:
            inputs["--h0"] = save(name + "_h0.npy", h0)
            inputs["--c0"] = save(name + "_c0.npy", c0)
    if lens is not None:
        inputs["--seq-lens"] = save(name + "_lens.npy", np.array(lens, dtype=np.int32))
    expect = {}
    for o, opt in (("Y", "--output"), ("Y_h", "--hn"), ("Y_c", "--cn")):
        if o not in res:
            continue
        v = res[o]
        if layout:
            v = v.transpose(2, 0, 1, 3) if o == "Y" else v.transpose(1, 0, 2)
        expect[opt] = save(name + "_" + o.lower() + ".npy", np.ascontiguousarray(v))
    add(name, path, inputs, expect, extra, contract)


def onnx_node_cases():
    onnx_node_case("ox_fwd_lens", 5, 7, 6, 3, lens=[6, 3, 1], opset=7)
    onnx_node_case("ox_bidir_peep_clip", 4, 6, 5, 2, direction="bidirectional", peep=True,
                   clip=1.5, input_forget=1, opset=22)
    onnx_node_case("ox_acts", 4, 5, 5, 2, direction="bidirectional",
                   acts=["HardSigmoid", "ScaledTanh", "Affine", "Sigmoid", "Elu", "Softsign"],
                   alpha=[0.3, 0.9, 0.7, 1.2], beta=[0.45, 1.1, 0.05], opset=13)
    onnx_node_case("ox_acts_default_ab", 4, 5, 4, 2,
                   acts=["HardSigmoid", "LeakyRelu", "Softplus"], init=False, opset=14)
    onnx_node_case("ox_reverse_layout1", 3, 5, 6, 4, direction="reverse", layout=1,
                   lens=[6, 2, 5, 1], opset=14)
    onnx_node_case("ox_bidir_layout1_nobias", 3, 4, 5, 2, direction="bidirectional", layout=1,
                   bias=False, opset=21)
    onnx_node_case("ox_yh_only_f64", 5, 6, 4, 3, init=False, outputs=("Y_h",),
                   ws_dtype=TensorProto.DOUBLE)
    # Weights stored as float16 bit patterns in int32_data (expected outputs
    # from the float32 model of the same rounded values), and in float_data.
    onnx_node_case("ox_peep_f16_int32data", 4, 5, 5, 2, peep=True, ws_dtype=TensorProto.FLOAT16)
    onnx_node_case("ox_bidir_float_data", 3, 4, 4, 2, direction="bidirectional",
                   ws_dtype="float_data")
    onnx_plumbing_case()


def onnx_plumbing_case(name="ox_plumbing_ops", I=4, H=5, T=6, N=3):
    """One LSTM surrounded by every plumbing operator with the less common
    parameters (negative steps and indices, broadcasting, Cast), all
    evaluated by onnxruntime for the expected outputs."""
    W = rng.uniform(-0.5, 0.5, (1, 4 * H, I)).astype(np.float32)
    R = rng.uniform(-0.5, 0.5, (1, 4 * H, H)).astype(np.float32)
    B = rng.uniform(-0.5, 0.5, (1, 8 * H)).astype(np.float32)
    x = rng.uniform(-2, 2, (T, N, I)).astype(np.float32)
    hs = rng.uniform(-1, 1, (3, N, H)).astype(np.float32)
    i64 = lambda n, v: numpy_helper.from_array(np.array(v, dtype=np.int64), n)
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R"),
             numpy_helper.from_array(B, "B"),
             i64("s_starts", [-1]), i64("s_ends", [-(2 ** 62)]), i64("s_axes", [0]),
             i64("s_steps", [-2]), i64("g_idx", -1), i64("u_axes", [0]),
             i64("one", [1]), i64("g1", 1), numpy_helper.from_array(np.array([H], np.int64), "hh"),
             numpy_helper.from_array(np.full((1, 1, H), 0.25, np.float32), "cfill"),
             i64("rs", [0, 0, -1])]
    nodes = [
        helper.make_node("Slice", ["hs", "s_starts", "s_ends", "s_axes", "s_steps"], ["h_sl"]),
        helper.make_node("Gather", ["h_sl", "g_idx"], ["h_g"], axis=0),
        helper.make_node("Unsqueeze", ["h_g", "u_axes"], ["h0"]),
        helper.make_node("Shape", ["X"], ["xs"]),
        helper.make_node("Gather", ["xs", "g1"], ["n_s"], axis=0),
        helper.make_node("Unsqueeze", ["n_s", "u_axes"], ["n_1"]),
        helper.make_node("Concat", ["one", "n_1", "hh"], ["cshape"], axis=0),
        helper.make_node("Cast", ["cshape"], ["cshape64"], to=TensorProto.INT64),
        helper.make_node("Expand", ["cfill", "cshape64"], ["c0"]),
        helper.make_node("Identity", ["X"], ["Xi"]),
        helper.make_node("LSTM", ["Xi", "W", "R", "B", "", "h0", "c0"], ["Y", "Yh", "Yc"],
                         hidden_size=H),
        helper.make_node("Transpose", ["Y"], ["Yt"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["Yt", "rs"], ["out"]),
        helper.make_node("Squeeze", ["Yh", "u_axes"], ["hn"]),
        helper.make_node("ConstantOfShape", ["xs"], ["zeros"],
                         value=numpy_helper.from_array(np.array([0.0], np.float32))),
        helper.make_node("Slice", ["Yc", "u_axes", "one", "u_axes"], ["cn"]),
    ]
    gin = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, N, I]),
           helper.make_tensor_value_info("hs", TensorProto.FLOAT, [3, N, H])]
    gout = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("out", "hn", "cn")]
    g = helper.make_graph(nodes, "g_" + name, gin, gout, initializer=inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="lstmcl-gen")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y, hn, cn = sess.run(None, {"X": x, "hs": hs})
    path = name + ".onnx"
    onnx.save(model, os.path.join(OUT, path))
    add(name, path, {"--input": save(name + "_x.npy", x), "--h0": save(name + "_hs.npy", hs)},
        {"--output": save(name + "_y.npy", y), "--hn": save(name + "_hn.npy", hn),
         "--cn": save(name + "_cn.npy", cn)})


# --------------------------------------------------------------------------
# ONNX: torch.onnx.export of nn.LSTM, expected outputs from PyTorch
# --------------------------------------------------------------------------

def export_case(name, I, H, L, bi, T, N, *, batch_first=False, init=True, opset=14,
                dynamic=False):
    torch.manual_seed(len(CASES) * 13 + 5)
    m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=bi, batch_first=batch_first)
    D = 2 if bi else 1
    xs = (N, T, I) if batch_first else (T, N, I)
    x = torch.from_numpy(rng.uniform(-2, 2, xs).astype(np.float32))
    h0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, N, H)).astype(np.float32))
    c0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, N, H)).astype(np.float32))
    args = (x, (h0, c0)) if init else (x,)
    names = ["x", "h0", "c0"] if init else ["x"]
    path = name + ".onnx"
    kw = {}
    ex_args = args
    if dynamic:
        # Exported on another shape with dynamic axes: the graph computes its
        # zero states from X's shape at run time.
        ax = {0: "N", 1: "T"} if batch_first else {0: "T", 1: "N"}
        kw["dynamic_axes"] = {"x": ax, "y": ax}
        ex_args = (torch.zeros((N + 2, T + 3, I) if batch_first else (T + 3, N + 2, I)),)
    torch.onnx.export(m, ex_args, os.path.join(OUT, path), input_names=names,
                      output_names=["y", "hn", "cn"], opset_version=opset, **kw)
    with torch.no_grad():
        y, (hn, cn) = m(*args)
    inputs = {"--input": save(name + "_x.npy", x.numpy())}
    if init:
        inputs["--h0"] = save(name + "_h0.npy", h0.numpy())
        inputs["--c0"] = save(name + "_c0.npy", c0.numpy())
    expect = {"--output": save(name + "_y.npy", y.numpy()),
              "--hn": save(name + "_hn.npy", hn.numpy()),
              "--cn": save(name + "_cn.npy", cn.numpy())}
    # The exported graph agrees with PyTorch under onnxruntime too.
    sess = ort.InferenceSession(os.path.join(OUT, path), providers=["CPUExecutionProvider"])
    feeds = {"x": x.numpy()}
    if init:
        feeds["h0"], feeds["c0"] = h0.numpy(), c0.numpy()
    for got, want in zip(sess.run(None, feeds), (y, hn, cn)):
        assert np.allclose(got, want.numpy(), atol=1e-5), name
    add(name, path, inputs, expect)


def export_cases():
    export_case("tx_2bi_init", 5, 7, 2, True, 6, 3)
    export_case("tx_1_bf_zero", 4, 6, 1, False, 5, 2, batch_first=True, init=False)
    export_case("tx_3_opset9", 3, 5, 3, False, 4, 2, opset=9)
    export_case("tx_2bi_bf_zero_opset17", 3, 4, 2, True, 5, 3, batch_first=True, init=False,
                opset=17)
    export_case("tx_2bi_bf_dynamic_opset11", 5, 6, 2, True, 7, 2, batch_first=True, init=False,
                opset=11, dynamic=True)


# --------------------------------------------------------------------------
# ONNX: activation_alpha / activation_beta as onnxruntime reads them
# --------------------------------------------------------------------------

def activation_param_cases():
    """Lists longer than the functions take (the rest is ignored), shorter
    (onnxruntime's defaults: 0 for ThresholdedRelu, ScaledTanh and Affine),
    mixed functions with and without parameters, consumed across both
    directions; and lists without `activations` (ignored)."""
    # alpha [0.25, 0, 0] for HardSigmoid, Tanh, Relu: only HardSigmoid reads
    # (0.25, and beta 0.6).
    onnx_node_case("ox_ab_fwd_long", 4, 5, 5, 3, acts=["HardSigmoid", "Tanh", "Relu"],
                   alpha=[0.25, 0.0, 0.0], beta=[0.6, 3.0, 4.0])
    # Forward LeakyRelu 0.05; reverse HardSigmoid 0.3/0.4, Elu 0.9,
    # ScaledTanh 0.7/0.8; 5, 6, 7 and 9, 9 left over.
    onnx_node_case("ox_ab_bidir_long_mixed", 3, 4, 6, 2, direction="bidirectional",
                   acts=["Sigmoid", "LeakyRelu", "Softsign", "HardSigmoid", "Elu", "ScaledTanh"],
                   alpha=[0.05, 0.3, 0.9, 0.7, 5.0, 6.0, 7.0], beta=[0.4, 0.8, 9.0, 9.0],
                   lens=[6, 3])
    # Short lists: HardSigmoid 0.3/0.45, Affine 0.8 and beta 0 (short),
    # ThresholdedRelu 0 (short, a Relu then), reverse LeakyRelu 0.01.
    onnx_node_case("ox_ab_bidir_short", 4, 3, 5, 3, direction="bidirectional",
                   acts=["HardSigmoid", "Affine", "ThresholdedRelu", "Sigmoid", "Tanh",
                         "LeakyRelu"], alpha=[0.3, 0.8], beta=[0.45], opset=22)
    # Reverse: ScaledTanh 1.5/0.5, Affine alpha 0 (short) and beta 0.3, so
    # h is 0.3 (1.0 by the Affine operator's default would give c + 0.3).
    onnx_node_case("ox_ab_reverse_short", 3, 4, 4, 2, direction="reverse",
                   acts=["Sigmoid", "ScaledTanh", "Affine"], alpha=[1.5], beta=[0.5, 0.3],
                   peep=True)
    # No activations: the defaults take nothing, the lists are ignored.
    onnx_node_case("ox_ab_no_activations", 4, 5, 4, 2, alpha=[0.5, 2.0], beta=[0.1])


# --------------------------------------------------------------------------
# Reduced precisions (lstmcl run --precision): checkpoints as PyTorch saves
# them after .half() / .bfloat16(), and float32 ones; expected outputs from
# PyTorch (onnxruntime for ONNX nodes) in float32 on the weights as stored
# --------------------------------------------------------------------------

# lstmcl.h's accuracy contract (lstmcl_precision), against float32.
CONTRACT = {"fp16": 1e-2, "bf16": 3e-2, "int8": 5e-2}


def precision_case(name, precision, I, H, L, bi, T, N, *, proj=0, batch_first=False,
                   store=None, lens=None):
    """store: "half" or "bfloat16" for a module converted so before its
    state_dict is saved (F16 or BF16 tensors), None for float32."""
    torch.manual_seed(len(CASES) * 11 + 3)
    m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=bi, proj_size=proj,
                      batch_first=batch_first)
    if store:
        getattr(m, store)()
    model = name + ".safetensors"
    save_torch({k: v.contiguous() for k, v in m.state_dict().items()}, os.path.join(OUT, model))
    m.float()  # the same values, exactly, in float32
    D = 2 if bi else 1
    Hout = proj or H
    x = torch.from_numpy(rng.uniform(-1, 1, (N, T, I) if batch_first else (T, N, I))
                         .astype(np.float32))
    h0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, N, Hout)).astype(np.float32))
    c0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, N, H)).astype(np.float32))
    with torch.no_grad():
        if lens is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                x, torch.tensor(lens), batch_first=batch_first, enforce_sorted=False)
            y, (hn, cn) = m(packed, (h0, c0))
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=batch_first,
                                                           total_length=T)
        else:
            y, (hn, cn) = m(x, (h0, c0))
    inputs = {"--input": save(name + "_x.npy", x.numpy()),
              "--h0": save(name + "_h0.npy", h0.numpy()),
              "--c0": save(name + "_c0.npy", c0.numpy())}
    if lens is not None:
        inputs["--seq-lens"] = save(name + "_lens.npy", np.array(lens, dtype=np.int64))
    expect = {"--output": save(name + "_y.npy", y.numpy()),
              "--hn": save(name + "_hn.npy", hn.numpy()),
              "--cn": save(name + "_cn.npy", cn.numpy())}
    extra = ["--precision", precision] + (["--batch-first"] if batch_first else [])
    add(name, model, inputs, expect, extra, CONTRACT[precision])


def precision_cases():
    precision_case("pr_fp16_half", "fp16", 12, 24, 2, True, 12, 3, store="half")
    precision_case("pr_bf16_proj", "bf16", 10, 20, 2, False, 12, 3, proj=8, batch_first=True,
                   store="bfloat16")
    precision_case("pr_int8_f32", "int8", 12, 24, 2, False, 10, 4, lens=[10, 4, 7, 1])
    # ONNX initializers as FLOAT16 and BFLOAT16 raw_data.
    onnx_node_case("pr_ox_f16_peep", 8, 16, 8, 3, direction="bidirectional", peep=True,
                   ws_dtype="f16_raw", extra=["--precision", "fp16"], contract=CONTRACT["fp16"])
    onnx_node_case("pr_ox_bf16", 8, 16, 8, 3, ws_dtype="bf16_raw",
                   extra=["--precision", "bf16"], contract=CONTRACT["bf16"])


def generate():
    torch_cases()
    onnx_node_cases()
    export_cases()
    activation_param_cases()
    precision_cases()


def case_files(c):
    return [c["model"]] + list(c["inputs"].values()) + list(c["expect"].values())


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", metavar="PATTERN",
                    help="write only the cases whose names match (fnmatch)")
    a = ap.parse_args()
    data = OUT
    if a.only:
        OUT = tempfile.mkdtemp()
    else:
        for f in os.listdir(OUT):
            os.remove(os.path.join(OUT, f))
    generate()
    cases = CASES
    if a.only:
        pick = lambda c: any(fnmatch.fnmatchcase(c["name"], p) for p in a.only)
        with open(os.path.join(data, "manifest.json")) as f:
            old = {c["name"]: c for c in json.load(f)}
        cases = []
        for c in CASES:
            if pick(c):
                for name in case_files(c):
                    shutil.copyfile(os.path.join(OUT, name), os.path.join(data, name))
                cases.append(c)
            elif c["name"] in old:
                cases.append(old[c["name"]])
        shutil.rmtree(OUT)
        OUT = data
        print("wrote %s" % ", ".join(c["name"] for c in CASES if pick(c)))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(cases, f, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%d cases, %d files, %d bytes" % (len(cases), len(os.listdir(OUT)), total))


if __name__ == "__main__":
    sys.exit(main())
