"""The experiment's fixed data: 700 Poisson-ISI input trains and a smiley-face target raster."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write_bytes, atomic_write_json
from ..provenance import provenance


def input_spikes(n_in: int = 700, steps: int = 250, seed: int = 0, isi_range=(1.25, 36.0)) -> np.ndarray:
    """Binary raster (steps x n_in). Neuron ``i`` fires with inter-spike intervals of mean
    ``m_i``, rising linearly across the population over ``isi_range``; an interval is
    ``1 + Poisson(m_i - 1)`` steps (at least one step, mean ``m_i``). The first spike comes after
    one interval drawn the same way, so neurons are not aligned at t = 0."""
    rng = np.random.default_rng(seed)
    means = np.linspace(isi_range[0], isi_range[1], n_in)
    raster = np.zeros((steps, n_in), dtype=np.float32)
    for i, m in enumerate(means):
        # Enough intervals to pass the end in all but astronomically unlikely cases.
        n = int(steps / m * 2 + 20)
        times = np.cumsum(1 + rng.poisson(m - 1.0, size=n)) - 1
        times = times[times < steps]
        raster[times, i] = 1.0
    return raster


def smiley_image(size_t: int = 250, size_n: int = 250) -> np.ndarray:
    """A binary smiley face on a (time x neuron) grid, upright in the usual raster view (time to
    the right, neuron index upwards): face outline, two eyes, a smiling mouth."""
    t, n = np.meshgrid(np.linspace(-1, 1, size_t), np.linspace(-1, 1, size_n), indexing="ij")
    width = 0.05
    outline = np.abs(np.hypot(t, n) - 0.85) < width
    eyes = (np.hypot(t + 0.35, n - 0.3) < 0.12) | (np.hypot(t - 0.35, n - 0.3) < 0.12)
    mouth = (np.abs(np.hypot(t, n - 0.05) - 0.5) < width) & (n < -0.2)
    return (outline | eyes | mouth).astype(np.float32)


def target_raster(n_out: int = 250, steps: int = 250, seed: int = 0, keep: float = 0.95) -> np.ndarray:
    """The smiley as a raster (steps x n_out), each spike kept with probability ``keep``."""
    rng = np.random.default_rng(seed + 1_000_003)  # independent of the input trains' stream
    image = smiley_image(steps, n_out)
    return (image * (rng.random(image.shape) < keep)).astype(np.float32)


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as ``.npy`` atomically."""
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def make_data(cfg: Mapping, out_dir: str | Path) -> None:
    """The fixed input trains and target raster (``inputs.npy``, ``target.npy``, ``data.json``)."""
    s = cfg["snn"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = input_spikes(s["n_in"], s["steps"], s["data_seed"])
    y = target_raster(s["n_out"], s["steps"], s["data_seed"])
    save_npy(out / "inputs.npy", x)
    save_npy(out / "target.npy", y)
    atomic_write_json(
        out / "data.json",
        {
            "inputs": {"shape": list(x.shape), "spikes": int(x.sum()), "isi_mean_range_steps": [1.25, 36.0]},
            "target": {"shape": list(y.shape), "spikes": int(y.sum()), "keep_probability": 0.95},
            "provenance": provenance(cfg, stage="snn_data", data_seed=s["data_seed"]),
        },
    )
