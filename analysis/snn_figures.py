"""Figures of the network experiment: the data, and each run's training curve and raster."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from spikemem.atomic_files import atomic_path  # noqa: E402


def _raster(ax, raster: np.ndarray, title: str, color: str = "black") -> None:
    """A spike raster (time x neurons) as an image: one pixel per (time step, neuron)."""
    cmap = matplotlib.colors.ListedColormap(["white", color])
    ax.imshow(
        raster.T > 0,
        origin="lower",
        aspect="auto",
        cmap=cmap,
        interpolation="nearest",
        extent=(0, raster.shape[0], 0, raster.shape[1]),
    )
    ax.set(xlabel="time step (ms)", ylabel="neuron", title=title)


def _save(fig, path: str | Path) -> None:
    path = Path(path)
    with atomic_path(path, suffix=f".part{path.suffix}") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", metadata={"Software": None, "CreationDate": None})
    plt.close(fig)


def data_figures(data_dir: str | Path, inputs_png: str | Path, target_png: str | Path) -> None:
    data_dir = Path(data_dir)
    x, y = np.load(data_dir / "inputs.npy"), np.load(data_dir / "target.npy")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _raster(ax, x, f"input spike trains ({x.shape[1]} neurons, {int(x.sum())} spikes)")
    _save(fig, inputs_png)
    fig, ax = plt.subplots(figsize=(5, 5))
    _raster(ax, y, f"target raster ({int(y.sum())} spikes)")
    _save(fig, target_png)


def run_figure(run_dir: str | Path, target_npy: str | Path, out_png: str | Path) -> None:
    """Training curve, best output raster, and the target, side by side."""
    run_dir = Path(run_dir)
    m = json.loads((run_dir / "metrics.json").read_text())
    curve = pd.read_csv(run_dir / "curve.csv")
    out, target = np.load(run_dir / "best_output.npy"), np.load(target_npy)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    axes[0].plot(curve.epoch, curve.van_rossum)
    axes[0].axvline(m["best_epoch"], color="grey", lw=0.8, ls="--")
    axes[0].set(
        xlabel="epoch",
        ylabel="van Rossum distance",
        title=f"{m['training_set']}: {m['weight_bits']}-bit weights, seed {m['seed']}\n{m['stop_reason']}",
    )
    _raster(axes[1], out, f"output at best epoch {m['best_epoch']} (D = {m['min_van_rossum']:.1f})", "tab:blue")
    _raster(axes[2], target, "target")
    _save(fig, out_png)


def retention_figure(scores_csv: str | Path, out: str | Path) -> None:
    """Per protocol: the minimum van Rossum distance against weight bits (the best run, and the mean
    and standard deviation over trials per sweep point), and the layer densities at the best epoch
    and on the final weights."""
    scores = pd.read_csv(scores_csv)
    protocols = sorted(set(scores.protocol))
    fig, axes = plt.subplots(2, len(protocols), figsize=(5 * len(protocols), 6.5), squeeze=False)
    for col, protocol in enumerate(protocols):
        df = scores[scores.protocol == protocol]
        ax = axes[0, col]
        for tset, g in df.groupby("training_set"):
            ax.errorbar(
                g.weight_bits,
                g.min_van_rossum_mean,
                yerr=g.min_van_rossum_sd,
                marker="o",
                ms=3,
                capsize=3,
                label=f"{tset} mean +- sd",
            )
        best = df.drop_duplicates("weight_bits").sort_values("weight_bits")
        ax.plot(best.weight_bits, best.best_min_van_rossum, "k*-", label="best run")
        ax.set(xlabel="weight bits", ylabel="minimum van Rossum distance", title=f"{protocol} protocol")
        ax.legend(fontsize=7)
        ax = axes[1, col]
        for layer, marker in (("hidden", "o"), ("output", "s")):
            ax.plot(best.weight_bits, best[f"best_{layer}_density"], marker=marker, label=f"{layer}, best epoch")
            ax.plot(
                best.weight_bits,
                best[f"best_{layer}_final_density"],
                marker=marker,
                ls="--",
                label=f"{layer}, final weights",
            )
        ax.set(xlabel="weight bits", ylabel="density of the best run", ylim=(0, 1.02))
        ax.legend(fontsize=7)
    _save(fig, out)
