"""The network experiment's stages, as the CLI runs them: one training run, the summary (the data
stage is :func:`spikemem.snn.data.make_data`)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic_files import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..progress import progress
from ..provenance import provenance
from .data import save_npy
from .protocols import PROTOCOLS, TrainingSet, training_set
from .train import LAYERS, TrainResult
from .van_rossum import KERNEL_DECAY


def train_stage(
    cfg: Mapping,
    set_name: str,
    data_dir: str | Path,
    runs_dir: str | Path,
    weight_bits: int | None = None,
    seed: int | None = None,
) -> list[dict]:
    """Train the runs of one training set, every width and seed of the configuration (or the one
    given) as one batch, and write each to ``runs_dir/<set>/w<bits>-s<seed>/``. Returns the metrics
    of each run."""
    s = cfg["snn"]
    tset = training_set(cfg, set_name)
    x = np.load(Path(data_dir) / "inputs.npy")
    y = np.load(Path(data_dir) / "target.npy")
    sizes = (s["n_in"], s["n_hidden"], s["n_out"])
    widths = s["weight_bits"] if weight_bits is None else [weight_bits]
    seeds = s["seeds"] if seed is None else [seed]
    pairs = [(wb, sd) for wb in widths for sd in seeds]
    protocol = PROTOCOLS[tset.protocol]
    settings = [protocol.settings(cfg, tset, wb, sd) for wb, sd in pairs]
    name = f"{tset.name} seeds {','.join(map(str, seeds))}"
    results = protocol.train(x, y, sizes, settings, progress=_progress(name, len(settings), settings[0].epochs))
    out = []
    for (wb, sd), result in zip(pairs, results, strict=True):
        out.append(write_run(cfg, tset, wb, sd, result, Path(runs_dir) / tset.name / f"w{wb}-s{sd}"))
    return out


def _progress(name: str, networks: int, epochs: int):
    interval = max(1, epochs // 20)

    def report(epoch: int, losses: np.ndarray) -> None:
        if (epoch + 1) % interval == 0 or epoch + 1 == epochs:
            progress(
                f"[snn_train {name}] epoch {epoch + 1}/{epochs}: van Rossum over {len(losses)} of {networks} "
                f"networks still training: min {losses.min():.2f}, median {np.median(losses):.2f}"
            )

    return report


def write_run(cfg: Mapping, tset: TrainingSet, weight_bits: int, seed: int, result: TrainResult, out: Path) -> dict:
    """Write one run's curve, events, best raster and weights (best epoch and final), and
    metrics.json last, so a run is complete exactly when its metrics.json exists."""
    s = cfg["snn"]
    out.mkdir(parents=True, exist_ok=True)
    curve = pd.DataFrame({"epoch": np.arange(len(result.curve)), "van_rossum": result.curve})
    atomic_write_text(out / "curve.csv", curve.to_csv(index=False))
    rows = [
        {"epoch": e, "layer": layer, **counts}
        for e, per_layer in enumerate(result.events)
        for layer, counts in per_layer.items()
    ]
    events = pd.DataFrame(rows)
    atomic_write_text(out / "events.csv", events.to_csv(index=False))
    save_npy(out / "best_output.npy", result.best_output.astype(np.uint8))
    for name, levels in (("best_levels.npz", result.best_levels), ("final_levels.npz", result.final_levels)):
        # int16: levels of up to 12-bit weights (the schema's widest)
        arrays = {f"{n}": lv.astype(np.int16) for n, lv in zip(LAYERS, levels, strict=True) if lv is not None}
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(out / name, buf.getvalue())

    mean_events = events.drop(columns="epoch").groupby("layer").mean().to_dict(orient="index")
    # A compressed encoding inserts a synapse by re-encoding from its row to the end of the memory:
    # with k rows taking one in per iteration (uniform over the rows), from the first of them on,
    # k / (k + 1) of the image on average (network_energy prices it).
    k = events.structure_rows.to_numpy(float) if "structure_rows" in events else np.zeros(len(events))
    reencode = events.assign(fraction=k / (k + 1)).groupby("layer").fraction.mean().to_dict() if len(events) else {}
    settings = {k: v for k, v in result.settings.items() if k != "lif"}
    metrics = {
        "weight_bits": weight_bits,
        "seed": seed,
        "protocol": tset.protocol,
        "training_set": tset.name,
        "freeze_structure": tset.freeze_structure,
        "activation_bits": tset.activation_bits,
        "error_bits": tset.error_bits,
        "gradient_bits": tset.gradient_bits,
        "quantized": result.best_levels[0] is not None,
        "epochs": len(result.curve),
        "stop_reason": result.stop_reason,
        "loss_kernel_decay": settings.get("kernel_decay", KERNEL_DECAY),
        "min_van_rossum": result.min_distance,
        "best_epoch": result.best_epoch,
        "final_van_rossum": result.curve[-1],
        "initial_van_rossum": result.curve[0],
        "densities": result.densities,
        "final_densities": result.final_densities,
        "layers": {
            n: {"n_pre": a, "n_post": b}
            for n, a, b in zip(LAYERS, (s["n_in"], s["n_hidden"]), (s["n_hidden"], s["n_out"]), strict=True)
        },
        "events_per_iteration_mean": mean_events,
        "reencode_fraction_mean": reencode,
        "events_per_iteration_best_epoch": result.events[result.best_epoch],
        "inference_events": {"forward_rows": result.inference_events},
        "settings": settings | {"lif": result.settings["lif"]},
        "provenance": provenance(
            cfg, stage="snn_train", train_seed=seed, data_seed=s["data_seed"], training_protocol=tset.name
        ),
    }
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def summarize(metric_files: list[str | Path]) -> pd.DataFrame:
    """One row per run: width, seed, retention and densities, mean events per iteration."""
    rows = []
    for f in metric_files:
        m = json.loads(Path(f).read_text())
        row = {
            "protocol": m["protocol"],
            "training_set": m["training_set"],
            "freeze_structure": bool(m.get("freeze_structure", False)),
            "activation_bits": m["activation_bits"],
            "error_bits": m["error_bits"],
            "gradient_bits": m["gradient_bits"],
            "weight_bits": m["weight_bits"],
            "seed": m["seed"],
            "min_van_rossum": m["min_van_rossum"],
            "best_epoch": m["best_epoch"],
            "epochs": m["epochs"],
            "stop_reason": m["stop_reason"],
            "initial_van_rossum": m["initial_van_rossum"],
            "final_van_rossum": m["final_van_rossum"],
        }
        for layer in LAYERS:
            row[f"{layer}_density"] = m["densities"][layer]
            row[f"{layer}_final_density"] = m["final_densities"][layer]
            for k, v in m["events_per_iteration_mean"][layer].items():
                row[f"{layer}_{k}"] = v
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["protocol", "training_set", "weight_bits", "seed"]).reset_index(drop=True)


def retention_scores(summary: pd.DataFrame) -> pd.DataFrame:
    """Per protocol and weight width, the retention scores both ways (docs/network.md):

    * ``best_*``: the single best run over the protocol's sweep configurations and seeds (how the
      paper's 1.37x and 4 % were formed), with its densities at the best epoch and on the final
      weights;
    * ``mean``/``sd`` of the minimum distance over seeds, per sweep configuration (the authors'
      table), and of the densities.
    """
    rows = []
    for (protocol, tset, wb), g in summary.groupby(["protocol", "training_set", "weight_bits"]):
        rows.append(
            {
                "protocol": protocol,
                "training_set": tset,
                "weight_bits": int(wb),
                "trials": len(g),
                "min_van_rossum_mean": float(g.min_van_rossum.mean()),
                "min_van_rossum_sd": float(g.min_van_rossum.std(ddof=1)) if len(g) > 1 else 0.0,
                **{f"{layer}_density_mean": float(g[f"{layer}_density"].mean()) for layer in LAYERS},
                **{f"{layer}_final_density_mean": float(g[f"{layer}_final_density"].mean()) for layer in LAYERS},
            }
        )
    per_config = pd.DataFrame(rows)
    best_rows = []
    # The best run is taken per protocol and structure regime: a frozen structure is another network.
    if "freeze_structure" not in summary:
        summary = summary.assign(freeze_structure=False)
    for (protocol, frozen, wb), g in summary.groupby(["protocol", "freeze_structure", "weight_bits"]):
        b = g.loc[g.min_van_rossum.idxmin()]
        best_rows.append(
            {
                "protocol": protocol,
                "freeze_structure": bool(frozen),
                "weight_bits": int(wb),
                "best_training_set": b.training_set,
                "best_seed": int(b.seed),
                "best_min_van_rossum": float(b.min_van_rossum),
                **{f"best_{layer}_density": float(b[f"{layer}_density"]) for layer in LAYERS},
                **{f"best_{layer}_final_density": float(b[f"{layer}_final_density"]) for layer in LAYERS},
            }
        )
    frozen_sets = dict(zip(summary.training_set, summary.freeze_structure, strict=True))
    per_config = per_config.assign(freeze_structure=per_config.training_set.map(frozen_sets))
    return per_config.merge(pd.DataFrame(best_rows), on=["protocol", "freeze_structure", "weight_bits"])
