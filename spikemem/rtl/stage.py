"""The RTL verification stage the CLI runs (rendering is :func:`spikemem.rtl.render.render_stage`),
and the table of every design's verification."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

from ..atomic_files import atomic_write_json
from ..config import Design
from ..provenance import provenance
from .render import design_context, load_manifest
from .simulator import build_simulator, simulate
from .verify import Stimulus, compare, lint, make_stimulus


def verify_stage(
    cfg: Mapping,
    design: Design,
    rtl_dir: str | Path,
    work_dir: str | Path,
    out_json: str | Path,
    simulators: tuple[str, ...] | None = None,
    densities: tuple[float, ...] | None = None,
    events_per_operation: int | None = None,
    workload: Mapping | None = None,
) -> dict:
    """Lint, then simulate in each simulator at each density; write the comparison JSON.

    Defaults come from the configuration's ``verification`` section. A trained layer is verified on
    its ``workload`` (its weights and events drawn from its own) instead, at the weights' density,
    with ``characterization.network_layers.events_per_operation`` events per operation."""
    ver = cfg["verification"]
    simulators = tuple(simulators or ver["simulators"])
    files = load_manifest(rtl_dir)
    work = Path(work_dir)
    ctx = design_context(cfg, design)
    lint(files, work)
    if design.trained:
        n = events_per_operation or cfg["characterization"]["network_layers"]["events_per_operation"]
        densities = (None,)
    else:
        n = events_per_operation or ver["events_per_operation"]
        densities = densities or tuple(ver["densities"])
    stimuli = [make_stimulus(cfg, design, d, n, workload=workload) for d in densities]
    report: dict = {"design": design.as_dict(), "lint": "verilator --lint-only -Wall: clean", "simulators": {}}
    if "auto" in simulators:
        choice = choose_simulator(stimuli, ver["auto_verilator_min_work"])
        report["simulator_choice"] = choice
        simulators = tuple(dict.fromkeys(choice["chosen"] if s == "auto" else s for s in simulators))
    for sim in simulators:
        t0 = time.perf_counter()
        run_cmd = build_simulator(sim, files, work / sim)
        per_density = []
        for stim in stimuli:
            # Random output backpressure checks the stall paths; an always-ready sink measures the
            # controller's own throughput (the cycles the energy and the report use).
            for backpressure in (True, False):
                tag = f"d{stim.density:g}" + ("" if backpressure else "-ready")
                out_file = simulate(run_cmd, ctx, stim, work / sim / tag, f"+backpressure={int(backpressure)}")
                result = compare(stim, out_file.read_text())
                per_density.append({"density": stim.density, "backpressure": backpressure, **result})
        report["simulators"][sim] = {
            "densities": per_density,
            "events": sum(r["events"] for r in per_density),
            "mismatches": sum(r["mismatches"] for r in per_density),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    first = report["simulators"][simulators[0]]["densities"]
    report["throughput"] = {
        "sink": "always ready",
        "simulator": simulators[0],
        "densities": {f"{r['density']:g}": r["cycles"] for r in first if not r["backpressure"]},
    }
    report["events_checked"] = {s: r["events"] for s, r in report["simulators"].items()}
    report["passed"] = all(r["mismatches"] == 0 for r in report["simulators"].values())
    report["provenance"] = provenance(cfg, stage="rtl_verify", simulators=list(simulators))
    atomic_write_json(out_json, report)
    return report


def verification_work(stimuli: list[Stimulus]) -> int:
    """What a verification asks of a simulator, from the golden model: every event's lookups and
    memory accesses, plus one per event, over the stimuli, each played twice (with and without
    backpressure). Icarus's time grows with it; Verilator's is mostly its build."""
    return 2 * sum(sum(c.values()) + 1 for stim in stimuli for c in stim.expected_counts)


def choose_simulator(stimuli: list[Stimulus], verilator_min_work: int) -> dict:
    """The simulator ``auto`` stands for on this verification: Verilator from ``verilator_min_work``
    (:func:`verification_work`) on, Icarus below; with the work and the rule, for the report."""
    work = verification_work(stimuli)
    return {
        "chosen": "verilator" if work >= verilator_min_work else "icarus",
        "work": work,
        "rule": f"verilator where the work is at least {verilator_min_work}, else icarus",
    }


def verification_table(reports: list[str | Path]):
    """One CSV row per design, simulator and density of the verification reports: events,
    mismatches, and per operation the mean latency, synapses per cycle and cycles per synapse."""
    import pandas as pd

    rows = []
    for f in reports:
        r = json.loads(Path(f).read_text())
        for sim, s in r["simulators"].items():
            for d in s["densities"]:
                row = {
                    "design": r["design"]["name"],
                    "encoding": r["design"]["encoding"],
                    "simulator": sim,
                    "density": d["density"],
                    "backpressure": d.get("backpressure", True),
                    "events": d["events"],
                    "mismatches": d["mismatches"],
                }
                for op, c in d["cycles"].items():
                    row[f"{op}_mean_latency_cycles"] = c["mean_latency"]
                    row[f"{op}_synapses_per_cycle"] = c["synapses_per_cycle"]
                    row[f"{op}_cycles_per_synapse"] = c.get("cycles_per_synapse")
                rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["verify_stage", "verification_table"]
