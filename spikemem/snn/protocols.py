"""The two training protocols of the network experiment and their sweeps (docs/network.md):
each turns a training set (:mod:`spikemem.snn.training_sets`) into per-network settings and trains
a batch of networks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .adaptive_batch import train_adaptive
from .paper_protocol import PaperSettings, train_paper
from .train import TrainResult, TrainSettings
from .training_sets import TrainingSet, run_names, training_set, training_sets

__all__ = [
    "PROTOCOLS",
    "Protocol",
    "TrainingSet",
    "adaptive_settings",
    "paper_settings",
    "run_names",
    "training_set",
    "training_sets",
]


def paper_settings(cfg: Mapping, tset: TrainingSet, weight_bits: int, seed: int) -> PaperSettings:
    spec = cfg["snn"]["protocols"]["paper"]
    return PaperSettings(
        weight_bits=weight_bits,
        seed=seed,
        epochs=spec["epochs"],
        activation_bits=tset.activation_bits,
        error_bits=tset.error_bits,
        gradient_bits=tset.gradient_bits,
        freeze_structure=tset.freeze_structure,
    )


def adaptive_settings(cfg: Mapping, tset: TrainingSet, weight_bits: int, seed: int) -> TrainSettings:
    spec = cfg["snn"]["protocols"]["adaptive"]
    plateau = spec.get("plateau")
    return TrainSettings(
        weight_bits=weight_bits if spec.get("quantize", True) else None,
        seed=seed,
        epochs=spec["max_epochs"],
        learning_rate=spec.get("learning_rate", 0.002),
        error_bits=tset.error_bits,
        gradient_bits=tset.gradient_bits,
        plateau_window=None if plateau is None else plateau["window"],
        plateau_tolerance=0.01 if plateau is None else plateau["tolerance"],
        freeze_structure=tset.freeze_structure,
    )


@dataclass(frozen=True)
class Protocol:
    """How one protocol turns the configuration into per-network settings, and trains a batch of
    networks at once (sharing the input trains)."""

    settings: Callable[[Mapping, TrainingSet, int, int], PaperSettings | TrainSettings]
    train: Callable[..., list[TrainResult]]


PROTOCOLS = {
    "paper": Protocol(paper_settings, train_paper),
    "adaptive": Protocol(adaptive_settings, train_adaptive),
}
