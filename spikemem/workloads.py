"""The characterized designs' memory images and events: seeded random ones, or a trained
network layer's own weights and events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .config import Design
from .encodings import OPERATIONS, Encoding, MemoryParams, encode_conv, encode_fc
from .encodings.bitfields import weight_range
from .pdk import load_pdk_config

__all__ = [
    "OPERATIONS",
    "build",
    "load_trained_workload",
    "memory_params",
    "random_events",
    "random_weights",
    "rng_for",
    "trained_events",
]


def rng_for(cfg: Mapping, *parts: object) -> np.random.Generator:
    """A generator seeded from the configuration's seed and a stable purpose key."""
    key = ":".join(str(p) for p in (cfg["seed"], *parts))
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little"))


def memory_params(cfg: Mapping) -> MemoryParams:
    pdk = load_pdk_config(cfg["pdk"])
    mem = cfg["memory"]
    return MemoryParams(mem["word_bits"], pdk.macro(mem["sram_macro"]), mem["flop_threshold_bits"])


def random_weights(design: Design, density: float, rng: np.random.Generator) -> np.ndarray:
    """Weights (FC matrix or conv kernel set) with non-zeros uniform over the non-zero levels."""
    _, top = weight_range(design.weight_bits)
    g = design.geometry
    shape = (design.n_pre, design.n_post) if g is None else (g.out_channels, g.in_channels, g.kernel, g.kernel)
    magnitude = rng.integers(1, top + 1, size=shape)
    sign = rng.choice(np.array([-1, 1]), size=shape)
    keep = rng.random(shape) < density
    return np.where(keep, magnitude * sign, 0).astype(np.int64)


def build(design: Design, weights: np.ndarray, params: MemoryParams, max_nnz: int | None = None) -> Encoding:
    """Encode ``weights`` as ``design`` does; ``max_nnz`` sizes pointers for the design's capacity."""
    if design.geometry is None:
        return encode_fc(design.encoding, weights, design.weight_bits, params, max_nnz)
    return encode_conv(design.encoding, weights, design.geometry, design.weight_bits, params, max_nnz)


def random_events(enc: Encoding, operation: str, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``n`` events of one operation: ``(pre,)``, ``(post,)``, ``(pre, post, delta)`` or, for the
    row-stream backward, the sorted postsynaptic neurons of the error mask.

    Update events address existing synapses (the learning engine walks only stored ones) with
    small signed deltas, so that saturation is exercised but not constant. A row-stream event's
    mask holds a uniformly drawn number (1 to all) of uniformly drawn neurons, so that the
    events span sparse to dense error vectors.
    """
    if operation == "forward":
        return [(int(i),) for i in rng.integers(0, enc.n_pre, n)]
    if operation == "backward":
        return [(int(j),) for j in rng.integers(0, enc.n_post, n)]
    if operation == "update":
        pre, post = np.nonzero(enc.connectivity())
        if len(pre) == 0:
            return []
        pick = rng.integers(0, len(pre), n)
        span = max(1, enc.wmax // 2)
        deltas = rng.integers(-span, span + 1, n)
        return [(int(pre[k]), int(post[k]), int(d) or 1) for k, d in zip(pick, deltas, strict=True)]
    if operation == "backward_row":
        sizes = rng.integers(1, enc.n_post + 1, n)
        return [tuple(sorted(int(j) for j in rng.choice(enc.n_post, int(k), replace=False))) for k in sizes]
    raise ValueError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")


# --------------------------------------------------------------------------- the trained network's own


def load_trained_workload(path: str | Path) -> dict:
    """A trained layer's workload (:func:`write_trained_workload`) as arrays, ``meta`` parsed."""
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    data["meta"] = json.loads(str(data["meta"]))
    return data


def trained_events(
    enc: Encoding, workload: Mapping, operation: str, n: int, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """``n`` events of one operation drawn uniformly (without replacement where there are enough)
    from a trained layer's own (:func:`load_trained_workload`): each spike, non-zero error, error
    step or moved synapse is equally likely, so rows, columns and masks keep the network's
    statistics. Updates are drawn among the synapses ``enc`` stores (a compressed encoding's
    learning engine walks only those)."""
    if operation == "forward":
        pool = [(int(i),) for i in workload["forward"]]
    elif operation == "backward":
        pool = [(int(j),) for j in workload["backward"]]
    elif operation == "backward_row":
        ptr, posts = workload["row_ptr"], workload["row_posts"]
        pool = [tuple(int(j) for j in posts[ptr[k] : ptr[k + 1]]) for k in range(len(ptr) - 1)]
    elif operation == "update":
        stored = enc.connectivity()
        pool = [
            (int(i), int(j), int(d))
            for i, j, d in zip(workload["update_pre"], workload["update_post"], workload["update_delta"], strict=True)
            if stored[i, j]
        ]
    else:
        raise ValueError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")
    if not pool:
        return []
    pick = rng.choice(len(pool), n, replace=n > len(pool))
    return [pool[k] for k in pick]
