"""Compiled (numba) time loops and weight update of the paper protocol.

They compute exactly what the numpy reference in :mod:`spikemem.snn.paper_protocol` computes (a
test compares them bit for bit): every quantizer's arithmetic is on power-of-two grids, and the
power of two nearest a peak is taken from its binary exponent, not from a rounded logarithm, so
float32 and float64 agree. numpy spends most of a batched epoch on per-step calls over small
arrays; these loops fuse each step's dozen passes into one.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# error_model="numpy": IEEE division without Python's zero-division check, which costs more than
# the division itself in these loops (no divisor here can be zero).

SQRT_HALF = math.sqrt(0.5)
# Adding and subtracting 1.5 * 2**23 rounds a float32 of magnitude below 2**22 to the nearest
# integer, ties to even, exactly as np.rint does, without a libm call per element.
ROUNDER = np.float32(1.5 * 2**23)


@njit(cache=True, inline="always", error_model="numpy")
def _rint(v):
    v = np.float32(v)  # the trick needs float32 arithmetic
    return (v + ROUNDER) - ROUNDER


@njit(cache=True, error_model="numpy")
def nearest_power_of_two(peak):
    """The power of two nearest ``peak`` on a log scale; 1 for 0."""
    if peak <= 0.0:
        return 1.0
    m, e = math.frexp(peak)  # peak = m * 2**e, 0.5 <= m < 1
    return math.ldexp(1.0, e if m >= SQRT_HALF else e - 1)


@njit(cache=True, inline="always", error_model="numpy")
def _quantize(x, bound, levels):
    if x > bound:
        return _rint(bound * levels) / levels, False
    if x < -bound:
        return _rint(-bound * levels) / levels, False
    return _rint(x * levels) / levels, True


@njit(cache=True, parallel=True, error_model="numpy")
def layer_forward(current, levels, bound, a, b, theta):
    """As :func:`spikemem.snn.paper_protocol.layer_forward`; ``levels`` and ``bound`` are the state
    quantizer's per network (batch,) arrays."""
    steps, batch, n = current.shape
    spikes = np.empty_like(current)
    above = np.empty_like(current)
    masks = np.empty((3, steps, batch, n), dtype=np.bool_)
    syn = np.zeros((batch, n), np.float32)
    mem = np.zeros((batch, n), np.float32)
    for t in range(steps):
        for k in prange(batch):
            lv, bd = levels[k], bound[k]
            for i in range(n):
                u, masks[0, t, k, i] = _quantize(np.float32(mem[k, i] - theta), bd, lv)
                s = np.float32(1.0) if u > 0 else np.float32(0.0)
                above[t, k, i] = u
                spikes[t, k, i] = s
                new_syn, masks[1, t, k, i] = _quantize(np.float32(a * syn[k, i] + current[t, k, i]), bd, lv)
                mem[k, i], masks[2, t, k, i] = _quantize(np.float32(np.float32(b * mem[k, i] + syn[k, i]) - s), bd, lv)
                syn[k, i] = new_syn
    return spikes, above, masks


@njit(cache=True, inline="always", error_model="numpy")
def _normalized(x, inv_scale, bound, levels):
    v = x * inv_scale
    if v > bound:
        v = bound
    elif v < -bound:
        v = -bound
    return _rint(v * levels) / levels


@njit(cache=True, parallel=True, error_model="numpy")
def normalize_errors(errors, levels, bound):
    """Each network's errors (T, batch, n) over the power of two nearest their peak, clipped and
    rounded to its error bits, as (batch, T, n): :meth:`BitVector.normalize_errors`."""
    steps, batch, n = errors.shape
    out = np.empty((batch, steps, n), np.float32)
    for k in prange(batch):
        peak = np.float32(0.0)
        for t in range(steps):
            for i in range(n):
                peak = max(peak, abs(errors[t, k, i]))
        inv = np.float32(1.0 / nearest_power_of_two(peak))
        for t in range(steps):
            for i in range(n):
                out[k, t, i] = _normalized(errors[t, k, i], inv, bound[k], levels[k])
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def layer_backward(grad_spikes, above, masks, levels, bound, a, b, slope):
    """As :func:`spikemem.snn.paper_protocol.layer_backward`, with the error quantizer's per
    network ``levels`` and ``bound``."""
    steps, batch, n = grad_spikes.shape
    d_current = np.empty_like(grad_spikes)
    d_mem = np.zeros((batch, n), np.float32)
    d_syn = np.zeros((batch, n), np.float32)
    d_above = np.empty((batch, n), np.float32)
    one = np.float32(1.0)
    for t in range(steps - 1, -1, -1):
        for k in prange(batch):
            lv, bd = levels[k], bound[k]
            peak_syn = np.float32(0.0)
            peak_mem = np.float32(0.0)
            peak_above = np.float32(0.0)
            for i in range(n):
                den = np.float32(slope) * abs(above[t, k, i]) + one
                d_above[k, i] = grad_spikes[t, k, i] * (one / (den * den))
                peak_syn = max(peak_syn, abs(d_syn[k, i]))
                peak_mem = max(peak_mem, abs(d_mem[k, i]))
                peak_above = max(peak_above, abs(d_above[k, i]))
            inv_syn = np.float32(1.0 / nearest_power_of_two(peak_syn))
            inv_mem = np.float32(1.0 / nearest_power_of_two(peak_mem))
            inv_above = np.float32(1.0 / nearest_power_of_two(peak_above))
            for i in range(n):
                pre_syn = _normalized(d_syn[k, i], inv_syn, bd, lv) if masks[1, t, k, i] else np.float32(0.0)
                pre_mem = _normalized(d_mem[k, i], inv_mem, bd, lv) if masks[2, t, k, i] else np.float32(0.0)
                d_current[t, k, i] = pre_syn
                spike_path = _normalized(d_above[k, i], inv_above, bd, lv) if masks[0, t, k, i] else np.float32(0.0)
                d_mem[k, i] = spike_path + b * pre_mem
                d_syn[k, i] = a * pre_syn + pre_mem
    return d_current


@njit(cache=True, error_model="numpy")
def fixed_step_update(weights, grads, uniforms, levels_before, gradient_step, bound, row_changed):
    """WAGE's fixed-step update of one network's layer, in place, with its event counts.

    ``grads`` is divided by the power of two nearest its peak and stochastically rounded (with
    ``uniforms``) to whole quanta of ``gradient_step``; the shadow ``weights`` move by them and are
    clipped to ``bound``. Returns (updates, updates on non-zero levels before the step), and sets
    ``row_changed[i]`` where row ``i`` has an update.
    """
    peak = np.float32(0.0)
    for g in grads.flat:
        peak = max(peak, abs(g))
    moved = 0
    moved_nonzero = 0
    if peak == 0.0:
        return moved, moved_nonzero
    inv = np.float32(1.0 / nearest_power_of_two(peak))
    w, g, u, lv = weights.ravel(), grads.ravel(), uniforms.ravel(), levels_before.ravel()
    cols = weights.shape[-1]
    for j in range(w.size):
        x = abs(g[j]) * inv
        low = np.floor(x)
        steps = low + (np.float32(1.0) if u[j] < x - low else np.float32(0.0))
        if steps != 0.0:
            moved += 1
            row_changed[j // cols] = 1
            if lv[j] != 0.0:
                moved_nonzero += 1
            v = w[j] - np.float32(math.copysign(steps, g[j])) * gradient_step
            w[j] = min(max(v, -bound), bound)
    return moved, moved_nonzero


# The adaptive protocol's float network (spikemem.snn.network): the same recursions, unquantized.


@njit(cache=True, parallel=True, error_model="numpy")
def float_layer_forward(current, a, b, theta):
    """Spikes and membranes (T, batch, n) of :func:`spikemem.snn.network.lif_forward`, batched:
    ``syn[t+1] = a syn[t] + I[t]``, ``mem[t+1] = b mem[t] + syn[t] - s[t]``, ``s[t] = mem[t] > theta``."""
    steps, batch, n = current.shape
    spikes = np.empty_like(current)
    mem_out = np.empty_like(current)
    for k in prange(batch):
        for i in range(n):
            syn = np.float32(0.0)
            mem = np.float32(0.0)
            for t in range(steps):
                s = np.float32(1.0) if mem > theta else np.float32(0.0)
                spikes[t, k, i] = s
                mem_out[t, k, i] = mem
                mem = b * mem + syn - s
                syn = a * syn + current[t, k, i]
    return spikes, mem_out


@njit(cache=True, parallel=True, error_model="numpy")
def float_layer_backward(grad_spikes, mem, a, b, theta, slope):
    """dL/dI (T, batch, n) of :func:`spikemem.snn.network.lif_backward` (reset held), batched:
    ``v[t] = g[t] + b v[t+1]``, ``z[t] = v[t+1] + a z[t+1]``, ``dI[t] = z[t+1]``."""
    steps, batch, n = grad_spikes.shape
    out = np.empty_like(grad_spikes)
    one = np.float32(1.0)
    for k in prange(batch):
        for i in range(n):
            v_next = np.float32(0.0)  # v[t+1]
            z_next = np.float32(0.0)  # z[t+1]
            for t in range(steps - 1, -1, -1):
                out[t, k, i] = z_next
                z = v_next + a * z_next
                den = np.float32(slope) * abs(mem[t, k, i] - theta) + one
                v = grad_spikes[t, k, i] * (one / (den * den)) + b * v_next
                v_next, z_next = v, z
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def adamax_step(p, g, mm, uu, rate, beta1, beta2, eps):
    """One Adamax step over flat (contiguous, raveled) arrays, in one pass where numpy takes eight."""
    for j in prange(p.size):
        mj = beta1 * mm[j] + (np.float32(1.0) - beta1) * g[j]
        uj = max(beta2 * uu[j], abs(g[j]))
        mm[j] = mj
        uu[j] = uj
        p[j] -= rate * mj / (uj + eps)


@njit(cache=True, parallel=True, error_model="numpy")
def wage_adamax_update(
    w,
    g,
    uniforms,
    m,
    u,
    levels_before,
    levels,
    wq,
    grad_unit,
    grad_top,
    weight_unit,
    weight_top,
    rate,
    beta1,
    one_minus_beta1,
    beta2,
    eps,
    row_changed,
    cols,
):
    """One network layer's WAGE gradient, Adamax step and next weight levels, in one pass over flat arrays.

    The gradient is stochastically rounded (``uniforms``) to whole ``grad_unit`` steps of at most
    ``grad_top`` (:func:`spikemem.snn.quant.quantize_gradients`); Adamax moves the shadow weights
    ``w`` by it; ``levels`` and ``wq`` become the levels and weights of the next forward pass
    (:func:`spikemem.snn.quant.quantize_weights`). Returns the updates, and the updates on synapses
    whose level in this pass (``levels_before``) was non-zero: the event counts; sets
    ``row_changed[i]`` where row ``i`` (``cols`` to a row) has an update (every writer stores 1).
    ``grad_unit`` 0 stands for a zero gradient.
    """
    moved = 0
    moved_nonzero = 0
    beyond = weight_top + np.float32(1.0)
    # Units are powers of two: multiplying by the inverse is exact.
    inv_grad_unit = np.float32(1.0) / grad_unit if grad_unit > 0 else np.float32(0.0)
    inv_weight_unit = np.float32(1.0) / weight_unit
    for j in prange(w.size):
        x = abs(g[j]) * inv_grad_unit
        low = np.floor(x)
        steps = min(low + np.float32(uniforms[j] < x - low), grad_top)
        q = np.float32(np.copysign(steps, g[j])) * grad_unit
        nonzero = q != 0
        moved += nonzero
        moved_nonzero += nonzero & (levels_before[j] != 0)
        if nonzero:
            row_changed[j // cols] = 1
        mj = m[j] * beta1 + one_minus_beta1 * q
        uj = max(beta2 * u[j], abs(q))
        m[j] = mj
        u[j] = uj
        wj = w[j] - rate * mj / (uj + eps)
        w[j] = wj
        # Clipped before rounding too, so the rounding trick stays in its range; same result.
        lv = min(max(_rint(min(max(wj * inv_weight_unit, -beyond), beyond)), -weight_top), weight_top)
        levels[j] = lv
        wq[j] = lv * weight_unit
    return moved, moved_nonzero


@njit(cache=True, error_model="numpy")
def abs_max(values):
    """The largest magnitude of a flat array, without numpy's temporary of the magnitudes."""
    peak = np.float32(0.0)
    for v in values:
        peak = max(peak, abs(v))
    return peak


@njit(cache=True, error_model="numpy")
def stochastic_errors(errors, uniforms, unit, top):
    """:func:`spikemem.snn.quant.quantize_errors` with stochastic rounding, in place on a flat
    array: over ``unit`` (the power of two of the peak times the grid step), rounded up where
    ``uniforms`` falls below the fraction, clipped to ``top`` steps."""
    inv = np.float32(1.0) / unit
    for j in range(errors.size):
        x = errors[j] * inv
        magnitude = abs(x)
        low = np.floor(magnitude)
        steps = min(low + np.float32(uniforms[j] < magnitude - low), top)
        errors[j] = np.float32(np.copysign(steps, x)) * unit
