"""lstmcl.Model against torch.nn.LSTM, on every device.

Fast tier: a few modules that between them use every nn.LSTM option
(num_layers, bidirectional, proj_size, batch_first, bias=False) and every
call option (h0/c0, lengths, unbatched input, NumPy and torch arrays,
dtype conversion, strides). Full tier: random modules over every
combination, odd sizes, long sequences.
"""
import random

import numpy as np
import pytest
import torch

import lstmcl

# (input_size, hidden_size, options): together every constructor option.
FAST_MODULES = [
    (5, 7, {}),
    (6, 9, {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    (4, 10, {"num_layers": 3, "proj_size": 3, "bias": False}),
    (3, 8, {"bidirectional": True, "proj_size": 5, "batch_first": True, "bias": False}),
]


def make_module(I, H, opts, seed):
    torch.manual_seed(seed)
    return torch.nn.LSTM(I, H, **opts).eval()


def sizes(m):
    D = 2 if m.bidirectional else 1
    return m.num_layers, D, m.hidden_size, (m.proj_size or m.hidden_size)


def run_case(helpers, device, module, T, N, with_state, with_lengths, as_torch, seed):
    """Runs module through lstmcl and through torch; compares y, hn, cn."""
    rng = np.random.default_rng(seed)
    L, D, H, Hout = sizes(module)
    I = module.input_size
    shape = (N, T, I) if module.batch_first else (T, N, I)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    h0 = rng.uniform(-1, 1, (L * D, N, Hout)).astype(np.float32) if with_state else None
    c0 = rng.uniform(-1, 1, (L * D, N, H)).astype(np.float32) if with_state else None
    lengths = rng.integers(1, T + 1, N) if with_lengths else None
    if with_lengths:
        lengths[0] = T  # pad_packed_sequence pads to the longest
    want = helpers.torch_lstm(module, torch.from_numpy(x),
                              None if h0 is None else torch.from_numpy(h0),
                              None if c0 is None else torch.from_numpy(c0), lengths)
    model = lstmcl.Model.from_torch(module, device=device)
    conv = torch.from_numpy if as_torch else (lambda a: a)
    y, (hn, cn) = model(conv(x), None if h0 is None else conv(h0),
                        None if c0 is None else conv(c0), lengths=lengths)
    kind = torch.Tensor if as_torch else np.ndarray
    assert isinstance(y, kind) and isinstance(hn, kind) and isinstance(cn, kind)
    tol = helpers.tolerance(I, H, module.proj_size, L, D, T)
    for name, got, ref in (("y", y, want[0]), ("hn", hn, want[1]), ("cn", cn, want[2])):
        got = got.numpy() if as_torch else got
        assert got.dtype == np.float32
        helpers.assert_close(got, ref.numpy(), tol, "%r %s" % (module, name))
    if with_lengths:
        # Steps past a sequence's end are exactly zero.
        yy = y.numpy() if as_torch else y
        for n, ln in enumerate(lengths):
            past = yy[n, ln:] if module.batch_first else yy[ln:, n]
            assert not past.any()
    model.close()


@pytest.mark.parametrize("k", range(len(FAST_MODULES)))
def test_module_options(helpers, device, k):
    I, H, opts = FAST_MODULES[k]
    module = make_module(I, H, opts, 100 + k)
    run_case(helpers, device, module, T=6, N=3, with_state=k % 2 == 0, with_lengths=k % 2 == 1,
             as_torch=k >= 2, seed=k)


def test_attributes(device):
    module = make_module(*FAST_MODULES[3][:2], FAST_MODULES[3][2], 5)
    with lstmcl.Model.from_torch(module, device=device) as model:
        assert (model.input_size, model.hidden_size, model.proj_size, model.num_layers) == \
            (3, 8, 5, 1)
        assert model.bidirectional and model.batch_first and not model.bias
        assert model.parameter_count == sum(p.numel() for p in module.parameters())
        assert model.is_reference == (device == "cpu")
        assert isinstance(model.algorithm(2), str)
        assert "LSTM(3, 8" in repr(model)
    assert "closed" in repr(model)


def test_unbatched_and_tuple_state(helpers, device):
    """A 2-D x is one sequence, as nn.LSTM takes it; (h0, c0) as one tuple."""
    I, H, opts = FAST_MODULES[3]
    module = make_module(I, H, opts, 7)
    rng = np.random.default_rng(7)
    L, D, _, Hout = sizes(module)
    x = torch.from_numpy(rng.uniform(-1, 1, (5, I)).astype(np.float32))
    h0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, Hout)).astype(np.float32))
    c0 = torch.from_numpy(rng.uniform(-1, 1, (L * D, H)).astype(np.float32))
    with torch.no_grad():
        want_y, (want_h, want_c) = module(x, (h0, c0))
    model = lstmcl.Model.from_torch(module, device=device)
    y, (hn, cn) = model(x, (h0, c0))
    tol = helpers.tolerance(I, H, module.proj_size, L, D, 5)
    helpers.assert_close(y.numpy(), want_y.numpy(), tol, "unbatched y")
    helpers.assert_close(hn.numpy(), want_h.numpy(), tol, "unbatched hn")
    helpers.assert_close(cn.numpy(), want_c.numpy(), tol, "unbatched cn")


def test_dtypes_and_strides(helpers, device):
    """float64, float16 and bfloat16 inputs are converted to float32; any
    strides are read; results are float32 of the input's kind."""
    I, H, opts = FAST_MODULES[0]
    module = make_module(I, H, opts, 11)
    model = lstmcl.Model.from_torch(module, device=device)
    rng = np.random.default_rng(11)
    base = rng.uniform(-1, 1, (3, 6, I)).astype(np.float64)  # (N, T, I)
    tol = helpers.tolerance(I, H, 0, 1, 1, 6)
    variants = {
        "float64 numpy, transposed view": base.transpose(1, 0, 2),
        "float16 numpy": base.transpose(1, 0, 2).astype(np.float16),
        "Fortran order": np.asfortranarray(base.transpose(1, 0, 2).astype(np.float32)),
        "every other step": np.repeat(base.transpose(1, 0, 2), 2, axis=0)[::2].astype(
            np.float32),
        "reversed batch": base.transpose(1, 0, 2)[:, ::-1].astype(np.float32),
        "float64 torch, transposed": torch.from_numpy(base).transpose(0, 1),
        "bfloat16 torch": torch.from_numpy(base).transpose(0, 1).to(torch.bfloat16),
        "float16 torch, requires_grad": torch.from_numpy(base).transpose(0, 1).half()
                                        .requires_grad_(),
        "a list of lists": base.transpose(1, 0, 2).tolist(),
    }
    for what, x in variants.items():
        as32 = (x.detach().float().numpy() if isinstance(x, torch.Tensor)
                else np.asarray(x).astype(np.float32))
        want = helpers.torch_lstm(module, torch.from_numpy(np.ascontiguousarray(as32)))
        y, (hn, cn) = model(x)
        expect_kind = torch.Tensor if isinstance(x, torch.Tensor) else np.ndarray
        assert isinstance(y, expect_kind), what
        got = y.numpy() if isinstance(y, torch.Tensor) else y
        assert got.dtype == np.float32, what
        helpers.assert_close(got, want[0].numpy(), tol, what)
        helpers.assert_close(np.asarray(hn), want[1].numpy(), tol, what + " hn")


def test_reference_path_call(helpers, device):
    """reference=True runs lstmcl's CPU reference path: torch's result too."""
    I, H, opts = FAST_MODULES[1]
    module = make_module(I, H, opts, 13)
    x = torch.from_numpy(np.random.default_rng(13).uniform(-1, 1, (2, 4, I)).astype(np.float32))
    want = helpers.torch_lstm(module, x)
    y, _ = lstmcl.Model.from_torch(module, device=device)(x, reference=True)
    helpers.assert_close(y.numpy(), want[0].numpy(), helpers.tolerance(I, H, 0, 2, 2, 4), "y")


# ---------------------------------------------------------------------------
# Full tier

@pytest.mark.full
@pytest.mark.parametrize("algo", ["gemm", "fused-rows", "fused-cols", "persistent"])
def test_algorithms(helpers, device, algo):
    """Every algorithm, forced, computes torch's result."""
    module = make_module(7, 12, {"num_layers": 2}, 17)
    x = np.random.default_rng(17).uniform(-1, 1, (5, 2, 7)).astype(np.float32)
    want = helpers.torch_lstm(module, torch.from_numpy(x))
    y, (hn, cn) = lstmcl.Model.from_torch(module, device=device, algorithm=algo)(x)
    helpers.assert_close(y, want[0].numpy(), helpers.tolerance(7, 12, 0, 2, 1, 5), algo)

def random_cases(count, seed):
    r = random.Random(seed)
    cases = []
    for k in range(count):
        H = r.choice([1, 7, 17, 33])
        opts = {"num_layers": r.choice([1, 2, 3]), "bidirectional": r.random() < 0.5,
                "batch_first": r.random() < 0.5, "bias": r.random() < 0.7}
        if H > 1 and r.random() < 0.4:
            opts["proj_size"] = r.randrange(1, H)
        cases.append((r.choice([1, 7, 17, 33]), H, opts, r.randrange(1, 24), r.randrange(1, 6),
                      r.random() < 0.5, r.random() < 0.5, r.random() < 0.5, seed * 100 + k))
    return cases


@pytest.mark.full
@pytest.mark.parametrize("case", random_cases(16, 2027), ids=lambda c: "seed%d" % c[-1])
def test_random_modules(helpers, device, case):
    I, H, opts, T, N, with_state, with_lengths, as_torch, seed = case
    module = make_module(I, H, opts, seed)
    run_case(helpers, device, module, T, N, with_state, with_lengths and N > 1, as_torch, seed)


@pytest.mark.full
def test_long_sequence(helpers, device):
    """600 steps: errors must not accumulate past the tolerance."""
    module = make_module(16, 32, {"num_layers": 2, "bidirectional": True}, 19)
    run_case(helpers, device, module, T=600, N=2, with_state=True, with_lengths=True,
             as_torch=False, seed=19)


@pytest.mark.full
def test_saturating_inputs(helpers, device):
    """Inputs up to +-100 saturate the gates: finite, and torch's result."""
    module = make_module(9, 17, {"proj_size": 4}, 23)
    x = np.random.default_rng(23).uniform(-100, 100, (8, 3, 9)).astype(np.float32)
    want = helpers.torch_lstm(module, torch.from_numpy(x))
    y, (hn, cn) = lstmcl.Model.from_torch(module, device=device)(x)
    tol = helpers.tolerance(9, 17, 4, 1, 1, 8)
    helpers.assert_close(y, want[0].numpy(), tol, "y")
    helpers.assert_close(cn, want[2].numpy(), tol, "cn")


@pytest.mark.full
def test_trained_dtype_module(helpers, device):
    """A module kept in float64 gives its parameters in float32."""
    module = make_module(5, 6, {"num_layers": 2}, 29).double()
    x = np.random.default_rng(29).uniform(-1, 1, (4, 2, 5))
    with torch.no_grad():
        want = module(torch.from_numpy(x))[0].float().numpy()
    y, _ = lstmcl.Model.from_torch(module, device=device)(x)
    helpers.assert_close(y, want, helpers.tolerance(5, 6, 0, 2, 1, 4) * 4, "y")
