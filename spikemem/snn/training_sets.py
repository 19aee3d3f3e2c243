"""Training sets: one protocol at one sweep configuration (its widths of states, errors and
gradients), trained at every weight width and seed of the configuration. Its name, used in result
paths, spells the configuration: ``paper-a12e12g8`` (activation, error, gradient bits),
``adaptive-e8g8``; ``-frozen`` ends the name of a sweep point that freezes the sparsity structure
(``freeze_structure``: a weight whose level starts at zero stays zero, so that PB-CSR and PB-BMP
hold the trained network without re-encoding).

Apart from the protocols (:mod:`spikemem.snn.protocols`) so that the configuration's checks can
name them without importing the trainers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingSet:
    """One protocol at one sweep point: the widths of its states (paper protocol only), errors and
    gradients."""

    protocol: str
    activation_bits: int | None  # None: the adaptive protocol's states are float
    error_bits: int
    gradient_bits: int
    freeze_structure: bool = False

    @property
    def name(self) -> str:
        a = "" if self.activation_bits is None else f"a{self.activation_bits}"
        frozen = "-frozen" if self.freeze_structure else ""
        return f"{self.protocol}-{a}e{self.error_bits}g{self.gradient_bits}{frozen}"


def training_sets(cfg: Mapping) -> list[TrainingSet]:
    """Every protocol's sweep configurations, in the order of the configuration."""
    sets = []
    for protocol, spec in cfg["snn"]["protocols"].items():
        for point in spec["sweep"]:
            sets.append(
                TrainingSet(
                    protocol,
                    point.get("activation_bits"),
                    point["error_bits"],
                    point["gradient_bits"],
                    bool(point.get("freeze_structure", False)),
                )
            )
    return sets


def training_set(cfg: Mapping, name: str) -> TrainingSet:
    for s in training_sets(cfg):
        if s.name == name:
            return s
    known = ", ".join(s.name for s in training_sets(cfg))
    raise ValueError(f"no training set {name!r} in the configuration's snn.protocols (it has: {known})")


def run_names(cfg: Mapping) -> list[str]:
    """``<training set>/w<bits>-s<seed>`` for every run of the experiment."""
    s = cfg["snn"]
    return [f"{t.name}/w{wb}-s{seed}" for t in training_sets(cfg) for wb in s["weight_bits"] for seed in s["seeds"]]
