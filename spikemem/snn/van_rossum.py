"""The van Rossum distance, in discrete time, as the paper's loss and retention metric.

Convention (SPEC.md section 1, the authors' setup): both rasters (time x neurons, dt = 1 ms) are
filtered with a first-order exponential kernel of unit peak, ``u[t] = a * u[t-1] + s[t]`` with
``u[-1] = 0`` and ``a = 0.75``, and

    D = sqrt( (1 / tau) * sum_t sum_n (x~[t, n] - y~[t, n])**2 ),   tau = 5 (steps).

The kernel's decay per step (``a``) and the normalisation ``tau`` are separate constants, as in the
authors' code (``a = 0.75`` is ``exp(-1 / 3.48)``, not ``exp(-1 / 5)``).

Relation to the continuous distance (van Rossum 2001), as elephant's ``van_rossum_distance``
computes it, ``D_e^2 = (2 / tau_c) * integral (f - g)^2 dt`` with kernel ``exp(-t / tau_c)`` (one
lone spike is at distance 1): for spikes on the time grid and ``tau_c = -dt / ln(a)``, each term of
both sums is proportional to ``a**|t_i - t_j|`` (the discrete sum gives ``1 / (1 - a**2)`` where the
integral gives ``tau_c / 2``), so ``D^2 = sum_n D_e,n^2 / ((1 - a**2) * tau)`` exactly for trains
followed by silence. tests/test_snn.py checks this against elephant.
"""

from __future__ import annotations

import numpy as np

from .network import decay_matrix

KERNEL_DECAY = 0.75
TAU = 5.0


def exp_filter(x: np.ndarray, a: float = KERNEL_DECAY) -> np.ndarray:
    """``u[t] = a * u[t-1] + x[t]`` along axis 0 (time)."""
    return decay_matrix(x.shape[0], a, x.dtype.str) @ x


def reverse_exp_filter(g: np.ndarray, a: float = KERNEL_DECAY) -> np.ndarray:
    """The adjoint of :func:`exp_filter`: ``v[t] = g[t] + a * v[t+1]``."""
    return decay_matrix(g.shape[0], a, g.dtype.str).T @ g


def van_rossum(x: np.ndarray, y: np.ndarray, a: float = KERNEL_DECAY, tau: float = TAU) -> float:
    """Distance between two rasters of shape (time, neurons)."""
    diff = exp_filter(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64), a)
    return float(np.sqrt(np.sum(diff**2) / tau))


def van_rossum_and_grad(
    x: np.ndarray, y: np.ndarray, a: float = KERNEL_DECAY, tau: float = TAU
) -> tuple[float, np.ndarray]:
    """The distance and its gradient with respect to ``x`` (the filter is linear)."""
    diff = exp_filter(x - y, a)
    sq = float(np.sum(diff**2))
    dist = np.sqrt(sq / tau)
    if dist == 0.0:
        return 0.0, np.zeros_like(x)
    grad = reverse_exp_filter(diff, a) / (tau * dist)  # d sqrt(S/tau) = dS / (2 tau D), dS = 2 diff
    return float(dist), grad.astype(x.dtype, copy=False)


def van_rossum_batch_and_grad(
    x: np.ndarray, y: np.ndarray, a: float = KERNEL_DECAY, tau: float = TAU
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`van_rossum_and_grad` for a batch of rasters ``x`` (time, batch, neurons) against one
    target ``y`` (time, neurons): distances (batch,) and gradients shaped like ``x``.

    The filters run as recursions over time, element by element, so each network's numbers are the
    same whatever it is batched with (a matrix product's summation order depends on the shapes).
    """
    diff = (x - y[:, None, :]).astype(np.float64)
    for t in range(1, len(diff)):
        diff[t] += a * diff[t - 1]
    # Sums along contiguous rows only: their order depends on the row length, not on the batch.
    per_step = np.sum(diff**2, axis=2)
    dist = np.sqrt(np.ascontiguousarray(per_step.T).sum(axis=1) / tau)
    for t in range(len(diff) - 2, -1, -1):
        diff[t] += a * diff[t + 1]
    scale = np.divide(1.0, tau * dist, out=np.zeros_like(dist), where=dist > 0)
    return dist, (diff * scale[None, :, None]).astype(x.dtype)
