"""The authors' training protocol (SPEC.md section 1, "How the paper's sweep was trained"), batched.

What makes it the paper's, fact by fact (docs/network.md gives the reading):

* **Fixed-step WAGE SGD.** A layer's weight gradient is divided by the power of two nearest its
  largest magnitude, stochastically rounded to an integer (0 or 1, rarely 2) and divided by
  ``2**(gb-1)``; plain SGD with learning rate 1 subtracts it. Each epoch a weight moves by a whole
  number of gradient quanta ``2**(1-gb)``.
* **Shadow weights** in [-1, 1], clipped to ``+-(1 - 2**(1-wb))`` before every forward pass, used as
  ``round(w * 2**(wb-1)) / 2**(wb-1)`` divided by a per-layer power-of-two scale from the fan-in.
  Initialized uniformly over ``+-(1 - 2**-wb)`` and snapped to the gradient grid.
* **States on ``ab`` bits.** Every step, ``mem - theta``, the synaptic current and the membrane are
  clipped to ``+-(1 - 2**(1-ab))`` and rounded to the ``2**(1-ab)`` grid; straight-through, with the
  clip mask applied to the error.
* **Errors on ``eb`` bits, renormalized.** Wherever an error passes a quantizer (each state
  quantizer, every step; each layer input, over the whole time axis) it is divided by the power of
  two nearest its largest magnitude, clipped and rounded to ``eb`` bits, and *not* scaled back: the
  backward pass carries errors in units of their own running maximum, as the authors' code does.
* **Loss**: the van Rossum distance with kernel decay 0.875 (the membrane constant).

Because of the per-step quantizers the backward pass cannot be the single linear time operator of
:mod:`spikemem.snn.network`; it steps through time. Many networks train at once: their shadow
weights are stacked along a batch axis, the input trains are shared, and every per-network
parameter (weight, state, error and gradient bits; seed) is a vector over the batch. All the
arithmetic of the forward pass and of the error products runs on power-of-two grids that float32
holds exactly, so a network's result does not depend on what it was batched with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from . import lif_kernels
from .lif_kernels import SQRT_HALF
from .network import LifConstants, smooth_spike, surrogate_grad
from .train import EVENT_KEYS, LAYERS, TrainResult, inserted_rows, run_result
from .van_rossum import van_rossum_batch_and_grad

PAPER_KERNEL_DECAY = 0.875


@dataclass(frozen=True)
class PaperSettings:
    """One network of the paper protocol: its widths of weights, states, errors and gradients."""

    weight_bits: int
    seed: int
    epochs: int
    activation_bits: int = 12
    error_bits: int = 12
    gradient_bits: int = 8
    kernel_decay: float = PAPER_KERNEL_DECAY
    lif: LifConstants = field(default_factory=LifConstants)
    # Freeze the sparsity structure: a weight whose level is zero at the start never moves.
    freeze_structure: bool = False

    def __post_init__(self) -> None:
        if self.gradient_bits <= self.weight_bits:
            # The clip bound 1 - 2**(1-wb) must lie on the gradient grid 2**(1-gb), or clipping
            # would move weights off it.
            raise ValueError(f"gradient bits ({self.gradient_bits}) must exceed weight bits ({self.weight_bits})")


def grid_step(bits: int) -> float:
    """The rounding grid of a ``bits``-bit value in (-1, 1): ``2**(1-bits)``."""
    return 2.0 ** (1 - bits)


def clip_bound(bits: int) -> float:
    """The largest magnitude of a ``bits``-bit value: ``1 - 2**(1-bits)``."""
    return 1.0 - grid_step(bits)


def layer_scale(weight_bits: int, fan_in: int) -> float:
    """The per-layer power-of-two divisor of the weights: the quantizer range over the standard
    deviation of a uniform layer of this fan-in (``sqrt(3 / fan_in)``), rounded to a power of two;
    never below 1 (the authors divide only when it exceeds 1.8)."""
    limit = 1.0 - 2.0**-weight_bits
    return max(1.0, float(2.0 ** np.round(np.log2(limit / np.sqrt(3.0 / fan_in)))))


def initial_weights(
    rng: np.random.Generator, shape: tuple[int, ...], weight_bits: int, gradient_bits: int
) -> np.ndarray:
    """Shadow weights uniform over the quantizer range ``+-(1 - 2**-wb)``, on the gradient grid."""
    limit = 1.0 - 2.0**-weight_bits
    step = grid_step(gradient_bits)
    return (np.rint(rng.uniform(-limit, limit, shape) / step) * step).astype(np.float32)


def initial_zero_fraction(weight_bits: int, gradient_bits: int) -> float:
    """The fraction of weights :func:`initial_weights` puts in the zero level: the grid points with
    ``|w| <= 2**-wb`` (ties round to even, so to zero), each of mass ``step / (2 * limit)``."""
    return (2.0**-weight_bits + 2.0**-gradient_bits) / (1.0 - 2.0**-weight_bits)


def power_of_two_near(peak: np.ndarray) -> np.ndarray:
    """WAGE's shift: the power of two nearest each value on a log scale (from the binary exponent,
    so exact in any float width); 1 where the value is 0."""
    mantissa, exponent = np.frexp(np.asarray(peak, dtype=np.float32))
    exponent = np.where(mantissa >= SQRT_HALF, exponent, exponent - 1)
    return np.where(mantissa > 0, np.ldexp(np.float32(1.0), exponent), np.float32(1.0)).astype(np.float32)


class BitVector:
    """One width per network, shaped to broadcast against (batch, neurons) arrays."""

    def __init__(self, bits: Sequence[int]) -> None:
        b = np.asarray(bits, dtype=np.float64)[:, None]
        self.levels = (2.0 ** (b - 1)).astype(np.float32)  # 1 / grid step
        self.step = (1.0 / self.levels).astype(np.float32)
        self.bound = (1.0 - self.step).astype(np.float32)

    def round(self, x: np.ndarray) -> np.ndarray:
        return np.rint(x * self.levels) * self.step

    def quantize_state(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``x`` (batch, n) clipped and rounded; and where it was not clipped."""
        clipped = np.clip(x, -self.bound, self.bound)
        return self.round(clipped), clipped == x

    def normalize_errors(self, e: np.ndarray) -> np.ndarray:
        """``e`` (batch, ...) over each network's power-of-two peak, clipped and rounded."""
        peak = np.abs(e).reshape(e.shape[0], -1).max(axis=1)
        shape = (e.shape[0],) + (1,) * (e.ndim - 1)
        lv, st, bd = (a.reshape(shape) for a in (self.levels, self.step, self.bound))
        x = np.clip(e / power_of_two_near(peak).reshape(shape), -bd, bd)
        return np.rint(x * lv) * st


def layer_forward(
    current: np.ndarray,
    states: BitVector | None,
    c: LifConstants,
    smooth: bool = False,
    reset: np.ndarray | None = None,
):
    """One layer over time, batched: ``current`` is (T, batch, n).

    Returns ``spikes`` and what the backward pass needs: the quantized ``mem - theta`` and the
    unclipped masks of its three quantizers, all (T, batch, n). ``states=None`` leaves the states
    unquantized; ``smooth`` spikes through :func:`smooth_spike` and ``reset`` fixes the reset
    sequence (both for the finite-difference test of the backward loop).
    """
    steps = current.shape[0]
    dtype = current.dtype.type
    syn = np.zeros(current.shape[1:], current.dtype)
    mem = np.zeros_like(syn)
    spikes = np.empty_like(current)
    above = np.empty_like(current)
    masks = np.ones((3, *current.shape), dtype=bool)

    def quantize(x, t, k):
        if states is None:
            return x
        q, masks[k, t] = states.quantize_state(x)
        return q

    a, b, theta = dtype(c.syn_decay), dtype(c.mem_decay), dtype(c.threshold)
    for t in range(steps):
        above[t] = quantize(mem - theta, t, 0)
        spikes[t] = smooth_spike(above[t], c.surrogate_slope) if smooth else above[t] > 0
        rst = (above[t] > 0) if reset is None else reset[t]
        new_syn = quantize(a * syn + current[t], t, 1)
        mem = quantize(b * mem + syn - rst, t, 2)
        syn = new_syn
    return spikes, above, masks


def layer_backward(
    grad_spikes: np.ndarray, above: np.ndarray, masks: np.ndarray, errors: BitVector | None, c: LifConstants
) -> np.ndarray:
    """dL/d(current) (T, batch, n) from dL/d(spikes), stepping back through the state quantizers.

    The reset is held constant (it is an index mask in the authors' code); every quantizer divides
    the error reaching it by its power-of-two peak over the layer's neurons, rounds it to ``eb``
    bits and zeroes it where the forward value was clipped. ``errors=None`` passes errors exactly:
    then this is the gradient of the surrogate-smoothed layer (the finite-difference test).
    """
    steps = grad_spikes.shape[0]
    dtype = grad_spikes.dtype.type
    a, b = dtype(c.syn_decay), dtype(c.mem_decay)
    d_current = np.empty_like(grad_spikes)
    d_mem = np.zeros(grad_spikes.shape[1:], grad_spikes.dtype)  # dL/dmem[t+1]
    d_syn = np.zeros_like(d_mem)  # dL/dsyn[t+1]

    def quantize(e):
        return e if errors is None else errors.normalize_errors(e)

    for t in range(steps - 1, -1, -1):
        pre_syn = quantize(d_syn) * masks[1, t]
        pre_mem = quantize(d_mem) * masks[2, t]
        d_current[t] = pre_syn
        d_above = grad_spikes[t] * surrogate_grad(above[t], c.surrogate_slope)
        d_mem = quantize(d_above) * masks[0, t] + b * pre_mem
        d_syn = a * pre_syn + pre_mem
    return d_current


class PaperBatch:
    """Networks trained together by the paper protocol, one shared input.

    Each layer's shadow weights are one (batch, n_pre, n_post) array. ``compiled`` runs the time
    loops and the update in numba (:mod:`spikemem.snn.lif_kernels`); the numpy code here is the
    reference they are tested against.
    """

    def __init__(self, sizes: tuple[int, ...], settings: Sequence[PaperSettings], compiled: bool = True) -> None:
        if len(sizes) != 3:
            raise ValueError("the paper protocol trains two-layer networks (sizes n_in, n_hidden, n_out)")
        self.sizes, self.settings, self.compiled = sizes, list(settings), compiled
        self.lif = self.settings[0].lif
        if any(s.lif != self.lif for s in self.settings):
            raise ValueError("networks trained together share their neuron constants")
        wb = [s.weight_bits for s in self.settings]
        self.weight_bits = BitVector(wb)
        self.states = BitVector([s.activation_bits for s in self.settings])
        self.errors = BitVector([s.error_bits for s in self.settings])
        self.gradient_step = np.array([grid_step(s.gradient_bits) for s in self.settings], np.float32)
        self.scales = [np.array([layer_scale(w, fan_in) for w in wb], np.float32) for fan_in in sizes[:-1]]
        rngs = [np.random.default_rng([s.seed, 2]) for s in self.settings]
        self.weights = [
            np.stack(
                [
                    initial_weights(r, (n_pre, n_post), s.weight_bits, s.gradient_bits)
                    for r, s in zip(rngs, self.settings, strict=True)
                ]
            )
            for n_pre, n_post in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        self.clip_weights()
        # One generator per network for the gradient rounding, so a network's run depends on its
        # seed alone, never on the batch it trains in.
        self.grad_rngs = [np.random.Generator(np.random.SFC64([s.seed, 3])) for s in self.settings]
        # Frozen structure: the zero-level synapses at the start of the networks that freeze it.
        freeze = np.array([s.freeze_structure for s in self.settings]).reshape(-1, 1, 1)
        self.frozen = [(lv == 0) & freeze for lv in self.levels()] if freeze.any() else None
        self.stored: list[np.ndarray | None] = [None, None]  # the synapses non-zero at some earlier epoch

    @property
    def batch(self) -> int:
        return len(self.settings)

    def clip_weights(self) -> None:
        """Shadow weights clipped to the quantizer range (the authors do it before every forward)."""
        bound = self.weight_bits.bound.reshape(-1, 1, 1)
        for w in self.weights:
            np.clip(w, -bound, bound, out=w)

    def levels(self) -> list[np.ndarray]:
        """Integer weight levels per layer, (batch, n_pre, n_post), of the clipped shadow weights."""
        return [np.rint(w * self.weight_bits.levels.reshape(-1, 1, 1)) for w in self.weights]

    def _forward_layer(self, current: np.ndarray):
        if self.compiled:
            c = self.lif
            s = self.states
            return lif_kernels.layer_forward(
                current,
                s.levels.ravel(),
                s.bound.ravel(),
                np.float32(c.syn_decay),
                np.float32(c.mem_decay),
                np.float32(c.threshold),
            )
        return layer_forward(current, self.states, self.lif)

    def _backward_layer(self, grad: np.ndarray, above: np.ndarray, masks: np.ndarray) -> np.ndarray:
        if self.compiled:
            c, e = self.lif, self.errors
            return lif_kernels.layer_backward(
                grad,
                above,
                masks,
                e.levels.ravel(),
                e.bound.ravel(),
                np.float32(c.syn_decay),
                np.float32(c.mem_decay),
                c.surrogate_slope,
            )
        return layer_backward(grad, above, masks, self.errors, self.lif)

    def _layer_input_errors(self, d_current: np.ndarray) -> np.ndarray:
        """The errors at a layer's input (T, batch, n), quantized over the whole time axis, as
        (batch, T, n)."""
        if self.compiled:
            e = self.errors
            return lif_kernels.normalize_errors(d_current, e.levels.ravel(), e.bound.ravel())
        return self.errors.normalize_errors(d_current.transpose(1, 0, 2))

    def passes(self, x: np.ndarray, target: np.ndarray) -> dict:
        """The forward pass, the van Rossum loss and the backward pass of one full-batch epoch,
        without the update: the weight levels used, the losses (batch,), the spikes of both layers
        (hidden: (batch, T, n); output: (T, batch, n)), the errors at each layer's input (batch, T,
        n; ``errors[0]`` the hidden layer's, ``errors[1]`` the output layer's) and the gradients."""
        levels = self.levels()
        step = self.weight_bits.step.reshape(-1, 1, 1)
        w1, w2 = (lv * (step / sc.reshape(-1, 1, 1)) for lv, sc in zip(levels, self.scales, strict=True))
        h1 = np.ascontiguousarray(np.matmul(x, w1).transpose(1, 0, 2))  # (T, batch, n_hid)
        s1, above1, masks1 = self._forward_layer(h1)
        s1_b = np.ascontiguousarray(s1.transpose(1, 0, 2))  # (batch, T, n_hid)
        h2 = np.ascontiguousarray(np.matmul(s1_b, w2).transpose(1, 0, 2))
        s2, above2, masks2 = self._forward_layer(h2)
        losses, d_out = van_rossum_batch_and_grad(s2, target, self.settings[0].kernel_decay)
        t2 = self._layer_input_errors(self._backward_layer(d_out, above2, masks2))  # (batch, T, n_out)
        d_s1 = np.ascontiguousarray(np.matmul(t2, w2.transpose(0, 2, 1)).transpose(1, 0, 2))
        t1 = self._layer_input_errors(self._backward_layer(d_s1, above1, masks1))
        grads = [np.matmul(x.T, t1), np.matmul(s1_b.transpose(0, 2, 1), t2)]  # (batch, n_pre, n_post)
        if self.frozen is not None:
            for g, frozen in zip(grads, self.frozen, strict=True):
                g[frozen] = 0
        return {"levels": levels, "losses": losses, "hidden": s1_b, "output": s2, "errors": (t1, t2), "grads": grads}

    def epoch(self, x: np.ndarray, target: np.ndarray) -> dict:
        """One full-batch epoch: forward, van Rossum loss, backward, fixed-step update.

        Returns the losses (batch,), the spikes of both layers (T, batch, n), the weight levels
        the forward pass used and per layer and network the event counts.
        """
        p = self.passes(x, target)
        levels, losses, s1_b, s2, grads = p["levels"], p["losses"], p["hidden"], p["output"], p["grads"]
        t1, t2 = p["errors"]
        structure = [0, 0]
        for k, lv in enumerate(levels):
            structure[k], self.stored[k] = inserted_rows(lv, self.stored[k])
        moved = self.update(grads, levels)
        events = {
            name: {
                "forward_rows": np.count_nonzero(inputs.reshape(self.batch, -1), axis=1)
                if inputs.ndim == 3
                else np.full(self.batch, np.count_nonzero(inputs)),
                "backward_columns": np.count_nonzero(errs.reshape(self.batch, -1), axis=1),
                "backward_steps": np.count_nonzero(np.any(errs != 0, axis=-1).reshape(self.batch, -1), axis=1),
                "updates": moved[k][0],
                "updates_on_nonzero": moved[k][1],
                "update_rows": moved[k][2],
                "structure_rows": np.broadcast_to(structure[k], (self.batch,)),
            }
            for k, (name, inputs, errs) in enumerate(zip(LAYERS, (x, s1_b), (t1, t2), strict=True))
        }
        return {"losses": losses, "output": s2, "hidden": s1_b, "levels": levels, "events": events}

    def update(self, grads: list[np.ndarray], levels: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """WAGE's fixed-step update, per layer and network: the gradient over the power of two
        nearest its peak, stochastically rounded to whole quanta ``2**(1-gb)``; the shadow weights
        move by them and are clipped. Returns per layer the counts (updates, updates on non-zero,
        rows with an update)."""
        counts = []
        bound = self.weight_bits.bound.ravel()
        for k, g in enumerate(grads):
            moved = np.zeros(self.batch, np.int64)
            on_nonzero = np.zeros(self.batch, np.int64)
            rows = np.zeros(self.batch, np.int64)
            for b in range(self.batch):
                u = self.grad_rngs[b].random(g[b].shape, dtype=np.float32)
                if self.compiled:
                    changed = np.zeros(g[b].shape[0], np.uint8)
                    moved[b], on_nonzero[b] = lif_kernels.fixed_step_update(
                        self.weights[k][b], g[b], u, levels[k][b], self.gradient_step[b], bound[b], changed
                    )
                    rows[b] = np.count_nonzero(changed)
                    continue
                peak = np.float32(np.max(np.abs(g[b])))
                if peak == 0:
                    continue
                x = np.abs(g[b]) / power_of_two_near(peak)
                low = np.floor(x)
                steps = low + (u < (x - low))
                moved[b] = np.count_nonzero(steps)
                on_nonzero[b] = np.count_nonzero((steps != 0) & (levels[k][b] != 0))
                rows[b] = np.count_nonzero(np.any(steps != 0, axis=1))
                self.weights[k][b] -= np.copysign(steps, g[b]) * self.gradient_step[b]
                np.clip(self.weights[k][b], -bound[b], bound[b], out=self.weights[k][b])
            counts.append((moved, on_nonzero, rows))
        return counts


def train_paper(
    x: np.ndarray,
    target: np.ndarray,
    sizes: tuple[int, ...],
    settings: Sequence[PaperSettings],
    progress: Callable[[int, np.ndarray], None] | None = None,
    compiled: bool = True,
) -> list[TrainResult]:
    """Train networks together by the paper protocol; one :class:`TrainResult` each.

    The score of a run is its minimum van Rossum distance over training (with the protocol's
    kernel); densities are taken both at that epoch and on the final weights (the authors').
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    epochs = settings[0].epochs
    if any(s.epochs != epochs for s in settings):
        raise ValueError("networks trained together run the same number of epochs")
    batch = PaperBatch(sizes, settings, compiled)
    n = batch.batch
    curves = np.empty((epochs, n))
    events = {name: {key: np.empty((epochs, n), np.int64) for key in EVENT_KEYS} for name in LAYERS}
    best = [(np.inf, -1, None, None, None)] * n
    for epoch in range(epochs):
        out = batch.epoch(x, target)
        curves[epoch] = out["losses"]
        for name in LAYERS:
            for key in EVENT_KEYS:
                events[name][key][epoch] = out["events"][name][key]
        for b in np.flatnonzero(out["losses"] < np.array([bst[0] for bst in best])):
            inference = {name: int(out["events"][name]["forward_rows"][b]) for name in LAYERS}
            levels = [lv[b].astype(np.int16) for lv in out["levels"]]
            best[b] = (float(out["losses"][b]), epoch, out["output"][:, b].copy(), levels, inference)
        if progress is not None:
            progress(epoch, out["losses"])
    final_levels = batch.levels()
    results = []
    for b, s in enumerate(settings):
        final = [lv[b].astype(np.int16) for lv in final_levels]
        per_epoch = [
            {name: {key: int(events[name][key][e, b]) for key in EVENT_KEYS} for name in LAYERS} for e in range(epochs)
        ]
        settings_b = asdict(s) | {"protocol": "paper"}
        results.append(
            run_result(settings_b, curves[:, b].tolist(), best[b], per_epoch, final, f"fixed {s.epochs} epochs")
        )
    return results
