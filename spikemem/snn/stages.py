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
from ..provenance import provenance
from .data import save_npy
from .train import LAYERS, TrainSettings, train


def settings_for(cfg: Mapping, weight_bits: int | None, seed: int) -> TrainSettings:
    s = cfg["snn"]
    return TrainSettings(
        weight_bits=weight_bits if s["quantize"] else None,
        seed=seed,
        epochs=s["epochs"],
        learning_rate=s["learning_rate"],
        error_bits=s["error_bits"],
        gradient_bits=s["gradient_bits"],
    )


def train_run(cfg: Mapping, weight_bits: int, seed: int, data_dir: str | Path, out_dir: str | Path) -> dict:
    """Train one network; write its curve, events, best raster and weights, and metrics.json
    (written last, so a run is complete exactly when its metrics.json exists)."""
    s = cfg["snn"]
    x = np.load(Path(data_dir) / "inputs.npy")
    y = np.load(Path(data_dir) / "target.npy")
    settings = settings_for(cfg, weight_bits, seed)
    result = train(x, y, (s["n_in"], s["n_hidden"], s["n_out"]), settings)
    out = Path(out_dir)
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
    levels = {f"{n}": lv.astype(np.int8) for n, lv in zip(LAYERS, result.best_levels, strict=True) if lv is not None}
    buf = io.BytesIO()
    np.savez_compressed(buf, **levels)
    atomic_write_bytes(out / "best_levels.npz", buf.getvalue())

    mean_events = events.drop(columns="epoch").groupby("layer").mean().to_dict(orient="index")
    metrics = {
        "weight_bits": weight_bits,
        "seed": seed,
        "quantized": settings.weight_bits is not None,
        "epochs": settings.epochs,
        "min_van_rossum": result.min_distance,
        "best_epoch": result.best_epoch,
        "final_van_rossum": result.curve[-1],
        "initial_van_rossum": result.curve[0],
        "densities": result.densities,
        "layers": {
            n: {"n_pre": a, "n_post": b}
            for n, a, b in zip(LAYERS, (s["n_in"], s["n_hidden"]), (s["n_hidden"], s["n_out"]), strict=True)
        },
        "events_per_iteration_mean": mean_events,
        "events_per_iteration_best_epoch": result.events[result.best_epoch],
        "inference_events": {"forward_rows": result.inference_events},
        "settings": {k: v for k, v in result.settings.items() if k != "lif"} | {"lif": result.settings["lif"]},
        "provenance": provenance(cfg, stage="snn_train", train_seed=seed, data_seed=s["data_seed"]),
    }
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def summarize(metric_files: list[str | Path]) -> pd.DataFrame:
    """One row per run: width, seed, retention and densities, mean events per iteration."""
    rows = []
    for f in metric_files:
        m = json.loads(Path(f).read_text())
        row = {
            "weight_bits": m["weight_bits"],
            "seed": m["seed"],
            "min_van_rossum": m["min_van_rossum"],
            "best_epoch": m["best_epoch"],
            "initial_van_rossum": m["initial_van_rossum"],
        }
        for layer in LAYERS:
            row[f"{layer}_density"] = m["densities"][layer]
            for k, v in m["events_per_iteration_mean"][layer].items():
                row[f"{layer}_{k}"] = v
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["weight_bits", "seed"]).reset_index(drop=True)
