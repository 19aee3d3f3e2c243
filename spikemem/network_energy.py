"""Network energy: the trained networks' event counts (and layer sweeps) priced with the energy table.

For a layer stored in an encoding, each operation's **dynamic** energy (the headline basis, as in
the paper) is logic plus SRAM:

    logic = N_events * (e_event + e_synapse * S + e_logic_read_word * R + e_logic_write_word * W
                        + e_lookup * L)
    sram  = N_events * sram_scale * (e_sram_read_word * R_sram + e_sram_write_word * W_sram)

with ``S``, ``R``, ``W``, ``L`` the mean synapses, word reads, word writes and lookups (fields the
controller steps through) per event and ``R_sram``, ``W_sram`` the word reads and writes of the
memories held in SRAM macros, all counted by running events through the golden model on *that*
layer's memory image, for events uniform over the layer's neurons (synapses, for updates): every
possible event where that is cheap (:data:`EXACT_MAX_POSITIONS`; then the means are exact), else a
sample, whose 95 % confidence interval on the priced energy per event is reported
(``<op>_ci95_rel``). The coefficients come from the energy table row (layer type, encoding, weight
bits, operation); a row flagged there (its model missed a held-out or validation design by more
than 10 %) marks every energy priced with it (``table_flagged``). ``sram_scale`` (1 = the macro
Liberty's value) scales the uncertain per-access SRAM energy and nothing else.

Leakage is reported beside the dynamic energy, never folded into it, under named time models
(:data:`LEAKAGE_MODELS`). Its power is the controller's plus the layer's own SRAM macros':

* ``throughput``: over the cycles the events take at the configured clock (from the table's fitted
  cycle model); an idle layer is power-gated;
* ``real_time``: over the sample's real time, ``snn.steps`` steps of ``DT_S`` (the network runs in
  real time: every macro of the layer leaks for the whole sample, per training iteration or
  inference);
* ``shared_time``: over one common time ``T`` for all encodings, swept downstream
  (``leakage_w * T``): leakage then scales with each encoding's macro count and controller leakage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .encodings import ConvGeometry, Encoding, encode_conv, encode_fc, get_encoding
from .energy_rows import MissingEnergyRow
from .golden import event_features, run_events
from .synth.energy_table import (
    BANK_FEATURES,
    COUNTS,
    CYCLE_COEFFICIENTS,
    FEATURES,
    SRAM_COEFFICIENTS,
    SRAM_FEATURES,
    count_costs_at,
    row_coefficients,
    with_size_features,
)
from .workloads import memory_params, rng_for

# The operations of a training iteration; ``backward`` is priced in the configured mode.
OPS = ("forward", "backward", "update")
# The two ways to perform a layer's backward pass (docs/energy.md), by the energy table's operation:
# the column walk (one event per non-zero postsynaptic error) and the row stream (one event per time
# step with any non-zero error, every row streamed once against the step's error mask).
BACKWARD_MODES = {"column": "backward", "row": "backward_row"}
BACKWARD_NAMES = ("backward", "backward_column", "backward_row")  # chosen, column walk, row stream
# The priced terms of every operation that add up over events and layers.
PRICED_TERMS = ("j", "logic_j", "sram_j", "cycles", "leakage_throughput_j")
# What the configuration's backward_mode may say: a mode, or the cheaper of the two per layer.
BACKWARD_CHOICES = ("column", "row", "best")
# The two ways to apply a training iteration's weight changes: a read-modify-write per synapse (the
# energy table's "update") or one pass over each row with a change, each changed word read and
# written back once ("update_row"; priced with the update controller's coefficients, see
# layer_energy). update_mode picks one or the cheaper per layer.
UPDATE_MODES = {"synapse": "update", "row": "update_row"}
UPDATE_NAMES = ("update", "update_synapse", "update_row")  # chosen, per synapse, row pass
UPDATE_CHOICES = ("synapse", "row", "best")
# Sampled events per operation where not every event is run.
SAMPLES = {"forward": 48, "backward": 16, "update": 96, "backward_row": 4, "update_row": 48}
# Every possible event is run (exact means) when the events' synapse positions (forward, backward:
# events x the row or column walked; update: the stored synapses) stay under these: a 784 x 128 or
# 700 x 400 forward pass is exact; column walks of such layers are sampled (PB-CSR's binary
# searches make an exact backward pass take ~15 s per layer in the golden model). A row-stream
# event's mask is drawn (exact only for the full mask, one event).
EXACT_MAX_POSITIONS = {"forward": 400_000, "backward": 20_000, "update": 5_000}
# A row-stream event of a larger layer is estimated from a block of this many synapse positions'
# rows (the per-row costs scaled to all rows): the unrolled 784 x 25088 convolution layer.
ROW_BLOCK_POSITIONS = 2_000_000
Z_95 = 1.959964
DT_S = 1e-3  # the network's time step (SPEC section 1: dt = 1 ms), the real-time model's clock
LEAKAGE_MODELS = ("throughput", "real_time", "shared_time")
LAYERS = ("hidden", "output")


def table_row(table: pd.DataFrame, layer: str, encoding: str, weight_bits: int, op: str) -> pd.Series:
    """The energy-table row of one (layer type, encoding, weight bits, operation)."""
    rows = table[
        (table.layer == layer)
        & (table.encoding == encoding)
        & (table.weight_bits == weight_bits)
        & (table.operation == op)
    ]
    if rows.empty:
        raise MissingEnergyRow(
            f"no energy-table row for {layer} {encoding} {weight_bits}-bit {op}: add the encoding and width "
            "to the configuration's characterization"
        )
    return rows.iloc[0]


def real_time_seconds(cfg: Mapping) -> float:
    """One sample in real time: the network's steps at ``DT_S`` each."""
    return cfg["snn"]["steps"] * DT_S


def sram_memories(enc: Encoding) -> set[str]:
    """Names of the encoding's logical memories that are held in SRAM macros (not flops)."""
    return {name for name, m in enc.image.memories.items() if m.implementation == "sram"}


def _uniform_events(
    enc: Encoding,
    op: str,
    rng: np.random.Generator,
    n: int | None,
    mask_size: float | None,
    changes_per_row: float | None,
) -> tuple[list[tuple[int, ...]], bool]:
    """Events of ``op`` uniform over the layer's neurons (synapses, for updates) and whether they
    are every possible event (exact means); row-stream masks of ``mask_size`` neurons."""
    if op == "update_row":
        mask = enc.connectivity()
        stored_rows = np.flatnonzero(mask.any(axis=1))
        events = []
        for i in rng.choice(stored_rows, n or SAMPLES[op]) if len(stored_rows) else []:
            cols = np.flatnonzero(mask[i])
            k = int(min(len(cols), max(1, round(changes_per_row or 1))))
            events.append((int(i), *((int(j), 0) for j in sorted(rng.choice(cols, k, replace=False)))))
        return events, False
    if op == "backward_row":
        k = enc.n_post if mask_size is None else int(min(enc.n_post, max(1, round(mask_size))))
        count = 1 if k == enc.n_post else n or SAMPLES[op]
        masks = [tuple(sorted(int(j) for j in rng.choice(enc.n_post, k, replace=False))) for _ in range(count)]
        return masks, k == enc.n_post
    if op in ("forward", "backward"):
        # A forward event is a presynaptic neuron (a row), a backward one a postsynaptic (a column).
        neurons = enc.n_pre if op == "forward" else enc.n_post
        exact = n is None and enc.n_pre * enc.n_post <= EXACT_MAX_POSITIONS[op]
        idx = np.arange(neurons) if exact else rng.integers(0, neurons, n or SAMPLES[op])
        return [(int(i),) for i in idx], exact
    pre, post = np.nonzero(enc.connectivity())
    exact = n is None and len(pre) <= EXACT_MAX_POSITIONS[op]
    pick = np.arange(len(pre)) if exact else (rng.integers(0, len(pre), n or SAMPLES[op]) if len(pre) else [])
    return [(int(pre[k]), int(post[k]), 0) for k in pick], exact  # delta 0: the access pattern only


def _pooled_events(
    enc: Encoding, op: str, rng: np.random.Generator, n: int | None, pools: Mapping[str, np.ndarray]
) -> tuple[list[tuple[int, ...]], bool, np.ndarray | None] | None:
    """Events of ``op`` drawn from a network's own (``pools``, :func:`spikemem.snn.activity.event_pools`),
    whether they are exact, and how many of the pool's events each one stands for (None: one each);
    None where the pool holds no event of ``op`` the layer stores (the caller draws uniformly).

    Forward and backward events are exact where the uniform ones would be: every neuron that fires
    (carries an error) runs once, weighted by its count in the pool, so the means keep each neuron's
    rate. Row-stream masks and updates are drawn from the pool, each recorded mask or moved synapse
    equally likely; a row pass changes the moved synapses of a row drawn among the rows with any."""
    if op in ("forward", "backward"):
        pool = pools[op]
        if not len(pool):
            return None
        if n is None and enc.n_pre * enc.n_post <= EXACT_MAX_POSITIONS[op]:
            neurons, weights = np.unique(pool, return_counts=True)
            return [(int(i),) for i in neurons], True, weights
        return [(int(i),) for i in rng.choice(pool, n or SAMPLES[op])], False, None
    if op == "backward_row":
        ptr, posts = pools["row_ptr"], pools["row_posts"]
        if len(ptr) < 2:
            return None
        steps = rng.integers(0, len(ptr) - 1, n or SAMPLES[op])
        return [tuple(sorted(int(j) for j in posts[ptr[k] : ptr[k + 1]])) for k in steps], False, None
    pre, post = pools["update_pre"], pools["update_post"]
    keep = enc.connectivity()[pre, post] if len(pre) else np.zeros(0, bool)
    pre, post = pre[keep], post[keep]  # the learning engine walks only the synapses the layer stores
    if not len(pre):
        return None
    if op == "update":
        pick = rng.integers(0, len(pre), n or SAMPLES[op])
        return [(int(pre[k]), int(post[k]), 0) for k in pick], False, None  # delta 0: the access pattern
    rows = np.unique(pre)
    return (
        [(int(i), *((int(j), 0) for j in sorted(post[pre == i]))) for i in rng.choice(rows, n or SAMPLES[op])],
        False,
        None,
    )


def event_sample(
    enc: Encoding,
    op: str,
    rng: np.random.Generator,
    samples: int | None = None,
    mask_size: float | None = None,
    changes_per_row: float | None = None,
    pools: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Per-event costs of ``op`` on ``enc``: every possible event where that is cheap (``exact``),
    else ``samples`` (default :data:`SAMPLES`) drawn uniformly. ``features`` is events x
    (FEATURES[1:] + SRAM_FEATURES + BANK_FEATURES): synapses, word reads and writes, lookups, the
    same (and the event) times the layer's size bits, SRAM reads and writes, and the SRAM reads and
    writes times the macros beyond the first their memory's bus reaches (the energy model's bank
    term). ``statistics`` says where the events come from.

    Given ``pools``, the layer's own events in a trained network (:mod:`spikemem.snn.activity`), the
    events are drawn from them instead (:func:`_pooled_events`; uniform where the pool has none of
    ``op``), so their costs keep the network's statistics. Otherwise a row-stream event
    (``backward_row``) carries an error mask of ``mask_size`` postsynaptic neurons (default all;
    rounded, at least 1), drawn uniformly, and a row-pass update (``update_row``) changes
    ``changes_per_row`` (default 1; at most the row's stored synapses) synapses of a row drawn
    uniformly over the rows that store any. On layers of more than :data:`ROW_BLOCK_POSITIONS`
    synapse positions a row-stream event's costs are those of a random block of rows, scaled to
    every row."""
    rows, scale, weights = None, 1.0, None
    drawn = _pooled_events(enc, op, rng, samples, pools) if pools is not None else None
    if drawn is not None:
        events, exact, weights = drawn
        statistics = "network"
    else:
        events, exact = _uniform_events(enc, op, rng, samples, mask_size, changes_per_row)
        statistics = "uniform"
    if op == "backward_row" and enc.n_pre * enc.n_post > ROW_BLOCK_POSITIONS:
        block = max(1, ROW_BLOCK_POSITIONS // enc.n_post)
        start = int(rng.integers(0, enc.n_pre - block + 1))
        rows, scale, exact = range(start, start + block), enc.n_pre / block, False
    names = (*FEATURES[1:], *SRAM_FEATURES, *BANK_FEATURES)
    if not events:
        return {"features": np.zeros((0, len(names))), "names": names, "exact": exact, "statistics": statistics}
    outputs, counts = run_events(enc, op, events, rows)
    in_sram = sram_memories(enc)
    banks = {name: enc.image.memories[name].macro_count for name in in_sram}
    per_event = []
    # A block of rows scaled to every row is still one event: the event's size feature is not scaled.
    positions = enc.n_pre * enc.n_post
    for o, c in zip(outputs, counts, strict=True):
        f = with_size_features({**event_features(op, o, c, banks), "events": 1 / scale}, positions)
        reads = sum(v for k, v in c.items() if k.endswith(".R") and k[:-2] in in_sram)
        writes = sum(v for k, v in c.items() if k.endswith(".W") and k[:-2] in in_sram)
        per_event.append(
            [*(f[n] for n in FEATURES[1:]), reads, writes, f["bank_reads"] - reads, f["bank_writes"] - writes]
        )
    features = scale * np.array(per_event, dtype=float)
    if weights is not None:  # one row per pooled event: means and intervals weigh each neuron by its rate
        features = np.repeat(features, weights, axis=0)
    return {"features": features, "names": names, "exact": exact, "statistics": statistics}


def event_costs(enc: Encoding, op: str, rng: np.random.Generator, samples: int | None = None) -> dict:
    """Mean synapses, word reads, word writes and lookups per event, and the word reads and writes
    of the SRAM-held memories, from the golden model (:func:`event_sample`)."""
    s = event_sample(enc, op, rng, samples)
    x = s["features"]
    means = x.mean(axis=0) if len(x) else np.zeros(len(s["names"]))
    return {**dict(zip(s["names"], map(float, means), strict=True)), "samples": len(x), "exact": s["exact"]}


def energy_ci95_rel(row: pd.Series, sample: Mapping) -> float:
    """Relative half-width of the 95 % confidence interval of the mean dynamic energy per event
    (logic + SRAM at the Liberty's value) of a sample; 0 where every event was run."""
    x = sample["features"]
    if sample["exact"] or len(x) < 2:
        return 0.0 if sample["exact"] else float("nan")
    logic, bank, sram = row_coefficients(row)
    coef = np.array([*logic[1:], *sram, *bank])
    e = logic[0] + x @ coef
    mean = float(e.mean())
    return float(Z_95 * e.std(ddof=1) / np.sqrt(len(e)) / mean) if mean else 0.0


def price_terms(row: pd.Series, n_events: float, costs: Mapping) -> dict[str, float]:
    """Logic energy, SRAM energy (at the Liberty's per-access value) and cycles of ``n_events``
    events with the given mean per-event costs."""
    x = np.array([1.0, *(costs[name] for name in FEATURES[1:])])
    logic_coef, bank, _ = row_coefficients(row)
    extra = [costs.get(name, 0.0) for name in BANK_FEATURES]
    logic = n_events * (float(np.dot(logic_coef, x)) + float(np.dot(bank, extra)))
    sram = n_events * float(np.dot([row[c] for c in SRAM_COEFFICIENTS], [costs[f] for f in SRAM_FEATURES]))
    cycles = n_events * float(np.dot([row[c] for c in CYCLE_COEFFICIENTS], x[: len(COUNTS)]))
    return {"logic_j": logic, "sram_j": sram, "cycles": cycles}


def price(row: pd.Series, n_events: float, costs: Mapping, sram_scale: float = 1.0) -> tuple[float, float]:
    """Dynamic energy (J: logic + ``sram_scale`` x SRAM) and cycles of ``n_events`` events."""
    t = price_terms(row, n_events, costs)
    return t["logic_j"] + sram_scale * t["sram_j"], t["cycles"]


def leakage_power(table: pd.DataFrame, layer_type: str, encoding: str, weight_bits: int, enc: Encoding) -> float:
    """Controller leakage (from the characterized design) plus the layer's own macros' leakage."""
    row = table_row(table, layer_type, encoding, weight_bits, "forward")
    per_macro = row["sram_leakage_w"] / row["macro_count"] if row["macro_count"] else 0.0
    return float(row["logic_leakage_w"] + per_macro * enc.image.macro_count)


def choose_mode(setting: str, modes: Mapping[str, str], dynamic: Mapping[str, float]) -> str:
    """The mode ``setting`` picks among ``modes`` (mode -> table operation; the first is the
    per-event default, the second the row mode): the named one, or under ``best`` the one of the
    lower ``dynamic`` energy; the default wherever the row mode could not be priced (NaN)."""
    default, row = modes
    if setting == default or not np.isfinite(dynamic[modes[row]]):
        return default
    return row if setting == row or dynamic[modes[row]] < dynamic[modes[default]] else default


def layer_energy(
    table: pd.DataFrame,
    layer_type: str,
    encoding: str,
    wb: int,
    enc: Encoding,
    counts: Mapping[str, float],
    clock_mhz: float,
    rng: np.random.Generator,
    sram_scale: float = 1.0,
    real_time_s: float | None = None,
    samples: dict | None = None,
    backward_mode: str = "best",
    errors_per_step: float | None = None,
    update_mode: str = "best",
    changes_per_row: float | None = None,
    pools: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Energy terms of one layer for the given events per operation.

    ``counts`` holds the events of ``forward``, ``backward`` (column walks: non-zero errors),
    ``backward_row`` (row streams: time steps with any error, each with ``errors_per_step`` errors
    in its mask; default all) and ``update``. The backward pass is priced both ways where the energy
    table has rows for both and the layer's ``backward`` is the one ``backward_mode`` names
    (``column``, ``row``, or ``best``: the cheaper dynamic energy); ``backward_mode`` in the result
    names the mode used (``column`` where the encoding cannot stream rows or the row count is absent).
    Likewise the update: per synapse (``update``: synapse updates) or one pass per changed row
    (``update_row``: rows with a change, ``changes_per_row`` changes each), ``update_mode`` choosing
    (``synapse``, ``row``, ``best``). No row-pass controller is synthesized: its golden-model counts
    are priced with the per-synapse update's energy-table row (per event, synapse, word read and
    written, lookup; SRAM exact), a model stated in ``update_row_source``.

    ``samples`` (op -> :func:`event_sample`), filled here where missing, lets several pricings of
    the same layer (training and inference) share one set of golden-model events. ``pools``, the
    layer's own events in a trained network, makes them keep the network's statistics
    (:func:`event_sample`); ``event_statistics`` says which operations' events did.

    Per operation (``forward``, ``backward``, ``backward_column``, ``backward_row``, ``update``,
    ``update_synapse``, ``update_row``):
    ``<op>_j`` (dynamic = ``<op>_logic_j`` + ``<op>_sram_j``, the SRAM part at ``sram_scale``),
    ``<op>_cycles``, ``<op>_leakage_throughput_j`` and ``<op>_ci95_rel`` (0 where the per-event means
    are exact; NaN for a mode that cannot be priced); over all operations: ``dynamic_j``,
    ``leakage_w``, ``busy_s``, the leakage of each time model (``real_time`` when ``real_time_s``
    is given; ``shared_time`` is ``leakage_w`` x a common time, downstream), and where the numbers
    come from: ``table_flagged`` (a priced operation's energy-table row is flagged),
    ``model_fitted_on`` (the sizes the model was fitted on: the layer's energy is an extrapolation
    from them) and ``model_validated_at``.
    """
    if backward_mode not in BACKWARD_CHOICES:
        raise ValueError(f"backward_mode {backward_mode!r} is not one of {', '.join(BACKWARD_CHOICES)}")
    if update_mode not in UPDATE_CHOICES:
        raise ValueError(f"update_mode {update_mode!r} is not one of {', '.join(UPDATE_CHOICES)}")
    power = leakage_power(table, layer_type, encoding, wb, enc)
    hz = clock_mhz * 1e6
    if samples is None:
        samples = {}
    priced: dict[str, dict] = {}  # table operation -> its terms, flags and sources
    for op in ("forward", "backward", "backward_row", "update", "update_row"):
        # No row-mode count (a caller that has none) leaves that mode unpriced, not free.
        row_mode = op in ("backward_row", "update_row")
        n = counts.get(op, math.nan if row_mode else 0.0)
        t = {"logic_j": 0.0, "sram_j": 0.0, "cycles": 0.0, "ci95_rel": 0.0, "row": None}
        available = "backward_row" in enc.operations  # the encodings that stream rows also pass them
        if row_mode and (n is None or not np.isfinite(n) or not available):
            t = {k: math.nan for k in ("logic_j", "sram_j", "cycles", "ci95_rel")} | {"row": None}
        elif n > 0:
            row = table_row(table, layer_type, encoding, wb, "update" if op == "update_row" else op)
            if op not in samples:
                samples[op] = event_sample(
                    enc, op, rng, mask_size=errors_per_step if op == "backward_row" else None,
                    changes_per_row=changes_per_row, pools=pools,
                )  # fmt: skip
            sample = samples[op]
            x = sample["features"]
            means = x.mean(axis=0) if len(x) else np.zeros(len(sample["names"]))
            t = price_terms(row, n, dict(zip(sample["names"], means, strict=True))) | {"row": row}
            t["ci95_rel"] = energy_ci95_rel(row, sample)
        priced[op] = t
    dyn = {op: t["logic_j"] + sram_scale * t["sram_j"] for op, t in priced.items()}
    mode = choose_mode(backward_mode, BACKWARD_MODES, dyn)
    umode = choose_mode(update_mode, UPDATE_MODES, dyn)
    names = {
        "forward": "forward",
        "backward_column": "backward",
        "backward_row": "backward_row",
        "backward": BACKWARD_MODES[mode],
        "update_synapse": "update",
        "update_row": "update_row",
        "update": UPDATE_MODES[umode],
    }
    out: dict = {}
    for name, op in names.items():
        t = priced[op]
        out[f"{name}_logic_j"] = t["logic_j"]
        out[f"{name}_sram_j"] = sram_scale * t["sram_j"]
        out[f"{name}_j"] = dyn[op]
        out[f"{name}_cycles"] = t["cycles"]
        out[f"{name}_leakage_throughput_j"] = power * t["cycles"] / hz
        out[f"{name}_ci95_rel"] = t["ci95_rel"]
    out["backward_mode"] = mode
    out["update_mode"] = umode
    # Which priced operations' events are the network's own and which are uniform draws.
    out["event_statistics"] = ";".join(f"{op}:{samples[op]['statistics']}" for op in priced if op in samples)
    out["update_row_source"] = "golden-model counts of the row pass x the per-synapse update's table row"
    flagged, fit_designs, validation_designs = [], [], []
    for op in ("forward", BACKWARD_MODES[mode], UPDATE_MODES[umode]):
        row = priced[op]["row"]
        if row is None:
            continue
        if row.get("flagged", False):
            flagged.append(op)
        fit_designs.append(row.get("fit_designs"))
        validation_designs.append(row.get("validation_design"))
    out["dynamic_j"] = sum(out[f"{op}_j"] for op in OPS)
    out["forward_backward_j"] = out["forward_j"] + out["backward_j"]
    out["cycles"] = sum(out[f"{op}_cycles"] for op in OPS)
    out["busy_s"] = out["cycles"] / hz
    out["leakage_w"] = power
    out["leakage_throughput_j"] = power * out["busy_s"]
    if real_time_s is not None:
        out["real_time_s"] = real_time_s
        out["leakage_real_time_j"] = power * real_time_s
        # In real time the events of one sample must fit in the sample's time at the clock.
        out["real_time_feasible"] = bool(out["busy_s"] <= real_time_s)
    out["sram_scale"] = sram_scale
    out["table_flagged"] = bool(flagged)
    out["table_flagged_ops"] = ";".join(flagged)
    out["model_fitted_on"] = ";".join(design_shapes(fit_designs))
    out["model_validated_at"] = ";".join(design_shapes(validation_designs))
    # Priced past every size the model was checked at directly (a network layer larger than any
    # validation design of the operations' groups): an extrapolation, marked.
    checked = [p for t in out["model_validated_at"].split(";") if t and (p := shape_positions(t)) is not None]
    out["beyond_validated"] = not checked or enc.n_pre * enc.n_post > max(checked)
    out["macros"] = enc.image.macro_count
    out["payload_bits"] = enc.image.payload_bits
    out["metadata_bits"] = enc.image.metadata_bits
    return out


def shape_positions(tag: str) -> int | None:
    """Synapse positions (n_pre x n_post) of a design shape tag (``fc16x16``, ``conv1x6x6o4k3s1p1``)."""
    if m := re.fullmatch(r"fc(\d+)x(\d+)", tag):
        return int(m.group(1)) * int(m.group(2))
    if m := re.fullmatch(r"conv(\d+)x(\d+)x(\d+)o(\d+)k(\d+)s(\d+)p(\d+)", tag):
        g = ConvGeometry(*map(int, m.groups()))
        return g.n_pre * g.n_post
    return None


def design_shapes(cells) -> list[str]:
    """The shape tags (``fc16x16``, ``conv1x6x6o4k3s1p1``) of the ;-separated design names in
    ``cells`` (empty or missing cells skipped), each once, smallest first."""
    tags = {name.split("-")[1] for c in cells if isinstance(c, str) and c for name in c.split(";")}
    return sorted(tags, key=lambda t: (len(t), t))


def joined_union(cells: Iterable) -> str:
    """The ;-separated items of several cells (text; empty or missing cells skipped), each once, sorted."""
    return ";".join(sorted({t for v in cells if isinstance(v, str) for t in v.split(";") if t}))


def reencode_terms(row: pd.Series, enc: Encoding, fraction: float) -> dict[str, float]:
    """Logic and SRAM energy (J, SRAM at the Liberty's value) of re-encoding ``fraction`` of the
    layer's memory image once: every word of every memory read and written back.

    A compressed encoding inserts a synapse that training made non-zero outside its stored set by
    rewriting from the synapse's row to the end of its memories (what is packed after it moves).
    No re-encoding controller is synthesized: the words are priced with the update controller's
    per-word logic coefficients (``row``: the layer's update row of the energy table) and the macro's
    per-access energy, exactly counted words."""
    words = fraction * sum(m.depth for m in enc.image.memories.values())
    sram = [m for m in enc.image.memories.values() if m.implementation == "sram"]
    sram_words = fraction * sum(m.depth for m in sram)
    logic, bank, _ = row_coefficients(row)
    cost = count_costs_at(logic, enc.n_pre * enc.n_post)
    per_word_j = cost["e_logic_read_word_j"] + cost["e_logic_write_word_j"]
    bank_words = fraction * sum(m.depth * (m.macro_count - 1) for m in sram)
    return {
        "logic_j": words * per_word_j + bank_words * sum(bank),
        "sram_j": sram_words * (row["e_sram_read_word_j"] + row["e_sram_write_word_j"]),
        "words": 2 * words,
    }


def update_events(ev: Mapping[str, float], enc: Encoding) -> float:
    """The synapse updates of one iteration that ``enc`` performs: every non-zero weight change
    where it holds every synapse, else only those on synapses it stores (non-zero weights)."""
    return ev["updates"] if enc.connectivity().all() else ev["updates_on_nonzero"]


def network_layers(
    cfg: Mapping,
    table: pd.DataFrame,
    run_dir: Path,
    metrics: Mapping,
    sram_scale: float = 1.0,
    pools: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> list[dict]:
    """Per layer of one trained network and per encoding: energy per training iteration (forward,
    backward in both modes and the configured one, update) and per inference (forward), dynamic and
    leakage under each time model. ``backward_needed`` is False for the first layer: its backward
    pass would give the input neurons' errors, which training never uses (the trainers compute the
    hidden layer's errors from the output layer's weights); the ``<backward>_training_*`` columns
    count a layer's backward only where it is needed.

    ``pools`` (layer -> the layer's events of one replayed epoch, :mod:`spikemem.snn.activity`)
    prices each layer's events with the network's own statistics; without them they are uniform."""
    params = memory_params(cfg)
    levels = np.load(run_dir / "best_levels.npz")
    wb = metrics["weight_bits"]
    t_real = real_time_seconds(cfg)
    rows = []
    for encoding in cfg["encodings"]["fc"]:
        rng = rng_for(cfg, "network", metrics["training_set"], wb, metrics["seed"], encoding)
        for layer in LAYERS:
            enc = encode_fc(encoding, levels[layer].astype(np.int64), wb, params)
            ev = metrics["events_per_iteration_mean"][layer]
            # Runs trained before the row-stream count existed cannot price that mode (NaN).
            steps = ev.get("backward_steps", math.nan)
            update_rows = ev.get("update_rows", math.nan)
            counts = {
                "forward": ev["forward_rows"],
                "backward": ev["backward_columns"],
                "backward_row": steps,
                "update": update_events(ev, enc),
                "update_row": update_rows,
            }
            per_step = ev["backward_columns"] / steps if steps and np.isfinite(steps) else None
            per_row = counts["update"] / update_rows if update_rows and np.isfinite(update_rows) else None
            shared: dict = {}  # one set of golden-model events for training and inference
            e = layer_energy(
                table, "fc", encoding, wb, enc, counts, cfg["clock_mhz"], rng, sram_scale, t_real, shared,
                backward_mode=cfg["backward_mode"], errors_per_step=per_step,
                update_mode=cfg["update_mode"], changes_per_row=per_row,
                pools=None if pools is None else pools[layer],
            )  # fmt: skip
            # Structure changes: what a compressed encoding re-encodes (0 where it stores every synapse,
            # and for runs that freeze the structure); priced into the update.
            fraction = 0.0 if enc.connectivity().all() else metrics.get("reencode_fraction_mean", {}).get(layer, 0.0)
            re = {"logic_j": 0.0, "sram_j": 0.0, "words": 0.0}
            if fraction > 0:
                re = reencode_terms(table_row(table, "fc", encoding, wb, "update"), enc, fraction)
            e["reencode_logic_j"], e["reencode_sram_j"] = re["logic_j"], sram_scale * re["sram_j"]
            e["reencode_j"] = e["reencode_logic_j"] + e["reencode_sram_j"]
            e["reencode_words"] = re["words"]
            e["update_logic_j"] += e["reencode_logic_j"]
            e["update_sram_j"] += e["reencode_sram_j"]
            e["update_j"] += e["reencode_j"]
            e["dynamic_j"] += e["reencode_j"]
            needed = layer != LAYERS[0]
            for name in BACKWARD_NAMES:
                for k in PRICED_TERMS:
                    e[f"{name}_training_{k}"] = e[f"{name}_{k}"] if needed else 0.0
            inference = {"forward": metrics["inference_events"]["forward_rows"][layer]}
            inf = layer_energy(
                table, "fc", encoding, wb, enc, inference, cfg["clock_mhz"], rng, sram_scale, t_real, shared
            )
            rows.append(
                {
                    "protocol": metrics["protocol"],
                    "training_set": metrics["training_set"],
                    "freeze_structure": bool(metrics.get("freeze_structure", False)),
                    "weight_bits": wb,
                    "seed": metrics["seed"],
                    "encoding": encoding,
                    "layer": layer,
                    "min_van_rossum": metrics["min_van_rossum"],
                    "density": metrics["densities"][layer],
                    "final_density": metrics["final_densities"][layer],
                    "errors_per_step": per_step if per_step is not None else math.nan,
                    "backward_needed": needed,
                    **e,
                    "inference_forward_j": inf["forward_j"],
                    "inference_forward_logic_j": inf["forward_logic_j"],
                    "inference_forward_sram_j": inf["forward_sram_j"],
                    "inference_leakage_throughput_j": inf["leakage_throughput_j"],
                    "inference_leakage_real_time_j": inf["leakage_real_time_j"],
                    "inference_real_time_feasible": inf["real_time_feasible"],
                }
            )
    return rows


# Columns of a layer row that add up over the layers of a network.
_SUMMED = (
    *(f"{op}_{k}" for op in ("forward", *BACKWARD_NAMES, *UPDATE_NAMES) for k in PRICED_TERMS),
    *(f"{b}_training_{k}" for b in BACKWARD_NAMES for k in PRICED_TERMS),
    "dynamic_j",
    "forward_backward_j",
    "reencode_j",
    "reencode_logic_j",
    "reencode_sram_j",
    "reencode_words",
    "leakage_w",
    "leakage_throughput_j",
    "leakage_real_time_j",
    "inference_forward_j",
    "inference_forward_logic_j",
    "inference_forward_sram_j",
    "inference_leakage_throughput_j",
    "inference_leakage_real_time_j",
    "macros",
    "payload_bits",
    "metadata_bits",
)


def aggregate_layers(layer_rows: list[dict]) -> list[dict]:
    """One row per (network, encoding): the layers' energies added up (each layer has its own
    controller and macros; both leak for the whole sample in real time)."""
    if not layer_rows:
        return []
    df = pd.DataFrame(layer_rows)
    out = []
    keys = ["protocol", "training_set", "weight_bits", "seed", "encoding"]
    if "freeze_structure" not in df:
        df = df.assign(freeze_structure=False)
    for (protocol, tset, wb, seed, encoding), g in df.groupby(keys, sort=False):
        dens = dict(zip(g.layer, g.density, strict=True))
        final = dict(zip(g.layer, g.final_density, strict=True))
        out.append(
            {
                "protocol": protocol,
                "training_set": tset,
                "freeze_structure": bool(g.freeze_structure.iloc[0]),
                "weight_bits": int(wb),
                "seed": int(seed),
                "encoding": encoding,
                "min_van_rossum": float(g.min_van_rossum.iloc[0]),
                **{f"{layer}_density": float(dens[layer]) for layer in LAYERS if layer in dens},
                **{f"{layer}_final_density": float(final[layer]) for layer in LAYERS if layer in final},
                # min_count: a mode no layer could price stays NaN instead of summing to 0
                **{c: float(g[c].sum(min_count=1)) for c in _SUMMED},
                "backward_modes": ";".join(f"{lay}:{m}" for lay, m in zip(g.layer, g.backward_mode, strict=True)),
                "update_modes": ";".join(f"{lay}:{m}" for lay, m in zip(g.layer, g.update_mode, strict=True)),
                "real_time_s": float(g.real_time_s.iloc[0]),
                "real_time_feasible": bool(g.real_time_feasible.all()),
                "inference_real_time_feasible": bool(g.inference_real_time_feasible.all()),
                "sram_scale": float(g.sram_scale.iloc[0]),
                # Conservative: the widest interval of any layer (the layers' samples are independent).
                **{f"{op}_ci95_rel": float(g[f"{op}_ci95_rel"].max()) for op in OPS},
                "table_flagged": bool(g.table_flagged.any()),
                "table_flagged_ops": joined_union(g.table_flagged_ops),
                "model_fitted_on": joined_union(g.model_fitted_on),
                "model_validated_at": joined_union(g.model_validated_at),
                "beyond_validated": bool(g.beyond_validated.any()),
                "event_statistics": ";".join(f"{lay}:{v}" for lay, v in zip(g.layer, g.event_statistics, strict=True)),
            }
        )
    for r in out:
        for c in ("macros", "payload_bits", "metadata_bits"):
            r[c] = int(r[c])
        _training_totals(r)
    return out


def _training_totals(r: dict) -> None:
    """The totals on the training basis: no backward pass where training needs none."""
    r["forward_backward_training_j"] = r["forward_j"] + r["backward_training_j"]
    r["dynamic_training_j"] = r["forward_j"] + r["backward_training_j"] + r["update_j"]


def network_energy(
    cfg: Mapping, table: pd.DataFrame, run_dir: Path, metrics: Mapping, sram_scale: float = 1.0
) -> list[dict]:
    """Energy per training iteration and per inference of one trained network, per encoding."""
    return aggregate_layers(network_layers(cfg, table, run_dir, metrics, sram_scale))


def with_sram_scale(df: pd.DataFrame, scale: float) -> pd.DataFrame:
    """The same energies with the per-access SRAM energy at ``scale`` x the Liberty's value.

    Every ``<p>_sram_j`` column is rescaled from the frame's own ``sram_scale`` and each ``<p>_j``
    recomputed as ``<p>_logic_j + <p>_sram_j``; the logic parts and leakage do not change. Exact,
    since the SRAM energy is linear in the per-access value.
    """
    out = df.copy()
    base = out["sram_scale"].astype(float) if "sram_scale" in out else 1.0
    for col in [c for c in out.columns if c.endswith("_sram_j")]:
        stem = col[: -len("_sram_j")]
        out[col] = out[col] * (scale / base)
        out[f"{stem}_j"] = out[f"{stem}_logic_j"] + out[col]
    if all(f"{op}_j" in out for op in OPS):
        out["dynamic_j"] = sum(out[f"{op}_j"] for op in OPS)
        out["forward_backward_j"] = out["forward_j"] + out["backward_j"]
    if "backward_training_j" in out and "dynamic_training_j" in out:
        out["forward_backward_training_j"] = out["forward_j"] + out["backward_training_j"]
        out["dynamic_training_j"] = out["forward_j"] + out["backward_training_j"] + out["update_j"]
    out["sram_scale"] = float(scale)
    return out


def _random_fc(rng, n_pre, n_post, wb, density):
    top = 2 ** (wb - 1) - 1
    w = rng.integers(1, top + 1, (n_pre, n_post)) * rng.choice([-1, 1], (n_pre, n_post))
    return np.where(rng.random((n_pre, n_post)) < density, w, 0)


def pass_energy(
    table,
    layer_type,
    encoding,
    wb,
    enc,
    clock_mhz,
    rng,
    update_events: float,
    real_time_s: float | None = None,
    backward_mode: str = "best",
) -> dict:
    """One full pass: every presynaptic neuron spikes once (forward), every postsynaptic neuron
    carries one error (backward: ``n_post`` column walks, or one row stream with the full mask),
    ``update_events`` synapse updates."""
    counts = {"forward": enc.n_pre, "backward": enc.n_post, "backward_row": 1, "update": update_events}
    return layer_energy(
        table, layer_type, encoding, wb, enc, counts, clock_mhz, rng, real_time_s=real_time_s,
        backward_mode=backward_mode, update_mode="synapse",
    )  # fmt: skip


def fc_sweep_points(cfg: Mapping, table: pd.DataFrame) -> list[tuple[str, int, float]]:
    """(sweep, weight bits, density) of the 784 -> 128 layer sweeps: over weight bits at density
    0.25, and over densities at 8 bits (or the widest characterized width below that)."""
    widths = sorted(set(table[table.layer == "fc"].weight_bits))
    points = [("weight_bits", wb, 0.25) for wb in widths]
    dense_bits = 8 if 8 in widths else max(widths)
    return points + [("density", dense_bits, d) for d in (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)]


def fc_sweep_point(
    cfg: Mapping, table: pd.DataFrame, sweep: str, wb: int, density: float, n_pre: int = 784, n_post: int = 128
) -> list[dict]:
    """One point of the FC sweeps (a random layer of its own seed), priced in every FC encoding."""
    params = memory_params(cfg)
    t_real = real_time_seconds(cfg)
    rng = rng_for(cfg, "fc_sweep", sweep, wb, density)
    weights = _random_fc(rng, n_pre, n_post, wb, density)
    rows = []
    for encoding in cfg["encodings"]["fc"]:
        enc = encode_fc(encoding, weights, wb, params)
        # A pass updates the synapses with a non-zero change, taken as a fraction `density` of
        # them: all of those where the encoding holds every synapse, else the stored ones.
        upd = float(weights.size * density) if enc.connectivity().all() else float(np.count_nonzero(weights))
        e = pass_energy(table, "fc", encoding, wb, enc, cfg["clock_mhz"], rng, upd, t_real, cfg["backward_mode"])
        rows.append({"sweep": sweep, "weight_bits": wb, "density": density, "encoding": encoding, **e})
    return rows


CONV_SWEEP_GEOMETRY = ConvGeometry(1, 28, 28, 32, 3, 1, 1)


def conv_sweep_widths(table: pd.DataFrame) -> list[int]:
    """The convolution sweep's weight widths: those the energy table has conv rows for."""
    return sorted(set(table[table.layer == "conv"].weight_bits))


def conv_sweep_point(cfg: Mapping, table: pd.DataFrame, wb: int) -> list[dict]:
    """The 1 x 28 x 28 -> 32 channel, 3x3 convolution layer at ``wb`` bits (kernels of its own seed):
    functional encodings (their own rows) against every FC encoding storing the unrolled 784 x 25088
    layer (the FC controllers' rows; their images are built whole, vectorized, and sampled like any
    layer's)."""
    g = CONV_SWEEP_GEOMETRY
    params = memory_params(cfg)
    t_real = real_time_seconds(cfg)
    rows = []
    rng = rng_for(cfg, "conv_sweep", wb)
    top = 2 ** (wb - 1) - 1
    kernels = rng.integers(1, top + 1, (32, 1, 3, 3)) * rng.choice([-1, 1], (32, 1, 3, 3))
    synapses = float(np.count_nonzero(g.connectivity()))
    for encoding in [*cfg["encodings"]["conv"], *cfg["encodings"]["fc"]]:
        # An encoding that also stores FC layers keeps the unrolled matrix with the FC controller.
        layer_type = "fc" if "fc" in get_encoding(encoding).layer_types else "conv"
        try:
            table_row(table, layer_type, encoding, wb, "forward")
        except MissingEnergyRow:
            continue
        enc = encode_conv(encoding, kernels, g, wb, params)
        e = pass_energy(
            table, layer_type, encoding, wb, enc, cfg["clock_mhz"], rng, synapses, t_real, cfg["backward_mode"]
        )
        rows.append({"weight_bits": wb, "encoding": encoding, "table_rows": layer_type, **e})
    return rows


def _network_rows(cfg: Mapping, table: pd.DataFrame, metrics_file: str, data_dir: Path | None) -> list[dict]:
    """One network's layer rows; with ``data_dir``, a run that can be replayed is priced with its
    own events' statistics (:mod:`spikemem.snn.activity`)."""
    import json

    from .snn.activity import replayable, replayed_pools

    run_dir = Path(metrics_file).parent
    metrics = json.loads(Path(metrics_file).read_text())
    pools = replayed_pools(cfg, run_dir, data_dir) if data_dir is not None and replayable(cfg, metrics) else None
    return network_layers(cfg, table, run_dir, metrics, pools=pools)


def _priced_units(
    cfg: Mapping, table: pd.DataFrame, runs: list[str], workers: int, data_dir: Path | None = None
) -> tuple[list, list, list]:
    """The layer rows of every network, the FC sweep rows and the convolution sweep rows. Each
    network and each sweep point draws from its own seeded generator, so pricing them in ``workers``
    processes gives the same rows in the same order as one process; the golden-model event counts
    they need are pure Python, hence processes rather than threads."""
    fc_points = fc_sweep_points(cfg, table)
    units = [(_network_rows, (cfg, table, r, data_dir)) for r in runs]
    units += [(fc_sweep_point, (cfg, table, *point)) for point in fc_points]
    units += [(conv_sweep_point, (cfg, table, wb)) for wb in conv_sweep_widths(table)]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_call, units))
    else:
        results = [_call(unit) for unit in units]
    n_runs, n_fc = len(runs), len(fc_points)
    flat = lambda parts: [row for part in parts for row in part]  # noqa: E731
    return flat(results[:n_runs]), flat(results[n_runs : n_runs + n_fc]), flat(results[n_runs + n_fc :])


def _call(unit):
    func, args = unit
    return func(*args)


def energy_stage(
    cfg: Mapping,
    table_csv: Path,
    runs: list[str],
    out_dir: Path,
    sram_scale: float = 1.0,
    workers: int = 1,
    data_dir: Path | None = None,
) -> int:
    """The network-energy stage: price every trained network (``runs``: their metrics.json) and
    the layer sweeps with the energy table, in ``workers`` processes; write the CSVs and their
    provenance. Returns the number of network x encoding rows. With ``data_dir`` (the networks'
    data), the runs that can be replayed are priced on events with their own statistics."""
    from .atomic_files import atomic_write_json, atomic_write_text
    from .provenance import provenance

    table = pd.read_csv(table_csv)
    layers, fc_rows, conv_rows = _priced_units(cfg, table, list(runs), workers, data_dir)
    rows = aggregate_layers(layers)

    def scaled(df: pd.DataFrame) -> pd.DataFrame:
        # The SRAM part is linear in its per-access energy: scale it after pricing at the Liberty's.
        return with_sram_scale(df, sram_scale) if len(df) else df

    def csv(df: pd.DataFrame) -> str:
        return df.to_csv(index=False, float_format="%.6g")

    atomic_write_text(out_dir / "network_energy.csv", csv(scaled(pd.DataFrame(rows))))
    atomic_write_text(out_dir / "network_layers.csv", csv(scaled(pd.DataFrame(layers))))
    atomic_write_text(out_dir / "fc_sweeps.csv", csv(scaled(pd.DataFrame(fc_rows))))
    atomic_write_text(out_dir / "conv_sweep.csv", csv(scaled(pd.DataFrame(conv_rows))))
    atomic_write_json(
        out_dir / "network_energy.provenance.json",
        {
            "energy_table": str(table_csv),
            "runs": list(runs),
            "basis": "dynamic energy (logic fit + exact SRAM accesses) per operation is the headline; leakage "
            "beside it under the time models " + ", ".join(LEAKAGE_MODELS),
            "sram_scale": sram_scale,
            "per_event_costs": "counted by the golden models on each priced layer: every event where cheap "
            f"({EXACT_MAX_POSITIONS}), else {SAMPLES} sampled, 95 % interval in <op>_ci95_rel",
            "event_statistics": (
                "the trained networks' events are drawn from one epoch of each run replayed from its best weights "
                f"(spikemem.snn.activity, data in {data_dir}) where its protocol can be replayed, else uniformly "
                "over the layer's neurons (synapses for updates); the layer sweeps' are uniform; per layer and "
                "operation in event_statistics"
                if data_dir is not None
                else "uniform over each layer's neurons (synapses for updates): no data directory was given"
            ),
            "extrapolation": "every energy here is priced by the energy-table model fitted on the sizes in "
            "model_fitted_on; rows priced with a flagged table row say so in table_flagged / table_flagged_ops",
            "leakage_models": {
                "throughput": "leakage power x the events' cycles at clock_mhz (idle layers power-gated)",
                "real_time": f"leakage power of the controller and every macro of the layer x snn.steps x {DT_S} s "
                f"= {real_time_seconds(cfg)} s per training iteration or inference",
                "shared_time": "leakage_w x one common time for all encodings, swept in the report",
            },
            **provenance(cfg, stage="network_energy"),
        },
    )
    return len(rows)
