"""Gate-level simulation of a synthesized netlist and the activity it produces.

The netlist is flattened and its nets split to single bits (Yosys), its cells simulated with models
Yosys derives from the Liberty's cell functions (``read_liberty -ignore_miss_func``), the SRAM
macros with the project's models. Instead of a VCD (Verilator's omits internal cell nets; a VCD of
every net is large), a generated module counts every net's transitions inside Icarus and samples
the counts, with the SRAM models' access counters, at each activity window the testbench marks.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..atomic_files import atomic_path
from ..processes import run_tool


def _yosys(commands: list[str], log: Path) -> None:
    """Run Yosys commands in-process (pyosys), logging to ``log``."""
    import sys

    from pyosys import libyosys as ys

    from .yosys_frontend import _flush_all

    log.parent.mkdir(parents=True, exist_ok=True)
    _flush_all()
    saved = os.dup(1)
    with open(log, "w") as f:
        os.dup2(f.fileno(), 1)
        try:
            design = ys.Design()
            for cmd in commands:
                ys.run_pass(cmd, design)
        finally:
            _flush_all()
            os.dup2(saved, 1)
            os.close(saved)
    del sys


CELL_MODEL_VERSION = "init0"


def cell_models(liberty: Path, out: Path, exclude: tuple[str, ...] = ()) -> Path:
    """Verilog models of the library's cells, from the Liberty functions (cached).

    Their state elements start at 0: a real flop powers up to a definite value, while Verilog's X
    can survive a synchronous reset through the X-pessimism of the cells' Boolean functions (a
    controller whose state stays X looks, to the testbench, like one that never finishes).
    ``exclude`` names cells whose Liberty has no function (the clock gates): a module Yosys may
    derive for them would drive nothing, so it is left out for a model supplied beside the netlist.
    """
    tag = CELL_MODEL_VERSION + "".join(f"-{name}" for name in sorted(exclude))
    out = out.with_name(f"{out.stem}.{tag}{out.suffix}")  # a new version never reuses an old cache
    if not out.exists():
        # Concurrent jobs each let Yosys write their own file and then replace the cache atomically.
        with atomic_path(out, suffix=".yosys.v") as tmp:
            log = Path(f"{tmp}.log")
            _yosys([f"read_liberty -ignore_miss_func {liberty}", f"write_verilog -noattr {tmp}"], log)
            text = re.sub(r"^(\s*)reg (\\?[\w$]+) ?;", r"\1reg \2 = 1'b0;", tmp.read_text(), flags=re.M)
            for name in exclude:
                text, n = re.subn(rf"^module \\?{re.escape(name)}\b.*?^endmodule\s*$", "", text, flags=re.M | re.S)
                if n > 1:
                    raise RuntimeError(f"{liberty}: {n} modules {name} among the cell models")
            tmp.write_text(text)
            log.unlink(missing_ok=True)
    return out


def prepare_netlist(netlist: Path, top: str, liberties: list[Path], work: Path) -> tuple[Path, Path]:
    """Flatten, split nets to bits, and write the simulation netlist and its JSON connectivity."""
    gl_v, gl_json = work / "gl.v", work / "gl.json"
    cmds = [f"read_liberty -lib {lib}" for lib in liberties]
    cmds += [
        f"read_verilog {netlist}",
        f"hierarchy -top {top}",
        "flatten",
        "splitnets",
        f"write_verilog -noattr -norename {gl_v}",
        f"write_json {gl_json}",
    ]
    _yosys(cmds, work / "prepare.log")
    return gl_v, gl_json


@dataclass
class Connectivity:
    """Single-bit nets of the flattened netlist: names, drivers and loads."""

    names: dict[int, str]  # net bit id -> a hierarchical name usable from the testbench
    cells: dict[str, dict]  # instance -> {"type": ..., "connections": {pin: [bit]}, "directions": {...}}
    ports: dict[str, dict]


def load_connectivity(gl_json: Path, top: str) -> Connectivity:
    data = json.loads(gl_json.read_text())
    mod = data["modules"][top]
    names: dict[int, str] = {}
    # Ports first (their names are what the testbench connects), then public nets, then the rest.
    for pname, port in mod["ports"].items():
        for i, bit in enumerate(port["bits"]):
            if isinstance(bit, int):
                names.setdefault(bit, f"{pname}[{i}]" if len(port["bits"]) > 1 else pname)
    for hide in (0, 1):
        for nname, net in mod["netnames"].items():
            if net.get("hide_name", 0) != hide:
                continue
            for i, bit in enumerate(net["bits"]):
                if isinstance(bit, int) and bit not in names:
                    names[bit] = nname if len(net["bits"]) == 1 else f"{nname}[{i}]"
    cells = {
        name: {"type": c["type"], "connections": c["connections"], "directions": c.get("port_directions", {})}
        for name, c in mod["cells"].items()
    }
    return Connectivity(names, cells, mod["ports"])


def _ref(name: str, ports: Mapping | None = None) -> str:
    """A hierarchical reference from the testbench to net ``name`` inside ``dut``: a port keeps
    its vector (``port[i]``); every other net is a split single-bit wire with an escaped name."""
    base = name.split("[")[0]
    if ports is not None and base in ports:
        return f"tb.dut.{name}"
    escaped = name if name.startswith("\\") else "\\" + name
    return f"tb.dut.{escaped} "


def activity_module(conn: Connectivity, macros: dict[str, str]) -> tuple[str, list[int]]:
    """Verilog of the counting module, and the net ids in the order of the counts it writes."""
    order = sorted(conn.names)
    lines = [
        "// Generated by spikemem: counts every net's transitions while tb.counting is high and",
        "// writes one sample per tb.snapshot toggle: events, cycles, SRAM reads/writes, net counts.",
        "module spikemem_activity;",
        f"    integer counts [0:{max(len(order) - 1, 0)}];",
        "    integer k, fd;",
        "    reg [8*512-1:0] path;",
        "    initial begin",
        f"        for (k = 0; k < {len(order)}; k = k + 1) counts[k] = 0;",
        '        if (!$value$plusargs("activity=%s", path)) path = "activity.txt";',
        '        fd = $fopen(path, "w");',
        "    end",
    ]
    for k, bit in enumerate(order):
        ref = _ref(conn.names[bit], conn.ports)
        lines.append(f"    always @({ref}) if (tb.counting) counts[{k}] = counts[{k}] + 1;")
    macro_refs = " ".join(f"{_ref(inst)}.n_reads, {_ref(inst)}.n_writes," for inst in macros)
    lines += [
        "    always @(tb.snapshot) begin",
        '        $fwrite(fd, "S %0d %0d", tb.events_done, tb.now);',
    ]
    for inst in macros:
        lines.append(f'        $fwrite(fd, " %0d %0d", {_ref(inst)}.n_reads, {_ref(inst)}.n_writes);')
    lines += [
        f'        for (k = 0; k < {len(order)}; k = k + 1) $fwrite(fd, " %0d", counts[k]);',
        '        $fwrite(fd, "\\n");',
        "        $fflush(fd);",
        "    end",
        "endmodule",
    ]
    del macro_refs
    return "\n".join(lines) + "\n", order


@dataclass
class Sample:
    events: int
    cycles: int
    sram: list[tuple[int, int]]
    toggles: list[int]


def parse_activity(text: str, n_macros: int) -> list[Sample]:
    samples = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0] != "S":
            continue
        nums = [int(v) for v in parts[1:]]
        sram = [(nums[2 + 2 * m], nums[3 + 2 * m]) for m in range(n_macros)]
        samples.append(Sample(nums[0], nums[1], sram, nums[2 + 2 * n_macros :]))
    return samples


def build_gate_sim(
    gl_v: Path, testbench: Path, cells_v: Path, sram_models: list[Path], activity_v: Path, work: Path
) -> list[str]:
    binary = work / "gl.vvp"
    run_tool(
        [
            "iverilog",
            "-g2005",
            "-DSPIKEMEM_GATE_SIM",
            "-s",
            "tb",
            "-s",
            "spikemem_activity",
            "-o",
            str(binary),
            str(testbench),
            str(gl_v),
            str(cells_v),
            *map(str, sram_models),
            str(activity_v),
        ],
        work / "gl_build.log",
    )
    return ["vvp", "-n", str(binary)]


def macro_instances(conn: Connectivity, macro_names: Mapping[str, object]) -> dict[str, str]:
    """Instance name -> macro cell type for every SRAM macro in the netlist."""
    return {name: c["type"] for name, c in sorted(conn.cells.items()) if c["type"] in macro_names}
