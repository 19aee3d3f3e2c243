"""Activity windows: what a characterization records of each window of gate-level activity (the
golden model's counts beside the measured energies) and the sums read from them.

Kept apart from the energy table so that a change to the fitted model does not change what every
characterization depends on (the characterize stage imports this, not the model).
"""

from __future__ import annotations

from collections.abc import Mapping

# The golden model's counts recorded per window beside the events: the synaptic positions visited,
# the memory words read and written, and the fields (weights, entries, pointers, bitmap words) the
# controller steps through, from memory or from its one-word buffer.
WINDOW_COUNTS = ("events", "synapses", "word_reads", "word_writes", "lookups")


def logic_energy(window: Mapping) -> float:
    """The standard cells' dynamic energy of a window (internal + switching): what the fit models."""
    return window["internal_j"] + window["switching_j"]


def sram_energy(window: Mapping) -> float:
    """The SRAM macros' access energy of a window (counted reads and writes x Liberty energy)."""
    return window["sram_read_j"] + window["sram_write_j"]


def op_means(runs: list[dict], op: str, per: str = "events") -> dict[str, float] | None:
    """Logic energy, SRAM energy (J), word reads and cycles of one operation's activity windows,
    per event (``per="events"``) or per cycle (``per="cycles"``); None where it has none."""
    windows = [w for r in runs if r["operation"] == op for w in r["windows"]]
    n = sum(w[per] for w in windows)
    if not n:
        return None
    return {
        "logic_j": sum(map(logic_energy, windows)) / n,
        "sram_j": sum(map(sram_energy, windows)) / n,
        "word_reads": sum(w["word_reads"] for w in windows) / n,
        "cycles": sum(w["cycles"] for w in windows) / n,
    }
