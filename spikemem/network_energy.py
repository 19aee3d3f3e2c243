"""Network energy: the trained networks' event counts (and layer sweeps) priced with the energy table.

For a layer stored in an encoding, each operation's energy is

    N_events * (e_event + e_synapse * S + e_read_word * R + e_write_word * W + e_lookup * L)

with ``S``, ``R``, ``W``, ``L`` the mean synapses, word reads, word writes and lookups (fields the
controller steps through) per event of *that* layer's
memory image, measured by running sampled events through the golden model on the real weights,
and the coefficients from the energy table row (layer type, encoding, weight bits, operation).
Leakage is the controller's plus the layer's SRAM macros' leakage power over the time the events
take at the configured clock (from the table's fitted cycle model).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .encodings import ConvGeometry, Encoding, encode_conv, encode_fc
from .golden import event_features, run_events
from .synth.energy_table import COEFFICIENTS, CYCLE_COEFFICIENTS, FEATURES
from .workloads import memory_params, rng_for

OPS = ("forward", "backward", "update")
SAMPLES = {"forward": 48, "backward": 6, "update": 48}


class MissingEnergyRow(LookupError):
    """The energy table has no row for a (layer, encoding, weight bits, operation)."""


def table_row(table: pd.DataFrame, layer: str, encoding: str, weight_bits: int, op: str) -> pd.Series:
    rows = table[
        (table.layer == layer)
        & (table.encoding == encoding)
        & (table.weight_bits == weight_bits)
        & (table.operation == op)
    ]
    if rows.empty:
        raise MissingEnergyRow(
            f"no energy-table row for {layer} {encoding} {weight_bits}-bit {op}: add the encoding and width "
            "to the configuration's characterization"
        )
    return rows.iloc[0]


def event_costs(enc: Encoding, op: str, rng: np.random.Generator, samples: int | None = None) -> dict:
    """Mean synapses, word reads, word writes and lookups per event, from sampled golden-model events."""
    n = samples or SAMPLES[op]
    if op == "forward":
        events = [(int(i),) for i in rng.integers(0, enc.n_pre, n)]
    elif op == "backward":
        events = [(int(j),) for j in rng.integers(0, enc.n_post, n)]
    else:
        pre, post = np.nonzero(enc.connectivity())
        pick = rng.integers(0, len(pre), n) if len(pre) else []
        events = [(int(pre[k]), int(post[k]), 0) for k in pick]  # delta 0: the access pattern only
    if not events:
        return {**dict.fromkeys(FEATURES[1:], 0.0), "samples": 0}
    outputs, counts = run_events(enc, op, events)
    total = sum((Counter(event_features(op, o, c)) for o, c in zip(outputs, counts, strict=True)), Counter())
    return {**{name: total[name] / len(events) for name in FEATURES[1:]}, "samples": len(events)}


def price(row: pd.Series, n_events: float, costs: dict) -> tuple[float, float]:
    """Energy (J) and cycles of ``n_events`` events with the given per-event costs (one event each
    times the mean of every other feature, in the order of the table's coefficients)."""
    x = np.array([1.0, *(costs[name] for name in FEATURES[1:])])
    energy = n_events * float(np.dot([row[c] for c in COEFFICIENTS], x))
    cycles = n_events * float(np.dot([row[c] for c in CYCLE_COEFFICIENTS], x))
    return energy, cycles


def leakage_power(table: pd.DataFrame, layer_type: str, encoding: str, weight_bits: int, enc: Encoding) -> float:
    """Controller leakage (from the characterized design) plus the layer's own macros' leakage."""
    row = table_row(table, layer_type, encoding, weight_bits, "forward")
    per_macro = row["sram_leakage_w"] / row["macro_count"] if row["macro_count"] else 0.0
    return float(row["logic_leakage_w"] + per_macro * enc.image.macro_count)


def layer_energy(table, layer_type, encoding, wb, enc, counts: Mapping[str, float], clock_mhz: float, rng) -> dict:
    """Energy terms of one layer for the given events per operation."""
    out, cycles = {}, 0.0
    for op in OPS:
        n = counts.get(op, 0.0)
        if n <= 0:
            out[f"{op}_j"] = 0.0
            continue
        e, c = price(table_row(table, layer_type, encoding, wb, op), n, event_costs(enc, op, rng))
        out[f"{op}_j"] = e
        cycles += c
    seconds = cycles / (clock_mhz * 1e6)
    out["cycles"] = cycles
    out["leakage_j"] = leakage_power(table, layer_type, encoding, wb, enc) * seconds
    out["macros"] = enc.image.macro_count
    out["payload_bits"] = enc.image.payload_bits
    out["metadata_bits"] = enc.image.metadata_bits
    return out


def network_energy(cfg: Mapping, table: pd.DataFrame, run_dir: Path, metrics: Mapping) -> list[dict]:
    """Energy per training iteration and per inference of one trained network, per encoding."""
    params = memory_params(cfg)
    levels = np.load(run_dir / "best_levels.npz")
    wb = metrics["weight_bits"]
    rows = []
    for encoding in cfg["encodings"]["fc"]:
        rng = rng_for(cfg, "network", wb, metrics["seed"], encoding)
        terms = {"forward_j": 0.0, "backward_j": 0.0, "update_j": 0.0, "leakage_j": 0.0, "inference_j": 0.0}
        detail = {}
        for layer in ("hidden", "output"):
            enc = encode_fc(encoding, levels[layer].astype(np.int64), wb, params)
            ev = metrics["events_per_iteration_mean"][layer]
            updates = ev["updates"] if encoding == "crossbar" else ev["updates_on_nonzero"]
            counts = {"forward": ev["forward_rows"], "backward": ev["backward_columns"], "update": updates}
            e = layer_energy(table, "fc", encoding, wb, enc, counts, cfg["clock_mhz"], rng)
            inf = layer_energy(
                table,
                "fc",
                encoding,
                wb,
                enc,
                {"forward": metrics["inference_events"]["forward_rows"][layer]},
                cfg["clock_mhz"],
                rng,
            )
            for k in ("forward_j", "backward_j", "update_j", "leakage_j"):
                terms[k] += e[k]
            terms["inference_j"] += inf["forward_j"] + inf["leakage_j"]
            detail[layer] = e
        rows.append(
            {
                "weight_bits": wb,
                "seed": metrics["seed"],
                "encoding": encoding,
                "min_van_rossum": metrics["min_van_rossum"],
                "hidden_density": metrics["densities"]["hidden"],
                "output_density": metrics["densities"]["output"],
                **terms,
                "iteration_j": terms["forward_j"] + terms["backward_j"] + terms["update_j"] + terms["leakage_j"],
                "forward_backward_j": terms["forward_j"] + terms["backward_j"],
                "macros": sum(d["macros"] for d in detail.values()),
                "payload_bits": sum(d["payload_bits"] for d in detail.values()),
                "metadata_bits": sum(d["metadata_bits"] for d in detail.values()),
            }
        )
    return rows


def _random_fc(rng, n_pre, n_post, wb, density):
    top = 2 ** (wb - 1) - 1
    w = rng.integers(1, top + 1, (n_pre, n_post)) * rng.choice([-1, 1], (n_pre, n_post))
    return np.where(rng.random((n_pre, n_post)) < density, w, 0)


def pass_energy(table, layer_type, encoding, wb, enc, clock_mhz, rng, update_events: float) -> dict:
    """One full pass: every presynaptic neuron spikes once (forward), every postsynaptic neuron
    carries one error (backward), ``update_events`` synapse updates."""
    counts = {"forward": enc.n_pre, "backward": enc.n_post, "update": update_events}
    return layer_energy(table, layer_type, encoding, wb, enc, counts, clock_mhz, rng)


def fc_sweeps(cfg: Mapping, table: pd.DataFrame, n_pre: int = 784, n_post: int = 128) -> pd.DataFrame:
    """A 784 -> 128 layer: over weight bits at density 0.25, and over densities at 8 bits (or the
    widest characterized width below that)."""
    params = memory_params(cfg)
    widths = sorted(set(table[table.layer == "fc"].weight_bits))
    points = [("weight_bits", wb, 0.25) for wb in widths]
    dense_bits = 8 if 8 in widths else max(widths)
    points += [("density", dense_bits, d) for d in (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)]
    rows = []
    for sweep, wb, density in points:
        rng = rng_for(cfg, "fc_sweep", sweep, wb, density)
        weights = _random_fc(rng, n_pre, n_post, wb, density)
        for encoding in cfg["encodings"]["fc"]:
            enc = encode_fc(encoding, weights, wb, params)
            upd = float(np.count_nonzero(weights)) if encoding != "crossbar" else float(weights.size * density)
            e = pass_energy(table, "fc", encoding, wb, enc, cfg["clock_mhz"], rng, upd)
            rows.append({"sweep": sweep, "weight_bits": wb, "density": density, "encoding": encoding, **e})
    return pd.DataFrame(rows)


def conv_sweep(cfg: Mapping, table: pd.DataFrame) -> pd.DataFrame:
    """A 1 x 28 x 28 -> 32 channel, 3x3 convolution layer over weight bits: functional encodings
    (their own rows) against PB-CSR storing the unrolled layer (the FC controller's rows)."""
    g = ConvGeometry(1, 28, 28, 32, 3, 1, 1)
    params = memory_params(cfg)
    rows = []
    for wb in sorted(set(table[table.layer == "conv"].weight_bits)):
        rng = rng_for(cfg, "conv_sweep", wb)
        top = 2 ** (wb - 1) - 1
        kernels = rng.integers(1, top + 1, (32, 1, 3, 3)) * rng.choice([-1, 1], (32, 1, 3, 3))
        synapses = float(np.count_nonzero(g.connectivity()))
        for encoding in [*cfg["encodings"]["conv"], "pb_csr"]:
            layer_type = "conv" if encoding.startswith("func_") else "fc"
            try:
                table_row(table, layer_type, encoding, wb, "forward")
            except MissingEnergyRow:
                continue
            enc = encode_conv(encoding, kernels, g, wb, params)
            e = pass_energy(table, layer_type, encoding, wb, enc, cfg["clock_mhz"], rng, synapses)
            rows.append({"weight_bits": wb, "encoding": encoding, "table_rows": layer_type, **e})
    return pd.DataFrame(rows)
