"""Strict Liberty reading and code-versioned caches."""

from __future__ import annotations

import numpy as np
import pytest

from spikemem.synth import liberty_model
from spikemem.synth.energy_model import build_energy_model
from spikemem.synth.gatelevel import Connectivity
from spikemem.synth.liberty_model import LibertyError, parse_library

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
    assert a == liberty_model.cache_path(lib, tmp_path)  # stable for the same code and file
    monkeypatch.setattr(liberty_model, "code_fingerprint", lambda: "edited-parser")
    assert liberty_model.cache_path(lib, tmp_path) != a
    # ... and with the Liberty's content.
    monkeypatch.undo()
    lib.write_text(lib.read_text() + "\n")
    assert liberty_model.cache_path(lib, tmp_path) != a


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
