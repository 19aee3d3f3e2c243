"""The trained network's own layers: replaying an epoch of the best weights, the workload drawn from
it, and how the direct measurements are summed per network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikemem.config import Design, load_config, network_layer_designs
from spikemem.direct_energy import network_totals
from spikemem.paths import CONFIG_DIR
from spikemem.snn.data import input_spikes, target_raster
from spikemem.snn.paper_protocol import train_paper
from spikemem.snn.protocols import paper_settings, training_set
from spikemem.snn.replay import replay_layer
from spikemem.workloads import build, memory_params, trained_events

SET = "paper-a12e12g8"


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIG_DIR / "test_small.yaml")


@pytest.fixture(scope="module")
def trained(cfg):
    s = cfg["snn"]
    sizes = (s["n_in"], s["n_hidden"], s["n_out"])
    x, y = input_spikes(sizes[0], s["steps"], seed=0), target_raster(sizes[2], s["steps"], seed=0)
    settings = [paper_settings(cfg, training_set(cfg, SET), wb, 0) for wb in (2, 5)]
    return x, y, train_paper(x, y, sizes, settings)


def test_trained_layers_are_both_layers_of_each_configured_design(cfg):
    names = [d.name for d in network_layer_designs(cfg)]
    assert "crossbar-fc40x30-w5-paper-a12e12g8" in names and "pb_bmp-fc30x20-w2-paper-a12e12g8" in names
    assert len(names) == 2 * len(cfg["characterization"]["network_layers"]["designs"])


@pytest.mark.parametrize("k", [0, 1])
def test_replay_reproduces_the_best_epochs_recorded_events(cfg, trained, k):
    """The forward and backward passes depend on the weight levels only: one epoch replayed from the
    best epoch's levels sees exactly the spikes and errors training recorded at that epoch."""
    x, y, results = trained
    r = results[k]
    wb = (2, 5)[k]
    layers = replay_layer(cfg, SET, wb, 0, [lv.astype(np.int64) for lv in r.best_levels], x, y)
    recorded = r.events[r.best_epoch]
    for name, layer in layers.items():
        assert np.array_equal(layer["levels"], r.best_levels[("hidden", "output").index(name)])
        assert np.count_nonzero(layer["spikes"]) == recorded[name]["forward_rows"]
        assert np.count_nonzero(layer["errors"]) == recorded[name]["backward_columns"]
        assert np.count_nonzero(layer["errors"].any(axis=1)) == recorded[name]["backward_steps"]
        # The update's stochastic rounding draws anew: moves are of the same kind, not the same ones.
        assert layer["moved"].shape == layer["levels"].shape and layer["moved"].any()


def test_trained_events_keep_the_networks_statistics(cfg):
    """Events are drawn from the layer's own: forward rows by their spike counts, row-stream masks
    as recorded, updates only on the synapses the encoding stores."""
    design = Design("pb_bmp", "fc", 2, 6, 4, trained=SET, network_layer="output")
    levels = np.array([[1, 0, 0, -1], [0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]])
    enc = build(design, levels, memory_params(cfg))
    workload = {
        "forward": np.array([2, 2, 2, 2, 5]),
        "backward": np.array([1, 3]),
        "row_ptr": np.array([0, 2, 3]),
        "row_posts": np.array([1, 3, 0]),
        "update_pre": np.array([0, 1, 2]),
        "update_post": np.array([0, 1, 1]),
        "update_delta": np.array([1, -1, 0]),
    }
    rng = np.random.default_rng(0)
    forward = trained_events(enc, workload, "forward", 400, rng)
    assert {e[0] for e in forward} == {2, 5}
    assert 0.7 < sum(e[0] == 2 for e in forward) / 400 < 0.9
    assert set(trained_events(enc, workload, "backward_row", 20, rng)) == {(1, 3), (0,)}
    # (1, 1) is a zero weight: PB-BMP does not store it, so it is never an update event.
    assert set(trained_events(enc, workload, "update", 20, rng)) == {(0, 0, 1), (2, 1, 0)}
    crossbar = build(Design("crossbar", "fc", 2, 6, 4), levels, memory_params(cfg))
    assert (1, 1, -1) in set(trained_events(crossbar, workload, "update", 50, rng))


def test_network_totals_add_forward_and_the_cheaper_backward_per_layer():
    rows = []
    for layer, fwd, col, row in (("hidden", 1.0, 5.0, 3.0), ("output", 2.0, 1.0, 4.0)):
        for op, j in (("forward", fwd), ("backward", col), ("backward_row", row), ("update", 100.0)):
            rows.append(
                {
                    "training_set": SET,
                    "encoding": "crossbar",
                    "weight_bits": 5,
                    "seed": 0,
                    "layer": layer,
                    "operation": op,
                    **{f"{f}_j_per_iteration": j for f in ("direct", "model_same_events", "model_uniform")},
                }
            )
    df = pd.DataFrame(rows)
    assert network_totals(df, "paper").direct.iloc[0] == pytest.approx(1 + 3 + 2 + 1)
    assert network_totals(df, "training").direct.iloc[0] == pytest.approx(1 + 2 + 1)
    assert network_totals(df, "paper", "column").direct.iloc[0] == pytest.approx(1 + 5 + 2 + 1)
    assert network_totals(df, "paper", "row").direct.iloc[0] == pytest.approx(1 + 3 + 2 + 4)


def test_event_pools_are_the_replayed_epochs_events(cfg, trained):
    """The pools the network energy draws from hold each spike, non-zero error, error step and moved
    synapse of the replayed epoch once."""
    from spikemem.snn.activity import event_pools

    x, y, results = trained
    layers = replay_layer(cfg, SET, 2, 0, [lv.astype(np.int64) for lv in results[0].best_levels], x, y)
    for layer in layers.values():
        pools = event_pools(layer)
        assert np.array_equal(np.bincount(pools["forward"], minlength=layer["spikes"].shape[1]), layer["spikes"].sum(0))
        errors = layer["errors"] != 0
        assert np.array_equal(np.bincount(pools["backward"], minlength=errors.shape[1]), errors.sum(0))
        steps = np.flatnonzero(errors.any(axis=1))
        assert len(pools["row_ptr"]) == len(steps) + 1
        for k, t in enumerate(steps):
            assert np.array_equal(
                pools["row_posts"][pools["row_ptr"][k] : pools["row_ptr"][k + 1]], np.flatnonzero(errors[t])
            )
        assert len(pools["update_pre"]) == np.count_nonzero(layer["moved"])
        assert layer["moved"][pools["update_pre"], pools["update_post"]].all()


def test_network_pricing_draws_the_networks_own_events(cfg):
    """With a layer's pools, forward means weigh each row by its spikes (exact), masks are recorded
    ones, updates and row passes touch only moved synapses the layer stores; without, uniform."""
    from spikemem.network_energy import event_sample

    levels = np.array([[1, 0, 0, -1], [0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]])
    enc = build(Design("pb_bmp", "fc", 2, 6, 4), levels, memory_params(cfg))
    pools = {
        "forward": np.array([2, 2, 2, 5]),
        "backward": np.array([1, 3]),
        "row_ptr": np.array([0, 2, 3]),
        "row_posts": np.array([1, 3, 0]),
        "update_pre": np.array([0, 1, 2, 2]),
        "update_post": np.array([0, 1, 1, 3]),
        "update_delta": np.array([1, -1, 0, 1]),
    }
    rng = np.random.default_rng(0)
    fwd = event_sample(enc, "forward", rng, pools=pools)
    assert fwd["exact"] and fwd["statistics"] == "network" and len(fwd["features"]) == 4
    per_row = {
        i: event_sample(enc, "forward", rng, samples=1, pools={**pools, "forward": np.array([i])}) for i in (2, 5)
    }
    expected = (3 * per_row[2]["features"][0] + per_row[5]["features"][0]) / 4
    assert np.allclose(fwd["features"].mean(axis=0), expected)
    synapses = fwd["names"].index("synapses")
    assert fwd["features"][:, synapses].mean() == pytest.approx((3 * 2 + 1) / 4)  # row 2 stores 2, row 5 one
    rows = event_sample(enc, "backward_row", rng, pools=pools)
    assert rows["statistics"] == "network"
    assert set(np.round(rows["features"][:, synapses]).astype(int)) <= {2, 3}  # masks {1, 3} and {0}
    upd = event_sample(enc, "update", rng, pools=pools)
    assert upd["statistics"] == "network" and (upd["features"][:, synapses] == 1).all()  # only (0, 0), (2, 1)
    # No moved synapse is stored: the update falls back to uniform draws over the stored ones.
    bare = {**pools, "update_pre": np.array([1]), "update_post": np.array([1])}
    assert event_sample(enc, "update", rng, pools=bare)["statistics"] == "uniform"
    assert event_sample(enc, "forward", rng)["statistics"] == "uniform"
