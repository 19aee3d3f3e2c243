"""The adaptive protocol (:func:`spikemem.snn.train.train`), many networks at once.

Same network, loss, quantization and optimizer as the single-network reference in
:mod:`spikemem.snn.train`, which stays the specification (and what the gradient tests check): the
networks of a training set share the input trains, so the first layer's products of all of them
are one batched multiplication; the LIF recursions and the Adamax step run compiled
(:mod:`spikemem.snn.lif_kernels`). Each network keeps its own random stream for the stochastic
rounding of errors and gradients, drawn in the reference's order, and stops on its own plateau.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict

import numpy as np

from . import lif_kernels
from .quant import quantize_errors, shift, sigma, uniform_floats, weight_levels
from .train import EVENT_KEYS, LAYERS, SpikingNetwork, TrainResult, TrainSettings, inserted_rows, run_result
from .van_rossum import van_rossum_batch_and_grad


class AdaptiveBatch:
    """Networks of the adaptive protocol trained together; weights (batch, n_pre, n_post)."""

    def __init__(self, sizes: tuple[int, ...], settings: Sequence[TrainSettings]) -> None:
        self.settings = list(settings)
        first = self.settings[0]
        shared = ("lif", "learning_rate", "adamax_betas", "epochs")
        if any(getattr(s, k) != getattr(first, k) for s in self.settings for k in shared):
            raise ValueError(f"networks trained together share {', '.join(shared)}")
        if len({s.weight_bits is None for s in self.settings}) > 1:
            raise ValueError("networks trained together are all quantized or all float")
        # The reference network draws each network's initial weights and random stream.
        nets = [SpikingNetwork(sizes, s) for s in self.settings]
        self.weights = [np.stack([n.weights[k] for n in nets]) for k in range(len(sizes) - 1)]
        self.alphas = [np.array([n.alphas[k] for n in nets], np.float64) for k in range(len(sizes) - 1)]
        self.rngs = [n.grad_rng for n in nets]
        self.m = [np.zeros_like(w) for w in self.weights]
        self.u = [np.zeros_like(w) for w in self.weights]
        self.t = 0
        self.index = np.arange(len(self.settings))  # positions of the active networks in ``settings``
        # The forward pass's weights and levels, kept current by the fused update.
        self.wq, self.levels = self.effective_weights()
        # Frozen structure: the zero-level synapses at the start of the networks that freeze it.
        freeze = np.array([s.freeze_structure for s in self.settings]).reshape(-1, 1, 1)
        self.frozen = [(lv == 0) & freeze for lv in self.levels] if self.quantized and freeze.any() else [None, None]
        self.stored: list[np.ndarray | None] = [None, None]  # the synapses non-zero at some earlier epoch

    @property
    def quantized(self) -> bool:
        return self.settings[0].weight_bits is not None

    def keep(self, active: np.ndarray) -> None:
        """Go on training only the networks where ``active`` (over the current batch) is true."""
        for arrays in (self.weights, self.m, self.u, self.alphas, self.wq, self.levels, self.frozen, self.stored):
            for k, a in enumerate(arrays):
                if a is not None:
                    arrays[k] = np.ascontiguousarray(a[active])
        self.rngs = [r for r, keep in zip(self.rngs, active, strict=True) if keep]
        self.index = self.index[active]

    def effective_weights(self) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """The weights of the forward pass and their integer levels, per layer (batch, n_pre, n_post)."""
        if not self.quantized:
            return self.weights, [None] * len(self.weights)
        bits = np.array([self.settings[i].weight_bits for i in self.index])
        step = sigma_vector(bits).reshape(-1, 1, 1)
        top = np.array([weight_levels(int(b)) for b in bits], np.float64).reshape(-1, 1, 1)
        out, levels = [], []
        for w, alpha in zip(self.weights, self.alphas, strict=True):
            unit = alpha.reshape(-1, 1, 1) * step
            lv = np.clip(np.rint(w / unit.astype(w.dtype)), -top, top).astype(w.dtype)
            out.append(lv * unit.astype(w.dtype))
            levels.append(lv)
        return out, levels

    def epoch(self, x: np.ndarray, target: np.ndarray) -> dict:
        """Forward, van Rossum loss, backward, quantization and one Adamax step for every active network."""
        c = self.settings[0].lif
        a, b, theta = np.float32(c.syn_decay), np.float32(c.mem_decay), np.float32(c.threshold)
        weights, levels = self.wq, self.levels
        batch = len(self.index)
        h = np.ascontiguousarray(np.matmul(x, weights[0]).transpose(1, 0, 2))
        s1, mem1 = lif_kernels.float_layer_forward(h, a, b, theta)
        s1_b = np.ascontiguousarray(s1.transpose(1, 0, 2))
        h = np.ascontiguousarray(np.matmul(s1_b, weights[1]).transpose(1, 0, 2))
        s2, mem2 = lif_kernels.float_layer_forward(h, a, b, theta)
        losses, grad = van_rossum_batch_and_grad(s2, target)
        inputs = (None, s1_b)
        mems = (mem1, mem2)
        grads: list[np.ndarray | None] = [None, None]
        draws: list[list | None] = [None, None]  # per layer and network: (gradient unit, uniforms)
        errors: list[np.ndarray | None] = [None, None]
        for k in (1, 0):
            d = lif_kernels.float_layer_backward(grad, mems[k], a, b, theta, c.surrogate_slope)
            d_b = np.ascontiguousarray(d.transpose(1, 0, 2))  # (batch, T, n)
            if self.quantized:
                for j in range(batch):
                    s = self.settings[self.index[j]]
                    if s.stochastic_errors:
                        self._quantize_errors(j, d_b[j], s.error_bits)
                    else:
                        d_b[j] = quantize_errors(d_b[j], s.error_bits, None)
            errors[k] = d_b
            grads[k] = np.matmul(x.T, d_b) if k == 0 else np.matmul(inputs[1].transpose(0, 2, 1), d_b)
            if self.frozen[k] is not None:
                grads[k][self.frozen[k]] = 0
            if self.quantized:
                draws[k] = [self._gradient_draw(j, grads[k][j]) for j in range(batch)]
            if k:
                grad = np.ascontiguousarray(np.matmul(d_b, weights[k].transpose(0, 2, 1)).transpose(1, 0, 2))
        levels_used = [None if lv is None else lv.astype(np.int16) for lv in levels]
        structure = [0, 0]
        if self.quantized:
            for k, lv in enumerate(levels_used):
                structure[k], self.stored[k] = inserted_rows(lv, self.stored[k])
        moved = self._update(grads, draws, levels_used)
        events = {}
        for k, name in enumerate(LAYERS):
            rows = np.full(batch, np.count_nonzero(x)) if k == 0 else np.count_nonzero(s1_b.reshape(batch, -1), axis=1)
            events[name] = {
                "forward_rows": rows,
                "backward_columns": np.count_nonzero(errors[k].reshape(batch, -1), axis=1),
                "backward_steps": np.count_nonzero(np.any(errors[k] != 0, axis=-1).reshape(batch, -1), axis=1),
                "updates": moved[k][0],
                "updates_on_nonzero": moved[k][1],
                "update_rows": moved[k][2],
                "structure_rows": np.broadcast_to(structure[k], (batch,)),
            }
        return {"losses": losses, "output": s2, "levels": levels_used, "events": events}

    def _quantize_errors(self, j: int, errors: np.ndarray, bits: int) -> None:
        """quantize_errors with stochastic rounding, in place and compiled; same draws, same values."""
        flat = errors.reshape(-1)
        peak = float(lif_kernels.abs_max(flat))
        if peak == 0:  # the reference draws nothing for zero errors
            return
        unit = shift(peak) * sigma(bits)
        uniforms = uniform_floats(self.rngs[j], flat.shape)
        lif_kernels.stochastic_errors(flat, uniforms, np.float32(unit), np.float32(2 ** (bits - 1) - 1))

    def _gradient_draw(self, j: int, g: np.ndarray) -> tuple[float, np.ndarray]:
        """The unit of a network's quantized gradient and its rounding draws, taken from its
        stream where the reference takes them (after the errors of the same layer)."""
        peak = float(lif_kernels.abs_max(g.reshape(-1)))
        if peak == 0:  # the reference draws nothing for a zero gradient
            return 0.0, np.zeros(1, np.float32)
        s = self.settings[self.index[j]]
        return shift(peak) * sigma(s.gradient_bits), uniform_floats(self.rngs[j], g.shape)

    def _update(
        self, grads: list[np.ndarray], draws: list, levels_before: list[np.ndarray | None]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Quantize the gradients, take one Adamax step and requantize the weights; per layer the
        update counts."""
        self.t += 1
        s0 = self.settings[0]
        b1, b2 = s0.adamax_betas
        rate = np.float32(s0.learning_rate / (1 - b1**self.t))
        batch = len(self.index)
        counts = []
        for k, g in enumerate(grads):
            moved = np.zeros(batch, np.int64)
            on_nonzero = np.zeros(batch, np.int64)
            rows = np.zeros(batch, np.int64)
            for j in range(batch):
                s = self.settings[self.index[j]]
                if not self.quantized:
                    moved[j] = on_nonzero[j] = np.count_nonzero(g[j])
                    rows[j] = np.count_nonzero(np.any(g[j] != 0, axis=1))
                    flat = [a.reshape(-1) for a in (self.weights[k][j], g[j], self.m[k][j], self.u[k][j])]
                    lif_kernels.adamax_step(*flat, rate, np.float32(b1), np.float32(b2), np.float32(1e-8))
                    continue
                unit, uniforms = draws[k][j]
                weight_unit = self.alphas[k][j] * sigma(s.weight_bits)
                changed = np.zeros(g[j].shape[0], np.uint8)
                moved[j], on_nonzero[j] = lif_kernels.wage_adamax_update(
                    self.weights[k][j].reshape(-1),
                    g[j].reshape(-1),
                    uniforms.reshape(-1),
                    self.m[k][j].reshape(-1),
                    self.u[k][j].reshape(-1),
                    levels_before[k][j].reshape(-1),
                    self.levels[k][j].reshape(-1),
                    self.wq[k][j].reshape(-1),
                    np.float32(unit),
                    np.float32(2 ** (s.gradient_bits - 1) - 1),
                    np.float32(weight_unit),
                    np.float32(weight_levels(s.weight_bits)),
                    rate,
                    np.float32(b1),
                    np.float32(1 - b1),
                    np.float32(b2),
                    np.float32(1e-8),
                    changed,
                    g[j].shape[1],
                )
                rows[j] = np.count_nonzero(changed)
            counts.append((moved, on_nonzero, rows))
        return counts


def sigma_vector(bits: np.ndarray) -> np.ndarray:
    return np.array([sigma(int(b)) for b in bits], np.float64)


def train_adaptive(
    x: np.ndarray,
    target: np.ndarray,
    sizes: tuple[int, ...],
    settings: Sequence[TrainSettings],
    progress: Callable[[int, np.ndarray], None] | None = None,
) -> list[TrainResult]:
    """Train networks of the adaptive protocol together; one :class:`TrainResult` each, as
    :func:`spikemem.snn.train.train` gives it. Each network stops at its own plateau (or at the
    last epoch)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    batch = AdaptiveBatch(sizes, settings)
    n = len(settings)
    curves: list[list[float]] = [[] for _ in range(n)]
    events: list[list[dict]] = [[] for _ in range(n)]
    best: list[tuple] = [(np.inf, -1, None, None, None)] * n
    stop = [""] * n
    final: list[list[np.ndarray | None]] = [[None, None] for _ in range(n)]
    epochs = settings[0].epochs
    for epoch in range(epochs):
        out = batch.epoch(x, target)
        for j, i in enumerate(batch.index):
            loss = float(out["losses"][j])
            curves[i].append(loss)
            events[i].append({name: {key: int(out["events"][name][key][j]) for key in EVENT_KEYS} for name in LAYERS})
            if loss < best[i][0]:
                inference = {name: int(out["events"][name]["forward_rows"][j]) for name in LAYERS}
                levels = [None if lv is None else lv[j].copy() for lv in out["levels"]]
                best[i] = (loss, epoch, out["output"][:, j].copy(), levels, inference)
        if progress is not None:
            progress(epoch, out["losses"])
        done = np.zeros(len(batch.index), bool)
        for j, i in enumerate(batch.index):
            if reason := settings[i].plateau_stop(curves[i]):
                stop[i] = reason
                done[j] = True
        if done.any() or epoch + 1 == epochs:
            _, levels = batch.effective_weights()
            for j, i in enumerate(batch.index):
                if done[j] or epoch + 1 == epochs:
                    final[i] = [None if lv is None else lv[j].copy() for lv in levels]
            batch.keep(~done)
        if not len(batch.index):
            break
    return [
        run_result(asdict(s) | {"protocol": "adaptive"}, curves[i], best[i], events[i], final[i], stop[i] or s.cap_stop)
        for i, s in enumerate(settings)
    ]
