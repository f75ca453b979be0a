"""Shared set-up of the package's tests.

Two tiers: tests marked ``full`` are the second tier (pytest -m full); the
rest are the fast tier (pytest -m "not full"), the one run before every
commit. Device tests run once per OpenCL device found (lstmcl.devices()),
or only on $LSTMCL_DEVICE when it is set; the full tier adds lstmcl's CPU
reference path ("cpu"). Expected values always come from torch.nn.LSTM
or onnxruntime, never from lstmcl.
"""
# lstmcl first: importing it loads the OpenCL drivers before torch's TBB
# would keep Intel's OpenCL CPU runtime from loading (lstmcl/__init__.py).
import lstmcl  # isort: skip

import math
import os
import tempfile
import types

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI_DATA = os.path.join(REPO, "tests", "cli", "data")


def pytest_configure(config):
    # Compiled kernels in pytest's cache (else a temporary directory), not
    # the user's, unless chosen.
    if "LSTMCL_CACHE_DIR" not in os.environ:
        cache = getattr(config, "cache", None)
        os.environ["LSTMCL_CACHE_DIR"] = (str(cache.mkdir("lstmcl-kernel-cache")) if cache
                                          else tempfile.mkdtemp(prefix="lstmcl-kernels-"))


def device_params():
    if os.environ.get("LSTMCL_DEVICE"):
        return [pytest.param(None, id="LSTMCL_DEVICE=" + os.environ["LSTMCL_DEVICE"])]
    found = lstmcl.devices()
    params = [pytest.param(d.index, id="dev%d-%s" % (d.index, d.platform.split()[0]))
              for d in found]
    if not found:
        params.append(pytest.param(None, id="no-device",
                                   marks=pytest.mark.skip(reason="no OpenCL device")))
    params.append(pytest.param("cpu", id="reference", marks=pytest.mark.full))
    return params


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", device_params())


def tolerance(I, H, P=0, L=1, D=1, T=1):
    """The bound of tests/test_device.c, doubled: a gate sums K float32
    products (input, recurrent, projection), errors carried through up to
    T steps of a contracting recurrence; here both sides (lstmcl and the
    framework) round in float32."""
    Hout = P or H
    K = (D * Hout if L > 1 else 0) + I + Hout + (H if P else 0) + 4
    return 6e-7 * K * (1.0 + 0.25 * math.sqrt(T))


def assert_close(got, want, tol, what=""):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, "%s: shape %s, want %s" % (what, got.shape, want.shape)
    assert np.all(np.isfinite(got)), "%s: not finite" % what
    excess = np.abs(got - want) - tol * (1.0 + np.abs(want))
    k = int(np.argmax(excess)) if excess.size else 0
    assert excess.size == 0 or excess.flat[k] <= 0, (
        "%s: element %s is %.9g, want %.9g (tolerance %.3g)"
        % (what, np.unravel_index(k, got.shape), got.flat[k], want.flat[k], tol))


# lstmcl.h's accuracy contract for reduced precisions (lstmcl_precision):
# against the same model in float32, per output,
# max |difference| / max(max |float32 output|, 1).
CONTRACT = {"fp32": None, "fp16": 1e-2, "bf16": 3e-2, "int8": 5e-2}


def contract_deviation(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1.0))


def assert_contract(got, want, precision, what=""):
    """got (a reduced-precision run) within the contract of `precision`
    against want (float32); returns the deviation."""
    got = np.asarray(got)
    assert got.shape == np.shape(want), "%s: shape %s, want %s" % (what, got.shape,
                                                                   np.shape(want))
    assert np.all(np.isfinite(got)), "%s: not finite" % what
    dev = contract_deviation(got, want)
    assert dev <= CONTRACT[precision], ("%s: %s deviates %.3g from float32 (contract %g)"
                                        % (what, precision, dev, CONTRACT[precision]))
    return dev


def torch_lstm_reference(module, x, h0=None, c0=None, lengths=None):
    """nn.LSTM's own result, in eval mode; lengths through packing."""
    import torch
    from torch.nn.utils import rnn

    module = module.eval()
    hx = None if h0 is None else (h0, c0)
    with torch.no_grad():
        if lengths is None:
            y, (hn, cn) = module(x, hx)
        else:
            packed = rnn.pack_padded_sequence(x, torch.as_tensor(lengths), module.batch_first,
                                              enforce_sorted=False)
            yp, (hn, cn) = module(packed, hx)
            y, _ = rnn.pad_packed_sequence(yp, module.batch_first,
                                           total_length=x.shape[1 if module.batch_first else 0])
    return y, hn, cn


@pytest.fixture
def helpers():
    return types.SimpleNamespace(tolerance=tolerance, assert_close=assert_close,
                                 torch_lstm=torch_lstm_reference, cli_data=CLI_DATA,
                                 contract=CONTRACT, assert_contract=assert_contract)
