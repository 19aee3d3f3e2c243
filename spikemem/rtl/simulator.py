"""The simulator driver: the testbench's stimulus files, building the testbench and design in Icarus
Verilog or Verilator, and running it.

RTL verification (:mod:`spikemem.rtl.verify`) and gate-level characterization
(:mod:`spikemem.synth.characterize`) both drive the testbench through it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ..processes import run_tool
from .render import SIM_DEFINE, design_sources, simulation_models

SIMULATORS = ("icarus", "verilator")
OP_CODES = {"forward": 0, "backward": 1, "update": 2, "backward_row": 3}


class SimulationInput(Protocol):
    """What the testbench is fed: the load port's words and the events to play, in order."""

    loads: list[int]
    events: list[tuple[str, tuple[int, ...]]]


def _hex_lines(values: list[int], bits: int) -> str:
    digits = (bits + 3) // 4
    return "".join(f"{v:0{digits}x}\n" for v in values)


def mask_words(posts: tuple[int, ...], n_post: int, word_bits: int) -> list[int]:
    """The error mask of a row-stream event as the words the load port writes (bit j of the mask
    is bit j % word_bits of word j // word_bits)."""
    words = [0] * -(-n_post // word_bits)
    for j in posts:
        words[j // word_bits] |= 1 << (j % word_bits)
    return words


def write_stimulus(ctx: Mapping, stim: SimulationInput, directory: Path) -> tuple[Path, Path, Path, int]:
    """The testbench's load, event and error-mask files; returns them and the number of mask words."""
    directory.mkdir(parents=True, exist_ok=True)
    pre_b, post_b, d_b = ctx["pre_bits"], ctx["post_bits"], ctx["delta_bits"]
    records, masks = [], []
    for op, ev in stim.events:
        if op == "backward_row":
            masks += mask_words(ev, ctx["n_post"], ctx["word_bits"])
            pre = post = delta = 0
        else:
            pre = ev[0] if op != "backward" else 0
            post = ev[0] if op == "backward" else (ev[1] if op == "update" else 0)
            delta = (ev[2] & ((1 << d_b) - 1)) if op == "update" else 0
        records.append((((OP_CODES[op] << pre_b | pre) << post_b | post) << d_b) | delta)
    load_file, event_file = directory / "load.hex", directory / "events.hex"
    mask_file = directory / "masks.hex"
    load_file.write_text(_hex_lines(stim.loads, ctx["load_sel_bits"] + ctx["load_addr_bits"] + ctx["word_bits"]))
    event_file.write_text(_hex_lines(records, 2 + pre_b + post_b + d_b))
    mask_file.write_text(_hex_lines(masks, ctx["word_bits"]))
    return load_file, event_file, mask_file, len(masks)


def simulate(run_cmd: list[str], ctx: Mapping, stim: SimulationInput, directory: Path, *plusargs: str) -> Path:
    """Write the stimulus files into ``directory``, run the testbench on them and return the path
    of its output (streams and per-event results)."""
    if len(stim.events) > ctx["max_events"]:
        raise ValueError(
            f"{len(stim.events)} events, more than the testbench holds ({ctx['max_events']}): rerender the design"
        )
    load_file, event_file, mask_file, n_masks = write_stimulus(ctx, stim, directory)
    out_file = directory / "out.txt"
    run_tool(
        [
            *run_cmd,
            f"+load={load_file}",
            f"+nload={len(stim.loads)}",
            f"+events={event_file}",
            f"+nevents={len(stim.events)}",
            f"+out={out_file}",
            f"+masks={mask_file}",
            f"+nmasks={n_masks}",
            *plusargs,
        ],
        directory / "sim.log",
    )
    return out_file


def build_simulator(simulator: str, files: Mapping[str, Path], work: Path) -> list[str]:
    """Compile the testbench and design; return the command that runs the simulation."""
    sources = [str(p) for p in [files["testbench"], *design_sources(files), *simulation_models(files)]]
    work.mkdir(parents=True, exist_ok=True)
    if simulator == "icarus":
        binary = work / "sim.vvp"
        run_tool(["iverilog", "-g2005", f"-D{SIM_DEFINE}", "-s", "tb", "-o", str(binary), *sources], work / "build.log")
        return ["vvp", "-n", str(binary)]
    return verilator_build(sources, [f"-D{SIM_DEFINE}"], work / "obj", work / "build.log")


# Verilator's runtime (verilated.cpp and the timing and thread support) is the same C++ for every
# design: compiled through ccache it is compiled once per machine instead of once per build.
VERILATOR_OBJCACHE = "ccache"


def verilator_build(
    sources: list[str], defines: list[str], obj: Path, log: Path, opt: str = "-O0", prefix: str = "Vtb"
) -> list[str]:
    """Verilate and compile ``sources`` with the testbench ``tb`` on top (``--binary --timing``);
    return the command that runs the binary. ``opt`` is the C++ optimization level: the designs
    are small and runs short, so an unoptimized build (about half the compile time) is the default.
    ``prefix`` names the generated classes and the binary."""
    # One translation unit (VM_PARALLEL_BUILDS=0): the headers every generated file includes cost
    # about a second each, so one unit compiles in about half the CPU time of a parallel build.
    makeflags = f"OPT_FAST={opt} OPT_SLOW={opt} OPT_GLOBAL={opt} VM_PARALLEL_BUILDS=0"
    if shutil.which(VERILATOR_OBJCACHE):
        makeflags += f" OBJCACHE={VERILATOR_OBJCACHE}"
    run_tool(
        [
            "verilator",
            "--binary",
            "--timing",
            *defines,
            "-Wno-fatal",
            "-Wno-lint",
            "-Wno-style",
            "--top-module",
            "tb",
            "--prefix",
            prefix,
            "-Mdir",
            str(obj),
            "--build-jobs",
            "1",
            "-MAKEFLAGS",
            makeflags,
            *sources,
        ],
        log,
    )
    return [str(obj / prefix)]


def simulators_available() -> dict[str, bool]:
    return {
        "icarus": bool(shutil.which("iverilog") and shutil.which("vvp")),
        "verilator": bool(shutil.which("verilator")),
    }
