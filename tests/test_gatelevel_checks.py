"""Gate-level runs checked like the RTL: the SRAM access counters the energy uses against the
golden model, random start state of the cells, strict Liberty reading and code-versioned caches."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections import Counter

import numpy as np
import pytest

from spikemem.synth import gatelevel, liberty_model
from spikemem.synth.energy_model import build_energy_model
from spikemem.synth.gatelevel import Connectivity, Sample, check_sram_counts, memory_macros
from spikemem.synth.liberty_model import LibertyError, parse_library

# ---- SRAM access counts


def _memories():
    return [
        {"name": "ptr", "implementation": "sram", "macro": "M", "banks": 1, "lanes": 2},
        {"name": "ent", "implementation": "sram", "macro": "M", "banks": 2, "lanes": 1},
        {"name": "small", "implementation": "flops", "macro": None},
    ]


def _instances():
    names = [
        "u_mem_ent/g_bank[0].g_lane[0].u_macro",
        "u_mem_ent/g_bank[1].g_lane[0].u_macro",
        "u_mem_ptr/g_bank[0].g_lane[0].u_macro",
        "u_mem_ptr/g_bank[0].g_lane[1].u_macro",
    ]
    return {n: "M" for n in names}


def _samples(per_event: list[list[tuple[int, int]]], base=None) -> list[Sample]:
    """Cumulative samples: a baseline, then one per event."""
    acc = [list(x) for x in (base or [(0, 0)] * len(per_event[0]))]
    out = [Sample(0, 0, [tuple(x) for x in acc], [])]
    for e, counts in enumerate(per_event):
        acc = [[a[0] + c[0], a[1] + c[1]] for a, c in zip(acc, counts, strict=True)]
        out.append(Sample(e + 1, 10 * (e + 1), [tuple(x) for x in acc], []))
    return out


def test_memory_macros_maps_instances_to_memories_banks_and_lanes():
    groups = memory_macros(_instances(), _memories())
    assert groups == {
        "ent": {"lanes": 1, "rtl_lanes": 1, "banks": [[0], [1]]},
        "ptr": {"lanes": 2, "rtl_lanes": 2, "banks": [[2, 3]]},
    }
    with pytest.raises(RuntimeError, match="belongs to no logical SRAM memory"):
        memory_macros({**_instances(), "u_other/u_macro": "M"}, _memories())
    # A lane synthesis removed from every bank is fine (it is never accessed); from one bank only,
    # word accesses no longer map to macro accesses.
    two_banks_two_lanes = [{"name": "ent", "implementation": "sram", "macro": "M", "banks": 2, "lanes": 2}]
    uneven = {
        "u_mem_ent/g_bank[0].g_lane[0].u_macro": "M",
        "u_mem_ent/g_bank[0].g_lane[1].u_macro": "M",
        "u_mem_ent/g_bank[1].g_lane[0].u_macro": "M",
    }
    with pytest.raises(RuntimeError, match="cannot be checked"):
        memory_macros(uneven, two_banks_two_lanes)
    even = {k: v for k, v in uneven.items() if "g_lane[1]" not in k}
    assert memory_macros(even, two_banks_two_lanes)["ent"]["lanes"] == 1


def test_sram_count_check_passes_on_golden_counts_and_raises_on_a_wrong_one():
    groups = memory_macros(_instances(), _memories())
    golden = [Counter({"ptr.R": 2, "ent.R": 3, "small.R": 9}), Counter({"ptr.W": 1, "ent.W": 1})]
    # Instances: ent bank 0, ent bank 1, ptr lane 0, ptr lane 1; a ptr word access hits both lanes.
    right = [[(2, 0), (1, 0), (2, 0), (2, 0)], [(0, 0), (0, 1), (0, 1), (0, 1)]]
    result = check_sram_counts(_samples(right), golden, groups, "test")
    assert result == {"intervals": 2, "mismatches": 0}
    # One window over both events (as the characterization's windows are) passes too.
    both = _samples(right)
    assert check_sram_counts([both[0], both[2]], golden, groups, "test")["intervals"] == 1

    wrong = [[(2, 0), (1, 0), (2, 0), (2, 0)], [(0, 0), (0, 2), (0, 1), (0, 1)]]  # one write too many
    with pytest.raises(RuntimeError, match=r"design x op at density 0.5.*ent W macro accesses 2, golden 1"):
        check_sram_counts(_samples(wrong), golden, groups, "design x op at density 0.5")
    lanes_differ = [[(2, 0), (1, 0), (3, 0), (1, 0)], [(0, 0), (0, 1), (0, 1), (0, 1)]]
    with pytest.raises(RuntimeError, match="lanes of one bank differ"):
        check_sram_counts(_samples(lanes_differ), golden, groups, "test")
    with pytest.raises(RuntimeError, match="cover 1 events of 2"):
        check_sram_counts(_samples(right)[:2], golden, groups, "test")


# ---- random start state of the cell models

CELLS = """module dff(CLK, D, Q);
  input CLK;
  wire CLK;
  input D;
  wire D;
  output Q;
  wire Q;
  reg _0_;
  reg IQ;
  always @(posedge CLK)
    IQ <= D;
  always @(posedge CLK)
    _0_ <= D;
  assign Q = IQ & _0_;
endmodule
module inv(A, Y);
  input A;
  output Y;
  assign Y = ~A;
endmodule
"""

TOP = """module top;
  reg clk = 1'b0;
  wire [63:0] q;
  genvar i;
  generate for (i = 0; i < 64; i = i + 1) begin : g
    dff f(.CLK(clk), .D(1'b0), .Q(q[i]));
  end endgenerate
  initial #2 $display("Q=%b", q);
endmodule
"""


@pytest.mark.skipif(not shutil.which("iverilog"), reason="needs iverilog")
def test_cell_models_start_at_zero_or_at_seeded_random_values(tmp_path):
    text = gatelevel._init_state(CELLS)
    assert "module spikemem_cell_init" in text and text.count("spikemem_cell_init.draw") == 1  # flops only
    (tmp_path / "cells.v").write_text(text)
    (tmp_path / "top.v").write_text(TOP)
    binary = tmp_path / "sim.vvp"
    subprocess.run(
        ["iverilog", "-g2005", "-s", "top", "-s", "spikemem_cell_init", "-o", str(binary)]
        + [str(tmp_path / "top.v"), str(tmp_path / "cells.v")],
        check=True,
    )

    def run(*args):
        out = subprocess.run(["vvp", "-n", str(binary), *args], capture_output=True, text=True, check=True).stdout
        return next(line[2:] for line in out.splitlines() if line.startswith("Q=")), out

    zero, log = run()
    assert zero == "0" * 64 and "spikemem_cell_init" not in log
    a, log = run("+cell_init_seed=3")
    # Both state variables of a cell draw the same bit (Q = IQ & _0_ shows it), about half are 1.
    assert 16 < a.count("1") < 48
    assert "seed-drawn start state in 64 cells" in log
    assert run("+cell_init_seed=3")[0] == a and run("+cell_init_seed=4")[0] != a


# ---- strict Liberty reading

LIB = """library (tiny) {
    time_unit : "1ns" ;
    leakage_power_unit : "1nW" ;
    capacitive_load_unit (1, pf) ;
    %(default_cap)s
    power_lut_template (pin_tpl) {
        variable_1 : input_transition_time ;
        index_1 ("0.01, 1.0") ;
    }
    power_lut_template (out_tpl) {
        variable_1 : input_transition_time ;
        variable_2 : total_output_net_capacitance ;
        index_1 ("0.01, 1.0") ;
        index_2 ("0.001, 0.1") ;
    }
    cell (buf) {
        area : 1.0 ;
        cell_leakage_power : 2.0 ;
        pin (A) {
            direction : input ;
            %(cap)s
        }
        pin (X) {
            direction : output ;
            function : "A" ;
            internal_power () {
                related_pin : "A" ;
                rise_power (out_tpl) {
                    values ("%(values)s", "0.3, 0.4") ;
                }
                fall_power (out_tpl) {
                    values ("0.1, 0.2", "0.3, 0.4") ;
                }
            }
        }
    }
    cell (tie) {
        area : 1.0 ;
        cell_leakage_power : 1.0 ;
        pin (HI) {
            direction : output ;
            function : "1" ;
        }
    }
}
"""


def _lib(tmp_path, cap="capacitance : 0.002 ;", values="0.1, 0.2", default_cap="", name="tiny.lib"):
    path = tmp_path / name
    path.write_text(LIB % {"cap": cap, "values": values, "default_cap": default_cap})
    return path


def _buffer_chain(cells):
    conn = Connectivity(
        names={2: "a", 3: "y"},
        cells={"u1": {"type": "buf", "connections": {"A": [2], "X": [3]}, "directions": {}}},
        ports={},
    )
    return build_energy_model(conn, [2, 3], cells, {}, {}, voltage=1.8)


def test_liberty_reads_the_tiny_library(tmp_path):
    lib = parse_library(_lib(tmp_path))
    buf = lib["cells"]["buf"]
    assert buf["pins"]["A"]["cap_f"] == pytest.approx(2e-15)
    assert "internal_j" not in buf["pins"]["A"]  # no internal_power on the input: legitimately none
    loads, energies = buf["pins"]["X"]["internal_j_vs_load"]
    assert loads == pytest.approx([1e-15, 1e-13])
    # At 0.1 ns, between the 0.01 and 1.0 rows: 0.1 + (0.3 - 0.1) * 0.09 / 0.99 (pJ).
    assert energies[0] == pytest.approx((0.1 + 0.2 * 0.09 / 0.99) * 1e-12)
    assert "internal_j_vs_load" not in lib["cells"]["tie"]["pins"]["HI"]  # a tie output never toggles
    assert lib["cells"]["buf"]["leakage_w"] == pytest.approx(2e-9)
    m = _buffer_chain(lib["cells"])
    assert m.switch_j[0] == pytest.approx(0.5 * 2e-15 * 1.8**2)


def test_missing_input_capacitance_fails_unless_the_library_has_a_default(tmp_path):
    lib = parse_library(_lib(tmp_path, cap=""))
    assert lib["cells"]["buf"]["pins"]["A"]["cap_f"] is None  # recorded as absent, not as 0
    with pytest.raises(LibertyError, match=r"library tiny.lib, cell buf, pin A: no capacitance"):
        _buffer_chain(lib["cells"])
    lib = parse_library(_lib(tmp_path, cap="", default_cap="default_input_pin_cap : 0.005 ;"))
    assert lib["cells"]["buf"]["pins"]["A"]["cap_f"] == pytest.approx(5e-15)


def test_a_pin_the_liberty_lacks_fails(tmp_path):
    cells = parse_library(_lib(tmp_path))["cells"]
    del cells["buf"]["pins"]["A"]
    with pytest.raises(LibertyError, match=r"cell buf, pin A: connected in the netlist"):
        _buffer_chain(cells)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("0.1, 0.2, 0.5", "5 values for a 2 x 2 table"),
        ("0.1, zero", "not a list of numbers"),
        ("", "2 values for a 2 x 2 table"),  # an empty row
    ],
)
def test_malformed_power_table_fails(tmp_path, values, message):
    with pytest.raises(LibertyError, match=rf"library tiny.lib, cell buf, pin X.*rise_power.*({message})"):
        parse_library(_lib(tmp_path, values=values))


def test_internal_power_without_a_table_and_a_missing_unit_fail(tmp_path):
    path = _lib(tmp_path)
    text = path.read_text()
    start = text.index("                rise_power (out_tpl)")
    end = text.index("            }\n        }\n    }\n    cell (tie)")
    path.write_text(text[:start] + text[end:])
    with pytest.raises(LibertyError, match="cell buf, pin X: internal_power group without"):
        parse_library(path)
    path.write_text(text.replace("capacitive_load_unit (1, pf) ;", ""))
    with pytest.raises(LibertyError, match="library tiny.lib: no capacitive_load_unit"):
        parse_library(path)


def test_bus_pins_take_the_bus_capacitance(tmp_path):
    path = _lib(tmp_path)
    text = path.read_text().replace(
        "    cell (tie) {",
        """    cell (mem) {
        cell_leakage_power : 1.0 ;
        memory () { }
        bus (din0) {
            direction : input ;
            capacitance : 0.007 ;
            pin (din0[3:0]) { }
        }
    }
    cell (tie) {""",
    )
    path.write_text(text)
    pins = parse_library(path)["cells"]["mem"]["pins"]
    assert pins["din0"]["direction"] == "input" and pins["din0"]["cap_f"] == pytest.approx(7e-15)


# ---- caches keyed by the code that fills them


def test_cache_paths_change_with_the_code_fingerprint(tmp_path, monkeypatch):
    lib = _lib(tmp_path)
    a = liberty_model.cache_path(lib, tmp_path)
    cells_a = gatelevel.cell_models_path(lib, tmp_path / "tiny.cells.v")
    assert a == liberty_model.cache_path(lib, tmp_path)  # stable for the same code and file
    monkeypatch.setattr(liberty_model, "code_fingerprint", lambda: "edited-parser")
    monkeypatch.setattr(gatelevel, "code_fingerprint", lambda: "edited-generator")
    assert liberty_model.cache_path(lib, tmp_path) != a
    assert gatelevel.cell_models_path(lib, tmp_path / "tiny.cells.v") != cells_a
    # ... and with the Liberty's content.
    monkeypatch.undo()
    lib.write_text(lib.read_text() + "\n")
    assert liberty_model.cache_path(lib, tmp_path) != a
    assert gatelevel.cell_models_path(lib, tmp_path / "tiny.cells.v") != cells_a


def test_load_library_parses_once_per_code_version(tmp_path, monkeypatch):
    lib = _lib(tmp_path)
    calls = []
    real = liberty_model.parse_library
    monkeypatch.setattr(liberty_model, "parse_library", lambda p: calls.append(p) or real(p))
    liberty_model.load_library(lib, tmp_path / "cache")
    liberty_model.load_library(lib, tmp_path / "cache")
    assert len(calls) == 1
    monkeypatch.setattr(liberty_model, "code_fingerprint", lambda: "edited")
    model = liberty_model.load_library(lib, tmp_path / "cache")
    assert len(calls) == 2 and np.isclose(model["cells"]["buf"]["leakage_w"], 2e-9)


def test_bit_sliced_counts_decode_to_each_nets_count():
    """The counting module writes plane j as the hex of bit j of every net's count (net k at bit k);
    parse_activity turns the planes back into counts."""
    counts = np.array([0, 1, 2, 3, 5, 1023, 7, 0, 1 << 20, 9, 12])
    planes = []
    for j in range(int(counts.max()).bit_length()):
        word = sum(((int(c) >> j) & 1) << k for k, c in enumerate(counts))
        planes.append(f"{word:0{(len(counts) + 3) // 4}x}")
    line = f"S 4 120 7 2 {len(planes)} " + " ".join(planes)
    (sample,) = gatelevel.parse_activity(line + "\nE 4 120 7 2\n", n_macros=1, n_nets=len(counts))
    assert sample.events == 4 and sample.cycles == 120 and sample.sram == [(7, 2)]
    assert sample.toggles.tolist() == counts.tolist()
    (event,) = gatelevel.parse_activity(line + "\nE 4 120 7 2\n", n_macros=1, n_nets=len(counts), kind="E")
    assert event.sram == [(7, 2)] and event.toggles.size == 0
    with pytest.raises(RuntimeError, match="x or z"):
        gatelevel.parse_activity(line + "\nX 130\n", n_macros=1, n_nets=len(counts))


def test_a_stimulus_longer_than_the_testbench_holds_is_refused(tmp_path):
    """The testbench's event array is sized at render time; a longer stimulus would be cut short in
    the simulator and show as mismatches far from their cause."""
    from types import SimpleNamespace

    from spikemem.rtl.simulator import simulate

    stim = SimpleNamespace(loads=[], events=[("forward", (0,))] * 4)
    with pytest.raises(ValueError, match="more than the testbench holds"):
        simulate(["true"], {"max_events": 3}, stim, tmp_path)


@pytest.mark.parametrize("nets", [100, 8192, 8193, 20001])
def test_activity_planes_are_written_in_slices_verilator_accepts(nets):
    """Verilator refuses a $display-like argument wider than 8192 bits: a wider counter plane is
    written as slices, most significant first, covering every bit once with the digits of the whole."""
    import re

    from spikemem.synth.gatelevel import DISPLAY_MAX_BITS, Connectivity, activity_module

    conn = Connectivity({k: f"n{k}" for k in range(nets)}, {}, {})
    text, order = activity_module(conn, {})
    assert len(order) == nets
    slices = [(int(hi), int(lo)) for hi, lo in re.findall(r"plane\[j\]\[(\d+):(\d+)\]", text)]
    if nets <= DISPLAY_MAX_BITS:
        assert not slices and '$fwrite(fd, " %h", plane[j]);' in text
        return
    assert slices[0][0] == nets - 1 and slices[-1][1] == 0
    assert all(a[1] == b[0] + 1 for a, b in itertools.pairwise(slices))
    widths = [hi - lo + 1 for hi, lo in slices]
    assert max(widths) <= DISPLAY_MAX_BITS and all(w == DISPLAY_MAX_BITS for w in widths[1:])
    # The hex digits of the slices add up to those of the whole plane.
    assert sum(-(-w // 4) for w in widths) == -(-nets // 4)
