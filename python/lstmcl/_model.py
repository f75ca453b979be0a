"""Models (an LSTM on a device) and their sessions (live streams)."""
from __future__ import annotations

import threading
import weakref
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _arrays
from ._devices import Context, Device, DeviceSpec
from ._errors import check
from ._locks import Closing
from ._native import ffi, lib

Array = Any  # a NumPy array (or anything numpy.asarray takes) or a CPU torch.Tensor


PRECISIONS = ("fp32", "fp16", "bf16", "int8")

# The element types of lstmcl_tensor, by _arrays.weight_array's kind.
_DTYPES = {"f32": "LSTMCL_DTYPE_F32", "f16": "LSTMCL_DTYPE_F16", "bf16": "LSTMCL_DTYPE_BF16"}


def model_options(precision: Optional[str], algorithm: Optional[str]):
    """lstmcl_model_options for the ``precision`` and ``algorithm``
    arguments (a cdata that owns what it points to)."""
    opts = ffi.new("lstmcl_model_options *")
    lib.lstmcl_model_options_init(opts)
    if precision is not None:
        if not isinstance(precision, str):
            raise TypeError("precision must be None or a name (%s), not %s"
                            % (", ".join(PRECISIONS), type(precision).__name__))
        prec = ffi.new("lstmcl_precision *")
        check(lib.lstmcl_precision_from_name(precision.encode(), prec))
        opts.precision = prec[0]
    if algorithm is not None:
        if not isinstance(algorithm, str):
            raise TypeError("algorithm must be a name such as 'auto' or 'fused-rows', not %s"
                            % type(algorithm).__name__)
        algo = ffi.new("lstmcl_algorithm *")
        check(lib.lstmcl_algorithm_from_name(algorithm.encode(), algo))
        opts.algorithm = algo[0]
    return opts


def reference_allowance(precision: Optional[str] = None) -> float:
    """What a comparison of a device result with the CPU reference
    (``reference=True``) of the same model must allow on top of float32
    summation order, relative to max(|reference value|, 1): where h is
    stored in half or bfloat16 a sum near a rounding boundary may round to
    either neighbour, 4 units of the stored type's last place (4 * 2**-11
    for "fp16", 4 * 2**-8 for "bf16"); 0.0 for "fp32", "int8" and None.
    An unknown name raises lstmcl.InvalidArgumentError."""
    opts = model_options(precision, None)
    return float(lib.lstmcl_precision_reference_allowance(opts.precision))


def _torch_lstm_class():
    import torch
    return torch.nn.LSTM


class Model(Closing):
    """An LSTM on an OpenCL device, or on lstmcl's CPU reference path.

    Create one from a PyTorch module or from a file::

        model = lstmcl.Model.from_torch(torch.nn.LSTM(40, 256, 2, bidirectional=True))
        model = lstmcl.load("lstm.safetensors")         # an nn.LSTM state_dict

    and call it as the PyTorch module is called::

        y, (hn, cn) = model(x)                          # x (T, N, I), or (N, T, I)
        y, (hn, cn) = model(x, h0, c0, lengths=lens)    # with batch_first

    The weights are converted and uploaded, and the device's kernels built
    (or loaded from lstmcl's program cache), when the model is created; a
    call only runs them.

    Arrays: NumPy arrays and CPU torch tensors of any strides. Floating-point
    data of any precision is converted to float32; integer, boolean and
    complex data is refused (TypeError). The results are float32 and of the
    kind ``x`` was: NumPy in, NumPy out; torch in, torch out.

    Precision: how the model stores its weights on the device, chosen when
    it is created (``precision=``), whatever dtype the module or file holds:

        "fp32"  float32 (the default, None);
        "fp16"  IEEE half; h and y are rounded to half between steps and
                layers;
        "bf16"  bfloat16, likewise;
        "int8"  int8 with one float scale per row (max |w| / 127); h and y
                stay float32.

    Arithmetic and the cell state c are float32 in every precision, and so
    are the arrays a call takes and returns; biases stay float32. Against
    the same model in fp32, each output (y, hn, cn) satisfies
    max |difference| / max(max |fp32 output|, 1) <= 1e-2 for fp16, 3e-2 for
    bf16 and 5e-2 for int8, for weights scaled as trained models' are.
    Under fp16 a weight of magnitude 65520 or more (it would round to
    infinity; 65504 is half's largest) is refused. The "gemm" algorithm
    runs fp32 only.

    ``reference=True`` computes with the weights as the model stores them
    and rounds h and y as a device does: a device run agrees with it to
    float32's accuracy, but for a value whose sum lies at a rounding
    boundary of half or bfloat16, which may round the other way (one unit
    in the last place, passed on to later steps).

    Half and bfloat16 parameters (a module after ``.half()`` or
    ``.bfloat16()``, a checkpoint of F16 or BF16 tensors) are handed to the
    library as they are: each weight is rounded once, from its exact value,
    to what the model stores (with the matching precision, not at all).

    Threads: calls on one model run one at a time (the C API allows one
    thread at a time on a context and its models); every model has a
    context of its own, so distinct models run at once. A thread waiting for
    the model does not hold the GIL, nor does a running call. Sessions of a
    model (``Model.session``) run from several threads at once; they wait
    while the model runs a call of its own or creates or closes a session.

    Attributes:
        input_size, hidden_size, proj_size (0: none), num_layers: the sizes.
        bidirectional, bias, batch_first: as nn.LSTM's.
        device: the lstmcl.Device, or None on the CPU reference path.
        is_reference: True on the CPU reference path (device 'cpu').
        precision: "fp32", "fp16", "bf16" or "int8".
        device_bytes: device memory the weights take.

    A model holds device memory until it is closed (``close()``, a ``with``
    block, or garbage collection).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Not for direct use: Model.from_torch(module) and lstmcl.load(path)
        create models."""
        raise TypeError("create a Model with lstmcl.Model.from_torch(module) or lstmcl.load(path)")

    @classmethod
    def _adopt(cls, ctx: Context, ptr: Any, batch_first: bool) -> "Model":
        self = object.__new__(cls)
        self._ctx = ctx
        self._ptr = ptr
        self._sessions: "weakref.WeakSet[Session]" = weakref.WeakSet()
        desc = ffi.new("lstmcl_model_desc *")
        check(lib.lstmcl_model_get_desc(ptr, desc))
        self.input_size = int(desc.input_size)
        self.hidden_size = int(desc.hidden_size)
        self.proj_size = int(desc.proj_size)
        self.num_layers = int(desc.num_layers)
        self.bidirectional = desc.direction == lib.LSTMCL_BIDIRECTIONAL
        self.bias = not desc.no_bias
        self.batch_first = bool(batch_first)
        return self

    @classmethod
    def from_torch(cls, module: Any, device: DeviceSpec = None, precision: Optional[str] = None,
                   algorithm: Optional[str] = None) -> "Model":
        """The model of a ``torch.nn.LSTM``, from its parameters.

        Every nn.LSTM option is taken: num_layers, bidirectional, proj_size,
        batch_first and bias=False. The parameters are copied (the module
        may change afterwards without affecting the model). The model
        computes what the module computes in eval mode: dropout between
        layers applies only to training.

        A module in half precision runs as it is, its weights exact::

            model = lstmcl.Model.from_torch(lstm.half(), precision="fp16")
            y, (hn, cn) = model(x)              # x float32 (or any float)

        and compares with ``lstm.float()`` run on the same weights within
        the fp16 contract (see Model, "Precision").

        Args:
            module: a torch.nn.LSTM (or a subclass); its parameters may live
                on any torch device and in any floating-point dtype.
                float16 and bfloat16 parameters are handed over as they
                are, the others converted to float32.
            device: None for $LSTMCL_DEVICE, else the first GPU, else the
                first device; an index or lstmcl.Device from
                lstmcl.devices(); a part of a device's name; or "cpu" for
                lstmcl's CPU reference path.
            precision: how the model stores its weights: None or "fp32"
                (float32), "fp16", "bf16" or "int8" (see Model,
                "Precision"). It is chosen here, not taken from the
                module's dtype: a .half() module with precision None runs
                in fp32 on its half weights.
            algorithm: None for the automatic choice ($LSTMCL_ALGO, else by
                device and shape), or one of "auto", "gemm", "fused",
                "fused-rows", "fused-cols", "persistent", "persistent-rows",
                "persistent-cols". "gemm" runs fp32 only.

        Raises:
            TypeError: module is not an nn.LSTM; precision is not a str.
            lstmcl.InvalidArgumentError (a ValueError): an unknown
                precision or algorithm name (the message lists the names);
                a weight that is NaN or infinite, or beyond half's range
                under fp16 (the message names the layer, direction, tensor
                and element).
            lstmcl.UnsupportedError: algorithm "gemm" with a precision other
                than fp32, or a precision this device cannot run for the
                model's size.
            lstmcl.NoDeviceError, lstmcl.ConfigError: no device matches
                ``device`` (or $LSTMCL_DEVICE).
            lstmcl.DeviceError: the device failed (kernel build, OpenCL).
        """
        if not isinstance(module, _torch_lstm_class()):
            raise TypeError("from_torch takes a torch.nn.LSTM, not %s (lstmcl runs LSTMs only)"
                            % type(module).__name__)
        opts = model_options(precision, algorithm)
        L, D = module.num_layers, 2 if module.bidirectional else 1
        H = module.hidden_size
        P = int(getattr(module, "proj_size", 0) or 0)
        desc = ffi.new("lstmcl_model_desc *")
        desc.input_size = module.input_size
        desc.hidden_size = H
        desc.proj_size = P
        desc.num_layers = L
        desc.direction = lib.LSTMCL_BIDIRECTIONAL if D == 2 else lib.LSTMCL_FORWARD
        desc.no_bias = 0 if module.bias else 1
        layers = ffi.new("lstmcl_layer_weights[]", L)
        keep: List[Any] = []

        def tensor(t, name: str) -> None:
            p = getattr(module, name)
            a, kind = _arrays.weight_array(p.detach().to("cpu"), name)
            buf = ffi.from_buffer("float[]" if kind == "f32" else "uint16_t[]", a)
            keep.append(buf)
            t.data = buf
            t.dtype = getattr(lib, _DTYPES[kind])
            t.ndim = a.ndim
            for k, n in enumerate(a.shape):
                t.dims[k] = n

        for k in range(L):
            for d in range(D):
                sfx = "_l%d%s" % (k, "_reverse" if d else "")
                w = layers[k]
                tensor(w.input_weights[d], "weight_ih" + sfx)
                tensor(w.recurrent_weights[d], "weight_hh" + sfx)
                if module.bias:
                    tensor(w.input_bias[d], "bias_ih" + sfx)
                    tensor(w.recurrent_bias[d], "bias_hh" + sfx)
                if P:
                    tensor(w.projection[d], "weight_hr" + sfx)
        ctx = Context(device)
        try:
            out = ffi.new("lstmcl_model **")
            with ctx.lock.exclusive():
                check(lib.lstmcl_model_create_with(ctx.ptr, desc, lib.LSTMCL_CONVENTION_PYTORCH,
                                                   layers, opts, out))
        except BaseException:
            ctx.close()
            raise
        return cls._adopt(ctx, out[0], module.batch_first)

    # -- properties --------------------------------------------------------

    @property
    def device(self) -> Optional[Device]:
        """The lstmcl.Device the model runs on; None on the CPU reference path."""
        return self._ctx.device

    @property
    def is_reference(self) -> bool:
        """True when the model runs on lstmcl's CPU reference path."""
        return self._ctx.is_reference

    @property
    def parameter_count(self) -> int:
        """The number of weight and bias values, as sum(p.numel()) counts them."""
        with self._ctx.lock.exclusive():
            return int(lib.lstmcl_model_parameter_count(self._live()))

    @property
    def precision(self) -> str:
        """How the model stores its weights: "fp32", "fp16", "bf16" or
        "int8" (the ``precision`` it was created with)."""
        with self._ctx.lock.exclusive():
            return ffi.string(lib.lstmcl_precision_name(
                lib.lstmcl_model_precision(self._live()))).decode()

    @property
    def device_bytes(self) -> int:
        """Bytes of device memory the model's weights take (every copy the
        algorithms it may run use, scales and biases); 0 on the CPU
        reference path. A call's buffers, sized by its T and N, come on
        top."""
        with self._ctx.lock.exclusive():
            return int(lib.lstmcl_model_device_bytes(self._live()))

    def algorithm(self, batch: int = 1) -> str:
        """The algorithm a call with ``batch`` sequences runs: "reference"
        on the CPU reference path, else "gemm", "fused-rows", "fused-cols"
        or "persistent" (lstmcl_model_algorithm)."""
        with self._ctx.lock.exclusive():
            return ffi.string(lib.lstmcl_model_algorithm(self._live(), int(batch))).decode()

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<lstmcl.Model (closed)>"
        prec = self.precision
        return ("<lstmcl.Model LSTM(%d, %d, num_layers=%d%s%s%s%s)%s on %s>"
                % (self.input_size, self.hidden_size, self.num_layers,
                   ", bias=False" if not self.bias else "",
                   ", batch_first=True" if self.batch_first else "",
                   ", bidirectional=True" if self.bidirectional else "",
                   ", proj_size=%d" % self.proj_size if self.proj_size else "",
                   "" if prec == "fp32" else " " + prec, self._ctx.describe()))

    def _live(self) -> Any:
        if self._ptr is None:
            raise ValueError("the model is closed")
        return self._ptr

    # -- running -----------------------------------------------------------

    def __call__(self, x: Array, h0: Any = None, c0: Optional[Array] = None,
                 lengths: Optional[Array] = None, *,
                 reference: bool = False) -> Tuple[Array, Tuple[Array, Array]]:
        """Runs the LSTM on ``x``; returns ``(y, (hn, cn))`` as nn.LSTM does.

        With L = num_layers, D = 2 if bidirectional else 1, H = hidden_size,
        Hout = proj_size or H, T steps and N sequences:

            x        (T, N, input_size), or (N, T, input_size) with
                     batch_first; or (T, input_size) for one sequence
                     (unbatched, as nn.LSTM takes it)
            h0, hn   (L*D, N, Hout); c0, cn (L*D, N, H); without the N axis
                     for an unbatched x. h0/c0 None: zeros. ``(h0, c0)``
                     may also be given as one tuple, as to nn.LSTM.
            lengths  (N,) integers, each in 1..T: sequence n has lengths[n]
                     steps (as nn.utils.rnn.pack_padded_sequence says);
                     its y past them is 0 and its hn, cn are the states at
                     its last step. None: every sequence has T steps. The
                     device skips the work past each length, the most
                     with the lengths in decreasing order (as
                     pack_padded_sequence's enforce_sorted wants them);
                     any order gives the same results.
            y        (T, N, D*Hout), or (N, T, D*Hout) with batch_first.

        Args:
            reference: run on lstmcl's CPU reference path (accumulating in
                double) instead of the model's device: the result a device
                run is checked against.

        Raises:
            ValueError: a shape that does not fit the model.
            TypeError: integer, boolean or complex data for x, h0, c0, or
                non-integer lengths.
            lstmcl.InvalidArgumentError: lengths outside 1..T (the
                library's message).
            lstmcl.DeviceError: the device failed.
        """
        if isinstance(h0, tuple) and c0 is None:
            if len(h0) != 2:
                raise ValueError("(h0, c0): a tuple of two arrays expected")
            h0, c0 = h0
        kind = _arrays.kind_of(x)
        xa = _arrays.float_array(x, "x")
        I, H, L = self.input_size, self.hidden_size, self.num_layers
        D = 2 if self.bidirectional else 1
        Hout = self.proj_size or H
        batch_first = self.batch_first
        given = xa.shape
        unbatched = xa.ndim == 2
        if unbatched:
            batch_first = False
            xa = xa[:, None, :]
        if xa.ndim != 3 or xa.shape[2] != I:
            raise ValueError("x: shape %s, but the model takes %s or, unbatched, (T, %d)"
                             % (_arrays.shape_text(given),
                                "(N, T, %d) (batch_first)" % I if self.batch_first
                                else "(T, N, %d)" % I, I))
        T, N = (xa.shape[1], xa.shape[0]) if batch_first else (xa.shape[0], xa.shape[1])
        if T == 0 or N == 0:
            raise ValueError("x: shape %s has no steps or no sequences"
                             % _arrays.shape_text(xa.shape))

        def state(s: Any, name: str, width: int) -> Optional[np.ndarray]:
            if s is None:
                return None
            a = _arrays.float_array(s, name)
            want = (L * D, width) if unbatched else (L * D, N, width)
            if a.shape != want:
                raise ValueError("%s: shape %s, expected %s (num_layers * directions, %sfeatures)"
                                 % (name, _arrays.shape_text(a.shape), _arrays.shape_text(want),
                                    "" if unbatched else "batch, "))
            return np.ascontiguousarray(a.reshape(L * D, N, width))

        h0a = state(h0, "h0", Hout)
        c0a = state(c0, "c0", H)
        lens = None
        if lengths is not None:
            if unbatched:
                raise ValueError("lengths: an unbatched x is one sequence of T steps")
            la = _arrays.int_array(lengths, "lengths")
            if la.shape != (N,):
                raise ValueError("lengths: shape %s, expected (%d,) (one per sequence)"
                                 % (_arrays.shape_text(la.shape), N))
            # Values outside int32 would wrap; the library checks the rest.
            la = np.clip(la, -1, np.iinfo(np.int32).max)
            lens = np.ascontiguousarray(la, dtype=np.int32)
        y = np.empty((N, T, D * Hout) if batch_first else (T, N, D * Hout), np.float32)
        hn = np.empty((L * D, N, Hout), np.float32)
        cn = np.empty((L * D, N, H), np.float32)
        args = ffi.new("lstmcl_forward_args *")
        keep = [ffi.from_buffer("float[]", xa), ffi.from_buffer("float[]", y),
                ffi.from_buffer("float[]", hn), ffi.from_buffer("float[]", cn)]
        args.seq_len = T
        args.batch = N
        args.batch_first = 1 if batch_first else 0
        args.x = keep[0]
        args.y = keep[1]
        args.hn = keep[2]
        args.cn = keep[3]
        if h0a is not None:
            keep.append(ffi.from_buffer("float[]", h0a))
            args.h0 = keep[-1]
        if c0a is not None:
            keep.append(ffi.from_buffer("float[]", c0a))
            args.c0 = keep[-1]
        if lens is not None:
            keep.append(ffi.from_buffer("int32_t[]", lens))
            args.seq_lens = keep[-1]
        run = lib.lstmcl_forward_reference if reference else lib.lstmcl_forward
        with self._ctx.lock.exclusive():
            check(run(self._live(), args))
        if unbatched:
            y, hn, cn = y[:, 0, :], hn[:, 0, :], cn[:, 0, :]
        return _arrays.wrap(y, kind), (_arrays.wrap(hn, kind), _arrays.wrap(cn, kind))

    def session(self, max_streams: int, max_chunk: int) -> "Session":
        """A session serving up to ``max_streams`` live streams (slots 0 ..
        max_streams-1), fed ``max_chunk`` steps or fewer per call, each
        stream's state kept between calls (lstmcl_session_create). See
        lstmcl.Session. Forward models only: a bidirectional model raises
        lstmcl.UnsupportedError (its reverse direction needs the future)."""
        return Session._create(self, int(max_streams), int(max_chunk))

    # -- lifetime ----------------------------------------------------------

    def close(self) -> None:
        """Frees the model, its sessions and its device memory. Idempotent;
        the model cannot be called afterwards."""
        if getattr(self, "_ptr", None) is None:
            return
        for s in list(self._sessions):
            s.close()
        with self._ctx.lock.exclusive():
            if self._ptr is not None:
                lib.lstmcl_model_destroy(self._ptr)
                self._ptr = None
                self._ctx.close()



class Session(Closing):
    """Live streams on one model, each stream's h and c kept on the device
    between calls (the C API's lstmcl_session_*).

    ``model.session(max_streams, max_chunk)`` creates one, with every slot's
    state zero. Each call feeds any subset of slots, in any order, up to
    max_chunk new steps each; a stream fed in chunks gets the outputs of
    one whole-sequence call. Shapes are the C API's, time-major whatever
    the model's batch_first:

        x   (seq_len, count, input_size): stream k's steps in column k
        y   (seq_len, count, Hout): zero past a stream's steps
        h   (num_layers, count, Hout), c (num_layers, count, hidden_size)

    Threads: distinct sessions of one model run from distinct threads at
    once (each has its own OpenCL queue); calls on one session run one at a
    time. A session call waits while its model runs a call of its own, or
    creates or closes a session.

    Close it with ``close()`` or a ``with`` block (closing the model closes
    its sessions).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Not for direct use: model.session(max_streams, max_chunk) creates
        sessions."""
        raise TypeError("create a Session with model.session(max_streams, max_chunk)")

    @classmethod
    def _create(cls, model: Model, max_streams: int, max_chunk: int) -> "Session":
        self = object.__new__(cls)
        self._ptr = None
        self._model = model
        self._lock = threading.Lock()
        out = ffi.new("lstmcl_session **")
        with model._ctx.lock.exclusive():
            check(lib.lstmcl_session_create(model._live(), max_streams, max_chunk, out))
        self._ptr = out[0]
        self.max_streams = max_streams
        self.max_chunk = max_chunk
        self.algorithm = ffi.string(lib.lstmcl_session_algorithm(self._ptr)).decode()
        model._sessions.add(self)
        return self

    def __repr__(self) -> str:
        return "<lstmcl.Session %d streams, chunks of %d, %s%s>" % (
            self.max_streams, self.max_chunk, self.algorithm,
            " (closed)" if self._ptr is None else "")

    def _slots(self, slots: Optional[Sequence[int]]) -> Any:
        if slots is None:
            slots = range(self.max_streams)
        s = _arrays.int_array(list(slots) if not hasattr(slots, "shape") else slots, "slots")
        if s.ndim != 1 or s.size == 0:
            raise ValueError("slots: a non-empty list of slot numbers expected")
        if s.min() < 0 or s.max() >= self.max_streams:
            raise ValueError("slots: every slot must be in 0..%d" % (self.max_streams - 1))
        return ffi.new("size_t[]", [int(v) for v in s]), int(s.size)

    def run(self, x: Array, slots: Sequence[int], steps: Optional[Sequence[int]] = None) -> Array:
        """Feeds ``x`` (seq_len, count, input_size) to the streams in
        ``slots`` (count distinct slot numbers); ``steps[k]`` (1..seq_len,
        None: all seq_len) is how many of stream k's rows are new steps.
        Returns y (seq_len, count, Hout), of x's kind. seq_len is 1 ..
        max_chunk. On failure the slots keep their state."""
        kind = _arrays.kind_of(x)
        xa = _arrays.float_array(x, "x")
        cslots, count = self._slots(slots)
        m = self._model
        if xa.ndim != 3 or xa.shape[1] != count or xa.shape[2] != m.input_size:
            raise ValueError("x: shape %s, expected (seq_len, %d, %d) (steps, streams, features)"
                             % (_arrays.shape_text(xa.shape), count, m.input_size))
        if not 1 <= xa.shape[0] <= self.max_chunk:
            raise ValueError("x: %d steps; a session call takes 1 to max_chunk = %d"
                             % (xa.shape[0], self.max_chunk))
        Hout = m.proj_size or m.hidden_size
        y = np.empty((xa.shape[0], count, Hout), np.float32)
        args = ffi.new("lstmcl_session_run_args *")
        keep = [ffi.from_buffer("float[]", xa), ffi.from_buffer("float[]", y)]
        args.count = count
        args.slots = cslots
        args.seq_len = xa.shape[0]
        args.x = keep[0]
        args.y = keep[1]
        if steps is not None:
            st = _arrays.int_array(list(steps) if not hasattr(steps, "shape") else steps, "steps")
            if st.shape != (count,) or st.min() < 1 or st.max() > xa.shape[0]:
                raise ValueError("steps: %d counts in 1..%d expected" % (count, xa.shape[0]))
            csteps = ffi.new("size_t[]", [int(v) for v in st])
            args.steps = csteps
        with self._lock:
            ptr = self._live()
            with m._ctx.lock.shared():
                check(lib.lstmcl_session_run(ptr, args))
        return _arrays.wrap(y, kind)

    def reset(self, slots: Optional[Sequence[int]] = None, h0: Optional[Array] = None,
              c0: Optional[Array] = None) -> None:
        """Sets the state of ``slots`` (None: every slot) from h0
        (num_layers, count, Hout) and c0 (num_layers, count, hidden_size),
        or to zero where h0 or c0 is None: a new stream in a slot."""
        cslots, count = self._slots(slots)
        m = self._model
        Hout = m.proj_size or m.hidden_size
        keep = []
        ptrs = []
        for a, name, width in ((h0, "h0", Hout), (c0, "c0", m.hidden_size)):
            if a is None:
                ptrs.append(ffi.NULL)
                continue
            arr = _arrays.float_array(a, name)
            if arr.shape != (m.num_layers, count, width):
                raise ValueError("%s: shape %s, expected (%d, %d, %d)"
                                 % (name, _arrays.shape_text(arr.shape), m.num_layers, count,
                                    width))
            keep.append(ffi.from_buffer("float[]", arr))
            ptrs.append(keep[-1])
        with self._lock:
            ptr = self._live()
            with m._ctx.lock.shared():
                check(lib.lstmcl_session_reset(ptr, cslots, count, ptrs[0], ptrs[1]))

    def state(self, slots: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The state of ``slots`` (None: every slot): (h, c) as NumPy arrays
        (num_layers, count, Hout) and (num_layers, count, hidden_size)."""
        cslots, count = self._slots(slots)
        m = self._model
        h = np.empty((m.num_layers, count, m.proj_size or m.hidden_size), np.float32)
        c = np.empty((m.num_layers, count, m.hidden_size), np.float32)
        hb, cb = ffi.from_buffer("float[]", h), ffi.from_buffer("float[]", c)
        with self._lock:
            ptr = self._live()
            with m._ctx.lock.shared():
                check(lib.lstmcl_session_get_state(ptr, cslots, count, hb, cb))
        return h, c

    def _live(self) -> Any:
        if self._ptr is None:
            raise ValueError("the session is closed")
        return self._ptr

    def close(self) -> None:
        """Frees the session (idempotent)."""
        if getattr(self, "_ptr", None) is None:
            return
        with self._lock:
            if self._ptr is None:
                return
            with self._model._ctx.lock.exclusive():
                lib.lstmcl_session_destroy(self._ptr)
                self._ptr = None
        self._model._sessions.discard(self)

