"""A trained network's own activity as event pools, for pricing it with its own event statistics.

The network energy multiplies each layer's events per iteration (training's records) by an energy
per event; that energy depends on which events they are: which rows spike, which columns carry an
error, how many errors each time step's mask holds and how they cluster, which synapses the update
moves. Uniformly drawn events miss that (the directly characterized layers measure by how much).
This module replays one epoch of a paper-protocol run from its best weights
(:func:`spikemem.snn.replay.replay_layer`) and returns each layer's events as flat pools, in the
layout of the trained workloads (:func:`spikemem.workloads.trained_events` draws from either).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .replay import event_pools, replay_layer
from .train import LAYERS
from .training_sets import training_set

__all__ = ["replayable", "replayed_pools"]


def replayable(cfg: Mapping, metrics: Mapping) -> bool:
    """Whether a run's epoch can be replayed (the paper protocol's runs; the adaptive protocol's
    float state is not kept)."""
    try:
        return training_set(cfg, metrics["training_set"]).protocol == "paper"
    except (KeyError, ValueError):
        return False


def replayed_pools(cfg: Mapping, run_dir: str | Path, data_dir: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Per layer (``hidden``, ``output``), the event pools (:func:`spikemem.snn.replay.event_pools`) of one epoch of the
    run in ``run_dir`` replayed from its best-epoch weight levels with its own settings and seed, on
    the data in ``data_dir``."""
    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    stored = np.load(run_dir / "best_levels.npz")
    levels = [stored[name].astype(np.int64) for name in LAYERS]
    x, target = np.load(Path(data_dir) / "inputs.npy"), np.load(Path(data_dir) / "target.npy")
    layers = replay_layer(cfg, metrics["training_set"], metrics["weight_bits"], metrics["seed"], levels, x, target)
    return {name: event_pools(events) for name, events in layers.items()}
