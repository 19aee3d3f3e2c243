"""Training the 700-400-250 network to retain a spatio-temporal pattern, with event counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .network import LifConstants, lif_backward, lif_forward
from .quant import quantize_errors, quantize_gradients, quantize_weights, shift
from .van_rossum import van_rossum_and_grad

LAYERS = ("hidden", "output")
# Per layer and training iteration: the memory events (event_counts).
EVENT_KEYS = (
    "forward_rows",
    "backward_columns",
    "backward_steps",
    "updates",
    "updates_on_nonzero",
    "update_rows",
    "structure_rows",
)


@dataclass(frozen=True)
class TrainSettings:
    """One training run. ``weight_bits=None`` trains without any quantization."""

    weight_bits: int | None
    seed: int
    epochs: int
    learning_rate: float = 0.002
    error_bits: int = 8
    gradient_bits: int = 8
    stochastic_errors: bool = True
    # Initial weights ~ N(0, weight_scale / sqrt(fan_in)): chosen so that the hidden layer
    # fires at a moderate rate under the input trains (not tuned to any paper figure).
    weight_scale: float = 0.2
    adamax_betas: tuple[float, float] = (0.9, 0.999)
    # Stop once the van Rossum curve has flattened (plateau_reached), at most ``epochs``;
    # plateau_window None trains exactly ``epochs``.
    plateau_window: int | None = None
    plateau_tolerance: float = 0.01
    # Freeze the sparsity structure: a weight whose level is zero at the start never changes, so the
    # trained network keeps the set of stored synapses a compressed encoding was built with.
    freeze_structure: bool = False

    def plateau_stop(self, curve: list[float]) -> str | None:
        """Why training stops after the last epoch of ``curve`` on the plateau rule, or None (the
        rule is checked every ``plateau_window`` epochs)."""
        window = self.plateau_window
        if window is None or len(curve) % window or not plateau_reached(curve, window, self.plateau_tolerance):
            return None
        return f"plateau after {len(curve)} epochs (best of the last {window} within {self.plateau_tolerance:.1%})"

    @property
    def cap_stop(self) -> str:
        """Why training stops when it runs all ``epochs``."""
        return f"{self.epochs} epochs" + (" (no plateau reached)" if self.plateau_window else "")

    lif: LifConstants = field(default_factory=LifConstants)


class SpikingNetwork:
    """Feed-forward LIF layers without bias; float shadow weights, quantized in the forward pass
    (straight-through estimator), per-layer power-of-two scale covering two standard deviations of
    the initial weights (WAGE's ``alpha``, rounded to a power of two as WAGE's shift does)."""

    def __init__(self, sizes: tuple[int, ...], settings: TrainSettings, dtype=np.float32) -> None:
        rng = np.random.default_rng(settings.seed)
        self.settings = settings
        self.weights = []
        self.alphas = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            std = settings.weight_scale / np.sqrt(n_in)
            self.weights.append(rng.normal(0.0, std, (n_in, n_out)).astype(dtype))
            self.alphas.append(shift(2.0 * std))
        # SFC64: the fastest of numpy's generators; seeded, so runs are reproducible.
        self.grad_rng = np.random.Generator(np.random.SFC64([settings.seed, 1]))
        # The synapses a frozen structure keeps at zero: those whose level starts at zero.
        self.frozen = (
            [lv == 0 for _, lv in self.effective_weights()]
            if settings.freeze_structure and settings.weight_bits is not None
            else None
        )

    def effective_weights(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Per layer: the weights the forward pass uses, and their integer levels (or None)."""
        wb = self.settings.weight_bits
        if wb is None:
            return [(w, None) for w in self.weights]
        return [quantize_weights(w, wb, a) for w, a in zip(self.weights, self.alphas, strict=True)]

    def forward(self, x: np.ndarray, weights=None, smooth: bool = False, resets=None):
        """Spikes and membranes of every layer. ``resets`` (per layer) fixes the reset sequences."""
        weights = weights or [w for w, _ in self.effective_weights()]
        inputs, spikes, mems = [], [], []
        h = x
        for k, w in enumerate(weights):
            inputs.append(h)
            h, mem = lif_forward(h @ w, self.settings.lif, smooth, None if resets is None else resets[k])
            spikes.append(h)
            mems.append(mem)
        return inputs, spikes, mems

    def loss_and_gradients(self, x: np.ndarray, target: np.ndarray, smooth: bool = False, resets=None):
        """The van Rossum loss, the weight gradients, and what the hardware would see.

        Returns ``(loss, grads, record)``; ``record`` holds the output raster, the (quantized)
        postsynaptic errors ``dL/dI`` of each layer and the integer weight levels.
        """
        eff = self.effective_weights()
        weights = [w for w, _ in eff]
        inputs, spikes, mems = self.forward(x, weights, smooth, resets)
        loss, grad = van_rossum_and_grad(spikes[-1], target)
        quantized = self.settings.weight_bits is not None
        grads, errors = [None] * len(weights), [None] * len(weights)
        for k in reversed(range(len(weights))):
            d_current = lif_backward(grad, mems[k], self.settings.lif)
            if quantized:
                rng = self.grad_rng if self.settings.stochastic_errors else None
                d_current = quantize_errors(d_current, self.settings.error_bits, rng)
            errors[k] = d_current
            g = inputs[k].T @ d_current
            if self.frozen is not None:
                g[self.frozen[k]] = 0
            if quantized:
                g = quantize_gradients(g, self.settings.gradient_bits, self.grad_rng)
            grads[k] = g
            if k:
                grad = d_current @ weights[k].T
        record = {"output": spikes[-1], "spikes": spikes, "errors": errors, "levels": [lv for _, lv in eff]}
        return loss, grads, record


class Adamax:
    """Adamax (Kingma and Ba, 2015), the authors' optimizer."""

    def __init__(self, params: list[np.ndarray], lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.u = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        rate = self.lr / (1 - b1**self.t)
        for p, g, m, u in zip(self.params, grads, self.m, self.u, strict=True):
            m *= b1
            m += (1 - b1) * g
            np.maximum(b2 * u, np.abs(g), out=u)
            p -= rate * m / (u + self.eps)


def inserted_rows(levels: np.ndarray, stored: np.ndarray | None) -> tuple[np.ndarray | int, np.ndarray]:
    """Rows where a synapse outside the ``stored`` set has a non-zero level, and the stored set
    grown by them (the non-zero levels themselves where nothing is stored yet: the first iteration's
    image, 0 rows).

    A compressed encoding holds the synapses it was built with; one that returns to zero stays as a
    stored zero (no cost), one that becomes non-zero outside the set must be inserted, which
    re-encodes its row (and moves what is packed after it). Rows over the last axis but one."""
    nonzero = levels != 0
    if stored is None:
        return 0, nonzero
    rows = np.count_nonzero(np.any(nonzero & ~stored, axis=-1), axis=-1)
    return rows, stored | nonzero


def event_counts(
    x: np.ndarray, record: dict, grads: list[np.ndarray], stored: list | None = None
) -> dict[str, dict[str, int]]:
    """Per layer, the memory events of one training iteration:

    * ``forward_rows``: presynaptic spikes (each reads its row),
    * ``backward_columns``: non-zero postsynaptic errors ``dL/dI[t, j]`` (each reads column j),
    * ``backward_steps``: time steps with any non-zero postsynaptic error (each one event of the
      row-stream backward, whose mask holds that step's errors: ``backward_columns / backward_steps``
      errors per step on average),
    * ``updates``: synapses with a non-zero (quantized) weight change (each a read-modify-write),
    * ``updates_on_nonzero``: of those, the ones on a synapse whose weight is non-zero (what a
      sparse encoding that stores only non-zero synapses can update),
    * ``update_rows``: rows with any synapse update (each one event of the row-pass update, which
      reads and writes back a row's changed words once per iteration),
    * ``structure_rows``: rows where a synapse that no earlier iteration had non-zero is non-zero
      now (``stored``: the synapses non-zero at some earlier iteration; 0 at the first): the rows the
      last update made a compressed encoding re-encode (:func:`inserted_rows`).
    """
    out = {}
    inputs = [x, *record["spikes"][:-1]]
    for k, name in enumerate(LAYERS[: len(grads)]):
        nonzero_update = grads[k] != 0
        levels = record["levels"][k]
        out[name] = {
            "forward_rows": int(np.count_nonzero(inputs[k])),
            "backward_columns": int(np.count_nonzero(record["errors"][k])),
            "backward_steps": int(np.count_nonzero(np.any(record["errors"][k] != 0, axis=-1))),
            "updates": int(np.count_nonzero(nonzero_update)),
            "update_rows": int(np.count_nonzero(np.any(nonzero_update, axis=1))),
            "updates_on_nonzero": int(np.count_nonzero(nonzero_update & (levels != 0)))
            if levels is not None
            else int(np.count_nonzero(nonzero_update)),
            "structure_rows": int(inserted_rows(levels, stored[k])[0]) if stored and levels is not None else 0,
        }
    return out


@dataclass
class TrainResult:
    settings: dict
    curve: list[float]
    min_distance: float
    best_epoch: int
    best_output: np.ndarray
    best_levels: list[np.ndarray | None]
    densities: dict[str, float]
    events: list[dict]  # one per epoch: {layer: counts}
    inference_events: dict[str, int]
    final_levels: list[np.ndarray | None]  # after the last update (what the authors measured)
    final_densities: dict[str, float]
    stop_reason: str


def plateau_reached(curve: list[float], window: int, tolerance: float) -> bool:
    """The adaptive protocol's stopping rule: the best distance of the last ``window`` epochs is
    less than ``tolerance`` (relative) below the best of all epochs before them."""
    if len(curve) < 2 * window:
        return False
    before, recent = min(curve[:-window]), min(curve[-window:])
    return recent > before * (1.0 - tolerance)


def train(x: np.ndarray, target: np.ndarray, sizes: tuple[int, ...], settings: TrainSettings) -> TrainResult:
    """Train one network by the adaptive protocol (Adamax, stochastic error rounding); the score is
    the minimum van Rossum distance over training."""
    net = SpikingNetwork(sizes, settings)
    opt = Adamax(net.weights, settings.learning_rate, settings.adamax_betas)
    curve, events = [], []
    best = (np.inf, -1, None, None, None)
    stored = None  # per layer, the synapses non-zero at some earlier iteration
    for epoch in range(settings.epochs):
        loss, grads, record = net.loss_and_gradients(x, target)
        curve.append(float(loss))
        events.append(event_counts(x, record, grads, stored))
        if record["levels"][0] is not None:
            stored = [
                inserted_rows(lv, None if stored is None else st)[1]
                for lv, st in zip(record["levels"], stored or [None] * len(record["levels"]), strict=True)
            ]
        if loss < best[0]:
            inference = {n: int(np.count_nonzero(s)) for n, s in zip(LAYERS, [x, *record["spikes"][:-1]], strict=True)}
            best = (
                loss,
                epoch,
                record["output"].copy(),
                [None if lv is None else lv.copy() for lv in record["levels"]],
                inference,
            )
        opt.step(grads)
        if stop := settings.plateau_stop(curve):
            break
    else:
        stop = settings.cap_stop
    final = [lv for _, lv in net.effective_weights()]
    return run_result(asdict(settings) | {"protocol": "adaptive"}, curve, best, events, final, stop)


def run_result(settings: dict, curve: list[float], best: tuple, events: list[dict], final_levels: list, stop: str):
    """A :class:`TrainResult` from what a trainer tracked: ``best`` is (loss, epoch, output raster,
    levels, inference events) at the best epoch; densities are derived from the levels."""
    loss, best_epoch, output, levels, inference = best
    return TrainResult(
        settings=settings,
        curve=list(curve),
        min_distance=float(loss),
        best_epoch=best_epoch,
        best_output=output,
        best_levels=levels,
        densities=_densities(levels),
        events=events,
        inference_events=inference,
        final_levels=final_levels,
        final_densities=_densities(final_levels),
        stop_reason=stop,
    )


def _densities(levels) -> dict[str, float]:
    return {
        name: float(np.count_nonzero(lv) / lv.size) if lv is not None else 1.0
        for name, lv in zip(LAYERS, levels, strict=True)
    }
