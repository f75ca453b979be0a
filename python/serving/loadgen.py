#!/usr/bin/env python3
"""lstmcl-loadgen: open-loop load on an lstmcl Triton server (server.py),
every response checked.

    loadgen.py --lstm 512,512,2 --device pthread --batching dynamic,off --search \\
               --json bench/results/pocl-serve.json

starts server.py once per configuration (each --batching and --instances
value), on free loopback ports, with the same model flags; or, with --url,
loads a server that runs already (loopback only).

Requests come from a fixed pool of sequences (--pool, lengths drawn from
--steps), whose answers (y, hn, cn) the load generator computed beforehand,
each sequence alone, on lstmcl's CPU reference path from the same model
flags. They are sent open loop over gRPC: arrival times drawn for the
--rate (Poisson by default) and kept whatever the server does, latency
measured from each request's arrival time, so a late or slow server cannot
slow the load down. Every response is compared with its answer within the
bound tests/test_device.c holds the device to.

A trial runs --warmup seconds of load, then --duration measured seconds (at
least --min-requests requests, at most --max-requests); it is sustained when
every response came back right and in time and the measured p99 latency is
under --p99-limit-ms. It stops early as soon as it cannot be sustained (a
failed or wrong response, or more requests past the limit than p99 allows).
--rate R runs one trial at R requests per second; --search looks for the
highest sustained rate: doubling from --search-start until a trial fails,
then halving the interval until it is within --search-precision, within
--search-seconds per configuration. --time-limit bounds the whole run; every
wait is bounded by it or by --timeout.

Exit status: 0 when every configuration ran, no response was wrong, and each
trial at --rate (or each search) was sustained; 1 otherwise; 2 for a bad
flag or model.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import os
import platform
import queue
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

try:
    import numpy as np
except ImportError:
    sys.stderr.write("lstmcl-loadgen: numpy is not installed for %s; run this with the Python of the "
                     "serving environment (python/serving/README.md)\n" % sys.executable)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_source  # noqa: E402  (beside this file)

PROG = "lstmcl-loadgen"
SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py")
FORMAT_VERSION = 1
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class RunError(Exception):
    """A configuration that could not be run (its server did not start,
    does not serve the expected model...); the message says why."""


class WrongAnswer(RunError):
    """A response that differs from the CPU reference's answer."""


class Deadline(Exception):
    """--time-limit reached."""


# -- flags -------------------------------------------------------------------------

def _error_text(e: BaseException) -> str:
    """The line of a client exception that says what went wrong: a server
    exception's own line (PyTriton wraps it in tracebacks), else the first."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    said = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception): ", ln)]
    text = (said or lines or [type(e).__name__])[-1 if said else 0]
    return text if len(text) <= 300 else text[:297] + "..."


def _list(kind: Any, text: str, flag: str) -> List[Any]:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError("%s %r: expected a comma-separated list" % (flag, text))
    return values


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=PROG, description="Open-loop load on an lstmcl Triton server, every response "
                               "checked against lstmcl's CPU reference.",
        epilog="Exit status: 0 when every configuration ran, nothing came back wrong and every "
               "trial at --rate (or search) was sustained; 1 otherwise; 2 for a bad flag or model.")
    model_source.add_arguments(p)
    g = p.add_argument_group("the server")
    g.add_argument("--url", metavar="HOST:PORT",
                   help="the gRPC endpoint of a running server.py (loopback only); without it "
                        "server.py is started for each configuration below")
    g.add_argument("--metrics-url", metavar="HOST:PORT",
                   help="with --url: Triton's metrics endpoint, for the mean batch size and to "
                        "see the server idle between trials")
    g.add_argument("--name", default="lstm", help="the Triton model name (default lstm)")
    g.add_argument("--device", metavar="SPEC", help="server.py --device")
    g.add_argument("--precision", default="fp32", metavar="NAME", help="server.py --precision")
    g.add_argument("--algorithm", metavar="NAME", help="server.py --algorithm")
    g.add_argument("--batching", default="dynamic", metavar="dynamic,off",
                   help="server.py --batching; a list runs each (default dynamic)")
    g.add_argument("--instances", default="1", metavar="K,K,...",
                   help="server.py --instances; a list runs each (default 1)")
    g.add_argument("--max-batch", type=int, default=16, metavar="N", help="server.py --max-batch")
    g.add_argument("--preferred-batch", metavar="N,N,...", help="server.py --preferred-batch")
    g.add_argument("--queue-delay-ms", type=float, default=3.0, metavar="MS",
                   help="server.py --queue-delay-ms")
    g.add_argument("--max-steps", type=int, default=100, metavar="S",
                   help="server.py --max-steps (default 100)")
    g.add_argument("--step-quantum", type=int, default=10, metavar="Q",
                   help="server.py --step-quantum (default 10)")
    g.add_argument("--warm", choices=("all", "none"), default="all", help="server.py --warm")
    g.add_argument("--startup-timeout", type=float, default=600.0, metavar="SECONDS",
                   help="the longest a started server may take to serve (default 600: kernels "
                        "compile on first use)")
    g.add_argument("--server-log", metavar="FILE",
                   help="the started servers' output (default: a temporary file, removed unless "
                        "a server failed)")
    g = p.add_argument_group("the requests")
    g.add_argument("--pool", type=int, default=32, metavar="N",
                   help="sequences in the pool of inputs (default 32)")
    g.add_argument("--steps", default="20-100", metavar="LO-HI",
                   help="the pool's sequence lengths, drawn uniformly (default 20-100)")
    g.add_argument("--data-seed", type=int, default=1, metavar="N",
                   help="the seed of the pool and of the arrival times (default 1)")
    g.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson",
                   help="Poisson arrivals (default) or one every 1/rate seconds")
    g.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="a request not answered in this long has failed (default 10)")
    g.add_argument("--max-inflight", type=int, default=2000, metavar="N",
                   help="more requests than this unanswered at once ends the trial (default 2000)")
    g.add_argument("--tolerance-scale", type=float, default=1.0, metavar="F",
                   help="multiplies the tolerance of the comparison (default 1)")
    g = p.add_argument_group("the load")
    m = g.add_mutually_exclusive_group(required=True)
    m.add_argument("--rate", type=float, metavar="R", help="one trial at R requests per second")
    m.add_argument("--search", action="store_true",
                   help="search for the highest rate sustained with p99 under --p99-limit-ms")
    g.add_argument("--duration", type=float, default=15.0, metavar="SECONDS",
                   help="measured seconds of a trial (default 15)")
    g.add_argument("--warmup", type=float, default=3.0, metavar="SECONDS",
                   help="seconds of load before the measured part (default 3)")
    g.add_argument("--min-requests", type=int, default=200, metavar="N",
                   help="a trial measures at least this many requests (default 200)")
    g.add_argument("--max-requests", type=int, default=20000, metavar="N",
                   help="a trial sends at most this many requests (default 20000)")
    g.add_argument("--p99-limit-ms", type=float, default=250.0, metavar="MS",
                   help="a sustained rate's p99 latency is under this (default 250)")
    g.add_argument("--search-start", type=float, default=10.0, metavar="R",
                   help="the search's first rate (default 10)")
    g.add_argument("--search-precision", type=float, default=0.1, metavar="F",
                   help="the search ends when the failed rate is within 1+F of the sustained one "
                        "(default 0.1)")
    g.add_argument("--search-seconds", type=float, default=600.0, metavar="SECONDS",
                   help="the search's time per configuration (default 600)")
    g.add_argument("--time-limit", type=float, default=3600.0, metavar="SECONDS",
                   help="the whole run's time (default 3600)")
    g = p.add_argument_group("output")
    g.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = p.parse_args(argv)
    return args


def check_args(args: argparse.Namespace) -> model_source.Source:
    def fail(message: str) -> None:
        model_source.fail(PROG, message)

    try:
        source = model_source.from_args(args)
    except model_source.SourceError as e:
        fail(str(e))
    try:
        args.batching_list = _list(str, args.batching, "--batching")
        args.instances_list = _list(int, args.instances, "--instances")
    except argparse.ArgumentTypeError as e:
        fail(str(e))
    if any(b not in ("dynamic", "off") for b in args.batching_list):
        fail("--batching %r: each of dynamic, off" % args.batching)
    if min(args.instances_list) < 1:
        fail("--instances %r: at least 1 each" % args.instances)
    parts = args.steps.split("-")
    try:
        lo, hi = (int(parts[0]), int(parts[-1])) if len(parts) in (1, 2) else (0, 0)
    except ValueError:
        lo, hi = 0, 0
    if lo < 1 or hi < lo:
        fail("--steps %r: expected LO-HI, 1 <= LO <= HI (or one number)" % args.steps)
    args.steps_range = (lo, hi)
    if args.url is None and hi > args.max_steps:
        fail("--steps %s: longer than --max-steps %d" % (args.steps, args.max_steps))
    checks = [(args.pool >= 1, "--pool: at least 1"),
              (args.rate is None or args.rate > 0, "--rate: above 0"),
              (args.duration > 0 and args.warmup >= 0, "--duration above 0, --warmup 0 or more"),
              (args.min_requests >= 1 and args.max_requests >= args.min_requests,
               "--min-requests at least 1, --max-requests at least --min-requests"),
              (args.timeout > 0 and args.max_inflight >= 1, "--timeout above 0, --max-inflight 1 "
               "or more"),
              (args.p99_limit_ms > 0, "--p99-limit-ms: above 0"),
              (args.search_start > 0 and args.search_precision > 0 and args.search_seconds > 0,
               "--search-start, --search-precision and --search-seconds: above 0"),
              (args.time_limit > 0 and args.startup_timeout > 0,
               "--time-limit and --startup-timeout: above 0"),
              (args.tolerance_scale > 0, "--tolerance-scale: above 0")]
    for ok, message in checks:
        if not ok:
            fail(message)
    for flag in ("url", "metrics_url"):
        value = getattr(args, flag)
        if value is None:
            continue
        host, _, port = value.rpartition(":")
        host = host.strip("[]")
        if host not in LOOPBACK or not port.isdigit():
            fail("--%s %r: expected HOST:PORT on loopback (%s)"
                 % (flag.replace("_", "-"), value, ", ".join(LOOPBACK)))
    if args.url is not None and (len(args.batching_list) > 1 or len(args.instances_list) > 1):
        fail("--url: the server's own configuration is loaded; lists of --batching or "
             "--instances need servers this program starts")
    if args.metrics_url is not None and args.url is None:
        fail("--metrics-url applies with --url")
    if args.json:
        d = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(d):
            fail("--json %s: no folder %s" % (args.json, d))
    return source


# -- the pool of requests and their answers ----------------------------------------

class Pool:
    """The sequences requests are drawn from, padded for the wire, with
    their answers from the CPU reference."""

    def __init__(self, source: model_source.Source, args: argparse.Namespace) -> None:
        t0 = time.monotonic()
        # The reference in the server's precision: the same stored weights
        # and the same rounding of h, so answers are checked as tightly as
        # in fp32 (the precision's accuracy contract is tested elsewhere).
        ref = source.build(device="cpu", precision=args.precision)
        self.shape = model_source.shape_of(ref)
        self.parameter_count = ref.parameter_count
        rng = np.random.default_rng(args.data_seed)
        lo, hi = args.steps_range
        self.lengths = rng.integers(lo, hi + 1, size=args.pool)
        self.x: List[np.ndarray] = []
        self.want: List[Tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.tol: List[float] = []
        for t in self.lengths:
            x = rng.standard_normal((int(t), self.shape.input_size)).astype(np.float32)
            y, hn, cn = model_source.forward(ref, x[None], np.array([t], np.int32))
            self.x.append(x)
            self.want.append((y[0], hn[:, 0], cn[:, 0]))
            self.tol.append(args.tolerance_scale
                            * model_source.tolerance(self.shape, int(t), args.precision))
        ref.close()
        self.seconds = time.monotonic() - t0

    def inputs(self, max_steps: int) -> List[List[Any]]:
        """Each sequence's gRPC inputs: x padded to max_steps, its length."""
        import tritonclient.grpc as grpcclient
        out = []
        for x, t in zip(self.x, self.lengths):
            padded = np.zeros((1, max_steps, self.shape.input_size), np.float32)
            padded[0, :t] = x
            xi = grpcclient.InferInput("x", list(padded.shape), "FP32")
            xi.set_data_from_numpy(padded)
            li = grpcclient.InferInput("lengths", [1, 1], "INT32")
            li.set_data_from_numpy(np.array([[t]], np.int32))
            out.append([xi, li])
        return out

    def check(self, k: int, result: Any) -> Tuple[float, str]:
        """How far response ``result`` for sequence k is from its answer, as
        a fraction of the tolerance, and what is wrong when beyond 1."""
        worst = 0.0
        for name, want in zip(("y", "hn", "cn"), self.want[k]):
            got = result.as_numpy(name)
            if got is None:
                return math.inf, "no %s in the response" % name
            ratio, where = model_source.excess(got[0] if got.ndim == want.ndim + 1 else got,
                                               want, self.tol[k])
            if ratio > 1.0:
                return ratio, "%s of sequence %d (%d steps): %s" % (name, k, self.lengths[k], where)
            worst = max(worst, ratio)
        return worst, ""


# -- the server ----------------------------------------------------------------------

def _free_ports(count: int) -> List[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class StartedServer:
    """server.py in a session of its own, stopped (SIGINT, then SIGKILL to
    its process group after --stop-timeout) by stop()."""

    STOP_TIMEOUT = 60.0

    def __init__(self, cmd: List[str], log_path: str, ready_path: str) -> None:
        self.log_path = log_path
        self.ready_path = ready_path
        self.log = open(log_path, "ab")
        self.log.write(("$ %s\n" % " ".join(cmd)).encode())
        self.log.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float, deadline: float) -> Dict[str, Any]:
        end = min(time.monotonic() + timeout, deadline)
        while time.monotonic() < end:
            if os.path.exists(self.ready_path):
                with open(self.ready_path) as f:
                    return json.load(f)
            if self.proc.poll() is not None:
                raise RunError("server.py exited with status %d before serving: %s"
                               % (self.proc.returncode, self.log_tail()))
            time.sleep(0.2)
        raise RunError("server.py did not serve within %.0f s (--startup-timeout or --time-limit)"
                       % timeout)

    def log_tail(self, lines: int = 3) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 8192))
                text = f.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return "(no log)"
        mine = [t for t in text if t.startswith(("lstmcl-serve:", "Traceback", "Error"))]
        return " | ".join((mine or text)[-lines:]) or "(empty log)"

    def stop(self) -> Optional[int]:
        """Stops the server; returns its exit status (None if it had to be
        killed)."""
        code = self.proc.poll()
        if code is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                code = self.proc.wait(self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                code = None
        if code is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.log.close()
        return code


def _metrics(url: Optional[str], name: str) -> Optional[Dict[str, float]]:
    """Triton's counters for model ``name`` (None when unavailable)."""
    if url is None:
        return None
    try:
        with urllib.request.urlopen("http://%s/metrics" % url, timeout=2.0) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError:
        return None
    out: Dict[str, float] = {}
    tag = 'model="%s"' % name
    for line in text.splitlines():
        if line.startswith("nv_inference_") and tag in line:
            key = line.split("{", 1)[0]
            try:
                out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
            except ValueError:
                pass
    return out


# -- a trial -----------------------------------------------------------------------------

PENDING, OK, WRONG, FAILED = 0, 1, 2, 3


def _percentile(sorted_values: np.ndarray, q: float) -> Optional[float]:
    """The nearest-rank percentile (None for no values)."""
    n = sorted_values.size
    if n == 0:
        return None
    return float(sorted_values[max(0, math.ceil(q / 100.0 * n) - 1)])


class Runner:
    """Runs trials against one served model."""

    def __init__(self, args: argparse.Namespace, pool: Pool, url: str, metrics_url: Optional[str],
                 deadline: float) -> None:
        import tritonclient.grpc as grpcclient
        self.args = args
        self.pool = pool
        self.url = url
        self.metrics_url = metrics_url
        self.deadline = deadline
        self.client = grpcclient.InferenceServerClient(url)
        self.limit = args.p99_limit_ms / 1000.0
        self.rng = np.random.default_rng(args.data_seed + 1)
        self.max_error_ratio = 0.0

    def close(self) -> None:
        self.client.close()

    def model_config(self) -> Dict[str, Any]:
        """Waits (bounded) for the model, checks that it is the load
        generator's model, returns its Triton configuration."""
        end = min(time.monotonic() + 60.0, self.deadline)
        last = ""
        while time.monotonic() < end:
            try:
                if self.client.is_model_ready(self.args.name, client_timeout=5.0):
                    break
                last = "not ready"
            except Exception as e:  # connection refused while it starts
                last = _error_text(e)
            time.sleep(0.5)
        else:
            raise RunError("model %r at %s is not ready (%s)" % (self.args.name, self.url, last))
        cfg = self.client.get_model_config(self.args.name, as_json=True, client_timeout=10.0)
        cfg = cfg.get("config", cfg)
        dims = {t["name"]: [int(d) for d in t.get("dims", [])]
                for t in cfg.get("input", []) + cfg.get("output", [])}
        s = self.pool.shape
        hout = s.proj_size or s.hidden_size
        x = dims.get("x")
        if not x or len(x) != 2 or x[1] != s.input_size:
            raise RunError("model %r at %s takes x %s, but the load generator's model (%s) has "
                           "input size %d" % (self.args.name, self.url, x, s.describe(),
                                              s.input_size))
        want = {"y": [-1, s.out_size], "hn": [s.state_rows, hout], "cn": [s.state_rows,
                                                                          s.hidden_size]}
        for name, d in want.items():
            if dims.get(name) != d:
                raise RunError("model %r at %s gives %s %s, the load generator's model (%s) %s"
                               % (self.args.name, self.url, name, dims.get(name), s.describe(), d))
        self.max_steps = x[0]
        if self.pool.lengths.max() > self.max_steps:
            raise RunError("the server's x carries %d steps, the pool has sequences of %d (--steps)"
                           % (self.max_steps, self.pool.lengths.max()))
        self.inputs = self.pool.inputs(self.max_steps)
        return cfg

    def check_each(self) -> None:
        """Every pool sequence once, one at a time: the answers before any
        load (and the first use of each batch size of 1)."""
        for k in range(len(self.inputs)):
            if time.monotonic() > self.deadline:
                raise Deadline()
            try:
                r = self.client.infer(self.args.name, self.inputs[k],
                                      client_timeout=max(self.args.timeout, 60.0))
            except Exception as e:
                raise RunError("sequence %d alone: %s" % (k, _error_text(e)))
            ratio, where = self.pool.check(k, r)
            if ratio > 1.0:
                raise WrongAnswer("sequence %d alone, the response is wrong: %s" % (k, where))
            self.max_error_ratio = max(self.max_error_ratio, ratio)

    def wait_idle(self) -> None:
        """Until Triton has no request pending (bounded; two seconds without
        metrics)."""
        end = min(time.monotonic() + 60.0, self.deadline)
        if self.metrics_url is None:
            time.sleep(min(2.0, max(0.0, end - time.monotonic())))
            return
        while time.monotonic() < end:
            m = _metrics(self.metrics_url, self.args.name)
            if m is None or m.get("nv_inference_pending_request_count", 0.0) == 0.0:
                return
            time.sleep(0.2)

    def trial(self, rate: float) -> Dict[str, Any]:
        a = self.args
        n_warm = int(round(rate * a.warmup))
        n_meas = max(a.min_requests, int(round(rate * a.duration)))
        n_meas = min(n_meas, a.max_requests - min(n_warm, a.max_requests // 2))
        n_warm = min(n_warm, a.max_requests - n_meas)
        n = n_warm + n_meas
        if a.arrivals == "poisson":
            gaps = self.rng.exponential(1.0 / rate, size=n)
        else:
            gaps = np.full(n, 1.0 / rate)
        offsets = np.cumsum(gaps) - gaps[0]
        items = self.rng.integers(0, len(self.inputs), size=n)
        if time.monotonic() + offsets[-1] + a.timeout > self.deadline:
            raise Deadline()
        # p99 < limit (nearest rank) holds while at most this many of the
        # measured requests are over the limit.
        allowed_over = n_meas - math.ceil(0.99 * n_meas)

        status = np.zeros(n, np.int8)
        arrive = np.zeros(n)
        sent = np.full(n, np.nan)
        done = np.full(n, np.nan)
        lock = threading.Lock()
        inflight: Dict[int, float] = {}
        errors: List[str] = []
        over = set()
        abort: List[str] = []
        results: "queue.Queue[Optional[Tuple[int, Any, Any]]]" = queue.Queue()
        worst = [0.0]

        def note_error(text: str) -> None:
            if len(errors) < 5:
                errors.append(text)

        def checker() -> None:
            while True:
                item = results.get()
                if item is None:
                    return
                k, result, error = item
                if error is not None:
                    st = FAILED
                    note_error("request %d: %s" % (k, _error_text(error)))
                else:
                    ratio, where = self.pool.check(int(items[k]), result)
                    st = OK if ratio <= 1.0 else WRONG
                    if st == WRONG:
                        note_error("request %d, %s" % (k, where))
                    else:
                        worst[0] = max(worst[0], ratio)
                with lock:
                    status[k] = st
                    if st != OK and not abort:
                        abort.append("a %s response" % ("wrong" if st == WRONG else "failed"))
                    if k >= n_warm and (st != OK or done[k] - arrive[k] > self.limit):
                        over.add(k)
                        if len(over) > allowed_over and not abort:
                            abort.append("more than 1%% of the measured requests over %g ms"
                                         % a.p99_limit_ms)

        def finish(k: int, result: Any, error: Any) -> None:
            # The time first; the check runs on the checker thread.
            t = time.perf_counter()
            with lock:
                done[k] = t
                inflight.pop(k, None)
            results.put((k, result, error))

        def make_callback(k: int) -> Any:
            return lambda result, error: finish(k, result, error)

        metrics0 = _metrics(self.metrics_url, a.name)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        check_thread = threading.Thread(target=checker, name="loadgen-checker", daemon=True)
        check_thread.start()
        wall0 = time.perf_counter()
        t0 = wall0 + 0.05
        last_scan = 0.0
        scheduled = 0
        for k in range(n):
            target = t0 + offsets[k]
            while True:
                now = time.perf_counter()
                if now - last_scan > 0.05:  # requests still out past the limit count as over
                    last_scan = now
                    with lock:
                        for j, tj in inflight.items():
                            if j >= n_warm and now - tj > self.limit:
                                over.add(j)
                        if len(over) > allowed_over and not abort:
                            abort.append("more than 1%% of the measured requests over %g ms"
                                         % a.p99_limit_ms)
                if abort or now >= target:
                    break
                time.sleep(min(target - now, 0.02))
            if abort:
                break
            with lock:
                if len(inflight) >= a.max_inflight:
                    abort.append("more than %d requests unanswered (--max-inflight)"
                                 % a.max_inflight)
                    break
                arrive[k] = target
                inflight[k] = target
            try:
                self.client.async_infer(a.name, self.inputs[int(items[k])], make_callback(k),
                                        client_timeout=a.timeout)
            except Exception as e:
                finish(k, None, e)
            sent[k] = time.perf_counter()
            scheduled = k + 1
        send_end = time.perf_counter()
        # Every request sent gets its callback by its deadline (--timeout).
        end = time.monotonic() + a.timeout + 10.0
        while time.monotonic() < end:
            with lock:
                if not inflight:
                    break
            time.sleep(0.02)
        results.put(None)
        check_thread.join(timeout=30.0)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        metrics1 = _metrics(self.metrics_url, a.name)
        wall = time.perf_counter() - wall0
        self.max_error_ratio = max(self.max_error_ratio, worst[0])

        meas = np.arange(n_warm, scheduled)
        ok = meas[status[meas] == OK]
        lat = np.sort(done[ok] - arrive[ok]) if ok.size else np.zeros(0)
        lag = np.sort(sent[:scheduled] - arrive[:scheduled]) if scheduled else np.zeros(0)
        span = (np.nanmax(done[ok]) - arrive[n_warm]) if ok.size else 0.0
        p99 = _percentile(lat, 99)
        mean_batch = None
        if metrics0 and metrics1:
            ex = (metrics1.get("nv_inference_exec_count", 0)
                  - metrics0.get("nv_inference_exec_count", 0))
            inf = metrics1.get("nv_inference_count", 0) - metrics0.get("nv_inference_count", 0)
            mean_batch = round(inf / ex, 3) if ex > 0 else None
        with lock:
            wrong = int(np.sum(status[:scheduled] == WRONG))
            # Unanswered (or unchecked) requests count as failed.
            failed = int(np.sum(status[:scheduled] != OK)) - wrong
        complete = scheduled == n and not abort
        sustained = (complete and wrong == 0 and failed == 0 and p99 is not None
                     and p99 < self.limit)

        def ms(v: Optional[float]) -> Optional[float]:
            return None if v is None else round(v * 1000.0, 3)

        return {
            "offered_rate": round(rate, 3),
            "arrivals": a.arrivals,
            "planned": {"warmup": n_warm, "measured": n_meas},
            "sent": scheduled,
            "measured": int(meas.size),
            "ok": int(np.sum(status[:scheduled] == OK)),
            "wrong": wrong,
            "failed": failed,
            "stopped_early": abort[0] if abort else None,
            "sustained": bool(sustained),
            "latency_ms": {"p50": ms(_percentile(lat, 50)), "p90": ms(_percentile(lat, 90)),
                           "p99": ms(p99), "max": ms(float(lat[-1]) if lat.size else None),
                           "mean": ms(float(lat.mean()) if lat.size else None)},
            "throughput_rps": round(ok.size / span, 3) if span > 0 else None,
            "send_lag_ms": {"p99": ms(_percentile(lag, 99)),
                            "max": ms(float(lag[-1]) if lag.size else None)},
            "mean_batch": mean_batch,
            "client_cpu_s": round((cpu1.ru_utime + cpu1.ru_stime)
                                  - (cpu0.ru_utime + cpu0.ru_stime), 3),
            "send_seconds": round(send_end - t0, 3),
            "wall_seconds": round(wall, 3),
            "max_error_ratio": round(worst[0], 4),
            "errors": errors,
        }


def _describe_trial(label: str, t: Dict[str, Any]) -> str:
    lat = t["latency_ms"]

    def f(v: Optional[float], unit: str = " ms") -> str:
        return "-" if v is None else "%.1f%s" % (v, unit)

    return ("%s: %.2f req/s offered: %d ok, %d wrong, %d failed; p50 %s, p99 %s; %s done; "
            "mean batch %s: %s" % (
                label, t["offered_rate"], t["ok"], t["wrong"], t["failed"], f(lat["p50"]),
                f(lat["p99"]), f(t["throughput_rps"], " req/s"),
                "-" if t["mean_batch"] is None else "%.2f" % t["mean_batch"],
                "sustained" if t["sustained"] else
                "not sustained (%s)" % (t["stopped_early"] or "p99 over the limit")))


def search(runner: Runner, label: str, args: argparse.Namespace) -> Tuple[List[Dict[str, Any]],
                                                                          Optional[Dict[str, Any]],
                                                                          str]:
    """The trials of a search, the highest sustained one, and why it ended."""
    end = min(time.monotonic() + args.search_seconds, runner.deadline)
    trials: List[Dict[str, Any]] = []
    best: Optional[Dict[str, Any]] = None
    fail_rate: Optional[float] = None
    rate = args.search_start
    why = ""
    while True:
        n_est = max(args.min_requests, rate * args.duration) + rate * args.warmup
        if time.monotonic() + n_est / rate + args.timeout > end:
            why = "the search's time (--search-seconds or --time-limit) was spent"
            break
        try:
            t = runner.trial(rate)
        except Deadline:
            why = "--time-limit reached"
            break
        trials.append(t)
        print(_describe_trial(label, t), flush=True)
        if t["wrong"]:
            why = "a wrong response"
            break
        if t["sustained"]:
            best = t
            rate = rate * 2 if fail_rate is None else (rate + fail_rate) / 2
        else:
            fail_rate = rate
            rate = rate / 2 if best is None else (best["offered_rate"] + rate) / 2
        if best is not None and fail_rate is not None \
                and fail_rate <= best["offered_rate"] * (1 + args.search_precision):
            why = "within --search-precision"
            break
        if best is None and rate < args.search_start / 64:
            why = "no rate down to %.3g req/s was sustained" % (args.search_start / 64)
            break
        runner.wait_idle()
    return trials, best, why


# -- the run ---------------------------------------------------------------------------------

def _git_commit() -> Optional[str]:
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, timeout=5, cwd=os.path.dirname(SERVER))
        return r.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def server_command(source: model_source.Source, args: argparse.Namespace, batching: str,
                   instances: int, ports: List[int], ready: str, time_limit: float) -> List[str]:
    cmd = [sys.executable, SERVER] + source.argv() + [
        "--name", args.name, "--precision", args.precision, "--instances", str(instances),
        "--batching", batching, "--max-batch", str(args.max_batch),
        "--max-steps", str(args.max_steps), "--step-quantum", str(args.step_quantum),
        "--warm", args.warm, "--address", "127.0.0.1",
        "--http-port", str(ports[0]), "--grpc-port", str(ports[1]),
        "--metrics-port", str(ports[2]), "--ready-file", ready,
        "--time-limit", "%.0f" % time_limit]
    if batching == "dynamic":
        cmd += ["--queue-delay-ms", "%g" % args.queue_delay_ms]
        if args.preferred_batch:
            cmd += ["--preferred-batch", args.preferred_batch]
    if args.device is not None:
        cmd += ["--device", args.device]
    if args.algorithm is not None:
        cmd += ["--algorithm", args.algorithm]
    return cmd


def run_configuration(source: model_source.Source, args: argparse.Namespace, pool: Pool,
                      batching: Optional[str], instances: Optional[int], deadline: float,
                      log_path: str, entry: Dict[str, Any]) -> None:
    """Runs one configuration, filling ``entry`` (already in the results, so
    that an interrupted configuration is reported too)."""
    label = entry["label"]
    server: Optional[StartedServer] = None
    runner: Optional[Runner] = None
    tmp = tempfile.mkdtemp(prefix="lstmcl-loadgen-")
    ready = os.path.join(tmp, "ready.json")
    try:
        if batching is not None:
            ports = _free_ports(3)
            remaining = deadline - time.monotonic()
            cmd = server_command(source, args, batching, instances, ports, ready, remaining + 120)
            print("%s: starting server.py (%s)" % (label, " ".join(cmd[2:])), flush=True)
            server = StartedServer(cmd, log_path, ready)
            entry["server"] = server.wait_ready(args.startup_timeout, deadline)
            url = "127.0.0.1:%d" % ports[1]
            metrics_url: Optional[str] = "127.0.0.1:%d" % ports[2]
        else:
            url, metrics_url = args.url, args.metrics_url
        runner = Runner(args, pool, url, metrics_url, deadline)
        cfg = runner.model_config()
        entry["triton_config"] = {
            "max_batch_size": int(cfg.get("max_batch_size", 0)),
            "dynamic_batching": cfg.get("dynamic_batching"),
            "instance_group": cfg.get("instance_group"),
            "x_dims": [runner.max_steps, pool.shape.input_size]}
        runner.check_each()
        print("%s: each of the %d pool sequences answered right alone" % (label, len(pool.x)),
              flush=True)
        if args.search:
            trials, best, why = search(runner, label, args)
            entry.update(mode="search", trials=trials, ended=why,
                         sustained_rate=best["offered_rate"] if best else None, best=best)
        else:
            t = runner.trial(args.rate)
            print(_describe_trial(label, t), flush=True)
            entry.update(mode="rate", trials=[t], sustained_rate=(
                t["offered_rate"] if t["sustained"] else None), best=t if t["sustained"] else None)
        entry["max_error_ratio"] = round(runner.max_error_ratio, 4)
    except (RunError, Deadline) as e:
        entry["error"] = str(e) if isinstance(e, RunError) else "--time-limit reached"
        if isinstance(e, WrongAnswer):
            entry["wrong_alone"] = 1
        print("%s: %s" % (label, entry["error"]), flush=True)
    except KeyboardInterrupt as e:
        entry["error"] = "interrupted by %s" % (str(e) or "SIGINT")
        raise
    finally:
        if runner is not None:
            runner.close()
        if server is not None:
            code = server.stop()
            entry["server_exit"] = code
            if code != 0 and "error" not in entry:
                entry["error"] = "server.py exited with %s: %s" % (
                    "status %d" % code if code is not None else "SIGKILL after the stop timed out",
                    server.log_tail())
                print("%s: %s" % (label, entry["error"]), flush=True)
        try:
            os.unlink(ready)
        except FileNotFoundError:
            pass
        os.rmdir(tmp)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    source = check_args(args)
    for module, package in (("tritonclient.grpc", "tritonclient[grpc]"),
                            ("lstmcl", "the lstmcl package (pip install . at the repository "
                                       "root)")):
        try:
            importlib.import_module(module)
        except ImportError:
            model_source.fail(PROG, "%s is not installed for %s (see python/serving/README.md)"
                              % (package, sys.executable))

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # Set, not inherited: a shell's background job starts with SIGINT
    # ignored, and the servers this program started must still be stopped.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    deadline = started + args.time_limit
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    notes = ["load average at the start: %s" % _loadavg()]
    try:
        pool = Pool(source, args)
    except model_source.SourceError as e:
        model_source.fail(PROG, str(e))
    except Exception as e:  # the package's own errors (lstmcl.Error, ValueError)
        text = str(e).strip().splitlines()
        model_source.fail(PROG, text[0] if text else "%s: %s" % (source.describe(),
                                                               type(e).__name__))
    print("%s: %s, %s; %d pool sequences of %d-%d steps, their answers from the CPU reference "
          "in %.1f s" % (PROG, pool.shape.describe(), source.describe(), len(pool.x),
                         pool.lengths.min(), pool.lengths.max(), pool.seconds), flush=True)
    own_log = args.server_log is None and args.url is None
    log_path = args.server_log or ""
    if own_log:
        fd, log_path = tempfile.mkstemp(prefix="lstmcl-loadgen-server-", suffix=".log")
        os.close(fd)
    configs: List[Tuple[Optional[str], Optional[int]]]
    if args.url:
        configs = [(None, None)]
    else:
        configs = [(b, k) for b in args.batching_list for k in args.instances_list]
    entries = []
    interrupted = None
    try:
        for batching, instances in configs:
            entry: Dict[str, Any] = {
                "label": "%s x%s" % (batching, instances) if batching else
                         "server at %s" % args.url,
                "batching": batching, "instances": instances}
            entries.append(entry)
            if time.monotonic() >= deadline:
                entry["error"] = "--time-limit reached before it ran"
                continue
            run_configuration(source, args, pool, batching, instances, deadline, log_path, entry)
    except KeyboardInterrupt as e:  # the server's stop ran in run_configuration's finally
        interrupted = str(e) or "SIGINT"
        notes.append("interrupted by %s" % interrupted)
    notes.append("load average at the end: %s" % _loadavg())
    notes.append("run wall time %.1f s" % (time.monotonic() - started))

    wrong = sum(t["wrong"] for e in entries for t in e.get("trials", [])) + sum(
        e.get("wrong_alone", 0) for e in entries)
    ok = interrupted is None and len(entries) == len(configs) and wrong == 0 and all(
        "error" not in e and e.get("sustained_rate") is not None for e in entries)
    summary: Dict[str, Any] = {"all_ok": ok, "wrong_responses": wrong,
                               "sustained_rates": {e["label"]: e.get("sustained_rate")
                                                   for e in entries}}
    rates = {e.get("batching"): e.get("sustained_rate") for e in entries
             if e.get("instances") == (args.instances_list[0] if not args.url else None)}
    if rates.get("dynamic") and rates.get("off"):
        summary["dynamic_over_off"] = round(rates["dynamic"] / rates["off"], 3)
    result = {
        "tool": PROG,
        "format_version": FORMAT_VERSION,
        "lstmcl_version": _lstmcl_version(),
        "git_commit": _git_commit(),
        "date": date,
        "host": platform.node(),
        "command": " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
        "notes": notes,
        "model": dict(pool.shape.as_dict(), source=source.describe(),
                      parameter_count=pool.parameter_count),
        "device": args.device if not args.url else None,
        "precision": args.precision,
        "protocol": "grpc",
        "pool": {"sequences": len(pool.x), "steps": list(args.steps_range),
                 "lengths": [int(t) for t in pool.lengths], "seed": args.data_seed,
                 "tolerance_scale": args.tolerance_scale},
        "load": {"p99_limit_ms": args.p99_limit_ms, "duration_s": args.duration,
                 "warmup_s": args.warmup, "min_requests": args.min_requests,
                 "max_requests": args.max_requests, "timeout_s": args.timeout,
                 "arrivals": args.arrivals},
        "configurations": entries,
        "summary": summary,
    }
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        os.replace(tmp, args.json)
    for e in entries:
        rate = e.get("sustained_rate")
        print("%s: %s: %s" % (PROG, e["label"], e["error"] if "error" in e else
                              "highest sustained rate %.2f req/s" % rate if rate is not None
                              else "no rate sustained (%s)" % e.get("ended", "see the trials")))
    if "dynamic_over_off" in summary:
        print("%s: dynamic batching sustains %.2fx the rate of batching off"
              % (PROG, summary["dynamic_over_off"]))
    if wrong:
        print("%s: %d WRONG responses" % (PROG, wrong))
    servers_failed = any("error" in e and not e["error"].startswith("interrupted")
                         for e in entries)
    if own_log and not servers_failed:
        os.unlink(log_path)
    elif servers_failed and log_path:
        print("%s: the servers' output: %s" % (PROG, log_path))
    if interrupted:
        return 130
    return 0 if ok else 1


def _lstmcl_version() -> Optional[str]:
    try:
        import lstmcl
        return lstmcl.__version__
    except (ImportError, AttributeError):
        return None


if __name__ == "__main__":
    sys.exit(main())
