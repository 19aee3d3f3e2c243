"""What the Snakefile needs at parse time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .atomic_files import atomic_write_text
from .config import designs

# Which configuration keys each stage reads: a rule depends on its slice's file, which is rewritten
# only when that slice changes, so editing snn.epochs reruns no hardware stage and vice versa.
HARDWARE_KEYS = ("pdk", "clock_mhz", "clock_gating", "seed", "memory", "encodings", "characterization", "verification")
CONFIG_SLICES = {
    "hardware": HARDWARE_KEYS,
    # Design variants (ungated references, memory variants) read the hardware slice and the variants.
    "variants": (*HARDWARE_KEYS, "memory_variants"),
    "snn": ("snn",),
    "all": None,
}


def sync_resolved_config(cfg: Mapping, path: str, keys: tuple[str, ...] | None = None) -> str:
    """Write the validated configuration for the rules' CLIs (always the whole of it, so every CLI
    validates a complete configuration), touching the file only when the keys of its slice change."""
    p = Path(path)
    text = json.dumps(cfg, indent=2, sort_keys=True) + "\n"
    if p.exists():
        try:
            old = json.loads(p.read_text())
        except json.JSONDecodeError:
            old = None
        if old is not None:
            project = (lambda c: {k: c.get(k) for k in keys}) if keys else (lambda c: c)
            if project(old) == project(json.loads(text)):
                return path
    atomic_write_text(p, text)
    return path


def sync_config_slices(cfg: Mapping, directory: str = "results/config") -> dict[str, str]:
    """One configuration file per slice (see :data:`CONFIG_SLICES`)."""
    return {name: sync_resolved_config(cfg, f"{directory}/{name}.json", keys) for name, keys in CONFIG_SLICES.items()}


def design_names(cfg: Mapping) -> list[str]:
    return [d.name for d in designs(cfg)]


def design_templates(wildcards) -> list[str]:
    """The RTL templates a design is rendered from (its encoding's, shared ones aside)."""
    from .encodings import get_encoding

    return [f"templates/{t}" for t in get_encoding(wildcards.design.split("-")[0]).templates]


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
