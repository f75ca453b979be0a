"""Python threads sharing one model: correct results, and as much overlap
as the C API's threading rules allow (calls on one model one at a time,
sessions of a model at once, the GIL released while the library works)."""
import threading

import numpy as np
import pytest
import torch

import lstmcl


def run_threads(targets):
    errors = []

    def wrap(fn):
        def body():
            try:
                fn()
            except BaseException as e:  # reported by the main thread
                errors.append(e)
        return body

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_threads_on_one_model(helpers, device):
    """Four threads call one model over and over, each on its own inputs:
    each gets torch's result for its inputs."""
    torch.manual_seed(53)
    module = torch.nn.LSTM(6, 9, 2, bidirectional=True).eval()
    model = lstmcl.Model.from_torch(module, device=device)
    rng = np.random.default_rng(53)
    xs = [rng.uniform(-1, 1, (5, 2 + k % 2, 6)).astype(np.float32) for k in range(4)]
    want = [helpers.torch_lstm(module, torch.from_numpy(x)) for x in xs]
    tol = helpers.tolerance(6, 9, 0, 2, 2, 5)

    def worker(k):
        def fn():
            for _ in range(5):
                y, (hn, cn) = model(xs[k], lengths=[5] + [3] * (xs[k].shape[1] - 1))
                ref = helpers.torch_lstm(module, torch.from_numpy(xs[k]),
                                         lengths=[5] + [3] * (xs[k].shape[1] - 1))
                helpers.assert_close(y, ref[0].numpy(), tol, "thread %d y" % k)
                helpers.assert_close(cn, ref[2].numpy(), tol, "thread %d cn" % k)
                y, _ = model(torch.from_numpy(xs[k]))
                helpers.assert_close(y.numpy(), want[k][0].numpy(), tol, "thread %d" % k)
        return fn

    run_threads([worker(k) for k in range(4)])


def test_threads_on_sessions(helpers, device):
    """Three threads each stream through a session of one model while a
    fourth calls the model itself: every result is torch's."""
    torch.manual_seed(59)
    module = torch.nn.LSTM(4, 7, 2).eval()
    model = lstmcl.Model.from_torch(module, device=device)
    rng = np.random.default_rng(59)
    xs = [rng.uniform(-1, 1, (12, 2, 4)).astype(np.float32) for _ in range(3)]
    tol = helpers.tolerance(4, 7, 0, 2, 1, 12)
    sessions = [model.session(2, 3) for _ in xs]

    def streamer(k):
        def fn():
            s, x = sessions[k], xs[k]
            for rep in range(2):
                s.reset()
                # Column n of x, stream n, lives in slot 1 - n.
                y = np.concatenate([s.run(x[t:t + 3], [1, 0]) for t in range(0, 12, 3)])
                want = helpers.torch_lstm(module, torch.from_numpy(x))
                helpers.assert_close(y, want[0].numpy(), tol, "session %d y" % k)
                h, c = s.state([1, 0])
                helpers.assert_close(c, want[2].numpy(), tol, "session %d c" % k)
        return fn

    def caller():
        x = xs[0][:, :1]
        want = helpers.torch_lstm(module, torch.from_numpy(x))
        for _ in range(4):
            helpers.assert_close(model(x)[0], want[0].numpy(), tol, "model call")

    run_threads([streamer(k) for k in range(3)] + [caller])
    for s in sessions:
        s.close()


def test_gil_released_during_a_call():
    """While a long call runs on the CPU reference path (on its own
    thread), Python code runs on another: the call does not hold the GIL."""
    torch.manual_seed(61)
    model = lstmcl.Model.from_torch(torch.nn.LSTM(128, 256), device="cpu")
    x = np.random.default_rng(61).uniform(-1, 1, (4000, 1, 128)).astype(np.float32)
    started, done = threading.Event(), threading.Event()

    def call():
        started.set()
        model(x)
        done.set()

    t = threading.Thread(target=call)
    t.start()
    started.wait()
    spins = 0
    while not done.is_set():
        spins += 1
    t.join()
    # Held for the call (about a second), the GIL would let this loop run
    # only in the thread's switch intervals before and after it.
    assert spins > 1000000, spins


def test_sessions_overlap():
    """A short session call of one model finishes while a long one of
    another session of the same model is still running: sessions are not
    serialised (on the CPU reference path, where each runs on its thread)."""
    torch.manual_seed(67)
    model = lstmcl.Model.from_torch(torch.nn.LSTM(128, 256), device="cpu")
    long_s, short_s = model.session(1, 4000), model.session(1, 4000)
    x = np.random.default_rng(67).uniform(-1, 1, (4000, 1, 128)).astype(np.float32)
    entered, finished = threading.Event(), threading.Event()

    def long_call():
        entered.set()
        long_s.run(x, [0])
        finished.set()

    t = threading.Thread(target=long_call)
    t.start()
    entered.wait()
    finished.wait(0.2)  # the long call is inside the library by now
    short_s.run(x[:2], [0])
    overlapped = not finished.is_set()
    t.join()
    assert overlapped, "the short call waited for the long one"


@pytest.mark.full
def test_models_of_one_file_in_threads(helpers, device):
    """Graphs of one ONNX file in several threads (each its own context)."""
    import os
    path = os.path.join(helpers.cli_data, "tx_2bi_init.onnx")
    data = {k: np.load(os.path.join(helpers.cli_data, "tx_2bi_init_%s.npy" % k))
            for k in ("x", "h0", "c0", "y")}
    graphs = [lstmcl.load(path, device=device) for _ in range(3)]

    def worker(g):
        def fn():
            for _ in range(3):
                y = g(data["x"], data["h0"], data["c0"])[0]
                helpers.assert_close(y, data["y"], helpers.tolerance(14, 7, 0, 2, 2, 6), "y")
        return fn

    run_threads([worker(g) for g in graphs])
