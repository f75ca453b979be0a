"""lstmcl: LSTM inference on OpenCL devices, with a CPU reference path.

A PyTorch LSTM, run by lstmcl::

    import lstmcl, torch
    lstm = torch.nn.LSTM(40, 256, 2, bidirectional=True)
    model = lstmcl.Model.from_torch(lstm)        # on the default device
    y, (hn, cn) = model(torch.randn(50, 3, 40))  # nn.LSTM's shapes and results

Model files, through the library's loader (the code ``lstmcl run`` uses)::

    model = lstmcl.load("lstm.safetensors")      # an nn.LSTM state_dict: a Model
    graph = lstmcl.load("lstm.onnx")             # ONNX: a Graph, with the
    y, hn, cn = graph(x, h0, c0)                 #   graph's own names and shapes

Reduced precisions: the weights stored on the device as fp16, bf16 or int8
(arithmetic stays float32), within a stated accuracy of the fp32 model
(lstmcl.Model, "Precision"); half and bfloat16 weights are taken exactly::

    model = lstmcl.Model.from_torch(lstm.half(), precision="fp16")
    model = lstmcl.load("lstm.safetensors", precision="int8")

Live streams, their state kept on the device between chunks::

    with model.session(max_streams=64, max_chunk=10) as s:
        y = s.run(x_chunk, slots=[3, 17])        # x_chunk (steps, 2, input_size)

Devices: ``lstmcl.devices()`` lists the OpenCL devices; every ``device``
argument takes an index, an lstmcl.Device, a part of a name, or "cpu" for
lstmcl's CPU reference path (default: $LSTMCL_DEVICE, else the first GPU,
else the first device). Importing lstmcl loads the OpenCL drivers; import
it before torch, whose TBB library keeps Intel's OpenCL CPU runtime (which
needs a newer one) from loading.

Arrays: NumPy arrays and CPU torch tensors, any strides. Floating-point
data of any precision is converted to float32; integer, boolean and complex
data is refused. Results are float32, NumPy for NumPy input and torch for
torch input.

Errors: the library's failures raise lstmcl.Error (subclasses by kind)
carrying its message; bad Python arguments raise TypeError and ValueError.

Threads: every Model and Graph has an OpenCL context of its own; calls on
one run one at a time, distinct ones run at once; sessions of one model run
from several threads at once. No call holds the GIL while it waits or
runs.
"""
from ._devices import Device, devices
from ._errors import (ConfigError, DeviceError, Error, InvalidArgumentError, NoDeviceError,
                      OutOfMemoryError, UnsupportedError)
from ._graph import Graph, GraphLSTM, GraphPort, load
from ._model import Model, Session, reference_allowance
from . import _native

__version__ = _native.ffi.string(_native.lib.lstmcl_version_string()).decode()

for _name in ("ConfigError", "Device", "DeviceError", "Error", "Graph", "GraphLSTM", "GraphPort",
              "InvalidArgumentError", "Model", "NoDeviceError", "OutOfMemoryError", "Session",
              "UnsupportedError"):
    globals()[_name].__module__ = __name__

# The OpenCL drivers are loaded now, before the libraries a program imports
# next: Intel's OpenCL CPU runtime brings a newer TBB than the one PyTorch
# loads, and if torch's is loaded first the runtime cannot load and its
# device is missing (import lstmcl before torch to see every device).
_count = _native.ffi.new("size_t *")
_native.lib.lstmcl_device_count(_count)
del _name, _count

__all__ = [
    "ConfigError", "Device", "DeviceError", "Error", "Graph", "GraphLSTM", "GraphPort",
    "InvalidArgumentError", "Model", "NoDeviceError", "OutOfMemoryError", "Session",
    "UnsupportedError", "devices", "load", "reference_allowance",
]
