"""A trained network's own events, replayed: one epoch of its protocol from its best weights.

Training records how many events each layer sees (``events.csv``), not which neurons fire or carry
an error. To characterize a layer of the trained network on its own activity, the best run of a
width is loaded, its best-epoch weight levels are put back on the quantizer grid, and one full-batch
epoch of the paper protocol (forward, van Rossum loss, backward, fixed-step update) is run again
with the run's own settings and seed: its spikes, its non-zero errors and its weight changes are
the layer's events, as the hardware would see them in one training iteration at the best epoch.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write_bytes
from ..config import Design
from ..provenance import provenance
from .paper_protocol import PaperBatch
from .protocols import paper_settings, training_set
from .train import LAYERS

__all__ = ["LayerEvents", "best_run", "event_pools", "replay_layer", "write_trained_workload"]

# Per layer: the layer's presynaptic spikes (forward rows) and the errors at its postsynaptic
# neurons (backward); the hidden layer's inputs are the data, the output layer's the hidden spikes.
LayerEvents = dict[str, np.ndarray]


def best_run(runs_dir: str | Path, set_name: str, weight_bits: int, seeds: list[int]) -> tuple[int, dict]:
    """The seed of the lowest van Rossum distance among a training set's runs of one width, and
    that run's metrics."""
    best: tuple[float, int, dict] | None = None
    for seed in seeds:
        metrics = json.loads((Path(runs_dir) / set_name / f"w{weight_bits}-s{seed}" / "metrics.json").read_text())
        if best is None or metrics["min_van_rossum"] < best[0]:
            best = (metrics["min_van_rossum"], seed, metrics)
    if best is None:
        raise ValueError(f"training set {set_name!r} has no runs of {weight_bits} bits to choose from")
    return best[1], best[2]


def replay_layer(
    cfg: Mapping,
    set_name: str,
    weight_bits: int,
    seed: int,
    levels: list[np.ndarray],
    x: np.ndarray,
    target: np.ndarray,
) -> dict[str, LayerEvents]:
    """One paper-protocol epoch of the network with weight ``levels`` (hidden, output; integer, as
    ``best_levels.npz`` holds them) and the run's settings: per layer (``hidden``, ``output``)

    - ``spikes``: (T, n_pre) presynaptic spikes, one forward row event per spike;
    - ``errors``: (T, n_post) errors at the postsynaptic neurons (non-zero: a column walk each;
      a time step with any non-zero: one row-stream event);
    - ``moved``: (n_pre, n_post) the synapses the fixed-step update moves (an update event each,
      as training counts them) and ``delta`` the change of their weight level. The replay starts
      from shadow weights on the level grid, so fewer moves change a level than in training, where
      the shadow weights lie anywhere in their level's bin: the events' kind is the network's, their
      number per iteration comes from training's records;
    - ``levels``: (n_pre, n_post) the weights the epoch ran with (``levels`` as given).
    """
    tset = training_set(cfg, set_name)
    if tset.protocol != "paper":
        raise ValueError(f"only the paper protocol's runs can be replayed; {set_name!r} is {tset.protocol}'s")
    s = cfg["snn"]
    settings = paper_settings(cfg, tset, weight_bits, seed)
    batch = PaperBatch((s["n_in"], s["n_hidden"], s["n_out"]), [settings])
    grid = batch.weight_bits.levels.ravel()[0]
    for k, lv in enumerate(levels):
        batch.weights[k][0] = np.asarray(lv, np.float32) / grid
    x = np.ascontiguousarray(x, dtype=np.float32)
    p = batch.passes(x, np.asarray(target, dtype=np.float32))
    before = [lv[0].astype(np.int64) for lv in p["levels"]]
    for k, lv in enumerate(levels):
        if not np.array_equal(before[k], lv):
            raise ValueError(f"the {LAYERS[k]} layer's levels do not survive the round trip onto the weight grid")
    shadow = [w[0].copy() for w in batch.weights]
    batch.update(p["grads"], p["levels"])
    after = [lv[0].astype(np.int64) for lv in batch.levels()]
    inputs = (x, p["hidden"][0])
    return {
        name: {
            "spikes": np.asarray(inputs[k] != 0),
            "errors": np.asarray(p["errors"][k][0]),
            "moved": batch.weights[k][0] != shadow[k],
            "delta": after[k] - before[k],
            "levels": before[k],
        }
        for k, name in enumerate(LAYERS)
    }


def event_pools(layer: LayerEvents) -> dict[str, np.ndarray]:
    """One layer's replayed events as pools: ``forward`` (the presynaptic neuron of each spike),
    ``backward`` (the postsynaptic neuron of each non-zero error), row-stream masks (``row_ptr``,
    ``row_posts``: the neurons with an error in each time step that has any) and ``update_pre``,
    ``update_post``, ``update_delta`` (every synapse the update moves), all in time order."""
    _, forward = np.nonzero(layer["spikes"])
    _, backward = np.nonzero(layer["errors"])
    masks = [np.flatnonzero(step) for step in layer["errors"] if step.any()]
    pre, post = np.nonzero(layer["moved"])
    return {
        "forward": forward.astype(np.int32),
        "backward": backward.astype(np.int32),
        "row_ptr": np.concatenate([[0], np.cumsum([len(m) for m in masks])]).astype(np.int64),
        "row_posts": (np.concatenate(masks) if masks else np.zeros(0)).astype(np.int32),
        "update_pre": pre.astype(np.int32),
        "update_post": post.astype(np.int32),
        "update_delta": layer["delta"][pre, post].astype(np.int32),
    }


def write_trained_workload(cfg: Mapping, design: Design, data_dir: str | Path, runs_dir: str | Path, out: Path) -> dict:
    """The memory image and events of a trained layer (:func:`spikemem.config.network_layer_designs`),
    written to ``out`` (npz): the weights of the training set's best run of the design's width, and
    the layer's events of one replayed epoch (:func:`replay_layer`) as :func:`event_pools` lays them
    out. ``meta`` (JSON) says where they come from. Returns ``meta``."""
    if not design.trained:
        raise ValueError(f"{design.name} is not a layer of the trained network")
    seed, metrics = best_run(runs_dir, design.trained, design.weight_bits, cfg["snn"]["seeds"])
    run_dir = Path(runs_dir) / design.trained / f"w{design.weight_bits}-s{seed}"
    stored = np.load(run_dir / "best_levels.npz")
    levels = [stored[name].astype(np.int64) for name in ("hidden", "output")]
    x, target = np.load(Path(data_dir) / "inputs.npy"), np.load(Path(data_dir) / "target.npy")
    layer = replay_layer(cfg, design.trained, design.weight_bits, seed, levels, x, target)[design.network_layer]
    if layer["levels"].shape != (design.n_pre, design.n_post):
        raise ValueError(f"{design.name}: the run's {design.network_layer} layer is {layer['levels'].shape}")
    pools = event_pools(layer)
    up_pre, up_post = pools["update_pre"], pools["update_post"]
    recorded = metrics["events_per_iteration_best_epoch"][design.network_layer]
    meta = {
        "design": design.name,
        "training_set": design.trained,
        "layer": design.network_layer,
        "weight_bits": design.weight_bits,
        "seed": seed,
        "run": str(run_dir),
        "min_van_rossum": metrics["min_van_rossum"],
        "best_epoch": metrics["best_epoch"],
        "density": float(np.count_nonzero(layer["levels"]) / layer["levels"].size),
        "replayed": {
            "forward_rows": len(pools["forward"]),
            "backward_columns": len(pools["backward"]),
            "backward_steps": len(pools["row_ptr"]) - 1,
            "updates": len(up_pre),
            "updates_on_nonzero": int(np.count_nonzero(layer["levels"][up_pre, up_post])),
            "level_changes": int(np.count_nonzero(layer["delta"])),
        },
        "recorded_best_epoch": recorded,
        "method": "one paper-protocol epoch (forward, loss, backward, fixed-step update) from the best-epoch weight "
        "levels with the run's settings and seed (spikemem.snn.replay)",
        "provenance": provenance(cfg, stage="trained_workload"),
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, levels=layer["levels"].astype(np.int16), **pools, meta=np.array(json.dumps(meta)))
    atomic_write_bytes(out, buf.getvalue())
    return meta
