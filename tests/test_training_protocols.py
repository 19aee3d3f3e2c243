"""The two training protocols: the authors' (spikemem.snn.paper_protocol) and the batched adaptive one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikemem.snn.adaptive_batch import train_adaptive
from spikemem.snn.data import input_spikes, target_raster
from spikemem.snn.network import LifConstants
from spikemem.snn.paper_protocol import (
    BitVector,
    PaperBatch,
    PaperSettings,
    grid_step,
    initial_zero_fraction,
    layer_backward,
    layer_forward,
    layer_scale,
    power_of_two_near,
    train_paper,
)
from spikemem.snn.stages import retention_scores
from spikemem.snn.train import TrainSettings, plateau_reached, train
from spikemem.snn.van_rossum import van_rossum_and_grad, van_rossum_batch_and_grad

SIZES = (40, 30, 20)
STEPS = 50


@pytest.fixture(scope="module")
def data():
    return input_spikes(SIZES[0], STEPS, seed=0), target_raster(SIZES[2], STEPS, seed=0)


def test_backward_loop_is_the_gradient_of_the_smoothed_layer_when_errors_pass_exactly():
    """With the quantizers off, the paper protocol's step-by-step backward pass is the gradient of
    the surrogate-smoothed layer (resets held), checked by central differences."""
    rng = np.random.default_rng(0)
    c = LifConstants()
    current = rng.normal(0.35, 0.3, (12, 1, 5))
    weights = rng.normal(size=current.shape)
    spikes, above, masks = layer_forward(current, None, c)
    reset = above > 0

    def loss(cur):
        s, _, _ = layer_forward(cur, None, c, smooth=True, reset=reset)
        return float(np.sum(weights * s))

    grad = layer_backward(weights, above, masks, None, c)
    eps = 1e-6
    for idx in [(t, 0, i) for t in range(12) for i in range(5)]:
        plus, minus = current.copy(), current.copy()
        plus[idx] += eps
        minus[idx] -= eps
        fd = (loss(plus) - loss(minus)) / (2 * eps)
        assert grad[idx] == pytest.approx(fd, rel=1e-4, abs=1e-7), idx


def test_error_quantizer_renormalizes_by_the_nearest_power_of_two():
    e = np.array([[0.3, -0.05, 0.001], [0.0, 0.0, 0.0]], np.float32)
    q = BitVector([4, 4]).normalize_errors(e)
    # peak 0.3: nearest power of two 0.25; 0.3/0.25 = 1.2 clips to 1 - 2**-3, -0.2 rounds to -0.25.
    assert q[0].tolist() == [0.875, -0.25, 0.0]
    assert not q[1].any()
    assert power_of_two_near(np.array([0.7, 0.75, 3.0, 0.0], np.float32)).tolist() == [0.5, 1.0, 4.0, 1.0]


def test_layer_scales_are_the_authors_powers_of_two():
    assert [layer_scale(wb, 700) for wb in (2, 3, 4, 5, 6)] == [16, 16, 16, 16, 16]
    assert [layer_scale(wb, 400) for wb in (2, 3, 4, 5)] == [8, 8, 8, 8]
    assert layer_scale(6, 400) == 16


@pytest.mark.parametrize("wb", [2, 3, 5])
def test_initial_density_is_what_the_uniform_initialization_implies(wb):
    batch = PaperBatch((700, 400, 250), [PaperSettings(weight_bits=wb, seed=3, epochs=1)])
    zeros = np.mean(batch.levels()[0] == 0)
    expected = initial_zero_fraction(wb, 8)
    sigma = np.sqrt(expected * (1 - expected) / (700 * 400))
    assert abs(zeros - expected) < 5 * sigma, (zeros, expected)
    # The authors' figure: about 1 / (2**wb - 1) zeros.
    assert zeros == pytest.approx(1 / (2**wb - 1), abs=0.01)


def test_fixed_step_update_moves_weights_by_at_most_two_whole_quanta_and_clips(data):
    x, y = data
    settings = [
        PaperSettings(weight_bits=wb, seed=s, epochs=1, gradient_bits=gb) for wb, s, gb in ((2, 0, 8), (5, 1, 10))
    ]
    batch = PaperBatch(SIZES, settings)
    moved_total = 0
    for _ in range(4):
        before = [w.copy() for w in batch.weights]
        batch.epoch(x, y)
        for k, w in enumerate(batch.weights):
            for b, s in enumerate(settings):
                steps = (w[b] - before[k][b]) / grid_step(s.gradient_bits)
                assert np.array_equal(steps, np.rint(steps)), "a weight moved by a fraction of a quantum"
                assert np.abs(steps).max() <= 2
                moved_total += np.count_nonzero(steps)
                bound = 1 - grid_step(s.weight_bits)
                assert np.abs(w[b]).max() <= bound
                levels = np.rint(w[b] * 2 ** (s.weight_bits - 1))
                assert np.abs(levels).max() <= 2 ** (s.weight_bits - 1) - 1
    assert moved_total > 0
    # Shadow clipping: a weight pushed out of range comes back to the bound before the forward.
    batch.weights[0][0, 0, 0] = 5.0
    batch.clip_weights()
    assert batch.weights[0][0, 0, 0] == 1 - grid_step(2)


def test_compiled_loops_equal_the_numpy_reference_bit_for_bit(data):
    x, y = data
    settings = [
        PaperSettings(weight_bits=2, seed=0, epochs=5),
        PaperSettings(weight_bits=3, seed=1, epochs=5, activation_bits=6, error_bits=6),
        PaperSettings(weight_bits=5, seed=2, epochs=5, activation_bits=8, error_bits=8, gradient_bits=9),
    ]
    ref = train_paper(x, y, SIZES, settings, compiled=False)
    fast = train_paper(x, y, SIZES, settings, compiled=True)
    for r, f in zip(ref, fast, strict=True):
        assert r.curve == f.curve
        assert r.events == f.events
        assert all(np.array_equal(a, b) for a, b in zip(r.final_levels, f.final_levels, strict=True))


def test_a_run_depends_on_its_seed_alone_not_on_its_batch(data):
    x, y = data
    alone = train_paper(x, y, SIZES, [PaperSettings(weight_bits=3, seed=7, epochs=4)])[0]
    again = train_paper(x, y, SIZES, [PaperSettings(weight_bits=3, seed=7, epochs=4)])[0]
    batched = train_paper(
        x, y, SIZES, [PaperSettings(weight_bits=w, seed=s, epochs=4) for w, s in ((2, 1), (3, 7), (5, 7))]
    )[1]
    other = train_paper(x, y, SIZES, [PaperSettings(weight_bits=3, seed=8, epochs=4)])[0]
    assert alone.curve == again.curve == batched.curve
    assert all(np.array_equal(a, b) for a, b in zip(alone.final_levels, batched.final_levels, strict=True))
    assert alone.curve != other.curve
    assert alone.settings["protocol"] == "paper" and alone.final_densities.keys() == alone.densities.keys()


def test_batched_van_rossum_equals_the_single_one():
    rng = np.random.default_rng(1)
    x = (rng.random((30, 3, 8)) < 0.2).astype(np.float32)
    y = (rng.random((30, 8)) < 0.2).astype(np.float32)
    dist, grad = van_rossum_batch_and_grad(x, y, 0.875)
    for b in range(3):
        d, g = van_rossum_and_grad(x[:, b], y, 0.875)
        assert dist[b] == pytest.approx(d, rel=1e-6)
        np.testing.assert_allclose(grad[:, b], g, rtol=1e-5, atol=1e-7)


def test_gradient_bits_must_exceed_weight_bits():
    with pytest.raises(ValueError, match="gradient bits"):
        PaperSettings(weight_bits=8, seed=0, epochs=1, gradient_bits=8)


def test_plateau_rule_stops_only_on_a_flat_curve():
    falling = list(np.linspace(100, 50, 400))
    assert not plateau_reached(falling, 100, 0.01)
    flat = falling + [49.9] * 100
    assert plateau_reached(flat, 100, 0.01)
    assert not plateau_reached(falling[:150], 100, 0.01)  # too short to judge


def test_retention_scores_give_the_best_run_and_mean_and_sd():
    rows = []
    for tset, base in (("paper-a12e12g8", 10.0), ("paper-a8e8g8", 12.0)):
        for wb in (2, 5):
            for seed, extra in enumerate((0.0, 1.0, 2.0)):
                rows.append(
                    {
                        "protocol": "paper",
                        "training_set": tset,
                        "weight_bits": wb,
                        "seed": seed,
                        "min_van_rossum": base + extra + (1.0 if wb == 2 else 0.0),
                        "hidden_density": 0.5,
                        "output_density": 0.6,
                        "hidden_final_density": 0.55,
                        "output_final_density": 0.65,
                    }
                )
    scores = retention_scores(pd.DataFrame(rows)).set_index(["training_set", "weight_bits"])
    row = scores.loc[("paper-a8e8g8", 2)]
    assert row.min_van_rossum_mean == pytest.approx(14.0) and row.min_van_rossum_sd == pytest.approx(1.0)
    # The best run is over the whole sweep: the a12 point, seed 0.
    assert row.best_training_set == "paper-a12e12g8" and row.best_min_van_rossum == 11.0 and row.best_seed == 0


@pytest.mark.parametrize("quantized", [True, False])
def test_batched_adaptive_training_follows_the_single_network_reference(data, quantized):
    """The compiled, batched adaptive protocol computes what the numpy reference (train) does:
    same random streams in the same order, same events; the losses agree to float32 rounding."""
    x, y = data
    settings = [
        TrainSettings(weight_bits=wb if quantized else None, seed=s, epochs=6, freeze_structure=f)
        for wb, s, f in ((2, 0, False), (3, 1, True), (5, 2, False))
    ]
    batched = train_adaptive(x, y, SIZES, settings)
    for s, b in zip(settings, batched, strict=True):
        ref = train(x, y, SIZES, s)
        np.testing.assert_allclose(b.curve, ref.curve, rtol=1e-6)
        assert b.events == ref.events
        for p, q in zip(b.final_levels, ref.final_levels, strict=True):
            assert (p is None and q is None) or np.array_equal(p, q)
        assert b.densities == ref.densities and b.best_epoch == ref.best_epoch


def test_batched_adaptive_networks_stop_on_their_own_plateau(data):
    x, y = data
    # A zero learning rate cannot improve: the curve is flat from the start, so every network stops
    # at the first check; the float one is as flat.
    flat = [TrainSettings(weight_bits=wb, seed=0, epochs=50, learning_rate=1e-12, plateau_window=4) for wb in (2, 5)]
    for r in train_adaptive(x, y, SIZES, flat):
        assert len(r.curve) == 8 and r.stop_reason.startswith("plateau after 8 epochs")
    free = train_adaptive(x, y, SIZES, [TrainSettings(weight_bits=3, seed=0, epochs=6, plateau_window=100)])[0]
    assert len(free.curve) == 6 and "no plateau" in free.stop_reason


def _zero_at_start(settings, sizes):
    """The synapses whose level is zero before the first update, per network and layer."""
    if isinstance(settings[0], PaperSettings):
        return [[lv[b] == 0 for lv in PaperBatch(sizes, settings).levels()] for b in range(len(settings))]
    from spikemem.snn.adaptive_batch import AdaptiveBatch

    levels = AdaptiveBatch(sizes, settings).levels
    return [[lv[b] == 0 for lv in levels] for b in range(len(settings))]


@pytest.mark.parametrize("protocol", ["paper", "adaptive"])
def test_a_frozen_structure_keeps_zero_weights_zero_and_needs_no_inserts(data, protocol):
    x, y = data
    if protocol == "paper":
        settings = [PaperSettings(weight_bits=2, seed=0, epochs=6, freeze_structure=f) for f in (True, False)]
        results = train_paper(x, y, SIZES, settings)
    else:
        rate = 0.05  # a fast learner, so that the free network grows synapses within six epochs
        settings = [
            TrainSettings(weight_bits=2, seed=0, epochs=6, learning_rate=rate, freeze_structure=f)
            for f in (True, False)
        ]
        results = train_adaptive(x, y, SIZES, settings)
    start = _zero_at_start(settings, SIZES)
    frozen, free = results
    for layer in range(2):
        # Frozen: every synapse that starts at zero is zero at the end and at the best epoch.
        assert not np.any(frozen.final_levels[layer][start[0][layer]])
        assert not np.any(frozen.best_levels[layer][start[0][layer]])
    assert all(e[name]["structure_rows"] == 0 for e in frozen.events for name in e)
    # The same network free: it grows synapses where it started at zero, and counts the rows that
    # had to take one in (each iteration's, against every synapse non-zero before it).
    grown = sum(np.count_nonzero(free.final_levels[k][start[1][k]]) for k in range(2))
    inserted = sum(e[name]["structure_rows"] for e in free.events for name in e)
    assert grown > 0 and inserted > 0
    assert all(e[name]["structure_rows"] == 0 for e in free.events[:1] for name in e)
