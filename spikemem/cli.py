"""spikemem: one subcommand per stage of the workflow (the Snakemake rules call them too).

Run from the project root, every stage reads and writes the workflow's layout (results/...,
config/config.yaml) unless given other paths.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

from . import layout
from .atomic_files import atomic_write_json, atomic_write_text
from .config import ConfigError, apply_variant, design_by_name, designs, load_config
from .encodings import EncodingError
from .energy_rows import MissingEnergyRow
from .paths import DEFAULT_CONFIG, PROJECT_ROOT
from .pdk import PdkError, check_pdk, load_pdk_config, pdk_root
from .price_errors import PriceInputError
from .processes import ToolError
from .provenance import provenance
from .sram.netlist import NetlistError
from .sram.transient import SpiceError

PROG = "spikemem"
EXAMPLE_DESIGN = "pb_bmp-fc16x16-w4"
VARIANT_HELP = "build the design as a variant: ungated (no clock gating) or mem_<name> (a memory_variants entry)"
DEFAULT_CONFIG_SHOWN = os.path.relpath(DEFAULT_CONFIG, PROJECT_ROOT)

MAIN_EXAMPLES = (
    (f"{PROG} doctor", "which tools this machine has for the flow"),
    (f"{PROG} config designs", "the designs of config/config.yaml"),
    (f"{PROG} characterize --design {EXAMPLE_DESIGN}", "synthesize and characterize one design"),
    (f"{PROG} price my_net.nir", "your own network (NIR) priced per encoding"),
    ("snakemake --cores 2 all", "the whole workflow (README.md)"),
)
MAIN_EPILOG = f"""\
examples:
{chr(10).join(f"  {command:50s} {what}" for command, what in MAIN_EXAMPLES)}

Paths default to the workflow's layout under results/ in the working directory (run from the
project root). PDK_ROOT defaults to ../shared/pdk beside the checkout ({layout.DEFAULT_PDK_ROOT}).
--debug shows Python tracebacks instead of one-line errors.
"""


# --------------------------------------------------------------------------- commands


def package_version() -> str:
    """The installed package's version (the source tree's where it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spikemem")
    except PackageNotFoundError:
        from . import __version__

        return __version__


def cmd_doctor(args: argparse.Namespace) -> int:
    from .tools import discover, missing_requirements, report

    tools = discover()
    data = report(tools)
    try:
        data["pdk_root"] = str(pdk_root())
    except PdkError as e:
        data["pdk_root"] = None
        data["pdk_problem"] = str(e)
    missing = missing_requirements(tools, load_config(args.config))
    data["missing"] = [{"tool": m.tool, "needed_for": m.purpose, "install": m.install} for m in missing]
    if args.out:
        atomic_write_json(args.out, {**data, "provenance": provenance()})
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for t in tools.values():
            mark = "ok " if t.usable else "-- "
            feats = " ".join(f"{k}={'yes' if v else 'no'}" for k, v in t.features.items())
            print(f"{mark}{t.name:10s} {t.version or 'missing':60.60s} {t.path or ''}")
            for line in ([feats] if feats else []) + t.notes:
                print(f"     {line}")
        print(f"synthesis backend: {data['synthesis_backend']}")
        print(f"flow level:        {data['flow_level']}")
        print(f"PDK_ROOT:          {data['pdk_root'] or data['pdk_problem']}")
    sys.stdout.flush()  # the table first, then what is missing
    for m in missing:
        _error(f"missing {m.tool} ({m.purpose}): {m.install}")
    return 1 if missing else 0


def cmd_pdk_check(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    pdk = load_pdk_config(cfg["pdk"])
    files = check_pdk(pdk)
    for role, f in files.items():
        print(f"ok  {role:50s} {f['path']}")
    print(f"PDK {pdk.name} complete under PDK_ROOT={pdk_root()}")
    if args.out:
        atomic_write_json(args.out, {"pdk": pdk.name, "pdk_root": str(pdk_root()), "files": files})
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.action == "designs":
        for d in designs(cfg):
            print(d.name)
    else:
        print(json.dumps(cfg, indent=2, sort_keys=True))
    return 0


def cmd_golden(args: argparse.Namespace) -> int:
    from .golden import golden_summary

    cfg = load_config(args.config)
    design = design_by_name(cfg, args.design)
    data = golden_summary(cfg, design)
    data["provenance"] = provenance(cfg, stage="golden")
    atomic_write_json(args.out, data)
    print(f"{design.name}: {args.out}")
    return 0


def cmd_tabulate_golden(args: argparse.Namespace) -> int:
    from .golden import storage_table

    _write_csv(args.out, storage_table([json.loads(Path(f).read_text()) for f in args.inputs]))
    return 0


def cmd_snn(args: argparse.Namespace) -> int:
    from .snn import stages

    if args.action == "data":
        from .snn.data import make_data

        make_data(load_config(args.config), args.out_dir)
    elif args.action == "train":
        from .snn.training_sets import training_sets

        cfg = load_config(args.config)
        known = [t.name for t in training_sets(cfg)]
        if args.training_set not in known:
            raise ConfigError(f"no training set {args.training_set!r} in snn.protocols; known: {', '.join(known)}")
        for m in stages.train_stage(cfg, args.training_set, args.data_dir, args.runs_dir, args.weight_bits, args.seed):
            print(
                f"{m['training_set']} w{m['weight_bits']} seed {m['seed']}: min van Rossum "
                f"{m['min_van_rossum']:.3f} at epoch {m['best_epoch']} of {m['epochs']} ({m['stop_reason']}), "
                f"densities at best {m['densities']}, final {m['final_densities']}"
            )
    elif args.action == "export":
        from .snn.nir_export import export_stage

        for path in export_stage(args.inputs, args.out_dir, args.levels):
            print(path)
    else:
        summary = stages.summarize(args.inputs)
        atomic_write_text(args.out, summary.to_csv(index=False))
        if args.scores:
            atomic_write_text(args.scores, stages.retention_scores(summary).to_csv(index=False))
    return 0


def cmd_rtl(args: argparse.Namespace) -> int:
    from .rtl.render import render_stage
    from .rtl.stage import verify_stage

    cfg = apply_variant(load_config(args.config), args.variant)
    design = design_by_name(cfg, args.design)
    if args.action == "render":
        render_stage(cfg, design, args.out_dir)
        print(f"{design.name}: {args.out_dir}")
        return 0
    report = verify_stage(
        cfg,
        design,
        args.rtl_dir,
        args.work_dir,
        args.out,
        simulators=tuple(args.simulators.split(",")) if args.simulators else None,
        workload=_workload(design, args.workload),
    )
    for sim, r in report["simulators"].items():
        print(f"{design.name} {sim}: {r['events']} events, {r['mismatches']} mismatches")
        for d in r["densities"]:
            for m in d["first_mismatches"]:
                print(f"  density {d['density']}: {m}")
    return 0 if report["passed"] else 1


def _workload(design, path: str | None) -> dict | None:
    """A trained layer's workload file, loaded (None for the other designs)."""
    from .workloads import load_trained_workload

    if not design.trained:
        return None
    if not Path(path).is_file():
        raise ConfigError(f"{design.name} needs its workload {path}: run spikemem workload --design {design.name}")
    return load_trained_workload(path)


def cmd_workload(args: argparse.Namespace) -> int:
    from .snn.replay import write_trained_workload

    cfg = load_config(args.config)
    design = design_by_name(cfg, args.design)
    meta = write_trained_workload(cfg, design, args.data_dir, args.runs_dir, Path(args.out))
    r = meta["replayed"]
    print(
        f"{design.name}: seed {meta['seed']} (van Rossum {meta['min_van_rossum']:.4g}), density {meta['density']:.3f}; "
        f"{r['forward_rows']} spikes, {r['backward_columns']} errors in {r['backward_steps']} steps, "
        f"{r['updates']} updates: {args.out}"
    )
    return 0


def cmd_tabulate_verify(args: argparse.Namespace) -> int:
    from .rtl.stage import verification_table

    _write_csv(args.out, verification_table(args.inputs))
    return 0


def cmd_tabulate_gating(args: argparse.Namespace) -> int:
    from .synth.clock_gating import gating_table
    from .synth.energy_table import load_characterizations as load

    _write_csv(args.out, gating_table(load(args.gated), load(args.ungated)))
    return 0


def cmd_tabulate_variants(args: argparse.Namespace) -> int:
    from .synth.energy_table import load_characterizations as load
    from .synth.memory_variants import variant_table

    _write_csv(args.out, variant_table(load(args.main), load(args.variants)))
    return 0


def _write_csv(path: str | Path, table) -> None:
    atomic_write_text(path, table.to_csv(index=False))


def cmd_characterize(args: argparse.Namespace) -> int:
    from .synth.characterize import characterize

    cfg = apply_variant(load_config(args.config), args.variant)
    design = design_by_name(cfg, args.design)
    r = characterize(
        cfg,
        design,
        Path(args.rtl_dir),
        Path(args.work_dir),
        Path(args.out),
        Path(args.cache_dir),
        _workload(design, args.workload),
    )
    for run in r["runs"]:
        ev = sum(w["events"] for w in run["windows"]) or 1
        print(
            f"{design.name} {run['operation']:8s} density {run['density']}: "
            f"{sum(w['dynamic_j'] for w in run['windows']) / ev * 1e12:.2f} pJ/event (dynamic)"
        )
    return 0


def cmd_energy_table(args: argparse.Namespace) -> int:
    from .synth.energy_table import energy_table_stage

    table = energy_table_stage(load_config(args.config), args.inputs, Path(args.out))
    print(
        f"{len(table)} rows, {int(table.flagged.sum())} flagged (held-out or validation error, total or logic-only, "
        "> 10 % or no held-out size)"
    )
    return 0


def cmd_energy(args: argparse.Namespace) -> int:
    from .network_energy import energy_stage

    data_dir = None if args.uniform_events else Path(args.data_dir)
    rows = energy_stage(
        load_config(args.config),
        Path(args.table),
        args.runs,
        Path(args.out_dir),
        args.sram_scale,
        args.workers,
        data_dir,
    )
    print(f"{rows} network x encoding rows")
    return 0


def cmd_direct_energy(args: argparse.Namespace) -> int:
    from .direct_energy import direct_energy_stage, network_totals

    df = direct_energy_stage(
        load_config(args.config), Path(args.table), args.inputs, Path(args.workload_dir), Path(args.out)
    )
    if len(df):
        for basis in ("paper", "training"):
            t = network_totals(df, basis)
            for r in t.itertuples():
                print(
                    f"{r.training_set} {r.encoding} w{r.weight_bits} s{r.seed} forward+backward ({basis}): direct "
                    f"{r.direct * 1e6:.3f} uJ, model {r.model_same_events * 1e6:.3f} uJ (same events), "
                    f"{r.model_uniform * 1e6:.3f} uJ (uniform events)"
                )
    print(f"{len(df)} layer x operation rows: {args.out}")
    return 0


def cmd_sram_characterize(args: argparse.Namespace) -> int:
    from .sram.characterize import characterize_macro, find_models, summary_lines

    cfg = load_config(args.config)
    macros = args.macro or [cfg["memory"]["sram_macro"]]
    models = find_models(args.models)
    for macro in macros:
        result = characterize_macro(
            cfg["pdk"],
            macro,
            models,
            Path(args.work_dir),
            cfg["clock_mhz"],
            args.bits,
            args.bitline_cap_ff,
            Path(args.netlist) if args.netlist else None,
            args.band_bits,
            args.check_reduction,
        )
        out = Path(args.out_dir) / f"{macro}.json"
        atomic_write_json(out, result)
        print("\n".join(summary_lines(result)))
        print(f"{out}")
    return 0


def default_price_out(model: Path) -> Path:
    """Where ``spikemem price`` writes without --out: ``results/price/<stem>.price.csv`` of the
    project (the workflow's results, never the working directory), or beside the model where the
    package runs outside a project checkout."""
    if (PROJECT_ROOT / "Snakefile").is_file():
        return layout.RESULTS / "price" / f"{model.stem}.price.csv"
    return model.with_name(f"{model.stem}.price.csv")


def cmd_price(args: argparse.Namespace) -> int:
    from .nir_pricing import price_stage

    out = args.out or default_price_out(Path(args.model))
    text, layers, networks, prov = price_stage(
        load_config(args.config),
        args.model,
        args.table,
        out,
        weight_bits=args.weight_bits,
        spikes=args.spikes,
        dt=args.dt,
        rates=args.rate or (),
        rates_file=args.rates,
        steps=args.steps,
    )
    print(text)
    print(f"wrote {layers}, {networks}, {prov}")
    return 0


# --------------------------------------------------------------------------- default paths
#
# Each command's path options default to None, and resolve_defaults() fills them in from the
# workflow's layout (spikemem.layout) once the design, variant and configuration are known: each
# subcommand's default_paths gives {option: path, or a function of the configuration for lists}.


def _trained_workload_default(design: str) -> Callable[[Mapping], Path | None]:
    """A trained layer's workload file; none for the other designs (their rules pass none)."""

    def default(cfg: Mapping) -> Path | None:
        return layout.trained_workload(design) if design_by_name(cfg, design).trained else None

    return default


def _design_paths(args: argparse.Namespace) -> dict:
    d, v = args.design, getattr(args, "variant", None)
    if args.command == "golden":
        return {"out": layout.golden_json(d)}
    if args.command == "workload":
        return {"data_dir": layout.SNN_DATA_DIR, "runs_dir": layout.SNN_RUNS_DIR, "out": layout.trained_workload(d)}
    if args.command == "characterize":
        return {
            "rtl_dir": layout.rtl_dir(d, v),
            "work_dir": layout.synth_work_dir(d, v),
            "cache_dir": layout.CELL_CACHE_DIR,
            "out": layout.characterization_json(d, v),
            "workload": _trained_workload_default(d),
        }
    if args.action == "render":
        return {"out_dir": layout.rtl_dir(d, v)}
    return {
        "rtl_dir": layout.rtl_dir(d, v),
        "work_dir": layout.verify_work_dir(d, v),
        "out": layout.verify_json(d, v),
        "workload": _trained_workload_default(d),
    }


def _direct_paths(args: argparse.Namespace) -> dict:
    from .config import network_layer_designs

    return {
        "table": layout.ENERGY_TABLE,
        "workload_dir": layout.RESULTS / "workloads",
        "out": layout.ENERGY_DIR / "network_direct.csv",
        "inputs": lambda cfg: [layout.characterization_json(d.name) for d in network_layer_designs(cfg)],
    }


def _snn_paths(args: argparse.Namespace) -> dict:
    if args.action == "data":
        return {"out_dir": layout.SNN_DATA_DIR}
    if args.action == "train":
        return {"data_dir": layout.SNN_DATA_DIR, "runs_dir": layout.SNN_RUNS_DIR}
    if args.action == "export":
        return {
            "out_dir": layout.SNN_NIR_DIR,
            "inputs": lambda cfg: [layout.metrics_json(r) for r in layout.training_runs(cfg)],
        }
    return {
        "out": layout.SNN_SUMMARY,
        "scores": layout.SNN_RETENTION,
        "inputs": lambda cfg: [layout.metrics_json(r) for r in layout.training_runs(cfg)],
    }


def _table_paths(args: argparse.Namespace) -> dict:
    chars = layout.characterization_json
    if args.command == "tabulate-golden":
        return {
            "out": layout.STORAGE_BITS,
            "inputs": lambda cfg: [layout.golden_json(d) for d in layout.design_names(cfg)],
        }
    if args.command == "tabulate-verify":
        return {
            "out": layout.VERIFY_SUMMARY,
            "inputs": lambda cfg: [layout.verify_json(d) for d in layout.design_names(cfg)],
        }
    if args.command == "tabulate-gating":
        return {
            "out": layout.CLOCK_GATING_TABLE,
            "gated": lambda cfg: [chars(d) for d in layout.gating_references(cfg)],
            "ungated": lambda cfg: [chars(d, "ungated") for d in layout.gating_references(cfg)],
        }
    if args.command == "tabulate-variants":
        return {
            "out": layout.MEMORY_VARIANTS_TABLE,
            "main": lambda cfg: [chars(d) for _, d in layout.memory_variant_designs(cfg)],
            "variants": lambda cfg: [chars(d, v) for v, d in layout.memory_variant_designs(cfg)],
        }
    if args.command == "energy-table":
        return {"out": layout.ENERGY_TABLE, "inputs": lambda cfg: [chars(d) for d in layout.design_names(cfg)]}
    return {  # energy
        "table": layout.ENERGY_TABLE,
        "out_dir": layout.ENERGY_DIR,
        "data_dir": layout.SNN_DATA_DIR,
        "runs": lambda cfg: [layout.metrics_json(r) for r in layout.training_runs(cfg)],
    }


def resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Fill every path option left out with the workflow's layout (in place; returns ``args``).
    Lists of inputs and design-dependent paths (a callable of the configuration here) are the
    configuration's, as the rules'."""
    paths_of: Callable[[argparse.Namespace], dict] | None = getattr(args, "default_paths", None)
    if paths_of is None:
        return args
    cfg = None
    for name, default in paths_of(args).items():
        if getattr(args, name, None):
            continue
        if callable(default):
            cfg = cfg if cfg is not None else load_config(args.config)
            default = default(cfg)
            if isinstance(default, list):
                setattr(args, name, [str(p) for p in default])
            elif default is not None:
                setattr(args, name, str(default))
        else:
            setattr(args, name, str(default))
    return args


# --------------------------------------------------------------------------- parser


def _example_epilog(*examples: str) -> str:
    return ("example:\n" if len(examples) == 1 else "examples:\n") + "\n".join(f"  {PROG} {e}" for e in examples)


def _command(
    sub: argparse._SubParsersAction,
    name: str,
    summary: str,
    examples: tuple[str, ...],
    debug: argparse.ArgumentParser,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary, a description and its examples."""
    return sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description or summary[0].upper() + summary[1:] + ".", 100),
        epilog=_example_epilog(*examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[debug],
    )


def variant_path(stage: str, rest: str) -> str:
    """How a help text shows a design's path, with the variant's directory."""
    return f"results/{stage}/{rest}; results/{stage}-<variant>/... for a variant"


def _add_config(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument(
        "--config",
        "-c",
        help=f"configuration YAML or JSON{', ' + what if what else ''} (default: {DEFAULT_CONFIG_SHOWN})",
    )


def _path(p: argparse.ArgumentParser, flag: str, default: str | Path, what: str = "", **kw) -> None:
    """A path option whose default is the workflow's layout."""
    p.add_argument(flag, help=f"{what}{' ' if what else ''}(default: {default})", **kw)


def build_parser() -> argparse.ArgumentParser:
    """The ``spikemem`` argument parser: one subcommand per stage."""
    # --debug is accepted before or after the subcommand; SUPPRESS keeps a subcommand's parser from
    # resetting what the main parser set.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show Python tracebacks on errors"
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The energy of synaptic-memory organizations, from templated RTL to the comparison report.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    parser.add_argument("--debug", action="store_true", default=False, help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    design_help = "design name, <encoding>-<shape>-w<bits> (spikemem config designs lists them)"

    p = _command(
        sub,
        "doctor",
        "list the tools the flow can use and the flow level",
        ("doctor", "doctor --json"),
        debug,
        description="List the tools the flow can use and the flow level it allows. Exits with 1 when a tool "
        "the configured flow needs is missing, naming the package that installs it.",
    )
    _add_config(p, "which says the tools the flow needs")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--out",
        help="also write the report (with provenance) to this JSON file (the workflow's: "
        "results/provenance/tools.json)",
    )
    p.set_defaults(func=cmd_doctor)

    p = _command(sub, "pdk", "PDK discovery", ("pdk check",), debug)
    psub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    pc = _command(psub, "check", "verify every PDK file the configuration needs", ("pdk check",), debug)
    _add_config(pc)
    pc.add_argument(
        "--out",
        help="write the file list with SHA-256 hashes to this JSON file (the workflow's: results/provenance/pdk.json)",
    )
    pc.set_defaults(func=cmd_pdk_check)

    p = _command(
        sub,
        "config",
        "validate a configuration, or list its designs",
        ("config designs", "config validate -c my.yaml"),
        debug,
    )
    p.add_argument("action", choices=["validate", "designs"])
    _add_config(p)
    p.set_defaults(func=cmd_config)

    p = _command(
        sub,
        "golden",
        "golden model of one design: memory image and access statistics",
        (f"golden --design {EXAMPLE_DESIGN}",),
        debug,
    )
    _add_config(p)
    p.add_argument("--design", required=True, help=design_help)
    _path(p, "--out", layout.golden_json("<design>"), "the golden model JSON")
    p.set_defaults(func=cmd_golden, default_paths=_design_paths)

    p = _command(
        sub,
        "rtl",
        "render one design's RTL, or verify it against the golden model",
        (f"rtl render --design {EXAMPLE_DESIGN}", f"rtl verify --design {EXAMPLE_DESIGN}"),
        debug,
    )
    rsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    rr = _command(
        rsub,
        "render",
        "controller, memories, SRAM simulation models, testbench",
        (f"rtl render --design {EXAMPLE_DESIGN}",),
        debug,
    )
    _add_config(rr)
    rr.add_argument("--design", required=True, help=design_help)
    _path(rr, "--out-dir", variant_path("rtl", "<design>"), "where the RTL goes")
    rr.add_argument("--variant", help=VARIANT_HELP)
    rv = _command(
        rsub,
        "verify",
        "lint, then Icarus and Verilator against the golden model",
        (f"rtl verify --design {EXAMPLE_DESIGN} --simulators icarus",),
        debug,
    )
    _add_config(rv)
    rv.add_argument("--design", required=True, help=design_help)
    _path(rv, "--rtl-dir", variant_path("rtl", "<design>"), "the rendered RTL")
    _path(rv, "--work-dir", variant_path("verify", "work/<design>"), "the simulators' working directory")
    _path(rv, "--out", variant_path("verify", "<design>.json"), "the verification report")
    rv.add_argument(
        "--simulators",
        help="comma-separated subset of icarus,verilator,auto (auto: the cheaper for the design; "
        "default: the configuration's)",
    )
    _path(rv, "--workload", layout.trained_workload("<design>"), "a trained layer's weights and events")
    rv.add_argument("--variant", help=VARIANT_HELP)
    for q in (rr, rv):
        q.set_defaults(func=cmd_rtl, default_paths=_design_paths)

    p = _command(
        sub,
        "characterize",
        "synthesize one design, simulate it at gate level, compute energies",
        (f"characterize --design {EXAMPLE_DESIGN}", f"characterize --design {EXAMPLE_DESIGN} --variant ungated"),
        debug,
        description="Synthesize one design (SiliconCompiler), simulate its netlist at gate level and compute "
        "its energies. Needs the design's RTL (spikemem rtl render).",
    )
    _add_config(p)
    p.add_argument("--design", required=True, help=design_help)
    _path(p, "--rtl-dir", variant_path("rtl", "<design>"), "the rendered RTL")
    _path(p, "--work-dir", variant_path("synth", "<design>/work"), "the tools' working directory")
    _path(p, "--cache-dir", layout.CELL_CACHE_DIR, "parsed Liberty models and cell simulation models")
    p.add_argument("--variant", help=VARIANT_HELP)
    _path(p, "--out", variant_path("synth", "<design>/characterization.json"), "the characterization")
    _path(p, "--workload", layout.trained_workload("<design>"), "a trained layer's weights and events")
    p.set_defaults(func=cmd_characterize, default_paths=_design_paths)

    p = _command(
        sub,
        "workload",
        "a trained network layer's weights and events, replayed from its best run",
        ("workload --design crossbar-fc700x400-w5-paper-a12e12g8",),
        debug,
        description="The memory image and events of a layer of the trained network (characterization."
        "network_layers): the weights of the training set's best run of the width and the events of one "
        "replayed epoch of its protocol. Needs the training runs (spikemem snn train).",
    )
    _add_config(p)
    p.add_argument("--design", required=True, help="a trained layer's design (spikemem config designs lists them)")
    _path(p, "--data-dir", layout.SNN_DATA_DIR, "the network's data")
    _path(p, "--runs-dir", layout.SNN_RUNS_DIR, "the training runs")
    _path(p, "--out", layout.trained_workload("<design>"), "the workload (npz)")
    p.set_defaults(func=cmd_workload, default_paths=_design_paths)

    p = _command(
        sub, "energy-table", "fit and validate the cost models of all characterized designs", ("energy-table",), debug
    )
    _add_config(p)
    _path(p, "--out", layout.ENERGY_TABLE, "the table (with .schema.json and .provenance.json beside it)")
    p.add_argument(
        "inputs", nargs="*", help="characterization JSON files (default: every configured design's under results/synth)"
    )
    p.set_defaults(func=cmd_energy_table, default_paths=_table_paths)

    p = _command(
        sub,
        "direct-energy",
        "the trained network's layers: gate-level energies beside the model's",
        ("direct-energy",),
        debug,
        description="Energy per event and per training iteration of the trained network's layers characterized "
        "directly at gate level (characterization.network_layers), beside the energy table's model on the same "
        "events and on uniform events.",
    )
    _add_config(p)
    _path(p, "--table", layout.ENERGY_TABLE, "the energy table")
    _path(p, "--workload-dir", layout.RESULTS / "workloads", "the trained layers' workloads")
    _path(p, "--out", layout.ENERGY_DIR / "network_direct.csv", "the table (with .provenance.json beside it)")
    p.add_argument(
        "inputs", nargs="*", help="the trained layers' characterization JSON files (default: the configured)"
    )
    p.set_defaults(func=cmd_direct_energy, default_paths=_direct_paths)

    p = _command(
        sub,
        "sram-characterize",
        "an SRAM macro's energy per read, write and deselected cycle at transistor level (ngspice)",
        ("sram-characterize", "sram-characterize --macro sky130_sram_2kbyte_1rw1r_32x512_8 --bits 2 4 8"),
        debug,
        description="The macro's schematic netlist reduced to a few data bits and two rows, simulated in ngspice at "
        "tt, 1.8 V, 25 C and the configured clock, extrapolated to the full word, at each bitline load; writes "
        "<out-dir>/<macro>.json. Needs ngspice and the sky130 SPICE models; outside the workflow (docs/energy.md).",
    )
    _add_config(p, "for the PDK configuration, the clock and the default macro")
    p.add_argument("--macro", nargs="+", help="macros of the PDK configuration (default: memory.sram_macro)")
    p.add_argument("--bits", nargs="+", type=int, default=[2, 4], help="data bits of the reduced runs (default: 2 4)")
    p.add_argument(
        "--bitline-cap-ff",
        nargs="+",
        type=float,
        default=[0.0, 60.0],
        help="capacitance added to each kept bitline, one run set per value: the band (default: 0 60)",
    )
    p.add_argument(
        "--band-bits",
        nargs="+",
        type=int,
        help="data bits of the loaded runs (default: the smallest of --bits; one count: scaled to the word)",
    )
    p.add_argument(
        "--check-reduction",
        action="store_true",
        help="also run the smallest bit count with the replica column whole: what merging its idle rows changes",
    )
    p.add_argument("--models", help="sky130.lib.spice (default: $SKY130_MODELS or the installed sky130 package's)")
    p.add_argument("--netlist", help="the schematic netlist (default: spice/<macro>.spice beside the LEF folder)")
    p.add_argument("--work-dir", default="results/sram", help="ngspice decks and logs (default: results/sram)")
    p.add_argument("--out-dir", default="data/sram_energy", help="one JSON per macro (default: data/sram_energy)")
    p.set_defaults(func=cmd_sram_characterize)

    p = _command(
        sub,
        "energy",
        "energy of every trained network and of the layer sweeps",
        ("energy", "energy --sram-scale 2"),
        debug,
    )
    _add_config(p)
    _path(p, "--table", layout.ENERGY_TABLE, "the energy table")
    p.add_argument(
        "--sram-scale",
        type=float,
        default=1.0,
        help="factor on the macro Liberty's per-access SRAM energy (default 1: the Liberty's value)",
    )
    _path(p, "--out-dir", layout.ENERGY_DIR, "where the CSV files go")
    p.add_argument("--workers", type=int, default=1, help="processes pricing networks and sweep points (default 1)")
    _path(p, "--data-dir", layout.SNN_DATA_DIR, "the networks' data, to replay their events")
    p.add_argument(
        "--uniform-events",
        action="store_true",
        help="price every network on events uniform over its neurons instead of its own replayed events",
    )
    p.add_argument(
        "runs", nargs="*", help="metrics.json of the training runs (default: every configured run's under results/snn)"
    )
    p.set_defaults(func=cmd_energy, default_paths=_table_paths)

    p = _command(
        sub,
        "price",
        "price your own network: a NIR file's synaptic layers per encoding (storage, macros, energy)",
        (
            "price model.nir --weight-bits 4",
            "price model.nir --spikes inputs.npz --dt 0.001",
            "price model.nir --rate '*=0.05,0.02' --steps 100",
        ),
        debug,
        description="Read a NIR graph, encode every synaptic layer in every encoding the energy table "
        "prices, and report storage, SRAM macros and area, and energy per operation, with the best "
        "encoding per layer and for the network. Activity: --spikes (simulate), --rate/--rates, or "
        "by default an upper bound (every neuron active every step).",
    )
    _add_config(p)
    p.add_argument("model", help="the network as a NIR file (.nir)")
    _path(p, "--table", layout.ENERGY_TABLE, "the energy table")
    p.add_argument(
        "--out",
        help="layer CSV (default: results/price/<model stem>.price.csv in the project, else beside the model); "
        "<stem>.network.csv and "
        "<stem>.provenance.json are written beside it",
    )
    p.add_argument(
        "--weight-bits",
        type=int,
        nargs="+",
        help="quantize to these widths (default: integer weights at the width they need, float weights at 8 bits)",
    )
    p.add_argument("--spikes", help="input spike trains (.npz, time x neurons) to simulate the graph on")
    p.add_argument("--dt", type=float, help="simulation time step in seconds (default: the file's metadata 'dt')")
    p.add_argument(
        "--rate",
        action="append",
        metavar="LAYER=SPIKE[,ERROR]",
        help="events per neuron per step of a layer's presynaptic spikes and postsynaptic errors; "
        "LAYER '*' means every layer; repeatable",
    )
    p.add_argument("--rates", help="YAML: {layers: {LAYER: {spike_rate: R, error_rate: E}}, steps: N}")
    p.add_argument("--steps", type=int, help="time steps per sample for rates and the upper bound (default 1)")
    p.set_defaults(func=cmd_price, default_paths=lambda args: {"table": layout.ENERGY_TABLE})

    p = _command(
        sub,
        "snn",
        "the spiking-network experiment",
        ("snn data", "snn train --training-set paper-a12e12g8 --weight-bits 4 --seed 0", "snn summary"),
        debug,
    )
    ssub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sd = _command(ssub, "data", "the fixed input trains and target raster", ("snn data",), debug)
    _add_config(sd)
    _path(sd, "--out-dir", layout.SNN_DATA_DIR, "where the data go")
    st = _command(
        ssub,
        "train",
        "train the runs of one training set (protocol and sweep point, e.g. paper-a12e12g8): every "
        "width and seed, or the one given",
        ("snn train --training-set paper-a12e12g8", "snn train --training-set adaptive-e8g8 --weight-bits 4 --seed 0"),
        debug,
    )
    _add_config(st)
    st.add_argument("--training-set", required=True, help="a name from snn.protocols, e.g. paper-a12e12g8")
    st.add_argument("--weight-bits", type=int, help="train only this width")
    st.add_argument("--seed", type=int, help="train only this seed")
    _path(st, "--data-dir", layout.SNN_DATA_DIR, "the data (spikemem snn data)")
    _path(st, "--runs-dir", layout.SNN_RUNS_DIR, "runs go to <runs-dir>/<training set>/w<bits>-s<seed>/")
    ss = _command(ssub, "summary", "one CSV row per training run, and the retention scores", ("snn summary",), debug)
    _add_config(ss, "naming the runs summarized by default")
    _path(ss, "--out", layout.SNN_SUMMARY, "the summary CSV")
    _path(ss, "--scores", layout.SNN_RETENTION, "retention scores per protocol and width (best run; mean and sd)")
    ss.add_argument("inputs", nargs="*", help="metrics.json files (default: every configured run's)")
    sd.set_defaults(func=cmd_snn, default_paths=_snn_paths)
    st.set_defaults(func=cmd_snn, default_paths=_snn_paths)
    ss.set_defaults(func=cmd_snn, default_paths=_snn_paths)
    se = _command(
        ssub,
        "export",
        "write each trained network as a NIR file (snnTorch, Norse, ...)",
        ("snn export", "snn export --levels final results/snn/runs/adaptive-e8g8/w2-s0/metrics.json"),
        debug,
    )
    _add_config(se, "naming the runs exported by default")
    _path(se, "--out-dir", layout.SNN_NIR_DIR, "files go to <out-dir>/<training set>/w<bits>-s<seed>.nir")
    se.add_argument("--levels", choices=["best", "final"], default="best", help="the best epoch's weights or the last")
    se.add_argument("inputs", nargs="*", help="metrics.json of the training runs (default: every configured run's)")
    se.set_defaults(func=cmd_snn, default_paths=_snn_paths)

    p = _command(sub, "tabulate-verify", "verification results of every design, as CSV", ("tabulate-verify",), debug)
    _add_config(p, "naming the designs tabulated by default")
    _path(p, "--out", layout.VERIFY_SUMMARY, "the CSV")
    p.add_argument("inputs", nargs="*", help="results/verify/<design>.json files (default: every configured design's)")
    p.set_defaults(func=cmd_tabulate_verify, default_paths=_table_paths)

    p = _command(
        sub,
        "tabulate-gating",
        "what clock gating saves: gated designs against ungated references",
        ("tabulate-gating",),
        debug,
    )
    _add_config(p, "naming the designs tabulated by default")
    _path(p, "--out", layout.CLOCK_GATING_TABLE, "the CSV")
    p.add_argument(
        "--gated",
        nargs="+",
        help="characterization JSON files of the designs (default: clock_gating.reference_designs under results/synth)",
    )
    p.add_argument(
        "--ungated", nargs="+", help="the same designs characterized ungated (default: under results/synth-ungated)"
    )
    p.set_defaults(func=cmd_tabulate_gating, default_paths=_table_paths)

    p = _command(
        sub,
        "tabulate-variants",
        "how a memory variant changes each design's energy per event",
        ("tabulate-variants",),
        debug,
    )
    _add_config(p, "naming the designs tabulated by default")
    _path(p, "--out", layout.MEMORY_VARIANTS_TABLE, "the CSV")
    p.add_argument(
        "--main",
        nargs="+",
        help="characterization JSON files, main memory (default: the memory_variants designs under results/synth)",
    )
    p.add_argument(
        "--variants",
        nargs="+",
        help="the same designs under a memory variant (default: under results/synth-mem_<name>)",
    )
    p.set_defaults(func=cmd_tabulate_variants, default_paths=_table_paths)

    p = _command(
        sub,
        "tabulate-golden",
        "storage bits and accesses per event of every design, as CSV",
        ("tabulate-golden",),
        debug,
    )
    _add_config(p, "naming the designs tabulated by default")
    _path(p, "--out", layout.STORAGE_BITS, "the CSV")
    p.add_argument("inputs", nargs="*", help="golden.json files (default: every configured design's)")
    p.set_defaults(func=cmd_tabulate_golden, default_paths=_table_paths)

    return parser


# --------------------------------------------------------------------------- main


def _error(message: object, debug: bool = False) -> None:
    """One line naming the error; with --debug the traceback first (the exit code stays the same)."""
    if debug and isinstance(message, BaseException):
        traceback.print_exception(message, file=sys.stderr)
    print(f"{PROG}: error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; known failures print one message (exit 1 for a tool, 2 for the
    configuration, the PDK or an input), with --debug after their traceback and the same exit code."""
    args = build_parser().parse_args(argv)
    # The Makefile's default, for runs by hand: the PDK beside the checkout.
    if not os.environ.get("PDK_ROOT") and layout.DEFAULT_PDK_ROOT.is_dir():
        os.environ["PDK_ROOT"] = str(layout.DEFAULT_PDK_ROOT)
    try:
        resolve_defaults(args)
        status = args.func(args)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is handled below
        return status
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`spikemem config designs | head`): stop quietly, and keep Python's
        # final flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except ToolError as e:
        e.design = e.design or getattr(args, "design", None)
        _error(e, args.debug)
        return 1
    except (SpiceError, NetlistError) as e:
        _error(e, args.debug)
        return 1
    except (ConfigError, PdkError, EncodingError, MissingEnergyRow, PriceInputError) as e:
        _error(e, args.debug)
        return 2


if __name__ == "__main__":
    sys.exit(main())
