"""WAGE-style quantization (Wu et al., ICLR 2018) of weights, errors and gradients.

* Weights: ``k`` bits, levels ``sigma(k) * n`` with ``|n| <= 2**(k-1) - 1`` (symmetric), times a
  per-layer power-of-two scale ``alpha``; stored as the integer ``n`` in hardware.
* Errors: scaled by the power of two nearest their maximum magnitude, rounded to ``k`` bits.
* Gradients: scaled likewise, then stochastically rounded to ``k`` bits (seeded).
* Activations are spikes, exactly one bit; nothing to quantize.
"""

from __future__ import annotations

import numpy as np


def sigma(bits: int) -> float:
    """The quantization step of a ``bits``-bit value in (-1, 1)."""
    return 2.0 ** (1 - bits)


def shift(x: float) -> float:
    """The power of two nearest ``x`` (WAGE's shift); 1 for x <= 0."""
    return float(2.0 ** np.round(np.log2(x))) if x > 0 else 1.0


def weight_levels(bits: int) -> int:
    return 2 ** (bits - 1) - 1


def quantize_weights(w: np.ndarray, bits: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Quantized weights (``w``'s dtype) and their integer levels (int64)."""
    top = weight_levels(bits)
    levels = np.clip(np.rint(w / (alpha * sigma(bits))), -top, top)
    return (levels * (alpha * sigma(bits))).astype(w.dtype), levels.astype(np.int64)


def uniform_floats(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform float32 draws in [0, 1) on a 2**-24 grid, two from each 64-bit output of ``rng``'s
    bit generator: about three times faster than ``rng.random(dtype=float32)``, and the same
    stream wherever the rounding draws are taken (reference and batched trainers alike)."""
    n = int(np.prod(shape))
    halves = rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
    return ((halves >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)).reshape(shape)


def _stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    low = np.floor(x)
    return low + (uniform_floats(rng, x.shape) < (x - low))


def quantize_errors(e: np.ndarray, bits: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Errors on a ``bits``-bit grid of the power of two nearest their maximum magnitude.

    Deterministic rounding (``rng=None``) is WAGE's; with ``rng`` the rounding is stochastic and
    unbiased, which keeps the small errors of BPTT alive in expectation instead of zeroing them.
    """
    peak = float(np.max(np.abs(e))) if e.size else 0.0
    if peak == 0.0:
        return e
    scale, step = shift(peak), sigma(bits)
    x = e / (scale * step)
    q = np.rint(x) if rng is None else np.sign(x) * _stochastic_round(np.abs(x), rng)
    top = 2 ** (bits - 1) - 1
    return (np.clip(q, -top, top) * (scale * step)).astype(e.dtype)


def quantize_gradients(g: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Gradients stochastically rounded to a ``bits``-bit grid of their power-of-two scale."""
    peak = float(np.max(np.abs(g))) if g.size else 0.0
    if peak == 0.0:
        return g
    scale, step = shift(peak), sigma(bits)
    q = np.minimum(_stochastic_round(np.abs(g) / (scale * step), rng), 2 ** (bits - 1) - 1)
    return (np.sign(g) * q * (scale * step)).astype(g.dtype)
