# spikemem: from templated RTL to the energy comparison report.
# Rules are thin: each calls one `spikemem` subcommand. See README.md for the stages.

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, workflow.basedir)
# Jobs run `python -m spikemem`: the interpreter running Snakemake (its virtual environment) comes
# first on PATH, unless --use-conda activates envs/spikemem.yaml on top of it.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

from snakemake.utils import min_version, validate

from spikemem.code_dependencies import rule_code
from spikemem.snn.training_sets import run_names, training_sets
from spikemem.config import network_layer_designs, price_models, validate_config, variant_designs
from analysis.report import figure_names
from spikemem.workflow import (
    design_names,
    design_templates,
    failure_summary,
    price_model_files,
    price_model_options,
    slice_by_variant,
    success_summary,
    sync_config_slices,
    trained_run_files,
    trained_workload_input,
    variant_option,
    workload_option,
)

min_version("9.0")


envvars:
    "PATH",


configfile: "config/config.yaml"


# Our validator first: its messages name the offending key; then Snakemake's own, for the record.
CFG = validate_config(config)
REPORT_FIGURES = figure_names(CFG)
validate(config, "config/schema.yaml")
CONFIG_FILES = sync_config_slices(CFG)
RESOLVED = CONFIG_FILES["hardware"]  # the hardware stages' slice
VARIANTS_CONFIG = CONFIG_FILES["variants"]  # the design variants' slice (hardware + memory_variants)
variant_config = slice_by_variant(RESOLVED, VARIANTS_CONFIG)
SNN_CONFIG = CONFIG_FILES["snn"]
WORKLOADS_CONFIG = CONFIG_FILES["workloads"]
ENERGY_MODEL_CONFIG = CONFIG_FILES["energy_model"]  # the energy table's: hardware + the model's options
ALL_CONFIG = CONFIG_FILES["all"]
DESIGNS = design_names(CFG)
GATING_REFERENCES = CFG["clock_gating"]["reference_designs"]
# (variant, design) of every memory_variants design, built beside the configured one.
MEMORY_VARIANTS = [(v, d) for v, d in variant_designs(CFG) if v.startswith("mem_")]
# A trained layer's design reads its weights and events (characterization.network_layers).
TRAINED_WORKLOAD = trained_workload_input(CFG)
TRAINED_DESIGNS = [d.name for d in network_layer_designs(CFG)]

SPIKEMEM = "python -m spikemem"
# The long jobs' progress lines reach Snakemake's terminal as well as their logs (spikemem.progress):
# descriptor 3 is Snakemake's stderr, opened before the command's output goes to its log.
SPIKEMEM_WITH_PROGRESS = "SPIKEMEM_PROGRESS_FD=3 python -m spikemem"
PROGRESS_TO_TERMINAL = "3>&2"
# Every rule logs its command's output to its log file; the workflow profile (profiles/default)
# turns on Snakemake's --show-failed-logs, so a failed job's log is printed with its error.
# Every rule's code= input is its stage's project modules (spikemem/code_dependencies.py).
ENV = "../envs/spikemem.yaml"  # relative to rules/


# On a cluster these run beside Snakemake instead of being submitted: each takes seconds, less
# than a scheduler round trip. Tool provenance (doctor) stays on the nodes that run the tools.
localrules:
    all,
    hardware,
    network,
    storage_bits,
    verify_summary,
    snn_summary,
    snn_data_figures,
    snn_run_figure,
    energy_table,
    trained_workload,
    direct_energy,
    clock_gating_table,
    memory_variants_table,
    report,
    price,
    price_all,
    snn_export,
    snn_export_all,


WORKFLOW_STARTED = time.time()


# The last words of a run (README): where the report is, or which job failed and how to resume.
onsuccess:
    print(success_summary("results", WORKFLOW_STARTED))


onerror:
    print(failure_summary(log))


include: "rules/provenance.smk"
include: "rules/golden.smk"
include: "rules/rtl.smk"
include: "rules/synth.smk"
include: "rules/snn.smk"
include: "rules/report.smk"
include: "rules/price.smk"


rule all:
    input:
        "results/provenance/tools.json",
        "results/provenance/pdk.json",
        "results/golden/storage_bits.csv",
        "results/verify/summary.csv",
        "results/energy/energy_table.csv",
        "results/report/index.html",
        *(["results/synth/clock_gating.csv"] if GATING_REFERENCES else []),
        *(["results/synth/memory_variants.csv"] if MEMORY_VARIANTS else []),
        "results/snn/summary.csv",
        "results/snn/data/inputs.png",
        expand("results/snn/runs/{run}/training.png", run=SNN_RUNS),


# Parts of `all` (README, "Run only the part you care about").
rule hardware:
    input:
        "results/golden/storage_bits.csv",
        "results/verify/summary.csv",
        "results/energy/energy_table.csv",
        *(["results/synth/clock_gating.csv"] if GATING_REFERENCES else []),
        *(["results/synth/memory_variants.csv"] if MEMORY_VARIANTS else []),


rule network:
    input:
        "results/snn/summary.csv",
        "results/snn/data/inputs.png",
        expand("results/snn/runs/{run}/training.png", run=SNN_RUNS),


# Targets outside `all`: every network of price.models priced, every trained network as a NIR file.
rule price_all:
    input:
        expand("results/price/{name}.csv", name=list(PRICE_MODELS)),


rule snn_export_all:
    input:
        expand("results/snn/nir/{run}.nir", run=SNN_RUNS),
