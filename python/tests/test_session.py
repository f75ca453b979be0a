"""Model.session: streams fed in chunks get torch.nn.LSTM's whole-sequence
results, on every device."""
import numpy as np
import pytest
import torch

import lstmcl


def streams(rng, count, I, max_len):
    return [rng.uniform(-1, 1, (int(rng.integers(1, max_len + 1)), I)).astype(np.float32)
            for _ in range(count)]


def feed(session, xs, slots, chunk, rng):
    """Feeds each stream xs[k] into slots[k], in chunks of random lengths
    up to `chunk`, the streams that still have steps together in each call
    (in shuffled order); returns each stream's outputs."""
    pos = [0] * len(xs)
    ys = [[] for _ in xs]
    while any(p < len(x) for p, x in zip(pos, xs)):
        live = [k for k in range(len(xs)) if pos[k] < len(xs[k])]
        rng.shuffle(live)
        steps = [int(min(rng.integers(1, chunk + 1), len(xs[k]) - pos[k])) for k in live]
        T = max(steps)
        x = np.zeros((T, len(live), xs[0].shape[1]), np.float32)
        for c, k in enumerate(live):
            x[:steps[c], c] = xs[k][pos[k]:pos[k] + steps[c]]
        y = session.run(x, [slots[k] for k in live], steps)
        for c, k in enumerate(live):
            assert not y[steps[c]:, c].any(), "outputs past a stream's steps are zero"
            ys[k].append(y[:steps[c], c])
            pos[k] += steps[c]
    return [np.concatenate(y) for y in ys]


@pytest.mark.parametrize("opts", [pytest.param({}, id="plain"),
                                  pytest.param({"num_layers": 2, "proj_size": 3}, id="proj"),
                                  pytest.param({"num_layers": 3, "bias": False,
                                                "batch_first": True}, id="3-nobias-bf",
                                               marks=pytest.mark.full)])
def test_chunks_equal_whole_sequences(helpers, device, opts):
    torch.manual_seed(43)
    module = torch.nn.LSTM(5, 8, **opts).eval()
    L, H = module.num_layers, module.hidden_size
    Hout = module.proj_size or H
    rng = np.random.default_rng(43)
    xs = streams(rng, 4, 5, 11)
    slots = [6, 0, 3, 5]
    model = lstmcl.Model.from_torch(module, device=device)
    with model.session(max_streams=7, max_chunk=4) as s:
        assert isinstance(s.algorithm, str)
        h0 = rng.uniform(-1, 1, (L, 1, Hout)).astype(np.float32)
        c0 = rng.uniform(-1, 1, (L, 1, H)).astype(np.float32)
        s.reset([slots[0]], h0, c0)  # stream 0 starts from a given state
        ys = feed(s, xs, slots, 4, rng)
        h, c = s.state(slots)
    for k, x in enumerate(xs):
        tx = torch.from_numpy(x[:, None, :])
        if module.batch_first:
            tx = tx.transpose(0, 1)
        want = helpers.torch_lstm(module, tx, *((torch.from_numpy(h0), torch.from_numpy(c0))
                                                if k == 0 else ()))
        wy = want[0][0] if module.batch_first else want[0][:, 0]
        tol = helpers.tolerance(5, H, module.proj_size, L, 1, len(x))
        helpers.assert_close(ys[k], wy.numpy(), tol, "stream %d y" % k)
        helpers.assert_close(h[:, k], want[1][:, 0].numpy(), tol, "stream %d h" % k)
        helpers.assert_close(c[:, k], want[2][:, 0].numpy(), tol, "stream %d c" % k)


def test_reset_starts_a_new_stream(helpers, device):
    """A slot reset to zero serves a new stream: torch's result from zero
    state; other slots keep theirs."""
    torch.manual_seed(47)
    module = torch.nn.LSTM(3, 6).eval()
    rng = np.random.default_rng(47)
    a, b = rng.uniform(-1, 1, (2, 5, 2, 3)).astype(np.float32)
    model = lstmcl.Model.from_torch(module, device=device)
    s = model.session(2, 5)
    s.run(a, [0, 1])
    h_before, c_before = s.state([1])
    s.reset([0])
    y = s.run(torch.from_numpy(b[:, :1]), [0])
    assert isinstance(y, torch.Tensor)
    want = helpers.torch_lstm(module, torch.from_numpy(b[:, :1]))
    helpers.assert_close(y.numpy(), want[0].numpy(), helpers.tolerance(3, 6, T=5), "y")
    h_after, c_after = s.state([1])
    assert np.array_equal(h_before, h_after) and np.array_equal(c_before, c_after)
    s.reset()  # every slot
    h, c = s.state()
    assert h.shape == (1, 2, 6) and not h.any() and not c.any()
    model.close()
    assert "closed" in repr(s)
