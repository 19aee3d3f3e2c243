"""The comparison report: the paper's claims beside ours, figures, tables and provenance, built
from ``results/`` only (``python -m analysis report``)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from spikemem.atomic_files import atomic_path, atomic_write_json, atomic_write_text
from spikemem.encodings import PAPER_LABELS

FIGURES = (
    "sram_sensitivity",
    "claims_vs_shared_time",
    "layer_density",
    "energy_vs_bits_fc",
    "energy_vs_bits_conv",
    "cheapest_encoding",
    "retention_vs_bits",
    "retention_vs_energy",
    "training_paper_2bit",
    "training_paper_5bit",
    "training_adaptive_2bit",
    "training_adaptive_5bit",
    "hardware_per_encoding",
    "macro_scaling",
)


def figure_names(cfg: dict) -> list[str]:
    """The figures the report of ``cfg`` makes: every one of :data:`FIGURES`, the macro sweep's only
    where one is configured."""
    sweep = (cfg.get("characterization", {}).get("macro_sweep") or {}).get("fc_sizes")
    return [f for f in FIGURES if f != "macro_scaling" or sweep]


# Headless Chromium as this workplace runs it (no background networking: the network is closed).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_path(path, suffix=f".part{path.suffix}") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)


def claims(results: Path):
    """The paper's claims (``paper_claims.yaml``) beside ours: on the paper's basis (dynamic energy)
    and with leakage under each time model; a claim whose inputs are missing says why."""
    from .claims import claims_table

    return claims_table(results)


# The panels of the energy-versus-width figures: forward and the backward pass in each mode.
PER_BITS_PANELS = (
    ("forward", "forward pass"),
    ("backward_column", "backward, column walks"),
    ("backward_row", "backward, row stream"),
)


def macro_scaling_figure(sweep, figdir: Path, captions: dict[str, str]) -> None:
    """Logic energy per word access against the SRAM macros of the design, per operation, with the
    configured memory bus and without bus isolation (the macro sweep)."""
    if sweep.empty:
        return
    plt = _plt()
    # The operations measured at more than one size (the sweep's own; a fitted size may have more).
    ops = sorted(op for op, g in sweep.groupby("operation") if g.macros.nunique() > 1)
    fig, axes = plt.subplots(1, len(ops), figsize=(4.5 * len(ops), 4), squeeze=False)
    for ax, op in zip(axes[0], ops, strict=True):
        for bus, g in sweep[sweep.operation == op].groupby("bus"):
            g = g.sort_values("macros")
            ax.plot(g.macros, g.logic_pj_per_access, marker="o", ls="-" if bus == "isolated" else "--", label=bus)
        ax.set(xlabel="SRAM macros of the design", ylabel="logic energy per word access (pJ)", title=op)
        ax.set_xscale("log")
        ax.legend(fontsize=8)
    _save(fig, figdir / "macro_scaling.png")
    design = sweep.design.iloc[0].split("-")
    captions["macro_scaling"] = (
        f"The controller's logic energy per memory word accessed against the SRAM macros its memories span "
        f"({design[0]}, {design[-1][1:]}-bit weights, gate level): the memory bus with operand isolation, "
        "hierarchical clock gating and a one-hot read multiplexer (isolated) against every macro's pins on the "
        "shared bus (broadcast). SRAM access energy is not included."
    )


def figures(results: Path, figdir: Path) -> dict[str, str]:
    """Every figure of the report, and a caption for each."""
    import numpy as np
    import pandas as pd

    plt = _plt()
    captions = {}
    fc = pd.read_csv(results / "energy/fc_sweeps.csv")
    conv = pd.read_csv(results / "energy/conv_sweep.csv")

    def per_bits(df, title, path, key):
        # Forward, and the backward pass both ways: column walks and row streams (docs/energy.md).
        panels = [(op, name) for op, name in PER_BITS_PANELS if f"{op}_j" in df]
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4))
        for ax, (op, name) in zip(axes, panels, strict=True):
            for enc, g in df.groupby("encoding"):
                if g[f"{op}_j"].notna().any():
                    ax.plot(g.weight_bits, g[f"{op}_j"] * 1e9, marker="o", label=PAPER_LABELS.get(enc, enc))
            ax.set(xlabel="weight bits", ylabel=f"{name} energy (nJ)", title=f"{title}: {name}")
            ax.set_yscale("log")
            ax.legend(fontsize=8)
        _save(fig, figdir / f"{path}.png")
        captions[path] = key

    per_bits(
        fc[fc.sweep == "weight_bits"],
        "FC 784->128, density 0.25",
        "energy_vs_bits_fc",
        "Energy of one forward pass (every input spikes once) and one backward pass (one error per output: "
        "128 column walks, or one row stream with every column in the mask) of a 784->128 layer at density "
        "0.25, per encoding.",
    )
    per_bits(
        conv,
        "Conv 1x28x28->32, 3x3",
        "energy_vs_bits_conv",
        "The same for a 1x28x28 -> 32 channel 3x3 convolution layer: functional encodings against the "
        "index-based encodings storing the unrolled 784 x 25088 layer.",
    )

    dens = fc[fc.sweep == "density"]
    if len(dens):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for enc, g in dens.groupby("encoding"):
            g = g.sort_values("density")
            ax.plot(g.density, g.forward_backward_j * 1e9, marker="o", label=PAPER_LABELS.get(enc, enc))
        bits = int(dens.weight_bits.iloc[0])
        ax.set(xlabel="weight density", ylabel="forward + backward energy (nJ)", title=f"FC 784->128, {bits}-bit")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        _save(fig, figdir / "layer_density.png")
        captions["layer_density"] = (
            f"Dynamic energy of one forward and one backward pass of a 784->128 layer at {bits} bits over weight "
            "density, per encoding and transposed-access method (PB-CSR: binary search; PB-CSR+CSC: column index). "
            "Where the curves cross, the cheapest encoding changes (table: layer-level comparison)."
        )

        encs = sorted(dens.encoding.unique())
        densities = sorted(dens.density.unique())
        idle = np.logspace(0, 4, 25)
        best = np.zeros((len(idle), len(densities)), dtype=int)
        share = np.zeros_like(best, dtype=float)
        for j, d in enumerate(densities):
            sub = dens[dens.density == d].set_index("encoding")
            dyn = sub.forward_j + sub.backward_j + sub.update_j
            for i, k in enumerate(idle):
                total = dyn + k * sub.leakage_throughput_j
                winner = total.idxmin()
                best[i, j] = encs.index(winner)
                share[i, j] = k * sub.leakage_throughput_j[winner] / total[winner]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        cmap = plt.get_cmap("tab10", len(encs))
        im = ax.pcolormesh(
            densities, np.median(share, axis=1), best, cmap=cmap, vmin=-0.5, vmax=len(encs) - 0.5, shading="nearest"
        )
        cbar = fig.colorbar(im, ticks=range(len(encs)))
        cbar.ax.set_yticklabels([PAPER_LABELS.get(e, e) for e in encs])
        bits = int(dens.weight_bits.iloc[0])
        ax.set(
            xlabel="weight density",
            ylabel="leakage share of the winner's energy",
            title=f"Cheapest encoding, FC 784->128, {bits}-bit",
        )
        _save(fig, figdir / "cheapest_encoding.png")
        captions["cheapest_encoding"] = (
            f"Cheapest encoding of a 784->128 layer at {bits} bits over weight density and the "
            "share of leakage in its energy (raised by idle time between passes)."
        )

    net = pd.read_csv(results / "energy/network_energy.csv")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    markers = dict(zip(sorted(set(net.protocol)), "o^sv", strict=False))
    for (protocol, enc), g in net.groupby(["protocol", "encoding"]):
        sc = ax.scatter(
            g.dynamic_j * 1e6,
            g.min_van_rossum,
            label=f"{PAPER_LABELS.get(enc, enc)}, {protocol}",
            s=18,
            marker=markers[protocol],
        )
        for _, r in g.iterrows():
            ax.annotate(
                f"{int(r.weight_bits)}b",
                (r.dynamic_j * 1e6, r.min_van_rossum),
                fontsize=6,
                color=sc.get_facecolor()[0],
            )
    ax.set(
        xlabel="dynamic energy per training iteration, forward + backward + update (uJ)",
        ylabel="minimum van Rossum distance",
        xscale="log",
        title="Retention against energy, 700-400-250 network",
    )
    ax.legend(fontsize=8)
    _save(fig, figdir / "retention_vs_energy.png")
    captions["retention_vs_energy"] = (
        "Every trained network (protocol x sweep point x weight bits x seed) under every FC encoding, on the "
        "dynamic basis (leakage beside it in the tables). The two protocols score with their own van Rossum "
        "kernels (decay 0.875 for the paper protocol, 0.75 for the adaptive one): compare within a protocol."
    )
    from .snn_figures import retention_figure

    retention_figure(results / "snn/retention.csv", figdir / "retention_vs_bits.png")
    captions["retention_vs_bits"] = (
        "Retention against weight bits per training protocol: the best run over the sweep and trials (how the "
        "paper formed its numbers, stars) and mean +- sd over trials per sweep point; below, the best run's "
        "layer densities at its best epoch and on its final weights (what the authors measured)."
    )
    sensitivity_figures(results, figdir, captions)

    from .snn_figures import run_figure

    snn = pd.read_csv(results / "snn/summary.csv")
    for (protocol, wb), sub in snn[snn.weight_bits.isin((2, 5))].groupby(["protocol", "weight_bits"]):
        best = sub.loc[sub.min_van_rossum.idxmin()]
        run_dir = results / f"snn/runs/{best.training_set}/w{wb}-s{int(best.seed)}"
        key = f"training_{protocol}_{wb}bit"
        run_figure(run_dir, results / "snn/data/target.npy", figdir / f"{key}.png")
        captions[key] = (
            f"Best {wb}-bit run of the {protocol} protocol ({best.training_set}, seed {int(best.seed)}): training "
            "curve, output raster at its best epoch, target."
        )

    chars = [json.loads(p.read_text()) for p in sorted(results.glob("synth/*/characterization.json"))]
    rows = []
    for c in chars:
        d = c["design"]
        rows.append(
            {
                "design": d["name"],
                "encoding": d["encoding"],
                "layer": d["layer"],
                "weight_bits": d["weight_bits"],
                "stdcell_area_um2": c["synthesis"]["stdcell_area_um2"],
                "macros": sum(c["synthesis"]["macros"].values()),
                "worst_slack_ns": c["timing"]["worst_slack_ns"],
                "cycles_per_event": {r["operation"]: r["cycles"] / max(1, r["events"]) for r in c["runs"]},
            }
        )
    hw = pd.DataFrame(rows)
    atomic_write_text(figdir.parent / "hardware.csv", hw.drop(columns="cycles_per_event").to_csv(index=False))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    largest = hw.sort_values("design").groupby("encoding").tail(1) if len(hw) else hw
    for ax, col, label in zip(
        axes,
        ("stdcell_area_um2", "worst_slack_ns", "macros"),
        ("controller area (um^2)", "worst slack at the clock (ns)", "SRAM macros"),
        strict=True,
    ):
        g = hw.groupby("encoding")[col].mean() if len(hw) else []
        if len(hw):
            ax.bar([PAPER_LABELS.get(e, e) for e in g.index], g.values)
        ax.set(title=label)
        ax.tick_params(axis="x", rotation=30)
    del largest
    _save(fig, figdir / "hardware_per_encoding.png")
    captions["hardware_per_encoding"] = (
        "Per encoding, mean over its characterized designs: standard-cell area, timing slack, macros."
    )
    return captions


def _transistor_bands(results: Path) -> list[tuple[str, tuple[float, float], str]]:
    """The configured macro's transistor-level read and write bands as scales of its Liberty value
    (data/sram_energy, where characterized): what the sensitivity figure shades."""
    from .hardware_tables import transistor_level_sram

    macro = json.loads((results / "config/all.json").read_text())["memory"]["sram_macro"]
    table = transistor_level_sram()
    if table.empty:
        return []
    colors = {"read": "tab:green", "write": "tab:red"}
    rows = table[table.macro == macro].set_index("cycle")
    return [
        (kind, (rows.at[kind, "band low (pJ)"] / lib, rows.at[kind, "band high (pJ)"] / lib), color)
        for kind, color in colors.items()
        if kind in rows.index and (lib := rows.at[kind, "Liberty (pJ)"])
    ]


def sensitivity_figures(results: Path, figdir: Path, captions: dict[str, str]) -> None:
    """The SRAM-energy sensitivity (``sram_sensitivity.csv`` beside the figures' folder, and its
    figure) and the claims over the shared-time model's common time."""
    import numpy as np
    import pandas as pd

    from .claims import (
        SRAM_SCALES,
        MissingInput,
        evaluate,
        flip_summary,
        load_paper_claims,
        sram_sensitivity,
    )

    plt = _plt()
    sens = sram_sensitivity(results)
    out_csv = figdir.parent / "sram_sensitivity.csv"
    atomic_write_text(out_csv, sens.to_csv(index=False, float_format="%.6g"))
    atomic_write_json(
        out_csv.with_suffix(".provenance.json"),
        {
            "made_by": "python -m analysis report (analysis.claims.sram_sensitivity)",
            "inputs": ["energy/network_energy.csv", "energy/network_layers.csv", "energy/conv_sweep.csv"],
            "claims": "analysis/paper_claims.yaml",
            "method": "the SRAM part of every priced energy (exact access counts x the macro Liberty's energy per "
            "access) multiplied by each scale, logic and leakage unchanged; winners re-ranked per scale",
            "scales": list(SRAM_SCALES),
        },
    )
    energy_claims = [c for c in load_paper_claims() if c["form"] != "retention"]
    ok = sens[sens.status == "ok"] if "status" in sens else sens
    transistor_bands = _transistor_bands(results)

    fig, axes = plt.subplots(
        1, len(energy_claims) + 1, figsize=(5.5 * (len(energy_claims) + 1), 4.5), layout="constrained"
    )
    for ax, claim in zip(axes, energy_claims, strict=False):
        sub = ok[(ok.kind == "claim") & (ok.comparison == claim["id"])]
        for basis, g in sub.groupby("basis", sort=False):
            ax.plot(g.sram_scale, g.value, marker="o", label=basis)
        ax.axhline(claim["paper_value"], color="k", ls="--", lw=1, label="paper")
        for kind, (lo, hi), color in transistor_bands:
            ax.axvspan(lo, hi, color=color, alpha=0.15, label=f"transistor level, {kind}")
        ax.set(xscale="log", xlabel="SRAM energy per access / Liberty value", ylabel=claim["unit"], title=claim["id"])
        ax.minorticks_off()  # log-axis minor labels would overprint the swept scales
        ax.set_xticks(SRAM_SCALES, [f"{v:g}" for v in SRAM_SCALES])
        if sub.empty:
            ax.text(0.5, 0.5, "inputs missing", transform=ax.transAxes, ha="center")
        ax.legend(fontsize=8)
    lay = ok[(ok.kind == "layer") & (ok.basis == "dynamic")]
    ax = axes[-1]
    if len(lay):
        comps = list(dict.fromkeys(lay.comparison))
        encs = sorted(set(lay.conclusion))
        grid = np.array(
            [[encs.index(lay[(lay.comparison == c) & (lay.sram_scale == s)].conclusion.iloc[0]) for s in SRAM_SCALES]
             for c in comps]
        )  # fmt: skip
        cmap = plt.get_cmap("tab10", len(encs))
        ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(encs) - 0.5, aspect="auto")
        for i in range(len(comps)):
            for j in range(len(SRAM_SCALES)):
                ax.text(j, i, PAPER_LABELS.get(encs[grid[i, j]], encs[grid[i, j]]), ha="center", va="center",
                        fontsize=7)  # fmt: skip
        ax.set_xticks(range(len(SRAM_SCALES)), [f"{v:g}x" for v in SRAM_SCALES])
        ax.set_yticks(range(len(comps)), comps)
        ax.set(title="cheapest per training iteration (dynamic)", xlabel="SRAM energy scale")
    _save(fig, figdir / "sram_sensitivity.png")
    flips = flip_summary(sens)
    n_flips = int((flips.flips_at != "none").sum()) if len(flips) else 0
    captions["sram_sensitivity"] = (
        "The per-access SRAM energy swept from 0.25x to 8x the OpenRAM Liberty's (uncalibrated) value. Left: each "
        "energy claim on the paper's basis (dynamic) and with throughput and real-time leakage, the paper's value "
        "dashed; shaded, where the macro is characterized at transistor level (data/sram_energy), its read and "
        "write energy bands as scales of the Liberty value. Right: the cheapest encoding per training iteration of "
        "each layer of the trained network, per "
        f"weight width (dynamic basis). {n_flips} of {len(flips)} comparisons x bases change their conclusion "
        "somewhere in the sweep (table below, sram_sensitivity.csv)."
    )

    times = np.logspace(-7, 1, 33)
    fig, axes = plt.subplots(1, len(energy_claims), figsize=(5.5 * len(energy_claims), 4.2), squeeze=False)
    for ax, claim in zip(axes[0], energy_claims, strict=True):
        try:
            frames = {claim["table"]: pd.read_csv(results / claim["table"])}
            vals = [evaluate(claim, results, "shared_time", shared_time_s=t, frames=frames)[0] for t in times]
            dyn = evaluate(claim, results, "dynamic", frames=frames)[0]
            real = evaluate(claim, results, "real_time", frames=frames)[0]
        except (MissingInput, KeyError, FileNotFoundError) as e:
            ax.text(0.5, 0.5, f"missing: {e}", transform=ax.transAxes, ha="center", wrap=True, fontsize=8)
            ax.set(title=claim["id"])
            continue
        ax.plot(times, vals, label="dynamic + leakage over T (shared time)")
        ax.axhline(dyn, color="C1", ls=":", label="dynamic only (paper's basis)")
        ax.axhline(real, color="C2", ls="-.", label="dynamic + real-time leakage")
        ax.axhline(claim["paper_value"], color="k", ls="--", lw=1, label="paper")
        ax.set(xscale="log", xlabel="common time T per sample (s)", ylabel=claim["unit"], title=claim["id"])
        ax.legend(fontsize=7)
    _save(fig, figdir / "claims_vs_shared_time.png")
    captions["claims_vs_shared_time"] = (
        "The energy claims when every encoding leaks for one common time T per training iteration (or layer pass): "
        "leakage then grows with each encoding's macro count and controller leakage. SRAM energy at the Liberty's "
        "value."
    )


# The network table: dynamic energy per operation (the headline), leakage beside it per time model.
NETWORK_COLUMNS = [
    "forward_j",
    "backward_j",
    "backward_column_j",
    "backward_row_j",
    "backward_training_j",
    "update_j",
    "update_synapse_j",
    "update_row_j",
    "reencode_j",
    "dynamic_j",
    "leakage_throughput_j",
    "leakage_real_time_j",
    "leakage_w",
    "inference_forward_j",
    "inference_leakage_real_time_j",
    "min_van_rossum",
]
# Beside them: how certain each number is (widest sampling interval, flagged model rows).
NETWORK_QUALITY = ["forward_ci95_rel", "backward_ci95_rel", "update_ci95_rel"]


def network_table(path: Path):
    """Mean over seeds per width and encoding, with the widest sampling interval and whether any
    energy-table row that priced it is flagged (which operations)."""
    import pandas as pd

    from spikemem.network_energy import joined_union

    df = pd.read_csv(path)
    keys = [k for k in ("protocol", "freeze_structure", "weight_bits", "encoding") if k in df]
    out = df.groupby(keys)[[c for c in NETWORK_COLUMNS if c in df]].mean()
    quality = [c for c in NETWORK_QUALITY if c in df]
    if quality:
        out = out.join(df.groupby(keys)[quality].max())
    if "table_flagged_ops" in df:
        ops = df.groupby(keys).table_flagged_ops.agg(joined_union)
        out = out.join(ops.rename("flagged model rows (ops)"))
    if "beyond_validated" in df:
        beyond = df.groupby(keys).beyond_validated.agg(lambda v: bool(v.astype(str).str.lower().eq("true").any()))
        out = out.join(beyond.rename("beyond every validated size"))
    return out.reset_index()


def retention_table(path: Path):
    """Retention and densities per protocol, sweep point and width: mean +- sd over trials, and the
    best run over the protocol's sweep (how the paper formed its numbers)."""
    import pandas as pd

    df = pd.read_csv(path)
    cols = [
        "protocol",
        "training_set",
        "freeze_structure",
        "weight_bits",
        "trials",
        "min_van_rossum_mean",
        "min_van_rossum_sd",
        "hidden_density_mean",
        "output_density_mean",
        "hidden_final_density_mean",
        "output_final_density_mean",
        "best_training_set",
        "best_seed",
        "best_min_van_rossum",
        "best_hidden_final_density",
        "best_output_final_density",
    ]
    return df[[c for c in cols if c in df]]


def provenance_summary(table, characterizations: list[dict]) -> dict:
    """What is measured directly at gate level and what is a fitted-model extrapolation."""
    from spikemem.network_energy import design_shapes

    fitted = design_shapes(table.fit_designs)
    validated = design_shapes(table.validation_design) if "validation_design" in table else []
    return {
        "designs": len(characterizations),
        "fitted_sizes": ", ".join(fitted),
        "validated_sizes": ", ".join(validated) or "none",
        "flow_levels": ", ".join(sorted({c["flow_level"] for c in characterizations})) or "none",
    }


def backward_mode_table(claim_table):
    """The energy claims with a backward pass, formed with each backward mode (the configured one,
    column walks, row streams) on each scope (the paper's: every layer's backward; training's: none
    through the input layer), dynamic energy."""
    from .claims import BACKWARD_VARIANTS, variant_column

    cols = {variant_column(m, s): f"{m}, {s} scope" for m, s in BACKWARD_VARIANTS}
    present = [c for c in cols if c in claim_table]
    if not present:
        return claim_table.iloc[0:0][["id"]]
    sub = claim_table[claim_table[present].notna().any(axis=1)]
    return sub[["id", "paper_value", *present]].rename(columns={"id": "claim", "paper_value": "paper", **cols})


def direct_claim_table(claim_table):
    """The ratio claims formed on the trained layers measured directly at gate level, beside the
    model's values for the same networks and the network table's value (None where there are none)."""
    cols = {
        "paper_value": "paper",
        "our_value": "network table (model, mean over runs)",
        "direct_value": "direct, paper scope",
        "direct_value_training": "direct, training scope",
        "direct_model_same_events": "model, same events",
        "direct_model_uniform": "model, uniform events",
        "direct_networks": "networks",
    }
    if "direct_value" not in claim_table or claim_table.direct_value.isna().all():
        return None
    sub = claim_table[claim_table.direct_value.notna()]
    return sub[["id", *cols]].rename(columns={"id": "claim", **cols})


def direct_layer_table(path: Path):
    """The trained layers' energy per event, direct and modelled, per operation (None without any)."""
    import pandas as pd

    if not path.exists():
        return None
    df = pd.read_csv(path)
    cols = [
        "design",
        "operation",
        "density",
        "macros",
        "events_per_iteration",
        "direct_pj_per_event",
        "model_same_events_pj_per_event",
        "model_uniform_pj_per_event",
        "model_error",
        "model_error_logic",
        "uniform_vs_direct",
        "uniform_vs_same_events",
        "direct_cycles_per_event",
    ]
    return df[[c for c in cols if c in df]] if len(df) else None


def claim_rows(claim_table) -> list[dict]:
    """Claims for the template, with the shared-time model's range over the swept common times."""
    rows = claim_table.to_dict(orient="records")
    for r in rows:
        shared = [v for k, v in r.items() if k.startswith("ours_shared_time_")]
        r["shared_min"], r["shared_max"] = (min(shared), max(shared)) if shared else (float("nan"), float("nan"))
    return rows


def sensitivity_table(path: Path):
    """The sensitivity CSV pivoted for reading: one line per comparison and basis, one column per
    SRAM scale (the claim's value, or the cheapest encoding; a star where it differs from 1x)."""
    import pandas as pd

    sens = pd.read_csv(path)
    ok = sens[sens.status == "ok"].copy()
    if ok.empty:
        return pd.DataFrame({"status": ["no comparison had its inputs"]})

    def cell(r) -> str:
        text = PAPER_LABELS.get(r.conclusion, r.conclusion) if r.kind == "layer" else f"{r.value:.4g}"
        return text + (" *" if r.flips else "")

    ok["cell"] = ok.apply(cell, axis=1)
    wide = ok.pivot_table(
        index=["kind", "comparison", "basis"], columns="sram_scale", values="cell", aggfunc="first", sort=False
    )
    wide.columns = [f"{c:g}x" for c in wide.columns]
    return wide.reset_index()


def flip_table(path: Path):
    """Per comparison and basis: the conclusion at the Liberty's SRAM energy and where it flips."""
    import pandas as pd

    from .claims import flip_summary

    return flip_summary(pd.read_csv(path))


def build(results: Path, out_dir: Path) -> None:
    import jinja2
    import pandas as pd

    from spikemem.paths import TEMPLATE_DIR
    from spikemem.provenance import git_revision, package_versions

    from .claims import SHARED_TIMES_S
    from .hardware_tables import (
        BACKWARD_COLUMNS,
        conv_comparison,
        gating_summary,
        layer_comparison,
        macro_scaling,
        memory_footprint,
        memory_variant_summary,
        model_validation,
        opensta_record,
        throughput_table,
        transistor_level_sram,
    )

    figdir = out_dir / "figures"
    captions = figures(results, figdir)
    claim_table = claims(results)
    atomic_write_text(out_dir / "claims.csv", claim_table.to_csv(index=False))
    for name in (
        "energy/energy_table.csv",
        "energy/network_energy.csv",
        "energy/network_layers.csv",
        "energy/fc_sweeps.csv",
        "energy/conv_sweep.csv",
        "energy/network_direct.csv",
        "energy/energy_table.validation.csv",
        "snn/summary.csv",
        "snn/retention.csv",
        "verify/summary.csv",
        "golden/storage_bits.csv",
        "synth/clock_gating.csv",
        "synth/memory_variants.csv",
    ):
        src = results / name
        if src.exists():
            shutil.copyfile(src, out_dir / Path(name).name)
    table = pd.read_csv(results / "energy/energy_table.csv")
    real_time_s = float(pd.read_csv(results / "energy/network_energy.csv").real_time_s.iloc[0])
    tools = json.loads((results / "provenance/tools.json").read_text())
    pdk = json.loads((results / "provenance/pdk.json").read_text())
    config = json.loads((results / "config/all.json").read_text())
    manifest = {
        "git": git_revision(),
        "packages": package_versions(),
        "tools": tools["tools"],
        "flow_level": sorted(set(table.flow_level)),
        "pdk": pdk,
        "config": config,
        "seeds": {"hardware": config["seed"], "snn": config["snn"]["seeds"], "snn_data": config["snn"]["data_seed"]},
        "figures": {k: f"figures/{k}.png" for k in captions},
    }
    atomic_write_json(out_dir / "manifest.json", manifest)
    images = {k: base64.b64encode((figdir / f"{k}.png").read_bytes()).decode() for k in captions}
    fmt = {"float_format": lambda v: f"{v:.4g}", "index": False, "border": 0, "classes": "data"}
    energy_cols = [
        "layer",
        "encoding",
        "weight_bits",
        "operation",
        "e_event_j",
        "e_synapse_j",
        "e_logic_read_word_j",
        "e_logic_write_word_j",
        "e_lookup_j",
        "e_sram_read_word_j",
        "e_sram_write_word_j",
        "sram_share",
        "heldout_max_error",
        "heldout_max_error_logic",
        "validation_max_error",
        "validation_max_error_logic",
        "flagged",
        "flow_level",
    ]
    characterizations = [json.loads(p.read_text()) for p in sorted(results.glob("synth/*/characterization.json"))]
    layers, crossovers = layer_comparison(results / "energy/fc_sweeps.csv")
    sweep = macro_scaling(results, config)
    macro_scaling_figure(sweep, figdir, captions)
    if "macro_scaling" in captions:
        images["macro_scaling"] = base64.b64encode((figdir / "macro_scaling.png").read_bytes()).decode()
    # The crossovers and dense ratios with each backward mode (row streams, column walks, configured).
    by_mode = [
        c.assign(**{"backward mode": mode})
        for mode in BACKWARD_COLUMNS
        for c in [layer_comparison(results / "energy/fc_sweeps.csv", mode)[1]]
        if not c.empty
    ]
    gating_csv = results / "synth/clock_gating.csv"
    variants_csv = results / "synth/memory_variants.csv"
    direct_claims = direct_claim_table(claim_table)
    direct_layers = direct_layer_table(results / "energy/network_direct.csv")
    transistor_sram = transistor_level_sram()
    validation_csv = results / "energy/energy_table.validation.csv"
    validation_by_design = pd.read_csv(validation_csv) if validation_csv.exists() else None
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)
    html = env.get_template("report/index.html.j2").render(
        claims=claim_rows(claim_table),
        figures=[(k, images[k], captions[k]) for k in FIGURES if k in images],
        energy_table=table[[c for c in energy_cols if c in table.columns]].to_html(**fmt),
        networks=network_table(results / "energy/network_energy.csv").to_html(**fmt, na_rep=""),
        retention=retention_table(results / "snn/retention.csv").to_html(**fmt, na_rep=""),
        validation=model_validation(table).to_html(**fmt, na_rep=""),
        validation_designs=validation_by_design.to_html(**fmt, na_rep="") if validation_by_design is not None else None,
        direct_claims=direct_claims.to_html(**fmt, na_rep="") if direct_claims is not None else None,
        direct_layers=direct_layers.to_html(**fmt, na_rep="") if direct_layers is not None else None,
        opensta=opensta_record(characterizations).to_html(**fmt, na_rep=""),
        provenance=provenance_summary(table, characterizations),
        sensitivity=sensitivity_table(out_dir / "sram_sensitivity.csv").to_html(**fmt),
        flips=flip_table(out_dir / "sram_sensitivity.csv").to_html(**fmt, na_rep=""),
        real_time_s=real_time_s,
        shared_times=SHARED_TIMES_S,
        manifest=manifest,
        flagged=int(table.flagged.sum()),
        heldout={
            k: (f"{table[c].max():.1%}" if c in table and table[c].notna().any() else "none")
            for k, c in (
                ("total", "heldout_max_error"),
                ("logic", "heldout_max_error_logic"),
                ("validation_total", "validation_max_error"),
                ("validation_logic", "validation_max_error_logic"),
            )
        },
        rows=len(table),
        throughput=throughput_table(results / "verify/summary.csv").to_html(**fmt),
        gating=gating_summary(gating_csv).to_html(**fmt) if gating_csv.exists() else None,
        memory_variants=memory_variant_summary(variants_csv).to_html(**fmt) if variants_csv.exists() else None,
        memory_footprint=memory_footprint(variants_csv).to_html(**fmt) if variants_csv.exists() else None,
        transistor_sram=transistor_sram.to_html(**fmt) if len(transistor_sram) else None,
        layers=layers.to_html(**fmt, na_rep=""),
        crossovers=crossovers.to_html(**fmt, na_rep=""),
        crossovers_by_mode=pd.concat(by_mode).to_html(**fmt, na_rep="") if by_mode else None,
        macro_sweep=sweep.to_html(**fmt, na_rep="") if len(sweep) else None,
        backward_modes=backward_mode_table(claim_table).to_html(**fmt, na_rep=""),
        conv=conv_comparison(results / "energy/conv_sweep.csv").to_html(**fmt, na_rep=""),
    )
    atomic_write_text(out_dir / "index.html", html)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m analysis report")
    p.add_argument("--results", default="results")
    p.add_argument("--out-dir", default="results/report")
    args = p.parse_args(argv)
    build(Path(args.results), Path(args.out_dir))
    screenshot(Path(args.out_dir))
    return 0


def screenshot(out_dir: Path) -> None:
    """A picture of the report's first screen, where Debian's chromium is installed."""
    import subprocess
    import tempfile

    if not shutil.which("chromium"):
        return
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                "chromium",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--window-size=1280,1400",
                f"--screenshot={out_dir / 'screenshot.png'}",
                (out_dir / "index.html").resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
        )
