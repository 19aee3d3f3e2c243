"""The paper's claims against ours on each energy basis, and how conclusions move with the SRAM energy.

The paper's values and how each claim was formed live in ``paper_claims.yaml`` (one data file);
this module only reads them, forms ours the same way from ``results/``, and sets them side by side.

Bases (:data:`BASES`): ``dynamic`` (the paper's: the claim's operations' dynamic energy, logic + SRAM)
and the same plus leakage under each time model of :mod:`spikemem.network_energy`: ``throughput``
(the leakage of the claim's operations' own cycles), ``real_time`` (the whole sample's real time,
every macro leaking) and ``shared_time`` (one common time ``T`` for all encodings, swept over
:data:`SHARED_TIMES_S`).

The SRAM sensitivity (:func:`sram_sensitivity`) re-prices every claim and every layer-level
comparison with the per-access SRAM energy scaled by each factor of :data:`SRAM_SCALES`, and marks
where a conclusion differs from the one at the Liberty's own value (scale 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from spikemem.direct_energy import network_totals
from spikemem.network_energy import with_sram_scale

CLAIMS_FILE = Path(__file__).with_name("paper_claims.yaml")
BASES = ("dynamic", "throughput", "real_time", "shared_time")
# Common times for the shared-time model: decades from a burst of events at the clock (microseconds)
# to about a real-time sample (a quarter second) and beyond.
SHARED_TIMES_S = (1e-6, 1e-4, 1e-2, 1.0)
# The per-access SRAM energy is the OpenRAM Liberty's, an uncalibrated analytical figure: swept
# from a quarter to eight times it (docs/energy.md).
SRAM_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


# Each energy claim with a backward pass is also formed with each backward mode (the configured one,
# column walks only, row streams only) and on each scope (the paper's: every layer's backward pass;
# training's: none through the input layer, whose errors training never uses; network tables only).
BACKWARD_VARIANTS = {
    ("configured", "paper"): "backward",
    ("column", "paper"): "backward_column",
    ("row", "paper"): "backward_row",
    ("configured", "training"): "backward_training",
    ("column", "training"): "backward_column_training",
    ("row", "training"): "backward_row_training",
}


def variant_column(mode: str, scope: str) -> str:
    """The claims table's column of a claim formed with backward ``mode`` on ``scope``."""
    return f"ours_backward_{mode}_{scope}"


class MissingInput(LookupError):
    """A claim's inputs are not in the results (the message says which)."""


def load_paper_claims(path: Path = CLAIMS_FILE) -> list[dict]:
    """The paper's claims as ``paper_claims.yaml`` states them."""
    return yaml.safe_load(Path(path).read_text())["claims"]


def energy_on_basis(
    rows: pd.DataFrame, operations: Sequence[str], basis: str, shared_time_s: float | None = None
) -> pd.Series:
    """Energy of ``operations`` per row on ``basis``: their dynamic energy, plus leakage under the
    basis's time model (none for ``dynamic``)."""
    dynamic = sum(rows[f"{op}_j"] for op in operations)
    if basis == "dynamic":
        return dynamic
    if basis == "throughput":
        return dynamic + sum(rows[f"{op}_leakage_throughput_j"] for op in operations)
    if basis == "real_time":
        return dynamic + rows["leakage_real_time_j"]
    if basis == "shared_time":
        if shared_time_s is None:
            raise ValueError("the shared_time basis needs a time")
        return dynamic + rows["leakage_w"] * shared_time_s
    raise ValueError(f"unknown basis {basis!r}; known: {', '.join(BASES)}")


def _read(results: Path, name: str) -> pd.DataFrame:
    path = results / name
    if not path.exists():
        raise MissingInput(f"{name} is not in the results")
    df = pd.read_csv(path)
    if df.empty:
        raise MissingInput(f"{name} has no rows")
    return df


def _widths(df: pd.DataFrame) -> str:
    return ", ".join(str(int(w)) for w in sorted(set(df.weight_bits))) or "none"


def _pick(df: pd.DataFrame, name: str, encoding: str | None, weight_bits: int) -> pd.DataFrame:
    sub = df[df.weight_bits == weight_bits]
    if encoding is not None:
        sub = sub[sub.encoding == encoding]
    if sub.empty:
        what = f"{weight_bits}-bit {encoding}" if encoding else f"{weight_bits}-bit"
        raise MissingInput(f"no {what} rows in {name} (widths there: {_widths(df)})")
    return sub


def protocol_rows(claim: Mapping, df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of the claim's training protocol (every row where the claim or table names none),
    and of its structure regime: networks trained with a frozen sparsity structure only where the
    claim says ``freeze_structure: true``, else only those trained free."""
    if "freeze_structure" in df:
        frozen = bool(claim.get("freeze_structure", False))
        df = df[df.freeze_structure.astype(str).str.lower().isin(("true", "1") if frozen else ("false", "0"))]
        if df.empty:
            raise MissingInput(f"no networks {'with' if frozen else 'without'} a frozen structure in {name}")
    protocol = claim.get("protocol")
    if protocol is None or "protocol" not in df:
        return df
    sub = df[df.protocol == protocol]
    if sub.empty:
        raise MissingInput(f"no networks of the {protocol} protocol in {name} (snn.protocols)")
    return sub


def _claim_width(claim: Mapping, df: pd.DataFrame) -> tuple[int, str]:
    wb = int(claim["weight_bits"])
    if wb in set(df.weight_bits) or claim.get("weight_bits_fallback") != "widest":
        return wb, ""
    widest = int(df.weight_bits.max())
    return widest, f" at {widest}-bit weights ({wb}-bit not characterized)"


def evaluate(
    claim: Mapping,
    results: Path,
    basis: str = "dynamic",
    sram_scale: float = 1.0,
    shared_time_s: float | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[float, str]:
    """Our value of one claim on ``basis`` and a note on how it was formed; raises
    :class:`MissingInput` naming what is absent. ``frames`` may hold the claim's table, already read."""
    name = claim["table"]
    df = frames[name] if frames is not None and name in frames else _read(results, name)
    df = protocol_rows(claim, df, name)
    form = claim["form"]
    if form == "retention":
        # best: the single best run over the protocol's sweep and seeds (as the authors formed it);
        # mean: the mean over all of them.
        score = "min" if claim.get("score", "mean") == "best" else "mean"
        d = _pick(df, name, None, int(claim["weight_bits"])).min_van_rossum.agg(score)
        ref = _pick(df, name, None, int(claim["reference_bits"])).min_van_rossum.agg(score)
        return float((d - ref) / ref), ""
    df = with_sram_scale(df, sram_scale)
    ops = claim["operations"]
    if form == "reduction":
        wb, note = _claim_width(claim, df)
        ours = energy_on_basis(_pick(df, name, claim["encoding"], wb), ops, basis, shared_time_s).iloc[0]
        ref = energy_on_basis(_pick(df, name, claim["reference"], wb), ops, basis, shared_time_s).iloc[0]
        return float(1 - ours / ref), note
    if form == "ratio":
        ours = energy_on_basis(_pick(df, name, claim["encoding"], int(claim["weight_bits"])), ops, basis, shared_time_s)
        ref = energy_on_basis(
            _pick(df, name, claim["reference"], int(claim["reference_bits"])), ops, basis, shared_time_s
        )
        return float(ref.mean() / ours.mean()), ""
    raise ValueError(f"claim {claim['id']}: unknown form {form!r}")


def _claim_rows(claim: Mapping, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of an energy claim's table that the claim compares (both sides)."""
    if claim["form"] == "reduction":
        wb, _ = _claim_width(claim, df)
        picks = [_pick(df, claim["table"], e, wb) for e in (claim["encoding"], claim["reference"])]
    else:
        picks = [
            _pick(df, claim["table"], claim["encoding"], int(claim["weight_bits"])),
            _pick(df, claim["table"], claim["reference"], int(claim["reference_bits"])),
        ]
    return pd.concat(picks)


def real_time_feasible(claim: Mapping, results: Path) -> bool | None:
    """Whether the events of every row the claim compares fit in the real-time model's sample time
    at the configured clock (None where the rows do not say): where they do not, the real-time
    model does not describe a hardware that could run them."""
    if claim["form"] == "retention":
        return None
    df = protocol_rows(claim, _read(results, claim["table"]), claim["table"])
    if "real_time_feasible" not in df:
        return None
    return bool(_claim_rows(claim, df).real_time_feasible.astype(bool).all())


def _joined(values) -> str:
    """The ;-separated items of several cells, each once, shortest (smallest shape) first."""
    items = {t for v in values if isinstance(v, str) for t in v.split(";") if t}
    return ";".join(sorted(items, key=lambda t: (len(t), t)))


def claim_basis(claim: Mapping, results: Path) -> dict:
    """How our value of a claim was obtained: ``measured_by`` (a fitted energy model extrapolated
    to the claim's layers, or trained networks), the sizes the model was fitted on and validated at,
    whether any energy-table row it used is flagged (and for which operations), and the widest 95 %
    confidence interval of the sampled per-event costs of its operations (0: exact means)."""
    if claim["form"] == "retention":
        protocol = f" of the {claim['protocol']} protocol" if "protocol" in claim else ""
        return {"measured_by": f"trained networks{protocol} (van Rossum distance)", "model_flagged": False}
    rows = _claim_rows(claim, protocol_rows(claim, _read(results, claim["table"]), claim["table"]))
    fitted = _joined(rows.get("model_fitted_on", []))
    ci = [rows[f"{op}_ci95_rel"].max() for op in claim["operations"] if f"{op}_ci95_rel" in rows]
    return {
        "measured_by": f"energy model fitted on {fitted or 'unknown sizes'} at gate level, extrapolated to the "
        "claim's layers",
        "model_fitted_on": fitted,
        "model_validated_at": _joined(rows.get("model_validated_at", [])),
        "model_flagged": bool(rows["table_flagged"].any()) if "table_flagged" in rows else None,
        "model_flagged_ops": _joined(rows.get("table_flagged_ops", [])),
        "sampling_ci95_rel": float(max(ci)) if ci else math.nan,
    }


DIRECT_TABLE = "energy/network_direct.csv"
# The trained layers' gate-level energies (spikemem.direct_energy): a ratio claim formed on them, on
# the paper's basis and training's, and the model's value for the same networks beside it.
DIRECT_COLUMNS = {
    ("direct", "paper"): "direct_value",
    ("direct", "training"): "direct_value_training",
    ("model_same_events", "paper"): "direct_model_same_events",
    ("model_uniform", "paper"): "direct_model_uniform",
}


def direct_values(claim: Mapping, results: Path) -> dict:
    """A ratio claim formed on the networks characterized directly at gate level (the best run of
    each width of the configured training set, ``characterization.network_layers``): forward + the
    configured backward per training iteration, reference over ours, per footing and basis; NaN
    where the claim's designs were not characterized so (frozen or other protocols included)."""
    out: dict = {c: math.nan for c in DIRECT_COLUMNS.values()} | {"direct_networks": ""}
    path = results / DIRECT_TABLE
    if claim["form"] != "ratio" or not path.exists() or claim.get("freeze_structure", False):
        return out
    df = pd.read_csv(path)
    if df.empty:
        return out
    df = df[df.training_set.str.startswith(f"{claim.get('protocol', '')}") & ~df.training_set.str.endswith("-frozen")]
    if df.empty:
        return out
    for basis in ("paper", "training"):
        totals = network_totals(df, basis)
        ours = totals[(totals.encoding == claim["encoding"]) & (totals.weight_bits == int(claim["weight_bits"]))]
        ref = totals[(totals.encoding == claim["reference"]) & (totals.weight_bits == int(claim["reference_bits"]))]
        if ours.empty or ref.empty:
            return out
        for (footing, b), col in DIRECT_COLUMNS.items():
            if b == basis:
                out[col] = float(ref[footing].iloc[0] / ours[footing].iloc[0])
        out["direct_networks"] = "; ".join(
            f"{r.training_set} {r.encoding} {r.weight_bits}-bit seed {r.seed}"
            for r in pd.concat([ours, ref]).itertuples()
        )
    return out


def _energy_claim(claim: Mapping) -> bool:
    return claim["form"] != "retention"


def _shared_col(t: float) -> str:
    return f"ours_shared_time_{t:g}s"


def claims_table(results: Path, claims: list[dict] | None = None) -> pd.DataFrame:
    """One row per claim: the paper's value and source, ours on the paper's basis (``our_value``,
    dynamic energy) and on each leakage model, or ``status`` missing with the ``reason``."""
    rows = []
    for claim in claims if claims is not None else load_paper_claims():
        row = {
            "id": claim["id"],
            "claim": claim["claim"],
            "paper_formed": claim["paper_formed"],
            "ours_formed": claim["ours_formed"],
            "source": claim["source"],
            "unit": claim["unit"],
            "paper_value": float(claim["paper_value"]),
            "status": "ok",
            "reason": "",
            "our_value": math.nan,
            "ratio": math.nan,
            "ours_throughput": math.nan,
            "ours_real_time": math.nan,
            "real_time_feasible": None,
            **{_shared_col(t): math.nan for t in SHARED_TIMES_S},
        }
        try:
            value, note = evaluate(claim, results, "dynamic")
            row["our_value"], row["ratio"] = value, value / row["paper_value"]
            row["ours_formed"] += note
            if _energy_claim(claim):
                row["ours_throughput"] = evaluate(claim, results, "throughput")[0]
                row["ours_real_time"] = evaluate(claim, results, "real_time")[0]
                row["real_time_feasible"] = real_time_feasible(claim, results)
                for t in SHARED_TIMES_S:
                    row[_shared_col(t)] = evaluate(claim, results, "shared_time", shared_time_s=t)[0]
            else:
                # Retention does not depend on how energy is counted: the same on every basis.
                row["ours_throughput"] = row["ours_real_time"] = value
                for t in SHARED_TIMES_S:
                    row[_shared_col(t)] = value
            row.update(claim_basis(claim, results))
            if _energy_claim(claim):
                row.update(direct_values(claim, results))
            if _energy_claim(claim) and "backward" in claim["operations"]:
                for (mode, scope), name in BACKWARD_VARIANTS.items():
                    ops = [name if op == "backward" else op for op in claim["operations"]]
                    try:
                        row[variant_column(mode, scope)] = evaluate({**claim, "operations": ops}, results)[0]
                    except KeyError:  # a table without that scope (a single layer) or mode
                        row[variant_column(mode, scope)] = math.nan
        except (MissingInput, KeyError) as e:
            row["status"], row["reason"] = "missing", str(e).strip("'\"")
            if isinstance(e, KeyError):
                row["reason"] = f"column {row['reason']} missing from {claim['table']}"
        rows.append(row)
    return pd.DataFrame(rows)


def _conclusion(claim: Mapping, value: float) -> str:
    if claim["form"] == "reduction":
        better = value > 0
        a, b = claim["encoding"], claim["reference"]
    else:
        better = value > 1
        a = f"{claim['weight_bits']}-bit {claim['encoding']}"
        b = f"{claim['reference_bits']}-bit {claim['reference']}"
    return f"{a} cheaper than {b}" if better else f"{b} cheaper than {a}"


def comparison_keys(layers: pd.DataFrame) -> list[str]:
    """What a layer-level comparison is per: training protocol (where the table has one), weight
    width, layer. The protocols train networks of different densities, so each has its winners."""
    return [k for k in ("protocol", "freeze_structure", "weight_bits", "layer") if k in layers]


def layer_winners(layers: pd.DataFrame, basis: str) -> pd.DataFrame:
    """Per (protocol,) weight width and layer of the trained networks, every encoding's energy per
    training iteration on ``basis`` (mean over seeds), cheapest first."""
    df = layers.assign(energy_j=energy_on_basis(layers, ("forward", "backward", "update"), basis))
    keys = comparison_keys(layers)
    return df.groupby([*keys, "encoding"]).energy_j.mean().reset_index().sort_values([*keys, "energy_j"])


def sram_sensitivity(
    results: Path, scales: Sequence[float] = SRAM_SCALES, claims: list[dict] | None = None
) -> pd.DataFrame:
    """Every energy claim and every layer-level comparison (per weight width, the cheapest encoding
    per training iteration of each layer) with the per-access SRAM energy at each scale, on the
    dynamic basis and with throughput and real-time leakage. ``flips`` marks a conclusion that
    differs from the one at scale 1; a comparison whose inputs are missing gets one row saying why."""
    rows = []
    bases = ("dynamic", "throughput", "real_time")
    for claim in [c for c in (claims if claims is not None else load_paper_claims()) if _energy_claim(c)]:
        for basis in bases:
            try:
                at = {s: evaluate(claim, results, basis, sram_scale=s)[0] for s in (1.0, *scales)}
            except (MissingInput, KeyError) as e:
                rows.append({"kind": "claim", "comparison": claim["id"], "basis": basis, "status": "missing",
                             "reason": str(e).strip("'\"")})  # fmt: skip
                continue
            base = _conclusion(claim, at[1.0])
            for s in scales:
                conclusion = _conclusion(claim, at[s])
                rows.append(
                    {
                        "kind": "claim",
                        "comparison": claim["id"],
                        "basis": basis,
                        "sram_scale": s,
                        "value": at[s],
                        "paper_value": float(claim["paper_value"]),
                        "conclusion": conclusion,
                        "flips": conclusion != base,
                        "status": "ok",
                    }
                )
    try:
        layers = _read(results, "energy/network_layers.csv")
    except MissingInput as e:
        rows.append({"kind": "layer", "comparison": "all", "status": "missing", "reason": str(e)})
        layers = None
    if layers is not None:
        for basis in bases:
            keys = comparison_keys(layers)
            base = layer_winners(with_sram_scale(layers, 1.0), basis).groupby(keys).head(1)
            base = {tuple(getattr(r, k) for k in keys): r.encoding for r in base.itertuples()}
            for s in scales:
                ranked = layer_winners(with_sram_scale(layers, s), basis)
                for key, g in ranked.groupby(keys, sort=True):
                    where = dict(zip(keys, key, strict=True))
                    protocol = f", {where['protocol']} protocol" if "protocol" in where else ""
                    if str(where.get("freeze_structure", False)).lower() in ("true", "1"):
                        protocol += ", frozen structure"
                    winner = g.iloc[0]
                    second = g.iloc[1] if len(g) > 1 else None
                    rows.append(
                        {
                            "kind": "layer",
                            "comparison": f"{where['layer']} layer, {int(where['weight_bits'])}-bit{protocol}",
                            "basis": basis,
                            "sram_scale": s,
                            "value": float(winner.energy_j),
                            "conclusion": winner.encoding,
                            "runner_up": second.encoding if second is not None else "",
                            "margin": float(second.energy_j / winner.energy_j - 1) if second is not None else math.nan,
                            "flips": winner.encoding != base[key],
                            "status": "ok",
                        }
                    )
    return pd.DataFrame(rows)


def flip_summary(sens: pd.DataFrame) -> pd.DataFrame:
    """Per comparison and basis: its conclusion at scale 1 and the scales where it flips."""
    ok = sens[sens.status == "ok"] if "status" in sens else sens
    out = []
    for (kind, comparison, basis), g in ok.groupby(["kind", "comparison", "basis"], sort=False):
        at1 = g[g.sram_scale == 1.0]
        flipped = g[g.flips.astype(bool)]
        out.append(
            {
                "kind": kind,
                "comparison": comparison,
                "basis": basis,
                "at_1x": at1.conclusion.iloc[0] if len(at1) else "",
                "flips_at": ", ".join(f"{s:g}x" for s in flipped.sram_scale) or "none",
                "flipped_to": "; ".join(sorted(set(flipped.conclusion))),
                # How close a layer comparison comes to flipping: the runner-up's smallest excess
                # energy over the winner's across the sweep (0.3 = 30 % dearer).
                "runner_up_excess_min": float(g.margin.min()) if "margin" in g and g.margin.notna().any() else math.nan,
            }
        )
    return pd.DataFrame(out)
