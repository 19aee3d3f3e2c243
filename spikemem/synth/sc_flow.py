"""Synthesis through SiliconCompiler 0.38 on the local sky130 PDK tree, with the OpenRAM macros.

No lambdapdk downloads: the PDK, the standard-cell library and every SRAM macro are defined here
from the files that ``pdk_configs/<pdk>.yaml`` names under ``$PDK_ROOT``. Yosys is the real one
from PATH when it is new enough, else the pyosys front-end (:mod:`spikemem.synth.yosys_frontend`).
OpenROAD stages run only where an ``openroad`` binary is installed; every result records the flow
level that produced it.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from ..pdk import PdkConfig, load_pdk_config, pdk_root
from ..processes import ToolError, log_tail
from ..tools import discover, flow_level

CORNER = "typical"


def _yosys_frontend_dir(work: Path) -> Path:
    """A directory holding a ``yosys`` executable that runs the pyosys front-end."""
    bin_dir = work / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "yosys"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m spikemem.synth.yosys_frontend "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


def select_yosys(work: Path) -> dict:
    """Put a suitable ``yosys`` first on PATH for SiliconCompiler; return what was chosen."""
    tools = discover()
    if tools["yosys"].usable:
        return {"yosys": tools["yosys"].path, "yosys_version": tools["yosys"].version, "frontend": "yosys"}
    if not tools["pyosys"].usable:
        raise ToolError(
            "yosys",
            "no usable Yosys: install a yosys >= 0.48 with Tcl on PATH, or `pip install pyosys` "
            f"(found: {tools['yosys'].version or 'no yosys'})",
        )
    bin_dir = _yosys_frontend_dir(work)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    return {"yosys": str(bin_dir / "yosys"), "yosys_version": tools["pyosys"].version, "frontend": "pyosys"}


def _libraries(pdk_cfg: PdkConfig, root: Path, macros: list[str], stdcell_liberty: Path | None = None):
    """SiliconCompiler PDK, standard-cell library and macro libraries from local files; the
    standard cells' timing model is ``stdcell_liberty`` where given (an absolute path), else the
    configuration's Liberty."""
    from siliconcompiler.library import StdCellLibrary
    from siliconcompiler.pdk import PDK
    from siliconcompiler.tools.yosys import YosysStdCellLibrary

    sc = pdk_cfg.stdcell

    class LocalSky130(PDK):
        def __init__(self):
            super().__init__()
            self.set_name("skywater130")
            self.set_foundry("skywater")
            self.set_node(130)
            self.set_stackup("5M1LI")
            self.set_dataroot("pdk_root", str(root))
            with self.active_dataroot("pdk_root"), self.active_fileset("views.lef"):
                self.add_file(sc["techlef"], filetype="lef")
                self.add_aprtechfileset("openroad")
            self.set_aprroutinglayers(min="met1", max="met5")

    pdk = LocalSky130()

    class LocalStdCells(YosysStdCellLibrary):
        def __init__(self):
            super().__init__()
            self.set_name(sc["library"])
            self.add_asic_pdk(pdk)
            self.add_asic_site("unithd")
            self.set_dataroot("pdk_root", str(root))
            with self.active_dataroot("pdk_root"):
                with self.active_fileset(f"models.timing.{CORNER}.nldm"):
                    self.add_file(str(stdcell_liberty) if stdcell_liberty else sc["liberty"])
                    self.add_asic_libcornerfileset(CORNER, "nldm")
                with self.active_fileset("models.physical"):
                    self.add_file(sc["lef"])
                    self.add_asic_aprfileset()
            self.add_asic_celllist("dontuse", list(sc["dont_use"]))
            tie_cell, _ = sc["tie_hi"].split("/")
            self.add_asic_celllist("tie", tie_cell)
            buf_cell, buf_in, buf_out = sc["buffer"].split("/")
            self.set_yosys_driver_cell(buf_cell)
            self.set_yosys_buffer_cell(buf_cell, buf_in, buf_out)
            self.set_yosys_tiehigh_cell(*sc["tie_hi"].split("/"))
            self.set_yosys_tielow_cell(*sc["tie_lo"].split("/"))
            # Liberty times are in ns; abc wants ps. Load: a few fF at the outputs.
            self.set_yosys_abc(1000, 11)

    def macro_library(name: str):
        files = pdk_cfg.sram_macros[name]

        class Macro(StdCellLibrary):
            def __init__(self):
                super().__init__()
                self.set_name(name)
                self.add_asic_pdk(pdk)
                self.set_dataroot("pdk_root", str(root))
                with self.active_dataroot("pdk_root"):
                    # The macro's Liberty must belong to a corner the scenario lists, or SiliconCompiler
                    # drops it silently and Yosys sees an undefined module.
                    with self.active_fileset(f"models.timing.{CORNER}.nldm"):
                        self.add_file(files.liberty)
                        self.add_asic_libcornerfileset(CORNER, "nldm")
                    with self.active_fileset("models.physical"):
                        self.add_file(files.lef)
                        self.add_asic_aprfileset()

        return Macro()

    return pdk, LocalStdCells(), [macro_library(m) for m in macros]


def write_sdc(path: Path, clock_mhz: float) -> None:
    period = 1000.0 / clock_mhz
    path.write_text(
        f"create_clock -name clk -period {period:.4f} [get_ports clk]\n"
        "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]\n"
        "set_output_delay 0 -clock clk [all_outputs]\n"
    )


def synthesize(
    top: str,
    sources: list[Path],
    macros: list[str],
    cfg: Mapping,
    work: Path,
    jobname: str = "synth",
    cache_dir: Path | None = None,
) -> dict:
    """Run the flow on one design. Returns the project, the flow level, the Yosys used and the
    standard-cell Liberty synthesis read (``liberty``: None for the configuration's own, else the
    description of the reduced copy, :func:`spikemem.synth.synthesis_liberty.synthesis_liberty`).

    At the synthesis-only flow level, with a ``cache_dir`` for it, Yosys reads the reduced Liberty;
    a placed-and-routed flow reads the full one (its power and timing steps need every group)."""
    from siliconcompiler import ASIC, Design
    from siliconcompiler.flows import asicflow, synflow

    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    yosys = select_yosys(work)
    pdk_cfg = load_pdk_config(cfg["pdk"])
    root = pdk_root()
    level = flow_level(discover())
    liberty, reduced = None, None
    if level == "synthesis" and cache_dir is not None:
        from .synthesis_liberty import synthesis_liberty

        liberty, reduced = synthesis_liberty(root / pdk_cfg.stdcell["liberty"], pdk_cfg.stdcell["dont_use"], cache_dir)
    pdk, stdlib, macro_libs = _libraries(pdk_cfg, root, macros, liberty)

    sdc = work / f"{top}.sdc"
    write_sdc(sdc, cfg["clock_mhz"])
    design = Design(top)
    design.set_dataroot("work", str(work))
    with design.active_fileset("rtl"):
        design.set_topmodule(top)
        for src in sources:
            design.add_file(str(Path(src).resolve()))
    with design.active_fileset("sdc"):
        design.add_file(str(sdc))

    project = ASIC(design)
    project.add_fileset(["rtl", "sdc"])
    project.set_pdk(pdk)
    project.set_mainlib(stdlib)
    for lib in macro_libs:
        project.add_asiclib(lib)
    if level == "placed_and_routed":
        project.set_flow(asicflow.ASICFlow())
    else:
        project.set_flow(synflow.SynthesisFlow())
        project.option.add_to("synthesis")
    gating = cfg["clock_gating"]
    if gating["registers"]:
        # Yosys's clockgate pass puts enable registers behind the library's integrated clock gate
        # (the one cell of its kind outside the dont-use list), so idle registers see no clock.
        from siliconcompiler.tools.yosys.syn_asic import ASICSynthesis

        task = ASICSynthesis.find_task(project)
        task.set_yosys_mapclockgates(True)
        task.set_yosys_minclockgatefanout(gating["min_fanout"])
    scenario = project.constraint.timing.make_scenario(CORNER)
    scenario.add_libcorner(CORNER)
    scenario.set_pexcorner(CORNER)
    scenario.add_check(["setup", "hold", "power"])
    project.set_asic_delaymodel("nldm")
    project.constraint.area.set_density(40)
    project.constraint.area.set_coremargin(1)
    project.option.set_builddir(str(work / "build"))
    project.option.set_jobname(jobname)
    project.option.set_clean(True)
    project.option.set_quiet(True)
    project.option.set_nodisplay(True)
    run_project(project, work / "build")
    return {"project": project, "flow_level": level, "yosys": yosys, "liberty": reduced}


# The tool behind each step of the flows used here (the OpenROAD steps of asicflow run openroad).
STEP_TOOLS = {"elaborate": "slang", "synthesis": "yosys"}


def run_project(project, build_dir: Path) -> None:
    """Run a SiliconCompiler project; a failed run raises :class:`ToolError` naming the step that
    failed, with its log (SiliconCompiler itself says only "Run failed")."""
    try:
        project.run()
    except RuntimeError as e:
        log = failed_step_log(build_dir)
        step = log.parent.parent.name if log and log.name != "job.log" else None
        tool = STEP_TOOLS.get(step or "", "siliconcompiler")
        what = f"SiliconCompiler's {step} step ({tool})" if step else "SiliconCompiler"
        raise ToolError(tool, f"{what} failed: {e}", log, log_tail(log) if log else "") from None


def failed_step_log(build_dir: Path) -> Path | None:
    """The log of the step SiliconCompiler ran last (``<step>/<index>/<step>.log``, the one that
    failed when a run fails), else its job log."""
    steps = [p for p in build_dir.glob("*/*/*/*/*.log") if p.stem == p.parent.parent.name]
    if steps:
        return max(steps, key=lambda p: p.stat().st_mtime_ns)
    jobs = sorted(build_dir.glob("*/*/job.log"))
    return jobs[-1] if jobs else None


def find_netlist(build_dir: Path, top: str) -> Path:
    """The synthesized gate-level Verilog SiliconCompiler wrote for ``top``."""
    candidates = sorted(build_dir.rglob(f"outputs/{top}.vg")) + sorted(build_dir.rglob(f"outputs/{top}.v"))
    candidates = [c for c in candidates if "synthesis" in c.parts]
    if not candidates:
        raise FileNotFoundError(f"no synthesized netlist for {top} under {build_dir}")
    return candidates[-1]


def metrics_of(project, jobname: str = "synth") -> dict:
    """Metrics SiliconCompiler recorded for the synthesis step."""
    hist = project.history(jobname)
    out = {}
    for metric in ("cellarea", "stdcellarea", "macroarea", "cells", "registers", "nets", "pins", "warnings", "errors"):
        try:
            value = hist.get("metric", metric, step="synthesis", index="0")
        except Exception:  # noqa: BLE001 - a metric a step did not record
            value = None
        out[metric] = value
    return out


__all__ = ["synthesize", "run_project", "find_netlist", "metrics_of", "select_yosys", "json"]
