"""The golden-model stage: per design, the memory image and access statistics per operation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .config import Design, design_operations
from .encodings import Encoding
from .workloads import build, memory_params, random_events, random_weights, rng_for

LOOKUPS = "lookups"  # the per-event count of fields examined, beside "<memory>.R|W" access counts


def run_events(enc: Encoding, operation: str, events: list[tuple[int, ...]], rows: range | None = None):
    """Run events through the golden model: (outputs per event, per-event counts), the counts
    keyed ``"<memory>.R"`` / ``"<memory>.W"`` for word accesses and :data:`LOOKUPS`. ``rows``
    limits row-stream events to a block of rows (an estimate; see ``Encoding.backward_row_event``)."""
    outputs, per_event = [], []
    mem = enc.traced()
    for ev in events:
        mem.begin_event()
        start, looked_up = len(mem.trace), mem.lookups
        if operation == "forward":
            outputs.append(enc.forward_event(ev[0], mem))
        elif operation == "backward":
            outputs.append(enc.backward_event(ev[0], mem))
        elif operation == "backward_row":
            outputs.append(enc.backward_row_event(frozenset(ev), mem, rows))
        elif operation == "update_row":  # (pre, (post, delta), (post, delta), ...)
            outputs.append(enc.update_row_event(ev[0], dict(ev[1:]), mem))
        else:
            outputs.append(enc.update_event(*ev, mem))
        counts = Counter(f"{a.memory}.{a.op}" for a in mem.trace[start:])
        counts[LOOKUPS] = mem.lookups - looked_up
        per_event.append(counts)
    return outputs, per_event


def event_features(
    operation: str, output, counts: Mapping[str, int], banks: Mapping[str, int] | None = None
) -> dict[str, int]:
    """The energy model's per-event features (energy_table.FEATURES but events) of one event, from
    its golden output and its :func:`run_events` counts: synapses streamed (an update: 1 if it found
    its synapse), word reads, word writes and lookups; and, where ``banks`` gives the SRAM macros of
    each memory, the bank-weighted accesses ``bank_reads`` and ``bank_writes`` (each access times
    the macros its memory's bus reaches: the fan-out of its address and data, and the bank clock
    gates its memory's clock gate drives)."""
    bank = {}
    if banks is not None:
        for kind, suffix in (("bank_reads", ".R"), ("bank_writes", ".W")):
            bank[kind] = sum(v * banks.get(k[:-2], 0) for k, v in counts.items() if k.endswith(suffix))
    if operation == "update":
        synapses = int(bool(output))
    elif operation == "update_row":
        synapses = int(output)  # the synapses the row pass updated
    else:
        synapses = len(output)
    return {
        "synapses": synapses,
        "word_reads": sum(v for k, v in counts.items() if k.endswith(".R")),
        "word_writes": sum(v for k, v in counts.items() if k.endswith(".W")),
        "lookups": counts[LOOKUPS],
        **bank,
    }


def self_check(enc: Encoding, weights_dense: np.ndarray, rng: np.random.Generator) -> None:
    """The vector operations equal dense algebra (a guard on every image the stage writes)."""
    spikes = (rng.random(enc.n_pre) < 0.3).astype(np.int64)
    errors = rng.integers(-3, 4, enc.n_post)
    if not np.array_equal(enc.forward(spikes).values, spikes @ weights_dense):
        raise AssertionError(f"{enc.name}: forward disagrees with dense algebra")
    if not np.array_equal(enc.backward(errors).values, weights_dense @ errors):
        raise AssertionError(f"{enc.name}: backward disagrees with dense algebra")
    if enc.row_stream and not np.array_equal(enc.backward_rows(errors).values, weights_dense @ errors):
        raise AssertionError(f"{enc.name}: row-stream backward disagrees with dense algebra")


def golden_summary(cfg: Mapping, design: Design, events_per_operation: int | None = None) -> dict:
    """Memory image and mean accesses per event, for each configured density."""
    params = memory_params(cfg)
    n_events = events_per_operation or min(cfg["characterization"]["events_per_operation"], 500)
    per_density = []
    for density in cfg["characterization"]["densities"]:
        rng = rng_for(cfg, design.name, density, "golden")
        weights = random_weights(design, density, rng)
        enc = build(design, weights, params)
        dense = enc.dense()
        self_check(enc, dense, rng)
        image = enc.image.summary()  # before the update events modify the words
        ops = {}
        for op in design_operations(cfg, design):
            events = random_events(enc, op, n_events, rng)
            outputs, counts = run_events(enc, op, events)
            total = sum(counts, Counter())
            n = max(1, len(events))
            ops[op] = {
                "events": len(events),
                "mean_accesses": {k: v / n for k, v in sorted(total.items())},
                "mean_synapses": (float(np.mean([len(o) for o in outputs])) if op != "update" and outputs else None),
            }
        per_density.append(
            {
                "density": density,
                "realized_density": float(np.count_nonzero(dense) / dense.size),
                "image": image,
                "storage_formula": enc.storage_formula(),
                "operations": ops,
            }
        )
    return {"design": design.as_dict(), "memory": dict(cfg["memory"]), "densities": per_density}


def storage_table(summaries: list[dict]) -> pd.DataFrame:
    """One row per design and density: storage bits, macros and mean memory accesses per event."""
    rows = []
    for s in summaries:
        d = s["design"]
        for entry in s["densities"]:
            img = entry["image"]
            row = {
                "design": d["name"],
                "encoding": d["encoding"],
                "layer": d["layer"],
                "weight_bits": d["weight_bits"],
                "density": entry["density"],
                "realized_density": entry["realized_density"],
                "payload_bits": img["payload_bits"],
                "metadata_bits": img["metadata_bits"],
                "allocated_bits": img["allocated_bits"],
                "macro_count": img["macro_count"],
            }
            for op, stats in entry["operations"].items():
                row[f"{op}_reads_per_event"] = sum(v for k, v in stats["mean_accesses"].items() if k.endswith(".R"))
                row[f"{op}_writes_per_event"] = sum(v for k, v in stats["mean_accesses"].items() if k.endswith(".W"))
                row[f"{op}_lookups_per_event"] = stats["mean_accesses"].get(LOOKUPS, 0.0)
            rows.append(row)
    return pd.DataFrame(rows)
