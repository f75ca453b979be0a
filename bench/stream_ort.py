#!/usr/bin/env python3
"""onnxruntime's side of lstmcl-bench --suite stream (bench/stream.c runs it).

The same schedule and search as bench/stream.c, served by onnxruntime's LSTM
(one ONNX LSTM node, random weights of nn.LSTM's initial scale):
  ort-stream  one run per chunk, the stream's state through initial_h and
              initial_c and back from Y_h and Y_c;
  ort-batch   every stream with a chunk waiting in one run, the state
              gathered into initial_h/initial_c and scattered from Y_h/Y_c on
              the host: the best a careful onnxruntime user could write.
Prints "version V" and, per mode, "result MODE S P50 P99" (the largest
real-time S and its latencies in ms); progress goes to stderr.
"""
import argparse
import math
import sys
import time

import numpy as np


def stream_life(slot, generation):
    return 20 + (slot * 7919 + generation * 104729) % 30


def make_session(H, I):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(1)
    k = 1.0 / math.sqrt(H)
    W = rng.uniform(-k, k, (1, 4 * H, I)).astype(np.float32)
    R = rng.uniform(-k, k, (1, 4 * H, H)).astype(np.float32)
    B = rng.uniform(-k, k, (1, 8 * H)).astype(np.float32)
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "", "initial_h", "initial_c"],
                            ["", "Y_h", "Y_c"], hidden_size=H)
    graph = helper.make_graph(
        [node], "stream",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", I]),
         helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [1, "N", H]),
         helper.make_tensor_value_info("initial_c", TensorProto.FLOAT, [1, "N", H])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, "N", H]),
         helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, [1, "N", H])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R"),
         numpy_helper.from_array(B, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]), \
        ort.__version__


def run_trial(sess, H, I, C, step_ms, S, seconds, batched):
    P = C * step_ms
    D = seconds * 1e3
    h = np.zeros((S, H), np.float32)
    c = np.zeros((S, H), np.float32)
    x = (np.arange(C * S * I, dtype=np.float64) * 0.618 % 2.0 - 1.0).astype(np.float32)
    x = x.reshape(C, S, I)
    nxt = [i / S * P + P for i in range(S)]
    gen = [0] * S
    chunk = [0] * S
    life = [stream_life(i, 0) for i in range(S)]
    queued = [0] * S
    first = [0.0] * S
    lat = []
    chunks = served = 0
    # Warm-up outside the clock.
    n = S if batched else 1
    sess.run(None, {"X": x[:, :n], "initial_h": h[None, :n], "initial_c": c[None, :n]})
    t0 = time.monotonic() * 1e3
    while True:
        now = time.monotonic() * 1e3 - t0
        if now > D + P:
            break
        soonest = math.inf
        waiting = 0
        for i in range(S):
            while nxt[i] <= now and nxt[i] < D:
                if queued[i] == 0:
                    first[i] = nxt[i]
                queued[i] += 1
                chunks += 1
                nxt[i] += P
            if nxt[i] < D:
                soonest = min(soonest, nxt[i])
            waiting += queued[i] != 0
        if waiting == 0:
            if soonest == math.inf:
                break
            wait = soonest - (time.monotonic() * 1e3 - t0)
            if wait > 0:
                time.sleep(wait / 1e3)
            continue
        if batched:
            idx = [i for i in range(S) if queued[i]]
        else:
            idx = [min((i for i in range(S) if queued[i]), key=lambda i: first[i])]
        sel = np.array(idx)
        yh, yc = sess.run(None, {"X": x[:, :len(idx)], "initial_h": h[sel][None],
                                 "initial_c": c[sel][None]})
        h[sel] = yh[0]
        c[sel] = yc[0]
        done = time.monotonic() * 1e3 - t0
        for i in idx:
            lat.append(done - first[i])
            served += 1
            queued[i] -= 1
            first[i] += P
            chunk[i] += 1
            if chunk[i] == life[i]:
                gen[i] += 1
                chunk[i] = 0
                life[i] = stream_life(i, gen[i])
                h[i] = 0
                c[i] = 0
    lat.sort()
    p50 = lat[len(lat) // 2] if lat else math.nan
    p99 = lat[int(0.99 * (len(lat) - 1))] if lat else math.nan
    return served == chunks and bool(lat) and p99 <= P, p50, p99


def search(sess, a, batched, name):
    def trial(S, seconds):
        ok, p50, p99 = run_trial(sess, a.hidden, a.input, a.chunk, a.step_ms, S, seconds,
                                 batched)
        print("stream %s H%d: S=%d p50 %.1f ms p99 %.1f ms %s"
              % (name, a.hidden, S, p50, p99, "real time" if ok else "behind"),
              file=sys.stderr, flush=True)
        return ok, p50, p99
    lo, hi, S = 0, 0, 1
    while S <= a.max_streams:
        if not trial(S, a.search_seconds)[0]:
            hi = S
            break
        lo = S
        S *= 2
    if hi == 0:
        hi = a.max_streams + 1
    while hi - lo > 1 and hi - lo > lo // 10:
        S = lo + (hi - lo) // 2
        if trial(S, a.search_seconds)[0]:
            lo = S
        else:
            hi = S
    while lo > 0:
        ok, p50, p99 = trial(lo, a.confirm_seconds)
        if ok:
            return lo, p50, p99
        lo = lo * 9 // 10
    return 0, math.nan, math.nan


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--input", type=int, required=True)
    ap.add_argument("--chunk", type=int, default=10)
    ap.add_argument("--step-ms", type=float, default=10.0)
    ap.add_argument("--max-streams", type=int, default=512)
    ap.add_argument("--search-seconds", type=float, default=5.0)
    ap.add_argument("--confirm-seconds", type=float, default=20.0)
    a = ap.parse_args()
    sess, version = make_session(a.hidden, a.input)
    print("version %s" % version, flush=True)
    for name, batched in (("ort-stream", False), ("ort-batch", True)):
        S, p50, p99 = search(sess, a, batched, name)
        print("result %s %d %.3f %.3f" % (name, S, p50, p99), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
