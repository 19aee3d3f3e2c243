"""Report tables about the controllers themselves: their throughput, what clock gating saves, and
the layer-level comparison of the encodings (where each stops being the cheapest, dense ratios
against Crossbar, what each transposed-access method costs in bits and energy)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from spikemem.encodings import CONV_REFERENCE, DENSE_REFERENCE, PAPER_LABELS


def _label(encoding: str) -> str:
    return PAPER_LABELS.get(encoding, encoding)


def _columns(csv: Path, names: dict[str, str]) -> pd.DataFrame:
    """The named columns of a CSV, renamed for the report."""
    return pd.read_csv(csv)[list(names)].rename(columns=names)


def throughput_table(verify_summary: Path) -> pd.DataFrame:
    """Cycles per event and per synapse of each encoding's largest design at the densest verified
    layer, measured with an always-ready sink (mean over weight widths and simulators)."""
    df = pd.read_csv(verify_summary)
    if "backpressure" in df:
        df = df[~df.backpressure.astype(str).str.lower().isin(("true", "1"))]
    df = df[df.density == df.density.max()].copy()
    df["size"] = df.design.str.split("-").str[1]
    rows = []
    for encoding, group in df.groupby("encoding", sort=False):
        # The largest layer: the one whose events stream the most synapses forward.
        largest = group.groupby("size").forward_mean_latency_cycles.mean().idxmax()
        g = group[group["size"] == largest]
        row = {"encoding": _label(encoding), "layer": largest, "density": g.density.iloc[0]}
        for op in ("forward", "backward", "update"):
            row[f"{op} cycles/event"] = g[f"{op}_mean_latency_cycles"].mean()
            if op != "update" and f"{op}_cycles_per_synapse" in g:
                row[f"{op} cycles/synapse"] = g[f"{op}_cycles_per_synapse"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def gating_summary(csv: Path) -> pd.DataFrame:
    """The clock-gating references: idle-cycle and per-event logic energy, gated against ungated."""
    return _columns(
        csv,
        {
            "design": "design",
            "operation": "operation",
            "idle_cycle_pj_ungated": "idle cycle, ungated (pJ)",
            "idle_cycle_pj_gated": "idle cycle, gated (pJ)",
            "active_cycle_pj_ungated": "active cycle, ungated (pJ)",
            "active_cycle_pj_gated": "active cycle, gated (pJ)",
            "logic_per_event_pj_ungated": "per event, ungated (pJ)",
            "logic_per_event_pj_gated": "per event, gated (pJ)",
            "per_event_ratio": "gated / ungated per event",
            "clock_gates": "clock gates",
        },
    )


def memory_variant_summary(csv: Path) -> pd.DataFrame:
    """Energy per event of each design under the main memory and each memory variant."""
    return _columns(
        csv,
        {
            "design": "design",
            "operation": "operation",
            "main_memory": "main memory",
            "variant_memory": "variant",
            "main_dynamic_pj": "main (pJ/event)",
            "variant_dynamic_pj": "variant (pJ/event)",
            "variant_over_main": "variant / main",
            "main_sram_pj": "main SRAM (pJ)",
            "variant_sram_pj": "variant SRAM (pJ)",
            "main_word_reads": "main word reads",
            "variant_word_reads": "variant word reads",
        },
    )


def memory_footprint(csv: Path) -> pd.DataFrame:
    """What each memory variant's macros cost besides their accesses, per design: macros, their
    area, their leakage and their energy per read, under the main memory and the variant."""
    df = pd.read_csv(csv)
    if "main_macros" not in df:  # written before the footprint columns existed
        return pd.DataFrame()
    df = df.drop_duplicates(["design", "variant_memory"])
    out = {"design": df.design}
    for side in ("main", "variant"):
        out[f"{side} macros"] = df[f"{side}_macros"]
        out[f"{side} area (mm²)"] = df[f"{side}_macro_area_mm2"].round(2)
        out[f"{side} leakage (µW)"] = (df[f"{side}_sram_leakage_w"] * 1e6).round(1)
        out[f"{side} read (pJ/access)"] = df[f"{side}_read_pj_per_access"].round(2)
    out["variant"] = df.variant_memory
    return pd.DataFrame(out)


# The transistor-level SRAM energies the project ships (spikemem sram-characterize).
SRAM_ENERGY_DIR = Path(__file__).resolve().parent.parent / "data" / "sram_energy"


def transistor_level_sram(data_dir: Path = SRAM_ENERGY_DIR) -> pd.DataFrame:
    """Per macro and cycle kind, the transistor-level energy per cycle (pJ) with its band beside the
    Liberty's value and their ratio (what the report's SRAM sensitivity marks); empty without data."""
    rows = []
    for path in sorted(Path(data_dir).glob("*.json")):
        r = json.loads(path.read_text())
        for kind, e in r["energy_j"].items():
            lo, hi = r["band_j"][kind]
            lib = r["liberty_j"].get(kind)
            rows.append(
                {
                    "macro": r["macro"],
                    "cycle": kind,
                    "transistor level (pJ)": e * 1e12,
                    "band low (pJ)": lo * 1e12,
                    "band high (pJ)": hi * 1e12,
                    "Liberty (pJ)": lib * 1e12 if lib is not None else None,
                    "band / Liberty": f"{lo / lib:.2f}-{hi / lib:.2f}" if lib else "",
                }
            )
    return pd.DataFrame(rows)


# The backward pass of a layer comparison: as configured (the cheaper mode under "best"), column
# walks only, row streams only (network_energy's columns).
BACKWARD_COLUMNS = {"configured": "backward_j", "column": "backward_column_j", "row": "backward_row_j"}


def layer_comparison(fc_sweeps: Path, mode: str = "configured") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 784 -> 128 layer over density (dynamic forward + backward energy of one full pass, the
    backward pass in ``mode``: see :data:`BACKWARD_COLUMNS`):

    * per density, each encoding's energy, its ratio to Crossbar's, its storage bits and the
      cheapest encoding;
    * per encoding, the density range over which it is the cheapest (where it stops being so)."""
    df = pd.read_csv(fc_sweeps)
    df = df[df.sweep == "density"]
    if df.empty or BACKWARD_COLUMNS[mode] not in df:
        return pd.DataFrame(), pd.DataFrame()
    df = df.assign(bits=df.payload_bits + df.metadata_bits, energy=df.forward_j + df[BACKWARD_COLUMNS[mode]])
    wide = df.pivot_table(index="density", columns="encoding", values="energy")
    bits = df.pivot_table(index="density", columns="encoding", values="bits")
    dense, dense_label = DENSE_REFERENCE, _label(DENSE_REFERENCE)
    out = pd.DataFrame({"density": wide.index, "weight bits": int(df.weight_bits.iloc[0])})
    flagged = set(df[df.table_flagged.astype(bool)].encoding) if "table_flagged" in df else set()
    for enc in wide.columns:
        # A warning sign where a flagged energy-table row priced the encoding (see the energy table).
        out[f"{_label(enc)} (J){' ⚠' if enc in flagged else ''}"] = wide[enc].to_numpy()
        if dense in wide and enc != dense:
            out[f"{_label(enc)} / {dense_label}"] = (wide[enc] / wide[dense]).to_numpy()
        out[f"{_label(enc)} bits"] = bits[enc].to_numpy()
    winners = wide.idxmin(axis=1)
    out["cheapest"] = [_label(w) for w in winners]
    ranges = []
    for enc in wide.columns:
        won = sorted(winners.index[winners == enc])
        ranges.append(
            {
                "encoding": _label(enc),
                "cheapest from density": won[0] if won else None,
                "cheapest up to density": won[-1] if won else None,
                "stops being cheapest above": (
                    min((d for d in wide.index if d > won[-1]), default=None) if won else None
                ),
                f"dense ratio to {dense_label}": float(wide[enc].iloc[-1] / wide[dense].iloc[-1])
                if dense in wide
                else None,
            }
        )
    return out, pd.DataFrame(ranges)


def conv_comparison(conv_sweep: Path) -> pd.DataFrame:
    """The 1x28x28 -> 32, 3x3 layer: backward + update and forward + backward dynamic energy of each
    encoding relative to PB-CSR's, per weight width, the backward pass as configured (its mode named)
    and with column walks and row streams apart."""
    df = pd.read_csv(conv_sweep)
    df = df.assign(backward_update_j=df.backward_j + df.update_j)
    rows = []
    for wb, g in df.groupby("weight_bits"):
        base = g[g.encoding == CONV_REFERENCE]
        for _, r in g.iterrows():
            row = {
                "weight bits": wb,
                "encoding": _label(r.encoding),
                "energy rows": r.table_rows,
                "backward mode": r.get("backward_mode", "column"),
                "backward + update (J)": r.backward_update_j,
                "forward + backward (J)": r.forward_backward_j,
                "backward, column walks (J)": r.get("backward_column_j", r.backward_j),
                "backward, row stream (J)": r.get("backward_row_j", float("nan")),
                "bits": r.payload_bits + r.metadata_bits,
            }
            if not base.empty:
                row[f"backward + update / {_label(CONV_REFERENCE)}"] = (
                    r.backward_update_j / base.backward_update_j.iloc[0]
                )
            if "table_flagged_ops" in r:
                row["flagged model rows (ops)"] = r.table_flagged_ops if isinstance(r.table_flagged_ops, str) else ""
            if "backward_ci95_rel" in r:
                row["sampled costs, 95 % (widest op)"] = max(
                    r[f"{op}_ci95_rel"] for op in ("forward", "backward", "update")
                )
            rows.append(row)
    return pd.DataFrame(rows)


def model_validation(table: pd.DataFrame) -> pd.DataFrame:
    """Where the energy model was checked against direct gate-level runs it was not fitted on:
    per encoding, width and operation of every group with a validation design, the fitted sizes,
    the held-out size and the much larger validation size, each with the largest relative error of
    the total dynamic energy and of the logic energy alone (the fitted part; the SRAM term is exact)."""
    if "validation_design" not in table:
        return pd.DataFrame({"status": ["no validation designs in the energy table"]})
    df = table[table.validation_design.notna()]
    if df.empty:
        return pd.DataFrame({"status": ["no validation designs configured (characterization.validation)"]})

    def shapes(names: str) -> str:
        return ", ".join(n.split("-")[1] for n in str(names).split(";"))

    return pd.DataFrame(
        {
            "encoding": df.encoding.map(_label),
            "weight bits": df.weight_bits,
            "operation": df.operation,
            "fitted on": df.fit_designs.map(shapes),
            "held out": df.heldout_design.map(lambda n: shapes(n) if isinstance(n, str) else ""),
            "held-out error, total": df.heldout_max_error,
            "held-out error, logic": df.heldout_max_error_logic,
            "validated at": df.validation_design.map(shapes),
            "validation error, total": df.validation_max_error,
            "validation error, logic": df.validation_max_error_logic,
            "flagged": df.flagged,
        }
    ).reset_index(drop=True)


def opensta_record(characterizations: list[dict]) -> pd.DataFrame:
    """Our logic power beside OpenSTA's, per characterized design: a record, not a check.

    Debian's OpenSTA (2.0.17) reads no VCD or SAIF, so its estimate propagates activity
    vectorlessly from the input ports; ours counts every net's transitions. The two answer
    different questions, so no tolerance is applied; the ratio is shown so a reader can see how far
    a vectorless estimate is from the measured activity."""
    rows = []
    for c in characterizations:
        x = c.get("cross_check", {})
        ours, sta = x.get("ours_logic_power_w"), x.get("opensta_logic_power_w")
        rows.append(
            {
                "design": c["design"]["name"],
                "ours, logic power (W)": ours,
                "OpenSTA vectorless (W)": sta,
                "OpenSTA / ours": sta / ours if ours and sta is not None else None,
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame({"status": ["no characterizations"]})
    ratio = df["OpenSTA / ours"].dropna()
    summary = {
        "design": f"all {len(df)} designs: median, min, max of OpenSTA / ours",
        "OpenSTA / ours": f"{ratio.median():.3g} ({ratio.min():.3g} to {ratio.max():.3g})" if len(ratio) else "",
    }
    return pd.DataFrame([summary])


def macro_scaling(results: Path, cfg: dict) -> pd.DataFrame:
    """The macro sweep (``characterization.macro_sweep``): per design, memory bus and operation, the
    controller's logic energy per word access and per event, and an idle cycle's logic energy,
    against the SRAM macros of the design: with the configured bus and with each memory variant of
    the same design (e.g. without bus isolation). Empty where no sweep is configured."""
    import json

    from spikemem.config import macro_sweep_designs

    variants = {f"mem_{v['name']}": v for v in cfg.get("memory_variants", [])}
    rows = []
    for design in macro_sweep_designs(cfg):
        sources = [("", cfg["memory"].get("bus_isolation", True))]
        sources += [(f"-{name}", v.get("bus_isolation", True)) for name, v in variants.items()
                    if design.name in v["designs"]]  # fmt: skip
        for suffix, isolated in sources:
            path = results / f"synth{suffix}" / design.name / "characterization.json"
            if not path.exists():
                continue
            c = json.loads(path.read_text())
            macros = int(sum(c["synthesis"]["macros"].values()))
            for run_op in sorted({r["operation"] for r in c["runs"]}):
                windows = [w for r in c["runs"] if r["operation"] == run_op for w in r["windows"]]
                logic = sum(w["internal_j"] + w["switching_j"] for w in windows)
                accesses = sum(w["word_reads"] + w["word_writes"] for w in windows)
                events = sum(w["events"] for w in windows)
                rows.append(
                    {
                        "design": design.name,
                        "variant": suffix.lstrip("-") or "configured",
                        "bus": "isolated" if isolated else "broadcast",
                        "macros": macros,
                        "operation": run_op,
                        "logic_pj_per_access": 1e12 * logic / accesses if accesses else float("nan"),
                        "logic_pj_per_event": 1e12 * logic / events if events else float("nan"),
                        "idle_cycle_pj": 1e12 * c["cycle_energy"]["idle_logic_j"],
                        "stdcell_area_um2": c["synthesis"]["stdcell_area_um2"],
                        "worst_slack_ns": c["timing"]["worst_slack_ns"],
                    }
                )
    return pd.DataFrame(rows)
