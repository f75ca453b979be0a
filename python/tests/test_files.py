"""lstmcl.load: safetensors state_dicts against torch.nn.LSTM, ONNX graphs
against onnxruntime, on every device.

Sources of truth: the committed models of the lstmcl command's tests
(tests/cli/data, with the outputs PyTorch and onnxruntime computed for
them), onnxruntime run here on the same files, and modules exported here
with torch.onnx.export and safetensors.torch.save_file.
"""
import io
import json
import os
import warnings

import numpy as np
import pytest
import torch

import lstmcl

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROLE_OF_OPTION = {"--input": "X", "--seq-lens": "sequence_lens", "--h0": "initial_h",
                  "--c0": "initial_c"}
OUTPUT_OF_OPTION = {"--output": "Y", "--hn": "Y_h", "--cn": "Y_c"}
# The committed cases run in the fast tier; the others in the full tier.
FAST_CASES = {"st_basic", "st_bidir2_f16_lens", "st_proj_bf16_prefix", "ox_bidir_peep_clip",
              "ox_reverse_layout1", "tx_2bi_init", "tx_1_bf_zero", "pr_fp16_half"}


def manifest():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.dirname(os.path.dirname(here)), "tests", "cli", "data",
                        "manifest.json")
    with open(path) as f:
        cases = json.load(f)
    return [pytest.param(c, id=c["name"], marks=() if c["name"] in FAST_CASES
                         else pytest.mark.full) for c in cases]


def ort_run(model_bytes, feeds):
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    types = {i.name: i.type for i in sess.get_inputs()}
    fixed = {}
    for name, a in feeds.items():
        if a is None:
            continue
        dtype = {"tensor(int32)": np.int32, "tensor(int64)": np.int64,
                 "tensor(double)": np.float64, "tensor(float16)": np.float16}
        fixed[name] = a.astype(dtype.get(types[name], np.float32))
    return [o.name for o in sess.get_outputs()], sess.run(None, fixed)


def graph_tolerance(helpers, graph, T):
    """The bound of the graph's largest node, as if its nodes were the
    layers of one LSTM."""
    return max(helpers.tolerance(n.input_size, n.hidden_size, 0, len(graph.lstms),
                                 2 if n.direction == "bidirectional" else 1, T)
               for n in graph.lstms)


@pytest.mark.parametrize("case", manifest())
def test_committed_models(helpers, device, case):
    """Every committed model: PyTorch's / onnxruntime's outputs as recorded,
    and for ONNX onnxruntime's outputs computed now. A case of the command's
    tests run with a reduced --precision is loaded with that precision and
    held to its accuracy contract against the recorded float32 outputs."""
    data = helpers.cli_data
    inputs = {opt: np.load(os.path.join(data, f)) for opt, f in case["inputs"].items()}
    expect = {opt: np.load(os.path.join(data, f)) for opt, f in case["expect"].items()}
    extra = case["extra"]
    prefix = extra[extra.index("--prefix") + 1] if "--prefix" in extra else None
    precision = extra[extra.index("--precision") + 1] if "--precision" in extra else None
    path = os.path.join(data, case["model"])
    m = lstmcl.load(path, prefix=prefix, device=device, batch_first="--batch-first" in extra,
                    precision=precision)
    assert m.precision == (precision or "fp32")
    x = inputs["--input"]
    T = max(x.shape[:2])
    if isinstance(m, lstmcl.Model):
        y, (hn, cn) = m(x, inputs.get("--h0"), inputs.get("--c0"),
                        lengths=inputs.get("--seq-lens"))
        got = {"--output": y, "--hn": hn, "--cn": cn}
        D = 2 if m.bidirectional else 1
        tol = helpers.tolerance(m.input_size, m.hidden_size, m.proj_size, m.num_layers, D, T)
    else:
        named = {}
        for opt, a in inputs.items():
            port = [p for p in m.inputs if p.role == ROLE_OF_OPTION[opt]]
            assert len(port) == 1, "the graph has an input for %s" % opt
            named[port[0].name] = a
        res = m.run(named)
        got = {}
        for opt in expect:
            port = [p for p in m.outputs if p.role == OUTPUT_OF_OPTION[opt]]
            got[opt] = res[port[0].name]
        tol = graph_tolerance(helpers, m, T)
        # onnxruntime runs layout 0 only, and refuses weights of another
        # type than X (the files that test lstmcl's conversions): those are
        # checked against the outputs recorded for them.
        names, ort_out = [], []
        if all(n.layout == 0 for n in m.lstms) and precision is None:
            with open(path, "rb") as f:
                model_bytes = f.read()
            try:
                names, ort_out = ort_run(model_bytes, named)
            except Exception as e:  # onnxruntime's own exception types vary
                assert "bound to different types" in str(e), e
        for name, o in zip(names, ort_out):
            helpers.assert_close(res[name], o, tol, "%s %s vs onnxruntime" % (case["name"], name))
    for opt, want in expect.items():
        if precision:
            helpers.assert_contract(got[opt], want, precision, "%s %s" % (case["name"], opt))
        else:
            helpers.assert_close(got[opt], want, tol, "%s %s" % (case["name"], opt))
    if isinstance(m, lstmcl.Graph):
        m.close()


def save_safetensors(module, path, prefix=""):
    st = pytest.importorskip("safetensors.torch")
    st.save_file({prefix + k: v.contiguous() for k, v in module.state_dict().items()}, path)


def test_safetensors_state_dict(helpers, device, tmp_path):
    """A state_dict written by safetensors.torch.save_file runs as the module."""
    torch.manual_seed(31)
    module = torch.nn.LSTM(6, 10, num_layers=2, bidirectional=True, proj_size=4,
                           batch_first=True).eval()
    path = str(tmp_path / "lstm.safetensors")
    save_safetensors(module, path, "encoder.rnn.")
    model = lstmcl.load(path, device=device, batch_first=True)
    assert isinstance(model, lstmcl.Model) and model.proj_size == 4 and model.bidirectional
    x = torch.from_numpy(np.random.default_rng(31).uniform(-1, 1, (3, 7, 6)).astype(np.float32))
    want = helpers.torch_lstm(module, x, lengths=[7, 2, 5])
    y, (hn, cn) = model(x, lengths=torch.tensor([7, 2, 5]))
    tol = helpers.tolerance(6, 10, 4, 2, 2, 7)
    for name, got, ref in zip(("y", "hn", "cn"), (y, hn, cn), want):
        helpers.assert_close(got.numpy(), ref.numpy(), tol, name)
    # The same file's bytes.
    with open(path, "rb") as f:
        again = lstmcl.load(f.read(), device=device, batch_first=True)
    helpers.assert_close(again(x, lengths=[7, 2, 5])[0].numpy(), want[0].numpy(), tol, "bytes")


def export(module, x, h0=None, c0=None, dynamic=True, opset=14):
    names = ["x"] + (["h0", "c0"] if h0 is not None else [])
    args = (x,) if h0 is None else (x, (h0, c0))
    axes = None
    if dynamic:
        b, t = (0, 1) if module.batch_first else (1, 0)
        axes = {"x": {b: "batch", t: "steps"}, "y": {b: "batch", t: "steps"}}
        if h0 is not None:
            axes.update({"h0": {1: "batch"}, "c0": {1: "batch"}})
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buf, input_names=names, output_names=["y", "hn", "cn"],
                          dynamic_axes=axes, opset_version=opset)
    return buf.getvalue()


EXPORTS = [
    pytest.param((5, 8, {"num_layers": 2, "bidirectional": True}, True, True, 14), id="2bi-h0"),
    pytest.param((4, 6, {"batch_first": True}, False, False, 11), id="bf-static",
                 marks=pytest.mark.full),
    pytest.param((3, 7, {"num_layers": 3, "batch_first": True, "bias": False}, True, True, 9),
                 id="3-nobias-h0", marks=pytest.mark.full),
    pytest.param((6, 5, {"bidirectional": True}, False, True, 17), id="bi-opset17",
                 marks=pytest.mark.full),
]


@pytest.mark.parametrize("spec", EXPORTS)
def test_torch_onnx_export(helpers, device, spec):
    """torch.onnx.export's graph: onnxruntime's outputs, with the graph's
    own names and shapes; dynamic axes take another batch and length."""
    I, H, opts, with_state, dynamic, opset = spec
    torch.manual_seed(37)
    module = torch.nn.LSTM(I, H, **opts).eval()
    L, D = module.num_layers, 2 if module.bidirectional else 1
    rng = np.random.default_rng(37)

    def inputs(T, N):
        x = rng.uniform(-1, 1, (N, T, I) if module.batch_first else (T, N, I))
        h0 = rng.uniform(-1, 1, (L * D, N, H)) if with_state else None
        c0 = rng.uniform(-1, 1, (L * D, N, H)) if with_state else None
        return [None if a is None else a.astype(np.float32) for a in (x, h0, c0)]

    x, h0, c0 = inputs(6, 3)
    model_bytes = export(module, *[None if a is None else torch.from_numpy(a)
                                   for a in (x, h0, c0)], dynamic=dynamic, opset=opset)
    graph = lstmcl.load(model_bytes, device=device)
    assert isinstance(graph, lstmcl.Graph) and graph.producer == "pytorch"
    assert [p.name for p in graph.inputs] == ["x"] + (["h0", "c0"] if with_state else [])
    assert [p.role for p in graph.inputs][:1] == ["X"]
    assert [p.name for p in graph.outputs] == ["y", "hn", "cn"]
    assert [p.role for p in graph.outputs] == ["Y", "Y_h", "Y_c"]
    if dynamic:
        assert None in graph.inputs[0].shape
    else:
        assert graph.inputs[0].shape == x.shape
    shapes = [(6, 3)] + ([(9, 2)] if dynamic else [])
    for T, N in shapes:
        if (T, N) != (6, 3):
            x, h0, c0 = inputs(T, N)
        feeds = {"x": x, "h0": h0, "c0": c0} if with_state else {"x": x}
        names, want = ort_run(model_bytes, feeds)
        got = graph(*[a for a in (x, h0, c0) if a is not None])
        tol = helpers.tolerance(I, H, 0, L, D, T)
        for name, g, w in zip(names, got, want):
            helpers.assert_close(g, w, tol, "%s (T=%d, N=%d)" % (name, T, N))
        # torch tensors in, torch tensors out; and the module's own result.
        tx = torch.from_numpy(x)
        got_t = graph(tx, *([torch.from_numpy(h0), torch.from_numpy(c0)] if with_state else []))
        assert all(isinstance(g, torch.Tensor) for g in got_t)
        ref = helpers.torch_lstm(module, tx, *([torch.from_numpy(h0), torch.from_numpy(c0)]
                                               if with_state else []))
        helpers.assert_close(got_t[0].numpy(), ref[0].numpy(), tol, "y vs torch")
    graph.close()


def lstm_node_models(I, H, direction, attrs, with_peep, with_bias, layout, T, N, seed,
                     with_lens=False, with_state=False):
    """A one-node ONNX LSTM (onnx.helper) of the given layout and inputs for
    it; and the same node with layout 0, its inputs, and the map from its
    outputs to the first one's (onnxruntime runs layout 0 only)."""
    rng = np.random.default_rng(seed)
    D = 2 if direction == "bidirectional" else 1
    init = [numpy_helper.from_array(rng.uniform(-0.5, 0.5, (D, 4 * H, I)).astype(np.float32),
                                    "W"),
            numpy_helper.from_array(rng.uniform(-0.5, 0.5, (D, 4 * H, H)).astype(np.float32),
                                    "R")]
    ins = ["X", "W", "R", "", "", "", "", ""]
    if with_bias:
        init.append(numpy_helper.from_array(rng.uniform(-0.5, 0.5, (D, 8 * H))
                                            .astype(np.float32), "B"))
        ins[3] = "B"
    if with_peep:
        init.append(numpy_helper.from_array(rng.uniform(-0.5, 0.5, (D, 3 * H))
                                            .astype(np.float32), "P"))
        ins[7] = "P"
    feeds0 = {"X": rng.uniform(-1, 1, (T, N, I)).astype(np.float32)}
    if with_lens:
        ins[4] = "sequence_lens"
        feeds0["sequence_lens"] = rng.integers(1, T + 1, N).astype(np.int32)
    if with_state:
        ins[5], ins[6] = "initial_h", "initial_c"
        for name in ("initial_h", "initial_c"):
            feeds0[name] = rng.uniform(-1, 1, (D, N, H)).astype(np.float32)
    while ins and ins[-1] == "":
        ins.pop()

    def build(lay):
        inputs = []
        for name in ("X", "sequence_lens", "initial_h", "initial_c"):
            if name not in feeds0:
                continue
            shape = {"X": ["n", "t", I] if lay else ["t", "n", I], "sequence_lens": ["n"],
                     "initial_h": [N, D, H] if lay else [D, N, H]}.get(name)
            shape = shape or ([N, D, H] if lay else [D, N, H])
            inputs.append(helper.make_tensor_value_info(
                name, TensorProto.INT32 if name == "sequence_lens" else TensorProto.FLOAT,
                shape))
        node = helper.make_node("LSTM", ins, ["Y", "Y_h", "Y_c"], name="lstm", hidden_size=H,
                                direction=direction, layout=lay, **attrs)
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
                for n in ("Y", "Y_h", "Y_c")]
        g = helper.make_graph([node], "g", inputs, outs, initializer=init)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)],
                                  producer_name="lstmcl-tests")
        model.ir_version = 7
        return model.SerializeToString()

    feeds = dict(feeds0)
    if layout:
        feeds["X"] = feeds0["X"].transpose(1, 0, 2)
        for name in ("initial_h", "initial_c"):
            if name in feeds0:
                feeds[name] = feeds0[name].transpose(1, 0, 2)

    def from0(name, a):
        if not layout:
            return a
        return a.transpose(2, 0, 1, 3) if name == "Y" else a.transpose(1, 0, 2)

    return build(layout), feeds, build(0), feeds0, from0


NODES = [
    pytest.param(dict(I=5, H=6, direction="forward",
                      attrs={"activations": ["HardSigmoid", "Tanh", "Softsign"],
                             "activation_alpha": [0.3], "activation_beta": [0.45]},
                      with_peep=True, with_bias=True, layout=0, with_lens=True,
                      with_state=True), id="peep-acts-lens"),
    pytest.param(dict(I=4, H=7, direction="bidirectional", attrs={"clip": 1.5},
                      with_peep=False, with_bias=True, layout=1, with_state=True),
                 id="bidir-clip-layout1"),
    pytest.param(dict(I=3, H=5, direction="reverse", attrs={"input_forget": 1},
                      with_peep=True, with_bias=False, layout=0, with_lens=True),
                 id="reverse-input-forget", marks=pytest.mark.full),
    pytest.param(dict(I=6, H=4, direction="bidirectional",
                      attrs={"activations": ["Sigmoid", "LeakyRelu", "Tanh",
                                             "Sigmoid", "Elu", "Softplus"],
                             "activation_alpha": [0.05, 0.9]},
                      with_peep=True, with_bias=True, layout=1, with_lens=True),
                 id="bidir-acts-layout1", marks=pytest.mark.full),
]


@pytest.mark.parametrize("spec", NODES)
def test_single_node(helpers, device, spec):
    """One LSTM node with ONNX's options: onnxruntime's outputs."""
    T, N = 7, 3
    model_bytes, feeds, model0, feeds0, from0 = lstm_node_models(T=T, N=N, seed=41, **spec)
    names, want0 = ort_run(model0, feeds0)
    want = [from0(n, w) for n, w in zip(names, want0)]
    with lstmcl.load(model_bytes, device=device, format="onnx") as graph:
        assert graph.lstm_count == 1 and graph.producer == "lstmcl-tests"
        assert graph.inputs[0].shape == (None, None, spec["I"])
        got = graph.run(feeds)
    tol = helpers.tolerance(spec["I"], spec["H"], 0, 1, 2, T)
    for name, w in zip(names, want):
        helpers.assert_close(got[name], w, tol, name)
