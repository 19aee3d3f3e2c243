"""Characterization of one design: synthesis, gate-level runs under each operation's workload at
each density, energy per activity window, timing and an OpenSTA power cross-check."""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write_json
from ..config import Design, characterization_events, design_operations
from ..golden import event_features
from ..pdk import load_pdk_config, pdk_root, sha256
from ..processes import run_tool
from ..progress import progress
from ..provenance import provenance
from ..rtl.render import design_context, design_sources, load_manifest, simulation_models
from ..rtl.simulator import simulate
from ..rtl.verify import compare, make_stimulus
from ..tools import discover
from ..workloads import OPERATIONS
from .energy_model import build_energy_model, dynamic, window_energy
from .gatelevel import (
    activity_module,
    build_gate_sim,
    cell_models,
    check_sram_counts,
    load_connectivity,
    macro_instances,
    memory_macros,
    parse_activity,
    prepare_netlist,
)
from .liberty_model import load_library, sram_access_energy
from .sc_flow import find_netlist, metrics_of, synthesize
from .windows import WINDOW_COUNTS, op_means

# The netlist the energy is computed from (see the result's flow_level).
ENERGY_FLOW_LEVEL = "synthesis"
WINDOW_EVENTS = 25  # events per activity window: the samples the cost model is fitted on
IDLE_CYCLES = 200  # cycles of the idle window (no events) that measure an idle cycle's energy
RESET_CHECK_EVENTS = 10  # events per operation of the runs whose cells start at random values
# A trained layer's row streams run 10^5 cycles per event at 700x400: fewer suffice to exercise every state.
TRAINED_RESET_CHECK_EVENTS = 3
RESET_CHECK_SEEDS = 3  # such runs, each with its own random start state


def _gate_run(run_cmd, ctx, stim, directory: Path, groups, n_nets: int, where: str, *plusargs: str) -> dict:
    """One gate-level run of ``stim`` checked like the RTL: every streamed synapse and hit flag
    against the golden model, and the macros' access counters (what the SRAM energy is computed
    from) per window and per event against the golden model's access counts. Returns the checks'
    results, the window samples and the simulation log."""
    act_file = directory / "activity.txt"
    out_file = simulate(run_cmd, ctx, stim, directory, f"+chunk={WINDOW_EVENTS}", f"+activity={act_file}", *plusargs)
    check = compare(stim, out_file.read_text())
    if check["mismatches"]:
        raise RuntimeError(f"gate-level {where}: {check['first_mismatches']}")
    text = act_file.read_text()
    n_macros = sum(len(lanes) for g in groups.values() for lanes in g["banks"])
    samples = parse_activity(text, n_macros, n_nets)
    baseline = [s for s in samples if s.events == 0][-1:]  # the sample after the image is loaded
    counts = {
        "windows": check_sram_counts(samples, stim.expected_counts, groups, f"{where}, windows")["intervals"],
        "events": check_sram_counts(
            baseline + parse_activity(text, n_macros, n_nets, kind="E"),
            stim.expected_counts,
            groups,
            f"{where}, events",
        )["intervals"],
        "memories": sorted(groups),
        "macros_per_word_access": {m: g["lanes"] for m, g in sorted(groups.items())},
        "mismatches": 0,
    }
    return {"compare": check, "sram_count_check": counts, "samples": samples, "log": (directory / "sim.log")}


def reset_check(cfg, design, ctx, run_cmd, groups, n_nets: int, work: Path, workload: Mapping | None = None) -> dict:
    """The short mixed workload with every cell's state starting at random values (one run per
    seed) instead of 0: all outputs and access counts must still equal the golden model's, which
    fails where a controller's state is not reset (with probability 1 - 2**-seeds per flop whose
    start value matters)."""
    seeds = [int(cfg["seed"]) * RESET_CHECK_SEEDS + k for k in range(RESET_CHECK_SEEDS)]
    events = TRAINED_RESET_CHECK_EVENTS if design.trained else RESET_CHECK_EVENTS
    stim = make_stimulus(
        cfg, design, cfg["characterization"]["densities"][0], events, purpose="reset_check", workload=workload
    )
    density = stim.density
    runs = []
    for seed in seeds:
        where = f"{design.name} reset check (random start state, seed {seed}) at density {density}"
        run = _gate_run(run_cmd, ctx, stim, work / f"seed{seed}", groups, n_nets, where, f"+cell_init_seed={seed}")
        pattern = r"spikemem_cell_init: seed-drawn start state in (\d+) cells, (\d+) of them 1"
        m = re.search(pattern, run["log"].read_text())
        if not m or int(m[1]) == 0 or int(m[2]) == 0:
            raise RuntimeError(f"{where}: the cells did not start from random values ({run['log']})")
        runs.append(
            {
                "seed": seed,
                "cells_randomized": int(m[1]),
                "cells_started_at_1": int(m[2]),
                "gate_level_mismatches": run["compare"]["mismatches"],
                "sram_count_check": run["sram_count_check"],
            }
        )
    return {
        "passed": True,
        "density": density,
        "events": len(stim.events),
        "runs": runs,
        "note": "every flop and latch of the standard cells starts at a seeded random 0/1 (one draw per cell, "
        "one run per seed; the clock gates' latches are transparent at the start and the SRAM models are not "
        "cells); the workload mixes all operations under backpressure; streams, hit flags and the SRAM macro "
        "accesses per window and per event equal the golden model's",
    }


def _sta(script: str, log: Path) -> str:
    log.parent.mkdir(parents=True, exist_ok=True)
    script_path = log.with_suffix(".tcl")
    script_path.write_text(script + "\nexit\n")
    run_tool(["sta", "-no_init", "-no_splash", str(script_path)], log)
    return log.read_text()


def sta_reports(
    netlist: Path, top: str, liberties: list[Path], clock_mhz: float, input_activity: dict, work: Path
) -> dict:
    """Timing at the target clock and OpenSTA's power estimate with the measured input activity.

    Debian's OpenSTA (2.0.17) cannot read a VCD or SAIF and its ``set_power_activity -pins`` is
    broken, so activity is given on the input ports only and propagated by OpenSTA itself.
    """
    period = 1000.0 / clock_mhz
    lines = [f"read_liberty {lib}" for lib in liberties]
    lines += [
        f"read_verilog {netlist}",
        f"link_design {top}",
        f"create_clock -name clk -period {period:.4f} [get_ports clk]",
        "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]",
        "set_output_delay 0 -clock clk [all_outputs]",
        "report_checks -path_delay max -digits 4",
        "report_worst_slack -digits 4",
    ]
    for port, act in sorted(input_activity.items()):
        lines.append(f"set_power_activity -input_ports [get_ports {{{port}}}] -activity {act:.6f} -duty 0.5")
    lines.append("report_power -digits 6")
    text = _sta("\n".join(lines), work / "sta.log")
    slack = re.search(r"worst slack\s+(-?[\d.]+)", text)
    power = {}
    for group in ("Sequential", "Combinational", "Macro", "Total"):
        m = re.search(rf"^{group}\s+([\d.e+-]+)\s+([\d.e+-]+)\s+([\d.e+-]+)\s+([\d.e+-]+)", text, flags=re.M)
        if m:
            power[group.lower()] = dict(
                zip(("internal_w", "switching_w", "leakage_w", "total_w"), map(float, m.groups()), strict=True)
            )
    return {"worst_slack_ns": float(slack.group(1)) if slack else None, "clock_period_ns": period, "power": power}


def _cycle_energy(
    cfg, design, ctx, run_cmd, model, n_macros, n_nets, period_s, work: Path, runs: list[dict], workload=None
) -> dict:
    """Dynamic energy of an idle cycle (after the image is loaded, no events: what clock gating
    removes) against the mean cycle of each operation's event windows."""
    density = cfg["characterization"]["densities"][0]
    stim = make_stimulus(cfg, design, density, 0, ("forward",), purpose="idle", workload=workload)
    out_file = simulate(run_cmd, ctx, stim, work, f"+idle={IDLE_CYCLES}", f"+activity={work / 'activity.txt'}")
    samples = parse_activity((work / "activity.txt").read_text(), n_macros, n_nets)
    # The samples: one at time 0, the baseline after the image is loaded, the end of the idle window.
    windows = [(a, b) for a, b in itertools.pairwise(samples) if b.events == 0 and b.cycles - a.cycles == IDLE_CYCLES]
    if "END" not in out_file.read_text() or len(windows) != 1:
        raise RuntimeError(f"idle-cycle run of {design.name} did not produce its window ({work})")
    a, b = windows[0]
    toggles = np.array(b.toggles) - np.array(a.toggles)
    sram = [(rb - ra, wb - wa) for (ra, wa), (rb, wb) in zip(a.sram, b.sram, strict=True)]
    idle = window_energy(model, toggles, sram, IDLE_CYCLES * period_s)
    if idle["sram_reads"] or idle["sram_writes"]:
        raise RuntimeError(f"{design.name}: the SRAM was accessed in an idle window")
    per_op = {}
    for op in OPERATIONS:
        means = op_means(runs, op, per="cycles")
        if means:
            per_op[op] = {"logic_j": means["logic_j"], "sram_j": means["sram_j"]}
    return {
        "idle_cycles": IDLE_CYCLES,
        "idle_logic_j": (idle["internal_j"] + idle["switching_j"]) / IDLE_CYCLES,
        "leakage_j": model.leakage_w * period_s + sum(m["leakage_w"] for m in model.macro_energy) * period_s,
        "active": per_op,
        "note": "per cycle at the configured clock: dynamic logic energy (internal + switching) of an idle "
        "cycle and the mean cycle of each operation's windows; SRAM access energy beside it; leakage per cycle "
        "(controller and macros) for scale",
    }


class StageClock:
    """Wall time of each stage of one characterization. Each stage is announced as it starts, so the
    job's log shows where a long characterization is; the times go into the result, so a pipeline
    profile can tell where characterization time goes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seconds: dict[str, float] = {}
        self._stage: str | None = None
        self._t0 = 0.0

    def begin(self, stage: str, detail: str = "") -> None:
        """End the running stage (if any) and start ``stage``."""
        self.end()
        progress(f"[characterize {self.name}] {stage}{': ' + detail if detail else ''}")
        self._stage, self._t0 = stage, time.perf_counter()

    def end(self) -> None:
        if self._stage is not None:
            elapsed = time.perf_counter() - self._t0
            self.seconds[self._stage] = round(self.seconds.get(self._stage, 0.0) + elapsed, 2)
            self._stage = None


def characterize(
    cfg: Mapping,
    design: Design,
    rtl_dir: Path,
    work: Path,
    out_json: Path,
    cache_dir: Path,
    workload: Mapping | None = None,
) -> dict:
    """Synthesize, simulate at gate level and compute energies; write ``out_json``. A trained
    layer's image and events come from its ``workload`` (:func:`spikemem.workloads.load_trained_workload`),
    at the weights' own density, instead of each configured density's random ones."""
    t_start = time.perf_counter()
    clock = StageClock(design.name)
    files = load_manifest(rtl_dir)
    ctx = design_context(cfg, design)
    top = ctx["prefix"]
    pdk = load_pdk_config(cfg["pdk"])
    root = pdk_root()
    macro_names = sorted({m["macro"] for m in ctx["memories"] if m["implementation"] == "sram"})
    std_lib = root / pdk.stdcell["liberty"]
    macro_libs = [root / pdk.sram_macros[m].liberty for m in macro_names]

    # ---- synthesis
    clock.begin("synthesis", "SiliconCompiler, Yosys")
    syn = synthesize(top, design_sources(files), macro_names, cfg, work / "sc", cache_dir=Path(cache_dir))
    netlist = find_netlist(work / "sc" / "build", top)
    synth_metrics = metrics_of(syn["project"])

    # ---- gate-level simulation set-up
    clock.begin("netlist", "flatten, connectivity, counting module")
    gl_dir = work / "gl"
    gl_dir.mkdir(parents=True, exist_ok=True)
    gl_v, gl_json = prepare_netlist(netlist, top, [std_lib, *macro_libs], gl_dir)
    conn = load_connectivity(gl_json, top)
    instances = macro_instances(conn, pdk.sram_macros)
    groups = memory_macros(instances, ctx["memories"])  # macro counters -> logical memories, lanes
    act_src, order = activity_module(conn, instances)
    (gl_dir / "activity.v").write_text(act_src)
    icg = (pdk.clock_gate["cell"],) if pdk.clock_gate else ()  # modelled beside the netlist (render)
    cells_v = cell_models(std_lib, Path(cache_dir) / f"{pdk.stdcell['library']}.cells.v", exclude=icg)
    simulator = cfg["characterization"]["simulator"]
    n_nets = len(order)
    clock.begin("simulator build", f"{simulator}, {n_nets} nets")
    run_cmd = build_gate_sim(
        simulator, gl_v, files["testbench"], cells_v, simulation_models(files), gl_dir / "activity.v", gl_dir, n_nets
    )

    clock.begin("energy model", "Liberty energies of every cell and macro")
    std = load_library(std_lib, cache_dir)
    macro_models, lib_cells = {}, dict(std["cells"])
    for name, lib in zip(macro_names, macro_libs, strict=True):
        macro_lib = load_library(lib, cache_dir)
        macro_models[name] = sram_access_energy(macro_lib, name)
        lib_cells[name] = macro_lib["cells"][name]  # the macro's pin capacitances load the nets driving it
    voltage = float(pdk.stdcell["voltage"])
    model = build_energy_model(conn, order, lib_cells, macro_models, instances, voltage)
    if model.unknown_cells:
        raise RuntimeError(f"cells without Liberty data in the netlist: {model.unknown_cells}")
    period_s = 1e-6 / cfg["clock_mhz"]

    # ---- workloads: each operation alone, at each density
    banks = {m["name"]: m["lanes"] * m["banks"] for m in ctx["memories"] if m["implementation"] == "sram"}
    n_events = characterization_events(cfg, design)
    runs, port_toggles, port_cycles = [], Counter(), 0
    for density in [None] if design.trained else cfg["characterization"]["densities"]:
        for op in design_operations(cfg, design):
            stim = make_stimulus(cfg, design, density, n_events, (op,), purpose="characterize", workload=workload)
            if not stim.events:
                continue
            density = stim.density
            d_dir = gl_dir / f"{op}-d{density:g}"
            # An always-ready sink: the energy is the controller's own, not a stalled consumer's.
            where = f"{design.name} {op} at density {density}"
            clock.begin("gate-level runs", f"{op} at density {density:g}, {len(stim.events)} events")
            run = _gate_run(run_cmd, ctx, stim, d_dir, groups, n_nets, where, "+backpressure=0")
            check, samples = run["compare"], run["samples"]
            windows = []
            for a, b in zip(samples[:-1], samples[1:], strict=True):
                if b.events == a.events:
                    continue  # the load phase before the first sample: no events, nothing counted
                toggles = np.array(b.toggles) - np.array(a.toggles)
                sram = [(rb - ra, wb - wa) for (ra, wa), (rb, wb) in zip(a.sram, b.sram, strict=True)]
                cycles = b.cycles - a.cycles
                energy = window_energy(model, toggles, sram, cycles * period_s)
                features = sum(
                    (
                        Counter(event_features(op, stim.expected_outputs[e], stim.expected_counts[e], banks))
                        for e in range(a.events, b.events)
                    ),
                    Counter(),
                )
                windows.append(
                    {
                        "events": b.events - a.events,
                        "cycles": cycles,
                        **{name: features[name] for name in WINDOW_COUNTS[1:]},
                        # recorded for a model with the bank structure (docs/energy.md)
                        **{name: features[name] for name in ("bank_reads", "bank_writes")},
                        **energy,
                        "dynamic_j": dynamic(energy),
                    }
                )
            # Port activity for the OpenSTA cross-check (transitions per cycle of each input port).
            first, last = next(x for x in samples if x.events == 0 and x.cycles > 0), samples[-1]
            port_cycles += last.cycles - first.cycles
            for k, bit in enumerate(order):
                name = conn.names[bit]
                base = name.split("[")[0]
                if base in conn.ports and conn.ports[base]["direction"] == "input" and base != "clk":
                    port_toggles[base] += last.toggles[k] - first.toggles[k]
            runs.append(
                {
                    "operation": op,
                    "density": density,
                    "events": len(stim.events),
                    "cycles": last.cycles - first.cycles,
                    "gate_level_mismatches": check["mismatches"],
                    "sram_count_check": run["sram_count_check"],
                    "windows": windows,
                }
            )

    clock.begin("reset check", f"{RESET_CHECK_SEEDS} random start states")
    reset = reset_check(cfg, design, ctx, run_cmd, groups, n_nets, gl_dir / "reset-check", workload)

    clock.begin("idle cycle", f"{IDLE_CYCLES} cycles without events")
    cycle_energy = _cycle_energy(
        cfg, design, ctx, run_cmd, model, len(instances), n_nets, period_s, gl_dir / "idle", runs, workload
    )

    # ---- OpenSTA: timing, and its power estimate beside ours
    widths = {p: len(v["bits"]) for p, v in conn.ports.items()}
    activity = {p: t / max(1, port_cycles) / widths[p] for p, t in port_toggles.items()}
    clock.begin("opensta", "timing and power cross-check")
    sta = sta_reports(netlist, top, [std_lib, *macro_libs], cfg["clock_mhz"], activity, work / "sta")
    totals = {
        k: sum(w[k] for r in runs for w in r["windows"])
        for k in ("internal_j", "switching_j", "logic_leakage_j", "sram_read_j", "sram_write_j", "sram_leakage_j")
    }
    total_s = sum(r["cycles"] for r in runs) * period_s
    ours_logic_w = (
        (totals["internal_j"] + totals["switching_j"] + totals["logic_leakage_j"]) / total_s if total_s else 0
    )
    sta_logic_w = None
    if "sequential" in sta["power"] and "combinational" in sta["power"]:
        # Debian's OpenSTA books the macros under Combinational; take out their clock-pin energy at
        # one access per cycle, the rate it assumes for a clocked macro.
        macro_w = sum(2 * m["read_j"] / 2 / period_s + m["leakage_w"] for m in model.macro_energy)
        sta_logic_w = sta["power"]["sequential"]["total_w"] + sta["power"]["combinational"]["total_w"] - macro_w
    clock.end()
    reset["seconds"] = round(clock.seconds["reset check"], 1)
    # The simulator's build and everything run on it: the stages from the build to the idle cycle.
    simulated = ("simulator build", "energy model", "gate-level runs", "reset check", "idle cycle")
    cell_types = Counter(c["type"] for c in conn.cells.values())
    result = {
        "design": design.as_dict(),
        "top": top,
        **({"workload": workload["meta"]} if workload is not None else {}),
        # Energy, activity and timing all come from the synthesized netlist (find_netlist), without
        # parasitics, whatever flow SiliconCompiler ran: their flow level is synthesis. A placed and
        # routed run is recorded as what ran (flow_run), never as the level of these numbers.
        "flow_level": ENERGY_FLOW_LEVEL,
        "flow_run": syn["flow_level"],
        "synthesis": {
            **synth_metrics,
            "cells_by_type": dict(sorted(cell_types.items())),
            "stdcell_area_um2": sum(std["cells"][t]["area"] * n for t, n in cell_types.items() if t in std["cells"]),
            "macros": {t: n for t, n in cell_types.items() if t in pdk.sram_macros},
            "netlist": str(netlist),
            # The standard-cell Liberty Yosys read: the reduced copy (synthesis_liberty) or the full one.
            "liberty": syn["liberty"] or {"source": str(std_lib), "reduced": False},
        },
        "timing": {"clock_mhz": cfg["clock_mhz"], **{k: sta[k] for k in ("worst_slack_ns", "clock_period_ns")}},
        "memory": ctx["memories"],
        "sram_access_energy": macro_models,
        "leakage_w": {"logic": model.leakage_w, "sram": sum(m["leakage_w"] for m in model.macro_energy)},
        "clock_gating": dict(cfg["clock_gating"]),
        "gate_simulation": {
            "simulator": simulator,
            "nets": n_nets,
            "counting": "changes of each net's settled value between samples 2.5 ns after every clock edge "
            "(zero-delay glitches are not counted)",
            "build_s": clock.seconds["simulator build"],
            "build_and_runs_s": round(sum(clock.seconds.get(stage, 0.0) for stage in simulated), 2),
        },
        "stage_seconds": clock.seconds,
        "cycle_energy": cycle_energy,
        "runs": runs,
        "reset_check": reset,
        "cross_check": {
            "ours_logic_power_w": ours_logic_w,
            "opensta_logic_power_w": sta_logic_w,
            "opensta_report": sta["power"],
            "input_port_activity": activity,
            "note": "ours: counted transitions of every net x Liberty energies; OpenSTA 2.0.17: activity on "
            "input ports only (no read_vcd, -pins broken), propagated vectorlessly",
        },
        "provenance": provenance(
            cfg,
            stage="characterize",
            flow_level=ENERGY_FLOW_LEVEL,
            flow_run=syn["flow_level"],
            yosys=syn["yosys"],
            tools={k: v.version for k, v in discover().items()},
            pdk_files={str(p.relative_to(root)): sha256(p) for p in [std_lib, *macro_libs]},
            seconds=round(time.perf_counter() - t_start, 1),
        ),
    }
    atomic_write_json(out_json, result)
    return result
