"""The network experiment: van Rossum distance, gradients, quantization, data, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import import_or_unavailable

from spikemem.snn.data import input_spikes, target_raster
from spikemem.snn.network import LifConstants
from spikemem.snn.quant import quantize_errors, quantize_gradients, quantize_weights
from spikemem.snn.train import SpikingNetwork, TrainSettings, train
from spikemem.snn.van_rossum import KERNEL_DECAY, TAU, van_rossum, van_rossum_and_grad


def test_van_rossum_matches_elephant():
    neo = import_or_unavailable("neo")
    pq = import_or_unavailable("quantities")
    from elephant.spike_train_dissimilarity import van_rossum_distance

    rng = np.random.default_rng(7)
    steps, n, tail = 120, 6, 200  # trains followed by silence, so the discrete sum is complete
    x = (rng.random((steps, n)) < 0.1).astype(float)
    y = (rng.random((steps, n)) < 0.1).astype(float)
    padded = [np.vstack([r, np.zeros((tail, n))]) for r in (x, y)]
    ours = van_rossum(*padded)

    tau_c = -1.0 / np.log(KERNEL_DECAY)
    total = 0.0
    for j in range(n):
        trains = [neo.SpikeTrain(np.flatnonzero(r[:, j]) * pq.ms, t_stop=(steps + tail) * pq.ms) for r in (x, y)]
        total += van_rossum_distance(trains, time_constant=tau_c * pq.ms)[0, 1] ** 2
    expected = np.sqrt(total / ((1 - KERNEL_DECAY**2) * TAU))
    assert ours == pytest.approx(expected, rel=1e-9)


def test_van_rossum_gradient_is_exact():
    rng = np.random.default_rng(0)
    x, y = rng.random((30, 4)), (rng.random((30, 4)) < 0.2).astype(float)
    d, g = van_rossum_and_grad(x, y)
    assert d == pytest.approx(van_rossum(x, y))
    eps = 1e-6
    for idx in [(0, 0), (5, 2), (29, 3)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        assert g[idx] == pytest.approx((van_rossum(xp, y) - van_rossum(xm, y)) / (2 * eps), rel=1e-6)


def test_surrogate_gradients_match_finite_differences():
    """BPTT of the surrogate-smoothed network (spike = u / (1 + 100 |u|), whose derivative is the
    surrogate; resets held at the values of a reference pass, as the gradient treats them)."""
    rng = np.random.default_rng(3)
    sizes = (7, 5, 4)
    settings = TrainSettings(None, seed=1, epochs=1, weight_scale=3.0)
    net = SpikingNetwork(sizes, settings, dtype=np.float64)
    x = (rng.random((25, 7)) < 0.3).astype(np.float64)
    target = (rng.random((25, 4)) < 0.2).astype(np.float64)
    _, spikes, _ = net.forward(x)  # reference pass: the Heaviside spikes are the resets
    resets = [s.copy() for s in spikes]
    _, grads, _ = net.loss_and_gradients(x, target, smooth=True, resets=resets)

    def loss() -> float:
        _, s, _ = net.forward(x, smooth=True, resets=resets)
        return van_rossum(s[-1], target)

    eps = 1e-6
    checked = 0
    for k, w in enumerate(net.weights):
        for idx in [tuple(rng.integers(0, d) for d in w.shape) for _ in range(6)]:
            old = w[idx]
            w[idx] = old + eps
            up = loss()
            w[idx] = old - eps
            down = loss()
            w[idx] = old
            numeric = (up - down) / (2 * eps)
            assert grads[k][idx] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
            checked += abs(numeric) > 1e-6
    assert checked >= 4, "the check must exercise non-zero gradients"


def test_weight_quantization_levels_and_zeros():
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1, 10000).astype(np.float32)
    q2, lv2 = quantize_weights(w, 2, 2.0)
    assert set(np.unique(lv2)) == {-1, 0, 1} and np.allclose(q2, lv2 * 1.0)
    _, lv5 = quantize_weights(w, 5, 2.0)
    assert lv5.min() >= -15 and lv5.max() <= 15
    assert np.count_nonzero(lv2 == 0) > np.count_nonzero(lv5 == 0)  # low precision rounds more to zero


def test_error_and_gradient_quantization():
    rng = np.random.default_rng(1)
    e = rng.normal(0, 1e-3, (50, 20)).astype(np.float32)
    q = quantize_errors(e, 8)
    assert np.max(np.abs(q - e)) <= np.max(np.abs(e)) / 64
    g = rng.normal(0, 1e-2, (40, 30)).astype(np.float32)
    means = np.mean([quantize_gradients(g, 4, np.random.default_rng(s)) for s in range(400)], axis=0)
    scale = 2.0 ** np.round(np.log2(np.abs(g).max()))
    inside = np.abs(g) <= scale * (1 - 2.0**-3)  # WAGE clips beyond the top level
    assert inside.mean() > 0.9
    assert np.allclose(means[inside], g[inside], atol=1.5e-3)  # stochastic rounding is unbiased
    assert np.all(np.abs(means[~inside]) <= np.abs(g[~inside]))


def test_data_is_fixed_and_as_specified():
    x = input_spikes(700, 250, seed=0)
    assert x.shape == (250, 700) and set(np.unique(x)) <= {0.0, 1.0}
    rates = x.mean(axis=0)
    assert rates[:5].mean() > 0.6 and rates[-50:].mean() < 0.05  # mean ISI 1.25 -> 36 steps
    assert np.array_equal(x, input_spikes(700, 250, seed=0))
    y = target_raster(250, 250, seed=0)
    assert y.shape == (250, 250) and 0.05 < y.mean() < 0.4


def test_training_reduces_distance_and_is_deterministic():
    x = input_spikes(40, 60, seed=0)
    y = target_raster(20, 60, seed=0)
    settings = TrainSettings(3, seed=2, epochs=25, learning_rate=0.01)
    a = train(x, y, (40, 30, 20), settings)
    b = train(x, y, (40, 30, 20), settings)
    assert a.curve == b.curve and a.events == b.events
    assert a.min_distance < a.curve[0]
    for layer in ("hidden", "output"):
        assert 0 < a.densities[layer] <= 1
        counts = a.events[0][layer]
        assert counts["forward_rows"] > 0 and counts["updates_on_nonzero"] <= counts["updates"]
    assert LifConstants().threshold == 0.9
