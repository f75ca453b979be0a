#!/usr/bin/env python3
"""Writes the corpus of malformed inputs of the lstmcl command
(tests/cli/malformed, committed). Every file must make `lstmcl run` (and
`lstmcl info` for models) exit with status 2 and a one-line message naming
the file. Built from bytes here (numpy for .npy bodies, protobuf wire format
by hand), independently of the parsers under test.

Regenerate: /usr/bin/python3 tests/cli/gen_malformed.py   (needs python3-numpy)
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "malformed")
DATA = os.path.join(HERE, "data")
CASES = []


def write(name, data, opt="--weights", model="st_basic.safetensors", extra=(), names=None,
          runtime=False, says=None):
    """opt: the option the file is given to; names: the option whose file the
    message must name (default: opt); runtime: a well-formed model that fails
    only when run (so `lstmcl info` accepts it); says: text the message must
    contain (the cause, not only the file)."""
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    case = {"file": name, "opt": opt, "model": model, "extra": list(extra),
            "names": names or opt, "runtime": runtime}
    if says:
        case["says"] = says
    CASES.append(case)


# --------------------------------------------------------------------------
# .npy
# --------------------------------------------------------------------------

def npy_bytes(header, body=b"", version=1, hlen=None):
    h = header.encode("latin1")
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * (pad % 64) + b"\n"
    n = len(h) if hlen is None else hlen
    if version == 1:
        pre = b"\x93NUMPY\x01\x00" + struct.pack("<H", n)
    else:
        pre = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", n)
    return pre + h + body


def npy_cases():
    x = np.zeros((6, 3, 5), np.float32)  # st_basic's X shape
    body = x.tobytes()
    good = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3, 5), }"
    w = lambda n, d, opt="--input", **k: write(n, d, opt, **k)
    w("npy_empty.npy", b"")
    w("npy_bad_magic.npy", b"\x93NUMPX\x01\x00" + npy_bytes(good, body)[8:])
    w("npy_truncated_header.npy", npy_bytes(good, body)[:40])
    w("npy_truncated_data.npy", npy_bytes(good, body)[:-7])
    w("npy_trailing_data.npy", npy_bytes(good, body + b"\0\0\0\0"))
    w("npy_header_len_lies.npy", npy_bytes(good, body, hlen=60000))
    w("npy_header_len_lies_v2.npy", npy_bytes(good, body, version=2, hlen=0xFFFFFFF0))
    w("npy_version9.npy", npy_bytes(good, body, version=9))
    w("npy_complex.npy", npy_bytes(good.replace("<f4", "<c8"), body * 2))
    w("npy_object.npy", npy_bytes(good.replace("<f4", "|O"), body))
    w("npy_int32_x.npy", npy_bytes(good.replace("<f4", "<i4"), body))
    w("npy_huge_shape.npy",
      npy_bytes(good.replace("(6, 3, 5)", "(4611686018427387904, 4611686018427387904, 5)"), body))
    w("npy_overflow_digits.npy",
      npy_bytes(good.replace("(6, 3, 5)", "(6, 3, 99999999999999999999999)"), body))
    w("npy_negative_dim.npy", npy_bytes(good.replace("(6, 3, 5)", "(6, -3, 5)"), body))
    w("npy_missing_key.npy", npy_bytes("{'descr': '<f4', 'shape': (6, 3, 5), }", body))
    w("npy_extra_key.npy", npy_bytes(good[:-1] + "'x': 1, }", body))
    w("npy_duplicate_key.npy", npy_bytes(good[:-1] + "'shape': (6, 3, 5), }", body))
    w("npy_bad_fortran.npy", npy_bytes(good.replace("False", "Maybe"), body))
    w("npy_not_dict.npy", npy_bytes("[1, 2, 3]", body))
    w("npy_unterminated.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3",
                                        body))
    w("npy_rank2_x.npy", npy_bytes(good.replace("(6, 3, 5)", "(18, 5)"), body))
    w("npy_wrong_input_size.npy", npy_bytes(good.replace("(6, 3, 5)", "(6, 5, 3)"),
                                            body))
    w("npy_zero_steps.npy", npy_bytes(good.replace("(6, 3, 5)", "(0, 3, 5)"), b""))
    nan = np.zeros((6, 3, 5), np.float32)
    nan[2, 1, 3] = np.nan
    w("npy_nan_x.npy", npy_bytes(good, nan.tobytes()), says="element 38 is NaN")
    big = np.zeros((6, 3, 5), np.float64)
    big[0, 1, 0] = -1e39
    w("npy_f8_out_of_range_x.npy", npy_bytes(good.replace("<f4", "<f8"), big.tobytes()),
      says="element 5 is out of float range (-1e+39)")
    big[0, 1, 0] = np.inf
    w("npy_f8_inf_x.npy", npy_bytes(good.replace("<f4", "<f8"), big.tobytes()),
      says="element 5 is infinite")
    h0 = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 6), }"
    w("npy_h0_wrong_shape.npy", npy_bytes(h0, np.zeros(18, np.float32).tobytes()), "--h0")
    w("npy_c0_wrong_rank.npy", npy_bytes(h0.replace("(1, 3, 6)", "(3, 7)"),
                                         np.zeros(21, np.float32).tobytes()), "--c0")
    lens = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"
    w("npy_lens_float.npy", npy_bytes(lens.replace("<i8", "<f4"),
                                      np.ones(3, np.float32).tobytes()), "--seq-lens")
    w("npy_lens_int16.npy", npy_bytes(lens.replace("<i8", "<i2"),
                                      np.ones(3, np.int16).tobytes()), "--seq-lens")
    w("npy_lens_wrong_count.npy", npy_bytes(lens.replace("(3,)", "(4,)"),
                                            np.ones(4, np.int64).tobytes()), "--seq-lens")
    w("npy_lens_zero.npy", npy_bytes(lens, np.array([6, 0, 2], np.int64).tobytes()),
      "--seq-lens")
    w("npy_lens_too_long.npy", npy_bytes(lens, np.array([6, 7, 2], np.int64).tobytes()),
      "--seq-lens")
    w("npy_lens_negative.npy", npy_bytes(lens, np.array([6, -1, 2], np.int64).tobytes()),
      "--seq-lens")
    # The same shape faults against ONNX graphs: the message names the array.
    w("npy_onnx_x_wrong_size.npy", npy_bytes(good.replace("(6, 3, 5)", "(6, 3, 4)"),
                                             np.zeros(72, np.float32).tobytes()),
      model="ox_fwd_lens.onnx")
    w("npy_onnx_h0_wrong.npy", npy_bytes(h0.replace("(1, 3, 6)", "(1, 3, 8)"),
                                         np.zeros(24, np.float32).tobytes()), "--h0",
      model="tx_2bi_init.onnx")


# --------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------

def st_bytes(header, data, hlen=None):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def lstm_tensors(I=5, H=7, dtype="F32", prefix="", layers=1, reverse=False, bias=True):
    """A valid nn.LSTM state_dict: header dict and data buffer."""
    hdr, buf = {}, b""
    for l in range(layers):
        for rev in ([False, True] if reverse else [False]):
            sfx = "_l%d%s" % (l, "_reverse" if rev else "")
            iin = I if l == 0 else H * (2 if reverse else 1)
            shapes = [("weight_ih", [4 * H, iin]), ("weight_hh", [4 * H, H])]
            if bias:
                shapes += [("bias_ih", [4 * H]), ("bias_hh", [4 * H])]
            for name, shape in shapes:
                n = int(np.prod(shape)) * 4
                hdr[prefix + name + sfx] = {"dtype": dtype, "shape": shape,
                                            "data_offsets": [len(buf), len(buf) + n]}
                buf += np.full(n // 4, 0.01, np.float32).tobytes()
    return hdr, buf


def repack(hdr, buf):
    """The tensors' bytes laid end to end in offset order, as the format
    requires, after a mutation dropped or resized some."""
    out = b""
    for k, v in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = v["data_offsets"]
        n = e - b
        v["data_offsets"] = [len(out), len(out) + n]
        out += (buf[b:e] + bytes(n))[:n]
    return hdr, out


def set_value(hdr, buf, name, index, value, fmt="<f"):
    b = hdr[name]["data_offsets"][0] + index * struct.calcsize(fmt)
    return buf[:b] + struct.pack(fmt, value) + buf[b + struct.calcsize(fmt):]


def st_cases():
    w = lambda n, d, **k: write(n, d, "--weights", **k)
    hdr, buf = lstm_tensors()
    good = st_bytes(hdr, buf)
    w("st_empty.safetensors", b"", says="the file is empty")
    w("st_short.safetensors", b"\x10\x00\x00")
    w("st_header_len_too_big.safetensors", st_bytes(hdr, buf, hlen=len(good)))
    w("st_header_len_huge.safetensors", st_bytes(hdr, buf, hlen=2 ** 63 + 5))
    w("st_truncated_data.safetensors", good[:-100])
    w("st_bad_json.safetensors", st_bytes(b'{"weight_ih_l0": {"dtype": "F32", ', buf))
    w("st_json_array.safetensors", st_bytes(b"[1, 2, 3]", buf))
    w("st_nul_in_header.safetensors", st_bytes(b'{"a\x00": 1}', buf))

    def mutate(name, fn, pack=False, **k):
        h, b = lstm_tensors()
        h = json.loads(json.dumps(h))
        r = fn(h, b)
        b = r if isinstance(r, bytes) else b
        if pack:
            h, b = repack(h, b)
        w(name, st_bytes(h, b), **k)

    mutate("st_unknown_dtype.safetensors",
           lambda h, b: h["weight_hh_l0"].update(dtype="Q7"))
    mutate("st_int_weights.safetensors",
           lambda h, b: h["weight_hh_l0"].update(dtype="I32"))
    mutate("st_offsets_out_of_range.safetensors",
           lambda h, b: h["bias_hh_l0"].update(data_offsets=[len(b) - 56, len(b) + 56]))
    mutate("st_offsets_overlap.safetensors",
           lambda h, b: h["bias_hh_l0"].update(data_offsets=h["bias_ih_l0"]["data_offsets"]))
    mutate("st_offsets_reversed.safetensors",
           lambda h, b: h["bias_hh_l0"].update(data_offsets=[100, 50]))
    mutate("st_offsets_not_int.safetensors",
           lambda h, b: h["bias_hh_l0"].update(data_offsets=[1.5, 113.5]))
    mutate("st_offsets_negative.safetensors",
           lambda h, b: h["bias_hh_l0"].update(data_offsets=[-112, 0]))
    mutate("st_shape_disagrees_offsets.safetensors",
           lambda h, b: h["bias_hh_l0"].update(shape=[29]))
    mutate("st_shape_overflow.safetensors",
           lambda h, b: h["bias_hh_l0"].update(shape=[2 ** 40, 2 ** 40, 2 ** 40]))
    mutate("st_shape_negative.safetensors",
           lambda h, b: h["bias_hh_l0"].update(shape=[-28]))
    mutate("st_extra_key.safetensors", lambda h, b: h["bias_hh_l0"].update(extra=1))
    mutate("st_missing_offsets.safetensors", lambda h, b: h["bias_hh_l0"].pop("data_offsets"))
    mutate("st_metadata_not_strings.safetensors",
           lambda h, b: h.update({"__metadata__": {"format": 1}}))
    mutate("st_missing_weight_hh.safetensors", lambda h, b: h.pop("weight_hh_l0"), pack=True,
           says="missing tensor 'weight_hh_l0'")
    mutate("st_missing_bias_hh.safetensors", lambda h, b: h.pop("bias_hh_l0"), pack=True,
           says="missing tensor 'bias_hh_l0'")
    mutate("st_rows_not_4h.safetensors",
           lambda h, b: [h["weight_ih_l0"].update(shape=[27, 5], data_offsets=[
               h["weight_ih_l0"]["data_offsets"][0], h["weight_ih_l0"]["data_offsets"][0] + 540])],
           pack=True)
    mutate("st_hidden_disagrees.safetensors",
           lambda h, b: h["weight_hh_l0"].update(shape=[28, 6], data_offsets=[
               h["weight_hh_l0"]["data_offsets"][0], h["weight_hh_l0"]["data_offsets"][0] + 672]),
           pack=True)
    mutate("st_bias_wrong_rank.safetensors",
           lambda h, b: h["bias_ih_l0"].update(shape=[4, 7]))
    mutate("st_no_lstm.safetensors",
           lambda h, b: [h.update({k.replace("_l0", "_x0"): h.pop(k)}) for k in list(h)])
    # Duplicate names: JSON allows them syntactically.
    h, b = lstm_tensors()
    text = json.dumps(h)
    dup = text[:-1] + ', "bias_hh_l0": ' + json.dumps(h["bias_hh_l0"]) + "}"
    w("st_duplicate_name.safetensors", st_bytes(dup.encode(), b))
    # Layer 2 without layer 1; reverse in layer 1 only; two LSTMs without --prefix.
    h, b = lstm_tensors(H=7, layers=3)
    for k in [k for k in h if k.endswith("_l1")]:
        h.pop(k)
    w("st_layer_gap.safetensors", st_bytes(*repack(h, b)), says="layer 1 has no tensors")
    h, b = lstm_tensors(layers=2)
    h2, b2 = lstm_tensors(I=7, reverse=True)
    for k, v in h2.items():
        if k.endswith("_reverse"):
            o = v["data_offsets"]
            h[k.replace("_l0", "_l1")] = dict(v, data_offsets=[o[0] + len(b), o[1] + len(b)])
    w("st_reverse_one_layer.safetensors", st_bytes(h, b + b2))
    ha, ba = lstm_tensors(prefix="a.")
    hb, bb = lstm_tensors(prefix="b.")
    for v in hb.values():
        v["data_offsets"] = [v["data_offsets"][0] + len(ba), v["data_offsets"][1] + len(ba)]
    ha.update(hb)
    w("st_two_lstms_no_prefix.safetensors", st_bytes(ha, ba + bb))
    w("st_prefix_not_found.safetensors", st_bytes(ha, ba + bb), extra=["--prefix", "c."])
    # A model whose input size does not match st_basic's X is caught against X.
    h, b = lstm_tensors(I=4)
    write("st_input_size_4.safetensors", st_bytes(h, b), "--weights", names="--input")

    # The data section must be covered exactly. Real files pad the header
    # with spaces to a multiple of 8, so a header length one byte short still
    # parses, and every tensor would be read one byte off.
    text = json.dumps(hdr).encode()
    text += b" " * (-len(text) % 8)
    w("st_header_len_one_short.safetensors", st_bytes(text, buf, hlen=len(text) - 1),
      says="1 bytes after the last tensor")
    w("st_trailing_bytes.safetensors", good + bytes(4), says="4 bytes after the last tensor")
    h, b = lstm_tensors()
    o = h["bias_hh_l0"]["data_offsets"]
    h["bias_hh_l0"]["data_offsets"] = [o[0] + 8, o[1] + 8]
    w("st_gap.safetensors", st_bytes(h, b + bytes(8)), says="a gap in the data section")
    # Non-finite weights, as stored or converted from F64.
    h, b = lstm_tensors()
    w("st_nan_weight.safetensors", st_bytes(h, set_value(h, b, "weight_hh_l0", 17, float("nan"))),
      says="tensor 'weight_hh_l0': element 17 is NaN")
    w("st_inf_bias.safetensors", st_bytes(h, set_value(h, b, "bias_ih_l0", 3, float("-inf"))),
      says="tensor 'bias_ih_l0': element 3 is infinite")
    h64, b64 = {}, b""
    for k, v in sorted(h.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        vals = np.frombuffer(b[v["data_offsets"][0]:v["data_offsets"][1]], np.float32)
        h64[k] = {"dtype": "F64", "shape": v["shape"],
                  "data_offsets": [len(b64), len(b64) + 8 * vals.size]}
        b64 += vals.astype(np.float64).tobytes()
    w("st_f64_out_of_range.safetensors",
      st_bytes(h64, set_value(h64, b64, "weight_ih_l0", 5, 1e300, "<d")),
      says="tensor 'weight_ih_l0': element 5 is out of float range (1e+300)")
    h16, b16 = {}, b""
    for k, v in sorted(h.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        vals = np.frombuffer(b[v["data_offsets"][0]:v["data_offsets"][1]], np.float32)
        h16[k] = {"dtype": "F16", "shape": v["shape"],
                  "data_offsets": [len(b16), len(b16) + 2 * vals.size]}
        b16 += vals.astype(np.float16).tobytes()
    w("st_f16_inf.safetensors", st_bytes(h16, set_value(h16, b16, "bias_hh_l0", 0, 0x7c00, "<H")),
      says="tensor 'bias_hh_l0': element 0 is infinite")
    # A stray tensor of a layer far above the others names the real gap.
    h, b = lstm_tensors()
    n = 4 * 7 * 5 * 4
    h["weight_ih_l9"] = {"dtype": "F32", "shape": [28, 5], "data_offsets": [len(b), len(b) + n]}
    w("st_stray_layer.safetensors", st_bytes(h, b + bytes(n)),
      says="layer 1 has no tensors (missing 'weight_ih_l1'), but 'weight_ih_l9' names layer 9")

    # Other recurrent layers' state_dicts share nn.LSTM's names.
    def rnn_dict(gates, I=5, H=7):
        hd, bd = {}, b""
        for name, shape in [("weight_ih_l0", [gates * H, I]), ("weight_hh_l0", [gates * H, H]),
                            ("bias_ih_l0", [gates * H]), ("bias_hh_l0", [gates * H])]:
            n = int(np.prod(shape)) * 4
            hd[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(bd), len(bd) + n]}
            bd += bytes(n)
        return st_bytes(hd, bd)
    w("st_gru.safetensors", rnn_dict(3), says="not an LSTM")
    w("st_rnn.safetensors", rnn_dict(1), says="vanilla RNN")
    w("st_gru_h8.safetensors", rnn_dict(3, H=8), says="a GRU's")
    # Files users mistake for models.
    w("weights_npy.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                   bytes(8)), says="a NumPy .npy array, not a model")
    w("weights_pickle.pt", b"\x80\x02}q\x00(X\x08\x00\x00\x00weight_ih", says="Python pickle")
    w("weights_zip.pt", b"PK\x03\x04" + bytes(60), says="zip archive")
    w("weights_garbage.bin", b"\x12\x34garbage that is no protobuf\xff\xff\xff",
      says="neither safetensors nor ONNX")


# --------------------------------------------------------------------------
# ONNX (protobuf wire format written by hand)
# --------------------------------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 5:
        return key + struct.pack("<f", payload)
    return key + varint(len(payload)) + payload


def s(x):
    return x.encode() if isinstance(x, str) else x


# Field numbers of onnx.proto.
def tensor(name, dims, data_type=1, values=None, raw=None):
    b = b"".join(fld(1, 0, d) for d in dims) + fld(2, 0, data_type) + fld(8, 2, s(name))
    if raw is not None:
        b += fld(9, 2, raw)
    elif values is not None:
        b += fld(4, 2, struct.pack("<%df" % len(values), *values))
    return b


def attr_i(name, v):
    return fld(1, 2, s(name)) + fld(3, 0, v) + fld(20, 0, 2)


def attr_s(name, v):
    return fld(1, 2, s(name)) + fld(4, 2, s(v)) + fld(20, 0, 3)


def attr_f(name, v):
    return fld(1, 2, s(name)) + fld(2, 5, v) + fld(20, 0, 1)


def attr_strs(name, vs):
    return fld(1, 2, s(name)) + b"".join(fld(9, 2, s(v)) for v in vs) + fld(20, 0, 8)


def node(op, ins, outs, attrs=(), name="n"):
    return (b"".join(fld(1, 2, s(i)) for i in ins) + b"".join(fld(2, 2, s(o)) for o in outs) +
            fld(3, 2, s(name)) + fld(4, 2, s(op)) + b"".join(fld(5, 2, a) for a in attrs))


def vinfo(name):
    return fld(1, 2, s(name))


def model(nodes, inits, inputs=("X",), outputs=("Y",), opset=14):
    g = (b"".join(fld(1, 2, n) for n in nodes) + fld(2, 2, b"g") +
         b"".join(fld(5, 2, t) for t in inits) + b"".join(fld(11, 2, vinfo(i)) for i in inputs) +
         b"".join(fld(12, 2, vinfo(o)) for o in outputs))
    opset_b = fld(1, 2, b"") + fld(2, 0, opset)
    return fld(1, 0, 8) + fld(2, 2, b"gen") + fld(7, 2, g) + fld(8, 2, opset_b)


def lstm_model(I=5, H=7, attrs=None, w_dims=None, r_dims=None, extra_nodes=(), inits=None,
               inputs=("X",), outputs=("Y",), opset=14, ins=None, pre_nodes=()):
    wd = w_dims or [1, 4 * H, I]
    rd = r_dims or [1, 4 * H, H]
    ts = inits if inits is not None else [
        tensor("W", wd, values=[0.01] * int(np.prod(wd))),
        tensor("R", rd, values=[0.01] * int(np.prod(rd)))]
    a = attrs if attrs is not None else [attr_i("hidden_size", H)]
    n = node("LSTM", ins or ["X", "W", "R"], ["Y"], a, name="the_lstm")
    return model(list(pre_nodes) + [n] + list(extra_nodes), ts, inputs, outputs, opset)


def onnx_cases():
    w = lambda n, d, **k: write(n, d, "--weights", **k)
    w("ox_random.onnx", bytes(np.random.default_rng(1).integers(0, 256, 300, np.uint8)))
    good = lstm_model()
    w("ox_truncated.onnx", good[: len(good) // 2])
    w("ox_length_lies.onnx", good[:-3] + b"\x0a\xff\xff\xff\x0f")
    w("ox_unsupported_op.onnx", lstm_model(extra_nodes=[node("Relu", ["Y"], ["Z"],
                                                            name="the_relu")], outputs=("Z",)))
    w("ox_other_domain.onnx", lstm_model(extra_nodes=[
        node("Transpose", ["Y"], ["Z"], name="custom") + fld(7, 2, b"com.example")],
        outputs=("Z",)))
    w("ox_weights_not_const.onnx", lstm_model(inits=[], inputs=("X", "W", "R")))
    w("ox_bad_direction.onnx", lstm_model(attrs=[attr_s("direction", "sideways")]))
    w("ox_activation_count.onnx", lstm_model(attrs=[attr_strs("activations", ["Tanh"] * 2)]))
    w("ox_activation_unknown.onnx",
      lstm_model(attrs=[attr_strs("activations", ["Sigmoid", "Gelu", "Tanh"])]))
    # Values left over in activation_alpha are ignored (as onnxruntime does);
    # a list of another type is refused (as onnxruntime does).
    w("ox_alpha_not_floats.onnx", lstm_model(attrs=[
        attr_strs("activations", ["Sigmoid", "Tanh", "Tanh"]),
        fld(1, 2, b"activation_alpha") + fld(8, 0, 1) + fld(20, 0, 7)]),
      says="activation_alpha and activation_beta must be lists of floats")
    w("ox_w_wrong_rank.onnx", lstm_model(w_dims=[28, 5]))
    w("ox_w_rows_not_4h.onnx", lstm_model(w_dims=[1, 27, 5]))
    w("ox_r_wrong_shape.onnx", lstm_model(r_dims=[1, 28, 6]))
    w("ox_hidden_size_lies.onnx", lstm_model(attrs=[attr_i("hidden_size", 9)]))
    w("ox_unknown_attr.onnx", lstm_model(attrs=[attr_i("hidden_size", 7), attr_i("frobnicate", 1)]))
    w("ox_clip_negative.onnx", lstm_model(attrs=[attr_f("clip", -1.0)]))
    w("ox_raw_size_lies.onnx", lstm_model(inits=[
        tensor("W", [1, 28, 5], raw=b"\0" * 100), tensor("R", [1, 28, 7], values=[0.0] * 196)]))
    w("ox_values_count_lies.onnx", lstm_model(inits=[
        tensor("W", [1, 28, 5], values=[0.0] * 7), tensor("R", [1, 28, 7], values=[0.0] * 196)]))
    w("ox_huge_dims.onnx", lstm_model(inits=[
        tensor("W", [2 ** 31, 2 ** 31, 2 ** 31], raw=b"\0" * 16),
        tensor("R", [1, 28, 7], values=[0.0] * 196)]))
    w("ox_negative_dims.onnx", lstm_model(inits=[
        tensor("W", [1, -28, 5], raw=b"\0" * 16), tensor("R", [1, 28, 7], values=[0.0] * 196)]))
    w("ox_string_tensor.onnx", lstm_model(inits=[
        tensor("W", [1, 28, 5], data_type=8), tensor("R", [1, 28, 7], values=[0.0] * 196)]))
    w("ox_external_data.onnx", lstm_model(inits=[
        tensor("W", [1, 28, 5]) + fld(14, 0, 1), tensor("R", [1, 28, 7], values=[0.0] * 196)]))
    w("ox_duplicate_initializer.onnx", lstm_model(inits=[
        tensor("W", [1, 28, 5], values=[0.0] * 140), tensor("R", [1, 28, 7], values=[0.0] * 196),
        tensor("R", [1, 28, 7], values=[0.0] * 196)]))
    w("ox_opset6.onnx", lstm_model(opset=6))
    w("ox_opset99.onnx", lstm_model(opset=99))
    w("ox_no_lstm.onnx", model([node("Identity", ["X"], ["Y"])], [], ("X",), ("Y",)))
    w("ox_no_nodes.onnx", model([], [], ("X",), ("Y",)))
    w("ox_undefined_input.onnx", lstm_model(extra_nodes=[
        node("Concat", ["Y", "nowhere"], ["Z"], [attr_i("axis", 0)], name="cat")],
        outputs=("Z",)))
    w("ox_duplicate_output.onnx", lstm_model(extra_nodes=[
        node("Identity", ["X"], ["Y"], name="again")]))
    w("ox_output_not_produced.onnx", lstm_model(outputs=("Y", "ghost")))
    w("ox_input_feeds_nothing.onnx", lstm_model(inputs=("X", "stray")))
    # Plumbing that fails at run time on a well-formed X: still exit 2.
    w("ox_reshape_mismatch.onnx", lstm_model(
        extra_nodes=[node("Reshape", ["Y", "shape"], ["Z"], name="bad_reshape")],
        inits=[tensor("W", [1, 28, 5], values=[0.0] * 140),
               tensor("R", [1, 28, 7], values=[0.0] * 196),
               tensor("shape", [2], data_type=7, raw=struct.pack("<2q", 5, 5))],
        outputs=("Z",)), model="ox_fwd_lens.onnx", runtime=True)
    w("ox_gather_out_of_range.onnx", lstm_model(
        pre_nodes=[node("Shape", ["X"], ["s"], name="shape"),
                   node("Gather", ["s", "idx"], ["g"], name="bad_gather")],
        inits=[tensor("W", [1, 28, 5], values=[0.0] * 140),
               tensor("R", [1, 28, 7], values=[0.0] * 196),
               tensor("idx", [], data_type=7, raw=struct.pack("<q", 7))],
        extra_nodes=[node("Concat", ["Y", "g"], ["Z"], [attr_i("axis", 0)], name="cat")],
        outputs=("Y",)), runtime=True)

    # Weights that are not finite floats: refused at load, naming the tensor
    # and the element's flat index (W (1, 28, 5), R (1, 28, 7), B (1, 56),
    # P (1, 21) for H = 7, I = 5).
    def weights(**over):
        d = {"W": tensor("W", [1, 28, 5], values=[0.01] * 140),
             "R": tensor("R", [1, 28, 7], values=[0.01] * 196)}
        d.update(over)
        return list(d.values())

    def with_value(n, k, v, fmt="<f"):
        a = [0.01] * n
        a[k] = v
        return struct.pack("<%d%s" % (n, fmt[1:]), *a)

    w("ox_nan_w.onnx", lstm_model(inits=weights(
        W=tensor("W", [1, 28, 5], values=[0.01] * 17 + [float("nan")] + [0.01] * 122))),
      says="initializer 'W': element 17 is NaN")
    w("ox_inf_b.onnx", lstm_model(ins=["X", "W", "R", "B"], inits=weights(
        B=tensor("B", [1, 56], raw=with_value(56, 3, float("inf"))))),
      says="initializer 'B': element 3 is infinite")
    w("ox_f64_out_of_range_r.onnx", lstm_model(inits=weights(
        R=tensor("R", [1, 28, 7], data_type=11, raw=with_value(196, 5, 1e300, "<d")))),
      says="initializer 'R': element 5 is out of float range (1e+300)")
    f16 = [0x211F] * 140  # 0.01 in float16
    f16[9] = 0xFC00       # -Inf
    w("ox_f16_inf_w.onnx", lstm_model(inits=weights(
        W=tensor("W", [1, 28, 5], data_type=10, raw=struct.pack("<140H", *f16)))),
      says="initializer 'W': element 9 is infinite")
    # P from a Constant node rather than an initializer.
    p_vals = [0.01] * 21
    p_vals[4] = float("nan")
    p_const = node("Constant", [], ["P"], [fld(1, 2, b"value") +
                                           fld(5, 2, tensor("p", [1, 21], values=p_vals)) +
                                           fld(20, 0, 4)], name="p_const")
    w("ox_nan_p_constant.onnx", lstm_model(ins=["X", "W", "R", "", "", "", "", "P"],
                                           pre_nodes=[p_const]),
      says="Constant 'P': element 4 is NaN")

    # The same in a torch.onnx.export graph: one float of the second LSTM
    # node's W in data/tx_2bi_init.onnx turned into NaN (its raw_data
    # patched in place: no length changes).
    def varint_at(b, p):
        v = sh = 0
        while True:
            v |= (b[p] & 0x7F) << sh
            sh += 7
            p += 1
            if not b[p - 1] & 0x80:
                return v, p

    def fields(b, lo, hi):
        """(number, payload span or varint) of the fields in b[lo:hi]."""
        p = lo
        while p < hi:
            key, p = varint_at(b, p)
            wt = key & 7
            if wt == 0:
                v, p = varint_at(b, p)
                yield key >> 3, v
            elif wt == 2:
                n, p = varint_at(b, p)
                yield key >> 3, (p, p + n)
                p += n
            else:
                p += 8 if wt == 1 else 4
                yield key >> 3, None

    with open(os.path.join(DATA, "tx_2bi_init.onnx"), "rb") as f:
        tx = bytearray(f.read())
    graph = [v for n, v in fields(tx, 0, len(tx)) if n == 7][0]
    lstm_w, raw = [], {}
    for n, v in fields(tx, *graph):
        if n == 1:  # NodeProto: input 1, op_type 4
            parts = [(k, bytes(tx[slice(*x)])) for k, x in fields(tx, *v) if k in (1, 4)]
            if (4, b"LSTM") in parts:
                lstm_w.append([x for k, x in parts if k == 1][1].decode())
        elif n == 5:  # TensorProto: name 8, raw_data 9
            parts = dict(fields(tx, *v))
            if 9 in parts:
                raw[bytes(tx[slice(*parts[8])]).decode()] = parts[9]
    name = lstm_w[1]
    at = raw[name][0] + 4 * 17
    tx[at:at + 4] = struct.pack("<f", float("nan"))
    w("ox_export_nan_w.onnx", bytes(tx), model="tx_2bi_init.onnx",
      says="initializer '%s': element 17 is NaN" % name)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    npy_cases()
    st_cases()
    onnx_cases()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(CASES, f, indent=1)
    print("%d malformed files" % len(CASES))


if __name__ == "__main__":
    main()
