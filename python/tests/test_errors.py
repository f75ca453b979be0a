"""Error cases: wrong shapes, dtypes, devices, files and arguments. Each
raises a Python exception, the library's message where the library found
the fault."""
import os

import numpy as np
import pytest
import torch

import lstmcl


@pytest.fixture
def model(device):
    torch.manual_seed(3)
    with lstmcl.Model.from_torch(torch.nn.LSTM(4, 6, 2), device=device) as m:
        yield m


def x_of(*shape, dtype=np.float32):
    return np.random.default_rng(3).uniform(-1, 1, shape).astype(dtype)


def test_shapes(model):
    with pytest.raises(ValueError, match=r"x: shape \(5, 2, 3\), but the model takes "
                                         r"\(T, N, 4\)"):
        model(x_of(5, 2, 3))
    with pytest.raises(ValueError, match="x: shape"):
        model(x_of(5, 2, 4, 1))
    with pytest.raises(ValueError, match="no steps"):
        model(x_of(0, 2, 4))
    with pytest.raises(ValueError, match=r"h0: shape \(2, 3, 6\), expected \(2, 2, 6\)"):
        model(x_of(5, 2, 4), x_of(2, 3, 6))
    with pytest.raises(ValueError, match=r"c0: shape"):
        model(x_of(5, 2, 4), None, x_of(2, 2, 5))
    with pytest.raises(ValueError, match=r"lengths: shape \(3,\), expected \(2,\)"):
        model(x_of(5, 2, 4), lengths=[5, 5, 5])
    with pytest.raises(ValueError, match="unbatched"):
        model(x_of(5, 4), lengths=[5])


def test_lengths_out_of_range_carry_the_library_message(model):
    for bad in ([5, 6], [0, 5], [-3, 2], [2**40, 1]):
        with pytest.raises(lstmcl.InvalidArgumentError, match=r"seq_lens\[\d\] = -?\d+ is "
                                                               r"outside 1\.\.5") as e:
            model(x_of(5, 2, 4), lengths=bad)
        assert e.value.status == 1  # LSTMCL_ERROR_INVALID_ARGUMENT
        assert isinstance(e.value, ValueError)


def test_dtypes(model):
    for bad in (np.ones((5, 2, 4), np.int32), np.ones((5, 2, 4), bool),
                np.ones((5, 2, 4), np.complex64), torch.ones(5, 2, 4, dtype=torch.int64),
                torch.ones(5, 2, 4, dtype=torch.complex64), [["a"]]):
        with pytest.raises(TypeError, match="x: dtype"):
            model(bad)
    with pytest.raises(TypeError, match="h0: dtype"):
        model(x_of(5, 2, 4), np.zeros((2, 2, 6), np.int64))
    with pytest.raises(TypeError, match="lengths: dtype float"):
        model(x_of(5, 2, 4), lengths=np.array([5.0, 2.0]))
    with pytest.raises(TypeError, match="lengths: dtype"):
        model(x_of(5, 2, 4), lengths=torch.tensor([True, True]))


def test_tensor_devices(model):
    meta = torch.empty(5, 2, 4, device="meta")
    with pytest.raises(ValueError, match="a tensor on meta; lstmcl reads CPU tensors"):
        model(meta)
    with pytest.raises(TypeError, match="sparse"):
        model(torch.zeros(5, 2, 4).to_sparse())


def test_devices():
    found = lstmcl.devices()
    assert all(isinstance(d, lstmcl.Device) and d.type in ("CPU", "GPU", "accelerator", "other")
               for d in found)
    assert [d.index for d in found] == list(range(len(found)))
    module = torch.nn.LSTM(3, 4)
    with pytest.raises(lstmcl.NoDeviceError, match="99"):
        lstmcl.Model.from_torch(module, device=99)
    with pytest.raises(lstmcl.NoDeviceError, match="no-such-device"):
        lstmcl.Model.from_torch(module, device="no-such-device")
    with pytest.raises(ValueError, match="negative"):
        lstmcl.Model.from_torch(module, device=-1)
    with pytest.raises(TypeError, match="device must be"):
        lstmcl.Model.from_torch(module, device=1.5)
    ref = lstmcl.Model.from_torch(module, device="cpu")
    assert ref.is_reference and ref.device is None and ref.algorithm() == "reference"
    if found:
        m = lstmcl.Model.from_torch(module, device=found[-1])
        assert m.device == found[-1]


def test_device_from_environment(monkeypatch):
    monkeypatch.setenv("LSTMCL_DEVICE", "no-such-device")
    with pytest.raises(lstmcl.ConfigError, match='LSTMCL_DEVICE="no-such-device"') as e:
        lstmcl.Model.from_torch(torch.nn.LSTM(3, 4))
    assert isinstance(e.value, ValueError)


def test_arguments():
    with pytest.raises(TypeError, match="torch.nn.LSTM, not GRU"):
        lstmcl.Model.from_torch(torch.nn.GRU(3, 4))
    with pytest.raises(lstmcl.InvalidArgumentError,
                       match='precision "fp8" is not one of fp32, fp16, bf16, int8'):
        lstmcl.Model.from_torch(torch.nn.LSTM(3, 4), precision="fp8")
    with pytest.raises(lstmcl.InvalidArgumentError, match='algorithm "fastest" is not one of '
                                                          'auto, gemm'):
        lstmcl.Model.from_torch(torch.nn.LSTM(3, 4), algorithm="fastest")
    with pytest.raises(TypeError, match="lstmcl.Model.from_torch"):
        lstmcl.Model()
    m = lstmcl.Model.from_torch(torch.nn.LSTM(3, 4), device="cpu", precision="fp32")
    m.close()
    with pytest.raises(ValueError, match="closed"):
        m(x_of(2, 1, 3))


def test_nonfinite_weights(device):
    module = torch.nn.LSTM(3, 4, 2)
    with torch.no_grad():
        module.weight_hh_l1[2, 1] = float("nan")
    with pytest.raises(lstmcl.InvalidArgumentError,
                       match=r"layer 1 direction 0: PyTorch weight_hh element 9 .row 2, "
                             r"column 1. is NaN"):
        lstmcl.Model.from_torch(module, device=device)


def test_sessions(device):
    with pytest.raises(lstmcl.UnsupportedError, match="bidirectional"):
        lstmcl.Model.from_torch(torch.nn.LSTM(3, 4, bidirectional=True),
                                device=device).session(2, 2)
    m = lstmcl.Model.from_torch(torch.nn.LSTM(3, 4), device=device)
    s = m.session(4, 3)
    with pytest.raises(ValueError, match="1 to max_chunk = 3"):
        s.run(x_of(4, 2, 3), [0, 1])
    with pytest.raises(ValueError, match=r"expected \(seq_len, 2, 3\)"):
        s.run(x_of(2, 3, 3), [0, 1])
    with pytest.raises(ValueError, match="every slot must be in 0..3"):
        s.run(x_of(2, 2, 3), [0, 4])
    with pytest.raises(lstmcl.InvalidArgumentError, match="repeated|twice|distinct"):
        s.run(x_of(2, 2, 3), [1, 1])
    with pytest.raises(ValueError, match="steps"):
        s.run(x_of(2, 2, 3), [0, 1], steps=[3, 1])
    with pytest.raises(ValueError, match=r"h0: shape"):
        s.reset([0], h0=x_of(1, 2, 4))
    m.close()
    with pytest.raises(ValueError, match="closed"):
        s.run(x_of(2, 2, 3), [0, 1])


def test_files(helpers, tmp_path):
    data = helpers.cli_data
    with pytest.raises(FileNotFoundError):
        lstmcl.load(str(tmp_path / "missing.onnx"))
    npy = os.path.join(data, "st_basic_x.npy")
    with pytest.raises(lstmcl.InvalidArgumentError,
                       match="st_basic_x.npy: a NumPy .npy array, not a model") as e:
        lstmcl.load(npy)
    assert str(e.value).startswith(npy)
    two = os.path.join(data, "st_two.safetensors")
    with pytest.raises(lstmcl.InvalidArgumentError,
                       match="2 LSTMs in the file .* choose one with the prefix argument of "
                             "lstmcl.load"):
        lstmcl.load(two, device="cpu")
    assert lstmcl.load(two, prefix="enc.lstm.", device="cpu").hidden_size == 4
    onnx_file = os.path.join(data, "ox_fwd_lens.onnx")
    with pytest.raises(lstmcl.InvalidArgumentError, match="applies to safetensors files only"):
        lstmcl.load(onnx_file, prefix="x.")
    with pytest.raises(ValueError, match="batch_first applies to safetensors"):
        lstmcl.load(onnx_file, batch_first=True)
    with pytest.raises(ValueError, match="format must be"):
        lstmcl.load(onnx_file, format="keras")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07" + b"\xff" * 20)
    with pytest.raises(lstmcl.InvalidArgumentError, match="bad.onnx: "):
        lstmcl.load(str(bad))
    with pytest.raises(lstmcl.InvalidArgumentError, match="<memory>: the file is empty"):
        lstmcl.load(b"")


def test_graph_inputs(helpers, device):
    data = helpers.cli_data
    # torch.onnx.export without dynamic axes: batch 2, 5 steps, 4 features.
    with lstmcl.load(os.path.join(data, "tx_1_bf_zero.onnx"), device=device) as g:
        x = g.inputs[0]
        assert x.role == "X" and x.shape == (2, 5, 4)
        with pytest.raises(lstmcl.InvalidArgumentError,
                           match=r"fixed batch of 2 \(torch.onnx.export without dynamic_axes\); "
                                 r"the array for '%s' has batch 3" % x.name) as e:
            g(x_of(3, 5, 4))
        assert str(e.value).startswith(os.path.join(data, "tx_1_bf_zero.onnx"))
        with pytest.raises(TypeError, match="the graph has no input 'nope'"):
            g(nope=x_of(2, 5, 4))
        with pytest.raises(TypeError, match="2 inputs given, the graph has 1"):
            g(x_of(2, 5, 4), x_of(2, 5, 4))
        with pytest.raises(TypeError, match="dtype int"):
            g(np.ones((2, 5, 4), np.int64))
        with pytest.raises(lstmcl.InvalidArgumentError, match="needs the array for"):
            g()
    # A single node that fixes X's shape: an input of another size is the
    # input's fault, named by its label.
    with lstmcl.load(os.path.join(data, "ox_fwd_lens.onnx"), device=device) as g:
        with pytest.raises(lstmcl.InvalidArgumentError,
                           match=r"graph input 'X' has the fixed shape \(6, 3, 5\); the array "
                                 r"for 'X' has shape \(6, 3, 4\)"):
            g(x_of(6, 3, 4))
        lens = [p.name for p in g.inputs if p.role == "sequence_lens"][0]
        with pytest.raises(TypeError, match="integers expected"):
            g.run({"X": x_of(6, 3, 5), lens: np.array([1.0, 2.0, 3.0])})
        with pytest.raises(lstmcl.InvalidArgumentError, match="outside 1..6"):
            g.run({"X": x_of(6, 3, 5), lens: np.array([1, 7, 3])})
