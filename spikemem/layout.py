"""The workflow's file layout, as the command line's defaults: where each stage reads and writes
when it is run by hand from the project root. The paths equal what the Snakemake rules pass
(rules/*.smk; tests/test_cli.py holds the two together), relative to the working directory as
the rules' are.

Only the CLI imports this module: the rules' code dependencies (:mod:`spikemem.code_dependencies`)
do not include it, so editing a default reruns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .paths import PROJECT_ROOT

RESULTS = Path("results")
# The Makefile's default: the PDK subset beside the checkout.
DEFAULT_PDK_ROOT = PROJECT_ROOT.parent / "shared" / "pdk"

SNN_DATA_DIR = RESULTS / "snn/data"
SNN_RUNS_DIR = RESULTS / "snn/runs"
SNN_SUMMARY = RESULTS / "snn/summary.csv"
SNN_RETENTION = RESULTS / "snn/retention.csv"
SNN_NIR_DIR = RESULTS / "snn/nir"
STORAGE_BITS = RESULTS / "golden/storage_bits.csv"
VERIFY_SUMMARY = RESULTS / "verify/summary.csv"
CELL_CACHE_DIR = RESULTS / "synth/cache"
CLOCK_GATING_TABLE = RESULTS / "synth/clock_gating.csv"
MEMORY_VARIANTS_TABLE = RESULTS / "synth/memory_variants.csv"
ENERGY_DIR = RESULTS / "energy"
ENERGY_TABLE = ENERGY_DIR / "energy_table.csv"


def _suffix(variant: str | None) -> str:
    """The directory suffix of a design variant: ``-ungated``, ``-mem_<name>``, or none."""
    return f"-{variant}" if variant else ""


def golden_json(design: str) -> Path:
    """A design's golden model."""
    return RESULTS / "golden" / design / "golden.json"


def rtl_dir(design: str, variant: str | None = None) -> Path:
    """A design's rendered RTL."""
    return RESULTS / f"rtl{_suffix(variant)}" / design


def verify_json(design: str, variant: str | None = None) -> Path:
    """A design's verification report."""
    return RESULTS / f"verify{_suffix(variant)}" / f"{design}.json"


def verify_work_dir(design: str, variant: str | None = None) -> Path:
    """The simulators' working directory of a design's verification."""
    return RESULTS / f"verify{_suffix(variant)}" / "work" / design


def characterization_json(design: str, variant: str | None = None) -> Path:
    """A design's characterization."""
    return RESULTS / f"synth{_suffix(variant)}" / design / "characterization.json"


def trained_workload(design: str) -> Path:
    """A trained layer's weights and events (``characterization.network_layers``)."""
    return RESULTS / "workloads" / f"{design}.npz"


def synth_work_dir(design: str, variant: str | None = None) -> Path:
    """The tools' working directory of a design's characterization."""
    return RESULTS / f"synth{_suffix(variant)}" / design / "work"


def metrics_json(run: str) -> Path:
    """A training run's completion record (``run`` is ``<training set>/w<bits>-s<seed>``)."""
    return SNN_RUNS_DIR / run / "metrics.json"


def design_names(cfg: Mapping) -> list[str]:
    """The configured designs, in the workflow's order."""
    from .config import designs

    return [d.name for d in designs(cfg)]


def gating_references(cfg: Mapping) -> list[str]:
    """The designs also built without clock gating."""
    return list(cfg["clock_gating"]["reference_designs"])


def memory_variant_designs(cfg: Mapping) -> list[tuple[str, str]]:
    """(variant, design) of every memory-variant design."""
    from .config import variant_designs

    return [(v, d) for v, d in variant_designs(cfg) if v.startswith("mem_")]


def training_runs(cfg: Mapping) -> list[str]:
    """Every training run of the configuration, ``<training set>/w<bits>-s<seed>``."""
    from .snn.training_sets import run_names

    return run_names(cfg)
