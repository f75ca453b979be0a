"""Where the served LSTM comes from, for the server and the load generator
alike: the command-line flags that name it, their checks, and the
lstmcl.Model built from them.

The server builds its models from these flags in the process that serves;
the load generator builds the same LSTM on lstmcl's CPU reference path to
compute the answers every response is checked against. Both must therefore
make the same weights from the same flags: a file is read as it is, and
--lstm draws PyTorch's own initialisation from --seed.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import math
import os
import sys
from typing import Any, List, NoReturn, Optional, Tuple


class SourceError(Exception):
    """A model source that cannot be used; the message names the flag or
    the file and what is wrong with it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that name the model (exactly one of --weights, --lstm,
    --module)."""
    g = parser.add_argument_group("the model (exactly one of --weights, --lstm, --module)")
    g.add_argument("--weights", metavar="FILE",
                   help="an nn.LSTM state_dict saved as safetensors, opened by lstmcl.load")
    g.add_argument("--prefix", metavar="PREFIX",
                   help="with --weights: the LSTM's state_dict prefix (such as 'encoder.rnn.') "
                        "when the file holds several")
    g.add_argument("--lstm", metavar="I,H,L",
                   help="a torch.nn.LSTM(I, H, L), batch_first, its weights PyTorch's own "
                        "initialisation drawn from --seed")
    g.add_argument("--bidirectional", action="store_true",
                   help="with --lstm: a bidirectional LSTM")
    g.add_argument("--seed", type=int, default=0, metavar="N",
                   help="with --lstm: the torch seed of the weights (default 0)")
    g.add_argument("--module", metavar="MODULE:NAME",
                   help="a torch.nn.LSTM, or a function without arguments that returns one: "
                        "NAME in MODULE, a dotted module name or a .py file")


@dataclasses.dataclass(frozen=True)
class Source:
    """A checked model source (see from_args)."""

    kind: str                  # "weights", "lstm" or "module"
    path: str = ""             # weights: the file
    prefix: Optional[str] = None
    sizes: Tuple[int, int, int] = (0, 0, 0)   # lstm: I, H, L
    bidirectional: bool = False
    seed: int = 0
    module: str = ""           # module: "MODULE:NAME"

    def describe(self) -> str:
        if self.kind == "weights":
            return "state_dict %s%s" % (self.path,
                                        " prefix %r" % self.prefix if self.prefix else "")
        if self.kind == "lstm":
            return "nn.LSTM(%d, %d, num_layers=%d%s), seed %d" % (
                self.sizes + (", bidirectional=True" if self.bidirectional else "", self.seed))
        return "nn.LSTM from %s" % self.module

    def argv(self) -> List[str]:
        """The flags that give this source to another process."""
        if self.kind == "weights":
            return ["--weights", self.path] + (["--prefix", self.prefix] if self.prefix else [])
        if self.kind == "lstm":
            return (["--lstm", "%d,%d,%d" % self.sizes, "--seed", str(self.seed)]
                    + (["--bidirectional"] if self.bidirectional else []))
        return ["--module", self.module]

    def build(self, device: Any = None, precision: Optional[str] = None,
              algorithm: Optional[str] = None) -> Any:
        """The lstmcl.Model of this source on ``device`` ("cpu": lstmcl's
        CPU reference path). Creates an OpenCL context: call it in the
        process that runs the model. Raises SourceError for a model that
        cannot be served, and the package's own exceptions (lstmcl.Error,
        ValueError) for the rest."""
        # lstmcl first: its import loads the OpenCL drivers, and Intel's
        # CPU runtime cannot load once torch has loaded an older TBB.
        import lstmcl
        if self.kind == "weights":
            # The loader's messages name the file and what is wrong in it.
            model = lstmcl.load(self.path, prefix=self.prefix, device=device,
                                precision=precision, algorithm=algorithm)
            if not isinstance(model, lstmcl.Model):
                model.close()
                raise SourceError("%s: an ONNX graph; the server takes an nn.LSTM state_dict "
                                  "(safetensors) or an nn.LSTM (--lstm, --module)" % self.path)
            return model
        return lstmcl.Model.from_torch(self.torch_module(), device=device, precision=precision,
                                       algorithm=algorithm)

    def torch_module(self) -> Any:
        """The torch.nn.LSTM of an --lstm or --module source."""
        import torch
        if self.kind == "lstm":
            I, H, L = self.sizes
            torch.manual_seed(self.seed)
            return torch.nn.LSTM(I, H, L, batch_first=True, bidirectional=self.bidirectional)
        name, attr = self.module.rsplit(":", 1)
        try:
            if name.endswith(".py"):
                spec = importlib.util.spec_from_file_location("lstmcl_served_module", name)
                if spec is None or spec.loader is None:
                    raise ImportError("not a Python file")
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
            else:
                mod = importlib.import_module(name)
        except Exception as e:  # the module's own failure, whatever it is
            raise SourceError("--module %s: importing %s failed: %s: %s"
                              % (self.module, name, type(e).__name__, e))
        if not hasattr(mod, attr):
            raise SourceError("--module %s: %s has no attribute %r" % (self.module, name, attr))
        obj = getattr(mod, attr)
        if callable(obj) and not isinstance(obj, torch.nn.Module):
            try:
                obj = obj()
            except Exception as e:
                raise SourceError("--module %s: calling %s() failed: %s: %s"
                                  % (self.module, attr, type(e).__name__, e))
        if not isinstance(obj, torch.nn.LSTM):
            raise SourceError("--module %s: %s is a %s, not a torch.nn.LSTM"
                              % (self.module, attr, type(obj).__name__))
        return obj


def _positive_ints(text: str, count: int, flag: str, what: str) -> Tuple[int, ...]:
    parts = text.split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != count or min(values) < 1:
        raise SourceError("%s %r: expected %s, %d positive integers separated by commas"
                          % (flag, text, what, count))
    return values


def from_args(args: argparse.Namespace) -> Source:
    """The checked Source of parsed flags; SourceError for a missing,
    doubled or malformed source, or a weights file that cannot be read (the
    file's contents are checked when the model is built)."""
    given = [f for f in ("weights", "lstm", "module") if getattr(args, f) is not None]
    if len(given) != 1:
        raise SourceError("name the model with exactly one of --weights FILE, --lstm I,H,L or "
                          "--module MODULE:NAME%s"
                          % (" (given: %s)" % ", ".join("--" + f for f in given) if given else ""))
    kind = given[0]
    if args.prefix is not None and kind != "weights":
        raise SourceError("--prefix applies to --weights only")
    if args.bidirectional and kind != "lstm":
        raise SourceError("--bidirectional applies to --lstm only (a file or module says it)")
    if kind == "weights":
        path = args.weights
        if not os.path.exists(path):
            raise SourceError("%s: no such file (--weights)" % path)
        if not os.path.isfile(path):
            raise SourceError("%s: not a regular file (--weights)" % path)
        if not os.access(path, os.R_OK):
            raise SourceError("%s: not readable (--weights)" % path)
        return Source("weights", path=os.path.abspath(path), prefix=args.prefix)
    if kind == "lstm":
        sizes = _positive_ints(args.lstm, 3, "--lstm", "input size, hidden size, layers")
        return Source("lstm", sizes=sizes, bidirectional=bool(args.bidirectional), seed=args.seed)
    spec = args.module
    if ":" not in spec or not spec.rsplit(":", 1)[0] or not spec.rsplit(":", 1)[1].isidentifier():
        raise SourceError("--module %r: expected MODULE:NAME (a dotted module name or a .py "
                          "file, a colon, an attribute name)" % spec)
    name = spec.rsplit(":", 1)[0]
    if name.endswith(".py"):
        if not os.path.isfile(name):
            raise SourceError("--module %s: %s: no such file" % (spec, name))
        spec = "%s:%s" % (os.path.abspath(name), spec.rsplit(":", 1)[1])
    return Source("module", module=spec)


# -- running and checking -----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Shape:
    """A model's sizes as the wire format needs them."""

    input_size: int
    hidden_size: int
    proj_size: int
    num_layers: int
    directions: int

    @property
    def out_size(self) -> int:
        """The width of a y row: directions * (proj_size or hidden_size)."""
        return self.directions * (self.proj_size or self.hidden_size)

    @property
    def state_rows(self) -> int:
        return self.num_layers * self.directions

    def describe(self) -> str:
        return "LSTM(%d, %d, num_layers=%d%s%s)" % (
            self.input_size, self.hidden_size, self.num_layers,
            ", bidirectional=True" if self.directions == 2 else "",
            ", proj_size=%d" % self.proj_size if self.proj_size else "")

    def as_dict(self) -> dict:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "proj_size": self.proj_size, "num_layers": self.num_layers,
                "bidirectional": self.directions == 2}


def shape_of(model: Any) -> Shape:
    return Shape(model.input_size, model.hidden_size, model.proj_size, model.num_layers,
                 2 if model.bidirectional else 1)


def forward(model: Any, x: Any, lengths: Any, reference: bool = False) -> Tuple[Any, Any, Any]:
    """Runs ``model`` on batch-major x (N, T, input_size) with per-sequence
    lengths (N,); returns batch-major y (N, T, out_size), hn and cn
    (layers * directions, N, ...), whichever layout the model was made for.
    ``reference``: on lstmcl's CPU reference path."""
    if model.batch_first:
        y, (hn, cn) = model(x, lengths=lengths, reference=reference)
        return y, hn, cn
    y, (hn, cn) = model(x.transpose(1, 0, 2), lengths=lengths, reference=reference)
    return y.transpose(1, 0, 2), hn, cn


def tolerance(shape: Shape, steps: int, precision: Optional[str] = None) -> float:
    """The bound tests/test_device.c holds the device path to against the
    CPU reference of the same model (which, in a reduced precision,
    computes with the same stored weights): float32 sums of K terms per
    gate (input, recurrent, projection), errors carried through ``steps``
    steps of a contracting recurrence, and with h stored in half or
    bfloat16 (fp16, bf16) a value that rounds to its neighbour on one side
    only. A value is right when |got - want| <= tol * (1 + |want|)."""
    hout = shape.proj_size or shape.hidden_size
    k = ((shape.directions * hout if shape.num_layers > 1 else 0) + shape.input_size + hout
         + (shape.hidden_size if shape.proj_size else 0) + 4)
    tol = 3e-7 * k * (1.0 + 0.25 * math.sqrt(steps))
    import lstmcl
    return tol + lstmcl.reference_allowance(precision)


def excess(got: Any, want: Any, tol: float) -> Tuple[float, str]:
    """How far ``got`` is from ``want`` as a fraction of the allowed error
    (<= 1: right; inf for a wrong shape or a value that is not finite) and,
    when it is beyond, a description of the worst element."""
    import numpy as np
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return math.inf, "shape %s, expected %s" % (got.shape, want.shape)
    if got.size == 0:
        return 0.0, ""
    if not np.all(np.isfinite(got)):
        k = int(np.argmin(np.isfinite(got)))
        return math.inf, "element %s is %r" % (np.unravel_index(k, got.shape), got.flat[k])
    ratio = np.abs(got - want) / (tol * (1.0 + np.abs(want)))
    k = int(np.argmax(ratio))
    worst = float(ratio.flat[k])
    if worst <= 1.0:
        return worst, ""
    return worst, ("element %s is %.9g, expected %.9g (%.3g times the tolerance %.3g)"
                   % (np.unravel_index(k, got.shape), got.flat[k], want.flat[k], worst, tol))


def fail(prog: str, message: str, code: int = 2) -> NoReturn:
    """One line on stderr, then exit ``code``."""
    sys.stderr.write("%s: %s\n" % (prog, message))
    sys.stderr.flush()
    sys.exit(code)
