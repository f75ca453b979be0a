"""Model files through the library's loader: lstmcl.load and lstmcl.Graph."""
from __future__ import annotations

import dataclasses
import errno
import os
import threading
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _arrays
from ._devices import Context, Device, DeviceSpec
from ._errors import check
from ._model import Array, Model, model_options
from ._locks import Closing
from ._native import ffi, lib

_INPUT_ROLES = ("X", "sequence_lens", "initial_h", "initial_c")
_OUTPUT_ROLES = ("Y", "Y_h", "Y_c")
_FORMATS = {None: "LSTMCL_FILE_AUTO", "safetensors": "LSTMCL_FILE_SAFETENSORS",
            "onnx": "LSTMCL_FILE_ONNX"}


@dataclasses.dataclass(frozen=True)
class GraphLSTM:
    """One LSTM node of a graph, as ``lstmcl info`` describes it: its name,
    sizes, direction ("forward", "reverse" or "bidirectional"), layout
    (1: batch-major X and Y) and parameter count."""

    name: str
    input_size: int
    hidden_size: int
    direction: str
    layout: int
    parameter_count: int


@dataclasses.dataclass(frozen=True)
class GraphPort:
    """A graph input or output.

    name: the graph's name for it. role: what it is to the LSTMs: for
    inputs "X", "sequence_lens", "initial_h" or "initial_c" (the LSTM input
    it feeds), for outputs "Y", "Y_h" or "Y_c" (the LSTM output it comes
    from). shape: the shape an input declares, None for an axis it leaves
    free (a dynamic axis); None when it declares none (and for outputs).
    """

    name: str
    role: str
    shape: Optional[Tuple[Optional[int], ...]]


class Graph(Closing):
    """An ONNX model as ``lstmcl run`` runs it: the graph's own input and
    output names and shapes, its LSTM nodes each an lstmcl model, the
    operators between them (the plumbing torch.onnx.export writes) run on
    the host.

    ``lstmcl.load("lstm.onnx")`` opens one. Call it with the graph inputs,
    by position in the graph's order (``graph.inputs``) or by name, and get
    the graph outputs in the graph's order (``graph.outputs``)::

        graph = lstmcl.load("exported.onnx")
        y, hn, cn = graph(x, h0, c0)          # as onnxruntime's run returns them
        out = graph.run({"input": x})         # {output name: array}

    A graph exported without dynamic axes fixes the batch and sequence
    length it was exported with, and refuses others, as onnxruntime does.

    Arrays: as for lstmcl.Model (float32, other floating dtypes converted;
    sequence lengths integers); results are of the kind X was given as.

    Threads: calls on one graph run one at a time (its models share one
    context); distinct graphs run at once. Waiting and running release the
    GIL.

    Precision (``lstmcl.load(path, precision=...)``) applies to every LSTM
    node alike, as for lstmcl.Model; the plumbing between the nodes runs in
    float32 on the host.

    Attributes:
        inputs, outputs: tuples of lstmcl.GraphPort.
        name: the path or name the file was opened as.
        opset, producer: the ONNX opset and producer_name.
        lstm_count, lstms: the LSTM nodes (lstmcl.GraphLSTM), in graph order.
        device: the lstmcl.Device, or None on the CPU reference path.
        precision: how every node stores its weights ("fp32", "fp16",
            "bf16" or "int8").
        device_bytes: device memory the nodes' weights take, all together.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Not for direct use: lstmcl.load(path) opens graphs."""
        raise TypeError("open a Graph with lstmcl.load(path)")

    @classmethod
    def _open(cls, file: Any, device: DeviceSpec, opts: Any) -> "Graph":
        self = object.__new__(cls)
        self._file = file
        self._models: List[Any] = []
        self._graph = None
        self._ctx: Optional[Context] = None
        self._lock = threading.Lock()
        try:
            self._describe(file)
            self._bind(device, opts)
        except BaseException:
            self.close()
            raise
        return self

    def _describe(self, file: Any) -> None:
        info = ffi.new("lstmcl_file_info *")
        check(lib.lstmcl_file_get_info(file, info))
        self.name = ffi.string(info.name).decode("utf-8", "replace")
        self.opset = int(info.opset)
        self.producer = ffi.string(info.producer).decode("utf-8", "replace")
        self.lstm_count = int(info.lstm_count)
        port = ffi.new("lstmcl_graph_port *")
        ins, outs = [], []
        for k in range(info.input_count):
            check(lib.lstmcl_file_graph_input(file, k, port))
            shape = None
            if port.has_shape:
                shape = tuple(None if port.dims[j] < 0 else int(port.dims[j])
                              for j in range(port.ndim))
            ins.append(GraphPort(ffi.string(port.name).decode("utf-8", "replace"),
                                 _INPUT_ROLES[port.role], shape))
        for k in range(info.output_count):
            check(lib.lstmcl_file_graph_output(file, k, port))
            outs.append(GraphPort(ffi.string(port.name).decode("utf-8", "replace"),
                                  _OUTPUT_ROLES[port.role], None))
        self.inputs: Tuple[GraphPort, ...] = tuple(ins)
        self.outputs: Tuple[GraphPort, ...] = tuple(outs)
        lstm = ffi.new("lstmcl_file_lstm *")
        nodes = []
        for k in range(self.lstm_count):
            check(lib.lstmcl_file_get_lstm(file, k, lstm))
            d = lstm.desc.direction
            nodes.append(GraphLSTM(
                ffi.string(lstm.name).decode("utf-8", "replace"), int(lstm.desc.input_size),
                int(lstm.desc.hidden_size),
                "bidirectional" if d == lib.LSTMCL_BIDIRECTIONAL else
                "reverse" if d == lib.LSTMCL_REVERSE else "forward",
                int(lstm.layout), int(lstm.parameter_count)))
        self.lstms: Tuple[GraphLSTM, ...] = tuple(nodes)

    def _bind(self, device: DeviceSpec, opts: Any) -> None:
        self._ctx = Context(device)
        out = ffi.new("lstmcl_model **")
        for k in range(self.lstm_count):
            check(lib.lstmcl_file_model_create(self._file, k, self._ctx.ptr, opts, out))
            self._models.append(out[0])
        models = ffi.new("lstmcl_model *[]", self._models)
        g = ffi.new("lstmcl_graph **")
        check(lib.lstmcl_graph_create(self._file, models, len(self._models), g))
        self._graph = g[0]

    @property
    def device(self) -> Optional[Device]:
        """The lstmcl.Device the LSTM nodes run on; None on the CPU reference path."""
        return self._ctx.device if self._ctx else None

    @property
    def is_reference(self) -> bool:
        """True when the LSTM nodes run on lstmcl's CPU reference path."""
        return bool(self._ctx and self._ctx.is_reference)

    @property
    def precision(self) -> str:
        """How the LSTM nodes store their weights: "fp32", "fp16", "bf16"
        or "int8" (every node alike)."""
        with self._lock:
            if self._graph is None:
                raise ValueError("the graph is closed")
            return ffi.string(lib.lstmcl_precision_name(
                lib.lstmcl_model_precision(self._models[0]))).decode()

    @property
    def device_bytes(self) -> int:
        """Bytes of device memory the LSTM nodes' weights take, all nodes
        together; 0 on the CPU reference path."""
        with self._lock:
            if self._graph is None:
                raise ValueError("the graph is closed")
            return sum(int(lib.lstmcl_model_device_bytes(m)) for m in self._models)

    def __repr__(self) -> str:
        return "<lstmcl.Graph %s: inputs %s, outputs %s, %d LSTM node%s%s>" % (
            self.name, [p.name for p in self.inputs], [p.name for p in self.outputs],
            self.lstm_count, "" if self.lstm_count == 1 else "s",
            " on " + self._ctx.describe() if self._graph is not None else " (closed)")

    def __call__(self, *args: Optional[Array], reference: bool = False,
                 **kwargs: Optional[Array]) -> Tuple[Array, ...]:
        """Runs the graph: positional arguments are the graph inputs in
        ``self.inputs`` order, keyword arguments name them (None: not given;
        every input but X may be left out, as ONNX allows). Returns the
        outputs in ``self.outputs`` order. ``reference``: run the LSTM nodes
        on lstmcl's CPU reference path.

        Raises:
            TypeError: too many or unknown inputs; wrong dtypes.
            lstmcl.InvalidArgumentError: the inputs do not fit the graph
                (the library's message: which input, which axis, what the
                graph fixed).
            lstmcl.DeviceError: the device failed.
        """
        if len(args) > len(self.inputs):
            raise TypeError("%d inputs given, the graph has %d (%s)"
                            % (len(args), len(self.inputs),
                               ", ".join(p.name for p in self.inputs)))
        named: Dict[str, Any] = {p.name: a for p, a in zip(self.inputs, args)}
        for k, v in kwargs.items():
            if k in named:
                raise TypeError("input %r given twice" % k)
            named[k] = v
        res = self.run(named, reference=reference)
        return tuple(res[p.name] for p in self.outputs)

    def run(self, inputs: Mapping[str, Optional[Array]],
            reference: bool = False) -> Dict[str, Array]:
        """Runs the graph on ``inputs`` ({graph input name: array}); returns
        {graph output name: array}. See __call__."""
        names = {p.name: p for p in self.inputs}
        arrays: List[Optional[np.ndarray]] = [None] * 4
        kind = "numpy"
        for name, value in inputs.items():
            if name not in names:
                raise TypeError("the graph has no input %r (its inputs: %s)"
                                % (name, ", ".join(names)))
            if value is None:
                continue
            role = _INPUT_ROLES.index(names[name].role)
            if role == lib.LSTMCL_GRAPH_SEQ_LENS:
                arrays[role] = _arrays.int_array(value, name)
            else:
                arrays[role] = _arrays.float_array(value, name)
                if role == lib.LSTMCL_GRAPH_X:
                    kind = _arrays.kind_of(value)
        args = ffi.new("lstmcl_graph_run_args *")
        keep = []
        for role, a in enumerate(arrays):
            if a is None:
                continue
            dims = ffi.new("size_t[]", [int(d) for d in a.shape] or [1])
            if a.size == 0:  # a real pointer even for no elements
                a = np.zeros(1, a.dtype)
            buf = ffi.from_buffer("int64_t[]" if a.dtype == np.int64 else "float[]", a)
            keep += [dims, buf, a]
            if a.dtype == np.int64:
                args.inputs[role].ints = buf
            else:
                args.inputs[role].data = buf
            args.inputs[role].ndim = arrays[role].ndim
            args.inputs[role].dims = dims
        args.reference = 1 if reference else 0
        out: Dict[str, Array] = {}
        res = ffi.new("lstmcl_array *")
        with self._lock:
            if self._graph is None:
                raise ValueError("the graph is closed")
            check(lib.lstmcl_graph_run(self._graph, args))
            for p in self.outputs:
                check(lib.lstmcl_graph_output(self._graph, _OUTPUT_ROLES.index(p.role), res))
                shape = tuple(int(res.dims[j]) for j in range(res.ndim))
                n = int(np.prod(shape, dtype=np.int64))
                a = np.frombuffer(ffi.buffer(res.data, 4 * n), np.float32).reshape(shape).copy()
                out[p.name] = _arrays.wrap(a, kind)
        return out

    def close(self) -> None:
        """Frees the graph, its models and the file (idempotent)."""
        with self._lock:
            if self._graph is not None:
                lib.lstmcl_graph_destroy(self._graph)
                self._graph = None
            for m in self._models:
                lib.lstmcl_model_destroy(m)
            self._models = []
            if self._ctx is not None:
                self._ctx.close()
                self._ctx = None
            if self._file is not None:
                lib.lstmcl_file_destroy(self._file)
                self._file = None



def load(path: Union[str, "os.PathLike[str]", bytes], prefix: Optional[str] = None,
         device: DeviceSpec = None, precision: Optional[str] = None,
         algorithm: Optional[str] = None, *, batch_first: bool = False,
         format: Optional[str] = None) -> Union[Model, Graph]:
    """Opens a model file through the library's loader (the code ``lstmcl
    run`` uses).

    * a PyTorch nn.LSTM state_dict saved as safetensors
      (``safetensors.torch.save_file(lstm.state_dict(), path)``) gives an
      lstmcl.Model, called with PyTorch's shapes;
    * an ONNX model (one LSTM node, or what torch.onnx.export writes for an
      nn.LSTM) gives an lstmcl.Graph, called with the graph's own input and
      output names and shapes.

    Args:
        path: the file; or its contents as bytes (then ``format`` or the
            content tells the format).
        prefix: safetensors: the state_dict prefix of the LSTM (such as
            "encoder.rnn.") when the file holds several.
        device, algorithm: as for Model.from_torch.
        precision: how the model stores its weights: None or "fp32", "fp16",
            "bf16" or "int8" (see lstmcl.Model, "Precision"); for ONNX,
            every LSTM node. F16 and BF16 tensors (safetensors) and
            FLOAT16 and BFLOAT16 initializers (ONNX) are handed to the
            library as stored: an fp16 checkpoint loaded with
            precision="fp16" keeps every weight exact. F32 and F64 (DOUBLE)
            ones are read as float32.
        batch_first: safetensors: whether x and y are (N, T, ...); a state
            dict does not record it. ONNX graphs say it themselves.
        format: None (by the name's ending, else the content),
            "safetensors" or "onnx".

    Raises:
        FileNotFoundError: no such file.
        lstmcl.InvalidArgumentError: the file is not a model lstmcl reads;
            the message names the file and the tensor, node or field at
            fault. Also an unknown precision, and a weight beyond half's
            range under fp16 (by layer, direction, tensor and element).
        lstmcl.UnsupportedError: algorithm "gemm" with a reduced precision.
        lstmcl.NoDeviceError, lstmcl.DeviceError: as for Model.from_torch.
    """
    if format not in _FORMATS:
        raise ValueError("format must be None, 'safetensors' or 'onnx', not %r" % (format,))
    opts = model_options(precision, algorithm)
    fopts = ffi.new("lstmcl_file_options *")
    lib.lstmcl_file_options_init(fopts)
    fopts.format = getattr(lib, _FORMATS[format])
    keep = []
    if prefix is not None:
        keep.append(ffi.new("char[]", prefix.encode()))
        fopts.prefix = keep[-1]
    keep.append(ffi.new("char[]", b"the prefix argument of lstmcl.load"))
    fopts.prefix_name = keep[-1]
    out = ffi.new("lstmcl_file **")
    if isinstance(path, (bytes, bytearray, memoryview)):
        data = ffi.from_buffer(path)
        check(lib.lstmcl_file_open_memory(data, len(data), ffi.NULL, fopts, out))
    else:
        p = os.fspath(path)
        if not os.path.exists(p):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), p)
        check(lib.lstmcl_file_open(os.fsencode(p), fopts, out))
    file = out[0]
    info = ffi.new("lstmcl_file_info *")
    check(lib.lstmcl_file_get_info(file, info))
    if info.format == lib.LSTMCL_FILE_ONNX:
        if batch_first:
            lib.lstmcl_file_destroy(file)
            raise ValueError("batch_first applies to safetensors files: an ONNX graph's layout "
                             "says it")
        return Graph._open(file, device, opts)
    try:
        ctx = Context(device)
        try:
            m = ffi.new("lstmcl_model **")
            check(lib.lstmcl_file_model_create(file, 0, ctx.ptr, opts, m))
        except BaseException:
            ctx.close()
            raise
    finally:
        lib.lstmcl_file_destroy(file)
    return Model._adopt(ctx, m[0], batch_first)
