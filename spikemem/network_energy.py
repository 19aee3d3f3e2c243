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

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .encodings import ConvGeometry, Encoding, encode_conv, encode_fc, get_encoding
from .energy_rows import MissingEnergyRow
from .golden import event_features, run_events
from .synth.energy_table import COEFFICIENTS, CYCLE_COEFFICIENTS, FEATURES, SRAM_COEFFICIENTS, SRAM_FEATURES
from .workloads import memory_params, rng_for

OPS = ("forward", "backward", "update")
# Sampled events per operation where not every event is run.
SAMPLES = {"forward": 48, "backward": 16, "update": 96}
# Every possible event is run (exact means) when the events' synapse positions (forward, backward:
# events x the row or column walked; update: the stored synapses) stay under these: a 784 x 128 or
# 700 x 400 forward pass is exact; column walks of such layers are sampled (PB-CSR's binary
# searches make an exact backward pass take ~15 s per layer in the golden model).
EXACT_MAX_POSITIONS = {"forward": 400_000, "backward": 20_000, "update": 5_000}
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


def event_sample(enc: Encoding, op: str, rng: np.random.Generator, samples: int | None = None) -> dict:
    """Per-event costs of ``op`` on ``enc``: every possible event where that is cheap (``exact``),
    else ``samples`` (default :data:`SAMPLES`) drawn uniformly. ``features`` is events x
    (FEATURES[1:] + SRAM_FEATURES): synapses, word reads and writes, lookups, SRAM reads and writes."""
    if op in ("forward", "backward"):
        # A forward event is a presynaptic neuron (a row), a backward one a postsynaptic (a column).
        neurons = enc.n_pre if op == "forward" else enc.n_post
        exact = samples is None and enc.n_pre * enc.n_post <= EXACT_MAX_POSITIONS[op]
        idx = np.arange(neurons) if exact else rng.integers(0, neurons, samples or SAMPLES[op])
        events = [(int(i),) for i in idx]
    else:
        pre, post = np.nonzero(enc.connectivity())
        exact = samples is None and len(pre) <= EXACT_MAX_POSITIONS[op]
        pick = np.arange(len(pre)) if exact else (rng.integers(0, len(pre), samples or SAMPLES[op]) if len(pre) else [])
        events = [(int(pre[k]), int(post[k]), 0) for k in pick]  # delta 0: the access pattern only
    names = (*FEATURES[1:], *SRAM_FEATURES)
    if not events:
        return {"features": np.zeros((0, len(names))), "names": names, "exact": exact}
    outputs, counts = run_events(enc, op, events)
    in_sram = sram_memories(enc)
    rows = []
    for o, c in zip(outputs, counts, strict=True):
        f = event_features(op, o, c)
        reads = sum(v for k, v in c.items() if k.endswith(".R") and k[:-2] in in_sram)
        writes = sum(v for k, v in c.items() if k.endswith(".W") and k[:-2] in in_sram)
        rows.append([*(f[n] for n in FEATURES[1:]), reads, writes])
    return {"features": np.array(rows, dtype=float), "names": names, "exact": exact}


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
    coef = np.array([*(row[c] for c in COEFFICIENTS[1:]), *(row[c] for c in SRAM_COEFFICIENTS)])
    e = row[COEFFICIENTS[0]] + x @ coef
    mean = float(e.mean())
    return float(Z_95 * e.std(ddof=1) / np.sqrt(len(e)) / mean) if mean else 0.0


def price_terms(row: pd.Series, n_events: float, costs: Mapping) -> dict[str, float]:
    """Logic energy, SRAM energy (at the Liberty's per-access value) and cycles of ``n_events``
    events with the given mean per-event costs."""
    x = np.array([1.0, *(costs[name] for name in FEATURES[1:])])
    logic = n_events * float(np.dot([row[c] for c in COEFFICIENTS], x))
    sram = n_events * float(np.dot([row[c] for c in SRAM_COEFFICIENTS], [costs[f] for f in SRAM_FEATURES]))
    cycles = n_events * float(np.dot([row[c] for c in CYCLE_COEFFICIENTS], x))
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
) -> dict:
    """Energy terms of one layer for the given events per operation.

    ``samples`` (op -> :func:`event_sample`), filled here where missing, lets several pricings of
    the same layer (training and inference) share one set of golden-model events.

    Per operation: ``<op>_j`` (dynamic = ``<op>_logic_j`` + ``<op>_sram_j``, the SRAM part at
    ``sram_scale``), ``<op>_cycles``, ``<op>_leakage_throughput_j`` and ``<op>_ci95_rel`` (0 where
    the per-event means are exact); over all operations: ``dynamic_j``, ``leakage_w``, ``busy_s``,
    the leakage of each time model (``real_time`` when ``real_time_s`` is given; ``shared_time`` is
    ``leakage_w`` x a common time, downstream), and where the numbers come from:
    ``table_flagged`` (a priced operation's energy-table row is flagged), ``model_fitted_on`` (the
    sizes the model was fitted on: the layer's energy is an extrapolation from them) and
    ``model_validated_at``.
    """
    power = leakage_power(table, layer_type, encoding, wb, enc)
    hz = clock_mhz * 1e6
    out: dict = {}
    flagged, fit_designs, validation_designs = [], [], []
    if samples is None:
        samples = {}
    for op in OPS:
        n = counts.get(op, 0.0)
        t = {"logic_j": 0.0, "sram_j": 0.0, "cycles": 0.0}
        out[f"{op}_ci95_rel"] = 0.0
        if n > 0:
            row = table_row(table, layer_type, encoding, wb, op)
            if op not in samples:
                samples[op] = event_sample(enc, op, rng)
            sample = samples[op]
            x = sample["features"]
            means = x.mean(axis=0) if len(x) else np.zeros(len(sample["names"]))
            t = price_terms(row, n, dict(zip(sample["names"], means, strict=True)))
            out[f"{op}_ci95_rel"] = energy_ci95_rel(row, sample)
            if row.get("flagged", False):
                flagged.append(op)
            fit_designs.append(row.get("fit_designs"))
            validation_designs.append(row.get("validation_design"))
        out[f"{op}_logic_j"] = t["logic_j"]
        out[f"{op}_sram_j"] = sram_scale * t["sram_j"]
        out[f"{op}_j"] = t["logic_j"] + sram_scale * t["sram_j"]
        out[f"{op}_cycles"] = t["cycles"]
        out[f"{op}_leakage_throughput_j"] = power * t["cycles"] / hz
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
    out["macros"] = enc.image.macro_count
    out["payload_bits"] = enc.image.payload_bits
    out["metadata_bits"] = enc.image.metadata_bits
    return out


def design_shapes(cells) -> list[str]:
    """The shape tags (``fc16x16``, ``conv1x6x6o4k3s1p1``) of the ;-separated design names in
    ``cells`` (empty or missing cells skipped), each once, smallest first."""
    tags = {name.split("-")[1] for c in cells if isinstance(c, str) and c for name in c.split(";")}
    return sorted(tags, key=lambda t: (len(t), t))


def update_events(ev: Mapping[str, float], enc: Encoding) -> float:
    """The synapse updates of one iteration that ``enc`` performs: every non-zero weight change
    where it holds every synapse, else only those on synapses it stores (non-zero weights)."""
    return ev["updates"] if enc.connectivity().all() else ev["updates_on_nonzero"]


def network_layers(
    cfg: Mapping, table: pd.DataFrame, run_dir: Path, metrics: Mapping, sram_scale: float = 1.0
) -> list[dict]:
    """Per layer of one trained network and per encoding: energy per training iteration (forward,
    backward, update) and per inference (forward), dynamic and leakage under each time model."""
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
            counts = {
                "forward": ev["forward_rows"],
                "backward": ev["backward_columns"],
                "update": update_events(ev, enc),
            }
            shared: dict = {}  # one set of golden-model events for training and inference
            e = layer_energy(table, "fc", encoding, wb, enc, counts, cfg["clock_mhz"], rng, sram_scale, t_real, shared)
            inference = {"forward": metrics["inference_events"]["forward_rows"][layer]}
            inf = layer_energy(
                table, "fc", encoding, wb, enc, inference, cfg["clock_mhz"], rng, sram_scale, t_real, shared
            )
            rows.append(
                {
                    "protocol": metrics["protocol"],
                    "training_set": metrics["training_set"],
                    "weight_bits": wb,
                    "seed": metrics["seed"],
                    "encoding": encoding,
                    "layer": layer,
                    "min_van_rossum": metrics["min_van_rossum"],
                    "density": metrics["densities"][layer],
                    "final_density": metrics["final_densities"][layer],
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
    *(f"{op}_{k}" for op in OPS for k in ("j", "logic_j", "sram_j", "cycles", "leakage_throughput_j")),
    "dynamic_j",
    "forward_backward_j",
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
    for (protocol, tset, wb, seed, encoding), g in df.groupby(keys, sort=False):
        dens = dict(zip(g.layer, g.density, strict=True))
        final = dict(zip(g.layer, g.final_density, strict=True))
        out.append(
            {
                "protocol": protocol,
                "training_set": tset,
                "weight_bits": int(wb),
                "seed": int(seed),
                "encoding": encoding,
                "min_van_rossum": float(g.min_van_rossum.iloc[0]),
                **{f"{layer}_density": float(dens[layer]) for layer in LAYERS if layer in dens},
                **{f"{layer}_final_density": float(final[layer]) for layer in LAYERS if layer in final},
                **{c: float(g[c].sum()) for c in _SUMMED},
                "real_time_s": float(g.real_time_s.iloc[0]),
                "real_time_feasible": bool(g.real_time_feasible.all()),
                "inference_real_time_feasible": bool(g.inference_real_time_feasible.all()),
                "sram_scale": float(g.sram_scale.iloc[0]),
                # Conservative: the widest interval of any layer (the layers' samples are independent).
                **{f"{op}_ci95_rel": float(g[f"{op}_ci95_rel"].max()) for op in OPS},
                "table_flagged": bool(g.table_flagged.any()),
                "table_flagged_ops": ";".join(sorted({o for v in g.table_flagged_ops for o in v.split(";") if o})),
                "model_fitted_on": ";".join(sorted({t for v in g.model_fitted_on for t in v.split(";") if t})),
                "model_validated_at": ";".join(sorted({t for v in g.model_validated_at for t in v.split(";") if t})),
            }
        )
    for c in ("macros", "payload_bits", "metadata_bits"):
        for r in out:
            r[c] = int(r[c])
    return out


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
    out["sram_scale"] = float(scale)
    return out


def _random_fc(rng, n_pre, n_post, wb, density):
    top = 2 ** (wb - 1) - 1
    w = rng.integers(1, top + 1, (n_pre, n_post)) * rng.choice([-1, 1], (n_pre, n_post))
    return np.where(rng.random((n_pre, n_post)) < density, w, 0)


def pass_energy(
    table, layer_type, encoding, wb, enc, clock_mhz, rng, update_events: float, real_time_s: float | None = None
) -> dict:
    """One full pass: every presynaptic neuron spikes once (forward), every postsynaptic neuron
    carries one error (backward), ``update_events`` synapse updates."""
    counts = {"forward": enc.n_pre, "backward": enc.n_post, "update": update_events}
    return layer_energy(table, layer_type, encoding, wb, enc, counts, clock_mhz, rng, real_time_s=real_time_s)


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
        e = pass_energy(table, "fc", encoding, wb, enc, cfg["clock_mhz"], rng, upd, t_real)
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
        e = pass_energy(table, layer_type, encoding, wb, enc, cfg["clock_mhz"], rng, synapses, t_real)
        rows.append({"weight_bits": wb, "encoding": encoding, "table_rows": layer_type, **e})
    return rows


def _network_rows(cfg: Mapping, table: pd.DataFrame, metrics_file: str) -> list[dict]:
    import json

    metrics = json.loads(Path(metrics_file).read_text())
    return network_layers(cfg, table, Path(metrics_file).parent, metrics)


def _priced_units(cfg: Mapping, table: pd.DataFrame, runs: list[str], workers: int) -> tuple[list, list, list]:
    """The layer rows of every network, the FC sweep rows and the convolution sweep rows. Each
    network and each sweep point draws from its own seeded generator, so pricing them in ``workers``
    processes gives the same rows in the same order as one process; the golden-model event counts
    they need are pure Python, hence processes rather than threads."""
    fc_points = fc_sweep_points(cfg, table)
    units = [(_network_rows, (cfg, table, r)) for r in runs]
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
    cfg: Mapping, table_csv: Path, runs: list[str], out_dir: Path, sram_scale: float = 1.0, workers: int = 1
) -> int:
    """The network-energy stage: price every trained network (``runs``: their metrics.json) and
    the layer sweeps with the energy table, in ``workers`` processes; write the CSVs and their
    provenance. Returns the number of network x encoding rows."""
    from .atomic_files import atomic_write_json, atomic_write_text
    from .provenance import provenance

    table = pd.read_csv(table_csv)
    layers, fc_rows, conv_rows = _priced_units(cfg, table, list(runs), workers)
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
            "per_event_costs": "counted by the golden models on each priced layer, events uniform over its neurons "
            f"(synapses for updates): every event where cheap ({EXACT_MAX_POSITIONS}), else {SAMPLES} sampled, "
            "95 % interval in <op>_ci95_rel",
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
