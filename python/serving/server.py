#!/usr/bin/env python3
"""lstmcl-serve: an lstmcl model behind Triton Inference Server, through
PyTriton.

    server.py --weights lstm.safetensors --device pthread --instances 1 \\
              --batching dynamic --max-batch 16 --preferred-batch 4,8,16 --queue-delay-ms 3

serves the LSTM as Triton model ``lstm`` (--name) on 127.0.0.1: HTTP 8000,
gRPC 8001, metrics 8002. A request carries

    x        FP32 (n, S, input_size)  n sequences, padded to S = --max-steps
    lengths  INT32 (n, 1), optional   each sequence's steps, 1..S (absent: S)

and gets back

    y        FP32 (n, t, D * Hout)    t = the longest of its lengths; zero past
                                      each sequence's own end
    hn       FP32 (n, L * D, Hout)    the state at each sequence's last step
    cn       FP32 (n, L * D, H)

(L layers, D directions, H hidden units, Hout = proj_size or H; the axes of
torch.nn.LSTM(batch_first=True) and of its h_n, c_n with the batch axis
first, as Triton's batching needs).

Why x is padded on the wire: Triton's dynamic batcher only groups requests
whose inputs have the same shape unless an input allows ragged batches,
which PyTriton's model configuration cannot say. So every request sends S
steps, and the batch runs with its sequences' lengths for as many steps as
its longest sequence has (rounded up to --step-quantum), not S; each
sequence's result is the one it gets alone. Every batch shape that can occur
(1..--max-batch sequences, each step count the quantum allows) runs once
before the model serves (--warm), because the first run of a shape costs
far more than the next ones on some OpenCL implementations.

Each Triton instance (--instances) is one lstmcl.Model with an OpenCL
context of its own. PyTriton runs the instances' code in this process (the
Python backend's stub processes only pass the tensors on), so the models are
created here, after Triton has started (starting it forks, which must come
before any OpenCL context exists), and the model is added to Triton only
once every instance is built and has checked one pass against lstmcl's CPU
reference: Triton's model-ready answer means ready to compute.

SIGINT or SIGTERM (or --time-limit) stops it: Triton and the models are
closed, bounded by --stop-timeout. Exit status 0 after a stop, 2 for a bad
flag, model file or device name, 1 when the device or Triton fails.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

try:
    import numpy as np
except ImportError:
    sys.stderr.write("lstmcl-serve: numpy is not installed for %s; run this with the Python of the "
                     "serving environment (python/serving/README.md)\n" % sys.executable)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_source  # noqa: E402  (beside this file)

PROG = "lstmcl-serve"


def _int_list(text: str) -> List[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("%r: expected positive integers separated by commas"
                                         % text)
    return values


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=PROG, description="Serve an lstmcl LSTM with Triton Inference Server (PyTriton).",
        epilog="Stop it with SIGINT or SIGTERM. Exit status: 0 after a stop, 2 for a bad flag, "
               "model file or device, 1 when the device or Triton fails.")
    model_source.add_arguments(p)
    g = p.add_argument_group("the device")
    g.add_argument("--device", metavar="SPEC",
                   help="an index from lstmcl.devices(), a part of a device name, or 'cpu' for "
                        "lstmcl's CPU reference path (default: $LSTMCL_DEVICE, else the first "
                        "GPU, else the first device)")
    g.add_argument("--precision", default="fp32", metavar="NAME",
                   help="how the model stores its weights: fp32 (default), fp16, bf16 or int8 "
                        "(lstmcl.Model, \"Precision\")")
    g.add_argument("--algorithm", metavar="NAME",
                   help="force an lstmcl algorithm (auto, gemm, fused, fused-rows, fused-cols, "
                        "persistent, persistent-rows, persistent-cols; default: the automatic "
                        "choice)")
    g = p.add_argument_group("Triton")
    g.add_argument("--name", default="lstm", help="the Triton model name (default lstm)")
    g.add_argument("--instances", type=int, default=1, metavar="K",
                   help="model instances, each its own lstmcl model and OpenCL context, run at "
                        "once (default 1)")
    g.add_argument("--batching", choices=("dynamic", "off"), default="dynamic",
                   help="dynamic: Triton's dynamic batcher groups requests (default); off: "
                        "each request runs alone, as it came")
    g.add_argument("--max-batch", type=int, default=16, metavar="N",
                   help="the most sequences in one execution (default 16)")
    g.add_argument("--preferred-batch", type=_int_list, default=None, metavar="N,N,...",
                   help="the dynamic batcher's preferred batch sizes (default: 4, 8, ... up to "
                        "--max-batch)")
    g.add_argument("--queue-delay-ms", type=float, default=3.0, metavar="MS",
                   help="how long the dynamic batcher may hold a request to fill a batch "
                        "(default 3)")
    g.add_argument("--max-steps", type=int, default=100, metavar="S",
                   help="the steps every request's x carries, its sequences padded to it "
                        "(default 100)")
    g.add_argument("--step-quantum", type=int, default=10, metavar="Q",
                   help="a batch runs for its longest sequence's steps rounded up to a multiple "
                        "of Q (default 10; 1: exactly the longest), so that few batch shapes "
                        "exist and all are warmed before serving")
    g.add_argument("--warm", choices=("all", "none"), default="all",
                   help="all: run every batch shape (1..--max-batch sequences, each step count "
                        "of --step-quantum) once per instance before serving (default); none: "
                        "leave each shape's first-use cost to the first request of that shape")
    g = p.add_argument_group("the endpoints")
    g.add_argument("--address", default="127.0.0.1",
                   help="the address Triton listens on (default 127.0.0.1, loopback only)")
    g.add_argument("--http-port", type=int, default=8000, metavar="PORT")
    g.add_argument("--grpc-port", type=int, default=8001, metavar="PORT")
    g.add_argument("--metrics-port", type=int, default=8002, metavar="PORT")
    g = p.add_argument_group("running")
    g.add_argument("--ready-file", metavar="FILE",
                   help="written (JSON: the model, device, endpoints, batching) once the model "
                        "serves; removed at the stop")
    g.add_argument("--time-limit", type=float, default=0.0, metavar="SECONDS",
                   help="stop after this long (default 0: until SIGINT or SIGTERM)")
    g.add_argument("--stop-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="the longest a stop may take before the process exits anyway "
                        "(default 60)")
    g.add_argument("--triton-log", metavar="FILE",
                   help="where Triton's own log goes (default: a temporary file, removed after "
                        "a clean stop, its name printed after a failure)")
    g.add_argument("--verbose", action="store_true",
                   help="Triton's verbose log, and PyTriton's informational messages")
    return p.parse_args(argv)


def _ports_free(address: str, ports: Any) -> Optional[str]:
    """None when every port can be bound on ``address`` now, else what is
    wrong (Triton itself would only time out)."""
    try:
        infos = socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except OSError as e:
        return "--address %r: %s" % (address, e)
    family, _, _, _, sockaddr = infos[0]
    for port in ports:
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.bind((sockaddr[0], port) + tuple(sockaddr[2:]))
        except OSError as e:
            return "port %d on %s: %s" % (port, address, e.strerror or e)
        finally:
            s.close()
    return None


def check_args(args: argparse.Namespace) -> model_source.Source:
    """The flags' own checks, before anything starts."""
    try:
        source = model_source.from_args(args)
    except model_source.SourceError as e:
        model_source.fail(PROG, str(e))
    bad = None
    if args.instances < 1:
        bad = "--instances %d: at least 1" % args.instances
    elif args.max_batch < 1:
        bad = "--max-batch %d: at least 1" % args.max_batch
    elif args.max_steps < 1:
        bad = "--max-steps %d: at least 1" % args.max_steps
    elif args.step_quantum < 1:
        bad = "--step-quantum %d: at least 1" % args.step_quantum
    elif args.queue_delay_ms < 0 or args.queue_delay_ms > 10_000:
        bad = "--queue-delay-ms %g: expected 0 to 10000" % args.queue_delay_ms
    elif args.time_limit < 0 or args.stop_timeout <= 0:
        bad = "--time-limit must be >= 0 and --stop-timeout > 0"
    elif args.preferred_batch is not None and args.batching == "off":
        bad = "--preferred-batch applies to --batching dynamic"
    elif args.preferred_batch is not None and max(args.preferred_batch) > args.max_batch:
        bad = "--preferred-batch %s: a size above --max-batch %d" % (
            ",".join(map(str, args.preferred_batch)), args.max_batch)
    elif not args.name or not all(c.isalnum() or c in "._-" for c in args.name):
        bad = "--name %r: letters, digits, '.', '_' and '-' only" % args.name
    if bad is None:
        ports = (args.http_port, args.grpc_port, args.metrics_port)
        if any(not 1 <= q <= 65535 for q in ports):
            bad = "ports must be in 1..65535 (given %d, %d, %d)" % ports
        elif len(set(ports)) != 3:
            bad = "--http-port, --grpc-port and --metrics-port must differ"
    if bad is None:
        bad = _ports_free(args.address, (args.http_port, args.grpc_port, args.metrics_port))
    if bad is None and args.ready_file:
        d = os.path.dirname(os.path.abspath(args.ready_file))
        if not os.path.isdir(d) or not os.access(d, os.W_OK):
            bad = "--ready-file %s: its folder %s is not a writable folder" % (args.ready_file, d)
    if bad is not None:
        model_source.fail(PROG, bad)
    if args.preferred_batch is None and args.batching == "dynamic":
        sizes, n = [], 4
        while n < args.max_batch:
            sizes.append(n)
            n *= 2
        args.preferred_batch = sizes + [args.max_batch]
    return source


# -- the instances --------------------------------------------------------------

class Instance:
    """One Triton model instance: an lstmcl.Model of its own (its own OpenCL
    context), called by PyTriton with the requests of one execution."""

    def __init__(self, index: int, source: model_source.Source, args: argparse.Namespace,
                 stop: threading.Event) -> None:
        self.index = index
        self.max_steps = args.max_steps
        self.quantum = args.step_quantum
        self.model = source.build(args.device, args.precision, args.algorithm)
        self.shape = model_source.shape_of(self.model)
        self.executions = 0
        self.requests = 0
        self.sequences = 0
        self.warm_seconds = 0.0
        self.self_check()
        if args.warm == "all":
            self.warm(args.max_batch, stop)

    def steps_for(self, longest: int) -> int:
        """The steps a batch whose longest sequence has ``longest`` runs."""
        q = self.quantum
        return min(self.max_steps, -(-longest // q) * q)

    def warm(self, max_batch: int, stop: threading.Event) -> None:
        """Runs every batch shape the instance can meet once. The first run
        of a shape can cost far more than the later ones (on PoCL, lstmcl's
        input projection kernel is compiled anew for each work-group size
        PoCL picks from the launch size, some 0.2 s, kept in PoCL's disk
        cache afterwards); here it is paid before the model serves rather
        than by a request."""
        t0 = time.monotonic()
        steps = sorted({self.steps_for(t) for t in range(1, self.max_steps + 1)})
        for n in range(1, max_batch + 1):
            for t in steps:
                if stop.is_set():
                    return
                x = np.zeros((n, t, self.shape.input_size), np.float32)
                model_source.forward(self.model, x, np.full(n, t, np.int32))
        self.warm_seconds = time.monotonic() - t0

    def self_check(self) -> None:
        """One small pass on the device against the CPU reference, so that a
        device that computes wrongly never serves."""
        rng = np.random.default_rng(self.index)
        steps = min(7, self.max_steps)
        x = rng.standard_normal((2, steps, self.shape.input_size)).astype(np.float32)
        lengths = np.array([steps, max(1, steps // 2)], np.int32)
        got = model_source.forward(self.model, x, lengths)
        want = model_source.forward(self.model, x, lengths, reference=True)
        tol = model_source.tolerance(self.shape, steps, self.model.precision)
        for name, g, w in zip(("y", "hn", "cn"), got, want):
            worst, where = model_source.excess(g, w, tol)
            if worst > 1.0:
                raise RuntimeError("instance %d: the device's %s differs from the CPU reference: %s"
                                   % (self.index, name, where))

    def __call__(self, requests: List[Any]) -> List[Dict[str, np.ndarray]]:
        S, I = self.max_steps, self.shape.input_size
        xs, lens = [], []
        for k, r in enumerate(requests):
            x = r["x"]
            if x.ndim != 3 or x.shape[1:] != (S, I):
                raise ValueError("request %d of this batch: x has shape %s, expected (n, %d, %d)"
                                 % (k, x.shape, S, I))
            n = x.shape[0]
            if "lengths" in r.data:
                ln = np.asarray(r["lengths"]).reshape(-1)
                if ln.shape != (n,):
                    raise ValueError("request %d of this batch: %d lengths for %d sequences"
                                     % (k, ln.size, n))
                if ln.min() < 1 or ln.max() > S:
                    j = int(np.argmax((ln < 1) | (ln > S)))
                    raise ValueError("request %d of this batch: lengths[%d] = %d, outside 1..%d "
                                     "(the steps x carries)" % (k, j, int(ln[j]), S))
                ln = ln.astype(np.int32)
            else:
                ln = np.full(n, S, np.int32)
            xs.append(x)
            lens.append(ln)
        lengths = np.concatenate(lens)
        T = self.steps_for(int(lengths.max()))
        # One copy into the batch, cut after the longest sequence (rounded
        # up to the step quantum): the steps past it are padding that no
        # sequence needs. The sequences go in longest first (sequence i at
        # row at[i]): lstmcl then skips the input projection of the steps
        # past each length and the recurrent products of the trailing
        # sequences that have ended, so a batch costs about what its
        # sequences' own steps cost, not its longest's times its size.
        order = np.argsort(-lengths, kind="stable")
        at = np.empty_like(order)
        at[order] = np.arange(order.size)
        batch = np.empty((lengths.size, T, I), np.float32)
        o = 0
        for x in xs:
            batch[at[o:o + x.shape[0]]] = x[:, :T]
            o += x.shape[0]
        y, hn, cn = model_source.forward(self.model, batch, lengths[order])
        out, o = [], 0
        for ln in lens:
            n, t = ln.size, int(ln.max())
            rows = at[o:o + n]
            out.append({"y": np.ascontiguousarray(y[rows, :t]),
                        "hn": np.ascontiguousarray(hn[:, rows].transpose(1, 0, 2)),
                        "cn": np.ascontiguousarray(cn[:, rows].transpose(1, 0, 2))})
            o += n
        self.executions += 1
        self.requests += len(requests)
        self.sequences += lengths.size
        return out

    def close(self) -> None:
        self.model.close()


# -- the server -------------------------------------------------------------------

def _error_code(e: BaseException) -> int:
    """2 for what the caller named wrongly (model, device, flag), 1 for a
    failure of the device or of Triton."""
    import lstmcl
    if isinstance(e, (model_source.SourceError, ValueError, TypeError, lstmcl.InvalidArgumentError,
                      lstmcl.NoDeviceError, lstmcl.ConfigError, lstmcl.UnsupportedError)):
        return 2
    return 1


def _write_json(path: str, data: Dict[str, Any]) -> None:
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def serve(args: argparse.Namespace, source: model_source.Source) -> int:
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    stop = threading.Event()
    why = ["SIGINT"]

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set():  # a second signal: do not wait for the orderly stop
            sys.stderr.write("%s: %s again, exiting now\n" % (PROG, signal.Signals(signum).name))
            os._exit(128 + signum)
        why[0] = signal.Signals(signum).name
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    if args.triton_log:
        log_path = os.path.abspath(args.triton_log)
    else:
        fd, log_path = tempfile.mkstemp(prefix="lstmcl-serve-triton-", suffix=".log")
        os.close(fd)

    config = TritonConfig(http_address=args.address, http_port=args.http_port,
                          grpc_address=args.address, grpc_port=args.grpc_port,
                          metrics_address=args.address, metrics_port=args.metrics_port,
                          allow_metrics=True, allow_gpu_metrics=False, allow_cpu_metrics=False,
                          exit_timeout_secs=5, log_verbose=1 if args.verbose else 0,
                          log_file=log_path)
    triton = Triton(config=config)
    instances: List[Instance] = []
    code = 0
    try:
        # Triton first (it forks), then the OpenCL contexts, in this
        # process, which runs every instance's calls.
        triton.run()
        for k in range(args.instances):
            if stop.is_set():
                break
            instances.append(Instance(k, source, args, stop))
        if not stop.is_set():
            shape = instances[0].shape
            S = args.max_steps
            if args.batching == "dynamic":
                mconfig = ModelConfig(batching=True, max_batch_size=args.max_batch,
                                      batcher=DynamicBatcher(
                                          max_queue_delay_microseconds=int(
                                              round(args.queue_delay_ms * 1000)),
                                          preferred_batch_size=args.preferred_batch))
            else:
                mconfig = ModelConfig(batching=True, max_batch_size=args.max_batch, batcher=None)
            triton.bind(
                model_name=args.name, infer_func=instances,
                inputs=[Tensor(name="x", dtype=np.float32, shape=(S, shape.input_size)),
                        Tensor(name="lengths", dtype=np.int32, shape=(1,), optional=True)],
                outputs=[Tensor(name="y", dtype=np.float32, shape=(-1, shape.out_size)),
                         Tensor(name="hn", dtype=np.float32,
                                shape=(shape.state_rows, shape.proj_size or shape.hidden_size)),
                         Tensor(name="cn", dtype=np.float32,
                                shape=(shape.state_rows, shape.hidden_size))],
                config=mconfig)
            model = instances[0].model
            info = {
                "pid": os.getpid(),
                "model_name": args.name,
                "source": source.describe(),
                "lstm": shape.as_dict(),
                "parameter_count": model.parameter_count,
                "device": None if model.is_reference else {
                    "index": model.device.index, "name": model.device.name,
                    "platform": model.device.platform,
                    "driver_version": model.device.driver_version},
                "reference_path": model.is_reference,
                "precision": args.precision,
                "algorithm": args.algorithm or "auto",
                "algorithm_batch_1": model.algorithm(1),
                "algorithm_max_batch": model.algorithm(args.max_batch),
                "instances": args.instances,
                "batching": args.batching,
                "max_batch": args.max_batch,
                "preferred_batch": args.preferred_batch if args.batching == "dynamic" else None,
                "queue_delay_ms": args.queue_delay_ms if args.batching == "dynamic" else None,
                "max_steps": S,
                "step_quantum": args.step_quantum,
                "warm": args.warm,
                "warm_seconds": [round(i.warm_seconds, 3) for i in instances],
                "endpoints": {"http": "%s:%d" % (args.address, args.http_port),
                              "grpc": "%s:%d" % (args.address, args.grpc_port),
                              "metrics": "%s:%d" % (args.address, args.metrics_port)},
                "startup_s": round(time.monotonic() - started, 3),
            }
            try:
                import lstmcl
                info["lstmcl_version"] = lstmcl.__version__
            except AttributeError:
                pass
            if args.ready_file:
                _write_json(args.ready_file, info)
            print("%s: serving %r: %s from %s on %s, %d instance%s, %s; gRPC %s, HTTP %s, "
                  "metrics %s (started in %.1f s, %.1f s of it warming)"
                  % (PROG, args.name, shape.describe(), source.describe(),
                     "the CPU reference path" if model.is_reference else
                     "device %d (%s)" % (model.device.index, model.device.name),
                     args.instances, "" if args.instances == 1 else "s",
                     "dynamic batching (preferred %s, max %d, delay %g ms)"
                     % (",".join(map(str, args.preferred_batch)), args.max_batch,
                        args.queue_delay_ms) if args.batching == "dynamic" else
                     "batching off (max %d per request)" % args.max_batch,
                     info["endpoints"]["grpc"], info["endpoints"]["http"],
                     info["endpoints"]["metrics"], info["startup_s"],
                     sum(i.warm_seconds for i in instances)), flush=True)
            deadline = started + args.time_limit if args.time_limit else None
            while not stop.wait(0.5):
                if not triton.is_alive():
                    why[0] = "Triton stopped on its own"
                    code = 1
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    why[0] = "--time-limit %g s" % args.time_limit
                    break
    except Exception as e:  # reported as one line; the stop below still runs
        code = _error_code(e)
        text = str(e).strip().splitlines()
        sys.stderr.write("%s: %s\n" % (PROG, text[0] if text else type(e).__name__))
        why[0] = "error"
    finally:
        watchdog = threading.Timer(args.stop_timeout, lambda: (
            sys.stderr.write("%s: the stop took over %g s; exiting without it\n"
                             % (PROG, args.stop_timeout)), sys.stderr.flush(), os._exit(1)))
        watchdog.daemon = True
        watchdog.start()
        triton.stop()
        for inst in instances:
            inst.close()
        if args.ready_file:
            try:
                os.unlink(args.ready_file)
            except FileNotFoundError:
                pass
        watchdog.cancel()
    if code == 1:
        sys.stderr.write("%s: Triton's log: %s\n" % (PROG, log_path))
    elif not args.triton_log:
        os.unlink(log_path)
    if instances and why[0] != "error":
        ex = sum(i.executions for i in instances)
        rq = sum(i.requests for i in instances)
        sq = sum(i.sequences for i in instances)
        print("%s: stopped (%s): %d requests, %d sequences in %d executions%s"
              % (PROG, why[0], rq, sq, ex, ", %.2f sequences per execution" % (sq / ex) if ex
                 else ""), flush=True)
    return code


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    source = check_args(args)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=PROG + ": %(name)s: %(levelname)s: %(message)s")
    try:
        importlib.import_module("pytriton.triton")
    except ImportError:
        model_source.fail(PROG, "PyTriton is not installed for %s (pip install nvidia-pytriton; "
                                "see python/serving/README.md)" % sys.executable)
    # Only looked up: importing lstmcl loads the OpenCL drivers, which waits
    # until Triton has started (see serve).
    if importlib.util.find_spec("lstmcl") is None:
        model_source.fail(PROG, "the lstmcl package is not installed for %s (pip install . at "
                                "the repository root)" % sys.executable)
    return serve(args, source)


if __name__ == "__main__":
    sys.exit(main())
