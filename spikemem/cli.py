"""The ``spikemem`` command line: one subcommand per stage; the Snakemake rules call these."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .atomic_files import atomic_write_json
from .config import ConfigError, apply_variant, design_by_name, designs, load_config
from .encodings import EncodingError
from .energy_rows import MissingEnergyRow
from .pdk import PdkError, check_pdk, load_pdk_config, pdk_root
from .price_errors import PriceInputError
from .provenance import provenance


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="configuration YAML or JSON (default: config/config.yaml)")


def cmd_doctor(args: argparse.Namespace) -> int:
    from .tools import discover, report

    tools = discover()
    data = report(tools)
    try:
        data["pdk_root"] = str(pdk_root())
    except PdkError as e:
        data["pdk_root"] = None
        data["pdk_problem"] = str(e)
    if args.out:
        atomic_write_json(args.out, {**data, "provenance": provenance()})
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for t in tools.values():
        mark = "ok " if t.usable else "-- "
        feats = " ".join(f"{k}={'yes' if v else 'no'}" for k, v in t.features.items())
        print(f"{mark}{t.name:10s} {t.version or 'missing':60.60s} {t.path or ''}")
        for line in ([feats] if feats else []) + t.notes:
            print(f"     {line}")
    print(f"synthesis backend: {data['synthesis_backend']}")
    print(f"flow level:        {data['flow_level']}")
    print(f"PDK_ROOT:          {data['pdk_root'] or data['pdk_problem']}")
    return 0


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
    return 0


def cmd_tabulate_golden(args: argparse.Namespace) -> int:
    from .golden import storage_table

    table = storage_table([json.loads(Path(f).read_text()) for f in args.inputs])
    from .atomic_files import atomic_write_text

    atomic_write_text(args.out, table.to_csv(index=False))
    return 0


def cmd_snn(args: argparse.Namespace) -> int:
    from .snn import stages

    if args.action == "data":
        from .snn.data import make_data

        make_data(load_config(args.config), args.out_dir)
    elif args.action == "train":
        cfg = load_config(args.config)
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
        from .atomic_files import atomic_write_text

        summary = stages.summarize(args.inputs)
        atomic_write_text(args.out, summary.to_csv(index=False))
        if args.scores:
            atomic_write_text(args.scores, stages.retention_scores(summary).to_csv(index=False))
    return 0


VARIANT_HELP = "build the design as a variant: ungated (no clock gating) or mem_<name> (a memory_variants entry)"


def cmd_rtl(args: argparse.Namespace) -> int:
    from .processes import ToolFailure
    from .rtl.render import render_stage
    from .rtl.stage import verify_stage

    cfg = apply_variant(load_config(args.config), args.variant)
    design = design_by_name(cfg, args.design)
    if args.action == "render":
        render_stage(cfg, design, args.out_dir)
        return 0
    try:
        report = verify_stage(
            cfg,
            design,
            args.rtl_dir,
            args.work_dir,
            args.out,
            simulators=tuple(args.simulators.split(",")) if args.simulators else None,
        )
    except ToolFailure as e:
        print(f"spikemem: error: {e}", file=sys.stderr)
        return 1
    for sim, r in report["simulators"].items():
        print(f"{design.name} {sim}: {r['events']} events, {r['mismatches']} mismatches")
        for d in r["densities"]:
            for m in d["first_mismatches"]:
                print(f"  density {d['density']}: {m}")
    return 0 if report["passed"] else 1


def cmd_tabulate_verify(args: argparse.Namespace) -> int:
    from .atomic_files import atomic_write_text
    from .rtl.stage import verification_table

    atomic_write_text(args.out, verification_table(args.inputs).to_csv(index=False))
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


def _write_csv(path: str, table) -> None:
    from .atomic_files import atomic_write_text

    atomic_write_text(path, table.to_csv(index=False))


def cmd_characterize(args: argparse.Namespace) -> int:
    from .processes import ToolFailure
    from .synth.characterize import characterize

    cfg = load_config(args.config)
    cfg = apply_variant(cfg, args.variant)
    design = design_by_name(cfg, args.design)
    try:
        r = characterize(cfg, design, Path(args.rtl_dir), Path(args.work_dir), Path(args.out), Path(args.cache_dir))
    except ToolFailure as e:
        print(f"spikemem: error: {e}", file=sys.stderr)
        return 1
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

    rows = energy_stage(
        load_config(args.config), Path(args.table), args.runs, Path(args.out_dir), args.sram_scale, args.workers
    )
    print(f"{rows} network x encoding rows")
    return 0


def cmd_price(args: argparse.Namespace) -> int:
    from .nir_pricing import price_stage

    out = args.out or f"{Path(args.model).stem}.price.csv"
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikemem", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("doctor", help="list the tools the flow can use and the flow level")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", help="also write the report (with provenance) to this JSON file")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("pdk", help="PDK discovery")
    psub = p.add_subparsers(dest="action", required=True)
    pc = psub.add_parser("check", help="verify every PDK file the configuration needs")
    _add_config(pc)
    pc.add_argument("--out", help="write the file list with SHA-256 hashes to this JSON file")
    pc.set_defaults(func=cmd_pdk_check)

    p = sub.add_parser("config", help="validate a configuration, or list its designs")
    p.add_argument("action", choices=["validate", "designs"])
    _add_config(p)
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("golden", help="golden model of one design: memory image and access statistics")
    _add_config(p)
    p.add_argument("--design", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_golden)

    p = sub.add_parser("rtl", help="render one design's RTL, or verify it against the golden model")
    rsub = p.add_subparsers(dest="action", required=True)
    rr = rsub.add_parser("render", help="controller, memories, SRAM simulation models, testbench")
    _add_config(rr)
    rr.add_argument("--design", required=True)
    rr.add_argument("--out-dir", required=True)
    rr.add_argument("--variant", help=VARIANT_HELP)
    rv = rsub.add_parser("verify", help="lint, then Icarus and Verilator against the golden model")
    _add_config(rv)
    rv.add_argument("--design", required=True)
    rv.add_argument("--rtl-dir", required=True)
    rv.add_argument("--work-dir", required=True)
    rv.add_argument("--out", required=True)
    rv.add_argument("--simulators", help="comma-separated subset of icarus,verilator")
    rv.add_argument("--variant", help=VARIANT_HELP)
    for q in (rr, rv):
        q.set_defaults(func=cmd_rtl)

    p = sub.add_parser("characterize", help="synthesize one design, simulate it at gate level, compute energies")
    _add_config(p)
    p.add_argument("--design", required=True)
    p.add_argument("--rtl-dir", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--cache-dir", required=True, help="parsed Liberty models and cell simulation models")
    p.add_argument("--variant", help=VARIANT_HELP)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_characterize)

    p = sub.add_parser("energy-table", help="fit and validate the cost models of all characterized designs")
    _add_config(p)
    p.add_argument("--out", required=True)
    p.add_argument("inputs", nargs="+", help="characterization JSON files")
    p.set_defaults(func=cmd_energy_table)

    p = sub.add_parser("energy", help="energy of every trained network and of the layer sweeps")
    _add_config(p)
    p.add_argument("--table", required=True, help="results/energy/energy_table.csv")
    p.add_argument(
        "--sram-scale",
        type=float,
        default=1.0,
        help="factor on the macro Liberty's per-access SRAM energy (default 1: the Liberty's value)",
    )
    p.add_argument("--out-dir", required=True)
    p.add_argument("--workers", type=int, default=1, help="processes pricing networks and sweep points (default 1)")
    p.add_argument("runs", nargs="+", help="metrics.json of the training runs")
    p.set_defaults(func=cmd_energy)

    p = sub.add_parser(
        "price",
        help="price your own network: a NIR file's synaptic layers per encoding (storage, macros, energy)",
        description="Read a NIR graph, encode every synaptic layer in every encoding the energy table "
        "prices, and report storage, SRAM macros and area, and energy per operation, with the best "
        "encoding per layer and for the network. Activity: --spikes (simulate), --rate/--rates, or "
        "by default an upper bound (every neuron active every step).",
    )
    _add_config(p)
    p.add_argument("model", help="the network as a NIR file (.nir)")
    p.add_argument("--table", default="results/energy/energy_table.csv", help="the energy table (default: %(default)s)")
    p.add_argument(
        "--out",
        help="layer CSV (default: <model stem>.price.csv); <stem>.network.csv and "
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
    p.set_defaults(func=cmd_price)

    p = sub.add_parser("snn", help="the spiking-network experiment")
    ssub = p.add_subparsers(dest="action", required=True)
    sd = ssub.add_parser("data", help="the fixed input trains and target raster")
    _add_config(sd)
    sd.add_argument("--out-dir", required=True)
    st = ssub.add_parser(
        "train",
        help="train the runs of one training set (protocol and sweep point, e.g. paper-a12e12g8): every "
        "width and seed, or the one given",
    )
    _add_config(st)
    st.add_argument("--training-set", required=True, help="a name from snn.protocols, e.g. paper-a12e12g8")
    st.add_argument("--weight-bits", type=int, help="train only this width")
    st.add_argument("--seed", type=int, help="train only this seed")
    st.add_argument("--data-dir", required=True)
    st.add_argument("--runs-dir", required=True, help="runs go to <runs-dir>/<training set>/w<bits>-s<seed>/")
    ss = ssub.add_parser("summary", help="one CSV row per training run, and the retention scores")
    ss.add_argument("--out", required=True)
    ss.add_argument("--scores", help="retention scores per protocol and width (best run; mean and sd)")
    ss.add_argument("inputs", nargs="+", help="metrics.json files")
    se = ssub.add_parser("export", help="write each trained network as a NIR file (snnTorch, Norse, ...)")
    se.add_argument("--out-dir", required=True, help="files go to <out-dir>/<training set>/w<bits>-s<seed>.nir")
    se.add_argument("--levels", choices=["best", "final"], default="best", help="the best epoch's weights or the last")
    se.add_argument("inputs", nargs="+", help="metrics.json of the training runs")
    for q in (sd, st, ss, se):
        q.set_defaults(func=cmd_snn)

    p = sub.add_parser("tabulate-verify", help="verification results of every design, as CSV")
    p.add_argument("--out", required=True)
    p.add_argument("inputs", nargs="+", help="results/verify/<design>.json files")
    p.set_defaults(func=cmd_tabulate_verify)

    p = sub.add_parser("tabulate-gating", help="what clock gating saves: gated designs against ungated references")
    p.add_argument("--out", required=True)
    p.add_argument("--gated", nargs="+", required=True, help="characterization JSON files of the designs")
    p.add_argument("--ungated", nargs="+", required=True, help="the same designs characterized ungated")
    p.set_defaults(func=cmd_tabulate_gating)

    p = sub.add_parser("tabulate-variants", help="how a memory variant changes each design's energy per event")
    p.add_argument("--out", required=True)
    p.add_argument("--main", nargs="+", required=True, help="characterization JSON files, main memory")
    p.add_argument("--variants", nargs="+", required=True, help="the same designs under a memory variant")
    p.set_defaults(func=cmd_tabulate_variants)

    p = sub.add_parser("tabulate-golden", help="storage bits and accesses per event of every design, as CSV")
    p.add_argument("--out", required=True)
    p.add_argument("inputs", nargs="+", help="golden.json files")
    p.set_defaults(func=cmd_tabulate_golden)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, PdkError, EncodingError, MissingEnergyRow, PriceInputError) as e:
        print(f"spikemem: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
