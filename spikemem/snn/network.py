"""The 700-400-250 current-based LIF network and its surrogate-gradient BPTT, in numpy.

Dynamics of one layer (SPEC.md section 1), for input current ``I[t] = x[t] @ W``::

    syn[t+1] = a * syn[t] + I[t]
    mem[t+1] = b * mem[t] + syn[t] - rst[t]
    s[t]     = H(mem[t] - theta),  rst[t] = s[t]   (reset by subtraction of 1)

The reset is treated as a constant in the gradient (as in the authors' surrogate-gradient code),
which makes the backward pass linear in time: with ``g = dL/ds * sigma'(mem - theta)`` and the
fast-sigmoid surrogate ``sigma'(u) = 1 / (100 |u| + 1)**2``,

    dmem[t] = g[t] + b * dmem[t+1],   dsyn[t] = dmem[t+1] + a * dsyn[t+1],   dI[t] = dsyn[t+1]

so the backward pass of a layer is one fixed (T x T) operator applied to all neurons at once, and
so is the forward synaptic filter; only the forward membrane (the reset is non-linear) steps
through time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class LifConstants:
    syn_decay: float = 0.75  # a: tau_syn = 5 ms at dt = 1 ms (as the authors round it)
    mem_decay: float = 0.875  # b: tau_mem = 10 ms
    threshold: float = 0.9
    surrogate_slope: float = 100.0


@lru_cache(maxsize=32)
def decay_matrix(steps: int, decay: float, dtype: str) -> np.ndarray:
    """``L`` with ``(L @ x)[t] = sum_k<=t decay**(t-k) x[k]``: the filter ``u[t] = decay u[t-1] + x[t]``
    over the whole time axis as one matrix product (T x T, lower triangular Toeplitz)."""
    lag = np.subtract.outer(np.arange(steps), np.arange(steps))
    return np.where(lag >= 0, float(decay) ** np.clip(lag, 0, None), 0.0).astype(dtype)


@lru_cache(maxsize=32)
def _operators(steps: int, c: LifConstants, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The forward synaptic operator ``syn = F @ I`` and the backward operator ``dI = B @ g``."""
    later = np.eye(steps, k=-1, dtype=dtype)  # (later @ x)[t] = x[t-1]
    earlier = later.T  # (earlier @ x)[t] = x[t+1]
    la, lb = decay_matrix(steps, c.syn_decay, dtype), decay_matrix(steps, c.mem_decay, dtype)
    forward = later @ la
    backward = earlier @ la.T @ earlier @ lb.T
    return np.ascontiguousarray(forward), np.ascontiguousarray(backward)


def surrogate_grad(u: np.ndarray, slope: float) -> np.ndarray:
    return 1.0 / (slope * np.abs(u) + 1.0) ** 2


def smooth_spike(u: np.ndarray, slope: float) -> np.ndarray:
    """The function whose derivative is the surrogate: ``u / (1 + slope |u|)`` (for gradient checks)."""
    return u / (1.0 + slope * np.abs(u))


def lif_forward(current: np.ndarray, c: LifConstants, smooth: bool = False, reset: np.ndarray | None = None):
    """Run one layer over time. Returns ``(spikes, mem)``, both (T, N).

    ``smooth`` replaces the Heaviside by :func:`smooth_spike`; ``reset`` fixes the reset sequence
    instead of taking it from the spikes. Both exist for the finite-difference test of the gradient.
    """
    forward_op, _ = _operators(current.shape[0], c, current.dtype.str)
    syn = forward_op @ current
    steps, n = current.shape
    mem = np.zeros_like(current)
    spikes = np.empty_like(current)
    b, theta = current.dtype.type(c.mem_decay), current.dtype.type(c.threshold)
    for t in range(steps):
        m, s = mem[t], spikes[t]
        if smooth:
            s[...] = smooth_spike(m - theta, c.surrogate_slope)
        else:
            np.greater(m, theta, out=s, casting="unsafe")  # 1.0 where it fires
        if t + 1 < steps:
            nxt = mem[t + 1]
            np.multiply(m, b, out=nxt)
            nxt += syn[t]
            nxt -= s if reset is None else reset[t]
    return spikes, mem


def lif_backward(grad_spikes: np.ndarray, mem: np.ndarray, c: LifConstants) -> np.ndarray:
    """dL/dI (T, N) from dL/ds (T, N), the reset held constant."""
    g = grad_spikes * surrogate_grad(mem - c.threshold, c.surrogate_slope).astype(grad_spikes.dtype)
    _, backward_op = _operators(g.shape[0], c, g.dtype.str)
    return backward_op @ g
