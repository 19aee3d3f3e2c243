"""Price any spiking network read from a NIR file: per synaptic layer and encoding, storage bits,
SRAM macros and their area, and energy per operation from the energy table, with the best encoding
per layer and for the whole network (``spikemem price``; README, "Price your own network").

Every layer is encoded by the golden models and priced with :func:`spikemem.network_energy.layer_energy`,
the function that prices the project's own network, on the same basis (dynamic energy per
operation as the headline; leakage beside it). Weights are quantized per layer to the requested
width (symmetric, over the layer's largest magnitude) unless they are integer levels already.

**Events.** Per sample of ``steps`` time steps and layer: ``forward`` = presynaptic events (one row
read each), ``backward`` = postsynaptic errors (one column read each), ``update`` = synapse
updates. Where they come from is stated in every row (``activity_source``):

* ``simulation``: the graph run over an input spike file (:func:`spikemem.nir_graph.simulate`);
  this gives forward events only, so backward and update are not priced (inference);
* ``rates``: per layer a spike rate (of its presynaptic neurons) and an error rate (of its
  postsynaptic neurons), events per neuron per step; a synapse is updated in a step when its
  presynaptic neuron spikes and its postsynaptic neuron carries an error (independently);
* ``upper_bound``: every presynaptic neuron spikes and every postsynaptic neuron carries an error
  in every step, and every synapse the encoding can update is updated: no real activity exceeds it.

An encoding updates the synapses it can hold (:meth:`Encoding.connectivity`): every position for a
store that holds every synapse, the stored ones otherwise, as in :mod:`spikemem.network_energy`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .encodings import REGISTRY, encode_conv, encode_fc, get_encoding
from .encodings.bitfields import MAX_WEIGHT_BITS, MIN_WEIGHT_BITS
from .energy_rows import MissingEnergyRow
from .network_energy import DT_S, OPS, joined_union, layer_energy, shape_positions, table_row
from .nir_graph import NetworkGraph, SynapticLayer
from .pdk import PdkError, load_pdk_config, pdk_root, sha256
from .price_errors import PriceInputError
from .workloads import memory_params, rng_for

DEFAULT_FLOAT_BITS = 8  # the width float weights are quantized to when none is requested
SOURCES = ("simulation", "rates", "upper_bound")
BEST_MIX = "per-layer best"


# --------------------------------------------------------------------------- quantization


def bits_needed(levels: np.ndarray) -> int:
    """The narrowest weight width whose symmetric range holds every level (at least 2 bits)."""
    top = int(np.abs(levels).max()) if levels.size else 0
    return max(MIN_WEIGHT_BITS, int(np.ceil(np.log2(top + 1))) + 1)


def quantize(layer: SynapticLayer, bits: int | None) -> tuple[np.ndarray, int, str]:
    """Integer levels of the layer's stored weights at ``bits`` (None: the width integer weights
    need, else :data:`DEFAULT_FLOAT_BITS`), the width, and how they were obtained."""
    w = layer.weights
    if layer.weight_step:
        scaled = w / layer.weight_step
        if np.allclose(scaled, np.rint(scaled), atol=1e-6):
            w = np.rint(scaled)
    integral = bool(np.all(w == np.rint(w)))
    if integral:
        levels = np.rint(w).astype(np.int64)
        need = bits_needed(levels)
        wb = bits if bits is not None else (layer.declared_bits or need)
        if need > wb:
            raise PriceInputError(
                f"layer {layer.name!r} has integer weights up to {int(np.abs(levels).max())}, which need {need} bits; "
                f"{wb} requested"
            )
        how = "integer levels as given" + (f" (weight / {layer.weight_step:g})" if layer.weight_step else "")
        return levels, wb, how
    wb = bits if bits is not None else DEFAULT_FLOAT_BITS
    top = 2 ** (wb - 1) - 1
    peak = float(np.abs(w).max())
    step = peak / top if peak else 1.0
    levels = np.clip(np.rint(w / step), -top, top).astype(np.int64)
    return levels, wb, f"symmetric per-layer, step max|w|/{top} = {step:.4g}"


# --------------------------------------------------------------------------- activity


@dataclass
class Activity:
    """Event counts per layer for one sample of ``steps`` time steps, and where they came from."""

    source: str  # one of SOURCES
    steps: int
    # layer -> forward (presynaptic events), backward (postsynaptic errors), update_per_synapse
    # (updates of each updatable synapse over the sample), spike_rate, error_rate
    layers: dict[str, dict[str, float]]
    description: str
    details: dict = field(default_factory=dict)

    def counts(self, layer: str, updatable_synapses: int) -> dict[str, float]:
        """The operations' event counts of one layer stored in an encoding that can update
        ``updatable_synapses`` synapses."""
        a = self.layers[layer]
        return {
            "forward": a["forward"],
            "backward": a["backward"],
            "update": a["update_per_synapse"] * updatable_synapses,
        }


def upper_bound_activity(net: NetworkGraph, steps: int) -> Activity:
    """Every presynaptic neuron spikes, every postsynaptic one carries an error, every updatable
    synapse is updated, in every step: an upper bound on any activity."""
    layers = {
        layer.name: {
            "forward": float(layer.n_pre * steps),
            "backward": float(layer.n_post * steps),
            "update_per_synapse": float(steps),
            "spike_rate": 1.0,
            "error_rate": 1.0,
        }
        for layer in net.layers
    }
    return Activity(
        "upper_bound",
        steps,
        layers,
        f"UPPER BOUND (no activity given): every presynaptic neuron spikes and every postsynaptic neuron "
        f"carries an error in each of {steps} step(s); real activity costs less",
    )


def rates_activity(net: NetworkGraph, rates: Mapping[str, Mapping[str, float]], steps: int) -> Activity:
    """Events from per-layer rates (events per neuron per step): ``rates[layer]`` (or ``rates['*']``
    for every layer) holds ``spike_rate`` and optionally ``error_rate`` (default 0: no learning)."""
    known = [layer.name for layer in net.layers]
    unknown = sorted(set(rates) - {*known, "*"})
    if unknown:
        raise PriceInputError(
            f"rates given for {', '.join(unknown)}, not synaptic layers of the graph ({', '.join(known)})"
        )
    layers, assumed = {}, []
    for layer in net.layers:
        r = rates.get(layer.name, rates.get("*"))
        if r is None:
            raise PriceInputError(
                f"no rates for layer {layer.name!r}: give them for every layer ({', '.join(known)}) or '*'"
            )
        extra = set(r) - {"spike_rate", "error_rate"}
        if extra or "spike_rate" not in r:
            raise PriceInputError(f"rates of layer {layer.name!r} must be spike_rate and error_rate, got {dict(r)}")
        spike, error = float(r["spike_rate"]), float(r.get("error_rate", 0.0))
        if "error_rate" not in r:
            assumed.append(layer.name)
        for what, v in (("spike_rate", spike), ("error_rate", error)):
            if not 0.0 <= v <= 1.0:
                raise PriceInputError(
                    f"{what} of layer {layer.name!r} is {v}: rates are events per neuron per step, in [0, 1]"
                )
        layers[layer.name] = {
            "forward": spike * layer.n_pre * steps,
            "backward": error * layer.n_post * steps,
            "update_per_synapse": spike * error * steps,
            "spike_rate": spike,
            "error_rate": error,
        }
    used = "; ".join(
        f"{name} spike {a['spike_rate']:g}, error {a['error_rate']:g}{' (assumed)' if name in assumed else ''}"
        for name, a in layers.items()
    )
    description = f"given rates over {steps} step(s): {used}"
    if assumed:
        description += (
            f". No error rate given for {', '.join(assumed)}: assumed 0 (inference only: no backward pass or "
            "update; give LAYER=SPIKE,ERROR to price learning)"
        )
    details = {"rates": {k: dict(v) for k, v in rates.items()}, "error_rate_assumed_zero": assumed}
    return Activity("rates", steps, layers, description, details)


def parse_rate_options(options: Sequence[str]) -> dict[str, dict[str, float]]:
    """``LAYER=SPIKE[,ERROR]`` options (LAYER may be ``*``) as a rates mapping."""
    rates = {}
    for opt in options:
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*([^,]+?)\s*(?:,\s*([^,]+?)\s*)?", opt)
        try:
            if not m:
                raise ValueError
            r = {"spike_rate": float(m.group(2))}
            if m.group(3) is not None:
                r["error_rate"] = float(m.group(3))
        except ValueError:
            raise PriceInputError(
                f"--rate {opt!r}: expected LAYER=SPIKE_RATE[,ERROR_RATE], e.g. fc1=0.05,0.01"
            ) from None
        rates[m.group(1)] = r
    return rates


def load_rates_file(path: str | Path) -> tuple[dict[str, dict[str, float]], int | None]:
    """Rates from YAML: ``layers: {LAYER: {spike_rate: R, error_rate: E}}`` and optional ``steps``."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise PriceInputError(f"{path}: cannot read the rates file ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("layers"), dict) or set(data) - {"layers", "steps"}:
        raise PriceInputError(
            f"{path}: a rates file holds 'layers: {{LAYER: {{spike_rate: R, error_rate: E}}}}' and optionally 'steps'"
        )
    for name, r in data["layers"].items():
        if not isinstance(r, dict):
            raise PriceInputError(f"{path}: rates of layer {name!r} must be a mapping of spike_rate and error_rate")
    steps = data.get("steps")
    return {str(k): v for k, v in data["layers"].items()}, (int(steps) if steps is not None else None)


def simulated_activity(net: NetworkGraph, spikes_path: str | Path, dt: float) -> Activity:
    """Forward events from running the graph over the input spike file (see :mod:`spikemem.nir_graph`)."""
    from .nir_graph import load_input_spikes, simulate

    inputs = load_input_spikes(spikes_path, net)
    steps = len(next(iter(inputs.values())))
    counts = simulate(net, inputs, dt)
    layers = {
        name: {
            "forward": c["forward"],
            "backward": 0.0,
            "update_per_synapse": 0.0,
            "spike_rate": c["spike_rate"],
            "error_rate": 0.0,
        }
        for name, c in counts.items()
    }
    return Activity(
        "simulation",
        steps,
        layers,
        f"simulated over {Path(spikes_path).name} ({steps} steps at dt = {dt:g} s); forward (inference) only: "
        "a simulation gives no errors, so backward and update are not priced",
        {"dt_s": dt},
    )


# --------------------------------------------------------------------------- the characterized range


def characterized_range(row: Mapping) -> tuple[int | None, str]:
    """The largest characterized layer (fitted or validated) behind a priced row: its positions and tag."""
    tags = [t for col in ("model_fitted_on", "model_validated_at") for t in str(row.get(col) or "").split(";") if t]
    sized = [(p, t) for t in tags if (p := shape_positions(t)) is not None]
    return max(sized) if sized else (None, "")


# --------------------------------------------------------------------------- pricing


def table_layer_type(encoding: str) -> str:
    """The energy-table rows of an encoding: an encoding that stores FC layers keeps a convolution's
    unrolled matrix with its FC controller (as in :func:`spikemem.network_energy.conv_sweep_point`)."""
    return "fc" if "fc" in get_encoding(encoding).layer_types else "conv"


def candidate_encodings(layer: SynapticLayer) -> list[str]:
    """The registered encodings that can store the layer: FC layers in FC encodings, convolutions in
    every encoding (the functional ones only where its geometry is one they store)."""
    kind = "conv" if layer.is_conv else "fc"
    return [name for name, cls in REGISTRY.items() if kind in cls.layer_types]


def macro_area_um2(cfg: Mapping) -> float | None:
    """Area of the configured SRAM macro from its LEF ``SIZE`` (None where the PDK is not found)."""
    pdk = load_pdk_config(cfg["pdk"])
    try:
        lef = pdk.path(pdk.sram_macros[cfg["memory"]["sram_macro"]].lef, pdk_root())
        m = re.search(r"^\s*SIZE\s+([\d.]+)\s+BY\s+([\d.]+)\s*;", lef.read_text(), re.MULTILINE)
    except (PdkError, OSError):
        return None
    return float(m.group(1)) * float(m.group(2)) if m else None


def _encode(encoding: str, layer: SynapticLayer, levels: np.ndarray, wb: int, params):
    if layer.geometry is not None:
        return encode_conv(encoding, levels, layer.geometry, wb, params)
    return encode_fc(encoding, levels, wb, params)


def price_layers(
    cfg: Mapping,
    table: pd.DataFrame,
    net: NetworkGraph,
    activity: Activity,
    weight_bits: Sequence[int | None] = (None,),
    notes: list[str] | None = None,
) -> list[dict]:
    """One row per synaptic layer, weight width and encoding that can store it and has energy-table
    rows: storage, macros, events and :func:`~spikemem.network_energy.layer_energy`'s terms."""
    params = memory_params(cfg)
    area = macro_area_um2(cfg)
    notes = notes if notes is not None else []
    real_time_s = activity.steps * DT_S
    rows = []
    for requested in weight_bits:
        for layer in net.layers:
            levels, wb, how = quantize(layer, requested)
            dense_levels = levels if layer.geometry is None else layer.geometry.unroll(levels)
            a = activity.layers[layer.name]
            for encoding in candidate_encodings(layer):
                cls = get_encoding(encoding)
                if "fc" not in cls.layer_types:
                    misfit = layer.geometry_misfit or cls.kernel_word_misfit(layer.geometry.kernel, params.word_bits)
                    if misfit:
                        notes.append(f"layer {layer.name!r}: {encoding} not priced ({misfit})")
                        continue
                rows_of = table_layer_type(encoding)
                try:
                    table_row(table, rows_of, encoding, wb, "forward")
                except MissingEnergyRow:
                    notes.append(f"layer {layer.name!r}: {encoding} not priced (no energy-table rows at {wb} bits)")
                    continue
                enc = _encode(encoding, layer, levels, wb, params)
                updatable = int(np.count_nonzero(enc.connectivity()))
                counts = activity.counts(layer.name, updatable)
                rng = rng_for(cfg, "price", layer.name, wb, encoding)
                e = layer_energy(
                    table, rows_of, encoding, wb, enc, counts, cfg["clock_mhz"], rng, real_time_s=real_time_s
                )
                positions, largest = characterized_range(e)
                rows.append(
                    {
                        "requested_bits": "auto" if requested is None else requested,
                        "layer": layer.name,
                        "node_type": layer.node_type,
                        "n_pre": layer.n_pre,
                        "n_post": layer.n_post,
                        "weight_bits": wb,
                        "quantization": how,
                        "nonzero_weights": int(np.count_nonzero(dense_levels)),
                        "density": float(np.count_nonzero(dense_levels) / dense_levels.size),
                        "encoding": encoding,
                        "table_rows": rows_of,
                        "storage_bits": e["payload_bits"] + e["metadata_bits"],
                        "macro_area_um2": e["macros"] * area if area is not None else float("nan"),
                        "activity_source": activity.source,
                        "steps": activity.steps,
                        "spike_rate": a["spike_rate"],
                        "error_rate": a["error_rate"],
                        "forward_events": counts["forward"],
                        "backward_events": counts["backward"],
                        "update_events": counts["update"],
                        **e,
                        # A layer larger than any characterized design is priced by extrapolation.
                        "beyond_characterized": positions is None or layer.n_pre * layer.n_post > positions,
                        "largest_characterized": largest,
                    }
                )
    if not rows:
        have = ", ".join(str(int(w)) for w in sorted(table.weight_bits.unique()))
        need = ", ".join(str(w) for w in sorted({quantize(layer, r)[1] for r in weight_bits for layer in net.layers}))
        raise PriceInputError(
            f"no layer could be priced: the layers need {need}-bit rows, the energy table has widths {have} "
            "(quantize with --weight-bits to one of them)"
        )
    df = pd.DataFrame(rows)
    best = df.loc[df.groupby(["requested_bits", "layer"], sort=False).dynamic_j.idxmin()]
    df["best_for_layer"] = df.index.isin(best.index)
    return df.to_dict(orient="records")


_NET_SUMMED = (
    "payload_bits",
    "metadata_bits",
    "storage_bits",
    "macros",
    "macro_area_um2",
    *(f"{op}_j" for op in OPS),
    "dynamic_j",
    "leakage_w",
    "leakage_throughput_j",
    "leakage_real_time_j",
)


def network_rows(layer_rows: list[dict]) -> list[dict]:
    """Per requested width: every encoding that priced every layer, summed over the layers, and the
    per-layer best mix (each layer has its own memory and controller); ``recommended`` marks the
    one of least dynamic energy."""
    df = pd.DataFrame(layer_rows)
    out = []
    for requested, g in df.groupby("requested_bits", sort=False):
        layers = list(dict.fromkeys(g.layer))
        group = []
        for encoding, e in g.groupby("encoding", sort=False):
            if set(e.layer) != set(layers):
                continue
            group.append({"encoding": encoding, "composition": ";".join(f"{x}:{encoding}" for x in e.layer), "rows": e})
        best = g[g.best_for_layer]
        group.append(
            {
                "encoding": BEST_MIX,
                "composition": ";".join(f"{x}:{c}" for x, c in zip(best.layer, best.encoding, strict=True)),
                "rows": best,
            }
        )
        for item in group:
            rows = item.pop("rows")
            out.append(
                {
                    "requested_bits": requested,
                    **item,
                    **{c: float(rows[c].sum()) for c in _NET_SUMMED},
                    "activity_source": rows.activity_source.iloc[0],
                    "steps": int(rows.steps.iloc[0]),
                    "table_flagged": bool(rows.table_flagged.any()),
                    "table_flagged_ops": joined_union(rows.table_flagged_ops),
                    "beyond_characterized": bool(rows.beyond_characterized.any()),
                }
            )
    net = pd.DataFrame(out)
    net["recommended"] = False
    for _, g in net.groupby("requested_bits", sort=False):
        # Ties (the mix equals a uniform encoding) go to the single encoding, which is simpler hardware.
        order = g.assign(mix=g.encoding == BEST_MIX).sort_values(["dynamic_j", "mix"])
        net.loc[order.index[0], "recommended"] = True
    for c in ("payload_bits", "metadata_bits", "storage_bits", "macros"):
        net[c] = net[c].astype(int)
    return net.to_dict(orient="records")


# --------------------------------------------------------------------------- output


def _si(joules: float) -> str:
    """An energy in the unit that fits, at three significant digits (999.7 nJ prints as 1 uJ)."""
    if not np.isfinite(joules):
        return "-"
    if joules == 0:
        return "0"
    for unit, f in (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        value = float(f"{joules / f:.3g}")
        if abs(value) >= 1:
            return f"{value:g} {unit}"
    return f"{float(f'{joules / 1e-15:.3g}'):g} fJ"


def _flag_ops(r: Mapping) -> str:
    """``table-flagged`` with the operations whose energy-table rows are flagged."""
    ops = [o for o in str(r.get("table_flagged_ops") or "").split(";") if o]
    return "table-flagged" + (f" ({', '.join(ops)})" if ops else "")


def format_tables(layer_rows: list[dict], net_rows: list[dict], activity: Activity) -> str:
    """A readable terminal table: per layer and encoding, then per network, with the recommendation."""
    lines = [f"activity: {activity.source}: {activity.description}", ""]
    head = (
        f"{'layer':12s} {'bits':>4s} {'encoding':11s} {'payload b':>10s} {'meta b':>9s} {'macros':>6s} "
        f"{'area mm2':>8s} {'forward':>9s} {'backward':>9s} {'update':>9s} {'dynamic':>9s}  notes"
    )
    lines.append(head)
    lines.append("-" * len(head))
    for r in layer_rows:
        flags = [
            f
            for f, on in (
                ("best", r["best_for_layer"]),
                (_flag_ops(r), r["table_flagged"]),
                (f"beyond {r['largest_characterized'] or 'any characterized size'}", r["beyond_characterized"]),
            )
            if on
        ]
        learn = activity.source != "simulation"
        lines.append(
            f"{r['layer'][:12]:12s} {r['weight_bits']:>4d} {r['encoding']:11s} "
            f"{r['payload_bits']:>10d} {r['metadata_bits']:>9d} "
            f"{r['macros']:>6d} {r['macro_area_um2'] / 1e6:>8.3f} {_si(r['forward_j']):>9s} "
            f"{_si(r['backward_j']) if learn else 'n/a':>9s} {_si(r['update_j']) if learn else 'n/a':>9s} "
            f"{_si(r['dynamic_j']):>9s}  {', '.join(flags)}"
        )
    lines += [
        "",
        f"{'network':22s} {'storage b':>10s} {'macros':>6s} {'area mm2':>8s} {'dynamic':>9s}  notes",
        "-" * 70,
    ]
    recommended = []
    for r in net_rows:
        label = r["encoding"]
        flags = [
            f
            for f, on in (
                ("RECOMMENDED", r["recommended"]),
                (_flag_ops(r), r["table_flagged"]),
                ("extrapolated", r["beyond_characterized"]),
            )
            if on
        ]
        bits = "" if r["requested_bits"] == "auto" else f"w{r['requested_bits']} "
        lines.append(
            f"{(bits + label)[:22]:22s} {r['storage_bits']:>10d} {r['macros']:>6d} {r['macro_area_um2'] / 1e6:>8.3f} "
            f"{_si(r['dynamic_j']):>9s}  {', '.join(flags)}"
        )
        if r["recommended"]:
            layers = ", ".join(part.replace(":", " in ") for part in r["composition"].split(";"))
            recommended.append(f"recommended{' at ' + bits.strip() if bits else ''}: {layers} ({_si(r['dynamic_j'])})")
    lines += ["", *recommended]
    lines.append(
        f"energies per sample of {activity.steps} step(s); dynamic = "
        + (" + ".join(OPS) if activity.source != "simulation" else "forward only (inference)")
    )
    return "\n".join(lines)


def read_energy_table(path: Path) -> pd.DataFrame:
    """An energy table checked against its schema (energy_table.schema.json's SCHEMA): a damaged
    or foreign file is refused, naming what is wrong."""
    import jsonschema

    from .synth.energy_table import SCHEMA

    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise PriceInputError(f"{path}: not a readable CSV energy table ({e})") from None
    absent = [c for c in SCHEMA["required"] if c not in table.columns]
    if absent:
        raise PriceInputError(
            f"{path}: damaged or not a spikemem energy table: no column {', '.join(absent[:5])}"
            + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        )
    if table.empty:
        raise PriceInputError(f"{path}: the energy table has no rows")
    for col, spec in SCHEMA["properties"].items():
        kinds = spec.get("type", [])
        numeric = {"number", "integer"} & set(np.atleast_1d(kinds))
        if col in table and numeric and not pd.api.types.is_numeric_dtype(table[col]):
            # one bad cell makes pandas read the column as text: name that cell, then read numbers
            numbers = pd.to_numeric(table[col], errors="coerce")
            bad = table[col].notna() & numbers.isna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise PriceInputError(
                    f"{path}: damaged energy table: line {i + 2}: {col!r} is {table[col].iloc[i]!r}, not a number"
                )
            table[col] = numbers
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for i, row in enumerate(table.astype(object).where(table.notna(), None).to_dict(orient="records")):
        error = next(iter(validator.iter_errors(row)), None)
        if error is not None:
            where = f"{error.path[0]!r}: " if error.path else ""
            raise PriceInputError(f"{path}: damaged energy table: line {i + 2}: {where}{error.message}")
    return table


def price_stage(
    cfg: Mapping,
    model: str | Path,
    table_csv: str | Path,
    out_csv: str | Path,
    weight_bits: Sequence[int] | None = None,
    spikes: str | Path | None = None,
    dt: float | None = None,
    rates: Sequence[str] = (),
    rates_file: str | Path | None = None,
    steps: int | None = None,
) -> tuple[str, Path, Path, Path]:
    """Price the NIR model ``model`` with the energy table ``table_csv``; write the layer rows to
    ``out_csv``, the network rows beside it (``<stem>.network.csv``) and the provenance
    (``<stem>.provenance.json``). Returns the terminal table and the three paths."""
    import nir

    from .atomic_files import atomic_write_json, atomic_write_text
    from .nir_graph import network_graph, read_graph
    from .provenance import provenance

    table_csv, out_csv = Path(table_csv), Path(out_csv)
    if not table_csv.is_file():
        raise PriceInputError(
            f"no energy table at {table_csv}: build it (snakemake results/energy/energy_table.csv) or give --table"
        )
    for wb in weight_bits or ():
        if not MIN_WEIGHT_BITS <= wb <= MAX_WEIGHT_BITS:
            raise PriceInputError(f"--weight-bits {wb}: widths run from {MIN_WEIGHT_BITS} to {MAX_WEIGHT_BITS}")
    if spikes is not None and (rates or rates_file):
        raise PriceInputError("give the activity one way: an input spike file or rates, not both")
    table = read_energy_table(table_csv)
    widths = sorted(int(w) for w in table.weight_bits.unique())
    missing = sorted(set(weight_bits or ()) - set(widths))
    if missing:
        raise PriceInputError(
            f"--weight-bits {' '.join(map(str, missing))}: the energy table {table_csv} has rows for widths "
            f"{', '.join(map(str, widths))} only (characterization.weight_bits of the configuration that built it)"
        )
    macro = cfg["memory"]["sram_macro"]
    if "sram_macros" in table and not table.sram_macros.fillna("").astype(str).str.contains(macro, regex=False).all():
        raise PriceInputError(
            f"{table_csv} was characterized with other SRAM macros than the configuration's {macro}: price with the "
            "configuration the table was built with (--config)"
        )
    net = network_graph(read_graph(model))
    graph_meta = {k: v for k, v in (net.graph.metadata or {}).items()}
    inputs = {"model": {"path": str(model), "sha256": sha256(Path(model))}}
    if spikes is not None:
        dt = dt if dt is not None else graph_meta.get("dt")
        if dt is None:
            raise PriceInputError("simulating needs the time step: give --dt SECONDS (the NIR file does not state one)")
        activity = simulated_activity(net, spikes, float(dt))
        inputs["spikes"] = {"path": str(spikes), "sha256": sha256(Path(spikes))}
    elif rates or rates_file:
        given, file_steps = load_rates_file(rates_file) if rates_file else ({}, None)
        given.update(parse_rate_options(rates))
        activity = rates_activity(net, given, steps or file_steps or 1)
        if rates_file:
            inputs["rates"] = {"path": str(rates_file), "sha256": sha256(Path(rates_file))}
    else:
        activity = upper_bound_activity(net, steps or 1)
    notes = list(net.notes)
    layer_rows = price_layers(cfg, table, net, activity, list(weight_bits) if weight_bits else [None], notes)
    net_rows = network_rows(layer_rows)

    def csv(rows) -> str:
        return pd.DataFrame(rows).to_csv(index=False, float_format="%.6g")

    stem = out_csv.name[: -len(".csv")] if out_csv.name.endswith(".csv") else out_csv.name
    net_csv = out_csv.with_name(f"{stem}.network.csv")
    prov_json = out_csv.with_name(f"{stem}.provenance.json")
    table_prov = table_csv.with_name(table_csv.name.replace(".csv", ".provenance.json"))
    atomic_write_text(out_csv, csv(layer_rows))
    atomic_write_text(net_csv, csv(net_rows))
    atomic_write_json(
        prov_json,
        {
            "model": str(model),
            "inputs": inputs,
            "nir_version": nir.__version__,
            "energy_table": {
                "path": str(table_csv),
                "sha256": sha256(Path(table_csv)),
                "provenance": json.loads(table_prov.read_text()) if table_prov.is_file() else None,
            },
            "activity": {
                "source": activity.source,
                "steps": activity.steps,
                "description": activity.description,
                **activity.details,
            },
            "weight_bits": list(weight_bits)
            if weight_bits
            else f"auto (integer weights: the width they need; float: {DEFAULT_FLOAT_BITS})",
            "quantization": "per layer, symmetric, step = max|w| / (2^(b-1) - 1), unless the weights are integer "
            "levels",
            "basis": "dynamic energy per operation (energy-table logic fit + SRAM accesses counted by the golden "
            "models) "
            "per sample of `steps` steps; leakage beside it (throughput and real_time at "
            f"{DT_S} s per step)",
            "recommended": "least dynamic energy per requested width; the per-layer best mix gives each layer its "
            "own encoding",
            "notes": notes,
            **provenance(cfg, stage="price"),
        },
    )
    text = format_tables(layer_rows, net_rows, activity)
    if notes:
        text += "\nnotes:\n" + "\n".join(f"  {n}" for n in dict.fromkeys(notes))
    text += f"\nenergy table: {table_csv} (provenance in {prov_json})"
    return text, out_csv, net_csv, prov_json
