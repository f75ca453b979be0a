"""server.py and loadgen.py end to end, on small models: flags refused with
one line, a served model's answers against lstmcl's CPU reference (several
sequences of different lengths in one request, a bad length refused), the
stop on SIGTERM, and load-generator runs with batching on and off.

Run with the serving environment's Python (README.md beside this file):

    build-serve-venv/bin/python -m pytest python/serving/test_serving.py

Every subprocess and every wait is bounded. The device is $LSTMCL_DEVICE,
else lstmcl's default; without an OpenCL device the served tests skip.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("pytriton.triton")
grpcclient = pytest.importorskip("tritonclient.grpc")
lstmcl = pytest.importorskip("lstmcl")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SERVER = os.path.join(HERE, "server.py")
LOADGEN = os.path.join(HERE, "loadgen.py")
BASIC = os.path.join(ROOT, "tests", "cli", "data", "st_basic.safetensors")  # LSTM(5, 7)
INF_BIAS = os.path.join(ROOT, "tests", "cli", "malformed", "st_inf_bias.safetensors")
DEVICE = os.environ.get("LSTMCL_DEVICE")

needs_device = pytest.mark.skipif(not lstmcl.devices() and DEVICE != "cpu",
                                  reason="no OpenCL device")


def device_flags():
    return ["--device", DEVICE] if DEVICE else []


def free_ports(count):
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run(args, timeout):
    return subprocess.run([sys.executable] + args, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def one_line(text):
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("flags, says", [
    ([], "exactly one of --weights"),
    (["--weights", "/nonexistent.safetensors"], "/nonexistent.safetensors: no such file"),
    (["--weights", BASIC, "--lstm", "5,7,1"], "given: --weights, --lstm"),
    (["--lstm", "5,x,1"], "--lstm '5,x,1'"),
    (["--module", "nocolon"], "expected MODULE:NAME"),
    (["--lstm", "5,7,1", "--preferred-batch", "4,64"], "a size above --max-batch 16"),
    (["--lstm", "5,7,1", "--instances", "0"], "--instances 0"),
    (["--lstm", "5,7,1", "--ready-file", "/nonexistent/ready.json"], "/nonexistent"),
])
def test_server_flags_refused(flags, says):
    r = run([SERVER] + flags, timeout=60)
    assert r.returncode == 2
    assert says in one_line(r.stderr)


@pytest.mark.parametrize("flags, says", [
    (["--lstm", "5,7,1"], "one of the arguments --rate --search is required"),
    (["--lstm", "5,7,1", "--rate", "1", "--url", "10.0.0.1:8001"], "on loopback"),
    (["--lstm", "5,7,1", "--rate", "1", "--steps", "10-200"], "longer than --max-steps 100"),
    (["--lstm", "5,7,1", "--rate", "1", "--batching", "dynamic,sometimes"], "--batching"),
])
def test_loadgen_flags_refused(flags, says):
    r = run([LOADGEN] + flags, timeout=60)
    assert r.returncode == 2
    assert says in r.stderr.strip().splitlines()[-1]


@needs_device
def test_bad_model_file_refused():
    ports = free_ports(3)
    r = run([SERVER, "--weights", INF_BIAS, "--http-port", str(ports[0]), "--grpc-port",
             str(ports[1]), "--metrics-port", str(ports[2]), "--time-limit", "60"]
            + device_flags(), timeout=180)
    assert r.returncode == 2
    mine = [ln for ln in r.stderr.splitlines() if ln.startswith("lstmcl-serve:")]
    assert len(mine) == 1 and "st_inf_bias.safetensors" in mine[0] and "bias_ih_l0" in mine[0]


@needs_device
def test_serve_answers_and_stops(tmp_path):
    ports = free_ports(3)
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--weights", BASIC, "--max-steps", "10", "--max-batch", "4",
         "--http-port", str(ports[0]), "--grpc-port", str(ports[1]),
         "--metrics-port", str(ports[2]), "--ready-file", str(ready), "--time-limit", "240"]
        + device_flags(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 180
        while not ready.exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < end, "the server did not serve in 180 s"
            time.sleep(0.2)
        info = json.loads(ready.read_text())
        assert info["lstm"]["input_size"] == 5 and info["max_steps"] == 10

        client = grpcclient.InferenceServerClient("127.0.0.1:%d" % ports[1])
        try:
            rng = np.random.default_rng(0)
            x = rng.standard_normal((3, 10, 5)).astype(np.float32)
            lengths = [10, 3, 7]

            def request(x, lengths):
                xi = grpcclient.InferInput("x", list(x.shape), "FP32")
                xi.set_data_from_numpy(x)
                li = grpcclient.InferInput("lengths", [len(lengths), 1], "INT32")
                li.set_data_from_numpy(np.array(lengths, np.int32)[:, None])
                return client.infer("lstm", [xi, li], client_timeout=60)

            r = request(x, lengths)
            y, hn, cn = r.as_numpy("y"), r.as_numpy("hn"), r.as_numpy("cn")
            assert y.shape == (3, 10, 7) and hn.shape == (3, 1, 7) and cn.shape == (3, 1, 7)
            ref = lstmcl.load(BASIC, device="cpu")
            for k, t in enumerate(lengths):
                yr, (hr, cr) = ref(x[k, :t, None, :])
                np.testing.assert_allclose(y[k, :t], yr[:, 0], atol=1e-5)
                assert not np.any(y[k, t:])
                np.testing.assert_allclose(hn[k], hr[:, 0], atol=1e-5)
                np.testing.assert_allclose(cn[k], cr[:, 0], atol=1e-5)
            ref.close()
            with pytest.raises(Exception, match=r"lengths\[0\] = 11, outside 1\.\.10"):
                request(x[:1], [11])
        finally:
            client.close()

        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0, out
        assert time.monotonic() - t0 < 60
        assert "stopped (SIGTERM)" in out
        assert not ready.exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@needs_device
def test_loadgen_batching_on_and_off(tmp_path):
    out = tmp_path / "run.json"
    r = run([LOADGEN, "--lstm", "8,16,2", "--batching", "dynamic,off", "--rate", "20",
             "--duration", "2", "--warmup", "0.5", "--min-requests", "30", "--max-steps", "30",
             "--steps", "3-30", "--pool", "6", "--time-limit", "400", "--json", str(out)]
            + device_flags(), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    d = json.loads(out.read_text())
    assert d["summary"]["all_ok"] and d["summary"]["wrong_responses"] == 0
    assert [c["label"] for c in d["configurations"]] == ["dynamic x1", "off x1"]
    for c in d["configurations"]:
        (t,) = c["trials"]
        assert t["wrong"] == 0 and t["failed"] == 0 and t["sustained"]
        assert t["latency_ms"]["p99"] is not None and c["server_exit"] == 0
    assert "dynamic_over_off" in d["summary"]


@needs_device
def test_loadgen_reports_a_server_that_fails(tmp_path):
    out = tmp_path / "run.json"
    r = run([LOADGEN, "--lstm", "4,8,1", "--device", "no such device", "--rate", "5",
             "--duration", "1", "--pool", "2", "--steps", "3-5", "--time-limit", "200",
             "--json", str(out), "--server-log", str(tmp_path / "server.log")], timeout=300)
    assert r.returncode == 1
    (c,) = json.loads(out.read_text())["configurations"]
    assert c["server_exit"] == 2 and "no such device" in c["error"]
    assert "no such device" in (tmp_path / "server.log").read_text()
