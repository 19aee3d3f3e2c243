"""What the Snakefile needs at parse time."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from pathlib import Path

from .atomic_files import atomic_write_text
from .config import designs

# Which configuration keys each stage reads: a rule depends on its slice's file, which is rewritten
# only when that slice changes, so editing snn.epochs reruns no hardware stage and vice versa.
HARDWARE_KEYS = ("pdk", "clock_mhz", "clock_gating", "seed", "memory", "encodings", "characterization", "verification")
# The fitted energy model's options: read by the energy table alone, so that a change of the model
# refits it without rerunning a verification or characterization (dotted: key.subkey).
ENERGY_MODEL_KEYS = ("characterization.bank_term", "characterization.size_term", "characterization.width_term")
CONFIG_SLICES = {
    "hardware": HARDWARE_KEYS,
    # Design variants (ungated references, memory variants) read the hardware slice and the variants.
    "variants": (*HARDWARE_KEYS, "memory_variants"),
    "snn": ("snn",),
    # A trained layer's workload: the training (snn) and which layers are characterized.
    "workloads": ("snn", "characterization"),
    # The energy table: the hardware slice with the model's options.
    "energy_model": HARDWARE_KEYS,
    "all": None,
}
# Keys a slice leaves out of the keys above.
SLICE_EXCLUDES = {name: ENERGY_MODEL_KEYS for name in ("hardware", "variants", "workloads")}


def _project(cfg: Mapping, keys: tuple[str, ...] | None, excluded: tuple[str, ...] = ()) -> dict:
    """The part of ``cfg`` a slice depends on: its top-level ``keys`` (all of it for None) without
    the ``excluded`` dotted keys."""
    out = json.loads(json.dumps({k: cfg.get(k) for k in keys} if keys else dict(cfg)))
    for dotted in excluded:
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return out


def sync_resolved_config(
    cfg: Mapping, path: str, keys: tuple[str, ...] | None = None, excluded: tuple[str, ...] = ()
) -> str:
    """Write the validated configuration for the rules' CLIs (always the whole of it, so every CLI
    validates a complete configuration), touching the file only when the keys of its slice change
    (``keys`` at top level, less the ``excluded`` dotted keys)."""
    p = Path(path)
    text = json.dumps(cfg, indent=2, sort_keys=True) + "\n"
    if p.exists():
        try:
            old = json.loads(p.read_text())
        except json.JSONDecodeError:
            old = None
        if old is not None and _project(old, keys, excluded) == _project(json.loads(text), keys, excluded):
            return path
    atomic_write_text(p, text)
    return path


def sync_config_slices(cfg: Mapping, directory: str = "results/config") -> dict[str, str]:
    """One configuration file per slice (see :data:`CONFIG_SLICES`)."""
    return {
        name: sync_resolved_config(cfg, f"{directory}/{name}.json", keys, SLICE_EXCLUDES.get(name, ()))
        for name, keys in CONFIG_SLICES.items()
    }


def design_names(cfg: Mapping) -> list[str]:
    return [d.name for d in designs(cfg)]


def design_templates(wildcards) -> list[str]:
    """The RTL templates a design is rendered from (its encoding's, shared ones aside)."""
    from .encodings import get_encoding

    return [f"templates/{t}" for t in get_encoding(wildcards.design.split("-")[0]).templates]


def trained_workload_input(cfg: Mapping):
    """The workload input of a design rule: a trained layer's weights and events file
    (``results/workloads/<design>.npz``), nothing for the other designs."""
    from .config import network_layer_designs

    trained = {d.name for d in network_layer_designs(cfg)}

    def pick(wildcards) -> list[str]:
        return [f"results/workloads/{wildcards.design}.npz"] if wildcards.design in trained else []

    return pick


def workload_option(wildcards, input) -> str:  # noqa: A002 (Snakemake passes it by this name)
    """The CLI option that passes a trained layer's workload (nothing for the other designs)."""
    return f"--workload {input.workload}" if input.workload else ""


def trained_run_files(cfg: Mapping):
    """The inputs of a trained layer's workload: the metrics and weights of every seed of its
    training set at its width (the best of them is replayed)."""
    from .config import design_by_name

    def pick(wildcards) -> list[str]:
        d = design_by_name(cfg, wildcards.design)
        runs = [f"results/snn/runs/{d.trained}/w{d.weight_bits}-s{seed}" for seed in cfg["snn"]["seeds"]]
        return [f"{r}/{f}" for r in runs for f in ("metrics.json", "best_levels.npz")]

    return pick


def variant_option(wildcards) -> str:
    """The CLI option that builds a design variant (nothing for the configured designs)."""
    return f"--variant {wildcards.variant.lstrip('-')}" if wildcards.variant else ""


def slice_by_variant(configured: str, variants: str):
    """The configuration input of a design rule: a configured design reads the hardware slice, a
    variant the slice that also holds memory_variants, so that editing memory_variants reruns only
    the variants."""

    def pick(wildcards) -> str:
        return variants if wildcards.variant else configured

    return pick


def price_model_files(model: Mapping) -> list[str]:
    """The files one ``price.models`` entry reads: the NIR graph, and its spikes or rates file."""
    return [model["path"], *(model[k] for k in ("spikes", "rates") if model.get(k))]


def price_model_options(model: Mapping) -> str:
    """The ``spikemem price`` options of one ``price.models`` entry."""
    opts = []
    if model.get("weight_bits"):
        opts.append("--weight-bits " + " ".join(str(b) for b in model["weight_bits"]))
    for key in ("spikes", "dt", "rates", "steps"):
        if model.get(key) is not None:
            opts.append(f"--{key} {model[key]}")
    return " ".join(opts)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def success_summary(results: str | Path, started: float, now: float | None = None) -> str:
    """What a finished run says last: the wall time, where the report is, how many energy-table
    rows are flagged (their fitted model misses a direct gate-level run by more than 10 %)."""
    results = Path(results)
    lines = [f"spikemem: finished in {_duration((now or time.time()) - started)}."]
    report = results / "report" / "index.html"
    if report.is_file():
        lines.append(f"  report: {report}")
    table = results / "energy" / "energy_table.csv"
    if table.is_file():
        import pandas as pd

        frame = pd.read_csv(table)
        if "flagged" in frame:
            flagged = int(frame["flagged"].astype(bool).sum())
            lines.append(
                f"  energy table: {table}, {flagged} of {len(frame)} rows flagged "
                "(fitted model more than 10 % from a gate-level run; marked in the report)"
            )
    return "\n".join(lines)


def failure_summary(snakemake_log: str | Path | list | None) -> str:
    """What a failed run says last: each failed rule with its job's log, and how to resume."""
    # Snakemake 9 passes its log files as a list (older versions: one path).
    logs = [snakemake_log] if isinstance(snakemake_log, str | Path) else list(snakemake_log or [])
    snakemake_log = next((Path(p) for p in logs if Path(p).is_file()), None)
    text = snakemake_log.read_text(errors="replace") if snakemake_log else ""
    failed: list[str] = []
    for block in re.split(r"\n(?=Error in rule )", text)[1:]:
        rule = re.match(r"Error in rule (\S+?):", block)
        log = re.search(r"^\s+log: (\S+)", block, flags=re.M)
        entry = f"  {rule.group(1) if rule else '?'}: log {log.group(1) if log else '(none)'}"
        if entry not in failed:
            failed.append(entry)
    lines = ["spikemem: the run stopped with errors."]
    lines += failed or ["  (no failed rule found in the Snakemake log; see the messages above)"]
    if snakemake_log:
        lines.append(f"  Snakemake log: {snakemake_log}")
    lines.append("  Fix the cause, then `make resume` (unlock, rerun incomplete jobs; finished results are kept).")
    return "\n".join(lines)
