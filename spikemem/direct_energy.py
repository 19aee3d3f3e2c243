"""The trained network's energy measured on its own layers (``characterization.network_layers``).

Each trained layer was characterized directly at gate level with its own weights and events drawn
from its own replayed epoch (:mod:`spikemem.snn.replay`). Per layer and operation this stage sets
three energies per event side by side:

- ``direct``: measured at gate level (standard cells from counted transitions, SRAM from counted
  accesses x the macro Liberty's energy);
- ``model_same_events``: the energy table's model on the golden-model features of the very same
  events (the model's own error, nothing else);
- ``model_uniform``: the model on events drawn uniformly over the layer's neurons (synapses, for
  updates), as :mod:`spikemem.network_energy` prices the sweeps and the runs it cannot replay
  (model error plus the difference between the network's event statistics and uniform ones).

Multiplied by the network's events per training iteration (the run's own means, as the network
energy counts them), they give each layer's energy per iteration on each footing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .encodings import encode_fc
from .network_energy import event_sample, price_terms, table_row, update_events
from .synth.energy_table import model_windows, per_event_energies
from .workloads import load_trained_workload, memory_params, rng_for

# The network's events per iteration (metrics.json) that one event of each operation stands for.
COUNT_KEYS = {"forward": "forward_rows", "backward": "backward_columns", "backward_row": "backward_steps"}


def layer_rows(cfg: Mapping, table: pd.DataFrame, char: Mapping, workload: Mapping) -> list[dict]:
    """One row per operation of a trained layer's characterization: its energies per event on the
    three footings (module docstring), the network's events of that operation per iteration, and
    the energy per iteration on each footing."""
    d, meta = char["design"], char["workload"]
    metrics = json.loads((Path(meta["run"]) / "metrics.json").read_text())
    layer, wb = d["network_layer"], d["weight_bits"]
    ev = metrics["events_per_iteration_mean"][layer]
    enc = encode_fc(d["encoding"], workload["levels"].astype(np.int64), wb, memory_params(cfg))
    rng = rng_for(cfg, "direct", d["name"])
    per_step = ev["backward_columns"] / ev["backward_steps"] if ev.get("backward_steps") else None
    rows = []
    for op in ("forward", "backward", "backward_row", "update"):
        windows = [w for r in char["runs"] if r["operation"] == op for w in r["windows"]]
        if not windows:
            continue
        row = table_row(table, "fc", d["encoding"], wb, op)
        sample = event_sample(enc, op, rng, mask_size=per_step if op == "backward_row" else None)
        means = dict(zip(sample["names"], sample["features"].mean(axis=0), strict=True))
        uniform = price_terms(row, 1.0, means)
        uniform["j"] = uniform["logic_j"] + uniform["sram_j"]
        measured = per_event_energies(row, model_windows(char, op))
        direct, same = measured["measured"], measured["model"]
        count = update_events(ev, enc) if op == "update" else ev[COUNT_KEYS[op]]
        out = {
            "design": d["name"],
            "training_set": meta["training_set"],
            "seed": meta["seed"],
            "layer": layer,
            "encoding": d["encoding"],
            "weight_bits": wb,
            "operation": op,
            "density": meta["density"],
            "macros": int(sum(char["synthesis"]["macros"].values())),
            "events_measured": sum(w["events"] for w in windows),
            "events_per_iteration": count,
        }
        for name, e in (("direct", direct), ("model_same_events", same), ("model_uniform", uniform)):
            out[f"{name}_pj_per_event"] = e["j"] * 1e12
            out[f"{name}_logic_pj_per_event"] = e["logic_j"] * 1e12
            out[f"{name}_j_per_iteration"] = e["j"] * count
        out["direct_cycles_per_event"] = direct["cycles"]
        out["model_error"] = same["j"] / direct["j"] - 1
        out["model_error_logic"] = same["logic_j"] / direct["logic_j"] - 1
        out["uniform_vs_direct"] = uniform["j"] / direct["j"] - 1
        # The model on uniform events against the model on the network's: event statistics alone.
        out["uniform_vs_same_events"] = uniform["j"] / same["j"] - 1
        out["flow_level"] = char["flow_level"]
        rows.append(out)
    return rows


def network_totals(rows: pd.DataFrame, basis: str = "paper", backward_mode: str = "best") -> pd.DataFrame:
    """Forward + backward energy per training iteration of each characterized network (training
    set, encoding, width), per footing: ``basis`` ``paper`` counts both layers' backward, ``training``
    only the layers after the first; ``backward_mode`` ``column``, ``row`` or ``best`` (the cheaper
    per layer, on each footing's own numbers)."""
    keys = ["training_set", "encoding", "weight_bits", "seed"]
    footings = ("direct", "model_same_events", "model_uniform")
    out = []
    for key, g in rows.groupby(keys):
        totals: dict[str, float] = {}
        for footing in footings:
            col = f"{footing}_j_per_iteration"
            total = 0.0
            for layer, lg in g.groupby("layer", sort=False):
                by_op = lg.set_index("operation")[col]
                total += by_op.get("forward", 0.0)
                if basis == "training" and layer == "hidden":
                    continue
                modes = {"column": by_op.get("backward", np.nan), "row": by_op.get("backward_row", np.nan)}
                if backward_mode == "best":
                    total += np.nanmin(list(modes.values()))
                else:
                    total += modes[backward_mode]
            totals[footing] = total
        out.append(dict(zip(keys, key, strict=True)) | totals)
    return pd.DataFrame(out, columns=[*keys, *footings])


def direct_energy_stage(
    cfg: Mapping, table_csv: Path, characterizations: list[str | Path], workload_dir: Path, out_csv: Path
) -> pd.DataFrame:
    """Write the trained layers' energies per event and per iteration on the three footings, with
    their provenance beside (each layer's workload is ``workload_dir/<design>.npz``)."""
    from .atomic_files import atomic_write_json, atomic_write_text
    from .provenance import provenance

    table = pd.read_csv(table_csv)
    rows = []
    for path in characterizations:
        char = json.loads(Path(path).read_text())
        workload = load_trained_workload(Path(workload_dir) / f"{char['design']['name']}.npz")
        rows += layer_rows(cfg, table, char, workload)
    df = pd.DataFrame(rows)
    atomic_write_text(out_csv, df.to_csv(index=False, float_format="%.6g"))
    atomic_write_json(
        Path(out_csv).with_suffix(".provenance.json"),
        {
            "characterizations": [str(p) for p in characterizations],
            "energy_table": str(table_csv),
            "footings": {
                "direct": "gate level: the trained weights, events drawn from the network's own replayed epoch",
                "model_same_events": "the energy table's model on the golden-model features of the same events",
                "model_uniform": "the model on events uniform over the layer's neurons (network_energy's sweeps "
                "and the runs it cannot replay)",
            },
            **provenance(cfg, stage="direct_energy"),
        },
    )
    return df
