"""Synthesis and energy: the pyosys Yosys front-end, Liberty energies, the energy model, the
whole chain on one small design per encoding, and the cost-model fit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from spikemem.config import designs, load_config
from spikemem.encodings import REGISTRY


def test_yosys_frontend_version_and_tcl(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "spikemem.synth.yosys_frontend", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("Yosys 0.")
    (tmp_path / "m.v").write_text("module m(input a, input b, output y); assign y = a & b; endmodule\n")
    (tmp_path / "s.tcl").write_text(
        f"yosys read_verilog {tmp_path / 'm.v'}\n"
        "yosys hierarchy -top m\n"
        "set listing [yosys tee -q -s result.string ls]\n"
        "rtlil::set_attr -mod -uint m gate_cost_equivalent 7\n"
        'puts "LISTING=[string trim $listing] HAS=[rtlil::has_attr -mod m gate_cost_equivalent]"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "spikemem.synth.yosys_frontend", "-c", str(tmp_path / "s.tcl")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-2000:]
    assert "LISTING=1 modules:" in out.stdout and "HAS=1" in out.stdout
    # A failing Yosys command ends the run with an ERROR line and a non-zero exit, as Yosys does.
    (tmp_path / "bad.tcl").write_text("yosys no_such_pass\nputs NOT_REACHED\n")
    out = subprocess.run(
        [sys.executable, "-m", "spikemem.synth.yosys_frontend", "-c", str(tmp_path / "bad.tcl")],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "ERROR" in out.stdout + out.stderr and "NOT_REACHED" not in out.stdout


@pytest.fixture(scope="session")
def liberty_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("liberty")


def test_sram_access_energy_comes_from_the_macro_liberty(pdk, liberty_cache):
    pdk_root_env = pdk
    from pathlib import Path

    from spikemem.synth.liberty_model import load_library, sram_access_energy

    lib = (
        Path(pdk_root_env) / "sky130A/libs.ref/sky130_sram_macros/lib/sky130_sram_1kbyte_1rw1r_32x256_8_TT_1p8V_25C.lib"
    )
    e = sram_access_energy(load_library(lib, liberty_cache), "sky130_sram_1kbyte_1rw1r_32x256_8")
    # The Liberty's clk0 internal power is 9.589466 (pF * V^2 = pJ) per edge: 19.18 pJ per access.
    assert e["read_j"] == pytest.approx(2 * 9.589466e-12, rel=1e-6)
    assert e["write_j"] == pytest.approx(2 * 9.589466e-12, rel=1e-6)
    assert e["leakage_w"] == pytest.approx(0.009516e-3, rel=1e-6)


def test_energy_model_on_a_hand_checked_netlist():
    from spikemem.synth.energy_model import build_energy_model, window_energy
    from spikemem.synth.gatelevel import Connectivity

    cells = {
        "inv": {
            "leakage_w": 1e-12,
            "pins": {
                "A": {"direction": "input", "cap_f": 2e-15, "internal_j": 1e-16},
                "Y": {"direction": "output", "cap_f": 0.0, "internal_j_vs_load": [[0.0, 1e-14], [1e-15, 3e-15]]},
            },
        },
    }
    conn = Connectivity(
        names={2: "a", 3: "n1", 4: "y"},
        cells={
            "u1": {"type": "inv", "connections": {"A": [2], "Y": [3]}, "directions": {}},
            "u2": {"type": "inv", "connections": {"A": [3], "Y": [4]}, "directions": {}},
        },
        ports={},
    )
    model = build_energy_model(conn, [2, 3, 4], cells, {}, {}, voltage=1.0)
    e = window_energy(model, np.array([10, 10, 10]), [], seconds=1e-6)
    # net a: sink u1.A (2 fF): switching 0.5*2e-15 per toggle, input internal 1e-16 per toggle.
    # net n1: driven by u1 (load 2 fF -> internal interp 1.4e-15), sink u2.A (1e-16), switch 1e-15.
    assert e["switching_j"] == pytest.approx(10 * (1e-15 + 1e-15))
    assert e["internal_j"] == pytest.approx(10 * (1e-16 + 1.4e-15 + 1e-16 + 1e-15))
    assert e["logic_leakage_j"] == pytest.approx(2e-12 * 1e-6)


@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.requires("iverilog", "vvp", "verilator", "sta")
def test_both_gate_simulators_count_the_same_transitions(root, tmp_path, liberty_cache):
    """Verilator (the default) and Icarus (the event-driven reference) run the same netlist on the
    same events: every window's count of every net, the SRAM access counters and the per-event
    lines agree exactly, and so do the energies computed from them."""
    from spikemem.rtl.render import render_stage
    from spikemem.synth.characterize import characterize

    cfg = load_config(root / "config" / "test_small.yaml")
    cfg["characterization"] = {**cfg["characterization"], "densities": [0.3, 1.0], "events_per_operation": 60}
    # PB-CSR: pointer walks of several cycles, clock gates, two memories.
    design = next(d for d in designs(cfg) if d.encoding == "pb_csr" and d.weight_bits == 2)
    render_stage(cfg, design, tmp_path / "rtl")
    results = {}
    for simulator in ("verilator", "icarus"):
        sim_cfg = {**cfg, "characterization": {**cfg["characterization"], "simulator": simulator}}
        work = tmp_path / simulator
        results[simulator] = characterize(sim_cfg, design, tmp_path / "rtl", work, work / "c.json", liberty_cache)
    gl = {s: tmp_path / s / "gl" for s in results}
    assert (gl["verilator"] / "gl.v").read_text() == (gl["icarus"] / "gl.v").read_text(), "one netlist"
    compared = 0
    for activity in sorted(gl["icarus"].glob("*/activity.txt")):  # the workloads and the idle run
        twin = gl["verilator"] / activity.parent.name / "activity.txt"
        assert twin.read_text() == activity.read_text(), f"{activity.parent.name}: the counts differ"
        compared += 1
    # two densities x the encoding's operations (the row stream's windows too), and the idle window
    assert compared == 2 * len(REGISTRY[design.encoding].operations) + 1
    v, i = results["verilator"], results["icarus"]
    assert [r["windows"] for r in v["runs"]] == [r["windows"] for r in i["runs"]]
    assert v["cycle_energy"] == i["cycle_energy"]
    assert v["gate_simulation"]["nets"] == i["gate_simulation"]["nets"] > 0
    # Each ran its own reset check (random start states drawn by each simulator) and passed it.
    assert v["reset_check"]["passed"] and i["reset_check"]["passed"]
