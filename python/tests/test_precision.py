"""Reduced precisions (precision="fp16", "bf16", "int8") against
torch.nn.LSTM in float32, on every device.

The accuracy contract of lstmcl.h (lstmcl_precision): per output (y, hn,
cn), max |lstmcl - torch float32| / max(max |torch float32|, 1) is at most
1e-2 for fp16, 3e-2 for bf16 and 5e-2 for int8, for weights scaled as
trained models' are (nn.LSTM's own initialisation here).

Fast tier: one module with every structural option per precision, a
.half() module, the names and refusals. Full tier: random modules, a
.bfloat16() module, files.
"""
import random

import numpy as np
import pytest
import torch

import lstmcl

REDUCED = ("fp16", "bf16", "int8")
# The fast tier's models all have this shape (2 layers, bidirectional,
# projected), so that a cold kernel cache builds one program per precision.
FAST = (9, 24, {"num_layers": 2, "bidirectional": True, "proj_size": 10})


def make_module(I, H, opts, seed):
    torch.manual_seed(seed)
    return torch.nn.LSTM(I, H, **opts).eval()


def inputs(module, T, N, seed, with_state=True):
    rng = np.random.default_rng(seed)
    D = 2 if module.bidirectional else 1
    L, H, Hout = module.num_layers, module.hidden_size, module.proj_size or module.hidden_size
    x = rng.uniform(-1, 1, (N, T, module.input_size) if module.batch_first
                    else (T, N, module.input_size)).astype(np.float32)
    if not with_state:
        return x, None, None
    return (x, rng.uniform(-1, 1, (L * D, N, Hout)).astype(np.float32),
            rng.uniform(-1, 1, (L * D, N, H)).astype(np.float32))


def check_precision(helpers, device, module, precision, T, N, seed, lengths=None,
                    reference=None):
    """lstmcl's run of module in `precision` against `reference` (default:
    the module itself) run by torch in float32."""
    x, h0, c0 = inputs(module, T, N, seed)
    want = helpers.torch_lstm(reference or module, torch.from_numpy(x), torch.from_numpy(h0),
                              torch.from_numpy(c0), lengths)
    with lstmcl.Model.from_torch(module, device=device, precision=precision) as model:
        assert model.precision == precision
        y, (hn, cn) = model(x, h0, c0, lengths=lengths)
        devs = [helpers.assert_contract(got, ref.numpy(), precision, "%s %s" % (precision, name))
                for name, got, ref in (("y", y, want[0]), ("hn", hn, want[1]),
                                       ("cn", cn, want[2]))]
    print("%s %r: deviations y %.3g, hn %.3g, cn %.3g" % (precision, module, *devs))
    return devs


@pytest.mark.parametrize("precision", REDUCED)
def test_precision_contract(helpers, device, precision):
    """2 layers, bidirectional, projected: every output within the contract."""
    module = make_module(*FAST, 41)
    check_precision(helpers, device, module, precision, T=10, N=3, seed=41)


def test_half_module(helpers, device):
    """A .half() module runs in fp16 on its own weights, exactly: its
    float32 run on the same half values is the reference."""
    module = make_module(*FAST, 43)
    half = make_module(*FAST, 43).half()
    module.load_state_dict({k: v.float() for k, v in half.state_dict().items()})
    check_precision(helpers, device, half, "fp16", T=9, N=2, seed=43, reference=module)


def test_half_weights_handed_over_as_stored():
    """float16 and bfloat16 parameters reach the library as their bits
    (no float32 copy on the way); other dtypes as float32."""
    from lstmcl import _arrays
    t = torch.randn(6, 5)
    for dtype, kind in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
        a, got = _arrays.weight_array(t.to(dtype).t(), "w")  # a transposed view too
        assert got == kind and a.dtype == np.uint16 and a.flags.c_contiguous
        assert np.array_equal(a, t.to(dtype).t().contiguous().view(torch.int16).numpy()
                              .view(np.uint16))
    a, got = _arrays.weight_array(t.double(), "w")
    assert got == "f32" and a.dtype == np.float32 and np.array_equal(a, t.numpy())


def test_names_and_properties(device):
    module = make_module(*FAST, 47)
    sizes = {}
    for name in (None, "fp32") + REDUCED:
        with lstmcl.Model.from_torch(module, device=device, precision=name) as m:
            assert m.precision == (name or "fp32")
            assert (m.device_bytes == 0) == m.is_reference
            sizes[m.precision] = m.device_bytes
            if name not in (None, "fp32"):
                assert name in repr(m)
    if sizes["fp32"]:
        # Weights of 2 bytes, then 1 byte and a scale per row.
        assert sizes["int8"] < sizes["fp16"] == sizes["bf16"] < sizes["fp32"]
    with pytest.raises(lstmcl.InvalidArgumentError,
                       match='precision "half" is not one of fp32, fp16, bf16, int8') as e:
        lstmcl.Model.from_torch(module, device=device, precision="half")
    assert isinstance(e.value, ValueError)
    with pytest.raises(TypeError, match="precision must be None or a name"):
        lstmcl.Model.from_torch(module, device=device, precision=torch.float16)


def test_fp16_overflow(device):
    module = make_module(*FAST, 59)
    with torch.no_grad():
        module.weight_ih_l1_reverse[5, 2] = 1e5  # (96, 20)
    with pytest.raises(lstmcl.InvalidArgumentError,
                       match=r"layer 1 direction 1: PyTorch weight_ih element 102 \(row 5, "
                             r"column 2\) = 100000 overflows fp16"):
        lstmcl.Model.from_torch(module, device=device, precision="fp16")
    for name in ("bf16", "int8"):
        lstmcl.Model.from_torch(module, device=device, precision=name).close()


@pytest.mark.parametrize("precision", ("fp32",) + REDUCED)
def test_against_reference_within_allowance(device, precision):
    """The device against the CPU reference of the same model: float32
    summation order plus lstmcl.reference_allowance(precision), the
    allowance for an h stored in half or bfloat16 that rounds to its other
    neighbour (4 * 2**-11 for fp16, 4 * 2**-8 for bf16, 0 otherwise)."""
    expected = {"fp32": 0.0, "fp16": 4 * 2.0 ** -11, "bf16": 4 * 2.0 ** -8, "int8": 0.0}
    assert lstmcl.reference_allowance(precision) == expected[precision]
    module = make_module(*FAST, 59)
    x, h0, c0 = inputs(module, 12, 3, 59)
    with lstmcl.Model.from_torch(module, device=device, precision=precision) as model:
        got = model(x, h0, c0)
        want = model(x, h0, c0, reference=True)
    tol = 1e-5 + lstmcl.reference_allowance(precision)
    for g, w in zip((got[0],) + got[1], (want[0],) + want[1]):
        assert np.max(np.abs(g - w)) <= tol * max(1.0, float(np.max(np.abs(w))))


def test_reference_allowance_names():
    assert lstmcl.reference_allowance(None) == 0.0
    with pytest.raises(lstmcl.InvalidArgumentError, match="precision .fp8. is not one of"):
        lstmcl.reference_allowance("fp8")


def test_gemm_refuses_reduced_precision(device):
    if device == "cpu":
        pytest.skip("the reference path runs no algorithm")
    module = make_module(*FAST, 61)
    for name in REDUCED:
        with pytest.raises(lstmcl.UnsupportedError,
                           match="precision %s: the gemm algorithm .CLBlast's SGEMM. runs fp32 "
                                 "weights only" % name):
            lstmcl.Model.from_torch(module, device=device, precision=name, algorithm="gemm")


def test_load_half_checkpoint(helpers, device, tmp_path):
    """An fp16 state_dict saved by safetensors, loaded with precision="fp16"."""
    st = pytest.importorskip("safetensors.torch")
    half = make_module(*FAST, 67).half()
    path = str(tmp_path / "half.safetensors")
    st.save_file({k: v.contiguous() for k, v in half.state_dict().items()}, path)
    ref = make_module(*FAST, 67)
    ref.load_state_dict({k: v.float() for k, v in half.state_dict().items()})
    x, h0, c0 = inputs(ref, 7, 3, 67)
    want = helpers.torch_lstm(ref, torch.from_numpy(x), torch.from_numpy(h0),
                              torch.from_numpy(c0))
    with lstmcl.load(path, device=device, precision="fp16") as model:
        assert model.precision == "fp16"
        y, (hn, cn) = model(x, h0, c0)
    for name, got, w in zip(("y", "hn", "cn"), (y, hn, cn), want):
        helpers.assert_contract(got, w.numpy(), "fp16", name)
    # fp32 on the half checkpoint: the exact half values, float32's tolerance.
    with lstmcl.load(path, device=device) as model:
        y, _ = model(x, h0, c0)
    helpers.assert_close(y, want[0].numpy(), helpers.tolerance(9, 24, 10, 2, 2, 7), "fp32 y")


# ---------------------------------------------------------------------------
# Full tier

def random_cases(count, seed):
    r = random.Random(seed)
    cases = []
    for k in range(count):
        H = r.choice([8, 17, 33, 64])
        opts = {"num_layers": r.choice([1, 2, 3]), "bidirectional": r.random() < 0.5,
                "batch_first": r.random() < 0.5, "bias": r.random() < 0.8}
        if r.random() < 0.4:
            opts["proj_size"] = r.randrange(1, H)
        cases.append((r.choice(REDUCED), r.choice([1, 7, 17, 40]), H, opts, r.randrange(1, 30),
                      r.randrange(1, 6), r.random() < 0.5, seed * 100 + k))
    return cases


@pytest.mark.full
@pytest.mark.parametrize("case", random_cases(12, 2031),
                         ids=lambda c: "%s-seed%d" % (c[0], c[-1]))
def test_random_modules(helpers, device, case):
    precision, I, H, opts, T, N, with_lengths, seed = case
    module = make_module(I, H, opts, seed)
    lengths = None
    if with_lengths and N > 1:
        lengths = np.random.default_rng(seed).integers(1, T + 1, N)
        lengths[0] = T  # pad_packed_sequence pads to the longest
    check_precision(helpers, device, module, precision, T, N, seed, lengths)


@pytest.mark.full
def test_bfloat16_module(helpers, device):
    """A .bfloat16() module in bf16 against its float32 run."""
    module = make_module(10, 16, {"proj_size": 6, "bidirectional": True}, 71)
    bf = make_module(10, 16, {"proj_size": 6, "bidirectional": True}, 71).bfloat16()
    module.load_state_dict({k: v.float() for k, v in bf.state_dict().items()})
    check_precision(helpers, device, bf, "bf16", T=8, N=3, seed=71, reference=module)


@pytest.mark.full
@pytest.mark.parametrize("precision", REDUCED)
def test_long_sequence(helpers, device, precision):
    """300 steps: the rounding of h does not accumulate past the contract."""
    module = make_module(16, 32, {"num_layers": 2}, 73)
    check_precision(helpers, device, module, precision, T=300, N=2, seed=73)


@pytest.mark.full
def test_onnx_graph_precision(helpers, device):
    """Every LSTM node of an exported graph takes the precision."""
    data = helpers.cli_data
    graph = lstmcl.load(data + "/tx_2bi_init.onnx", device=device, precision="bf16")
    try:
        assert graph.precision == "bf16" and graph.lstm_count == 2
        assert (graph.device_bytes == 0) == graph.is_reference
        x, h0, c0 = (np.load(data + "/tx_2bi_init_%s.npy" % s) for s in ("x", "h0", "c0"))
        got = graph(x, h0, c0)
        for name, g in zip(("y", "hn", "cn"), got):
            helpers.assert_contract(g, np.load(data + "/tx_2bi_init_%s.npy" % name), "bf16",
                                    name)
    finally:
        graph.close()
